/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inside of GbtTorrent, shared by the files that make up the torrent
 * and nothing else: gbt-torrent.c (the state machine and orchestration),
 * gbt-torrent-check.c (the start-up check) and gbt-torrent-magnet.c (a
 * magnet link's metadata).  Peers, requests and uploads are the swarm's
 * (gbt-swarm.c).
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

/* gbt-torrent-check.c: resume data, then hashing what it cannot vouch
 * for, then creating the files; then gbt_torrent_go_live() */
G_GNUC_INTERNAL void gbt_torrent_start_check (GbtTorrent *self);

/* gbt-torrent-magnet.c: trackers and peers of the link, waiting for the
 * metadata (from a peer or the copy an earlier run kept) */
G_GNUC_INTERNAL void gbt_torrent_start_magnet (GbtTorrent *self);

G_END_DECLS
