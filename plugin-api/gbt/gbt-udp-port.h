/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtUdpPort: a session's UDP socket, on the same port number as its TCP
 * listener, shared by every plugin that speaks UDP to peers (uTP, the DHT).
 * Since ABI 1.3.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtUdpPort:
 *
 * A session's UDP socket, bound to its listen address on the same port
 * number as its TCP listener, and shared: each datagram that arrives is
 * offered to the handlers in the order they were added, and the first to
 * claim it (a uTP header, a bencoded DHT message) takes it.  Datagrams no
 * handler claims are dropped.  Everything happens on the main context the
 * session was started on.
 *
 * Since: 1.3
 */
#define GBT_TYPE_UDP_PORT (gbt_udp_port_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtUdpPort, gbt_udp_port, GBT, UDP_PORT, GObject)

/**
 * GbtUdpHandlerFunc:
 * @port: the port the datagram arrived on
 * @data: (array length=len): the datagram; valid only during the call
 * @len: its length
 * @from: the sender; an IPv4 sender on a dual-stack socket is given as IPv4
 * @user_data: the data given to gbt_udp_port_add_handler()
 *
 * Offered each datagram nobody before it claimed.
 *
 * Returns: %TRUE when the datagram was for this handler (even if it then
 *   found it malformed): no later handler sees it
 */
typedef gboolean (*GbtUdpHandlerFunc) (GbtUdpPort *port, const guint8 *data, gsize len,
                                       GInetSocketAddress *from, gpointer user_data);

/**
 * gbt_udp_port_add_handler:
 * @self: a #GbtUdpPort
 * @func: (scope notified) (closure user_data) (destroy destroy): the handler
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler is removed or the
 *   port goes
 *
 * Adds a handler for incoming datagrams, after those added before.
 *
 * Returns: an id for gbt_udp_port_remove_handler(), never 0
 */
GBT_AVAILABLE_IN_ALL
guint gbt_udp_port_add_handler (GbtUdpPort *self, GbtUdpHandlerFunc func, gpointer user_data,
                                GDestroyNotify destroy);
/**
 * GbtUdpUnreachableFunc:
 * @port: the port a datagram was sent from
 * @destination: where it was sent
 * @error: what the network answered (an ICMP error: %G_IO_ERROR_CONNECTION_REFUSED
 *   for a port nobody listens on, %G_IO_ERROR_HOST_UNREACHABLE, ...)
 * @user_data: the data given to gbt_udp_port_add_unreachable_handler()
 *
 * Told of each ICMP error a datagram sent from the port met.  ICMP can be
 * forged: take it as a hint (fail a connection attempt sooner), not as proof.
 */
typedef void (*GbtUdpUnreachableFunc) (GbtUdpPort *port, GInetSocketAddress *destination,
                                       const GError *error, gpointer user_data);

/**
 * gbt_udp_port_add_unreachable_handler:
 * @self: a #GbtUdpPort
 * @func: (scope notified) (closure user_data) (destroy destroy): the handler
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data when the handler is removed or the
 *   port goes
 *
 * Adds a handler told of the ICMP errors (destination unreachable) that the
 * port's datagrams met; every such handler is told.  Remove it with
 * gbt_udp_port_remove_handler().
 *
 * Returns: an id for gbt_udp_port_remove_handler(), never 0
 */
GBT_AVAILABLE_IN_ALL
guint gbt_udp_port_add_unreachable_handler (GbtUdpPort *self, GbtUdpUnreachableFunc func,
                                            gpointer user_data, GDestroyNotify destroy);

/**
 * gbt_udp_port_remove_handler:
 * @self: a #GbtUdpPort
 * @id: what gbt_udp_port_add_handler() returned
 *
 * Removes a handler; safe from inside any handler, its own included.
 */
GBT_AVAILABLE_IN_ALL
void gbt_udp_port_remove_handler (GbtUdpPort *self, guint id);

/**
 * gbt_udp_port_send:
 * @self: a #GbtUdpPort
 * @to: the destination; IPv4 works on a dual-stack port too
 * @data: (array length=len): the datagram
 * @len: its length
 * @error: return location for a #GError
 *
 * Sends one datagram without blocking.  When the socket's buffer is full
 * this fails with %G_IO_ERROR_WOULD_BLOCK and the datagram is not sent (a
 * protocol over UDP resends).
 *
 * Returns: %TRUE when the datagram went to the kernel
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_udp_port_send (GbtUdpPort *self, GSocketAddress *to, const guint8 *data, gsize len,
                            GError **error);

/**
 * GbtUdpSendFlags:
 * @GBT_UDP_SEND_NONE: the datagram goes with the don't-fragment bit, as
 *   every datagram does by default: one too big for the path is dropped
 * @GBT_UDP_SEND_MAY_FRAGMENT: the datagram may be fragmented on the way
 *   (for the resend of a path-MTU probe that turned out too big and cannot
 *   be cut smaller)
 *
 * How gbt_udp_port_send_full() sends.
 */
typedef enum {
  GBT_UDP_SEND_NONE = 0,
  GBT_UDP_SEND_MAY_FRAGMENT = 1 << 0,
} GbtUdpSendFlags;

/**
 * gbt_udp_port_send_full:
 * @self: a #GbtUdpPort
 * @to: the destination
 * @data: (array length=len): the datagram
 * @len: its length
 * @flags: how to send it
 * @error: return location for a #GError
 *
 * gbt_udp_port_send() with flags.  Every datagram leaves with the
 * don't-fragment bit set, whatever the kernel believes the path's MTU to be,
 * so that a protocol probing for the MTU (uTP) learns it; a datagram larger
 * than the local interface takes fails with %G_IO_ERROR_MESSAGE_TOO_LARGE.
 *
 * Returns: %TRUE when the datagram went to the kernel
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_udp_port_send_full (GbtUdpPort *self, GSocketAddress *to, const guint8 *data,
                                 gsize len, GbtUdpSendFlags flags, GError **error);

/**
 * gbt_udp_port_get_local_address:
 * @self: a #GbtUdpPort
 *
 * Gets the address the port is bound to.
 *
 * Returns: (transfer none): the address the socket is bound to, with its port
 */
GBT_AVAILABLE_IN_ALL
GInetSocketAddress *gbt_udp_port_get_local_address (GbtUdpPort *self);

/**
 * gbt_udp_port_get_context:
 * @self: a #GbtUdpPort
 *
 * Gets the main context the port delivers datagrams on.
 *
 * Returns: (transfer none): the main context the port delivers on: a
 *   plugin's timers for this port belong there
 */
GBT_AVAILABLE_IN_ALL
GMainContext *gbt_udp_port_get_context (GbtUdpPort *self);

G_END_DECLS
