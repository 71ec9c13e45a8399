/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interop: the tracker-http plugin, loaded through the plugin registry, and
 * the tracker manager against a real opentracker on 127.0.0.1.
 *
 * Debian's opentracker is whitelist-only; it chroots to -d DIR (so -w names
 * the whitelist inside it) and drops to -u nobody.
 */
#include <string.h>


#include "gbt-plugin-registry-private.h"
#include "gbt-tracker-manager.h"
#include "test-utils.h"

typedef struct {
  GbtTestOpentracker *ot;
  char *url;
  GbtPluginRegistry *registry;
  GbtTracker *tracker;
} Fixture;

static const guint8 hash[20] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
                                 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67 };

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GbtAnnounceResponse *announce (Fixture *f, const char *peer_id, guint16 port,
                                      GbtAnnounceEvent event, GError **error);

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *plugin_path = g_getenv ("GBT_PLUGIN_PATH");
  const char *dirs[2] = { plugin_path, NULL };

  f->ot = gbt_test_opentracker_start ("0123456789abcdef0123456789abcdef01234567");
  if (f->ot == NULL)
    return;
  f->url = g_strdup_printf ("http://127.0.0.1:%u/announce", f->ot->port);

  g_assert_nonnull (plugin_path);
  f->registry = gbt_plugin_registry_new_for_test (TRUE);
  g_assert_true (gbt_plugin_registry_load (f->registry, dirs, NULL, &error));
  g_assert_no_error (error);
  f->tracker = gbt_plugin_registry_get_tracker (f->registry, "http");
  g_assert_nonnull (f->tracker);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  gbt_test_opentracker_stop (f->ot);
  g_clear_object (&f->registry);
  g_free (f->url);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GbtAnnounceResponse *
announce (Fixture *f, const char *peer_id, guint16 port, GbtAnnounceEvent event, GError **error)
{
  g_autoptr(GbtAnnounceRequest) req = gbt_announce_request_new ();
  g_autoptr(GAsyncResult) result = NULL;

  req->url = g_strdup (f->url);
  memcpy (req->info_hash, hash, 20);
  memcpy (req->peer_id, peer_id, 20);
  req->port = port;
  req->left = 1000;
  req->event = event;
  req->numwant = 50;
  req->key = g_random_int ();
  gbt_tracker_announce_async (f->tracker, req, NULL, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 10000);
  return gbt_tracker_announce_finish (f->tracker, result, error);
}

static gboolean
has_peer (GPtrArray *peers, const char *ip, guint16 port)
{
  for (guint i = 0; i < peers->len; i++)
    {
      GInetSocketAddress *sa = peers->pdata[i];
      g_autofree char *s = g_inet_address_to_string (g_inet_socket_address_get_address (sa));

      if (g_str_equal (s, ip) && g_inet_socket_address_get_port (sa) == port)
        return TRUE;
    }
  return FALSE;
}

static void
test_two_peers (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) first = NULL;
  g_autoptr(GbtAnnounceResponse) second = NULL;

  if (f->ot == NULL)
    {
      g_test_skip ("opentracker is not installed (scripts/install-deps)");
      return;
    }
  first = announce (f, "-GB0001-aaaaaaaaaaaa", 7001, GBT_ANNOUNCE_EVENT_STARTED, &error);
  g_assert_no_error (error);
  g_assert_cmpint (first->interval, >, 0);
  second = announce (f, "-GB0001-bbbbbbbbbbbb", 7002, GBT_ANNOUNCE_EVENT_STARTED, &error);
  g_assert_no_error (error);
  g_assert_true (has_peer (second->peers, "127.0.0.1", 7001));
  g_assert_cmpint (second->complete + second->incomplete, >=, 2);
}

static void
test_not_whitelisted (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceRequest) req = gbt_announce_request_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  if (f->ot == NULL)
    {
      g_test_skip ("opentracker is not installed (scripts/install-deps)");
      return;
    }
  req->url = g_strdup (f->url);
  memset (req->info_hash, 0x42, 20);
  memcpy (req->peer_id, "-GB0001-cccccccccccc", 20);
  req->port = 7003;
  gbt_tracker_announce_async (f->tracker, req, NULL, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 10000);
  resp = gbt_tracker_announce_finish (f->tracker, result, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
}

typedef struct {
  GPtrArray *peers;
} ManagerData;

static void
get_stats (gpointer data, guint64 *uploaded, guint64 *downloaded, guint64 *left)
{
  *uploaded = 0;
  *downloaded = 0;
  *left = 500;
}

static void
peers_found (gpointer data, GPtrArray *addresses, const char *url)
{
  ManagerData *md = data;

  for (guint i = 0; i < addresses->len; i++)
    g_ptr_array_add (md->peers, g_object_ref (addresses->pdata[i]));
}

static void
test_manager (Fixture *f, gconstpointer data)
{
  static const GbtTrackerManagerOps ops = { get_stats, peers_found };
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) first = NULL;
  g_autoptr(GbtAnnounceResponse) later = NULL;
  g_autoptr(GPtrArray) tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GAsyncResult) result = NULL;
  ManagerData md = { g_ptr_array_new_with_free_func (g_object_unref) };
  GbtTrackerManager *mgr;
  g_autofree char *dead = NULL;

  if (f->ot == NULL)
    {
      g_test_skip ("opentracker is not installed (scripts/install-deps)");
      g_ptr_array_unref (md.peers);
      return;
    }
  first = announce (f, "-GB0001-aaaaaaaaaaaa", 7001, GBT_ANNOUNCE_EVENT_STARTED, &error);
  g_assert_no_error (error);

  /* a dead tracker first, in its own tier: the manager falls back */
  dead = g_strdup_printf ("http://127.0.0.1:%u/announce", gbt_test_free_port ());
  g_ptr_array_add (tiers, g_strsplit (dead, ",", -1));
  g_ptr_array_add (tiers, g_strsplit (f->url, ",", -1));
  mgr = gbt_tracker_manager_new (f->registry, hash, (const guint8 *) "-GB0001-mmmmmmmmmmmm", 7005,
                                 tiers, &ops, &md);
  g_assert_true (gbt_tracker_manager_check (mgr, &error));
  g_assert_no_error (error);
  gbt_tracker_manager_start (mgr);
  gbt_test_wait_until (md.peers->len > 0, 10000);
  g_assert_true (has_peer (md.peers, "127.0.0.1", 7001));

  /* the manager's peer is known, then gone after stop */
  later = announce (f, "-GB0001-bbbbbbbbbbbb", 7002, GBT_ANNOUNCE_EVENT_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (has_peer (later->peers, "127.0.0.1", 7005));
  g_clear_pointer (&later, gbt_announce_response_free);

  gbt_tracker_manager_stop_async (mgr, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 10000);
  g_assert_true (gbt_tracker_manager_stop_finish (mgr, result, &error));
  later = announce (f, "-GB0001-bbbbbbbbbbbb", 7002, GBT_ANNOUNCE_EVENT_NONE, &error);
  g_assert_no_error (error);
  g_assert_false (has_peer (later->peers, "127.0.0.1", 7005));
  gbt_tracker_manager_free (mgr);
  g_ptr_array_unref (md.peers);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);
  ADD ("/interop/opentracker/two-peers", test_two_peers);
  ADD ("/interop/opentracker/not-whitelisted", test_not_whitelisted);
  ADD ("/interop/opentracker/manager", test_manager);
  return g_test_run ();
}
