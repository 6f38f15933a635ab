/*
 * lpattern.c - backtracking matcher for Luau string patterns (see lpattern.h and the language reference §5).
 *
 * Written for Palisade from the documented semantics. The matcher walks the pattern left to right; a single
 * character class followed by a repetition suffix backtracks by recursion, captures are recorded in a fixed
 * array. Every recursive entry consumes one unit of nesting allowance (LPAT_MAXDEPTH), and every step is counted
 * for the fuel callback so that exponential patterns can be stopped by the host.
 */
#include "lpattern.h"

#include <string.h>

#define PESC '%'

typedef unsigned char uchar;

/* ---- C-locale character classes (ASCII only, locale independent) ---- */
static int c_isdigit(int c) { return c >= '0' && c <= '9'; }
static int c_islower(int c) { return c >= 'a' && c <= 'z'; }
static int c_isupper(int c) { return c >= 'A' && c <= 'Z'; }
static int c_isalpha(int c) { return c_islower(c) || c_isupper(c); }
static int c_isalnum(int c) { return c_isalpha(c) || c_isdigit(c); }
static int c_iscntrl(int c) { return c < 32 || c == 127; }
static int c_isspace(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int c_isgraph(int c) { return c > 32 && c < 127; }
static int c_ispunct(int c) { return c_isgraph(c) && !c_isalnum(c); }
static int c_isxdigit(int c) { return c_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static const char *set_error(lpat_State *ms, const char *msg) {
  if (ms->status == LPAT_OK) {
    size_t n = strlen(msg);
    if (n >= sizeof(ms->errmsg)) n = sizeof(ms->errmsg) - 1;
    memcpy(ms->errmsg, msg, n);
    ms->errmsg[n] = '\0';
    ms->status = LPAT_ERROR;
  }
  return NULL;
}

static const char *capture_index_error(lpat_State *ms, int idx) {
  char msg[40] = "invalid capture index %";
  size_t n = strlen(msg);
  /* idx is in -1..9 (pattern) or up to 9 (replacement); render it */
  if (idx < 0) {
    msg[n++] = '-';
    idx = -idx;
  }
  if (idx >= 10) msg[n++] = (char)('0' + (idx / 10) % 10);
  msg[n++] = (char)('0' + idx % 10);
  msg[n] = '\0';
  return set_error(ms, msg);
}

int lpat_flushfuel(lpat_State *ms) {
  if (ms->steps > 0 && ms->fuel != NULL) {
    int64_t n = ms->steps;
    ms->steps = 0;
    if (ms->fuel(ms->fuel_ud, n) != 0) {
      if (ms->status == LPAT_OK) ms->status = LPAT_ABORT;
      return 1;
    }
  }
  ms->steps = 0;
  return 0;
}

/* count one step; returns nonzero when matching must stop */
static int tick(lpat_State *ms) {
  if (++ms->steps >= LPAT_FUELBATCH) return lpat_flushfuel(ms);
  return 0;
}

void lpat_init(lpat_State *ms, const char *s, size_t ls, const char *pat_end, lpat_FuelFn fuel, void *ud) {
  ms->src = s;
  ms->src_end = s + ls;
  ms->pat_end = pat_end;
  ms->status = LPAT_OK;
  ms->steps = 0;
  ms->fuel = fuel;
  ms->fuel_ud = ud;
  ms->errmsg[0] = '\0';
  lpat_reset(ms);
}

void lpat_reset(lpat_State *ms) {
  ms->level = 0;
  ms->depth = LPAT_MAXDEPTH;
}

/* Pointer just past the single-character class starting at p (p < pat_end), or NULL on a malformed pattern. */
static const char *class_end(lpat_State *ms, const char *p) {
  const char *pe = ms->pat_end;
  char c = *p++;
  if (c == PESC) {
    if (p >= pe) return set_error(ms, "malformed pattern (ends with '%')");
    return p + 1;
  }
  if (c == '[') {
    if (p < pe && *p == '^') p++;
    /* the first member is taken literally, so "[]]" and "[^]]" contain ']' */
    for (;;) {
      if (p >= pe) return set_error(ms, "malformed pattern (missing ']')");
      c = *p++;
      if (c == PESC) {
        if (p >= pe) return set_error(ms, "malformed pattern (missing ']')");
        p++;
      }
      if (p >= pe) return set_error(ms, "malformed pattern (missing ']')");
      if (*p == ']') return p + 1;
    }
  }
  return p;
}

/* class letter cl (the char after '%') against byte c */
static int class_match(int c, int cl) {
  int r;
  switch (cl | 0x20) {
  case 'a': r = c_isalpha(c); break;
  case 'c': r = c_iscntrl(c); break;
  case 'd': r = c_isdigit(c); break;
  case 'g': r = c_isgraph(c); break;
  case 'l': r = c_islower(c); break;
  case 'p': r = c_ispunct(c); break;
  case 's': r = c_isspace(c); break;
  case 'u': r = c_isupper(c); break;
  case 'w': r = c_isalnum(c); break;
  case 'x': r = c_isxdigit(c); break;
  case 'z': r = (c == 0); break;
  default: return cl == c; /* not a class letter: the character itself */
  }
  if (!c_isalpha(cl)) return cl == c; /* e.g. 'A'|0x20 tricks on non-letters */
  return c_isupper(cl) ? !r : r;
}

/* set "[...]": p points at '[', close at the terminating ']' */
static int set_match(int c, const char *p, const char *close) {
  int negate = 0;
  p++;
  if (*p == '^') {
    negate = 1;
    p++;
  }
  while (p < close) {
    if (*p == PESC && p + 1 < close) {
      if (class_match(c, (uchar)p[1])) return !negate;
      p += 2;
    } else if (p + 2 < close && p[1] == '-') {
      if ((uchar)p[0] <= c && c <= (uchar)p[2]) return !negate;
      p += 3;
    } else {
      if ((uchar)*p == c) return !negate;
      p++;
    }
  }
  return negate;
}

/* does byte at s (s < src_end) match the class [p, ep)? */
static int single_match(const char *s, const char *p, const char *ep) {
  int c = (uchar)*s;
  switch (*p) {
  case '.': return 1;
  case PESC: return class_match(c, (uchar)p[1]);
  case '[': return set_match(c, p, ep - 1);
  default: return (uchar)*p == c;
  }
}

static const char *do_match(lpat_State *ms, const char *s, const char *p);

static const char *match_nested(lpat_State *ms, const char *s, const char *p) {
  const char *r;
  if (ms->depth <= 0) return set_error(ms, "pattern too complex");
  ms->depth--;
  r = do_match(ms, s, p);
  ms->depth++;
  return r;
}

/* greedy repetition: s is where repetition starts, [p, ep) is the class, ep[0] the suffix */
static const char *expand_greedy(lpat_State *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t n = 0;
  while (s + n < ms->src_end && single_match(s + n, p, ep)) {
    n++;
    if (tick(ms)) return NULL;
  }
  for (; n >= 0; n--) {
    const char *r = match_nested(ms, s + n, ep + 1);
    if (r != NULL || ms->status != LPAT_OK) return r;
    if (tick(ms)) return NULL;
  }
  return NULL;
}

static const char *expand_lazy(lpat_State *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = match_nested(ms, s, ep + 1);
    if (r != NULL || ms->status != LPAT_OK) return r;
    if (s < ms->src_end && single_match(s, p, ep))
      s++;
    else
      return NULL;
    if (tick(ms)) return NULL;
  }
}

static const char *open_capture(lpat_State *ms, const char *s, const char *p, ptrdiff_t kind) {
  const char *r;
  if (ms->level >= LPAT_MAXCAPTURES) return set_error(ms, "too many captures");
  ms->cap[ms->level].init = s;
  ms->cap[ms->level].len = kind;
  ms->level++;
  r = match_nested(ms, s, p);
  if (r == NULL) ms->level--;
  return r;
}

static const char *close_capture(lpat_State *ms, const char *s, const char *p) {
  int i;
  const char *r;
  for (i = ms->level - 1; i >= 0; i--)
    if (ms->cap[i].len == LPAT_CAP_UNFINISHED) break;
  if (i < 0) return set_error(ms, "invalid pattern capture");
  ms->cap[i].len = s - ms->cap[i].init;
  r = match_nested(ms, s, p);
  if (r == NULL) ms->cap[i].len = LPAT_CAP_UNFINISHED;
  return r;
}

static const char *do_match(lpat_State *ms, const char *s, const char *p) {
  const char *pe = ms->pat_end;
  for (;;) {
    const char *ep;
    int m;
    if (tick(ms)) return NULL;
    if (p == pe) return s;
    switch (*p) {
    case '(':
      if (p + 1 < pe && p[1] == ')') return open_capture(ms, s, p + 2, LPAT_CAP_POSITION);
      return open_capture(ms, s, p + 1, LPAT_CAP_UNFINISHED);
    case ')':
      return close_capture(ms, s, p + 1);
    case '$':
      if (p + 1 == pe) return s == ms->src_end ? s : NULL;
      break;
    case PESC:
      if (p + 1 >= pe) break; /* class_end reports the error */
      if (p[1] == 'b') {
        const char *q;
        int depth = 1;
        p += 2;
        if (pe - p < 2) return set_error(ms, "malformed pattern (missing arguments to '%b')");
        if (s >= ms->src_end || *s != p[0]) return NULL;
        for (q = s + 1;; q++) {
          if (q >= ms->src_end) return NULL;
          if (tick(ms)) return NULL;
          if (*q == p[1]) {
            if (--depth == 0) break;
          } else if (*q == p[0]) {
            depth++;
          }
        }
        s = q + 1;
        p += 2;
        continue;
      }
      if (p[1] == 'f') {
        int prev, cur;
        p += 2;
        if (p >= pe || *p != '[') return set_error(ms, "missing '[' after '%f' in pattern");
        ep = class_end(ms, p);
        if (ep == NULL) return NULL;
        prev = (s == ms->src) ? 0 : (uchar)s[-1];
        cur = (s < ms->src_end) ? (uchar)*s : 0;
        if (set_match(prev, p, ep - 1) || !set_match(cur, p, ep - 1)) return NULL;
        p = ep;
        continue;
      }
      if (c_isdigit((uchar)p[1])) {
        int idx = p[1] - '1';
        ptrdiff_t len;
        if (idx < 0 || idx >= ms->level || ms->cap[idx].len == LPAT_CAP_UNFINISHED)
          return capture_index_error(ms, idx + 1);
        len = ms->cap[idx].len;
        if (len < 0 || ms->src_end - s < len || memcmp(ms->cap[idx].init, s, (size_t)len) != 0) return NULL;
        ms->steps += len / 32;
        s += len;
        p += 2;
        continue;
      }
      break;
    default:
      break;
    }
    /* a single-character class, possibly followed by a repetition suffix */
    ep = class_end(ms, p);
    if (ep == NULL) return NULL;
    m = s < ms->src_end && single_match(s, p, ep);
    if (ep < pe) {
      switch (*ep) {
      case '?':
        if (m) {
          const char *r = match_nested(ms, s + 1, ep + 1);
          if (r != NULL || ms->status != LPAT_OK) return r;
        }
        p = ep + 1;
        continue;
      case '+':
        return m ? expand_greedy(ms, s + 1, p, ep) : NULL;
      case '*':
        return expand_greedy(ms, s, p, ep);
      case '-':
        return expand_lazy(ms, s, p, ep);
      default:
        break;
      }
    }
    if (!m) return NULL;
    s++;
    p = ep;
  }
}

const char *lpat_match(lpat_State *ms, const char *s, const char *p) {
  if (ms->status != LPAT_OK) return NULL;
  return match_nested(ms, s, p);
}

int lpat_nresults(const lpat_State *ms, int wholeifnone) {
  return (ms->level == 0 && wholeifnone) ? 1 : ms->level;
}

int lpat_capture(lpat_State *ms, int i, const char *s, const char *e, const char **ptr, size_t *len, size_t *pos) {
  if (i >= ms->level) {
    if (i == 0) {
      *ptr = s;
      *len = (size_t)(e - s);
      return 0;
    }
    capture_index_error(ms, i + 1);
    return -1;
  }
  if (ms->cap[i].len == LPAT_CAP_UNFINISHED) {
    set_error(ms, "unfinished capture");
    return -1;
  }
  if (ms->cap[i].len == LPAT_CAP_POSITION) {
    *pos = (size_t)(ms->cap[i].init - ms->src) + 1;
    return 1;
  }
  *ptr = ms->cap[i].init;
  *len = (size_t)ms->cap[i].len;
  return 0;
}

int lpat_nospecials(const char *p, size_t lp) {
  size_t i;
  for (i = 0; i < lp; i++) {
    switch (p[i]) {
    case '^': case '$': case '*': case '+': case '?': case '.': case '(': case '[': case '%': case '-':
      return 0;
    default:
      break;
    }
  }
  return 1;
}

const char *lpat_memfind(const char *s, size_t ls, const char *p, size_t lp) {
  const char *last, *q;
  if (lp == 0) return s;
  if (lp > ls) return NULL;
  last = s + (ls - lp);
  q = s;
  while (q <= last) {
    const char *hit = memchr(q, (uchar)p[0], (size_t)(last - q) + 1);
    if (hit == NULL) return NULL;
    if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
    q = hit + 1;
  }
  return NULL;
}
