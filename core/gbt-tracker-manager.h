/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTrackerManager: when and where a torrent announces.  It owns the BEP 12
 * tiers, intervals, retries and events, builds each GbtAnnounceRequest and
 * hands it to the GbtTracker plugin for the URL's scheme.  Everything runs on
 * the thread-default main context of its creation; nothing blocks.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-tracker.h>

G_BEGIN_DECLS

typedef struct {
  /* current counters for the next announce */
  void (*get_stats) (gpointer data, guint64 *uploaded, guint64 *downloaded, guint64 *left);
  /* new candidate peers (element-type GInetSocketAddress) from @url */
  void (*peers_found) (gpointer data, GPtrArray *addresses, const char *url);
  /* nullable: a tracker's state or the next announce changed (called from
   * inside the manager: look again later, from an idle, not from here) */
  void (*changed) (gpointer data);
} GbtTrackerManagerOps;

typedef struct _GbtTrackerManager GbtTrackerManager;

G_GNUC_INTERNAL
GbtTrackerManager *gbt_tracker_manager_new (GbtPluginRegistry *registry,
                                            const guint8 info_hash[20],
                                            const guint8 peer_id[20], guint16 port,
                                            GPtrArray *tiers /* element-type GStrv; copied */,
                                            const GbtTrackerManagerOps *ops, gpointer data);
/* TRUE if at least one URL has a tracker plugin; else GBT_PLUGIN_ERROR_MISSING
 * naming the schemes that lack one. */
G_GNUC_INTERNAL
gboolean gbt_tracker_manager_check (GbtTrackerManager *mgr, GError **error);
/* BEP 7: announces go out from @address when set (so its family decides
 * IPv4 or IPv6, and the tracker records that address), else from whatever
 * the OS picks for the tracker's address; peers and peers6 are both taken
 * from any reply.  One announce per tracker: for BEP 7's one announce per
 * address family, a torrent runs one manager per family, each bound to that
 * family's wildcard address. */
G_GNUC_INTERNAL
void gbt_tracker_manager_set_bind_address (GbtTrackerManager *mgr,
                                           GInetAddress *address /* nullable */);
G_GNUC_INTERNAL
GInetAddress *gbt_tracker_manager_get_bind_address (GbtTrackerManager *mgr);
/* The BEP 7 key sent with every announce (random by default); managers of
 * one torrent on different addresses share it. */
/* The port announced from now on (a router mapped our listen port to
 * another external one) */
G_GNUC_INTERNAL
void gbt_tracker_manager_set_port (GbtTrackerManager *mgr, guint16 port);
G_GNUC_INTERNAL
void gbt_tracker_manager_set_key (GbtTrackerManager *mgr, guint32 key);
G_GNUC_INTERNAL
void gbt_tracker_manager_set_numwant (GbtTrackerManager *mgr, int numwant);
/* BEP 12 announces to one tracker at a time, tier by tier, until one
 * answers.  With @all, every tracker of every tier is announced to at once
 * (as libtorrent's announce_to_all_tiers + announce_to_all_trackers): more
 * peers sooner, more load on trackers.  Default FALSE. */
G_GNUC_INTERNAL
void gbt_tracker_manager_set_announce_to_all (GbtTrackerManager *mgr, gboolean all);
/* Bound on one announce before the next tracker is tried (default 20 s):
 * a tracker that hangs never holds up the round.  0: the plugin's own. */
G_GNUC_INTERNAL
void gbt_tracker_manager_set_announce_timeout (GbtTrackerManager *mgr, guint timeout_ms);
/* announce started, then every interval */
G_GNUC_INTERNAL
void gbt_tracker_manager_start (GbtTrackerManager *mgr);
/* announce completed now */
G_GNUC_INTERNAL
void gbt_tracker_manager_completed (GbtTrackerManager *mgr);
/* ask for more peers (respects min interval and retry backoff) */
G_GNUC_INTERNAL
void gbt_tracker_manager_announce_now (GbtTrackerManager *mgr);
/* Cancels in-flight requests, announces stopped to every tracker that took
 * our started (bounded: at most ~5 s), then calls back.  Succeeds even when a
 * tracker did not answer: stopping is best effort. */
G_GNUC_INTERNAL
void gbt_tracker_manager_stop_async (GbtTrackerManager *mgr, GAsyncReadyCallback callback,
                                     gpointer user_data);
G_GNUC_INTERNAL
gboolean gbt_tracker_manager_stop_finish (GbtTrackerManager *mgr, GAsyncResult *result,
                                          GError **error);
G_GNUC_INTERNAL
void gbt_tracker_manager_free (GbtTrackerManager *mgr);
/* For --verbose / json: one human-readable line per tracker: url, state
 * (idle/announcing/ok/error), last error, seeders/leechers, next announce in s.
 * (transfer full) (element-type utf8) */
G_GNUC_INTERNAL
GPtrArray *gbt_tracker_manager_dup_status (GbtTrackerManager *mgr);

/* Adds @url to the tier numbered @tier_number (as the tiers given to
 * gbt_tracker_manager_new() are numbered: their index), a new tier in order
 * if none has that number.  A running manager announces started to it at
 * once, outside its rounds.  FALSE when the URL is there already. */
G_GNUC_INTERNAL
gboolean gbt_tracker_manager_add_tracker (GbtTrackerManager *mgr, const char *url,
                                          guint tier_number);
/* Drops @url and whatever request to it is in flight (a round moves on to
 * the next tracker).  FALSE when it is not there. */
G_GNUC_INTERNAL
gboolean gbt_tracker_manager_remove_tracker (GbtTrackerManager *mgr, const char *url);
/* A manual announce (libtorrent's force_reannounce): a round at once,
 * ignoring min interval and retry backoff; nothing while one is in flight. */
G_GNUC_INTERNAL
void gbt_tracker_manager_force_announce (GbtTrackerManager *mgr);

typedef enum {
  GBT_TRACKER_MANAGER_STATE_IDLE, /* not contacted since the start */
  GBT_TRACKER_MANAGER_STATE_ANNOUNCING,
  GBT_TRACKER_MANAGER_STATE_OK,
  GBT_TRACKER_MANAGER_STATE_ERROR,
} GbtTrackerManagerState;

typedef struct {
  char *url;
  guint tier; /* the tier number it was given */
  GbtTrackerManagerState state;
  gboolean disabled; /* no plugin for its scheme */
  gint64 seeders, leechers; /* -1: unknown */
  char *last_error; /* nullable */
  gint64 last_announce; /* unix seconds of its last answer or failure, 0 never */
  gint64 next_announce; /* unix seconds of the next round, 0 none */
} GbtTrackerManagerEntry;

/* Every tracker's state, tier by tier (element-type GbtTrackerManagerEntry,
 * cleared by the array). */
G_GNUC_INTERNAL
GArray *gbt_tracker_manager_dup_entries (GbtTrackerManager *mgr);

/* For tests. */

/* Shorter clocks: intervals from trackers are clamped to at least
 * @min_interval_ms (normally 30 s) and the first retry after a failed round
 * waits about @retry_base_ms (normally 15 s), doubling each time. */
G_GNUC_INTERNAL
void gbt_tracker_manager_set_timing_for_test (GbtTrackerManager *mgr, guint min_interval_ms,
                                              guint retry_base_ms);
/* Where trackers come from instead of the registry. */
typedef GbtTracker *(*GbtTrackerLookupFunc) (const char *scheme, gpointer user_data);
G_GNUC_INTERNAL
void gbt_tracker_manager_set_lookup_for_test (GbtTrackerManager *mgr, GbtTrackerLookupFunc func,
                                              gpointer user_data);
/* The URLs in their current order, tier by tier (transfer full). */
G_GNUC_INTERNAL
GStrv gbt_tracker_manager_dup_order_for_test (GbtTrackerManager *mgr);

G_END_DECLS
