/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-stream-filter.h>
#include <nettle/arcfour.h>

G_BEGIN_DECLS

#define GBT_TYPE_MSE (gbt_mse_get_type ())
G_DECLARE_FINAL_TYPE (GbtMse, gbt_mse, GBT, MSE, GObject)

GbtMse *gbt_mse_new (void);

/* The filtered stream: @enc/@dec NULL for plaintext (then it only replays
 * @prefix, the bytes read past the handshake, before the base's).
 * Sets the data key "gbt-encryption" to "rc4" or "plaintext". */
#define GBT_TYPE_MSE_STREAM (gbt_mse_stream_get_type ())
G_DECLARE_FINAL_TYPE (GbtMseStream, gbt_mse_stream, GBT, MSE_STREAM, GIOStream)

GIOStream *gbt_mse_stream_new (GIOStream *base, const struct arcfour_ctx *enc,
                               const struct arcfour_ctx *dec, const guint8 *prefix,
                               gsize prefix_len);

G_END_DECLS
