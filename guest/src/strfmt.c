/*
 * strfmt.c - the string.format engine (language reference §4.3), written for Palisade.
 *
 * Spec grammar: '%' flags{0..5 of "-+ #0"} width{0..2 digits} ['.' precision{0..2 digits}] conversion.
 * Numeric conversions go through the C library's snprintf with a rebuilt, bounded specification; %s, %q and %*
 * are produced here so that embedded zeros and long strings are handled without intermediate copies.
 */
#include "strfmt.h"

#include <stdio.h>
#include <string.h>

#define FMT_FLAGS "-+ #0"
#define ITEM_MAX 512 /* enough for "%99.99f" of 1e308 */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

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

static int put_padded(const StrFmtIO *io, const Spec *sp, const char *s, size_t n) {
  size_t pad = (sp->width > 0 && (size_t)sp->width > n) ? (size_t)sp->width - n : 0;
  int left = memchr(sp->flags, '-', (size_t)sp->nflags) != NULL;
  static const char spaces[100] = "                                                                                                   ";
  if (!left && pad && io->put(io->ud, spaces, pad)) return 1;
  if (n && io->put(io->ud, s, n)) return 1;
  if (left && pad && io->put(io->ud, spaces, pad)) return 1;
  return 0;
}

static int put_quoted(const StrFmtIO *io, const char *s, size_t n) {
  size_t i, run = 0;
  if (io->put(io->ud, "\"", 1)) return 1;
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
    if (i > run && io->put(io->ud, s + run, i - run)) return 1;
    if (io->put(io->ud, esc, elen)) return 1;
    run = i + 1;
  }
  if (n > run && io->put(io->ud, s + run, n - run)) return 1;
  return io->put(io->ud, "\"", 1);
}

int strfmt_format(const char *fmt, size_t len, const StrFmtIO *io, char *err, size_t errsz) {
  const char *p = fmt, *end = fmt + len;
  int argn = 1;
  while (p < end) {
    const char *pct = memchr(p, '%', (size_t)(end - p));
    Spec sp;
    const char *q;
    if (pct == NULL) return io->put(io->ud, p, (size_t)(end - p)) ? STRFMT_CBFAIL : STRFMT_OK;
    if (pct > p && io->put(io->ud, p, (size_t)(pct - p))) return STRFMT_CBFAIL;
    p = pct + 1;
    if (p < end && *p == '%') {
      if (io->put(io->ud, "%", 1)) return STRFMT_CBFAIL;
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
      if (n && io->put(io->ud, s, n)) return STRFMT_CBFAIL;
      continue;
    }
    /* scan the form */
    memset(&sp, 0, sizeof sp);
    sp.width = sp.precision = -1;
    q = p;
    while (q < end && *q != '\0' && strchr(FMT_FLAGS, *q) != NULL) {
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
      char form[40], item[ITEM_MAX];
      double v;
      int n;
      const char *dummy_s;
      size_t dummy_n;
      if (io->arg(io->ud, argn, STRFMT_ARGNUM, &v, &dummy_s, &dummy_n)) return STRFMT_CBFAIL;
      switch (sp.conv) {
      case 'd': case 'i':
        build_form(form, &sp, "ll", 'd');
        n = snprintf(item, sizeof item, form, (long long)strfmt_toint64(v));
        break;
      case 'c':
        build_form(form, &sp, "", 'c');
        n = snprintf(item, sizeof item, form, (int)(unsigned char)(uint64_t)strfmt_toint64(v));
        break;
      case 'o': case 'u': case 'x': case 'X':
        build_form(form, &sp, "ll", sp.conv);
        n = snprintf(item, sizeof item, form, (unsigned long long)strfmt_touint64(v));
        break;
      default:
        build_form(form, &sp, "", sp.conv);
        n = snprintf(item, sizeof item, form, v);
        break;
      }
      if (n < 0) n = 0;
      if ((size_t)n >= sizeof item) n = (int)sizeof item - 1;
      if (n && io->put(io->ud, item, (size_t)n)) return STRFMT_CBFAIL;
      break;
    }
    case 's': {
      const char *s;
      size_t n;
      double dummy;
      if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (sp.precision < 0 && (!sp.hasform || n >= 100)) {
        if (n && io->put(io->ud, s, n)) return STRFMT_CBFAIL;
      } else {
        const char *z = memchr(s, '\0', n);
        size_t cn = z ? (size_t)(z - s) : n;
        if (sp.precision >= 0 && cn > (size_t)sp.precision) cn = (size_t)sp.precision;
        if (put_padded(io, &sp, s, cn)) return STRFMT_CBFAIL;
      }
      break;
    }
    case 'q': {
      const char *s;
      size_t n;
      double dummy;
      if (io->arg(io->ud, argn, STRFMT_ARGSTR, &dummy, &s, &n)) return STRFMT_CBFAIL;
      if (put_quoted(io, s, n)) return STRFMT_CBFAIL;
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
  return STRFMT_OK;
}
