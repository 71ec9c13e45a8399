/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 11 peer exchange (ut_pex).  Each peer that offers ut_pex hears, soon
 * after its handshake, where our other peers of the torrent take
 * connections ("added", with flags), then at most once a minute what
 * changed ("added" and "dropped"); at most 50 of each a message.  Where a
 * peer listens: the address we dialled, or, for one that dialled us, its
 * address with the port of its extension handshake ("p"); one whose port
 * is unknown is not passed on.
 *
 * What a peer tells us goes to gbt_torrent_add_peers() as source "pex":
 * at most 200 addresses a message, none with port 0, no loopback or LAN
 * address from a peer that is neither (BEP 11 leaves it open; that is how
 * a remote peer would aim us at a local network), and messages closer
 * together than 10 s are ignored.  A message that is not a dictionary, or
 * whose compact lists are not whole entries, drops the peer.  Private
 * torrents (BEP 27) neither send nor take.
 *
 * State lives with what it describes (plugin ABI 1.2), never in tables
 * keyed by pointers that a later torrent or peer could reuse: a peer's on
 * the peer (gbt_peer_set_data(), gone when its connection closes), a
 * torrent's on the torrent (GObject data, gone with the torrent).  The
 * once-a-second timer walks the torrents' states, each of which leaves the
 * extension's list when its torrent goes.
 */
#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-torrent.h>

#include "gbt-pex.h"
#include "gbt-context.h"

#define PEX_INTERVAL_US (60 * G_USEC_PER_SEC)
#define FIRST_DELAY_US (G_USEC_PER_SEC)
#define MIN_RECEIVE_GAP_US (10 * G_USEC_PER_SEC)
#define MAX_LISTED 50 /* added, and dropped, per message we send */
#define MAX_TAKEN 200 /* addresses taken from one message */
#define MAX_MESSAGE (256 * 1024)

typedef struct {
  GInetSocketAddress *address;
  guint8 flags;
} Entry;

#define PEX_PEER_KEY "gbt-pex"
#define PEX_TORRENT_KEY "gbt-pex-torrent"

typedef struct _PexTorrent PexTorrent;

typedef struct {
  GbtPeer *peer; /* not referenced: this state is the peer's own, freed when it closes */
  PexTorrent *pt; /* NULL once the torrent's state is gone */
  GInetSocketAddress *listen; /* where it takes connections, or NULL */
  gboolean offers_pex;
  gint64 joined_us;
  gint64 last_sent_us; /* 0: nothing sent yet */
  gint64 last_received_us;
  GHashTable *told; /* key -> GInetSocketAddress*: our peers it has heard of */
} PexPeer;

struct _PexTorrent {
  GbtTorrent *torrent; /* not referenced: this state is the torrent's own, freed with it */
  GbtPexExtension *ext; /* NULL once the extension is gone */
  GPtrArray *peers; /* PexPeer*, not owned: each leaves when its connection closes */
};

struct _GbtPexExtension {
  GObject parent_instance;
  GPtrArray *torrents; /* PexTorrent*, not owned: each leaves when its torrent goes */
  guint timer_id;
};

static void gbt_pex_extension_iface_init (GbtWireExtensionInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtPexExtension, gbt_pex_extension, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_WIRE_EXTENSION,
                                                      gbt_pex_extension_iface_init))

/* gbt_peer_set_data()'s destroy notify: the connection closed */
static void
pex_peer_free (gpointer p)
{
  PexPeer *pp = p;

  if (pp->pt != NULL)
    g_ptr_array_remove_fast (pp->pt->peers, pp);
  g_clear_object (&pp->listen);
  g_hash_table_unref (pp->told);
  g_free (pp);
}

/* g_object_set_data_full()'s destroy notify: the torrent is being
 * finalized, so only our own state may be touched here */
static void
pex_torrent_free (gpointer p)
{
  PexTorrent *pt = p;

  /* peers outliving their torrent's state keep theirs, unlinked */
  for (guint i = 0; i < pt->peers->len; i++)
    ((PexPeer *) g_ptr_array_index (pt->peers, i))->pt = NULL;
  g_ptr_array_unref (pt->peers);
  if (pt->ext != NULL)
    {
      g_ptr_array_remove_fast (pt->ext->torrents, pt);
      if (pt->ext->torrents->len == 0)
        g_clear_handle_id (&pt->ext->timer_id, gbt_source_remove);
    }
  g_free (pt);
}

/* ---- addresses ---- */

/* IPv4 for an IPv4-mapped IPv6 address (a dual-stack socket's view) */
static GInetAddress *
plain_address (GInetAddress *ip)
{
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ip);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, mapped, 12) == 0)
        return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
    }
  return g_object_ref (ip);
}

static char *
address_key (GInetSocketAddress *a)
{
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (a));

  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (a));
}

static gboolean
is_local (GInetAddress *ip)
{
  return g_inet_address_get_is_loopback (ip) || g_inet_address_get_is_site_local (ip)
         || g_inet_address_get_is_link_local (ip);
}

static gboolean
allowed (GbtTorrent *torrent)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (torrent);

  return mi == NULL || !gbt_metainfo_is_private (mi);
}

/* ---- sending ---- */

static void
append_compact (GByteArray *list, GByteArray *flags, GInetSocketAddress *a, guint8 f)
{
  GInetAddress *ip = g_inet_socket_address_get_address (a);
  guint16 port = GUINT16_TO_BE (g_inet_socket_address_get_port (a));

  g_byte_array_append (list, g_inet_address_to_bytes (ip), g_inet_address_get_native_size (ip));
  g_byte_array_append (list, (const guint8 *) &port, 2);
  if (flags)
    g_byte_array_append (flags, &f, 1);
}

static void
write_key_bytes (GByteArray *out, const char *key, GByteArray *value)
{
  gbt_bencode_write_str (out, key);
  gbt_bencode_write_string (out, value->data, value->len);
}

/* One message for @to: the entries of @now it has not heard of, and what it
 * heard of that is gone; NULL when there is nothing to say (after the
 * first message). */
static GBytes *
build_message (PexPeer *to, GArray *now, gboolean first)
{
  g_autoptr(GByteArray) a4 = g_byte_array_new (), f4 = g_byte_array_new ();
  g_autoptr(GByteArray) a6 = g_byte_array_new (), f6 = g_byte_array_new ();
  g_autoptr(GByteArray) d4 = g_byte_array_new (), d6 = g_byte_array_new ();
  g_autoptr(GHashTable) current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GByteArray) out = NULL;
  g_autofree char *own = to->listen ? address_key (to->listen) : NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint added = 0, dropped = 0;

  for (guint i = 0; i < now->len; i++)
    {
      Entry *e = &g_array_index (now, Entry, i);
      char *k = address_key (e->address);

      if (own && g_str_equal (k, own))
        {
          g_free (k);
          continue; /* not itself */
        }
      g_hash_table_add (current, k);
      if (added >= MAX_LISTED || g_hash_table_contains (to->told, k))
        continue;
      if (g_inet_address_get_family (g_inet_socket_address_get_address (e->address))
          == G_SOCKET_FAMILY_IPV4)
        append_compact (a4, f4, e->address, e->flags);
      else
        append_compact (a6, f6, e->address, e->flags);
      g_hash_table_insert (to->told, g_strdup (k), g_object_ref (e->address));
      added++;
    }
  g_hash_table_iter_init (&iter, to->told);
  while (dropped < MAX_LISTED && g_hash_table_iter_next (&iter, &key, &value))
    {
      GInetSocketAddress *a = value;

      if (g_hash_table_contains (current, key))
        continue;
      if (g_inet_address_get_family (g_inet_socket_address_get_address (a))
          == G_SOCKET_FAMILY_IPV4)
        append_compact (d4, NULL, a, 0);
      else
        append_compact (d6, NULL, a, 0);
      g_hash_table_iter_remove (&iter);
      dropped++;
    }
  if (!first && added == 0 && dropped == 0)
    return NULL;
  out = g_byte_array_new ();
  /* keys in sorted order */
  gbt_bencode_write_dict_start (out);
  write_key_bytes (out, "added", a4);
  write_key_bytes (out, "added.f", f4);
  write_key_bytes (out, "added6", a6);
  write_key_bytes (out, "added6.f", f6);
  write_key_bytes (out, "dropped", d4);
  write_key_bytes (out, "dropped6", d6);
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* where the torrent's peers take connections, with their flags */
static GArray *
listening_peers (PexTorrent *pt)
{
  GArray *now = g_array_new (FALSE, FALSE, sizeof (Entry));

  for (guint i = 0; i < pt->peers->len; i++)
    {
      PexPeer *pp = g_ptr_array_index (pt->peers, i);
      Entry e;

      if (pp->listen == NULL)
        continue;
      e.address = pp->listen;
      e.flags = (gbt_peer_is_incoming (pp->peer) ? 0 : GBT_PEX_FLAG_CONNECTABLE)
                | (gbt_peer_is_seed (pp->peer) ? GBT_PEX_FLAG_SEED : 0)
                | (g_str_equal (gbt_peer_get_transport (pp->peer), "utp") ? GBT_PEX_FLAG_UTP : 0);
      g_array_append_val (now, e);
    }
  return now;
}

static void
pex_torrent_tick (PexTorrent *pt, gint64 now_us)
{
  GbtTorrent *torrent = pt->torrent;
  g_autoptr(GArray) now = NULL;
  g_autoptr(GPtrArray) due = g_ptr_array_new ();

  /* nothing of ours goes out before the torrent is known to be public */
  if (gbt_torrent_get_metainfo (torrent) == NULL || !allowed (torrent))
    return;
  for (guint i = 0; i < pt->peers->len; i++)
    {
      PexPeer *pp = g_ptr_array_index (pt->peers, i);

      if (!pp->offers_pex)
        continue;
      if (pp->last_sent_us == 0 ? now_us - pp->joined_us >= FIRST_DELAY_US
                                : now_us - pp->last_sent_us >= PEX_INTERVAL_US)
        g_ptr_array_add (due, pp);
    }
  if (due->len == 0)
    return;
  now = listening_peers (pt);
  /* sending is buffered (flushed from the loop): no connection closes, so
   * no PexPeer is freed, while this loop runs */
  for (guint i = 0; i < due->len; i++)
    {
      PexPeer *pp = g_ptr_array_index (due, i);
      GbtPeer *peer = pp->peer;
      gboolean first;
      g_autoptr(GBytes) msg = NULL;

      first = pp->last_sent_us == 0;
      /* the first list waits until there is somebody to tell of */
      if (first && now->len < (pp->listen ? 2u : 1u))
        continue;
      msg = build_message (pp, now, first);
      pp->last_sent_us = now_us;
      if (msg)
        gbt_peer_send_extended (peer, "ut_pex", msg);
    }
}

static gboolean
tick_cb (gpointer user_data)
{
  GbtPexExtension *self = user_data;
  gint64 now_us = g_get_monotonic_time ();
  guint n_peers = 0;

  for (guint i = 0; i < self->torrents->len; i++)
    {
      PexTorrent *pt = g_ptr_array_index (self->torrents, i);

      pex_torrent_tick (pt, now_us);
      n_peers += pt->peers->len;
    }
  /* idle until a peer's handshake starts it again */
  if (n_peers == 0)
    {
      self->timer_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the extension ---- */

static const char *
pex_get_name (GbtWireExtension *ext)
{
  return "ut_pex";
}

static void
pex_on_handshake (GbtWireExtension *ext, GbtPeer *peer, GBytes *handshake)
{
  GbtPexExtension *self = GBT_PEX_EXTENSION (ext);
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse_full (handshake, GBT_BENCODE_NONE, 32, 0, NULL);
  GbtBencode *root = doc ? gbt_bencode_doc_get_root (doc) : NULL;
  GbtBencode *m = root ? gbt_bencode_dict_lookup (root, "m") : NULL;
  GInetSocketAddress *remote = gbt_peer_get_address (peer);
  PexTorrent *pt;
  PexPeer *pp;
  gint64 id = 0, port = 0;

  if (torrent == NULL || remote == NULL)
    return;
  pt = g_object_get_data (G_OBJECT (torrent), PEX_TORRENT_KEY);
  if (pt == NULL)
    {
      pt = g_new0 (PexTorrent, 1);
      pt->torrent = torrent;
      pt->ext = self;
      pt->peers = g_ptr_array_new ();
      g_ptr_array_add (self->torrents, pt);
      g_object_set_data_full (G_OBJECT (torrent), PEX_TORRENT_KEY, pt, pex_torrent_free);
    }
  pp = gbt_peer_get_data (peer, PEX_PEER_KEY);
  if (pp == NULL)
    {
      pp = g_new0 (PexPeer, 1);
      pp->peer = peer;
      pp->pt = pt;
      pp->told = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
      pp->joined_us = g_get_monotonic_time ();
      g_ptr_array_add (pt->peers, pp);
      gbt_peer_set_data (peer, PEX_PEER_KEY, pp, pex_peer_free);
    }
  /* a later handshake may add or withdraw ut_pex (id 0) */
  pp->offers_pex = m && gbt_bencode_dict_get_int (m, "ut_pex", &id) && id > 0 && id <= 255;
  if (root && gbt_bencode_dict_get_int (root, "p", &port) && port > 0 && port <= 65535)
    {
      g_autoptr(GInetAddress) ip = plain_address (g_inet_socket_address_get_address (remote));
      g_clear_object (&pp->listen);
      pp->listen = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, (guint16) port));
    }
  else if (!gbt_peer_is_incoming (peer) && pp->listen == NULL)
    {
      g_autoptr(GInetAddress) ip = plain_address (g_inet_socket_address_get_address (remote));
      pp->listen = G_INET_SOCKET_ADDRESS (
          g_inet_socket_address_new (ip, g_inet_socket_address_get_port (remote)));
    }
  if (self->timer_id == 0)
    self->timer_id = gbt_timeout_add_seconds (1, tick_cb, self);
}

/* a compact list of @entry_len-byte entries; FALSE if not whole entries */
static gboolean
take_list (GbtBencode *root, const char *key, gsize entry_len, GSocketFamily family,
           gboolean sender_local, GPtrArray *out, GError **error)
{
  GbtBencode *v = gbt_bencode_dict_lookup (root, key);
  const guint8 *data;
  gsize len;

  if (v == NULL)
    return TRUE;
  data = gbt_bencode_get_string (v, &len);
  if (data == NULL || len % entry_len != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "ut_pex \"%s\" is not a list of %" G_GSIZE_FORMAT "-byte entries", key,
                   entry_len);
      return FALSE;
    }
  for (gsize off = 0; off < len && out->len < MAX_TAKEN; off += entry_len)
    {
      g_autoptr(GInetAddress) ip = g_inet_address_new_from_bytes (data + off, family);
      guint16 port = (guint16) (data[off + entry_len - 2] << 8 | data[off + entry_len - 1]);

      if (port == 0 || g_inet_address_get_is_any (ip) || g_inet_address_get_is_multicast (ip)
          || (!sender_local && is_local (ip)))
        continue;
      g_ptr_array_add (out, g_inet_socket_address_new (ip, port));
    }
  return TRUE;
}

static gboolean
pex_on_message (GbtWireExtension *ext, GbtPeer *peer, GBytes *payload, GError **error)
{
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  PexPeer *pp = gbt_peer_get_data (peer, PEX_PEER_KEY);
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);
  GbtBencode *root;
  GInetSocketAddress *remote = gbt_peer_get_address (peer);
  gboolean sender_local;
  gint64 now_us = g_get_monotonic_time ();

  if (pp == NULL || torrent == NULL || !allowed (torrent))
    return TRUE;
  if (g_bytes_get_size (payload) > MAX_MESSAGE)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "ut_pex message of %" G_GSIZE_FORMAT " bytes", g_bytes_get_size (payload));
      return FALSE;
    }
  if (pp->last_received_us && now_us - pp->last_received_us < MIN_RECEIVE_GAP_US)
    return TRUE; /* too often: ignored */
  pp->last_received_us = now_us;
  doc = gbt_bencode_parse_full (payload, GBT_BENCODE_NONE, 4, 0, error);
  if (doc == NULL)
    {
      g_prefix_error (error, "bad ut_pex message: ");
      return FALSE;
    }
  root = gbt_bencode_doc_get_root (doc);
  if (!gbt_bencode_is_dict (root))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "ut_pex message is not a dictionary");
      return FALSE;
    }
  {
    g_autoptr(GInetAddress) rip = plain_address (g_inet_socket_address_get_address (remote));
    sender_local = is_local (rip);
  }
  if (!take_list (root, "added", 6, G_SOCKET_FAMILY_IPV4, sender_local, found, error)
      || !take_list (root, "added6", 18, G_SOCKET_FAMILY_IPV6, sender_local, found, error))
    return FALSE;
  /* "dropped" needs nothing: a peer that left fails to connect and waits */
  if (found->len > 0)
    gbt_torrent_add_peers (torrent, found, "pex");
  return TRUE;
}

static void
gbt_pex_extension_iface_init (GbtWireExtensionInterface *iface)
{
  iface->get_name = pex_get_name;
  iface->on_handshake = pex_on_handshake;
  iface->on_message = pex_on_message;
  /* no on_peer_closed: the peer's state goes with its connection */
}

static void
gbt_pex_extension_finalize (GObject *object)
{
  GbtPexExtension *self = GBT_PEX_EXTENSION (object);

  g_clear_handle_id (&self->timer_id, gbt_source_remove);
  /* torrents outliving the extension keep their state, unlinked */
  for (guint i = 0; i < self->torrents->len; i++)
    ((PexTorrent *) g_ptr_array_index (self->torrents, i))->ext = NULL;
  g_ptr_array_unref (self->torrents);
  G_OBJECT_CLASS (gbt_pex_extension_parent_class)->finalize (object);
}

static void
gbt_pex_extension_class_init (GbtPexExtensionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_pex_extension_finalize;
}

static void
gbt_pex_extension_init (GbtPexExtension *self)
{
  self->torrents = g_ptr_array_new ();
}

GbtPexExtension *
gbt_pex_extension_new (void)
{
  return g_object_new (GBT_TYPE_PEX_EXTENSION, NULL);
}
