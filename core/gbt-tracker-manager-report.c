/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tracker manager's settings and what it reports of its trackers: the
 * entries behind the trackers model and the CLI's status lines.
 */
#include "config.h"

#include "gbt-tracker-manager-private.h"

static const char *const state_names[] = { "idle", "announcing", "ok", "error" };

void
gbt_tracker_manager_set_bind_address (GbtTrackerManager *mgr, GInetAddress *address)
{
  g_return_if_fail (mgr != NULL);
  g_set_object (&mgr->bind_address, address);
}

GInetAddress *
gbt_tracker_manager_get_bind_address (GbtTrackerManager *mgr)
{
  g_return_val_if_fail (mgr != NULL, NULL);
  return mgr->bind_address;
}

void
gbt_tracker_manager_set_key (GbtTrackerManager *mgr, guint32 key)
{
  g_return_if_fail (mgr != NULL);
  mgr->key = key;
}

void
gbt_tracker_manager_set_announce_to_all (GbtTrackerManager *mgr, gboolean all)
{
  g_return_if_fail (mgr != NULL);
  mgr->announce_to_all = all;
}

void
gbt_tracker_manager_set_announce_timeout (GbtTrackerManager *mgr, guint timeout_ms)
{
  g_return_if_fail (mgr != NULL);
  mgr->announce_timeout_ms = timeout_ms;
}

void
gbt_tracker_manager_set_numwant (GbtTrackerManager *mgr, int numwant)
{
  g_return_if_fail (mgr != NULL);
  mgr->numwant = numwant;
}

void
gbt_tracker_manager_set_timing_for_test (GbtTrackerManager *mgr, guint min_interval_ms,
                                         guint retry_base_ms)
{
  g_return_if_fail (mgr != NULL);
  mgr->min_interval_floor_ms = min_interval_ms;
  mgr->retry_base_ms = retry_base_ms;
}

void
gbt_tracker_manager_set_lookup_for_test (GbtTrackerManager *mgr, GbtTrackerLookupFunc func,
                                         gpointer user_data)
{
  g_return_if_fail (mgr != NULL);
  mgr->lookup_func = func;
  mgr->lookup_data = user_data;
}

GStrv
gbt_tracker_manager_dup_order_for_test (GbtTrackerManager *mgr)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);
      for (guint j = 0; j < tier->len; j++)
        g_strv_builder_add (builder, ((Tracker *) tier->pdata[j])->url);
    }
  return g_strv_builder_end (builder);
}

static void
entry_clear (gpointer p)
{
  GbtTrackerManagerEntry *e = p;
  g_free (e->url);
  g_free (e->last_error);
}

GArray *
gbt_tracker_manager_dup_entries (GbtTrackerManager *mgr)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (GbtTrackerManagerEntry));
  gint64 next = 0;

  g_array_set_clear_func (out, entry_clear);
  if (mgr->running && mgr->next_announce_us != 0)
    next = g_get_real_time () / G_USEC_PER_SEC
           + MAX (mgr->next_announce_us - g_get_monotonic_time (), 0) / G_USEC_PER_SEC;
  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          GbtTrackerManagerEntry e = { 0 };

          e.url = g_strdup (t->url);
          e.tier = t->tier;
          e.state = (GbtTrackerManagerState) t->state;
          e.disabled = t->state == TRACKER_ERROR && gbt_tracker_manager_lookup (mgr, t->scheme) == NULL;
          e.seeders = t->seeders;
          e.leechers = t->leechers;
          e.last_error = g_strdup (t->last_error);
          e.last_announce = t->last_announce;
          e.next_announce = next;
          g_array_append_val (out, e);
        }
    }
  return out;
}

static char *
format_count (gint64 n)
{
  return n >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, n) : g_strdup ("?");
}

GPtrArray *
gbt_tracker_manager_dup_status (GbtTrackerManager *mgr)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_monotonic_time ();

  g_return_val_if_fail (mgr != NULL, lines);

  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          g_autofree char *seeders = format_count (t->seeders);
          g_autofree char *leechers = format_count (t->leechers);
          GString *line = g_string_new (NULL);

          g_string_append_printf (line, "tier %u %s: %s", i + 1, t->url, state_names[t->state]);
          if (t->last_error != NULL)
            g_string_append_printf (line, " (%s)", t->last_error);
          if (t->warning != NULL)
            g_string_append_printf (line, " [warning: %s]", t->warning);
          g_string_append_printf (line, ", seeders %s, leechers %s", seeders, leechers);
          if (mgr->next_announce_us != 0)
            g_string_append_printf (line, ", next announce in %" G_GINT64_FORMAT " s",
                                    MAX (mgr->next_announce_us - now, 0) / G_USEC_PER_SEC);
          g_ptr_array_add (lines, g_string_free (line, FALSE));
        }
    }
  return lines;
}
