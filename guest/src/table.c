/*
 * table.c - tables: an array part for the keys 1..sizearray and a hash part for every other key.
 *
 * Hash part: a power-of-2 vector of nodes using coalesced chaining. Every key is reachable from its "main
 * position" (hash & (size-1)) by following `next` offsets. A colliding key goes to a free node taken from the
 * top of the vector (t->lastfree walks downwards); if the node at the new key's main position is held by a key
 * that is NOT in its own main position, that key is moved to the free node instead, so that main positions
 * stay useful. When no free node is left, the table is rebuilt ("rehash") with sizes chosen from the live keys.
 *
 * Setting a value to nil leaves the key in place (a "dead" key with a nil value): lookups skip over it,
 * next() can still find it (so assignments during traversal are harmless) and a later store of the same key
 * reuses the node. Dead keys are never dereferenced (they may point to collected objects); they are compared
 * by identity only and disappear at the next rehash. A table made from a constructor's shape (tab_newshape) starts
 * with the constructor's keys dead, each coming alive when the constructor stores its value.
 *
 * Number keys are normalised: -0 is stored as 0, integral values 1..sizearray live in the array part.
 */
#include "gc.h"

const TValue pal_nilobject = {{NULL}, PAL_TNIL};

Node tab_dummynode = {{{NULL}, PAL_TNIL}, {NULL}, PAL_TNIL, 0};
#define dummynode (&tab_dummynode)

#define MAXABITS 26 /* array part: at most 2^26 slots */
#define MAXASIZE ((int)1 << MAXABITS)
#define MAXHBITS 26 /* hash part: at most 2^26 nodes */

/* A table created with known small sizes (a constructor: {x = 1, y = 2}, {a, b, c}) gets its array and hash
   parts in the same block as the Table, right after the header: one allocation and one free instead of up to
   three. A part that outgrows its inline place moves to a block of its own; the inline bytes stay with the
   Table (unused) until it is freed. */
#define TAB_HDRSIZE ((sizeof(Table) + 7) & ~(size_t)7) /* the inline parts are 8-aligned */
#define TAB_INLINEMAX 256 /* at most this many bytes in all: a block mem.c's small-block allocator serves */
#define tab_blocksize(t) (TAB_HDRSIZE + (size_t)(t)->inlinesize * 8)

/* whether p (t's array or node vector) lives in t's own block */
static int isinline(const Table *t, const void *p) {
  return (uintptr_t)p - (uintptr_t)t < tab_blocksize(t);
}


static int runerror(pal_State *L, const char *msg) {
  TString *s = str_newz(L, msg);
  if (s != NULL) {
    TValue v;
    setsvalue(&v, s);
    vm_seterror(L, PAL_ERRRUN, &v);
  }
  return L->errstatus != PAL_OK ? L->errstatus : PAL_ERRRUN;
}

/* ---------------- hashing ---------------- */

static uint32_t hash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

static uint32_t hash_num(double n) {
  uint64_t bits;
  if (n == 0) n = 0; /* -0 and 0 are the same key */
  memcpy(&bits, &n, sizeof bits);
  return hash_u64(bits);
}

static uint32_t hash_ptr(const void *p) {
  return hash_u64((uint64_t)(uintptr_t)p);
}

/* hash of a key given as tag + value: only called for live keys (a string's precomputed hash is read; no other
   object is dereferenced) */
static uint32_t hashkey(int tt, const Value *v) {
  switch (tt) {
    case PAL_TNUMBER: return hash_num(v->n);
    case PAL_TSTRING: return ((const TString *)v->gc)->hash;
    case PAL_TBOOLEAN: return v->b ? 0x9e3779b9u : 0x7f4a7c15u;
    case PAL_TLIGHTUSERDATA: return hash_ptr(v->p);
    default: return hash_ptr(v->gc);
  }
}

/* the node at hash position h */
#define hashpos(t, h) (&(t)->node[(h) & (t)->nodemask])

static Node *mainposition(const Table *t, const TValue *key) {
  return hashpos(t, hashkey(ttype(key), &key->v));
}

/* raw key equality with a node's key, by identity for objects (never dereferences: dead keys may dangle) */
static int nodekeyequal(const Node *n, const TValue *k) {
  if (n->keytt != ttype(k)) return 0;
  switch (ttype(k)) {
    case PAL_TNIL: return 1;
    case PAL_TNUMBER: return n->key.n == nvalue(k);
    case PAL_TBOOLEAN: return n->key.b == bvalue(k);
    case PAL_TLIGHTUSERDATA: return n->key.p == pvalue(k);
    default: return n->key.gc == gcvalue(k);
  }
}

/* node holding key (live or dead), NULL if none, starting from the key's main position mp */
static Node *findfrom(Node *mp, const TValue *key) {
  Node *n = mp;
  for (;;) {
    if (nodekeyequal(n, key)) return n;
    if (n->next == 0) return NULL;
    n += n->next;
  }
}

/* node holding key (live or dead), NULL if none. key must not be nil. */
static Node *findnode(const Table *t, const TValue *key) {
  return findfrom(mainposition(t, key), key);
}

/* the same for a number key (not NaN; -0 finds 0) */
static Node *findnum(const Table *t, double d) {
  Node *n = hashpos(t, hash_num(d));
  for (;;) {
    if (n->keytt == PAL_TNUMBER && n->key.n == d) return n;
    if (n->next == 0) return NULL;
    n += n->next;
  }
}

/* array index of an integral number key in 1..sizearray, else 0 */
static int arrayindex(const Table *t, double n) {
  if (n >= 1 && n <= (double)t->sizearray) {
    int i = (int)n;
    if ((double)i == n) return i;
  }
  return 0;
}

/* empty slots (loops rather than memset: most tables are small, and in WebAssembly memset is a libc call) */
static void clearvalues(TValue *v, int n) {
  for (int i = 0; i < n; i++) setnilvalue(&v[i]);
}

static void clearnodes(Node *nd, int n) {
  for (int i = 0; i < n; i++) {
    setnilvalue(&nd[i].val);
    nd[i].keytt = PAL_TNIL;
    nd[i].next = 0;
  }
}

/* ---------------- reads ---------------- */

const TValue *tab_getstr(Table *t, TString *key) {
  Node *n = hashpos(t, key->hash);
  for (;;) {
    if (n->keytt == PAL_TSTRING && n->key.gc == (GCObject *)key) return &n->val;
    if (n->next == 0) return &pal_nilobject;
    n += n->next;
  }
}

const TValue *tab_getnum(Table *t, double n) {
  int i = arrayindex(t, n);
  Node *nd;
  if (i > 0) return &t->array[i - 1];
  if (n != n || tab_isdummy(t)) return &pal_nilobject; /* (no hashing for an empty hash part) */
  nd = findnum(t, n);
  return nd ? &nd->val : &pal_nilobject;
}

const TValue *tab_getint(Table *t, int64_t n) {
  if ((uint64_t)n - 1 < (uint64_t)t->sizearray) return &t->array[n - 1];
  return tab_getnum(t, (double)n);
}

const TValue *tab_get(Table *t, const TValue *key) {
  Node *nd;
  switch (ttype(key)) {
    case PAL_TNIL: return &pal_nilobject;
    case PAL_TNUMBER: return tab_getnum(t, nvalue(key));
    case PAL_TSTRING: return tab_getstr(t, tsvalue(key));
    default:
      nd = findnode(t, key);
      return nd ? &nd->val : &pal_nilobject;
  }
}

/* ---------------- sizing ---------------- */

/* nums[b] counts integer keys k with 2^(b-1) < k <= 2^b (nums[0]: k == 1) */
static int keyslice(int64_t k) {
  return k <= 1 ? 0 : 64 - __builtin_clzll((uint64_t)(k - 1));
}

/* counts key in nums if it is an integer key that an array part could hold; returns 1 if so */
static int countintkey(int tt, const Value *v, int *nums) {
  double n;
  int64_t k;
  if (tt != PAL_TNUMBER) return 0;
  n = v->n;
  if (!(n >= 1 && n <= (double)MAXASIZE)) return 0;
  k = (int64_t)n;
  if ((double)k != n) return 0;
  nums[keyslice(k)]++;
  return 1;
}

/* counts the non-nil slots of the array part into nums, slice by slice; returns their number */
static int countarray(const Table *t, int *nums) {
  int total = 0, i = 0;
  for (int b = 0; b <= MAXABITS && i < t->sizearray; b++) {
    int lim = (int)1 << b, c = 0; /* slice b holds the keys up to 2^b, i.e. the slots below that */
    if (lim > t->sizearray) lim = t->sizearray;
    for (; i < lim; i++)
      if (!ttisnil(&t->array[i])) c++;
    nums[b] += c;
    total += c;
  }
  return total;
}

/* Largest power of two n such that more than n/2 of the slots 1..n would be used. *inarray = keys it takes. */
static int choosearraysize(const int *nums, int nintkeys, int *inarray) {
  int best = 0, bestcount = 0, cum = 0;
  for (int b = 0; b <= MAXABITS; b++) {
    int slots = (int)1 << b;
    if (slots / 2 >= nintkeys) break; /* even all integer keys could not fill more than half */
    cum += nums[b];
    if (cum > slots / 2) {
      best = slots;
      bestcount = cum;
    }
  }
  *inarray = bestcount;
  return best;
}

static int ceillog2(unsigned x) {
  return x <= 1 ? 0 : 32 - __builtin_clz(x - 1);
}

/* Insert a key known to be absent into the hash part (no rehash); mp is its main position. Returns the value
   slot, NULL if the hash part is full. */
static inline __attribute__((always_inline)) TValue *insertnode(Table *t, Node *mp, const TValue *key) {
  if (!ttisnil(&mp->val) || tab_isdummy(t)) {
    Node *f = NULL, *other;
    if (!tab_isdummy(t)) {
      while (t->lastfree > t->node) {
        t->lastfree--;
        if (t->lastfree->keytt == PAL_TNIL) {
          f = t->lastfree;
          break;
        }
      }
    }
    if (f == NULL) return NULL;
    other = hashpos(t, hashkey(mp->keytt, &mp->key)); /* mp's value is non-nil here: its key is live */
    if (other != mp) {
      /* the occupant is a colliding key from another chain: move it to f, give mp to the new key */
      while (other + other->next != mp) other += other->next;
      other->next = (int)(f - other);
      *f = *mp;
      if (mp->next != 0) {
        f->next += (int)(mp - f);
        mp->next = 0;
      }
      setnilvalue(&mp->val);
    } else {
      /* the occupant is in its main position: chain the new key right after it, in f */
      f->next = mp->next != 0 ? (int)(mp + mp->next - f) : 0;
      mp->next = (int)(f - mp);
      mp = f;
    }
  }
  /* (a dead key at mp is simply overwritten: the node keeps its chain link) */
  mp->key = key->v;
  mp->keytt = ttype(key);
  return &mp->val;
}

/* store a live key into a table with enough room (used while rebuilding) */
static inline __attribute__((always_inline)) void reinsert(Table *t, const TValue *key, const TValue *val) {
  TValue *slot;
  if (ttisnumber(key)) {
    int i = arrayindex(t, nvalue(key));
    if (i > 0) {
      setobj(&t->array[i - 1], val);
      return;
    }
  }
  slot = insertnode(t, mainposition(t, key), key);
  if (slot != NULL) setobj(slot, val); /* always succeeds: the caller sized the hash part */
}

/* Rebuild with the given sizes; nhsize must be at least the number of live keys that do not go to the new
   array part (tab_resize works that out; rehash knows it). */
static int resize(pal_State *L, Table *t, int nasize, int nhsize) {
  int oldasize = t->sizearray;
  int oldhsize = tab_isdummy(t) ? 0 : tab_sizenode(t);
  TValue *oldarray = t->array;
  Node *oldnode = t->node;
  TValue *newarray = NULL;
  Node *newnode = dummynode;
  int lsize = 0, hsize = 0;
  if (nhsize > 0) {
    lsize = ceillog2((unsigned)nhsize);
    if (lsize > MAXHBITS) return runerror(L, "table overflow");
    hsize = (int)1 << lsize;
    newnode = mem_newvector(L, hsize, Node);
    if (newnode == NULL) return L->errstatus ? L->errstatus : PAL_ERRMEM;
    clearnodes(newnode, hsize);
  }
  if (nasize > 0) {
    newarray = mem_newvector(L, nasize, TValue);
    if (newarray == NULL) {
      if (newnode != dummynode) mem_freevector(L, newnode, hsize, Node);
      return L->errstatus ? L->errstatus : PAL_ERRMEM;
    }
    if (oldasize > 0) memcpy(newarray, oldarray, (size_t)(nasize < oldasize ? nasize : oldasize) * sizeof(TValue));
    if (nasize > oldasize) clearvalues(newarray + oldasize, nasize - oldasize);
  }
  t->array = newarray;
  t->sizearray = nasize;
  t->node = newnode;
  t->nodemask = ((uint32_t)1 << lsize) - 1;
  t->lastfree = newnode == dummynode ? NULL : newnode + hsize;
  for (int i = nasize; i < oldasize; i++) {
    if (!ttisnil(&oldarray[i])) {
      TValue k;
      setnvalue(&k, (double)(i + 1));
      reinsert(t, &k, &oldarray[i]);
    }
  }
  for (int i = 0; i < oldhsize; i++) {
    Node *n = &oldnode[i];
    if (!ttisnil(&n->val)) {
      TValue k;
      getnodekey(&k, n);
      reinsert(t, &k, &n->val);
    }
  }
  if (oldarray != NULL && !isinline(t, oldarray)) mem_freevector(L, oldarray, oldasize, TValue);
  if (oldnode != dummynode && !isinline(t, oldnode)) mem_freevector(L, oldnode, oldhsize, Node);
  return PAL_OK;
}

int tab_resize(pal_State *L, Table *t, int nasize, int nhsize) {
  int oldasize = t->sizearray;
  int oldhsize = tab_isdummy(t) ? 0 : tab_sizenode(t);
  int need = 0;
  tab_changed(G(L), t);
  if (nasize < 0) nasize = 0;
  if (nhsize < 0) nhsize = 0;
  if (nasize > MAXASIZE) return runerror(L, "table overflow");
  /* the hash part must hold every live key that does not go to the new array part */
  for (int i = nasize; i < oldasize; i++)
    if (!ttisnil(&t->array[i])) need++;
  for (int i = 0; i < oldhsize; i++) {
    Node *n = &t->node[i];
    if (ttisnil(&n->val)) continue;
    if (n->keytt == PAL_TNUMBER) {
      double k = n->key.n;
      if (k >= 1 && k <= (double)nasize && (double)(int)k == k) continue;
    }
    need++;
  }
  return resize(L, t, nasize, nhsize < need ? need : nhsize);
}

/* Rebuild t so that it has room for its live keys plus `extra`. */
static int rehash(pal_State *L, Table *t, const TValue *extra) {
  int nums[MAXABITS + 1];
  int nint, total, inarray = 0, nasize;
  if (t->sizearray == 0 && !ttisnumber(extra)) {
    /* no array part and no number key to add (records, objects): the array part stays empty unless the hash
       part holds a number key, so the slices are only counted then */
    int size = tab_isdummy(t) ? 0 : tab_sizenode(t), i;
    total = 1;
    for (i = 0; i < size; i++) {
      const Node *n = &t->node[i];
      if (ttisnil(&n->val)) continue;
      if (n->keytt == PAL_TNUMBER) break;
      total++;
    }
    if (i == size) return resize(L, t, 0, total);
  }
  memset(nums, 0, sizeof nums);
  nint = total = countarray(t, nums);
  if (!tab_isdummy(t)) {
    int size = tab_sizenode(t);
    for (int i = 0; i < size; i++) {
      Node *n = &t->node[i];
      if (ttisnil(&n->val)) continue;
      nint += countintkey(n->keytt, &n->key, nums);
      total++;
    }
  }
  nint += countintkey(ttype(extra), &extra->v, nums);
  total++;
  nasize = choosearraysize(nums, nint, &inarray);
  /* every integer key in 1..nasize goes to the array part: the others (and extra) to the hash part */
  return resize(L, t, nasize, total - inarray);
}

/* ---------------- writes ---------------- */

/* key: normalised, non-nil, non-NaN, absent from the table (mp: its main position); val non-nil */
static int newkey(pal_State *L, Table *t, Node *mp, const TValue *key, const TValue *val) {
  TValue *slot = insertnode(t, mp, key);
  if (slot == NULL) {
    int st = rehash(L, t, key);
    if (st != PAL_OK) return st;
    if (ttisnumber(key)) {
      int i = arrayindex(t, nvalue(key));
      if (i > 0) {
        setobj(&t->array[i - 1], val);
        return PAL_OK;
      }
    }
    slot = insertnode(t, mainposition(t, key), key);
    if (slot == NULL) return runerror(L, "table overflow"); /* cannot happen */
  }
  setobj(slot, val);
  return PAL_OK;
}

/* t[sizearray + 1] = val (non-nil) in a table without a hash part: double the array part instead of going
   through the hash part and a rehash (the size a rehash would choose for a growing array anyway) */
static int appendarray(pal_State *L, Table *t, const TValue *val) {
  int oldsize = t->sizearray;
  int newsize = oldsize == 0 ? 1 : oldsize * 2;
  TValue *na;
  if (newsize > MAXASIZE) newsize = MAXASIZE;
  if (isinline(t, t->array)) { /* (an inline array cannot be resized in place) */
    na = mem_newvector(L, newsize, TValue);
    if (na != NULL) memcpy(na, t->array, (size_t)oldsize * sizeof(TValue));
  } else {
    na = (TValue *)mem_realloc(L, t->array, (size_t)oldsize * sizeof(TValue), (size_t)newsize * sizeof(TValue));
  }
  if (na == NULL) return L->errstatus ? L->errstatus : PAL_ERRMEM;
  clearvalues(na + oldsize + 1, newsize - oldsize - 1);
  setobj(&na[oldsize], val);
  t->array = na;
  t->sizearray = newsize;
  return PAL_OK;
}

/* t[n] = val for a key outside the array part; known_absent: the caller looked n up and found no node */
static int setnumhash(pal_State *L, Table *t, double n, const TValue *val, int known_absent) {
  TValue k;
  Node *mp, *nd;
  if (n == (double)t->sizearray + 1 && tab_isdummy(t) && !ttisnil(val) && t->sizearray < MAXASIZE)
    return appendarray(L, t, val);
  if (n != n) return runerror(L, "table index is NaN");
  if (n == 0) n = 0; /* -0 -> 0 */
  setnvalue(&k, n);
  mp = hashpos(t, hash_num(n));
  if (!known_absent) {
    for (nd = mp;;) {
      if (nd->keytt == PAL_TNUMBER && nd->key.n == n) {
        setobj(&nd->val, val);
        return PAL_OK;
      }
      if (nd->next == 0) break;
      nd += nd->next;
    }
  }
  if (ttisnil(val)) return PAL_OK;
  return newkey(L, t, mp, &k, val);
}

static int setnum(pal_State *L, Table *t, double n, const TValue *val) {
  int i;
  t->tmcache = 0;
  i = arrayindex(t, n);
  if (i > 0) {
    setobj(&t->array[i - 1], val);
    return PAL_OK;
  }
  return setnumhash(L, t, n, val, 0);
}

int tab_setint(pal_State *L, Table *t, int64_t n, const TValue *val) {
  tab_changed(G(L), t);
  if ((uint64_t)n - 1 < (uint64_t)t->sizearray) {
    t->tmcache = 0;
    setobj(&t->array[n - 1], val);
    return PAL_OK;
  }
  return setnum(L, t, (double)n, val);
}

int tab_setstr(pal_State *L, Table *t, TString *key, const TValue *val) {
  TValue k;
  Node *mp = hashpos(t, key->hash), *n = mp;
  tab_changed(G(L), t);
  t->tmcache = 0;
  for (;;) {
    if (n->keytt == PAL_TSTRING && n->key.gc == (GCObject *)key) {
      setobj(&n->val, val);
      return PAL_OK;
    }
    if (n->next == 0) break;
    n += n->next;
  }
  if (ttisnil(val)) return PAL_OK;
  setsvalue(&k, key);
  return newkey(L, t, mp, &k, val);
}

int tab_set(pal_State *L, Table *t, const TValue *key, const TValue *val) {
  Node *mp, *nd;
  tab_changed(G(L), t);
  switch (ttype(key)) {
    case PAL_TNIL: t->tmcache = 0; return runerror(L, "table index is nil");
    case PAL_TNUMBER: return setnum(L, t, nvalue(key), val);
    case PAL_TSTRING: return tab_setstr(L, t, tsvalue(key), val);
    default: break;
  }
  t->tmcache = 0;
  mp = mainposition(t, key);
  nd = findfrom(mp, key);
  if (nd != NULL) {
    setobj(&nd->val, val);
    return PAL_OK;
  }
  if (ttisnil(val)) return PAL_OK;
  return newkey(L, t, mp, key, val);
}

int tab_setnew(pal_State *L, Table *t, const TValue *key, const TValue *val) {
  Node *mp;
  tab_changed(G(L), t);
  switch (ttype(key)) {
    case PAL_TNUMBER: t->tmcache = 0; return setnumhash(L, t, nvalue(key), val, 1);
    case PAL_TNIL: return tab_set(L, t, key, val); /* the error */
    case PAL_TSTRING: mp = hashpos(t, tsvalue(key)->hash); break;
    default: mp = mainposition(t, key); break;
  }
  t->tmcache = 0;
  if (ttisnil(val)) return PAL_OK;
  if (tab_putfree(t, mp, key, val)) return PAL_OK; /* (e.g. filling a table sized for its keys) */
  return newkey(L, t, mp, key, val);
}

/* ---------------- creation / destruction ---------------- */

/* In wasm, every memory access is bounds-checked unless one through the same pointer value already reached further
   (object.h). NODE_OPAQUE(p) makes the compiler forget how a node pointer was computed, so that it addresses the
   node's fields from p with constant offsets instead of computing each field's address from the loop's start (each
   then checked on its own); NODE_V(p, f) is p->f as a volatile access, kept in its place: the last field first (as
   vm.c's OPAQUE and VREAD). */
#ifdef __wasm__
#define NODE_OPAQUE(p) __asm__("" : "+r"(p))
#define NODE_V(p, f) (((volatile __typeof__(*(p)) *)(p))->f)
#else
#define NODE_OPAQUE(p) ((void)0)
#define NODE_V(p, f) ((p)->f)
#endif

/* a shape's nodes into a new table's hash part: keys (strings, or none) and chain links copied, values nil (each
   node's fields from the last to the first: the first access to a node covers the bounds check of the others) */
static inline __attribute__((always_inline)) void copynodes(Node *d, const Node *s, int n) {
  for (int i = 0; i < n; i++) {
    Node *dn = d + i;
    const Node *sn = s + i;
    int next, keytt;
    GCObject *key;
    NODE_OPAQUE(dn);
    NODE_OPAQUE(sn);
    next = NODE_V(sn, next);
    keytt = NODE_V(sn, keytt);
    key = NODE_V(sn, key.gc);
    NODE_V(dn, next) = next;
    NODE_V(dn, keytt) = keytt;
    NODE_V(dn, key.gc) = key;
    NODE_V(dn, val.tt) = PAL_TNIL;
  }
}

/* a new table with inline parts: narray array slots and, if lsize >= 0, a hash part of 2^lsize nodes, empty or
   (shape != NULL) copied from shape */
static inline __attribute__((always_inline)) Table *newtable(pal_State *L, int narray, int lsize,
                                                             const TableShape *shape) {
  size_t asize = (size_t)narray * sizeof(TValue), hsize = lsize < 0 ? 0 : sizeof(Node) << lsize;
  Table *t = (Table *)mem_newobj(L, TAB_HDRSIZE + asize + hsize, PAL_TTABLE);
  if (t == NULL) return NULL;
  t->readonly = 0;
  t->tmcache = 0;
  t->weakmode = 0;
  t->inlinesize = (uint8_t)((asize + hsize) / 8);
  t->watched = 0;
  t->sizearray = narray;
  t->lenhint = 0;
  t->nodemask = 0;
  t->array = NULL;
  t->node = dummynode;
  t->lastfree = NULL;
  t->metatable = NULL;
  t->gclist = NULL;
  if (narray > 0) {
    t->array = (TValue *)(void *)((char *)t + TAB_HDRSIZE);
    clearvalues(t->array, narray);
  }
  if (lsize >= 0) {
    int n = (int)1 << lsize;
    t->node = (Node *)(void *)((char *)t + TAB_HDRSIZE + asize);
    t->nodemask = (uint32_t)n - 1;
    if (shape != NULL) {
      t->lastfree = t->node + shape->lastfree;
      copynodes(t->node, shape->node, n);
    } else {
      t->lastfree = t->node + n;
      clearnodes(t->node, n);
    }
  }
  return t;
}

Table *tab_new(pal_State *L, int narray, int nhash) {
  Table *t;
  if (narray >= 0 && TAB_HDRSIZE + (size_t)narray * sizeof(TValue) <= TAB_INLINEMAX) {
    if (nhash <= 0) return newtable(L, narray, -1, NULL); /* {} and lists */
    if (nhash <= TAB_INLINEMAX) {
      int lsize = ceillog2((unsigned)nhash);
      if (TAB_HDRSIZE + (size_t)narray * sizeof(TValue) + (sizeof(Node) << lsize) <= TAB_INLINEMAX)
        return newtable(L, narray, lsize, NULL);
    }
  }
  t = newtable(L, 0, -1, NULL); /* too large to be inline: separate parts */
  if (t != NULL && tab_resize(L, t, narray, nhash) != PAL_OK) return NULL;
  return t;
}

/* The hash part of a shape: 2^ceil(log2(nkeys)) nodes (the size tab_new gives a constructor with nkeys keyed items),
   doubled when nkeys fills them and the doubled part still fits in the table's own block. Objects often get one
   more field after their constructor (a subclass's constructor adds its own, a field set later): in a full table
   that costs a rehash and a node vector of its own (the inline nodes stay unused), while the spare nodes cost
   32 bytes each and no allocation. (Not beyond the inline size: there they would cost an allocation too.) */
int tab_shape(pal_State *L, TableShape *s, int narray, TString *const *keys, int nkeys) {
  Table t; /* a scratch header over the shape's nodes, for insertnode (it reads node, nodemask and lastfree) */
  int lsize = ceillog2((unsigned)nkeys), n;
  Node *node;
  if (nkeys == 1 << lsize &&
      TAB_HDRSIZE + (size_t)narray * sizeof(TValue) + (sizeof(Node) << (lsize + 1)) <= TAB_INLINEMAX)
    lsize++;
  n = 1 << lsize;
  node = mem_newvector(L, n, Node);
  if (node == NULL) return 0;
  clearnodes(node, n);
  t.node = node;
  t.nodemask = (uint32_t)n - 1;
  t.lastfree = node + n;
  for (int i = 0; i < nkeys; i++) {
    TValue k, *slot;
    Node *mp = hashpos(&t, keys[i]->hash);
    setsvalue(&k, keys[i]);
    if (findfrom(mp, &k) != NULL) continue; /* a duplicate: {x = 1, x = 2} */
    slot = insertnode(&t, mp, &k); /* (never NULL: there is a node per key) */
    /* a placeholder value while the keys are placed: insertnode takes a node with a nil value for a free one */
    setbvalue(slot, 1);
  }
  for (int i = 0; i < n; i++) setnilvalue(&node[i].val);
  s->node = node;
  s->narray = narray;
  s->lastfree = (int)(t.lastfree - node);
  s->lsize = (uint8_t)lsize;
  return 1;
}

void tab_freeshape(pal_State *L, TableShape *s) {
  mem_freevector(L, s->node, (size_t)1 << s->lsize, Node);
}

Table *tab_newshape(pal_State *L, const TableShape *s) {
  int n = 1 << s->lsize;
  Table *t;
  if (TAB_HDRSIZE + (size_t)s->narray * sizeof(TValue) + (size_t)n * sizeof(Node) <= TAB_INLINEMAX)
    return newtable(L, s->narray, s->lsize, s);
  t = tab_new(L, s->narray, n); /* too large to be inline: a hash part of the same size, then the copy */
  if (t == NULL) return NULL;
  copynodes(t->node, s->node, n);
  t->lastfree = t->node + s->lastfree;
  return t;
}

void tab_free(pal_State *L, Table *t) {
  tab_changed(G(L), t); /* (its address may be reused) */
  if (t->array != NULL && !isinline(t, t->array)) mem_freevector(L, t->array, t->sizearray, TValue);
  if (!tab_isdummy(t) && !isinline(t, t->node)) mem_freevector(L, t->node, tab_sizenode(t), Node);
  mem_free(L, t, tab_blocksize(t));
}

/* (no tab_changed: values only become nil, which a cached global lookup re-checks and a sealed table may lose) */
void tab_clear(Table *t) {
  clearvalues(t->array, t->sizearray);
  if (!tab_isdummy(t)) {
    int size = tab_sizenode(t);
    clearnodes(t->node, size);
    t->lastfree = t->node + size;
  }
  t->tmcache = 0;
}

/* ---------------- traversal ---------------- */

/* position after `key` (0 = start): 1..sizearray for array keys, sizearray+1+node index for hash keys */
static int findindex(pal_State *L, Table *t, const TValue *key) {
  Node *nd;
  if (ttisnil(key)) return 0;
  if (ttisnumber(key)) {
    int i = arrayindex(t, nvalue(key));
    if (i > 0) return i;
  }
  nd = findnode(t, key);
  if (nd == NULL || tab_isdummy(t)) {
    runerror(L, "invalid key to 'next'");
    return -1;
  }
  return t->sizearray + (int)(nd - t->node) + 1;
}

int tab_nextpos(Table *t, int index, TValue *key, TValue *val) {
  int i = index < 0 ? 0 : index;
  int size = tab_sizenode(t);
  for (; i < t->sizearray; i++) {
    if (!ttisnil(&t->array[i])) {
      setnvalue(key, (double)(i + 1));
      setobj(val, &t->array[i]);
      return i + 1;
    }
  }
  for (i -= t->sizearray; i < size; i++) {
    Node *n = &t->node[i];
    if (!ttisnil(&n->val)) {
      getnodekey(key, n);
      setobj(val, &n->val);
      return t->sizearray + i + 1;
    }
  }
  return 0;
}

int tab_next(pal_State *L, Table *t, TValue *key, TValue *val) {
  int i = findindex(L, t, key);
  if (i < 0) return -1;
  return tab_nextpos(t, i, key, val) > 0 ? 1 : 0;
}

/* ---------------- length ---------------- */

static int64_t hashborder(Table *t, int64_t i) {
  /* t[i] is non-nil (or i == 0): find j with t[j] nil by doubling, then binary search */
  int64_t j = i + 1;
  while (!ttisnil(tab_getint(t, j))) {
    i = j;
    if (j > ((int64_t)1 << 52)) { /* pathological: linear search from 1 */
      int64_t k = 1;
      while (!ttisnil(tab_getint(t, k))) k++;
      return k - 1;
    }
    j *= 2;
  }
  while (j - i > 1) {
    int64_t m = i + (j - i) / 2;
    if (ttisnil(tab_getint(t, m)))
      j = m;
    else
      i = m;
  }
  return i;
}

/* a border inside the array part, whose last slot is nil: i = 0 or t[i] non-nil, t[j] nil */
static int64_t arrayborder(Table *t) {
  int64_t n = t->sizearray, h = t->lenhint, j = n, i = 0, stop = n > 8 ? n - 8 : 0;
  /* after an append, the border is usually just past the last one found (tab_len checked h itself) */
  if (h > 0 && h + 1 < n && !ttisnil(&t->array[h - 1]) && !ttisnil(&t->array[h]) && ttisnil(&t->array[h + 1])) {
    t->lenhint = (int)(h + 1);
    return h + 1;
  }
  /* then look just below the end (cheap and matches common layouts), then binary search */
  while (j - 1 > stop) {
    if (!ttisnil(&t->array[j - 2])) {
      t->lenhint = (int)(j - 1);
      return j - 1;
    }
    j--;
  }
  while (j - i > 1) {
    int64_t m = i + (j - i) / 2;
    if (ttisnil(&t->array[m - 1]))
      j = m;
    else
      i = m;
  }
  t->lenhint = (int)i;
  return i;
}

int64_t tab_lenslow(Table *t) {
  int n = t->sizearray;
  if (n > 0 && ttisnil(&t->array[n - 1])) {
    /* the last border found (lenhint) is usually still one (the inline tab_len checks that first) */
    int h = t->lenhint;
    if (h > 0 && h < n && ttisnil(&t->array[h]) && !ttisnil(&t->array[h - 1])) return h;
    return arrayborder(t);
  }
  if (tab_isdummy(t)) return n;
  return hashborder(t, n);
}

/* ---------------- metamethods ---------------- */

const TValue *tab_gettm(pal_State *L, Table *mt, TMS event) {
  const TValue *tm;
  TString *name;
  if (mt == NULL) return NULL;
  if (event < 8 && (mt->tmcache & (1u << event))) return NULL;
  name = G(L)->tmname[event];
  if (name == NULL) return NULL;
  tm = tab_getstr(mt, name);
  if (ttisnil(tm)) {
    if (event < 8) mt->tmcache |= (uint8_t)(1u << event);
    return NULL;
  }
  return tm;
}

Table *obj_getmetatable(pal_State *L, const TValue *o) {
  switch (ttype(o)) {
    case PAL_TTABLE: return hvalue(o)->metatable;
    case PAL_TUSERDATA: return uvalue(o)->metatable;
    default:
      if (ttype(o) >= 0 && ttype(o) < PAL_NUMTYPES) return G(L)->mt[ttype(o)];
      return NULL;
  }
}

const TValue *obj_gettm(pal_State *L, const TValue *o, TMS event) {
  return tab_gettm(L, obj_getmetatable(L, o), event);
}
