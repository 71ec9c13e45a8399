/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gbt-picker.h"
#include "test-utils.h"

#define KiB 1024

typedef struct {
  GbtBitfield has;
  GArray *outstanding; /* GbtBlock: what this fake peer was asked for */
} FakePeer;

static void
peer_init (FakePeer *peer, guint n_pieces, gboolean all)
{
  gbt_bitfield_init (&peer->has, n_pieces);
  if (all)
    gbt_bitfield_set_all (&peer->has);
  peer->outstanding = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
}

static void
peer_clear (FakePeer *peer)
{
  gbt_bitfield_clear (&peer->has);
  g_array_unref (peer->outstanding);
}

static gboolean
same_block (const GbtBlock *a, const GbtBlock *b)
{
  return a->piece == b->piece && a->begin == b->begin && a->length == b->length;
}

static gboolean
already_requested_cb (gpointer peer_data, const GbtBlock *block)
{
  FakePeer *peer = peer_data;

  for (guint i = 0; i < peer->outstanding->len; i++)
    if (same_block (&g_array_index (peer->outstanding, GbtBlock, i), block))
      return TRUE;
  return FALSE;
}

/* picks for @peer and remembers the blocks as outstanding */
static guint
pick (GbtPicker *picker, FakePeer *peer, guint max, GArray *out)
{
  guint n;

  g_array_set_size (out, 0);
  n = gbt_picker_pick (picker, &peer->has, max, already_requested_cb, peer, out);
  g_assert_cmpuint (n, ==, out->len);
  g_array_append_vals (peer->outstanding, out->data, out->len);
  return n;
}

static GArray *
blocks_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (GbtBlock));
}

static void
test_rarest_first (void)
{
  /* 20 pieces of 32 KiB: A has all, B and C all but 13 and 17, D only 17 */
  GbtPicker *picker = gbt_picker_new (20, 32 * KiB, 20 * 32 * KiB);
  FakePeer a, b, c, d;
  g_autoptr(GArray) out = blocks_new ();

  peer_init (&a, 20, TRUE);
  peer_init (&b, 20, TRUE);
  peer_init (&c, 20, TRUE);
  peer_init (&d, 20, FALSE);
  gbt_bitfield_set (&b.has, 13, FALSE);
  gbt_bitfield_set (&b.has, 17, FALSE);
  gbt_bitfield_set (&c.has, 13, FALSE);
  gbt_bitfield_set (&c.has, 17, FALSE);
  gbt_bitfield_set (&d.has, 17, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);
  gbt_picker_add_peer_bitfield (picker, &c.has);
  gbt_picker_add_peer_bitfield (picker, &d.has);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 0), ==, 3);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 13), ==, 1);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 17), ==, 2);

  /* piece 13 (1 peer) before 17 (2 peers) before the rest (3 peers) */
  g_assert_cmpuint (pick (picker, &a, 2, out), ==, 2);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 13);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).piece, ==, 13);
  g_assert_cmpuint (pick (picker, &a, 2, out), ==, 2);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 17);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).piece, ==, 17);
  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  g_assert_cmpuint (gbt_picker_get_availability (picker, g_array_index (out, GbtBlock, 0).piece),
                    ==, 3);

  /* a have makes piece 5 the most common; D leaving makes 17 rarer */
  gbt_picker_add_peer_have (picker, 5);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 5), ==, 4);
  gbt_picker_remove_peer_bitfield (picker, &d.has);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 17), ==, 1);
  g_assert_cmpuint (gbt_picker_get_availability (picker, 0), ==, 3);

  /* D has only 17, which is in flight and fully requested: nothing for it */
  g_assert_cmpuint (pick (picker, &d, 4, out), ==, 0);

  gbt_picker_free (picker);
  peer_clear (&a);
  peer_clear (&b);
  peer_clear (&c);
  peer_clear (&d);
}

static void
test_random_ties (void)
{
  g_autoptr(GHashTable) firsts = g_hash_table_new (g_direct_hash, g_direct_equal);

  for (int run = 0; run < 60; run++)
    {
      GbtPicker *picker = gbt_picker_new (20, 16 * KiB, 20 * 16 * KiB);
      g_autoptr(GArray) out = blocks_new ();
      FakePeer a;

      peer_init (&a, 20, TRUE);
      gbt_picker_add_peer_bitfield (picker, &a.has);
      g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
      g_hash_table_add (firsts, GUINT_TO_POINTER (g_array_index (out, GbtBlock, 0).piece + 1));
      gbt_picker_free (picker);
      peer_clear (&a);
    }
  /* 60 draws from 20 equal pieces; fewer than 6 distinct is ~1e-20 */
  g_assert_cmpuint (g_hash_table_size (firsts), >=, 6);
}

static void
test_partial_first (void)
{
  /* 10 pieces of 4 blocks */
  GbtPicker *picker = gbt_picker_new (10, 64 * KiB, 10 * 64 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a, b, c;
  guint first;
  gboolean complete;

  peer_init (&a, 10, TRUE);
  peer_init (&b, 10, TRUE);
  peer_init (&c, 10, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);

  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  first = g_array_index (out, GbtBlock, 0).piece;
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 1);

  /* C lacks one piece, which becomes the rarest, but the partial piece is
   * finished first */
  gbt_bitfield_set (&c.has, (first + 1) % 10, FALSE);
  gbt_picker_add_peer_bitfield (picker, &c.has);
  g_assert_cmpuint (pick (picker, &b, 3, out), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const GbtBlock *blk = &g_array_index (out, GbtBlock, i);

      g_assert_cmpuint (blk->piece, ==, first);
      g_assert_cmpuint (blk->begin, ==, (i + 1) * GBT_BLOCK_SIZE);
    }
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 1);

  /* then the rarest new piece */
  g_assert_cmpuint (pick (picker, &b, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, (first + 1) % 10);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 2);

  /* one call spans pieces: rest of the rare one, then new ones */
  g_assert_cmpuint (pick (picker, &a, 11, out), ==, 11);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (g_array_index (out, GbtBlock, i).piece, ==, (first + 1) % 10);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 4);

  /* blocks in, piece complete, verified: no longer partial */
  for (guint i = 0; i < 4; i++)
    {
      GbtBlock blk = { first, i * GBT_BLOCK_SIZE, GBT_BLOCK_SIZE };

      g_assert_true (gbt_picker_block_received (picker, &blk, &complete));
      g_assert_cmpint (complete, ==, i == 3);
      /* a duplicate is not wanted */
      g_assert_false (gbt_picker_block_received (picker, &blk, &complete));
      g_assert_false (complete);
    }
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 4);
  gbt_picker_piece_verified (picker, first);
  g_assert_true (gbt_picker_have (picker, first));
  g_assert_cmpuint (gbt_picker_n_have (picker), ==, 1);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 3);

  gbt_picker_free (picker);
  peer_clear (&a);
  peer_clear (&b);
  peer_clear (&c);
}

static void
test_priority (void)
{
  GbtPicker *picker = gbt_picker_new (10, 16 * KiB, 10 * 16 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a, b;

  peer_init (&a, 10, TRUE);
  peer_init (&b, 10, TRUE);
  gbt_bitfield_set (&b.has, 6, FALSE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);

  /* higher priority beats rarity: 5 (common, 2) before 6 (rare, 1) */
  gbt_picker_set_priority (picker, 5, 2);
  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 5);
  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 6);

  /* priority 0 is never picked */
  for (guint i = 0; i < 10; i++)
    if (i != 3)
      gbt_picker_set_priority (picker, i, 0);
  g_assert_cmpuint (pick (picker, &a, 100, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 3);
  g_assert_false (gbt_picker_is_done (picker));
  /* 5 and 6 are in flight but not wanted now; 3 is the last wanted and
   * fully requested: endgame hands it to B, never to A again */
  g_assert_true (gbt_picker_in_endgame (picker));
  g_assert_cmpuint (pick (picker, &b, 100, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 3);
  g_assert_cmpuint (pick (picker, &a, 100, out), ==, 0);

  /* nothing wanted left: done */
  gbt_picker_set_priority (picker, 3, 0);
  g_assert_true (gbt_picker_is_done (picker));
  g_assert_false (gbt_picker_in_endgame (picker));
  gbt_picker_set_priority (picker, 8, 1);
  g_assert_false (gbt_picker_is_done (picker));
  g_assert_cmpuint (pick (picker, &b, 100, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 8);

  gbt_picker_free (picker);
  peer_clear (&a);
  peer_clear (&b);
}

/* sequential: index order, priorities first, a failed piece earlier than
 * the cursor is taken again first */
static void
test_sequential (void)
{
  GbtPicker *picker = gbt_picker_new (12, 16 * KiB, 12 * 16 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a, b;
  gboolean complete = FALSE;

  peer_init (&a, 12, TRUE);
  peer_init (&b, 12, TRUE);
  gbt_bitfield_set (&a.has, 1, FALSE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);
  gbt_picker_set_sequential (picker, TRUE);
  g_assert_true (gbt_picker_get_sequential (picker));

  /* A lacks 1 (the rarest): 0, 2, 3 in order, not 1 */
  g_assert_cmpuint (pick (picker, &a, 3, out), ==, 3);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 0);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).piece, ==, 2);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 2).piece, ==, 3);
  /* B gets 1, then 4 */
  g_assert_cmpuint (pick (picker, &b, 2, out), ==, 2);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).piece, ==, 4);
  /* a higher priority comes before order */
  gbt_picker_set_priority (picker, 10, 3);
  g_assert_cmpuint (pick (picker, &b, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 10);
  /* piece 0 fails its hash: it is first again */
  g_assert_true (gbt_picker_block_received (picker, &(GbtBlock){ 0, 0, 16 * KiB }, &complete));
  g_assert_true (complete);
  gbt_picker_piece_failed (picker, 0);
  g_assert_cmpuint (pick (picker, &b, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 0);
  g_assert_cmpuint (pick (picker, &b, 1, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, 5);

  gbt_picker_free (picker);
  peer_clear (&a);
  peer_clear (&b);
}

static void
test_endgame (void)
{
  /* 2 pieces of 2 blocks */
  GbtPicker *picker = gbt_picker_new (2, 32 * KiB, 64 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a, b, c;
  GbtBlock blk;
  gboolean complete;

  peer_init (&a, 2, TRUE);
  peer_init (&b, 2, TRUE);
  peer_init (&c, 2, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);
  gbt_picker_add_peer_bitfield (picker, &c.has);

  g_assert_false (gbt_picker_in_endgame (picker));
  g_assert_cmpuint (pick (picker, &a, 3, out), ==, 3);
  g_assert_false (gbt_picker_in_endgame (picker));
  g_assert_cmpuint (pick (picker, &a, 3, out), ==, 1);
  g_assert_true (gbt_picker_in_endgame (picker));

  /* the same peer gets nothing twice */
  g_assert_cmpuint (pick (picker, &a, 10, out), ==, 0);
  /* another peer gets every block again */
  g_assert_cmpuint (pick (picker, &b, 10, out), ==, 4);
  g_assert_cmpuint (pick (picker, &b, 10, out), ==, 0);

  /* one of B's requests fails: C gets that block first (fewest requests) */
  blk = g_array_index (b.outstanding, GbtBlock, 2);
  gbt_picker_unrequest (picker, &blk);
  g_array_remove_index (b.outstanding, 2);
  g_assert_cmpuint (pick (picker, &c, 1, out), ==, 1);
  g_assert_true (same_block (&g_array_index (out, GbtBlock, 0), &blk));

  /* a received block is handed out no more */
  blk = g_array_index (a.outstanding, GbtBlock, 0);
  g_assert_true (gbt_picker_block_received (picker, &blk, &complete));
  g_assert_false (complete);
  g_assert_false (gbt_picker_block_received (picker, &blk, &complete));
  g_assert_cmpuint (pick (picker, &c, 10, out), ==, 2);
  for (guint i = 0; i < out->len; i++)
    g_assert_false (same_block (&g_array_index (out, GbtBlock, i), &blk));

  gbt_picker_free (picker);
  peer_clear (&a);
  peer_clear (&b);
  peer_clear (&c);
}

static void
test_unrequest (void)
{
  GbtPicker *picker = gbt_picker_new (4, 64 * KiB, 4 * 64 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a;
  GbtBlock blk;
  guint piece;

  peer_init (&a, 4, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);

  g_assert_cmpuint (pick (picker, &a, 4, out), ==, 4);
  piece = g_array_index (out, GbtBlock, 0).piece;
  blk = g_array_index (out, GbtBlock, 1);

  /* the block is wanted again, and before any new piece */
  gbt_picker_unrequest (picker, &blk);
  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  g_assert_true (same_block (&g_array_index (out, GbtBlock, 0), &blk));

  /* a block given up on that still arrives is taken */
  gbt_picker_unrequest (picker, &blk);
  g_assert_true (gbt_picker_block_received (picker, &blk, NULL));

  /* unrequesting everything else leaves the piece partial (one block in) */
  for (guint i = 0; i < 4; i++)
    {
      GbtBlock other = { piece, i * GBT_BLOCK_SIZE, GBT_BLOCK_SIZE };

      if (i != 1)
        gbt_picker_unrequest (picker, &other);
    }
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 1);
  g_assert_cmpuint (pick (picker, &a, 3, out), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (g_array_index (out, GbtBlock, i).piece, ==, piece);

  /* a piece with nothing in and nothing requested is not partial any more */
  g_assert_cmpuint (pick (picker, &a, 2, out), ==, 2);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 2);
  gbt_picker_unrequest (picker, &g_array_index (out, GbtBlock, 0));
  gbt_picker_unrequest (picker, &g_array_index (out, GbtBlock, 1));
  /* a second unrequest of the same block changes nothing */
  gbt_picker_unrequest (picker, &g_array_index (out, GbtBlock, 1));
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 1);

  /* an unsolicited block (piece not in flight) is not wanted */
  blk = g_array_index (out, GbtBlock, 0);
  g_assert_false (gbt_picker_block_received (picker, &blk, NULL));
  /* nor are blocks off the grid */
  blk = (GbtBlock){ piece, 100, GBT_BLOCK_SIZE };
  g_assert_false (gbt_picker_block_received (picker, &blk, NULL));
  blk = (GbtBlock){ piece, 0, 100 };
  g_assert_false (gbt_picker_block_received (picker, &blk, NULL));
  blk = (GbtBlock){ 99, 0, GBT_BLOCK_SIZE };
  g_assert_false (gbt_picker_block_received (picker, &blk, NULL));

  gbt_picker_free (picker);
  peer_clear (&a);
}

static void
test_piece_failed (void)
{
  GbtPicker *picker = gbt_picker_new (3, 32 * KiB, 3 * 32 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a;
  guint piece;
  gboolean complete = FALSE;

  peer_init (&a, 3, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_set_priority (picker, 1, 3);

  g_assert_cmpuint (pick (picker, &a, 2, out), ==, 2);
  piece = g_array_index (out, GbtBlock, 0).piece;
  g_assert_cmpuint (piece, ==, 1);
  for (guint i = 0; i < 2; i++)
    g_assert_true (gbt_picker_block_received (picker, &g_array_index (out, GbtBlock, i),
                                              &complete));
  g_assert_true (complete);

  /* bad hash: both blocks are wanted again, and it is not had */
  gbt_picker_piece_failed (picker, piece);
  g_assert_false (gbt_picker_have (picker, piece));
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 0);
  g_assert_cmpuint (pick (picker, &a, 2, out), ==, 2);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).piece, ==, piece);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).piece, ==, piece);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).begin, ==, 0);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 1).begin, ==, GBT_BLOCK_SIZE);

  gbt_picker_free (picker);
  peer_clear (&a);
}

static int
block_cmp (gconstpointer a, gconstpointer b)
{
  const GbtBlock *x = a, *y = b;

  if (x->piece != y->piece)
    return x->piece < y->piece ? -1 : 1;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static void
test_short_last (void)
{
  /* pieces of 40000 bytes (3 blocks: 16384, 16384, 7232); the last piece
   * is 20000 bytes (16384, 3616) */
  GbtPicker *picker = gbt_picker_new (3, 40000, 2 * 40000 + 20000);
  g_autoptr(GArray) out = blocks_new ();
  const GbtBlock expected[] = {
    { 0, 0, 16384 }, { 0, 16384, 16384 }, { 0, 32768, 7232 },
    { 1, 0, 16384 }, { 1, 16384, 16384 }, { 1, 32768, 7232 },
    { 2, 0, 16384 }, { 2, 16384, 3616 },
  };
  FakePeer a;

  peer_init (&a, 3, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  g_assert_cmpuint (pick (picker, &a, 100, out), ==, G_N_ELEMENTS (expected));
  g_array_sort (out, block_cmp);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const GbtBlock *blk = &g_array_index (out, GbtBlock, i);

      g_assert_cmpuint (blk->piece, ==, expected[i].piece);
      g_assert_cmpuint (blk->begin, ==, expected[i].begin);
      g_assert_cmpuint (blk->length, ==, expected[i].length);
    }

  /* a short block with the full length is not the block handed out */
  {
    GbtBlock wrong = { 2, 16384, 16384 };
    gboolean complete;

    g_assert_false (gbt_picker_block_received (picker, &wrong, &complete));
    g_assert_true (gbt_picker_block_received (picker, &expected[6], &complete));
    g_assert_false (complete);
    g_assert_true (gbt_picker_block_received (picker, &expected[7], &complete));
    g_assert_true (complete);
  }

  gbt_picker_free (picker);
  peer_clear (&a);

  /* a torrent of one block shorter than a block */
  picker = gbt_picker_new (1, 32 * KiB, 1000);
  peer_init (&a, 1, TRUE);
  g_assert_cmpuint (pick (picker, &a, 10, out), ==, 1);
  g_assert_cmpuint (g_array_index (out, GbtBlock, 0).length, ==, 1000);
  gbt_picker_free (picker);
  peer_clear (&a);
}

static void
test_is_done (void)
{
  GbtPicker *picker = gbt_picker_new (5, 16 * KiB, 5 * 16 * KiB);
  GbtPicker *empty = gbt_picker_new (0, 16 * KiB, 0);

  g_assert_true (gbt_picker_is_done (empty));
  gbt_picker_free (empty);

  g_assert_false (gbt_picker_is_done (picker));
  gbt_picker_set_have (picker, 0);
  gbt_picker_set_have (picker, 0);
  gbt_picker_set_have (picker, 1);
  g_assert_cmpuint (gbt_picker_n_have (picker), ==, 2);
  g_assert_false (gbt_picker_is_done (picker));
  gbt_picker_set_priority (picker, 2, 0);
  gbt_picker_piece_verified (picker, 3);
  g_assert_false (gbt_picker_is_done (picker));
  gbt_picker_piece_verified (picker, 4);
  g_assert_true (gbt_picker_is_done (picker));
  g_assert_cmpuint (gbt_picker_n_have (picker), ==, 4);
  gbt_picker_set_priority (picker, 2, 1);
  g_assert_false (gbt_picker_is_done (picker));
  gbt_picker_set_have (picker, 2);
  g_assert_true (gbt_picker_is_done (picker));
  gbt_picker_free (picker);
}

/* A whole download from peers with random bitfields: every block is asked
 * for once before endgame, each piece completes, and it ends done. */
static void
test_simulated_download (void)
{
  const guint n_pieces = 3000, n_peers = 8;
  GbtPicker *picker = gbt_picker_new (n_pieces, 32 * KiB, (guint64) n_pieces * 32 * KiB - 5000);
  g_autoptr(GArray) out = blocks_new ();
  g_autoptr(GHashTable) asked = g_hash_table_new (g_direct_hash, g_direct_equal);
  FakePeer peers[8];
  guint rounds = 0, duplicates = 0;

  for (guint p = 0; p < n_peers; p++)
    {
      peer_init (&peers[p], n_pieces, FALSE);
      for (guint i = 0; i < n_pieces; i++)
        if (p == i % n_peers || g_test_rand_int_range (0, 3) == 0)
          gbt_bitfield_set (&peers[p].has, i, TRUE);
      gbt_picker_add_peer_bitfield (picker, &peers[p].has);
    }
  gbt_picker_set_have (picker, 7);

  while (!gbt_picker_is_done (picker))
    {
      g_assert_cmpuint (rounds++, <, 100000);
      for (guint p = 0; p < n_peers; p++)
        {
          FakePeer *peer = &peers[p];
          gboolean endgame;

          pick (picker, peer, 16, out);
          /* duplicates only once every block has been asked for (which may
           * have happened within this very pick) */
          endgame = gbt_picker_in_endgame (picker);
          for (guint i = 0; i < out->len; i++)
            {
              const GbtBlock *blk = &g_array_index (out, GbtBlock, i);
              gpointer key = GUINT_TO_POINTER (blk->piece * 4 + blk->begin / GBT_BLOCK_SIZE + 1);

              g_assert_true (gbt_bitfield_get (&peer->has, blk->piece));
              if (g_hash_table_contains (asked, key))
                {
                  g_assert_true (endgame);
                  duplicates++;
                }
              g_hash_table_add (asked, key);
            }
          /* the peer answers half of its queue, oldest first */
          for (guint k = (peer->outstanding->len + 1) / 2; k > 0; k--)
            {
              GbtBlock blk = g_array_index (peer->outstanding, GbtBlock, 0);
              gboolean complete;

              g_array_remove_index (peer->outstanding, 0);
              if (gbt_picker_block_received (picker, &blk, &complete) && complete)
                gbt_picker_piece_verified (picker, blk.piece);
            }
          /* in-flight pieces stay few: partial pieces are finished first */
          g_assert_cmpuint (gbt_picker_n_partial (picker), <=, n_peers * 16);
        }
    }
  g_assert_cmpuint (gbt_picker_n_have (picker), ==, n_pieces);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 0);
  g_test_message ("%u rounds, %u endgame duplicates", rounds, duplicates);

  for (guint p = 0; p < n_peers; p++)
    {
      gbt_picker_remove_peer_bitfield (picker, &peers[p].has);
      peer_clear (&peers[p]);
    }
  for (guint i = 0; i < n_pieces; i++)
    g_assert_cmpuint (gbt_picker_get_availability (picker, i), ==, 0);
  gbt_picker_free (picker);
}

/* 100k pieces, many peers: picks stay cheap (a few ms for thousands). */
static void
test_large (void)
{
  const guint n_pieces = 100000;
  GbtPicker *picker = gbt_picker_new (n_pieces, 256 * KiB, (guint64) n_pieces * 256 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer seed, sparse;
  gint64 start;

  peer_init (&seed, n_pieces, TRUE);
  peer_init (&sparse, n_pieces, FALSE);
  for (guint i = 0; i < n_pieces; i += 13)
    gbt_bitfield_set (&sparse.has, i, TRUE);
  for (guint p = 0; p < 30; p++)
    gbt_picker_add_peer_bitfield (picker, &seed.has);
  gbt_picker_add_peer_bitfield (picker, &sparse.has);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < 2000; i++)
    {
      g_array_set_size (out, 0);
      g_assert_cmpuint (gbt_picker_pick (picker, i % 2 ? &seed.has : &sparse.has, 64, NULL, NULL,
                                         out),
                        ==, 64);
      for (guint k = 0; k < out->len; k++)
        {
          gboolean complete;

          gbt_picker_block_received (picker, &g_array_index (out, GbtBlock, k), &complete);
          if (complete)
            gbt_picker_piece_verified (picker, g_array_index (out, GbtBlock, k).piece);
        }
    }
  g_test_message ("2000 picks of 64 blocks in %" G_GINT64_FORMAT " us",
                  g_get_monotonic_time () - start);
  g_assert_cmpuint (gbt_picker_n_have (picker), ==, 2000 * 64 / 16);

  gbt_picker_free (picker);
  peer_clear (&seed);
  peer_clear (&sparse);
}

/* Parole (smart ban): a failed piece is handed out whole to one peer,
 * endgame included; a peer we trust less does not get it; when its owner
 * goes, what it sent is dropped and the next peer gets the piece whole */
static void
test_parole (void)
{
  /* 2 pieces of 2 blocks */
  GbtPicker *picker = gbt_picker_new (2, 32 * KiB, 64 * KiB);
  g_autoptr(GArray) out = blocks_new ();
  FakePeer a, b;
  GbtBlock blk;
  gboolean complete;

  peer_init (&a, 2, TRUE);
  peer_init (&b, 2, TRUE);
  gbt_picker_add_peer_bitfield (picker, &a.has);
  gbt_picker_add_peer_bitfield (picker, &b.has);
  gbt_picker_set_have (picker, 1);
  gbt_picker_set_parole (picker, 0);
  g_assert_true (gbt_picker_on_parole (picker, 0));

  /* b is not trusted with it */
  g_array_set_size (out, 0);
  g_assert_cmpuint (gbt_picker_pick_full (picker, &b.has, 10, already_requested_cb, &b, FALSE,
                                          out), ==, 0);
  /* a takes both blocks; b gets none, not even in endgame */
  g_assert_cmpuint (pick (picker, &a, 1, out), ==, 1);
  g_assert_cmpuint (pick (picker, &b, 10, out), ==, 0);
  g_assert_cmpuint (pick (picker, &a, 10, out), ==, 1);
  g_assert_true (gbt_picker_in_endgame (picker));
  g_assert_cmpuint (pick (picker, &b, 10, out), ==, 0);

  /* a sent one block and went: the piece starts over, b's now */
  blk = g_array_index (a.outstanding, GbtBlock, 0);
  g_assert_true (gbt_picker_block_received (picker, &blk, &complete));
  blk = g_array_index (a.outstanding, GbtBlock, 1);
  gbt_picker_unrequest (picker, &blk);
  gbt_picker_release (picker, &a);
  g_assert_cmpuint (gbt_picker_n_partial (picker), ==, 0);
  g_assert_cmpuint (pick (picker, &b, 10, out), ==, 2);
  g_assert_cmpuint (pick (picker, &a, 10, out), ==, 0);

  /* it passes: off parole */
  gbt_picker_piece_verified (picker, 0);
  g_assert_false (gbt_picker_on_parole (picker, 0));
  peer_clear (&a);
  peer_clear (&b);
  gbt_picker_free (picker);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/picker/rarest-first", test_rarest_first);
  g_test_add_func ("/picker/random-ties", test_random_ties);
  g_test_add_func ("/picker/partial-first", test_partial_first);
  g_test_add_func ("/picker/priority", test_priority);
  g_test_add_func ("/picker/endgame", test_endgame);
  g_test_add_func ("/picker/unrequest", test_unrequest);
  g_test_add_func ("/picker/piece-failed", test_piece_failed);
  g_test_add_func ("/picker/short-last", test_short_last);
  g_test_add_func ("/picker/is-done", test_is_done);
  g_test_add_func ("/picker/simulated-download", test_simulated_download);
  g_test_add_func ("/picker/large", test_large);
  g_test_add_func ("/picker/parole", test_parole);
  g_test_add_func ("/picker/sequential", test_sequential);

  return g_test_run ();
}
