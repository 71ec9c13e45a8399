/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-1 through GnuTLS (nettle underneath, which uses the SHA extensions of
 * the CPU when present).  This is the only file that includes gnutls, so a
 * change of crypto library touches nothing else.
 */
#include "config.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "gbt-hash.h"

struct _GbtSha1
{
  gnutls_hash_hd_t hd;
};

void
gbt_sha1 (const void *data, gsize len, guint8 out[20])
{
  /* SHA-1 is always compiled into GnuTLS; failure here could only be an
   * allocation failure or FIPS mode forbidding SHA-1, both unrecoverable
   * for a BitTorrent client. */
  if (gnutls_hash_fast (GNUTLS_DIG_SHA1, data, len, out) < 0)
    g_error ("GnuTLS cannot compute SHA-1");
}

GbtSha1 *
gbt_sha1_new (void)
{
  GbtSha1 *ctx = g_new0 (GbtSha1, 1);

  if (gnutls_hash_init (&ctx->hd, GNUTLS_DIG_SHA1) < 0)
    g_error ("GnuTLS cannot compute SHA-1");
  return ctx;
}

void
gbt_sha1_update (GbtSha1 *ctx, const void *data, gsize len)
{
  g_return_if_fail (ctx != NULL);

  if (len == 0)
    return;
  if (gnutls_hash (ctx->hd, data, len) < 0)
    g_error ("GnuTLS SHA-1 update failed");
}

void
gbt_sha1_finish (GbtSha1 *ctx, guint8 out[20])
{
  g_return_if_fail (ctx != NULL);

  gnutls_hash_deinit (ctx->hd, out);
  g_free (ctx);
}

void
gbt_sha1_to_hex (const guint8 hash[20], char out[41])
{
  static const char hex[] = "0123456789abcdef";

  for (guint i = 0; i < 20; i++)
    {
      out[2 * i] = hex[hash[i] >> 4];
      out[2 * i + 1] = hex[hash[i] & 0xf];
    }
  out[40] = '\0';
}

gboolean
gbt_sha1_from_hex (const char *hex, guint8 out[20])
{
  if (strlen (hex) != 40)
    return FALSE;
  for (guint i = 0; i < 20; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]), lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}
