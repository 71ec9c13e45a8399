/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-plugin.h>

#include "gbt-tracker-http.h"

static gboolean
tracker_http_register (GbtPlugin *plugin, GError **error)
{
  /* One object for both schemes: they share the SoupSession (and its
   * connection pool). */
  g_autoptr(GbtTrackerHttp) tracker = gbt_tracker_http_new ();

  return gbt_plugin_add_tracker (plugin, "http", tracker, error)
         && gbt_plugin_add_tracker (plugin, "https", tracker, error);
}

GBT_PLUGIN_DEFINE (tracker_http, "tracker-http", "0.1.0", "LGPL-2.1-or-later",
                   "HTTP(S) trackers (BEP 3, 7, 23, 48)", GBT_PLUGIN_FLAG_DEFAULT,
                   tracker_http_register)
