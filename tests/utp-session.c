/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uTP through the whole engine: two sessions over loopback with the
 * transport-utp plugin (from GBT_PLUGIN_PATH), and the dial policy of
 * gbt-session-dial.c: uTP only; TCP first falling back to uTP when the peer
 * takes no TCP; and a peer that accepts TCP only to close it, as a
 * libtorrent with incoming TCP off does, reached over uTP next.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "test-torrent.h"
#include "test-utils.h"

static GbtSession *
start_with (const char *address, const char *const *transports)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  if (transports)
    gbt_session_set_transports (s, transports);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gbt_session_get_listen_port (s), >, 0);
  return s;
}

static void
finished_cb (GbtTorrent *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* the transport of the leecher's one peer, once it has one */
static char *
peer_transport (GbtTorrent *t)
{
  GListModel *peers = gbt_torrent_get_peers (t);
  g_autoptr(GbtPeerInfo) info = NULL;

  if (g_list_model_get_n_items (peers) == 0)
    return NULL;
  info = g_list_model_get_item (peers, 0);
  return g_strdup (gbt_peer_info_get_transport (info));
}

/* the transport of its first peer into *@out, once: a condition that
 * gbt_test_wait_until() may evaluate again without leaking */
static gboolean
take_transport (GbtTorrent *t, char **out)
{
  if (*out == NULL)
    *out = peer_transport (t);
  return *out != NULL;
}

typedef struct {
  const char *const *seed_transports;
  const char *const *leech_transports;
  gboolean tcp_trap;          /* a TCP listener on the seeder's port that closes at once */
  const char *expect;         /* the transport the leecher ends up on */
} Case;

static gboolean
trap_incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source,
                  gpointer data)
{
  guint *n = data;

  (*n)++;
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static void
run_case (const Case *c, const TestFile *files, guint n_files, guint32 piece_length)
{
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (files, n_files, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", n_files > 1 ? files : NULL, n_files,
                                                piece_length, stream, len);
  g_autoptr(GbtSession) seeder = start_with ("127.0.0.1", c->seed_transports);
  g_autoptr(GbtSession) leecher = start_with ("127.0.0.2", c->leech_transports);
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketService) trap = NULL;
  g_autofree char *transport = NULL;
  guint16 port = gbt_session_get_listen_port (seeder);
  guint trapped = 0;
  gboolean done = FALSE;

  if (c->tcp_trap)
    {
      g_autoptr(GSocketAddress) at = g_inet_socket_address_new (lo, port);

      trap = g_socket_service_new ();
      g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (trap), at,
                                                    G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                    NULL, NULL, &error));
      g_assert_no_error (error);
      g_signal_connect (trap, "incoming", G_CALLBACK (trap_incoming_cb), &trapped);
    }

  test_torrent_write_tree (seed_dir, mi, stream);
  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (st);
  gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &done);
  gbt_torrent_start (lt);
  g_ptr_array_add (addrs, g_inet_socket_address_new (lo, port));
  gbt_torrent_add_peers (lt, addrs, "test");
  gbt_test_wait_until (take_transport (lt, &transport) || done, 30000);
  take_transport (lt, &transport);
  gbt_test_wait_until (done, 60000);
  g_assert_nonnull (transport);
  g_assert_cmpstr (transport, ==, c->expect);
  if (c->tcp_trap)
    g_assert_cmpuint (trapped, >=, 1);
  test_torrent_stop (lt);
  test_torrent_stop (st);
  g_assert_true (test_torrent_tree_equal (leech_dir, mi, stream));
  if (trap)
    g_socket_service_stop (trap);
  gbt_test_rmtree (seed_dir);
  gbt_test_rmtree (leech_dir);
}

static const char *const only_utp[] = { "utp", NULL };
static const char *const only_tcp[] = { "tcp", NULL };

/* both sides uTP only: 6 MiB in 64 KiB pieces, and a multi-file torrent */
static void
test_utp_only (void)
{
  static const TestFile one[] = { { "payload", 6 * 1024 * 1024 + 123, FALSE } };
  static const TestFile many[] = {
    { "a/one.bin", 1500000, FALSE }, { "a/two.bin", 1, FALSE },
    { "b/three.bin", 2000001, FALSE }, { "four.bin", 65536, FALSE },
  };
  Case c = { only_utp, only_utp, FALSE, "utp" };

  run_case (&c, one, 1, 65536);
  run_case (&c, many, G_N_ELEMENTS (many), 32768);
}

/* the seeder takes no TCP (its port refuses): the default policy falls back
 * to uTP */
static void
test_fallback_refused (void)
{
  static const TestFile one[] = { { "payload", 2 * 1024 * 1024, FALSE } };
  Case c = { only_utp, NULL, FALSE, "utp" };

  run_case (&c, one, 1, 32768);
}

/* a TCP listener that closes every connection before the handshake: the
 * next dial goes over uTP */
static void
test_fallback_closed (void)
{
  static const TestFile one[] = { { "payload", 2 * 1024 * 1024, FALSE } };
  Case c = { only_utp, NULL, TRUE, "utp" };

  run_case (&c, one, 1, 32768);
}

/* both take both: TCP, the faster here, is what connects */
static void
test_default_prefers_tcp (void)
{
  static const TestFile one[] = { { "payload", 2 * 1024 * 1024, FALSE } };
  Case c = { NULL, NULL, FALSE, "tcp" };

  run_case (&c, one, 1, 32768);
}

/* TCP only on our side, uTP only on theirs: no way through, and it says so
 * by never connecting (the download cannot finish) */
static void
test_no_common_transport (void)
{
  g_autoptr(GbtSession) seeder = start_with ("127.0.0.1", only_utp);
  g_autoptr(GbtSession) leecher = start_with ("127.0.0.2", only_tcp);

  /* TCP-only sessions still have the shared UDP port (the DHT's), but dial
   * only TCP; uTP-only ones listen on no TCP port */
  g_assert_nonnull (gbt_session_get_udp_port (leecher));
  g_assert_nonnull (gbt_session_get_udp_port (seeder));
  {
    g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
    g_autoptr(GSocketAddress) at = g_inet_socket_address_new (lo, gbt_session_get_listen_port (seeder));
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) conn = NULL;
    g_autoptr(GError) error = NULL;

    conn = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (at), NULL, &error);
    g_assert_null (conn);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utp-session/utp-only", test_utp_only);
  g_test_add_func ("/utp-session/fallback-refused", test_fallback_refused);
  g_test_add_func ("/utp-session/fallback-closed", test_fallback_closed);
  g_test_add_func ("/utp-session/default-prefers-tcp", test_default_prefers_tcp);
  g_test_add_func ("/utp-session/no-common-transport", test_no_common_transport);
  return g_test_run ();
}
