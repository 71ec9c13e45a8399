/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GbtPeer's getters, for its owner and for plugins (gbt-peer.h). */
#include "config.h"

#include <gbt/gbt-peer.h>

#include "gbt-peer-internal.h"

/* ---- for the owner ---- */

GbtPeerState
gbt_peer_get_state (GbtPeer *peer)
{
  return peer->state;
}

const char *
gbt_peer_get_name (GbtPeer *peer)
{
  return peer->name;
}

const guint8 *
gbt_peer_get_remote_info_hash (GbtPeer *peer)
{
  return peer->remote.info_hash;
}

const guint8 *
gbt_peer_get_remote_id (GbtPeer *peer)
{
  return peer->remote.peer_id;
}

gboolean
gbt_peer_is_fast (GbtPeer *peer)
{
  return peer->fast;
}

const GbtBitfield *
gbt_peer_get_has (GbtPeer *peer)
{
  return &peer->has;
}

gboolean
gbt_peer_am_choking (GbtPeer *peer)
{
  return peer->am_choking;
}

gboolean
gbt_peer_am_interested (GbtPeer *peer)
{
  return peer->am_interested;
}

gboolean
gbt_peer_is_choking (GbtPeer *peer)
{
  return peer->peer_choking;
}

gboolean
gbt_peer_is_interested (GbtPeer *peer)
{
  return peer->peer_interested;
}

guint
gbt_peer_get_remote_reqq (GbtPeer *peer)
{
  return peer->ext.reqq;
}

guint64
gbt_peer_get_downloaded (GbtPeer *peer)
{
  return peer->downloaded;
}

guint64
gbt_peer_get_uploaded (GbtPeer *peer)
{
  return peer->uploaded;
}

double
gbt_peer_get_rate_down (GbtPeer *peer)
{
  return peer->rate_down;
}

double
gbt_peer_get_rate_up (GbtPeer *peer)
{
  return peer->rate_up;
}

/* ---- the plugin-facing API (gbt-peer.h) ---- */

GInetSocketAddress *
gbt_peer_get_address (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);
  return peer->address;
}

GbtTorrent *
gbt_peer_get_torrent (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);
  return peer->config.torrent;
}

const char *
gbt_peer_get_client (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);
  return peer->ext.client;
}

const char *
gbt_peer_get_transport (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, NULL);
  return peer->transport;
}

void
gbt_peer_set_name (GbtPeer *peer, const char *name)
{
  g_return_if_fail (peer != NULL && name != NULL);
  g_free (peer->name);
  peer->name = g_strdup (name);
}

void
gbt_peer_set_transport (GbtPeer *peer, const char *transport)
{
  g_return_if_fail (peer != NULL);
  peer->transport = g_intern_string (transport ? transport : "tcp");
}

gboolean
gbt_peer_is_incoming (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, FALSE);
  return peer->incoming;
}

gboolean
gbt_peer_is_seed (GbtPeer *peer)
{
  g_return_val_if_fail (peer != NULL, FALSE);
  return peer->has.n_bits > 0 && gbt_bitfield_is_complete (&peer->has);
}

void
gbt_peer_set_data (GbtPeer *peer, const char *key, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (peer != NULL && key != NULL);
  g_datalist_set_data_full (&peer->data, key, data, destroy);
}

gpointer
gbt_peer_get_data (GbtPeer *peer, const char *key)
{
  g_return_val_if_fail (peer != NULL && key != NULL, NULL);
  return g_datalist_get_data (&peer->data, key);
}

