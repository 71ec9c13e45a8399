/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gbt/gbt-tracker.h>

#include "test-utils.h"

static GbtAnnounceResponse *
parse (const char *s, gsize len, GError **error)
{
  return gbt_announce_response_parse_bencoded ((const guint8 *) s, len ? len : strlen (s), error);
}

static void
assert_peer (GbtAnnounceResponse *r, guint i, const char *ip, guint16 port)
{
  GInetSocketAddress *sa;
  g_autofree char *s = NULL;

  g_assert_cmpuint (r->peers->len, >, i);
  sa = G_INET_SOCKET_ADDRESS (r->peers->pdata[i]);
  s = g_inet_address_to_string (g_inet_socket_address_get_address (sa));
  g_assert_cmpstr (s, ==, ip);
  g_assert_cmpuint (g_inet_socket_address_get_port (sa), ==, port);
}

static void
test_compact (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = NULL;
  static const char reply[] = "d8:completei5e10:downloadedi7e10:incompletei3e8:intervali1800e"
                              "12:min intervali60e5:peers18:\x7f\x00\x00\x01\x1a\xe1"
                              "\x0a\x00\x00\x02\x00\x00" /* port 0: skipped */
                              "\x7f\x01\x02\x03\xff\xff"
                              "10:tracker id3:abc15:warning message4:caree";

  r = parse (reply, sizeof reply - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->interval, ==, 1800);
  g_assert_cmpint (r->min_interval, ==, 60);
  g_assert_cmpint (r->complete, ==, 5);
  g_assert_cmpint (r->incomplete, ==, 3);
  g_assert_cmpint (r->downloaded, ==, 7);
  g_assert_cmpstr (r->tracker_id, ==, "abc");
  g_assert_cmpstr (r->warning_message, ==, "care");
  g_assert_cmpuint (r->peers->len, ==, 2);
  assert_peer (r, 0, "127.0.0.1", 6881);
  assert_peer (r, 1, "127.1.2.3", 65535);
}

static void
test_minimal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = parse ("d8:intervali30ee", 0, &error);

  g_assert_no_error (error);
  g_assert_cmpint (r->interval, ==, 30);
  g_assert_cmpint (r->min_interval, ==, -1);
  g_assert_cmpint (r->complete, ==, -1);
  g_assert_cmpint (r->incomplete, ==, -1);
  g_assert_cmpint (r->downloaded, ==, -1);
  g_assert_null (r->tracker_id);
  g_assert_null (r->warning_message);
  g_assert_cmpuint (r->peers->len, ==, 0);
}

static void
test_dict_peers (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = NULL;
  const char *reply = "d8:intervali900e5:peersl"
                      "d2:ip9:127.0.0.27:peer id20:aaaaaaaaaaaaaaaaaaaa4:porti6881ee"
                      "d2:ip3:::14:porti51413ee"
                      "d2:ip11:example.org4:porti1ee" /* a hostname: skipped */
                      "d2:ip9:127.0.0.94:porti0ee"    /* port 0: skipped */
                      "ee";

  r = parse (reply, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->peers->len, ==, 2);
  assert_peer (r, 0, "127.0.0.2", 6881);
  assert_peer (r, 1, "::1", 51413);
}

static void
test_peers6 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = NULL;
  static const char reply[] = "d5:peers0:6:peers618:"
                              "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                              "\x1a\xe2" "e";

  r = parse (reply, sizeof reply - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->peers->len, ==, 1);
  assert_peer (r, 0, "::1", 6882);
}

static void
test_failure_reason (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = parse ("d14:failure reason14:not authorizede", 0, &error);

  g_assert_null (r);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
  g_assert_nonnull (strstr (error->message, "not authorized"));
}

static void
test_failure_reason_invalid_utf8 (void)
{
  g_autoptr(GError) error = NULL;
  static const char reply[] = "d14:failure reason3:\xff\xfe\x41" "e";
  g_autoptr(GbtAnnounceResponse) r = parse (reply, sizeof reply - 1, &error);

  g_assert_null (r);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

static void
test_malformed (void)
{
  struct {
    const char *in;
    gsize len;
    const char *key; /* expected in the message, or NULL */
  } cases[] = {
    { "", 0, NULL },
    { "garbage", 0, NULL },
    { "i42e", 0, NULL },
    { "le", 0, NULL },
    { "d8:interval", 0, NULL },
    { "d8:interval3:abce", 0, "interval" },
    { "d8:intervali-5ee", 0, "interval" },
    { "d12:min interval3:abce", 0, "min interval" },
    { "d8:completeleee", 0, "complete" },
    { "d10:incompletedee", 0, "incomplete" },
    { "d10:downloaded1:xe", 0, "downloaded" },
    { "d10:tracker idi1ee", 0, "tracker id" },
    { "d15:warning messagelee", 0, "warning message" },
    { "d14:failure reasoni1ee", 0, "failure reason" },
    { "d5:peersi1ee", 0, "peers" },
    { "d5:peers5:abcdee", 0, "peers" },
    { "d5:peers7:abcdefge", 0, "peers" },
    { "d5:peersli1eee", 0, "peers" },
    { "d5:peersld4:porti1eeee", 0, "peers" },
    { "d5:peersld2:ip9:127.0.0.1eee", 0, "peers" },
    { "d5:peersld2:ip9:127.0.0.14:port1:xeee", 0, "peers" },
    { "d5:peersld2:ip9:127.0.0.14:porti65536eeee", 0, "peers" },
    { "d5:peersld2:ip9:127.0.0.14:porti-1eeee", 0, "peers" },
    { "d6:peers6i0ee", 0, "peers6" },
    { "d6:peers66:abcdefe", 0, "peers6" },
    /* deeper than any reply needs */
    { "d1:xllllllllllllllllllllleeeeeeeeeeeeeeeeeeeeeee", 0, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtAnnounceResponse) r = parse (cases[i].in, cases[i].len, &error);

      g_test_message ("case %" G_GSIZE_FORMAT ": %s", i, cases[i].in);
      g_assert_null (r);
      g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY);
      if (cases[i].key)
        g_assert_nonnull (strstr (error->message, cases[i].key));
    }
}

static void
test_trailing_newline (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) r = parse ("d8:intervali60ee\n", 0, &error);

  g_assert_no_error (error);
  g_assert_cmpint (r->interval, ==, 60);
}

static void
test_compact_direct (void)
{
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  static const guint8 v4[] = { 1, 2, 3, 4, 0x00, 0x50, 5, 6, 7, 8, 0x1f, 0x90 };

  g_assert_true (gbt_compact_peers_parse (v4, sizeof v4, FALSE, peers, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (peers->len, ==, 2);
  g_assert_true (gbt_compact_peers_parse (NULL, 0, TRUE, peers, &error));
  g_assert_cmpuint (peers->len, ==, 2);
  g_assert_false (gbt_compact_peers_parse (v4, sizeof v4, TRUE, peers, &error));
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY);
  g_assert_cmpuint (peers->len, ==, 2);
}

static const guint8 hash[20] = "AAAAAAAAAAAAAAAAAAAA";

static void
test_scrape (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtScrapeResponse) r = NULL;
  const char *reply = "d5:filesd"
                      "20:AAAAAAAAAAAAAAAAAAAAd8:completei4e10:downloadedi9e10:incompletei2ee"
                      "20:BBBBBBBBBBBBBBBBBBBBd8:completei1eee"
                      "e";

  r = gbt_scrape_response_parse_bencoded ((const guint8 *) reply, strlen (reply), hash, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->complete, ==, 4);
  g_assert_cmpint (r->downloaded, ==, 9);
  g_assert_cmpint (r->incomplete, ==, 2);
}

static void
test_scrape_bad (void)
{
  const char *bad[] = {
    "de",
    "d5:filesi1ee",
    "d5:filesd20:BBBBBBBBBBBBBBBBBBBBdeee",
    "d5:filesd20:AAAAAAAAAAAAAAAAAAAAi1eee",
    "d5:filesd20:AAAAAAAAAAAAAAAAAAAAd8:complete1:xeee",
    "x",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtScrapeResponse) r = NULL;

      r = gbt_scrape_response_parse_bencoded ((const guint8 *) bad[i], strlen (bad[i]), hash,
                                              &error);
      g_assert_null (r);
      g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY);
    }
  {
    g_autoptr(GError) error = NULL;
    const char *refused = "d14:failure reason4:nopee";
    g_autoptr(GbtScrapeResponse) r
      = gbt_scrape_response_parse_bencoded ((const guint8 *) refused, strlen (refused), hash,
                                            &error);
    g_assert_null (r);
    g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
  }
}

static void
test_request_copy (void)
{
  g_autoptr(GbtAnnounceRequest) req = gbt_announce_request_new ();
  g_autoptr(GbtAnnounceRequest) copy = NULL;

  g_assert_cmpint (req->numwant, ==, -1);
  req->url = g_strdup ("http://127.0.0.1/announce");
  req->tracker_id = g_strdup ("tid");
  req->bind_address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  memset (req->info_hash, 0xab, 20);
  req->port = 6881;
  req->event = GBT_ANNOUNCE_EVENT_STARTED;
  copy = gbt_announce_request_copy (req);
  g_assert_true (copy->url != req->url);
  g_assert_cmpstr (copy->url, ==, req->url);
  g_assert_cmpstr (copy->tracker_id, ==, "tid");
  g_assert_true (copy->bind_address == req->bind_address);
  g_assert_cmpmem (copy->info_hash, 20, req->info_hash, 20);
  g_assert_cmpuint (copy->port, ==, 6881);
  g_assert_cmpint (copy->event, ==, GBT_ANNOUNCE_EVENT_STARTED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tracker-reply/announce/compact", test_compact);
  g_test_add_func ("/tracker-reply/announce/minimal", test_minimal);
  g_test_add_func ("/tracker-reply/announce/dict-peers", test_dict_peers);
  g_test_add_func ("/tracker-reply/announce/peers6", test_peers6);
  g_test_add_func ("/tracker-reply/announce/failure-reason", test_failure_reason);
  g_test_add_func ("/tracker-reply/announce/failure-reason-utf8", test_failure_reason_invalid_utf8);
  g_test_add_func ("/tracker-reply/announce/malformed", test_malformed);
  g_test_add_func ("/tracker-reply/announce/trailing-newline", test_trailing_newline);
  g_test_add_func ("/tracker-reply/compact", test_compact_direct);
  g_test_add_func ("/tracker-reply/scrape/ok", test_scrape);
  g_test_add_func ("/tracker-reply/scrape/bad", test_scrape_bad);
  g_test_add_func ("/tracker-reply/request/copy", test_request_copy);
  return g_test_run ();
}
