/*
 * valcodec.h - the one binary encoding of Luau values across the wasm boundary (abi/SPEC.md §3).
 *
 * Uses pal.h only. Errors follow pal.h: a failing call sets a pending error and returns its status
 * (PAL_ERRRUN, PAL_ERRMEM, or PAL_ERRABORT when fuel ran out); the caller returns PAL_ERRSIG promptly.
 * Neither function runs Lua code: metatables are never consulted except to recognise the array metatable.
 */
#ifndef PAL_VALCODEC_H
#define PAL_VALCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pal.h"

#define PAL_VC_MAXBYTES ((size_t)4 << 20) /* abi.json limits.max_value_bytes */
#define PAL_VC_MAXDEPTH 64                /* abi.json limits.max_value_depth */

/* Wire tags. */
#define PAL_VC_NIL 0x00
#define PAL_VC_NULL 0x01
#define PAL_VC_FALSE 0x02
#define PAL_VC_TRUE 0x03
#define PAL_VC_INT 0x04
#define PAL_VC_FLOAT 0x05
#define PAL_VC_STRING 0x06
#define PAL_VC_BUFFER 0x07
#define PAL_VC_LIST 0x08
#define PAL_VC_MAP 0x09

/* Registry field holding the array metatable (interop.array_metatable). */
#define PAL_VC_ARRAYMT_KEY "palisade.array_mt"

typedef struct pal_VcLimits {
  size_t max_bytes; /* 0 = PAL_VC_MAXBYTES */
  int max_depth;    /* 0 = PAL_VC_MAXDEPTH; capped at PAL_VC_MAXDEPTH */
} pal_VcLimits;

/* Encode the value at idx. Always pushes exactly one value: on success a buffer whose first *len bytes are the
   encoding (the buffer may be longer), on failure nil (with the error pending). Returns PAL_OK or an error status.
   lim may be NULL for the defaults. */
int pal_valcodec_encode(pal_State *L, int idx, const pal_VcLimits *lim, size_t *len);

/* Decode exactly n bytes at p into one value and push it (nil plus a pending error on failure). p must not point
   into memory the decoder could move (it allocates only new objects, and the GC does not run inside it). */
int pal_valcodec_decode(pal_State *L, const uint8_t *p, size_t n, const pal_VcLimits *lim);

/* Push the array metatable, creating it (read-only, held in the registry) on first use. */
void pal_valcodec_pusharraymt(pal_State *L);

/* 1 if the value at idx is a table whose metatable is the array metatable. */
int pal_valcodec_isarray(pal_State *L, int idx);

/* Push interop.null (the light userdata NULL). */
#define pal_valcodec_pushnull(L) pal_pushlightuserdata((L), NULL)

#endif
