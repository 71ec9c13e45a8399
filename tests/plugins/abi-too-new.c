/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: built for a newer minor ABI than the core has (ABI_MISMATCH). */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (abi_too_new, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR + 1,
                      sizeof (GbtPluginDesc), "abi-too-new", "1.0", broken_register)
