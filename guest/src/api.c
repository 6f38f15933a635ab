/*
 * api.c - the public C API (pal.h) on top of the object layer: state creation, stack manipulation, access,
 * push functions, tables, metatables, environments, userdata/buffers, errors, GC and memory control.
 * The operations that run Lua code (pal_call, pal_arith, ...) live in the execution layer (call.c / vm.c).
 *
 * Indices: a C function's frame is [stack + ci->base, top). Invalid indices read as "none" (never crash).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "digits.h"
#include "memops.h"

static const char *const typenames[PAL_NUMTYPES] = {
    "nil", "boolean", "userdata", "number", "vector", "string",
    "table", "function", "userdata", "thread", "buffer", "integer",
};

/* ================= pending errors ================= */

void vm_seterror(pal_State *L, int status, const TValue *errval) {
  if (L->errstatus != PAL_OK || status == PAL_OK) return; /* first error wins */
  L->errstatus = status;
  if (errval != NULL)
    setobj(&L->errval, errval);
  else if (status == PAL_ERRMEM && G(L)->memerrmsg != NULL)
    setsvalue(&L->errval, G(L)->memerrmsg);
  else
    setnilvalue(&L->errval);
}

static void seterrmsg(pal_State *L, int status, const char *msg) {
  TString *s = str_newz(L, msg);
  if (s != NULL) {
    TValue v;
    setsvalue(&v, s);
    vm_seterror(L, status, &v);
  }
}

/* ================= index resolution ================= */

#define frame_base(L) ((L)->stack + (L)->ci->base)

Table *api_curenv(pal_State *L) {
  if (L->ci != NULL && L->stack != NULL) {
    TValue *f = L->stack + L->ci->func;
    if (ttisfunction(f) && clvalue(f)->c.env != NULL) return clvalue(f)->c.env;
  }
  return L->gt;
}

/* Slot for idx, or NULL when the index is not valid. PAL_GLOBALSINDEX is materialised in *scratch. */
static TValue *index2pseudo(pal_State *L, int idx, TValue *scratch);

/* (stack indices inline: library functions resolve indices all the time) */
static inline TValue *index2value(pal_State *L, int idx, TValue *scratch) {
  TValue *base = frame_base(L);
  if (idx > 0) {
    if ((ptrdiff_t)idx > L->top - base) return NULL;
    return base + (idx - 1);
  }
  if (idx > PAL_REGISTRYINDEX) {
    if (idx == 0 || (ptrdiff_t)(-idx) > L->top - base) return NULL;
    return L->top + idx;
  }
  return index2pseudo(L, idx, scratch);
}

static TValue *index2pseudo(pal_State *L, int idx, TValue *scratch) {
  if (idx == PAL_REGISTRYINDEX) return &G(L)->registry;
  if (idx == PAL_GLOBALSINDEX) {
    Table *env = api_curenv(L);
    if (env == NULL) return NULL;
    sethvalue(scratch, env);
    return scratch;
  } else {
    int n = PAL_GLOBALSINDEX - idx; /* upvalue number, 1-based */
    TValue *f = L->stack + L->ci->func;
    if (!ttisfunction(f) || !cl_isC(clvalue(f)) || n > clvalue(f)->c.nupvalues) return NULL;
    return &clvalue(f)->c.upvalue[n - 1];
  }
}

#define getvalue(L, idx) index2value(L, idx, &scratch_)
#define USE_SCRATCH TValue scratch_

/* Store v at idx (stack slot or pseudo-index). */
static void setindex(pal_State *L, int idx, const TValue *v) {
  USE_SCRATCH;
  TValue *o;
  if (idx == PAL_GLOBALSINDEX) {
    if (ttistable(v)) {
      TValue *f = L->stack + L->ci->func;
      if (ttisfunction(f)) {
        gc_unseal(&clvalue(f)->c);
        clvalue(f)->c.env = hvalue(v);
      } else
        L->gt = hvalue(v);
    }
    return;
  }
  o = getvalue(L, idx);
  if (o != NULL) setobj(o, v);
}

static int room(pal_State *L, int n) {
  if (L->stack + L->stacksize - L->top >= n) return 1;
  return stack_grow(L, n);
}

static void pushobj(pal_State *L, const TValue *v) {
  TValue tmp = *v; /* v may live on the stack, which room() may move */
  if (!room(L, 1)) return;
  setobj(L->top, &tmp);
  L->top++;
}

/* push a new string; on failure the pending error is set and the (fixed, always interned) "" is pushed */
static TString *pushstr(pal_State *L, const char *s, size_t len) {
  TString *ts = str_new(L, s, len);
  TValue v;
  if (ts == NULL) ts = str_new(L, "", 0);
  if (ts == NULL) {
    setnilvalue(&v);
  } else {
    setsvalue(&v, ts);
  }
  pushobj(L, &v);
  return ts;
}

static inline Table *totable(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return (o != NULL && ttistable(o)) ? hvalue(o) : NULL;
}

/* ================= state ================= */

static const char *const tmnames[TM_N] = {
    "__index", "__newindex", "__mode", "__len", "__eq", "__call", "__iter", "__concat",
    "__add", "__sub", "__mul", "__div", "__idiv", "__mod", "__pow", "__unm",
    "__lt", "__le", "__tostring", "__metatable", "__type", "__namecall",
};

static TString *fixedstring(pal_State *L, const char *s) {
  TString *ts = str_newz(L, s);
  if (ts != NULL) setfixed(ts);
  return ts;
}

pal_State *pal_newstate(size_t budget) {
  global_State *g;
  pal_State *L;
  Table *t;
  if (budget != 0 && budget < sizeof(global_State) + sizeof(pal_State)) return NULL;
  g = (global_State *)malloc(sizeof(global_State));
  L = (pal_State *)malloc(sizeof(pal_State));
  if (g == NULL || L == NULL) {
    free(g);
    free(L);
    return NULL;
  }
  memset(g, 0, sizeof *g);
  thread_preinit_main(L, g);
  L->gcnext = NULL;
  L->tt = PAL_TTHREAD;
  L->marked = WHITEBIT | FIXEDBIT;
  g->totalbytes = sizeof(global_State) + sizeof(pal_State);
  g->budget = budget;
  g->gcthreshold = (size_t)-1; /* no collection before initialisation is complete */
  g->currentwhite = WHITEBIT;
  g->mainthread = L;
  setnilvalue(&g->registry);
  g->seed = (uint32_t)(((uintptr_t)g >> 3) ^ ((uintptr_t)L << 7)) ^ 0x2545f491u;
  str_init(L);
  if (L->errstatus != PAL_OK) goto fail;
  g->memerrmsg = fixedstring(L, "not enough memory");
  fixedstring(L, ""); /* never freed: pushes fall back to it on failure without allocating */
  for (int i = 0; i < TM_N; i++) g->tmname[i] = fixedstring(L, tmnames[i]);
  for (int i = 0; i < PAL_NUMTYPES; i++) g->typestr[i] = fixedstring(L, typenames[i]);
  t = tab_new(L, 0, 0);
  if (t != NULL) sethvalue(&g->registry, t);
  g->builtins = tab_new(L, 0, 0);
  L->gt = g->builtins;
  if (L->errstatus != PAL_OK) goto fail;
  if (!stack_init(L, L) || L->errstatus != PAL_OK) goto fail;
  gc_setthreshold(g);
  return L;
fail:
  pal_close(L);
  return NULL;
}

void pal_close(pal_State *L) {
  global_State *g;
  if (L == NULL) return;
  g = G(L);
  L = g->mainthread;
  gc_freeall(L);
  stack_free(L, L);
  mem_releasepool(g);
  free(L);
  free(g);
}

size_t pal_memused(pal_State *L) {
  return G(L)->totalbytes;
}

uint32_t pal_memrefusals(pal_State *L) {
  return G(L)->memrefusals;
}

void pal_setbudget(pal_State *L, size_t budget) {
  global_State *g = G(L);
  g->budget = budget;
  if (budget != 0) {
    size_t live = g->totalbytes;
    size_t cap = budget > live ? live + (budget - live) / 2 : live;
    if (cap < g->gcthreshold) g->gcthreshold = cap; /* collect at the next safe point if already past it */
  }
}

pal_State *pal_mainthread(pal_State *L) {
  return G(L)->mainthread;
}

/* ================= basic stack manipulation ================= */

int pal_gettop(pal_State *L) {
  return (int)(L->top - frame_base(L));
}

void pal_settop(pal_State *L, int idx) {
  TValue *base = frame_base(L);
  if (idx >= 0) {
    if (base + idx > L->top) {
      ptrdiff_t need = (base + idx) - L->top;
      if (!room(L, (int)need)) return;
      base = frame_base(L);
      while (L->top < base + idx) setnilvalue(L->top++);
    }
    L->top = base + idx;
  } else {
    ptrdiff_t n = (ptrdiff_t)(-idx) - 1; /* values to drop */
    if (n > L->top - base) n = L->top - base;
    L->top -= n;
  }
}

int pal_absindex(pal_State *L, int idx) {
  if (idx > 0 || idx <= PAL_REGISTRYINDEX) return idx;
  return (int)(L->top - frame_base(L)) + idx + 1;
}

void pal_pushvalue(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL)
    pal_pushnil(L);
  else
    pushobj(L, o);
}

/* stack slot (not a pseudo-index) or NULL */
static TValue *stackslot(pal_State *L, int idx) {
  USE_SCRATCH;
  if (idx <= PAL_REGISTRYINDEX) return NULL;
  return getvalue(L, idx);
}

void pal_remove(pal_State *L, int idx) {
  TValue *p = stackslot(L, idx);
  if (p == NULL) return;
  for (; p + 1 < L->top; p++) setobj(p, p + 1);
  L->top--;
}

void pal_insert(pal_State *L, int idx) {
  TValue *p = stackslot(L, idx), *q;
  TValue v;
  if (p == NULL) return;
  v = L->top[-1];
  for (q = L->top - 1; q > p; q--) setobj(q, q - 1);
  setobj(p, &v);
}

void pal_replace(pal_State *L, int idx) {
  TValue v;
  if (L->top <= frame_base(L)) return;
  v = L->top[-1];
  setindex(L, idx, &v);
  L->top--;
}

int pal_checkstack(pal_State *L, int extra) {
  ptrdiff_t need;
  if (extra <= 0) return 1;
  if ((L->top - L->stack) + extra > PAL_MAXSTACK) {
    seterrmsg(L, PAL_ERRRUN, "stack overflow");
    return 0;
  }
  if (!room(L, extra)) return 0;
  need = (L->top - L->stack) + extra;
  if (L->ci->top < need) L->ci->top = need;
  return 1;
}

void pal_xmove(pal_State *from, pal_State *to, int n) {
  if (from == to || n <= 0) return;
  if (n > from->top - frame_base(from)) n = (int)(from->top - frame_base(from));
  if (!room(to, n)) return;
  for (int i = 0; i < n; i++) setobj(to->top + i, from->top - n + i);
  from->top -= n;
  to->top += n;
}

/* ================= access ================= */

int pal_type(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return o == NULL ? PAL_TNONE : ttype(o);
}

const char *pal_typename(pal_State *L, int tag) {
  (void)L;
  if (tag == PAL_TNONE) return "no value";
  if (tag < 0 || tag >= PAL_NUMTYPES) return "?";
  return typenames[tag];
}

const char *pal_typeof(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL) return "no value";
  if (ttisuserdata(o) && uvalue(o)->metatable != NULL && G(L)->tmname[TM_TYPE] != NULL) {
    const TValue *tn = tab_getstr(uvalue(o)->metatable, G(L)->tmname[TM_TYPE]);
    if (ttisstring(tn)) return getstr(tsvalue(tn));
  }
  return pal_typename(L, ttype(o));
}

int pal_isnumber(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  double d;
  if (o == NULL) return 0;
  if (ttisnumber(o)) return 1;
  return ttisstring(o) && pal_str2num(getstr(tsvalue(o)), tsvalue(o)->len, &d);
}

int pal_isstring(pal_State *L, int idx) {
  int t = pal_type(L, idx);
  return t == PAL_TSTRING || t == PAL_TNUMBER;
}

int pal_iscfunction(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return o != NULL && ttisfunction(o) && cl_isC(clvalue(o));
}

static int rawequalobj(const TValue *a, const TValue *b) {
  if (ttype(a) != ttype(b)) return 0;
  switch (ttype(a)) {
    case PAL_TNIL: return 1;
    case PAL_TNUMBER: return nvalue(a) == nvalue(b);
    case PAL_TBOOLEAN: return bvalue(a) == bvalue(b);
    case PAL_TLIGHTUSERDATA: return pvalue(a) == pvalue(b);
    default: return gcvalue(a) == gcvalue(b);
  }
}

int pal_rawequal(pal_State *L, int a, int b) {
  TValue s1, s2;
  TValue *o1 = index2value(L, a, &s1), *o2 = index2value(L, b, &s2);
  return o1 != NULL && o2 != NULL && rawequalobj(o1, o2);
}

double pal_tonumberx(pal_State *L, int idx, int *isnum) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  double d = 0;
  int ok = 0;
  if (o != NULL) {
    if (ttisnumber(o)) {
      d = nvalue(o);
      ok = 1;
    } else if (ttisstring(o) && pal_str2num(getstr(tsvalue(o)), tsvalue(o)->len, &d)) {
      ok = 1;
    } else {
      d = 0;
    }
  }
  if (isnum != NULL) *isnum = ok;
  return d;
}

int pal_toboolean(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return o != NULL && !l_isfalse(o);
}

const char *pal_tolstring(pal_State *L, int idx, size_t *len) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o != NULL && ttisnumber(o)) {
    char buf[PAL_NUMBUF];
    int n = pal_num2str(buf, nvalue(o));
    TString *ts = str_new(L, buf, (size_t)n);
    if (ts == NULL) {
      if (len != NULL) *len = 0;
      return NULL;
    }
    setsvalue(o, ts); /* in place (allocation never moves the stack) */
  }
  if (o == NULL || !ttisstring(o)) {
    if (len != NULL) *len = 0;
    return NULL;
  }
  if (len != NULL) *len = tsvalue(o)->len;
  return getstr(tsvalue(o));
}

size_t pal_objlen(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL) return 0;
  switch (ttype(o)) {
    case PAL_TSTRING: return tsvalue(o)->len;
    case PAL_TTABLE: return (size_t)tab_len(hvalue(o));
    case PAL_TBUFFER: return bufvalue(o)->len;
    case PAL_TUSERDATA: return uvalue(o)->len;
    case PAL_TNUMBER: {
      char buf[PAL_NUMBUF];
      return (size_t)pal_num2str(buf, nvalue(o));
    }
    default: return 0;
  }
}

pal_CFunction pal_tocfunction(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL || !ttisfunction(o) || !cl_isC(clvalue(o))) return NULL;
  return clvalue(o)->c.f;
}

void *pal_touserdata(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL) return NULL;
  if (ttisuserdata(o)) return (void *)uvalue(o)->data;
  if (ttislightuserdata(o)) return pvalue(o);
  return NULL;
}

int pal_userdatatag(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return (o != NULL && ttisuserdata(o)) ? uvalue(o)->tag : -1;
}

uint8_t *pal_tobuffer(pal_State *L, int idx, size_t *len) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL || !ttisbuffer(o)) {
    if (len != NULL) *len = 0;
    return NULL;
  }
  if (len != NULL) *len = bufvalue(o)->len;
  return bufvalue(o)->data;
}

pal_State *pal_tothread(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  return (o != NULL && ttisthread(o)) ? thvalue(o) : NULL;
}

const void *pal_topointer(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  if (o == NULL) return NULL;
  if (ttislightuserdata(o)) return pvalue(o);
  if (ttisuserdata(o)) return (const void *)uvalue(o)->data;
  if (iscollectable(o)) return (const void *)gcvalue(o);
  return NULL;
}

/* ================= push ================= */

void pal_pushnil(pal_State *L) {
  TValue v;
  setnilvalue(&v);
  pushobj(L, &v);
}

void pal_pushnumber(pal_State *L, double n) {
  TValue v;
  setnvalue(&v, n);
  pushobj(L, &v);
}

void pal_pushboolean(pal_State *L, int b) {
  TValue v;
  setbvalue(&v, b);
  pushobj(L, &v);
}

void pal_pushlstring(pal_State *L, const char *s, size_t len) {
  if (s == NULL) len = 0;
  pushstr(L, s == NULL ? "" : s, len);
}

void pal_pushstring(pal_State *L, const char *s) {
  if (s == NULL)
    pal_pushnil(L);
  else
    pushstr(L, s, strlen(s));
}

/* growable byte buffer for pal_pushvfstring */
typedef struct FBuf {
  pal_State *L;
  char *p;
  size_t n, cap;
  int failed;
  char local[200];
} FBuf;

static void fb_add(FBuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (n > b->cap - b->n) {
    size_t nc = b->cap * 2;
    char *np;
    while (nc - b->n < n) {
      if (nc > PAL_MAXBUFFER) {
        b->failed = 1;
        vm_seterror(b->L, PAL_ERRMEM, NULL);
        return;
      }
      nc *= 2;
    }
    if (b->p == b->local) {
      np = (char *)mem_alloc(b->L, nc);
      if (np != NULL) memcpy(np, b->local, b->n);
    } else {
      np = (char *)mem_realloc(b->L, b->p, b->cap, nc);
    }
    if (np == NULL) {
      b->failed = 1;
      return;
    }
    b->p = np;
    b->cap = nc;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

const char *pal_pushvfstring(pal_State *L, const char *fmt, va_list ap) {
  FBuf b;
  TString *ts;
  b.L = L;
  b.p = b.local;
  b.n = 0;
  b.cap = sizeof b.local;
  b.failed = 0;
  const char *f = fmt;
  while (*f != '\0') {
    char tmp[PAL_NUMBUF];
    const char *lit = f;
    while (*f != '\0' && *f != '%') f++;
    fb_add(&b, lit, (size_t)(f - lit));
    if (*f == '\0') break;
    f++; /* past '%' */
    switch (*f) {
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (s == NULL) s = "(null)";
        fb_add(&b, s, strlen(s));
        break;
      }
      case 'd': {
        int n = snprintf(tmp, sizeof tmp, "%d", va_arg(ap, int));
        fb_add(&b, tmp, (size_t)n);
        break;
      }
      case 'c': {
        char c = (char)va_arg(ap, int);
        fb_add(&b, &c, 1);
        break;
      }
      case 'f': {
        int n = pal_num2str(tmp, va_arg(ap, double));
        fb_add(&b, tmp, (size_t)n);
        break;
      }
      case 'p': {
        int n = snprintf(tmp, sizeof tmp, "0x%016llx", (unsigned long long)(uintptr_t)va_arg(ap, void *));
        fb_add(&b, tmp, (size_t)n);
        break;
      }
      case '%': fb_add(&b, "%", 1); break;
      case '\0': fb_add(&b, "%", 1); continue; /* lone '%' at the end */
      default: fb_add(&b, f - 1, 2); break;      /* unknown: copied as is */
    }
    f++;
  }
  if (b.failed) {
    ts = pushstr(L, "", 0);
  } else {
    ts = pushstr(L, b.p, b.n);
  }
  if (b.p != b.local) mem_free(L, b.p, b.cap);
  return ts != NULL ? getstr(ts) : "";
}

const char *pal_pushfstring(pal_State *L, const char *fmt, ...) {
  const char *s;
  va_list ap;
  va_start(ap, fmt);
  s = pal_pushvfstring(L, fmt, ap);
  va_end(ap);
  return s;
}

void pal_pushcclosure(pal_State *L, pal_CFunction f, const char *name, int nup) {
  CClosure *cl;
  TValue v;
  if (nup < 0) nup = 0;
  if (nup > L->top - frame_base(L)) nup = (int)(L->top - frame_base(L));
  cl = closure_newC(L, f, name, nup, api_curenv(L));
  L->top -= nup;
  if (cl == NULL) {
    pal_pushnil(L);
    return;
  }
  for (int i = 0; i < nup; i++) setobj(&cl->upvalue[i], L->top + i);
  setclvalue(&v, cl);
  pushobj(L, &v);
}

void pal_pushlightuserdata(pal_State *L, void *p) {
  TValue v;
  setpvalue(&v, p);
  pushobj(L, &v);
}

int pal_pushthread(pal_State *L) {
  TValue v;
  setthvalue(&v, L);
  pushobj(L, &v);
  return L == G(L)->mainthread;
}

/* ================= tables ================= */

void pal_createtable(pal_State *L, int narr, int nrec) {
  Table *t = tab_new(L, narr, nrec);
  TValue v;
  if (t == NULL) {
    pal_pushnil(L);
    return;
  }
  sethvalue(&v, t);
  pushobj(L, &v);
}

static TValue valueat(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  TValue v;
  if (o == NULL)
    setnilvalue(&v);
  else
    v = *o;
  return v;
}

/* t = the table (copy), key at top-1: replaced by the result */
static int gettable_top(pal_State *L, const TValue *t) {
  TValue key, res;
  int st;
  if (L->top <= frame_base(L)) return PAL_TNIL;
  key = L->top[-1];
  setnilvalue(&res);
  st = vm_gettable(L, t, &key, &res);
  if (st != PAL_OK) setnilvalue(&res);
  L->top[-1] = res;
  return ttype(&res);
}

int pal_gettable(pal_State *L, int idx) {
  TValue t = valueat(L, idx);
  return gettable_top(L, &t);
}

int pal_getfield(pal_State *L, int idx, const char *k) {
  TValue t = valueat(L, idx);
  TString *ts = str_newz(L, k);
  TValue kv;
  if (ts == NULL) {
    pal_pushnil(L);
    return PAL_TNIL;
  }
  setsvalue(&kv, ts);
  pushobj(L, &kv);
  return gettable_top(L, &t);
}

/* t[top-2] = top-1; pops both */
static int settable_top(pal_State *L, const TValue *t) {
  TValue key, val;
  int st;
  if (L->top - frame_base(L) < 2) return PAL_OK;
  key = L->top[-2];
  val = L->top[-1];
  st = vm_settable(L, t, &key, &val);
  L->top -= 2;
  return st;
}

int pal_settable(pal_State *L, int idx) {
  TValue t = valueat(L, idx);
  return settable_top(L, &t);
}

int pal_setfield(pal_State *L, int idx, const char *k) {
  TValue t = valueat(L, idx);
  TString *ts = str_newz(L, k);
  TValue kv;
  if (ts == NULL) {
    pal_pop(L, 1);
    return L->errstatus;
  }
  setsvalue(&kv, ts);
  pushobj(L, &kv);        /* ... v k */
  pal_insert(L, -2);      /* ... k v */
  return settable_top(L, &t);
}

int pal_rawget(pal_State *L, int idx) {
  Table *t = totable(L, idx);
  if (L->top <= frame_base(L)) return PAL_TNIL;
  if (t == NULL)
    setnilvalue(L->top - 1);
  else
    setobj(L->top - 1, tab_get(t, L->top - 1));
  return ttype(L->top - 1);
}

int pal_rawgeti(pal_State *L, int idx, int64_t n) {
  Table *t = totable(L, idx);
  if (t == NULL) {
    pal_pushnil(L);
    return PAL_TNIL;
  }
  pushobj(L, tab_getint(t, n));
  return ttype(L->top - 1);
}

int pal_rawlessi(pal_State *L, int idx, int64_t a, int64_t b) {
  Table *t = totable(L, idx);
  const TValue *va, *vb;
  if (t == NULL) return -1;
  va = tab_getint_inl(t, a);
  vb = tab_getint_inl(t, b);
  if (ttisnumber(va) && ttisnumber(vb)) return nvalue(va) < nvalue(vb);
  if (ttisstring(va) && ttisstring(vb)) {
    const TString *sa = tsvalue(va), *sb = tsvalue(vb);
    size_t la = sa->len, lb = sb->len;
    int r = memcmp(getstr(sa), getstr(sb), la < lb ? la : lb);
    if (r == 0) r = la < lb ? -1 : (la > lb ? 1 : 0);
    return r < 0;
  }
  return -1;
}

void pal_rawswapi(pal_State *L, int idx, int64_t a, int64_t b) {
  Table *t = totable(L, idx);
  TValue va, vb;
  if (t == NULL) return;
  va = *tab_getint_inl(t, a);
  vb = *tab_getint_inl(t, b);
  if ((uint64_t)a - 1 < (uint64_t)t->sizearray && (uint64_t)b - 1 < (uint64_t)t->sizearray) {
    t->tmcache = 0; /* as tab_setint */
    t->array[a - 1] = vb;
    t->array[b - 1] = va;
    return;
  }
  tab_setint(L, t, a, &vb);
  tab_setint(L, t, b, &va);
}

/* table.concat's fuel: one unit per item, charged every RAWCONCAT_BATCH items (tablib.c's FUEL_BATCH) */
#define RAWCONCAT_BATCH 256

/* length of item o (a string or a number, which is formatted into nb), or -1 if it is neither */
static inline int64_t rawconcat_piece(const TValue *o, const char **s, char *nb) {
  if (ttisstring(o)) {
    *s = getstr(tsvalue(o));
    return (int64_t)tsvalue(o)->len;
  }
  if (ttisnumber(o)) {
    *s = nb;
    return pal_num2str(nb, nvalue(o));
  }
  return -1;
}

int pal_rawconcat(pal_State *L, int idx, const char *sep, size_t lsep, int64_t i, int64_t j) {
  Table *t = totable(L, idx);
  char nb[PAL_NUMBUF];
  const char *s;
  uint64_t total = 0;
  TString *ts;
  char *p;
  if (t == NULL) return pal_errorf(L, "table expected");
  /* pass 1: check the items and measure. Nothing below runs Lua code or the collector, so the items seen here
     are still there in pass 2. */
  for (int64_t k = i;; k++) {
    int64_t len;
    if (((k - i) & (RAWCONCAT_BATCH - 1)) == RAWCONCAT_BATCH - 1 && pal_chargefuel(L, RAWCONCAT_BATCH))
      return PAL_ERRSIG;
    len = rawconcat_piece(tab_getint_inl(t, k), &s, nb);
    if (len < 0) {
      /* index printed through %s: pal_pushfstring's %d is a C int */
      char ib[24], *b = ib + sizeof ib - 1;
      *b = '\0';
      b = digits_utoa(b, k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k);
      if (k < 0) *--b = '-';
      return pal_errorf(L, "invalid value (%s) at index %s in table for 'concat'",
                        pal_typename(L, ttype(tab_getint_inl(t, k))), b);
    }
    total += (uint64_t)len;
    if (k == j) break;
    total += lsep;
    if (total > ((uint64_t)1 << 30)) return pal_errorf(L, "string length overflow");
  }
  if (total > ((uint64_t)1 << 30)) return pal_errorf(L, "string length overflow");
  if (total / 32 > 0 && pal_chargefuel(L, (int64_t)(total / 32))) return PAL_ERRSIG;
  /* pass 2: copy straight into the result's string object */
  ts = str_newbuf(L, (size_t)total);
  if (ts == NULL) return PAL_ERRSIG;
  p = getstr(ts);
  for (int64_t k = i;; k++) {
    size_t len = (size_t)rawconcat_piece(tab_getint_inl(t, k), &s, nb);
    mem_copy(p, s, len);
    p += len;
    if (k == j) break;
    mem_copy(p, sep, lsep);
    p += lsep;
  }
  ts = str_intern(L, ts);
  if (ts == NULL) return PAL_ERRSIG;
  {
    TValue v;
    setsvalue(&v, ts);
    pushobj(L, &v);
  }
  return 1;
}

int pal_rawgetfield(pal_State *L, int idx, const char *k) {
  Table *t = totable(L, idx);
  TString *ts;
  if (t == NULL) {
    pal_pushnil(L);
    return PAL_TNIL;
  }
  ts = str_newz(L, k);
  if (ts == NULL) {
    pal_pushnil(L);
    return PAL_TNIL;
  }
  pushobj(L, tab_getstr(t, ts));
  return ttype(L->top - 1);
}

void pal_rawset(pal_State *L, int idx) {
  Table *t = totable(L, idx);
  if (L->top - frame_base(L) < 2) return;
  if (t != NULL) tab_set(L, t, L->top - 2, L->top - 1);
  L->top -= 2;
}

void pal_rawseti(pal_State *L, int idx, int64_t n) {
  Table *t = totable(L, idx);
  if (L->top <= frame_base(L)) return;
  if (t != NULL) tab_setint(L, t, n, L->top - 1);
  L->top--;
}

void pal_rawsetfield(pal_State *L, int idx, const char *k) {
  Table *t = totable(L, idx);
  if (L->top <= frame_base(L)) return;
  if (t != NULL) {
    TString *ts = str_newz(L, k);
    if (ts != NULL) tab_setstr(L, t, ts, L->top - 1);
  }
  L->top--;
}

int pal_next(pal_State *L, int idx) {
  Table *t = totable(L, idx);
  TValue key, val;
  if (L->top <= frame_base(L)) return 0;
  if (t == NULL) {
    L->top--;
    return 0;
  }
  key = L->top[-1];
  if (tab_next(L, t, &key, &val) > 0) {
    L->top[-1] = key;
    pushobj(L, &val);
    return 1;
  }
  L->top--;
  return 0;
}

int pal_getmetatable(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  Table *mt;
  TValue v;
  if (o == NULL) return 0;
  mt = obj_getmetatable(L, o);
  if (mt == NULL) return 0;
  sethvalue(&v, mt);
  pushobj(L, &v);
  return 1;
}

int pal_setmetatable(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  Table *mt;
  if (L->top <= frame_base(L)) return 0;
  mt = ttistable(L->top - 1) ? hvalue(L->top - 1) : NULL;
  if (o != NULL) {
    switch (ttype(o)) {
      case PAL_TTABLE:
        tab_changed(G(L), hvalue(o));
        hvalue(o)->metatable = mt;
        break;
      case PAL_TUSERDATA: uvalue(o)->metatable = mt; break;
      default:
        if (ttype(o) >= 0 && ttype(o) < PAL_NUMTYPES) G(L)->mt[ttype(o)] = mt;
        break;
    }
  }
  L->top--;
  return 1;
}

int pal_getreadonly(pal_State *L, int idx) {
  Table *t = totable(L, idx);
  return t != NULL && t->readonly;
}

void pal_setreadonly(pal_State *L, int idx, int enabled) {
  Table *t = totable(L, idx);
  if (t == NULL) return;
  tab_changed(G(L), t); /* unfrozen, it can be written without going through table.c, and a cached global
                           lookup may rely on its metatable being read-only */
  t->readonly = enabled != 0;
}

int pal_getfenv(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  Table *env = NULL;
  TValue v;
  if (o != NULL) {
    if (ttisfunction(o))
      env = clvalue(o)->c.env;
    else if (ttisthread(o))
      env = thvalue(o)->gt;
  }
  if (env == NULL) {
    pal_pushnil(L);
    return 0;
  }
  sethvalue(&v, env);
  pushobj(L, &v);
  return 1;
}

int pal_setfenv(pal_State *L, int idx) {
  USE_SCRATCH;
  TValue *o = getvalue(L, idx);
  int res = 0;
  if (L->top <= frame_base(L)) return 0;
  if (o != NULL && ttistable(L->top - 1)) {
    Table *env = hvalue(L->top - 1);
    if (ttisfunction(o)) {
      gc_unseal(&clvalue(o)->c);
      clvalue(o)->c.env = env;
      res = 1;
    } else if (ttisthread(o)) {
      thvalue(o)->gt = env;
      res = 1;
    }
  }
  L->top--;
  return res;
}

/* ================= userdata, buffers ================= */

void *pal_newuserdata(pal_State *L, size_t size, int tag) {
  Udata *u = udata_new(L, size, tag);
  TValue v;
  if (u == NULL) {
    pal_pushnil(L);
    return NULL;
  }
  setuvalue(&v, u);
  pushobj(L, &v);
  return (void *)u->data;
}

uint8_t *pal_newbuffer(pal_State *L, size_t size) {
  Buffer *b = buffer_new(L, size);
  TValue v;
  if (b == NULL) {
    pal_pushnil(L);
    return NULL;
  }
  setbufvalue(&v, b);
  pushobj(L, &v);
  return b->data;
}

/* ================= errors ================= */

int pal_error(pal_State *L) {
  TValue v;
  if (L->top > frame_base(L)) {
    v = L->top[-1];
    L->top--;
  } else {
    setnilvalue(&v);
  }
  vm_seterror(L, PAL_ERRRUN, &v);
  return PAL_ERRSIG;
}

int pal_errorstatus(pal_State *L, int status, const char *msg) {
  if (status == PAL_OK) status = PAL_ERRRUN;
  if (status == PAL_ERRMEM && msg == NULL)
    vm_seterror(L, PAL_ERRMEM, NULL);
  else
    seterrmsg(L, status, msg != NULL ? msg : "");
  return PAL_ERRSIG;
}

int pal_memerror(pal_State *L) {
  vm_seterror(L, PAL_ERRMEM, NULL);
  return PAL_ERRSIG;
}

int pal_errpending(pal_State *L) {
  return L->errstatus;
}

void pal_pusherror(pal_State *L) {
  if (L->errstatus == PAL_OK)
    pal_pushnil(L);
  else
    pushobj(L, &L->errval);
}

void pal_clearerror(pal_State *L) {
  L->errstatus = PAL_OK;
  setnilvalue(&L->errval);
}

/* ================= GC, registration ================= */

void pal_gc(pal_State *L) {
  gc_fullcollect(L);
}

size_t pal_gccount(pal_State *L) {
  return G(L)->totalbytes;
}

void pal_register(pal_State *L, const char *libname, const pal_Reg *l) {
  int n = 0;
  for (const pal_Reg *r = l; r->name != NULL; r++) n++;
  if (libname != NULL) pal_createtable(L, 0, n);
  for (; l->name != NULL; l++) {
    pal_pushcfunction(L, l->func, l->name);
    pal_rawsetfield(L, -2, l->name);
  }
  if (libname != NULL) {
    pal_pushvalue(L, -1);
    pal_rawsetfield(L, PAL_GLOBALSINDEX, libname);
  }
}
