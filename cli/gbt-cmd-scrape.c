/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt scrape: ask every tracker of a torrent (all tiers, in parallel) how
 * many seeders, leechers and completed downloads it counts (BEP 48 for
 * HTTP, BEP 15 for UDP).  One line per tracker; exit 0 when at least one
 * answered.
 */
#include <stdio.h>
#include <string.h>

#include "gbt-cli.h"

#define DEFAULT_TIMEOUT_S 15

typedef struct {
  char *url;
  GbtScrapeResponse *response;
  GError *error;
  gboolean done;
} Entry;

typedef struct {
  GPtrArray *entries;
  guint pending;
} Scrape;

static void
entry_free (Entry *e)
{
  g_free (e->url);
  g_clear_pointer (&e->response, gbt_scrape_response_free);
  g_clear_error (&e->error);
  g_free (e);
}

typedef struct {
  Scrape *scrape;
  Entry *entry;
} Call;

static void
scrape_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;

  call->entry->response
    = gbt_tracker_scrape_finish (GBT_TRACKER (source), result, &call->entry->error);
  call->entry->done = TRUE;
  call->scrape->pending--;
  g_free (call);
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
add_url (GPtrArray *entries, const char *url)
{
  Entry *e;

  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (((Entry *) entries->pdata[i])->url, url))
      return;
  e = g_new0 (Entry, 1);
  e->url = g_strdup (url);
  g_ptr_array_add (entries, e);
}

static void
print_count (GString *out, gint64 n, gboolean json)
{
  if (n >= 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, n);
  else
    g_string_append (out, json ? "null" : "?");
}

int
gbt_cmd_scrape (int argc, char **argv, GbtCliGlobals *globals)
{
  gboolean json = FALSE;
  int timeout_s = DEFAULT_TIMEOUT_S;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object per tracker", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
      "give up on trackers after SECONDS (default 15)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context
    = g_option_context_new ("FILE.torrent|MAGNET - tracker counts for a torrent");
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  Scrape scrape = { list, 0 };
  guint8 info_hash[20];
  GbtPluginRegistry *registry;
  guint answered = 0;
  guint timer;
  int ret;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
                                    "Asks every tracker (all tiers) at once; exit 0 when at "
                                    "least one answered, 1 when none did.");
  if (!gbt_cli_parse (context, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc != 2 || timeout_s <= 0)
    {
      gbt_cli_error (argc != 2 ? "scrape needs one torrent file or magnet link (try --help)"
                               : "--timeout needs a positive number of seconds");
      return GBT_EXIT_USAGE;
    }

  if (g_str_has_prefix (argv[1], "magnet:"))
    {
      g_autoptr(GbtMagnet) magnet = gbt_magnet_parse (argv[1], &error);

      if (magnet == NULL)
        {
          gbt_cli_error ("%s", error->message);
          return GBT_EXIT_FAILURE;
        }
      memcpy (info_hash, magnet->info_hash, 20);
      for (guint i = 0; magnet->trackers[i] != NULL; i++)
        add_url (scrape.entries, magnet->trackers[i]);
    }
  else
    {
      g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_file (argv[1], &error);

      if (mi == NULL)
        {
          gbt_cli_error ("%s", error->message);
          return GBT_EXIT_FAILURE;
        }
      memcpy (info_hash, gbt_metainfo_get_info_hash (mi), 20);
      for (guint t = 0; t < gbt_metainfo_get_n_tiers (mi); t++)
        {
          const char *const *tier = gbt_metainfo_get_tier (mi, t);

          for (guint i = 0; tier != NULL && tier[i] != NULL; i++)
            add_url (scrape.entries, tier[i]);
        }
    }
  if (scrape.entries->len == 0)
    {
      gbt_cli_error ("%s lists no trackers", argv[1]);
      return GBT_EXIT_FAILURE;
    }

  ret = gbt_cli_load_plugins (globals);
  if (ret != GBT_EXIT_OK)
    return ret;
  registry = gbt_plugin_registry_get_default ();

  for (guint i = 0; i < scrape.entries->len; i++)
    {
      Entry *e = scrape.entries->pdata[i];
      g_autofree char *scheme = g_uri_parse_scheme (e->url);
      g_autofree char *lower = scheme ? g_ascii_strdown (scheme, -1) : NULL;
      GbtTracker *tracker = lower ? gbt_plugin_registry_get_tracker (registry, lower) : NULL;
      Call *call;

      if (tracker == NULL)
        {
          e->error = g_error_new (GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_UNSUPPORTED,
                                  "no tracker plugin for scheme %s", lower ? lower : "(none)");
          e->done = TRUE;
          continue;
        }
      call = g_new0 (Call, 1);
      call->scrape = &scrape;
      call->entry = e;
      scrape.pending++;
      gbt_tracker_scrape_async (tracker, e->url, info_hash, cancellable, scrape_cb, call);
    }

  timer = g_timeout_add_seconds (timeout_s, timeout_cb, cancellable);
  while (scrape.pending > 0)
    g_main_context_iteration (NULL, TRUE);
  if (!g_cancellable_is_cancelled (cancellable))
    g_source_remove (timer);

  for (guint i = 0; i < scrape.entries->len; i++)
    {
      Entry *e = scrape.entries->pdata[i];
      g_autoptr(GString) out = g_string_new (NULL);
      const char *message = NULL;

      if (e->response != NULL)
        answered++;
      else if (g_error_matches (e->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        message = "no answer in time";
      else
        message = e->error->message;

      if (json)
        {
          g_string_append (out, "{\"url\":");
          gbt_cli_json_string (out, e->url);
          if (e->response != NULL)
            {
              g_string_append (out, ",\"seeders\":");
              print_count (out, e->response->complete, TRUE);
              g_string_append (out, ",\"leechers\":");
              print_count (out, e->response->incomplete, TRUE);
              g_string_append (out, ",\"completed\":");
              print_count (out, e->response->downloaded, TRUE);
              g_string_append (out, ",\"error\":null}");
            }
          else
            {
              g_string_append (out, ",\"seeders\":null,\"leechers\":null,\"completed\":null,"
                                    "\"error\":");
              gbt_cli_json_string (out, message);
              g_string_append_c (out, '}');
            }
        }
      else
        {
          g_string_append_printf (out, "%s: ", e->url);
          if (e->response != NULL)
            {
              g_string_append (out, "seeders ");
              print_count (out, e->response->complete, FALSE);
              g_string_append (out, ", leechers ");
              print_count (out, e->response->incomplete, FALSE);
              g_string_append (out, ", completed ");
              print_count (out, e->response->downloaded, FALSE);
            }
          else
            g_string_append_printf (out, "error: %s", message);
        }
      printf ("%s\n", out->str);
    }
  fflush (stdout);
  if (answered == 0)
    {
      gbt_cli_error ("no tracker answered the scrape");
      return GBT_EXIT_FAILURE;
    }
  return GBT_EXIT_OK;
}
