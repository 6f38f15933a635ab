/*
 * compile.c - code generator: walks the AST of parse.c and emits the bytecode of opcodes.h.
 *
 * Registers: locals occupy R[0..nactreg-1] in declaration order; temporaries are allocated above, stack-like
 * (freereg). Jump lists are chained through the sJ field of the pending OP_JMP instructions.
 * Per-function working buffers are allocated with mem_realloc and released as soon as the function's Proto is
 * built (on every path); the final Proto arrays are exact-size copies.
 */
#include <math.h>
#include <stdio.h>

#include "front.h"

#define NO_JUMP (-1)
#define MAXK_ARG 255 /* constants addressable from B/C operands */

typedef struct KConst {
  uint8_t kind; /* PAL_TNIL, PAL_TBOOLEAN, PAL_TNUMBER, PAL_TSTRING */
  int b;
  double n;
  FStr *s;
} KConst;

/* a table constructor's shape (TableShape) to build with the Proto: nkeys constant indices in FuncState.shapekeys
   from first on */
typedef struct ShapeDesc {
  int narray, first, nkeys;
} ShapeDesc;

typedef struct LoopCtx {
  struct LoopCtx *prev;
  LoopNode *node;
  int breaklist;
  int contlist;
  int closereg;
} LoopCtx;

typedef struct FuncState {
  struct FuncState *prev;
  Front *F;
  FuncNode *fn;
  uint32_t *code;
  int *lines;
  int ncode, capcode, caplines;
  KConst *k;
  int nk, capk;
  int *khash; /* open addressing: index+1, 0 = empty */
  int khashsize;
  Proto **p;
  int np, capp;
  ShapeDesc *shapes;
  int nshapes, capshapes;
  int *shapekeys;
  int nshapekeys, capshapekeys;
  Var **upvars;
  UpvalDesc *updesc;
  int nups, capups, capupdesc;
  int freereg, maxreg, nactreg, nlocals;
  LoopCtx *loop;
  int line;
} FuncState;

static void exp_to(FuncState *fs, Expr *e, int target);
static int exp_any(FuncState *fs, Expr *e);
static void cond_jump(FuncState *fs, Expr *e, int jumpif, int *list);
static Proto *compile_function(Front *F, FuncState *parent, FuncNode *fn);

#define ERRSET(fs) ((fs)->F->err)

/* keep the frames of the (recursive) statement dispatcher small: big handlers get their own frames */
#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* ---------------- buffers ---------------- */

/* grow a working vector (mem_realloc'd; freed by free_buffers) */
static void *grow(Front *F, void *old, int *cap, size_t elem) {
  int ncap = *cap ? *cap * 2 : 16;
  void *nb;
  if (F->err) return NULL;
  if (ncap > (1 << 26)) {
    front_memerror(F);
    return NULL;
  }
  nb = mem_realloc(F->L, old, (size_t)*cap * elem, (size_t)ncap * elem);
  if (!nb) {
    front_memerror(F);
    return NULL;
  }
  *cap = ncap;
  return nb;
}

static void free_buffers(FuncState *fs) {
  pal_State *L = fs->F->L;
  if (fs->code) mem_realloc(L, fs->code, (size_t)fs->capcode * sizeof(uint32_t), 0);
  if (fs->lines) mem_realloc(L, fs->lines, (size_t)fs->caplines * sizeof(int), 0);
  if (fs->k) mem_realloc(L, fs->k, (size_t)fs->capk * sizeof(KConst), 0);
  if (fs->khash) mem_realloc(L, fs->khash, (size_t)fs->khashsize * sizeof(int), 0);
  if (fs->p) mem_realloc(L, fs->p, (size_t)fs->capp * sizeof(Proto *), 0);
  if (fs->shapes) mem_realloc(L, fs->shapes, (size_t)fs->capshapes * sizeof(ShapeDesc), 0);
  if (fs->shapekeys) mem_realloc(L, fs->shapekeys, (size_t)fs->capshapekeys * sizeof(int), 0);
  if (fs->upvars) mem_realloc(L, fs->upvars, (size_t)fs->capups * sizeof(Var *), 0);
  if (fs->updesc) mem_realloc(L, fs->updesc, (size_t)fs->capupdesc * sizeof(UpvalDesc), 0);
  fs->code = NULL;
  fs->lines = NULL;
  fs->k = NULL;
  fs->khash = NULL;
  fs->p = NULL;
  fs->shapes = NULL;
  fs->shapekeys = NULL;
  fs->upvars = NULL;
  fs->updesc = NULL;
}

static int emit(FuncState *fs, uint32_t ins) {
  if (fs->ncode >= fs->capcode || fs->ncode >= fs->caplines) {
    uint32_t *nc;
    int *nl;
    if (fs->ncode >= fs->capcode) {
      nc = (uint32_t *)grow(fs->F, fs->code, &fs->capcode, sizeof(uint32_t));
      if (!nc) return fs->ncode ? fs->ncode - 1 : 0;
      fs->code = nc;
    }
    if (fs->ncode >= fs->caplines) {
      nl = (int *)grow(fs->F, fs->lines, &fs->caplines, sizeof(int));
      if (!nl) return fs->ncode ? fs->ncode - 1 : 0;
      fs->lines = nl;
    }
  }
  fs->code[fs->ncode] = ins;
  fs->lines[fs->ncode] = fs->line;
  return fs->ncode++;
}

#define emitABC(fs, o, a, b, c) emit(fs, MK_ABC(o, a, b, c))
#define emitABx(fs, o, a, bx) emit(fs, MK_ABx(o, a, bx))
#define emitAsBx(fs, o, a, sbx) emit(fs, MK_AsBx(o, a, sbx))

/* ---------------- jumps ---------------- */

/* pending jumps: sJ field holds link+1 (0 = end of list) */
static int jmp_link(FuncState *fs, int pc) {
  int raw = (int)((fs->code[pc] >> 8) & 0xFFFFFF);
  return raw - 1;
}

static void jmp_setlink(FuncState *fs, int pc, int link) {
  fs->code[pc] = (uint32_t)OP_JMP | ((uint32_t)(link + 1) << 8);
}

static int emit_jump(FuncState *fs) {
  int pc = emit(fs, (uint32_t)OP_JMP);
  return pc;
}

static void list_add(FuncState *fs, int *list, int pc) {
  if (ERRSET(fs)) return;
  jmp_setlink(fs, pc, *list);
  *list = pc;
}

static void set_jump(FuncState *fs, int pc, int target) {
  int off = target - (pc + 1);
  if (off > MAXARG_sJ || off < -MAXARG_sJ) {
    front_error(fs->F, fs->lines[pc], "Exceeded allowed jump distance; simplify the code to compile");
    return;
  }
  fs->code[pc] = MK_sJ(OP_JMP, off);
}

static void patch_list(FuncState *fs, int list, int target) {
  while (list != NO_JUMP && !ERRSET(fs)) {
    int nx = jmp_link(fs, list);
    set_jump(fs, list, target);
    list = nx;
  }
}

static void patch_here(FuncState *fs, int list) { patch_list(fs, list, fs->ncode); }

static void emit_jump_to(FuncState *fs, int target) {
  int pc = emit_jump(fs);
  if (!ERRSET(fs)) set_jump(fs, pc, target);
}

/* sBx jumps of the for-loop instructions */
static void set_sbx(FuncState *fs, int pc, int target) {
  int off = target - (pc + 1);
  if (ERRSET(fs)) return;
  if (off > MAXARG_sBx || off < -MAXARG_sBx) {
    front_error(fs->F, fs->lines[pc], "Exceeded allowed jump distance; simplify the loop body to compile");
    return;
  }
  fs->code[pc] = MK_AsBx(GET_OP(fs->code[pc]), GET_A(fs->code[pc]), off);
}

/* Insert n instruction slots at pc `at` (used when a loop body turns out too long for the 16-bit offsets of the
   for-loop instructions). Jumps inside the moved code are relative and stay valid; the only pending jumps that
   can lie in it are the loop's own breaks, whose list is relinked here. */
static void insert_slots(FuncState *fs, int at, int n, int *breaklist) {
  int i, pc;
  for (i = 0; i < n; i++) emit(fs, (uint32_t)OP_NOP);
  if (ERRSET(fs)) return;
  memmove(fs->code + at + n, fs->code + at, (size_t)(fs->ncode - n - at) * sizeof(uint32_t));
  memmove(fs->lines + at + n, fs->lines + at, (size_t)(fs->ncode - n - at) * sizeof(int));
  for (i = 0; i < n; i++) {
    fs->code[at + i] = (uint32_t)OP_NOP;
    fs->lines[at + i] = fs->line;
  }
  pc = *breaklist;
  if (pc != NO_JUMP) *breaklist = pc + n;
  while (pc != NO_JUMP) {
    int nx = jmp_link(fs, pc + n);
    jmp_setlink(fs, pc + n, nx == NO_JUMP ? NO_JUMP : nx + n);
    pc = nx;
  }
}

/* ---------------- registers ---------------- */

static int reg_reserve(FuncState *fs, int n) {
  int r = fs->freereg;
  if (r + n > OP_MAXREG) {
    front_error(fs->F, fs->line, "Out of registers when trying to allocate %d registers: exceeded limit %d", n,
                OP_MAXREG);
    return OP_MAXREG - 1 >= r ? r : OP_MAXREG - 1;
  }
  fs->freereg += n;
  if (fs->freereg > fs->maxreg) fs->maxreg = fs->freereg;
  return r;
}

static void activate_var(FuncState *fs, Var *v, int reg) {
  v->reg = reg;
  if (reg + 1 > fs->nactreg) fs->nactreg = reg + 1;
  if (fs->nactreg > fs->freereg) fs->freereg = fs->nactreg;
  if (fs->freereg > fs->maxreg) fs->maxreg = fs->freereg;
  if (++fs->nlocals > FRONT_MAXLOCALS)
    front_error(fs->F, v->line, "Out of local registers when trying to allocate %s: exceeded limit %d", v->name->s,
                FRONT_MAXLOCALS);
}

/* ---------------- constants ---------------- */

static uint32_t khash_of(const KConst *c) {
  uint64_t bits = 0;
  switch (c->kind) {
    case PAL_TNUMBER: memcpy(&bits, &c->n, sizeof bits); break;
    case PAL_TSTRING: bits = (uint64_t)(uintptr_t)c->s; break;
    case PAL_TBOOLEAN: bits = (uint64_t)c->b; break;
    default: break;
  }
  bits ^= bits >> 29;
  bits *= 0x9E3779B97F4A7C15ull;
  return (uint32_t)(bits >> 32) ^ c->kind;
}

static int kequal(const KConst *a, const KConst *b) {
  if (a->kind != b->kind) return 0;
  switch (a->kind) {
    case PAL_TNUMBER: return memcmp(&a->n, &b->n, sizeof(double)) == 0;
    case PAL_TSTRING: return a->s == b->s;
    case PAL_TBOOLEAN: return a->b == b->b;
    default: return 1;
  }
}

static int khash_rebuild(FuncState *fs) {
  int size = fs->khashsize ? fs->khashsize * 2 : 32;
  int *h = (int *)mem_realloc(fs->F->L, NULL, 0, (size_t)size * sizeof(int));
  int i;
  if (!h) {
    front_memerror(fs->F);
    return 0;
  }
  memset(h, 0, (size_t)size * sizeof(int));
  for (i = 0; i < fs->nk; i++) {
    uint32_t j = khash_of(&fs->k[i]) & (uint32_t)(size - 1);
    while (h[j]) j = (j + 1) & (uint32_t)(size - 1);
    h[j] = i + 1;
  }
  if (fs->khash) mem_realloc(fs->F->L, fs->khash, (size_t)fs->khashsize * sizeof(int), 0);
  fs->khash = h;
  fs->khashsize = size;
  return 1;
}

static int add_k(FuncState *fs, const KConst *c) {
  uint32_t j;
  if (ERRSET(fs)) return 0;
  if (!fs->khash || fs->nk * 2 >= fs->khashsize) {
    if (!khash_rebuild(fs)) return 0;
  }
  j = khash_of(c) & (uint32_t)(fs->khashsize - 1);
  while (fs->khash[j]) {
    int idx = fs->khash[j] - 1;
    if (kequal(&fs->k[idx], c)) return idx;
    j = (j + 1) & (uint32_t)(fs->khashsize - 1);
  }
  if (fs->nk >= MAXARG_Bx + 1) {
    front_error(fs->F, fs->line, "Exceeded constant limit; simplify the code to compile");
    return 0;
  }
  if (fs->nk >= fs->capk) {
    KConst *nk = (KConst *)grow(fs->F, fs->k, &fs->capk, sizeof(KConst));
    if (!nk) return 0;
    fs->k = nk;
  }
  fs->k[fs->nk] = *c;
  fs->khash[j] = fs->nk + 1;
  return fs->nk++;
}

static int k_num(FuncState *fs, double n) {
  KConst c;
  memset(&c, 0, sizeof c);
  c.kind = PAL_TNUMBER;
  c.n = n;
  return add_k(fs, &c);
}

static int k_str(FuncState *fs, FStr *s) {
  KConst c;
  memset(&c, 0, sizeof c);
  c.kind = PAL_TSTRING;
  c.s = s;
  return add_k(fs, &c);
}

static int k_nil(FuncState *fs) {
  KConst c;
  memset(&c, 0, sizeof c);
  c.kind = PAL_TNIL;
  return add_k(fs, &c);
}

static int k_bool(FuncState *fs, int b) {
  KConst c;
  memset(&c, 0, sizeof c);
  c.kind = PAL_TBOOLEAN;
  c.b = b != 0;
  return add_k(fs, &c);
}

/* constant index of a literal expression, -1 if e is not a nil/boolean/number/string literal */
static int k_of(FuncState *fs, Expr *e) {
  switch (e->k) {
    case E_NIL: return k_nil(fs);
    case E_TRUE: return k_bool(fs, 1);
    case E_FALSE: return k_bool(fs, 0);
    case E_NUMBER: return k_num(fs, e->v.n);
    case E_STRING: return k_str(fs, e->v.s);
    default: return -1;
  }
}

static int is_literal(Expr *e) {
  return e->k == E_NIL || e->k == E_TRUE || e->k == E_FALSE || e->k == E_NUMBER || e->k == E_STRING;
}

/* integer key 1..256 for GETINDEX/SETINDEX, else 0 */
static int small_index(Expr *e) {
  if (e->k == E_NUMBER && e->v.n >= 1 && e->v.n <= 256 && e->v.n == floor(e->v.n)) return (int)e->v.n;
  return 0;
}

/* ---------------- upvalues ---------------- */

static int find_upval(FuncState *fs, Var *v) {
  int i, idx, instack;
  for (i = 0; i < fs->nups; i++)
    if (fs->upvars[i] == v) return i;
  if (v->func == fs->prev->fn) {
    instack = 1;
    idx = v->reg;
  } else {
    instack = 0;
    idx = find_upval(fs->prev, v);
  }
  if (fs->nups >= FRONT_MAXUPVALS) {
    front_error(fs->F, fs->line, "Out of upvalue registers when trying to allocate %s: exceeded limit %d", v->name->s,
                FRONT_MAXUPVALS);
    return 0;
  }
  if (fs->nups >= fs->capups) {
    Var **nv = (Var **)grow(fs->F, fs->upvars, &fs->capups, sizeof(Var *));
    if (!nv) return 0;
    fs->upvars = nv;
  }
  if (fs->nups >= fs->capupdesc) {
    UpvalDesc *nd = (UpvalDesc *)grow(fs->F, fs->updesc, &fs->capupdesc, sizeof(UpvalDesc));
    if (!nd) return 0;
    fs->updesc = nd;
  }
  fs->upvars[fs->nups] = v;
  fs->updesc[fs->nups].instack = (uint8_t)instack;
  fs->updesc[fs->nups].idx = (uint8_t)idx;
  return fs->nups++;
}

static int is_localreg(FuncState *fs, Expr *e) { return e->k == E_LOCAL && e->v.var->func == fs->fn; }

/* ---------------- expressions ---------------- */

static void load_number(FuncState *fs, int target, double n) {
  if (n == floor(n) && n >= -MAXARG_sBx && n <= MAXARG_Bx - MAXARG_sBx && !(n == 0 && signbit(n)))
    emitAsBx(fs, OP_LOADN, target, (int)n);
  else
    emitABx(fs, OP_LOADK, target, k_num(fs, n));
}

/* call or vararg producing nres values (-1 = all) at base; base must be fs->freereg */
static void compile_call(FuncState *fs, Expr *e, int base, int nres);

static void exp_multi(FuncState *fs, Expr *e, int base, int nres) {
  if (e->k == E_CALL) {
    compile_call(fs, e, base, nres);
  } else {
    int saved = fs->line;
    fs->line = e->line;
    /* multret still reserves its first register, so A < maxstacksize */
    reg_reserve(fs, nres > 0 ? nres : 1);
    emitABC(fs, OP_VARARG, base, nres + 1, 0);
    fs->line = saved;
  }
  fs->freereg = base + (nres > 0 ? nres : 0);
}

static void compile_call(FuncState *fs, Expr *e, int base, int nres) {
  int saved = fs->line;
  int nargs = 0, multret = 0;
  Expr *a;
  fs->freereg = base;
  if (e->v.s) {
    /* method call */
    int k, o;
    reg_reserve(fs, 2);
    if (is_localreg(fs, e->a)) {
      o = e->a->v.var->reg; /* SELF reads the object straight from the local */
    } else {
      o = base + 1;
      exp_to(fs, e->a, o);
    }
    fs->line = e->line;
    k = k_str(fs, e->v.s);
    if (k <= MAXK_ARG) {
      emitABC(fs, OP_SELF, base, o, k);
    } else {
      if (o != base + 1) emitABC(fs, OP_MOVE, base + 1, o, 0);
      emitABx(fs, OP_LOADK, base, k);
      emitABC(fs, OP_GETTABLE, base, base + 1, base);
    }
    nargs = 1;
  } else {
    reg_reserve(fs, 1);
    exp_to(fs, e->a, base);
  }
  for (a = e->args; a; a = a->next) {
    if (!a->next && (a->k == E_CALL || a->k == E_VARARG)) {
      exp_multi(fs, a, fs->freereg, -1);
      multret = 1;
    } else {
      int r = reg_reserve(fs, 1);
      exp_to(fs, a, r);
    }
    nargs++;
  }
  fs->line = e->line;
  emitABC(fs, OP_CALL, base, multret ? 0 : nargs + 1, nres + 1);
  if (nres > 0) {
    fs->freereg = base;
    reg_reserve(fs, nres);
  }
  fs->freereg = base + (nres > 0 ? nres : 0);
  fs->line = saved;
}

/* value of a comparison / boolean-producing condition */
static void bool_value(FuncState *fs, Expr *e, int target) {
  int jl = NO_JUMP;
  cond_jump(fs, e, 1, &jl);
  emitABC(fs, OP_LOADB, target, 0, 1);
  patch_here(fs, jl);
  emitABC(fs, OP_LOADB, target, 1, 0);
}

/* index of a new shape for a constructor with narray positional items and keyed items that all have constant
   string keys, -1 if the function has too many shapes for OP_DUPTABLE */
static int add_shape(FuncState *fs, Expr *e, int narray, int nkeys) {
  ShapeDesc *d;
  if (fs->nshapes > MAXARG_Bx) return -1;
  if (fs->nshapes >= fs->capshapes) {
    ShapeDesc *nd = (ShapeDesc *)grow(fs->F, fs->shapes, &fs->capshapes, sizeof(ShapeDesc));
    if (!nd) return -1;
    fs->shapes = nd;
  }
  d = &fs->shapes[fs->nshapes];
  d->narray = narray;
  d->first = fs->nshapekeys;
  d->nkeys = nkeys;
  for (TItem *it = e->v.items; it; it = it->next) {
    if (!it->key) continue;
    if (fs->nshapekeys >= fs->capshapekeys) {
      int *nk = (int *)grow(fs->F, fs->shapekeys, &fs->capshapekeys, sizeof(int));
      if (!nk) return -1;
      fs->shapekeys = nk;
    }
    fs->shapekeys[fs->nshapekeys++] = k_str(fs, it->key->v.s);
  }
  return fs->nshapes++;
}

static NOINLINE void table_cons(FuncState *fs, Expr *e, int t) {
  TItem *it;
  int narr = 0, nhash = 0, nstrkeys = 0, pending = 0, stored = 0;
  int shape = -1;
  for (it = e->v.items; it; it = it->next) {
    if (it->key) {
      nhash++;
      if (it->key->k == E_STRING) nstrkeys++;
    } else {
      narr++;
    }
  }
  if (narr > 255) narr = 255;
  /* every key a constant string: the table is created with its keys in place (OP_DUPTABLE) */
  if (nhash > 0 && nstrkeys == nhash) shape = add_shape(fs, e, narr, nhash);
  if (shape >= 0)
    emitABx(fs, OP_DUPTABLE, t, shape);
  else
    emitABC(fs, OP_NEWTABLE, t, narr, nhash > 255 ? 255 : nhash);
  for (it = e->v.items; it; it = it->next) {
    if (ERRSET(fs)) return;
    if (it->key) {
      int saved = fs->freereg;
      Expr *key = it->key;
      int idx;
      fs->line = key->line;
      if (key->k == E_STRING && (idx = k_str(fs, key->v.s)) <= MAXK_ARG) {
        int v = exp_any(fs, it->val);
        emitABC(fs, OP_SETFIELD, v, t, idx);
      } else if ((idx = small_index(key)) != 0) {
        int v = exp_any(fs, it->val);
        emitABC(fs, OP_SETINDEX, v, t, idx - 1);
      } else {
        int kr = exp_any(fs, key);
        int v = exp_any(fs, it->val);
        emitABC(fs, OP_SETTABLE, v, t, kr);
      }
      fs->freereg = saved;
    } else {
      int last = it->next == NULL;
      if (last && (it->val->k == E_CALL || it->val->k == E_VARARG)) {
        exp_multi(fs, it->val, fs->freereg, -1);
        emitABC(fs, OP_SETLIST, t, 0, 0);
        emit(fs, (uint32_t)(stored + 1));
        stored += pending;
        pending = 0;
        fs->freereg = t + 1;
        continue;
      } else {
        int r = reg_reserve(fs, 1);
        exp_to(fs, it->val, r);
        pending++;
      }
      if (pending == 50) {
        emitABC(fs, OP_SETLIST, t, pending + 1, 0);
        emit(fs, (uint32_t)(stored + 1));
        stored += pending;
        pending = 0;
        fs->freereg = t + 1;
      }
    }
  }
  if (pending) {
    emitABC(fs, OP_SETLIST, t, pending + 1, 0);
    emit(fs, (uint32_t)(stored + 1));
    fs->freereg = t + 1;
  }
}

/* string interpolation: ("fmt"):format(holes...) */
static NOINLINE void interp(FuncState *fs, Expr *e, int base) {
  Front *F = fs->F;
  StrPart *sp;
  size_t total = 0;
  char *buf, *q;
  FStr *fmt;
  Expr *h;
  int k, nargs = 0;
  for (sp = e->v.parts; sp; sp = sp->next) {
    uint32_t i;
    total += 2; /* "%*" */
    for (i = 0; i < sp->s->len; i++) total += sp->s->s[i] == '%' ? 2 : 1;
  }
  buf = (char *)front_alloc(F, total + 1);
  if (!buf) return;
  q = buf;
  for (sp = e->v.parts; sp; sp = sp->next) {
    uint32_t i;
    for (i = 0; i < sp->s->len; i++) {
      if (sp->s->s[i] == '%') *q++ = '%';
      *q++ = sp->s->s[i];
    }
    if (sp->next) {
      *q++ = '%';
      *q++ = '*';
    }
  }
  fmt = front_intern(F, buf, (size_t)(q - buf));
  if (!fmt) return;
  fs->freereg = base;
  reg_reserve(fs, 2);
  emitABx(fs, OP_LOADK, base + 1, k_str(fs, fmt));
  k = k_str(fs, F->n_format);
  if (k <= MAXK_ARG) {
    emitABC(fs, OP_SELF, base, base + 1, k);
  } else {
    emitABx(fs, OP_LOADK, base, k);
    emitABC(fs, OP_GETTABLE, base, base + 1, base);
  }
  for (h = e->args; h; h = h->next) {
    int r = reg_reserve(fs, 1);
    exp_to(fs, h, r);
    nargs++;
  }
  fs->line = e->line;
  emitABC(fs, OP_CALL, base, nargs + 2, 2);
  fs->freereg = base + 1;
}

/* operand register: a local's own register, else the target itself when it is a scratch register (so chains
   like a.b.c.d or x + y + z do not use one register per level), else a fresh temporary */
static int exp_operand(FuncState *fs, Expr *e, int target) {
  while (e->k == E_PAREN && is_localreg(fs, e->a)) e = e->a;
  if (is_localreg(fs, e)) return e->v.var->reg;
  if (target >= fs->nactreg && target < fs->freereg) {
    exp_to(fs, e, target);
    return target;
  }
  return exp_any(fs, e);
}

static int is_cond(Expr *e) {
  return (e->k == E_BINOP && e->op >= OPR_EQ && e->op <= OPR_GE);
}

static void arith(FuncState *fs, Expr *e, int target) {
  int op = e->op;
  int l = exp_operand(fs, e->a, target);
  int k;
  if (e->b->k == E_NUMBER && (k = k_num(fs, e->b->v.n)) <= MAXK_ARG) {
    fs->line = e->line;
    emitABC(fs, OP_ADDK + op, target, l, k);
  } else {
    int r = exp_any(fs, e->b);
    fs->line = e->line;
    emitABC(fs, OP_ADD + op, target, l, r);
  }
}

static void concat(FuncState *fs, Expr *e, int target) {
  int n = 0, base, i;
  Expr *x;
  for (x = e; x->k == E_BINOP && x->op == OPR_CONCAT; x = x->b) n++;
  n++;
  base = reg_reserve(fs, n);
  i = 0;
  for (x = e; x->k == E_BINOP && x->op == OPR_CONCAT; x = x->b) {
    exp_to(fs, x->a, base + i);
    i++;
  }
  exp_to(fs, x, base + i);
  fs->line = e->line;
  emitABC(fs, OP_CONCAT, target, base, base + n - 1);
}

static void closure(FuncState *fs, FuncNode *fn, int target, int line) {
  Proto *p = compile_function(fs->F, fs, fn);
  if (!p) return;
  if (fs->np >= MAXARG_Bx + 1) {
    front_error(fs->F, line, "Exceeded function limit; simplify the code to compile");
    return;
  }
  if (fs->np >= fs->capp) {
    Proto **np = (Proto **)grow(fs->F, fs->p, &fs->capp, sizeof(Proto *));
    if (!np) return;
    fs->p = np;
  }
  fs->p[fs->np] = p;
  fs->line = line;
  emitABx(fs, OP_CLOSURE, target, fs->np);
  fs->np++;
}

static void exp_to(FuncState *fs, Expr *e, int target) {
  int saved = fs->line;
  int fr = fs->freereg;
  if (ERRSET(fs)) return;
  fs->line = e->line;
  /* expressions that write their target before reading all their inputs must not target a live local */
  if (target < fs->nactreg && (e->k == E_AND || e->k == E_OR || e->k == E_TABLE || e->k == E_IFEXPR)) {
    int t = reg_reserve(fs, 1);
    exp_to(fs, e, t);
    emitABC(fs, OP_MOVE, target, t, 0);
    fs->freereg = fr;
    fs->line = saved;
    return;
  }
  switch (e->k) {
    case E_NIL: emitABC(fs, OP_LOADNIL, target, 0, 0); break;
    case E_TRUE: emitABC(fs, OP_LOADB, target, 1, 0); break;
    case E_FALSE: emitABC(fs, OP_LOADB, target, 0, 0); break;
    case E_NUMBER: load_number(fs, target, e->v.n); break;
    case E_STRING: emitABx(fs, OP_LOADK, target, k_str(fs, e->v.s)); break;
    case E_VARARG: emitABC(fs, OP_VARARG, target, 2, 0); break;
    case E_LOCAL: {
      Var *v = e->v.var;
      if (v->func == fs->fn) {
        if (v->reg != target) emitABC(fs, OP_MOVE, target, v->reg, 0);
      } else {
        emitABC(fs, OP_GETUPVAL, target, find_upval(fs, v), 0);
      }
      break;
    }
    case E_GLOBAL: emitABx(fs, OP_GETGLOBAL, target, k_str(fs, e->v.s)); break;
    case E_INDEX: {
      int o = exp_operand(fs, e->a, target);
      Expr *key = e->b;
      int idx;
      if (key->k == E_STRING && (idx = k_str(fs, key->v.s)) <= MAXK_ARG) {
        fs->line = e->line;
        emitABC(fs, OP_GETFIELD, target, o, idx);
      } else if ((idx = small_index(key)) != 0) {
        fs->line = e->line;
        emitABC(fs, OP_GETINDEX, target, o, idx - 1);
      } else {
        int kr = exp_any(fs, key);
        fs->line = e->line;
        emitABC(fs, OP_GETTABLE, target, o, kr);
      }
      break;
    }
    case E_CALL:
      if (target == fs->freereg - 1 && target >= fs->nactreg) {
        compile_call(fs, e, target, 1);
      } else {
        int b = fs->freereg;
        compile_call(fs, e, b, 1);
        emitABC(fs, OP_MOVE, target, b, 0);
      }
      break;
    case E_INTERP:
      if (target == fs->freereg - 1 && target >= fs->nactreg) {
        interp(fs, e, target);
      } else {
        int b = fs->freereg;
        interp(fs, e, b);
        emitABC(fs, OP_MOVE, target, b, 0);
      }
      break;
    case E_FUNCTION:
      closure(fs, e->v.fn, target, e->line);
      break;
    case E_TABLE:
      if (target == fs->freereg - 1) {
        table_cons(fs, e, target);
      } else {
        int t = reg_reserve(fs, 1);
        table_cons(fs, e, t);
        emitABC(fs, OP_MOVE, target, t, 0);
      }
      break;
    case E_BINOP:
      if (e->op <= OPR_POW)
        arith(fs, e, target);
      else if (e->op == OPR_CONCAT)
        concat(fs, e, target);
      else
        bool_value(fs, e, target);
      break;
    case E_UNOP: {
      int r = exp_operand(fs, e->a, target);
      fs->line = e->line;
      emitABC(fs, e->op == OPR_NEG ? OP_UNM : e->op == OPR_NOT ? OP_NOT : OP_LEN, target, r, 0);
      break;
    }
    case E_AND:
    case E_OR: {
      int jl = NO_JUMP;
      int jumpif = e->k == E_OR; /* 'or' keeps a truthy left value, 'and' a falsy one */
      if (is_localreg(fs, e->a) && e->a->v.var->reg != target) {
        emitABC(fs, OP_TESTSET, target, e->a->v.var->reg, jumpif);
      } else {
        exp_to(fs, e->a, target);
        emitABC(fs, OP_TEST, target, 0, jumpif);
      }
      list_add(fs, &jl, emit_jump(fs));
      fs->freereg = fr;
      exp_to(fs, e->b, target);
      patch_here(fs, jl);
      break;
    }
    case E_IFEXPR: {
      IfClause *c;
      int endl = NO_JUMP;
      for (c = e->v.clauses; c; c = c->next) {
        int jf = NO_JUMP;
        cond_jump(fs, c->cond, 0, &jf);
        fs->freereg = fr;
        exp_to(fs, c->val, target);
        fs->freereg = fr;
        list_add(fs, &endl, emit_jump(fs));
        patch_here(fs, jf);
      }
      exp_to(fs, e->b, target);
      patch_here(fs, endl);
      break;
    }
    case E_PAREN:
      exp_to(fs, e->a, target);
      break;
    default:
      break;
  }
  fs->freereg = fr;
  fs->line = saved;
}

static int exp_any(FuncState *fs, Expr *e) {
  int r;
  while (e->k == E_PAREN && is_localreg(fs, e->a)) e = e->a;
  if (is_localreg(fs, e)) return e->v.var->reg;
  r = reg_reserve(fs, 1);
  exp_to(fs, e, r);
  return r;
}

/* jump (added to *list) when truthy(e) == jumpif; fall through otherwise */
static void cond_jump(FuncState *fs, Expr *e, int jumpif, int *list) {
  int fr = fs->freereg;
  int saved = fs->line;
  if (ERRSET(fs)) return;
  fs->line = e->line;
  switch (e->k) {
    case E_NIL:
    case E_FALSE:
      if (!jumpif) list_add(fs, list, emit_jump(fs));
      break;
    case E_TRUE:
    case E_NUMBER:
    case E_STRING:
      if (jumpif) list_add(fs, list, emit_jump(fs));
      break;
    case E_UNOP:
      if (e->op == OPR_NOT) {
        cond_jump(fs, e->a, !jumpif, list);
        break;
      }
      goto generic;
    case E_PAREN:
      cond_jump(fs, e->a, jumpif, list);
      break;
    case E_AND:
    case E_OR: {
      int isand = e->k == E_AND;
      if (isand == !jumpif) {
        /* and/false or or/true: both operands jump to the same place */
        cond_jump(fs, e->a, jumpif, list);
        cond_jump(fs, e->b, jumpif, list);
      } else {
        int skip = NO_JUMP;
        cond_jump(fs, e->a, !jumpif, &skip);
        cond_jump(fs, e->b, jumpif, list);
        patch_here(fs, skip);
      }
      break;
    }
    case E_BINOP:
      if (is_cond(e)) {
        int op = e->op;
        if (op == OPR_EQ || op == OPR_NE) {
          Expr *a = e->a, *b = e->b;
          int cflag = op == OPR_EQ ? jumpif : !jumpif;
          int k;
          if (is_literal(a) && !is_literal(b)) {
            Expr *t = a;
            a = b;
            b = t;
          }
          if (is_literal(b) && (k = k_of(fs, b)) <= MAXK_ARG) {
            int ra = exp_any(fs, a);
            fs->line = e->line;
            emitABC(fs, OP_EQK, ra, k, cflag);
          } else {
            int ra = exp_any(fs, a);
            int rb = exp_any(fs, b);
            fs->line = e->line;
            emitABC(fs, OP_EQ, ra, rb, cflag);
          }
        } else if ((e->b->k == E_NUMBER || e->a->k == E_NUMBER) && !(e->a->k == E_NUMBER && e->b->k == E_NUMBER)) {
          /* comparison of a register with a number constant; the operand order is kept for __lt/__le and
             error messages: R < K -> LTK, R <= K -> LEK, K < R -> GTK, K <= R -> GEK */
          int knum = e->b->k == E_NUMBER; /* the constant is the right operand */
          Expr *re = knum ? e->a : e->b, *ke = knum ? e->b : e->a;
          int k = k_num(fs, ke->v.n);
          if (k <= MAXK_ARG) {
            int ra = exp_any(fs, re), opc;
            /* a < b, a <= b as written; a > b is b < a, a >= b is b <= a */
            int lt = op == OPR_LT || op == OPR_GT;
            int left_is_k = (op == OPR_LT || op == OPR_LE) ? !knum : knum;
            if (lt)
              opc = left_is_k ? OP_GTK : OP_LTK;
            else
              opc = left_is_k ? OP_GEK : OP_LEK;
            fs->line = e->line;
            emitABC(fs, opc, ra, k, jumpif);
          } else {
            int ra = exp_any(fs, e->a);
            int rb = exp_any(fs, e->b);
            fs->line = e->line;
            switch (op) {
              case OPR_LT: emitABC(fs, OP_LT, ra, rb, jumpif); break;
              case OPR_LE: emitABC(fs, OP_LE, ra, rb, jumpif); break;
              case OPR_GT: emitABC(fs, OP_LT, rb, ra, jumpif); break;
              default: emitABC(fs, OP_LE, rb, ra, jumpif); break;
            }
          }
        } else {
          int ra = exp_any(fs, e->a);
          int rb = exp_any(fs, e->b);
          fs->line = e->line;
          switch (op) {
            case OPR_LT: emitABC(fs, OP_LT, ra, rb, jumpif); break;
            case OPR_LE: emitABC(fs, OP_LE, ra, rb, jumpif); break;
            case OPR_GT: emitABC(fs, OP_LT, rb, ra, jumpif); break;
            default: emitABC(fs, OP_LE, rb, ra, jumpif); break;
          }
        }
        list_add(fs, list, emit_jump(fs));
        break;
      }
      goto generic;
    default:
    generic: {
      int r = exp_any(fs, e);
      emitABC(fs, OP_TEST, r, 0, jumpif);
      list_add(fs, list, emit_jump(fs));
      break;
    }
  }
  fs->freereg = fr;
  fs->line = saved;
}

/* evaluate an expression list into n consecutive registers starting at fs->freereg (already == base) */
static void explist_to(FuncState *fs, Expr *list, int nexprs, int n) {
  Expr *e;
  int i = 0;
  int base = fs->freereg;
  for (e = list; e; e = e->next, i++) {
    if (!e->next && (e->k == E_CALL || e->k == E_VARARG) && i < n) {
      exp_multi(fs, e, base + i, n - i);
      fs->freereg = base + n;
      return;
    }
    if (i < n) {
      int r = reg_reserve(fs, 1);
      exp_to(fs, e, r);
    } else {
      /* extra value: evaluated for side effects, then dropped */
      int fr = fs->freereg;
      if (e->k == E_CALL) {
        compile_call(fs, e, fr, 0);
      } else {
        int r = reg_reserve(fs, 1);
        exp_to(fs, e, r);
      }
      fs->freereg = fr;
    }
  }
  (void)nexprs;
  if (i < n) {
    int r = reg_reserve(fs, n - i);
    emitABC(fs, OP_LOADNIL, r, n - i - 1, 0);
  }
  fs->freereg = base + n;
}

/* ---------------- statements ---------------- */

static void store_var(FuncState *fs, Expr *target, int val) {
  Var *v = target->v.var;
  if (v->func == fs->fn) {
    if (v->reg != val) emitABC(fs, OP_MOVE, v->reg, val, 0);
  } else {
    emitABC(fs, OP_SETUPVAL, val, find_upval(fs, v), 0);
  }
}

/* an lvalue with its table/key already evaluated */
typedef struct LValue {
  Expr *e;
  int obj;  /* register of the table (E_INDEX) */
  int kind; /* 0 register key, 1 field (k index), 2 integer index */
  int key;
} LValue;

static void lvalue_prepare(FuncState *fs, Expr *e, LValue *lv, int copy) {
  lv->e = e;
  if (e->k != E_INDEX) return;
  {
    Expr *key = e->b;
    int idx;
    if (copy) {
      lv->obj = reg_reserve(fs, 1);
      exp_to(fs, e->a, lv->obj);
    } else {
      lv->obj = exp_any(fs, e->a);
    }
    if (key->k == E_STRING && (idx = k_str(fs, key->v.s)) <= MAXK_ARG) {
      lv->kind = 1;
      lv->key = idx;
    } else if ((idx = small_index(key)) != 0) {
      lv->kind = 2;
      lv->key = idx - 1;
    } else {
      lv->kind = 0;
      if (copy) {
        lv->key = reg_reserve(fs, 1);
        exp_to(fs, key, lv->key);
      } else {
        lv->key = exp_any(fs, key);
      }
    }
  }
}

static void lvalue_store(FuncState *fs, LValue *lv, int val) {
  Expr *e = lv->e;
  if (e->k == E_LOCAL) {
    store_var(fs, e, val);
  } else if (e->k == E_GLOBAL) {
    emitABx(fs, OP_SETGLOBAL, val, k_str(fs, e->v.s));
  } else {
    static const uint8_t ops[] = {OP_SETTABLE, OP_SETFIELD, OP_SETINDEX};
    emitABC(fs, ops[lv->kind], val, lv->obj, lv->key);
  }
}

static void lvalue_load(FuncState *fs, LValue *lv, int target) {
  Expr *e = lv->e;
  if (e->k == E_LOCAL || e->k == E_GLOBAL) {
    exp_to(fs, e, target);
  } else {
    static const uint8_t ops[] = {OP_GETTABLE, OP_GETFIELD, OP_GETINDEX};
    emitABC(fs, ops[lv->kind], target, lv->obj, lv->key);
  }
}

static NOINLINE void assign_stat(FuncState *fs, Stat *s) {
  int fr = fs->freereg;
  if (s->ntargets == 1 && s->nexprs == 1) {
    Expr *t = s->targets, *e = s->exprs;
    if (is_localreg(fs, t)) {
      exp_to(fs, e, t->v.var->reg);
    } else {
      LValue lv;
      int val;
      lvalue_prepare(fs, t, &lv, 0);
      val = exp_any(fs, e);
      fs->line = s->line;
      lvalue_store(fs, &lv, val);
    }
  } else {
    /* table/key expressions left to right, then values, then stores left to right */
    LValue *lvs = (LValue *)front_alloc(fs->F, sizeof(LValue) * (size_t)s->ntargets);
    Expr *t;
    int i, base, copy = 0;
    if (!lvs) return;
    for (t = s->targets; t; t = t->next)
      if (is_localreg(fs, t)) copy = 1;
    for (t = s->targets, i = 0; t; t = t->next, i++) lvalue_prepare(fs, t, &lvs[i], copy);
    base = fs->freereg;
    explist_to(fs, s->exprs, s->nexprs, s->ntargets);
    fs->line = s->line;
    for (i = 0; i < s->ntargets; i++) lvalue_store(fs, &lvs[i], base + i);
  }
  fs->freereg = fr;
}

static NOINLINE void compound_stat(FuncState *fs, Stat *s) {
  int fr = fs->freereg;
  Expr *t = s->targets, *e = s->exprs;
  LValue lv;
  int cur, k;
  int op = s->op;
  lvalue_prepare(fs, t, &lv, 0);
  if (op == OPR_CONCAT) {
    cur = reg_reserve(fs, 2);
    lvalue_load(fs, &lv, cur);
    exp_to(fs, e, cur + 1);
    fs->line = s->line;
    if (is_localreg(fs, t)) {
      emitABC(fs, OP_CONCAT, t->v.var->reg, cur, cur + 1);
    } else {
      emitABC(fs, OP_CONCAT, cur, cur, cur + 1);
      lvalue_store(fs, &lv, cur);
    }
    fs->freereg = fr;
    return;
  }
  if (is_localreg(fs, t)) {
    int r = t->v.var->reg;
    if (e->k == E_NUMBER && (k = k_num(fs, e->v.n)) <= MAXK_ARG) {
      emitABC(fs, OP_ADDK + op, r, r, k);
    } else {
      int rv = exp_any(fs, e);
      fs->line = s->line;
      emitABC(fs, OP_ADD + op, r, r, rv);
    }
    fs->freereg = fr;
    return;
  }
  cur = reg_reserve(fs, 1);
  lvalue_load(fs, &lv, cur);
  if (e->k == E_NUMBER && (k = k_num(fs, e->v.n)) <= MAXK_ARG) {
    fs->line = s->line;
    emitABC(fs, OP_ADDK + op, cur, cur, k);
  } else {
    int rv = exp_any(fs, e);
    fs->line = s->line;
    emitABC(fs, OP_ADD + op, cur, cur, rv);
  }
  lvalue_store(fs, &lv, cur);
  fs->freereg = fr;
}

static NOINLINE void local_stat(FuncState *fs, Stat *s) {
  int base = fs->freereg;
  VarList *vl;
  int i;
  if (s->nexprs == 0) {
    reg_reserve(fs, s->nvars);
    emitABC(fs, OP_LOADNIL, base, s->nvars - 1, 0);
  } else {
    explist_to(fs, s->exprs, s->nexprs, s->nvars);
  }
  for (vl = s->vars, i = 0; vl; vl = vl->next, i++) activate_var(fs, vl->var, base + i);
  fs->freereg = base + s->nvars;
}

static NOINLINE void ret_stat(FuncState *fs, Stat *s) {
  int fr = fs->freereg;
  if (s->nexprs == 0) {
    emitABC(fs, OP_RETURN, 0, 1, 0);
  } else if (s->nexprs == 1 && (s->exprs->k == E_CALL || s->exprs->k == E_VARARG)) {
    int base = fs->freereg;
    exp_multi(fs, s->exprs, base, -1);
    fs->line = s->line;
    emitABC(fs, OP_RETURN, base, 0, 0);
  } else if (s->nexprs == 1) {
    int r = exp_any(fs, s->exprs);
    fs->line = s->line;
    emitABC(fs, OP_RETURN, r, 2, 0);
  } else {
    int base = fs->freereg;
    Expr *e;
    int multret = 0;
    for (e = s->exprs; e; e = e->next) {
      if (!e->next && (e->k == E_CALL || e->k == E_VARARG)) {
        exp_multi(fs, e, fs->freereg, -1);
        multret = 1;
      } else {
        int r = reg_reserve(fs, 1);
        exp_to(fs, e, r);
      }
    }
    fs->line = s->line;
    emitABC(fs, OP_RETURN, base, multret ? 0 : s->nexprs + 1, 0);
  }
  fs->freereg = fr;
}

/* compile the statements of a block in its own scope; does not emit the closing CLOSE */
static void block_stats(FuncState *fs, Block *b);

static void scoped_block(FuncState *fs, Block *b) {
  int nact = fs->nactreg, nloc = fs->nlocals, fr = fs->freereg;
  block_stats(fs, b);
  if (b->hascap) emitABC(fs, OP_CLOSE, nact, 0, 0);
  fs->nactreg = nact;
  fs->nlocals = nloc;
  fs->freereg = fr;
}

static void loop_begin(FuncState *fs, LoopCtx *lc, LoopNode *node, int closereg) {
  lc->prev = fs->loop;
  lc->node = node;
  lc->breaklist = NO_JUMP;
  lc->contlist = NO_JUMP;
  lc->closereg = closereg;
  fs->loop = lc;
}

/* end of a loop body: continue target, then CLOSE if its locals are captured */
static void loop_continue_point(FuncState *fs, LoopCtx *lc) {
  patch_here(fs, lc->contlist);
  lc->contlist = NO_JUMP;
  if (lc->node->hascap) emitABC(fs, OP_CLOSE, lc->closereg, 0, 0);
}

/* after a loop: its registers and locals are gone, breaks land here, the enclosing loop is current again */
static void loop_end(FuncState *fs, LoopCtx *lc, int nact, int nloc, int fr) {
  fs->nactreg = nact;
  fs->nlocals = nloc;
  fs->freereg = fr;
  patch_here(fs, lc->breaklist);
  fs->loop = lc->prev;
}

static NOINLINE void while_stat(FuncState *fs, Stat *s) {
  LoopCtx lc;
  int start = fs->ncode;
  int exitl = NO_JUMP;
  int nact = fs->nactreg, nloc = fs->nlocals, fr = fs->freereg;
  cond_jump(fs, s->cond, 0, &exitl);
  loop_begin(fs, &lc, s->loop, fs->nactreg);
  block_stats(fs, s->block);
  fs->nactreg = nact;
  fs->nlocals = nloc;
  fs->freereg = fr;
  loop_continue_point(fs, &lc);
  fs->line = s->line;
  emit_jump_to(fs, start);
  patch_here(fs, exitl);
  patch_here(fs, lc.breaklist);
  fs->loop = lc.prev;
}

static NOINLINE void repeat_stat(FuncState *fs, Stat *s) {
  LoopCtx lc;
  int start = fs->ncode;
  int nact = fs->nactreg, nloc = fs->nlocals, fr = fs->freereg;
  loop_begin(fs, &lc, s->loop, fs->nactreg);
  block_stats(fs, s->block);
  patch_here(fs, lc.contlist);
  lc.contlist = NO_JUMP;
  if (s->loop->hascap) {
    int r = exp_any(fs, s->cond);
    emitABC(fs, OP_CLOSE, nact, 0, 0);
    emitABC(fs, OP_TEST, r, 0, 0);
    emit_jump_to(fs, start);
  } else {
    int back = NO_JUMP;
    cond_jump(fs, s->cond, 0, &back);
    patch_list(fs, back, start);
  }
  loop_end(fs, &lc, nact, nloc, fr);
}

static NOINLINE void numfor_stat(FuncState *fs, Stat *s) {
  LoopCtx lc;
  int nact = fs->nactreg, nloc = fs->nlocals, fr = fs->freereg;
  int base = reg_reserve(fs, 1);
  Expr *e1 = s->exprs, *e2 = e1->next, *e3 = e2->next;
  int prep, body, loop;
  exp_to(fs, e1, base);
  exp_to(fs, e2, reg_reserve(fs, 1));
  if (e3)
    exp_to(fs, e3, reg_reserve(fs, 1));
  else
    emitAsBx(fs, OP_LOADN, reg_reserve(fs, 1), 1);
  fs->nactreg = base + 3; /* hidden state registers are live */
  fs->line = s->line;
  prep = emitAsBx(fs, OP_FORPREP, base, 0);
  body = fs->ncode;
  reg_reserve(fs, 1);
  activate_var(fs, s->vars->var, base + 3);
  loop_begin(fs, &lc, s->loop, base + 3);
  block_stats(fs, s->block);
  loop_continue_point(fs, &lc);
  fs->line = s->line;
  if (body - (fs->ncode + 1) >= -MAXARG_sBx) {
    loop = emitAsBx(fs, OP_FORLOOP, base, 0);
    set_sbx(fs, loop, body);
    set_sbx(fs, prep, fs->ncode);
  } else {
    /* long body: FORPREP A +1; JMP +1; JMP exit; body...; FORLOOP A +1; JMP +1; JMP body */
    insert_slots(fs, prep + 1, 2, &lc.breaklist);
    body += 2;
    if (!ERRSET(fs)) {
      fs->code[prep] = MK_AsBx(OP_FORPREP, base, 1);
      fs->code[prep + 1] = MK_sJ(OP_JMP, 1);
      list_add(fs, &lc.breaklist, prep + 2);
    }
    emitAsBx(fs, OP_FORLOOP, base, 1);
    emit(fs, MK_sJ(OP_JMP, 1));
    emit_jump_to(fs, body);
  }
  loop_end(fs, &lc, nact, nloc, fr);
}

static NOINLINE void genfor_stat(FuncState *fs, Stat *s) {
  LoopCtx lc;
  int nact = fs->nactreg, nloc = fs->nlocals, fr = fs->freereg;
  int base = fs->freereg;
  int prep, body, call, loop, i;
  VarList *vl;
  explist_to(fs, s->exprs, s->nexprs, 3);
  fs->nactreg = base + 3;
  fs->line = s->line;
  prep = emitAsBx(fs, OP_TFORPREP, base, 0);
  body = fs->ncode;
  reg_reserve(fs, s->nvars);
  for (vl = s->vars, i = 0; vl; vl = vl->next, i++) activate_var(fs, vl->var, base + 3 + i);
  /* room for the VM to set up the iterator call (generator, state, control copied above the hidden slots) */
  if (fs->freereg < base + 6) {
    int fr = fs->freereg;
    reg_reserve(fs, base + 6 - fr);
    fs->freereg = fr;
  }
  loop_begin(fs, &lc, s->loop, base + 3);
  block_stats(fs, s->block);
  loop_continue_point(fs, &lc);
  fs->line = s->line;
  if (fs->ncode - (prep + 1) <= MAXARG_sBx && body - (fs->ncode + 2) >= -MAXARG_sBx) {
    call = emitABC(fs, OP_TFORCALL, base, 0, s->nvars);
    set_sbx(fs, prep, call);
    loop = emitAsBx(fs, OP_TFORLOOP, base, 0);
    set_sbx(fs, loop, body);
  } else {
    /* long body: TFORPREP A +0; JMP call; body...; TFORCALL; TFORLOOP A +1; JMP +1; JMP body */
    insert_slots(fs, prep + 1, 1, &lc.breaklist);
    body += 1;
    call = emitABC(fs, OP_TFORCALL, base, 0, s->nvars);
    if (!ERRSET(fs)) {
      fs->code[prep] = MK_AsBx(OP_TFORPREP, base, 0);
      set_jump(fs, prep + 1, call);
    }
    emitAsBx(fs, OP_TFORLOOP, base, 1);
    emit(fs, MK_sJ(OP_JMP, 1));
    emit_jump_to(fs, body);
  }
  loop_end(fs, &lc, nact, nloc, fr);
}

static NOINLINE void if_stat(FuncState *fs, Stat *s) {
  IfPart *ip;
  int endl = NO_JUMP;
  for (ip = s->parts; ip; ip = ip->next) {
    int jf = NO_JUMP;
    fs->line = ip->line;
    cond_jump(fs, ip->cond, 0, &jf);
    scoped_block(fs, ip->block);
    if (ip->next || s->elseblock) {
      Stat *last = ip->block->first;
      while (last && last->next) last = last->next;
      if (!last || (last->k != S_RETURN && last->k != S_BREAK && last->k != S_CONTINUE))
        list_add(fs, &endl, emit_jump(fs));
    }
    patch_here(fs, jf);
  }
  if (s->elseblock) scoped_block(fs, s->elseblock);
  patch_here(fs, endl);
}

static void statement(FuncState *fs, Stat *s) {
  fs->line = s->line;
  switch (s->k) {
    case S_LOCAL: local_stat(fs, s); break;
    case S_LOCALFUNC: {
      int r = reg_reserve(fs, 1);
      activate_var(fs, s->var, r);
      closure(fs, s->fn, r, s->line);
      break;
    }
    case S_ASSIGN: assign_stat(fs, s); break;
    case S_COMPOUND: compound_stat(fs, s); break;
    case S_CALL: {
      int fr = fs->freereg;
      compile_call(fs, s->targets, fr, 0);
      fs->freereg = fr;
      break;
    }
    case S_DO: scoped_block(fs, s->block); break;
    case S_WHILE: while_stat(fs, s); break;
    case S_REPEAT: repeat_stat(fs, s); break;
    case S_IF: if_stat(fs, s); break;
    case S_NUMFOR: numfor_stat(fs, s); break;
    case S_GENFOR: genfor_stat(fs, s); break;
    case S_RETURN: ret_stat(fs, s); break;
    case S_BREAK: {
      LoopCtx *lc = fs->loop;
      if (lc->node->hascap) emitABC(fs, OP_CLOSE, lc->closereg, 0, 0);
      list_add(fs, &lc->breaklist, emit_jump(fs));
      break;
    }
    case S_CONTINUE:
      list_add(fs, &fs->loop->contlist, emit_jump(fs));
      break;
    default: break;
  }
}

static void block_stats(FuncState *fs, Block *b) {
  Stat *s;
  for (s = b->first; s && !ERRSET(fs); s = s->next) {
    statement(fs, s);
    fs->freereg = fs->nactreg;
  }
}


/* ---------------- functions ---------------- */

static TString *fstr_ts(Front *F, FStr *s) {
  if (!s->ts) {
    s->ts = str_new(F->L, s->s, s->len);
    if (!s->ts) front_memerror(F);
  }
  return s->ts;
}

/* Whether a function nested in fs captures one of fs's locals (then some OP_RETURN may find open upvalues of its
   frame; a function with no such capture never has any: see OP_RETURN). Known only once the whole body is compiled,
   hence a pass over the finished code in build_proto. */
static int captures_locals(const FuncState *fs) {
  for (int i = 0; i < fs->np; i++)
    for (int j = 0; j < fs->p[i]->nups; j++)
      if (fs->p[i]->upvals[j].instack) return 1;
  return 0;
}

static Proto *build_proto(FuncState *fs) {
  Front *F = fs->F;
  pal_State *L = F->L;
  Proto *P;
  uint32_t *code = NULL;
  int *lines = NULL;
  TValue *k = NULL;
  GCache *gcache = NULL;
  TableShape *shapes = NULL;
  int nshapes = 0; /* built so far */
  Proto **p = NULL;
  UpvalDesc *up = NULL;
  TString *src, *name = NULL;
  int i;
  if (F->err) return NULL;
  /* strings first (they are interned and collectable, nothing to undo on failure) */
  for (i = 0; i < fs->nk; i++)
    if (fs->k[i].kind == PAL_TSTRING && !fstr_ts(F, fs->k[i].s)) return NULL;
  src = str_new(L, F->chunkname, F->chunknamelen);
  if (!src) {
    front_memerror(F);
    return NULL;
  }
  if (fs->fn->name) {
    name = fstr_ts(F, fs->fn->name);
    if (!name) return NULL;
  }
  code = mem_newvector(L, fs->ncode, uint32_t);
  lines = code ? mem_newvector(L, fs->ncode, int) : NULL;
  if (!code || !lines) goto oom;
  if (fs->nk) {
    k = mem_newvector(L, fs->nk, TValue);
    if (!k) goto oom;
  }
  if (fs->np) {
    p = mem_newvector(L, fs->np, Proto *);
    if (!p) goto oom;
  }
  if (fs->nups) {
    up = mem_newvector(L, fs->nups, UpvalDesc);
    if (!up) goto oom;
  }
  if (fs->nshapes) {
    TString **keys = mem_newvector(L, fs->nshapekeys, TString *);
    shapes = keys ? mem_newvector(L, fs->nshapes, TableShape) : NULL;
    if (shapes)
      for (i = 0; i < fs->nshapekeys; i++) keys[i] = fs->k[fs->shapekeys[i]].s->ts;
    while (shapes && nshapes < fs->nshapes) {
      ShapeDesc *d = &fs->shapes[nshapes];
      if (!tab_shape(L, &shapes[nshapes], d->narray, keys + d->first, d->nkeys)) break;
      nshapes++;
    }
    if (keys) mem_freevector(L, keys, fs->nshapekeys, TString *);
    if (nshapes < fs->nshapes) goto oom;
  }
  for (i = 0; i < fs->ncode && fs->nk > 0 && !gcache; i++) /* a lookup cache per constant when there are globals */
    if (GET_OP(fs->code[i]) == OP_GETGLOBAL) {
      gcache = mem_newvector(L, fs->nk, GCache);
      if (!gcache) goto oom;
      for (int j = 0; j < fs->nk; j++) {
        gcache[j].env = NULL;
        gcache[j].slot = &pal_nilobject; /* never valid */
        gcache[j].ver = 0;
      }
    }
  P = proto_new(L);
  if (!P) goto oom;
  memcpy(code, fs->code, (size_t)fs->ncode * sizeof(uint32_t));
  if (captures_locals(fs))
    for (i = 0; i < fs->ncode; i++)
      if (GET_OP(code[i]) == OP_RETURN) code[i] |= MK_ABC(0, 0, 0, 1); /* C = 1: the VM closes upvalues */
  memcpy(lines, fs->lines, (size_t)fs->ncode * sizeof(int));
  for (i = 0; i < fs->nk; i++) {
    KConst *c = &fs->k[i];
    switch (c->kind) {
      case PAL_TNIL: setnilvalue(&k[i]); break;
      case PAL_TBOOLEAN: setbvalue(&k[i], c->b); break;
      case PAL_TNUMBER: setnvalue(&k[i], c->n); break;
      default: setsvalue(&k[i], c->s->ts); break;
    }
  }
  if (fs->np) memcpy(p, fs->p, (size_t)fs->np * sizeof(Proto *));
  if (fs->nups) memcpy(up, fs->updesc, (size_t)fs->nups * sizeof(UpvalDesc));
  P->code = code;
  P->lineinfo = lines;
  P->sizecode = fs->ncode;
  P->k = k;
  P->sizek = fs->nk;
  P->gcache = gcache;
  P->shapes = shapes;
  P->sizeshapes = nshapes;
  P->p = p;
  P->sizep = fs->np;
  P->upvals = up;
  P->nups = (uint8_t)fs->nups;
  P->upvalnames = NULL;
  P->numparams = (uint8_t)fs->fn->nparams;
  P->is_vararg = fs->fn->isvararg;
  P->maxstacksize = (uint8_t)(fs->maxreg < 2 ? 2 : fs->maxreg);
  P->source = src;
  P->name = name;
  P->linedefined = fs->fn->line;
  return P;
oom:
  if (code) mem_freevector(L, code, fs->ncode, uint32_t);
  if (lines) mem_freevector(L, lines, fs->ncode, int);
  if (k) mem_freevector(L, k, fs->nk, TValue);
  if (gcache) mem_freevector(L, gcache, fs->nk, GCache);
  if (p) mem_freevector(L, p, fs->np, Proto *);
  if (up) mem_freevector(L, up, fs->nups, UpvalDesc);
  for (i = 0; i < nshapes; i++) tab_freeshape(L, &shapes[i]);
  if (shapes) mem_freevector(L, shapes, fs->nshapes, TableShape);
  front_memerror(F);
  return NULL;
}

static Proto *compile_function(Front *F, FuncState *parent, FuncNode *fn) {
  FuncState *fs = (FuncState *)front_alloc(F, sizeof(FuncState));
  VarList *vl;
  int i;
  Proto *P;
  if (!fs) return NULL;
  fs->prev = parent;
  fs->F = F;
  fs->fn = fn;
  fs->line = fn->line;
  if (fn->nparams > FRONT_MAXLOCALS) {
    VarList *x = fn->params;
    for (i = 0; i < FRONT_MAXLOCALS; i++) x = x->next;
    front_error(F, x->var->line, "Out of local registers when trying to allocate %s: exceeded limit %d",
                x->var->name->s, FRONT_MAXLOCALS);
    return NULL;
  }
  reg_reserve(fs, fn->nparams);
  for (vl = fn->params, i = 0; vl; vl = vl->next, i++) activate_var(fs, vl->var, i);
  block_stats(fs, fn->body);
  /* final return */
  emitABC(fs, OP_RETURN, 0, 1, 0);
  P = build_proto(fs);
  free_buffers(fs);
  return P;
}

Proto *compile_main(Front *F, FuncNode *main) { return compile_function(F, NULL, main); }

/* ---------------- entry point ---------------- */

#define FRONT_IDSIZE 256

Proto *pal_compile(pal_State *L, const char *src, size_t len, const char *chunkname) {
  Front *F = (Front *)mem_alloc(L, sizeof(Front));
  FuncNode *main;
  Proto *P = NULL;
  if (!F) return NULL; /* memory error pending */
  if (front_init(F, L, src, len, chunkname)) {
    main = parse_chunk(F);
    if (main && !F->err) P = compile_main(F, main);
  }
  if (F->err == FERR_SYNTAX) {
    char id[FRONT_IDSIZE];
    char msg[FRONT_IDSIZE + sizeof(F->errmsg) + 32];
    int n;
    pal_chunkid(id, sizeof id, F->chunkname, F->chunknamelen);
    n = snprintf(msg, sizeof msg, "%s:%d: %s", id, F->errline, F->errmsg);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    pal_pushlstring(L, msg, (size_t)n);
    P = NULL;
  } else if (F->err) {
    /* memory: make sure an error is pending */
    if (pal_errpending(L) == PAL_OK) pal_memerror(L);
    P = NULL;
  }
  front_free(F);
  mem_free(L, F, sizeof(Front));
  return P;
}
