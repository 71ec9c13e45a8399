/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protocol encryption (the mse plugin, from GBT_PLUGIN_PATH) through the
 * whole engine: two sessions over loopback, every pair of policies
 * (prefer, require, off), each way (the leecher dials the seeder, and the
 * seeder dials the leecher): encrypted when both can, plaintext when one
 * is off and the other only prefers (the dialler's refusal and plaintext
 * retry, both ways), no connection between require and off; over TCP and
 * over uTP.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "test-torrent.h"
#include "test-utils.h"

enum { NONE, PLAIN, RC4 };

static GbtSession *
start_with (const char *address, GbtEncryption mode, const char *const *transports)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  gbt_session_set_encryption (s, mode);
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

/* the flags of the torrent's first peer into *@flags, once it has one */
static gboolean
take_flags (GbtTorrent *t, int *flags)
{
  GListModel *peers = gbt_torrent_get_peers (t);
  g_autoptr(GbtPeerInfo) info = NULL;

  if (*flags >= 0)
    return TRUE;
  if (g_list_model_get_n_items (peers) == 0)
    return FALSE;
  info = g_list_model_get_item (peers, 0);
  *flags = gbt_peer_info_get_flags (info);
  return TRUE;
}

static gboolean
mse_loaded (void)
{
  /* a started session has loaded the plugins */
  g_autoptr(GbtSession) s = start_with ("127.0.0.1", GBT_ENCRYPTION_PREFER, NULL);
  g_autoptr(GPtrArray) list = NULL;

  g_assert_true (GBT_IS_SESSION (s));
  list = gbt_plugin_registry_list (gbt_plugin_registry_get_default ());

  for (guint i = 0; i < list->len; i++)
    {
      GbtPluginInfo *info = g_ptr_array_index (list, i);
      if (g_strcmp0 (info->name, "mse") == 0 && info->loaded)
        return TRUE;
    }
  return FALSE;
}

static void
run_case (GbtEncryption leech_mode, GbtEncryption seed_mode, gboolean seeder_dials,
          const char *const *transports, int expect)
{
  static const TestFile one[] = { { "payload", 1024 * 1024 + 77, FALSE } };
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  gsize len;
  g_autofree guint8 *stream = test_torrent_make_stream (one, 1, &len);
  g_autoptr(GbtMetainfo) mi = test_torrent_new ("payload", NULL, 1, 32768, stream, len);
  g_autoptr(GbtSession) seeder = start_with ("127.0.0.1", seed_mode, transports);
  g_autoptr(GbtSession) leecher = start_with ("127.0.0.2", leech_mode, transports);
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtTorrent) st = NULL;
  g_autoptr(GbtTorrent) lt = NULL;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GInetAddress) at = g_inet_address_new_from_string (seeder_dials ? "127.0.0.2" : "127.0.0.1");
  gboolean done = FALSE;
  int flags = -1;

  g_test_message ("leecher %d, seeder %d, %s dials, %s", leech_mode, seed_mode,
                  seeder_dials ? "seeder" : "leecher", transports ? transports[0] : "any");
  test_torrent_write_tree (seed_dir, mi, stream);
  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (st);
  gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);

  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &done);
  gbt_torrent_start (lt);
  g_ptr_array_add (addrs, g_inet_socket_address_new (at, gbt_session_get_listen_port (seeder_dials ? leecher : seeder)));
  gbt_torrent_add_peers (seeder_dials ? st : lt, addrs, "test");
  if (expect == NONE)
    {
      /* a negative: nothing may connect in this bounded time */
      gbt_test_spin (2500);
      g_assert_false (take_flags (lt, &flags));
      g_assert_false (done);
    }
  else
    {
      gbt_test_wait_until (take_flags (lt, &flags) || done, 30000);
      take_flags (lt, &flags);
      gbt_test_wait_until (done, 60000);
      g_assert_cmpint (flags, >=, 0);
      if (expect == RC4)
        g_assert_true (flags & GBT_PEER_FLAGS_ENCRYPTED);
      else
        g_assert_false (flags & GBT_PEER_FLAGS_ENCRYPTED);
    }
  test_torrent_stop (lt);
  test_torrent_stop (st);
  if (expect != NONE)
    g_assert_true (test_torrent_tree_equal (leech_dir, mi, stream));
  gbt_test_rmtree (seed_dir);
  gbt_test_rmtree (leech_dir);
}

/* what two policies end up with */
static int
expected (GbtEncryption a, GbtEncryption b)
{
  if (a == GBT_ENCRYPTION_OFF || b == GBT_ENCRYPTION_OFF)
    return a == GBT_ENCRYPTION_REQUIRE || b == GBT_ENCRYPTION_REQUIRE ? NONE : PLAIN;
  return RC4;
}

static void
run_all (const char *const *transports)
{
  if (!mse_loaded ())
    {
      g_test_skip ("the mse plugin is not built");
      return;
    }
  for (int dir = 0; dir < 2; dir++)
    for (int a = GBT_ENCRYPTION_PREFER; a <= GBT_ENCRYPTION_OFF; a++)
      for (int b = GBT_ENCRYPTION_PREFER; b <= GBT_ENCRYPTION_OFF; b++)
        run_case (a, b, dir, transports, expected (a, b));
}

static const char *const only_tcp[] = { "tcp", NULL };
static const char *const only_utp[] = { "utp", NULL };

static void
test_tcp (void)
{
  run_all (only_tcp);
}

static void
test_utp (void)
{
  if (!mse_loaded ())
    {
      g_test_skip ("the mse plugin is not built");
      return;
    }
  /* the pairs that differ: both encrypt, and the plaintext retry each way */
  run_case (GBT_ENCRYPTION_REQUIRE, GBT_ENCRYPTION_PREFER, FALSE, only_utp, RC4);
  run_case (GBT_ENCRYPTION_PREFER, GBT_ENCRYPTION_OFF, FALSE, only_utp, PLAIN);
  run_case (GBT_ENCRYPTION_OFF, GBT_ENCRYPTION_PREFER, TRUE, only_utp, PLAIN);
  run_case (GBT_ENCRYPTION_PREFER, GBT_ENCRYPTION_REQUIRE, TRUE, only_utp, RC4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mse-session/tcp", test_tcp);
  g_test_add_func ("/mse-session/utp", test_utp);
  return g_test_run ();
}
