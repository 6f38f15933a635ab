/*
 * memops.h - small byte-string helpers for the string code (string.c, lpattern.c, strbuf.c, vm.c's concat).
 *
 * The wasm build links wasi-libc, whose memcmp compares one byte at a time; these compare eight bytes per step
 * (unaligned loads through memcpy, which compiles to single i64/u64 loads), which is what equality tests on
 * interned strings and substring search need.
 */
#ifndef MEMOPS_H
#define MEMOPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 if a[0..n) == b[0..n) */
static inline int mem_eq(const void *a, const void *b, size_t n) {
  const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
  uint64_t x, y;
  while (n >= 8) {
    memcpy(&x, p, 8);
    memcpy(&y, q, 8);
    if (x != y) return 0;
    p += 8;
    q += 8;
    n -= 8;
  }
  if (n >= 4) { /* 4..7 bytes: two overlapping 4-byte words */
    uint32_t u, v, w, z;
    memcpy(&u, p, 4);
    memcpy(&v, q, 4);
    memcpy(&w, p + n - 4, 4);
    memcpy(&z, q + n - 4, 4);
    return u == v && w == z;
  }
  while (n > 0) {
    if (*p++ != *q++) return 0;
    n--;
  }
  return 1;
}

/* copies n bytes, sizeof(T) <= n <= 2 * sizeof(T), from s to d as two possibly overlapping T-sized words */
#define MEM_COPY2(T, d, s, n)                          \
  do {                                                 \
    T a_, b_;                                          \
    memcpy(&a_, (s), sizeof(T));                       \
    memcpy(&b_, (s) + (n) - sizeof(T), sizeof(T));     \
    memcpy((d), &a_, sizeof(T));                       \
    memcpy((d) + (n) - sizeof(T), &b_, sizeof(T));     \
  } while (0)

/* memcpy for the short copies string code does most (a few bytes per piece): inline below 16 bytes, so the wasm
   build makes no call into the C library's memcpy for them */
static inline void mem_copy(void *dst, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  if (n >= 16)
    memcpy(d, s, n);
  else if (n >= 8)
    MEM_COPY2(uint64_t, d, s, n);
  else if (n >= 4)
    MEM_COPY2(uint32_t, d, s, n);
  else if (n >= 2)
    MEM_COPY2(uint16_t, d, s, n);
  else if (n == 1)
    *d = *s;
}

#endif
