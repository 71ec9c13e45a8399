/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-lsd.h"

static gboolean
lsd_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtLsdSource) source = gbt_lsd_source_new ();

  return gbt_plugin_add_peer_source (plugin, "lsd", source, error);
}

/* default on, as in libtorrent, Transmission and qBittorrent; GBT_LSD_DISABLE=1
 * in the environment keeps it silent (the test suite sets it) */
GBT_PLUGIN_DEFINE (lsd, "lsd", "0.1.0", "LGPL-2.1-or-later",
                   "Local peer discovery (BEP 14): finds peers on the local network by multicast",
                   GBT_PLUGIN_FLAG_DEFAULT, lsd_register)
