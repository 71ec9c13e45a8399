/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Trust, bans and smart ban: finding the peer that sent bad data.
 *
 * A piece that fails its hash names its senders, block by block, but not
 * which of them lied.  Sharing a failed piece is never by itself a reason
 * to ban (a flood of one liar's blocks would otherwise get the honest
 * seeder it shares pieces with banned).  Instead, as libtorrent's
 * smart_ban does, we keep the SHA-1 of each block of a failed piece and who
 * sent it; when the piece later passes, a sender whose block differs from
 * the good one sent bad data, for certain, and is banned.  Meanwhile the
 * piece is on parole: its next attempt comes whole from one peer we trust,
 * so the next verdict names one sender.  A piece that fails with a sole
 * sender costs that sender trust (two such failures ban it; one, on
 * parole, where it was the only source for certain).
 */
#include "config.h"

#include <string.h>

#include "gbt-swarm-private.h"

/* variants of a block kept at most: a liar sending a new garbage block each
 * time cannot grow the table without bound */
#define MAX_VARIANTS_PER_BLOCK 4
#define MAX_SUSPECT_PIECES 1024

typedef struct {
  guint block;
  guint8 hash[20];
  char *ip;
} Variant;

static void
variant_clear (gpointer p)
{
  g_free (((Variant *) p)->ip);
}

GArray *
gbt_swarm_suspect_new (void)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (Variant));
  g_array_set_clear_func (a, variant_clear);
  return a;
}

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
ban_ip (GbtSwarm *self, const char *ip, const char *why)
{
  if (g_hash_table_contains (self->banned, ip))
    return;
  g_debug ("banning %s: %s", ip, why);
  g_hash_table_add (self->banned, g_strdup (ip));
  gbt_swarm_forget_ip (self, ip); /* never dialled again */
  FOR_LIVE (self, i, rec)
    if (rec->ip && g_str_equal (rec->ip, ip))
      {
        g_autoptr(GError) e = g_error_new (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                                           "banned: %s", why);
        gbt_peer_close (rec->peer, e);
      }
  if (self->ops->banned)
    self->ops->banned (self->data, ip);
}

gboolean
gbt_swarm_wants_block_hashes (GbtSwarm *self, guint piece)
{
  return g_hash_table_contains (self->suspects, GUINT_TO_POINTER (piece));
}

/* the distinct IPs among @senders (char*, NULL for unknown) */
static GPtrArray *
distinct_senders (GPtrArray *senders)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; senders && i < senders->len; i++)
    {
      const char *ip = g_ptr_array_index (senders, i);
      if (ip && !g_ptr_array_find_with_equal_func (out, ip, g_str_equal, NULL))
        g_ptr_array_add (out, (gpointer) ip);
    }
  return out;
}

/* remembers what each block of a failed piece was, and from whom */
static void
record_variants (GbtSwarm *self, guint piece, GPtrArray *senders, GBytes *block_hashes)
{
  gsize len;
  const guint8 *hashes = block_hashes ? g_bytes_get_data (block_hashes, &len) : NULL;
  GArray *variants = g_hash_table_lookup (self->suspects, GUINT_TO_POINTER (piece));

  if (hashes == NULL || senders == NULL)
    return;
  if (variants == NULL)
    {
      if (g_hash_table_size (self->suspects) >= MAX_SUSPECT_PIECES)
        return;
      variants = gbt_swarm_suspect_new ();
      g_hash_table_insert (self->suspects, GUINT_TO_POINTER (piece), variants);
    }
  for (guint b = 0; b < senders->len && (gsize) (b + 1) * 20 <= len; b++)
    {
      const char *ip = g_ptr_array_index (senders, b);
      guint same_block = 0;
      gboolean known = FALSE;

      if (ip == NULL)
        continue;
      for (guint k = 0; k < variants->len && !known; k++)
        {
          Variant *v = &g_array_index (variants, Variant, k);
          if (v->block != b)
            continue;
          same_block++;
          known = memcmp (v->hash, hashes + b * 20, 20) == 0 && g_str_equal (v->ip, ip);
        }
      if (!known && same_block < MAX_VARIANTS_PER_BLOCK)
        {
          Variant v = { b, { 0 }, g_strdup (ip) };
          memcpy (v.hash, hashes + b * 20, 20);
          g_array_append_val (variants, v);
        }
    }
}

void
gbt_swarm_piece_passed (GbtSwarm *self, guint piece, GPtrArray *senders, GBytes *block_hashes)
{
  g_autoptr(GPtrArray) who = distinct_senders (senders);
  GArray *variants = g_hash_table_lookup (self->suspects, GUINT_TO_POINTER (piece));

  for (guint i = 0; i < who->len; i++)
    {
      const char *ip = g_ptr_array_index (who, i);
      trust_set (self, ip, MIN (gbt_swarm_get_trust (self, ip) + 1, MAX_TRUST));
    }
  if (variants && block_hashes)
    {
      gsize len;
      const guint8 *good = g_bytes_get_data (block_hashes, &len);
      g_autoptr(GPtrArray) liars = g_ptr_array_new_with_free_func (g_free);

      /* the piece is right now: whoever sent a block unlike this one lied */
      for (guint k = 0; k < variants->len; k++)
        {
          Variant *v = &g_array_index (variants, Variant, k);
          if ((gsize) (v->block + 1) * 20 <= len && memcmp (v->hash, good + v->block * 20, 20) != 0
              && !g_ptr_array_find_with_equal_func (liars, v->ip, g_str_equal, NULL))
            g_ptr_array_add (liars, g_strdup (v->ip));
        }
      for (guint i = 0; i < liars->len; i++)
        {
          g_autofree char *why = g_strdup_printf ("sent a block of piece %u that differs from "
                                                  "the one that passed its hash", piece);
          ban_ip (self, g_ptr_array_index (liars, i), why);
        }
    }
  g_hash_table_remove (self->suspects, GUINT_TO_POINTER (piece));
  FOR_LIVE (self, i, rec)
    if (gbt_peer_get_state (rec->peer) == GBT_PEER_STATE_ACTIVE)
      gbt_peer_send_have (rec->peer, piece);
}

void
gbt_swarm_piece_failed (GbtSwarm *self, guint piece, GPtrArray *senders, GBytes *block_hashes)
{
  g_autoptr(GPtrArray) who = distinct_senders (senders);
  gboolean on_parole = self->picker && gbt_picker_on_parole (self->picker, piece);

  record_variants (self, piece, senders, block_hashes);
  if (who->len == 1)
    {
      /* one sender: it sent a bad block for certain (unless the torrent
       * itself is wrong); on parole it was chosen as the one source after
       * an earlier failure, so it goes now */
      const char *ip = g_ptr_array_index (who, 0);
      int t = gbt_swarm_get_trust (self, ip) - (on_parole ? 8 : 4);

      trust_set (self, ip, t);
      if (t <= BAN_TRUST)
        {
          g_autofree char *why = g_strdup_printf ("sent all of piece %u, which failed its hash",
                                                  piece);
          ban_ip (self, ip, why);
        }
    }
  /* several senders: no one is charged; the next attempt comes from one */
  if (self->picker)
    gbt_picker_set_parole (self->picker, piece);
  gbt_swarm_kick (self);
}
