/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt verify: check existing data against a .torrent, every piece, on every
 * core (GbtDiskIo's verify), and say which pieces and files are bad or
 * missing.  A piece is "missing" when a file it needs is absent or too
 * short, "bad" when its data is all there but hashes differently.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gbt-cli.h"

typedef struct
{
  GMainLoop *loop;
  GbtMetainfo *mi;
  gboolean tty;
  gint64 start;
  GAsyncResult *result;
} VerifyState;

static void
progress_cb (guint checked, guint n_pieces, gpointer user_data)
{
  VerifyState *s = user_data;
  double secs = (double) (g_get_monotonic_time () - s->start) / G_USEC_PER_SEC;
  guint64 bytes = MIN ((guint64) checked * gbt_metainfo_get_piece_length (s->mi),
                       gbt_metainfo_get_total_size (s->mi));

  if (!s->tty)
    return;
  fprintf (stderr, "\r\033[KVerifying %5.1f%%  %7.1f MiB/s",
           n_pieces ? 100.0 * checked / n_pieces : 100.0,
           secs > 0 ? (double) bytes / (1024.0 * 1024.0) / secs : 0.0);
  fflush (stderr);
}

static void
verified_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VerifyState *s = user_data;

  s->result = g_object_ref (result);
  g_main_loop_quit (s->loop);
}

/* "3-7,12" from ascending piece numbers */
static char *
format_ranges (GArray *pieces)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < pieces->len;)
    {
      guint first = g_array_index (pieces, guint, i);
      guint last = first;

      while (i + 1 < pieces->len && g_array_index (pieces, guint, i + 1) == last + 1)
        last = g_array_index (pieces, guint, ++i);
      i++;
      if (out->len)
        g_string_append_c (out, ',');
      if (first == last)
        g_string_append_printf (out, "%u", first);
      else
        g_string_append_printf (out, "%u-%u", first, last);
    }
  return g_string_free (out, FALSE);
}

/* the pieces of @f that are not good, as ranges; NULL when all are */
static char *
file_bad_ranges (GbtMetainfo *mi, GbtVerifyResult *result, const GbtFileInfo *f)
{
  g_autoptr(GArray) touched = g_array_new (FALSE, FALSE, sizeof (guint));
  guint32 piece_length = gbt_metainfo_get_piece_length (mi);

  if (f->length == 0 || (f->attr & GBT_FILE_ATTR_PAD))
    return NULL;
  for (guint p = (guint) (f->offset / piece_length);
       p <= (guint) ((f->offset + f->length - 1) / piece_length); p++)
    if (gbt_verify_result_get_piece_state (result, p) != GBT_VERIFY_PIECE_GOOD)
      g_array_append_val (touched, p);
  return touched->len ? format_ranges (touched) : NULL;
}

int
gbt_cmd_verify (int argc, char **argv, GbtCliGlobals *globals)
{
  g_autofree char *dir = NULL;
  gboolean json = FALSE;
  int threads = 0;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &dir,
      "The directory holding the data, as given to 'gbt download -o' (default: here)", "DIR" },
    { "threads", 'j', 0, G_OPTION_ARG_INT, &threads,
      "Hashing threads (default: one per core)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FILE.torrent - check downloaded data");
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GArray) bad = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GbtVerifyResult) result = NULL;
  g_autofree char *bad_text = NULL;
  g_autofree char *missing_text = NULL;
  g_autofree char *hash_hex = NULL;
  VerifyState s = { 0 };
  guint n_pieces, n_files, n_good;
  guint64 good_bytes = 0;
  double secs;
  GStatBuf st;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Hashes every piece of the data found in DIR, on every core.");
  g_option_context_set_description (context,
    "Bad pieces are there but hash differently; missing pieces need a file that\n"
    "is absent or too short.  Both are listed as ranges, with the files they\n"
    "touch.\n"
    "\n"
    "Example:\n"
    "  gbt verify ubuntu.torrent -o ~/Downloads\n"
    "\n"
    "What was odd about the .torrent (bytes after its end, names changed to be\n"
    "safe on disk) is printed on stderr as \"gbt: warning: ...\", or with --json\n"
    "listed in \"warnings\".\n"
    "\n"
    "Exit status: 0 every piece good, 1 some bad or missing (or an error), 2 usage.");
  if (!gbt_cli_parse (context, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc != 2)
    {
      gbt_cli_error (argc < 2 ? "verify needs a .torrent file (try --help)"
                              : "verify takes one .torrent file (try --help)");
      return GBT_EXIT_USAGE;
    }
  if (threads < 0)
    {
      gbt_cli_error ("--threads must be 0 or more");
      return GBT_EXIT_USAGE;
    }
  if (dir == NULL)
    dir = g_strdup (".");

  mi = gbt_metainfo_new_from_file (argv[1], &error);
  if (mi == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }
  if (!json)
    gbt_cli_print_warnings (mi); /* --json: in its "warnings" */
  if (g_stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      gbt_cli_error ("%s is not a directory", dir);
      return GBT_EXIT_FAILURE;
    }

  n_pieces = gbt_metainfo_get_n_pieces (mi);
  n_files = gbt_metainfo_get_n_files (mi);
  loop = g_main_loop_new (NULL, FALSE);
  s.loop = loop;
  s.mi = mi;
  s.tty = isatty (STDERR_FILENO);

  s.start = g_get_monotonic_time ();
  gbt_metainfo_verify_async (mi, dir, (guint) threads, progress_cb, &s, NULL, NULL, verified_cb,
                             &s);
  while (s.result == NULL)
    g_main_loop_run (loop);
  result = gbt_metainfo_verify_finish (mi, s.result, &error);
  g_clear_object (&s.result);
  secs = (double) (g_get_monotonic_time () - s.start) / G_USEC_PER_SEC;
  if (s.tty)
    fprintf (stderr, "\r\033[K");
  if (result == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }

  n_good = gbt_verify_result_get_n_good (result);
  good_bytes = gbt_verify_result_get_good_bytes (result);
  for (guint p = 0; p < n_pieces; p++)
    switch (gbt_verify_result_get_piece_state (result, p))
      {
      case GBT_VERIFY_PIECE_GOOD:
        break;
      case GBT_VERIFY_PIECE_BAD:
        g_array_append_val (bad, p);
        break;
      case GBT_VERIFY_PIECE_MISSING:
        g_array_append_val (missing, p);
        break;
      }
  bad_text = format_ranges (bad);
  missing_text = format_ranges (missing);
  hash_hex = gbt_metainfo_dup_info_hash_hex (mi);

  if (json)
    {
      g_autoptr(GString) out = g_string_new ("{\"torrent\":");
      gboolean first = TRUE;

      gbt_cli_json_string (out, argv[1]);
      g_string_append (out, ",\"directory\":");
      gbt_cli_json_string (out, dir);
      g_string_append (out, ",\"name\":");
      gbt_cli_json_string (out, gbt_metainfo_get_name (mi));
      g_string_append (out, ",\"info_hash\":");
      gbt_cli_json_string (out, hash_hex);
      g_string_append_printf (out,
                              ",\"complete\":%s,\"pieces\":%u,\"good\":%u,\"bad_count\":%u"
                              ",\"missing_count\":%u,\"bad\":",
                              n_good == n_pieces ? "true" : "false", n_pieces,
                              n_good, bad->len, missing->len);
      gbt_cli_json_string (out, bad_text);
      g_string_append (out, ",\"missing\":");
      gbt_cli_json_string (out, missing_text);
      g_string_append_printf (out,
                              ",\"total_size\":%" G_GUINT64_FORMAT ",\"good_size\":%"
                              G_GUINT64_FORMAT ",\"seconds\":%.3f,\"mib_per_s\":%.1f,\"files\":[",
                              gbt_metainfo_get_total_size (mi), good_bytes, secs,
                              secs > 0 ? (double) gbt_metainfo_get_total_size (mi)
                                           / (1024.0 * 1024.0) / secs
                                       : 0.0);
      for (guint i = 0; i < n_files; i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
          g_autofree char *ranges = file_bad_ranges (mi, result, f);
          GbtVerifyFileState state = gbt_verify_result_get_file_state (result, i, NULL);

          if (ranges == NULL)
            continue;
          g_string_append (out, first ? "{\"path\":" : ",{\"path\":");
          first = FALSE;
          gbt_cli_json_string (out, f->path);
          g_string_append_printf (out, ",\"state\":\"%s\",\"pieces\":",
                                  state == GBT_VERIFY_FILE_ABSENT  ? "absent"
                                  : state == GBT_VERIFY_FILE_SHORT ? "short"
                                                                   : "bad");
          gbt_cli_json_string (out, ranges);
          g_string_append_c (out, '}');
        }
      g_string_append (out, "],\"warnings\":[");
      for (const char *const *w = gbt_metainfo_get_warnings (mi); *w; w++)
        {
          if (w != gbt_metainfo_get_warnings (mi))
            g_string_append_c (out, ',');
          gbt_cli_json_string (out, *w);
        }
      g_string_append (out, "]}");
      printf ("%s\n", out->str);
    }
  else
    {
      g_autofree char *good_size = gbt_cli_format_size (good_bytes);
      g_autofree char *total_size = gbt_cli_format_size (gbt_metainfo_get_total_size (mi));
      gboolean header = FALSE;

      printf ("%s: %u of %u pieces good (%s of %s), checked in %.2f s (%.1f MiB/s)\n",
              gbt_metainfo_get_name (mi), n_good, n_pieces, good_size, total_size, secs,
              secs > 0 ? (double) gbt_metainfo_get_total_size (mi) / (1024.0 * 1024.0) / secs
                       : 0.0);
      if (bad->len)
        printf ("Bad pieces (%u): %s\n", bad->len, bad_text);
      if (missing->len)
        printf ("Missing pieces (%u): %s\n", missing->len, missing_text);
      for (guint i = 0; i < n_files; i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
          g_autofree char *ranges = file_bad_ranges (mi, result, f);
          guint64 disk_size;
          GbtVerifyFileState state = gbt_verify_result_get_file_state (result, i, &disk_size);

          if (ranges == NULL)
            continue;
          if (!header)
            printf ("Files affected:\n");
          header = TRUE;
          if (state == GBT_VERIFY_FILE_ABSENT)
            printf ("  %s: absent (pieces %s)\n", f->path, ranges);
          else if (state == GBT_VERIFY_FILE_SHORT)
            printf ("  %s: short, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                    " bytes (pieces %s)\n", f->path, disk_size, f->length, ranges);
          else
            printf ("  %s: pieces %s not good\n", f->path, ranges);
        }
    }

  return n_good == n_pieces ? GBT_EXIT_OK : GBT_EXIT_FAILURE;
}
