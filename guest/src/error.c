/*
 * error.c - error raising with positions, argument checking, debug information (getinfo, traceback), and the
 * pal.h operations that may run metamethods (tostring, ==, <, <=, arithmetic, concat, length).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"

/* ================= positions ================= */

int vm_currentline(pal_State *L, CallInfo *ci) {
  Proto *p;
  int pcidx;
  (void)L;
  if (ci == NULL || !ci_isLua(ci)) return -1;
  p = ci_closure(L, ci)->l.p;
  if (p->lineinfo == NULL || p->sizecode <= 0) return -1;
  pcidx = ci->savedpc != NULL ? (int)(ci->savedpc - p->code) - 1 : 0;
  if (pcidx < 0) pcidx = 0;
  if (pcidx >= p->sizecode) pcidx = p->sizecode - 1;
  return p->lineinfo[pcidx];
}

static void protoid(Proto *p, char *buf, size_t size) {
  if (p->source != NULL)
    pal_chunkid(buf, size, getstr(p->source), p->source->len);
  else
    snprintf(buf, size, "?");
}

void vm_where(pal_State *L, CallInfo *ci, char *buf, size_t size) {
  buf[0] = '\0';
  if (ci != NULL && ci > L->base_ci && ci_isLua(ci)) {
    char id[256];
    protoid(ci_closure(L, ci)->l.p, id, sizeof id);
    snprintf(buf, size, "%s:%d: ", id, vm_currentline(L, ci));
  }
}

CallInfo *vm_level(pal_State *L, int level) {
  CallInfo *ci = L->ci;
  if (level < 0 || ci == NULL) return NULL;
  while (level > 0 && ci > L->base_ci) {
    ci--;
    level--;
  }
  if (level == 0 && ci > L->base_ci) return ci;
  return NULL;
}

int vm_seterrorstr(pal_State *L, int status, const char *msg) {
  TString *s;
  if (L->errstatus != PAL_OK) return PAL_ERRSIG;
  s = str_newz(L, msg);
  if (s != NULL) {
    TValue v;
    setsvalue(&v, s);
    vm_seterror(L, status, &v);
  }
  return PAL_ERRSIG;
}

int vm_runerror(pal_State *L, const char *fmt, ...) {
  char msg[600], where[300], full[900];
  va_list ap;
  if (L->errstatus != PAL_OK) return PAL_ERRSIG;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  vm_where(L, L->ci, where, sizeof where);
  snprintf(full, sizeof full, "%s%s", where, msg);
  return vm_seterrorstr(L, PAL_ERRRUN, full);
}

/* like vm_runerror, but when the running function is a C function the position is that of its Luau caller
   (errors that library code raises about values it received, e.g. a bad __tostring result) */
int vm_callererror(pal_State *L, const char *msg) {
  char where[300], full[900];
  if (L->errstatus != PAL_OK) return PAL_ERRSIG;
  if (L->ci > L->base_ci && !ci_isLua(L->ci))
    vm_where(L, L->ci - 1, where, sizeof where);
  else
    vm_where(L, L->ci, where, sizeof where);
  snprintf(full, sizeof full, "%s%s", where, msg);
  return vm_seterrorstr(L, PAL_ERRRUN, full);
}

/* the text of a value without __tostring; size >= PAL_NUMBUF. Returns its length (truncated to size - 1). */
size_t vm_defaulttostring(pal_State *L, const TValue *o, char *buf, size_t size) {
  int n;
  switch (ttype(o)) {
    case PAL_TNIL: memcpy(buf, "nil", 4); return 3;
    case PAL_TBOOLEAN:
      if (bvalue(o)) {
        memcpy(buf, "true", 5);
        return 4;
      }
      memcpy(buf, "false", 6);
      return 5;
    case PAL_TNUMBER: return (size_t)pal_num2str(buf, nvalue(o));
    case PAL_TSTRING: n = snprintf(buf, size, "%s", getstr(tsvalue(o))); break;
    case PAL_TLIGHTUSERDATA:
      n = snprintf(buf, size, "%s: 0x%016llx", vm_typeof(L, o), (unsigned long long)(uintptr_t)pvalue(o));
      break;
    default:
      n = snprintf(buf, size, "%s: 0x%016llx", vm_typeof(L, o), (unsigned long long)(uintptr_t)gcvalue(o));
      break;
  }
  return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* ================= errors raised by C functions ================= */

/* position of the Luau code that called the running C function ("" if its caller is not Luau code) */
static void callerwhere(pal_State *L, char *buf, size_t size) {
  buf[0] = '\0';
  if (L->ci > L->base_ci && !ci_isLua(L->ci)) vm_where(L, L->ci - 1, buf, size);
}

int pal_errorf(pal_State *L, const char *fmt, ...) {
  char where[300];
  const char *msg;
  va_list ap;
  if (L->errstatus != PAL_OK) return PAL_ERRSIG;
  va_start(ap, fmt);
  msg = pal_pushvfstring(L, fmt, ap);
  va_end(ap);
  if (L->errstatus != PAL_OK) return PAL_ERRSIG;
  callerwhere(L, where, sizeof where);
  if (where[0] != '\0') {
    pal_pushfstring(L, "%s%s", where, msg);
    pal_remove(L, -2);
  }
  return pal_error(L);
}

static const TValue *argvalue(pal_State *L, int narg) {
  TValue *base = L->stack + L->ci->base;
  if (narg > 0) {
    if (narg > L->top - base) return NULL;
    return base + narg - 1;
  }
  if (narg < 0 && narg > PAL_REGISTRYINDEX && -narg <= L->top - base) return L->top + narg;
  return NULL;
}

const char *pal_currentfuncname(pal_State *L) {
  CallInfo *ci = L->ci;
  TValue *f;
  if (ci == NULL || ci == L->base_ci) return "?";
  f = L->stack + ci->func;
  if (!ttisfunction(f)) return "?";
  if (clvalue(f)->c.isC) return clvalue(f)->c.name != NULL ? clvalue(f)->c.name : "?";
  if (clvalue(f)->l.p->name != NULL) return getstr(clvalue(f)->l.p->name);
  return "?";
}

int pal_argerror(pal_State *L, int narg, const char *extramsg) {
  return pal_errorf(L, "invalid argument #%d to '%s' (%s)", narg, pal_currentfuncname(L), extramsg);
}

int pal_typeerror(pal_State *L, int narg, const char *expected) {
  const TValue *o = argvalue(L, narg);
  if (o == NULL)
    return pal_errorf(L, "missing argument #%d to '%s' (%s expected)", narg, pal_currentfuncname(L), expected);
  return pal_errorf(L, "invalid argument #%d to '%s' (%s expected, got %s)", narg, pal_currentfuncname(L),
                    expected, vm_typeof(L, o));
}

double pal_checknumber(pal_State *L, int narg) {
  const TValue *o = argvalue(L, narg);
  double n;
  if (o != NULL && ttisnumber(o)) return nvalue(o);
  if (o != NULL && vm_tonumber(o, &n)) return n;
  pal_typeerror(L, narg, "number");
  return 0;
}

double pal_optnumber(pal_State *L, int narg, double def) {
  const TValue *o = argvalue(L, narg);
  if (o == NULL || ttisnil(o)) return def;
  return pal_checknumber(L, narg);
}

static int num2int(double d) {
  if (d >= -2147483648.0 && d < 2147483648.0) return (int)d;
  return INT_MIN;
}

int pal_checkinteger(pal_State *L, int narg) {
  const TValue *o = argvalue(L, narg);
  if (o != NULL && ttisnumber(o)) return num2int(nvalue(o));
  return num2int(pal_checknumber(L, narg));
}

int pal_optinteger(pal_State *L, int narg, int def) {
  const TValue *o = argvalue(L, narg);
  if (o == NULL || ttisnil(o)) return def;
  if (ttisnumber(o)) return num2int(nvalue(o));
  return num2int(pal_checknumber(L, narg));
}

int64_t pal_checkint64(pal_State *L, int narg) {
  double d = pal_checknumber(L, narg);
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return (int64_t)d;
  return INT64_MIN;
}

const char *pal_checklstring(pal_State *L, int narg, size_t *len) {
  const TValue *o = argvalue(L, narg);
  const char *s;
  if (o != NULL && ttisstring(o)) { /* what pal_tolstring gives, without resolving narg again */
    if (len != NULL) *len = tsvalue(o)->len;
    return getstr(tsvalue(o));
  }
  if (o != NULL && ttisnumber(o)) {
    s = pal_tolstring(L, narg, len);
    if (s != NULL) return s;
  } else
    pal_typeerror(L, narg, "string");
  if (len != NULL) *len = 0;
  return "";
}

const char *pal_optlstring(pal_State *L, int narg, const char *def, size_t *len) {
  const TValue *o = argvalue(L, narg);
  if (o == NULL || ttisnil(o)) {
    if (len != NULL) *len = def != NULL ? strlen(def) : 0;
    return def;
  }
  return pal_checklstring(L, narg, len);
}

void pal_checktype(pal_State *L, int narg, int tag) {
  if (pal_type(L, narg) != tag) pal_typeerror(L, narg, pal_typename(L, tag));
}

void pal_checkany(pal_State *L, int narg) {
  if (pal_type(L, narg) == PAL_TNONE) pal_errorf(L, "missing argument #%d", narg);
}

int pal_checkoption(pal_State *L, int narg, const char *def, const char *const lst[]) {
  const char *name = def != NULL ? pal_optlstring(L, narg, def, NULL) : pal_checklstring(L, narg, NULL);
  int i;
  if (name == NULL) name = "";
  for (i = 0; lst[i] != NULL; i++)
    if (strcmp(lst[i], name) == 0) return i;
  if (L->errstatus == PAL_OK) {
    char buf[200];
    snprintf(buf, sizeof buf, "invalid option '%s'", name);
    pal_argerror(L, narg, buf);
  }
  return 0;
}

uint8_t *pal_checkbuffer(pal_State *L, int narg, size_t *len) {
  const TValue *o = argvalue(L, narg);
  if (o != NULL && ttisbuffer(o)) {
    if (len != NULL) *len = bufvalue(o)->len;
    return bufvalue(o)->data;
  }
  pal_typeerror(L, narg, "buffer");
  if (len != NULL) *len = 0;
  return NULL;
}

/* ================= operations with metamethods ================= */

static int pushcopy(pal_State *L, int idx) {
  pal_pushvalue(L, idx);
  return L->errstatus == PAL_OK;
}

int pal_tostringmeta(pal_State *L, int idx) {
  if (!pushcopy(L, idx)) return L->errstatus;
  return vm_tostring(L, L->top - 1, L->top - 1);
}

static int compare(pal_State *L, int a, int b, int *res, int which) {
  int st;
  *res = 0;
  a = pal_absindex(L, a);
  b = pal_absindex(L, b);
  if (!pushcopy(L, a) || !pushcopy(L, b)) return L->errstatus;
  if (which == 0)
    st = vm_equalobj(L, L->top - 2, L->top - 1, res);
  else if (which == 1)
    st = vm_lessthan(L, L->top - 2, L->top - 1, res);
  else
    st = vm_lessequal(L, L->top - 2, L->top - 1, res);
  L->top -= 2;
  return st;
}

int pal_equal(pal_State *L, int a, int b, int *res) {
  if (pal_type(L, a) == PAL_TNONE || pal_type(L, b) == PAL_TNONE) {
    *res = 0;
    return PAL_OK;
  }
  return compare(L, a, b, res, 0);
}

int pal_lessthan(pal_State *L, int a, int b, int *res) {
  return compare(L, a, b, res, 1);
}

int pal_lessequal(pal_State *L, int a, int b, int *res) {
  return compare(L, a, b, res, 2);
}

int pal_arith(pal_State *L, int op) {
  TMS ev = (TMS)(TM_ADD + op);
  int st;
  if (op < 0 || op > PAL_OPUNM) return vm_seterrorstr(L, PAL_ERRRUN, "invalid arithmetic operator"), PAL_ERRRUN;
  if (op == PAL_OPUNM) {
    TValue *a = L->top - 1;
    return vm_arith(L, a, a, a, ev);
  }
  st = vm_arith(L, L->top - 2, L->top - 2, L->top - 1, ev);
  L->top--;
  return st;
}

int pal_concat(pal_State *L, int n) {
  int st;
  if (n == 0) {
    pal_pushlstring(L, "", 0);
    return L->errstatus;
  }
  if (n == 1) return PAL_OK;
  st = vm_concat(L, n, (int)(L->top - (L->stack + L->ci->base)) - 1);
  L->top -= n - 1;
  return st;
}

int pal_len(pal_State *L, int idx) {
  if (!pushcopy(L, idx)) return L->errstatus;
  return vm_len(L, L->top - 1, L->top - 1);
}

/* ================= debug information ================= */

static void fillinfo(pal_State *L, const TValue *f, CallInfo *ci, pal_Debug *ar) {
  memset(ar, 0, sizeof *ar);
  if (!ttisfunction(f)) {
    snprintf(ar->short_src, sizeof ar->short_src, "?");
    ar->currentline = -1;
    ar->linedefined = -1;
    ar->isC = 1;
    return;
  }
  if (clvalue(f)->c.isC) {
    snprintf(ar->short_src, sizeof ar->short_src, "[C]");
    ar->currentline = -1;
    ar->linedefined = -1;
    ar->name = clvalue(f)->c.name;
    ar->nparams = 0;
    ar->isvararg = 1;
    ar->isC = 1;
  } else {
    Proto *p = clvalue(f)->l.p;
    protoid(p, ar->short_src, sizeof ar->short_src);
    ar->linedefined = p->linedefined;
    ar->currentline = ci != NULL ? vm_currentline(L, ci) : p->linedefined;
    ar->name = p->name != NULL ? getstr(p->name) : NULL;
    ar->nparams = p->numparams;
    ar->isvararg = p->is_vararg;
    ar->isC = 0;
  }
}

int pal_getinfo(pal_State *L, int level, pal_Debug *ar) {
  CallInfo *ci = vm_level(L, level);
  if (ci == NULL) return 0;
  fillinfo(L, L->stack + ci->func, ci, ar);
  return 1;
}

int pal_getinfofunc(pal_State *L, int idx, pal_Debug *ar) {
  const TValue *o;
  pal_pushvalue(L, idx);
  o = L->top - 1;
  fillinfo(L, o, NULL, ar);
  L->top--;
  return ttisfunction(o) ? 1 : 0;
}

int pal_pushfuncatlevel(pal_State *L, int level) {
  CallInfo *ci = vm_level(L, level);
  TValue f;
  if (ci == NULL) return 0;
  f = L->stack[ci->func];
  if (!stack_ensure(L, L->top, 1)) return 0;
  setobj(L->top, &f);
  L->top++;
  return 1;
}

#define TB_HEAD 50
#define TB_TAIL 50

void pal_traceback(pal_State *L, pal_State *of, const char *msg, int level) {
  CallInfo *start = vm_level(of, level), *ci;
  int n = 0, total = 0, idx = 0;
  if (msg != NULL) {
    pal_pushfstring(L, "%s\n", msg);
    n++;
  }
  if (start != NULL) {
    for (ci = start; ci > of->base_ci; ci--)
      if (ci_isLua(ci)) total++;
    for (ci = start; ci > of->base_ci; ci--) {
      Proto *p;
      char id[256];
      if (!ci_isLua(ci)) continue;
      idx++;
      if (total > TB_HEAD + TB_TAIL && idx > TB_HEAD && idx <= total - TB_TAIL) {
        if (idx == TB_HEAD + 1) {
          pal_pushstring(L, "...\n");
          n++;
        }
        continue;
      }
      p = ci_closure(of, ci)->l.p;
      protoid(p, id, sizeof id);
      if (p->name != NULL)
        pal_pushfstring(L, "%s:%d function %s\n", id, vm_currentline(of, ci), getstr(p->name));
      else
        pal_pushfstring(L, "%s:%d\n", id, vm_currentline(of, ci));
      n++;
      if (n >= 16) {
        pal_concat(L, n);
        n = 1;
      }
    }
  }
  if (n == 0)
    pal_pushstring(L, "");
  else
    pal_concat(L, n);
}
