/*
 * abi_exports.h - C entry points of the guest side of the event protocol (guest/wasm/abi_exports.c,
 * abi/SPEC.md §5.4).
 */
#ifndef PAL_ABI_EXPORTS_H
#define PAL_ABI_EXPORTS_H

#include "pal.h"

/* Wire the door to the booted state: pal_boot calls this once after pal_openlibs. Installs the registry tables,
   the array metatable and the raw door function (registry field "palisade.syscall"). */
void pal_abi_attach(pal_State *L);

/* Pop a function and install it as the event dispatcher: dispatch(name, data, event_id) runs in each event's
   coroutine; its return values are the event's result. */
void pal_abi_setdispatch(pal_State *L);

/* 1 if the value at idx is the marker that starts a syscall yield (coroutine libraries must pass such yields up
   to their own resumer so the event thread parks). */
int pal_abi_is_syscall_yield(pal_State *L, int idx);

#endif
