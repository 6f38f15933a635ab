/*
 * utf8lib.c - the `utf8` library (language reference §4.8), written for Palisade on top of pal.h.
 *
 * Decoding is strict: overlong forms, surrogates (U+D800..U+DFFF), values above U+10FFFF, truncated sequences
 * and stray continuation bytes are all invalid. utf8.char encodes any value 0..0x10FFFF (surrogates included).
 */
#include <string.h>

#include "pal.h"
#include "strbuf.h"

#define UTF8_MAX 0x10FFFFu

static int is_cont(const char *s, const char *end) { return s < end && ((unsigned char)*s & 0xC0) == 0x80; }

/* Decode one character at s (s < end). Returns the pointer after it, or NULL if invalid. */
static const char *utf8_decode(const char *s, const char *end, unsigned *out) {
  static const unsigned minval[4] = {0, 0x80, 0x800, 0x10000};
  unsigned c = (unsigned char)s[0], v;
  int extra, i;
  if (c < 0x80) {
    *out = c;
    return s + 1;
  }
  if (c >= 0xF8 || (c & 0xC0) == 0x80) return NULL; /* 5+ byte lead or stray continuation */
  extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  v = c & (0x3Fu >> extra);
  if (end - s <= extra) return NULL;
  for (i = 1; i <= extra; i++) {
    unsigned cc = (unsigned char)s[i];
    if ((cc & 0xC0) != 0x80) return NULL;
    v = (v << 6) | (cc & 0x3F);
  }
  if (v < minval[extra] || v > UTF8_MAX || (v >= 0xD800 && v <= 0xDFFF)) return NULL;
  *out = v;
  return s + extra + 1;
}

static int utf8_encode(char *buf, unsigned x) {
  if (x < 0x80) {
    buf[0] = (char)x;
    return 1;
  }
  if (x < 0x800) {
    buf[0] = (char)(0xC0 | (x >> 6));
    buf[1] = (char)(0x80 | (x & 0x3F));
    return 2;
  }
  if (x < 0x10000) {
    buf[0] = (char)(0xE0 | (x >> 12));
    buf[1] = (char)(0x80 | ((x >> 6) & 0x3F));
    buf[2] = (char)(0x80 | (x & 0x3F));
    return 3;
  }
  buf[0] = (char)(0xF0 | (x >> 18));
  buf[1] = (char)(0x80 | ((x >> 12) & 0x3F));
  buf[2] = (char)(0x80 | ((x >> 6) & 0x3F));
  buf[3] = (char)(0x80 | (x & 0x3F));
  return 4;
}

static int u_char(pal_State *L) {
  int n = pal_gettop(L), i;
  StrBuf b;
  sb_init(L, &b);
  for (i = 1; i <= n; i++) {
    double d = pal_checknumber(L, i);
    char tmp[4];
    unsigned c;
    PAL_ERRCHECK(L);
    /* int arg semantics: truncate toward zero */
    if (!(d > -1.0 && d < (double)UTF8_MAX + 1.0)) return pal_argerror(L, i, "value out of range");
    c = (unsigned)d;
    if (!sb_add(&b, tmp, (size_t)utf8_encode(tmp, c))) return PAL_ERRSIG;
  }
  sb_push(&b);
  return 1;
}

static int u_len(pal_State *L) {
  size_t len;
  const char *s = pal_checklstring(L, 1, &len);
  long long i = str_posrel(pal_optinteger(L, 2, 1), len);
  long long j = str_posrel(pal_optinteger(L, 3, -1), len);
  double n = 0;
  PAL_ERRCHECK(L);
  if (!(1 <= i && i - 1 <= (long long)len)) return pal_argerror(L, 2, "initial position out of string");
  if (!(j - 1 < (long long)len)) return pal_argerror(L, 3, "final position out of string");
  if (len >= 16 && pal_chargefuel(L, (int64_t)(len / 16))) return PAL_ERRSIG;
  i--;
  j--;
  while (i <= j) {
    unsigned c;
    const char *next = utf8_decode(s + i, s + len, &c);
    if (next == NULL) {
      pal_pushnil(L);
      pal_pushnumber(L, (double)(i + 1));
      return 2;
    }
    i = next - s;
    n++;
  }
  pal_pushnumber(L, n);
  return 1;
}

static int u_codepoint(pal_State *L) {
  size_t len;
  const char *s = pal_checklstring(L, 1, &len);
  long long i = str_posrel(pal_optinteger(L, 2, 1), len), j;
  const char *p, *se;
  int n = 0;
  PAL_ERRCHECK(L);
  j = str_posrel(pal_optinteger(L, 3, (int)i), len);
  PAL_ERRCHECK(L);
  if (i < 1) return pal_argerror(L, 2, "out of range");
  if (j > (long long)len) return pal_argerror(L, 3, "out of range");
  if (i > j) return 0;
  if (j - i >= 0x7fffffff || !pal_checkstack(L, (int)(j - i + 1))) {
    if (pal_errpending(L) == PAL_OK) return pal_errorf(L, "string slice too long");
    return PAL_ERRSIG;
  }
  if (pal_chargefuel(L, (j - i + 1) / 8)) return PAL_ERRSIG;
  se = s + j;
  for (p = s + i - 1; p < se;) {
    unsigned c;
    p = utf8_decode(p, s + len, &c);
    if (p == NULL) return pal_errorf(L, "invalid UTF-8 code");
    pal_pushnumber(L, c);
    n++;
  }
  return n;
}

static int u_offset(pal_State *L) {
  size_t len;
  const char *s = pal_checklstring(L, 1, &len);
  long long n = pal_checkinteger(L, 2);
  long long i;
  const char *end;
  PAL_ERRCHECK(L);
  end = s + len;
  i = str_posrel(pal_optinteger(L, 3, n >= 0 ? 1 : (int)len + 1), len);
  PAL_ERRCHECK(L);
  if (!(1 <= i && i - 1 <= (long long)len)) return pal_argerror(L, 3, "position out of range");
  i--;
  if (pal_chargefuel(L, (int64_t)(len / 16))) return PAL_ERRSIG;
  if (n == 0) {
    while (i > 0 && is_cont(s + i, end)) i--;
  } else {
    if (is_cont(s + i, end)) return pal_errorf(L, "initial position is a continuation byte");
    if (n < 0) {
      while (n < 0 && i > 0) {
        do {
          i--;
        } while (i > 0 && is_cont(s + i, end));
        n++;
      }
    } else {
      n--;
      while (n > 0 && i < (long long)len) {
        do {
          i++;
        } while (is_cont(s + i, end));
        n--;
      }
    }
  }
  if (n == 0)
    pal_pushnumber(L, (double)(i + 1));
  else
    pal_pushnil(L);
  return 1;
}

static int u_codes_step(pal_State *L) {
  size_t len;
  const char *s = pal_checklstring(L, 1, &len);
  long long i = (long long)pal_tonumber(L, 2) - 1;
  unsigned c;
  const char *next;
  PAL_ERRCHECK(L);
  if (i < 0) {
    i = 0;
  } else if (i < (long long)len) {
    i++;
    while (is_cont(s + i, s + len)) i++;
  }
  if (i >= (long long)len) return 0;
  next = utf8_decode(s + i, s + len, &c);
  if (next == NULL || is_cont(next, s + len)) return pal_errorf(L, "invalid UTF-8 code");
  if (pal_chargefuel(L, 1)) return PAL_ERRSIG;
  pal_pushnumber(L, (double)(i + 1));
  pal_pushnumber(L, c);
  return 2;
}

static int u_codes(pal_State *L) {
  pal_checklstring(L, 1, NULL);
  PAL_ERRCHECK(L);
  pal_pushcfunction(L, u_codes_step, "codes");
  pal_pushvalue(L, 1);
  pal_pushnumber(L, 0);
  return 3;
}

static const pal_Reg utf8lib[] = {
    {"offset", u_offset}, {"codepoint", u_codepoint}, {"char", u_char},
    {"len", u_len},       {"codes", u_codes},         {NULL, NULL},
};

void pal_open_utf8(pal_State *L) {
  static const char pattern[] = "[\0-\x7F\xC2-\xF4][\x80-\xBF]*";
  pal_register(L, "utf8", utf8lib);
  pal_pushlstring(L, pattern, sizeof pattern - 1);
  pal_rawsetfield(L, -2, "charpattern");
  pal_pop(L, 1);
}
