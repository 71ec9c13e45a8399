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
 * Fetching metadata for `gbt download MAGNET` is not done here yet.
 */
#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-torrent.h>

#include "gbt-metadata.h"

/* each block may be served this many times to one peer */
#define MAX_SENDS_PER_BLOCK 4

struct _GbtMetadataExtension {
  GObject parent_instance;
  GHashTable *served; /* GbtPeer* (not referenced) -> blocks served, as a count */
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
  if (type != GBT_METADATA_REQUEST)
    return TRUE; /* data and reject answer requests we never send; others are unknown */
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
  g_hash_table_remove (GBT_METADATA_EXTENSION (ext)->served, peer);
}

static void
gbt_metadata_extension_iface_init (GbtWireExtensionInterface *iface)
{
  iface->get_name = metadata_get_name;
  iface->get_handshake_extra = metadata_get_handshake_extra;
  iface->on_message = metadata_on_message;
  iface->on_peer_closed = metadata_on_peer_closed;
}

static void
gbt_metadata_extension_finalize (GObject *object)
{
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
}

GbtMetadataExtension *
gbt_metadata_extension_new (void)
{
  return g_object_new (GBT_TYPE_METADATA_EXTENSION, NULL);
}
