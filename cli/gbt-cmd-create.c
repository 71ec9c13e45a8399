/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gbt create: make a .torrent from a file or a directory (GbtCreator). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gbt-cli.h"

typedef struct
{
  gboolean tty;
  gint64 start;
  GMainLoop *loop;
  GAsyncResult *result;
} Progress;

static void
progress_cb (GbtCreator *creator, guint64 done, guint64 total, gpointer user_data)
{
  Progress *p = user_data;
  double secs = (double) (g_get_monotonic_time () - p->start) / G_USEC_PER_SEC;

  if (!p->tty)
    return;
  fprintf (stderr, "\r\033[KHashing %5.1f%%  %7.1f MiB/s",
           total ? 100.0 * (double) done / (double) total : 100.0,
           secs > 0 ? (double) done / (1024.0 * 1024.0) / secs : 0.0);
  fflush (stderr);
}

static void
created_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Progress *p = user_data;

  p->result = g_object_ref (result);
  g_main_loop_quit (p->loop);
}

static const char summary[] =
  "Hashes the data with every core; the output is written atomically.\n"
  "\n"
  "Options -t and -w may be repeated.  Each -t makes a tracker tier of its own\n"
  "(BEP 12); '-t URL1,URL2' puts both in one tier.  Without -t the torrent is\n"
  "trackerless (DHT and peer exchange only).\n"
  "\n"
  "A directory gives a multi-file torrent: every regular file below it,\n"
  "hidden ones and empty ones included, symlinks followed, sorted by path\n"
  "(as mktorrent does, so both make the same info-hash).\n"
  "\n"
  "The piece size is automatic by default: the smallest power of two from\n"
  "16 KiB to 16 MiB giving at most 2048 pieces.\n"
  "\n"
  "The same input gives byte-identical torrents when the creation date is\n"
  "left out (--no-date) or fixed by SOURCE_DATE_EPOCH.\n"
  "\n"
  "Example:\n"
  "  gbt create ~/photos -t udp://tracker.example:6969/announce \\\n"
  "             -t https://backup.example/announce --piece-size 1M -o photos.torrent\n"
  "\n"
  "Exit status: 0 success, 1 failure, 2 usage error.";

int
gbt_cmd_create (int argc, char **argv, GbtCliGlobals *globals)
{
  g_auto(GStrv) trackers = NULL;
  g_auto(GStrv) web_seeds = NULL;
  g_autofree char *piece_size = NULL;
  g_autofree char *output = NULL;
  g_autofree char *comment = NULL;
  g_autofree char *name = NULL;
  gboolean is_private = FALSE;
  gboolean no_date = FALSE;
  gboolean json = FALSE;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "tracker", 't', 0, G_OPTION_ARG_STRING_ARRAY, &trackers,
      "Tracker announce URL (repeat for more tiers; URL1,URL2 for one tier)", "URL" },
    { "piece-size", 'p', 0, G_OPTION_ARG_STRING, &piece_size,
      "Piece size: auto (default), bytes, or 256K, 1M, 4MiB", "SIZE" },
    { "private", 0, 0, G_OPTION_ARG_NONE, &is_private,
      "Set the private flag (BEP 27: trackers only, no DHT or PEX)", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
      "Where to write the torrent (default: NAME.torrent here)", "FILE" },
    { "comment", 'c', 0, G_OPTION_ARG_STRING, &comment, "A comment", "TEXT" },
    { "web-seed", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &web_seeds,
      "Web seed URL (BEP 19; repeatable)", "URL" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name,
      "Torrent name (default: the base name of PATH)", "NAME" },
    { "no-date", 0, 0, G_OPTION_ARG_NONE, &no_date,
      "Leave out the creation date, for byte-identical output", NULL },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads,
      "Hashing threads (default: one per core)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("PATH - make a .torrent");
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) torrent = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *hash_hex = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  const char *epoch;
  Progress progress = { 0 };
  double secs;
  guint32 piece_length;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Makes a .torrent from a file or a directory.");
  g_option_context_set_description (context, summary);
  if (!gbt_cli_parse (context, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc != 2)
    {
      gbt_cli_error (argc < 2 ? "create needs a file or directory (try --help)"
                              : "create takes one PATH (try --help)");
      return GBT_EXIT_USAGE;
    }
  if (threads < 0)
    {
      gbt_cli_error ("--threads must be 0 or more");
      return GBT_EXIT_USAGE;
    }

  creator = gbt_creator_new (argv[1], &error);
  if (creator == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }

  /* options: every mistake here is the user's, so exit 2 */
  for (guint i = 0; trackers && trackers[i]; i++)
    {
      g_auto(GStrv) urls = g_strsplit (trackers[i], ",", -1);
      g_autoptr(GStrvBuilder) tier = g_strv_builder_new ();
      g_auto(GStrv) tier_urls = NULL;

      for (guint k = 0; urls[k]; k++)
        if (*g_strstrip (urls[k]))
          g_strv_builder_add (tier, urls[k]);
      tier_urls = g_strv_builder_end (tier);
      if (!gbt_creator_add_tier (creator, (const char *const *) tier_urls, &error))
        goto usage;
    }
  for (guint i = 0; web_seeds && web_seeds[i]; i++)
    if (!gbt_creator_add_web_seed (creator, web_seeds[i], &error))
      goto usage;
  if (name != NULL && !gbt_creator_set_name (creator, name, &error))
    goto usage;
  if (piece_size != NULL && g_ascii_strcasecmp (piece_size, "auto") != 0)
    {
      guint64 size;

      if (!gbt_creator_parse_size (piece_size, &size, &error))
        goto usage;
      if (!gbt_creator_set_piece_length (creator, size > G_MAXUINT32 ? 1 : (guint32) size,
                                         &error))
        goto usage;
    }
  gbt_creator_set_comment (creator, comment);
  gbt_creator_set_private (creator, is_private);
  /* SOURCE_DATE_EPOCH: the reproducible-builds convention for a fixed date */
  epoch = g_getenv ("SOURCE_DATE_EPOCH");
  if (no_date)
    gbt_creator_set_creation_date (creator, -1);
  else if (epoch != NULL && *epoch != '\0')
    {
      guint64 t;

      if (!g_ascii_string_to_unsigned (epoch, 10, 0, G_MAXINT64, &t, NULL))
        {
          gbt_cli_error ("SOURCE_DATE_EPOCH is not a number of seconds: '%s'", epoch);
          return GBT_EXIT_USAGE;
        }
      gbt_creator_set_creation_date (creator, (gint64) t);
    }
  else
    gbt_creator_set_creation_date (creator, g_get_real_time () / G_USEC_PER_SEC);

  out_path = output != NULL ? g_strdup (output)
                            : g_strconcat (gbt_creator_get_name (creator), ".torrent", NULL);
  piece_length = gbt_creator_get_piece_length (creator);

  progress.tty = isatty (STDERR_FILENO);
  progress.start = g_get_monotonic_time ();
  loop = g_main_loop_new (NULL, FALSE);
  progress.loop = loop;
  gbt_creator_set_n_threads (creator, (guint) threads);
  g_signal_connect (creator, "progress", G_CALLBACK (progress_cb), &progress);
  gbt_creator_create_async (creator, NULL, created_cb, &progress);
  while (progress.result == NULL)
    g_main_loop_run (loop);
  torrent = gbt_creator_create_finish (creator, progress.result, &error);
  g_clear_object (&progress.result);
  secs = (double) (g_get_monotonic_time () - progress.start) / G_USEC_PER_SEC;
  if (progress.tty)
    fprintf (stderr, "\r\033[K");
  if (torrent == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }

  /* read it back as any client would: catches a bad torrent before it spreads */
  mi = gbt_metainfo_new_from_bytes (torrent, &error);
  if (mi == NULL)
    {
      gbt_cli_error ("The torrent made does not read back: %s", error->message);
      return GBT_EXIT_FAILURE;
    }

  if (!g_file_set_contents_full (out_path, g_bytes_get_data (torrent, NULL),
                                 (gssize) g_bytes_get_size (torrent),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }

  hash_hex = gbt_metainfo_dup_info_hash_hex (mi);
  if (json)
    {
      g_autoptr(GString) out = g_string_new ("{\"path\":");

      gbt_cli_json_string (out, out_path);
      g_string_append (out, ",\"info_hash\":");
      gbt_cli_json_string (out, hash_hex);
      g_string_append (out, ",\"name\":");
      gbt_cli_json_string (out, gbt_creator_get_name (creator));
      g_string_append_printf (out,
                              ",\"files\":%u,\"total_size\":%" G_GUINT64_FORMAT
                              ",\"piece_length\":%u,\"pieces\":%u,\"private\":%s"
                              ",\"seconds\":%.3f}",
                              gbt_creator_get_n_files (creator),
                              gbt_creator_get_total_size (creator), piece_length,
                              gbt_metainfo_get_n_pieces (mi), is_private ? "true" : "false",
                              secs);
      printf ("%s\n", out->str);
    }
  else
    {
      g_autofree char *size = gbt_cli_format_size (gbt_creator_get_total_size (creator));
      g_autofree char *psize = gbt_cli_format_size (piece_length);

      printf ("Created %s\n", out_path);
      printf ("  name:      %s\n", gbt_creator_get_name (creator));
      printf ("  info hash: %s\n", hash_hex);
      printf ("  files:     %u, %s\n", gbt_creator_get_n_files (creator), size);
      printf ("  pieces:    %u of %s\n", gbt_metainfo_get_n_pieces (mi), psize);
      printf ("  hashed in %.2f s (%.1f MiB/s)\n", secs,
              secs > 0 ? (double) gbt_creator_get_total_size (creator) / (1024.0 * 1024.0) / secs
                       : 0.0);
    }
  return GBT_EXIT_OK;

usage:
  gbt_cli_error ("%s", error->message);
  return GBT_EXIT_USAGE;
}
