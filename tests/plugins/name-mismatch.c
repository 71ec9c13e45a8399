/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: libgbt-name-mismatch.so whose descriptor says "other-name"
 * (NAME_MISMATCH). */
#include "broken.h"

BROKEN_PLUGIN_DEFINE (name_mismatch, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR,
                      sizeof (GbtPluginDesc), "other-name", "1.0", broken_register)
