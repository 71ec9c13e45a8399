/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The whole engine in one process: a gbt session seeds, another downloads
 * from it over loopback TCP (the transport-tcp plugin from GBT_PLUGIN_PATH),
 * and the bytes on disk must match.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <gbt/gbt.h>

#include "gbt-plugin-registry-private.h"
#include "gbt-session-private.h"
#include "gbt-torrent-private.h"
#include "test-torrent.h"
#include "test-utils.h"

static void
assert_tree_equal (const char *dir, GbtMetainfo *mi, const guint8 *stream)
{
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autoptr(GBytes) got = NULL;

      if (f->attr & GBT_FILE_ATTR_PAD)
        continue;
      got = test_torrent_read_file (dir, f->path);
      g_assert_nonnull (got);
      g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), stream + f->offset,
                       f->length);
    }
}

static void
finished_cb (GbtTorrent *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static GbtSession *
start_session_with (const char *address, const char *const *plugins, const char *const *dirs)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_plugins (s, plugins, dirs);
  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gbt_session_get_listen_port (s), >, 0);
  return s;
}

static GbtSession *
start_session (const char *address)
{
  return start_session_with (address, NULL, NULL);
}

/* adds @mi over @dir (its data written already) and waits until it seeds */
static GbtTorrent *
start_seeder (GbtSession *session, GbtMetainfo *mi, const char *dir)
{
  g_autoptr(GError) error = NULL;
  GbtTorrent *t = gbt_session_add_torrent (session, mi, dir, &error);

  g_assert_no_error (error);
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
  return t;
}

/* stops both sides, checks the leecher's bytes, removes both directories */
static void
finish_swarm (GbtTorrent *leecher, GbtTorrent *seeder, GbtMetainfo *mi, const guint8 *stream,
              const char *leech_dir, const char *seed_dir)
{
  test_torrent_stop (leecher);
  test_torrent_stop (seeder);
  assert_tree_equal (leech_dir, mi, stream);
  gbt_test_rmtree (seed_dir);
  gbt_test_rmtree (leech_dir);
}

static void
run_swarm_full (const TestFile *files, guint n_files, guint32 piece_length,
                gboolean partial_leecher, const gboolean *wanted)
{
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (files, n_files, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", n_files > 1 ? files : NULL, n_files,
                                                piece_length, stream, len);
  g_autoptr(GbtSession) seeder = start_session ("127.0.0.1");
  g_autoptr(GbtSession) leecher = start_session ("127.0.0.2");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  gboolean seeder_done = FALSE, leecher_done = FALSE;

  test_torrent_write_tree (seed_dir, mi, stream);
  if (partial_leecher)
    {
      /* the leecher already has the data but for one corrupted byte */
      test_torrent_write_tree (leech_dir, mi, stream);
      for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
          g_autofree char *p = g_build_filename (leech_dir, f->path, NULL);
          if (f->length > 0 && !(f->attr & GBT_FILE_ATTR_PAD))
            {
              FILE *fp = fopen (p, "r+b");
              g_assert_nonnull (fp);
              fseek (fp, f->length / 2, SEEK_SET);
              fputc (stream[f->offset + f->length / 2] ^ 0xff, fp);
              fclose (fp);
              break;
            }
        }
    }

  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (st, "finished", G_CALLBACK (finished_cb), &seeder_done);
  gbt_torrent_start (st);
  gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_true (seeder_done);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  if (wanted)
    gbt_torrent_set_files_wanted (lt, wanted, n_files);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &leecher_done);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  if (partial_leecher)
    g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), ==,
                      gbt_metainfo_get_n_pieces (mi) - 1);

  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "test");
  gbt_test_wait_until (leecher_done, 60000);

  if (wanted)
    {
      guint have_before = gbt_torrent_get_n_pieces_have (lt);

      /* only the wanted files exist and match; the pieces they share with
       * skipped files are complete too (their spill-over is in the parts
       * file) */
      test_torrent_stop (lt);
      test_torrent_stop (st);
      for (guint i = 0; i < n_files; i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
          g_autofree char *p = g_build_filename (leech_dir, f->path, NULL);
          g_autoptr(GBytes) got = test_torrent_read_file (leech_dir, f->path);
          if (wanted[i])
            {
              g_assert_nonnull (got);
              g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got),
                               stream + f->offset, f->length);
            }
          else
            g_assert_false (g_file_test (p, G_FILE_TEST_EXISTS));
        }
      g_assert_cmpuint (gbt_torrent_get_bytes_have (lt), ==, gbt_torrent_get_bytes_wanted (lt));
      g_assert_cmpuint (gbt_torrent_get_bytes_wanted (lt), <, len);
      g_clear_object (&lt);
      g_clear_object (&leecher);

      /* Everything wanted now, no peers: the skipped files take their share
       * of the verified boundary pieces from the parts file.  They changed,
       * so those pieces are hashed again, from the files: all still had. */
      {
        g_autoptr(GbtSession) again = start_session ("127.0.0.4");
        g_autoptr(GbtTorrent) t = gbt_session_add_torrent (again, mi, leech_dir, &error);

        g_assert_no_error (error);
        gbt_torrent_start (t);
        gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
        g_assert_cmpuint (gbt_torrent_get_n_checked (t), >, 0);
        g_assert_cmpuint (gbt_torrent_get_n_pieces_have (t), ==, have_before);
        test_torrent_stop (t);
      }
      gbt_test_rmtree (seed_dir);
      gbt_test_rmtree (leech_dir);
      return;
    }
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), ==, gbt_metainfo_get_n_pieces (mi));
  if (partial_leecher)
    g_assert_cmpuint (gbt_torrent_get_downloaded (lt), <=, piece_length);
  else
    g_assert_cmpuint (gbt_torrent_get_downloaded (lt), >=, len - 1);
  g_assert_cmpuint (gbt_torrent_get_uploaded (st), >=, gbt_torrent_get_downloaded (lt) > 0 ? 1 : 0);
  finish_swarm (lt, st, mi, stream, leech_dir, seed_dir);
}

static void
run_swarm (const TestFile *files, guint n_files, guint32 piece_length, gboolean partial_leecher)
{
  run_swarm_full (files, n_files, piece_length, partial_leecher, NULL);
}

static void
test_select (void)
{
  TestFile files[] = {
    { "a/one.bin", 100000, FALSE },
    { "b/two.bin", 300001, FALSE },
    { "c/three.bin", 50000, FALSE },
    { "d/four.bin", 200000, FALSE },
  };
  gboolean wanted[] = { FALSE, TRUE, FALSE, TRUE };
  run_swarm_full (files, G_N_ELEMENTS (files), 32 * 1024, FALSE, wanted);
}

/* restart a complete download: intact resume data means no hashing; a
 * touched file means hashing its pieces only */
static guint
restart_and_count_checked (GbtMetainfo *mi, const char *dir)
{
  g_autoptr(GbtSession) s = start_session ("127.0.0.3");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = gbt_session_add_torrent (s, mi, dir, &error);
  guint checked;

  g_assert_no_error (error);
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
  checked = gbt_torrent_get_n_checked (t);
  test_torrent_stop (t);
  return checked;
}

static void
test_resume_data (void)
{
  TestFile files[] = {
    { "one.bin", 300000, FALSE },
    { "two.bin", 200000, FALSE },
  };
  g_autofree char *dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (files, 2, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", files, 2, 32 * 1024, stream, len);
  g_autofree char *two = NULL;
  guint n = gbt_metainfo_get_n_pieces (mi);
  struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000, 0 } };

  test_torrent_write_tree (dir, mi, stream);
  /* first start: no resume data, everything hashed; stopping saves it */
  g_assert_cmpuint (restart_and_count_checked (mi, dir), ==, n);
  g_assert_cmpuint (restart_and_count_checked (mi, dir), ==, 0);
  /* a file changed behind our back: only the pieces touching it */
  two = g_build_filename (dir, gbt_metainfo_get_file (mi, 1)->path, NULL);
  g_assert_cmpint (utimensat (AT_FDCWD, two, ts, 0), ==, 0);
  g_assert_cmpuint (restart_and_count_checked (mi, dir), ==, n - 300000 / (32 * 1024));
  g_assert_cmpuint (restart_and_count_checked (mi, dir), ==, 0);
  gbt_test_rmtree (dir);
}

/* Two leechers that learn each other's address at once connect both ways;
 * both must keep the same one of the two connections. */
static void
test_duplicate_connection (void)
{
  TestFile f = { "payload", 512 * 1024, FALSE };
  g_autofree char *dir_a = gbt_test_mkdtemp ();
  g_autofree char *dir_b = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, 32 * 1024, stream, len);
  g_autoptr(GbtSession) a = start_session ("127.0.0.5");
  g_autoptr(GbtSession) b = start_session ("127.0.0.6");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) ta = gbt_session_add_torrent (a, mi, dir_a, &error);
  g_autoptr(GbtTorrent) tb = NULL;
  g_autoptr(GPtrArray) to_a = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) to_b = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) ip_a = g_inet_address_new_from_string ("127.0.0.5");
  g_autoptr(GInetAddress) ip_b = g_inet_address_new_from_string ("127.0.0.6");

  g_assert_no_error (error);
  tb = gbt_session_add_torrent (b, mi, dir_b, &error);
  g_assert_no_error (error);
  gbt_torrent_start (ta);
  gbt_torrent_start (tb);
  gbt_test_wait_until (gbt_torrent_get_state (ta) == GBT_TORRENT_STATE_DOWNLOADING
                           && gbt_torrent_get_state (tb) == GBT_TORRENT_STATE_DOWNLOADING,
                       20000);
  g_ptr_array_add (to_a, g_inet_socket_address_new (ip_a, gbt_session_get_listen_port (a)));
  g_ptr_array_add (to_b, g_inet_socket_address_new (ip_b, gbt_session_get_listen_port (b)));
  gbt_torrent_add_peers (ta, to_b, "test");
  gbt_torrent_add_peers (tb, to_a, "test");
  gbt_test_wait_until (gbt_torrent_get_n_peers (ta) > 0 && gbt_torrent_get_n_peers (tb) > 0,
                       10000);
  /* both handshakes done and the duplicate gone, on both sides: one peer
   * each, steadily for 1.5 s (without the rule, two each within ms) */
  {
    gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
    gint64 steady_since = 0;

    while (g_get_monotonic_time () < deadline)
      {
        gboolean one = gbt_torrent_get_n_peers (ta) == 1 && gbt_torrent_get_n_peers (tb) == 1;

        if (!one)
          steady_since = 0;
        else if (steady_since == 0)
          steady_since = g_get_monotonic_time ();
        else if (g_get_monotonic_time () - steady_since > 1500 * 1000)
          break;
        gbt_test_spin (20);
      }
  }
  g_assert_cmpuint (gbt_torrent_get_n_peers (ta), ==, 1);
  g_assert_cmpuint (gbt_torrent_get_n_peers (tb), ==, 1);
  test_torrent_stop (ta);
  test_torrent_stop (tb);
  gbt_test_rmtree (dir_a);
  gbt_test_rmtree (dir_b);
}

static void
test_single (void)
{
  TestFile f = { "payload", 3 * 1024 * 1024 + 12345, FALSE };
  run_swarm (&f, 1, 256 * 1024, FALSE);
}

static void
test_multi (void)
{
  TestFile files[] = {
    { "a/one.bin", 100000, FALSE },
    { "a/empty", 0, FALSE },
    { "b/c/two.bin", 700001, FALSE },
    { "three.bin", 16384, FALSE },
  };
  run_swarm (files, G_N_ELEMENTS (files), 32 * 1024, FALSE);
}

static void
test_resume_partial (void)
{
  TestFile f = { "payload", 2 * 1024 * 1024, FALSE };
  run_swarm (&f, 1, 64 * 1024, TRUE);
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} MetadataResult;

static void
metadata_set_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  MetadataResult *r = data;

  r->ok = gbt_torrent_set_metadata_finish (GBT_TORRENT (source), result, &r->error);
  r->done = TRUE;
}

/* gbt_torrent_set_metadata_async(), waited for */
static gboolean
set_metadata (GbtTorrent *t, GBytes *info, GError **error)
{
  MetadataResult r = { 0 };

  gbt_torrent_set_metadata_async (t, info, NULL, metadata_set_cb, &r);
  gbt_test_wait_until (r.done, 10000);
  if (r.error)
    g_propagate_error (error, r.error);
  return r.ok;
}

static void
count_cb (GbtTorrent *t, gpointer data)
{
  (*(guint *) data)++;
}

/* A torrent from a bare info-hash: a wrong dictionary is refused, then the
 * metadata comes from the seeder (BEP 9, the metadata plugin on both sides)
 * and the download completes; the seeder's HAVE_ALL, sent before the piece
 * count was known, counts once it is. */
static void
test_magnet (void)
{
  TestFile files[] = {
    { "one.bin", 300001, FALSE },
    { "two.bin", 70000, FALSE },
  };
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (files, G_N_ELEMENTS (files), &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", files, G_N_ELEMENTS (files),
                                                16 * 1024, stream, len);
  g_autoptr(GbtSession) seeder = start_session ("127.0.0.1");
  g_autoptr(GbtSession) leecher = start_session ("127.0.0.5");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GBytes) wrong = g_bytes_new_static ("d4:name1:xe", 11);
  g_autofree char *uri = NULL;
  g_autofree char *hex = gbt_metainfo_dup_info_hash_hex (mi);
  g_autoptr(GbtMagnet) magnet = NULL;
  gboolean done = FALSE;
  guint n_metadata = 0;

  test_torrent_write_tree (seed_dir, mi, stream);
  st = start_seeder (seeder, mi, seed_dir);

  uri = g_strdup_printf ("magnet:?xt=urn:btih:%s", hex);
  magnet = gbt_magnet_parse (uri, &error);
  g_assert_no_error (error);
  lt = gbt_session_add_magnet (leecher, magnet, leech_dir, &error);
  g_assert_no_error (error);
  g_assert_false (gbt_torrent_has_metadata (lt));
  g_assert_null (gbt_torrent_get_metainfo (lt));
  g_assert_cmpstr (gbt_torrent_get_name (lt), ==, hex);
  g_assert_cmpmem (gbt_torrent_get_info_hash (lt), 20, gbt_metainfo_get_info_hash (mi), 20);
  /* the same info-hash twice is refused */
  g_assert_null (gbt_session_add_magnet (leecher, magnet, leech_dir, &error));
  g_assert_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT);
  g_clear_error (&error);
  /* a dictionary that is not the one named by the info-hash */
  g_assert_false (set_metadata (lt, wrong, &error));
  g_assert_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA);
  g_clear_error (&error);
  g_assert_false (gbt_torrent_has_metadata (lt));

  g_signal_connect (lt, "metadata-received", G_CALLBACK (count_cb), &n_metadata);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &done);
  gbt_torrent_start (lt);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_FETCHING_METADATA);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "test");
  gbt_test_wait_until (done, 60000);

  g_assert_cmpuint (n_metadata, ==, 1);
  g_assert_true (gbt_torrent_has_metadata (lt));
  g_assert_cmpstr (gbt_torrent_get_name (lt), ==, "payload");
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), ==, gbt_metainfo_get_n_pieces (mi));
  g_assert_cmpuint (gbt_torrent_get_bytes_have (lt), ==, len);
  /* once known, the metadata stays */
  g_assert_false (set_metadata (lt, gbt_metainfo_get_info_bytes (mi), &error));
  g_assert_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA);
  g_clear_error (&error);
  finish_swarm (lt, st, mi, stream, leech_dir, seed_dir);
}

/* Stop and start again, as an app's pause button does: verified pieces are
 * kept (trusted from the resume data the stop saved, not hashed again), the
 * download completes over the remembered peers, and a complete torrent
 * seeds again at once. */
static void
test_restart (void)
{
  TestFile f = { "payload", 2 * 1024 * 1024, FALSE };
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, 32 * 1024, stream, len);
  g_autoptr(GbtSession) seeder = start_session ("127.0.0.1");
  g_autoptr(GbtSession) leecher = start_session ("127.0.0.6");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  guint n_finished = 0, have_before;

  test_torrent_write_tree (seed_dir, mi, stream);
  /* slow enough to stop halfway: 2 MiB at 512 KiB/s */
  gbt_session_set_rate_limits (seeder, 512 * 1024, 0);
  st = start_seeder (seeder, mi, seed_dir);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (count_cb), &n_finished);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "test");
  gbt_test_wait_until (gbt_torrent_get_n_pieces_have (lt) >= 8, 30000);
  test_torrent_stop (lt);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_STOPPED);
  have_before = gbt_torrent_get_n_pieces_have (lt);
  g_assert_cmpuint (have_before, <, gbt_metainfo_get_n_pieces (mi));
  g_assert_cmpuint (n_finished, ==, 0);

  /* again: the check trusts what was verified, then the rest comes */
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING
                           || n_finished > 0, 20000);
  g_assert_cmpuint (gbt_torrent_get_n_checked (lt), ==, 0);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), >=, have_before);
  gbt_test_wait_until (n_finished == 1, 60000);
  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), ==, gbt_metainfo_get_n_pieces (mi));
  g_assert_cmpuint (gbt_torrent_get_bytes_have (lt), ==, len);
  test_torrent_stop (lt);
  assert_tree_equal (leech_dir, mi, stream);

  /* complete: seeds again straight away */
  gbt_torrent_start (lt);
  gbt_test_wait_until (n_finished == 2, 20000);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_SEEDING);
  g_assert_cmpuint (gbt_torrent_get_n_checked (lt), ==, 0);
  finish_swarm (lt, st, mi, stream, leech_dir, seed_dir);
}


static gboolean
holds_object_of_type (GPtrArray *objects, const char *type_name)
{
  for (guint i = 0; objects != NULL && i < objects->len; i++)
    if (g_str_equal (G_OBJECT_TYPE_NAME (g_ptr_array_index (objects, i)), type_name))
      return TRUE;
  return FALSE;
}

/* Two sessions in one process, one with the dht plugin and one without:
 * each has its own view of the registry, both work (one downloads from the
 * other), and the one without never starts a DHT node for its torrents. */
static void
test_per_session_plugins (void)
{
  TestFile f = { "payload", 512 * 1024, FALSE };
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, 32 * 1024, stream, len);
  const char *with_dht[] = { "dht", NULL };
  g_autoptr(GbtSession) a = start_session_with ("127.0.0.1", with_dht, NULL);
  g_autoptr(GbtSession) b = start_session ("127.0.0.7");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  gboolean leecher_done = FALSE;

  g_assert_true (gbt_session_get_registry (a) != gbt_session_get_registry (b));
  g_assert_true (gbt_plugin_registry_uses (gbt_session_get_registry (a), "dht"));
  g_assert_false (gbt_plugin_registry_uses (gbt_session_get_registry (b), "dht"));
  g_assert_true (holds_object_of_type (
    gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (a)), "GbtDhtSource"));
  g_assert_false (holds_object_of_type (
    gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (b)), "GbtDhtSource"));

  test_torrent_write_tree (seed_dir, mi, stream);
  st = start_seeder (a, mi, seed_dir);
  g_assert_cmpuint (gbt_torrent_get_dht_port (st), >, 0);
  g_assert_nonnull (g_object_get_data (G_OBJECT (a), "gbt-dht-node"));

  lt = gbt_session_add_torrent (b, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &leecher_done);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpuint (gbt_torrent_get_dht_port (lt), ==, 0);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (a)));
  gbt_torrent_add_peers (lt, addrs, "test");
  gbt_test_wait_until (leecher_done, 60000);
  g_assert_cmpuint (gbt_torrent_get_dht_port (lt), ==, 0);
  g_assert_null (g_object_get_data (G_OBJECT (b), "gbt-dht-node"));
  finish_swarm (lt, st, mi, stream, leech_dir, seed_dir);
}

/* One KRPC exchange with the DHT node at 127.0.0.1:@port, spinning the main
 * context (the node runs on it) until the reply to @tid comes or 5 s pass;
 * queries the node sends us meanwhile (its lookups) are skipped. */
static GbtBencodeDoc *
try_receive (GSocket *sock, const char *tid)
{
  guint8 buf[1500];
  gssize n;

  while ((n = g_socket_receive (sock, (char *) buf, sizeof buf, NULL, NULL)) > 0)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (buf, n);
      g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse (bytes, NULL);
      GbtBencode *root = doc ? gbt_bencode_doc_get_root (doc) : NULL;
      gsize tlen = 0, ylen = 0;
      const guint8 *t = root ? gbt_bencode_dict_get_string (root, "t", &tlen) : NULL;
      const guint8 *y = root ? gbt_bencode_dict_get_string (root, "y", &ylen) : NULL;

      if (t != NULL && y != NULL && ylen == 1 && y[0] == 'r' && tlen == strlen (tid)
          && memcmp (t, tid, tlen) == 0)
        return g_steal_pointer (&doc);
    }
  return NULL;
}

static GbtBencodeDoc *
krpc (GSocket *sock, guint16 port, const char *query, const char *tid)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) to = g_inet_socket_address_new (lo, port);
  g_autoptr(GError) error = NULL;
  GbtBencodeDoc *reply = NULL;

  g_assert_cmpint (g_socket_send_to (sock, to, query, strlen (query), NULL, &error), ==,
                   (gssize) strlen (query));
  g_assert_no_error (error);
  gbt_test_wait_until (reply != NULL || (reply = try_receive (sock, tid)) != NULL, 5000);
  return reply;
}

static GBytes *
reply_string (GbtBencodeDoc *doc, const char *key)
{
  GbtBencode *r = gbt_bencode_dict_lookup (gbt_bencode_doc_get_root (doc), "r");
  gsize len = 0;
  const guint8 *v = r ? gbt_bencode_dict_get_string (r, key, &len) : NULL;

  g_assert_nonnull (v);
  return g_bytes_new (v, len);
}

/* The DHT node belongs to the session, not to its torrents: a torrent
 * stopped and started again finds the same node (same id, same port) with
 * the routing table it had, here the node we made known to it. */
static void
test_dht_node_outlives_torrent (void)
{
  TestFile f = { "payload", 64 * 1024, FALSE };
  g_autofree char *dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, 16 * 1024, stream, len);
  const char *with_dht[] = { "dht", NULL };
  g_autoptr(GbtSession) session = start_session_with ("127.0.0.1", with_dht, NULL);
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocket) sock = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtBencodeDoc) pong1 = NULL;
  g_autoptr(GbtBencodeDoc) pong2 = NULL;
  g_autoptr(GbtBencodeDoc) found = NULL;
  g_autoptr(GBytes) id1 = NULL;
  g_autoptr(GBytes) id2 = NULL;
  g_autoptr(GBytes) nodes = NULL;
  static const char our_id[] = "gbt-test-node-id-000";
  gpointer node;
  guint16 port;
  gboolean listed = FALSE;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (sock, FALSE);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  g_assert_no_error (error);

  test_torrent_write_tree (dir, mi, stream);
  t = start_seeder (session, mi, dir);
  port = gbt_torrent_get_dht_port (t);
  g_assert_cmpuint (port, >, 0);
  node = g_object_get_data (G_OBJECT (session), "gbt-dht-node");
  g_assert_nonnull (node);
  pong1 = krpc (sock, port, "d1:ad2:id20:gbt-test-node-id-000e1:q4:ping1:t2:p11:y1:qe", "p1");
  id1 = reply_string (pong1, "id");
  g_assert_cmpuint (g_bytes_get_size (id1), ==, 20);

  test_torrent_stop (t);
  /* stopped: no DHT for the torrent, but the session keeps its node */
  g_assert_cmpuint (gbt_torrent_get_dht_port (t), ==, 0);
  g_assert_true (g_object_get_data (G_OBJECT (session), "gbt-dht-node") == node);

  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_cmpuint (gbt_torrent_get_dht_port (t), ==, port);
  pong2 = krpc (sock, port, "d1:ad2:id20:gbt-test-node-id-000e1:q4:ping1:t2:p21:y1:qe", "p2");
  id2 = reply_string (pong2, "id");
  g_assert_true (g_bytes_equal (id1, id2));

  /* the routing table survived too: it still lists us */
  found = krpc (sock, port,
                "d1:ad2:id20:gbt-test-node-id-0006:target20:gbt-test-node-id-000e"
                "1:q9:find_node1:t2:f11:y1:qe", "f1");
  nodes = reply_string (found, "nodes");
  for (gsize off = 0; off + 26 <= g_bytes_get_size (nodes); off += 26)
    listed = listed
             || memcmp ((const guint8 *) g_bytes_get_data (nodes, NULL) + off, our_id, 20) == 0;
  g_assert_true (listed);

  test_torrent_stop (t);
  gbt_test_rmtree (dir);
}

/* Plugins built against ABI 1.0 and 1.1 at work in a session: the 1.0
 * wire extension is offered in our handshakes and exchanges messages
 * between two sessions; the 1.1 peer source runs for each live torrent,
 * and its 1.1 vfunc (get_dht_port) is what the core asks.  In a child
 * process: the corpus must be in the process-wide scan, which happens once. */
static void
test_old_abi_plugins (void)
{
  g_autofree char *corpus = NULL;
  const char *dirs[2] = { NULL, NULL };
  const char *old[] = { "abi-1-0", "abi-1-1", NULL };
  TestFile f = { "payload", 256 * 1024, FALSE };
  g_autofree char *seed_dir = NULL;
  g_autofree char *leech_dir = NULL;
  gsize len;
  g_autofree guint8 *stream = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtSession) seeder = NULL;
  g_autoptr(GbtSession) leecher = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  GPtrArray *exts, *sources;
  GObject *ext = NULL, *source = NULL;
  gboolean leecher_done = FALSE;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  corpus = g_build_filename (g_getenv ("GBT_TEST_BUILDDIR"), "plugins", NULL);
  dirs[0] = corpus;
  seed_dir = gbt_test_mkdtemp ();
  leech_dir = gbt_test_mkdtemp ();
  stream = test_torrent_make_stream (&f, 1, &len);
  mi = test_torrent_new ("payload", NULL, 1, 32 * 1024, stream, len);
  seeder = start_session_with ("127.0.0.1", old, dirs);
  leecher = start_session_with ("127.0.0.8", old, dirs);

  exts = gbt_plugin_registry_get_wire_extensions (gbt_session_get_registry (leecher));
  for (guint i = 0; i < exts->len; i++)
    if (g_str_equal (gbt_wire_extension_get_name (g_ptr_array_index (exts, i)), "ut_abi10"))
      ext = g_ptr_array_index (exts, i);
  g_assert_nonnull (ext);
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (leecher));
  for (guint i = 0; i < sources->len; i++)
    if (g_str_equal (G_OBJECT_TYPE_NAME (g_ptr_array_index (sources, i)), "Abi11Source"))
      source = g_ptr_array_index (sources, i);
  g_assert_nonnull (source);

  test_torrent_write_tree (seed_dir, mi, stream);
  st = start_seeder (seeder, mi, seed_dir);
  g_assert_cmpint (GPOINTER_TO_INT (g_object_get_data (source, "running")), ==, 1);
  g_assert_cmpuint (gbt_torrent_get_dht_port (st), ==, 6999);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &leecher_done);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpint (GPOINTER_TO_INT (g_object_get_data (source, "running")), ==, 2);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "test");
  /* each side sends one ut_abi10 message after the handshake: two in all
   * reach the one extension object of this process */
  gbt_test_wait_until (leecher_done
                           && GPOINTER_TO_UINT (g_object_get_data (ext, "n-messages")) >= 2,
                       60000);
  finish_swarm (lt, st, mi, stream, leech_dir, seed_dir);
  g_assert_cmpint (GPOINTER_TO_INT (g_object_get_data (source, "running")), ==, 0);
}

/* what a port mapping plugin sets: the announced port (the listen port
 * until set, again after 0), the mapping reports (sorted by key, replaced,
 * forgotten), the user's switch and the holds */
static void
test_port_mapping_api (void)
{
  g_autoptr(GbtSession) s = start_session ("127.0.0.1");
  g_autoptr(GVariant) none = NULL;
  g_autoptr(GVariant) two = NULL;
  g_autoptr(GVariant) one = NULL;
  guint16 listen = gbt_session_get_listen_port (s);
  const char *method = NULL;
  guint16 ext = 0;
  GVariantDict d;

  g_assert_true (gbt_session_get_port_mapping (s));
  gbt_session_set_port_mapping (s, FALSE);
  g_assert_false (gbt_session_get_port_mapping (s));

  g_assert_cmpuint (gbt_session_get_announce_port (s), ==, listen);
  gbt_session_set_announce_port (s, 40001);
  g_assert_cmpuint (gbt_session_get_announce_port (s), ==, 40001);
  gbt_session_set_announce_port (s, 0);
  g_assert_cmpuint (gbt_session_get_announce_port (s), ==, listen);

  none = gbt_session_dup_port_mappings (s);
  g_assert_cmpuint (g_variant_n_children (none), ==, 0);
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "method", "s", "upnp");
  gbt_session_update_port_mapping (s, "upnp/tcp", g_variant_dict_end (&d));
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "method", "s", "natpmp");
  g_variant_dict_insert (&d, "external_port", "q", 1);
  gbt_session_update_port_mapping (s, "natpmp/tcp", g_variant_dict_end (&d));
  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "method", "s", "natpmp");
  g_variant_dict_insert (&d, "external_port", "q", 2);
  gbt_session_update_port_mapping (s, "natpmp/tcp", g_variant_dict_end (&d));
  two = gbt_session_dup_port_mappings (s);
  g_assert_true (g_variant_is_of_type (two, G_VARIANT_TYPE ("aa{sv}")));
  g_assert_cmpuint (g_variant_n_children (two), ==, 2);
  {
    g_autoptr(GVariant) first = g_variant_get_child_value (two, 0);
    g_assert_true (g_variant_lookup (first, "method", "&s", &method));
    g_assert_cmpstr (method, ==, "natpmp");
    g_assert_true (g_variant_lookup (first, "external_port", "q", &ext));
    g_assert_cmpuint (ext, ==, 2);
  }
  gbt_session_update_port_mapping (s, "natpmp/tcp", NULL);
  one = gbt_session_dup_port_mappings (s);
  g_assert_cmpuint (g_variant_n_children (one), ==, 1);

  g_assert_cmpuint (gbt_session_get_n_holds (s), ==, 0);
  gbt_session_hold (s);
  gbt_session_hold (s);
  gbt_session_release (s);
  g_assert_cmpuint (gbt_session_get_n_holds (s), ==, 1);
  gbt_session_release (s);
  g_assert_cmpuint (gbt_session_get_n_holds (s), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/session/swarm/single", test_single);
  g_test_add_func ("/session/swarm/multi", test_multi);
  g_test_add_func ("/session/swarm/reuse-verified-data", test_resume_partial);
  g_test_add_func ("/session/swarm/select-files", test_select);
  g_test_add_func ("/session/resume-data", test_resume_data);
  g_test_add_func ("/session/duplicate-connection", test_duplicate_connection);
  g_test_add_func ("/session/magnet", test_magnet);
  g_test_add_func ("/session/restart", test_restart);
  g_test_add_func ("/session/plugins/per-session", test_per_session_plugins);
  g_test_add_func ("/session/plugins/old-abi", test_old_abi_plugins);
  g_test_add_func ("/session/dht/node-outlives-torrent", test_dht_node_outlives_torrent);
  g_test_add_func ("/session/port-mapping-api", test_port_mapping_api);
  return g_test_run ();
}
