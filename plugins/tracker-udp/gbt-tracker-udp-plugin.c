/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-tracker-udp.h"

static gboolean
tracker_udp_register (GbtPlugin *plugin, GError **error)
{
  g_autoptr(GbtTrackerUdp) tracker = gbt_tracker_udp_new ();

  return gbt_plugin_add_tracker (plugin, "udp", tracker, error);
}

GBT_PLUGIN_DEFINE (tracker_udp, "tracker-udp", "0.1.0", "LGPL-2.1-or-later",
                   "UDP trackers (BEP 15, 48)", GBT_PLUGIN_FLAG_DEFAULT, tracker_udp_register)
