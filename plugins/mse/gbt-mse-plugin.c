/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-mse.h"

static gboolean
mse_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtMse) mse = gbt_mse_new ();

  return gbt_plugin_add_stream_filter (plugin, "mse", mse, error);
}

GBT_PLUGIN_DEFINE (mse, "mse", "0.1.0", "LGPL-2.1-or-later",
                   "Protocol encryption (MSE/PE: RC4 over a Diffie-Hellman handshake)",
                   GBT_PLUGIN_FLAG_DEFAULT, mse_register)
