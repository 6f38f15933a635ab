/*
 * fakepal.c - a deliberately tiny stand-in for the subset of pal.h that valcodec.c and its tests use, so the codec
 * can be unit-tested and fuzzed (ASan/UBSan/libFuzzer) before the real interpreter links. Objects are leaked into
 * an arena freed by pal_close. Semantics follow pal.h's comments (pending errors, raw access, pal_next order =
 * insertion order). Link the real interpreter sources instead as soon as it builds (make VALCODEC_FAKE=0).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"

typedef struct Obj Obj;
typedef struct {
  int tt;
  union {
    int b;
    double n;
    void *p;
    Obj *o;
  } u;
} V;
typedef struct {
  V k, v;
} Ent;
struct Obj {
  Obj *next;
  int tt;
  size_t len;      /* string/buffer bytes */
  char *data;      /* string/buffer */
  Ent *ents;       /* table */
  size_t n, cap;   /* table entries (deleted entries keep their slot with v.tt == NIL) */
  Obj *mt;
  int ro;
};

struct pal_State {
  V stack[4096];
  int top;
  Obj *all;
  size_t used, budget;
  int errst;
  V err;
  V registry;
};

static Obj *newobj(pal_State *L, int tt, size_t extra) {
  Obj *o;
  if (L->budget && L->used + sizeof(Obj) + extra > L->budget) return NULL;
  o = calloc(1, sizeof *o);
  if (!o) return NULL;
  L->used += sizeof(Obj) + extra;
  o->tt = tt;
  o->next = L->all;
  L->all = o;
  return o;
}

static void seterr(pal_State *L, int st, const char *msg) {
  Obj *o;
  if (L->errst) return;
  L->errst = st;
  o = newobj(L, PAL_TSTRING, 0);
  L->err.tt = PAL_TNIL;
  if (o) {
    o->len = strlen(msg);
    o->data = malloc(o->len + 1);
    memcpy(o->data, msg, o->len + 1);
    L->err.tt = PAL_TSTRING;
    L->err.u.o = o;
  }
}

pal_State *pal_newstate(size_t budget) {
  pal_State *L = calloc(1, sizeof *L);
  Obj *r;
  if (!L) return NULL;
  L->budget = budget;
  r = newobj(L, PAL_TTABLE, 0);
  L->registry.tt = PAL_TTABLE;
  L->registry.u.o = r;
  return L;
}

void pal_close(pal_State *L) {
  Obj *o = L->all, *nx;
  for (; o; o = nx) {
    nx = o->next;
    free(o->data);
    free(o->ents);
    free(o);
  }
  free(L);
}

static V *at(pal_State *L, int idx) {
  static V none;
  none.tt = PAL_TNONE;
  if (idx == PAL_REGISTRYINDEX) return &L->registry;
  if (idx > 0) return idx <= L->top ? &L->stack[idx - 1] : &none;
  if (idx < 0 && -idx <= L->top) return &L->stack[L->top + idx];
  return &none;
}

static void push(pal_State *L, V v) {
  if (L->top >= 4096) abort();
  L->stack[L->top++] = v;
}

int pal_gettop(pal_State *L) { return L->top; }
void pal_settop(pal_State *L, int idx) {
  int nt = idx >= 0 ? idx : L->top + idx + 1;
  while (L->top < nt) L->stack[L->top++].tt = PAL_TNIL;
  L->top = nt;
}
int pal_absindex(pal_State *L, int idx) { return (idx > 0 || idx <= PAL_REGISTRYINDEX) ? idx : L->top + idx + 1; }
void pal_pushvalue(pal_State *L, int idx) { push(L, *at(L, idx)); }
void pal_insert(pal_State *L, int idx) {
  int i = pal_absindex(L, idx) - 1;
  V v = L->stack[L->top - 1];
  memmove(&L->stack[i + 1], &L->stack[i], (size_t)(L->top - 1 - i) * sizeof(V));
  L->stack[i] = v;
}
void pal_replace(pal_State *L, int idx) {
  *at(L, idx) = L->stack[L->top - 1];
  L->top--;
}
int pal_checkstack(pal_State *L, int extra) {
  if (L->top + extra > 4000) {
    seterr(L, PAL_ERRRUN, "stack overflow");
    return 0;
  }
  return 1;
}
int pal_type(pal_State *L, int idx) { return at(L, idx)->tt; }
const char *pal_typename(pal_State *L, int tag) {
  static const char *const n[] = {"nil", "boolean", "userdata", "number", "vector", "string",
                                  "table", "function", "userdata", "thread", "buffer", "integer"};
  (void)L;
  return tag < 0 || tag >= PAL_NUMTYPES ? "no value" : n[tag];
}
const char *pal_typeof(pal_State *L, int idx) { return pal_typename(L, pal_type(L, idx)); }
int pal_toboolean(pal_State *L, int idx) {
  V *v = at(L, idx);
  return !(v->tt == PAL_TNIL || v->tt == PAL_TNONE || (v->tt == PAL_TBOOLEAN && !v->u.b));
}
double pal_tonumberx(pal_State *L, int idx, int *isnum) {
  V *v = at(L, idx);
  if (isnum) *isnum = v->tt == PAL_TNUMBER;
  return v->tt == PAL_TNUMBER ? v->u.n : 0;
}
const char *pal_tolstring(pal_State *L, int idx, size_t *len) {
  V *v = at(L, idx);
  if (v->tt != PAL_TSTRING) return NULL;
  if (len) *len = v->u.o->len;
  return v->u.o->data;
}
uint8_t *pal_tobuffer(pal_State *L, int idx, size_t *len) {
  V *v = at(L, idx);
  if (v->tt != PAL_TBUFFER) return NULL;
  if (len) *len = v->u.o->len;
  return (uint8_t *)v->u.o->data;
}
void *pal_touserdata(pal_State *L, int idx) {
  V *v = at(L, idx);
  return v->tt == PAL_TLIGHTUSERDATA ? v->u.p : NULL;
}
const void *pal_topointer(pal_State *L, int idx) {
  V *v = at(L, idx);
  return v->tt >= PAL_TSTRING ? (const void *)v->u.o : NULL;
}
static int veq(const V *a, const V *b) {
  if (a->tt != b->tt) return 0;
  switch (a->tt) {
    case PAL_TNIL: return 1;
    case PAL_TBOOLEAN: return a->u.b == b->u.b;
    case PAL_TNUMBER: return a->u.n == b->u.n;
    case PAL_TLIGHTUSERDATA: return a->u.p == b->u.p;
    case PAL_TSTRING: return a->u.o->len == b->u.o->len && !memcmp(a->u.o->data, b->u.o->data, a->u.o->len);
    default: return a->u.o == b->u.o;
  }
}
int pal_rawequal(pal_State *L, int a, int b) { return veq(at(L, a), at(L, b)); }

void pal_pushnil(pal_State *L) { V v; v.tt = PAL_TNIL; push(L, v); }
void pal_pushnumber(pal_State *L, double n) { V v; v.tt = PAL_TNUMBER; v.u.n = n; push(L, v); }
void pal_pushboolean(pal_State *L, int b) { V v; v.tt = PAL_TBOOLEAN; v.u.b = !!b; push(L, v); }
void pal_pushlightuserdata(pal_State *L, void *p) { V v; v.tt = PAL_TLIGHTUSERDATA; v.u.p = p; push(L, v); }
static void pushobj(pal_State *L, Obj *o) {
  V v;
  if (!o) {
    pal_memerror(L);
    pal_pushnil(L);
    return;
  }
  v.tt = o->tt;
  v.u.o = o;
  push(L, v);
}
void pal_pushlstring(pal_State *L, const char *s, size_t len) {
  Obj *o = newobj(L, PAL_TSTRING, len);
  if (o) {
    o->data = malloc(len + 1);
    if (len) memcpy(o->data, s, len);
    o->data[len] = 0;
    o->len = len;
  }
  pushobj(L, o);
}
void pal_pushstring(pal_State *L, const char *s) {
  if (!s) pal_pushnil(L);
  else pal_pushlstring(L, s, strlen(s));
}
void pal_pushcclosure(pal_State *L, pal_CFunction f, const char *name, int nup) {
  (void)f, (void)name, (void)nup;
  pushobj(L, newobj(L, PAL_TFUNCTION, 0));
}
pal_State *pal_newthread(pal_State *L) {
  pushobj(L, newobj(L, PAL_TTHREAD, 0));
  return L;
}
uint8_t *pal_newbuffer(pal_State *L, size_t size) {
  Obj *o = newobj(L, PAL_TBUFFER, size);
  if (o) {
    o->data = calloc(1, size ? size : 1);
    o->len = size;
  }
  pushobj(L, o);
  return o ? (uint8_t *)o->data : NULL;
}
void pal_createtable(pal_State *L, int narr, int nrec) {
  Obj *o = newobj(L, PAL_TTABLE, (size_t)(narr + nrec) * sizeof(Ent));
  pushobj(L, o);
}

static Ent *tfind(Obj *t, const V *k) {
  size_t i;
  for (i = 0; i < t->n; i++)
    if (veq(&t->ents[i].k, k)) return &t->ents[i];
  return NULL;
}
static void tset(pal_State *L, Obj *t, V k, V v) {
  Ent *e;
  if (k.tt == PAL_TNIL || (k.tt == PAL_TNUMBER && k.u.n != k.u.n)) {
    seterr(L, PAL_ERRRUN, "table index is nil or NaN");
    return;
  }
  if (k.tt == PAL_TNUMBER && k.u.n == 0) k.u.n = 0; /* -0 -> 0 */
  e = tfind(t, &k);
  if (e) {
    e->v = v;
    return;
  }
  if (v.tt == PAL_TNIL) return;
  if (t->n == t->cap) {
    if (L->budget && L->used + 16 * sizeof(Ent) > L->budget) {
      pal_memerror(L);
      return;
    }
    t->cap = t->cap ? t->cap * 2 : 4;
    L->used += t->cap / 2 * sizeof(Ent);
    t->ents = realloc(t->ents, t->cap * sizeof(Ent));
  }
  t->ents[t->n].k = k;
  t->ents[t->n].v = v;
  t->n++;
}
static int tget(pal_State *L, Obj *t, V k) {
  Ent *e = tfind(t, &k);
  if (e && e->v.tt != PAL_TNIL) push(L, e->v);
  else pal_pushnil(L);
  return L->stack[L->top - 1].tt;
}
int pal_rawget(pal_State *L, int idx) {
  Obj *t = at(L, idx)->u.o;
  V k = L->stack[--L->top];
  return tget(L, t, k);
}
int pal_rawgeti(pal_State *L, int idx, int64_t n) {
  V k;
  k.tt = PAL_TNUMBER;
  k.u.n = (double)n;
  return tget(L, at(L, idx)->u.o, k);
}
int pal_rawgetfield(pal_State *L, int idx, const char *k) {
  Obj *t = at(L, idx)->u.o;
  pal_pushstring(L, k);
  return tget(L, t, L->stack[--L->top]);
}
void pal_rawset(pal_State *L, int idx) {
  Obj *t = at(L, idx)->u.o;
  V v = L->stack[L->top - 1], k = L->stack[L->top - 2];
  L->top -= 2;
  tset(L, t, k, v);
}
void pal_rawseti(pal_State *L, int idx, int64_t n) {
  Obj *t = at(L, idx)->u.o;
  V k;
  k.tt = PAL_TNUMBER;
  k.u.n = (double)n;
  tset(L, t, k, L->stack[--L->top]);
}
void pal_rawsetfield(pal_State *L, int idx, const char *key) {
  Obj *t = at(L, idx)->u.o;
  V v;
  pal_pushstring(L, key);
  v = L->stack[L->top - 2];
  tset(L, t, L->stack[L->top - 1], v);
  L->top -= 2;
}
int pal_next(pal_State *L, int idx) {
  Obj *t = at(L, idx)->u.o;
  V k = L->stack[--L->top];
  size_t i = 0;
  if (k.tt != PAL_TNIL) {
    Ent *e = tfind(t, &k);
    if (!e) {
      seterr(L, PAL_ERRRUN, "invalid key to 'next'");
      return 0;
    }
    i = (size_t)(e - t->ents) + 1;
  }
  for (; i < t->n; i++)
    if (t->ents[i].v.tt != PAL_TNIL) {
      push(L, t->ents[i].k);
      push(L, t->ents[i].v);
      return 1;
    }
  return 0;
}
int pal_getmetatable(pal_State *L, int idx) {
  V *v = at(L, idx), m;
  if (v->tt != PAL_TTABLE || !v->u.o->mt) return 0;
  m.tt = PAL_TTABLE;
  m.u.o = v->u.o->mt;
  push(L, m);
  return 1;
}
int pal_setmetatable(pal_State *L, int idx) {
  V *v = at(L, idx), m = L->stack[--L->top];
  if (v->tt == PAL_TTABLE) v->u.o->mt = m.tt == PAL_TTABLE ? m.u.o : NULL;
  return 1;
}
void pal_setreadonly(pal_State *L, int idx, int enabled) {
  V *v = at(L, idx);
  if (v->tt == PAL_TTABLE) v->u.o->ro = enabled;
}

int pal_errorf(pal_State *L, const char *fmt, ...) {
  char buf[1024], *o = buf;
  const char *f;
  va_list ap;
  va_start(ap, fmt);
  for (f = fmt; *f && o < buf + sizeof buf - 64; f++) {
    if (*f != '%') {
      *o++ = *f;
      continue;
    }
    switch (*++f) {
      case 's': o += snprintf(o, 512, "%s", va_arg(ap, const char *)); break;
      case 'd': o += sprintf(o, "%d", va_arg(ap, int)); break;
      case 'c': *o++ = (char)va_arg(ap, int); break;
      case 'f': o += sprintf(o, "%.14g", va_arg(ap, double)); break;
      case 'p': o += sprintf(o, "%p", va_arg(ap, void *)); break;
      default: *o++ = '%';
    }
  }
  *o = 0;
  va_end(ap);
  seterr(L, PAL_ERRRUN, buf);
  return PAL_ERRSIG;
}
int pal_memerror(pal_State *L) {
  seterr(L, PAL_ERRMEM, "not enough memory");
  return PAL_ERRSIG;
}
int pal_errpending(pal_State *L) { return L->errst; }
void pal_pusherror(pal_State *L) { push(L, L->err); }
void pal_clearerror(pal_State *L) {
  L->errst = 0;
  L->err.tt = PAL_TNIL;
}
int pal_chargefuel(pal_State *L, int64_t units) {
  (void)L, (void)units;
  return 0;
}
