/*
 * host_native.h - knobs of the native implementation of host.h (host_native.c), used by the native CLI
 * (main.c), the C unit tests and the fuzz targets.
 */
#ifndef PAL_HOST_NATIVE_H
#define PAL_HOST_NATIVE_H

#include <stdint.h>

/* Total fuel one process may use (0 = unlimited). Fuel is handed out in chunks of PAL_NATIVE_FUEL_CHUNK. */
void pal_native_set_fuel_limit(int64_t total);
/* Wall-clock limit in seconds from now (<= 0 = none), checked at each refill. */
void pal_native_set_timeout(double seconds);
/* Fuel handed out so far. */
int64_t pal_native_fuel_used(void);
/* Silence fd 1 output (fuzzing). */
void pal_native_set_quiet(int quiet);

#define PAL_NATIVE_FUEL_CHUNK 100000

/* The guest exports of guest/wasm/entry.c, callable directly in the native build. */
int32_t pal_abi_version(void);
void *pal_buf_alloc(int32_t size);
void pal_buf_free(void *p);
int32_t pal_boot(int32_t budget);
int32_t pal_run_script(const char *name, int32_t name_len, const char *src, int32_t src_len);
int64_t pal_mem_used(void);

#endif
