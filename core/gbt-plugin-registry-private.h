/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the plugin registry, for tests. */
#pragma once

#include <gbt/gbt-plugin-registry.h>

G_BEGIN_DECLS

/* A registry of its own, separate from the process-wide one, so that each
 * test case starts empty.  With @only_extra_dirs, gbt_plugin_registry_load()
 * scans only the directories it is given: not $GBT_PLUGIN_PATH, the build
 * tree or the installed pluginsdir.  Modules stay resident across registries,
 * so loading the same plugin again only re-runs its register function. */
G_GNUC_INTERNAL
GbtPluginRegistry *gbt_plugin_registry_new_for_test (gboolean only_extra_dirs);

G_END_DECLS
