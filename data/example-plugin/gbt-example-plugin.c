/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's entry file: its descriptor and registration, nothing else. */
#include <gbt/gbt-plugin.h>

#include "gbt-example-source.h"

static gboolean
example_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtExampleSource) source = NULL;

  /* A bad GBT_EXAMPLE_PEERS fails registration with a clear reason, which
   * `gbt plugins` shows; gbt itself carries on without this plugin. */
  source = gbt_example_source_new (g_getenv ("GBT_EXAMPLE_PEERS"), error);
  if (source == NULL)
    return FALSE;
  return gbt_plugin_add_peer_source (plugin, "example", source, error);
}

/* Optional (flags 0): turned on with `gbt --plugins=example ...`. */
GBT_PLUGIN_DEFINE (example, "example", "0.1.0", "LGPL-2.1-or-later",
                   "Static peers from GBT_EXAMPLE_PEERS (default 127.0.0.1:6881)",
                   GBT_PLUGIN_FLAG_NONE, example_register)
