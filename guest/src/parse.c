/*
 * parse.c - Luau parser: builds the AST of front.h, resolves names to local-variable records, enforces the
 * static rules (break/continue placement, '...' use, const, repeat..until/continue), and parses then discards
 * type annotations.
 *
 * No recursion is unbounded: every construct that nests (expressions, blocks, types, suffix and operator chains)
 * goes through enter()/leave(), which cap the depth at FRONT_MAXDEPTH.
 */
#include <stdio.h>

#include "front.h"

typedef struct FuncScope {
  struct FuncScope *prev;
  FuncNode *fn;
  int varbase;     /* first actvars slot of this function */
  int isolated;    /* name resolution stops at varbase (type functions) */
  LoopNode *loop;  /* innermost enclosing loop in this function */
} FuncScope;

typedef struct Parser {
  Front *F;
  FuncScope *fs;
  Var **actvars;
  int nactvars, capactvars;
  Block *curblock;
  int depth;
  /* repeat..until condition check */
  LoopNode *untilloop;
} Parser;

#define CUR(p) ((p)->F->lex.cur)
#define T(p) ((p)->F->lex.cur.t)
#define ERR(p) ((p)->F->err)

/* error reporting needs text buffers: keep them out of the (recursive) parsing frames */
#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

#define MSG_DEPTH "Exceeded allowed recursion depth; simplify your expression to make the code compile"

static Expr *expr(Parser *p);
static Expr *subexpr(Parser *p, int limit);
static Expr *primaryexpr(Parser *p);
static Block *block_in(Parser *p, Block *b, LoopNode *loop, int count);
#define block(p, loop, count) block_in(p, NULL, loop, count)
static Stat *statement_(Parser *p);
static FuncNode *funcbody(Parser *p, int ismethod, int line, FStr *name, int counted);
static int typeorpack(Parser *p, int packok);
static void type_(Parser *p);

/* ---------------- helpers ---------------- */

static int enter(Parser *p) {
  if (++p->depth > FRONT_MAXDEPTH) {
    front_error(p->F, CUR(p).line, MSG_DEPTH);
    return 0;
  }
  return 1;
}
#define leave(p) ((p)->depth--)

static void next(Parser *p) { lex_next(p->F); }

static NOINLINE void err_expected(Parser *p, const char *what, const char *ctx) {
  char b[128];
  if (ERR(p)) return;
  if (ctx)
    front_error(p->F, CUR(p).line, "Expected %s when parsing %s, got %s", what, ctx,
                lex_tokstr(p->F, &CUR(p), b, sizeof b));
  else
    front_error(p->F, CUR(p).line, "Expected %s, got %s", what, lex_tokstr(p->F, &CUR(p), b, sizeof b));
}

static NOINLINE void err_expected_tok(Parser *p, int tok, const char *ctx) {
  char b[64];
  err_expected(p, lex_tokname(tok, b, sizeof b), ctx);
}

static int check(Parser *p, int tok, const char *ctx) {
  if (T(p) == tok) return 1;
  err_expected_tok(p, tok, ctx);
  return 0;
}

static int accept(Parser *p, int tok) {
  if (T(p) == tok) {
    next(p);
    return 1;
  }
  return 0;
}

static int expect(Parser *p, int tok, const char *ctx) {
  if (!check(p, tok, ctx)) return 0;
  next(p);
  return 1;
}

/* closing token of a construct opened at (line, col) */
static NOINLINE void err_match(Parser *p, int tok, int opentok, int line, int col) {
  char b1[64], b2[64], b3[128];
  if (ERR(p)) return;
  if (line == CUR(p).line)
    front_error(p->F, CUR(p).line, "Expected %s (to close %s at column %d), got %s", lex_tokname(tok, b1, sizeof b1),
                lex_tokname(opentok, b2, sizeof b2), col, lex_tokstr(p->F, &CUR(p), b3, sizeof b3));
  else
    front_error(p->F, CUR(p).line, "Expected %s (to close %s at line %d), got %s", lex_tokname(tok, b1, sizeof b1),
                lex_tokname(opentok, b2, sizeof b2), line, lex_tokstr(p->F, &CUR(p), b3, sizeof b3));
}

static int expect_match(Parser *p, int tok, int opentok, int line, int col) {
  if (T(p) == tok) {
    next(p);
    return 1;
  }
  err_match(p, tok, opentok, line, col);
  return 0;
}

static FStr *expect_name(Parser *p, const char *ctx) {
  FStr *s;
  if (T(p) != TK_NAME) {
    err_expected(p, "identifier", ctx);
    return NULL;
  }
  s = CUR(p).s;
  next(p);
  return s;
}

static Expr *new_expr(Parser *p, int k, int line) {
  Expr *e = (Expr *)front_alloc(p->F, sizeof(Expr));
  if (!e) return NULL;
  e->k = (uint8_t)k;
  e->line = line;
  return e;
}

static Stat *new_stat(Parser *p, int k, int line) {
  Stat *s = (Stat *)front_alloc(p->F, sizeof(Stat));
  if (!s) return NULL;
  s->k = (uint8_t)k;
  s->line = line;
  return s;
}

/* ---------------- variables ---------------- */

static Var *new_var(Parser *p, FStr *name, int line) {
  Var *v = (Var *)front_alloc(p->F, sizeof(Var));
  if (!v) return NULL;
  v->name = name;
  v->func = p->fs->fn;
  v->block = p->curblock;
  v->loop = p->fs->loop;
  v->line = line;
  v->seq = p->F->varseq++;
  v->reg = -1;
  return v;
}

static int activate(Parser *p, Var *v) {
  if (!v) return 0;
  if (p->nactvars >= p->capactvars) {
    int ncap = p->capactvars ? p->capactvars * 2 : 64;
    Var **na = (Var **)mem_realloc(p->F->L, p->actvars, (size_t)p->capactvars * sizeof(Var *),
                                   (size_t)ncap * sizeof(Var *));
    if (!na) {
      front_memerror(p->F);
      return 0;
    }
    p->actvars = na;
    p->capactvars = ncap;
  }
  p->actvars[p->nactvars++] = v;
  return 1;
}

static Expr *resolve_name(Parser *p, FStr *name, int line) {
  int i, stop = 0;
  FuncScope *fs;
  Expr *e;
  /* find the lowest visible slot: stop at the first isolated function scope */
  for (fs = p->fs; fs; fs = fs->prev)
    if (fs->isolated) {
      stop = fs->varbase;
      break;
    }
  for (i = p->nactvars - 1; i >= stop; i--) {
    Var *v = p->actvars[i];
    if (v->name == name) {
      e = new_expr(p, E_LOCAL, line);
      if (!e) return NULL;
      e->v.var = v;
      if (v->func != p->fs->fn && !v->captured) {
        v->captured = 1;
        if (v->block) v->block->hascap = 1;
        if (v->loop) v->loop->hascap = 1;
      }
      if (p->untilloop && v->block == p->untilloop->body && v->seq >= p->untilloop->contseq) {
        front_error(p->F, line,
                    "Local %s used in the repeat..until condition is undefined because continue statement on line %d "
                    "jumps over it",
                    v->name->s, p->untilloop->contline);
        return NULL;
      }
      return e;
    }
  }
  e = new_expr(p, E_GLOBAL, line);
  if (!e) return NULL;
  e->v.s = name;
  return e;
}

/* ---------------- types (parsed, then discarded) ---------------- */

static int is_typename(Parser *p, FStr *s) { return s == p->F->n_typeof; }

/* '<' Name['...'] [= default] {, ...} '>' */
static void generic_decl(Parser *p, int allowdefaults) {
  int line = CUR(p).line, col = CUR(p).col;
  int seendefault = 0;
  next(p); /* '<' */
  if (T(p) != '>') {
    for (;;) {
      int ispack = 0;
      if (!expect_name(p, "generic type declaration")) return;
      if (accept(p, TK_DOTS)) ispack = 1;
      if (T(p) == '=') {
        if (!allowdefaults) {
          err_expected(p, "'>'", "generic type declaration");
          return;
        }
        next(p);
        seendefault = 1;
        if (ispack)
          typeorpack(p, 1);
        else
          type_(p);
      } else if (seendefault && allowdefaults) {
        front_error(p->F, CUR(p).line, "Expected default type after type name");
        return;
      }
      if (ERR(p)) return;
      if (!accept(p, ',')) break;
    }
  }
  expect_match(p, '>', '<', line, col);
}

/* '<' typeorpack {, typeorpack} '>' after a type name */
static void type_args(Parser *p) {
  int line = CUR(p).line, col = CUR(p).col;
  next(p); /* '<' */
  if (T(p) != '>') {
    for (;;) {
      typeorpack(p, 1);
      if (ERR(p)) return;
      if (!accept(p, ',')) break;
    }
  }
  expect_match(p, '>', '<', line, col);
}

static void table_type(Parser *p) {
  int line = CUR(p).line, col = CUR(p).col;
  next(p); /* '{' */
  if (T(p) == '}') {
    next(p);
    return;
  }
  /* array shorthand {T} */
  if (!(T(p) == '[' || (T(p) == TK_NAME && lex_peek(p->F) == ':') ||
        (T(p) == TK_NAME && (CUR(p).s == p->F->n_read || CUR(p).s == p->F->n_write) &&
         (lex_peek(p->F) == TK_NAME || lex_peek(p->F) == '[')))) {
    type_(p);
    expect_match(p, '}', '{', line, col);
    return;
  }
  while (!ERR(p) && T(p) != '}') {
    if (T(p) == TK_NAME && (CUR(p).s == p->F->n_read || CUR(p).s == p->F->n_write) &&
        (lex_peek(p->F) == TK_NAME || lex_peek(p->F) == '['))
      next(p); /* access modifier */
    if (T(p) == '[') {
      int l2 = CUR(p).line, c2 = CUR(p).col;
      next(p);
      if (T(p) == TK_STRING && lex_peek(p->F) == ']') {
        next(p);
      } else {
        type_(p);
      }
      if (!expect_match(p, ']', '[', l2, c2)) return;
      if (!expect(p, ':', "table type")) return;
      type_(p);
    } else {
      if (!expect_name(p, "table type")) return;
      if (!expect(p, ':', "table type")) return;
      type_(p);
    }
    if (ERR(p)) return;
    if (T(p) == ',' || T(p) == ';')
      next(p);
    else
      break;
  }
  expect_match(p, '}', '{', line, col);
}

/* after '->': a type or a pack */
static void return_type(Parser *p) { typeorpack(p, 1); }

/* '(' list ')' [ '->' ret ]. Returns 1 if the result is a pack (list not followed by '->'), 0 for a type. */
static int paren_type(Parser *p, int packok, int forcefunc) {
  int line = CUR(p).line, col = CUR(p).col;
  int n = 0, simple = 1;
  next(p); /* '(' */
  if (T(p) != ')') {
    for (;;) {
      if (T(p) == TK_NAME && lex_peek(p->F) == ':') {
        next(p);
        next(p);
        simple = 0;
      }
      if (typeorpack(p, 1)) simple = 0;
      if (ERR(p)) return 0;
      n++;
      if (!accept(p, ',')) break;
    }
  }
  if (!expect_match(p, ')', '(', line, col)) return 0;
  if (T(p) == TK_ARROW) {
    next(p);
    return_type(p);
    return 0;
  }
  if (forcefunc) {
    err_expected(p, "'->'", "function type");
    return 0;
  }
  if (n == 1 && simple) return 0; /* parenthesised type */
  if (!packok) {
    err_expected(p, "'->'", "function type");
    return 0;
  }
  return 1;
}

/* simple type; returns 1 if it was a pack */
static NOINLINE void err_type(Parser *p) {
  char b[128];
  if (ERR(p)) return;
  if (T(p) == TK_INTERP_BEGIN || T(p) == TK_INTERP_SIMPLE)
    front_error(p->F, CUR(p).line, "Interpolated string literals cannot be used as types");
  else
    front_error(p->F, CUR(p).line, "Expected type, got %s", lex_tokstr(p->F, &CUR(p), b, sizeof b));
}

static int simple_type(Parser *p, int packok) {
  switch (T(p)) {
    case TK_NIL:
    case TK_TRUE:
    case TK_FALSE:
    case TK_STRING:
      next(p);
      return 0;
    case TK_NAME: {
      FStr *s = CUR(p).s;
      if (is_typename(p, s) && lex_peek(p->F) == '(') {
        int line, col;
        next(p);
        line = CUR(p).line;
        col = CUR(p).col;
        next(p);
        expr(p);
        expect_match(p, ')', '(', line, col);
        return 0;
      }
      next(p);
      if (T(p) == '.') {
        next(p);
        if (!expect_name(p, "field name")) return 0;
      }
      if (T(p) == TK_DOTS) {
        if (!packok) {
          err_expected(p, "type", NULL);
          return 0;
        }
        next(p);
        return 1;
      }
      if (T(p) == '<') type_args(p);
      return 0;
    }
    case '{':
      table_type(p);
      return 0;
    case '(':
      return paren_type(p, packok, 0);
    case '<':
      generic_decl(p, 0);
      if (!check(p, '(', "function type")) return 0;
      return paren_type(p, 0, 1);
    case TK_DOTS:
      if (!packok) break;
      next(p);
      type_(p);
      return 1;
    case TK_FUNCTION:
      break;
    default:
      break;
  }
  err_type(p);
  return 0;
}

/* full type (or pack when packok); returns 1 if a pack was parsed */
static int typeorpack(Parser *p, int packok) {
  int sep = 0;
  if (!enter(p)) return 0;
  if (T(p) == '|' || T(p) == '&') {
    sep = T(p);
    next(p);
  }
  if (simple_type(p, sep ? 0 : packok)) {
    leave(p);
    return 1;
  }
  while (!ERR(p)) {
    if (T(p) == '?') {
      next(p);
    } else if (T(p) == '|' || T(p) == '&') {
      if (sep && sep != T(p)) {
        front_error(p->F, CUR(p).line, "Mixing union and intersection types is not allowed; consider wrapping in parentheses.");
        break;
      }
      sep = T(p);
      next(p);
      simple_type(p, 0);
    } else {
      break;
    }
  }
  leave(p);
  return 0;
}

static void type_(Parser *p) { typeorpack(p, 0); }

/* optional ': Type' */
static void opt_annotation(Parser *p) {
  if (T(p) == ':') {
    next(p);
    type_(p);
  }
}

/* ---------------- expressions ---------------- */

static int is_multi(Expr *e) { return e && (e->k == E_CALL || e->k == E_VARARG); }

/* explist: returns first, count in *n */
static Expr *explist(Parser *p, int *n) {
  Expr *first = NULL, *last = NULL;
  int c = 0;
  for (;;) {
    Expr *e = expr(p);
    if (!e) return NULL;
    if (last)
      last->next = e;
    else
      first = e;
    last = e;
    c++;
    if (T(p) != ',') break;
    next(p);
  }
  *n = c;
  return first;
}

static Expr *table_cons(Parser *p) {
  int line = CUR(p).line, col = CUR(p).col;
  Expr *t = new_expr(p, E_TABLE, line);
  TItem *last = NULL;
  if (!t) return NULL;
  next(p); /* '{' */
  while (T(p) != '}') {
    TItem *it = (TItem *)front_alloc(p->F, sizeof(TItem));
    if (!it) return NULL;
    if (T(p) == '[') {
      int l2 = CUR(p).line, c2 = CUR(p).col;
      next(p);
      it->key = expr(p);
      if (!it->key) return NULL;
      if (!expect_match(p, ']', '[', l2, c2)) return NULL;
      if (!expect(p, '=', "table field")) return NULL;
      it->val = expr(p);
    } else if (T(p) == TK_NAME && lex_peek(p->F) == '=') {
      it->key = new_expr(p, E_STRING, CUR(p).line);
      if (!it->key) return NULL;
      it->key->v.s = CUR(p).s;
      next(p);
      next(p);
      it->val = expr(p);
      /* name the function of `{name = function() end}` (debug.info "n", tracebacks) */
      if (it->val && it->val->k == E_FUNCTION && !it->val->v.fn->name) it->val->v.fn->name = it->key->v.s;
    } else {
      it->val = expr(p);
    }
    if (!it->val) return NULL;
    if (last)
      last->next = it;
    else
      t->v.items = it;
    last = it;
    if (T(p) == ',' || T(p) == ';')
      next(p);
    else
      break;
  }
  if (!expect_match(p, '}', '{', line, col)) return NULL;
  return t;
}

/* call arguments; cur is '(' / '{' / string */
static Expr *call_args(Parser *p, Expr *call) {
  if (T(p) == '(') {
    int line = CUR(p).line, col = CUR(p).col;
    next(p);
    if (T(p) != ')') {
      int n;
      call->args = explist(p, &n);
      if (!call->args) return NULL;
    }
    if (!expect_match(p, ')', '(', line, col)) return NULL;
  } else if (T(p) == '{') {
    call->args = table_cons(p);
    if (!call->args) return NULL;
  } else {
    Expr *s = new_expr(p, E_STRING, CUR(p).line);
    if (!s) return NULL;
    s->v.s = CUR(p).s;
    next(p);
    call->args = s;
  }
  return call;
}

/* '<' '<' types '>' '>' (explicit type instantiation) */
static void type_instantiation(Parser *p) {
  int line = CUR(p).line, col = CUR(p).col;
  next(p);
  next(p);
  if (T(p) != '>') {
    for (;;) {
      typeorpack(p, 1);
      if (ERR(p)) return;
      if (!accept(p, ',')) break;
    }
  }
  if (!expect_match(p, '>', '<', line, col)) return;
  expect_match(p, '>', '<', line, col);
}

static NOINLINE void err_prefix(Parser *p, int line) {
  char b[128];
  if (ERR(p)) return;
  switch (T(p)) {
    case TK_INTERP_MID:
    case TK_INTERP_END:
      front_error(p->F, line, "Malformed interpolated string, expected expression inside '{}'");
      break;
    case '!':
      front_error(p->F, line, "Unexpected '!'; did you mean 'not'?");
      break;
    default:
      front_error(p->F, line, "Expected identifier when parsing expression, got %s",
                  lex_tokstr(p->F, &CUR(p), b, sizeof b));
      break;
  }
}

static Expr *prefixexp(Parser *p) {
  int line = CUR(p).line;
  if (T(p) == TK_NAME) {
    FStr *s = CUR(p).s;
    next(p);
    return resolve_name(p, s, line);
  }
  if (T(p) == '(') {
    int col = CUR(p).col;
    Expr *e, *inner;
    next(p);
    inner = expr(p);
    if (!inner) return NULL;
    if (!expect_match(p, ')', '(', line, col)) return NULL;
    e = new_expr(p, E_PAREN, line);
    if (!e) return NULL;
    e->a = inner;
    return e;
  }
  err_prefix(p, line);
  return NULL;
}

static Expr *primaryexpr(Parser *p) {
  Expr *e = prefixexp(p);
  int extra = 0;
  while (e && !ERR(p)) {
    int line = CUR(p).line;
    Expr *n;
    switch (T(p)) {
      case '.': {
        next(p);
        if (T(p) != TK_NAME) {
          err_expected(p, "identifier", "field name");
          e = NULL;
          break;
        }
        n = new_expr(p, E_INDEX, line);
        if (!n) return NULL;
        n->a = e;
        n->b = new_expr(p, E_STRING, line);
        if (!n->b) return NULL;
        n->b->v.s = CUR(p).s;
        next(p);
        e = n;
        break;
      }
      case '[': {
        int col = CUR(p).col;
        next(p);
        n = new_expr(p, E_INDEX, line);
        if (!n) return NULL;
        n->a = e;
        n->b = expr(p);
        if (!n->b) return NULL;
        if (!expect_match(p, ']', '[', line, col)) return NULL;
        e = n;
        break;
      }
      case ':': {
        FStr *m;
        next(p);
        m = expect_name(p, "method name");
        if (!m) return NULL;
        if (T(p) == '<' && lex_peek(p->F) == '<') type_instantiation(p);
        if (ERR(p)) return NULL;
        if (T(p) != '(' && T(p) != '{' && T(p) != TK_STRING) {
          err_expected(p, "'(', '{' or <string>", "function call");
          return NULL;
        }
        if (T(p) == '(' && CUR(p).line != p->F->lex.lastline) {
          front_error(p->F, CUR(p).line,
                      "Ambiguous syntax: this looks like an argument list for a function call, but could also be a "
                      "start of new statement; use ';' to separate statements");
          return NULL;
        }
        n = new_expr(p, E_CALL, CUR(p).line);
        if (!n) return NULL;
        n->a = e;
        n->v.s = m;
        if (!call_args(p, n)) return NULL;
        e = n;
        break;
      }
      case '(':
        if (CUR(p).line != p->F->lex.lastline) {
          front_error(p->F, CUR(p).line,
                      "Ambiguous syntax: this looks like an argument list for a function call, but could also be a "
                      "start of new statement; use ';' to separate statements");
          return NULL;
        }
        /* fallthrough */
      case '{':
      case TK_STRING:
        n = new_expr(p, E_CALL, line);
        if (!n) return NULL;
        n->a = e;
        if (!call_args(p, n)) return NULL;
        e = n;
        break;
      case '<':
        if (lex_peek(p->F) == '<') {
          type_instantiation(p);
          if (ERR(p)) return NULL;
          continue; /* no AST change */
        }
        goto out;
      default:
        goto out;
    }
    if (!e) break;
    /* suffix chains build left-deep trees: count them against the depth limit */
    extra++;
    if (!enter(p)) {
      p->depth -= extra;
      return NULL;
    }
  }
out:
  p->depth -= extra;
  return ERR(p) ? NULL : e;
}

/* attribute arguments must be literals (or tables of literals) */
static int attr_literal(Expr *e) {
  TItem *it;
  switch (e->k) {
    case E_NIL:
    case E_TRUE:
    case E_FALSE:
    case E_NUMBER:
    case E_STRING: return 1;
    case E_TABLE:
      for (it = e->v.items; it; it = it->next)
        if ((it->key && !attr_literal(it->key)) || !attr_literal(it->val)) return 0;
      return 1;
    default: return 0;
  }
}

/* one attribute name (native, checked or deprecated), not seen before in this list; returns 1 if ok */
static int attr_name(Parser *p, int *seen) {
  FStr *s;
  int bit;
  if (T(p) != TK_NAME) {
    err_expected(p, "identifier", "attribute");
    return 0;
  }
  s = CUR(p).s;
  bit = s == p->F->n_native ? 1 : s == p->F->n_checked ? 2 : s == p->F->n_deprecated ? 4 : 0;
  if (!bit) {
    front_error(p->F, CUR(p).line, "Invalid attribute '@%s'", s->s);
    return 0;
  }
  if (*seen & bit) {
    front_error(p->F, CUR(p).line, "Cannot duplicate attribute '@%s'", s->s);
    return 0;
  }
  *seen |= bit;
  next(p);
  return 1;
}

/* attributes: '@' name | '@[' list ']'; returns 1 if ok */
static NOINLINE int attributes(Parser *p) {
  int seen = 0; /* bit 0 native, 1 checked, 2 deprecated */
  while (T(p) == '@') {
    int line = CUR(p).line;
    next(p);
    if (T(p) == '[') {
      int col = CUR(p).col;
      next(p);
      for (;;) {
        if (!attr_name(p, &seen)) return 0;
        /* arguments: (literals) | {table} | "string" */
        if (T(p) == '(') {
          int l2 = CUR(p).line, c2 = CUR(p).col;
          int n;
          Expr *args = NULL, *a;
          next(p);
          if (T(p) != ')' && !(args = explist(p, &n))) return 0;
          if (!expect_match(p, ')', '(', l2, c2)) return 0;
          for (a = args; a; a = a->next)
            if (!attr_literal(a)) {
              front_error(p->F, a->line, "Only literals can be passed as arguments for attributes");
              return 0;
            }
        } else if (T(p) == '{') {
          Expr *t = table_cons(p);
          if (!t) return 0;
          if (!attr_literal(t)) {
            front_error(p->F, t->line, "Only literals can be passed as arguments for attributes");
            return 0;
          }
        } else if (T(p) == TK_STRING) {
          next(p);
        }
        if (!accept(p, ',')) break;
        if (T(p) == ']') break; /* trailing comma */
      }
      if (!expect_match(p, ']', '[', line, col)) return 0;
    } else {
      if (!attr_name(p, &seen)) return 0;
    }
  }
  return 1;
}

static Expr *interp_string(Parser *p) {
  int line = CUR(p).line;
  Expr *e;
  StrPart *lastpart;
  Expr *lastarg = NULL;
  if (T(p) == TK_INTERP_SIMPLE) {
    e = new_expr(p, E_STRING, line);
    if (!e) return NULL;
    e->v.s = CUR(p).s;
    next(p);
    return e;
  }
  e = new_expr(p, E_INTERP, line);
  if (!e) return NULL;
  lastpart = (StrPart *)front_alloc(p->F, sizeof(StrPart));
  if (!lastpart) return NULL;
  lastpart->s = CUR(p).s;
  e->v.parts = lastpart;
  next(p); /* BEGIN */
  for (;;) {
    Expr *h;
    StrPart *sp;
    if (T(p) == TK_INTERP_MID || T(p) == TK_INTERP_END) {
      if (!ERR(p)) front_error(p->F, CUR(p).line, "Malformed interpolated string, expected expression inside '{}'");
      return NULL;
    }
    h = expr(p);
    if (!h) return NULL;
    if (lastarg)
      lastarg->next = h;
    else
      e->args = h;
    lastarg = h;
    if (T(p) != TK_INTERP_MID && T(p) != TK_INTERP_END) {
      if (!ERR(p)) front_error(p->F, CUR(p).line, "Malformed interpolated string; did you forget to add a '}'?");
      return NULL;
    }
    sp = (StrPart *)front_alloc(p->F, sizeof(StrPart));
    if (!sp) return NULL;
    sp->s = CUR(p).s;
    lastpart->next = sp;
    lastpart = sp;
    if (T(p) == TK_INTERP_END) {
      next(p);
      break;
    }
    next(p);
  }
  return e;
}

static Expr *if_expr(Parser *p) {
  int line = CUR(p).line;
  Expr *e = new_expr(p, E_IFEXPR, line);
  IfClause *last = NULL;
  if (!e) return NULL;
  next(p); /* if */
  for (;;) {
    IfClause *c = (IfClause *)front_alloc(p->F, sizeof(IfClause));
    if (!c) return NULL;
    c->cond = expr(p);
    if (!c->cond) return NULL;
    if (!expect(p, TK_THEN, "if then else expression")) return NULL;
    c->val = expr(p);
    if (!c->val) return NULL;
    if (last)
      last->next = c;
    else
      e->v.clauses = c;
    last = c;
    if (T(p) == TK_ELSEIF) {
      next(p);
      continue;
    }
    if (!expect(p, TK_ELSE, "if then else expression")) return NULL;
    break;
  }
  e->b = expr(p);
  if (!e->b) return NULL;
  return e;
}

static Expr *simpleexpr(Parser *p) {
  int line = CUR(p).line;
  Expr *e = NULL;
  switch (T(p)) {
    case TK_NUMBER:
      e = new_expr(p, E_NUMBER, line);
      if (!e) return NULL;
      e->v.n = CUR(p).n;
      next(p);
      break;
    case TK_STRING:
      e = new_expr(p, E_STRING, line);
      if (!e) return NULL;
      e->v.s = CUR(p).s;
      next(p);
      break;
    case TK_NIL:
      e = new_expr(p, E_NIL, line);
      next(p);
      break;
    case TK_TRUE:
      e = new_expr(p, E_TRUE, line);
      next(p);
      break;
    case TK_FALSE:
      e = new_expr(p, E_FALSE, line);
      next(p);
      break;
    case TK_DOTS:
      if (!p->fs->fn->isvararg) {
        front_error(p->F, line, "Cannot use '...' outside of a vararg function");
        return NULL;
      }
      e = new_expr(p, E_VARARG, line);
      next(p);
      break;
    case '{':
      e = table_cons(p);
      break;
    case '@':
      if (!attributes(p)) return NULL;
      if (T(p) != TK_FUNCTION) {
        err_expected(p, "'function'", "attribute");
        return NULL;
      }
      /* fallthrough */
    case TK_FUNCTION: {
      FuncNode *fn;
      next(p);
      fn = funcbody(p, 0, line, NULL, 1);
      if (!fn) return NULL;
      e = new_expr(p, E_FUNCTION, line);
      if (!e) return NULL;
      e->v.fn = fn;
      break;
    }
    case TK_IF:
      e = if_expr(p);
      break;
    case TK_INTERP_BEGIN:
    case TK_INTERP_SIMPLE:
      e = interp_string(p);
      break;
    default:
      e = primaryexpr(p);
      break;
  }
  /* type assertions bind to the simple expression */
  while (e && T(p) == TK_DBCOLON) {
    Expr *c;
    next(p);
    type_(p);
    if (ERR(p)) return NULL;
    c = new_expr(p, E_PAREN, line);
    if (!c) return NULL;
    c->a = e;
    e = c;
  }
  return ERR(p) ? NULL : e;
}

static const struct {
  uint8_t left, right;
} priority[] = {
  {6, 6}, {6, 6}, {7, 7}, {7, 7}, {7, 7}, {7, 7}, /* + - * / // % */
  {10, 9},                                        /* ^ (right assoc) */
  {5, 4},                                         /* .. (right assoc) */
  {3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}, /* == ~= < <= > >= */
  {2, 2}, {1, 1}                                  /* and or */
};
#define UNARY_PRIORITY 8

static int binop(Parser *p) {
  switch (T(p)) {
    case '+': return OPR_ADD;
    case '-': return OPR_SUB;
    case '*': return OPR_MUL;
    case '/': return OPR_DIV;
    case TK_IDIV: return OPR_IDIV;
    case '%': return OPR_MOD;
    case '^': return OPR_POW;
    case TK_CONCAT: return OPR_CONCAT;
    case TK_EQ: return OPR_EQ;
    case TK_NE: return OPR_NE;
    case '<': return OPR_LT;
    case TK_LE: return OPR_LE;
    case '>': return OPR_GT;
    case TK_GE: return OPR_GE;
    case TK_AND: return OPR_AND;
    case TK_OR: return OPR_OR;
    case TK_BANGEQ:
      front_error(p->F, CUR(p).line, "Unexpected '!='; did you mean '~='?");
      return OPR_NONE;
    case TK_AMPAMP:
      front_error(p->F, CUR(p).line, "Unexpected '&&'; did you mean 'and'?");
      return OPR_NONE;
    case TK_PIPEPIPE:
      front_error(p->F, CUR(p).line, "Unexpected '||'; did you mean 'or'?");
      return OPR_NONE;
    default: return OPR_NONE;
  }
}

static Expr *subexpr(Parser *p, int limit) {
  Expr *e;
  int op, extra = 0;
  int line = CUR(p).line;
  if (!enter(p)) return NULL;
  if (T(p) == TK_NOT || T(p) == '-' || T(p) == '#') {
    int uop = T(p) == TK_NOT ? OPR_NOT : T(p) == '-' ? OPR_NEG : OPR_LEN;
    Expr *a;
    next(p);
    a = subexpr(p, UNARY_PRIORITY);
    if (!a) {
      leave(p);
      return NULL;
    }
    if (uop == OPR_NEG && a->k == E_NUMBER) {
      a->v.n = -a->v.n;
      e = a;
    } else {
      e = new_expr(p, E_UNOP, line);
      if (!e) {
        leave(p);
        return NULL;
      }
      e->op = (uint8_t)uop;
      e->a = a;
    }
  } else if (T(p) == '!') {
    front_error(p->F, line, "Unexpected '!'; did you mean 'not'?");
    leave(p);
    return NULL;
  } else {
    e = simpleexpr(p);
  }
  if (!e) {
    leave(p);
    return NULL;
  }
  op = binop(p);
  while (op != OPR_NONE && priority[op].left > limit) {
    Expr *b, *n;
    int oline = CUR(p).line;
    next(p);
    b = subexpr(p, priority[op].right);
    if (!b) break;
    n = new_expr(p, op == OPR_AND ? E_AND : op == OPR_OR ? E_OR : E_BINOP, oline);
    if (!n) break;
    n->op = (uint8_t)op;
    n->a = e;
    n->b = b;
    e = n;
    op = binop(p);
    if (op != OPR_NONE) {
      /* the tree grows deeper on the left without recursion here: count it */
      extra++;
      if (!enter(p)) break;
    }
  }
  p->depth -= extra;
  leave(p);
  return ERR(p) ? NULL : e;
}

static Expr *expr(Parser *p) { return subexpr(p, 0); }

/* ---------------- functions ---------------- */

static Var *add_param(Parser *p, FuncNode *fn, VarList **last, FStr *name, int line) {
  Var *v = new_var(p, name, line);
  VarList *vl = (VarList *)front_alloc(p->F, sizeof(VarList));
  if (!v || !vl) return NULL;
  vl->var = v;
  if (*last)
    (*last)->next = vl;
  else
    fn->params = vl;
  *last = vl;
  fn->nparams++;
  if (!activate(p, v)) return NULL;
  return v;
}

/* parses [generics] '(' params ')' [':' rettype] block 'end'; cur is just after 'function' (and name) */
static FuncNode *funcbody_ex(Parser *p, int ismethod, int line, FStr *name, int counted, int isolated) {
  FuncNode *fn = (FuncNode *)front_alloc(p->F, sizeof(FuncNode));
  FuncScope fs;
  VarList *last = NULL;
  int savedn = p->nactvars;
  Block *savedblock = p->curblock;
  int pline, pcol;
  if (!fn) return NULL;
  if (!counted && !enter(p)) return NULL;
  fn->parent = p->fs->fn;
  fn->depth = p->fs->fn->depth + 1;
  fn->line = line;
  fn->name = name;
  fs.prev = p->fs;
  fs.fn = fn;
  fs.varbase = p->nactvars;
  fs.isolated = isolated;
  fs.loop = NULL;
  p->fs = &fs;
  p->curblock = NULL;
  if (T(p) == '<') generic_decl(p, 0);
  pline = CUR(p).line;
  pcol = CUR(p).col;
  if (!expect(p, '(', "function")) goto fail;
  if (ismethod && !add_param(p, fn, &last, p->F->n_self, line)) goto fail;
  if (T(p) != ')') {
    for (;;) {
      if (T(p) == TK_DOTS) {
        next(p);
        fn->isvararg = 1;
        if (T(p) == ':') {
          next(p);
          typeorpack(p, 1);
        }
        break;
      } else {
        int vline = CUR(p).line;
        FStr *pn = expect_name(p, "function parameter");
        if (!pn) goto fail;
        if (!add_param(p, fn, &last, pn, vline)) goto fail;
        opt_annotation(p);
      }
      if (ERR(p)) goto fail;
      if (!accept(p, ',')) break;
    }
  }
  if (!expect_match(p, ')', '(', pline, pcol)) goto fail;
  if (T(p) == ':') {
    next(p);
    typeorpack(p, 1);
  }
  if (ERR(p)) goto fail;
  fn->body = block(p, NULL, 0);
  if (!fn->body) goto fail;
  /* parameters belong to the body block for capture bookkeeping */
  {
    VarList *vl;
    for (vl = fn->params; vl; vl = vl->next) {
      vl->var->block = fn->body;
      if (vl->var->captured) fn->body->hascap = 1;
    }
  }
  if (!expect_match(p, TK_END, TK_FUNCTION, line, 0)) goto fail;
  p->nactvars = savedn;
  p->fs = fs.prev;
  p->curblock = savedblock;
  if (!counted) leave(p);
  return fn;
fail:
  p->nactvars = savedn;
  p->fs = fs.prev;
  p->curblock = savedblock;
  if (!counted) leave(p);
  return NULL;
}

static FuncNode *funcbody(Parser *p, int ismethod, int line, FStr *name, int counted) {
  return funcbody_ex(p, ismethod, line, name, counted, 0);
}

/* ---------------- statements ---------------- */

static int block_follow(int t) {
  return t == TK_EOF || t == TK_END || t == TK_ELSE || t == TK_ELSEIF || t == TK_UNTIL;
}

static int assignable(Parser *p, Expr *e) {
  if (e->k == E_LOCAL) {
    if (e->v.var->isconst) {
      front_error(p->F, e->line, "Variable '%s' is constant and may not be reassigned", e->v.var->name->s);
      return 0;
    }
    return 1;
  }
  if (e->k == E_GLOBAL || e->k == E_INDEX) return 1;
  front_error(p->F, e->line, "Assigned expression must be a variable or a field");
  return 0;
}

static NOINLINE FStr *concat_name(Parser *p, FStr *a, char sep, FStr *b) {
  char tmp[256];
  size_t la = a->len, lb = b->len;
  if (la + lb + 1 > sizeof tmp) return b;
  memcpy(tmp, a->s, la);
  tmp[la] = sep;
  memcpy(tmp + la + 1, b->s, lb);
  return front_intern(p->F, tmp, la + lb + 1);
}

static Stat *exprstat(Parser *p) {
  int line = CUR(p).line;
  Expr *e = primaryexpr(p);
  Stat *s;
  int op = -1;
  if (!e) return NULL;
  if (T(p) == '=' || T(p) == ',') {
    Expr *last = e;
    s = new_stat(p, S_ASSIGN, line);
    if (!s) return NULL;
    if (!assignable(p, e)) return NULL;
    s->targets = e;
    s->ntargets = 1;
    while (T(p) == ',') {
      Expr *t;
      next(p);
      t = primaryexpr(p);
      if (!t) return NULL;
      if (!assignable(p, t)) return NULL;
      last->next = t;
      last = t;
      s->ntargets++;
    }
    if (!expect(p, '=', "assignment")) return NULL;
    s->exprs = explist(p, &s->nexprs);
    if (!s->exprs) return NULL;
    return s;
  }
  switch (T(p)) {
    case TK_ADDEQ: op = OPR_ADD; break;
    case TK_SUBEQ: op = OPR_SUB; break;
    case TK_MULEQ: op = OPR_MUL; break;
    case TK_DIVEQ: op = OPR_DIV; break;
    case TK_IDIVEQ: op = OPR_IDIV; break;
    case TK_MODEQ: op = OPR_MOD; break;
    case TK_POWEQ: op = OPR_POW; break;
    case TK_CONCATEQ: op = OPR_CONCAT; break;
    default: break;
  }
  if (op >= 0) {
    s = new_stat(p, S_COMPOUND, line);
    if (!s) return NULL;
    if (!assignable(p, e)) return NULL;
    next(p);
    s->op = (uint8_t)op;
    s->targets = e;
    s->ntargets = 1;
    s->exprs = expr(p);
    if (!s->exprs) return NULL;
    s->nexprs = 1;
    return s;
  }
  if (e->k == E_CALL) {
    s = new_stat(p, S_CALL, line);
    if (!s) return NULL;
    s->targets = e;
    return s;
  }
  if (!ERR(p)) {
    if (T(p) == TK_BANGEQ)
      binop(p);
    else
      front_error(p->F, CUR(p).line, "Incomplete statement: expected assignment or a function call");
  }
  return NULL;
}

static Stat *local_stat(Parser *p, int line, int isconst) {
  Stat *s;
  VarList *last = NULL, *vl;
  Expr *e;
  if (T(p) == TK_FUNCTION) {
    int fline = CUR(p).line;
    FStr *name;
    next(p);
    name = expect_name(p, "variable name");
    if (!name) return NULL;
    s = new_stat(p, S_LOCALFUNC, line);
    if (!s) return NULL;
    s->var = new_var(p, name, fline);
    if (!s->var) return NULL;
    s->var->isconst = (uint8_t)isconst;
    if (!activate(p, s->var)) return NULL;
    s->fn = funcbody(p, 0, fline, name, 0);
    if (!s->fn) return NULL;
    return s;
  }
  s = new_stat(p, S_LOCAL, line);
  if (!s) return NULL;
  for (;;) {
    int vline = CUR(p).line;
    FStr *name = expect_name(p, "variable name");
    Var *v;
    if (!name) return NULL;
    v = new_var(p, name, vline);
    vl = (VarList *)front_alloc(p->F, sizeof(VarList));
    if (!v || !vl) return NULL;
    v->isconst = (uint8_t)isconst;
    vl->var = v;
    if (last)
      last->next = vl;
    else
      s->vars = vl;
    last = vl;
    s->nvars++;
    opt_annotation(p);
    if (ERR(p)) return NULL;
    if (!accept(p, ',')) break;
  }
  if (T(p) == '=') {
    next(p);
    s->exprs = explist(p, &s->nexprs);
    if (!s->exprs) return NULL;
  }
  if (isconst) {
    for (e = s->exprs; e && e->next; e = e->next) {
    }
    if (s->nexprs < s->nvars && !is_multi(e)) {
      front_error(p->F, line, "Missing initializer in const declaration");
      return NULL;
    }
  }
  /* name the function of `local f = function() end` */
  if (s->nvars == 1 && s->nexprs == 1 && s->exprs->k == E_FUNCTION && !s->exprs->v.fn->name)
    s->exprs->v.fn->name = s->vars->var->name;
  for (vl = s->vars; vl; vl = vl->next)
    if (!activate(p, vl->var)) return NULL;
  return s;
}

static Stat *function_stat(Parser *p, int line) {
  Stat *s;
  Expr *target, *fe;
  FStr *name, *fullname;
  int ismethod = 0;
  int nline;
  next(p); /* function */
  nline = CUR(p).line;
  name = expect_name(p, "function name");
  if (!name) return NULL;
  target = resolve_name(p, name, nline);
  if (!target) return NULL;
  fullname = name;
  while (T(p) == '.' || T(p) == ':') {
    int sep = T(p);
    Expr *n, *k;
    FStr *f;
    next(p);
    f = expect_name(p, "function name");
    if (!f) return NULL;
    fullname = concat_name(p, fullname, (char)sep, f);
    if (!fullname) return NULL;
    n = new_expr(p, E_INDEX, nline);
    k = new_expr(p, E_STRING, nline);
    if (!n || !k) return NULL;
    k->v.s = f;
    n->a = target;
    n->b = k;
    target = n;
    if (sep == ':') {
      ismethod = 1;
      break;
    }
  }
  if (!assignable(p, target)) return NULL;
  fe = new_expr(p, E_FUNCTION, line);
  if (!fe) return NULL;
  fe->v.fn = funcbody(p, ismethod, line, fullname, 0);
  if (!fe->v.fn) return NULL;
  s = new_stat(p, S_ASSIGN, line);
  if (!s) return NULL;
  s->targets = target;
  s->ntargets = 1;
  s->exprs = fe;
  s->nexprs = 1;
  return s;
}

static Stat *if_stat(Parser *p, int line) {
  Stat *s = new_stat(p, S_IF, line);
  IfPart *last = NULL;
  int col = CUR(p).col;
  if (!s) return NULL;
  next(p); /* if */
  for (;;) {
    IfPart *ip = (IfPart *)front_alloc(p->F, sizeof(IfPart));
    if (!ip) return NULL;
    ip->line = CUR(p).line;
    ip->cond = expr(p);
    if (!ip->cond) return NULL;
    if (!expect(p, TK_THEN, "if statement")) return NULL;
    ip->block = block(p, NULL, 1);
    if (!ip->block) return NULL;
    if (last)
      last->next = ip;
    else
      s->parts = ip;
    last = ip;
    if (T(p) == TK_ELSEIF) {
      next(p);
      continue;
    }
    break;
  }
  if (T(p) == TK_ELSE) {
    next(p);
    s->elseblock = block(p, NULL, 1);
    if (!s->elseblock) return NULL;
  }
  if (!expect_match(p, TK_END, TK_IF, line, col)) return NULL;
  return s;
}

static LoopNode *new_loop(Parser *p) { return (LoopNode *)front_alloc(p->F, sizeof(LoopNode)); }

static Stat *while_stat(Parser *p, int line) {
  Stat *s = new_stat(p, S_WHILE, line);
  int col = CUR(p).col;
  if (!s) return NULL;
  next(p);
  s->cond = expr(p);
  if (!s->cond) return NULL;
  if (!expect(p, TK_DO, "while loop")) return NULL;
  s->loop = new_loop(p);
  if (!s->loop) return NULL;
  s->block = block(p, s->loop, 1);
  if (!s->block) return NULL;
  if (!expect_match(p, TK_END, TK_WHILE, line, col)) return NULL;
  return s;
}

static Stat *repeat_stat(Parser *p, int line) {
  Stat *s = new_stat(p, S_REPEAT, line);
  int col = CUR(p).col;
  LoopNode *savedloop = p->fs->loop;
  LoopNode *saveduntil = p->untilloop;
  Block *savedblock = p->curblock;
  int savedn = p->nactvars;
  Block *b;
  if (!s) return NULL;
  next(p);
  s->loop = new_loop(p);
  b = (Block *)front_alloc(p->F, sizeof(Block));
  if (!s->loop || !b) return NULL;
  s->loop->isrepeat = 1;
  s->loop->body = b;
  s->block = b;
  if (!enter(p)) return NULL;
  /* body statements, scope left open for the condition */
  p->fs->loop = s->loop;
  p->curblock = b;
  {
    Stat *lastst = NULL;
    while (!block_follow(T(p)) && !ERR(p)) {
      Stat *st;
      int isret = T(p) == TK_RETURN;
      st = statement_(p);
      if (ERR(p)) break;
      if (!st) continue;
      if (lastst)
        lastst->next = st;
      else
        b->first = st;
      lastst = st;
      if (isret || st->k == S_BREAK || st->k == S_CONTINUE) break;
    }
  }
  p->fs->loop = savedloop;
  if (!ERR(p) && expect_match(p, TK_UNTIL, TK_REPEAT, line, col)) {
    if (s->loop->contline) p->untilloop = s->loop;
    s->cond = expr(p);
    p->untilloop = saveduntil;
  }
  p->untilloop = saveduntil;
  p->nactvars = savedn;
  p->curblock = savedblock;
  leave(p);
  if (ERR(p) || !s->cond) return NULL;
  return s;
}

static Stat *for_stat(Parser *p, int line) {
  Stat *s;
  int col = CUR(p).col;
  int vline;
  FStr *name;
  Var *v;
  VarList *vl, *last;
  Block *b;
  Block *savedblock = p->curblock;
  LoopNode *savedloop = p->fs->loop;
  int savedn = p->nactvars;
  LoopNode *loop;
  next(p); /* for */
  vline = CUR(p).line;
  name = expect_name(p, "for loop");
  if (!name) return NULL;
  opt_annotation(p);
  if (ERR(p)) return NULL;
  loop = new_loop(p);
  b = (Block *)front_alloc(p->F, sizeof(Block));
  if (!loop || !b) return NULL;
  loop->body = b;
  if (T(p) == '=') {
    Expr *e1, *e2, *e3 = NULL;
    s = new_stat(p, S_NUMFOR, line);
    if (!s) return NULL;
    next(p);
    e1 = expr(p);
    if (!e1 || !expect(p, ',', "for loop")) return NULL;
    e2 = expr(p);
    if (!e2) return NULL;
    if (accept(p, ',')) {
      e3 = expr(p);
      if (!e3) return NULL;
    }
    e1->next = e2;
    e2->next = e3;
    s->exprs = e1;
    s->nexprs = e3 ? 3 : 2;
    if (!expect(p, TK_DO, "for loop")) return NULL;
    /* declare the loop variable inside the body's scope */
    p->curblock = b;
    p->fs->loop = loop;
    v = new_var(p, name, vline);
    vl = (VarList *)front_alloc(p->F, sizeof(VarList));
    if (!v || !vl) goto fail;
    vl->var = v;
    s->vars = vl;
    s->nvars = 1;
    if (!activate(p, v)) goto fail;
  } else {
    s = new_stat(p, S_GENFOR, line);
    if (!s) return NULL;
    p->curblock = b;
    p->fs->loop = loop;
    v = new_var(p, name, vline);
    vl = (VarList *)front_alloc(p->F, sizeof(VarList));
    if (!v || !vl) goto fail;
    vl->var = v;
    s->vars = vl;
    s->nvars = 1;
    last = vl;
    while (T(p) == ',') {
      next(p);
      vline = CUR(p).line;
      name = expect_name(p, "for loop");
      if (!name) goto fail;
      opt_annotation(p);
      v = new_var(p, name, vline);
      vl = (VarList *)front_alloc(p->F, sizeof(VarList));
      if (!v || !vl || ERR(p)) goto fail;
      vl->var = v;
      last->next = vl;
      last = vl;
      s->nvars++;
    }
    if (!expect(p, TK_IN, "for loop")) goto fail;
    /* the iterator expressions are outside the loop */
    p->curblock = savedblock;
    p->fs->loop = savedloop;
    s->exprs = explist(p, &s->nexprs);
    if (!s->exprs) goto fail;
    if (!expect(p, TK_DO, "for loop")) goto fail;
    p->curblock = b;
    p->fs->loop = loop;
    for (vl = s->vars; vl; vl = vl->next)
      if (!activate(p, vl->var)) goto fail;
  }
  p->curblock = savedblock;
  p->fs->loop = savedloop;
  s->loop = loop;
  /* body: block b, where the loop variables already live */
  if (!block_in(p, b, loop, 1)) goto fail;
  s->block = b;
  p->nactvars = savedn;
  if (!expect_match(p, TK_END, TK_FOR, line, col)) return NULL;
  return s;
fail:
  p->curblock = savedblock;
  p->fs->loop = savedloop;
  p->nactvars = savedn;
  return NULL;
}

static Stat *type_stat(Parser *p, int line) {
  /* cur is 'type' (after an optional 'export') */
  next(p);
  if (T(p) == TK_FUNCTION) {
    FStr *name;
    next(p);
    name = expect_name(p, "type function name");
    if (!name) return NULL;
    if (!funcbody_ex(p, 0, line, name, 0, 1)) return NULL;
    return NULL; /* nothing to run; caller checks ERR */
  }
  if (!expect_name(p, "type name")) return NULL;
  if (T(p) == '<') generic_decl(p, 1);
  if (!expect(p, '=', "type alias")) return NULL;
  type_(p);
  return NULL;
}

static NOINLINE void err_attr(Parser *p) {
  char b[128];
  front_error(p->F, CUR(p).line,
              "Expected 'function', 'local function' or 'const function' after attribute, but got %s instead",
              lex_tokstr(p->F, &CUR(p), b, sizeof b));
}

/* returns a statement, or NULL with no error for statements that generate nothing (type aliases) */
static Stat *statement_(Parser *p) {
  int line = CUR(p).line;
  Stat *s = NULL;
  switch (T(p)) {
    case TK_IF:
      s = if_stat(p, line);
      break;
    case TK_WHILE:
      s = while_stat(p, line);
      break;
    case TK_DO: {
      int col = CUR(p).col;
      next(p);
      s = new_stat(p, S_DO, line);
      if (!s) return NULL;
      s->block = block(p, NULL, 1);
      if (!s->block) return NULL;
      if (!expect_match(p, TK_END, TK_DO, line, col)) return NULL;
      break;
    }
    case TK_FOR:
      s = for_stat(p, line);
      break;
    case TK_REPEAT:
      s = repeat_stat(p, line);
      break;
    case TK_FUNCTION:
      s = function_stat(p, line);
      break;
    case TK_LOCAL:
      next(p);
      s = local_stat(p, line, 0);
      break;
    case '@':
      if (!attributes(p)) return NULL;
      if (T(p) == TK_FUNCTION) {
        s = function_stat(p, line);
      } else if (T(p) == TK_LOCAL && lex_peek(p->F) == TK_FUNCTION) {
        next(p);
        s = local_stat(p, line, 0);
      } else if (T(p) == TK_NAME && CUR(p).s == p->F->n_const && lex_peek(p->F) == TK_FUNCTION) {
        next(p);
        s = local_stat(p, line, 1);
      } else {
        err_attr(p);
        return NULL;
      }
      break;
    case TK_RETURN: {
      next(p);
      s = new_stat(p, S_RETURN, line);
      if (!s) return NULL;
      if (!block_follow(T(p)) && T(p) != ';') {
        s->exprs = explist(p, &s->nexprs);
        if (!s->exprs) return NULL;
      }
      break;
    }
    case TK_BREAK:
      next(p);
      if (!p->fs->loop) {
        front_error(p->F, line, "break statement must be inside a loop");
        return NULL;
      }
      s = new_stat(p, S_BREAK, line);
      if (!s) return NULL;
      s->loop = p->fs->loop;
      break;
    case TK_NAME: {
      FStr *n = CUR(p).s;
      Front *F = p->F;
      if (n == F->n_continue) {
        int pk = lex_peek(F);
        if (block_follow(pk) || pk == ';') {
          next(p);
          if (!p->fs->loop) {
            front_error(F, line, "continue statement must be inside a loop");
            return NULL;
          }
          s = new_stat(p, S_CONTINUE, line);
          if (!s) return NULL;
          s->loop = p->fs->loop;
          if (!s->loop->contline) {
            s->loop->contline = line;
            s->loop->contseq = F->varseq;
          }
          break;
        }
      } else if (n == F->n_const) {
        int pk = lex_peek(F);
        if (pk == TK_NAME || pk == TK_FUNCTION) {
          next(p);
          s = local_stat(p, line, 1);
          break;
        }
      } else if (n == F->n_type) {
        int pk = lex_peek(F);
        if (pk == TK_NAME || pk == TK_FUNCTION) {
          type_stat(p, line);
          if (ERR(p)) return NULL;
          accept(p, ';');
          return NULL;
        }
      } else if (n == F->n_export) {
        const Token *pt = lex_peektok(F);
        if (pt->t == TK_NAME && pt->s == F->n_type) {
          next(p);
          type_stat(p, line);
          if (ERR(p)) return NULL;
          accept(p, ';');
          return NULL;
        }
      }
      s = exprstat(p);
      break;
    }
    default:
      s = exprstat(p);
      break;
  }
  if (!s) return NULL;
  accept(p, ';');
  return ERR(p) ? NULL : s;
}

/* parse statements until a block end; `loop` = loop whose body this is (or NULL); count = counts depth */
static Block *block_in(Parser *p, Block *b, LoopNode *loop, int count) {
  if (!b) b = (Block *)front_alloc(p->F, sizeof(Block));
  Block *savedblock = p->curblock;
  LoopNode *savedloop = p->fs->loop;
  int savedn = p->nactvars;
  Stat *last = NULL;
  if (!b) return NULL;
  if (count && !enter(p)) return NULL;
  p->curblock = b;
  if (loop) {
    p->fs->loop = loop;
    if (!loop->body) loop->body = b;
  }
  while (!block_follow(T(p)) && !ERR(p)) {
    int t = T(p);
    Stat *st = statement_(p);
    if (ERR(p)) break;
    if (!st) continue; /* type alias etc. */
    if (last)
      last->next = st;
    else
      b->first = st;
    last = st;
    if (t == TK_RETURN || st->k == S_BREAK || st->k == S_CONTINUE) break;
  }
  p->curblock = savedblock;
  p->fs->loop = savedloop;
  p->nactvars = savedn;
  if (count) leave(p);
  return ERR(p) ? NULL : b;
}

FuncNode *parse_chunk(Front *F) {
  Parser P;
  FuncScope fs;
  FuncNode *main;
  Block *b;
  memset(&P, 0, sizeof P);
  P.F = F;
  main = (FuncNode *)front_alloc(F, sizeof(FuncNode));
  if (!main) return NULL;
  main->isvararg = 1;
  main->line = 0;
  fs.prev = NULL;
  fs.fn = main;
  fs.varbase = 0;
  fs.isolated = 0;
  fs.loop = NULL;
  P.fs = &fs;
  lex_next(F);
  b = block(&P, NULL, 0);
  if (b && !F->err && T(&P) != TK_EOF) err_expected(&P, "<eof>", NULL);
  main->body = b;
  if (P.actvars) mem_realloc(F->L, P.actvars, (size_t)P.capactvars * sizeof(Var *), 0);
  return F->err ? NULL : main;
}
