/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-wire-extension.h>

G_BEGIN_DECLS

#define GBT_TYPE_METADATA_EXTENSION (gbt_metadata_extension_get_type ())
G_DECLARE_FINAL_TYPE (GbtMetadataExtension, gbt_metadata_extension, GBT, METADATA_EXTENSION,
                      GObject)

GbtMetadataExtension *gbt_metadata_extension_new (void);

/* BEP 9 message types */
#define GBT_METADATA_REQUEST 0
#define GBT_METADATA_DATA 1
#define GBT_METADATA_REJECT 2
#define GBT_METADATA_BLOCK 16384

G_END_DECLS
