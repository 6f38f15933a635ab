/*
 * vm.c - the bytecode interpreter (opcodes.h) and the metamethod-aware operations (index, newindex,
 * arithmetic, comparison, concatenation, length, tostring).
 *
 * The loop is stackless: a Luau->Luau call pushes a CallInfo and continues in the same C loop (newframe), a
 * return pops it. pcall/xpcall called from Luau push a marker frame (see vm.h) and also stay in the loop, so
 * yields inside protected code work. Errors are pending errors (pal.h): an operation that fails returns a
 * non-zero status and the loop jumps to vmerror, which unwinds to the nearest marker of this invocation.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "host.h"
#include "memops.h"
#include "vm.h"

/* Slow paths of the loop, kept out of it (NOINLINE): vm_execute must take the address of no local and make no
   varargs call. Otherwise it needs a frame on wasm's shadow stack, and wazero then keeps the frame pointer (and
   with it one more value) in memory across every dispatch instead of in a register. */
#define NOINLINE __attribute__((noinline))

static const char *const vm_typenames[PAL_NUMTYPES] = {
    "nil", "boolean", "userdata", "number", "vector", "string",
    "table", "function", "userdata", "thread", "buffer", "integer",
};

static const char *const arithnames[] = {"add", "sub", "mul", "div", "idiv", "mod", "pow", "unm"};

const char *vm_typeof(pal_State *L, const TValue *o) {
  int tt = ttype(o);
  if (tt == PAL_TUSERDATA) {
    Udata *u = uvalue(o);
    if (u->metatable != NULL && u->tag != PAL_PROXYTAG && G(L)->tmname[TM_TYPE] != NULL) {
      const TValue *t = tab_getstr(u->metatable, G(L)->tmname[TM_TYPE]);
      if (ttisstring(t)) return getstr(tsvalue(t));
    }
  }
  if (tt < 0 || tt >= PAL_NUMTYPES) return "?";
  return vm_typenames[tt];
}

int vm_tonumber(const TValue *o, double *n) {
  if (ttisnumber(o)) {
    *n = nvalue(o);
    return 1;
  }
  if (ttisstring(o)) return pal_str2num(getstr(tsvalue(o)), tsvalue(o)->len, n);
  return 0;
}

static int rawequalobj(const TValue *a, const TValue *b) {
  if (ttype(a) != ttype(b)) return 0;
  switch (ttype(a)) {
    case PAL_TNIL: return 1;
    case PAL_TBOOLEAN: return bvalue(a) == bvalue(b);
    case PAL_TNUMBER: return nvalue(a) == nvalue(b);
    case PAL_TLIGHTUSERDATA: return pvalue(a) == pvalue(b);
    default: return gcvalue(a) == gcvalue(b);
  }
}

static int l_strcmp(const TString *a, const TString *b) {
  size_t la = a->len, lb = b->len;
  int r = memcmp(getstr(a), getstr(b), la < lb ? la : lb);
  if (r != 0) return r;
  return la < lb ? -1 : (la > lb ? 1 : 0);
}

/* ================= calling metamethods (nested, not yieldable) ================= */

static int isstackptr(pal_State *L, const TValue *p) {
  uintptr_t s = (uintptr_t)L->stack, e = (uintptr_t)(L->stack + L->stacksize), x = (uintptr_t)p;
  return x >= s && x < e;
}

/* call f(args[0..nargs-1]) with nres results stored to res[0..nres-1] (res may be a stack slot) */
static int callmeta(pal_State *L, const TValue *f, const TValue *args, int nargs, TValue *res, int nres) {
  TValue tf = *f;
  TValue targs[4];
  ptrdiff_t resoff = -1;
  TValue *func;
  int status, i;
  for (i = 0; i < nargs; i++) targs[i] = args[i];
  if (res != NULL && isstackptr(L, res)) resoff = savestack(L, res);
  if (!stack_ensure(L, L->top, nargs + 1 + nres)) return L->errstatus;
  func = L->top;
  setobj(func, &tf);
  for (i = 0; i < nargs; i++) setobj(func + 1 + i, &targs[i]);
  L->top = func + 1 + nargs;
  status = vm_call(L, func, nres);
  if (status != PAL_OK) return status;
  func = L->top - nres;
  if (resoff >= 0) res = restorestack(L, resoff);
  for (i = 0; i < nres; i++) setobj(res + i, func + i);
  L->top = func;
  return PAL_OK;
}

int vm_callTMres(pal_State *L, const TValue *f, const TValue *a, const TValue *b, TValue *res) {
  TValue args[2];
  args[0] = *a;
  args[1] = *b;
  return callmeta(L, f, args, 2, res, 1);
}

/* ================= errors ================= */

static void keydesc(pal_State *L, const TValue *key, char *buf, size_t size) {
  if (ttisstring(key) && tsvalue(key)->len <= 64)
    snprintf(buf, size, "'%s'", getstr(tsvalue(key)));
  else
    snprintf(buf, size, "%s", vm_typeof(L, key));
}

static int indexerror(pal_State *L, const TValue *t, const TValue *key) {
  char kb[80];
  keydesc(L, key, kb, sizeof kb);
  vm_runerror(L, "attempt to index %s with %s", vm_typeof(L, t), kb);
  return L->errstatus;
}

static int arerror(pal_State *L, const TValue *a, const TValue *b, TMS op) {
  const char *ta = vm_typeof(L, a), *tb = vm_typeof(L, b);
  const char *name = arithnames[op - TM_ADD];
  if (op == TM_UNM || strcmp(ta, tb) == 0)
    vm_runerror(L, "attempt to perform arithmetic (%s) on %s", name, ta);
  else
    vm_runerror(L, "attempt to perform arithmetic (%s) on %s and %s", name, ta, tb);
  return L->errstatus;
}

static int ordererror(pal_State *L, const TValue *a, const TValue *b, const char *op) {
  vm_runerror(L, "attempt to compare %s %s %s", vm_typeof(L, a), op, vm_typeof(L, b));
  return L->errstatus;
}

/* ================= index / newindex ================= */

#define MAXTAGLOOP 100

int vm_gettable(pal_State *L, const TValue *t, const TValue *key, TValue *res) {
  int loop;
  for (loop = 0; loop < MAXTAGLOOP; loop++) {
    const TValue *tm;
    if (ttistable(t)) {
      Table *h = hvalue(t);
      const TValue *v = tab_get(h, key);
      if (!ttisnil(v)) {
        setobj(res, v);
        return PAL_OK;
      }
      tm = h->metatable != NULL ? tab_gettm(L, h->metatable, TM_INDEX) : NULL;
      if (tm == NULL) {
        setnilvalue(res);
        return PAL_OK;
      }
    } else {
      tm = obj_gettm(L, t, TM_INDEX);
      if (tm == NULL) return indexerror(L, t, key);
    }
    if (ttisfunction(tm)) return vm_callTMres(L, tm, t, key, res);
    t = tm;
  }
  vm_runerror(L, "'__index' chain too long; possible loop");
  return L->errstatus;
}

static int checkkey(pal_State *L, const TValue *key) {
  if (ttisnil(key)) {
    vm_runerror(L, "table index is nil");
    return L->errstatus;
  }
  if (ttisnumber(key) && nvalue(key) != nvalue(key)) {
    vm_runerror(L, "table index is NaN");
    return L->errstatus;
  }
  return PAL_OK;
}

static int readonlyerror(pal_State *L) {
  vm_runerror(L, "attempt to modify a readonly table");
  return L->errstatus;
}

int vm_settable(pal_State *L, const TValue *t, const TValue *key, const TValue *val) {
  int loop;
  for (loop = 0; loop < MAXTAGLOOP; loop++) {
    const TValue *tm;
    if (ttistable(t)) {
      Table *h = hvalue(t);
      TValue *slot = (TValue *)tab_get(h, key);
      if (!ttisnil(slot)) {
        if (h->readonly) return readonlyerror(L);
        setobj(slot, val);
        return PAL_OK;
      }
      tm = h->metatable != NULL ? tab_gettm(L, h->metatable, TM_NEWINDEX) : NULL;
      if (tm == NULL) {
        int st;
        if (h->readonly) return readonlyerror(L);
        if ((st = checkkey(L, key)) != PAL_OK) return st;
        st = tab_set(L, h, key, val);
        return st != PAL_OK ? (L->errstatus != PAL_OK ? L->errstatus : st) : PAL_OK;
      }
    } else {
      tm = obj_gettm(L, t, TM_NEWINDEX);
      if (tm == NULL) return indexerror(L, t, key);
    }
    if (ttisfunction(tm)) {
      TValue args[3];
      args[0] = *t;
      args[1] = *key;
      args[2] = *val;
      return callmeta(L, tm, args, 3, NULL, 0);
    }
    t = tm;
  }
  vm_runerror(L, "'__newindex' chain too long; possible loop");
  return L->errstatus;
}

/* ================= comparisons ================= */

int vm_equalobj(pal_State *L, const TValue *a, const TValue *b, int *res) {
  const TValue *tm1, *tm2;
  Table *mt1, *mt2;
  if (ttype(a) != ttype(b)) {
    *res = 0;
    return PAL_OK;
  }
  if (!ttistable(a) && !ttisuserdata(a)) {
    *res = rawequalobj(a, b);
    return PAL_OK;
  }
  mt1 = ttistable(a) ? hvalue(a)->metatable : uvalue(a)->metatable;
  mt2 = ttistable(b) ? hvalue(b)->metatable : uvalue(b)->metatable;
  tm1 = mt1 != NULL ? tab_gettm(L, mt1, TM_EQ) : NULL;
  tm2 = tm1 == NULL ? NULL : (mt2 == mt1 ? tm1 : (mt2 != NULL ? tab_gettm(L, mt2, TM_EQ) : NULL));
  if (tm1 == NULL || tm2 == NULL || !rawequalobj(tm1, tm2)) {
    *res = gcvalue(a) == gcvalue(b);
    return PAL_OK;
  } else {
    TValue r;
    int st = vm_callTMres(L, tm1, a, b, &r);
    if (st != PAL_OK) return st;
    *res = !l_isfalse(&r);
    return PAL_OK;
  }
}

/* same-typed operands with raw-equal metamethods for event: call it; 1 = called, 0 = no metamethod */
static int callordertm(pal_State *L, const TValue *a, const TValue *b, TMS event, int *res, int *status) {
  const TValue *tm1, *tm2;
  TValue r;
  if (ttype(a) != ttype(b)) return 0;
  tm1 = obj_gettm(L, a, event);
  if (tm1 == NULL) return 0;
  tm2 = obj_gettm(L, b, event);
  if (tm2 == NULL || !rawequalobj(tm1, tm2)) return 0;
  *status = vm_callTMres(L, tm1, a, b, &r);
  if (*status == PAL_OK) *res = !l_isfalse(&r);
  return 1;
}

int vm_lessthan(pal_State *L, const TValue *a, const TValue *b, int *res) {
  int st = PAL_OK;
  if (ttisnumber(a) && ttisnumber(b)) {
    *res = nvalue(a) < nvalue(b);
    return PAL_OK;
  }
  if (ttisstring(a) && ttisstring(b)) {
    *res = l_strcmp(tsvalue(a), tsvalue(b)) < 0;
    return PAL_OK;
  }
  if (callordertm(L, a, b, TM_LT, res, &st)) return st;
  return ordererror(L, a, b, "<");
}

int vm_lessequal(pal_State *L, const TValue *a, const TValue *b, int *res) {
  int st = PAL_OK;
  if (ttisnumber(a) && ttisnumber(b)) {
    *res = nvalue(a) <= nvalue(b);
    return PAL_OK;
  }
  if (ttisstring(a) && ttisstring(b)) {
    *res = l_strcmp(tsvalue(a), tsvalue(b)) <= 0;
    return PAL_OK;
  }
  if (callordertm(L, a, b, TM_LE, res, &st)) return st;
  if (callordertm(L, b, a, TM_LT, res, &st)) { /* a <= b  ==  not (b < a) */
    if (st == PAL_OK) *res = !*res;
    return st;
  }
  return ordererror(L, a, b, "<=");
}

/* ================= arithmetic ================= */

static double arithop(double a, double b, TMS op) {
  switch (op) {
    case TM_ADD: return a + b;
    case TM_SUB: return a - b;
    case TM_MUL: return a * b;
    case TM_DIV: return a / b;
    case TM_IDIV: return floor(a / b);
    case TM_MOD: return a - floor(a / b) * b;
    case TM_POW: return pow(a, b);
    case TM_UNM: return -a;
    default: return 0;
  }
}

int vm_arith(pal_State *L, TValue *ra, const TValue *rb, const TValue *rc, TMS op) {
  double b, c;
  const TValue *tm;
  if (vm_tonumber(rb, &b) && vm_tonumber(rc, &c)) {
    setnvalue(ra, arithop(b, c, op));
    return PAL_OK;
  }
  tm = obj_gettm(L, rb, op);
  if (tm == NULL) tm = obj_gettm(L, rc, op);
  if (tm == NULL) return arerror(L, rb, rc, op);
  return vm_callTMres(L, tm, rb, rc, ra);
}

/* ================= length ================= */

int vm_len(pal_State *L, const TValue *o, TValue *res) {
  const TValue *tm;
  switch (ttype(o)) {
    case PAL_TSTRING: setnvalue(res, (double)tsvalue(o)->len); return PAL_OK;
    case PAL_TTABLE: {
      Table *h = hvalue(o);
      tm = h->metatable != NULL ? tab_gettm(L, h->metatable, TM_LEN) : NULL;
      if (tm == NULL) {
        setnvalue(res, (double)tab_len(h));
        return PAL_OK;
      }
      break;
    }
    case PAL_TUSERDATA:
      tm = obj_gettm(L, o, TM_LEN);
      if (tm != NULL) break;
      /* fall through */
    default:
      vm_runerror(L, "attempt to get length of a %s value", vm_typeof(L, o));
      return L->errstatus;
  }
  {
    TValue r;
    ptrdiff_t roff = isstackptr(L, res) ? savestack(L, res) : -1;
    int st = vm_callTMres(L, tm, o, &pal_nilobject, &r);
    if (st != PAL_OK) return st;
    if (!ttisnumber(&r)) {
      vm_callererror(L, "'__len' must return a number");
      return L->errstatus;
    }
    if (roff >= 0) res = restorestack(L, roff);
    setobj(res, &r);
    return PAL_OK;
  }
}

/* ================= concatenation ================= */

#define tostringable(o) (ttisstring(o) || ttisnumber(o))

/* Results longer than this are built directly in their string object (str_newbuf), which saves copying them
   once more; shorter ones, which more often already exist, in a stack buffer looked up by str_new. */
#define CONCAT_SMALL 64

int vm_concat(pal_State *L, int total, int last) {
  char small[CONCAT_SMALL];
  do {
    TValue *top = L->stack + L->ci->base + last + 1;
    int n = 2;
    if (!tostringable(top - 2) || !tostringable(top - 1)) {
      const TValue *tm = obj_gettm(L, top - 2, TM_CONCAT);
      int st;
      if (tm == NULL) tm = obj_gettm(L, top - 1, TM_CONCAT);
      if (tm == NULL) {
        vm_runerror(L, "attempt to concatenate %s with %s", vm_typeof(L, top - 2), vm_typeof(L, top - 1));
        return L->errstatus;
      }
      st = vm_callTMres(L, tm, top - 2, top - 1, top - 2);
      if (st != PAL_OK) return st;
    } else {
      /* collect as many string/number operands as possible from the top */
      size_t tl = 0;
      char *p;
      TString *ts, *tsb = NULL;
      /* the first NUMCACHE numbers met (from the top) are formatted once, into nb; later ones twice */
      enum { NUMCACHE = 4 };
      char nb[NUMCACHE][PAL_NUMBUF];
      int nlen[NUMCACHE], nnum = 0, j;
      for (n = 0; n < total && tostringable(top - n - 1); n++) {
        const TValue *o = top - n - 1;
        size_t l;
        if (ttisstring(o))
          l = tsvalue(o)->len;
        else {
          char tmp[PAL_NUMBUF];
          l = (size_t)pal_num2str(nnum < NUMCACHE ? nb[nnum] : tmp, nvalue(o));
          if (nnum < NUMCACHE) nlen[nnum] = (int)l;
          nnum++;
        }
        if (l > ((size_t)1 << 30) - tl) {
          vm_runerror(L, "string length overflow");
          return L->errstatus;
        }
        tl += l;
      }
      if (tl >= 4096 && pal_chargefuel(L, (int64_t)(tl / 64))) return L->errstatus;
      if (tl <= sizeof small)
        p = small;
      else {
        tsb = str_newbuf(L, tl);
        if (tsb == NULL) return L->errstatus;
        p = getstr(tsb);
      }
      for (j = n; j > 0; j--) {
        const TValue *o = top - j;
        if (ttisstring(o)) {
          mem_copy(p, getstr(tsvalue(o)), tsvalue(o)->len);
          p += tsvalue(o)->len;
        } else if (--nnum < NUMCACHE) { /* the numbers come back in the reverse order */
          mem_copy(p, nb[nnum], (size_t)nlen[nnum]);
          p += nlen[nnum];
        } else { /* not into p: pal_num2str also writes a terminator */
          char tmp[PAL_NUMBUF];
          int l = pal_num2str(tmp, nvalue(o));
          memcpy(p, tmp, (size_t)l);
          p += l;
        }
      }
      ts = tsb != NULL ? str_intern(L, tsb) : str_new(L, small, tl);
      if (ts == NULL) return L->errstatus;
      setsvalue(top - n, ts);
    }
    total -= n - 1;
    last -= n - 1;
  } while (total > 1);
  return PAL_OK;
}

/* ================= tostring ================= */

int vm_tostring(pal_State *L, const TValue *o, TValue *res) {
  const TValue *tm;
  if (ttisstring(o)) {
    setobj(res, o);
    return PAL_OK;
  }
  tm = obj_gettm(L, o, TM_TOSTRING);
  if (tm != NULL) {
    TValue arg = *o, r;
    ptrdiff_t roff = isstackptr(L, res) ? savestack(L, res) : -1;
    int st = callmeta(L, tm, &arg, 1, &r, 1);
    if (st != PAL_OK) return st;
    if (ttisnumber(&r)) {
      char nb[PAL_NUMBUF];
      int l = pal_num2str(nb, nvalue(&r));
      TString *ts = str_new(L, nb, (size_t)l);
      if (ts == NULL) return L->errstatus;
      setsvalue(&r, ts);
    } else if (!ttisstring(&r)) {
      vm_callererror(L, "'__tostring' must return a string");
      return L->errstatus;
    }
    if (roff >= 0) res = restorestack(L, roff);
    setobj(res, &r);
    return PAL_OK;
  } else {
    char buf[128];
    size_t len = vm_defaulttostring(L, o, buf, sizeof buf);
    TString *ts = str_new(L, buf, len);
    if (ts == NULL) return L->errstatus;
    setsvalue(res, ts);
    return PAL_OK;
  }
}

/* ================= fuel and safe points ================= */

int vm_fuel(pal_State *L) {
  global_State *g = G(L);
  if (!g->aborting) {
    int64_t f = pal_host_fuel();
    if (f > 0) {
      g->fuel = f;
      return 0;
    }
    g->aborting = 1;
  }
  g->fuel = 0;
  vm_seterrorstr(L, PAL_ERRABORT, "Script execution time limit exceeded");
  return 1;
}

int vm_safepoint(pal_State *L) {
  global_State *g = G(L);
  if (g->fuel <= 0 && vm_fuel(L)) return L->errstatus != PAL_OK ? L->errstatus : PAL_ERRABORT;
  if (g->totalbytes >= g->gcthreshold) gc_checkstep(L);
  return PAL_OK;
}

int pal_chargefuel(pal_State *L, int64_t units) {
  global_State *g = G(L);
  if (units <= 0 && !g->aborting) return 0;
  g->fuel -= units;
  if (g->fuel <= 0 || g->aborting) return vm_fuel(L);
  return 0;
}

/* tab_getstr inlined into the loop (same lookup: strings are interned, so a key matches by pointer). Each node's
   fields are read up front, its last one first: wasm then bounds-checks a node once, not once per field. */
static inline __attribute__((always_inline)) const TValue *getstr_inl(const Table *t, const TString *key) {
  const Node *n = &t->node[key->hash & t->nodemask];
  for (;;) {
    int next = VREAD(n, next), keytt = VREAD(n, keytt);
    const GCObject *k = VREAD(n, key.gc);
    if (keytt == PAL_TSTRING && k == (const GCObject *)key) return &n->val;
    if (next == 0) return &pal_nilobject;
    n += next;
  }
}

/* tab_gettm(L, mt, TM_INDEX) inlined: the same lookup and the same tmcache update */
static inline const TValue *gettm_index(global_State *g, Table *mt) {
  const TValue *tm;
  if ((mt->tmcache & (1u << TM_INDEX)) || g->tmname[TM_INDEX] == NULL) return NULL;
  tm = getstr_inl(mt, g->tmname[TM_INDEX]);
  if (ttisnil(tm)) {
    mt->tmcache |= (uint8_t)(1u << TM_INDEX);
    return NULL;
  }
  return tm;
}

/* one level of "__index is a table" for a string key missing from h (the common method-lookup pattern);
   NULL when that does not settle the result */
static inline __attribute__((always_inline)) const TValue *getstr_viaindex(pal_State *L, Table *h, TString *key) {
  const TValue *idx = gettm_index(G(L), h->metatable);
  if (idx != NULL && ttistable(idx)) {
    Table *b = hvalue(idx);
    const TValue *v = getstr_inl(b, key);
    if (!ttisnil(v) || b->metatable == NULL) return v;
  }
  return NULL;
}

/* 1 if a store of a new key into h is a raw store: no metatable, or one without __newindex (absence cached) */
static inline int rawnewkey(pal_State *L, Table *h) {
  Table *mt = h->metatable;
  return mt == NULL || (mt->tmcache & (1u << TM_NEWINDEX)) || tab_gettm(L, mt, TM_NEWINDEX) == NULL;
}

/* cache OP_GETGLOBAL's lookup in env that found the non-nil *slot (in env, or in b, the read-only metatable mt's
   __index table) */
static void setgcache(global_State *g, GCache *gc, Table *env, const TValue *slot, Table *mt, Table *b) {
  env->watched = 1;
  if (mt != NULL) mt->watched = b->watched = 1;
  gc->env = env;
  gc->slot = slot;
  gc->ver = g->gver;
}

/* ================= builtins computed inline (FB_*, vm.h) ================= */

/* a bit32 operand: pal_checkint64's conversion, truncated to 32 bits */
static inline uint32_t fb_u32(double d) {
  int64_t v = d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? (int64_t)d : INT64_MIN;
  return (uint32_t)(uint64_t)v;
}

/* The result of builtin id called with args[0..nargs-1] (nresults wanted), stored to *res; 0 when the call is not
   the plain case handled here (then the C function is called normally: it produces every other result and every
   error). Each case must give exactly the library function's single result, and none allocates. res may be the
   slot below args: each case writes it only once it has read the arguments and is going to return 1. */
static inline int fastbuiltin(global_State *g, int id, const TValue *args, int nargs, int nresults, TValue *res) {
  if (nargs < 1) return 0;
  switch (id) {
    case FB_TYPE:
      if ((unsigned)ttype(args) >= PAL_NUMTYPES) return 0;
      setsvalue(res, g->typestr[ttype(args)]);
      return 1;
    case FB_TYPEOF: /* a userdata's type may come from its metatable's __type */
      if (ttisuserdata(args) || (unsigned)ttype(args) >= PAL_NUMTYPES) return 0;
      setsvalue(res, g->typestr[ttype(args)]);
      return 1;
    case FB_RAWEQUAL:
      if (nargs < 2) return 0;
      setbvalue(res, rawequalobj(args, args + 1));
      return 1;
    case FB_RAWGET:
      if (nargs < 2 || !ttistable(args)) return 0;
      setobj(res, tab_get(hvalue(args), args + 1));
      return 1;
    case FB_RAWLEN:
      if (ttisstring(args))
        setnvalue(res, (double)tsvalue(args)->len);
      else if (ttistable(args))
        setnvalue(res, (double)(size_t)tab_len(hvalue(args)));
      else
        return 0;
      return 1;
    case FB_SELECT: /* select('#', ...), or select(i, ...) wanting at most one result */
      if (ttisstring(args) && getstr(tsvalue(args))[0] == '#') {
        setnvalue(res, (double)(nargs - 1));
        return 1;
      }
      if (ttisnumber(args) && nresults != PAL_MULTRET && nresults <= 1) {
        double d = nvalue(args);
        int n = d >= -2147483648.0 && d < 2147483648.0 ? (int)d : INT_MIN; /* pal_checkinteger */
        if (n < 0)
          n += nargs;
        else if (n > nargs)
          n = nargs;
        if (n < 1) return 0; /* the error */
        if (n < nargs)
          setobj(res, args + n);
        else
          setnilvalue(res); /* no results */
        return 1;
      }
      return 0;
    case FB_TONUMBER: { /* one argument: a number, a numeric string, or nil */
      double d;
      if (nargs != 1) return 0;
      if (ttisnumber(args))
        setobj(res, args);
      else if (ttisstring(args) && pal_str2num(getstr(tsvalue(args)), tsvalue(args)->len, &d))
        setnvalue(res, d);
      else
        setnilvalue(res);
      return 1;
    }
    case FB_TOSTRING: /* a string is its own result (vm_tostring) */
      if (!ttisstring(args)) return 0;
      setobj(res, args);
      return 1;
    case FB_SETMETATABLE: { /* a table whose metatable (if any) is not protected gets a table or nil */
      Table *t;
      if (nargs < 2 || !ttistable(args) || (!ttistable(args + 1) && !ttisnil(args + 1))) return 0;
      t = hvalue(args);
      if (t->readonly) return 0;
      if (t->metatable != NULL && g->tmname[TM_METATABLE] != NULL &&
          !ttisnil(getstr_inl(t->metatable, g->tmname[TM_METATABLE])))
        return 0; /* (the error) */
      tab_changed(g, t);
      t->metatable = ttistable(args + 1) ? hvalue(args + 1) : NULL;
      setobj(res, args);
      return 1;
    }
    case FB_ASSERT: /* a true condition, and at most one result wanted (assert returns all its arguments) */
      if (l_isfalse(args) || nresults > 1 || nresults == PAL_MULTRET) return 0;
      setobj(res, args);
      return 1;
    case FB_STRLEN:
      if (!ttisstring(args)) return 0;
      setnvalue(res, (double)tsvalue(args)->len);
      return 1;
    case FB_STRBYTE: { /* s:byte() or s:byte(i) with i a position inside s (counted from the start) */
      size_t l;
      double d = 1;
      if (!ttisstring(args) || nargs > 2) return 0;
      l = tsvalue(args)->len;
      if (nargs == 2) {
        if (!ttisnumber(args + 1)) return 0;
        d = nvalue(args + 1);
      }
      if (!(d >= 1 && d < (double)l + 1)) return 0;
      setnvalue(res, (double)(unsigned char)getstr(tsvalue(args))[(size_t)d - 1]);
      return 1;
    }
    case FB_ABS:
    case FB_FLOOR:
    case FB_CEIL:
    case FB_SQRT: {
      double d;
      if (!ttisnumber(args)) return 0;
      d = nvalue(args);
      setnvalue(res, id == FB_ABS ? fabs(d) : id == FB_FLOOR ? floor(d) : id == FB_CEIL ? ceil(d) : sqrt(d));
      return 1;
    }
    case FB_MIN:
    case FB_MAX: {
      double m;
      int j;
      for (j = 0; j < nargs; j++)
        if (!ttisnumber(args + j)) return 0;
      m = nvalue(args);
      for (j = 1; j < nargs; j++) {
        double d = nvalue(args + j);
        if (id == FB_MIN ? d < m : d > m) m = d;
      }
      setnvalue(res, m);
      return 1;
    }
    case FB_BAND:
    case FB_BOR:
    case FB_BXOR: {
      uint32_t r = id == FB_BAND ? 0xFFFFFFFFu : 0;
      int j;
      for (j = 0; j < nargs; j++)
        if (!ttisnumber(args + j)) return 0;
      for (j = 0; j < nargs; j++) {
        uint32_t x = fb_u32(nvalue(args + j));
        r = id == FB_BAND ? r & x : id == FB_BOR ? r | x : r ^ x;
      }
      setnvalue(res, (double)r);
      return 1;
    }
    default: return 0;
  }
}

/* OP_CALL of builtin id at func with nargs arguments, wanting nresults (PAL_MULTRET: open results): 1 when done
   inline (results stored and L->top set as after a call), 0 to make the real call. (A function of its own: the
   interpreter loop keeps its registers.) */
static NOINLINE int callbuiltin(pal_State *L, int id, TValue *func, int nargs, int nresults) {
  int j;
  /* the result goes straight to func: written only on success, after the arguments were read, and a dead slot
     when no result is wanted */
  if (!fastbuiltin(G(L), id, func + 1, nargs, nresults, func)) return 0;
  if (nresults == PAL_MULTRET) {
    L->top = func + 1;
    return 1;
  }
  for (j = 1; j < nresults; j++) setnilvalue(func + j);
  L->top = L->stack + L->ci->top; /* (the arguments may have been open ones) */
  return 1;
}

/* ================= the interpreter loop ================= */

/* The n results at first moved to res for a caller wanting `wanted` of them (PAL_MULTRET: all), nil-filled; the
   caller then sets L->top (res + n for PAL_MULTRET). What vm_poscall does, for the loop's fast paths. */
static inline void moveresults(TValue *res, const TValue *first, int n, int wanted) {
  int j;
  if (wanted == 1 && n > 0) { /* the most common case */
    setobj_tagfirst(res, first);
    return;
  }
  if (wanted == PAL_MULTRET) wanted = n;
  for (j = 0; j < n && j < wanted; j++) setobj(res + j, first + j);
  for (; j < wanted; j++) setnilvalue(res + j);
}

#define SAVEPC() (ci->savedpc = pc)
/* TABLE_ARRAY_READS: OP_GETTABLE and OP_SETTABLE read the table's array and size and the key's tag and value
   (volatile reads, which stay in that order and place) before branching on the key's type. In wasm, h->array,
   the Table field at the highest offset they use, then bounds-checks h for the others, and the key's tag its
   value; read after the multiway branch the compiler makes of the type tests, each would be checked again
   (wazero forgets which pointers it checked where control flow merges). */
/* R[A] of the current instruction. Each op computes it itself (rather than once before the switch) so that it is
   not a value shared by every op: wasm runtimes then do not spill it on every dispatch. */
#define RA() (base + GET_A(i))
#define RELOAD() (ci = L->ci, base = L->stack + ci->base)
#define PROTECT(x)                   \
  do {                               \
    SAVEPC();                        \
    status = (x);                    \
    RELOAD();                        \
    if (status != PAL_OK) goto vmerror; \
  } while (0)
/* res := compare(a, b, op) (0 or 1), as PROTECT */
#define COMPARE(res, a, b, op)          \
  do {                                  \
    SAVEPC();                           \
    res = compare(L, a, b, op);         \
    RELOAD();                           \
    if (res < 0) goto vmerror;          \
  } while (0)
#define SAFEPOINT()                                                     \
  do {                                                                  \
    if (--g->fuel <= 0 || g->totalbytes >= g->gcthreshold) {            \
      SAVEPC();                                                         \
      L->top = L->stack + ci->top;                                      \
      status = vm_safepoint(L);                                         \
      if (status != PAL_OK) goto vmerror;                               \
    }                                                                   \
  } while (0)
#define GCCHECK()                                                       \
  do {                                                                  \
    if (g->totalbytes >= g->gcthreshold) {                              \
      L->top = L->stack + ci->top;                                      \
      gc_checkstep(L);                                                  \
    }                                                                   \
  } while (0)

/* Conditional ops skip the next instruction unless the condition holds; that instruction is normally a JMP,
   which is then taken right here (one dispatch fewer). */
#define CONDJUMP(cond)                                                  \
  do {                                                                  \
    if (!(cond))                                                        \
      pc++;                                                             \
    else if (GET_OP(*pc) == OP_JMP) {                                   \
      int sj_ = GET_sJ(*pc);                                            \
      pc += 1 + sj_;                                                    \
      if (sj_ < 0) SAFEPOINT();                                         \
    }                                                                   \
  } while (0)

#define ARITH_RR(op, tmev)                                             \
  {                                                                    \
    TValue *ra = RA();                                                 \
    TValue *rb = base + GET_B(i), *rc = base + GET_C(i);               \
    if (ttisnumber(rb) && ttisnumber(rc)) {                            \
      double nb_ = nvalue(rb), nc_ = nvalue(rc);                       \
      setnvalue(ra, op(nb_, nc_));                                     \
    } else                                                             \
      PROTECT(vm_arith(L, ra, rb, rc, tmev));                          \
    break;                                                             \
  }
#define ARITH_RK(op, tmev)                                             \
  {                                                                    \
    TValue *ra = RA();                                                 \
    TValue *rb = base + GET_B(i);                                      \
    const TValue *rc = k + GET_C(i);                                   \
    if (ttisnumber(rb)) {                                              \
      double nb_ = nvalue(rb), nc_ = nvalue(rc);                       \
      setnvalue(ra, op(nb_, nc_));                                     \
    } else                                                             \
      PROTECT(vm_arith(L, ra, rb, rc, tmev));                          \
    break;                                                             \
  }
#define OPADD(a, b) ((a) + (b))
#define OPSUB(a, b) ((a) - (b))
#define OPMUL(a, b) ((a) * (b))
#define OPDIV(a, b) ((a) / (b))
#define OPIDIV(a, b) (floor((a) / (b)))
#define OPMOD(a, b) ((a)-floor((a) / (b)) * (b))
#define OPPOW(a, b) (pow((a), (b)))

static NOINLINE int forerror(pal_State *L, const TValue *o, const char *what) {
  vm_runerror(L, "invalid 'for' %s (number expected, got %s)", what, vm_typeof(L, o));
  return L->errstatus;
}

static NOINLINE int forprep(pal_State *L, TValue *ra) {
  double n;
  if (!ttisnumber(ra)) {
    if (!vm_tonumber(ra, &n)) return forerror(L, ra, "initial value");
    setnvalue(ra, n);
  }
  if (!ttisnumber(ra + 1)) {
    if (!vm_tonumber(ra + 1, &n)) return forerror(L, ra + 1, "limit");
    setnvalue(ra + 1, n);
  }
  if (!ttisnumber(ra + 2)) {
    if (!vm_tonumber(ra + 2, &n)) return forerror(L, ra + 2, "step");
    setnvalue(ra + 2, n);
  }
  return PAL_OK;
}

/* generic-for setup for non-function generators; returns a status */
static NOINLINE int tforprep(pal_State *L, TValue *ra) {
  Table *mt;
  const TValue *tm;
  if (ttisfunction(ra)) {
    Closure *f = clvalue(ra);
    if (f->c.isC && f->c.f == base_next && ttistable(ra + 1) && ttisnil(ra + 2)) {
      /* pairs(t): use the builtin traversal (same order as next) */
      setpvalue(ra, NULL);
    }
    return PAL_OK;
  }
  if (!ttistable(ra) && !ttisuserdata(ra)) goto bad;
  mt = ttistable(ra) ? hvalue(ra)->metatable : uvalue(ra)->metatable;
  tm = mt != NULL ? tab_gettm(L, mt, TM_ITER) : NULL;
  if (tm != NULL) {
    TValue obj = *ra;
    return callmeta(L, tm, &obj, 1, ra, 3);
  }
  if (mt != NULL && tab_gettm(L, mt, TM_CALL) != NULL) return PAL_OK;
  if (ttistable(ra)) {
    setobj(ra + 1, ra);
    setpvalue(ra, NULL); /* position 0 */
    return PAL_OK;
  }
bad:
  vm_runerror(L, "attempt to iterate over a %s value", vm_typeof(L, ra));
  return L->errstatus;
}

/* a comparison by metamethods or of strings (TM_EQ, TM_LT or TM_LE): 1 or 0, or -1 with an error pending */
static NOINLINE int compare(pal_State *L, const TValue *a, const TValue *b, TMS op) {
  int res;
  int st = op == TM_EQ ? vm_equalobj(L, a, b, &res) : op == TM_LT ? vm_lessthan(L, a, b, &res)
                                                                    : vm_lessequal(L, a, b, &res);
  return st != PAL_OK ? -1 : res;
}

/* R[A] := env[kv] and env[kv] := R[A] through vm_gettable / vm_settable (env as a TValue) */
static NOINLINE int getglobal(pal_State *L, Table *env, const TValue *kv, TValue *ra) {
  TValue ev;
  sethvalue(&ev, env);
  return vm_gettable(L, &ev, kv, ra);
}

static NOINLINE int setglobal(pal_State *L, Table *env, const TValue *kv, const TValue *ra) {
  TValue ev;
  sethvalue(&ev, env);
  return vm_settable(L, &ev, kv, ra);
}

/* R[A] := t[c + 1] and t[c + 1] := R[A] through vm_gettable / vm_settable (OP_GETINDEX, OP_SETINDEX) */
static NOINLINE int getindex(pal_State *L, const TValue *t, int c, TValue *ra) {
  TValue key;
  setnvalue(&key, (double)(c + 1));
  return vm_gettable(L, t, &key, ra);
}

static NOINLINE int setindex(pal_State *L, const TValue *t, int c, const TValue *ra) {
  TValue key;
  setnvalue(&key, (double)(c + 1));
  return vm_settable(L, t, &key, ra);
}

/* OP_SELF's general case, once R[A+1] holds the object: R[A] := object[kc] through vm_gettable, and the error
   for a missing method of an indexable object */
static NOINLINE int selfmethod(pal_State *L, TValue *ra, const TValue *kc) {
  TValue obj = ra[1]; /* (ra[1] is a register, which a metamethod may overwrite) */
  ptrdiff_t raoff = savestack(L, ra);
  int st = vm_gettable(L, &obj, kc, ra);
  if (st != PAL_OK) return st;
  ra = restorestack(L, raoff);
  if (ttisnil(ra) && (ttistable(&obj) || ttisstring(&obj) || ttisuserdata(&obj))) {
    vm_runerror(L, "attempt to call missing method '%s' of %s", getstr(tsvalue(kc)), vm_typeof(L, &obj));
    return L->errstatus;
  }
  return PAL_OK;
}

static NOINLINE int opcodeerror(pal_State *L, int op) {
  vm_runerror(L, "invalid opcode %d", op);
  return L->errstatus;
}

int vm_execute(pal_State *L, int entry) {
  global_State *g = G(L);
  CallInfo *ci;
  LClosure *cl;
  const TValue *k;
  TValue *base;
  const uint32_t *pc;
  int status;

newframe:
  ci = L->ci;
  cl = &ci_closure(L, ci)->l;
  k = cl->p->k;
  ci->k = k; /* for the fast return into this frame (CallInfo in object.h) */
  ci->cl = cl;
  base = L->stack + ci->base;
  pc = ci->savedpc;

  for (;;) {
    const uint32_t i = *pc++;
    switch (GET_OP(i)) {
      case OP_NOP: break;
      case OP_MOVE: setobj(RA(), base + GET_B(i)); break;
      case OP_LOADNIL: {
        TValue *ra = RA();
        int b = GET_B(i);
        do {
          setnilvalue(ra++);
        } while (b-- > 0);
        break;
      }
      case OP_LOADB: {
        TValue *ra = RA();
        /* the tag first, as setbvalue means to (the compiler otherwise stores the value first, and wasm then
           bounds-checks both stores) */
        VWRITE(ra, tt, PAL_TBOOLEAN);
        ra->v.b = GET_B(i) != 0;
        if (GET_C(i)) pc++;
        break;
      }
      case OP_LOADN: setnvalue(RA(), (double)GET_sBx(i)); break;
      case OP_LOADK: setobj(RA(), k + GET_Bx(i)); break;
      case OP_GETUPVAL: setobj_tagfirst(RA(), cl->upvals[GET_B(i)]->v); break;
      case OP_SETUPVAL: setobj(cl->upvals[GET_B(i)]->v, RA()); break;
      case OP_GETGLOBAL: {
        TValue *ra = RA();
        Table *env = cl->env;
        const TValue *kv = k + GET_Bx(i);
        GCache *gc = &cl->p->gcache[GET_Bx(i)];
        if (gc->env == env && gc->ver == g->gver && !ttisnil(gc->slot)) {
          setobj(ra, gc->slot);
          break;
        }
        if (env != NULL) {
          const TValue *v = getstr_inl(env, tsvalue(kv));
          if (!ttisnil(v) || env->metatable == NULL) {
            setobj(ra, v);
            if (!ttisnil(v)) setgcache(g, gc, env, v, NULL, NULL);
            break;
          }
          { /* sandbox: globals table whose __index is the built-ins table */
            Table *mt = env->metatable;
            const TValue *idx = gettm_index(g, mt);
            if (idx != NULL && ttistable(idx)) {
              Table *b = hvalue(idx);
              v = getstr_inl(b, tsvalue(kv));
              if (!ttisnil(v) || b->metatable == NULL) {
                setobj(ra, v);
                /* (only through a read-only metatable: the VM's inline stores could change its __index) */
                if (!ttisnil(v) && mt->readonly) setgcache(g, gc, env, v, mt, b);
                break;
              }
            }
          }
          PROTECT(getglobal(L, env, kv, ra));
        } else
          setnilvalue(ra);
        break;
      }
      case OP_SETGLOBAL: {
        TValue *ra = RA();
        Table *env = cl->env;
        const TValue *kv = k + GET_Bx(i);
        if (env == NULL) break;
        if (!env->readonly) {
          TValue *slot = (TValue *)getstr_inl(env, tsvalue(kv));
          if (!ttisnil(slot)) {
            setobj(slot, ra);
            break;
          }
          if (env->metatable == NULL || tab_gettm(L, env->metatable, TM_NEWINDEX) == NULL) {
            SAVEPC();
            if (tab_setstr(L, env, tsvalue(kv), ra) != PAL_OK) goto vmerror;
            break;
          }
        }
        PROTECT(setglobal(L, env, kv, ra));
        break;
      }
      case OP_GETTABLE: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i), *rc = base + GET_C(i);
        if (ttistable(rb)) {
          Table *h = hvalue(rb);
          /* What the array case needs is read before branching on the key's type, h->array first (see
             TABLE_ARRAY_READS) */
          const TValue *arr = VREAD(h, array);
          int size = VREAD(h, sizearray), ktt = VREAD(rc, tt);
          double d = VREAD(rc, v.n);
          const TValue *v;
          if (ktt == PAL_TNUMBER) {
            int ix = tab_arrayindex(d, size);
            v = ix > 0 ? &arr[ix - 1] : tab_getnum(h, d);
          } else if (ktt == PAL_TSTRING)
            v = getstr_inl(h, tsvalue(rc));
          else
            v = tab_get(h, rc);
          if (!ttisnil(v) || h->metatable == NULL) {
            setobj(ra, v);
            break;
          }
        }
        PROTECT(vm_gettable(L, rb, rc, ra));
        break;
      }
      case OP_GETFIELD: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        const TValue *kc = k + GET_C(i);
        if (ttistable(rb)) {
          Table *h = hvalue(rb);
          const TValue *v = getstr_inl(h, tsvalue(kc));
          if (!ttisnil(v) || h->metatable == NULL || (v = getstr_viaindex(L, h, tsvalue(kc))) != NULL) {
            setobj(ra, v);
            break;
          }
        }
        PROTECT(vm_gettable(L, rb, kc, ra));
        break;
      }
      case OP_GETINDEX: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int c = GET_C(i);
        if (ttistable(rb)) {
          Table *h = hvalue(rb);
          const TValue *v = c < h->sizearray ? &h->array[c] : tab_getint(h, c + 1);
          if (!ttisnil(v) || h->metatable == NULL) {
            setobj(ra, v);
            break;
          }
        }
        PROTECT(getindex(L, rb, c, ra));
        break;
      }
      case OP_SETTABLE: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i), *rc = base + GET_C(i);
        if (ttistable(rb)) {
          Table *h = hvalue(rb);
          TValue *arr = VREAD(h, array); /* (as in OP_GETTABLE) */
          int size = VREAD(h, sizearray), ktt = VREAD(rc, tt);
          double d = VREAD(rc, v.n);
          TValue *slot;
          if (h->readonly) goto settable_slow;
          if (ktt == PAL_TNUMBER) {
            int ix = tab_arrayindex(d, size);
            slot = ix > 0 ? &arr[ix - 1] : (TValue *)tab_getnum(h, d);
          } else if (ktt == PAL_TSTRING)
            slot = (TValue *)getstr_inl(h, tsvalue(rc));
          else
            slot = (TValue *)tab_get(h, rc);
          if (!ttisnil(slot)) {
            setobj(slot, ra);
            break;
          }
          if (!ttisnil(rc) && !(ttisnumber(rc) && nvalue(rc) != nvalue(rc)) && rawnewkey(L, h)) {
            /* raw store (as vm_settable would do): an empty array slot or a dead key's node takes the value in
               place, as in tab_set; a key with neither is new (e.g. an append) and is added without a second
               lookup */
            if (slot != &pal_nilobject) {
              h->tmcache = 0;
              tab_changed(g, h); /* as in tab_set */
              setobj(slot, ra);
              break;
            }
            SAVEPC();
            if (tab_setnew(L, h, rc, ra) != PAL_OK) goto vmerror;
            break;
          }
        }
      settable_slow:
        PROTECT(vm_settable(L, rb, rc, ra));
        break;
      }
      case OP_SETFIELD: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        const TValue *kc = k + GET_C(i);
        if (ttistable(rb) && !hvalue(rb)->readonly) {
          Table *h = hvalue(rb);
          TValue *slot = (TValue *)getstr_inl(h, tsvalue(kc));
          if (!ttisnil(slot)) {
            setobj(slot, ra);
            break;
          }
          if (rawnewkey(L, h)) { /* as in OP_SETTABLE */
            Node *mp;
            if (slot != &pal_nilobject) {
              h->tmcache = 0;
              tab_changed(g, h);
              setobj(slot, ra);
              break;
            }
            /* tab_setnew's common case (filling a table sized for its keys) without the call */
            mp = &h->node[tsvalue(kc)->hash & h->nodemask];
            if (!ttisnil(ra) && tab_putfree(h, mp, kc, ra)) {
              h->tmcache = 0;
              tab_changed(g, h);
              break;
            }
            SAVEPC();
            if (tab_setnew(L, h, kc, ra) != PAL_OK) goto vmerror;
            break;
          }
        }
        PROTECT(vm_settable(L, rb, kc, ra));
        break;
      }
      case OP_SETINDEX: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int c = GET_C(i);
        if (ttistable(rb) && !hvalue(rb)->readonly) {
          Table *h = hvalue(rb);
          if (c < h->sizearray && !ttisnil(&h->array[c])) {
            setobj(&h->array[c], ra);
            break;
          }
          if (rawnewkey(L, h)) {
            SAVEPC();
            if (tab_setint(L, h, c + 1, ra) != PAL_OK) goto vmerror;
            break;
          }
        }
        PROTECT(setindex(L, rb, c, ra));
        break;
      }
      case OP_NEWTABLE: {
        TValue *ra = RA();
        Table *t;
        SAVEPC();
        t = tab_new(L, GET_B(i), GET_C(i));
        if (t == NULL) goto vmerror;
        sethvalue(ra, t);
        GCCHECK();
        break;
      }
      case OP_DUPTABLE: {
        TValue *ra = RA();
        Table *t;
        SAVEPC();
        t = tab_newshape(L, &cl->p->shapes[GET_Bx(i)]);
        if (t == NULL) goto vmerror;
        sethvalue(ra, t);
        GCCHECK();
        break;
      }
      case OP_SELF: {
        TValue *ra = RA();
        const TValue *obj = ra + 1; /* (no TValue local: see NOINLINE) */
        const TValue *kc = k + GET_C(i);
        setobj(ra + 1, base + GET_B(i));
        if (ttistable(obj)) {
          Table *h = hvalue(obj);
          const TValue *v = getstr_inl(h, tsvalue(kc));
          if (!ttisnil(v) || (h->metatable != NULL && (v = getstr_viaindex(L, h, tsvalue(kc))) != NULL &&
                              !ttisnil(v))) {
            setobj(ra, v);
            break;
          }
        } else if (ttisstring(obj) && g->mt[PAL_TSTRING] != NULL) {
          const TValue *idx = gettm_index(g, g->mt[PAL_TSTRING]);
          if (idx != NULL && ttistable(idx)) {
            const TValue *v = getstr_inl(hvalue(idx), tsvalue(kc));
            if (!ttisnil(v)) {
              setobj(ra, v);
              break;
            }
          }
        }
        PROTECT(selfmethod(L, ra, kc));
        break;
      }
      case OP_ADD: ARITH_RR(OPADD, TM_ADD)
      case OP_SUB: ARITH_RR(OPSUB, TM_SUB)
      case OP_MUL: ARITH_RR(OPMUL, TM_MUL)
      case OP_DIV: ARITH_RR(OPDIV, TM_DIV)
      case OP_IDIV: ARITH_RR(OPIDIV, TM_IDIV)
      case OP_MOD: ARITH_RR(OPMOD, TM_MOD)
      case OP_POW: ARITH_RR(OPPOW, TM_POW)
      case OP_ADDK: ARITH_RK(OPADD, TM_ADD)
      case OP_SUBK: ARITH_RK(OPSUB, TM_SUB)
      case OP_MULK: ARITH_RK(OPMUL, TM_MUL)
      case OP_DIVK: ARITH_RK(OPDIV, TM_DIV)
      case OP_IDIVK: ARITH_RK(OPIDIV, TM_IDIV)
      case OP_MODK: ARITH_RK(OPMOD, TM_MOD)
      case OP_POWK: ARITH_RK(OPPOW, TM_POW)
      case OP_UNM: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        if (ttisnumber(rb)) {
          setnvalue(ra, -nvalue(rb));
        } else
          PROTECT(vm_arith(L, ra, rb, rb, TM_UNM));
        break;
      }
      case OP_NOT: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int r = l_isfalse(rb);
        setbvalue(ra, r);
        break;
      }
      case OP_LEN: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        if (ttisstring(rb)) {
          setnvalue(ra, (double)tsvalue(rb)->len);
        } else if (ttistable(rb) && (hvalue(rb)->metatable == NULL ||
                                     tab_gettm(L, hvalue(rb)->metatable, TM_LEN) == NULL)) {
          setnvalue(ra, (double)tab_len(hvalue(rb)));
        } else
          PROTECT(vm_len(L, rb, ra));
        break;
      }
      case OP_CONCAT: {
        int b = GET_B(i), c = GET_C(i);
        SAVEPC();
        L->top = L->stack + ci->top;
        status = vm_concat(L, c - b + 1, c);
        RELOAD();
        if (status != PAL_OK) goto vmerror;
        setobj(base + GET_A(i), base + b);
        GCCHECK();
        break;
      }
      case OP_JMP: {
        int sj = GET_sJ(i);
        pc += sj;
        if (sj < 0) SAFEPOINT();
        break;
      }
      case OP_EQ: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int res;
        if (ttype(ra) != ttype(rb))
          res = 0;
        else if (ttisnumber(ra))
          res = nvalue(ra) == nvalue(rb);
        else if (ttistable(ra) || ttisuserdata(ra))
          COMPARE(res, ra, rb, TM_EQ);
        else
          res = rawequalobj(ra, rb);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_LT: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int res;
        if (ttisnumber(ra) && ttisnumber(rb))
          res = nvalue(ra) < nvalue(rb);
        else
          COMPARE(res, ra, rb, TM_LT);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_LE: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        int res;
        if (ttisnumber(ra) && ttisnumber(rb))
          res = nvalue(ra) <= nvalue(rb);
        else
          COMPARE(res, ra, rb, TM_LE);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_LTK: {
        TValue *ra = RA();
        const TValue *kb = k + GET_B(i);
        int res;
        if (ttisnumber(ra))
          res = nvalue(ra) < nvalue(kb);
        else
          COMPARE(res, ra, kb, TM_LT);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_LEK: {
        TValue *ra = RA();
        const TValue *kb = k + GET_B(i);
        int res;
        if (ttisnumber(ra))
          res = nvalue(ra) <= nvalue(kb);
        else
          COMPARE(res, ra, kb, TM_LE);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_GTK: {
        TValue *ra = RA();
        const TValue *kb = k + GET_B(i);
        int res;
        if (ttisnumber(ra))
          res = nvalue(kb) < nvalue(ra);
        else
          COMPARE(res, kb, ra, TM_LT);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_GEK: {
        TValue *ra = RA();
        const TValue *kb = k + GET_B(i);
        int res;
        if (ttisnumber(ra))
          res = nvalue(kb) <= nvalue(ra);
        else
          COMPARE(res, kb, ra, TM_LE);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_EQK: {
        TValue *ra = RA();
        const TValue *kb = k + GET_B(i);
        int res = rawequalobj(ra, kb);
        CONDJUMP(res == (GET_C(i) != 0));
        break;
      }
      case OP_TEST: {
        TValue *ra = RA();
        CONDJUMP(!l_isfalse(ra) == (GET_C(i) != 0));
        break;
      }
      case OP_TESTSET: {
        TValue *ra = RA();
        TValue *rb = base + GET_B(i);
        if (!l_isfalse(rb) == (GET_C(i) != 0))
          setobj(ra, rb);
        else
          pc++;
        break;
      }
      case OP_CALL: {
        TValue *ra = RA();
        int b = GET_B(i), nresults = GET_C(i) - 1;
        TValue *top;
        SAVEPC();
        /* (no branch before this test: at a merge point, wazero would bounds-check g's fields twice) */
        if (--g->fuel <= 0 || g->totalbytes >= g->gcthreshold) {
          /* a safe point before the call too: a C function's first allocation must not meet a heap that is
             only waiting for a collection (e.g. the one scheduled when pcall caught "not enough memory") */
          top = b != 0 ? ra + b : L->top;
          L->top = top < L->stack + ci->top ? L->stack + ci->top : top;
          status = vm_safepoint(L);
          if (status != PAL_OK) goto vmerror;
        }
        top = b != 0 ? ra + b : L->top; /* end of the arguments */
        if (ttisfunction(ra)) {
          Closure *f = clvalue(ra);
          if (!f->c.isC) {
            /* fast path: Luau -> Luau call, fixed parameters, enough stack and frames (the prototype's, the
               thread's and the new frame's fields read from the last to the first: see VREAD) */
            Proto *np = f->l.p;
            const TValue *nk = VREAD(np, k);
            const uint32_t *code = VREAD(np, code);
            int maxs = VREAD(np, maxstacksize), nparams = VREAD(np, numparams), vararg = VREAD(np, is_vararg);
            int stacksize = VREAD(L, stacksize);
            ptrdiff_t fo = ra - VREAD(L, stack);
            TValue *nbase = ra + 1;
            CallInfo *nci = ci + 1; /* ci_hasroom(ci), through nci */
            OPAQUE(nci);
            if (!vararg && fo + 1 + maxs + EXTRA_STACK <= stacksize && !(VREAD(nci, flags) & CIST_END)) {
              TValue *p = top, *plim = nbase + nparams;
              /* (extra is only read in vararg frames) */
              ci = nci;
              ci->flags = CIST_LUA;
              ci->k = nk;
              ci->cl = &f->l;
              ci->nresults = nresults;
              ci->savedpc = code;
              ci->top = fo + 1 + maxs;
              ci->base = fo + 1;
              ci->func = fo;
              L->ci = ci;
              L->top = nbase + maxs;
              for (; p < plim; p++) setnilvalue(p);
              cl = &f->l;
              k = nk;
              base = nbase;
              pc = code;
              break;
            }
          } else if (f->c.f != base_pcall && f->c.f != base_xpcall &&
                     (top - L->stack) + PAL_MINSTACK + EXTRA_STACK <= L->stacksize && ci_hasroom(ci)) {
            /* fast path: Luau -> C call (what vm_precall + vm_poscall do, without the general cases) */
            TValue *stk = L->stack, *res, *first;
            CallInfo *cci = ci + 1;
            ptrdiff_t fo = ra - stk;
            int n;
            /* a builtin computed inline, without a frame (only here, after the checks of a real call: a call
               that would overflow the stack still fails the same way) */
            if (f->c.builtin != FB_NONE && callbuiltin(L, f->c.builtin, ra, (int)(top - ra) - 1, nresults)) break;
            cci->func = fo;
            cci->base = fo + 1;
            cci->top = (top - stk) + PAL_MINSTACK;
            cci->savedpc = NULL;
            cci->nresults = nresults;
            cci->flags = CIST_C;
            cci->extra = 0;
            L->ci = cci;
            L->top = top;
            n = f->c.f(L);
            if (n < 0 || L->errstatus != PAL_OK) {
              status = vm_postcallC(L, n);
              if (status == PAL_YIELD) return PAL_YIELD;
              goto vmerror;
            }
            /* the function may have moved the stack and the frames */
            stk = L->stack;
            cci = L->ci;
            if (n > L->top - (stk + cci->base)) n = (int)(L->top - (stk + cci->base));
            res = stk + cci->func;
            first = L->top - n;
            ci = cci - 1;
            L->ci = ci;
            base = stk + ci->base;
            moveresults(res, first, n, nresults);
            L->top = nresults == PAL_MULTRET ? res + n : stk + ci->top;
            if (g->totalbytes >= g->gcthreshold) gc_checkstep(L); /* live values are below L->top */
            break;
          }
        }
        L->top = top;
        status = vm_precall(L, ra, nresults, 1);
        if (status == PCR_LUA) goto newframe;
        if (status == PAL_OK) {
          if (L->ci->flags & CIST_MARKER) nresults = vm_finishframes(L, nresults);
          RELOAD();
          if (nresults != PAL_MULTRET) L->top = L->stack + ci->top;
          if (g->totalbytes >= g->gcthreshold) gc_checkstep(L); /* live values are below L->top */
          break;
        }
        if (status == PAL_YIELD) return PAL_YIELD;
        goto vmerror;
      }
      case OP_RETURN: {
        TValue *ra = RA();
        int b = GET_B(i);
        /* This frame's and the caller's fields, read before any branch, each frame from its last field to its first
           (VREAD). The caller's entry is always there (a Luau frame's index is at least 1); its fields only mean
           something when it is a Luau frame. */
        CallInfo *pci = ci - 1;
        int fresh = VREAD(ci, flags) & CIST_FRESH;
        int wanted = VREAD(ci, nresults);
        ptrdiff_t func = VREAD(ci, func);
        OPAQUE(pci);
        int pflags = VREAD(pci, flags);
        const TValue *pk = VREAD(pci, k);
        LClosure *pcl = VREAD(pci, cl);
        const uint32_t *ppc = VREAD(pci, savedpc);
        ptrdiff_t ptop = VREAD(pci, top), pbase = VREAD(pci, base);
        int n = b != 0 ? b - 1 : (int)(L->top - ra);
        if (GET_C(i) && L->openupval != NULL && L->openupval->v >= base) upval_close(L, base);
        if (!fresh && (pflags & CIST_LUA)) {
          /* fast path: return to a Luau caller in this invocation */
          TValue *stk = L->stack;
          TValue *res = stk + func;
          ci = pci;
          k = pk;
          cl = pcl;
          pc = ppc;
          base = stk + pbase;
          moveresults(res, ra, n, wanted);
          L->top = wanted == PAL_MULTRET ? res + n : stk + ptop; /* open results: their end, for the consumer */
          L->ci = ci;
          break;
        }
        if (fresh && wanted == 1) { /* end of a nested invocation wanting one result (metamethods, pal_call) */
          TValue *res = L->stack + func;
          if (n > 0)
            setobj_tagfirst(res, ra);
          else
            setnilvalue(res);
          VWRITE(L, ci, ci - 1); /* (L's fields from the last to the first) */
          L->top = res + 1;
          return PAL_OK;
        }
        vm_poscall(L, ci, ra, n);
        if (fresh) return PAL_OK;
        if (L->ci->flags & CIST_MARKER) wanted = vm_finishframes(L, wanted);
        if (ci_index(L, L->ci) < entry) return PAL_OK;
        if (wanted != PAL_MULTRET) L->top = L->stack + L->ci->top;
        goto newframe;
      }
      case OP_FORPREP: {
        TValue *ra = RA();
        double st, idx, lim;
        if (!ttisnumber(ra) || !ttisnumber(ra + 1) || !ttisnumber(ra + 2)) {
          SAVEPC();
          if ((status = forprep(L, ra)) != PAL_OK) goto vmerror;
        }
        st = nvalue(ra + 2);
        idx = nvalue(ra);
        lim = nvalue(ra + 1);
        if (st > 0 ? !(idx <= lim) : !(lim <= idx))
          pc += GET_sBx(i);
        else
          setnvalue(ra + 3, idx);
        break;
      }
      case OP_FORLOOP: {
        TValue *ra = RA();
        double st, idx, lim;
        /* The loop variable's tag first, even when the loop ends (the variable is then dead): in wasm this
           highest access bounds-checks all four registers at once. R[A] needs no tag: it stays a number. */
        VWRITE(ra + 3, tt, PAL_TNUMBER);
        st = nvalue(ra + 2);
        idx = nvalue(ra) + st;
        lim = nvalue(ra + 1);
        ra->v.n = idx;
        if (st > 0 ? idx <= lim : lim <= idx) {
          ra[3].v.n = idx;
          pc += GET_sBx(i);
          SAFEPOINT();
        }
        break;
      }
      case OP_TFORPREP: {
        TValue *ra = RA();
        if (!ttisfunction(ra) || (clvalue(ra)->c.isC && clvalue(ra)->c.f == base_next)) {
          PROTECT(tforprep(L, ra));
        }
        pc += GET_sBx(i);
        break;
      }
      case OP_TFORCALL: {
        TValue *ra = RA();
        int c = GET_C(i), j;
        if (ttislightuserdata(ra)) { /* builtin traversal: R[A] = position, R[A+1] = table */
          int pos;
          if (!ttistable(ra + 1)) {
            SAVEPC();
            vm_runerror(L, "attempt to call a userdata value");
            goto vmerror;
          }
          /* key and value straight into their registers; a value not wanted goes to R[A+2], unused by this
             traversal, which OP_TFORLOOP (the next instruction) overwrites with the key */
          pos = tab_nextpos(hvalue(ra + 1), (int)(uintptr_t)pvalue(ra), ra + 3, c >= 2 ? ra + 4 : ra + 2);
          if (pos == 0) {
            for (j = 0; j < c; j++) setnilvalue(ra + 3 + j);
          } else {
            setpvalue(ra, (void *)(uintptr_t)pos);
            for (j = 2; j < c; j++) setnilvalue(ra + 3 + j);
          }
          break;
        }
        if (ttisfunction(ra) && clvalue(ra)->c.isC && clvalue(ra)->c.f == base_inext && ttistable(ra + 1) &&
            ttisnumber(ra + 2)) { /* ipairs fast path (raw) */
          double n = nvalue(ra + 2) + 1;
          const TValue *v = tab_getnum(hvalue(ra + 1), n);
          if (ttisnil(v)) {
            for (j = 0; j < c; j++) setnilvalue(ra + 3 + j);
          } else {
            setnvalue(ra + 3, n);
            if (c >= 2) setobj(ra + 4, v);
            for (j = 2; j < c; j++) setnilvalue(ra + 3 + j);
          }
          break;
        }
        setobj(ra + 3, ra);
        setobj(ra + 4, ra + 1);
        setobj(ra + 5, ra + 2);
        L->top = ra + 6;
        SAVEPC();
        if (--g->fuel <= 0 || g->totalbytes >= g->gcthreshold) {
          L->top = L->stack + ci->top;
          status = vm_safepoint(L);
          L->top = base + GET_A(i) + 6;
          if (status != PAL_OK) goto vmerror;
        }
        {
          int nresults = c;
          status = vm_precall(L, base + GET_A(i) + 3, nresults, 1);
          if (status == PCR_LUA) goto newframe;
          if (status == PAL_OK) {
            if (L->ci->flags & CIST_MARKER) vm_finishframes(L, nresults);
            RELOAD();
            L->top = L->stack + ci->top;
            break;
          }
          if (status == PAL_YIELD) return PAL_YIELD;
          goto vmerror;
        }
      }
      case OP_TFORLOOP: {
        TValue *ra = RA();
        if (!ttisnil(ra + 3)) {
          setobj(ra + 2, ra + 3);
          pc += GET_sBx(i);
          SAFEPOINT();
        }
        break;
      }
      case OP_SETLIST: {
        TValue *ra = RA();
        int n = GET_B(i) != 0 ? GET_B(i) - 1 : (int)(L->top - ra - 1);
        int64_t s = (int64_t)*pc++;
        Table *h = hvalue(ra);
        int j;
        SAVEPC();
        for (j = 1; j <= n; j++) {
          int64_t idx = s + j - 1;
          if (idx <= h->sizearray)
            setobj(&h->array[idx - 1], ra + j);
          else if (tab_setint(L, h, idx, ra + j) != PAL_OK)
            goto vmerror;
        }
        if (GET_B(i) == 0) L->top = L->stack + ci->top;
        break;
      }
      case OP_CLOSURE: {
        TValue *ra = RA();
        Proto *np = cl->p->p[GET_Bx(i)];
        LClosure *ncl;
        SAVEPC();
        ncl = closure_instantiate(L, np, cl, base); /* (one call: each call is costly in vm_execute in wasm) */
        if (ncl == NULL) goto vmerror;
        setclvalue(ra, ncl);
        GCCHECK();
        break;
      }
      case OP_CLOSE: {
        TValue *ra = RA();
        if (L->openupval != NULL && L->openupval->v >= ra) upval_close(L, ra);
        break;
      }
      case OP_VARARG: {
        TValue *ra = RA();
        int b = GET_B(i);
        int nvar = (int)ci->extra;
        int j;
        if (b == 0) {
          SAVEPC();
          if (!stack_ensure(L, ra, nvar)) goto vmerror;
          RELOAD();
          ra = base + GET_A(i);
          for (j = 0; j < nvar; j++) setobj(ra + j, base - nvar + j);
          L->top = ra + nvar;
        } else {
          for (j = 0; j < b - 1; j++) {
            if (j < nvar)
              setobj(ra + j, base - nvar + j);
            else
              setnilvalue(ra + j);
          }
        }
        break;
      }
      default:
        SAVEPC();
        opcodeerror(L, (int)GET_OP(i));
        goto vmerror;
    }
  }

vmerror:
  status = vm_handleerror(L, entry);
  if (status != PAL_OK) return status;
  if (ci_index(L, L->ci) < entry) return PAL_OK;
  goto newframe;
}
