/*
 * strbuf.h - growable byte buffer for library code (strlib.c, utf8lib.c).
 *
 * Small results live in an inline array; larger ones in a buffer object allocated through the interpreter
 * (so the memory budget applies) and anchored in a stack slot reserved by sb_init. Copying charges fuel
 * (1 unit per 32 bytes). Functions return 0 on failure, with an error pending (memory, size, fuel).
 * A StrBuf must not be copied by value, and the slot pushed by sb_init must stay on the stack.
 */
#ifndef STRBUF_H
#define STRBUF_H

#include <stddef.h>

#include "pal.h"

#define SB_INLINE 256
#define SB_MAXSIZE ((size_t)1 << 30) /* largest string the library builds */

typedef struct StrBuf {
  pal_State *L;
  char *p;
  size_t len, cap;
  int slot;          /* absolute stack index anchoring the heap buffer */
  size_t uncharged;  /* bytes copied but not yet charged */
  char inl[SB_INLINE];
} StrBuf;

void sb_init(pal_State *L, StrBuf *b);      /* pushes one placeholder value */
int sb_reserve(StrBuf *b, size_t extra);      /* make room for extra more bytes */
int sb_add(StrBuf *b, const void *p, size_t n);
int sb_addc(StrBuf *b, char c);
int sb_charge(StrBuf *b, size_t bytes);       /* charge fuel for bytes of work */
void sb_push(StrBuf *b);                       /* push the result string (flushes fuel) */

/* A relative string position (string.sub, find, utf8.*): negative counts from the end; too negative gives 0. */
static inline long long str_posrel(long long pos, size_t len) {
  if (pos >= 0) return pos;
  if ((long long)len + pos < 0) return 0;
  return (long long)len + pos + 1;
}

#endif
