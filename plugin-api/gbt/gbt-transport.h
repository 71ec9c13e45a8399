/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTransport: moves bytes between us and a peer.  The core owns the
 * protocol; a transport gives it a GIOStream per connection.  When the stream
 * is a GSocketConnection the core may drive its GSocket directly.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-udp-port.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtTransportAcceptFunc:
 * @stream: the accepted connection, owned by the transport: reference it to
 *   keep it
 * @remote: the peer's address
 * @user_data: the data given to gbt_transport_listen()
 *
 * Called on the main context for each accepted connection.
 */
typedef void (*GbtTransportAcceptFunc) (GIOStream *stream, GSocketAddress *remote,
                                        gpointer user_data);

/**
 * GbtTransport:
 *
 * The interface of transport plugins: moves bytes between us and a peer.
 * The core owns the protocol; a transport gives it a #GIOStream per
 * connection.  When the stream is a #GSocketConnection the core may drive
 * its #GSocket directly.
 */
#define GBT_TYPE_TRANSPORT (gbt_transport_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtTransport, gbt_transport, GBT, TRANSPORT, GObject)

/**
 * GbtTransportInterface:
 * @g_iface: the parent interface
 * @connect_async: connects to a peer
 * @connect_finish: gives the connection
 * @listen: starts accepting connections
 * @listen_udp: starts accepting connections on a session's shared UDP port
 *   (since ABI 1.3)
 * @connect_udp_async: connects to a peer from a session's shared UDP port
 *   (since ABI 1.3); finished with @connect_finish
 *
 * The virtual methods of [iface@Gbt.Transport].
 */
struct _GbtTransportInterface {
  GTypeInterface g_iface;

  /* @local: (nullable) address to bind before connecting (--bind) */
  void (*connect_async) (GbtTransport *self, GSocketAddress *remote, GSocketAddress *local,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
  GIOStream *(*connect_finish) (GbtTransport *self, GAsyncResult *result, GError **error);

  /* Start accepting on @address (port 0: any).  Returns a handle: dropping the
   * last reference stops listening.  @func is called until then, with
   * @user_data, which must outlive the handle.  @bound receives the real
   * address (with the chosen port). */
  GObject *(*listen) (GbtTransport *self, GSocketAddress *address, GbtTransportAcceptFunc func,
                      gpointer user_data, GSocketAddress **bound, GError **error);

  /* ABI 1.3: a transport that runs over the session's shared UDP port
   * (uTP) sets both of these instead of connect_async and listen.  The
   * handle listen_udp returns stops accepting and closes every connection
   * it made when its last reference goes. */
  GObject *(*listen_udp) (GbtTransport *self, GbtUdpPort *port, GbtTransportAcceptFunc func,
                          gpointer user_data, GError **error);
  void (*connect_udp_async) (GbtTransport *self, GbtUdpPort *port, GSocketAddress *remote,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);

  gpointer padding[6];
};

/**
 * gbt_transport_connect_async:
 * @self: a #GbtTransport
 * @remote: the peer's address
 * @local: (nullable): address to bind before connecting (--bind)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when connected or failed
 * @user_data: (closure callback): data for @callback
 *
 * Connects to @remote.
 */
GBT_AVAILABLE_IN_ALL
void gbt_transport_connect_async (GbtTransport *self, GSocketAddress *remote,
                                  GSocketAddress *local, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_transport_connect_finish:
 * @self: a #GbtTransport
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes the operation started with gbt_transport_connect_async().
 *
 * Returns: (transfer full): the connection
 */
GBT_AVAILABLE_IN_ALL
GIOStream *gbt_transport_connect_finish (GbtTransport *self, GAsyncResult *result,
                                         GError **error);
/**
 * gbt_transport_listen:
 * @self: a #GbtTransport
 * @address: where to accept (port 0: any)
 * @func: (scope forever) (closure user_data): called for each accepted
 *   connection until the handle is dropped
 * @user_data: data for @func; must outlive the handle
 * @bound: (out) (optional) (transfer full): the real address, with the port
 * @error: return location for a #GError
 *
 * Starts accepting connections.
 *
 * Returns: (transfer full): a handle: dropping the last reference stops
 *   listening
 */
GBT_AVAILABLE_IN_ALL
GObject *gbt_transport_listen (GbtTransport *self, GSocketAddress *address,
                               GbtTransportAcceptFunc func, gpointer user_data,
                               GSocketAddress **bound, GError **error);

/**
 * gbt_transport_is_udp:
 * @self: a #GbtTransport
 *
 * Whether @self runs over a session's shared UDP port (it implements
 * `listen_udp` and `connect_udp_async`, ABI 1.3).
 *
 * Returns: %TRUE for a UDP transport such as uTP
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_transport_is_udp (GbtTransport *self);
/**
 * gbt_transport_listen_udp:
 * @self: a UDP #GbtTransport
 * @port: the session's UDP port
 * @func: (scope forever) (closure user_data): called for each accepted
 *   connection until the handle is dropped
 * @user_data: data for @func; must outlive the handle
 * @error: return location for a #GError
 *
 * Starts accepting connections that arrive on @port, and makes @port the
 * one gbt_transport_connect_udp_async() dials from.
 *
 * Returns: (transfer full): a handle: dropping the last reference stops
 *   listening and closes the transport's connections on @port
 */
GBT_AVAILABLE_IN_ALL
GObject *gbt_transport_listen_udp (GbtTransport *self, GbtUdpPort *port,
                                   GbtTransportAcceptFunc func, gpointer user_data,
                                   GError **error);
/**
 * gbt_transport_connect_udp_async:
 * @self: a UDP #GbtTransport
 * @port: the session's UDP port, already given to gbt_transport_listen_udp()
 * @remote: the peer's address
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when connected or failed
 * @user_data: (closure callback): data for @callback
 *
 * Connects to @remote from @port; finish with gbt_transport_connect_finish().
 */
GBT_AVAILABLE_IN_ALL
void gbt_transport_connect_udp_async (GbtTransport *self, GbtUdpPort *port,
                                      GSocketAddress *remote, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);

G_END_DECLS
