/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtUtpSocket: the uTP connections on one GbtUdpPort (the handle that
 * listen_udp returns).  It claims the datagrams that look like uTP (version
 * 1, type <= ST_SYN: a DHT message starts with 'd', which is not), keeps a
 * table of connections keyed by (remote address, our recv_id), accepts SYNs
 * within bounds and dials out.  Every timer runs on the port's context.
 *
 * Bounds: max_connections in the table (lingering ones included);
 * max_half_open accepted connections that have seen nothing but their SYN,
 * each dropped after half_open_timeout.  Past that bound a SYN is answered
 * without state: the STATE's seq_nr is a SYN cookie (a keyed hash of the
 * peer's address and port, its SYN's id and seq_nr, and a 30 s time slot),
 * and the peer's first DATA or STATE, acking it, makes the connection.  So
 * a flood costs a fixed amount of memory and cannot lock real peers out.
 * The stream goes to the accept func at the first valid packet after the
 * SYN (a BitTorrent initiator speaks first), never for a bare SYN.
 * A connection that has received nothing valid for
 * idle_timeout is reset (gbt-utp-conn has no keepalive); a closed stream's
 * connection lingers until its FIN is acked or linger_timeout passes.
 * Packets for unknown connections are answered with a RESET, at most
 * resets_per_second of them.
 *
 * Timers: one GSource per socket, ready at the earliest connection deadline
 * or the next one-second sweep (while any connection exists): a packet
 * costs a hash lookup and O(1) bookkeeping; a wake-up scans the table.
 */
#pragma once

#include <gbt/gbt-transport.h>
#include <gbt/gbt-udp-port.h>

#include "gbt-utp-conn.h"

G_BEGIN_DECLS

#define GBT_TYPE_UTP_SOCKET (gbt_utp_socket_get_type ())
G_DECLARE_FINAL_TYPE (GbtUtpSocket, gbt_utp_socket, GBT, UTP_SOCKET, GObject)

typedef struct {
  guint max_connections;        /* 2048 */
  guint max_half_open;          /* 64 */
  gint64 half_open_timeout_us;  /* 10 s */
  gint64 connect_timeout_us;    /* an unanswered SYN: 3 s */
  gint64 idle_timeout_us;       /* nothing valid received: 5 min */
  gint64 linger_timeout_us;     /* a closed stream's FIN: 20 s */
  guint resets_per_second;      /* 50 */
  gboolean mtu_search;          /* TRUE: conn.mtu and mtu_floor come from each
                                 * peer's path (gbt_utp_conn_config_set_path) */
  GbtUtpConnConfig conn;
} GbtUtpSocketConfig;

void gbt_utp_socket_config_init (GbtUtpSocketConfig *config);

/* Claims uTP datagrams on @port, hands each accepted connection's stream to
 * @func (nullable: then SYNs are refused).  @config: (nullable) defaults. */
GbtUtpSocket *gbt_utp_socket_new (GbtUdpPort *port, const GbtUtpSocketConfig *config,
                                  GbtTransportAcceptFunc func, gpointer user_data);

/* The socket listen_udp made on @port, or NULL. */
GbtUtpSocket *gbt_utp_socket_get_for_port (GbtUdpPort *port);

/* Dials @remote; @task returns a GIOStream (a GbtUtpStream) once
 * connected, G_IO_ERROR_TIMED_OUT when the SYN goes unanswered,
 * G_IO_ERROR_CONNECTION_REFUSED on a RESET, or G_IO_ERROR_CANCELLED.
 * Takes @task. */
void gbt_utp_socket_connect (GbtUtpSocket *self, GSocketAddress *remote, GTask *task);

GbtUdpPort *gbt_utp_socket_get_port (GbtUtpSocket *self);
/* connections in the table, and how many of them are half-open */
guint gbt_utp_socket_get_n_connections (GbtUtpSocket *self);
guint gbt_utp_socket_get_n_half_open (GbtUtpSocket *self);
/* RESETs sent for unknown connections, SYNs given no state (refused or
 * answered with a cookie), packets no connection took */
void gbt_utp_socket_get_counts (GbtUtpSocket *self, guint64 *resets_sent, guint64 *syns_dropped,
                                guint64 *ignored);

/* Feeds one datagram as if it had arrived on the port (the fuzz target). */
void gbt_utp_socket_receive (GbtUtpSocket *self, const guint8 *data, gsize len,
                             GInetSocketAddress *from);

G_END_DECLS
