/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin registry: finds plugin modules, checks their descriptors,
 * registers the default ones and those the user names, and holds what they
 * registered.  Modules are scanned and registered once per process, in the
 * shared registry (gbt_plugin_registry_get_default()); each GbtSession
 * looks through a view of it that sees only the plugins that session
 * enabled.  Plugins are never unloaded.
 *
 * Search order: directories given to gbt_plugin_registry_scan(), then
 * $GBT_PLUGIN_PATH (colon-separated; both ignored when setuid), then the
 * build tree when the program runs uninstalled, then the installed
 * pluginsdir.  The first file with a given base name wins.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-tracker.h>
#include <gbt/gbt-transport.h>
#include <gbt/gbt-version.h>
#include <gbt/gbt-wire-extension.h>
#include <gbt/gbt-stream-filter.h>

G_BEGIN_DECLS

/**
 * GbtPluginInfo:
 * @name: from the descriptor, or the file name when unreadable
 * @path: the module's file
 * @version: (nullable): %NULL when the descriptor could not be read
 * @license: (nullable): SPDX identifier
 * @description: (nullable): one line
 * @flags: #GbtPluginFlags
 * @loaded: whether it registered successfully
 * @interfaces: (array zero-terminated=1): what it registered, e.g.
 *   "tracker:http", "transport:tcp", "wire:ut_pex"
 * @error: (nullable): why it failed to load
 *
 * What the registry knows of one plugin module; owned by the registry,
 * which lives as long as the process.
 */
typedef struct {
  char *name;        /* from the descriptor, or the file name when unreadable */
  char *path;
  char *version;     /* nullable when the descriptor could not be read */
  char *license;
  char *description;
  guint32 flags;     /* GbtPluginFlags */
  gboolean loaded;   /* registered successfully */
  GStrv interfaces;  /* e.g. "tracker:http", "transport:tcp", "wire:ut_pex" */
  GError *error;     /* why it failed to load, or NULL */
  gpointer reserved[4];
} GbtPluginInfo;

/**
 * GbtPluginRegistry:
 *
 * The process-wide list of plugin modules and of the implementations they
 * registered: trackers by URL scheme, transports, peer sources and wire
 * extensions.  [func@Gbt.PluginRegistry.get_default] returns it; a
 * [class@Gbt.Session] loads it when it starts.
 */
#define GBT_TYPE_PLUGIN_REGISTRY (gbt_plugin_registry_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtPluginRegistry, gbt_plugin_registry, GBT, PLUGIN_REGISTRY, GObject)

/**
 * gbt_plugin_registry_get_default:
 *
 * Gets the process-wide registry.
 *
 * Returns: (transfer none): the process-wide registry
 */
GBT_AVAILABLE_IN_ALL
GbtPluginRegistry *gbt_plugin_registry_get_default (void);

/**
 * gbt_plugin_registry_load:
 * @self: a #GbtPluginRegistry
 * @extra_dirs: (array zero-terminated=1) (nullable): directories searched first
 * @enable: (array zero-terminated=1) (nullable): optional plugins to register
 * @error: return location for a #GError
 *
 * Opens every module found (first call only; later calls do nothing) and
 * reads its descriptor.  Registers default plugins and those in @enable
 * (names; NULL = none); "-name" keeps the default plugin "name" from being
 * registered (first call only).  A name in @enable that no module has is
 * %GBT_PLUGIN_ERROR_UNKNOWN.  A broken module never makes this fail: its
 * error is kept in its #GbtPluginInfo.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_registry_load (GbtPluginRegistry *self, const char *const *extra_dirs,
                                   const char *const *enable, GError **error);

/**
 * gbt_plugin_registry_list:
 * @self: a #GbtPluginRegistry
 *
 * Returns every module seen.
 *
 * Returns: (transfer container) (element-type GbtPluginInfo): every module
 *   seen
 */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_list (GbtPluginRegistry *self);

/**
 * gbt_plugin_registry_get_tracker:
 * @self: a #GbtPluginRegistry
 * @scheme: a URL scheme: "http", "https", "udp"
 *
 * Gets the tracker for @scheme.
 *
 * Returns: (transfer none) (nullable): the tracker for @scheme
 */
GBT_AVAILABLE_IN_ALL
GbtTracker *gbt_plugin_registry_get_tracker (GbtPluginRegistry *self, const char *scheme);
/**
 * gbt_plugin_registry_get_transport:
 * @self: a #GbtPluginRegistry
 * @name: (nullable): "tcp", "utp"; %NULL: "tcp" if registered, else any
 *
 * Gets the transport.
 *
 * Returns: (transfer none) (nullable): the transport
 */
GBT_AVAILABLE_IN_ALL
GbtTransport *gbt_plugin_registry_get_transport (GbtPluginRegistry *self, const char *name);
/**
 * gbt_plugin_registry_get_peer_sources:
 * @self: a #GbtPluginRegistry
 *
 * Gets the peer sources.
 *
 * Returns: (transfer none) (element-type GbtPeerSource): the peer sources
 */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_get_peer_sources (GbtPluginRegistry *self);
/**
 * gbt_plugin_registry_get_wire_extensions:
 * @self: a #GbtPluginRegistry
 *
 * Gets the wire extensions.
 *
 * Returns: (transfer none) (element-type GbtWireExtension): the wire
 *   extensions
 */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_get_wire_extensions (GbtPluginRegistry *self);
/**
 * gbt_plugin_registry_get_stream_filter:
 * @self: a #GbtPluginRegistry
 * @name: the filter's name ("mse")
 *
 * Gets a stream filter by name (ABI 1.4).
 *
 * Returns: (transfer none) (nullable): the filter, or %NULL
 */
GBT_AVAILABLE_IN_ALL
GbtStreamFilter *gbt_plugin_registry_get_stream_filter (GbtPluginRegistry *self,
                                                        const char *name);

G_END_DECLS
