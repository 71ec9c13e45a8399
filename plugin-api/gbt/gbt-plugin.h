/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stable plugin ABI.
 *
 * A plugin is a shared object named libgbt-<name>.so that exports exactly one
 * entry function, gbt_plugin_<name>_get_desc() (dashes in the file name become
 * underscores), written by GBT_PLUGIN_DEFINE.  The loader checks the ABI
 * version in the descriptor before calling anything else, then calls
 * register_func, which adds implementations of the core's interfaces
 * (GbtTracker, GbtTransport, GbtPeerSource, GbtWireExtension) to the registry.
 *
 * ABI promise: within one GBT_PLUGIN_ABI_MAJOR an old plugin keeps loading.
 * Additions bump GBT_PLUGIN_ABI_MINOR; a plugin built against a newer minor
 * than the core is refused.
 */
#pragma once

#include <gio/gio.h>
#include <gmodule.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_PLUGIN_ABI_MAJOR 1
#define GBT_PLUGIN_ABI_MINOR 2

typedef struct _GbtPlugin GbtPlugin; /* opaque: one per loaded module */

typedef enum {
  GBT_PLUGIN_FLAG_NONE = 0,
  GBT_PLUGIN_FLAG_DEFAULT = 1 << 0, /* registered unless the user opts out */
} GbtPluginFlags;

typedef gboolean (*GbtPluginRegisterFunc) (GbtPlugin *plugin, GError **error);

typedef struct {
  guint16 abi_major; /* GBT_PLUGIN_ABI_MAJOR when the plugin was built */
  guint16 abi_minor; /* GBT_PLUGIN_ABI_MINOR when the plugin was built */
  guint32 struct_size; /* sizeof (GbtPluginDesc): lets the core append fields */
  const char *name; /* matches the file: libgbt-tracker-http.so -> "tracker-http" */
  const char *version;
  const char *license; /* SPDX identifier */
  const char *description; /* one line */
  guint32 flags; /* GbtPluginFlags */
  GbtPluginRegisterFunc register_func;
  gpointer reserved[4];
} GbtPluginDesc;

typedef const GbtPluginDesc *(*GbtPluginGetDescFunc) (void);

/**
 * GBT_PLUGIN_DEFINE:
 * @sym: the plugin name as a C identifier (tracker_http)
 * @name: the plugin name as in the file name ("tracker-http")
 *
 * Expands to the one exported entry function of a plugin.
 */
#define GBT_PLUGIN_DEFINE(sym, name, version, license, description, flags, register_func) \
  G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_##sym##_get_desc (void);                \
  G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_##sym##_get_desc (void)                 \
  {                                                                                        \
    static const GbtPluginDesc desc = {                                                    \
      GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR, sizeof (GbtPluginDesc),                  \
      name, version, license, description, flags, register_func, { NULL, }                 \
    };                                                                                     \
    return &desc;                                                                          \
  }

#define GBT_PLUGIN_ERROR (gbt_plugin_error_quark ())

typedef enum {
  GBT_PLUGIN_ERROR_FAILED,
  GBT_PLUGIN_ERROR_MODULE,          /* the file could not be opened as a shared object */
  GBT_PLUGIN_ERROR_NOT_A_PLUGIN,    /* no gbt_plugin_<name>_get_desc entry symbol */
  GBT_PLUGIN_ERROR_ABI_MISMATCH,    /* wrong major, newer minor or short descriptor */
  GBT_PLUGIN_ERROR_NAME_MISMATCH,   /* descriptor name differs from the file name */
  GBT_PLUGIN_ERROR_INVALID,         /* a required descriptor field is empty */
  GBT_PLUGIN_ERROR_DUPLICATE,       /* a plugin or an implementation name already held */
  GBT_PLUGIN_ERROR_REGISTER_FAILED, /* register_func returned FALSE */
  GBT_PLUGIN_ERROR_WRONG_INTERFACE, /* an object lacks the interface it is added as */
  GBT_PLUGIN_ERROR_UNKNOWN,         /* a plugin named by the user does not exist */
  GBT_PLUGIN_ERROR_MISSING,         /* nothing registered for what is needed (scheme, transport) */
} GbtPluginError;

GBT_AVAILABLE_IN_ALL
GQuark gbt_plugin_error_quark (void);

/**
 * gbt_plugin_get_name:
 * @plugin: the handle given to a plugin's register function
 *
 * Returns: the plugin's name
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_plugin_get_name (GbtPlugin *plugin);

/* Registration, called from register_func.  Each takes a new reference on the
 * object.  An object that does not implement the interface gives
 * GBT_PLUGIN_ERROR_WRONG_INTERFACE; one that leaves a required method NULL
 * (docs/plugin-abi.md lists them; since ABI 1.2) gives
 * GBT_PLUGIN_ERROR_REGISTER_FAILED naming the type and the method; a name
 * already registered gives GBT_PLUGIN_ERROR_DUPLICATE. */

/* @scheme: URL scheme, "http", "https", "udp" */
/**
 * gbt_plugin_add_tracker: (skip)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_tracker (GbtPlugin *plugin, const char *scheme, gpointer tracker,
                                 GError **error);
/* @name: "tcp", "utp" */
/**
 * gbt_plugin_add_transport: (skip)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_transport (GbtPlugin *plugin, const char *name, gpointer transport,
                                   GError **error);
/* @name: "dht", "pex", "lsd" (shown as the source of peers) */
/**
 * gbt_plugin_add_peer_source: (skip)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_peer_source (GbtPlugin *plugin, const char *name, gpointer source,
                                     GError **error);
/* the name is the extension's own BEP 10 name */
/**
 * gbt_plugin_add_wire_extension: (skip)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_wire_extension (GbtPlugin *plugin, gpointer extension, GError **error);

G_END_DECLS
