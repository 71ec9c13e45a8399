/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_TORRENT_ERROR (gbt_torrent_error_quark ())
/**
 * GbtTorrentError:
 * @GBT_TORRENT_ERROR_FAILED: any other failure
 * @GBT_TORRENT_ERROR_STORAGE: reading or writing the files failed
 * @GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN: no plugin handles a tracker's URL scheme
 * @GBT_TORRENT_ERROR_NO_PEERS: no peer could be found or reached
 * @GBT_TORRENT_ERROR_METADATA: the metadata is missing or does not match
 *
 * Error codes in the %GBT_TORRENT_ERROR domain (`Gbt.TorrentError` in
 * bindings).
 */
typedef enum {
  GBT_TORRENT_ERROR_FAILED,
  GBT_TORRENT_ERROR_STORAGE,
  GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN,
  GBT_TORRENT_ERROR_NO_PEERS,
  GBT_TORRENT_ERROR_METADATA,
} GbtTorrentError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtTorrentError, as GLib's GFooError). */
typedef GbtTorrentError GbtTorrentErrorEnum;
#define GBT_TYPE_TORRENT_ERROR_ENUM (gbt_torrent_error_get_type ())
#endif

/**
 * GbtTorrentState:
 * @GBT_TORRENT_STATE_STOPPED: not started, or stopped
 * @GBT_TORRENT_STATE_CHECKING: verifying the data already on disk
 * @GBT_TORRENT_STATE_DOWNLOADING: fetching wanted pieces
 * @GBT_TORRENT_STATE_SEEDING: every wanted piece is on disk; uploading
 * @GBT_TORRENT_STATE_ERROR: stopped by gbt_torrent_get_error()
 * @GBT_TORRENT_STATE_FETCHING_METADATA: started from a magnet link, asking
 *   peers for the info dictionary (BEP 9); checking follows once it is in
 *
 * The value of #GbtTorrent:state.
 */
typedef enum {
  GBT_TORRENT_STATE_STOPPED,
  GBT_TORRENT_STATE_CHECKING,
  GBT_TORRENT_STATE_DOWNLOADING,
  GBT_TORRENT_STATE_SEEDING,
  GBT_TORRENT_STATE_ERROR,
  GBT_TORRENT_STATE_FETCHING_METADATA,
} GbtTorrentState;

/**
 * gbt_torrent_error_quark:
 *
 * Gets the #GQuark of the %GBT_TORRENT_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_torrent_error_quark (void);

/**
 * GbtTorrent:
 *
 * One torrent of a [class@Gbt.Session], made by
 * [method@Gbt.Session.add_torrent] or [method@Gbt.Session.add_magnet]:
 * [method@Gbt.Torrent.start] checks the data already on disk, then
 * downloads and seeds; [method@Gbt.Torrent.stop_async] stops it.
 *
 * Its [property@Gbt.Torrent:state] is notified on each change; signals
 * such as [signal@Gbt.Torrent::piece-verified] and
 * [signal@Gbt.Torrent::finished] report progress.  All are emitted on the
 * session's main context.
 */
#define GBT_TYPE_TORRENT (gbt_torrent_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtTorrent, gbt_torrent, GBT, TORRENT, GObject)

/**
 * gbt_torrent_set_files_wanted:
 * @self: a #GbtTorrent
 * @wanted: (array length=n_files): one flag per file of the metainfo
 * @n_files: the metainfo's file count
 *
 * Which files to download, at any time (running or not): a wanted file
 * gets %GBT_FILE_PRIORITY_NORMAL, the others %GBT_FILE_PRIORITY_SKIP (see
 * gbt_torrent_set_file_priority()).  Unwanted files are never created; the
 * bytes of boundary pieces that fall in them are kept in
 * DIR/.gbt/<info-hash>.parts.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_files_wanted (GbtTorrent *self, const gboolean *wanted, guint n_files);

/**
 * gbt_torrent_start:
 * @self: a #GbtTorrent
 *
 * Checks the data on disk (or loads resume data), then announces and
 * downloads or seeds.  Follow #GbtTorrent:state and #GbtTorrent::finished.
 *
 * A torrent stopped with gbt_torrent_stop_async() (once its callback has
 * run) starts again this way: the pieces verified before the stop are
 * trusted from its resume data, half-downloaded pieces start over, and
 * #GbtTorrent::finished is emitted again when complete.  A torrent in
 * %GBT_TORRENT_STATE_ERROR is stopped first.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_start (GbtTorrent *self);
/**
 * gbt_torrent_stop_async:
 * @self: a #GbtTorrent
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the torrent has stopped
 * @user_data: (closure callback): data for @callback
 *
 * Announces "stopped", waits for disk jobs and saves resume data; the data
 * is kept.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_stop_async (GbtTorrent *self, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_torrent_stop_finish:
 * @self: a #GbtTorrent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes the operation started with gbt_torrent_stop_async().
 *
 * Returns: %TRUE once stopped
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_stop_finish (GbtTorrent *self, GAsyncResult *result, GError **error);

/**
 * gbt_torrent_get_state:
 * @self: a #GbtTorrent
 *
 * Gets the value of #GbtTorrent:state.
 *
 * Returns: the value of #GbtTorrent:state
 */
GBT_AVAILABLE_IN_ALL
GbtTorrentState gbt_torrent_get_state (GbtTorrent *self);
/**
 * gbt_torrent_get_error:
 * @self: a #GbtTorrent
 *
 * Gets the error that put the torrent in %GBT_TORRENT_STATE_ERROR.
 *
 * Returns: (nullable) (transfer none): the error that put the torrent in
 *   %GBT_TORRENT_STATE_ERROR
 */
GBT_AVAILABLE_IN_ALL
const GError *gbt_torrent_get_error (GbtTorrent *self);
/**
 * gbt_torrent_get_info_hash:
 * @self: a #GbtTorrent
 *
 * Gets the 20-byte info-hash.
 *
 * Returns: (array fixed-size=20) (transfer none): the 20-byte info-hash
 */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_torrent_get_info_hash (GbtTorrent *self);
/**
 * gbt_torrent_get_metainfo:
 * @self: a #GbtTorrent
 *
 * Gets the metainfo, %NULL before the metadata arrives (magnet).
 *
 * Returns: (nullable) (transfer none): the metainfo, %NULL before the
 *   metadata arrives (magnet)
 */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_torrent_get_metainfo (GbtTorrent *self);
/**
 * gbt_torrent_has_metadata:
 * @self: a #GbtTorrent
 *
 * Checks whether the info dictionary is known.
 *
 * Returns: whether the info dictionary is known
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_has_metadata (GbtTorrent *self);
/**
 * gbt_torrent_get_name:
 * @self: a #GbtTorrent
 *
 * Gets the (sanitised) torrent name.
 *
 * Returns: (nullable): the (sanitised) torrent name
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_torrent_get_name (GbtTorrent *self);
/**
 * gbt_torrent_get_session:
 * @self: a #GbtTorrent
 *
 * Gets the session the torrent belongs to.
 *
 * Returns: (transfer none): the session the torrent belongs to
 */
GBT_AVAILABLE_IN_ALL
GbtSession *gbt_torrent_get_session (GbtTorrent *self);

/**
 * gbt_torrent_get_n_pieces_have:
 * @self: a #GbtTorrent
 *
 * Gets how many pieces are verified on disk.
 *
 * Returns: the number of verified pieces
 */
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_n_pieces_have (GbtTorrent *self);
/**
 * gbt_torrent_get_bytes_have:
 * @self: a #GbtTorrent
 *
 * Gets how many bytes of verified pieces are on disk.
 *
 * Returns: the bytes of the verified pieces
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_bytes_have (GbtTorrent *self);
/**
 * gbt_torrent_get_bytes_wanted:
 * @self: a #GbtTorrent
 *
 * Gets the size of what is to be downloaded: the bytes of the pieces
 * touching wanted files.
 *
 * Returns: the wanted bytes
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_bytes_wanted (GbtTorrent *self);
/**
 * gbt_torrent_get_downloaded:
 * @self: a #GbtTorrent
 *
 * Gets the payload bytes received of the blocks we asked for, in this
 * run (see also gbt_torrent_get_wasted()).
 *
 * Returns: the bytes downloaded
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_downloaded (GbtTorrent *self);
/**
 * gbt_torrent_get_wasted:
 * @self: a torrent
 *
 * Gets payload bytes received that were of no use: blocks nobody asked for,
 * duplicates, and blocks of pieces we already had.
 *
 * Returns: payload bytes received that were of no use: blocks nobody asked
 *   for, duplicates, and blocks of pieces we already had
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_wasted (GbtTorrent *self);
/**
 * gbt_torrent_get_uploaded:
 * @self: a #GbtTorrent
 *
 * Gets the payload bytes sent to peers.
 *
 * Returns: the bytes uploaded
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_uploaded (GbtTorrent *self);
/**
 * gbt_torrent_get_download_rate:
 * @self: a #GbtTorrent
 *
 * Gets the download rate, smoothed.
 *
 * Returns: bytes per second
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_download_rate (GbtTorrent *self);
/**
 * gbt_torrent_get_upload_rate:
 * @self: a #GbtTorrent
 *
 * Gets the upload rate, smoothed.
 *
 * Returns: bytes per second
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_upload_rate (GbtTorrent *self);
/**
 * gbt_torrent_get_n_peers:
 * @self: a #GbtTorrent
 *
 * Gets the number of connected peers.
 *
 * Returns: the number of peers
 */
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_n_peers (GbtTorrent *self);
/**
 * gbt_torrent_dup_peer_sources:
 * @self: a #GbtTorrent
 *
 * Where each connected peer came from: the source given to
 * gbt_torrent_add_peers() ("pex", "magnet", "resume", a tracker's URL...),
 * or "incoming" for a peer that dialled us.
 *
 * Returns: (transfer full): one string a connected peer
 */
GBT_AVAILABLE_IN_ALL
GStrv gbt_torrent_dup_peer_sources (GbtTorrent *self);
/**
 * gbt_torrent_dup_tracker_status:
 * @self: a #GbtTorrent
 *
 * One line per tracker, tier by tier: URL, state (idle, announcing, ok,
 * error), last error, seeders and leechers, next announce (for --verbose).
 *
 * Returns: (transfer full): the lines, empty when the torrent has no tracker
 */
GBT_AVAILABLE_IN_ALL
GStrv gbt_torrent_dup_tracker_status (GbtTorrent *self);

/**
 * gbt_torrent_get_peers:
 * @self: a #GbtTorrent
 *
 * The connected peers: a #GbtPeerInfo is added when a peer has completed
 * its handshake and removed when its connection closes; each is updated
 * in place once a second.  Empty while the torrent is stopped.
 *
 * Returns: (transfer none): a #GListModel of #GbtPeerInfo
 */
GBT_AVAILABLE_IN_ALL
GListModel *gbt_torrent_get_peers (GbtTorrent *self);
/**
 * gbt_torrent_get_trackers:
 * @self: a #GbtTorrent
 *
 * The torrent's trackers, one #GbtTrackerEntry per URL in tier order:
 * those of the metainfo or magnet link from the start (also while
 * stopped), plus those added with gbt_torrent_add_tracker(), minus those
 * removed.  Entries are updated in place as announces go.
 *
 * Returns: (transfer none): a #GListModel of #GbtTrackerEntry
 */
GBT_AVAILABLE_IN_ALL
GListModel *gbt_torrent_get_trackers (GbtTorrent *self);
/**
 * gbt_torrent_add_tracker:
 * @self: a #GbtTorrent
 * @url: the tracker's announce URL
 * @tier: its tier (BEP 12), from 0; a new tier when none has this number
 * @error: return location for a #GError
 *
 * Adds a tracker, at any time.  A running torrent announces to it at
 * once, then in turn with the others.
 *
 * Returns: %TRUE when added; %FALSE with %GBT_TORRENT_ERROR_NO_TRACKER_PLUGIN
 *   when no plugin handles its scheme, %GBT_TORRENT_ERROR_FAILED when it is
 *   not a URL or the torrent has it already
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_add_tracker (GbtTorrent *self, const char *url, guint tier, GError **error);
/**
 * gbt_torrent_remove_tracker:
 * @self: a #GbtTorrent
 * @url: a tracker's announce URL
 *
 * Removes a tracker, at any time; a request to it in flight is dropped.
 *
 * Returns: %TRUE when the torrent had it
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_remove_tracker (GbtTorrent *self, const char *url);
/**
 * gbt_torrent_announce_now:
 * @self: a #GbtTorrent
 *
 * Announces to the trackers now (libtorrent's force_reannounce), whatever
 * their interval, as a user's "ask for more peers" does; a round already
 * in flight is left to finish.  Nothing while the torrent is stopped.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_announce_now (GbtTorrent *self);

/**
 * gbt_torrent_add_peers:
 * @self: a #GbtTorrent
 * @addresses: (element-type GInetSocketAddress): candidate peer addresses
 * @source: where they come from ("dht", "pex", a tracker URL), shown to users
 *
 * For peer sources (DHT, PEX, LSD) and the tracker manager.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_add_peers (GbtTorrent *self, GPtrArray *addresses, const char *source);

/**
 * gbt_torrent_add_peer_stream:
 * @self: a #GbtTorrent
 * @stream: an already-connected stream that speaks the BitTorrent peer wire
 *   protocol, with pollable input and output streams
 * @source: where it comes from ("webseed"), shown as the peer's source and
 *   transport
 * @name: what stands for its address (a web seed's URL): shown as the
 *   peer's address, and the key of its trust and ban
 * @error: return location for a #GError
 *
 * For plugins whose "peers" are not at an address (web seeds, BEP 19):
 * hands the core a connection as if it had dialled it; the core sends its
 * handshake first and treats it as any outgoing peer from then on (a
 * peer that sends data failing the hash check is banned by @name, and
 * #GbtTorrent::peer-banned names it).  The core takes a reference and
 * closes the stream when the peer goes.
 *
 * Since: ABI 1.4
 *
 * Returns: %TRUE when taken; %FALSE with @error when refused: the torrent
 *   is not running, @name is banned, or there is no room for more peers
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_add_peer_stream (GbtTorrent *self, GIOStream *stream, const char *source,
                                      const char *name, GError **error);

/**
 * gbt_torrent_set_metadata_async:
 * @self: a #GbtTorrent started from a magnet link
 * @info: the bencoded info dictionary, as a metadata extension assembled it
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called once the bytes are checked
 * @user_data: (closure callback): data for @callback
 *
 * For metadata extensions (BEP 9).  On a worker thread the bytes are
 * checked against the info-hash and parsed; on success the torrent emits
 * #GbtTorrent::metadata-received and goes on as if started from a .torrent
 * file: it checks what is on disk, then downloads.  Peers already connected
 * stay connected.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_metadata_async (GbtTorrent *self, GBytes *info, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_torrent_set_metadata_finish:
 * @self: a #GbtTorrent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes gbt_torrent_set_metadata_async().
 *
 * Returns: %TRUE when the metadata was taken; %FALSE with @error set
 *   (%GBT_TORRENT_ERROR_METADATA) when it does not match the info-hash or
 *   is not a valid info dictionary, or when the torrent has metadata already
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_set_metadata_finish (GbtTorrent *self, GAsyncResult *result, GError **error);

/**
 * gbt_torrent_get_progress:
 * @self: a #GbtTorrent
 *
 * Gets the share of the wanted bytes that is verified.
 *
 * Returns: #GbtTorrent:progress, the share of the wanted bytes verified
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_progress (GbtTorrent *self);
/**
 * gbt_torrent_get_ratio:
 * @self: a #GbtTorrent
 *
 * Gets the share ratio.
 *
 * Returns: #GbtTorrent:ratio
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_ratio (GbtTorrent *self);
/**
 * gbt_torrent_get_eta:
 * @self: a #GbtTorrent
 *
 * Estimates the time left to download what is wanted.
 *
 * Returns: #GbtTorrent:eta: seconds left at the current rate, 0 when
 *   seeding, -1 when unknown
 */
GBT_AVAILABLE_IN_ALL
gint64 gbt_torrent_get_eta (GbtTorrent *self);
/**
 * gbt_torrent_get_n_seeders:
 * @self: a #GbtTorrent
 *
 * Counts the connected seeders.
 *
 * Returns: the connected peers that have every piece
 */
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_n_seeders (GbtTorrent *self);
/**
 * gbt_torrent_get_download_dir:
 * @self: a #GbtTorrent
 *
 * Gets the torrent's download directory.
 *
 * Returns: (transfer none): the directory the files are stored under
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_torrent_get_download_dir (GbtTorrent *self);
/**
 * gbt_torrent_dup_info_hash_hex:
 * @self: a #GbtTorrent
 *
 * Gets the torrent's info-hash in hexadecimal.
 *
 * Returns: (transfer full): the info-hash as 40 lowercase hex digits
 */
GBT_AVAILABLE_IN_ALL
char *gbt_torrent_dup_info_hash_hex (GbtTorrent *self);
/**
 * gbt_torrent_get_added_time:
 * @self: a #GbtTorrent
 *
 * Gets when the torrent was first added.
 *
 * Returns: #GbtTorrent:added-time, in seconds since the Unix epoch
 */
GBT_AVAILABLE_IN_ALL
gint64 gbt_torrent_get_added_time (GbtTorrent *self);

/**
 * gbt_torrent_set_rate_limits:
 * @self: a #GbtTorrent
 * @up_bytes_per_second: the torrent's upload limit, 0 for none
 * @down_bytes_per_second: the torrent's download limit, 0 for none
 *
 * Limits this torrent alone, under the session's limits (both apply).
 * May be called at any time; takes effect at once.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_rate_limits (GbtTorrent *self, guint64 up_bytes_per_second,
                                  guint64 down_bytes_per_second);
/**
 * gbt_torrent_get_download_limit:
 * @self: a #GbtTorrent
 *
 * Gets the torrent's own download limit.
 *
 * Returns: #GbtTorrent:download-limit in bytes per second, 0 for none
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_download_limit (GbtTorrent *self);
/**
 * gbt_torrent_get_upload_limit:
 * @self: a #GbtTorrent
 *
 * Gets the torrent's own upload limit.
 *
 * Returns: #GbtTorrent:upload-limit in bytes per second, 0 for none
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_torrent_get_upload_limit (GbtTorrent *self);
/**
 * gbt_torrent_set_max_peers:
 * @self: a #GbtTorrent
 * @max_peers: the most connections for this torrent, 0 for the session's
 *
 * May be called at any time; applies to new connections.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_max_peers (GbtTorrent *self, guint max_peers);
/**
 * gbt_torrent_get_max_peers:
 * @self: a #GbtTorrent
 *
 * Gets the torrent's own connection limit.
 *
 * Returns: #GbtTorrent:max-peers (0: the session's)
 */
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_max_peers (GbtTorrent *self);
/**
 * gbt_torrent_set_seed_limits:
 * @self: a #GbtTorrent
 * @ratio: stop seeding once #GbtTorrent:ratio reaches this, 0 for no limit
 * @seconds: stop after seeding this long in one run, 0 for no limit
 *
 * When either limit is reached while seeding, the torrent emits
 * #GbtTorrent::seed-limit-reached and stops itself.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_seed_limits (GbtTorrent *self, double ratio, guint seconds);
/**
 * gbt_torrent_get_seed_ratio_limit:
 * @self: a #GbtTorrent
 *
 * Gets the ratio at which seeding stops.
 *
 * Returns: #GbtTorrent:seed-ratio-limit (0: none)
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_seed_ratio_limit (GbtTorrent *self);
/**
 * gbt_torrent_get_seed_time_limit:
 * @self: a #GbtTorrent
 *
 * Gets the seeding time after which seeding stops.
 *
 * Returns: #GbtTorrent:seed-time-limit in seconds (0: none)
 */
GBT_AVAILABLE_IN_ALL
guint gbt_torrent_get_seed_time_limit (GbtTorrent *self);
/**
 * gbt_torrent_set_sequential:
 * @self: a #GbtTorrent
 * @sequential: %TRUE to fetch new pieces in order
 *
 * Sets #GbtTorrent:sequential; takes effect on the next request.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_sequential (GbtTorrent *self, gboolean sequential);
/**
 * gbt_torrent_get_sequential:
 * @self: a #GbtTorrent
 *
 * Tells whether new pieces are fetched in order.
 *
 * Returns: #GbtTorrent:sequential
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_get_sequential (GbtTorrent *self);

/**
 * gbt_torrent_verify:
 * @self: a #GbtTorrent
 *
 * Checks the data on disk again, trusting nothing the resume data says:
 * every piece is hashed (Transmission's "verify").  A running torrent
 * stops, goes through %GBT_TORRENT_STATE_CHECKING and downloads or seeds
 * again, with exactly the pieces whose data matched: one damaged on disk
 * is downloaded again, one repaired on disk counts.  A stopped torrent is
 * checked (%GBT_TORRENT_STATE_CHECKING) and goes back to
 * %GBT_TORRENT_STATE_STOPPED with what was found, in its resume data too;
 * gbt_torrent_start() meanwhile makes it go on downloading or seeding
 * after the check instead.  Nothing happens before the metadata is known
 * (magnet link).
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_verify (GbtTorrent *self);
/**
 * gbt_torrent_get_check_progress:
 * @self: a #GbtTorrent
 *
 * How far the check of the data on disk has gone (Transmission's
 * recheckProgress).
 *
 * Returns: the share of the pieces to hash that are hashed, from 0 to 1,
 *   while the state is %GBT_TORRENT_STATE_CHECKING; 0 otherwise
 */
GBT_AVAILABLE_IN_ALL
double gbt_torrent_get_check_progress (GbtTorrent *self);

/**
 * gbt_torrent_move_data_async:
 * @self: a #GbtTorrent
 * @new_dir: an absolute path: the download directory from now on
 * @move: %TRUE to move the files there, %FALSE to look for them there
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called once the torrent is at @new_dir
 * @user_data: (closure callback): data for @callback
 *
 * Changes the torrent's download directory (Transmission's
 * torrent-set-location).  The torrent pauses: it stops, and starts again
 * afterwards if it was running.
 *
 * With @move, its files, and the files gbt keeps beside them in
 * DIR/.gbt/, go to @new_dir under the same relative paths, on a worker
 * thread: renamed within a file system, copied then deleted across file
 * systems; directories are created, and the torrent's directories left
 * empty are removed.  A file not on disk is skipped.  On failure
 * everything already moved goes back, and the torrent keeps its
 * directory.
 *
 * Without @move, nothing on disk changes: the torrent's files are looked
 * for in @new_dir, and every piece is checked there as by
 * gbt_torrent_verify().
 *
 * #GbtTorrent:download-dir is notified on success, and the session's
 * state (gbt_session_set_state_directory()) saves the new directory.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_move_data_async (GbtTorrent *self, const char *new_dir, gboolean move,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
/**
 * gbt_torrent_move_data_finish:
 * @self: a #GbtTorrent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes gbt_torrent_move_data_async().
 *
 * Returns: %TRUE when the torrent is at its new directory; %FALSE with
 *   @error (naming the file and why) when nothing changed: a %G_IO_ERROR
 *   such as %G_IO_ERROR_EXISTS (a file of the torrent is at its place in
 *   @new_dir already), %G_IO_ERROR_INVALID_ARGUMENT (@new_dir is not
 *   absolute), %G_IO_ERROR_BUSY (a move or rename is under way)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_move_data_finish (GbtTorrent *self, GAsyncResult *result, GError **error);

/**
 * gbt_torrent_rename_path_async:
 * @self: a #GbtTorrent
 * @path: a file or directory of the torrent, as gbt_file_get_path() shows
 *   it: the torrent's name first for a multi-file torrent
 * @new_name: its new name: one path component (no '/', not "." or "..")
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called once renamed
 * @user_data: (closure callback): data for @callback
 *
 * Renames a file or a directory of the torrent (Transmission's
 * torrent-rename-path): on disk, when it is there (on a worker thread),
 * and in the torrent, whose every file under @path has the new path from
 * then on (gbt_file_get_path(), its I/O, the check, removal with the
 * data), kept in the session's state.  Renaming the top (@path is the
 * torrent's name) renames the torrent: gbt_torrent_get_name() and
 * #GbtTorrent:name follow.  The torrent pauses meanwhile, as for
 * gbt_torrent_move_data_async().
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_rename_path_async (GbtTorrent *self, const char *path, const char *new_name,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
/**
 * gbt_torrent_rename_path_finish:
 * @self: a #GbtTorrent
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes gbt_torrent_rename_path_async().
 *
 * Returns: %TRUE when renamed; %FALSE with @error when nothing changed:
 *   %G_IO_ERROR_NOT_FOUND (@path is not in the torrent),
 *   %G_IO_ERROR_INVALID_ARGUMENT (@new_name is not a file name),
 *   %G_IO_ERROR_EXISTS (the torrent or the disk has the new path already),
 *   %G_IO_ERROR_BUSY (a move or rename is under way), or the error of
 *   rename(2)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_torrent_rename_path_finish (GbtTorrent *self, GAsyncResult *result, GError **error);

G_END_DECLS
