/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin registry: finds plugin modules, checks their descriptors,
 * registers the default ones and those the user names, and holds what they
 * registered.  One per process; plugins are never unloaded.
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

G_BEGIN_DECLS

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

#define GBT_TYPE_PLUGIN_REGISTRY (gbt_plugin_registry_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtPluginRegistry, gbt_plugin_registry, GBT, PLUGIN_REGISTRY, GObject)

/* (transfer none): the process-wide registry */
GBT_AVAILABLE_IN_ALL
GbtPluginRegistry *gbt_plugin_registry_get_default (void);

/* Opens every module found (first call only; later calls do nothing) and
 * reads its descriptor.  Registers default plugins and those in @enable
 * (names; NULL = none); "-name" keeps the default plugin "name" from being
 * registered (first call only).  A name in @enable that no module has is
 * GBT_PLUGIN_ERROR_UNKNOWN.  A broken module never makes this fail: its
 * error is kept in its GbtPluginInfo. */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_registry_load (GbtPluginRegistry *self, const char *const *extra_dirs,
                                   const char *const *enable, GError **error);

/* (transfer container) (element-type GbtPluginInfo): every module seen */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_list (GbtPluginRegistry *self);

/* (transfer none) (nullable) */
GBT_AVAILABLE_IN_ALL
GbtTracker *gbt_plugin_registry_get_tracker (GbtPluginRegistry *self, const char *scheme);
/* @name NULL: "tcp" if registered, else any */
GBT_AVAILABLE_IN_ALL
GbtTransport *gbt_plugin_registry_get_transport (GbtPluginRegistry *self, const char *name);
/* (transfer none) (element-type GbtPeerSource) */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_get_peer_sources (GbtPluginRegistry *self);
/* (transfer none) (element-type GbtWireExtension) */
GBT_AVAILABLE_IN_ALL
GPtrArray *gbt_plugin_registry_get_wire_extensions (GbtPluginRegistry *self);

G_END_DECLS
