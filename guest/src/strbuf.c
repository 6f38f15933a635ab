/*
 * strbuf.c - see strbuf.h.
 */
#include "strbuf.h"

#include <string.h>

#include "memops.h"

#define SB_FUELBYTES 32
#define SB_CHARGEBATCH 4096

void sb_init(pal_State *L, StrBuf *b) {
  b->L = L;
  b->p = b->inl;
  b->len = 0;
  b->cap = SB_INLINE;
  b->uncharged = 0;
  pal_pushnil(L);
  b->slot = pal_gettop(L);
}

int sb_charge(StrBuf *b, size_t bytes) {
  b->uncharged += bytes;
  if (b->uncharged >= SB_CHARGEBATCH) {
    int64_t units = (int64_t)(b->uncharged / SB_FUELBYTES);
    b->uncharged %= SB_FUELBYTES;
    if (pal_chargefuel(b->L, units) != 0) return 0;
  }
  return 1;
}

int sb_reserve(StrBuf *b, size_t extra) {
  size_t need, ncap;
  uint8_t *nb;
  if (extra <= b->cap - b->len) return 1;
  if (pal_errpending(b->L) != PAL_OK) return 0;
  if (extra > SB_MAXSIZE || b->len + extra > SB_MAXSIZE) {
    pal_errorf(b->L, "resulting string too large");
    return 0;
  }
  need = b->len + extra;
  ncap = b->cap * 2;
  if (ncap < need) ncap = need;
  if (ncap > SB_MAXSIZE) ncap = SB_MAXSIZE;
  nb = pal_newbuffer(b->L, ncap);
  if (nb == NULL || pal_errpending(b->L) != PAL_OK) {
    if (pal_errpending(b->L) == PAL_OK) pal_memerror(b->L);
    return 0;
  }
  if (b->len) memcpy(nb, b->p, b->len);
  pal_replace(b->L, b->slot);
  b->p = (char *)nb;
  b->cap = ncap;
  return sb_charge(b, b->len);
}

int sb_add(StrBuf *b, const void *p, size_t n) {
  if (n > b->cap - b->len && !sb_reserve(b, n)) return 0;
  mem_copy(b->p + b->len, p, n);
  b->len += n;
  b->uncharged += n;
  if (b->uncharged >= SB_CHARGEBATCH) return sb_charge(b, 0);
  return 1;
}

int sb_addc(StrBuf *b, char c) {
  if (b->len >= b->cap && !sb_reserve(b, 1)) return 0;
  b->p[b->len++] = c;
  if (++b->uncharged >= SB_CHARGEBATCH) return sb_charge(b, 0);
  return 1;
}

void sb_push(StrBuf *b) {
  if (b->uncharged >= SB_FUELBYTES) {
    pal_chargefuel(b->L, (int64_t)(b->uncharged / SB_FUELBYTES));
    b->uncharged = 0;
  }
  pal_pushlstring(b->L, b->p, b->len);
}
