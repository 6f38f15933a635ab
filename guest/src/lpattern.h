/*
 * lpattern.h - Luau string pattern matcher over byte strings (pure C, no interpreter dependency).
 *
 * Used by strlib.c (find/match/gmatch/gsub). Errors never unwind: a failing call returns NULL with
 * ms->status set to LPAT_ERROR (message in ms->errmsg) or LPAT_ABORT (the fuel callback refused).
 * A NULL return with ms->status == LPAT_OK simply means "no match".
 */
#ifndef LPATTERN_H
#define LPATTERN_H

#include <stddef.h>
#include <stdint.h>

#define LPAT_MAXCAPTURES 32
#define LPAT_MAXDEPTH 200   /* nested matching steps before "pattern too complex" */
#define LPAT_FUELBATCH 256  /* steps accumulated before the fuel callback is called */

#define LPAT_CAP_UNFINISHED (-1)
#define LPAT_CAP_POSITION (-2)

#define LPAT_FIRST_NONE 0
#define LPAT_FIRST_CHAR 1
#define LPAT_FIRST_CLASS 2
#define LPAT_FIRST_SET 3

#define LPAT_OK 0
#define LPAT_ERROR 1
#define LPAT_ABORT 2

/* Called with a number of matching steps; return nonzero to abort matching. */
typedef int (*lpat_FuelFn)(void *ud, int64_t units);

typedef struct lpat_Capture {
  const char *init;
  ptrdiff_t len; /* >= 0, or LPAT_CAP_UNFINISHED / LPAT_CAP_POSITION */
} lpat_Capture;

/* What lpat_prepare found out about a pattern; positions are offsets from the pattern's start, so that it can
   be kept with the pattern and restored into a later state (gmatch's iterator does). */
typedef struct lpat_Prep {
  uint8_t kind;   /* LPAT_FIRST_*: what a match must start with */
  uint8_t single; /* the pattern is its first item alone (1) or followed by '+' (2); else 0 */
  uint8_t c;      /* LPAT_FIRST_CHAR: that byte */
  uint16_t info;  /* LPAT_FIRST_CLASS: class bits (lpattern.c) */
  uint32_t p, ep; /* the first item's class [p, ep) (LPAT_FIRST_SET: the set) */
} lpat_Prep;

typedef struct lpat_State {
  const char *src, *src_end; /* subject */
  const char *pat_end;       /* end of the pattern */
  int depth;                 /* remaining nesting allowance */
  int level;                 /* captures in use */
  uint32_t unfinished;       /* bit i set: capture i is open (its len is LPAT_CAP_UNFINISHED) */
  int status;
  int64_t steps;             /* steps not yet charged */
  const char *pat;           /* the pattern's start (lpat_prepare) */
  lpat_Prep first;           /* lpat_prepare's findings (none after lpat_init) */
  lpat_FuelFn fuel;
  void *fuel_ud;
  char errmsg[64];
  lpat_Capture cap[LPAT_MAXCAPTURES];
} lpat_State;

/* Prepare a state for subject s[0..ls) and pattern ending at pat_end. fuel may be NULL. */
void lpat_init(lpat_State *ms, const char *s, size_t ls, const char *pat_end, lpat_FuelFn fuel, void *ud);
/* Reset captures and depth before a new match attempt. */
void lpat_reset(lpat_State *ms);
/* Try to match the pattern starting at p against the subject at s. Returns the end of the match or NULL. */
const char *lpat_match(lpat_State *ms, const char *s, const char *p);
/* Optional, after lpat_init, for unanchored scans: find out from the pattern p what byte class every match
   must start with, so that lpat_nextstart can pass over start positions where lpat_match would fail at once.
   Sets ms->pat and ms->first; setting both from an earlier lpat_prepare of the same pattern is equivalent. */
void lpat_prepare(lpat_State *ms, const char *p);
/* The first position >= s (<= src_end) where a match may start; src_end when none can (an attempt there fails).
   Each position passed over is counted as one step, like the failed attempt it replaces. */
const char *lpat_nextstart(lpat_State *ms, const char *s);
/* An unanchored search (anchor 0) or a single anchored attempt (anchor 1) from s (<= src_end): lpat_nextstart,
   lpat_reset and lpat_match in one loop. Returns the end of the first match, with its start in *start, or NULL
   (no match, or ms->status says why matching stopped). */
const char *lpat_find(lpat_State *ms, const char *s, const char *p, int anchor, const char **start);
/* Charge the steps not yet charged; returns 0 or nonzero (status becomes LPAT_ABORT). */
int lpat_flushfuel(lpat_State *ms);

/* Result i (0-based) of a successful match [s, e). With no captures, i == 0 is the whole match.
   Returns 0 = string (*ptr, *len), 1 = position (*pos, 1-based), -1 = error (status/errmsg set). */
int lpat_capture(lpat_State *ms, int i, const char *s, const char *e, const char **ptr, size_t *len, size_t *pos);
/* Number of results a successful match produces (captures, or 1 for the whole match). */
int lpat_nresults(const lpat_State *ms, int wholeifnone);

/* 1 if the pattern contains none of the special characters ^$*+?.([%- */
int lpat_nospecials(const char *p, size_t lp);
/* Plain substring search; returns a pointer into s or NULL. */
const char *lpat_memfind(const char *s, size_t ls, const char *p, size_t lp);

#endif
