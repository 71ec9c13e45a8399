/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-version.h>
#include <gbt/gbt-wire-extension.h>

#include "gbt-ltep.h"
#include "gbt-peer-wire.h"

typedef struct {
  const guint8 *key;
  gsize key_len;
  const guint8 *raw; /* the value, bencoded; NULL for the core's own keys */
  gsize raw_len;
} ExtKey;

static int
ext_key_cmp (gconstpointer a, gconstpointer b)
{
  const ExtKey *x = a, *y = b;
  int c = memcmp (x->key, y->key, MIN (x->key_len, y->key_len));
  return c ? c : (int) x->key_len - (int) y->key_len;
}

static gboolean
is_core_key (const guint8 *key, gsize len)
{
  return (len == 1 && (key[0] == 'm' || key[0] == 'p' || key[0] == 'v'))
         || (len == 4 && memcmp (key, "reqq", 4) == 0);
}

/* the keys @ext adds, kept alive by @docs */
static void
collect_extra (GbtWireExtension *ext, GbtTorrent *torrent, GArray *extra, GPtrArray *docs)
{
  GbtWireExtensionInterface *iface = GBT_WIRE_EXTENSION_GET_IFACE (ext);
  g_autoptr(GBytes) b = NULL;
  GbtBencodeDoc *doc;
  GbtBencode *root;

  if (iface->get_handshake_extra == NULL)
    return;
  b = iface->get_handshake_extra (ext, torrent);
  if (b == NULL || (doc = gbt_bencode_parse (b, NULL)) == NULL)
    return;
  g_ptr_array_add (docs, doc);
  root = gbt_bencode_doc_get_root (doc);
  for (guint k = 0; k < gbt_bencode_get_length (root); k++)
    {
      ExtKey e;
      GbtBencode *v = gbt_bencode_dict_nth (root, k, &e.key, &e.key_len);
      if (v == NULL || is_core_key (e.key, e.key_len))
        continue;
      e.raw = gbt_bencode_get_raw (v, &e.raw_len);
      g_array_append_val (extra, e);
    }
}

GBytes *
gbt_ltep_build_handshake (GPtrArray *extensions, GbtTorrent *torrent, guint16 listen_port,
                          guint reqq)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) m = g_byte_array_new ();
  g_autoptr(GArray) keys = g_array_new (FALSE, FALSE, sizeof (ExtKey));
  g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_bencode_doc_free);
  g_autofree char *version = g_strdup_printf ("gbt %s", gbt_get_version_string ());
  static const ExtKey own[] = {
    { (const guint8 *) "m", 1, NULL, 0 },
    { (const guint8 *) "p", 1, NULL, 0 },
    { (const guint8 *) "reqq", 4, NULL, 0 },
    { (const guint8 *) "v", 1, NULL, 0 },
  };

  for (guint i = 0; extensions && i < extensions->len; i++)
    collect_extra (g_ptr_array_index (extensions, i), torrent, keys, docs);
  g_array_append_vals (keys, own, G_N_ELEMENTS (own));
  g_array_sort (keys, ext_key_cmp);

  gbt_bencode_write_dict_start (m);
  for (guint i = 0; extensions && i < extensions->len; i++)
    {
      gbt_bencode_write_str (m, gbt_wire_extension_get_name (g_ptr_array_index (extensions, i)));
      gbt_bencode_write_int (m, i + 1);
    }
  gbt_bencode_write_end (m);

  gbt_bencode_write_dict_start (out);
  for (guint i = 0; i < keys->len; i++)
    {
      ExtKey *e = &g_array_index (keys, ExtKey, i);
      gbt_bencode_write_string (out, e->key, e->key_len);
      if (e->raw)
        g_byte_array_append (out, e->raw, e->raw_len);
      else if (e->key[0] == 'm')
        g_byte_array_append (out, m->data, m->len);
      else if (e->key[0] == 'p')
        gbt_bencode_write_int (out, listen_port);
      else if (e->key[0] == 'r')
        gbt_bencode_write_int (out, reqq);
      else
        gbt_bencode_write_str (out, version);
    }
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

gboolean
gbt_ltep_parse_handshake (GBytes *payload, GbtLtepPeerInfo *info, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse_full (payload, GBT_BENCODE_NONE, 32, 0, &local);
  GbtBencode *root, *m, *v;
  gint64 reqq;

  if (doc == NULL || !gbt_bencode_is_dict (gbt_bencode_doc_get_root (doc)))
    {
      g_set_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                   "bad extension handshake: %s", local ? local->message : "not a dictionary");
      return FALSE;
    }
  root = gbt_bencode_doc_get_root (doc);
  m = gbt_bencode_dict_lookup (root, "m");
  for (guint i = 0; i < gbt_bencode_get_length (m); i++)
    {
      const guint8 *k;
      gsize klen;
      GbtBencode *id = gbt_bencode_dict_nth (m, i, &k, &klen);
      g_autofree char *name = g_strndup ((const char *) k, klen);

      if (!gbt_bencode_is_int (id))
        continue;
      /* id 0 disables an extension the peer announced earlier */
      if (gbt_bencode_get_int (id) <= 0 || gbt_bencode_get_int (id) > 255)
        g_hash_table_remove (info->ext_ids, name);
      else
        g_hash_table_insert (info->ext_ids, g_steal_pointer (&name),
                             GUINT_TO_POINTER ((guint) gbt_bencode_get_int (id)));
    }
  if (gbt_bencode_dict_get_int (root, "reqq", &reqq) && reqq > 0)
    info->reqq = (guint) MIN (reqq, 100000);
  if ((v = gbt_bencode_dict_lookup (root, "v")) != NULL)
    {
      g_free (info->client);
      info->client = gbt_bencode_dup_string (v);
      if (info->client && !g_utf8_validate (info->client, -1, NULL))
        g_clear_pointer (&info->client, g_free);
    }
  return TRUE;
}

gboolean
gbt_ltep_dispatch (GPtrArray *extensions, GbtPeer *peer, guint8 ext_id, GBytes *payload,
                   GError **error)
{
  GbtWireExtension *ext;
  GbtWireExtensionInterface *iface;

  if (ext_id == 0)
    {
      for (guint i = 0; extensions && i < extensions->len; i++)
        {
          ext = g_ptr_array_index (extensions, i);
          iface = GBT_WIRE_EXTENSION_GET_IFACE (ext);
          if (iface->on_handshake)
            iface->on_handshake (ext, peer, payload);
        }
      return TRUE;
    }
  if (extensions == NULL || ext_id > extensions->len)
    {
      g_debug ("extended message for unknown id %u ignored", ext_id);
      return TRUE;
    }
  ext = g_ptr_array_index (extensions, ext_id - 1);
  iface = GBT_WIRE_EXTENSION_GET_IFACE (ext);
  if (iface->on_message == NULL)
    return TRUE; /* the registry refuses these; never crash on one */
  if (!iface->on_message (ext, peer, payload, error))
    {
      if (error && *error == NULL)
        g_set_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                     "%s refused a message", gbt_wire_extension_get_name (ext));
      return FALSE;
    }
  return TRUE;
}

void
gbt_ltep_peer_closed (GPtrArray *extensions, GbtPeer *peer)
{
  for (guint i = 0; extensions && i < extensions->len; i++)
    {
      GbtWireExtension *ext = g_ptr_array_index (extensions, i);
      if (GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_peer_closed)
        GBT_WIRE_EXTENSION_GET_IFACE (ext)->on_peer_closed (ext, peer);
    }
}
