/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Piece picker: which blocks to request from a peer.  Pure logic, no I/O:
 * strict priority for finishing partial pieces, then rarest first with
 * random ties, piece priorities (0 = do not download), endgame (blocks
 * already requested from another peer handed out again when nothing else is
 * left).  Tests drive it directly.
 */
#pragma once

#include <glib.h>

#include "gbt-bitfield.h"

G_BEGIN_DECLS

#define GBT_BLOCK_SIZE 16384
/* priorities above this are treated as this */
#define GBT_PICKER_MAX_PRIORITY 7

typedef struct {
  guint32 piece;
  guint32 begin;
  guint32 length;
} GbtBlock;

typedef struct _GbtPicker GbtPicker;

G_GNUC_INTERNAL GbtPicker *gbt_picker_new (guint n_pieces, guint32 piece_length,
                                           guint64 total_size);
G_GNUC_INTERNAL void gbt_picker_free (GbtPicker *picker);
/* priority 0: never picked; default 1; higher first (before rarity) */
G_GNUC_INTERNAL void gbt_picker_set_priority (GbtPicker *picker, guint piece, guint priority);
G_GNUC_INTERNAL guint gbt_picker_get_priority (GbtPicker *picker, guint piece);
/* we have (verified) this piece */
G_GNUC_INTERNAL void gbt_picker_set_have (GbtPicker *picker, guint piece);
G_GNUC_INTERNAL gboolean gbt_picker_have (GbtPicker *picker, guint piece);
G_GNUC_INTERNAL guint gbt_picker_n_have (GbtPicker *picker);
/* every wanted (priority > 0) piece is had */
G_GNUC_INTERNAL gboolean gbt_picker_is_done (GbtPicker *picker);

/* availability: each peer's pieces are counted while it is connected */
G_GNUC_INTERNAL void gbt_picker_add_peer_bitfield (GbtPicker *picker, const GbtBitfield *has);
G_GNUC_INTERNAL void gbt_picker_remove_peer_bitfield (GbtPicker *picker, const GbtBitfield *has);
G_GNUC_INTERNAL void gbt_picker_add_peer_have (GbtPicker *picker, guint piece);
G_GNUC_INTERNAL guint gbt_picker_get_availability (GbtPicker *picker, guint piece);

/* Appends up to @max blocks that @peer_has can give to @out (GbtBlock) and
 * marks them requested.  In endgame (every missing block already requested)
 * it hands out blocks requested from other peers too, but never one for
 * which @already_requested (this peer's outstanding requests) says TRUE
 * (NULL: no filter).  Endgame blocks are only handed out by a call that
 * found no unrequested block, since @already_requested cannot know about
 * blocks appended earlier in the same call.  Returns the number appended. */
typedef gboolean (*GbtPickerRequestedFunc) (gpointer peer_data, const GbtBlock *block);
G_GNUC_INTERNAL guint gbt_picker_pick (GbtPicker *picker, const GbtBitfield *peer_has, guint max,
                                       GbtPickerRequestedFunc already_requested,
                                       gpointer peer_data, GArray *out);
/* the same; @may_parole FALSE keeps pieces on parole from this peer (one
 * we trust less).  A piece on parole, once started, is handed out to
 * @peer_data alone, endgame included. */
G_GNUC_INTERNAL guint gbt_picker_pick_full (GbtPicker *picker, const GbtBitfield *peer_has,
                                            guint max, GbtPickerRequestedFunc already_requested,
                                            gpointer peer_data, gboolean may_parole, GArray *out);
G_GNUC_INTERNAL gboolean gbt_picker_in_endgame (GbtPicker *picker);
/* a requested block will not come (choke, disconnect, reject, timeout);
 * a piece left with nothing received and nothing requested stops being
 * partial (a late block for it is then unsolicited) */
G_GNUC_INTERNAL void gbt_picker_unrequest (GbtPicker *picker, const GbtBlock *block);
/* a block arrived; FALSE if it was not wanted (duplicate or unsolicited:
 * its piece is not in flight, or it is not a block the picker hands out).
 * *piece_complete is set when every block of its piece is now in. */
G_GNUC_INTERNAL gboolean gbt_picker_block_received (GbtPicker *picker, const GbtBlock *block,
                                                    gboolean *piece_complete);
/* the assembled piece failed its hash: all its blocks are wanted again */
G_GNUC_INTERNAL void gbt_picker_piece_failed (GbtPicker *picker, guint piece);
/* Smart ban: the piece failed with blocks from several peers; its next
 * attempt comes whole from one peer, so the next verdict names one sender.
 * Cleared when the piece passes. */
G_GNUC_INTERNAL void gbt_picker_set_parole (GbtPicker *picker, guint piece);
G_GNUC_INTERNAL gboolean gbt_picker_on_parole (GbtPicker *picker, guint piece);
/* @owner is gone (its requests already returned): the pieces on parole it
 * had started are dropped, to come whole from the next peer */
G_GNUC_INTERNAL void gbt_picker_release (GbtPicker *picker, gpointer owner);
/* the piece passed its hash and was written */
G_GNUC_INTERNAL void gbt_picker_piece_verified (GbtPicker *picker, guint piece);
G_GNUC_INTERNAL guint gbt_picker_n_partial (GbtPicker *picker);
/* new pieces in index order instead of rarest first (partial pieces are
 * still finished first; priorities still come before order) */
G_GNUC_INTERNAL void gbt_picker_set_sequential (GbtPicker *picker, gboolean sequential);
G_GNUC_INTERNAL gboolean gbt_picker_get_sequential (GbtPicker *picker);

G_END_DECLS
