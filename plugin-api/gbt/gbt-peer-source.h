/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtPeerSource: finds peers for a torrent (DHT, PEX, LSD).  The core calls
 * start when a torrent starts and stop when it stops; the source hands
 * addresses back with gbt_torrent_add_peers().
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_TYPE_PEER_SOURCE (gbt_peer_source_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtPeerSource, gbt_peer_source, GBT, PEER_SOURCE, GObject)

struct _GbtPeerSourceInterface {
  GTypeInterface g_iface;

  void (*start) (GbtPeerSource *self, GbtTorrent *torrent);
  void (*stop) (GbtPeerSource *self, GbtTorrent *torrent);

  gpointer padding[8];
};

GBT_AVAILABLE_IN_ALL
void gbt_peer_source_start (GbtPeerSource *self, GbtTorrent *torrent);
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_stop (GbtPeerSource *self, GbtTorrent *torrent);

G_END_DECLS
