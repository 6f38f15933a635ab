/*
 * gc.c - stop-the-world mark & sweep collector.
 *
 * Runs only from gc_checkstep (VM safe points) and gc_fullcollect, never inside an allocation.
 * Mark: from the roots (main thread, the running thread, registry, builtins, per-type metatables, metamethod
 * names, memerrmsg), objects get MARKBIT; tables, closures, protos and threads are queued on g->gray (through
 * their gclist field) and traversed iteratively. Weak tables (metatable __mode with 'k' and/or 'v') do not mark
 * their weak parts and are collected on g->weak; after marking, their entries whose weak key or value is an
 * unmarked object (strings never count: they are values) are removed. Sweep: g->strgc (strings) and g->allgc;
 * survivors lose MARKBIT, FIXEDBIT objects always survive.
 *
 * Sealing (gc_seal, once the built-ins are frozen): every object reachable from the built-ins gets FIXEDBIT and
 * SEALBIT, and its tables and closures move from allgc to g->sealedgc. Marking treats a SEALBIT object as marked
 * without traversing it, and the sweep never sees sealedgc. This is sound while everything a SEALBIT object
 * references is itself sealed, i.e. while it is unchanged since gc_seal: every change clears SEALBIT first
 * (gc_unseal, object.h), and each collection traverses the sealedgc objects that lost it as roots.
 */
#include "gc.h"

#define GC_MINSLACK ((size_t)64 * 1024) /* at least this much allocation between collections ... */
#define GC_MINGAP ((size_t)16 * 1024)   /* ... and never less than this, even close to the budget */

static GCObject **gclistof(GCObject *o) {
  switch (o->tt) {
    case PAL_TTABLE: return &((Table *)o)->gclist;
    case PAL_TFUNCTION: return &((Closure *)o)->c.gclist;
    case T_PROTO: return &((Proto *)o)->gclist;
    case PAL_TTHREAD: return &((pal_State *)o)->gclist;
    default: return NULL;
  }
}

static void markobject(global_State *g, GCObject *o);

static void markvalue(global_State *g, const TValue *v) {
  if (iscollectable(v)) markobject(g, gcvalue(v));
}

static void markobject(global_State *g, GCObject *o) {
  GCObject **list;
  if (o == NULL || (o->marked & (MARKBIT | SEALBIT))) return;
  o->marked |= MARKBIT;
  switch (o->tt) {
    case PAL_TTABLE: {
      Table *t = (Table *)o;
      if (t->metatable == NULL && t->sizearray == 0 && tab_isdummy(t)) return; /* nothing to traverse */
      t->gclist = g->gray;
      g->gray = o;
      return;
    }
    case PAL_TSTRING:
    case PAL_TBUFFER: return;
    case PAL_TUSERDATA: markobject(g, (GCObject *)((Udata *)o)->metatable); return;
    case T_UPVAL: markvalue(g, ((UpVal *)o)->v); return; /* open: the stack slot; closed: its own value */
    default:
      list = gclistof(o);
      if (list != NULL) {
        *list = g->gray;
        g->gray = o;
      }
      return;
  }
}

/* weak mode of a table from its metatable's raw __mode: bit 1 = weak keys, bit 2 = weak values */
static int weakmode(global_State *g, Table *t) {
  const TValue *mode;
  int m = 0;
  if (t->metatable == NULL || g->tmname[TM_MODE] == NULL) return 0;
  mode = tab_getstr(t->metatable, g->tmname[TM_MODE]);
  if (!ttisstring(mode)) return 0;
  if (memchr(getstr(tsvalue(mode)), 'k', tsvalue(mode)->len)) m |= 1;
  if (memchr(getstr(tsvalue(mode)), 'v', tsvalue(mode)->len)) m |= 2;
  return m;
}

static void traversetable(global_State *g, Table *t) {
  int wk, wv, size;
  markobject(g, (GCObject *)t->metatable);
  t->weakmode = (uint8_t)weakmode(g, t);
  wk = t->weakmode & 1;
  wv = t->weakmode & 2;
  if (t->weakmode) {
    t->gclist = g->weak;
    g->weak = (GCObject *)t;
  }
  for (int i = 0; i < t->sizearray; i++) {
    const TValue *v = &t->array[i];
    if (!wv || ttisstring(v)) markvalue(g, v);
  }
  if (tab_isdummy(t)) return;
  size = tab_sizenode(t);
  for (int i = 0; i < size; i++) {
    Node *n = &t->node[i];
    TValue key;
    if (ttisnil(&n->val)) continue; /* empty or dead key: never touched */
    getnodekey(&key, n);
    if (!wk || ttisstring(&key)) markvalue(g, &key);
    if (!wv || ttisstring(&n->val)) markvalue(g, &n->val);
  }
}

static void traverseclosure(global_State *g, Closure *cl) {
  markobject(g, (GCObject *)cl->c.env);
  if (cl_isC(cl)) {
    for (int i = 0; i < cl->c.nupvalues; i++) markvalue(g, &cl->c.upvalue[i]);
  } else {
    markobject(g, (GCObject *)cl->l.p);
    for (int i = 0; i < cl->l.nupvalues; i++) markobject(g, (GCObject *)cl->l.upvals[i]);
  }
}

static void traverseproto(global_State *g, Proto *p) {
  markobject(g, (GCObject *)p->source);
  markobject(g, (GCObject *)p->name);
  if (p->k != NULL)
    for (int i = 0; i < p->sizek; i++) markvalue(g, &p->k[i]);
  for (int i = 0; i < p->sizeshapes; i++) { /* the shapes' keys (compile.c also makes them constants) */
    const TableShape *s = &p->shapes[i];
    for (int j = 0; j < (1 << s->lsize); j++)
      if (s->node[j].keytt == PAL_TSTRING) markobject(g, s->node[j].key.gc);
  }
  if (p->p != NULL)
    for (int i = 0; i < p->sizep; i++) markobject(g, (GCObject *)p->p[i]);
  if (p->upvalnames != NULL)
    for (int i = 0; i < p->nups; i++) markobject(g, (GCObject *)p->upvalnames[i]);
}

static void traversethread(global_State *g, pal_State *th) {
  TValue *lim, *end, *o;
  markobject(g, (GCObject *)th->gt);
  markvalue(g, &th->errval);
  markobject(g, (GCObject *)th->resumer);
  for (UpVal *uv = th->openupval; uv != NULL; uv = uv->u.next) markobject(g, (GCObject *)uv);
  if (th->stack == NULL) return;
  /* Everything live is below top: the VM sets top = ci->top at its safe points and before calling metamethods,
     a C function's values are below its top, and a suspended coroutine's top is past its yielded values.
     Marking up to each frame's ci->top instead would keep stale temporaries (e.g. a finished call's leftovers
     above a C function's top) alive, and weak-table entries with them. */
  lim = th->top;
  end = th->stack + th->stacksize;
  if (lim > end) lim = end;
  for (o = th->stack; o < lim; o++) markvalue(g, o);
  for (; o < end; o++) setnilvalue(o); /* dead slots must not keep stale pointers */
}

static void propagate(global_State *g) {
  while (g->gray != NULL) {
    GCObject *o = g->gray;
    g->gray = *gclistof(o);
    switch (o->tt) {
      case PAL_TTABLE: traversetable(g, (Table *)o); break;
      case PAL_TFUNCTION: traverseclosure(g, (Closure *)o); break;
      case T_PROTO: traverseproto(g, (Proto *)o); break;
      case PAL_TTHREAD: traversethread(g, (pal_State *)o); break;
      default: break;
    }
  }
}

static int iscleared(const TValue *v) {
  return iscollectable(v) && !ttisstring(v) && !(gcvalue(v)->marked & (MARKBIT | FIXEDBIT));
}

static void clearweak(global_State *g) {
  for (GCObject *o = g->weak; o != NULL; o = ((Table *)o)->gclist) {
    Table *t = (Table *)o;
    int wk = t->weakmode & 1, wv = t->weakmode & 2;
    tab_changed(g, t); /* entries may be cleared */
    if (wv)
      for (int i = 0; i < t->sizearray; i++)
        if (iscleared(&t->array[i])) setnilvalue(&t->array[i]);
    if (!tab_isdummy(t)) {
      int size = tab_sizenode(t);
      for (int i = 0; i < size; i++) {
        Node *n = &t->node[i];
        TValue key;
        if (ttisnil(&n->val)) continue;
        getnodekey(&key, n);
        if ((wk && iscleared(&key)) || (wv && iscleared(&n->val))) setnilvalue(&n->val); /* key stays, dead */
      }
    }
  }
  g->weak = NULL;
}

static void freeproto(pal_State *L, Proto *p) {
  mem_freevector(L, p->code, p->sizecode, uint32_t);
  mem_freevector(L, p->lineinfo, p->sizecode, int);
  mem_freevector(L, p->k, p->sizek, TValue);
  if (p->gcache != NULL) mem_freevector(L, p->gcache, p->sizek, GCache);
  for (int i = 0; i < p->sizeshapes; i++) tab_freeshape(L, &p->shapes[i]);
  if (p->shapes != NULL) mem_freevector(L, p->shapes, p->sizeshapes, TableShape);
  mem_freevector(L, p->p, p->sizep, Proto *);
  mem_freevector(L, p->upvals, p->nups, UpvalDesc);
  mem_freevector(L, p->upvalnames, p->nups, TString *);
  mem_free(L, p, sizeof(Proto));
}

void gc_freeobj(pal_State *L, GCObject *o) {
  switch (o->tt) {
    case PAL_TTABLE: tab_free(L, (Table *)o); break;
    case PAL_TFUNCTION: {
      Closure *cl = (Closure *)o;
      if (cl_isC(cl))
        mem_free(L, o, sizeCclosure(cl->c.nupvalues));
      else
        mem_free(L, o, sizeLclosure(cl->l.nupvalues));
      break;
    }
    case T_PROTO: freeproto(L, (Proto *)o); break;
    case T_UPVAL: mem_free(L, o, sizeof(UpVal)); break;
    case PAL_TUSERDATA: mem_free(L, o, sizeudata(((Udata *)o)->len)); break;
    case PAL_TBUFFER: mem_free(L, o, sizebuffer(((Buffer *)o)->len)); break;
    case PAL_TTHREAD:
      stack_free(L, (pal_State *)o);
      mem_free(L, o, sizeof(pal_State));
      break;
    default: break;
  }
}

/* Strings are swept from strgc, whose allocation order walks memory far more sequentially than the hash chains
   do; a dead string is then unlinked from its chain, which is usually short. */
static void sweepstrings(pal_State *L) {
  global_State *g = G(L);
  GCObject **p = &g->strgc;
  while (*p != NULL) {
    TString *ts = (TString *)*p;
    if ((ts->marked & (MARKBIT | FIXEDBIT)) || ts->reserved != 0) {
      ts->marked &= (uint8_t)~MARKBIT;
      p = &ts->gcnext;
    } else {
      TString **q = &g->strt[ts->hash & (g->strt_size - 1)];
      while (*q != ts) q = &(*q)->hnext;
      *q = ts->hnext;
      *p = ts->gcnext;
      str_free(L, ts);
    }
  }
}

static void sweepobjects(pal_State *L) {
  global_State *g = G(L);
  GCObject **p = &g->allgc;
  while (*p != NULL) {
    GCObject *o = *p;
    if (o->marked & (MARKBIT | FIXEDBIT)) {
      o->marked &= (uint8_t)~MARKBIT;
      p = &o->gcnext;
    } else {
      *p = o->gcnext;
      gc_freeobj(L, o);
    }
  }
}

void gc_setthreshold(global_State *g) {
  size_t live = g->totalbytes;
  size_t th = live > GC_MINSLACK ? live * 2 : live + GC_MINSLACK;
  if (g->budget != 0) {
    size_t cap = g->budget > live ? live + (g->budget - live) / 2 : live;
    if (cap < th) th = cap;
  }
  if (th < live + GC_MINGAP) th = live + GC_MINGAP;
  g->gcthreshold = th;
}

/* A collection charges fuel for the heap it walks (everything is swept, the live part is marked): the script
   caused that work, and fuel is how the host bounds a script's time and lets other guilds run. */
#define GC_FUEL_BYTES 64 /* heap bytes per fuel unit */

void gc_fullcollect(pal_State *L) {
  global_State *g = G(L);
  g->fuel -= (int64_t)(g->totalbytes / GC_FUEL_BYTES); /* (the next safe point calls the host when it is used up) */
  g->gray = NULL;
  g->weak = NULL;
  /* roots */
  markobject(g, (GCObject *)g->mainthread);
  markobject(g, (GCObject *)L);
  markvalue(g, &g->registry);
  markobject(g, (GCObject *)g->builtins);
  for (int i = 0; i < PAL_NUMTYPES; i++) markobject(g, (GCObject *)g->mt[i]);
  for (int i = 0; i < TM_N; i++) markobject(g, (GCObject *)g->tmname[i]);
  markobject(g, (GCObject *)g->memerrmsg);
  for (GCObject *o = g->sealedgc; o != NULL; o = o->gcnext)
    if (!(o->marked & SEALBIT)) markobject(g, o); /* changed since gc_seal */
  propagate(g);
  clearweak(g);
  /* dead threads leave g->threads, their open upvalues closed (some may be referenced by live closures) before
     anything is freed */
  for (pal_State **pth = &g->threads; *pth != NULL;) {
    pal_State *th = *pth;
    if (th->marked & (MARKBIT | FIXEDBIT)) {
      pth = &th->nextthread;
    } else {
      if (th->stack != NULL) upval_close(th, th->stack);
      *pth = th->nextthread;
    }
  }
  sweepstrings(L);
  sweepobjects(L);
  for (GCObject *o = g->sealedgc; o != NULL; o = o->gcnext) o->marked &= (uint8_t)~MARKBIT;
  if (g->mainthread != NULL) g->mainthread->marked &= (uint8_t)~MARKBIT; /* (not in allgc) */
  L->marked &= (uint8_t)~MARKBIT;
  gc_setthreshold(g);
}

/* How gc_seal can keep o (not a string: strings can always be sealed): SEAL_NO if it cannot, SEAL_FIX if o can
   change without a gc_unseal (a C closure's upvalues, a userdata's metatable), so that it stays in sealedgc
   without SEALBIT, traversed at every collection, SEAL_YES otherwise. */
enum { SEAL_NO, SEAL_FIX, SEAL_YES };
static int sealable(global_State *g, GCObject *o) {
  switch (o->tt) {
    case PAL_TTABLE: return weakmode(g, (Table *)o) == 0 ? SEAL_YES : SEAL_NO;
    case PAL_TFUNCTION:
      if (!cl_isC((Closure *)o)) return SEAL_NO;
      return ((Closure *)o)->c.nupvalues == 0 ? SEAL_YES : SEAL_FIX;
    case PAL_TUSERDATA: return SEAL_FIX;
    default: return SEAL_NO; /* (upvalues, protos, threads, buffers: none among the built-ins) */
  }
}

void gc_seal(pal_State *L, Table *t) {
  global_State *g = G(L);
  int ok = 1;
  GCObject **p;
  /* mark what t reaches (MARKBIT: nothing is marked between collections) */
  g->gray = NULL;
  g->weak = NULL;
  markobject(g, (GCObject *)t);
  propagate(g);
  g->weak = NULL;
  if (g->mainthread->marked & MARKBIT) { /* (not in allgc) */
    g->mainthread->marked &= (uint8_t)~MARKBIT;
    ok = 0;
  }
  for (GCObject *o = g->allgc; o != NULL; o = o->gcnext)
    if ((o->marked & MARKBIT) && sealable(g, o) == SEAL_NO) ok = 0;
  /* move the marked objects to sealedgc (or only unmark them if one cannot be sealed) */
  for (p = &g->allgc; *p != NULL;) {
    GCObject *o = *p;
    if (!(o->marked & MARKBIT)) {
      p = &o->gcnext;
      continue;
    }
    o->marked &= (uint8_t)~MARKBIT;
    if (!ok) {
      p = &o->gcnext;
      continue;
    }
    o->marked |= FIXEDBIT;
    if (sealable(g, o) == SEAL_YES) o->marked |= SEALBIT;
    if (o->tt == PAL_TTABLE) ((Table *)o)->watched = 1; /* every writer unseals it through tab_changed */
    *p = o->gcnext;
    o->gcnext = g->sealedgc;
    g->sealedgc = o;
  }
  for (GCObject *o = g->strgc; o != NULL; o = o->gcnext)
    if (o->marked & MARKBIT) o->marked = (uint8_t)((o->marked & ~MARKBIT) | (ok ? FIXEDBIT | SEALBIT : 0));
}

void gc_checkstep(pal_State *L) {
  if (G(L)->totalbytes >= G(L)->gcthreshold) gc_fullcollect(L);
}

void gc_freeall(pal_State *L) {
  global_State *g = G(L);
  g->threads = NULL;
  while (g->sealedgc != NULL) {
    GCObject *o = g->sealedgc;
    g->sealedgc = o->gcnext;
    gc_freeobj(L, o);
  }
  while (g->allgc != NULL) {
    GCObject *o = g->allgc;
    g->allgc = o->gcnext;
    gc_freeobj(L, o);
  }
  while (g->strgc != NULL) {
    TString *ts = (TString *)g->strgc;
    g->strgc = ts->gcnext;
    str_free(L, ts);
  }
  mem_freevector(L, g->strt, g->strt_size, TString *);
  g->strt = NULL;
  g->strt_size = 0;
}
