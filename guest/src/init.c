/*
 * init.c - opening the standard libraries and the sandbox (luau-language.md 3.11).
 */
#include "vm.h"

/* the library closures OP_CALL may compute inline (FB_*, vm.h) */
static const struct {
  const char *lib, *name; /* lib NULL: a global function */
  uint8_t id;
} fastbuiltins[] = {
    {NULL, "type", FB_TYPE},         {NULL, "typeof", FB_TYPEOF},       {NULL, "rawequal", FB_RAWEQUAL},
    {NULL, "rawget", FB_RAWGET},     {NULL, "rawlen", FB_RAWLEN},       {NULL, "select", FB_SELECT},
    {NULL, "tonumber", FB_TONUMBER}, {NULL, "tostring", FB_TOSTRING},   {NULL, "setmetatable", FB_SETMETATABLE},
    {NULL, "assert", FB_ASSERT},     {"string", "len", FB_STRLEN},      {"string", "byte", FB_STRBYTE},
    {"math", "abs", FB_ABS},         {"math", "floor", FB_FLOOR},       {"math", "ceil", FB_CEIL},
    {"math", "sqrt", FB_SQRT},       {"math", "min", FB_MIN},           {"math", "max", FB_MAX},
    {"bit32", "band", FB_BAND},      {"bit32", "bor", FB_BOR},          {"bit32", "bxor", FB_BXOR},
};

static const TValue *getfield(pal_State *L, Table *t, const char *name) {
  TString *key = str_newz(L, name);
  return key != NULL ? tab_getstr(t, key) : &pal_nilobject;
}

/* mark the builtins just registered in the globals gt (before anything else can replace them) */
static void markbuiltins(pal_State *L, Table *gt) {
  for (size_t i = 0; i < sizeof fastbuiltins / sizeof fastbuiltins[0]; i++) {
    const TValue *f = &pal_nilobject;
    if (fastbuiltins[i].lib == NULL) {
      f = getfield(L, gt, fastbuiltins[i].name);
    } else {
      const TValue *lib = getfield(L, gt, fastbuiltins[i].lib);
      if (ttistable(lib)) f = getfield(L, hvalue(lib), fastbuiltins[i].name);
    }
    if (ttisfunction(f) && clvalue(f)->c.isC) clvalue(f)->c.builtin = fastbuiltins[i].id;
  }
}

void pal_openlibs(pal_State *L) {
  global_State *g = G(L);
  int top = pal_gettop(L);
  TValue key, val;
  pal_open_base(L);
  pal_open_coroutine(L);
  pal_open_string(L);
  pal_open_utf8(L);
  pal_open_table(L);
  pal_open_math(L);
  pal_open_bit32(L);
  pal_open_os(L);
  pal_open_buffer(L);
  pal_open_debug(L);
  /* the global unpack is table.unpack itself (when the table library provides one) */
  if (pal_getfield(L, PAL_GLOBALSINDEX, "table") == PAL_TTABLE &&
      pal_getfield(L, -1, "unpack") == PAL_TFUNCTION)
    pal_setfield(L, PAL_GLOBALSINDEX, "unpack");
  pal_settop(L, top);
  if (L->gt == NULL) return;
  markbuiltins(L, L->gt);
  /* sandbox: the globals become the shared read-only built-ins, every table-valued global is frozen */
  g->builtins = L->gt;
  setnilvalue(&key);
  while (tab_next(L, g->builtins, &key, &val) > 0)
    if (ttistable(&val)) hvalue(&val)->readonly = 1;
  g->builtins->readonly = 1;
  if (g->mt[PAL_TSTRING] != NULL) g->mt[PAL_TSTRING]->readonly = 1;
  gc_seal(L, g->builtins);
  if (g->mt[PAL_TSTRING] != NULL) gc_seal(L, g->mt[PAL_TSTRING]);
}

void pal_sandboxthread(pal_State *L) {
  global_State *g = G(L);
  Table *gt, *mt;
  TValue v;
  if (g->builtins == NULL) return;
  gt = tab_new(L, 0, 0);
  if (gt == NULL) return;
  mt = tab_new(L, 0, 1);
  if (mt == NULL) return;
  sethvalue(&v, g->builtins);
  if (tab_setstr(L, mt, g->tmname[TM_INDEX], &v) != PAL_OK) return;
  mt->readonly = 1;
  gt->metatable = mt;
  L->gt = gt;
}
