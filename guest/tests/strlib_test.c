/*
 * strlib_test.c - unit tests for the pure helpers of the string library: the pattern matcher (lpattern.c),
 * the string.format engine (strfmt.c) and the pack option parser (strpack.c). No interpreter needed.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -Iguest/src \
 *      guest/tests/strlib_test.c guest/src/lpattern.c guest/src/strfmt.c guest/src/strpack.c -o /tmp/strlib_test
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lpattern.h"
#include "strfmt.h"
#include "strpack.h"

static int failures = 0, checks = 0;

#define CHECK(cond, ...) \
  do { \
    checks++; \
    if (!(cond)) { \
      failures++; \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__); \
      printf("\n"); \
    } \
  } while (0)

/* ---------------------------------------------------------------- pattern helper */

/* Emulates string.find(s, p) (init 1) and renders the result as text:
   "nil", "ERR:<message>", "ABORT" or "<start>,<end>[,cap...]" where position captures print as numbers. */
static int64_t fuel_left;
static int test_fuel(void *ud, int64_t n) {
  (void)ud;
  fuel_left -= n;
  return fuel_left < 0;
}

static char result[4096];

static const char *find_ex(const char *s, size_t ls, const char *p, int64_t fuel) {
  lpat_State ms;
  size_t lp = strlen(p);
  int anchor = lp > 0 && p[0] == '^';
  const char *s1 = s;
  fuel_left = fuel;
  if (anchor) p++, lp--;
  lpat_init(&ms, s, ls, p + lp, test_fuel, NULL);
  for (;;) {
    const char *e;
    lpat_reset(&ms);
    e = lpat_match(&ms, s1, p);
    if (ms.status == LPAT_ERROR) {
      snprintf(result, sizeof result, "ERR:%s", ms.errmsg);
      return result;
    }
    if (ms.status == LPAT_ABORT) return "ABORT";
    if (e != NULL) {
      int n = lpat_nresults(&ms, 0), i;
      size_t off = (size_t)snprintf(result, sizeof result, "%d,%d", (int)(s1 - s + 1), (int)(e - s));
      for (i = 0; i < n; i++) {
        const char *cp;
        size_t cl, pos;
        int k = lpat_capture(&ms, i, s1, e, &cp, &cl, &pos);
        if (k < 0) {
          snprintf(result, sizeof result, "ERR:%s", ms.errmsg);
          return result;
        }
        if (k == 1)
          off += (size_t)snprintf(result + off, sizeof result - off, ",%d", (int)pos);
        else
          off += (size_t)snprintf(result + off, sizeof result - off, ",'%.*s'", (int)cl, cp);
      }
      return result;
    }
    if (anchor || s1 >= s + ls) break;
    s1++;
  }
  return "nil";
}

static const char *find(const char *s, const char *p) { return find_ex(s, strlen(s), p, 1000000000); }

#define FIND(s, p, expect) \
  do { \
    const char *got_ = find(s, p); \
    CHECK(strcmp(got_, expect) == 0, "find(%s, %s) = %s, expected %s", #s, #p, got_, expect); \
  } while (0)

static void test_patterns(void) {
  /* literals and classes */
  FIND("hello world", "o w", "5,7");
  FIND("hello", "l+", "3,4");
  FIND("hello", "xyz", "nil");
  FIND("abc123def", "%d+", "4,6");
  FIND("abc123def", "%D+", "1,3");
  FIND("  x", "%S", "3,3");
  FIND("a.b", "%.", "2,2");
  FIND("a%b", "%%", "2,2");
  FIND("aqb", "%q", "2,2"); /* % before a non-class letter matches it */
  CHECK(strcmp(find_ex("x\0y", 3, "%z", 1000), "2,2") == 0, "%%z");
  FIND("Hello", "%u%l*", "1,5");
  FIND("a,b;c", "%p", "2,2");
  FIND("\tX", "%c", "1,1");
  FIND("zz09af", "%x+", "3,6");
  FIND("ab_c", "%w+", "1,2");
  FIND("ab cd", "%g+", "1,2");
  /* sets */
  FIND("hello", "[aeiou]", "2,2");
  FIND("hello", "[^hel]", "5,5");
  FIND("x]y", "[]]", "2,2");
  FIND("]]a", "[^]]", "3,3");
  FIND("a-b", "[a-]", "1,1");
  FIND("-", "[a-]", "1,1");
  FIND("q5", "[%d]", "2,2");
  FIND("x]", "[%]]", "2,2");
  FIND("bcd", "[a-c]+", "1,2");
  /* repetition */
  FIND("aaab", "a*", "1,3");
  FIND("aaab", "a-b", "1,4");
  FIND("aaab", "a-", "1,0");
  FIND("b", "a?b", "1,1");
  FIND("ab", "a?b", "1,2");
  FIND("", "a*", "1,0");
  FIND("xyz", "", "1,0");
  /* anchors */
  FIND("abc", "^b", "nil");
  FIND("abc", "^a", "1,1");
  FIND("abc", "c$", "3,3");
  FIND("abc", "b$", "nil");
  FIND("a$b", "$b", "2,3");   /* $ not at the end is literal */
  FIND("a^b", "a^", "1,2");   /* ^ not at the start is literal */
  /* captures */
  FIND("key=value", "(%w+)=(%w+)", "1,9,'key','value'");
  FIND("hello", "()ll()", "3,4,3,5");
  FIND("hello", "(h)(e)", "1,2,'h','e'");
  FIND("abcabc", "(abc)%1", "1,6,'abc'");
  FIND("xaax", "(a)%1", "2,3,'a'");
  FIND("abab", "((a)(b))", "1,2,'ab','a','b'");
  /* %b and %f */
  FIND("x(a(b)c)y", "%b()", "2,8");
  FIND("x(a(b", "%b()", "nil");
  FIND("THE (quick) fox", "%f[%a]%a+", "1,3");
  FIND("hello world", "%f[%w]%w+$", "7,11");
  FIND("aaa", "%f[a]", "1,0");
  FIND("aaa", "%f[%z]", "4,3");
  /* errors */
  FIND("a", "%", "ERR:malformed pattern (ends with '%')");
  FIND("a", "[a", "ERR:malformed pattern (missing ']')");
  FIND("a", "[]", "ERR:malformed pattern (missing ']')");
  FIND("a", "[a%", "ERR:malformed pattern (missing ']')");
  FIND("a", "%b(", "ERR:malformed pattern (missing arguments to '%b')");
  FIND("a", "%fx", "ERR:missing '[' after '%f' in pattern");
  FIND("a", "%1", "ERR:invalid capture index %1");
  FIND("a", "%0", "ERR:invalid capture index %0");
  FIND("a", "(a%1)", "ERR:invalid capture index %1");
  FIND("a", "a)", "ERR:invalid pattern capture");
  FIND("a", "(a", "ERR:unfinished capture");
  {
    char pat[200] = "";
    int i;
    for (i = 0; i < 33; i++) strcat(pat, "()");
    FIND("a", pat, "ERR:too many captures");
    pat[64] = '\0'; /* 32 captures is fine */
    {
      const char *got = find("a", pat);
      CHECK(strncmp(got, "1,0,1,1,1", 9) == 0, "32 captures: %s", got);
    }
  }
  /* recursion guard */
  {
    char pat[700] = "";
    char subj[400];
    int i;
    for (i = 0; i < 300; i++) strcat(pat, "a?");
    memset(subj, 'a', 300);
    subj[300] = '\0';
    FIND(subj, pat, "ERR:pattern too complex");
    pat[0] = '\0';
    for (i = 0; i < 150; i++) strcat(pat, "a?");
    subj[150] = '\0';
    FIND(subj, pat, "1,150");
  }
  /* fuel: catastrophic backtracking is stopped */
  {
    char pat[100] = "";
    int i;
    const char *got;
    for (i = 0; i < 30; i++) strcat(pat, "a*");
    strcat(pat, "b");
    got = find_ex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 30, pat, 100000);
    CHECK(strcmp(got, "ABORT") == 0, "backtracking bomb: %s", got);
  }
  /* embedded zeros in subject */
  {
    const char subj[] = "a\0b\0c";
    const char *got = find_ex(subj, 5, "b%z", 1000000);
    CHECK(strcmp(got, "3,4") == 0, "embedded zero: %s", got);
  }
  CHECK(lpat_nospecials("abc)", 4), "nospecials");
  CHECK(!lpat_nospecials("a.c", 3), "specials");
  CHECK(lpat_memfind("hello", 5, "llo", 3) != NULL, "memfind");
  CHECK(lpat_memfind("hello", 5, "lo!", 3) == NULL, "memfind miss");
}

/* ---------------------------------------------------------------- format helper */

typedef struct FArg {
  int kind; /* 'n' number, 's' string, 'x' other (nil) */
  double num;
  const char *s;
  size_t len;
} FArg;

typedef struct FCtx {
  char out[8192];
  size_t len;
  const FArg *args;
  char argerr[128];
} FCtx;

static int fput(void *ud, const char *p, size_t n, int last) {
  FCtx *c = ud;
  (void)last;
  if (c->len + n >= sizeof c->out) return 1;
  memcpy(c->out + c->len, p, n);
  c->len += n;
  return 0;
}

static char numbuf[64];
static int farg(void *ud, int n, int kind, double *num, const char **s, size_t *len) {
  FCtx *c = ud;
  const FArg *a = &c->args[n - 2];
  if (kind == STRFMT_ARGNUM) {
    if (a->kind != 'n') {
      snprintf(c->argerr, sizeof c->argerr, "arg #%d: number expected", n);
      return 1;
    }
    *num = a->num;
    return 0;
  }
  if (a->kind == 's') {
    *s = a->s;
    *len = a->len;
    return 0;
  }
  if (a->kind == 'n') {
    snprintf(numbuf, sizeof numbuf, "%.14g", a->num);
    *s = numbuf;
    *len = strlen(numbuf);
    return 0;
  }
  if (kind == STRFMT_ARGANY) {
    *s = "nil";
    *len = 3;
    return 0;
  }
  snprintf(c->argerr, sizeof c->argerr, "arg #%d: string expected, got nil", n);
  return 1;
}

static FCtx fctx;
/* one run; with fast set, the numbers and strings among the first 16 arguments are described in io.args */
static const char *fmt_run1(const char *fmt, size_t flen, const FArg *args, int nargs, int fast) {
  StrFmtIO io;
  StrFmtArg fa[16];
  char err[128];
  int r, i;
  memset(&fctx, 0, sizeof fctx);
  fctx.args = args;
  io.ud = &fctx;
  io.nargs = nargs + 1;
  io.args = fa;
  io.nfast = fast ? (nargs < 16 ? nargs : 16) : 0;
  for (i = 0; i < io.nfast; i++) {
    fa[i].kind = args[i].kind == 'n' ? STRFMT_ARGNUM : args[i].kind == 's' ? STRFMT_ARGSTR : 0;
    fa[i].num = args[i].num;
    fa[i].s = args[i].s;
    fa[i].len = args[i].len;
  }
  io.put = fput;
  io.arg = farg;
  r = strfmt_format(fmt, flen, &io, err, sizeof err);
  if (r == STRFMT_ERROR) {
    snprintf(result, sizeof result, "ERR:%s", err);
    return result;
  }
  if (r == STRFMT_CBFAIL) {
    snprintf(result, sizeof result, "ARGERR:%s", fctx.argerr);
    return result;
  }
  fctx.out[fctx.len] = '\0';
  return fctx.out;
}

/* the result through io.arg alone, checked to be the same with the arguments described up front */
static const char *fmt_run(const char *fmt, size_t flen, const FArg *args, int nargs) {
  static char fastout[sizeof fctx.out];
  const char *got;
  snprintf(fastout, sizeof fastout, "%s", fmt_run1(fmt, flen, args, nargs, 1));
  got = fmt_run1(fmt, flen, args, nargs, 0);
  CHECK(strcmp(fastout, got) == 0, "format(%s): io.args changed the result", fmt);
  return got;
}

#define N(x) {'n', (x), NULL, 0}
#define S(x) {'s', 0, (x), sizeof(x) - 1}
#define NIL {'x', 0, NULL, 0}

#define FMT(fmt, expect, ...) \
  do { \
    const FArg args_[] = {__VA_ARGS__}; \
    const char *got_ = fmt_run(fmt, strlen(fmt), args_, (int)(sizeof args_ / sizeof args_[0])); \
    CHECK(strcmp(got_, expect) == 0, "format(%s) = [%s], expected [%s]", #fmt, got_, expect); \
  } while (0)
#define FMT0(fmt, expect) \
  do { \
    const char *got_ = fmt_run(fmt, strlen(fmt), NULL, 0); \
    CHECK(strcmp(got_, expect) == 0, "format(%s) = [%s], expected [%s]", #fmt, got_, expect); \
  } while (0)

static void test_format(void) {
  FMT0("plain", "plain");
  FMT0("100%%", "100%");
  FMT("%d", "3", N(3.5));
  FMT("%d", "-3", N(-3.9));
  FMT("%i|%5d|%-5d|%05d", "42|   42|42   |00042", N(42), N(42), N(42), N(42));
  FMT("%+d", "+7", N(7));
  FMT("%x", "ffffffffffffffff", N(-1));
  FMT("%X", "FF", N(255));
  FMT("%#x", "0xff", N(255));
  FMT("%o", "10", N(8));
  FMT("%u", "18446744073709551615", N(-1));
  FMT("%c%c", "hi", N(104), N(105));
  FMT("%5.2f", " 3.14", N(3.14159));
  FMT("%e", "1.000000e+00", N(1));
  FMT("%E", "1.500000E+02", N(150));
  FMT("%g", "1e+20", N(1e20));
  FMT("%G", "1E-05", N(0.00001));
  FMT("%.3s", "abc", S("abcdef"));
  FMT("%5s|%-5s|", "   ab|ab   |", S("ab"), S("ab"));
  FMT("%s", "x", S("x"));
  FMT("%10.4f", "    2.5000", N(2.5));
  FMT("%q", "\"a\\\"b\\\\c\\\nd\\re\"", S("a\"b\\c\nd\re"));
  FMT("%*", "nil", NIL);
  FMT("%*%*", "ab", S("a"), S("b"));
  FMT("%s", "ARGERR:arg #2: string expected, got nil", NIL);
  FMT("%d", "ARGERR:arg #2: number expected", S("x"));
  FMT0("%d", "ERR:missing argument #2");
  FMT("%d %d", "ERR:missing argument #3", N(1));
  FMT("%a", "ERR:invalid option '%a' to 'format'", N(1));
  FMT("%y", "ERR:invalid option '%y' to 'format'", N(1));
  FMT("%5*", "ERR:'%*' does not take a form", N(1));
  FMT("%100d", "ERR:invalid format (width or precision too long)", N(1));
  FMT("%.100f", "ERR:invalid format (width or precision too long)", N(1));
  FMT("%-+ #0d", "+1", N(1));
  FMT("%-+ #0-d", "ERR:invalid format (repeated flags)", N(1));
  FMT("%-----d", "1", N(1));
  FMT("%------d", "ERR:invalid format (repeated flags)", N(1));
  {
    /* %99.99f is long but bounded */
    const FArg a[] = {N(1e308)};
    const char *got = fmt_run("%99.99f", 7, a, 1);
    CHECK(strlen(got) == 309 + 1 + 99, "big %%f len %zu", strlen(got));
  }
  {
    /* %s keeps embedded zeros when copied whole, and %q escapes NUL */
    const FArg a[] = {{'s', 0, "a\0b", 3}};
    const char *got = fmt_run("%s", 2, a, 1);
    CHECK(fctx.len == 3 && memcmp(got, "a\0b", 3) == 0, "%%s embedded zero");
    got = fmt_run("%q", 2, a, 1);
    CHECK(strcmp(got, "\"a\\000b\"") == 0, "%%q NUL: %s", got);
    got = fmt_run("%5s", 3, a, 1);
    CHECK(strcmp(got, "    a") == 0, "%%5s stops at NUL: [%s]", got);
  }
  {
    char longs[150];
    FArg a[1];
    const char *got;
    memset(longs, 'z', 149);
    longs[149] = '\0';
    a[0].kind = 's';
    a[0].s = longs;
    a[0].len = 149;
    got = fmt_run("%5s", 3, a, 1);
    CHECK(strlen(got) == 149, "long %%5s copied whole");
  }
  CHECK(strfmt_toint64(3.9) == 3 && strfmt_toint64(-3.9) == -3, "toint64");
  CHECK(strfmt_touint64(-1) == UINT64_MAX, "touint64");
}

/* ---------------------------------------------------------------- pack helper */

static void test_pack(void) {
  SpHeader h;
  char err[80];
  int size, ntoalign, kind;
  const char *f, *fe;
  unsigned char buf[16];
  int64_t v;

  sp_init(&h);
  f = "<i4>h!4d";
  fe = f + strlen(f);
  kind = sp_option(&h, &f, fe, 0, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_NOP && h.little, "<");
  kind = sp_option(&h, &f, fe, 0, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_INT && size == 4 && ntoalign == 0, "i4");
  kind = sp_option(&h, &f, fe, 4, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_NOP && !h.little, ">");
  kind = sp_option(&h, &f, fe, 4, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_INT && size == 2 && ntoalign == 0, "h (no alignment by default)");
  kind = sp_option(&h, &f, fe, 6, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_NOP && h.maxalign == 4, "!4");
  kind = sp_option(&h, &f, fe, 6, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_DOUBLE && size == 8 && ntoalign == 2, "d aligned to 4: %d", ntoalign);

  sp_init(&h);
  f = "i17";
  kind = sp_option(&h, &f, f + 3, 0, &size, &ntoalign, err, sizeof err);
  CHECK(kind == -1 && strcmp(err, "integral size (17) out of limits [1,16]") == 0, "i17: %s", err);
  f = "c";
  kind = sp_option(&h, &f, f + 1, 0, &size, &ntoalign, err, sizeof err);
  CHECK(kind == -1 && strcmp(err, "missing size for format option 'c'") == 0, "c: %s", err);
  f = "y";
  kind = sp_option(&h, &f, f + 1, 0, &size, &ntoalign, err, sizeof err);
  CHECK(kind == -1 && strcmp(err, "invalid format option 'y'") == 0, "y: %s", err);
  f = "!3i4";
  sp_option(&h, &f, f + 4, 0, &size, &ntoalign, err, sizeof err);
  kind = sp_option(&h, &f, f + 2, 1, &size, &ntoalign, err, sizeof err);
  CHECK(kind == -2 && strcmp(err, "format asks for alignment not power of 2") == 0, "align: %s", err);
  sp_init(&h);
  f = "!8Xi4";
  sp_option(&h, &f, f + 5, 0, &size, &ntoalign, err, sizeof err);
  kind = sp_option(&h, &f, f + 3, 1, &size, &ntoalign, err, sizeof err);
  CHECK(kind == SP_PADALIGN && ntoalign == 3 && *f == '\0', "X: %d %d", kind, ntoalign);
  f = "X";
  kind = sp_option(&h, &f, f + 1, 1, &size, &ntoalign, err, sizeof err);
  CHECK(kind == -2 && strcmp(err, "invalid next option for option 'X'") == 0, "X end: %s", err);

  sp_putint(buf, (uint64_t)-2, 1, 4, 1);
  CHECK(buf[0] == 0xfe && buf[3] == 0xff, "putint le");
  CHECK(sp_getint(buf, 1, 4, 1, &v) == 0 && v == -2, "getint signed");
  CHECK(sp_getint(buf, 1, 4, 0, &v) == 0 && v == 0xfffffffe, "getint unsigned");
  sp_putint(buf, 0x0102, 0, 2, 0);
  CHECK(buf[0] == 1 && buf[1] == 2, "putint be");
  sp_putint(buf, (uint64_t)-1, 1, 16, 1);
  CHECK(sp_getint(buf, 1, 16, 1, &v) == 0 && v == -1, "getint 16 signed");
  CHECK(sp_getint(buf, 1, 16, 0, &v) == 1, "getint 16 unsigned overflow");
}

int main(void) {
  test_patterns();
  test_format();
  test_pack();
  printf("strlib_test: %d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
