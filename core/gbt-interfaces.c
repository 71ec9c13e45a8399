/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The four plugin interfaces and their public wrappers, which check
 * arguments and optional vfuncs before calling the implementation. */
#include "config.h"

#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-tracker.h>
#include <gbt/gbt-transport.h>
#include <gbt/gbt-wire-extension.h>
#include <gbt/gbt-stream-filter.h>

G_DEFINE_INTERFACE (GbtTracker, gbt_tracker, G_TYPE_OBJECT)
G_DEFINE_INTERFACE (GbtTransport, gbt_transport, G_TYPE_OBJECT)
G_DEFINE_INTERFACE (GbtPeerSource, gbt_peer_source, G_TYPE_OBJECT)
G_DEFINE_INTERFACE (GbtWireExtension, gbt_wire_extension, G_TYPE_OBJECT)
G_DEFINE_INTERFACE (GbtStreamFilter, gbt_stream_filter, G_TYPE_OBJECT)

static void
gbt_tracker_default_init (GbtTrackerInterface *iface)
{
}

static void
gbt_transport_default_init (GbtTransportInterface *iface)
{
}

static void
gbt_peer_source_default_init (GbtPeerSourceInterface *iface)
{
}

static void
gbt_wire_extension_default_init (GbtWireExtensionInterface *iface)
{
}

void
gbt_tracker_announce_async (GbtTracker *self, const GbtAnnounceRequest *request,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_return_if_fail (GBT_IS_TRACKER (self));
  g_return_if_fail (request != NULL && request->url != NULL);
  GBT_TRACKER_GET_IFACE (self)->announce_async (self, request, cancellable, callback, user_data);
}

GbtAnnounceResponse *
gbt_tracker_announce_finish (GbtTracker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GBT_IS_TRACKER (self), NULL);
  return GBT_TRACKER_GET_IFACE (self)->announce_finish (self, result, error);
}

void
gbt_tracker_scrape_async (GbtTracker *self, const char *announce_url, const guint8 info_hash[20],
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GbtTrackerInterface *iface;

  g_return_if_fail (GBT_IS_TRACKER (self));
  iface = GBT_TRACKER_GET_IFACE (self);
  if (iface->scrape_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data, gbt_tracker_scrape_async,
                               GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_UNSUPPORTED,
                               "this tracker plugin cannot scrape");
      return;
    }
  iface->scrape_async (self, announce_url, info_hash, cancellable, callback, user_data);
}

GbtScrapeResponse *
gbt_tracker_scrape_finish (GbtTracker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GBT_IS_TRACKER (self), NULL);
  if (g_async_result_is_tagged (result, gbt_tracker_scrape_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return GBT_TRACKER_GET_IFACE (self)->scrape_finish (self, result, error);
}

void
gbt_transport_connect_async (GbtTransport *self, GSocketAddress *remote, GSocketAddress *local,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_return_if_fail (GBT_IS_TRANSPORT (self));
  g_return_if_fail (G_IS_SOCKET_ADDRESS (remote));
  if (GBT_TRANSPORT_GET_IFACE (self)->connect_async == NULL)
    {
      g_task_report_new_error (self, callback, user_data, gbt_transport_connect_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "this transport runs over the session's UDP port");
      return;
    }
  GBT_TRANSPORT_GET_IFACE (self)->connect_async (self, remote, local, cancellable, callback,
                                                 user_data);
}

GIOStream *
gbt_transport_connect_finish (GbtTransport *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GBT_IS_TRANSPORT (self), NULL);
  if (g_async_result_is_tagged (result, gbt_transport_connect_udp_async)
      || g_async_result_is_tagged (result, gbt_transport_connect_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return GBT_TRANSPORT_GET_IFACE (self)->connect_finish (self, result, error);
}

GObject *
gbt_transport_listen (GbtTransport *self, GSocketAddress *address, GbtTransportAcceptFunc func,
                      gpointer user_data, GSocketAddress **bound, GError **error)
{
  GbtTransportInterface *iface;

  g_return_val_if_fail (GBT_IS_TRANSPORT (self), NULL);
  iface = GBT_TRANSPORT_GET_IFACE (self);
  if (iface->listen == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "this transport cannot accept connections");
      return NULL;
    }
  return iface->listen (self, address, func, user_data, bound, error);
}

gboolean
gbt_transport_is_udp (GbtTransport *self)
{
  GbtTransportInterface *iface;

  g_return_val_if_fail (GBT_IS_TRANSPORT (self), FALSE);
  iface = GBT_TRANSPORT_GET_IFACE (self);
  return iface->listen_udp != NULL && iface->connect_udp_async != NULL;
}

GObject *
gbt_transport_listen_udp (GbtTransport *self, GbtUdpPort *port, GbtTransportAcceptFunc func,
                          gpointer user_data, GError **error)
{
  g_return_val_if_fail (GBT_IS_TRANSPORT (self), NULL);
  g_return_val_if_fail (GBT_IS_UDP_PORT (port), NULL);
  if (!gbt_transport_is_udp (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "this transport does not run over UDP");
      return NULL;
    }
  return GBT_TRANSPORT_GET_IFACE (self)->listen_udp (self, port, func, user_data, error);
}

void
gbt_transport_connect_udp_async (GbtTransport *self, GbtUdpPort *port, GSocketAddress *remote,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_return_if_fail (GBT_IS_TRANSPORT (self));
  g_return_if_fail (GBT_IS_UDP_PORT (port));
  g_return_if_fail (G_IS_SOCKET_ADDRESS (remote));
  if (!gbt_transport_is_udp (self))
    {
      g_task_report_new_error (self, callback, user_data, gbt_transport_connect_udp_async,
                               G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "this transport does not run over UDP");
      return;
    }
  GBT_TRANSPORT_GET_IFACE (self)->connect_udp_async (self, port, remote, cancellable, callback,
                                                     user_data);
}

void
gbt_peer_source_start (GbtPeerSource *self, GbtTorrent *torrent)
{
  g_return_if_fail (GBT_IS_PEER_SOURCE (self));
  if (GBT_PEER_SOURCE_GET_IFACE (self)->start)
    GBT_PEER_SOURCE_GET_IFACE (self)->start (self, torrent);
}

void
gbt_peer_source_stop (GbtPeerSource *self, GbtTorrent *torrent)
{
  g_return_if_fail (GBT_IS_PEER_SOURCE (self));
  if (GBT_PEER_SOURCE_GET_IFACE (self)->stop)
    GBT_PEER_SOURCE_GET_IFACE (self)->stop (self, torrent);
}

guint16
gbt_peer_source_get_dht_port (GbtPeerSource *self, GbtTorrent *torrent)
{
  g_return_val_if_fail (GBT_IS_PEER_SOURCE (self), 0);
  if (GBT_PEER_SOURCE_GET_IFACE (self)->get_dht_port == NULL)
    return 0;
  return GBT_PEER_SOURCE_GET_IFACE (self)->get_dht_port (self, torrent);
}

void
gbt_peer_source_on_dht_port (GbtPeerSource *self, GbtPeer *peer, guint16 port)
{
  g_return_if_fail (GBT_IS_PEER_SOURCE (self));
  if (GBT_PEER_SOURCE_GET_IFACE (self)->on_dht_port)
    GBT_PEER_SOURCE_GET_IFACE (self)->on_dht_port (self, peer, port);
}

const char *
gbt_wire_extension_get_name (GbtWireExtension *self)
{
  g_return_val_if_fail (GBT_IS_WIRE_EXTENSION (self), NULL);
  return GBT_WIRE_EXTENSION_GET_IFACE (self)->get_name (self);
}

/* ---- GbtStreamFilter (ABI 1.4) ---- */

static void
gbt_stream_filter_default_init (GbtStreamFilterInterface *iface)
{
}

void
gbt_stream_filter_wrap_outgoing_async (GbtStreamFilter *self, GIOStream *base,
                                       const guint8 *info_hash, GbtStreamFilterFlags flags,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_return_if_fail (GBT_IS_STREAM_FILTER (self));
  g_return_if_fail (G_IS_IO_STREAM (base));
  g_return_if_fail (info_hash != NULL);
  GBT_STREAM_FILTER_GET_IFACE (self)->wrap_outgoing_async (self, base, info_hash, flags,
                                                           cancellable, callback, user_data);
}

GIOStream *
gbt_stream_filter_wrap_outgoing_finish (GbtStreamFilter *self, GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (GBT_IS_STREAM_FILTER (self), NULL);
  return GBT_STREAM_FILTER_GET_IFACE (self)->wrap_outgoing_finish (self, result, error);
}

void
gbt_stream_filter_wrap_incoming_async (GbtStreamFilter *self, GIOStream *base,
                                       GbtSession *session, GbtStreamFilterFlags flags,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_return_if_fail (GBT_IS_STREAM_FILTER (self));
  g_return_if_fail (G_IS_IO_STREAM (base));
  GBT_STREAM_FILTER_GET_IFACE (self)->wrap_incoming_async (self, base, session, flags,
                                                           cancellable, callback, user_data);
}

GIOStream *
gbt_stream_filter_wrap_incoming_finish (GbtStreamFilter *self, GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (GBT_IS_STREAM_FILTER (self), NULL);
  return GBT_STREAM_FILTER_GET_IFACE (self)->wrap_incoming_finish (self, result, error);
}
