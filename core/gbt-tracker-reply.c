/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracker request/response structs and the pure parsers every tracker plugin
 * shares.  The parsers see bytes straight from the network: they check every
 * type and length, never trust counts, and are fuzzed
 * (tests/fuzzing/fuzz-tracker-reply.c).
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-tracker.h>

G_DEFINE_QUARK (gbt-tracker-error-quark, gbt_tracker_error)

/* A reply is a flat dict (or a short list of peer dicts): anything deeper is
 * hostile, and a cap keeps the parser's work bounded. */
#define REPLY_MAX_DEPTH 8
#define REPLY_MAX_SIZE (8 * 1024 * 1024)

GbtAnnounceRequest *
gbt_announce_request_new (void)
{
  GbtAnnounceRequest *request = g_new0 (GbtAnnounceRequest, 1);

  request->numwant = -1;
  return request;
}

GbtAnnounceRequest *
gbt_announce_request_copy (const GbtAnnounceRequest *request)
{
  GbtAnnounceRequest *copy;

  g_return_val_if_fail (request != NULL, NULL);

  copy = g_new0 (GbtAnnounceRequest, 1);
  *copy = *request;
  copy->url = g_strdup (request->url);
  copy->tracker_id = g_strdup (request->tracker_id);
  copy->bind_address = request->bind_address ? g_object_ref (request->bind_address) : NULL;
  return copy;
}

void
gbt_announce_request_free (GbtAnnounceRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->url);
  g_free (request->tracker_id);
  g_clear_object (&request->bind_address);
  g_free (request);
}

GbtAnnounceResponse *
gbt_announce_response_new (void)
{
  GbtAnnounceResponse *response = g_new0 (GbtAnnounceResponse, 1);

  response->interval = -1;
  response->min_interval = -1;
  response->complete = -1;
  response->incomplete = -1;
  response->downloaded = -1;
  response->peers = g_ptr_array_new_with_free_func (g_object_unref);
  return response;
}

void
gbt_announce_response_free (GbtAnnounceResponse *response)
{
  if (response == NULL)
    return;
  g_clear_pointer (&response->peers, g_ptr_array_unref);
  g_free (response->warning_message);
  g_free (response->tracker_id);
  g_free (response);
}

GbtScrapeResponse *
gbt_scrape_response_new (void)
{
  GbtScrapeResponse *response = g_new0 (GbtScrapeResponse, 1);

  response->complete = -1;
  response->downloaded = -1;
  response->incomplete = -1;
  return response;
}

void
gbt_scrape_response_free (GbtScrapeResponse *response)
{
  g_free (response);
}

static GSocketAddress *
peer_address_new (GSocketFamily family, const guint8 *addr_bytes, guint16 port)
{
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_bytes (addr_bytes, family);

  return g_inet_socket_address_new (addr, port);
}

gboolean
gbt_compact_peers_parse (const guint8 *data, gsize len, gboolean ipv6, GPtrArray *peers,
                         GError **error)
{
  gsize addr_len = ipv6 ? 16 : 4;
  gsize entry_len = addr_len + 2;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (peers != NULL, FALSE);

  /* BEP 23 / BEP 7: a run of fixed-size entries; a ragged tail means the
   * reply is corrupt, not that the last peer is short. */
  if (len % entry_len != 0)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                   "compact %s list is %" G_GSIZE_FORMAT " bytes, not a multiple of %"
                   G_GSIZE_FORMAT, ipv6 ? "peers6" : "peers", len, entry_len);
      return FALSE;
    }

  for (gsize off = 0; off < len; off += entry_len)
    {
      guint16 port = ((guint16) data[off + addr_len] << 8) | data[off + addr_len + 1];

      if (port == 0)
        continue; /* nobody listens on port 0: not worth a connection attempt */
      g_ptr_array_add (peers, peer_address_new (ipv6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4,
                                                data + off, port));
    }
  return TRUE;
}

static gboolean
bad_reply (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
bad_reply (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY, message);
  return FALSE;
}

static GbtBencodeDoc *
parse_root_dict (const guint8 *data, gsize len, GbtBencode **root, GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;

  if (data == NULL || len == 0)
    {
      bad_reply (error, "empty tracker reply");
      return NULL;
    }
  bytes = g_bytes_new (data, len);
  /* Some trackers end the body with a newline: tolerate trailing bytes after
   * the one value we need. */
  doc = gbt_bencode_parse_full (bytes, GBT_BENCODE_ALLOW_TRAILING, REPLY_MAX_DEPTH,
                                REPLY_MAX_SIZE, &local_error);
  if (doc == NULL)
    {
      bad_reply (error, "tracker reply is not bencoded: %s", local_error->message);
      return NULL;
    }
  *root = gbt_bencode_doc_get_root (doc);
  if (!gbt_bencode_is_dict (*root))
    {
      bad_reply (error, "tracker reply is not a dictionary");
      return NULL;
    }
  return g_steal_pointer (&doc);
}

/* Text from a tracker is untrusted: never hand invalid UTF-8 (or embedded
 * NULs) to a terminal or a GError. */
static char *
dup_text (const GbtBencode *value)
{
  gsize len;
  const guint8 *s = gbt_bencode_get_string (value, &len);

  return g_utf8_make_valid ((const char *) s, len);
}

static gboolean
check_failure_reason (const GbtBencode *root, GError **error)
{
  GbtBencode *failure = gbt_bencode_dict_lookup (root, "failure reason");
  g_autofree char *text = NULL;

  if (failure == NULL)
    return TRUE;
  if (!gbt_bencode_is_string (failure))
    return bad_reply (error, "key 'failure reason' is not a string");
  text = dup_text (failure);
  g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON,
               "tracker refused: %s", text);
  return FALSE;
}

/* Optional non-negative integer: -1 when absent. */
static gboolean
get_count (const GbtBencode *dict, const char *key, gint64 *out, GError **error)
{
  GbtBencode *value = gbt_bencode_dict_lookup (dict, key);

  if (value == NULL)
    {
      *out = -1;
      return TRUE;
    }
  if (!gbt_bencode_is_int (value))
    return bad_reply (error, "key '%s' is not an integer", key);
  if (gbt_bencode_get_int (value) < 0)
    return bad_reply (error, "key '%s' is negative", key);
  *out = gbt_bencode_get_int (value);
  return TRUE;
}

static gboolean
get_text (const GbtBencode *dict, const char *key, char **out, GError **error)
{
  GbtBencode *value = gbt_bencode_dict_lookup (dict, key);

  if (value == NULL)
    return TRUE;
  if (!gbt_bencode_is_string (value))
    return bad_reply (error, "key '%s' is not a string", key);
  *out = dup_text (value);
  return TRUE;
}

/* BEP 3's original form: a list of {ip, port, peer id} dicts. */
static gboolean
parse_peer_dicts (const GbtBencode *list, GPtrArray *peers, GError **error)
{
  guint n = gbt_bencode_get_length (list);

  for (guint i = 0; i < n; i++)
    {
      GbtBencode *entry = gbt_bencode_list_nth (list, i);
      GbtBencode *ip_value, *port_value;
      g_autofree char *ip = NULL;
      g_autoptr(GInetAddress) addr = NULL;
      gint64 port;

      if (!gbt_bencode_is_dict (entry))
        return bad_reply (error, "key 'peers' entry %u is not a dictionary", i);
      ip_value = gbt_bencode_dict_lookup (entry, "ip");
      port_value = gbt_bencode_dict_lookup (entry, "port");
      if (ip_value == NULL || !gbt_bencode_is_string (ip_value))
        return bad_reply (error, "key 'peers' entry %u has no 'ip' string", i);
      if (port_value == NULL || !gbt_bencode_is_int (port_value))
        return bad_reply (error, "key 'peers' entry %u has no 'port' integer", i);
      port = gbt_bencode_get_int (port_value);
      if (port < 0 || port > G_MAXUINT16)
        return bad_reply (error, "key 'peers' entry %u has port %" G_GINT64_FORMAT
                          " out of range", i, port);
      if (port == 0)
        continue;

      /* dup_string refuses embedded NULs, which no address contains. */
      ip = gbt_bencode_dup_string (ip_value);
      if (ip != NULL)
        addr = g_inet_address_new_from_string (ip);
      /* BEP 3 allows a DNS name here; resolving it would block or fan out
       * lookups for a tracker's say-so, so such peers are skipped. */
      if (addr == NULL)
        continue;
      g_ptr_array_add (peers, g_inet_socket_address_new (addr, (guint16) port));
    }
  return TRUE;
}

GbtAnnounceResponse *
gbt_announce_response_parse_bencoded (const guint8 *data, gsize len, GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GbtAnnounceResponse) response = NULL;
  GbtBencode *root = NULL;
  GbtBencode *peers, *peers6;

  doc = parse_root_dict (data, len, &root, error);
  if (doc == NULL)
    return NULL;
  if (!check_failure_reason (root, error))
    return NULL;

  response = gbt_announce_response_new ();
  if (!get_count (root, "interval", &response->interval, error)
      || !get_count (root, "min interval", &response->min_interval, error)
      || !get_count (root, "complete", &response->complete, error)
      || !get_count (root, "incomplete", &response->incomplete, error)
      || !get_count (root, "downloaded", &response->downloaded, error)
      || !get_text (root, "tracker id", &response->tracker_id, error)
      || !get_text (root, "warning message", &response->warning_message, error))
    return NULL;

  /* An absent 'peers' happens in practice (nobody else in the swarm): no
   * peers, not an error. */
  peers = gbt_bencode_dict_lookup (root, "peers");
  if (peers != NULL)
    {
      if (gbt_bencode_is_string (peers))
        {
          gsize plen;
          const guint8 *p = gbt_bencode_get_string (peers, &plen);

          if (!gbt_compact_peers_parse (p, plen, FALSE, response->peers, error))
            return NULL;
        }
      else if (gbt_bencode_is_list (peers))
        {
          if (!parse_peer_dicts (peers, response->peers, error))
            return NULL;
        }
      else
        {
          bad_reply (error, "key 'peers' is neither a string nor a list");
          return NULL;
        }
    }

  peers6 = gbt_bencode_dict_lookup (root, "peers6");
  if (peers6 != NULL)
    {
      gsize plen;
      const guint8 *p;

      if (!gbt_bencode_is_string (peers6))
        {
          bad_reply (error, "key 'peers6' is not a string");
          return NULL;
        }
      p = gbt_bencode_get_string (peers6, &plen);
      if (!gbt_compact_peers_parse (p, plen, TRUE, response->peers, error))
        return NULL;
    }

  return g_steal_pointer (&response);
}

GbtScrapeResponse *
gbt_scrape_response_parse_bencoded (const guint8 *data, gsize len, const guint8 info_hash[20],
                                    GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GbtScrapeResponse) response = NULL;
  GbtBencode *root = NULL;
  GbtBencode *files, *entry;

  g_return_val_if_fail (info_hash != NULL, NULL);

  doc = parse_root_dict (data, len, &root, error);
  if (doc == NULL)
    return NULL;
  if (!check_failure_reason (root, error))
    return NULL;

  files = gbt_bencode_dict_lookup (root, "files");
  if (files == NULL || !gbt_bencode_is_dict (files))
    {
      bad_reply (error, "key 'files' is missing or not a dictionary");
      return NULL;
    }
  /* BEP 48: keyed by the raw 20-byte info-hash, not hex. */
  entry = gbt_bencode_dict_lookup_len (files, info_hash, 20);
  if (entry == NULL)
    {
      bad_reply (error, "key 'files' has no entry for this info-hash");
      return NULL;
    }
  if (!gbt_bencode_is_dict (entry))
    {
      bad_reply (error, "key 'files' entry is not a dictionary");
      return NULL;
    }

  response = gbt_scrape_response_new ();
  if (!get_count (entry, "complete", &response->complete, error)
      || !get_count (entry, "downloaded", &response->downloaded, error)
      || !get_count (entry, "incomplete", &response->incomplete, error))
    return NULL;
  return g_steal_pointer (&response);
}
