/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes through the bencode parser in each mode.  What parses must
 * re-encode to exactly its input, and every raw span must lie inside it: the
 * info-hash depends on both.
 */
#include <stdint.h>
#include <string.h>

#include <gbt/gbt-bencode.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_value (const GbtBencode *v, const uint8_t *data, size_t size, guint depth)
{
  gsize len;
  const guint8 *raw = gbt_bencode_get_raw (v, &len);

  if (raw < data || len > size || raw + len > data + size)
    g_error ("raw span outside the input");
  if (gbt_bencode_is_list (v))
    for (guint i = 0; i < gbt_bencode_get_length (v); i++)
      check_value (gbt_bencode_list_nth (v, i), data, size, depth + 1);
  else if (gbt_bencode_is_dict (v))
    for (guint i = 0; i < gbt_bencode_get_length (v); i++)
      {
        const guint8 *key;
        gsize key_len;
        GbtBencode *child = gbt_bencode_dict_nth (v, i, &key, &key_len);
        if (gbt_bencode_dict_lookup_len (v, key, key_len) != child)
          g_error ("dictionary lookup disagrees with iteration");
        check_value (child, data, size, depth + 1);
      }
  else if (gbt_bencode_is_string (v))
    {
      const guint8 *s = gbt_bencode_get_string (v, &len);
      if (len > 0 && (s < data || s + len > data + size))
        g_error ("string outside the input");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const GbtBencodeFlags modes[] = {
    GBT_BENCODE_NONE, GBT_BENCODE_STRICT, GBT_BENCODE_ALLOW_TRAILING,
  };
  /* zero-copy: spans point into this very buffer */
  g_autoptr(GBytes) bytes = g_bytes_new_static (data, size);

  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse_full (bytes, modes[m], 64, 0, &error);
      g_autoptr(GByteArray) out = NULL;
      gsize consumed;

      if (doc == NULL)
        {
          if (error == NULL || error->domain != GBT_BENCODE_ERROR)
            g_error ("failure without a bencode error");
          continue;
        }
      consumed = gbt_bencode_doc_get_consumed (doc);
      if (consumed > size || (modes[m] != GBT_BENCODE_ALLOW_TRAILING && consumed != size))
        g_error ("consumed %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT, consumed, size);
      check_value (gbt_bencode_doc_get_root (doc), data, size, 0);
      out = g_byte_array_new ();
      gbt_bencode_write_value (out, gbt_bencode_doc_get_root (doc));
      if (out->len != consumed || memcmp (out->data, data, consumed) != 0)
        g_error ("re-encoding differs from the input");
    }
  return 0;
}
