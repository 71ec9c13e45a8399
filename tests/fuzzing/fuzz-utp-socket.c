/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary datagrams into a live uTP socket (gbt-utp-socket on a real
 * GbtUdpPort on 127.0.0.1), from eight source addresses, with the streams
 * it accepts read, written and closed: no crash, and the connection table
 * stays within its bounds.
 *
 * Input: a chain of chunks, each ctrl:8 len_hi:8 len_lo:8 bytes[len].
 * ctrl bits 0-2 pick the source port; bit 3 writes into bytes 2-3 the
 * recv_id the socket took for that source's last SYN (so packets get past
 * the id lookup); bit 4 runs the main context once (timers); bit 5 writes to
 * every accepted stream, bit 6 reads from each, bit 7 closes the oldest.
 */
#include <stdint.h>
#include <string.h>

#include "gbt-udp-port-private.h"
#include "../../plugins/transport-utp/gbt-utp-socket.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_CONNECTIONS 16
#define MAX_HALF_OPEN 4

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  GPtrArray *streams = user_data;

  g_ptr_array_add (streams, g_object_ref (stream));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 junk[4096];
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);
  GInetSocketAddress *from[8];
  guint16 syn_id[8] = { 0 };
  GbtUtpSocketConfig config;
  GbtUdpPort *port;
  GbtUtpSocket *socket;
  gsize pos = 0;

  port = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (any), NULL);
  if (port == NULL)
    return 0;
  gbt_utp_socket_config_init (&config);
  config.max_connections = MAX_CONNECTIONS;
  config.max_half_open = MAX_HALF_OPEN;
  config.conn.send_buffer = 64 * 1024;
  config.conn.recv_buffer = 64 * 1024;
  socket = gbt_utp_socket_new (port, &config, accept_cb, streams);
  for (guint i = 0; i < G_N_ELEMENTS (from); i++)
    /* ports nobody listens on: what the socket sends goes nowhere */
    from[i] = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (lo, (guint16) (9 + i)));

  while (size - pos >= 3)
    {
      guint ctrl = data[pos];
      gsize len = ((gsize) data[pos + 1] << 8) | data[pos + 2];
      guint src = ctrl & 7;
      guint8 *copy;

      pos += 3;
      len = MIN (len, size - pos);
      copy = g_memdup2 (data + pos, len);
      pos += len;
      if ((ctrl & 8) && len >= 4)
        {
          copy[2] = (guint8) ((syn_id[src] + 1) >> 8);
          copy[3] = (guint8) (syn_id[src] + 1);
        }
      if (len >= 4 && (copy[0] >> 4) == 4)
        syn_id[src] = (guint16) ((copy[2] << 8) | copy[3]);
      gbt_utp_socket_receive (socket, copy, len, from[src]);
      g_free (copy);
      if (ctrl & 16)
        g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < streams->len; i++)
        {
          GIOStream *s = g_ptr_array_index (streams, i);
          guint8 buf[2048];

          if (ctrl & 32)
            g_pollable_output_stream_write_nonblocking (
                G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (s)), junk, sizeof junk,
                NULL, NULL);
          if (ctrl & 64)
            g_pollable_input_stream_read_nonblocking (
                G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (s)), buf, sizeof buf, NULL,
                NULL);
        }
      if ((ctrl & 128) && streams->len > 0)
        {
          g_io_stream_close (g_ptr_array_index (streams, 0), NULL, NULL);
          g_ptr_array_remove_index (streams, 0);
        }
      if (gbt_utp_socket_get_n_connections (socket) > MAX_CONNECTIONS
          || gbt_utp_socket_get_n_half_open (socket) > MAX_HALF_OPEN)
        g_error ("%u connections, %u half-open", gbt_utp_socket_get_n_connections (socket),
                 gbt_utp_socket_get_n_half_open (socket));
    }
  g_ptr_array_set_size (streams, 0);
  g_object_unref (socket);
  g_object_unref (port);
  for (guint i = 0; i < G_N_ELEMENTS (from); i++)
    g_object_unref (from[i]);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
