/*
 * tablib.c - the `table` library (reference §4.5, §3.7, pitfalls §6.2/§6.4).
 *
 * Everything is raw (pal_rawgeti/pal_rawseti, length via pal_objlen) except table.find's equality (uses __eq) and
 * the sort comparisons (pal_lessthan honours __lt; a comparator runs through pal_callrawpair). Mutating functions
 * raise "attempt to modify a readonly table" on frozen tables.
 *
 * The sort algorithm is written against an abstract less/swap interface so guest/tests/libs_test.c can test it
 * on plain C arrays (it defines PAL_LIBS_PURE and includes this file); the pal.h glue follows.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "pal.h"

/* ======================================================================================================
 * Sorting: quicksort (median of three, Hoare-style partition with bounds checks) with a depth limit that
 * falls back to heapsort. An inconsistent comparator that makes a partition scan walk off its range is
 * reported as SORT_INVALID; otherwise a bad comparator just yields some permutation.
 * ====================================================================================================== */
typedef struct SortOps {
  /* 1 if element a < element b, 0 if not, -1 on error (the error is the implementation's business) */
  int (*less)(void *ud, int64_t a, int64_t b);
  void (*swap)(void *ud, int64_t a, int64_t b);
  void *ud;
} SortOps;

#define SORT_OK 0
#define SORT_ERR (-1)     /* less() failed */
#define SORT_INVALID (-2) /* "invalid order function for sorting" */

#define SORT_LESS(o, a, b, r)          \
  do {                                 \
    (r) = (o)->less((o)->ud, (a), (b)); \
    if ((r) < 0) return SORT_ERR;      \
  } while (0)

/* The algorithm is inlined (with its less and swap) into each caller that passes constant ops: the sorts of plain
   numbers and strings, and the comparator sort, run without an indirect call per comparison. */
#define SORT_INLINE static inline __attribute__((always_inline))

SORT_INLINE int sort_siftdown(const SortOps *o, int64_t lo, int64_t root, int64_t end) {
  int r;
  for (;;) {
    int64_t child = lo + 2 * (root - lo) + 1;
    if (child > end) return SORT_OK;
    if (child + 1 <= end) {
      SORT_LESS(o, child, child + 1, r);
      if (r) child++;
    }
    SORT_LESS(o, root, child, r);
    if (!r) return SORT_OK;
    o->swap(o->ud, root, child);
    root = child;
  }
}

static int sort_heap(const SortOps *o, int64_t lo, int64_t hi) {
  int64_t n = hi - lo + 1;
  if (n < 2) return SORT_OK;
  for (int64_t start = lo + (n - 2) / 2; start >= lo; start--) {
    int st = sort_siftdown(o, lo, start, hi);
    if (st != SORT_OK) return st;
  }
  for (int64_t end = hi; end > lo; end--) {
    o->swap(o->ud, lo, end);
    int st = sort_siftdown(o, lo, lo, end - 1);
    if (st != SORT_OK) return st;
  }
  return SORT_OK;
}

/* order a[x] <= a[y] <= a[z] with at most three comparisons */
SORT_INLINE int sort_three(const SortOps *o, int64_t x, int64_t y, int64_t z) {
  int r;
  SORT_LESS(o, y, x, r);
  if (r) o->swap(o->ud, x, y);
  SORT_LESS(o, z, y, r);
  if (r) {
    o->swap(o->ud, y, z);
    SORT_LESS(o, y, x, r);
    if (r) o->swap(o->ud, x, y);
  }
  return SORT_OK;
}

#define SORT_NINTHER 128 /* ranges of more than this many elements get a median-of-nine pivot */

/* Quicksort of lo..hi, falling back to heapsort below `depth` levels of partitioning. After a partition the
   smaller side is sorted first and the larger one is kept on an explicit stack (in the order a recursion into the
   smaller side would take them): the smaller side is at most half the range, so 64 entries always suffice. */
SORT_INLINE int sort_quick_inl(const SortOps *o, int64_t lo, int64_t hi, int depth) {
  struct {
    int64_t lo, hi;
    int depth;
  } later[64];
  int nlater = 0, r, st;
  for (;;) {
    st = SORT_OK;
    while (hi - lo + 1 > 3) {
      if (depth-- <= 0) {
        st = sort_heap(o, lo, hi);
        break;
      }
      int64_t mid = lo + (hi - lo) / 2;
      if (hi - lo >= SORT_NINTHER) {
        /* large range: a better pivot (median of the medians of three triples, left at mid) saves more
           comparisons in partitioning than the 9 it costs */
        int64_t d = (hi - lo) / 8;
        if ((st = sort_three(o, lo + 1, lo + 1 + d, lo + 1 + 2 * d)) != SORT_OK ||
            (st = sort_three(o, mid - d, mid, mid + d)) != SORT_OK ||
            (st = sort_three(o, hi - 1 - 2 * d, hi - 1 - d, hi - 1)) != SORT_OK ||
            (st = sort_three(o, lo + 1 + d, mid, hi - 1 - d)) != SORT_OK)
          return st;
      }
      st = sort_three(o, lo, mid, hi);
      if (st != SORT_OK) return st;
      /* a[lo] <= pivot <= a[hi]; park the pivot at hi-1, where it stays during partitioning */
      int64_t p = hi - 1;
      o->swap(o->ud, mid, p);
      int64_t i = lo, j = p;
      for (;;) {
        /* a valid order stops at p at the latest (pivot < pivot is false) */
        for (;;) {
          SORT_LESS(o, ++i, p, r);
          if (!r) break;
          if (i >= p) return SORT_INVALID;
        }
        /* a valid order stops at lo at the latest (a[lo] <= pivot) */
        for (;;) {
          SORT_LESS(o, p, --j, r);
          if (!r) break;
          if (j <= lo) return SORT_INVALID;
        }
        if (j <= i) break;
        o->swap(o->ud, i, j);
      }
      if (i != p) o->swap(o->ud, i, p);
      later[nlater].depth = depth;
      if (i - lo < hi - i) {
        later[nlater].lo = i + 1;
        later[nlater].hi = hi;
        hi = i - 1;
      } else {
        later[nlater].lo = lo;
        later[nlater].hi = i - 1;
        lo = i + 1;
      }
      nlater++;
    }
    if (st != SORT_OK) return st;
    if (hi - lo + 1 == 3) {
      st = sort_three(o, lo, lo + 1, hi);
      if (st != SORT_OK) return st;
    } else if (hi - lo + 1 == 2) {
      SORT_LESS(o, hi, lo, r);
      if (r) o->swap(o->ud, lo, hi);
    }
    if (nlater == 0) return SORT_OK;
    nlater--;
    lo = later[nlater].lo;
    hi = later[nlater].hi;
    depth = later[nlater].depth;
  }
}

static int sort_quick(const SortOps *o, int64_t lo, int64_t hi, int depth) {
  return sort_quick_inl(o, lo, hi, depth);
}

/* the depth limit for n elements: twice the number of halvings */
static int sort_depth(int64_t n) {
  int depth = 0;
  for (; n > 1; n >>= 1) depth += 2;
  return depth;
}

/* sort elements lo..hi (inclusive) */
static int sort_range(const SortOps *o, int64_t lo, int64_t hi) {
  return sort_quick(o, lo, hi, sort_depth(hi - lo + 1));
}

#ifndef PAL_LIBS_PURE

static int readonly_error(pal_State *L) { return pal_errorf(L, "attempt to modify a readonly table"); }

/* checks that arg is a table (and, if mutating, not frozen); returns 0 with an error pending otherwise */
static int checktab(pal_State *L, int arg, int mutating) {
  pal_checktype(L, arg, PAL_TTABLE);
  if (pal_errpending(L)) return 0;
  if (mutating && pal_getreadonly(L, arg)) return readonly_error(L), 0;
  return 1;
}

static int64_t tlen(pal_State *L, int idx) { return (int64_t)pal_objlen(L, idx); }

/* charge fuel; nonzero = abort pending */
static int charge(pal_State *L, int64_t units) { return units > 0 && pal_chargefuel(L, units); }

#define FUEL_BATCH 256
#define TAB_MAXUNPACK 8000

/* ---- insert / remove ---- */
static int tab_insert(pal_State *L) {
  if (!checktab(L, 1, 1)) return PAL_ERRSIG;
  int64_t n = tlen(L, 1);
  int64_t pos;
  switch (pal_gettop(L)) {
    case 2:
      pos = n + 1;
      break;
    case 3:
      pos = pal_checkinteger(L, 2);
      if (pal_errpending(L)) return PAL_ERRSIG;
      if (pos >= 1 && pos <= n) {
        if (charge(L, n - pos + 1)) return PAL_ERRSIG;
        for (int64_t k = n; k >= pos; k--) { /* t[k+1] = t[k] */
          pal_rawgeti(L, 1, k);
          pal_rawseti(L, 1, k + 1);
        }
      }
      break;
    default:
      return pal_errorf(L, "wrong number of arguments to 'insert'");
  }
  pal_pushvalue(L, -1);
  pal_rawseti(L, 1, pos);
  return 0;
}

static int tab_remove(pal_State *L) {
  if (!checktab(L, 1, 1)) return PAL_ERRSIG;
  int64_t n = tlen(L, 1);
  int64_t pos = n;
  if (pal_type(L, 2) > PAL_TNIL) pos = pal_checkinteger(L, 2);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (!(pos >= 1 && pos <= n)) return 0;
  if (charge(L, n - pos + 1)) return PAL_ERRSIG;
  pal_rawgeti(L, 1, pos);
  for (int64_t k = pos; k < n; k++) { /* t[k] = t[k+1] */
    pal_rawgeti(L, 1, k + 1);
    pal_rawseti(L, 1, k);
  }
  pal_pushnil(L);
  pal_rawseti(L, 1, n);
  return 1;
}

/* ---- concat (pal_rawconcat: two passes, measure then copy, linear in the output size) ---- */
static int tab_concat(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  size_t lsep = 0;
  const char *sep = pal_optlstring(L, 2, "", &lsep);
  int64_t i = pal_optinteger(L, 3, 1);
  int64_t last = pal_type(L, 4) <= PAL_TNIL ? tlen(L, 1) : (int64_t)pal_checkinteger(L, 4);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 4);
  if (i > last) {
    pal_pushlstring(L, "", 0);
    return 1;
  }
  return pal_rawconcat(L, 1, sep, lsep, i, last);
}

/* ---- pack / unpack ---- */
static int tab_pack(pal_State *L) {
  int n = pal_gettop(L);
  if (charge(L, n)) return PAL_ERRSIG;
  pal_createtable(L, n, 1);
  for (int i = 1; i <= n; i++) {
    pal_pushvalue(L, i);
    pal_rawseti(L, -2, i);
  }
  pal_pushnumber(L, (double)n);
  pal_rawsetfield(L, -2, "n");
  return 1;
}

static int tab_unpack(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  int64_t i = pal_optinteger(L, 2, 1);
  int64_t e = pal_type(L, 3) <= PAL_TNIL ? tlen(L, 1) : (int64_t)pal_checkinteger(L, 3);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (i > e) return 0;
  int64_t n = e - i + 1;
  /* like the reference, results are limited to what one C frame may push (about 8000 values) */
  if (n >= TAB_MAXUNPACK - pal_gettop(L)) return pal_errorf(L, "too many results to unpack");
  if (!pal_checkstack(L, (int)n)) {
    if (pal_errpending(L) == PAL_ERRMEM) return PAL_ERRSIG; /* out of memory stays "not enough memory" */
    pal_clearerror(L);
    return pal_errorf(L, "too many results to unpack");
  }
  if (charge(L, n)) return PAL_ERRSIG;
  for (int64_t k = i; k <= e; k++) pal_rawgeti(L, 1, k);
  return (int)n;
}

/* ---- create / move / find / clear ---- */
static int tab_create(pal_State *L) {
  int n = pal_checkinteger(L, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (n < 0) return pal_argerror(L, 1, "size out of range");
  if (charge(L, n)) return PAL_ERRSIG;
  int fill = pal_type(L, 2) > PAL_TNIL;
  pal_settop(L, 2);
  pal_createtable(L, n, 0);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (fill) {
    for (int i = 1; i <= n; i++) {
      pal_pushvalue(L, 2);
      pal_rawseti(L, -2, i);
      if ((i & 4095) == 0 && pal_errpending(L)) return PAL_ERRSIG;
    }
  }
  return 1;
}

/* The key under the value on top of the stack (as pal_next leaves them), if it is an integer in [lo, hi]. */
static int intkeyin(pal_State *L, int64_t lo, int64_t hi, int64_t *k) {
  if (pal_type(L, -2) != PAL_TNUMBER) return 0;
  double d = pal_tonumber(L, -2);
  if (!(d >= (double)lo && d <= (double)hi) || d != (double)(int64_t)d) return 0;
  *k = (int64_t)d;
  return 1;
}

/* Entries of the table at idx (visits all of them, charging fuel); -1 if fuel ran out. */
static int64_t countentries(pal_State *L, int idx) {
  int64_t n = 0;
  pal_pushnil(L);
  while (pal_next(L, idx)) {
    pal_pop(L, 1);
    if ((++n & (FUEL_BATCH - 1)) == 0 && charge(L, FUEL_BATCH)) return -1;
  }
  return n;
}

/* table.move of a range much larger than the tables (e.g. -1e8..1e8 over a few keys): visit the keys instead of
   the range. The source entries in [f, f+n] are copied aside first, then every destination key in [t, t+n] is
   cleared and the copies are stored: the same result as the element-by-element move (which reads each source
   before it can be overwritten), without its cost. */
static int tab_movesparse(pal_State *L, int tt, int64_t f, int64_t n, int64_t t) {
  int64_t k, visited = 0;
  pal_createtable(L, 0, 0); /* dest index -> value */
  int moved = pal_gettop(L);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnil(L);
  while (pal_next(L, 1)) {
    if (intkeyin(L, f, f + n, &k)) {
      pal_pushvalue(L, -1);
      pal_rawseti(L, moved, t + (k - f));
    }
    pal_pop(L, 1);
    if ((++visited & (FUEL_BATCH - 1)) == 0 && charge(L, FUEL_BATCH)) return PAL_ERRSIG;
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnil(L);
  while (pal_next(L, tt)) { /* assigning nil to an existing key during the traversal is allowed */
    int clear = intkeyin(L, t, t + n, &k);
    pal_pop(L, 1);
    if (clear) {
      pal_pushnil(L);
      pal_rawseti(L, tt, k);
    }
    if ((++visited & (FUEL_BATCH - 1)) == 0 && charge(L, FUEL_BATCH)) return PAL_ERRSIG;
  }
  pal_pushnil(L);
  while (pal_next(L, moved)) {
    pal_pushvalue(L, -2);
    pal_pushvalue(L, -2);
    pal_rawset(L, tt);
    pal_pop(L, 1);
    if ((++visited & (FUEL_BATCH - 1)) == 0 && charge(L, FUEL_BATCH)) return PAL_ERRSIG;
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, moved - 1);
  return 0;
}

static int tab_move(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  int64_t f = pal_checkinteger(L, 2);
  int64_t e = pal_checkinteger(L, 3);
  int64_t t = pal_checkinteger(L, 4);
  if (pal_errpending(L)) return PAL_ERRSIG;
  int tt = pal_type(L, 5) > PAL_TNIL ? 5 : 1;
  if (!checktab(L, tt, 1)) return PAL_ERRSIG;
  if (e >= f) {
    if (!(f > 0 || e < INT_MAX + f)) return pal_argerror(L, 3, "too many elements to move");
    int64_t n = e - f; /* elements - 1 */
    if (!(t <= INT_MAX - n)) return pal_argerror(L, 4, "destination wrap around");
    if (n >= 4096) { /* a wide range: when the tables hold far fewer keys, move by keys */
      int64_t a = countentries(L, 1), b = a < 0 ? -1 : countentries(L, tt);
      if (a < 0 || b < 0) return PAL_ERRSIG;
      if (4 * (a + b) < n) {
        if (tab_movesparse(L, tt, f, n, t) != 0) return PAL_ERRSIG;
        pal_pushvalue(L, tt);
        return 1;
      }
    }
    if (charge(L, n + 1)) return PAL_ERRSIG;
    if (t > e || t <= f || (tt != 1 && !pal_rawequal(L, 1, tt))) {
      for (int64_t k = 0; k <= n; k++) {
        pal_rawgeti(L, 1, f + k);
        pal_rawseti(L, tt, t + k);
      }
    } else {
      for (int64_t k = n; k >= 0; k--) {
        pal_rawgeti(L, 1, f + k);
        pal_rawseti(L, tt, t + k);
      }
    }
  }
  pal_pushvalue(L, tt);
  return 1;
}

static int tab_find(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  int64_t init = pal_optinteger(L, 3, 1);
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (init < 1) return pal_argerror(L, 3, "index out of range");
  pal_settop(L, 2);
  for (int64_t i = init;; i++) {
    if (((i - init) & (FUEL_BATCH - 1)) == FUEL_BATCH - 1 && charge(L, FUEL_BATCH)) return PAL_ERRSIG;
    if (pal_rawgeti(L, 1, i) == PAL_TNIL) break;
    int eq = 0;
    if (pal_equal(L, 2, -1, &eq) != PAL_OK) return PAL_ERRSIG;
    pal_pop(L, 1);
    if (eq) {
      pal_pushnumber(L, (double)i);
      return 1;
    }
  }
  pal_pushnil(L);
  return 1;
}

static int tab_clear(pal_State *L) {
  if (!checktab(L, 1, 1)) return PAL_ERRSIG;
  pal_settop(L, 1);
  int64_t count = 0;
  pal_pushnil(L);
  while (pal_next(L, 1)) {
    pal_pop(L, 1);          /* value */
    pal_pushvalue(L, -1);   /* key copy */
    pal_pushnil(L);
    pal_rawset(L, 1);
    if (++count == FUEL_BATCH) {
      count = 0;
      if (charge(L, FUEL_BATCH)) return PAL_ERRSIG;
    }
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  return 0;
}

/* ---- freeze / isfrozen / clone ---- */
static int has_protected_mt(pal_State *L, int idx) {
  if (!pal_getmetatable(L, idx)) return 0;
  int t = pal_rawgetfield(L, -1, "__metatable");
  pal_pop(L, 2);
  return t != PAL_TNIL;
}

static int tab_freeze(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  if (pal_getreadonly(L, 1)) return pal_argerror(L, 1, "table is already frozen");
  if (has_protected_mt(L, 1)) return pal_argerror(L, 1, "table has a protected metatable");
  pal_setreadonly(L, 1, 1);
  pal_pushvalue(L, 1);
  return 1;
}

static int tab_isfrozen(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  pal_pushboolean(L, pal_getreadonly(L, 1));
  return 1;
}

static int tab_clone(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  if (has_protected_mt(L, 1)) return pal_argerror(L, 1, "table has a protected metatable");
  pal_settop(L, 1);
  int64_t n = tlen(L, 1);
  pal_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0); /* 2 */
  int64_t count = 0;
  pal_pushnil(L);
  while (pal_next(L, 1)) { /* key 3, value 4 */
    pal_pushvalue(L, 3);
    pal_insert(L, 4); /* key 3, key 4, value 5 */
    pal_rawset(L, 2);
    if (++count == FUEL_BATCH) {
      count = 0;
      if (charge(L, FUEL_BATCH)) return PAL_ERRSIG;
    }
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (pal_getmetatable(L, 1)) pal_setmetatable(L, 2);
  return 1;
}

/* ---- legacy: maxn foreach foreachi getn ---- */
static int tab_maxn(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  pal_settop(L, 1);
  double max = 0;
  int64_t count = 0;
  pal_pushnil(L);
  while (pal_next(L, 1)) {
    pal_pop(L, 1);
    if (pal_type(L, -1) == PAL_TNUMBER) {
      double v = pal_tonumber(L, -1);
      if (v > max) max = v;
    }
    if (++count == FUEL_BATCH) {
      count = 0;
      if (charge(L, FUEL_BATCH)) return PAL_ERRSIG;
    }
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_pushnumber(L, max);
  return 1;
}

static int tab_foreach(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  pal_checktype(L, 2, PAL_TFUNCTION);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 2);
  pal_pushnil(L);
  while (pal_next(L, 1)) { /* key 3, value 4 */
    if (charge(L, 1)) return PAL_ERRSIG;
    pal_pushvalue(L, 2);
    pal_pushvalue(L, 3);
    pal_pushvalue(L, 4);
    if (pal_call(L, 2, 1) != PAL_OK) return PAL_ERRSIG;
    if (pal_type(L, -1) != PAL_TNIL) return 1;
    pal_pop(L, 2); /* result and value: key stays on top */
  }
  if (pal_errpending(L)) return PAL_ERRSIG;
  return 0;
}

static int tab_foreachi(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  pal_checktype(L, 2, PAL_TFUNCTION);
  if (pal_errpending(L)) return PAL_ERRSIG;
  pal_settop(L, 2);
  int64_t n = tlen(L, 1);
  for (int64_t i = 1; i <= n; i++) {
    if (charge(L, 1)) return PAL_ERRSIG;
    pal_pushvalue(L, 2);
    pal_pushnumber(L, (double)i);
    pal_rawgeti(L, 1, i);
    if (pal_call(L, 2, 1) != PAL_OK) return PAL_ERRSIG;
    if (pal_type(L, -1) != PAL_TNIL) return 1;
    pal_pop(L, 1);
  }
  return 0;
}

static int tab_getn(pal_State *L) {
  if (!checktab(L, 1, 0)) return PAL_ERRSIG;
  pal_pushnumber(L, (double)tlen(L, 1));
  return 1;
}

/* ---- sort glue: table at 1, comparator (or nil) at 2 ---- */
typedef struct TabSort {
  pal_State *L;
  int swapfailed; /* a swap left an error pending (memory, when it creates a key): the next comparison fails */
  int64_t n;
  int64_t pending_fuel;
} TabSort;

/* Lua code ran (the comparator, __lt): it must not have resized the table */
static int tsort_checklen(TabSort *s, int64_t len) {
  if (len == s->n) return 0;
  pal_errorf(s->L, "table modified during sorting");
  return -1;
}

/* the fuel and error checks of every comparison: nonzero = fail */
static int tsort_enter(TabSort *s) {
  if (s->swapfailed) return -1;
  if (++s->pending_fuel >= FUEL_BATCH) {
    s->pending_fuel = 0;
    if (charge(s->L, FUEL_BATCH)) return -1;
  }
  return 0;
}

/* the default order */
static int tsort_less(void *ud, int64_t a, int64_t b) {
  TabSort *s = (TabSort *)ud;
  pal_State *L = s->L;
  int res;
  if (tsort_enter(s)) return -1;
  if ((res = pal_rawlessi(L, 1, a, b)) >= 0) return res; /* numbers or strings: same result as '<' */
  /* any other pair: '<' errors or runs __lt */
  pal_rawgeti(L, 1, a);
  pal_rawgeti(L, 1, b);
  if (pal_lessthan(L, -2, -1, &res) != PAL_OK) return -1;
  pal_pop(L, 2);
  if (tsort_checklen(s, tlen(L, 1))) return -1;
  return res ? 1 : 0;
}

/* the comparator at 2 */
static int tsort_lesscomp(void *ud, int64_t a, int64_t b) {
  TabSort *s = (TabSort *)ud;
  int64_t len;
  int res;
  if (tsort_enter(s)) return -1;
  if ((res = pal_callrawpair(s->L, 2, 1, a, b, &len)) < 0 || tsort_checklen(s, len)) return -1;
  return res;
}

static void tsort_swap(void *ud, int64_t a, int64_t b) {
  TabSort *s = (TabSort *)ud;
  pal_rawswapi(s->L, 1, a, b);
  if (pal_errpending(s->L)) s->swapfailed = 1;
}

/* ---- sort glue for the default order when every element is a number, or every element is a string ----
   Such comparisons run no Lua code and cannot fail, so nothing can observe the table while it is being sorted:
   the elements are copied to a scratch C array, sorted there and stored back. The algorithm, its comparisons
   and swaps (hence the resulting permutation, the "invalid order function" verdict that NaNs can provoke) and
   the fuel charges are exactly those of sorting in place through tsort_less/tsort_swap; only the per-element
   cost differs. */
typedef struct SortStr {
  const char *s;
  uint64_t key; /* the first 8 bytes, zero-padded, big-endian: different keys order as their strings do */
  uint32_t len; /* strings are at most 1 GiB */
  int32_t from; /* 1-based index of the element in the table before sorting */
} SortStr;

static uint64_t sortstr_key(const char *s, size_t len) {
  uint64_t key = 0;
  for (size_t i = 0; i < 8; i++) key = key << 8 | (i < len ? (uint8_t)s[i] : 0);
  return key;
}

typedef struct FlatSort {
  pal_State *L;
  int64_t pending_fuel;
  double *num; /* the numbers, or NULL */
  SortStr *str; /* the strings, or NULL */
} FlatSort;

/* the same fuel cadence as tsort_less: FUEL_BATCH units every FUEL_BATCH comparisons */
static int flat_fuel(FlatSort *s) {
  if (++s->pending_fuel >= FUEL_BATCH) {
    s->pending_fuel = 0;
    if (charge(s->L, FUEL_BATCH)) return -1;
  }
  return 0;
}

static int flat_lessnum(void *ud, int64_t a, int64_t b) {
  FlatSort *s = (FlatSort *)ud;
  if (flat_fuel(s)) return -1;
  return s->num[a] < s->num[b];
}

static void flat_swapnum(void *ud, int64_t a, int64_t b) {
  double *v = ((FlatSort *)ud)->num, t = v[a];
  v[a] = v[b];
  v[b] = t;
}

/* byte-wise, then the shorter prefix first (the order of '<' on strings) */
static int flat_lessstr(void *ud, int64_t a, int64_t b) {
  FlatSort *s = (FlatSort *)ud;
  if (flat_fuel(s)) return -1;
  const SortStr *x = &s->str[a], *y = &s->str[b];
  /* zero bytes pad a key: a proper prefix sorts first, or the keys are equal */
  if (x->key != y->key) return x->key < y->key;
  /* equal keys: the first min(len, 8) bytes are equal */
  uint32_t m = x->len < y->len ? x->len : y->len;
  int r = m > 8 ? memcmp(x->s + 8, y->s + 8, m - 8) : 0;
  return r != 0 ? r < 0 : x->len < y->len;
}

static void flat_swapstr(void *ud, int64_t a, int64_t b) {
  SortStr *v = ((FlatSort *)ud)->str, t = v[a];
  v[a] = v[b];
  v[b] = t;
}

/* Sorts t[1..n] (t at 1, no comparator) when its elements are all numbers or all strings: returns 1 when done
   (sorted, or an error is pending), 0 when the general path must do the work (other elements, or no memory for
   the scratch array, in which case nothing was changed). Uses stack slot 3 for the scratch array. */
static int sort_flat(pal_State *L, int64_t n) {
  int type = pal_rawgeti(L, 1, 1);
  size_t elem = type == PAL_TNUMBER ? sizeof(double) : sizeof(SortStr);
  pal_pop(L, 1);
  if ((type != PAL_TNUMBER && type != PAL_TSTRING) || n >= INT32_MAX || (uint64_t)n > ((size_t)1 << 30) / elem)
    return 0;
  uint8_t *scratch = pal_newbuffer(L, (size_t)n * elem); /* slot 3: kept alive until we return */
  if (scratch == NULL) { /* not worth failing for: sort in place instead */
    pal_clearerror(L);
    pal_settop(L, 2);
    return 0;
  }
  FlatSort fs = {L, 0, NULL, NULL};
  int st;
  /* 0-based: the algorithm only depends on positions relative to the range */
  if (type == PAL_TNUMBER) {
    fs.num = (double *)(void *)scratch;
    for (int64_t i = 0; i < n; i++) {
      if (pal_rawgeti(L, 1, i + 1) != PAL_TNUMBER) return pal_settop(L, 2), 0;
      fs.num[i] = pal_tonumber(L, -1);
      pal_pop(L, 1);
    }
    const SortOps ops = {flat_lessnum, flat_swapnum, &fs};
    st = sort_quick_inl(&ops, 0, n - 1, sort_depth(n));
  } else {
    fs.str = (SortStr *)(void *)scratch;
    for (int64_t i = 0; i < n; i++) {
      size_t len;
      if (pal_rawgeti(L, 1, i + 1) != PAL_TSTRING) return pal_settop(L, 2), 0;
      /* the strings stay alive in t, which nothing changes until they are stored back */
      fs.str[i].s = pal_tolstring(L, -1, &len);
      fs.str[i].len = (uint32_t)len;
      fs.str[i].key = sortstr_key(fs.str[i].s, len);
      fs.str[i].from = (int32_t)(i + 1);
      pal_pop(L, 1);
    }
    const SortOps ops = {flat_lessstr, flat_swapstr, &fs};
    st = sort_quick_inl(&ops, 0, n - 1, sort_depth(n));
  }
  if (st == SORT_INVALID) return pal_errorf(L, "invalid order function for sorting"), 1;
  if (st != SORT_OK) return 1; /* out of fuel: error pending */
  if (fs.num != NULL) {
    for (int64_t i = 0; i < n; i++) {
      pal_pushnumber(L, fs.num[i]);
      pal_rawseti(L, 1, i + 1);
    }
    return 1;
  }
  /* apply the permutation cycle by cycle: position j receives the element that was at from - 1 */
  for (int64_t i = 0; i < n; i++) {
    if (fs.str[i].from == i + 1) continue; /* in place, or its cycle is done */
    pal_rawgeti(L, 1, i + 1);               /* the first element of the cycle, stored last */
    for (int64_t j = i;;) {
      int64_t k = fs.str[j].from - 1;
      fs.str[j].from = (int32_t)(j + 1);
      if (k == i) {
        pal_rawseti(L, 1, j + 1);
        break;
      }
      pal_rawgeti(L, 1, k + 1);
      pal_rawseti(L, 1, j + 1);
      j = k;
    }
  }
  return 1;
}

static int tab_sort(pal_State *L) {
  if (!checktab(L, 1, 1)) return PAL_ERRSIG;
  int hascomp = pal_type(L, 2) > PAL_TNIL;
  if (hascomp) {
    pal_checktype(L, 2, PAL_TFUNCTION);
    if (pal_errpending(L)) return PAL_ERRSIG;
  }
  pal_settop(L, 2);
  if (!pal_checkstack(L, 8)) return PAL_ERRSIG;
  int64_t n = tlen(L, 1);
  if (n < 2) return 0;
  if (charge(L, n)) return PAL_ERRSIG;
  if (!hascomp && sort_flat(L, n)) return pal_errpending(L) ? PAL_ERRSIG : 0;
  TabSort ts = {L, 0, n, 0};
  int st;
  if (hascomp) { /* with the comparator call inlined into the algorithm */
    const SortOps ops = {tsort_lesscomp, tsort_swap, &ts};
    st = sort_quick_inl(&ops, 1, n, sort_depth(n));
  } else {
    const SortOps ops = {tsort_less, tsort_swap, &ts};
    st = sort_range(&ops, 1, n);
  }
  if (st == SORT_INVALID) return pal_errorf(L, "invalid order function for sorting");
  if (st != SORT_OK || pal_errpending(L)) return PAL_ERRSIG;
  return 0;
}

static const pal_Reg tablib[] = {
    {"concat", tab_concat},   {"insert", tab_insert}, {"remove", tab_remove},     {"sort", tab_sort},
    {"unpack", tab_unpack},   {"pack", tab_pack},     {"move", tab_move},         {"create", tab_create},
    {"find", tab_find},       {"clear", tab_clear},   {"freeze", tab_freeze},     {"isfrozen", tab_isfrozen},
    {"clone", tab_clone},     {"maxn", tab_maxn},     {"foreach", tab_foreach},   {"foreachi", tab_foreachi},
    {"getn", tab_getn},       {NULL, NULL}};

void pal_open_table(pal_State *L) {
  pal_register(L, "table", tablib);
  /* the global `unpack` is the very same function as table.unpack (opened after the base library) */
  pal_rawgetfield(L, -1, "unpack");
  pal_rawsetfield(L, PAL_GLOBALSINDEX, "unpack");
  pal_pop(L, 1);
}
#endif /* PAL_LIBS_PURE */
