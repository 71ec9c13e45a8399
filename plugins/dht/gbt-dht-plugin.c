/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-dht.h"

/* GBT_DHT_BOOTSTRAP: "host:port,..." to join the DHT through ("" for
 * none: only nodes that contact us); unset, the public routers */
static gboolean
dht_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtDhtSource) source = gbt_dht_source_new (g_getenv ("GBT_DHT_BOOTSTRAP"), error);

  return source != NULL && gbt_plugin_add_peer_source (plugin, "dht", source, error);
}

GBT_PLUGIN_DEFINE (dht, "dht", "0.1.0", "LGPL-2.1-or-later",
                   "Mainline DHT (BEP 5): finds peers without a tracker, and announces us",
                   GBT_PLUGIN_FLAG_NONE, dht_register)
