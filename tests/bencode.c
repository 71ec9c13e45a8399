/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gbt/gbt-bencode.h>

#include "test-utils.h"

static GbtBencodeDoc *
parse (const char *s, GbtBencodeFlags flags, GError **error)
{
  g_autoptr(GBytes) b = g_bytes_new (s, strlen (s));
  return gbt_bencode_parse_full (b, flags, 0, 0, error);
}

static void
test_valid (void)
{
  const char *inputs[] = {
    "i0e", "i-1e", "i9223372036854775807e", "i-9223372036854775808e", "0:", "4:spam",
    "le", "de", "l4:spami42ee", "d3:bar4:spam3:fooi42ee", "d1:ad1:bl1:ceee",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtBencodeDoc) doc = parse (inputs[i], 0, &error);
      g_autoptr(GByteArray) out = g_byte_array_new ();
      gsize raw_len;
      g_assert_no_error (error);
      g_assert_nonnull (doc);
      gbt_bencode_write_value (out, gbt_bencode_doc_get_root (doc));
      g_assert_cmpmem (out->data, out->len, inputs[i], strlen (inputs[i]));
      gbt_bencode_get_raw (gbt_bencode_doc_get_root (doc), &raw_len);
      g_assert_cmpuint (raw_len, ==, strlen (inputs[i]));
    }
}

static void
test_invalid (void)
{
  struct {
    const char *in;
    int code;
  } cases[] = {
    { "", GBT_BENCODE_ERROR_TRUNCATED },
    { "i01e", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "i-0e", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "ie", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "i9223372036854775808e", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "i-9223372036854775809e", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "i99999999999999999999999e", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "i1", GBT_BENCODE_ERROR_TRUNCATED },
    { "5:abc", GBT_BENCODE_ERROR_BAD_LENGTH },
    { "01:a", GBT_BENCODE_ERROR_BAD_INTEGER },
    { "l", GBT_BENCODE_ERROR_TRUNCATED },
    { "d1:a", GBT_BENCODE_ERROR_TRUNCATED },
    { "di1ei2ee", GBT_BENCODE_ERROR_SYNTAX },
    { "d1:ai1e1:ai2ee", GBT_BENCODE_ERROR_DUPLICATE_KEY },
    { "d1:bi1e1:ai2e1:bi3ee", GBT_BENCODE_ERROR_DUPLICATE_KEY },
    { "i1ei2e", GBT_BENCODE_ERROR_TRAILING_DATA },
    { "x", GBT_BENCODE_ERROR_SYNTAX },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtBencodeDoc) doc = parse (cases[i].in, 0, &error);
      g_test_message ("input %s", cases[i].in);
      g_assert_null (doc);
      g_assert_error (error, GBT_BENCODE_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, "byte"));
    }
}

static void
test_unsorted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtBencodeDoc) doc = parse ("d1:bi1e1:ai2ee", 0, &error);
  g_autoptr(GbtBencodeDoc) strict = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gint64 v;

  g_assert_no_error (error);
  g_assert_true (gbt_bencode_doc_had_unsorted_keys (doc));
  g_assert_true (gbt_bencode_dict_get_int (gbt_bencode_doc_get_root (doc), "a", &v));
  g_assert_cmpint (v, ==, 2);
  gbt_bencode_write_value (out, gbt_bencode_doc_get_root (doc));
  g_assert_cmpmem (out->data, out->len, "d1:bi1e1:ai2ee", 14);

  strict = parse ("d1:bi1e1:ai2ee", GBT_BENCODE_STRICT, &error);
  g_assert_null (strict);
  g_assert_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_UNSORTED_KEY);
}

static void
test_limits (void)
{
  g_autoptr(GError) error = NULL;
  GString *deep = g_string_new (NULL);
  g_autoptr(GBytes) b = NULL;
  g_autoptr(GbtBencodeDoc) doc = NULL;

  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, 'l');
  for (int i = 0; i < 10000; i++)
    g_string_append_c (deep, 'e');
  b = g_string_free_to_bytes (deep);
  doc = gbt_bencode_parse (b, &error);
  g_assert_null (doc);
  g_assert_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TOO_DEEP);
  g_clear_error (&error);

  doc = gbt_bencode_parse_full (b, 0, 0, 100, &error);
  g_assert_null (doc);
  g_assert_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TOO_LARGE);
}

static void
test_raw_span (void)
{
  const char *in = "d8:announce3:url4:infod6:lengthi5e4:name1:xee";
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtBencodeDoc) doc = parse (in, 0, &error);
  GbtBencode *root = gbt_bencode_doc_get_root (doc);
  GbtBencode *info = gbt_bencode_dict_lookup (root, "info");
  gsize len;
  const guint8 *raw = gbt_bencode_get_raw (info, &len);

  g_assert_no_error (error);
  g_assert_cmpmem (raw, len, "d6:lengthi5e4:name1:xe", 22);
  /* zero-copy: the span is the input's own bytes, at the value's offset */
  g_assert_true (raw == gbt_bencode_get_raw (root, NULL) + strlen ("d8:announce3:url4:info"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bencode/valid", test_valid);
  g_test_add_func ("/bencode/invalid", test_invalid);
  g_test_add_func ("/bencode/unsorted", test_unsorted);
  g_test_add_func ("/bencode/limits", test_limits);
  g_test_add_func ("/bencode/raw-span", test_raw_span);
  return g_test_run ();
}
