/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-webseed.h"

static gboolean
webseed_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtWebseedSource) source = gbt_webseed_source_new ();

  return gbt_plugin_add_peer_source (plugin, "webseed", source, error);
}

GBT_PLUGIN_DEFINE (webseed, "webseed", "0.1.0", "LGPL-2.1-or-later",
                   "Web seeds (BEP 19 url-list): pieces from HTTP(S) servers by range requests",
                   GBT_PLUGIN_FLAG_DEFAULT, webseed_register)
