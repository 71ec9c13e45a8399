/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-tracker.h>

G_BEGIN_DECLS

#define GBT_TYPE_TRACKER_UDP (gbt_tracker_udp_get_type ())
G_DECLARE_FINAL_TYPE (GbtTrackerUdp, gbt_tracker_udp, GBT, TRACKER_UDP, GObject)

/* Reads GBT_UDP_TRACKER_TIMEOUT_MS (see gbt-tracker-udp.c). */
GbtTrackerUdp *gbt_tracker_udp_new (void);

/* BEP 15 retransmission: wait @base_ms × 2^n after the nth send, n = 0 ..
 * @max_retries, then give up (defaults 15 000 ms and 8).  For tests. */
void gbt_tracker_udp_set_retransmit (GbtTrackerUdp *self, guint base_ms, guint max_retries);
/* How long a connection id stays usable (BEP 15: one minute).  For tests. */
void gbt_tracker_udp_set_connection_lifetime (GbtTrackerUdp *self, guint ms);

G_END_DECLS
