/*
 * vm.h - private header of the execution layer (vm.c call.c error.c baselib.c corolib.c init.c).
 *
 * Frames: L->base_ci[0] is the thread's C level (func = slot 0, base = 1). Every other CallInfo is one of
 *   - a Luau frame (CIST_LUA): base = first register, top = base + maxstacksize, savedpc = next instruction,
 *     extra = number of varargs stored just below base (read in vararg functions only: other frames may leave
 *     it stale), cl and k = the closure and its constants (cached by the VM loop);
 *   - a C frame (CIST_C): base = first argument, top = space granted to the C function;
 *   - a protected-call marker (CIST_PCALL / CIST_XPCALL): pcall/xpcall called from Luau code, handled inside the
 *     VM loop (no C recursion). func = the pcall/xpcall slot; the protected function sits at func+1 (pcall) or
 *     func+2 (xpcall, whose handler is kept at func+1) and is called with PAL_MULTRET.
 * CIST_FRESH marks the first frame of a nested VM-loop invocation (vm_call): when it returns, the invocation ends.
 * A coroutine's invocation (pal_resume) runs frames from index 1 and ends when index 0 is reached again.
 *
 * GC invariant (gc.c marks each thread's stack only below its top): at every safe point, and whenever control
 * leaves the loop (C calls, metamethods, yields), every live value of every frame is below L->top. While a Luau
 * frame runs, L->top == ci->top except between a multret producer (CALL/VARARG with open results) and its
 * consumer (CALL/RETURN/SETLIST with B == 0), where it marks the end of the open values.
 *
 * Errors: vm_handleerror unwinds to the nearest marker of the current invocation (PAL_ERRABORT is never caught),
 * calling an xpcall handler first. A coroutine that dies by error keeps its frames (for tracebacks) until
 * pal_resetthread or the collector.
 */
#ifndef PAL_VM_H
#define PAL_VM_H

#include "object.h"
#include "opcodes.h"

#define CIST_LUA 0x01
#define CIST_C 0x02
#define CIST_PCALL 0x04
#define CIST_XPCALL 0x08
#define CIST_FRESH 0x10
#define CIST_END 0x20 /* the entry after the last usable one of base_ci (never a frame) */
#define CIST_MARKER (CIST_PCALL | CIST_XPCALL)

/* L->costate values */
#define COS_IDLE 0    /* not started, suspended, or a thread used directly by the embedder */
#define COS_RUNNING 1
#define COS_NORMAL 2  /* resumed another coroutine */
#define COS_DEAD 3

/* tag of the userdata made by newproxy (typeof ignores their __type) */
#define PAL_PROXYTAG 255

#define savestack(L, p) ((ptrdiff_t)((p) - (L)->stack))
#define restorestack(L, n) ((L)->stack + (n))
/* The index of frame c. The exact division by sizeof(CallInfo) is done as a shift and a multiplication by the
   inverse of its odd factor modulo 2^32 (four Newton steps, constant-folded): wasm runtimes compile a division by a
   constant to a real division instruction. */
#define CI_SIZESHIFT __builtin_ctz((unsigned)sizeof(CallInfo))
#define CI_ODD ((uint32_t)(sizeof(CallInfo) >> CI_SIZESHIFT))
#define CI_INVSTEP(x) ((x) * (2u - CI_ODD * (x)))
#define CI_ODDINV CI_INVSTEP(CI_INVSTEP(CI_INVSTEP(CI_INVSTEP(CI_ODD))))
#define ci_index(L, c) \
  ((int)((uint32_t)((int32_t)((char *)(c) - (char *)(L)->base_ci) >> CI_SIZESHIFT) * CI_ODDINV))
#define ci_isLua(c) (((c)->flags & CIST_LUA) != 0)
#define ci_hasroom(c) (((c)[1].flags & CIST_END) == 0) /* a frame can be pushed above c without ci_push */
#define ci_closure(L, c) clvalue((L)->stack + (c)->func)

/* For wasm only (natively the compiler's own choices are better):
   OPAQUE(p) makes the compiler forget how p was computed. For p = ci - 1, the negative offset would otherwise be
   folded into every field access, and wasm (whose offsets are unsigned) computes and bounds-checks each address
   separately.
   VREAD(p, f) is p->f as a volatile read: the compiler keeps volatile accesses in their order and place, so a hot
   path that reads a structure's last field first (see CallInfo in object.h) keeps doing so, and wasm bounds-checks
   the structure once (the compiler is otherwise free to reorder or sink reads of different fields). VWRITE(p, f, x)
   is the same for a store. */
#ifdef __wasm__
#define OPAQUE(p) __asm__("" : "+r"(p))
#define VREAD(p, f) (((const volatile __typeof__(*(p)) *)(p))->f)
#define VWRITE(p, f, x) (((volatile __typeof__(*(p)) *)(p))->f = (x))
#else
#define OPAQUE(p) ((void)0)
#define VREAD(p, f) ((p)->f)
#define VWRITE(p, f, x) ((p)->f = (x))
#endif

/* setobj with its accesses in a fixed order on both sides, tag (offset 8) before value: setobj leaves the order to
   the compiler, which sometimes schedules the value first, and wazero then bounds-checks the TValue twice (see
   object.h). For copies between two unrelated pointers on hot paths. The value moves as its double member: all
   8 bytes, bit for bit (a volatile union copy would go through a stack temporary). Natively, plain setobj. */
static inline void setobj_tagfirst(TValue *dst, const TValue *src) {
#ifdef __wasm__
  const volatile TValue *s = src;
  volatile TValue *d = dst;
  int tt = s->tt;
  double v = s->v.n;
  d->tt = tt;
  d->v.n = v;
#else
  setobj(dst, src);
#endif
}

#define EXTRA_STACK 8 /* slots always available above a frame's top (metamethod calls push up to 4 values) */

/* Builtins that OP_CALL computes inline, without a C frame, when their arguments are the plain common case
   (CClosure.builtin, set by pal_openlibs on the library's own closures). Every other case, and every error, goes
   through the normal call of the C function, so the results and errors are the library's. */
enum {
  FB_NONE, FB_TYPE, FB_TYPEOF, FB_RAWEQUAL, FB_RAWGET, FB_RAWLEN, FB_SELECT, FB_TONUMBER,
  FB_TOSTRING, FB_SETMETATABLE, FB_ASSERT, FB_STRLEN, FB_STRBYTE, FB_ABS, FB_FLOOR, FB_CEIL, FB_SQRT, FB_MIN,
  FB_MAX, FB_BAND, FB_BOR, FB_BXOR
};

/* results of vm_precall (besides PAL_OK / PAL_YIELD / error statuses) */
#define PCR_LUA (-10) /* a Luau frame was pushed: run it */

/* call.c */
CallInfo *ci_push(pal_State *L);            /* NULL (error pending) on failure; may move base_ci */
int stack_ensure(pal_State *L, TValue *from, int n); /* n free slots from `from` (pointer may be stale after) */
int vm_precall(pal_State *L, TValue *func, int nresults, int inloop);
void vm_poscall(pal_State *L, CallInfo *ci, TValue *firstres, int n);
/* after the C function of frame L->ci returned n < 0 or with an error pending: PAL_YIELD (a legal yield; the
   frame stays) or the pending error's status (set here for a bad return) */
int vm_postcallC(pal_State *L, int n);
int vm_finishframes(pal_State *L, int wanted); /* after a return into L->ci: finish pcall markers; returns the
                                                  nresults wanted by the frame that finally returned */
int vm_execute(pal_State *L, int entry);  /* vm.c */
int vm_handleerror(pal_State *L, int entry); /* call.c: 0 = caught (continue in L->ci), else status to return */
void vm_clearerror(pal_State *L);
int vm_pcallC(pal_State *L); /* body of pcall/xpcall when called from C */
void vm_callhandler(pal_State *L, int midx); /* xpcall: replace the pending error by the handler's result */

/* vm.c */
const char *vm_typeof(pal_State *L, const TValue *o);
int vm_tonumber(const TValue *o, double *n);
int vm_len(pal_State *L, const TValue *o, TValue *res);
int vm_callTMres(pal_State *L, const TValue *f, const TValue *a, const TValue *b, TValue *res);
int vm_safepoint(pal_State *L); /* fuel + GC at a safe point (L->top set by the caller); status */

/* error.c */
int vm_currentline(pal_State *L, CallInfo *ci);
/* "chunkid:line: " of the Luau frame ci (empty when ci is not a Luau frame). buf >= 300 bytes. */
void vm_where(pal_State *L, CallInfo *ci, char *buf, size_t size);
CallInfo *vm_level(pal_State *L, int level); /* frame at level (0 = running), NULL if none */
int vm_callererror(pal_State *L, const char *msg); /* prefix: running Luau frame, or the C function's caller */
int vm_seterrorstr(pal_State *L, int status, const char *msg); /* returns PAL_ERRSIG */
/* text of a value without __tostring into buf (size >= PAL_NUMBUF); returns its length */
size_t vm_defaulttostring(pal_State *L, const TValue *o, char *buf, size_t size);

/* baselib.c: builtins the VM recognises */
int base_pcall(pal_State *L);
int base_xpcall(pal_State *L);
int base_next(pal_State *L);
int base_inext(pal_State *L);

#endif
