/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: a working default plugin.  It answers every announce for the
 * "test" scheme with one loopback peer, and speaks a "ut_test" extension
 * that counts the messages it is given. */
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-tracker.h>
#include <gbt/gbt-wire-extension.h>

#define TEST_TYPE_TRACKER (test_tracker_get_type ())
G_DECLARE_FINAL_TYPE (TestTracker, test_tracker, TEST, TRACKER, GObject)

struct _TestTracker {
  GObject parent_instance;
};

static void test_tracker_iface_init (GbtTrackerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestTracker, test_tracker, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER, test_tracker_iface_init))

static void
test_tracker_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (tracker, cancellable, callback, user_data);
  g_autoptr(GbtAnnounceResponse) response = gbt_announce_response_new ();

  g_task_set_source_tag (task, test_tracker_announce_async);
  response->interval = 1800;
  g_ptr_array_add (response->peers, g_inet_socket_address_new_from_string ("127.0.0.1", 6881));
  g_task_return_pointer (task, g_steal_pointer (&response),
                         (GDestroyNotify) gbt_announce_response_free);
}

static GbtAnnounceResponse *
test_tracker_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_tracker_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = test_tracker_announce_async;
  iface->announce_finish = test_tracker_announce_finish;
}

static void
test_tracker_class_init (TestTrackerClass *klass)
{
}

static void
test_tracker_init (TestTracker *self)
{
}

#define TEST_TYPE_EXTENSION (test_extension_get_type ())
G_DECLARE_FINAL_TYPE (TestExtension, test_extension, TEST, EXTENSION, GObject)

struct _TestExtension {
  GObject parent_instance;
  guint n_messages;
};

static void test_extension_iface_init (GbtWireExtensionInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestExtension, test_extension, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_WIRE_EXTENSION,
                                                      test_extension_iface_init))

static const char *
test_extension_get_name (GbtWireExtension *extension)
{
  return "ut_test";
}

static gboolean
test_extension_on_message (GbtWireExtension *extension, GbtPeer *peer, GBytes *payload,
                           GError **error)
{
  TEST_EXTENSION (extension)->n_messages++;
  return TRUE;
}

static void
test_extension_iface_init (GbtWireExtensionInterface *iface)
{
  iface->get_name = test_extension_get_name;
  iface->on_message = test_extension_on_message;
}

static void
test_extension_class_init (TestExtensionClass *klass)
{
}

static void
test_extension_init (TestExtension *self)
{
}

static gboolean
good_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) tracker = g_object_new (TEST_TYPE_TRACKER, NULL);
  g_autoptr(GObject) extension = g_object_new (TEST_TYPE_EXTENSION, NULL);

  return gbt_plugin_add_tracker (plugin, "test", tracker, error) &&
         gbt_plugin_add_wire_extension (plugin, extension, error);
}

GBT_PLUGIN_DEFINE (good, "good", "1.2.3", "LGPL-2.1-or-later",
                   "Test tracker for test:// URLs and the ut_test extension",
                   GBT_PLUGIN_FLAG_DEFAULT, good_register)
