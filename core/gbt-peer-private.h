/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One peer connection: socket I/O, the handshake, framing, the BEP 3/6/10
 * state flags and the peer's piece set.  It knows no torrent and no
 * session: it gets what it needs when it is started (GbtPeerConfig) and
 * reports to its owner through one events table (GbtPeerEvents), as
 * Transmission's peer-msgs reports through one tr_peer_event callback.
 * Policy (what to request, whom to unchoke, whom to ban) is the owner's:
 * gbt-swarm.c.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-types.h>

#include "gbt-bitfield.h"
#include "gbt-peer-wire.h"
#include "gbt-picker.h"

G_BEGIN_DECLS

typedef struct _GbtRateLimit GbtRateLimit;

typedef enum {
  GBT_PEER_STATE_HANDSHAKE, /* waiting for the remote handshake */
  GBT_PEER_STATE_ACTIVE,
  GBT_PEER_STATE_CLOSED,
} GbtPeerState;

/* What a peer needs from its owner.  The pointers are borrowed: the owner
 * keeps them valid while it holds the peer.  @have is our piece set, with
 * n_bits 0 until the metadata is known (a magnet); the peer reads it again
 * at gbt_peer_metadata_arrived(). */
typedef struct {
  guint8 info_hash[20];
  guint8 peer_id[20]; /* ours */
  const GbtBitfield *have;
  const GbtWireLimits *limits;
  GbtRateLimit *limit_up; /* nullable: unlimited */
  GbtRateLimit *limit_down;
  guint16 dht_port; /* BEP 5: 0 when we run no DHT node */
  GBytes *ext_handshake; /* our BEP 10 handshake dictionary; nullable */
  GbtTorrent *torrent; /* only handed on to plugins (gbt_peer_get_torrent) */
} GbtPeerConfig;

/* Everything a peer tells its owner; any entry may be NULL.  Each is
 * called after the peer's own state changed (its flags and piece set are
 * current), on the main context, with a reference held on the peer, so the
 * owner may close it from inside. */
typedef struct {
  /* The remote handshake arrived (gbt_peer_get_remote_id() is known).
   * FALSE with @error refuses the connection.  An incoming peer has no
   * owner yet: the listener's handler finds the torrent and calls
   * gbt_peer_set_owner() before returning TRUE.  Send nothing from here:
   * our handshake and piece set must go first. */
  gboolean (*handshake) (GbtPeer *peer, gpointer data, GError **error);
  /* handshakes exchanged, our piece set and extension handshake sent */
  void (*ready) (GbtPeer *peer, gpointer data);
  /* once, whoever closed it; @reason NULL for a plain close */
  void (*closed) (GbtPeer *peer, const GError *reason, gpointer data);
  /* a new piece set (BITFIELD, HAVE_ALL, HAVE_NONE, or the announcements
   * kept until the metadata): gbt_peer_get_has() is new, @old the one
   * it replaced (empty at first) */
  void (*bitfield) (GbtPeer *peer, const GbtBitfield *old, gpointer data);
  /* HAVE of a piece it had not announced */
  void (*have) (GbtPeer *peer, guint piece, gpointer data);
  void (*choke_changed) (GbtPeer *peer, gpointer data);
  void (*interest_changed) (GbtPeer *peer, gpointer data);
  /* a PIECE message, requested or not: the owner knows what it asked for */
  void (*block) (GbtPeer *peer, const GbtBlock *block, const guint8 *bytes, gpointer data);
  void (*request) (GbtPeer *peer, const GbtBlock *block, gpointer data);
  void (*cancel) (GbtPeer *peer, const GbtBlock *block, gpointer data);
  void (*reject) (GbtPeer *peer, const GbtBlock *block, gpointer data);
  /* the send buffer emptied: room for more uploads */
  void (*drained) (GbtPeer *peer, gpointer data);
  /* a BEP 10 message; id 0 is the handshake, already applied to the peer
   * (its "m", "reqq" and "v") */
  void (*extended) (GbtPeer *peer, guint8 ext_id, GBytes *payload, gpointer data);
  /* BEP 5 PORT */
  void (*dht_port) (GbtPeer *peer, guint16 port, gpointer data);
} GbtPeerEvents;

/* the name shown and logged (default "ip:port"; a web seed's URL) */
G_GNUC_INTERNAL void gbt_peer_set_name (GbtPeer *peer, const char *name);
/* names the transport carrying the connection (default "tcp") */
G_GNUC_INTERNAL void gbt_peer_set_transport (GbtPeer *peer, const char *transport);
G_GNUC_INTERNAL GbtPeer *gbt_peer_new (GIOStream *stream, GInetSocketAddress *address,
                                       gboolean incoming);
G_GNUC_INTERNAL GbtPeer *gbt_peer_ref (GbtPeer *peer);
G_GNUC_INTERNAL void gbt_peer_unref (GbtPeer *peer);
/* Starts reading.  With @config (outgoing) our handshake goes out at once;
 * without (incoming) the owner's handshake event must call
 * gbt_peer_set_owner().  @events is borrowed (static tables). */
G_GNUC_INTERNAL void gbt_peer_start (GbtPeer *peer, const GbtPeerEvents *events, gpointer data,
                                     const GbtPeerConfig *config);
G_GNUC_INTERNAL void gbt_peer_set_owner (GbtPeer *peer, const GbtPeerEvents *events,
                                         gpointer data, const GbtPeerConfig *config);
/* Closes the connection; the owner hears of it through its closed event,
 * once.  Safe to call from any event. */
G_GNUC_INTERNAL void gbt_peer_close (GbtPeer *peer, const GError *reason);

/* state */
G_GNUC_INTERNAL GbtPeerState gbt_peer_get_state (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_is_closed (GbtPeer *peer);
G_GNUC_INTERNAL const char *gbt_peer_get_name (GbtPeer *peer);
/* the remote handshake's info-hash and peer id (zeros before it) */
G_GNUC_INTERNAL const guint8 *gbt_peer_get_remote_info_hash (GbtPeer *peer);
G_GNUC_INTERNAL const guint8 *gbt_peer_get_remote_id (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_is_fast (GbtPeer *peer);
G_GNUC_INTERNAL const GbtBitfield *gbt_peer_get_has (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_am_choking (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_am_interested (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_is_choking (GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_peer_is_interested (GbtPeer *peer);
/* their "reqq": requests they queue (0: not said) */
G_GNUC_INTERNAL guint gbt_peer_get_remote_reqq (GbtPeer *peer);
/* bytes of PIECE payload received and sent, and their smoothed rates */
G_GNUC_INTERNAL guint64 gbt_peer_get_downloaded (GbtPeer *peer);
G_GNUC_INTERNAL guint64 gbt_peer_get_uploaded (GbtPeer *peer);
G_GNUC_INTERNAL double gbt_peer_get_rate_down (GbtPeer *peer);
G_GNUC_INTERNAL double gbt_peer_get_rate_up (GbtPeer *peer);
/* bytes waiting in our send buffer */
G_GNUC_INTERNAL gsize gbt_peer_get_send_backlog (GbtPeer *peer);

/* senders (buffered; flushed from the loop) */
G_GNUC_INTERNAL void gbt_peer_send_have (GbtPeer *peer, guint32 piece);
G_GNUC_INTERNAL void gbt_peer_send_request (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_cancel (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_reject (GbtPeer *peer, const GbtBlock *block);
G_GNUC_INTERNAL void gbt_peer_send_piece (GbtPeer *peer, guint32 piece, guint32 begin,
                                          GBytes *data);
G_GNUC_INTERNAL void gbt_peer_set_choking (GbtPeer *peer, gboolean choking);
G_GNUC_INTERNAL void gbt_peer_set_interested (GbtPeer *peer, gboolean interested);
/* the owner's metadata arrived (config->have is sized now): applies the
 * announcements kept since the handshake (bitfield event; may close) */
G_GNUC_INTERNAL void gbt_peer_metadata_arrived (GbtPeer *peer);
/* once a second: rates, keep-alives, handshake and idle timeouts */
G_GNUC_INTERNAL void gbt_peer_tick (GbtPeer *peer, gint64 now_us);

/* The "reqq" our extension handshake advertises (GBT_SWARM_MAX_UPLOAD_QUEUE,
 * which tests/peer.c checks is the same): a peer that keeps asking beyond it
 * by a margin is dropped for flooding. */
#define GBT_PEER_ADVERTISED_REQQ 2000

/* The clock the flood budgets read (g_get_monotonic_time unless set): tests
 * run a peer through hours of honest traffic without waiting for them.
 * NULL restores the real clock. */
typedef gint64 (*GbtPeerClock) (void);
G_GNUC_INTERNAL void gbt_peer_set_clock (GbtPeer *peer, GbtPeerClock clock);

G_END_DECLS
