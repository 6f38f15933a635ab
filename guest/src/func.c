/*
 * func.c - prototypes, closures, upvalues, userdata, buffers and threads (creation only; the collector frees).
 */
#include "gc.h"

Proto *proto_new(pal_State *L) {
  Proto *p = (Proto *)mem_newobj(L, sizeof(Proto), T_PROTO);
  if (p == NULL) return NULL;
  p->numparams = 0;
  p->is_vararg = 0;
  p->maxstacksize = 0;
  p->nups = 0;
  p->code = NULL;
  p->sizecode = 0;
  p->lineinfo = NULL;
  p->k = NULL;
  p->sizek = 0;
  p->gcache = NULL;
  p->shapes = NULL;
  p->sizeshapes = 0;
  p->p = NULL;
  p->sizep = 0;
  p->upvals = NULL;
  p->upvalnames = NULL;
  p->source = NULL;
  p->name = NULL;
  p->linedefined = 0;
  p->gclist = NULL;
  return p;
}

/* (no_builtin: the few upvalue slots are cleared by the loop, not by a call to memset, a slow libc call in
   WebAssembly) */
__attribute__((no_builtin("memset"))) LClosure *closure_newL(pal_State *L, Proto *p, Table *env) {
  int n = p->nups;
  LClosure *cl = (LClosure *)mem_newobj(L, sizeLclosure(n), PAL_TFUNCTION);
  if (cl == NULL) return NULL;
  cl->isC = 0;
  cl->nupvalues = (uint8_t)n;
  cl->env = env;
  cl->gclist = NULL;
  cl->p = p;
  for (int i = 0; i < n; i++) cl->upvals[i] = NULL;
  return cl;
}

CClosure *closure_newC(pal_State *L, pal_CFunction f, const char *name, int nup, Table *env) {
  CClosure *cl;
  if (nup < 0) nup = 0;
  if (nup > 255) nup = 255;
  cl = (CClosure *)mem_newobj(L, sizeCclosure(nup), PAL_TFUNCTION);
  if (cl == NULL) return NULL;
  cl->isC = 1;
  cl->nupvalues = (uint8_t)nup;
  cl->env = env;
  cl->gclist = NULL;
  cl->f = f;
  cl->name = name;
  cl->builtin = 0;
  for (int i = 0; i < nup; i++) setnilvalue(&cl->upvalue[i]);
  return cl;
}

/* The open upvalue for a stack slot, created if needed. The list is ordered by level, highest first, so the usual
   case (a capture above every open upvalue, e.g. a fresh loop local) looks at the head only. */
UpVal *upval_find(pal_State *L, TValue *level) {
  UpVal **pp = &L->openupval, *p, *uv;
  while ((p = *pp) != NULL && p->v > level) pp = &p->u.next;
  if (p != NULL && p->v == level) return p;
  uv = (UpVal *)mem_newobj(L, sizeof(UpVal), T_UPVAL);
  if (uv == NULL) return NULL;
  uv->u.next = p;
  uv->v = level;
  *pp = uv;
  return uv;
}

/* closure_newL inlined, without its clearing loop: each upvalue slot is written once, in order. */
LClosure *closure_instantiate(pal_State *L, Proto *p, const LClosure *encl, TValue *base) {
  const UpvalDesc *d = p->upvals;
  int n = p->nups;
  LClosure *cl = (LClosure *)mem_newobj(L, sizeLclosure(n), PAL_TFUNCTION);
  if (cl == NULL) return NULL;
  cl->isC = 0;
  cl->nupvalues = (uint8_t)n;
  cl->env = encl->env;
  cl->gclist = NULL;
  cl->p = p;
  for (int j = 0; j < n; j++) {
    UpVal *uv;
    if (!d[j].instack)
      uv = encl->upvals[d[j].idx];
    else if ((uv = upval_find(L, base + d[j].idx)) == NULL) {
      while (j < n) cl->upvals[j++] = NULL; /* the half-built closure is unreachable garbage, but well-formed */
      return NULL;
    }
    cl->upvals[j] = uv;
  }
  return cl;
}

void upval_close(pal_State *L, TValue *level) {
  UpVal *uv;
  while ((uv = L->openupval) != NULL && uv->v >= level) {
    L->openupval = uv->u.next;
    uv->u.value = *uv->v; /* (overwrites the list link, read just before) */
    uv->v = &uv->u.value;
  }
}

Udata *udata_new(pal_State *L, size_t size, int tag) {
  Udata *u;
  if (size > PAL_MAXBUFFER) {
    vm_seterror(L, PAL_ERRMEM, NULL);
    return NULL;
  }
  u = (Udata *)mem_newobj(L, sizeudata(size), PAL_TUSERDATA);
  if (u == NULL) return NULL;
  u->tag = (uint8_t)tag;
  u->metatable = NULL;
  u->len = size;
  memset(u->data, 0, size);
  return u;
}

Buffer *buffer_new(pal_State *L, size_t size) {
  Buffer *b;
  if (size > PAL_MAXBUFFER) {
    vm_seterror(L, PAL_ERRMEM, NULL);
    return NULL;
  }
  b = (Buffer *)mem_newobj(L, sizebuffer(size), PAL_TBUFFER);
  if (b == NULL) return NULL;
  b->len = (uint32_t)size;
  memset(b->data, 0, size);
  return b;
}

/* Fields of a thread that the object layer owns; call.c's stack_init fills the stack and frames. */
static void thread_preinit(pal_State *th, global_State *g) {
  th->status = PAL_OK;
  th->costate = 0;
  th->g = g;
  th->stack = NULL;
  th->top = NULL;
  th->stacksize = 0;
  th->ci = NULL;
  th->base_ci = NULL;
  th->size_ci = 0;
  th->openupval = NULL;
  th->gt = NULL;
  th->nCcalls = 0;
  th->nny = 0;
  th->errstatus = PAL_OK;
  setnilvalue(&th->errval);
  th->resumer = NULL;
  th->gclist = NULL;
  th->nextthread = NULL;
}

void thread_preinit_main(pal_State *th, global_State *g) {
  thread_preinit(th, g);
}

pal_State *thread_new(pal_State *L) {
  global_State *g = G(L);
  pal_State *th = (pal_State *)mem_realloc(L, NULL, 0, sizeof(pal_State));
  if (th == NULL) return NULL;
  th->gcnext = NULL;
  th->tt = PAL_TTHREAD;
  th->marked = g->currentwhite;
  thread_preinit(th, g);
  th->gt = L->gt;
  if (!stack_init(L, th)) {
    /* stack_init must leave the thread consistent (NULL pointers with zero sizes) when it fails */
    stack_free(L, th);
    mem_free(L, th, sizeof(pal_State));
    if (L->errstatus == PAL_OK) vm_seterror(L, PAL_ERRMEM, NULL);
    return NULL;
  }
  th->gcnext = g->allgc; /* linked only once complete, so the collector never sees a half-built thread */
  g->allgc = (GCObject *)th;
  th->nextthread = g->threads;
  g->threads = th;
  return th;
}
