/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-peer-source.h>

G_BEGIN_DECLS

#define GBT_TYPE_EXAMPLE_SOURCE (gbt_example_source_get_type ())
G_DECLARE_FINAL_TYPE (GbtExampleSource, gbt_example_source, GBT, EXAMPLE_SOURCE, GObject)

/* @peers: "ADDR:PORT,[ADDR6]:PORT,..." or NULL for 127.0.0.1:6881 */
GbtExampleSource *gbt_example_source_new (const char *peers, GError **error);

G_END_DECLS
