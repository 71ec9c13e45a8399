/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The token bucket on a simulated clock, and rate parsing. */
#include <gio/gio.h>

#include "gbt-rate-limit.h"

#define MS(x) ((gint64) (x) * 1000)
#define START ((gint64) 5000 * G_USEC_PER_SEC)

static void
test_greedy_total (void)
{
  const guint64 rates[] = { 1000, 100000, 3 * 1024 * 1024 };

  for (gsize k = 0; k < G_N_ELEMENTS (rates); k++)
    {
      g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (rates[k]);
      guint64 depth = gbt_rate_limit_get_depth (rl);
      guint64 total = 0;
      GRand *rand = g_rand_new_with_seed (k);
      gint64 now = START;

      g_assert_cmpuint (depth, >=, GBT_RATE_LIMIT_MIN_DEPTH);
      g_assert_cmpuint (depth, >=, rates[k] / 10);
      /* a greedy consumer polling at irregular intervals for 10 s */
      while (now < START + 10 * G_USEC_PER_SEC)
        {
          total += gbt_rate_limit_take (rl, 1 << 24, now);
          now += g_rand_int_range (rand, 0, MS (37));
        }
      g_test_message ("rate %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT " bytes in 10 s",
                      rates[k], total);
      g_assert_cmpint (ABS ((gint64) total - (gint64) rates[k] * 10), <=, (gint64) depth);
      g_rand_free (rand);
    }
}

static void
test_whole_messages (void)
{
  /* a consumer sending whole block messages, sleeping as told between */
  g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (250000);
  const guint64 msg = GBT_RATE_LIMIT_MIN_DEPTH;
  guint64 total = 0;
  gint64 now = START;

  while (now < START + 10 * G_USEC_PER_SEC)
    {
      gint64 wait = gbt_rate_limit_wait_us (rl, msg, now);
      g_assert_cmpint (wait, >=, 0);
      if (wait > 0)
        {
          /* a microsecond early is too early: the wait is exact */
          g_assert_cmpuint (gbt_rate_limit_take (rl, 0, now + wait - 1), ==, 0);
          g_assert_cmpint (gbt_rate_limit_wait_us (rl, msg, now + wait - 1), >, 0);
        }
      now += wait;
      g_assert_cmpuint (gbt_rate_limit_take (rl, msg, now), ==, msg);
      total += msg;
    }
  g_assert_cmpuint (total, >=, 250000 * 10 - gbt_rate_limit_get_depth (rl));
  g_assert_cmpuint (total, <=, 250000 * 10 + gbt_rate_limit_get_depth (rl) + msg);
}

static void
test_no_burst_after_idle (void)
{
  g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (1000000);
  guint64 depth = gbt_rate_limit_get_depth (rl);
  guint64 got;

  g_assert_cmpuint (depth, ==, 100000);
  /* the bucket starts full: one bucket at once, then nothing */
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START), ==, depth);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START), ==, 0);
  /* a minute idle saves up one bucket, not a minute's worth */
  got = gbt_rate_limit_take (rl, G_MAXUINT64, START + 60 * G_USEC_PER_SEC);
  g_assert_cmpuint (got, ==, depth);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + 60 * G_USEC_PER_SEC), ==, 0);
  /* then the rate again: 10 ms earn 10000 bytes */
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + 60 * G_USEC_PER_SEC + MS (10)),
                    ==, 10000);
  /* partial grants: never more than asked */
  g_assert_cmpuint (gbt_rate_limit_take (rl, 300, START + 61 * G_USEC_PER_SEC), ==, 300);
}

static void
test_wait (void)
{
  g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (100000);
  guint64 depth = gbt_rate_limit_get_depth (rl);

  g_assert_cmpint (gbt_rate_limit_wait_us (rl, 1000, START), ==, 0);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START), ==, depth);
  /* 1000 bytes at 100000 B/s: 10 ms */
  g_assert_cmpint (gbt_rate_limit_wait_us (rl, 1000, START), ==, MS (10));
  g_assert_cmpint (gbt_rate_limit_wait_us (rl, 1000, START + MS (4)), ==, MS (6));
  /* asking for more than a bucket waits for a full bucket, not forever */
  g_assert_cmpint (gbt_rate_limit_wait_us (rl, G_MAXUINT64, START + MS (4)), ==,
                   (gint64) ((depth * G_USEC_PER_SEC + 99999) / 100000) - MS (4));
  /* waiting took nothing */
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + MS (10)), ==, 1000);
}

static void
test_unlimited_and_set_rate (void)
{
  g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (0);

  g_assert_cmpuint (gbt_rate_limit_get_depth (rl), ==, 0);
  for (gint64 t = 0; t < 100; t++)
    g_assert_cmpuint (gbt_rate_limit_take (rl, 1 << 30, START), ==, 1 << 30);
  g_assert_cmpint (gbt_rate_limit_wait_us (rl, G_MAXUINT64, START), ==, 0);

  /* limited from now on, starting with a full bucket */
  gbt_rate_limit_set_rate (rl, 50000);
  g_assert_cmpuint (gbt_rate_limit_get_rate (rl), ==, 50000);
  g_assert_cmpuint (gbt_rate_limit_get_depth (rl), ==, GBT_RATE_LIMIT_MIN_DEPTH);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START), ==, GBT_RATE_LIMIT_MIN_DEPTH);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + MS (100)), ==, 5000);

  /* a faster rate refills faster at once; the saved tokens stay */
  gbt_rate_limit_set_rate (rl, 2000000);
  g_assert_cmpuint (gbt_rate_limit_get_depth (rl), ==, 200000);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + MS (110)), ==, 20000);

  /* back to unlimited */
  gbt_rate_limit_set_rate (rl, 0);
  g_assert_cmpuint (gbt_rate_limit_take (rl, 77, START + MS (110)), ==, 77);
}

static void
test_clock_back (void)
{
  g_autoptr(GbtRateLimit) rl = gbt_rate_limit_new (100000);

  gbt_rate_limit_take (rl, G_MAXUINT64, START);
  /* going back earns nothing, and coming forth again is not paid twice */
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START - G_USEC_PER_SEC), ==, 0);
  g_assert_cmpuint (gbt_rate_limit_take (rl, G_MAXUINT64, START + MS (10)), ==, 1000);
}

static void
test_parse (void)
{
  static const struct {
    const char *text;
    guint64 value;
  } good[] = {
    { "0", 0 },
    { "0/s", 0 },
    { "1000", 1000 },
    { "100B", 100 },
    { "500K", 500 * 1024 },
    { "500k", 500 * 1024 },
    { "2M", 2 * 1024 * 1024 },
    { "1.5MiB", 3 * 512 * 1024 },
    { "1.5mib/s", 3 * 512 * 1024 },
    { "800kB/s", 800000 },
    { "800KB", 800000 },
    { "1GB", 1000000000 },
    { " 3 G ", G_GUINT64_CONSTANT (3) << 30 },
    { "10mbit", 1250000 },
    { "10Mbit/s", 1250000 },
    { "2.5 kbit/s", 313 },
    { "1bit", 1 }, /* an eighth of a byte is still a limit, not "unlimited" */
    { "1gbit", 125000000 },
  };
  static const struct {
    const char *text;
    int code;
  } bad[] = {
    { "", GBT_RATE_LIMIT_ERROR_INVALID },
    { "   ", GBT_RATE_LIMIT_ERROR_INVALID },
    { "abc", GBT_RATE_LIMIT_ERROR_INVALID },
    { "K", GBT_RATE_LIMIT_ERROR_INVALID },
    { "5X", GBT_RATE_LIMIT_ERROR_INVALID },
    { "5 K B", GBT_RATE_LIMIT_ERROR_INVALID },
    { "5kbps", GBT_RATE_LIMIT_ERROR_INVALID },
    { "nan", GBT_RATE_LIMIT_ERROR_INVALID },
    { "inf", GBT_RATE_LIMIT_ERROR_INVALID },
    { "0x10", GBT_RATE_LIMIT_ERROR_INVALID },
    { "1e6", GBT_RATE_LIMIT_ERROR_INVALID },
    { "5.", GBT_RATE_LIMIT_ERROR_INVALID },
    { ".5M", GBT_RATE_LIMIT_ERROR_INVALID },
    { "5/", GBT_RATE_LIMIT_ERROR_INVALID },
    { "-5K", GBT_RATE_LIMIT_ERROR_RANGE },
    { "99999999999G", GBT_RATE_LIMIT_ERROR_RANGE },
    { "99999999999999999999999999999", GBT_RATE_LIMIT_ERROR_RANGE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 v = 12345;
      gboolean ok = gbt_rate_parse (good[i].text, &v, &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      if (v != good[i].value)
        g_error ("“%s” parsed to %" G_GUINT64_FORMAT, good[i].text, v);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 v = 12345;
      if (gbt_rate_parse (bad[i].text, &v, &error))
        g_error ("“%s” accepted as %" G_GUINT64_FORMAT, bad[i].text, v);
      g_assert_error (error, GBT_RATE_LIMIT_ERROR, bad[i].code);
      g_assert_cmpuint (v, ==, 12345);
    }
}

/* a torrent's limit under the session's: the narrower one rules, and what
 * one refuses stays in the other */
static void
test_parent (void)
{
  const struct { guint64 child, parent; } cases[] = {
    { 100000, 1000000 }, { 1000000, 100000 }, { 0, 200000 }, { 300000, 0 },
  };

  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GbtRateLimit) parent = gbt_rate_limit_new (cases[k].parent);
      g_autoptr(GbtRateLimit) child = gbt_rate_limit_new (cases[k].child);
      g_autoptr(GbtRateLimit) sibling = gbt_rate_limit_new (0);
      guint64 total = 0, sibling_total = 0;
      guint64 expect = cases[k].child == 0 ? cases[k].parent
                       : cases[k].parent == 0 ? cases[k].child
                                              : MIN (cases[k].child, cases[k].parent);
      gint64 now = START;

      gbt_rate_limit_set_parent (child, parent);
      gbt_rate_limit_set_parent (sibling, parent);
      while (now < START + 10 * G_USEC_PER_SEC)
        {
          guint64 got = gbt_rate_limit_take (child, 1 << 20, now);
          /* a wait of 0 means bytes are there for the asking */
          if (got == 0)
            g_assert_cmpint (gbt_rate_limit_wait_us (child, 16384, now), >, 0);
          total += got;
          now += MS (10);
        }
      g_assert_cmpint (ABS ((gint64) total - (gint64) expect * 10), <=, (gint64) expect / 5 + 16384);
      /* the parent has been drained: an unlimited sibling gets nothing
       * more than the parent's refill when the parent is limited */
      if (cases[k].parent && cases[k].parent <= cases[k].child)
        {
          sibling_total = gbt_rate_limit_take (sibling, 1 << 20, now);
          g_assert_cmpuint (sibling_total, <=, gbt_rate_limit_get_depth (parent));
        }
      /* unused bytes go back to both */
      if (cases[k].child && cases[k].parent)
        {
          gint64 later = now + 10 * G_USEC_PER_SEC;
          guint64 got = gbt_rate_limit_take (child, 1 << 20, later);
          gbt_rate_limit_give_back (child, got);
          g_assert_cmpuint (gbt_rate_limit_take (child, 1 << 20, later), ==, got);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rate-limit/greedy-total", test_greedy_total);
  g_test_add_func ("/rate-limit/whole-messages", test_whole_messages);
  g_test_add_func ("/rate-limit/no-burst-after-idle", test_no_burst_after_idle);
  g_test_add_func ("/rate-limit/wait", test_wait);
  g_test_add_func ("/rate-limit/unlimited-and-set-rate", test_unlimited_and_set_rate);
  g_test_add_func ("/rate-limit/clock-back", test_clock_back);
  g_test_add_func ("/rate-limit/parse", test_parse);
  g_test_add_func ("/rate-limit/parent", test_parent);
  return g_test_run ();
}
