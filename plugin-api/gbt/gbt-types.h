/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Forward declarations of the core objects plugins are handed. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _GbtSession GbtSession;
typedef struct _GbtTorrent GbtTorrent;
/**
 * GbtPeer:
 *
 * A connected peer of a [class@Gbt.Torrent], as plugins see it: its
 * address, client and extension messages (see `gbt-peer.h`).  Owned by the
 * torrent; valid until the [iface@Gbt.WireExtension]'s `on_peer_closed` call.
 * Apps use [class@Gbt.Torrent]'s peer list instead.
 */
typedef struct _GbtPeer GbtPeer;

G_END_DECLS
