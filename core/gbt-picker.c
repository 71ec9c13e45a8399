/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Piece picker.
 *
 * Order of a pick for one peer:
 *  1. blocks nobody has requested yet of pieces already in flight
 *     ("partial"), oldest first: the torrent holds each partial piece in
 *     memory until it is hashed, so finishing them first keeps few in flight;
 *  2. new pieces, highest priority first, then rarest first among the
 *     pieces the peer has, ties broken at random so that peers do not all
 *     fetch the same piece;
 *  3. in endgame (every missing block of every wanted piece requested at
 *     least once) blocks already requested from other peers, fewest
 *     requests first, never one this peer already has outstanding.
 *
 * Step 2 must stay cheap for torrents of ~100k pieces, called for every
 * few blocks received.  Candidate pieces (wanted, missing, not in flight)
 * live in buckets keyed by (priority, availability), each an unordered
 * array with every piece knowing its slot, so an availability change
 * moves a piece in O(1) and a pick scans only the buckets before the first
 * piece the peer has, starting each at a random slot.
 *
 * Memory per piece is 12 bytes; only in-flight pieces carry per-block state
 * (one byte per block: request count, or RECEIVED).
 */
#include "config.h"

#include <string.h>

#include "gbt-picker.h"

#define N_LEVELS (GBT_PICKER_MAX_PRIORITY + 1)

/* per-block state byte of a partial piece */
#define BLOCK_RECEIVED 0xff
#define BLOCK_MAX_REQUESTS 0xfe

enum {
  PIECE_HAVE = 1 << 0,
  PIECE_PARTIAL = 1 << 1,
  PIECE_CANDIDATE = 1 << 2,
  /* failed its hash: the next attempt comes whole from one peer (smart ban) */
  PIECE_PAROLE = 1 << 3,
};

typedef struct {
  guint32 availability;
  guint32 pos; /* slot in its bucket while PIECE_CANDIDATE */
  guint8 priority;
  guint8 flags;
} PieceState;

typedef struct {
  guint32 *items;
  guint len;
  guint alloc;
} Bucket;

typedef struct {
  Bucket *buckets; /* indexed by availability */
  guint n_buckets;
  guint n_candidates;
} Level;

typedef struct {
  guint32 piece;
  guint n_blocks;
  guint n_received;
  guint n_unrequested; /* neither received nor requested */
  guint hint;          /* no unrequested block below this one */
  gpointer owner;      /* a piece on parole: the one peer it may come from */
  guint8 blocks[];     /* request count, or BLOCK_RECEIVED */
} Partial;

typedef struct {
  guint32 piece;
  guint32 block;
  guint count;
  guint seq;
} EndgameCandidate;

struct _GbtPicker {
  guint n_pieces;
  guint32 piece_length;
  guint64 total_size;
  guint32 last_piece_size;

  PieceState *pieces;
  Level levels[N_LEVELS];
  guint n_candidates;
  guint n_have;
  guint n_wanted_missing; /* priority > 0 and not had */

  GPtrArray *partials;          /* Partial *, oldest first */
  GHashTable *partial_by_piece; /* piece -> Partial * */

  GArray *scratch_pieces;  /* guint32, reused by pick_new () */
  GArray *scratch_endgame; /* EndgameCandidate, reused by pick_endgame () */
  GRand *rand;
  /* the pick in progress: who asks, and whether it may take pieces on parole */
  gpointer cur_owner;
  gboolean cur_may_parole;
  /* sequential: new pieces in index order from seq_cursor (no candidate
   * below it), for playing a file while it downloads */
  gboolean sequential;
  guint seq_cursor;
};

static inline guint32
piece_size (GbtPicker *picker, guint piece)
{
  return piece + 1 == picker->n_pieces ? picker->last_piece_size : picker->piece_length;
}

static inline guint
piece_n_blocks (GbtPicker *picker, guint piece)
{
  return (piece_size (picker, piece) + GBT_BLOCK_SIZE - 1) / GBT_BLOCK_SIZE;
}

static inline guint32
block_length (GbtPicker *picker, guint piece, guint block)
{
  guint32 begin = block * GBT_BLOCK_SIZE;

  return MIN ((guint32) GBT_BLOCK_SIZE, piece_size (picker, piece) - begin);
}

/* Reads the bitfield directly: this runs in the inner scan loop. */
static inline gboolean
peer_has_piece (const GbtBitfield *has, guint piece)
{
  return piece < has->n_bits && (has->bits[piece >> 3] & (0x80 >> (piece & 7))) != 0;
}

/* candidate buckets */

static void
candidate_add (GbtPicker *picker, guint piece)
{
  PieceState *ps = &picker->pieces[piece];
  Level *level = &picker->levels[ps->priority];
  Bucket *bucket;

  if (piece < picker->seq_cursor)
    picker->seq_cursor = piece;

  if (ps->availability >= level->n_buckets)
    {
      guint n = MAX (ps->availability + 1, level->n_buckets * 2);

      level->buckets = g_renew (Bucket, level->buckets, n);
      memset (level->buckets + level->n_buckets, 0, (n - level->n_buckets) * sizeof (Bucket));
      level->n_buckets = n;
    }
  bucket = &level->buckets[ps->availability];
  if (bucket->len == bucket->alloc)
    {
      bucket->alloc = MAX (16, bucket->alloc * 2);
      bucket->items = g_renew (guint32, bucket->items, bucket->alloc);
    }
  ps->pos = bucket->len;
  bucket->items[bucket->len++] = piece;
  ps->flags |= PIECE_CANDIDATE;
  level->n_candidates++;
  picker->n_candidates++;
}

static void
candidate_remove (GbtPicker *picker, guint piece)
{
  PieceState *ps = &picker->pieces[piece];
  Level *level = &picker->levels[ps->priority];
  Bucket *bucket = &level->buckets[ps->availability];
  guint32 last = bucket->items[--bucket->len];

  bucket->items[ps->pos] = last;
  picker->pieces[last].pos = ps->pos;
  ps->flags &= ~PIECE_CANDIDATE;
  level->n_candidates--;
  picker->n_candidates--;
}

/* Call before changing a piece's priority, availability or flags ... */
static inline gboolean
candidate_leave (GbtPicker *picker, guint piece)
{
  if (!(picker->pieces[piece].flags & PIECE_CANDIDATE))
    return FALSE;
  candidate_remove (picker, piece);
  return TRUE;
}

/* ... and this after: it joins the right bucket if it is still wanted. */
static inline void
candidate_enter (GbtPicker *picker, guint piece)
{
  PieceState *ps = &picker->pieces[piece];

  if (ps->priority > 0 && !(ps->flags & (PIECE_HAVE | PIECE_PARTIAL | PIECE_CANDIDATE)))
    candidate_add (picker, piece);
}

/* partial pieces */

static Partial *
partial_new (GbtPicker *picker, guint piece)
{
  guint n_blocks = piece_n_blocks (picker, piece);
  Partial *pp = g_malloc0 (sizeof (Partial) + n_blocks);

  pp->piece = piece;
  pp->n_blocks = n_blocks;
  pp->n_unrequested = n_blocks;
  picker->pieces[piece].flags |= PIECE_PARTIAL;
  g_ptr_array_add (picker->partials, pp);
  g_hash_table_insert (picker->partial_by_piece, GUINT_TO_POINTER (piece), pp);
  return pp;
}

static inline Partial *
partial_lookup (GbtPicker *picker, guint piece)
{
  if (!(picker->pieces[piece].flags & PIECE_PARTIAL))
    return NULL;
  return g_hash_table_lookup (picker->partial_by_piece, GUINT_TO_POINTER (piece));
}

static void
partial_drop (GbtPicker *picker, guint piece)
{
  Partial *pp = partial_lookup (picker, piece);

  if (pp == NULL)
    return;
  g_hash_table_remove (picker->partial_by_piece, GUINT_TO_POINTER (piece));
  picker->pieces[piece].flags &= ~PIECE_PARTIAL;
  /* keeps the oldest-first order (partial pieces are few); frees @pp */
  g_ptr_array_remove (picker->partials, pp);
}

GbtPicker *
gbt_picker_new (guint n_pieces, guint32 piece_length, guint64 total_size)
{
  GbtPicker *picker;

  g_return_val_if_fail (n_pieces == 0 || piece_length > 0, NULL);
  g_return_val_if_fail (n_pieces == 0 || (total_size > (guint64) (n_pieces - 1) * piece_length &&
                                          total_size <= (guint64) n_pieces * piece_length),
                        NULL);

  picker = g_new0 (GbtPicker, 1);
  picker->n_pieces = n_pieces;
  picker->piece_length = piece_length;
  picker->total_size = total_size;
  if (n_pieces > 0)
    picker->last_piece_size = (guint32) (total_size - (guint64) (n_pieces - 1) * piece_length);
  picker->pieces = g_new0 (PieceState, MAX (n_pieces, 1));
  picker->partials = g_ptr_array_new_with_free_func (g_free);
  picker->partial_by_piece = g_hash_table_new (g_direct_hash, g_direct_equal);
  picker->scratch_pieces = g_array_new (FALSE, FALSE, sizeof (guint32));
  picker->scratch_endgame = g_array_new (FALSE, FALSE, sizeof (EndgameCandidate));
  /* picker->rand when first needed (2.5 KiB; a seed never picks) */

  for (guint i = 0; i < n_pieces; i++)
    {
      picker->pieces[i].priority = 1;
      candidate_add (picker, i);
    }
  picker->n_wanted_missing = n_pieces;
  return picker;
}

void
gbt_picker_free (GbtPicker *picker)
{
  if (picker == NULL)
    return;
  for (guint l = 0; l < N_LEVELS; l++)
    {
      for (guint a = 0; a < picker->levels[l].n_buckets; a++)
        g_free (picker->levels[l].buckets[a].items);
      g_free (picker->levels[l].buckets);
    }
  /* partial_drop () is not used: the array frees its elements */
  g_hash_table_destroy (picker->partial_by_piece);
  g_ptr_array_free (picker->partials, TRUE);
  g_array_free (picker->scratch_pieces, TRUE);
  g_array_free (picker->scratch_endgame, TRUE);
  g_clear_pointer (&picker->rand, g_rand_free);
  g_free (picker->pieces);
  g_free (picker);
}

void
gbt_picker_set_priority (GbtPicker *picker, guint piece, guint priority)
{
  PieceState *ps;

  g_return_if_fail (picker != NULL);
  g_return_if_fail (piece < picker->n_pieces);

  priority = MIN (priority, GBT_PICKER_MAX_PRIORITY);
  ps = &picker->pieces[piece];
  if (ps->priority == priority)
    return;
  candidate_leave (picker, piece);
  if (!(ps->flags & PIECE_HAVE))
    {
      if (ps->priority == 0)
        picker->n_wanted_missing++;
      else if (priority == 0)
        picker->n_wanted_missing--;
    }
  ps->priority = priority;
  candidate_enter (picker, piece);
}

guint
gbt_picker_get_priority (GbtPicker *picker, guint piece)
{
  g_return_val_if_fail (picker != NULL, 0);
  g_return_val_if_fail (piece < picker->n_pieces, 0);

  return picker->pieces[piece].priority;
}

void
gbt_picker_set_have (GbtPicker *picker, guint piece)
{
  PieceState *ps;

  g_return_if_fail (picker != NULL);
  g_return_if_fail (piece < picker->n_pieces);

  ps = &picker->pieces[piece];
  if (ps->flags & PIECE_HAVE)
    return;
  candidate_leave (picker, piece);
  partial_drop (picker, piece);
  ps->flags |= PIECE_HAVE;
  ps->flags &= ~PIECE_PAROLE;
  picker->n_have++;
  if (ps->priority > 0)
    picker->n_wanted_missing--;
}

gboolean
gbt_picker_have (GbtPicker *picker, guint piece)
{
  g_return_val_if_fail (picker != NULL, FALSE);
  g_return_val_if_fail (piece < picker->n_pieces, FALSE);

  return (picker->pieces[piece].flags & PIECE_HAVE) != 0;
}

guint
gbt_picker_n_have (GbtPicker *picker)
{
  g_return_val_if_fail (picker != NULL, 0);

  return picker->n_have;
}

gboolean
gbt_picker_is_done (GbtPicker *picker)
{
  g_return_val_if_fail (picker != NULL, FALSE);

  return picker->n_wanted_missing == 0;
}

/* availability */

static inline void
change_availability (GbtPicker *picker, guint piece, int delta)
{
  PieceState *ps = &picker->pieces[piece];
  gboolean was_candidate;

  if (delta < 0 && ps->availability == 0)
    return; /* an unbalanced remove: never go below zero */
  was_candidate = candidate_leave (picker, piece);
  ps->availability += delta;
  if (was_candidate)
    candidate_add (picker, piece);
}

static void
bitfield_change_availability (GbtPicker *picker, const GbtBitfield *has, int delta)
{
  guint n = MIN (has->n_bits, picker->n_pieces);

  for (guint byte = 0; byte < (n + 7) / 8; byte++)
    {
      guint8 bits = has->bits[byte];

      /* most bytes of a seed's or a new peer's bitfield are all one value */
      if (bits == 0)
        continue;
      for (guint i = byte * 8; i < MIN (byte * 8 + 8, n); i++)
        if (bits & (0x80 >> (i & 7)))
          change_availability (picker, i, delta);
    }
}

void
gbt_picker_add_peer_bitfield (GbtPicker *picker, const GbtBitfield *has)
{
  g_return_if_fail (picker != NULL);
  g_return_if_fail (has != NULL);

  bitfield_change_availability (picker, has, +1);
}

void
gbt_picker_remove_peer_bitfield (GbtPicker *picker, const GbtBitfield *has)
{
  g_return_if_fail (picker != NULL);
  g_return_if_fail (has != NULL);

  bitfield_change_availability (picker, has, -1);
}

void
gbt_picker_add_peer_have (GbtPicker *picker, guint piece)
{
  g_return_if_fail (picker != NULL);
  g_return_if_fail (piece < picker->n_pieces);

  change_availability (picker, piece, +1);
}

guint
gbt_picker_get_availability (GbtPicker *picker, guint piece)
{
  g_return_val_if_fail (picker != NULL, 0);
  g_return_val_if_fail (piece < picker->n_pieces, 0);

  return picker->pieces[piece].availability;
}

/* picking */

static inline void
append_block (GbtPicker *picker, GArray *out, guint piece, guint block)
{
  GbtBlock b = { piece, block * GBT_BLOCK_SIZE, block_length (picker, piece, block) };

  g_array_append_val (out, b);
}

/* Hands out never-requested blocks of @pp, lowest offset first. */
static guint
take_unrequested (GbtPicker *picker, Partial *pp, guint max, GArray *out)
{
  guint n = 0;
  guint b;

  for (b = pp->hint; b < pp->n_blocks && n < max && pp->n_unrequested > 0; b++)
    {
      if (pp->blocks[b] != 0)
        continue;
      pp->blocks[b] = 1;
      pp->n_unrequested--;
      append_block (picker, out, pp->piece, b);
      n++;
    }
  pp->hint = b;
  return n;
}

static guint
pick_partial (GbtPicker *picker, const GbtBitfield *peer_has, guint max, GArray *out)
{
  guint n = 0;

  for (guint i = 0; i < picker->partials->len && n < max; i++)
    {
      Partial *pp = g_ptr_array_index (picker->partials, i);

      if (pp->n_unrequested == 0 || picker->pieces[pp->piece].priority == 0 ||
          !peer_has_piece (peer_has, pp->piece) || (pp->owner && pp->owner != picker->cur_owner))
        continue;
      n += take_unrequested (picker, pp, max - n, out);
    }
  return n;
}

/* Scans one bucket from a random slot for pieces the peer has, enough to
 * fill @max blocks, then starts them. */
static guint
pick_from_bucket (GbtPicker *picker, Bucket *bucket, const GbtBitfield *peer_has, guint max,
                  GArray *out)
{
  GArray *chosen = picker->scratch_pieces;
  guint need = max;
  guint slot, n = 0;

  if (bucket->len == 0)
    return 0;
  g_array_set_size (chosen, 0);
  if (picker->rand == NULL)
    picker->rand = g_rand_new ();
  slot = g_rand_int_range (picker->rand, 0, (gint32) bucket->len);
  for (guint j = 0; j < bucket->len && need > 0; j++)
    {
      guint32 piece = bucket->items[slot];

      if (++slot == bucket->len)
        slot = 0;
      if (!peer_has_piece (peer_has, piece)
          || ((picker->pieces[piece].flags & PIECE_PAROLE) && !picker->cur_may_parole))
        continue;
      g_array_append_val (chosen, piece);
      need -= MIN (need, piece_n_blocks (picker, piece));
    }

  /* the bucket is only changed now that the scan is over */
  for (guint i = 0; i < chosen->len; i++)
    {
      guint32 piece = g_array_index (chosen, guint32, i);

      Partial *pp;

      candidate_remove (picker, piece);
      pp = partial_new (picker, piece);
      if (picker->pieces[piece].flags & PIECE_PAROLE)
        pp->owner = picker->cur_owner;
      n += take_unrequested (picker, pp, max - n, out);
    }
  return n;
}

/* Sequential order: the lowest-numbered candidates the peer has, highest
 * priority level first; the scan starts at the first candidate, so it
 * costs the pieces between that and what this peer can give. */
static guint
pick_sequential (GbtPicker *picker, const GbtBitfield *peer_has, guint max, GArray *out)
{
  guint n = 0;

  while (picker->seq_cursor < picker->n_pieces
         && !(picker->pieces[picker->seq_cursor].flags & PIECE_CANDIDATE))
    picker->seq_cursor++;
  for (guint l = N_LEVELS - 1; l > 0 && n < max; l--)
    {
      if (picker->levels[l].n_candidates == 0)
        continue;
      for (guint piece = picker->seq_cursor; piece < picker->n_pieces && n < max; piece++)
        {
          PieceState *ps = &picker->pieces[piece];
          Partial *pp;

          if (!(ps->flags & PIECE_CANDIDATE) || ps->priority != l
              || !peer_has_piece (peer_has, piece)
              || ((ps->flags & PIECE_PAROLE) && !picker->cur_may_parole))
            continue;
          candidate_remove (picker, piece);
          pp = partial_new (picker, piece);
          if (ps->flags & PIECE_PAROLE)
            pp->owner = picker->cur_owner;
          n += take_unrequested (picker, pp, max - n, out);
        }
    }
  return n;
}

void
gbt_picker_set_sequential (GbtPicker *picker, gboolean sequential)
{
  g_return_if_fail (picker != NULL);
  picker->sequential = !!sequential;
  picker->seq_cursor = 0;
}

gboolean
gbt_picker_get_sequential (GbtPicker *picker)
{
  g_return_val_if_fail (picker != NULL, FALSE);
  return picker->sequential;
}

static guint
pick_new (GbtPicker *picker, const GbtBitfield *peer_has, guint max, GArray *out)
{
  guint n = 0;

  if (picker->sequential)
    return pick_sequential (picker, peer_has, max, out);

  for (guint l = N_LEVELS - 1; l > 0 && n < max && picker->n_candidates > 0; l--)
    {
      Level *level = &picker->levels[l];

      /* rarest first; availability 0 last: if the peer was never counted
       * (its bitfield is not in yet), those pieces are still worth asking */
      for (guint k = 1; k <= level->n_buckets && n < max && level->n_candidates > 0; k++)
        n += pick_from_bucket (picker, &level->buckets[k < level->n_buckets ? k : 0], peer_has,
                               max - n, out);
    }
  return n;
}

gboolean
gbt_picker_in_endgame (GbtPicker *picker)
{
  g_return_val_if_fail (picker != NULL, FALSE);

  if (picker->n_wanted_missing == 0 || picker->n_candidates > 0)
    return FALSE;
  for (guint i = 0; i < picker->partials->len; i++)
    {
      Partial *pp = g_ptr_array_index (picker->partials, i);

      if (pp->n_unrequested > 0 && picker->pieces[pp->piece].priority > 0)
        return FALSE;
    }
  return TRUE;
}

static int
endgame_cmp (gconstpointer a, gconstpointer b)
{
  const EndgameCandidate *ca = a, *cb = b;

  if (ca->count != cb->count)
    return ca->count < cb->count ? -1 : 1;
  return ca->seq < cb->seq ? -1 : ca->seq > cb->seq;
}

static guint
pick_endgame (GbtPicker *picker, const GbtBitfield *peer_has, guint max,
              GbtPickerRequestedFunc already_requested, gpointer peer_data, GArray *out)
{
  GArray *cands = picker->scratch_endgame;
  guint n;

  g_array_set_size (cands, 0);
  for (guint i = 0; i < picker->partials->len; i++)
    {
      Partial *pp = g_ptr_array_index (picker->partials, i);

      if (pp->n_received == pp->n_blocks || picker->pieces[pp->piece].priority == 0 ||
          !peer_has_piece (peer_has, pp->piece) || (pp->owner && pp->owner != peer_data))
        continue;
      for (guint b = 0; b < pp->n_blocks; b++)
        {
          EndgameCandidate c = { pp->piece, b, pp->blocks[b], cands->len };
          GbtBlock block = { pp->piece, b * GBT_BLOCK_SIZE,
                             block_length (picker, pp->piece, b) };

          if (c.count == BLOCK_RECEIVED || c.count == 0)
            continue;
          if (already_requested != NULL && already_requested (peer_data, &block))
            continue;
          g_array_append_val (cands, c);
        }
    }

  g_array_sort (cands, endgame_cmp);
  n = MIN (max, cands->len);
  for (guint i = 0; i < n; i++)
    {
      EndgameCandidate *c = &g_array_index (cands, EndgameCandidate, i);
      Partial *pp = partial_lookup (picker, c->piece);

      if (pp->blocks[c->block] < BLOCK_MAX_REQUESTS)
        pp->blocks[c->block]++;
      append_block (picker, out, c->piece, c->block);
    }
  return n;
}

guint
gbt_picker_pick (GbtPicker *picker, const GbtBitfield *peer_has, guint max,
                 GbtPickerRequestedFunc already_requested, gpointer peer_data, GArray *out)
{
  return gbt_picker_pick_full (picker, peer_has, max, already_requested, peer_data, TRUE, out);
}

guint
gbt_picker_pick_full (GbtPicker *picker, const GbtBitfield *peer_has, guint max,
                      GbtPickerRequestedFunc already_requested, gpointer peer_data,
                      gboolean may_parole, GArray *out)
{
  guint n = 0;

  g_return_val_if_fail (picker != NULL, 0);
  g_return_val_if_fail (peer_has != NULL, 0);
  g_return_val_if_fail (out != NULL, 0);
  g_return_val_if_fail (g_array_get_element_size (out) == sizeof (GbtBlock), 0);

  if (max == 0 || picker->n_wanted_missing == 0)
    return 0;
  picker->cur_owner = peer_data;
  picker->cur_may_parole = may_parole;
  n += pick_partial (picker, peer_has, max, out);
  if (n < max && picker->n_candidates > 0)
    n += pick_new (picker, peer_has, max - n, out);
  /* Only when this call found nothing new: the caller's already_requested
   * cannot know about blocks handed out a moment ago in this same call. */
  if (n == 0 && gbt_picker_in_endgame (picker))
    n += pick_endgame (picker, peer_has, max - n, already_requested, peer_data, out);
  return n;
}

/* Finds the block state of a block the picker handed out; NULL if the
 * piece is not in flight or the block does not match its grid. */
static Partial *
lookup_block (GbtPicker *picker, const GbtBlock *block, guint *index)
{
  Partial *pp;

  if (block->piece >= picker->n_pieces || block->begin % GBT_BLOCK_SIZE != 0)
    return NULL;
  pp = partial_lookup (picker, block->piece);
  if (pp == NULL)
    return NULL;
  *index = block->begin / GBT_BLOCK_SIZE;
  if (*index >= pp->n_blocks || block->length != block_length (picker, block->piece, *index))
    return NULL;
  return pp;
}

void
gbt_picker_unrequest (GbtPicker *picker, const GbtBlock *block)
{
  Partial *pp;
  guint b;

  g_return_if_fail (picker != NULL);
  g_return_if_fail (block != NULL);

  pp = lookup_block (picker, block, &b);
  if (pp == NULL || pp->blocks[b] == BLOCK_RECEIVED || pp->blocks[b] == 0)
    return;
  if (--pp->blocks[b] > 0)
    return;
  pp->n_unrequested++;
  pp->hint = MIN (pp->hint, b);
  /* Nothing in flight and nothing received: it is an ordinary candidate
   * again, and rarity decides anew. */
  if (pp->n_received == 0 && pp->n_unrequested == pp->n_blocks)
    {
      guint piece = pp->piece;

      partial_drop (picker, piece);
      candidate_enter (picker, piece);
    }
}

gboolean
gbt_picker_block_received (GbtPicker *picker, const GbtBlock *block, gboolean *piece_complete)
{
  Partial *pp;
  guint b;

  if (piece_complete != NULL)
    *piece_complete = FALSE;
  g_return_val_if_fail (picker != NULL, FALSE);
  g_return_val_if_fail (block != NULL, FALSE);

  pp = lookup_block (picker, block, &b);
  if (pp == NULL || pp->blocks[b] == BLOCK_RECEIVED)
    return FALSE;
  /* a block we had given up on (timeout) that came anyway is still good */
  if (pp->blocks[b] == 0)
    pp->n_unrequested--;
  pp->blocks[b] = BLOCK_RECEIVED;
  pp->n_received++;
  if (piece_complete != NULL)
    *piece_complete = pp->n_received == pp->n_blocks;
  return TRUE;
}

void
gbt_picker_piece_failed (GbtPicker *picker, guint piece)
{
  g_return_if_fail (picker != NULL);
  g_return_if_fail (piece < picker->n_pieces);

  if (picker->pieces[piece].flags & PIECE_HAVE)
    return;
  partial_drop (picker, piece);
  candidate_enter (picker, piece);
}

void
gbt_picker_set_parole (GbtPicker *picker, guint piece)
{
  g_return_if_fail (picker != NULL);
  g_return_if_fail (piece < picker->n_pieces);

  if (!(picker->pieces[piece].flags & PIECE_HAVE))
    picker->pieces[piece].flags |= PIECE_PAROLE;
}

gboolean
gbt_picker_on_parole (GbtPicker *picker, guint piece)
{
  g_return_val_if_fail (picker != NULL, FALSE);
  return piece < picker->n_pieces && (picker->pieces[piece].flags & PIECE_PAROLE);
}

void
gbt_picker_release (GbtPicker *picker, gpointer owner)
{
  g_return_if_fail (picker != NULL);

  for (guint i = picker->partials->len; owner && i > 0; i--)
    {
      Partial *pp = g_ptr_array_index (picker->partials, i - 1);
      guint piece = pp->piece;

      if (pp->owner != owner)
        continue;
      /* what it sent is dropped: the piece comes whole from the next one */
      partial_drop (picker, piece);
      candidate_enter (picker, piece);
    }
}

void
gbt_picker_piece_verified (GbtPicker *picker, guint piece)
{
  gbt_picker_set_have (picker, piece);
}

guint
gbt_picker_n_partial (GbtPicker *picker)
{
  g_return_val_if_fail (picker != NULL, 0);

  return picker->partials->len;
}
