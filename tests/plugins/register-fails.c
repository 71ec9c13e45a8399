/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: registers a tracker, then fails (REGISTER_FAILED); the tracker
 * must not stay registered. */
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-tracker.h>

#define FAILS_TYPE_TRACKER (fails_tracker_get_type ())
G_DECLARE_FINAL_TYPE (FailsTracker, fails_tracker, FAILS, TRACKER, GObject)

struct _FailsTracker {
  GObject parent_instance;
};

static void fails_tracker_iface_init (GbtTrackerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FailsTracker, fails_tracker, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER, fails_tracker_iface_init))

static void
fails_tracker_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_task_report_new_error (tracker, callback, user_data, fails_tracker_announce_async,
                           G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "this tracker never works");
}

static GbtAnnounceResponse *
fails_tracker_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fails_tracker_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = fails_tracker_announce_async;
  iface->announce_finish = fails_tracker_announce_finish;
}

static void
fails_tracker_class_init (FailsTrackerClass *klass)
{
}

static void
fails_tracker_init (FailsTracker *self)
{
}

static gboolean
register_fails_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) tracker = g_object_new (FAILS_TYPE_TRACKER, NULL);

  if (!gbt_plugin_add_tracker (plugin, "fails", tracker, error))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "the configuration this plugin needs was not found");
  return FALSE;
}

GBT_PLUGIN_DEFINE (register_fails, "register-fails", "1.0", "LGPL-2.1-or-later",
                   "Fails to register (test fixture)", GBT_PLUGIN_FLAG_DEFAULT,
                   register_fails_register)
