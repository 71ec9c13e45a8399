/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: a valid shared object named like a plugin, without the entry
 * function gbt_plugin_missing_symbol_get_desc (NOT_A_PLUGIN).  It exports a
 * misspelt one, as a plugin renamed without its descriptor would. */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (missing_symbols, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR,
                      sizeof (GbtPluginDesc), "missing-symbol", "1.0", broken_register)
