/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the torrent does with its GbtTrackerEntry objects (gbt-torrent-models.c). */
#pragma once

#include <gbt/gbt-tracker-entry.h>

G_BEGIN_DECLS

G_GNUC_INTERNAL GbtTrackerEntry *gbt_tracker_entry_new (const char *url, guint tier);
/* Sets every changing property; notifies only those that changed.
 * @last_error nullable. */
G_GNUC_INTERNAL void gbt_tracker_entry_update (GbtTrackerEntry *self, GbtTrackerStatus status,
                                               int seeders, int leechers, gint64 next_announce,
                                               gint64 last_announce, const char *last_error);

G_END_DECLS
