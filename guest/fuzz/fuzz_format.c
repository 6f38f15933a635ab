/*
 * fuzz_format.c - libFuzzer target for the string.format engine (strfmt.c).
 *
 *   clang-19 -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I../src fuzz_format.c ../src/strfmt.c \
 *     -o /tmp/fuzz_format && /tmp/fuzz_format corpus_format
 *
 * Input: format bytes, a NUL separator, then argument material: each argument takes one kind byte
 * (even = number built from the next 8 bytes, odd = string of the next (byte & 31) bytes); missing material
 * ends the argument list. The first half of the arguments is also described in io.args.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strfmt.h"

#define MAXARGS 32

typedef struct Arg {
  int isnum;
  double num;
  const char *s;
  size_t len;
} Arg;

typedef struct Ctx {
  Arg args[MAXARGS];
  int nargs;
  size_t outlen;
  int ended;
} Ctx;

static int put(void *ud, const char *p, size_t n, int last) {
  Ctx *c = ud;
  volatile char sink = 0;
  size_t i;
  for (i = 0; i < n; i++) sink ^= p[i]; /* touch every byte */
  (void)sink;
  if (c->ended) abort(); /* nothing may follow the last piece */
  c->ended = last;
  c->outlen += n;
  return c->outlen > (1u << 20);
}

static int arg(void *ud, int n, int kind, double *num, const char **s, size_t *len) {
  Ctx *c = ud;
  const Arg *a;
  if (n < 2 || n > c->nargs + 1) abort(); /* the engine must check "missing argument" first */
  a = &c->args[n - 2];
  if (kind == STRFMT_ARGNUM) {
    if (!a->isnum) return 1;
    *num = a->num;
    return 0;
  }
  if (a->isnum) {
    *s = "123";
    *len = 3;
    return 0;
  }
  *s = a->s;
  *len = a->len;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  const char *sep = memchr(in, '\0', size);
  size_t lf = sep ? (size_t)(sep - in) : size;
  const uint8_t *q = sep ? (const uint8_t *)sep + 1 : data + size, *end = data + size;
  char *fmt = malloc(lf + 1); /* terminated, as the engine requires */
  char err[128];
  Ctx c;
  StrFmtIO io;
  StrFmtArg fa[MAXARGS];
  int i;
  memcpy(fmt, in, lf);
  fmt[lf] = '\0';
  memset(&c, 0, sizeof c);
  while (q < end && c.nargs < MAXARGS) {
    Arg *a = &c.args[c.nargs];
    uint8_t k = *q++;
    if ((k & 1) == 0) {
      uint64_t bits = 0;
      if (end - q < 8) break;
      memcpy(&bits, q, 8);
      q += 8;
      memcpy(&a->num, &bits, 8);
      a->isnum = 1;
    } else {
      size_t n = k & 31;
      if ((size_t)(end - q) < n) break;
      a->s = (const char *)q;
      a->len = n;
      q += n;
    }
    c.nargs++;
  }
  for (i = 0; i < c.nargs; i++) { /* what an interpreter could read directly */
    fa[i].kind = c.args[i].isnum ? STRFMT_ARGNUM : STRFMT_ARGSTR;
    fa[i].num = c.args[i].num;
    fa[i].s = c.args[i].s;
    fa[i].len = c.args[i].len;
  }
  io.ud = &c;
  io.nargs = c.nargs + 1;
  io.args = fa;
  io.nfast = c.nargs / 2; /* the others through arg() */
  io.put = put;
  io.arg = arg;
  if (strfmt_format(fmt, lf, &io, err, sizeof err) == STRFMT_ERROR && strlen(err) == 0) abort();
  free(fmt);
  return 0;
}
