/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uTP socket layer and transport (plugins/transport-utp) over two
 * GbtUdpPorts on 127.0.0.1: connect, 16 MiB each way with a content check,
 * EOF and close, refused / timed-out / cancelled connects, wrong connection
 * ids, a SYN flood from raw sockets, dropping the socket handle, and a lossy,
 * reordering relay in the middle.
 */
#include <string.h>
#include <sys/resource.h>

#include "gbt-udp-port-private.h"
#include "../plugins/transport-utp/gbt-transport-utp.h"
#include "../plugins/transport-utp/gbt-utp-socket.h"
#include "../plugins/transport-utp/gbt-utp-stream.h"
#include "test-utils.h"

typedef struct {
  GbtTransport *transport;
  GbtUdpPort *port[2];
  GObject *handle[2];          /* GbtUtpSocket */
  GPtrArray *accepted[2];      /* GIOStream */
} Fixture;

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  GPtrArray *accepted = user_data;

  g_assert_true (G_IS_INET_SOCKET_ADDRESS (remote));
  g_ptr_array_add (accepted, g_object_ref (stream));
}

static GbtUdpPort *
new_port (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GError) error = NULL;
  GbtUdpPort *port = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (any), &error);

  g_assert_no_error (error);
  return port;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->transport = GBT_TRANSPORT (gbt_transport_utp_new ());
  for (int i = 0; i < 2; i++)
    {
      g_autoptr(GError) error = NULL;

      f->port[i] = new_port ();
      f->accepted[i] = g_ptr_array_new_with_free_func (g_object_unref);
      f->handle[i] = gbt_transport_listen_udp (f->transport, f->port[i], accept_cb,
                                               f->accepted[i], &error);
      g_assert_no_error (error);
      g_assert_true (GBT_IS_UTP_SOCKET (f->handle[i]));
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  for (int i = 0; i < 2; i++)
    {
      g_ptr_array_unref (f->accepted[i]);
      g_clear_object (&f->handle[i]);
      g_clear_object (&f->port[i]);
    }
  g_clear_object (&f->transport);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GbtUtpSocket *
sock (Fixture *f, int i)
{
  return GBT_UTP_SOCKET (f->handle[i]);
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GIOStream *
do_connect (Fixture *f, GbtUdpPort *from, GSocketAddress *to, GCancellable *cancellable,
            guint wait_ms, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  gbt_transport_connect_udp_async (f->transport, from, to, cancellable, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, wait_ms);
  return gbt_transport_connect_finish (f->transport, result, error);
}

/* Connects port 0 to port 1: the dialled and the accepted stream. */
static void
connect_pair (Fixture *f, GIOStream **client, GIOStream **server)
{
  g_autoptr(GError) error = NULL;
  guint before = f->accepted[1]->len;

  *client = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (f->port[1])),
                        NULL, 5000, &error);
  g_assert_no_error (error);
  g_assert_true (GBT_IS_UTP_STREAM (*client));
  g_assert_true (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (*client)));
  g_assert_true (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (*client)));
  /* the acceptor hands a stream over once the first packet after the SYN
   * arrives: say hello */
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (
                     G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (*client)), "hi", 2,
                     NULL, &error), ==, 2);
  g_assert_no_error (error);
  gbt_test_wait_until (f->accepted[1]->len > before, 5000);
  *server = g_object_ref (g_ptr_array_index (f->accepted[1], f->accepted[1]->len - 1));
  {
    char buf[2];
    gssize n;

    gbt_test_wait_until (g_pollable_input_stream_is_readable (
                           G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (*server))),
                         5000);
    n = g_pollable_input_stream_read_nonblocking (
        G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (*server)), buf, 2, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (n, ==, 2);
    g_assert_cmpmem (buf, 2, "hi", 2);
  }
}

/* ---- a flow: bytes written on one stream, checked as read on another */

/* Byte i of a flow is pattern_buf[(i + seed) % PERIOD]: a prime period, so
 * that no packet or buffer size lines up with it, and copies and compares
 * cost little next to the transport being measured. */
#define PERIOD 1048573
static guint8 pattern_buf[PERIOD + 65536];

static void
pattern_init (void)
{
  for (gsize i = 0; i < sizeof pattern_buf; i++)
    pattern_buf[i] = (guint8) (((i % PERIOD) * 0x9E3779B97F4A7C15ull) >> 56);
}

static const guint8 *
pattern_at (guint64 i, guint seed)
{
  return pattern_buf + (i + seed) % PERIOD;
}

typedef struct {
  GPollableOutputStream *out;
  GPollableInputStream *in;
  guint seed;
  guint64 total, written, read;
  gboolean eof, failed;
  GSource *wsource, *rsource;
} Flow;

static gboolean flow_write_cb (GObject *stream, gpointer user_data);
static gboolean flow_read_cb (GObject *stream, gpointer user_data);

static gboolean
flow_write_cb (GObject *stream, gpointer user_data)
{
  Flow *fl = user_data;

  while (fl->written < fl->total)
    {
      g_autoptr(GError) error = NULL;
      gsize want = MIN (65536, fl->total - fl->written);
      gssize n;

      n = g_pollable_output_stream_write_nonblocking (fl->out, pattern_at (fl->written, fl->seed),
                                                      want, NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
          g_printerr ("write: %s\n", error->message);
          fl->failed = TRUE;
          break;
        }
      fl->written += (guint64) n;
    }
  if (!fl->failed)
    g_assert_true (g_output_stream_close (G_OUTPUT_STREAM (fl->out), NULL, NULL));
  g_clear_pointer (&fl->wsource, g_source_unref);
  return G_SOURCE_REMOVE;
}

static gboolean
flow_read_cb (GObject *stream, gpointer user_data)
{
  Flow *fl = user_data;
  guint8 buf[65536];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (fl->in, buf, sizeof buf, NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
          g_printerr ("read: %s\n", error->message);
          fl->failed = TRUE;
          break;
        }
      if (n == 0)
        {
          fl->eof = TRUE;
          break;
        }
      if (memcmp (buf, pattern_at (fl->read, fl->seed), (gsize) n) != 0)
        {
          g_printerr ("bytes %" G_GUINT64_FORMAT "+%zd differ\n", fl->read, n);
          fl->failed = TRUE;
          break;
        }
      fl->read += (guint64) n;
    }
  g_clear_pointer (&fl->rsource, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
flow_start (Flow *fl, GIOStream *from, GIOStream *to, guint64 total, guint seed)
{
  memset (fl, 0, sizeof *fl);
  fl->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (from));
  fl->in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (to));
  fl->total = total;
  fl->seed = seed;
  fl->wsource = g_pollable_output_stream_create_source (fl->out, NULL);
  g_source_set_callback (fl->wsource, G_SOURCE_FUNC (flow_write_cb), fl, NULL);
  g_source_attach (fl->wsource, NULL);
  fl->rsource = g_pollable_input_stream_create_source (fl->in, NULL);
  g_source_set_callback (fl->rsource, G_SOURCE_FUNC (flow_read_cb), fl, NULL);
  g_source_attach (fl->rsource, NULL);
}

static gboolean
flow_done (Flow *fl)
{
  return fl->failed || (fl->eof && fl->rsource == NULL && fl->wsource == NULL);
}

static void
flow_stop (Flow *fl)
{
  if (fl->wsource)
    {
      g_source_destroy (fl->wsource);
      g_clear_pointer (&fl->wsource, g_source_unref);
    }
  if (fl->rsource)
    {
      g_source_destroy (fl->rsource);
      g_clear_pointer (&fl->rsource, g_source_unref);
    }
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
test_transfer (Fixture *f, gconstpointer data)
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  guint64 size = 16 * 1024 * 1024;
  Flow *up = g_new (Flow, 1), *down = g_new (Flow, 1);
  gint64 t0;
  double cpu0, secs, cpu;

  connect_pair (f, &client, &server);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 0)), ==, 1);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 1)), ==, 1);
  g_assert_cmpuint (gbt_utp_socket_get_n_half_open (sock (f, 1)), ==, 0);

  t0 = g_get_monotonic_time ();
  cpu0 = cpu_seconds ();
  flow_start (up, client, server, size, 1);
  flow_start (down, server, client, size, 2);
  gbt_test_wait_until (flow_done (up) && flow_done (down), 50000);
  secs = (g_get_monotonic_time () - t0) / 1e6;
  cpu = cpu_seconds () - cpu0;
  g_assert_false (up->failed);
  g_assert_false (down->failed);
  g_assert_cmpuint (up->read, ==, size);
  g_assert_cmpuint (down->read, ==, size);
  /* both directions share one process: each gets this rate */
  g_test_message ("loopback: 2 x %" G_GUINT64_FORMAT " MiB in %.2f s: %.1f MiB/s each way, "
                  "%.1f MiB/s total, CPU %.2f s (%.0f%% of one core)",
                  size >> 20, secs, (size >> 20) / secs, 2 * (size >> 20) / secs, cpu,
                  100 * cpu / secs);

  /* both FINs are out and read: close, and the tables empty */
  g_assert_true (g_io_stream_close (client, NULL, NULL));
  g_assert_true (g_io_stream_close (server, NULL, NULL));
  g_ptr_array_set_size (f->accepted[1], 0);
  gbt_test_wait_until (gbt_utp_socket_get_n_connections (sock (f, 0)) == 0
                         && gbt_utp_socket_get_n_connections (sock (f, 1)) == 0,
                       5000);
  g_free (up);
  g_free (down);
}

/* One way, as a download would be: the rate and the CPU it costs (both
 * ends are in this process, so the CPU is the sender's plus the
 * receiver's). */
static void
test_throughput (Fixture *f, gconstpointer data)
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  guint64 size = 64 * 1024 * 1024;
  Flow *down = g_new (Flow, 1);
  gint64 t0;
  double cpu0, secs, cpu;

  connect_pair (f, &client, &server);
  t0 = g_get_monotonic_time ();
  cpu0 = cpu_seconds ();
  flow_start (down, server, client, size, 9);
  gbt_test_wait_until (flow_done (down), 50000);
  secs = (g_get_monotonic_time () - t0) / 1e6;
  cpu = cpu_seconds () - cpu0;
  g_assert_false (down->failed);
  g_assert_cmpuint (down->read, ==, size);
  g_test_message ("one way: %" G_GUINT64_FORMAT " MiB in %.2f s: %.1f MiB/s, "
                  "CPU %.2f s (sender + receiver), %.2f CPU s per GiB",
                  size >> 20, secs, (size >> 20) / secs, cpu, cpu * 1024 / (size >> 20));
  g_free (down);
}

/* One way, then the reader sees EOF while the other side can still write. */
static void
test_half_close (Fixture *f, gconstpointer data)
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GError) error = NULL;
  Flow *up = g_new (Flow, 1), *down = g_new (Flow, 1);
  char buf[16];

  connect_pair (f, &client, &server);
  flow_start (up, client, server, 100000, 3);
  gbt_test_wait_until (flow_done (up), 10000);
  g_assert_false (up->failed);
  g_assert_true (up->eof);
  /* more reads: still EOF */
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (
                     G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server)), buf,
                     sizeof buf, NULL, &error), ==, 0);
  g_assert_no_error (error);
  /* the client closed its output: writing there fails */
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (
                     G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (client)), "x", 1,
                     NULL, &error), <, 0);
  g_assert_nonnull (error);
  g_clear_error (&error);
  /* the server still writes to the client */
  flow_start (down, server, client, 200000, 4);
  gbt_test_wait_until (flow_done (down), 10000);
  g_assert_false (down->failed);
  g_assert_cmpuint (down->read, ==, 200000);
  flow_stop (up);
  flow_stop (down);
  g_free (up);
  g_free (down);
}

/* Dropping the streams without closing: FIN, linger, freed. */
static void
test_drop_streams (Fixture *f, gconstpointer data)
{
  GIOStream *client = NULL, *server = NULL;

  connect_pair (f, &client, &server);
  g_ptr_array_set_size (f->accepted[1], 0);
  g_object_unref (client);
  g_object_unref (server);
  gbt_test_wait_until (gbt_utp_socket_get_n_connections (sock (f, 0)) == 0
                         && gbt_utp_socket_get_n_connections (sock (f, 1)) == 0,
                       5000);
}

/* The socket handle goes: our stream fails at once, the peer's sees the
 * RESET. */
static void
test_drop_socket (Fixture *f, gconstpointer data)
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GError) error = NULL;
  GPollableInputStream *cin, *sin;
  char buf[16];

  connect_pair (f, &client, &server);
  cin = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (client));
  sin = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server));
  g_clear_object (&f->handle[1]);
  g_assert_true (g_pollable_input_stream_is_readable (sin));
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (sin, buf, sizeof buf, NULL, &error),
                   <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
  g_clear_error (&error);
  gbt_test_wait_until (g_pollable_input_stream_is_readable (cin), 5000);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (cin, buf, sizeof buf, NULL, &error),
                   <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtUdpPort) port = new_port ();
  g_autoptr(GbtUtpSocket) refusing = gbt_utp_socket_new (port, NULL, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  gint64 t0 = g_get_monotonic_time ();

  stream = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (port)),
                       NULL, 2000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (stream);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 0)), ==, 0);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (refusing), ==, 0);
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
  /* a UDP port nobody claims datagrams on */
  g_autoptr(GbtUdpPort) silent = new_port ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  gint64 t0 = g_get_monotonic_time ();
  guint64 received = 0;

  stream = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (silent)),
                       NULL, 6000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_null (stream);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
  gbt_udp_port_get_counts (silent, &received, NULL);
  /* the SYN went out more than once */
  g_assert_cmpuint (received, >=, 2);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 0)), ==, 0);
}

/* nobody listens on that UDP port at all: the kernel's ICMP port
 * unreachable fails the connect at once, not after the 3 s timeout */
static void
test_unreachable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GSocketAddress) closed = NULL;
  gint64 t0;
  guint16 port;

  {
    /* a port that was free a moment ago, and is closed again */
    g_autoptr(GbtUdpPort) gone = new_port ();
    port = g_inet_socket_address_get_port (gbt_udp_port_get_local_address (gone));
  }
  {
    g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
    closed = g_inet_socket_address_new (lo, port);
  }
  t0 = g_get_monotonic_time ();
  stream = do_connect (f, f->port[0], closed, NULL, 6000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_null (stream);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 0)), ==, 0);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtUdpPort) silent = new_port ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = NULL;
  gint64 t0 = g_get_monotonic_time ();

  g_timeout_add (50, cancel_cb, cancellable);
  stream = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (silent)),
                       cancellable, 2000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, G_USEC_PER_SEC);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 0)), ==, 0);

  /* already cancelled */
  g_clear_error (&error);
  stream = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (silent)),
                       cancellable, 2000, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  gbt_test_wait_until (gbt_utp_socket_get_n_connections (sock (f, 0)) == 0, 2000);
}

/* ---- raw datagrams */

static GSocket *
raw_socket (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GError) error = NULL;
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                             G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_socket_set_blocking (s, FALSE);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_assert_no_error (error);
  return s;
}

static void
raw_send (GSocket *s, GbtUdpPort *to, GbtUtpType type, guint16 id, guint16 seq)
{
  guint8 buf[GBT_UTP_HEADER_LEN + 8];
  GbtUtpPacket p = {
    .type = type,
    .connection_id = id,
    .timestamp_us = (guint32) g_get_monotonic_time (),
    .wnd_size = 65536,
    .seq_nr = seq,
    .ack_nr = 1,
    .payload = (const guint8 *) "garbage!",
    .payload_len = type == GBT_UTP_ST_DATA ? 8 : 0,
  };
  gsize n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (n, >, 0);
  g_assert_cmpint (g_socket_send_to (s, G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (to)),
                                     (const char *) buf, n, NULL, &error), ==, (gssize) n);
  g_assert_no_error (error);
}

static guint64
port_received (GbtUdpPort *port)
{
  guint64 received = 0;

  gbt_udp_port_get_counts (port, &received, NULL);
  return received;
}

/* Packets with ids nobody uses, from the peer's own port and from another,
 * change nothing; a flow still completes. */
static void
test_wrong_ids (Fixture *f, gconstpointer data)
{
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GSocket) raw = raw_socket ();
  guint64 ignored0 = 0, ignored = 0, resets = 0, base = port_received (f->port[1]);
  gint64 t0;
  Flow *up = g_new (Flow, 1);

  connect_pair (f, &client, &server);
  gbt_utp_socket_get_counts (sock (f, 1), NULL, NULL, &ignored0);
  base = port_received (f->port[1]);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < 200; i++)
    {
      raw_send (raw, f->port[1], i % 3 == 0 ? GBT_UTP_ST_DATA
                                 : i % 3 == 1 ? GBT_UTP_ST_STATE : GBT_UTP_ST_FIN,
                (guint16) (i * 331), (guint16) i);
      raw_send (raw, f->port[1], GBT_UTP_ST_RESET, (guint16) (i * 331), (guint16) i);
    }
  gbt_test_wait_until (port_received (f->port[1]) >= base + 400, 5000);
  gbt_utp_socket_get_counts (sock (f, 1), &resets, NULL, &ignored);
  g_assert_cmpuint (ignored - ignored0, >=, 400 - 4);
  /* answered with RESETs, rate limited: a burst of 50, then 50/s */
  g_assert_cmpuint (resets, >, 0);
  g_assert_cmpuint (resets, <=, 51 + 50 * (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (sock (f, 1)), ==, 1);

  flow_start (up, client, server, 1 << 20, 5);
  gbt_test_wait_until (flow_done (up), 10000);
  g_assert_false (up->failed);
  g_assert_cmpuint (up->read, ==, 1 << 20);
  g_free (up);
}

/* SYNs from many source ports with distinct ids: the half-open bound holds
 * throughout; past it SYNs get a cookie and no state, so a real peer still
 * gets in (and its bytes flow both ways); the half-open ones expire. */
static void
test_syn_flood (Fixture *f, gconstpointer data)
{
  GbtUtpSocketConfig config;
  g_autoptr(GbtUdpPort) port = new_port ();
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GbtUtpSocket) target = NULL;
  GSocket *raws[16];
  guint64 dropped = 0, base;
  guint max_seen = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) client = NULL;

  gbt_utp_socket_config_init (&config);
  config.max_half_open = 32;
  config.max_connections = 100;
  config.half_open_timeout_us = 4 * G_USEC_PER_SEC;
  config.resets_per_second = 10;
  target = gbt_utp_socket_new (port, &config, accept_cb, accepted);
  for (guint i = 0; i < G_N_ELEMENTS (raws); i++)
    raws[i] = raw_socket ();
  base = port_received (port);
  for (guint round = 0; round < 20; round++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (raws); i++)
        for (guint j = 0; j < 10; j++)
          raw_send (raws[i], port, GBT_UTP_ST_SYN, (guint16) (round * 1000 + i * 17 + j * 3),
                    (guint16) j);
      base += G_N_ELEMENTS (raws) * 10;
      gbt_test_wait_until (port_received (port) >= base, 5000);
      max_seen = MAX (max_seen, gbt_utp_socket_get_n_connections (target));
      g_assert_cmpuint (gbt_utp_socket_get_n_half_open (target), <=, 32);
      g_assert_cmpuint (gbt_utp_socket_get_n_connections (target), <=, 100);
    }
  g_assert_cmpuint (max_seen, ==, 32);
  gbt_utp_socket_get_counts (target, NULL, &dropped, NULL);
  g_assert_cmpuint (dropped, >=, 20 * 160 - 32);
  g_assert_cmpuint (accepted->len, ==, 0);

  /* a real peer while the half-open table is full: by cookie */
  g_assert_cmpuint (gbt_utp_socket_get_n_half_open (target), ==, 32);
  client = do_connect (f, f->port[0], G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (port)),
                       NULL, 5000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (
                     G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (client)), "hi", 2,
                     NULL, &error), ==, 2);
  gbt_test_wait_until (accepted->len == 1, 5000);
  g_assert_cmpuint (gbt_utp_socket_get_n_half_open (target), ==, 32);
  {
    g_autoptr(GIOStream) server = g_object_ref (g_ptr_array_index (accepted, 0));
    Flow *up = g_new (Flow, 1), *down = g_new (Flow, 1);
    char hi[2];

    gbt_test_wait_until (g_pollable_input_stream_is_readable (
                           G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server))),
                         5000);
    g_assert_cmpint (g_pollable_input_stream_read_nonblocking (
                       G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server)), hi, 2,
                       NULL, &error), ==, 2);
    g_assert_cmpmem (hi, 2, "hi", 2);
    flow_start (up, client, server, 300000, 11);
    flow_start (down, server, client, 300000, 12);
    gbt_test_wait_until (flow_done (up) && flow_done (down), 10000);
    g_assert_false (up->failed);
    g_assert_false (down->failed);
    g_assert_cmpuint (up->read, ==, 300000);
    g_assert_cmpuint (down->read, ==, 300000);
    g_free (up);
    g_free (down);
  }

  /* the half-open ones expire; the real one stays */
  gbt_test_wait_until (gbt_utp_socket_get_n_half_open (target) == 0
                         && gbt_utp_socket_get_n_connections (target) == 1,
                       10000);
  for (guint i = 0; i < G_N_ELEMENTS (raws); i++)
    g_object_unref (raws[i]);
}

/* A peer made of a raw UDP socket: SYN, then the first DATA acking the
 * answer.  Returns the id its packets carry. */
static guint16
raw_connect (GSocket *raw, GbtUdpPort *to, guint16 syn_id)
{
  guint8 buf[2048];
  guint8 out[GBT_UTP_HEADER_LEN + 2];
  GbtUtpPacket p;
  GbtUtpPacket data = { .type = GBT_UTP_ST_DATA, .wnd_size = 65536 };
  gssize n;
  g_autoptr(GError) error = NULL;

  raw_send (raw, to, GBT_UTP_ST_SYN, syn_id, 500);
  gbt_test_wait_until (g_socket_condition_check (raw, G_IO_IN) & G_IO_IN, 5000);
  n = g_socket_receive (raw, (char *) buf, sizeof buf, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (gbt_utp_packet_parse (buf, (gsize) n, &p, NULL));
  g_assert_cmpint (p.type, ==, GBT_UTP_ST_STATE);
  g_assert_cmpuint (p.connection_id, ==, syn_id);
  g_assert_cmpuint (p.ack_nr, ==, 500);
  data.connection_id = (guint16) (syn_id + 1);
  data.seq_nr = 501;
  data.ack_nr = (guint16) (p.seq_nr - 1);
  data.timestamp_us = (guint32) g_get_monotonic_time ();
  data.payload = (const guint8 *) "hi";
  data.payload_len = 2;
  n = (gssize) gbt_utp_packet_build (&data, out, sizeof out);
  g_assert_cmpint (g_socket_send_to (raw, G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (to)),
                                     (const char *) out, (gsize) n, NULL, &error), ==, n);
  return data.connection_id;
}

static void
drain (GSocket *raw)
{
  char buf[2048];

  while (g_socket_receive (raw, buf, sizeof buf, NULL, NULL) > 0)
    ;
}

/* A peer that goes silent: the idle timeout resets its connection; a
 * closed stream's FIN that nobody acks lingers, then goes. */
static void
test_vanished_peer (Fixture *f, gconstpointer data)
{
  GbtUtpSocketConfig config;
  g_autoptr(GbtUdpPort) port = new_port ();
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GbtUtpSocket) target = NULL;
  g_autoptr(GSocket) raw = raw_socket ();
  g_autoptr(GError) error = NULL;
  GPollableInputStream *in;
  char buf[16];
  gint64 t0;

  gbt_utp_socket_config_init (&config);
  config.idle_timeout_us = 4 * G_USEC_PER_SEC;
  config.linger_timeout_us = 300000;
  target = gbt_utp_socket_new (port, &config, accept_cb, accepted);

  /* idle */
  raw_connect (raw, port, 0x4000);
  gbt_test_wait_until (accepted->len == 1, 5000);
  in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (g_ptr_array_index (accepted, 0)));
  gbt_test_wait_until (g_pollable_input_stream_is_readable (in), 5000);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buf, sizeof buf, NULL, &error),
                   ==, 2);
  t0 = g_get_monotonic_time ();
  gbt_test_wait_until (g_pollable_input_stream_is_readable (in), 8000);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 3 * G_USEC_PER_SEC);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buf, sizeof buf, NULL, &error),
                   <, 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&error);
  g_ptr_array_set_size (accepted, 0);
  gbt_test_wait_until (gbt_utp_socket_get_n_connections (target) == 0, 2000);
  drain (raw);

  /* linger: our FIN is never acked */
  raw_connect (raw, port, 0x5000);
  gbt_test_wait_until (accepted->len == 1, 5000);
  g_assert_cmpuint (gbt_utp_socket_get_n_connections (target), ==, 1);
  t0 = g_get_monotonic_time ();
  g_ptr_array_set_size (accepted, 0);
  gbt_test_wait_until (gbt_utp_socket_get_n_connections (target) == 0, 5000);
  /* the linger bound (and the 1 s sweep), not the idle one, let it go */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 3500000);
}

/* ---- a lossy relay: A <-> [r0 | r1] <-> B, dropping and reordering */

typedef struct {
  GSocket *s[2];               /* s[0] faces the client, s[1] the server */
  GSocketAddress *client;      /* learned from the first datagram */
  GSocketAddress *server;
  GSource *src[2];
  GRand *rand;
  GSocketAddress *held_to;
  GSocket *held_via;
  guint8 held[65536];
  gsize held_len;
  guint dropped, reordered, forwarded;
} Relay;

static void
relay_out (Relay *r, GSocket *via, GSocketAddress *to, const guint8 *data, gsize len)
{
  g_socket_send_to (via, to, (const char *) data, len, NULL, NULL);
  r->forwarded++;
}

static gboolean
relay_cb (GSocket *s, GIOCondition cond, gpointer user_data)
{
  Relay *r = user_data;
  int side = s == r->s[0] ? 0 : 1;
  guint8 buf[65536];

  for (;;)
    {
      g_autoptr(GSocketAddress) from = NULL;
      gssize n = g_socket_receive_from (s, &from, (char *) buf, sizeof buf, NULL, NULL);
      GSocket *via = r->s[1 - side];
      GSocketAddress *to;

      if (n <= 0)
        break;
      if (side == 0 && r->client == NULL)
        r->client = g_object_ref (from);
      to = side == 0 ? r->server : r->client;
      if (to == NULL)
        continue;
      if (g_rand_int_range (r->rand, 0, 100) < 3)
        {
          r->dropped++;
          continue;
        }
      if (r->held_len == 0 && g_rand_int_range (r->rand, 0, 100) < 3)
        {
          /* hold it back: it goes after the next one */
          memcpy (r->held, buf, (gsize) n);
          r->held_len = (gsize) n;
          r->held_to = to;
          r->held_via = via;
          r->reordered++;
          continue;
        }
      relay_out (r, via, to, buf, (gsize) n);
      if (r->held_len > 0)
        {
          relay_out (r, r->held_via, r->held_to, r->held, r->held_len);
          r->held_len = 0;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
test_lossy_relay (Fixture *f, gconstpointer data)
{
  Relay r = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) client = NULL;
  g_autoptr(GIOStream) server = NULL;
  g_autoptr(GSocketAddress) entry = NULL;
  Flow *up = g_new (Flow, 1), *down = g_new (Flow, 1);
  guint64 size = 4 * 1024 * 1024;

  r.rand = g_rand_new_with_seed (13);
  r.server = g_object_ref (G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (f->port[1])));
  for (int i = 0; i < 2; i++)
    {
      r.s[i] = raw_socket ();
      r.src[i] = g_socket_create_source (r.s[i], G_IO_IN, NULL);
      g_source_set_callback (r.src[i], G_SOURCE_FUNC (relay_cb), &r, NULL);
      g_source_attach (r.src[i], NULL);
    }
  entry = g_socket_get_local_address (r.s[0], &error);
  g_assert_no_error (error);

  /* the SYN itself may be dropped: the connect retries */
  client = do_connect (f, f->port[0], entry, NULL, 5000, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_pollable_output_stream_write_nonblocking (
                     G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (client)), "hi", 2,
                     NULL, &error), ==, 2);
  gbt_test_wait_until (f->accepted[1]->len == 1, 10000);
  server = g_object_ref (g_ptr_array_index (f->accepted[1], 0));
  {
    char buf[2];

    gbt_test_wait_until (g_pollable_input_stream_is_readable (
                           G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server))),
                         10000);
    g_assert_cmpint (g_pollable_input_stream_read_nonblocking (
                       G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (server)), buf, 2,
                       NULL, &error), ==, 2);
  }
  flow_start (up, client, server, size, 6);
  flow_start (down, server, client, size / 4, 7);
  gbt_test_wait_until (flow_done (up) && flow_done (down), 45000);
  g_assert_false (up->failed);
  g_assert_false (down->failed);
  g_assert_cmpuint (up->read, ==, size);
  g_assert_cmpuint (down->read, ==, size / 4);
  g_test_message ("relay: %u forwarded, %u dropped, %u reordered", r.forwarded, r.dropped,
                  r.reordered);
  g_assert_cmpuint (r.dropped, >, 0);
  g_assert_cmpuint (r.reordered, >, 0);

  for (int i = 0; i < 2; i++)
    {
      g_source_destroy (r.src[i]);
      g_source_unref (r.src[i]);
      g_object_unref (r.s[i]);
    }
  g_clear_object (&r.client);
  g_clear_object (&r.server);
  g_rand_free (r.rand);
  g_free (up);
  g_free (down);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pattern_init ();
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/utp-socket/transfer", test_transfer);
  ADD ("/utp-socket/throughput", test_throughput);
  ADD ("/utp-socket/half-close", test_half_close);
  ADD ("/utp-socket/drop-streams", test_drop_streams);
  ADD ("/utp-socket/drop-socket", test_drop_socket);
  ADD ("/utp-socket/refused", test_refused);
  ADD ("/utp-socket/timeout", test_timeout);
  ADD ("/utp-socket/unreachable", test_unreachable);
  ADD ("/utp-socket/cancel", test_cancel);
  ADD ("/utp-socket/wrong-ids", test_wrong_ids);
  ADD ("/utp-socket/syn-flood", test_syn_flood);
  ADD ("/utp-socket/vanished-peer", test_vanished_peer);
  ADD ("/utp-socket/lossy-relay", test_lossy_relay);
#undef ADD
  return g_test_run ();
}
