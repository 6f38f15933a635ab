/*
 * valcodec_test.c - unit tests of guest/src/valcodec.c against the shared vectors (abi/testdata/vectors.json)
 * and values built through pal.h.
 *
 *   valcodec_test [path/to/vectors.json]     run the tests (prints "N passed, M failed")
 *   valcodec_test --emit                     print the "c" vectors (C-encoded values) as JSON for vectors.json
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pal.h"
#include "valcodec.h"

static int passed, failed;

#define CHECK(cond, ...)                         \
  do {                                           \
    if (cond) {                                  \
      passed++;                                  \
    } else {                                     \
      failed++;                                  \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                       \
      printf("\n");                              \
    }                                            \
  } while (0)

/* ---------------------------------------------------------------- hex and canonical comparison */

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = 0;
  while (h[0] && h[1]) {
    unsigned v;
    sscanf(h, "%2x", &v);
    out[n++] = (uint8_t)v;
    h += 2;
  }
  return n;
}

static void tohex(const uint8_t *p, size_t n, char *out) {
  size_t i;
  for (i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
  out[2 * n] = 0;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* length of the encoded value at p (assumes well-formed input) */
static size_t vlen(const uint8_t *p) {
  size_t off, i, n;
  switch (p[0]) {
    case 4:
    case 5:
      return 9;
    case 6:
    case 7:
      return 5 + rd32(p + 1);
    case 8:
    case 9:
      n = rd32(p + 1) * (p[0] == 9 ? 2 : 1);
      off = 5;
      for (i = 0; i < n; i++) off += vlen(p + off);
      return off;
    default:
      return 1;
  }
}

/* equal values, with maps compared as unordered sets of entries */
static int canon_eq(const uint8_t *a, const uint8_t *b) {
  size_t la = vlen(a), lb = vlen(b), i, j, n, oa, ob;
  if (a[0] != b[0]) return 0;
  if (a[0] == 8) {
    if (rd32(a + 1) != rd32(b + 1)) return 0;
    n = rd32(a + 1);
    oa = ob = 5;
    for (i = 0; i < n; i++) {
      if (!canon_eq(a + oa, b + ob)) return 0;
      oa += vlen(a + oa);
      ob += vlen(b + ob);
    }
    return 1;
  }
  if (a[0] == 9) {
    if (rd32(a + 1) != rd32(b + 1)) return 0;
    n = rd32(a + 1);
    oa = 5;
    for (i = 0; i < n; i++) {
      const uint8_t *ka = a + oa, *va = ka + vlen(ka);
      int found = 0;
      ob = 5;
      for (j = 0; j < n && !found; j++) {
        const uint8_t *kb = b + ob, *vb = kb + vlen(kb);
        if (vlen(ka) == vlen(kb) && memcmp(ka, kb, vlen(ka)) == 0) found = canon_eq(va, vb);
        ob += vlen(kb) + vlen(vb);
      }
      if (!found) return 0;
      oa += vlen(ka) + vlen(va);
    }
    return 1;
  }
  return la == lb && memcmp(a, b, la) == 0;
}

/* ---------------------------------------------------------------- a tiny scanner for vectors.json */

typedef struct {
  char name[128], kind[16], hex[8192], err[256], ghex[8192], gerr[256];
} Vec;

/* read the JSON string starting at *s (just after the opening quote); handles \" and \\ only */
static const char *jstr(const char *s, char *out, size_t cap) {
  size_t n = 0;
  while (*s && *s != '"') {
    if (*s == '\\' && s[1]) s++;
    if (n + 1 < cap) out[n++] = *s;
    s++;
  }
  out[n] = 0;
  return *s ? s + 1 : s;
}

static int next_vec(const char **pp, Vec *v) {
  const char *s = strstr(*pp, "\"name\": \"");
  char key[32];
  if (!s) return 0;
  memset(v, 0, sizeof *v);
  s = jstr(s + 9, v->name, sizeof v->name);
  /* keys until the next "name" */
  for (;;) {
    const char *q = strchr(s, '"'), *nx = strstr(s, "\"name\": \"");
    if (!q || (nx && q >= nx)) break;
    s = jstr(q + 1, key, sizeof key);
    if (*s != ':') continue;
    s++;
    while (*s == ' ') s++;
    if (*s != '"') continue;
    if (!strcmp(key, "kind")) s = jstr(s + 1, v->kind, sizeof v->kind);
    else if (!strcmp(key, "hex")) s = jstr(s + 1, v->hex, sizeof v->hex);
    else if (!strcmp(key, "error")) s = jstr(s + 1, v->err, sizeof v->err);
    else if (!strcmp(key, "guest_hex")) s = jstr(s + 1, v->ghex, sizeof v->ghex);
    else if (!strcmp(key, "guest_error")) s = jstr(s + 1, v->gerr, sizeof v->gerr);
  }
  *pp = s;
  return 1;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  char *b;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  b[n] = 0;
  fclose(f);
  return b;
}

static const char *pending_msg(pal_State *L) {
  static char buf[512];
  const char *m;
  pal_pusherror(L);
  m = pal_tostring(L, -1);
  snprintf(buf, sizeof buf, "%s", m ? m : "(non-string error)");
  pal_pop(L, 1);
  pal_clearerror(L);
  return buf;
}

static void test_vectors(pal_State *L, const char *path) {
  char *doc = slurp(path);
  const char *p = doc;
  Vec v;
  static uint8_t in[4096], want[4096];
  static char got[8192 + 2];
  int count = 0;
  CHECK(doc != NULL, "cannot read %s", path);
  if (!doc) return;
  while (next_vec(&p, &v)) {
    size_t n = unhex(v.hex, in), len;
    int st, top = pal_gettop(L);
    count++;
    st = pal_valcodec_decode(L, in, n, NULL);
    if (!strcmp(v.kind, "error") || v.gerr[0]) {
      const char *want_err = v.kind[0] == 'e' ? v.err : v.gerr;
      const char *m = st != PAL_OK ? pending_msg(L) : "";
      CHECK(st != PAL_OK && strstr(m, want_err) != NULL, "%s: decode gave status %d '%s', want error '%s'", v.name, st,
            m, want_err);
    } else {
      CHECK(st == PAL_OK, "%s: decode failed: %s", v.name, st == PAL_OK ? "" : pending_msg(L));
      if (st == PAL_OK) {
        const uint8_t *enc;
        size_t wn = unhex(v.ghex[0] ? v.ghex : v.hex, want);
        st = pal_valcodec_encode(L, -1, NULL, &len);
        CHECK(st == PAL_OK, "%s: re-encode failed: %s", v.name, st == PAL_OK ? "" : pending_msg(L));
        if (st == PAL_OK) {
          enc = pal_tobuffer(L, -1, NULL);
          tohex(enc, len < 4096 ? len : 4096, got);
          CHECK(len == wn && canon_eq(enc, want), "%s: guest re-encoding %s, want %s", v.name, got,
                v.ghex[0] ? v.ghex : v.hex);
        }
      }
    }
    pal_settop(L, top);
  }
  CHECK(count >= 20, "only %d vectors read from %s", count, path);
  free(doc);
}

/* ---------------------------------------------------------------- values built through the API */


static int dummy_cf(pal_State *L) {
  (void)L;
  return 0;
}

typedef struct {
  const char *name;
  void (*build)(pal_State *L);
  const char *hex;   /* expected encoding (maps compared unordered), or NULL */
  const char *error; /* expected error substring, or NULL */
  const char *typed; /* typed JSON value for --emit */
} Case;

static void b_empty(pal_State *L) { pal_newtable(L); }
static void b_emptyarr(pal_State *L) {
  pal_newtable(L);
  pal_valcodec_pusharraymt(L);
  pal_setmetatable(L, -2);
}
static void b_seq(pal_State *L) {
  int i;
  pal_newtable(L);
  for (i = 1; i <= 3; i++) {
    pal_pushnumber(L, i * 10);
    pal_rawseti(L, -2, i);
  }
}
static void b_mixed(pal_State *L) {
  b_seq(L);
  pal_pushstring(L, "v");
  pal_rawsetfield(L, -2, "k");
}
static void b_sparse(pal_State *L) {
  pal_newtable(L);
  pal_pushboolean(L, 1);
  pal_rawseti(L, -2, 2);
}
static void b_arrhole(pal_State *L) {
  b_sparse(L);
  pal_valcodec_pusharraymt(L);
  pal_setmetatable(L, -2);
}
static void b_null_in_map(pal_State *L) {
  pal_newtable(L);
  pal_pushlightuserdata(L, NULL);
  pal_rawsetfield(L, -2, "x");
}
static void b_buffer(pal_State *L) {
  uint8_t *b = pal_newbuffer(L, 3);
  b[0] = 1, b[1] = 0, b[2] = 255;
}
static void b_binstr(pal_State *L) { pal_pushlstring(L, "a\0b", 3); }
static void b_func(pal_State *L) {
  pal_newtable(L);
  pal_pushcfunction(L, dummy_cf, "f");
  pal_rawsetfield(L, -2, "cb");
}
static void b_thread(pal_State *L) { pal_newthread(L); }
static void b_lud(pal_State *L) { pal_pushlightuserdata(L, (void *)L); }
static void b_cycle(pal_State *L) {
  pal_newtable(L);
  pal_pushvalue(L, -1);
  pal_rawsetfield(L, -2, "self");
}
static void b_shared(pal_State *L) { /* the same sub-table twice is not a cycle */
  pal_newtable(L);
  pal_newtable(L);
  pal_pushvalue(L, -1);
  pal_rawsetfield(L, -3, "a");
  pal_rawsetfield(L, -2, "b");
}
static void b_deep(pal_State *L) {
  int i;
  pal_newtable(L);
  for (i = 0; i < 64; i++) {
    pal_newtable(L);
    pal_insert(L, -2);
    pal_rawsetfield(L, -2, "x");
  }
}
static void b_deep_ok(pal_State *L) {
  int i;
  pal_newtable(L);
  for (i = 0; i < 63; i++) {
    pal_newtable(L);
    pal_insert(L, -2);
    pal_rawsetfield(L, -2, "x");
  }
}
static void b_arr_strkey(pal_State *L) {
  b_emptyarr(L);
  pal_pushnumber(L, 1);
  pal_rawsetfield(L, -2, "name");
}
static void b_tablekey(pal_State *L) {
  pal_newtable(L);
  pal_newtable(L);
  pal_pushboolean(L, 1);
  pal_rawset(L, -3);
}
static void b_big(pal_State *L) {
  static char s[PAL_VC_MAXBYTES];
  memset(s, 'x', sizeof s);
  pal_pushlstring(L, s, sizeof s);
}

static const Case cases[] = {
    {"c empty table is a map", b_empty, "0900000000", NULL, "{\"t\": \"map\", \"v\": []}"},
    {"c array-tagged empty table is a list", b_emptyarr, "0800000000", NULL, "{\"t\": \"list\", \"v\": []}"},
    {"c sequence is a list", b_seq, "0803000000050000000000002440050000000000003440050000000000003e40", NULL, NULL},
    {"c mixed table is a map", b_mixed, NULL, NULL, NULL},
    {"c sparse table is a map", b_sparse, "090100000005000000000000004003", NULL,
     "{\"t\": \"map\", \"v\": [[{\"t\": \"float\", \"v\": \"4000000000000000\"}, {\"t\": \"bool\", \"v\": true}]]}"},
    {"c array-tagged sparse table has holes", b_arrhole, "0802000000" "00" "03", NULL,
     "{\"t\": \"list\", \"v\": [{\"t\": \"nil\"}, {\"t\": \"bool\", \"v\": true}]}"},
    {"c interop.null in a map", b_null_in_map, "0901000000060100000078" "01", NULL,
     "{\"t\": \"map\", \"v\": [[{\"t\": \"str\", \"v\": \"78\"}, {\"t\": \"null\"}]]}"},
    {"c buffer", b_buffer, "070300000001" "00ff", NULL, "{\"t\": \"buf\", \"v\": \"0100ff\"}"},
    {"c binary string", b_binstr, "0603000000610062", NULL, "{\"t\": \"str\", \"v\": \"610062\"}"},
    {"c shared subtable", b_shared, NULL, NULL, NULL},
    {"c depth 64", b_deep_ok, NULL, NULL, NULL},
    {"function", b_func, NULL, "cannot encode a value of type 'function'", NULL},
    {"thread", b_thread, NULL, "cannot encode a value of type 'thread'", NULL},
    {"light userdata", b_lud, NULL, "cannot encode a value of type 'userdata'", NULL},
    {"cycle", b_cycle, NULL, "cannot encode a cyclic table", NULL},
    {"too deep", b_deep, NULL, "value nested too deeply (limit 64)", NULL},
    {"array-tagged with string key", b_arr_strkey, NULL, "non-index key", NULL},
    {"table key", b_tablekey, NULL, "cannot encode a table key of type 'table'", NULL},
    {"too large", b_big, NULL, "value too large (limit 4194304 bytes)", NULL},
};

static void test_cases(pal_State *L, int emit) {
  size_t i;
  static char got[2 * 4096 + 64];
  static uint8_t a[4096], b[4096];
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *c = &cases[i];
    int top = pal_gettop(L), st;
    got[0] = 0;
    c->build(L);
    if (c->error) {
      size_t len;
      const char *m;
      st = pal_valcodec_encode(L, -1, NULL, &len);
      m = st != PAL_OK ? pending_msg(L) : "";
      CHECK(st != PAL_OK && strstr(m, c->error), "%s: status %d '%s', want '%s'", c->name, st, m, c->error);
    } else {
      size_t len;
      st = pal_valcodec_encode(L, -1, NULL, &len);
      CHECK(st == PAL_OK, "%s: %s", c->name, st == PAL_OK ? "" : pending_msg(L));
      if (st == PAL_OK && len < 4096) {
        tohex(pal_tobuffer(L, -1, NULL), len, got);
        if (c->hex) {
          size_t wn = unhex(c->hex, b);
          memcpy(a, pal_tobuffer(L, -1, NULL), len);
          CHECK(wn == len && canon_eq(a, b), "%s: got %s want %s", c->name, got, c->hex);
        }
        /* decode(encode(v)) re-encodes to the same value */
        st = pal_valcodec_decode(L, pal_tobuffer(L, -1, NULL), len, NULL);
        CHECK(st == PAL_OK, "%s: decode of own encoding failed: %s", c->name, st == PAL_OK ? "" : pending_msg(L));
        if (st == PAL_OK) {
          size_t len2;
          memcpy(a, pal_tobuffer(L, -2, NULL), len);
          st = pal_valcodec_encode(L, -1, NULL, &len2);
          CHECK(st == PAL_OK && len2 == len && canon_eq(a, pal_tobuffer(L, -1, NULL)), "%s: not stable", c->name);
        }
        if (emit && c->typed)
          printf("    {\n      \"name\": \"%s\",\n      \"kind\": \"c\",\n      \"hex\": \"%s\",\n      \"value\": %s\n    },\n",
                 c->name, got, c->typed);
      }
    }
    pal_settop(L, top);
  }
}

static void test_limits(pal_State *L) {
  pal_VcLimits lim = {100, 3};
  size_t len;
  int st;
  const char *m;
  pal_pushlstring(L, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
                  100);
  st = pal_valcodec_encode(L, -1, &lim, &len);
  m = st ? pending_msg(L) : "";
  CHECK(st != PAL_OK && strstr(m, "value too large (limit 100 bytes)"), "custom size limit: %s", m);
  pal_settop(L, 0);
  b_deep_ok(L);
  st = pal_valcodec_encode(L, -1, &lim, &len);
  m = st ? pending_msg(L) : "";
  CHECK(st != PAL_OK && strstr(m, "value nested too deeply (limit 3)"), "custom depth limit: %s", m);
  pal_settop(L, 0);
  /* decoded lists carry the array metatable; decoded maps do not */
  {
    static const uint8_t list[] = {8, 0, 0, 0, 0}, map[] = {9, 0, 0, 0, 0};
    pal_valcodec_decode(L, list, sizeof list, NULL);
    CHECK(pal_valcodec_isarray(L, -1), "decoded list lacks the array metatable");
    pal_valcodec_decode(L, map, sizeof map, NULL);
    CHECK(!pal_valcodec_isarray(L, -1) && pal_type(L, -1) == PAL_TTABLE, "decoded map is not a plain table");
    pal_settop(L, 0);
  }
  CHECK(pal_gettop(L) == 0, "stack not balanced");
}

int main(int argc, char **argv) {
  pal_State *L = pal_newstate(64u << 20);
  int emit = argc > 1 && !strcmp(argv[1], "--emit");
  const char *path = (argc > 1 && !emit) ? argv[1] : "abi/testdata/vectors.json";
  if (!L) {
    printf("cannot create state\n");
    return 1;
  }
  if (emit) {
    test_cases(L, 1);
    pal_close(L);
    return 0;
  }
  test_vectors(L, path);
  test_cases(L, 0);
  test_limits(L);
  pal_close(L);
  printf("valcodec: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
