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

/**
 * GBT_PLUGIN_ABI_MAJOR:
 *
 * The plugin ABI's major version: a plugin built for another major is
 * refused (%GBT_PLUGIN_ERROR_ABI_MISMATCH).
 */
#define GBT_PLUGIN_ABI_MAJOR 1
/**
 * GBT_PLUGIN_ABI_MINOR:
 *
 * The plugin ABI's minor version: bumped by additions; a plugin built
 * against a newer minor than the core is refused.
 */
#define GBT_PLUGIN_ABI_MINOR 4

/**
 * GbtPlugin:
 *
 * The opaque handle of one loaded plugin module, given to its
 * #GbtPluginRegisterFunc to register its implementations with.
 */
typedef struct _GbtPlugin GbtPlugin;

/**
 * GbtPluginFlags:
 * @GBT_PLUGIN_FLAG_NONE: no flag
 * @GBT_PLUGIN_FLAG_DEFAULT: registered unless the user opts out (a session
 *   with no plugin list uses every default plugin)
 *
 * Flags of a plugin's #GbtPluginDesc.
 */
typedef enum {
  GBT_PLUGIN_FLAG_NONE = 0,
  GBT_PLUGIN_FLAG_DEFAULT = 1 << 0,
} GbtPluginFlags;

/**
 * GbtPluginRegisterFunc:
 * @plugin: the plugin's handle
 * @error: return location for a #GError
 *
 * A plugin's register function: adds its implementations with
 * gbt_plugin_add_tracker() and friends.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *   (%GBT_PLUGIN_ERROR_REGISTER_FAILED is reported)
 */
typedef gboolean (*GbtPluginRegisterFunc) (GbtPlugin *plugin, GError **error);

/**
 * GbtPluginDesc:
 * @abi_major: %GBT_PLUGIN_ABI_MAJOR when the plugin was built
 * @abi_minor: %GBT_PLUGIN_ABI_MINOR when the plugin was built
 * @struct_size: sizeof (GbtPluginDesc): lets the core append fields
 * @name: matches the file: libgbt-tracker-http.so is "tracker-http"
 * @version: the plugin's version
 * @license: an SPDX license identifier
 * @description: one line
 * @flags: #GbtPluginFlags
 * @register_func: called once when the plugin is loaded
 * @reserved: zero
 *
 * A plugin's descriptor, returned by its one exported entry function
 * (written by GBT_PLUGIN_DEFINE()); see docs/plugin-abi.md.
 */
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

/**
 * GbtPluginGetDescFunc:
 *
 * The type of a plugin's exported entry function,
 * `gbt_plugin_<name>_get_desc()`.
 *
 * Returns: (transfer none): the plugin's static descriptor
 */
typedef const GbtPluginDesc *(*GbtPluginGetDescFunc) (void);

/**
 * GBT_PLUGIN_DEFINE:
 * @sym: the plugin name as a C identifier (tracker_http)
 * @name: the plugin name as in the file name ("tracker-http")
 * @version: the plugin's version string
 * @license: its SPDX license identifier
 * @description: one line
 * @flags: #GbtPluginFlags
 * @register_func: its #GbtPluginRegisterFunc
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

/**
 * GbtPluginError:
 * @GBT_PLUGIN_ERROR_FAILED: any other failure
 * @GBT_PLUGIN_ERROR_MODULE: the file could not be opened as a shared object
 * @GBT_PLUGIN_ERROR_NOT_A_PLUGIN: no `gbt_plugin_<name>_get_desc` entry symbol
 * @GBT_PLUGIN_ERROR_ABI_MISMATCH: wrong major, newer minor or short descriptor
 * @GBT_PLUGIN_ERROR_NAME_MISMATCH: the descriptor's name differs from the file name
 * @GBT_PLUGIN_ERROR_INVALID: a required descriptor field is empty
 * @GBT_PLUGIN_ERROR_DUPLICATE: a plugin or an implementation name already held
 * @GBT_PLUGIN_ERROR_REGISTER_FAILED: the register function returned %FALSE
 * @GBT_PLUGIN_ERROR_WRONG_INTERFACE: an object lacks the interface it is added as
 * @GBT_PLUGIN_ERROR_UNKNOWN: a plugin named by the user does not exist
 * @GBT_PLUGIN_ERROR_MISSING: nothing is registered for what is needed (a
 *   tracker URL scheme, a transport)
 *
 * Error codes in the %GBT_PLUGIN_ERROR domain (`Gbt.PluginError` in
 * bindings).
 */
typedef enum {
  GBT_PLUGIN_ERROR_FAILED,
  GBT_PLUGIN_ERROR_MODULE,
  GBT_PLUGIN_ERROR_NOT_A_PLUGIN,
  GBT_PLUGIN_ERROR_ABI_MISMATCH,
  GBT_PLUGIN_ERROR_NAME_MISMATCH,
  GBT_PLUGIN_ERROR_INVALID,
  GBT_PLUGIN_ERROR_DUPLICATE,
  GBT_PLUGIN_ERROR_REGISTER_FAILED,
  GBT_PLUGIN_ERROR_WRONG_INTERFACE,
  GBT_PLUGIN_ERROR_UNKNOWN,
  GBT_PLUGIN_ERROR_MISSING,
} GbtPluginError;

/**
 * gbt_plugin_error_quark:
 *
 * Gets the #GQuark of the %GBT_PLUGIN_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_plugin_error_quark (void);

/**
 * gbt_plugin_get_name:
 * @plugin: the handle given to a plugin's register function
 *
 * Gets the plugin's name.
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

/**
 * gbt_plugin_add_tracker: (skip)
 * @plugin: the plugin's handle
 * @scheme: the URL scheme it announces to: "http", "https", "udp"
 * @tracker: (type GObject.Object): an object implementing [iface@Gbt.Tracker]
 * @error: return location for a #GError
 *
 * From a register function: adds a tracker implementation.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_tracker (GbtPlugin *plugin, const char *scheme, gpointer tracker,
                                 GError **error);
/**
 * gbt_plugin_add_transport: (skip)
 * @plugin: the plugin's handle
 * @name: the transport's name: "tcp", "utp"
 * @transport: (type GObject.Object): an object implementing [iface@Gbt.Transport]
 * @error: return location for a #GError
 *
 * From a register function: adds a transport implementation.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_transport (GbtPlugin *plugin, const char *name, gpointer transport,
                                   GError **error);
/**
 * gbt_plugin_add_peer_source: (skip)
 * @plugin: the plugin's handle
 * @name: the source's name, shown as where peers came from: "dht", "pex", "lsd"
 * @source: (type GObject.Object): an object implementing [iface@Gbt.PeerSource]
 * @error: return location for a #GError
 *
 * From a register function: adds a peer source.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_peer_source (GbtPlugin *plugin, const char *name, gpointer source,
                                     GError **error);
/**
 * gbt_plugin_add_wire_extension: (skip)
 * @plugin: the plugin's handle
 * @extension: (type GObject.Object): an object implementing
 *   [iface@Gbt.WireExtension]; its BEP 10 name is its registered name
 * @error: return location for a #GError
 *
 * From a register function: adds a BEP 10 extension protocol.
 *
 * Returns: %TRUE, or %FALSE with @error set
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_plugin_add_wire_extension (GbtPlugin *plugin, gpointer extension, GError **error);

G_END_DECLS
