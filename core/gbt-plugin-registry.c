/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gbt/gbt-plugin-registry.h>

/* placeholder until the loader lands */
struct _GbtPluginRegistry {
  GObject parent_instance;
};
G_DEFINE_TYPE (GbtPluginRegistry, gbt_plugin_registry, G_TYPE_OBJECT)

static void
gbt_plugin_registry_class_init (GbtPluginRegistryClass *klass)
{
}

static void
gbt_plugin_registry_init (GbtPluginRegistry *self)
{
}

GbtPluginRegistry *
gbt_plugin_registry_get_default (void)
{
  static GbtPluginRegistry *registry;
  if (g_once_init_enter (&registry))
    g_once_init_leave (&registry, g_object_new (GBT_TYPE_PLUGIN_REGISTRY, NULL));
  return registry;
}

gboolean
gbt_plugin_registry_load (GbtPluginRegistry *self, const char *const *extra_dirs,
                          const char *const *enable, GError **error)
{
  return TRUE;
}

G_DEFINE_QUARK (gbt-plugin-error-quark, gbt_plugin_error)
