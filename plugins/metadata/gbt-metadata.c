/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 9 (ut_metadata), the serving side: a peer that joined from a magnet
 * link asks for the info dictionary in 16 KiB blocks, and gets each block
 * with the dictionary's total size, straight from the exact info bytes
 * whose SHA-1 is the info-hash.  Messages are a bencoded dictionary
 * (msg_type, piece), a data message followed by the block.  Unknown message
 * types are ignored, as the BEP asks; a request for a block that does not
 * exist gets a reject.  A peer may ask for each block a few times over, not
 * without end: past that, it is only rejected (what a reject costs is a few
 * bytes, what a block costs is 16 KiB of its send queue).
 *
 * The fetching side, for a torrent started from a magnet link: peers whose
 * extension handshake names ut_metadata and a metadata_size are asked for
 * the blocks, a few at a time each, spread over the peers that announced
 * the same size.  The whole dictionary goes to
 * gbt_torrent_set_metadata_async(), which checks it against the info-hash
 * on a worker; nothing more is asked meanwhile.  If it does not match, one
 * of the peers lied; from then on each attempt takes every block from a
 * single peer, so a peer whose copy fails is known and dropped.  A peer
 * that rejects or does not answer in time is asked again 30 s later.
 */
#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-torrent.h>

#include "gbt-metadata.h"
#include "gbt-context.h"

/* each block may be served this many times to one peer */
#define MAX_SENDS_PER_BLOCK 4
/* the largest info dictionary fetched (libtorrent's default cap is larger,
 * but a 16 MiB dictionary already lists about 800 000 pieces) */
#define MAX_METADATA_SIZE (16 * 1024 * 1024)
/* requests in flight per peer, and how long one may stay unanswered */
#define MAX_OUTSTANDING 4
#define REQUEST_TIMEOUT_US (15 * G_USEC_PER_SEC)
/* a peer that rejected (it may be fetching the metadata itself) or was too
 * slow is asked again after this long; one whose copy failed never */
#define RETRY_US (30 * G_USEC_PER_SEC)

typedef struct {
  gsize size; /* their metadata_size */
  guint outstanding;
  gboolean useless; /* rejected, timed out or sent a copy that failed */
  gboolean liar; /* sent a copy that failed: useless for good */
  gint64 useless_since;
} Source;

/* One torrent's fetch.  Peers are not referenced: on_peer_closed forgets
 * them before they go. */
typedef struct {
  GbtMetadataExtension *ext;
  GbtTorrent *torrent; /* weak */
  GHashTable *sources; /* GbtPeer* -> Source* */
  gboolean single_source; /* after a copy failed its hash */
  GbtPeer *single; /* the one peer this attempt takes blocks from */
  /* the attempt: blocks of size bytes */
  gsize size;
  guint n_blocks;
  guint n_got;
  guint8 *buf;
  gboolean *got;
  GbtPeer **asked; /* who each block is asked of, or NULL */
  gint64 *asked_us;
  guint timer_id;
  /* a whole copy is with the torrent, being checked: nothing is asked
   * meanwhile; verifying_from: the one peer it came from, or NULL */
  gboolean verifying;
  GbtPeer *verifying_from;
} Fetch;

struct _GbtMetadataExtension {
  GObject parent_instance;
  GHashTable *served; /* GbtPeer* (not referenced) -> blocks served, as a count */
  GHashTable *fetches; /* GbtTorrent* (weak) -> Fetch* */
};

static void gbt_metadata_extension_iface_init (GbtWireExtensionInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtMetadataExtension, gbt_metadata_extension, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_WIRE_EXTENSION,
                                                      gbt_metadata_extension_iface_init))

static const char *
metadata_get_name (GbtWireExtension *ext)
{
  return "ut_metadata";
}

/* ---- fetching (magnet links) ---- */

static void fetch_pump (Fetch *f);

static void
fetch_reset_attempt (Fetch *f)
{
  g_clear_pointer (&f->buf, g_free);
  g_clear_pointer (&f->got, g_free);
  g_clear_pointer (&f->asked, g_free);
  g_clear_pointer (&f->asked_us, g_free);
  f->size = 0;
  f->n_blocks = f->n_got = 0;
  f->single = NULL;
}

static void
fetch_free (gpointer p)
{
  Fetch *f = p;

  g_clear_handle_id (&f->timer_id, gbt_source_remove);
  fetch_reset_attempt (f);
  g_hash_table_unref (f->sources);
  g_free (f);
}

static void
fetch_torrent_gone (gpointer data, GObject *where_the_object_was)
{
  Fetch *f = data;

  g_hash_table_remove (f->ext->fetches, where_the_object_was); /* frees f */
}

/* the blocks asked of @peer go back to the pool */
static void
fetch_unask (Fetch *f, GbtPeer *peer)
{
  Source *src = g_hash_table_lookup (f->sources, peer);

  for (guint i = 0; i < f->n_blocks; i++)
    if (f->asked[i] == peer)
      f->asked[i] = NULL;
  if (src)
    src->outstanding = 0;
}

static gboolean
usable (Fetch *f, GbtPeer *peer, Source *src)
{
  return !src->useless && (f->size == 0 || src->size == f->size)
         && (!f->single_source || f->single == NULL || f->single == peer);
}

static void
send_request (GbtPeer *peer, guint block)
{
  g_autofree char *msg = g_strdup_printf ("d8:msg_typei%de5:piecei%uee", GBT_METADATA_REQUEST,
                                          block);
  g_autoptr(GBytes) bytes = g_bytes_new (msg, strlen (msg));

  gbt_peer_send_extended (peer, "ut_metadata", bytes);
}

/* a peer the attempt may ask (any usable one when none runs), or NULL */
static GbtPeer *
first_usable (Fetch *f, Source **src)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, f->sources);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (usable (f, key, value))
      {
        if (src)
          *src = value;
        return key;
      }
  return NULL;
}

/* Starts an attempt if none runs (over, when nobody can serve the one that
 * ran), then asks for the blocks nobody is asked for, each of the peer with
 * the fewest requests in flight. */
static void
fetch_pump (Fetch *f)
{
  GHashTableIter iter;
  gpointer key, value;

  if (f->verifying || gbt_torrent_has_metadata (f->torrent)
      || gbt_torrent_get_state (f->torrent) != GBT_TORRENT_STATE_FETCHING_METADATA)
    return;
  /* its one peer left, or none left with its size */
  if (f->size != 0 && ((f->single_source && f->single == NULL) || first_usable (f, NULL) == NULL))
    fetch_reset_attempt (f);
  if (f->size == 0)
    {
      /* any usable peer's size: one lying about it costs an attempt */
      Source *src = NULL;
      GbtPeer *peer = first_usable (f, &src);

      if (peer == NULL)
        return;
      f->size = src->size;
      if (f->single_source)
        f->single = peer;
      f->n_blocks = (guint) ((f->size + GBT_METADATA_BLOCK - 1) / GBT_METADATA_BLOCK);
      f->buf = g_malloc (f->size);
      f->got = g_new0 (gboolean, f->n_blocks);
      f->asked = g_new0 (GbtPeer *, f->n_blocks);
      f->asked_us = g_new0 (gint64, f->n_blocks);
      g_debug ("fetching %" G_GSIZE_FORMAT " bytes of metadata%s", f->size,
               f->single_source ? " from one peer" : "");
    }
  for (guint b = 0; b < f->n_blocks; b++)
    {
      GbtPeer *best = NULL;
      Source *best_src = NULL;

      if (f->got[b] || f->asked[b])
        continue;
      g_hash_table_iter_init (&iter, f->sources);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          Source *src = value;
          if (usable (f, key, src) && src->outstanding < MAX_OUTSTANDING
              && (best_src == NULL || src->outstanding < best_src->outstanding))
            {
              best = key;
              best_src = src;
            }
        }
      if (best == NULL)
        break;
      f->asked[b] = best;
      f->asked_us[b] = g_get_monotonic_time ();
      best_src->outstanding++;
      send_request (best, b);
    }
}

/* @peer is asked nothing more (until RETRY_US); its blocks go to others */
static void
fetch_give_up_on (Fetch *f, GbtPeer *peer)
{
  Source *src = g_hash_table_lookup (f->sources, peer);

  if (src == NULL)
    return;
  src->useless = TRUE;
  src->useless_since = g_get_monotonic_time ();
  fetch_unask (f, peer);
  if (f->single == peer)
    f->single = NULL; /* the next fetch_pump() starts over */
}

static gboolean
fetch_tick_cb (gpointer user_data)
{
  Fetch *f = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) slow = g_ptr_array_new ();

  for (guint b = 0; b < f->n_blocks; b++)
    if (f->asked[b] && now - f->asked_us[b] > REQUEST_TIMEOUT_US)
      g_ptr_array_add (slow, f->asked[b]);
  for (guint i = 0; i < slow->len; i++)
    {
      g_debug ("a peer did not answer a metadata request in time");
      fetch_give_up_on (f, g_ptr_array_index (slow, i));
    }
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, f->sources);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      {
        Source *src = value;
        if (src->useless && !src->liar && now - src->useless_since > RETRY_US)
          src->useless = FALSE;
      }
  }
  fetch_pump (f);
  return G_SOURCE_CONTINUE;
}

static void
fetch_verified_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *torrent = GBT_TORRENT (source);
  Fetch *f = user_data; /* alive: the check held a reference on the torrent */
  g_autoptr(GError) error = NULL;
  GbtPeer *from = f->verifying_from;

  f->verifying = FALSE;
  f->verifying_from = NULL;
  if (gbt_torrent_set_metadata_finish (torrent, result, &error)
      || gbt_torrent_has_metadata (torrent))
    {
      g_object_weak_unref (G_OBJECT (torrent), fetch_torrent_gone, f);
      g_hash_table_remove (f->ext->fetches, torrent); /* frees f */
      return;
    }
  g_debug ("metadata refused: %s", error->message);
  if (from)
    {
      /* that peer alone sent it: drop it */
      Source *src = g_hash_table_lookup (f->sources, from);
      if (src)
        src->liar = TRUE;
      fetch_give_up_on (f, from);
      gbt_peer_disconnect (from, "sent metadata that does not match the info-hash");
    }
  f->single_source = TRUE;
  fetch_pump (f);
}

/* every block is in: the torrent checks the hash (on a worker) */
static void
fetch_complete (Fetch *f)
{
  g_autoptr(GBytes) info = g_bytes_new_take (g_steal_pointer (&f->buf), f->size);

  f->verifying_from = f->single_source ? f->single : NULL;
  fetch_reset_attempt (f);
  f->verifying = TRUE;
  gbt_torrent_set_metadata_async (f->torrent, info, NULL, fetch_verified_cb, f);
}

static Fetch *
fetch_for (GbtMetadataExtension *self, GbtTorrent *torrent)
{
  Fetch *f = g_hash_table_lookup (self->fetches, torrent);

  if (f == NULL)
    {
      f = g_new0 (Fetch, 1);
      f->ext = self;
      f->torrent = torrent;
      f->sources = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      f->timer_id = gbt_timeout_add_seconds (1, fetch_tick_cb, f);
      g_hash_table_insert (self->fetches, torrent, f);
      g_object_weak_ref (G_OBJECT (torrent), fetch_torrent_gone, f);
    }
  return f;
}

static void
metadata_on_handshake (GbtWireExtension *ext, GbtPeer *peer, GBytes *handshake)
{
  GbtMetadataExtension *self = GBT_METADATA_EXTENSION (ext);
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  g_autoptr(GbtBencodeDoc) doc = NULL;
  GbtBencode *root, *m;
  gint64 size = 0, id = 0;
  Fetch *f;
  Source *src;

  if (torrent == NULL || gbt_torrent_has_metadata (torrent))
    return;
  doc = gbt_bencode_parse_full (handshake, GBT_BENCODE_NONE, 32, 0, NULL);
  root = doc ? gbt_bencode_doc_get_root (doc) : NULL;
  m = root ? gbt_bencode_dict_lookup (root, "m") : NULL;
  if (m == NULL || !gbt_bencode_dict_get_int (m, "ut_metadata", &id) || id <= 0
      || !gbt_bencode_dict_get_int (root, "metadata_size", &size))
    {
      /* a later handshake may take ut_metadata back */
      f = g_hash_table_lookup (self->fetches, torrent);
      if (f && g_hash_table_contains (f->sources, peer))
        {
          fetch_give_up_on (f, peer);
          fetch_pump (f);
        }
      return;
    }
  if (size <= 0 || size > MAX_METADATA_SIZE)
    {
      g_debug ("peer announces metadata of %" G_GINT64_FORMAT " bytes: not asked", size);
      return;
    }
  f = fetch_for (self, torrent);
  src = g_hash_table_lookup (f->sources, peer);
  if (src == NULL)
    {
      src = g_new0 (Source, 1);
      g_hash_table_insert (f->sources, peer, src);
    }
  else if (src->size != (gsize) size)
    fetch_unask (f, peer);
  src->size = (gsize) size;
  fetch_pump (f);
}

/* a data or reject message: FALSE drops the peer */
static gboolean
fetch_on_reply (GbtMetadataExtension *self, GbtPeer *peer, gint64 type, gint64 piece,
                GbtBencode *root, GBytes *payload, gsize dict_len, GError **error)
{
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  Fetch *f = torrent ? g_hash_table_lookup (self->fetches, torrent) : NULL;
  Source *src = f ? g_hash_table_lookup (f->sources, peer) : NULL;
  gsize len = g_bytes_get_size (payload) - dict_len, want;
  gint64 total;

  /* late, unasked or for an attempt that is over: ignored */
  if (src == NULL || piece < 0 || (guint64) piece >= f->n_blocks || f->asked[piece] != peer)
    return TRUE;
  f->asked[piece] = NULL;
  if (src->outstanding > 0)
    src->outstanding--;
  if (type == GBT_METADATA_REJECT)
    {
      g_debug ("peer rejected metadata block %" G_GINT64_FORMAT, piece);
      fetch_give_up_on (f, peer);
      fetch_pump (f);
      return TRUE;
    }
  want = MIN ((gsize) GBT_METADATA_BLOCK, f->size - (gsize) piece * GBT_METADATA_BLOCK);
  if (!gbt_bencode_dict_get_int (root, "total_size", &total) || total != (gint64) f->size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "ut_metadata data with a total_size other than the metadata_size announced");
      return FALSE;
    }
  if (len != want)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "ut_metadata block %" G_GINT64_FORMAT " of %" G_GSIZE_FORMAT
                   " bytes, expected %" G_GSIZE_FORMAT, piece, len, want);
      return FALSE;
    }
  memcpy (f->buf + (gsize) piece * GBT_METADATA_BLOCK,
          (const guint8 *) g_bytes_get_data (payload, NULL) + dict_len, len);
  f->got[piece] = TRUE;
  if (++f->n_got == f->n_blocks)
    fetch_complete (f);
  else
    fetch_pump (f);
  return TRUE;
}

static GBytes *
info_of (GbtTorrent *torrent)
{
  GbtMetainfo *mi = torrent ? gbt_torrent_get_metainfo (torrent) : NULL;

  return mi ? gbt_metainfo_get_info_bytes (mi) : NULL;
}

static GBytes *
metadata_get_handshake_extra (GbtWireExtension *ext, GbtTorrent *torrent)
{
  GBytes *info = info_of (torrent);

  if (info == NULL)
    return NULL;
  {
    char *extra = g_strdup_printf ("d13:metadata_sizei%" G_GSIZE_FORMAT "ee",
                                   g_bytes_get_size (info));
    return g_bytes_new_take (extra, strlen (extra));
  }
}

static void
send_reply (GbtPeer *peer, gint64 type, gint64 piece, gsize total, const guint8 *block,
            gsize block_len)
{
  g_autoptr(GString) msg = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;

  /* keys in sorted order: msg_type, piece, total_size */
  g_string_append_printf (msg, "d8:msg_typei%" G_GINT64_FORMAT "e5:piecei%" G_GINT64_FORMAT "e",
                          type, piece);
  if (type == GBT_METADATA_DATA)
    g_string_append_printf (msg, "10:total_sizei%" G_GSIZE_FORMAT "e", total);
  g_string_append_c (msg, 'e');
  if (block_len > 0)
    g_string_append_len (msg, (const char *) block, (gssize) block_len);
  bytes = g_bytes_new (msg->str, msg->len);
  gbt_peer_send_extended (peer, "ut_metadata", bytes);
}

static gboolean
metadata_on_message (GbtWireExtension *ext, GbtPeer *peer, GBytes *payload, GError **error)
{
  GbtMetadataExtension *self = GBT_METADATA_EXTENSION (ext);
  g_autoptr(GbtBencodeDoc) doc = NULL;
  GBytes *info = info_of (gbt_peer_get_torrent (peer));
  GbtBencode *root;
  gint64 type, piece;
  gsize total, n_blocks;
  guint served;

  /* a data message carries its block after the dictionary */
  doc = gbt_bencode_parse_full (payload, GBT_BENCODE_ALLOW_TRAILING, 4, 0, error);
  if (doc == NULL)
    {
      g_prefix_error (error, "bad ut_metadata message: ");
      return FALSE;
    }
  root = gbt_bencode_doc_get_root (doc);
  if (!gbt_bencode_is_dict (root) || !gbt_bencode_dict_get_int (root, "msg_type", &type)
      || !gbt_bencode_dict_get_int (root, "piece", &piece))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "ut_metadata message without msg_type or piece");
      return FALSE;
    }
  if (type == GBT_METADATA_DATA || type == GBT_METADATA_REJECT)
    return fetch_on_reply (self, peer, type, piece, root, payload,
                           gbt_bencode_doc_get_consumed (doc), error);
  if (type != GBT_METADATA_REQUEST)
    return TRUE; /* unknown types are ignored (BEP 9) */
  if (info == NULL)
    {
      send_reply (peer, GBT_METADATA_REJECT, piece, 0, NULL, 0);
      return TRUE;
    }
  total = g_bytes_get_size (info);
  n_blocks = (total + GBT_METADATA_BLOCK - 1) / GBT_METADATA_BLOCK;
  served = GPOINTER_TO_UINT (g_hash_table_lookup (self->served, peer));
  if (piece < 0 || (guint64) piece >= n_blocks || served >= n_blocks * MAX_SENDS_PER_BLOCK)
    {
      send_reply (peer, GBT_METADATA_REJECT, piece, 0, NULL, 0);
      return TRUE;
    }
  g_hash_table_insert (self->served, peer, GUINT_TO_POINTER (served + 1));
  {
    gsize off = (gsize) piece * GBT_METADATA_BLOCK;
    const guint8 *data = g_bytes_get_data (info, NULL);

    send_reply (peer, GBT_METADATA_DATA, piece, total, data + off,
                MIN ((gsize) GBT_METADATA_BLOCK, total - off));
  }
  return TRUE;
}

static void
metadata_on_peer_closed (GbtWireExtension *ext, GbtPeer *peer)
{
  GbtMetadataExtension *self = GBT_METADATA_EXTENSION (ext);
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  Fetch *f = torrent ? g_hash_table_lookup (self->fetches, torrent) : NULL;

  g_hash_table_remove (self->served, peer);
  if (f && f->verifying_from == peer)
    f->verifying_from = NULL;
  if (f && g_hash_table_contains (f->sources, peer))
    {
      fetch_unask (f, peer);
      g_hash_table_remove (f->sources, peer);
      if (f->single == peer)
        f->single = NULL;
      fetch_pump (f);
    }
}

static void
gbt_metadata_extension_iface_init (GbtWireExtensionInterface *iface)
{
  iface->get_name = metadata_get_name;
  iface->get_handshake_extra = metadata_get_handshake_extra;
  iface->on_handshake = metadata_on_handshake;
  iface->on_message = metadata_on_message;
  iface->on_peer_closed = metadata_on_peer_closed;
}

static void
gbt_metadata_extension_finalize (GObject *object)
{
  GbtMetadataExtension *self = GBT_METADATA_EXTENSION (object);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->fetches);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Fetch *f = value;
      g_object_weak_unref (G_OBJECT (f->torrent), fetch_torrent_gone, f);
    }
  g_hash_table_unref (self->fetches);
  g_hash_table_unref (GBT_METADATA_EXTENSION (object)->served);
  G_OBJECT_CLASS (gbt_metadata_extension_parent_class)->finalize (object);
}

static void
gbt_metadata_extension_class_init (GbtMetadataExtensionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_metadata_extension_finalize;
}

static void
gbt_metadata_extension_init (GbtMetadataExtension *self)
{
  self->served = g_hash_table_new (NULL, NULL);
  self->fetches = g_hash_table_new_full (NULL, NULL, NULL, fetch_free);
}

GbtMetadataExtension *
gbt_metadata_extension_new (void)
{
  return g_object_new (GBT_TYPE_METADATA_EXTENSION, NULL);
}
