/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What Transmission's RPC asks of a torrent: verify (a damaged piece found
 * and downloaded again from a loopback seeder, a stopped torrent checked
 * and its resume data saved), set-location (moved by rename and by copy,
 * a failed move that leaves everything where it was, a location without
 * moving), rename-path (a file, the top, errors, kept across a restart
 * through the session's state, removal with the data).
 */
#include <string.h>

#include <glib/gstdio.h>
#include <gbt/gbt.h>

#include "gbt-resume.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"
#include "test-torrent.h"
#include "test-utils.h"

#define PIECE (32 * 1024)

static const TestFile files[] = {
  { "a/one.bin", 100000, FALSE },
  { "b/two.bin", 300001, FALSE },
  { "c/three.bin", 50000, FALSE },
};

typedef struct {
  char *dir, *dir2;
  gsize len;
  guint8 *stream;
  GbtMetainfo *mi;
  GbtSession *s;
  GbtTorrent *t;
} Fx;

static void
fx_setup (Fx *fx, gboolean write)
{
  g_autoptr(GError) error = NULL;

  memset (fx, 0, sizeof *fx);
  fx->dir = gbt_test_mkdtemp ();
  fx->dir2 = gbt_test_mkdtemp ();
  fx->stream = test_torrent_make_stream (files, G_N_ELEMENTS (files), &fx->len);
  fx->mi = test_torrent_new ("payload", files, G_N_ELEMENTS (files), PIECE, fx->stream, fx->len);
  if (write)
    test_torrent_write_tree (fx->dir, fx->mi, fx->stream);
  fx->s = test_session_start ("127.0.0.1");
  fx->t = gbt_session_add_torrent (fx->s, fx->mi, fx->dir, &error);
  g_assert_no_error (error);
}

static void
fx_teardown (Fx *fx)
{
  if (fx->t)
    test_torrent_stop (fx->t);
  g_clear_object (&fx->t);
  g_clear_object (&fx->s);
  gbt_test_rmtree (fx->dir);
  gbt_test_rmtree (fx->dir2);
  g_free (fx->dir);
  g_free (fx->dir2);
  g_free (fx->stream);
  gbt_metainfo_unref (fx->mi);
}

static void
start_and_seed (GbtTorrent *t)
{
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_SEEDING);
}

/* overwrites @n bytes at stream offset @offset of @dir's tree with @bytes */
static void
patch (const char *dir, const char *relpath, goffset at, const guint8 *bytes, gsize n)
{
  g_autofree char *path = g_build_filename (dir, relpath, NULL);
  FILE *f = fopen (path, "r+b");

  g_assert_nonnull (f);
  g_assert_cmpint (fseeko (f, at, SEEK_SET), ==, 0);
  g_assert_cmpuint (fwrite (bytes, 1, n, f), ==, n);
  g_assert_cmpint (fclose (f), ==, 0);
}

static gboolean
exists (const char *dir, const char *rel)
{
  g_autofree char *p = g_build_filename (dir, rel, NULL);
  return g_file_test (p, G_FILE_TEST_EXISTS);
}

/* @dir/@rel holds stream bytes [@offset, +@len) */
static gboolean
holds (const char *dir, const char *rel, const guint8 *stream, guint64 offset, guint64 len)
{
  g_autoptr(GBytes) got = test_torrent_read_file (dir, rel);
  return got && g_bytes_get_size (got) == len
         && memcmp (g_bytes_get_data (got, NULL), stream + offset, len) == 0;
}

typedef struct {
  GArray *states;
  guint have_after_check; /* pieces had when CHECKING ended */
  gboolean bad_progress;
} Watch;

static void
state_cb (GObject *obj, GParamSpec *pspec, gpointer data)
{
  Watch *w = data;
  GbtTorrent *t = GBT_TORRENT (obj);
  GbtTorrentState st = gbt_torrent_get_state (t);

  if (w->states->len > 0
      && g_array_index (w->states, GbtTorrentState, w->states->len - 1)
             == GBT_TORRENT_STATE_CHECKING)
    w->have_after_check = gbt_torrent_get_n_pieces_have (t);
  if (st != GBT_TORRENT_STATE_CHECKING && gbt_torrent_get_check_progress (t) != 0)
    w->bad_progress = TRUE;
  g_array_append_val (w->states, st);
}

static gboolean
saw (Watch *w, GbtTorrentState st)
{
  for (guint i = 0; i < w->states->len; i++)
    if (g_array_index (w->states, GbtTorrentState, i) == st)
      return TRUE;
  return FALSE;
}

/* ---- verify ---- */

/* for a wait's condition: the check's progress is 0..1 while CHECKING, 0
 * otherwise, and never goes back within one check */
static gboolean
progress_sane (GbtTorrent *t, double *last, gboolean *bad)
{
  double p = gbt_torrent_get_check_progress (t);

  if (p < 0 || p > 1 || (gbt_torrent_get_state (t) != GBT_TORRENT_STATE_CHECKING && p != 0)
      || (p != 0 && p < *last))
    *bad = TRUE;
  *last = p;
  return TRUE;
}

static void
count_cb (GbtTorrent *t, gpointer data)
{
  (*(guint *) data)++;
}

/* a seeding torrent one of whose pieces is damaged on disk: the verify
 * finds it, the piece comes again from a loopback seeder, the file is whole */
static void
test_verify_running (void)
{
  Fx fx;
  g_autoptr(GbtSession) seeder = test_session_start ("127.0.0.2");
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.2");
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  Watch w = { g_array_new (FALSE, FALSE, sizeof (GbtTorrentState)), 0, FALSE };
  guint n, finished = 0;
  guint8 junk[100];

  fx_setup (&fx, TRUE);
  n = gbt_metainfo_get_n_pieces (fx.mi);
  test_torrent_write_tree (seed_dir, fx.mi, fx.stream);
  st = gbt_session_add_torrent (seeder, fx.mi, seed_dir, &error);
  g_assert_no_error (error);
  start_and_seed (st);
  start_and_seed (fx.t);
  g_assert_cmpfloat (gbt_torrent_get_check_progress (fx.t), ==, 0);

  /* piece 4 lies in b/two.bin (offset 100000): bytes at stream 4 * PIECE */
  memset (junk, 0x5a, sizeof junk);
  patch (fx.dir, "payload/b/two.bin", 4 * PIECE - 100000 + 10, junk, sizeof junk);
  g_signal_connect (fx.t, "notify::state", G_CALLBACK (state_cb), &w);
  g_signal_connect (fx.t, "finished", G_CALLBACK (count_cb), &finished);
  gbt_torrent_verify (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_true (saw (&w, GBT_TORRENT_STATE_CHECKING));
  /* the stop before the check is not notified */
  g_assert_false (saw (&w, GBT_TORRENT_STATE_STOPPED));
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_DOWNLOADING);
  /* exactly the damaged piece is missing */
  g_assert_cmpuint (w.have_after_check, ==, n - 1);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, n);
  g_assert_false (w.bad_progress);
  {
    g_autoptr(GBytes) have = gbt_torrent_dup_have (fx.t);
    const guint8 *bits = g_bytes_get_data (have, NULL);
    for (guint k = 0; k < n; k++)
      g_assert_cmpint (!!(bits[k / 8] & (0x80 >> (k % 8))), ==, k != 4);
  }

  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (fx.t, addrs, "test");
  gbt_test_wait_until (finished == 1, 30000);
  g_assert_cmpuint (finished, ==, 1);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_true (test_torrent_tree_equal (fx.dir, fx.mi, fx.stream));
  g_signal_handlers_disconnect_by_data (fx.t, &w);
  g_signal_handlers_disconnect_by_data (fx.t, &finished);
  g_array_unref (w.states);
  test_torrent_stop (st);
  gbt_test_rmtree (seed_dir);
  fx_teardown (&fx);
}

/* a stopped torrent: checked, stopped again, its resume data says what
 * was found; a piece repaired on disk counts at the next verify */
static void
test_verify_stopped (void)
{
  Fx fx;
  Watch w = { g_array_new (FALSE, FALSE, sizeof (GbtTorrentState)), 0, FALSE };
  g_autoptr(GbtResumeData) rd = NULL;
  g_autoptr(GError) error = NULL;
  guint n;
  guint8 junk[10];
  double last = 0;
  gboolean bad = FALSE;

  fx_setup (&fx, TRUE);
  n = gbt_metainfo_get_n_pieces (fx.mi);
  start_and_seed (fx.t);
  test_torrent_stop (fx.t);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);

  /* pieces 0 and 1 (a/one.bin) damaged */
  memset (junk, 0xa5, sizeof junk);
  patch (fx.dir, "payload/a/one.bin", 5, junk, sizeof junk);
  patch (fx.dir, "payload/a/one.bin", PIECE + 5, junk, sizeof junk);
  g_signal_connect (fx.t, "notify::state", G_CALLBACK (state_cb), &w);
  gbt_torrent_verify (fx.t);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_CHECKING);
  gbt_test_wait_until (progress_sane (fx.t, &last, &bad)
                           && gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_STOPPED,
                       20000);
  g_assert_false (bad);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n - 2);
  g_assert_cmpuint (w.have_after_check, ==, n - 2);
  g_assert_false (w.bad_progress);
  g_assert_cmpfloat (gbt_torrent_get_check_progress (fx.t), ==, 0);
  /* the resume data says so */
  rd = gbt_resume_load (fx.t->resume_path, fx.mi, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rd->have.n_set, ==, n - 2);
  g_assert_false (gbt_bitfield_get (&rd->have, 0));
  g_assert_false (gbt_bitfield_get (&rd->have, 1));
  g_assert_true (gbt_bitfield_get (&rd->have, 2));

  /* piece 1 repaired: the next verify counts it */
  patch (fx.dir, "payload/a/one.bin", PIECE + 5, fx.stream + PIECE + 5, sizeof junk);
  gbt_torrent_verify (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_STOPPED, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n - 1);

  /* started afterwards: what the verify saved is trusted, nothing hashed */
  gbt_torrent_start (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_DOWNLOADING);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n - 1);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, 0);

  /* a start during a stopped torrent's verify: it goes on live */
  test_torrent_stop (fx.t);
  gbt_torrent_verify (fx.t);
  gbt_torrent_start (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_DOWNLOADING);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, n);

  g_signal_handlers_disconnect_by_data (fx.t, &w);
  g_array_unref (w.states);
  fx_teardown (&fx);
}

/* ---- set-location ---- */

static void
bool_done_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  GError **error = data;
  gboolean ok;

  if (g_task_get_source_tag (G_TASK (result)) == gbt_torrent_move_data_async)
    ok = gbt_torrent_move_data_finish (GBT_TORRENT (source), result, error);
  else
    ok = gbt_torrent_rename_path_finish (GBT_TORRENT (source), result, error);
  g_assert_true (ok == (*error == NULL));
  g_object_set_data (source, "done", GINT_TO_POINTER (1));
}

static gboolean
move (GbtTorrent *t, const char *dir, gboolean really, GError **error)
{
  g_object_set_data (G_OBJECT (t), "done", NULL);
  gbt_torrent_move_data_async (t, dir, really, NULL, bool_done_cb, error);
  gbt_test_wait_until (g_object_get_data (G_OBJECT (t), "done") != NULL, 20000);
  g_assert_nonnull (g_object_get_data (G_OBJECT (t), "done"));
  return *error == NULL;
}

static gboolean
rename_path (GbtTorrent *t, const char *path, const char *name, GError **error)
{
  g_object_set_data (G_OBJECT (t), "done", NULL);
  gbt_torrent_rename_path_async (t, path, name, NULL, bool_done_cb, error);
  gbt_test_wait_until (g_object_get_data (G_OBJECT (t), "done") != NULL, 20000);
  g_assert_nonnull (g_object_get_data (G_OBJECT (t), "done"));
  return *error == NULL;
}

static void
notify_count_cb (GObject *obj, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
check_moved (Fx *fx, const char *from, const char *to)
{
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (fx->mi, i);
      g_assert_true (holds (to, f->path, fx->stream, f->offset, f->length));
      g_assert_false (exists (from, f->path));
    }
  /* the torrent's directories left empty are gone, the sidecars moved */
  g_assert_false (exists (from, "payload"));
  g_assert_false (exists (from, ".gbt"));
  g_assert_true (exists (to, fx->t->resume_path + strlen (to) + 1));
  g_assert_true (g_file_test (from, G_FILE_TEST_IS_DIR));
}

/* a seeding torrent moved by rename(2) and back by copy: paused, then
 * seeding from the new place; its resume data still vouches for the data */
static void
test_move_running (void)
{
  Fx fx;
  g_autoptr(GError) error = NULL;
  guint notified = 0;
  g_autofree char *new_dir = NULL;

  fx_setup (&fx, TRUE);
  start_and_seed (fx.t);
  g_signal_connect (fx.t, "notify::download-dir", G_CALLBACK (notify_count_cb), &notified);
  new_dir = g_build_filename (fx.dir2, "deeper", "still", NULL);
  g_assert_true (move (fx.t, new_dir, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, new_dir);
  g_assert_cmpuint (notified, ==, 1);
  check_moved (&fx, fx.dir, new_dir);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  /* renamed files keep their mtime: nothing hashed again */
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, 0);

  /* back, copying (as across file systems) */
  g_setenv ("GBT_MOVE_COPY", "1", TRUE);
  g_assert_true (move (fx.t, fx.dir, TRUE, &error));
  g_unsetenv ("GBT_MOVE_COPY");
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, fx.dir);
  check_moved (&fx, new_dir, fx.dir);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, gbt_metainfo_get_n_pieces (fx.mi));

  /* stopped while it moves: it stays stopped */
  g_object_set_data (G_OBJECT (fx.t), "done", NULL);
  gbt_torrent_move_data_async (fx.t, new_dir, TRUE, NULL, bool_done_cb, &error);
  test_torrent_stop (fx.t);
  gbt_test_wait_until (g_object_get_data (G_OBJECT (fx.t), "done") != NULL, 20000);
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, new_dir);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);
  /* started while it moves: it runs after */
  g_object_set_data (G_OBJECT (fx.t), "done", NULL);
  gbt_torrent_move_data_async (fx.t, fx.dir, TRUE, NULL, bool_done_cb, &error);
  gbt_torrent_start (fx.t);
  gbt_test_wait_until (g_object_get_data (G_OBJECT (fx.t), "done") != NULL, 20000);
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, fx.dir);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_true (test_torrent_tree_equal (fx.dir, fx.mi, fx.stream));
  g_signal_handlers_disconnect_by_data (fx.t, &notified);
  fx_teardown (&fx);
}

/* a file of the torrent in the way at the new place: an error naming it,
 * everything already moved back, the torrent seeding where it was */
static void
test_move_fails (void)
{
  Fx fx;
  g_autoptr(GError) error = NULL;
  g_autofree char *in_way = NULL;

  for (int copy = 0; copy < 2; copy++)
    {
      fx_setup (&fx, TRUE);
      if (copy)
        g_setenv ("GBT_MOVE_COPY", "1", TRUE);
      start_and_seed (fx.t);
      /* a file where one of the torrent's goes: found before anything moves */
      g_free (in_way);
      in_way = g_build_filename (fx.dir2, "payload", "c", NULL);
      g_assert_cmpint (g_mkdir_with_parents (in_way, 0777), ==, 0);
      g_free (in_way);
      in_way = g_build_filename (fx.dir2, "payload", "c", "three.bin", NULL);
      g_assert_true (g_file_set_contents (in_way, "mine", -1, NULL));
      g_assert_false (move (fx.t, fx.dir2, TRUE, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
      g_assert_nonnull (strstr (error->message, "three.bin"));
      g_clear_error (&error);
      g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, fx.dir);
      g_assert_true (test_torrent_tree_equal (fx.dir, fx.mi, fx.stream));
      g_assert_false (exists (fx.dir2, "payload/a"));
      g_assert_false (exists (fx.dir2, "payload/b"));
      g_assert_false (exists (fx.dir2, ".gbt"));
      {
        g_autofree char *mine = NULL;
        g_assert_true (g_file_get_contents (in_way, &mine, NULL, NULL));
        g_assert_cmpstr (mine, ==, "mine");
      }
      g_assert_cmpint (g_unlink (in_way), ==, 0);
      gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
      g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
      g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, 0);

      /* a file where a directory of the torrent goes: one.bin has moved when
       * two.bin cannot, and goes back */
      g_free (in_way);
      in_way = g_build_filename (fx.dir2, "payload", "b", NULL);
      g_assert_true (g_file_set_contents (in_way, "mine", -1, NULL));
      g_assert_false (move (fx.t, fx.dir2, TRUE, &error));
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, "payload/b"));
      g_clear_error (&error);
      g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, fx.dir);
      g_assert_true (test_torrent_tree_equal (fx.dir, fx.mi, fx.stream));
      g_assert_false (exists (fx.dir2, "payload/a"));
      g_assert_false (exists (fx.dir2, "payload/c/three.bin"));
      g_assert_true (exists (fx.dir, ".gbt"));
      g_assert_false (exists (fx.dir2, ".gbt"));
      gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
      g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
      g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==,
                        gbt_metainfo_get_n_pieces (fx.mi));
      g_unsetenv ("GBT_MOVE_COPY");
      fx_teardown (&fx);
    }
  /* not an absolute path */
  fx_setup (&fx, FALSE);
  g_assert_false (move (fx.t, "relative/dir", TRUE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  fx_teardown (&fx);
}

/* set-location without moving: the data already at the new place is
 * checked there, stopped or running */
static void
test_set_location_no_move (void)
{
  Fx fx;
  g_autoptr(GError) error = NULL;
  guint n;

  fx_setup (&fx, FALSE);
  n = gbt_metainfo_get_n_pieces (fx.mi);
  test_torrent_write_tree (fx.dir2, fx.mi, fx.stream);
  /* stopped: checked, stopped again with every piece */
  g_assert_true (move (fx.t, fx.dir2, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_download_dir (fx.t), ==, fx.dir2);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_STOPPED
                           && gbt_torrent_get_n_pieces_have (fx.t) == n,
                       20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n);
  /* the data stayed where it was */
  g_assert_true (test_torrent_tree_equal (fx.dir2, fx.mi, fx.stream));

  /* running: pointed back at the empty directory, it finds nothing */
  start_and_seed (fx.t);
  g_assert_true (move (fx.t, fx.dir, FALSE, &error));
  g_assert_no_error (error);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_DOWNLOADING);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, 0);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, n);
  fx_teardown (&fx);
}

/* ---- rename-path ---- */

static const char *
file_path (GbtTorrent *t, guint i)
{
  g_autoptr(GbtFile) f = g_list_model_get_item (gbt_torrent_get_files (t), i);
  return gbt_file_get_path (f); /* the model keeps it */
}

static void
removed_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_assert_true (gbt_session_remove_torrent_finish (GBT_SESSION (source), result, NULL));
  *(gboolean *) data = TRUE;
}

/* the session's state while the torrent is paused for a rename: it runs */
static void
paused_state_cb (GObject *obj, GParamSpec *pspec, gpointer data)
{
  GbtTorrent *t = GBT_TORRENT (obj);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = NULL;
  g_autofree char *hex = gbt_torrent_dup_info_hash_hex (t);
  g_autofree char *group = g_strconcat ("torrent ", hex, NULL);
  int *running = data;

  if (gbt_torrent_get_state (t) != GBT_TORRENT_STATE_STOPPED)
    return;
  g_assert_true (gbt_session_save_state (gbt_torrent_get_session (t), NULL));
  path = g_build_filename (gbt_session_get_state_directory (gbt_torrent_get_session (t)),
                           "session.ini", NULL);
  g_assert_true (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, NULL));
  *running = g_key_file_get_boolean (kf, group, "running", NULL);
}

static void
test_rename (void)
{
  Fx fx;
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = gbt_test_mkdtemp ();
  guint names = 0, n;
  int running = -1;

  memset (&fx, 0, sizeof fx);
  fx.dir = gbt_test_mkdtemp ();
  fx.dir2 = gbt_test_mkdtemp ();
  fx.stream = test_torrent_make_stream (files, G_N_ELEMENTS (files), &fx.len);
  fx.mi = test_torrent_new ("payload", files, G_N_ELEMENTS (files), PIECE, fx.stream, fx.len);
  n = gbt_metainfo_get_n_pieces (fx.mi);
  test_torrent_write_tree (fx.dir, fx.mi, fx.stream);
  fx.s = test_session_start ("127.0.0.1");
  gbt_session_set_state_directory (fx.s, state_dir);
  fx.t = gbt_session_add_torrent (fx.s, fx.mi, fx.dir, &error);
  g_assert_no_error (error);
  start_and_seed (fx.t);
  g_signal_connect (fx.t, "notify::name", G_CALLBACK (notify_count_cb), &names);

  /* a file */
  g_signal_connect (fx.t, "notify::state", G_CALLBACK (paused_state_cb), &running);
  g_assert_true (rename_path (fx.t, "payload/a/one.bin", "uno.bin", &error));
  g_assert_no_error (error);
  g_signal_handlers_disconnect_by_data (fx.t, &running);
  /* paused (stopped) meanwhile, and saved as running all the same */
  g_assert_cmpint (running, ==, TRUE);
  g_assert_cmpstr (file_path (fx.t, 0), ==, "payload/a/uno.bin");
  g_assert_true (holds (fx.dir, "payload/a/uno.bin", fx.stream, 0, 100000));
  g_assert_false (exists (fx.dir, "payload/a/one.bin"));
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, 0);

  /* a directory */
  g_assert_true (rename_path (fx.t, "payload/b", "bee", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (file_path (fx.t, 1), ==, "payload/bee/two.bin");
  g_assert_true (holds (fx.dir, "payload/bee/two.bin", fx.stream, 100000, 300001));

  /* the top: the torrent's name */
  g_assert_cmpuint (names, ==, 0);
  g_assert_true (rename_path (fx.t, "payload", "carga", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_name (fx.t), ==, "carga");
  g_assert_cmpuint (names, ==, 1);
  g_assert_cmpstr (file_path (fx.t, 0), ==, "carga/a/uno.bin");
  g_assert_cmpstr (file_path (fx.t, 1), ==, "carga/bee/two.bin");
  g_assert_cmpstr (file_path (fx.t, 2), ==, "carga/c/three.bin");
  g_assert_false (exists (fx.dir, "payload"));
  g_assert_true (holds (fx.dir, "carga/c/three.bin", fx.stream, 400001, 50000));
  /* the metainfo keeps the original names (web seeds ask for those) */
  g_assert_cmpstr (gbt_metainfo_get_name (fx.mi), ==, "payload");
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n);

  /* errors: nothing changes */
  g_assert_false (rename_path (fx.t, "payload/a", "x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rename_path (fx.t, "carga/a/un", "x", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (rename_path (fx.t, "carga/a", "x/y", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (rename_path (fx.t, "carga/a", "..", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (rename_path (fx.t, "carga/a", "", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* the torrent has it */
  g_assert_false (rename_path (fx.t, "carga/a", "c", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  /* the disk has it */
  {
    g_autofree char *other = g_build_filename (fx.dir, "carga", "mine", NULL);
    g_assert_true (g_file_set_contents (other, "mine", -1, NULL));
    g_assert_false (rename_path (fx.t, "carga/a", "mine", &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
    g_assert_cmpint (g_unlink (other), ==, 0);
  }
  g_assert_cmpstr (file_path (fx.t, 0), ==, "carga/a/uno.bin");
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_signal_handlers_disconnect_by_data (fx.t, &names);

  /* kept across a restart: the state names the new paths */
  g_assert_true (gbt_session_save_state (fx.s, &error));
  g_assert_no_error (error);
  test_torrent_stop (fx.t);
  g_clear_object (&fx.t);
  g_clear_object (&fx.s);
  fx.s = test_session_start ("127.0.0.1");
  gbt_session_set_state_directory (fx.s, state_dir);
  g_assert_true (gbt_session_load_state (fx.s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_session_get_torrents (fx.s)), ==, 1);
  fx.t = g_list_model_get_item (gbt_session_get_torrents (fx.s), 0);
  g_assert_cmpstr (gbt_torrent_get_name (fx.t), ==, "carga");
  g_assert_cmpstr (file_path (fx.t, 0), ==, "carga/a/uno.bin");
  g_assert_cmpstr (file_path (fx.t, 1), ==, "carga/bee/two.bin");
  /* stopped when the state was last saved: it shows what the resume data
   * vouches for under the new names, without starting */
  gbt_test_wait_until (gbt_torrent_get_n_pieces_have (fx.t) == n, 20000);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_STOPPED);
  gbt_torrent_start (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (fx.t), ==, GBT_TORRENT_STATE_SEEDING);
  /* the resume data vouches for the renamed files */
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, 0);

  /* a full verify reads them under their new names */
  gbt_torrent_verify (fx.t);
  gbt_test_wait_until (gbt_torrent_get_state (fx.t) == GBT_TORRENT_STATE_SEEDING
                           && gbt_torrent_get_n_checked (fx.t) == n,
                       20000);
  g_assert_cmpuint (gbt_torrent_get_n_checked (fx.t), ==, n);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (fx.t), ==, n);

  /* removed with the data: the renamed files and directories go */
  {
    gboolean removed = FALSE;
    gbt_session_remove_torrent_async (fx.s, fx.t, GBT_REMOVE_FLAGS_DELETE_DATA, NULL, removed_cb,
                                      &removed);
    gbt_test_wait_until (removed, 20000);
    g_assert_true (removed);
    g_assert_false (exists (fx.dir, "carga"));
    g_clear_object (&fx.t);
  }
  fx_teardown (&fx);
  gbt_test_rmtree (state_dir);
}

/* a single-file torrent: its file is its name */
static void
test_rename_single (void)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  gsize len;
  TestFile one[] = { { "x", 70000, FALSE } };
  g_autofree guint8 *stream = test_torrent_make_stream (one, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("single.bin", NULL, 0, PIECE, stream, len);
  g_autoptr(GbtSession) s = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = NULL;

  test_torrent_write_tree (dir, mi, stream);
  t = gbt_session_add_torrent (s, mi, dir, &error);
  g_assert_no_error (error);
  /* stopped: renamed all the same */
  g_assert_true (rename_path (t, "single.bin", "renamed.bin", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_torrent_get_name (t), ==, "renamed.bin");
  g_assert_cmpstr (file_path (t, 0), ==, "renamed.bin");
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_true (holds (dir, "renamed.bin", stream, 0, len));
  g_assert_false (exists (dir, "single.bin"));
  start_and_seed (t);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (t), ==, gbt_metainfo_get_n_pieces (mi));
  test_torrent_stop (t);
  gbt_test_rmtree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/torrent-move/verify-running", test_verify_running);
  g_test_add_func ("/torrent-move/verify-stopped", test_verify_stopped);
  g_test_add_func ("/torrent-move/move-running", test_move_running);
  g_test_add_func ("/torrent-move/move-fails", test_move_fails);
  g_test_add_func ("/torrent-move/set-location-no-move", test_set_location_no_move);
  g_test_add_func ("/torrent-move/rename", test_rename);
  g_test_add_func ("/torrent-move/rename-single", test_rename_single);
  return g_test_run ();
}
