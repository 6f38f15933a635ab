/*
 * object.h - value representation and heap object layouts shared by the core (mem, string, table, gc),
 * the VM (vm, call, coroutines) and the compiler (lex, parse, compile). Library code does NOT include this
 * file: it uses pal.h only.
 *
 * Ownership of the implementation:
 *   mem.c string.c table.c func.c gc.c api.c number.c   -> "object layer"
 *   vm.c call.c debug.c baselib.c corolib.c               -> "execution layer"
 *   lex.c parse.c compile.c                               -> "front end"
 */
#ifndef PAL_OBJECT_H
#define PAL_OBJECT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pal.h"

/* Internal-only type tags (beyond the public PAL_T* values). */
#define T_PROTO 12
#define T_UPVAL 13

typedef struct GCObject GCObject;
typedef struct TString TString;
typedef struct Table Table;
typedef struct Proto Proto;
typedef struct UpVal UpVal;
typedef struct Closure Closure;
typedef struct Udata Udata;
typedef struct Buffer Buffer;
typedef struct global_State global_State;
typedef struct CallInfo CallInfo;

/* Every collectable object starts with this header. */
#define GCHEADER  \
  GCObject *gcnext; \
  uint8_t tt;       \
  uint8_t marked

struct GCObject {
  GCHEADER;
};

typedef union Value {
  GCObject *gc;
  void *p;     /* light userdata */
  double n;
  int b;
} Value;

typedef struct TValue {
  Value v;
  int tt; /* PAL_T* tag */
} TValue;

/* ---- TValue access ---- */
#define ttype(o) ((o)->tt)
#define ttisnil(o) ((o)->tt == PAL_TNIL)
#define ttisnumber(o) ((o)->tt == PAL_TNUMBER)
#define ttisstring(o) ((o)->tt == PAL_TSTRING)
#define ttistable(o) ((o)->tt == PAL_TTABLE)
#define ttisfunction(o) ((o)->tt == PAL_TFUNCTION)
#define ttisboolean(o) ((o)->tt == PAL_TBOOLEAN)
#define ttisuserdata(o) ((o)->tt == PAL_TUSERDATA)
#define ttisthread(o) ((o)->tt == PAL_TTHREAD)
#define ttisbuffer(o) ((o)->tt == PAL_TBUFFER)
#define ttislightuserdata(o) ((o)->tt == PAL_TLIGHTUSERDATA)
#define iscollectable(o) ((o)->tt >= PAL_TSTRING && (o)->tt != PAL_TINTEGER)

#define gcvalue(o) ((o)->v.gc)
#define nvalue(o) ((o)->v.n)
#define bvalue(o) ((o)->v.b)
#define pvalue(o) ((o)->v.p)
#define tsvalue(o) ((TString *)(o)->v.gc)
#define hvalue(o) ((Table *)(o)->v.gc)
#define clvalue(o) ((Closure *)(o)->v.gc)
#define uvalue(o) ((Udata *)(o)->v.gc)
#define bufvalue(o) ((Buffer *)(o)->v.gc)
#define thvalue(o) ((pal_State *)(o)->v.gc)

#define l_isfalse(o) (ttisnil(o) || (ttisboolean(o) && bvalue(o) == 0))

/* Setters write the tag (offset 8) before the value (offset 0), and setobj reads and writes in that order: in
   wasm every memory access is bounds-checked, and wazero skips the check of an access that ends below one already
   checked through the same pointer, so the two accesses of a TValue cost one check. */
#define setnilvalue(o) ((o)->tt = PAL_TNIL)
#define setnvalue(o, x) ((o)->tt = PAL_TNUMBER, (o)->v.n = (x))
#define setbvalue(o, x) ((o)->tt = PAL_TBOOLEAN, (o)->v.b = (x) != 0)
#define setpvalue(o, x) ((o)->tt = PAL_TLIGHTUSERDATA, (o)->v.p = (x))
#define setgcvalue(o, x, t) ((o)->tt = (t), (o)->v.gc = (GCObject *)(x))
#define setsvalue(o, x) setgcvalue(o, x, PAL_TSTRING)
#define sethvalue(o, x) setgcvalue(o, x, PAL_TTABLE)
#define setclvalue(o, x) setgcvalue(o, x, PAL_TFUNCTION)
#define setuvalue(o, x) setgcvalue(o, x, PAL_TUSERDATA)
#define setbufvalue(o, x) setgcvalue(o, x, PAL_TBUFFER)
#define setthvalue(o, x) setgcvalue(o, x, PAL_TTHREAD)
static inline void setobj(TValue *dst, const TValue *src) {
  int tt = src->tt;
  Value v = src->v;
  dst->tt = tt;
  dst->v = v;
}

extern const TValue pal_nilobject;

/* ---- strings: all strings are interned, so equal strings are the same object ---- */
struct TString {
  GCHEADER;
  uint8_t reserved; /* lexer: 1 + index of a reserved word, 0 otherwise */
  uint32_t hash;
  uint32_t len;
  TString *hnext; /* chain in the string table */
  char data[1];   /* len bytes + a terminating '\0' */
};
#define getstr(ts) ((ts)->data)

/* ---- tables ---- */
/* A hash-part slot: 32 bytes. The key is a bare Value and its tag rather than a TValue, so that the tag and the
   chain link fill what would be a TValue's padding. */
typedef struct Node {
  TValue val;
  Value key;
  int keytt; /* PAL_T* tag of key */
  int next;  /* offset to the next node in the collision chain, 0 = end (implementation detail of table.c) */
} Node;
#define getnodekey(o, n) ((o)->v = (n)->key, (o)->tt = (n)->keytt) /* TValue *o := the key of n */

struct Table {
  GCHEADER;
  uint8_t readonly;   /* frozen: script writes raise "attempt to modify a readonly table" */
  uint8_t tmcache;    /* bit i set = metamethod i known absent (reset on writes to the metatable) */
  uint8_t weakmode;   /* set by the GC from __mode: 1 = weak keys, 2 = weak values */
  uint8_t inlinesize; /* table.c: bytes (in 8-byte units) allocated with the Table past its header, holding the
                         array and/or hash part it was created with */
  uint8_t watched;    /* a global-lookup cache entry depends on this table (GCache): see global_State.gver */
  int sizearray;      /* array part holds keys 1..sizearray */
  int lenhint;        /* table.c: last border found by tab_len in the array part (a hint, checked before use) */
  uint32_t nodemask;  /* hash part size - 1 (a power of two): a key hashing to h belongs at node[h & nodemask] */
  TValue *array;
  Node *node;
  Node *lastfree;
  Table *metatable;
  GCObject *gclist;
};

/* The shape of a table constructor whose keyed items all have constant string keys ({x = a, y = b}): the hash
   part a table holding those keys gets when they are inserted in order (table.c's layout: main positions,
   colliding keys on free nodes from the top down), with every value nil. compile.c builds one per such
   constructor (tab_shape) and OP_DUPTABLE creates the table by copying it (tab_newshape), so that the
   constructor's stores, and lookups of the keys it leaves nil, find their nodes without hashing or collisions.
   A key with a nil value is absent (table.c's dead keys): a constructor value that is nil leaves its key out.
   Never visible to scripts and never written after tab_shape. */
typedef struct TableShape {
  Node *node;    /* 2^lsize nodes; the keys are strings (traverseproto marks them) */
  int narray;    /* array slots (the constructor's positional items), nil */
  int lastfree;  /* index of the table's lastfree after the inserts */
  uint8_t lsize;
} TableShape;

/* ---- functions ---- */
typedef struct UpvalDesc {
  uint8_t instack; /* 1: captures register idx of the enclosing function; 0: upvalue idx of the enclosing function */
  uint8_t idx;
} UpvalDesc;

/* OP_GETGLOBAL's cached lookup of one name: valid while env is the closure's environment and ver equals
   global_State.gver, and then only when *slot is not nil (the slot is in env, or in the table its metatable's
   __index names). Every table the lookup went through is watched. */
typedef struct GCache {
  Table *env;
  const TValue *slot;
  uint64_t ver;
} GCache;

struct Proto {
  GCHEADER;
  uint8_t numparams;
  uint8_t is_vararg;
  uint8_t maxstacksize; /* registers needed */
  uint8_t nups;
  uint32_t *code;
  int sizecode;
  int *lineinfo; /* one source line per instruction (sizecode entries) */
  TValue *k;     /* constants: nil, boolean, number, string only */
  int sizek;
  GCache *gcache; /* OP_GETGLOBAL's lookups by constant index (sizek entries), NULL if the code has none */
  TableShape *shapes; /* OP_DUPTABLE's table shapes (sizeshapes entries), NULL if none */
  int sizeshapes;
  Proto **p; /* nested prototypes */
  int sizep;
  UpvalDesc *upvals; /* nups entries */
  TString **upvalnames; /* may be NULL (debug only) */
  TString *source;      /* chunk name as given to pal_load ("@file", "=name" or source text) */
  TString *name;        /* function name for tracebacks ("foo", "M.f", "M:m"), NULL if anonymous */
  int linedefined;
  GCObject *gclist;
};

struct UpVal {
  GCHEADER;
  TValue *v; /* points into a thread stack while open, at u.value when closed */
  union {
    TValue value; /* closed value */
    UpVal *next;  /* open: the thread's list of open upvalues, highest stack level first */
  } u;
};

#define CLOSUREHEADER \
  GCHEADER;           \
  uint8_t isC;        \
  uint8_t nupvalues;  \
  Table *env;         \
  GCObject *gclist

typedef struct CClosure {
  CLOSUREHEADER;
  pal_CFunction f;
  const char *name; /* static string, for messages */
  uint8_t builtin;  /* FB_* (vm.h): a builtin OP_CALL may compute inline; 0 for every other C function */
  TValue upvalue[1];
} CClosure;

typedef struct LClosure {
  CLOSUREHEADER;
  Proto *p;
  UpVal *upvals[1];
} LClosure;

struct Closure {
  union {
    CClosure c;
    LClosure l;
  };
};
#define cl_isC(cl) ((cl)->c.isC)

/* ---- userdata and buffers ---- */
struct Udata {
  GCHEADER;
  uint8_t tag;
  Table *metatable;
  size_t len;
  double data[1]; /* aligned payload of len bytes */
};

struct Buffer {
  GCHEADER;
  uint32_t len;
  uint8_t data[1];
};

/* ---- threads and call frames ---- */
/* CallInfo fields are stack OFFSETS (in TValues from L->stack), so growing the stack never invalidates them. */
/* In wasm every memory access is bounds-checked unless one through the same pointer already reached further, so
   hot paths touch a frame's fields from the last to the first (one check per frame instead of one per field). */
struct CallInfo {
  ptrdiff_t func;  /* the called function */
  ptrdiff_t base;  /* first register / first argument */
  ptrdiff_t top;   /* top for this function */
  const uint32_t *savedpc; /* Luau frames: next instruction */
  int nresults;    /* expected results, PAL_MULTRET = all */
  ptrdiff_t extra; /* frame-kind specific (e.g. pcall/xpcall bookkeeping, vararg bookkeeping) */
  /* Luau frames only, owned by vm.c: the running closure and its constants, cached when the VM loop enters or calls
     the frame (stack[func] -> closure -> proto -> k would be three dependent loads on every return). Valid for
     every Luau frame below a running one of the same loop invocation. */
  LClosure *cl;
  const TValue *k;
  int flags; /* CIST_* bits (owned by call.c/vm.c); last: the VM reads it first (ci_hasroom, returns) */
};

#define PAL_MINSTACK 20      /* slots guaranteed to a C function */
#define PAL_MAXSTACK 1000000 /* slots per thread before "stack overflow" */
#define PAL_MAXCALLS 20000   /* nested Luau calls before "stack overflow" */

struct pal_State {
  GCHEADER;
  uint8_t status;     /* PAL_OK, PAL_YIELD, or the error status of a dead coroutine */
  uint8_t costate;    /* owned by call.c (running/suspended/normal/dead bookkeeping) */
  global_State *g;
  TValue *stack;
  TValue *top;        /* first free slot */
  int stacksize;      /* in TValues */
  CallInfo *ci;       /* current frame */
  CallInfo *base_ci;  /* array of frames */
  int size_ci;
  UpVal *openupval;   /* open upvalues, highest stack level first */
  Table *gt;          /* the thread's globals table */
  int nCcalls;        /* nested C-boundary calls */
  int nny;            /* > 0: not yieldable (inside metamethods, C calls into Luau, ...) */
  int errstatus;      /* pending error status, PAL_OK if none */
  TValue errval;      /* pending error value */
  pal_State *resumer; /* thread that resumed this one (while running) */
  GCObject *gclist;
  pal_State *nextthread; /* g->threads */
};

/* Metamethod names; indices also used for Table.tmcache bits (first 8 only). */
typedef enum {
  TM_INDEX, TM_NEWINDEX, TM_MODE, TM_LEN, TM_EQ, TM_CALL, TM_ITER, TM_CONCAT, /* cached (fast absence check) */
  TM_ADD, TM_SUB, TM_MUL, TM_DIV, TM_IDIV, TM_MOD, TM_POW, TM_UNM,
  TM_LT, TM_LE, TM_TOSTRING, TM_METATABLE, TM_TYPE, TM_NAMECALL,
  TM_N
} TMS;

struct global_State {
  /* memory accounting (mem.c) and fuel (vm.c: decremented by the VM and pal_chargefuel; the host hook is called
     when it drops to <= 0). The VM's safe-point test reads fuel first, then the two sizes before it: in wasm one
     bounds check then covers all three (see CallInfo). */
  size_t totalbytes;
  size_t gcthreshold;  /* collect at a safe point when totalbytes >= gcthreshold */
  int64_t fuel;
  size_t budget;       /* 0 = unlimited */
  uint32_t memrefusals; /* allocations mem.c refused (budget or malloc failure) since the state was created */
  /* string table (string.c) */
  TString **strt;
  uint32_t strt_size;
  uint32_t strt_nuse;
  GCObject *strgc; /* every string, newest first (through gcnext): the order the collector sweeps them in */
  /* GC (gc.c) */
  GCObject *allgc;     /* every collectable object except strings (they live in strt) and sealed ones */
  GCObject *sealedgc;  /* tables and C closures sealed by gc_seal (never freed before pal_close; see gc.c) */
  uint8_t currentwhite;
  GCObject *gray;
  GCObject *weak;      /* weak tables found during marking */
  pal_State *threads;  /* every thread but the main one, linked through nextthread (gc.c drops dead ones) */
  int aborting;        /* host asked to abort: every Luau frame unwinds with PAL_ERRABORT */
  /* roots */
  pal_State *mainthread;
  TValue registry;
  Table *builtins;     /* the read-only shared globals */
  Table *mt[PAL_NUMTYPES]; /* metatables for non-table types (string) */
  TString *tmname[TM_N];
  TString *typestr[PAL_NUMTYPES];   /* fixed strings: the results of type() (pal_typename) by tag */
  /* Version of every global lookup cached in a GCache. Bumped by every change to a watched table that could
     change such a lookup or move the slot it points to: table.c writes and resizes, metatable assignments,
     unfreezing, weak-entry clearing and freeing. (The VM's inline stores that bypass table.c either bump it or
     overwrite a non-nil slot of a table that is not read-only, which changes neither which key a slot holds nor
     whether a key is present.) */
  uint64_t gver; /* (64 bits: it never wraps around to an old entry's version) */
  TString *memerrmsg;  /* preallocated "not enough memory" */
  uint32_t seed;
  /* small-block allocator (mem.c): blocks of up to MEM_POOLMAX bytes are carved from 16 KiB chunks; freed
     chunk blocks wait on one LIFO list per 8-byte size class */
  void *pool[32];
  char *chunkbump, *chunkend; /* the uncarved rest of the newest chunk */
  char *chunks;               /* every chunk, linked through its header (mem.c) */
  char *lastchunk;            /* the chunk of the last block pooled by a free, or NULL (mem.c) */
  size_t nloose;              /* live small blocks that do not live in a chunk (malloc'd past the pool cap) */
  uintptr_t *chunkset;        /* chunk addresses by address window (mem.c); NULL until the first chunk */
  size_t chunksetmask;        /* slots - 1 */
  size_t nchunks;
  size_t poolbytes;           /* chunk bytes outside live blocks (pooled or uncarved); not in totalbytes */
  size_t pooldebt;            /* small-block bytes malloc'd past the pool cap since the last pool_reclaim */
};

#define G(L) ((L)->g)

/* ================= object layer ================= */
/* mem.c: every allocation is counted against g->budget. Allocation functions set a pending PAL_ERRMEM error on
   L and return NULL on failure; they never run the GC. */
void *mem_realloc(pal_State *L, void *block, size_t osize, size_t nsize);
#define mem_alloc(L, n) mem_realloc(L, NULL, 0, n)
#define mem_free(L, b, n) mem_freeblock(L, b, n)
#define mem_newvector(L, n, t) ((t *)mem_realloc(L, NULL, 0, (size_t)(n) * sizeof(t)))
#define mem_freevector(L, b, n, t) mem_freeblock(L, b, (size_t)(n) * sizeof(t))
void mem_freeblock(pal_State *L, void *block, size_t osize); /* mem_realloc(L, block, osize, 0) */
GCObject *mem_newobj(pal_State *L, size_t size, int tt); /* allocated, linked in allgc, white */
void mem_releasepool(global_State *g); /* give every pooled block back to the system allocator */

/* string.c */
TString *str_new(pal_State *L, const char *s, size_t len); /* NULL on OOM (error pending) */
TString *str_newz(pal_State *L, const char *s);
/* Building a string in place (saves copying it from a scratch buffer): str_newbuf allocates an uninterned string
   object for len bytes (NULL on OOM, error pending; its data[len] is already '\0'), which the caller fills and
   then hands to str_intern. That returns the interned equal string: buf itself, or an older equal string (buf is
   freed); NULL on OOM (buf freed, error pending). An uninterned buffer is in no list the collector sees, so a
   collection in between neither marks nor frees it; it must not escape before str_intern. */
TString *str_newbuf(pal_State *L, size_t len);
TString *str_intern(pal_State *L, TString *buf);
void str_resize(pal_State *L, uint32_t newsize);

/* table.c (all raw; no read-only checks) */
Table *tab_new(pal_State *L, int narray, int nhash);
/* s := the shape of a table with narray array slots and the given string keys (duplicates allowed); 0 on memory
   failure (error pending). tab_freeshape releases it. */
int tab_shape(pal_State *L, TableShape *s, int narray, TString *const *keys, int nkeys);
void tab_freeshape(pal_State *L, TableShape *s);
Table *tab_newshape(pal_State *L, const TableShape *s); /* a new table of shape s; NULL on memory error */
const TValue *tab_get(Table *t, const TValue *key);   /* &pal_nilobject when absent */
const TValue *tab_getnum(Table *t, double n);
const TValue *tab_getint(Table *t, int64_t n);
const TValue *tab_getstr(Table *t, TString *key);
/* Store; returns 0 ok, else a pending error (nil/NaN key, OOM). */
int tab_set(pal_State *L, Table *t, const TValue *key, const TValue *val);
int tab_setint(pal_State *L, Table *t, int64_t n, const TValue *val);
int tab_setstr(pal_State *L, Table *t, TString *key, const TValue *val);
/* tab_set for a key that a lookup (tab_get*) just found absent: &pal_nilobject, i.e. neither an array slot nor a
   node; spares the second lookup */
int tab_setnew(pal_State *L, Table *t, const TValue *key, const TValue *val);
extern Node tab_dummynode; /* the shared empty hash part (never written) */
#define tab_isdummy(t) ((t)->node == &tab_dummynode)
/* tab_setnew's first case, shared with the VM's inline stores: a new key whose main position mp is free (empty, or
   a dead key's node, which keeps its chain link) is stored right there with its non-nil value; 0 when the key needs
   tab_setnew's general insertion. The caller has done tab_changed and cleared tmcache. */
static inline int tab_putfree(Table *t, Node *mp, const TValue *key, const TValue *val) {
  if (!ttisnil(&mp->val) || tab_isdummy(t)) return 0;
  mp->key = key->v;
  mp->keytt = ttype(key);
  setobj(&mp->val, val);
  return 1;
}
/* Iteration: *key = nil starts; returns 1 and updates key/val, 0 at the end, -1 invalid key (error pending). */
int tab_next(pal_State *L, Table *t, TValue *key, TValue *val);
/* Iteration by position (used by the VM's generalized iteration): index 0 starts; returns the next index (>0)
   and fills key/val, or 0 at the end. */
int tab_nextpos(Table *t, int index, TValue *key, TValue *val);
int64_t tab_lenslow(Table *t); /* a border (#t) */
/* tab_lenslow with its most common case inline: the array part ends with nil and the last border found (lenhint)
   is still a border (always inlined: wasm calls are expensive, and this test is smaller than a call) */
static inline __attribute__((always_inline)) int64_t tab_len(Table *t) {
  int n = t->sizearray, h = t->lenhint;
  if (h > 0 && h < n && ttisnil(&t->array[n - 1]) && ttisnil(&t->array[h]) && !ttisnil(&t->array[h - 1])) return h;
  return tab_lenslow(t);
}
/* The array position of a number key: k (1 <= k <= size) when d is the integer k, else 0. For the VM's table
   accesses. In wasm, integrality is tested by rounding with the 1.5 * 2^52 bias (exact in the range already
   checked; the rounded value's low 32 bits are then k) rather than by converting d to an int and back: that
   conversion traps out of range in wasm, so the compiler guards it with a range test of its own and wazero adds
   its own checks. Natively the conversion is the cheaper one. */
static inline int tab_arrayindex(double d, int size) {
  if (d >= 1.0 && d <= (double)size) {
#ifdef __wasm__
    double r = d + 0x1.8p52;
    if (r - 0x1.8p52 == d) {
      uint64_t bits;
      memcpy(&bits, &r, sizeof bits);
      return (int)(uint32_t)bits;
    }
#else
    int k = (int)d;
    if ((double)k == d) return k;
#endif
  }
  return 0;
}
/* raw t[n] with the array part inline (table.sort reads the elements this way at every comparison and swap) */
static inline const TValue *tab_getint_inl(Table *t, int64_t n) {
  if ((uint64_t)n - 1 < (uint64_t)t->sizearray) return &t->array[n - 1];
  return tab_getint(t, n);
}
int tab_resize(pal_State *L, Table *t, int narray, int nhash);
void tab_clear(Table *t);
void tab_free(pal_State *L, Table *t);
/* fast metamethod lookup: NULL if absent (uses/updates tmcache for the first 8 events) */
const TValue *tab_gettm(pal_State *L, Table *mt, TMS event);
const TValue *obj_gettm(pal_State *L, const TValue *o, TMS event); /* metamethod of any value, NULL if none */
Table *obj_getmetatable(pal_State *L, const TValue *o);

/* func.c */
Proto *proto_new(pal_State *L);
LClosure *closure_newL(pal_State *L, Proto *p, Table *env);  /* upvals left NULL: caller fills them */
/* OP_CLOSURE: a closure of p whose upvalues are the enclosing frame's registers (from base) and the enclosing
   closure's upvalues, as p->upvals describes */
LClosure *closure_instantiate(pal_State *L, Proto *p, const LClosure *encl, TValue *base);
CClosure *closure_newC(pal_State *L, pal_CFunction f, const char *name, int nup, Table *env);
UpVal *upval_find(pal_State *L, TValue *level); /* open upvalue for this stack slot (created if needed) */
void upval_close(pal_State *L, TValue *level);  /* close every open upvalue at or above level */
Udata *udata_new(pal_State *L, size_t size, int tag);
Buffer *buffer_new(pal_State *L, size_t size);
pal_State *thread_new(pal_State *L);

/* api.c: the pending-error primitive (first error wins); errval may be NULL for PAL_ERRMEM (uses memerrmsg) */
void vm_seterror(pal_State *L, int status, const TValue *errval);

/* gc.c */
void gc_checkstep(pal_State *L); /* call at VM safe points: collects when totalbytes >= gcthreshold */
void gc_fullcollect(pal_State *L);
/* Seal everything reachable from t (the read-only built-ins) so that collections neither traverse nor sweep it.
   Only tables, C closures without upvalues and strings can be sealed; otherwise nothing is. */
void gc_seal(pal_State *L, Table *t);
/* GCObject.marked bit of a sealed object whose contents have not changed since gc_seal. Every change to a sealed
   table's entries or metatable, to its read-only flag, or to a sealed C closure's environment must clear it first
   (gc_unseal): the collector then traverses that object again at every collection. */
#define SEALBIT 0x10
#define gc_unseal(o) ((o)->marked &= (uint8_t)~SEALBIT)

/* t's entries, metatable or read-only flag are about to change. A watched table (a cached global lookup went
   through it, or it is sealed: gc_seal watches every sealed table) then invalidates every cached lookup
   (global_State.gver) and loses its seal. Every writer calls this: table.c's write entry points and tab_free, the
   VM's inline stores, setmetatable, pal_setreadonly, weak-table clearing. */
static inline void tab_changed(global_State *g, Table *t) {
  if (t->watched) {
    g->gver++;
    gc_unseal(t);
  }
}

/* number.c (implements pal_num2str / pal_str2num) */

/* ================= execution layer ================= */
/* call.c / vm.c */
int stack_init(pal_State *L, pal_State *th); /* allocate th's stack and CallInfo array (called by thread_new and
                                                pal_newstate); 0 on failure */
void stack_free(pal_State *L, pal_State *th); /* free them (called by the GC when a thread dies) */
int stack_grow(pal_State *L, int n); /* ensure n free slots above top; 0 on failure (error pending) */
/* Call the value at func with the values above it; results start at func. Runs a nested VM loop: the callee
   cannot yield (nny is raised). Returns a status; on error the error is pending. */
int vm_call(pal_State *L, TValue *func, int nresults);
int vm_runerror(pal_State *L, const char *fmt, ...);            /* with position prefix; returns PAL_ERRSIG */
/* Metamethod-aware operations used by the VM and the API; return a status. */
int vm_gettable(pal_State *L, const TValue *t, const TValue *key, TValue *res);
int vm_settable(pal_State *L, const TValue *t, const TValue *key, const TValue *val);
int vm_equalobj(pal_State *L, const TValue *a, const TValue *b, int *res);
int vm_lessthan(pal_State *L, const TValue *a, const TValue *b, int *res);
int vm_lessequal(pal_State *L, const TValue *a, const TValue *b, int *res);
int vm_arith(pal_State *L, TValue *ra, const TValue *rb, const TValue *rc, TMS op);
int vm_concat(pal_State *L, int total, int last); /* concatenates `total` values ending at base+last */
int vm_tostring(pal_State *L, const TValue *o, TValue *res); /* tostring with __tostring */
int vm_fuel(pal_State *L); /* out of fuel: ask the host; 0 = refilled, nonzero = abort pending */

/* host.h declares the imports the host provides (wasm imports / native shims). */

/* ================= front end ================= */
/* compile.c: compile source to a Proto (the main chunk, vararg). Returns NULL on failure with the message
   "<chunkid>:<line>: <msg>" pushed on L's stack (or a pending memory error). No GC runs during compilation. */
Proto *pal_compile(pal_State *L, const char *src, size_t len, const char *chunkname);
/* chunkid: "@path" -> path (end kept), "=name" -> name, other -> [string "first line..."] */
void pal_chunkid(char *out, size_t outsz, const char *chunkname, size_t namelen);

#endif
