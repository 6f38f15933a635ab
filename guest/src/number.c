/*
 * number.c - number <-> string conversions (luau-language.md §3.3-3.4).
 *
 * pal_num2str: shortest digit string (<= 17 significant digits) that reads back as the same double. Let P be the
 * decimal point position (value = 0.DIGITS x 10^P): plain notation when -5 <= P <= 21, else d[.ddd]e+XX.
 * Integral values below 2^53 are printed directly; other values get their digits from an exact integer-arithmetic
 * search (below), without the C library (whose printf and strtod are very slow in wasm: software long double).
 *
 * pal_str2num: validates the whole string against the accepted grammar; decimals of up to 19 digits within
 * 10^+-21 are converted exactly here, others by strtod.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "pal.h"

#define TWO53 9007199254740992.0

/* Writes the decimal digits of u (no terminator); returns their count. */
static int fmt_uint(char *buf, uint64_t u) {
  int n = digits_len(u);
  digits_utoa(buf + n, u);
  return n;
}

/* ---- shortest round-trip digits ----
   The digit count is the smallest d in 1..17 for which the d-significant-digit rounding of x (to nearest, ties to
   even, as printf's %.*e does) reads back as x, found by the same binary search over d that an earlier version ran
   with snprintf + strtod (so the output is unchanged even where the predicate is not monotonic in d).
   The predicate is decided exactly in integer arithmetic. With x = m * 2^e and s = the decimal exponent of the last
   kept digit, x / 10^s = N / D where N = m * G for an integer G (G = 5^-s, or 2^(e-s), or 1, depending on signs).
   q = round(N / D); the decimal q * 10^s reads back as x iff it lies within half a binary ulp of x: the ulp 2^e
   is G / D in units of 10^s (N / m = G), so the test is 2 |qD - N| < G, or <= G when m is even (strtod then rounds
   a tie to x), and 4 |qD - N| < G below an x whose lower neighbour is twice as close (m = 2^52, above the smallest normal
   exponent). */

typedef unsigned __int128 u128;

static const uint64_t pow5_64[28] = {1u, 5u, 25u, 125u, 625u, 3125u, 15625u, 78125u, 390625u, 1953125u, 9765625u,
                                     48828125u, 244140625u, 1220703125u, 6103515625ull, 30517578125ull,
                                     152587890625ull, 762939453125ull, 3814697265625ull, 19073486328125ull,
                                     95367431640625ull, 476837158203125ull, 2384185791015625ull, 11920928955078125ull,
                                     59604644775390625ull, 298023223876953125ull, 1490116119384765625ull,
                                     7450580596923828125ull};

/* 5^k for k <= 54 (below 2^126) */
static u128 pow5_128(int k) {
  return k <= 27 ? pow5_64[k] : (u128)pow5_64[27] * pow5_64[k - 27];
}

static int bitlen128(u128 v) {
  uint64_t hi = (uint64_t)(v >> 64);
  if (hi != 0) return 128 - __builtin_clzll(hi);
  return (uint64_t)v == 0 ? 0 : 64 - __builtin_clzll((uint64_t)v);
}

/* x / 10^s = N / D with N = m * G, all below 2^124: floor q (< 2^64), remainder r, D and G */
typedef struct {
  uint64_t q;
  u128 r, d, g;
} Scaled;

/* Divides x = m * 2^e (m < 2^53) by 10^s exactly. Returns 0 when the operands do not fit in 128 bits (|x| far
   from 1: roughly below 1e-14 or above 1e45; round_scaled_big covers those). */
static int scale_pow10(uint64_t m, int e, int s, Scaled *out) {
  u128 n;
  if (s <= 0) {
    int sh; /* x / 10^s = m * 5^-s * 2^(e-s) */
    if (s < -30) return 0; /* 5^30 < 2^70 */
    out->g = pow5_128(-s);
    n = (u128)m * out->g;
    sh = e - s;
    if (sh >= 0) { /* an integer */
      if (bitlen128(n) + sh > 64) return 0;
      out->q = (uint64_t)(n << sh);
      out->r = 0;
      out->d = 1;
      return 1;
    }
    if (sh < -124 || (n >> -sh) >> 64 != 0) return 0;
    out->d = (u128)1 << -sh;
    out->q = (uint64_t)(n >> -sh);
    out->r = n & (out->d - 1);
    return 1;
  } else {
    u128 p, q; /* x / 10^s = m * 2^(e-s) / 5^s */
    if (s > 53) return 0; /* 5^53 < 2^124 */
    p = pow5_128(s);
    if (e >= s) {
      if (e - s > 70) return 0;
      out->g = (u128)1 << (e - s);
      n = (u128)m << (e - s);
      out->d = p;
    } else {
      if (bitlen128(p) + (s - e) > 124) return 0;
      out->g = 1;
      n = m;
      out->d = p << (s - e);
    }
    q = n / out->d;
    if (q >> 64 != 0) return 0;
    out->q = (uint64_t)q;
    out->r = n - q * out->d;
    return 1;
  }
}

/* Rounds S to the nearest integer (ties to even); *ok = that decimal reads back as x. */
static uint64_t round_scaled(const Scaled *S, int meven, int narrowbelow, int *ok) {
  u128 toup = S->d - S->r, dev, lim;
  int up = S->r > toup || (S->r == toup && (S->q & 1));
  dev = up ? toup : S->r;
  lim = (!up && narrowbelow) ? 4 * dev : 2 * dev;
  *ok = dev == 0 || (meven ? lim <= S->g : lim < S->g);
  return S->q + (uint64_t)up;
}

/* ---- the same computation for every magnitude, in multi-word integers (the largest operand, 2D with D up to
   2^1074 or 5^308 * 2^357, and D shifted up by the quotient's 64 bits, stays below 40 * 32 = 1280 bits) ---- */

#define BIGWORDS 40

typedef struct {
  int n;                  /* words in use; w[n - 1] != 0 (n = 0 for zero) */
  uint32_t w[BIGWORDS];   /* little-endian */
} Big;

static void big_set(Big *b, uint64_t v) {
  b->w[0] = (uint32_t)v;
  b->w[1] = (uint32_t)(v >> 32);
  b->n = b->w[1] != 0 ? 2 : b->w[0] != 0 ? 1 : 0;
}

static void big_mulsmall(Big *b, uint32_t k) {
  uint64_t carry = 0;
  for (int i = 0; i < b->n; i++) {
    uint64_t t = (uint64_t)b->w[i] * k + carry;
    b->w[i] = (uint32_t)t;
    carry = t >> 32;
  }
  if (carry != 0) b->w[b->n++] = (uint32_t)carry;
}

static void big_mulpow5(Big *b, int k) {
  for (; k >= 13; k -= 13) big_mulsmall(b, 1220703125u); /* 5^13 */
  if (k > 0) big_mulsmall(b, (uint32_t)pow5_64[k]);
}

static void big_shl(Big *b, int sh) {
  int ws = sh / 32, bs = sh % 32;
  if (b->n == 0) return;
  b->w[b->n] = 0;
  for (int i = b->n; i >= 0; i--) {
    uint32_t hi = bs == 0 ? b->w[i] : (b->w[i] << bs) | (i > 0 ? b->w[i - 1] >> (32 - bs) : 0);
    b->w[i + ws] = hi;
  }
  for (int i = 0; i < ws; i++) b->w[i] = 0;
  b->n += ws + 1;
  while (b->n > 0 && b->w[b->n - 1] == 0) b->n--;
}

static void big_shr1(Big *b) {
  for (int i = 0; i < b->n; i++) b->w[i] = (b->w[i] >> 1) | (i + 1 < b->n ? b->w[i + 1] << 31 : 0);
  while (b->n > 0 && b->w[b->n - 1] == 0) b->n--;
}

static int big_cmp(const Big *a, const Big *b) {
  if (a->n != b->n) return a->n < b->n ? -1 : 1;
  for (int i = a->n - 1; i >= 0; i--)
    if (a->w[i] != b->w[i]) return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}

/* a -= b, with a >= b */
static void big_sub(Big *a, const Big *b) {
  uint64_t borrow = 0;
  for (int i = 0; i < a->n; i++) {
    uint64_t t = (uint64_t)a->w[i] - (i < b->n ? b->w[i] : 0) - borrow;
    a->w[i] = (uint32_t)t;
    borrow = (t >> 32) & 1;
  }
  while (a->n > 0 && a->w[a->n - 1] == 0) a->n--;
}

static int big_bitlen(const Big *b) {
  return b->n == 0 ? 0 : 32 * (b->n - 1) + 32 - __builtin_clz(b->w[b->n - 1]);
}

/* scale_pow10 and round_scaled for any finite x > 0 and |s| <= 400; *floorq = floor(x / 10^s), which is below
   2^64 (x / 10^s < 10^19 for the s the search uses) */
static uint64_t round_scaled_big(uint64_t m, int e, int s, int narrowbelow, uint64_t *floorq, int *ok) {
  Big N, D, G, T;
  uint64_t q = 0;
  int up, c;
  big_set(&N, m);
  big_set(&D, 1);
  big_set(&G, 1);
  if (s <= 0) { /* N = m * 5^-s, G = 5^-s, then the power of two e - s goes to N or D */
    big_mulpow5(&G, -s);
    big_mulpow5(&N, -s);
    if (e - s >= 0)
      big_shl(&N, e - s);
    else
      big_shl(&D, s - e);
  } else { /* D = 5^s, and 2^(e-s) goes to N (and G) or D */
    big_mulpow5(&D, s);
    if (e >= s) {
      big_shl(&N, e - s);
      big_shl(&G, e - s);
    } else
      big_shl(&D, s - e);
  }
  /* long division: N becomes the remainder */
  T = D;
  c = big_bitlen(&N) - big_bitlen(&D);
  if (c > 0) big_shl(&T, c);
  for (; c >= 0; c--) {
    if (big_cmp(&N, &T) >= 0) {
      big_sub(&N, &T);
      q |= (uint64_t)1 << c;
    }
    big_shr1(&T);
  }
  *floorq = q;
  /* T = D - r: the distance up to q + 1 */
  T = D;
  big_sub(&T, &N);
  c = big_cmp(&N, &T);
  up = c > 0 || (c == 0 && (q & 1));
  if (up) N = T; /* N = the deviation */
  if (N.n == 0)
    *ok = 1;
  else {
    big_shl(&N, (!up && narrowbelow) ? 2 : 1);
    c = big_cmp(&N, &G);
    *ok = (m & 1) == 0 ? c <= 0 : c < 0;
  }
  return q + (uint64_t)up;
}

/* The rounding of x = m * 2^e to a multiple of 10^s (the test of the search below): 128-bit arithmetic when it
   fits, else multi-word. */
static uint64_t round_pow10(uint64_t m, int e, int s, int narrowbelow, uint64_t *floorq, int *ok) {
  Scaled S;
  if (!scale_pow10(m, e, s, &S)) return round_scaled_big(m, e, s, narrowbelow, floorq, ok);
  *floorq = S.q;
  return round_scaled(&S, (m & 1) == 0, narrowbelow, ok);
}

/* shortest round-trip significant digits of a finite non-zero positive x: fills digits (no dot), returns count,
   *point = P (value = 0.DIGITS x 10^P) */
static int shortest_digits(double x, char *digits, int *point) {
  uint64_t bits, m, q, floorq, qat[18];
  int e, E, lo = 1, hi = 17, ok, nd, narrowbelow;
  memcpy(&bits, &x, sizeof bits);
  m = bits & (((uint64_t)1 << 52) - 1);
  e = (int)(bits >> 52);
  narrowbelow = m == 0 && e > 1;
  if (e == 0) /* subnormal */
    e = -1074;
  else
    m |= (uint64_t)1 << 52, e -= 1075;
  /* E = floor(log10 x): the estimate from floor(log2 x) is E or E - 1; the first step of the search corrects it */
  E = (int)floor((e + 63 - __builtin_clzll(m)) * 0.30102999566398119521);
  memset(qat, 0, sizeof qat);
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    q = round_pow10(m, e, E - mid + 1, narrowbelow, &floorq, &ok);
    if (floorq >= digits_pow10[mid]) { /* x >= 10^(E+1): the estimate was low; redo this step */
      E++;
      continue;
    }
    qat[mid] = q;
    if (ok)
      hi = mid;
    else
      lo = mid + 1;
  }
  q = qat[lo];
  if (q == 0) /* not computed by the search (lo = 17 after every step failed) */
    q = round_pow10(m, e, E - lo + 1, narrowbelow, &floorq, &ok);
  /* q has lo digits, or lo + 1 when rounding carried (q = 10^lo) */
  nd = fmt_uint(digits, q);
  *point = E + 1 + (nd - lo);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  return nd;
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

/* m x 10^k correctly rounded, for m < 2^64 and -21 <= k <= 19, in 128-bit integers. k >= 0: the product is
   exact and the conversion to double rounds it once. k < 0: m is shifted up so that the quotient by 10^-k
   (< 2^70) keeps at least 58 bits; a non-zero remainder is folded into its lowest bit (a sticky bit, below the
   rounding position), so the one rounding of the conversion sees the exact quotient's side of every tie. */
static double scale_decimal128(uint64_t m, int k) {
  u128 p = 1, n;
  int sh;
  if (m == 0) return 0;
  for (int i = 0; i < (k < 0 ? -k : k); i++) p *= 10;
  if (k >= 0) return (double)((u128)m * p);
  sh = 127 - (63 - __builtin_clzll(m)); /* m * 2^sh is in [2^127, 2^128) */
  n = (u128)m << sh;
  return ldexp((double)((n / p) | (n % p != 0)), -sh);
}

/* A valid decimal numeral (validnumber) with at most 19 digits and a power-of-ten scale within 10^-22..10^22:
   computed exactly as strtod would round it. With at most 15 digits, the value is digits x 10^k with both
   factors exact doubles, so one multiplication or division rounds it correctly; longer digit strings (such as
   the 16 and 17-digit numerals tostring prints) take scale_decimal128. Returns 0 for other numerals (hex,
   inf/nan, longer or far-scaled ones). */
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
  if (nd == 0 || nd > 19) return 0; /* also inf/nan; m < 10^19 < 2^64 did not wrap */
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
  if (nd <= 15 && k >= -22 && k <= 22)
    *out = k >= 0 ? (double)m * exact_pow10[k] : (double)m / exact_pow10[-k];
  else if (k >= -21 && k <= 19)
    *out = scale_decimal128(m, k);
  else
    return 0;
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
