/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gbt-disk-io.h"
#include "test-torrent.h"
#include "test-utils.h"

#define PIECE 16384

typedef struct
{
  char *dir;
  guint8 *stream;
  gsize len;
  GbtMetainfo *mi;
  GbtStorage *storage;
  GbtDiskIo *io;
  GThread *main_thread;
  GMainContext *context; /* where callbacks must arrive */

  guint n_written;
  GbtPieceResult last_result;
  GError *last_error;
  guint n_read;
  GBytes *read_data;
  gboolean verify_done;
  GbtBitfield have;
  guint n_progress;
  guint last_checked;
  guint progress_total;
} Fixture;

/* a: pieces 0-2 and the start of 3; b: the rest of 3, start of 4; c: the
 * rest of 4, 5 and 6 (the last piece, 4000 bytes short) */
static const TestFile files[] = {
  { "a", 3 * PIECE + 1000, FALSE },
  { "b", PIECE, FALSE },
  { "c", 3 * PIECE - 5000, FALSE },
};

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = gbt_test_mkdtemp ();
  fx->stream = test_torrent_make_stream (files, G_N_ELEMENTS (files), &fx->len);
  fx->mi = test_torrent_new ("t", files, G_N_ELEMENTS (files), PIECE, fx->stream, fx->len);
  fx->storage = gbt_storage_new (fx->mi, fx->dir);
  fx->main_thread = g_thread_self ();
  fx->context = g_main_context_ref (g_main_context_default ());
  fx->io = gbt_disk_io_new (fx->mi, fx->storage, GPOINTER_TO_UINT (data));
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (fx->mi), ==, 7);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->io, gbt_disk_io_free);
  g_clear_pointer (&fx->storage, gbt_storage_free);
  g_clear_pointer (&fx->mi, gbt_metainfo_unref);
  g_clear_pointer (&fx->read_data, g_bytes_unref);
  g_clear_error (&fx->last_error);
  if (fx->have.bits != NULL)
    gbt_bitfield_clear (&fx->have);
  g_main_context_unref (fx->context);
  g_free (fx->stream);
  gbt_test_rmtree (fx->dir);
  g_free (fx->dir);
}

static void
assert_on_context (Fixture *fx)
{
  g_assert_true (g_thread_self () == fx->main_thread);
  g_assert_true (g_main_context_is_owner (fx->context));
}

static void
written_cb (guint piece, GbtPieceResult result, const GError *error, gpointer user_data)
{
  Fixture *fx = user_data;

  assert_on_context (fx);
  fx->n_written++;
  fx->last_result = result;
  g_clear_error (&fx->last_error);
  if (error != NULL)
    fx->last_error = g_error_copy (error);
}

static void
read_cb (guint32 piece, guint32 begin, GBytes *data, const GError *error, gpointer user_data)
{
  Fixture *fx = user_data;

  assert_on_context (fx);
  fx->n_read++;
  g_clear_pointer (&fx->read_data, g_bytes_unref);
  g_clear_error (&fx->last_error);
  if (data != NULL)
    fx->read_data = g_bytes_ref (data);
  if (error != NULL)
    fx->last_error = g_error_copy (error);
  g_assert_true ((data == NULL) != (error == NULL));
}

static void
progress_cb (guint checked, guint n_pieces, gpointer user_data)
{
  Fixture *fx = user_data;

  assert_on_context (fx);
  g_assert_false (fx->verify_done);
  g_assert_cmpuint (checked, >=, fx->last_checked);
  g_assert_cmpuint (checked, <=, n_pieces);
  fx->n_progress++;
  fx->last_checked = checked;
  fx->progress_total = n_pieces;
}

static void
verify_done_cb (const GbtBitfield *have, const GError *error, gpointer user_data)
{
  Fixture *fx = user_data;

  assert_on_context (fx);
  g_assert_no_error (error);
  g_assert_nonnull (have);
  gbt_bitfield_init (&fx->have, have->n_bits);
  g_assert_true (gbt_bitfield_load (&fx->have, have->bits, gbt_bitfield_byte_len (have->n_bits),
                                    NULL));
  fx->verify_done = TRUE;
}

static GBytes *
piece_bytes (Fixture *fx, guint piece)
{
  return g_bytes_new (fx->stream + (gsize) piece * PIECE,
                      gbt_metainfo_get_piece_size (fx->mi, piece));
}

static void
write_piece_sync (Fixture *fx, guint piece, GBytes *data)
{
  guint before = fx->n_written;

  gbt_disk_io_write_piece (fx->io, piece, data, written_cb, fx);
  gbt_test_wait_until (fx->n_written == before + 1, 10000);
}

static void
verify_sync (Fixture *fx, const GbtBitfield *only)
{
  if (fx->have.bits != NULL)
    gbt_bitfield_clear (&fx->have);
  fx->verify_done = FALSE;
  fx->last_checked = 0;
  fx->n_progress = 0;
  gbt_disk_io_verify (fx->io, only, progress_cb, verify_done_cb, fx);
  gbt_test_wait_until (fx->verify_done, 20000);
}

static void
test_write_piece (Fixture *fx, gconstpointer data)
{
  g_autoptr(GBytes) p4 = piece_bytes (fx, 4);
  g_autoptr(GBytes) bad = NULL;
  g_autofree guint8 *copy = g_memdup2 (fx->stream + PIECE, PIECE);
  g_autoptr(GBytes) c = NULL;
  g_autofree char *pa = g_build_filename (fx->dir, "t", "a", NULL);

  /* piece 1 with one byte flipped: refused, nothing on disk */
  copy[100] ^= 1;
  bad = g_bytes_new (copy, PIECE);
  write_piece_sync (fx, 1, bad);
  g_assert_cmpint (fx->last_result, ==, GBT_PIECE_RESULT_HASH_FAIL);
  g_assert_null (fx->last_error);
  g_assert_false (g_file_test (pa, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), ==, 0);

  /* piece 4 spans b and c */
  write_piece_sync (fx, 4, p4);
  g_assert_cmpint (fx->last_result, ==, GBT_PIECE_RESULT_OK);
  g_assert_no_error (fx->last_error);
  c = test_torrent_read_file (fx->dir, "t/c");
  g_assert_nonnull (c);
  /* c starts at 4 * PIECE + 1000 in the stream */
  g_assert_cmpmem (g_bytes_get_data (c, NULL), g_bytes_get_size (c), fx->stream + 4 * PIECE + 1000,
                   PIECE - 1000);
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), ==, 0);
}

static void
test_pending_bytes (Fixture *fx, gconstpointer data)
{
  guint n = gbt_metainfo_get_n_pieces (fx->mi);

  for (guint round = 0; round < 20; round++)
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(GBytes) b = piece_bytes (fx, i);
        gbt_disk_io_write_piece (fx->io, i, b, written_cb, fx);
      }
  /* counted when queued: one worker hashing and writing cannot keep up
   * with a loop that only queues */
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), >, 0);
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), <=, 20 * fx->len);
  gbt_test_wait_until (fx->n_written == 20 * n, 10000);
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), ==, 0);
  g_assert_cmpint (fx->last_result, ==, GBT_PIECE_RESULT_OK);
  {
    g_autoptr(GBytes) a = test_torrent_read_file (fx->dir, "t/a");
    g_assert_cmpmem (g_bytes_get_data (a, NULL), g_bytes_get_size (a), fx->stream,
                     files[0].length);
  }
}

static void
test_read_block (Fixture *fx, gconstpointer data)
{
  g_autoptr(GBytes) p3 = piece_bytes (fx, 3);
  g_autoptr(GBytes) p4 = piece_bytes (fx, 4);

  write_piece_sync (fx, 3, p3);
  write_piece_sync (fx, 4, p4);

  /* a block crossing from a into b */
  gbt_disk_io_read_block (fx->io, 3, 512, 1024, read_cb, fx);
  gbt_test_wait_until (fx->n_read == 1, 10000);
  g_assert_no_error (fx->last_error);
  g_assert_cmpmem (g_bytes_get_data (fx->read_data, NULL), g_bytes_get_size (fx->read_data),
                   fx->stream + 3 * PIECE + 512, 1024);

  /* the whole of piece 4 */
  gbt_disk_io_read_block (fx->io, 4, 0, PIECE, read_cb, fx);
  gbt_test_wait_until (fx->n_read == 2, 10000);
  g_assert_no_error (fx->last_error);
  g_assert_cmpmem (g_bytes_get_data (fx->read_data, NULL), g_bytes_get_size (fx->read_data),
                   fx->stream + 4 * PIECE, PIECE);

  /* outside the piece */
  gbt_disk_io_read_block (fx->io, 6, PIECE - 100, 200, read_cb, fx);
  gbt_test_wait_until (fx->n_read == 3, 10000);
  g_assert_error (fx->last_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_null (fx->read_data);

  /* not written yet: c holds only what piece 4 put there */
  gbt_disk_io_read_block (fx->io, 6, 0, 100, read_cb, fx);
  gbt_test_wait_until (fx->n_read == 4, 10000);
  g_assert_error (fx->last_error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_TRUNCATED);
}

static void
test_verify (Fixture *fx, gconstpointer data)
{
  guint n = gbt_metainfo_get_n_pieces (fx->mi);
  g_autofree char *pa = g_build_filename (fx->dir, "t", "a", NULL);
  g_autofree char *pc = g_build_filename (fx->dir, "t", "c", NULL);
  g_autoptr(GError) error = NULL;
  char *contents;
  gsize len;
  GbtBitfield only;

  /* nothing on disk: nothing had, no error */
  verify_sync (fx, NULL);
  g_assert_cmpuint (fx->have.n_set, ==, 0);
  g_assert_cmpuint (fx->last_checked, ==, n);
  g_assert_cmpuint (fx->progress_total, ==, n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) b = piece_bytes (fx, i);
      write_piece_sync (fx, i, b);
      g_assert_cmpint (fx->last_result, ==, GBT_PIECE_RESULT_OK);
    }
  g_assert_true (gbt_storage_flush (fx->storage, &error));
  g_assert_no_error (error);
  verify_sync (fx, NULL);
  g_assert_true (gbt_bitfield_is_complete (&fx->have));
  g_assert_cmpuint (fx->last_checked, ==, n);

  /* corrupt piece 1 (in a), delete c (pieces 4-6) */
  g_assert_true (g_file_get_contents (pa, &contents, &len, NULL));
  contents[PIECE + 7] ^= 0x40;
  g_assert_true (g_file_set_contents (pa, contents, len, NULL));
  g_free (contents);
  g_assert_cmpint (g_unlink (pc), ==, 0);
  gbt_storage_close (fx->storage); /* drop cached descriptors of the old files */

  verify_sync (fx, NULL);
  g_assert_cmpuint (fx->have.n_set, ==, 3);
  g_assert_true (gbt_bitfield_get (&fx->have, 0));
  g_assert_false (gbt_bitfield_get (&fx->have, 1));
  g_assert_true (gbt_bitfield_get (&fx->have, 2));
  g_assert_true (gbt_bitfield_get (&fx->have, 3));
  for (guint i = 4; i < n; i++)
    g_assert_false (gbt_bitfield_get (&fx->have, i));

  /* a short c: pieces fully inside what is left are found again */
  g_assert_true (g_file_set_contents (pc, (const char *) fx->stream + 4 * PIECE + 1000,
                                      2 * PIECE, NULL));
  verify_sync (fx, NULL);
  g_assert_cmpuint (fx->have.n_set, ==, 5);
  g_assert_true (gbt_bitfield_get (&fx->have, 4));
  g_assert_true (gbt_bitfield_get (&fx->have, 5));
  g_assert_false (gbt_bitfield_get (&fx->have, 6));

  /* only some pieces */
  gbt_bitfield_init (&only, n);
  gbt_bitfield_set (&only, 0, TRUE);
  gbt_bitfield_set (&only, 1, TRUE);
  gbt_bitfield_set (&only, 6, TRUE);
  verify_sync (fx, &only);
  g_assert_cmpuint (fx->progress_total, ==, 3);
  g_assert_cmpuint (fx->last_checked, ==, 3);
  g_assert_cmpuint (fx->have.n_set, ==, 1);
  g_assert_true (gbt_bitfield_get (&fx->have, 0));
  gbt_bitfield_clear (&only);
}

static void
verify_error_cb (const GbtBitfield *have, const GError *error, gpointer user_data)
{
  Fixture *fx = user_data;

  assert_on_context (fx);
  g_assert_null (have);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  fx->verify_done = TRUE;
}

static void
test_verify_error (Fixture *fx, gconstpointer data)
{
  g_autofree char *pb = g_build_filename (fx->dir, "t", "b", NULL);
  g_autoptr(GError) error = NULL;

  /* root reads whatever the mode says */
  if (geteuid () == 0)
    {
      g_test_skip ("needs to run as a normal user");
      return;
    }
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  gbt_storage_close (fx->storage);
  g_assert_cmpint (g_chmod (pb, 0), ==, 0);
  /* unreadable is a real error, not a missing piece */
  gbt_disk_io_verify (fx->io, NULL, progress_cb, verify_error_cb, fx);
  gbt_test_wait_until (fx->verify_done, 20000);
  g_assert_cmpint (g_chmod (pb, 0600), ==, 0);
}

static void
test_shutdown (Fixture *fx, gconstpointer data)
{
  guint n = gbt_metainfo_get_n_pieces (fx->mi);

  /* the context is not iterated: every result is still pending, some jobs
   * are queued behind the single worker */
  for (guint round = 0; round < 20; round++)
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(GBytes) b = piece_bytes (fx, i);
        gbt_disk_io_write_piece (fx->io, i, b, written_cb, fx);
        gbt_disk_io_read_block (fx->io, i, 0, 10, read_cb, fx);
      }
  gbt_disk_io_verify (fx->io, NULL, progress_cb, verify_done_cb, fx);
  gbt_disk_io_shutdown (fx->io);
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), ==, 0);

  /* calls after shutdown are dropped too */
  {
    g_autoptr(GBytes) b = piece_bytes (fx, 0);
    gbt_disk_io_write_piece (fx->io, 0, b, written_cb, fx);
  }
  gbt_disk_io_read_block (fx->io, 0, 0, 10, read_cb, fx);
  g_assert_cmpuint (gbt_disk_io_get_pending_bytes (fx->io), ==, 0);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (fx->n_written, ==, 0);
  g_assert_cmpuint (fx->n_read, ==, 0);
  g_assert_cmpuint (fx->n_progress, ==, 0);
  g_assert_false (fx->verify_done);
}

static gboolean
run_in_thread_done (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
test_other_context (Fixture *fx, gconstpointer data)
{
  GMainContext *ctx = g_main_context_new ();
  g_autoptr(GBytes) p0 = piece_bytes (fx, 0);
  GbtDiskIo *io;
  guint n_default = 0;

  /* a second disk-io created while @ctx is thread-default */
  g_main_context_push_thread_default (ctx);
  io = gbt_disk_io_new (fx->mi, fx->storage, 2);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (fx->context);
  fx->context = g_main_context_ref (ctx);

  gbt_disk_io_write_piece (io, 0, p0, written_cb, fx);
  gbt_disk_io_verify (io, NULL, progress_cb, verify_done_cb, fx);

  /* the default context never sees them */
  while (fx->n_written == 0 && gbt_disk_io_get_pending_bytes (io) > 0)
    g_thread_yield ();
  while (g_main_context_iteration (NULL, FALSE))
    n_default++;
  g_assert_cmpuint (fx->n_written, ==, 0);
  g_assert_false (fx->verify_done);

  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    g_main_context_push_thread_default (ctx);
    while ((fx->n_written == 0 || !fx->verify_done) && g_get_monotonic_time () < deadline)
      {
        /* wake up at least every 100 ms to check the deadline */
        GSource *t = g_timeout_source_new (100);
        g_source_set_callback (t, run_in_thread_done, NULL, NULL);
        g_source_attach (t, ctx);
        g_main_context_iteration (ctx, TRUE);
        g_source_destroy (t);
        g_source_unref (t);
      }
    g_main_context_pop_thread_default (ctx);
  }
  g_assert_cmpuint (fx->n_written, ==, 1);
  g_assert_cmpint (fx->last_result, ==, GBT_PIECE_RESULT_OK);
  g_assert_true (fx->verify_done);

  gbt_disk_io_free (io);
  g_main_context_unref (ctx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, threads, fn)                                                               \
  g_test_add (path, Fixture, GUINT_TO_POINTER (threads), fixture_setup, fn, fixture_teardown)
  ADD ("/disk-io/write-piece", 0, test_write_piece);
  ADD ("/disk-io/pending-bytes", 1, test_pending_bytes);
  ADD ("/disk-io/read-block", 2, test_read_block);
  ADD ("/disk-io/verify", 0, test_verify);
  ADD ("/disk-io/verify-one-thread", 1, test_verify);
  ADD ("/disk-io/verify-many-threads", 5, test_verify);
  ADD ("/disk-io/verify-error", 2, test_verify_error);
  ADD ("/disk-io/shutdown", 1, test_shutdown);
  ADD ("/disk-io/other-context", 2, test_other_context);
#undef ADD
  return g_test_run ();
}
