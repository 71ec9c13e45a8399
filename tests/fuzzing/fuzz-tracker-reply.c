/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes through the tracker reply parsers (announce, scrape, and
 * compact peers both ways).  Each must either succeed with a well-formed
 * result or fail with a GBT_TRACKER_ERROR.
 */
#include <stdint.h>
#include <string.h>

#include <gbt/gbt-tracker.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_peers (GPtrArray *peers)
{
  for (guint i = 0; i < peers->len; i++)
    {
      GInetSocketAddress *sa = peers->pdata[i];

      if (!G_IS_INET_SOCKET_ADDRESS (sa) || g_inet_socket_address_get_port (sa) == 0)
        g_error ("peer %u is not a usable address", i);
    }
}

static void
check_error (GError *error)
{
  if (error == NULL || error->domain != GBT_TRACKER_ERROR)
    g_error ("failure without a tracker error");
  if (!g_utf8_validate (error->message, -1, NULL))
    g_error ("error message is not UTF-8");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* the scrape key is the first 20 bytes when there are that many */
  static const guint8 zero_hash[20] = { 0 };
  const guint8 *hash = size >= 20 ? data : zero_hash;

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GbtAnnounceResponse) r = gbt_announce_response_parse_bencoded (data, size, &error);

    if (r == NULL)
      check_error (error);
    else
      {
        check_peers (r->peers);
        if (r->interval < -1 || r->min_interval < -1 || r->complete < -1
            || r->incomplete < -1 || r->downloaded < -1)
          g_error ("negative count");
        if ((r->warning_message && !g_utf8_validate (r->warning_message, -1, NULL))
            || (r->tracker_id && !g_utf8_validate (r->tracker_id, -1, NULL)))
          g_error ("text is not UTF-8");
      }
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GbtScrapeResponse) r = gbt_scrape_response_parse_bencoded (data, size, hash, &error);

    if (r == NULL)
      check_error (error);
  }
  for (int ipv6 = 0; ipv6 <= 1; ipv6++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func (g_object_unref);

      if (gbt_compact_peers_parse (data, size, ipv6, peers, &error))
        check_peers (peers);
      else
        check_error (error);
    }
  return 0;
}
