/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture, built four times (tests/plugins/meson.build sets one MISSING_*):
 * each registers an implementation that lacks a method its interface
 * requires, which the registry refuses with REGISTER_FAILED naming the type
 * and the method, instead of letting the core call a NULL vfunc later. */
#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-tracker.h>
#include <gbt/gbt-transport.h>
#include <gbt/gbt-wire-extension.h>

#if defined(MISSING_ON_MESSAGE)
#define IFACE_TYPE GBT_TYPE_WIRE_EXTENSION
#define Iface GbtWireExtensionInterface
#define TypeName MissingOnMessage
#define type_name missing_on_message
#define SYM missing_on_message
#define NAME "missing-on-message"
static const char *
get_name (GbtWireExtension *self)
{
  return "ut_missing";
}
static void
iface_init (Iface *iface)
{
  iface->get_name = get_name; /* and no on_message */
}
#define ADD(plugin, object, error) gbt_plugin_add_wire_extension (plugin, object, error)
#elif defined(MISSING_ANNOUNCE_FINISH)
#define IFACE_TYPE GBT_TYPE_TRACKER
#define Iface GbtTrackerInterface
#define TypeName MissingAnnounceFinish
#define type_name missing_announce_finish
#define SYM missing_announce_finish
#define NAME "missing-announce-finish"
static void
announce_async (GbtTracker *self, const GbtAnnounceRequest *request, GCancellable *cancellable,
                GAsyncReadyCallback callback, gpointer user_data)
{
}
static void
iface_init (Iface *iface)
{
  iface->announce_async = announce_async; /* and no announce_finish */
}
#define ADD(plugin, object, error) gbt_plugin_add_tracker (plugin, "missing", object, error)
#elif defined(MISSING_CONNECT)
#define IFACE_TYPE GBT_TYPE_TRANSPORT
#define Iface GbtTransportInterface
#define TypeName MissingConnect
#define type_name missing_connect
#define SYM missing_connect
#define NAME "missing-connect"
static void
iface_init (Iface *iface)
{
  /* neither connect_async nor connect_finish: it could never dial */
}
#define ADD(plugin, object, error) gbt_plugin_add_transport (plugin, "missing", object, error)
#elif defined(MISSING_STOP)
#define IFACE_TYPE GBT_TYPE_PEER_SOURCE
#define Iface GbtPeerSourceInterface
#define TypeName MissingStop
#define type_name missing_stop
#define SYM missing_stop
#define NAME "missing-stop"
static void
start (GbtPeerSource *self, GbtTorrent *torrent)
{
}
static void
iface_init (Iface *iface)
{
  iface->start = start; /* and no stop */
}
#define ADD(plugin, object, error) gbt_plugin_add_peer_source (plugin, "missing", object, error)
#else
#error "set one MISSING_*"
#endif

typedef struct {
  GObject parent_instance;
} TypeName;
typedef struct {
  GObjectClass parent_class;
} G_PASTE (TypeName, Class);

GType G_PASTE (type_name, _get_type) (void);

G_DEFINE_TYPE_WITH_CODE (TypeName, type_name, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (IFACE_TYPE, iface_init))

static void
G_PASTE (type_name, _class_init) (G_PASTE (TypeName, Class) *klass)
{
}

static void
G_PASTE (type_name, _init) (TypeName *self)
{
}

static gboolean
missing_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) object = g_object_new (G_PASTE (type_name, _get_type) (), NULL);

  return ADD (plugin, object, error);
}

#define DEFINE(sym) \
  GBT_PLUGIN_DEFINE (sym, NAME, "1.0", "LGPL-2.1-or-later", \
                     "Lacks a required method (test fixture)", GBT_PLUGIN_FLAG_DEFAULT, \
                     missing_register)
DEFINE (SYM)
