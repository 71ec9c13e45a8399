/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes through the uTP packet parser (BEP 29).  It must succeed
 * with a packet whose parts lie inside the input, or fail with a
 * GBT_UTP_ERROR; a parsed packet must build back to the same header fields
 * and parse again to the same result.
 */
#include <stdint.h>
#include <string.h>

#include "../../plugins/transport-utp/gbt-utp-packet.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  GbtUtpPacket p, q;
  guint8 *buf;
  gsize n;

  if (!gbt_utp_packet_parse (data, size, &p, &error))
    {
      if (error == NULL || error->domain != GBT_UTP_ERROR)
        g_error ("failure without a uTP error");
      if (!g_utf8_validate (error->message, -1, NULL))
        g_error ("error message is not UTF-8");
      return 0;
    }
  if (p.type > GBT_UTP_ST_SYN)
    g_error ("accepted type %d", p.type);
  if (p.payload < data || p.payload + p.payload_len != data + size)
    g_error ("payload outside the input");
  if (p.sack != NULL
      && (p.sack < data + GBT_UTP_HEADER_LEN + 2 || p.sack + p.sack_len > p.payload
          || p.sack_len == 0))
    g_error ("bad selective ACK");
  /* every bit of the mask is readable */
  for (guint i = 0; p.sack != NULL && i < p.sack_len * 8; i++)
    (void) gbt_utp_sack_get (p.sack, p.sack_len, p.ack_nr, (guint16) (p.ack_nr + 2 + i));

  /* build (dropping unknown extensions) and parse again */
  n = gbt_utp_packet_size (&p);
  buf = g_malloc (n);
  if (gbt_utp_packet_build (&p, buf, n) != n)
    g_error ("build of a parsed packet failed");
  if (!gbt_utp_packet_parse (buf, n, &q, &error2))
    g_error ("a built packet does not parse: %s", error2->message);
  if (q.type != p.type || q.connection_id != p.connection_id
      || q.timestamp_us != p.timestamp_us || q.timestamp_diff_us != p.timestamp_diff_us
      || q.wnd_size != p.wnd_size || q.seq_nr != p.seq_nr || q.ack_nr != p.ack_nr
      || q.sack_len != p.sack_len || q.payload_len != p.payload_len
      || (p.sack_len > 0 && memcmp (q.sack, p.sack, p.sack_len) != 0)
      || (p.payload_len > 0 && memcmp (q.payload, p.payload, p.payload_len) != 0))
    g_error ("round trip changed the packet");
  g_free (buf);
  return 0;
}
