/*
 * number_test.c - randomized checks of number <-> string conversion (number.c, digits.h):
 *   - pal_str2num(pal_num2str(x)) == x (same bits) for random doubles of every kind;
 *   - the digits are the correctly rounded d-significant-digit decimal of x (printf's %.*e), and none with one
 *     digit fewer reads back as x (shortness);
 *   - pal_str2num of random decimal numerals (up to 20 digits, with exponents) against strtod;
 *   - digits_utoa, digits_len and digits_div100 against snprintf and plain division.
 * The C library (snprintf/strtod) serves as the reference; it is slow, so the counts are sized for CI.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "pal.h"

static int failures = 0, checks = 0;

#define CHECK(cond, ...) \
  do { \
    checks++; \
    if (!(cond)) { \
      if (failures++ < 20) { \
        printf("FAIL %s:%d: ", __FILE__, __LINE__); \
        printf(__VA_ARGS__); \
        printf("\n"); \
      } \
    } \
  } while (0)

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next(void) { /* xorshift64 */
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static double frombits(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static int samebits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

/* significant digits of a numeral ("-1.25e-07" -> "125"), their count */
static int sigdigits(const char *s, char *out) {
  int n = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && (n > 0 || *s != '0')) out[n++] = *s;
  while (n > 1 && out[n - 1] == '0') n--; /* trailing zeros of an integer are not significant */
  out[n] = '\0';
  return n;
}

static void check_double(double x) {
  char buf[PAL_NUMBUF], ref[64], d1[32], d2[32];
  double y = 0;
  int nd;
  pal_num2str(buf, x);
  if (x != x) {
    CHECK(strcmp(buf, "nan") == 0, "nan -> %s", buf);
    return;
  }
  CHECK(pal_str2num(buf, strlen(buf), &y) && samebits(x, y), "%a -> %s does not read back", x, buf);
  if (x == 0 || isinf(x)) return;
  nd = sigdigits(buf, d1);
  CHECK(nd >= 1 && nd <= 17, "%a -> %s: %d digits", x, buf, nd);
  /* the same digits as the correctly rounded nd-digit decimal */
  snprintf(ref, sizeof ref, "%.*e", nd - 1, x);
  sigdigits(ref, d2);
  CHECK(strcmp(d1, d2) == 0, "%a -> %s, but %%.%de gives %s", x, buf, nd - 1, ref);
  /* one digit fewer does not read back */
  if (nd > 1) {
    snprintf(ref, sizeof ref, "%.*e", nd - 2, x);
    CHECK(strtod(ref, NULL) != x, "%a -> %s is not the shortest: %s", x, buf, ref);
  }
}

static void test_doubles(void) {
  for (int i = 0; i < 60000; i++) check_double(frombits(next())); /* every exponent, subnormals, nan, inf */
  for (int i = 0; i < 60000; i++) { /* magnitudes near 1: the common case */
    uint64_t b = (next() & 0x800fffffffffffffull) | ((uint64_t)(1023 - 64 + next() % 140) << 52);
    check_double(frombits(b));
  }
  for (int i = 0; i < 30000; i++) { /* short decimals, integers and halves of all sizes (ties) */
    uint64_t u = next() >> (next() % 64);
    check_double((double)(next() % 1000000) / pow(10, (double)(next() % 25)));
    check_double((double)u);
    check_double((double)u * 0.5);
  }
  for (int e = -1074; e <= 1023; e++) { /* powers of two and their neighbours */
    double x = ldexp(1, e);
    check_double(x);
    check_double(-nextafter(x, 0));
    check_double(nextafter(x, INFINITY));
  }
  for (int e = -323; e <= 308; e++) { /* powers of ten and their neighbours */
    char t[16];
    double x;
    snprintf(t, sizeof t, "1e%d", e);
    x = strtod(t, NULL);
    check_double(x);
    check_double(nextafter(x, 0));
    check_double(nextafter(x, INFINITY));
  }
  check_double(0.0);
  check_double(-0.0);
  check_double(INFINITY);
  check_double(-INFINITY);
  check_double(NAN);
}

static void test_str2num(void) {
  for (int i = 0; i < 100000; i++) {
    char s[64];
    int nd = 1 + (int)(next() % 20), dot = (int)(next() % (unsigned)(nd + 1)), n = 0;
    double a = 0, b;
    if (next() & 1) s[n++] = '-';
    for (int j = 0; j < nd; j++) {
      if (j == dot) s[n++] = '.';
      s[n++] = (char)('0' + next() % 10);
    }
    if (next() & 1) n += snprintf(s + n, sizeof s - (size_t)n, "e%d", (int)(next() % 60) - 30);
    s[n] = '\0';
    b = strtod(s, NULL);
    CHECK(pal_str2num(s, strlen(s), &a) && samebits(a, b), "pal_str2num(%s) = %a, strtod: %a", s, a, b);
  }
}

static void test_digits(void) {
  for (int i = 0; i < 200000; i++) {
    uint64_t u = next() >> (next() % 64);
    char buf[24], ref[24], *p = digits_utoa(buf + sizeof buf - 1, u);
    buf[sizeof buf - 1] = '\0';
    snprintf(ref, sizeof ref, "%llu", (unsigned long long)u);
    CHECK(strcmp(p, ref) == 0, "digits_utoa(%s) = %s", ref, p);
    CHECK(digits_len(u) == (int)strlen(ref), "digits_len(%s) = %d", ref, digits_len(u));
  }
  for (int i = 0; i < 200000; i++) { /* random values, and both sides of multiples of 100 up to 2^32 */
    uint32_t v = (uint32_t)next(), w = (uint32_t)(next() % 42949673u) * 100u;
    CHECK(digits_div100(v) == v / 100, "%u / 100", v);
    CHECK(digits_div100(w) == w / 100 && digits_div100(w - 1) == (w - 1) / 100, "%u / 100", w);
  }
  CHECK(digits_div100(UINT32_MAX) == UINT32_MAX / 100, "UINT32_MAX / 100");
  for (int k = 1; k < 20; k++) CHECK(digits_len(digits_pow10[k] - 1) == k && digits_len(digits_pow10[k]) == k + 1, "10^%d", k);
  CHECK(digits_len(0) == 1 && digits_len(UINT64_MAX) == 20, "digits_len extremes");
}

int main(void) {
  test_doubles();
  test_str2num();
  test_digits();
  printf("number_test: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
