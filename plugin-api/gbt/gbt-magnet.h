/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Magnet URIs (BEP 9): xt=urn:btih: (hex or base32), dn, tr, x.pe, so. */
#pragma once

#include <glib-object.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_MAGNET_ERROR (gbt_magnet_error_quark ())

/**
 * GbtMagnetError:
 * @GBT_MAGNET_ERROR_FAILED: any other failure
 * @GBT_MAGNET_ERROR_NOT_MAGNET: not a magnet: URI
 * @GBT_MAGNET_ERROR_NO_INFO_HASH: no xt=urn:btih:
 * @GBT_MAGNET_ERROR_BAD_INFO_HASH: an info-hash of the wrong length or alphabet
 * @GBT_MAGNET_ERROR_BAD_PARAMETER: bad escaping, bad x.pe or so
 *
 * Error codes in the %GBT_MAGNET_ERROR domain (`Gbt.MagnetError` in
 * bindings).
 */
typedef enum {
  GBT_MAGNET_ERROR_FAILED,
  GBT_MAGNET_ERROR_NOT_MAGNET,   /* not a magnet: URI */
  GBT_MAGNET_ERROR_NO_INFO_HASH, /* no xt=urn:btih: */
  GBT_MAGNET_ERROR_BAD_INFO_HASH,
  GBT_MAGNET_ERROR_BAD_PARAMETER, /* bad escaping, bad x.pe or so */
} GbtMagnetError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtMagnetError, as GLib's GFooError). */
typedef GbtMagnetError GbtMagnetErrorEnum;
#endif

/**
 * GbtMagnet:
 * @info_hash: the 20-byte info-hash
 * @display_name: (nullable): dn=
 * @trackers: tr= URLs, never %NULL
 * @peers: x.pe host:port strings, never %NULL
 * @select_only: (element-type guint) (nullable): file indices from so=,
 *   %NULL when absent
 *
 * A parsed magnet URI.
 */
typedef struct {
  guint8 info_hash[20];
  char *display_name; /* nullable */
  GStrv trackers; /* never NULL */
  GStrv peers; /* x.pe host:port strings, never NULL */
  GArray *select_only; /* (element-type guint) file indices from so=, NULL when absent */
  gpointer reserved[4];
} GbtMagnet;

/**
 * gbt_magnet_error_quark:
 *
 * Gets the #GQuark of the %GBT_MAGNET_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_magnet_error_quark (void);
/**
 * gbt_magnet_parse:
 * @uri: a magnet: URI
 * @error: return location for a #GError
 *
 * Parses a magnet link (BEP 9): its info-hash ("xt", hex or base32),
 * display name, trackers and peers.
 *
 * Returns: (transfer full): the parsed URI, to free with gbt_magnet_free()
 */
GBT_AVAILABLE_IN_ALL
GbtMagnet *gbt_magnet_parse (const char *uri, GError **error);
/**
 * gbt_magnet_free:
 * @magnet: (transfer full): a #GbtMagnet
 *
 * Frees a #GbtMagnet.
 */
GBT_AVAILABLE_IN_ALL
void gbt_magnet_free (GbtMagnet *magnet);
/**
 * gbt_magnet_copy:
 * @magnet: a #GbtMagnet
 *
 * Copies a #GbtMagnet.
 *
 * Returns: (transfer full): a deep copy
 */
GBT_AVAILABLE_IN_ALL
GbtMagnet *gbt_magnet_copy (const GbtMagnet *magnet);

#define GBT_TYPE_MAGNET (gbt_magnet_get_type ())
GBT_AVAILABLE_IN_ALL
GType gbt_magnet_get_type (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtMagnet, gbt_magnet_free)

G_END_DECLS
