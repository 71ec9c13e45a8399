/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/**
 * GBT_MAJOR_VERSION:
 *
 * The major version of the gbt headers compiled against.
 */
#define GBT_MAJOR_VERSION 0
/**
 * GBT_MINOR_VERSION:
 *
 * The minor version of the gbt headers compiled against.
 */
#define GBT_MINOR_VERSION 1
/**
 * GBT_MICRO_VERSION:
 *
 * The micro version of the gbt headers compiled against.
 */
#define GBT_MICRO_VERSION 0

/**
 * GBT_CHECK_VERSION:
 * @major: a major version
 * @minor: a minor version
 * @micro: a micro version
 *
 * Compile-time check that the gbt headers are at least version
 * @major.@minor.@micro.
 *
 * Returns: %TRUE if the headers are that version or newer
 */
#define GBT_CHECK_VERSION(major, minor, micro)                                     \
  (GBT_MAJOR_VERSION > (major) ||                                                  \
   (GBT_MAJOR_VERSION == (major) && GBT_MINOR_VERSION > (minor)) ||                \
   (GBT_MAJOR_VERSION == (major) && GBT_MINOR_VERSION == (minor) &&                \
    GBT_MICRO_VERSION >= (micro)))

/* libgbt is built with hidden visibility: only declarations carrying this
 * macro are exported from libgbt-1.so. */
#define GBT_AVAILABLE_IN_ALL __attribute__ ((visibility ("default"))) extern

G_BEGIN_DECLS

/**
 * gbt_get_version_string:
 *
 * Gets the version of the libgbt loaded at run time, which may be newer
 * than the headers (%GBT_MAJOR_VERSION and friends).
 *
 * Returns: the version, "MAJOR.MINOR.MICRO"
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_get_version_string (void);

G_END_DECLS
