/*
 * front.h - private header of the front end (lex.c, parse.c, compile.c).
 *
 * Pipeline: the lexer turns bytes into tokens on demand, the parser builds an arena-allocated AST (names already
 * resolved to local-variable records or globals; type annotations are parsed and discarded), and the code
 * generator walks the AST and emits the bytecode of opcodes.h into Proto objects.
 *
 * Errors never unwind: the first error is recorded in the Front context (F->err) and every routine returns
 * early once it is set (the lexer then only produces TK_EOF, so parse loops terminate).
 * All temporary memory (arena, buffers, tables) goes through mem_realloc and is released by front_free.
 */
#ifndef PAL_FRONT_H
#define PAL_FRONT_H

#include "object.h"
#include "opcodes.h"

/* ---- limits ---- */
/* nesting depth of expressions/blocks/types. Luau's limit is 1000; the extra slack lets 1000 nested levels of
   any single construct compile even though the enclosing statement/expression also counts. */
#define FRONT_MAXDEPTH 1024
#define FRONT_MAXLOCALS 200
#define FRONT_MAXUPVALS 200

/* ---- error kinds ---- */
#define FERR_NONE 0
#define FERR_SYNTAX 1
#define FERR_MEM 2

/* ---- interned strings (names and literal contents) ---- */
typedef struct FStr {
  struct FStr *hnext;
  uint32_t hash;
  uint32_t len;
  int reserved; /* token of a reserved word, 0 otherwise */
  TString *ts;  /* runtime string, created lazily by the code generator */
  char s[1];    /* len bytes + NUL */
} FStr;

/* ---- tokens ---- */
enum {
  TK_FIRST = 256,
  /* reserved words (order = table in lex.c) */
  TK_AND = TK_FIRST, TK_BREAK, TK_DO, TK_ELSE, TK_ELSEIF, TK_END, TK_FALSE, TK_FOR, TK_FUNCTION, TK_IF, TK_IN,
  TK_LOCAL, TK_NIL, TK_NOT, TK_OR, TK_REPEAT, TK_RETURN, TK_THEN, TK_TRUE, TK_UNTIL, TK_WHILE,
  /* multi-character symbols */
  TK_EQ, TK_NE, TK_LE, TK_GE, TK_CONCAT, TK_DOTS, TK_IDIV, TK_DBCOLON, TK_ARROW,
  TK_ADDEQ, TK_SUBEQ, TK_MULEQ, TK_DIVEQ, TK_IDIVEQ, TK_MODEQ, TK_POWEQ, TK_CONCATEQ,
  TK_BANGEQ, TK_AMPAMP, TK_PIPEPIPE, /* not Luau: only lexed to give "did you mean" errors */
  /* literals */
  TK_NAME, TK_NUMBER, TK_STRING,
  TK_INTERP_BEGIN,  /* `text{        */
  TK_INTERP_MID,    /* }text{        */
  TK_INTERP_END,    /* }text`        */
  TK_INTERP_SIMPLE, /* `text` (no holes) */
  TK_EOF
};

typedef struct Token {
  int t;
  int line;    /* line where the token starts */
  int col;     /* 1-based column where the token starts */
  int endline; /* line where it ends (multi-line strings) */
  double n;    /* TK_NUMBER */
  FStr *s;     /* TK_NAME, TK_STRING, TK_INTERP_* (literal part) */
  const char *start; /* source text of the token (for messages) */
  size_t len;
} Token;

typedef struct ArenaChunk {
  struct ArenaChunk *next;
  size_t size; /* total bytes of this allocation */
} ArenaChunk;

typedef struct Front Front;

typedef struct Lexer {
  const char *src, *p, *end;
  const char *linestart;
  int line;
  Token cur;
  Token ahead;
  int hasahead;
  int lastline; /* line where the previously consumed token ended */
  /* brace stack for interpolated strings: 'T' table brace, 'I' interpolation hole */
  char *braces;
  int nbraces, capbraces;
  /* scratch buffer for literals */
  char *buf;
  size_t buflen, bufcap;
} Lexer;

/* ---- AST ---- */
typedef struct Expr Expr;
typedef struct Stat Stat;
typedef struct Block Block;
typedef struct FuncNode FuncNode;
typedef struct LoopNode LoopNode;

typedef struct Var {
  FStr *name;
  FuncNode *func;  /* function that declares it */
  Block *block;    /* block that declares it */
  LoopNode *loop;  /* innermost loop (same function) enclosing the declaration, or NULL */
  int line;
  int seq;         /* declaration order (for the repeat..until/continue rule) */
  uint8_t isconst;
  uint8_t captured; /* referenced from an inner function */
  int reg;          /* code generator: register */
} Var;

enum {
  E_NIL, E_TRUE, E_FALSE, E_NUMBER, E_STRING, E_VARARG,
  E_LOCAL,    /* v.var (possibly of an enclosing function -> upvalue) */
  E_GLOBAL,   /* v.name */
  E_INDEX,    /* a = object, b = key */
  E_CALL,     /* a = function (or object for method calls), args list, name = method or NULL */
  E_FUNCTION, /* v.fn */
  E_TABLE,    /* items */
  E_BINOP,    /* op, a, b */
  E_UNOP,     /* op, a */
  E_AND, E_OR,
  E_IFEXPR,   /* list of clauses (IfClause), else in b */
  E_INTERP,   /* parts: FStr literal parts (nparts), exprs in args list */
  E_PAREN     /* a (also used for type assertions): truncates to one value */
};

/* binary operators (E_BINOP) */
enum {
  OPR_ADD, OPR_SUB, OPR_MUL, OPR_DIV, OPR_IDIV, OPR_MOD, OPR_POW, /* same order as OP_ADD.. */
  OPR_CONCAT, OPR_EQ, OPR_NE, OPR_LT, OPR_LE, OPR_GT, OPR_GE,
  OPR_AND, OPR_OR, OPR_NONE
};
enum { OPR_NEG, OPR_NOT, OPR_LEN };

typedef struct TItem {
  struct TItem *next;
  Expr *key; /* NULL = positional */
  Expr *val;
} TItem;

typedef struct IfClause {
  struct IfClause *next;
  Expr *cond;
  Expr *val;
} IfClause;

typedef struct StrPart {
  struct StrPart *next;
  FStr *s;
} StrPart;

struct Expr {
  uint8_t k;
  uint8_t op;
  int line;
  Expr *next; /* in lists (arguments, expression lists) */
  Expr *a;
  union {
    Expr *b;
    Expr *args; /* E_CALL arguments, E_INTERP holes */
  };
  union {
    double n;
    FStr *s;      /* E_STRING, E_GLOBAL, E_CALL method name */
    Var *var;
    FuncNode *fn;
    TItem *items;
    IfClause *clauses;
    StrPart *parts;
  } v;
};

enum {
  S_LOCAL, S_LOCALFUNC, S_ASSIGN, S_COMPOUND, S_CALL, S_DO, S_WHILE, S_REPEAT, S_IF, S_NUMFOR, S_GENFOR,
  S_RETURN, S_BREAK, S_CONTINUE
};

typedef struct VarList {
  struct VarList *next;
  Var *var;
} VarList;

typedef struct IfPart {
  struct IfPart *next;
  Expr *cond;
  Block *block;
  int line;
} IfPart;

struct LoopNode {
  uint8_t hascap;   /* a local declared inside (same function) is captured */
  uint8_t isrepeat;
  int contline;     /* line of the first 'continue' targeting this loop, 0 if none */
  int contseq;      /* Var.seq counter at that continue */
  Block *body;
};

/* fields overlap by statement kind (anonymous unions keep the AST small) */
struct Stat {
  uint8_t k;
  uint8_t op; /* S_COMPOUND: OPR_* */
  int line;
  Stat *next;
  union {
    VarList *vars;  /* S_LOCAL, S_NUMFOR, S_GENFOR */
    Var *var;       /* S_LOCALFUNC */
    Expr *targets;  /* S_ASSIGN, S_COMPOUND (one), S_CALL (the call) */
    IfPart *parts;  /* S_IF */
    Expr *cond;     /* S_WHILE, S_REPEAT */
  };
  union {
    Expr *exprs;     /* values */
    FuncNode *fn;    /* S_LOCALFUNC */
    Block *elseblock; /* S_IF */
  };
  Block *block; /* body */
  LoopNode *loop;
  union {
    int nvars;
    int ntargets;
  };
  int nexprs;
};

struct Block {
  Stat *first;
  uint8_t hascap; /* a local declared directly in this block is captured */
};

struct FuncNode {
  FuncNode *parent;
  int depth;     /* 0 = main chunk */
  int line;
  uint8_t isvararg;
  int nparams;
  VarList *params;
  Block *body;
  FStr *name;    /* for tracebacks; NULL if anonymous */
};

/* ---- front-end context ---- */
struct Front {
  pal_State *L;
  const char *chunkname;
  size_t chunknamelen;
  int err;
  int errline;
  char errmsg[400];
  /* arena */
  ArenaChunk *chunks;
  char *aptr;
  size_t aleft;
  size_t chunksize;
  /* interned strings */
  FStr **strtab;
  uint32_t strsize, strcount;
  /* well-known names */
  FStr *n_continue, *n_type, *n_export, *n_const, *n_typeof, *n_read, *n_write, *n_self, *n_format,
      *n_native, *n_checked, *n_deprecated;
  Lexer lex;
  int varseq;
};

/* ---- shared helpers (lex.c) ---- */
void front_error(Front *F, int line, const char *fmt, ...);
void front_memerror(Front *F);
void *front_alloc(Front *F, size_t n); /* arena; zero-filled; NULL on failure (error set) */
FStr *front_intern(Front *F, const char *s, size_t len);
int front_init(Front *F, pal_State *L, const char *src, size_t len, const char *chunkname);
void front_free(Front *F);
void lex_next(Front *F);          /* advance: cur = next token */
int lex_peek(Front *F);           /* type of the token after cur */
const Token *lex_peektok(Front *F);
const char *lex_tokstr(Front *F, const Token *t, char *buf, size_t bufsz); /* for messages */
const char *lex_tokname(int t, char *buf, size_t bufsz); /* "'end'", "<eof>", ... */

/* ---- parse.c ---- */
FuncNode *parse_chunk(Front *F);

/* ---- compile.c ---- */
Proto *compile_main(Front *F, FuncNode *main);

#endif
