/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the session and peer connections call on a torrent. */
#pragma once

#include <gbt/gbt-torrent.h>

#include "gbt-peer-private.h"

G_BEGIN_DECLS

G_GNUC_INTERNAL GbtTorrent *gbt_torrent_new (GbtSession *session, GbtMetainfo *metainfo,
                                             const char *download_dir);
G_GNUC_INTERNAL GbtTorrent *gbt_torrent_new_from_magnet (GbtSession *session,
                                                        const GbtMagnet *magnet,
                                                        const char *download_dir);
G_GNUC_INTERNAL gboolean gbt_torrent_is_active (GbtTorrent *self);
/* pieces the start-up check hashed (all without resume data) */
G_GNUC_INTERNAL guint gbt_torrent_get_n_checked (GbtTorrent *self);
/* an incoming connection whose handshake named this torrent; FALSE refuses */
G_GNUC_INTERNAL gboolean gbt_torrent_accept_peer (GbtTorrent *self, GbtPeer *peer);

/* from GbtPeer */
G_GNUC_INTERNAL void gbt_torrent_peer_ready (GbtTorrent *self, GbtPeer *peer);
/* On a handshake: TRUE when @peer (its remote peer id now known) duplicates
 * a connection we have, and is the one to drop.  May close the older one
 * instead (see the rule in gbt-torrent.c). */
G_GNUC_INTERNAL gboolean gbt_torrent_peer_is_duplicate (GbtTorrent *self, GbtPeer *peer);
G_GNUC_INTERNAL void gbt_torrent_peer_closed (GbtTorrent *self, GbtPeer *peer,
                                              const GError *reason);
/* the peer's new piece set (BITFIELD, HAVE_ALL, HAVE_NONE): @fresh is taken */
G_GNUC_INTERNAL void gbt_torrent_peer_set_has (GbtTorrent *self, GbtPeer *peer,
                                               GbtBitfield *fresh);
/* HAVE */
G_GNUC_INTERNAL void gbt_torrent_peer_have (GbtTorrent *self, GbtPeer *peer, guint piece);
G_GNUC_INTERNAL void gbt_torrent_peer_choke_changed (GbtTorrent *self, GbtPeer *peer);
G_GNUC_INTERNAL void gbt_torrent_peer_interest_changed (GbtTorrent *self, GbtPeer *peer);
G_GNUC_INTERNAL void gbt_torrent_peer_block (GbtTorrent *self, GbtPeer *peer, guint32 piece,
                                             guint32 begin, const guint8 *data, gsize len);
G_GNUC_INTERNAL void gbt_torrent_peer_rejected (GbtTorrent *self, GbtPeer *peer,
                                                const GbtBlock *block);
G_GNUC_INTERNAL void gbt_torrent_peer_request (GbtTorrent *self, GbtPeer *peer,
                                               const GbtBlock *block);
/* the peer's send buffer emptied: room to serve more of its requests */
G_GNUC_INTERNAL void gbt_torrent_peer_drained (GbtTorrent *self, GbtPeer *peer);
G_GNUC_INTERNAL void gbt_torrent_peer_cancel (GbtTorrent *self, GbtPeer *peer,
                                              const GbtBlock *block);
G_GNUC_INTERNAL void gbt_torrent_peer_extended (GbtTorrent *self, GbtPeer *peer, guint8 ext_id,
                                                const guint8 *payload, gsize len);
/* BEP 5: the UDP port of a DHT node serving the torrent (0: none) */
G_GNUC_INTERNAL guint16 gbt_torrent_get_dht_port (GbtTorrent *self);
/* a peer's PORT message */
G_GNUC_INTERNAL void gbt_torrent_peer_dht_port (GbtTorrent *self, GbtPeer *peer, guint16 port);
/* our side of the torrent for the wire */
G_GNUC_INTERNAL const GbtBitfield *gbt_torrent_get_have (GbtTorrent *self);
G_GNUC_INTERNAL const GbtWireLimits *gbt_torrent_get_wire_limits (GbtTorrent *self);
G_GNUC_INTERNAL GBytes *gbt_torrent_build_ext_handshake (GbtTorrent *self);

G_END_DECLS
