/*
 * strpack.c - see strpack.h and the language reference §4.4. Written for Palisade.
 */
#include "strpack.h"

#include <stdio.h>
#include <string.h>

void sp_init(SpHeader *h) {
  h->little = 1;
  h->maxalign = 1;
}

/* A decimal size in a format, or def when there is none. Digits past SP_MAXSIZE stop accumulating, so a result
   above SP_MAXSIZE means "too large" (the callers report it). */
static long long read_num(const char **fmt, const char *end, int def) {
  const char *p = *fmt;
  long long v = 0;
  if (p >= end || *p < '0' || *p > '9') return def;
  while (p < end && *p >= '0' && *p <= '9') {
    if (v <= SP_MAXSIZE) v = v * 10 + (*p - '0');
    p++;
  }
  *fmt = p;
  return v;
}

static int int_size(const char **fmt, const char *end, int def, char *err, size_t errsz) {
  long long n = read_num(fmt, end, def);
  if (n > SP_MAXSIZE) {
    snprintf(err, errsz, "integral size too large");
    return -1;
  }
  if (n < 1 || n > SP_MAXINTSIZE) {
    snprintf(err, errsz, "integral size (%d) out of limits [1,%d]", (int)n, SP_MAXINTSIZE);
    return -1;
  }
  return (int)n;
}

/* option without alignment handling; returns kind or -1/-2 */
static int raw_option(SpHeader *h, const char **fmt, const char *end, int *size, char *err, size_t errsz) {
  char opt = *(*fmt)++;
  *size = 0;
  switch (opt) {
  case 'b': *size = 1; return SP_INT;
  case 'B': *size = 1; return SP_UINT;
  case 'h': *size = 2; return SP_INT;
  case 'H': *size = 2; return SP_UINT;
  case 'l': *size = 8; return SP_INT;
  case 'L': *size = 8; return SP_UINT;
  case 'j': *size = 4; return SP_INT;
  case 'J': *size = 4; return SP_UINT;
  case 'T': *size = 4; return SP_UINT;
  case 'f': *size = 4; return SP_FLOAT;
  case 'd': case 'n': *size = 8; return SP_DOUBLE;
  case 'i':
    if ((*size = int_size(fmt, end, 4, err, errsz)) < 0) return -1;
    return SP_INT;
  case 'I':
    if ((*size = int_size(fmt, end, 4, err, errsz)) < 0) return -1;
    return SP_UINT;
  case 's':
    if ((*size = int_size(fmt, end, 4, err, errsz)) < 0) return -1;
    return SP_STRING;
  case 'c': {
    long long n = read_num(fmt, end, -1);
    if (n < 0) {
      snprintf(err, errsz, "missing size for format option 'c'");
      return -1;
    }
    if (n > SP_MAXSIZE) {
      snprintf(err, errsz, "size too large for format option 'c'");
      return -1;
    }
    *size = (int)n;
    return SP_CHAR;
  }
  case 'z': return SP_ZSTR;
  case 'x': *size = 1; return SP_PADDING;
  case 'X': return SP_PADALIGN;
  case ' ': return SP_NOP;
  case '<': h->little = 1; return SP_NOP;
  case '>': h->little = 0; return SP_NOP;
  case '=': h->little = 1; return SP_NOP;
  case '!': {
    int a = int_size(fmt, end, SP_NATIVEALIGN, err, errsz);
    if (a < 0) return -1;
    h->maxalign = a;
    return SP_NOP;
  }
  default:
    snprintf(err, errsz, "invalid format option '%c'", opt);
    return -1;
  }
}

int sp_option(SpHeader *h, const char **fmt, const char *end, size_t totalsize, int *size, int *ntoalign,
              char *err, size_t errsz) {
  int kind = raw_option(h, fmt, end, size, err, errsz);
  int align = *size;
  *ntoalign = 0;
  if (kind < 0) return kind;
  if (kind == SP_PADALIGN) {
    int k;
    if (*fmt >= end) {
      snprintf(err, errsz, "invalid next option for option 'X'");
      return -2;
    }
    k = raw_option(h, fmt, end, &align, err, errsz); /* the next option only gives the alignment */
    if (k < 0) return k;
    if (k == SP_CHAR || align == 0) {
      snprintf(err, errsz, "invalid next option for option 'X'");
      return -2;
    }
  }
  if (align > 1 && kind != SP_CHAR) {
    if (align > h->maxalign) align = h->maxalign;
    if ((align & (align - 1)) != 0) {
      snprintf(err, errsz, "format asks for alignment not power of 2");
      return -2;
    }
    *ntoalign = (int)((size_t)(align - (int)(totalsize & (size_t)(align - 1))) & (size_t)(align - 1));
  }
  return kind;
}

void sp_putint(unsigned char *out, uint64_t v, int little, int size, int neg) {
  int i;
  for (i = 0; i < size; i++) {
    unsigned char byte = (unsigned char)(i < 8 ? (v >> (8 * i)) & 0xff : (neg ? 0xff : 0));
    out[little ? i : size - 1 - i] = byte;
  }
}

int sp_getint(const unsigned char *in, int little, int size, int issigned, int64_t *out) {
  uint64_t v = 0;
  int i, lim = size <= 8 ? size : 8;
  for (i = lim - 1; i >= 0; i--) v = (v << 8) | in[little ? i : size - 1 - i];
  if (size < 8) {
    if (issigned) {
      uint64_t mask = (uint64_t)1 << (size * 8 - 1);
      v = (v ^ mask) - mask; /* sign-extend */
    }
  } else if (size > 8) {
    /* extra bytes must be a plain extension of the value */
    int fill = (issigned && (int64_t)v < 0) ? 0xff : 0;
    for (i = 8; i < size; i++)
      if (in[little ? i : size - 1 - i] != fill) return 1;
  }
  *out = (int64_t)v;
  return 0;
}

void sp_copyendian(unsigned char *dst, const unsigned char *src, int n, int little) {
  int i;
  if (little)
    memcpy(dst, src, (size_t)n);
  else
    for (i = 0; i < n; i++) dst[i] = src[n - 1 - i];
}
