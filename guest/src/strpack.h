/*
 * strpack.h - format parsing and integer coding for string.pack/packsize/unpack (pure C).
 */
#ifndef STRPACK_H
#define STRPACK_H

#include <stddef.h>
#include <stdint.h>

#define SP_MAXINTSIZE 16
#define SP_NATIVEALIGN 8
#define SP_MAXSIZE 0x7fffffff

typedef enum {
  SP_INT,      /* signed integer */
  SP_UINT,     /* unsigned integer */
  SP_FLOAT,    /* 4-byte float */
  SP_DOUBLE,   /* 8-byte double */
  SP_CHAR,     /* fixed-size string */
  SP_STRING,   /* length-prefixed string */
  SP_ZSTR,     /* zero-terminated string */
  SP_PADDING,  /* one zero byte */
  SP_PADALIGN, /* 'X' */
  SP_NOP       /* endianness/alignment/space: no data */
} SpKind;

typedef struct SpHeader {
  int little;
  int maxalign;
} SpHeader;

void sp_init(SpHeader *h);
/* Parse the next option at *fmt (before end), advancing *fmt. totalsize is the current offset (for alignment).
   Returns the kind with *size and *ntoalign set; on error returns -1 (message in err) or -2 (argument #1 error,
   message in err). */
int sp_option(SpHeader *h, const char **fmt, const char *end, size_t totalsize, int *size, int *ntoalign,
              char *err, size_t errsz);
/* Encode v as size bytes; for size > 8 the extra bytes are 0xff when neg. */
void sp_putint(unsigned char *out, uint64_t v, int little, int size, int neg);
/* Decode size bytes. Returns 0 ok, 1 if the value does not fit in 64 bits. */
int sp_getint(const unsigned char *in, int little, int size, int issigned, int64_t *out);
/* copy n bytes, reversing them when the requested endianness differs from the host's (little) */
void sp_copyendian(unsigned char *dst, const unsigned char *src, int n, int little);

#endif
