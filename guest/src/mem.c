/*
 * mem.c - the counted allocator. Every byte the interpreter holds goes through mem_realloc, which keeps
 * g->totalbytes exact and refuses to grow past g->budget (0 = unlimited). Refusal = NULL + pending PAL_ERRMEM.
 * Nothing here ever runs the collector.
 *
 * Small blocks (up to MEM_POOLMAX bytes: tables, closures, upvalues, short strings, small arrays) are recycled
 * through per-state free lists, one per 8-byte size class, on top of the system allocator (dlmalloc in wasm).
 * A small block is always obtained from malloc with its class size, so a pooled block fits any request of its
 * class and can be handed back to free() at any time. This relies on callers passing the exact size of a
 * block when freeing or resizing it, which the byte accounting requires anyway. Pooled bytes do not count as
 * used; their total is capped (MEM_POOLCAP, and an eighth of the budget) so the pool never hides much memory.
 */
#include <stdlib.h>

#include "gc.h"

#define MEM_POOLMAX 256
#define MEM_NCLASSES (MEM_POOLMAX / 8)
#define MEM_POOLCAP ((size_t)1 << 20)
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
/* keep use-after-free detection for pooled blocks: poison all but the free-list link; check the class fits */
#include <malloc.h>
#include <sanitizer/asan_interface.h>
#include <stdio.h>
static void pool_checkfits(void *b, size_t csize) {
  if (malloc_usable_size(b) < csize) {
    fprintf(stderr, "mem.c: block %p freed with a size larger than it was allocated with\n", b);
    abort();
  }
}
#define POOL_PUT(b, csize) \
  (pool_checkfits((b), (csize)), ASAN_POISON_MEMORY_REGION((char *)(b) + sizeof(void *), (csize) - sizeof(void *)))
#define POOL_TAKE(b, csize) ASAN_UNPOISON_MEMORY_REGION((b), (csize))
#else
#define POOL_PUT(b, csize) ((void)0)
#define POOL_TAKE(b, csize) ((void)0)
#endif

static size_t poolcap(const global_State *g) {
  size_t cap = MEM_POOLCAP;
  if (g->budget != 0 && g->budget / 8 < cap) cap = g->budget / 8;
  return cap;
}

/* a block of class c: from the pool, else from malloc */
static void *pool_alloc(global_State *g, int c) {
  void *b = g->pool[c];
  if (b != NULL) {
    POOL_TAKE(b, classsize(c));
    g->pool[c] = *(void **)b;
    g->poolbytes -= classsize(c);
    return b;
  }
  return malloc(classsize(c));
}

static void pool_free(global_State *g, void *b, int c) {
  size_t cs = classsize(c);
  if (g->poolbytes + cs > poolcap(g)) {
    free(b);
    return;
  }
  *(void **)b = g->pool[c];
  POOL_PUT(b, cs);
  g->pool[c] = b;
  g->poolbytes += cs;
}

void mem_releasepool(global_State *g) {
  for (int c = 0; c < MEM_NCLASSES; c++) {
    void *b = g->pool[c];
    while (b != NULL) {
      void *next;
      POOL_TAKE(b, classsize(c));
      next = *(void **)b;
      free(b);
      b = next;
    }
    g->pool[c] = NULL;
  }
  g->poolbytes = 0;
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
static void *refuse(pal_State *L) {
  G(L)->memrefusals++;
  vm_seterror(L, PAL_ERRMEM, NULL);
  return NULL;
}

void *mem_realloc(pal_State *L, void *block, size_t osize, size_t nsize) {
  global_State *g = G(L);
  void *nb;
  if (block == NULL) osize = 0;
  if (nsize == 0) { /* freeing never fails */
    if (block != NULL) {
      if (osize != 0 && osize <= MEM_POOLMAX)
        pool_free(g, block, sizeclass(osize));
      else
        free(block);
    }
    g->totalbytes = g->totalbytes >= osize ? g->totalbytes - osize : 0;
    return NULL;
  }
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
      /* a pooled-size block is a real malloc block of at least its class size: realloc works on it */
      nb = realloc(block, nsize);
    } else
      nb = block == NULL ? malloc(nsize) : realloc(block, nsize);
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

GCObject *mem_newobj(pal_State *L, size_t size, int tt) {
  global_State *g = G(L);
  GCObject *o = (GCObject *)mem_realloc(L, NULL, 0, size);
  if (o == NULL) return NULL;
  o->tt = (uint8_t)tt;
  o->marked = g->currentwhite;
  o->gcnext = g->allgc;
  g->allgc = o;
  return o;
}
