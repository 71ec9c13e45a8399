/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>

G_BEGIN_DECLS

/* (transfer none) the session's own view of the plugin registry: the
 * plugins it uses, no others (see gbt_plugin_registry_new_view()) */
G_GNUC_INTERNAL GbtPluginRegistry *gbt_session_get_registry (GbtSession *self);
/* (nullable) the transport for outgoing connections */
G_GNUC_INTERNAL GbtTransport *gbt_session_get_transport (GbtSession *self);

/* One transport a session uses: its listen handle, and what dialling with it
 * needs. */
typedef struct {
  GbtSession *session;
  char *name;
  GbtTransport *transport;
  gboolean udp;
  GObject *handle; /* listening; NULL when not */
} GbtSessionTransport;

/* GbtSessionTransport*, in the session's order of preference; NULL before
 * it started */
G_GNUC_INTERNAL GPtrArray *gbt_session_get_dialers (GbtSession *self);
/* Dials @address over the session's transports (gbt-session-dial.c),
 * @preferred (a transport's name, nullable) first.  With @info_hash (the
 * torrent's, nullable) the connection goes through the session's stream
 * filter (MSE) as its encryption policy says. */
G_GNUC_INTERNAL void gbt_session_connect_async (GbtSession *self, GInetSocketAddress *address,
                                                const guint8 *info_hash,
                                                const char *preferred, const char *avoid,
                                                GCancellable *cancellable,
                                                GAsyncReadyCallback callback, gpointer user_data);
/* @transport: (out) (optional): the interned name of the transport that
 * connected */
G_GNUC_INTERNAL GIOStream *gbt_session_connect_finish (GbtSession *self, GAsyncResult *result,
                                                       const char **transport, GError **error);
/* (nullable) local address to bind outgoing connections to */
G_GNUC_INTERNAL GSocketAddress *gbt_session_get_bind_socket_address (GbtSession *self);
G_GNUC_INTERNAL gboolean gbt_session_get_announce_to_all (GbtSession *self);
/* listening on one socket for IPv6 and IPv4, with no bind address */
G_GNUC_INTERNAL gboolean gbt_session_is_dual_stack (GbtSession *self);
/* total bytes waiting for the disk across torrents, for back-pressure */
G_GNUC_INTERNAL guint64 gbt_session_get_buffer_limit (GbtSession *self);
/* the global token buckets (always there; rate 0 = unlimited) */
typedef struct _GbtRateLimit GbtRateLimit;
G_GNUC_INTERNAL GbtRateLimit *gbt_session_get_rate_limit (GbtSession *self, gboolean up);

/* a torrent's setting or state changed: the state directory is saved
 * again soon (@torrent may be NULL: the list changed) */
G_GNUC_INTERNAL void gbt_session_torrent_changed (GbtSession *self, GbtTorrent *torrent);
/* One timer for the session calls gbt_torrent_tick() of each ticking
 * torrent once a second (not a timer each: the main loop's every iteration
 * walks every source, and thousands of seeds would each wake it).
 * @slot: the torrent's tick_slot, kept by the session (O(1) removal). */
G_GNUC_INTERNAL void gbt_session_tick_add (GbtSession *self, GbtTorrent *torrent, guint *slot);
G_GNUC_INTERNAL void gbt_session_tick_remove (GbtSession *self, GbtTorrent *torrent, guint *slot);
/* (nullable) (transfer full) where torrents keep their resume data: NULL
 * for the .gbt folder beside their files */
G_GNUC_INTERNAL char *gbt_session_dup_resume_dir (GbtSession *self);

/* (nullable) the stream filter connections go through under the session's
 * encryption policy: NULL when it is off or no "mse" plugin is loaded */
G_GNUC_INTERNAL GbtStreamFilter *gbt_session_get_stream_filter (GbtSession *self);
/* a peer refused an encrypted handshake: under "prefer" the next dials to
 * @address go in plaintext at once (bounded memory) */
G_GNUC_INTERNAL void gbt_session_note_plaintext_peer (GbtSession *self, GInetSocketAddress *address);
G_GNUC_INTERNAL gboolean gbt_session_is_plaintext_peer (GbtSession *self,
                                                        GInetSocketAddress *address);

G_END_DECLS
