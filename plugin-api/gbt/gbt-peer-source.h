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

  /* Since ABI 1.1, both optional; for a DHT (BEP 5).  get_dht_port: the
   * UDP port of the node serving @torrent, 0 for none; when one answers,
   * our handshakes set the DHT bit and peers that set it get a PORT
   * message.  on_dht_port: a peer's PORT message (its node's UDP port). */
  guint16 (*get_dht_port) (GbtPeerSource *self, GbtTorrent *torrent);
  void (*on_dht_port) (GbtPeerSource *self, GbtPeer *peer, guint16 port);

  gpointer padding[6];
};

GBT_AVAILABLE_IN_ALL
void gbt_peer_source_start (GbtPeerSource *self, GbtTorrent *torrent);
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_stop (GbtPeerSource *self, GbtTorrent *torrent);
GBT_AVAILABLE_IN_ALL
guint16 gbt_peer_source_get_dht_port (GbtPeerSource *self, GbtTorrent *torrent);
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_on_dht_port (GbtPeerSource *self, GbtPeer *peer, guint16 port);

G_END_DECLS
