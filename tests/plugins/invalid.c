/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: a descriptor with an empty version (INVALID). */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (invalid, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR,
                      sizeof (GbtPluginDesc), "invalid", "", broken_register)
