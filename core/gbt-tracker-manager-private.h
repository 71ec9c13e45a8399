/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inside of GbtTrackerManager, shared by gbt-tracker-manager.c (the
 * rounds, timers and stopping) and gbt-tracker-manager-report.c (its
 * settings and what it reports: entries and status lines).
 */
#pragma once

#include "gbt-tracker-manager.h"

G_BEGIN_DECLS

typedef enum {
  TRACKER_IDLE,
  TRACKER_ANNOUNCING,
  TRACKER_OK,
  TRACKER_ERROR,
} TrackerState;
G_STATIC_ASSERT ((int) TRACKER_ERROR == (int) GBT_TRACKER_MANAGER_STATE_ERROR);

typedef struct {
  char *url;
  char *scheme; /* lower case; NULL when the URL has none */
  TrackerState state;
  char *last_error;
  char *warning;
  char *tracker_id; /* BEP 3: sent back on later announces */
  gint64 seeders;
  gint64 leechers;
  gboolean announced; /* answered us since start: gets a stopped */
  guint tier; /* the torrent's tier number (BEP 12), for the entries */
  gint64 last_announce; /* unix seconds of its last answer or failure; 0 never */
} Tracker;

typedef struct _AnnounceOp AnnounceOp;

struct _GbtTrackerManager {
  GbtPluginRegistry *registry;
  guint8 info_hash[20];
  guint8 peer_id[20];
  guint16 port;
  GPtrArray *tiers; /* (element-type GPtrArray (element-type Tracker)) */
  GbtTrackerManagerOps ops;
  gpointer data;
  GMainContext *context;

  GInetAddress *bind_address;
  int numwant;
  guint32 key; /* random per manager: lets a tracker follow us across addresses */

  GbtTrackerLookupFunc lookup_func;
  gpointer lookup_data;
  guint min_interval_floor_ms;
  guint retry_base_ms;
  guint announce_timeout_ms;
  gboolean announce_to_all;
  guint all_pending; /* announce-to-all: requests of the round in flight */
  gboolean all_succeeded;

  gboolean running;
  gboolean started_acked;
  gboolean completed_pending;
  gboolean port_pending; /* the port changed while an announce was out */
  AnnounceOp *current; /* the round in flight */
  guint round_tier;
  guint round_index;
  GCancellable *cancellable;
  GSource *timer;
  gint64 next_announce_us; /* monotonic; 0: none scheduled */
  gint64 last_success_us;
  gint64 interval_ms;
  gint64 min_interval_ms;
  guint fail_streak;
  gint64 retry_until_us;
  gint64 paced_at_us; /* the pacer's slot reserved for the next round; 0: none */

  GPtrArray *inflight; /* (element-type AnnounceOp): detached on free */
  GTask *stop_task;
  guint stop_pending;
  GSource *stop_timer;
  GCancellable *stop_cancellable;
};

struct _AnnounceOp {
  GbtTrackerManager *mgr; /* NULL once detached: the callback only frees */
  GbtTracker *impl;
  Tracker *tracker;
  GbtAnnounceEvent event;
  GSource *watchdog; /* the manager's own bound, for plugins that ignore timeout_ms */
  gboolean solo; /* one tracker added while running: outside any round */
};

/* the plugin serving @scheme (the test lookup first), NULL when none */
G_GNUC_INTERNAL GbtTracker *gbt_tracker_manager_lookup (GbtTrackerManager *mgr,
                                                       const char *scheme);

G_END_DECLS
