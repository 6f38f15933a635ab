/*
 * mem.c - the counted allocator. Every byte the interpreter holds goes through mem_realloc, which keeps
 * g->totalbytes exact and refuses to grow past g->budget (0 = unlimited). Refusal = NULL + pending PAL_ERRMEM.
 * Nothing here ever runs the collector.
 */
#include <stdlib.h>

#include "gc.h"

void *mem_realloc(pal_State *L, void *block, size_t osize, size_t nsize) {
  global_State *g = G(L);
  void *nb;
  if (block == NULL) osize = 0;
  if (nsize == 0) { /* freeing never fails */
    free(block);
    g->totalbytes = g->totalbytes >= osize ? g->totalbytes - osize : 0;
    return NULL;
  }
  if (nsize > osize) {
    size_t extra = nsize - osize;
    if ((g->budget != 0 && (extra > g->budget || g->totalbytes > g->budget - extra)) ||
        g->totalbytes + extra < g->totalbytes) {
      vm_seterror(L, PAL_ERRMEM, NULL);
      return NULL;
    }
  }
  nb = realloc(block, nsize);
  if (nb == NULL) {
    if (nsize <= osize) { /* shrinking failed: keep the old (larger) block, account it as the new size */
      nb = block;
    } else {
      vm_seterror(L, PAL_ERRMEM, NULL);
      return NULL;
    }
  }
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
