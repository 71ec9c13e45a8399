/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One peer connection: socket I/O, the handshake, framing and the BEP 3/6/10
 * state flags.  Policy (what to request, whom to unchoke) lives in the
 * torrent, which the peer reports to through gbt-torrent-private.h.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>

#include "gbt-bitfield.h"
#include "gbt-peer-wire.h"
#include "gbt-picker.h"

G_BEGIN_DECLS

typedef enum {
  GBT_PEER_STATE_HANDSHAKE, /* waiting for the remote handshake */
  GBT_PEER_STATE_ACTIVE,
  GBT_PEER_STATE_CLOSED,
} GbtPeerState;

/* Called when an incoming connection's handshake names an info-hash: returns
 * the torrent (not referenced) or NULL to refuse.  The caller holds a
 * reference on @peer for the call. */
typedef GbtTorrent *(*GbtPeerLookupFunc) (GbtPeer *peer, const guint8 info_hash[20],
                                          gpointer user_data);

struct _GbtPeer {
  gint ref_count;
  GbtPeerState state;
  GbtTorrent *torrent; /* not owned; NULL until an incoming handshake names it */
  GIOStream *stream;
  GPollableInputStream *in;
  GPollableOutputStream *out;
  GSource *in_source;
  GSource *out_source;
  GSource *throttle_source; /* reading paused by the download limit */
  GInetSocketAddress *address;
  char *name; /* "127.0.0.2:6881" for logs */
  gboolean incoming;

  GByteArray *rbuf;
  gsize rpos;
  GByteArray *wbuf;
  gsize wpos;

  GbtHandshake remote;
  gboolean sent_handshake;
  gboolean fast; /* both sides set the BEP 6 bit */
  gboolean ltep; /* both sides set the BEP 10 bit */
  GHashTable *ext_ids; /* remote: name -> id (their "m") */
  guint remote_reqq;
  char *client; /* their "v" */

  gboolean am_choking, am_interested, peer_choking, peer_interested;
  gboolean got_first_message;
  GbtBitfield has; /* the peer's pieces (sized once metadata is known) */
  /* before the metadata (magnet) their piece announcements wait here */
  GBytes *early_bitfield;
  gboolean early_have_all;
  GArray *early_haves; /* guint32 */

  GArray *requests; /* GbtBlock: what we asked and await */
  GArray *incoming_requests; /* GbtBlock: what they asked of us */

  /* accounting */
  guint64 downloaded, uploaded;
  guint64 rate_window_down, rate_window_up; /* bytes in the current second */
  double rate_down, rate_up; /* smoothed bytes/s */
  gint64 last_recv_us, last_send_us, last_block_us, connected_us;
  int trust;
  guint queue_target;
  gboolean snubbed;

  GbtPeerLookupFunc lookup;
  gpointer lookup_data;
  GData *data; /* plugins' state: gbt_peer_set_data() */
};

G_GNUC_INTERNAL GbtPeer *gbt_peer_new (GIOStream *stream, GInetSocketAddress *address,
                                       gboolean incoming);
G_GNUC_INTERNAL GbtPeer *gbt_peer_ref (GbtPeer *peer);
G_GNUC_INTERNAL void gbt_peer_unref (GbtPeer *peer);
/* outgoing: torrent known; incoming: lookup resolves it after their handshake */
G_GNUC_INTERNAL void gbt_peer_start (GbtPeer *peer, GbtTorrent *torrent, GbtPeerLookupFunc lookup,
                                     gpointer lookup_data);
/* Closes the connection; the torrent hears of it through
 * gbt_torrent_peer_closed() once (unless @quiet). */
G_GNUC_INTERNAL void gbt_peer_close (GbtPeer *peer, const GError *reason);
G_GNUC_INTERNAL gboolean gbt_peer_is_closed (GbtPeer *peer);

/* senders (buffered; flushed from the loop) */
G_GNUC_INTERNAL void gbt_peer_send_simple (GbtPeer *peer, GbtMsgId id);
G_GNUC_INTERNAL void gbt_peer_send_have (GbtPeer *peer, guint32 piece);
G_GNUC_INTERNAL void gbt_peer_send_request (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_cancel (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_reject (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_piece (GbtPeer *peer, guint32 piece, guint32 begin,
                                          GBytes *data);
G_GNUC_INTERNAL void gbt_peer_set_choking (GbtPeer *peer, gboolean choking);
G_GNUC_INTERNAL void gbt_peer_set_interested (GbtPeer *peer, gboolean interested);
/* bytes waiting in our send buffer */
G_GNUC_INTERNAL gsize gbt_peer_get_send_backlog (GbtPeer *peer);
/* index in peer->requests or -1 */
G_GNUC_INTERNAL int gbt_peer_find_request (GbtPeer *peer, const GbtBlock *block);
/* the torrent's metadata arrived: sizes the piece set and applies the
 * announcements kept since the handshake (may close the peer) */
G_GNUC_INTERNAL void gbt_peer_metadata_arrived (GbtPeer *peer);
/* once a second: rates, keep-alives, timeouts */
G_GNUC_INTERNAL void gbt_peer_tick (GbtPeer *peer, gint64 now_us);

G_END_DECLS
