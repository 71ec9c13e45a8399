/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTorrent: one torrent's state machine and the orchestration around it.
 * It owns the metainfo, the picker, the storage and disk worker pool, the
 * tracker managers, the resume saver and the swarm, and wires them: the
 * swarm hands it requested blocks, which it gathers into pieces
 * (gbt-assembler.c) and sends to the disk workers for their hash check;
 * their verdict goes back to the picker and the swarm.  The start-up check
 * is in gbt-torrent-check.c and a magnet link's metadata in
 * gbt-torrent-magnet.c.  Everything here runs on the session's main
 * context; hashing and disk I/O go to GbtDiskIo workers.
 *
 * Blocks are gathered in memory per piece and written only once the whole
 * piece passes its hash, so a kill at any moment leaves only verified data on
 * disk; the bytes held that way are bounded (back-pressure stops requests).
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-file.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-transport.h>

#include "gbt-session-private.h"
#include "gbt-hash.h"
#include "gbt-rate-limit.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"
#include "gbt-tracker-manager.h"
#include "gbt-context.h"

#define RESUME_SAVE_INTERVAL_S 30

G_DEFINE_QUARK (gbt-torrent-error-quark, gbt_torrent_error)

enum {
  SIGNAL_PIECE_VERIFIED,
  SIGNAL_FINISHED,
  SIGNAL_PEER_BANNED,
  SIGNAL_HASH_FAILED,
  SIGNAL_METADATA_RECEIVED,
  SIGNAL_PEER_DROPPED,
  SIGNAL_SEED_LIMIT_REACHED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GbtTorrent, gbt_torrent, G_TYPE_OBJECT)

static void torrent_shutdown_disk (GbtTorrent *self);
static const GbtSwarmOps swarm_ops;

/* ---- helpers ---- */

void
gbt_torrent_set_state (GbtTorrent *self, GbtTorrentState state)
{
  if (self->state == state)
    return;
  self->state = state;
  gbt_swarm_set_state (self->swarm, state);
  if (state != GBT_TORRENT_STATE_SEEDING)
    self->seeding_seconds = 0;
  gbt_torrent_files_flush (self);
  g_object_freeze_notify (G_OBJECT (self));
  gbt_torrent_notify (self, GBT_TORRENT_PROP_STATE);
  gbt_torrent_update_stats (self);
  g_object_thaw_notify (G_OBJECT (self));
  gbt_torrent_settings_changed (self);
}

void
gbt_torrent_fail (GbtTorrent *self, GError *error)
{
  g_debug ("[%s] torrent failed: %s", gbt_torrent_get_name (self), error->message);
  g_clear_error (&self->error);
  self->error = error;
  gbt_torrent_notify (self, GBT_TORRENT_PROP_ERROR);
  gbt_torrent_set_state (self, GBT_TORRENT_STATE_ERROR);
}

/* progress counts only the pieces the user asked for */
void
gbt_torrent_count_have (GbtTorrent *self, guint piece)
{
  if (gbt_bitfield_get (&self->want, piece))
    self->bytes_have += gbt_metainfo_get_piece_size (self->metainfo, piece);
  gbt_torrent_files_count_piece (self, piece);
}

void
gbt_torrent_emit_piece_verified (GbtTorrent *self, guint piece)
{
  g_signal_emit (self, signals[SIGNAL_PIECE_VERIFIED], 0, piece);
}

gboolean
gbt_torrent_piece_verified_wanted (GbtTorrent *self)
{
  return g_signal_has_handler_pending (self, signals[SIGNAL_PIECE_VERIFIED], 0, TRUE);
}

void
gbt_torrent_emit_metadata_received (GbtTorrent *self)
{
  gbt_torrent_notify (self, GBT_TORRENT_PROP_NAME);
  g_signal_emit (self, signals[SIGNAL_METADATA_RECEIVED], 0);
}

/* ---- GObject ---- */

void
gbt_torrent_emit_seed_limit_reached (GbtTorrent *self)
{
  g_signal_emit (self, signals[SIGNAL_SEED_LIMIT_REACHED], 0);
}

static void
gbt_torrent_dispose (GObject *object)
{
  GbtTorrent *self = GBT_TORRENT (object);

  gbt_torrent_stop_ticking (self);
  gbt_torrent_stop_sources (self);
  if (self->swarm)
    gbt_swarm_close_all (self->swarm);
  gbt_torrent_models_dispose (self);
  torrent_shutdown_disk (self);
  g_clear_pointer (&self->trackers, g_ptr_array_unref);
  gbt_torrent_files_dispose (self);
  G_OBJECT_CLASS (gbt_torrent_parent_class)->dispose (object);
}

static void
gbt_torrent_finalize (GObject *object)
{
  GbtTorrent *self = GBT_TORRENT (object);

  g_clear_pointer (&self->swarm, gbt_swarm_free);
  g_clear_pointer (&self->storage, gbt_storage_free);
  g_clear_pointer (&self->picker, gbt_picker_free);
  g_clear_pointer (&self->assembler, gbt_assembler_free);
  gbt_bitfield_clear (&self->have);
  gbt_bitfield_clear (&self->want);
  g_clear_pointer (&self->saver, gbt_resume_saver_free);
  g_clear_pointer (&self->resume_peers, g_ptr_array_unref);
  g_hash_table_unref (self->writing);
  g_clear_error (&self->error);
  g_clear_pointer (&self->metainfo, gbt_metainfo_unref);
  g_clear_pointer (&self->magnet, gbt_magnet_free);
  gbt_torrent_files_finalize (self);
  gbt_torrent_move_finalize (self);
  g_free (self->magnet_name);
  g_free (self->download_dir);
  g_free (self->resume_path);
  gbt_torrent_props_finalize (self);
  gbt_torrent_models_finalize (self);
  G_OBJECT_CLASS (gbt_torrent_parent_class)->finalize (object);
}

static void
gbt_torrent_class_init (GbtTorrentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = gbt_torrent_get_property_impl;
  object_class->set_property = gbt_torrent_set_property_impl;
  object_class->dispose = gbt_torrent_dispose;
  object_class->finalize = gbt_torrent_finalize;
  gbt_torrent_install_properties (object_class);

  /**
   * GbtTorrent::piece-verified:
   * @self: the torrent
   * @piece: the index of a piece that passed its hash and is on disk
   *
   * A piece was verified: downloaded and its hash checked, then written.
   */
  signals[SIGNAL_PIECE_VERIFIED] = g_signal_new ("piece-verified", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_UINT);
  /**
   * GbtTorrent::finished:
   * @self: the torrent
   *
   * Every wanted piece is verified on disk.
   */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * GbtTorrent::peer-banned:
   * @self: the torrent
   * @address: the IP address banned for sending data that failed hash checks
   *
   * A peer's address is banned from this torrent: it sent data of pieces
   * that failed their hash check.
   */
  signals[SIGNAL_PEER_BANNED] = g_signal_new ("peer-banned", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GbtTorrent::peer-dropped:
   * @self: the torrent
   * @address: the peer's address, "IP:port" ("[IPv6]:port")
   * @client: (nullable): its client name, from its extension handshake
   * @reason: why it was dropped
   *
   * A peer broke the protocol or misbehaved (malformed or unrequested
   * messages, floods, bad data) and its connection was closed.  Peers that
   * merely go away are not reported.
   */
  signals[SIGNAL_PEER_DROPPED] = g_signal_new ("peer-dropped", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING,
                                               G_TYPE_STRING);
  /**
   * GbtTorrent::hash-failed:
   * @self: the torrent
   * @piece: a piece whose assembled data did not match its hash
   *
   * A downloaded piece failed its hash check; it is downloaded again.
   */
  signals[SIGNAL_HASH_FAILED] = g_signal_new ("hash-failed", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_UINT);
  /**
   * GbtTorrent::metadata-received:
   * @self: the torrent
   *
   * A torrent started from a magnet link has its info dictionary, checked
   * against the info-hash: gbt_torrent_get_metainfo() returns it from now
   * on.  Emitted before the check of the data on disk starts, so a handler
   * may still call gbt_torrent_set_files_wanted().
   */
  signals[SIGNAL_METADATA_RECEIVED] = g_signal_new ("metadata-received", G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                    G_TYPE_NONE, 0);
  /**
   * GbtTorrent::seed-limit-reached:
   * @self: the torrent
   *
   * The torrent reached #GbtTorrent:seed-ratio-limit or
   * #GbtTorrent:seed-time-limit while seeding; it stops itself after this
   * signal (its #GbtTorrent:state becomes %GBT_TORRENT_STATE_STOPPED once
   * the trackers are told).
   */
  signals[SIGNAL_SEED_LIMIT_REACHED] = g_signal_new ("seed-limit-reached", G_TYPE_FROM_CLASS (klass),
                                                     G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                     G_TYPE_NONE, 0);
}

static void
gbt_torrent_init (GbtTorrent *self)
{
  self->writing = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  self->swarm = gbt_swarm_new (&swarm_ops, self);
  gbt_torrent_props_init (self);
  gbt_torrent_models_init (self);
}

/* a picker that knows no piece, for the pieces wanted */
static void
torrent_new_picker (GbtTorrent *self)
{
  g_clear_pointer (&self->picker, gbt_picker_free);
  self->picker = gbt_picker_new (gbt_metainfo_get_n_pieces (self->metainfo),
                                 gbt_metainfo_get_piece_length (self->metainfo),
                                 gbt_metainfo_get_total_size (self->metainfo));
  gbt_picker_set_sequential (self->picker, self->sequential);
  gbt_torrent_files_apply_want (self);
  gbt_swarm_set_picker (self->swarm, self->picker);
}

static guint32
piece_size_cb (gpointer data, guint piece)
{
  GbtTorrent *self = data;
  return gbt_metainfo_get_piece_size (self->metainfo, piece);
}

static GbtResumeData *
resume_snapshot_cb (gpointer data)
{
  GbtTorrent *self = data;
  GbtResumeData *rd;
  g_autoptr(GPtrArray) peers = NULL;

  /* a torrent that failed while live (a full or read-only disk) still
   * knows exactly what it has: its stop saves that, so the next run need
   * not hash it all again; one that failed in its check does not */
  if (self->state != GBT_TORRENT_STATE_DOWNLOADING && self->state != GBT_TORRENT_STATE_SEEDING
      && !(self->state == GBT_TORRENT_STATE_ERROR && self->failed_live))
    return NULL;
  rd = gbt_resume_data_new (self->metainfo);
  memcpy (rd->have.bits, self->have.bits, gbt_bitfield_byte_len (self->have.n_bits));
  rd->have.n_set = self->have.n_set;
  rd->uploaded = gbt_torrent_get_uploaded (self);
  rd->downloaded = gbt_torrent_get_downloaded (self);
  rd->active_seconds = self->active_seconds;
  peers = gbt_swarm_dup_listen_addresses (self->swarm);
  for (guint i = 0; i < peers->len; i++)
    g_ptr_array_add (rd->peers, g_object_ref (g_ptr_array_index (peers, i)));
  self->resume_saved_have = self->have.n_set;
  return rd;
}

/* what follows from the metainfo: pieces, storage, buffers */
void
gbt_torrent_take_metainfo (GbtTorrent *self, GbtMetainfo *metainfo)
{
  guint n = gbt_metainfo_get_n_pieces (metainfo);
  g_autofree char *parts = gbt_resume_sidecar_path (NULL, self->info_hash, ".parts");

  self->metainfo = gbt_metainfo_ref (metainfo);
  gbt_bitfield_init (&self->have, n);
  gbt_bitfield_init (&self->want, n);
  gbt_bitfield_set_all (&self->want);
  gbt_torrent_files_init (self);
  torrent_new_picker (self);
  self->limits.n_pieces = n;
  self->limits.piece_length = gbt_metainfo_get_piece_length (metainfo);
  self->limits.total_size = gbt_metainfo_get_total_size (metainfo);
  self->limits.max_message_len = MAX (1024 * 1024 + 64, gbt_bitfield_byte_len (n) + 1);
  self->storage = gbt_storage_new (metainfo, self->download_dir);
  /* always set, though only a --select run writes to it: a later run that
   * wants more files takes their share of the boundary pieces from it */
  gbt_storage_set_parts_path (self->storage, parts);
  self->assembler = gbt_assembler_new (gbt_metainfo_get_piece_length (metainfo), piece_size_cb, self);
  gbt_resume_saver_set_storage (self->saver, metainfo, self->storage);
  gbt_torrent_files_publish (self);
}

static GbtTorrent *
torrent_new (GbtSession *session, const guint8 *info_hash, const char *download_dir)
{
  GbtTorrent *self = g_object_new (GBT_TYPE_TORRENT, NULL);

  self->session = session;
  memcpy (self->info_hash, info_hash, 20);
  self->download_dir = g_strdup (download_dir);
  {
    g_autofree char *resume_dir = gbt_session_dup_resume_dir (session);
    g_autofree char *hex = g_malloc (41);
    gbt_sha1_to_hex (info_hash, hex);
    self->resume_path = resume_dir ? g_strdup_printf ("%s/%s.resume", resume_dir, hex)
                                   : gbt_resume_path_for (download_dir, info_hash);
  }
  self->saver = gbt_resume_saver_new (G_OBJECT (self), self->resume_path, download_dir,
                                      resume_snapshot_cb, self);
  return self;
}

GbtTorrent *
gbt_torrent_new (GbtSession *session, GbtMetainfo *metainfo, const char *download_dir)
{
  GbtTorrent *self = torrent_new (session, gbt_metainfo_get_info_hash (metainfo), download_dir);

  gbt_torrent_take_metainfo (self, metainfo);
  gbt_torrent_models_fill_trackers (self);
  return self;
}

GbtTorrent *
gbt_torrent_new_from_magnet (GbtSession *session, const GbtMagnet *magnet,
                             const char *download_dir)
{
  GbtTorrent *self = torrent_new (session, magnet->info_hash, download_dir);

  self->magnet = gbt_magnet_copy (magnet);
  if (magnet->display_name && *magnet->display_name)
    self->magnet_name = g_strdup (magnet->display_name);
  else
    {
      self->magnet_name = g_malloc (41);
      gbt_sha1_to_hex (magnet->info_hash, self->magnet_name);
    }
  /* no piece count yet: the wire parser checks lengths only */
  self->limits.max_message_len = 1024 * 1024 + 64;
  gbt_torrent_models_fill_trackers (self);
  return self;
}

/* ---- accessors ---- */

GbtTorrentState
gbt_torrent_get_state (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), GBT_TORRENT_STATE_ERROR);
  return self->state;
}

const GError *
gbt_torrent_get_error (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return self->error;
}

const guint8 *
gbt_torrent_get_info_hash (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return self->info_hash;
}

GbtMetainfo *
gbt_torrent_get_metainfo (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return self->metainfo;
}

gboolean
gbt_torrent_has_metadata (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), FALSE);
  return self->metainfo != NULL;
}

const char *
gbt_torrent_get_name (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  if (self->renamed_name)
    return self->renamed_name;
  return self->metainfo ? gbt_metainfo_get_name (self->metainfo) : self->magnet_name;
}

GbtSession *
gbt_torrent_get_session (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return self->session;
}

guint
gbt_torrent_get_n_pieces_have (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->have.n_set;
}

guint64
gbt_torrent_get_bytes_have (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->bytes_have;
}

guint64
gbt_torrent_get_bytes_wanted (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->bytes_wanted;
}

guint64
gbt_torrent_get_downloaded (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->downloaded_prev + gbt_swarm_get_downloaded (self->swarm);
}

guint64
gbt_torrent_get_wasted (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_swarm_get_wasted (self->swarm);
}

guint64
gbt_torrent_get_uploaded (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->uploaded_prev + gbt_swarm_get_uploaded (self->swarm);
}

double
gbt_torrent_get_download_rate (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_swarm_get_rate_down (self->swarm);
}

double
gbt_torrent_get_upload_rate (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_swarm_get_rate_up (self->swarm);
}

guint
gbt_torrent_get_n_peers (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_swarm_get_n_peers (self->swarm);
}

GStrv
gbt_torrent_dup_peer_sources (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return gbt_swarm_dup_peer_sources (self->swarm);
}

guint
gbt_torrent_get_n_checked (GbtTorrent *self)
{
  return self->n_checked;
}

gboolean
gbt_torrent_accept_peer (GbtTorrent *self, GbtPeer *peer, GError **error)
{
  if (!gbt_torrent_is_active (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "the torrent is not running");
      return FALSE;
    }
  return gbt_swarm_accept (self->swarm, peer, error);
}

gboolean
gbt_torrent_is_active (GbtTorrent *self)
{
  return (self->state == GBT_TORRENT_STATE_DOWNLOADING || self->state == GBT_TORRENT_STATE_SEEDING
          || self->state == GBT_TORRENT_STATE_FETCHING_METADATA)
         && !self->stopping;
}

/* ---- what the swarm asks of us ---- */

static void piece_written_cb (guint piece, GbtPieceResult result, GBytes *block_hashes,
                              const GError *error, gpointer user_data);

static void
swarm_block_cb (gpointer data, const GbtBlock *block, const guint8 *bytes, const char *from,
                gboolean complete)
{
  GbtTorrent *self = data;
  g_autoptr(GPtrArray) senders = NULL;
  g_autoptr(GBytes) piece = gbt_assembler_add (self->assembler, block, bytes, from, complete,
                                               &senders);

  if (piece == NULL)
    return;
  g_hash_table_insert (self->writing, GUINT_TO_POINTER (block->piece), g_steal_pointer (&senders));
  gbt_disk_io_write_piece_checked (self->disk_io, block->piece, piece,
                                   gbt_swarm_wants_block_hashes (self->swarm, block->piece),
                                   piece_written_cb, self);
}

static gboolean
swarm_over_buffer_limit_cb (gpointer data)
{
  GbtTorrent *self = data;
  /* at least four pieces, so big pieces still flow */
  guint64 limit = MAX (gbt_session_get_buffer_limit (self->session),
                       4 * (guint64) gbt_metainfo_get_piece_length (self->metainfo));

  return self->disk_io == NULL
         || gbt_assembler_get_buffered (self->assembler) + gbt_disk_io_get_pending_bytes (self->disk_io)
                > limit;
}

static void
piece_read_cb (guint32 piece, guint32 begin, GBytes *data, const GError *error, gpointer user_data)
{
  GbtTorrent *self = user_data;
  gbt_swarm_piece_read (self->swarm, piece, data, error);
}

static void
swarm_read_piece_cb (gpointer data, guint piece)
{
  GbtTorrent *self = data;
  g_autoptr(GError) error = NULL;

  if (self->disk_io == NULL)
    {
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "the torrent is stopped");
      gbt_swarm_piece_read (self->swarm, piece, NULL, error);
      return;
    }
  gbt_disk_io_read_block (self->disk_io, piece, 0, gbt_metainfo_get_piece_size (self->metainfo, piece),
                          piece_read_cb, self);
}

static void
swarm_connect_async_cb (gpointer data, GInetSocketAddress *address, const char *preferred,
                        const char *avoid, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  GbtTorrent *self = data;
  gbt_session_connect_async (self->session, address, gbt_torrent_get_info_hash (self), preferred,
                             avoid, cancellable, callback, user_data);
}

static GIOStream *
swarm_connect_finish_cb (GObject *source, GAsyncResult *result, const char **transport,
                         GError **error)
{
  return gbt_session_connect_finish (GBT_SESSION (source), result, transport, error);
}

static void
swarm_banned_cb (gpointer data, const char *ip)
{
  GbtTorrent *self = data;
  g_debug ("[%s] banned %s for sending bad data", gbt_torrent_get_name (self), ip);
  g_signal_emit (self, signals[SIGNAL_PEER_BANNED], 0, ip);
}

static void
swarm_dropped_cb (gpointer data, GbtPeer *peer, const GError *reason)
{
  GbtTorrent *self = data;

  g_signal_emit (self, signals[SIGNAL_PEER_DROPPED], 0, gbt_peer_get_name (peer),
                 gbt_peer_get_client (peer), reason->message);
}

static guint16
swarm_get_dht_port_cb (gpointer data)
{
  return gbt_torrent_get_dht_port (data);
}

static void
swarm_dht_port_cb (gpointer data, GbtPeer *peer, guint16 port)
{
  GbtTorrent *self = data;
  GPtrArray *sources;

  if (!self->sources_started)
    return;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_on_dht_port (g_ptr_array_index (sources, i), peer, port);
}

static const GbtSwarmOps swarm_ops = {
  .block = swarm_block_cb,
  .over_buffer_limit = swarm_over_buffer_limit_cb,
  .read_piece = swarm_read_piece_cb,
  .connect_async = swarm_connect_async_cb,
  .connect_finish = swarm_connect_finish_cb,
  .banned = swarm_banned_cb,
  .dropped = swarm_dropped_cb,
  .get_dht_port = swarm_get_dht_port_cb,
  .dht_port = swarm_dht_port_cb,
  .peer_ready = gbt_torrent_models_peer_ready,
  .peer_closed = gbt_torrent_models_peer_closed,
};

/* the session's settings for this run */
static void
torrent_configure_swarm (GbtTorrent *self)
{
  GbtSwarmConfig config = { 0 };
  GbtPluginRegistry *registry = gbt_session_get_registry (self->session);

  config.max_peers = gbt_torrent_get_effective_max_peers (self);
  config.listen_port = gbt_session_get_listen_port (self->session);
  config.bind_address = gbt_session_get_bind_inet_address (self->session);
  memcpy (config.peer_id, gbt_session_get_peer_id (self->session), 20);
  memcpy (config.info_hash, self->info_hash, 20);
  config.torrent = self;
  config.extensions = gbt_plugin_registry_get_wire_extensions (registry);
  config.have = &self->have;
  config.want = &self->want;
  config.limits = &self->limits;
  gbt_rate_limit_set_parent (self->limit_up, gbt_session_get_rate_limit (self->session, TRUE));
  gbt_rate_limit_set_parent (self->limit_down, gbt_session_get_rate_limit (self->session, FALSE));
  config.limit_up = self->limit_up;
  config.limit_down = self->limit_down;
  config.can_dial = gbt_session_get_dialers (self->session) != NULL;
  gbt_swarm_configure (self->swarm, &config);
}

/* ---- pieces ---- */

static void
torrent_check_finished (GbtTorrent *self)
{
  if (self->finished_emitted || !gbt_picker_is_done (self->picker))
    return;
  self->finished_emitted = TRUE;
  gbt_torrent_set_state (self, GBT_TORRENT_STATE_SEEDING);
  gbt_swarm_finished (self->swarm);
  for (guint i = 0; !self->completed_sent && self->trackers && i < self->trackers->len; i++)
    gbt_tracker_manager_completed (g_ptr_array_index (self->trackers, i));
  self->completed_sent = TRUE;
  gbt_resume_saver_save (self->saver, NULL, NULL);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

void
gbt_torrent_wanted_changed (GbtTorrent *self)
{
  if ((self->state != GBT_TORRENT_STATE_DOWNLOADING && self->state != GBT_TORRENT_STATE_SEEDING)
      || self->stopping)
    return;
  gbt_swarm_cancel_unwanted (self->swarm);
  /* pieces half gathered that nobody will finish now: their memory back
   * (a piece wanted again starts over) */
  if (self->assembler)
    {
      g_autoptr(GArray) partial = gbt_assembler_dup_pieces (self->assembler);

      for (guint i = 0; i < partial->len; i++)
        {
          guint piece = g_array_index (partial, guint, i);
          if (gbt_picker_get_priority (self->picker, piece) == 0)
            {
              gbt_assembler_drop (self->assembler, piece);
              gbt_picker_piece_failed (self->picker, piece);
            }
        }
    }
  if (gbt_picker_is_done (self->picker))
    torrent_check_finished (self);
  else if (self->state == GBT_TORRENT_STATE_SEEDING)
    {
      /* more is wanted: download it, and say finished again after */
      self->finished_emitted = FALSE;
      gbt_torrent_set_state (self, GBT_TORRENT_STATE_DOWNLOADING);
      gbt_swarm_wants_more (self->swarm);
    }
  if (self->state == GBT_TORRENT_STATE_DOWNLOADING)
    gbt_swarm_update_interest (self->swarm);
  gbt_swarm_kick (self->swarm);
}

static void
piece_written_cb (guint piece, GbtPieceResult result, GBytes *block_hashes, const GError *error,
                  gpointer user_data)
{
  GbtTorrent *self = user_data;
  g_autoptr(GPtrArray) senders = NULL;
  gpointer stolen = NULL;

  if (g_hash_table_steal_extended (self->writing, GUINT_TO_POINTER (piece), NULL, &stolen))
    senders = stolen;
  /* failed meanwhile (a write error): a piece written since is still on
   * disk and counts for the resume data, but nothing else moves */
  if (self->state == GBT_TORRENT_STATE_ERROR)
    {
      if (result == GBT_PIECE_RESULT_OK && !gbt_bitfield_get (&self->have, piece))
        {
          gbt_bitfield_set (&self->have, piece, TRUE);
          gbt_picker_piece_verified (self->picker, piece);
          gbt_torrent_count_have (self, piece);
        }
      return;
    }

  switch (result)
    {
    case GBT_PIECE_RESULT_OK:
      gbt_bitfield_set (&self->have, piece, TRUE);
      gbt_picker_piece_verified (self->picker, piece);
      gbt_torrent_count_have (self, piece);
      gbt_swarm_piece_passed (self->swarm, piece, senders, block_hashes);
      g_signal_emit (self, signals[SIGNAL_PIECE_VERIFIED], 0, piece);
      torrent_check_finished (self);
      break;

    case GBT_PIECE_RESULT_HASH_FAIL:
      g_debug ("[%s] piece %u failed its hash check", gbt_torrent_get_name (self), piece);
      gbt_picker_piece_failed (self->picker, piece);
      g_signal_emit (self, signals[SIGNAL_HASH_FAILED], 0, piece);
      gbt_swarm_piece_failed (self->swarm, piece, senders, block_hashes);
      break;

    case GBT_PIECE_RESULT_IO_ERROR:
      self->failed_live = TRUE;
      gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE,
                                           "%s", error ? error->message : "unknown error"));
      gbt_swarm_close_all (self->swarm);
      return;
    }
  gbt_swarm_kick (self->swarm);
}

void
gbt_torrent_add_peers (GbtTorrent *self, GPtrArray *addresses, const char *source)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (addresses != NULL);
  gbt_swarm_add_peers (self->swarm, addresses, source);
}

gboolean
gbt_torrent_add_peer_stream (GbtTorrent *self, GIOStream *stream, const char *source,
                             const char *name, GError **error)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), FALSE);
  g_return_val_if_fail (G_IS_IO_STREAM (stream), FALSE);
  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream)), FALSE);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream)),
                        FALSE);
  g_return_val_if_fail (source != NULL && name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return gbt_swarm_add_stream (self->swarm, stream, source, name, error);
}

/* ---- the once-a-second tick ---- */

void
gbt_torrent_tick (GbtTorrent *self)
{
  self->ticks++;
  /* an idle seed (no peer, none to dial, no traffic): only its clocks move,
   * and the whole tick runs once a minute all the same (each torrent in its
   * own second: thousands in one would stall the loop once a minute);
   * thousands of them cost the session next to nothing */
  if (self->state == GBT_TORRENT_STATE_SEEDING && (self->ticks + self->tick_phase) % 60 != 0
      && gbt_swarm_is_idle (self->swarm))
    {
      self->active_seconds++;
      gbt_torrent_check_seed_limits (self);
      return;
    }
  gbt_swarm_tick (self->swarm);
  gbt_torrent_files_flush (self);
  gbt_torrent_models_tick (self);
  self->active_seconds++;
  gbt_torrent_update_stats (self);
  gbt_torrent_check_seed_limits (self);
  /* latency part: spare piece buffers go back once the download idles */
  if (self->assembler)
    gbt_assembler_trim (self->assembler);
  if (self->ticks % RESUME_SAVE_INTERVAL_S == 0 && self->have.n_set != self->resume_saved_have)
    gbt_resume_saver_save (self->saver, NULL, NULL);
  /* few peers and nothing to try: ask the trackers again */
  if (self->ticks % 30 == 0 && self->trackers
      && (self->state == GBT_TORRENT_STATE_DOWNLOADING
          || self->state == GBT_TORRENT_STATE_FETCHING_METADATA)
      && gbt_swarm_get_n_peers (self->swarm) < 5)
    for (guint i = 0; i < self->trackers->len; i++)
      gbt_tracker_manager_announce_now (g_ptr_array_index (self->trackers, i));
}

void
gbt_torrent_start_ticking (GbtTorrent *self)
{
  if (self->tick_slot == 0 && self->session != NULL)
    {
      self->tick_phase = (guint) g_random_int_range (0, 60);
      gbt_session_tick_add (self->session, self, &self->tick_slot);
    }
}

gboolean
gbt_torrent_is_ticking (GbtTorrent *self)
{
  return self->tick_slot != 0;
}

void
gbt_torrent_set_tick_slot (GbtTorrent *self, guint slot)
{
  self->tick_slot = slot;
}

void
gbt_torrent_stop_ticking (GbtTorrent *self)
{
  if (self->tick_slot != 0 && self->session != NULL)
    gbt_session_tick_remove (self->session, self, &self->tick_slot);
  self->tick_slot = 0;
}

/* ---- start and stop ---- */

void
gbt_torrent_go_live (GbtTorrent *self)
{
  /* the current list: the metainfo's, plus those added, minus those removed */
  GPtrArray *tiers = gbt_torrent_dup_tier_table (self);
  g_autoptr(GError) error = NULL;

  gbt_torrent_set_state (self, gbt_picker_is_done (self->picker) ? GBT_TORRENT_STATE_SEEDING
                                                     : GBT_TORRENT_STATE_DOWNLOADING);
  /* a handler of the state change may have stopped us */
  if (self->stopping)
    {
      g_ptr_array_unref (tiers);
      return;
    }
  /* a magnet's tick and trackers run since before its metadata */
  gbt_torrent_start_ticking (self);

  if (self->trackers == NULL && tiers->len > 0 && !gbt_torrent_start_trackers (self, tiers, &error))
    {
      g_ptr_array_unref (tiers);
      gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
                                       "%s", error->message));
      return;
    }
  g_ptr_array_unref (tiers);

  if (self->resume_peers)
    {
      gbt_torrent_add_peers (self, self->resume_peers, "resume");
      g_clear_pointer (&self->resume_peers, g_ptr_array_unref);
    }
  gbt_torrent_start_sources (self);
  gbt_swarm_went_live (self->swarm);
  gbt_torrent_files_went_live (self);

  if (self->state == GBT_TORRENT_STATE_SEEDING && !self->finished_emitted)
    {
      self->finished_emitted = TRUE;
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
    }
}

/* A stopped torrent starts again from what is on disk: the stop saved
 * resume data for every verified piece, so the check trusts them; pieces
 * that were half downloaded start over. */
static void
torrent_reset_for_restart (GbtTorrent *self)
{
  self->stopping = FALSE;
  self->failed_live = FALSE;
  g_clear_pointer (&self->trackers, g_ptr_array_unref);
  g_clear_error (&self->error);
  self->finished_emitted = FALSE;
  self->completed_sent = FALSE;
  if (self->metainfo == NULL)
    return;
  gbt_torrent_forget_have (self);
  gbt_assembler_clear (self->assembler);
}

/* no piece had: the start-up check finds them again */
void
gbt_torrent_forget_have (GbtTorrent *self)
{
  gbt_bitfield_clear (&self->have);
  gbt_bitfield_init (&self->have, gbt_metainfo_get_n_pieces (self->metainfo));
  self->bytes_have = 0;
  gbt_torrent_files_reset_have (self);
  self->resume_saved_have = 0;
  self->peeked = FALSE;
  torrent_new_picker (self);
}

void
gbt_torrent_start (GbtTorrent *self)
{
  g_return_if_fail (GBT_IS_TORRENT (self));

  if (self->session == NULL)
    {
      if (self->state != GBT_TORRENT_STATE_ERROR)
        gbt_torrent_fail (self, g_error_new_literal (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED,
                                                     "the torrent's session is gone"));
      return;
    }

  /* a move or rename has paused it: it starts once that is over */
  if (self->relocating)
    {
      self->start_after_relocate = TRUE;
      return;
    }
  /* a stopped torrent's gbt_torrent_verify(): it goes live after the check */
  if (self->state == GBT_TORRENT_STATE_CHECKING && self->verify_only)
    {
      self->verify_only = FALSE;
      return;
    }
  self->verify_only = FALSE;
  if (self->state != GBT_TORRENT_STATE_STOPPED && self->state != GBT_TORRENT_STATE_ERROR)
    return;
  /* a failed torrent is stopped before it starts again; a stop that has not
   * finished yet is waited for by the caller */
  if (self->stop_running || (self->state == GBT_TORRENT_STATE_ERROR && !self->stopping))
    return;
  if (self->stopping)
    torrent_reset_for_restart (self);
  else if (self->peeked)
    gbt_torrent_forget_have (self);
  self->run++;
  torrent_configure_swarm (self);
  if (self->metainfo == NULL)
    gbt_torrent_start_magnet (self);
  else
    gbt_torrent_start_check (self);
}

/* the files where they are now (renamed, moved) */
static void
stat_files_now (GbtTorrent *self, GbtResumeData *rd)
{
  g_autofree char *dir = gbt_storage_dup_download_dir (self->storage);
  g_auto(GStrv) paths = gbt_storage_dup_paths (self->storage);

  gbt_resume_stat_files_at (rd, self->metainfo, dir, (const char *const *) paths);
}

void
gbt_torrent_detach (GbtTorrent *self)
{
  g_autoptr(GbtResumeData) rd = NULL;
  g_autoptr(GError) error = NULL;

  if (self->session == NULL)
    return;
  if (self->stop_running || self->stopping)
    {
      /* stopped, or a stop is under way and finishes on its own */
      gbt_torrent_stop_sources (self);
      self->session = NULL;
      return;
    }
  rd = self->metainfo ? resume_snapshot_cb (self) : NULL;
  self->stopping = TRUE;
  gbt_torrent_stop_ticking (self);
  gbt_torrent_stop_sources (self);
  self->session = NULL;
  gbt_swarm_close_all (self->swarm);
  torrent_shutdown_disk (self);
  g_clear_pointer (&self->trackers, g_ptr_array_unref);
  if (rd)
    {
      /* what the disk workers wrote is flushed and stat()ed before the
       * save, as the saver does on its worker */
      if (!gbt_storage_flush (self->storage, &error)
          || (stat_files_now (self, rd), !gbt_resume_save (self->resume_path, rd, &error)))
        g_warning ("[%s] resume data not saved: %s", gbt_torrent_get_name (self), error->message);
    }
  if (self->storage)
    gbt_storage_close (self->storage);
  if (self->state != GBT_TORRENT_STATE_ERROR)
    gbt_torrent_set_state (self, GBT_TORRENT_STATE_STOPPED);
}

void
gbt_torrent_max_peers_changed (GbtTorrent *self)
{
  if (self->max_peers == 0)
    gbt_swarm_set_max_peers (self->swarm, gbt_torrent_get_effective_max_peers (self));
}

guint64
gbt_torrent_get_session_downloaded (GbtTorrent *self)
{
  return gbt_swarm_get_downloaded (self->swarm);
}

guint64
gbt_torrent_get_session_uploaded (GbtTorrent *self)
{
  return gbt_swarm_get_uploaded (self->swarm);
}

/* waits for the pieces being written: what is on disk stays verified */
static void
torrent_shutdown_disk (GbtTorrent *self)
{
  if (self->disk_io)
    {
      gbt_disk_io_shutdown (self->disk_io);
      g_clear_pointer (&self->disk_io, gbt_disk_io_free);
    }
}

/* the trackers' "stopped" and the resume save run side by side */
static void
stop_part_done (GTask *task)
{
  GbtTorrent *self = g_task_get_source_object (task);
  guint *pending = g_task_get_task_data (task);

  if (--*pending > 0)
    return;
  if (self->storage)
    gbt_storage_close (self->storage);
  self->stop_running = FALSE;
  /* the trackers model says "stopped" by the time the caller hears it */
  gbt_torrent_models_refresh_trackers (self);
  if (self->state != GBT_TORRENT_STATE_ERROR)
    gbt_torrent_set_state (self, GBT_TORRENT_STATE_STOPPED);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
stop_trackers_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gbt_tracker_manager_stop_finish (NULL, result, NULL);
  stop_part_done (user_data);
}

static void
stop_saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  stop_part_done (user_data);
}

void
gbt_torrent_stop_async (GbtTorrent *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  GTask *task;
  guint *pending;

  g_return_if_fail (GBT_IS_TORRENT (self));

  /* paused for a verify, move or rename: not started again after */
  if (!self->pausing && (self->relocating || self->verify_restart))
    {
      self->stop_asked = TRUE;
      self->start_after_relocate = FALSE;
    }
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gbt_torrent_stop_async);
  pending = g_new (guint, 1);
  *pending = 2; /* resume data, and this function; then one per tracker manager */
  g_task_set_task_data (task, pending, g_free);
  self->stopping = TRUE;
  self->stop_running = TRUE;
  /* it no longer runs as far as the session state goes: saved from now on
   * as stopped, not only once the trackers are told */
  gbt_torrent_settings_changed (self);
  gbt_torrent_stop_sources (self);
  gbt_torrent_stop_ticking (self);
  gbt_swarm_close_all (self->swarm);
  torrent_shutdown_disk (self);
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      (*pending)++;
      gbt_tracker_manager_stop_async (g_ptr_array_index (self->trackers, i), stop_trackers_cb,
                                      task);
    }
  gbt_resume_saver_save (self->saver, stop_saved_cb, task);
  stop_part_done (task);
}

gboolean
gbt_torrent_stop_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
