/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 10, the extension protocol: our handshake dictionary (the core's keys
 * merged with those the wire extensions add), parsing the peer's, and
 * handing each extended message to the GbtWireExtension registered under
 * our id for it.  Framing is gbt-peer-wire.c's.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>

G_BEGIN_DECLS

/* Our extension handshake: "m" numbers @extensions (GbtWireExtension*) from
 * 1 in their order; "p" is @listen_port, "reqq" @reqq, "v" our version;
 * keys the extensions add (get_handshake_extra, asked with @torrent) are
 * merged in sorted order; the core's own keys win. */
G_GNUC_INTERNAL GBytes *gbt_ltep_build_handshake (GPtrArray *extensions, GbtTorrent *torrent,
                                                  guint16 listen_port, guint reqq);

/* What a peer's extension handshake says of it. */
typedef struct {
  GHashTable *ext_ids; /* name -> GUINT_TO_POINTER (its id); ids 0 remove */
  guint reqq; /* 0: not said */
  char *client; /* UTF-8 "v", or NULL */
} GbtLtepPeerInfo;

/* Applies the handshake @payload to @info (a later handshake updates an
 * earlier one, as BEP 10 allows).  FALSE with GBT_PEER_WIRE_ERROR_PROTOCOL
 * when it is not a bencoded dictionary. */
G_GNUC_INTERNAL gboolean gbt_ltep_parse_handshake (GBytes *payload, GbtLtepPeerInfo *info,
                                                   GError **error);

/* Hands a message to the extension it is for: id 0 (the handshake) to
 * every extension's on_handshake, id N to the Nth's on_message.  An id we
 * never gave is ignored.  FALSE with @error when the extension refuses the
 * message (the peer is then to be dropped). */
G_GNUC_INTERNAL gboolean gbt_ltep_dispatch (GPtrArray *extensions, GbtPeer *peer, guint8 ext_id,
                                            GBytes *payload, GError **error);
/* every extension's on_peer_closed */
G_GNUC_INTERNAL void gbt_ltep_peer_closed (GPtrArray *extensions, GbtPeer *peer);

G_END_DECLS
