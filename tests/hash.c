/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gbt-hash.h"
#include "test-utils.h"

static char *
hex (const guint8 d[20])
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 20; i++)
    g_string_append_printf (s, "%02x", d[i]);
  return g_string_free (s, FALSE);
}

/* FIPS 180-2 test vectors */
static void
test_vectors (void)
{
  struct {
    const char *in;
    const char *out;
  } v[] = {
    { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
    { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
    { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (v); i++)
    {
      guint8 d[20];
      g_autofree char *h = NULL;

      gbt_sha1 (v[i].in, strlen (v[i].in), d);
      h = hex (d);
      g_assert_cmpstr (h, ==, v[i].out);
    }
}

static void
test_incremental (void)
{
  gsize len = 1000000;
  g_autofree guint8 *a = g_malloc (len);
  guint8 one[20], inc[20];
  g_autofree char *h = NULL;
  GbtSha1 *ctx;

  memset (a, 'a', len);
  gbt_sha1 (a, len, one);
  h = hex (one);
  g_assert_cmpstr (h, ==, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

  /* uneven chunks, including empty ones */
  ctx = gbt_sha1_new ();
  for (gsize off = 0, step = 0; off < len; step = (step * 7 + 13) % 4099)
    {
      gsize n = MIN (step, len - off);
      gbt_sha1_update (ctx, a + off, n);
      off += n;
    }
  gbt_sha1_finish (ctx, inc);
  g_assert_cmpmem (one, 20, inc, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hash/sha1-vectors", test_vectors);
  g_test_add_func ("/hash/sha1-incremental", test_incremental);
  return g_test_run ();
}
