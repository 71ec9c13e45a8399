/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uTP congestion control (BEP 29, LEDBAT as RFC 6817 and libutp do it) as a
 * pure state machine: no clock, no main loop, no sockets.  The connection
 * feeds it what it learns from each packet, with the time passed in, and asks
 * it how much it may send and when to retransmit.
 *
 * Per incoming packet, in this order:
 *   gbt_utp_ledbat_on_delay_sample()          its timestamp_difference (our packets' delay)
 *   gbt_utp_ledbat_on_reverse_delay_sample()  our clock minus its timestamp (its packets' delay)
 *   gbt_utp_ledbat_on_rtt_sample()            per newly acked packet never resent (Karn)
 *   gbt_utp_ledbat_on_ack()                   the bytes newly acked, cumulative and selective
 * and gbt_utp_ledbat_on_loss() on a fast retransmit (duplicate ACKs, SACK
 * holes), gbt_utp_ledbat_on_timeout() when gbt_utp_ledbat_rto_us() passes
 * with nothing acked, gbt_utp_ledbat_on_sent() after each packet goes out.
 *
 * Choices, where BEP 29 leaves room:
 * - Gain: below the target cwnd grows by at most gain_bytes_per_rtt *
 *   off_target / target per window of acks (libutp's
 *   MAX_CWND_INCREASE_BYTES_PER_RTT, 3000), scaled by the share of cwnd each
 *   ACK covers.  Above it, cwnd shrinks multiplicatively, as LEDBAT++
 *   (draft-irtf-iccrg-ledbat-plus-plus) does: by the share the delay is
 *   over the target, per window of acks, at most half.  RFC 6817's additive
 *   decrease (3000 bytes per RTT at most) let a 1 MB window hold half of a
 *   100 Mbit/s link beside TCP for tens of seconds (bench/ledbat).
 * - The window grows only while it is used: the connection filled it within
 *   the last second (libutp's last_maxed_out_window, libtorrent's cwnd_full).
 * - Slow start as libtorrent does it (utp_stream.cpp, do_ledbat): cwnd grows
 *   by the bytes acked (doubling per RTT) and takes the larger of that and
 *   the LEDBAT step, until cwnd would pass ssthresh, a loss, or the queuing
 *   delay reaches half the target.  libtorrent waits for the whole target;
 *   half, because the delay seen lags an RTT behind a doubling cwnd, so the
 *   queue can overshoot well past the target before the exit (not measured).
 * - Base delay: the minimum one-way delay sample per minute, kept for
 *   base_history_minutes minutes (BEP 29 says 2; libutp keeps 13 and leans on
 *   the drift correction below), so a route change that raises the floor is
 *   followed within that time.  The current delay is the minimum of the last
 *   3 samples (libutp's CUR_DELAY_SIZE), and never above the last RTT.
 * - Clock drift (libutp): when the reverse direction's base delay drops by up
 *   to 10 ms, the peer's clock runs fast against ours, which would read as
 *   growing queuing delay here: our base is raised by the same amount.
 * - Loss halves cwnd (not below one packet) at most once per smoothed RTT
 *   (100 ms before the first RTT sample) and leaves slow start.
 * - Timeout (libutp, BEP 29): with bytes in flight, cwnd drops to one packet,
 *   ssthresh to half the old cwnd, back into slow start; with nothing in
 *   flight cwnd decays to 2/3.  The RTO doubles per timeout in a row, up to
 *   max_rto_us, until an ACK of new data.
 * - RTT and RTO (BEP 29, in microseconds): first sample rtt = s, rtt_var = s/2;
 *   then rtt_var += (|rtt - s| - rtt_var) / 4, rtt += (s - rtt) / 8;
 *   rto = max(rtt + 4 * rtt_var, 500 ms); 1 s before any sample.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 packet_size;          /* bytes: the minimum cwnd and the slow-start unit */
  guint32 initial_cwnd;         /* bytes */
  guint32 max_cwnd;             /* bytes */
  guint32 target_delay_us;      /* LEDBAT's target queuing delay: 100 ms */
  guint32 gain_bytes_per_rtt;   /* the most cwnd grows in one RTT outside slow start */
  guint32 min_rto_us;           /* 500 ms */
  guint32 initial_rto_us;       /* before the first RTT sample: 1 s */
  guint32 max_rto_us;           /* the backoff's cap: 60 s */
  guint base_history_minutes;   /* 1 .. GBT_UTP_LEDBAT_MAX_HISTORY; 2 */
  gboolean slow_start;          /* start in slow start */
} GbtUtpLedbatConfig;

#define GBT_UTP_LEDBAT_MAX_HISTORY 16
#define GBT_UTP_LEDBAT_CUR_DELAYS 3

/* A history of one-way delay samples: per-minute minima and the last few
 * delays above their minimum.  Samples are 32-bit wrapping microseconds. */
typedef struct {
  guint32 minute_min[GBT_UTP_LEDBAT_MAX_HISTORY];
  guint32 cur_delay[GBT_UTP_LEDBAT_CUR_DELAYS];
  guint32 base;                 /* the minimum over minute_min */
  gint64 minute_start_us;
  guint minutes, slot, n_cur, cur_slot;
  gboolean have_base;
} GbtUtpDelayHistory;

/* Embedded by value in each connection; the fields are private. */
typedef struct {
  GbtUtpLedbatConfig config;
  GbtUtpDelayHistory ours;      /* our packets' delay, from the peer's echo */
  GbtUtpDelayHistory theirs;    /* the peer's packets' delay, for drift */
  double cwnd;                  /* bytes */
  guint32 ssthresh;
  gboolean slow_start;
  gint64 last_full_us;          /* when the connection last filled cwnd; G_MININT64 never */
  gint64 last_cut_us;           /* the last halving on loss; G_MININT64 never */
  guint32 last_rtt_us;
  guint32 srtt_us, rtt_var_us;
  gboolean have_rtt;
  guint timeouts;               /* in a row, since the last ACK of new data */
} GbtUtpLedbat;

void gbt_utp_ledbat_config_init (GbtUtpLedbatConfig *config);
/* @config: (nullable): NULL for gbt_utp_ledbat_config_init()'s defaults */
void gbt_utp_ledbat_init (GbtUtpLedbat *self, const GbtUtpLedbatConfig *config);

/* @sample_us: an incoming packet's timestamp_difference (the peer's clock
 * when our packet arrived minus our timestamp in it), wrapping. */
void gbt_utp_ledbat_on_delay_sample (GbtUtpLedbat *self, gint64 now_us, guint32 sample_us);
/* @sample_us: our clock now minus the incoming packet's timestamp, wrapping. */
void gbt_utp_ledbat_on_reverse_delay_sample (GbtUtpLedbat *self, gint64 now_us,
                                             guint32 sample_us);
void gbt_utp_ledbat_on_rtt_sample (GbtUtpLedbat *self, gint64 now_us, guint32 rtt_us);
/* @bytes_acked: payload bytes this packet newly acknowledged */
void gbt_utp_ledbat_on_ack (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_acked);
/* @bytes_in_flight: after the send */
void gbt_utp_ledbat_on_sent (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_in_flight);
/* Returns whether cwnd was cut (FALSE: already cut within this RTT). */
gboolean gbt_utp_ledbat_on_loss (GbtUtpLedbat *self, gint64 now_us);
void gbt_utp_ledbat_on_timeout (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_in_flight);

guint32 gbt_utp_ledbat_get_cwnd (const GbtUtpLedbat *self);
/* Bytes that may go out now: min (cwnd, @peer_wnd) less @bytes_in_flight. */
guint32 gbt_utp_ledbat_send_allowance (const GbtUtpLedbat *self, guint32 bytes_in_flight,
                                       guint32 peer_wnd);
/* The retransmission timeout with the backoff of the timeouts so far. */
guint32 gbt_utp_ledbat_get_rto_us (const GbtUtpLedbat *self);
/* Timeouts in a row: the connection gives up past its own limit. */
guint gbt_utp_ledbat_get_timeouts (const GbtUtpLedbat *self);
/* The current queuing delay estimate; 0 before any sample. */
guint32 gbt_utp_ledbat_get_queuing_delay_us (const GbtUtpLedbat *self);
/* The base (minimum) one-way delay sample of the history; 0 before any. */
guint32 gbt_utp_ledbat_get_base_delay (const GbtUtpLedbat *self);
gboolean gbt_utp_ledbat_in_slow_start (const GbtUtpLedbat *self);
/* Smoothed RTT and its variance; 0 before any sample. */
guint32 gbt_utp_ledbat_get_srtt_us (const GbtUtpLedbat *self);
guint32 gbt_utp_ledbat_get_rtt_var_us (const GbtUtpLedbat *self);

G_END_DECLS
