/*
 * corolib.c - the coroutine library (luau-language.md 3.10, 4.10).
 */

#include "vm.h"

static const char *const statnames[] = {"running", "suspended", "normal", "dead"};

static pal_State *getco(pal_State *L) {
  pal_State *co = pal_tothread(L, 1);
  if (co == NULL) pal_typeerror(L, 1, "thread");
  return co;
}

/* Resume co with narg values from the top of L. Returns the number of results moved to L (>= 0);
   -1: error, the error value is on top of L (*status = its status); -2: an uncatchable error is pending on L. */
static int auxresume(pal_State *L, pal_State *co, int narg, int *status) {
  int st = pal_costatus(L, co), nres = 0;
  *status = PAL_ERRRUN;
  if (st != 1) {
    pal_pushfstring(L, "cannot resume %s coroutine", statnames[st]);
    return -1;
  }
  if (!pal_checkstack(co, narg + PAL_MINSTACK)) {
    pal_clearerror(co);
    pal_pushstring(L, "too many arguments to resume");
    return -1;
  }
  *status = pal_resume(co, L, narg, &nres);
  if (*status == PAL_OK || *status == PAL_YIELD) {
    if (!pal_checkstack(L, nres + 1)) {
      if (L->errstatus == PAL_ERRMEM) return -2;
      pal_clearerror(L);
      pal_pop(co, nres);
      pal_pushstring(L, "too many results to resume");
      *status = PAL_ERRRUN;
      return -1;
    }
    pal_xmove(co, L, nres);
    return nres;
  }
  if (*status == PAL_ERRABORT) {
    vm_seterror(L, PAL_ERRABORT, co->top - 1);
    return -2;
  }
  /* keep a copy of the error value on co (coroutine.close reports it) */
  pal_pushvalue(co, -1);
  pal_xmove(co, L, 1);
  return -1;
}

static int co_create(pal_State *L) {
  pal_State *co;
  pal_checktype(L, 1, PAL_TFUNCTION);
  if (pal_errpending(L)) return PAL_ERRSIG;
  co = pal_newthread(L);
  if (co == NULL) return PAL_ERRSIG;
  pal_pushvalue(L, 1);
  pal_xmove(L, co, 1);
  return 1;
}

static int co_resume(pal_State *L) {
  pal_State *co = getco(L);
  int r, status;
  if (co == NULL) return PAL_ERRSIG;
  r = auxresume(L, co, pal_gettop(L) - 1, &status);
  if (r == -2) return PAL_ERRSIG;
  if (r < 0) {
    pal_pushboolean(L, 0);
    pal_insert(L, -2);
    return 2;
  }
  pal_pushboolean(L, 1);
  pal_insert(L, -(r + 1));
  return r + 1;
}

static int auxwrap(pal_State *L) {
  pal_State *co = pal_tothread(L, pal_upvalueindex(1));
  int r, status;
  if (co == NULL) return pal_errorf(L, "cannot resume dead coroutine");
  r = auxresume(L, co, pal_gettop(L), &status);
  if (r == -2) return PAL_ERRSIG;
  if (r < 0) {
    TValue ev;
    if (pal_type(L, -1) == PAL_TSTRING) {
      char where[300];
      where[0] = '\0';
      if (L->ci > L->base_ci) vm_where(L, L->ci - 1, where, sizeof where);
      if (where[0] != '\0') {
        pal_pushfstring(L, "%s%s", where, pal_tostring(L, -1));
        pal_remove(L, -2);
      }
    }
    ev = L->top[-1];
    L->top--;
    vm_seterror(L, status == PAL_ERRMEM ? PAL_ERRMEM : PAL_ERRRUN, &ev);
    return PAL_ERRSIG;
  }
  return r;
}

static int co_wrap(pal_State *L) {
  if (co_create(L) == PAL_ERRSIG) return PAL_ERRSIG;
  pal_pushcclosure(L, auxwrap, "wrap", 1);
  return 1;
}

static int co_yield(pal_State *L) {
  return pal_yield(L, pal_gettop(L));
}

static int co_status(pal_State *L) {
  pal_State *co = getco(L);
  if (co == NULL) return PAL_ERRSIG;
  pal_pushstring(L, statnames[pal_costatus(L, co)]);
  return 1;
}

static int co_running(pal_State *L) {
  if (pal_pushthread(L)) {
    pal_pop(L, 1);
    pal_pushnil(L);
  }
  return 1;
}

static int co_isyieldable(pal_State *L) {
  pal_pushboolean(L, pal_isyieldable(L));
  return 1;
}

static int co_close(pal_State *L) {
  pal_State *co = getco(L);
  int st, status;
  if (co == NULL) return PAL_ERRSIG;
  st = pal_costatus(L, co);
  if (st == 0 || st == 2) return pal_errorf(L, "cannot close %s coroutine", statnames[st]);
  status = pal_resetthread(co);
  if (status == PAL_OK) {
    pal_pushboolean(L, 1);
    return 1;
  }
  pal_pushboolean(L, 0);
  pal_xmove(co, L, 1);
  return 2;
}

static const pal_Reg co_funcs[] = {
    {"create", co_create},
    {"resume", co_resume},
    {"yield", co_yield},
    {"status", co_status},
    {"wrap", co_wrap},
    {"running", co_running},
    {"isyieldable", co_isyieldable},
    {"close", co_close},
    {NULL, NULL},
};

void pal_open_coroutine(pal_State *L) {
  int top = pal_gettop(L);
  pal_register(L, "coroutine", co_funcs);
  pal_settop(L, top);
}
