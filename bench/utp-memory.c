/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory per uTP connection (issue 13): N connections (200 by default)
 * between two GbtUdpPorts on 127.0.0.1 in this process, first idle, then
 * all moving data both ways at once.  Prints the RSS and the malloc heap in
 * use (mallinfo2) per connection endpoint (each connection has two, both
 * here), at rest and at the peak while active.  Run by hand:
 *   build/bench/utp-memory [connections] [active-seconds]
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbt-udp-port-private.h"
#include "../plugins/transport-utp/gbt-utp-socket.h"

typedef struct {
  GIOStream *stream;
  GSource *rsource, *wsource;
  guint64 read, written;
} End;

static guint8 junk[65536];
static gboolean active;

static gsize
rss_bytes (void)
{
  g_autofree char *statm = NULL;
  unsigned long size = 0, resident = 0;

  if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL)
      || sscanf (statm, "%lu %lu", &size, &resident) != 2)
    return 0;
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

static gsize
heap_bytes (void)
{
  struct mallinfo2 mi = mallinfo2 ();

  return mi.uordblks + mi.hblkhd;
}

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  g_ptr_array_add (user_data, g_object_ref (stream));
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
read_cb (GObject *pollable, gpointer user_data)
{
  End *e = user_data;
  guint8 buf[65536];

  for (;;)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (pollable), buf,
                                                           sizeof buf, NULL, NULL);
      if (n <= 0)
        return n < 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
      e->read += (guint64) n;
    }
}

static gboolean
write_cb (GObject *pollable, gpointer user_data)
{
  End *e = user_data;

  while (active)
    {
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (pollable),
                                                             junk, sizeof junk, NULL, NULL);
      if (n <= 0)
        return G_SOURCE_CONTINUE;
      e->written += (guint64) n;
    }
  return G_SOURCE_CONTINUE;
}

static void
end_start (End *e)
{
  GInputStream *in = g_io_stream_get_input_stream (e->stream);
  GOutputStream *out = g_io_stream_get_output_stream (e->stream);

  e->rsource = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
  g_source_set_callback (e->rsource, G_SOURCE_FUNC (read_cb), e, NULL);
  g_source_attach (e->rsource, NULL);
  e->wsource = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out), NULL);
  g_source_set_callback (e->wsource, G_SOURCE_FUNC (write_cb), e, NULL);
  g_source_attach (e->wsource, NULL);
}

static void
end_stop (End *e)
{
  if (e->rsource)
    g_source_destroy (e->rsource);
  if (e->wsource)
    g_source_destroy (e->wsource);
  g_clear_pointer (&e->rsource, g_source_unref);
  g_clear_pointer (&e->wsource, g_source_unref);
}

static void
spin_until (gboolean (*cond) (gpointer), gpointer data, gint64 max_us)
{
  gint64 end = g_get_monotonic_time () + max_us;

  while (!cond (data) && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (100);
}

static gboolean
enough_accepted (gpointer data)
{
  GPtrArray **pair = data;

  return pair[0]->len >= pair[1]->len;
}

static GbtUdpPort *
new_port (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GError) error = NULL;
  GbtUdpPort *port = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (any), &error);

  if (port == NULL)
    g_error ("%s", error->message);
  return port;
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 200;
  double active_s = argc > 2 ? atof (argv[2]) : 3.0;
  g_autoptr(GbtUdpPort) port_a = new_port ();
  g_autoptr(GbtUdpPort) port_b = new_port ();
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) dialled = g_ptr_array_new_with_free_func (g_object_unref);
  GbtUtpSocket *sock_a, *sock_b;
  End *ends;
  gsize rss0, heap0, rss_idle, heap_idle, rss_peak = 0, heap_peak = 0;
  guint64 moved = 0;
  gint64 t0, t_end;
  GPtrArray *pair[2];

  sock_a = gbt_utp_socket_new (port_a, NULL, NULL, NULL);
  sock_b = gbt_utp_socket_new (port_b, NULL, accept_cb, accepted);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  rss0 = rss_bytes ();
  heap0 = heap_bytes ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GTask) task = NULL;
      g_autoptr(GError) error = NULL;
      GIOStream *stream;

      task = g_task_new (NULL, NULL, store_result_cb, &result);
      gbt_utp_socket_connect (sock_a, G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (port_b)),
                              g_object_ref (task));
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      stream = g_task_propagate_pointer (G_TASK (result), &error);
      if (stream == NULL)
        g_error ("connect %u: %s", i, error->message);
      /* the acceptor hands its stream over at the first packet after the SYN */
      g_pollable_output_stream_write_nonblocking (
          G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream)), "x", 1, NULL, NULL);
      g_ptr_array_add (dialled, stream);
    }
  pair[0] = accepted;
  pair[1] = dialled;
  spin_until (enough_accepted, pair, 10 * G_USEC_PER_SEC);
  if (accepted->len != n)
    g_error ("only %u of %u connections accepted", accepted->len, n);
  /* delayed ACKs and the like settle */
  t_end = g_get_monotonic_time () + 200000;
  while (g_get_monotonic_time () < t_end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  rss_idle = rss_bytes ();
  heap_idle = heap_bytes ();

  ends = g_new0 (End, 2 * n);
  for (guint i = 0; i < n; i++)
    {
      ends[2 * i].stream = g_ptr_array_index (dialled, i);
      ends[2 * i + 1].stream = g_ptr_array_index (accepted, i);
    }
  active = TRUE;
  for (guint i = 0; i < 2 * n; i++)
    end_start (&ends[i]);
  t0 = g_get_monotonic_time ();
  while (g_get_monotonic_time () - t0 < (gint64) (active_s * G_USEC_PER_SEC))
    {
      for (guint k = 0; k < 64; k++)
        g_main_context_iteration (NULL, FALSE);
      rss_peak = MAX (rss_peak, rss_bytes ());
      heap_peak = MAX (heap_peak, heap_bytes ());
    }
  active = FALSE;
  for (guint i = 0; i < 2 * n; i++)
    {
      moved += ends[i].read;
      end_stop (&ends[i]);
    }

  printf ("utp-memory: %u connections, both ends in this process (%u endpoints)\n", n, 2 * n);
  printf ("idle:   RSS %+.1f KiB, heap %+.1f KiB per endpoint\n",
          ((double) rss_idle - rss0) / 1024 / (2 * n), ((double) heap_idle - heap0) / 1024 / (2 * n));
  printf ("active: RSS %+.1f KiB, heap %+.1f KiB per endpoint at the peak "
          "(%.1f MiB/s moved in all over %.1f s)\n",
          ((double) rss_peak - rss0) / 1024 / (2 * n), ((double) heap_peak - heap0) / 1024 / (2 * n),
          moved / 1048576.0 / active_s, active_s);

  /* everything goes */
  g_ptr_array_set_size (dialled, 0);
  g_ptr_array_set_size (accepted, 0);
  t_end = g_get_monotonic_time () + 25 * G_USEC_PER_SEC;
  while ((gbt_utp_socket_get_n_connections (sock_a) > 0
          || gbt_utp_socket_get_n_connections (sock_b) > 0)
         && g_get_monotonic_time () < t_end)
    g_main_context_iteration (NULL, TRUE);
  printf ("closed: %u + %u connections left, heap %+.1f KiB\n",
          gbt_utp_socket_get_n_connections (sock_a), gbt_utp_socket_get_n_connections (sock_b),
          ((double) heap_bytes () - heap0) / 1024);
  g_free (ends);
  g_object_unref (sock_a);
  g_object_unref (sock_b);
  return 0;
}
