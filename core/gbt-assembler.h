/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Blocks gathered into whole pieces in memory, with who sent each piece's
 * blocks, until the piece can go to the disk workers for its hash check.
 * Piece-sized buffers are recycled (page-aligned, for O_DIRECT writes).
 */
#pragma once

#include <glib.h>

#include "gbt-picker.h"

G_BEGIN_DECLS

typedef struct _GbtAssembler GbtAssembler;

/* @piece_length: the torrent's; @piece_size gives each piece's own size */
G_GNUC_INTERNAL GbtAssembler *gbt_assembler_new (guint32 piece_length,
                                                 guint32 (*piece_size) (gpointer data, guint piece),
                                                 gpointer data);
G_GNUC_INTERNAL void gbt_assembler_free (GbtAssembler *self);
/* Copies @block's bytes in, noting @from as its sender.  When @complete,
 * the piece's bytes are returned (transfer full; their buffer goes back to
 * the pool when the last reference drops, on any thread) and *@senders is
 * set (transfer full): the IP that sent each 16 KiB block, in order. */
G_GNUC_INTERNAL GBytes *gbt_assembler_add (GbtAssembler *self, const GbtBlock *block,
                                           const guint8 *bytes, const char *from,
                                           gboolean complete, GPtrArray **senders);
/* Frees the recycled piece buffers when no piece was started since the
 * last call (the torrent's tick: an idle, stalled or finished download
 * holds no spare buffers). */
G_GNUC_INTERNAL void gbt_assembler_trim (GbtAssembler *self);
/* recycled piece buffers waiting for a piece (for tests) */
G_GNUC_INTERNAL guint gbt_assembler_get_n_spare (GbtAssembler *self);
/* bytes held in pieces being gathered */
G_GNUC_INTERNAL guint64 gbt_assembler_get_buffered (GbtAssembler *self);
/* the pieces being gathered (guint) */
G_GNUC_INTERNAL GArray *gbt_assembler_dup_pieces (GbtAssembler *self);
/* drops one piece being gathered (no longer wanted) */
G_GNUC_INTERNAL void gbt_assembler_drop (GbtAssembler *self, guint piece);
/* drops every piece being gathered (a restart) */
G_GNUC_INTERNAL void gbt_assembler_clear (GbtAssembler *self);

G_END_DECLS
