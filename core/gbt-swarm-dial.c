/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The swarm's candidate addresses and dialling them (see gbt-swarm-private.h). */
#include "config.h"

#include "gbt-swarm-private.h"

static char *
address_key (GInetSocketAddress *address)
{
  g_autofree char *ip = gbt_swarm_address_ip (address);
  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (address));
}

void
gbt_swarm_candidate_free (gpointer data)
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
  const char *transport = NULL;
  g_autoptr(GIOStream) stream = dial->ops->connect_finish (source, result, &transport, &error);
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
      c->next_try_us = gbt_swarm_now (self) + MIN (15 * (1 << MIN (c->failures, 6)), 900) * G_USEC_PER_SEC;
      gbt_swarm_connect_more (self);
      return;
    }
  if (!gbt_swarm_is_active (self) || self->n_live >= self->config.max_peers)
    {
      c->state = CAND_IDLE;
      return;
    }
  c->state = CAND_CONNECTED;
  peer = gbt_peer_new (stream, c->address, FALSE);
  gbt_peer_set_encryption (peer, g_object_get_data (G_OBJECT (stream), "gbt-encryption"));
  if (transport)
    {
      gbt_peer_set_transport (peer, transport);
      c->transport = transport; /* try it first next time */
      if (transport != c->avoid)
        c->avoid = NULL;
    }
  rec = gbt_swarm_add_record (self, peer, c->key, c->source, FALSE);
  gbt_peer_unref (peer);
  gbt_swarm_peer_config (self, &config);
  gbt_peer_start (peer, &gbt_swarm_peer_events, rec, &config);
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
      ip = gbt_swarm_address_ip (a);
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
  gbt_swarm_connect_more (self);
}

void
gbt_swarm_connect_more (GbtSwarm *self)
{
  GHashTableIter iter;
  gpointer value;
  gint64 now = gbt_swarm_now (self);
  guint max_peers = self->config.max_peers;
  g_autoptr(GPtrArray) ready = NULL;

  /* a seed dials too: some leechers (Transmission on loopback) never dial
   * the peers a tracker gives them, and wait to be called */
  if (!gbt_swarm_is_active (self) || !self->config.can_dial || self->ops->connect_async == NULL)
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
  if (self->rand == NULL && ready->len > 1)
    self->rand = g_rand_new ();
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
      self->ops->connect_async (self->data, c->address, c->transport, c->avoid, c->cancellable,
                                connect_cb, dial);
    }
}


void
gbt_swarm_forget_ip (GbtSwarm *self, const char *ip)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->candidates);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Candidate *c = value;
      g_autofree char *cip = gbt_swarm_address_ip (c->address);

      if (!g_str_equal (cip, ip))
        continue;
      if (c->state == CAND_CONNECTING && c->cancellable)
        self->n_connecting--;
      g_hash_table_iter_remove (&iter); /* cancels its dial */
    }
}
