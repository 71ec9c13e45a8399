/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-metadata.h"

static gboolean
metadata_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtMetadataExtension) ext = gbt_metadata_extension_new ();

  return gbt_plugin_add_wire_extension (plugin, ext, error);
}

GBT_PLUGIN_DEFINE (metadata, "metadata", "0.1.0", "LGPL-2.1-or-later",
                   "Torrent metadata for magnet links (BEP 9): fetches it, and serves it",
                   GBT_PLUGIN_FLAG_DEFAULT, metadata_register)
