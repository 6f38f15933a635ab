/*
 * obj_test.c - unit tests of the object layer (mem, string, table, func, gc, number, api).
 *
 * Build against the object layer only:
 *   cc -std=c11 -Wall -Wextra -g -O1 -fsanitize=address,undefined -Iguest/src guest/tests/obj_test.c \
 *      guest/src/{mem,string,table,func,gc,number,api}.c -lm -o /tmp/obj/obj_test
 * The execution-layer functions the object layer calls (stack_init, stack_free, stack_grow, vm_gettable,
 * vm_settable) are provided below as weak stubs, so the test also links when the real call.c/vm.c are added
 * (define OBJ_TEST_NO_STUBS to leave them out entirely).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "object.h"
#include "pal.h"

/* ================= execution-layer stubs ================= */
#ifndef OBJ_TEST_NO_STUBS
#define STUB __attribute__((weak))
#define STUB_STACK 4096
#define STUB_CI 8

STUB int stack_init(pal_State *L, pal_State *th) {
  th->stack = mem_newvector(L, STUB_STACK, TValue);
  if (th->stack == NULL) return 0;
  th->stacksize = STUB_STACK;
  for (int i = 0; i < STUB_STACK; i++) setnilvalue(&th->stack[i]);
  th->base_ci = mem_newvector(L, STUB_CI, CallInfo);
  if (th->base_ci == NULL) {
    mem_freevector(L, th->stack, STUB_STACK, TValue);
    th->stack = NULL;
    th->stacksize = 0;
    return 0;
  }
  th->size_ci = STUB_CI;
  memset(th->base_ci, 0, sizeof(CallInfo) * STUB_CI);
  th->ci = th->base_ci;
  th->ci->func = 0;
  th->ci->base = 1;
  th->ci->top = 1 + PAL_MINSTACK;
  th->top = th->stack + 1;
  return 1;
}

STUB void stack_free(pal_State *L, pal_State *th) {
  if (th->stack != NULL) mem_freevector(L, th->stack, th->stacksize, TValue);
  if (th->base_ci != NULL) mem_freevector(L, th->base_ci, th->size_ci, CallInfo);
  th->stack = NULL;
  th->base_ci = NULL;
  th->stacksize = th->size_ci = 0;
}

STUB int stack_grow(pal_State *L, int n) {
  if (L->stack + L->stacksize - L->top >= n) return 1;
  vm_seterror(L, PAL_ERRRUN, NULL);
  return 0;
}

STUB int vm_gettable(pal_State *L, const TValue *t, const TValue *key, TValue *res) {
  if (!ttistable(t)) {
    vm_seterror(L, PAL_ERRRUN, NULL);
    return PAL_ERRRUN;
  }
  *res = *tab_get(hvalue(t), key);
  return PAL_OK;
}

STUB int vm_settable(pal_State *L, const TValue *t, const TValue *key, const TValue *val) {
  if (!ttistable(t)) {
    vm_seterror(L, PAL_ERRRUN, NULL);
    return PAL_ERRRUN;
  }
  return tab_set(L, hvalue(t), key, val);
}
#endif

/* ================= tiny harness ================= */
static int failures = 0, checks = 0;
#define CHECK(c)                                                     \
  do {                                                               \
    checks++;                                                        \
    if (!(c)) {                                                      \
      failures++;                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); \
    }                                                                \
  } while (0)
#define CHECKSTR(got, want)                                                               \
  do {                                                                                    \
    const char *g_ = (got), *w_ = (want);                                                 \
    checks++;                                                                             \
    if (g_ == NULL || strcmp(g_, w_) != 0) {                                              \
      failures++;                                                                         \
      fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, g_ ? g_ : "(null)", w_); \
    }                                                                                     \
  } while (0)

static const char *errmsg(pal_State *L) {
  return ttisstring(&L->errval) ? getstr(tsvalue(&L->errval)) : "(not a string)";
}

/* The collector conservatively marks a frame's stack up to ci->top; tests that expect an object to die clear the
   stale slots above top first (as a C function's frame would never read them). */
static void cleanstack(pal_State *L) {
  for (TValue *o = L->top; o < L->stack + L->stacksize; o++) setnilvalue(o);
}

static void collect(pal_State *L) {
  cleanstack(L);
  gc_fullcollect(L);
}

static TValue num(double n) {
  TValue v;
  setnvalue(&v, n);
  return v;
}

/* ================= numbers ================= */
static const char *n2s(double n) {
  static char buf[PAL_NUMBUF];
  pal_num2str(buf, n);
  return buf;
}

static void test_num2str(void) {
  CHECKSTR(n2s(1.0 / 3), "0.3333333333333333");
  CHECKSTR(n2s(0.1 + 0.2), "0.30000000000000004");
  CHECKSTR(n2s(1e20), "100000000000000000000");
  CHECKSTR(n2s(1e21), "1e+21");
  CHECKSTR(n2s(pow(2, 63)), "9223372036854776000");
  CHECKSTR(n2s(pow(2, 70)), "1.1805916207174113e+21");
  CHECKSTR(n2s(1.5e-6), "0.0000015");
  CHECKSTR(n2s(1e-7), "1e-07");
  CHECKSTR(n2s(1e100), "1e+100");
  CHECKSTR(n2s(5e-324), "5e-324");
  CHECKSTR(n2s(-0.0), "-0");
  CHECKSTR(n2s(0.0), "0");
  CHECKSTR(n2s(NAN), "nan");
  CHECKSTR(n2s(-NAN), "nan");
  CHECKSTR(n2s(INFINITY), "inf");
  CHECKSTR(n2s(-INFINITY), "-inf");
  CHECKSTR(n2s(1), "1");
  CHECKSTR(n2s(-1), "-1");
  CHECKSTR(n2s(42), "42");
  CHECKSTR(n2s(3.5), "3.5");
  CHECKSTR(n2s(-3.25), "-3.25");
  CHECKSTR(n2s(0.1), "0.1");
  CHECKSTR(n2s(100), "100");
  CHECKSTR(n2s(1e15), "1000000000000000");
  CHECKSTR(n2s(9007199254740991.0), "9007199254740991");
  CHECKSTR(n2s(9007199254740992.0), "9007199254740992");
  CHECKSTR(n2s(1e16), "10000000000000000");
  CHECKSTR(n2s(123456789012345680000.0), "123456789012345680000");
  CHECKSTR(n2s(0.00001), "0.00001");
  CHECKSTR(n2s(0.000001), "0.000001");
  CHECKSTR(n2s(1.2345e-7), "1.2345e-07");
  CHECKSTR(n2s(1.7976931348623157e308), "1.7976931348623157e+308");
  CHECKSTR(n2s(2.5e-308), "2.5e-308");
  CHECKSTR(n2s(-1.5e300), "-1.5e+300");
  CHECKSTR(n2s(12345.678), "12345.678");
  /* round trip of many values */
  {
    double x = 1.0;
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
      char buf[PAL_NUMBUF];
      double y;
      x = x * 1.37 + 0.001 * i;
      if (x > 1e300) x = 1e-300 * i;
      pal_num2str(buf, x);
      if (!pal_str2num(buf, strlen(buf), &y) || y != x) bad++;
      pal_num2str(buf, -x / 7);
      if (!pal_str2num(buf, strlen(buf), &y) || y != -x / 7) bad++;
    }
    CHECK(bad == 0);
  }
}

static int s2n(const char *s, double *out) {
  return pal_str2num(s, strlen(s), out);
}

static void test_str2num(void) {
  double d = -1;
  CHECK(s2n("10", &d) && d == 10);
  CHECK(s2n("  10  ", &d) && d == 10);
  CHECK(s2n("\t\n 0x10 \r\n", &d) && d == 16);
  CHECK(s2n("0X1F", &d) && d == 31);
  CHECK(s2n("0x1p4", &d) && d == 16);
  CHECK(s2n("0x1.8", &d) && d == 1.5);
  CHECK(s2n("-0x10", &d) && d == -16);
  CHECK(s2n("1e500", &d) && isinf(d) && d > 0);
  CHECK(s2n("1e-500", &d) && d == 0);
  CHECK(s2n("1.5e3", &d) && d == 1500);
  CHECK(s2n("1E+2", &d) && d == 100);
  CHECK(s2n(".5", &d) && d == 0.5);
  CHECK(s2n("5.", &d) && d == 5);
  CHECK(s2n("-.5", &d) && d == -0.5);
  CHECK(s2n("+3", &d) && d == 3);
  CHECK(s2n("inf", &d) && isinf(d) && d > 0);
  CHECK(s2n("-Infinity", &d) && isinf(d) && d < 0);
  CHECK(s2n("INF", &d) && isinf(d));
  CHECK(s2n("nan", &d) && d != d);
  CHECK(s2n("NaN", &d) && d != d);
  CHECK(s2n("0.1", &d) && d == 0.1);
  CHECK(s2n("000123", &d) && d == 123);
  CHECK(!s2n("", &d));
  CHECK(!s2n("   ", &d));
  CHECK(!s2n("0x", &d));
  CHECK(!s2n("0b1", &d));
  CHECK(!s2n("1_000", &d));
  CHECK(!s2n("1 2", &d));
  CHECK(!s2n("12a", &d));
  CHECK(!s2n("1e", &d));
  CHECK(!s2n("1e+", &d));
  CHECK(!s2n(".", &d));
  CHECK(!s2n("-", &d));
  CHECK(!s2n("0x1p", &d));
  CHECK(!s2n("0x.p1", &d));
  CHECK(!s2n("infinit", &d));
  CHECK(!s2n("nan(1)", &d));
  CHECK(!s2n("abc", &d));
  CHECK(!s2n("--1", &d));
  CHECK(!pal_str2num("1\0", 2, &d)); /* embedded NUL */
  CHECK(pal_str2num("12345", 3, &d) && d == 123); /* not NUL-terminated at len */
  {
    char big[600];
    memset(big, '0', sizeof big);
    big[sizeof big - 2] = '7';
    big[sizeof big - 1] = '\0';
    CHECK(s2n(big, &d) && d == 7);
  }
}

/* ================= strings ================= */
static void test_strings(void) {
  pal_State *L = pal_newstate(0);
  global_State *g;
  TString *a, *b, *c;
  size_t before;
  CHECK(L != NULL);
  g = G(L);
  a = str_newz(L, "hello");
  b = str_new(L, "hello world", 5);
  c = str_newz(L, "hellO");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a->len == 5 && getstr(a)[5] == '\0');
  {
    TString *z1 = str_new(L, "a\0b", 3), *z2 = str_new(L, "a\0c", 3);
    CHECK(z1 != z2 && z1->len == 3 && memcmp(getstr(z1), "a\0b", 3) == 0);
  }
  /* long strings that differ only in an unsampled byte are still distinct */
  {
    char s1[1000], s2[1000];
    memset(s1, 'x', sizeof s1);
    memcpy(s2, s1, sizeof s2);
    s2[501] = 'y';
    CHECK(str_new(L, s1, sizeof s1) != str_new(L, s2, sizeof s2));
    CHECK(str_new(L, s1, sizeof s1) == str_new(L, s1, sizeof s1));
  }
  /* table growth */
  before = g->strt_size;
  for (int i = 0; i < 5000; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "s%d", i);
    CHECK(str_newz(L, buf) != NULL);
  }
  CHECK(g->strt_size > before);
  CHECK(g->strt_nuse <= g->strt_size);
  for (int i = 0; i < 5000; i += 777) {
    char buf[32];
    TString *s;
    snprintf(buf, sizeof buf, "s%d", i);
    s = str_newz(L, buf);
    CHECK(s->len == strlen(buf) && strcmp(getstr(s), buf) == 0);
  }
  /* unreferenced strings are collected, fixed ones are not */
  before = pal_memused(L);
  gc_fullcollect(L);
  CHECK(pal_memused(L) < before);
  CHECK(g->strt_nuse < 100);
  CHECK(str_newz(L, "__index") == g->tmname[TM_INDEX]);
  CHECK(str_newz(L, "not enough memory") == g->memerrmsg);
  /* reserved words (marked by the lexer) survive collections */
  {
    TString *w = str_newz(L, "while");
    w->reserved = 3;
    gc_fullcollect(L);
    CHECK(str_newz(L, "while") == w && w->reserved == 3);
  }
  pal_close(L);
}

/* ================= tables ================= */
static Table *newtab(pal_State *L, int na, int nh) {
  Table *t = tab_new(L, na, nh);
  TValue v;
  sethvalue(&v, t);
  /* keep it alive: push on the stack */
  pal_checkstack(L, 1);
  *L->top++ = v;
  return t;
}

static void setii(pal_State *L, Table *t, double k, double v) {
  TValue key = num(k), val = num(v);
  CHECK(tab_set(L, t, &key, &val) == PAL_OK);
}

static void setinil(pal_State *L, Table *t, double k) {
  TValue key = num(k), val;
  setnilvalue(&val);
  CHECK(tab_set(L, t, &key, &val) == PAL_OK);
}

static void test_tables(void) {
  pal_State *L = pal_newstate(0);
  TValue key, val, nil;
  Table *t;
  setnilvalue(&nil);

  /* array growth by appending */
  t = newtab(L, 0, 0);
  for (int i = 1; i <= 1000; i++) setii(L, t, i, i * 2);
  CHECK(tab_len(t) == 1000);
  CHECK(t->sizearray >= 1000 && t->sizearray <= 2048);
  for (int i = 1; i <= 1000; i++) CHECK(nvalue(tab_getint(t, i)) == i * 2);
  CHECK(ttisnil(tab_getint(t, 0)) && ttisnil(tab_getint(t, 1001)));
  CHECK(nvalue(tab_getnum(t, 3.0)) == 6);
  CHECK(ttisnil(tab_getnum(t, 3.5)));

  /* reverse fill still ends up with an array part */
  t = newtab(L, 0, 0);
  for (int i = 64; i >= 1; i--) setii(L, t, i, i);
  CHECK(tab_len(t) == 64);
  for (int i = 1; i <= 64; i++) CHECK(nvalue(tab_getint(t, i)) == i);

  /* hash part with string keys */
  t = newtab(L, 0, 0);
  for (int i = 0; i < 2000; i++) {
    char buf[32];
    TValue v = num(i);
    snprintf(buf, sizeof buf, "key%d", i);
    CHECK(tab_setstr(L, t, str_newz(L, buf), &v) == PAL_OK);
  }
  for (int i = 0; i < 2000; i++) {
    char buf[32];
    const TValue *v;
    snprintf(buf, sizeof buf, "key%d", i);
    v = tab_getstr(t, str_newz(L, buf));
    CHECK(ttisnumber(v) && nvalue(v) == i);
  }
  CHECK(tab_len(t) == 0);
  CHECK(t->sizearray == 0);

  /* mixed keys: booleans, light userdata, tables, floats */
  t = newtab(L, 0, 0);
  {
    TValue kb, kp, kt, kf;
    Table *other = newtab(L, 0, 0);
    setbvalue(&kb, 1);
    setpvalue(&kp, (void *)&key);
    sethvalue(&kt, other);
    kf = num(2.5);
    val = num(1);
    CHECK(tab_set(L, t, &kb, &val) == 0);
    val = num(2);
    CHECK(tab_set(L, t, &kp, &val) == 0);
    val = num(3);
    CHECK(tab_set(L, t, &kt, &val) == 0);
    val = num(4);
    CHECK(tab_set(L, t, &kf, &val) == 0);
    CHECK(nvalue(tab_get(t, &kb)) == 1);
    CHECK(nvalue(tab_get(t, &kp)) == 2);
    CHECK(nvalue(tab_get(t, &kt)) == 3);
    CHECK(nvalue(tab_get(t, &kf)) == 4);
    setbvalue(&kb, 0);
    CHECK(ttisnil(tab_get(t, &kb)));
    /* big integers are hash keys, 1.0 == 1 */
    setii(L, t, 9007199254740992.0, 5);
    CHECK(nvalue(tab_getint(t, (int64_t)9007199254740992LL)) == 5);
    setii(L, t, 1.0, 6);
    CHECK(nvalue(tab_getint(t, 1)) == 6);
    setii(L, t, -3, 7);
    CHECK(nvalue(tab_getnum(t, -3)) == 7);
  }

  /* -0 and 0 are the same key, stored as 0 */
  t = newtab(L, 0, 0);
  setii(L, t, -0.0, 11);
  CHECK(nvalue(tab_getnum(t, 0.0)) == 11);
  CHECK(nvalue(tab_getnum(t, -0.0)) == 11);
  setnilvalue(&key);
  CHECK(tab_next(L, t, &key, &val) == 1);
  CHECK(ttisnumber(&key) && nvalue(&key) == 0 && !signbit(nvalue(&key)));

  /* nil and NaN keys */
  t = newtab(L, 0, 0);
  val = num(1);
  CHECK(tab_set(L, t, &nil, &val) != PAL_OK);
  CHECK(L->errstatus == PAL_ERRRUN);
  CHECKSTR(errmsg(L), "table index is nil");
  pal_clearerror(L);
  key = num(NAN);
  CHECK(tab_set(L, t, &key, &val) != PAL_OK);
  CHECKSTR(errmsg(L), "table index is NaN");
  pal_clearerror(L);
  CHECK(ttisnil(tab_get(t, &key)));
  CHECK(ttisnil(tab_get(t, &nil)));
  CHECK(tab_setint(L, t, 5, &val) == PAL_OK);
  CHECK(L->errstatus == PAL_OK);

  /* borders as required by the spec */
  t = newtab(L, 4, 0); /* {1, 2, nil, 4} */
  setii(L, t, 1, 1);
  setii(L, t, 2, 2);
  setinil(L, t, 3);
  setii(L, t, 4, 4);
  CHECK(t->sizearray == 4);
  CHECK(tab_len(t) == 4);
  t = newtab(L, 3, 0); /* {nil, nil, 3} */
  setinil(L, t, 1);
  setinil(L, t, 2);
  setii(L, t, 3, 3);
  CHECK(tab_len(t) == 3);
  t = newtab(L, 2, 0); /* {1, nil} */
  setii(L, t, 1, 1);
  setinil(L, t, 2);
  CHECK(tab_len(t) == 1);
  t = newtab(L, 0, 0); /* {} then 1, 2, 4 */
  setii(L, t, 1, 1);
  setii(L, t, 2, 2);
  setii(L, t, 4, 4);
  CHECK(tab_len(t) == 4);
  t = newtab(L, 5, 0); /* {1,2,3,4,5}, clear 5 then 2 */
  for (int i = 1; i <= 5; i++) setii(L, t, i, i);
  setinil(L, t, 5);
  setinil(L, t, 2);
  CHECK(tab_len(t) == 4);
  t = newtab(L, 0, 0);
  CHECK(tab_len(t) == 0);
  t = newtab(L, 0, 4); /* only hash part */
  for (int i = 1; i <= 3; i++) setii(L, t, i, i);
  {
    int64_t n = tab_len(t);
    CHECK(n == 3);
  }
  /* pop pattern stays correct */
  t = newtab(L, 0, 0);
  for (int i = 1; i <= 300; i++) setii(L, t, i, i);
  for (int i = 300; i >= 1; i--) {
    CHECK(tab_len(t) == i);
    setinil(L, t, i);
  }
  CHECK(tab_len(t) == 0);

  /* next traversal with deletions of every visited key (array + hash) */
  t = newtab(L, 0, 0);
  for (int i = 1; i <= 50; i++) setii(L, t, i, i);
  for (int i = 0; i < 200; i++) {
    char buf[16];
    TValue v = num(i);
    snprintf(buf, sizeof buf, "k%d", i);
    tab_setstr(L, t, str_newz(L, buf), &v);
  }
  for (int i = 0; i < 30; i++) setii(L, t, 1000.5 + i, i);
  {
    int count = 0, ret;
    setnilvalue(&key);
    while ((ret = tab_next(L, t, &key, &val)) == 1) {
      count++;
      CHECK(tab_set(L, t, &key, &nil) == PAL_OK); /* delete during traversal */
      if (count > 1000) break;
    }
    CHECK(ret == 0);
    CHECK(count == 280);
    setnilvalue(&key);
    CHECK(tab_next(L, t, &key, &val) == 0);
  }
  /* assignment to existing keys during traversal */
  t = newtab(L, 0, 0);
  for (int i = 0; i < 100; i++) setii(L, t, i * 3 + 0.5, i);
  {
    int count = 0;
    setnilvalue(&key);
    while (tab_next(L, t, &key, &val) == 1) {
      TValue nv = num(nvalue(&val) + 1000);
      count++;
      CHECK(tab_set(L, t, &key, &nv) == 0);
    }
    CHECK(count == 100);
    CHECK(nvalue(tab_getnum(t, 0.5)) == 1000);
  }
  /* invalid key */
  key = num(123456.5);
  CHECK(tab_next(L, t, &key, &val) == -1);
  CHECKSTR(errmsg(L), "invalid key to 'next'");
  pal_clearerror(L);

  /* tab_nextpos visits everything once */
  {
    int idx = 0, count = 0;
    while ((idx = tab_nextpos(t, idx, &key, &val)) > 0) count++;
    CHECK(count == 100);
  }

  /* tab_clear keeps capacity */
  {
    int sa = t->sizearray, sn = tab_sizenode(t);
    tab_clear(t);
    CHECK(t->sizearray == sa && tab_sizenode(t) == sn);
    setnilvalue(&key);
    CHECK(tab_next(L, t, &key, &val) == 0);
    for (int i = 0; i < 100; i++) setii(L, t, i * 3 + 0.5, i);
    CHECK(tab_sizenode(t) == sn);
    CHECK(nvalue(tab_getnum(t, 3.5)) == 1);
  }

  /* many inserts/deletes keep the table bounded */
  t = newtab(L, 0, 0);
  for (int i = 0; i < 100000; i++) {
    setii(L, t, i + 0.5, i);
    if (i >= 10) setinil(L, t, i - 10 + 0.5);
  }
  CHECK(tab_sizenode(t) <= 64);

  /* tab_resize shrinking the array moves items to the hash part */
  t = newtab(L, 0, 0);
  for (int i = 1; i <= 100; i++) setii(L, t, i, i);
  CHECK(tab_resize(L, t, 10, 0) == PAL_OK);
  CHECK(t->sizearray == 10);
  for (int i = 1; i <= 100; i++) CHECK(nvalue(tab_getint(t, i)) == i);
  CHECK(tab_resize(L, t, 200, 0) == PAL_OK);
  for (int i = 1; i <= 100; i++) CHECK(nvalue(tab_getint(t, i)) == i);
  CHECK(tab_len(t) == 100);

  /* metamethod cache */
  {
    Table *obj = newtab(L, 0, 0), *mt = newtab(L, 0, 0);
    TValue o, f;
    obj->metatable = mt;
    sethvalue(&o, obj);
    CHECK(tab_gettm(L, mt, TM_INDEX) == NULL);
    CHECK(mt->tmcache & (1u << TM_INDEX));
    CHECK(obj_gettm(L, &o, TM_INDEX) == NULL);
    sethvalue(&f, obj);
    tab_setstr(L, mt, G(L)->tmname[TM_INDEX], &f);
    CHECK(mt->tmcache == 0);
    CHECK(obj_gettm(L, &o, TM_INDEX) != NULL);
    CHECK(obj_gettm(L, &o, TM_ADD) == NULL);
    CHECK(obj_getmetatable(L, &o) == mt);
    val = num(1);
    CHECK(obj_getmetatable(L, &val) == NULL);
    G(L)->mt[PAL_TNUMBER] = mt;
    CHECK(obj_getmetatable(L, &val) == mt);
    G(L)->mt[PAL_TNUMBER] = NULL;
  }
  pal_close(L);
}

/* ================= memory budget ================= */
static void test_budget(void) {
  pal_State *L = pal_newstate(200 * 1024);
  int i, failed = 0;
  size_t initial;
  CHECK(L != NULL);
  initial = pal_memused(L);
  CHECK(pal_newstate(64) == NULL);
  pal_newtable(L);
  pal_replace(L, PAL_REGISTRYINDEX); /* registry = fresh table (we own it here) */
  for (i = 1; i <= 100000; i++) {
    pal_createtable(L, 16, 0);
    pal_rawseti(L, PAL_REGISTRYINDEX, i);
    if (pal_errpending(L)) {
      failed = 1;
      break;
    }
  }
  CHECK(failed);
  CHECK(pal_errpending(L) == PAL_ERRMEM);
  CHECKSTR(errmsg(L), "not enough memory");
  CHECK(pal_memused(L) <= 200 * 1024);
  pal_pusherror(L);
  CHECKSTR(pal_tostring(L, -1), "not enough memory");
  pal_pop(L, 1);
  pal_clearerror(L);
  /* first error wins (the budget is lifted meanwhile: the heap is full, and pushing "first" itself allocates) */
  pal_setbudget(L, 0);
  pal_pushstring(L, "first");
  pal_error(L);
  pal_memerror(L);
  CHECKSTR(errmsg(L), "first");
  pal_clearerror(L);
  pal_setbudget(L, 200 * 1024);
  /* big allocations are refused, pushes leave a harmless value */
  CHECK(pal_newbuffer(L, 1 << 20) == NULL);
  CHECK(pal_errpending(L) == PAL_ERRMEM);
  CHECK(pal_type(L, -1) == PAL_TNIL);
  pal_pop(L, 1);
  pal_clearerror(L);
  {
    char *big = malloc(300 * 1024);
    memset(big, 'a', 300 * 1024);
    pal_pushlstring(L, big, 300 * 1024);
    CHECK(pal_errpending(L) == PAL_ERRMEM);
    CHECK(pal_type(L, -1) == PAL_TSTRING);
    CHECKSTR(pal_tostring(L, -1), "");
    pal_pop(L, 1);
    pal_clearerror(L);
    free(big);
  }
  /* dropping the references and collecting frees the memory */
  {
    CHECK(pal_memused(L) > initial + 100 * 1024);
    pal_newtable(L);
    pal_replace(L, PAL_REGISTRYINDEX);
    collect(L);
    CHECK(pal_memused(L) < initial + 1024);
    CHECK(G(L)->gcthreshold < 200 * 1024);
    CHECK(G(L)->gcthreshold >= pal_memused(L) + 16 * 1024);
  }
  pal_setbudget(L, 0);
  CHECK(pal_newbuffer(L, 1 << 20) != NULL);
  pal_pop(L, 1);
  pal_close(L);
}

/* ================= GC ================= */
static void test_gc(void) {
  pal_State *L = pal_newstate(0);
  size_t base, peak;
  collect(L);
  base = pal_memused(L);

  /* cycles of unreachable tables */
  for (int i = 0; i < 500; i++) {
    pal_newtable(L);
    pal_newtable(L);
    pal_pushvalue(L, -2);
    pal_rawsetfield(L, -2, "other"); /* b.other = a */
    pal_pushvalue(L, -1);
    pal_rawsetfield(L, -3, "other"); /* a.other = b */
    pal_pushvalue(L, -2);
    pal_setmetatable(L, -2);         /* setmetatable(b, a) */
    pal_pop(L, 2);
  }
  peak = pal_memused(L);
  CHECK(peak > base + 500 * sizeof(Table));
  collect(L);
  CHECK(pal_memused(L) == base);

  /* rooted objects survive, including through upvalues, userdata metatables, functions' envs */
  pal_newtable(L);
  pal_pushstring(L, "payload");
  pal_rawsetfield(L, -2, "s");
  pal_pushvalue(L, -1);
  pal_rawsetfield(L, PAL_REGISTRYINDEX, "keep"); /* registry.keep = T */
  pal_pop(L, 1);
  {
    void *ud = pal_newuserdata(L, 100, 7);
    CHECK(ud != NULL);
    pal_newtable(L);
    pal_pushstring(L, "MyType");
    pal_rawsetfield(L, -2, "__type");
    pal_setmetatable(L, -2);
    CHECKSTR(pal_typeof(L, -1), "MyType");
    CHECK(pal_userdatatag(L, -1) == 7);
    pal_rawsetfield(L, PAL_REGISTRYINDEX, "ud");
  }
  {
    pal_newbuffer(L, 10);
    pal_pushcclosure(L, NULL, "f", 1); /* closure with the buffer as upvalue */
    pal_rawsetfield(L, PAL_REGISTRYINDEX, "fn");
  }
  collect(L);
  pal_rawgetfield(L, PAL_REGISTRYINDEX, "keep");
  CHECK(pal_type(L, -1) == PAL_TTABLE);
  pal_rawgetfield(L, -1, "s");
  CHECKSTR(pal_tostring(L, -1), "payload");
  pal_pop(L, 2);
  pal_rawgetfield(L, PAL_REGISTRYINDEX, "ud");
  CHECKSTR(pal_typeof(L, -1), "MyType");
  pal_pop(L, 1);
  pal_rawgetfield(L, PAL_REGISTRYINDEX, "fn");
  CHECK(pal_type(L, -1) == PAL_TFUNCTION);
  CHECK(ttisbuffer(&clvalue(L->top - 1)->c.upvalue[0]));
  CHECK(bufvalue(&clvalue(L->top - 1)->c.upvalue[0])->len == 10);
  pal_pop(L, 1);

  /* weak tables */
  {
    size_t w0;
    pal_newtable(L); /* weak-valued: t[i] = {} / "str" */
    pal_newtable(L);
    pal_pushstring(L, "v");
    pal_rawsetfield(L, -2, "__mode");
    pal_setmetatable(L, -2);
    for (int i = 1; i <= 20; i++) {
      if (i % 2)
        pal_newtable(L);
      else
        pal_pushfstring(L, "str%d", i);
      pal_rawseti(L, -2, i);
    }
    pal_newtable(L); /* a rooted value */
    pal_pushvalue(L, -1);
    pal_rawsetfield(L, -3, "rooted");
    pal_rawsetfield(L, PAL_REGISTRYINDEX, "r1");
    pal_rawsetfield(L, PAL_REGISTRYINDEX, "weakv");

    pal_newtable(L); /* weak-keyed: t[{}] = true, t["s"] = {} */
    pal_newtable(L);
    pal_pushstring(L, "k");
    pal_rawsetfield(L, -2, "__mode");
    pal_setmetatable(L, -2);
    for (int i = 0; i < 20; i++) {
      pal_newtable(L);
      pal_pushboolean(L, 1);
      pal_rawset(L, -3);
    }
    pal_newtable(L);
    pal_rawsetfield(L, -2, "strongval"); /* string key: never cleared, value kept */
    pal_rawsetfield(L, PAL_REGISTRYINDEX, "weakk");
    w0 = pal_memused(L);
    collect(L);
    CHECK(pal_memused(L) < w0);

    pal_rawgetfield(L, PAL_REGISTRYINDEX, "weakv");
    for (int i = 1; i <= 20; i++) {
      int t = pal_rawgeti(L, -1, i);
      CHECK(t == ((i % 2) ? PAL_TNIL : PAL_TSTRING));
      pal_pop(L, 1);
    }
    CHECK(pal_rawgetfield(L, -1, "rooted") == PAL_TTABLE);
    pal_pop(L, 2);

    pal_rawgetfield(L, PAL_REGISTRYINDEX, "weakk");
    {
      int n = 0;
      pal_pushnil(L);
      while (pal_next(L, -2)) {
        n++;
        CHECK(pal_type(L, -2) == PAL_TSTRING);
        pal_pop(L, 1);
      }
      CHECK(n == 1);
    }
    CHECK(pal_rawgetfield(L, -1, "strongval") == PAL_TTABLE);
    pal_pop(L, 2);
  }

  /* upvalues: open on a thread's stack, closed when the thread dies, value preserved */
  {
    Proto *p = proto_new(L);
    LClosure *cl;
    pal_State *th;
    TValue v;
    UpVal *uv, *uv2, *uv3;
    setgcvalue(&v, p, T_PROTO);
    p->nups = 1;
    cl = closure_newL(L, p, L->gt);
    setclvalue(&v, cl);
    pal_checkstack(L, 2);
    *L->top++ = v; /* keep the closure on L's stack */
    th = thread_new(L);
    CHECK(th != NULL && th->gt == L->gt);
    setthvalue(&v, th);
    *L->top++ = v;
    /* a table at th's stack slot 1, captured */
    sethvalue(th->top, tab_new(L, 0, 0));
    th->top++;
    uv = upval_find(th, th->stack + 1);
    CHECK(uv != NULL && uv->v == th->stack + 1);
    CHECK(upval_find(th, th->stack + 1) == uv);
    uv2 = upval_find(th, th->stack + 3);
    uv3 = upval_find(th, th->stack + 2);
    CHECK(th->openupval == uv2 && uv2->u.next == uv3 && uv3->u.next == uv);
    cl->upvals[0] = uv;
    L->top--; /* drop the thread */
    collect(L);
    CHECK(uv->v == &uv->u.value); /* closed when the thread was freed */
    CHECK(ttistable(uv->v));
    collect(L); /* the table survives through the closed upvalue */
    CHECK(ttistable(uv->v));
    /* upval_close on a live thread */
    th = thread_new(L);
    setthvalue(&v, th);
    *L->top++ = v;
    th->top += 5;
    setnvalue(th->stack + 2, 42);
    uv = upval_find(th, th->stack + 2);
    uv2 = upval_find(th, th->stack + 4);
    upval_close(th, th->stack + 3);
    CHECK(uv2->v == &uv2->u.value && th->openupval == uv);
    upval_close(th, th->stack + 1);
    CHECK(uv->v == &uv->u.value && nvalue(uv->v) == 42 && th->openupval == NULL);
    L->top -= 2;
    collect(L);
  }

  /* a loop creating garbage with safe-point collection keeps memory flat */
  {
    size_t maxmem = 0, start;
    uint32_t strt0;
    collect(L);
    start = pal_memused(L);
    strt0 = G(L)->strt_size;
    for (int i = 0; i < 200000; i++) {
      pal_createtable(L, 4, 4);
      pal_pushfstring(L, "garbage %d", i);
      pal_rawsetfield(L, -2, "x");
      pal_pop(L, 1);
      gc_checkstep(L);
      if (pal_memused(L) > maxmem) maxmem = pal_memused(L);
    }
    CHECK(maxmem < start + 256 * 1024);
    collect(L);
    /* (the string table may have grown; it never shrinks) */
    CHECK(pal_memused(L) == start + (G(L)->strt_size - strt0) * sizeof(TString *));
  }
  pal_close(L);

  /* budget-capped threshold: a long loop under a budget never fails */
  {
    pal_State *B = pal_newstate(512 * 1024);
    int ok = 1;
    for (int i = 0; i < 100000 && ok; i++) {
      pal_createtable(B, 8, 0);
      pal_pop(B, 1);
      gc_checkstep(B);
      if (pal_errpending(B)) ok = 0;
    }
    CHECK(ok);
    pal_close(B);
  }
}

/* ================= API ================= */
static int dummy_cf(pal_State *L) {
  (void)L;
  return 0;
}

static void test_api(void) {
  pal_State *L = pal_newstate(0);
  CHECK(pal_gettop(L) == 0);
  CHECK(pal_type(L, 1) == PAL_TNONE);
  CHECK(pal_type(L, -1) == PAL_TNONE);
  CHECK(pal_type(L, 100000) == PAL_TNONE);
  CHECK(pal_type(L, -100000) == PAL_TNONE);
  CHECK(pal_type(L, pal_upvalueindex(1)) == PAL_TNONE);
  CHECK(pal_type(L, PAL_REGISTRYINDEX) == PAL_TTABLE);
  CHECK(pal_type(L, PAL_GLOBALSINDEX) == PAL_TTABLE);
  CHECK(pal_tostring(L, 5) == NULL);
  CHECK(pal_mainthread(L) == L);

  pal_pushnumber(L, 1);
  pal_pushnumber(L, 2);
  pal_pushnumber(L, 3);
  pal_pushnumber(L, 4);
  CHECK(pal_gettop(L) == 4);
  CHECK(pal_absindex(L, -1) == 4);
  pal_insert(L, 1);   /* 4 1 2 3 */
  CHECK(pal_tonumber(L, 1) == 4 && pal_tonumber(L, 2) == 1);
  pal_remove(L, 2);   /* 4 2 3 */
  CHECK(pal_gettop(L) == 3 && pal_tonumber(L, 2) == 2);
  pal_pushnumber(L, 9);
  pal_replace(L, 1);  /* 9 2 3 */
  CHECK(pal_tonumber(L, 1) == 9 && pal_gettop(L) == 3);
  pal_settop(L, 5);
  CHECK(pal_type(L, 5) == PAL_TNIL && pal_type(L, 4) == PAL_TNIL);
  pal_settop(L, -3); /* drop 2 */
  CHECK(pal_gettop(L) == 3);
  pal_pushvalue(L, 1);
  CHECK(pal_rawequal(L, 1, -1));
  CHECK(!pal_rawequal(L, 1, 2));
  CHECK(!pal_rawequal(L, 1, 50));
  pal_settop(L, 0);
  pal_settop(L, -5); /* clamps */
  CHECK(pal_gettop(L) == 0);

  /* numbers and strings */
  pal_pushnumber(L, 12.5);
  CHECK(pal_isnumber(L, -1) && pal_isstring(L, -1));
  {
    size_t len;
    const char *s = pal_tolstring(L, -1, &len);
    CHECKSTR(s, "12.5");
    CHECK(len == 4);
    CHECK(pal_type(L, -1) == PAL_TSTRING); /* converted in place */
    CHECK(pal_objlen(L, -1) == 4);
  }
  pal_pushstring(L, " 0x10 ");
  {
    int isnum;
    CHECK(pal_tonumberx(L, -1, &isnum) == 16 && isnum);
  }
  pal_pushstring(L, "zz");
  {
    int isnum = 5;
    CHECK(pal_tonumberx(L, -1, &isnum) == 0 && !isnum);
    CHECK(!pal_isnumber(L, -1));
  }
  pal_pushlstring(L, "a\0b", 3);
  CHECK(pal_objlen(L, -1) == 3);
  pal_pushstring(L, NULL);
  CHECK(pal_type(L, -1) == PAL_TNIL);
  CHECK(!pal_toboolean(L, -1));
  pal_pushboolean(L, 0);
  CHECK(!pal_toboolean(L, -1));
  pal_pushboolean(L, 7);
  CHECK(pal_toboolean(L, -1));
  CHECK(!pal_toboolean(L, 1000));
  pal_settop(L, 0);

  /* pushfstring */
  {
    int x;
    char want[64];
    CHECKSTR(pal_pushfstring(L, "a%sb%dc%%%c|%f|%f|%f", "XY", -42, 'z', 1.5, 1e21, 3.0), "aXYb-42c%z|1.5|1e+21|3");
    snprintf(want, sizeof want, "0x%016llx", (unsigned long long)(uintptr_t)&x);
    CHECKSTR(pal_pushfstring(L, "%p", (void *)&x), want);
    CHECKSTR(pal_pushfstring(L, "%s", NULL), "(null)");
    CHECKSTR(pal_pushfstring(L, "end%"), "end%");
    CHECKSTR(pal_pushfstring(L, "%q"), "%q");
    {
      char big[1000];
      const char *r;
      memset(big, 'q', sizeof big - 1);
      big[sizeof big - 1] = '\0';
      r = pal_pushfstring(L, "<%s><%s>", big, big);
      CHECK(strlen(r) == 2 * 999 + 4 && r[0] == '<' && r[1000] == '>');
    }
    pal_settop(L, 0);
  }

  /* tables through the API */
  pal_createtable(L, 0, 0);
  pal_pushnumber(L, 5);
  pal_setfield(L, 1, "x");
  CHECK(pal_getfield(L, 1, "x") == PAL_TNUMBER && pal_tonumber(L, -1) == 5);
  pal_pop(L, 1);
  pal_pushstring(L, "k");
  pal_pushboolean(L, 1);
  CHECK(pal_settable(L, 1) == PAL_OK);
  pal_pushstring(L, "k");
  CHECK(pal_gettable(L, 1) == PAL_TBOOLEAN);
  pal_pop(L, 1);
  pal_pushnumber(L, 7);
  pal_rawseti(L, 1, 1);
  CHECK(pal_rawgeti(L, 1, 1) == PAL_TNUMBER);
  pal_pop(L, 1);
  CHECK(pal_objlen(L, 1) == 1);
  pal_pushnil(L);
  pal_pushnumber(L, 1);
  pal_rawset(L, 1); /* nil key */
  CHECK(pal_errpending(L) == PAL_ERRRUN);
  CHECKSTR(errmsg(L), "table index is nil");
  pal_clearerror(L);
  CHECK(pal_gettop(L) == 1);
  pal_pushstring(L, "nokey");
  CHECK(!pal_next(L, 1));
  CHECK(pal_errpending(L) == PAL_ERRRUN);
  pal_clearerror(L);
  {
    int n = 0;
    pal_pushnil(L);
    while (pal_next(L, 1)) {
      n++;
      pal_pop(L, 1);
    }
    CHECK(n == 3);
    CHECK(pal_gettop(L) == 1);
  }
  /* gettable on a non-table: error pending, nil pushed */
  pal_pushnumber(L, 1);
  pal_pushstring(L, "x");
  CHECK(pal_gettable(L, -2) == PAL_TNIL);
  CHECK(pal_errpending(L) != PAL_OK);
  pal_clearerror(L);
  pal_settop(L, 1);
  /* raw ops on non-tables don't crash */
  pal_pushnumber(L, 1);
  pal_rawseti(L, 99, 1);
  CHECK(pal_rawgeti(L, 99, 1) == PAL_TNIL);
  CHECK(pal_rawgetfield(L, -5, "a") == PAL_TNIL);
  pal_settop(L, 1);

  /* read-only flag, metatables */
  CHECK(!pal_getreadonly(L, 1));
  pal_setreadonly(L, 1, 1);
  CHECK(pal_getreadonly(L, 1));
  CHECK(!pal_getmetatable(L, 1));
  pal_newtable(L);
  pal_setmetatable(L, 1);
  CHECK(pal_getmetatable(L, 1));
  pal_pop(L, 1);
  pal_pushnil(L);
  pal_setmetatable(L, 1);
  CHECK(!pal_getmetatable(L, 1));
  /* string metatable */
  pal_pushstring(L, "s");
  pal_newtable(L);
  pal_setmetatable(L, -2);
  pal_pushstring(L, "other");
  CHECK(pal_getmetatable(L, -1));
  CHECK(G(L)->mt[PAL_TSTRING] != NULL);
  pal_settop(L, 0);

  /* typeof / typename */
  CHECKSTR(pal_typename(L, PAL_TNONE), "no value");
  CHECKSTR(pal_typename(L, PAL_TLIGHTUSERDATA), "userdata");
  CHECKSTR(pal_typename(L, PAL_TBUFFER), "buffer");
  pal_pushlightuserdata(L, (void *)L);
  CHECKSTR(pal_typeof(L, -1), "userdata");
  CHECK(pal_touserdata(L, -1) == (void *)L);
  CHECK(pal_topointer(L, -1) == (void *)L);
  pal_newtable(L);
  pal_newtable(L);
  pal_pushstring(L, "X");
  pal_rawsetfield(L, -2, "__type");
  pal_setmetatable(L, -2);
  CHECKSTR(pal_typeof(L, -1), "table"); /* tables never report __type */
  pal_settop(L, 0);

  /* buffers, userdata */
  {
    size_t len;
    uint8_t *b = pal_newbuffer(L, 16);
    CHECK(b != NULL && b[0] == 0 && b[15] == 0);
    CHECK(pal_tobuffer(L, -1, &len) == b && len == 16);
    CHECK(pal_objlen(L, -1) == 16);
    double *u = pal_newuserdata(L, 24, 3);
    CHECK(u != NULL && u[0] == 0 && u[2] == 0);
    CHECK(pal_touserdata(L, -1) == (void *)u);
    CHECK(pal_objlen(L, -1) == 24);
    CHECKSTR(pal_typeof(L, -1), "userdata");
    pal_settop(L, 0);
  }

  /* closures, upvalue pseudo-indices and environments */
  {
    CallInfo *ci0 = L->ci;
    pal_pushnumber(L, 10);
    pal_pushstring(L, "up2");
    pal_pushcclosure(L, dummy_cf, "dummy", 2);
    CHECK(pal_iscfunction(L, -1) && pal_tocfunction(L, -1) == dummy_cf);
    CHECK(pal_gettop(L) == 1);
    /* simulate a call frame of that closure */
    L->ci = ci0 + 1;
    L->ci->func = (L->top - 1) - L->stack;
    L->ci->base = L->ci->func + 1;
    L->ci->top = L->ci->base + PAL_MINSTACK;
    CHECK(pal_gettop(L) == 0);
    CHECK(pal_tonumber(L, pal_upvalueindex(1)) == 10);
    CHECKSTR(pal_tostring(L, pal_upvalueindex(2)), "up2");
    CHECK(pal_type(L, pal_upvalueindex(3)) == PAL_TNONE);
    pal_pushboolean(L, 1);
    pal_replace(L, pal_upvalueindex(1));
    CHECK(pal_toboolean(L, pal_upvalueindex(1)));
    /* PAL_GLOBALSINDEX = the closure's env */
    pal_pushnumber(L, 77);
    pal_rawsetfield(L, PAL_GLOBALSINDEX, "g");
    pal_newtable(L);
    pal_replace(L, PAL_GLOBALSINDEX); /* new env for the running closure */
    CHECK(pal_rawgetfield(L, PAL_GLOBALSINDEX, "g") == PAL_TNIL);
    pal_pop(L, 1);
    L->ci = ci0;
    CHECK(pal_rawgetfield(L, PAL_GLOBALSINDEX, "g") == PAL_TNUMBER); /* main thread gt */
    pal_pop(L, 1);
    CHECK(pal_getfenv(L, 1) == 1);
    CHECK(!pal_rawequal(L, -1, PAL_GLOBALSINDEX));
    pal_pop(L, 1);
    pal_pushvalue(L, PAL_GLOBALSINDEX);
    CHECK(pal_setfenv(L, 1) == 1);
    CHECK(pal_getfenv(L, 1) == 1);
    CHECK(pal_rawequal(L, -1, PAL_GLOBALSINDEX));
    pal_pop(L, 1);
    pal_pushnumber(L, 1);
    pal_newtable(L);
    CHECK(pal_setfenv(L, -2) == 0);
    CHECK(pal_getfenv(L, -1) == 0);
    pal_settop(L, 0);
  }

  /* pal_register */
  {
    static const pal_Reg funcs[] = {{"a", dummy_cf}, {"b", dummy_cf}, {NULL, NULL}};
    pal_register(L, "mylib", funcs);
    CHECK(pal_gettop(L) == 1 && pal_type(L, 1) == PAL_TTABLE);
    CHECK(pal_rawgetfield(L, 1, "b") == PAL_TFUNCTION);
    pal_pop(L, 1);
    CHECK(pal_rawgetfield(L, PAL_GLOBALSINDEX, "mylib") == PAL_TTABLE);
    CHECK(pal_rawequal(L, -1, 1));
    pal_settop(L, 0);
  }

  /* threads, xmove */
  {
    pal_State *th = thread_new(L);
    TValue v;
    setthvalue(&v, th);
    *L->top++ = v;
    CHECK(pal_tothread(L, -1) == th);
    CHECK(pal_pushthread(L) == 1);
    pal_pushnumber(L, 5);
    pal_pushnumber(L, 6);
    pal_xmove(L, th, 2);
    CHECK(pal_gettop(th) == 2 && pal_tonumber(th, 2) == 6);
    CHECK(pal_pushthread(th) == 0);
    CHECK(pal_gettop(L) == 2);
    pal_settop(L, 0);
    gc_fullcollect(L);
  }

  /* errors */
  CHECK(pal_errorstatus(L, PAL_ERRSYNTAX, "bad") == PAL_ERRSIG);
  CHECK(pal_errpending(L) == PAL_ERRSYNTAX);
  pal_pusherror(L);
  CHECKSTR(pal_tostring(L, -1), "bad");
  pal_clearerror(L);
  pal_pusherror(L);
  CHECK(pal_type(L, -1) == PAL_TNIL);
  CHECK(pal_memerror(L) == PAL_ERRSIG && pal_errpending(L) == PAL_ERRMEM);
  pal_clearerror(L);
  pal_settop(L, 0);

  /* checkstack */
  CHECK(pal_checkstack(L, 100));
  CHECK(!pal_checkstack(L, PAL_MAXSTACK + 10));
  CHECK(pal_errpending(L) == PAL_ERRRUN);
  CHECKSTR(errmsg(L), "stack overflow");
  pal_clearerror(L);

  pal_gc(L);
  CHECK(pal_gccount(L) == pal_memused(L));
  pal_close(L);
}


/* ================= randomized table check against a model ================= */
static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

#define POOL 400
static void test_table_random(void) {
  pal_State *L = pal_newstate(0);
  TValue keys[POOL];
  double model[POOL]; /* 0 = absent */
  Table *t;
  int bad = 0;
  for (int i = 0; i < POOL; i++) {
    if (i < 200)
      keys[i] = num(i + 1); /* 1..200 */
    else if (i < 250)
      keys[i] = num(-(i - 199)); /* negatives */
    else if (i < 300)
      keys[i] = num((i - 250) + 0.25); /* fractional */
    else if (i < 398) {
      char buf[16];
      snprintf(buf, sizeof buf, "s%d", i);
      setsvalue(&keys[i], str_newz(L, buf));
    } else
      setbvalue(&keys[i], i == 398);
    model[i] = 0;
  }
  /* keep the key strings alive */
  pal_createtable(L, 0, 0);
  for (int i = 300; i < 398; i++) {
    pal_checkstack(L, 1);
    setobj(L->top, &keys[i]);
    L->top++;
    pal_rawseti(L, 1, i);
  }
  t = newtab(L, 0, 0);
  for (int step = 0; step < 300000; step++) {
    int k = (int)(rnd() % POOL);
    uint32_t op = rnd() % 10;
    if (k < 200 && (rnd() % 2)) k = (int)(rnd() % 40); /* bias toward a dense prefix */
    if (op < 5) {
      TValue v = num(step + 1);
      if (tab_set(L, t, &keys[k], &v) != PAL_OK) bad++;
      model[k] = step + 1;
    } else if (op < 8) {
      TValue v;
      setnilvalue(&v);
      if (tab_set(L, t, &keys[k], &v) != PAL_OK) bad++;
      model[k] = 0;
    } else {
      const TValue *v = tab_get(t, &keys[k]);
      if (model[k] == 0 ? !ttisnil(v) : !(ttisnumber(v) && nvalue(v) == model[k])) bad++;
    }
    if (step % 5000 == 0) {
      /* full traversal == model; border valid */
      int seen = 0, live = 0, ret;
      TValue key, val;
      int64_t n = tab_len(t);
      for (int i = 0; i < POOL; i++) live += model[i] != 0;
      setnilvalue(&key);
      while ((ret = tab_next(L, t, &key, &val)) == 1) {
        seen++;
        if (ttisnil(&val)) bad++;
      }
      if (ret != 0 || seen != live) bad++;
      if (n < 0 || (n > 0 && ttisnil(tab_getint(t, n))) || !ttisnil(tab_getint(t, n + 1))) bad++;
    }
  }
  for (int i = 0; i < POOL; i++) {
    const TValue *v = tab_get(t, &keys[i]);
    if (model[i] == 0 ? !ttisnil(v) : !(ttisnumber(v) && nvalue(v) == model[i])) bad++;
  }
  CHECK(bad == 0);
  CHECK(L->errstatus == PAL_OK);
  pal_close(L);
}

/* ================= protos, closures, thread stacks ================= */
static void test_gc_functions(void) {
  pal_State *L = pal_newstate(0);
  size_t base;
  collect(L);
  base = pal_memused(L);
  {
    /* an unrooted proto tree with constants is freed exactly */
    Proto *p = proto_new(L), *q = proto_new(L);
    p->code = mem_newvector(L, 10, uint32_t);
    p->lineinfo = mem_newvector(L, 10, int);
    p->sizecode = 10;
    p->k = mem_newvector(L, 3, TValue);
    p->sizek = 3;
    setsvalue(&p->k[0], str_newz(L, "konstant"));
    setnvalue(&p->k[1], 1);
    setnilvalue(&p->k[2]);
    p->p = mem_newvector(L, 1, Proto *);
    p->p[0] = q;
    p->sizep = 1;
    p->upvals = mem_newvector(L, 2, UpvalDesc);
    p->upvalnames = mem_newvector(L, 2, TString *);
    p->upvalnames[0] = str_newz(L, "u0");
    p->upvalnames[1] = NULL;
    p->nups = 2;
    p->source = str_newz(L, "@src");
    p->name = str_newz(L, "fname");
    {
      LClosure *cl = closure_newL(L, p, L->gt);
      TValue v;
      TString *ks;
      cl->upvals[0] = upval_find(L, L->top); /* an open upvalue of the main thread */
      setclvalue(&v, cl);
      pal_checkstack(L, 2);
      *L->top++ = v;
      collect(L);
      ks = str_newz(L, "konstant");
      CHECK(tsvalue(&p->k[0]) == ks);
      CHECK(p->p[0] == q && p->upvalnames[0] == str_newz(L, "u0"));
      upval_close(L, L->stack);
      L->top--;
    }
    collect(L);
    CHECK(pal_memused(L) == base);
  }
  {
    /* values on a suspended thread's stack survive while the thread is reachable */
    pal_State *th = thread_new(L);
    TValue v;
    setthvalue(&v, th);
    *L->top++ = v;
    pal_pushstring(th, "on thread stack");
    pal_newtable(th);
    pal_pushstring(th, "err obj");
    pal_error(th);
    collect(L);
    CHECKSTR(pal_tostring(th, 1), "on thread stack");
    CHECK(pal_type(th, 2) == PAL_TTABLE);
    CHECKSTR(errmsg(th), "err obj");
    L->top--;
    collect(L);
    CHECK(pal_memused(L) == base);
  }
  {
    /* "kv" weak table: all entries with collectable parts vanish, string/number ones stay */
    pal_newtable(L);
    pal_newtable(L);
    pal_pushstring(L, "kv");
    pal_rawsetfield(L, -2, "__mode");
    pal_setmetatable(L, -2);
    pal_newtable(L);
    pal_pushstring(L, "x");
    pal_rawset(L, -3); /* [{}] = "x" */
    pal_pushstring(L, "y");
    pal_newtable(L);
    pal_rawset(L, -3); /* y = {} */
    pal_pushnumber(L, 1);
    pal_rawsetfield(L, -2, "n");
    collect(L);
    {
      int n = 0;
      pal_pushnil(L);
      while (pal_next(L, -2)) {
        n++;
        CHECK(pal_type(L, -1) == PAL_TNUMBER);
        pal_pop(L, 1);
      }
      CHECK(n == 1);
    }
    pal_pop(L, 1);
  }
  pal_close(L);
}

int main(void) {
  test_num2str();
  test_str2num();
  test_strings();
  test_tables();
  test_table_random();
  test_gc_functions();
  test_budget();
  test_gc();
  test_api();
  printf("obj_test: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
