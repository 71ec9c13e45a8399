/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Token bucket (see gbt-rate-limit.h).  Tokens are a double: bytes earned
 * over a few microseconds are fractions, and rounding each refill down
 * would lose them and undershoot the rate.
 */
#include "gbt-rate-limit.h"

#include <math.h>
#include <string.h>

G_DEFINE_QUARK (gbt-rate-limit-error-quark, gbt_rate_limit_error)

/* a tenth of a second of traffic: deep enough to keep a link busy between
 * two timer wake-ups, shallow enough not to be a burst */
#define DEPTH_DIVISOR 10
#define EPSILON 1e-6
/* beyond any link; keeps the double arithmetic exact enough */
#define MAX_RATE (G_GUINT64_CONSTANT (1) << 50)

struct _GbtRateLimit {
  guint64 rate; /* 0: unlimited */
  guint64 depth;
  double tokens;
  gint64 last_us;
  gboolean started; /* last_us is meaningful */
  GbtRateLimit *parent; /* not owned: a wider limit this one also obeys */
};

static guint64
depth_for (guint64 rate)
{
  return rate ? MAX (rate / DEPTH_DIVISOR, GBT_RATE_LIMIT_MIN_DEPTH) : 0;
}

GbtRateLimit *
gbt_rate_limit_new (guint64 bytes_per_second)
{
  GbtRateLimit *rl = g_new0 (GbtRateLimit, 1);

  gbt_rate_limit_set_rate (rl, bytes_per_second);
  rl->tokens = (double) rl->depth;
  return rl;
}

void
gbt_rate_limit_free (GbtRateLimit *rl)
{
  g_free (rl);
}

void
gbt_rate_limit_set_rate (GbtRateLimit *rl, guint64 bytes_per_second)
{
  g_return_if_fail (rl != NULL);

  bytes_per_second = MIN (bytes_per_second, MAX_RATE);
  /* from unlimited to limited: start with a full bucket, as a new one */
  if (rl->rate == 0 && bytes_per_second != 0)
    rl->tokens = (double) depth_for (bytes_per_second);
  rl->rate = bytes_per_second;
  rl->depth = depth_for (bytes_per_second);
  rl->tokens = MIN (rl->tokens, (double) rl->depth);
}

guint64
gbt_rate_limit_get_rate (GbtRateLimit *rl)
{
  g_return_val_if_fail (rl != NULL, 0);
  return rl->rate;
}

guint64
gbt_rate_limit_get_depth (GbtRateLimit *rl)
{
  g_return_val_if_fail (rl != NULL, 0);
  return rl->depth;
}

static void
refill (GbtRateLimit *rl, gint64 now_us)
{
  if (rl->started && now_us > rl->last_us)
    {
      double earned = (double) rl->rate * (double) (now_us - rl->last_us) / G_USEC_PER_SEC;
      rl->tokens = MIN (rl->tokens + earned, (double) rl->depth);
    }
  /* a clock that goes back earns nothing, and later time counts from the
   * latest instant seen, so no interval is paid twice */
  if (!rl->started || now_us > rl->last_us)
    rl->last_us = now_us;
  rl->started = TRUE;
}

void
gbt_rate_limit_set_parent (GbtRateLimit *rl, GbtRateLimit *parent)
{
  g_return_if_fail (rl != NULL && rl != parent);
  rl->parent = parent;
}

static guint64
take_own (GbtRateLimit *rl, guint64 want, gint64 now_us)
{
  guint64 granted;

  if (rl->rate == 0)
    return want;
  refill (rl, now_us);
  /* the epsilon forgives rounding: a caller that waited exactly the time
   * gbt_rate_limit_wait_us() said must get its bytes */
  granted = MIN (want, (guint64) floor (rl->tokens + EPSILON));
  granted = MIN (granted, rl->depth);
  rl->tokens = MAX (rl->tokens - (double) granted, 0.0);
  return granted;
}

static void
give_back_own (GbtRateLimit *rl, guint64 unused)
{
  if (rl->rate != 0)
    rl->tokens = MIN (rl->tokens + (double) unused, (double) rl->depth);
}

guint64
gbt_rate_limit_take (GbtRateLimit *rl, guint64 want, gint64 now_us)
{
  guint64 granted;

  g_return_val_if_fail (rl != NULL, 0);
  granted = take_own (rl, want, now_us);
  /* a child grants no more than its parent has: what the parent refuses
   * goes back into the child's bucket */
  for (GbtRateLimit *p = rl->parent; p && granted > 0; p = p->parent)
    {
      guint64 g = take_own (p, granted, now_us);
      for (GbtRateLimit *q = rl; q != p; q = q->parent)
        give_back_own (q, granted - g);
      granted = g;
    }
  return granted;
}

void
gbt_rate_limit_give_back (GbtRateLimit *rl, guint64 unused)
{
  g_return_if_fail (rl != NULL);
  for (; rl; rl = rl->parent)
    give_back_own (rl, unused);
}

static gint64
wait_own (GbtRateLimit *rl, guint64 want, gint64 now_us)
{
  double missing;

  if (rl->rate == 0)
    return 0;
  refill (rl, now_us);
  missing = (double) MIN (want, rl->depth) - rl->tokens;
  if (missing <= EPSILON)
    return 0;
  /* rounded up: waking a microsecond early would find too few tokens */
  return (gint64) ceil (missing * G_USEC_PER_SEC / (double) rl->rate);
}

gint64
gbt_rate_limit_wait_us (GbtRateLimit *rl, guint64 want, gint64 now_us)
{
  gint64 wait = 0;

  g_return_val_if_fail (rl != NULL, 0);
  for (; rl; rl = rl->parent)
    wait = MAX (wait, wait_own (rl, want, now_us));
  return wait;
}

/* ---- parsing ---- */

typedef struct {
  const char *unit; /* lowercase */
  double factor;    /* bytes per unit */
} Unit;

static const Unit units[] = {
  { "", 1 },
  { "b", 1 },
  { "k", 1024.0 },
  { "m", 1024.0 * 1024 },
  { "g", 1024.0 * 1024 * 1024 },
  { "kib", 1024.0 },
  { "mib", 1024.0 * 1024 },
  { "gib", 1024.0 * 1024 * 1024 },
  { "kb", 1e3 },
  { "mb", 1e6 },
  { "gb", 1e9 },
  { "bit", 1 / 8.0 },
  { "kbit", 1e3 / 8 },
  { "mbit", 1e6 / 8 },
  { "gbit", 1e9 / 8 },
};

gboolean
gbt_rate_parse (const char *text, guint64 *bytes_per_second, GError **error)
{
  g_autofree char *number = NULL;
  g_autofree char *unit = NULL;
  const char *p, *start;
  double value, factor = -1;
  gsize unit_len;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (bytes_per_second != NULL, FALSE);

  p = text;
  while (g_ascii_isspace (*p))
    p++;
  if (*p == '-')
    {
      g_set_error (error, GBT_RATE_LIMIT_ERROR, GBT_RATE_LIMIT_ERROR_RANGE,
                   "Rate “%s” is negative", text);
      return FALSE;
    }
  /* digits [. digits]: checked by hand, since g_ascii_strtod() would also
   * take "inf", "nan", hexadecimal and exponents */
  start = p;
  while (g_ascii_isdigit (*p))
    p++;
  if (p > start && *p == '.')
    {
      const char *frac = ++p;
      while (g_ascii_isdigit (*p))
        p++;
      if (p == frac)
        start = p; /* "5." is not a number */
    }
  if (p == start)
    {
      g_set_error (error, GBT_RATE_LIMIT_ERROR, GBT_RATE_LIMIT_ERROR_INVALID,
                   "Rate “%s” does not start with a number", text);
      return FALSE;
    }
  number = g_strndup (start, p - start);
  value = g_ascii_strtod (number, NULL);

  while (*p == ' ')
    p++;
  unit = g_ascii_strdown (p, -1);
  g_strchomp (unit);
  unit_len = strlen (unit);
  /* only "/s": "kbps" is refused, as some mean kilobits by it and some kilobytes */
  if (g_str_has_suffix (unit, "/s"))
    unit[unit_len - 2] = '\0';
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_str_equal (unit, units[i].unit))
      factor = units[i].factor;
  if (factor < 0)
    {
      g_set_error (error, GBT_RATE_LIMIT_ERROR, GBT_RATE_LIMIT_ERROR_INVALID,
                   "Unknown unit in rate “%s” (use B, K, M, G, KiB, kB, mbit, ...)", text);
      return FALSE;
    }
  value *= factor;
  if (!(value < (double) MAX_RATE))
    {
      g_set_error (error, GBT_RATE_LIMIT_ERROR, GBT_RATE_LIMIT_ERROR_RANGE,
                   "Rate “%s” is too large", text);
      return FALSE;
    }
  /* round to the nearest byte, but a positive rate never becomes 0, which
   * would mean "unlimited" */
  *bytes_per_second = (guint64) (value + 0.5);
  if (*bytes_per_second == 0 && value > 0)
    *bytes_per_second = 1;
  return TRUE;
}
