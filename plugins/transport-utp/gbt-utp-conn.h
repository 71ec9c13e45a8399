/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One uTP connection (BEP 29) as a pure state machine: no socket, no main
 * loop, no clock.  The owner feeds it datagrams (already matched to this
 * connection by address), application writes and reads, and the time; it
 * emits datagrams through a callback and says when it next wants a tick.
 *
 * Connection ids (BEP 29): the initiator picks recv_id, sends its SYN with
 * connection_id = recv_id and every later packet with send_id = recv_id + 1;
 * the acceptor of a SYN with connection_id c takes recv_id = c + 1 and
 * send_id = c.  Incoming packets must carry our recv_id (a RESET may carry
 * either id); anything else is ignored.
 *
 * Sequence numbers: the SYN, each DATA packet and the FIN consume one.  A
 * STATE packet carries the next seq_nr we will use, so the initiator takes
 * ack_nr = seq_nr - 1 from the acceptor's reply to its SYN.  The acceptor
 * may send data at once; the initiator drops DATA until it has seen the
 * STATE (its SYN is then retransmitted and answered again), so a lost
 * SYN-ACK never shifts the stream.
 *
 * Choices, where BEP 29 leaves room:
 * - Outstanding packets and the reorder buffer are rings of
 *   GBT_UTP_CONN_MAX_PACKETS slots indexed by seq_nr; a packet whose seq_nr
 *   falls outside is dropped.  Bytes held are bounded by send_buffer and
 *   recv_buffer (+ one packet of slack for a zero-window probe).
 * - ACKs: a STATE after every delayed_ack_packets in-order data packets or
 *   delayed_ack_us after the first unacknowledged one, at once for
 *   out-of-order, duplicate or FIN packets (carrying a SACK when packets past
 *   a hole are held), and when reading reopens a window that was below one
 *   packet.  DATA packets carry the ACK too.  SACKs go only on STATE packets.
 * - Loss: 3 duplicate ACKs (STATE packets acking nothing new with data
 *   outstanding) resend the oldest unacked packet; a packet with 3 or more
 *   SACKed packets after it is resent.  A packet already resent is resent
 *   again only once a packet sent after that resend is SACKed (or, on
 *   duplicate ACKs, after 1.5 smoothed RTTs).  Loss cuts cwnd (once per RTT,
 *   the ledbat unit);
 *   the oldest lost packet goes at once even when the cut window is full.
 *   On RTO every unacked packet (SACKed or not, as RFC 2018 says) is marked
 *   lost; the ledbat unit drops
 *   cwnd and backs the RTO off.
 * - Death: max_retries RTOs in a row with no valid packet from the peer in
 *   between close the connection (error TIMEOUT).  A zero window is probed
 *   after an RTO with one packet; a receiver takes one packet past its window
 *   for that.  Probes answered by a STATE do not count toward death.
 * - An ACK of a seq_nr never sent drops the whole packet.  wnd_size is
 *   honoured as given; cwnd (max_cwnd) bounds what it can make us send.
 * - Nagle: a DATA packet shorter than a full one goes only when nothing
 *   is in flight; small writes wait for the ACK and are sent together.
 * - MTU: with mtu_floor set, packets are mtu_floor bytes, and one DATA
 *   packet at a time goes out as a probe halfway between the floor and the
 *   ceiling (config mtu), when the send queue and cwnd (3 probes) hold
 *   enough.  Acked or SACKed: the floor rises to it, and so do later
 *   packets.  Declared lost: the ceiling drops below it, and the loss does
 *   not count as congestion.  The search ends when floor and ceiling are
 *   within 16 bytes (RFC 4821's search, as libutp and libtorrent do).  The
 *   socket sets DF on every datagram, so a probe too big for the path is
 *   dropped; only its resend, which cannot be cut up, may be fragmented
 *   (gbt_utp_conn_set_fragmentable_send_func()).
 * Left for later: keepalives on idle connections, and SYN cookies /
 * half-open limits (the socket layer's job).
 */
#pragma once

#include <glib.h>

#include "gbt-utp-ledbat.h"
#include "gbt-utp-packet.h"

G_BEGIN_DECLS

#define GBT_UTP_CONN_MAX_PACKETS 1024

typedef enum {
  GBT_UTP_CONN_SYN_SENT,
  GBT_UTP_CONN_CONNECTED,
  GBT_UTP_CONN_FIN_SENT,   /* our FIN is out: no more writes, reads go on */
  GBT_UTP_CONN_CLOSED,     /* both FINs acked and delivered, or timed out */
  GBT_UTP_CONN_RESET,      /* a RESET was sent or received */
} GbtUtpConnState;

typedef enum {
  GBT_UTP_CONN_ERROR_NONE,
  GBT_UTP_CONN_ERROR_TIMEOUT,       /* too many RTOs in a row */
  GBT_UTP_CONN_ERROR_RESET_BY_PEER,
  GBT_UTP_CONN_ERROR_RESET_LOCAL,
} GbtUtpConnError;

typedef struct {
  guint32 mtu;                  /* whole datagram (header + payload): 1400; with
                                 * mtu_floor, the largest one to try */
  guint32 mtu_floor;            /* 0: every packet is mtu.  Else packets start
                                 * at this size, known to pass, and probes
                                 * search up to mtu (see "MTU" above) */
  guint32 send_buffer;          /* bytes queued + unacked: 1 MiB */
  guint32 recv_buffer;          /* bytes readable + held out of order: 1 MiB */
  guint max_retries;            /* RTOs in a row before giving up: 8 */
  guint delayed_ack_packets;    /* 2 */
  guint32 delayed_ack_us;       /* 20 ms */
  GbtUtpLedbatConfig ledbat;    /* packet_size is set from mtu */
} GbtUtpConnConfig;

/* The datagram sizes for a destination: searched up from what every path
 * carries (1200 bytes) to a UDP payload on a 1500-byte Ethernet path, for
 * IPv4 and IPv6.  Never more, even on loopback (64 KiB) or jumbo frames:
 * libtorrent reads each datagram into a 1,500-byte buffer, so a bigger one
 * would reach it cut short.  @loopback is for a later cap of its own. */
void gbt_utp_conn_config_set_path (GbtUtpConnConfig *config, gboolean ipv6, gboolean loopback);

/* Emits one datagram; must not call back into the connection. */
typedef void (*GbtUtpSendFunc) (gpointer user_data, const guint8 *data, gsize len);

typedef struct _GbtUtpConn GbtUtpConn;

void gbt_utp_conn_config_init (GbtUtpConnConfig *config);

/* Starts a connection: sends a SYN with connection_id @recv_id and seq_nr
 * @seq_nr.  @config: (nullable) for the defaults. */
GbtUtpConn *gbt_utp_conn_new_connect (const GbtUtpConnConfig *config, guint16 recv_id,
                                      guint16 seq_nr, gint64 now_us, GbtUtpSendFunc send_func,
                                      gpointer user_data);
/* Accepts the SYN in @data (answering it with a STATE, our seq_nr @seq_nr),
 * or returns NULL when @data is not a well-formed SYN. */
GbtUtpConn *gbt_utp_conn_new_accept (const GbtUtpConnConfig *config, const guint8 *data,
                                     gsize len, guint16 seq_nr, gint64 now_us,
                                     GbtUtpSendFunc send_func, gpointer user_data);
void gbt_utp_conn_free (GbtUtpConn *self);

/* Feeds one datagram.  Returns FALSE when it was ignored (malformed, wrong
 * id, out of window, ACK of data never sent, wrong state). */
gboolean gbt_utp_conn_receive (GbtUtpConn *self, const guint8 *data, gsize len, gint64 now_us);
/* Fires the timers due at @now_us (delayed ACK, RTO, zero-window probe). */
void gbt_utp_conn_tick (GbtUtpConn *self, gint64 now_us);
/* When gbt_utp_conn_tick() should next run; G_MAXINT64 for never. */
gint64 gbt_utp_conn_get_deadline (const GbtUtpConn *self);

/* Queues up to @len bytes (at most get_writable()) and sends what the
 * windows allow.  Returns the bytes taken; 0 once closing or closed. */
gsize gbt_utp_conn_write (GbtUtpConn *self, const guint8 *data, gsize len, gint64 now_us);
gsize gbt_utp_conn_get_writable (const GbtUtpConn *self);
/* Takes up to @len in-order bytes; may send a window update. */
gsize gbt_utp_conn_read (GbtUtpConn *self, guint8 *buf, gsize len, gint64 now_us);
gsize gbt_utp_conn_get_readable (const GbtUtpConn *self);
/* The peer's FIN has arrived and every byte before it has been read. */
gboolean gbt_utp_conn_at_eof (const GbtUtpConn *self);
/* How to send a datagram that may be fragmented: the resend of an MTU
 * probe that was too big for the path (it cannot be cut smaller).  Without
 * one, the send func sends those too.  The socket sends everything else
 * with DF set whatever the kernel's path-MTU cache says. */
void gbt_utp_conn_set_fragmentable_send_func (GbtUtpConn *self, GbtUtpSendFunc func);
/* The size of the datagrams it sends now (the MTU search's floor). */
guint32 gbt_utp_conn_get_mtu (const GbtUtpConn *self);
/* The datagram of @size could not be sent: larger than the local
 * interface takes (EMSGSIZE).  Nothing that big is tried again. */
void gbt_utp_conn_mtu_too_big (GbtUtpConn *self, gsize size);
/* Bytes written but not yet acked. */
gsize gbt_utp_conn_get_unacked (const GbtUtpConn *self);
/* Our FIN went out and the peer acked it. */
gboolean gbt_utp_conn_get_fin_acked (const GbtUtpConn *self);

/* Sends a FIN once everything written has gone out. */
void gbt_utp_conn_close (GbtUtpConn *self, gint64 now_us);
/* Sends a RESET and drops everything. */
void gbt_utp_conn_reset (GbtUtpConn *self, gint64 now_us);

GbtUtpConnState gbt_utp_conn_get_state (const GbtUtpConn *self);
GbtUtpConnError gbt_utp_conn_get_error (const GbtUtpConn *self);
const char *gbt_utp_conn_state_name (GbtUtpConnState state);
guint16 gbt_utp_conn_get_recv_id (const GbtUtpConn *self);
guint16 gbt_utp_conn_get_send_id (const GbtUtpConn *self);
/* The window we advertise now. */
guint32 gbt_utp_conn_get_recv_window (const GbtUtpConn *self);
const GbtUtpLedbat *gbt_utp_conn_get_ledbat (const GbtUtpConn *self);
/* Payload bytes held: send queue, unacked packets, readable, reordered. */
gsize gbt_utp_conn_get_buffered (const GbtUtpConn *self);

G_END_DECLS
