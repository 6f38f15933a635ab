/*
 * valcodec.c - encode/decode Luau values to the ABI wire format (abi/SPEC.md §3). pal.h only.
 *
 * Encoding writes into an interpreter buffer kept on the stack and doubled on demand, so every byte is counted by
 * the state's memory budget. Recursion is bounded by the depth limit (64), so C stack use is bounded too.
 */
#include "valcodec.h"

#include <math.h>
#include <string.h>

#define FUEL_BATCH 64 /* charge fuel once per this many values */

static void lim_norm(const pal_VcLimits *lim, size_t *maxb, int *maxd) {
  *maxb = (lim && lim->max_bytes) ? lim->max_bytes : PAL_VC_MAXBYTES;
  *maxd = (lim && lim->max_depth > 0 && lim->max_depth < PAL_VC_MAXDEPTH) ? lim->max_depth : PAL_VC_MAXDEPTH;
  if (*maxb > 0x7fffffffu) *maxb = 0x7fffffffu;
}

static int err_status(pal_State *L) {
  int st = pal_errpending(L);
  return st == PAL_OK ? PAL_ERRRUN : st;
}

/* ------------------------------------------------------------------ array metatable */

void pal_valcodec_pusharraymt(pal_State *L) {
  if (pal_rawgetfield(L, PAL_REGISTRYINDEX, PAL_VC_ARRAYMT_KEY) == PAL_TTABLE) return;
  pal_pop(L, 1);
  pal_createtable(L, 0, 1);
  pal_pushstring(L, "array");
  pal_rawsetfield(L, -2, "__type_hint");
  pal_setreadonly(L, -1, 1);
  pal_pushvalue(L, -1);
  pal_rawsetfield(L, PAL_REGISTRYINDEX, PAL_VC_ARRAYMT_KEY);
}

int pal_valcodec_isarray(pal_State *L, int idx) {
  int r = 0;
  idx = pal_absindex(L, idx);
  if (pal_type(L, idx) != PAL_TTABLE || !pal_getmetatable(L, idx)) return 0;
  if (pal_rawgetfield(L, PAL_REGISTRYINDEX, PAL_VC_ARRAYMT_KEY) == PAL_TTABLE) r = pal_rawequal(L, -1, -2);
  pal_pop(L, 2);
  return r;
}

/* ------------------------------------------------------------------ encoder */

typedef struct Enc {
  pal_State *L;
  int bufidx; /* absolute stack index of the output buffer */
  uint8_t *p;
  size_t len, cap, max;
  int maxdepth;
  int fuel;
  const void *path[PAL_VC_MAXDEPTH + 1];
} Enc;

static int enc_grow(Enc *E, size_t n) {
  size_t need, ncap;
  uint8_t *np;
  if (n > E->max || E->len > E->max - n)
    return pal_errorf(E->L, "value too large (limit %d bytes)", (int)E->max), 1;
  need = E->len + n;
  if (need <= E->cap) return 0;
  ncap = E->cap ? E->cap * 2 : 256;
  while (ncap < need) ncap *= 2;
  if (ncap > E->max) ncap = E->max;
  np = pal_newbuffer(E->L, ncap);
  if (np == NULL || pal_errpending(E->L)) {
    if (!pal_errpending(E->L)) pal_memerror(E->L);
    pal_pop(E->L, 1);
    return 1;
  }
  if (E->len) memcpy(np, E->p, E->len);
  pal_replace(E->L, E->bufidx);
  E->p = np;
  E->cap = ncap;
  return 0;
}

static void put_u32(uint8_t *d, uint32_t v) {
  d[0] = (uint8_t)v;
  d[1] = (uint8_t)(v >> 8);
  d[2] = (uint8_t)(v >> 16);
  d[3] = (uint8_t)(v >> 24);
}

static void put_u64(uint8_t *d, uint64_t v) {
  put_u32(d, (uint32_t)v);
  put_u32(d + 4, (uint32_t)(v >> 32));
}

static int enc_byte(Enc *E, uint8_t b) {
  if (enc_grow(E, 1)) return 1;
  E->p[E->len++] = b;
  return 0;
}

static int enc_float(Enc *E, double d) {
  uint64_t bits;
  if (enc_grow(E, 9)) return 1;
  memcpy(&bits, &d, 8);
  E->p[E->len] = PAL_VC_FLOAT;
  put_u64(E->p + E->len + 1, bits);
  E->len += 9;
  return 0;
}

static int enc_bytes(Enc *E, uint8_t tag, const void *s, size_t n) {
  if (n > 0xffffffffu) return pal_errorf(E->L, "value too large (limit %d bytes)", (int)E->max), 1;
  if (enc_grow(E, 5 + n)) return 1;
  E->p[E->len] = tag;
  put_u32(E->p + E->len + 1, (uint32_t)n);
  if (n) memcpy(E->p + E->len + 5, s, n);
  E->len += 5 + n;
  return 0;
}

static int enc_fuel(Enc *E, int64_t extra) {
  if (++E->fuel >= FUEL_BATCH || extra > 0) {
    int64_t units = E->fuel + extra;
    E->fuel = 0;
    if (pal_chargefuel(E->L, units)) return 1;
  }
  return 0;
}

static int enc_value(Enc *E, int idx, int depth);

/* 1 and *k = key if the number is an integral index >= 1 */
static int as_index(double d, double *k) {
  if (!(d >= 1.0) || d > 9007199254740992.0 || floor(d) != d) return 0;
  *k = d;
  return 1;
}

static const char *tname(pal_State *L, int idx) {
  const char *n = pal_typeof(L, idx);
  return n ? n : pal_typename(L, pal_type(L, idx));
}

static int enc_table(Enc *E, int idx, int depth) {
  pal_State *L = E->L;
  const void *self = pal_topointer(L, idx);
  int i, isarr, islist;
  double maxk = 0, k;
  size_t count = 0;
  int allidx = 1;
  if (depth + 1 > E->maxdepth) return pal_errorf(L, "value nested too deeply (limit %d)", E->maxdepth), 1;
  for (i = 0; i < depth; i++)
    if (E->path[i] == self) return pal_errorf(L, "cannot encode a cyclic table"), 1;
  E->path[depth] = self;
  if (!pal_checkstack(L, 4)) return 1;
  isarr = pal_valcodec_isarray(L, idx);
  /* classify the keys */
  pal_pushnil(L);
  while (pal_next(L, idx)) {
    count++;
    if (pal_type(L, -2) == PAL_TNUMBER && as_index(pal_tonumber(L, -2), &k)) {
      if (k > maxk) maxk = k;
    } else {
      allidx = 0;
      if (isarr) {
        const char *tn = tname(L, -2);
        pal_pop(L, 2);
        return pal_errorf(L, "cannot encode an array-tagged table with a non-index key (of type '%s')", tn), 1;
      }
    }
    pal_pop(L, 1);
    if ((count & 1023) == 0 && enc_fuel(E, 16)) {
      pal_pop(L, 1);
      return 1;
    }
  }
  if (pal_errpending(L)) return 1;
  islist = isarr || (count > 0 && allidx && maxk == (double)count);
  if (islist) {
    size_t n = (size_t)maxk, j;
    if (maxk > (double)E->max) return pal_errorf(L, "value too large (limit %d bytes)", (int)E->max), 1;
    if (enc_grow(E, 5)) return 1;
    E->p[E->len] = PAL_VC_LIST;
    put_u32(E->p + E->len + 1, (uint32_t)n);
    E->len += 5;
    for (j = 1; j <= n; j++) {
      pal_rawgeti(L, idx, (int64_t)j);
      if (enc_value(E, pal_gettop(L), depth + 1)) return 1;
      pal_pop(L, 1);
    }
    return 0;
  }
  if (count > 0xffffffffu) return pal_errorf(L, "value too large (limit %d bytes)", (int)E->max), 1;
  if (enc_grow(E, 5)) return 1;
  E->p[E->len] = PAL_VC_MAP;
  put_u32(E->p + E->len + 1, (uint32_t)count);
  E->len += 5;
  pal_pushnil(L);
  while (pal_next(L, idx)) {
    int kt = pal_type(L, -2);
    if (kt != PAL_TSTRING && kt != PAL_TNUMBER && kt != PAL_TBOOLEAN) {
      const char *tn = tname(L, -2);
      pal_pop(L, 2);
      return pal_errorf(L, "cannot encode a table key of type '%s'", tn), 1;
    }
    if (enc_value(E, pal_gettop(L) - 1, depth + 1) || enc_value(E, pal_gettop(L), depth + 1)) return 1;
    pal_pop(L, 1);
  }
  return pal_errpending(L) ? 1 : 0;
}

static int enc_value(Enc *E, int idx, int depth) {
  pal_State *L = E->L;
  size_t n;
  const char *s;
  if (enc_fuel(E, 0)) return 1;
  switch (pal_type(L, idx)) {
    case PAL_TNIL:
      return enc_byte(E, PAL_VC_NIL);
    case PAL_TBOOLEAN:
      return enc_byte(E, pal_toboolean(L, idx) ? PAL_VC_TRUE : PAL_VC_FALSE);
    case PAL_TNUMBER:
      return enc_float(E, pal_tonumber(L, idx));
    case PAL_TSTRING:
      s = pal_tolstring(L, idx, &n);
      if (s == NULL) return 1;
      if (n >= 4096 && enc_fuel(E, (int64_t)(n / 64))) return 1;
      return enc_bytes(E, PAL_VC_STRING, s, n);
    case PAL_TBUFFER: {
      uint8_t *b = pal_tobuffer(L, idx, &n);
      if (n >= 4096 && enc_fuel(E, (int64_t)(n / 64))) return 1;
      return enc_bytes(E, PAL_VC_BUFFER, b, n);
    }
    case PAL_TLIGHTUSERDATA:
      if (pal_touserdata(L, idx) == NULL) return enc_byte(E, PAL_VC_NULL);
      return pal_errorf(L, "cannot encode a value of type 'userdata'"), 1;
    case PAL_TTABLE:
      return enc_table(E, idx, depth);
    default:
      return pal_errorf(L, "cannot encode a value of type '%s'", tname(L, idx)), 1;
  }
}

int pal_valcodec_encode(pal_State *L, int idx, const pal_VcLimits *lim, size_t *len) {
  Enc E;
  int top;
  memset(&E, 0, sizeof E);
  E.L = L;
  lim_norm(lim, &E.max, &E.maxdepth);
  idx = pal_absindex(L, idx);
  *len = 0;
  if (!pal_checkstack(L, 6)) {
    pal_pushnil(L);
    return err_status(L);
  }
  E.p = pal_newbuffer(L, 64);
  if (E.p == NULL || pal_errpending(L)) {
    if (!pal_errpending(L)) pal_memerror(L);
    return err_status(L);
  }
  E.cap = 64 > E.max ? E.max : 64;
  E.bufidx = pal_gettop(L);
  top = E.bufidx;
  if (enc_value(&E, idx, 0) || pal_errpending(L)) {
    pal_settop(L, top - 1);
    pal_pushnil(L);
    return err_status(L);
  }
  if (E.fuel && pal_chargefuel(L, E.fuel)) {
    pal_settop(L, top - 1);
    pal_pushnil(L);
    return err_status(L);
  }
  pal_settop(L, top);
  *len = E.len;
  return PAL_OK;
}

/* ------------------------------------------------------------------ decoder */

typedef struct Dec {
  pal_State *L;
  const uint8_t *p;
  size_t n, off;
  int maxdepth;
  int fuel;
} Dec;

static uint32_t get_u32(const uint8_t *s) {
  return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

static uint64_t get_u64(const uint8_t *s) { return (uint64_t)get_u32(s) | (uint64_t)get_u32(s + 4) << 32; }

static int dec_trunc(Dec *D) { return pal_errorf(D->L, "cannot decode value: truncated value"), 1; }

static int dec_need(Dec *D, size_t k) { return (D->n - D->off < k) ? dec_trunc(D) : 0; }

static int dec_value(Dec *D, int depth);

static const char nil_placeholder = 0; /* stands in for NIL map values while decoding */

static int dec_pushed(Dec *D) { return pal_errpending(D->L) ? 1 : 0; }

static int dec_key_ok(Dec *D) {
  uint8_t t;
  if (dec_need(D, 1)) return 0;
  t = D->p[D->off];
  if (t == PAL_VC_STRING || t == PAL_VC_INT || t == PAL_VC_FLOAT || t == PAL_VC_TRUE || t == PAL_VC_FALSE) return 1;
  pal_errorf(D->L, "cannot decode value: invalid map key tag 0x%c%c at offset %d", "0123456789abcdef"[t >> 4],
             "0123456789abcdef"[t & 15], (int)D->off);
  return 0;
}

static int dec_value(Dec *D, int depth) {
  pal_State *L = D->L;
  uint8_t tag;
  uint32_t n, i;
  if (++D->fuel >= FUEL_BATCH) {
    D->fuel = 0;
    if (pal_chargefuel(L, FUEL_BATCH)) return 1;
  }
  if (dec_need(D, 1)) return 1;
  tag = D->p[D->off++];
  switch (tag) {
    case PAL_VC_NIL:
      pal_pushnil(L);
      return 0;
    case PAL_VC_NULL:
      pal_pushlightuserdata(L, NULL);
      return 0;
    case PAL_VC_FALSE:
    case PAL_VC_TRUE:
      pal_pushboolean(L, tag == PAL_VC_TRUE);
      return 0;
    case PAL_VC_INT: {
      int64_t v;
      if (dec_need(D, 8)) return 1;
      v = (int64_t)get_u64(D->p + D->off);
      D->off += 8;
      if (v > ((int64_t)1 << 53) || v < -((int64_t)1 << 53)) {
        char num[24], *q = num + sizeof num;
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        *--q = 0;
        do *--q = (char)('0' + u % 10); while ((u /= 10) != 0);
        if (v < 0) *--q = '-';
        return pal_errorf(L, "cannot decode value: integer %s cannot be represented as a Luau number", q), 1;
      }
      pal_pushnumber(L, (double)v);
      return 0;
    }
    case PAL_VC_FLOAT: {
      uint64_t bits;
      double d;
      if (dec_need(D, 8)) return 1;
      bits = get_u64(D->p + D->off);
      D->off += 8;
      memcpy(&d, &bits, 8);
      pal_pushnumber(L, d);
      return 0;
    }
    case PAL_VC_STRING:
    case PAL_VC_BUFFER:
      if (dec_need(D, 4)) return 1;
      n = get_u32(D->p + D->off);
      D->off += 4;
      if (dec_need(D, n)) return 1;
      if (n >= 4096 && pal_chargefuel(L, n / 64)) return 1;
      if (tag == PAL_VC_STRING) {
        pal_pushlstring(L, (const char *)D->p + D->off, n);
      } else {
        uint8_t *b = pal_newbuffer(L, n);
        if (b == NULL || pal_errpending(L)) {
          if (!pal_errpending(L)) pal_memerror(L);
          return 1;
        }
        if (n) memcpy(b, D->p + D->off, n);
      }
      D->off += n;
      return dec_pushed(D);
    case PAL_VC_LIST:
    case PAL_VC_MAP: {
      int t;
      uint32_t holes = 0;
      if (depth + 1 > D->maxdepth) return pal_errorf(L, "value nested too deeply (limit %d)", D->maxdepth), 1;
      if (dec_need(D, 4)) return 1;
      n = get_u32(D->p + D->off);
      D->off += 4;
      /* every element needs >= 1 byte, every map entry >= 2: a hostile count cannot make a big table */
      if ((size_t)n > (tag == PAL_VC_LIST ? D->n - D->off : (D->n - D->off) / 2)) return dec_trunc(D);
      if (!pal_checkstack(L, 4)) return 1;
      if (tag == PAL_VC_LIST) {
        pal_createtable(L, (int)n, 0);
        if (dec_pushed(D)) return 1;
        t = pal_gettop(L);
        pal_valcodec_pusharraymt(L);
        pal_setmetatable(L, t);
        if (dec_pushed(D)) return 1;
        for (i = 0; i < n; i++) {
          if (dec_value(D, depth + 1)) return 1;
          if (pal_type(L, -1) == PAL_TNIL)
            pal_pop(L, 1);
          else
            pal_rawseti(L, t, (int64_t)i + 1);
          if (dec_pushed(D)) return 1;
        }
        return 0;
      }
      pal_createtable(L, 0, (int)n);
      if (dec_pushed(D)) return 1;
      t = pal_gettop(L);
      for (i = 0; i < n; i++) {
        if (!dec_key_ok(D)) return 1;
        if (D->p[D->off] == PAL_VC_FLOAT && D->n - D->off >= 9) {
          uint64_t bits = get_u64(D->p + D->off + 1);
          double d;
          memcpy(&d, &bits, 8);
          if (d != d) return pal_errorf(L, "cannot decode value: NaN map key"), 1;
        }
        if (dec_value(D, depth + 1)) return 1;
        pal_pushvalue(L, -1);
        if (pal_rawget(L, t) != PAL_TNIL) {
          pal_pop(L, 1);
          if (pal_type(L, -1) == PAL_TSTRING)
            return pal_errorf(L, "cannot decode value: duplicate map key \"%s\"", pal_tostring(L, -1)), 1;
          return pal_errorf(L, "cannot decode value: duplicate map key"), 1;
        }
        pal_pop(L, 1);
        if (dec_value(D, depth + 1)) return 1;
        if (pal_type(L, -1) == PAL_TNIL) { /* keep the key for duplicate detection, removed below */
          pal_pop(L, 1);
          pal_pushlightuserdata(L, (void *)&nil_placeholder);
          holes++;
        }
        pal_rawset(L, t);
        if (dec_pushed(D)) return 1;
      }
      if (holes) { /* clear the placeholders of NIL values */
        pal_pushnil(L);
        while (pal_next(L, t)) {
          if (pal_type(L, -1) == PAL_TLIGHTUSERDATA && pal_touserdata(L, -1) == (void *)&nil_placeholder) {
            pal_pop(L, 1);
            pal_pushvalue(L, -1);
            pal_pushnil(L);
            pal_rawset(L, t);
          } else {
            pal_pop(L, 1);
          }
        }
      }
      return dec_pushed(D);
    }
    default:
      return pal_errorf(L, "cannot decode value: unknown value tag 0x%c%c at offset %d", "0123456789abcdef"[tag >> 4],
                        "0123456789abcdef"[tag & 15], (int)D->off - 1),
             1;
  }
}

int pal_valcodec_decode(pal_State *L, const uint8_t *p, size_t n, const pal_VcLimits *lim) {
  Dec D;
  size_t maxb;
  int base = pal_gettop(L);
  memset(&D, 0, sizeof D);
  D.L = L;
  D.p = p;
  D.n = n;
  lim_norm(lim, &maxb, &D.maxdepth);
  if (!pal_checkstack(L, 4)) {
    pal_pushnil(L);
    return err_status(L);
  }
  if (n > maxb) {
    pal_errorf(L, "value too large (limit %d bytes)", (int)maxb);
  } else if (!dec_value(&D, 0) && !pal_errpending(L)) {
    if (D.off == n) return PAL_OK;
    pal_errorf(L, "cannot decode value: trailing bytes after value (offset %d of %d)", (int)D.off, (int)n);
  }
  pal_settop(L, base);
  pal_pushnil(L);
  return err_status(L);
}
