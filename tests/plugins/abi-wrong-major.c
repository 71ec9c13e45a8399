/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: built for another major ABI (ABI_MISMATCH). */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (abi_wrong_major, GBT_PLUGIN_ABI_MAJOR + 1, 0, sizeof (GbtPluginDesc),
                      "abi-wrong-major", "1.0", broken_register)
