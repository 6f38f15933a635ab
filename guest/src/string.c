/*
 * string.c - interned strings. Every string lives in the hash table g->strt (chained through TString.hnext),
 * so equal strings are one object and string equality is pointer equality. Strings are not in allgc: the
 * collector sweeps the string table directly (gc.c).
 */
#include "gc.h"
#include "memops.h"

#define MINSTRTABSIZE 128
/* Seeded hash over every byte (4 bytes per step), so that no family of strings can be made to collide
   independently of the seed by varying bytes a sampling hash would skip; the cost is of the same order as the
   copy that creating the string needs anyway. */
static uint32_t str_hash(const char *s, size_t len, uint32_t seed) {
  const unsigned char *p = (const unsigned char *)s;
  uint32_t h = seed ^ (uint32_t)len ^ 0x9e3779b9u;
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    w *= 0xcc9e2d51u;
    w = (w << 15) | (w >> 17);
    h ^= w * 0x1b873593u;
    h = ((h << 13) | (h >> 19)) * 5 + 0xe6546b64u;
    p += 4;
    len -= 4;
  }
  while (len > 0) {
    h = (h ^ *p++) * 0x01000193u;
    len--;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

void str_resize(pal_State *L, uint32_t newsize) {
  global_State *g = G(L);
  TString **nt;
  if (newsize < MINSTRTABSIZE) newsize = MINSTRTABSIZE;
  if ((newsize & (newsize - 1)) != 0) { /* round up to a power of 2 */
    uint32_t p = MINSTRTABSIZE;
    while (p < newsize) p <<= 1;
    newsize = p;
  }
  if (newsize == g->strt_size) return;
  nt = mem_newvector(L, newsize, TString *);
  if (nt == NULL) return; /* error pending; the old table stays usable */
  for (uint32_t i = 0; i < newsize; i++) nt[i] = NULL;
  for (uint32_t i = 0; i < g->strt_size; i++) {
    TString *ts = g->strt[i];
    while (ts != NULL) {
      TString *next = ts->hnext;
      uint32_t h = ts->hash & (newsize - 1);
      ts->hnext = nt[h];
      nt[h] = ts;
      ts = next;
    }
  }
  mem_freevector(L, g->strt, g->strt_size, TString *);
  g->strt = nt;
  g->strt_size = newsize;
}

void str_init(pal_State *L) {
  str_resize(L, MINSTRTABSIZE);
}

TString *str_new(pal_State *L, const char *s, size_t len) {
  global_State *g = G(L);
  uint32_t h;
  TString *ts;
  if (len > PAL_MAXBUFFER) {
    vm_seterror(L, PAL_ERRMEM, NULL);
    return NULL;
  }
  h = str_hash(s, len, g->seed);
  if (g->strt_size > 0) {
    for (ts = g->strt[h & (g->strt_size - 1)]; ts != NULL; ts = ts->hnext) {
      if (ts->hash == h && ts->len == len && mem_eq(getstr(ts), s, len)) return ts;
    }
  }
  if (g->strt_nuse >= g->strt_size) { /* grow first so that the new string lands in the right chain */
    uint32_t old = g->strt_size;
    str_resize(L, old ? old * 2 : MINSTRTABSIZE);
    if (g->strt_size == old) return NULL; /* out of memory (error pending) */
  }
  ts = (TString *)mem_realloc(L, NULL, 0, sizestring(len));
  if (ts == NULL) return NULL;
  ts->gcnext = NULL;
  ts->tt = PAL_TSTRING;
  ts->marked = g->currentwhite;
  ts->reserved = 0;
  ts->hash = h;
  ts->len = (uint32_t)len;
  mem_copy(ts->data, s, len);
  ts->data[len] = '\0';
  ts->hnext = g->strt[h & (g->strt_size - 1)];
  g->strt[h & (g->strt_size - 1)] = ts;
  g->strt_nuse++;
  return ts;
}

TString *str_newz(pal_State *L, const char *s) {
  return str_new(L, s, strlen(s));
}

/* Called by the sweeper after unlinking ts from its chain. */
void str_free(pal_State *L, TString *ts) {
  G(L)->strt_nuse--;
  mem_realloc(L, ts, sizestring(ts->len), 0);
}
