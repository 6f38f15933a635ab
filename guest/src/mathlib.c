/*
 * mathlib.c - the `math` library (reference §4.6).
 *
 * Pure parts (PRNG, Perlin noise, small numeric helpers) come first so guest/tests/libs_test.c can test them on
 * their own (it defines PAL_LIBS_PURE and includes this file); the pal.h glue follows.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pal.h"

/* ======================================================================================================
 * PRNG: PCG32 (O'Neill's permuted congruential generator, XSH-RR output), two 32-bit draws per double.
 * ====================================================================================================== */
typedef struct MathRng {
  uint64_t state;
  uint64_t inc;
} MathRng;

static uint32_t rng_next32(MathRng *r) {
  uint64_t old = r->state;
  r->state = old * 6364136223846793005ULL + r->inc;
  uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
  uint32_t rot = (uint32_t)(old >> 59);
  return (xs >> rot) | (xs << ((32u - rot) & 31u));
}

static void rng_seed(MathRng *r, uint64_t seed, uint64_t stream) {
  r->state = 0;
  r->inc = (stream << 1) | 1u;
  (void)rng_next32(r);
  r->state += seed;
  (void)rng_next32(r);
}

/* uniform double in [0, 1) with 53 random bits */
static double rng_double(MathRng *r) {
  uint64_t hi = rng_next32(r), lo = rng_next32(r);
  uint64_t bits = ((hi << 32) | lo) >> 11;
  return (double)bits * (1.0 / 9007199254740992.0);
}

/* uniform integer in [0, bound) for 1 <= bound <= 2^32-1, without modulo bias (rejection) */
static uint32_t rng_bounded(MathRng *r, uint32_t bound) {
  uint32_t threshold = (uint32_t)(0u - bound) % bound; /* 2^32 mod bound */
  for (;;) {
    uint32_t x = rng_next32(r);
    if (x >= threshold) return x % bound;
  }
}

/* ======================================================================================================
 * Perlin "improved noise" (Perlin 2002): hashed gradients from the 12 cube-edge directions, quintic fade,
 * trilinear blend; single precision. Value is 0 at every integer lattice point.
 * ====================================================================================================== */
static const uint8_t perlin_perm[256] = {
    151, 160, 137, 91,  90,  15,  131, 13,  201, 95,  96,  53,  194, 233, 7,   225, 140, 36,  103, 30,  69,  142,
    8,   99,  37,  240, 21,  10,  23,  190, 6,   148, 247, 120, 234, 75,  0,   26,  197, 62,  94,  252, 219, 203,
    117, 35,  11,  32,  57,  177, 33,  88,  237, 149, 56,  87,  174, 20,  125, 136, 171, 168, 68,  175, 74,  165,
    71,  134, 139, 48,  27,  166, 77,  146, 158, 231, 83,  111, 229, 122, 60,  211, 133, 230, 220, 105, 92,  41,
    55,  46,  245, 40,  244, 102, 143, 54,  65,  25,  63,  161, 1,   216, 80,  73,  209, 76,  132, 187, 208, 89,
    18,  169, 200, 196, 135, 130, 116, 188, 159, 86,  164, 100, 109, 198, 173, 186, 3,   64,  52,  217, 226, 250,
    124, 123, 5,   202, 38,  147, 118, 126, 255, 82,  85,  212, 207, 206, 59,  227, 47,  16,  58,  17,  182, 189,
    28,  42,  223, 183, 170, 213, 119, 248, 152, 2,   44,  154, 163, 70,  221, 153, 101, 155, 167, 43,  172, 9,
    129, 22,  39,  253, 19,  98,  108, 110, 79,  113, 224, 232, 178, 185, 112, 104, 218, 246, 97,  228, 251, 34,
    242, 193, 238, 210, 144, 12,  191, 179, 162, 241, 81,  51,  145, 235, 249, 14,  239, 107, 49,  192, 214, 31,
    181, 199, 106, 157, 184, 84,  204, 176, 115, 121, 50,  45,  127, 4,   150, 254, 138, 236, 205, 93,  222, 114,
    67,  29,  24,  72,  243, 141, 128, 195, 78,  66,  215, 61,  156, 180};

static int perm_at(int i) { return perlin_perm[i & 255]; }

static float noise_fade(float t) { return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f); }
static float noise_mix(float a, float b, float t) { return a + t * (b - a); }

/* dot product of the offset with one of 12 edge directions (16 hash values, 4 repeated) */
static float noise_grad(int hash, float x, float y, float z) {
  int h = hash & 15;
  float u = h < 8 ? x : y;
  float v = h < 4 ? y : ((h == 12 || h == 14) ? x : z);
  return ((h & 1) ? -u : u) + ((h & 2) ? -v : v);
}

static float perlin3(float x, float y, float z) {
  if (!isfinite(x) || !isfinite(y) || !isfinite(z)) return 0.0f * (x + y + z); /* NaN */
  float fx = floorf(x), fy = floorf(y), fz = floorf(z);
  /* lattice cell, wrapped to the 256-periodic permutation (floor may exceed int range for huge inputs) */
  int X = (int)(int64_t)fmodf(fx, 256.0f) & 255;
  int Y = (int)(int64_t)fmodf(fy, 256.0f) & 255;
  int Z = (int)(int64_t)fmodf(fz, 256.0f) & 255;
  x -= fx;
  y -= fy;
  z -= fz;
  float u = noise_fade(x), v = noise_fade(y), w = noise_fade(z);
  int a = perm_at(X) + Y, aa = perm_at(a) + Z, ab = perm_at(a + 1) + Z;
  int b = perm_at(X + 1) + Y, ba = perm_at(b) + Z, bb = perm_at(b + 1) + Z;
  float r0 = noise_mix(noise_grad(perm_at(aa), x, y, z), noise_grad(perm_at(ba), x - 1, y, z), u);
  float r1 = noise_mix(noise_grad(perm_at(ab), x, y - 1, z), noise_grad(perm_at(bb), x - 1, y - 1, z), u);
  float r2 = noise_mix(noise_grad(perm_at(aa + 1), x, y, z - 1), noise_grad(perm_at(ba + 1), x - 1, y, z - 1), u);
  float r3 =
      noise_mix(noise_grad(perm_at(ab + 1), x, y - 1, z - 1), noise_grad(perm_at(bb + 1), x - 1, y - 1, z - 1), u);
  return noise_mix(noise_mix(r0, r1, v), noise_mix(r2, r3, v), w);
}

/* ======================================================================================================
 * small numeric helpers
 * ====================================================================================================== */
static double m_log(double x, int hasbase, double base) {
  if (!hasbase) return log(x);
  if (base == 2.0) return log2(x);
  if (base == 10.0) return log10(x);
  return log(x) / log(base);
}

static double m_sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0); }
static double m_clamp(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
static double m_lerp(double a, double b, double t) { return t == 1.0 ? b : a + (b - a) * t; }
static double m_map(double x, double inmin, double inmax, double outmin, double outmax) {
  return outmin + (x - inmin) * (outmax - outmin) / (inmax - inmin);
}

#ifndef PAL_LIBS_PURE
#include "host.h"

#define MATH_PI 3.14159265358979323846

static int math_abs(pal_State *L) { pal_pushnumber(L, fabs(pal_checknumber(L, 1))); return 1; }
static int math_acos(pal_State *L) { pal_pushnumber(L, acos(pal_checknumber(L, 1))); return 1; }
static int math_asin(pal_State *L) { pal_pushnumber(L, asin(pal_checknumber(L, 1))); return 1; }
static int math_atan(pal_State *L) { pal_pushnumber(L, atan(pal_checknumber(L, 1))); return 1; }
static int math_atan2(pal_State *L) {
  double y = pal_checknumber(L, 1), x = pal_checknumber(L, 2);
  pal_pushnumber(L, atan2(y, x));
  return 1;
}
static int math_ceil(pal_State *L) { pal_pushnumber(L, ceil(pal_checknumber(L, 1))); return 1; }
static int math_floor(pal_State *L) { pal_pushnumber(L, floor(pal_checknumber(L, 1))); return 1; }
static int math_cos(pal_State *L) { pal_pushnumber(L, cos(pal_checknumber(L, 1))); return 1; }
static int math_cosh(pal_State *L) { pal_pushnumber(L, cosh(pal_checknumber(L, 1))); return 1; }
static int math_sin(pal_State *L) { pal_pushnumber(L, sin(pal_checknumber(L, 1))); return 1; }
static int math_sinh(pal_State *L) { pal_pushnumber(L, sinh(pal_checknumber(L, 1))); return 1; }
static int math_tan(pal_State *L) { pal_pushnumber(L, tan(pal_checknumber(L, 1))); return 1; }
static int math_tanh(pal_State *L) { pal_pushnumber(L, tanh(pal_checknumber(L, 1))); return 1; }
static int math_sqrt(pal_State *L) { pal_pushnumber(L, sqrt(pal_checknumber(L, 1))); return 1; }
static int math_exp(pal_State *L) { pal_pushnumber(L, exp(pal_checknumber(L, 1))); return 1; }
static int math_log10(pal_State *L) { pal_pushnumber(L, log10(pal_checknumber(L, 1))); return 1; }
static int math_deg(pal_State *L) { pal_pushnumber(L, pal_checknumber(L, 1) * (180.0 / MATH_PI)); return 1; }
static int math_rad(pal_State *L) { pal_pushnumber(L, pal_checknumber(L, 1) * (MATH_PI / 180.0)); return 1; }
static int math_sign(pal_State *L) { pal_pushnumber(L, m_sign(pal_checknumber(L, 1))); return 1; }
static int math_round(pal_State *L) { pal_pushnumber(L, round(pal_checknumber(L, 1))); return 1; }
static int math_isnan(pal_State *L) { pal_pushboolean(L, isnan(pal_checknumber(L, 1))); return 1; }
static int math_isinf(pal_State *L) { pal_pushboolean(L, isinf(pal_checknumber(L, 1))); return 1; }
static int math_isfinite(pal_State *L) { pal_pushboolean(L, isfinite(pal_checknumber(L, 1))); return 1; }

static int math_pow(pal_State *L) {
  double x = pal_checknumber(L, 1), y = pal_checknumber(L, 2);
  pal_pushnumber(L, pow(x, y));
  return 1;
}

static int math_fmod(pal_State *L) {
  double a = pal_checknumber(L, 1), b = pal_checknumber(L, 2);
  pal_pushnumber(L, fmod(a, b));
  return 1;
}

static int math_log(pal_State *L) {
  double x = pal_checknumber(L, 1);
  int hasbase = pal_type(L, 2) > PAL_TNIL;
  double base = hasbase ? pal_checknumber(L, 2) : 0.0;
  pal_pushnumber(L, m_log(x, hasbase, base));
  return 1;
}

static int math_frexp(pal_State *L) {
  int e = 0;
  double m = frexp(pal_checknumber(L, 1), &e);
  pal_pushnumber(L, m);
  pal_pushnumber(L, (double)e);
  return 2;
}

static int math_ldexp(pal_State *L) {
  double m = pal_checknumber(L, 1);
  int e = pal_checkinteger(L, 2);
  pal_pushnumber(L, ldexp(m, e));
  return 1;
}

static int math_modf(pal_State *L) {
  double ip;
  double fp = modf(pal_checknumber(L, 1), &ip);
  pal_pushnumber(L, ip);
  pal_pushnumber(L, fp);
  return 2;
}

static int math_max(pal_State *L) {
  int n = pal_gettop(L);
  double m = pal_checknumber(L, 1);
  for (int i = 2; i <= n; i++) {
    double d = pal_checknumber(L, i);
    if (d > m) m = d;
  }
  pal_pushnumber(L, m);
  return 1;
}

static int math_min(pal_State *L) {
  int n = pal_gettop(L);
  double m = pal_checknumber(L, 1);
  for (int i = 2; i <= n; i++) {
    double d = pal_checknumber(L, i);
    if (d < m) m = d;
  }
  pal_pushnumber(L, m);
  return 1;
}

static int math_clamp(pal_State *L) {
  double v = pal_checknumber(L, 1), lo = pal_checknumber(L, 2), hi = pal_checknumber(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (!(lo <= hi)) return pal_argerror(L, 3, "max must be greater than or equal to min");
  pal_pushnumber(L, m_clamp(v, lo, hi));
  return 1;
}

static int math_lerp(pal_State *L) {
  double a = pal_checknumber(L, 1), b = pal_checknumber(L, 2), t = pal_checknumber(L, 3);
  pal_pushnumber(L, m_lerp(a, b, t));
  return 1;
}

static int math_map(pal_State *L) {
  double x = pal_checknumber(L, 1), a = pal_checknumber(L, 2), b = pal_checknumber(L, 3);
  double c = pal_checknumber(L, 4), d = pal_checknumber(L, 5);
  pal_pushnumber(L, m_map(x, a, b, c, d));
  return 1;
}

static int math_noise(pal_State *L) {
  double x = pal_checknumber(L, 1), y = pal_optnumber(L, 2, 0.0), z = pal_optnumber(L, 3, 0.0);
  pal_pushnumber(L, (double)perlin3((float)x, (float)y, (float)z));
  return 1;
}

static MathRng *math_rng(pal_State *L) { return (MathRng *)pal_touserdata(L, pal_upvalueindex(1)); }

static int math_random(pal_State *L) {
  MathRng *r = math_rng(L);
  if (r == NULL) return pal_errorf(L, "random state missing");
  switch (pal_gettop(L)) {
    case 0:
      pal_pushnumber(L, rng_double(r));
      return 1;
    case 1: {
      int u = pal_checkinteger(L, 1);
      if (pal_errpending(L)) return PAL_ERRSIG;
      if (u < 1) return pal_argerror(L, 1, "interval is empty");
      pal_pushnumber(L, 1.0 + (double)rng_bounded(r, (uint32_t)u));
      return 1;
    }
    case 2: {
      int l = pal_checkinteger(L, 1), u = pal_checkinteger(L, 2);
      if (pal_errpending(L)) return PAL_ERRSIG;
      if (l > u) return pal_argerror(L, 2, "interval is empty");
      int64_t span = (int64_t)u - (int64_t)l; /* number of values - 1 */
      if (span >= (int64_t)UINT32_MAX) return pal_argerror(L, 2, "interval is too large");
      pal_pushnumber(L, (double)((int64_t)l + (int64_t)rng_bounded(r, (uint32_t)(span + 1))));
      return 1;
    }
    default:
      return pal_errorf(L, "wrong number of arguments");
  }
}

static uint64_t seed_from_double(double d) {
  if (d >= -9.2e18 && d <= 9.2e18) return (uint64_t)(int64_t)d;
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  return bits;
}

static int math_randomseed(pal_State *L) {
  MathRng *r = math_rng(L);
  double d = pal_checknumber(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (r != NULL) rng_seed(r, seed_from_double(d), 0x5851f42d4c957f2dULL);
  return 0;
}

static const pal_Reg mathlib[] = {
    {"abs", math_abs},     {"acos", math_acos},   {"asin", math_asin},     {"atan", math_atan},
    {"atan2", math_atan2}, {"ceil", math_ceil},   {"cos", math_cos},       {"cosh", math_cosh},
    {"deg", math_deg},     {"exp", math_exp},     {"floor", math_floor},   {"fmod", math_fmod},
    {"frexp", math_frexp}, {"ldexp", math_ldexp}, {"log", math_log},       {"log10", math_log10},
    {"max", math_max},     {"min", math_min},     {"modf", math_modf},     {"pow", math_pow},
    {"rad", math_rad},     {"sin", math_sin},     {"sinh", math_sinh},     {"sqrt", math_sqrt},
    {"tan", math_tan},     {"tanh", math_tanh},   {"clamp", math_clamp},   {"sign", math_sign},
    {"round", math_round}, {"noise", math_noise}, {"map", math_map},       {"lerp", math_lerp},
    {"isnan", math_isnan}, {"isinf", math_isinf}, {"isfinite", math_isfinite}, {NULL, NULL}};

static void setconst(pal_State *L, const char *name, double v) {
  pal_pushnumber(L, v);
  pal_rawsetfield(L, -2, name);
}

void pal_open_math(pal_State *L) {
  pal_register(L, "math", mathlib);
  setconst(L, "pi", MATH_PI);
  setconst(L, "huge", HUGE_VAL);
  setconst(L, "nan", (double)NAN);
  setconst(L, "e", 2.71828182845904523536);
  setconst(L, "phi", 1.61803398874989484820);
  setconst(L, "sqrt2", 1.41421356237309504880);
  setconst(L, "tau", 2.0 * MATH_PI);

  /* random/randomseed share one PCG32 state kept in a userdata upvalue */
  MathRng *r = (MathRng *)pal_newuserdata(L, sizeof(MathRng), 0);
  if (r != NULL) {
    double mono = pal_host_now(0), wall = pal_host_now(1);
    uint64_t a, b;
    memcpy(&a, &mono, sizeof a);
    memcpy(&b, &wall, sizeof b);
    rng_seed(r, b ^ (a << 7) ^ (uint64_t)(uintptr_t)r, a ^ 0xda3e39cb94b95bdbULL);
  }
  pal_pushvalue(L, -1);
  pal_pushcclosure(L, math_random, "random", 1);
  pal_rawsetfield(L, -3, "random");
  pal_pushcclosure(L, math_randomseed, "randomseed", 1);
  pal_rawsetfield(L, -2, "randomseed");
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
