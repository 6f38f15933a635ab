/*
 * mock.c - a stand-in guest for host/guildvm's tests: it implements the ABI v1 exports and the event protocol
 * of abi/SPEC.md §5 exactly, but instead of a Luau interpreter each event name is a command:
 *
 *   echo        DONE with the event data unchanged
 *   count       DONE with INT(++counter) (per-instance state; 0 in the snapshot)
 *   spin        loop forever, charging fuel; ends FAILED "Script execution time limit exceeded" (status 6)
 *   work        data INT n: charge n units of fuel in a loop, DONE with INT n
 *   alloc       allocate 64 KiB blocks under the budget until refused: FAILED "not enough memory" (status 4)
 *   grow        allocate outside the budget until malloc returns NULL (page ceiling): FAILED status 4
 *   trap        wasm unreachable
 *   deep        unbounded C recursion (shadow stack overflow traps with --stack-first)
 *   call        async syscall "test.async"(data): PENDING, then DONE/FAILED with the resumed value
 *   sync        sync syscall "test.sync"(data): DONE with the answer
 *   trapcancel  like call, and from now on pal_event_cancel traps (wasm unreachable)
 *   print       write(1, data)
 *   $budget     data INT n: set the memory budget
 *
 * Build: clang-19 --target=wasm32-wasi --sysroot=/usr -O2 -g0 -mexec-model=reactor -Wl,--stack-first
 *        -Wl,--export=__stack_pointer -Wl,--strip-debug -o ../mock.wasm mock.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IMP(n) __attribute__((import_module("palisade_v1"), import_name(n)))
#define EXP(n) __attribute__((export_name(n), visibility("default")))

IMP("fuel") int64_t host_fuel(void);
IMP("write") void host_write(int32_t fd, const void *p, int32_t n);
IMP("now") double host_now(int32_t clock);
IMP("syscall") int64_t host_syscall(const char *op, int32_t oplen, const void *arg, int32_t arglen, void *out, int32_t cap);

enum { DONE = 0, FAILED = 1, PENDING = 2, IDLE = 3, E_NOTBOOTED = -1, E_BADCALL = -2, E_NOMEM = -3 };

static int cancel_traps; /* set by the trapcancel command */

static struct {
  int32_t step;
  uint32_t event_id, call_id, data_ptr, data_len;
  int32_t err_status;
  uint32_t r0, r1;
} mbox;

static int booted;
static int64_t fuel;
static int64_t counter;
static size_t budget = 3 << 20, used;
static uint8_t *result;
static volatile uint64_t sink;

static struct { uint32_t call_id, event_id; } parked[256];

EXP("pal_abi_version") int32_t pal_abi_version(void) { return 1; }
EXP("pal_buf_alloc") void *pal_buf_alloc(int32_t n) { return n < 0 ? NULL : malloc(n ? (size_t)n : 1); }
EXP("pal_buf_free") void pal_buf_free(void *p) { free(p); }
EXP("pal_boot") int32_t pal_boot(int32_t b) {
  if (booted) return 1;
  booted = 1;
  if (b > 0) budget = (size_t)b;
  /* some state that the snapshot must carry: a heap block the interpreter would have allocated */
  uint8_t *libs = malloc(200000);
  memset(libs, 0x5a, 200000);
  used += 200000;
  return 0;
}
EXP("pal_run_script") int32_t pal_run_script(const char *nm, int32_t nn, const char *s, int32_t n) { return 1; }
EXP("pal_mem_used") int64_t pal_mem_used(void) { return (int64_t)used; }
EXP("pal_abi_mailbox") void *pal_abi_mailbox(void) { return &mbox; }

static int charge(int64_t units) {
  fuel -= units;
  if (fuel < 0) {
    int64_t f = host_fuel();
    if (f <= 0) return 1;
    fuel = f;
  }
  return 0;
}

static int32_t finish(uint32_t ev, int32_t step, const uint8_t *p, uint32_t n, int32_t st) {
  free(result);
  result = malloc(n ? n : 1);
  memcpy(result, p, n);
  mbox.step = step;
  mbox.event_id = ev;
  mbox.call_id = 0;
  mbox.data_ptr = (uint32_t)(uintptr_t)result;
  mbox.data_len = n;
  mbox.err_status = st;
  return step;
}

static int32_t fail(uint32_t ev, const char *msg, int32_t st) {
  uint8_t buf[256];
  uint32_t n = (uint32_t)strlen(msg);
  buf[0] = 0x06;
  memcpy(buf + 1, &n, 4);
  memcpy(buf + 5, msg, n);
  return finish(ev, FAILED, buf, n + 5, st);
}

static int32_t done_int(uint32_t ev, int64_t v) {
  uint8_t buf[9];
  buf[0] = 0x04;
  memcpy(buf + 1, &v, 8);
  return finish(ev, DONE, buf, 9, 0);
}

static int64_t get_int(const uint8_t *p, int32_t n) {
  int64_t v = 0;
  if (n == 9 && p[0] == 0x04) memcpy(&v, p + 1, 8);
  if (n == 9 && p[0] == 0x05) { double d; memcpy(&d, p + 1, 8); v = (int64_t)d; }
  return v;
}

static int deep(int n) {
  volatile char frame[512];
  frame[0] = (char)n;
  return deep(n + 1) + frame[0];
}

static int eq(const char *name, int32_t n, const char *s) { return (size_t)n == strlen(s) && memcmp(name, s, n) == 0; }

EXP("pal_event_start")
int32_t pal_event_start(uint32_t ev, const char *name, int32_t nlen, const uint8_t *data, int32_t dlen) {
  if (!booted) return E_NOTBOOTED;
  if (ev == 0 || nlen < 0 || dlen < 0) return E_BADCALL;
  if (eq(name, nlen, "echo")) return finish(ev, DONE, data, dlen, 0);
  if (eq(name, nlen, "count")) return done_int(ev, ++counter);
  if (eq(name, nlen, "spin")) {
    uint64_t x = 1;
    for (uint64_t i = 0;; i++) {
      x = x * 6364136223846793005ull + i;
      if (charge(1)) break;
    }
    sink = x;
    return fail(ev, "Script execution time limit exceeded", 6);
  }
  if (eq(name, nlen, "work")) {
    int64_t n = get_int(data, dlen);
    uint64_t x = 1;
    for (int64_t i = 0; i < n; i++) {
      x = x * 6364136223846793005ull + (uint64_t)i;
      if (charge(1)) { sink = x; return fail(ev, "Script execution time limit exceeded", 6); }
    }
    sink = x;
    return done_int(ev, n);
  }
  if (eq(name, nlen, "alloc")) {
    for (;;) {
      if (used + 65536 > budget) return fail(ev, "not enough memory", 4);
      void *p = malloc(65536);
      if (p == NULL) return fail(ev, "not enough memory", 4);
      memset(p, 1, 65536);
      used += 65536;
    }
  }
  if (eq(name, nlen, "grow")) {
    for (;;) {
      void *p = malloc(65536);
      if (p == NULL) return fail(ev, "not enough memory", 4);
      sink += (uint64_t)(uintptr_t)p; /* keep the allocation observable */
      used += 65536;
    }
  }
  if (eq(name, nlen, "trap")) __builtin_trap();
  if (eq(name, nlen, "deep")) return done_int(ev, deep(0));
  if (eq(name, nlen, "print")) {
    host_write(1, data, dlen);
    return done_int(ev, dlen);
  }
  if (eq(name, nlen, "$budget")) {
    budget = (size_t)get_int(data, dlen);
    return done_int(ev, (int64_t)budget);
  }
  if (eq(name, nlen, "trapcancel")) cancel_traps = 1;
  if (eq(name, nlen, "sync") || eq(name, nlen, "call") || eq(name, nlen, "trapcancel")) {
    static uint8_t out[4096];
    const char *op = eq(name, nlen, "sync") ? "test.sync" : "test.async";
    int64_t r = host_syscall(op, (int32_t)strlen(op), data, dlen, out, sizeof out);
    int32_t st = (int32_t)(r >> 32);
    uint32_t low = (uint32_t)r;
    if (st == 0) return finish(ev, DONE, out, low, 0);
    if (st == 2) {
      for (int i = 0; i < 256; i++) {
        if (parked[i].call_id == 0) {
          parked[i].call_id = low;
          parked[i].event_id = ev;
          mbox.step = PENDING;
          mbox.event_id = ev;
          mbox.call_id = low;
          mbox.data_ptr = mbox.data_len = 0;
          return PENDING;
        }
      }
      return fail(ev, "too many parked", 2);
    }
    return finish(ev, FAILED, out, low < sizeof out ? low : 0, 2);
  }
  return fail(ev, "unknown event", 2);
}

EXP("pal_event_resume") int32_t pal_event_resume(uint32_t call_id, int32_t status, const uint8_t *data, int32_t dlen) {
  for (int i = 0; i < 256; i++) {
    if (call_id != 0 && parked[i].call_id == call_id) {
      uint32_t ev = parked[i].event_id;
      parked[i].call_id = 0;
      return finish(ev, status == 0 ? DONE : FAILED, data, dlen, status == 0 ? 0 : 2);
    }
  }
  return E_BADCALL;
}

EXP("pal_event_cancel") int32_t pal_event_cancel(uint32_t ev) {
  if (cancel_traps) __builtin_trap();
  for (int i = 0; i < 256; i++) {
    if (parked[i].call_id != 0 && parked[i].event_id == ev) {
      parked[i].call_id = 0;
      return fail(ev, "event cancelled", 6);
    }
  }
  return E_BADCALL;
}
