/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The choker on a simulated clock: every rule of gbt-choker.h. */
#include <gio/gio.h>

#include "gbt-choker.h"

#define S(x) ((gint64) (x) * G_USEC_PER_SEC)
#define START S (1000)
#define LONG_AGO (START - S (600))

/* handles are 1-based indexes, so they are never NULL */
#define H(i) GUINT_TO_POINTER ((i) + 1)
#define IDX(h) (GPOINTER_TO_UINT (h) - 1)

static void
make_peers (GbtChokerPeer *peers, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      peers[i] = (GbtChokerPeer) { 0 };
      peers[i].handle = H (i);
      peers[i].interested = TRUE;
      peers[i].rate_down = 1000.0 * (i + 1); /* the last is fastest */
      peers[i].rate_up = 500.0 * (n - i);
      peers[i].connected_us = LONG_AGO;
    }
}

static guint
count_unchoked (const GbtChokerPeer *peers, guint n)
{
  guint k = 0;

  for (guint i = 0; i < n; i++)
    k += peers[i].unchoke ? 1 : 0;
  return k;
}

static void
test_top_n (void)
{
  GbtChoker *c = gbt_choker_new (0);
  GbtChokerPeer peers[8];
  gpointer opt;

  make_peers (peers, 8);
  gbt_choker_set_seed (c, 1);
  gbt_choker_run (c, peers, 8, FALSE, START);
  /* the 4 fastest uploaders to us (4..7), plus one optimistic among 0..3 */
  for (guint i = 4; i < 8; i++)
    g_assert_true (peers[i].unchoke);
  opt = gbt_choker_get_optimistic (c);
  g_assert_nonnull (opt);
  g_assert_cmpuint (IDX (opt), <, 4);
  g_assert_true (peers[IDX (opt)].unchoke);
  g_assert_cmpuint (count_unchoked (peers, 8), ==, 5);

  /* rates change: the ranking follows at the next run */
  peers[0].rate_down = 1e6;
  peers[1].rate_down = 1e6 - 1;
  gbt_choker_run (c, peers, 8, FALSE, START + S (10));
  g_assert_true (peers[0].unchoke);
  g_assert_true (peers[1].unchoke);
  g_assert_true (peers[6].unchoke);
  g_assert_true (peers[7].unchoke);
  g_assert_cmpuint (count_unchoked (peers, 8), ==, 5);
  gbt_choker_free (c);
}

static void
test_snubbed (void)
{
  GbtChoker *c = gbt_choker_new (2);
  GbtChokerPeer peers[6];

  make_peers (peers, 6);
  peers[5].snubbed = TRUE; /* the fastest, but it stopped sending */
  for (guint32 seed = 0; seed < 20; seed++)
    {
      gbt_choker_set_seed (c, seed);
      gbt_choker_forget (c, gbt_choker_get_optimistic (c));
      gbt_choker_run (c, peers, 6, FALSE, START + S (seed * 10));
      /* anti-snubbing: regular slots go to 4 and 3; 5 only as the optimistic */
      g_assert_true (peers[4].unchoke);
      g_assert_true (peers[3].unchoke);
      g_assert_cmpint (peers[5].unchoke, ==, gbt_choker_get_optimistic (c) == H (5));
      g_assert_cmpuint (count_unchoked (peers, 6), ==, 3);
    }

  /* a snubbed peer is no reason to leave a slot empty... nor to fill it:
   * with only snubbed peers interested, only the optimistic slot is used */
  for (guint i = 0; i < 6; i++)
    peers[i].snubbed = TRUE;
  gbt_choker_run (c, peers, 6, FALSE, START + S (1000));
  g_assert_cmpuint (count_unchoked (peers, 6), ==, 1);
  g_assert_true (peers[IDX (gbt_choker_get_optimistic (c))].unchoke);

  /* seeding: snubbing means nothing (we download nothing) */
  gbt_choker_run (c, peers, 6, TRUE, START + S (1010));
  g_assert_cmpuint (count_unchoked (peers, 6), ==, 3);
  gbt_choker_free (c);
}

static void
test_optimistic_rotation (void)
{
  GbtChoker *c = gbt_choker_new (4);
  GbtChokerPeer peers[10];
  gpointer first, second;

  make_peers (peers, 10);
  gbt_choker_set_seed (c, 42);
  gbt_choker_run (c, peers, 10, FALSE, START);
  first = gbt_choker_get_optimistic (c);
  g_assert_nonnull (first);
  g_assert_cmpuint (IDX (first), <, 6);

  /* not before 30 s, whatever runs come in between */
  for (gint64 t = 5; t < 30; t += 5)
    {
      gbt_choker_run (c, peers, 10, FALSE, START + S (t));
      g_assert_true (gbt_choker_get_optimistic (c) == first);
      g_assert_true (peers[IDX (first)].unchoke);
    }
  gbt_choker_run (c, peers, 10, FALSE, START + S (29));
  g_assert_true (gbt_choker_get_optimistic (c) == first);

  /* at 30 s: someone else (there are 5 other candidates) */
  gbt_choker_run (c, peers, 10, FALSE, START + S (30));
  second = gbt_choker_get_optimistic (c);
  g_assert_nonnull (second);
  g_assert_true (second != first);
  g_assert_false (peers[IDX (first)].unchoke);
  g_assert_true (peers[IDX (second)].unchoke);
  g_assert_cmpuint (count_unchoked (peers, 10), ==, 5);

  /* and the new one holds for 30 s from its pick */
  gbt_choker_run (c, peers, 10, FALSE, START + S (50));
  g_assert_true (gbt_choker_get_optimistic (c) == second);
  gbt_choker_run (c, peers, 10, FALSE, START + S (60));
  g_assert_true (gbt_choker_get_optimistic (c) != second);

  /* the optimistic peer loses interest: replaced at the next run */
  second = gbt_choker_get_optimistic (c);
  peers[IDX (second)].interested = FALSE;
  gbt_choker_run (c, peers, 10, FALSE, START + S (61));
  g_assert_true (gbt_choker_get_optimistic (c) != second);
  g_assert_false (peers[IDX (second)].unchoke);
  peers[IDX (second)].interested = TRUE;

  /* the optimistic peer turns out fast: it earns a regular slot, and the
   * optimistic slot goes to another */
  second = gbt_choker_get_optimistic (c);
  peers[IDX (second)].rate_down = 1e9;
  gbt_choker_run (c, peers, 10, FALSE, START + S (62));
  g_assert_true (peers[IDX (second)].unchoke);
  g_assert_true (gbt_choker_get_optimistic (c) != second);
  g_assert_nonnull (gbt_choker_get_optimistic (c));
  g_assert_cmpuint (count_unchoked (peers, 10), ==, 5);
  gbt_choker_free (c);
}

static void
test_new_peers_favoured (void)
{
  GbtChokerPeer peers[11];
  guint picks[11] = { 0 };
  guint max_old = 0;
  const guint trials = 3000;

  /* 4 regular slots for 7..10; candidates 0..6, of which 0 is new:
   * weight 3 against 1 each, so it should win 3/9 of the draws */
  make_peers (peers, 11);
  peers[0].connected_us = START - S (5);
  for (guint32 t = 0; t < trials; t++)
    {
      GbtChoker *c = gbt_choker_new (4);
      gbt_choker_set_seed (c, t);
      gbt_choker_run (c, peers, 11, FALSE, START);
      picks[IDX (gbt_choker_get_optimistic (c))]++;
      gbt_choker_free (c);
    }
  for (guint i = 1; i < 7; i++)
    max_old = MAX (max_old, picks[i]);
  for (guint i = 7; i < 11; i++)
    g_assert_cmpuint (picks[i], ==, 0);
  g_test_message ("new peer picked %u/%u, most-picked old one %u", picks[0], trials, max_old);
  g_assert_cmpuint (picks[0], >, trials / 3 - trials / 15);
  g_assert_cmpuint (picks[0], <, trials / 3 + trials / 15);
  g_assert_cmpuint (picks[0], >, 2 * max_old);

  /* after GBT_CHOKER_NEW_PEER_US it is an ordinary peer again */
  memset (picks, 0, sizeof picks);
  for (guint32 t = 0; t < trials; t++)
    {
      GbtChoker *c = gbt_choker_new (4);
      gbt_choker_set_seed (c, t);
      gbt_choker_run (c, peers, 11, FALSE, START + GBT_CHOKER_NEW_PEER_US);
      picks[IDX (gbt_choker_get_optimistic (c))]++;
      gbt_choker_free (c);
    }
  g_assert_cmpuint (picks[0], <, trials / 7 + trials / 20);
}

static void
test_seed_round_robin (void)
{
  GbtChoker *c = gbt_choker_new (4);
  GbtChokerPeer peers[10];
  guint regular[10] = { 0 };
  const guint runs = 30;

  make_peers (peers, 10);
  gbt_choker_set_seed (c, 7);
  for (guint r = 0; r < runs; r++)
    {
      gpointer opt;
      guint n_regular = 0;

      gbt_choker_run (c, peers, 10, TRUE, START + S (10 * r));
      opt = gbt_choker_get_optimistic (c);
      g_assert_nonnull (opt);
      g_assert_true (peers[IDX (opt)].unchoke);
      for (guint i = 0; i < 10; i++)
        if (peers[i].unchoke && H (i) != opt)
          {
            regular[i]++;
            n_regular++;
          }
      g_assert_cmpuint (n_regular, ==, 4);
      g_assert_cmpuint (count_unchoked (peers, 10), ==, 5);
    }
  /* 30 runs x 4 slots over 10 peers: 12 turns each, give or take one,
   * though peer 0 uploads 10 times faster than peer 9 */
  for (guint i = 0; i < 10; i++)
    {
      g_test_message ("peer %u: %u regular turns", i, regular[i]);
      g_assert_cmpuint (regular[i], >=, 11);
      g_assert_cmpuint (regular[i], <=, 13);
    }
  gbt_choker_free (c);
}

static void
test_seed_no_churn (void)
{
  GbtChoker *c = gbt_choker_new (2);
  GbtChokerPeer peers[5];
  gboolean before[5];

  make_peers (peers, 5);
  peers[4].interested = FALSE;
  gbt_choker_set_seed (c, 3);
  gbt_choker_run (c, peers, 5, TRUE, START);
  gbt_choker_run (c, peers, 5, TRUE, START + S (10));
  for (guint i = 0; i < 5; i++)
    before[i] = peers[i].unchoke;

  /* a peer becomes interested in the middle of a turn: the turns in
   * progress (and the optimistic) stay, the newcomer waits its turn */
  peers[4].interested = TRUE;
  gbt_choker_run (c, peers, 5, TRUE, START + S (13));
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (peers[i].unchoke, ==, before[i]);
  g_assert_false (peers[4].unchoke);

  /* 0 and 1 waited since 10 s, longer than it: they come first at 20 s;
   * at 30 s it has waited longest and is served */
  gbt_choker_run (c, peers, 5, TRUE, START + S (20));
  g_assert_true (peers[0].unchoke);
  g_assert_true (peers[1].unchoke);
  gbt_choker_run (c, peers, 5, TRUE, START + S (30));
  g_assert_true (peers[4].unchoke);
  g_assert_true (gbt_choker_get_optimistic (c) != H (4));
  gbt_choker_free (c);
}

static void
test_uninterested (void)
{
  GbtChoker *c = gbt_choker_new (4);
  GbtChokerPeer peers[8];

  make_peers (peers, 8);
  /* the fastest peers both ways are not interested in us */
  for (guint i = 0; i < 8; i += 2)
    {
      peers[i].interested = FALSE;
      peers[i].rate_down = 1e9;
      peers[i].rate_up = 1e9;
      peers[i].connected_us = START;
    }
  for (guint r = 0; r < 12; r++)
    {
      gbt_choker_run (c, peers, 8, r % 2 == 0, START + S (10 * r));
      for (guint i = 0; i < 8; i += 2)
        g_assert_false (peers[i].unchoke);
      /* 4 interested peers, 4 slots: all unchoked, none left for optimism */
      for (guint i = 1; i < 8; i += 2)
        g_assert_true (peers[i].unchoke);
      g_assert_null (gbt_choker_get_optimistic (c));
    }

  for (guint i = 0; i < 8; i++)
    peers[i].interested = FALSE;
  gbt_choker_run (c, peers, 8, FALSE, START + S (200));
  g_assert_cmpuint (count_unchoked (peers, 8), ==, 0);
  g_assert_null (gbt_choker_get_optimistic (c));
  gbt_choker_run (c, NULL, 0, TRUE, START + S (210));
  gbt_choker_free (c);
}

static void
test_forget (void)
{
  GbtChoker *c = gbt_choker_new (2);
  GbtChokerPeer peers[6];
  gpointer opt, next;
  guint i_opt;

  make_peers (peers, 6);
  gbt_choker_set_seed (c, 9);
  gbt_choker_run (c, peers, 6, FALSE, START);
  opt = gbt_choker_get_optimistic (c);
  g_assert_nonnull (opt);

  /* the optimistic peer leaves: the torrent forgets it and takes it out of
   * the table; the next run (well before 30 s) picks another at once */
  gbt_choker_forget (c, opt);
  g_assert_null (gbt_choker_get_optimistic (c));
  i_opt = IDX (opt);
  peers[i_opt] = peers[5];
  gbt_choker_run (c, peers, 5, FALSE, START + S (1));
  next = gbt_choker_get_optimistic (c);
  g_assert_nonnull (next);
  g_assert_true (next != opt);
  g_assert_cmpuint (count_unchoked (peers, 5), ==, 3);

  /* a peer merely absent from the table is dropped as well */
  for (guint i = 0; i < 5; i++)
    if (peers[i].handle == next)
      {
        peers[i] = peers[4];
        break;
      }
  gbt_choker_run (c, peers, 4, FALSE, START + S (2));
  g_assert_nonnull (gbt_choker_get_optimistic (c));
  g_assert_true (gbt_choker_get_optimistic (c) != next);
  gbt_choker_forget (c, GUINT_TO_POINTER (12345)); /* unknown: harmless */
  gbt_choker_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/choker/leech/top-n", test_top_n);
  g_test_add_func ("/choker/leech/snubbed", test_snubbed);
  g_test_add_func ("/choker/optimistic/rotation", test_optimistic_rotation);
  g_test_add_func ("/choker/optimistic/new-peers-favoured", test_new_peers_favoured);
  g_test_add_func ("/choker/seed/round-robin", test_seed_round_robin);
  g_test_add_func ("/choker/seed/no-churn", test_seed_no_churn);
  g_test_add_func ("/choker/uninterested", test_uninterested);
  g_test_add_func ("/choker/forget", test_forget);
  return g_test_run ();
}
