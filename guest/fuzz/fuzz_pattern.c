/*
 * fuzz_pattern.c - libFuzzer target for the pattern matcher (lpattern.c).
 *
 *   clang-19 -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I../src fuzz_pattern.c ../src/lpattern.c \
 *     -o /tmp/fuzz_pattern && /tmp/fuzz_pattern corpus_pattern
 *
 * Input: pattern bytes, a NUL separator, subject bytes (no NUL: the whole input is the pattern with an empty
 * subject). Runs a find-style scan and a gmatch/gsub-style scan with a fuel cap, and checks the invariants of
 * every reported match and capture, and that the start filter (lpat_nextstart) only passes over positions where
 * no match starts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lpattern.h"

static int64_t fuel;
static int fuel_cb(void *ud, int64_t n) {
  (void)ud;
  fuel -= n;
  return fuel < 0;
}

static void check_match(lpat_State *ms, const char *s, const char *e, int wholeifnone) {
  int n = lpat_nresults(ms, wholeifnone), i;
  if (e < s || e > ms->src_end) abort();
  for (i = 0; i < n; i++) {
    const char *cp;
    size_t cl, pos;
    int k = lpat_capture(ms, i, s, e, &cp, &cl, &pos);
    if (k == 0 && (cp < ms->src || cp + cl > ms->src_end)) abort();
    if (k == 1 && (pos < 1 || pos > (size_t)(ms->src_end - ms->src) + 1)) abort();
    if (k < 0) return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = (const char *)data;
  const char *sep = memchr(in, '\0', size);
  size_t lp = sep ? (size_t)(sep - in) : size;
  const char *subj = sep ? sep + 1 : in + size;
  size_t ls = sep ? size - lp - 1 : 0;
  /* copy to exact-size heap blocks so ASan catches any overread */
  char *p = malloc(lp ? lp : 1), *s = malloc(ls ? ls : 1);
  lpat_State ms;
  const char *src, *pat = p;
  size_t plen = lp;
  int anchor;
  memcpy(p, in, lp);
  memcpy(s, subj, ls);

  /* find/match style */
  fuel = 200000;
  anchor = plen > 0 && *pat == '^';
  if (anchor) pat++, plen--;
  lpat_init(&ms, s, ls, pat + plen, fuel_cb, NULL);
  for (src = s;; src++) {
    const char *e;
    lpat_reset(&ms);
    e = lpat_match(&ms, src, pat);
    if (ms.status != LPAT_OK) break;
    if (e) {
      check_match(&ms, src, e, 1);
      break;
    }
    if (anchor || src >= s + ls) break;
  }

  /* gmatch style: unanchored, advance past empty matches */
  fuel = 200000;
  lpat_init(&ms, s, ls, p + lp, fuel_cb, NULL);
  for (src = s; src <= s + ls;) {
    const char *e;
    lpat_reset(&ms);
    e = lpat_match(&ms, src, p);
    if (ms.status != LPAT_OK) break;
    if (e) {
      check_match(&ms, src, e, 1);
      src = e > src ? e : src + 1;
    } else {
      src++;
    }
  }
  /* start filter (lpat_prepare/lpat_nextstart): a position passed over must be one where matching fails at
     once, without an error */
  fuel = 200000;
  lpat_init(&ms, s, ls, p + lp, fuel_cb, NULL);
  lpat_prepare(&ms, p);
  for (src = s; src <= s + ls; src++) {
    const char *next = lpat_nextstart(&ms, src);
    if (next < src || next > s + ls) abort();
    if (next > src) {
      lpat_State probe;
      lpat_init(&probe, s, ls, p + lp, NULL, NULL);
      if (lpat_match(&probe, src, p) != NULL || probe.status != LPAT_OK) abort();
    }
  }
  free(p);
  free(s);
  return 0;
}
