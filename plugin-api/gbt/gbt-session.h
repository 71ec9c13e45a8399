/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtSession: the engine.  Owns the listening sockets, the plugins in use,
 * the peer id and the torrents.  Signals and callbacks are delivered on the
 * thread-default main context current when the session was created.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_SESSION_ERROR (gbt_session_error_quark ())
typedef enum {
  GBT_SESSION_ERROR_FAILED,
  GBT_SESSION_ERROR_NO_TRANSPORT,
  GBT_SESSION_ERROR_DUPLICATE_TORRENT,
} GbtSessionErrorEnum;

GBT_AVAILABLE_IN_ALL
GQuark gbt_session_error_quark (void);

#define GBT_TYPE_SESSION (gbt_session_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtSession, gbt_session, GBT, SESSION, GObject)

GBT_AVAILABLE_IN_ALL
GbtSession *gbt_session_new (void);

/* Before start: where to listen ("0.0.0.0", "::", "127.0.0.5"; NULL, the
 * default: every address, IPv6 and IPv4), port 0 = any */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_listen_address (GbtSession *self, const char *address, guint16 port);
/* Before start: local address for outgoing connections and announces (--bind) */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_bind_address (GbtSession *self, const char *address);
/* Before start: plugins to enable beyond the defaults, extra plugin dirs */
GBT_AVAILABLE_IN_ALL
void gbt_session_set_plugins (GbtSession *self, const char *const *enable,
                              const char *const *extra_dirs);
GBT_AVAILABLE_IN_ALL
void gbt_session_set_max_peers_per_torrent (GbtSession *self, guint max);
/* Global limits in bytes per second over all torrents (0: unlimited),
 * applied smoothly at the sockets (token buckets).  Any time. */
/* Parses a rate for gbt_session_set_rate_limits(): a number with an
 * optional unit and "/s".  "K", "M", "G", "KiB", "MiB", "GiB" are powers
 * of 1024; "kB", "MB", "GB" powers of 1000; "bit", "kbit", "mbit", "gbit"
 * are bits.  "0" means unlimited.  Examples: "500K", "1.5MiB", "10mbit". */
GBT_AVAILABLE_IN_ALL
gboolean gbt_rate_parse (const char *text, guint64 *bytes_per_second, GError **error);

GBT_AVAILABLE_IN_ALL
void gbt_session_set_rate_limits (GbtSession *self, guint64 up_bytes_per_second,
                                  guint64 down_bytes_per_second);

/* Loads plugins and starts listening. */
GBT_AVAILABLE_IN_ALL
gboolean gbt_session_start (GbtSession *self, GError **error);
GBT_AVAILABLE_IN_ALL
guint16 gbt_session_get_listen_port (GbtSession *self);
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_session_get_peer_id (GbtSession *self); /* 20 bytes */

/* (transfer full): the torrent, not yet started */
GBT_AVAILABLE_IN_ALL
GbtTorrent *gbt_session_add_torrent (GbtSession *self, GbtMetainfo *metainfo,
                                     const char *download_dir, GError **error);
GBT_AVAILABLE_IN_ALL
void gbt_session_remove_torrent (GbtSession *self, GbtTorrent *torrent);
/* (transfer none): a GListModel of GbtTorrent */
GBT_AVAILABLE_IN_ALL
GListModel *gbt_session_get_torrents (GbtSession *self);

G_END_DECLS
