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

/* A view of @shared (plugin ABI 1.2): one per GbtSession.  Loading it
 * (gbt_plugin_registry_load()) scans and registers in @shared, once per
 * process, but enables for the view only the default plugins it does not
 * opt out of and those it names; its lookups (get_tracker, get_transport,
 * get_peer_sources, get_wire_extensions) see those plugins' implementations
 * alone, in @shared's order, and follow what they add later.  Its list()
 * is @shared's.  Holds a reference on @shared. */
G_GNUC_INTERNAL
GbtPluginRegistry *gbt_plugin_registry_new_view (GbtPluginRegistry *shared);

/* Whether @self uses the plugin @name: for a view, enabled in it; for a
 * shared registry, registered. */
G_GNUC_INTERNAL
gboolean gbt_plugin_registry_uses (GbtPluginRegistry *self, const char *name);

G_END_DECLS
