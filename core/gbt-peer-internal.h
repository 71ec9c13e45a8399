/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inside of GbtPeer, shared only by gbt-peer.c (the connection and its
 * state machine) and gbt-peer-api.c (its getters and the plugin-facing
 * API).  Nothing else includes this: owners use gbt-peer-private.h.
 */
#pragma once

#include "gbt-ltep.h"
#include "gbt-peer-flood.h"
#include "gbt-peer-private.h"

G_BEGIN_DECLS

struct _GbtPeer {
  gint ref_count;
  GbtPeerState state;
  GIOStream *stream;
  GPollableInputStream *in;
  GPollableOutputStream *out;
  GSource *in_source;
  GSource *out_source;
  GSource *throttle_source; /* reading paused by the download limit */
  GInetSocketAddress *address;
  char *name; /* "127.0.0.2:6881" for logs */
  gboolean incoming;
  const char *transport; /* interned: "tcp", "utp" */
  const char *encryption; /* interned: "rc4", or NULL for plaintext */

  const GbtPeerEvents *events; /* the owner's */
  gpointer events_data;
  gboolean configured; /* config holds the owner's GbtPeerConfig */
  GbtPeerConfig config;

  GByteArray *rbuf;
  gsize rpos;
  GByteArray *wbuf;
  gsize wpos;

  GbtHandshake remote;
  gboolean sent_handshake;
  gboolean fast; /* both sides set the BEP 6 bit */
  gboolean ltep; /* both sides set the BEP 10 bit */
  GbtLtepPeerInfo ext; /* what their extension handshake said */

  gboolean am_choking, am_interested, peer_choking, peer_interested;
  gboolean got_first_message;
  GbtBitfield has; /* the peer's pieces (sized once metadata is known) */
  /* before the metadata (magnet) their piece announcements wait here */
  GBytes *early_bitfield;
  gboolean early_have_all;
  GArray *early_haves; /* guint32 */

  /* accounting */
  guint64 downloaded, uploaded;
  guint64 rate_window_down, rate_window_up; /* bytes in the current second */
  double rate_down, rate_up; /* smoothed bytes/s */
  gint64 last_recv_us, last_send_us, connected_us;

  /* flood budgets */
  GbtPeerClock clock;
  GbtFlood flood;
  /* the requests it has outstanding with us, as we see them: (piece << 32
   * | begin) -> length; asked, and not yet sent, rejected or cancelled */
  GHashTable *asked;

  GData *data; /* plugins' state: gbt_peer_set_data() */
};

G_END_DECLS
