/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary datagrams into uTP connections (gbt-utp-conn) with the time
 * moving: no crash, no read outside a datagram, and the bytes each
 * connection holds stay within its buffers.
 *
 * Input: a chain of chunks, each ctrl:8 len_hi:8 len_lo:8 bytes[len].
 * ctrl bit 0 picks the connection (an initiator, or the acceptor made from
 * the first chunk that is a SYN), bit 1 writes that connection's
 * recv_id into bytes 2-3 (so packets get past the id check), bits 2-7 move
 * the clock by that many times 10 ms.  Both sides keep writing and reading.
 */
#include <stdint.h>
#include <string.h>

#include "../../plugins/transport-utp/gbt-utp-conn.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
discard (gpointer user_data, const guint8 *data, gsize len)
{
  GbtUtpPacket p;

  /* what a connection sends must parse */
  if (!gbt_utp_packet_parse (data, len, &p, NULL))
    g_error ("a connection sent a malformed packet");
}

static void
check (GbtUtpConn *c, const GbtUtpConnConfig *config)
{
  if (gbt_utp_conn_get_buffered (c) > (gsize) config->send_buffer + config->recv_buffer
                                        + config->mtu)
    g_error ("%zu bytes held", gbt_utp_conn_get_buffered (c));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 junk[4096];
  GbtUtpConnConfig config;
  GbtUtpConn *conn[2] = { NULL, NULL };
  gint64 now = 1000000;
  gsize pos = 0;

  gbt_utp_conn_config_init (&config);
  config.send_buffer = 64 * 1024;
  config.recv_buffer = 64 * 1024;
  conn[0] = gbt_utp_conn_new_connect (&config, 0x1000, 1, now, discard, NULL);
  while (size - pos >= 3)
    {
      guint ctrl = data[pos];
      gsize len = ((gsize) data[pos + 1] << 8) | data[pos + 2];
      int which = ctrl & 1;
      guint8 *copy;

      pos += 3;
      len = MIN (len, size - pos);
      copy = g_memdup2 (data + pos, len);
      pos += len;
      now += (ctrl >> 2) * 10000;
      if (conn[which] == NULL)
        {
          conn[which] = gbt_utp_conn_new_accept (&config, copy, len, 7, now, discard, NULL);
          g_free (copy);
          continue;
        }
      if ((ctrl & 2) && len >= 4)
        {
          guint16 id = gbt_utp_conn_get_recv_id (conn[which]);

          copy[2] = id >> 8;
          copy[3] = id & 0xff;
        }
      gbt_utp_conn_receive (conn[which], copy, len, now);
      g_free (copy);
      for (int i = 0; i < 2; i++)
        {
          guint8 buf[2048];

          if (conn[i] == NULL)
            continue;
          if (gbt_utp_conn_get_deadline (conn[i]) <= now)
            gbt_utp_conn_tick (conn[i], now);
          gbt_utp_conn_write (conn[i], junk, sizeof junk, now);
          gbt_utp_conn_read (conn[i], buf, sizeof buf, now);
          check (conn[i], &config);
        }
    }
  gbt_utp_conn_free (conn[0]);
  gbt_utp_conn_free (conn[1]);
  return 0;
}
