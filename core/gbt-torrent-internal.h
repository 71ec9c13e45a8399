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

  guint tick_id;
  guint ticks;
  guint64 bytes_have;
  guint64 bytes_wanted;
  gboolean finished_emitted;
  gboolean stopping;
  gboolean failed_live; /* failed after the check: have is exact, resume data may be saved */
  gboolean stop_running; /* from gbt_torrent_stop_async() to its callback */
  guint run; /* counts starts: a worker's result for an earlier run is dropped */
  gboolean sources_started; /* the registry's peer sources (DHT, LSD...) look for us */

  /* peers-trackers: the models (gbt-torrent-models.c) */
  GListStore *peers_model; /* GbtPeerInfo of the ready peers */
  GHashTable *peer_infos; /* GbtPeer* -> its GbtPeerInfo (held by the store) */
  GListStore *trackers_model; /* GbtTrackerEntry: the tracker list, in tier order */
  GSource *trackers_refresh; /* an idle: the managers have news */
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
/* the check is over: trackers, peers, downloading or seeding */
G_GNUC_INTERNAL void gbt_torrent_go_live (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_emit_metadata_received (GbtTorrent *self);

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

/* gbt-torrent-magnet.c: trackers and peers of the link, waiting for the
 * metadata (from a peer or the copy an earlier run kept) */
G_GNUC_INTERNAL void gbt_torrent_start_magnet (GbtTorrent *self);

G_END_DECLS
