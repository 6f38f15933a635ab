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
 * by identity only and disappear at the next rehash.
 *
 * Number keys are normalised: -0 is stored as 0, integral values 1..sizearray live in the array part.
 */
#include "gc.h"

const TValue pal_nilobject = {{NULL}, PAL_TNIL};

static Node dummynode_ = {{{NULL}, PAL_TNIL}, {{NULL}, PAL_TNIL}, 0};
#define dummynode (&dummynode_)

#define MAXABITS 26 /* array part: at most 2^26 slots */
#define MAXASIZE ((int)1 << MAXABITS)
#define MAXHBITS 26 /* hash part: at most 2^26 nodes */

int tab_isdummy(const Table *t) {
  return t->node == dummynode;
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

static Node *mainposition(const Table *t, const TValue *key) {
  uint32_t h;
  switch (ttype(key)) {
    case PAL_TNUMBER: h = hash_num(nvalue(key)); break;
    case PAL_TSTRING: h = tsvalue(key)->hash; break;
    case PAL_TBOOLEAN: h = bvalue(key) ? 0x9e3779b9u : 0x7f4a7c15u; break;
    case PAL_TLIGHTUSERDATA: h = hash_ptr(pvalue(key)); break;
    default: h = hash_ptr(gcvalue(key)); break;
  }
  return &t->node[h & (uint32_t)(tab_sizenode(t) - 1)];
}

/* raw key equality, by identity for objects (never dereferences: dead keys may dangle) */
static int keyequal(const TValue *a, const TValue *b) {
  if (ttype(a) != ttype(b)) return 0;
  switch (ttype(a)) {
    case PAL_TNIL: return 1;
    case PAL_TNUMBER: return nvalue(a) == nvalue(b);
    case PAL_TBOOLEAN: return bvalue(a) == bvalue(b);
    case PAL_TLIGHTUSERDATA: return pvalue(a) == pvalue(b);
    default: return gcvalue(a) == gcvalue(b);
  }
}

/* node holding key (live or dead), NULL if none. key must not be nil. */
static Node *findnode(const Table *t, const TValue *key) {
  Node *n = mainposition(t, key);
  for (;;) {
    if (keyequal(&n->key, key)) return n;
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

/* ---------------- reads ---------------- */

const TValue *tab_getstr(Table *t, TString *key) {
  Node *n = &t->node[key->hash & (uint32_t)(tab_sizenode(t) - 1)];
  for (;;) {
    if (ttisstring(&n->key) && tsvalue(&n->key) == key) return &n->val;
    if (n->next == 0) return &pal_nilobject;
    n += n->next;
  }
}

const TValue *tab_getnum(Table *t, double n) {
  int i = arrayindex(t, n);
  TValue k;
  Node *nd;
  if (i > 0) return &t->array[i - 1];
  if (n != n) return &pal_nilobject;
  setnvalue(&k, n);
  nd = findnode(t, &k);
  return nd ? &nd->val : &pal_nilobject;
}

const TValue *tab_getint(Table *t, int64_t n) {
  if (n >= 1 && n <= (int64_t)t->sizearray) return &t->array[n - 1];
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

/* nums[b] counts integer keys k with 2^(b-1) < k <= 2^b (nums[0]: k == 1). Returns 1 if key is such a key. */
static int countintkey(const TValue *key, int *nums) {
  double n;
  int64_t k;
  int b = 0;
  if (!ttisnumber(key)) return 0;
  n = nvalue(key);
  if (!(n >= 1 && n <= (double)MAXASIZE)) return 0;
  k = (int64_t)n;
  if ((double)k != n) return 0;
  while (((int64_t)1 << b) < k) b++;
  nums[b]++;
  return 1;
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
  int l = 0;
  while (((unsigned)1 << l) < x) l++;
  return l;
}

/* Insert a key known to be absent into the hash part (no rehash). Returns the value slot, NULL if full. */
static TValue *insertnode(Table *t, const TValue *key) {
  Node *mp = mainposition(t, key);
  if (!ttisnil(&mp->val) || tab_isdummy(t)) {
    Node *f = NULL, *other;
    if (!tab_isdummy(t)) {
      while (t->lastfree > t->node) {
        t->lastfree--;
        if (ttisnil(&t->lastfree->key)) {
          f = t->lastfree;
          break;
        }
      }
    }
    if (f == NULL) return NULL;
    other = mainposition(t, &mp->key); /* mp's value is non-nil here: its key is live */
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
  setobj(&mp->key, key);
  return &mp->val;
}

/* store into a table with enough room (used while rebuilding) */
static void reinsert(Table *t, const TValue *key, const TValue *val) {
  TValue *slot;
  if (ttisnumber(key)) {
    int i = arrayindex(t, nvalue(key));
    if (i > 0) {
      setobj(&t->array[i - 1], val);
      return;
    }
  }
  slot = insertnode(t, key);
  if (slot != NULL) setobj(slot, val); /* always succeeds: the caller sized the hash part */
}

int tab_resize(pal_State *L, Table *t, int nasize, int nhsize) {
  int oldasize = t->sizearray;
  int oldhsize = tab_isdummy(t) ? 0 : tab_sizenode(t);
  TValue *oldarray = t->array;
  Node *oldnode = t->node;
  TValue *newarray = NULL;
  Node *newnode = dummynode;
  int need = 0, lsize = 0, hsize = 0;
  if (nasize < 0) nasize = 0;
  if (nhsize < 0) nhsize = 0;
  if (nasize > MAXASIZE) return runerror(L, "table overflow");
  /* the hash part must hold every live key that does not go to the new array part */
  for (int i = nasize; i < oldasize; i++)
    if (!ttisnil(&oldarray[i])) need++;
  for (int i = 0; i < oldhsize; i++) {
    Node *n = &oldnode[i];
    if (ttisnil(&n->val)) continue;
    if (ttisnumber(&n->key)) {
      double k = nvalue(&n->key);
      if (k >= 1 && k <= (double)nasize && (double)(int)k == k) continue;
    }
    need++;
  }
  if (nhsize < need) nhsize = need;
  if (nhsize > 0) {
    lsize = ceillog2((unsigned)nhsize);
    if (lsize > MAXHBITS) return runerror(L, "table overflow");
    hsize = (int)1 << lsize;
    newnode = mem_newvector(L, hsize, Node);
    if (newnode == NULL) return L->errstatus ? L->errstatus : PAL_ERRMEM;
    for (int i = 0; i < hsize; i++) {
      setnilvalue(&newnode[i].key);
      setnilvalue(&newnode[i].val);
      newnode[i].next = 0;
    }
  }
  if (nasize > 0) {
    newarray = mem_newvector(L, nasize, TValue);
    if (newarray == NULL) {
      if (newnode != dummynode) mem_freevector(L, newnode, hsize, Node);
      return L->errstatus ? L->errstatus : PAL_ERRMEM;
    }
    for (int i = 0; i < nasize; i++) {
      if (i < oldasize)
        setobj(&newarray[i], &oldarray[i]);
      else
        setnilvalue(&newarray[i]);
    }
  }
  t->array = newarray;
  t->sizearray = nasize;
  t->node = newnode;
  t->lsizenode = (uint8_t)lsize;
  t->lastfree = newnode == dummynode ? NULL : newnode + hsize;
  for (int i = nasize; i < oldasize; i++) {
    if (!ttisnil(&oldarray[i])) {
      TValue k;
      setnvalue(&k, (double)(i + 1));
      reinsert(t, &k, &oldarray[i]);
    }
  }
  for (int i = 0; i < oldhsize; i++)
    if (!ttisnil(&oldnode[i].val)) reinsert(t, &oldnode[i].key, &oldnode[i].val);
  if (oldarray != NULL) mem_freevector(L, oldarray, oldasize, TValue);
  if (oldnode != dummynode) mem_freevector(L, oldnode, oldhsize, Node);
  return PAL_OK;
}

/* Rebuild t so that it has room for its live keys plus `extra`. */
static int rehash(pal_State *L, Table *t, const TValue *extra) {
  int nums[MAXABITS + 1];
  int nint = 0, total = 0, inarray = 0, nasize;
  memset(nums, 0, sizeof nums);
  for (int i = 0; i < t->sizearray; i++) {
    if (!ttisnil(&t->array[i])) {
      TValue k;
      setnvalue(&k, (double)(i + 1));
      nint += countintkey(&k, nums);
      total++;
    }
  }
  if (!tab_isdummy(t)) {
    int size = tab_sizenode(t);
    for (int i = 0; i < size; i++) {
      Node *n = &t->node[i];
      if (ttisnil(&n->val)) continue;
      nint += countintkey(&n->key, nums);
      total++;
    }
  }
  nint += countintkey(extra, nums);
  total++;
  nasize = choosearraysize(nums, nint, &inarray);
  return tab_resize(L, t, nasize, total - inarray);
}

/* ---------------- writes ---------------- */

/* key: normalised, non-nil, non-NaN, absent from the table; val non-nil */
static int newkey(pal_State *L, Table *t, const TValue *key, const TValue *val) {
  TValue *slot = insertnode(t, key);
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
    slot = insertnode(t, key);
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
  na = (TValue *)mem_realloc(L, t->array, (size_t)oldsize * sizeof(TValue), (size_t)newsize * sizeof(TValue));
  if (na == NULL) return L->errstatus ? L->errstatus : PAL_ERRMEM;
  for (int i = oldsize + 1; i < newsize; i++) setnilvalue(&na[i]);
  setobj(&na[oldsize], val);
  t->array = na;
  t->sizearray = newsize;
  return PAL_OK;
}

static int setnum(pal_State *L, Table *t, double n, const TValue *val) {
  int i;
  TValue k;
  Node *nd;
  t->tmcache = 0;
  i = arrayindex(t, n);
  if (i > 0) {
    setobj(&t->array[i - 1], val);
    return PAL_OK;
  }
  if (n == (double)t->sizearray + 1 && tab_isdummy(t) && !ttisnil(val) && t->sizearray < MAXASIZE)
    return appendarray(L, t, val);
  if (n != n) return runerror(L, "table index is NaN");
  if (n == 0) n = 0; /* -0 -> 0 */
  setnvalue(&k, n);
  nd = findnode(t, &k);
  if (nd != NULL) {
    setobj(&nd->val, val);
    return PAL_OK;
  }
  if (ttisnil(val)) return PAL_OK;
  return newkey(L, t, &k, val);
}

int tab_setint(pal_State *L, Table *t, int64_t n, const TValue *val) {
  if (n >= 1 && n <= (int64_t)t->sizearray) {
    t->tmcache = 0;
    setobj(&t->array[n - 1], val);
    return PAL_OK;
  }
  return setnum(L, t, (double)n, val);
}

int tab_setstr(pal_State *L, Table *t, TString *key, const TValue *val) {
  TValue k;
  TValue *slot;
  t->tmcache = 0;
  slot = (TValue *)tab_getstr(t, key);
  if (slot != &pal_nilobject) {
    setobj(slot, val);
    return PAL_OK;
  }
  if (ttisnil(val)) return PAL_OK;
  setsvalue(&k, key);
  return newkey(L, t, &k, val);
}

int tab_set(pal_State *L, Table *t, const TValue *key, const TValue *val) {
  Node *nd;
  switch (ttype(key)) {
    case PAL_TNIL: t->tmcache = 0; return runerror(L, "table index is nil");
    case PAL_TNUMBER: return setnum(L, t, nvalue(key), val);
    case PAL_TSTRING: return tab_setstr(L, t, tsvalue(key), val);
    default: break;
  }
  t->tmcache = 0;
  nd = findnode(t, key);
  if (nd != NULL) {
    setobj(&nd->val, val);
    return PAL_OK;
  }
  if (ttisnil(val)) return PAL_OK;
  return newkey(L, t, key, val);
}

/* ---------------- creation / destruction ---------------- */

Table *tab_new(pal_State *L, int narray, int nhash) {
  Table *t = (Table *)mem_newobj(L, sizeof(Table), PAL_TTABLE);
  if (t == NULL) return NULL;
  t->readonly = 0;
  t->tmcache = 0;
  t->lsizenode = 0;
  t->weakmode = 0;
  t->sizearray = 0;
  t->lenhint = 0;
  t->array = NULL;
  t->node = dummynode;
  t->lastfree = NULL;
  t->metatable = NULL;
  t->gclist = NULL;
  if (nhash == 0 && narray > 0 && narray <= MAXASIZE) { /* array only (e.g. a list constructor): no rebuild */
    TValue *a = mem_newvector(L, narray, TValue);
    if (a == NULL) return NULL;
    for (int i = 0; i < narray; i++) setnilvalue(&a[i]);
    t->array = a;
    t->sizearray = narray;
    return t;
  }
  if ((narray > 0 || nhash > 0) && tab_resize(L, t, narray, nhash) != PAL_OK) return NULL;
  return t;
}

void tab_free(pal_State *L, Table *t) {
  if (t->array != NULL) mem_freevector(L, t->array, t->sizearray, TValue);
  if (!tab_isdummy(t)) mem_freevector(L, t->node, tab_sizenode(t), Node);
  mem_free(L, t, sizeof(Table));
}

void tab_clear(Table *t) {
  for (int i = 0; i < t->sizearray; i++) setnilvalue(&t->array[i]);
  if (!tab_isdummy(t)) {
    int size = tab_sizenode(t);
    for (int i = 0; i < size; i++) {
      setnilvalue(&t->node[i].key);
      setnilvalue(&t->node[i].val);
      t->node[i].next = 0;
    }
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
      setobj(key, &n->key);
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

int64_t tab_len(Table *t) {
  int64_t n = t->sizearray;
  if (n > 0 && ttisnil(&t->array[n - 1])) {
    /* a border inside the array part. The last one found (lenhint) is usually still a border, or the next
       index is (after an append); then look just below the end (cheap and matches common layouts), then
       binary search; i = 0 or t[i] non-nil, t[j] nil */
    int64_t h = t->lenhint, j = n, i = 0, stop = n > 8 ? n - 8 : 0;
    if (h > 0 && h < n && !ttisnil(&t->array[h - 1])) {
      if (ttisnil(&t->array[h])) return h;
      if (h + 1 < n && ttisnil(&t->array[h + 1])) {
        t->lenhint = (int)(h + 1);
        return h + 1;
      }
    }
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
