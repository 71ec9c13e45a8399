/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-pex.h"

static gboolean
pex_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtPexExtension) ext = gbt_pex_extension_new ();

  return gbt_plugin_add_wire_extension (plugin, ext, error);
}

GBT_PLUGIN_DEFINE (pex, "pex", "0.1.0", "LGPL-2.1-or-later",
                   "Peer exchange (BEP 11 ut_pex): learns peers from peers, tells them ours",
                   GBT_PLUGIN_FLAG_NONE, pex_register)
