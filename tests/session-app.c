/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The engine as an app uses it: lifetimes (a torrent held longer than its
 * session, removal and adding again), live properties and their notify,
 * per-torrent settings, lifetime counters across restarts, and the state
 * directory.  Two gbt sessions on loopback, one seeding to the other.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <gbt/gbt.h>

#include "test-torrent.h"
#include "test-utils.h"

typedef struct {
  char *seed_dir, *leech_dir;
  guint8 *stream;
  gsize len;
  GbtMetainfo *mi;
  GbtSession *seeder, *leecher;
  GbtTorrent *st;
} Swarm;

static GbtSession *
start_session (const char *address, const char *state_dir)
{
  GbtSession *s = test_session_start (address);

  if (state_dir)
    gbt_session_set_state_directory (s, state_dir);
  return s;
}

/* a seeding session on 127.0.0.1 (limited to @seed_rate bytes/s, 0 for
 * none) with a 2-file torrent of @size bytes; the leecher session on
 * @leech_addr */
static void
swarm_init (Swarm *sw, gsize size, guint64 seed_rate, const char *leech_addr,
            const char *leech_state)
{
  TestFile files[] = { { "a.bin", size / 2, FALSE }, { "b.bin", size - size / 2, FALSE } };
  g_autoptr(GError) error = NULL;

  sw->seed_dir = gbt_test_mkdtemp ();
  sw->leech_dir = gbt_test_mkdtemp ();
  sw->stream = test_torrent_make_stream (files, 2, &sw->len);
  sw->mi = test_torrent_new ("payload", files, 2, 32 * 1024, sw->stream, sw->len);
  test_torrent_write_tree (sw->seed_dir, sw->mi, sw->stream);
  sw->seeder = start_session ("127.0.0.1", NULL);
  gbt_session_set_rate_limits (sw->seeder, seed_rate, 0);
  sw->st = gbt_session_add_torrent (sw->seeder, sw->mi, sw->seed_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (sw->st);
  gbt_test_wait_until (gbt_torrent_get_state (sw->st) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (sw->st), ==, GBT_TORRENT_STATE_SEEDING);
  sw->leecher = start_session (leech_addr, leech_state);
}

static void
swarm_connect (Swarm *sw, GbtTorrent *t)
{
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");

  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (sw->seeder)));
  gbt_torrent_add_peers (t, addrs, "test");
}

/* adds the torrent to the leecher, starts it and connects it */
static GbtTorrent *
swarm_leech (Swarm *sw)
{
  g_autoptr(GError) error = NULL;
  GbtTorrent *t = gbt_session_add_torrent (sw->leecher, sw->mi, sw->leech_dir, &error);

  g_assert_no_error (error);
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (t), ==, GBT_TORRENT_STATE_DOWNLOADING);
  swarm_connect (sw, t);
  return t;
}

static void
swarm_clear (Swarm *sw)
{
  if (sw->st && gbt_torrent_get_state (sw->st) != GBT_TORRENT_STATE_STOPPED)
    test_torrent_stop (sw->st);
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

static char *
resume_path (const char *dir, GbtTorrent *t)
{
  g_autofree char *hex = gbt_torrent_dup_info_hash_hex (t);
  g_autofree char *name = g_strconcat (hex, ".resume", NULL);
  return g_build_filename (dir, ".gbt", name, NULL);
}

/* The app keeps a torrent after dropping its session, mid-download: the
 * torrent is stopped and detached, its resume data saved; nothing it
 * does afterwards touches the freed session (ASan and valgrind see this). */
static void
test_session_dropped (void)
{
  Swarm sw = { 0 };
  g_autoptr(GbtTorrent) lt = NULL;
  g_autofree char *resume = NULL;
  const GError *error;
  gboolean flag = FALSE;

  swarm_init (&sw, 2 * 1024 * 1024, 512 * 1024, "127.0.0.2", NULL);
  lt = swarm_leech (&sw);
  gbt_test_wait_until (gbt_torrent_get_n_pieces_have (lt) >= 4, 30000);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), >=, 4);
  g_clear_object (&sw.leecher);

  g_assert_null (gbt_torrent_get_session (lt));
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpfloat (gbt_torrent_get_download_rate (lt), ==, 0);
  resume = resume_path (sw.leech_dir, lt);
  g_assert_true (g_file_test (resume, G_FILE_TEST_EXISTS));
  /* the loop runs on: no timer of the torrent may fire into the session */
  g_timeout_add (2500, gbt_test_set_flag_cb, &flag);
  while (!flag)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (gbt_torrent_get_n_peers (lt), ==, 0);
  /* starting it again is an error, not a crash */
  gbt_torrent_start (lt);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_ERROR);
  error = gbt_torrent_get_error (lt);
  g_assert_error ((GError *) error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED);
  swarm_clear (&sw);
}

static void
removed_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (gbt_session_remove_torrent_finish (GBT_SESSION (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

/* Removing with its data while it downloads: out of the list at once, the
 * info-hash taken until the files are gone, then free to add again. */
static void
test_remove_readd (void)
{
  Swarm sw = { 0 };
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GbtTorrent) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *resume = NULL;
  g_autofree char *a_path = NULL;
  gboolean removed = FALSE, finished = FALSE;

  swarm_init (&sw, 2 * 1024 * 1024, 512 * 1024, "127.0.0.3", NULL);
  lt = swarm_leech (&sw);
  gbt_test_wait_until (gbt_torrent_get_n_pieces_have (lt) >= 4, 30000);
  resume = resume_path (sw.leech_dir, lt);
  a_path = g_build_filename (sw.leech_dir, "payload", "a.bin", NULL);
  g_assert_true (g_file_test (a_path, G_FILE_TEST_EXISTS));

  gbt_session_remove_torrent_async (sw.leecher, lt,
                                    GBT_REMOVE_FLAGS_DELETE_DATA | GBT_REMOVE_FLAGS_DELETE_RESUME,
                                    NULL, removed_cb, &removed);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_session_get_torrents (sw.leecher)), ==, 0);
  g_assert_null (gbt_session_add_torrent (sw.leecher, sw.mi, sw.leech_dir, &error));
  g_assert_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT);
  g_clear_error (&error);
  gbt_test_wait_until (removed, 20000);
  g_assert_true (removed);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_null (gbt_torrent_get_session (lt));
  g_assert_false (g_file_test (a_path, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (resume, G_FILE_TEST_EXISTS));
  {
    /* the torrent's directory went with its files */
    g_autofree char *top = g_build_filename (sw.leech_dir, "payload", NULL);
    g_assert_false (g_file_test (top, G_FILE_TEST_EXISTS));
  }

  /* added again: starts from nothing and completes */
  again = gbt_session_add_torrent (sw.leecher, sw.mi, sw.leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect_swapped (again, "finished", G_CALLBACK (gbt_test_set_flag_cb), &finished);
  gbt_torrent_start (again);
  gbt_test_wait_until (gbt_torrent_get_state (again) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (again), ==, 0);
  swarm_connect (&sw, again);
  gbt_test_wait_until (finished, 60000);
  g_assert_true (finished);
  test_torrent_stop (again);
  g_assert_true (test_torrent_tree_equal (sw.leech_dir, sw.mi, sw.stream));

  /* the synchronous remove stops the torrent too, keeping its files */
  gbt_session_remove_torrent (sw.leecher, again);
  g_assert_null (gbt_torrent_get_session (again));
  g_assert_true (test_torrent_tree_equal (sw.leech_dir, sw.mi, sw.stream));
  swarm_clear (&sw);
}

static void
count_notify_cb (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

static void
seed_limit_cb (GbtTorrent *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* Properties follow the download, notified at most about once a second;
 * rates drop to 0 on stop; the lifetime counters come back after a
 * restart in a new session; a seed ratio limit stops the seeder. */
static void
test_properties_and_counters (void)
{
  Swarm sw = { 0 };
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GbtTorrent) t2 = NULL;
  g_autoptr(GError) error = NULL;
  guint n_progress = 0, n_rate = 0, n_state = 0;
  gboolean finished = FALSE, limit = FALSE;
  gint64 start_us;
  double secs, progress = -1, max_rate = 0;
  guint64 downloaded, uploaded;
  g_autofree char *hex = NULL;

  swarm_init (&sw, 3 * 1024 * 1024, 1024 * 1024, "127.0.0.4", NULL);
  /* the seeder stops itself once it has uploaded the torrent's size */
  g_object_set (sw.st, "seed-ratio-limit", 1.0, NULL);
  g_signal_connect (sw.st, "seed-limit-reached", G_CALLBACK (seed_limit_cb), &limit);

  lt = gbt_session_add_torrent (sw.leecher, sw.mi, sw.leech_dir, &error);
  g_assert_no_error (error);
  g_object_get (lt, "info-hash", &hex, NULL);
  g_assert_cmpuint (strlen (hex), ==, 40);
  g_signal_connect (lt, "notify::progress", G_CALLBACK (count_notify_cb), &n_progress);
  g_signal_connect (lt, "notify::download-rate", G_CALLBACK (count_notify_cb), &n_rate);
  g_signal_connect (lt, "notify::state", G_CALLBACK (count_notify_cb), &n_state);
  g_signal_connect_swapped (lt, "finished", G_CALLBACK (gbt_test_set_flag_cb), &finished);
  start_us = g_get_monotonic_time ();
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  swarm_connect (&sw, lt);
  while (!finished && g_get_monotonic_time () - start_us < 60 * G_USEC_PER_SEC)
    {
      g_main_context_iteration (NULL, TRUE);
      g_object_get (lt, "progress", &progress, NULL);
      max_rate = MAX (max_rate, gbt_torrent_get_download_rate (lt));
    }
  g_assert_true (finished);
  secs = (g_get_monotonic_time () - start_us) / 1e6;
  g_test_message ("%.1f s: %u progress notifies, %u rate notifies, peak %.0f B/s", secs,
                  n_progress, n_rate, max_rate);
  g_assert_cmpuint (n_progress, >=, 1);
  /* coalesced: once per tick at most, plus one per state change */
  g_assert_cmpuint (n_progress, <=, (guint) secs + 2 + n_state);
  g_assert_cmpuint (n_rate, <=, (guint) secs + 2 + n_state);
  g_assert_cmpfloat (max_rate, >, 0);
  gbt_test_wait_until (gbt_torrent_get_progress (lt) == 1.0, 5000);
  g_assert_cmpfloat (gbt_torrent_get_progress (lt), ==, 1.0);
  g_assert_cmpint (gbt_torrent_get_eta (lt), ==, 0);

  /* the seeder reached its ratio and stopped */
  gbt_test_wait_until (gbt_torrent_get_state (sw.st) == GBT_TORRENT_STATE_STOPPED, 20000);
  g_assert_true (limit);
  g_assert_cmpint (gbt_torrent_get_state (sw.st), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpfloat (gbt_torrent_get_ratio (sw.st), >=, 1.0);
  g_assert_cmpfloat (gbt_torrent_get_upload_rate (sw.st), ==, 0);

  test_torrent_stop (lt);
  g_assert_cmpfloat (gbt_torrent_get_download_rate (lt), ==, 0);
  g_assert_cmpint (gbt_torrent_get_eta (lt), ==, -1);
  downloaded = gbt_torrent_get_downloaded (lt);
  uploaded = gbt_torrent_get_uploaded (lt);
  g_assert_cmpuint (downloaded, >=, sw.len);
  g_assert_cmpuint (gbt_session_get_downloaded (sw.leecher), ==, downloaded);

  /* a new session over the same files: the counters carry on */
  g_clear_object (&lt);
  g_clear_object (&sw.leecher);
  sw.leecher = start_session ("127.0.0.4", NULL);
  t2 = gbt_session_add_torrent (sw.leecher, sw.mi, sw.leech_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (t2);
  gbt_test_wait_until (gbt_torrent_get_state (t2) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpuint (gbt_torrent_get_downloaded (t2), ==, downloaded);
  g_assert_cmpuint (gbt_torrent_get_uploaded (t2), ==, uploaded);
  /* ... while the session's own totals count this session only */
  g_assert_cmpuint (gbt_session_get_downloaded (sw.leecher), ==, 0);
  test_torrent_stop (t2);
  g_assert_cmpuint (gbt_torrent_get_downloaded (t2), ==, downloaded);
  swarm_clear (&sw);
}

static void
order_cb (GbtTorrent *t, guint piece, gpointer data)
{
  g_array_append_val ((GArray *) data, piece);
}

/* sequential: the first pieces to arrive are the first of the torrent */
static void
test_sequential (void)
{
  Swarm sw = { 0 };
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean finished = FALSE;
  guint n_pieces, max_early = 0;

  swarm_init (&sw, 4 * 1024 * 1024, 0, "127.0.0.5", NULL);
  n_pieces = gbt_metainfo_get_n_pieces (sw.mi);
  lt = gbt_session_add_torrent (sw.leecher, sw.mi, sw.leech_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_set_sequential (lt, TRUE);
  g_assert_true (gbt_torrent_get_sequential (lt));
  g_signal_connect (lt, "piece-verified", G_CALLBACK (order_cb), order);
  g_signal_connect_swapped (lt, "finished", G_CALLBACK (gbt_test_set_flag_cb), &finished);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  swarm_connect (&sw, lt);
  gbt_test_wait_until (finished, 60000);
  g_assert_true (finished);
  g_assert_cmpuint (order->len, ==, n_pieces);
  /* the first quarter to arrive lies in the first half: rarest-first at
   * random would scatter it over the whole torrent */
  for (guint i = 0; i < n_pieces / 4; i++)
    max_early = MAX (max_early, g_array_index (order, guint, i));
  g_test_message ("first %u pieces verified all below %u of %u", n_pieces / 4, max_early + 1,
                  n_pieces);
  g_assert_cmpuint (max_early, <, n_pieces / 2);
  test_torrent_stop (lt);
  g_assert_true (test_torrent_tree_equal (sw.leech_dir, sw.mi, sw.stream));
  swarm_clear (&sw);
}

/* The state directory keeps the torrents, their settings and whether
 * they ran; resume data lives there, not beside the files. */
static gboolean
file_holds (const char *path, const char *needle)
{
  g_autofree char *text = NULL;

  return g_file_get_contents (path, &text, NULL, NULL) && strstr (text, needle) != NULL;
}

static void
test_state_directory (void)
{
  Swarm sw = { 0 };
  g_autofree char *state = gbt_test_mkdtemp ();
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GbtTorrent) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *resume = NULL;
  g_autofree char *gbt_dir = NULL;
  gboolean finished = FALSE;
  gint64 added;
  guint64 downloaded;

  swarm_init (&sw, 1024 * 1024, 0, "127.0.0.7", state);
  lt = swarm_leech (&sw);
  g_signal_connect_swapped (lt, "finished", G_CALLBACK (gbt_test_set_flag_cb), &finished);
  gbt_torrent_set_rate_limits (lt, 12345, 0);
  gbt_torrent_set_max_peers (lt, 7);
  gbt_torrent_set_seed_limits (lt, 2.5, 3600);
  gbt_test_wait_until (finished, 60000);
  gbt_torrent_set_file_priority (lt, 1, GBT_FILE_PRIORITY_HIGH);
  g_assert_true (gbt_torrent_add_tracker (lt, "http://127.0.0.1:9/announce", 0, &error));
  g_assert_no_error (error);
  g_assert_true (finished);
  added = gbt_torrent_get_added_time (lt);
  downloaded = gbt_torrent_get_downloaded (lt);
  hex = gbt_torrent_dup_info_hash_hex (lt);
  g_assert_true (gbt_session_save_state (sw.leecher, &error));
  g_assert_no_error (error);

  /* the app quits with the torrent seeding */
  g_clear_object (&lt);
  g_clear_object (&sw.leecher);
  {
    g_autofree char *name = g_strconcat (hex, ".resume", NULL);
    resume = g_build_filename (state, "resume", name, NULL);
  }
  g_assert_true (g_file_test (resume, G_FILE_TEST_EXISTS));
  gbt_dir = g_build_filename (sw.leech_dir, ".gbt", NULL);
  g_assert_false (g_file_test (gbt_dir, G_FILE_TEST_EXISTS));

  sw.leecher = start_session ("127.0.0.7", state);
  g_assert_cmpstr (gbt_session_get_state_directory (sw.leecher), ==, state);
  g_assert_true (gbt_session_load_state (sw.leecher, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_session_get_torrents (sw.leecher)), ==, 1);
  back = g_list_model_get_item (gbt_session_get_torrents (sw.leecher), 0);
  g_assert_cmpmem (gbt_torrent_get_info_hash (back), 20, gbt_metainfo_get_info_hash (sw.mi), 20);
  g_assert_cmpstr (gbt_torrent_get_download_dir (back), ==, sw.leech_dir);
  g_assert_cmpuint (gbt_torrent_get_upload_limit (back), ==, 12345);
  g_assert_cmpuint (gbt_torrent_get_max_peers (back), ==, 7);
  g_assert_cmpfloat (gbt_torrent_get_seed_ratio_limit (back), ==, 2.5);
  g_assert_cmpuint (gbt_torrent_get_seed_time_limit (back), ==, 3600);
  g_assert_cmpint (gbt_torrent_get_added_time (back), ==, added);
  g_assert_cmpint (gbt_torrent_get_file_priority (back, 0), ==, GBT_FILE_PRIORITY_NORMAL);
  g_assert_cmpint (gbt_torrent_get_file_priority (back, 1), ==, GBT_FILE_PRIORITY_HIGH);
  {
    /* the tracker added by the user came back beside the torrent's own */
    GListModel *trackers = gbt_torrent_get_trackers (back);
    gboolean found = FALSE;
    g_assert_cmpuint (g_list_model_get_n_items (trackers), ==, 2);
    for (guint i = 0; i < g_list_model_get_n_items (trackers); i++)
      {
        g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, i);
        found = found || g_strcmp0 (gbt_tracker_entry_get_url (e), "http://127.0.0.1:9/announce") == 0;
      }
    g_assert_true (found);
  }
  /* it was running: it runs again, seeding from the resume data */
  gbt_test_wait_until (gbt_torrent_get_state (back) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (back), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_downloaded (back), ==, downloaded);

  /* a stop is saved on its own (no save_state call) */
  test_torrent_stop (back);
  g_clear_object (&back);
  g_clear_object (&sw.leecher);
  sw.leecher = start_session ("127.0.0.7", state);
  g_assert_true (gbt_session_load_state (sw.leecher, &error));
  back = g_list_model_get_item (gbt_session_get_torrents (sw.leecher), 0);
  g_assert_cmpint (gbt_torrent_get_state (back), ==, GBT_TORRENT_STATE_STOPPED);
  /* stopped, it still shows what it has (read from its resume data) */
  gbt_test_wait_until (gbt_torrent_get_progress (back) == 1.0, 20000);
  g_assert_cmpfloat (gbt_torrent_get_progress (back), ==, 1.0);
  g_assert_cmpint (gbt_torrent_get_state (back), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpuint (gbt_torrent_get_downloaded (back), ==, downloaded);
  {
    g_autoptr(GbtFile) f0 = g_list_model_get_item (gbt_torrent_get_files (back), 0);
    gbt_test_wait_until (gbt_file_get_progress (f0) == 1.0, 5000);
    g_assert_cmpfloat (gbt_file_get_progress (f0), ==, 1.0);
  }
  /* started, the check finds the same: counted once */
  gbt_torrent_start (back);
  gbt_test_wait_until (gbt_torrent_get_state (back) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpint (gbt_torrent_get_state (back), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpfloat (gbt_torrent_get_progress (back), ==, 1.0);
  g_assert_cmpuint (gbt_torrent_get_bytes_have (back), ==, gbt_torrent_get_bytes_wanted (back));
  test_torrent_stop (back);

  /* a priority change is saved on its own too */
  {
    g_autofree char *ini = g_build_filename (state, "session.ini", NULL);
    gbt_torrent_set_file_priority (back, 0, GBT_FILE_PRIORITY_LOW);
    gbt_test_wait_until (file_holds (ini, "file-priorities=1;3;"), 10000);
  }

  /* loading twice adds nothing twice */
  g_assert_true (gbt_session_load_state (sw.leecher, &error));
  g_assert_cmpuint (g_list_model_get_n_items (gbt_session_get_torrents (sw.leecher)), ==, 1);
  g_clear_object (&back);
  {
    /* removed: its metadata copy leaves the state directory with it */
    g_autofree char *name = g_strconcat (hex, ".torrent", NULL);
    g_autofree char *meta = g_build_filename (state, "torrents", name, NULL);
    g_autoptr(GbtTorrent) t = g_list_model_get_item (gbt_session_get_torrents (sw.leecher), 0);
    g_assert_true (g_file_test (meta, G_FILE_TEST_EXISTS));
    gbt_session_remove_torrent (sw.leecher, t);
    g_assert_true (gbt_session_save_state (sw.leecher, &error));
    g_assert_no_error (error);
    g_assert_false (g_file_test (meta, G_FILE_TEST_EXISTS));
  }
  swarm_clear (&sw);
  gbt_test_rmtree (state);
}

/* a damaged state file is an error that adds nothing */
static void
test_state_damaged (void)
{
  g_autofree char *state = gbt_test_mkdtemp ();
  g_autofree char *path = g_build_filename (state, "session.ini", NULL);
  g_autoptr(GbtSession) s = start_session ("127.0.0.8", state);
  g_autoptr(GError) error = NULL;

  /* none yet: no error */
  g_assert_true (gbt_session_load_state (s, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "[session\nversion=1\n", -1, NULL));
  g_assert_false (gbt_session_load_state (s, &error));
  g_assert_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED);
  g_clear_error (&error);
  /* a torrent whose metadata is missing and info-hash bad is skipped */
  g_assert_true (g_file_set_contents (path,
                                      "[session]\nversion=1\n[torrent zz]\ndownload-dir=/tmp\n", -1,
                                      NULL));
  g_assert_true (gbt_session_load_state (s, &error));
  g_assert_cmpuint (g_list_model_get_n_items (gbt_session_get_torrents (s)), ==, 0);
  gbt_test_rmtree (state);
}

/* Seeds with no peer run the session's tick on its idle path: their
 * seeding time still counts (a time limit stops one), the tick goes on for
 * the others when one leaves the list (removed, stopped), and an idle
 * seed serves a peer that comes later. */
static void
test_idle_seeds (void)
{
  Swarm sw = { 0 };
  GbtTorrent *extra[3];
  g_autoptr(GbtTorrent) lt = NULL;
  gboolean limit = FALSE;

  swarm_init (&sw, 256 * 1024, 0, "127.0.0.4", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      TestFile file = { NULL, 20000 + i * 1000, FALSE };
      g_autofree char *name = g_strdup_printf ("idle%u", i);
      gsize len;
      g_autofree guint8 *stream = test_torrent_make_stream (&file, 1, &len);
      g_autoptr(GbtMetainfo) mi = test_torrent_new (name, NULL, 1, 16384, stream, len);
      g_autoptr(GError) error = NULL;

      test_torrent_write_tree (sw.seed_dir, mi, stream);
      extra[i] = gbt_session_add_torrent (sw.seeder, mi, sw.seed_dir, &error);
      g_assert_no_error (error);
      gbt_torrent_start (extra[i]);
      gbt_test_wait_until (gbt_torrent_get_state (extra[i]) == GBT_TORRENT_STATE_SEEDING, 20000);
      g_assert_cmpint (gbt_torrent_get_state (extra[i]), ==, GBT_TORRENT_STATE_SEEDING);
    }
  /* the first leaves the list of ticking torrents: the last takes its place */
  gbt_session_remove_torrent (sw.seeder, extra[0]);
  g_object_set (extra[1], "seed-time-limit", (guint64) 2, NULL);
  g_signal_connect (extra[1], "seed-limit-reached", G_CALLBACK (seed_limit_cb), &limit);
  gbt_test_wait_until (limit, 10000);
  g_assert_true (limit);
  gbt_test_wait_until (gbt_torrent_get_state (extra[1]) == GBT_TORRENT_STATE_STOPPED, 10000);
  g_assert_cmpint (gbt_torrent_get_state (extra[1]), ==, GBT_TORRENT_STATE_STOPPED);
  g_assert_cmpint (gbt_torrent_get_state (extra[2]), ==, GBT_TORRENT_STATE_SEEDING);

  /* sw.st has been an idle seed for seconds: a leecher gets everything */
  lt = swarm_leech (&sw);
  gbt_test_wait_until (gbt_torrent_get_progress (lt) == 1.0, 30000);
  g_assert_cmpfloat (gbt_torrent_get_progress (lt), ==, 1.0);
  g_assert_cmpuint (gbt_torrent_get_uploaded (sw.st), >=, sw.len);
  test_torrent_stop (lt);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    g_object_unref (extra[i]);
  swarm_clear (&sw);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session-app/session-dropped", test_session_dropped);
  g_test_add_func ("/session-app/remove-readd", test_remove_readd);
  g_test_add_func ("/session-app/properties-and-counters", test_properties_and_counters);
  g_test_add_func ("/session-app/sequential", test_sequential);
  g_test_add_func ("/session-app/state-directory", test_state_directory);
  g_test_add_func ("/session-app/state-damaged", test_state_damaged);
  g_test_add_func ("/session-app/idle-seeds", test_idle_seeds);
  return g_test_run ();
}
