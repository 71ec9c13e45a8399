/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture: a working optional plugin, registered only when named.  Its
 * peer source counts the torrents it was started for. */
#include <gbt/gbt-peer-source.h>
#include <gbt/gbt-plugin.h>

#define TEST_TYPE_PEER_SOURCE (test_peer_source_get_type ())
G_DECLARE_FINAL_TYPE (TestPeerSource, test_peer_source, TEST, PEER_SOURCE, GObject)

struct _TestPeerSource {
  GObject parent_instance;
  int running;
};

static void test_peer_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestPeerSource, test_peer_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      test_peer_source_iface_init))

static void
test_peer_source_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  TEST_PEER_SOURCE (source)->running++;
}

static void
test_peer_source_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  TEST_PEER_SOURCE (source)->running--;
}

static void
test_peer_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = test_peer_source_start;
  iface->stop = test_peer_source_stop;
}

static void
test_peer_source_class_init (TestPeerSourceClass *klass)
{
}

static void
test_peer_source_init (TestPeerSource *self)
{
}

static gboolean
optional_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) source = g_object_new (TEST_TYPE_PEER_SOURCE, NULL);

  return gbt_plugin_add_peer_source (plugin, "optional", source, error);
}

GBT_PLUGIN_DEFINE (optional, "optional", "0.1", "LGPL-2.1-or-later",
                   "Test peer source, off unless enabled", GBT_PLUGIN_FLAG_NONE, optional_register)
