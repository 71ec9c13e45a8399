/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtSession: plugins, the listening socket, the peer id and the torrents.
 * Incoming connections are handshaken here until their info-hash names a
 * torrent, then handed over.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-transport.h>

#include "gbt-peer-private.h"
#include "gbt-plugin-registry-private.h"
#include "gbt-rate-limit.h"
#include "gbt-session-private.h"
#include "gbt-torrent-private.h"
#include "gbt-context.h"

#define DEFAULT_MAX_PEERS 50
#define DEFAULT_BUFFER_LIMIT (24 * 1024 * 1024)
/* incoming connections that have not yet named a torrent */
#define MAX_HANDSHAKING 200

G_DEFINE_QUARK (gbt-session-error-quark, gbt_session_error)

struct _GbtSession {
  GObject parent_instance;

  guint8 peer_id[20];
  char *listen_address;
  guint16 listen_port;
  char *bind_address;
  GSocketAddress *bind_socket_address;
  GInetAddress *bind_inet_address;
  GStrv enable_plugins;
  GStrv plugin_dirs;
  guint max_peers;
  gboolean announce_to_all;

  gboolean started;
  /* this session's view of the process-wide registry: the plugins it
   * uses (empty until gbt_session_start() loads them) */
  GbtPluginRegistry *registry;
  GbtTransport *transport;
  GObject *listener;
  guint16 bound_port;
  GListStore *torrents;
  GPtrArray *handshaking; /* incoming GbtPeer* not yet attached */
  guint sweep_id;
  GbtRateLimit *limit_up;
  GbtRateLimit *limit_down;
};

G_DEFINE_FINAL_TYPE (GbtSession, gbt_session, G_TYPE_OBJECT)

static void
gbt_session_dispose (GObject *object)
{
  GbtSession *self = GBT_SESSION (object);

  g_clear_handle_id (&self->sweep_id, gbt_source_remove);
  g_clear_object (&self->listener);
  if (self->handshaking)
    {
      while (self->handshaking->len)
        {
          GbtPeer *p = g_ptr_array_steal_index (self->handshaking, self->handshaking->len - 1);
          gbt_peer_close (p, NULL);
          gbt_peer_unref (p);
        }
    }
  if (self->torrents)
    g_list_store_remove_all (self->torrents);
  G_OBJECT_CLASS (gbt_session_parent_class)->dispose (object);
}

static void
gbt_session_finalize (GObject *object)
{
  GbtSession *self = GBT_SESSION (object);

  g_free (self->listen_address);
  g_free (self->bind_address);
  g_clear_object (&self->bind_socket_address);
  g_clear_object (&self->bind_inet_address);
  g_strfreev (self->enable_plugins);
  g_strfreev (self->plugin_dirs);
  g_clear_object (&self->registry);
  g_clear_object (&self->torrents);
  g_clear_pointer (&self->handshaking, g_ptr_array_unref);
  gbt_rate_limit_free (self->limit_up);
  gbt_rate_limit_free (self->limit_down);
  G_OBJECT_CLASS (gbt_session_parent_class)->finalize (object);
}

static void
gbt_session_class_init (GbtSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gbt_session_dispose;
  object_class->finalize = gbt_session_finalize;
}

static void
gbt_session_init (GbtSession *self)
{
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

  /* BEP 20 style: client code and version, then random */
  memcpy (self->peer_id, "-GB0001-", 8);
  for (int i = 8; i < 20; i++)
    self->peer_id[i] = alphabet[g_random_int_range (0, sizeof alphabet - 1)];
  self->max_peers = DEFAULT_MAX_PEERS;
  self->torrents = g_list_store_new (GBT_TYPE_TORRENT);
  self->handshaking = g_ptr_array_new ();
  self->limit_up = gbt_rate_limit_new (0);
  self->limit_down = gbt_rate_limit_new (0);
  self->registry = gbt_plugin_registry_new_view (gbt_plugin_registry_get_default ());
}

void
gbt_session_set_rate_limits (GbtSession *self, guint64 up_bytes_per_second,
                             guint64 down_bytes_per_second)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  gbt_rate_limit_set_rate (self->limit_up, up_bytes_per_second);
  gbt_rate_limit_set_rate (self->limit_down, down_bytes_per_second);
}

GbtRateLimit *
gbt_session_get_rate_limit (GbtSession *self, gboolean up)
{
  return up ? self->limit_up : self->limit_down;
}

GbtSession *
gbt_session_new (void)
{
  return g_object_new (GBT_TYPE_SESSION, NULL);
}

void
gbt_session_set_listen_address (GbtSession *self, const char *address, guint16 port)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_free (self->listen_address);
  self->listen_address = g_strdup (address); /* NULL: dual-stack, else IPv4 */
  self->listen_port = port;
}

void
gbt_session_set_bind_address (GbtSession *self, const char *address)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_free (self->bind_address);
  self->bind_address = g_strdup (address);
}

void
gbt_session_set_plugins (GbtSession *self, const char *const *enable, const char *const *extra_dirs)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_strfreev (self->enable_plugins);
  g_strfreev (self->plugin_dirs);
  self->enable_plugins = g_strdupv ((char **) enable);
  self->plugin_dirs = g_strdupv ((char **) extra_dirs);
}

void
gbt_session_set_max_peers_per_torrent (GbtSession *self, guint max)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  self->max_peers = MAX (max, 1);
}

void
gbt_session_set_announce_to_all (GbtSession *self, gboolean all)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  self->announce_to_all = !!all;
}

gboolean
gbt_session_is_dual_stack (GbtSession *self)
{
  return self->bind_inet_address == NULL && g_strcmp0 (self->listen_address, "::") == 0;
}

gboolean
gbt_session_get_announce_to_all (GbtSession *self)
{
  return self->announce_to_all;
}

const guint8 *
gbt_session_get_peer_id (GbtSession *self)
{
  return self->peer_id;
}

guint16
gbt_session_get_listen_port (GbtSession *self)
{
  return self->bound_port;
}

GbtPluginRegistry *
gbt_session_get_registry (GbtSession *self)
{
  return self->registry;
}

GbtTransport *
gbt_session_get_transport (GbtSession *self)
{
  return self->transport;
}

GSocketAddress *
gbt_session_get_bind_socket_address (GbtSession *self)
{
  return self->bind_socket_address;
}

GInetAddress *
gbt_session_get_bind_inet_address (GbtSession *self)
{
  return self->bind_inet_address;
}

guint
gbt_session_get_max_peers (GbtSession *self)
{
  return self->max_peers;
}

guint64
gbt_session_get_buffer_limit (GbtSession *self)
{
  return DEFAULT_BUFFER_LIMIT;
}

GListModel *
gbt_session_get_torrents (GbtSession *self)
{
  return G_LIST_MODEL (self->torrents);
}

/* An incoming peer's handshake named an info-hash: the torrent's swarm
 * takes it, or it is refused. */
static gboolean
incoming_handshake_cb (GbtPeer *peer, gpointer user_data, GError **error)
{
  GbtSession *self = user_data;
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->torrents));
  const guint8 *info_hash = gbt_peer_get_remote_info_hash (peer);

  /* its handshake is done: it leaves the list now, not at the next sweep, so
   * a burst of short connections cannot fill the list and lock peers out
   * (the reader holds a reference for this call; the swarm takes its own) */
  if (g_ptr_array_remove_fast (self->handshaking, peer))
    gbt_peer_unref (peer);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (G_LIST_MODEL (self->torrents), i);
      if (memcmp (gbt_torrent_get_info_hash (t), info_hash, 20) == 0 && gbt_torrent_is_active (t))
        return gbt_torrent_accept_peer (t, peer, error);
    }
  g_set_error_literal (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                       "handshake for a torrent we do not have");
  return FALSE;
}

static const GbtPeerEvents incoming_events = {
  .handshake = incoming_handshake_cb,
};

/* incoming peers leave the handshaking list once attached or closed */
static gboolean
sweep_cb (gpointer user_data)
{
  GbtSession *self = user_data;
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->handshaking->len; i > 0; i--)
    {
      GbtPeer *p = g_ptr_array_index (self->handshaking, i - 1);
      if (gbt_peer_get_state (p) == GBT_PEER_STATE_HANDSHAKE)
        {
          gbt_peer_tick (p, now); /* handshake timeout */
          if (!gbt_peer_is_closed (p))
            continue;
        }
      g_ptr_array_remove_index_fast (self->handshaking, i - 1);
      gbt_peer_unref (p);
    }
  return G_SOURCE_CONTINUE;
}

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  GbtSession *self = user_data;
  GbtPeer *peer;

  if (!G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))
      || !G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream)))
    return;
  if (self->handshaking->len >= MAX_HANDSHAKING)
    sweep_cb (self); /* closed ones count for nothing */
  if (self->handshaking->len >= MAX_HANDSHAKING)
    {
      g_debug ("dropping an incoming connection: %u handshakes in progress",
               self->handshaking->len);
      return;
    }
  peer = gbt_peer_new (stream, G_IS_INET_SOCKET_ADDRESS (remote) ? G_INET_SOCKET_ADDRESS (remote) : NULL,
                       TRUE);
  g_ptr_array_add (self->handshaking, peer);
  gbt_peer_start (peer, &incoming_events, self, NULL);
}

gboolean
gbt_session_start (GbtSession *self, GError **error)
{
  g_autoptr(GInetAddress) listen_ip = NULL;
  g_autoptr(GSocketAddress) listen_addr = NULL;
  g_autoptr(GSocketAddress) bound = NULL;

  g_return_val_if_fail (GBT_IS_SESSION (self), FALSE);
  if (self->started)
    return TRUE;

  /* modules are scanned once per process; which of them this session uses
   * is its own (a session without "dht" never starts the DHT) */
  if (!gbt_plugin_registry_load (self->registry, (const char *const *) self->plugin_dirs,
                                 (const char *const *) self->enable_plugins, error))
    return FALSE;
  self->transport = gbt_plugin_registry_get_transport (self->registry, NULL);
  if (self->transport == NULL)
    {
      g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_NO_TRANSPORT,
                   "no transport plugin loaded (is the transport-tcp plugin installed?)");
      return FALSE;
    }

  if (self->bind_address)
    {
      self->bind_inet_address = g_inet_address_new_from_string (self->bind_address);
      if (self->bind_inet_address == NULL)
        {
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                       "'%s' is not an IP address", self->bind_address);
          return FALSE;
        }
      self->bind_socket_address = g_inet_socket_address_new (self->bind_inet_address, 0);
    }

  if (self->listen_address == NULL)
    {
      /* by default one dual-stack socket takes IPv6 and IPv4 peers (BEP 7);
       * where IPv6 is off, IPv4 alone */
      g_autoptr(GInetAddress) any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      g_autoptr(GSocketAddress) addr6 = g_inet_socket_address_new (any6, self->listen_port);
      self->listener = gbt_transport_listen (self->transport, addr6, accept_cb, self, &bound, NULL);
      g_free (self->listen_address);
      self->listen_address = g_strdup (self->listener ? "::" : "0.0.0.0");
    }
  if (self->listener == NULL)
    {
      listen_ip = g_inet_address_new_from_string (self->listen_address);
      if (listen_ip == NULL)
        {
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                       "'%s' is not an IP address to listen on", self->listen_address);
          return FALSE;
        }
      listen_addr = g_inet_socket_address_new (listen_ip, self->listen_port);
      self->listener = gbt_transport_listen (self->transport, listen_addr, accept_cb, self, &bound,
                                             error);
    }
  if (self->listener == NULL)
    {
      g_prefix_error (error, "cannot listen on %s port %u: ", self->listen_address, self->listen_port);
      return FALSE;
    }
  self->bound_port = bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound))
                           : self->listen_port;
  self->sweep_id = gbt_timeout_add_seconds (2, sweep_cb, self);
  self->started = TRUE;
  return TRUE;
}

/* FALSE with @error set when a torrent of that info-hash is in already */
static gboolean
check_not_added (GbtSession *self, const guint8 *info_hash, const char *name, GError **error)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->torrents));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (G_LIST_MODEL (self->torrents), i);
      if (memcmp (gbt_torrent_get_info_hash (t), info_hash, 20) == 0)
        {
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT,
                       "torrent %s is already in the session", name);
          return FALSE;
        }
    }
  return TRUE;
}

GbtTorrent *
gbt_session_add_torrent (GbtSession *self, GbtMetainfo *metainfo, const char *download_dir,
                         GError **error)
{
  GbtTorrent *torrent;

  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  g_return_val_if_fail (metainfo != NULL, NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  if (!check_not_added (self, gbt_metainfo_get_info_hash (metainfo),
                        gbt_metainfo_get_name (metainfo), error))
    return NULL;
  torrent = gbt_torrent_new (self, metainfo, download_dir);
  g_list_store_append (self->torrents, torrent);
  return torrent;
}

GbtTorrent *
gbt_session_add_magnet (GbtSession *self, const GbtMagnet *magnet, const char *download_dir,
                        GError **error)
{
  GbtTorrent *torrent;

  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  g_return_val_if_fail (magnet != NULL, NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  torrent = gbt_torrent_new_from_magnet (self, magnet, download_dir);
  if (!check_not_added (self, magnet->info_hash, gbt_torrent_get_name (torrent), error))
    {
      g_object_unref (torrent);
      return NULL;
    }
  g_list_store_append (self->torrents, torrent);
  return torrent;
}

void
gbt_session_remove_torrent (GbtSession *self, GbtTorrent *torrent)
{
  guint pos;

  g_return_if_fail (GBT_IS_SESSION (self));
  if (g_list_store_find (self->torrents, torrent, &pos))
    g_list_store_remove (self->torrents, pos);
}
