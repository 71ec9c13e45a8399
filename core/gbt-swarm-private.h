/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inside of GbtSwarm, shared by the files that make it up:
 * gbt-swarm.c (membership, the peers' events, requests, trust), 
 * gbt-swarm-upload.c (serving requests, choking) and gbt-swarm-dial.c
 * (candidates and dialling).
 */
#pragma once

#include "gbt-choker.h"
#include "gbt-swarm.h"

G_BEGIN_DECLS

#define MAX_HALF_OPEN 16
#define MAX_CANDIDATES 2000
/* no block for this long while we await some: the peer snubs us, and its
 * requests go to others */
#define REQUEST_TIMEOUT_US (20 * G_USEC_PER_SEC)
/* snubbed this many times without a block in between: dropped */
#define MAX_SNUBS 3
/* Blocks a peer may send that we never asked for, beyond those it may
 * still have had in flight when we cancelled or gave them up: a little
 * slack for clients that answer a cancel late.  Past it, it is dropped. */
#define UNREQUESTED_SLACK (256 * 1024)
/* rejects while it unchokes us, with no block in between: dropped (more
 * than our deepest queue, so one full queue rejected is forgiven) */
#define MAX_REJECTS (2 * MAX_QUEUE)
#define ROOM_IDLE_US (30 * G_USEC_PER_SEC)
#define RECHOKE_TICKS 10
#define INTEREST_TICKS 5
#define BAN_TRUST -7
#define MAX_TRUST 8
#define MIN_QUEUE 16
#define MAX_QUEUE 500
#define START_QUEUE 64
#define MAX_BLOCK_LEN (128 * 1024)
/* Requests are served from whole pieces read once into a small cache: a
 * peer asks for a piece's blocks one after another, and one read per piece
 * instead of one worker round-trip per 16 KiB block is what lets a seed
 * keep up with a fast leecher.  Blocks go to a peer's socket only while its
 * send backlog is small; the rest wait in its queue (bounded by our reqq),
 * so memory does not grow with a peer that asks faster than it reads. */
#define UPLOAD_BACKLOG (1024 * 1024)
#define PIECE_CACHE_BYTES (16 * 1024 * 1024)

typedef enum {
  CAND_IDLE,
  CAND_CONNECTING,
  CAND_CONNECTED,
} CandidateState;

typedef struct {
  GbtSwarm *swarm;
  GInetSocketAddress *address;
  char *key;
  char *source;
  const char *transport; /* interned: what connected last time, NULL */
  const char *avoid;     /* interned: connected but was closed before the handshake */
  CandidateState state;
  guint failures;
  gint64 next_try_us;
  GCancellable *cancellable;
} Candidate;

typedef struct {
  GbtSwarm *swarm;
  GbtPeer *peer; /* a reference */
  gboolean closed;
  gboolean ready; /* handshaken: reported to the torrent by ops->peer_ready */
  char *ip; /* NULL when the address is unknown */
  char *key; /* the candidate's, for an outgoing peer */
  char *source; /* where its address came from */
  gboolean incoming;
  GArray *requests; /* GbtBlock: what we asked and await */
  GArray *queued; /* GbtBlock: what it asked of us */
  guint queue_target;
  gboolean snubbed;
  guint snubs; /* snubbed since its last block */
  guint rejects; /* rejected while unchoking us, since its last block */
  guint64 may_still_come; /* bytes cancelled or given up, which it may still send */
  guint64 unrequested; /* bytes it sent that we never asked for */
  gint64 last_block_us;
  gint64 connected_us;
} SwarmPeer;

typedef struct {
  guint piece;
  GBytes *data; /* NULL while being read */
} CachedPiece;

struct _GbtSwarm {
  const GbtSwarmOps *ops;
  gpointer data;
  GbtSwarmConfig config;
  GbtTorrentState state;
  GbtPicker *picker;

  GPtrArray *peers; /* SwarmPeer*, closed ones until reaped */
  guint n_live;
  guint reap_id;
  guint kick_id;
  GHashTable *candidates; /* key -> Candidate* */
  guint n_connecting;
  GHashTable *banned; /* ip -> NULL */
  GHashTable *trust; /* ip -> GINT_TO_POINTER (trust + 1000) */
  GHashTable *suspects; /* piece -> GArray of what its blocks were when it failed */
  GRand *rand;
  GbtChoker *choker;
  GQueue piece_cache; /* CachedPiece*, most recently used first */
  guint ticks;

  guint64 downloaded, uploaded, wasted;
  guint64 rate_window_down, rate_window_up;
  double rate_down, rate_up;
};

/* each live (not closed) record; `continue` works, `break` does not */
#define FOR_LIVE(self, i, rec)                                                                 \
  for (guint i = 0; i < (self)->peers->len; i++)                                               \
    for (SwarmPeer *rec = g_ptr_array_index ((self)->peers, i); rec && !rec->closed; rec = NULL)

G_GNUC_INTERNAL extern const GbtPeerEvents gbt_swarm_peer_events;

/* gbt-swarm.c */
G_GNUC_INTERNAL gint64 gbt_swarm_now (GbtSwarm *self);
G_GNUC_INTERNAL char *gbt_swarm_address_ip (GInetSocketAddress *address);
G_GNUC_INTERNAL gboolean gbt_swarm_is_active (GbtSwarm *self);
G_GNUC_INTERNAL SwarmPeer *gbt_swarm_add_record (GbtSwarm *self, GbtPeer *peer, const char *key,
                                                 const char *source, gboolean incoming);
/* a peer's GbtPeerConfig for this run; unref its ext_handshake */
G_GNUC_INTERNAL void gbt_swarm_peer_config (GbtSwarm *self, GbtPeerConfig *out);
/* gbt-swarm-upload.c */
G_GNUC_INTERNAL void gbt_swarm_serve (GbtSwarm *self, SwarmPeer *rec);
G_GNUC_INTERNAL void gbt_swarm_rechoke (GbtSwarm *self);
G_GNUC_INTERNAL void gbt_swarm_cached_piece_free (gpointer p);
/* gbt-swarm-ban.c */
G_GNUC_INTERNAL GArray *gbt_swarm_suspect_new (void);
/* gbt-swarm-dial.c */
G_GNUC_INTERNAL void gbt_swarm_candidate_free (gpointer data);
G_GNUC_INTERNAL void gbt_swarm_connect_more (GbtSwarm *self);
/* drops the candidates at @ip (a ban), cancelling their dials */
G_GNUC_INTERNAL void gbt_swarm_forget_ip (GbtSwarm *self, const char *ip);

G_END_DECLS
