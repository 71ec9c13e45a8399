/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the torrent does with its GbtPeerInfo objects (gbt-torrent-models.c). */
#pragma once

#include <gbt/gbt-peer-info.h>

#include "gbt-peer-private.h"

G_BEGIN_DECLS

/* A peer that just became ready; @source as the swarm names it (a
 * tracker's URL becomes "tracker") */
G_GNUC_INTERNAL GbtPeerInfo *gbt_peer_info_new (GbtPeer *peer, const char *source,
                                                const char *transport);
/* Reads @peer again (its client, flags, rates, progress); notifies only
 * what changed.  @snubbed and @optimistic are the swarm's word. */
G_GNUC_INTERNAL void gbt_peer_info_refresh (GbtPeerInfo *self, GbtPeer *peer, gboolean snubbed,
                                            gboolean optimistic);
/* The peer is gone: its rates fall to 0 */
G_GNUC_INTERNAL void gbt_peer_info_closed (GbtPeerInfo *self);
/* The client a peer id names (Azureus "-XXnnnn-", Shadow, Mainline
 * styles), "" when unknown (transfer full) */
G_GNUC_INTERNAL char *gbt_peer_info_decode_client (const guint8 peer_id[20]);

G_END_DECLS
