/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Magnet URIs (BEP 9): xt=urn:btih: (hex or base32), dn, tr, x.pe, so. */
#pragma once

#include <glib.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_MAGNET_ERROR (gbt_magnet_error_quark ())

typedef enum {
  GBT_MAGNET_ERROR_FAILED,
  GBT_MAGNET_ERROR_NOT_MAGNET,   /* not a magnet: URI */
  GBT_MAGNET_ERROR_NO_INFO_HASH, /* no xt=urn:btih: */
  GBT_MAGNET_ERROR_BAD_INFO_HASH,
  GBT_MAGNET_ERROR_BAD_PARAMETER, /* bad escaping, bad x.pe or so */
} GbtMagnetErrorEnum;

typedef struct {
  guint8 info_hash[20];
  char *display_name; /* nullable */
  GStrv trackers; /* never NULL */
  GStrv peers; /* x.pe host:port strings, never NULL */
  GArray *select_only; /* (element-type guint) file indices from so=, NULL when absent */
  gpointer reserved[4];
} GbtMagnet;

GBT_AVAILABLE_IN_ALL
GQuark gbt_magnet_error_quark (void);
GBT_AVAILABLE_IN_ALL
GbtMagnet *gbt_magnet_parse (const char *uri, GError **error);
GBT_AVAILABLE_IN_ALL
void gbt_magnet_free (GbtMagnet *magnet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtMagnet, gbt_magnet_free)

G_END_DECLS
