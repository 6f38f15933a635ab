/*
 * host.h - what the interpreter needs from whoever embeds it.
 *
 * In the wasm build these are imports of the versioned module "palisade_v1" (see abi/); in the native build
 * (tests, sanitizers, fuzzing) guest/native/host_native.c implements them. Nothing else in the interpreter
 * touches the outside world: no files, no processes, no network, no WASI calls.
 */
#ifndef PAL_HOST_H
#define PAL_HOST_H

#include <stddef.h>
#include <stdint.h>

#if defined(__wasm__)
#define PAL_IMPORT(name) __attribute__((import_module("palisade_v1"), import_name(name)))
#else
#define PAL_IMPORT(name)
#endif

/* The guest ran out of fuel. Returns the new fuel (> 0) to continue, or <= 0 to abort the running event:
   the interpreter then raises the uncatchable PAL_ERRABORT "Script execution time limit exceeded". */
PAL_IMPORT("fuel") int64_t pal_host_fuel(void);

/* Output: fd 1 = standard output (print), 2 = standard error / diagnostics. */
PAL_IMPORT("write") void pal_host_write(int32_t fd, const char *p, size_t n);

/* The host reads at most this many bytes per write call (abi/abi.json max_write_bytes); longer output is split. */
#define PAL_HOST_WRITE_MAX 65536
static inline void pal_host_writeall(int32_t fd, const char *p, size_t n) {
  while (n > 0) {
    size_t k = n < PAL_HOST_WRITE_MAX ? n : PAL_HOST_WRITE_MAX;
    pal_host_write(fd, p, k);
    p += k;
    n -= k;
  }
}

/* Clocks: 0 = monotonic seconds (os.clock), 1 = Unix time in seconds (os.time / os.date). */
PAL_IMPORT("now") double pal_host_now(int32_t clock);

#endif
