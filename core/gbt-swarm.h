/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtSwarm: one torrent's peers.  It owns the connected peers and the
 * candidate addresses, dials them with backoff, applies the duplicate rule
 * and makes room when full, schedules requests with the picker (pipelining,
 * endgame, snubbing), keeps trust and bans, serves uploads from a small
 * read cache, and runs the choker.  It talks to its torrent only through
 * GbtSwarmOps (as GbtTrackerManager does through its ops), and to each peer
 * through the peer's events: tests drive it with fakes.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-torrent.h>

#include "gbt-bitfield.h"
#include "gbt-peer-private.h"
#include "gbt-picker.h"

G_BEGIN_DECLS

typedef struct _GbtSwarm GbtSwarm;

/* What the swarm asks of its torrent. */
typedef struct {
  /* a block we requested arrived (checked against our requests and the
   * picker): the torrent assembles it; @from is the sender's IP;
   * @complete: the piece's last missing block */
  void (*block) (gpointer data, const GbtBlock *block, const guint8 *bytes, const char *from,
                 gboolean complete);
  /* bytes gathered or waiting for the disk are over the limit: request
   * nothing more for now */
  gboolean (*over_buffer_limit) (gpointer data);
  /* read a whole piece to serve uploads; answer with
   * gbt_swarm_piece_read() (later, or at once) */
  void (*read_piece) (gpointer data, guint piece);
  /* open a connection (a transport's connect) */
  /* @preferred: the transport to try first; @avoid: the one to try last */
  void (*connect_async) (gpointer data, GInetSocketAddress *address, const char *preferred,
                         const char *avoid, GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data);
  /* no @data: the dial may outlive the swarm (it is then cancelled);
   * @transport: the interned name of the transport that connected */
  GIOStream *(*connect_finish) (GObject *source, GAsyncResult *result, const char **transport,
                                GError **error);
  /* a peer broke the protocol or misbehaved and was closed for it (its
   * reason in GBT_PEER_WIRE_ERROR), or was banned */
  void (*dropped) (gpointer data, GbtPeer *peer, const GError *reason);
  /* an IP was banned for bad data */
  void (*banned) (gpointer data, const char *ip);
  /* BEP 5: the UDP port of our DHT node for this torrent (0: none) */
  guint16 (*get_dht_port) (gpointer data);
  /* a peer's PORT message (BEP 5) */
  void (*dht_port) (gpointer data, GbtPeer *peer, guint16 port);
  /* the clock; NULL: g_get_monotonic_time() */
  gint64 (*now_us) (gpointer data);
  /* a peer finished its handshake and counts as connected; @source: where
   * its address came from ("incoming" for one that dialled us) */
  void (*peer_ready) (gpointer data, GbtPeer *peer, const char *source);
  /* a peer that was ready closed (once; not for peers that never got
   * through their handshake) */
  void (*peer_closed) (gpointer data, GbtPeer *peer);
} GbtSwarmOps;

/* Settings a start takes from the session; pointers are borrowed from the
 * torrent, which outlives the swarm's use of them. */
typedef struct {
  guint max_peers;
  guint16 listen_port; /* ours: a candidate at our bind address and port is us */
  GInetAddress *bind_address; /* nullable */
  guint8 peer_id[20];
  guint8 info_hash[20];
  GbtTorrent *torrent; /* for plugins (extensions, gbt_peer_get_torrent) */
  GPtrArray *extensions; /* GbtWireExtension*, borrowed; nullable */
  const GbtBitfield *have; /* ours (n_bits 0 before the metadata) */
  const GbtBitfield *want; /* the pieces of the files asked for */
  const GbtWireLimits *limits;
  GbtRateLimit *limit_up, *limit_down;
  gboolean can_dial; /* a transport exists */
} GbtSwarmConfig;

/* Requests a peer may queue with us (our "reqq").  A deep queue lets a fast
 * leecher keep the pipe full: at 250 libtorrent's requests ran dry and 1 GiB
 * took 4.3-5.2 s to upload to it on loopback, at 2000 1.9-2.0 s.  What is
 * sent stays under the upload backlog. */
#define GBT_SWARM_MAX_UPLOAD_QUEUE 2000

G_GNUC_INTERNAL GbtSwarm *gbt_swarm_new (const GbtSwarmOps *ops, gpointer data);
/* closes every peer first */
G_GNUC_INTERNAL void gbt_swarm_free (GbtSwarm *swarm);
/* at each start: the session's settings for this run */
G_GNUC_INTERNAL void gbt_swarm_configure (GbtSwarm *swarm, const GbtSwarmConfig *config);
/* what the torrent does now: the swarm requests only while DOWNLOADING,
 * dials while DOWNLOADING, SEEDING or FETCHING_METADATA */
G_GNUC_INTERNAL void gbt_swarm_set_state (GbtSwarm *swarm, GbtTorrentState state);
/* the picker of the wanted pieces (NULL before the metadata), borrowed */
G_GNUC_INTERNAL void gbt_swarm_set_picker (GbtSwarm *swarm, GbtPicker *picker);

/* candidates */
G_GNUC_INTERNAL void gbt_swarm_add_peers (GbtSwarm *swarm, GPtrArray *addresses,
                                          const char *source);
/* An already-connected stream speaking the peer wire (a web seed's): we send
 * our handshake first.  @name stands for its address: shown, and the key of
 * its trust and ban (a banned name is refused).  FALSE with @error when
 * refused (not running, banned, full). */
G_GNUC_INTERNAL gboolean gbt_swarm_add_stream (GbtSwarm *swarm, GIOStream *stream,
                                               const char *source, const char *name,
                                               GError **error);
/* An incoming peer whose handshake named our torrent: TRUE when taken (it
 * is then ours and reports to us), FALSE with @error when refused. */
G_GNUC_INTERNAL gboolean gbt_swarm_accept (GbtSwarm *swarm, GbtPeer *peer, GError **error);
/* closes every peer and cancels every dial (a stop); candidates, trust
 * and bans are kept for the next start */
G_GNUC_INTERNAL void gbt_swarm_close_all (GbtSwarm *swarm);
/* the connection limit, changed while running (applies to new connections) */
G_GNUC_INTERNAL void gbt_swarm_set_max_peers (GbtSwarm *swarm, guint max_peers);
/* connected peers that have every piece */
G_GNUC_INTERNAL guint gbt_swarm_get_n_seeds (GbtSwarm *swarm);

/* once a second: peers' ticks, snubbing, rechoke, interest, dialling */
G_GNUC_INTERNAL void gbt_swarm_tick (GbtSwarm *swarm);

/* news from the torrent */
G_GNUC_INTERNAL void gbt_swarm_metadata_arrived (GbtSwarm *swarm);
/* live after the check: peers learn what we have, we what we want */
G_GNUC_INTERNAL void gbt_swarm_went_live (GbtSwarm *swarm);
/* A piece's verdict.  @senders: the IP that sent each 16 KiB block (char*);
 * @block_hashes: their SHA-1s (20 bytes each), always with a failure, and
 * with a pass when gbt_swarm_wants_block_hashes() said so when it was
 * written (smart ban compares them). */
G_GNUC_INTERNAL void gbt_swarm_piece_passed (GbtSwarm *swarm, guint piece, GPtrArray *senders,
                                             GBytes *block_hashes);
G_GNUC_INTERNAL void gbt_swarm_piece_failed (GbtSwarm *swarm, guint piece, GPtrArray *senders,
                                             GBytes *block_hashes);
/* the piece failed before: its pass needs block hashes to find the liar */
G_GNUC_INTERNAL gboolean gbt_swarm_wants_block_hashes (GbtSwarm *swarm, guint piece);
/* every wanted piece is here: cancel what is left, drop seeds */
G_GNUC_INTERNAL void gbt_swarm_finished (GbtSwarm *swarm);
/* the answer to ops->read_piece: @data NULL on failure */
G_GNUC_INTERNAL void gbt_swarm_piece_read (GbtSwarm *swarm, guint piece, GBytes *data,
                                           const GError *error);
/* something freed room (disk writes done, a request returned): request */
G_GNUC_INTERNAL void gbt_swarm_kick (GbtSwarm *swarm);
/* new wanted pieces (files selected): interest is recomputed */
G_GNUC_INTERNAL void gbt_swarm_update_interest (GbtSwarm *swarm);

/* pieces stopped being wanted (files skipped): the requests out for them
 * are cancelled */
G_GNUC_INTERNAL void gbt_swarm_cancel_unwanted (GbtSwarm *swarm);

/* seeding, then more is wanted: the seeds closed at the finish (and every
 * waiting candidate) are dialled again now, not after their backoff */
G_GNUC_INTERNAL void gbt_swarm_wants_more (GbtSwarm *swarm);

/* questions */
G_GNUC_INTERNAL guint gbt_swarm_get_n_peers (GbtSwarm *swarm);
/* no peer, none to dial, no traffic left in the rates: its tick has
 * nothing to do */
G_GNUC_INTERNAL gboolean gbt_swarm_is_idle (GbtSwarm *self);
/* connected peers in order; (transfer container) refs not taken */
G_GNUC_INTERNAL GPtrArray *gbt_swarm_dup_peers (GbtSwarm *swarm);
G_GNUC_INTERNAL GStrv gbt_swarm_dup_peer_sources (GbtSwarm *swarm);
/* where the outgoing peers listen, for resume data (GInetSocketAddress*) */
G_GNUC_INTERNAL GPtrArray *gbt_swarm_dup_listen_addresses (GbtSwarm *swarm);
G_GNUC_INTERNAL gboolean gbt_swarm_is_banned (GbtSwarm *swarm, const char *ip);
G_GNUC_INTERNAL int gbt_swarm_get_trust (GbtSwarm *swarm, const char *ip);
/* payload bytes of the blocks we asked for and got (downloaded), of those
 * we had no use for or never asked for (wasted), sent, and the smoothed
 * rates */
G_GNUC_INTERNAL guint64 gbt_swarm_get_downloaded (GbtSwarm *swarm);
G_GNUC_INTERNAL guint64 gbt_swarm_get_wasted (GbtSwarm *swarm);
G_GNUC_INTERNAL guint64 gbt_swarm_get_uploaded (GbtSwarm *swarm);
G_GNUC_INTERNAL double gbt_swarm_get_rate_down (GbtSwarm *swarm);
G_GNUC_INTERNAL double gbt_swarm_get_rate_up (GbtSwarm *swarm);
/* What the swarm alone knows of a connected peer. */
typedef struct {
  GbtPeer *peer; /* borrowed */
  gboolean snubbed; /* sent nothing for long while we awaited blocks */
  gboolean optimistic; /* our optimistic unchoke */
} GbtSwarmPeerState;
/* the ready peers (element-type GbtSwarmPeerState) */
G_GNUC_INTERNAL GArray *gbt_swarm_dup_peer_states (GbtSwarm *swarm);
/* the blocks we await from @peer (GbtBlock), for tests */
G_GNUC_INTERNAL GArray *gbt_swarm_get_requests (GbtSwarm *swarm, GbtPeer *peer);
G_GNUC_INTERNAL gboolean gbt_swarm_is_snubbed (GbtSwarm *swarm, GbtPeer *peer);

G_END_DECLS
