/*
 * gc.h - private helpers of the object layer (mem.c string.c table.c func.c gc.c api.c).
 * Other parts of the interpreter should only need object.h.
 */
#ifndef PAL_GC_H
#define PAL_GC_H

#include "object.h"

/* GCObject.marked bits. The collector is stop-the-world: an object is "white" (candidate for freeing) when its
   MARKBIT is clear. New objects get g->currentwhite (always WHITEBIT, which has no meaning for liveness). */
#define WHITEBIT 0x01
#define MARKBIT 0x04  /* reached during the current collection */
#define FIXEDBIT 0x08 /* never freed (reserved words, metamethod names, memerrmsg, main thread) */

#define isfixed(o) (((o)->marked & FIXEDBIT) != 0)
#define setfixed(o) ((o)->marked |= FIXEDBIT)

/* Exact allocation sizes (allocation and freeing must agree, since every byte is counted). */
#define sizestring(len) (offsetof(TString, data) + (size_t)(len) + 1)
#define sizeCclosure(n) (offsetof(CClosure, upvalue) + sizeof(TValue) * (size_t)(n))
#define sizeLclosure(n) (offsetof(LClosure, upvals) + sizeof(UpVal *) * (size_t)(n))
#define sizeudata(n) (offsetof(Udata, data) + (size_t)(n))
#define sizebuffer(n) (offsetof(Buffer, data) + (size_t)(n))

#define PAL_MAXBUFFER ((size_t)1 << 30) /* 1 GiB: max string / buffer length */

/* table.c: number of nodes in the hash part (the empty hash part is a shared dummy node: nodemask 0) */
#define tab_sizenode(t) ((int)(t)->nodemask + 1)

/* string.c */
void str_free(pal_State *L, TString *ts);
void str_init(pal_State *L); /* initial string table (may fail: error pending) */

/* func.c: initialise the object-layer fields of a thread (pal_newstate's main thread) */
void thread_preinit_main(pal_State *th, global_State *g);

/* gc.c */
void gc_freeobj(pal_State *L, GCObject *o);
void gc_freeall(pal_State *L); /* pal_close: free every object and every string */
void gc_setthreshold(global_State *g);

/* api.c: environment of the running function (or L->gt) */
Table *api_curenv(pal_State *L);

#endif
