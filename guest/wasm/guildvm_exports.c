/*
 * guildvm_exports.c - the guest-side event dispatcher used by host/guildvm (one VM per guild). pal.h and the ABI
 * headers only; no new wasm export.
 *
 *   void pal_guildvm_install(pal_State *L)
 *       Compile the dispatcher prelude below and install it with pal_abi_setdispatch. Call it from pal_boot after
 *       pal_abi_attach, so that it is part of the snapshot every guild instance starts from.
 *
 * The dispatcher, called as dispatch(name, data, event_id) in each event's coroutine (abi/SPEC.md §5.3):
 *   "$install"  data {name = string, source = string}: compile the template (a chunk run for each event with
 *               `local evt, ctx = ...`, AntiRaid G2 shape) with its own sandboxed globals; a compile error
 *               fails this event and every later event of the guild with the compiler's message.
 *   "$budget"   data = bytes: set the interpreter's memory budget (pal_setbudget).
 *   other       run every installed template, in name order, as fn(evt, ctx) with evt = {name = name,
 *               data = data} and ctx = {template = template_name}. One template: the event's result is its return
 *               value (0 values → nil, 1 → that value, several → a list). Several templates: a map
 *               template_name → result. The first error (including "not enough memory" and the uncatchable time
 *               limit) ends the event with that error, so the host sees its status.
 */
#include <stdint.h>
#include <string.h>

#include "abi_exports.h"
#include "guildvm_exports.h"
#include "pal.h"

/* l_load(name, source) -> function | (nil, message) */
static int l_load(pal_State *L) {
  size_t nlen, slen;
  const char *name = pal_checklstring(L, 1, &nlen);
  const char *src = pal_checklstring(L, 2, &slen);
  if (pal_errpending(L)) return PAL_ERRSIG;
  char chunk[132];
  if (nlen > 120) nlen = 120;
  chunk[0] = '@';
  memcpy(chunk + 1, name, nlen);
  chunk[nlen + 1] = '\0';
  pal_State *T = pal_newthread(L); /* its globals become the template's globals */
  if (T == NULL || pal_errpending(L)) return PAL_ERRSIG;
  pal_sandboxthread(T);
  if (pal_errpending(T)) {
    pal_pusherror(T);
    pal_clearerror(T);
    pal_xmove(T, L, 1);
    return pal_error(L);
  }
  int st = pal_load(T, chunk, src, slen);
  if (st == PAL_ERRMEM) {
    pal_xmove(T, L, 1);
    return pal_memerror(L);
  }
  if (st != PAL_OK) { /* syntax error: (nil, message) */
    pal_pushnil(L);
    pal_xmove(T, L, 1);
    return 2;
  }
  pal_xmove(T, L, 1);
  return 1;
}

static int l_setbudget(pal_State *L) {
  double b = pal_checknumber(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_setbudget(L, b > 0 ? (size_t)b : 0);
  return 0;
}

static const char PRELUDE[] =
    "local load, setbudget = ...\n"
    "local templates, order = {}, {}\n"
    "local function pack(...) local n = select('#', ...) if n == 0 then return nil elseif n == 1 then return (...) end return {...} end\n"
    "return function(name, data, id)\n"
    "  if name == '$install' then\n"
    "    local tname, src = data.name, data.source\n"
    "    if type(tname) ~= 'string' or type(src) ~= 'string' then error('$install needs {name = string, source = string}', 0) end\n"
    "    local fn, err = load(tname, src)\n"
    "    if templates[tname] == nil then order[#order + 1] = tname table.sort(order) end\n"
    "    templates[tname] = fn or function() error(err, 0) end\n"
    "    if not fn then error(err, 0) end\n"
    "    return nil\n"
    "  elseif name == '$budget' then\n"
    "    setbudget(data)\n"
    "    return nil\n"
    "  end\n"
    "  local evt = {name = name, data = data}\n"
    "  if #order == 1 then return templates[order[1]](evt, {template = order[1]}) end\n"
    "  local out = {}\n"
    "  for _, tname in ipairs(order) do out[tname] = pack(templates[tname](evt, {template = tname})) end\n"
    "  return out\n"
    "end\n";

void pal_guildvm_install(pal_State *L) {
  int top = pal_gettop(L);
  if (pal_load(L, "=guildvm", PRELUDE, sizeof PRELUDE - 1) != PAL_OK) {
    pal_settop(L, top);
    return;
  }
  pal_pushcfunction(L, l_load, "load");
  pal_pushcfunction(L, l_setbudget, "setbudget");
  if (pal_call(L, 2, 1) != PAL_OK || pal_type(L, -1) != PAL_TFUNCTION) {
    pal_clearerror(L);
    pal_settop(L, top);
    return;
  }
  pal_abi_setdispatch(L);
  pal_settop(L, top);
}
