/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent's peers and trackers as GListModels for apps.
 *
 * Peers: the swarm reports each peer that becomes ready (handshaken) and
 * each ready peer that closes (GbtSwarmOps peer_ready/peer_closed); the
 * model follows at once, and the once-a-second tick refreshes every
 * GbtPeerInfo in place.  A stop closes every peer: the model empties.
 *
 * Trackers: the model is the torrent's tracker list (the metainfo's or the
 * magnet's, plus those added, minus those removed), kept across stops and
 * restarts; the tracker managers (one per local address family, BEP 7)
 * are built from it at each start.  Their news (GbtTrackerManagerOps
 * changed) refreshes the entries from an idle, merging the families: one
 * entry per URL.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-peer.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>

#include "gbt-peer-info-private.h"
#include "gbt-session-private.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"
#include "gbt-tracker-entry-private.h"
#include "gbt-tracker-manager.h"

void
gbt_torrent_models_init (GbtTorrent *self)
{
  self->peers_model = g_list_store_new (GBT_TYPE_PEER_INFO);
  self->peer_infos = g_hash_table_new (NULL, NULL);
  self->trackers_model = g_list_store_new (GBT_TYPE_TRACKER_ENTRY);
}

void
gbt_torrent_models_dispose (GbtTorrent *self)
{
  if (self->trackers_refresh != NULL)
    {
      g_source_destroy (self->trackers_refresh);
      g_clear_pointer (&self->trackers_refresh, g_source_unref);
    }
}

void
gbt_torrent_models_finalize (GbtTorrent *self)
{
  g_clear_pointer (&self->peer_infos, g_hash_table_unref);
  g_clear_object (&self->peers_model);
  g_clear_object (&self->trackers_model);
}

/* ---- peers ---- */

void
gbt_torrent_models_peer_ready (gpointer data, GbtPeer *peer, const char *source)
{
  GbtTorrent *self = data;
  g_autoptr(GbtPeerInfo) info = NULL;

  if (g_hash_table_contains (self->peer_infos, peer))
    return;
  info = gbt_peer_info_new (peer, source, gbt_peer_get_transport (peer));
  g_hash_table_insert (self->peer_infos, peer, info); /* the store holds it */
  g_list_store_append (self->peers_model, info);
}

void
gbt_torrent_models_peer_closed (gpointer data, GbtPeer *peer)
{
  GbtTorrent *self = data;
  GbtPeerInfo *info = g_hash_table_lookup (self->peer_infos, peer);
  guint pos;

  if (info == NULL)
    return;
  g_hash_table_remove (self->peer_infos, peer);
  gbt_peer_info_closed (info);
  if (g_list_store_find (self->peers_model, info, &pos))
    g_list_store_remove (self->peers_model, pos);
}

static void
refresh_peers (GbtTorrent *self)
{
  g_autoptr(GArray) states = NULL;

  /* an idle seed has none: nothing to copy each second */
  if (g_list_model_get_n_items (G_LIST_MODEL (self->peers_model)) == 0)
    return;
  states = gbt_swarm_dup_peer_states (self->swarm);

  for (guint i = 0; i < states->len; i++)
    {
      const GbtSwarmPeerState *st = &g_array_index (states, GbtSwarmPeerState, i);
      GbtPeerInfo *info = g_hash_table_lookup (self->peer_infos, st->peer);

      if (info != NULL)
        gbt_peer_info_refresh (info, st->peer, st->snubbed, st->optimistic);
    }
}

GListModel *
gbt_torrent_get_peers (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return G_LIST_MODEL (self->peers_model);
}

/* ---- trackers: the list ---- */

static GbtTrackerEntry *
find_entry (GbtTorrent *self, const char *url, guint *position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->trackers_model));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (G_LIST_MODEL (self->trackers_model), i);

      if (g_str_equal (gbt_tracker_entry_get_url (e), url))
        {
          if (position)
            *position = i;
          return e; /* the store still holds it */
        }
    }
  return NULL;
}

/* after the last entry of a tier up to @tier: the model stays in tier order */
static void
insert_entry (GbtTorrent *self, const char *url, guint tier)
{
  GListModel *model = G_LIST_MODEL (self->trackers_model);
  guint n = g_list_model_get_n_items (model), pos = n;
  g_autoptr(GbtTrackerEntry) entry = gbt_tracker_entry_new (url, tier);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (model, i);

      if (gbt_tracker_entry_get_tier (e) > tier)
        {
          pos = i;
          break;
        }
    }
  g_list_store_insert (self->trackers_model, pos, entry);
}

void
gbt_torrent_models_fill_trackers (GbtTorrent *self)
{
  if (self->metainfo != NULL)
    for (guint t = 0; t < gbt_metainfo_get_n_tiers (self->metainfo); t++)
      {
        const char *const *urls = gbt_metainfo_get_tier (self->metainfo, t);

        for (guint i = 0; urls && urls[i]; i++)
          if (*urls[i] && find_entry (self, urls[i], NULL) == NULL)
            insert_entry (self, urls[i], t);
      }
  /* each tr= is a tier of its own, tried in order (as BEP 12 tiers) */
  if (self->magnet != NULL)
    for (guint i = 0; self->magnet->trackers[i]; i++)
      if (*self->magnet->trackers[i] && find_entry (self, self->magnet->trackers[i], NULL) == NULL)
        insert_entry (self, self->magnet->trackers[i], i);
}

/* the tiers by number (@sparse: index = tier number, empty ones kept) */
static GPtrArray *
dup_tiers (GbtTorrent *self, gboolean sparse)
{
  GListModel *model = G_LIST_MODEL (self->trackers_model);
  GPtrArray *tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  guint n = g_list_model_get_n_items (model);
  guint i = 0;

  while (i < n)
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_autoptr(GbtTrackerEntry) first = g_list_model_get_item (model, i);
      guint tier = gbt_tracker_entry_get_tier (first);

      while (sparse && tiers->len < tier)
        g_ptr_array_add (tiers, g_new0 (char *, 1));
      for (; i < n; i++)
        {
          g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (model, i);

          if (gbt_tracker_entry_get_tier (e) != tier)
            break;
          g_strv_builder_add (builder, gbt_tracker_entry_get_url (e));
        }
      g_ptr_array_add (tiers, g_strv_builder_end (builder));
    }
  return tiers;
}

GPtrArray *
gbt_torrent_dup_tiers (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return dup_tiers (self, FALSE);
}

GPtrArray *
gbt_torrent_dup_tier_table (GbtTorrent *self)
{
  return dup_tiers (self, TRUE);
}

GListModel *
gbt_torrent_get_trackers (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return G_LIST_MODEL (self->trackers_model);
}

/* the managers run (or are about to: a magnet without trackers gets them
 * now): adds reach them; during the check, the model alone (go_live()
 * builds the managers from it) */
static gboolean
trackers_running (GbtTorrent *self)
{
  return gbt_torrent_is_active (self);
}

gboolean
gbt_torrent_add_tracker (GbtTorrent *self, const char *url, guint tier, GError **error)
{
  g_autofree char *scheme = NULL;
  g_autofree char *lower = NULL;
  g_autoptr(GUri) uri = NULL;

  g_return_val_if_fail (GBT_IS_TORRENT (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  scheme = g_uri_parse_scheme (url);
  if (uri == NULL || scheme == NULL)
    {
      g_set_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED,
                   "not a tracker URL: %s", url);
      return FALSE;
    }
  lower = g_ascii_strdown (scheme, -1);
  if (self->session != NULL
      && gbt_plugin_registry_get_tracker (gbt_session_get_registry (self->session), lower) == NULL)
    {
      g_set_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
                   "no tracker plugin for scheme %s", lower);
      return FALSE;
    }
  if (find_entry (self, url, NULL) != NULL)
    {
      g_set_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_FAILED,
                   "the torrent has this tracker already: %s", url);
      return FALSE;
    }
  insert_entry (self, url, tier);
  if (trackers_running (self) && !gbt_torrent_trackers_add (self, url, tier, error))
    {
      guint pos;
      if (find_entry (self, url, &pos))
        g_list_store_remove (self->trackers_model, pos);
      return FALSE;
    }
  gbt_torrent_models_refresh_trackers (self);
  gbt_torrent_settings_changed (self);
  return TRUE;
}

gboolean
gbt_torrent_remove_tracker (GbtTorrent *self, const char *url)
{
  guint pos;

  g_return_val_if_fail (GBT_IS_TORRENT (self), FALSE);
  g_return_val_if_fail (url != NULL, FALSE);

  if (find_entry (self, url, &pos) == NULL)
    return FALSE;
  g_list_store_remove (self->trackers_model, pos);
  gbt_torrent_trackers_remove (self, url);
  gbt_torrent_settings_changed (self);
  return TRUE;
}

/* the session's announced port changed (a router mapping): announce it */
void
gbt_torrent_set_announce_port (GbtTorrent *self, guint16 port)
{
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      gbt_tracker_manager_set_port (g_ptr_array_index (self->trackers, i), port);
      gbt_tracker_manager_force_announce (g_ptr_array_index (self->trackers, i));
    }
}

void
gbt_torrent_announce_now (GbtTorrent *self)
{
  g_return_if_fail (GBT_IS_TORRENT (self));

  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    gbt_tracker_manager_force_announce (g_ptr_array_index (self->trackers, i));
}

static guint
tier_of (GPtrArray *tiers, const char *url)
{
  for (guint i = 0; i < tiers->len; i++)
    if (g_strv_contains (g_ptr_array_index (tiers, i), url))
      return i;
  return G_MAXUINT;
}

void
gbt_torrent_set_tiers (GbtTorrent *self, GPtrArray *tiers)
{
  GListModel *model = G_LIST_MODEL (self->trackers_model);

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (tiers != NULL);

  /* gone, or in another tier: removed (the latter added back below) */
  for (guint i = g_list_model_get_n_items (model); i > 0; i--)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (model, i - 1);
      g_autofree char *url = g_strdup (gbt_tracker_entry_get_url (e));

      if (tier_of (tiers, url) != gbt_tracker_entry_get_tier (e))
        gbt_torrent_remove_tracker (self, url);
    }
  for (guint i = 0; i < tiers->len; i++)
    {
      const char *const *urls = g_ptr_array_index (tiers, i);

      for (guint j = 0; urls && urls[j]; j++)
        {
          if (*urls[j] == '\0' || find_entry (self, urls[j], NULL) != NULL)
            continue;
          insert_entry (self, urls[j], i);
          if (trackers_running (self))
            gbt_torrent_trackers_add (self, urls[j], i, NULL);
        }
    }
  gbt_torrent_models_refresh_trackers (self);
}

/* ---- trackers: their state ---- */

typedef struct {
  gboolean ok, announcing, error, all_disabled;
  gint64 seeders, leechers;
  const char *last_error;
  gint64 last_announce, next_announce;
} Merged;

void
gbt_torrent_models_refresh_trackers (GbtTorrent *self)
{
  GListModel *model = G_LIST_MODEL (self->trackers_model);
  g_autoptr(GHashTable) merged = NULL;
  g_autoptr(GPtrArray) lists = NULL;
  guint n = g_list_model_get_n_items (model);

  /* no tracker: nothing to merge (each second, for every torrent) */
  if (n == 0 && (self->trackers == NULL || self->trackers->len == 0))
    return;
  merged = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  lists = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      GArray *entries = gbt_tracker_manager_dup_entries (g_ptr_array_index (self->trackers, i));

      g_ptr_array_add (lists, entries);
      for (guint j = 0; j < entries->len; j++)
        {
          const GbtTrackerManagerEntry *e = &g_array_index (entries, GbtTrackerManagerEntry, j);
          Merged *m = g_hash_table_lookup (merged, e->url);

          if (m == NULL)
            {
              m = g_new0 (Merged, 1);
              m->seeders = m->leechers = -1;
              m->all_disabled = TRUE;
              g_hash_table_insert (merged, e->url, m);
            }
          m->ok |= e->state == GBT_TRACKER_MANAGER_STATE_OK;
          m->announcing |= e->state == GBT_TRACKER_MANAGER_STATE_ANNOUNCING;
          if (e->state == GBT_TRACKER_MANAGER_STATE_ERROR)
            {
              m->error = TRUE;
              m->all_disabled &= e->disabled;
              if (m->last_error == NULL)
                m->last_error = e->last_error;
            }
          m->seeders = MAX (m->seeders, e->seeders);
          m->leechers = MAX (m->leechers, e->leechers);
          m->last_announce = MAX (m->last_announce, e->last_announce);
          if (e->next_announce != 0
              && (m->next_announce == 0 || e->next_announce < m->next_announce))
            m->next_announce = e->next_announce;
        }
    }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) entry = g_list_model_get_item (model, i);
      Merged *m = g_hash_table_lookup (merged, gbt_tracker_entry_get_url (entry));
      GbtTrackerStatus status = GBT_TRACKER_STATUS_NOT_CONTACTED;
      int seeders = gbt_tracker_entry_get_seeders (entry);
      int leechers = gbt_tracker_entry_get_leechers (entry);
      gint64 last = gbt_tracker_entry_get_last_announce (entry);
      const char *last_error = gbt_tracker_entry_get_last_error (entry);
      g_autofree char *kept_error = g_strdup (last_error);

      if (m != NULL)
        {
          /* any family that works makes it work */
          status = m->ok           ? GBT_TRACKER_STATUS_WORKING
                   : m->announcing ? GBT_TRACKER_STATUS_ANNOUNCING
                   : m->error      ? (m->all_disabled ? GBT_TRACKER_STATUS_DISABLED
                                                      : GBT_TRACKER_STATUS_ERROR)
                                   : GBT_TRACKER_STATUS_NOT_CONTACTED;
          /* the last word stays until a newer one comes */
          if (m->seeders >= 0)
            seeders = (int) MIN (m->seeders, G_MAXINT);
          if (m->leechers >= 0)
            leechers = (int) MIN (m->leechers, G_MAXINT);
          last = MAX (last, m->last_announce);
          if (m->ok)
            g_clear_pointer (&kept_error, g_free);
          else if (m->last_error != NULL)
            {
              g_free (kept_error);
              kept_error = g_strdup (m->last_error);
            }
        }
      gbt_tracker_entry_update (entry, status, seeders, leechers, m ? m->next_announce : 0, last,
                                kept_error);
    }
}

static gboolean
refresh_trackers_cb (gpointer data)
{
  GbtTorrent *self = data;

  g_clear_pointer (&self->trackers_refresh, g_source_unref);
  gbt_torrent_models_refresh_trackers (self);
  return G_SOURCE_REMOVE;
}

/* the managers' news: looked at from an idle, out of their call stacks */
void
gbt_torrent_models_trackers_changed (gpointer data)
{
  GbtTorrent *self = data;
  g_autoptr(GMainContext) context = NULL;

  if (self->trackers_refresh != NULL)
    return;
  context = g_main_context_ref_thread_default ();
  self->trackers_refresh = g_idle_source_new ();
  g_source_set_static_name (self->trackers_refresh, "gbt");
  g_source_set_callback (self->trackers_refresh, refresh_trackers_cb, self, NULL);
  g_source_attach (self->trackers_refresh, context);
}

/* ---- the tick ---- */

void
gbt_torrent_models_tick (GbtTorrent *self)
{
  refresh_peers (self);
  gbt_torrent_models_refresh_trackers (self);
}
