/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a wire extension may do with the peer it is handed. */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * gbt_peer_get_address:
 * @peer: a peer
 *
 * Gets the peer's address.
 *
 * Returns: (transfer none): the peer's address
 */
GBT_AVAILABLE_IN_ALL
GInetSocketAddress *gbt_peer_get_address (GbtPeer *peer);
/**
 * gbt_peer_get_torrent:
 * @peer: a peer
 *
 * Gets the torrent the peer is connected for.
 *
 * Returns: (transfer none): the torrent the peer is connected for
 */
GBT_AVAILABLE_IN_ALL
GbtTorrent *gbt_peer_get_torrent (GbtPeer *peer);
/**
 * gbt_peer_get_client:
 * @peer: a peer
 *
 * Gets the peer's client name from its extension handshake ("v").
 *
 * Returns: (nullable): the peer's client name from its extension handshake
 *   ("v")
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_get_client (GbtPeer *peer);
/**
 * gbt_peer_get_transport:
 * @peer: a peer
 *
 * The name of the transport carrying the connection (`tcp`, `utp`).
 *
 * Returns: the transport's name (since ABI 1.3)
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_peer_get_transport (GbtPeer *peer);
/**
 * gbt_peer_is_incoming:
 * @peer: a peer
 *
 * Checks whether the peer dialled us (its address's port is then not where it
 * listens; its extension handshake's "p" may say where).
 *
 * Returns: whether the peer dialled us (its address's port is then not
 *   where it listens; its extension handshake's "p" may say where)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_peer_is_incoming (GbtPeer *peer);
/**
 * gbt_peer_is_seed:
 * @peer: a peer
 *
 * Checks whether the peer has announced every piece (%FALSE while the
 * torrent's metadata is unknown).
 *
 * Returns: whether the peer has announced every piece (%FALSE while the
 *   torrent's metadata is unknown)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_peer_is_seed (GbtPeer *peer);
/**
 * gbt_peer_send_extended:
 * @peer: a peer
 * @name: a BEP 10 extension name ("ut_pex")
 * @payload: the message's payload
 *
 * Sends @payload as the BEP 10 message the peer registered under @name.
 *
 * Returns: %FALSE if the peer does not support @name
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_peer_send_extended (GbtPeer *peer, const char *name, GBytes *payload);
/**
 * gbt_peer_disconnect:
 * @peer: a peer
 * @reason: why, for the log
 *
 * Drops the peer.
 */
GBT_AVAILABLE_IN_ALL
void gbt_peer_disconnect (GbtPeer *peer, const char *reason);

/**
 * gbt_peer_set_data:
 * @peer: a peer
 * @key: a name for the data, unique to the plugin (its name is a good prefix)
 * @data: (nullable): the plugin's state for this peer, or %NULL to drop it
 * @destroy: (nullable): called with @data when it is replaced, dropped, or
 *   the peer's connection closes (after every wire extension's
 *   `on_peer_closed`), whichever comes first
 *
 * Attaches a plugin's own state to a peer (plugin ABI 1.2), instead of a
 * table keyed by the peer's pointer: the state goes with the connection.
 */
GBT_AVAILABLE_IN_ALL
void gbt_peer_set_data (GbtPeer *peer, const char *key, gpointer data, GDestroyNotify destroy);
/**
 * gbt_peer_get_data:
 * @peer: a peer
 * @key: the name given to gbt_peer_set_data()
 *
 * Gets the data attached under @key.
 *
 * Returns: (nullable) (transfer none): the data attached under @key
 */
GBT_AVAILABLE_IN_ALL
gpointer gbt_peer_get_data (GbtPeer *peer, const char *key);

G_END_DECLS
