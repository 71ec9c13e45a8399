/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTorrent: one torrent's download and upload.  It owns the picker, the
 * storage and disk worker pool, the tracker manager, the candidate peer
 * addresses and the live connections, and decides what to request from whom
 * and whom to unchoke.  Everything here runs on the session's main context;
 * hashing and disk I/O go to GbtDiskIo workers.
 *
 * Blocks are gathered in memory per piece and written only once the whole
 * piece passes its hash, so a kill at any moment leaves only verified data on
 * disk; the bytes held that way are bounded (back-pressure stops requests).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-transport.h>
#include <gbt/gbt-wire-extension.h>

#include "gbt-choker.h"
#include "gbt-disk-io.h"
#include "gbt-hash.h"
#include "gbt-resume.h"
#include "gbt-picker.h"
#include "gbt-session-private.h"
#include "gbt-storage.h"
#include "gbt-torrent-private.h"
#include "gbt-tracker-manager.h"

#define MAX_HALF_OPEN 16
#define REQUEST_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define RECHOKE_INTERVAL_S 10
#define RESUME_SAVE_INTERVAL_S 30
#define BAN_TRUST -7
#define MAX_TRUST 8
/* Requests a peer may queue with us (our "reqq").  A deep queue is what lets
 * a fast leecher keep the pipe full: at 250, libtorrent's requests ran dry
 * and 1 GiB took 4.3-5.2 s to upload to it on loopback, at 2000 1.9-2.0 s.
 * Each costs 12 bytes; what is sent stays under UPLOAD_BACKLOG. */
#define MAX_UPLOAD_QUEUE 2000
#define MIN_QUEUE 16
#define MAX_QUEUE 500

G_DEFINE_QUARK (gbt-torrent-error-quark, gbt_torrent_error)

typedef enum {
  CAND_IDLE,
  CAND_CONNECTING,
  CAND_CONNECTED,
} CandidateState;

typedef struct {
  GInetSocketAddress *address;
  char *key;
  char *source;
  CandidateState state;
  guint failures;
  gint64 next_try_us;
  GCancellable *cancellable;
  GbtTorrent *torrent;
} Candidate;

typedef struct {
  guint piece;
  guint8 *data;
  guint32 size;
  GPtrArray *contributors; /* char* ip strings */
} PieceBuf;

/* Piece buffers are recycled: a fresh multi-megabyte malloc is an mmap whose
 * pages fault in one by one and are unmapped on free, which costs more system
 * time than the download itself.  The disk workers give buffers back. */
typedef struct {
  gint ref_count;
  GMutex lock;
  GSList *free; /* buffers of @size bytes */
  guint n_free;
  guint max_free;
  gsize size;
} BufferPool;

typedef struct {
  BufferPool *pool;
  guint8 *data;
} PooledBuffer;

static BufferPool *
buffer_pool_new (gsize size, guint max_free)
{
  BufferPool *pool = g_new0 (BufferPool, 1);
  pool->ref_count = 1;
  g_mutex_init (&pool->lock);
  pool->size = size;
  pool->max_free = max_free;
  return pool;
}

static void
buffer_pool_unref (BufferPool *pool)
{
  if (!g_atomic_int_dec_and_test (&pool->ref_count))
    return;
  g_slist_free_full (pool->free, g_aligned_free);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

/* Piece buffers are page-aligned so that storage can write them with
 * O_DIRECT (gbt-storage.c); free with g_aligned_free(). */
static guint8 *
piece_alloc (gsize size)
{
  return g_aligned_alloc (1, MAX (size, 1), GBT_STORAGE_DIRECT_ALIGN);
}

static guint8 *
buffer_pool_get (BufferPool *pool)
{
  guint8 *data = NULL;

  g_mutex_lock (&pool->lock);
  if (pool->free)
    {
      data = pool->free->data;
      pool->free = g_slist_delete_link (pool->free, pool->free);
      pool->n_free--;
    }
  g_mutex_unlock (&pool->lock);
  return data ? data : piece_alloc (pool->size);
}

static void
buffer_pool_put (BufferPool *pool, guint8 *data)
{
  g_mutex_lock (&pool->lock);
  if (pool->n_free < pool->max_free)
    {
      pool->free = g_slist_prepend (pool->free, data);
      pool->n_free++;
      data = NULL;
    }
  g_mutex_unlock (&pool->lock);
  g_aligned_free (data);
}

/* GBytes free func, run on whichever thread drops the last reference */
static void
pooled_buffer_release (gpointer user_data)
{
  PooledBuffer *pb = user_data;
  buffer_pool_put (pb->pool, pb->data);
  buffer_pool_unref (pb->pool);
  g_free (pb);
}

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

  GPtrArray *peers; /* GbtPeer*, owned refs */
  GHashTable *candidates; /* key -> Candidate* */
  GHashTable *banned; /* ip string -> NULL */
  GHashTable *trust; /* ip string -> GINT_TO_POINTER (trust + 1000) */
  guint n_connecting;

  GHashTable *piece_bufs; /* piece -> PieceBuf* (gathering blocks) */
  GHashTable *writing; /* piece -> GPtrArray of contributors (in the disk pool) */
  guint64 buffered_bytes; /* in piece_bufs */

  guint tick_id;
  guint kick_id;
  guint ticks;
  GRand *rand;
  GbtChoker *choker;
  char *resume_path;
  gboolean resume_saving;
  /* asked for while one ran: saved again once it is done (the stop's save
   * must not be lost to the one started on completion) */
  gboolean resume_again;
  GPtrArray *resume_waiters; /* GTask*: their callers wait for that save */
  guint resume_saved_have; /* have.n_set at the last save */
  guint64 active_seconds;
  guint n_checked; /* pieces hashed by the start-up check */
  GPtrArray *resume_peers; /* known from last time, added once live */

  BufferPool *pool; /* buffers of piece_length bytes */
  GQueue piece_cache; /* CachedPiece*, most recently used first */
  guint64 downloaded, uploaded, wasted;
  guint64 rate_window_down, rate_window_up;
  double rate_down, rate_up;
  guint64 bytes_have;
  guint64 bytes_wanted;
  gboolean finished_emitted;
  gboolean stopping;
  gboolean stop_running; /* from gbt_torrent_stop_async() to its callback */
  guint run; /* counts starts: a worker's result for an earlier run is dropped */
  gboolean sources_started; /* the registry's peer sources (DHT, LSD...) look for us */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_NAME,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum {
  SIGNAL_PIECE_VERIFIED,
  SIGNAL_FINISHED,
  SIGNAL_PEER_BANNED,
  SIGNAL_HASH_FAILED,
  SIGNAL_METADATA_RECEIVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (GbtTorrent, gbt_torrent, G_TYPE_OBJECT)

static void torrent_connect_more (GbtTorrent *self);
static void torrent_request (GbtTorrent *self, GbtPeer *peer);
static void torrent_queue_kick (GbtTorrent *self);
static void torrent_save_resume (GbtTorrent *self, GAsyncReadyCallback callback,
                                 gpointer user_data);
static void torrent_shutdown_disk (GbtTorrent *self);
static void torrent_stop_sources (GbtTorrent *self);
static void cached_piece_free (gpointer p);

/* ---- helpers ---- */

static char *
address_ip (GInetSocketAddress *address)
{
  return g_inet_address_to_string (g_inet_socket_address_get_address (address));
}

static char *
address_key (GInetSocketAddress *address)
{
  g_autofree char *ip = address_ip (address);
  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (address));
}

static void
candidate_free (gpointer data)
{
  Candidate *c = data;
  if (c->cancellable)
    {
      g_cancellable_cancel (c->cancellable);
      g_object_unref (c->cancellable);
    }
  g_object_unref (c->address);
  g_free (c->key);
  g_free (c->source);
  g_free (c);
}

static void
piece_buf_free (gpointer data)
{
  PieceBuf *pb = data;
  g_aligned_free (pb->data); /* pooled ones were handed off before */
  g_ptr_array_unref (pb->contributors);
  g_free (pb);
}

static void
set_state (GbtTorrent *self, GbtTorrentState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
}

static void
torrent_fail (GbtTorrent *self, GError *error)
{
  g_debug ("[%s] torrent failed: %s", gbt_torrent_get_name (self), error->message);
  g_clear_error (&self->error);
  self->error = error;
  set_state (self, GBT_TORRENT_STATE_ERROR);
}

static gboolean
piece_wanted (GbtTorrent *self, guint piece)
{
  return !gbt_bitfield_get (&self->have, piece) && gbt_bitfield_get (&self->want, piece);
}

/* progress counts only the pieces the user asked for */
static void
count_have (GbtTorrent *self, guint piece)
{
  if (gbt_bitfield_get (&self->want, piece))
    self->bytes_have += gbt_metainfo_get_piece_size (self->metainfo, piece);
}

static gboolean
peer_has_wanted (GbtTorrent *self, GbtPeer *peer)
{
  if (peer->has.n_set == 0 || gbt_picker_is_done (self->picker))
    return FALSE;
  for (guint i = 0; i < self->have.n_bits; i++)
    if (gbt_bitfield_get (&peer->has, i) && piece_wanted (self, i))
      return TRUE;
  return FALSE;
}

static void
update_interest (GbtTorrent *self, GbtPeer *peer)
{
  gbt_peer_set_interested (peer, peer_has_wanted (self, peer));
}

/* ---- GObject ---- */

static void
gbt_torrent_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GbtTorrent *self = GBT_TORRENT (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_NAME:
      g_value_set_string (value, gbt_torrent_get_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
torrent_release_peers (GbtTorrent *self)
{
  while (self->peers->len > 0)
    {
      GbtPeer *peer = g_ptr_array_index (self->peers, self->peers->len - 1);
      gbt_peer_close (peer, NULL); /* removes it from self->peers */
    }
}

static void
gbt_torrent_dispose (GObject *object)
{
  GbtTorrent *self = GBT_TORRENT (object);

  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->kick_id, g_source_remove);
  torrent_stop_sources (self);
  if (self->peers)
    torrent_release_peers (self);
  torrent_shutdown_disk (self);
  g_clear_pointer (&self->trackers, g_ptr_array_unref);
  G_OBJECT_CLASS (gbt_torrent_parent_class)->dispose (object);
}

static void
gbt_torrent_finalize (GObject *object)
{
  GbtTorrent *self = GBT_TORRENT (object);

  g_clear_pointer (&self->storage, gbt_storage_free);
  g_clear_pointer (&self->picker, gbt_picker_free);
  gbt_bitfield_clear (&self->have);
  gbt_bitfield_clear (&self->want);
  g_ptr_array_unref (self->peers);
  g_hash_table_unref (self->candidates);
  g_hash_table_unref (self->banned);
  g_hash_table_unref (self->trust);
  g_hash_table_unref (self->piece_bufs);
  g_clear_pointer (&self->pool, buffer_pool_unref);
  g_queue_clear_full (&self->piece_cache, cached_piece_free);
  gbt_choker_free (self->choker);
  g_free (self->resume_path);
  /* always empty here: a waiting save's task holds a reference to us */
  g_clear_pointer (&self->resume_waiters, g_ptr_array_unref);
  g_clear_pointer (&self->resume_peers, g_ptr_array_unref);
  g_hash_table_unref (self->writing);
  g_rand_free (self->rand);
  g_clear_error (&self->error);
  g_clear_pointer (&self->metainfo, gbt_metainfo_unref);
  g_clear_pointer (&self->magnet, gbt_magnet_free);
  g_free (self->magnet_name);
  g_free (self->download_dir);
  G_OBJECT_CLASS (gbt_torrent_parent_class)->finalize (object);
}

static void
gbt_torrent_class_init (GbtTorrentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = gbt_torrent_get_property;
  object_class->dispose = gbt_torrent_dispose;
  object_class->finalize = gbt_torrent_finalize;

  /**
   * GbtTorrent:state: (type GbtTorrentState)
   *
   * Where the torrent is in its life; notified on change.
   */
  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, GBT_TYPE_TORRENT_STATE,
                                         GBT_TORRENT_STATE_STOPPED,
                                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY
                                             | G_PARAM_STATIC_STRINGS);
  props[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL,
                                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * GbtTorrent::piece-verified:
   * @self: the torrent
   * @piece: the index of a piece that passed its hash and is on disk
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
   */
  signals[SIGNAL_PEER_BANNED] = g_signal_new ("peer-banned", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * GbtTorrent::hash-failed:
   * @self: the torrent
   * @piece: a piece whose assembled data did not match its hash
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
}

static void
gbt_torrent_init (GbtTorrent *self)
{
  self->peers = g_ptr_array_new ();
  self->candidates = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, candidate_free);
  self->banned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->trust = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->piece_bufs = g_hash_table_new_full (NULL, NULL, NULL, piece_buf_free);
  self->writing = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  self->rand = g_rand_new ();
}

/* the picker's priorities and the bytes wanted, from self->want */
static void
torrent_apply_want (GbtTorrent *self)
{
  self->bytes_wanted = 0;
  for (guint p = 0; p < self->want.n_bits; p++)
    {
      gboolean w = gbt_bitfield_get (&self->want, p);
      gbt_picker_set_priority (self->picker, p, w ? 1 : 0);
      if (w)
        self->bytes_wanted += gbt_metainfo_get_piece_size (self->metainfo, p);
    }
}

/* a picker that knows no piece, for the pieces wanted */
static void
torrent_new_picker (GbtTorrent *self)
{
  g_clear_pointer (&self->picker, gbt_picker_free);
  self->picker = gbt_picker_new (gbt_metainfo_get_n_pieces (self->metainfo),
                                 gbt_metainfo_get_piece_length (self->metainfo),
                                 gbt_metainfo_get_total_size (self->metainfo));
  torrent_apply_want (self);
}

/* what follows from the metainfo: pieces, storage, buffers */
static void
torrent_take_metainfo (GbtTorrent *self, GbtMetainfo *metainfo)
{
  guint n = gbt_metainfo_get_n_pieces (metainfo);

  self->metainfo = gbt_metainfo_ref (metainfo);
  gbt_bitfield_init (&self->have, n);
  gbt_bitfield_init (&self->want, n);
  gbt_bitfield_set_all (&self->want);
  torrent_new_picker (self);
  self->limits.n_pieces = n;
  self->limits.piece_length = gbt_metainfo_get_piece_length (metainfo);
  self->limits.total_size = gbt_metainfo_get_total_size (metainfo);
  self->limits.max_message_len = MAX (1024 * 1024 + 64, gbt_bitfield_byte_len (n) + 1);
  self->storage = gbt_storage_new (metainfo, self->download_dir);
  /* always set, though only a --select run writes to it: a later run that
   * wants more files takes their share of the boundary pieces from it */
  {
    g_autofree char *parts = gbt_resume_sidecar_path (NULL, self->info_hash, ".parts");
    gbt_storage_set_parts_path (self->storage, parts);
  }
  self->pool = buffer_pool_new (gbt_metainfo_get_piece_length (metainfo), 8);
}

static GbtTorrent *
torrent_new (GbtSession *session, const guint8 *info_hash, const char *download_dir)
{
  GbtTorrent *self = g_object_new (GBT_TYPE_TORRENT, NULL);

  self->session = session;
  memcpy (self->info_hash, info_hash, 20);
  self->download_dir = g_strdup (download_dir);
  self->choker = gbt_choker_new (GBT_CHOKER_DEFAULT_SLOTS);
  self->resume_path = gbt_resume_path_for (download_dir, info_hash);
  return self;
}

GbtTorrent *
gbt_torrent_new (GbtSession *session, GbtMetainfo *metainfo, const char *download_dir)
{
  GbtTorrent *self = torrent_new (session, gbt_metainfo_get_info_hash (metainfo), download_dir);

  torrent_take_metainfo (self, metainfo);
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
  return self;
}

void
gbt_torrent_set_files_wanted (GbtTorrent *self, const gboolean *wanted, guint n_files)
{
  GbtMetainfo *mi;
  guint n_pieces;
  guint32 plen;
  gboolean all = TRUE;

  g_return_if_fail (GBT_IS_TORRENT (self));
  /* before the start, or a magnet's from metadata-received */
  g_return_if_fail (self->metainfo != NULL && self->disk_io == NULL);
  mi = self->metainfo;
  g_return_if_fail (n_files == gbt_metainfo_get_n_files (mi));

  n_pieces = gbt_metainfo_get_n_pieces (mi);
  plen = gbt_metainfo_get_piece_length (mi);
  for (guint i = 0; i < n_files; i++)
    all = all && wanted[i];
  gbt_storage_set_wanted (self->storage, wanted);

  /* a piece is wanted when any of its bytes belong to a wanted file */
  gbt_bitfield_clear (&self->want);
  gbt_bitfield_init (&self->want, n_pieces);
  for (guint i = 0; i < n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      if (!wanted[i] || f->length == 0 || (f->attr & GBT_FILE_ATTR_PAD))
        continue;
      for (guint64 p = f->offset / plen; p <= (f->offset + f->length - 1) / plen && p < n_pieces; p++)
        gbt_bitfield_set (&self->want, (guint) p, TRUE);
    }
  torrent_apply_want (self);
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
  return self->have.n_set;
}

guint64
gbt_torrent_get_bytes_have (GbtTorrent *self)
{
  return self->bytes_have;
}

guint64
gbt_torrent_get_bytes_wanted (GbtTorrent *self)
{
  return self->bytes_wanted;
}

guint64
gbt_torrent_get_downloaded (GbtTorrent *self)
{
  return self->downloaded;
}

guint64
gbt_torrent_get_uploaded (GbtTorrent *self)
{
  return self->uploaded;
}

double
gbt_torrent_get_download_rate (GbtTorrent *self)
{
  return self->rate_down;
}

double
gbt_torrent_get_upload_rate (GbtTorrent *self)
{
  return self->rate_up;
}

guint
gbt_torrent_get_n_peers (GbtTorrent *self)
{
  return self->peers->len;
}

GStrv
gbt_torrent_dup_peer_sources (GbtTorrent *self)
{
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      g_autofree char *key = NULL;
      Candidate *c;

      if (p->incoming || p->address == NULL)
        {
          g_strv_builder_add (out, "incoming");
          continue;
        }
      key = address_key (p->address);
      c = g_hash_table_lookup (self->candidates, key);
      g_strv_builder_add (out, c ? c->source : "unknown");
    }
  return g_strv_builder_end (out);
}

GStrv
gbt_torrent_dup_tracker_status (GbtTorrent *self)
{
  g_autoptr(GPtrArray) lines = NULL;

  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);

  lines = g_ptr_array_new ();
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      GbtTrackerManager *mgr = g_ptr_array_index (self->trackers, i);
      g_autoptr(GPtrArray) own = gbt_tracker_manager_dup_status (mgr);
      GInetAddress *local = gbt_tracker_manager_get_bind_address (mgr);
      const char *family = local == NULL || self->trackers->len == 1 ? NULL
                           : g_inet_address_get_family (local) == G_SOCKET_FAMILY_IPV6 ? "IPv6"
                                                                                        : "IPv4";

      for (guint j = 0; j < own->len; j++)
        g_ptr_array_add (lines, family ? g_strdup_printf ("%s %s", family,
                                                          (char *) own->pdata[j])
                                       : g_strdup (own->pdata[j]));
    }
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&lines), FALSE);
}

guint
gbt_torrent_get_n_checked (GbtTorrent *self)
{
  return self->n_checked;
}

gboolean
gbt_torrent_is_active (GbtTorrent *self)
{
  return (self->state == GBT_TORRENT_STATE_DOWNLOADING || self->state == GBT_TORRENT_STATE_SEEDING
          || self->state == GBT_TORRENT_STATE_FETCHING_METADATA)
         && !self->stopping;
}

const GbtBitfield *
gbt_torrent_get_have (GbtTorrent *self)
{
  return &self->have;
}

const GbtWireLimits *
gbt_torrent_get_wire_limits (GbtTorrent *self)
{
  return &self->limits;
}

/* ---- extension protocol (BEP 10) ---- */

typedef struct {
  const guint8 *key;
  gsize key_len;
  const guint8 *raw;
  gsize raw_len;
} ExtKey;

static int
ext_key_cmp (gconstpointer a, gconstpointer b)
{
  const ExtKey *x = a, *y = b;
  int c = memcmp (x->key, y->key, MIN (x->key_len, y->key_len));
  return c ? c : (int) x->key_len - (int) y->key_len;
}

GBytes *
gbt_torrent_build_ext_handshake (GbtTorrent *self)
{
  GbtPluginRegistry *registry = gbt_session_get_registry (self->session);
  GPtrArray *exts = gbt_plugin_registry_get_wire_extensions (registry);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GArray) extra = g_array_new (FALSE, FALSE, sizeof (ExtKey));
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_bencode_doc_free);
  guint8 scratch[64];
  g_autoptr(GByteArray) tmp = g_byte_array_new ();

  /* keys the extensions add (e.g. metadata_size), merged in sorted order */
  for (guint i = 0; exts && i < exts->len; i++)
    {
      GbtWireExtension *ext = g_ptr_array_index (exts, i);
      GbtWireExtensionInterface *iface = GBT_WIRE_EXTENSION_GET_IFACE (ext);
      g_autoptr(GBytes) b = NULL;
      GbtBencodeDoc *doc;
      GbtBencode *root;

      if (iface->get_handshake_extra == NULL)
        continue;
      b = iface->get_handshake_extra (ext, self);
      if (b == NULL)
        continue;
      doc = gbt_bencode_parse (b, NULL);
      if (doc == NULL)
        continue;
      g_ptr_array_add (docs, doc);
      root = gbt_bencode_doc_get_root (doc);
      for (guint k = 0; k < gbt_bencode_get_length (root); k++)
        {
          ExtKey e;
          GbtBencode *v = gbt_bencode_dict_nth (root, k, &e.key, &e.key_len);
          if (v == NULL)
            continue;
          e.raw = gbt_bencode_get_raw (v, &e.raw_len);
          /* the core's own keys win */
          if ((e.key_len == 1 && (e.key[0] == 'm' || e.key[0] == 'p' || e.key[0] == 'v'))
              || (e.key_len == 4 && memcmp (e.key, "reqq", 4) == 0))
            continue;
          g_array_append_val (extra, e);
        }
    }
  {
    ExtKey own[4];
    /* "m": our extension ids, 1-based in registry order */
    gbt_bencode_write_dict_start (tmp);
    for (guint i = 0; exts && i < exts->len; i++)
      {
        gbt_bencode_write_str (tmp, gbt_wire_extension_get_name (g_ptr_array_index (exts, i)));
        gbt_bencode_write_int (tmp, i + 1);
      }
    gbt_bencode_write_end (tmp);
    own[0] = (ExtKey) { (const guint8 *) "m", 1, NULL, 0 };
    own[1] = (ExtKey) { (const guint8 *) "p", 1, NULL, 0 };
    own[2] = (ExtKey) { (const guint8 *) "reqq", 4, NULL, 0 };
    own[3] = (ExtKey) { (const guint8 *) "v", 1, NULL, 0 };
    g_array_append_vals (extra, own, 4);
  }
  g_array_sort (extra, ext_key_cmp);

  gbt_bencode_write_dict_start (out);
  for (guint i = 0; i < extra->len; i++)
    {
      ExtKey *e = &g_array_index (extra, ExtKey, i);
      gbt_bencode_write_string (out, e->key, e->key_len);
      if (e->raw)
        g_byte_array_append (out, e->raw, e->raw_len);
      else if (e->key[0] == 'm')
        g_byte_array_append (out, tmp->data, tmp->len);
      else if (e->key[0] == 'p')
        gbt_bencode_write_int (out, gbt_session_get_listen_port (self->session));
      else if (e->key[0] == 'r')
        gbt_bencode_write_int (out, MAX_UPLOAD_QUEUE);
      else
        {
          g_snprintf ((char *) scratch, sizeof scratch, "gbt %s", gbt_get_version_string ());
          gbt_bencode_write_str (out, (const char *) scratch);
        }
    }
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

void
gbt_torrent_peer_extended (GbtTorrent *self, GbtPeer *peer, guint8 ext_id, const guint8 *payload,
                           gsize len)
{
  GbtPluginRegistry *registry = gbt_session_get_registry (self->session);
  GPtrArray *exts = gbt_plugin_registry_get_wire_extensions (registry);

  if (ext_id == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = g_bytes_new (payload, len);
      g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse_full (bytes, GBT_BENCODE_NONE, 32, 0, &error);
      GbtBencode *root, *m;
      gint64 reqq;

      if (doc == NULL || !gbt_bencode_is_dict (gbt_bencode_doc_get_root (doc)))
        {
          g_autoptr(GError) e = g_error_new (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                                             "bad extension handshake: %s",
                                             error ? error->message : "not a dictionary");
          gbt_peer_close (peer, e);
          return;
        }
      root = gbt_bencode_doc_get_root (doc);
      m = gbt_bencode_dict_lookup (root, "m");
      for (guint i = 0; i < gbt_bencode_get_length (m); i++)
        {
          const guint8 *k;
          gsize klen;
          GbtBencode *v = gbt_bencode_dict_nth (m, i, &k, &klen);
          g_autofree char *name = g_strndup ((const char *) k, klen);
          if (!gbt_bencode_is_int (v))
            continue;
          /* id 0 disables an extension the peer announced earlier */
          if (gbt_bencode_get_int (v) <= 0 || gbt_bencode_get_int (v) > 255)
            g_hash_table_remove (peer->ext_ids, name);
          else
            g_hash_table_insert (peer->ext_ids, g_steal_pointer (&name),
                                 GUINT_TO_POINTER ((guint) gbt_bencode_get_int (v)));
        }
      if (gbt_bencode_dict_get_int (root, "reqq", &reqq) && reqq > 0)
        peer->remote_reqq = (guint) MIN (reqq, 100000);
      if (gbt_bencode_dict_lookup (root, "v"))
        {
          g_free (peer->client);
          peer->client = gbt_bencode_dup_string (gbt_bencode_dict_lookup (root, "v"));
          if (peer->client && !g_utf8_validate (peer->client, -1, NULL))
            g_clear_pointer (&peer->client, g_free);
        }
      for (guint i = 0; exts && i < exts->len; i++)
        {
          GbtWireExtension *ext = g_ptr_array_index (exts, i);
          if (GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_handshake)
            GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_handshake (ext, peer, bytes);
        }
      return;
    }
  if (exts == NULL || ext_id > exts->len)
    {
      g_debug ("[%s] extended message for unknown id %u ignored", peer->name, ext_id);
      return;
    }
  {
    GbtWireExtension *ext = g_ptr_array_index (exts, ext_id - 1);
    g_autoptr(GBytes) bytes = g_bytes_new (payload, len);
    g_autoptr(GError) error = NULL;
    if (!GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_message (ext, peer, bytes, &error))
      {
        if (error == NULL)
          error = g_error_new (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                               "%s refused a message", gbt_wire_extension_get_name (ext));
        gbt_peer_close (peer, error);
      }
  }
}

/* ---- peers ---- */

static int
trust_get (GbtTorrent *self, const char *ip)
{
  gpointer v = g_hash_table_lookup (self->trust, ip);
  return v ? GPOINTER_TO_INT (v) - 1000 : 0;
}

static void
trust_set (GbtTorrent *self, const char *ip, int trust)
{
  g_hash_table_replace (self->trust, g_strdup (ip), GINT_TO_POINTER (trust + 1000));
}

static void
ban_ip (GbtTorrent *self, const char *ip)
{
  if (g_hash_table_contains (self->banned, ip))
    return;
  g_debug ("[%s] banning %s for sending bad data", gbt_torrent_get_name (self), ip);
  g_hash_table_add (self->banned, g_strdup (ip));
  for (guint i = self->peers->len; i > 0; i--)
    {
      GbtPeer *peer = g_ptr_array_index (self->peers, i - 1);
      g_autofree char *pip = peer->address ? address_ip (peer->address) : NULL;
      if (pip && g_str_equal (pip, ip))
        {
          g_autoptr(GError) e = g_error_new_literal (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                                                     "banned: sent data that failed hash checks");
          gbt_peer_close (peer, e);
        }
    }
  g_signal_emit (self, signals[SIGNAL_PEER_BANNED], 0, ip);
}

static gboolean
peer_requested_cb (gpointer peer_data, const GbtBlock *block)
{
  return gbt_peer_find_request (peer_data, block) >= 0;
}

static guint64
buffer_limit (GbtTorrent *self)
{
  /* at least four pieces, so big pieces still flow */
  return MAX (gbt_session_get_buffer_limit (self->session),
              4 * (guint64) gbt_metainfo_get_piece_length (self->metainfo));
}

static gboolean
over_buffer_limit (GbtTorrent *self)
{
  return self->buffered_bytes + gbt_disk_io_get_pending_bytes (self->disk_io) > buffer_limit (self);
}

static void
torrent_request (GbtTorrent *self, GbtPeer *peer)
{
  g_autoptr(GArray) blocks = NULL;
  guint target, want, got;

  if (self->state != GBT_TORRENT_STATE_DOWNLOADING || self->stopping
      || peer->state != GBT_PEER_STATE_ACTIVE || peer->peer_choking || !peer->am_interested)
    return;
  target = peer->queue_target;
  if (peer->remote_reqq)
    target = MIN (target, peer->remote_reqq);
  if (peer->requests->len >= target)
    return;
  want = target - peer->requests->len;
  /* batch small top-ups: fewer picker calls, same queue depth */
  if (want < 4 && peer->requests->len > 0)
    return;
  if (over_buffer_limit (self))
    return;
  blocks = g_array_sized_new (FALSE, FALSE, sizeof (GbtBlock), want);
  got = gbt_picker_pick (self->picker, &peer->has, want, peer_requested_cb, peer, blocks);
  for (guint i = 0; i < got; i++)
    gbt_peer_send_request (peer, &g_array_index (blocks, GbtBlock, i));
  if (got > 0 && peer->last_block_us == 0)
    peer->last_block_us = g_get_monotonic_time ();
}

static gboolean
kick_cb (gpointer user_data)
{
  GbtTorrent *self = user_data;

  self->kick_id = 0;
  for (guint i = 0; i < self->peers->len; i++)
    torrent_request (self, g_ptr_array_index (self->peers, i));
  return G_SOURCE_REMOVE;
}

static void
torrent_queue_kick (GbtTorrent *self)
{
  if (self->kick_id == 0)
    self->kick_id = g_idle_add (kick_cb, self);
}

static void
peer_return_requests (GbtTorrent *self, GbtPeer *peer)
{
  for (guint i = 0; i < peer->requests->len; i++)
    gbt_picker_unrequest (self->picker, &g_array_index (peer->requests, GbtBlock, i));
  g_array_set_size (peer->requests, 0);
}

void
gbt_torrent_peer_ready (GbtTorrent *self, GbtPeer *peer)
{
  g_debug ("[%s] peer %s ready", gbt_torrent_get_name (self), peer->name);
}

/* Two peers that both learn each other's address connect both ways at once.
 * Both sides must drop the same one of the two connections, or neither
 * survives: the one kept is the one opened by the side with the greater
 * peer id (each side knows both ids).  Two connections in the same direction
 * (one peer at two addresses): the newer goes. */
gboolean
gbt_torrent_peer_is_duplicate (GbtTorrent *self, GbtPeer *peer)
{
  const guint8 *mine = gbt_session_get_peer_id (self->session);

  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *other = g_ptr_array_index (self->peers, i);
      gboolean i_am_greater, new_opened_by_me;
      g_autoptr(GError) reason = NULL;

      if (other == peer || other->state != GBT_PEER_STATE_ACTIVE
          || memcmp (other->remote.peer_id, peer->remote.peer_id, 20) != 0)
        continue;
      if (other->incoming == peer->incoming)
        return TRUE;
      i_am_greater = memcmp (mine, peer->remote.peer_id, 20) > 0;
      new_opened_by_me = !peer->incoming;
      if (i_am_greater != new_opened_by_me)
        return TRUE;
      reason = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                    "a duplicate of a newer connection to this peer");
      gbt_peer_close (other, reason);
      return FALSE;
    }
  return FALSE;
}

/* Full: a newcomer may take the place of the oldest peer with which nothing
 * can be exchanged (neither side interested) for a while, so idle
 * connections cannot lock real peers out. */
static gboolean
torrent_make_room (GbtTorrent *self)
{
  gint64 now = g_get_monotonic_time ();
  GbtPeer *victim = NULL;
  g_autoptr(GError) reason = NULL;

  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      if (p->peer_interested || p->am_interested || now - p->connected_us < 30 * G_USEC_PER_SEC)
        continue;
      if (victim == NULL || p->connected_us < victim->connected_us)
        victim = p;
    }
  if (victim == NULL)
    return FALSE;
  reason = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                "idle: making room for a new peer");
  gbt_peer_close (victim, reason);
  return TRUE;
}

gboolean
gbt_torrent_accept_peer (GbtTorrent *self, GbtPeer *peer)
{
  g_autofree char *ip = NULL;

  if (!gbt_torrent_is_active (self))
    return FALSE;
  if (peer->address)
    {
      ip = address_ip (peer->address);
      if (g_hash_table_contains (self->banned, ip))
        return FALSE;
    }
  if (self->peers->len >= gbt_session_get_max_peers (self->session) && !torrent_make_room (self))
    return FALSE;
  g_ptr_array_add (self->peers, gbt_peer_ref (peer));
  return TRUE;
}

void
gbt_torrent_peer_closed (GbtTorrent *self, GbtPeer *peer, const GError *reason)
{
  if (!g_ptr_array_remove_fast (self->peers, peer))
    return;
  {
    GPtrArray *exts = gbt_plugin_registry_get_wire_extensions (gbt_session_get_registry (self->session));

    for (guint i = 0; exts && i < exts->len; i++)
      {
        GbtWireExtension *ext = g_ptr_array_index (exts, i);
        if (GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_peer_closed)
          GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_peer_closed (ext, peer);
      }
  }
  peer_return_requests (self, peer);
  if (peer->has.n_set > 0)
    gbt_picker_remove_peer_bitfield (self->picker, &peer->has);
  gbt_choker_forget (self->choker, peer);
  if (peer->address && !peer->incoming)
    {
      g_autofree char *key = address_key (peer->address);
      Candidate *c = g_hash_table_lookup (self->candidates, key);
      if (c && c->state == CAND_CONNECTED)
        {
          c->state = CAND_IDLE;
          /* a peer that gave us data is worth a quick retry; one that failed
           * at once waits longer each time */
          if (peer->downloaded > 0)
            c->failures = 0;
          else
            c->failures++;
          c->next_try_us = g_get_monotonic_time ()
                           + MIN (30 * (1 << MIN (c->failures, 5)), 600) * G_USEC_PER_SEC;
        }
    }
  gbt_peer_unref (peer);
  torrent_queue_kick (self);
}

/* after any change of a peer's pieces */
static void
peer_pieces_changed (GbtTorrent *self, GbtPeer *peer)
{
  /* a seed meeting a seed: nothing to exchange */
  if (self->state == GBT_TORRENT_STATE_SEEDING && gbt_bitfield_is_complete (&peer->has))
    {
      gbt_peer_close (peer, NULL);
      return;
    }
  torrent_request (self, peer);
}

void
gbt_torrent_peer_set_has (GbtTorrent *self, GbtPeer *peer, GbtBitfield *fresh)
{
  if (peer->has.n_set > 0)
    gbt_picker_remove_peer_bitfield (self->picker, &peer->has);
  gbt_bitfield_clear (&peer->has);
  peer->has = *fresh;
  if (peer->has.n_set > 0)
    gbt_picker_add_peer_bitfield (self->picker, &peer->has);
  update_interest (self, peer);
  peer_pieces_changed (self, peer);
}

void
gbt_torrent_peer_have (GbtTorrent *self, GbtPeer *peer, guint piece)
{
  if (gbt_bitfield_get (&peer->has, piece))
    return;
  gbt_bitfield_set (&peer->has, piece, TRUE);
  gbt_picker_add_peer_have (self->picker, piece);
  if (!peer->am_interested && piece_wanted (self, piece)
      && self->state == GBT_TORRENT_STATE_DOWNLOADING)
    gbt_peer_set_interested (peer, TRUE);
  peer_pieces_changed (self, peer);
}

void
gbt_torrent_peer_choke_changed (GbtTorrent *self, GbtPeer *peer)
{
  if (peer->peer_choking && !peer->fast)
    peer_return_requests (self, peer);
  torrent_request (self, peer);
}

static void
torrent_cancel_elsewhere (GbtTorrent *self, GbtPeer *from, const GbtBlock *block)
{
  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      int idx;
      if (p == from)
        continue;
      idx = gbt_peer_find_request (p, block);
      if (idx >= 0)
        {
          g_array_remove_index (p->requests, idx);
          gbt_peer_send_cancel (p, block);
        }
    }
}

static void piece_written_cb (guint piece, GbtPieceResult result, const GError *error,
                              gpointer user_data);

void
gbt_torrent_peer_block (GbtTorrent *self, GbtPeer *peer, guint32 piece, guint32 begin,
                        const guint8 *data, gsize len)
{
  GbtBlock block = { piece, begin, len };
  PieceBuf *pb;
  gboolean complete = FALSE;
  g_autofree char *ip = NULL;

  self->downloaded += len;
  self->rate_window_down += len;
  if (self->state != GBT_TORRENT_STATE_DOWNLOADING || gbt_bitfield_get (&self->have, piece))
    {
      self->wasted += len;
      return;
    }
  if (!gbt_picker_block_received (self->picker, &block, &complete))
    {
      self->wasted += len;
      torrent_request (self, peer);
      return;
    }
  if (gbt_picker_in_endgame (self->picker))
    torrent_cancel_elsewhere (self, peer, &block);

  pb = g_hash_table_lookup (self->piece_bufs, GUINT_TO_POINTER (piece));
  if (pb == NULL)
    {
      pb = g_new0 (PieceBuf, 1);
      pb->piece = piece;
      pb->size = gbt_metainfo_get_piece_size (self->metainfo, piece);
      pb->data = pb->size == self->pool->size ? buffer_pool_get (self->pool) : piece_alloc (pb->size);
      pb->contributors = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->piece_bufs, GUINT_TO_POINTER (piece), pb);
      self->buffered_bytes += pb->size;
    }
  memcpy (pb->data + begin, data, len);
  ip = peer->address ? address_ip (peer->address) : g_strdup ("?");
  if (!g_ptr_array_find_with_equal_func (pb->contributors, ip, g_str_equal, NULL))
    g_ptr_array_add (pb->contributors, g_steal_pointer (&ip));

  if (complete)
    {
      GBytes *bytes;
      if (pb->size == self->pool->size)
        {
          PooledBuffer *buf = g_new (PooledBuffer, 1);
          buf->pool = self->pool;
          g_atomic_int_inc (&self->pool->ref_count);
          buf->data = g_steal_pointer (&pb->data);
          bytes = g_bytes_new_with_free_func (buf->data, pb->size, pooled_buffer_release, buf);
        }
      else
        {
          guint8 *buf = g_steal_pointer (&pb->data);
          bytes = g_bytes_new_with_free_func (buf, pb->size, g_aligned_free, buf);
        }
      g_hash_table_insert (self->writing, GUINT_TO_POINTER (piece),
                           g_ptr_array_ref (pb->contributors));
      self->buffered_bytes -= pb->size;
      g_hash_table_remove (self->piece_bufs, GUINT_TO_POINTER (piece));
      gbt_disk_io_write_piece (self->disk_io, piece, bytes, piece_written_cb, self);
      g_bytes_unref (bytes);
    }
  torrent_request (self, peer);
}

void
gbt_torrent_peer_rejected (GbtTorrent *self, GbtPeer *peer, const GbtBlock *block)
{
  gbt_picker_unrequest (self->picker, block);
  torrent_queue_kick (self);
}

/* ---- uploads ----
 *
 * Requests are served from whole pieces read once into a small cache: a
 * peer asks for a piece's blocks one after another, and one read per piece
 * instead of one worker round-trip per 16 KiB block is what lets a seed keep
 * up with a fast leecher.  Blocks go to a peer's socket only while its send
 * backlog is small; the rest wait in incoming_requests (bounded by reqq), so
 * memory does not grow with a peer that asks faster than it reads. */

#define UPLOAD_BACKLOG (1024 * 1024)
#define PIECE_CACHE_BYTES (16 * 1024 * 1024)

typedef struct {
  guint piece;
  GBytes *data; /* NULL while being read */
} CachedPiece;

static void torrent_serve_all (GbtTorrent *self);

static CachedPiece *
cache_lookup (GbtTorrent *self, guint piece)
{
  for (GList *l = self->piece_cache.head; l; l = l->next)
    {
      CachedPiece *cp = l->data;
      if (cp->piece == piece)
        {
          /* most recently used first */
          g_queue_unlink (&self->piece_cache, l);
          g_queue_push_head_link (&self->piece_cache, l);
          return cp;
        }
    }
  return NULL;
}

static void
cached_piece_free (gpointer p)
{
  CachedPiece *cp = p;
  g_clear_pointer (&cp->data, g_bytes_unref);
  g_free (cp);
}

static void
cache_trim (GbtTorrent *self)
{
  guint64 plen = gbt_metainfo_get_piece_length (self->metainfo);
  guint max = (guint) MAX (PIECE_CACHE_BYTES / plen, 2);

  /* the oldest read pieces go; pieces still being read stay */
  for (GList *l = self->piece_cache.tail; l && self->piece_cache.length > max;)
    {
      GList *prev = l->prev;
      CachedPiece *cp = l->data;
      if (cp->data)
        {
          g_queue_delete_link (&self->piece_cache, l);
          cached_piece_free (cp);
        }
      l = prev;
    }
}

static void
piece_read_cb (guint32 piece, guint32 begin, GBytes *data, const GError *error, gpointer user_data)
{
  GbtTorrent *self = user_data;
  CachedPiece *cp = cache_lookup (self, piece);

  if (cp == NULL)
    return;
  if (data == NULL)
    {
      g_debug ("[%s] cannot read piece %u to upload: %s", gbt_torrent_get_name (self), piece,
               error ? error->message : "?");
      g_queue_remove (&self->piece_cache, cp);
      cached_piece_free (cp);
      /* drop what was asked of it: the peers will ask elsewhere */
      for (guint i = 0; i < self->peers->len; i++)
        {
          GbtPeer *p = g_ptr_array_index (self->peers, i);
          for (guint k = p->incoming_requests->len; k > 0; k--)
            {
              GbtBlock *r = &g_array_index (p->incoming_requests, GbtBlock, k - 1);
              if (r->piece != piece)
                continue;
              if (p->fast)
                gbt_peer_send_reject (p, r);
              g_array_remove_index (p->incoming_requests, k - 1);
            }
        }
      return;
    }
  cp->data = g_bytes_ref (data);
  cache_trim (self);
  torrent_serve_all (self);
}

/* sends what @peer asked for, in order, while its backlog allows */
static void
torrent_serve_peer (GbtTorrent *self, GbtPeer *peer)
{
  while (peer->incoming_requests->len > 0 && !peer->am_choking && !gbt_peer_is_closed (peer)
         && gbt_peer_get_send_backlog (peer) < UPLOAD_BACKLOG && self->disk_io != NULL)
    {
      GbtBlock r = g_array_index (peer->incoming_requests, GbtBlock, 0);
      CachedPiece *cp = cache_lookup (self, r.piece);
      g_autoptr(GBytes) slice = NULL;

      if (cp == NULL)
        {
          cp = g_new0 (CachedPiece, 1);
          cp->piece = r.piece;
          g_queue_push_head (&self->piece_cache, cp);
          gbt_disk_io_read_block (self->disk_io, r.piece, 0,
                                  gbt_metainfo_get_piece_size (self->metainfo, r.piece),
                                  piece_read_cb, self);
          return;
        }
      if (cp->data == NULL)
        return; /* being read: piece_read_cb serves it */
      g_array_remove_index (peer->incoming_requests, 0);
      if ((gsize) r.begin + r.length > g_bytes_get_size (cp->data))
        continue;
      slice = g_bytes_new_from_bytes (cp->data, r.begin, r.length);
      gbt_peer_send_piece (peer, r.piece, r.begin, slice);
      self->uploaded += r.length;
      self->rate_window_up += r.length;
    }
}

static void
torrent_serve_all (GbtTorrent *self)
{
  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      if (p->incoming_requests->len > 0)
        torrent_serve_peer (self, p);
    }
}

void
gbt_torrent_peer_drained (GbtTorrent *self, GbtPeer *peer)
{
  torrent_serve_peer (self, peer);
}

void
gbt_torrent_peer_request (GbtTorrent *self, GbtPeer *peer, const GbtBlock *block)
{
  if (peer->am_choking || block->piece >= self->have.n_bits
      || !gbt_bitfield_get (&self->have, block->piece)
      || block->length > 128 * 1024 || peer->incoming_requests->len >= MAX_UPLOAD_QUEUE)
    {
      /* BEP 6: say no instead of staying silent */
      if (peer->fast)
        gbt_peer_send_reject (peer, block);
      return;
    }
  g_array_append_val (peer->incoming_requests, *block);
  torrent_serve_peer (self, peer);
}

void
gbt_torrent_peer_cancel (GbtTorrent *self, GbtPeer *peer, const GbtBlock *block)
{
  for (guint i = 0; i < peer->incoming_requests->len; i++)
    {
      GbtBlock *r = &g_array_index (peer->incoming_requests, GbtBlock, i);
      if (r->piece == block->piece && r->begin == block->begin)
        {
          g_array_remove_index (peer->incoming_requests, i);
          return;
        }
    }
}

static void torrent_rechoke (GbtTorrent *self);

void
gbt_torrent_peer_interest_changed (GbtTorrent *self, GbtPeer *peer)
{
  /* a newly interested peer gets a free slot at once, not in up to 10 s */
  if (peer->peer_interested && peer->am_choking)
    torrent_rechoke (self);
}

/* ---- pieces ---- */

static void
torrent_check_finished (GbtTorrent *self)
{
  if (self->finished_emitted || !gbt_picker_is_done (self->picker))
    return;
  self->finished_emitted = TRUE;
  set_state (self, GBT_TORRENT_STATE_SEEDING);
  for (guint i = self->peers->len; i > 0; i--)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i - 1);
      /* endgame leftovers: tell the peers not to bother */
      for (guint k = 0; k < p->requests->len; k++)
        gbt_peer_send_cancel (p, &g_array_index (p->requests, GbtBlock, k));
      peer_return_requests (self, p);
      gbt_peer_set_interested (p, FALSE);
      /* two seeds have nothing to say to each other */
      if (gbt_bitfield_is_complete (&p->has))
        gbt_peer_close (p, NULL);
    }
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    gbt_tracker_manager_completed (g_ptr_array_index (self->trackers, i));
  torrent_save_resume (self, NULL, NULL);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

static void
piece_written_cb (guint piece, GbtPieceResult result, const GError *error, gpointer user_data)
{
  GbtTorrent *self = user_data;
  g_autoptr(GPtrArray) contributors = NULL;
  gpointer stolen = NULL;

  if (g_hash_table_steal_extended (self->writing, GUINT_TO_POINTER (piece), NULL, &stolen))
    contributors = stolen;

  switch (result)
    {
    case GBT_PIECE_RESULT_OK:
      gbt_bitfield_set (&self->have, piece, TRUE);
      gbt_picker_piece_verified (self->picker, piece);
      count_have (self, piece);
      for (guint i = 0; contributors && i < contributors->len; i++)
        {
          const char *ip = g_ptr_array_index (contributors, i);
          trust_set (self, ip, MIN (trust_get (self, ip) + 1, MAX_TRUST));
        }
      for (guint i = 0; i < self->peers->len; i++)
        {
          GbtPeer *p = g_ptr_array_index (self->peers, i);
          if (p->state == GBT_PEER_STATE_ACTIVE)
            gbt_peer_send_have (p, piece);
        }
      g_signal_emit (self, signals[SIGNAL_PIECE_VERIFIED], 0, piece);
      torrent_check_finished (self);
      break;

    case GBT_PIECE_RESULT_HASH_FAIL:
      g_debug ("[%s] piece %u failed its hash check", gbt_torrent_get_name (self), piece);
      gbt_picker_piece_failed (self->picker, piece);
      g_signal_emit (self, signals[SIGNAL_HASH_FAILED], 0, piece);
      /* trust as libtorrent keeps it: a sole contributor is the liar for
       * sure, a shared piece costs each contributor less */
      for (guint i = 0; contributors && i < contributors->len; i++)
        {
          const char *ip = g_ptr_array_index (contributors, i);
          int t = trust_get (self, ip) - (contributors->len == 1 ? 4 : 2);
          trust_set (self, ip, t);
          if (t <= BAN_TRUST)
            ban_ip (self, ip);
        }
      break;

    case GBT_PIECE_RESULT_IO_ERROR:
      torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE,
                                       "cannot write piece %u: %s", piece,
                                       error ? error->message : "unknown error"));
      torrent_release_peers (self);
      return;
    }
  torrent_queue_kick (self);
}

/* ---- connections ---- */

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Candidate *c = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = gbt_transport_connect_finish (GBT_TRANSPORT (source), result, &error);
  GbtTorrent *self;
  GbtPeer *peer;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the candidate or torrent is gone */
  self = c->torrent;
  self->n_connecting--;
  g_clear_object (&c->cancellable);
  if (stream == NULL)
    {
      g_debug ("[%s] connect to %s failed: %s", gbt_torrent_get_name (self), c->key, error->message);
      c->state = CAND_IDLE;
      c->failures++;
      c->next_try_us = g_get_monotonic_time ()
                       + MIN (15 * (1 << MIN (c->failures, 6)), 900) * G_USEC_PER_SEC;
      torrent_connect_more (self);
      return;
    }
  if (!gbt_torrent_is_active (self) || self->peers->len >= gbt_session_get_max_peers (self->session))
    {
      c->state = CAND_IDLE;
      return;
    }
  c->state = CAND_CONNECTED;
  peer = gbt_peer_new (stream, c->address, FALSE);
  g_ptr_array_add (self->peers, peer);
  gbt_peer_start (peer, self, NULL, NULL);
}

static void
torrent_connect_more (GbtTorrent *self)
{
  GbtTransport *transport;
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  guint max_peers = gbt_session_get_max_peers (self->session);
  g_autoptr(GPtrArray) ready = NULL;

  /* a seed dials too: some leechers (Transmission on loopback) never dial
   * the peers a tracker gives them, and wait to be called */
  if (!gbt_torrent_is_active (self))
    return;
  transport = gbt_session_get_transport (self->session);
  if (transport == NULL)
    return;
  if (self->peers->len + self->n_connecting >= max_peers || self->n_connecting >= MAX_HALF_OPEN)
    return;

  ready = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      if (c->state == CAND_IDLE && c->next_try_us <= now)
        g_ptr_array_add (ready, c);
    }
  /* fewest failures first, random among equals */
  for (guint i = ready->len; i > 1; i--)
    {
      guint j = g_rand_int_range (self->rand, 0, i);
      gpointer t = ready->pdata[i - 1];
      ready->pdata[i - 1] = ready->pdata[j];
      ready->pdata[j] = t;
    }
  for (guint i = 0; i < ready->len; i++)
    {
      Candidate *c = g_ptr_array_index (ready, i);
      if (self->peers->len + self->n_connecting >= max_peers || self->n_connecting >= MAX_HALF_OPEN)
        break;
      c->state = CAND_CONNECTING;
      c->cancellable = g_cancellable_new ();
      self->n_connecting++;
      gbt_transport_connect_async (transport, G_SOCKET_ADDRESS (c->address),
                                   gbt_session_get_bind_socket_address (self->session),
                                   c->cancellable, connect_cb, c);
    }
}

void
gbt_torrent_add_peers (GbtTorrent *self, GPtrArray *addresses, const char *source)
{
  guint16 own_port;
  guint added = 0;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (addresses != NULL);

  own_port = gbt_session_get_listen_port (self->session);
  for (guint i = 0; i < addresses->len; i++)
    {
      GInetSocketAddress *a = g_ptr_array_index (addresses, i);
      g_autofree char *key = NULL;
      g_autofree char *ip = NULL;
      Candidate *c;

      if (!G_IS_INET_SOCKET_ADDRESS (a) || g_inet_socket_address_get_port (a) == 0)
        continue;
      key = address_key (a);
      ip = address_ip (a);
      if (g_hash_table_contains (self->candidates, key) || g_hash_table_contains (self->banned, ip))
        continue;
      /* ourselves, as the tracker reports us back */
      if (g_inet_socket_address_get_port (a) == own_port)
        {
          GInetAddress *bind = gbt_session_get_bind_inet_address (self->session);
          g_autofree char *bip = bind ? g_inet_address_to_string (bind) : NULL;
          if (bip && g_str_equal (bip, ip))
            continue;
        }
      if (g_hash_table_size (self->candidates) >= 2000)
        break;
      c = g_new0 (Candidate, 1);
      c->address = g_object_ref (a);
      c->key = g_steal_pointer (&key);
      c->source = g_strdup (source ? source : "unknown");
      c->torrent = self;
      g_hash_table_insert (self->candidates, c->key, c);
      added++;
    }
  if (added)
    g_debug ("[%s] %u new peers from %s", gbt_torrent_get_name (self), added, source);
  torrent_connect_more (self);
}

/* ---- choking (BEP 3, mainline style) ---- */

static void
torrent_rechoke (GbtTorrent *self)
{
  g_autofree GbtChokerPeer *table = NULL;
  guint n = 0;

  if (self->metainfo == NULL)
    return; /* nothing to upload yet: everyone stays choked */
  table = g_new0 (GbtChokerPeer, MAX (self->peers->len, 1));

  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      if (p->state != GBT_PEER_STATE_ACTIVE)
        continue;
      table[n].handle = p;
      table[n].interested = p->peer_interested;
      table[n].snubbed = p->snubbed;
      table[n].rate_down = p->rate_down;
      table[n].rate_up = p->rate_up;
      table[n].connected_us = p->connected_us;
      n++;
    }
  gbt_choker_run (self->choker, table, n, self->state == GBT_TORRENT_STATE_SEEDING,
                  g_get_monotonic_time ());
  for (guint i = 0; i < n; i++)
    {
      GbtPeer *p = table[i].handle;
      gbt_peer_set_choking (p, !table[i].unchoke);
      /* BEP 3: a choke drops the peer's queued requests (BEP 6 peers are
       * told with rejects) */
      if (!table[i].unchoke && p->incoming_requests->len > 0)
        {
          if (p->fast)
            for (guint k = 0; k < p->incoming_requests->len; k++)
              gbt_peer_send_reject (p, &g_array_index (p->incoming_requests, GbtBlock, k));
          g_array_set_size (p->incoming_requests, 0);
        }
    }
}

/* ---- resume data ---- */

typedef struct {
  GbtResumeData *data;
  GbtStorage *storage;
  GbtMetainfo *mi;
  char *path;
  char *dir;
} SaveJob;

static void
save_job_free (gpointer p)
{
  SaveJob *job = p;
  gbt_resume_data_free (job->data);
  gbt_metainfo_unref (job->mi);
  g_free (job->path);
  g_free (job->dir);
  g_free (job);
}

static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SaveJob *job = task_data;
  GError *error = NULL;

  /* the contract of gbt-resume.h: every piece in the bitmap is on disk
   * before the files' sizes and mtimes are taken */
  if (!gbt_storage_flush (job->storage, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  gbt_resume_stat_files (job->data, job->mi, job->dir);
  for (guint i = 0; i < job->data->files->len; i++)
    g_array_index (job->data->files, GbtResumeFile, i).in_parts
        = gbt_storage_file_in_parts (job->storage, i);
  if (!gbt_resume_save (job->path, job->data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
finish_waiters (GPtrArray *waiters, gboolean saved)
{
  for (guint i = 0; waiters && i < waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiters, i), saved);
  if (waiters)
    g_ptr_array_unref (waiters);
}

static void torrent_start_save (GbtTorrent *self, GPtrArray *waiters);

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;
  GPtrArray *waiters = user_data;

  self->resume_saving = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error) && error)
    g_debug ("[%s] resume data not saved: %s", gbt_torrent_get_name (self), error->message);
  finish_waiters (waiters, TRUE);
  if (self->resume_again)
    {
      self->resume_again = FALSE;
      torrent_start_save (self, g_steal_pointer (&self->resume_waiters));
    }
}

/* Saves resume data on a worker, then completes @waiters (owned).  Only a
 * live torrent saves: during the check the bitmap is incomplete and would
 * make verified data look missing. */
static void
torrent_start_save (GbtTorrent *self, GPtrArray *waiters)
{
  g_autoptr(GTask) task = NULL;
  SaveJob *job;

  if (self->state != GBT_TORRENT_STATE_DOWNLOADING && self->state != GBT_TORRENT_STATE_SEEDING)
    {
      finish_waiters (waiters, FALSE);
      return;
    }
  job = g_new0 (SaveJob, 1);
  job->data = gbt_resume_data_new (self->metainfo);
  memcpy (job->data->have.bits, self->have.bits, gbt_bitfield_byte_len (self->have.n_bits));
  job->data->have.n_set = self->have.n_set;
  job->data->uploaded = self->uploaded;
  job->data->downloaded = self->downloaded;
  job->data->active_seconds = self->active_seconds;
  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);
      /* an outgoing peer's address is where it listens */
      if (!p->incoming && p->address)
        g_ptr_array_add (job->data->peers, g_object_ref (p->address));
    }
  job->storage = self->storage;
  job->mi = gbt_metainfo_ref (self->metainfo);
  job->path = g_strdup (self->resume_path);
  job->dir = g_strdup (self->download_dir);
  self->resume_saving = TRUE;
  self->resume_saved_have = self->have.n_set;
  task = g_task_new (self, NULL, save_done_cb, waiters);
  g_task_set_task_data (task, job, save_job_free);
  g_task_run_in_thread (task, save_thread);
}

/* Saves resume data; @callback (optional) runs once a save that started
 * after this call is on disk.  A call while a save runs is served by one
 * more save when that one is done. */
static void
torrent_save_resume (GbtTorrent *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *chained = callback ? g_task_new (self, NULL, callback, user_data) : NULL;
  GPtrArray *waiters = NULL;

  if (chained)
    {
      waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (waiters, chained);
    }
  if (!self->resume_saving)
    {
      torrent_start_save (self, waiters);
      return;
    }
  self->resume_again = TRUE;
  if (chained)
    {
      if (self->resume_waiters == NULL)
        self->resume_waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (self->resume_waiters, g_object_ref (chained));
      g_ptr_array_unref (waiters);
    }
}

/* ---- the once-a-second tick ---- */

static void
update_queue_target (GbtPeer *peer)
{
  /* enough requests in flight to cover about two seconds at the measured
   * rate, so one fast peer on loopback saturates while a slow one does not
   * hoard blocks */
  guint target = (guint) (peer->rate_down * 2.0 / GBT_BLOCK_SIZE);
  peer->queue_target = CLAMP (MAX (target, peer->queue_target / 2), MIN_QUEUE, MAX_QUEUE);
}

static gboolean
tick_cb (gpointer user_data)
{
  GbtTorrent *self = user_data;
  gint64 now = g_get_monotonic_time ();

  self->ticks++;
  for (guint i = self->peers->len; i > 0; i--)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i - 1);
      gbt_peer_tick (p, now);
      if (gbt_peer_is_closed (p))
        continue;
      update_queue_target (p);
      /* requests unanswered for long: the peer is snubbing us */
      if (p->requests->len > 0 && p->last_block_us && now - p->last_block_us > REQUEST_TIMEOUT_US)
        {
          p->snubbed = TRUE;
          peer_return_requests (self, p);
          p->last_block_us = now;
        }
    }
  self->rate_down = self->rate_down * 0.6 + self->rate_window_down * 0.4;
  self->rate_up = self->rate_up * 0.6 + self->rate_window_up * 0.4;
  self->rate_window_down = self->rate_window_up = 0;

  if (self->ticks % RECHOKE_INTERVAL_S == 0)
    torrent_rechoke (self);
  self->active_seconds++;
  if (self->ticks % RESUME_SAVE_INTERVAL_S == 0 && self->have.n_set != self->resume_saved_have)
    torrent_save_resume (self, NULL, NULL);
  if (self->ticks % 5 == 0 && self->state == GBT_TORRENT_STATE_DOWNLOADING)
    for (guint i = 0; i < self->peers->len; i++)
      update_interest (self, g_ptr_array_index (self->peers, i));
  /* few peers and nothing to try: ask the trackers again */
  if (self->ticks % 30 == 0 && self->trackers
      && (self->state == GBT_TORRENT_STATE_DOWNLOADING
          || self->state == GBT_TORRENT_STATE_FETCHING_METADATA)
      && self->peers->len < 5)
    for (guint i = 0; i < self->trackers->len; i++)
      gbt_tracker_manager_announce_now (g_ptr_array_index (self->trackers, i));
  torrent_connect_more (self);
  torrent_queue_kick (self);
  return G_SOURCE_CONTINUE;
}

/* ---- start and stop ---- */

static void
tracker_stats_cb (gpointer data, guint64 *uploaded, guint64 *downloaded, guint64 *left)
{
  GbtTorrent *self = data;
  *uploaded = self->uploaded;
  *downloaded = self->downloaded;
  if (self->metainfo == NULL)
    *left = 16384; /* unknown until the metadata arrives; not 0, which means a seed */
  else
    *left = self->bytes_wanted > self->bytes_have ? self->bytes_wanted - self->bytes_have : 0;
}

static void
tracker_peers_cb (gpointer data, GPtrArray *addresses, const char *url)
{
  gbt_torrent_add_peers (data, addresses, url);
}

static const GbtTrackerManagerOps tracker_ops = {
  tracker_stats_cb,
  tracker_peers_cb,
};

/* The family of a tracker URL's host when it is an IP literal, else
 * G_SOCKET_FAMILY_INVALID (a name may resolve to either). */
static GSocketFamily
tracker_url_family (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GInetAddress) ip = NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return G_SOCKET_FAMILY_INVALID;
  ip = g_inet_address_new_from_string (g_uri_get_host (uri));
  return ip ? g_inet_address_get_family (ip) : G_SOCKET_FAMILY_INVALID;
}

/* @tiers without the trackers that an address of @family cannot reach (an
 * IP literal of the other family); empty tiers dropped.  Owns its lists. */
static GPtrArray *
tiers_for_family (GPtrArray *tiers, GSocketFamily family)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint i = 0; i < tiers->len; i++)
    {
      const char *const *urls = g_ptr_array_index (tiers, i);
      g_autoptr(GStrvBuilder) keep = g_strv_builder_new ();
      GStrv kept;

      for (guint j = 0; urls && urls[j]; j++)
        {
          GSocketFamily f = tracker_url_family (urls[j]);
          if (f == G_SOCKET_FAMILY_INVALID || f == family)
            g_strv_builder_add (keep, urls[j]);
        }
      kept = g_strv_builder_end (keep);
      if (kept[0] != NULL)
        g_ptr_array_add (out, kept);
      else
        g_strfreev (kept);
    }
  return out;
}

/* BEP 7: one announce per local address we take connections on.  With a
 * bind address that is the one; listening dual-stack, one manager per
 * family, each sending from that family's wildcard address (so a tracker
 * reachable over both records both), sharing one key, and each given only
 * the trackers its family can reach; otherwise one manager that lets the
 * OS pick. */
static gboolean
torrent_start_trackers (GbtTorrent *self, GPtrArray *tiers, GError **error)
{
  GInetAddress *bind = gbt_session_get_bind_inet_address (self->session);
  g_autoptr(GPtrArray) locals = g_ptr_array_new_with_free_func (g_object_unref);
  guint32 key = g_random_int ();

  if (bind != NULL)
    g_ptr_array_add (locals, g_object_ref (bind));
  else if (gbt_session_is_dual_stack (self->session))
    {
      g_ptr_array_add (locals, g_inet_address_new_any (G_SOCKET_FAMILY_IPV4));
      g_ptr_array_add (locals, g_inet_address_new_any (G_SOCKET_FAMILY_IPV6));
    }
  else
    g_ptr_array_add (locals, NULL);

  self->trackers = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_tracker_manager_free);
  for (guint i = 0; i < locals->len; i++)
    {
      GInetAddress *local = g_ptr_array_index (locals, i);
      g_autoptr(GPtrArray) own = locals->len > 1
                                     ? tiers_for_family (tiers, g_inet_address_get_family (local))
                                     : g_ptr_array_ref (tiers);
      GbtTrackerManager *mgr;

      if (own->len == 0)
        continue;
      mgr = gbt_tracker_manager_new (gbt_session_get_registry (self->session),
                                     gbt_torrent_get_info_hash (self),
                                     gbt_session_get_peer_id (self->session),
                                     gbt_session_get_listen_port (self->session), own,
                                     &tracker_ops, self);
      g_ptr_array_add (self->trackers, mgr);
      gbt_tracker_manager_set_bind_address (mgr, local);
      gbt_tracker_manager_set_key (mgr, key);
      gbt_tracker_manager_set_announce_to_all (mgr,
                                               gbt_session_get_announce_to_all (self->session));
      if (!gbt_tracker_manager_check (mgr, error))
        {
          g_clear_pointer (&self->trackers, g_ptr_array_unref);
          return FALSE;
        }
    }
  for (guint i = 0; i < self->trackers->len; i++)
    gbt_tracker_manager_start (g_ptr_array_index (self->trackers, i));
  return TRUE;
}

/* Peer sources (GbtPeerSource plugins) look for a live torrent's peers;
 * never for a private one (BEP 27: its peers come from its trackers). */
static void
torrent_start_sources (GbtTorrent *self)
{
  GPtrArray *sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));

  if (self->sources_started || (self->metainfo && gbt_metainfo_is_private (self->metainfo)))
    return;
  self->sources_started = TRUE;
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_start (g_ptr_array_index (sources, i), self);
}

static void
torrent_stop_sources (GbtTorrent *self)
{
  GPtrArray *sources;

  if (!self->sources_started)
    return;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  self->sources_started = FALSE;
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_stop (g_ptr_array_index (sources, i), self);
}

guint16
gbt_torrent_get_dht_port (GbtTorrent *self)
{
  GPtrArray *sources;

  if (!self->sources_started)
    return 0;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  for (guint i = 0; sources && i < sources->len; i++)
    {
      guint16 port = gbt_peer_source_get_dht_port (g_ptr_array_index (sources, i), self);
      if (port)
        return port;
    }
  return 0;
}

void
gbt_torrent_peer_dht_port (GbtTorrent *self, GbtPeer *peer, guint16 port)
{
  GPtrArray *sources;

  if (!self->sources_started || port == 0)
    return;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_on_dht_port (g_ptr_array_index (sources, i), peer, port);
}

static void
torrent_go_live (GbtTorrent *self)
{
  GPtrArray *tiers = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < gbt_metainfo_get_n_tiers (self->metainfo); i++)
    g_ptr_array_add (tiers, (gpointer) gbt_metainfo_get_tier (self->metainfo, i));

  set_state (self, gbt_picker_is_done (self->picker) ? GBT_TORRENT_STATE_SEEDING
                                                     : GBT_TORRENT_STATE_DOWNLOADING);
  /* a magnet's tick and trackers run since before its metadata */
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (1, tick_cb, self);

  if (self->trackers == NULL && tiers->len > 0 && !torrent_start_trackers (self, tiers, &error))
    {
      g_ptr_array_unref (tiers);
      torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
                                       "%s", error->message));
      return;
    }
  g_ptr_array_unref (tiers);

  if (self->resume_peers)
    {
      gbt_torrent_add_peers (self, self->resume_peers, "resume");
      g_clear_pointer (&self->resume_peers, g_ptr_array_unref);
    }
  torrent_start_sources (self);
  /* peers that came before the metadata (magnet) were told we have
   * nothing: now they learn what the check found, and we what we want */
  for (guint i = 0; i < self->peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (self->peers, i);

      if (p->state != GBT_PEER_STATE_ACTIVE)
        continue;
      for (guint k = 0; self->have.n_set > 0 && k < self->have.n_bits; k++)
        if (gbt_bitfield_get (&self->have, k))
          gbt_peer_send_have (p, k);
      if (self->state == GBT_TORRENT_STATE_DOWNLOADING)
        update_interest (self, p);
    }
  if (self->peers->len > 0)
    torrent_queue_kick (self);

  if (self->state == GBT_TORRENT_STATE_SEEDING && !self->finished_emitted)
    {
      self->finished_emitted = TRUE;
      g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
    }
}

static void
create_files_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (!gbt_storage_create_files (task_data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
create_files_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && !self->stopping
      && GPOINTER_TO_UINT (user_data) == self->run)
    {
      torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE, "%s",
                                       error->message));
      return;
    }
  if (error || self->stopping || GPOINTER_TO_UINT (user_data) != self->run)
    return;
  torrent_go_live (self);
}

static void
verify_done_cb (const GbtBitfield *have, const GError *error, gpointer user_data)
{
  GbtTorrent *self = user_data;
  g_autoptr(GTask) task = NULL;

  if (error)
    {
      torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE,
                                       "cannot check existing data: %s", error->message));
      return;
    }
  for (guint i = 0; i < have->n_bits; i++)
    if (gbt_bitfield_get (have, i))
      {
        gbt_bitfield_set (&self->have, i, TRUE);
        gbt_picker_set_have (self->picker, i);
        count_have (self, i);
      }
  g_debug ("[%s] %u of %u pieces already on disk", gbt_torrent_get_name (self), self->have.n_set,
           self->have.n_bits);
  task = g_task_new (self, NULL, create_files_cb, GUINT_TO_POINTER (self->run));
  g_task_set_task_data (task, self->storage, NULL);
  g_task_run_in_thread (task, create_files_thread);
}

typedef struct {
  GbtResumeData *data;
  GbtBitfield trusted;
  GbtBitfield recheck;
} LoadResult;

static void
load_result_free (gpointer p)
{
  LoadResult *r = p;
  gbt_resume_data_free (r->data);
  gbt_bitfield_clear (&r->trusted);
  gbt_bitfield_clear (&r->recheck);
  g_free (r);
}

/* Blocking.  Files whose share of verified boundary pieces was kept in the
 * parts file, and which are wanted now: their bytes are copied into them.
 * The files change, so the pieces touching them are hashed again before
 * they count; a piece that cannot be moved is forgotten (downloaded again),
 * never trusted with its bytes in the wrong place. */
static void
adopt_parts (GbtTorrent *self, GbtResumeData *data)
{
  GbtMetainfo *mi = self->metainfo;
  guint n_files = gbt_metainfo_get_n_files (mi);
  guint32 plen = gbt_metainfo_get_piece_length (mi);
  GbtBitfield moved, touched;
  gboolean any = FALSE;

  gbt_bitfield_init (&moved, n_files);
  for (guint i = 0; i < n_files; i++)
    if (g_array_index (data->files, GbtResumeFile, i).in_parts
        && !gbt_storage_file_in_parts (self->storage, i))
      {
        gbt_bitfield_set (&moved, i, TRUE);
        any = TRUE;
      }
  /* the had pieces touching a moved file, each copied once (a piece can
   * span several moved files: one call moves all their shares) */
  gbt_bitfield_init (&touched, gbt_metainfo_get_n_pieces (mi));
  for (guint i = 0; any && i < n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);

      if (!gbt_bitfield_get (&moved, i) || f->length == 0)
        continue;
      for (guint64 p = f->offset / plen; p <= (f->offset + f->length - 1) / plen; p++)
        if (gbt_bitfield_get (&data->have, (guint) p))
          gbt_bitfield_set (&touched, (guint) p, TRUE);
    }
  for (guint p = 0; touched.n_set > 0 && p < touched.n_bits; p++)
    {
      g_autoptr(GError) error = NULL;

      if (!gbt_bitfield_get (&touched, p))
        continue;
      if (!gbt_storage_adopt_parts (self->storage, (guint64) p * plen,
                                    gbt_metainfo_get_piece_size (mi, p), &moved, &error))
        {
          g_debug ("[%s] piece %u not taken from the parts file: %s",
                   gbt_torrent_get_name (self), p, error->message);
          gbt_bitfield_set (&data->have, p, FALSE);
        }
    }
  gbt_bitfield_clear (&touched);
  gbt_bitfield_clear (&moved);
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GbtTorrent *self = source;
  GError *error = NULL;
  LoadResult *r;
  GbtResumeData *data;

  /* before any I/O: unwanted files already on disk keep their bytes */
  gbt_storage_place_files (self->storage);
  data = gbt_resume_load (self->resume_path, self->metainfo, &error);
  if (data == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  adopt_parts (self, data);
  r = g_new0 (LoadResult, 1);
  r->data = data;
  gbt_resume_trusted_pieces (data, self->metainfo, self->download_dir, &r->trusted, &r->recheck);
  g_task_return_pointer (task, r, load_result_free);
}

static void
resume_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;
  LoadResult *r = g_task_propagate_pointer (G_TASK (result), &error);

  if (self->stopping || self->disk_io == NULL || GPOINTER_TO_UINT (user_data) != self->run)
    {
      if (r)
        load_result_free (r);
      return;
    }
  if (r == NULL)
    {
      /* no resume data, or not for this torrent: check everything */
      if (!g_error_matches (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_NOT_FOUND))
        g_debug ("[%s] ignoring resume data: %s", gbt_torrent_get_name (self), error->message);
      self->n_checked = self->have.n_bits;
      gbt_disk_io_verify (self->disk_io, NULL, NULL, verify_done_cb, self);
      return;
    }
  for (guint i = 0; i < r->trusted.n_bits; i++)
    if (gbt_bitfield_get (&r->trusted, i))
      {
        gbt_bitfield_set (&self->have, i, TRUE);
        gbt_picker_set_have (self->picker, i);
        count_have (self, i);
      }
  self->active_seconds = r->data->active_seconds;
  g_debug ("[%s] resume data: %u pieces trusted, %u to check", gbt_torrent_get_name (self),
           r->trusted.n_set, r->recheck.n_set);
  /* peers known from last time join the candidates once we are live */
  if (r->data->peers->len > 0)
    self->resume_peers = g_ptr_array_ref (r->data->peers);
  self->n_checked = r->recheck.n_set;
  if (r->recheck.n_set > 0)
    gbt_disk_io_verify (self->disk_io, &r->recheck, NULL, verify_done_cb, self);
  else
    {
      GbtBitfield none;
      gbt_bitfield_init (&none, self->have.n_bits);
      verify_done_cb (&none, NULL, self);
      gbt_bitfield_clear (&none);
    }
  load_result_free (r);
}

/* resume data tells which pieces need no re-hashing; reading it and
 * stat()ing the files blocks, so it runs on a worker */
static void
torrent_start_check (GbtTorrent *self)
{
  g_autoptr(GTask) task = NULL;

  set_state (self, GBT_TORRENT_STATE_CHECKING);
  self->disk_io = gbt_disk_io_new (self->metainfo, self->storage, 0);
  task = g_task_new (self, NULL, resume_loaded_cb, GUINT_TO_POINTER (self->run));
  g_task_run_in_thread (task, load_thread);
}

typedef struct {
  GbtTorrent *torrent; /* a reference, held while resolving */
  guint16 port;
} MagnetLookup;

static void
magnet_resolved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MagnetLookup *lookup = user_data;
  GbtTorrent *self = lookup->torrent;
  g_autoptr(GError) error = NULL;
  GList *ips = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  if (ips && !self->stopping)
    {
      g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);
      for (GList *l = ips; l; l = l->next)
        g_ptr_array_add (found, g_inet_socket_address_new (l->data, lookup->port));
      gbt_torrent_add_peers (self, found, "magnet");
    }
  else if (error)
    g_debug ("[%s] magnet peer not resolved: %s", gbt_torrent_get_name (self), error->message);
  g_resolver_free_addresses (ips);
  g_object_unref (self);
  g_free (lookup);
}

/* the magnet's x.pe peers: IP literals at once, names once resolved */
static void
magnet_add_peers (GbtTorrent *self)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; self->magnet->peers[i]; i++)
    {
      g_autoptr(GSocketConnectable) where = g_network_address_parse (self->magnet->peers[i], 0, NULL);
      const char *host;
      guint16 port;
      g_autoptr(GInetAddress) ip = NULL;

      if (where == NULL)
        continue;
      host = g_network_address_get_hostname (G_NETWORK_ADDRESS (where));
      port = g_network_address_get_port (G_NETWORK_ADDRESS (where));
      if (port == 0)
        continue;
      ip = g_inet_address_new_from_string (host);
      if (ip)
        g_ptr_array_add (found, g_inet_socket_address_new (ip, port));
      else
        {
          g_autoptr(GResolver) resolver = g_resolver_get_default ();
          MagnetLookup *lookup = g_new (MagnetLookup, 1);

          lookup->torrent = g_object_ref (self);
          lookup->port = port;
          g_resolver_lookup_by_name_async (resolver, host, NULL, magnet_resolved_cb, lookup);
        }
    }
  if (found->len > 0)
    gbt_torrent_add_peers (self, found, "magnet");
}

/* DIR/.gbt/<info-hash>.info: a magnet's info dictionary, kept once fetched
 * so that a restart (after a kill, say) needs no peer to get it again */
static char *
torrent_info_cache_path (GbtTorrent *self)
{
  return gbt_resume_sidecar_path (self->download_dir, self->info_hash, ".info");
}

static void
info_cache_save_thread (GTask *task, gpointer source, gpointer task_data,
                        GCancellable *cancellable)
{
  GBytes *info = g_object_get_data (G_OBJECT (task), "info");
  const char *path = task_data;
  g_autofree char *dir = g_path_get_dirname (path);
  GError *error = NULL;

  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents (path, g_bytes_get_data (info, NULL), (gssize) g_bytes_get_size (info),
                               &error))
    g_debug ("metadata not kept in %s: %s", path, error ? error->message : g_strerror (errno));
  g_clear_error (&error);
  g_task_return_boolean (task, TRUE);
}

/* ---- metadata: hashed and parsed on a worker ---- */

typedef struct {
  GBytes *info; /* NULL: read from cache_path first */
  char *cache_path;
  guint8 info_hash[20];
} MetadataJob;

static void
metadata_job_free (gpointer p)
{
  MetadataJob *job = p;
  g_clear_pointer (&job->info, g_bytes_unref);
  g_free (job->cache_path);
  g_free (job);
}

/* The info dictionary checked against the info-hash and parsed: SHA-1 and
 * bencode of up to 16 MiB do not belong on the main loop. */
static void
metadata_parse_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MetadataJob *job = task_data;
  GError *error = NULL;
  GbtMetainfo *mi;

  if (job->info == NULL)
    {
      char *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (job->cache_path, &data, &len, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      job->info = g_bytes_new_take (data, len);
    }
  mi = gbt_metainfo_new_from_info (job->info, job->info_hash, &error);
  if (mi == NULL)
    {
      g_task_return_new_error (task, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                               "bad metadata: %s", error->message);
      g_error_free (error);
      return;
    }
  g_task_return_pointer (task, mi, (GDestroyNotify) gbt_metainfo_unref);
}

static void torrent_take_metadata (GbtTorrent *self, GbtMetainfo *mi, GBytes *info, gboolean keep);

/* @outer: the caller's task of gbt_torrent_set_metadata_async(), or NULL
 * for the copy kept by an earlier run */
static void
metadata_parsed_cb (GObject *source, GAsyncResult *result, gpointer outer)
{
  GbtTorrent *self = GBT_TORRENT (source);
  MetadataJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = g_task_propagate_pointer (G_TASK (result), &error);

  if (mi != NULL && self->metainfo != NULL)
    g_set_error_literal (&error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                         "the torrent has its metadata already");
  else if (mi != NULL)
    torrent_take_metadata (self, mi, job->info, outer != NULL);
  if (outer == NULL)
    {
      if (error && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("[%s] kept metadata not used: %s", gbt_torrent_get_name (self), error->message);
      return;
    }
  if (error)
    g_task_return_error (outer, g_steal_pointer (&error));
  else
    g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
}

static void
torrent_parse_metadata (GbtTorrent *self, GBytes *info, GTask *outer)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, metadata_parsed_cb, outer);
  MetadataJob *job = g_new0 (MetadataJob, 1);

  job->info = info ? g_bytes_ref (info) : NULL;
  job->cache_path = info ? NULL : torrent_info_cache_path (self);
  memcpy (job->info_hash, self->info_hash, 20);
  g_task_set_task_data (task, job, metadata_job_free);
  g_task_run_in_thread (task, metadata_parse_thread);
}

/* A magnet: no pieces yet.  Announce to its trackers, connect to its
 * peers, and wait for a metadata extension to call
 * gbt_torrent_set_metadata_async() (or for the copy kept by an earlier run). */
static void
torrent_start_magnet (GbtTorrent *self)
{
  g_autoptr(GPtrArray) tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GError) error = NULL;

  {
    GPtrArray *exts = gbt_plugin_registry_get_wire_extensions (gbt_session_get_registry (self->session));
    gboolean can_fetch = FALSE;

    for (guint i = 0; exts && i < exts->len; i++)
      can_fetch = can_fetch
                  || g_strcmp0 (gbt_wire_extension_get_name (g_ptr_array_index (exts, i)),
                                "ut_metadata") == 0;
    if (!can_fetch)
      {
        torrent_fail (self, g_error_new_literal (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                                                 "a magnet link needs a ut_metadata extension to "
                                                 "fetch the metadata (the metadata plugin), and "
                                                 "none is loaded"));
        return;
      }
  }
  set_state (self, GBT_TORRENT_STATE_FETCHING_METADATA);
  self->tick_id = g_timeout_add_seconds (1, tick_cb, self);
  /* each tr= is a tier of its own, tried in order (as BEP 12 tiers) */
  for (guint i = 0; self->magnet->trackers[i]; i++)
    {
      char **tier = g_new0 (char *, 2);
      tier[0] = g_strdup (self->magnet->trackers[i]);
      g_ptr_array_add (tiers, tier);
    }
  if (tiers->len > 0 && !torrent_start_trackers (self, tiers, &error))
    {
      torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
                                       "%s", error->message));
      return;
    }
  magnet_add_peers (self);
  torrent_start_sources (self);
  torrent_parse_metadata (self, NULL, NULL); /* the copy an earlier run kept, if any */
}

/* A stopped torrent starts again from what is on disk: the stop saved
 * resume data for every verified piece, so the check trusts them; pieces
 * that were half downloaded start over. */
static void
torrent_reset_for_restart (GbtTorrent *self)
{
  GHashTableIter iter;
  gpointer value;

  self->stopping = FALSE;
  g_clear_pointer (&self->trackers, g_ptr_array_unref);
  g_clear_error (&self->error);
  self->finished_emitted = FALSE;
  self->n_connecting = 0;
  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      c->state = CAND_IDLE;
      c->failures = 0;
      c->next_try_us = 0;
    }
  if (self->metainfo == NULL)
    return;
  gbt_bitfield_clear (&self->have);
  gbt_bitfield_init (&self->have, gbt_metainfo_get_n_pieces (self->metainfo));
  self->bytes_have = 0;
  self->resume_saved_have = 0;
  g_hash_table_remove_all (self->piece_bufs);
  self->buffered_bytes = 0;
  g_queue_clear_full (&self->piece_cache, cached_piece_free);
  torrent_new_picker (self);
}

void
gbt_torrent_start (GbtTorrent *self)
{
  g_return_if_fail (GBT_IS_TORRENT (self));

  if (self->state != GBT_TORRENT_STATE_STOPPED && self->state != GBT_TORRENT_STATE_ERROR)
    return;
  /* a failed torrent is stopped before it starts again; a stop that has not
   * finished yet is waited for by the caller */
  if (self->stop_running || (self->state == GBT_TORRENT_STATE_ERROR && !self->stopping))
    return;
  if (self->stopping)
    torrent_reset_for_restart (self);
  self->run++;
  if (self->metainfo == NULL)
    torrent_start_magnet (self);
  else
    torrent_start_check (self);
}

/* On the main loop, with @mi checked and parsed: the torrent goes on as if
 * started from a .torrent file (@keep: write @info to the cache). */
static void
torrent_take_metadata (GbtTorrent *self, GbtMetainfo *mi, GBytes *info, gboolean keep)
{
  g_autoptr(GPtrArray) peers = NULL;

  torrent_take_metainfo (self, mi);
  g_debug ("[%s] metadata received: %u pieces", gbt_torrent_get_name (self),
           gbt_metainfo_get_n_pieces (mi));
  if (gbt_metainfo_is_private (mi))
    torrent_stop_sources (self); /* looked for peers before we knew */
  if (keep)
    {
      g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);
      g_object_set_data_full (G_OBJECT (task), "info", g_bytes_ref (info),
                              (GDestroyNotify) g_bytes_unref);
      g_task_set_task_data (task, torrent_info_cache_path (self), g_free);
      g_task_run_in_thread (task, info_cache_save_thread);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_NAME]);
  g_signal_emit (self, signals[SIGNAL_METADATA_RECEIVED], 0);
  if (self->stopping || self->state != GBT_TORRENT_STATE_FETCHING_METADATA)
    return; /* stopped meanwhile: the next start checks the data */
  /* the connected peers' piece sets, kept aside until now */
  peers = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_peer_unref);
  for (guint i = 0; i < self->peers->len; i++)
    g_ptr_array_add (peers, gbt_peer_ref (g_ptr_array_index (self->peers, i)));
  for (guint i = 0; i < peers->len; i++)
    gbt_peer_metadata_arrived (g_ptr_array_index (peers, i));
  torrent_start_check (self);
}

void
gbt_torrent_set_metadata_async (GbtTorrent *self, GBytes *info, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (info != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, gbt_torrent_set_metadata_async);
  if (self->metainfo != NULL)
    {
      g_task_return_new_error (outer, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                               "the torrent has its metadata already");
      g_object_unref (outer);
      return;
    }
  torrent_parse_metadata (self, info, outer);
}

gboolean
gbt_torrent_set_metadata_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
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
  if (self->state != GBT_TORRENT_STATE_ERROR)
    set_state (self, GBT_TORRENT_STATE_STOPPED);
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
  GHashTableIter iter;
  gpointer value;
  guint *pending;

  g_return_if_fail (GBT_IS_TORRENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gbt_torrent_stop_async);
  pending = g_new (guint, 1);
  *pending = 2; /* resume data, and this function; then one per tracker manager */
  g_task_set_task_data (task, pending, g_free);
  self->stopping = TRUE;
  self->stop_running = TRUE;
  torrent_stop_sources (self);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->kick_id, g_source_remove);
  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      if (c->cancellable)
        {
          g_cancellable_cancel (c->cancellable);
          g_clear_object (&c->cancellable);
          self->n_connecting--;
        }
      if (c->state == CAND_CONNECTING)
        c->state = CAND_IDLE;
    }
  torrent_release_peers (self);
  torrent_shutdown_disk (self);
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      (*pending)++;
      gbt_tracker_manager_stop_async (g_ptr_array_index (self->trackers, i), stop_trackers_cb,
                                      task);
    }
  torrent_save_resume (self, stop_saved_cb, task);
  stop_part_done (task);
}

gboolean
gbt_torrent_stop_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
