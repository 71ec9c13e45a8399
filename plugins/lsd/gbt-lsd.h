/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-peer-source.h>

G_BEGIN_DECLS

#define GBT_TYPE_LSD_SOURCE (gbt_lsd_source_get_type ())
G_DECLARE_FINAL_TYPE (GbtLsdSource, gbt_lsd_source, GBT, LSD_SOURCE, GObject)

GbtLsdSource *gbt_lsd_source_new (void);

/* BEP 14's groups and port */
#define GBT_LSD_GROUP4 "239.192.152.143"
#define GBT_LSD_GROUP6 "ff15::efc0:988f"
#define GBT_LSD_PORT 6771

G_END_DECLS
