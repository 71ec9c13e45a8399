/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For the broken fixture plugins: a descriptor written out by hand, so each
 * can get one field wrong.  Its register function fails loudly, so a loader
 * that calls it when it should have refused the plugin fails the test with
 * REGISTER_FAILED instead of the code the test expects. */
#pragma once

#include <gbt/gbt-plugin.h>

static inline gboolean
broken_register (GbtPlugin *plugin, GError **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "the loader should have refused plugin '%s' before registering it",
               gbt_plugin_get_name (plugin));
  return FALSE;
}

#define BROKEN_PLUGIN_DEFINE(sym, major, minor, size, name, version, register_func) \
  G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_##sym##_get_desc (void);          \
  G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_##sym##_get_desc (void)           \
  {                                                                                 \
    static const GbtPluginDesc desc = {                                             \
      (major), (minor), (size), name, version, "LGPL-2.1-or-later",                 \
      "Broken on purpose (test fixture)", GBT_PLUGIN_FLAG_DEFAULT, register_func,  \
      { NULL, }                                                                     \
    };                                                                              \
    return &desc;                                                                   \
  }
