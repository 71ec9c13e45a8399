/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtStreamFilter (plugin ABI 1.4): a layer the core puts between a
 * transport's connection and the peer wire protocol, such as protocol
 * encryption (MSE/PE, the "mse" plugin).  See docs/plugin-abi.md "ABI 1.4".
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtStreamFilterFlags:
 * @GBT_STREAM_FILTER_NONE: plaintext is allowed too (the "prefer" policy)
 * @GBT_STREAM_FILTER_REQUIRE: the filtered stream must be encrypted: an
 *   incoming plaintext connection, or a peer that selects plaintext, fails
 *   the wrap (the "require" policy)
 *
 * What the session's encryption policy allows, for one wrap.
 */
typedef enum {
  GBT_STREAM_FILTER_NONE = 0,
  GBT_STREAM_FILTER_REQUIRE = 1 << 0,
} GbtStreamFilterFlags;

/**
 * GbtStreamFilter:
 *
 * A filter between the transport and the peer wire (plugin ABI 1.4).
 */
#define GBT_TYPE_STREAM_FILTER (gbt_stream_filter_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtStreamFilter, gbt_stream_filter, GBT, STREAM_FILTER, GObject)

/**
 * GbtStreamFilterInterface:
 * @g_iface: the parent interface
 * @wrap_outgoing_async: runs the filter's handshake as the initiator on a
 *   connection the core dialled for the torrent @info_hash
 * @wrap_outgoing_finish: the filtered stream (pollable like the base), or
 *   %NULL with an error (a peer that closes during the handshake refused it:
 *   %G_IO_ERROR_CONNECTION_CLOSED or %G_IO_ERROR_BROKEN_PIPE)
 * @wrap_incoming_async: runs the responder's side on an accepted connection;
 *   a plaintext BitTorrent handshake (first byte 19) is passed through with
 *   the bytes already read replayed, unless @flags require encryption;
 *   @session: the torrents to look the peer's info-hash up in, valid until
 *   the callback runs or @cancellable is cancelled (the core cancels it
 *   before the session goes)
 * @wrap_incoming_finish: as @wrap_outgoing_finish
 *
 * The vtable.  All four are required.  The callbacks run on the thread-default
 * main context of the call.
 */
typedef struct _GbtStreamFilterInterface {
  GTypeInterface g_iface;

  void (*wrap_outgoing_async) (GbtStreamFilter *self, GIOStream *base, const guint8 *info_hash,
                               GbtStreamFilterFlags flags, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
  GIOStream *(*wrap_outgoing_finish) (GbtStreamFilter *self, GAsyncResult *result,
                                      GError **error);
  void (*wrap_incoming_async) (GbtStreamFilter *self, GIOStream *base, GbtSession *session,
                               GbtStreamFilterFlags flags, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
  GIOStream *(*wrap_incoming_finish) (GbtStreamFilter *self, GAsyncResult *result,
                                      GError **error);

  /*< private >*/
  gpointer padding[8];
} GbtStreamFilterInterface;

/**
 * gbt_stream_filter_wrap_outgoing_async:
 * @self: a filter
 * @base: the connection
 * @info_hash: (array fixed-size=20): the torrent's info-hash
 * @flags: the policy
 * @cancellable: (nullable): cancels the handshake
 * @callback: called when it is done
 * @user_data: for @callback
 *
 * Runs the filter's handshake on an outgoing connection.
 */
GBT_AVAILABLE_IN_ALL
void gbt_stream_filter_wrap_outgoing_async (GbtStreamFilter *self, GIOStream *base,
                                            const guint8 *info_hash, GbtStreamFilterFlags flags,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);
/**
 * gbt_stream_filter_wrap_outgoing_finish:
 * @self: a filter
 * @result: the result
 * @error: return location for an error
 *
 * Finishes gbt_stream_filter_wrap_outgoing_async().
 *
 * Returns: (transfer full): the filtered stream, or %NULL
 */
GBT_AVAILABLE_IN_ALL
GIOStream *gbt_stream_filter_wrap_outgoing_finish (GbtStreamFilter *self, GAsyncResult *result,
                                                   GError **error);
/**
 * gbt_stream_filter_wrap_incoming_async:
 * @self: a filter
 * @base: the accepted connection
 * @session: the session whose torrents the peer may ask for
 * @flags: the policy
 * @cancellable: (nullable): cancels the handshake
 * @callback: called when it is done
 * @user_data: for @callback
 *
 * Recognises plaintext or runs the filter's responder handshake.
 */
GBT_AVAILABLE_IN_ALL
void gbt_stream_filter_wrap_incoming_async (GbtStreamFilter *self, GIOStream *base,
                                            GbtSession *session, GbtStreamFilterFlags flags,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);
/**
 * gbt_stream_filter_wrap_incoming_finish:
 * @self: a filter
 * @result: the result
 * @error: return location for an error
 *
 * Finishes gbt_stream_filter_wrap_incoming_async().
 *
 * Returns: (transfer full): the filtered stream, or %NULL
 */
GBT_AVAILABLE_IN_ALL
GIOStream *gbt_stream_filter_wrap_incoming_finish (GbtStreamFilter *self, GAsyncResult *result,
                                                   GError **error);

G_END_DECLS
