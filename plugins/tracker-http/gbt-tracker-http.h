/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-tracker.h>

G_BEGIN_DECLS

#define GBT_TYPE_TRACKER_HTTP (gbt_tracker_http_get_type ())
G_DECLARE_FINAL_TYPE (GbtTrackerHttp, gbt_tracker_http, GBT, TRACKER_HTTP, GObject)

GbtTrackerHttp *gbt_tracker_http_new (void);
/* Which certificate authorities HTTPS trackers are checked against (NULL:
 * the system's).  Tests use it to trust their own CA. */
void gbt_tracker_http_set_tls_database (GbtTrackerHttp *self, GTlsDatabase *database);

/* The GET URL of an announce (BEP 3, 7, 23): @request->url plus the query. */
char *gbt_tracker_http_build_announce_url (const GbtAnnounceRequest *request);
/* BEP 48: the scrape URL for @announce_url, or NULL with
 * GBT_TRACKER_ERROR_UNSUPPORTED when the tracker has none. */
char *gbt_tracker_http_build_scrape_url (const char *announce_url, const guint8 info_hash[20],
                                         GError **error);

G_END_DECLS
