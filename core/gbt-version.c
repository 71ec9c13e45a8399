/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gbt/gbt-version.h>

const char *
gbt_get_version_string (void)
{
  return GBT_VERSION_STRING;
}
