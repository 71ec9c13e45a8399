/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Magnet URIs (BEP 9, BEP 53). */
#include <string.h>

#include <gbt/gbt-magnet.h>

#include "test-utils.h"

#define HEX "c9e15763f722f23e98a29decdfae341b98d53056"
/* the same 20 bytes in base32 */
#define B32 "ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW"

static const guint8 expected_hash[20] = {
  0xc9, 0xe1, 0x57, 0x63, 0xf7, 0x22, 0xf2, 0x3e, 0x98, 0xa2,
  0x9d, 0xec, 0xdf, 0xae, 0x34, 0x1b, 0x98, 0xd5, 0x30, 0x56,
};

static GbtMagnet *
parse_ok (const char *uri)
{
  g_autoptr(GError) error = NULL;
  GbtMagnet *m = gbt_magnet_parse (uri, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static void
test_full (void)
{
  g_autoptr(GbtMagnet) m = parse_ok (
    "magnet:?xt=urn:btih:" HEX "&dn=Some+Name%20%C3%A9"
    "&tr=http%3A%2F%2Ft.example%2Fannounce%3Fa%3D1%2B2&tr=udp://u.example:80"
    "&tr=udp://u.example:80&x.pe=127.0.0.9:6881&x.pe=%5B2001:db8::1%5D:51413"
    "&x.pe=peer.example:1&so=0,2,4-6&unknown=whatever&&flag");

  g_assert_cmpmem (m->info_hash, 20, expected_hash, 20);
  g_assert_cmpstr (m->display_name, ==, "Some Name \xc3\xa9");
  g_assert_cmpuint (g_strv_length (m->trackers), ==, 2);
  /* '+' in a tracker URL is kept, %2B decoded */
  g_assert_cmpstr (m->trackers[0], ==, "http://t.example/announce?a=1+2");
  g_assert_cmpstr (m->trackers[1], ==, "udp://u.example:80");
  g_assert_cmpuint (g_strv_length (m->peers), ==, 3);
  g_assert_cmpstr (m->peers[0], ==, "127.0.0.9:6881");
  g_assert_cmpstr (m->peers[1], ==, "[2001:db8::1]:51413");
  g_assert_cmpstr (m->peers[2], ==, "peer.example:1");
  g_assert_nonnull (m->select_only);
  g_assert_cmpuint (m->select_only->len, ==, 5);
  g_assert_cmpuint (g_array_index (m->select_only, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (m->select_only, guint, 1), ==, 2);
  g_assert_cmpuint (g_array_index (m->select_only, guint, 4), ==, 6);
}

static void
test_minimal (void)
{
  g_autoptr(GbtMagnet) m = parse_ok ("magnet:?xt=urn:btih:" HEX);
  g_autoptr(GbtMagnet) upper = parse_ok ("MAGNET:?XT=URN:BTIH:C9E15763F722F23E98A29DECDFAE341B98D53056");

  g_assert_cmpmem (m->info_hash, 20, expected_hash, 20);
  g_assert_null (m->display_name);
  g_assert_nonnull (m->trackers);
  g_assert_null (m->trackers[0]);
  g_assert_nonnull (m->peers);
  g_assert_null (m->peers[0]);
  g_assert_null (m->select_only);
  g_assert_cmpmem (upper->info_hash, 20, expected_hash, 20);
}

static void
test_base32 (void)
{
  g_autoptr(GbtMagnet) m = parse_ok ("magnet:?dn=x&xt=urn:btih:" B32);
  g_autoptr(GbtMagnet) lower = NULL;
  g_autofree char *l = g_ascii_strdown ("magnet:?xt=urn:btih:" B32, -1);

  g_assert_cmpmem (m->info_hash, 20, expected_hash, 20);
  lower = parse_ok (l);
  g_assert_cmpmem (lower->info_hash, 20, expected_hash, 20);
}

static void
test_multiple_xt (void)
{
  /* a hybrid magnet: the v2 hash is skipped, numbered keys are accepted */
  g_autoptr(GbtMagnet) m = parse_ok (
    "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e"
    "&xt.1=urn:btih:" HEX "&tr.1=http://a.example/&tr.2=http://b.example/");

  g_assert_cmpmem (m->info_hash, 20, expected_hash, 20);
  g_assert_cmpuint (g_strv_length (m->trackers), ==, 2);
}

static void
test_errors (void)
{
  struct {
    const char *uri;
    int code;
  } cases[] = {
    { "http://example.com/?xt=urn:btih:" HEX, GBT_MAGNET_ERROR_NOT_MAGNET },
    { "", GBT_MAGNET_ERROR_NOT_MAGNET },
    { "magnet", GBT_MAGNET_ERROR_NOT_MAGNET },
    { "magnet:", GBT_MAGNET_ERROR_NO_INFO_HASH },
    { "magnet:?dn=x&tr=http://t/", GBT_MAGNET_ERROR_NO_INFO_HASH },
    { "magnet:?xt=urn:sha1:ABCDEF", GBT_MAGNET_ERROR_NO_INFO_HASH },
    { "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e",
      GBT_MAGNET_ERROR_NO_INFO_HASH },
    { "magnet:?xt=urn:btih:" HEX "0", GBT_MAGNET_ERROR_BAD_INFO_HASH },
    { "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d5305", GBT_MAGNET_ERROR_BAD_INFO_HASH },
    { "magnet:?xt=urn:btih:g9e15763f722f23e98a29decdfae341b98d53056", GBT_MAGNET_ERROR_BAD_INFO_HASH },
    { "magnet:?xt=urn:btih:ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMC1", GBT_MAGNET_ERROR_BAD_INFO_HASH },
    { "magnet:?xt=urn:btih:", GBT_MAGNET_ERROR_BAD_INFO_HASH },
    { "magnet:?xt=urn:btih:" HEX "&dn=%", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&dn=%4", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&tr=%zz", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&dn=a%00b", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn%3", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=1.2.3.4", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=1.2.3.4:0", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=1.2.3.4:65536", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=1.2.3.4:80x", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=:80", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=2001:db8::1:80", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=[2001:db8::1]80", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&x.pe=[not-v6]:80", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=1,,2", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=5-3", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=-3", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=1-", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=a", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=0-4000000000", GBT_MAGNET_ERROR_BAD_PARAMETER },
    { "magnet:?xt=urn:btih:" HEX "&so=99999999999", GBT_MAGNET_ERROR_BAD_PARAMETER },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtMagnet) m = gbt_magnet_parse (cases[i].uri, &error);

      g_test_message ("uri: %s", cases[i].uri);
      g_assert_null (m);
      g_assert_error (error, GBT_MAGNET_ERROR, cases[i].code);
    }
}

static void
test_select_only_dedup (void)
{
  g_autoptr(GbtMagnet) m = parse_ok ("magnet:?xt=urn:btih:" HEX "&so=7,1-3,2&so=0");

  g_assert_cmpuint (m->select_only->len, ==, 5);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (g_array_index (m->select_only, guint, i), ==, i);
  g_assert_cmpuint (g_array_index (m->select_only, guint, 4), ==, 7);
}

static void
test_fragment_and_invalid_utf8 (void)
{
  g_autoptr(GbtMagnet) m = parse_ok ("magnet:?xt=urn:btih:" HEX "&dn=%FFname#tr=http://ignored/");

  g_assert_true (g_utf8_validate (m->display_name, -1, NULL));
  g_assert_null (m->trackers[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/magnet/full", test_full);
  g_test_add_func ("/magnet/minimal", test_minimal);
  g_test_add_func ("/magnet/base32", test_base32);
  g_test_add_func ("/magnet/multiple-xt", test_multiple_xt);
  g_test_add_func ("/magnet/errors", test_errors);
  g_test_add_func ("/magnet/select-only", test_select_only_dedup);
  g_test_add_func ("/magnet/fragment-invalid-utf8", test_fragment_and_invalid_utf8);
  return g_test_run ();
}
