/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture, frozen: a plugin as built against plugin ABI 1.0.  Its
 * descriptor is written out with abi_minor 0 (GBT_PLUGIN_DEFINE would stamp
 * today's minor), and it uses nothing added since 1.0.  It speaks a
 * "ut_abi10" wire extension: each peer that offers it gets one message
 * after the handshake, and the messages it is given are counted in the
 * extension's "n-messages" data, which the tests read. */
#include <gbt/gbt-peer.h>
#include <gbt/gbt-plugin.h>
#include <gbt/gbt-wire-extension.h>

typedef struct {
  GObject parent_instance;
} Abi10Extension;
typedef struct {
  GObjectClass parent_class;
} Abi10ExtensionClass;

GType abi10_extension_get_type (void);
static void abi10_extension_iface_init (GbtWireExtensionInterface *iface);

G_DEFINE_TYPE_WITH_CODE (Abi10Extension, abi10_extension, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (GBT_TYPE_WIRE_EXTENSION,
                                                abi10_extension_iface_init))

static const char *
abi10_get_name (GbtWireExtension *ext)
{
  return "ut_abi10";
}

static void
abi10_on_handshake (GbtWireExtension *ext, GbtPeer *peer, GBytes *handshake)
{
  g_autoptr(GBytes) hello = g_bytes_new_static ("d5:helloi1ee", 12);

  /* FALSE when the peer did not offer ut_abi10: nothing to do then */
  gbt_peer_send_extended (peer, "ut_abi10", hello);
}

static gboolean
abi10_on_message (GbtWireExtension *ext, GbtPeer *peer, GBytes *payload, GError **error)
{
  guint n = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (ext), "n-messages"));

  g_object_set_data (G_OBJECT (ext), "n-messages", GUINT_TO_POINTER (n + 1));
  return TRUE;
}

static void
abi10_extension_iface_init (GbtWireExtensionInterface *iface)
{
  iface->get_name = abi10_get_name;
  iface->on_handshake = abi10_on_handshake;
  iface->on_message = abi10_on_message;
}

static void
abi10_extension_class_init (Abi10ExtensionClass *klass)
{
}

static void
abi10_extension_init (Abi10Extension *self)
{
}

static gboolean
abi_1_0_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GObject) ext = g_object_new (abi10_extension_get_type (), NULL);

  return gbt_plugin_add_wire_extension (plugin, ext, error);
}

G_MODULE_EXPORT const GbtPluginDesc *gbt_plugin_abi_1_0_get_desc (void);
G_MODULE_EXPORT const GbtPluginDesc *
gbt_plugin_abi_1_0_get_desc (void)
{
  static const GbtPluginDesc desc = {
    1, 0, sizeof (GbtPluginDesc), "abi-1-0", "1.0", "LGPL-2.1-or-later",
    "Built against plugin ABI 1.0 (test fixture)", GBT_PLUGIN_FLAG_NONE, abi_1_0_register,
    { NULL, }
  };
  return &desc;
}
