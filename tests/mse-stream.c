/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mse plugin's filtered stream (compiled in): RC4 both ways over a
 * socket pair whose small send buffer makes non-blocking writes short, so
 * the cipher must stand exactly where the bytes sent end; the bytes read
 * past a handshake replayed first; a plaintext stream passing through.
 */
#include <string.h>
#include <sys/socket.h>

#include "gbt-mse.h"
#include "test-utils.h"

#define TOTAL (4 * 1024 * 1024 + 333)

typedef struct {
  GIOStream *a, *b;
  GByteArray *sent;
  GByteArray *got;
  gsize pos;
  guint short_writes;
  gboolean closed;
} Pipe;

static void
socket_pair (GIOStream **a, GIOStream **b)
{
  int fds[2];
  int small = 4096;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) sa = NULL;
  g_autoptr(GSocket) sb = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (setsockopt (fds[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), ==, 0);
      g_assert_cmpint (setsockopt (fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), ==, 0);
    }
  sa = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  sb = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (sa, FALSE);
  g_socket_set_blocking (sb, FALSE);
  *a = G_IO_STREAM (g_socket_connection_factory_create_connection (sa));
  *b = G_IO_STREAM (g_socket_connection_factory_create_connection (sb));
}

static gboolean
write_cb (GObject *stream, gpointer data)
{
  Pipe *p = data;
  g_autoptr(GError) error = NULL;
  gsize want = MIN (p->sent->len - p->pos, 65536);
  gssize n;

  if (want == 0)
    return G_SOURCE_REMOVE;
  n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (stream),
                                                  p->sent->data + p->pos, want, NULL, &error);
  if (n < 0)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      return G_SOURCE_CONTINUE;
    }
  if ((gsize) n < want)
    p->short_writes++;
  p->pos += n;
  return p->pos < p->sent->len ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
read_cb (GObject *stream, gpointer data)
{
  Pipe *p = data;
  g_autoptr(GError) error = NULL;
  guint8 buf[7000];
  gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream), buf,
                                                       sizeof buf, NULL, &error);

  if (n < 0)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      return G_SOURCE_CONTINUE;
    }
  if (n == 0)
    {
      p->closed = TRUE;
      return G_SOURCE_REMOVE;
    }
  g_byte_array_append (p->got, buf, n);
  return G_SOURCE_CONTINUE;
}

static void
pump (GIOStream *from, GIOStream *to, const guint8 *prefix, gsize prefix_len, Pipe *p)
{
  GSource *ws = g_pollable_output_stream_create_source (
    G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (from)), NULL);
  GSource *rs = g_pollable_input_stream_create_source (
    G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (to)), NULL);

  g_source_set_callback (ws, (GSourceFunc) (void (*) (void)) write_cb, p, NULL);
  g_source_set_callback (rs, (GSourceFunc) (void (*) (void)) read_cb, p, NULL);
  g_source_attach (ws, NULL);
  g_source_attach (rs, NULL);
  gbt_test_wait_until (p->got->len >= prefix_len + p->sent->len, 30000);
  g_source_destroy (ws);
  g_source_destroy (rs);
  g_source_unref (ws);
  g_source_unref (rs);
  g_assert_cmpuint (p->got->len, ==, prefix_len + p->sent->len);
  g_assert_cmpmem (p->got->data, prefix_len, prefix, prefix_len);
  g_assert_cmpmem (p->got->data + prefix_len, p->sent->len, p->sent->data, p->sent->len);
}

static void
fill (GByteArray *a, gsize n)
{
  g_byte_array_set_size (a, n);
  for (gsize i = 0; i < n; i++)
    a->data[i] = (guint8) (i * 2654435761u >> 13);
}

static void
test_rc4_short_writes (void)
{
  GIOStream *ra, *rb;
  g_autoptr(GIOStream) a = NULL;
  g_autoptr(GIOStream) b = NULL;
  struct arcfour_ctx k1, k2;
  static const guint8 prefix[] = "read past the handshake";
  Pipe p = { 0 };

  socket_pair (&ra, &rb);
  arcfour_set_key (&k1, 5, (const guint8 *) "keyAA");
  arcfour_set_key (&k2, 5, (const guint8 *) "keyBB");
  /* a encrypts with k1 and decrypts with k2; b the other way round */
  a = gbt_mse_stream_new (ra, &k1, &k2, NULL, 0);
  b = gbt_mse_stream_new (rb, &k2, &k1, prefix, sizeof prefix);
  g_object_unref (ra);
  g_object_unref (rb);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (a), "gbt-encryption"), ==, "rc4");
  p.sent = g_byte_array_new ();
  p.got = g_byte_array_new ();
  fill (p.sent, TOTAL);
  pump (a, b, prefix, sizeof prefix, &p);
  /* the point of the test: writes were cut short, the stream still lined up */
  g_assert_cmpuint (p.short_writes, >, 0);

  /* and the other way */
  g_byte_array_set_size (p.got, 0);
  p.pos = 0;
  p.short_writes = 0;
  pump (b, a, NULL, 0, &p);
  g_assert_cmpuint (p.short_writes, >, 0);

  /* closing one closes the socket: the other reads the end */
  g_assert_true (g_io_stream_close (a, NULL, NULL));
  p.closed = FALSE;
  {
    GSource *rs = g_pollable_input_stream_create_source (
      G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (b)), NULL);
    g_source_set_callback (rs, (GSourceFunc) (void (*) (void)) read_cb, &p, NULL);
    g_source_attach (rs, NULL);
    gbt_test_wait_until (p.closed, 10000);
    g_source_destroy (rs);
    g_source_unref (rs);
  }
  g_byte_array_unref (p.sent);
  g_byte_array_unref (p.got);
}

/* plaintext: bytes pass unchanged (checked on the raw socket) */
static void
test_plaintext (void)
{
  GIOStream *ra, *rb;
  g_autoptr(GIOStream) a = NULL;
  static const guint8 prefix[] = "\x13" "BitTorrent protocol";
  Pipe p = { 0 };

  socket_pair (&ra, &rb);
  a = gbt_mse_stream_new (ra, NULL, NULL, NULL, 0);
  g_assert_cmpstr (g_object_get_data (G_OBJECT (a), "gbt-encryption"), ==, "plaintext");
  p.sent = g_byte_array_new ();
  p.got = g_byte_array_new ();
  fill (p.sent, 300000);
  {
    g_autoptr(GIOStream) b = gbt_mse_stream_new (rb, NULL, NULL, prefix, 20);
    pump (a, b, prefix, 20, &p);
  }
  g_object_unref (ra);
  g_object_unref (rb);
  g_byte_array_unref (p.sent);
  g_byte_array_unref (p.got);
}

static gboolean
count_cb (GObject *pollable, gpointer data)
{
  guint *n = data;
  (*n)++;
  return G_SOURCE_CONTINUE;
}

/* A reader keeps one source for the whole connection (the core does): once
 * the replayed bytes are read and nothing else comes, it must stop firing.
 * A 0 ms timeout here spun the main loop at 100% CPU for the connection's
 * life (found by bench/compare --encryption require). */
static void
test_prefix_source_quiet (void)
{
  GIOStream *ra, *rb;
  static const guint8 prefix[] = "left over";
  guint8 buf[64];
  guint fired = 0;
  gboolean expired = FALSE;
  GSource *source;
  g_autoptr(GError) error = NULL;

  socket_pair (&ra, &rb);
  {
    g_autoptr(GIOStream) b = gbt_mse_stream_new (rb, NULL, NULL, prefix, sizeof prefix);
    GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (b));

    source = g_pollable_input_stream_create_source (in, NULL);
    g_source_set_callback (source, G_SOURCE_FUNC (count_cb), &fired, NULL);
    g_source_attach (source, NULL);
    gbt_test_wait_until (fired >= 1, 5000);
    g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, buf, sizeof buf, NULL, &error),
                     ==, sizeof prefix);
    /* nothing more to read: a quiet 200 ms */
    fired = 0;
    g_timeout_add (200, gbt_test_set_flag_cb, &expired);
    while (!expired)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpuint (fired, <=, 1);
    g_source_destroy (source);
    g_source_unref (source);
  }
  g_object_unref (ra);
  g_object_unref (rb);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mse-stream/rc4-short-writes", test_rc4_short_writes);
  g_test_add_func ("/mse-stream/plaintext", test_plaintext);
  g_test_add_func ("/mse-stream/prefix-source-quiet", test_prefix_source_quiet);
  return g_test_run ();
}
