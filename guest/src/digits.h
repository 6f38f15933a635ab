/*
 * digits.h - decimal digits of unsigned integers, for number.c (tostring), strfmt.c (string.format) and api.c.
 *
 * The wasm back end emits real division instructions even for constant divisors (slow, and 64-bit ones more so),
 * so digits are produced two at a time from a table, with a multiply-shift for the 32-bit division by 100 and
 * one 64-bit division per 8 digits only for values of 32 bits or more.
 */
#ifndef DIGITS_H
#define DIGITS_H

#include <stdint.h>
#include <string.h>

/* "00" "01" ... "99" */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                     "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                     "8081828384858687888990919293949596979899";

/* v / 100 for every 32-bit v. M = 1374389535 = (2^37 + 28) / 100, so v * M / 2^37 = v / 100 + 28 v / (100 * 2^37),
   and the second term is below 28 / 3200 < 0.01: it cannot carry v / 100 (whose fraction is at most 0.99) past an
   integer, so the floor is exact. */
static inline uint32_t digits_div100(uint32_t v) {
  return (uint32_t)(((uint64_t)v * 1374389535u) >> 37);
}

/* 10^0 .. 10^19 */
static const uint64_t digits_pow10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
                                          100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
                                          1000000000000ull, 10000000000000ull, 100000000000000ull,
                                          1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
                                          1000000000000000000ull, 10000000000000000000ull};

/* How many decimal digits u has. With b = its bit length, floor(log10 u) is floor((b-1) log10 2) or
   floor(b log10 2) = t (1233 / 4096 is just below log10 2, close enough for b <= 64), so the count is t or t + 1. */
static inline int digits_len(uint64_t u) {
  int t;
  if (u < 10) return 1;
  t = ((64 - __builtin_clzll(u)) * 1233) >> 12;
  return t + (u >= digits_pow10[t]);
}

/* Writes the decimal digits of u so that they end just before e; returns their start (at most 20 digits). */
static inline char *digits_utoa(char *e, uint64_t u) {
  uint32_t v;
  while (u >> 32 != 0) { /* split off 8 low digits (at most twice) */
    uint64_t hi = u / 100000000u;
    v = (uint32_t)(u - hi * 100000000u);
    for (int i = 0; i < 4; i++) {
      uint32_t q = digits_div100(v);
      e -= 2;
      memcpy(e, digit_pairs + 2 * (v - q * 100), 2);
      v = q;
    }
    u = hi;
  }
  v = (uint32_t)u;
  while (v >= 100) {
    uint32_t q = digits_div100(v);
    e -= 2;
    memcpy(e, digit_pairs + 2 * (v - q * 100), 2);
    v = q;
  }
  if (v >= 10) {
    e -= 2;
    memcpy(e, digit_pairs + 2 * v, 2);
  } else
    *--e = (char)('0' + v);
  return e;
}

#endif
