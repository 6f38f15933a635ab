/*
 * init.c - opening the standard libraries and the sandbox (luau-language.md 3.11).
 */
#include "vm.h"

void pal_openlibs(pal_State *L) {
  global_State *g = G(L);
  int top = pal_gettop(L);
  TValue key, val;
  pal_open_base(L);
  pal_open_coroutine(L);
  pal_open_string(L);
  pal_open_utf8(L);
  pal_open_table(L);
  pal_open_math(L);
  pal_open_bit32(L);
  pal_open_os(L);
  pal_open_buffer(L);
  pal_open_debug(L);
  /* the global unpack is table.unpack itself (when the table library provides one) */
  if (pal_getfield(L, PAL_GLOBALSINDEX, "table") == PAL_TTABLE &&
      pal_getfield(L, -1, "unpack") == PAL_TFUNCTION)
    pal_setfield(L, PAL_GLOBALSINDEX, "unpack");
  pal_settop(L, top);
  if (L->gt == NULL) return;
  /* sandbox: the globals become the shared read-only built-ins, every table-valued global is frozen */
  g->builtins = L->gt;
  setnilvalue(&key);
  while (tab_next(L, g->builtins, &key, &val) > 0)
    if (ttistable(&val)) hvalue(&val)->readonly = 1;
  g->builtins->readonly = 1;
  if (g->mt[PAL_TSTRING] != NULL) g->mt[PAL_TSTRING]->readonly = 1;
}

void pal_sandboxthread(pal_State *L) {
  global_State *g = G(L);
  Table *gt, *mt;
  TValue v;
  if (g->builtins == NULL) return;
  gt = tab_new(L, 0, 0);
  if (gt == NULL) return;
  mt = tab_new(L, 0, 1);
  if (mt == NULL) return;
  sethvalue(&v, g->builtins);
  if (tab_setstr(L, mt, g->tmname[TM_INDEX], &v) != PAL_OK) return;
  mt->readonly = 1;
  gt->metatable = mt;
  L->gt = gt;
}
