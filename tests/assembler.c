/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The assembler's recycled piece buffers (issue 12, latency): a full-speed
 * download reuses them instead of faulting in fresh ones on the main
 * thread, holds as many as can be in flight, and gives them back once the
 * download idles. */
#include <string.h>

#include <glib.h>

#include "gbt-assembler.h"
#include "gbt-storage.h"

#define PIECE (4 * GBT_BLOCK_SIZE)

static guint32
piece_size_cb (gpointer data, guint piece)
{
  return PIECE;
}

/* every block of @piece, each filled with @fill; the whole piece back */
static GBytes *
add_piece (GbtAssembler *a, guint piece, guint8 fill)
{
  guint8 block[GBT_BLOCK_SIZE];
  GBytes *out = NULL;

  memset (block, fill, sizeof block);
  for (guint32 begin = 0; begin < PIECE; begin += GBT_BLOCK_SIZE)
    {
      GbtBlock b = { piece, begin, GBT_BLOCK_SIZE };
      g_autoptr(GPtrArray) senders = NULL;
      gboolean complete = begin + GBT_BLOCK_SIZE == PIECE;

      out = gbt_assembler_add (a, &b, block, "127.0.0.1", complete, &senders);
      g_assert_true ((out != NULL) == complete);
      if (complete)
        g_assert_cmpuint (senders->len, ==, PIECE / GBT_BLOCK_SIZE);
    }
  return out;
}

static void
test_reuse (void)
{
  GbtAssembler *a = gbt_assembler_new (PIECE, piece_size_cb, NULL);
  g_autoptr(GBytes) p1 = NULL;
  GBytes *p0 = add_piece (a, 0, 0xaa);
  const guint8 *first = g_bytes_get_data (p0, NULL);
  gsize len;
  const guint8 *d;

  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 0);
  g_assert_cmpuint ((gsize) first % GBT_STORAGE_DIRECT_ALIGN, ==, 0);
  g_bytes_unref (p0); /* what the disk worker does once written */
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 1);

  /* the next piece lands in the same buffer, with its own bytes */
  p1 = add_piece (a, 1, 0x55);
  d = g_bytes_get_data (p1, &len);
  g_assert_true (d == first);
  g_assert_cmpuint (len, ==, PIECE);
  for (gsize i = 0; i < len; i++)
    g_assert_cmpuint (d[i], ==, 0x55);
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 0);
  g_assert_cmpuint (gbt_assembler_get_buffered (a), ==, 0);
  gbt_assembler_free (a);
}

static void
test_holds_in_flight (void)
{
  GbtAssembler *a = gbt_assembler_new (PIECE, piece_size_cb, NULL);
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  /* more pieces in flight at once than the old pool kept (8): all come back */
  for (guint i = 0; i < 40; i++)
    g_ptr_array_add (held, add_piece (a, i, (guint8) i));
  g_ptr_array_set_size (held, 0);
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 40);
  gbt_assembler_free (a);
}

static void
test_trim (void)
{
  GbtAssembler *a = gbt_assembler_new (PIECE, piece_size_cb, NULL);

  g_bytes_unref (add_piece (a, 0, 1));
  g_bytes_unref (add_piece (a, 1, 2));
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 1);
  /* a piece was started since the last trim: the download runs, keep them */
  gbt_assembler_trim (a);
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 1);
  /* a whole tick with none: give them back */
  gbt_assembler_trim (a);
  g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 0);
  /* and a buffer still in use comes back to the pool afterwards */
  {
    GBytes *p = add_piece (a, 2, 3);
    gbt_assembler_trim (a);
    g_bytes_unref (p);
    g_assert_cmpuint (gbt_assembler_get_n_spare (a), ==, 1);
  }
  gbt_assembler_free (a);
}

static void
test_outlives_assembler (void)
{
  GbtAssembler *a = gbt_assembler_new (PIECE, piece_size_cb, NULL);
  GBytes *p = add_piece (a, 0, 7);

  /* a write still queued when the torrent goes: the buffer stays valid */
  gbt_assembler_free (a);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (p, NULL))[PIECE - 1], ==, 7);
  g_bytes_unref (p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/assembler/pool/reuse", test_reuse);
  g_test_add_func ("/assembler/pool/holds-in-flight", test_holds_in_flight);
  g_test_add_func ("/assembler/pool/trim", test_trim);
  g_test_add_func ("/assembler/pool/outlives-assembler", test_outlives_assembler);
  return g_test_run ();
}
