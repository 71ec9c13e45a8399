/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_TORRENT_ERROR (gbt_torrent_error_quark ())
typedef enum {
  GBT_TORRENT_ERROR_FAILED,
  GBT_TORRENT_ERROR_STORAGE,
  GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
  GBT_TORRENT_ERROR_NO_PEERS,
  GBT_TORRENT_ERROR_METADATA,
} GbtTorrentErrorEnum;

typedef enum {
  GBT_TORRENT_STATE_STOPPED,
  GBT_TORRENT_STATE_CHECKING,
  GBT_TORRENT_STATE_DOWNLOADING,
  GBT_TORRENT_STATE_SEEDING,
  GBT_TORRENT_STATE_ERROR,
} GbtTorrentState;

GBT_AVAILABLE_IN_ALL
GQuark gbt_torrent_error_quark (void);

#define GBT_TYPE_TORRENT (gbt_torrent_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtTorrent, gbt_torrent, GBT, TORRENT, GObject)

/* Before start: which files to download (@n_files = the metainfo's file
 * count).  Unwanted files are never created; the bytes of boundary pieces
 * that fall in them are kept in DIR/.gbt/<info-hash>.parts. */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_files_wanted (GbtTorrent *self, const gboolean *wanted, guint n_files);

GBT_AVAILABLE_IN_ALL
void gbt_torrent_start (GbtTorrent *self);
/* Announces "stopped", waits for disk jobs, keeps the data. */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_stop_async (GbtTorrent *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_stop_finish (GbtTorrent *self, GAsyncResult *result, GError **error);

GBT_AVAILABLE_IN_ALL
GbtTorrentState gbt_torrent_get_state (GbtTorrent *self);
/* (nullable): the error that put the torrent in GBT_TORRENT_STATE_ERROR */
GBT_AVAILABLE_IN_ALL
const GError *gbt_torrent_get_error (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_torrent_get_info_hash (GbtTorrent *self);
/* (nullable) (transfer none): NULL before metadata arrives (magnet) */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_torrent_get_metainfo (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_has_metadata (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
const char *gbt_torrent_get_name (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
GbtSession *gbt_torrent_get_session (GbtTorrent *self);

GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_n_pieces_have (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_bytes_have (GbtTorrent *self);
/* bytes of the pieces touching wanted files */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_bytes_wanted (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_downloaded (GbtTorrent *self); /* payload bytes received */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_uploaded (GbtTorrent *self);
/* bytes per second, smoothed */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_download_rate (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_upload_rate (GbtTorrent *self);
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_n_peers (GbtTorrent *self);
/* One line per tracker, tier by tier: URL, state (idle, announcing, ok,
 * error), last error, seeders and leechers, next announce (for --verbose).
 * Empty when the torrent has no tracker.  (transfer full) */
GBT_AVAILABLE_IN_ALL
GStrv gbt_torrent_dup_tracker_status (GbtTorrent *self);

/* For peer sources (DHT, PEX, LSD) and the tracker manager: candidate
 * addresses (element-type GInetSocketAddress); @source is shown to users. */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_add_peers (GbtTorrent *self, GPtrArray *addresses, const char *source);

G_END_DECLS
