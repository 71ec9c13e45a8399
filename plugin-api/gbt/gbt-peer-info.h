/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GbtPeerInfo: what an app shows of one connected peer. */
#pragma once

#include <glib-object.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtPeerFlags:
 * @GBT_PEER_FLAGS_NONE: no flag
 * @GBT_PEER_FLAGS_INCOMING: the peer dialled us
 * @GBT_PEER_FLAGS_CHOKED: the peer chokes us (it sends us nothing)
 * @GBT_PEER_FLAGS_CHOKING: we choke the peer (we send it nothing)
 * @GBT_PEER_FLAGS_INTERESTED: the peer is interested in our pieces
 * @GBT_PEER_FLAGS_INTERESTING: we are interested in its pieces
 * @GBT_PEER_FLAGS_SNUBBED: it sent us nothing for long while we awaited
 *   blocks from it
 * @GBT_PEER_FLAGS_SEED: it has every piece
 * @GBT_PEER_FLAGS_ENCRYPTED: the connection is encrypted (MSE/PE with RC4)
 * @GBT_PEER_FLAGS_UTP: the connection runs over uTP (never set yet)
 * @GBT_PEER_FLAGS_OPTIMISTIC: it holds our optimistic unchoke
 *
 * The state of a connection, in #GbtPeerInfo:flags.
 */
typedef enum /*< flags >*/ {
  GBT_PEER_FLAGS_NONE = 0,
  GBT_PEER_FLAGS_INCOMING = 1 << 0,
  GBT_PEER_FLAGS_CHOKED = 1 << 1,
  GBT_PEER_FLAGS_CHOKING = 1 << 2,
  GBT_PEER_FLAGS_INTERESTED = 1 << 3,
  GBT_PEER_FLAGS_INTERESTING = 1 << 4,
  GBT_PEER_FLAGS_SNUBBED = 1 << 5,
  GBT_PEER_FLAGS_SEED = 1 << 6,
  GBT_PEER_FLAGS_ENCRYPTED = 1 << 7,
  GBT_PEER_FLAGS_UTP = 1 << 8,
  GBT_PEER_FLAGS_OPTIMISTIC = 1 << 9,
} GbtPeerFlags;

/**
 * GbtPeerInfo:
 *
 * One connected (handshaken) peer of a torrent, as in
 * gbt_torrent_get_peers().  It is updated in place once a second while the
 * peer is connected (each property notified only when its value changed)
 * and keeps its last values once the peer is gone.
 */
#define GBT_TYPE_PEER_INFO (gbt_peer_info_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtPeerInfo, gbt_peer_info, GBT, PEER_INFO, GObject)

/**
 * gbt_peer_info_get_address:
 * @self: a #GbtPeerInfo
 *
 * The peer's address, as #GbtPeerInfo:address.
 *
 * Returns: (transfer none): the peer's address, "IP:port" or "[IPv6]:port"
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_info_get_address (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_client:
 * @self: a #GbtPeerInfo
 *
 * The client the peer runs: the "v" of its extension handshake (BEP 10),
 * else decoded from its peer id ("-TR3000-" is "Transmission 3.00"), else
 * "".
 *
 * Returns: (transfer none): the client's name and version, or ""
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_info_get_client (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_source:
 * @self: a #GbtPeerInfo
 *
 * Where its address came from: "tracker", "dht", "pex", "lsd", "resume",
 * "magnet", "incoming" (it dialled us), or whatever source was given to
 * gbt_torrent_add_peers().
 *
 * Returns: (transfer none): the source
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_info_get_source (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_flags:
 * @self: a #GbtPeerInfo
 *
 * The state of the connection, as #GbtPeerInfo:flags.
 *
 * Returns: the connection's state
 */
GBT_AVAILABLE_IN_ALL
GbtPeerFlags gbt_peer_info_get_flags (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_download_rate:
 * @self: a #GbtPeerInfo
 *
 * How fast the peer sends to us, as #GbtPeerInfo:download-rate.
 *
 * Returns: the payload bytes per second we receive from it (smoothed)
 */
GBT_AVAILABLE_IN_ALL
double gbt_peer_info_get_download_rate (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_upload_rate:
 * @self: a #GbtPeerInfo
 *
 * How fast we send to the peer, as #GbtPeerInfo:upload-rate.
 *
 * Returns: the payload bytes per second we send it (smoothed)
 */
GBT_AVAILABLE_IN_ALL
double gbt_peer_info_get_upload_rate (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_progress:
 * @self: a #GbtPeerInfo
 *
 * How much of the torrent the peer has, as #GbtPeerInfo:progress.
 *
 * Returns: the share of the pieces the peer has, 0 to 1 (0 while the
 *   torrent's metadata is unknown)
 */
GBT_AVAILABLE_IN_ALL
double gbt_peer_info_get_progress (GbtPeerInfo *self);
/**
 * gbt_peer_info_get_transport:
 * @self: a #GbtPeerInfo
 *
 * The transport of the connection, as #GbtPeerInfo:transport.
 *
 * Returns: (transfer none): the transport carrying the connection: "tcp"
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_info_get_transport (GbtPeerInfo *self);

G_END_DECLS
