/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtSession: the engine.  Owns the listening sockets, the plugins in use,
 * the peer id and the torrents.  Signals and callbacks are delivered on the
 * thread-default main context current when the session was created.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-magnet.h>
#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-types.h>
#include <gbt/gbt-udp-port.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_SESSION_ERROR (gbt_session_error_quark ())
/**
 * GbtSessionError:
 * @GBT_SESSION_ERROR_FAILED: any other failure
 * @GBT_SESSION_ERROR_NO_TRANSPORT: no transport plugin is registered
 * @GBT_SESSION_ERROR_DUPLICATE_TORRENT: a torrent with the same info-hash is
 *   already in the session
 *
 * Error codes in the %GBT_SESSION_ERROR domain (`Gbt.SessionError` in
 * bindings).
 */
typedef enum {
  GBT_SESSION_ERROR_FAILED,
  GBT_SESSION_ERROR_NO_TRANSPORT,
  GBT_SESSION_ERROR_DUPLICATE_TORRENT,
} GbtSessionError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtSessionError, as GLib's GFooError). */
typedef GbtSessionError GbtSessionErrorEnum;
#define GBT_TYPE_SESSION_ERROR_ENUM (gbt_session_error_get_type ())
#endif

/**
 * gbt_session_error_quark:
 *
 * Gets the #GQuark of the %GBT_SESSION_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_session_error_quark (void);

/**
 * GbtSession:
 *
 * The engine: owns the listening sockets, the plugins in use, the peer id
 * and the torrents ([method@Gbt.Session.get_torrents]).
 *
 * Create one with [ctor@Gbt.Session.new], configure it, call
 * [method@Gbt.Session.start], then add torrents with
 * [method@Gbt.Session.add_torrent] or [method@Gbt.Session.add_magnet].
 *
 * A session lives on the thread-default main context current when it was
 * created: its signals, property notifications and async callbacks, and
 * those of its torrents, are delivered there, and it must be used from
 * that context's thread only.  See the app developer's guide
 * (docs/app-guide.md).
 */
#define GBT_TYPE_SESSION (gbt_session_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtSession, gbt_session, GBT, SESSION, GObject)

/**
 * gbt_session_new:
 *
 * Creates a session.  It uses the thread-default main context current now
 * (g_main_context_ref_thread_default()) for all it does.
 *
 * Returns: (transfer full): a new session, not yet started
 */
GBT_AVAILABLE_IN_ALL
GbtSession *gbt_session_new (void);

/**
 * gbt_session_set_listen_address:
 * @self: a #GbtSession
 * @address: (nullable): a literal IP address ("0.0.0.0", "::", "127.0.0.5"),
 *   or %NULL, the default: every address, IPv6 and IPv4
 * @port: the port, 0 for any free one
 *
 * Before gbt_session_start(): where to accept peer connections.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_listen_address (GbtSession *self, const char *address, guint16 port);
/**
 * gbt_session_set_bind_address:
 * @self: a #GbtSession
 * @address: (nullable): a literal IP address, or %NULL for the system's choice
 *
 * Before gbt_session_start(): the local address of outgoing connections and
 * tracker announces (`--bind`).
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_bind_address (GbtSession *self, const char *address);
/**
 * gbt_session_set_plugins:
 * @self: a #GbtSession
 * @enable: (array zero-terminated=1) (nullable): optional plugins to register
 *   beyond the defaults; "-name" keeps the default plugin "name" off
 * @extra_dirs: (array zero-terminated=1) (nullable): directories searched for
 *   plugins before the standard ones
 *
 * Before gbt_session_start(): which plugins to use.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_plugins (GbtSession *self, const char *const *enable,
                              const char *const *extra_dirs);
/**
 * gbt_session_set_max_peers_per_torrent:
 * @self: a #GbtSession
 * @max: the most peer connections one torrent keeps open
 *
 * Sets the most peer connections each torrent keeps open.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_max_peers_per_torrent (GbtSession *self, guint max);
/**
 * gbt_session_set_announce_to_all:
 * @self: a #GbtSession
 * @all: %TRUE to announce to every tracker of every tier at once
 *
 * By default a torrent announces as BEP 12 says: to one tracker at a time,
 * tier by tier, moving on only when one fails.  With @all, it announces to
 * every tracker it lists on each round (more peers, more tracker load).
 * Applies to torrents started afterwards.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_announce_to_all (GbtSession *self, gboolean all);
/**
 * GbtEncryption:
 * @GBT_ENCRYPTION_PREFER: dial encrypted (MSE/PE) first and retry in
 *   plaintext when the peer refuses; accept both (the default)
 * @GBT_ENCRYPTION_REQUIRE: encrypted connections only, both ways
 * @GBT_ENCRYPTION_OFF: plaintext only
 *
 * The protocol encryption policy (needs the "mse" plugin; without it every
 * connection is plaintext).
 */
typedef enum {
  GBT_ENCRYPTION_PREFER,
  GBT_ENCRYPTION_REQUIRE,
  GBT_ENCRYPTION_OFF,
} GbtEncryption;
/**
 * gbt_session_set_encryption:
 * @self: a #GbtSession
 * @mode: the policy
 *
 * Sets the protocol encryption policy, for connections made afterwards.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_encryption (GbtSession *self, GbtEncryption mode);
/**
 * gbt_session_get_encryption:
 * @self: a #GbtSession
 *
 * Gets the protocol encryption policy.
 *
 * Returns: the protocol encryption policy
 */
GBT_AVAILABLE_IN_ALL
GbtEncryption gbt_session_get_encryption (GbtSession *self);
/**
 * gbt_rate_parse:
 * @text: a rate such as "500K", "1.5MiB", "10mbit"
 * @bytes_per_second: (out): where to store the rate in bytes per second
 * @error: return location for a #GError
 *
 * Parses a rate for gbt_session_set_rate_limits(): a number with an
 * optional unit and "/s".  "K", "M", "G", "KiB", "MiB", "GiB" are powers
 * of 1024; "kB", "MB", "GB" powers of 1000; "bit", "kbit", "mbit", "gbit"
 * are bits.  "0" means unlimited.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_rate_parse (const char *text, guint64 *bytes_per_second, GError **error);

/**
 * gbt_session_set_rate_limits:
 * @self: a #GbtSession
 * @up_bytes_per_second: upload limit over all torrents, 0 for none
 * @down_bytes_per_second: download limit over all torrents, 0 for none
 *
 * Global limits, applied smoothly at the sockets (token buckets).  May be
 * called at any time.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_rate_limits (GbtSession *self, guint64 up_bytes_per_second,
                                  guint64 down_bytes_per_second);

/**
 * gbt_session_start:
 * @self: a #GbtSession
 * @error: return location for a #GError
 *
 * Loads plugins and starts listening.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_start (GbtSession *self, GError **error);
/**
 * gbt_session_get_listen_port:
 * @self: a #GbtSession
 *
 * Gets the port peers connect to (after gbt_session_start()).
 *
 * Returns: the port peers connect to (after gbt_session_start())
 */
GBT_AVAILABLE_IN_ALL
guint16 gbt_session_get_listen_port (GbtSession *self);
/**
 * gbt_session_get_peer_id:
 * @self: a #GbtSession
 *
 * Gets our 20-byte peer id.
 *
 * Returns: (array fixed-size=20) (transfer none): our 20-byte peer id
 */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_session_get_peer_id (GbtSession *self); /* 20 bytes */

/**
 * gbt_session_get_bind_inet_address:
 * @self: a started #GbtSession
 *
 * For plugins that open sockets of their own (DHT): the address given to
 * gbt_session_set_bind_address().
 *
 * Returns: (transfer none) (nullable): the bind address, %NULL when none
 *   was set
 */
GBT_AVAILABLE_IN_ALL
GInetAddress *gbt_session_get_bind_inet_address (GbtSession *self);

/**
 * gbt_session_get_udp_port:
 * @self: a started #GbtSession
 *
 * The session's shared UDP socket, on its listen address and the TCP
 * listener's port number (ABI 1.3): uTP and the DHT both use it, so the
 * port peers learn from us reaches both.
 *
 * Returns: (transfer none) (nullable): the port, %NULL before the session
 *   started or when the UDP port could not be bound
 */
GBT_AVAILABLE_IN_ALL
GbtUdpPort *gbt_session_get_udp_port (GbtSession *self);

/**
 * gbt_session_set_transports:
 * @self: a #GbtSession, not started
 * @transports: (array zero-terminated=1) (nullable): transport names in
 *   order of preference (`tcp`, `utp`), %NULL for every one loaded
 *
 * Chooses the transports peers are reached and accepted over; the default
 * is both TCP and uTP.  See docs/transports.md for the order an outgoing
 * connection tries them in.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_transports (GbtSession *self, const char *const *transports);

/**
 * gbt_session_add_torrent:
 * @self: a #GbtSession
 * @metainfo: the torrent's metainfo
 * @download_dir: the directory the files are stored under
 * @error: return location for a #GError
 *
 * Adds a torrent to the session and to gbt_session_get_torrents(); start it
 * with gbt_torrent_start().
 *
 * Returns: (transfer full): the torrent, not yet started
 */
GBT_AVAILABLE_IN_ALL
GbtTorrent *gbt_session_add_torrent (GbtSession *self, GbtMetainfo *metainfo,
                                     const char *download_dir, GError **error);
/**
 * gbt_session_add_magnet:
 * @self: a #GbtSession
 * @magnet: a parsed magnet link
 * @download_dir: the directory the files are stored under
 * @error: return location for a #GError
 *
 * Adds a torrent that exists before its metadata: once started it announces
 * to the link's trackers, connects to its peers (`x.pe`) and to those the
 * trackers and peer sources give, and fetches the info dictionary from them
 * through a metadata extension (the `metadata` plugin, BEP 9).  Its state is
 * %GBT_TORRENT_STATE_FETCHING_METADATA until then.
 *
 * Returns: (transfer full): the torrent, not yet started
 */
GBT_AVAILABLE_IN_ALL
GbtTorrent *gbt_session_add_magnet (GbtSession *self, const GbtMagnet *magnet,
                                    const char *download_dir, GError **error);
/**
 * gbt_session_remove_torrent:
 * @self: a #GbtSession
 * @torrent: a torrent of this session
 *
 * Stops @torrent at once, without telling its trackers, saves its resume
 * data (blocking) and takes it out of the session: its info-hash may be
 * added again, and gbt_torrent_get_session() returns %NULL from now on.
 * Prefer gbt_session_remove_torrent_async(), which tells the trackers and
 * does not block.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_remove_torrent (GbtSession *self, GbtTorrent *torrent);

/**
 * GbtRemoveFlags:
 * @GBT_REMOVE_FLAGS_NONE: keep the downloaded files and the resume data
 * @GBT_REMOVE_FLAGS_DELETE_DATA: delete the torrent's files (and the
 *   directories of a multi-file torrent left empty)
 * @GBT_REMOVE_FLAGS_DELETE_RESUME: delete its resume data and the other
 *   files gbt keeps for it (parts of skipped files, a magnet's metadata)
 *
 * What gbt_session_remove_torrent_async() deletes besides the torrent.
 */
typedef enum /*< flags >*/ {
  GBT_REMOVE_FLAGS_NONE = 0,
  GBT_REMOVE_FLAGS_DELETE_DATA = 1 << 0,
  GBT_REMOVE_FLAGS_DELETE_RESUME = 1 << 1,
} GbtRemoveFlags;

/**
 * gbt_session_remove_torrent_async:
 * @self: a #GbtSession
 * @torrent: a torrent of this session
 * @flags: what to delete
 * @cancellable: (nullable): a #GCancellable (the stop is not cancelled;
 *   the callback then reports %G_IO_ERROR_CANCELLED)
 * @callback: (scope async): called when the torrent is stopped, its files
 *   deleted as @flags asks, and its info-hash free for a new add
 * @user_data: data for @callback
 *
 * Takes @torrent out of gbt_session_get_torrents() at once, stops it
 * (trackers told, resume data saved), deletes what @flags names on a
 * worker thread, and only then lets the same info-hash be added again
 * (an add before that fails with %GBT_SESSION_ERROR_DUPLICATE_TORRENT).
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_remove_torrent_async (GbtSession *self, GbtTorrent *torrent, GbtRemoveFlags flags,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
/**
 * gbt_session_remove_torrent_finish:
 * @self: a #GbtSession
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Finishes gbt_session_remove_torrent_async().
 *
 * Returns: %TRUE when the torrent is removed and its files deleted as
 *   asked; %FALSE with @error when a file could not be deleted (the
 *   torrent is removed all the same)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_remove_torrent_finish (GbtSession *self, GAsyncResult *result, GError **error);

/**
 * gbt_session_get_download_rate:
 * @self: a #GbtSession
 *
 * Gets the download rate summed over the torrents.
 *
 * Returns: #GbtSession:download-rate, the sum over its torrents in bytes
 *   per second
 */
GBT_AVAILABLE_IN_ALL
double gbt_session_get_download_rate (GbtSession *self);
/**
 * gbt_session_get_upload_rate:
 * @self: a #GbtSession
 *
 * Gets the upload rate summed over the torrents.
 *
 * Returns: #GbtSession:upload-rate, in bytes per second
 */
GBT_AVAILABLE_IN_ALL
double gbt_session_get_upload_rate (GbtSession *self);
/**
 * gbt_session_get_downloaded:
 * @self: a #GbtSession
 *
 * Gets the payload bytes received in this session.
 *
 * Returns: #GbtSession:downloaded: payload bytes received since the session
 *   was created, by every torrent it had
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_session_get_downloaded (GbtSession *self);
/**
 * gbt_session_get_uploaded:
 * @self: a #GbtSession
 *
 * Gets the payload bytes sent in this session.
 *
 * Returns: #GbtSession:uploaded: payload bytes sent since the session was
 *   created
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_session_get_uploaded (GbtSession *self);
/**
 * gbt_session_get_download_limit:
 * @self: a #GbtSession
 *
 * Gets the global download limit.
 *
 * Returns: the global download limit in bytes per second, 0 for none
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_session_get_download_limit (GbtSession *self);
/**
 * gbt_session_get_upload_limit:
 * @self: a #GbtSession
 *
 * Gets the global upload limit.
 *
 * Returns: the global upload limit in bytes per second, 0 for none
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_session_get_upload_limit (GbtSession *self);
/**
 * gbt_session_get_max_peers_per_torrent:
 * @self: a #GbtSession
 *
 * Gets the default connection limit of a torrent.
 *
 * Returns: #GbtSession:max-peers-per-torrent
 */
GBT_AVAILABLE_IN_ALL
guint gbt_session_get_max_peers_per_torrent (GbtSession *self);

/**
 * gbt_session_set_state_directory:
 * @self: a #GbtSession
 * @path: (type filename) (nullable): a directory for the session's state,
 *   or %NULL for none
 *
 * Where the session keeps its torrents across restarts: the list with each
 * torrent's directory, settings and file priorities (`session.ini`), a
 * copy of each torrent's metadata (`torrents/`) and the resume data
 * (`resume/`, instead of a `.gbt` folder beside the downloaded files).
 * While it is set, the state is saved on its own, shortly after anything
 * in it changes.  Set it before adding torrents; see
 * gbt_session_load_state().  Apps usually pass
 * `$XDG_STATE_HOME/APP/gbt` (g_get_user_state_dir()).
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_state_directory (GbtSession *self, const char *path);
/**
 * gbt_session_get_state_directory:
 * @self: a #GbtSession
 *
 * Gets the state directory.
 *
 * Returns: (type filename) (nullable) (transfer none): #GbtSession:state-directory
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_session_get_state_directory (GbtSession *self);
/**
 * gbt_session_save_state:
 * @self: a #GbtSession with a state directory
 * @error: return location for a #GError
 *
 * Writes the session's state now, atomically (blocking; the automatic
 * saves run on a worker).  Each torrent's resume data is its own and is
 * written as the torrent runs and stops.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_save_state (GbtSession *self, GError **error);
/**
 * gbt_session_save_state_async:
 * @self: a #GbtSession
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called once the state is on disk
 * @user_data: data for @callback
 *
 * Writes the session state now, as gbt_session_save_state() does, but on a
 * worker thread: for a caller that must know a change is on disk before it
 * answers (the daemon replying to a stop), without blocking the main loop.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_save_state_async (GbtSession *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_session_save_state_finish:
 * @self: a #GbtSession
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes gbt_session_save_state_async().
 *
 * Returns: %TRUE once written; %FALSE with @error set when the session has
 *   no state directory or a file could not be written
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_save_state_finish (GbtSession *self, GAsyncResult *result, GError **error);
/**
 * gbt_session_load_state:
 * @self: a started #GbtSession with a state directory
 * @error: return location for a #GError
 *
 * Adds the torrents of the saved state with their directories, settings
 * and file priorities, and starts those that were running when it was
 * saved.  A torrent already in the session, or whose saved metadata is
 * damaged, is skipped with a warning; a state file that cannot be parsed
 * is an error and nothing is added.  A missing state file is no error.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_load_state (GbtSession *self, GError **error);
/**
 * gbt_session_get_torrents:
 * @self: a #GbtSession
 *
 * Gets a #GListModel of #GbtTorrent, updated as torrents are added and
 * removed.
 *
 * Returns: (transfer none): a #GListModel of #GbtTorrent, updated as
 *   torrents are added and removed
 */
GBT_AVAILABLE_IN_ALL
GListModel *gbt_session_get_torrents (GbtSession *self);

/**
 * gbt_session_set_port_mapping:
 * @self: a #GbtSession
 * @enabled: whether a port mapping plugin (portmap) may ask the router
 *   to forward our listen ports (default %TRUE)
 *
 * Turns router port mapping (UPnP IGD, NAT-PMP) on or off; read by the
 * portmap plugin when a torrent starts.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_port_mapping (GbtSession *self, gboolean enabled);
/**
 * gbt_session_get_port_mapping:
 * @self: a #GbtSession
 *
 * Gets whether router port mapping is allowed.
 *
 * Returns: %TRUE unless gbt_session_set_port_mapping() turned it off
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_get_port_mapping (GbtSession *self);
/**
 * gbt_session_set_announce_port:
 * @self: a #GbtSession
 * @port: the port to announce to trackers, 0 for the listen port
 *
 * For a port mapping plugin: the router forwards @port (external) to our
 * listen port, so trackers should hand out @port.  Running torrents
 * announce it at once.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_announce_port (GbtSession *self, guint16 port);
/**
 * gbt_session_get_announce_port:
 * @self: a #GbtSession
 *
 * Gets the port announced to trackers.
 *
 * Returns: the port set by gbt_session_set_announce_port(), else the
 *   listen port
 */
GBT_AVAILABLE_IN_ALL
guint16 gbt_session_get_announce_port (GbtSession *self);
/**
 * gbt_session_update_port_mapping:
 * @self: a #GbtSession
 * @key: names the mapping, e.g. "natpmp/tcp"
 * @mapping: (nullable): an `a{sv}` #GVariant describing it (floating refs
 *   are sunk), %NULL to forget it
 *
 * For a port mapping plugin: records one mapping's state for
 * gbt_session_dup_port_mappings().  Keys the portmap plugin sets:
 * `method` (s: "natpmp", "upnp"), `protocol` (s: "tcp", "udp"),
 * `internal_port` (q), `external_port` (q, 0 until mapped),
 * `external_address` (s), `state` (s: "mapping", "mapped", "error"),
 * `error` (s), `lifetime` (u, seconds).
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_update_port_mapping (GbtSession *self, const char *key, GVariant *mapping);
/**
 * gbt_session_hold:
 * @self: a #GbtSession
 *
 * For plugins: work is under way that should end before the process
 * exits (a router mapping being deleted); undone by gbt_session_release().
 * An application about to exit runs its main context while
 * gbt_session_get_n_holds() is above 0, for a bounded time (gbt waits at
 * most 3 s).
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_hold (GbtSession *self);
/**
 * gbt_session_release:
 * @self: a #GbtSession
 *
 * Ends what gbt_session_hold() began.
 */
GBT_AVAILABLE_IN_ALL
void gbt_session_release (GbtSession *self);
/**
 * gbt_session_get_n_holds:
 * @self: a #GbtSession
 *
 * Gets how many gbt_session_hold() are not yet released.
 *
 * Returns: the number of holds
 */
GBT_AVAILABLE_IN_ALL
guint gbt_session_get_n_holds (GbtSession *self);
/**
 * gbt_session_dup_port_mappings:
 * @self: a #GbtSession
 *
 * Gets the router port mappings and their errors, as recorded by a port
 * mapping plugin, sorted by key.
 *
 * Returns: (transfer full): an `aa{sv}` #GVariant, empty when none
 */
GBT_AVAILABLE_IN_ALL
GVariant *gbt_session_dup_port_mappings (GbtSession *self);

G_END_DECLS
