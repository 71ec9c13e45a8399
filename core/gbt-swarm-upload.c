/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The swarm's uploads and choking (see gbt-swarm-private.h). */
#include "config.h"

#include "gbt-swarm-private.h"

void
gbt_swarm_cached_piece_free (gpointer p)
{
  CachedPiece *cp = p;
  g_clear_pointer (&cp->data, g_bytes_unref);
  g_free (cp);
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
          gbt_swarm_cached_piece_free (cp);
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
      gbt_swarm_cached_piece_free (cp);
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
      gbt_swarm_serve (self, rec);
}

/* sends what the peer asked for, in order, while its backlog allows */
void
gbt_swarm_serve (GbtSwarm *self, SwarmPeer *rec)
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

void
gbt_swarm_rechoke (GbtSwarm *self)
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
                  gbt_swarm_now (self));
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

