/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-peer-source.h>

G_BEGIN_DECLS

#define GBT_TYPE_PORTMAP_SOURCE (gbt_portmap_source_get_type ())
G_DECLARE_FINAL_TYPE (GbtPortmapSource, gbt_portmap_source, GBT, PORTMAP_SOURCE, GObject)

GbtPortmapSource *gbt_portmap_source_new (void);

G_END_DECLS
