/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent's files: the GbtFile model, bytes had per file after a
 * download and after a restart, file priorities changed while downloading
 * (a gbt session seeds to another over loopback TCP), the have bitfield.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <gbt/gbt.h>

#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"
#include "test-torrent.h"
#include "test-utils.h"

#define PIECE (32 * 1024)

static gboolean
file_matches (const char *dir, GbtMetainfo *mi, const guint8 *stream, guint i)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
  g_autoptr(GBytes) got = test_torrent_read_file (dir, f->path);

  return got && g_bytes_get_size (got) == f->length
         && memcmp (g_bytes_get_data (got, NULL), stream + f->offset, f->length) == 0;
}

static gboolean
file_exists (const char *dir, GbtMetainfo *mi, guint i)
{
  g_autofree char *p = g_build_filename (dir, gbt_metainfo_get_file (mi, i)->path, NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

static void
count_cb (GbtTorrent *t, gpointer data)
{
  (*(guint *) data)++;
}

static void
verified_cb (GbtTorrent *t, guint piece, gpointer data)
{
  (*(guint *) data)++;
}

static GbtFile *
file_at (GbtTorrent *t, guint i)
{
  GbtFile *f = g_list_model_get_item (gbt_torrent_get_files (t), i);
  g_assert_nonnull (f);
  g_object_unref (f); /* the model keeps it */
  return f;
}

/* every file's bytes-have equals its size */
static gboolean
all_files_complete (GbtTorrent *t)
{
  GListModel *m = gbt_torrent_get_files (t);

  for (guint i = 0; i < g_list_model_get_n_items (m); i++)
    {
      GbtFile *f = file_at (t, i);
      if (gbt_file_get_bytes_have (f) != gbt_file_get_size (f))
        return FALSE;
    }
  return TRUE;
}

/* ---- the model ---- */

static void
test_model_single (void)
{
  TestFile one[] = { { NULL, 100000, FALSE } };
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (one, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("single.bin", NULL, 1, PIECE, stream, len);
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autoptr(GbtSession) s = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = gbt_session_add_torrent (s, mi, dir, &error);
  g_autoptr(GBytes) have = NULL;
  GbtFile *f;
  g_autofree char *path = NULL;
  GbtFilePriority prio;

  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_files (t)), ==, 1);
  g_assert_true (g_list_model_get_item_type (gbt_torrent_get_files (t)) == GBT_TYPE_FILE);
  f = file_at (t, 0);
  g_assert_cmpuint (gbt_file_get_index (f), ==, 0);
  g_assert_cmpstr (gbt_file_get_path (f), ==, "single.bin");
  g_assert_cmpuint (gbt_file_get_size (f), ==, 100000);
  g_assert_cmpuint (gbt_file_get_offset (f), ==, 0);
  g_assert_cmpuint (gbt_file_get_bytes_have (f), ==, 0);
  g_assert_cmpfloat (gbt_file_get_progress (f), ==, 0.0);
  g_assert_cmpint (gbt_file_get_priority (f), ==, GBT_FILE_PRIORITY_NORMAL);
  g_assert_true (gbt_file_get_torrent (f) == t);
  g_object_get (f, "path", &path, "priority", &prio, NULL);
  g_assert_cmpstr (path, ==, "single.bin");
  g_assert_cmpint (prio, ==, GBT_FILE_PRIORITY_NORMAL);

  /* 4 pieces: one byte, all zero */
  have = gbt_torrent_dup_have (t);
  g_assert_nonnull (have);
  g_assert_cmpuint (g_bytes_get_size (have), ==, 1);
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (have, NULL))[0], ==, 0);

  /* a stopped torrent takes priorities too, through the property */
  g_object_set (f, "priority", GBT_FILE_PRIORITY_SKIP, NULL);
  g_assert_cmpint (gbt_torrent_get_file_priority (t, 0), ==, GBT_FILE_PRIORITY_SKIP);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, 0);
  gbt_file_set_priority (f, GBT_FILE_PRIORITY_HIGH);
  g_assert_cmpint (gbt_file_get_priority (f), ==, GBT_FILE_PRIORITY_HIGH);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, 100000);

  /* the file outlives its torrent without pointing at it */
  g_object_ref (f);
  gbt_session_remove_torrent (s, t);
  g_clear_object (&t);
  g_assert_null (gbt_file_get_torrent (f));
  gbt_file_set_priority (f, GBT_FILE_PRIORITY_LOW); /* nothing to do */
  g_object_unref (f);
  gbt_test_rmtree (dir);
}

static void
test_model_multi (void)
{
  TestFile files[] = {
    { "a/one.bin", 40000, FALSE },
    { "empty", 0, FALSE },
    { "b/two.bin", 70001, FALSE },
    { "three.bin", 5, FALSE },
  };
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (files, G_N_ELEMENTS (files), &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", files, G_N_ELEMENTS (files), PIECE,
                                                stream, len);
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autoptr(GbtSession) s = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = gbt_session_add_torrent (s, mi, dir, &error);
  GListModel *m;
  const char *paths[] = { "payload/a/one.bin", "payload/empty", "payload/b/two.bin",
                          "payload/three.bin" };
  guint64 offset = 0;

  g_assert_no_error (error);
  m = gbt_torrent_get_files (t);
  g_assert_cmpuint (g_list_model_get_n_items (m), ==, G_N_ELEMENTS (files));
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      GbtFile *f = file_at (t, i);

      g_assert_cmpuint (gbt_file_get_index (f), ==, i);
      g_assert_cmpstr (gbt_file_get_path (f), ==, paths[i]);
      g_assert_cmpuint (gbt_file_get_size (f), ==, files[i].length);
      g_assert_cmpuint (gbt_file_get_offset (f), ==, offset);
      offset += files[i].length;
    }
  /* an empty file is complete */
  g_assert_cmpfloat (gbt_file_get_progress (file_at (t, 1)), ==, 1.0);

  /* a piece shared by two files takes the higher priority: skipping one.bin
   * leaves its last piece wanted for two.bin */
  gbt_torrent_set_file_priority (t, 0, GBT_FILE_PRIORITY_SKIP);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, len - PIECE);
  gbt_torrent_set_file_priority (t, 2, GBT_FILE_PRIORITY_SKIP);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, len - 3 * PIECE);
  {
    gboolean wanted[] = { TRUE, TRUE, TRUE, TRUE };
    gbt_torrent_set_files_wanted (t, wanted, G_N_ELEMENTS (wanted));
  }
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, len);
  g_assert_cmpint (gbt_file_get_priority (file_at (t, 2)), ==, GBT_FILE_PRIORITY_NORMAL);

  /* one file at a time (only its pieces recomputed) agrees with the whole
   * recomputation; a shared piece takes the highest of its files */
  {
    GbtFilePriority seq[] = { GBT_FILE_PRIORITY_HIGH, GBT_FILE_PRIORITY_SKIP,
                              GBT_FILE_PRIORITY_LOW, GBT_FILE_PRIORITY_NORMAL };
    guint n = gbt_metainfo_get_n_pieces (mi);
    g_autofree guint *prio = g_new (guint, n);
    guint64 wanted;

    for (guint round = 0; round < 8; round++)
      {
        gbt_torrent_set_file_priority (t, round % 4, seq[(round * 3) % 4]);
        wanted = gbt_torrent_get_bytes_wanted (t);
        for (guint k = 0; k < n; k++)
          prio[k] = gbt_picker_get_priority (t->picker, k);
        gbt_torrent_files_apply_want (t);
        g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, wanted);
        for (guint k = 0; k < n; k++)
          g_assert_cmpuint (gbt_picker_get_priority (t->picker, k), ==, prio[k]);
      }
    gbt_torrent_set_file_priority (t, 0, GBT_FILE_PRIORITY_LOW);
    gbt_torrent_set_file_priority (t, 2, GBT_FILE_PRIORITY_HIGH);
    /* piece 1 holds one.bin's end and two.bin's start */
    g_assert_cmpuint (gbt_picker_get_priority (t->picker, 0), ==, GBT_FILE_PRIORITY_LOW);
    g_assert_cmpuint (gbt_picker_get_priority (t->picker, 1), ==, GBT_FILE_PRIORITY_HIGH);
  }
  gbt_test_rmtree (dir);
}

/* ---- a real download ---- */

typedef struct {
  char *seed_dir, *leech_dir;
  gsize len;
  guint8 *stream;
  GbtMetainfo *mi;
  GbtSession *seeder, *leecher;
  GbtTorrent *st, *lt;
  guint finished;
} Swarm;

static void
swarm_setup (Swarm *sw, const TestFile *files, guint n_files, guint64 seed_rate)
{
  g_autoptr(GError) error = NULL;

  memset (sw, 0, sizeof *sw);
  sw->seed_dir = gbt_test_mkdtemp ();
  sw->leech_dir = gbt_test_mkdtemp ();
  sw->stream = test_torrent_make_stream (files, n_files, &sw->len);
  sw->mi = test_torrent_new ("payload", files, n_files, PIECE, sw->stream, sw->len);
  sw->seeder = test_session_start ("127.0.0.1");
  sw->leecher = test_session_start ("127.0.0.2");
  if (seed_rate)
    gbt_session_set_rate_limits (sw->seeder, seed_rate, 0);
  test_torrent_write_tree (sw->seed_dir, sw->mi, sw->stream);
  sw->st = gbt_session_add_torrent (sw->seeder, sw->mi, sw->seed_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (sw->st);
  gbt_test_wait_until (gbt_torrent_get_state (sw->st) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (sw->st), ==, GBT_TORRENT_STATE_SEEDING);
  sw->lt = gbt_session_add_torrent (sw->leecher, sw->mi, sw->leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (sw->lt, "finished", G_CALLBACK (count_cb), &sw->finished);
}

static void
swarm_connect (Swarm *sw)
{
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");

  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (sw->seeder)));
  gbt_torrent_add_peers (sw->lt, addrs, "test");
}

static void
swarm_teardown (Swarm *sw)
{
  if (sw->lt)
    test_torrent_stop (sw->lt);
  test_torrent_stop (sw->st);
  g_clear_object (&sw->lt);
  g_clear_object (&sw->st);
  g_clear_object (&sw->leecher);
  g_clear_object (&sw->seeder);
  gbt_test_rmtree (sw->seed_dir);
  gbt_test_rmtree (sw->leech_dir);
  g_free (sw->seed_dir);
  g_free (sw->leech_dir);
  g_free (sw->stream);
  gbt_metainfo_unref (sw->mi);
}

static const TestFile swarm_files[] = {
  { "a/one.bin", 100000, FALSE },
  { "b/two.bin", 1000001, FALSE },
  { "c/three.bin", 50000, FALSE },
  { "d/four.bin", 200000, FALSE },
};

/* bytes-have per file after a download, and after a restart from the
 * resume data: piece-verified for every piece found, the files complete at
 * once */
static void
test_download_and_resume (void)
{
  Swarm sw;
  guint n;
  guint verified = 0;
  g_autoptr(GBytes) have = NULL;

  swarm_setup (&sw, swarm_files, G_N_ELEMENTS (swarm_files), 0);
  n = gbt_metainfo_get_n_pieces (sw.mi);
  gbt_torrent_start (sw.lt);
  gbt_test_wait_until (gbt_torrent_get_state (sw.lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  swarm_connect (&sw);
  gbt_test_wait_until (sw.finished == 1, 60000);
  g_assert_cmpuint (sw.finished, ==, 1);
  /* the finish moves the state: the files are flushed with it */
  g_assert_true (all_files_complete (sw.lt));
  for (guint i = 0; i < G_N_ELEMENTS (swarm_files); i++)
    g_assert_cmpfloat (gbt_file_get_progress (file_at (sw.lt, i)), ==, 1.0);
  have = gbt_torrent_dup_have (sw.lt);
  g_assert_cmpuint (g_bytes_get_size (have), ==, (n + 7) / 8);
  for (guint k = 0; k < n; k++)
    g_assert_true (((const guint8 *) g_bytes_get_data (have, NULL))[k / 8] & (0x80 >> (k % 8)));
  /* spare bits zero */
  if (n % 8)
    g_assert_cmpuint (((const guint8 *) g_bytes_get_data (have, NULL))[n / 8]
                          & (0xff >> (n % 8)), ==, 0);
  test_torrent_stop (sw.lt);
  g_clear_object (&sw.lt);

  /* a new session over the same directory: resume data vouches for every
   * piece; each one is announced, and the files are complete when it seeds */
  {
    g_autoptr(GbtSession) again = test_session_start ("127.0.0.3");
    g_autoptr(GError) error = NULL;
    g_autoptr(GbtTorrent) t = gbt_session_add_torrent (again, sw.mi, sw.leech_dir, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (gbt_file_get_bytes_have (file_at (t, 1)), ==, 0);
    g_signal_connect (t, "piece-verified", G_CALLBACK (verified_cb), &verified);
    gbt_torrent_start (t);
    gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
    g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_SEEDING);
    g_assert_cmpuint (gbt_torrent_get_n_checked (t), ==, 0);
    g_assert_cmpuint (verified, ==, n);
    g_assert_true (all_files_complete (t));
    test_torrent_stop (t);
  }

  /* without resume data: hashed, and announced the same */
  {
    g_autofree char *resume = gbt_resume_path_for (sw.leech_dir, gbt_metainfo_get_info_hash (sw.mi));
    g_autoptr(GbtSession) again = test_session_start ("127.0.0.3");
    g_autoptr(GError) error = NULL;
    g_autoptr(GbtTorrent) t = NULL;

    g_assert_cmpint (g_unlink (resume), ==, 0);
    t = gbt_session_add_torrent (again, sw.mi, sw.leech_dir, &error);
    g_assert_no_error (error);
    verified = 0;
    g_signal_connect (t, "piece-verified", G_CALLBACK (verified_cb), &verified);
    gbt_torrent_start (t);
    gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
    g_assert_cmpuint (gbt_torrent_get_n_checked (t), ==, n);
    g_assert_cmpuint (verified, ==, n);
    g_assert_true (all_files_complete (t));
    test_torrent_stop (t);
  }
  swarm_teardown (&sw);
}

/* the requests the leecher awaits for pieces that lie in file @i alone */
static guint
requests_inside (Swarm *sw, guint i)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (sw->mi, i);
  g_autoptr(GPtrArray) peers = gbt_swarm_dup_peers (sw->lt->swarm);
  guint n = 0;

  for (guint k = 0; k < peers->len; k++)
    {
      GArray *reqs = gbt_swarm_get_requests (sw->lt->swarm, g_ptr_array_index (peers, k));
      for (guint r = 0; reqs && r < reqs->len; r++)
        {
          const GbtBlock *b = &g_array_index (reqs, GbtBlock, r);
          guint64 start = (guint64) b->piece * PIECE;
          if (start >= f->offset && start + PIECE <= f->offset + f->length)
            n++;
        }
    }
  return n;
}

/* pieces of file @i alone half gathered in memory */
static guint
gathering_inside (Swarm *sw, guint i)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (sw->mi, i);
  g_autoptr(GArray) pieces = gbt_assembler_dup_pieces (sw->lt->assembler);
  guint n = 0;

  for (guint k = 0; k < pieces->len; k++)
    {
      guint64 start = (guint64) g_array_index (pieces, guint, k) * PIECE;
      if (start >= f->offset && start + PIECE <= f->offset + f->length)
        n++;
    }
  return n;
}

static gboolean
downloading_some (Swarm *sw)
{
  return gbt_torrent_get_n_pieces_have (sw->lt) >= 4 && requests_inside (sw, 1) > 0;
}

/* two.bin skipped mid-download: its pieces stop being requested at once,
 * the rest completes (finished) without it; wanted again, it completes
 * (finished again) */
static void
test_skip_mid_download (void)
{
  Swarm sw;
  GbtFile *two;
  guint64 two_have;

  /* ~1.3 MiB at 400 KiB/s: a few seconds to act in */
  swarm_setup (&sw, swarm_files, G_N_ELEMENTS (swarm_files), 400 * 1024);
  two = file_at (sw.lt, 1);
  gbt_torrent_start (sw.lt);
  gbt_test_wait_until (gbt_torrent_get_state (sw.lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  swarm_connect (&sw);
  gbt_test_wait_until (downloading_some (&sw), 20000);
  g_assert_true (downloading_some (&sw));
  g_assert_cmpuint (sw.finished, ==, 0);

  gbt_file_set_priority (two, GBT_FILE_PRIORITY_SKIP);
  g_assert_cmpuint (requests_inside (&sw, 1), ==, 0);
  g_assert_cmpuint (gathering_inside (&sw, 1), ==, 0);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (sw.lt), <, sw.len - 900000);

  gbt_test_wait_until (sw.finished == 1, 60000);
  g_assert_cmpuint (sw.finished, ==, 1);
  g_assert_cmpint (gbt_torrent_get_state (sw.lt), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (requests_inside (&sw, 1), ==, 0);
  two_have = gbt_file_get_bytes_have (two);
  g_assert_cmpuint (two_have, <, gbt_file_get_size (two));
  g_assert_cmpfloat (gbt_file_get_progress (two), <, 1.0);
  for (guint i = 0; i < G_N_ELEMENTS (swarm_files); i++)
    if (i != 1)
      {
        g_assert_cmpfloat (gbt_file_get_progress (file_at (sw.lt, i)), ==, 1.0);
        g_assert_true (file_matches (sw.leech_dir, sw.mi, sw.stream, i));
      }
  g_assert_false (file_matches (sw.leech_dir, sw.mi, sw.stream, 1));

  /* wanted again: downloading, then finished a second time, all there */
  gbt_file_set_priority (two, GBT_FILE_PRIORITY_HIGH);
  gbt_test_wait_until (sw.finished == 2, 60000);
  g_assert_cmpuint (sw.finished, ==, 2);
  g_assert_cmpint (gbt_torrent_get_state (sw.lt), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_file_get_bytes_have (two), ==, gbt_file_get_size (two));
  g_assert_cmpuint (gbt_torrent_get_bytes_have (sw.lt), ==, sw.len);
  for (guint i = 0; i < G_N_ELEMENTS (swarm_files); i++)
    g_assert_true (file_matches (sw.leech_dir, sw.mi, sw.stream, i));
  swarm_teardown (&sw);
}

/* files skipped from the start are never created (their share of shared
 * pieces goes to the parts file); wanted while seeding, they are created
 * with that share and the rest is downloaded */
static void
test_files_wanted_running (void)
{
  Swarm sw;
  gboolean some[] = { TRUE, FALSE, TRUE, FALSE };
  gboolean all[] = { TRUE, TRUE, TRUE, TRUE };
  gint64 deadline;

  swarm_setup (&sw, swarm_files, G_N_ELEMENTS (swarm_files), 0);
  gbt_torrent_set_files_wanted (sw.lt, some, G_N_ELEMENTS (some));
  gbt_torrent_start (sw.lt);
  gbt_test_wait_until (gbt_torrent_get_state (sw.lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  swarm_connect (&sw);
  gbt_test_wait_until (sw.finished == 1, 60000);
  g_assert_cmpuint (sw.finished, ==, 1);
  g_assert_false (file_exists (sw.leech_dir, sw.mi, 1));
  g_assert_false (file_exists (sw.leech_dir, sw.mi, 3));
  g_assert_true (file_matches (sw.leech_dir, sw.mi, sw.stream, 0));
  g_assert_true (file_matches (sw.leech_dir, sw.mi, sw.stream, 2));
  /* two.bin's first piece is shared with one.bin: had, and counted */
  g_assert_cmpuint (gbt_file_get_bytes_have (file_at (sw.lt, 1)), >, 0);
  g_assert_cmpuint (gbt_file_get_bytes_have (file_at (sw.lt, 1)), <, 1000001);
  g_assert_cmpint (gbt_torrent_get_file_priority (sw.lt, 1), ==, GBT_FILE_PRIORITY_SKIP);

  /* while seeding, without a critical */
  gbt_torrent_set_files_wanted (sw.lt, all, G_N_ELEMENTS (all));
  g_assert_cmpint (gbt_torrent_get_file_priority (sw.lt, 1), ==, GBT_FILE_PRIORITY_NORMAL);
  gbt_test_wait_until (sw.finished == 2, 60000);
  g_assert_cmpuint (sw.finished, ==, 2);
  g_assert_cmpuint (gbt_torrent_get_bytes_have (sw.lt), ==, sw.len);
  for (guint i = 0; i < G_N_ELEMENTS (swarm_files); i++)
    g_assert_true (file_matches (sw.leech_dir, sw.mi, sw.stream, i));
  /* the tick brings the files' counters (at most a second or two) */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!all_files_complete (sw.lt) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (all_files_complete (sw.lt));
  swarm_teardown (&sw);
}

/* priorities set while the start-up check runs take effect once it is
 * over; a stop and a start of the same torrent keep them */
static void
test_priority_while_checking (void)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (swarm_files, G_N_ELEMENTS (swarm_files),
                                                        &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", swarm_files,
                                                G_N_ELEMENTS (swarm_files), PIECE, stream, len);
  g_autoptr(GbtSession) s = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = NULL;
  guint finished = 0;
  guint64 wanted;

  test_torrent_write_tree (dir, mi, stream);
  t = gbt_session_add_torrent (s, mi, dir, &error);
  g_assert_no_error (error);
  g_signal_connect (t, "finished", G_CALLBACK (count_cb), &finished);
  gbt_torrent_start (t);
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_CHECKING);
  gbt_torrent_set_file_priority (t, 1, GBT_FILE_PRIORITY_SKIP);
  wanted = gbt_torrent_get_bytes_wanted (t);
  g_assert_cmpuint (wanted, <, len - 900000);
  gbt_test_wait_until (finished == 1, 20000);
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_bytes_have (t), ==, wanted);
  /* the data is all there: every file is complete, skipped or not */
  g_assert_true (all_files_complete (t));

  test_torrent_stop (t);
  gbt_torrent_start (t);
  gbt_test_wait_until (finished == 2, 20000);
  g_assert_cmpuint (finished, ==, 2);
  g_assert_cmpint (gbt_torrent_get_file_priority (t, 1), ==, GBT_FILE_PRIORITY_SKIP);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, wanted);
  g_assert_true (all_files_complete (t));
  /* wanted again while seeding: its pieces are had, so still seeding */
  gbt_torrent_set_file_priority (t, 1, GBT_FILE_PRIORITY_NORMAL);
  gbt_test_wait_until (gbt_torrent_get_bytes_wanted (t) == len, 10000);
  g_assert_cmpuint (gbt_torrent_get_bytes_wanted (t), ==, len);
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (finished, ==, 2);
  test_torrent_stop (t);
  gbt_test_rmtree (dir);
}

/* a magnet's files model fills when the metadata arrives */
static void
items_changed_cb (GListModel *m, guint pos, guint removed, guint added, gpointer data)
{
  *(guint *) data += added;
}

static void
test_magnet_model (void)
{
  Swarm sw;
  g_autoptr(GbtMagnet) magnet = NULL;
  g_autofree char *uri = NULL;
  char hex[41];
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtSession) third = test_session_start ("127.0.0.4");
  g_autoptr(GbtTorrent) t = NULL;
  g_autofree char *dir = gbt_test_mkdtemp ();
  guint added = 0;

  swarm_setup (&sw, swarm_files, G_N_ELEMENTS (swarm_files), 0);
  for (guint i = 0; i < 20; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", gbt_metainfo_get_info_hash (sw.mi)[i]);
  uri = g_strdup_printf ("magnet:?xt=urn:btih:%s", hex);
  magnet = gbt_magnet_parse (uri, &error);
  g_assert_no_error (error);
  t = gbt_session_add_magnet (third, magnet, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_files (t)), ==, 0);
  g_assert_null (gbt_torrent_dup_have (t));
  g_signal_connect (gbt_torrent_get_files (t), "items-changed", G_CALLBACK (items_changed_cb),
                    &added);
  gbt_torrent_start (t);
  {
    g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
    g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
    g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (sw.seeder)));
    gbt_torrent_add_peers (t, addrs, "test");
  }
  gbt_test_wait_until (added > 0, 20000);
  g_assert_cmpuint (added, ==, G_N_ELEMENTS (swarm_files));
  g_assert_cmpstr (gbt_file_get_path (file_at (t, 3)), ==, "payload/d/four.bin");
  test_torrent_stop (t);
  g_clear_object (&sw.lt); /* never started */
  swarm_teardown (&sw);
  gbt_test_rmtree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/torrent-files/model-single", test_model_single);
  g_test_add_func ("/torrent-files/model-multi", test_model_multi);
  g_test_add_func ("/torrent-files/download-and-resume", test_download_and_resume);
  g_test_add_func ("/torrent-files/skip-mid-download", test_skip_mid_download);
  g_test_add_func ("/torrent-files/files-wanted-running", test_files_wanted_running);
  g_test_add_func ("/torrent-files/priority-while-checking", test_priority_while_checking);
  g_test_add_func ("/torrent-files/magnet-model", test_magnet_model);
  return g_test_run ();
}
