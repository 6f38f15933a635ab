/*
 * mem.c - the counted allocator. Every byte the interpreter holds goes through mem_realloc, which keeps
 * g->totalbytes exact and refuses to grow past g->budget (0 = unlimited). Refusal = NULL + pending PAL_ERRMEM.
 * Nothing here ever runs the collector.
 *
 * Small blocks (up to MEM_POOLMAX bytes: tables, closures, upvalues, short strings, small arrays) come in 8-byte
 * size classes. They are carved by bumping a pointer through 16 KiB chunks obtained from the system allocator
 * (dlmalloc in wasm, slow there); a freed chunk block goes on its class's LIFO free list and is handed out again
 * before anything new is carved, so steady allocate/free cycles never call malloc or free.
 *
 * Bytes in chunks outside live blocks (pooled or not yet carved: g->poolbytes) do not count as used. They are
 * bounded: a new chunk is only started while g->poolbytes is under a cap (MEM_POOLCAP, and an eighth of the
 * budget). Past the cap, pool_reclaim first gives every chunk with no live block back to the system allocator
 * (so memory freed as one size class can serve other sizes, as malloc would); if the pool is still over the cap,
 * the block comes from malloc and goes back to free. mem_releasepool (pal_close) gives back every chunk.
 *
 * Whether a small block lives in a chunk is told by its address: g->chunkset holds every chunk's address under
 * each of the (at most two) MEM_CHUNK-aligned windows the chunk overlaps, so the chunk holding a block is among
 * the entries filed under the block's window. (Chunks are not aligned: aligned allocations leave holes in
 * dlmalloc's heap, which cost linear memory.) Freeing asks only while some small block lives outside the chunks
 * (g->nloose). This relies on callers passing the exact size of a block when
 * freeing or resizing it, which the byte accounting requires anyway.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gc.h"

#define MEM_POOLMAX 256
#define MEM_NCLASSES (MEM_POOLMAX / 8)
#define MEM_POOLCAP ((size_t)1 << 20)
#define MEM_CHUNK ((size_t)16 << 10) /* chunk size (with its header): small, every page a guild touches costs */
#define MEM_CHUNKHDR ((sizeof(ChunkHeader) + 7) & ~(size_t)7) /* blocks are 8-aligned */
#define MEM_SETMIN 64                /* initial chunkset slots (a power of two; kept at most half full) */
#define NOINLINE __attribute__((noinline)) /* keeps slow paths out of the inlined fast ones */
#define sizeclass(n) (((n) - 1) >> 3) /* n in 1..MEM_POOLMAX -> 0..MEM_NCLASSES-1 */
#define classsize(c) (((size_t)(c) + 1) << 3)

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif
#if !defined(MEM_ASAN) && defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#endif

#ifdef MEM_ASAN
/* keep use-after-free and overflow detection for chunk blocks: the uncarved part of a chunk is poisoned, every
   carved block is followed by a poisoned redzone, a pooled block is poisoned except for its free-list link */
#include <sanitizer/asan_interface.h>
#define MEM_ASAN_ON 1
#define MEM_REDZONE 16
#define POISON(b, n) ASAN_POISON_MEMORY_REGION((b), (n))
#define UNPOISON(b, n) ASAN_UNPOISON_MEMORY_REGION((b), (n))
#else
#define MEM_ASAN_ON 0
#define MEM_REDZONE 0
#define POISON(b, n) ((void)0)
#define UNPOISON(b, n) ((void)0)
#endif

/* a chunk starts with this header; its blocks follow */
typedef struct ChunkHeader {
  char *next;   /* g->chunks: every chunk, newest (the one being carved) first */
  size_t nfree; /* scratch for pool_reclaim */
} ChunkHeader;
#define chunkhdr(ch) ((ChunkHeader *)(void *)(ch))

static size_t poolcap(const global_State *g) {
  size_t cap = MEM_POOLCAP;
  if (g->budget != 0 && g->budget / 8 < cap) cap = g->budget / 8;
  return cap;
}

/* linear probing from the slot of the MEM_CHUNK-aligned window holding address a. Chunks mostly lie side by side,
   so consecutive windows are common: multiplying by an odd constant spreads them apart (it permutes the slots). */
#define setslot(a, mask) ((size_t)((uint32_t)((a) / MEM_CHUNK) * 0x9e3779b1u) & (mask))

/* the chunk block b was carved from, or NULL if b is a malloc block */
static char *chunkof(const global_State *g, const void *b) {
  uintptr_t a = (uintptr_t)b;
  const uintptr_t *set = g->chunkset;
  size_t mask = g->chunksetmask, i;
  if (set == NULL) return NULL;
  for (i = setslot(a, mask); set[i] != 0; i = (i + 1) & mask)
    if (a - set[i] < MEM_CHUNK) return (char *)set[i]; /* set[i] <= a < set[i] + MEM_CHUNK */
  return NULL;
}

static void set_insert(uintptr_t *set, size_t mask, uintptr_t ch, uintptr_t window) {
  size_t i = setslot(window, mask);
  while (set[i] != 0) i = (i + 1) & mask;
  set[i] = ch;
}

/* file chunk ch under the windows of its first and last byte (the same window if ch is aligned) */
static void set_add(uintptr_t *set, size_t mask, uintptr_t ch) {
  set_insert(set, mask, ch, ch);
  if ((ch + MEM_CHUNK - 1) / MEM_CHUNK != ch / MEM_CHUNK) set_insert(set, mask, ch, ch + MEM_CHUNK - 1);
}

/* room in g->chunkset for one more chunk (up to two entries), keeping it at most half full; 0 if out of memory */
static int set_reserve(global_State *g) {
  size_t n = g->chunkset == NULL ? MEM_SETMIN : 2 * (g->chunksetmask + 1);
  uintptr_t *set;
  if (g->chunkset != NULL && 4 * (g->nchunks + 1) <= g->chunksetmask + 1) return 1;
  set = (uintptr_t *)calloc(n, sizeof(uintptr_t));
  if (set == NULL) return 0;
  for (char *ch = g->chunks; ch != NULL; ch = chunkhdr(ch)->next) set_add(set, n - 1, (uintptr_t)ch);
  free(g->chunkset);
  g->chunkset = set;
  g->chunksetmask = n - 1;
  return 1;
}

/* a chunk block goes on its class's list (its bytes were already taken off g->poolbytes or never counted) */
static void pool_put(global_State *g, void *b, int c) {
  *(void **)b = g->pool[c];
  POISON((char *)b + sizeof(void *), classsize(c) - sizeof(void *));
  g->pool[c] = b;
}

/* Give back every chunk without a live block: count each chunk's free bytes (pooled blocks, each followed by its
   redzone, and the uncarved rest), drop the blocks of wholly free chunks from the lists, free those chunks and
   refile the others. It walks every pooled block, so pool_refill runs it only once as many bytes have come from
   malloc past the cap since the last time as the pool holds: its cost is amortized over those mallocs. */
static void pool_reclaim(global_State *g) {
  const size_t usable = MEM_CHUNK - MEM_CHUNKHDR;
  char **pch;
  for (char *ch = g->chunks; ch != NULL; ch = chunkhdr(ch)->next) chunkhdr(ch)->nfree = 0;
  if (g->chunks != NULL) chunkhdr(g->chunks)->nfree = (size_t)(g->chunkend - g->chunkbump);
  for (int c = 0; c < MEM_NCLASSES; c++)
    for (void *b = g->pool[c]; b != NULL; b = *(void **)b)
      chunkhdr(chunkof(g, b))->nfree += classsize(c) + MEM_REDZONE;
  g->poolbytes = 0;
  for (int c = 0; c < MEM_NCLASSES; c++) {
    void **link = &g->pool[c];
    while (*link != NULL) {
      void *b = *link;
      if (chunkhdr(chunkof(g, b))->nfree == usable) {
        *link = *(void **)b; /* unlink; its chunk is freed below */
      } else {
        link = (void **)b;
        g->poolbytes += classsize(c);
      }
    }
  }
  if (g->chunks != NULL && chunkhdr(g->chunks)->nfree == usable) g->chunkbump = g->chunkend = NULL;
  g->poolbytes += (size_t)(g->chunkend - g->chunkbump);
  pch = &g->chunks;
  while (*pch != NULL) {
    char *ch = *pch;
    if (chunkhdr(ch)->nfree == usable) {
      *pch = chunkhdr(ch)->next;
      UNPOISON(ch, MEM_CHUNK);
      free(ch);
      g->nchunks--;
    } else {
      pch = &chunkhdr(ch)->next;
    }
  }
  g->lastchunk = NULL; /* (it may have been freed) */
  memset(g->chunkset, 0, (g->chunksetmask + 1) * sizeof(uintptr_t));
  for (char *ch = g->chunks; ch != NULL; ch = chunkhdr(ch)->next)
    set_add(g->chunkset, g->chunksetmask, (uintptr_t)ch);
  g->pooldebt = 0;
}

/* a small block from malloc instead of a chunk (counted in g->nloose until freed) */
static void *loosealloc(global_State *g, size_t n) {
  void *b = malloc(n);
  if (b != NULL) g->nloose++;
  return b;
}

/* class c's list is empty and the current chunk too short: start a new chunk if the pool may grow, else malloc */
static NOINLINE void *pool_refill(global_State *g, int c) {
  size_t cs = classsize(c), rest;
  char *ch;
  if (g->poolbytes > poolcap(g) && g->pooldebt >= g->poolbytes) pool_reclaim(g);
  if (g->poolbytes > poolcap(g) || !set_reserve(g)) {
    g->pooldebt += cs;
    return loosealloc(g, cs);
  }
  rest = (size_t)(g->chunkend - g->chunkbump);
  ch = (char *)malloc(MEM_CHUNK);
  if (ch == NULL) return loosealloc(g, cs);
  set_add(g->chunkset, g->chunksetmask, (uintptr_t)ch);
  g->nchunks++;
  chunkhdr(ch)->next = g->chunks;
  g->chunks = ch;
  POISON(ch + MEM_CHUNKHDR, MEM_CHUNK - MEM_CHUNKHDR);
  /* the old chunk's tail (a multiple of 8 bytes, shorter than class c) becomes a pooled block of its own class;
     its bytes are in g->poolbytes already */
  if (rest > MEM_REDZONE) {
    size_t tail = rest - MEM_REDZONE;
    UNPOISON(g->chunkbump, sizeof(void *));
    pool_put(g, g->chunkbump, sizeclass(tail));
  }
  g->poolbytes += MEM_CHUNK - MEM_CHUNKHDR - cs - MEM_REDZONE;
  g->chunkbump = ch + MEM_CHUNKHDR + cs + MEM_REDZONE;
  g->chunkend = ch + MEM_CHUNK;
  UNPOISON(ch + MEM_CHUNKHDR, cs);
  return ch + MEM_CHUNKHDR;
}

/* a block of class c: from the free list, else carved from the current chunk, else pool_refill */
static void *pool_alloc(global_State *g, int c) {
  void *b = g->pool[c];
  size_t cs = classsize(c);
  if (b != NULL) {
    UNPOISON(b, cs);
    g->pool[c] = *(void **)b;
    g->poolbytes -= cs;
    return b;
  }
  if ((size_t)(g->chunkend - g->chunkbump) >= cs + MEM_REDZONE) {
    b = g->chunkbump;
    g->chunkbump += cs + MEM_REDZONE;
    g->poolbytes -= cs + MEM_REDZONE;
    UNPOISON(b, cs);
    return b;
  }
  return pool_refill(g, c);
}

/* A freed small block goes back to its chunk's class list if it lives in a chunk, else to free(). While every
   small block lives in a chunk (g->nloose == 0: the usual case) that needs no look-up. Otherwise, blocks freed
   one after another mostly come from the same chunk (the sweep frees in reverse allocation order), so the chunk
   of the last pooled block (g->lastchunk) is tried before the chunk set. */
static void pool_free(global_State *g, void *b, int c) {
  char *ch = g->lastchunk;
  if (g->nloose != 0 && (ch == NULL || (uintptr_t)b - (uintptr_t)ch >= MEM_CHUNK)) {
    ch = chunkof(g, b);
    if (ch == NULL) {
      g->nloose--;
      free(b);
      return;
    }
    g->lastchunk = ch;
  }
  pool_put(g, b, c);
  g->poolbytes += classsize(c);
}

void mem_releasepool(global_State *g) {
  char *ch = g->chunks;
  while (ch != NULL) {
    char *next = chunkhdr(ch)->next;
    UNPOISON(ch, MEM_CHUNK);
    free(ch);
    ch = next;
  }
  free(g->chunkset);
  g->chunks = NULL;
  g->chunkset = NULL;
  for (int c = 0; c < MEM_NCLASSES; c++) g->pool[c] = NULL;
  g->chunkbump = g->chunkend = NULL;
  g->lastchunk = NULL;
  g->chunksetmask = g->nchunks = g->poolbytes = g->pooldebt = 0;
}

static int overbudget(global_State *g, size_t osize, size_t nsize) {
  size_t extra;
  if (nsize <= osize) return 0;
  extra = nsize - osize;
  return (g->budget != 0 && (extra > g->budget || g->totalbytes > g->budget - extra)) ||
         g->totalbytes + extra < g->totalbytes;
}

/* The allocator refuses: a pending "not enough memory", counted for the host (pal_memrefusals). When the error
   is caught, vm_clearerror schedules the emergency collection. */
static NOINLINE void *refuse(pal_State *L) {
  G(L)->memrefusals++;
  vm_seterror(L, PAL_ERRMEM, NULL);
  return NULL;
}

/* everything but freeing and fresh small blocks */
static NOINLINE void *mem_resize(pal_State *L, void *block, size_t osize, size_t nsize) {
  global_State *g = G(L);
  void *nb;
  if (overbudget(g, osize, nsize)) {
    return refuse(L);
  }
  if (nsize <= MEM_POOLMAX) {
    int nc = sizeclass(nsize);
    if (osize != 0 && osize <= MEM_POOLMAX && sizeclass(osize) == nc) {
      nb = block; /* same class: the block already fits */
    } else {
      nb = pool_alloc(g, nc);
      if (nb == NULL) {
        if (nsize <= osize) { /* shrinking failed: keep the old (larger) block, account it as the new size */
          nb = block;
          if (osize > MEM_POOLMAX) g->nloose++; /* a malloc block, now a small one */
          goto done;
        }
        return refuse(L);
      }
      if (block != NULL) {
        memcpy(nb, block, osize < nsize ? osize : nsize);
        if (osize <= MEM_POOLMAX && osize != 0)
          pool_free(g, block, sizeclass(osize));
        else
          free(block);
      }
    }
  } else {
    if (osize != 0 && osize <= MEM_POOLMAX) {
      nb = malloc(nsize); /* the small block may live in a chunk: move it */
      if (nb != NULL) {
        memcpy(nb, block, osize);
        pool_free(g, block, sizeclass(osize));
      }
    } else {
      nb = block == NULL ? malloc(nsize) : realloc(block, nsize);
    }
    if (nb == NULL) {
      if (nsize <= osize) {
        nb = block;
      } else {
        return refuse(L);
      }
    }
  }
done:
  g->totalbytes = g->totalbytes - osize + nsize;
  return nb;
}

/* a fresh small block (1 <= n <= MEM_POOLMAX): the common case, kept apart from mem_resize's general one */
static inline void *smallalloc(pal_State *L, size_t n) {
  global_State *g = G(L);
  void *b;
  if (overbudget(g, 0, n)) return refuse(L);
  b = pool_alloc(g, sizeclass(n));
  if (b == NULL) return refuse(L);
  g->totalbytes += n;
  return b;
}

static NOINLINE void freeblock_slow(global_State *g, void *block, size_t osize) {
  if (osize != 0 && osize <= MEM_POOLMAX)
    pool_free(g, block, sizeclass(osize));
  else
    free(block);
  g->totalbytes = g->totalbytes >= osize ? g->totalbytes - osize : 0;
}

/* As in mem_newobj, the common case (a small block while every small block lives in a chunk) calls nothing. */
void mem_freeblock(pal_State *L, void *block, size_t osize) {
  global_State *g = G(L);
  if (block == NULL) return;
  if (!MEM_ASAN_ON && g->nloose == 0 && osize - 1 < MEM_POOLMAX) {
    int c = sizeclass(osize);
    *(void **)block = g->pool[c];
    g->pool[c] = block;
    g->poolbytes += classsize(c);
    g->totalbytes = g->totalbytes >= osize ? g->totalbytes - osize : 0;
    return;
  }
  freeblock_slow(g, block, osize);
}

void *mem_realloc(pal_State *L, void *block, size_t osize, size_t nsize) {
  if (nsize == 0) { /* freeing never fails */
    mem_freeblock(L, block, osize);
    return NULL;
  }
  if (block == NULL) {
    if (nsize <= MEM_POOLMAX) return smallalloc(L, nsize);
    osize = 0;
  }
  return mem_resize(L, block, osize, nsize);
}

static void linkobj(global_State *g, GCObject *o, int tt) {
  o->tt = (uint8_t)tt;
  o->marked = g->currentwhite;
  o->gcnext = g->allgc;
  g->allgc = o;
}

static NOINLINE GCObject *newobj_slow(pal_State *L, size_t size, int tt) {
  GCObject *o = (GCObject *)(size <= MEM_POOLMAX ? smallalloc(L, size) : mem_realloc(L, NULL, 0, size));
  if (o != NULL) linkobj(G(L), o, tt);
  return o;
}

/* The common case, a small object whose class list has a block and within the budget, calls nothing (so it needs
   no saved registers); everything else is newobj_slow. (ASan builds always take the slow path, which unpoisons.) */
GCObject *mem_newobj(pal_State *L, size_t size, int tt) {
  global_State *g = G(L);
  if (!MEM_ASAN_ON && size - 1 < MEM_POOLMAX && g->pool[sizeclass(size)] != NULL && !overbudget(g, 0, size)) {
    int c = sizeclass(size);
    GCObject *o = (GCObject *)g->pool[c];
    g->pool[c] = *(void **)o;
    g->poolbytes -= classsize(c);
    g->totalbytes += size;
    linkobj(g, o, tt);
    return o;
  }
  return newobj_slow(L, size, tt);
}
