/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A peer's flood budgets: for each kind of message, a count (or bytes) it
 * may send per sliding window.  Pure: the peer charges its messages here
 * on its own clock and closes the connection when a charge fails.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* requests that arrive while GBT_PEER_ADVERTISED_REQQ are already
 * outstanding: an honest peer stays within reqq (our count of what is
 * outstanding never exceeds its own), so these are only a client that
 * ignores reqq; the swarm rejects them, and past this many in 10 s the
 * peer goes */
#define FLOOD_OVER_REQQ 256

typedef enum {
  FLOOD_KIND_DUP_HAVE,
  FLOOD_KIND_BITFIELD,
  FLOOD_KIND_KEEPALIVE,
  FLOOD_KIND_EXTENDED,
  FLOOD_KIND_EXTENDED_BYTES,
  FLOOD_KIND_REQUEST_BYTES,
  FLOOD_KIND_OVER_REQQ,
  FLOOD_KIND_CANCEL,
  FLOOD_KIND_CHOKE,
  FLOOD_KIND_INTEREST,
  FLOOD_KIND_REJECT,
  FLOOD_KIND_OTHER,
  /* what we sent, which earns the peer room for its answers */
  FLOOD_SENT_INTEREST, /* credit for CHOKE flaps */
  FLOOD_SENT_HAVE, /* for INTEREST flaps */
  FLOOD_SENT_REQUEST, /* for REJECTs */
  N_FLOOD_KINDS,
} GbtFloodKind;

/* A sliding-window counter: the count in the current window plus the
 * previous window's, weighted by how much of it the sliding window still
 * covers (so a burst across a window's edge counts whole). */
typedef struct {
  gint64 start_us;
  guint64 cur, prev;
} FloodWindow;

typedef struct {
  FloodWindow w[N_FLOOD_KINDS];
} GbtFlood;

/* Counts @n of @kind at @now: FALSE with GBT_PEER_WIRE_ERROR_FLOOD naming
 * the budget when that puts the peer over it. */
G_GNUC_INTERNAL gboolean gbt_flood_charge (GbtFlood *flood, GbtFloodKind kind, guint64 n,
                                           gint64 now, GError **error);
/* something we sent that earns the peer room for its answers */
G_GNUC_INTERNAL void gbt_flood_credit (GbtFlood *flood, GbtFloodKind kind, gint64 now);

G_END_DECLS
