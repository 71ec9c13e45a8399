/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent's peers and trackers models (gbt_torrent_get_peers(),
 * gbt_torrent_get_trackers()): real gbt-to-gbt connections on loopback
 * for the peers, a small HTTP tracker on 127.0.0.1 (a threaded socket
 * service that counts announces) and a closed loopback port for the
 * trackers.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "gbt-peer-info-private.h"
#include "gbt-torrent-private.h"
#include "test-torrent.h"
#include "test-utils.h"

/* ---- fixtures ---- */

static void
write_payload (const char *dir, const char *name, const guint8 *stream, gsize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (const char *) stream, (gssize) len, &error);
  g_assert_no_error (error);
}

/* A single-file metainfo over @stream with @tiers as its announce-list
 * (NULL-terminated lists of URLs; NULL @tiers: no tracker at all). */
static GbtMetainfo *
metainfo_with_tiers (const char *name, const guint8 *stream, gsize len, guint32 piece_length,
                     const char *const *const *tiers)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) pieces = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GbtMetainfo *mi;

  for (gsize off = 0; off < len; off += piece_length)
    {
      GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA1);
      guint8 d[20];
      gsize dlen = sizeof d;

      g_checksum_update (sum, stream + off, MIN (piece_length, len - off));
      g_checksum_get_digest (sum, d, &dlen);
      g_checksum_free (sum);
      g_byte_array_append (pieces, d, 20);
    }
  gbt_bencode_write_dict_start (out);
  if (tiers != NULL)
    {
      gbt_bencode_write_str (out, "announce");
      gbt_bencode_write_str (out, tiers[0][0]);
      gbt_bencode_write_str (out, "announce-list");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; tiers[i]; i++)
        {
          gbt_bencode_write_list_start (out);
          for (guint j = 0; tiers[i][j]; j++)
            gbt_bencode_write_str (out, tiers[i][j]);
          gbt_bencode_write_end (out);
        }
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_str (out, "info");
  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "length");
  gbt_bencode_write_int (out, (gint64) len);
  gbt_bencode_write_str (out, "name");
  gbt_bencode_write_str (out, name);
  gbt_bencode_write_str (out, "piece length");
  gbt_bencode_write_int (out, piece_length);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, pieces->data, pieces->len);
  gbt_bencode_write_end (out);
  gbt_bencode_write_end (out);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  return mi;
}

/* ---- a counting HTTP tracker on 127.0.0.1 ---- */

typedef struct {
  GSocketService *service;
  guint16 port;
  char *url;
  gint announces; /* atomic */
  gint started; /* atomic: announces with event=started */
  gint stopped; /* atomic */
} FakeTracker;

static gboolean
fake_run_cb (GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
             gpointer user_data)
{
  static const char body[] = "d8:completei5e10:incompletei3e8:intervali1800e5:peers0:e";
  FakeTracker *ft = user_data;
  g_autofree char *reply = g_strdup_printf ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                                            "Content-Length: %zu\r\n\r\n%s",
                                            strlen (body), body);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  char buf[4096];
  gsize len = 0;
  gssize n;

  while (len < sizeof buf - 1
         && (n = g_input_stream_read (in, buf + len, sizeof buf - 1 - len, NULL, NULL)) > 0)
    {
      len += n;
      buf[len] = '\0';
      if (strstr (buf, "\r\n\r\n"))
        break;
    }
  buf[len] = '\0';
  if (g_str_has_prefix (buf, "GET "))
    {
      if (strstr (buf, "event=started"))
        g_atomic_int_inc (&ft->started);
      if (strstr (buf, "event=stopped"))
        g_atomic_int_inc (&ft->stopped);
      g_atomic_int_inc (&ft->announces);
    }
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

static FakeTracker *
fake_tracker_start (void)
{
  FakeTracker *ft = g_new0 (FakeTracker, 1);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  ft->service = g_threaded_socket_service_new (4);
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (ft->service), addr,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &bound, &error));
  g_assert_no_error (error);
  ft->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  ft->url = g_strdup_printf ("http://127.0.0.1:%u/announce", ft->port);
  g_signal_connect (ft->service, "run", G_CALLBACK (fake_run_cb), ft);
  g_socket_service_start (ft->service);
  return ft;
}

static void
fake_tracker_stop (FakeTracker *ft)
{
  g_socket_service_stop (ft->service);
  g_socket_listener_close (G_SOCKET_LISTENER (ft->service));
  g_object_unref (ft->service);
  g_free (ft->url);
  g_free (ft);
}

/* a URL on a loopback port nobody listens on: connection refused */
static char *
dead_tracker_url (void)
{
  return g_strdup_printf ("http://127.0.0.1:%u/announce", gbt_test_free_port ());
}

static GbtTrackerEntry *
entry_at (GbtTorrent *t, guint i)
{
  GbtTrackerEntry *e = g_list_model_get_item (gbt_torrent_get_trackers (t), i);

  g_assert_nonnull (e);
  g_object_unref (e); /* the model holds it */
  return e;
}

static GbtTrackerEntry *
entry_for (GbtTorrent *t, const char *url)
{
  GListModel *model = gbt_torrent_get_trackers (t);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (g_str_equal (gbt_tracker_entry_get_url (entry_at (t, i)), url))
      return entry_at (t, i);
  return NULL;
}

static void
notify_count_cb (GObject *object, GParamSpec *pspec, gpointer data)
{
  (*(guint *) data)++;
}

/* no round in flight, the next one scheduled, for every tracker (read
 * from the managers directly: the model follows them from an idle) */
static gboolean
trackers_idle (GbtTorrent *t)
{
  g_auto(GStrv) lines = gbt_torrent_dup_tracker_status (t);

  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], ": announcing") || !strstr (lines[i], "next announce in"))
      return FALSE;
  return lines[0] != NULL;
}

/* ---- client names from peer ids ---- */

static void
test_client_decoding (void)
{
  static const struct {
    const char *id;
    const char *client;
  } cases[] = {
    { "-TR3000-xxxxxxxxxxxx", "Transmission 3.00" },
    { "-TR2940-xxxxxxxxxxxx", "Transmission 2.94" },
    { "-TR111Z-xxxxxxxxxxxx", "Transmission 1.11+" },
    { "-TR4050-xxxxxxxxxxxx", "Transmission 4.0.5" },
    { "-TR0072-xxxxxxxxxxxx", "Transmission 0.72" },
    { "-lt2060-xxxxxxxxxxxx", "libtorrent 2.0.6" },
    { "-lt0D60-xxxxxxxxxxxx", "libtorrent 0.13.6" },
    { "-LT2080-xxxxxxxxxxxx", "libtorrent (Rasterbar) 2.0.8" },
    { "-qB4520-xxxxxxxxxxxx", "qBittorrent 4.5.2" },
    { "-DE13F0-xxxxxxxxxxxx", "Deluge 1.3.15" },
    { "-UT355W-xxxxxxxxxxxx", "\xc2\xb5Torrent 3.5.5" },
    { "-AZ5770-xxxxxxxxxxxx", "Vuze 5.7.7.0" },
    { "-GB0001-xxxxxxxxxxxx", "gbt 0.0.0.1" },
    { "T03I--xxxxxxxxxxxxxx", "BitTornado 0.3.18" },
    { "S58B-----xxxxxxxxxxx", "Shad0w 5.8.11" },
    { "A310--001v5Gcjxxxxxx", "ABC 3.1.0" },
    { "M4-3-6--xxxxxxxxxxxx", "Mainline 4.3.6" },
    { "-ZZ1234-xxxxxxxxxxxx", "" },
    { "xxxxxxxxxxxxxxxxxxxx", "" },
  };
  guint8 zeros[20] = { 0 };
  g_autofree char *none = gbt_peer_info_decode_client (zeros);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = gbt_peer_info_decode_client ((const guint8 *) cases[i].id);
      g_assert_cmpstr (got, ==, cases[i].client);
    }
  g_assert_cmpstr (none, ==, "");
}

/* ---- peers ---- */

typedef struct {
  guint added, removed;
} ItemsCount;

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, gpointer data)
{
  ItemsCount *c = data;
  c->added += added;
  c->removed += removed;
}

static GbtPeerInfo *
peer_at (GbtTorrent *t, guint i)
{
  GbtPeerInfo *p = g_list_model_get_item (gbt_torrent_get_peers (t), i);

  g_assert_nonnull (p);
  g_object_unref (p); /* the model holds it */
  return p;
}

/* A gbt leecher downloads from a gbt seeder (rate-limited, so it lasts a
 * few seconds): each side's model shows the other once handshaken,
 * updated in place (same object, notify), and empties when it stops. */
static void
test_peers (void)
{
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  TestFile f = { "payload", 3 * 1024 * 1024, FALSE };
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = metainfo_with_tiers ("payload", stream, len, 64 * 1024, NULL);
  g_autoptr(GbtSession) seeder = test_session_start ("127.0.0.1");
  g_autoptr(GbtSession) leecher = test_session_start ("127.0.0.3");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autofree char *seeder_name = NULL;
  ItemsCount lc = { 0 }, sc = { 0 };
  GbtPeerInfo *lp, *sp;
  guint rate_notifies = 0, progress_notifies = 0;
  double best_rate = 0;
  GbtPeerFlags flags;

  write_payload (seed_dir, "payload", stream, len);
  /* 3 MiB at 1 MiB/s: a few ticks to watch */
  gbt_session_set_rate_limits (seeder, 1024 * 1024, 0);
  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_peers (st)), ==, 0);
  g_assert_true (g_list_model_get_item_type (gbt_torrent_get_peers (st)) == GBT_TYPE_PEER_INFO);
  gbt_torrent_start (st);
  gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (gbt_torrent_get_peers (lt), "items-changed", G_CALLBACK (items_changed_cb), &lc);
  g_signal_connect (gbt_torrent_get_peers (st), "items-changed", G_CALLBACK (items_changed_cb), &sc);
  gbt_torrent_start (lt);
  gbt_test_wait_until (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_peers (lt)), ==, 0);

  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "manual");
  gbt_test_wait_until (g_list_model_get_n_items (gbt_torrent_get_peers (lt)) == 1
                           && g_list_model_get_n_items (gbt_torrent_get_peers (st)) == 1,
                       10000);
  g_assert_cmpuint (lc.added, ==, 1);
  g_assert_cmpuint (sc.added, ==, 1);
  g_assert_cmpuint (gbt_torrent_get_n_peers (lt), ==, 1);

  /* the leecher's view of the seeder */
  lp = peer_at (lt, 0);
  seeder_name = g_strdup_printf ("127.0.0.1:%u", gbt_session_get_listen_port (seeder));
  g_assert_cmpstr (gbt_peer_info_get_address (lp), ==, seeder_name);
  g_assert_cmpstr (gbt_peer_info_get_source (lp), ==, "manual");
  g_assert_cmpstr (gbt_peer_info_get_transport (lp), ==, "tcp");
  g_assert_false (gbt_peer_info_get_flags (lp) & GBT_PEER_FLAGS_INCOMING);
  g_signal_connect (lp, "notify::download-rate", G_CALLBACK (notify_count_cb), &rate_notifies);
  g_signal_connect (lp, "notify::progress", G_CALLBACK (notify_count_cb), &progress_notifies);
  /* the seeder's view of the leecher: it dialled in */
  sp = peer_at (st, 0);
  g_assert_true (g_str_has_prefix (gbt_peer_info_get_address (sp), "127.0.0.3:"));
  g_assert_cmpstr (gbt_peer_info_get_source (sp), ==, "incoming");
  g_assert_true (gbt_peer_info_get_flags (sp) & GBT_PEER_FLAGS_INCOMING);

  /* in place: the same objects, their properties notified as they change */
  gbt_test_wait_until ((best_rate = MAX (best_rate, gbt_peer_info_get_download_rate (lp))) > 0
                           && gbt_peer_info_get_progress (lp) == 1.0
                           && (gbt_peer_info_get_flags (lp) & GBT_PEER_FLAGS_SEED)
                           && g_str_has_prefix (gbt_peer_info_get_client (lp), "gbt "),
                       20000);
  g_assert_true (peer_at (lt, 0) == lp);
  g_assert_true (peer_at (st, 0) == sp);
  g_assert_cmpuint (rate_notifies, >, 0);
  g_assert_cmpuint (progress_notifies, >, 0);
  g_assert_cmpuint (lc.added, ==, 1);
  g_assert_cmpuint (lc.removed, ==, 0);
  flags = gbt_peer_info_get_flags (lp);
  /* mid-download: we want its pieces and it unchokes us */
  if (gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_DOWNLOADING)
    g_assert_true (flags & GBT_PEER_FLAGS_INTERESTING);
  gbt_test_wait_until (gbt_peer_info_get_upload_rate (sp) > 0
                           || gbt_torrent_get_state (lt) == GBT_TORRENT_STATE_SEEDING,
                       20000);
  g_assert_cmpstr (gbt_peer_info_get_client (sp), ==, gbt_peer_info_get_client (lp));

  /* a stop closes every connection: both models empty */
  g_object_ref (lp);
  test_torrent_stop (lt);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_peers (lt)), ==, 0);
  g_assert_cmpuint (lc.removed, ==, 1);
  /* the object outlives its row, its rates at 0 */
  g_assert_cmpfloat (gbt_peer_info_get_download_rate (lp), ==, 0);
  g_object_unref (lp);
  gbt_test_wait_until (g_list_model_get_n_items (gbt_torrent_get_peers (st)) == 0, 10000);
  g_assert_cmpuint (sc.removed, ==, 1);
  test_torrent_stop (st);
  gbt_test_rmtree (seed_dir);
  gbt_test_rmtree (leech_dir);
}

/* ---- trackers ---- */

static void
assert_tiers (GbtTorrent *t, const char *expected)
{
  g_autoptr(GPtrArray) tiers = gbt_torrent_dup_tiers (t);
  g_autoptr(GString) got = g_string_new (NULL);

  for (guint i = 0; i < tiers->len; i++)
    {
      g_autofree char *joined = g_strjoinv (",", g_ptr_array_index (tiers, i));
      g_string_append_printf (got, "%s[%s]", i ? " " : "", joined);
    }
  g_assert_cmpstr (got->str, ==, expected);
}

/* Stopped: the model is the metainfo's list; add and remove edit it (and
 * gbt_torrent_dup_tiers()); bad URLs and duplicates are errors. */
static void
test_trackers_stopped (void)
{
  static const char *const tier0[] = { "http://127.0.0.1:1/a", "http://127.0.0.1:2/b", NULL };
  static const char *const tier1[] = { "udp://127.0.0.1:3", NULL };
  static const char *const *const tiers[] = { tier0, tier1, NULL };
  g_autofree char *dir = gbt_test_mkdtemp ();
  guint8 stream[1000] = { 1 };
  g_autoptr(GbtMetainfo) mi = metainfo_with_tiers ("x", stream, sizeof stream, 16384, tiers);
  g_autoptr(GbtSession) session = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = gbt_session_add_torrent (session, mi, dir, &error);
  GListModel *model;
  GbtTrackerEntry *e;
  ItemsCount c = { 0 };

  g_assert_no_error (error);
  model = gbt_torrent_get_trackers (t);
  g_assert_true (g_list_model_get_item_type (model) == GBT_TYPE_TRACKER_ENTRY);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 3);
  e = entry_at (t, 0);
  g_assert_cmpstr (gbt_tracker_entry_get_url (e), ==, "http://127.0.0.1:1/a");
  g_assert_cmpuint (gbt_tracker_entry_get_tier (e), ==, 0);
  g_assert_cmpint (gbt_tracker_entry_get_status (e), ==, GBT_TRACKER_STATUS_NOT_CONTACTED);
  g_assert_cmpint (gbt_tracker_entry_get_seeders (e), ==, -1);
  g_assert_cmpint (gbt_tracker_entry_get_leechers (e), ==, -1);
  g_assert_cmpint (gbt_tracker_entry_get_next_announce (e), ==, 0);
  g_assert_cmpint (gbt_tracker_entry_get_last_announce (e), ==, 0);
  g_assert_null (gbt_tracker_entry_get_last_error (e));
  g_assert_cmpuint (gbt_tracker_entry_get_tier (entry_at (t, 2)), ==, 1);
  assert_tiers (t, "[http://127.0.0.1:1/a,http://127.0.0.1:2/b] [udp://127.0.0.1:3]");

  g_signal_connect (model, "items-changed", G_CALLBACK (items_changed_cb), &c);
  /* into tier 0, after its last: the model stays in tier order */
  g_assert_true (gbt_torrent_add_tracker (t, "http://127.0.0.1:4/c", 0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (c.added, ==, 1);
  g_assert_cmpstr (gbt_tracker_entry_get_url (entry_at (t, 2)), ==, "http://127.0.0.1:4/c");
  /* a new tier, after the others */
  g_assert_true (gbt_torrent_add_tracker (t, "http://127.0.0.1:5/d", 7, &error));
  g_assert_no_error (error);
  assert_tiers (t, "[http://127.0.0.1:1/a,http://127.0.0.1:2/b,http://127.0.0.1:4/c] "
                   "[udp://127.0.0.1:3] [http://127.0.0.1:5/d]");

  g_assert_false (gbt_torrent_add_tracker (t, "http://127.0.0.1:4/c", 1, &error));
  g_assert_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (gbt_torrent_add_tracker (t, "gopher://127.0.0.1:6/", 0, &error));
  g_assert_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN);
  g_clear_error (&error);
  g_assert_false (gbt_torrent_add_tracker (t, "not a url", 0, &error));
  g_assert_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 5);

  g_assert_true (gbt_torrent_remove_tracker (t, "http://127.0.0.1:1/a"));
  g_assert_false (gbt_torrent_remove_tracker (t, "http://127.0.0.1:1/a"));
  g_assert_true (gbt_torrent_remove_tracker (t, "udp://127.0.0.1:3"));
  g_assert_cmpuint (c.removed, ==, 2);
  assert_tiers (t, "[http://127.0.0.1:2/b,http://127.0.0.1:4/c] [http://127.0.0.1:5/d]");
  /* a saved list restored: what it lacks goes, what it has comes, a
   * tracker in another tier moves (no plugin check: a saved one stays) */
  {
    g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

    g_ptr_array_add (saved, g_strsplit ("http://127.0.0.1:5/d,http://127.0.0.1:2/b", ",", -1));
    g_ptr_array_add (saved, g_strsplit ("gopher://127.0.0.1:6/", ",", -1));
    gbt_torrent_set_tiers (t, saved);
    assert_tiers (t, "[http://127.0.0.1:2/b,http://127.0.0.1:5/d] [gopher://127.0.0.1:6/]");
    g_assert_cmpuint (gbt_tracker_entry_get_tier (entry_for (t, "http://127.0.0.1:5/d")), ==, 0);
  }
  /* announce-now on a stopped torrent does nothing */
  gbt_torrent_announce_now (t);
  g_assert_cmpint (gbt_tracker_entry_get_status (entry_at (t, 0)), ==,
                   GBT_TRACKER_STATUS_NOT_CONTACTED);
  gbt_test_rmtree (dir);
}

/* Running: a dead tracker fails (error, last error, a retry scheduled); a
 * tracker added while running gets the announce and works; announce-now
 * announces again; a removed one hears nothing more; the list survives a
 * stop, and a restart announces to what was added while stopped. */
static void
test_trackers_running (void)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autofree char *dead = dead_tracker_url ();
  const char *const tier0[] = { dead, NULL };
  const char *const *const tiers[] = { tier0, NULL };
  TestFile f = { "payload", 100 * 1000, FALSE };
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = metainfo_with_tiers ("payload", stream, len, 16384, tiers);
  g_autoptr(GbtSession) session = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = NULL;
  FakeTracker *ft = fake_tracker_start ();
  FakeTracker *later = fake_tracker_start ();
  FakeTracker *second = fake_tracker_start ();
  GbtTrackerEntry *de, *fe, *le, *se;
  int before_second;
  g_autofree char *both = NULL;
  guint status_notifies = 0;
  gint64 now;
  int before;

  write_payload (dir, "payload", stream, len);
  t = gbt_session_add_torrent (session, mi, dir, &error);
  g_assert_no_error (error);
  de = entry_for (t, dead);
  g_assert_nonnull (de);
  g_signal_connect (de, "notify::status", G_CALLBACK (notify_count_cb), &status_notifies);
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);

  /* the dead one: refused */
  gbt_test_wait_until (gbt_tracker_entry_get_status (de) == GBT_TRACKER_STATUS_ERROR, 20000);
  now = g_get_real_time () / G_USEC_PER_SEC;
  g_assert_nonnull (gbt_tracker_entry_get_last_error (de));
  g_assert_cmpint (gbt_tracker_entry_get_last_announce (de), >, now - 60);
  g_assert_cmpint (gbt_tracker_entry_get_last_announce (de), <=, now);
  g_assert_cmpint (gbt_tracker_entry_get_next_announce (de), >=, now);
  g_assert_cmpint (gbt_tracker_entry_get_seeders (de), ==, -1);
  g_assert_cmpuint (status_notifies, >, 0);
  g_assert_true (entry_for (t, dead) == de);

  /* added while running: announced to at once */
  g_assert_true (gbt_torrent_add_tracker (t, ft->url, 1, &error));
  g_assert_no_error (error);
  g_assert_true (gbt_torrent_add_tracker (t, second->url, 2, &error));
  g_assert_no_error (error);
  fe = entry_for (t, ft->url);
  se = entry_for (t, second->url);
  g_assert_nonnull (fe);
  gbt_test_wait_until (gbt_tracker_entry_get_status (fe) == GBT_TRACKER_STATUS_WORKING
                           && gbt_tracker_entry_get_status (se) == GBT_TRACKER_STATUS_WORKING,
                       10000);
  g_assert_cmpint (g_atomic_int_get (&ft->started), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&second->started), ==, 1);
  g_assert_cmpint (gbt_tracker_entry_get_seeders (fe), ==, 5);
  g_assert_cmpint (gbt_tracker_entry_get_leechers (fe), ==, 3);
  g_assert_null (gbt_tracker_entry_get_last_error (fe));
  g_assert_cmpint (gbt_tracker_entry_get_last_announce (fe), >, 0);
  /* a working tracker: the next round on its interval (1800 s) */
  gbt_test_wait_until (trackers_idle (t), 10000);
  gbt_test_wait_until (gbt_tracker_entry_get_next_announce (fe)
                           > g_get_real_time () / G_USEC_PER_SEC + 600,
                       5000);
  both = g_strdup_printf ("[%s] [%s] [%s]", dead, ft->url, second->url);
  assert_tiers (t, both);

  /* announce now: a round at once, tier by tier until one answers (the
   * dead one fails, ours answers, the third tier is not asked) */
  before = g_atomic_int_get (&ft->announces);
  before_second = g_atomic_int_get (&second->announces);
  gbt_torrent_announce_now (t);
  g_assert_false (trackers_idle (t));
  gbt_test_wait_until (g_atomic_int_get (&ft->announces) > before, 10000);
  gbt_test_wait_until (trackers_idle (t), 10000);
  g_assert_cmpint (g_atomic_int_get (&ft->announces), ==, before + 1);
  g_assert_cmpint (g_atomic_int_get (&second->announces), ==, before_second);
  g_assert_cmpint (g_atomic_int_get (&ft->started), ==, 1);

  /* removed while running: gone from the model and the rounds (the next
   * round goes from the dead one to the third tier) */
  g_assert_true (gbt_torrent_remove_tracker (t, ft->url));
  g_assert_null (entry_for (t, ft->url));
  before = g_atomic_int_get (&ft->announces);
  gbt_torrent_announce_now (t);
  gbt_test_wait_until (g_atomic_int_get (&second->announces) > before_second, 10000);
  gbt_test_wait_until (trackers_idle (t), 10000);
  g_assert_cmpint (g_atomic_int_get (&ft->announces), ==, before);

  /* stopped: the list stays, nothing is announcing */
  test_torrent_stop (t);
  gbt_test_wait_until (gbt_tracker_entry_get_status (de) != GBT_TRACKER_STATUS_ANNOUNCING, 5000);
  g_assert_true (entry_for (t, dead) == de);
  g_assert_cmpint (gbt_tracker_entry_get_next_announce (de), ==, 0);
  g_assert_nonnull (gbt_tracker_entry_get_last_error (de));
  /* the removed one got no stopped */
  g_assert_cmpint (g_atomic_int_get (&ft->stopped), ==, 0);

  /* added while stopped, then started: it gets the started */
  g_assert_true (gbt_torrent_add_tracker (t, later->url, 0, &error));
  g_assert_no_error (error);
  le = entry_for (t, later->url);
  g_assert_cmpint (gbt_tracker_entry_get_status (le), ==, GBT_TRACKER_STATUS_NOT_CONTACTED);
  gbt_torrent_start (t);
  gbt_test_wait_until (g_atomic_int_get (&later->started) >= 1
                           && gbt_tracker_entry_get_status (le) == GBT_TRACKER_STATUS_WORKING,
                       20000);
  g_assert_cmpint (gbt_tracker_entry_get_seeders (le), ==, 5);
  test_torrent_stop (t);
  /* it had our started, so it hears our stopped */
  g_assert_cmpint (g_atomic_int_get (&later->stopped), ==, 1);

  g_clear_object (&t);
  fake_tracker_stop (ft);
  fake_tracker_stop (later);
  fake_tracker_stop (second);
  gbt_test_rmtree (dir);
}

/* A torrent without trackers, running: the first one added starts the
 * announcing, and it re-announces on its interval (a next announce). */
static void
test_trackers_first_added (void)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  TestFile f = { "payload", 50 * 1000, FALSE };
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (&f, 1, &len);
  g_autoptr(GbtMetainfo) mi = metainfo_with_tiers ("payload", stream, len, 16384, NULL);
  g_autoptr(GbtSession) session = test_session_start ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) t = NULL;
  FakeTracker *ft = fake_tracker_start ();
  GbtTrackerEntry *fe;
  g_auto(GStrv) status = NULL;

  write_payload (dir, "payload", stream, len);
  t = gbt_session_add_torrent (session, mi, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (gbt_torrent_get_trackers (t)), ==, 0);
  gbt_torrent_start (t);
  gbt_test_wait_until (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING, 20000);
  g_assert_true (gbt_torrent_add_tracker (t, ft->url, 0, &error));
  g_assert_no_error (error);
  fe = entry_for (t, ft->url);
  gbt_test_wait_until (gbt_tracker_entry_get_status (fe) == GBT_TRACKER_STATUS_WORKING
                           && gbt_tracker_entry_get_next_announce (fe)
                                  > g_get_real_time () / G_USEC_PER_SEC + 600,
                       10000);
  g_assert_cmpint (g_atomic_int_get (&ft->started), ==, 1);
  /* the CLI's status lines see it too */
  status = gbt_torrent_dup_tracker_status (t);
  g_assert_cmpuint (g_strv_length (status), ==, 1);
  g_assert_nonnull (strstr (status[0], ft->url));
  test_torrent_stop (t);
  g_assert_cmpint (g_atomic_int_get (&ft->stopped), ==, 1);
  g_clear_object (&t);
  fake_tracker_stop (ft);
  gbt_test_rmtree (dir);
}

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/torrent-models/peers/client-decoding", test_client_decoding);
  g_test_add_func ("/torrent-models/peers/live", test_peers);
  g_test_add_func ("/torrent-models/trackers/stopped", test_trackers_stopped);
  g_test_add_func ("/torrent-models/trackers/running", test_trackers_running);
  g_test_add_func ("/torrent-models/trackers/first-added", test_trackers_first_added);
  return g_test_run ();
}
