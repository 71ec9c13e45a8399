/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TCP transport (BEP 3).  Connections are GSocketConnections, so the core can
 * drive their GSocket directly.
 *
 * Socket buffer sizes are left to the kernel on purpose: Linux autotunes
 * SO_RCVBUF/SO_SNDBUF per connection up to tcp_rmem/tcp_wmem, and setting
 * either one turns autotuning off for that socket, which caps throughput on
 * fast or long paths.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "gbt-transport-tcp.h"

/* A peer that does not answer a SYN within this is not worth waiting for:
 * the swarm has other candidates. */
#define CONNECT_TIMEOUT_S 10

struct _GbtTransportTcp {
  GObject parent_instance;
};

static void gbt_transport_tcp_iface_init (GbtTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtTransportTcp, gbt_transport_tcp, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRANSPORT,
                                                      gbt_transport_tcp_iface_init))

/* BitTorrent messages are small and latency-bound (requests, haves): Nagle
 * would hold them back behind unacknowledged data. */
static void
set_nodelay (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GError) error = NULL;

  if (!g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, &error))
    g_debug ("cannot set TCP_NODELAY: %s", error->message);
}

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* The client's timeout stays on the socket; the core's I/O is
   * non-blocking and has its own idle timers, so clear it. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);
  set_nodelay (connection);
  g_task_return_pointer (task, g_steal_pointer (&connection), g_object_unref);
}

static void
gbt_transport_tcp_connect_async (GbtTransport *transport, GSocketAddress *remote,
                                 GSocketAddress *local, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);
  /* One client per connection: the local address differs between calls. */
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_task_set_source_tag (task, gbt_transport_tcp_connect_async);
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  /* Peers are dialled directly: a desktop HTTP proxy is meant for web
   * traffic, and asking the proxy resolver costs a lookup per peer. */
  g_socket_client_set_enable_proxy (client, FALSE);
  if (local != NULL)
    g_socket_client_set_local_address (client, local);
  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (remote), cancellable, connect_cb,
                                 g_steal_pointer (&task));
}

static GIOStream *
gbt_transport_tcp_connect_finish (GbtTransport *transport, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The listen handle: stops accepting when its last reference goes. */
#define GBT_TYPE_TCP_LISTENER (gbt_tcp_listener_get_type ())
G_DECLARE_FINAL_TYPE (GbtTcpListener, gbt_tcp_listener, GBT, TCP_LISTENER, GObject)

struct _GbtTcpListener {
  GObject parent_instance;
  GSocketService *service;
  GbtTransportAcceptFunc func;
  gpointer user_data;
};

G_DEFINE_FINAL_TYPE (GbtTcpListener, gbt_tcp_listener, G_TYPE_OBJECT)

static void
gbt_tcp_listener_dispose (GObject *object)
{
  GbtTcpListener *self = GBT_TCP_LISTENER (object);

  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->service, self);
      /* Unreffing alone would not do: the service's pending accept holds a
       * reference to it, so the socket would keep listening. */
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  G_OBJECT_CLASS (gbt_tcp_listener_parent_class)->dispose (object);
}

static void
gbt_tcp_listener_class_init (GbtTcpListenerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = gbt_tcp_listener_dispose;
}

static void
gbt_tcp_listener_init (GbtTcpListener *self)
{
}

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source_object,
             gpointer user_data)
{
  GbtTcpListener *self = user_data;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) error = NULL;

  remote = g_socket_connection_get_remote_address (connection, &error);
  if (remote == NULL)
    {
      /* the peer already hung up */
      g_debug ("dropping accepted connection: %s", error->message);
      return TRUE;
    }
  set_nodelay (connection);
  self->func (G_IO_STREAM (connection), remote, self->user_data);
  return TRUE;
}

static GObject *
gbt_transport_tcp_listen (GbtTransport *transport, GSocketAddress *address,
                          GbtTransportAcceptFunc func, gpointer user_data,
                          GSocketAddress **bound, GError **error)
{
  g_autoptr(GbtTcpListener) listener = NULL;
  g_autoptr(GSocketAddress) effective = NULL;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  listener = g_object_new (GBT_TYPE_TCP_LISTENER, NULL);
  listener->func = func;
  listener->user_data = user_data;
  listener->service = g_socket_service_new ();
  /* GLib's default of 10 drops connections when a seed is popular */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (listener->service), 128);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (listener->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, error))
    return NULL;
  g_signal_connect (listener->service, "incoming", G_CALLBACK (incoming_cb), listener);
  g_socket_service_start (listener->service);
  if (bound != NULL)
    *bound = g_steal_pointer (&effective);
  return G_OBJECT (g_steal_pointer (&listener));
}

static void
gbt_transport_tcp_iface_init (GbtTransportInterface *iface)
{
  iface->connect_async = gbt_transport_tcp_connect_async;
  iface->connect_finish = gbt_transport_tcp_connect_finish;
  iface->listen = gbt_transport_tcp_listen;
}

static void
gbt_transport_tcp_class_init (GbtTransportTcpClass *klass)
{
}

static void
gbt_transport_tcp_init (GbtTransportTcp *self)
{
}

GbtTransportTcp *
gbt_transport_tcp_new (void)
{
  return g_object_new (GBT_TYPE_TRANSPORT_TCP, NULL);
}
