/*
 * buflib.c - the `buffer` library (reference §4.11): fixed-size mutable byte arrays, 0-based offsets,
 * little-endian numbers, bit-level access. Pure byte/bit helpers first (tested by guest/tests/libs_test.c with
 * PAL_LIBS_PURE), glue after.
 */
#include <stdint.h>
#include <string.h>

#include "pal.h"

#define BUF_MAX_SIZE ((size_t)1 << 30)

/* little-endian loads/stores, independent of the host byte order */
static uint64_t le_load(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void le_store(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* range [off, off+size) inside [0, len)? off may be negative */
static int buf_inrange(int64_t off, uint64_t size, size_t len) {
  return off >= 0 && (uint64_t)off <= (uint64_t)len && size <= (uint64_t)len - (uint64_t)off;
}

static uint32_t bits_mask(int count) { return count >= 32 ? 0xFFFFFFFFu : ((1u << count) - 1u); }

/* bit 0 = least significant bit of byte 0; caller checked bounds; 0 <= count <= 32 */
static uint32_t bits_read(const uint8_t *buf, uint64_t bitoff, int count) {
  if (count == 0) return 0;
  uint64_t start = bitoff >> 3;
  int shift = (int)(bitoff & 7);
  int nbytes = (shift + count + 7) / 8; /* at most 5 */
  uint64_t v = le_load(buf + start, nbytes);
  return (uint32_t)(v >> shift) & bits_mask(count);
}

static void bits_write(uint8_t *buf, uint64_t bitoff, int count, uint32_t value) {
  if (count == 0) return;
  uint64_t start = bitoff >> 3;
  int shift = (int)(bitoff & 7);
  int nbytes = (shift + count + 7) / 8;
  uint64_t v = le_load(buf + start, nbytes);
  uint64_t m = (uint64_t)bits_mask(count) << shift;
  v = (v & ~m) | (((uint64_t)value << shift) & m);
  le_store(buf + start, v, nbytes);
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static double f64_from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}
static uint64_t f64_to_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

#ifndef PAL_LIBS_PURE

static int oob(pal_State *L) { return pal_errorf(L, "buffer access out of bounds"); }

static int charge_bytes(pal_State *L, size_t n) { return pal_chargefuel(L, 1 + (int64_t)(n / 32)); }

static int buf_create(pal_State *L) {
  int size = pal_checkinteger(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (size < 0) return pal_argerror(L, 1, "size");
  if ((size_t)size > BUF_MAX_SIZE) return pal_errorf(L, "memory allocation error: block too big");
  if (charge_bytes(L, (size_t)size)) return PAL_ERRSIG;
  uint8_t *p = pal_newbuffer(L, (size_t)size);
  if (p == NULL && pal_errpending(L)) return PAL_ERRSIG;
  return 1;
}

static int buf_fromstring(pal_State *L) {
  size_t len = 0;
  const char *s = pal_checklstring(L, 1, &len);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (len > BUF_MAX_SIZE) return pal_errorf(L, "memory allocation error: block too big");
  if (charge_bytes(L, len)) return PAL_ERRSIG;
  uint8_t *p = pal_newbuffer(L, len);
  if (p == NULL) return pal_errpending(L) ? PAL_ERRSIG : 1;
  if (len) memcpy(p, s, len);
  return 1;
}

static int buf_tostring(pal_State *L) {
  size_t len = 0;
  uint8_t *p = pal_checkbuffer(L, 1, &len);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (charge_bytes(L, len)) return PAL_ERRSIG;
  pal_pushlstring(L, len ? (const char *)p : "", len);
  return 1;
}

static int buf_len(pal_State *L) {
  size_t len = 0;
  pal_checkbuffer(L, 1, &len);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnumber(L, (double)len);
  return 1;
}

/* arguments 1 (buffer) and 2 (offset) of the fixed-size readers/writers */
static uint8_t *buf_args(pal_State *L, size_t *len, int *off) {
  uint8_t *p = pal_checkbuffer(L, 1, len);
  *off = pal_checkinteger(L, 2);
  return p;
}

#define READER(name, size, expr)                  \
  static int name(pal_State *L) {                 \
    size_t len = 0;                               \
    int off = 0;                                  \
    uint8_t *p = buf_args(L, &len, &off);         \
    if (pal_errpending(L)) return PAL_ERRSIG;     \
    if (!buf_inrange(off, size, len)) return oob(L); \
    uint64_t raw = le_load(p + off, size);        \
    pal_pushnumber(L, (double)(expr));            \
    return 1;                                     \
  }

READER(buf_readi8, 1, (int8_t)(uint8_t)raw)
READER(buf_readu8, 1, (uint8_t)raw)
READER(buf_readi16, 2, (int16_t)(uint16_t)raw)
READER(buf_readu16, 2, (uint16_t)raw)
READER(buf_readi32, 4, (int32_t)(uint32_t)raw)
READER(buf_readu32, 4, (uint32_t)raw)
READER(buf_readf32, 4, f32_from_bits((uint32_t)raw))
READER(buf_readf64, 8, f64_from_bits(raw))

/* writers: integer values are truncated to int64, reduced mod 2^32, then to the width */
#define WRITER(name, size, valtype, getval, bits)  \
  static int name(pal_State *L) {                 \
    size_t len = 0;                               \
    int off = 0;                                  \
    uint8_t *p = buf_args(L, &len, &off);         \
    valtype v = getval;                           \
    if (pal_errpending(L)) return PAL_ERRSIG;     \
    if (!buf_inrange(off, size, len)) return oob(L); \
    le_store(p + off, bits, size);                \
    return 0;                                     \
  }

#define INTVAL ((uint32_t)(uint64_t)pal_checkint64(L, 3))
WRITER(buf_writei8, 1, uint32_t, INTVAL, v)
WRITER(buf_writeu8, 1, uint32_t, INTVAL, v)
WRITER(buf_writei16, 2, uint32_t, INTVAL, v)
WRITER(buf_writeu16, 2, uint32_t, INTVAL, v)
WRITER(buf_writei32, 4, uint32_t, INTVAL, v)
WRITER(buf_writeu32, 4, uint32_t, INTVAL, v)
WRITER(buf_writef32, 4, float, (float)pal_checknumber(L, 3), f32_to_bits(v))
WRITER(buf_writef64, 8, double, pal_checknumber(L, 3), f64_to_bits(v))

static int buf_readstring(pal_State *L) {
  size_t len = 0;
  uint8_t *p = pal_checkbuffer(L, 1, &len);
  int off = pal_checkinteger(L, 2);
  int count = pal_checkinteger(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (count < 0) return pal_argerror(L, 3, "size");
  if (!buf_inrange(off, (uint64_t)count, len)) return oob(L);
  if (charge_bytes(L, (size_t)count)) return PAL_ERRSIG;
  pal_pushlstring(L, count ? (const char *)p + off : "", (size_t)count);
  return 1;
}

static int buf_writestring(pal_State *L) {
  size_t len = 0, slen = 0;
  uint8_t *p = pal_checkbuffer(L, 1, &len);
  int off = pal_checkinteger(L, 2);
  const char *s = pal_checklstring(L, 3, &slen);
  int64_t count = pal_type(L, 4) <= PAL_TNIL ? (int64_t)slen : (int64_t)pal_checkinteger(L, 4);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (count < 0) return pal_argerror(L, 4, "count");
  if ((uint64_t)count > (uint64_t)slen) return pal_errorf(L, "string length overflow");
  if (!buf_inrange(off, (uint64_t)count, len)) return oob(L);
  if (charge_bytes(L, (size_t)count)) return PAL_ERRSIG;
  if (count) memcpy(p + off, s, (size_t)count);
  return 0;
}

static int buf_copy(pal_State *L) {
  size_t dlen = 0, slen = 0;
  uint8_t *d = pal_checkbuffer(L, 1, &dlen);
  int doff = pal_checkinteger(L, 2);
  uint8_t *s = pal_checkbuffer(L, 3, &slen);
  int soff = pal_optinteger(L, 4, 0);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (soff < 0 || (size_t)soff > slen) return oob(L);
  int64_t count = pal_type(L, 5) <= PAL_TNIL ? (int64_t)(slen - (size_t)soff) : (int64_t)pal_checkinteger(L, 5);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (count < 0 || !buf_inrange(soff, (uint64_t)count, slen) || !buf_inrange(doff, (uint64_t)count, dlen))
    return oob(L);
  if (charge_bytes(L, (size_t)count)) return PAL_ERRSIG;
  if (count) memmove(d + doff, s + soff, (size_t)count);
  return 0;
}

static int buf_fill(pal_State *L) {
  size_t len = 0;
  uint8_t *p = pal_checkbuffer(L, 1, &len);
  int off = pal_checkinteger(L, 2);
  uint8_t byte = (uint8_t)(uint64_t)pal_checkint64(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (off < 0 || (size_t)off > len) return oob(L);
  int64_t count = pal_type(L, 4) <= PAL_TNIL ? (int64_t)(len - (size_t)off) : (int64_t)pal_checkinteger(L, 4);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (count < 0 || !buf_inrange(off, (uint64_t)count, len)) return oob(L);
  if (charge_bytes(L, (size_t)count)) return PAL_ERRSIG;
  if (count) memset(p + off, byte, (size_t)count);
  return 0;
}

/* shared checks of readbits/writebits; returns 0 on error (pending) */
static int bitargs(pal_State *L, uint8_t **buf, int64_t *bitoff, int *bitcount, uint32_t *value) {
  size_t len = 0;
  uint8_t *p = pal_checkbuffer(L, 1, &len);
  int64_t off = pal_checkint64(L, 2);
  int count = pal_checkinteger(L, 3);
  if (value) *value = (uint32_t)(uint64_t)pal_checkint64(L, 4);
  if (pal_errpending(L)) return 0;
  if (off < 0) return oob(L), 0;
  if (count < 0 || count > 32) return pal_errorf(L, "bit count is out of range of [0; 32]"), 0;
  if ((uint64_t)off + (uint64_t)count > (uint64_t)len * 8u) return oob(L), 0;
  *buf = p;
  *bitoff = off;
  *bitcount = count;
  return 1;
}

static int buf_readbits(pal_State *L) {
  uint8_t *p = NULL;
  int64_t off = 0;
  int count = 0;
  if (!bitargs(L, &p, &off, &count, NULL)) return PAL_ERRSIG;
  pal_pushnumber(L, (double)bits_read(p, (uint64_t)off, count));
  return 1;
}

static int buf_writebits(pal_State *L) {
  uint8_t *p = NULL;
  int64_t off = 0;
  int count = 0;
  uint32_t v = 0;
  if (!bitargs(L, &p, &off, &count, &v)) return PAL_ERRSIG;
  bits_write(p, (uint64_t)off, count, v);
  return 0;
}

static const pal_Reg buflib[] = {
    {"create", buf_create},       {"fromstring", buf_fromstring},   {"tostring", buf_tostring},
    {"len", buf_len},             {"readi8", buf_readi8},           {"readu8", buf_readu8},
    {"readi16", buf_readi16},     {"readu16", buf_readu16},         {"readi32", buf_readi32},
    {"readu32", buf_readu32},     {"readf32", buf_readf32},         {"readf64", buf_readf64},
    {"writei8", buf_writei8},     {"writeu8", buf_writeu8},         {"writei16", buf_writei16},
    {"writeu16", buf_writeu16},   {"writei32", buf_writei32},       {"writeu32", buf_writeu32},
    {"writef32", buf_writef32},   {"writef64", buf_writef64},       {"readstring", buf_readstring},
    {"writestring", buf_writestring}, {"copy", buf_copy},           {"fill", buf_fill},
    {"readbits", buf_readbits},   {"writebits", buf_writebits},     {NULL, NULL}};

void pal_open_buffer(pal_State *L) {
  pal_register(L, "buffer", buflib);
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
