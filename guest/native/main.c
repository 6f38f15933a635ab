/*
 * main.c - luau-native: the interpreter as a native program, for fast tests, sanitizer runs and benchmarks.
 *
 *   luau-native [--mem BYTES] [--fuel N] [--timeout SECONDS] [--mem-used] FILE...
 *
 * Behaves like `palisade luau` (same entry code, guest/wasm/entry.c): each FILE runs in its own sandboxed
 * thread of one interpreter state; print goes to stdout; errors go to stderr as "file:line: message",
 * "stacktrace:" and the Luau frames. Exit status 1 when any file failed, 2 on bad usage.
 * --mem is the interpreter's memory budget (default 3 MiB, 0 = unlimited; suffixes K, M, KiB, MiB accepted),
 * --fuel the total fuel (about one unit per bytecode instruction; 0 = unlimited), --mem-used prints the bytes
 * held by a freshly booted state to stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_native.h"

static void usage(void) {
  fprintf(stderr, "usage: luau-native [--mem BYTES] [--fuel N] [--timeout SECONDS] [--mem-used] FILE...\n");
  exit(2);
}

static long long parse_size(const char *s) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || v < 0) usage();
  if (*end == 'k' || *end == 'K') {
    v *= 1024, end++;
  } else if (*end == 'm' || *end == 'M') {
    v *= 1024 * 1024, end++;
  } else if (*end == 'g' || *end == 'G') {
    v *= 1024.0 * 1024 * 1024, end++;
  }
  if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0) end += strlen(end);
  if (*end != '\0' || v > 2147483647.0) usage();
  return (long long)v;
}

static char *read_file(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    char *nb = realloc(buf, cap * 2);
    if (nb == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  if (ferror(f) || n > 0x7fffffff) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (long)n;
  return buf;
}

int main(int argc, char **argv) {
  long long mem = 3 << 20;
  int i, failed = 0, nfiles = 0, show_mem = 0;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mem") == 0 && i + 1 < argc) {
      mem = parse_size(argv[++i]);
    } else if (strcmp(argv[i], "--fuel") == 0 && i + 1 < argc) {
      pal_native_set_fuel_limit(strtoll(argv[++i], NULL, 10));
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      pal_native_set_timeout(strtod(argv[++i], NULL));
    } else if (strcmp(argv[i], "--mem-used") == 0) {
      show_mem = 1;
    } else if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      usage();
    } else {
      break;
    }
  }
  nfiles = argc - i;
  if (nfiles == 0 && !show_mem) usage();

  int rc = pal_boot((int32_t)mem);
  if (rc != 0) {
    fprintf(stderr, "luau-native: cannot create the interpreter state (status %d)\n", rc);
    return 1;
  }
  if (show_mem) fprintf(stderr, "mem_used %lld\n", (long long)pal_mem_used());

  for (; i < argc; i++) {
    long len = 0;
    char *src = read_file(argv[i], &len);
    if (src == NULL) {
      fprintf(stderr, "Error opening %s\n", argv[i]);
      failed++;
      continue;
    }
    if (pal_run_script(argv[i], (int32_t)strlen(argv[i]), src, (int32_t)len) != 0) failed++;
    free(src);
  }
  fflush(stdout);
  return failed ? 1 : 0;
}
