/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The tracker manager against a fake GbtTracker whose behaviour is set per URL. */
#include <string.h>

#include "gbt-plugin-registry-private.h"
#include "gbt-tracker-manager.h"
#include "test-utils.h"

/* ---- the fake tracker ------------------------------------------------ */

typedef enum {
  FAKE_OK,   /* answers with the configured interval and one peer */
  FAKE_FAIL, /* refuses (failure reason) */
  FAKE_HANG, /* never answers unless cancelled */
} FakeMode;

typedef struct {
  FakeMode mode;
  gint64 interval;
  gint64 min_interval;
  char *tracker_id;
} FakeBehaviour;

#define FAKE_TYPE_TRACKER (fake_tracker_get_type ())
G_DECLARE_FINAL_TYPE (FakeTracker, fake_tracker, FAKE, TRACKER, GObject)

struct _FakeTracker {
  GObject parent_instance;
  GHashTable *behaviour;  /* url -> FakeBehaviour */
  GPtrArray *requests;    /* GbtAnnounceRequest copies, in order */
  GArray *times;          /* gint64 monotonic time of each request */
};

static void fake_tracker_iface_init (GbtTrackerInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (FakeTracker, fake_tracker, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER, fake_tracker_iface_init))

static void
behaviour_free (FakeBehaviour *b)
{
  g_free (b->tracker_id);
  g_free (b);
}

static void
set_behaviour (FakeTracker *self, const char *url, FakeMode mode, gint64 interval,
               gint64 min_interval, const char *tracker_id)
{
  FakeBehaviour *b = g_new0 (FakeBehaviour, 1);

  b->mode = mode;
  b->interval = interval;
  b->min_interval = min_interval;
  b->tracker_id = g_strdup (tracker_id);
  g_hash_table_replace (self->behaviour, g_strdup (url), b);
}

static gboolean
hang_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;

  g_assert_true (g_task_return_error_if_cancelled (task));
  return G_SOURCE_REMOVE;
}

static void
fake_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  FakeTracker *self = FAKE_TRACKER (tracker);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  FakeBehaviour *b = g_hash_table_lookup (self->behaviour, request->url);
  gint64 now = g_get_monotonic_time ();

  g_ptr_array_add (self->requests, gbt_announce_request_copy (request));
  g_array_append_val (self->times, now);
  g_assert_nonnull (b);
  switch (b->mode)
    {
    case FAKE_OK:
      {
        GbtAnnounceResponse *resp = gbt_announce_response_new ();
        g_autoptr(GInetAddress) addr = g_inet_address_new_from_string ("127.0.0.9");

        resp->interval = b->interval;
        resp->min_interval = b->min_interval;
        resp->complete = 4;
        resp->incomplete = 2;
        resp->tracker_id = g_strdup (b->tracker_id);
        g_ptr_array_add (resp->peers, g_inet_socket_address_new (addr, 6881));
        g_task_return_pointer (task, resp, (GDestroyNotify) gbt_announce_response_free);
      }
      break;
    case FAKE_FAIL:
      g_task_return_new_error (task, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON,
                               "tracker refused: go away");
      break;
    case FAKE_HANG:
      /* answers only when cancelled, as a real plugin would (later, from
       * the main loop) */
      if (cancellable != NULL)
        {
          GSource *source = g_cancellable_source_new (cancellable);

          g_source_set_callback (source, G_SOURCE_FUNC (hang_cancelled_cb),
                                 g_steal_pointer (&task), g_object_unref);
          g_source_attach (source, NULL);
          g_source_unref (source);
        }
      break;
    }
}

static GbtAnnounceResponse *
fake_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_tracker_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = fake_announce_async;
  iface->announce_finish = fake_announce_finish;
}

static void
fake_tracker_finalize (GObject *object)
{
  FakeTracker *self = FAKE_TRACKER (object);

  g_hash_table_unref (self->behaviour);
  g_ptr_array_unref (self->requests);
  g_array_unref (self->times);
  G_OBJECT_CLASS (fake_tracker_parent_class)->finalize (object);
}

static void
fake_tracker_class_init (FakeTrackerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_tracker_finalize;
}

static void
fake_tracker_init (FakeTracker *self)
{
  self->behaviour = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) behaviour_free);
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) gbt_announce_request_free);
  self->times = g_array_new (FALSE, FALSE, sizeof (gint64));
}

/* ---- fixture --------------------------------------------------------- */

typedef struct {
  FakeTracker *fake;
  GbtTrackerManager *mgr;
  GPtrArray *found_urls; /* url of each peers_found call */
  guint n_peers;
} Fixture;

static const guint8 hash[20] = "0123456789abcdefghij";
static const guint8 peer_id[20] = "-GB0001-000000000000";

static void
get_stats (gpointer data, guint64 *uploaded, guint64 *downloaded, guint64 *left)
{
  *uploaded = 11;
  *downloaded = 22;
  *left = 33;
}

static void
peers_found (gpointer data, GPtrArray *addresses, const char *url)
{
  Fixture *f = data;

  g_assert_cmpuint (addresses->len, >, 0);
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (addresses->pdata[0]));
  f->n_peers += addresses->len;
  g_ptr_array_add (f->found_urls, g_strdup (url));
}

static const GbtTrackerManagerOps ops = { get_stats, peers_found };

static GbtTracker *
lookup_fake (const char *scheme, gpointer user_data)
{
  Fixture *f = user_data;

  return g_str_equal (scheme, "fake") ? GBT_TRACKER (f->fake) : NULL;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->fake = g_object_new (FAKE_TYPE_TRACKER, NULL);
  f->found_urls = g_ptr_array_new_with_free_func (g_free);
}

/* @tiers: NULL-terminated; each a comma-separated list of URLs */
static void
make_manager (Fixture *f, const char *const *tiers)
{
  g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint i = 0; tiers[i]; i++)
    g_ptr_array_add (array, g_strsplit (tiers[i], ",", -1));
  f->mgr = gbt_tracker_manager_new (NULL, hash, peer_id, 6881, array, &ops, f);
  gbt_tracker_manager_set_lookup_for_test (f->mgr, lookup_fake, f);
  gbt_tracker_manager_set_timing_for_test (f->mgr, 100, 100);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->mgr, gbt_tracker_manager_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->fake);
  g_ptr_array_unref (f->found_urls);
}

static GbtAnnounceRequest *
nth_request (Fixture *f, guint n)
{
  g_assert_cmpuint (f->fake->requests->len, >, n);
  return f->fake->requests->pdata[n];
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
stop_and_wait (Fixture *f, guint timeout_ms)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  gbt_tracker_manager_stop_async (f->mgr, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, timeout_ms);
  g_assert_true (gbt_tracker_manager_stop_finish (f->mgr, result, &error));
  g_assert_no_error (error);
}

/* ---- tests ----------------------------------------------------------- */

static void
test_tier_fallback (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://a/1,fake://a/2", "fake://b/1", NULL };
  g_autoptr(GPtrArray) status = NULL;
  gboolean a1 = FALSE, a2 = FALSE;

  set_behaviour (f->fake, "fake://a/1", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://a/2", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://b/1", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);

  g_assert_cmpstr (f->found_urls->pdata[0], ==, "fake://b/1");
  g_assert_cmpuint (f->n_peers, ==, 1);
  g_assert_cmpuint (f->fake->requests->len, ==, 3);
  /* both of the first tier, in either (shuffled) order, then the second */
  for (guint i = 0; i < 2; i++)
    {
      GbtAnnounceRequest *req = nth_request (f, i);
      a1 |= g_str_equal (req->url, "fake://a/1");
      a2 |= g_str_equal (req->url, "fake://a/2");
    }
  g_assert_true (a1 && a2);
  g_assert_cmpstr (nth_request (f, 2)->url, ==, "fake://b/1");
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (nth_request (f, i)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);

  {
    GbtAnnounceRequest *req = nth_request (f, 2);
    g_assert_cmpmem (req->info_hash, 20, hash, 20);
    g_assert_cmpmem (req->peer_id, 20, peer_id, 20);
    g_assert_cmpuint (req->port, ==, 6881);
    g_assert_cmpuint (req->uploaded, ==, 11);
    g_assert_cmpuint (req->downloaded, ==, 22);
    g_assert_cmpuint (req->left, ==, 33);
    g_assert_cmpuint (req->key, ==, nth_request (f, 0)->key);
  }

  status = gbt_tracker_manager_dup_status (f->mgr);
  g_assert_cmpuint (status->len, ==, 3);
  for (guint i = 0; i < status->len; i++)
    {
      const char *line = status->pdata[i];
      g_test_message ("%s", line);
      if (strstr (line, "fake://b/1"))
        {
          g_assert_nonnull (strstr (line, ": ok"));
          g_assert_nonnull (strstr (line, "seeders 4, leechers 2"));
          g_assert_nonnull (strstr (line, "next announce in 1"));
        }
      else
        {
          g_assert_nonnull (strstr (line, ": error"));
          g_assert_nonnull (strstr (line, "go away"));
        }
    }
}

static void
test_move_to_front (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://1,fake://2,fake://3,fake://4", NULL };
  g_auto (GStrv) order = NULL;
  guint n;

  set_behaviour (f->fake, "fake://1", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://2", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://3", FAKE_OK, 0, -1, NULL); /* clamped to 100 ms */
  set_behaviour (f->fake, "fake://4", FAKE_FAIL, 0, 0, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  order = gbt_tracker_manager_dup_order_for_test (f->mgr);
  g_assert_cmpstr (order[0], ==, "fake://3");
  g_assert_cmpuint (g_strv_length (order), ==, 4);

  /* the next round asks the one that answered first, and only it */
  n = f->fake->requests->len;
  gbt_test_wait_until (f->found_urls->len == 2, 5000);
  g_assert_cmpuint (f->fake->requests->len, ==, n + 1);
  g_assert_cmpstr (nth_request (f, n)->url, ==, "fake://3");
  g_assert_cmpint (nth_request (f, n)->event, ==, GBT_ANNOUNCE_EVENT_NONE);
}

static void
test_interval (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };
  gint64 *times;

  set_behaviour (f->fake, "fake://t", FAKE_OK, 1, -1, "tid-7"); /* 1 s */
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->fake->requests->len == 3, 5000);
  times = (gint64 *) f->fake->times->data;
  g_assert_cmpint (times[1] - times[0], >=, 990 * 1000);
  g_assert_cmpint (times[2] - times[1], >=, 990 * 1000);
  g_assert_cmpint (nth_request (f, 0)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_NONE);
  g_assert_null (nth_request (f, 0)->tracker_id);
  /* the tracker id comes back on later announces */
  g_assert_cmpstr (nth_request (f, 1)->tracker_id, ==, "tid-7");
}

static void
test_announce_now_min_interval (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };
  gint64 asked;

  set_behaviour (f->fake, "fake://t", FAKE_OK, 60, 1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->fake->requests->len == 1 && f->found_urls->len == 1, 5000);
  asked = g_get_monotonic_time ();
  gbt_tracker_manager_announce_now (f->mgr);
  gbt_tracker_manager_announce_now (f->mgr);
  g_assert_cmpuint (f->fake->requests->len, ==, 1);
  gbt_test_wait_until (f->fake->requests->len == 2, 5000);
  /* min interval 1 s from the first answer, far before the 60 s interval */
  g_assert_cmpint (g_array_index (f->fake->times, gint64, 1)
                   - g_array_index (f->fake->times, gint64, 0), >=, 990 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - asked, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (f->fake->requests->len, ==, 2);
}

static void
test_completed_and_stop (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };

  set_behaviour (f->fake, "fake://t", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_set_numwant (f->mgr, 80);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  gbt_tracker_manager_completed (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 2, 5000);
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_COMPLETED);
  g_assert_cmpint (nth_request (f, 1)->numwant, ==, 80);

  stop_and_wait (f, 5000);
  g_assert_cmpuint (f->fake->requests->len, ==, 3);
  g_assert_cmpint (nth_request (f, 2)->event, ==, GBT_ANNOUNCE_EVENT_STOPPED);
  g_assert_cmpint (nth_request (f, 2)->numwant, ==, 0);
  g_assert_cmpuint (nth_request (f, 2)->timeout_ms, >, 0);
  g_assert_cmpuint (nth_request (f, 2)->timeout_ms, <=, 5000);

  /* a new start sends started again */
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->fake->requests->len == 4, 5000);
  g_assert_cmpint (nth_request (f, 3)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
}

static void
test_completed_while_starting (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };

  set_behaviour (f->fake, "fake://t", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_tracker_manager_completed (f->mgr); /* started still in flight */
  gbt_test_wait_until (f->fake->requests->len == 2, 5000);
  g_assert_cmpint (nth_request (f, 0)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_COMPLETED);
}

/* a router mapped our port elsewhere while started was out: the next
 * announce, right after, carries the new port */
static void
test_port_changed_while_announcing (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };

  set_behaviour (f->fake, "fake://t", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_tracker_manager_set_port (f->mgr, 40001); /* started still in flight */
  gbt_test_wait_until (f->fake->requests->len == 2, 5000);
  g_assert_cmpint (nth_request (f, 0)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  g_assert_cmpuint (nth_request (f, 0)->port, ==, 6881);
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_NONE);
  g_assert_cmpuint (nth_request (f, 1)->port, ==, 40001);
}

static void
test_stop_never_started (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };

  set_behaviour (f->fake, "fake://t", FAKE_HANG, 0, 0, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  g_assert_cmpuint (f->fake->requests->len, ==, 1);
  /* started never answered: nothing to stop, and the hanging one is cancelled */
  stop_and_wait (f, 2000);
  g_assert_cmpuint (f->fake->requests->len, ==, 1);
}

static void
test_stop_bounded (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };
  gint64 start;

  set_behaviour (f->fake, "fake://t", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  /* this fake ignores timeout_ms: the manager's own bound must hold */
  set_behaviour (f->fake, "fake://t", FAKE_HANG, 0, 0, NULL);
  start = g_get_monotonic_time ();
  stop_and_wait (f, 8000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 7 * G_USEC_PER_SEC);
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_STOPPED);
}

static void
test_backoff (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://x", "fake://y", NULL };
  gint64 *t;
  g_autoptr(GPtrArray) status = NULL;

  set_behaviour (f->fake, "fake://x", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://y", FAKE_FAIL, 0, 0, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->fake->requests->len == 6, 5000);
  t = (gint64 *) f->fake->times->data;
  /* rounds at 0, ~100 ms (75..125), then ~200 ms later (150..250) */
  g_assert_cmpint (t[2] - t[0], >=, 70 * 1000);
  g_assert_cmpint (t[4] - t[2], >=, 145 * 1000);
  g_assert_cmpint (t[4] - t[2], >, t[2] - t[0]);
  /* announce_now does not cut the backoff short */
  gbt_tracker_manager_announce_now (f->mgr);
  g_assert_cmpuint (f->fake->requests->len, ==, 6);
  g_assert_cmpint (nth_request (f, 4)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  status = gbt_tracker_manager_dup_status (f->mgr);
  g_assert_nonnull (strstr (status->pdata[0], "error"));
  g_assert_cmpuint (f->found_urls->len, ==, 0);
}

static void
test_missing_plugin (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtPluginRegistry) registry = gbt_plugin_registry_new_for_test (TRUE);
  g_autoptr(GPtrArray) tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GError) error = NULL;
  GbtTrackerManager *mgr;

  g_ptr_array_add (tiers, g_strsplit ("http://127.0.0.1:1/announce,udp://127.0.0.1:1", ",", -1));
  g_ptr_array_add (tiers, g_strsplit ("https://127.0.0.1:1/announce", ",", -1));
  mgr = gbt_tracker_manager_new (registry, hash, peer_id, 6881, tiers, &ops, f);
  g_assert_false (gbt_tracker_manager_check (mgr, &error));
  g_assert_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "http"));
  g_assert_nonnull (strstr (error->message, "udp"));
  g_assert_nonnull (strstr (error->message, "tracker-http"));
  gbt_tracker_manager_free (mgr);

  /* with a plugin for one of them, it passes */
  make_manager (f, (const char *[]) { "udp://127.0.0.1:1", "fake://ok", NULL });
  g_assert_true (gbt_tracker_manager_check (f->mgr, NULL));

  /* no trackers at all */
  g_clear_error (&error);
  g_ptr_array_set_size (tiers, 0);
  mgr = gbt_tracker_manager_new (registry, hash, peer_id, 6881, tiers, &ops, f);
  g_assert_false (gbt_tracker_manager_check (mgr, &error));
  g_assert_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING);
  gbt_tracker_manager_free (mgr);
}

static void
test_unsupported_scheme_skipped (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "udp://127.0.0.1:1", "fake://ok", NULL };

  set_behaviour (f->fake, "fake://ok", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  g_assert_cmpuint (f->fake->requests->len, ==, 1);
}

static void
test_free_while_announcing (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://t", NULL };

  set_behaviour (f->fake, "fake://t", FAKE_HANG, 0, 0, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  g_clear_pointer (&f->mgr, gbt_tracker_manager_free);
  /* the cancelled answer arrives after the manager is gone */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_hang_times_out (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://hang", "fake://ok", NULL };
  gint64 start = g_get_monotonic_time ();

  /* this fake ignores timeout_ms: the manager's own bound moves on */
  set_behaviour (f->fake, "fake://hang", FAKE_HANG, 0, 0, NULL);
  set_behaviour (f->fake, "fake://ok", FAKE_OK, 1800, -1, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_set_announce_timeout (f->mgr, 100);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  g_assert_cmpstr (f->found_urls->pdata[0], ==, "fake://ok");
  g_assert_cmpuint (nth_request (f, 0)->timeout_ms, ==, 100);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  stop_and_wait (f, 10000);
}

static void
test_announce_to_all (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://a,fake://b", "fake://c", "fake://d", NULL };
  g_autoptr(GPtrArray) status = NULL;
  guint n;

  set_behaviour (f->fake, "fake://a", FAKE_OK, 1800, -1, NULL);
  set_behaviour (f->fake, "fake://b", FAKE_FAIL, 0, 0, NULL);
  set_behaviour (f->fake, "fake://c", FAKE_OK, 1800, -1, NULL);
  set_behaviour (f->fake, "fake://d", FAKE_HANG, 0, 0, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_set_announce_to_all (f->mgr, TRUE);
  gbt_tracker_manager_set_announce_timeout (f->mgr, 200);
  gbt_tracker_manager_start (f->mgr);
  /* all four asked at once, whatever the first tier said */
  g_assert_cmpuint (f->fake->requests->len, ==, 4);
  gbt_test_wait_until (f->found_urls->len == 2, 5000);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpint (nth_request (f, i)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  status = gbt_tracker_manager_dup_status (f->mgr);
  for (guint i = 0; i < status->len; i++)
    {
      const char *line = status->pdata[i];

      g_test_message ("%s", line);
      if (strstr (line, "fake://b"))
        g_assert_nonnull (strstr (line, ": error"));
      else if (!strstr (line, "fake://d"))
        g_assert_nonnull (strstr (line, ": ok"));
    }
  /* started acknowledged: stopped goes to those that answered */
  n = f->fake->requests->len;
  stop_and_wait (f, 10000);
  g_assert_cmpuint (f->fake->requests->len, ==, n + 2);
  g_assert_cmpint (nth_request (f, n)->event, ==, GBT_ANNOUNCE_EVENT_STOPPED);
}

/* peers-trackers: trackers added and removed while running, a forced
 * announce, and the entries the torrent's model is built from */

static const GbtTrackerManagerEntry *
find_entry (GArray *entries, const char *url)
{
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (g_array_index (entries, GbtTrackerManagerEntry, i).url, url))
      return &g_array_index (entries, GbtTrackerManagerEntry, i);
  return NULL;
}

static void
test_remove_current (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://hang", "fake://ok", NULL };
  g_autoptr(GArray) entries = NULL;

  set_behaviour (f->fake, "fake://hang", FAKE_HANG, 0, 0, NULL);
  set_behaviour (f->fake, "fake://ok", FAKE_OK, 1800, 60, NULL);
  make_manager (f, tiers);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->fake->requests->len == 1, 5000);
  g_assert_cmpstr (nth_request (f, 0)->url, ==, "fake://hang");
  entries = gbt_tracker_manager_dup_entries (f->mgr);
  g_assert_cmpint (find_entry (entries, "fake://hang")->state, ==,
                   GBT_TRACKER_MANAGER_STATE_ANNOUNCING);
  g_assert_cmpuint (find_entry (entries, "fake://ok")->tier, ==, 1);
  g_clear_pointer (&entries, g_array_unref);

  /* the tracker the round waits on goes: the round moves on at once */
  g_assert_true (gbt_tracker_manager_remove_tracker (f->mgr, "fake://hang"));
  g_assert_false (gbt_tracker_manager_remove_tracker (f->mgr, "fake://hang"));
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  g_assert_cmpstr (nth_request (f, 1)->url, ==, "fake://ok");
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  entries = gbt_tracker_manager_dup_entries (f->mgr);
  g_assert_cmpuint (entries->len, ==, 1);
  g_assert_cmpint (find_entry (entries, "fake://ok")->state, ==, GBT_TRACKER_MANAGER_STATE_OK);
  g_assert_cmpint (find_entry (entries, "fake://ok")->seeders, ==, 4);
  g_assert_cmpint (find_entry (entries, "fake://ok")->leechers, ==, 2);
  g_assert_cmpint (find_entry (entries, "fake://ok")->last_announce, >, 0);
  g_assert_cmpint (find_entry (entries, "fake://ok")->next_announce, >,
                   g_get_real_time () / G_USEC_PER_SEC + 1000);
  stop_and_wait (f, 5000);
}

static void
test_add_running (Fixture *f, gconstpointer data)
{
  const char *tiers[] = { "fake://ok", NULL };
  g_auto(GStrv) order = NULL;
  g_autoptr(GArray) entries = NULL;

  set_behaviour (f->fake, "fake://ok", FAKE_OK, 1800, 60, NULL);
  set_behaviour (f->fake, "fake://new", FAKE_OK, 1800, 60, NULL);
  set_behaviour (f->fake, "fake://early", FAKE_FAIL, 0, 0, NULL);
  make_manager (f, tiers);
  /* before the start: added, but nothing goes out */
  g_assert_true (gbt_tracker_manager_add_tracker (f->mgr, "fake://early", 3));
  g_assert_false (gbt_tracker_manager_add_tracker (f->mgr, "fake://early", 0));
  gbt_test_spin (50);
  g_assert_cmpuint (f->fake->requests->len, ==, 0);
  gbt_tracker_manager_start (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 1, 5000);
  g_assert_cmpuint (f->fake->requests->len, ==, 1);

  /* added while running: a started of its own, outside the round */
  g_assert_true (gbt_tracker_manager_add_tracker (f->mgr, "fake://new", 1));
  gbt_test_wait_until (f->found_urls->len == 2, 5000);
  g_assert_cmpstr (nth_request (f, 1)->url, ==, "fake://new");
  g_assert_cmpint (nth_request (f, 1)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  order = gbt_tracker_manager_dup_order_for_test (f->mgr);
  g_assert_cmpstr (order[0], ==, "fake://ok");
  g_assert_cmpstr (order[1], ==, "fake://new"); /* tier 1, before tier 3 */
  g_assert_cmpstr (order[2], ==, "fake://early");
  entries = gbt_tracker_manager_dup_entries (f->mgr);
  g_assert_cmpuint (find_entry (entries, "fake://new")->tier, ==, 1);
  g_assert_cmpint (find_entry (entries, "fake://new")->state, ==, GBT_TRACKER_MANAGER_STATE_OK);
  g_assert_cmpint (find_entry (entries, "fake://early")->state, ==,
                   GBT_TRACKER_MANAGER_STATE_IDLE);

  /* forced: a round at once, whatever the interval (fake://ok answers it) */
  gbt_tracker_manager_force_announce (f->mgr);
  gbt_test_wait_until (f->found_urls->len == 3, 5000);
  g_assert_cmpstr (nth_request (f, 2)->url, ==, "fake://ok");
  g_assert_cmpint (nth_request (f, 2)->event, ==, GBT_ANNOUNCE_EVENT_NONE);

  /* both that heard our started hear our stopped */
  stop_and_wait (f, 5000);
  g_assert_cmpuint (f->fake->requests->len, ==, 5);
  g_assert_cmpint (nth_request (f, 3)->event, ==, GBT_ANNOUNCE_EVENT_STOPPED);
  g_assert_cmpint (nth_request (f, 4)->event, ==, GBT_ANNOUNCE_EVENT_STOPPED);
}

/* Rounds are paced process-wide (gbt-tracker-manager.c: a burst of 40, then
 * 40 a second): a hundred torrents started together do not all announce in
 * the same instant, and all of them do announce soon. */
static void
test_pacing (Fixture *f, gconstpointer data)
{
  enum { N = 100, BURST = 40 };
  const char *tiers[] = { "fake://paced/1", NULL };
  GbtTrackerManager *mgrs[N];
  gint64 first, last;

  set_behaviour (f->fake, "fake://paced/1", FAKE_OK, 1800, 60, NULL);
  for (guint i = 0; i < N; i++)
    {
      make_manager (f, tiers);
      mgrs[i] = g_steal_pointer (&f->mgr);
    }
  for (guint i = 0; i < N; i++)
    gbt_tracker_manager_start (mgrs[i]);
  /* the fake answers from the main loop: what went out now is the burst */
  g_assert_cmpuint (f->fake->requests->len, <=, BURST);
  g_assert_cmpuint (f->fake->requests->len, >, 0);
  gbt_test_wait_until (f->fake->requests->len == N, 10000);
  first = g_array_index (f->fake->times, gint64, 0);
  last = g_array_index (f->fake->times, gint64, N - 1);
  /* the 60 after the burst one every 25 ms: 1.5 s (less a timer's slack) */
  g_assert_cmpint (last - first, >=, 1200 * 1000);
  for (guint i = 0; i < N; i++)
    g_assert_cmpint (nth_request (f, i)->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
  for (guint i = 0; i < N; i++)
    gbt_tracker_manager_free (mgrs[i]);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/tracker-manager/tiers/fallback", test_tier_fallback);
  ADD ("/tracker-manager/tiers/move-to-front", test_move_to_front);
  ADD ("/tracker-manager/tiers/unsupported-scheme", test_unsupported_scheme_skipped);
  ADD ("/tracker-manager/interval", test_interval);
  ADD ("/tracker-manager/announce-now/min-interval", test_announce_now_min_interval);
  ADD ("/tracker-manager/events/completed-and-stop", test_completed_and_stop);
  ADD ("/tracker-manager/events/completed-while-starting", test_completed_while_starting);
  ADD ("/tracker-manager/events/port-changed-while-announcing",
       test_port_changed_while_announcing);
  ADD ("/tracker-manager/stop/never-started", test_stop_never_started);
  ADD ("/tracker-manager/stop/bounded", test_stop_bounded);
  ADD ("/tracker-manager/backoff", test_backoff);
  ADD ("/tracker-manager/check/missing-plugin", test_missing_plugin);
  ADD ("/tracker-manager/free-while-announcing", test_free_while_announcing);
  ADD ("/tracker-manager/hang-times-out", test_hang_times_out);
  ADD ("/tracker-manager/announce-to-all", test_announce_to_all);
  ADD ("/tracker-manager/running/remove-current", test_remove_current);
  ADD ("/tracker-manager/running/add", test_add_running);
  ADD ("/tracker-manager/pacing", test_pacing);
  return g_test_run ();
}
