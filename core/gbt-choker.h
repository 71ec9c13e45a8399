/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The choker: decides which peers we upload to (BEP 3 "choking"), as pure
 * logic over a table the torrent fills in, with the time passed in so tests
 * drive it with a simulated clock.  It never touches a socket.
 *
 * Leeching (BEP 3, mainline): tit-for-tat.  The @slots interested peers that
 * upload to us fastest (rate_down) hold the regular slots; a peer that
 * snubs us (sent nothing for long while we had requests out) loses any
 * regular slot (anti-snubbing) and can only be the optimistic unchoke.
 *
 * Seeding: round-robin, as libtorrent's default seed_choking_algorithm.
 * There is no reciprocation to measure, and ranking by rate_up feeds on
 * itself: choked peers have rate_up 0, so the first few fast peers keep the
 * slots forever and the rest of the swarm starves.  Giving each interested
 * peer a turn spreads our pieces over more peers, who then trade them among
 * themselves, which helps the swarm more than a few fat pipes do.  A turn
 * lasts GBT_CHOKER_SEED_TURN_US (one rechoke period): at each run, slot
 * holders whose turn is over make room for the peers that have waited
 * longest (never-served peers first).  A run in the middle of a turn (a peer
 * became interested) does not cut turns short, so extra runs cause no churn.
 *
 * In both modes one more slot is the optimistic unchoke (BEP 3): a choked
 * interested peer picked at random and kept for GBT_CHOKER_OPTIMISTIC_US,
 * so we find peers better than our current ones and new peers get the
 * first pieces they need to trade.  As in mainline, a newly connected peer
 * (GBT_CHOKER_NEW_PEER_US) is three times as likely to be picked.
 *
 * Uninterested peers are never unchoked (a deviation from BEP 3's "unchoke
 * fast uninterested peers"): it keeps slots for those who will use them;
 * call gbt_choker_run() when a peer becomes interested so it waits little.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GBT_CHOKER_DEFAULT_SLOTS 4
#define GBT_CHOKER_INTERVAL_US (10 * G_USEC_PER_SEC)   /* how often to call run (BEP 3) */
#define GBT_CHOKER_OPTIMISTIC_US (30 * G_USEC_PER_SEC) /* optimistic rotation (BEP 3) */
#define GBT_CHOKER_SEED_TURN_US GBT_CHOKER_INTERVAL_US
#define GBT_CHOKER_NEW_PEER_US (3 * GBT_CHOKER_OPTIMISTIC_US)

typedef struct {
  gpointer handle;     /* the caller's peer; identifies it across runs */
  gboolean interested; /* the peer is interested in us */
  gboolean snubbed;    /* sent us nothing for long while we had requests out */
  double rate_down;    /* bytes/s we receive from it */
  double rate_up;      /* bytes/s we send to it */
  gint64 connected_us; /* when it connected, on the clock of now_us */
  gboolean unchoke;    /* out: TRUE to unchoke it, FALSE to choke it */
} GbtChokerPeer;

typedef struct _GbtChoker GbtChoker;

/* @slots: regular unchoke slots (0: GBT_CHOKER_DEFAULT_SLOTS); the
 * optimistic unchoke comes on top. */
G_GNUC_INTERNAL GbtChoker *gbt_choker_new (guint slots);
G_GNUC_INTERNAL void gbt_choker_free (GbtChoker *c);

/* Decides who is unchoked: sets peers[i].unchoke for each of the @n peers.
 * Pass every connected peer each time: the choker drops what it remembers
 * about handles that are absent.  Call every GBT_CHOKER_INTERVAL_US, and
 * also when a peer leaves or becomes interested; the optimistic unchoke
 * rotates once GBT_CHOKER_OPTIMISTIC_US of @now_us passed since it was
 * picked (or at once if it left, lost interest or earned a regular slot).
 * @now_us: monotonic time in microseconds. */
G_GNUC_INTERNAL void gbt_choker_run (GbtChoker *c, GbtChokerPeer *peers, guint n,
                                     gboolean seeding, gint64 now_us);

/* The current optimistic unchoke, or %NULL. */
G_GNUC_INTERNAL gpointer gbt_choker_get_optimistic (GbtChoker *c);

/* A peer left: forget it (its handle may be reused by a new peer). */
G_GNUC_INTERNAL void gbt_choker_forget (GbtChoker *c, gpointer handle);

/* Tests: a fixed seed for the optimistic draw. */
G_GNUC_INTERNAL void gbt_choker_set_seed (GbtChoker *c, guint32 seed);

G_END_DECLS
