/*
 * call.c - stacks and call frames, calls from C into Luau (nested VM loops), protected calls, error unwinding,
 * coroutines (resume/yield), loading chunks.
 */
#include "vm.h"

#define BASIC_STACK (2 * PAL_MINSTACK + EXTRA_STACK + 8)
#define BASIC_CI 8

/* ================= stacks ================= */

int stack_init(pal_State *L, pal_State *th) {
  int i;
  CallInfo *ci;
  th->stack = mem_newvector(L, BASIC_STACK, TValue);
  if (th->stack == NULL) {
    th->stacksize = 0;
    return 0;
  }
  th->stacksize = BASIC_STACK;
  for (i = 0; i < BASIC_STACK; i++) setnilvalue(th->stack + i);
  th->top = th->stack + 1;
  th->base_ci = mem_newvector(L, BASIC_CI + 1, CallInfo);
  if (th->base_ci == NULL) {
    th->size_ci = 0;
    th->ci = NULL;
    return 0;
  }
  th->size_ci = BASIC_CI;
  for (i = 1; i < BASIC_CI; i++) th->base_ci[i].flags = 0;
  th->base_ci[BASIC_CI].flags = CIST_END; /* see ci_resize */
  ci = th->base_ci;
  ci->func = 0;
  ci->base = 1;
  ci->top = 1 + PAL_MINSTACK;
  ci->savedpc = NULL;
  ci->nresults = 0;
  ci->flags = CIST_C;
  ci->extra = 0;
  th->ci = ci;
  return 1;
}

void stack_free(pal_State *L, pal_State *th) {
  if (th->stack != NULL) mem_freevector(L, th->stack, th->stacksize, TValue);
  if (th->base_ci != NULL) mem_freevector(L, th->base_ci, th->size_ci + 1, CallInfo);
  th->stack = NULL;
  th->top = NULL;
  th->stacksize = 0;
  th->base_ci = NULL;
  th->ci = NULL;
  th->size_ci = 0;
}

static int stack_realloc(pal_State *L, int newsize) {
  TValue *old = L->stack, *ns, *nb;
  int oldsize = L->stacksize, i;
  ptrdiff_t topoff = L->top - old;
  UpVal *uv;
  /* open upvalues point into the stack: keep them as offsets across the reallocation */
  for (uv = L->openupval; uv != NULL; uv = uv->u.next) uv->v = (TValue *)(uintptr_t)(uv->v - old);
  ns = (TValue *)mem_realloc(L, old, (size_t)oldsize * sizeof(TValue), (size_t)newsize * sizeof(TValue));
  nb = ns != NULL ? ns : old;
  for (uv = L->openupval; uv != NULL; uv = uv->u.next) uv->v = nb + (ptrdiff_t)(uintptr_t)uv->v;
  if (ns == NULL) return 0;
  for (i = oldsize; i < newsize; i++) setnilvalue(ns + i);
  L->stack = ns;
  L->top = ns + topoff;
  L->stacksize = newsize;
  return 1;
}

int stack_ensure(pal_State *L, TValue *from, int n) {
  ptrdiff_t need = (from - L->stack) + n + EXTRA_STACK;
  ptrdiff_t newsize;
  if (need <= L->stacksize) return 1;
  if (need > PAL_MAXSTACK) {
    vm_runerror(L, "stack overflow");
    return 0;
  }
  newsize = (ptrdiff_t)L->stacksize + L->stacksize / 2;
  if (newsize < need) newsize = need;
  if (newsize > PAL_MAXSTACK) newsize = PAL_MAXSTACK;
  return stack_realloc(L, (int)newsize);
}

int stack_grow(pal_State *L, int n) {
  return stack_ensure(L, L->top, n);
}

/* Calls past PAL_MAXCALLS raise "stack overflow" once and then get a reserve of PAL_MAXCALLS/8 frames, so that an
   xpcall handler (which runs on top of the overflowed stack) can still run; exhausting the reserve is an error
   while handling the overflow. A size_ci above PAL_MAXCALLS marks "reserve in use"; ci_restorelimit ends it. */
#define CI_HARDLIMIT (PAL_MAXCALLS + PAL_MAXCALLS / 8)

/* The frame array has size_ci usable entries and, after them, an end marker (flags CIST_END) that is never a
   frame, so that the VM checks for room with ci[1].flags alone. */
static int ci_resize(pal_State *L, int newsize) {
  int idx = ci_index(L, L->ci), i;
  CallInfo *nci = (CallInfo *)mem_realloc(L, L->base_ci, (size_t)(L->size_ci + 1) * sizeof(CallInfo),
                                          (size_t)(newsize + 1) * sizeof(CallInfo));
  if (nci == NULL) return 0;
  for (i = L->size_ci; i < newsize; i++) nci[i].flags = 0; /* the old end marker and the new entries */
  nci[newsize].flags = CIST_END;
  L->base_ci = nci;
  L->size_ci = newsize;
  L->ci = nci + idx;
  return 1;
}

static void ci_restorelimit(pal_State *L) {
  if (L->size_ci > PAL_MAXCALLS && ci_index(L, L->ci) + 1 < PAL_MAXCALLS) (void)ci_resize(L, PAL_MAXCALLS);
}

CallInfo *ci_push(pal_State *L) {
  int idx = ci_index(L, L->ci);
  if (idx + 1 >= L->size_ci) {
    int newsize = L->size_ci + L->size_ci / 2;
    if (idx + 1 >= PAL_MAXCALLS) {
      if (L->size_ci > PAL_MAXCALLS || !ci_resize(L, CI_HARDLIMIT)) {
        vm_seterrorstr(L, PAL_ERRERR, "error in error handling");
        return NULL;
      }
      vm_runerror(L, "stack overflow");
      return NULL;
    }
    if (newsize > PAL_MAXCALLS) newsize = PAL_MAXCALLS;
    if (!ci_resize(L, newsize)) return NULL;
  }
  return ++L->ci;
}

void vm_clearerror(pal_State *L) {
  /* A caught "not enough memory": what the failed computation allocated is garbage now that its frames are
     gone, so the next safe point collects (the GC never runs inside an allocation, and a collection during the
     unwinding, while those frames were still live, may have set the threshold beyond the budget). */
  if (L->errstatus == PAL_ERRMEM) G(L)->gcthreshold = 0;
  L->errstatus = PAL_OK;
  setnilvalue(&L->errval);
}

/* ================= calls ================= */

void vm_poscall(pal_State *L, CallInfo *ci, TValue *firstres, int n) {
  TValue *res = L->stack + ci->func;
  int wanted = ci->nresults, i;
  L->ci = ci - 1;
  if (wanted == PAL_MULTRET) {
    for (i = 0; i < n; i++) setobj(res + i, firstres + i);
    L->top = res + n;
  } else {
    for (i = 0; i < n && i < wanted; i++) setobj(res + i, firstres + i);
    for (; i < wanted; i++) setnilvalue(res + i);
    L->top = res + wanted;
  }
}

int vm_finishframes(pal_State *L, int wanted) {
  while (L->ci->flags & CIST_MARKER) {
    CallInfo *m = L->ci;
    TValue *func = L->stack + m->func;
    int isx = (m->flags & CIST_XPCALL) != 0;
    TValue *first = func + 1 + isx;
    int n = (int)(L->top - first), j;
    if (n < 0) n = 0;
    setbvalue(func, 1);
    if (isx)
      for (j = 0; j < n; j++) setobj(func + 1 + j, first + j);
    wanted = m->nresults;
    vm_poscall(L, m, func, n + 1);
  }
  return wanted;
}

int vm_precall(pal_State *L, TValue *func, int nresults, int inloop) {
  for (;;) {
    Closure *cl;
    if (!ttisfunction(func)) {
      const TValue *tm = obj_gettm(L, func, TM_CALL);
      TValue t, *p;
      ptrdiff_t fo;
      if (tm == NULL || !ttisfunction(tm)) {
        vm_runerror(L, "attempt to call a %s value", vm_typeof(L, func));
        return L->errstatus;
      }
      t = *tm;
      fo = savestack(L, func);
      if (!stack_ensure(L, L->top, 1)) return L->errstatus;
      func = restorestack(L, fo);
      for (p = L->top; p > func; p--) setobj(p, p - 1);
      L->top++;
      setobj(func, &t);
    }
    cl = clvalue(func);
    if (!cl->c.isC) {
      Proto *p = cl->l.p;
      int nargs = (int)(L->top - func - 1), j;
      ptrdiff_t fo = savestack(L, func);
      TValue *base;
      CallInfo *ci;
      if ((L->top - L->stack) + p->maxstacksize + EXTRA_STACK > L->stacksize &&
          !stack_ensure(L, L->top, p->maxstacksize))
        return L->errstatus;
      if (ci_hasroom(L->ci))
        ci = ++L->ci;
      else if ((ci = ci_push(L)) == NULL)
        return L->errstatus;
      func = restorestack(L, fo);
      if (p->is_vararg) {
        int nfix = p->numparams;
        base = L->top;
        for (j = 0; j < nfix && j < nargs; j++) {
          setobj(base + j, func + 1 + j);
          setnilvalue(func + 1 + j);
        }
        for (; j < nfix; j++) setnilvalue(base + j);
        ci->extra = nargs > nfix ? nargs - nfix : 0;
      } else {
        base = func + 1;
        for (j = nargs; j < p->numparams; j++) setnilvalue(base + j);
        ci->extra = 0;
      }
      ci->func = fo;
      ci->base = savestack(L, base);
      ci->top = ci->base + p->maxstacksize;
      ci->savedpc = p->code;
      ci->nresults = nresults;
      ci->flags = CIST_LUA;
      L->top = L->stack + ci->top;
      return PCR_LUA;
    }
    if (inloop && (cl->c.f == base_pcall || cl->c.f == base_xpcall)) {
      /* protected call from Luau code: a marker frame, then call the target in the same loop */
      int isx = cl->c.f == base_xpcall;
      int nargs = (int)(L->top - func - 1);
      ptrdiff_t fo = savestack(L, func);
      CallInfo *ci;
      if (isx) {
        TValue t;
        if (nargs < 2) {
          vm_runerror(L, "missing argument #2 to 'xpcall' (function expected)");
          return L->errstatus;
        }
        if (!ttisfunction(func + 2)) {
          vm_runerror(L, "invalid argument #2 to 'xpcall' (function expected, got %s)", vm_typeof(L, func + 2));
          return L->errstatus;
        }
        t = func[1];
        setobj(func + 1, func + 2);
        setobj(func + 2, &t);
      } else if (nargs < 1) {
        vm_runerror(L, "missing argument #1");
        return L->errstatus;
      }
      ci = ci_push(L);
      if (ci == NULL) return L->errstatus;
      ci->func = fo;
      ci->base = fo + 1;
      ci->top = savestack(L, L->top);
      ci->savedpc = NULL;
      ci->nresults = nresults;
      ci->flags = CIST_C | (isx ? CIST_XPCALL : CIST_PCALL);
      ci->extra = 0;
      func = restorestack(L, fo) + 1 + isx;
      nresults = PAL_MULTRET;
      continue;
    }
    {
      int n;
      ptrdiff_t fo = savestack(L, func);
      CallInfo *ci;
      if ((L->top - L->stack) + PAL_MINSTACK + EXTRA_STACK > L->stacksize &&
          !stack_ensure(L, L->top, PAL_MINSTACK))
        return L->errstatus;
      if (ci_hasroom(L->ci))
        ci = ++L->ci;
      else if ((ci = ci_push(L)) == NULL)
        return L->errstatus;
      ci->func = fo;
      ci->base = fo + 1;
      ci->top = savestack(L, L->top) + PAL_MINSTACK;
      ci->savedpc = NULL;
      ci->nresults = nresults;
      ci->flags = CIST_C;
      ci->extra = 0;
      n = cl->c.f(L);
      if (n < 0 || L->errstatus != PAL_OK) return vm_postcallC(L, n);
      ci = L->ci;
      {
        ptrdiff_t avail = L->top - (L->stack + ci->base);
        if (n > avail) n = (int)avail;
      }
      vm_poscall(L, ci, L->top - n, n);
      return PAL_OK;
    }
  }
}

int vm_postcallC(pal_State *L, int n) {
  CallInfo *ci = L->ci;
  if (L->errstatus != PAL_OK) return L->errstatus;
  if (n == PAL_YIELDSIG && pal_isyieldable(L)) {
    ptrdiff_t avail = L->top - (L->stack + ci->base);
    if (ci->extra < 0 || ci->extra > avail) ci->extra = avail;
    return PAL_YIELD;
  }
  vm_runerror(L, n == PAL_YIELDSIG ? "attempt to yield across metamethod/C-call boundary"
                                   : "C function signalled an error without setting one");
  return L->errstatus;
}

/* Whether the value at f is a Luau function with fixed parameters whose frame fits on the stack from slot fo on,
   with a frame entry free for it: then a nested invocation can start it directly (fresh_push). */
static inline __attribute__((always_inline)) int fresh_fits(pal_State *L, const TValue *f, ptrdiff_t fo) {
  return ttisfunction(f) && !clvalue(f)->c.isC && !clvalue(f)->l.p->is_vararg &&
         fo + 1 + clvalue(f)->l.p->maxstacksize + EXTRA_STACK <= L->stacksize && ci_hasroom(L->ci);
}

/* Pushes the frame of the function at func (fresh_fits holds) with the arguments up to L->top as the first frame
   of a nested VM invocation (what vm_precall does, without the general cases); the caller has raised nCcalls and
   nny, and runs it with vm_execute. */
/* Writes the frame entry ci of a fresh invocation of the function at stack offset fo (code, maxstacksize), its last
   field first (VWRITE): in wasm one bounds check then covers the entry. */
static inline __attribute__((always_inline)) void fresh_frame(CallInfo *ci, ptrdiff_t fo, const uint32_t *code, int maxs,
                                                              int nresults) {
  VWRITE(ci, flags, CIST_LUA | CIST_FRESH);
  ci->extra = 0;
  ci->nresults = nresults;
  ci->savedpc = code;
  ci->top = fo + 1 + maxs;
  ci->base = fo + 1;
  ci->func = fo;
}

static inline __attribute__((always_inline)) void fresh_push(pal_State *L, TValue *func, int nresults) {
  Proto *p = clvalue(func)->l.p;
  ptrdiff_t fo = savestack(L, func);
  CallInfo *ci = ++L->ci;
  TValue *base = func + 1, *a;
  for (a = L->top; a < base + p->numparams; a++) setnilvalue(a);
  fresh_frame(ci, fo, p->code, p->maxstacksize, nresults);
  L->top = base + p->maxstacksize;
}

int vm_call(pal_State *L, TValue *func, int nresults) {
  int oldci = ci_index(L, L->ci);
  ptrdiff_t fo = savestack(L, func);
  int status;
  if (L->errstatus != PAL_OK) return L->errstatus;
  if (L->nCcalls >= PAL_MAXCCALLS) {
    vm_runerror(L, "C stack overflow");
    L->top = func;
    return L->errstatus;
  }
  L->nCcalls++;
  L->nny++;
  if (fresh_fits(L, func, fo)) {
    /* fast path (metamethods, gsub replacements, ...) */
    fresh_push(L, func, nresults);
    status = vm_execute(L, oldci + 1);
  } else {
    status = vm_precall(L, func, nresults, 0);
    if (status == PCR_LUA) {
      L->ci->flags |= CIST_FRESH;
      status = vm_execute(L, ci_index(L, L->ci));
    } else if (status != PAL_OK) {
      L->ci = L->base_ci + oldci;
      L->top = restorestack(L, fo);
    }
  }
  L->nny--;
  L->nCcalls--;
  return status;
}

/* pal_callrawpair through the general API (any indices and values) */
static __attribute__((noinline)) int callrawpair_slow(pal_State *L, int fidx, int tidx, int64_t a, int64_t b,
                                                      int64_t *len) {
  int res;
  if (!pal_checkstack(L, 3)) return -1;
  pal_pushvalue(L, fidx);
  pal_rawgeti(L, tidx, a);
  pal_rawgeti(L, tidx, b);
  if (pal_call(L, 2, 1) != PAL_OK) return -1;
  res = pal_toboolean(L, -1);
  L->top--;
  *len = (int64_t)pal_objlen(L, tidx);
  return res;
}

/* table.sort calls this once per comparison with its comparator: the fast path is vm_call's for f(t[a], t[b])
   (fresh_fits, fresh_push), without the pushes and the general index resolution of the API. Written for wasm's
   bounds checks: each structure's fields are read (VREAD) and written (VWRITE) from its last used one on, so that
   one check covers the structure. */
int pal_callrawpair(pal_State *L, int fidx, int tidx, int64_t a, int64_t b, int64_t *len) {
  int errstatus = VREAD(L, errstatus), nny = VREAD(L, nny), nccalls = VREAD(L, nCcalls);
  CallInfo *ci = VREAD(L, ci);
  int stacksize = VREAD(L, stacksize);
  TValue *func = VREAD(L, top), *stack = VREAD(L, stack);
  int roomflags = VREAD(ci + 1, flags); /* ci_hasroom(ci) */
  TValue *args = stack + VREAD(ci, base);
  ptrdiff_t nargs = func - args;
  if (errstatus == PAL_OK && nccalls < PAL_MAXCCALLS && !(roomflags & CIST_END) &&
      (uint64_t)fidx - 1 < (uint64_t)nargs && (uint64_t)tidx - 1 < (uint64_t)nargs) {
    const TValue *f = args + fidx - 1, *tv = args + tidx - 1;
    Closure *cl;
    Proto *p;
    /* (a C closure's bytes where LClosure.p would be are read, not used) */
    if (ttisfunction(f) && ttistable(tv) && (cl = clvalue(f), p = VREAD(&cl->l, p), !VREAD(&cl->c, isC))) {
      const uint32_t *code = VREAD(p, code);
      int maxs = VREAD(p, maxstacksize), vararg = VREAD(p, is_vararg), nparams = VREAD(p, numparams);
      ptrdiff_t fo = func - stack;
      if (!vararg && fo + 1 + maxs + EXTRA_STACK <= stacksize) {
        Table *t = hvalue(tv);
        TValue *array = VREAD(t, array);
        int64_t sizearray = VREAD(t, sizearray);
        const TValue *va = (uint64_t)a - 1 < (uint64_t)sizearray ? &array[a - 1] : tab_getint(t, a);
        const TValue *vb = (uint64_t)b - 1 < (uint64_t)sizearray ? &array[b - 1] : tab_getint(t, b);
        CallInfo *nci = ci + 1;
        TValue *arg;
        int status;
        /* f(t[a], t[b]) at L->top, the highest slot first (EXTRA_STACK covers the two arguments of a function of
           fewer parameters); then the frame, as fresh_push writes it */
        setobj_tagfirst(func + 2, vb);
        setobj_tagfirst(func + 1, va);
        setobj_tagfirst(func, f);
        for (arg = func + 3; arg < func + 1 + nparams; arg++) setnilvalue(arg);
        fresh_frame(nci, fo, code, maxs, 1);
        VWRITE(L, nny, nny + 1);
        VWRITE(L, nCcalls, nccalls + 1);
        VWRITE(L, ci, nci);
        VWRITE(L, top, func + 1 + maxs);
        status = vm_execute(L, ci_index(L, nci));
        VWRITE(L, nny, VREAD(L, nny) - 1);
        L->nCcalls--;
        if (status != PAL_OK) return -1;
        L->top--; /* the result, where func was (the call may have moved the stack) */
        *len = tab_len(t); /* (t stays anchored at tidx) */
        return !l_isfalse(L->top);
      }
    }
  }
  return callrawpair_slow(L, fidx, tidx, a, b, len);
}

/* ================= errors ================= */

void vm_callhandler(pal_State *L, int midx) {
  CallInfo *m = L->base_ci + midx;
  TValue h = L->stack[m->func + 1];
  TValue ev = L->errval;
  int status = L->errstatus, st;
  TValue *top;
  vm_clearerror(L);
  if (ci_isLua(L->ci) && L->top < L->stack + L->ci->top) L->top = L->stack + L->ci->top;
  if (!stack_ensure(L, L->top, 2)) goto errerr;
  top = L->top;
  setobj(top, &h);
  setobj(top + 1, &ev);
  L->top = top + 2;
  st = vm_call(L, top, 1);
  if (st == PAL_OK) {
    TValue r = L->top[-1];
    L->top--;
    vm_seterror(L, status, &r);
    return;
  }
  if (st == PAL_ERRABORT) return;
errerr:
  vm_clearerror(L);
  vm_seterrorstr(L, PAL_ERRERR, "error in error handling");
}

int vm_handleerror(pal_State *L, int entry) {
  for (;;) {
    int status = L->errstatus, found = -1;
    CallInfo *c;
    if (status == PAL_OK) {
      vm_seterrorstr(L, PAL_ERRRUN, "unknown error");
      status = L->errstatus;
    }
    if (ci_index(L, L->ci) < entry) return status;
    if (status != PAL_ERRABORT) {
      for (c = L->ci; ci_index(L, c) >= entry; c--) {
        if (c->flags & CIST_MARKER) {
          found = ci_index(L, c);
          break;
        }
      }
    }
    if (found < 0) {
      CallInfo *e = L->base_ci + entry;
      if (entry == 1 && L->costate == COS_RUNNING) {
        /* the coroutine dies: keep its frames (like a dead coroutine in Lua 5.1) so that a traceback of it
           still shows where the error happened; pal_resetthread / the collector close its upvalues */
        if (ci_isLua(L->ci) && L->top < L->stack + L->ci->top) L->top = L->stack + L->ci->top;
        return status;
      }
      TValue *level = L->stack + e->func;
      upval_close(L, level);
      L->ci = e - 1;
      L->top = level;
      ci_restorelimit(L);
      return status;
    }
    /* as in Luau, an xpcall handler is not run for "not enough memory" (it would need memory itself) */
    if ((L->base_ci[found].flags & CIST_XPCALL) && status != PAL_ERRMEM) {
      vm_callhandler(L, found);
      if (L->errstatus == PAL_ERRABORT) continue;
    }
    {
      TValue ev = L->errval;
      TValue *func, *dead;
      int wanted;
      /* the highest slot the failed frames used: they are discarded, and their values must not stay reachable
         through stale slots (a script that caught "not enough memory" needs its garbage collected) */
      dead = L->stack + L->ci->top;
      if (dead < L->top) dead = L->top;
      c = L->base_ci + found;
      func = L->stack + c->func;
      wanted = c->nresults;
      vm_clearerror(L);
      upval_close(L, func + 1);
      L->ci = c;
      setbvalue(func, 0);
      setobj(func + 1, &ev);
      vm_poscall(L, c, func, 2);
      /* slots above the results: the callee frames', and in a Luau caller only temporaries above the call's
         register (the compiler puts a call at the first free register) */
      for (TValue *o = func + (wanted > 2 ? wanted : 2); o < dead; o++) setnilvalue(o);
      if (L->ci->flags & CIST_MARKER) wanted = vm_finishframes(L, wanted);
      if (ci_index(L, L->ci) >= entry && ci_isLua(L->ci) && wanted != PAL_MULTRET)
        L->top = L->stack + L->ci->top;
      ci_restorelimit(L);
      return PAL_OK;
    }
  }
}

/* ================= public calls ================= */

static void freshentry(pal_State *L) {
  if (L->ci == L->base_ci && L->nCcalls == 0) G(L)->aborting = 0;
}

int pal_call(pal_State *L, int nargs, int nresults) {
  TValue *func = L->top - nargs - 1;
  int status;
  freshentry(L);
  if (nresults > 0 && (L->top - L->stack) + nresults + EXTRA_STACK > L->stacksize) {
    ptrdiff_t fo = savestack(L, func);
    if (!stack_ensure(L, L->top, nresults)) return L->errstatus;
    func = restorestack(L, fo);
  }
  status = vm_call(L, func, nresults);
  if (status == PAL_OK && L->top > L->stack + L->ci->top) L->ci->top = savestack(L, L->top);
  return status;
}

int pal_pcall(pal_State *L, int nargs, int nresults) {
  ptrdiff_t fo = savestack(L, L->top - nargs - 1);
  int status = pal_call(L, nargs, nresults);
  if (status != PAL_OK && status != PAL_ERRABORT) {
    TValue ev = L->errval;
    TValue *func = restorestack(L, fo);
    vm_clearerror(L);
    setobj(func, &ev);
    L->top = func + 1;
  }
  return status;
}

/* ================= coroutines ================= */

int pal_isyieldable(pal_State *L) {
  return L->nny == 0 && L->costate == COS_RUNNING && L != G(L)->mainthread;
}

int pal_yield(pal_State *L, int nresults) {
  if (!pal_isyieldable(L)) {
    if (L->costate == COS_RUNNING && L != G(L)->mainthread)
      return vm_seterrorstr(L, PAL_ERRRUN, "attempt to yield across metamethod/C-call boundary");
    return vm_seterrorstr(L, PAL_ERRRUN, "attempt to yield from outside a coroutine");
  }
  L->ci->extra = nresults;
  return PAL_YIELDSIG;
}

int pal_costatus(pal_State *L, pal_State *co) {
  if (co == L) return 0;
  switch (co->costate) {
    case COS_RUNNING: return 0;
    case COS_NORMAL: return 2;
    case COS_DEAD: return 3;
    default: break;
  }
  if (co->status == PAL_YIELD) return 1;
  if (co->status != PAL_OK) return 3;
  if (co->ci == co->base_ci && co->top > co->stack + co->base_ci->base) return 1;
  return 3;
}

int pal_status(pal_State *L) {
  return L->status;
}

/* drive a VM invocation whose frames start at index `entry`, after a vm_precall that returned `status` */
static int run_from(pal_State *L, int status, int wanted, int entry) {
  switch (status) {
    case PCR_LUA: return vm_execute(L, entry);
    case PAL_OK:
      if (L->ci->flags & CIST_MARKER) wanted = vm_finishframes(L, wanted);
      if (ci_index(L, L->ci) < entry) return PAL_OK;
      if (wanted != PAL_MULTRET) L->top = L->stack + L->ci->top;
      return vm_execute(L, entry);
    case PAL_YIELD: return PAL_YIELD;
    default: {
      int r = vm_handleerror(L, entry);
      if (r != PAL_OK) return r;
      if (ci_index(L, L->ci) < entry) return PAL_OK;
      return vm_execute(L, entry);
    }
  }
}

#define resume_run(co, status, wanted) run_from(co, status, wanted, 1)

/* pcall/xpcall called from C (not from the VM loop): run the protected call in a nested, non-yieldable VM
   invocation whose first frame is the marker. Stack of the running C function: its arguments. */
int vm_pcallC(pal_State *L) {
  CallInfo *ci = L->ci;
  TValue self = L->stack[ci->func];
  TValue *func;
  int entry, status;
  if (!stack_ensure(L, L->top, 1)) return PAL_ERRSIG;
  func = L->stack + ci->base;
  {
    TValue *p;
    for (p = L->top; p > func; p--) setobj(p, p - 1);
    setobj(func, &self);
    L->top++;
  }
  if (L->nCcalls >= PAL_MAXCCALLS) {
    vm_runerror(L, "C stack overflow");
    return PAL_ERRSIG;
  }
  entry = ci_index(L, L->ci) + 1;
  L->nCcalls++;
  L->nny++;
  status = vm_precall(L, func, PAL_MULTRET, 1);
  status = run_from(L, status, PAL_MULTRET, entry);
  L->nny--;
  L->nCcalls--;
  if (status != PAL_OK) {
    L->ci = L->base_ci + entry - 1;
    return PAL_ERRSIG;
  }
  return (int)(L->top - (L->stack + L->ci->base));
}

static int resume_error(pal_State *co, const char *msg) {
  TString *s = str_newz(co, msg);
  if (co->top < co->stack + co->stacksize) {
    if (s != NULL)
      setsvalue(co->top, s);
    else
      setnilvalue(co->top);
    co->top++;
  }
  return PAL_ERRRUN;
}

int pal_resume(pal_State *co, pal_State *from, int nargs, int *nres) {
  int status, oldfrom = 0, startable;
  int toplevel = from == NULL || (from->ci == from->base_ci && from->nCcalls == 0);
  if (nres != NULL) *nres = 0;
  if (toplevel) G(co)->aborting = 0;
  startable = co->status == PAL_OK && co->ci == co->base_ci &&
              co->top - (from != NULL ? 0 : nargs) > co->stack + co->base_ci->base;
  if (co == from || co->costate == COS_RUNNING) return resume_error(co, "cannot resume running coroutine");
  if (co->costate == COS_NORMAL) return resume_error(co, "cannot resume normal coroutine");
  if (co->status != PAL_YIELD && !startable) return resume_error(co, "cannot resume dead coroutine");
  if (from != NULL && from->nCcalls >= PAL_MAXCCALLS) return resume_error(co, "C stack overflow");
  if (from != NULL && nargs > 0) {
    pal_xmove(from, co, nargs);
    if (co->errstatus != PAL_OK || from->errstatus != PAL_OK) { /* out of memory while moving */
      vm_clearerror(co);
      return resume_error(co, "not enough memory");
    }
  }
  co->nCcalls = from != NULL ? from->nCcalls + 1 : 1;
  co->nny = 0;
  co->resumer = from;
  co->costate = COS_RUNNING;
  if (from != NULL) {
    oldfrom = from->costate;
    from->costate = COS_NORMAL;
  }
  if (co->status == PAL_YIELD) {
    CallInfo *ci = co->ci;
    int wanted = ci->nresults;
    co->status = PAL_OK;
    vm_poscall(co, ci, co->top - nargs, nargs);
    status = resume_run(co, PAL_OK, wanted);
  } else {
    TValue *func = co->top - nargs - 1;
    co->base_ci->extra = savestack(co, func);
    status = vm_precall(co, func, PAL_MULTRET, 1);
    if (status != PCR_LUA && status != PAL_OK && status != PAL_YIELD && ci_index(co, co->ci) < 1)
      co->top = co->stack + co->base_ci->extra; /* the call itself failed */
    status = resume_run(co, status, PAL_MULTRET);
  }
  co->resumer = NULL;
  co->nCcalls = 0;
  if (from != NULL) from->costate = (uint8_t)oldfrom;
  if (status == PAL_OK) {
    co->costate = COS_DEAD;
    if (nres != NULL) *nres = (int)(co->top - (co->stack + co->base_ci->extra));
  } else if (status == PAL_YIELD) {
    co->status = PAL_YIELD;
    co->costate = COS_IDLE;
    if (nres != NULL) *nres = (int)co->ci->extra;
  } else {
    TValue ev = co->errval;
    vm_clearerror(co);
    co->status = (uint8_t)status;
    co->costate = COS_DEAD;
    if (!stack_ensure(co, co->top, 1)) {
      vm_clearerror(co);
      if (co->top >= co->stack + co->stacksize) co->top = co->stack + co->stacksize - 1;
    }
    setobj(co->top, &ev);
    co->top++;
    /* An abort that reached the embedder is handled: let it run cleanup (encode the error, ...) normally. */
    if (status == PAL_ERRABORT && toplevel) G(co)->aborting = 0;
  }
  return status;
}

int pal_resetthread(pal_State *co) {
  int status = co->status;
  TValue err;
  setnilvalue(&err);
  if (co->costate == COS_RUNNING || co->costate == COS_NORMAL) return PAL_OK;
  if (status != PAL_OK && status != PAL_YIELD && co->top > co->stack + 1) err = co->top[-1];
  if (co->stack != NULL) upval_close(co, co->stack);
  co->ci = co->base_ci;
  co->ci->func = 0;
  co->ci->base = 1;
  co->ci->top = 1 + PAL_MINSTACK;
  co->ci->extra = 0;
  co->top = co->stack + 1;
  co->status = PAL_OK;
  co->costate = COS_DEAD;
  co->nny = 0;
  co->nCcalls = 0;
  vm_clearerror(co);
  if (status != PAL_OK && status != PAL_YIELD) {
    setobj(co->top, &err);
    co->top++;
    return status;
  }
  return PAL_OK;
}

pal_State *pal_newthread(pal_State *L) {
  pal_State *th = thread_new(L);
  if (!stack_ensure(L, L->top, 1)) return NULL;
  if (th == NULL) {
    setnilvalue(L->top);
    L->top++;
    return NULL;
  }
  setthvalue(L->top, th);
  L->top++;
  return th;
}

/* ================= loading ================= */

int pal_load(pal_State *L, const char *chunkname, const char *src, size_t len) {
  Proto *p;
  LClosure *cl;
  if (chunkname == NULL) chunkname = "=?";
  p = pal_compile(L, src, len, chunkname);
  if (p == NULL) {
    if (L->errstatus == PAL_ERRMEM) {
      vm_clearerror(L);
      if (stack_ensure(L, L->top, 1)) {
        setsvalue(L->top, G(L)->memerrmsg);
        L->top++;
      }
      return PAL_ERRMEM;
    }
    return PAL_ERRSYNTAX;
  }
  cl = closure_newL(L, p, L->gt);
  if (cl == NULL || !stack_ensure(L, L->top, 1)) {
    vm_clearerror(L);
    if (stack_ensure(L, L->top, 1)) {
      setsvalue(L->top, G(L)->memerrmsg);
      L->top++;
    }
    return PAL_ERRMEM;
  }
  setclvalue(L->top, cl);
  L->top++;
  return PAL_OK;
}
