/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The choker (see gbt-choker.h for the rules and why).  It remembers, per
 * peer handle, when the peer got its current regular slot and since when it
 * has been waiting for one (seeding round-robin order), and which peer is
 * the optimistic unchoke since when.
 */
#include "gbt-choker.h"

/* Timers fire a little late or early; a run that comes half a second before
 * a turn's end still ends it, so a 10 s tick rotates every 10 s, not 20. */
#define SLACK_US (G_USEC_PER_SEC / 2)
/* mainline puts a new connection at the head of its rotation 3 times as often */
#define NEW_PEER_WEIGHT 3

typedef struct {
  gint64 slot_since_us;    /* when it got its regular slot; -1: none */
  gint64 waiting_since_us; /* when it last lost its slot, or was first seen */
  guint64 turns;           /* regular slots granted so far */
  gboolean interested;     /* as of the last run */
  guint64 seen_run;
} PeerState;

struct _GbtChoker {
  guint slots;
  GRand *rand;
  GHashTable *states; /* handle -> PeerState* */
  guint64 run;
  gpointer optimistic;
  gint64 optimistic_since_us;
};

typedef struct {
  GbtChokerPeer *peer;
  PeerState *state;
  gboolean regular;
  gint64 queue_key; /* seeding: smaller waited longer */
} Entry;

GbtChoker *
gbt_choker_new (guint slots)
{
  GbtChoker *c = g_new0 (GbtChoker, 1);

  c->slots = slots ? slots : GBT_CHOKER_DEFAULT_SLOTS;
  /* c->rand when first needed: a GRand is 2.5 KiB, and an idle seed's
   * choker never draws */
  c->states = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
  return c;
}

void
gbt_choker_free (GbtChoker *c)
{
  if (c == NULL)
    return;
  g_clear_pointer (&c->rand, g_rand_free);
  g_hash_table_unref (c->states);
  g_free (c);
}

void
gbt_choker_set_seed (GbtChoker *c, guint32 seed)
{
  if (c->rand == NULL)
    c->rand = g_rand_new_with_seed (seed);
  else
    g_rand_set_seed (c->rand, seed);
}

gpointer
gbt_choker_get_optimistic (GbtChoker *c)
{
  g_return_val_if_fail (c != NULL, NULL);
  return c->optimistic;
}

void
gbt_choker_forget (GbtChoker *c, gpointer handle)
{
  g_return_if_fail (c != NULL);
  g_hash_table_remove (c->states, handle);
  if (c->optimistic == handle)
    c->optimistic = NULL;
}

static gboolean
state_stale_cb (gpointer key, gpointer value, gpointer user_data)
{
  GbtChoker *c = user_data;
  PeerState *s = value;

  if (s->seen_run == c->run)
    return FALSE;
  if (c->optimistic == key)
    c->optimistic = NULL;
  return TRUE;
}

static int
cmp_double_desc (double a, double b)
{
  return (a < b) - (a > b);
}

static int
cmp_int64_asc (gint64 a, gint64 b)
{
  return (a > b) - (a < b);
}

/* leeching: best uploaders to us first; ties go to the older connection */
static int
cmp_leech (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;
  int r = cmp_double_desc (x->peer->rate_down, y->peer->rate_down);

  if (r == 0)
    r = cmp_double_desc (x->peer->rate_up, y->peer->rate_up);
  return r ? r : cmp_int64_asc (x->peer->connected_us, y->peer->connected_us);
}

/* seeding: whoever waited longest first; among those who lost their slots
 * together, who had fewer turns (else the fastest would win every tie and
 * get more turns); then those we serve fastest */
static int
cmp_seed (gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;
  int r = cmp_int64_asc (x->queue_key, y->queue_key);

  if (r == 0)
    r = (x->state->turns > y->state->turns) - (x->state->turns < y->state->turns);
  if (r == 0)
    r = cmp_double_desc (x->peer->rate_up, y->peer->rate_up);
  return r ? r : cmp_int64_asc (x->peer->connected_us, y->peer->connected_us);
}

static void
pick_regular (GbtChoker *c, Entry *entries, guint n, gboolean seeding, gint64 now_us)
{
  g_autoptr(GPtrArray) queue = g_ptr_array_sized_new (n);
  guint filled = 0;

  for (guint i = 0; i < n; i++)
    {
      Entry *e = &entries[i];
      if (!e->peer->interested)
        continue;
      if (!seeding)
        {
          /* anti-snubbing: a peer that gives us nothing earns no slot */
          if (!e->peer->snubbed)
            g_ptr_array_add (queue, e);
          continue;
        }
      /* seeding: a turn in progress is kept; one that is over goes to the
       * back of the queue (it keeps its slot only if nobody else waits) */
      if (e->state->slot_since_us >= 0
          && now_us - e->state->slot_since_us < GBT_CHOKER_SEED_TURN_US - SLACK_US
          && filled < c->slots)
        {
          e->regular = TRUE;
          filled++;
          continue;
        }
      e->queue_key = e->state->slot_since_us >= 0 ? now_us : e->state->waiting_since_us;
      g_ptr_array_add (queue, e);
    }
  g_ptr_array_sort (queue, seeding ? cmp_seed : cmp_leech);
  for (guint i = 0; i < queue->len && filled < c->slots; i++, filled++)
    {
      Entry *e = g_ptr_array_index (queue, i);
      e->regular = TRUE;
      /* a seeding turn that was over and is granted again starts afresh */
      if (seeding && e->state->slot_since_us >= 0)
        {
          e->state->slot_since_us = now_us;
          e->state->turns++;
        }
    }
}

static gpointer
pick_optimistic (GbtChoker *c, Entry *entries, guint n, gint64 now_us)
{
  g_autoptr(GArray) weights = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  guint total = 0, total_others = 0;
  gboolean old_only;
  guint r;

  /* choked interested peers, snubbed ones included: the optimistic slot is
   * how a snubbing peer gets another chance */
  for (guint i = 0; i < n; i++)
    {
      GbtChokerPeer *p = entries[i].peer;
      guint w = 0;
      if (p->interested && !entries[i].regular)
        w = now_us - p->connected_us < GBT_CHOKER_NEW_PEER_US ? NEW_PEER_WEIGHT : 1;
      g_array_append_val (weights, w);
      total += w;
      if (p->handle != c->optimistic)
        total_others += w;
    }
  if (total == 0)
    return NULL;
  /* rotate to someone else when anyone else qualifies */
  old_only = total_others == 0;
  if (c->rand == NULL)
    c->rand = g_rand_new ();
  r = g_rand_int_range (c->rand, 0, (gint32) (old_only ? total : total_others));
  for (guint i = 0; i < n; i++)
    {
      guint w = g_array_index (weights, guint, i);
      if (!old_only && entries[i].peer->handle == c->optimistic)
        continue;
      if (r < w)
        return entries[i].peer->handle;
      r -= w;
    }
  g_assert_not_reached ();
}

void
gbt_choker_run (GbtChoker *c, GbtChokerPeer *peers, guint n, gboolean seeding, gint64 now_us)
{
  g_autofree Entry *entries = g_new0 (Entry, n);
  Entry *opt = NULL;
  gboolean rotate;

  g_return_if_fail (c != NULL);
  g_return_if_fail (n == 0 || peers != NULL);

  c->run++;
  for (guint i = 0; i < n; i++)
    {
      PeerState *s = g_hash_table_lookup (c->states, peers[i].handle);
      if (s == NULL)
        {
          s = g_new0 (PeerState, 1);
          s->slot_since_us = -1;
          s->waiting_since_us = now_us;
          g_hash_table_insert (c->states, peers[i].handle, s);
        }
      s->seen_run = c->run;
      /* time spent uninterested is no waiting: the queue starts now */
      if (peers[i].interested && !s->interested)
        s->waiting_since_us = now_us;
      s->interested = peers[i].interested;
      entries[i].peer = &peers[i];
      entries[i].state = s;
      peers[i].unchoke = FALSE;
    }
  /* peers absent from the table left: drop them (and an optimistic one) */
  g_hash_table_foreach_remove (c->states, state_stale_cb, c);

  pick_regular (c, entries, n, seeding, now_us);

  for (guint i = 0; i < n; i++)
    if (entries[i].peer->handle == c->optimistic)
      opt = &entries[i];
  /* a new optimistic unchoke when its period is over, or at once when the
   * current one left, lost interest or now holds a regular slot */
  rotate = opt == NULL || !opt->peer->interested || opt->regular
           || now_us - c->optimistic_since_us >= GBT_CHOKER_OPTIMISTIC_US - SLACK_US;
  if (rotate)
    {
      c->optimistic = pick_optimistic (c, entries, n, now_us);
      c->optimistic_since_us = now_us;
    }

  for (guint i = 0; i < n; i++)
    {
      Entry *e = &entries[i];
      gboolean optimistic = c->optimistic != NULL && e->peer->handle == c->optimistic;

      e->peer->unchoke = e->regular || optimistic;
      if (e->regular && e->state->slot_since_us < 0)
        {
          e->state->slot_since_us = now_us;
          e->state->turns++;
        }
      else if (!e->regular && e->state->slot_since_us >= 0)
        {
          /* lost its regular slot: to the back of the round-robin queue */
          e->state->slot_since_us = -1;
          e->state->waiting_since_us = now_us;
        }
    }
}
