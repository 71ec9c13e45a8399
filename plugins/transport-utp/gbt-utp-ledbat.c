/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LEDBAT for uTP: see gbt-utp-ledbat.h for the choices made.  Delay samples
 * are differences of two unsynchronised 32-bit microsecond clocks: only
 * their differences to each other mean anything, compared with wraparound.
 */
#include <string.h>

#include "gbt-utp-ledbat.h"
#include "gbt-utp-packet.h"

#define MINUTE_US G_GINT64_CONSTANT (60000000)
/* libutp: a drop of the reverse base delay larger than this is a route
 * change, not clock drift */
#define MAX_DRIFT_SHIFT_US 10000
/* the window counts as used if it was filled this recently (libutp) */
#define CWND_FULL_VALID_US G_GINT64_CONSTANT (1000000)
/* the loss-halving interval before any RTT sample (libutp's MAX_WINDOW_DECAY) */
#define DEFAULT_CUT_INTERVAL_US 100000

void
gbt_utp_ledbat_config_init (GbtUtpLedbatConfig *config)
{
  g_return_if_fail (config != NULL);
  config->packet_size = 1400;
  config->initial_cwnd = 2 * 1400;
  config->max_cwnd = 8 * 1024 * 1024;
  config->target_delay_us = 100000;
  config->gain_bytes_per_rtt = 3000;
  config->min_rto_us = 500000;
  config->initial_rto_us = 1000000;
  config->max_rto_us = 60000000;
  config->base_history_minutes = 2;
  config->slow_start = TRUE;
}

/* ---- delay history */

static guint32
ts_min (guint32 a, guint32 b)
{
  return gbt_utp_ts_lt (a, b) ? a : b;
}

static void
history_init (GbtUtpDelayHistory *h, guint minutes)
{
  memset (h, 0, sizeof *h);
  h->minutes = CLAMP (minutes, 1, GBT_UTP_LEDBAT_MAX_HISTORY);
}

static void
history_recompute_base (GbtUtpDelayHistory *h)
{
  h->base = h->minute_min[0];
  for (guint i = 1; i < h->minutes; i++)
    h->base = ts_min (h->base, h->minute_min[i]);
}

static void
history_add (GbtUtpDelayHistory *h, gint64 now_us, guint32 sample)
{
  if (!h->have_base)
    {
      for (guint i = 0; i < h->minutes; i++)
        h->minute_min[i] = sample;
      h->base = sample;
      h->minute_start_us = now_us;
      h->have_base = TRUE;
    }
  else if (now_us - h->minute_start_us >= MINUTE_US)
    {
      /* Each minute passed gets a new slot; minutes with no sample take
       * this one, so that an idle gap expires old minima too. */
      gint64 passed = (now_us - h->minute_start_us) / MINUTE_US;

      for (gint64 i = 0; i < MIN (passed, (gint64) h->minutes); i++)
        {
          h->slot = (h->slot + 1) % h->minutes;
          h->minute_min[h->slot] = sample;
        }
      h->minute_start_us += passed * MINUTE_US;
      history_recompute_base (h);
    }
  else
    {
      h->minute_min[h->slot] = ts_min (h->minute_min[h->slot], sample);
      h->base = ts_min (h->base, sample);
    }
  /* base <= sample across the wrap, so this is the delay above the floor */
  h->cur_delay[h->cur_slot] = sample - h->base;
  h->cur_slot = (h->cur_slot + 1) % GBT_UTP_LEDBAT_CUR_DELAYS;
  if (h->n_cur < GBT_UTP_LEDBAT_CUR_DELAYS)
    h->n_cur++;
}

/* The current queuing delay: the least of the last few samples, which
 * filters out a single late packet. */
static guint32
history_current (const GbtUtpDelayHistory *h)
{
  guint32 d = G_MAXUINT32;

  if (h->n_cur == 0)
    return 0;
  for (guint i = 0; i < h->n_cur; i++)
    d = MIN (d, h->cur_delay[i]);
  return d;
}

/* Raises the floor by @shift (the peer's clock ran ahead of ours); the
 * recorded delays above it shrink by as much. */
static void
history_shift (GbtUtpDelayHistory *h, guint32 shift)
{
  for (guint i = 0; i < h->minutes; i++)
    h->minute_min[i] += shift;
  h->base += shift;
  for (guint i = 0; i < h->n_cur; i++)
    h->cur_delay[i] = h->cur_delay[i] > shift ? h->cur_delay[i] - shift : 0;
}

/* ---- the controller */

void
gbt_utp_ledbat_init (GbtUtpLedbat *self, const GbtUtpLedbatConfig *config)
{
  g_return_if_fail (self != NULL);
  memset (self, 0, sizeof *self);
  if (config != NULL)
    self->config = *config;
  else
    gbt_utp_ledbat_config_init (&self->config);
  self->config.packet_size = MAX (self->config.packet_size, 1);
  self->config.max_cwnd = MAX (self->config.max_cwnd, self->config.packet_size);
  self->config.target_delay_us = MAX (self->config.target_delay_us, 1);
  history_init (&self->ours, self->config.base_history_minutes);
  history_init (&self->theirs, self->config.base_history_minutes);
  self->cwnd = CLAMP (self->config.initial_cwnd, self->config.packet_size,
                      self->config.max_cwnd);
  self->ssthresh = self->config.max_cwnd;
  self->slow_start = self->config.slow_start;
  self->last_full_us = G_MININT64;
  self->last_cut_us = G_MININT64;
}

void
gbt_utp_ledbat_on_delay_sample (GbtUtpLedbat *self, gint64 now_us, guint32 sample_us)
{
  g_return_if_fail (self != NULL);
  history_add (&self->ours, now_us, sample_us);
}

void
gbt_utp_ledbat_on_reverse_delay_sample (GbtUtpLedbat *self, gint64 now_us, guint32 sample_us)
{
  guint32 prev;
  gboolean had_base;

  g_return_if_fail (self != NULL);
  prev = self->theirs.base;
  had_base = self->theirs.have_base;
  history_add (&self->theirs, now_us, sample_us);
  if (had_base && self->ours.have_base && gbt_utp_ts_lt (self->theirs.base, prev))
    {
      guint32 drop = prev - self->theirs.base;

      if (drop <= MAX_DRIFT_SHIFT_US)
        history_shift (&self->ours, drop);
    }
}

void
gbt_utp_ledbat_on_rtt_sample (GbtUtpLedbat *self, gint64 now_us, guint32 rtt_us)
{
  g_return_if_fail (self != NULL);
  /* a sample above a minute is a stale or forged ACK, not a round trip */
  rtt_us = MIN (rtt_us, 60000000u);
  if (!self->have_rtt)
    {
      self->srtt_us = rtt_us;
      self->rtt_var_us = rtt_us / 2;
      self->have_rtt = TRUE;
    }
  else
    {
      gint64 delta = (gint64) self->srtt_us - rtt_us;

      self->rtt_var_us = (guint32) ((gint64) self->rtt_var_us
                                    + (ABS (delta) - (gint64) self->rtt_var_us) / 4);
      self->srtt_us = (guint32) ((gint64) self->srtt_us + ((gint64) rtt_us - self->srtt_us) / 8);
    }
  self->last_rtt_us = rtt_us;
}

void
gbt_utp_ledbat_on_ack (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_acked)
{
  const GbtUtpLedbatConfig *c;
  double target, off_target, window_factor, delta, cwnd_before;
  guint32 delay;
  gboolean window_used;

  g_return_if_fail (self != NULL);
  c = &self->config;
  if (bytes_acked == 0)
    return;
  /* new data got through: the backoff ends (libutp resets retransmit_count) */
  self->timeouts = 0;
  if (!self->ours.have_base)
    return; /* no delay measured yet: nothing to steer by */

  delay = history_current (&self->ours);
  /* a one-way delay above the round trip is clock skew, not queueing */
  if (self->last_rtt_us > 0)
    delay = MIN (delay, self->last_rtt_us);
  target = c->target_delay_us;
  off_target = MAX (target - (double) delay, -target);
  cwnd_before = self->cwnd;
  window_factor = (double) MIN (bytes_acked, cwnd_before) / MAX (cwnd_before, bytes_acked);
  if (off_target >= 0)
    delta = c->gain_bytes_per_rtt * (off_target / target) * window_factor;
  else
    {
      /* over the target: give back a share of the window per RTT as big
       * as the share by which the delay is over (LEDBAT++'s multiplicative
       * decrease), never more than half.  RFC 6817's additive decrease (a
       * few KB per RTT) left a 1 MB window holding half a link against TCP
       * for tens of seconds. */
      double over = MIN ((double) delay / target - 1, 0.5);
      delta = -cwnd_before * over * window_factor;
    }
  window_used = self->last_full_us != G_MININT64
                && now_us - self->last_full_us < CWND_FULL_VALID_US;
  if (delta > 0 && !window_used)
    delta = 0;

  if (self->slow_start)
    {
      double ss = window_used ? bytes_acked : 0;

      if (delay * 2 >= c->target_delay_us)
        {
          self->slow_start = FALSE;
          self->ssthresh = (guint32) cwnd_before;
        }
      else if (cwnd_before + ss > self->ssthresh)
        self->slow_start = FALSE;
      else
        delta = MAX (delta, ss);
    }
  self->cwnd = CLAMP (cwnd_before + delta, (double) c->packet_size, (double) c->max_cwnd);
}

void
gbt_utp_ledbat_on_sent (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_in_flight)
{
  g_return_if_fail (self != NULL);
  /* full: one more packet would not fit */
  if ((double) bytes_in_flight + self->config.packet_size > self->cwnd)
    self->last_full_us = now_us;
}

gboolean
gbt_utp_ledbat_on_loss (GbtUtpLedbat *self, gint64 now_us)
{
  gint64 interval;

  g_return_val_if_fail (self != NULL, FALSE);
  interval = self->have_rtt ? MAX (self->srtt_us, 1) : DEFAULT_CUT_INTERVAL_US;
  if (self->last_cut_us != G_MININT64 && now_us - self->last_cut_us < interval)
    return FALSE;
  self->cwnd = MAX (self->cwnd / 2, (double) self->config.packet_size);
  self->ssthresh = (guint32) self->cwnd;
  self->slow_start = FALSE;
  self->last_cut_us = now_us;
  return TRUE;
}

void
gbt_utp_ledbat_on_timeout (GbtUtpLedbat *self, gint64 now_us, guint32 bytes_in_flight)
{
  double min_cwnd;

  g_return_if_fail (self != NULL);
  min_cwnd = self->config.packet_size;
  if (bytes_in_flight == 0)
    {
      /* idle: the window was not tested lately, decay it (libutp) */
      self->cwnd = MAX (self->cwnd * 2 / 3, min_cwnd);
    }
  else
    {
      self->ssthresh = (guint32) MAX (self->cwnd / 2, 2 * min_cwnd);
      self->cwnd = min_cwnd;
      self->slow_start = TRUE;
    }
  if (self->timeouts < 32)
    self->timeouts++;
}

guint32
gbt_utp_ledbat_get_cwnd (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return (guint32) self->cwnd;
}

guint32
gbt_utp_ledbat_send_allowance (const GbtUtpLedbat *self, guint32 bytes_in_flight,
                               guint32 peer_wnd)
{
  guint32 window;

  g_return_val_if_fail (self != NULL, 0);
  window = MIN ((guint32) self->cwnd, peer_wnd);
  return window > bytes_in_flight ? window - bytes_in_flight : 0;
}

guint32
gbt_utp_ledbat_get_rto_us (const GbtUtpLedbat *self)
{
  const GbtUtpLedbatConfig *c;
  guint64 rto;

  g_return_val_if_fail (self != NULL, 0);
  c = &self->config;
  if (self->have_rtt)
    rto = MAX ((guint64) self->srtt_us + 4 * (guint64) self->rtt_var_us, c->min_rto_us);
  else
    rto = MAX (c->initial_rto_us, c->min_rto_us);
  for (guint i = 0; i < self->timeouts && rto < c->max_rto_us; i++)
    rto *= 2;
  return (guint32) MIN (rto, (guint64) c->max_rto_us);
}

guint
gbt_utp_ledbat_get_timeouts (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->timeouts;
}

guint32
gbt_utp_ledbat_get_queuing_delay_us (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return history_current (&self->ours);
}

guint32
gbt_utp_ledbat_get_base_delay (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->ours.base;
}

gboolean
gbt_utp_ledbat_in_slow_start (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->slow_start;
}

guint32
gbt_utp_ledbat_get_srtt_us (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->srtt_us;
}

guint32
gbt_utp_ledbat_get_rtt_var_us (const GbtUtpLedbat *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->rtt_var_us;
}
