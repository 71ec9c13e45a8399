/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gbt-peer-flood.h"
#include "gbt-peer-private.h"
#include "gbt-peer-wire.h"

/* ---- flood budgets ----
 *
 * Each kind of message a peer sends costs us something (a callback into
 * the swarm, a scan of its queues, a bencode parse, a bitfield recount), so
 * each has a budget: a count (or bytes) per window, over a sliding window
 * on the peer's clock.  A peer over one is closed with
 * GBT_PEER_WIRE_ERROR_FLOOD naming the budget.  Every limit sits far above
 * what an honest client sends, with the reason beside it: a budget that
 * ever trips on libtorrent, aria2 or Transmission is a bug. */
#define FLOOD_WINDOW_US (10 * G_USEC_PER_SEC)
/* a real peer sends each piece's HAVE once: a few repeats may follow a
 * second bitfield, a thousand in 10 s never */
#define FLOOD_DUP_HAVES 1000
/* BITFIELD and HAVE_ALL after the first message, each a recount of the
 * pieces' availability in the swarm: aria2 sends them as its set grows
 * (instead of HAVEs when shorter, HAVE_ALL once complete), which is news
 * bounded by the piece count and not charged; the same set again or a
 * shrinking one is, 10 a minute being room for clients we have not met */
#define FLOOD_BITFIELDS 10
#define FLOOD_BITFIELD_WINDOW_US (60 * G_USEC_PER_SEC)
/* clients send one every 60-120 s (we every 90 s); one a second on average
 * over a minute is 60 times the most eager */
#define FLOOD_KEEPALIVES 60
#define FLOOD_KEEPALIVE_WINDOW_US (60 * G_USEC_PER_SEC)
/* BEP 10 messages: fetching a 16 MiB info dictionary (the most the metadata
 * plugin takes) is 1024 ut_metadata pieces of 16 KiB; PEX comes once a
 * minute.  Four times a whole metadata transfer in 10 s, in count and bytes */
#define FLOOD_EXTENDED 4096
#define FLOOD_EXTENDED_BYTES ((guint64) 64 * 1024 * 1024)
/* bytes asked for per second, each request counted as at least a 16 KiB
 * block (so tiny requests cost as much as real ones): libtorrent on
 * loopback asks for ~700 MiB/s; 2 GiB/s is three times that */
#define FLOOD_REQUEST_BYTES ((guint64) 2 * 1024 * 1024 * 1024)
#define FLOOD_REQUEST_WINDOW_US (1 * G_USEC_PER_SEC)
/* CANCELs: a leecher cancels in endgame, at most its queue (a few hundred
 * to 2000 requests) each time; 20000 in 10 s is ten full queues */
#define FLOOD_CANCELS 20000
/* CHOKE/UNCHOKE: a choker runs every 10-15 s and answers our interest
 * changes; 100 in 10 s, plus two per interest change of ours */
#define FLOOD_CHOKES 100
/* INTERESTED/NOT_INTERESTED: a peer's interest changes as we announce
 * pieces (a leecher that keeps up with us flips at each of our HAVEs); 100
 * in 10 s, plus two per HAVE or bitfield of ours */
#define FLOOD_INTERESTS 100
/* REJECTs: one per request of ours at most, with room for those sent
 * before the window; 1000 in 10 s plus our requests in it */
#define FLOOD_REJECTS 1000
/* SUGGEST, ALLOWED_FAST, PORT and ids we do not know (ignored): a few per
 * connection (BEP 6 allowed-fast sets are ~10 pieces) */
#define FLOOD_OTHER 1000


static const struct {
  guint64 limit;
  gint64 window_us;
  const char *what; /* "flood: <count> <what> within <s> s" */
  int credit_from; /* a FloodKind, or -1 */
  guint credit_factor;
} flood_budgets[N_FLOOD_KINDS] = {
  [FLOOD_KIND_DUP_HAVE] = { FLOOD_DUP_HAVES, FLOOD_WINDOW_US,
                            "HAVE messages for pieces already announced", -1, 0 },
  [FLOOD_KIND_BITFIELD] = { FLOOD_BITFIELDS, FLOOD_BITFIELD_WINDOW_US,
                            "bitfields (BITFIELD, HAVE_ALL, HAVE_NONE)", -1, 0 },
  [FLOOD_KIND_KEEPALIVE] = { FLOOD_KEEPALIVES, FLOOD_KEEPALIVE_WINDOW_US, "keep-alives", -1, 0 },
  [FLOOD_KIND_EXTENDED] = { FLOOD_EXTENDED, FLOOD_WINDOW_US, "extension messages", -1, 0 },
  [FLOOD_KIND_EXTENDED_BYTES] = { FLOOD_EXTENDED_BYTES, FLOOD_WINDOW_US,
                                  "bytes of extension messages", -1, 0 },
  [FLOOD_KIND_REQUEST_BYTES] = { FLOOD_REQUEST_BYTES, FLOOD_REQUEST_WINDOW_US,
                                 "bytes requested", -1, 0 },
  [FLOOD_KIND_OVER_REQQ] = { FLOOD_OVER_REQQ, FLOOD_WINDOW_US,
                             "requests beyond our reqq of " G_STRINGIFY (GBT_PEER_ADVERTISED_REQQ)
                             " outstanding", -1, 0 },
  [FLOOD_KIND_CANCEL] = { FLOOD_CANCELS, FLOOD_WINDOW_US, "cancels", -1, 0 },
  [FLOOD_KIND_CHOKE] = { FLOOD_CHOKES, FLOOD_WINDOW_US, "choke/unchoke messages",
                         FLOOD_SENT_INTEREST, 2 },
  [FLOOD_KIND_INTEREST] = { FLOOD_INTERESTS, FLOOD_WINDOW_US,
                            "interested/not-interested messages", FLOOD_SENT_HAVE, 2 },
  [FLOOD_KIND_REJECT] = { FLOOD_REJECTS, FLOOD_WINDOW_US,
                          "rejects (beyond our requests)", FLOOD_SENT_REQUEST, 1 },
  [FLOOD_KIND_OTHER] = { FLOOD_OTHER, FLOOD_WINDOW_US,
                         "suggest, allowed-fast, port or unknown messages", -1, 0 },
  [FLOOD_SENT_INTEREST] = { 0, FLOOD_WINDOW_US, NULL, -1, 0 },
  [FLOOD_SENT_HAVE] = { 0, FLOOD_WINDOW_US, NULL, -1, 0 },
  [FLOOD_SENT_REQUEST] = { 0, FLOOD_WINDOW_US, NULL, -1, 0 },
};

/* the window's count, @n more added */
static guint64
flood_window_add (FloodWindow *w, gint64 window_us, guint64 n, gint64 now)
{
  gint64 elapsed;

  if (w->start_us == 0 || now < w->start_us)
    w->start_us = now; /* the first event, or a clock set back (tests) */
  else if (now - w->start_us >= window_us)
    {
      gint64 k = (now - w->start_us) / window_us;
      w->prev = k == 1 ? w->cur : 0;
      w->cur = 0;
      w->start_us += k * window_us;
    }
  w->cur += n;
  elapsed = now - w->start_us;
  return w->cur + (guint64) ((double) w->prev * (double) (window_us - elapsed) / (double) window_us);
}

gboolean
gbt_flood_charge (GbtFlood *flood, GbtFloodKind kind, guint64 n, gint64 now, GError **error)
{
  guint64 count = flood_window_add (&flood->w[kind], flood_budgets[kind].window_us, n, now);
  guint64 limit = flood_budgets[kind].limit;
  int credit = flood_budgets[kind].credit_from;

  if (credit >= 0)
    limit += flood_budgets[kind].credit_factor
             * flood_window_add (&flood->w[credit], flood_budgets[credit].window_us, 0, now);
  if (count <= limit)
    return TRUE;
  g_set_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_FLOOD,
               "flood: %" G_GUINT64_FORMAT " %s within %d s (budget %" G_GUINT64_FORMAT ")", count,
               flood_budgets[kind].what, (int) (flood_budgets[kind].window_us / G_USEC_PER_SEC),
               limit);
  return FALSE;
}

void
gbt_flood_credit (GbtFlood *flood, GbtFloodKind kind, gint64 now)
{
  flood_window_add (&flood->w[kind], flood_budgets[kind].window_us, 1, now);
}
