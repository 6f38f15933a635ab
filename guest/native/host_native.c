/*
 * host_native.c - the three host hooks of host.h for native builds (CLI, sanitizers, unit tests, fuzzing):
 * output to stdout/stderr, fuel handed out in chunks up to an optional total and deadline, clocks from
 * clock_gettime. The wasm build gets the same hooks from the Go host (host/sandbox) as palisade_v1 imports.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "host.h"
#include "host_native.h"

static int64_t fuel_limit;  /* 0 = unlimited */
static int64_t fuel_used;
static double deadline;     /* monotonic seconds; 0 = none */
static int quiet;

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void pal_native_set_fuel_limit(int64_t total) { fuel_limit = total > 0 ? total : 0; }
void pal_native_set_timeout(double seconds) { deadline = seconds > 0 ? mono() + seconds : 0; }
int64_t pal_native_fuel_used(void) { return fuel_used; }
void pal_native_set_quiet(int q) { quiet = q; }

int64_t pal_host_fuel(void) {
  int64_t chunk = PAL_NATIVE_FUEL_CHUNK;
  if (deadline > 0 && mono() > deadline) return 0;
  if (fuel_limit > 0) {
    if (fuel_used >= fuel_limit) return 0;
    if (fuel_limit - fuel_used < chunk) chunk = fuel_limit - fuel_used;
  }
  fuel_used += chunk;
  return chunk;
}

void pal_host_write(int32_t fd, const char *p, size_t n) {
  if (p == NULL || n == 0) return;
  if (fd == 1) {
    if (!quiet) fwrite(p, 1, n, stdout);
  } else if (fd == 2) {
    fflush(stdout);
    fwrite(p, 1, n, stderr);
    fflush(stderr);
  }
}

double pal_host_now(int32_t clock) {
  struct timespec ts;
  if (clock == 0) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
  } else if (clock == 1) {
    clock_gettime(CLOCK_REALTIME, &ts);
  } else {
    return NAN;
  }
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
