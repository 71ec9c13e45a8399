/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the session (and tests) call on a torrent. */
#pragma once

#include <gbt/gbt-magnet.h>
#include <gbt/gbt-torrent.h>

#include "gbt-peer-private.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL GbtTorrent *gbt_torrent_new (GbtSession *session, GbtMetainfo *metainfo,
                                             const char *download_dir);
G_GNUC_INTERNAL GbtTorrent *gbt_torrent_new_from_magnet (GbtSession *session,
                                                        const GbtMagnet *magnet,
                                                        const char *download_dir);
G_GNUC_INTERNAL gboolean gbt_torrent_is_active (GbtTorrent *self);
/* the once-a-second work of a live torrent, called by the session's tick
 * (gbt_session_tick_add()) while gbt_torrent_is_ticking() */
G_GNUC_INTERNAL void gbt_torrent_tick (GbtTorrent *self);
G_GNUC_INTERNAL gboolean gbt_torrent_is_ticking (GbtTorrent *self);
G_GNUC_INTERNAL void gbt_torrent_set_tick_slot (GbtTorrent *self, guint slot);
G_GNUC_INTERNAL void gbt_torrent_set_announce_port (GbtTorrent *self, guint16 port);
/* pieces the start-up check hashed (all without resume data) */
G_GNUC_INTERNAL guint gbt_torrent_get_n_checked (GbtTorrent *self);
/* An incoming connection whose handshake named this torrent: TRUE when the
 * torrent's swarm took it, FALSE with @error when refused. */
G_GNUC_INTERNAL gboolean gbt_torrent_accept_peer (GbtTorrent *self, GbtPeer *peer,
                                                  GError **error);

/* The current tracker list (the metainfo's or magnet's, plus those added,
 * minus those removed), tier by tier, for saving the torrent's state.
 * (transfer full) (element-type GStrv) */
G_GNUC_INTERNAL GPtrArray *gbt_torrent_dup_tiers (GbtTorrent *self);
/* Makes @tiers (element-type GStrv, tier by tier, as gbt_torrent_dup_tiers()
 * gave them) the tracker list, for restoring a saved state: URLs not in it
 * are removed, the others added or moved to their tier (running managers
 * follow), without checking for plugins (a missing one shows as disabled
 * once started). */
G_GNUC_INTERNAL void gbt_torrent_set_tiers (GbtTorrent *self, GPtrArray *tiers);

/* BEP 5: the UDP port of a DHT node serving the torrent (0: none) */
G_GNUC_INTERNAL guint16 gbt_torrent_get_dht_port (GbtTorrent *self);

/* The session is going, or removes the torrent: stop at once (no tracker
 * "stopped"; resume data saved, blocking) and forget the session. */
G_GNUC_INTERNAL void gbt_torrent_detach (GbtTorrent *self);
/* the session's max-peers-per-torrent changed */
G_GNUC_INTERNAL void gbt_torrent_max_peers_changed (GbtTorrent *self);
/* what this torrent moved since this process added it (for session totals) */
G_GNUC_INTERNAL guint64 gbt_torrent_get_session_downloaded (GbtTorrent *self);
G_GNUC_INTERNAL guint64 gbt_torrent_get_session_uploaded (GbtTorrent *self);
/* a stopped torrent's files, on a worker: @data its downloaded files (and
 * the directories left empty), @resume its resume data and sidecars */
G_GNUC_INTERNAL void gbt_torrent_delete_files_async (GbtTorrent *self, gboolean data,
                                                     gboolean resume,
                                                     GAsyncReadyCallback callback,
                                                     gpointer user_data);
G_GNUC_INTERNAL gboolean gbt_torrent_delete_files_finish (GbtTorrent *self, GAsyncResult *result,
                                                          GError **error);

/* whether it runs, for the session's state: not while it is stopped or
 * failed, nor in a stopped torrent's verify; and still while a move or a
 * rename pauses a running one (gbt-torrent-move.c) */
G_GNUC_INTERNAL gboolean gbt_torrent_get_runs (GbtTorrent *self);

/* its part of the session's state file (gbt-torrent-props.c) */
G_GNUC_INTERNAL void gbt_torrent_save_extra_state (GbtTorrent *self, GKeyFile *kf, const char *group);
G_GNUC_INTERNAL void gbt_torrent_save_magnet_state (GbtTorrent *self, GKeyFile *kf,
                                                    const char *group);
G_GNUC_INTERNAL void gbt_torrent_load_state (GbtTorrent *self, GKeyFile *kf, const char *group);

/* gbt-torrent-peek.c: a stopped torrent's progress from its resume data */
G_GNUC_INTERNAL void gbt_torrent_peek_resume (GbtTorrent *self);

G_END_DECLS
