/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: an optional plugin that claims the "test" tracker scheme, which
 * the default plugin "good" holds (DUPLICATE once enabled: default plugins
 * register first).  Its tracker type is its own; only the scheme clashes. */
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-tracker.h>

#define DUP_TYPE_TRACKER (dup_tracker_get_type ())
G_DECLARE_FINAL_TYPE (DupTracker, dup_tracker, DUP, TRACKER, GObject)

struct _DupTracker {
  GObject parent_instance;
};

static void dup_tracker_iface_init (GbtTrackerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DupTracker, dup_tracker, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER, dup_tracker_iface_init))

static void
dup_tracker_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_task_report_new_error (tracker, callback, user_data, dup_tracker_announce_async,
                           G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "duplicate tracker");
}

static GbtAnnounceResponse *
dup_tracker_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
dup_tracker_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = dup_tracker_announce_async;
  iface->announce_finish = dup_tracker_announce_finish;
}

static void
dup_tracker_class_init (DupTrackerClass *klass)
{
}

static void
dup_tracker_init (DupTracker *self)
{
}

static gboolean
duplicate_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) tracker = g_object_new (DUP_TYPE_TRACKER, NULL);

  return gbt_plugin_add_tracker (plugin, "TEST", tracker, error);
}

GBT_PLUGIN_DEFINE (duplicate, "duplicate", "1.0", "LGPL-2.1-or-later",
                   "Claims a tracker scheme already held (test fixture)", GBT_PLUGIN_FLAG_NONE,
                   duplicate_register)
