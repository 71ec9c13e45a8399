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
#include "gbt-swarm-private.h"
#include "gbt-context.h"


static void swarm_request (GbtSwarm *self, SwarmPeer *rec);


/* ---- helpers ---- */

gint64
gbt_swarm_now (GbtSwarm *self)
{
  return self->ops->now_us ? self->ops->now_us (self->data) : g_get_monotonic_time ();
}

char *
gbt_swarm_address_ip (GInetSocketAddress *address)
{
  return g_inet_address_to_string (g_inet_socket_address_get_address (address));
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

  const GbtBitfield *have = self->config.have, *want = self->config.want;

  if (has->n_set == 0 || self->picker == NULL || gbt_picker_is_done (self->picker))
    return FALSE;
  /* a byte at a time (latency part: this runs for every peer every few
   * seconds on the app's main loop; bit by bit, a nearly complete torrent
   * of 100k pieces and 50 peers took milliseconds).  Spare bits past the
   * last piece are zero in a peer's bitfield. */
  if (have && want && have->n_bits == has->n_bits && want->n_bits == has->n_bits)
    {
      gsize len = gbt_bitfield_byte_len (has->n_bits);

      for (gsize k = 0; k < len; k++)
        if (has->bits[k] & ~have->bits[k] & want->bits[k])
          return TRUE;
      return FALSE;
    }
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

/* gives the blocks we await from @rec back to the picker; the peer may
 * still send them (they may be on the wire) */
static void
return_requests (GbtSwarm *self, SwarmPeer *rec)
{
  for (guint i = 0; i < rec->requests->len; i++)
    {
      GbtBlock *b = &g_array_index (rec->requests, GbtBlock, i);
      if (self->picker)
        gbt_picker_unrequest (self->picker, b);
      rec->may_still_come += b->length;
    }
  g_array_set_size (rec->requests, 0);
  /* a piece on parole that it stopped sending starts over, whole, from
   * another: it cannot hold up the endgame */
  if (self->picker)
    gbt_picker_release (self->picker, rec);
}

static void
drop_peer (SwarmPeer *rec, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* closes a peer for misbehaving: the reason reaches the torrent's
 * peer-dropped signal */
static void
drop_peer (SwarmPeer *rec, const char *format, ...)
{
  va_list ap;
  g_autoptr(GError) error = NULL;

  va_start (ap, format);
  error = g_error_new_valist (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL, format, ap);
  va_end (ap);
  gbt_peer_close (rec->peer, error);
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
  /* no peer to ask: no idle source (the tick of every idle seed kicks) */
  if (self->kick_id == 0 && self->peers->len > 0)
    self->kick_id = gbt_idle_add (kick_cb, self);
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
  self->candidates = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, gbt_swarm_candidate_free);
  self->banned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->trust = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->suspects = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_array_unref);
  /* self->rand when first needed (2.5 KiB; an idle seed dials no one) */
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
  g_clear_handle_id (&self->reap_id, gbt_source_remove);
  g_clear_handle_id (&self->kick_id, gbt_source_remove);
  g_ptr_array_set_size (self->peers, 0);
  g_queue_clear_full (&self->piece_cache, gbt_swarm_cached_piece_free);
  /* no peer, no traffic: the rates say so at once, not after a decay the
   * stopped tick would never run */
  self->rate_down = self->rate_up = 0;
  self->rate_window_down = self->rate_window_up = 0;
}

void
gbt_swarm_set_max_peers (GbtSwarm *self, guint max_peers)
{
  self->config.max_peers = MAX (max_peers, 1);
}

guint
gbt_swarm_get_n_seeds (GbtSwarm *self)
{
  guint n = 0;

  FOR_LIVE (self, i, rec)
    {
      const GbtBitfield *has = gbt_peer_get_has (rec->peer);
      if (gbt_peer_get_state (rec->peer) == GBT_PEER_STATE_ACTIVE && has && has->n_bits > 0
          && has->n_set == has->n_bits)
        n++;
    }
  return n;
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
  g_hash_table_unref (self->suspects);
  g_clear_pointer (&self->rand, g_rand_free);
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

gboolean
gbt_swarm_is_active (GbtSwarm *self)
{
  return self->state == GBT_TORRENT_STATE_DOWNLOADING || self->state == GBT_TORRENT_STATE_SEEDING
         || self->state == GBT_TORRENT_STATE_FETCHING_METADATA;
}

/* ---- membership ---- */

SwarmPeer *
gbt_swarm_add_record (GbtSwarm *self, GbtPeer *peer, const char *key, const char *source, gboolean incoming)
{
  SwarmPeer *rec = g_new0 (SwarmPeer, 1);
  GInetSocketAddress *address = gbt_peer_get_address (peer);

  rec->swarm = self;
  rec->peer = gbt_peer_ref (peer);
  rec->ip = address ? gbt_swarm_address_ip (address) : NULL;
  rec->key = g_strdup (key);
  rec->source = g_strdup (source);
  rec->incoming = incoming;
  rec->requests = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  rec->queued = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  rec->queue_target = START_QUEUE;
  rec->connected_us = gbt_swarm_now (self);
  g_ptr_array_add (self->peers, rec);
  self->n_live++;
  return rec;
}

void
gbt_swarm_peer_config (GbtSwarm *self, GbtPeerConfig *out)
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

  GInetSocketAddress *address = gbt_peer_get_address (peer);
  g_autofree char *ip = address ? gbt_swarm_address_ip (address) : NULL;

  if (ip && g_hash_table_contains (self->banned, ip))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "banned");
      return FALSE;
    }
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
  gint64 now = gbt_swarm_now (self);
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
gbt_swarm_add_stream (GbtSwarm *self, GIOStream *stream, const char *source, const char *name,
                      GError **error)
{
  SwarmPeer *rec;
  GbtPeerConfig config;
  GbtPeer *peer;

  if (!gbt_swarm_is_active (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "the torrent is not running");
      return FALSE;
    }
  if (g_hash_table_contains (self->banned, name))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "banned");
      return FALSE;
    }
  if (self->n_live >= self->config.max_peers && !swarm_make_room (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "no room for more peers");
      return FALSE;
    }
  peer = gbt_peer_new (stream, NULL, FALSE);
  gbt_peer_set_name (peer, name);
  gbt_peer_set_transport (peer, source);
  rec = gbt_swarm_add_record (self, peer, NULL, source, FALSE);
  rec->ip = g_strdup (name); /* the key of its trust and ban */
  gbt_peer_unref (peer);
  gbt_swarm_peer_config (self, &config);
  gbt_peer_start (peer, &gbt_swarm_peer_events, rec, &config);
  g_bytes_unref (config.ext_handshake);
  return TRUE;
}

gboolean
gbt_swarm_accept (GbtSwarm *self, GbtPeer *peer, GError **error)
{
  SwarmPeer *rec;
  GbtPeerConfig config;

  if (!gbt_swarm_is_active (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "the torrent is not running");
      return FALSE;
    }
  /* refused for what it is before anyone makes room for it */
  if (!swarm_admit (self, peer, TRUE, error))
    return FALSE;
  if (self->n_live >= self->config.max_peers && !swarm_make_room (self))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
                           "torrent refused the connection: no room for more peers");
      return FALSE;
    }
  rec = gbt_swarm_add_record (self, peer, NULL, "incoming", TRUE);
  gbt_swarm_peer_config (self, &config);
  gbt_peer_set_owner (peer, &gbt_swarm_peer_events, rec, &config);
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
  SwarmPeer *rec = data;
  GbtSwarm *self = rec->swarm;

  g_debug ("[%s] handshake done", gbt_peer_get_name (peer));
  if (rec->closed || rec->ready)
    return;
  rec->ready = TRUE;
  /* last: the torrent's model tells the app, which may do anything */
  if (self->ops->peer_ready)
    self->ops->peer_ready (self->data, peer, rec->source ? rec->source : "unknown");
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
  if (reason && reason->domain == GBT_PEER_WIRE_ERROR && self->ops->dropped)
    self->ops->dropped (self->data, peer, reason);
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
          /* connected, then closed before the handshake: a client that
           * listens on TCP but takes only uTP (libtorrent with incoming TCP
           * off) does this.  The next dial tries the other transport first,
           * soon. */
          if (!rec->ready && !rec->incoming && c->avoid == NULL)
            {
              c->avoid = gbt_peer_get_transport (peer);
              c->transport = NULL;
              c->next_try_us = gbt_swarm_now (self) + 2 * G_USEC_PER_SEC;
              goto reaped;
            }
          /* a peer that gave us data is worth a quick retry; one that failed
           * at once waits longer each time */
          if (gbt_peer_get_downloaded (peer) > 0)
            c->failures = 0;
          else
            c->failures++;
          c->next_try_us = gbt_swarm_now (self)
                           + MIN (30 * (1 << MIN (c->failures, 5)), 600) * G_USEC_PER_SEC;
        }
    }
reaped:
  if (self->reap_id == 0)
    self->reap_id = gbt_idle_add (reap_cb, self);
  gbt_swarm_kick (self);
  /* last: the torrent's model tells the app, which may do anything */
  if (rec->ready && self->ops->peer_closed)
    self->ops->peer_closed (self->data, peer);
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
    gbt_swarm_rechoke (rec->swarm);
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
      rec->may_still_come += block->length;
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
      /* no use to us: wasted, never downloaded.  A block we cancelled or
       * gave up on may still come; past those and a little slack, the
       * peer is sending what nobody asked for */
      self->wasted += block->length;
      if (rec->may_still_come >= block->length)
        {
          rec->may_still_come -= block->length;
          return;
        }
      rec->may_still_come = 0;
      rec->unrequested += block->length;
      if (rec->unrequested > UNREQUESTED_SLACK)
        drop_peer (rec, "sent %" G_GUINT64_FORMAT " KiB of blocks we never asked for (last: "
                   "piece %u at %u, %u bytes)", rec->unrequested / 1024, block->piece,
                   block->begin, block->length);
      return;
    }
  g_array_remove_index (rec->requests, i);
  rec->last_block_us = gbt_swarm_now (self);
  rec->snubbed = FALSE;
  rec->snubs = 0;
  rec->rejects = 0;
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
  gbt_swarm_serve (self, rec);
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
  /* BEP 6: a choke rejects everything pending, which is fine; rejects
   * while it unchokes us, and no block, are a peer that claims pieces it
   * will not send */
  if (!gbt_peer_is_choking (peer) && ++rec->rejects > MAX_REJECTS)
    {
      drop_peer (rec, "rejected %u requests for pieces it claims, and sent none", rec->rejects);
      return;
    }
  gbt_swarm_kick (rec->swarm);
}

static void
on_drained (GbtPeer *peer, gpointer data)
{
  SwarmPeer *rec = data;

  if (rec->queued->len > 0)
    gbt_swarm_serve (rec->swarm, rec);
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

const GbtPeerEvents gbt_swarm_peer_events = {
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
  /* a piece on parole goes to a peer with no mark against it */
  got = gbt_picker_pick_full (self->picker, gbt_peer_get_has (rec->peer), want, requested_cb, rec,
                              !rec->snubbed && (rec->ip == NULL
                                                || gbt_swarm_get_trust (self, rec->ip) >= 0),
                              blocks);
  for (guint i = 0; i < got; i++)
    {
      GbtBlock *b = &g_array_index (blocks, GbtBlock, i);
      gbt_peer_send_request (rec->peer, b);
      g_array_append_val (rec->requests, *b);
    }
  if (got > 0 && rec->last_block_us == 0)
    rec->last_block_us = gbt_swarm_now (self);
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
  gint64 now = gbt_swarm_now (self);
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
          if (++rec->snubs >= MAX_SNUBS)
            {
              drop_peer (rec, "asked for blocks %u times and sent none for %u s each time",
                         rec->snubs, (guint) (REQUEST_TIMEOUT_US / G_USEC_PER_SEC));
              continue;
            }
          rec->last_block_us = now;
        }
    }
  self->rate_down = self->rate_down * 0.6 + self->rate_window_down * 0.4;
  self->rate_up = self->rate_up * 0.6 + self->rate_window_up * 0.4;
  self->rate_window_down = self->rate_window_up = 0;
  /* the decay never reaches 0 by itself: an idle swarm's rates do */
  if (self->rate_down < 0.5)
    self->rate_down = 0;
  if (self->rate_up < 0.5)
    self->rate_up = 0;

  if (self->ticks % RECHOKE_TICKS == 0)
    gbt_swarm_rechoke (self);
  if (self->ticks % INTEREST_TICKS == 0 && self->state == GBT_TORRENT_STATE_DOWNLOADING)
    gbt_swarm_update_interest (self);
  gbt_swarm_connect_more (self);
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
  gbt_swarm_connect_more (self);
  gbt_swarm_kick (self);
}

void
gbt_swarm_finished (GbtSwarm *self)
{
  FOR_LIVE (self, i, rec)
    {
      /* endgame leftovers: tell the peers not to bother (they may still
       * come: return_requests counts them as such) */
      for (guint k = 0; k < rec->requests->len; k++)
        gbt_peer_send_cancel (rec->peer, &g_array_index (rec->requests, GbtBlock, k));
      return_requests (self, rec);
      gbt_peer_set_interested (rec->peer, FALSE);
      /* two seeds have nothing to say to each other */
      if (gbt_peer_is_seed (rec->peer))
        gbt_peer_close (rec->peer, NULL);
    }
}

void
gbt_swarm_cancel_unwanted (GbtSwarm *self)
{
  if (self->picker == NULL)
    return;
  FOR_LIVE (self, i, rec)
    {
      guint k = 0;

      while (k < rec->requests->len)
        {
          GbtBlock b = g_array_index (rec->requests, GbtBlock, k);

          if (gbt_picker_get_priority (self->picker, b.piece) > 0)
            {
              k++;
              continue;
            }
          g_array_remove_index (rec->requests, k);
          gbt_picker_unrequest (self->picker, &b);
          /* it may be on the wire already: not held against the peer */
          rec->may_still_come += b.length;
          gbt_peer_send_cancel (rec->peer, &b);
        }
    }
}

void
gbt_swarm_wants_more (GbtSwarm *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      if (c->state == CAND_IDLE)
        c->next_try_us = 0;
    }
  gbt_swarm_update_interest (self);
  gbt_swarm_connect_more (self);
}

/* ---- questions ---- */

guint
gbt_swarm_get_n_peers (GbtSwarm *self)
{
  return self->n_live;
}

gboolean
gbt_swarm_is_idle (GbtSwarm *self)
{
  return self->peers->len == 0 && g_hash_table_size (self->candidates) == 0
         && self->kick_id == 0 && self->rate_down == 0 && self->rate_up == 0
         && self->rate_window_down == 0 && self->rate_window_up == 0;
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

GArray *
gbt_swarm_dup_peer_states (GbtSwarm *self)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (GbtSwarmPeerState));
  gpointer optimistic = gbt_choker_get_optimistic (self->choker);

  FOR_LIVE (self, i, rec)
    {
      GbtSwarmPeerState st = { rec->peer, rec->snubbed, rec == optimistic };

      if (rec->ready)
        g_array_append_val (out, st);
    }
  return out;
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

