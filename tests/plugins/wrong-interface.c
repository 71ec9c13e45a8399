/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: adds a plain GObject as a tracker (WRONG_INTERFACE). */
#include <gbt/gbt-plugin.h>

static gboolean
wrong_interface_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);

  return gbt_plugin_add_tracker (plugin, "wrong", object, error);
}

GBT_PLUGIN_DEFINE (wrong_interface, "wrong-interface", "1.0", "LGPL-2.1-or-later",
                   "Adds an object of the wrong type (test fixture)", GBT_PLUGIN_FLAG_DEFAULT,
                   wrong_interface_register)
