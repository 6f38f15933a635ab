/*
 * strlib.c - the `string` library (language reference §4.2-4.4, §5), written for Palisade on top of pal.h.
 *
 * Pattern matching lives in lpattern.c, string.format's engine in strfmt.c, pack option parsing in strpack.c;
 * this file is the glue: argument handling, result building (strbuf.c), fuel and error reporting.
 */
#include <string.h>

#include "lpattern.h"
#include "object.h" /* string.format reads its arguments directly */
#include "pal.h"
#include "strbuf.h"
#include "strfmt.h"
#include "strpack.h"

#define FUEL_BYTES 32 /* one fuel unit per this many bytes scanned or copied */

static int charge_bytes(pal_State *L, size_t n) {
  if (n < FUEL_BYTES) return 0;
  return pal_chargefuel(L, (int64_t)(n / FUEL_BYTES));
}

/* ---------------------------------------------------------------- simple functions */

static int str_len(pal_State *L) {
  size_t l;
  pal_checklstring(L, 1, &l);
  PAL_ERRCHECK(L);
  pal_pushnumber(L, (double)l);
  return 1;
}

static int str_sub(pal_State *L) {
  size_t l;
  const char *s = pal_checklstring(L, 1, &l);
  long long i = str_posrel(pal_checkinteger(L, 2), l);
  long long j = str_posrel(pal_optinteger(L, 3, -1), l);
  PAL_ERRCHECK(L);
  if (i < 1) i = 1;
  if (j > (long long)l) j = (long long)l;
  if (i > j) {
    pal_pushlstring(L, "", 0);
  } else {
    if (charge_bytes(L, (size_t)(j - i + 1))) return PAL_ERRSIG;
    pal_pushlstring(L, s + i - 1, (size_t)(j - i + 1));
  }
  return 1;
}

enum { MAP_LOWER, MAP_UPPER, MAP_REVERSE };

static int str_map(pal_State *L, int how) {
  size_t l, i;
  const char *s = pal_checklstring(L, 1, &l);
  StrBuf b;
  PAL_ERRCHECK(L);
  sb_init(L, &b);
  if (!sb_reserve(&b, l) || !sb_charge(&b, l)) return PAL_ERRSIG;
  for (i = 0; i < l; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (how) {
    case MAP_LOWER: b.p[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); break;
    case MAP_UPPER: b.p[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c); break;
    default: b.p[i] = s[l - 1 - i]; break;
    }
  }
  b.len = l;
  sb_push(&b);
  return 1;
}

static int str_lower(pal_State *L) { return str_map(L, MAP_LOWER); }
static int str_upper(pal_State *L) { return str_map(L, MAP_UPPER); }
static int str_reverse(pal_State *L) { return str_map(L, MAP_REVERSE); }

static int str_rep(pal_State *L) {
  size_t l, total, done;
  const char *s = pal_checklstring(L, 1, &l);
  int n = pal_checkinteger(L, 2);
  StrBuf b;
  PAL_ERRCHECK(L);
  if (n <= 0 || l == 0) {
    pal_pushlstring(L, "", 0);
    return 1;
  }
  if (l > SB_MAXSIZE / (size_t)n) return pal_errorf(L, "resulting string too large");
  total = l * (size_t)n;
  sb_init(L, &b);
  if (!sb_charge(&b, total) || !sb_reserve(&b, total)) return PAL_ERRSIG;
  memcpy(b.p, s, l);
  done = l;
  while (done < total) { /* double the filled prefix */
    size_t chunk = done <= total - done ? done : total - done;
    memcpy(b.p + done, b.p, chunk);
    done += chunk;
  }
  b.len = total;
  sb_push(&b);
  return 1;
}

static int str_byte(pal_State *L) {
  size_t l;
  const char *s = pal_checklstring(L, 1, &l);
  long long i = str_posrel(pal_optinteger(L, 2, 1), l);
  long long j, k;
  PAL_ERRCHECK(L);
  j = str_posrel(pal_optinteger(L, 3, (int)i), l);
  PAL_ERRCHECK(L);
  if (i < 1) i = 1;
  if (j > (long long)l) j = (long long)l;
  if (i > j) return 0;
  if (j - i >= 0x7fffffff || !pal_checkstack(L, (int)(j - i + 1))) {
    if (pal_errpending(L) == PAL_OK) return pal_errorf(L, "string slice too long");
    return PAL_ERRSIG;
  }
  if (pal_chargefuel(L, (j - i + 1) / 8)) return PAL_ERRSIG;
  for (k = i; k <= j; k++) pal_pushnumber(L, (unsigned char)s[k - 1]);
  return (int)(j - i + 1);
}

static int str_char(pal_State *L) {
  int n = pal_gettop(L), i;
  StrBuf b;
  sb_init(L, &b);
  if (!sb_reserve(&b, (size_t)n)) return PAL_ERRSIG;
  for (i = 1; i <= n; i++) {
    int c = pal_checkinteger(L, i);
    PAL_ERRCHECK(L);
    if (c < 0 || c > 255) return pal_argerror(L, i, "invalid value");
    b.p[b.len++] = (char)c;
  }
  if (!sb_charge(&b, (size_t)n)) return PAL_ERRSIG;
  sb_push(&b);
  return 1;
}

static int str_split(pal_State *L) {
  size_t ls, lsep, start = 0, i;
  const char *s = pal_checklstring(L, 1, &ls);
  const char *sep = pal_optlstring(L, 2, ",", &lsep);
  int64_t count = 0;
  PAL_ERRCHECK(L);
  if (charge_bytes(L, ls)) return PAL_ERRSIG;
  pal_createtable(L, 0, 0);
  if (lsep == 0) {
    for (i = 0; i < ls; i++) {
      pal_pushlstring(L, s + i, 1);
      pal_rawseti(L, -2, ++count);
      if ((count & 63) == 0 && pal_chargefuel(L, 16)) return PAL_ERRSIG;
      PAL_ERRCHECK(L);
    }
    return 1;
  }
  i = 0;
  while (lsep <= ls && i <= ls - lsep) {
    const char *hit = lpat_memfind(s + i, ls - i, sep, lsep);
    if (hit == NULL) break;
    i = (size_t)(hit - s);
    pal_pushlstring(L, s + start, i - start);
    pal_rawseti(L, -2, ++count);
    i += lsep;
    start = i;
    if ((count & 63) == 0 && pal_chargefuel(L, 16)) return PAL_ERRSIG;
    PAL_ERRCHECK(L);
  }
  pal_pushlstring(L, s + start, ls - start);
  pal_rawseti(L, -2, ++count);
  return 1;
}

/* ---------------------------------------------------------------- pattern matching */

static int fuel_cb(void *ud, int64_t units) { return pal_chargefuel((pal_State *)ud, units); }

static int pattern_fail(pal_State *L, lpat_State *ms) {
  if (ms->status == LPAT_ERROR) return pal_errorf(L, "%s", ms->errmsg);
  if (pal_errpending(L) == PAL_OK) return pal_errorstatus(L, PAL_ERRABORT, "Script execution time limit exceeded");
  return PAL_ERRSIG;
}

/* push result i of a match; returns 0 ok, nonzero on error */
static int push_capture(pal_State *L, lpat_State *ms, int i, const char *s, const char *e) {
  const char *p;
  size_t len, pos;
  int kind = lpat_capture(ms, i, s, e, &p, &len, &pos);
  if (kind < 0) return 1;
  if (kind == 1)
    pal_pushnumber(L, (double)pos);
  else
    pal_pushlstring(L, p, len);
  return 0;
}

/* push all results; returns the count or PAL_ERRSIG */
static int push_captures(pal_State *L, lpat_State *ms, const char *s, const char *e, int wholeifnone) {
  int n = lpat_nresults(ms, wholeifnone), i;
  if (!pal_checkstack(L, n)) return PAL_ERRSIG;
  for (i = 0; i < n; i++)
    if (push_capture(L, ms, i, s, e)) return pattern_fail(L, ms);
  return n;
}

static int find_aux(pal_State *L, int find) {
  size_t ls, lp;
  const char *s = pal_checklstring(L, 1, &ls);
  const char *p = pal_checklstring(L, 2, &lp);
  long long init = str_posrel(pal_optinteger(L, 3, 1), ls);
  PAL_ERRCHECK(L);
  if (init < 1) init = 1;
  if (init > (long long)ls + 1) {
    pal_pushnil(L);
    return 1;
  }
  if (find && (pal_toboolean(L, 4) || lpat_nospecials(p, lp))) {
    const char *hit;
    if (charge_bytes(L, ls - (size_t)(init - 1))) return PAL_ERRSIG;
    hit = lpat_memfind(s + init - 1, ls - (size_t)(init - 1), p, lp);
    if (hit != NULL) {
      pal_pushnumber(L, (double)(hit - s + 1));
      pal_pushnumber(L, (double)(hit - s + (ptrdiff_t)lp));
      return 2;
    }
  } else {
    lpat_State ms;
    const char *s1, *e;
    int anchor = lp > 0 && *p == '^';
    if (anchor) p++;
    lpat_init(&ms, s, ls, p + (lp - (size_t)anchor), fuel_cb, L);
    if (!anchor) lpat_prepare(&ms, p);
    e = lpat_find(&ms, s + init - 1, p, anchor, &s1);
    if (ms.status != LPAT_OK) return pattern_fail(L, &ms);
    if (e != NULL) {
      int n;
      if (lpat_flushfuel(&ms)) return pattern_fail(L, &ms);
      if (find) {
        pal_pushnumber(L, (double)(s1 - s + 1));
        pal_pushnumber(L, (double)(e - s));
        n = push_captures(L, &ms, NULL, NULL, 0);
        return n < 0 ? n : n + 2;
      }
      return push_captures(L, &ms, s1, e, 1);
    }
    if (lpat_flushfuel(&ms)) return pattern_fail(L, &ms);
  }
  pal_pushnil(L);
  return 1;
}

static int str_find(pal_State *L) { return find_aux(L, 1); }
static int str_match(pal_State *L) { return find_aux(L, 0); }

/* gmatch's iterator: upvalue 1 = subject, 2 = pattern, 3 = a buffer holding a GmatchState */
typedef struct GmatchState {
  size_t pos;     /* where the next search starts */
  lpat_Prep prep; /* lpat_prepare's findings about the pattern, made once by string.gmatch */
} GmatchState;

static int gmatch_step(pal_State *L) {
  size_t ls, lp;
  const char *s = pal_tolstring(L, pal_upvalueindex(1), &ls);
  const char *p = pal_tolstring(L, pal_upvalueindex(2), &lp);
  uint8_t *st = pal_tobuffer(L, pal_upvalueindex(3), NULL);
  const char *src;
  GmatchState gs;
  lpat_State ms;
  if (s == NULL || p == NULL || st == NULL) return 0;
  memcpy(&gs, st, sizeof gs);
  lpat_init(&ms, s, ls, p + lp, fuel_cb, L);
  ms.pat = p;
  ms.first = gs.prep;
  if (gs.pos <= ls) {
    const char *e = lpat_find(&ms, s + gs.pos, p, 0, &src);
    if (ms.status != LPAT_OK) return pattern_fail(L, &ms);
    if (e != NULL) {
      gs.pos = (size_t)(e - s);
      if (e == src) gs.pos++; /* empty match: move on at least one byte */
      memcpy(st, &gs.pos, sizeof gs.pos);
      if (lpat_flushfuel(&ms)) return pattern_fail(L, &ms);
      return push_captures(L, &ms, src, e, 1);
    }
  }
  gs.pos = ls + 1;
  memcpy(st, &gs.pos, sizeof gs.pos);
  if (lpat_flushfuel(&ms)) return pattern_fail(L, &ms);
  return 0;
}

static int str_gmatch(pal_State *L) {
  size_t ls, lp;
  const char *s = pal_checklstring(L, 1, &ls);
  const char *p = pal_checklstring(L, 2, &lp);
  uint8_t *st;
  GmatchState gs;
  lpat_State ms;
  PAL_ERRCHECK(L);
  pal_settop(L, 2);
  st = pal_newbuffer(L, sizeof gs);
  PAL_ERRCHECK(L);
  if (st == NULL) return pal_memerror(L);
  lpat_init(&ms, s, ls, p + lp, NULL, NULL);
  lpat_prepare(&ms, p);
  gs.pos = 0;
  gs.prep = ms.first;
  memcpy(st, &gs, sizeof gs);
  pal_pushcclosure(L, gmatch_step, "gmatch", 3);
  return 1;
}

/* append the replacement for match [s, e) to b; r[0..lr) is the replacement string when tr is a string or a
   number, plain when it has no '%'; returns 0 ok, nonzero on error */
static int add_replacement(pal_State *L, StrBuf *b, lpat_State *ms, const char *s, const char *e, int tr,
                           const char *r, size_t lr, int plain) {
  if (tr == PAL_TSTRING || tr == PAL_TNUMBER) {
    size_t i = 0;
    if (plain) return !sb_add(b, r, lr);
    while (i < lr) {
      const char *pct = memchr(r + i, '%', lr - i);
      size_t run = pct ? (size_t)(pct - (r + i)) : lr - i;
      char d;
      if (!sb_add(b, r + i, run)) return 1;
      i += run;
      if (i >= lr) break;
      i++; /* skip '%' */
      d = i < lr ? r[i] : '\0';
      i++;
      if (d == '%') {
        if (!sb_addc(b, '%')) return 1;
      } else if (d >= '0' && d <= '9') {
        if (d == '0') {
          if (!sb_add(b, s, (size_t)(e - s))) return 1;
        } else {
          const char *cp;
          size_t cl, pos;
          int kind = lpat_capture(ms, d - '1', s, e, &cp, &cl, &pos);
          if (kind < 0) {
            pattern_fail(L, ms);
            return 1;
          }
          if (kind == 1) {
            char nb[PAL_NUMBUF];
            int nl = pal_num2str(nb, (double)pos);
            if (!sb_add(b, nb, (size_t)nl)) return 1;
          } else if (!sb_add(b, cp, cl)) {
            return 1;
          }
        }
      } else {
        pal_errorf(L, "invalid use of '%%' in replacement string");
        return 1;
      }
    }
    return 0;
  }
  if (tr == PAL_TFUNCTION) {
    int n;
    pal_pushvalue(L, 3);
    n = push_captures(L, ms, s, e, 1);
    if (n < 0) return 1;
    if (pal_call(L, n, 1) != PAL_OK) return 1;
  } else {
    if (push_capture(L, ms, 0, s, e)) {
      pattern_fail(L, ms);
      return 1;
    }
    pal_gettable(L, 3);
    if (pal_errpending(L) != PAL_OK) return 1;
  }
  if (!pal_toboolean(L, -1)) {
    pal_pop(L, 1);
    return !sb_add(b, s, (size_t)(e - s));
  } else {
    int t = pal_type(L, -1);
    size_t vl;
    const char *v;
    if (t != PAL_TSTRING && t != PAL_TNUMBER) {
      pal_errorf(L, "invalid replacement value (a %s)", pal_typename(L, t));
      return 1;
    }
    v = pal_tolstring(L, -1, &vl);
    if (v == NULL || !sb_add(b, v, vl)) return 1;
    pal_pop(L, 1);
  }
  return 0;
}

static int str_gsub(pal_State *L) {
  size_t ls, lp;
  const char *s = pal_checklstring(L, 1, &ls);
  const char *p = pal_checklstring(L, 2, &lp);
  int tr = pal_type(L, 3);
  const char *r = NULL;
  size_t lr = 0;
  int max_n, n = 0, anchor, plain = 0;
  const char *src;
  lpat_State ms;
  StrBuf b;
  PAL_ERRCHECK(L);
  if (tr != PAL_TNUMBER && tr != PAL_TSTRING && tr != PAL_TFUNCTION && tr != PAL_TTABLE)
    return pal_typeerror(L, 3, "string/function/table");
  max_n = pal_optinteger(L, 4, ls < 0x7ffffffe ? (int)ls + 1 : 0x7fffffff);
  PAL_ERRCHECK(L);
  if (tr == PAL_TSTRING || tr == PAL_TNUMBER) { /* converted in place once: slot 3 keeps r alive */
    r = pal_tolstring(L, 3, &lr);
    if (r == NULL) return PAL_ERRSIG;
    plain = memchr(r, '%', lr) == NULL;
  }
  anchor = lp > 0 && *p == '^';
  if (anchor) p++;
  sb_init(L, &b);
  lpat_init(&ms, s, ls, p + (lp - (size_t)anchor), fuel_cb, L);
  if (!anchor) lpat_prepare(&ms, p);
  src = s;
  while (n < max_n) {
    const char *start, *e = lpat_find(&ms, src, p, anchor, &start);
    if (ms.status != LPAT_OK) return pattern_fail(L, &ms);
    if (e == NULL) break;
    n++;
    /* the bytes before the match, where no match started, are kept as they are */
    if (start > src && !sb_add(&b, src, (size_t)(start - src))) return PAL_ERRSIG;
    if (add_replacement(L, &b, &ms, start, e, tr, r, lr, plain)) return PAL_ERRSIG;
    if (e > start) {
      src = e;
    } else { /* empty match: keep the next byte and search on after it */
      if (start == ms.src_end) {
        src = start;
        break;
      }
      if (!sb_addc(&b, *start)) return PAL_ERRSIG;
      src = start + 1;
    }
    if (anchor) break;
  }
  if (!sb_add(&b, src, (size_t)(ms.src_end - src))) return PAL_ERRSIG;
  if (lpat_flushfuel(&ms)) return pattern_fail(L, &ms);
  sb_push(&b);
  pal_pushnumber(L, n);
  return 2;
}

/* ---------------------------------------------------------------- format */

/* arguments described to the engine up front (StrFmtArg); any further ones go through fmt_arg */
#define FMT_FASTARGS 16

typedef struct FmtCtx {
  pal_State *L;
  int sbused;  /* b has been used: the output came in more than one piece */
  int scratch; /* stack slot keeping the latest %* string alive */
  StrBuf b;
} FmtCtx;

/* A result that comes in one piece (the engine's buffer holds 1 KB) becomes the string directly; a longer one is
   gathered in a StrBuf. Fuel is charged for the bytes either way, as sb_push would. */
static int fmt_put(void *ud, const char *p, size_t n, int last) {
  FmtCtx *c = (FmtCtx *)ud;
  if (last && !c->sbused) {
    charge_bytes(c->L, n); /* (an abort is left pending, as by sb_push) */
    pal_pushlstring(c->L, p, n);
    return 0;
  }
  c->sbused = 1;
  if (!sb_add(&c->b, p, n)) return 1;
  if (last) sb_push(&c->b);
  return 0;
}

static int fmt_arg(void *ud, int n, int kind, double *num, const char **s, size_t *len) {
  FmtCtx *c = (FmtCtx *)ud;
  pal_State *L = c->L;
  switch (kind) {
  case STRFMT_ARGNUM:
    *num = pal_checknumber(L, n);
    break;
  case STRFMT_ARGSTR:
    *s = pal_checklstring(L, n, len);
    break;
  default:
    if (pal_tostringmeta(L, n) != PAL_OK) return 1;
    pal_replace(L, c->scratch);
    *s = pal_tolstring(L, c->scratch, len);
    if (*s == NULL && pal_errpending(L) == PAL_OK) pal_errorf(L, "'__tostring' must return a string");
    break;
  }
  return pal_errpending(L) != PAL_OK;
}

static int str_format(pal_State *L) {
  const TValue *argv = L->stack + L->ci->base; /* the arguments, read directly (object.h) */
  int nargs = (int)(L->top - argv), nfast = nargs - 1 < FMT_FASTARGS ? nargs - 1 : FMT_FASTARGS, i, r;
  const char *f;
  size_t lf;
  StrFmtArg args[FMT_FASTARGS];
  FmtCtx ctx;
  StrFmtIO io;
  char err[96];
  if (nargs > 0 && ttisstring(argv)) {
    f = getstr(tsvalue(argv));
    lf = tsvalue(argv)->len;
  } else { /* a number converted in place, or the error */
    f = pal_checklstring(L, 1, &lf);
    PAL_ERRCHECK(L);
  }
  for (i = 0; i < nfast; i++) {
    const TValue *o = argv + 1 + i;
    if (ttisnumber(o)) {
      args[i].kind = STRFMT_ARGNUM;
      args[i].num = nvalue(o);
    } else if (ttisstring(o)) {
      args[i].kind = STRFMT_ARGSTR;
      args[i].s = getstr(tsvalue(o));
      args[i].len = tsvalue(o)->len;
    } else
      args[i].kind = 0;
  }
  /* The stack above the arguments: the %* scratch slot, the StrBuf's anchor, then the result. (Both slots are
     always there, so that the stack the collector sees after the call does not depend on the path taken.) */
  setnilvalue(L->top); /* (a C function is granted PAL_MINSTACK free slots) */
  L->top++;
  ctx.scratch = nargs + 1;
  sb_init(L, &ctx.b);
  ctx.L = L;
  ctx.sbused = 0;
  io.ud = &ctx;
  io.nargs = nargs;
  io.args = args;
  io.nfast = nfast;
  io.put = fmt_put;
  io.arg = fmt_arg;
  r = strfmt_format(f, lf, &io, err, sizeof err);
  if (r == STRFMT_ERROR) return pal_errorf(L, "%s", err);
  if (r != STRFMT_OK || pal_errpending(L) != PAL_OK) return PAL_ERRSIG;
  return 1;
}

/* ---------------------------------------------------------------- pack / packsize / unpack */

static int pack_opt_error(pal_State *L, int kind, const char *err) {
  if (kind == -2) return pal_argerror(L, 1, err);
  return pal_errorf(L, "%s", err);
}

static int str_pack(pal_State *L) {
  size_t lf;
  const char *f = pal_checklstring(L, 1, &lf), *fend;
  SpHeader h;
  StrBuf b;
  int arg = 1, nargs = pal_gettop(L); /* counted before sb_init reserves a stack slot */
  size_t total = 0;
  char err[80];
  PAL_ERRCHECK(L);
  if (charge_bytes(L, lf)) return PAL_ERRSIG;
  fend = f + lf;
  sp_init(&h);
  sb_init(L, &b);
  while (f < fend) {
    int size, ntoalign;
    int kind = sp_option(&h, &f, fend, total, &size, &ntoalign, err, sizeof err);
    unsigned char tmp[SP_MAXINTSIZE];
    if (kind < 0) return pack_opt_error(L, kind, err);
    total += (size_t)ntoalign + (size_t)size;
    while (ntoalign-- > 0)
      if (!sb_addc(&b, '\0')) return PAL_ERRSIG;
    arg++;
    if (arg > nargs && kind <= SP_ZSTR)
      return pal_errorf(L, "missing argument #%d to 'pack' (%s expected)", arg, kind >= SP_CHAR ? "string" : "number");
    switch (kind) {
    case SP_INT:
    case SP_UINT: {
      double v = pal_checknumber(L, arg);
      int64_t n;
      PAL_ERRCHECK(L);
      n = (kind == SP_UINT && v >= 0) ? (int64_t)strfmt_touint64(v) : strfmt_toint64(v);
      if (size < 8) {
        if (kind == SP_INT) {
          int64_t lim = (int64_t)1 << (size * 8 - 1);
          if (n < -lim || n >= lim) return pal_argerror(L, arg, "integer overflow");
        } else if ((uint64_t)n >= ((uint64_t)1 << (size * 8))) {
          return pal_argerror(L, arg, "unsigned overflow");
        }
      }
      sp_putint(tmp, (uint64_t)n, h.little, size, n < 0);
      if (!sb_add(&b, tmp, (size_t)size)) return PAL_ERRSIG;
      break;
    }
    case SP_FLOAT: {
      float v = (float)pal_checknumber(L, arg);
      PAL_ERRCHECK(L);
      sp_copyendian(tmp, (const unsigned char *)&v, 4, h.little);
      if (!sb_add(&b, tmp, 4)) return PAL_ERRSIG;
      break;
    }
    case SP_DOUBLE: {
      double v = pal_checknumber(L, arg);
      PAL_ERRCHECK(L);
      sp_copyendian(tmp, (const unsigned char *)&v, 8, h.little);
      if (!sb_add(&b, tmp, 8)) return PAL_ERRSIG;
      break;
    }
    case SP_CHAR: {
      size_t len;
      const char *s = pal_checklstring(L, arg, &len);
      PAL_ERRCHECK(L);
      if (len > (size_t)size) return pal_argerror(L, arg, "string longer than given size");
      if (!sb_add(&b, s, len) || !sb_reserve(&b, (size_t)size - len)) return PAL_ERRSIG;
      memset(b.p + b.len, 0, (size_t)size - len);
      b.len += (size_t)size - len;
      break;
    }
    case SP_STRING: {
      size_t len;
      const char *s = pal_checklstring(L, arg, &len);
      PAL_ERRCHECK(L);
      if (size < 8 && (uint64_t)len >= ((uint64_t)1 << (size * 8)))
        return pal_argerror(L, arg, "string length does not fit in given size");
      sp_putint(tmp, (uint64_t)len, h.little, size, 0);
      if (!sb_add(&b, tmp, (size_t)size) || !sb_add(&b, s, len)) return PAL_ERRSIG;
      total += len;
      break;
    }
    case SP_ZSTR: {
      size_t len;
      const char *s = pal_checklstring(L, arg, &len);
      PAL_ERRCHECK(L);
      if (memchr(s, '\0', len) != NULL) return pal_argerror(L, arg, "string contains zeros");
      if (!sb_add(&b, s, len) || !sb_addc(&b, '\0')) return PAL_ERRSIG;
      total += len + 1;
      break;
    }
    case SP_PADDING:
      if (!sb_addc(&b, '\0')) return PAL_ERRSIG;
      arg--;
      break;
    default:
      arg--;
      break;
    }
  }
  sb_push(&b);
  return 1;
}

static int str_packsize(pal_State *L) {
  size_t lf;
  const char *f = pal_checklstring(L, 1, &lf), *fend;
  SpHeader h;
  size_t total = 0;
  char err[80];
  PAL_ERRCHECK(L);
  if (charge_bytes(L, lf)) return PAL_ERRSIG;
  fend = f + lf;
  sp_init(&h);
  while (f < fend) {
    int size, ntoalign;
    int kind = sp_option(&h, &f, fend, total, &size, &ntoalign, err, sizeof err);
    if (kind < 0) return pack_opt_error(L, kind, err);
    size += ntoalign;
    /* the result describes a string, so it is bounded like one (1 GiB) */
    if ((size_t)size > SB_MAXSIZE || total > SB_MAXSIZE - (size_t)size)
      return pal_argerror(L, 1, "format result too large");
    total += (size_t)size;
    if (kind == SP_STRING || kind == SP_ZSTR) return pal_argerror(L, 1, "variable-length format");
  }
  pal_pushnumber(L, (double)total);
  return 1;
}

static int str_unpack(pal_State *L) {
  size_t lf, ld, pos;
  const char *f = pal_checklstring(L, 1, &lf), *fend;
  const char *data = pal_checklstring(L, 2, &ld);
  long long ipos = str_posrel(pal_optinteger(L, 3, 1), ld) - 1;
  SpHeader h;
  int n = 0;
  char err[80];
  PAL_ERRCHECK(L);
  if (ipos < 0) ipos = 0; /* position 0, or one before the start after counting from the end: the first byte */
  if ((size_t)ipos > ld) return pal_argerror(L, 3, "initial position out of string");
  pos = (size_t)ipos;
  if (charge_bytes(L, lf)) return PAL_ERRSIG;
  fend = f + lf;
  sp_init(&h);
  while (f < fend) {
    int size, ntoalign;
    int kind = sp_option(&h, &f, fend, pos, &size, &ntoalign, err, sizeof err);
    const unsigned char *d;
    if (kind < 0) return pack_opt_error(L, kind, err);
    if ((size_t)ntoalign + (size_t)size > ld - pos) return pal_argerror(L, 2, "data string too short");
    pos += (size_t)ntoalign;
    d = (const unsigned char *)data + pos;
    if (!pal_checkstack(L, 2)) return PAL_ERRSIG;
    n++;
    switch (kind) {
    case SP_INT:
    case SP_UINT: {
      int64_t v;
      if (sp_getint(d, h.little, size, kind == SP_INT, &v))
        return pal_errorf(L, "%d-byte integer does not fit into Lua Integer", size);
      pal_pushnumber(L, kind == SP_INT ? (double)v : (double)(uint64_t)v);
      break;
    }
    case SP_FLOAT: {
      float v;
      sp_copyendian((unsigned char *)&v, d, 4, h.little);
      pal_pushnumber(L, (double)v);
      break;
    }
    case SP_DOUBLE: {
      double v;
      sp_copyendian((unsigned char *)&v, d, 8, h.little);
      pal_pushnumber(L, v);
      break;
    }
    case SP_CHAR:
      pal_pushlstring(L, (const char *)d, (size_t)size);
      break;
    case SP_STRING: {
      int64_t len;
      if (sp_getint(d, h.little, size, 0, &len) || (uint64_t)len > ld - pos - (size_t)size)
        return pal_argerror(L, 2, "data string too short");
      pal_pushlstring(L, (const char *)d + size, (size_t)len);
      pos += (size_t)len;
      break;
    }
    case SP_ZSTR: {
      const char *z = memchr(d, '\0', ld - pos);
      if (z == NULL) return pal_argerror(L, 2, "unfinished string for format 'z'");
      pal_pushlstring(L, (const char *)d, (size_t)(z - (const char *)d));
      pos += (size_t)(z - (const char *)d) + 1;
      break;
    }
    default:
      n--;
      break;
    }
    pos += (size_t)size;
    PAL_ERRCHECK(L);
  }
  if (charge_bytes(L, pos - (size_t)ipos)) return PAL_ERRSIG;
  pal_pushnumber(L, (double)(pos + 1));
  return n + 1;
}

/* ---------------------------------------------------------------- registration */

static const pal_Reg strlib[] = {
    {"byte", str_byte},       {"char", str_char},         {"find", str_find},       {"format", str_format},
    {"gmatch", str_gmatch},   {"gsub", str_gsub},         {"len", str_len},         {"lower", str_lower},
    {"match", str_match},     {"rep", str_rep},           {"reverse", str_reverse}, {"sub", str_sub},
    {"upper", str_upper},     {"split", str_split},       {"pack", str_pack},       {"packsize", str_packsize},
    {"unpack", str_unpack},   {NULL, NULL},
};

void pal_open_string(pal_State *L) {
  pal_register(L, "string", strlib); /* string table on top */
  pal_createtable(L, 0, 1);          /* the shared string metatable */
  pal_pushvalue(L, -2);
  pal_rawsetfield(L, -2, "__index");
  pal_pushlstring(L, "", 0);
  pal_pushvalue(L, -2);
  pal_setmetatable(L, -2); /* sets the metatable of all strings */
  pal_pop(L, 3);
}
