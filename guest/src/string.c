/*
 * string.c - interned strings. Every string lives in the hash table g->strt (chained through TString.hnext),
 * so equal strings are one object and string equality is pointer equality. Strings are not in allgc: the
 * collector sweeps the string table directly (gc.c).
 */
#include "gc.h"
#include "memops.h"

#define MINSTRTABSIZE 128
/* Seeded hash over every byte, 8 bytes per step, so that no family of strings can be made to collide
   independently of the seed by varying bytes a sampling hash would skip. Each word is xored into the state,
   which then goes through x*K + (x >> 32): a multiplication alone would pass a flip of the top bit through
   unchanged (a difference the next word could cancel whatever the seed); the added high half makes every
   difference's effect depend on the state's carries. The cost is of the order of the copy that creating the
   string needs anyway. */
static uint32_t str_hash(const char *s, size_t len, uint32_t seed) {
  const unsigned char *p = (const unsigned char *)s;
  uint64_t h = (((uint64_t)seed << 32) | seed) ^ ((uint64_t)len * 0x9e3779b97f4a7c15u);
  uint64_t w;
  size_t n = len;
  while (n >= 8) {
    memcpy(&w, p, 8);
    h ^= w;
    h = h * 0xd6e8feb86659fd93u + (h >> 32);
    p += 8;
    n -= 8;
  }
  if (n >= 4) { /* 4..7 bytes left: two overlapping 4-byte words */
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + n - 4, 4);
    w = ((uint64_t)a << 32) | b;
  } else { /* 0..3 bytes */
    w = 0;
    for (size_t i = 0; i < n; i++) w = (w << 8) | p[i];
  }
  h ^= w;
  h = h * 0xd6e8feb86659fd93u + (h >> 32);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9u;
  h ^= h >> 32;
  return (uint32_t)h;
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

/* the string equal to s[0..len) with hash h, or NULL */
static TString *str_find(global_State *g, const char *s, size_t len, uint32_t h) {
  TString *ts;
  if (g->strt_size == 0) return NULL;
  for (ts = g->strt[h & (g->strt_size - 1)]; ts != NULL; ts = ts->hnext) {
    if (ts->hash == h && ts->len == len && mem_eq(getstr(ts), s, len)) return ts;
  }
  return NULL;
}

/* an unlinked string object for len bytes, header filled but for the hash; NULL on OOM (error pending) */
static TString *str_alloc(pal_State *L, size_t len) {
  TString *ts;
  if (len > PAL_MAXBUFFER) {
    vm_seterror(L, PAL_ERRMEM, NULL);
    return NULL;
  }
  ts = (TString *)mem_realloc(L, NULL, 0, sizestring(len));
  if (ts == NULL) return NULL;
  ts->gcnext = NULL; /* on g->strgc once linked (str_link): a buffer may still be freed unlinked */
  ts->tt = PAL_TSTRING;
  ts->reserved = 0;
  ts->len = (uint32_t)len;
  ts->data[len] = '\0';
  return ts;
}

/* Links the new string ts (hash h) into the table, growing it first so that ts lands in the right chain.
   0 on OOM (error pending; ts is not linked). */
static int str_link(pal_State *L, TString *ts, uint32_t h) {
  global_State *g = G(L);
  uint32_t old = g->strt_size;
  /* The table grows at load 1/2, so that a new string's lookup mostly meets an empty chain rather than a cache
     miss on an unrelated string. Below load 1 growing is optional and only tried within the memory budget: a
     state whose budget is full of garbage not yet collected must still create strings (a refused allocation
     would fail this one). At load 1 it is required, as is the first table. */
  if (g->strt_nuse >= old / 2) {
    size_t extra = (size_t)old * 2 * sizeof(TString *);
    if (g->strt_nuse >= old || g->budget == 0 || (extra <= g->budget && g->totalbytes <= g->budget - extra)) {
      str_resize(L, old ? old * 2 : MINSTRTABSIZE);
      if (g->strt_size == old) return 0;
    }
  }
  ts->marked = g->currentwhite;
  ts->hash = h;
  ts->hnext = g->strt[h & (g->strt_size - 1)];
  g->strt[h & (g->strt_size - 1)] = ts;
  g->strt_nuse++;
  ts->gcnext = g->strgc; /* the sweeper's list of strings (gc.c) */
  g->strgc = (GCObject *)ts;
  return 1;
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
  ts = str_find(g, s, len, h);
  if (ts != NULL) return ts;
  ts = str_alloc(L, len);
  if (ts == NULL) return NULL;
  mem_copy(ts->data, s, len);
  if (!str_link(L, ts, h)) {
    mem_free(L, ts, sizestring(len));
    return NULL;
  }
  return ts;
}

TString *str_newbuf(pal_State *L, size_t len) {
  return str_alloc(L, len);
}

TString *str_intern(pal_State *L, TString *buf) {
  global_State *g = G(L);
  size_t len = buf->len;
  uint32_t h = str_hash(getstr(buf), len, g->seed);
  TString *ts = str_find(g, getstr(buf), len, h);
  if (ts == NULL) {
    if (str_link(L, buf, h)) return buf;
  }
  mem_free(L, buf, sizestring(len));
  return ts;
}

TString *str_newz(pal_State *L, const char *s) {
  return str_new(L, s, strlen(s));
}

/* Called by the sweeper after unlinking ts from its chain and from strgc. */
void str_free(pal_State *L, TString *ts) {
  G(L)->strt_nuse--;
  mem_realloc(L, ts, sizestring(ts->len), 0);
}
