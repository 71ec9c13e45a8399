/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gbt download: fetch one torrent, verify every piece, exit. */
#include <errno.h>
#include <glib-unix.h>
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "gbt-cli.h"

typedef struct {
  GMainLoop *loop;
  GbtSession *session;
  GbtTorrent *torrent;
  gboolean json;
  gboolean tty;
  gboolean seed;
  int exit_code;
  gboolean stopping;
  char *fail_reason;
  gint64 started_us;
  gint64 last_progress_us;
  guint64 last_have;
  int idle_timeout;
  gboolean line_dirty;
  double ratio_limit; /* stop seeding at uploaded/size >= this (0: none) */
  double time_limit; /* stop seeding after this many seconds (0: none) */
  gint64 seeding_since_us;
  gboolean seed_only; /* gbt seed: incomplete data is an error */
  gboolean verbose;
  char *last_tracker_status;
  /* a magnet's --select/--skip, applied once the file list is known */
  const char *select;
  const char *skip;
  GArray *magnet_select; /* the link's so=, when neither is given */
  /* IP -> the client name a peer from there last gave (peer-banned names
   * only the IP; the ban closes the peer first, reported as peer-dropped) */
  GHashTable *clients;
} Download;

static void
clear_line (Download *d)
{
  if (d->tty && d->line_dirty)
    {
      fprintf (stderr, "\r\033[K");
      d->line_dirty = FALSE;
    }
}

/* ,"port_mappings":[{"method":"natpmp","protocol":"tcp",...}]: what the
 * portmap plugin recorded (gbt_session_dup_port_mappings()) */
static void
append_port_mappings (GString *s, GbtSession *session)
{
  g_autoptr(GVariant) all = gbt_session_dup_port_mappings (session);
  GVariantIter it;
  GVariant *m;
  gboolean first = TRUE;

  g_string_append (s, ",\"port_mappings\":[");
  g_variant_iter_init (&it, all);
  while ((m = g_variant_iter_next_value (&it)))
    {
      GVariantIter fields;
      const char *key;
      GVariant *v;
      gboolean first_field = TRUE;

      g_string_append (s, first ? "{" : ",{");
      first = FALSE;
      g_variant_iter_init (&fields, m);
      while (g_variant_iter_next (&fields, "{&sv}", &key, &v))
        {
          if (!first_field)
            g_string_append_c (s, ',');
          first_field = FALSE;
          gbt_cli_json_string (s, key);
          g_string_append_c (s, ':');
          if (g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
            gbt_cli_json_string (s, g_variant_get_string (v, NULL));
          else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT16))
            g_string_append_printf (s, "%u", g_variant_get_uint16 (v));
          else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
            g_string_append_printf (s, "%u", g_variant_get_uint32 (v));
          else
            g_string_append (s, "null");
          g_variant_unref (v);
        }
      g_string_append_c (s, '}');
      g_variant_unref (m);
    }
  g_string_append_c (s, ']');
  g_string_append_printf (s, ",\"announce_port\":%u", gbt_session_get_announce_port (session));
}

static void
json_event (Download *d, const char *event, const char *extra_fmt, ...) G_GNUC_PRINTF (3, 4);


static void
count_into (GHashTable *counts, const char *key)
{
  g_hash_table_insert (counts, (gpointer) key,
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, key)) + 1));
}

/* {"key":count,...} in key order */
static void
append_counts (GString *s, GHashTable *counts)
{
  g_autoptr(GList) keys = g_list_sort (g_hash_table_get_keys (counts), (GCompareFunc) strcmp);

  g_string_append_c (s, '{');
  for (GList *l = keys; l; l = l->next)
    {
      if (l != keys)
        g_string_append_c (s, ',');
      gbt_cli_json_string (s, l->data);
      g_string_append_printf (s, ":%u", GPOINTER_TO_UINT (g_hash_table_lookup (counts, l->data)));
    }
  g_string_append_c (s, '}');
}

static void
json_event (Download *d, const char *event, const char *extra_fmt, ...)
{
  g_autoptr(GString) s = g_string_new ("{\"event\":");
  GbtTorrent *t = d->torrent;

  gbt_cli_json_string (s, event);
  g_string_append_printf (s,
                          ",\"time\":%.3f,\"have\":%" G_GUINT64_FORMAT ",\"size\":%" G_GUINT64_FORMAT
                          ",\"pieces\":%u,\"downloaded\":%" G_GUINT64_FORMAT
                          ",\"wasted\":%" G_GUINT64_FORMAT ",\"uploaded\":%" G_GUINT64_FORMAT ",\"rate_down\":%.0f,\"rate_up\":%.0f"
                          ",\"peers\":%u",
                          (g_get_monotonic_time () - d->started_us) / 1e6,
                          gbt_torrent_get_bytes_have (t), gbt_torrent_get_bytes_wanted (t),
                          gbt_torrent_get_n_pieces_have (t), gbt_torrent_get_downloaded (t),
                          gbt_torrent_get_wasted (t), gbt_torrent_get_uploaded (t), gbt_torrent_get_download_rate (t),
                          gbt_torrent_get_upload_rate (t), gbt_torrent_get_n_peers (t));
  {
    /* how many connected peers came from each source, and over which
     * transport; then the peers themselves */
    GListModel *peers = gbt_torrent_get_peers (t);
    guint n = g_list_model_get_n_items (peers);
    g_autoptr(GHashTable) by_source = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GHashTable) by_transport = g_hash_table_new (g_str_hash, g_str_equal);
    g_autoptr(GString) list = g_string_new ("[");

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(GbtPeerInfo) info = g_list_model_get_item (peers, i);
        const char *source = gbt_peer_info_get_source (info);
        const char *transport = gbt_peer_info_get_transport (info);

        source = source ? g_intern_string (source) : "unknown";
        transport = g_intern_string (transport ? transport : "tcp");
        count_into (by_source, source);
        count_into (by_transport, transport);
        if (i)
          g_string_append_c (list, ',');
        g_string_append (list, "{\"address\":");
        gbt_cli_json_string (list, gbt_peer_info_get_address (info));
        g_string_append (list, ",\"transport\":");
        gbt_cli_json_string (list, transport);
        g_string_append (list, ",\"source\":");
        gbt_cli_json_string (list, source);
        g_string_append_printf (list, ",\"encrypted\":%s",
                                gbt_peer_info_get_flags (info) & GBT_PEER_FLAGS_ENCRYPTED ? "true"
                                                                                           : "false");
        g_string_append (list, ",\"client\":");
        gbt_cli_json_string (list, gbt_peer_info_get_client (info));
        g_string_append_printf (list, ",\"rate_down\":%.0f,\"rate_up\":%.0f}",
                                gbt_peer_info_get_download_rate (info),
                                gbt_peer_info_get_upload_rate (info));
      }
    g_string_append_c (list, ']');
    g_string_append (s, ",\"peer_sources\":");
    append_counts (s, by_source);
    g_string_append (s, ",\"peer_transports\":");
    append_counts (s, by_transport);
    g_string_append (s, ",\"peer_list\":");
    g_string_append_len (s, list->str, list->len);
  }
  append_port_mappings (s, d->session);
  if (extra_fmt)
    {
      va_list ap;
      g_string_append_c (s, ',');
      va_start (ap, extra_fmt);
      g_string_append_vprintf (s, extra_fmt, ap);
      va_end (ap);
    }
  g_string_append (s, "}\n");
  fputs (s->str, stdout);
  fflush (stdout);
}

static void
print_progress (Download *d)
{
  GbtTorrent *t = d->torrent;
  guint64 have = gbt_torrent_get_bytes_have (t), size = gbt_torrent_get_bytes_wanted (t);
  double rate = gbt_torrent_get_download_rate (t);
  g_autofree char *rate_s = gbt_cli_format_size ((guint64) rate);
  g_autofree char *have_s = gbt_cli_format_size (have);
  g_autofree char *size_s = gbt_cli_format_size (size);
  char eta[32] = "--:--";
  const char *state = "";

  if (rate > 1 && size > have)
    {
      guint64 s = (guint64) ((size - have) / rate);
      if (s >= 3600)
        g_snprintf (eta, sizeof eta, "%" G_GUINT64_FORMAT ":%02u:%02u", s / 3600,
                    (guint) (s / 60 % 60), (guint) (s % 60));
      else
        g_snprintf (eta, sizeof eta, "%u:%02u", (guint) (s / 60), (guint) (s % 60));
    }
  if (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_FETCHING_METADATA)
    {
      fprintf (stderr, "\r\033[Kfetching metadata  peers %u", gbt_torrent_get_n_peers (t));
      fflush (stderr);
      d->line_dirty = TRUE;
      return;
    }
  switch (gbt_torrent_get_state (t))
    {
    case GBT_TORRENT_STATE_CHECKING: state = " checking"; break;
    case GBT_TORRENT_STATE_SEEDING: state = " seeding"; break;
    default: break;
    }
  fprintf (stderr, "\r\033[K%5.1f%%  %s / %s  %s/s  peers %u  ETA %s%s",
           size ? 100.0 * have / size : 100.0, have_s, size_s, rate_s, gbt_torrent_get_n_peers (t),
           eta, state);
  fflush (stderr);
  d->line_dirty = TRUE;
}

/* --verbose: each tracker's state, printed when it changes */
static void
print_tracker_status (Download *d)
{
  g_auto(GStrv) lines = gbt_torrent_dup_tracker_status (d->torrent);
  g_autoptr(GString) key = g_string_new (NULL);
  g_autofree char *joined = NULL;

  /* the countdown to the next announce changes every second: leave it out
   * of the comparison */
  for (char **l = lines; l && *l; l++)
    {
      const char *cut = strstr (*l, ", next announce");
      g_string_append_len (key, *l, cut ? cut - *l : (gssize) strlen (*l));
      g_string_append_c (key, '\n');
    }
  joined = g_string_free (g_steal_pointer (&key), FALSE);
  if (g_strcmp0 (joined, d->last_tracker_status) == 0)
    return;
  g_free (d->last_tracker_status);
  d->last_tracker_status = g_steal_pointer (&joined);
  clear_line (d);
  for (char **l = lines; l && *l; l++)
    fprintf (stderr, "tracker: %s\n", *l);
}

static void
stop_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Download *d = user_data;
  gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL);
  g_main_loop_quit (d->loop);
}

static void
download_stop (Download *d, int exit_code, const char *reason)
{
  if (d->stopping)
    return;
  d->stopping = TRUE;
  d->exit_code = exit_code;
  if (reason)
    d->fail_reason = g_strdup (reason);
  gbt_torrent_stop_async (d->torrent, NULL, stop_cb, d);
}

static gboolean
tick_cb (gpointer user_data)
{
  Download *d = user_data;
  gint64 now = g_get_monotonic_time ();
  guint64 have = gbt_torrent_get_bytes_have (d->torrent);

  if (d->stopping)
    return G_SOURCE_CONTINUE;
  if (have != d->last_have)
    {
      d->last_have = have;
      d->last_progress_us = now;
    }
  if (d->verbose)
    print_tracker_status (d);
  if (d->json)
    json_event (d, "progress", NULL);
  else if (d->tty)
    print_progress (d);
  /* the seed limits are the engine's (seed-limit-reached) */
  if (d->seeding_since_us)
    return G_SOURCE_CONTINUE;
  if (d->idle_timeout > 0 && now - d->last_progress_us > (gint64) d->idle_timeout * G_USEC_PER_SEC
      && (gbt_torrent_get_state (d->torrent) == GBT_TORRENT_STATE_DOWNLOADING
          || gbt_torrent_get_state (d->torrent) == GBT_TORRENT_STATE_FETCHING_METADATA))
    {
      g_autofree char *msg = g_strdup_printf (
          "no progress for %d s%s (peers: %u)", d->idle_timeout,
          gbt_torrent_has_metadata (d->torrent) ? "" : ": no peer sent the metadata",
          gbt_torrent_get_n_peers (d->torrent));
      download_stop (d, GBT_EXIT_FAILURE, msg);
    }
  return G_SOURCE_CONTINUE;
}

static void
finished_cb (GbtTorrent *torrent, gpointer user_data)
{
  Download *d = user_data;
  double secs = (g_get_monotonic_time () - d->started_us) / 1e6;

  if (d->seed_only)
    {
      /* gbt seed: the data checked out complete */
      d->seeding_since_us = g_get_monotonic_time ();
      if (d->json)
        json_event (d, "seeding", NULL);
      else if (!d->tty && isatty (STDOUT_FILENO))
        printf ("%s: data verified, seeding\n", gbt_torrent_get_name (torrent));
      return;
    }
  if (d->json)
    json_event (d, "done", "\"seconds\":%.3f", secs);
  else
    {
      g_autofree char *size = gbt_cli_format_size (gbt_torrent_get_bytes_wanted (torrent));
      g_autofree char *rate = gbt_cli_format_size (
          (guint64) (gbt_torrent_get_downloaded (torrent) / MAX (secs, 0.001)));
      clear_line (d);
      if (d->tty || isatty (STDOUT_FILENO))
        printf ("%s: complete, %s verified in %.1f s (%s/s)\n", gbt_torrent_get_name (torrent),
                size, secs, rate);
    }
  if (!d->seed)
    download_stop (d, GBT_EXIT_OK, NULL);
  else
    {
      d->seeding_since_us = g_get_monotonic_time ();
      d->exit_code = GBT_EXIT_OK; /* complete: Ctrl-C from here on is success */
    }
}

static void
seed_limit_cb (GbtTorrent *torrent, gpointer user_data)
{
  download_stop (user_data, GBT_EXIT_OK, NULL);
}

static void
state_cb (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Download *d = user_data;
  GbtTorrent *t = GBT_TORRENT (object);

  if (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_ERROR && !d->stopping)
    {
      const GError *e = gbt_torrent_get_error (t);
      g_autofree char *msg = NULL;

      /* a full or read-only disk: say that nothing verified is lost */
      if (g_error_matches (e, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE)
          && gbt_torrent_get_n_pieces_have (t) > 0 && !d->seed_only)
        msg = g_strdup_printf ("%s (the %u verified pieces are kept: run again once the disk "
                               "has room or is writable, and only the rest is downloaded)",
                               e->message, gbt_torrent_get_n_pieces_have (t));
      download_stop (d, GBT_EXIT_FAILURE, msg ? msg : e ? e->message : "unknown error");
    }
  else if (d->seed_only && gbt_torrent_get_state (t) == GBT_TORRENT_STATE_DOWNLOADING && !d->stopping)
    {
      GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
      g_autofree char *msg = g_strdup_printf (
          "the data is incomplete: %u of %u pieces verified (use 'gbt verify' to see which, or "
          "'gbt download' to complete it)",
          gbt_torrent_get_n_pieces_have (t), gbt_metainfo_get_n_pieces (mi));
      download_stop (d, GBT_EXIT_FAILURE, msg);
    }
}

/* ,"address":...,"client":...|null,"reason":... */
static char *
json_peer_fields (const char *address, const char *client, const char *reason)
{
  GString *s = g_string_new ("\"address\":");

  gbt_cli_json_string (s, address);
  g_string_append (s, ",\"client\":");
  if (client)
    gbt_cli_json_string (s, client);
  else
    g_string_append (s, "null");
  g_string_append (s, ",\"reason\":");
  gbt_cli_json_string (s, reason);
  return g_string_free (s, FALSE);
}

/* "127.0.0.5:6881" or "[::1]:6881" -> its IP */
static char *
address_ip (const char *address)
{
  const char *colon = strrchr (address, ':');

  if (address[0] == '[' && colon && colon > address && colon[-1] == ']')
    return g_strndup (address + 1, colon - address - 2);
  return colon ? g_strndup (address, colon - address) : g_strdup (address);
}

static void
dropped_cb (GbtTorrent *t, const char *address, const char *client, const char *reason,
            gpointer user_data)
{
  Download *d = user_data;

  if (client)
    g_hash_table_insert (d->clients, address_ip (address), g_strdup (client));
  if (d->json)
    {
      g_autofree char *fields = json_peer_fields (address, client, reason);
      json_event (d, "peer-dropped", "%s", fields);
    }
  if (d->verbose)
    {
      clear_line (d);
      fprintf (stderr, "peer %s%s%s%s dropped: %s\n", address, client ? " (" : "",
               client ? client : "", client ? ")" : "", reason);
    }
}

#define BAN_REASON "sent data that failed hash checks"

static void
banned_cb (GbtTorrent *t, const char *ip, gpointer user_data)
{
  Download *d = user_data;
  const char *client = g_hash_table_lookup (d->clients, ip);

  if (d->json)
    {
      g_autofree char *fields = json_peer_fields (ip, client, BAN_REASON);
      json_event (d, "peer-banned", "%s", fields);
    }
  if (d->verbose)
    {
      clear_line (d);
      fprintf (stderr, "peer %s%s%s%s banned: %s\n", ip, client ? " (" : "", client ? client : "",
               client ? ")" : "", BAN_REASON);
    }
}

static void
hash_failed_cb (GbtTorrent *t, guint piece, gpointer user_data)
{
  Download *d = user_data;
  if (d->json)
    json_event (d, "hash-failed", "\"piece\":%u", piece);
}

static gboolean
signal_cb (gpointer user_data)
{
  Download *d = user_data;

  if (d->stopping)
    {
      /* a second Ctrl-C: leave now (pieces on disk are all verified); the
       * source stays, run_torrent() removes it */
      g_main_loop_quit (d->loop);
      return G_SOURCE_CONTINUE;
    }
  if (d->seeding_since_us)
    download_stop (d, GBT_EXIT_OK, NULL); /* seeding ends on Ctrl-C: that is success */
  else
    download_stop (d, GBT_EXIT_FAILURE, "interrupted");
  return G_SOURCE_CONTINUE;
}

typedef struct {
  const char *torrent_path;
  char *dir;
  char *bind;
  char *listen;
  char *transports;
  char **transport_list; /* --transports, split and checked */
  char *encryption;
  GbtEncryption encryption_mode; /* --encryption, checked */
  int port;
  int max_peers;
  gboolean announce_all;
  gboolean no_port_mapping;
  gboolean json;
  gboolean seed;
  gboolean seed_only;
  int idle_timeout;
  double ratio_limit;
  double time_limit;
  char *select;
  char *skip;
  char *max_up;
  char *max_down;
  gboolean verbose;
} RunOptions;

static void
run_options_clear (RunOptions *o)
{
  g_free (o->dir);
  g_free (o->bind);
  g_free (o->listen);
  g_free (o->transports);
  g_free (o->encryption);
  g_strfreev (o->transport_list);
  g_free (o->select);
  g_free (o->skip);
  g_free (o->max_up);
  g_free (o->max_down);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RunOptions, run_options_clear)

/* what both download and seed take: how to reach the swarm */
static void
add_swarm_options (GOptionContext *ctx, RunOptions *o)
{
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &o->json, "Print progress as JSON lines on stdout", NULL },
    { "bind", 0, 0, G_OPTION_ARG_STRING, &o->bind, "Local address for connections and listening", "ADDR" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &o->listen, "Address to listen on (default: the --bind address, else all)", "ADDR" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &o->port, "Port to listen on (default: any free)", "N" },
    { "max-peers", 0, 0, G_OPTION_ARG_INT, &o->max_peers, "Most peers per torrent (default 50)", "N" },
    { "transports", 0, 0, G_OPTION_ARG_STRING, &o->transports, "Transports to reach and accept peers over, in order of preference (default tcp,utp)", "LIST" },
    { "encryption", 0, 0, G_OPTION_ARG_STRING, &o->encryption, "Protocol encryption (MSE/PE): prefer (default), require or off", "MODE" },
    { "max-up", 0, 0, G_OPTION_ARG_STRING, &o->max_up, "Upload limit, e.g. 500K, 2MiB, 10mbit (0: none)", "RATE" },
    { "announce-all", 0, 0, G_OPTION_ARG_NONE, &o->announce_all, "Announce to every tracker of every tier, not one at a time", NULL },
    { "no-port-mapping", 0, 0, G_OPTION_ARG_NONE, &o->no_port_mapping, "Do not ask the router to forward the listen ports (UPnP IGD, NAT-PMP)", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, "Say on stderr what happens: trackers, dropped and banned peers", NULL },
    { NULL }
  };

  /* GLib copies the entries */
  g_option_context_add_main_entries (ctx, entries, NULL);
}

/* parses, then checks what both commands share; FALSE: usage error printed */
static gboolean
parse_run_options (GOptionContext *ctx, const char *command, RunOptions *o, int *argc, char ***argv)
{
  if (!gbt_cli_parse (ctx, argc, argv))
    return FALSE;
  if (*argc != 2)
    {
      gbt_cli_error ("%s needs exactly one torrent file%s (try 'gbt %s --help')", command,
                     g_str_equal (command, "download") ? " or magnet link" : "", command);
      return FALSE;
    }
  if (o->port < 0 || o->port > 65535 || o->max_peers < 0)
    {
      gbt_cli_error ("--port and --max-peers take a positive number (port up to 65535)");
      return FALSE;
    }
  if (o->transports)
    {
      g_autoptr(GStrvBuilder) list = g_strv_builder_new ();
      g_auto(GStrv) names = g_strsplit (o->transports, ",", -1);
      guint n = 0;

      for (char **name = names; *name; name++)
        {
          char *t = g_strstrip (*name);
          if (*t == '\0')
            continue;
          if (!g_str_equal (t, "tcp") && !g_str_equal (t, "utp"))
            {
              gbt_cli_error ("--transports: '%s' is not a transport (tcp, utp)", t);
              return FALSE;
            }
          g_strv_builder_add (list, t);
          n++;
        }
      if (n == 0)
        {
          gbt_cli_error ("--transports needs at least one of tcp, utp");
          return FALSE;
        }
      o->transport_list = g_strv_builder_end (list);
    }
  if (o->encryption == NULL || g_str_equal (o->encryption, "prefer"))
    o->encryption_mode = GBT_ENCRYPTION_PREFER;
  else if (g_str_equal (o->encryption, "require"))
    o->encryption_mode = GBT_ENCRYPTION_REQUIRE;
  else if (g_str_equal (o->encryption, "off"))
    o->encryption_mode = GBT_ENCRYPTION_OFF;
  else
    {
      gbt_cli_error ("--encryption: '%s' is not prefer, require or off", o->encryption);
      return FALSE;
    }
  o->torrent_path = (*argv)[1];
  return TRUE;
}

/* "1,3-5" -> marks those indices in @mark; FALSE with a message when an
 * index is malformed or out of range */
static gboolean
parse_index_list (const char *text, guint n, gboolean *mark, char **message)
{
  g_auto(GStrv) items = g_strsplit (text, ",", -1);

  for (char **it = items; *it; it++)
    {
      guint64 a, b;
      char *end;
      char *item = g_strstrip (*it);

      if (*item == '\0')
        continue;
      if (!g_ascii_isdigit (*item))
        goto bad;
      a = g_ascii_strtoull (item, &end, 10);
      b = a;
      if (*end == '-')
        {
          if (!g_ascii_isdigit (end[1]))
            goto bad;
          b = g_ascii_strtoull (end + 1, &end, 10);
        }
      if (*end != '\0' || b < a)
        goto bad;
      if (b >= n)
        {
          *message = g_strdup_printf ("file index %" G_GUINT64_FORMAT " is out of range: the torrent "
                                      "has files 0 to %u (see 'gbt info')", b, n - 1);
          return FALSE;
        }
      for (guint64 i = a; i <= b; i++)
        mark[i] = TRUE;
      continue;
    bad:
      *message = g_strdup_printf ("'%s' is not a file index or range like 1,3-5", item);
      return FALSE;
    }
  return TRUE;
}

/* --select/--skip (or a magnet's so= list, @only) on the torrent's files;
 * not GBT_EXIT_OK: @message says why */
static int
apply_selection (GbtTorrent *torrent, const char *select, const char *skip, GArray *only,
                 char **message)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (torrent);
  guint n = gbt_metainfo_get_n_files (mi);
  g_autofree gboolean *wanted = g_new0 (gboolean, n);
  gboolean any = FALSE;

  /* the files marked are the wanted ones, or (--skip) the others */
  if (only)
    {
      for (guint i = 0; i < only->len; i++)
        if (g_array_index (only, guint, i) < n)
          wanted[g_array_index (only, guint, i)] = TRUE;
    }
  else if (!parse_index_list (select ? select : skip, n, wanted, message))
    return GBT_EXIT_USAGE;
  for (guint i = 0; i < n; i++)
    {
      if (skip && !only)
        wanted[i] = !wanted[i];
      any = any || wanted[i];
    }
  if (!any)
    {
      *message = g_strdup ("no file left to download");
      return GBT_EXIT_USAGE;
    }
  gbt_torrent_set_files_wanted (torrent, wanted, n);
  return GBT_EXIT_OK;
}

/* what was odd about the .torrent (bytes after its dictionary, names
 * changed to be safe on disk): a "warning" event each with --json, else
 * "gbt: warning: ..." on stderr */
static void
report_warnings (Download *d, GbtMetainfo *mi)
{
  if (!d->json)
    {
      clear_line (d);
      gbt_cli_print_warnings (mi);
      return;
    }
  for (const char *const *w = gbt_metainfo_get_warnings (mi); *w; w++)
    {
      g_autoptr(GString) s = g_string_new ("\"message\":");
      gbt_cli_json_string (s, *w);
      json_event (d, "warning", "%s", s->str);
    }
}

static void
metadata_cb (GbtTorrent *torrent, gpointer user_data)
{
  Download *d = user_data;
  GbtMetainfo *mi = gbt_torrent_get_metainfo (torrent);

  if (d->select || d->skip || (d->magnet_select && d->magnet_select->len > 0))
    {
      g_autofree char *message = NULL;
      int code = apply_selection (torrent, d->select, d->skip,
                                  d->select || d->skip ? NULL : d->magnet_select, &message);
      if (code != GBT_EXIT_OK)
        {
          download_stop (d, code, message);
          return;
        }
    }
  report_warnings (d, mi);
  if (d->json)
    {
      g_autoptr(GString) s = g_string_new ("\"name\":");
      gbt_cli_json_string (s, gbt_metainfo_get_name (mi));
      g_string_append_printf (s, ",\"files\":%u,\"total_pieces\":%u", gbt_metainfo_get_n_files (mi),
                              gbt_metainfo_get_n_pieces (mi));
      json_event (d, "metadata", "%s", s->str);
    }
  else if (d->verbose)
    {
      clear_line (d);
      fprintf (stderr, "metadata: %s, %u files, %u pieces\n", gbt_metainfo_get_name (mi),
               gbt_metainfo_get_n_files (mi), gbt_metainfo_get_n_pieces (mi));
    }
}

static int
run_torrent (const RunOptions *o, GbtCliGlobals *globals)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtMagnet) magnet = NULL;
  g_autoptr(GbtSession) session = NULL;
  g_autoptr(GbtTorrent) torrent = NULL;
  Download d = { 0 };
  int rc;
  guint tick_id, sigint_id, sigterm_id;
  guint64 up = 0, down = 0;

  if ((o->max_up && !gbt_rate_parse (o->max_up, &up, &error))
      || (o->max_down && !gbt_rate_parse (o->max_down, &down, &error)))
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_USAGE;
    }
  if (g_ascii_strncasecmp (o->torrent_path, "magnet:", 7) == 0)
    {
      if (o->seed_only)
        {
          gbt_cli_error ("seeding needs the .torrent file, not a magnet link");
          return GBT_EXIT_USAGE;
        }
      magnet = gbt_magnet_parse (o->torrent_path, &error);
      if (magnet == NULL)
        {
          gbt_cli_error ("cannot read magnet link: %s", error->message);
          return GBT_EXIT_USAGE;
        }
    }
  else if ((mi = gbt_metainfo_new_from_file (o->torrent_path, &error)) == NULL)
    {
      gbt_cli_error ("cannot read %s: %s", o->torrent_path, error->message);
      return GBT_EXIT_FAILURE;
    }
  if (o->seed_only && !g_file_test (o->dir, G_FILE_TEST_IS_DIR))
    {
      gbt_cli_error ("data directory %s does not exist", o->dir);
      return GBT_EXIT_FAILURE;
    }
  if (g_mkdir_with_parents (o->dir, 0755) != 0)
    {
      gbt_cli_error ("cannot create %s: %s", o->dir, g_strerror (errno));
      return GBT_EXIT_FAILURE;
    }

  session = gbt_session_new ();
  gbt_session_set_plugins (session, (const char *const *) globals->plugins,
                           (const char *const *) globals->plugin_dirs);
  if (o->bind)
    gbt_session_set_bind_address (session, o->bind);
  gbt_session_set_listen_address (session, o->listen ? o->listen : o->bind, o->port);
  if (o->transport_list)
    gbt_session_set_transports (session, (const char *const *) o->transport_list);
  if (o->max_peers > 0)
    gbt_session_set_max_peers_per_torrent (session, o->max_peers);
  gbt_session_set_rate_limits (session, up, down);
  gbt_session_set_announce_to_all (session, o->announce_all);
  gbt_session_set_encryption (session, o->encryption_mode);
  gbt_session_set_port_mapping (session, !o->no_port_mapping);
  if (!gbt_session_start (session, &error))
    {
      gbt_cli_error ("%s", error->message);
      return g_error_matches (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_UNKNOWN) ? GBT_EXIT_USAGE
                                                                                 : GBT_EXIT_FAILURE;
    }
  torrent = mi ? gbt_session_add_torrent (session, mi, o->dir, &error)
               : gbt_session_add_magnet (session, magnet, o->dir, &error);
  if (torrent == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }
  if ((o->select || o->skip) && mi)
    {
      g_autofree char *message = NULL;
      int code = apply_selection (torrent, o->select, o->skip, NULL, &message);
      if (code != GBT_EXIT_OK)
        {
          gbt_cli_error ("%s", message);
          return code;
        }
    }

  d.loop = g_main_loop_new (NULL, FALSE);
  d.session = session;
  d.torrent = torrent;
  d.json = o->json;
  d.seed = o->seed || o->seed_only;
  d.seed_only = o->seed_only;
  d.ratio_limit = o->ratio_limit;
  d.time_limit = o->time_limit;
  d.tty = !o->json && isatty (STDERR_FILENO);
  d.started_us = d.last_progress_us = g_get_monotonic_time ();
  d.idle_timeout = o->idle_timeout;
  d.exit_code = GBT_EXIT_FAILURE;
  d.verbose = globals->verbose || o->verbose;
  d.select = o->select;
  d.skip = o->skip;
  d.magnet_select = magnet ? magnet->select_only : NULL;
  d.clients = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_signal_connect (torrent, "finished", G_CALLBACK (finished_cb), &d);
  gbt_torrent_set_seed_limits (torrent, d.ratio_limit, (guint) MIN (ceil (d.time_limit), G_MAXUINT));
  g_signal_connect (torrent, "seed-limit-reached", G_CALLBACK (seed_limit_cb), &d);
  g_signal_connect (torrent, "notify::state", G_CALLBACK (state_cb), &d);
  g_signal_connect (torrent, "peer-banned", G_CALLBACK (banned_cb), &d);
  g_signal_connect (torrent, "peer-dropped", G_CALLBACK (dropped_cb), &d);
  g_signal_connect (torrent, "hash-failed", G_CALLBACK (hash_failed_cb), &d);
  g_signal_connect (torrent, "metadata-received", G_CALLBACK (metadata_cb), &d);
  tick_id = g_timeout_add (1000, tick_cb, &d);
  sigint_id = g_unix_signal_add (SIGINT, signal_cb, &d);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, &d);
  if (o->json)
    json_event (&d, "start", "\"listen_port\":%u", gbt_session_get_listen_port (session));
  if (mi)
    report_warnings (&d, mi);

  gbt_torrent_start (torrent);
  g_main_loop_run (d.loop);

  g_source_remove (tick_id);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  gbt_cli_wait_for_holds (session);
  clear_line (&d);
  if (d.exit_code != GBT_EXIT_OK)
    {
      if (o->json)
        {
          g_autoptr(GString) s = g_string_new ("\"reason\":");
          gbt_cli_json_string (s, d.fail_reason ? d.fail_reason : "stopped");
          json_event (&d, "error", "%s", s->str);
        }
      gbt_cli_error ("%s: %s", gbt_torrent_get_name (torrent),
                     d.fail_reason ? d.fail_reason : "stopped before completion");
    }
  else if (o->json && d.seeding_since_us)
    json_event (&d, "stopped", NULL);
  rc = d.exit_code;
  g_signal_handlers_disconnect_by_data (torrent, &d);
  g_main_loop_unref (d.loop);
  g_free (d.fail_reason);
  g_free (d.last_tracker_status);
  g_hash_table_unref (d.clients);
  return rc;
}

#define JSON_EVENTS_HELP                                                                         \
  "--json prints one JSON object a line on stdout, each with \"event\" and the counters\n"       \
  "(have, size, pieces, downloaded, uploaded, rates, peers, peer_sources, peer_transports,\n"     \
  "peer_list, port_mappings, announce_port).  Events:\n"           \
  "  start, metadata, progress (each second), done, seeding, stopped, error (reason),\n"         \
  "  warning (message: something odd about the .torrent, e.g. bytes after its end),\n"         \
  "  hash-failed (piece),\n"                                                                     \
  "  peer-dropped (address IP:port, client or null, reason): a peer closed for breaking\n"     \
  "    the protocol or misbehaving,\n"                                                         \
  "  peer-banned (address IP, client or null, reason): an address banned for sending\n"       \
  "    data that failed hash checks.\n"                                                         \
  "Without --json, warnings go to stderr (\"gbt: warning: ...\"); -v prints the\n"              \
  "trackers' state and dropped and banned peers there in words.\n\n"

int
gbt_cmd_download (int argc, char **argv, GbtCliGlobals *globals)
{
  g_auto(RunOptions) o = { 0 };
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &o.dir, "Directory to save into (default: .)", "DIR" },
    { "select", 0, 0, G_OPTION_ARG_STRING, &o.select, "Download only these files (indices from 'gbt info')", "1,3-5" },
    { "skip", 0, 0, G_OPTION_ARG_STRING, &o.skip, "Download all files but these", "1,3-5" },
    { "seed", 0, 0, G_OPTION_ARG_NONE, &o.seed, "Keep seeding after the download completes (until Ctrl-C)", NULL },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &o.idle_timeout, "Fail after N seconds without progress", "N" },
    { "max-down", 0, 0, G_OPTION_ARG_STRING, &o.max_down, "Download limit, e.g. 500K, 2MiB, 10mbit (0: none)", "RATE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("FILE.torrent|MAGNET - download a torrent");

  g_option_context_add_main_entries (ctx, entries, NULL);
  add_swarm_options (ctx, &o);
  g_option_context_set_description (ctx,
                                    "Examples:\n  gbt download ubuntu.iso.torrent -o ~/Downloads\n"
                                    "  gbt download album.torrent --select 0,3-5\n"
                                    "  gbt download 'magnet:?xt=urn:btih:<info-hash>&tr=<tracker>'\n\n"
                                    "A magnet link's metadata comes from its peers (BEP 9): from "
                                    "the trackers it names (tr=), the peers it names (x.pe=) and "
                                    "any peer source plugin.\n\n"
                                    JSON_EVENTS_HELP
                                    "Exit status: 0 when every piece is verified on disk, 1 on failure "
                                    "or interruption (verified data is kept: run again to resume), "
                                    "2 on a usage error.");
  if (!parse_run_options (ctx, "download", &o, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (o.idle_timeout < 0)
    {
      gbt_cli_error ("--idle-timeout takes a positive number");
      return GBT_EXIT_USAGE;
    }
  if (o.select && o.skip)
    {
      gbt_cli_error ("use either --select or --skip, not both");
      return GBT_EXIT_USAGE;
    }
  if (o.dir == NULL)
    o.dir = g_strdup (".");
  return run_torrent (&o, globals);
}

int
gbt_cmd_seed (int argc, char **argv, GbtCliGlobals *globals)
{
  g_auto(RunOptions) o = { 0 };
  double minutes = 0;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &o.dir, "Directory holding the torrent's data (default: .)", "DIR" },
    { "ratio", 0, 0, G_OPTION_ARG_DOUBLE, &o.ratio_limit, "Stop once uploaded/size reaches R", "R" },
    { "time", 0, 0, G_OPTION_ARG_DOUBLE, &minutes, "Stop after seeding for M minutes", "M" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("FILE.torrent - verify local data, then seed it");

  g_option_context_add_main_entries (ctx, entries, NULL);
  add_swarm_options (ctx, &o);
  g_option_context_set_description (ctx,
                                    "Example:\n  gbt seed ubuntu.iso.torrent -d ~/Downloads --ratio 2\n\n"
                                    JSON_EVENTS_HELP
                                    "Seeds until Ctrl-C (announcing 'stopped') or a limit.  Exit status: "
                                    "0 after seeding, 1 if the data is incomplete or on failure, 2 on a "
                                    "usage error.");
  if (!parse_run_options (ctx, "seed", &o, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (o.ratio_limit < 0 || minutes < 0)
    {
      gbt_cli_error ("--ratio and --time take a positive number");
      return GBT_EXIT_USAGE;
    }
  if (o.dir == NULL)
    o.dir = g_strdup (".");
  o.seed_only = TRUE;
  o.time_limit = minutes * 60;
  return run_torrent (&o, globals);
}
