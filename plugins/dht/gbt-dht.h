/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-peer-source.h>

G_BEGIN_DECLS

#define GBT_TYPE_DHT_SOURCE (gbt_dht_source_get_type ())
G_DECLARE_FINAL_TYPE (GbtDhtSource, gbt_dht_source, GBT, DHT_SOURCE, GObject)

/* @bootstrap: "host:port,host:port" (numeric or names); "" for none; NULL
 * for the well-known public routers */
GbtDhtSource *gbt_dht_source_new (const char *bootstrap, GError **error);

/* tests/fuzzing/fuzz-dht.c: one UDP packet through a socketless node */
void gbt_dht_fuzz_packet (const guint8 *data, gsize len);

G_END_DECLS
