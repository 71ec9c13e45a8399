/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where a torrent's peers come from, besides incoming connections: its
 * trackers (BEP 12 tiers, one GbtTrackerManager per local address family
 * as BEP 7 asks) and the peer-source plugins (DHT, ...), which never serve
 * a private torrent (BEP 27).
 */
#include "config.h"

#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>

#include "gbt-session-private.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"
#include "gbt-tracker-manager.h"

static void
tracker_stats_cb (gpointer data, guint64 *uploaded, guint64 *downloaded, guint64 *left)
{
  GbtTorrent *self = data;
  *uploaded = gbt_swarm_get_uploaded (self->swarm);
  *downloaded = gbt_swarm_get_downloaded (self->swarm);
  if (self->metainfo == NULL)
    *left = 16384; /* unknown until the metadata arrives; not 0, which means a seed */
  else
    *left = self->bytes_wanted > self->bytes_have ? self->bytes_wanted - self->bytes_have : 0;
}

static void
tracker_peers_cb (gpointer data, GPtrArray *addresses, const char *url)
{
  gbt_torrent_add_peers (data, addresses, url);
}

static const GbtTrackerManagerOps tracker_ops = {
  tracker_stats_cb,
  tracker_peers_cb,
  gbt_torrent_models_trackers_changed,
};

/* The family of a tracker URL's host when it is an IP literal, else
 * G_SOCKET_FAMILY_INVALID (a name may resolve to either). */
static GSocketFamily
tracker_url_family (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autoptr(GInetAddress) ip = NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return G_SOCKET_FAMILY_INVALID;
  ip = g_inet_address_new_from_string (g_uri_get_host (uri));
  return ip ? g_inet_address_get_family (ip) : G_SOCKET_FAMILY_INVALID;
}

/* @tiers without the trackers that an address of @family cannot reach (an
 * IP literal of the other family); emptied tiers kept, so that each keeps
 * its number.  Owns its lists. */
static GPtrArray *
tiers_for_family (GPtrArray *tiers, GSocketFamily family)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint i = 0; i < tiers->len; i++)
    {
      const char *const *urls = g_ptr_array_index (tiers, i);
      g_autoptr(GStrvBuilder) keep = g_strv_builder_new ();
      GStrv kept;

      for (guint j = 0; urls && urls[j]; j++)
        {
          GSocketFamily f = tracker_url_family (urls[j]);
          if (f == G_SOCKET_FAMILY_INVALID || f == family)
            g_strv_builder_add (keep, urls[j]);
        }
      kept = g_strv_builder_end (keep);
      g_ptr_array_add (out, kept);
    }
  return out;
}

/* locals may hold NULL (let the OS pick): g_object_unref (NULL) is a critical */
static void
unref_nullable (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static gboolean
tiers_have_urls (GPtrArray *tiers)
{
  for (guint i = 0; i < tiers->len; i++)
    {
      const char *const *urls = g_ptr_array_index (tiers, i);
      if (urls && urls[0])
        return TRUE;
    }
  return FALSE;
}

/* BEP 7: one announce per local address we take connections on.  With a
 * bind address that is the one; listening dual-stack, one manager per
 * family, each sending from that family's wildcard address (so a tracker
 * reachable over both records both), sharing one key, and each given only
 * the trackers its family can reach; otherwise one manager that lets the
 * OS pick.  A family with no tracker gets its manager too, empty, for the
 * trackers added later (gbt_torrent_add_tracker()).  @tiers: indexed by
 * tier number (gbt_torrent_dup_tier_table()). */
gboolean
gbt_torrent_start_trackers (GbtTorrent *self, GPtrArray *tiers, GError **error)
{
  GInetAddress *bind = gbt_session_get_bind_inet_address (self->session);
  g_autoptr(GPtrArray) locals = g_ptr_array_new_with_free_func (unref_nullable);
  guint32 key = g_random_int ();

  if (bind != NULL)
    g_ptr_array_add (locals, g_object_ref (bind));
  else if (gbt_session_is_dual_stack (self->session))
    {
      g_ptr_array_add (locals, g_inet_address_new_any (G_SOCKET_FAMILY_IPV4));
      g_ptr_array_add (locals, g_inet_address_new_any (G_SOCKET_FAMILY_IPV6));
    }
  else
    g_ptr_array_add (locals, NULL);

  self->trackers = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_tracker_manager_free);
  for (guint i = 0; i < locals->len; i++)
    {
      GInetAddress *local = g_ptr_array_index (locals, i);
      g_autoptr(GPtrArray) own = locals->len > 1
                                     ? tiers_for_family (tiers, g_inet_address_get_family (local))
                                     : g_ptr_array_ref (tiers);
      GbtTrackerManager *mgr;

      mgr = gbt_tracker_manager_new (gbt_session_get_registry (self->session),
                                     gbt_torrent_get_info_hash (self),
                                     gbt_session_get_peer_id (self->session),
                                     gbt_session_get_announce_port (self->session), own,
                                     &tracker_ops, self);
      g_ptr_array_add (self->trackers, mgr);
      gbt_tracker_manager_set_bind_address (mgr, local);
      gbt_tracker_manager_set_key (mgr, key);
      gbt_tracker_manager_set_announce_to_all (mgr,
                                               gbt_session_get_announce_to_all (self->session));
      if (tiers_have_urls (own) && !gbt_tracker_manager_check (mgr, error))
        {
          g_clear_pointer (&self->trackers, g_ptr_array_unref);
          return FALSE;
        }
    }
  for (guint i = 0; i < self->trackers->len; i++)
    gbt_tracker_manager_start (g_ptr_array_index (self->trackers, i));
  return TRUE;
}

/* A tracker added while the managers run: each manager whose family can
 * reach it announces to it; none yet (the torrent had no tracker), they
 * start now. */
gboolean
gbt_torrent_trackers_add (GbtTorrent *self, const char *url, guint tier, GError **error)
{
  GSocketFamily family = tracker_url_family (url);

  if (self->trackers == NULL)
    {
      g_autoptr(GPtrArray) tiers = gbt_torrent_dup_tier_table (self);
      g_autoptr(GError) local_error = NULL;

      if (gbt_torrent_start_trackers (self, tiers, &local_error))
        return TRUE;
      g_set_error (error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN, "%s",
                   local_error->message);
      return FALSE;
    }
  for (guint i = 0; i < self->trackers->len; i++)
    {
      GbtTrackerManager *mgr = g_ptr_array_index (self->trackers, i);
      GInetAddress *local = gbt_tracker_manager_get_bind_address (mgr);

      if (self->trackers->len > 1 && local != NULL && family != G_SOCKET_FAMILY_INVALID
          && g_inet_address_get_family (local) != family)
        continue;
      gbt_tracker_manager_add_tracker (mgr, url, tier);
    }
  return TRUE;
}

void
gbt_torrent_trackers_remove (GbtTorrent *self, const char *url)
{
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    gbt_tracker_manager_remove_tracker (g_ptr_array_index (self->trackers, i), url);
}

/* Peer sources (GbtPeerSource plugins) look for a live torrent's peers;
 * never for a private one (BEP 27: its peers come from its trackers). */
void
gbt_torrent_start_sources (GbtTorrent *self)
{
  GPtrArray *sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));

  if (self->sources_started || (self->metainfo && gbt_metainfo_is_private (self->metainfo)))
    return;
  self->sources_started = TRUE;
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_start (g_ptr_array_index (sources, i), self);
}

void
gbt_torrent_stop_sources (GbtTorrent *self)
{
  GPtrArray *sources;

  if (!self->sources_started || self->session == NULL)
    return;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  self->sources_started = FALSE;
  for (guint i = 0; sources && i < sources->len; i++)
    gbt_peer_source_stop (g_ptr_array_index (sources, i), self);
}

GStrv
gbt_torrent_dup_tracker_status (GbtTorrent *self)
{
  g_autoptr(GPtrArray) lines = NULL;
  guint n_families = 0;

  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);

  lines = g_ptr_array_new ();
  /* a family without trackers (its manager empty) does not count */
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      g_autoptr(GPtrArray) own = gbt_tracker_manager_dup_status (g_ptr_array_index (self->trackers, i));
      n_families += own->len > 0;
    }
  for (guint i = 0; self->trackers && i < self->trackers->len; i++)
    {
      GbtTrackerManager *mgr = g_ptr_array_index (self->trackers, i);
      g_autoptr(GPtrArray) own = gbt_tracker_manager_dup_status (mgr);
      GInetAddress *local = gbt_tracker_manager_get_bind_address (mgr);
      const char *family = local == NULL || n_families <= 1 ? NULL
                           : g_inet_address_get_family (local) == G_SOCKET_FAMILY_IPV6 ? "IPv6"
                                                                                        : "IPv4";

      for (guint j = 0; j < own->len; j++)
        g_ptr_array_add (lines, family ? g_strdup_printf ("%s %s", family,
                                                          (char *) own->pdata[j])
                                       : g_strdup (own->pdata[j]));
    }
  g_ptr_array_add (lines, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&lines), FALSE);
}

guint16
gbt_torrent_get_dht_port (GbtTorrent *self)
{
  GPtrArray *sources;

  if (!self->sources_started)
    return 0;
  sources = gbt_plugin_registry_get_peer_sources (gbt_session_get_registry (self->session));
  for (guint i = 0; sources && i < sources->len; i++)
    {
      guint16 port = gbt_peer_source_get_dht_port (g_ptr_array_index (sources, i), self);
      if (port)
        return port;
    }
  return 0;
}

