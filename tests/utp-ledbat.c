/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uTP congestion controller, driven with made-up time: the window's
 * response to delay below and above the 100 ms target, slow start, the base
 * delay's expiry, clock drift, loss and timeouts, the BEP 29 RTO figures, and
 * a deterministic simulation of a bottleneck queue that it must fill to the
 * target and no further.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "../plugins/transport-utp/gbt-utp-ledbat.h"

#define MS 1000
#define S G_GINT64_CONSTANT (1000000)
#define PKT 1400

static void
init_linear (GbtUtpLedbat *l, guint32 cwnd)
{
  GbtUtpLedbatConfig c;

  gbt_utp_ledbat_config_init (&c);
  c.slow_start = FALSE;
  c.initial_cwnd = cwnd;
  gbt_utp_ledbat_init (l, &c);
}

/* one window's worth of ACKs, one packet each, every sample at @delay above
 * a floor of @floor_us; the window marked full before each */
static void
ack_window (GbtUtpLedbat *l, gint64 *now, guint32 floor_us, guint32 delay_us)
{
  guint32 cwnd = gbt_utp_ledbat_get_cwnd (l);

  for (guint32 acked = 0; acked < cwnd; acked += PKT)
    {
      *now += 1 * MS;
      gbt_utp_ledbat_on_sent (l, *now, gbt_utp_ledbat_get_cwnd (l));
      gbt_utp_ledbat_on_delay_sample (l, *now, floor_us + delay_us);
      gbt_utp_ledbat_on_ack (l, *now, PKT);
    }
}

static void
test_defaults (void)
{
  GbtUtpLedbat l;

  gbt_utp_ledbat_init (&l, NULL);
  g_assert_cmpuint (l.config.target_delay_us, ==, 100 * MS);
  g_assert_cmpuint (l.config.base_history_minutes, ==, 2);
  g_assert_true (gbt_utp_ledbat_in_slow_start (&l));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 2 * PKT);
  /* before any RTT sample: 1 s */
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 1000 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 0);
  /* no delay measured: no change on ACK */
  gbt_utp_ledbat_on_sent (&l, 0, 2 * PKT);
  gbt_utp_ledbat_on_ack (&l, 1, PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 2 * PKT);
}

static void
test_rtt_rto (void)
{
  GbtUtpLedbat l;

  gbt_utp_ledbat_init (&l, NULL);
  /* first sample: rtt = s, rtt_var = s / 2; rto floored at 500 ms */
  gbt_utp_ledbat_on_rtt_sample (&l, 0, 100 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_srtt_us (&l), ==, 100000);
  g_assert_cmpuint (gbt_utp_ledbat_get_rtt_var_us (&l), ==, 50000);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 500000);
  /* BEP 29: delta = rtt - s; rtt_var += (|delta| - rtt_var) / 4; rtt += (s - rtt) / 8 */
  gbt_utp_ledbat_on_rtt_sample (&l, 0, 1000 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_rtt_var_us (&l), ==, 50000 + (900000 - 50000) / 4);
  g_assert_cmpuint (gbt_utp_ledbat_get_srtt_us (&l), ==, 100000 + 900000 / 8);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 212500 + 4 * 262500);
  /* steady samples: the variance decays and rto returns to its floor */
  for (int i = 0; i < 200; i++)
    gbt_utp_ledbat_on_rtt_sample (&l, 0, 40 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_srtt_us (&l), <=, 41 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_rtt_var_us (&l), <=, 1 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 500000);
  /* a long path: rto above the floor */
  gbt_utp_ledbat_init (&l, NULL);
  gbt_utp_ledbat_on_rtt_sample (&l, 0, 400 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 400000 + 4 * 200000);
}

static void
test_timeout_backoff (void)
{
  GbtUtpLedbat l;
  guint32 expect = 500000;

  init_linear (&l, 20 * PKT);
  gbt_utp_ledbat_on_rtt_sample (&l, 0, 50 * MS);
  gbt_utp_ledbat_on_delay_sample (&l, 0, 12345);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, expect);

  /* with data in flight: cwnd to one packet, slow start again */
  gbt_utp_ledbat_on_timeout (&l, 500 * MS, 10 * PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, PKT);
  g_assert_true (gbt_utp_ledbat_in_slow_start (&l));
  g_assert_cmpuint (l.ssthresh, ==, 10 * PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_timeouts (&l), ==, 1);
  /* each timeout in a row doubles the rto, up to 60 s */
  for (guint i = 1; i < 12; i++)
    {
      expect = MIN (expect * 2, 60000000u);
      g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, expect);
      gbt_utp_ledbat_on_timeout (&l, 0, PKT);
      g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, PKT);
    }
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 60000000);
  g_assert_cmpuint (gbt_utp_ledbat_get_timeouts (&l), ==, 12);
  /* an ACK of new data ends the backoff */
  gbt_utp_ledbat_on_ack (&l, 10 * S, PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_timeouts (&l), ==, 0);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 500000);
  /* an ACK of nothing new does not */
  gbt_utp_ledbat_on_timeout (&l, 11 * S, PKT);
  gbt_utp_ledbat_on_ack (&l, 11 * S, 0);
  g_assert_cmpuint (gbt_utp_ledbat_get_rto_us (&l), ==, 1000000);

  /* idle (nothing in flight): cwnd decays to 2/3, never below a packet */
  init_linear (&l, 30 * PKT);
  gbt_utp_ledbat_on_timeout (&l, 0, 0);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 20 * PKT);
  g_assert_false (gbt_utp_ledbat_in_slow_start (&l));
  for (int i = 0; i < 20; i++)
    gbt_utp_ledbat_on_timeout (&l, 0, 0);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, PKT);
}

static void
test_below_target_grows (void)
{
  GbtUtpLedbat l;
  gint64 now = 0;
  guint32 before, after;

  init_linear (&l, 40 * PKT);
  gbt_utp_ledbat_on_delay_sample (&l, now, 30000);
  /* 10 ms of queueing: off_target 90 % of the target */
  before = gbt_utp_ledbat_get_cwnd (&l);
  ack_window (&l, &now, 30000, 10 * MS);
  after = gbt_utp_ledbat_get_cwnd (&l);
  g_assert_cmpuint (after, >, before);
  /* bounded: at most gain_bytes_per_rtt (3000) per window, here ~0.9 of it */
  g_assert_cmpuint (after - before, <=, 3000);
  g_assert_cmpuint (after - before, >=, 2400);
  /* no queueing at all: the whole gain */
  before = after;
  ack_window (&l, &now, 30000, 0);
  after = gbt_utp_ledbat_get_cwnd (&l);
  g_assert_cmpuint (after - before, <=, 3000);
  g_assert_cmpuint (after - before, >=, 2900);
  /* exactly at the target: no change (once the last 3 samples, whose
   * least is the current delay, all say so) */
  for (int i = 0; i < 3; i++)
    gbt_utp_ledbat_on_delay_sample (&l, now, 30000 + 100 * MS);
  before = gbt_utp_ledbat_get_cwnd (&l);
  ack_window (&l, &now, 30000, 100 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, before);
}

static void
test_above_target_shrinks (void)
{
  GbtUtpLedbat l;
  gint64 now = 0;
  guint32 before, after;

  init_linear (&l, 40 * PKT);
  gbt_utp_ledbat_on_delay_sample (&l, now, 30000);
  for (int i = 0; i < 3; i++)
    gbt_utp_ledbat_on_delay_sample (&l, now, 30000 + 150 * MS);
  before = gbt_utp_ledbat_get_cwnd (&l);
  ack_window (&l, &now, 30000, 150 * MS);
  after = gbt_utp_ledbat_get_cwnd (&l);
  /* 50% over the target: half the window goes within one RTT's acks
   * (multiplicative, as LEDBAT++; the cut compounds over the window) */
  g_assert_cmpuint (after, <, before);
  g_assert_cmpuint (before - after, >=, before * 3 / 10);
  g_assert_cmpuint (before - after, <=, before * 55 / 100);
  /* 10% over: about a tenth per RTT */
  for (int i = 0; i < 3; i++)
    gbt_utp_ledbat_on_delay_sample (&l, now, 30000 + 110 * MS);
  before = gbt_utp_ledbat_get_cwnd (&l);
  ack_window (&l, &now, 30000, 110 * MS);
  after = gbt_utp_ledbat_get_cwnd (&l);
  g_assert_cmpuint (before - after, >=, before * 7 / 100);
  g_assert_cmpuint (before - after, <=, before * 12 / 100);
  /* far above: clamped to one target's worth, never below a packet */
  for (int i = 0; i < 200; i++)
    ack_window (&l, &now, 30000, 2000 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, PKT);
}

static void
test_unused_window_does_not_grow (void)
{
  GbtUtpLedbat l;

  init_linear (&l, 40 * PKT);
  gbt_utp_ledbat_on_delay_sample (&l, 0, 5000);
  /* the connection never filled the window: no growth on ACKs */
  for (int i = 0; i < 100; i++)
    gbt_utp_ledbat_on_ack (&l, i * MS, PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 40 * PKT);
  /* filled long ago (over a second) counts as not filled */
  gbt_utp_ledbat_on_sent (&l, 1 * S, 40 * PKT);
  gbt_utp_ledbat_on_ack (&l, 1 * S + 10 * MS, PKT);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), >, 40 * PKT);
  {
    guint32 c = gbt_utp_ledbat_get_cwnd (&l);

    gbt_utp_ledbat_on_ack (&l, 3 * S, PKT);
    g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, c);
  }
}

static void
test_slow_start (void)
{
  GbtUtpLedbat l;
  gint64 now = 0;

  gbt_utp_ledbat_init (&l, NULL);
  gbt_utp_ledbat_on_delay_sample (&l, now, 1000);
  /* each window acked doubles cwnd while the queue stays short */
  for (int round = 0; round < 5; round++)
    {
      guint32 before = gbt_utp_ledbat_get_cwnd (&l);

      ack_window (&l, &now, 1000, 5 * MS);
      g_assert_true (gbt_utp_ledbat_in_slow_start (&l));
      g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), >=, 2 * before - PKT);
    }
  /* the queue reaches half the target: out of slow start, ssthresh set */
  {
    guint32 c = gbt_utp_ledbat_get_cwnd (&l);

    gbt_utp_ledbat_on_sent (&l, now, c);
    gbt_utp_ledbat_on_delay_sample (&l, now, 1000 + 60 * MS);
    gbt_utp_ledbat_on_delay_sample (&l, now, 1000 + 60 * MS);
    gbt_utp_ledbat_on_delay_sample (&l, now, 1000 + 60 * MS);
    gbt_utp_ledbat_on_ack (&l, now, PKT);
    g_assert_false (gbt_utp_ledbat_in_slow_start (&l));
    g_assert_cmpuint (l.ssthresh, ==, c);
    g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), <=, c + 100);
  }
  /* a loss ends slow start too */
  gbt_utp_ledbat_init (&l, NULL);
  g_assert_true (gbt_utp_ledbat_in_slow_start (&l));
  g_assert_true (gbt_utp_ledbat_on_loss (&l, 0));
  g_assert_false (gbt_utp_ledbat_in_slow_start (&l));
  /* and so does reaching ssthresh */
  gbt_utp_ledbat_init (&l, NULL);
  l.ssthresh = 8 * PKT;
  gbt_utp_ledbat_on_delay_sample (&l, 0, 1000);
  now = 0;
  for (int round = 0; round < 4; round++)
    ack_window (&l, &now, 1000, 0);
  g_assert_false (gbt_utp_ledbat_in_slow_start (&l));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), <, 12 * PKT);
}

static void
test_loss_once_per_rtt (void)
{
  GbtUtpLedbat l;

  init_linear (&l, 64 * PKT);
  /* before an RTT sample, cuts are 100 ms apart */
  g_assert_true (gbt_utp_ledbat_on_loss (&l, 1 * S));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 32 * PKT);
  g_assert_false (gbt_utp_ledbat_on_loss (&l, 1 * S + 99 * MS));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 32 * PKT);
  g_assert_true (gbt_utp_ledbat_on_loss (&l, 1 * S + 100 * MS));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 16 * PKT);
  /* then one smoothed RTT apart: a burst of losses in one RTT is one cut */
  gbt_utp_ledbat_on_rtt_sample (&l, 0, 30 * MS);
  g_assert_true (gbt_utp_ledbat_on_loss (&l, 2 * S));
  for (int i = 1; i < 30; i++)
    g_assert_false (gbt_utp_ledbat_on_loss (&l, 2 * S + i * MS));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 8 * PKT);
  g_assert_true (gbt_utp_ledbat_on_loss (&l, 2 * S + 30 * MS));
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 4 * PKT);
  g_assert_cmpuint (l.ssthresh, ==, 4 * PKT);
  /* never below one packet */
  for (int i = 1; i < 10; i++)
    gbt_utp_ledbat_on_loss (&l, 3 * S + i * S);
  g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, PKT);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 0, G_MAXUINT32), ==, PKT);
}

static void
test_allowance (void)
{
  GbtUtpLedbat l;

  init_linear (&l, 10 * PKT);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 0, 1 << 20), ==, 10 * PKT);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 4 * PKT, 1 << 20), ==, 6 * PKT);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 10 * PKT, 1 << 20), ==, 0);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 12 * PKT, 1 << 20), ==, 0);
  /* the peer's receive window bounds it too, zero included */
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 0, 3000), ==, 3000);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 1000, 3000), ==, 2000);
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 0, 0), ==, 0);
  /* an absurd window changes nothing */
  g_assert_cmpuint (gbt_utp_ledbat_send_allowance (&l, 0, G_MAXUINT32), ==, 10 * PKT);
  /* cwnd never passes max_cwnd */
  {
    GbtUtpLedbatConfig c;
    gint64 now = 0;

    gbt_utp_ledbat_config_init (&c);
    c.max_cwnd = 20 * PKT;
    gbt_utp_ledbat_init (&l, &c);
    gbt_utp_ledbat_on_delay_sample (&l, 0, 1);
    for (int i = 0; i < 50; i++)
      ack_window (&l, &now, 1, 0);
    g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (&l), ==, 20 * PKT);
  }
}

/* A floor that rises (a route change) is followed once the minutes that
 * held the old floor leave the 2-minute history; not before a minute. */
static void
test_base_delay_expiry (void)
{
  GbtUtpLedbat l;
  gint64 now = 0;
  gint64 changed;

  gbt_utp_ledbat_init (&l, NULL);
  for (; now < 90 * S; now += 100 * MS)
    gbt_utp_ledbat_on_delay_sample (&l, now, 50 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 50 * MS);
  changed = now;
  for (; now < changed + 60 * S; now += 100 * MS)
    {
      gbt_utp_ledbat_on_delay_sample (&l, now, 80 * MS);
      if (now < changed + 29 * S)
        {
          /* still measured against the old floor */
          g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 50 * MS);
          if (now >= changed + 200 * MS) /* the last 3 samples all new */
            g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 30 * MS);
        }
    }
  /* within two minutes of the change the old floor is gone */
  for (; now < changed + 121 * S; now += 100 * MS)
    gbt_utp_ledbat_on_delay_sample (&l, now, 80 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 80 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 0);

  /* a falling floor is followed at once */
  gbt_utp_ledbat_on_delay_sample (&l, now, 20 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 20 * MS);

  /* an idle gap longer than the history forgets it all */
  gbt_utp_ledbat_on_delay_sample (&l, now + 10 * 60 * S, 70 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 70 * MS);

  /* a longer history keeps the old floor longer */
  {
    GbtUtpLedbatConfig c;

    gbt_utp_ledbat_config_init (&c);
    c.base_history_minutes = 5;
    gbt_utp_ledbat_init (&l, &c);
    for (now = 0; now < 60 * S; now += S)
      gbt_utp_ledbat_on_delay_sample (&l, now, 50 * MS);
    for (; now < 4 * 60 * S; now += S)
      gbt_utp_ledbat_on_delay_sample (&l, now, 80 * MS);
    g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 50 * MS);
    for (; now < 6 * 60 * S; now += S)
      gbt_utp_ledbat_on_delay_sample (&l, now, 80 * MS);
    g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 80 * MS);
  }
}

/* Samples are differences of unsynchronised clocks: they wrap. */
static void
test_delay_wrap (void)
{
  GbtUtpLedbat l;

  gbt_utp_ledbat_init (&l, NULL);
  gbt_utp_ledbat_on_delay_sample (&l, 0, 0xffffff00u);
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 0);
  gbt_utp_ledbat_on_delay_sample (&l, 1, 0x100);
  gbt_utp_ledbat_on_delay_sample (&l, 2, 0x100);
  gbt_utp_ledbat_on_delay_sample (&l, 3, 0x100);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 0xffffff00u);
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 0x200);
  /* lower across the wrap is lower */
  gbt_utp_ledbat_on_delay_sample (&l, 4, 0xfffffe00u);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 0xfffffe00u);
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), ==, 0);
}

/* The peer's clock runs 1 ms per second fast: our delay samples creep up
 * and the reverse ones down.  With the drift correction the queuing delay
 * stays near zero instead of growing to 30 ms. */
static void
test_clock_drift (void)
{
  GbtUtpLedbat l;
  const guint32 owd = 20 * MS;

  gbt_utp_ledbat_init (&l, NULL);
  for (gint64 now = 0; now <= 30 * S; now += 100 * MS)
    {
      guint32 offset = (guint32) (now / 1000); /* their clock - ours */

      gbt_utp_ledbat_on_delay_sample (&l, now, 0x7000000u + owd + offset);
      gbt_utp_ledbat_on_reverse_delay_sample (&l, now, 0x9000000u + owd - offset);
    }
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), <=, 1 * MS);

  /* without reverse samples the drift reads as queueing */
  gbt_utp_ledbat_init (&l, NULL);
  for (gint64 now = 0; now <= 30 * S; now += 100 * MS)
    gbt_utp_ledbat_on_delay_sample (&l, now, 0x7000000u + owd + (guint32) (now / 1000));
  g_assert_cmpuint (gbt_utp_ledbat_get_queuing_delay_us (&l), >=, 29 * MS);

  /* a big drop is a route change, not drift: no shift */
  gbt_utp_ledbat_init (&l, NULL);
  gbt_utp_ledbat_on_delay_sample (&l, 0, 50 * MS);
  gbt_utp_ledbat_on_reverse_delay_sample (&l, 0, 100 * MS);
  gbt_utp_ledbat_on_reverse_delay_sample (&l, 1, 50 * MS);
  g_assert_cmpuint (gbt_utp_ledbat_get_base_delay (&l), ==, 50 * MS);
}

/* ---- a bottleneck link */

typedef struct {
  gint64 send_us, ack_us;
  guint32 owd_us;
  gboolean dropped;
} SimPacket;

typedef struct {
  double queue_ms;      /* mean queueing delay at the bottleneck, last 20 s */
  double utilisation;   /* delivered / capacity, last 20 s */
  guint32 max_queue_ms;
  guint drops;
} SimResult;

/* A sender with a 1400-byte packet always ready, a FIFO bottleneck of
 * @rate bytes/s holding @buffer_us of queue (0: unbounded; a packet that
 * finds it full is dropped, and the sender learns it when its ACK would
 * have come), @prop_us of propagation each way, an immediate ACK per
 * packet; the peer's clock offset near the 32-bit wrap.  Runs @seconds of
 * simulated time. */
static SimResult
simulate (double rate, gint64 prop_us, gint64 buffer_us, int seconds)
{
  GbtUtpLedbat l;
  g_autoptr(GArray) flight = g_array_new (FALSE, FALSE, sizeof (SimPacket));
  const guint32 clock_offset = 0xffffffffu - 150 * MS;
  const double tx_us = PKT * 1e6 / rate;
  gint64 now = 0, link_free = 0, end = seconds * S, measure_from = end - 20 * S;
  guint head = 0;
  guint32 in_flight = 0;
  double queue_sum = 0, delivered = 0;
  guint n_measured = 0;
  SimResult r = { 0 };

  gbt_utp_ledbat_init (&l, NULL);
  while (now < end)
    {
      /* send what the window allows */
      while (gbt_utp_ledbat_send_allowance (&l, in_flight, 1u << 30) >= PKT
             || in_flight == 0)
        {
          SimPacket p = { .send_us = now };
          gint64 depart = MAX (now, link_free) + (gint64) tx_us;

          if (buffer_us > 0 && link_free - now > buffer_us)
            {
              /* tail drop; seen as lost in ACK order */
              p.dropped = TRUE;
              p.ack_us = link_free + 2 * prop_us;
            }
          else
            {
              link_free = depart;
              p.owd_us = (guint32) (depart + prop_us - now);
              p.ack_us = depart + 2 * prop_us;
            }
          g_array_append_val (flight, p);
          in_flight += PKT;
          gbt_utp_ledbat_on_sent (&l, now, in_flight);
        }
      /* the next ACK (FIFO: in send order) */
      {
        SimPacket p = g_array_index (flight, SimPacket, head++);
        guint32 queue_us = p.owd_us - (guint32) prop_us - (guint32) tx_us;

        now = p.ack_us;
        in_flight -= PKT;
        if (p.dropped)
          {
            gbt_utp_ledbat_on_loss (&l, now);
            r.drops++;
            continue;
          }
        gbt_utp_ledbat_on_delay_sample (&l, now, clock_offset + p.owd_us);
        gbt_utp_ledbat_on_rtt_sample (&l, now, (guint32) (now - p.send_us));
        gbt_utp_ledbat_on_ack (&l, now, PKT);
        if (now >= measure_from)
          {
            queue_sum += queue_us;
            n_measured++;
            delivered += PKT;
            r.max_queue_ms = MAX (r.max_queue_ms, queue_us / MS);
          }
      }
      if (head > 4096 && head * 2 > flight->len)
        {
          g_array_remove_range (flight, 0, head);
          head = 0;
        }
    }
  r.queue_ms = queue_sum / MAX (n_measured, 1) / MS;
  r.utilisation = delivered / (rate * 20);
  g_test_message ("rate %.0f B/s, %" G_GINT64_FORMAT " ms each way, buffer %" G_GINT64_FORMAT
                  " ms: queue %.1f ms (max %u), utilisation %.3f, cwnd %u, %u drops", rate,
                  prop_us / MS, buffer_us / MS, r.queue_ms, r.max_queue_ms, r.utilisation,
                  gbt_utp_ledbat_get_cwnd (&l), r.drops);
  return r;
}

static void
test_bottleneck (void)
{
  static const struct { double rate; gint64 prop_us; } links[] = {
    { 1e6, 20 * MS },     /* 8 Mbit/s, 40 ms RTT */
    { 12.5e6, 5 * MS },   /* 100 Mbit/s, 10 ms RTT */
    { 2.5e5, 50 * MS },   /* 2 Mbit/s, 100 ms RTT */
  };

  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      SimResult r = simulate (links[i].rate, links[i].prop_us, 0, 120);

      /* the link is kept busy, the queue near the 100 ms target */
      g_assert_cmpfloat (r.utilisation, >=, 0.97);
      g_assert_cmpfloat (r.utilisation, <=, 1.01);
      g_assert_cmpfloat (r.queue_ms, >=, 70);
      g_assert_cmpfloat (r.queue_ms, <=, 115);
      g_assert_cmpuint (r.max_queue_ms, <=, 150);
      g_assert_cmpuint (r.drops, ==, 0);
    }
}

/* A buffer shorter than the target: LEDBAT cannot reach its delay, so it
 * lives on loss, halving at most once per RTT, and still keeps a buffer of
 * one bandwidth-delay product busy. */
static void
test_bottleneck_small_buffer (void)
{
  SimResult r = simulate (1e6, 20 * MS, 40 * MS, 120);

  g_assert_cmpuint (r.drops, >, 0);
  /* one drop burst per cut: far fewer drops than packets (~86000) */
  g_assert_cmpuint (r.drops, <, 2000);
  g_assert_cmpfloat (r.utilisation, >=, 0.85);
  g_assert_cmpuint (r.max_queue_ms, <=, 42);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utp-ledbat/defaults", test_defaults);
  g_test_add_func ("/utp-ledbat/rtt-rto", test_rtt_rto);
  g_test_add_func ("/utp-ledbat/timeout-backoff", test_timeout_backoff);
  g_test_add_func ("/utp-ledbat/below-target-grows", test_below_target_grows);
  g_test_add_func ("/utp-ledbat/above-target-shrinks", test_above_target_shrinks);
  g_test_add_func ("/utp-ledbat/unused-window-does-not-grow", test_unused_window_does_not_grow);
  g_test_add_func ("/utp-ledbat/slow-start", test_slow_start);
  g_test_add_func ("/utp-ledbat/loss-once-per-rtt", test_loss_once_per_rtt);
  g_test_add_func ("/utp-ledbat/allowance", test_allowance);
  g_test_add_func ("/utp-ledbat/base-delay-expiry", test_base_delay_expiry);
  g_test_add_func ("/utp-ledbat/delay-wrap", test_delay_wrap);
  g_test_add_func ("/utp-ledbat/clock-drift", test_clock_drift);
  g_test_add_func ("/utp-ledbat/bottleneck", test_bottleneck);
  g_test_add_func ("/utp-ledbat/bottleneck-small-buffer", test_bottleneck_small_buffer);
  return g_test_run ();
}
