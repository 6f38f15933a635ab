/*
 * strfmt.c - the string.format engine (language reference §4.3), written for Palisade.
 *
 * Spec grammar: '%' flags{0..5 of "-+ #0"} width{0..2 digits} ['.' precision{0..2 digits}] conversion.
 * Numeric conversions go through the C library's snprintf with a rebuilt, bounded specification; %s, %q and %*
 * are produced here so that embedded zeros and long strings are handled without intermediate copies.
 */
#include "strfmt.h"

#include "digits.h"
#include "memops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ITEM_MAX 512 /* enough for "%99.99f" of 1e308 */
#define OUT_MAX 1024 /* the output is gathered in a local buffer of this size and handed to io->put in chunks */

/* the local output buffer: items are formatted straight into it (at most ITEM_MAX bytes each) */
typedef struct Out {
  const StrFmtIO *io;
  size_t n;
  char buf[OUT_MAX];
} Out;

/* 0 ok, nonzero = the put callback failed (as for every out_* function) */
static int out_flush(Out *o) {
  size_t n = o->n;
  o->n = 0;
  return n != 0 && o->io->put(o->io->ud, o->buf, n);
}

static __attribute__((noinline)) int out_putslow(Out *o, const char *s, size_t n) {
  if (out_flush(o)) return 1;
  if (n > OUT_MAX / 2) return o->io->put(o->io->ud, s, n); /* long pieces bypass the buffer */
  mem_copy(o->buf, s, n);
  o->n = n;
  return 0;
}

static inline int out_put(Out *o, const char *s, size_t n) {
  if (n > OUT_MAX - o->n) return out_putslow(o, s, n);
  mem_copy(o->buf + o->n, s, n);
  o->n += n;
  return 0;
}

/* makes room for one item (ITEM_MAX bytes) at o->buf + o->n */
static int out_room(Out *o) {
  return ITEM_MAX > OUT_MAX - o->n ? out_flush(o) : 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_flag(char c) { return c == '-' || c == '+' || c == ' ' || c == '#' || c == '0'; }

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

typedef struct Spec {
  char flags[8];
  int nflags;
  int width;     /* -1 = none */
  int precision; /* -1 = none */
  char conv;
  int hasform;   /* anything between '%' and the conversion */
} Spec;

/* rebuild "%<flags><width>.<prec><lenmod><conv>" */
static void build_form(char *out, const Spec *sp, const char *lenmod, char conv) {
  char *o = out;
  int i;
  *o++ = '%';
  for (i = 0; i < sp->nflags; i++) *o++ = sp->flags[i];
  if (sp->width >= 0) o += sprintf(o, "%d", sp->width);
  if (sp->precision >= 0) o += sprintf(o, ".%d", sp->precision);
  while (*lenmod) *o++ = *lenmod++;
  *o++ = conv;
  *o = '\0';
}

static int put_padded(Out *io, const Spec *sp, const char *s, size_t n) {
  size_t pad = (sp->width > 0 && (size_t)sp->width > n) ? (size_t)sp->width - n : 0;
  int left = memchr(sp->flags, '-', (size_t)sp->nflags) != NULL;
  static const char spaces[100] = "                                                                                                   ";
  if (!left && pad && out_put(io, spaces, pad)) return 1;
  if (n && out_put(io, s, n)) return 1;
  if (left && pad && out_put(io, spaces, pad)) return 1;
  return 0;
}

static int put_quoted(Out *io, const char *s, size_t n) {
  size_t i, run = 0;
  if (out_put(io, "\"", 1)) return 1;
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
    if (i > run && out_put(io, s + run, i - run)) return 1;
    if (out_put(io, esc, elen)) return 1;
    run = i + 1;
  }
  if (n > run && out_put(io, s + run, n - run)) return 1;
  return out_put(io, "\"", 1);
}

/* ---- exact fast paths for common numeric conversions (no snprintf: in wasm, the C library formats floating
   point through software long double arithmetic, which is very slow). Each returns the length written to
   item, or -1 when the case is not covered and snprintf must be used. ---- */

/* the powers of ten that are exact doubles */
static const double pow10tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* only no flags or a lone '-' (left-justify), a width, and (where asked) a precision are handled */
static int fast_flags_ok(const Spec *sp) {
  return sp->nflags == 0 || (sp->nflags == 1 && sp->flags[0] == '-');
}

/* copy body (n bytes) into item padded to the spec's width */
static int fast_pad(char *item, const Spec *sp, const char *body, int n) {
  int pad = sp->width > n ? sp->width - n : 0;
  int left = sp->nflags == 1; /* '-' */
  for (int i = 0; i < pad; i++) item[left ? n + i : i] = ' ';
  mem_copy(item + (left ? 0 : pad), body, (size_t)n);
  return n + pad;
}

static int fast_int(char *item, const Spec *sp, double v) {
  char buf[32], *e = buf + sizeof buf, *b;
  if (!fast_flags_ok(sp) || sp->precision >= 0) return -1;
  if (sp->conv == 'd' || sp->conv == 'i') {
    int64_t x = strfmt_toint64(v);
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    b = digits_utoa(e, u);
    if (x < 0) *--b = '-';
  } else { /* 'x' / 'X' */
    const char *digits = sp->conv == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
    uint64_t u = strfmt_touint64(v);
    b = e;
    do {
      *--b = digits[u & 15];
      u >>= 4;
    } while (u != 0);
  }
  return fast_pad(item, sp, b, (int)(e - b));
}

/* round |v| * 10^prec to an integer exactly as correctly rounded decimal conversion would, when that can be
   decided safely from the double product; 0 = undecided */
static int fast_scaled(double av, int prec, uint64_t *out) {
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

/* digits of n with prec decimals ("12.50"), optional sign, at the end of buf ending at e */
static char *fast_fixedbody(char *e, uint64_t n, int prec, int neg) {
  char *b;
  if (prec == 0)
    b = digits_utoa(e, n);
  else { /* the digits end one byte early (at least one before the point); the last prec move up past the point */
    b = digits_utoa(e - 1, n);
    while (e - 1 - b < prec + 1) *--b = '0';
    for (int i = 1; i <= prec; i++) e[-i] = e[-i - 1];
    e[-1 - prec] = '.';
  }
  if (neg) *--b = '-';
  return b;
}

static int fast_f(char *item, const Spec *sp, double v) {
  char buf[64], *e = buf + sizeof buf, *b;
  int prec = sp->precision < 0 ? 6 : sp->precision;
  uint64_t n;
  if (!fast_flags_ok(sp) || prec > 9) return -1;
  if (!fast_scaled(v < 0 ? -v : v, prec, &n)) return -1;
  b = fast_fixedbody(e, n, prec, signbit(v) != 0);
  return fast_pad(item, sp, b, (int)(e - b));
}

/* %e / %E: d.ddde+XX with P <= 9 decimals for finite v */
static int fast_e(char *item, const Spec *sp, double v) {
  char buf[64], *e = buf + sizeof buf, *b;
  int P = sp->precision < 0 ? 6 : sp->precision, X = 0, tries, ax, exact;
  double av = v < 0 ? -v : v;
  uint64_t n = 0, lo, hi;
  if (!fast_flags_ok(sp) || P > 9 || !(av < 1e300)) return -1; /* also NaN */
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
  ax = X < 0 ? -X : X;
  b = e;
  do {
    *--b = (char)('0' + ax % 10);
    ax /= 10;
  } while (ax != 0);
  if (e - b < 2) *--b = '0';
  *--b = X < 0 ? '-' : '+';
  *--b = sp->conv;
  b = fast_fixedbody(b, n, P, signbit(v) != 0);
  return fast_pad(item, sp, b, (int)(e - b));
}

/* %g for 1 <= |v| < 10^P (fixed notation), or 0 */
static int fast_g(char *item, const Spec *sp, double v) {
  char buf[64], *e = buf + sizeof buf, *b;
  int P = sp->precision < 0 ? 6 : (sp->precision == 0 ? 1 : sp->precision), X, d;
  double av = v < 0 ? -v : v;
  uint64_t n;
  if (!fast_flags_ok(sp) || P > 9) return -1;
  if (av == 0) {
    b = e;
    *--b = '0';
    if (signbit(v)) *--b = '-';
    return fast_pad(item, sp, b, (int)(e - b));
  }
  if (!(av >= 1 && av < pow10tab[P])) return -1;
  for (X = 0; X + 1 < P && av >= pow10tab[X + 1]; X++) {
  }
  d = P - 1 - X;
  if (!fast_scaled(av, d, &n) || n >= (uint64_t)pow10tab[P]) return -1; /* rounding reached 10^P: exponent form */
  while (d > 0 && n % 10 == 0) { /* strip trailing zeros (no '#') */
    n /= 10;
    d--;
  }
  b = fast_fixedbody(e, n, d, signbit(v) != 0);
  return fast_pad(item, sp, b, (int)(e - b));
}

int strfmt_format(const char *fmt, size_t len, const StrFmtIO *io, char *err, size_t errsz) {
  const char *p = fmt, *end = fmt + len;
  int argn = 1;
  Out out;
  out.io = io;
  out.n = 0;
  while (p < end) {
    const char *pct = p;
    Spec sp;
    const char *q;
    while (pct < end && *pct != '%') pct++; /* (literal runs are short: no memchr call) */
    if (pct > p && out_put(&out, p, (size_t)(pct - p))) return STRFMT_CBFAIL;
    if (pct == end) break;
    p = pct + 1;
    if (p < end && *p == '%') {
      if (out_put(&out, "%", 1)) return STRFMT_CBFAIL;
      p++;
      continue;
    }
    if (++argn > io->nargs) {
      char num[16];
      snprintf(num, sizeof num, "%d", argn);
      set_err(err, errsz, "missing argument #", num, "");
      return STRFMT_ERROR;
    }
    if (p < end && *p == '*') {
      const char *s;
      size_t n;
      double dummy;
      p++;
      if (io->arg(io->ud, argn, STRFMT_ARGANY, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (n && out_put(&out, s, n)) return STRFMT_CBFAIL;
      continue;
    }
    /* scan the form */
    sp.nflags = 0;
    sp.width = sp.precision = -1;
    q = p;
    while (q < end && is_flag(*q)) {
      if (sp.nflags >= 5) {
        set_err(err, errsz, "invalid format (repeated flags)", "", "");
        return STRFMT_ERROR;
      }
      sp.flags[sp.nflags++] = *q++;
    }
    if (q < end && is_digit(*q)) {
      sp.width = *q++ - '0';
      if (q < end && is_digit(*q)) sp.width = sp.width * 10 + (*q++ - '0');
    }
    if (q < end && *q == '.') {
      q++;
      sp.precision = 0;
      if (q < end && is_digit(*q)) {
        sp.precision = *q++ - '0';
        if (q < end && is_digit(*q)) sp.precision = sp.precision * 10 + (*q++ - '0');
      }
    }
    if (q < end && is_digit(*q)) {
      set_err(err, errsz, "invalid format (width or precision too long)", "", "");
      return STRFMT_ERROR;
    }
    sp.hasform = q != p;
    sp.conv = q < end ? *q : '\0';
    p = q < end ? q + 1 : q;
    switch (sp.conv) {
    case 'd': case 'i': case 'c': case 'o': case 'u': case 'x': case 'X':
    case 'e': case 'E': case 'f': case 'g': case 'G': {
      char form[40], *item;
      double v;
      int n;
      const char *dummy_s;
      size_t dummy_n;
      if (io->arg(io->ud, argn, STRFMT_ARGNUM, &v, &dummy_s, &dummy_n)) return STRFMT_CBFAIL;
      if (out_room(&out)) return STRFMT_CBFAIL;
      item = out.buf + out.n; /* ITEM_MAX bytes */
      n = -1;
      if (sp.width < 100) {
        switch (sp.conv) {
        case 'd': case 'i': case 'x': case 'X': n = fast_int(item, &sp, v); break;
        case 'f': n = fast_f(item, &sp, v); break;
        case 'g': n = fast_g(item, &sp, v); break;
        case 'e': case 'E': n = fast_e(item, &sp, v); break;
        default: break;
        }
      }
      if (n >= 0) {
        out.n += (size_t)n;
        break;
      }
      switch (sp.conv) {
      case 'd': case 'i':
        build_form(form, &sp, "ll", 'd');
        n = snprintf(item, ITEM_MAX, form, (long long)strfmt_toint64(v));
        break;
      case 'c':
        build_form(form, &sp, "", 'c');
        n = snprintf(item, ITEM_MAX, form, (int)(unsigned char)(uint64_t)strfmt_toint64(v));
        break;
      case 'o': case 'u': case 'x': case 'X':
        build_form(form, &sp, "ll", sp.conv);
        n = snprintf(item, ITEM_MAX, form, (unsigned long long)strfmt_touint64(v));
        break;
      default:
        build_form(form, &sp, "", sp.conv);
        n = snprintf(item, ITEM_MAX, form, v);
        break;
      }
      if (n < 0) n = 0;
      if (n >= ITEM_MAX) n = ITEM_MAX - 1;
      out.n += (size_t)n;
      break;
    }
    case 's': {
      const char *s;
      size_t n;
      double dummy;
      if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (sp.precision < 0 && (!sp.hasform || n >= 100)) {
        if (n && out_put(&out, s, n)) return STRFMT_CBFAIL;
      } else {
        const char *z = memchr(s, '\0', n);
        size_t cn = z ? (size_t)(z - s) : n;
        if (sp.precision >= 0 && cn > (size_t)sp.precision) cn = (size_t)sp.precision;
        if (put_padded(&out, &sp, s, cn)) return STRFMT_CBFAIL;
      }
      break;
    }
    case 'q': {
      const char *s;
      size_t n;
      double dummy;
      if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (put_quoted(&out, s, n)) return STRFMT_CBFAIL;
      break;
    }
    case '*':
      set_err(err, errsz, "'%*' does not take a form", "", "");
      return STRFMT_ERROR;
    default: {
      char c[2];
      c[0] = sp.conv;
      c[1] = '\0';
      set_err(err, errsz, "invalid option '%", c, "' to 'format'");
      return STRFMT_ERROR;
    }
    }
  }
  return out_flush(&out) ? STRFMT_CBFAIL : STRFMT_OK;
}
