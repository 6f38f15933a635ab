/*
 * strfmt.c - the string.format engine (language reference §4.3), written for Palisade.
 *
 * Spec grammar: '%' flags{0..5 of "-+ #0"} width{0..2 digits} ['.' precision{0..2 digits}] conversion.
 * The common numeric cases (%d %i %x %X %f %e %E %g with no flag but '-') are converted here exactly; the others
 * go through the C library's snprintf with a rebuilt, bounded specification. %s, %q and %* are produced here so
 * that embedded zeros and long strings are handled without intermediate copies.
 *
 * Everything is gathered in one local buffer, handed to io->put only when full and at the end, so that a short
 * result reaches the caller in one piece. (In wasm every call is costly: the engine makes none per item on the
 * common paths, and arguments the caller described in io->args need no callback.)
 */
#include "strfmt.h"

#include "digits.h"
#include "memops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ITEM_MAX 512 /* enough for "%99.99f" of 1e308 */
#define OUT_MAX 1024 /* the output is gathered in a local buffer of this size and handed to io->put in chunks */

/* The output is gathered in a local buffer buf[OUT_MAX] (items are formatted straight into it, at most ITEM_MAX
   bytes each) up to the write position w, which the functions below take and return: NULL when io->put failed. */

static __attribute__((noinline)) char *out_putslow(const StrFmtIO *io, char *buf, char *w, const char *s, size_t n) {
  if (w > buf && io->put(io->ud, buf, (size_t)(w - buf), 0)) return NULL;
  if (n > OUT_MAX / 2) return io->put(io->ud, s, n, 0) ? NULL : buf; /* long pieces bypass the buffer */
  mem_copy(buf, s, n);
  return buf + n;
}

static inline char *out_put(const StrFmtIO *io, char *buf, char *w, const char *s, size_t n) {
  if (n > (size_t)(buf + OUT_MAX - w)) return out_putslow(io, buf, w, s, n);
  mem_copy(w, s, n);
  return w + n;
}

/* makes room for one item (ITEM_MAX bytes) at w */
static inline char *out_room(const StrFmtIO *io, char *buf, char *w) {
  if (ITEM_MAX <= buf + OUT_MAX - w) return w;
  return io->put(io->ud, buf, (size_t)(w - buf), 0) ? NULL : buf;
}

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* the flags, as bits */
#define FL_MINUS 1
#define FL_PLUS 2
#define FL_SPACE 4
#define FL_HASH 8
#define FL_ZERO 16

static inline unsigned flag_bit(char c) {
  switch (c) {
  case '-': return FL_MINUS;
  case '+': return FL_PLUS;
  case ' ': return FL_SPACE;
  case '#': return FL_HASH;
  case '0': return FL_ZERO;
  default: return 0;
  }
}

static void set_err(char *err, size_t errsz, const char *a, const char *mid, const char *b) {
  snprintf(err, errsz, "%s%s%s", a, mid, b);
}

int64_t strfmt_toint64(double v) {
  if (v != v || v >= 9223372036854775808.0 || v < -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}

uint64_t strfmt_touint64(double v) {
  if (v < 0) return (uint64_t)strfmt_toint64(v);
  if (v != v || v >= 18446744073709551616.0) return (uint64_t)1 << 63;
  return (uint64_t)v;
}

static char *put_quoted(const StrFmtIO *io, char *buf, char *w, const char *s, size_t n) {
  size_t i, run = 0;
  if ((w = out_put(io, buf, w, "\"", 1)) == NULL) return NULL;
  for (i = 0; i < n; i++) {
    const char *esc = NULL;
    size_t elen = 2;
    switch (s[i]) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\0': esc = "\\000"; elen = 4; break;
    default: continue;
    }
    if (i > run && (w = out_put(io, buf, w, s + run, i - run)) == NULL) return NULL;
    if ((w = out_put(io, buf, w, esc, elen)) == NULL) return NULL;
    run = i + 1;
  }
  if (n > run && (w = out_put(io, buf, w, s + run, n - run)) == NULL) return NULL;
  return out_put(io, buf, w, "\"", 1);
}

static const char spaces[100] = "                                                                                                   ";

/* Lays out an item of width (or fewer) bytes around a body of len bytes: writes the padding spaces (on the right
   when left-justified) and returns where the body goes. The item's length is then max(width, len). */
static inline char *place(char *item, unsigned fl, int width, int len) {
  int pad = width > len ? width - len : 0; /* width < 100 */
  if (fl & FL_MINUS) {
    mem_copy(item + len, spaces, (size_t)pad);
    return item;
  }
  mem_copy(item, spaces, (size_t)pad);
  return item + pad;
}

static inline int item_len(int width, int len) {
  return width > len ? width : len;
}

/* %s with a form (a width, a precision or flags; only '-' matters) of a string of cn bytes, cn < 100, written to
   item (at most 2 * 99 bytes); returns the item's length */
static inline int put_padded(char *item, unsigned fl, int width, const char *s, size_t cn) {
  mem_copy(place(item, fl, width, (int)cn), s, cn);
  return item_len(width, (int)cn);
}

/* ---- exact fast paths for common numeric conversions (no snprintf: in wasm, the C library formats floating
   point through software long double arithmetic, which is very slow). Each returns the length written to
   item, or -1 when the case is not covered and snprintf must be used. Only no flags or '-' (left-justify), a
   width, and (where asked) a precision are handled. ---- */

/* the powers of ten that are exact doubles */
static const double pow10tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* %d %i %x %X without a precision */
static inline int fast_int(char *item, unsigned fl, int width, char conv, double v) {
  char *b, *e;
  int len;
  if (conv == 'd' || conv == 'i') {
    int64_t x = strfmt_toint64(v);
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    len = digits_len(u) + (x < 0);
    b = place(item, fl, width, len);
    digits_utoa(b + len, u);
    if (x < 0) *b = '-';
  } else { /* 'x' / 'X' */
    const char *digits = conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
    uint64_t u = strfmt_touint64(v);
    len = (67 - __builtin_clzll(u | 1)) >> 2; /* one digit per 4 bits, at least one */
    b = place(item, fl, width, len);
    e = b + len;
    do {
      *--e = digits[u & 15];
      u >>= 4;
    } while (u != 0);
  }
  return item_len(width, len);
}

/* round |v| * 10^prec to an integer exactly as correctly rounded decimal conversion would, when that can be
   decided safely from the double product; 0 = undecided */
static inline int fast_scaled(double av, int prec, uint64_t *out) {
  double x, fl, frac;
  if (!(av < 1e15)) return 0; /* also NaN */
  x = av * pow10tab[prec];
  if (!(x < 1099511627776.0)) return 0; /* 2^40: the product's error is below 2^-13 */
  fl = (double)(uint64_t)x;
  frac = x - fl;
  if (frac > 0.5 - 1.0 / 4096 && frac < 0.5 + 1.0 / 4096) return 0; /* too close to a tie */
  *out = (uint64_t)fl + (frac > 0.5 ? 1 : 0);
  return 1;
}

/* round av * 10^k (|k| <= 22, av > 0) to an integer like fast_scaled: one correctly rounded multiplication or
   division by an exact power of ten, so the same error bound applies; 0 = undecided */
static int fast_scaledk(double av, int k, uint64_t *out) {
  double x, fl, frac;
  if (k < -22 || k > 22) return 0;
  x = k >= 0 ? av * pow10tab[k] : av / pow10tab[-k];
  if (!(x < 1099511627776.0)) return 0;
  fl = (double)(uint64_t)x;
  frac = x - fl;
  if (frac > 0.5 - 1.0 / 4096 && frac < 0.5 + 1.0 / 4096) return 0;
  *out = (uint64_t)fl + (frac > 0.5 ? 1 : 0);
  return 1;
}

/* the length of fixedbody's output */
static inline int fixedbody_len(uint64_t n, int prec, int neg) {
  int nd = digits_len(n);
  if (nd < prec + 1) nd = prec + 1;
  return neg + nd + (prec > 0);
}

/* the digits of n with prec decimals ("12.50", "0.05", "-3"), with a sign when neg, ending just before e */
static inline void fixedbody(char *e, uint64_t n, int prec, int neg) {
  char *b;
  if (prec == 0)
    b = digits_utoa(e, n);
  else { /* the digits end one byte early (at least one before the point); the last prec move up past the point */
    b = digits_utoa(e - 1, n);
    while (e - 1 - b < prec + 1) *--b = '0';
    for (int i = 1; i <= prec; i++) e[-i] = e[-i - 1];
    e[-1 - prec] = '.';
  }
  if (neg) b[-1] = '-';
}

/* %f with a precision of at most 9 */
static inline int fast_f(char *item, unsigned fl, int width, int prec, double v) {
  uint64_t n;
  int len, neg = signbit(v) != 0;
  if (!fast_scaled(v < 0 ? -v : v, prec, &n)) return -1;
  len = fixedbody_len(n, prec, neg);
  fixedbody(place(item, fl, width, len) + len, n, prec, neg);
  return item_len(width, len);
}

/* %e / %E: d.ddde+XX with P <= 9 decimals for finite v */
static int fast_e(char *item, unsigned fl, int width, int P, char conv, double v) {
  char *b;
  int X = 0, tries, ax, exact, len, neg = signbit(v) != 0;
  double av = v < 0 ? -v : v;
  uint64_t n = 0, lo, hi;
  if (!(av < 1e300)) return -1; /* also NaN */
  lo = (uint64_t)pow10tab[P];
  hi = lo * 10;
  if (av > 0) {
    /* The decimal exponent X: exact from the comparisons when av >= 1 (10^X <= av), else an estimate that the
       rounded digits correct. A too large X can round up to exactly 10^P ("1.000e+X" instead of "9.999e+(X-1)"),
       so n == 10^P is taken only when X is known not to be too large: it was exact, or X - 1 gave too many
       digits (a carry, as in 9.9999999 -> 1.000000e+01). */
    if (av >= 1) {
      while (X < 22 && av >= pow10tab[X + 1]) X++;
    } else {
      while (X > -22 && av * pow10tab[-X] < 1) X--;
    }
    exact = av >= 1;
    for (tries = 0;; tries++) {
      if (tries == 4 || !fast_scaledk(av, P - X, &n)) return -1;
      if (n >= hi) { /* too many digits */
        X++;
        exact = 1;
      } else if (n < lo || (n == lo && !exact)) {
        X--;
        exact = 0;
      } else {
        break;
      }
    }
  }
  /* n has P + 1 digits (0 has them as zeros) and |X| < 100: fast_scaledk took P - X within [-22, 22] */
  len = neg + P + 1 + (P > 0) + 4;
  b = place(item, fl, width, len) + len - 4;
  ax = X < 0 ? -X : X;
  b[0] = conv;
  b[1] = X < 0 ? '-' : '+';
  memcpy(b + 2, digit_pairs + 2 * ax, 2);
  fixedbody(b, n, P, neg);
  return item_len(width, len);
}

/* %g for 1 <= |v| < 10^P (fixed notation), or 0 */
static int fast_g(char *item, unsigned fl, int width, int precision, double v) {
  int P = precision < 0 ? 6 : (precision == 0 ? 1 : precision), X, d, len, neg = signbit(v) != 0;
  double av = v < 0 ? -v : v;
  uint64_t n;
  if (P > 9) return -1;
  if (av == 0) {
    n = 0;
    d = 0;
  } else {
    if (!(av >= 1 && av < pow10tab[P])) return -1;
    for (X = 0; X + 1 < P && av >= pow10tab[X + 1]; X++) {
    }
    d = P - 1 - X;
    if (!fast_scaled(av, d, &n) || n >= (uint64_t)pow10tab[P]) return -1; /* rounding reached 10^P: exponent form */
    while (d > 0 && n % 10 == 0) { /* strip trailing zeros (no '#') */
      n /= 10;
      d--;
    }
  }
  len = fixedbody_len(n, d, neg);
  fixedbody(place(item, fl, width, len) + len, n, d, neg);
  return item_len(width, len);
}

/* a numeric conversion through snprintf (the cases the fast paths leave); form[0..formlen) is the text between
   '%' and the conversion (flags, width, precision), which is valid C as it stands */
static __attribute__((noinline)) int slow_num(char *item, const char *form, size_t formlen, char conv, double v) {
  char f[24]; /* '%', at most 5 + 2 + 3 form bytes, "ll", the conversion, '\0' */
  int n;
  f[0] = '%';
  memcpy(f + 1, form, formlen);
  switch (conv) {
  case 'd': case 'i':
    memcpy(f + 1 + formlen, "lld", 4);
    n = snprintf(item, ITEM_MAX, f, (long long)strfmt_toint64(v));
    break;
  case 'c':
    memcpy(f + 1 + formlen, "c", 2);
    n = snprintf(item, ITEM_MAX, f, (int)(unsigned char)(uint64_t)strfmt_toint64(v));
    break;
  case 'o': case 'u': case 'x': case 'X':
    f[1 + formlen] = 'l';
    f[2 + formlen] = 'l';
    f[3 + formlen] = conv;
    f[4 + formlen] = '\0';
    n = snprintf(item, ITEM_MAX, f, (unsigned long long)strfmt_touint64(v));
    break;
  default:
    f[1 + formlen] = conv;
    f[2 + formlen] = '\0';
    n = snprintf(item, ITEM_MAX, f, v);
    break;
  }
  if (n < 0) n = 0;
  if (n >= ITEM_MAX) n = ITEM_MAX - 1;
  return n;
}

int strfmt_format(const char *fmt, size_t len, const StrFmtIO *io, char *err, size_t errsz) {
  const char *p = fmt, *end = fmt + len;
  int argn = 1;
  char buf[OUT_MAX], *w = buf;
  while (p < end) {
    const char *pct = p, *form, *q;
    const StrFmtArg *fa;
    unsigned fl = 0, bit;
    int width = -1, precision = -1;
    char conv;
    while (pct < end && *pct != '%') pct++; /* (literal runs are short: no memchr call) */
    if (pct > p && (w = out_put(io, buf, w, p, (size_t)(pct - p))) == NULL) return STRFMT_CBFAIL;
    if (pct == end) break;
    /* From here on the terminating '\0' (fmt[len]) ends every scan: it is no flag, digit, '.', '%' or '*'. */
    p = pct + 1;
    if (*p == '%') {
      if ((w = out_put(io, buf, w, "%", 1)) == NULL) return STRFMT_CBFAIL;
      p++;
      continue;
    }
    if (++argn > io->nargs) {
      char num[16];
      snprintf(num, sizeof num, "%d", argn);
      set_err(err, errsz, "missing argument #", num, "");
      return STRFMT_ERROR;
    }
    fa = argn - 2 < io->nfast ? &io->args[argn - 2] : NULL; /* (no kind when NULL) */
    if (*p == '*') {
      const char *s;
      size_t n;
      double dummy;
      p++;
      if (io->arg(io->ud, argn, STRFMT_ARGANY, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (n && (w = out_put(io, buf, w, s, n)) == NULL) return STRFMT_CBFAIL;
      continue;
    }
    /* scan the form */
    form = q = p;
    while ((bit = flag_bit(*q)) != 0) {
      if (q - p >= 5) {
        set_err(err, errsz, "invalid format (repeated flags)", "", "");
        return STRFMT_ERROR;
      }
      fl |= bit;
      q++;
    }
    if (is_digit(*q)) {
      width = *q++ - '0';
      if (is_digit(*q)) width = width * 10 + (*q++ - '0');
    }
    if (*q == '.') {
      q++;
      precision = 0;
      if (is_digit(*q)) {
        precision = *q++ - '0';
        if (is_digit(*q)) precision = precision * 10 + (*q++ - '0');
      }
    }
    if (is_digit(*q)) {
      set_err(err, errsz, "invalid format (width or precision too long)", "", "");
      return STRFMT_ERROR;
    }
    conv = *q; /* '\0' at the end: an invalid option */
    p = q + 1;
    switch (conv) {
    case 'd': case 'i': case 'c': case 'o': case 'u': case 'x': case 'X':
    case 'e': case 'E': case 'f': case 'g': case 'G': {
      char *item;
      double v;
      int n = -1;
      if (fa != NULL && fa->kind == STRFMT_ARGNUM)
        v = fa->num;
      else {
        const char *dummy_s;
        size_t dummy_n;
        if (io->arg(io->ud, argn, STRFMT_ARGNUM, &v, &dummy_s, &dummy_n)) return STRFMT_CBFAIL;
      }
      if ((item = out_room(io, buf, w)) == NULL) return STRFMT_CBFAIL; /* ITEM_MAX bytes */
      if ((fl & ~(unsigned)FL_MINUS) == 0) { /* the exact fast paths (the width is at most 99) */
        int prec = precision < 0 ? 6 : precision;
        switch (conv) {
        case 'd': case 'i': case 'x': case 'X':
          if (precision < 0) n = fast_int(item, fl, width, conv, v);
          break;
        case 'f':
          if (prec <= 9) n = fast_f(item, fl, width, prec, v);
          break;
        case 'e': case 'E':
          if (prec <= 9) n = fast_e(item, fl, width, prec, conv, v);
          break;
        case 'g': n = fast_g(item, fl, width, precision, v); break;
        default: break;
        }
      }
      if (n < 0) n = slow_num(item, form, (size_t)(q - form), conv, v);
      w = item + n;
      break;
    }
    case 's': {
      const char *s;
      size_t n;
      if (fa != NULL && fa->kind == STRFMT_ARGSTR) {
        s = fa->s;
        n = fa->len;
      } else {
        double dummy;
        if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      }
      if (precision < 0 && (q == form || n >= 100)) { /* no form, or one that cannot matter */
        if (n && (w = out_put(io, buf, w, s, n)) == NULL) return STRFMT_CBFAIL;
      } else { /* up to the first zero byte, at most precision bytes (so in all fewer than 100) */
        size_t cn = 0, lim = precision >= 0 && (size_t)precision < n ? (size_t)precision : n;
        while (cn < lim && s[cn] != '\0') cn++;
        if ((w = out_room(io, buf, w)) == NULL) return STRFMT_CBFAIL;
        w += put_padded(w, fl, width, s, cn);
      }
      break;
    }
    case 'q': {
      const char *s;
      size_t n;
      double dummy;
      if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if ((w = put_quoted(io, buf, w, s, n)) == NULL) return STRFMT_CBFAIL;
      break;
    }
    case '*':
      set_err(err, errsz, "'%*' does not take a form", "", "");
      return STRFMT_ERROR;
    default: {
      char c[2];
      c[0] = conv;
      c[1] = '\0';
      set_err(err, errsz, "invalid option '%", c, "' to 'format'");
      return STRFMT_ERROR;
    }
    }
  }
  return io->put(io->ud, buf, (size_t)(w - buf), 1) ? STRFMT_CBFAIL : STRFMT_OK;
}
