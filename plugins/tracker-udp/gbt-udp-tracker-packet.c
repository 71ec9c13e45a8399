/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 15 packet layouts.  All integers are big-endian.  Replies come from
 * the network: every field is read only after the length has been checked.
 */
#include <string.h>

#include "gbt-udp-tracker-packet.h"

/* An error text longer than this is a hostile tracker, not a message. */
#define MAX_ERROR_MESSAGE 512

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
put64 (guint8 *p, guint64 v)
{
  put32 (p, v >> 32);
  put32 (p + 4, (guint32) v);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint64
get64 (const guint8 *p)
{
  return ((guint64) get32 (p) << 32) | get32 (p + 4);
}

void
gbt_udp_tracker_build_connect (guint8 out[GBT_UDP_TRACKER_CONNECT_LEN], guint32 transaction_id)
{
  put64 (out, GBT_UDP_TRACKER_PROTOCOL_ID);
  put32 (out + 8, GBT_UDP_TRACKER_ACTION_CONNECT);
  put32 (out + 12, transaction_id);
}

void
gbt_udp_tracker_build_announce (guint8 out[GBT_UDP_TRACKER_ANNOUNCE_LEN], guint64 connection_id,
                                guint32 transaction_id, const GbtAnnounceRequest *request)
{
  put64 (out, connection_id);
  put32 (out + 8, GBT_UDP_TRACKER_ACTION_ANNOUNCE);
  put32 (out + 12, transaction_id);
  memcpy (out + 16, request->info_hash, 20);
  memcpy (out + 36, request->peer_id, 20);
  put64 (out + 56, request->downloaded);
  put64 (out + 64, request->left);
  put64 (out + 72, request->uploaded);
  /* GbtAnnounceEvent is numbered as BEP 15 numbers events */
  put32 (out + 80, (guint32) request->event);
  put32 (out + 84, 0); /* IP: 0, the tracker takes the packet's source */
  put32 (out + 88, request->key);
  put32 (out + 92, (guint32) request->numwant);
  out[96] = request->port >> 8;
  out[97] = request->port & 0xff;
}

void
gbt_udp_tracker_build_scrape (guint8 out[GBT_UDP_TRACKER_SCRAPE_LEN], guint64 connection_id,
                              guint32 transaction_id, const guint8 info_hash[20])
{
  put64 (out, connection_id);
  put32 (out + 8, GBT_UDP_TRACKER_ACTION_SCRAPE);
  put32 (out + 12, transaction_id);
  memcpy (out + 16, info_hash, 20);
}

gboolean
gbt_udp_tracker_reply_transaction_id (const guint8 *data, gsize len, guint32 *transaction_id)
{
  if (len < 8)
    return FALSE;
  *transaction_id = get32 (data + 4);
  return TRUE;
}

static const char *
action_name (guint32 action)
{
  switch (action)
    {
    case GBT_UDP_TRACKER_ACTION_CONNECT: return "connect";
    case GBT_UDP_TRACKER_ACTION_ANNOUNCE: return "announce";
    case GBT_UDP_TRACKER_ACTION_SCRAPE: return "scrape";
    case GBT_UDP_TRACKER_ACTION_ERROR: return "error";
    default: return "unknown";
    }
}

/* The common header: length, transaction id, then either the error action
 * (its message becomes the error) or the action we expect. */
static gboolean
check_header (const guint8 *data, gsize len, guint32 transaction_id, guint32 expected,
              gsize min_len, GError **error)
{
  guint32 action;

  if (len < 8)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                   "UDP tracker reply is %" G_GSIZE_FORMAT " bytes, too short for a header",
                   len);
      return FALSE;
    }
  if (get32 (data + 4) != transaction_id)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                   "UDP tracker reply has transaction id %08x, expected %08x",
                   get32 (data + 4), transaction_id);
      return FALSE;
    }
  action = get32 (data);
  if (action == GBT_UDP_TRACKER_ACTION_ERROR && expected != GBT_UDP_TRACKER_ACTION_ERROR)
    {
      gsize n = MIN (len - 8, MAX_ERROR_MESSAGE);
      g_autofree char *text = g_utf8_make_valid ((const char *) data + 8, n);

      /* a NUL inside the text ends it: make_valid keeps it, C strings do not */
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON, "%s",
                   *text ? text : "tracker refused the request (no reason given)");
      return FALSE;
    }
  if (action != expected)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                   "UDP tracker answered with action %u (%s), expected %u (%s)", action,
                   action_name (action), expected, action_name (expected));
      return FALSE;
    }
  if (len < min_len)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                   "UDP tracker %s reply is %" G_GSIZE_FORMAT " bytes, at least %"
                   G_GSIZE_FORMAT " expected", action_name (expected), len, min_len);
      return FALSE;
    }
  return TRUE;
}

gboolean
gbt_udp_tracker_parse_connect (const guint8 *data, gsize len, guint32 transaction_id,
                               guint64 *connection_id, GError **error)
{
  /* BEP 15: "at least 16 bytes"; longer replies are allowed (extensions) */
  if (!check_header (data, len, transaction_id, GBT_UDP_TRACKER_ACTION_CONNECT, 16, error))
    return FALSE;
  *connection_id = get64 (data + 8);
  return TRUE;
}

GbtAnnounceResponse *
gbt_udp_tracker_parse_announce (const guint8 *data, gsize len, guint32 transaction_id,
                                gboolean ipv6, GError **error)
{
  g_autoptr(GbtAnnounceResponse) response = NULL;

  if (!check_header (data, len, transaction_id, GBT_UDP_TRACKER_ACTION_ANNOUNCE, 20, error))
    return NULL;

  response = gbt_announce_response_new ();
  response->interval = get32 (data + 8);
  response->incomplete = get32 (data + 12);
  response->complete = get32 (data + 16);
  /* BEP 15: 6-byte entries over IPv4, 18-byte ones when the tracker was
   * reached over IPv6; a ragged tail means a corrupt packet: reject it. */
  if (!gbt_compact_peers_parse (data + 20, len - 20, ipv6, response->peers, error))
    {
      g_prefix_error (error, "UDP tracker announce reply: ");
      return NULL;
    }
  return g_steal_pointer (&response);
}

GbtScrapeResponse *
gbt_udp_tracker_parse_scrape (const guint8 *data, gsize len, guint32 transaction_id,
                              GError **error)
{
  GbtScrapeResponse *response;

  /* one info-hash asked, so one 12-byte entry expected (more is ignored:
   * a tracker may pad) */
  if (!check_header (data, len, transaction_id, GBT_UDP_TRACKER_ACTION_SCRAPE, 20, error))
    return NULL;
  response = gbt_scrape_response_new ();
  response->complete = get32 (data + 8);
  response->downloaded = get32 (data + 12);
  response->incomplete = get32 (data + 16);
  return response;
}
