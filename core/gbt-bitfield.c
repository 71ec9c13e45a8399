/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fixed-size bit set in BitTorrent wire order (BEP 3: "the high bit in the
 * first byte corresponds to piece index 0"), so the bytes can be sent and
 * loaded as they are.  n_set is kept up to date so "complete?" and progress
 * cost nothing.
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "gbt-bitfield.h"

gsize
gbt_bitfield_byte_len (guint n_bits)
{
  return ((gsize) n_bits + 7) / 8;
}

void
gbt_bitfield_init (GbtBitfield *bf, guint n_bits)
{
  g_return_if_fail (bf != NULL);

  bf->n_bits = n_bits;
  bf->n_set = 0;
  /* never NULL, even for zero bits, so callers may always send bf->bits */
  bf->bits = g_malloc0 (MAX (gbt_bitfield_byte_len (n_bits), 1));
}

void
gbt_bitfield_clear (GbtBitfield *bf)
{
  g_return_if_fail (bf != NULL);

  g_clear_pointer (&bf->bits, g_free);
  bf->n_bits = 0;
  bf->n_set = 0;
}

gboolean
gbt_bitfield_get (const GbtBitfield *bf, guint i)
{
  g_return_val_if_fail (bf != NULL, FALSE);
  g_return_val_if_fail (i < bf->n_bits, FALSE);

  return (bf->bits[i >> 3] >> (7 - (i & 7))) & 1;
}

void
gbt_bitfield_set (GbtBitfield *bf, guint i, gboolean value)
{
  guint8 mask;
  gboolean was;

  g_return_if_fail (bf != NULL);
  g_return_if_fail (i < bf->n_bits);

  mask = (guint8) (0x80u >> (i & 7));
  was = (bf->bits[i >> 3] & mask) != 0;
  if (value && !was)
    {
      bf->bits[i >> 3] |= mask;
      bf->n_set++;
    }
  else if (!value && was)
    {
      bf->bits[i >> 3] &= (guint8) ~mask;
      bf->n_set--;
    }
}

void
gbt_bitfield_set_all (GbtBitfield *bf)
{
  gsize len;

  g_return_if_fail (bf != NULL);

  len = gbt_bitfield_byte_len (bf->n_bits);
  if (len == 0)
    return;
  memset (bf->bits, 0xff, len);
  /* spare bits stay clear: peers reject a bitfield with them set */
  if (bf->n_bits % 8 != 0)
    bf->bits[len - 1] = (guint8) (0xffu << (8 - bf->n_bits % 8));
  bf->n_set = bf->n_bits;
}

gboolean
gbt_bitfield_is_complete (const GbtBitfield *bf)
{
  g_return_val_if_fail (bf != NULL, FALSE);

  return bf->n_set == bf->n_bits;
}

static guint
count_bits (const guint8 *data, gsize len)
{
  guint n = 0;

  for (gsize i = 0; i < len; i++)
    n += (guint) __builtin_popcount (data[i]);
  return n;
}

gboolean
gbt_bitfield_load (GbtBitfield *bf, const guint8 *data, gsize len, GError **error)
{
  gsize want;

  g_return_val_if_fail (bf != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  want = gbt_bitfield_byte_len (bf->n_bits);
  if (len != want)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Bitfield of %" G_GSIZE_FORMAT " bytes for %u pieces (expected %"
                   G_GSIZE_FORMAT " bytes)", len, bf->n_bits, want);
      return FALSE;
    }
  /* BEP 3: "Spare bits at the end are set to zero"; a peer setting them is
   * broken or lying about pieces that do not exist. */
  if (bf->n_bits % 8 != 0 && (data[len - 1] & (0xffu >> (bf->n_bits % 8))) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "Bitfield has spare bits set past piece %u", bf->n_bits - 1);
      return FALSE;
    }
  if (len > 0)
    memcpy (bf->bits, data, len);
  bf->n_set = count_bits (bf->bits, len);
  return TRUE;
}
