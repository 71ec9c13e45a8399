/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * many-torrents: what N small complete (seeding, idle) torrents cost one
 * GbtSession, as `gbt daemon` holds them (issue 15, "Scale").  Public API only.
 *
 * Usage:
 *   many-torrents N [--dir DIR] [--idle S] [--tracker] [--json]
 *
 * Makes N payloads of 4-16 KiB (every fourth a directory of two files)
 * under DIR/data with GbtCreator (kept in DIR/torrents for the next run),
 * then in one process: a session with DIR/state as its state directory,
 * every torrent added and started (data checked), the time until all seed,
 * RSS and heap (mallinfo2) and open fds per torrent (minus the figures with
 * none), idle CPU and main-loop wakeups over S seconds (default 10), and the
 * time to save and shut down.  Then a fresh process (this program with
 * --load) starts a session on the same state directory, times
 * gbt_session_load_state() and the time until all seed, and measures the
 * same.  With --tracker every torrent announces to a tracker on 127.0.0.1
 * that this program runs on a thread of its own: it counts announces per
 * second (the most in any one second shows whether they are spread).
 *
 * Wakeups: main-loop iterations that polled (a wrapped poll function of
 * the default main context) and the main thread's voluntary context
 * switches (/proc/thread-self/status); CPU: getrusage() of the whole
 * process, every thread.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gbt/gbt.h>

typedef struct {
  guint n;
  char *dir;
  double idle_s;
  gboolean tracker;
  gboolean json;
} Options;

/* ------------------------------------------------------------ measuring */

static guint64 n_polls;
static double save_s; /* seconds the last gbt_session_save_state() took */
static GPollFunc orig_poll;

static gint
counting_poll (GPollFD *fds, guint nfds, gint timeout)
{
  n_polls++;
  return orig_poll (fds, nfds, timeout);
}

static guint64
proc_status_field (const char *path, const char *field)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strstr (text, field)) == NULL)
    return 0;
  return g_ascii_strtoull (p + strlen (field), NULL, 10);
}

typedef struct {
  guint64 rss;  /* bytes */
  guint64 heap; /* bytes in use by malloc, mmapped included */
  guint fds;
  guint sources; /* GSources attached to the default main context */
} Mem;

static gboolean
nothing_cb (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* every ID up to the newest is looked up: sources live now */
static guint
count_sources (void)
{
  guint newest = g_idle_add (nothing_cb, NULL);
  guint n = 0;

  for (guint id = 1; id < newest; id++)
    {
      GSource *s = g_main_context_find_source_by_id (NULL, id);
      if (s && !g_source_is_destroyed (s))
        n++;
    }
  g_source_remove (newest);
  return n;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) d = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (d && g_dir_read_name (d))
    n++;
  return n;
}

static Mem
measure (void)
{
  Mem m;
  struct mallinfo2 mi;

  malloc_trim (0);
  mi = mallinfo2 ();
  m.rss = proc_status_field ("/proc/self/status", "VmRSS:") * 1024;
  m.heap = mi.uordblks + mi.hblkhd;
  m.fds = count_fds ();
  m.sources = count_sources ();
  return m;
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* runs the default main context for @s seconds */
static void
run_for (double s)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add ((guint) (s * 1000), quit_cb, loop);
  g_main_loop_run (loop);
}

typedef struct {
  double cpu_s;
  double polls_per_s;
  double ctxsw_per_s;
} Idle;

static Idle
measure_idle (double s)
{
  Idle r;
  double cpu0 = cpu_seconds ();
  guint64 polls0 = n_polls;
  guint64 sw0 = proc_status_field ("/proc/thread-self/status", "voluntary_ctxt_switches:");

  run_for (s);
  r.cpu_s = cpu_seconds () - cpu0;
  r.polls_per_s = (n_polls - polls0) / s;
  r.ctxsw_per_s
    = (proc_status_field ("/proc/thread-self/status", "voluntary_ctxt_switches:") - sw0) / s;
  return r;
}

/* ------------------------------------------------------------ a counting tracker */

typedef struct {
  GSocket *listener;
  guint16 port;
  GMutex lock;
  GArray *times; /* gint64 monotonic microseconds, one per announce */
  gint64 since;  /* announces before this are not counted in the report */
} Tracker;

static gpointer
tracker_thread (gpointer data)
{
  Tracker *t = data;
  static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 30\r\n"
                              "\r\nd8:intervali1800e5:peers0:e";

  for (;;)
    {
      g_autoptr(GSocket) s = g_socket_accept (t->listener, NULL, NULL);
      char buf[4096];
      gsize got = 0;
      gssize n;
      gint64 now;

      if (s == NULL)
        break;
      g_socket_set_timeout (s, 5);
      while (got < sizeof buf - 1
             && (n = g_socket_receive (s, buf + got, sizeof buf - 1 - got, NULL, NULL)) > 0)
        {
          got += n;
          buf[got] = '\0';
          if (strstr (buf, "\r\n\r\n"))
            break;
        }
      now = g_get_monotonic_time ();
      g_mutex_lock (&t->lock);
      g_array_append_val (t->times, now);
      g_mutex_unlock (&t->lock);
      g_socket_send (s, reply, sizeof reply - 1, NULL, NULL);
      g_socket_close (s, NULL);
    }
  return NULL;
}

static Tracker *
tracker_start (void)
{
  Tracker *t = g_new0 (Tracker, 1);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  t->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                              &error);
  if (!t->listener || !g_socket_bind (t->listener, sa, TRUE, &error)
      || (g_socket_set_listen_backlog (t->listener, 1024), !g_socket_listen (t->listener, &error)))
    g_error ("tracker: %s", error->message);
  bound = g_socket_get_local_address (t->listener, NULL);
  t->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  t->times = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_mutex_init (&t->lock);
  g_thread_unref (g_thread_new ("tracker", tracker_thread, t));
  return t;
}

/* announces since the last report: how many, the most in one second */
static void
tracker_report (Tracker *t, guint *total, guint *max_per_s)
{
  g_autoptr(GHashTable) per_s = g_hash_table_new (NULL, NULL);

  *total = 0;
  *max_per_s = 0;
  g_mutex_lock (&t->lock);
  for (guint i = 0; i < t->times->len; i++)
    {
      gint64 us = g_array_index (t->times, gint64, i);
      gpointer key = GSIZE_TO_POINTER (us / G_USEC_PER_SEC);
      guint c = GPOINTER_TO_UINT (g_hash_table_lookup (per_s, key)) + 1;

      g_hash_table_insert (per_s, key, GUINT_TO_POINTER (c));
      *max_per_s = MAX (*max_per_s, c);
      (*total)++;
    }
  g_array_set_size (t->times, 0);
  g_mutex_unlock (&t->lock);
}

/* ------------------------------------------------------------ payloads */

typedef struct {
  GMainLoop *loop;
  GBytes *bytes;
  GError *error;
} Made;

static void
made_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Made *m = user_data;

  m->bytes = gbt_creator_create_finish (GBT_CREATOR (source), result, &m->error);
  g_main_loop_quit (m->loop);
}

static char *
payload_dir (const Options *o, guint i)
{
  g_autofree char *name = g_strdup_printf ("%05u", i);

  return g_build_filename (o->dir, "data", name, NULL);
}

/* the .torrent of payload @i, made the first time */
static GbtMetainfo *
payload (const Options *o, guint i)
{
  g_autofree char *tname = g_strdup_printf ("%05u.torrent", i);
  g_autofree char *tpath = g_build_filename (o->dir, "torrents", tname, NULL);
  g_autofree char *pdir = payload_dir (o, i);
  g_autofree char *top = g_strdup_printf ("%s/t%05u%s", pdir, i, i % 4 == 3 ? "" : ".bin");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  GbtMetainfo *mi;
  Made m = { 0 };

  if (g_file_test (tpath, G_FILE_TEST_EXISTS))
    {
      if ((mi = gbt_metainfo_new_from_file (tpath, &error)) == NULL)
        g_error ("%s: %s", tpath, error->message);
      return mi;
    }
  g_mkdir_with_parents (pdir, 0755);
  for (guint f = 0; f < (i % 4 == 3 ? 2u : 1u); f++)
    {
      gsize len = 4096 + (gsize) ((i * 7919u + f * 104729u) % (12 * 1024));
      g_autofree guint8 *data = g_malloc (len);
      g_autofree char *path = NULL;
      GRand *rand = g_rand_new_with_seed (i * 2 + f);

      for (gsize k = 0; k < len; k++)
        data[k] = (guint8) g_rand_int (rand);
      g_rand_free (rand);
      if (i % 4 == 3)
        {
          g_mkdir_with_parents (top, 0755);
          path = g_strdup_printf ("%s/f%u.bin", top, f);
        }
      else
        path = g_strdup (top);
      if (!g_file_set_contents (path, (const char *) data, len, &error))
        g_error ("%s", error->message);
    }
  if ((creator = gbt_creator_new (top, &error)) == NULL)
    g_error ("%s", error->message);
  gbt_creator_set_n_threads (creator, 1);
  gbt_creator_set_creation_date (creator, 0);
  loop = g_main_loop_new (NULL, FALSE);
  m.loop = loop;
  gbt_creator_create_async (creator, NULL, made_cb, &m);
  g_main_loop_run (loop);
  if (m.bytes == NULL)
    g_error ("%s", m.error->message);
  if (!g_file_set_contents (tpath, g_bytes_get_data (m.bytes, NULL), g_bytes_get_size (m.bytes),
                            &error))
    g_error ("%s", error->message);
  mi = gbt_metainfo_new_from_bytes (m.bytes, &error);
  g_bytes_unref (m.bytes);
  if (mi == NULL)
    g_error ("%s", error->message);
  return mi;
}

/* ------------------------------------------------------------ the session */

typedef struct {
  guint seeding;
  guint failed;
  GMainLoop *loop;
  guint want;
} Count;

static void
state_cb (GbtTorrent *t, GParamSpec *pspec, gpointer user_data)
{
  Count *c = user_data;
  GbtTorrentState s = gbt_torrent_get_state (t);
  gboolean was = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (t), "mt-seeding"));

  if (s == GBT_TORRENT_STATE_SEEDING && !was)
    {
      c->seeding++;
      g_object_set_data (G_OBJECT (t), "mt-seeding", GINT_TO_POINTER (1));
    }
  else if (s != GBT_TORRENT_STATE_SEEDING && was)
    {
      c->seeding--;
      g_object_set_data (G_OBJECT (t), "mt-seeding", GINT_TO_POINTER (0));
    }
  if (s == GBT_TORRENT_STATE_ERROR && !g_object_get_data (G_OBJECT (t), "mt-failed"))
    {
      c->failed++;
      g_object_set_data (G_OBJECT (t), "mt-failed", GINT_TO_POINTER (1));
      g_printerr ("many-torrents: %s: %s\n", gbt_torrent_get_name (t),
                  gbt_torrent_get_error (t) ? gbt_torrent_get_error (t)->message : "error");
    }
  if (c->loop && c->seeding + c->failed >= c->want)
    g_main_loop_quit (c->loop);
}

static gboolean
timeout_cb (gpointer user_data)
{
  Count *c = user_data;

  g_printerr ("many-torrents: only %u of %u seed after the time limit\n", c->seeding, c->want);
  exit (1);
  return G_SOURCE_REMOVE;
}

/* runs until @c->want seed; seconds */
static void
wait_seeding (Count *c)
{
  guint id;

  if (c->seeding + c->failed >= c->want)
    return;
  c->loop = g_main_loop_new (NULL, FALSE);
  id = g_timeout_add_seconds (600, timeout_cb, c);
  g_main_loop_run (c->loop);
  g_source_remove (id);
  g_clear_pointer (&c->loop, g_main_loop_unref);
}

/* torrents whose every tracker has answered */
static guint
count_announced (GbtSession *s)
{
  GListModel *list = gbt_session_get_torrents (s);
  guint n = g_list_model_get_n_items (list), done = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (list, i);
      GListModel *trackers = gbt_torrent_get_trackers (t);
      guint m = g_list_model_get_n_items (trackers), ok = 0;

      for (guint j = 0; j < m; j++)
        {
          g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, j);
          ok += gbt_tracker_entry_get_last_announce (e) != 0;
        }
      done += m > 0 && ok == m;
    }
  return done;
}

/* with trackers: until every torrent has announced (at most 5 minutes);
 * seconds */
static double
wait_announced (GbtSession *s, guint want)
{
  gint64 t0 = g_get_monotonic_time ();

  while (count_announced (s) < want && g_get_monotonic_time () - t0 < 300 * G_USEC_PER_SEC)
    run_for (0.25);
  return (g_get_monotonic_time () - t0) / 1e6;
}

static GbtSession *
session_new (const Options *o)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state = g_build_filename (o->dir, "state", NULL);
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, "127.0.0.1", 0);
  gbt_session_set_bind_address (s, "127.0.0.1");
  gbt_session_set_state_directory (s, state);
  if (!gbt_session_start (s, &error))
    g_error ("session: %s", error->message);
  return s;
}

static void
watch_all (GbtSession *s, Count *c)
{
  GListModel *list = gbt_session_get_torrents (s);
  guint n = g_list_model_get_n_items (list);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (list, i);
      g_signal_connect (t, "notify::state", G_CALLBACK (state_cb), c);
      state_cb (t, NULL, c);
    }
}

static void
report (const Options *o, const char *phase, double add_s, double seed_s, Mem m0, Mem m1,
        Idle idle, double stop_s, Tracker *tr)
{
  double n = MAX (o->n, 1);
  guint ann = 0, ann_max = 0;

  if (tr)
    tracker_report (tr, &ann, &ann_max);
  if (o->json)
    printf ("{\"phase\":\"%s\",\"torrents\":%u,\"add_s\":%.3f,\"all_seeding_s\":%.3f,"
            "\"rss_per_torrent\":%.0f,\"heap_per_torrent\":%.0f,\"fds_per_torrent\":%.3f,"
            "\"sources\":%u,\"rss\":%" G_GUINT64_FORMAT ",\"idle_cpu_s\":%.3f,\"idle_s\":%.1f,"
            "\"polls_per_s\":%.1f,\"ctxsw_per_s\":%.1f,\"stop_s\":%.3f,\"announces\":%u,"
            "\"announces_max_per_s\":%u,\"save_state_s\":%.3f}\n",
            phase, o->n, add_s, seed_s, ((double) m1.rss - m0.rss) / n,
            ((double) m1.heap - m0.heap) / n, ((double) m1.fds - m0.fds) / n, m1.sources, m1.rss, idle.cpu_s,
            o->idle_s, idle.polls_per_s, idle.ctxsw_per_s, stop_s, ann, ann_max, save_s);
  else
    {
      printf ("%s: %u torrents: %s %.3f s, all seeding after %.3f s\n", phase, o->n,
              g_str_equal (phase, "add") ? "add+start" : "load_state", add_s, seed_s);
      printf ("  per torrent: RSS %.0f B, heap %.0f B, fds %.3f (RSS %.1f MiB, %u fds, "
              "%u main-loop sources)\n",
              ((double) m1.rss - m0.rss) / n, ((double) m1.heap - m0.heap) / n,
              ((double) m1.fds - m0.fds) / n, m1.rss / 1048576.0, m1.fds, m1.sources);
      printf ("  idle %.0f s: CPU %.3f s (%.2f%%), %.1f main-loop polls/s, %.1f ctx switches/s\n",
              o->idle_s, idle.cpu_s, 100 * idle.cpu_s / o->idle_s, idle.polls_per_s,
              idle.ctxsw_per_s);
      if (stop_s >= 0)
        printf ("  save_state %.3f s, then shutdown (resume data of each) %.3f s\n", save_s,
                stop_s - save_s);
      if (tr)
        printf ("  tracker: %u announces, at most %u in one second\n", ann, ann_max);
    }
  fflush (stdout);
}

static void
shutdown_session (GbtSession *s)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();

  if (!gbt_session_save_state (s, &error))
    g_error ("save_state: %s", error->message);
  save_s = (g_get_monotonic_time () - t0) / 1e6;
  g_object_unref (s);
}

static int
run_add (const Options *o, Tracker *tr)
{
  g_autofree char *tracker_url = tr ? g_strdup_printf ("http://127.0.0.1:%u/announce", tr->port)
                                    : NULL;
  g_autofree char *state = g_build_filename (o->dir, "state", NULL);
  g_autofree char *tdir = g_build_filename (o->dir, "torrents", NULL);
  g_autoptr(GPtrArray) mis = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_metainfo_unref);
  g_autoptr(GError) error = NULL;
  GbtSession *s;
  Count c = { 0 };
  Mem m0, m1;
  Idle idle;
  gint64 t0, t1, t2;

  g_mkdir_with_parents (tdir, 0755);
  for (guint i = 0; i < o->n; i++)
    {
      g_ptr_array_add (mis, payload (o, i));
      if (i % 1000 == 999)
        g_printerr ("many-torrents: %u payloads\n", i + 1);
    }
  /* a fresh state directory each run */
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", state);
    if (system (cmd) != 0)
      g_error ("cannot remove %s", state);
  }
  s = session_new (o);
  run_for (0.5);
  m0 = measure ();

  c.want = o->n;
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < o->n; i++)
    {
      g_autofree char *pdir = payload_dir (o, i);
      g_autoptr(GbtTorrent) t = gbt_session_add_torrent (s, g_ptr_array_index (mis, i), pdir,
                                                         &error);
      if (t == NULL)
        g_error ("add: %s", error->message);
      if (tracker_url && !gbt_torrent_add_tracker (t, tracker_url, 0, &error))
        g_error ("add_tracker: %s", error->message);
      g_signal_connect (t, "notify::state", G_CALLBACK (state_cb), &c);
      gbt_torrent_start (t);
    }
  t1 = g_get_monotonic_time ();
  g_ptr_array_set_size (mis, 0);
  wait_seeding (&c);
  t2 = g_get_monotonic_time ();
  if (c.failed)
    g_error ("%u torrents failed", c.failed);
  if (tr)
    printf ("add: all announced %.1f s after all seeding\n", wait_announced (s, o->n)), fflush (stdout);
  run_for (2); /* the state saves and first announces settle */
  m1 = measure ();
  idle = measure_idle (o->idle_s);
  m1 = measure ();
  {
    gint64 t3 = g_get_monotonic_time ();
    shutdown_session (s);
    report (o, "add", (t1 - t0) / 1e6, (t2 - t0) / 1e6, m0, m1, idle,
            (g_get_monotonic_time () - t3) / 1e6, tr);
  }
  return 0;
}

static int
run_load (const Options *o, Tracker *tr)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = session_new (o);
  Count c = { 0 };
  Mem m0, m1;
  Idle idle;
  gint64 t0, t1, t2;

  run_for (0.5);
  m0 = measure ();
  c.want = o->n;
  t0 = g_get_monotonic_time ();
  if (!gbt_session_load_state (s, &error))
    g_error ("load_state: %s", error->message);
  t1 = g_get_monotonic_time ();
  if (g_list_model_get_n_items (gbt_session_get_torrents (s)) != o->n)
    g_error ("load_state gave %u torrents, not %u",
             g_list_model_get_n_items (gbt_session_get_torrents (s)), o->n);
  watch_all (s, &c);
  wait_seeding (&c);
  t2 = g_get_monotonic_time ();
  if (o->tracker)
    printf ("load: all announced %.1f s after all seeding\n", wait_announced (s, o->n));
  run_for (2);
  idle = measure_idle (o->idle_s);
  m1 = measure ();
  {
    gint64 t3 = g_get_monotonic_time ();
    shutdown_session (s);
    report (o, "load", (t1 - t0) / 1e6, (t2 - t0) / 1e6, m0, m1, idle,
            (g_get_monotonic_time () - t3) / 1e6, tr);
  }
  return 0;
}

int
main (int argc, char **argv)
{
  Options o = { .idle_s = 10 };
  gboolean load = FALSE;
  Tracker *tr = NULL;
  struct rlimit rl;
  int i;

  for (i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--dir") && i + 1 < argc)
        o.dir = g_strdup (argv[++i]);
      else if (g_str_equal (argv[i], "--idle") && i + 1 < argc)
        o.idle_s = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--tracker"))
        o.tracker = TRUE;
      else if (g_str_equal (argv[i], "--json"))
        o.json = TRUE;
      else if (g_str_equal (argv[i], "--load-tracker"))
        load = o.tracker = TRUE;
      else if (g_str_equal (argv[i], "--load"))
        load = TRUE;
      else if (argv[i][0] != '-' && o.n == 0)
        o.n = (guint) g_ascii_strtoull (argv[i], NULL, 10);
      else
        {
          g_printerr ("usage: many-torrents N [--dir DIR] [--idle S] [--tracker] [--json]\n");
          return 2;
        }
    }
  if (o.n == 0)
    o.n = 1000;
  if (o.dir == NULL)
    o.dir = g_strdup_printf ("%s/gbt-many-torrents-%u", g_get_tmp_dir (), o.n);
  g_mkdir_with_parents (o.dir, 0755);
  /* as a daemon does: every fd the hard limit allows */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  orig_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, counting_poll);

  if (load)
    return run_load (&o, NULL);

  if (o.tracker)
    tr = tracker_start ();
  if (run_add (&o, tr) != 0)
    return 1;
  /* the restart: a fresh process on the same state directory */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) child = NULL;
    g_autofree char *n = g_strdup_printf ("%u", o.n);
    g_autofree char *idle = g_strdup_printf ("%g", o.idle_s);
    g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);

    child = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_exe, n, "--dir",
                              o.dir, "--idle", idle, o.tracker ? "--load-tracker" : "--load", o.json ? "--json" : NULL, NULL);
    if (child == NULL || !g_subprocess_wait_check (child, NULL, &error))
      g_error ("load run: %s", error->message);
  }
  if (tr)
    {
      guint ann, ann_max;
      tracker_report (tr, &ann, &ann_max);
      printf (o.json ? "{\"phase\":\"load-tracker\",\"announces\":%u,\"announces_max_per_s\":%u}\n"
                     : "load: tracker: %u announces, at most %u in one second\n",
              ann, ann_max);
    }
  return 0;
}
