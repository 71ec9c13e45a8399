/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SHA-1 through GnuTLS: the only file that includes gnutls. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

G_GNUC_INTERNAL void gbt_sha1 (const void *data, gsize len, guint8 out[20]);
/* 40 lower-case hex digits and a NUL */
G_GNUC_INTERNAL void gbt_sha1_to_hex (const guint8 hash[20], char out[41]);
/* 40 hex digits (either case) to 20 bytes; FALSE for anything else */
G_GNUC_INTERNAL gboolean gbt_sha1_from_hex (const char *hex, guint8 out[20]);

typedef struct _GbtSha1 GbtSha1;
G_GNUC_INTERNAL GbtSha1 *gbt_sha1_new (void);
G_GNUC_INTERNAL void gbt_sha1_update (GbtSha1 *ctx, const void *data, gsize len);
/* writes the digest and frees the context */
G_GNUC_INTERNAL void gbt_sha1_finish (GbtSha1 *ctx, guint8 out[20]);

G_END_DECLS
