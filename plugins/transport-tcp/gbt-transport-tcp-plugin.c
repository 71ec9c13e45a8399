/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-transport-tcp.h"

static gboolean
transport_tcp_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtTransportTcp) transport = gbt_transport_tcp_new ();

  return gbt_plugin_add_transport (plugin, "tcp", transport, error);
}

GBT_PLUGIN_DEFINE (transport_tcp, "transport-tcp", "0.1.0", "LGPL-2.1-or-later",
                   "TCP peer connections (BEP 3)", GBT_PLUGIN_FLAG_DEFAULT,
                   transport_tcp_register)
