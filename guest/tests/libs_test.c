/*
 * libs_test.c - standalone unit tests for the pure algorithms of the standard libraries (no interpreter core
 * needed): sorting with invalid-order detection, Perlin noise and the PRNG, bit32 helpers, civil-time
 * conversion and the os.date formatter, buffer bit/byte access.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -g -O1 -fsanitize=address,undefined -Iguest/src \
 *      guest/tests/libs_test.c -lm -o /tmp/libs_test && /tmp/libs_test
 *
 * The library sources are included with PAL_LIBS_PURE defined, which compiles only their pure parts.
 */
#define _POSIX_C_SOURCE 200809L
#define PAL_LIBS_PURE 1

#include "../src/tablib.c"
#include "../src/mathlib.c"
#include "../src/bit32lib.c"
#include "../src/oslib.c"
#include "../src/buflib.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int failures = 0, checks = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    checks++;                                                              \
    if (!(cond)) {                                                         \
      failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

/* deterministic test PRNG (splitmix64) */
static uint64_t tseed = 0x1234567;
static uint64_t trand(void) {
  uint64_t z = (tseed += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* ================================= sort ================================= */
typedef struct IntArr {
  int *a;     /* 1-based: a[1..n] */
  int64_t n;
  int mode;   /* 0 = <, 1 = always true, 2 = <=, 3 = random, 4 = error after budget, 5 = always false */
  int64_t compares;
  int64_t budget;
  int outofrange;
} IntArr;

static int int_less(void *ud, int64_t x, int64_t y) {
  IntArr *s = (IntArr *)ud;
  if (x < 1 || x > s->n || y < 1 || y > s->n) {
    s->outofrange = 1;
    return -1;
  }
  s->compares++;
  switch (s->mode) {
    case 1: return 1;
    case 2: return s->a[x] <= s->a[y];
    case 3: return (int)(trand() & 1);
    case 4: if (s->compares > s->budget) return -1; return s->a[x] < s->a[y];
    case 5: return 0;
    default: return s->a[x] < s->a[y];
  }
}

static void int_swap(void *ud, int64_t x, int64_t y) {
  IntArr *s = (IntArr *)ud;
  if (x < 1 || x > s->n || y < 1 || y > s->n) {
    s->outofrange = 1;
    return;
  }
  int t = s->a[x];
  s->a[x] = s->a[y];
  s->a[y] = t;
}

static int cmp_int(const void *p, const void *q) {
  int a = *(const int *)p, b = *(const int *)q;
  return (a > b) - (a < b);
}

/* sorts a copy with qsort and compares */
static int sorted_equals_reference(const int *orig, const int *a, int64_t n) {
  int *ref = malloc(sizeof(int) * (size_t)(n + 1));
  memcpy(ref, orig, sizeof(int) * (size_t)(n + 1));
  qsort(ref + 1, (size_t)n, sizeof(int), cmp_int);
  int ok = memcmp(ref + 1, a + 1, sizeof(int) * (size_t)n) == 0;
  free(ref);
  return ok;
}

static void fill(int *a, int64_t n, int kind) {
  for (int64_t i = 1; i <= n; i++) {
    switch (kind) {
      case 0: a[i] = (int)(trand() % 1000000); break;   /* random */
      case 1: a[i] = (int)(trand() % 5); break;         /* many duplicates */
      case 2: a[i] = (int)i; break;                     /* sorted */
      case 3: a[i] = (int)(n - i); break;               /* reversed */
      case 4: a[i] = 7; break;                          /* all equal */
      case 5: a[i] = (int)((i % 2) ? i : n - i); break; /* organ pipe-ish */
      default: a[i] = (int)(i % 17); break;             /* sawtooth */
    }
  }
}

static void test_sort(void) {
  static const int64_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100, 257, 1000, 4099, 50000};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    int64_t n = sizes[si];
    for (int kind = 0; kind <= 6; kind++) {
      int *a = malloc(sizeof(int) * (size_t)(n + 1));
      int *orig = malloc(sizeof(int) * (size_t)(n + 1));
      fill(a, n, kind);
      memcpy(orig, a, sizeof(int) * (size_t)(n + 1));
      IntArr s = {a, n, 0, 0, 0, 0};
      SortOps o = {int_less, int_swap, &s};
      int st = n >= 1 ? sort_range(&o, 1, n) : SORT_OK;
      CHECK(st == SORT_OK);
      CHECK(!s.outofrange);
      CHECK(sorted_equals_reference(orig, a, n));
      /* O(n log n) comparisons, even on adversarial-ish inputs (depth limit + heapsort) */
      double lg = 1;
      for (int64_t k = n; k > 1; k >>= 1) lg++;
      CHECK(s.compares <= (int64_t)(4.0 * (double)n * lg) + 16);
      free(a);
      free(orig);
    }
  }

  /* heapsort fallback on its own, and the depth-0 path */
  for (int64_t n = 1; n <= 300; n += 37) {
    int *a = malloc(sizeof(int) * (size_t)(n + 1));
    int *orig = malloc(sizeof(int) * (size_t)(n + 1));
    fill(a, n, 0);
    memcpy(orig, a, sizeof(int) * (size_t)(n + 1));
    IntArr s = {a, n, 0, 0, 0, 0};
    SortOps o = {int_less, int_swap, &s};
    CHECK(sort_heap(&o, 1, n) == SORT_OK);
    CHECK(sorted_equals_reference(orig, a, n));
    fill(a, n, 1);
    memcpy(orig, a, sizeof(int) * (size_t)(n + 1));
    CHECK(sort_quick(&o, 1, n, 0) == SORT_OK);
    CHECK(sorted_equals_reference(orig, a, n));
    CHECK(!s.outofrange);
    free(a);
    free(orig);
  }

  /* a sub-range only touches that range */
  {
    int a[11] = {0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
    IntArr s = {a, 10, 0, 0, 0, 0};
    SortOps o = {int_less, int_swap, &s};
    CHECK(sort_range(&o, 3, 8) == SORT_OK);
    int want[11] = {0, 9, 8, 2, 3, 4, 5, 6, 7, 1, 0};
    CHECK(memcmp(a, want, sizeof a) == 0);
  }

  /* inconsistent comparators: always true is detected for n >= 4; <= on duplicates is detected;
     random answers never walk off the range */
  for (int64_t n = 4; n <= 2000; n = n * 3 + 1) {
    int *a = malloc(sizeof(int) * (size_t)(n + 1));
    fill(a, n, 0);
    IntArr s = {a, n, 1, 0, 0, 0};
    SortOps o = {int_less, int_swap, &s};
    CHECK(sort_range(&o, 1, n) == SORT_INVALID);
    CHECK(!s.outofrange);

    fill(a, n, 4);
    s.mode = 2;
    CHECK(sort_range(&o, 1, n) == SORT_INVALID);
    CHECK(!s.outofrange);

    for (int rep = 0; rep < 20; rep++) {
      fill(a, n, 0);
      s.mode = 3;
      int st = sort_range(&o, 1, n);
      CHECK(st == SORT_OK || st == SORT_INVALID);
      CHECK(!s.outofrange);
    }

    /* always false: every order is "equal": fine, no error */
    fill(a, n, 0);
    s.mode = 5;
    CHECK(sort_range(&o, 1, n) == SORT_OK);
    CHECK(!s.outofrange);
    free(a);
  }

  /* errors from the comparator propagate immediately */
  {
    int64_t n = 1000;
    int *a = malloc(sizeof(int) * (size_t)(n + 1));
    fill(a, n, 0);
    IntArr s = {a, n, 4, 0, 50, 0};
    SortOps o = {int_less, int_swap, &s};
    CHECK(sort_range(&o, 1, n) == SORT_ERR);
    CHECK(s.compares == 51);
    free(a);
  }
}

/* ================================= math ================================= */
static void test_math(void) {
  /* the Perlin table is a permutation of 0..255 */
  int seen[256] = {0};
  for (int i = 0; i < 256; i++) seen[perlin_perm[i]]++;
  int perm_ok = 1;
  for (int i = 0; i < 256; i++) perm_ok &= seen[i] == 1;
  CHECK(perm_ok);

  /* zero at lattice points, bounded, continuous, deterministic */
  for (int x = -300; x <= 300; x += 7)
    for (int y = -20; y <= 20; y += 3) CHECK(perlin3((float)x, (float)y, (float)(x ^ y)) == 0.0f);
  float maxabs = 0;
  int nonzero = 0;
  for (int i = 0; i < 100000; i++) {
    float x = (float)((double)(trand() % 2000000) / 1000.0 - 1000.0);
    float y = (float)((double)(trand() % 2000000) / 1000.0 - 1000.0);
    float z = (float)((double)(trand() % 2000000) / 1000.0 - 1000.0);
    float v = perlin3(x, y, z);
    if (fabsf(v) > maxabs) maxabs = fabsf(v);
    if (v != 0) nonzero++;
    CHECK(v == perlin3(x, y, z));
    float dv = perlin3(x + 1e-3f, y, z) - v;
    if (!(fabsf(dv) < 0.02f)) CHECK(fabsf(dv) < 0.02f);
  }
  CHECK(maxabs <= 1.0f && maxabs > 0.5f);
  CHECK(nonzero > 99000);
  CHECK(isnan(perlin3(NAN, 0, 0)));
  CHECK(isnan(perlin3(INFINITY, 0, 0)));
  CHECK(perlin3(0.5f, 0.25f, 0.75f) != 0.0f);
  /* values documented for the reference implementation: noise(1.158, 5.723) and noise(1.158, 6) */
  CHECK(fabs((double)perlin3((float)1.158, (float)5.723, 0.0f) - 0.48397532105446) < 1e-12);
  CHECK(fabs((double)perlin3((float)1.158, 6.0f, 0.0f) - 0.15315161645412) < 1e-12);
  /* 2-D and 1-D calls are the z = 0 / y = z = 0 slices */
  CHECK(perlin3(1.25f, 0.0f, 0.0f) == perlin3(1.25f, 0.0f, -0.0f));
  /* huge inputs do not crash (lattice index computed through fmod) */
  (void)perlin3(1e30f, -1e30f, 3e9f);

  /* PCG32 reference outputs (seed 42, stream 54) */
  MathRng r;
  rng_seed(&r, 42u, 54u);
  static const uint32_t want[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u, 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
  int pcg_ok = 1;
  for (int i = 0; i < 6; i++) pcg_ok &= rng_next32(&r) == want[i];
  CHECK(pcg_ok);
  double lo = 1, hi = 0;
  for (int i = 0; i < 100000; i++) {
    double d = rng_double(&r);
    CHECK(d >= 0.0 && d < 1.0);
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  CHECK(lo < 0.001 && hi > 0.999);
  int counts[7] = {0};
  for (int i = 0; i < 70000; i++) {
    uint32_t v = rng_bounded(&r, 7);
    CHECK(v < 7);
    counts[v]++;
  }
  for (int i = 0; i < 7; i++) CHECK(counts[i] > 9000 && counts[i] < 11000);
  CHECK(rng_bounded(&r, 1) == 0);
  (void)rng_bounded(&r, 0xFFFFFFFFu);

  /* helpers */
  CHECK(m_log(8, 1, 2) == 3.0);
  CHECK(m_log(1000, 1, 10) == 3.0);
  CHECK(m_log(1e15, 1, 10) == 15.0);
  CHECK(fabs(m_log(81, 1, 3) - 4.0) < 1e-12);
  CHECK(m_log(1, 0, 0) == 0.0);
  CHECK(m_sign(-2) == -1 && m_sign(3) == 1 && m_sign(0) == 0 && m_sign(NAN) == 0);
  CHECK(m_clamp(5, 1, 3) == 3 && m_clamp(-5, 1, 3) == 1 && m_clamp(2, 1, 3) == 2);
  CHECK(m_lerp(0.1, 0.7, 1) == 0.7);
  CHECK(m_lerp(1, 3, 0.5) == 2);
  CHECK(m_map(5, 0, 10, 0, 100) == 50);
  CHECK(m_map(1, 0, 2, 10, 20) == 15);
}

/* ================================= bit32 ================================= */
static void test_bit32(void) {
  CHECK(b32_lshift(1, 31) == 0x80000000u);
  CHECK(b32_lshift(1, 32) == 0);
  CHECK(b32_lshift(0x80000000u, -31) == 1);
  CHECK(b32_lshift(5, -40) == 0);
  CHECK(b32_rshift(0x80000000u, 31) == 1);
  CHECK(b32_rshift(1, -4) == 16);
  CHECK(b32_rshift(0xFFFFFFFFu, 32) == 0);
  CHECK(b32_arshift(0x80000000u, 1) == 0xC0000000u);
  CHECK(b32_arshift(0x80000000u, 31) == 0xFFFFFFFFu);
  CHECK(b32_arshift(0x80000000u, 40) == 0xFFFFFFFFu);
  CHECK(b32_arshift(0x40000000u, 40) == 0);
  CHECK(b32_arshift(0x40000000u, 30) == 1);
  CHECK(b32_arshift(1, -3) == 8);
  CHECK(b32_arshift(1, -32) == 0);
  CHECK(b32_arshift(0x80000001u, 0) == 0x80000001u);
  CHECK(b32_lrotate(0x80000001u, 1) == 3);
  CHECK(b32_lrotate(0x12345678u, 32) == 0x12345678u);
  CHECK(b32_lrotate(0x12345678u, -8) == 0x78123456u);
  CHECK(b32_rrotate(0x12345678u, 8) == 0x78123456u);
  CHECK(b32_rrotate(0x12345678u, -8) == 0x34567812u);
  CHECK(b32_rrotate(0x12345678u, 0) == 0x12345678u);
  CHECK(b32_countlz(0) == 32 && b32_countlz(1) == 31 && b32_countlz(0x80000000u) == 0);
  CHECK(b32_countrz(0) == 32 && b32_countrz(1) == 0 && b32_countrz(0x80000000u) == 31);
  CHECK(b32_byteswap(0x12345678u) == 0x78563412u);
  CHECK(b32_extract(0xF0u, 4, 4) == 0xF);
  CHECK(b32_extract(0x80000000u, 31, 1) == 1);
  CHECK(b32_extract(0xDEADBEEFu, 0, 32) == 0xDEADBEEFu);
  CHECK(b32_replace(0, 0xF, 4, 4) == 0xF0u);
  CHECK(b32_replace(0xFFFFFFFFu, 0, 8, 8) == 0xFFFF00FFu);
  CHECK(b32_replace(0, 0xFFFFFFFFu, 0, 32) == 0xFFFFFFFFu);
  CHECK(b32_replace(0, 3, 31, 1) == 0x80000000u);
}

/* ================================= os ================================= */
static void test_os(void) {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2000, 1, 1) == 10957);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_from_civil(2000, 13, 1) == days_from_civil(2001, 1, 1));
  CHECK(days_from_civil(2000, 0, 1) == days_from_civil(1999, 12, 1));
  CHECK(days_from_civil(2000, -11, 1) == days_from_civil(1999, 1, 1));
  CHECK(time_from_civil(2000, 1, 1, 12, 0, 0) == 946728000);
  CHECK(time_from_civil(1970, 1, 1, 0, 0, 0) == 0);
  CHECK(time_from_civil(1970, 1, 1, 0, 0, -1) == -1);
  CHECK(time_from_civil(2024, 2, 30, 0, 0, 0) == time_from_civil(2024, 3, 1, 0, 0, 0));
  CHECK(time_from_civil(2023, 2, 29, 0, 0, 0) == time_from_civil(2023, 3, 1, 0, 0, 0));

  /* compare with the C library's gmtime over a wide range */
  int mism = 0;
  for (int i = 0; i < 200000; i++) {
    int64_t t;
    switch (i % 4) {
      case 0: t = (int64_t)(trand() % 4102444800ULL); break;                    /* 1970..2100 */
      case 1: t = (int64_t)(trand() % 200000000000ULL) - 100000000000LL; break; /* +-3000 years */
      case 2: t = (int64_t)(trand() % 86400ULL * 3) - 86400; break;
      default: t = (int64_t)(trand() % 2000000000000ULL) - 62167219200LL; break;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL) continue;
    CivilTime ct;
    civil_from_time(t, &ct);
    if (ct.year != (int64_t)tm.tm_year + 1900 || ct.month != tm.tm_mon + 1 || ct.day != tm.tm_mday ||
        ct.hour != tm.tm_hour || ct.min != tm.tm_min || ct.sec != tm.tm_sec || ct.wday != tm.tm_wday + 1 ||
        ct.yday != tm.tm_yday + 1) {
      if (mism++ < 5) fprintf(stderr, "civil mismatch at t=%lld\n", (long long)t);
    }
    /* and back */
    if (time_from_civil(ct.year, ct.month, ct.day, ct.hour, ct.min, ct.sec) != t) {
      if (mism++ < 5) fprintf(stderr, "round trip mismatch at t=%lld\n", (long long)t);
    }
    /* formatting agrees with strftime in the C locale for every conversion but %Z */
    if (i % 16 == 0 && ct.year >= 1000 && ct.year <= 9999) {
      static const char *fmt = "%a|%A|%b|%B|%c|%d|%H|%I|%j|%m|%M|%p|%S|%U|%w|%W|%x|%X|%y|%Y|%z|%%|x";
      char want[512], got[512];
      size_t wn = strftime(want, sizeof want, fmt, &tm);
      DateOut o = {got, 0};
      int64_t gn = date_format(&o, fmt, strlen(fmt), &ct, 1);
      got[gn > 0 ? gn : 0] = 0;
      if (gn != (int64_t)wn || strcmp(want, got) != 0) {
        if (mism++ < 5) fprintf(stderr, "format mismatch at t=%lld:\n  %s\n  %s\n", (long long)t, want, got);
      }
    }
  }
  CHECK(mism == 0);

  CivilTime ct;
  civil_from_time(0, &ct);
  char out[128];
  DateOut o = {out, 0};
  int64_t n = date_format(&o, "%c", 2, &ct, 1);
  out[n] = 0;
  CHECK(strcmp(out, "Thu Jan  1 00:00:00 1970") == 0);
  DateOut m = {NULL, 0};
  CHECK(date_format(&m, "%Y-%m-%d", 8, &ct, 1) == 10);
  m.n = 0;
  CHECK(date_format(&m, "%Ez", 3, &ct, 1) == -1);
  m.n = 0;
  CHECK(date_format(&m, "abc%", 4, &ct, 1) == -1);
  m.n = 0;
  CHECK(date_format(&m, "%C", 2, &ct, 1) == -1);
  m.n = 0;
  CHECK(date_format(&m, "", 0, &ct, 1) == 0);
  o.n = 0;
  n = date_format(&o, "%Z", 2, &ct, 0);
  out[n] = 0;
  CHECK(strcmp(out, "UTC") == 0);

  CHECK(date_breakdown(0, 0, &ct) && ct.year == 1970);
  CHECK(!date_breakdown(-1, 0, &ct));
  CHECK(date_breakdown(-1, 1, &ct) && ct.year == 1969 && ct.sec == 59);
  CHECK(!date_breakdown(NAN, 1, &ct));
  CHECK(!date_breakdown(1e300, 1, &ct));
  CHECK(date_breakdown(946728000.9, 1, &ct) && ct.hour == 12 && ct.sec == 0 && ct.yday == 1 && ct.wday == 7);
  CHECK(floordiv64(-7, 2) == -4 && floordiv64(7, 2) == 3 && floordiv64(-8, 2) == -4);
}

/* ================================= buffer ================================= */
static uint32_t naive_readbits(const uint8_t *b, uint64_t off, int count) {
  uint32_t v = 0;
  for (int i = 0; i < count; i++) {
    uint64_t bit = off + (uint64_t)i;
    if (b[bit >> 3] & (1u << (bit & 7))) v |= 1u << i;
  }
  return v;
}

static void naive_writebits(uint8_t *b, uint64_t off, int count, uint32_t v) {
  for (int i = 0; i < count; i++) {
    uint64_t bit = off + (uint64_t)i;
    if ((v >> i) & 1u)
      b[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    else
      b[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
  }
}

static void test_buffer(void) {
  uint8_t b[16];
  le_store(b, 0x0102030405060708ULL, 8);
  CHECK(b[0] == 8 && b[7] == 1);
  CHECK(le_load(b, 8) == 0x0102030405060708ULL);
  CHECK(le_load(b, 2) == 0x0708);
  CHECK((int16_t)(uint16_t)le_load((const uint8_t *)"\xff\xff", 2) == -1);
  CHECK(f32_from_bits(f32_to_bits(1.5f)) == 1.5f);
  CHECK(f32_to_bits(1.0f) == 0x3F800000u);
  CHECK(f64_to_bits(1.0) == 0x3FF0000000000000ULL);
  CHECK(f64_from_bits(0x4000000000000000ULL) == 2.0);

  CHECK(buf_inrange(0, 4, 4));
  CHECK(!buf_inrange(1, 4, 4));
  CHECK(buf_inrange(4, 0, 4));
  CHECK(!buf_inrange(5, 0, 4));
  CHECK(!buf_inrange(-1, 1, 4));
  CHECK(!buf_inrange(0, UINT64_MAX, 4));
  CHECK(!buf_inrange(INT64_MAX, 2, 4));

  uint8_t x[64], y[64];
  for (int i = 0; i < 64; i++) x[i] = (uint8_t)trand();
  memcpy(y, x, sizeof x);
  int ok = 1;
  for (int i = 0; i < 20000; i++) {
    int count = (int)(trand() % 33);
    uint64_t off = trand() % (64 * 8 - (uint64_t)count + 1);
    ok &= bits_read(x, off, count) == naive_readbits(x, off, count);
    uint32_t v = (uint32_t)trand();
    bits_write(x, off, count, v);
    naive_writebits(y, off, count, v);
    ok &= memcmp(x, y, sizeof x) == 0;
    ok &= bits_read(x, off, count) == (v & bits_mask(count));
  }
  CHECK(ok);
  /* exact tail access: the last 32 bits and a zero-count read at the very end */
  CHECK(bits_read(x, 64 * 8 - 32, 32) == (uint32_t)le_load(x + 60, 4));
  CHECK(bits_read(x, 64 * 8, 0) == 0);
}

int main(void) {
  test_sort();
  test_math();
  test_bit32();
  test_os();
  test_buffer();
  printf("libs_test: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
