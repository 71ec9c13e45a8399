/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One uTP connection's state machine: see gbt-utp-conn.h for the rules.
 * Everything here is driven by gbt_utp_conn_receive(), _tick(), _write(),
 * _read(); nothing blocks, and every buffer has a fixed bound.
 */
#include <string.h>

#include "gbt-utp-conn.h"

#define MASK (GBT_UTP_CONN_MAX_PACKETS - 1)
G_STATIC_ASSERT ((GBT_UTP_CONN_MAX_PACKETS & MASK) == 0);
G_STATIC_ASSERT (GBT_UTP_CONN_MAX_PACKETS / 8 <= GBT_UTP_SACK_MAX_LEN);

typedef struct {
  guint16 seq;
  guint8 type;                  /* ST_SYN, ST_DATA or ST_FIN */
  gboolean in_flight, need_resend, sacked;
  gboolean mtu_probe;           /* sent as the MTU search's probe */
  guint transmissions;
  guint16 next_at_send;         /* our seq_nr when it last went out */
  gint64 sent_us;
  gsize len;
  guint8 payload[];
} OutPkt;

typedef struct {
  guint16 seq;
  gsize len;
  guint8 data[];
} InPkt;

struct _GbtUtpConn {
  GbtUtpConnConfig config;
  GbtUtpSendFunc send_func;
  GbtUtpSendFunc send_fragmentable_func;
  gpointer user_data;
  GbtUtpConnState state;
  GbtUtpConnError error;
  guint16 recv_id, send_id;
  gboolean initiator;
  guint16 initial_seq;          /* acceptor: our seq_nr in the SYN-ACK */
  guint16 peer_syn_seq;         /* acceptor: the SYN's seq_nr */

  /* sending */
  guint16 seq_nr;               /* next to use */
  guint16 snd_una;              /* oldest unacked */
  OutPkt **out;
  guint32 inflight;             /* bytes (with headers) sent, not acked, not lost */
  guint n_resend;               /* packets in out with need_resend: flush skips the scan at 0 */
  gsize out_bytes;              /* payload bytes in out */
  GByteArray *sendq;
  gsize sendq_off;
  guint32 peer_wnd;
  guint dup_acks;
  gboolean fin_requested, fin_sent, fin_acked;
  gint64 rto_deadline, probe_deadline;
  gboolean probing;
  gboolean fast_resend;         /* the oldest lost packet may go past cwnd once */
  guint retries;

  /* receiving */
  guint16 ack_nr;               /* last in order */
  InPkt **reorder;
  guint reorder_count;
  guint16 reorder_top;          /* the highest seq_nr held, while count > 0 */
  gsize reorder_bytes;
  GByteArray *recvq;
  gsize recvq_off;
  gboolean got_fin, fin_delivered;
  guint16 peer_fin_seq;
  guint unacked_pkts;
  gint64 ack_deadline;
  guint32 reply_micro;

  GbtUtpLedbat ledbat;
  guint8 *scratch;

  /* the MTU search: packets are mtu_cur bytes; a probe is in flight while
   * probe_active */
  guint32 mtu_cur, mtu_floor, mtu_ceiling;
  gboolean probe_active;
};

#define MTU_SEARCH_DONE 16

void
gbt_utp_conn_config_init (GbtUtpConnConfig *config)
{
  g_return_if_fail (config != NULL);
  config->mtu = 1400;
  config->send_buffer = 1024 * 1024;
  config->recv_buffer = 1024 * 1024;
  config->max_retries = 6;
  config->delayed_ack_packets = 2;
  config->delayed_ack_us = 20000;
  gbt_utp_ledbat_config_init (&config->ledbat);
}

void
gbt_utp_conn_config_set_path (GbtUtpConnConfig *config, gboolean ipv6, gboolean loopback)
{
  g_return_if_fail (config != NULL);
  /* IPv4 20 + UDP 8; IPv6 40 + UDP 8 */
  /* never past Ethernet's, loopback (64 KiB) and jumbo frames included:
   * libtorrent reads every datagram into a 1,500-byte buffer, and a bigger
   * one arrives cut short */
  (void) loopback;
  config->mtu_floor = 1200; /* under IPv6's minimum MTU of 1280, less headers */
  config->mtu = ipv6 ? 1500 - 48 : 1500 - 28;
}

static guint32
payload_max (const GbtUtpConn *self)
{
  return self->mtu_cur - GBT_UTP_HEADER_LEN;
}

static gboolean
mtu_searching (const GbtUtpConn *self)
{
  return self->mtu_ceiling > self->mtu_floor + MTU_SEARCH_DONE;
}

static void
mtu_set_floor (GbtUtpConn *self, guint32 size)
{
  self->mtu_floor = MAX (self->mtu_floor, size);
  self->mtu_ceiling = MAX (self->mtu_ceiling, self->mtu_floor);
  self->mtu_cur = self->mtu_floor;
  self->ledbat.config.packet_size = self->mtu_cur;
}

static void
mtu_set_ceiling (GbtUtpConn *self, guint32 size)
{
  self->mtu_ceiling = MAX (MIN (self->mtu_ceiling, size), self->mtu_floor);
}

static gsize
queued (const GbtUtpConn *self)
{
  return self->sendq->len - self->sendq_off;
}

gsize
gbt_utp_conn_get_readable (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->recvq->len - self->recvq_off;
}

guint32
gbt_utp_conn_get_recv_window (const GbtUtpConn *self)
{
  gsize used;

  g_return_val_if_fail (self != NULL, 0);
  used = gbt_utp_conn_get_readable (self) + self->reorder_bytes;
  return used < self->config.recv_buffer ? (guint32) (self->config.recv_buffer - used) : 0;
}

static guint16
outstanding (const GbtUtpConn *self)
{
  return (guint16) (self->seq_nr - self->snd_una);
}

static void
emit_full (GbtUtpConn *self, GbtUtpType type, guint16 seq, const guint8 *payload, gsize len,
           const guint8 *sack, gsize sack_len, gboolean fragmentable, gint64 now_us)
{
  GbtUtpPacket p = {
    .type = type,
    .connection_id = type == GBT_UTP_ST_SYN ? self->recv_id : self->send_id,
    .timestamp_us = (guint32) now_us,
    .timestamp_diff_us = self->reply_micro,
    .wnd_size = gbt_utp_conn_get_recv_window (self),
    .seq_nr = seq,
    .ack_nr = type == GBT_UTP_ST_SYN ? 0 : self->ack_nr,
    .sack = sack,
    .sack_len = sack_len,
    .payload = payload,
    .payload_len = len,
  };
  gsize n = gbt_utp_packet_build (&p, self->scratch, self->config.mtu + 2 + GBT_UTP_SACK_MAX_LEN);

  g_assert (n > 0);
  if (type != GBT_UTP_ST_SYN && type != GBT_UTP_ST_RESET)
    {
      self->unacked_pkts = 0;
      self->ack_deadline = G_MAXINT64;
    }
  if (fragmentable && self->send_fragmentable_func)
    self->send_fragmentable_func (self->user_data, self->scratch, n);
  else
    self->send_func (self->user_data, self->scratch, n);
}

static void
emit (GbtUtpConn *self, GbtUtpType type, guint16 seq, const guint8 *payload, gsize len,
      const guint8 *sack, gsize sack_len, gint64 now_us)
{
  emit_full (self, type, seq, payload, len, sack, sack_len, FALSE, now_us);
}

static void
send_ack (GbtUtpConn *self, gint64 now_us)
{
  guint8 sack[GBT_UTP_CONN_MAX_PACKETS / 8];
  gsize sack_len = 0;

  if (self->reorder_count > 0)
    {
      gint last = -1;
      gint span = gbt_utp_seq_diff (self->reorder_top, self->ack_nr) - 1;

      memset (sack, 0, sizeof sack);
      /* bit i is ack_nr + 2 + i, up to the highest held */
      for (gint i = 0; i < MIN (span, GBT_UTP_CONN_MAX_PACKETS - 2); i++)
        {
          guint16 s = (guint16) (self->ack_nr + 2 + i);
          InPkt *in = self->reorder[s & MASK];

          if (in != NULL && in->seq == s)
            {
              sack[i >> 3] |= (guint8) (1u << (i & 7));
              last = (gint) i;
            }
        }
      if (last >= 0)
        sack_len = ((gsize) last / 32 + 1) * 4;
    }
  emit (self, GBT_UTP_ST_STATE, self->seq_nr, NULL, 0, sack_len ? sack : NULL, sack_len, now_us);
}

static guint32
pkt_size (const OutPkt *pkt)
{
  return (guint32) pkt->len + GBT_UTP_HEADER_LEN;
}

static void
transmit (GbtUtpConn *self, OutPkt *pkt, gint64 now_us)
{
  /* a resend bigger than what is known to pass was a probe that did not:
   * it cannot be cut smaller, so it may go as fragments */
  emit_full (self, pkt->type, pkt->seq, pkt->payload, pkt->len, NULL, 0,
             pkt->transmissions > 0 && pkt_size (pkt) > self->mtu_floor, now_us);
  pkt->transmissions++;
  pkt->next_at_send = self->seq_nr;
  pkt->sent_us = now_us;
  if (pkt->need_resend)
    self->n_resend--;
  pkt->need_resend = FALSE;
  if (!pkt->in_flight)
    {
      pkt->in_flight = TRUE;
      self->inflight += pkt_size (pkt);
    }
  if (self->rto_deadline == G_MAXINT64)
    self->rto_deadline = now_us + gbt_utp_ledbat_get_rto_us (&self->ledbat);
  gbt_utp_ledbat_on_sent (&self->ledbat, now_us, self->inflight);
}

/* The probe got through: the floor rises to it. */
static void
probe_arrived (GbtUtpConn *self, OutPkt *pkt)
{
  if (!pkt->mtu_probe)
    return;
  pkt->mtu_probe = FALSE;
  self->probe_active = FALSE;
  mtu_set_floor (self, pkt_size (pkt));
}

static void
mark_lost (GbtUtpConn *self, OutPkt *pkt)
{
  if (pkt->mtu_probe)
    {
      /* too big for the path, most likely: search below it */
      pkt->mtu_probe = FALSE;
      self->probe_active = FALSE;
      mtu_set_ceiling (self, pkt_size (pkt) - 1);
    }
  if (pkt->in_flight)
    {
      self->inflight -= pkt_size (pkt);
      pkt->in_flight = FALSE;
    }
  if (!pkt->need_resend)
    self->n_resend++;
  pkt->need_resend = TRUE;
}

/* Control packets (no payload) always go; data within min (cwnd, peer
 * window), or one packet when nothing is in flight and the peer's window
 * takes it or we are probing a zero window. */
static gboolean
may_send (GbtUtpConn *self, guint32 size, gboolean control)
{
  guint32 window;

  if (control)
    return TRUE;
  window = MIN (gbt_utp_ledbat_get_cwnd (&self->ledbat), self->peer_wnd);
  if ((guint64) self->inflight + size <= window)
    return TRUE;
  return self->inflight == 0 && (self->peer_wnd >= size || self->probing);
}

static OutPkt *
new_out (GbtUtpConn *self, GbtUtpType type, const guint8 *data, gsize len)
{
  OutPkt *pkt = g_malloc0 (sizeof (OutPkt) + len);

  pkt->seq = self->seq_nr++;
  pkt->type = type;
  pkt->len = len;
  if (len > 0)
    memcpy (pkt->payload, data, len);
  g_assert (self->out[pkt->seq & MASK] == NULL);
  self->out[pkt->seq & MASK] = pkt;
  self->out_bytes += len;
  return pkt;
}

static void
flush (GbtUtpConn *self, gint64 now_us)
{
  gboolean blocked = FALSE;

  if (self->state == GBT_UTP_CONN_CLOSED || self->state == GBT_UTP_CONN_RESET)
    return;
  /* resends first, oldest first */
  for (guint16 i = 0; self->n_resend > 0 && i < outstanding (self); i++)
    {
      OutPkt *pkt = self->out[(guint16) (self->snd_una + i) & MASK];

      if (pkt == NULL || !pkt->need_resend)
        continue;
      if (!may_send (self, pkt_size (pkt), pkt->len == 0 || self->fast_resend))
        {
          blocked = TRUE;
          break;
        }
      transmit (self, pkt, now_us);
      self->probing = FALSE;
      self->fast_resend = FALSE;
    }
  self->fast_resend = FALSE;
  if (self->state != GBT_UTP_CONN_CONNECTED && self->state != GBT_UTP_CONN_FIN_SENT)
    return;
  while (!blocked && queued (self) > 0 && outstanding (self) < GBT_UTP_CONN_MAX_PACKETS - 1)
    {
      gsize len = MIN (queued (self), payload_max (self));
      guint32 probe = (self->mtu_floor + self->mtu_ceiling) / 2;
      gboolean is_probe = FALSE;
      OutPkt *pkt;

      /* Nagle (RFC 896): a packet shorter than a full one waits while data
       * is in flight, so bytes written a few at a time (an upload limit
       * grants them so) go out in full packets, not hundreds of tiny ones */
      if (len < payload_max (self) && self->inflight > 0)
        break;
      if (!self->probe_active && mtu_searching (self)
          && queued (self) >= probe - GBT_UTP_HEADER_LEN
          && gbt_utp_ledbat_get_cwnd (&self->ledbat) >= 3 * probe)
        {
          len = probe - GBT_UTP_HEADER_LEN;
          is_probe = TRUE;
        }

      if (!may_send (self, (guint32) len + GBT_UTP_HEADER_LEN, FALSE))
        {
          blocked = TRUE;
          break;
        }
      pkt = new_out (self, GBT_UTP_ST_DATA, self->sendq->data + self->sendq_off, len);
      if (is_probe)
        {
          pkt->mtu_probe = TRUE;
          self->probe_active = TRUE;
        }
      self->sendq_off += len;
      if (self->sendq_off > self->sendq->len / 2)
        {
          g_byte_array_remove_range (self->sendq, 0, (guint) self->sendq_off);
          self->sendq_off = 0;
        }
      transmit (self, pkt, now_us);
      self->probing = FALSE;
    }
  if (self->fin_requested && !self->fin_sent && queued (self) == 0
      && outstanding (self) < GBT_UTP_CONN_MAX_PACKETS - 1)
    {
      OutPkt *pkt = new_out (self, GBT_UTP_ST_FIN, NULL, 0);

      self->fin_sent = TRUE;
      self->state = GBT_UTP_CONN_FIN_SENT;
      transmit (self, pkt, now_us);
    }
  /* a zero window with nothing in flight: probe after an RTO */
  if (blocked && self->inflight == 0 && self->probe_deadline == G_MAXINT64)
    self->probe_deadline = now_us + gbt_utp_ledbat_get_rto_us (&self->ledbat);
}

static void
drop_all (GbtUtpConn *self)
{
  for (guint i = 0; i < GBT_UTP_CONN_MAX_PACKETS; i++)
    {
      g_clear_pointer (&self->out[i], g_free);
      if (self->reorder != NULL)
        g_clear_pointer (&self->reorder[i], g_free);
    }
  self->out_bytes = 0;
  self->n_resend = 0;
  self->inflight = 0;
  self->reorder_count = 0;
  self->reorder_bytes = 0;
  g_byte_array_set_size (self->sendq, 0);
  self->sendq_off = 0;
  self->snd_una = self->seq_nr;
  self->rto_deadline = self->probe_deadline = self->ack_deadline = G_MAXINT64;
}

static void
maybe_closed (GbtUtpConn *self)
{
  if (self->state == GBT_UTP_CONN_FIN_SENT && self->fin_acked && self->fin_delivered)
    {
      self->state = GBT_UTP_CONN_CLOSED;
      drop_all (self);
    }
}

static GbtUtpConn *
conn_new (const GbtUtpConnConfig *config, GbtUtpSendFunc send_func, gpointer user_data)
{
  GbtUtpConn *self = g_new0 (GbtUtpConn, 1);

  if (config != NULL)
    self->config = *config;
  else
    gbt_utp_conn_config_init (&self->config);
  self->config.mtu = CLAMP (self->config.mtu, GBT_UTP_HEADER_LEN + 1, 65535);
  self->mtu_ceiling = self->config.mtu;
  self->mtu_floor = self->config.mtu_floor > 0
                      ? CLAMP (self->config.mtu_floor, GBT_UTP_HEADER_LEN + 1, self->config.mtu)
                      : self->config.mtu;
  self->mtu_cur = self->mtu_floor;
  self->config.ledbat.packet_size = self->mtu_cur;
  self->config.delayed_ack_packets = MAX (self->config.delayed_ack_packets, 1);
  gbt_utp_ledbat_init (&self->ledbat, &self->config.ledbat);
  self->send_func = send_func;
  self->user_data = user_data;
  self->out = g_new0 (OutPkt *, GBT_UTP_CONN_MAX_PACKETS);
  self->sendq = g_byte_array_new ();
  self->recvq = g_byte_array_new ();
  self->scratch = g_malloc (self->config.mtu + 2 + GBT_UTP_SACK_MAX_LEN);
  self->rto_deadline = self->probe_deadline = self->ack_deadline = G_MAXINT64;
  self->peer_wnd = self->config.mtu;
  return self;
}

GbtUtpConn *
gbt_utp_conn_new_connect (const GbtUtpConnConfig *config, guint16 recv_id, guint16 seq_nr,
                          gint64 now_us, GbtUtpSendFunc send_func, gpointer user_data)
{
  GbtUtpConn *self;

  g_return_val_if_fail (send_func != NULL, NULL);
  self = conn_new (config, send_func, user_data);
  self->initiator = TRUE;
  self->recv_id = recv_id;
  self->send_id = (guint16) (recv_id + 1);
  self->state = GBT_UTP_CONN_SYN_SENT;
  self->seq_nr = self->snd_una = seq_nr;
  transmit (self, new_out (self, GBT_UTP_ST_SYN, NULL, 0), now_us);
  return self;
}

GbtUtpConn *
gbt_utp_conn_new_accept (const GbtUtpConnConfig *config, const guint8 *data, gsize len,
                         guint16 seq_nr, gint64 now_us, GbtUtpSendFunc send_func,
                         gpointer user_data)
{
  GbtUtpConn *self;
  GbtUtpPacket p;

  g_return_val_if_fail (send_func != NULL, NULL);
  if (!gbt_utp_packet_parse (data, len, &p, NULL) || p.type != GBT_UTP_ST_SYN)
    return NULL;
  self = conn_new (config, send_func, user_data);
  self->recv_id = (guint16) (p.connection_id + 1);
  self->send_id = p.connection_id;
  self->state = GBT_UTP_CONN_CONNECTED;
  self->seq_nr = self->snd_una = self->initial_seq = seq_nr;
  self->ack_nr = self->peer_syn_seq = p.seq_nr;
  self->peer_wnd = p.wnd_size;
  self->reply_micro = (guint32) now_us - p.timestamp_us;
  send_ack (self, now_us);
  return self;
}

void
gbt_utp_conn_free (GbtUtpConn *self)
{
  if (self == NULL)
    return;
  drop_all (self);
  g_free (self->out);
  g_free (self->reorder);
  g_byte_array_unref (self->sendq);
  g_byte_array_unref (self->recvq);
  g_free (self->scratch);
  g_free (self);
}

/* Whether @pkt may be declared lost again.  Once resent, only evidence
 * that the resend itself should have arrived counts: a SACK of a packet
 * sent after it (@highest_sacked), or, for duplicate ACKs that carry no
 * SACK, 1.5 smoothed RTTs: ACKs sent before the resend reached the peer
 * still show the hole for up to one RTT. */
static gboolean
eligible (GbtUtpConn *self, OutPkt *pkt, gint64 now_us, const guint16 *highest_sacked)
{
  if (pkt == NULL || pkt->transmissions == 0 || pkt->need_resend || pkt->sacked)
    return FALSE;
  if (pkt->transmissions == 1)
    return TRUE;
  if (highest_sacked != NULL)
    return gbt_utp_seq_le (pkt->next_at_send, *highest_sacked);
  return now_us - pkt->sent_us > (gint64) gbt_utp_ledbat_get_srtt_us (&self->ledbat) * 3 / 2;
}

static void
handle_ack (GbtUtpConn *self, const GbtUtpPacket *p, gint d, gint64 now_us)
{
  guint32 bytes_acked = 0;
  gboolean loss = FALSE;
  guint16 n;

  for (gint i = 0; i < d; i++)
    {
      guint16 s = (guint16) (self->snd_una + i);
      OutPkt *pkt = self->out[s & MASK];

      if (pkt == NULL)
        continue;
      probe_arrived (self, pkt);
      if (!pkt->sacked)
        {
          bytes_acked += pkt_size (pkt);
          if (pkt->transmissions == 1)
            gbt_utp_ledbat_on_rtt_sample (&self->ledbat, now_us,
                                          (guint32) (now_us - pkt->sent_us));
        }
      if (pkt->in_flight)
        self->inflight -= pkt_size (pkt);
      if (pkt->type == GBT_UTP_ST_FIN)
        self->fin_acked = TRUE;
      if (pkt->need_resend)
        self->n_resend--;
      self->out_bytes -= pkt->len;
      g_free (pkt);
      self->out[s & MASK] = NULL;
    }
  self->snd_una = (guint16) (p->ack_nr + 1);
  if (d > 0)
    self->dup_acks = 0;
  else if (p->type == GBT_UTP_ST_STATE && outstanding (self) > 0)
    self->dup_acks++;

  n = outstanding (self);
  if (p->sack != NULL && n > 1)
    {
      guint bits = MIN (p->sack_len * 8, (gsize) n - 1);
      guint count = 0;
      guint16 highest = p->ack_nr;

      /* bit i is ack_nr + 2 + i = snd_una + 1 + i, all sent */
      for (guint i = 0; i < bits; i++)
        {
          guint16 s = (guint16) (p->ack_nr + 2 + i);
          OutPkt *pkt = self->out[s & MASK];

          if (pkt == NULL || pkt->sacked || !gbt_utp_sack_get (p->sack, p->sack_len, p->ack_nr, s))
            continue;
          pkt->sacked = TRUE;
          if (pkt->need_resend)
            self->n_resend--;
          pkt->need_resend = FALSE;
          probe_arrived (self, pkt);
          bytes_acked += pkt_size (pkt);
          if (pkt->transmissions == 1)
            gbt_utp_ledbat_on_rtt_sample (&self->ledbat, now_us,
                                          (guint32) (now_us - pkt->sent_us));
          if (pkt->in_flight)
            {
              self->inflight -= pkt_size (pkt);
              pkt->in_flight = FALSE;
            }
        }
      /* a hole with 3 or more SACKed packets after it is lost */
      for (gint i = (gint) bits - 1; i >= -1; i--)
        {
          guint16 s = (guint16) (p->ack_nr + 2 + i);
          OutPkt *pkt = self->out[s & MASK];

          if (pkt != NULL && pkt->sacked)
            {
              if (count++ == 0)
                highest = s;
            }
          else if (count >= 3 && eligible (self, pkt, now_us, &highest))
            {
              loss |= !pkt->mtu_probe;
              mark_lost (self, pkt);
            }
        }
    }
  if (self->dup_acks >= 3)
    {
      OutPkt *pkt = self->out[self->snd_una & MASK];

      self->dup_acks = 0;
      if (eligible (self, pkt, now_us, NULL))
        {
          loss |= !pkt->mtu_probe;
          mark_lost (self, pkt);
        }
    }
  if (d > 0 || bytes_acked > 0)
    gbt_utp_ledbat_on_ack (&self->ledbat, now_us, bytes_acked);
  if (loss)
    {
      /* the resend goes at once, even when the cut cwnd is full (TCP's fast
       * retransmit); the rest of the lost packets wait for the window */
      gbt_utp_ledbat_on_loss (&self->ledbat, now_us);
      self->fast_resend = TRUE;
    }
  if (d > 0)
    self->rto_deadline = outstanding (self) > 0
                           ? now_us + gbt_utp_ledbat_get_rto_us (&self->ledbat)
                           : G_MAXINT64;
}

static void
deliver (GbtUtpConn *self, guint16 seq, const guint8 *data, gsize len)
{
  g_byte_array_append (self->recvq, data, (guint) len);
  self->ack_nr = seq;
  if (self->got_fin && seq == self->peer_fin_seq)
    self->fin_delivered = TRUE;
}

static void
handle_data (GbtUtpConn *self, const GbtUtpPacket *p, gint64 now_us)
{
  gint sd = gbt_utp_seq_diff (p->seq_nr, self->ack_nr);
  gboolean ack_now = FALSE;

  if (sd <= 0 || self->state == GBT_UTP_CONN_CLOSED)
    {
      /* a duplicate: our ACK was lost */
      if (sd <= 0)
        send_ack (self, now_us);
      return;
    }
  if (sd >= GBT_UTP_CONN_MAX_PACKETS)
    return;
  if (self->got_fin && gbt_utp_seq_lt (self->peer_fin_seq, p->seq_nr))
    return;
  if (p->type == GBT_UTP_ST_FIN)
    {
      if (self->got_fin && self->peer_fin_seq != p->seq_nr)
        return;
      self->got_fin = TRUE;
      self->peer_fin_seq = p->seq_nr;
      ack_now = TRUE;
    }
  if (sd == 1)
    {
      /* one packet of slack past the window, for a zero-window probe */
      if (gbt_utp_conn_get_readable (self) + p->payload_len
          > (gsize) self->config.recv_buffer + self->config.mtu)
        {
          send_ack (self, now_us);
          return;
        }
      deliver (self, p->seq_nr, p->payload, p->payload_len);
      while (self->reorder_count > 0)
        {
          guint16 s = (guint16) (self->ack_nr + 1);
          InPkt *in = self->reorder[s & MASK];

          if (in == NULL || in->seq != s)
            break;
          self->reorder[s & MASK] = NULL;
          self->reorder_count--;
          self->reorder_bytes -= in->len;
          deliver (self, s, in->data, in->len);
          g_free (in);
          ack_now = TRUE;
        }
      if (++self->unacked_pkts >= self->config.delayed_ack_packets)
        ack_now = TRUE;
    }
  else
    {
      guint16 slot = p->seq_nr & MASK;

      ack_now = TRUE;
      if (self->reorder == NULL)
        self->reorder = g_new0 (InPkt *, GBT_UTP_CONN_MAX_PACKETS);
      if (self->reorder[slot] == NULL
          && gbt_utp_conn_get_readable (self) + self->reorder_bytes + p->payload_len
               <= self->config.recv_buffer)
        {
          InPkt *in = g_malloc (sizeof (InPkt) + p->payload_len);

          in->seq = p->seq_nr;
          in->len = p->payload_len;
          if (p->payload_len > 0)
            memcpy (in->data, p->payload, p->payload_len);
          self->reorder[slot] = in;
          if (self->reorder_count++ == 0 || gbt_utp_seq_lt (self->reorder_top, in->seq))
            self->reorder_top = in->seq;
          self->reorder_bytes += in->len;
        }
    }
  if (ack_now)
    send_ack (self, now_us);
  else if (self->ack_deadline == G_MAXINT64)
    self->ack_deadline = now_us + self->config.delayed_ack_us;
}

gboolean
gbt_utp_conn_receive (GbtUtpConn *self, const guint8 *data, gsize len, gint64 now_us)
{
  GbtUtpPacket p;
  gint d;

  g_return_val_if_fail (self != NULL, FALSE);
  if (self->state == GBT_UTP_CONN_RESET || !gbt_utp_packet_parse (data, len, &p, NULL))
    return FALSE;
  if (p.type == GBT_UTP_ST_RESET)
    {
      if (p.connection_id != self->recv_id && p.connection_id != self->send_id)
        return FALSE;
      if (self->state == GBT_UTP_CONN_CLOSED)
        return TRUE;
      self->state = GBT_UTP_CONN_RESET;
      self->error = GBT_UTP_CONN_ERROR_RESET_BY_PEER;
      drop_all (self);
      return TRUE;
    }
  if (p.type == GBT_UTP_ST_SYN)
    {
      /* the acceptor's reply was lost: answer again with the same seq_nr */
      if (self->initiator || p.connection_id != self->send_id || p.seq_nr != self->peer_syn_seq
          || self->state == GBT_UTP_CONN_CLOSED)
        return FALSE;
      emit (self, GBT_UTP_ST_STATE, self->initial_seq, NULL, 0, NULL, 0, now_us);
      return TRUE;
    }
  if (p.connection_id != self->recv_id)
    return FALSE;
  /* how far ack_nr is past the last packet acked */
  d = gbt_utp_seq_diff (p.ack_nr, (guint16) (self->snd_una - 1));
  if (d > outstanding (self))
    return FALSE;
  if (self->state == GBT_UTP_CONN_SYN_SENT)
    {
      if (p.type != GBT_UTP_ST_STATE || d != 1)
        return FALSE;
      self->state = GBT_UTP_CONN_CONNECTED;
      self->ack_nr = (guint16) (p.seq_nr - 1);
    }

  self->retries = 0;
  self->reply_micro = (guint32) now_us - p.timestamp_us;
  gbt_utp_ledbat_on_reverse_delay_sample (&self->ledbat, now_us, self->reply_micro);
  if (p.timestamp_diff_us != 0)
    gbt_utp_ledbat_on_delay_sample (&self->ledbat, now_us, p.timestamp_diff_us);
  self->peer_wnd = p.wnd_size;
  if (self->peer_wnd >= self->mtu_cur)
    self->probe_deadline = G_MAXINT64;

  if (d >= 0 && self->state != GBT_UTP_CONN_CLOSED)
    handle_ack (self, &p, d, now_us);
  if (p.type == GBT_UTP_ST_DATA || p.type == GBT_UTP_ST_FIN)
    handle_data (self, &p, now_us);
  maybe_closed (self);
  flush (self, now_us);
  return TRUE;
}

static void
give_up (GbtUtpConn *self)
{
  self->state = GBT_UTP_CONN_CLOSED;
  self->error = GBT_UTP_CONN_ERROR_TIMEOUT;
  drop_all (self);
}

void
gbt_utp_conn_tick (GbtUtpConn *self, gint64 now_us)
{
  g_return_if_fail (self != NULL);
  if (self->state == GBT_UTP_CONN_CLOSED || self->state == GBT_UTP_CONN_RESET)
    return;
  if (self->ack_deadline <= now_us)
    send_ack (self, now_us);
  if (self->rto_deadline <= now_us)
    {
      if (outstanding (self) == 0)
        self->rto_deadline = G_MAXINT64;
      else if (++self->retries > self->config.max_retries)
        {
          give_up (self);
          return;
        }
      else
        {
          gbt_utp_ledbat_on_timeout (&self->ledbat, now_us, self->inflight);
          for (guint16 i = 0; i < outstanding (self); i++)
            {
              OutPkt *pkt = self->out[(guint16) (self->snd_una + i) & MASK];

              /* RFC 2018: after a timeout forget SACKs, a receiver may have
               * reneged (or lied); resending them costs little then */
              if (pkt != NULL)
                {
                  pkt->sacked = FALSE;
                  mark_lost (self, pkt);
                }
            }
          self->dup_acks = 0;
          self->rto_deadline = now_us + gbt_utp_ledbat_get_rto_us (&self->ledbat);
        }
    }
  if (self->probe_deadline <= now_us)
    {
      self->probe_deadline = G_MAXINT64;
      self->probing = TRUE;
    }
  flush (self, now_us);
  self->probing = FALSE;
}

void
gbt_utp_conn_set_fragmentable_send_func (GbtUtpConn *self, GbtUtpSendFunc func)
{
  g_return_if_fail (self != NULL);
  self->send_fragmentable_func = func;
}

guint32
gbt_utp_conn_get_mtu (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->mtu_cur;
}

void
gbt_utp_conn_mtu_too_big (GbtUtpConn *self, gsize size)
{
  g_return_if_fail (self != NULL);
  mtu_set_ceiling (self, (guint32) MIN (size, G_MAXUINT32) - 1);
}

gint64
gbt_utp_conn_get_deadline (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, G_MAXINT64);
  if (self->state == GBT_UTP_CONN_CLOSED || self->state == GBT_UTP_CONN_RESET)
    return G_MAXINT64;
  return MIN (self->ack_deadline, MIN (self->rto_deadline, self->probe_deadline));
}

gsize
gbt_utp_conn_get_writable (const GbtUtpConn *self)
{
  gsize held;

  g_return_val_if_fail (self != NULL, 0);
  if ((self->state != GBT_UTP_CONN_CONNECTED && self->state != GBT_UTP_CONN_SYN_SENT)
      || self->fin_requested)
    return 0;
  held = queued (self) + self->out_bytes;
  return held < self->config.send_buffer ? self->config.send_buffer - held : 0;
}

gsize
gbt_utp_conn_write (GbtUtpConn *self, const guint8 *data, gsize len, gint64 now_us)
{
  gsize n;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (data != NULL || len == 0, 0);
  n = MIN (len, gbt_utp_conn_get_writable (self));
  if (n == 0)
    return 0;
  g_byte_array_append (self->sendq, data, (guint) n);
  flush (self, now_us);
  return n;
}

gsize
gbt_utp_conn_read (GbtUtpConn *self, guint8 *buf, gsize len, gint64 now_us)
{
  guint32 before;
  gsize n;

  g_return_val_if_fail (self != NULL, 0);
  g_return_val_if_fail (buf != NULL || len == 0, 0);
  before = gbt_utp_conn_get_recv_window (self);
  n = MIN (len, gbt_utp_conn_get_readable (self));
  if (n == 0)
    return 0;
  memcpy (buf, self->recvq->data + self->recvq_off, n);
  self->recvq_off += n;
  if (self->recvq_off == self->recvq->len || self->recvq_off > 65536)
    {
      g_byte_array_remove_range (self->recvq, 0, (guint) self->recvq_off);
      self->recvq_off = 0;
    }
  /* a window that could not take a packet can now: say so */
  if (before < payload_max (self) && gbt_utp_conn_get_recv_window (self) >= payload_max (self)
      && (self->state == GBT_UTP_CONN_CONNECTED || self->state == GBT_UTP_CONN_FIN_SENT))
    send_ack (self, now_us);
  return n;
}

gboolean
gbt_utp_conn_at_eof (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->fin_delivered && gbt_utp_conn_get_readable (self) == 0;
}

gsize
gbt_utp_conn_get_unacked (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return queued (self) + self->out_bytes;
}

gboolean
gbt_utp_conn_get_fin_acked (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->fin_acked;
}

void
gbt_utp_conn_close (GbtUtpConn *self, gint64 now_us)
{
  g_return_if_fail (self != NULL);
  if (self->state != GBT_UTP_CONN_CONNECTED && self->state != GBT_UTP_CONN_SYN_SENT)
    return;
  self->fin_requested = TRUE;
  flush (self, now_us);
}

void
gbt_utp_conn_reset (GbtUtpConn *self, gint64 now_us)
{
  g_return_if_fail (self != NULL);
  if (self->state == GBT_UTP_CONN_CLOSED || self->state == GBT_UTP_CONN_RESET)
    return;
  emit (self, GBT_UTP_ST_RESET, self->seq_nr, NULL, 0, NULL, 0, now_us);
  self->state = GBT_UTP_CONN_RESET;
  self->error = GBT_UTP_CONN_ERROR_RESET_LOCAL;
  drop_all (self);
}

GbtUtpConnState
gbt_utp_conn_get_state (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, GBT_UTP_CONN_RESET);
  return self->state;
}

GbtUtpConnError
gbt_utp_conn_get_error (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, GBT_UTP_CONN_ERROR_NONE);
  return self->error;
}

const char *
gbt_utp_conn_state_name (GbtUtpConnState state)
{
  switch (state)
    {
    case GBT_UTP_CONN_SYN_SENT: return "SYN_SENT";
    case GBT_UTP_CONN_CONNECTED: return "CONNECTED";
    case GBT_UTP_CONN_FIN_SENT: return "FIN_SENT";
    case GBT_UTP_CONN_CLOSED: return "CLOSED";
    case GBT_UTP_CONN_RESET: return "RESET";
    default: return "unknown";
    }
}

guint16
gbt_utp_conn_get_recv_id (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->recv_id;
}

guint16
gbt_utp_conn_get_send_id (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->send_id;
}

const GbtUtpLedbat *
gbt_utp_conn_get_ledbat (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return &self->ledbat;
}

gsize
gbt_utp_conn_get_buffered (const GbtUtpConn *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return queued (self) + self->out_bytes + gbt_utp_conn_get_readable (self)
         + self->reorder_bytes;
}
