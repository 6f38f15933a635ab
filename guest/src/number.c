/*
 * number.c - number <-> string conversions (luau-language.md §3.3-3.4).
 *
 * pal_num2str: shortest digit string (<= 17 significant digits) that reads back as the same double. Let P be the
 * decimal point position (value = 0.DIGITS x 10^P): plain notation when -5 <= P <= 21, else d[.ddd]e+XX.
 * Integral values below 2^53 take a direct path (no snprintf).
 *
 * pal_str2num: validates the whole string against the accepted grammar, then lets strtod compute the value.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pal.h"

#define TWO53 9007199254740992.0

static int fmt_uint(char *buf, uint64_t u) {
  char tmp[24];
  int n = 0, len = 0;
  do {
    tmp[n++] = (char)('0' + (u % 10));
    u /= 10;
  } while (u != 0);
  while (n > 0) buf[len++] = tmp[--n];
  return len;
}

/* shortest round-trip significant digits of a finite non-zero positive x: fills digits (no dot), returns count,
   *point = P (value = 0.DIGITS x 10^P) */
static int shortest_digits(double x, char *digits, int *point) {
  char tmp[40];
  int lo = 1, hi = 17, ndig, exp10;
  const char *e;
  /* the number of digits that round-trips is monotonic: binary search the smallest */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(tmp, sizeof tmp, "%.*e", mid - 1, x);
    if (strtod(tmp, NULL) == x)
      hi = mid;
    else
      lo = mid + 1;
  }
  snprintf(tmp, sizeof tmp, "%.*e", lo - 1, x);
  /* tmp = d[.ddd]e[+-]XX */
  ndig = 0;
  for (e = tmp; *e != 'e'; e++)
    if (*e >= '0' && *e <= '9') digits[ndig++] = *e;
  exp10 = atoi(e + 1);
  while (ndig > 1 && digits[ndig - 1] == '0') ndig--;
  *point = exp10 + 1;
  return ndig;
}

int pal_num2str(char *buf, double n) {
  char digits[24];
  int len = 0, nd, P;
  if (n != n) {
    memcpy(buf, "nan", 4);
    return 3;
  }
  if (n == 0) {
    if (signbit(n)) {
      memcpy(buf, "-0", 3);
      return 2;
    }
    memcpy(buf, "0", 2);
    return 1;
  }
  if (isinf(n)) {
    if (n < 0) {
      memcpy(buf, "-inf", 5);
      return 4;
    }
    memcpy(buf, "inf", 4);
    return 3;
  }
  if (n < 0) {
    buf[len++] = '-';
    n = -n;
  }
  if (n < TWO53 && n == floor(n)) { /* fast path: an exact integer, always plain notation */
    len += fmt_uint(buf + len, (uint64_t)n);
    buf[len] = '\0';
    return len;
  }
  nd = shortest_digits(n, digits, &P);
  if (P >= -5 && P <= 21) {
    if (P <= 0) {
      buf[len++] = '0';
      buf[len++] = '.';
      for (int i = 0; i < -P; i++) buf[len++] = '0';
      memcpy(buf + len, digits, (size_t)nd);
      len += nd;
    } else if (P < nd) {
      memcpy(buf + len, digits, (size_t)P);
      len += P;
      buf[len++] = '.';
      memcpy(buf + len, digits + P, (size_t)(nd - P));
      len += nd - P;
    } else {
      memcpy(buf + len, digits, (size_t)nd);
      len += nd;
      for (int i = nd; i < P; i++) buf[len++] = '0';
    }
  } else {
    int e = P - 1, ae;
    char ed[8];
    int ne = 0;
    buf[len++] = digits[0];
    if (nd > 1) {
      buf[len++] = '.';
      memcpy(buf + len, digits + 1, (size_t)(nd - 1));
      len += nd - 1;
    }
    buf[len++] = 'e';
    buf[len++] = e < 0 ? '-' : '+';
    ae = e < 0 ? -e : e;
    do {
      ed[ne++] = (char)('0' + ae % 10);
      ae /= 10;
    } while (ae != 0);
    if (ne < 2) ed[ne++] = '0';
    while (ne > 0) buf[len++] = ed[--ne];
  }
  buf[len] = '\0';
  return len;
}

static int isspace_c(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
static int isdigit_c(char c) {
  return c >= '0' && c <= '9';
}
static int isxdigit_c(char c) {
  return isdigit_c(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int lower_c(char c) {
  return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
static int matchword(const char *s, size_t len, const char *w) {
  size_t n = strlen(w);
  if (len != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower_c(s[i]) != w[i]) return 0;
  return 1;
}

/* From s[*i]: digits, optionally '.' and more digits (hex digits when hex); returns how many digits. */
static size_t scanmantissa(const char *s, size_t len, size_t *i, int hex) {
  size_t nd = 0;
  while (*i < len && (hex ? isxdigit_c(s[*i]) : isdigit_c(s[*i]))) (*i)++, nd++;
  if (*i < len && s[*i] == '.') {
    (*i)++;
    while (*i < len && (hex ? isxdigit_c(s[*i]) : isdigit_c(s[*i]))) (*i)++, nd++;
  }
  return nd;
}

/* From s[*i]: an optional exponent (marker e/E, or p/P when hex, then a signed decimal integer); 0 when a marker
   has no digits. */
static int scanexponent(const char *s, size_t len, size_t *i, int hex) {
  size_t ne = 0;
  if (*i >= len || (s[*i] | 0x20) != (hex ? 'p' : 'e')) return 1;
  (*i)++;
  if (*i < len && (s[*i] == '+' || s[*i] == '-')) (*i)++;
  while (*i < len && isdigit_c(s[*i])) (*i)++, ne++;
  return ne != 0;
}

/* Is s[0..len) (no surrounding spaces) a number strtod reads entirely? */
static int validnumber(const char *s, size_t len) {
  size_t i = 0;
  int hex;
  if (i < len && (s[i] == '+' || s[i] == '-')) i++;
  if (matchword(s + i, len - i, "inf") || matchword(s + i, len - i, "infinity") || matchword(s + i, len - i, "nan"))
    return 1;
  hex = len - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
  if (hex) i += 2;
  if (scanmantissa(s, len, &i, hex) == 0) return 0;
  return scanexponent(s, len, &i, hex) && i == len;
}

/* Exact powers of ten (every one up to 1e22 is a double). */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A valid decimal numeral (validnumber) with at most 15 digits and a power-of-ten scale within 10^+-22: its
   value is digits x 10^k with both factors exact doubles, so one multiplication or division rounds it
   correctly, exactly as strtod would. Returns 0 for other numerals (hex, inf/nan, long or far-scaled ones). */
static int fast_decimal(const char *s, size_t len, double *out) {
  size_t i = 0;
  int neg = 0, nd = 0, k = 0;
  uint64_t m = 0;
  if (s[i] == '+' || s[i] == '-') neg = s[i++] == '-';
  if (len - i >= 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) return 0;
  for (; i < len && isdigit_c(s[i]); i++, nd++) m = m * 10 + (uint64_t)(s[i] - '0');
  if (i < len && s[i] == '.') {
    for (i++; i < len && isdigit_c(s[i]); i++, nd++, k--) m = m * 10 + (uint64_t)(s[i] - '0');
  }
  if (nd == 0 || nd > 15) return 0; /* also inf/nan */
  if (i < len) { /* exponent: validnumber guarantees [eE][+-]digits */
    int eneg = 0, e = 0;
    i++;
    if (s[i] == '+' || s[i] == '-') eneg = s[i++] == '-';
    for (; i < len; i++) {
      if (e > 1000) return 0;
      e = e * 10 + (s[i] - '0');
    }
    k += eneg ? -e : e;
  }
  if (k < -22 || k > 22) return 0;
  *out = k >= 0 ? (double)m * exact_pow10[k] : (double)m / exact_pow10[-k];
  if (neg) *out = -*out;
  return 1;
}

int pal_str2num(const char *s, size_t len, double *out) {
  char small[128];
  char *buf = small;
  char *end;
  double v;
  while (len > 0 && isspace_c(*s)) s++, len--;
  while (len > 0 && isspace_c(s[len - 1])) len--;
  if (len == 0 || !validnumber(s, len)) return 0;
  if (fast_decimal(s, len, out)) return 1;
  if (len >= sizeof small) {
    buf = (char *)malloc(len + 1); /* temporary, outside the counted heap; only for absurdly long numerals */
    if (buf == NULL) return 0;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  v = strtod(buf, &end);
  if (end != buf + len) {
    if (buf != small) free(buf);
    return 0;
  }
  if (buf != small) free(buf);
  *out = v;
  return 1;
}
