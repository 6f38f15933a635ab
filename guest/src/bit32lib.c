/*
 * bit32lib.c - the `bit32` library (reference §4.7): 32-bit unsigned operations on doubles.
 * Inputs are truncated to int64 (pal_checkint64) then reduced mod 2^32; results are 0..2^32-1.
 * Pure bit helpers first (tested by guest/tests/libs_test.c with PAL_LIBS_PURE), glue after.
 */
#include <stdint.h>

#include "pal.h"

static uint32_t b32_lshift(uint32_t x, int n) {
  if (n <= -32 || n >= 32) return 0;
  return n >= 0 ? x << n : x >> -n;
}

static uint32_t b32_rshift(uint32_t x, int n) {
  if (n <= -32 || n >= 32) return 0;
  return n >= 0 ? x >> n : x << -n;
}

static uint32_t b32_arshift(uint32_t x, int n) {
  if (n < 0) return b32_lshift(x, n <= -32 ? 32 : -n);
  if (!(x & 0x80000000u)) return n >= 32 ? 0 : x >> n;
  if (n >= 32) return 0xFFFFFFFFu;
  return n == 0 ? x : (x >> n) | ~(0xFFFFFFFFu >> n);
}

static uint32_t b32_lrotate(uint32_t x, int n) {
  unsigned s = (unsigned)n & 31u;
  return s == 0 ? x : (x << s) | (x >> (32u - s));
}

static uint32_t b32_rrotate(uint32_t x, int n) { return b32_lrotate(x, (int)(32u - ((unsigned)n & 31u))); }

static int b32_countlz(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

static int b32_countrz(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 1u)) {
    x >>= 1;
    n++;
  }
  return n;
}

static uint32_t b32_byteswap(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
}

static uint32_t b32_mask(int width) { return width >= 32 ? 0xFFFFFFFFu : ((1u << width) - 1u); }

/* field/width already validated: 0 <= field, 0 < width, field + width <= 32 */
static uint32_t b32_extract(uint32_t x, int field, int width) { return (x >> field) & b32_mask(width); }

static uint32_t b32_replace(uint32_t x, uint32_t v, int field, int width) {
  uint32_t m = b32_mask(width);
  return (x & ~(m << field)) | ((v & m) << field);
}

#ifndef PAL_LIBS_PURE

static uint32_t checku32(pal_State *L, int arg) { return (uint32_t)(uint64_t)pal_checkint64(L, arg); }

static int pushu32(pal_State *L, uint32_t v) {
  pal_pushnumber(L, (double)v);
  return 1;
}

static int bit_band(pal_State *L) {
  int n = pal_gettop(L);
  uint32_t r = 0xFFFFFFFFu;
  for (int i = 1; i <= n; i++) r &= checku32(L, i);
  return pushu32(L, r);
}

static int bit_bor(pal_State *L) {
  int n = pal_gettop(L);
  uint32_t r = 0;
  for (int i = 1; i <= n; i++) r |= checku32(L, i);
  return pushu32(L, r);
}

static int bit_bxor(pal_State *L) {
  int n = pal_gettop(L);
  uint32_t r = 0;
  for (int i = 1; i <= n; i++) r ^= checku32(L, i);
  return pushu32(L, r);
}

static int bit_btest(pal_State *L) {
  int n = pal_gettop(L);
  uint32_t r = 0xFFFFFFFFu;
  for (int i = 1; i <= n; i++) r &= checku32(L, i);
  pal_pushboolean(L, r != 0);
  return 1;
}

static int bit_bnot(pal_State *L) { return pushu32(L, ~checku32(L, 1)); }

static int bit_lshift(pal_State *L) {
  uint32_t x = checku32(L, 1);
  return pushu32(L, b32_lshift(x, pal_checkinteger(L, 2)));
}

static int bit_rshift(pal_State *L) {
  uint32_t x = checku32(L, 1);
  return pushu32(L, b32_rshift(x, pal_checkinteger(L, 2)));
}

static int bit_arshift(pal_State *L) {
  uint32_t x = checku32(L, 1);
  return pushu32(L, b32_arshift(x, pal_checkinteger(L, 2)));
}

static int bit_lrotate(pal_State *L) {
  uint32_t x = checku32(L, 1);
  return pushu32(L, b32_lrotate(x, pal_checkinteger(L, 2)));
}

static int bit_rrotate(pal_State *L) {
  uint32_t x = checku32(L, 1);
  return pushu32(L, b32_rrotate(x, pal_checkinteger(L, 2)));
}

static int bit_countlz(pal_State *L) {
  pal_pushnumber(L, (double)b32_countlz(checku32(L, 1)));
  return 1;
}

static int bit_countrz(pal_State *L) {
  pal_pushnumber(L, (double)b32_countrz(checku32(L, 1)));
  return 1;
}

static int bit_byteswap(pal_State *L) { return pushu32(L, b32_byteswap(checku32(L, 1))); }

/* validates field (arg farg) and width (arg farg+1, default 1); returns 0 on error (pending) */
static int fieldargs(pal_State *L, int farg, int *field, int *width) {
  int f = pal_checkinteger(L, farg);
  int w = pal_optinteger(L, farg + 1, 1);
  if (pal_errpending(L)) return 0;
  if (f < 0) return pal_argerror(L, farg, "field cannot be negative"), 0;
  if (w <= 0) return pal_argerror(L, farg + 1, "width must be positive"), 0;
  if ((int64_t)f + (int64_t)w > 32) return pal_errorf(L, "trying to access non-existent bits"), 0;
  *field = f;
  *width = w;
  return 1;
}

static int bit_extract(pal_State *L) {
  uint32_t x = checku32(L, 1);
  int f, w;
  if (!fieldargs(L, 2, &f, &w)) return PAL_ERRSIG;
  return pushu32(L, b32_extract(x, f, w));
}

static int bit_replace(pal_State *L) {
  uint32_t x = checku32(L, 1);
  uint32_t v = checku32(L, 2);
  int f, w;
  if (!fieldargs(L, 3, &f, &w)) return PAL_ERRSIG;
  return pushu32(L, b32_replace(x, v, f, w));
}

static const pal_Reg bit32lib[] = {{"band", bit_band},       {"bor", bit_bor},         {"bxor", bit_bxor},
                                   {"btest", bit_btest},     {"bnot", bit_bnot},       {"lshift", bit_lshift},
                                   {"rshift", bit_rshift},   {"arshift", bit_arshift}, {"lrotate", bit_lrotate},
                                   {"rrotate", bit_rrotate}, {"countlz", bit_countlz}, {"countrz", bit_countrz},
                                   {"byteswap", bit_byteswap}, {"extract", bit_extract}, {"replace", bit_replace},
                                   {NULL, NULL}};

void pal_open_bit32(pal_State *L) {
  pal_register(L, "bit32", bit32lib);
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
