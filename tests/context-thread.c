/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A session on a thread of its own (docs part): a GThread pushes a new
 * GMainContext as its thread-default, creates two sessions there, and one
 * downloads a torrent from the other over loopback TCP.  Every signal,
 * property notification, model change and async callback must arrive on
 * that thread with that context owned; the stop_async callbacks finish
 * there.  The global default main context is never iterated by anyone: an
 * engine source attached to it (g_idle_add(), g_timeout_add(),
 * g_source_attach (s, NULL)) would never run and the download would stall,
 * and any source left on it is found by its ID at the end.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "test-torrent.h"
#include "test-utils.h"

/* the old names still build (GbtFooErrorEnum became GbtFooError) */
G_STATIC_ASSERT (sizeof (GbtSessionErrorEnum) == sizeof (GbtSessionError));
G_STATIC_ASSERT (sizeof (GbtTorrentErrorEnum) == sizeof (GbtTorrentError));

typedef struct {
  GMainContext *context;
  GThread *thread; /* the engine thread, set by it */
  const guint8 *stream;
  gsize len;
  GbtMetainfo *mi;
  char *seed_dir;
  char *leech_dir;

  /* counted on the engine thread */
  guint n_events;
  guint n_wrong_thread; /* events seen off the engine thread or context */
  char *first_wrong;
  guint n_piece_verified;
  guint n_notify;
  guint n_items_changed;
  gboolean seeder_seeding;
  gboolean leecher_finished;
  guint n_stopped;
  guint default_sources_running; /* on the default context mid-download */
} Fixture;

static guint count_default_context_sources (void);

/* every handler: on the engine thread, owning its context */
static void
check_thread (Fixture *f, const char *what)
{
  f->n_events++;
  if (g_thread_self () != f->thread || !g_main_context_is_owner (f->context)
      || g_main_context_get_thread_default () != f->context)
    {
      f->n_wrong_thread++;
      if (f->first_wrong == NULL)
        f->first_wrong = g_strdup (what);
    }
}

static gboolean
flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the engine's context (not the default one) until *@flag or
 * @timeout_ms pass; asserts the former. */
static void
wait_for (Fixture *f, const gboolean *flag, guint timeout_ms, const char *what)
{
  gboolean expired = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, flag_cb, &expired, NULL);
  g_source_attach (timeout, f->context);
  while (!*flag && !expired)
    g_main_context_iteration (f->context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  if (!*flag)
    g_error ("timed out after %u ms waiting for %s", timeout_ms, what);
}

static void
piece_verified_cb (GbtTorrent *t, guint piece, Fixture *f)
{
  check_thread (f, "piece-verified");
  f->n_piece_verified++;
}

static void
notify_cb (GObject *object, GParamSpec *pspec, Fixture *f)
{
  check_thread (f, "notify");
  f->n_notify++;
}

static void
finished_cb (GbtTorrent *t, Fixture *f)
{
  check_thread (f, "finished");
  f->leecher_finished = TRUE;
}

static void
seeder_state_cb (GbtTorrent *t, GParamSpec *pspec, Fixture *f)
{
  check_thread (f, "notify::state");
  if (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_SEEDING)
    f->seeder_seeding = TRUE;
}

static void
items_changed_cb (GListModel *model, guint position, guint removed, guint added, Fixture *f)
{
  check_thread (f, "items-changed");
  f->n_items_changed++;
}

typedef struct {
  Fixture *f;
  gboolean done;
  gboolean ok;
} StopData;

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  StopData *sd = data;

  check_thread (sd->f, "stop_async callback");
  sd->ok = gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL);
  sd->done = TRUE;
  sd->f->n_stopped++;
}

static GbtSession *
start_session (const char *address)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  return s;
}

static void
write_data (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->seed_dir, "payload", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (const char *) f->stream, f->len, &error);
  g_assert_no_error (error);
}

static gpointer
engine_thread (gpointer data)
{
  Fixture *f = data;
  g_autoptr(GError) error = NULL;
  GbtSession *seeder, *leecher;
  GbtTorrent *st, *lt;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.9");
  StopData s1 = { f, FALSE, FALSE }, s2 = { f, FALSE, FALSE };

  f->thread = g_thread_self ();
  g_main_context_push_thread_default (f->context);

  seeder = start_session ("127.0.0.9");
  leecher = start_session ("127.0.0.10");
  g_signal_connect (gbt_session_get_torrents (leecher), "items-changed",
                    G_CALLBACK (items_changed_cb), f);

  st = gbt_session_add_torrent (seeder, f->mi, f->seed_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (st, "notify::state", G_CALLBACK (seeder_state_cb), f);
  gbt_torrent_start (st);
  wait_for (f, &f->seeder_seeding, 20000, "the seeder to check its data and seed");

  lt = gbt_session_add_torrent (leecher, f->mi, f->leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "piece-verified", G_CALLBACK (piece_verified_cb), f);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), f);
  g_signal_connect (lt, "notify", G_CALLBACK (notify_cb), f);
  gbt_torrent_start (lt);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder)));
  gbt_torrent_add_peers (lt, addrs, "test");
  wait_for (f, &f->leecher_finished, 60000, "the download between the two sessions");
  /* the torrents' timers, idles and peer sockets are all live now */
  f->default_sources_running = count_default_context_sources ();

  g_assert_cmpuint (gbt_torrent_get_n_pieces_have (lt), ==, gbt_metainfo_get_n_pieces (f->mi));
  g_assert_cmpuint (f->n_piece_verified, ==, gbt_metainfo_get_n_pieces (f->mi));

  gbt_torrent_stop_async (lt, NULL, stopped_cb, &s1);
  gbt_torrent_stop_async (st, NULL, stopped_cb, &s2);
  wait_for (f, &s1.done, 20000, "the leecher's stop_async");
  wait_for (f, &s2.done, 20000, "the seeder's stop_async");
  g_assert_true (s1.ok);
  g_assert_true (s2.ok);
  g_assert_cmpint (gbt_torrent_get_state (lt), ==, GBT_TORRENT_STATE_STOPPED);

  g_signal_handlers_disconnect_by_data (gbt_session_get_torrents (leecher), f);
  g_signal_handlers_disconnect_by_data (lt, f);
  g_signal_handlers_disconnect_by_data (st, f);
  g_object_unref (lt);
  g_object_unref (st);
  g_object_unref (leecher);
  g_object_unref (seeder);

  /* what the engine left pending on its context runs here, on this thread */
  while (g_main_context_iteration (f->context, FALSE))
    ;
  g_main_context_pop_thread_default (f->context);
  return NULL;
}

/* Any source still attached to the global default context, by ID (IDs are
 * per context, from 1; none of this test's own). */
static guint
count_default_context_sources (void)
{
  guint n = 0;

  for (guint id = 1; id < 100000; id++)
    if (g_main_context_find_source_by_id (NULL, id) != NULL)
      n++;
  return n;
}

static void
test_session_on_thread (void)
{
  Fixture f = { 0 };
  g_autofree guint8 *stream = NULL;
  GThread *thread;
  guint before = count_default_context_sources ();
  gsize len;

  f.seed_dir = gbt_test_mkdtemp ();
  f.leech_dir = gbt_test_mkdtemp ();
  stream = test_torrent_make_stream (&(TestFile){ "payload", 3 * 1024 * 1024 + 777, FALSE }, 1, &len);
  f.stream = stream;
  f.len = len;
  f.mi = test_torrent_new ("payload", NULL, 1, 64 * 1024, stream, len);
  write_data (&f);
  f.context = g_main_context_new ();

  /* this thread never iterates the default context from here on */
  thread = g_thread_new ("gbt-engine", engine_thread, &f);
  g_thread_join (thread);

  g_test_message ("%u events on the engine thread (%u notify, %u items-changed, %u stopped)",
                  f.n_events, f.n_notify, f.n_items_changed, f.n_stopped);
  g_assert_cmpstr (f.first_wrong, ==, NULL); /* the first event off the engine thread */
  g_assert_cmpuint (f.n_wrong_thread, ==, 0);
  g_assert_cmpuint (f.n_items_changed, >=, 1);
  g_assert_cmpuint (f.n_notify, >=, 1);
  g_assert_cmpuint (f.n_stopped, ==, 2);
  g_assert_cmpuint (f.default_sources_running, ==, before);
  g_assert_cmpuint (count_default_context_sources (), ==, before);

  {
    g_autoptr(GBytes) got = test_torrent_read_file (f.leech_dir, "payload");
    g_assert_nonnull (got);
    g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), stream, len);
  }

  gbt_metainfo_unref (f.mi);
  g_main_context_unref (f.context);
  gbt_test_rmtree (f.seed_dir);
  gbt_test_rmtree (f.leech_dir);
  g_free (f.seed_dir);
  g_free (f.leech_dir);
  g_free (f.first_wrong);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/context-thread/download-on-own-context", test_session_on_thread);
  return g_test_run ();
}
