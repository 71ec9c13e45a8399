/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-transport-utp.h"

static gboolean
transport_utp_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtTransportUtp) transport = gbt_transport_utp_new ();

  return gbt_plugin_add_transport (plugin, "utp", transport, error);
}

GBT_PLUGIN_DEFINE (transport_utp, "transport-utp", "0.1.0", "LGPL-2.1-or-later",
                   "uTP peer connections over the shared UDP port (BEP 29)",
                   GBT_PLUGIN_FLAG_DEFAULT, transport_utp_register)
