/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtWebseedSource: web seeds (BEP 19).  A peer source that is not a peer:
 * for each URL of a torrent's url-list it hands the core a "peer" with
 * gbt_torrent_add_peer_stream() (ABI 1.4), one end of a local socket pair
 * whose other end this plugin drives: it answers the core's handshake with
 * a bitfield of every piece and an unchoke, and turns the core's requests
 * into HTTP range GETs through one SoupSession (connection reuse, redirects,
 * TLS), contiguous blocks coalesced into one range.  A failed request
 * (404, 5xx, short body, time-out) closes the "peer" and the seed is tried
 * again later, backing off; bad data is the core's to judge (smart ban
 * by the URL).
 */
#pragma once

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-peer-source.h>

G_BEGIN_DECLS

#define GBT_TYPE_WEBSEED_SOURCE (gbt_webseed_source_get_type ())
G_DECLARE_FINAL_TYPE (GbtWebseedSource, gbt_webseed_source, GBT, WEBSEED_SOURCE, GObject)

GbtWebseedSource *gbt_webseed_source_new (void);

/* BEP 19: the URL of a file of @mi (its index) at web seed @base: a base
 * ending in '/' gets the torrent's name appended, a multi-file torrent's
 * name and the file's path, each component escaped. */
char *gbt_webseed_file_url (const char *base, GbtMetainfo *mi, guint file);

G_END_DECLS
