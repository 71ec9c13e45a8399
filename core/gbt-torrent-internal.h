/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inside of GbtTorrent, shared by the files that make up the torrent
 * and nothing else: gbt-torrent.c (the state machine and orchestration),
 * gbt-torrent-check.c (the start-up check), gbt-torrent-magnet.c (a
 * magnet link's metadata), gbt-torrent-sources.c (trackers and peer
 * sources) and gbt-torrent-models.c (the peers and trackers models).
 * Peers, requests and uploads are the swarm's (gbt-swarm.c).
 */
#pragma once

#include <gbt/gbt-magnet.h>
#include <gbt/gbt-torrent.h>

#include "gbt-assembler.h"
#include "gbt-bitfield.h"
#include "gbt-disk-io.h"
#include "gbt-peer-wire.h"
#include "gbt-picker.h"
#include "gbt-resume.h"
#include "gbt-storage.h"
#include "gbt-swarm.h"

G_BEGIN_DECLS

typedef struct _GbtRateLimit GbtRateLimit;

/* the GObject properties (gbt-torrent-props.c) */
typedef enum {
  GBT_TORRENT_PROP_0,
  GBT_TORRENT_PROP_STATE,
  GBT_TORRENT_PROP_NAME,
  GBT_TORRENT_PROP_INFO_HASH,
  GBT_TORRENT_PROP_DOWNLOAD_DIR,
  GBT_TORRENT_PROP_ERROR,
  GBT_TORRENT_PROP_PROGRESS,
  GBT_TORRENT_PROP_BYTES_HAVE,
  GBT_TORRENT_PROP_BYTES_WANTED,
  GBT_TORRENT_PROP_DOWNLOADED,
  GBT_TORRENT_PROP_UPLOADED,
  GBT_TORRENT_PROP_DOWNLOAD_RATE,
  GBT_TORRENT_PROP_UPLOAD_RATE,
  GBT_TORRENT_PROP_N_PEERS,
  GBT_TORRENT_PROP_N_SEEDERS,
  GBT_TORRENT_PROP_RATIO,
  GBT_TORRENT_PROP_ETA,
  GBT_TORRENT_PROP_DOWNLOAD_LIMIT,
  GBT_TORRENT_PROP_UPLOAD_LIMIT,
  GBT_TORRENT_PROP_MAX_PEERS,
  GBT_TORRENT_PROP_SEED_RATIO_LIMIT,
  GBT_TORRENT_PROP_SEED_TIME_LIMIT,
  GBT_TORRENT_PROP_SEQUENTIAL,
  GBT_TORRENT_PROP_ADDED_TIME,
  GBT_TORRENT_N_PROPS
} GbtTorrentProp;

/* the live figures as last notified */
typedef struct {
  double progress, download_rate, upload_rate, ratio;
  guint64 bytes_have, bytes_wanted, downloaded, uploaded;
  guint n_peers, n_seeders;
  gint64 eta;
} GbtTorrentShown;

struct _GbtTorrent {
  GObject parent_instance;

  GbtSession *session; /* not owned: the session owns us */
  GbtMetainfo *metainfo; /* NULL until the metadata arrives (magnet) */
  guint8 info_hash[20];
  GbtMagnet *magnet; /* started from a magnet link: its name, trackers, peers */
  char *magnet_name;
  char *download_dir;
  GbtTorrentState state;
  GError *error;

  GbtStorage *storage;
  GbtDiskIo *disk_io;
  GbtPicker *picker;
  GbtBitfield have;
  GbtBitfield want; /* pieces touching a selected file (all, without --select) */
  GbtWireLimits limits;
  GPtrArray *trackers; /* GbtTrackerManager*: one per local address family (BEP 7) */
  GbtSwarm *swarm;
  GbtAssembler *assembler; /* NULL until the metadata */
  GHashTable *writing; /* piece -> GPtrArray of contributors (in the disk pool) */

  char *resume_path;
  GbtResumeSaver *saver;
  guint resume_saved_have; /* have.n_set at the last save */
  guint64 active_seconds;
  guint n_checked; /* pieces hashed by the start-up check */
  GPtrArray *resume_peers; /* known from last time, added once live */

  guint tick_slot; /* 1 + index in the session's ticking torrents; 0: not ticking */
  guint tick_phase; /* when idle, the full tick runs at ticks + tick_phase = 0 mod 60 */
  guint ticks;
  guint64 bytes_have;
  guint64 bytes_wanted;
  gboolean finished_emitted;
  gboolean stopping;
  gboolean failed_live; /* failed after the check: have is exact, resume data may be saved */
  gboolean stop_running; /* from gbt_torrent_stop_async() to its callback */
  guint run; /* counts starts: a worker's result for an earlier run is dropped */
  gboolean sources_started; /* the registry's peer sources (DHT, LSD...) look for us */

  /* settings, lifetime counters, notify (gbt-torrent-props.c) */
  GbtRateLimit *limit_up, *limit_down; /* this torrent's, under the session's */
  guint max_peers;                      /* 0: the session's */
  double seed_ratio_limit;              /* 0: none */
  guint seed_time_limit;                /* seconds, 0: none */
  gboolean sequential;
  guint64 seeding_seconds;              /* in this run */
  guint64 downloaded_prev, uploaded_prev; /* counted by earlier runs (resume data) */
  gboolean counters_loaded;
  gboolean peeked;                      /* have-set read from resume data while stopped */
  gint64 added_time;                    /* unix seconds */
  GbtTorrentShown shown;

  /* files part (gbt-torrent-files.c): the files model, priorities, bytes had */
  GListStore *files; /* GbtFile, filled once the metainfo is known */
  guint8 *file_prio; /* GbtFilePriority, one per file */
  guint8 *file_live; /* the file's pieces count as wanted now */
  guint8 *file_stored; /* what the storage was last told: wanted or not */
  guint64 *file_have; /* bytes of each file in verified pieces */
  GArray *files_dirty; /* indexes whose file_have changed since the last flush */
  GbtBitfield files_dirty_set;
  GArray *files_pending; /* files whose storage must follow their priority (guint) */
  gboolean files_sync_running; /* a batch of storage changes on a worker */
  gboolean files_sync_again; /* priorities changed meanwhile */
  gboolean completed_sent; /* this run told the trackers "completed" (once: a
                              * torrent finished again after more files were
                              * wanted is not a second snatch) */

  /* peers-trackers: the models (gbt-torrent-models.c) */
  GListStore *peers_model; /* GbtPeerInfo of the ready peers */
  GHashTable *peer_infos; /* GbtPeer* -> its GbtPeerInfo (held by the store) */
  GListStore *trackers_model; /* GbtTrackerEntry: the tracker list, in tier order */
  GSource *trackers_refresh; /* an idle: the managers have news */

  /* verify, move, rename (gbt-torrent-move.c) */
  gboolean verify_all;  /* the next check trusts no resume data: every piece is hashed */
  gboolean verify_only; /* this check is a stopped torrent's verify: stopped again after */
  gboolean verify_restart; /* a running torrent's verify: stopping, to start again */
  guint check_done, check_total; /* pieces hashed in this check, of those to hash */
  char *renamed_name;   /* the top renamed: the name from now on (NULL: the metainfo's) */
  GTask *relocating;    /* a move or rename under way (the torrent is paused for it) */
  gboolean start_after_relocate; /* gbt_torrent_start() asked for meanwhile */
  gboolean pausing;     /* the stop is a move's, rename's or verify's own */
  gboolean stop_asked;  /* gbt_torrent_stop_async() while paused for them: stays stopped */
};

/* gbt-torrent.c */
G_GNUC_INTERNAL void gbt_torrent_set_state (GbtTorrent *self, GbtTorrentState state);
G_GNUC_INTERNAL void gbt_torrent_fail (GbtTorrent *self, GError *error);
G_GNUC_INTERNAL void gbt_torrent_count_have (GbtTorrent *self, guint piece);
G_GNUC_INTERNAL void gbt_torrent_take_metainfo (GbtTorrent *self, GbtMetainfo *metainfo);
G_GNUC_INTERNAL gboolean gbt_torrent_start_trackers (GbtTorrent *self, GPtrArray *tiers,
                                                     GError **error);
G_GNUC_INTERNAL void gbt_torrent_start_sources (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_stop_sources (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_start_ticking (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_stop_ticking (GbtTorrent *self);
/* the check is over: trackers, peers, downloading or seeding */
G_GNUC_INTERNAL void gbt_torrent_go_live (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_emit_metadata_received (GbtTorrent *self);

G_GNUC_INTERNAL void gbt_torrent_emit_seed_limit_reached (GbtTorrent *self);

/* gbt-torrent-props.c */
G_GNUC_INTERNAL void gbt_torrent_install_properties (GObjectClass *object_class);
G_GNUC_INTERNAL void gbt_torrent_get_property_impl (GObject *object, guint prop_id, GValue *value,
                                                    GParamSpec *pspec);
G_GNUC_INTERNAL void gbt_torrent_set_property_impl (GObject *object, guint prop_id,
                                                    const GValue *value, GParamSpec *pspec);
G_GNUC_INTERNAL void gbt_torrent_notify (GbtTorrent *self, GbtTorrentProp prop);
G_GNUC_INTERNAL void gbt_torrent_props_init (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_props_finalize (GbtTorrent *self);
/* notifies the live figures that changed since the last call */
G_GNUC_INTERNAL void gbt_torrent_update_stats (GbtTorrent *self);
/* once a second: stops a torrent that reached its seed limits */
G_GNUC_INTERNAL void gbt_torrent_check_seed_limits (GbtTorrent *self);
G_GNUC_INTERNAL guint gbt_torrent_get_effective_max_peers (GbtTorrent *self);
/* a setting changed: the session's state is saved again */
G_GNUC_INTERNAL void gbt_torrent_settings_changed (GbtTorrent *self);

/* what is wanted changed (file priorities): requests for pieces no longer
 * wanted are cancelled, DOWNLOADING <-> SEEDING */
G_GNUC_INTERNAL void gbt_torrent_wanted_changed (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_emit_piece_verified (GbtTorrent *self, guint piece);
/* whether piece-verified has handlers (the check emits it only then) */
G_GNUC_INTERNAL gboolean gbt_torrent_piece_verified_wanted (GbtTorrent *self);

/* gbt-torrent-files.c */
G_GNUC_INTERNAL void gbt_torrent_files_init (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_files_publish (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_files_dispose (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_files_finalize (GbtTorrent *self);
/* picker priorities, the want bitfield, bytes wanted and had, from the
 * file priorities */
G_GNUC_INTERNAL void gbt_torrent_files_apply_want (GbtTorrent *self);
/* a verified piece counts for the files it overlaps */
G_GNUC_INTERNAL void gbt_torrent_files_count_piece (GbtTorrent *self, guint piece);
G_GNUC_INTERNAL void gbt_torrent_files_reset_have (GbtTorrent *self);
/* the files' bytes-have and progress notified, for those that changed */
G_GNUC_INTERNAL void gbt_torrent_files_flush (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_files_went_live (GbtTorrent *self);

/* gbt-torrent-sources.c: a tracker added to / removed from running managers */
G_GNUC_INTERNAL gboolean gbt_torrent_trackers_add (GbtTorrent *self, const char *url, guint tier,
                                                   GError **error);
G_GNUC_INTERNAL void gbt_torrent_trackers_remove (GbtTorrent *self, const char *url);

/* gbt-torrent-models.c: the peers and trackers models */
G_GNUC_INTERNAL void gbt_torrent_models_init (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_models_dispose (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_models_finalize (GbtTorrent *self);
/* the metainfo's or magnet's trackers into the model (at creation) */
G_GNUC_INTERNAL void gbt_torrent_models_fill_trackers (GbtTorrent *self);
/* GbtSwarmOps peer_ready and peer_closed */
G_GNUC_INTERNAL void gbt_torrent_models_peer_ready (gpointer data, GbtPeer *peer,
                                                    const char *source);
G_GNUC_INTERNAL void gbt_torrent_models_peer_closed (gpointer data, GbtPeer *peer);
/* GbtTrackerManagerOps changed: a refresh from an idle */
G_GNUC_INTERNAL void gbt_torrent_models_trackers_changed (gpointer data);
G_GNUC_INTERNAL void gbt_torrent_models_refresh_trackers (GbtTorrent *self);
/* once a second: every GbtPeerInfo and GbtTrackerEntry in place */
G_GNUC_INTERNAL void gbt_torrent_models_tick (GbtTorrent *self);
/* the tier lists indexed by tier number (empty tiers kept): for the managers */
G_GNUC_INTERNAL GPtrArray *gbt_torrent_dup_tier_table (GbtTorrent *self);

/* gbt-torrent-check.c: resume data, then hashing what it cannot vouch
 * for, then creating the files; then gbt_torrent_go_live() */
G_GNUC_INTERNAL void gbt_torrent_start_check (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_forget_have (GbtTorrent *self);

/* gbt-torrent-move.c: verify, move (set-location), rename */
/* file @index's path below the download directory now (a rename changes it) */
G_GNUC_INTERNAL char *gbt_torrent_dup_file_path (GbtTorrent *self, guint index);
G_GNUC_INTERNAL void gbt_torrent_move_finalize (GbtTorrent *self);
/* the renamed paths in the session's state, and back */
G_GNUC_INTERNAL void gbt_torrent_save_rename_state (GbtTorrent *self, GKeyFile *kf,
                                                    const char *group);
G_GNUC_INTERNAL void gbt_torrent_load_rename_state (GbtTorrent *self, GKeyFile *kf,
                                                    const char *group);

/* gbt-torrent-magnet.c: trackers and peers of the link, waiting for the
 * metadata (from a peer or the copy an earlier run kept) */
G_GNUC_INTERNAL void gbt_torrent_start_magnet (GbtTorrent *self);

G_END_DECLS
