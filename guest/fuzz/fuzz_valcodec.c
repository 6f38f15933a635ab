/*
 * fuzz_valcodec.c - libFuzzer target for the guest value decoder (guest/src/valcodec.c).
 *
 *   clang-19 -g -O1 -fsanitize=fuzzer,address,undefined -Iguest/src guest/fuzz/fuzz_valcodec.c \
 *       guest/src/valcodec.c <interpreter sources, or guest/tests/fakepal.c> -lm -o fuzz_valcodec
 *   ./fuzz_valcodec guest/fuzz/corpus_valcodec
 *
 * Property: decoding arbitrary bytes never crashes, leaks stack slots or exceeds the limits; whatever decodes
 * re-encodes, and that encoding decodes and re-encodes to the same length (a fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "valcodec.h"

static pal_State *L;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pal_VcLimits lim = {1 << 16, 0};
  size_t len1, len2;
  int st;
  if (!L) L = pal_newstate(0);
  if (size > (1 << 16)) return 0;
  pal_settop(L, 0);
  pal_clearerror(L);
  st = pal_valcodec_decode(L, data, size, &lim);
  if (pal_gettop(L) != 1) abort(); /* always exactly one value */
  if (st != PAL_OK) {
    if (pal_errpending(L) == PAL_OK) abort(); /* a failure must leave an error pending */
    pal_clearerror(L);
    pal_settop(L, 0);
    return 0;
  }
  st = pal_valcodec_encode(L, 1, NULL, &len1);
  if (st != PAL_OK) abort(); /* everything that decodes must re-encode */
  if (len1 > size) abort();  /* the guest only drops NILs and never grows a value */
  {
    uint8_t *copy = malloc(len1 ? len1 : 1);
    memcpy(copy, pal_tobuffer(L, 2, NULL), len1);
    st = pal_valcodec_decode(L, copy, len1, NULL);
    if (st != PAL_OK) abort();
    st = pal_valcodec_encode(L, 3, NULL, &len2);
    if (st != PAL_OK || len2 != len1) abort();
    free(copy);
  }
  pal_settop(L, 0);
  /* the real interpreter frees garbage at safe points; the fake keeps everything until close */
  if (pal_gettop(L) == 0) {
    pal_close(L);
    L = NULL;
  }
  return 0;
}
