/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtWireExtension: one BEP 10 extension message ("ut_pex", "ut_metadata").
 * The core does the LTEP handshake and hands each extended message whose id
 * maps to this extension's name to on_message.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtWireExtension:
 *
 * The interface of BEP 10 extension protocols ("ut_pex", "ut_metadata").
 * The core does the LTEP handshake and hands each extended message whose id
 * maps to this extension's name to its `on_message`.
 */
#define GBT_TYPE_WIRE_EXTENSION (gbt_wire_extension_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtWireExtension, gbt_wire_extension, GBT, WIRE_EXTENSION, GObject)

/**
 * GbtWireExtensionInterface:
 * @g_iface: the parent interface
 * @get_name: the BEP 10 name, e.g. "ut_pex"; constant
 * @get_handshake_extra: optional: a bencoded dictionary whose keys are
 *   merged into our extension handshake for a torrent ("metadata_size")
 * @on_handshake: optional: the peer's extension handshake (the whole
 *   bencoded dictionary)
 * @on_message: a message for this extension; %FALSE with an error set
 *   drops the peer
 * @on_peer_closed: optional: the peer's connection closed
 *
 * The virtual methods of [iface@Gbt.WireExtension].
 */
struct _GbtWireExtensionInterface {
  GTypeInterface g_iface;

  /* the BEP 10 name, e.g. "ut_pex"; constant */
  const char *(*get_name) (GbtWireExtension *self);

  /* optional: a bencoded dictionary whose keys are merged into our extension
   * handshake for @torrent (e.g. "metadata_size") */
  GBytes *(*get_handshake_extra) (GbtWireExtension *self, GbtTorrent *torrent);

  /* optional: the peer's extension handshake (whole bencoded dictionary) */
  void (*on_handshake) (GbtWireExtension *self, GbtPeer *peer, GBytes *handshake);

  /* a message for this extension; FALSE with @error set drops the peer */
  gboolean (*on_message) (GbtWireExtension *self, GbtPeer *peer, GBytes *payload,
                          GError **error);

  /* optional */
  void (*on_peer_closed) (GbtWireExtension *self, GbtPeer *peer);

  gpointer padding[8];
};

/**
 * gbt_wire_extension_get_name:
 * @self: a #GbtWireExtension
 *
 * Gets the extension's BEP 10 name.
 *
 * Returns: the name, e.g. "ut_pex"
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_wire_extension_get_name (GbtWireExtension *self);

G_END_DECLS
