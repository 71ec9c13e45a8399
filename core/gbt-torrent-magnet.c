/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent started from a magnet link (BEP 9): it announces to the link's
 * trackers, dials its peers and waits for a wire extension to hand it the
 * info dictionary, which is checked against the info-hash and parsed on a
 * worker; then it goes on as if started from a .torrent file.  A fetched
 * dictionary is kept in DIR/.gbt/<info-hash>.info for the next run.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-wire-extension.h>

#include "gbt-hash.h"
#include "gbt-session-private.h"
#include "gbt-torrent-internal.h"

typedef struct {
  GbtTorrent *torrent; /* a reference, held while resolving */
  guint16 port;
} MagnetLookup;

static void
magnet_resolved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MagnetLookup *lookup = user_data;
  GbtTorrent *self = lookup->torrent;
  g_autoptr(GError) error = NULL;
  GList *ips = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  if (ips && !self->stopping)
    {
      g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);
      for (GList *l = ips; l; l = l->next)
        g_ptr_array_add (found, g_inet_socket_address_new (l->data, lookup->port));
      gbt_torrent_add_peers (self, found, "magnet");
    }
  else if (error)
    g_debug ("[%s] magnet peer not resolved: %s", gbt_torrent_get_name (self), error->message);
  g_resolver_free_addresses (ips);
  g_object_unref (self);
  g_free (lookup);
}

/* the magnet's x.pe peers: IP literals at once, names once resolved */
static void
magnet_add_peers (GbtTorrent *self)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; self->magnet->peers[i]; i++)
    {
      g_autoptr(GSocketConnectable) where = g_network_address_parse (self->magnet->peers[i], 0, NULL);
      const char *host;
      guint16 port;
      g_autoptr(GInetAddress) ip = NULL;

      if (where == NULL)
        continue;
      host = g_network_address_get_hostname (G_NETWORK_ADDRESS (where));
      port = g_network_address_get_port (G_NETWORK_ADDRESS (where));
      if (port == 0)
        continue;
      ip = g_inet_address_new_from_string (host);
      if (ip)
        g_ptr_array_add (found, g_inet_socket_address_new (ip, port));
      else
        {
          g_autoptr(GResolver) resolver = g_resolver_get_default ();
          MagnetLookup *lookup = g_new (MagnetLookup, 1);

          lookup->torrent = g_object_ref (self);
          lookup->port = port;
          g_resolver_lookup_by_name_async (resolver, host, NULL, magnet_resolved_cb, lookup);
        }
    }
  if (found->len > 0)
    gbt_torrent_add_peers (self, found, "magnet");
}

/* DIR/.gbt/<info-hash>.info: a magnet's info dictionary, kept once fetched
 * so that a restart (after a kill, say) needs no peer to get it again */
static char *
torrent_info_cache_path (GbtTorrent *self)
{
  return gbt_resume_sidecar_path (self->download_dir, self->info_hash, ".info");
}

static void
info_cache_save_thread (GTask *task, gpointer source, gpointer task_data,
                        GCancellable *cancellable)
{
  GBytes *info = g_object_get_data (G_OBJECT (task), "info");
  const char *path = task_data;
  g_autofree char *dir = g_path_get_dirname (path);
  GError *error = NULL;

  if (g_mkdir_with_parents (dir, 0755) != 0
      || !g_file_set_contents (path, g_bytes_get_data (info, NULL), (gssize) g_bytes_get_size (info),
                               &error))
    g_debug ("metadata not kept in %s: %s", path, error ? error->message : g_strerror (errno));
  g_clear_error (&error);
  g_task_return_boolean (task, TRUE);
}

/* ---- metadata: hashed and parsed on a worker ---- */

typedef struct {
  GBytes *info; /* NULL: read from cache_path first */
  char *cache_path;
  guint8 info_hash[20];
} MetadataJob;

static void
metadata_job_free (gpointer p)
{
  MetadataJob *job = p;
  g_clear_pointer (&job->info, g_bytes_unref);
  g_free (job->cache_path);
  g_free (job);
}

/* The info dictionary checked against the info-hash and parsed: SHA-1 and
 * bencode of up to 16 MiB do not belong on the main loop. */
static void
metadata_parse_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MetadataJob *job = task_data;
  GError *error = NULL;
  GbtMetainfo *mi;

  if (job->info == NULL)
    {
      char *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (job->cache_path, &data, &len, &error))
        {
          g_task_return_error (task, error);
          return;
        }
      job->info = g_bytes_new_take (data, len);
    }
  mi = gbt_metainfo_new_from_info (job->info, job->info_hash, &error);
  if (mi == NULL)
    {
      g_task_return_new_error (task, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                               "bad metadata: %s", error->message);
      g_error_free (error);
      return;
    }
  g_task_return_pointer (task, mi, (GDestroyNotify) gbt_metainfo_unref);
}

static void torrent_take_metadata (GbtTorrent *self, GbtMetainfo *mi, GBytes *info, gboolean keep);

/* @outer: the caller's task of gbt_torrent_set_metadata_async(), or NULL
 * for the copy kept by an earlier run */
static void
metadata_parsed_cb (GObject *source, GAsyncResult *result, gpointer outer)
{
  GbtTorrent *self = GBT_TORRENT (source);
  MetadataJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = g_task_propagate_pointer (G_TASK (result), &error);

  if (mi != NULL && self->metainfo != NULL)
    g_set_error_literal (&error, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                         "the torrent has its metadata already");
  else if (mi != NULL)
    torrent_take_metadata (self, mi, job->info, outer != NULL);
  if (outer == NULL)
    {
      if (error && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_debug ("[%s] kept metadata not used: %s", gbt_torrent_get_name (self), error->message);
      return;
    }
  if (error)
    g_task_return_error (outer, g_steal_pointer (&error));
  else
    g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
}

static void
torrent_parse_metadata (GbtTorrent *self, GBytes *info, GTask *outer)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, metadata_parsed_cb, outer);
  MetadataJob *job = g_new0 (MetadataJob, 1);

  job->info = info ? g_bytes_ref (info) : NULL;
  job->cache_path = info ? NULL : torrent_info_cache_path (self);
  memcpy (job->info_hash, self->info_hash, 20);
  g_task_set_task_data (task, job, metadata_job_free);
  g_task_run_in_thread (task, metadata_parse_thread);
}

/* A magnet: no pieces yet.  Announce to its trackers, connect to its
 * peers, and wait for a metadata extension to call
 * gbt_torrent_set_metadata_async() (or for the copy kept by an earlier run). */
void
gbt_torrent_start_magnet (GbtTorrent *self)
{
  g_autoptr(GPtrArray) tiers = NULL;
  g_autoptr(GError) error = NULL;

  {
    GPtrArray *exts = gbt_plugin_registry_get_wire_extensions (gbt_session_get_registry (self->session));
    gboolean can_fetch = FALSE;

    for (guint i = 0; exts && i < exts->len; i++)
      can_fetch = can_fetch
                  || g_strcmp0 (gbt_wire_extension_get_name (g_ptr_array_index (exts, i)),
                                "ut_metadata") == 0;
    if (!can_fetch)
      {
        gbt_torrent_fail (self, g_error_new_literal (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                                                 "a magnet link needs a ut_metadata extension to "
                                                 "fetch the metadata (the metadata plugin), and "
                                                 "none is loaded"));
        return;
      }
  }
  gbt_torrent_set_state (self, GBT_TORRENT_STATE_FETCHING_METADATA);
  gbt_torrent_start_ticking (self);
  /* the link's tr= (each a tier of its own, tried in order as BEP 12
   * tiers), plus those added, minus those removed */
  tiers = gbt_torrent_dup_tier_table (self);
  if (tiers->len > 0 && !gbt_torrent_start_trackers (self, tiers, &error))
    {
      gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
                                       "%s", error->message));
      return;
    }
  magnet_add_peers (self);
  gbt_torrent_start_sources (self);
  torrent_parse_metadata (self, NULL, NULL); /* the copy an earlier run kept, if any */
}

/* On the main loop, with @mi checked and parsed: the torrent goes on as if
 * started from a .torrent file (@keep: write @info to the cache). */
static void
torrent_take_metadata (GbtTorrent *self, GbtMetainfo *mi, GBytes *info, gboolean keep)
{
  gbt_torrent_take_metainfo (self, mi);
  g_debug ("[%s] metadata received: %u pieces", gbt_torrent_get_name (self),
           gbt_metainfo_get_n_pieces (mi));
  if (gbt_metainfo_is_private (mi))
    gbt_torrent_stop_sources (self); /* looked for peers before we knew */
  if (keep)
    {
      g_autoptr(GTask) task = g_task_new (self, NULL, NULL, NULL);
      g_object_set_data_full (G_OBJECT (task), "info", g_bytes_ref (info),
                              (GDestroyNotify) g_bytes_unref);
      g_task_set_task_data (task, torrent_info_cache_path (self), g_free);
      g_task_run_in_thread (task, info_cache_save_thread);
    }
  gbt_torrent_emit_metadata_received (self);
  if (self->stopping || self->state != GBT_TORRENT_STATE_FETCHING_METADATA)
    return; /* stopped meanwhile: the next start checks the data */
  gbt_swarm_metadata_arrived (self->swarm);
  gbt_torrent_start_check (self);
}

void
gbt_torrent_set_metadata_async (GbtTorrent *self, GBytes *info, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *outer;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (info != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, gbt_torrent_set_metadata_async);
  if (self->metainfo != NULL)
    {
      g_task_return_new_error (outer, GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_METADATA,
                               "the torrent has its metadata already");
      g_object_unref (outer);
      return;
    }
  torrent_parse_metadata (self, info, outer);
}

gboolean
gbt_torrent_set_metadata_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

