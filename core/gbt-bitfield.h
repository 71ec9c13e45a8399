/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fixed-size bit set in BitTorrent wire order (bit 7 of byte 0 is piece 0). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint8 *bits;
  guint n_bits;
  guint n_set;
} GbtBitfield;

G_GNUC_INTERNAL void gbt_bitfield_init (GbtBitfield *bf, guint n_bits);
G_GNUC_INTERNAL void gbt_bitfield_clear (GbtBitfield *bf); /* frees storage */
G_GNUC_INTERNAL gsize gbt_bitfield_byte_len (guint n_bits);
G_GNUC_INTERNAL gboolean gbt_bitfield_get (const GbtBitfield *bf, guint i);
G_GNUC_INTERNAL void gbt_bitfield_set (GbtBitfield *bf, guint i, gboolean value);
G_GNUC_INTERNAL void gbt_bitfield_set_all (GbtBitfield *bf);
G_GNUC_INTERNAL gboolean gbt_bitfield_is_complete (const GbtBitfield *bf);
/* wire bytes; fails if the length is wrong or a spare bit is set */
G_GNUC_INTERNAL gboolean gbt_bitfield_load (GbtBitfield *bf, const guint8 *data, gsize len,
                                            GError **error);

G_END_DECLS
