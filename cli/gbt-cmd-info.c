/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gbt info: what a .torrent file or a magnet link holds, as text or JSON. */
#include <stdio.h>
#include <string.h>

#include "gbt-cli.h"

static void
hex20 (char out[41], const guint8 *hash)
{
  static const char digits[] = "0123456789abcdef";

  for (guint i = 0; i < 20; i++)
    {
      out[2 * i] = digits[hash[i] >> 4];
      out[2 * i + 1] = digits[hash[i] & 0xf];
    }
  out[40] = '\0';
}

static char *
attr_string (guint32 attr)
{
  GString *s = g_string_new (NULL);

  if (attr & GBT_FILE_ATTR_PAD)
    g_string_append_c (s, 'p');
  if (attr & GBT_FILE_ATTR_EXECUTABLE)
    g_string_append_c (s, 'x');
  if (attr & GBT_FILE_ATTR_HIDDEN)
    g_string_append_c (s, 'h');
  if (attr & GBT_FILE_ATTR_SYMLINK)
    g_string_append_c (s, 'l');
  return g_string_free (s, FALSE);
}

static char *
format_date (gint64 t)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (t);

  if (dt == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, t);
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S UTC");
}

static void
json_strv (GString *out, const char *const *v)
{
  g_string_append_c (out, '[');
  for (guint i = 0; v && v[i]; i++)
    {
      if (i)
        g_string_append_c (out, ',');
      gbt_cli_json_string (out, v[i]);
    }
  g_string_append_c (out, ']');
}

static void
json_nullable (GString *out, const char *key, const char *value)
{
  g_string_append_printf (out, ",\"%s\":", key);
  if (value)
    gbt_cli_json_string (out, value);
  else
    g_string_append (out, "null");
}

static void
print_torrent_json (GbtMetainfo *mi)
{
  g_autoptr(GString) out = g_string_new ("{");
  g_autofree char *hash = gbt_metainfo_dup_info_hash_hex (mi);

  g_string_append (out, "\"type\":\"torrent\",\"info_hash\":");
  gbt_cli_json_string (out, hash);
  g_string_append (out, ",\"name\":");
  gbt_cli_json_string (out, gbt_metainfo_get_name (mi));
  g_string_append_printf (out,
                          ",\"total_size\":%" G_GUINT64_FORMAT ",\"piece_length\":%u"
                          ",\"piece_count\":%u,\"private\":%s,\"multi_file\":%s",
                          gbt_metainfo_get_total_size (mi), gbt_metainfo_get_piece_length (mi),
                          gbt_metainfo_get_n_pieces (mi),
                          gbt_metainfo_is_private (mi) ? "true" : "false",
                          gbt_metainfo_is_multi_file (mi) ? "true" : "false");

  g_string_append (out, ",\"files\":[");
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autofree char *attr = attr_string (f->attr);

      if (i)
        g_string_append_c (out, ',');
      g_string_append_printf (out, "{\"index\":%u,\"path\":", i);
      gbt_cli_json_string (out, f->path);
      g_string_append_printf (out,
                              ",\"length\":%" G_GUINT64_FORMAT ",\"offset\":%" G_GUINT64_FORMAT
                              ",\"pad\":%s,\"attr\":",
                              f->length, f->offset, (f->attr & GBT_FILE_ATTR_PAD) ? "true" : "false");
      gbt_cli_json_string (out, attr);
      json_nullable (out, "symlink_target", f->symlink_target);
      g_string_append_c (out, '}');
    }
  g_string_append (out, "],\"trackers\":[");
  for (guint t = 0; t < gbt_metainfo_get_n_tiers (mi); t++)
    {
      if (t)
        g_string_append_c (out, ',');
      json_strv (out, gbt_metainfo_get_tier (mi, t));
    }
  g_string_append (out, "],\"web_seeds\":");
  json_strv (out, gbt_metainfo_get_url_list (mi));
  json_nullable (out, "comment", gbt_metainfo_get_comment (mi));
  json_nullable (out, "created_by", gbt_metainfo_get_created_by (mi));
  if (gbt_metainfo_get_creation_date (mi) >= 0)
    g_string_append_printf (out, ",\"creation_date\":%" G_GINT64_FORMAT,
                            gbt_metainfo_get_creation_date (mi));
  else
    g_string_append (out, ",\"creation_date\":null");
  g_string_append (out, ",\"warnings\":");
  json_strv (out, gbt_metainfo_get_warnings (mi));
  g_string_append (out, "}\n");
  fputs (out->str, stdout);
}

static void
print_torrent_text (GbtMetainfo *mi)
{
  g_autofree char *hash = gbt_metainfo_dup_info_hash_hex (mi);
  g_autofree char *total = gbt_cli_format_size (gbt_metainfo_get_total_size (mi));
  g_autofree char *plen = gbt_cli_format_size (gbt_metainfo_get_piece_length (mi));
  const char *const *seeds = gbt_metainfo_get_url_list (mi);
  guint n_files = gbt_metainfo_get_n_files (mi);
  int width = 1;

  printf ("Name:        %s\n", gbt_metainfo_get_name (mi));
  printf ("Info-hash:   %s\n", hash);
  printf ("Total size:  %s (%" G_GUINT64_FORMAT " bytes)\n", total,
          gbt_metainfo_get_total_size (mi));
  printf ("Pieces:      %u of %s (%u bytes)\n", gbt_metainfo_get_n_pieces (mi), plen,
          gbt_metainfo_get_piece_length (mi));
  printf ("Private:     %s\n", gbt_metainfo_is_private (mi) ? "yes" : "no");
  if (gbt_metainfo_get_created_by (mi))
    printf ("Created by:  %s\n", gbt_metainfo_get_created_by (mi));
  if (gbt_metainfo_get_creation_date (mi) >= 0)
    {
      g_autofree char *date = format_date (gbt_metainfo_get_creation_date (mi));
      printf ("Created on:  %s\n", date);
    }
  if (gbt_metainfo_get_comment (mi))
    printf ("Comment:     %s\n", gbt_metainfo_get_comment (mi));

  printf ("\nTrackers:%s\n", gbt_metainfo_get_n_tiers (mi) ? "" : " none");
  for (guint t = 0; t < gbt_metainfo_get_n_tiers (mi); t++)
    {
      const char *const *tier = gbt_metainfo_get_tier (mi, t);
      char label[32];
      g_snprintf (label, sizeof label, "tier %u", t + 1);
      for (guint i = 0; tier[i]; i++)
        printf ("  %-8s %s\n", i == 0 ? label : "", tier[i]);
    }
  if (seeds[0])
    {
      printf ("\nWeb seeds:\n");
      for (guint i = 0; seeds[i]; i++)
        printf ("  %s\n", seeds[i]);
    }

  for (guint n = n_files; n >= 10; n /= 10)
    width++;
  printf ("\nFiles (%u):\n", n_files);
  for (guint i = 0; i < n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autofree char *size = gbt_cli_format_size (f->length);

      printf ("  %*u  %10s  %s", width, i, size, f->path);
      if (f->attr & GBT_FILE_ATTR_PAD)
        printf ("  [pad]");
      if (f->attr & GBT_FILE_ATTR_EXECUTABLE)
        printf ("  [executable]");
      if (f->attr & GBT_FILE_ATTR_HIDDEN)
        printf ("  [hidden]");
      if (f->attr & GBT_FILE_ATTR_SYMLINK)
        printf ("  -> %s", f->symlink_target);
      printf ("\n");
    }
}

static void
print_magnet (GbtMagnet *magnet, gboolean json)
{
  char hash[41];

  hex20 (hash, magnet->info_hash);
  if (json)
    {
      g_autoptr(GString) out = g_string_new ("{\"type\":\"magnet\",\"info_hash\":");
      gbt_cli_json_string (out, hash);
      json_nullable (out, "name", magnet->display_name);
      /* a tier per tracker, as libtorrent does: the same shape as a torrent */
      g_string_append (out, ",\"trackers\":[");
      for (guint i = 0; magnet->trackers[i]; i++)
        {
          const char *tier[] = { magnet->trackers[i], NULL };
          if (i)
            g_string_append_c (out, ',');
          json_strv (out, tier);
        }
      g_string_append (out, "],\"peers\":");
      json_strv (out, (const char *const *) magnet->peers);
      g_string_append (out, ",\"select_only\":");
      if (magnet->select_only)
        {
          g_string_append_c (out, '[');
          for (guint i = 0; i < magnet->select_only->len; i++)
            g_string_append_printf (out, "%s%u", i ? "," : "",
                                    g_array_index (magnet->select_only, guint, i));
          g_string_append_c (out, ']');
        }
      else
        g_string_append (out, "null");
      g_string_append (out, "}\n");
      fputs (out->str, stdout);
      return;
    }

  printf ("Name:        %s\n", magnet->display_name ? magnet->display_name : "(not given)");
  printf ("Info-hash:   %s\n", hash);
  printf ("\nTrackers:%s\n", magnet->trackers[0] ? "" : " none");
  for (guint i = 0; magnet->trackers[i]; i++)
    printf ("  %s\n", magnet->trackers[i]);
  if (magnet->peers[0])
    {
      printf ("\nPeers:\n");
      for (guint i = 0; magnet->peers[i]; i++)
        printf ("  %s\n", magnet->peers[i]);
    }
  if (magnet->select_only)
    {
      printf ("\nOnly files:  ");
      for (guint i = 0; i < magnet->select_only->len; i++)
        printf ("%s%u", i ? "," : "", g_array_index (magnet->select_only, guint, i));
      printf ("\n");
    }
  printf ("\nThe file list is known once the metadata arrives from peers.\n");
}

int
gbt_cmd_info (int argc, char **argv, GbtCliGlobals *globals)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FILE.torrent|MAGNET");
  g_autoptr(GError) error = NULL;
  const char *what;

  g_option_context_set_summary (context, "Show what a torrent file or a magnet link holds: name, "
                                         "info-hash, size, pieces, files, trackers, web seeds.  "
                                         "What was odd about the file (bytes after its end, "
                                         "file names changed to be safe on disk) is printed "
                                         "on stderr as \"gbt: warning: ...\", or with --json "
                                         "listed in \"warnings\".");
  g_option_context_set_description (context,
                                    "Examples:\n"
                                    "  gbt info ubuntu-24.04-desktop-amd64.iso.torrent\n"
                                    "  gbt info --json ubuntu.torrent\n"
                                    "  gbt info 'magnet:?xt=urn:btih:<40 hex digits>&dn=name'\n"
                                    "\n"
                                    "Exit status: 0 success, 1 unreadable or invalid input, "
                                    "2 usage error.\n");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!gbt_cli_parse (context, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc != 2)
    {
      gbt_cli_error ("info needs exactly one torrent file or magnet link (try 'gbt info --help')");
      return GBT_EXIT_USAGE;
    }
  what = argv[1];

  if (g_ascii_strncasecmp (what, "magnet:", 7) == 0)
    {
      g_autoptr(GbtMagnet) magnet = gbt_magnet_parse (what, &error);
      if (magnet == NULL)
        {
          gbt_cli_error ("cannot read magnet link: %s", error->message);
          return GBT_EXIT_FAILURE;
        }
      print_magnet (magnet, json);
    }
  else
    {
      g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_file (what, &error);
      if (mi == NULL)
        {
          gbt_cli_error ("cannot read %s: %s", what, error->message);
          return GBT_EXIT_FAILURE;
        }
      /* --json has them in its "warnings" */
      if (json)
        print_torrent_json (mi);
      else
        {
          gbt_cli_print_warnings (mi);
          print_torrent_text (mi);
        }
    }
  return fflush (stdout) == 0 ? GBT_EXIT_OK : GBT_EXIT_FAILURE;
}
