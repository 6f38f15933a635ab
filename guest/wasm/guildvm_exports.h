/*
 * guildvm_exports.h - the template dispatcher used by the host runtime (host/guildvm): reserved events
 * "$install" {name, source} and "$budget" <bytes>, every other event runs the installed templates.
 */
#ifndef PAL_GUILDVM_EXPORTS_H
#define PAL_GUILDVM_EXPORTS_H

#include "pal.h"

/* Install the dispatcher on a booted state (after pal_abi_attach). Errors are left pending. */
void pal_guildvm_install(pal_State *L);

#endif
