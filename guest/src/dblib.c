/*
 * dblib.c - the `debug` library (reference §4.12): only traceback and info.
 * Built on pal_traceback / pal_getinfo / pal_getinfofunc / pal_pushfuncatlevel (execution layer).
 */
#include <string.h>

#include "pal.h"

#ifndef PAL_LIBS_PURE

/* optional leading thread argument: returns the thread to inspect and sets *arg to 0 or 1 */
static pal_State *getthread(pal_State *L, int *arg) {
  if (pal_type(L, 1) == PAL_TTHREAD) {
    *arg = 1;
    return pal_tothread(L, 1);
  }
  *arg = 0;
  return L;
}

static int db_traceback(pal_State *L) {
  int arg;
  pal_State *co = getthread(L, &arg);
  const char *msg = NULL;
  int t = pal_type(L, arg + 1);
  if (t > PAL_TNIL) {
    if (t != PAL_TSTRING && t != PAL_TNUMBER) return pal_typeerror(L, arg + 1, "string");
    msg = pal_tolstring(L, arg + 1, NULL);
  }
  int level = pal_optinteger(L, arg + 2, co == L ? 1 : 0);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (level < 0) return pal_argerror(L, arg + 2, "level can't be negative");
  pal_traceback(L, co, msg, level);
  return 1;
}

static int db_info(pal_State *L) {
  int arg;
  pal_State *co = getthread(L, &arg);
  size_t olen = 0;
  const char *opts;

  pal_Debug ar;
  memset(&ar, 0, sizeof ar);
  int found = 0, isfunc = 0, level = 0;
  if (pal_type(L, arg + 1) == PAL_TNUMBER) {
    double d = pal_tonumber(L, arg + 1);
    if (d < 0) return pal_argerror(L, arg + 1, "level can't be negative");
    level = d > 1e6 ? 1000000 : (int)d;
    found = pal_getinfo(co, level, &ar);
  } else if (arg == 0 && pal_type(L, 1) == PAL_TFUNCTION) {
    isfunc = 1;
    found = pal_getinfofunc(L, 1, &ar);
  } else {
    return pal_argerror(L, arg + 1, "function or level expected");
  }

  /* the level or function is checked first: debug.info() complains about it, not about the options */
  opts = pal_checklstring(L, arg + 2, &olen);
  if (pal_errpending(L)) return PAL_ERRSIG;

  /* validate the options (each letter at most once) */
  int seen[5] = {0, 0, 0, 0, 0};
  for (size_t i = 0; i < olen; i++) {
    const char *p = opts[i] ? strchr("slnaf", opts[i]) : NULL;
    if (p == NULL) return pal_argerror(L, arg + 2, "invalid option");
    if (seen[p - "slnaf"]++) return pal_argerror(L, arg + 2, "duplicate option");
  }
  if (!found) return 0;
  if (!pal_checkstack(L, (int)olen + 2)) return PAL_ERRSIG;

  int nres = 0;
  for (size_t i = 0; i < olen; i++) {
    switch (opts[i]) {
      case 's':
        pal_pushstring(L, ar.isC ? "[C]" : ar.short_src);
        nres++;
        break;
      case 'l':
        pal_pushnumber(L, ar.isC ? -1.0 : (double)(isfunc ? ar.linedefined : ar.currentline));
        nres++;
        break;
      case 'n':
        pal_pushstring(L, ar.name ? ar.name : "");
        nres++;
        break;
      case 'a':
        pal_pushnumber(L, (double)ar.nparams);
        pal_pushboolean(L, ar.isvararg);
        nres += 2;
        break;
      case 'f':
        if (isfunc) {
          pal_pushvalue(L, 1);
        } else if (co == L) {
          if (!pal_pushfuncatlevel(L, level)) pal_pushnil(L);
        } else {
          if (!pal_checkstack(co, 1)) return PAL_ERRSIG;
          if (pal_pushfuncatlevel(co, level))
            pal_xmove(co, L, 1);
          else
            pal_pushnil(L);
        }
        nres++;
        break;
      default:
        break;
    }
  }
  return nres;
}

static const pal_Reg dblib[] = {{"traceback", db_traceback}, {"info", db_info}, {NULL, NULL}};

void pal_open_debug(pal_State *L) {
  pal_register(L, "debug", dblib);
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
