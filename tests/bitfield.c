/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gio/gio.h>

#include "gbt-bitfield.h"
#include "test-utils.h"

static void
test_wire_order (void)
{
  GbtBitfield bf;

  gbt_bitfield_init (&bf, 12);
  g_assert_cmpuint (gbt_bitfield_byte_len (12), ==, 2);
  g_assert_cmpuint (bf.n_set, ==, 0);
  gbt_bitfield_set (&bf, 0, TRUE);
  gbt_bitfield_set (&bf, 9, TRUE);
  gbt_bitfield_set (&bf, 11, TRUE);
  g_assert_cmphex (bf.bits[0], ==, 0x80);
  g_assert_cmphex (bf.bits[1], ==, 0x50);
  g_assert_cmpuint (bf.n_set, ==, 3);
  g_assert_true (gbt_bitfield_get (&bf, 0));
  g_assert_false (gbt_bitfield_get (&bf, 1));
  g_assert_true (gbt_bitfield_get (&bf, 9));
  g_assert_true (gbt_bitfield_get (&bf, 11));

  /* setting twice or clearing a clear bit does not skew the count */
  gbt_bitfield_set (&bf, 9, TRUE);
  gbt_bitfield_set (&bf, 10, FALSE);
  g_assert_cmpuint (bf.n_set, ==, 3);
  gbt_bitfield_set (&bf, 9, FALSE);
  g_assert_cmpuint (bf.n_set, ==, 2);
  g_assert_cmphex (bf.bits[1], ==, 0x10);
  g_assert_false (gbt_bitfield_is_complete (&bf));
  gbt_bitfield_clear (&bf);
  g_assert_null (bf.bits);
}

static void
test_set_all (void)
{
  guint sizes[] = { 1, 7, 8, 9, 16, 17, 1000 };

  for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      GbtBitfield bf;
      gsize len = gbt_bitfield_byte_len (sizes[k]);

      gbt_bitfield_init (&bf, sizes[k]);
      gbt_bitfield_set_all (&bf);
      g_assert_true (gbt_bitfield_is_complete (&bf));
      g_assert_cmpuint (bf.n_set, ==, sizes[k]);
      for (guint i = 0; i < sizes[k]; i++)
        g_assert_true (gbt_bitfield_get (&bf, i));
      /* spare bits stay zero so the bytes are a valid BITFIELD message */
      if (sizes[k] % 8)
        g_assert_cmphex (bf.bits[len - 1] & (0xff >> (sizes[k] % 8)), ==, 0);
      gbt_bitfield_set (&bf, sizes[k] - 1, FALSE);
      g_assert_false (gbt_bitfield_is_complete (&bf));
      gbt_bitfield_clear (&bf);
    }
}

static void
test_empty (void)
{
  GbtBitfield bf;
  g_autoptr(GError) error = NULL;

  gbt_bitfield_init (&bf, 0);
  g_assert_cmpuint (gbt_bitfield_byte_len (0), ==, 0);
  g_assert_nonnull (bf.bits);
  g_assert_true (gbt_bitfield_is_complete (&bf));
  gbt_bitfield_set_all (&bf);
  g_assert_true (gbt_bitfield_load (&bf, NULL, 0, &error));
  g_assert_no_error (error);
  gbt_bitfield_clear (&bf);
}

static void
test_load (void)
{
  GbtBitfield bf;
  const guint8 good[] = { 0xa5, 0xc0 };
  g_autoptr(GError) error = NULL;

  gbt_bitfield_init (&bf, 10);
  g_assert_true (gbt_bitfield_load (&bf, good, sizeof good, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (bf.n_set, ==, 6);
  g_assert_true (gbt_bitfield_get (&bf, 0));
  g_assert_false (gbt_bitfield_get (&bf, 1));
  g_assert_true (gbt_bitfield_get (&bf, 2));
  g_assert_true (gbt_bitfield_get (&bf, 8));
  g_assert_true (gbt_bitfield_get (&bf, 9));
  g_assert_cmpmem (bf.bits, 2, good, 2);
  gbt_bitfield_clear (&bf);
}

static void
test_load_bad (void)
{
  GbtBitfield bf;
  const guint8 spare[] = { 0x00, 0x20 };  /* bit 10 of a 10-bit field */
  const guint8 three[] = { 0xff, 0xc0, 0x00 };
  const guint8 one[] = { 0xff };
  g_autoptr(GError) error = NULL;

  gbt_bitfield_init (&bf, 10);
  gbt_bitfield_set (&bf, 3, TRUE);

  g_assert_false (gbt_bitfield_load (&bf, spare, sizeof spare, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (gbt_bitfield_load (&bf, three, sizeof three, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (gbt_bitfield_load (&bf, one, sizeof one, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);

  /* a refused load leaves the bitfield as it was */
  g_assert_cmpuint (bf.n_set, ==, 1);
  g_assert_true (gbt_bitfield_get (&bf, 3));
  gbt_bitfield_clear (&bf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bitfield/wire-order", test_wire_order);
  g_test_add_func ("/bitfield/set-all", test_set_all);
  g_test_add_func ("/bitfield/empty", test_empty);
  g_test_add_func ("/bitfield/load", test_load);
  g_test_add_func ("/bitfield/load-bad", test_load_bad);
  return g_test_run ();
}
