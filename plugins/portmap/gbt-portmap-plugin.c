/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-portmap.h"

static gboolean
portmap_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtPortmapSource) source = gbt_portmap_source_new ();

  return gbt_plugin_add_peer_source (plugin, "portmap", source, error);
}

GBT_PLUGIN_DEFINE (portmap, "portmap", "0.1.0", "LGPL-2.1-or-later",
                   "Router port mapping (NAT-PMP, UPnP IGD): forwards the listen ports, announces the external one",
                   GBT_PLUGIN_FLAG_DEFAULT, portmap_register)
