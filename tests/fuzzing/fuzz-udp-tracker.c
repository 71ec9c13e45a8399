/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes through the UDP tracker reply parsers (BEP 15: connect,
 * announce over IPv4 and IPv6, scrape).  The transaction id expected is the
 * one the input carries, so that the parsers get past the header.  Each must
 * succeed with a well-formed result or fail with a GBT_TRACKER_ERROR.
 */
#include <stdint.h>
#include <string.h>

#include "../../plugins/tracker-udp/gbt-udp-tracker-packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

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
  guint32 tid = 0;

  gbt_udp_tracker_reply_transaction_id (data, size, &tid);
  {
    g_autoptr(GError) error = NULL;
    guint64 cid = 0;

    if (!gbt_udp_tracker_parse_connect (data, size, tid, &cid, &error))
      check_error (error);
  }
  for (int ipv6 = 0; ipv6 <= 1; ipv6++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtAnnounceResponse) r
        = gbt_udp_tracker_parse_announce (data, size, tid, ipv6, &error);

      if (r == NULL)
        check_error (error);
      else
        for (guint i = 0; i < r->peers->len; i++)
          if (g_inet_socket_address_get_port (r->peers->pdata[i]) == 0)
            g_error ("peer with port 0");
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GbtScrapeResponse) r = gbt_udp_tracker_parse_scrape (data, size, tid, &error);

    if (r == NULL)
      check_error (error);
    else if (r->complete < 0 || r->incomplete < 0 || r->downloaded < 0)
      g_error ("negative count");
  }
  /* a wrong transaction id is always an error */
  {
    g_autoptr(GError) error = NULL;
    guint64 cid = 0;

    if (size >= 8 && gbt_udp_tracker_parse_connect (data, size, tid ^ 1, &cid, &error))
      g_error ("accepted a reply to someone else");
  }
  return 0;
}
