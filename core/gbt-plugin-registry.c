/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin loader and registry.
 *
 * Where plugins come from, in this order (the first file with a given base
 * name wins; a later file with the same name is listed as DUPLICATE, so that
 * `gbt plugins` shows what shadowed it):
 *   1. the directories passed to gbt_plugin_registry_load() (--plugin-path);
 *   2. $GBT_PLUGIN_PATH, colon-separated;
 *      (1 and 2 are ignored in a setuid or setgid process, as GIO ignores
 *      GIO_EXTRA_MODULES there: they come from the less privileged user)
 *   3. the build tree's plugins/ when this program runs from the build tree,
 *      so a freshly built gbt never picks up an older installed plugin;
 *   4. the installed pluginsdir, $libdir/gbt-1/plugins.
 * In each directory we take the libgbt-*.so files in it, then those one
 * level of subdirectory down: the build tree puts each plugin in
 * plugins/<name>/libgbt-<name>.so.
 *
 * Every module found is opened and its descriptor checked, so that
 * `gbt plugins` can list it; only default plugins and those the user names
 * are registered.  Default plugins register first, in search order, then the
 * named ones in the order given, so that an optional plugin can never take a
 * tracker scheme or transport name from a default one.
 *
 * Views (plugin ABI 1.2): each GbtSession has a registry of its own, a view
 * of the process-wide one.  Modules are scanned, opened and registered once
 * per process, in the shared registry (a module is resident once its
 * register function ran, and its objects serve every session); a view only
 * chooses which of those plugins its session uses, and its lookups see the
 * implementations of those alone.  So one session may run the DHT and
 * another, in the same process, never start it.  Names stay process-wide:
 * the first plugin to register a tracker scheme or extension name holds it
 * for every view.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gbt/gbt-plugin-registry.h>

#include "gbt-plugin-registry-private.h"

#define PLUGIN_FILE_PREFIX "libgbt-"
#define PLUGIN_FILE_SUFFIX ".so"

/* The descriptor fields this core reads: everything before reserved[].  A
 * descriptor declaring fewer bytes was not built from our header. */
#define DESC_MIN_SIZE ((guint32) G_STRUCT_OFFSET (GbtPluginDesc, reserved))

typedef struct {
  char *name; /* tracker scheme (lower case) or implementation name */
  GObject *object;
  GbtPlugin *owner;
} Impl;

typedef struct {
  const char *kind; /* prefix in GbtPluginInfo.interfaces: "tracker:http" */
  GPtrArray *impls; /* (element-type Impl): in registration order */
  GPtrArray *objects; /* the same objects, unowned, lent by the accessors */
} ImplTable;

enum {
  TABLE_TRACKER,
  TABLE_TRANSPORT,
  TABLE_PEER_SOURCE,
  TABLE_WIRE_EXTENSION,
  TABLE_STREAM_FILTER,
  N_TABLES
};

struct _GbtPlugin {
  GbtPluginInfo info; /* lent out by gbt_plugin_registry_list() */
  GbtPluginRegistry *registry; /* unowned: the registry owns its plugins */
  GModule *module; /* NULL when the file could not be opened or was refused */
  const GbtPluginDesc *desc; /* inside module; NULL unless the descriptor checked out */
  GPtrArray *interfaces; /* (element-type utf8): what register_func added so far */
  gboolean registered; /* register_func was called (successfully or not) */
};

struct _GbtPluginRegistry {
  GObject parent_instance;

  /* A view's registry, whose modules and implementations it filters (a
   * reference); NULL in a shared registry. */
  GbtPluginRegistry *shared;

  GMutex load_lock; /* one gbt_plugin_registry_load() at a time (shared only) */
  GMutex lock; /* plugins, tables and views, for lookups from other threads */
  gboolean only_extra_dirs;
  gboolean scanned;
  gboolean defaults_done; /* this registry (or view) has taken the default plugins */
  GPtrArray *plugins; /* (element-type GbtPlugin): every file seen, search order; shared only */
  /* Shared: everything registered.  View: the implementations of its
   * enabled plugins, in the shared registry's order (impls unowned). */
  ImplTable tables[N_TABLES];
  GPtrArray *enabled; /* view only: the GbtPlugin*s it uses (owned by the shared registry) */
  GPtrArray *views; /* shared only: its live views, unowned (a view leaves when finalized) */
};

G_DEFINE_FINAL_TYPE (GbtPluginRegistry, gbt_plugin_registry, G_TYPE_OBJECT)

static void
impl_free (gpointer data)
{
  Impl *impl = data;

  g_free (impl->name);
  g_object_unref (impl->object);
  g_free (impl);
}

static GbtPlugin *
plugin_new (GbtPluginRegistry *registry, const char *path, const char *name)
{
  GbtPlugin *plugin = g_new0 (GbtPlugin, 1);

  plugin->registry = registry;
  plugin->info.name = g_strdup (name);
  plugin->info.path = g_strdup (path);
  plugin->info.interfaces = g_new0 (char *, 1);
  plugin->interfaces = g_ptr_array_new_with_free_func (g_free);
  return plugin;
}

static void
plugin_free (gpointer data)
{
  GbtPlugin *plugin = data;

  g_free (plugin->info.name);
  g_free (plugin->info.path);
  g_free (plugin->info.version);
  g_free (plugin->info.license);
  g_free (plugin->info.description);
  g_strfreev (plugin->info.interfaces);
  g_clear_error (&plugin->info.error);
  g_ptr_array_unref (plugin->interfaces);
  /* A resident module only loses a reference here; one that never ran its
   * register function is really unloaded. */
  if (plugin->module != NULL)
    g_module_close (plugin->module);
  g_free (plugin);
}

static void
gbt_plugin_registry_finalize (GObject *object)
{
  GbtPluginRegistry *self = GBT_PLUGIN_REGISTRY (object);

  if (self->shared != NULL)
    {
      g_mutex_lock (&self->shared->lock);
      g_ptr_array_remove (self->shared->views, self);
      g_mutex_unlock (&self->shared->lock);
      g_clear_object (&self->shared);
    }
  g_clear_pointer (&self->enabled, g_ptr_array_unref);
  g_ptr_array_unref (self->views);

  /* implementations first: their finalizers live in the modules */
  for (guint t = 0; t < N_TABLES; t++)
    {
      g_ptr_array_unref (self->tables[t].objects);
      g_ptr_array_unref (self->tables[t].impls);
    }
  g_ptr_array_unref (self->plugins);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->load_lock);

  G_OBJECT_CLASS (gbt_plugin_registry_parent_class)->finalize (object);
}

static void
gbt_plugin_registry_class_init (GbtPluginRegistryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_plugin_registry_finalize;
}

static void
gbt_plugin_registry_init (GbtPluginRegistry *self)
{
  static const char *const kinds[N_TABLES] = {
    [TABLE_TRACKER] = "tracker",
    [TABLE_TRANSPORT] = "transport",
    [TABLE_PEER_SOURCE] = "peer-source",
    [TABLE_WIRE_EXTENSION] = "wire",
    [TABLE_STREAM_FILTER] = "stream-filter",
  };

  g_mutex_init (&self->lock);
  g_mutex_init (&self->load_lock);
  self->plugins = g_ptr_array_new_with_free_func (plugin_free);
  self->views = g_ptr_array_new ();
  for (guint t = 0; t < N_TABLES; t++)
    {
      self->tables[t].kind = kinds[t];
      self->tables[t].impls = g_ptr_array_new_with_free_func (impl_free);
      self->tables[t].objects = g_ptr_array_new ();
    }
}

GbtPluginRegistry *
gbt_plugin_registry_get_default (void)
{
  static GbtPluginRegistry *registry;

  if (g_once_init_enter (&registry))
    g_once_init_leave (&registry, g_object_new (GBT_TYPE_PLUGIN_REGISTRY, NULL));
  return registry;
}

GbtPluginRegistry *
gbt_plugin_registry_new_for_test (gboolean only_extra_dirs)
{
  GbtPluginRegistry *self = g_object_new (GBT_TYPE_PLUGIN_REGISTRY, NULL);

  self->only_extra_dirs = only_extra_dirs;
  return self;
}

GbtPluginRegistry *
gbt_plugin_registry_new_view (GbtPluginRegistry *shared)
{
  GbtPluginRegistry *self;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (shared), NULL);
  g_return_val_if_fail (shared->shared == NULL, NULL);

  self = g_object_new (GBT_TYPE_PLUGIN_REGISTRY, NULL);
  self->shared = g_object_ref (shared);
  self->enabled = g_ptr_array_new ();
  /* the shared registry owns the implementations; a view only lends them */
  for (guint t = 0; t < N_TABLES; t++)
    g_ptr_array_set_free_func (self->tables[t].impls, NULL);
  g_mutex_lock (&shared->lock);
  g_ptr_array_add (shared->views, self);
  g_mutex_unlock (&shared->lock);
  return self;
}

/* Refills @view's tables from its shared registry's, keeping their order
 * (the extension ids of our BEP 10 handshake follow it).  The arrays are
 * refilled in place: callers hold them (transfer none).  Called with the
 * shared registry's lock held. */
static void
view_rebuild_locked (GbtPluginRegistry *view)
{
  GbtPluginRegistry *shared = view->shared;

  g_mutex_lock (&view->lock);
  for (guint t = 0; t < N_TABLES; t++)
    {
      ImplTable *from = &shared->tables[t];
      ImplTable *to = &view->tables[t];

      g_ptr_array_set_size (to->impls, 0);
      g_ptr_array_set_size (to->objects, 0);
      for (guint i = 0; i < from->impls->len; i++)
        {
          Impl *impl = g_ptr_array_index (from->impls, i);

          if (!g_ptr_array_find (view->enabled, impl->owner, NULL))
            continue;
          g_ptr_array_add (to->impls, impl);
          g_ptr_array_add (to->objects, impl->object);
        }
    }
  g_mutex_unlock (&view->lock);
}

/* After the shared tables changed (a plugin registered, failed, or added an
 * implementation late): every view sees it. */
static void
rebuild_views (GbtPluginRegistry *shared)
{
  g_mutex_lock (&shared->lock);
  for (guint i = 0; i < shared->views->len; i++)
    view_rebuild_locked (g_ptr_array_index (shared->views, i));
  g_mutex_unlock (&shared->lock);
}

/* ---- implementations ------------------------------------------------- */

static GType
table_iface_type (guint table)
{
  switch (table)
    {
    case TABLE_TRACKER: return GBT_TYPE_TRACKER;
    case TABLE_TRANSPORT: return GBT_TYPE_TRANSPORT;
    case TABLE_PEER_SOURCE: return GBT_TYPE_PEER_SOURCE;
    case TABLE_WIRE_EXTENSION: return GBT_TYPE_WIRE_EXTENSION;
    case TABLE_STREAM_FILTER: return GBT_TYPE_STREAM_FILTER;
    default: g_assert_not_reached ();
    }
}

/* Called with self->lock held. */
static Impl *
table_find (ImplTable *table, const char *name)
{
  for (guint i = 0; i < table->impls->len; i++)
    {
      Impl *impl = g_ptr_array_index (table->impls, i);
      if (g_str_equal (impl->name, name))
        return impl;
    }
  return NULL;
}

/* Drops whatever @plugin registered: a failed register_func leaves nothing
 * half-registered behind. */
static void
remove_impls_of (GbtPluginRegistry *self, GbtPlugin *plugin)
{
  g_mutex_lock (&self->lock);
  for (guint t = 0; t < N_TABLES; t++)
    {
      ImplTable *table = &self->tables[t];
      for (guint i = table->impls->len; i > 0; i--)
        {
          Impl *impl = g_ptr_array_index (table->impls, i - 1);
          if (impl->owner != plugin)
            continue;
          g_ptr_array_remove (table->objects, impl->object);
          g_ptr_array_remove_index (table->impls, i - 1);
        }
    }
  g_mutex_unlock (&self->lock);
  g_ptr_array_set_size (plugin->interfaces, 0);
}

/* Publishes what @plugin registered in its info (a GStrv for the API). */
static void
plugin_update_interfaces (GbtPlugin *plugin)
{
  char **v = g_new0 (char *, plugin->interfaces->len + 1);

  for (guint i = 0; i < plugin->interfaces->len; i++)
    v[i] = g_strdup (g_ptr_array_index (plugin->interfaces, i));
  g_strfreev (plugin->info.interfaces);
  plugin->info.interfaces = v;
}

/* The vfuncs an implementation must fill: the core calls them without a
 * check (their public wrappers are thin), so one left NULL would crash
 * later, far from the plugin that forgot it.  Optional vfuncs, and those
 * added in a later minor ABI, are checked by their wrappers instead. */
static const char *
missing_method (guint t, gpointer object)
{
  switch (t)
    {
    case TABLE_TRACKER:
      {
        GbtTrackerInterface *iface = GBT_TRACKER_GET_IFACE (object);

        if (iface->announce_async == NULL)
          return "announce_async";
        if (iface->announce_finish == NULL)
          return "announce_finish";
        /* scrape is optional, but only as a pair */
        if (iface->scrape_async != NULL && iface->scrape_finish == NULL)
          return "scrape_finish";
        return NULL;
      }
    case TABLE_TRANSPORT:
      {
        GbtTransportInterface *iface = GBT_TRANSPORT_GET_IFACE (object);

        /* a UDP transport (1.3) has both of its methods, not connect_async */
        if (iface->listen_udp != NULL || iface->connect_udp_async != NULL)
          {
            if (iface->listen_udp == NULL)
              return "listen_udp";
            if (iface->connect_udp_async == NULL)
              return "connect_udp_async";
          }
        else if (iface->connect_async == NULL)
          return "connect_async";
        if (iface->connect_finish == NULL)
          return "connect_finish";
        return NULL; /* listen is optional: a transport may only dial out */
      }
    case TABLE_PEER_SOURCE:
      {
        GbtPeerSourceInterface *iface = GBT_PEER_SOURCE_GET_IFACE (object);

        if (iface->start == NULL)
          return "start";
        if (iface->stop == NULL)
          return "stop";
        return NULL;
      }
    case TABLE_WIRE_EXTENSION:
      {
        GbtWireExtensionInterface *iface = GBT_WIRE_EXTENSION_GET_IFACE (object);

        if (iface->get_name == NULL)
          return "get_name";
        if (iface->on_message == NULL)
          return "on_message";
        return NULL;
      }
    case TABLE_STREAM_FILTER:
      {
        GbtStreamFilterInterface *iface = GBT_STREAM_FILTER_GET_IFACE (object);

        if (iface->wrap_outgoing_async == NULL)
          return "wrap_outgoing_async";
        if (iface->wrap_outgoing_finish == NULL)
          return "wrap_outgoing_finish";
        if (iface->wrap_incoming_async == NULL)
          return "wrap_incoming_async";
        if (iface->wrap_incoming_finish == NULL)
          return "wrap_incoming_finish";
        return NULL;
      }
    default:
      g_assert_not_reached ();
    }
}

/* REGISTER_FAILED, naming the type and the method, when @object (known to
 * implement the table's interface) lacks a required vfunc. */
static gboolean
check_methods (GbtPlugin *plugin, guint t, const char *name, gpointer object, GError **error)
{
  const char *missing = missing_method (t, object);

  if (missing == NULL)
    return TRUE;
  g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_REGISTER_FAILED,
               "plugin '%s' adds a %s as %s%s%s, but it has no %s method, which %s requires",
               plugin->info.name, G_OBJECT_TYPE_NAME (object), plugin->registry->tables[t].kind,
               name != NULL ? " " : "", name != NULL ? name : "", missing,
               g_type_name (table_iface_type (t)));
  return FALSE;
}

static gboolean
add_impl (GbtPlugin *plugin, guint t, const char *name, gpointer object, GError **error)
{
  GbtPluginRegistry *self = plugin->registry;
  ImplTable *table = &self->tables[t];
  GType iface = table_iface_type (t);
  Impl *held;
  Impl *impl;

  if (!G_TYPE_CHECK_INSTANCE_TYPE (object, iface))
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_WRONG_INTERFACE,
                   "plugin '%s' adds a %s as %s '%s', but it does not implement %s",
                   plugin->info.name, G_OBJECT_TYPE_NAME (object), table->kind, name,
                   g_type_name (iface));
      return FALSE;
    }
  if (!check_methods (plugin, t, name, object, error))
    return FALSE;

  g_mutex_lock (&self->lock);
  held = table_find (table, name);
  if (held != NULL)
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_DUPLICATE,
                   "plugin '%s' adds %s '%s', which plugin '%s' already registered",
                   plugin->info.name, table->kind, name, held->owner->info.name);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  impl = g_new0 (Impl, 1);
  impl->name = g_strdup (name);
  impl->object = g_object_ref (object);
  impl->owner = plugin;
  g_ptr_array_add (table->impls, impl);
  g_ptr_array_add (table->objects, impl->object);
  g_mutex_unlock (&self->lock);

  g_ptr_array_add (plugin->interfaces, g_strdup_printf ("%s:%s", table->kind, name));
  if (plugin->info.loaded) /* added after registration, e.g. once a probe finished */
    {
      plugin_update_interfaces (plugin);
      rebuild_views (self);
    }
  g_debug ("plugin '%s' registered %s '%s' (%s)", plugin->info.name, table->kind, name,
           G_OBJECT_TYPE_NAME (object));
  return TRUE;
}

const char *
gbt_plugin_get_name (GbtPlugin *plugin)
{
  g_return_val_if_fail (plugin != NULL, NULL);
  return plugin->info.name;
}

gboolean
gbt_plugin_add_tracker (GbtPlugin *plugin, const char *scheme, gpointer tracker, GError **error)
{
  g_autofree char *lower = NULL;

  g_return_val_if_fail (plugin != NULL, FALSE);
  g_return_val_if_fail (scheme != NULL && *scheme != '\0', FALSE);
  g_return_val_if_fail (G_IS_OBJECT (tracker), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* URL schemes are case-insensitive (RFC 3986, 3.1) */
  lower = g_ascii_strdown (scheme, -1);
  return add_impl (plugin, TABLE_TRACKER, lower, tracker, error);
}

gboolean
gbt_plugin_add_transport (GbtPlugin *plugin, const char *name, gpointer transport,
                          GError **error)
{
  g_return_val_if_fail (plugin != NULL, FALSE);
  g_return_val_if_fail (name != NULL && *name != '\0', FALSE);
  g_return_val_if_fail (G_IS_OBJECT (transport), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_impl (plugin, TABLE_TRANSPORT, name, transport, error);
}

gboolean
gbt_plugin_add_peer_source (GbtPlugin *plugin, const char *name, gpointer source,
                            GError **error)
{
  g_return_val_if_fail (plugin != NULL, FALSE);
  g_return_val_if_fail (name != NULL && *name != '\0', FALSE);
  g_return_val_if_fail (G_IS_OBJECT (source), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_impl (plugin, TABLE_PEER_SOURCE, name, source, error);
}

gboolean
gbt_plugin_add_wire_extension (GbtPlugin *plugin, gpointer extension, GError **error)
{
  const char *name;

  g_return_val_if_fail (plugin != NULL, FALSE);
  g_return_val_if_fail (G_IS_OBJECT (extension), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!GBT_IS_WIRE_EXTENSION (extension))
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_WRONG_INTERFACE,
                   "plugin '%s' adds a %s as a wire extension, but it does not implement %s",
                   plugin->info.name, G_OBJECT_TYPE_NAME (extension),
                   g_type_name (GBT_TYPE_WIRE_EXTENSION));
      return FALSE;
    }
  /* before get_name: it may be the one missing */
  if (!check_methods (plugin, TABLE_WIRE_EXTENSION, NULL, extension, error))
    return FALSE;
  name = gbt_wire_extension_get_name (extension);
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_INVALID,
                   "plugin '%s' adds a wire extension (%s) without a BEP 10 name",
                   plugin->info.name, G_OBJECT_TYPE_NAME (extension));
      return FALSE;
    }
  return add_impl (plugin, TABLE_WIRE_EXTENSION, name, extension, error);
}

gboolean
gbt_plugin_add_stream_filter (GbtPlugin *plugin, const char *name, gpointer filter, GError **error)
{
  g_return_val_if_fail (plugin != NULL, FALSE);
  g_return_val_if_fail (name != NULL && *name != '\0', FALSE);
  g_return_val_if_fail (G_IS_OBJECT (filter), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return add_impl (plugin, TABLE_STREAM_FILTER, name, filter, error);
}

/* ---- lookups --------------------------------------------------------- */

GPtrArray *
gbt_plugin_registry_list (GbtPluginRegistry *self)
{
  GPtrArray *list;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);

  /* modules are process-wide: a view lists what its shared registry found */
  if (self->shared != NULL)
    return gbt_plugin_registry_list (self->shared);

  g_mutex_lock (&self->lock);
  list = g_ptr_array_sized_new (self->plugins->len);
  for (guint i = 0; i < self->plugins->len; i++)
    g_ptr_array_add (list, &((GbtPlugin *) g_ptr_array_index (self->plugins, i))->info);
  g_mutex_unlock (&self->lock);
  return list;
}

static gpointer
lookup (GbtPluginRegistry *self, guint t, const char *name)
{
  Impl *impl;

  g_mutex_lock (&self->lock);
  impl = table_find (&self->tables[t], name);
  g_mutex_unlock (&self->lock);
  /* (transfer none): implementations stay registered for the registry's life */
  return impl != NULL ? impl->object : NULL;
}

GbtTracker *
gbt_plugin_registry_get_tracker (GbtPluginRegistry *self, const char *scheme)
{
  g_autofree char *lower = NULL;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);
  g_return_val_if_fail (scheme != NULL, NULL);

  lower = g_ascii_strdown (scheme, -1);
  return lookup (self, TABLE_TRACKER, lower);
}

GbtTransport *
gbt_plugin_registry_get_transport (GbtPluginRegistry *self, const char *name)
{
  GbtTransport *transport;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);

  if (name != NULL)
    return lookup (self, TABLE_TRANSPORT, name);

  transport = lookup (self, TABLE_TRANSPORT, "tcp");
  if (transport == NULL)
    {
      g_mutex_lock (&self->lock);
      if (self->tables[TABLE_TRANSPORT].objects->len > 0)
        transport = g_ptr_array_index (self->tables[TABLE_TRANSPORT].objects, 0);
      g_mutex_unlock (&self->lock);
    }
  return transport;
}

GPtrArray *
gbt_plugin_registry_get_peer_sources (GbtPluginRegistry *self)
{
  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);
  return self->tables[TABLE_PEER_SOURCE].objects;
}

GPtrArray *
gbt_plugin_registry_get_wire_extensions (GbtPluginRegistry *self)
{
  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);
  return self->tables[TABLE_WIRE_EXTENSION].objects;
}

GbtStreamFilter *
gbt_plugin_registry_get_stream_filter (GbtPluginRegistry *self, const char *name)
{
  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), NULL);
  return lookup (self, TABLE_STREAM_FILTER, name);
}

/* ---- loading --------------------------------------------------------- */

static gboolean
check_desc (const GbtPluginDesc *desc, const char *file_name, GError **error)
{
  const char *empty = NULL;

  /* Only the first three fields may be read before these checks pass. */
  if (desc->abi_major != GBT_PLUGIN_ABI_MAJOR || desc->abi_minor > GBT_PLUGIN_ABI_MINOR)
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_ABI_MISMATCH,
                   "built for plugin ABI %u.%u, but this gbt has ABI %u.%u (%s)",
                   desc->abi_major, desc->abi_minor, GBT_PLUGIN_ABI_MAJOR, GBT_PLUGIN_ABI_MINOR,
                   desc->abi_major != GBT_PLUGIN_ABI_MAJOR
                     ? "the major versions must be equal; rebuild the plugin"
                     : "the plugin needs a newer gbt");
      return FALSE;
    }
  if (desc->struct_size < DESC_MIN_SIZE)
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_ABI_MISMATCH,
                   "descriptor is %u bytes, but plugin ABI %u.%u (this gbt has %u.%u) "
                   "needs at least %u",
                   desc->struct_size, desc->abi_major, desc->abi_minor, GBT_PLUGIN_ABI_MAJOR,
                   GBT_PLUGIN_ABI_MINOR, DESC_MIN_SIZE);
      return FALSE;
    }

  if (desc->name == NULL || *desc->name == '\0')
    empty = "name";
  else if (desc->version == NULL || *desc->version == '\0')
    empty = "version";
  else if (desc->license == NULL || *desc->license == '\0')
    empty = "license";
  else if (desc->description == NULL || *desc->description == '\0')
    empty = "description";
  else if (desc->register_func == NULL)
    empty = "register_func";
  if (empty != NULL)
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_INVALID,
                   "the descriptor's %s is empty", empty);
      return FALSE;
    }

  if (!g_str_equal (desc->name, file_name))
    {
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_NAME_MISMATCH,
                   "the descriptor names the plugin '%s', but the file is "
                   PLUGIN_FILE_PREFIX "%s" PLUGIN_FILE_SUFFIX,
                   desc->name, file_name);
      return FALSE;
    }
  return TRUE;
}

/* Opens @plugin's file and checks its descriptor; on failure the reason is
 * left in plugin->info.error and the module closed. */
static void
open_plugin (GbtPlugin *plugin)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *symbol = NULL;
  GbtPluginGetDescFunc get_desc = NULL;
  const GbtPluginDesc *desc;

  /* The entry symbol is made from the name; anything but [a-z0-9-] could
   * not spell one, or could spell another plugin's. */
  for (const char *c = plugin->info.name; *c != '\0'; c++)
    if (!g_ascii_islower (*c) && !g_ascii_isdigit (*c) && *c != '-')
      {
        g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_NOT_A_PLUGIN,
                     "not a gbt plugin: '%s' is not a plugin name (lower-case letters, digits "
                     "and dashes)",
                     plugin->info.name);
        return;
      }

  /* Local binding: plugins do not see each other's symbols.  No LAZY: an
   * unresolved symbol fails here, with a message, not later as a crash. */
  plugin->module = g_module_open_full (plugin->info.path, G_MODULE_BIND_LOCAL, &local_error);
  if (plugin->module == NULL)
    {
      /* dlerror() starts with the path, which the info carries already */
      const char *why = local_error->message;
      gsize path_len = strlen (plugin->info.path);

      if (strncmp (why, plugin->info.path, path_len) == 0 && strncmp (why + path_len, ": ", 2) == 0)
        why += path_len + 2;
      g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MODULE,
                   "cannot open it as a shared object: %s", why);
      return;
    }

  symbol = g_strdup_printf ("gbt_plugin_%s_get_desc", plugin->info.name);
  g_strdelimit (symbol, "-", '_');
  if (!g_module_symbol (plugin->module, symbol, (gpointer *) &get_desc) || get_desc == NULL)
    {
      g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_NOT_A_PLUGIN,
                   "not a gbt plugin: it has no entry function %s()", symbol);
      goto fail;
    }
  desc = get_desc ();
  if (desc == NULL)
    {
      g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_NOT_A_PLUGIN,
                   "not a gbt plugin: %s() returned no descriptor", symbol);
      goto fail;
    }
  if (!check_desc (desc, plugin->info.name, &plugin->info.error))
    goto fail;

  plugin->desc = desc;
  plugin->info.version = g_strdup (desc->version);
  plugin->info.license = g_strdup (desc->license);
  plugin->info.description = g_strdup (desc->description);
  plugin->info.flags = desc->flags;
  return;

fail:
  /* Nothing of the module has run but its entry function, which only
   * returns a static struct, so unloading it is safe. */
  g_module_close (plugin->module);
  plugin->module = NULL;
}

static gboolean
is_plugin_file_name (const char *name)
{
  return g_str_has_prefix (name, PLUGIN_FILE_PREFIX) && g_str_has_suffix (name, PLUGIN_FILE_SUFFIX) &&
         strlen (name) > strlen (PLUGIN_FILE_PREFIX PLUGIN_FILE_SUFFIX);
}

static gboolean
same_file (const char *a, const char *b)
{
  GStatBuf sa, sb;

  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

static void
add_file (GbtPluginRegistry *self, const char *path, const char *base, GHashTable *seen)
{
  g_autofree char *name = NULL;
  GbtPlugin *plugin;
  const char *first = g_hash_table_lookup (seen, base);

  if (first != NULL && same_file (first, path))
    return; /* one file reached twice, e.g. through a directory and its parent */

  name = g_strndup (base + strlen (PLUGIN_FILE_PREFIX),
                    strlen (base) - strlen (PLUGIN_FILE_PREFIX PLUGIN_FILE_SUFFIX));
  plugin = plugin_new (self, path, name);
  if (first != NULL)
    g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_DUPLICATE,
                 "ignored: plugin '%s' was already found at %s, which comes first in the "
                 "search path",
                 name, first);
  else
    {
      g_hash_table_insert (seen, g_strdup (base), g_strdup (path));
      open_plugin (plugin);
    }

  if (plugin->info.error != NULL)
    g_debug ("plugin file %s: %s", path, plugin->info.error->message);
  else
    g_debug ("found plugin '%s' %s in %s", name, plugin->info.version, path);

  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->plugins, plugin);
  g_mutex_unlock (&self->lock);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Files first, then one level of subdirectories; each in name order, so
 * the result does not depend on the file system's order. */
static void
scan_dir (GbtPluginRegistry *self, const char *dir, gboolean descend, GHashTable *seen)
{
  g_autoptr(GDir) gdir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) subdirs = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  gdir = g_dir_open (dir, 0, NULL);
  if (gdir == NULL)
    return;
  while ((entry = g_dir_read_name (gdir)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      const char *base = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir, base, NULL);

      if (is_plugin_file_name (base) && g_file_test (path, G_FILE_TEST_IS_REGULAR))
        add_file (self, path, base, seen);
      else if (descend && g_file_test (path, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (subdirs, g_steal_pointer (&path));
    }
  for (guint i = 0; i < subdirs->len; i++)
    scan_dir (self, g_ptr_array_index (subdirs, i), FALSE, seen);
}

static gboolean
is_setuid (void)
{
  return getuid () != geteuid () || getgid () != getegid ();
}

/* Whether this program is the one in the build tree (not yet installed). */
static gboolean
running_uninstalled (void)
{
  char *exe = realpath ("/proc/self/exe", NULL);
  char *root = realpath (GBT_BUILD_ROOT, NULL);
  gboolean ret = FALSE;

  if (exe != NULL && root != NULL)
    {
      gsize len = strlen (root);
      ret = strncmp (exe, root, len) == 0 && exe[len] == '/';
    }
  free (exe);
  free (root);
  return ret;
}

/* Appends @dir unless it is missing or already listed (GBT_PLUGIN_PATH
 * often names the build tree's plugins dir, which is scanned anyway). */
static gboolean
add_search_dir (GPtrArray *dirs, GHashTable *real_dirs, const char *dir, GError **error)
{
  char *real = realpath (dir, NULL);

  if (real == NULL || !g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      int saved_errno = real == NULL ? errno : ENOTDIR;

      free (real);
      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_FAILED,
                   "cannot read the plugin directory '%s': %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  if (!g_hash_table_contains (real_dirs, real))
    {
      g_hash_table_add (real_dirs, g_strdup (real));
      g_ptr_array_add (dirs, g_strdup (dir));
    }
  free (real);
  return TRUE;
}

static gboolean
scan (GbtPluginRegistry *self, const char *const *extra_dirs, GError **error)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) real_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) dir_error = NULL;
  gboolean trusted_env = !is_setuid ();

  if (!trusted_env)
    g_debug ("setuid or setgid: ignoring --plugin-path and GBT_PLUGIN_PATH");

  /* A directory the user names explicitly must exist; the others are
   * optional. */
  for (const char *const *d = extra_dirs; trusted_env && d != NULL && *d != NULL; d++)
    add_search_dir (dirs, real_dirs, *d, dir_error == NULL ? &dir_error : NULL);

  if (!self->only_extra_dirs)
    {
      const char *env = trusted_env ? g_getenv ("GBT_PLUGIN_PATH") : NULL;

      if (env != NULL)
        {
          g_auto(GStrv) parts = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
          for (char **p = parts; *p != NULL; p++)
            if (**p != '\0')
              add_search_dir (dirs, real_dirs, *p, NULL);
        }
      if (trusted_env && running_uninstalled ())
        add_search_dir (dirs, real_dirs, GBT_BUILD_PLUGINSDIR, NULL);
      add_search_dir (dirs, real_dirs, GBT_PLUGINSDIR, NULL);
    }

  for (guint i = 0; i < dirs->len; i++)
    {
      g_debug ("looking for plugins in %s", (const char *) g_ptr_array_index (dirs, i));
      scan_dir (self, g_ptr_array_index (dirs, i), TRUE, seen);
    }

  if (dir_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&dir_error));
      return FALSE;
    }
  return TRUE;
}

/* Calls @plugin's register function once.  Failures stay in its info. */
static void
register_plugin (GbtPluginRegistry *self, GbtPlugin *plugin)
{
  g_autoptr(GError) local_error = NULL;
  gboolean ok;

  if (plugin->desc == NULL || plugin->registered)
    return;

  plugin->registered = TRUE;
  ok = plugin->desc->register_func (plugin, &local_error);

  /* Never unloaded, even when registration failed: once register_func has
   * run, the module may have registered GTypes, and a GType cannot be
   * unregistered; its class and vfuncs would point into unmapped code
   * (gobject/gtypemodule.c describes the traps of unloading). */
  g_module_make_resident (plugin->module);

  if (!ok)
    {
      remove_impls_of (self, plugin);
      if (local_error == NULL)
        g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_REGISTER_FAILED,
                     "registration failed without saying why");
      else if (local_error->domain == GBT_PLUGIN_ERROR &&
               (local_error->code == GBT_PLUGIN_ERROR_WRONG_INTERFACE ||
                local_error->code == GBT_PLUGIN_ERROR_DUPLICATE ||
                local_error->code == GBT_PLUGIN_ERROR_INVALID))
        {
          /* our own refusal, passed up by the plugin: keep its code */
          plugin->info.error = g_steal_pointer (&local_error);
          g_prefix_error (&plugin->info.error, "registration failed: ");
        }
      else
        g_set_error (&plugin->info.error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_REGISTER_FAILED,
                     "registration failed: %s", local_error->message);
      g_debug ("plugin '%s': %s", plugin->info.name, plugin->info.error->message);
      return;
    }

  plugin_update_interfaces (plugin);
  plugin->info.loaded = TRUE;
  g_debug ("plugin '%s' %s loaded", plugin->info.name, plugin->info.version);
}

static GbtPlugin *
find_plugin (GbtPluginRegistry *self, const char *name)
{
  /* the first one: later files of the same name are shadowed duplicates */
  for (guint i = 0; i < self->plugins->len; i++)
    {
      GbtPlugin *plugin = g_ptr_array_index (self->plugins, i);
      if (g_str_equal (plugin->info.name, name))
        return plugin;
    }
  return NULL;
}

static char *
available_names (GbtPluginRegistry *self)
{
  g_autoptr(GString) names = g_string_new (NULL);

  for (guint i = 0; i < self->plugins->len; i++)
    {
      GbtPlugin *plugin = g_ptr_array_index (self->plugins, i);
      if (plugin->desc == NULL)
        continue;
      if (names->len > 0)
        g_string_append (names, ", ");
      g_string_append (names, plugin->info.name);
    }
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static gboolean
name_opted_out (const char *const *enable, const char *name)
{
  for (const char *const *e = enable; e != NULL && *e != NULL; e++)
    if (**e == '-' && g_str_equal (*e + 1, name))
      return TRUE;
  return FALSE;
}

/* Registers @plugin in @shared (once per process) and, when @self is a
 * view and the plugin works, lets the view use it. */
static void
use_plugin (GbtPluginRegistry *self, GbtPluginRegistry *shared, GbtPlugin *plugin)
{
  register_plugin (shared, plugin);
  if (self == shared || !plugin->info.loaded)
    return;
  g_mutex_lock (&shared->lock); /* rebuild_views() reads the view's list under it */
  if (!g_ptr_array_find (self->enabled, plugin, NULL))
    g_ptr_array_add (self->enabled, plugin);
  g_mutex_unlock (&shared->lock);
}

gboolean
gbt_plugin_registry_load (GbtPluginRegistry *self, const char *const *extra_dirs,
                          const char *const *enable, GError **error)
{
  GbtPluginRegistry *shared;
  g_autoptr(GError) scan_error = NULL;
  g_autoptr(GString) unknown = NULL;
  guint n_unknown = 0;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  shared = self->shared != NULL ? self->shared : self;
  g_mutex_lock (&shared->load_lock);

  /* the modules are found once per process, whichever view asks first */
  if (!shared->scanned)
    {
      shared->scanned = TRUE;
      scan (shared, extra_dirs, &scan_error);
    }

  if (!self->defaults_done)
    {
      self->defaults_done = TRUE;
      for (guint i = 0; i < shared->plugins->len; i++)
        {
          GbtPlugin *plugin = g_ptr_array_index (shared->plugins, i);
          /* "-name" in @enable opts out of a default plugin (for this view:
           * another may still use it) */
          if (plugin->desc != NULL && (plugin->desc->flags & GBT_PLUGIN_FLAG_DEFAULT)
              && !name_opted_out (enable, plugin->info.name))
            use_plugin (self, shared, plugin);
        }
    }

  for (const char *const *e = enable; e != NULL && *e != NULL; e++)
    {
      gboolean opt_out = **e == '-';
      GbtPlugin *plugin = find_plugin (shared, opt_out ? *e + 1 : *e);

      if (opt_out && plugin != NULL)
        continue;
      if (plugin != NULL && plugin->desc != NULL)
        use_plugin (self, shared, plugin);
      else if (plugin == NULL)
        {
          if (unknown == NULL)
            unknown = g_string_new (NULL);
          else
            g_string_append (unknown, ", ");
          g_string_append_printf (unknown, "'%s'", *e);
          n_unknown++;
        }
      /* else: named but broken; its error is in its info, as for any other */
    }

  /* a plugin registered for this view is seen by every view using it */
  rebuild_views (shared);

  if (unknown != NULL)
    {
      g_autofree char *available = available_names (shared);

      g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_UNKNOWN,
                   "unknown plugin%s %s; available: %s", n_unknown > 1 ? "s" : "", unknown->str,
                   *available != '\0' ? available : "none (no plugin was found)");
      g_mutex_unlock (&shared->load_lock);
      return FALSE;
    }
  g_mutex_unlock (&shared->load_lock);

  if (scan_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&scan_error));
      return FALSE;
    }
  return TRUE;
}

gboolean
gbt_plugin_registry_uses (GbtPluginRegistry *self, const char *name)
{
  gboolean ret = FALSE;

  g_return_val_if_fail (GBT_IS_PLUGIN_REGISTRY (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (self->shared == NULL)
    {
      GbtPlugin *plugin;

      g_mutex_lock (&self->lock);
      plugin = find_plugin (self, name);
      ret = plugin != NULL && plugin->info.loaded;
      g_mutex_unlock (&self->lock);
      return ret;
    }
  g_mutex_lock (&self->shared->lock);
  for (guint i = 0; i < self->enabled->len && !ret; i++)
    ret = g_str_equal (((GbtPlugin *) g_ptr_array_index (self->enabled, i))->info.name, name);
  g_mutex_unlock (&self->shared->lock);
  return ret;
}

G_DEFINE_QUARK (gbt-plugin-error-quark, gbt_plugin_error)
