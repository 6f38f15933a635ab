/*
 * lpattern.c - backtracking matcher for Luau string patterns (see lpattern.h and the language reference §5).
 *
 * Written for Palisade from the documented semantics. The matcher walks the pattern left to right; a single
 * character class followed by a repetition suffix backtracks by recursion, captures are recorded in a fixed
 * array and opened and closed without recursion (a failed attempt's changes are undone by the backtracking
 * point that made it). Every recursive entry and every capture step consumes one unit of nesting allowance
 * (LPAT_MAXDEPTH), and every step is counted for the fuel callback so that exponential patterns can be stopped
 * by the host. Fast paths (a pattern's end reached after a repetition, a pattern that is one class item) skip
 * the matcher's calls but count the same steps.
 */
#include "lpattern.h"

#include <string.h>

#include "memops.h"

#define PESC '%'

typedef unsigned char uchar;

/* ---- C-locale character classes (ASCII only, locale independent) ----
   ctype[c] holds one bit per class letter, so a class test is one table load and a mask; the table is a
   compile-time constant built from the predicates below. */
#define C_ALPHA 0x001
#define C_DIGIT 0x002
#define C_LOWER 0x004
#define C_UPPER 0x008
#define C_SPACE 0x010
#define C_CNTRL 0x020
#define C_PUNCT 0x040
#define C_XDIGIT 0x080
#define C_ALNUM 0x100
#define C_GRAPH 0x200
#define C_ZERO 0x400
#define C_NEGATE 0x8000 /* in clsinfo: an upper-case class letter (complement) */

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define IS_UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_ALPHA(c) (IS_LOWER(c) || IS_UPPER(c))
#define IS_ALNUM(c) (IS_ALPHA(c) || IS_DIGIT(c))
#define IS_GRAPH(c) ((c) > 32 && (c) < 127)
#define CT(c)                                                                                                   \
  (uint16_t)((IS_ALPHA(c) ? C_ALPHA : 0) | (IS_DIGIT(c) ? C_DIGIT : 0) | (IS_LOWER(c) ? C_LOWER : 0) |          \
             (IS_UPPER(c) ? C_UPPER : 0) | ((c) == ' ' || ((c) >= '\t' && (c) <= '\r') ? C_SPACE : 0) |       \
             ((c) < 32 || (c) == 127 ? C_CNTRL : 0) | (IS_GRAPH(c) && !IS_ALNUM(c) ? C_PUNCT : 0) |          \
             (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F') ? C_XDIGIT : 0) |       \
             (IS_ALNUM(c) ? C_ALNUM : 0) | (IS_GRAPH(c) ? C_GRAPH : 0) | ((c) == 0 ? C_ZERO : 0))
#define CT4(c) CT(c), CT((c) + 1), CT((c) + 2), CT((c) + 3)
#define CT16(c) CT4(c), CT4((c) + 4), CT4((c) + 8), CT4((c) + 12)
#define CT64(c) CT16(c), CT16((c) + 16), CT16((c) + 32), CT16((c) + 48)
static const uint16_t ctype[256] = {CT64(0), CT64(64), CT64(128), CT64(192)};

/* the class bits of a letter after '%' (C_NEGATE for upper case); 0 = not a class letter, the byte itself */
static const uint16_t clsinfo[256] = {
    ['a'] = C_ALPHA, ['c'] = C_CNTRL, ['d'] = C_DIGIT, ['g'] = C_GRAPH, ['l'] = C_LOWER, ['p'] = C_PUNCT,
    ['s'] = C_SPACE, ['u'] = C_UPPER, ['w'] = C_ALNUM, ['x'] = C_XDIGIT, ['z'] = C_ZERO,
    ['A'] = C_ALPHA | C_NEGATE, ['C'] = C_CNTRL | C_NEGATE, ['D'] = C_DIGIT | C_NEGATE,
    ['G'] = C_GRAPH | C_NEGATE, ['L'] = C_LOWER | C_NEGATE, ['P'] = C_PUNCT | C_NEGATE,
    ['S'] = C_SPACE | C_NEGATE, ['U'] = C_UPPER | C_NEGATE, ['W'] = C_ALNUM | C_NEGATE,
    ['X'] = C_XDIGIT | C_NEGATE, ['Z'] = C_ZERO | C_NEGATE,
};

static int c_isdigit(int c) { return IS_DIGIT(c); }

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
  ms->pat = NULL;
  ms->first.kind = LPAT_FIRST_NONE;
  ms->first.single = 0;
  lpat_reset(ms);
}

void lpat_reset(lpat_State *ms) {
  ms->level = 0;
  ms->unfinished = 0;
  ms->depth = LPAT_MAXDEPTH;
}

/* Pointer just past the single-character class starting at p (p < pe), or NULL with *err set on a malformed
   pattern. */
static const char *scan_class(const char *p, const char *pe, const char **err) {
  char c = *p++;
  if (c == PESC) {
    if (p >= pe) {
      *err = "malformed pattern (ends with '%')";
      return NULL;
    }
    return p + 1;
  }
  if (c == '[') {
    if (p < pe && *p == '^') p++;
    /* the first member is taken literally, so "[]]" and "[^]]" contain ']' */
    for (;;) {
      if (p >= pe) break;
      c = *p++;
      if (c == PESC) {
        if (p >= pe) break;
        p++;
      }
      if (p >= pe) break;
      if (*p == ']') return p + 1;
    }
    *err = "malformed pattern (missing ']')";
    return NULL;
  }
  return p;
}

static const char *class_end(lpat_State *ms, const char *p) {
  const char *err = NULL;
  const char *ep = scan_class(p, ms->pat_end, &err);
  return ep != NULL ? ep : set_error(ms, err);
}

/* class letter cl (the char after '%') against byte c */
static inline int class_match(int c, int cl) {
  unsigned info = clsinfo[cl];
  if (info == 0) return cl == c; /* not a class letter: the character itself */
  return ((ctype[c] & info) != 0) ^ (info >> 15);
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
static inline int single_match(const char *s, const char *p, const char *ep) {
  int c = (uchar)*s;
  switch (*p) {
  case '.': return 1;
  case PESC: return class_match(c, (uchar)p[1]);
  case '[': return set_match(c, p, ep - 1);
  default: return (uchar)*p == c;
  }
}

/* Number of bytes from s (before end) that match the class [p, ep), all scanned in one tight loop. */
static ptrdiff_t match_run(const char *s, const char *end, const char *p, const char *ep) {
  const uchar *q = (const uchar *)s, *e = (const uchar *)end;
  int c;
  switch (*p) {
  case '.': return end - s;
  case '[':
    while (q < e && set_match(*q, p, ep - 1)) q++;
    return (const char *)q - s;
  case PESC: {
    unsigned info = clsinfo[(uchar)p[1]];
    if (info != 0) {
      unsigned neg = info >> 15;
      info &= ~(unsigned)C_NEGATE;
      while (q < e && ((ctype[*q] & info) != 0) != neg) q++;
      return (const char *)q - s;
    }
    c = (uchar)p[1];
    break;
  }
  default:
    c = (uchar)*p;
    break;
  }
  while (q < e && *q == c) q++;
  return (const char *)q - s;
}

static const char *do_match(lpat_State *ms, const char *s, const char *p);

/* One unit of nesting allowance for a step that the matcher takes without a C call of its own (an opened or
   closed capture): the allowance counts pattern steps, not C frames. 0 on "pattern too complex". */
static inline int enter(lpat_State *ms) {
  if (ms->depth <= 0) {
    set_error(ms, "pattern too complex");
    return 0;
  }
  ms->depth--;
  return 1;
}

/* Undo what a failed attempt did to the captures: those it opened are dropped (level) and those it closed that
   were open before (the bits of unfinished that are now clear) are open again. Captures below level that were
   already closed cannot have changed, as ')' only closes open ones. */
static void restore_captures(lpat_State *ms, int level, uint32_t unfinished) {
  uint32_t reopened = unfinished & ~ms->unfinished;
  ms->level = level;
  ms->unfinished = unfinished;
  while (reopened != 0) {
    ms->cap[__builtin_ctz(reopened)].len = LPAT_CAP_UNFINISHED;
    reopened &= reopened - 1;
  }
}

/* A backtracking point: match [p, pat_end) at s, leaving depth and, on failure, the captures as they were. */
static const char *match_nested(lpat_State *ms, const char *s, const char *p) {
  int depth = ms->depth, level = ms->level;
  uint32_t unfinished = ms->unfinished;
  const char *r;
  if (!enter(ms)) return NULL;
  r = do_match(ms, s, p);
  ms->depth = depth;
  if (r == NULL) restore_captures(ms, level, unfinished);
  return r;
}

/* match_nested for the continuation p of a repetition: when the pattern ends there it matches at once, which
   costs the nesting check and the one step that match_nested would count, without its call */
static inline const char *match_rest(lpat_State *ms, const char *s, const char *p) {
  if (p != ms->pat_end) return match_nested(ms, s, p);
  if (ms->depth <= 0) return set_error(ms, "pattern too complex");
  return tick(ms) ? NULL : s;
}

/* greedy repetition: s is where repetition starts, [p, ep) is the class, ep[0] the suffix */
static const char *expand_greedy(lpat_State *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t n = match_run(s, ms->src_end, p, ep);
  /* one step per repeated byte, as if they were matched one at a time */
  ms->steps += n;
  if (ms->steps >= LPAT_FUELBATCH && lpat_flushfuel(ms)) return NULL;
  for (; n >= 0; n--) {
    const char *r = match_rest(ms, s + n, ep + 1);
    if (r != NULL || ms->status != LPAT_OK) return r;
    if (tick(ms)) return NULL;
  }
  return NULL;
}

static const char *expand_lazy(lpat_State *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = match_rest(ms, s, ep + 1);
    if (r != NULL || ms->status != LPAT_OK) return r;
    if (s < ms->src_end && single_match(s, p, ep))
      s++;
    else
      return NULL;
    if (tick(ms)) return NULL;
  }
}

/* Match [p, pat_end) at s. Captures are opened and closed in place (match_nested undoes them when an attempt
   fails); only repetitions and '?' recurse, to backtrack. */
static const char *do_match(lpat_State *ms, const char *s, const char *p) {
  const char *const pe = ms->pat_end;
  for (;;) {
    const char *ep;
    int m;
    if (tick(ms)) return NULL;
    if (p == pe) return s;
    switch (*p) {
    case '(': {
      int i = ms->level;
      ptrdiff_t kind = LPAT_CAP_UNFINISHED;
      if (p + 1 < pe && p[1] == ')') {
        kind = LPAT_CAP_POSITION;
        p++;
      }
      if (i >= LPAT_MAXCAPTURES) return set_error(ms, "too many captures");
      ms->cap[i].init = s;
      ms->cap[i].len = kind;
      if (kind == LPAT_CAP_UNFINISHED) ms->unfinished |= 1u << i;
      ms->level = i + 1;
      if (!enter(ms)) return NULL;
      p++;
      continue;
    }
    case ')': {
      int i;
      if (ms->unfinished == 0) return set_error(ms, "invalid pattern capture");
      i = 31 - __builtin_clz(ms->unfinished); /* the innermost open capture */
      ms->cap[i].len = s - ms->cap[i].init;
      ms->unfinished &= ~(1u << i);
      if (!enter(ms)) return NULL;
      p++;
      continue;
    }
    case '$':
      if (p + 1 == pe) return s == ms->src_end ? s : NULL;
      break;
    case PESC:
      if (p + 1 >= pe) return set_error(ms, "malformed pattern (ends with '%')");
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
        if (len < 0 || ms->src_end - s < len || !mem_eq(ms->cap[idx].init, s, (size_t)len)) return NULL;
        ms->steps += len / 32;
        s += len;
        p += 2;
        continue;
      }
      ep = p + 2;
      goto single;
    default:
      break;
    }
    /* a single-character class, possibly followed by a repetition suffix */
    if (*p == '[') {
      ep = class_end(ms, p);
      if (ep == NULL) return NULL;
    } else {
      ep = p + 1;
    }
  single:
    m = s < ms->src_end && single_match(s, p, ep);
    if (ep < pe) {
      switch (*ep) {
      case '?':
        if (m) {
          const char *r = match_rest(ms, s + 1, ep + 1);
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

void lpat_prepare(lpat_State *ms, const char *p) {
  const char *pe = ms->pat_end, *ep, *err;
  int opens = 0;
  ms->pat = p;
  ms->first.kind = LPAT_FIRST_NONE;
  ms->first.single = 0;
  /* captures consume nothing; with too many, every attempt fails with an error, which must not be skipped */
  while (p < pe && *p == '(') {
    p += (p + 1 < pe && p[1] == ')') ? 2 : 1;
    if (++opens >= LPAT_MAXCAPTURES) return;
  }
  if (p >= pe) return;
  switch (*p) {
  case ')': return;
  case '$':
    if (p + 1 == pe) return;
    break;
  case PESC:
    if (p + 1 >= pe || p[1] == 'b' || p[1] == 'f' || c_isdigit((uchar)p[1])) return;
    break;
  default:
    break;
  }
  ep = scan_class(p, pe, &err);
  if (ep == NULL) return; /* the matcher reports the error at the first attempt */
  if (ep < pe && (*ep == '*' || *ep == '?' || *ep == '-')) return; /* may match empty */
  ms->first.p = (uint32_t)(p - ms->pat);
  ms->first.ep = (uint32_t)(ep - ms->pat);
  if (opens == 0 && (ep == pe || (*ep == '+' && ep + 1 == pe))) ms->first.single = ep == pe ? 1 : 2;
  /* '+' or no suffix: a match must start with a byte of the class [p, ep) */
  if (*p == '.') return; /* any byte: nothing to skip */
  if (*p == '[') {
    ms->first.kind = LPAT_FIRST_SET;
  } else if (*p == PESC && clsinfo[(uchar)p[1]] != 0) {
    ms->first.kind = LPAT_FIRST_CLASS;
    ms->first.info = clsinfo[(uchar)p[1]];
  } else {
    ms->first.kind = LPAT_FIRST_CHAR;
    ms->first.c = (uchar)(*p == PESC ? p[1] : *p);
  }
}

static inline const char *next_start(lpat_State *ms, const char *s) {
  const uchar *q = (const uchar *)s, *e = (const uchar *)ms->src_end;
  switch (ms->first.kind) {
  case LPAT_FIRST_CHAR:
    if (q < e) {
      const uchar *hit = memchr(q, ms->first.c, (size_t)(e - q));
      q = hit != NULL ? hit : e;
    }
    break;
  case LPAT_FIRST_CLASS: {
    unsigned info = ms->first.info & ~(unsigned)C_NEGATE, neg = (unsigned)ms->first.info >> 15;
    while (q < e && ((ctype[*q] & info) != 0) == neg) q++;
    break;
  }
  case LPAT_FIRST_SET:
    while (q < e && !set_match(*q, ms->pat + ms->first.p, ms->pat + ms->first.ep - 1)) q++;
    break;
  default:
    return s;
  }
  /* one step per start position passed over, as the failed attempt there would have cost */
  ms->steps += (const char *)q - s;
  return (const char *)q;
}

const char *lpat_nextstart(lpat_State *ms, const char *s) { return next_start(ms, s); }

const char *lpat_match(lpat_State *ms, const char *s, const char *p) {
  if (ms->status != LPAT_OK) return NULL;
  return match_nested(ms, s, p);
}

/* lpat_find for a pattern that is one single-character class (first.p, first.ep), maybe with '+' (single 1
   or 2): next_start stops only where the class matches, so the match there is certain and is made without the
   matcher, counting the steps it would: one per item and one at the pattern's end, plus one per repeated byte. */
static const char *find_single(lpat_State *ms, const char *s, const char **start) {
  const char *e;
  s = next_start(ms, s);
  lpat_reset(ms);
  if (s == ms->src_end) { /* the attempt at the end fails at its first step */
    ms->steps++;
    e = NULL;
  } else {
    e = s + 1;
    if (ms->first.single == 2) e += match_run(e, ms->src_end, ms->pat + ms->first.p, ms->pat + ms->first.ep);
    ms->steps += 1 + (e - s);
  }
  *start = s;
  if (ms->steps >= LPAT_FUELBATCH && lpat_flushfuel(ms)) return NULL;
  return e;
}

const char *lpat_find(lpat_State *ms, const char *s, const char *p, int anchor, const char **start) {
  if (ms->status != LPAT_OK) return NULL;
  if (!anchor && ms->first.single != 0) return find_single(ms, s, start);
  for (;;) {
    const char *e;
    if (!anchor) s = next_start(ms, s);
    lpat_reset(ms);
    e = match_nested(ms, s, p);
    if (e != NULL || ms->status != LPAT_OK) {
      *start = s;
      return e;
    }
    if (anchor || s >= ms->src_end) return NULL;
    s++;
  }
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

/* Plain substring search. Candidates are found eight positions at a time: a position can only match where its
   byte equals p[0] and the byte lp - 1 further on equals p[lp - 1]; both tests are done on 64-bit words with the
   "has a zero byte" trick, and each candidate is then compared in full. */
const char *lpat_memfind(const char *s, size_t ls, const char *p, size_t lp) {
  size_t n, i = 0;
  if (lp == 0) return s;
  if (lp > ls) return NULL;
  if (lp == 1) return memchr(s, (uchar)p[0], ls);
  n = ls - lp + 1; /* candidate start positions */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  {
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    const uint64_t first = ones * (uchar)p[0], last = ones * (uchar)p[lp - 1];
    for (; i + 8 <= n; i += 8) {
      uint64_t a, b, x, m;
      memcpy(&a, s + i, 8);
      memcpy(&b, s + i + lp - 1, 8);
      x = (a ^ first) | (b ^ last); /* zero bytes mark candidates */
      /* exact for the lowest zero byte; bytes above it may be false candidates, which the full compare rejects */
      m = (x - ones) & ~x & highs;
      while (m != 0) {
        size_t k = i + (size_t)(__builtin_ctzll(m) >> 3);
        if (mem_eq(s + k, p, lp)) return s + k;
        m &= m - 1;
      }
    }
  }
#endif
  for (; i < n; i++)
    if (s[i] == p[0] && mem_eq(s + i + 1, p + 1, lp - 1)) return s + i;
  return NULL;
}
