/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The swarm: a torrent's peers and the policy over them (see gbt-swarm.h).
 *
 * Each connected peer has a record (SwarmPeer) holding what the swarm
 * decides about it: the blocks we await from it, the blocks it asked of
 * us, its queue depth and whether it snubs us.  The rule "a peer's
 * outstanding requests are what the picker counts as requested" lives here
 * alone.  A peer that closes reports it through its closed event; its
 * record is marked closed at once and taken out of the array later (an
 * idle), so no loop over the peers ever sees the array shrink under it.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-peer.h>
#include <gbt/gbt-wire-extension.h>

#include "gbt-choker.h"
#include "gbt-ltep.h"
#include "gbt-swarm.h"

#define MAX_HALF_OPEN 16
#define MAX_CANDIDATES 2000
#define REQUEST_TIMEOUT_US (30 * G_USEC_PER_SEC)
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
  CandidateState state;
  guint failures;
  gint64 next_try_us;
  GCancellable *cancellable;
} Candidate;

typedef struct {
  GbtSwarm *swarm;
  GbtPeer *peer; /* a reference */
  gboolean closed;
  char *ip; /* NULL when the address is unknown */
  char *key; /* the candidate's, for an outgoing peer */
  char *source; /* where its address came from */
  gboolean incoming;
  GArray *requests; /* GbtBlock: what we asked and await */
  GArray *queued; /* GbtBlock: what it asked of us */
  guint queue_target;
  gboolean snubbed;
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
  GRand *rand;
  GbtChoker *choker;
  GQueue piece_cache; /* CachedPiece*, most recently used first */
  guint ticks;

  guint64 downloaded, uploaded, wasted;
  guint64 rate_window_down, rate_window_up;
  double rate_down, rate_up;
};

static const GbtPeerEvents swarm_peer_events;
static void swarm_request (GbtSwarm *self, SwarmPeer *rec);
static void swarm_serve (GbtSwarm *self, SwarmPeer *rec);
static void swarm_rechoke (GbtSwarm *self);
static void swarm_connect_more (GbtSwarm *self);

#define FOR_LIVE(self, i, rec)                                                                 \
  for (guint i = 0; i < (self)->peers->len; i++)                                               \
    for (SwarmPeer *rec = g_ptr_array_index ((self)->peers, i); rec && !rec->closed; rec = NULL)

/* ---- helpers ---- */

static gint64
swarm_now (GbtSwarm *self)
{
  return self->ops->now_us ? self->ops->now_us (self->data) : g_get_monotonic_time ();
}

static char *
address_ip (GInetSocketAddress *address)
{
  return g_inet_address_to_string (g_inet_socket_address_get_address (address));
}

static char *
address_key (GInetSocketAddress *address)
{
  g_autofree char *ip = address_ip (address);
  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (address));
}

static void
candidate_free (gpointer data)
{
  Candidate *c = data;
  if (c->cancellable)
    {
      g_cancellable_cancel (c->cancellable);
      g_object_unref (c->cancellable);
    }
  g_object_unref (c->address);
  g_free (c->key);
  g_free (c->source);
  g_free (c);
}

static void
swarm_peer_free (gpointer data)
{
  SwarmPeer *rec = data;
  gbt_peer_unref (rec->peer);
  g_free (rec->ip);
  g_free (rec->key);
  g_free (rec->source);
  g_array_unref (rec->requests);
  g_array_unref (rec->queued);
  g_free (rec);
}

static void
cached_piece_free (gpointer p)
{
  CachedPiece *cp = p;
  g_clear_pointer (&cp->data, g_bytes_unref);
  g_free (cp);
}

static gboolean
piece_wanted (GbtSwarm *self, guint piece)
{
  const GbtBitfield *have = self->config.have, *want = self->config.want;
  return have && want && piece < have->n_bits && !gbt_bitfield_get (have, piece)
         && gbt_bitfield_get (want, piece);
}

static gboolean
peer_has_wanted (GbtSwarm *self, SwarmPeer *rec)
{
  const GbtBitfield *has = gbt_peer_get_has (rec->peer);

  if (has->n_set == 0 || self->picker == NULL || gbt_picker_is_done (self->picker))
    return FALSE;
  for (guint i = 0; i < has->n_bits; i++)
    if (gbt_bitfield_get (has, i) && piece_wanted (self, i))
      return TRUE;
  return FALSE;
}

static void
update_interest (GbtSwarm *self, SwarmPeer *rec)
{
  gbt_peer_set_interested (rec->peer, peer_has_wanted (self, rec));
}

static int
find_block (GArray *blocks, const GbtBlock *block)
{
  const GbtBlock *r = (const GbtBlock *) blocks->data;
  /* replies come mostly in request order: the match is usually first */
  for (guint i = 0; i < blocks->len; i++)
    if (r[i].piece == block->piece && r[i].begin == block->begin)
      return (int) i;
  return -1;
}

static void
return_requests (GbtSwarm *self, SwarmPeer *rec)
{
  for (guint i = 0; self->picker && i < rec->requests->len; i++)
    gbt_picker_unrequest (self->picker, &g_array_index (rec->requests, GbtBlock, i));
  g_array_set_size (rec->requests, 0);
}

static gboolean
reap_cb (gpointer user_data)
{
  GbtSwarm *self = user_data;

  self->reap_id = 0;
  for (guint i = self->peers->len; i > 0; i--)
    if (((SwarmPeer *) g_ptr_array_index (self->peers, i - 1))->closed)
      g_ptr_array_remove_index (self->peers, i - 1);
  return G_SOURCE_REMOVE;
}

static gboolean
kick_cb (gpointer user_data)
{
  GbtSwarm *self = user_data;

  self->kick_id = 0;
  FOR_LIVE (self, i, rec)
    swarm_request (self, rec);
  return G_SOURCE_REMOVE;
}

void
gbt_swarm_kick (GbtSwarm *self)
{
  if (self->kick_id == 0)
    self->kick_id = g_idle_add (kick_cb, self);
}

/* ---- life ---- */

GbtSwarm *
gbt_swarm_new (const GbtSwarmOps *ops, gpointer data)
{
  GbtSwarm *self = g_new0 (GbtSwarm, 1);

  self->ops = ops;
  self->data = data;
  self->state = GBT_TORRENT_STATE_STOPPED;
  self->peers = g_ptr_array_new_with_free_func (swarm_peer_free);
  self->candidates = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, candidate_free);
  self->banned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->trust = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->rand = g_rand_new ();
  self->choker = gbt_choker_new (GBT_CHOKER_DEFAULT_SLOTS);
  g_queue_init (&self->piece_cache);
  return self;
}

void
gbt_swarm_close_all (GbtSwarm *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      if (c->cancellable)
        {
          g_cancellable_cancel (c->cancellable);
          g_clear_object (&c->cancellable);
        }
      if (c->state == CAND_CONNECTING)
        c->state = CAND_IDLE;
    }
  self->n_connecting = 0;
  FOR_LIVE (self, i, rec)
    gbt_peer_close (rec->peer, NULL);
  g_clear_handle_id (&self->reap_id, g_source_remove);
  g_clear_handle_id (&self->kick_id, g_source_remove);
  g_ptr_array_set_size (self->peers, 0);
  g_queue_clear_full (&self->piece_cache, cached_piece_free);
}

void
gbt_swarm_free (GbtSwarm *self)
{
  if (self == NULL)
    return;
  gbt_swarm_close_all (self);
  g_ptr_array_unref (self->peers);
  g_hash_table_unref (self->candidates);
  g_hash_table_unref (self->banned);
  g_hash_table_unref (self->trust);
  g_rand_free (self->rand);
  gbt_choker_free (self->choker);
  g_free (self);
}

void
gbt_swarm_configure (GbtSwarm *self, const GbtSwarmConfig *config)
{
  GHashTableIter iter;
  gpointer value;

  self->config = *config;
  /* a new start tries every known address again */
  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      c->state = CAND_IDLE;
      c->failures = 0;
      c->next_try_us = 0;
    }
}

void
gbt_swarm_set_state (GbtSwarm *self, GbtTorrentState state)
{
  self->state = state;
}

void
gbt_swarm_set_picker (GbtSwarm *self, GbtPicker *picker)
{
  self->picker = picker;
}

static gboolean
swarm_is_active (GbtSwarm *self)
{
  return self->state == GBT_TORRENT_STATE_DOWNLOADING || self->state == GBT_TORRENT_STATE_SEEDING
         || self->state == GBT_TORRENT_STATE_FETCHING_METADATA;
}

/* ---- membership ---- */

static SwarmPeer *
swarm_add (GbtSwarm *self, GbtPeer *peer, const char *key, const char *source, gboolean incoming)
{
  SwarmPeer *rec = g_new0 (SwarmPeer, 1);
  GInetSocketAddress *address = gbt_peer_get_address (peer);

  rec->swarm = self;
  rec->peer = gbt_peer_ref (peer);
  rec->ip = address ? address_ip (address) : NULL;
  rec->key = g_strdup (key);
  rec->source = g_strdup (source);
  rec->incoming = incoming;
  rec->requests = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  rec->queued = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  rec->queue_target = START_QUEUE;
  rec->connected_us = swarm_now (self);
  g_ptr_array_add (self->peers, rec);
  self->n_live++;
  return rec;
}

static void
peer_config (GbtSwarm *self, GbtPeerConfig *out)
{
  memset (out, 0, sizeof *out);
  memcpy (out->info_hash, self->config.info_hash, 20);
  memcpy (out->peer_id, self->config.peer_id, 20);
  out->have = self->config.have;
  out->limits = self->config.limits;
  out->limit_up = self->config.limit_up;
  out->limit_down = self->config.limit_down;
  out->dht_port = self->ops->get_dht_port ? self->ops->get_dht_port (self->data) : 0;
  out->ext_handshake = gbt_ltep_build_handshake (self->config.extensions, self->config.torrent,
                                                 self->config.listen_port,
                                                 GBT_SWARM_MAX_UPLOAD_QUEUE);
  out->torrent = self->config.torrent;
}

/* Two peers that both learn each other's address connect both ways at once.
 * Both sides must drop the same one of the two connections, or neither
 * survives: the one kept is the one opened by the side with the greater
 * peer id (each side knows both ids).  Two connections in the same direction
 * (one peer at two addresses): the newer goes. */
static gboolean
swarm_admit (GbtSwarm *self, GbtPeer *peer, gboolean incoming, GError **error)
{
  const guint8 *theirs = gbt_peer_get_remote_id (peer);

  if (memcmp (theirs, self->config.peer_id, 20) == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "connected to ourselves");
      return FALSE;
    }
  FOR_LIVE (self, i, other)
    {
      gboolean i_am_greater;
      g_autoptr(GError) reason = NULL;

      if (other->peer == peer || gbt_peer_get_state (other->peer) != GBT_PEER_STATE_ACTIVE
          || memcmp (gbt_peer_get_remote_id (other->peer), theirs, 20) != 0)
        continue;
      i_am_greater = memcmp (self->config.peer_id, theirs, 20) > 0;
      if (other->incoming == incoming || i_am_greater != !incoming)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                               "already connected to this peer");
          return FALSE;
        }
      reason = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                    "a duplicate of a newer connection to this peer");
      gbt_peer_close (other->peer, reason);
      return TRUE;
    }
  return TRUE;
}

/* Full: a newcomer may take the place of the oldest peer with which nothing
 * can be exchanged (neither side interested) for a while, so idle
 * connections cannot lock real peers out. */
static gboolean
swarm_make_room (GbtSwarm *self)
{
  gint64 now = swarm_now (self);
  SwarmPeer *victim = NULL;
  g_autoptr(GError) reason = NULL;

  FOR_LIVE (self, i, rec)
    {
      if (gbt_peer_is_interested (rec->peer) || gbt_peer_am_interested (rec->peer)
          || now - rec->connected_us < ROOM_IDLE_US)
        continue;
      if (victim == NULL || rec->connected_us < victim->connected_us)
        victim = rec;
    }
  if (victim == NULL)
    return FALSE;
  reason = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                "idle: making room for a new peer");
  gbt_peer_close (victim->peer, reason);
  return TRUE;
}

gboolean
gbt_swarm_accept (GbtSwarm *self, GbtPeer *peer, GError **error)
{
  SwarmPeer *rec;
  GbtPeerConfig config;
  GInetSocketAddress *address = gbt_peer_get_address (peer);
  g_autofree char *ip = address ? address_ip (address) : NULL;

  if (!swarm_is_active (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "the torrent is not running");
      return FALSE;
    }
  if (ip && g_hash_table_contains (self->banned, ip))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "banned");
      return FALSE;
    }
  if (self->n_live >= self->config.max_peers && !swarm_make_room (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "torrent refused the connection: no room for more peers");
      return FALSE;
    }
  if (!swarm_admit (self, peer, TRUE, error))
    return FALSE;
  rec = swarm_add (self, peer, NULL, "incoming", TRUE);
  peer_config (self, &config);
  gbt_peer_set_owner (peer, &swarm_peer_events, rec, &config);
  g_bytes_unref (config.ext_handshake);
  return TRUE;
}

/* ---- the peers' events ---- */

static gboolean
on_handshake (GbtPeer *peer, gpointer data, GError **error)
{
  SwarmPeer *rec = data;
  return swarm_admit (rec->swarm, peer, rec->incoming, error);
}

static void
on_ready (GbtPeer *peer, gpointer data)
{
  g_debug ("[%s] handshake done", gbt_peer_get_name (peer));
}

static void
on_closed (GbtPeer *peer, const GError *reason, gpointer data)
{
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;
  const GbtBitfield *has = gbt_peer_get_has (peer);

  if (rec->closed)
    return;
  rec->closed = TRUE;
  self->n_live--;
  gbt_ltep_peer_closed (self->config.extensions, peer);
  return_requests (self, rec);
  g_array_set_size (rec->queued, 0);
  if (self->picker && has->n_set > 0)
    gbt_picker_remove_peer_bitfield (self->picker, has);
  gbt_choker_forget (self->choker, rec);
  if (rec->key)
    {
      Candidate *c = g_hash_table_lookup (self->candidates, rec->key);
      if (c && c->state == CAND_CONNECTED)
        {
          c->state = CAND_IDLE;
          /* a peer that gave us data is worth a quick retry; one that failed
           * at once waits longer each time */
          if (gbt_peer_get_downloaded (peer) > 0)
            c->failures = 0;
          else
            c->failures++;
          c->next_try_us = swarm_now (self)
                           + MIN (30 * (1 << MIN (c->failures, 5)), 600) * G_USEC_PER_SEC;
        }
    }
  if (self->reap_id == 0)
    self->reap_id = g_idle_add (reap_cb, self);
  gbt_swarm_kick (self);
}

/* after any change of a peer's pieces */
static void
pieces_changed (GbtSwarm *self, SwarmPeer *rec)
{
  /* a seed meeting a seed: nothing to exchange */
  if (self->state == GBT_TORRENT_STATE_SEEDING && gbt_peer_is_seed (rec->peer))
    {
      gbt_peer_close (rec->peer, NULL);
      return;
    }
  swarm_request (self, rec);
}

static void
on_bitfield (GbtPeer *peer, const GbtBitfield *old, gpointer data)
{
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;
  const GbtBitfield *has = gbt_peer_get_has (peer);

  if (self->picker)
    {
      if (old->n_set > 0)
        gbt_picker_remove_peer_bitfield (self->picker, old);
      if (has->n_set > 0)
        gbt_picker_add_peer_bitfield (self->picker, has);
    }
  update_interest (self, rec);
  pieces_changed (self, rec);
}

static void
on_have (GbtPeer *peer, guint piece, gpointer data)
{
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;

  if (self->picker)
    gbt_picker_add_peer_have (self->picker, piece);
  if (!gbt_peer_am_interested (peer) && piece_wanted (self, piece)
      && self->state == GBT_TORRENT_STATE_DOWNLOADING)
    gbt_peer_set_interested (peer, TRUE);
  pieces_changed (self, rec);
}

static void
on_choke_changed (GbtPeer *peer, gpointer data)
{
  SwarmPeer *rec = data;

  if (gbt_peer_is_choking (peer) && !gbt_peer_is_fast (peer))
    return_requests (rec->swarm, rec);
  swarm_request (rec->swarm, rec);
}

static void
on_interest_changed (GbtPeer *peer, gpointer data)
{
  SwarmPeer *rec = data;

  /* a newly interested peer gets a free slot at once, not in up to 10 s */
  if (gbt_peer_is_interested (peer) && gbt_peer_am_choking (peer))
    swarm_rechoke (rec->swarm);
}

static void
cancel_elsewhere (GbtSwarm *self, SwarmPeer *from, const GbtBlock *block)
{
  FOR_LIVE (self, i, rec)
    {
      int idx;
      if (rec == from || (idx = find_block (rec->requests, block)) < 0)
        continue;
      g_array_remove_index (rec->requests, idx);
      gbt_peer_send_cancel (rec->peer, block);
    }
}

static void
on_block (GbtPeer *peer, const GbtBlock *block, const guint8 *bytes, gpointer data)
{
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;
  int i = find_block (rec->requests, block);
  gboolean complete = FALSE;

  if (i < 0 || g_array_index (rec->requests, GbtBlock, i).length != block->length)
    {
      /* unsolicited, cancelled or a duplicate: no use to us */
      g_debug ("[%s] unrequested block %u+%u", gbt_peer_get_name (peer), block->piece,
               block->begin);
      self->wasted += block->length;
      return;
    }
  g_array_remove_index (rec->requests, i);
  rec->last_block_us = swarm_now (self);
  rec->snubbed = FALSE;
  self->downloaded += block->length;
  self->rate_window_down += block->length;
  if (self->state != GBT_TORRENT_STATE_DOWNLOADING || self->picker == NULL
      || gbt_bitfield_get (self->config.have, block->piece))
    {
      self->wasted += block->length;
      return;
    }
  if (!gbt_picker_block_received (self->picker, block, &complete))
    {
      self->wasted += block->length;
      swarm_request (self, rec);
      return;
    }
  if (gbt_picker_in_endgame (self->picker))
    cancel_elsewhere (self, rec, block);
  self->ops->block (self->data, block, bytes, rec->ip ? rec->ip : "?", complete);
  swarm_request (self, rec);
}

static void
on_request (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;
  const GbtBitfield *have = self->config.have;

  if (gbt_peer_am_choking (peer) || have == NULL || block->piece >= have->n_bits
      || !gbt_bitfield_get (have, block->piece) || block->length > MAX_BLOCK_LEN
      || rec->queued->len >= GBT_SWARM_MAX_UPLOAD_QUEUE)
    {
      /* BEP 6: say no instead of staying silent */
      if (gbt_peer_is_fast (peer))
        gbt_peer_send_reject (peer, block);
      return;
    }
  g_array_append_val (rec->queued, *block);
  swarm_serve (self, rec);
}

static void
on_cancel (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  SwarmPeer *rec = data;
  int i = find_block (rec->queued, block);

  if (i >= 0)
    g_array_remove_index (rec->queued, i);
}

static void
on_reject (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  SwarmPeer *rec = data;
  int i = find_block (rec->requests, block);

  if (i < 0)
    return;
  g_array_remove_index (rec->requests, i);
  if (rec->swarm->picker)
    gbt_picker_unrequest (rec->swarm->picker, block);
  gbt_swarm_kick (rec->swarm);
}

static void
on_drained (GbtPeer *peer, gpointer data)
{
  SwarmPeer *rec = data;

  if (rec->queued->len > 0)
    swarm_serve (rec->swarm, rec);
}

static void
on_extended (GbtPeer *peer, guint8 ext_id, GBytes *payload, gpointer data)
{
  SwarmPeer *rec = data;
  g_autoptr(GError) error = NULL;

  if (!gbt_ltep_dispatch (rec->swarm->config.extensions, peer, ext_id, payload, &error))
    gbt_peer_close (peer, error);
}

static void
on_dht_port (GbtPeer *peer, guint16 port, gpointer data)
{
  SwarmPeer *rec = data;

  if (rec->swarm->ops->dht_port)
    rec->swarm->ops->dht_port (rec->swarm->data, peer, port);
}

static const GbtPeerEvents swarm_peer_events = {
  .handshake = on_handshake,
  .ready = on_ready,
  .closed = on_closed,
  .bitfield = on_bitfield,
  .have = on_have,
  .choke_changed = on_choke_changed,
  .interest_changed = on_interest_changed,
  .block = on_block,
  .request = on_request,
  .cancel = on_cancel,
  .reject = on_reject,
  .drained = on_drained,
  .extended = on_extended,
  .dht_port = on_dht_port,
};

/* ---- requests ---- */

static gboolean
requested_cb (gpointer peer_data, const GbtBlock *block)
{
  SwarmPeer *rec = peer_data;
  return find_block (rec->requests, block) >= 0;
}

static void
swarm_request (GbtSwarm *self, SwarmPeer *rec)
{
  g_autoptr(GArray) blocks = NULL;
  guint target, want, got, reqq;

  if (self->state != GBT_TORRENT_STATE_DOWNLOADING || self->picker == NULL || rec->closed
      || gbt_peer_get_state (rec->peer) != GBT_PEER_STATE_ACTIVE
      || gbt_peer_is_choking (rec->peer) || !gbt_peer_am_interested (rec->peer))
    return;
  target = rec->queue_target;
  reqq = gbt_peer_get_remote_reqq (rec->peer);
  if (reqq)
    target = MIN (target, reqq);
  if (rec->requests->len >= target)
    return;
  want = target - rec->requests->len;
  /* batch small top-ups: fewer picker calls, same queue depth */
  if (want < 4 && rec->requests->len > 0)
    return;
  if (self->ops->over_buffer_limit && self->ops->over_buffer_limit (self->data))
    return;
  blocks = g_array_sized_new (FALSE, FALSE, sizeof (GbtBlock), want);
  got = gbt_picker_pick (self->picker, gbt_peer_get_has (rec->peer), want, requested_cb, rec,
                         blocks);
  for (guint i = 0; i < got; i++)
    {
      GbtBlock *b = &g_array_index (blocks, GbtBlock, i);
      gbt_peer_send_request (rec->peer, b);
      g_array_append_val (rec->requests, *b);
    }
  if (got > 0 && rec->last_block_us == 0)
    rec->last_block_us = swarm_now (self);
}

/* ---- uploads ---- */

static CachedPiece *
cache_lookup (GbtSwarm *self, guint piece)
{
  for (GList *l = self->piece_cache.head; l; l = l->next)
    {
      CachedPiece *cp = l->data;
      if (cp->piece == piece)
        {
          /* most recently used first */
          g_queue_unlink (&self->piece_cache, l);
          g_queue_push_head_link (&self->piece_cache, l);
          return cp;
        }
    }
  return NULL;
}

static void
cache_trim (GbtSwarm *self)
{
  guint64 plen = self->config.limits ? MAX (self->config.limits->piece_length, 1) : 1;
  guint max = (guint) MAX (PIECE_CACHE_BYTES / plen, 2);

  /* the oldest read pieces go; pieces still being read stay */
  for (GList *l = self->piece_cache.tail; l && self->piece_cache.length > max;)
    {
      GList *prev = l->prev;
      CachedPiece *cp = l->data;
      if (cp->data)
        {
          g_queue_delete_link (&self->piece_cache, l);
          cached_piece_free (cp);
        }
      l = prev;
    }
}

void
gbt_swarm_piece_read (GbtSwarm *self, guint piece, GBytes *data, const GError *error)
{
  CachedPiece *cp = cache_lookup (self, piece);

  if (cp == NULL)
    return;
  if (data == NULL)
    {
      g_debug ("cannot read piece %u to upload: %s", piece, error ? error->message : "?");
      g_queue_remove (&self->piece_cache, cp);
      cached_piece_free (cp);
      /* drop what was asked of it: the peers will ask elsewhere */
      FOR_LIVE (self, i, rec)
        for (guint k = rec->queued->len; k > 0; k--)
          {
            GbtBlock *r = &g_array_index (rec->queued, GbtBlock, k - 1);
            if (r->piece != piece)
              continue;
            if (gbt_peer_is_fast (rec->peer))
              gbt_peer_send_reject (rec->peer, r);
            g_array_remove_index (rec->queued, k - 1);
          }
      return;
    }
  cp->data = g_bytes_ref (data);
  cache_trim (self);
  FOR_LIVE (self, i, rec)
    if (rec->queued->len > 0)
      swarm_serve (self, rec);
}

/* sends what the peer asked for, in order, while its backlog allows */
static void
swarm_serve (GbtSwarm *self, SwarmPeer *rec)
{
  if (self->state != GBT_TORRENT_STATE_DOWNLOADING && self->state != GBT_TORRENT_STATE_SEEDING)
    return;
  while (rec->queued->len > 0 && !rec->closed && !gbt_peer_am_choking (rec->peer)
         && gbt_peer_get_send_backlog (rec->peer) < UPLOAD_BACKLOG)
    {
      GbtBlock r = g_array_index (rec->queued, GbtBlock, 0);
      CachedPiece *cp = cache_lookup (self, r.piece);
      g_autoptr(GBytes) slice = NULL;

      if (cp == NULL)
        {
          cp = g_new0 (CachedPiece, 1);
          cp->piece = r.piece;
          g_queue_push_head (&self->piece_cache, cp);
          self->ops->read_piece (self->data, r.piece);
          return; /* gbt_swarm_piece_read serves it */
        }
      if (cp->data == NULL)
        return; /* being read */
      g_array_remove_index (rec->queued, 0);
      if ((gsize) r.begin + r.length > g_bytes_get_size (cp->data))
        continue;
      slice = g_bytes_new_from_bytes (cp->data, r.begin, r.length);
      gbt_peer_send_piece (rec->peer, r.piece, r.begin, slice);
      self->uploaded += r.length;
      self->rate_window_up += r.length;
    }
}

/* ---- choking (BEP 3, mainline style) ---- */

static void
swarm_rechoke (GbtSwarm *self)
{
  g_autofree GbtChokerPeer *table = NULL;
  guint n = 0;

  if (self->picker == NULL)
    return; /* nothing to upload yet: everyone stays choked */
  table = g_new0 (GbtChokerPeer, MAX (self->peers->len, 1));
  FOR_LIVE (self, i, rec)
    {
      if (gbt_peer_get_state (rec->peer) != GBT_PEER_STATE_ACTIVE)
        continue;
      table[n].handle = rec;
      table[n].interested = gbt_peer_is_interested (rec->peer);
      table[n].snubbed = rec->snubbed;
      table[n].rate_down = gbt_peer_get_rate_down (rec->peer);
      table[n].rate_up = gbt_peer_get_rate_up (rec->peer);
      table[n].connected_us = rec->connected_us;
      n++;
    }
  gbt_choker_run (self->choker, table, n, self->state == GBT_TORRENT_STATE_SEEDING,
                  swarm_now (self));
  for (guint i = 0; i < n; i++)
    {
      SwarmPeer *rec = table[i].handle;
      gbt_peer_set_choking (rec->peer, !table[i].unchoke);
      /* BEP 3: a choke drops the peer's queued requests (BEP 6 peers are
       * told with rejects) */
      if (!table[i].unchoke && rec->queued->len > 0)
        {
          if (gbt_peer_is_fast (rec->peer))
            for (guint k = 0; k < rec->queued->len; k++)
              gbt_peer_send_reject (rec->peer, &g_array_index (rec->queued, GbtBlock, k));
          g_array_set_size (rec->queued, 0);
        }
    }
}

/* ---- trust and bans ---- */

int
gbt_swarm_get_trust (GbtSwarm *self, const char *ip)
{
  gpointer v = g_hash_table_lookup (self->trust, ip);
  return v ? GPOINTER_TO_INT (v) - 1000 : 0;
}

static void
trust_set (GbtSwarm *self, const char *ip, int trust)
{
  g_hash_table_replace (self->trust, g_strdup (ip), GINT_TO_POINTER (trust + 1000));
}

gboolean
gbt_swarm_is_banned (GbtSwarm *self, const char *ip)
{
  return g_hash_table_contains (self->banned, ip);
}

static void
ban_ip (GbtSwarm *self, const char *ip)
{
  if (g_hash_table_contains (self->banned, ip))
    return;
  g_debug ("banning %s for sending bad data", ip);
  g_hash_table_add (self->banned, g_strdup (ip));
  FOR_LIVE (self, i, rec)
    if (rec->ip && g_str_equal (rec->ip, ip))
      {
        g_autoptr(GError) e = g_error_new_literal (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                                                   "banned: sent data that failed hash checks");
        gbt_peer_close (rec->peer, e);
      }
  if (self->ops->banned)
    self->ops->banned (self->data, ip);
}

void
gbt_swarm_piece_passed (GbtSwarm *self, guint piece, GPtrArray *contributors)
{
  for (guint i = 0; contributors && i < contributors->len; i++)
    {
      const char *ip = g_ptr_array_index (contributors, i);
      trust_set (self, ip, MIN (gbt_swarm_get_trust (self, ip) + 1, MAX_TRUST));
    }
  FOR_LIVE (self, i, rec)
    if (gbt_peer_get_state (rec->peer) == GBT_PEER_STATE_ACTIVE)
      gbt_peer_send_have (rec->peer, piece);
}

void
gbt_swarm_piece_failed (GbtSwarm *self, guint piece, GPtrArray *contributors)
{
  /* trust as libtorrent keeps it: a sole contributor is the liar for sure,
   * a shared piece costs each contributor less */
  for (guint i = 0; contributors && i < contributors->len; i++)
    {
      const char *ip = g_ptr_array_index (contributors, i);
      int t = gbt_swarm_get_trust (self, ip) - (contributors->len == 1 ? 4 : 2);
      trust_set (self, ip, t);
      if (t <= BAN_TRUST)
        ban_ip (self, ip);
    }
  gbt_swarm_kick (self);
}

/* ---- candidates and dialling ---- */

/* A dial in flight: it may outlive its candidate (and the swarm), which
 * then cancelled it; the ops table is static and outlives both. */
typedef struct {
  const GbtSwarmOps *ops;
  Candidate *candidate; /* valid unless @cancellable is cancelled */
  GCancellable *cancellable;
} Dial;

static void
connect_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Dial *dial = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = dial->ops->connect_finish (source, result, &error);
  Candidate *c = dial->candidate;
  gboolean cancelled = g_cancellable_is_cancelled (dial->cancellable);
  GbtSwarm *self;
  GbtPeer *peer;
  SwarmPeer *rec;
  GbtPeerConfig config;

  g_object_unref (dial->cancellable);
  g_free (dial);
  if (cancelled)
    return; /* the candidate or the swarm is gone, or the torrent stopped */
  self = c->swarm;
  self->n_connecting--;
  g_clear_object (&c->cancellable);
  if (stream == NULL)
    {
      g_debug ("connect to %s failed: %s", c->key, error->message);
      c->state = CAND_IDLE;
      c->failures++;
      c->next_try_us = swarm_now (self) + MIN (15 * (1 << MIN (c->failures, 6)), 900) * G_USEC_PER_SEC;
      swarm_connect_more (self);
      return;
    }
  if (!swarm_is_active (self) || self->n_live >= self->config.max_peers)
    {
      c->state = CAND_IDLE;
      return;
    }
  c->state = CAND_CONNECTED;
  peer = gbt_peer_new (stream, c->address, FALSE);
  rec = swarm_add (self, peer, c->key, c->source, FALSE);
  gbt_peer_unref (peer);
  peer_config (self, &config);
  gbt_peer_start (peer, &swarm_peer_events, rec, &config);
  g_bytes_unref (config.ext_handshake);
}

void
gbt_swarm_add_peers (GbtSwarm *self, GPtrArray *addresses, const char *source)
{
  guint added = 0;

  for (guint i = 0; i < addresses->len; i++)
    {
      GInetSocketAddress *a = g_ptr_array_index (addresses, i);
      g_autofree char *key = NULL;
      g_autofree char *ip = NULL;
      Candidate *c;

      if (!G_IS_INET_SOCKET_ADDRESS (a) || g_inet_socket_address_get_port (a) == 0)
        continue;
      key = address_key (a);
      ip = address_ip (a);
      if (g_hash_table_contains (self->candidates, key) || g_hash_table_contains (self->banned, ip))
        continue;
      /* ourselves, as the tracker reports us back */
      if (g_inet_socket_address_get_port (a) == self->config.listen_port
          && self->config.bind_address)
        {
          g_autofree char *bip = g_inet_address_to_string (self->config.bind_address);
          if (g_str_equal (bip, ip))
            continue;
        }
      if (g_hash_table_size (self->candidates) >= MAX_CANDIDATES)
        break;
      c = g_new0 (Candidate, 1);
      c->swarm = self;
      c->address = g_object_ref (a);
      c->key = g_steal_pointer (&key);
      c->source = g_strdup (source ? source : "unknown");
      g_hash_table_insert (self->candidates, c->key, c);
      added++;
    }
  if (added)
    g_debug ("%u new peers from %s", added, source);
  swarm_connect_more (self);
}

static void
swarm_connect_more (GbtSwarm *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = swarm_now (self);
  guint max_peers = self->config.max_peers;
  g_autoptr(GPtrArray) ready = NULL;

  /* a seed dials too: some leechers (Transmission on loopback) never dial
   * the peers a tracker gives them, and wait to be called */
  if (!swarm_is_active (self) || !self->config.can_dial || self->ops->connect_async == NULL)
    return;
  if (self->n_live + self->n_connecting >= max_peers || self->n_connecting >= MAX_HALF_OPEN)
    return;

  ready = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      if (c->state == CAND_IDLE && c->next_try_us <= now)
        g_ptr_array_add (ready, c);
    }
  /* random order: no source or address is favoured */
  for (guint i = ready->len; i > 1; i--)
    {
      guint j = g_rand_int_range (self->rand, 0, i);
      gpointer t = ready->pdata[i - 1];
      ready->pdata[i - 1] = ready->pdata[j];
      ready->pdata[j] = t;
    }
  for (guint i = 0; i < ready->len; i++)
    {
      Candidate *c = g_ptr_array_index (ready, i);
      if (self->n_live + self->n_connecting >= max_peers || self->n_connecting >= MAX_HALF_OPEN)
        break;
      Dial *dial = g_new0 (Dial, 1);

      c->state = CAND_CONNECTING;
      c->cancellable = g_cancellable_new ();
      self->n_connecting++;
      dial->ops = self->ops;
      dial->candidate = c;
      dial->cancellable = g_object_ref (c->cancellable);
      self->ops->connect_async (self->data, c->address, c->cancellable, connect_cb, dial);
    }
}

/* ---- the tick ---- */

static void
update_queue_target (SwarmPeer *rec)
{
  /* enough requests in flight to cover about two seconds at the measured
   * rate, so one fast peer on loopback saturates while a slow one does not
   * hoard blocks */
  guint target = (guint) (gbt_peer_get_rate_down (rec->peer) * 2.0 / GBT_BLOCK_SIZE);
  rec->queue_target = CLAMP (MAX (target, rec->queue_target / 2), MIN_QUEUE, MAX_QUEUE);
}

void
gbt_swarm_tick (GbtSwarm *self)
{
  gint64 now = swarm_now (self);
  gint64 wall = g_get_monotonic_time ();

  self->ticks++;
  FOR_LIVE (self, i, rec)
    {
      gbt_peer_tick (rec->peer, wall);
      if (rec->closed)
        continue;
      update_queue_target (rec);
      /* requests unanswered for long: the peer is snubbing us */
      if (rec->requests->len > 0 && rec->last_block_us
          && now - rec->last_block_us > REQUEST_TIMEOUT_US)
        {
          rec->snubbed = TRUE;
          return_requests (self, rec);
          rec->last_block_us = now;
        }
    }
  self->rate_down = self->rate_down * 0.6 + self->rate_window_down * 0.4;
  self->rate_up = self->rate_up * 0.6 + self->rate_window_up * 0.4;
  self->rate_window_down = self->rate_window_up = 0;

  if (self->ticks % RECHOKE_TICKS == 0)
    swarm_rechoke (self);
  if (self->ticks % INTEREST_TICKS == 0 && self->state == GBT_TORRENT_STATE_DOWNLOADING)
    gbt_swarm_update_interest (self);
  swarm_connect_more (self);
  gbt_swarm_kick (self);
}

/* ---- news from the torrent ---- */

void
gbt_swarm_update_interest (GbtSwarm *self)
{
  FOR_LIVE (self, i, rec)
    if (gbt_peer_get_state (rec->peer) == GBT_PEER_STATE_ACTIVE)
      update_interest (self, rec);
}

void
gbt_swarm_metadata_arrived (GbtSwarm *self)
{
  g_autoptr(GPtrArray) peers = gbt_swarm_dup_peers (self);

  /* the connected peers' piece sets, kept aside until now */
  for (guint i = 0; i < peers->len; i++)
    gbt_peer_metadata_arrived (g_ptr_array_index (peers, i));
}

void
gbt_swarm_went_live (GbtSwarm *self)
{
  const GbtBitfield *have = self->config.have;

  /* peers that came before the metadata (magnet) were told we have
   * nothing: now they learn what the check found, and we what we want */
  FOR_LIVE (self, i, rec)
    {
      if (gbt_peer_get_state (rec->peer) != GBT_PEER_STATE_ACTIVE)
        continue;
      for (guint k = 0; have && have->n_set > 0 && k < have->n_bits; k++)
        if (gbt_bitfield_get (have, k))
          gbt_peer_send_have (rec->peer, k);
      if (self->state == GBT_TORRENT_STATE_DOWNLOADING)
        update_interest (self, rec);
    }
  swarm_connect_more (self);
  gbt_swarm_kick (self);
}

void
gbt_swarm_finished (GbtSwarm *self)
{
  FOR_LIVE (self, i, rec)
    {
      /* endgame leftovers: tell the peers not to bother */
      for (guint k = 0; k < rec->requests->len; k++)
        gbt_peer_send_cancel (rec->peer, &g_array_index (rec->requests, GbtBlock, k));
      return_requests (self, rec);
      gbt_peer_set_interested (rec->peer, FALSE);
      /* two seeds have nothing to say to each other */
      if (gbt_peer_is_seed (rec->peer))
        gbt_peer_close (rec->peer, NULL);
    }
}

/* ---- questions ---- */

guint
gbt_swarm_get_n_peers (GbtSwarm *self)
{
  return self->n_live;
}

GPtrArray *
gbt_swarm_dup_peers (GbtSwarm *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_peer_unref);

  FOR_LIVE (self, i, rec)
    g_ptr_array_add (out, gbt_peer_ref (rec->peer));
  return out;
}

GStrv
gbt_swarm_dup_peer_sources (GbtSwarm *self)
{
  g_autoptr(GStrvBuilder) out = g_strv_builder_new ();

  FOR_LIVE (self, i, rec)
    g_strv_builder_add (out, rec->source ? rec->source : "unknown");
  return g_strv_builder_end (out);
}

GPtrArray *
gbt_swarm_dup_listen_addresses (GbtSwarm *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);

  /* an outgoing peer's address is where it listens */
  FOR_LIVE (self, i, rec)
    if (!rec->incoming && gbt_peer_get_address (rec->peer))
      g_ptr_array_add (out, g_object_ref (gbt_peer_get_address (rec->peer)));
  return out;
}

guint64
gbt_swarm_get_downloaded (GbtSwarm *self)
{
  return self->downloaded;
}

guint64
gbt_swarm_get_wasted (GbtSwarm *self)
{
  return self->wasted;
}

guint64
gbt_swarm_get_uploaded (GbtSwarm *self)
{
  return self->uploaded;
}

double
gbt_swarm_get_rate_down (GbtSwarm *self)
{
  return self->rate_down;
}

double
gbt_swarm_get_rate_up (GbtSwarm *self)
{
  return self->rate_up;
}

static SwarmPeer *
find_record (GbtSwarm *self, GbtPeer *peer)
{
  FOR_LIVE (self, i, rec)
    if (rec->peer == peer)
      return rec;
  return NULL;
}

GArray *
gbt_swarm_get_requests (GbtSwarm *self, GbtPeer *peer)
{
  SwarmPeer *rec = find_record (self, peer);
  return rec ? rec->requests : NULL;
}

gboolean
gbt_swarm_is_snubbed (GbtSwarm *self, GbtPeer *peer)
{
  SwarmPeer *rec = find_record (self, peer);
  return rec && rec->snubbed;
}
