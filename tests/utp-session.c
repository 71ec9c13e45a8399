/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The transport-utp plugin as the session loads it (GBT_PLUGIN_PATH): a
 * seeding GbtSession accepts a uTP connection on its shared UDP port, and
 * the core's peer code speaks BitTorrent over the uTP stream.  The client
 * here is the same plugin's transport on a second session's port, driven by
 * hand: handshake, interested, one whole piece requested and compared.
 * (A separate binary from utp-socket: the plugin module registers the same
 * GTypes that one compiles in.)
 */
#include <string.h>

#include "gbt-session-private.h"
#include "test-torrent.h"
#include "test-utils.h"

#define PIECE_LEN (64 * 1024)
#define BLOCK 16384

static GbtSession *
start_session (const char *address)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  return s;
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
send_all (GIOStream *stream, const guint8 *data, gsize len)
{
  GPollableOutputStream *out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  gsize done = 0;

  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (out, data + done, len - done, NULL,
                                                             &error);

      if (n < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          gbt_test_wait_until (g_pollable_output_stream_is_writable (out), 5000);
          continue;
        }
      done += (gsize) n;
    }
}

/* Reads until @buf holds at least @want bytes. */
static void
recv_until (GIOStream *stream, GByteArray *buf, gsize want)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (buf->len < want)
    {
      g_autoptr(GError) error = NULL;
      guint8 tmp[65536];
      gssize n;

      g_assert_cmpint (g_get_monotonic_time (), <, end);
      n = g_pollable_input_stream_read_nonblocking (in, tmp, sizeof tmp, NULL, &error);
      if (n < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_main_context_iteration (NULL, TRUE);
          continue;
        }
      g_assert_cmpint (n, >, 0);
      g_byte_array_append (buf, tmp, (guint) n);
    }
}

static guint32
be32 (const guint8 *p)
{
  return gbt_test_get_be32 (p);
}

/* Takes messages off @buf until one with @id, which it returns (payload
 * after the id byte) in @payload. */
static void
expect_message (GIOStream *stream, GByteArray *buf, guint8 id, GByteArray *payload)
{
  for (;;)
    {
      guint32 len;

      recv_until (stream, buf, 4);
      len = be32 (buf->data);
      g_assert_cmpuint (len, <=, BLOCK + 13);
      recv_until (stream, buf, 4 + len);
      if (len > 0 && buf->data[4] == id)
        {
          g_byte_array_set_size (payload, 0);
          g_byte_array_append (payload, buf->data + 5, len - 1);
          g_byte_array_remove_range (buf, 0, 4 + len);
          return;
        }
      g_byte_array_remove_range (buf, 0, 4 + len);
    }
}

static void
test_incoming (void)
{
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  gsize len;
  TestFile files[] = { { "a", 4 * PIECE_LEN + 1000, FALSE } };
  g_autofree guint8 *stream = test_torrent_make_stream (files, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, PIECE_LEN, stream, len);
  g_autoptr(GbtSession) seeder = start_session ("127.0.0.1");
  g_autoptr(GbtSession) client = start_session ("127.0.0.2");
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GIOStream) conn = NULL;
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  GbtTransport *utp;
  GbtUdpPort *seed_port, *client_port;
  guint8 hs[68] = { 19 };
  guint8 msg[17];
  guint piece = 1;

  utp = gbt_plugin_registry_get_transport (gbt_session_get_registry (client), "utp");
  if (utp == NULL)
    {
      g_test_skip ("the transport-utp plugin is not in GBT_PLUGIN_PATH");
      return;
    }
  g_assert_true (gbt_transport_is_udp (utp));
  seed_port = gbt_session_get_udp_port (seeder);
  client_port = gbt_session_get_udp_port (client);
  g_assert_nonnull (seed_port);
  g_assert_nonnull (client_port);
  g_assert_cmpuint (g_inet_socket_address_get_port (gbt_udp_port_get_local_address (seed_port)),
                    ==, gbt_session_get_listen_port (seeder));

  test_torrent_write_tree (seed_dir, mi, stream);
  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (st);
  gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);

  gbt_transport_connect_udp_async (utp, client_port,
                                   G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (seed_port)),
                                   NULL, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 5000);
  conn = gbt_transport_connect_finish (utp, result, &error);
  g_assert_no_error (error);

  /* handshake: no extensions, so the seeder answers with a BITFIELD */
  memcpy (hs + 1, "BitTorrent protocol", 19);
  memcpy (hs + 28, gbt_metainfo_get_info_hash (mi), 20);
  memcpy (hs + 48, "-XX0000-utp-session!", 20);
  send_all (conn, hs, sizeof hs);
  recv_until (conn, buf, 68);
  g_assert_cmpmem (buf->data, 20, hs, 20);
  g_assert_cmpmem (buf->data + 28, 20, gbt_metainfo_get_info_hash (mi), 20);
  g_byte_array_remove_range (buf, 0, 68);
  expect_message (conn, buf, 5 /* BITFIELD */, payload);
  g_assert_cmpuint (payload->len, ==, 1);
  g_assert_cmpuint (payload->data[0], ==, 0xf8); /* 5 pieces */

  /* interested, then the seeder unchokes us */
  gbt_test_put_be32 (msg, 1);
  msg[4] = 2;
  send_all (conn, msg, 5);
  expect_message (conn, buf, 1 /* UNCHOKE */, payload);

  /* a whole piece, four blocks, requested at once */
  for (guint b = 0; b < PIECE_LEN / BLOCK; b++)
    {
      gbt_test_put_be32 (msg, 13);
      msg[4] = 6;
      gbt_test_put_be32 (msg + 5, piece);
      gbt_test_put_be32 (msg + 9, b * BLOCK);
      gbt_test_put_be32 (msg + 13, BLOCK);
      send_all (conn, msg, 17);
    }
  for (guint b = 0; b < PIECE_LEN / BLOCK; b++)
    {
      guint32 begin;

      expect_message (conn, buf, 7 /* PIECE */, payload);
      g_assert_cmpuint (payload->len, ==, 8 + BLOCK);
      g_assert_cmpuint (be32 (payload->data), ==, piece);
      begin = be32 (payload->data + 4);
      g_assert_cmpuint (begin % BLOCK, ==, 0);
      g_assert_cmpmem (payload->data + 8, BLOCK, stream + piece * PIECE_LEN + begin, BLOCK);
    }

  /* we hang up: the seeder's peer goes, our connection is freed */
  g_assert_true (g_io_stream_close (conn, NULL, NULL));
  test_torrent_stop (st);
  gbt_test_rmtree (seed_dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utp-session/incoming", test_incoming);
  return g_test_run ();
}
