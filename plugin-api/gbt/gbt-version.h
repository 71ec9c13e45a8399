/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#define GBT_MAJOR_VERSION 0
#define GBT_MINOR_VERSION 1
#define GBT_MICRO_VERSION 0

#define GBT_CHECK_VERSION(major, minor, micro)                                     \
  (GBT_MAJOR_VERSION > (major) ||                                                  \
   (GBT_MAJOR_VERSION == (major) && GBT_MINOR_VERSION > (minor)) ||                \
   (GBT_MAJOR_VERSION == (major) && GBT_MINOR_VERSION == (minor) &&                \
    GBT_MICRO_VERSION >= (micro)))

/* libgbt is built with hidden visibility: only declarations carrying this
 * macro are exported from libgbt-1.so. */
#define GBT_AVAILABLE_IN_ALL __attribute__ ((visibility ("default"))) extern

G_BEGIN_DECLS

GBT_AVAILABLE_IN_ALL
const char *gbt_get_version_string (void);

G_END_DECLS
