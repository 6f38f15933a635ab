/*
 * abi_exports.c - the event protocol and the syscall door, guest side (abi/SPEC.md §4.3 and §5). pal.h only.
 *
 *   pal_abi_mailbox() -> i32                                   address of the 32-byte step mailbox
 *   pal_event_start(event_id, name, name_len, data, data_len) -> i32 step
 *   pal_event_resume(call_id, status, data, data_len) -> i32 step
 *   pal_event_cancel(event_id) -> i32 step
 *
 * Embedding (C): pal_boot calls pal_abi_attach(L) once the state is open; the SDK prelude installs the event
 * dispatcher with pal_abi_setdispatch (a function called as dispatch(name, data, event_id) in the event's own
 * coroutine). The raw door is the C function in the registry field "palisade.syscall":
 *     __syscall(op: string, arg: any) -> (ok: boolean, value_or_message)
 * Synchronous ops return at once. Asynchronous ops yield the calling coroutine with (PAL_ABI_MARK, call_id); the
 * event coroutine parks, the export returns PENDING, and pal_event_resume later resumes it with (ok, value), which
 * become __syscall's results (pal_yield from a C function: the resume values are the function's results).
 * Registry fields used: palisade.syscall, palisade.dispatch, palisade.events (event_id -> thread),
 * palisade.calls (call_id -> thread), palisade.callev (call_id -> event_id), palisade.result (the last
 * result buffer, kept alive until the next export call).
 */
#include <stdint.h>
#include <string.h>

#include "abi_exports.h"
#include "host.h"
#include "pal.h"
#include "valcodec.h"

#if defined(__wasm__)
#define PAL_EXPORT(name) __attribute__((export_name(name), visibility("default")))
#else
#define PAL_EXPORT(name)
#endif

/* syscall status (high 32 bits of the import's result) and step codes: abi.json */
enum { SYS_OK = 0, SYS_ERROR = 1, SYS_PENDING = 2, SYS_PARKED = 3 };
enum { STEP_DONE = 0, STEP_FAILED = 1, STEP_PENDING = 2, STEP_IDLE = 3 };
enum { STEP_E_NOTBOOTED = -1, STEP_E_BADCALL = -2, STEP_E_NOMEM = -3, STEP_E_BADPAYLOAD = -4 };
#define MAX_EVENT_NAME 128
#define SCRATCH_BYTES 16384

#if defined(__wasm__)
PAL_IMPORT("syscall")
int64_t pal_host_syscall(const char *op, size_t op_len, const uint8_t *arg, size_t arg_len, uint8_t *out, size_t out_cap);
#else
/* Native builds (tests, fuzzing): a test may plug in a fake host. Without one every op is unknown. */
int64_t (*pal_abi_native_syscall)(const char *op, size_t op_len, const uint8_t *arg, size_t arg_len, uint8_t *out,
                                  size_t out_cap);
static int64_t pal_host_syscall(const char *op, size_t op_len, const uint8_t *arg, size_t arg_len, uint8_t *out,
                                size_t out_cap) {
  if (pal_abi_native_syscall) return pal_abi_native_syscall(op, op_len, arg, arg_len, out, out_cap);
  return (int64_t)((uint64_t)(uint32_t)-2 << 32);
}
#endif

static const char MARK = 0; /* first value of a syscall yield */
static pal_State *AL;       /* the booted main thread */
static uint32_t mailbox[8];
static uint8_t scratch[SCRATCH_BYTES]; /* out buffer for synchronous answers */

int pal_abi_is_syscall_yield(pal_State *L, int idx) {
  return pal_type(L, idx) == PAL_TLIGHTUSERDATA && pal_touserdata(L, idx) == (void *)&MARK;
}

/* ------------------------------------------------------------------ the door, as seen from Luau */

static int push_message(pal_State *L, const uint8_t *p, uint32_t n, int32_t status) {
  pal_pushboolean(L, 0);
  if (n > 0 && pal_valcodec_decode(L, p, n, NULL) == PAL_OK && pal_type(L, -1) == PAL_TSTRING) return 2;
  pal_clearerror(L);
  pal_pop(L, 1);
  pal_pushfstring(L, "syscall failed (status %d)", (int)status);
  return 2;
}

static int l_syscall(pal_State *L) {
  size_t oplen, alen;
  const char *op = pal_checklstring(L, 1, &oplen);
  const uint8_t *arg;
  uint8_t *out = scratch;
  int64_t r;
  int32_t status;
  uint32_t low;
  if (pal_errpending(L)) return PAL_ERRSIG;
  if (pal_valcodec_encode(L, 2, NULL, &alen) != PAL_OK) return PAL_ERRSIG;
  arg = pal_tobuffer(L, -1, NULL);
  r = pal_host_syscall(op, oplen, arg, alen, scratch, sizeof scratch);
  status = (int32_t)(r >> 32);
  low = (uint32_t)r;
  if (status == SYS_PARKED) { /* the answer did not fit: fetch it with "$take" */
    static const uint8_t nil = PAL_VC_NIL;
    out = pal_newbuffer(L, low);
    if (out == NULL || pal_errpending(L)) return PAL_ERRSIG;
    r = pal_host_syscall("$take", 5, &nil, 1, out, low);
    status = (int32_t)(r >> 32);
    low = (uint32_t)r;
  }
  switch (status) {
    case SYS_OK:
      pal_pushboolean(L, 1);
      if (pal_valcodec_decode(L, out, low, NULL) != PAL_OK) return PAL_ERRSIG;
      return 2;
    case SYS_PENDING:
      pal_settop(L, 0);
      pal_pushlightuserdata(L, (void *)&MARK);
      pal_pushnumber(L, (double)low);
      return pal_yield(L, 2);
    default:
      return push_message(L, out, status == SYS_PARKED ? 0 : low, status);
  }
}

/* ------------------------------------------------------------------ setup */

static void reg_table(pal_State *L, const char *key) {
  if (pal_rawgetfield(L, PAL_REGISTRYINDEX, key) != PAL_TTABLE) {
    pal_pop(L, 1);
    pal_newtable(L);
    pal_pushvalue(L, -1);
    pal_rawsetfield(L, PAL_REGISTRYINDEX, key);
  }
}

void pal_abi_attach(pal_State *L) {
  AL = pal_mainthread(L);
  reg_table(AL, "palisade.events");
  reg_table(AL, "palisade.calls");
  reg_table(AL, "palisade.callev");
  pal_pop(AL, 3);
  pal_valcodec_pusharraymt(AL);
  pal_pop(AL, 1);
  pal_pushcfunction(AL, l_syscall, "__syscall");
  pal_rawsetfield(AL, PAL_REGISTRYINDEX, "palisade.syscall");
}

void pal_abi_setdispatch(pal_State *L) { pal_rawsetfield(L, PAL_REGISTRYINDEX, "palisade.dispatch"); }

/* ------------------------------------------------------------------ exports */

PAL_EXPORT("pal_abi_mailbox") int32_t pal_abi_mailbox(void) { return (int32_t)(uintptr_t)mailbox; }

static int32_t step(int32_t code, uint32_t event_id, uint32_t call_id, const uint8_t *data, size_t len, int32_t err) {
  mailbox[0] = (uint32_t)code;
  mailbox[1] = event_id;
  mailbox[2] = call_id;
  mailbox[3] = (uint32_t)(uintptr_t)data;
  mailbox[4] = (uint32_t)len;
  mailbox[5] = (uint32_t)err;
  mailbox[6] = AL != NULL ? pal_memrefusals(AL) : 0;
  mailbox[7] = 0;
  return code;
}

/* Encode the value on top of L as the step's data (kept alive in the registry); pops it. */
static int32_t step_value(pal_State *L, int32_t code, uint32_t event_id, int32_t err) {
  size_t len;
  const uint8_t *p;
  if (pal_valcodec_encode(L, -1, NULL, &len) != PAL_OK) {
    /* the result itself cannot cross: report that as the event's error */
    int st = pal_errpending(L);
    pal_pop(L, 2);
    pal_pusherror(L);
    pal_clearerror(L);
    if (pal_type(L, -1) != PAL_TSTRING) {
      pal_pop(L, 1);
      pal_pushstring(L, "event result cannot be encoded");
    }
    if (pal_valcodec_encode(L, -1, NULL, &len) != PAL_OK) {
      pal_clearerror(L);
      pal_pop(L, 2);
      return step(STEP_E_NOMEM, event_id, 0, NULL, 0, PAL_ERRMEM);
    }
    code = STEP_FAILED;
    err = st == PAL_ERRMEM ? PAL_ERRMEM : PAL_ERRRUN;
  }
  p = pal_tobuffer(L, -1, NULL);
  pal_rawsetfield(L, PAL_REGISTRYINDEX, "palisade.result"); /* keeps p alive until the next export call */
  pal_pop(L, 1);
  return step(code, event_id, 0, p, len, err);
}

static void forget_event(pal_State *L, uint32_t event_id) {
  reg_table(L, "palisade.events");
  pal_pushnil(L);
  pal_rawseti(L, -2, event_id);
  pal_pop(L, 1);
}

/* Run co (nargs values on its stack) until it parks, finishes or fails. */
static int32_t run(pal_State *co, uint32_t event_id, int nargs) {
  pal_State *L = AL;
  int nres = 0, st;
  for (;;) {
    st = pal_resume(co, NULL, nargs, &nres);
    if (st != PAL_YIELD) break;
    if (nres >= 2 && pal_abi_is_syscall_yield(co, -nres)) {
      uint32_t call_id = (uint32_t)pal_tonumber(co, -nres + 1);
      pal_pop(co, nres);
      reg_table(L, "palisade.calls");
      pal_pushthread(co);
      pal_xmove(co, L, 1);
      pal_rawseti(L, -2, call_id);
      pal_pop(L, 1);
      reg_table(L, "palisade.callev");
      pal_pushnumber(L, event_id);
      pal_rawseti(L, -2, call_id);
      pal_pop(L, 1);
      if (pal_errpending(L)) {
        pal_clearerror(L);
        return step(STEP_E_NOMEM, event_id, call_id, NULL, 0, PAL_ERRMEM);
      }
      return step(STEP_PENDING, event_id, call_id, NULL, 0, 0);
    }
    /* a plain coroutine.yield() in the event thread: resume it at once (fuel bounds a yield loop) */
    pal_pop(co, nres);
    nargs = 0;
    if (pal_chargefuel(co, 1)) {
      st = pal_errpending(co);
      pal_pusherror(co);
      pal_clearerror(co);
      break;
    }
  }
  if (event_id) forget_event(L, event_id);
  if (st == PAL_OK) {
    if (nres == 0) {
      pal_pushnil(L);
    } else if (nres == 1) {
      pal_xmove(co, L, 1);
    } else {
      int i;
      pal_createtable(L, nres, 0);
      pal_valcodec_pusharraymt(L);
      pal_setmetatable(L, -2);
      pal_xmove(co, L, nres);
      for (i = nres; i >= 1; i--) pal_rawseti(L, -1 - i, i);
    }
    return step_value(L, event_id ? STEP_DONE : STEP_IDLE, event_id, 0);
  }
  /* failed: the error value is on top of co's stack */
  pal_xmove(co, L, 1);
  if (pal_type(L, -1) != PAL_TSTRING) {
    const char *tn = pal_typeof(L, -1);
    pal_pop(L, 1);
    pal_pushfstring(L, "error object is a %s value", tn ? tn : "non-string");
  }
  if (!event_id) { /* a background thread died: report on stderr, nothing to deliver */
    size_t n;
    const char *m = pal_tolstring(L, -1, &n);
    if (m) pal_host_write(2, m, n);
    pal_pop(L, 1);
    return step(STEP_IDLE, 0, 0, NULL, 0, st);
  }
  return step_value(L, STEP_FAILED, event_id, st);
}

/* Called at the start of every export, where no interpreter frame is active (a safe point for pal_gc). The VM's
   own collector may not run often enough when events are short, so collect when the heap doubled since the last
   collection here (measured: 20000 short events grew the heap to 27 MB without this; a full collection took it
   back to 25 KB). */
static size_t gc_base;

static void clear_result(void) {
  size_t used = pal_memused(AL);
  if (used > 2 * gc_base + (256u << 10)) {
    pal_gc(AL);
    gc_base = pal_memused(AL);
  }
  pal_pushnil(AL);
  pal_rawsetfield(AL, PAL_REGISTRYINDEX, "palisade.result");
}

PAL_EXPORT("pal_event_start")
int32_t pal_event_start(int32_t event_id, const char *name, int32_t name_len, const uint8_t *data, int32_t data_len) {
  pal_State *L = AL, *co;
  int top;
  if (!L) return step(STEP_E_NOTBOOTED, (uint32_t)event_id, 0, NULL, 0, 0);
  clear_result();
  if (event_id == 0 || name_len < 0 || name_len > MAX_EVENT_NAME || data_len < 0)
    return step(STEP_E_BADCALL, (uint32_t)event_id, 0, NULL, 0, 0);
  top = pal_gettop(L);
  reg_table(L, "palisade.events");
  if (pal_rawgeti(L, -1, (uint32_t)event_id) != PAL_TNIL) {
    pal_settop(L, top);
    return step(STEP_E_BADCALL, (uint32_t)event_id, 0, NULL, 0, 0);
  }
  pal_pop(L, 1);
  if (pal_rawgetfield(L, PAL_REGISTRYINDEX, "palisade.dispatch") != PAL_TFUNCTION) {
    pal_settop(L, top);
    pal_pushstring(L, "no event dispatcher installed");
    return step_value(L, STEP_FAILED, (uint32_t)event_id, PAL_ERRRUN);
  }
  co = pal_newthread(L); /* stack: events, dispatch, co */
  if (co == NULL || pal_errpending(L)) {
    pal_clearerror(L);
    pal_settop(L, top);
    return step(STEP_E_NOMEM, (uint32_t)event_id, 0, NULL, 0, PAL_ERRMEM);
  }
  pal_pushvalue(L, -1);
  pal_rawseti(L, -4, (uint32_t)event_id); /* events[event_id] = co: anchors it */
  pal_pushvalue(L, -2);
  pal_xmove(L, co, 1); /* the dispatcher */
  pal_settop(L, top);
  pal_pushlstring(co, name, (size_t)name_len);
  if (pal_valcodec_decode(co, data, (size_t)data_len, NULL) != PAL_OK) {
    int st = pal_errpending(co);
    forget_event(L, (uint32_t)event_id);
    pal_pusherror(co);
    pal_clearerror(co);
    pal_xmove(co, L, 1);
    if (st == PAL_ERRMEM) {
      pal_pop(L, 1);
      return step(STEP_E_NOMEM, (uint32_t)event_id, 0, NULL, 0, PAL_ERRMEM);
    }
    return step_value(L, STEP_E_BADPAYLOAD, (uint32_t)event_id, st);
  }
  pal_pushnumber(co, (double)(uint32_t)event_id);
  return run(co, (uint32_t)event_id, 3);
}

PAL_EXPORT("pal_event_resume")
int32_t pal_event_resume(int32_t call_id, int32_t status, const uint8_t *data, int32_t data_len) {
  pal_State *L = AL, *co;
  uint32_t event_id;
  int top;
  if (!L) return step(STEP_E_NOTBOOTED, 0, (uint32_t)call_id, NULL, 0, 0);
  clear_result();
  if (call_id == 0 || data_len < 0 || (status != 0 && status != 1))
    return step(STEP_E_BADCALL, 0, (uint32_t)call_id, NULL, 0, 0);
  top = pal_gettop(L);
  reg_table(L, "palisade.calls");
  if (pal_rawgeti(L, -1, (uint32_t)call_id) != PAL_TTHREAD) {
    pal_settop(L, top);
    return step(STEP_E_BADCALL, 0, (uint32_t)call_id, NULL, 0, 0);
  }
  co = pal_tothread(L, -1);
  /* keep co reachable through the events table (event threads) or the stack of L while it runs */
  pal_pushnil(L);
  pal_rawseti(L, -3, (uint32_t)call_id);
  reg_table(L, "palisade.callev");
  pal_rawgeti(L, -1, (uint32_t)call_id);
  event_id = (uint32_t)pal_tonumber(L, -1);
  pal_pop(L, 1);
  pal_pushnil(L);
  pal_rawseti(L, -2, (uint32_t)call_id);
  pal_settop(L, top);
  pal_pushboolean(co, status == 0);
  if (pal_valcodec_decode(co, data, (size_t)data_len, NULL) != PAL_OK) {
    /* a malformed result becomes an error inside the script, not a host failure */
    pal_pop(co, 2);
    pal_clearerror(co);
    pal_pushboolean(co, 0);
    pal_pushstring(co, "host returned a malformed result");
  }
  return run(co, event_id, 2);
}

PAL_EXPORT("pal_event_cancel") int32_t pal_event_cancel(int32_t event_id) {
  pal_State *L = AL, *co;
  int top;
  if (!L) return step(STEP_E_NOTBOOTED, (uint32_t)event_id, 0, NULL, 0, 0);
  clear_result();
  top = pal_gettop(L);
  reg_table(L, "palisade.events");
  if (event_id == 0 || pal_rawgeti(L, -1, (uint32_t)event_id) != PAL_TTHREAD) {
    pal_settop(L, top);
    return step(STEP_E_BADCALL, (uint32_t)event_id, 0, NULL, 0, 0);
  }
  co = pal_tothread(L, -1);
  /* forget the calls this thread waits on */
  reg_table(L, "palisade.calls");
  pal_pushnil(L);
  while (pal_next(L, -2)) {
    if (pal_tothread(L, -1) == co) {
      pal_pop(L, 1);
      pal_pushvalue(L, -1);
      pal_pushnil(L);
      pal_rawset(L, -4);
    } else {
      pal_pop(L, 1);
    }
  }
  pal_resetthread(co);
  pal_clearerror(co);
  pal_settop(L, top);
  forget_event(L, (uint32_t)event_id);
  pal_pushstring(L, "event cancelled by the host");
  return step_value(L, STEP_FAILED, (uint32_t)event_id, PAL_ERRRUN);
}
