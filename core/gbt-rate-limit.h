/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A token bucket for the global upload and download limits.  Smooth rather
 * than bursty: tokens refill continuously from the clock the caller passes
 * in, and the bucket is shallow (a tenth of a second of traffic, but at
 * least one whole block message), so after an idle period at most one
 * bucket goes out at once and the line is not flooded.
 *
 * One bucket is shared by every connection it limits.  It does not queue
 * nor order its consumers: fairness between them is the caller's business
 * (e.g. serve peers in turn, each taking a block at a time, and when
 * gbt_rate_limit_take() grants nothing, wait gbt_rate_limit_wait_us() and
 * resume with the next peer in line rather than the same one).
 *
 * Pure and single-threaded: use it from the main context only.
 */
#pragma once

#include <glib.h>

#include <gbt/gbt-session.h>

G_BEGIN_DECLS

#define GBT_RATE_LIMIT_ERROR (gbt_rate_limit_error_quark ())
typedef enum {
  GBT_RATE_LIMIT_ERROR_FAILED,
  GBT_RATE_LIMIT_ERROR_INVALID, /* not a number with a known unit */
  GBT_RATE_LIMIT_ERROR_RANGE,   /* negative, or too large */
} GbtRateLimitErrorEnum;
G_GNUC_INTERNAL GQuark gbt_rate_limit_error_quark (void);

/* a BEP 3 "piece" message of a 16 KiB block: 4 length + 1 id + 8 + 16384 */
#define GBT_RATE_LIMIT_MIN_DEPTH (16 * 1024 + 13)

typedef struct _GbtRateLimit GbtRateLimit;

/* @bytes_per_second: 0 = unlimited.  The bucket starts full. */
G_GNUC_INTERNAL GbtRateLimit *gbt_rate_limit_new (guint64 bytes_per_second);
G_GNUC_INTERNAL void gbt_rate_limit_free (GbtRateLimit *rl);
/* Takes effect at once; tokens already saved are kept up to the new depth. */
G_GNUC_INTERNAL void gbt_rate_limit_set_rate (GbtRateLimit *rl, guint64 bytes_per_second);
G_GNUC_INTERNAL guint64 gbt_rate_limit_get_rate (GbtRateLimit *rl);
/* @rl also obeys @parent (not owned; NULL for none): take() grants what
 * both allow, give_back() returns to both, wait_us() waits for the slower
 * (a torrent's limit under the session's) */
G_GNUC_INTERNAL void gbt_rate_limit_set_parent (GbtRateLimit *rl, GbtRateLimit *parent);
/* The bucket's depth in bytes (the largest burst); 0 when unlimited. */
G_GNUC_INTERNAL guint64 gbt_rate_limit_get_depth (GbtRateLimit *rl);

/* Grants up to @want bytes now (0..@want; all of it when unlimited) and
 * consumes them.  @now_us: monotonic microseconds; going back is ignored. */
G_GNUC_INTERNAL guint64 gbt_rate_limit_take (GbtRateLimit *rl, guint64 want, gint64 now_us);

/* How long until @want bytes (capped at the depth: a bigger @want can never
 * be granted at once) are available; 0 when they are now.  Takes nothing. */
/* returns what a take granted but the socket did not use (a short read) */
G_GNUC_INTERNAL void gbt_rate_limit_give_back (GbtRateLimit *rl, guint64 unused);
G_GNUC_INTERNAL gint64 gbt_rate_limit_wait_us (GbtRateLimit *rl, guint64 want, gint64 now_us);

/* Parses a rate for the command line and settings: a decimal number with an
 * optional unit and optional "/s".  Bytes: "B" or none; "K", "M", "G",
 * "KiB", "MiB", "GiB" are powers of 1024 (as curl, wget and rsync read "K");
 * "kB", "MB", "GB" are powers of 1000 (SI, as rsync).  Bits: "bit",
 * "kbit", "mbit", "gbit" (SI, as network links are sold), divided by 8.
 * Units are case-insensitive; "0" means unlimited.  Examples: "500K",
 * "2M", "1.5MiB", "800kB/s", "10mbit". */
/* gbt_rate_parse() is public: <gbt/gbt-session.h> */

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtRateLimit, gbt_rate_limit_free)

G_END_DECLS
