/*
 * lex.c - front-end context (arena, interned strings, errors) and the Luau lexer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "front.h"

/* ================= errors ================= */

void front_error(Front *F, int line, const char *fmt, ...) {
  va_list ap;
  if (F->err) return; /* first error wins */
  F->err = FERR_SYNTAX;
  F->errline = line;
  va_start(ap, fmt);
  vsnprintf(F->errmsg, sizeof(F->errmsg), fmt, ap);
  va_end(ap);
}

void front_memerror(Front *F) {
  if (F->err) return;
  F->err = FERR_MEM;
}

/* ================= arena ================= */

#define ARENA_ALIGN 8

void *front_alloc(Front *F, size_t n) {
  char *r;
  n = (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
  if (n == 0) n = ARENA_ALIGN;
  if (F->err) return NULL;
  if (n > F->aleft) {
    size_t hdr = (sizeof(ArenaChunk) + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
    size_t sz = F->chunksize;
    ArenaChunk *c;
    if (n > sz / 4) {
      /* big request: a chunk of its own, keep the current one */
      c = (ArenaChunk *)mem_realloc(F->L, NULL, 0, hdr + n);
      if (!c) {
        front_memerror(F);
        return NULL;
      }
      c->size = hdr + n;
      c->next = F->chunks;
      F->chunks = c;
      r = (char *)c + hdr;
      memset(r, 0, n);
      return r;
    }
    c = (ArenaChunk *)mem_realloc(F->L, NULL, 0, sz);
    if (!c) {
      front_memerror(F);
      return NULL;
    }
    c->size = sz;
    c->next = F->chunks;
    F->chunks = c;
    F->aptr = (char *)c + hdr;
    F->aleft = sz - hdr;
    if (F->chunksize < 65536) F->chunksize *= 2;
  }
  r = F->aptr;
  F->aptr += n;
  F->aleft -= n;
  memset(r, 0, n);
  return r;
}

/* ================= interned strings ================= */

static uint32_t strhash(const char *s, size_t len) {
  if (!s) return 2166136261u;
  uint32_t h = 2166136261u;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (uint8_t)s[i];
    h *= 16777619u;
  }
  return h;
}

static int strtab_grow(Front *F) {
  uint32_t nsize = F->strsize ? F->strsize * 2 : 256;
  FStr **nt = (FStr **)mem_realloc(F->L, NULL, 0, nsize * sizeof(FStr *));
  uint32_t i;
  if (!nt) {
    front_memerror(F);
    return 0;
  }
  memset(nt, 0, nsize * sizeof(FStr *));
  for (i = 0; i < F->strsize; i++) {
    FStr *s = F->strtab[i];
    while (s) {
      FStr *nx = s->hnext;
      uint32_t b = s->hash & (nsize - 1);
      s->hnext = nt[b];
      nt[b] = s;
      s = nx;
    }
  }
  if (F->strtab) mem_realloc(F->L, F->strtab, F->strsize * sizeof(FStr *), 0);
  F->strtab = nt;
  F->strsize = nsize;
  return 1;
}

FStr *front_intern(Front *F, const char *s, size_t len) {
  uint32_t h = strhash(s, len);
  FStr *e;
  if (F->err) return NULL;
  if (!s) s = "";
  if (len > 0x7fffffff) {
    front_memerror(F);
    return NULL;
  }
  for (e = F->strtab[h & (F->strsize - 1)]; e; e = e->hnext)
    if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) return e;
  if (F->strcount >= F->strsize && !strtab_grow(F)) return NULL;
  e = (FStr *)front_alloc(F, offsetof(FStr, s) + len + 1);
  if (!e) return NULL;
  e->hash = h;
  e->len = (uint32_t)len;
  if (len) memcpy(e->s, s, len);
  e->s[len] = 0;
  e->hnext = F->strtab[h & (F->strsize - 1)];
  F->strtab[h & (F->strsize - 1)] = e;
  F->strcount++;
  return e;
}

static const char *const reserved_words[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while"};

static FStr *internz(Front *F, const char *s) { return front_intern(F, s, strlen(s)); }

int front_init(Front *F, pal_State *L, const char *src, size_t len, const char *chunkname) {
  size_t i;
  memset(F, 0, sizeof(*F));
  F->L = L;
  F->chunkname = chunkname ? chunkname : "?";
  F->chunknamelen = strlen(F->chunkname);
  F->chunksize = 8192;
  if (!strtab_grow(F)) return 0;
  for (i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++) {
    FStr *s = internz(F, reserved_words[i]);
    if (!s) return 0;
    s->reserved = TK_FIRST + (int)i;
  }
  F->n_continue = internz(F, "continue");
  F->n_type = internz(F, "type");
  F->n_export = internz(F, "export");
  F->n_const = internz(F, "const");
  F->n_typeof = internz(F, "typeof");
  F->n_read = internz(F, "read");
  F->n_write = internz(F, "write");
  F->n_self = internz(F, "self");
  F->n_format = internz(F, "format");
  F->n_native = internz(F, "native");
  F->n_checked = internz(F, "checked");
  F->n_deprecated = internz(F, "deprecated");
  if (F->err) return 0;
  F->lex.src = src;
  F->lex.p = src;
  F->lex.end = src + len;
  F->lex.linestart = src;
  F->lex.line = 1;
  F->lex.lastline = 1;
  return 1;
}

void front_free(Front *F) {
  ArenaChunk *c = F->chunks;
  pal_State *L = F->L;
  while (c) {
    ArenaChunk *nx = c->next;
    mem_realloc(L, c, c->size, 0);
    c = nx;
  }
  F->chunks = NULL;
  if (F->strtab) mem_realloc(L, F->strtab, F->strsize * sizeof(FStr *), 0);
  F->strtab = NULL;
  if (F->lex.braces) mem_realloc(L, F->lex.braces, (size_t)F->lex.capbraces, 0);
  F->lex.braces = NULL;
  if (F->lex.buf) mem_realloc(L, F->lex.buf, F->lex.bufcap, 0);
  F->lex.buf = NULL;
}

/* ================= lexer ================= */

#define isdigit_(c) ((c) >= '0' && (c) <= '9')
#define isalpha_(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || (c) == '_')
#define isalnum_(c) (isalpha_(c) || isdigit_(c))
#define isspace_(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n' || (c) == '\v' || (c) == '\f')

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int buf_put(Front *F, int c) {
  Lexer *X = &F->lex;
  if (X->buflen >= X->bufcap) {
    size_t ncap = X->bufcap ? X->bufcap * 2 : 256;
    char *nb;
    if (ncap > ((size_t)1 << 30)) {
      front_memerror(F);
      return 0;
    }
    nb = (char *)mem_realloc(F->L, X->buf, X->bufcap, ncap);
    if (!nb) {
      front_memerror(F);
      return 0;
    }
    X->buf = nb;
    X->bufcap = ncap;
  }
  X->buf[X->buflen++] = (char)c;
  return 1;
}

static int brace_push(Front *F, char kind) {
  Lexer *X = &F->lex;
  if (X->nbraces >= X->capbraces) {
    int ncap = X->capbraces ? X->capbraces * 2 : 32;
    char *nb = (char *)mem_realloc(F->L, X->braces, (size_t)X->capbraces, (size_t)ncap);
    if (!nb) {
      front_memerror(F);
      return 0;
    }
    X->braces = nb;
    X->capbraces = ncap;
  }
  X->braces[X->nbraces++] = kind;
  return 1;
}

static void newline(Lexer *X) {
  X->line++;
  X->linestart = X->p; /* p already past the '\n' */
}

#define MSG_BADSTR "Malformed string; did you forget to finish it?"
#define MSG_BADESC "String literal contains malformed escape sequence"
#define MSG_BADINTERP "Malformed interpolated string; did you forget to add a '`'?"

static void put_utf8(Front *F, uint32_t cp) {
  if (cp < 0x80) {
    buf_put(F, (int)cp);
  } else if (cp < 0x800) {
    buf_put(F, (int)(0xC0 | (cp >> 6)));
    buf_put(F, (int)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    buf_put(F, (int)(0xE0 | (cp >> 12)));
    buf_put(F, (int)(0x80 | ((cp >> 6) & 0x3F)));
    buf_put(F, (int)(0x80 | (cp & 0x3F)));
  } else {
    buf_put(F, (int)(0xF0 | (cp >> 18)));
    buf_put(F, (int)(0x80 | ((cp >> 12) & 0x3F)));
    buf_put(F, (int)(0x80 | ((cp >> 6) & 0x3F)));
    buf_put(F, (int)(0x80 | (cp & 0x3F)));
  }
}

/* p is at the backslash. Appends the escaped value to buf. Returns 0 on error (reported). */
static int read_escape(Front *F, int unterminated_is_interp) {
  Lexer *X = &F->lex;
  int c;
  X->p++; /* skip '\' */
  if (X->p >= X->end) {
    front_error(F, X->line, unterminated_is_interp ? MSG_BADINTERP : MSG_BADSTR);
    return 0;
  }
  c = (uint8_t)*X->p;
  switch (c) {
    case 'a': X->p++; return buf_put(F, '\a');
    case 'b': X->p++; return buf_put(F, '\b');
    case 'f': X->p++; return buf_put(F, '\f');
    case 'n': X->p++; return buf_put(F, '\n');
    case 'r': X->p++; return buf_put(F, '\r');
    case 't': X->p++; return buf_put(F, '\t');
    case 'v': X->p++; return buf_put(F, '\v');
    case '\n':
      X->p++;
      newline(X);
      return buf_put(F, '\n');
    case '\r':
      X->p++;
      if (X->p < X->end && *X->p == '\n') {
        X->p++;
        newline(X);
      }
      return buf_put(F, '\n');
    case 'z':
      X->p++;
      while (X->p < X->end && isspace_((uint8_t)*X->p)) {
        if (*X->p == '\n') {
          X->p++;
          newline(X);
        } else {
          X->p++;
        }
      }
      return 1;
    case 'x': {
      int h1, h2;
      X->p++;
      h1 = X->p < X->end ? hexval((uint8_t)X->p[0]) : -1;
      h2 = X->p + 1 < X->end ? hexval((uint8_t)X->p[1]) : -1;
      if (h1 < 0 || h2 < 0) {
        front_error(F, X->line, MSG_BADESC);
        return 0;
      }
      X->p += 2;
      return buf_put(F, h1 * 16 + h2);
    }
    case 'u': {
      uint32_t cp = 0;
      int nd = 0;
      X->p++;
      if (X->p >= X->end || *X->p != '{') {
        front_error(F, X->line, MSG_BADESC);
        return 0;
      }
      X->p++;
      while (X->p < X->end && hexval((uint8_t)*X->p) >= 0) {
        cp = cp * 16 + (uint32_t)hexval((uint8_t)*X->p);
        if (cp > 0x10FFFF) {
          front_error(F, X->line, MSG_BADESC);
          return 0;
        }
        nd++;
        X->p++;
      }
      if (nd == 0 || X->p >= X->end || *X->p != '}') {
        front_error(F, X->line, MSG_BADESC);
        return 0;
      }
      X->p++;
      put_utf8(F, cp);
      return !F->err;
    }
    default:
      if (isdigit_(c)) {
        int v = 0, i;
        for (i = 0; i < 3 && X->p < X->end && isdigit_((uint8_t)*X->p); i++) {
          v = v * 10 + (*X->p - '0');
          X->p++;
        }
        if (v > 255) {
          front_error(F, X->line, MSG_BADESC);
          return 0;
        }
        return buf_put(F, v);
      }
      /* any other character stands for itself (includes \\ \" \' \` \{) */
      X->p++;
      return buf_put(F, c);
  }
}

static void read_quoted(Front *F, Token *t) {
  Lexer *X = &F->lex;
  char q = *X->p++;
  X->buflen = 0;
  for (;;) {
    int c;
    if (X->p >= X->end) {
      front_error(F, t->line, MSG_BADSTR);
      return;
    }
    c = (uint8_t)*X->p;
    if (c == (uint8_t)q) {
      X->p++;
      break;
    }
    if (c == '\n' || c == '\r') {
      front_error(F, t->line, MSG_BADSTR);
      return;
    }
    if (c == '\\') {
      if (!read_escape(F, 0)) return;
    } else {
      if (!buf_put(F, c)) return;
      X->p++;
    }
  }
  t->t = TK_STRING;
  t->s = front_intern(F, X->buf, X->buflen);
}

/* p at '['. Returns the number of '=' if this opens a long bracket ('[' '='* '['), else -1 (p unchanged).
   With '=' but no second '[', returns -2. */
static int long_open(Lexer *X) {
  const char *q = X->p + 1;
  int n = 0;
  while (q < X->end && *q == '=') {
    q++;
    n++;
  }
  if (q < X->end && *q == '[') {
    X->p = q + 1;
    return n;
  }
  return n > 0 ? -2 : -1;
}

/* read the body of a long bracket of level n (p just past the opener). keep = store text in buf. */
static int read_long(Front *F, int n, int keep, int startline) {
  Lexer *X = &F->lex;
  X->buflen = 0;
  /* a first line break is dropped */
  if (X->p < X->end && *X->p == '\r' && X->p + 1 < X->end && X->p[1] == '\n') {
    X->p += 2;
    newline(X);
  } else if (X->p < X->end && *X->p == '\n') {
    X->p++;
    newline(X);
  }
  for (;;) {
    int c;
    if (X->p >= X->end) return 0;
    c = (uint8_t)*X->p;
    if (c == ']') {
      const char *q = X->p + 1;
      int m = 0;
      while (q < X->end && *q == '=' && m < n) {
        q++;
        m++;
      }
      if (m == n && q < X->end && *q == ']') {
        X->p = q + 1;
        return 1;
      }
      if (keep && !buf_put(F, c)) return 0;
      X->p++;
    } else if (c == '\n') {
      X->p++;
      newline(X);
      if (keep && !buf_put(F, '\n')) return 0;
    } else if (c == '\r' && X->p + 1 < X->end && X->p[1] == '\n') {
      X->p += 2;
      newline(X);
      if (keep && !buf_put(F, '\n')) return 0;
    } else {
      if (keep && !buf_put(F, c)) return 0;
      X->p++;
    }
  }
  (void)startline;
}

/* read a literal part of an interpolated string; p is just past '`' or '}' */
static void read_interp(Front *F, Token *t, int first) {
  Lexer *X = &F->lex;
  X->buflen = 0;
  for (;;) {
    int c;
    if (X->p >= X->end) {
      front_error(F, t->line, MSG_BADINTERP);
      return;
    }
    c = (uint8_t)*X->p;
    if (c == '`') {
      X->p++;
      t->t = first ? TK_INTERP_SIMPLE : TK_INTERP_END;
      break;
    }
    if (c == '{') {
      X->p++;
      if (X->p < X->end && *X->p == '{') {
        front_error(F, X->line, "Double braces are not permitted within interpolated strings; did you mean '\\{'?");
        return;
      }
      if (!brace_push(F, 'I')) return;
      t->t = first ? TK_INTERP_BEGIN : TK_INTERP_MID;
      break;
    }
    if (c == '\n' || c == '\r') {
      front_error(F, t->line, MSG_BADINTERP);
      return;
    }
    if (c == '\\') {
      if (!read_escape(F, 1)) return;
    } else {
      if (!buf_put(F, c)) return;
      X->p++;
    }
  }
  t->s = front_intern(F, X->buf, X->buflen);
}

static void read_number(Front *F, Token *t) {
  Lexer *X = &F->lex;
  const char *q = X->p;
  const char *e = X->end;
  size_t i, n;
  const char *b;
  while (q < e && (isdigit_((uint8_t)*q) || *q == '.' || *q == '_')) q++;
  if (q < e && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < e && (*q == '+' || *q == '-')) q++;
  }
  /* trailing letters/digits/underscores (and dots, so "0x1.8" is one malformed token rather than two) */
  while (q < e && (isalnum_((uint8_t)*q) || *q == '.')) q++;
  X->buflen = 0;
  for (b = X->p; b < q; b++)
    if (*b != '_' && !buf_put(F, *b)) return;
  X->p = q;
  if (!buf_put(F, 0)) return;
  n = X->buflen - 1;
  b = X->buf;
  t->t = TK_NUMBER;
  if (n >= 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X' || b[1] == 'b' || b[1] == 'B')) {
    int base = (b[1] == 'x' || b[1] == 'X') ? 16 : 2;
    uint64_t v = 0;
    int overflow = 0;
    if (n == 2) goto malformed;
    for (i = 2; i < n; i++) {
      int d = hexval((uint8_t)b[i]);
      if (d < 0 || d >= base) goto malformed;
      if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) overflow = 1;
      v = v * (uint64_t)base + (uint64_t)d;
    }
    t->n = overflow ? 18446744073709551616.0 : (double)v;
    return;
  } else {
    /* pal_str2num takes what strtod would read entirely, and also hex, inf and nan; the token starts with a digit
       or '.' and hex was handled above, so only plain decimals are accepted here */
    if (n == 0 || !pal_str2num(b, n, &t->n)) goto malformed;
    return;
  }
malformed:
  front_error(F, t->line, "Malformed number");
}

static void read_unicode_error(Front *F) {
  Lexer *X = &F->lex;
  const uint8_t *s = (const uint8_t *)X->p;
  size_t left = (size_t)(X->end - X->p);
  uint32_t cp = s[0];
  int n = 0, i;
  if (cp >= 0xF0 && cp < 0xF8) {
    n = 3;
    cp &= 0x07;
  } else if (cp >= 0xE0) {
    n = 2;
    cp &= 0x0F;
  } else if (cp >= 0xC0) {
    n = 1;
    cp &= 0x1F;
  }
  if (cp == s[0] || (size_t)n >= left) {
    front_error(F, X->line, "Expected identifier when parsing expression, got invalid UTF-8 byte 0x%02x", s[0]);
    return;
  }
  for (i = 1; i <= n; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      front_error(F, X->line, "Expected identifier when parsing expression, got invalid UTF-8 byte 0x%02x", s[0]);
      return;
    }
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  front_error(F, X->line, "Expected identifier when parsing expression, got Unicode character U+%x", (unsigned)cp);
}

/* scan one token into t */
static void scan(Front *F, Token *t) {
  Lexer *X = &F->lex;
  const char *e = X->end;
  for (;;) {
    int c;
    if (F->err) {
      t->t = TK_EOF;
      t->line = t->endline = X->line;
      t->start = X->p;
      t->len = 0;
      return;
    }
    while (X->p < e && isspace_((uint8_t)*X->p)) {
      if (*X->p == '\n') {
        X->p++;
        newline(X);
      } else {
        X->p++;
      }
    }
    t->line = X->line;
    t->col = (int)(X->p - X->linestart) + 1;
    t->start = X->p;
    t->s = NULL;
    if (X->p >= e) {
      t->t = TK_EOF;
      break;
    }
    c = (uint8_t)*X->p;
    switch (c) {
      case '-':
        if (X->p + 1 < e && X->p[1] == '-') {
          /* comment */
          X->p += 2;
          if (X->p < e && *X->p == '[') {
            int n = long_open(X);
            if (n >= 0) {
              int sl = X->line;
              if (!read_long(F, n, 0, sl)) {
                if (!F->err) front_error(F, sl, "Unfinished long comment");
                continue;
              }
              continue;
            }
          }
          while (X->p < e && *X->p != '\n') X->p++;
          continue;
        }
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_SUBEQ;
        } else if (X->p < e && *X->p == '>') {
          X->p++;
          t->t = TK_ARROW;
        } else {
          t->t = '-';
        }
        goto done;
      case '[': {
        int n = long_open(X);
        if (n >= 0) {
          int sl = X->line;
          if (!read_long(F, n, 1, sl)) {
            if (!F->err) front_error(F, sl, MSG_BADSTR);
            continue;
          }
          t->t = TK_STRING;
          t->s = front_intern(F, X->buf, X->buflen);
          goto done;
        }
        if (n == -2) {
          front_error(F, X->line, MSG_BADSTR);
          continue;
        }
        X->p++;
        t->t = '[';
        goto done;
      }
      case '=':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_EQ;
        } else {
          t->t = '=';
        }
        goto done;
      case '<':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_LE;
        } else {
          t->t = '<';
        }
        goto done;
      case '>':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_GE;
        } else {
          t->t = '>';
        }
        goto done;
      case '~':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_NE;
        } else {
          t->t = '~';
        }
        goto done;
      case '!':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_BANGEQ;
        } else {
          t->t = '!';
        }
        goto done;
      case '&':
        X->p++;
        if (X->p < e && *X->p == '&') {
          X->p++;
          t->t = TK_AMPAMP;
        } else {
          t->t = '&';
        }
        goto done;
      case '|':
        X->p++;
        if (X->p < e && *X->p == '|') {
          X->p++;
          t->t = TK_PIPEPIPE;
        } else {
          t->t = '|';
        }
        goto done;
      case ':':
        X->p++;
        if (X->p < e && *X->p == ':') {
          X->p++;
          t->t = TK_DBCOLON;
        } else {
          t->t = ':';
        }
        goto done;
      case '"':
      case '\'':
        read_quoted(F, t);
        if (F->err) continue;
        goto done;
      case '`':
        X->p++;
        read_interp(F, t, 1);
        if (F->err) continue;
        goto done;
      case '.':
        if (X->p + 1 < e && X->p[1] == '.') {
          if (X->p + 2 < e && X->p[2] == '.') {
            X->p += 3;
            t->t = TK_DOTS;
          } else if (X->p + 2 < e && X->p[2] == '=') {
            X->p += 3;
            t->t = TK_CONCATEQ;
          } else {
            X->p += 2;
            t->t = TK_CONCAT;
          }
          goto done;
        }
        if (X->p + 1 < e && isdigit_((uint8_t)X->p[1])) {
          read_number(F, t);
          if (F->err) continue;
          goto done;
        }
        X->p++;
        t->t = '.';
        goto done;
      case '+':
      case '*':
      case '%':
      case '^':
        X->p++;
        if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = c == '+' ? TK_ADDEQ : c == '*' ? TK_MULEQ : c == '%' ? TK_MODEQ : TK_POWEQ;
        } else {
          t->t = c;
        }
        goto done;
      case '/':
        X->p++;
        if (X->p < e && *X->p == '/') {
          X->p++;
          if (X->p < e && *X->p == '=') {
            X->p++;
            t->t = TK_IDIVEQ;
          } else {
            t->t = TK_IDIV;
          }
        } else if (X->p < e && *X->p == '=') {
          X->p++;
          t->t = TK_DIVEQ;
        } else {
          t->t = '/';
        }
        goto done;
      case '{':
        X->p++;
        if (!brace_push(F, 'T')) continue;
        t->t = '{';
        goto done;
      case '}':
        X->p++;
        if (X->nbraces > 0 && X->braces[X->nbraces - 1] == 'I') {
          X->nbraces--;
          read_interp(F, t, 0);
          if (F->err) continue;
          goto done;
        }
        if (X->nbraces > 0) X->nbraces--;
        t->t = '}';
        goto done;
      default:
        if (isdigit_(c)) {
          read_number(F, t);
          if (F->err) continue;
          goto done;
        }
        if (isalpha_(c)) {
          const char *q = X->p;
          FStr *s;
          while (q < e && isalnum_((uint8_t)*q)) q++;
          s = front_intern(F, X->p, (size_t)(q - X->p));
          X->p = q;
          if (!s) continue;
          t->s = s;
          t->t = s->reserved ? s->reserved : TK_NAME;
          goto done;
        }
        if (c >= 0x80) {
          read_unicode_error(F);
          continue;
        }
        /* other single characters: ( ) ; , # ? @ etc., and stray ones the parser rejects */
        X->p++;
        t->t = c;
        goto done;
    }
  }
done:
  t->len = (size_t)(X->p - t->start);
  t->endline = X->line;
}

void lex_next(Front *F) {
  Lexer *X = &F->lex;
  X->lastline = X->cur.endline;
  if (X->hasahead) {
    X->cur = X->ahead;
    X->hasahead = 0;
  } else {
    scan(F, &X->cur);
  }
  if (F->err) X->cur.t = TK_EOF;
}

const Token *lex_peektok(Front *F) {
  Lexer *X = &F->lex;
  if (!X->hasahead) {
    scan(F, &X->ahead);
    X->hasahead = 1;
  }
  if (F->err) X->ahead.t = TK_EOF;
  return &X->ahead;
}

int lex_peek(Front *F) { return lex_peektok(F)->t; }

static const char *const symbol_names[] = {
  "==", "~=", "<=", ">=", "..", "...", "//", "::", "->",
  "+=", "-=", "*=", "/=", "//=", "%=", "^=", "..=",
  "!=", "&&", "||"};

const char *lex_tokname(int t, char *buf, size_t bufsz) {
  if (t < TK_FIRST) {
    if (t >= 32 && t < 127)
      snprintf(buf, bufsz, "'%c'", t);
    else
      snprintf(buf, bufsz, "'\\%d'", t);
  } else if (t <= TK_WHILE) {
    snprintf(buf, bufsz, "'%s'", reserved_words[t - TK_FIRST]);
  } else if (t <= TK_PIPEPIPE) {
    snprintf(buf, bufsz, "'%s'", symbol_names[t - TK_EQ]);
  } else {
    switch (t) {
      case TK_NAME: snprintf(buf, bufsz, "identifier"); break;
      case TK_NUMBER: snprintf(buf, bufsz, "number"); break;
      case TK_STRING: snprintf(buf, bufsz, "string"); break;
      case TK_INTERP_BEGIN:
      case TK_INTERP_MID:
      case TK_INTERP_END:
      case TK_INTERP_SIMPLE: snprintf(buf, bufsz, "interpolated string"); break;
      default: snprintf(buf, bufsz, "<eof>"); break;
    }
  }
  return buf;
}

const char *lex_tokstr(Front *F, const Token *t, char *buf, size_t bufsz) {
  (void)F;
  switch (t->t) {
    case TK_NAME:
      snprintf(buf, bufsz, "'%.*s'", (int)(t->s->len > 60 ? 60 : t->s->len), t->s->s);
      return buf;
    case TK_NUMBER:
      snprintf(buf, bufsz, "'%.*s'", (int)(t->len > 60 ? 60 : t->len), t->start);
      return buf;
    case TK_STRING:
      if (t->s && t->s->len <= 60 && memchr(t->s->s, '\n', t->s->len) == NULL)
        snprintf(buf, bufsz, "\"%s\"", t->s->s);
      else
        snprintf(buf, bufsz, "string");
      return buf;
    default:
      return lex_tokname(t->t, buf, bufsz);
  }
}

/* ================= chunk id ================= */

void pal_chunkid(char *out, size_t outsz, const char *chunkname, size_t namelen) {
  if (outsz == 0) return;
  if (namelen > 0 && chunkname[0] == '=') {
    size_t n = namelen - 1;
    if (n > outsz - 1) n = outsz - 1;
    memcpy(out, chunkname + 1, n);
    out[n] = 0;
  } else if (namelen > 0 && chunkname[0] == '@') {
    size_t n = namelen - 1;
    if (n <= outsz - 1) {
      memcpy(out, chunkname + 1, n);
      out[n] = 0;
    } else if (outsz > 4) {
      size_t keep = outsz - 1 - 3;
      memcpy(out, "...", 3);
      memcpy(out + 3, chunkname + 1 + (n - keep), keep);
      out[3 + keep] = 0;
    } else {
      out[0] = 0;
    }
  } else {
    /* [string "first line..."] */
    static const char pre[] = "[string \"";
    static const char post[] = "\"]";
    size_t avail, n = 0, l;
    int cut = 0;
    if (outsz < sizeof(pre) + sizeof(post) + 3) {
      out[0] = 0;
      return;
    }
    avail = outsz - (sizeof(pre) - 1) - (sizeof(post) - 1) - 3 - 1; /* room for "..." and NUL */
    while (n < namelen && chunkname[n] != '\n' && chunkname[n] != '\r') n++;
    if (n < namelen) cut = 1;
    if (n > avail) {
      n = avail;
      cut = 1;
    }
    l = 0;
    memcpy(out, pre, sizeof(pre) - 1);
    l = sizeof(pre) - 1;
    memcpy(out + l, chunkname, n);
    l += n;
    if (cut) {
      memcpy(out + l, "...", 3);
      l += 3;
    }
    memcpy(out + l, post, sizeof(post) - 1);
    l += sizeof(post) - 1;
    out[l] = 0;
  }
}
