/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GbtTrackerEntry: what an app shows of one tracker of a torrent. */
#pragma once

#include <glib-object.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtTrackerStatus:
 * @GBT_TRACKER_STATUS_NOT_CONTACTED: not announced to since the torrent
 *   started (or the torrent is stopped)
 * @GBT_TRACKER_STATUS_ANNOUNCING: an announce is in flight
 * @GBT_TRACKER_STATUS_WORKING: its last announce succeeded
 * @GBT_TRACKER_STATUS_ERROR: its last announce failed
 *   (#GbtTrackerEntry:last-error says why)
 * @GBT_TRACKER_STATUS_DISABLED: no tracker plugin handles its URL scheme
 *
 * The value of #GbtTrackerEntry:status.
 */
typedef enum {
  GBT_TRACKER_STATUS_NOT_CONTACTED,
  GBT_TRACKER_STATUS_ANNOUNCING,
  GBT_TRACKER_STATUS_WORKING,
  GBT_TRACKER_STATUS_ERROR,
  GBT_TRACKER_STATUS_DISABLED,
} GbtTrackerStatus;

/**
 * GbtTrackerEntry:
 *
 * One tracker URL of a torrent, as in gbt_torrent_get_trackers().  A
 * torrent that announces from both an IPv4 and an IPv6 address (BEP 7)
 * shows one entry per URL: it is working when either announce works.
 * Updated in place (each property notified only when its value changed).
 */
#define GBT_TYPE_TRACKER_ENTRY (gbt_tracker_entry_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtTrackerEntry, gbt_tracker_entry, GBT, TRACKER_ENTRY, GObject)

/**
 * gbt_tracker_entry_get_url:
 * @self: a #GbtTrackerEntry
 *
 * The tracker's URL, as #GbtTrackerEntry:url.
 *
 * Returns: (transfer none): the tracker's announce URL
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_tracker_entry_get_url (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_tier:
 * @self: a #GbtTrackerEntry
 *
 * The tracker's tier, as #GbtTrackerEntry:tier.
 *
 * Returns: its tier (BEP 12), from 0: a tier is tried only when every
 *   tracker of the tiers before it failed
 */
GBT_AVAILABLE_IN_ALL
guint gbt_tracker_entry_get_tier (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_status:
 * @self: a #GbtTrackerEntry
 *
 * How the tracker's announces go, as #GbtTrackerEntry:status.
 *
 * Returns: how its announces go
 */
GBT_AVAILABLE_IN_ALL
GbtTrackerStatus gbt_tracker_entry_get_status (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_seeders:
 * @self: a #GbtTrackerEntry
 *
 * The seeders the tracker counts, as #GbtTrackerEntry:seeders.
 *
 * Returns: the seeders its last answer counted, -1 when unknown
 */
GBT_AVAILABLE_IN_ALL
int gbt_tracker_entry_get_seeders (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_leechers:
 * @self: a #GbtTrackerEntry
 *
 * The leechers the tracker counts, as #GbtTrackerEntry:leechers.
 *
 * Returns: the leechers its last answer counted, -1 when unknown
 */
GBT_AVAILABLE_IN_ALL
int gbt_tracker_entry_get_leechers (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_next_announce:
 * @self: a #GbtTrackerEntry
 *
 * When the next announce is due, as #GbtTrackerEntry:next-announce.
 *
 * Returns: when the next announce is due, in seconds since the Unix epoch;
 *   0 when none is scheduled
 */
GBT_AVAILABLE_IN_ALL
gint64 gbt_tracker_entry_get_next_announce (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_last_announce:
 * @self: a #GbtTrackerEntry
 *
 * When the last announce ended, as #GbtTrackerEntry:last-announce.
 *
 * Returns: when its last announce ended (answered or failed), in seconds
 *   since the Unix epoch; 0 when never
 */
GBT_AVAILABLE_IN_ALL
gint64 gbt_tracker_entry_get_last_announce (GbtTrackerEntry *self);
/**
 * gbt_tracker_entry_get_last_error:
 * @self: a #GbtTrackerEntry
 *
 * Why the last announce failed, as #GbtTrackerEntry:last-error.
 *
 * Returns: (nullable) (transfer none): why its last announce failed, %NULL
 *   when it worked or was never tried
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_tracker_entry_get_last_error (GbtTrackerEntry *self);

G_END_DECLS
