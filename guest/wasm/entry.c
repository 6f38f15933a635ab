/*
 * entry.c - the guest exports behind `palisade luau` (the CLI path), written against pal.h only.
 *
 *   pal_abi_version() -> i32                       the ABI version this guest was built for (1)
 *   pal_buf_alloc(size) -> ptr                     guest memory for the host to write into; 0 on failure
 *   pal_buf_free(ptr)                              free a pal_buf_alloc buffer (0 is ignored)
 *   pal_boot(budget_bytes) -> i32                  create the state (budget 0 = unlimited), open the libraries;
 *                                                  0 ok, 1 already booted, 3 out of memory
 *   pal_run_script(name, name_len, src, src_len)   run one script like the luau CLI does; returns
 *       -> i32                                     0 ok, 1 error, 2 aborted (fuel/time), 3 out of memory
 *   pal_mem_used() -> i64                          bytes held by the interpreter (pal_memused)
 *
 * pal_run_script drops a first line starting with "#!", loads the source with chunk name "@" + name, runs it in
 * a new thread with its own sandboxed globals and, on failure, writes to fd 2 what the luau CLI prints:
 * the message, "\nstacktrace:\n", then one "source:line function name" line per Luau frame.
 *
 * The native build (guest/native/) compiles this same file, so sanitizer and fuzz runs exercise this code; there
 * PAL_EXPORT expands to nothing. The event/syscall exports of the ABI live in separate files.
 */
#include <stdlib.h>
#include <string.h>

#include "abi_exports.h"
#include "guildvm_exports.h"
#include "host.h"
#include "pal.h"

#if defined(__wasm__)
#define PAL_EXPORT(name) __attribute__((export_name(name), visibility("default")))
#else
#define PAL_EXPORT(name)
#endif

enum { RUN_OK = 0, RUN_ERROR = 1, RUN_ABORTED = 2, RUN_NOMEM = 3 };

static pal_State *GL; /* main thread of the one interpreter state of this instance */

PAL_EXPORT("pal_abi_version") int32_t pal_abi_version(void) { return 1; }

PAL_EXPORT("pal_buf_alloc") void *pal_buf_alloc(int32_t size) {
  if (size < 0) return NULL;
  return malloc(size == 0 ? 1 : (size_t)size);
}

PAL_EXPORT("pal_buf_free") void pal_buf_free(void *p) { free(p); }

PAL_EXPORT("pal_boot") int32_t pal_boot(int32_t budget) {
  if (GL != NULL) return RUN_ERROR;
  GL = pal_newstate(budget > 0 ? (size_t)budget : 0);
  if (GL == NULL) return RUN_NOMEM;
  pal_openlibs(GL);
  if (pal_errpending(GL) == PAL_OK) pal_abi_attach(GL);     /* the syscall door and the event protocol (abi/SPEC.md) */
  if (pal_errpending(GL) == PAL_OK) pal_guildvm_install(GL); /* the template dispatcher (guildvm_exports.c) */
  if (pal_errpending(GL) != PAL_OK) {
    pal_close(GL);
    GL = NULL;
    return RUN_NOMEM;
  }
  return RUN_OK;
}

PAL_EXPORT("pal_mem_used") int64_t pal_mem_used(void) { return GL ? (int64_t)pal_memused(GL) : 0; }

static void put(const char *s, size_t n) {
  if (n > 0) pal_host_writeall(2, s, n);
}

static int statuscode(int status) {
  switch (status) {
  case PAL_OK: return RUN_OK;
  case PAL_ERRABORT: return RUN_ABORTED;
  case PAL_ERRMEM: return RUN_NOMEM;
  default: return RUN_ERROR;
  }
}

/* Report a failed script on fd 2 like the luau CLI: message, "\nstacktrace:\n", the Luau frames of T. */
static void report(pal_State *T, int status) {
  size_t len = 0;
  const char *msg = NULL;
  if (status == PAL_YIELD) {
    msg = "thread yielded unexpectedly";
    len = strlen(msg);
  } else if (pal_gettop(T) > 0 && pal_type(T, -1) == PAL_TSTRING) {
    msg = pal_tolstring(T, -1, &len);
  } else if (pal_gettop(T) > 0 && pal_type(T, -1) == PAL_TNUMBER) {
    msg = pal_tolstring(T, -1, &len); /* converts in place, like lua_tostring */
  }
  if (msg == NULL) len = 0;
  put(msg, len);
  put("\nstacktrace:\n", 13);
  pal_traceback(GL, T, NULL, 0);
  if (pal_type(GL, -1) == PAL_TSTRING) {
    size_t tl = 0;
    const char *tb = pal_tolstring(GL, -1, &tl);
    if (tb != NULL) put(tb, tl);
  }
  pal_pop(GL, 1);
}

PAL_EXPORT("pal_run_script")
int32_t pal_run_script(const char *name, int32_t name_len, const char *src, int32_t src_len) {
  if (GL == NULL || name_len < 0 || src_len < 0) return RUN_ERROR;
  size_t nlen = (size_t)name_len, slen = (size_t)src_len;

  /* the CLI's file loader drops a first line that starts with "#!" (keeping its newline, so lines still count) */
  if (slen >= 2 && src[0] == '#' && src[1] == '!') {
    size_t i = 0;
    while (i < slen && src[i] != '\n') i++;
    src += i;
    slen -= i;
  }

  char *chunk = malloc(nlen + 2);
  if (chunk == NULL) return RUN_NOMEM;
  chunk[0] = '@';
  memcpy(chunk + 1, name, nlen);
  chunk[nlen + 1] = '\0';

  int base = pal_gettop(GL);
  int result;
  pal_State *T = pal_newthread(GL); /* stays on GL's stack (reachable) while it runs */
  if (T == NULL || pal_errpending(GL) != PAL_OK) {
    result = RUN_NOMEM;
    put("not enough memory\n", 18);
  } else {
    pal_sandboxthread(T);
    int status = pal_errpending(T);
    if (status != PAL_OK) { /* sandboxing ran out of memory: make the pending error the reported value */
      pal_pusherror(T);
      pal_clearerror(T);
    } else {
      status = pal_load(T, chunk, src, slen);
    }
    if (status == PAL_OK) {
      int nres = 0;
      status = pal_resume(T, NULL, 0, &nres);
    }
    if (status == PAL_OK) {
      result = RUN_OK;
    } else {
      result = status == PAL_YIELD ? RUN_ERROR : statuscode(status);
      report(T, status);
    }
  }
  free(chunk);
  pal_clearerror(GL);
  pal_settop(GL, base);
  return result;
}
