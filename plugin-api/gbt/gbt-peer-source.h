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

/**
 * GbtPeerSource:
 *
 * The interface of peer-source plugins (DHT, PEX, LSD): finds peers for a
 * torrent.  The core calls gbt_peer_source_start() when a torrent starts
 * and gbt_peer_source_stop() when it stops; the source hands addresses back
 * with gbt_torrent_add_peers().
 */
#define GBT_TYPE_PEER_SOURCE (gbt_peer_source_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtPeerSource, gbt_peer_source, GBT, PEER_SOURCE, GObject)

/**
 * GbtPeerSourceInterface:
 * @g_iface: the parent interface
 * @start: starts looking for a torrent's peers
 * @stop: stops looking for them
 * @get_dht_port: optional (ABI 1.1): the UDP port of the DHT node serving a
 *   torrent, 0 for none
 * @on_dht_port: optional (ABI 1.1): a peer's PORT message
 *
 * The virtual methods of [iface@Gbt.PeerSource].
 */
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

/**
 * gbt_peer_source_start:
 * @self: a #GbtPeerSource
 * @torrent: a torrent that starts (or whose metadata arrived)
 *
 * Starts looking for @torrent's peers.
 */
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_start (GbtPeerSource *self, GbtTorrent *torrent);
/**
 * gbt_peer_source_stop:
 * @self: a #GbtPeerSource
 * @torrent: a torrent that stops
 *
 * Stops looking for @torrent's peers; no gbt_torrent_add_peers() for it
 * after this.
 */
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_stop (GbtPeerSource *self, GbtTorrent *torrent);
/**
 * gbt_peer_source_get_dht_port:
 * @self: a #GbtPeerSource
 * @torrent: a torrent
 *
 * For a DHT (BEP 5): the UDP port of the node serving @torrent.  When a
 * source answers, our handshakes set the DHT bit and peers that set it get
 * a PORT message.
 *
 * Returns: the port, 0 for none (also when the source lacks the method)
 */
GBT_AVAILABLE_IN_ALL
guint16 gbt_peer_source_get_dht_port (GbtPeerSource *self, GbtTorrent *torrent);
/**
 * gbt_peer_source_on_dht_port:
 * @self: a #GbtPeerSource
 * @peer: the peer that sent a PORT message
 * @port: its DHT node's UDP port
 *
 * Hands a peer's BEP 5 PORT message to the source.
 */
GBT_AVAILABLE_IN_ALL
void gbt_peer_source_on_dht_port (GbtPeerSource *self, GbtPeer *peer, guint16 port);

G_END_DECLS
