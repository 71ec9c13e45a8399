/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gbt/gbt-tracker.h>

G_DEFINE_QUARK (gbt-tracker-error-quark, gbt_tracker_error)
