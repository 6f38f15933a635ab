/*
 * pal.h - the public C API of Palisade's Luau interpreter.
 *
 * Everything outside the core (standard libraries, the wasm entry points, the native test CLI, the ABI codec)
 * talks to the interpreter only through this header. It is a stack API in the spirit of other embeddable
 * interpreters, but designed for a world WITHOUT setjmp/longjmp:
 *
 *  - Errors never unwind the C stack. Raising an error records a *pending error* on the thread and the C code
 *    returns normally. A C function (pal_CFunction) signals an error by returning PAL_ERRSIG.
 *  - "First error wins": once an error is pending, later attempts to set one are ignored until it is handled.
 *  - Allocation failures (memory budget) and fuel aborts also set a pending error. Functions that allocate
 *    (push a string, create a table, ...) never return an error code: on failure they push a harmless value
 *    (nil, or an empty string) and set the pending error. After a C function returns, the VM checks the pending
 *    error FIRST and raises it, whatever the function returned. So library code may be written straight-line
 *    and only needs to check pal_errpending() before doing something expensive or irreversible, and inside
 *    loops whose length depends on input.
 *  - Functions that can run Lua code (metamethods, pal_call) return a status (PAL_OK or an error status) and
 *    leave the error pending on failure; the caller should return PAL_ERRSIG promptly.
 *
 * Stack indices: positive = from the bottom of the current C function's frame (1 = first argument),
 * negative = from the top (-1 = top). pal_upvalueindex(i) addresses the i-th upvalue of the running C closure.
 *
 * GC rule: the collector runs only at VM safe points (inside the bytecode loop), never inside an allocation.
 * A C function must keep every object it still needs on the stack across any call that can run Lua code
 * (pal_call, pal_gettable & co with metamethods, pal_tostring, pal_lessthan, ...).
 */
#ifndef PAL_H
#define PAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pal_State pal_State;
typedef int (*pal_CFunction)(pal_State *L);

/* ---- status codes (returned by pal_call, pal_resume, pal_load, ...) ---- */
#define PAL_OK 0
#define PAL_YIELD 1    /* coroutine yielded */
#define PAL_ERRRUN 2   /* runtime error (catchable by pcall) */
#define PAL_ERRSYNTAX 3
#define PAL_ERRMEM 4   /* "not enough memory" (catchable by pcall) */
#define PAL_ERRERR 5   /* error in error handling */
#define PAL_ERRABORT 6 /* fuel/time abort requested by the host: NOT catchable by pcall/xpcall, ends the coroutine */

/* ---- special return values of a pal_CFunction (non-negative = number of results on top of the stack) ---- */
#define PAL_ERRSIG (-1)   /* an error is pending */
#define PAL_YIELDSIG (-2) /* returned via pal_yield() */

/* ---- type tags (value of pal_type) ---- */
#define PAL_TNONE (-1)
#define PAL_TNIL 0
#define PAL_TBOOLEAN 1
#define PAL_TLIGHTUSERDATA 2
#define PAL_TNUMBER 3
#define PAL_TVECTOR 4 /* reserved, not implemented */
#define PAL_TSTRING 5
#define PAL_TTABLE 6
#define PAL_TFUNCTION 7
#define PAL_TUSERDATA 8
#define PAL_TTHREAD 9
#define PAL_TBUFFER 10
#define PAL_TINTEGER 11 /* reserved for the 64-bit integer type */
#define PAL_NUMTYPES 12

#define PAL_MULTRET (-1)
#define PAL_REGISTRYINDEX (-10000)
#define PAL_GLOBALSINDEX (-10001) /* the running function's environment table */
#define pal_upvalueindex(i) (PAL_GLOBALSINDEX - (i))

#define PAL_MAXCCALLS 200 /* nested C-boundary calls -> "C stack overflow" */

/* ---- state ---- */
/* Create a state whose allocator refuses to hold more than budget bytes (0 = unlimited). NULL on failure. */
pal_State *pal_newstate(size_t budget);
void pal_close(pal_State *L);
size_t pal_memused(pal_State *L);       /* bytes currently allocated by this state */
void pal_setbudget(pal_State *L, size_t budget);
/* Allocations refused since the state was created (the budget, or the system allocator, said no), whether or not
   the script caught the "not enough memory" error. Monotonic (wraps at 2^32). */
uint32_t pal_memrefusals(pal_State *L);
pal_State *pal_mainthread(pal_State *L);

/* ---- basic stack manipulation ---- */
int pal_gettop(pal_State *L);
void pal_settop(pal_State *L, int idx);
int pal_absindex(pal_State *L, int idx);
void pal_pushvalue(pal_State *L, int idx);
void pal_remove(pal_State *L, int idx);
void pal_insert(pal_State *L, int idx);
void pal_replace(pal_State *L, int idx);
int pal_checkstack(pal_State *L, int extra); /* 1 ok; 0 = cannot grow (pending "stack overflow" error set) */
void pal_xmove(pal_State *from, pal_State *to, int n);
#define pal_pop(L, n) pal_settop(L, -(n)-1)

/* ---- access (never raise) ---- */
int pal_type(pal_State *L, int idx); /* PAL_TNONE for an invalid/absent index */
const char *pal_typename(pal_State *L, int tag);  /* "nil", "number", ... */
const char *pal_typeof(pal_State *L, int idx);    /* like typeof(): honours a string __type on userdata */
int pal_isnumber(pal_State *L, int idx);          /* number, or string convertible to one */
int pal_isstring(pal_State *L, int idx);          /* string or number */
int pal_iscfunction(pal_State *L, int idx);
int pal_rawequal(pal_State *L, int a, int b);
double pal_tonumberx(pal_State *L, int idx, int *isnum); /* with string coercion; 0 when not convertible */
#define pal_tonumber(L, i) pal_tonumberx(L, i, NULL)
int pal_toboolean(pal_State *L, int idx);
/* String value of a string, or of a number converted IN PLACE to its string form (like tostring); NULL otherwise.
   The pointer stays valid while the value stays on the stack. Converting a number can fail on memory: then
   NULL + pending error. */
const char *pal_tolstring(pal_State *L, int idx, size_t *len);
#define pal_tostring(L, i) pal_tolstring(L, i, NULL)
size_t pal_objlen(pal_State *L, int idx); /* raw length: string bytes, table border, buffer/userdata size */
pal_CFunction pal_tocfunction(pal_State *L, int idx);
void *pal_touserdata(pal_State *L, int idx); /* full or light userdata block; NULL otherwise */
int pal_userdatatag(pal_State *L, int idx);   /* tag given at creation, -1 if not a full userdata */
uint8_t *pal_tobuffer(pal_State *L, int idx, size_t *len);
pal_State *pal_tothread(pal_State *L, int idx);
const void *pal_topointer(pal_State *L, int idx);

/* ---- push (allocation failure => pending PAL_ERRMEM and a nil/empty value pushed instead) ---- */
void pal_pushnil(pal_State *L);
void pal_pushnumber(pal_State *L, double n);
void pal_pushboolean(pal_State *L, int b);
void pal_pushlstring(pal_State *L, const char *s, size_t len);
void pal_pushstring(pal_State *L, const char *s); /* NULL pushes nil */
/* printf-like; supports %s %d %c %f (number as tostring formats it) %p %% only. Returns the pushed string. */
const char *pal_pushfstring(pal_State *L, const char *fmt, ...);
const char *pal_pushvfstring(pal_State *L, const char *fmt, va_list ap);
/* name is used in argument error messages ("invalid argument #1 to 'name' ...") and tracebacks */
void pal_pushcclosure(pal_State *L, pal_CFunction f, const char *name, int nup);
#define pal_pushcfunction(L, f, name) pal_pushcclosure(L, f, name, 0)
void pal_pushlightuserdata(pal_State *L, void *p);
int pal_pushthread(pal_State *L); /* pushes L itself; returns 1 if it is the main thread */

/* ---- tables and metatables ---- */
void pal_createtable(pal_State *L, int narr, int nrec);
#define pal_newtable(L) pal_createtable(L, 0, 0)
/* with metamethods; push the value; return its type (PAL_TNIL on error, with the error pending) */
int pal_gettable(pal_State *L, int idx);            /* t[k], k popped from the top */
int pal_getfield(pal_State *L, int idx, const char *k);
/* with metamethods; return a status */
int pal_settable(pal_State *L, int idx);             /* t[k] = v; k, v popped (v on top) */
int pal_setfield(pal_State *L, int idx, const char *k); /* t[k] = v; v popped */
/* raw (never run Lua code); rawset/rawseti do NOT check the read-only flag: callers exposed to scripts must */
int pal_rawget(pal_State *L, int idx); /* key popped, value pushed; returns its type */
int pal_rawgeti(pal_State *L, int idx, int64_t n);
int pal_rawgetfield(pal_State *L, int idx, const char *k);
void pal_rawset(pal_State *L, int idx);                 /* key and value popped; nil/NaN key => pending error */
void pal_rawseti(pal_State *L, int idx, int64_t n);     /* value popped */
void pal_rawsetfield(pal_State *L, int idx, const char *k); /* value popped */
/* raw t[a] < t[b] for the table at idx when both values are numbers or both are strings (no Lua code can run):
   returns 1 or 0; returns -1 (nothing done) for any other pair, or when idx is not a table */
int pal_rawlessi(pal_State *L, int idx, int64_t a, int64_t b);
void pal_rawswapi(pal_State *L, int idx, int64_t a, int64_t b); /* raw t[a], t[b] = t[b], t[a] */
/* table.sort's comparison: calls the value at fidx with the raw t[a], t[b] (t = the table at tidx) for one result.
   Returns 1 if that result is truthy, 0 if not (the stack is as before), or -1 with the call's error pending (as
   for pal_call); on success *len = the raw #t after the call (a comparator that resized t shows there). */
int pal_callrawpair(pal_State *L, int fidx, int tidx, int64_t a, int64_t b, int64_t *len);
/* table.concat's work: pushes the raw t[i] .. sep .. t[i+1] .. ... .. t[j] (i <= j; t = the table at idx) and
   returns 1, or returns PAL_ERRSIG with an error pending: an item that is neither a string nor a number ("invalid
   value (<type>) at index <k> in table for 'concat'"), a result over 1 GiB, fuel (1 unit per item, charged every
   256 items, then 1 per 32 bytes of the result) or memory. Numbers are formatted as by tostring. */
int pal_rawconcat(pal_State *L, int idx, const char *sep, size_t lsep, int64_t i, int64_t j);
int pal_next(pal_State *L, int idx); /* key popped; pushes key,value and returns 1, or 0 at the end;
                                         invalid key => pending "invalid key to 'next'" and returns 0 */
int pal_getmetatable(pal_State *L, int idx); /* raw metatable (ignores __metatable); pushes it and returns 1, or 0 */
int pal_setmetatable(pal_State *L, int idx); /* pops a table or nil and sets it; returns 1 */
int pal_getreadonly(pal_State *L, int idx);
void pal_setreadonly(pal_State *L, int idx, int enabled);
int pal_getfenv(pal_State *L, int idx);  /* pushes the environment of a function/thread */
int pal_setfenv(pal_State *L, int idx);  /* pops a table; returns 0 if the object cannot have one */

/* ---- userdata, buffers, threads ---- */
void *pal_newuserdata(pal_State *L, size_t size, int tag); /* zero-filled; NULL on OOM */
uint8_t *pal_newbuffer(pal_State *L, size_t size);         /* zero-filled; NULL on OOM */
pal_State *pal_newthread(pal_State *L);                    /* pushes it; NULL on OOM */

/* ---- operations that may run metamethods (status on failure, error pending) ---- */
int pal_call(pal_State *L, int nargs, int nresults); /* function and args on the stack; NOT yieldable */
int pal_pcall(pal_State *L, int nargs, int nresults);  /* like pal_call but leaves the error value on the stack
                                                          instead of pending (PAL_ERRABORT is never caught:
                                                          it stays pending and is returned) */
int pal_tostringmeta(pal_State *L, int idx); /* push tostring(v) honouring __tostring; returns status */
int pal_equal(pal_State *L, int a, int b, int *res);    /* == with __eq; status */
int pal_lessthan(pal_State *L, int a, int b, int *res); /* < with __lt; status */
int pal_lessequal(pal_State *L, int a, int b, int *res);
int pal_arith(pal_State *L, int op);      /* pops 2 (1 for PAL_OPUNM) operands, pushes result; status */
int pal_concat(pal_State *L, int n);      /* concatenates the n top values (with __concat); status */
int pal_len(pal_State *L, int idx);       /* pushes #v (with __len); status */
#define PAL_OPADD 0
#define PAL_OPSUB 1
#define PAL_OPMUL 2
#define PAL_OPDIV 3
#define PAL_OPIDIV 4
#define PAL_OPMOD 5
#define PAL_OPPOW 6
#define PAL_OPUNM 7

/* ---- errors ---- */
int pal_error(pal_State *L);                        /* pops the error value, makes it pending; returns PAL_ERRSIG */
int pal_errorf(pal_State *L, const char *fmt, ...); /* message prefixed with "chunk:line: " of the calling Luau
                                                       code (nothing when called directly from a C function such
                                                       as pcall); returns PAL_ERRSIG */
int pal_errorstatus(pal_State *L, int status, const char *msg); /* pending error of a given status; PAL_ERRSIG */
int pal_memerror(pal_State *L);                     /* pending "not enough memory"; PAL_ERRSIG */
int pal_errpending(pal_State *L);                   /* status of the pending error, PAL_OK if none */
void pal_pusherror(pal_State *L);                   /* push the pending error value (does not clear it) */
void pal_clearerror(pal_State *L);
/* return PAL_ERRSIG from a pal_CFunction when an error is pending */
#define PAL_ERRCHECK(L)                                 \
  do {                                                  \
    if (pal_errpending(L) != PAL_OK) return PAL_ERRSIG; \
  } while (0)
/* argument checking: on failure they set a pending argument error and return a neutral value */
int pal_argerror(pal_State *L, int narg, const char *extramsg); /* "invalid argument #n to 'f' (extramsg)" */
int pal_typeerror(pal_State *L, int narg, const char *expected); /* "(number expected, got nil)" or
                                                                     "missing argument #n to 'f' (x expected)" */
double pal_checknumber(pal_State *L, int narg);
double pal_optnumber(pal_State *L, int narg, double def);
int pal_checkinteger(pal_State *L, int narg);  /* "int arg": number truncated toward zero to a C int */
int pal_optinteger(pal_State *L, int narg, int def);
int64_t pal_checkint64(pal_State *L, int narg); /* truncated to int64 (used by bit32, %d) */
const char *pal_checklstring(pal_State *L, int narg, size_t *len); /* numbers are converted in place */
const char *pal_optlstring(pal_State *L, int narg, const char *def, size_t *len);
void pal_checktype(pal_State *L, int narg, int tag);
void pal_checkany(pal_State *L, int narg); /* "missing argument #n to 'f'" */
int pal_checkoption(pal_State *L, int narg, const char *def, const char *const lst[]);
uint8_t *pal_checkbuffer(pal_State *L, int narg, size_t *len);
const char *pal_currentfuncname(pal_State *L); /* name of the running C function, for messages */

/* ---- fuel (time limit) ---- */
/* Charge `units` of work (1 unit ~ one bytecode instruction). Returns 0 normally; nonzero when the host asked to
   abort (a PAL_ERRABORT error is then pending and the C function must return PAL_ERRSIG). Library functions call
   this in proportion to their work, e.g. one unit per 16-64 bytes copied or per pattern-matching step. */
int pal_chargefuel(pal_State *L, int64_t units);

/* ---- coroutines ---- */
/* Resume co with nargs values moved from `from` (or already on co's stack when from == NULL).
   On PAL_OK/PAL_YIELD, *nres values are on top of co's stack. On error the error value is on top of co's stack
   and co is dead. */
int pal_resume(pal_State *co, pal_State *from, int nargs, int *nres);
int pal_yield(pal_State *L, int nresults); /* use as: return pal_yield(L, n); fails if not yieldable */
int pal_isyieldable(pal_State *L);
int pal_costatus(pal_State *L, pal_State *co); /* 0 running, 1 suspended, 2 normal, 3 dead */
int pal_status(pal_State *L); /* PAL_OK, PAL_YIELD, or the error status a dead coroutine finished with */
int pal_resetthread(pal_State *co); /* coroutine.close semantics on a suspended/dead thread; status */

/* ---- loading and running code ---- */
/* Compile Luau source. On success pushes a function (environment = the thread's globals) and returns PAL_OK;
   on failure pushes the message "<chunkid>:<line>: <message>" and returns PAL_ERRSYNTAX (or PAL_ERRMEM).
   chunkname follows the usual convention: "@path", "=name", or the source itself. */
int pal_load(pal_State *L, const char *chunkname, const char *src, size_t len);
/* Append a traceback of L (Luau frames only, "source:line function name" lines) to the string on top. */
void pal_traceback(pal_State *L, pal_State *of, const char *msg, int level);
/* Debug info of the function at `level` (0 = running function): source short name, current line, name. */
typedef struct pal_Debug {
  char short_src[128];
  int currentline;   /* -1 for C functions */
  int linedefined;
  const char *name;  /* may be NULL */
  int nparams;
  int isvararg;
  int isC;
} pal_Debug;
int pal_getinfo(pal_State *L, int level, pal_Debug *ar); /* 1 found, 0 no such level */
int pal_getinfofunc(pal_State *L, int idx, pal_Debug *ar); /* for a function value */
int pal_pushfuncatlevel(pal_State *L, int level); /* push the function at that level; 0 if none */

/* ---- garbage collector ---- */
void pal_gc(pal_State *L);            /* full collection; only call from a context where it is safe (see top) */
size_t pal_gccount(pal_State *L);     /* bytes in use */

/* ---- registration helpers ---- */
typedef struct pal_Reg {
  const char *name;
  pal_CFunction func;
} pal_Reg;
/* Create a table (or use the one at the top if libname == NULL), fill it, leave it on the stack, and also store
   it in the globals under libname when libname != NULL. */
void pal_register(pal_State *L, const char *libname, const pal_Reg *l);
/* Open all standard libraries into the main thread's globals, then apply the sandbox (read-only built-ins). */
void pal_openlibs(pal_State *L);
/* Give thread L a fresh writable globals table whose reads fall through to the built-ins (per-script sandbox). */
void pal_sandboxthread(pal_State *L);

/* ---- standard library openers (each registers its table/functions into the globals of L) ---- */
void pal_open_base(pal_State *L);      /* baselib.c: print, assert, error, pcall, ... , _G, _VERSION */
void pal_open_coroutine(pal_State *L); /* corolib.c */
void pal_open_string(pal_State *L);    /* strlib.c: also installs the string metatable */
void pal_open_utf8(pal_State *L);      /* utf8lib.c */
void pal_open_table(pal_State *L);     /* tablib.c */
void pal_open_math(pal_State *L);      /* mathlib.c */
void pal_open_bit32(pal_State *L);     /* bit32lib.c */
void pal_open_os(pal_State *L);        /* oslib.c */
void pal_open_buffer(pal_State *L);    /* buflib.c */
void pal_open_debug(pal_State *L);     /* dblib.c */

/* ---- numbers ---- */
/* Format like Luau's tostring (shortest round-trip). buf must hold PAL_NUMBUF bytes. Returns length. */
#define PAL_NUMBUF 48
int pal_num2str(char *buf, double n);
/* Convert a whole string with Luau's rules (decimal, hex ints and hex floats, inf/nan, surrounding spaces).
   Returns 1 and sets *out on success. */
int pal_str2num(const char *s, size_t len, double *out);

#endif
