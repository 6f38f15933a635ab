/*
 * baselib.c - the global functions (luau-language.md 4.1, 3.9-3.12).
 * pcall/xpcall/next/ipairs' iterator are recognised by the VM by their C function pointers.
 */

#include "host.h"
#include "vm.h"

#define isnoneornil(L, i) (pal_type(L, i) <= PAL_TNIL)

/* ---- print ---- */

typedef struct OutBuf {
  char b[512];
  size_t n;
} OutBuf;

static void out_flush(OutBuf *o) {
  if (o->n > 0) pal_host_writeall(1, o->b, o->n);
  o->n = 0;
}

static void out_add(OutBuf *o, const char *s, size_t l) {
  if (l > sizeof o->b - o->n) {
    out_flush(o);
    if (l >= sizeof o->b) {
      pal_host_writeall(1, s, l);
      return;
    }
  }
  memcpy(o->b + o->n, s, l);
  o->n += l;
}

static int base_print(pal_State *L) {
  int n = pal_gettop(L), i;
  OutBuf o;
  size_t total = 0;
  o.n = 0;
  for (i = 1; i <= n; i++) {
    size_t l;
    const char *s;
    if (pal_tostringmeta(L, i) != PAL_OK) return PAL_ERRSIG;
    s = pal_tolstring(L, -1, &l);
    if (s == NULL) return PAL_ERRSIG;
    if (i > 1) out_add(&o, "\t", 1);
    out_add(&o, s, l);
    total += l;
    pal_pop(L, 1);
  }
  out_add(&o, "\n", 1);
  out_flush(&o);
  if (total >= 256 && pal_chargefuel(L, (int64_t)(total / 64))) return PAL_ERRSIG;
  return 0;
}

/* ---- errors ---- */

static int base_assert(pal_State *L) {
  const char *msg;
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (pal_toboolean(L, 1)) return pal_gettop(L);
  msg = pal_optlstring(L, 2, "assertion failed!", NULL);
  if (pal_errpending(L)) return PAL_ERRSIG;
  return pal_errorf(L, "%s", msg);
}

static int base_error(pal_State *L) {
  int level = pal_optinteger(L, 2, 1);
  int t;
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 1);
  t = pal_type(L, 1);
  if ((t == PAL_TSTRING || t == PAL_TNUMBER) && level > 0) {
    char where[300];
    vm_where(L, vm_level(L, level), where, sizeof where);
    if (where[0] != '\0') {
      const char *msg = pal_tostring(L, 1);
      if (msg == NULL) return PAL_ERRSIG;
      pal_pushfstring(L, "%s%s", where, msg);
      pal_remove(L, 1);
    }
  }
  return pal_error(L);
}

int base_pcall(pal_State *L) {
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  return vm_pcallC(L);
}

int base_xpcall(pal_State *L) {
  pal_checktype(L, 2, PAL_TFUNCTION);
  if (pal_errpending(L)) return PAL_ERRSIG;
  return vm_pcallC(L);
}

/* ---- types and conversions ---- */

/* push the name of type tag tt: the state's fixed string, not hashed again */
static int pushtypename(pal_State *L, int tt) {
  if (tt < 0 || tt >= PAL_NUMTYPES) {
    pal_pushstring(L, pal_typename(L, tt));
    return 1;
  }
  setsvalue(L->top, G(L)->typestr[tt]); /* a C function is granted PAL_MINSTACK free slots */
  L->top++;
  return 1;
}

static int base_type(pal_State *L) {
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  return pushtypename(L, pal_type(L, 1));
}

static int base_typeof(pal_State *L) {
  const TValue *o = L->stack + L->ci->base;
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (ttisuserdata(o)) { /* its metatable's __type, if any (vm_typeof) */
    pal_pushstring(L, vm_typeof(L, o));
    return 1;
  }
  return pushtypename(L, ttype(o));
}

static int base_tostring(pal_State *L) {
  const TValue *o = L->stack + L->ci->base;
  /* a number without a metatable (so without __tostring): what vm_tostring makes of it, with fewer calls */
  if (L->top > o && ttisnumber(o) && G(L)->mt[PAL_TNUMBER] == NULL) {
    char nb[PAL_NUMBUF];
    pal_pushlstring(L, nb, (size_t)pal_num2str(nb, nvalue(o)));
    return 1;
  }
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (pal_tostringmeta(L, 1) != PAL_OK) return PAL_ERRSIG;
  return 1;
}

static int isspacec(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int digitval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

static int base_tonumber(pal_State *L) {
  if (isnoneornil(L, 2)) {
    int isnum = 0;
    double n;
    if (pal_type(L, 1) == PAL_TNUMBER || pal_type(L, 1) == PAL_TSTRING) {
      n = pal_tonumberx(L, 1, &isnum);
      if (isnum) {
        pal_pushnumber(L, n);
        return 1;
      }
    }
    pal_checkany(L, 1);
    if (pal_errpending(L)) return PAL_ERRSIG;
  } else {
    int base = pal_checkinteger(L, 2);
    size_t len;
    const char *s;
    if (base == 10 && pal_type(L, 1) != PAL_TNONE) {
      int isnum = 0;
      double n = pal_tonumberx(L, 1, &isnum);
      if (isnum && pal_type(L, 1) <= PAL_TSTRING) {
        pal_pushnumber(L, n);
        return 1;
      }
      pal_pushnil(L);
      return 1;
    }
    s = pal_checklstring(L, 1, &len);
    if (pal_errpending(L)) return PAL_ERRSIG;
    if (base < 2 || base > 36) return pal_argerror(L, 2, "base out of range");
    {
      const char *p = s, *e = s + len;
      int neg = 0, any = 0;
      uint64_t acc = 0;
      int overflow = 0;
      while (p < e && isspacec((unsigned char)*p)) p++;
      if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
      if (base == 16 && e - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && e - p > 2 &&
          digitval((unsigned char)p[2]) < 16)
        p += 2;
      while (p < e && digitval((unsigned char)*p) < base) {
        uint64_t d = (uint64_t)digitval((unsigned char)*p);
        if (acc > (UINT64_MAX - d) / (uint64_t)base) overflow = 1;
        acc = acc * (uint64_t)base + d;
        any = 1;
        p++;
      }
      if (overflow) acc = UINT64_MAX;
      while (p < e && isspacec((unsigned char)*p)) p++;
      if (any && p == e) {
        if (neg) acc = (uint64_t)0 - acc;
        pal_pushnumber(L, (double)acc);
        return 1;
      }
    }
  }
  pal_pushnil(L);
  return 1;
}

static int base_select(pal_State *L) {
  int n = pal_gettop(L);
  if (pal_type(L, 1) == PAL_TSTRING) {
    const char *s = pal_tostring(L, 1);
    if (s != NULL && s[0] == '#') {
      pal_pushnumber(L, (double)(n - 1));
      return 1;
    }
  }
  {
    int i = pal_checkinteger(L, 1);
    if (pal_errpending(L)) return PAL_ERRSIG;
    if (i < 0)
      i = n + i;
    else if (i > n)
      i = n;
    if (i < 1) return pal_argerror(L, 1, "index out of range");
    return n - i;
  }
}

/* ---- iteration ---- */

int base_next(pal_State *L) {
  pal_checktype(L, 1, PAL_TTABLE);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 2);
  if (pal_next(L, 1)) return 2;
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnil(L);
  return 1;
}

static int base_pairs(pal_State *L) {
  pal_checktype(L, 1, PAL_TTABLE);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushvalue(L, pal_upvalueindex(1));
  pal_pushvalue(L, 1);
  pal_pushnil(L);
  return 3;
}

int base_inext(pal_State *L) {
  double i;
  pal_checktype(L, 1, PAL_TTABLE);
  i = pal_checknumber(L, 2) + 1;
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnumber(L, i);
  pal_pushnumber(L, i);
  if (pal_rawget(L, 1) == PAL_TNIL) return 0;
  return 2;
}

static int base_ipairs(pal_State *L) {
  pal_checktype(L, 1, PAL_TTABLE);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushvalue(L, pal_upvalueindex(1));
  pal_pushvalue(L, 1);
  pal_pushnumber(L, 0);
  return 3;
}

/* ---- raw access ---- */

static int base_rawget(pal_State *L) {
  pal_checktype(L, 1, PAL_TTABLE);
  pal_checkany(L, 2);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 2);
  pal_rawget(L, 1);
  return 1;
}

static int base_rawset(pal_State *L) {
  pal_checktype(L, 1, PAL_TTABLE);
  pal_checkany(L, 2);
  pal_checkany(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (pal_getreadonly(L, 1)) return pal_errorf(L, "attempt to modify a readonly table");
  pal_settop(L, 3);
  pal_rawset(L, 1);
  return 1;
}

static int base_rawequal(pal_State *L) {
  pal_checkany(L, 1);
  pal_checkany(L, 2);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushboolean(L, pal_rawequal(L, 1, 2));
  return 1;
}

static int base_rawlen(pal_State *L) {
  int t = pal_type(L, 1);
  if (t != PAL_TTABLE && t != PAL_TSTRING) return pal_argerror(L, 1, "table or string expected");
  pal_pushnumber(L, (double)pal_objlen(L, 1));
  return 1;
}

/* ---- metatables ---- */

static int base_setmetatable(pal_State *L) {
  TValue *base = L->stack + L->ci->base;
  int n = (int)(L->top - base);
  Table *t, *mt;
  if (n < 1 || !ttistable(base)) return pal_typeerror(L, 1, "table");
  if (n < 2 || (!ttisnil(base + 1) && !ttistable(base + 1))) return pal_typeerror(L, 2, "nil or table");
  t = hvalue(base);
  mt = ttistable(base + 1) ? hvalue(base + 1) : NULL;
  if (t->metatable != NULL && G(L)->tmname[TM_METATABLE] != NULL &&
      !ttisnil(tab_getstr(t->metatable, G(L)->tmname[TM_METATABLE])))
    return pal_errorf(L, "cannot change a protected metatable");
  if (t->readonly) return pal_errorf(L, "attempt to modify a readonly table");
  tab_changed(G(L), t);
  t->metatable = mt;
  L->top = base + 1;
  return 1;
}

static int base_getmetatable(pal_State *L) {
  pal_checkany(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (!pal_getmetatable(L, 1)) {
    pal_pushnil(L);
    return 1;
  }
  if (pal_rawgetfield(L, -1, "__metatable") != PAL_TNIL) return 1;
  pal_pop(L, 1);
  return 1;
}

/* ---- misc ---- */

static int base_unpack(pal_State *L) {
  double i, j, n;
  int k;
  pal_checktype(L, 1, PAL_TTABLE);
  i = (double)pal_optinteger(L, 2, 1);
  j = isnoneornil(L, 3) ? (double)pal_objlen(L, 1) : (double)pal_checkinteger(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (i > j) return 0;
  n = j - i + 1;
  if (n >= 8000000 || !pal_checkstack(L, (int)n)) return pal_errorf(L, "too many results to unpack");
  if (n >= 64 && pal_chargefuel(L, (int64_t)(n / 8))) return PAL_ERRSIG;
  for (k = 0; k < (int)n; k++) pal_rawgeti(L, 1, (int64_t)i + k);
  return (int)n;
}

static int base_newproxy(pal_State *L) {
  int t = pal_type(L, 1), withmt;
  if (t != PAL_TNONE && t != PAL_TNIL && t != PAL_TBOOLEAN) return pal_argerror(L, 1, "nil or boolean expected");
  withmt = pal_toboolean(L, 1);
  pal_settop(L, 0);
  pal_newuserdata(L, 0, PAL_PROXYTAG);
  if (withmt) {
    pal_newtable(L);
    pal_setmetatable(L, -2);
  }
  return 1;
}

static int base_gcinfo(pal_State *L) {
  pal_pushnumber(L, (double)(pal_gccount(L) / 1024));
  return 1;
}

static int base_collectgarbage(pal_State *L) {
  size_t l;
  const char *opt = pal_optlstring(L, 1, "collect", &l);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (strcmp(opt, "collect") == 0) {
    pal_gc(L);
    return 0;
  }
  if (strcmp(opt, "count") == 0) {
    pal_pushnumber(L, (double)pal_gccount(L) / 1024.0);
    return 1;
  }
  return pal_errorf(L, "collectgarbage must be called with 'count' or 'collect'");
}

static int base_loadstring(pal_State *L) {
  size_t l;
  const char *s = pal_checklstring(L, 1, &l);
  const char *name;
  int status;
  if (pal_errpending(L)) return PAL_ERRSIG;
  name = pal_optlstring(L, 2, s, NULL);
  if (pal_errpending(L)) return PAL_ERRSIG;
  status = pal_load(L, name, s, l);
  if (status == PAL_OK) return 1;
  if (status == PAL_ERRMEM) return pal_memerror(L);
  pal_pushnil(L);
  pal_insert(L, -2);
  return 2;
}

/* push the function selected by argument 1 (a function or a level); 0 = level 0 (the thread's globals) */
static int getfunc(pal_State *L, int opt) {
  int level;
  if (pal_type(L, 1) == PAL_TFUNCTION) {
    pal_pushvalue(L, 1);
    return 1;
  }
  level = opt ? pal_optinteger(L, 1, 1) : pal_checkinteger(L, 1);
  if (pal_errpending(L)) return -1;
  if (level < 0) {
    pal_argerror(L, 1, "level must be non-negative");
    return -1;
  }
  if (level == 0) return 0;
  if (!pal_pushfuncatlevel(L, level)) {
    pal_argerror(L, 1, "invalid level");
    return -1;
  }
  return 1;
}

static void pushthreadglobals(pal_State *L) {
  if (L->gt != NULL && pal_checkstack(L, 1)) {
    sethvalue(L->top, L->gt);
    L->top++;
  } else
    pal_pushnil(L);
}

static int base_getfenv(pal_State *L) {
  int r = getfunc(L, 1);
  if (r < 0) return PAL_ERRSIG;
  if (r == 0 || pal_iscfunction(L, -1)) {
    pushthreadglobals(L);
    return 1;
  }
  pal_getfenv(L, -1);
  return 1;
}

static int base_setfenv(pal_State *L) {
  int r;
  pal_checktype(L, 2, PAL_TTABLE);
  if (pal_errpending(L)) return PAL_ERRSIG;
  r = getfunc(L, 0);
  if (r < 0) return PAL_ERRSIG;
  if (r == 0) {
    L->gt = hvalue(L->stack + L->ci->base + 1);
    return 0;
  }
  if (pal_iscfunction(L, -1)) return pal_errorf(L, "'setfenv' cannot change environment of given object");
  pal_pushvalue(L, 2);
  if (!pal_setfenv(L, -2)) return pal_errorf(L, "'setfenv' cannot change environment of given object");
  return 1;
}

static const pal_Reg base_funcs[] = {
    {"print", base_print},
    {"assert", base_assert},
    {"error", base_error},
    {"pcall", base_pcall},
    {"xpcall", base_xpcall},
    {"type", base_type},
    {"typeof", base_typeof},
    {"tostring", base_tostring},
    {"tonumber", base_tonumber},
    {"select", base_select},
    {"rawget", base_rawget},
    {"rawset", base_rawset},
    {"rawequal", base_rawequal},
    {"rawlen", base_rawlen},
    {"setmetatable", base_setmetatable},
    {"getmetatable", base_getmetatable},
    {"unpack", base_unpack},
    {"newproxy", base_newproxy},
    {"gcinfo", base_gcinfo},
    {"collectgarbage", base_collectgarbage},
    {"loadstring", base_loadstring},
    {"getfenv", base_getfenv},
    {"setfenv", base_setfenv},
    {NULL, NULL},
};

void pal_open_base(pal_State *L) {
  int top = pal_gettop(L);
  pal_pushvalue(L, PAL_GLOBALSINDEX);
  pal_register(L, NULL, base_funcs);
  /* next, and pairs/ipairs holding their iterator as an upvalue (no allocation per loop) */
  pal_pushcfunction(L, base_next, "next");
  pal_pushvalue(L, -1);
  pal_setfield(L, -3, "next");
  pal_pushcclosure(L, base_pairs, "pairs", 1);
  pal_setfield(L, -2, "pairs");
  pal_pushcfunction(L, base_inext, "ipairs");
  pal_pushcclosure(L, base_ipairs, "ipairs", 1);
  pal_setfield(L, -2, "ipairs");
  pal_pushvalue(L, -1);
  pal_setfield(L, -2, "_G");
  pal_pushstring(L, "Luau");
  pal_setfield(L, -2, "_VERSION");
  pal_settop(L, top);
}
