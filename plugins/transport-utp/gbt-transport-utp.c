/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uTP transport (BEP 29) over the session's shared UDP port (ABI 1.3).
 * listen_udp puts a GbtUtpSocket on the port (the handle); connections
 * dialled with connect_udp_async go out from that socket, so one table
 * holds every uTP connection on the port.
 */
#include "gbt-transport-utp.h"
#include "gbt-utp-socket.h"

struct _GbtTransportUtp {
  GObject parent_instance;
};

static void gbt_transport_utp_iface_init (GbtTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtTransportUtp, gbt_transport_utp, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRANSPORT,
                                                      gbt_transport_utp_iface_init))

static GObject *
gbt_transport_utp_listen_udp (GbtTransport *transport, GbtUdpPort *port,
                              GbtTransportAcceptFunc func, gpointer user_data, GError **error)
{
  g_return_val_if_fail (GBT_IS_UDP_PORT (port), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  return G_OBJECT (gbt_utp_socket_new (port, NULL, func, user_data));
}

static void
gbt_transport_utp_connect_udp_async (GbtTransport *transport, GbtUdpPort *port,
                                     GSocketAddress *remote, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (transport, cancellable, callback, user_data);
  GbtUtpSocket *socket = gbt_utp_socket_get_for_port (port);

  g_task_set_source_tag (task, gbt_transport_utp_connect_udp_async);
  if (socket == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               "uTP is not listening on this UDP port");
      g_object_unref (task);
      return;
    }
  gbt_utp_socket_connect (socket, remote, task);
}

static GIOStream *
gbt_transport_utp_connect_finish (GbtTransport *transport, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, transport), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
gbt_transport_utp_iface_init (GbtTransportInterface *iface)
{
  iface->connect_finish = gbt_transport_utp_connect_finish;
  iface->listen_udp = gbt_transport_utp_listen_udp;
  iface->connect_udp_async = gbt_transport_utp_connect_udp_async;
}

static void
gbt_transport_utp_class_init (GbtTransportUtpClass *klass)
{
}

static void
gbt_transport_utp_init (GbtTransportUtp *self)
{
}

GbtTransportUtp *
gbt_transport_utp_new (void)
{
  return g_object_new (GBT_TYPE_TRANSPORT_UTP, NULL);
}
