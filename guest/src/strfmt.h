/*
 * strfmt.h - string.format engine (pure C, no interpreter dependency). strlib.c supplies the callbacks.
 */
#ifndef STRFMT_H
#define STRFMT_H

#include <stddef.h>
#include <stdint.h>

#define STRFMT_OK 0
#define STRFMT_ERROR 1    /* format error, message in err */
#define STRFMT_CBFAIL 2   /* a callback failed (its error is already reported) */

/* what the engine needs for argument n (n counts the format string as #1) */
#define STRFMT_ARGNUM 'n' /* a number: *num */
#define STRFMT_ARGSTR 's' /* a string (numbers converted): *s, *len */
#define STRFMT_ARGANY '*' /* tostring of any value: *s, *len */

/* An argument the caller could read without conversion or side effects (numbers as numbers, strings as strings),
   so that the engine need not call io->arg for it. */
typedef struct StrFmtArg {
  int kind;      /* STRFMT_ARGNUM (num is set), STRFMT_ARGSTR (s and len are set), or 0: ask io->arg */
  double num;
  const char *s;
  size_t len;
} StrFmtArg;

typedef struct StrFmtIO {
  void *ud;
  int nargs; /* number of arguments INCLUDING the format string */
  /* args[i] describes argument i + 2 for i < nfast (nfast may be 0). io->arg is called for every argument that
     does not have the kind the conversion wants (and for every %*), in the order of the format string. */
  const StrFmtArg *args;
  int nfast;
  /* Output, in order. The last call has last = 1 (possibly with n = 0) and follows every other one; a format
     error or failed callback ends the output without it. 0 ok, nonzero stop. */
  int (*put)(void *ud, const char *p, size_t n, int last);
  int (*arg)(void *ud, int n, int kind, double *num, const char **s, size_t *len); /* 0 ok, nonzero stop */
} StrFmtIO;

/* Format fmt[0..len) into io->put; fmt[len] must be '\0' (as after every Luau string: the scans use it as their
   end). Returns STRFMT_OK, STRFMT_ERROR (err filled) or STRFMT_CBFAIL. */
int strfmt_format(const char *fmt, size_t len, const StrFmtIO *io, char *err, size_t errsz);

/* Conversions used by %d and %x-style: truncation toward zero; NaN/out of range give INT64_MIN. */
int64_t strfmt_toint64(double v);
uint64_t strfmt_touint64(double v);

#endif
