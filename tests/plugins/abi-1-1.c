/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture, frozen: a plugin as built against plugin ABI 1.1.  Its
 * descriptor is written out with abi_minor 1, and it uses what 1.1 added
 * (GbtPeerSource's get_dht_port) but nothing of 1.2.  Its peer source
 * counts the torrents it runs for in the source's "running" data, and
 * claims a DHT node on UDP port 6999 for them, which the tests read back
 * through the core. */
#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin.h>

typedef struct {
  GObject parent_instance;
} Abi11Source;
typedef struct {
  GObjectClass parent_class;
} Abi11SourceClass;

GType abi11_source_get_type (void);
static void abi11_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_TYPE_WITH_CODE (Abi11Source, abi11_source, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE, abi11_source_iface_init))

static void
add_running (GbtPeerSource *source, int delta)
{
  int n = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (source), "running"));

  g_object_set_data (G_OBJECT (source), "running", GINT_TO_POINTER (n + delta));
}

static void
abi11_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  add_running (source, 1);
}

static void
abi11_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  add_running (source, -1);
}

static guint16
abi11_get_dht_port (GbtPeerSource *source, GbtTorrent *torrent)
{
  return 6999;
}

static void
abi11_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = abi11_start;
  iface->stop = abi11_stop;
  iface->get_dht_port = abi11_get_dht_port; /* since ABI 1.1 */
}

static void
abi11_source_class_init (Abi11SourceClass *klass)
{
}

static void
abi11_source_init (Abi11Source *self)
{
}

static gboolean
abi_1_1_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) source = g_object_new (abi11_source_get_type (), NULL);

  return gbt_plugin_add_peer_source (plugin, "abi11", source, error);
}

G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_abi_1_1_get_desc (void);
G_MODULE_EXPORT const GbtPluginDesc *
gbt_plugin_abi_1_1_get_desc (void)
{
  static const GbtPluginDesc desc = {
    1, 1, sizeof (GbtPluginDesc), "abi-1-1", "1.1", "LGPL-2.1-or-later",
    "Built against plugin ABI 1.1 (test fixture)", GBT_PLUGIN_FLAG_NONE, abi_1_1_register,
    { NULL, }
  };
  return &desc;
}
