/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 15 packets: pure builders and parsers, no sockets, so that every reply
 * parser can be fuzzed (tests/fuzzing/fuzz-udp-tracker.c).
 */
#pragma once

#include <gbt/gbt-tracker.h>

G_BEGIN_DECLS

/* BEP 15: the magic connection id of a connect request */
#define GBT_UDP_TRACKER_PROTOCOL_ID G_GUINT64_CONSTANT (0x41727101980)

typedef enum {
  GBT_UDP_TRACKER_ACTION_CONNECT = 0,
  GBT_UDP_TRACKER_ACTION_ANNOUNCE = 1,
  GBT_UDP_TRACKER_ACTION_SCRAPE = 2,
  GBT_UDP_TRACKER_ACTION_ERROR = 3,
} GbtUdpTrackerAction;

#define GBT_UDP_TRACKER_CONNECT_LEN 16
#define GBT_UDP_TRACKER_ANNOUNCE_LEN 98
#define GBT_UDP_TRACKER_SCRAPE_LEN 36 /* one info-hash */

void gbt_udp_tracker_build_connect (guint8 out[GBT_UDP_TRACKER_CONNECT_LEN],
                                    guint32 transaction_id);
void gbt_udp_tracker_build_announce (guint8 out[GBT_UDP_TRACKER_ANNOUNCE_LEN],
                                     guint64 connection_id, guint32 transaction_id,
                                     const GbtAnnounceRequest *request);
void gbt_udp_tracker_build_scrape (guint8 out[GBT_UDP_TRACKER_SCRAPE_LEN], guint64 connection_id,
                                   guint32 transaction_id, const guint8 info_hash[20]);

/* The transaction id of a reply, FALSE when the packet is too short (< 8
 * bytes) to carry one. */
gboolean gbt_udp_tracker_reply_transaction_id (const guint8 *data, gsize len,
                                               guint32 *transaction_id);

/* Each parser checks length, action and transaction id; an error action
 * (3) gives GBT_TRACKER_ERROR_FAILURE_REASON with the tracker's message,
 * anything malformed GBT_TRACKER_ERROR_BAD_REPLY with the reason. */
gboolean gbt_udp_tracker_parse_connect (const guint8 *data, gsize len, guint32 transaction_id,
                                        guint64 *connection_id, GError **error);
/* @ipv6: the tracker was reached over IPv6, so peers are 18-byte entries */
GbtAnnounceResponse *gbt_udp_tracker_parse_announce (const guint8 *data, gsize len,
                                                     guint32 transaction_id, gboolean ipv6,
                                                     GError **error);
GbtScrapeResponse *gbt_udp_tracker_parse_scrape (const guint8 *data, gsize len,
                                                 guint32 transaction_id, GError **error);

G_END_DECLS
