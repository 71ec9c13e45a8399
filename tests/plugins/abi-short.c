/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: a descriptor that declares itself too short to hold the fields
 * the core reads (ABI_MISMATCH). */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (abi_short, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR,
                      G_STRUCT_OFFSET (GbtPluginDesc, flags), "abi-short", "1.0",
                      broken_register)
