/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-wire-extension.h>

G_BEGIN_DECLS

#define GBT_TYPE_PEX_EXTENSION (gbt_pex_extension_get_type ())
G_DECLARE_FINAL_TYPE (GbtPexExtension, gbt_pex_extension, GBT, PEX_EXTENSION, GObject)

GbtPexExtension *gbt_pex_extension_new (void);

/* BEP 11 flags of an "added" peer */
#define GBT_PEX_FLAG_SEED 0x02
#define GBT_PEX_FLAG_UTP 0x04 /* BEP 11: supports uTP */
#define GBT_PEX_FLAG_CONNECTABLE 0x10

G_END_DECLS
