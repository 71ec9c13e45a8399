/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The UDP tracker plugin (BEP 15), its object compiled in: against a fake
 * tracker (a GSocket on 127.0.0.1 in this process) that misbehaves on
 * demand, and against a real opentracker on 127.0.0.1 (skipped when it is
 * not installed), including `gbt scrape` over UDP and HTTP.
 */
#include <string.h>


#include "../plugins/tracker-udp/gbt-tracker-udp.h"
#include "../plugins/tracker-udp/gbt-udp-tracker-packet.h"
#include "test-utils.h"

typedef enum {
  MODE_NORMAL,
  MODE_SILENT,
  MODE_ERROR,
  MODE_SHORT,
  MODE_WRONG_ACTION,
  MODE_RAGGED,
  MODE_STRAY_FIRST,
  MODE_TINY,
} Mode;

typedef struct {
  GSocket *socket;
  GSource *source;
  guint16 port;
  char *url;
  Mode mode;
  guint connects;
  guint announces;
  guint scrapes;
  guint64 cid;
  guint8 last_announce[GBT_UDP_TRACKER_ANNOUNCE_LEN];
  GbtTrackerUdp *tracker;
  gboolean ipv6;
} Fixture;

static const guint8 hash[20] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23,
                                 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67 };

static void
reply (Fixture *f, GSocketAddress *to, const guint8 *data, gsize len)
{
  g_autoptr(GError) error = NULL;

  g_socket_send_to (f->socket, to, (const char *) data, len, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
fake_readable_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Fixture *f = user_data;
  guint8 buf[2048];
  g_autoptr(GSocketAddress) from = NULL;
  gssize n = g_socket_receive_from (socket, &from, (char *) buf, sizeof buf, NULL, NULL);
  guint8 out[256];
  guint32 action, tid;

  if (n < 16)
    return G_SOURCE_CONTINUE;
  action = gbt_test_get_be32 (buf + 8);
  tid = gbt_test_get_be32 (buf + 12);

  if (action == GBT_UDP_TRACKER_ACTION_CONNECT)
    {
      g_assert_cmpint (n, ==, 16);
      g_assert_cmpuint (gbt_test_get_be32 (buf), ==, 0x417);
      g_assert_cmpuint (gbt_test_get_be32 (buf + 4), ==, 0x27101980);
      f->connects++;
      if (f->mode == MODE_SILENT)
        return G_SOURCE_CONTINUE;
      f->cid = ((guint64) g_random_int () << 32) | g_random_int ();
      gbt_test_put_be32 (out, 0);
      gbt_test_put_be32 (out + 4, tid);
      gbt_test_put_be32 (out + 8, f->cid >> 32);
      gbt_test_put_be32 (out + 12, (guint32) f->cid);
      reply (f, from, out, 16);
      return G_SOURCE_CONTINUE;
    }

  /* every later request carries the id we handed out */
  g_assert_cmpuint (gbt_test_get_be32 (buf), ==, f->cid >> 32);
  g_assert_cmpuint (gbt_test_get_be32 (buf + 4), ==, (guint32) f->cid);
  if (action == GBT_UDP_TRACKER_ACTION_SCRAPE)
    {
      g_assert_cmpint (n, ==, 36);
      f->scrapes++;
      gbt_test_put_be32 (out, 2);
      gbt_test_put_be32 (out + 4, tid);
      gbt_test_put_be32 (out + 8, 5);   /* seeders */
      gbt_test_put_be32 (out + 12, 9);  /* completed */
      gbt_test_put_be32 (out + 16, 7);  /* leechers */
      reply (f, from, out, 20);
      return G_SOURCE_CONTINUE;
    }

  g_assert_cmpuint (action, ==, GBT_UDP_TRACKER_ACTION_ANNOUNCE);
  g_assert_cmpint (n, ==, GBT_UDP_TRACKER_ANNOUNCE_LEN);
  f->announces++;
  memcpy (f->last_announce, buf, GBT_UDP_TRACKER_ANNOUNCE_LEN);
  switch (f->mode)
    {
    case MODE_SILENT:
      break;
    case MODE_ERROR:
      gbt_test_put_be32 (out, 3);
      gbt_test_put_be32 (out + 4, tid);
      memcpy (out + 8, "go away", 7);
      reply (f, from, out, 15);
      break;
    case MODE_SHORT:
      gbt_test_put_be32 (out, 1);
      gbt_test_put_be32 (out + 4, tid);
      reply (f, from, out, 12);
      break;
    case MODE_TINY:
      reply (f, from, (const guint8 *) "xyz", 3);
      break;
    case MODE_WRONG_ACTION:
      gbt_test_put_be32 (out, 2);
      gbt_test_put_be32 (out + 4, tid);
      memset (out + 8, 0, 12);
      reply (f, from, out, 20);
      break;
    case MODE_STRAY_FIRST:
    case MODE_NORMAL:
    case MODE_RAGGED:
      {
        gsize len = 20;

        if (f->mode == MODE_STRAY_FIRST)
          {
            /* someone else's answer first: must be ignored */
            gbt_test_put_be32 (out, 3);
            gbt_test_put_be32 (out + 4, tid ^ 0x5a5a5a5a);
            memcpy (out + 8, "not yours", 9);
            reply (f, from, out, 17);
          }
        gbt_test_put_be32 (out, 1);
        gbt_test_put_be32 (out + 4, tid);
        gbt_test_put_be32 (out + 8, 1800);
        gbt_test_put_be32 (out + 12, 3); /* leechers */
        gbt_test_put_be32 (out + 16, 2); /* seeders */
        if (f->ipv6)
          {
            memset (out + 20, 0, 16);
            out[20] = 0xfd;
            out[35] = 1;
            out[36] = 0x1b;
            out[37] = 0x39; /* port 6969 */
            len += 18;
          }
        else
          {
            const guint8 peers[] = { 127, 0, 0, 2, 0x1a, 0xe1, 127, 0, 0, 3, 0x1a, 0xe2 };

            memcpy (out + 20, peers, sizeof peers);
            len += sizeof peers;
          }
        if (f->mode == MODE_RAGGED)
          len++;
        reply (f, from, out, len);
      }
      break;
    }
  return G_SOURCE_CONTINUE;
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GSocketFamily family = data ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (family);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  f->ipv6 = data != NULL;
  f->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (f->socket, FALSE);
  if (!g_socket_bind (f->socket, addr, FALSE, &error))
    {
      /* no ::1 in this sandbox: the test skips */
      g_clear_object (&f->socket);
      return;
    }
  bound = g_socket_get_local_address (f->socket, &error);
  g_assert_no_error (error);
  f->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  f->url = g_strdup_printf (f->ipv6 ? "udp://[::1]:%u/announce" : "udp://127.0.0.1:%u/announce",
                            f->port);
  f->source = g_socket_create_source (f->socket, G_IO_IN, NULL);
  g_source_set_callback (f->source, (GSourceFunc) (void (*) (void)) fake_readable_cb, f, NULL);
  g_source_attach (f->source, NULL);
  f->tracker = gbt_tracker_udp_new ();
  /* quick retransmissions so that silent trackers cost milliseconds */
  gbt_tracker_udp_set_retransmit (f->tracker, 40, 2);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  if (f->source != NULL)
    {
      g_source_destroy (f->source);
      g_source_unref (f->source);
    }
  g_clear_object (&f->socket);
  g_clear_object (&f->tracker);
  g_free (f->url);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GbtAnnounceRequest *
make_request (const char *url)
{
  GbtAnnounceRequest *req = gbt_announce_request_new ();

  req->url = g_strdup (url);
  memcpy (req->info_hash, hash, 20);
  memcpy (req->peer_id, "-GB0001-udpudpudpudp", 20);
  req->port = 6881;
  req->left = 1000;
  req->downloaded = 24;
  req->uploaded = 7;
  req->event = GBT_ANNOUNCE_EVENT_STARTED;
  req->numwant = 50;
  req->key = 0xdeadbeef;
  return req;
}

static GbtAnnounceResponse *
announce_full (GbtTracker *tracker, GbtAnnounceRequest *req, GCancellable *cancellable,
               GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  gbt_tracker_announce_async (tracker, req, cancellable, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 10000);
  return gbt_tracker_announce_finish (tracker, result, error);
}

static GbtAnnounceResponse *
announce (Fixture *f, GError **error)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f->url);

  return announce_full (GBT_TRACKER (f->tracker), req, NULL, error);
}

#define SKIP_WITHOUT_SOCKET(f)                                  \
  if ((f)->socket == NULL)                                      \
    {                                                           \
      g_test_skip ("no loopback address of this family here"); \
      return;                                                   \
    }

static void
test_announce (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autofree char *peer = NULL;

  SKIP_WITHOUT_SOCKET (f);
  resp = announce (f, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->interval, ==, 1800);
  g_assert_cmpint (resp->incomplete, ==, 3);
  g_assert_cmpint (resp->complete, ==, 2);
  g_assert_cmpuint (f->connects, ==, 1);
  g_assert_cmpuint (f->announces, ==, 1);

  /* the request's fields, where BEP 15 puts them */
  g_assert_cmpmem (f->last_announce + 16, 20, hash, 20);
  g_assert_cmpmem (f->last_announce + 36, 20, "-GB0001-udpudpudpudp", 20);
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 60), ==, 24);  /* downloaded */
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 68), ==, 1000); /* left */
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 76), ==, 7);   /* uploaded */
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 80), ==, 2);   /* started */
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 84), ==, 0);   /* IP */
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 88), ==, 0xdeadbeef);
  g_assert_cmpuint (gbt_test_get_be32 (f->last_announce + 92), ==, 50);
  g_assert_cmpuint (f->last_announce[96] << 8 | f->last_announce[97], ==, 6881);

  if (f->ipv6)
    {
      g_assert_cmpuint (resp->peers->len, ==, 1);
      peer = g_socket_connectable_to_string (resp->peers->pdata[0]);
      g_assert_cmpstr (peer, ==, "[fd00::1]:6969");
    }
  else
    {
      g_assert_cmpuint (resp->peers->len, ==, 2);
      peer = g_socket_connectable_to_string (resp->peers->pdata[1]);
      g_assert_cmpstr (peer, ==, "127.0.0.3:6882");
    }
}

static void
test_connection_reuse (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gboolean expired = FALSE;

  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GbtAnnounceResponse) resp = announce (f, &error);
      g_assert_no_error (error);
      g_assert_nonnull (resp);
    }
  /* one connect served all three announces (BEP 15: the id lasts a minute) */
  g_assert_cmpuint (f->connects, ==, 1);
  g_assert_cmpuint (f->announces, ==, 3);

  /* once it has expired, the plugin connects again */
  g_clear_object (&f->tracker);
  f->tracker = gbt_tracker_udp_new ();
  gbt_tracker_udp_set_connection_lifetime (f->tracker, 10);
  {
    g_autoptr(GbtAnnounceResponse) resp = announce (f, &error);
    g_assert_no_error (error);
    g_assert_nonnull (resp);
  }
  g_timeout_add (20, gbt_test_set_flag_cb, &expired);
  while (!expired)
    g_main_context_iteration (NULL, TRUE);
  {
    g_autoptr(GbtAnnounceResponse) resp = announce (f, &error);
    g_assert_no_error (error);
    g_assert_nonnull (resp);
  }
  g_assert_cmpuint (f->connects, ==, 3);
  g_assert_cmpuint (f->announces, ==, 5);
}

static void
test_scrape (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GbtScrapeResponse) resp = NULL;

  gbt_tracker_scrape_async (GBT_TRACKER (f->tracker), f->url, hash, NULL, store_result_cb,
                            &result);
  gbt_test_wait_until (result != NULL, 10000);
  resp = gbt_tracker_scrape_finish (GBT_TRACKER (f->tracker), result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->complete, ==, 5);
  g_assert_cmpint (resp->downloaded, ==, 9);
  g_assert_cmpint (resp->incomplete, ==, 7);
  g_assert_cmpuint (f->scrapes, ==, 1);
}

static void
check_mode (Fixture *f, Mode mode, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = mode;
  resp = announce (f, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, code);
}

static void
test_error_action (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = MODE_ERROR;
  resp = announce (f, &error);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
  g_assert_nonnull (strstr (error->message, "go away"));
  g_clear_error (&error);
  /* after an error the connection id is not trusted: a new connect */
  f->mode = MODE_NORMAL;
  g_clear_pointer (&resp, gbt_announce_response_free);
  resp = announce (f, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->connects, ==, 2);
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  check_mode (f, MODE_SHORT, GBT_TRACKER_ERROR_BAD_REPLY);
  check_mode (f, MODE_WRONG_ACTION, GBT_TRACKER_ERROR_BAD_REPLY);
  check_mode (f, MODE_RAGGED, GBT_TRACKER_ERROR_BAD_REPLY);
  check_mode (f, MODE_TINY, GBT_TRACKER_ERROR_BAD_REPLY);
}

static void
test_stray (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = MODE_STRAY_FIRST;
  resp = announce (f, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resp->peers->len, ==, 2);
}

static void
test_retransmit (Fixture *f, gconstpointer data)
{
  gint64 start = g_get_monotonic_time ();

  /* BEP 15 schedule with a 40 ms base and 2 retries: sends at 0, 40 and
   * 120 ms, gives up at 280 ms */
  check_mode (f, MODE_SILENT, GBT_TRACKER_ERROR_TIMEOUT);
  g_assert_cmpuint (f->connects, ==, 3);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 270 * 1000);
}

static void
test_overall_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceRequest) req = make_request (f->url);
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  gint64 start = g_get_monotonic_time ();

  f->mode = MODE_SILENT;
  gbt_tracker_udp_set_retransmit (f->tracker, 60 * 1000, 8);
  req->timeout_ms = 200;
  resp = announce_full (GBT_TRACKER (f->tracker), req, NULL, &error);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (f->connects, ==, 1);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceRequest) req = make_request (f->url);
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  f->mode = MODE_SILENT;
  gbt_tracker_udp_set_retransmit (f->tracker, 60 * 1000, 8);
  g_timeout_add (50, cancel_cb, cancellable);
  resp = announce_full (GBT_TRACKER (f->tracker), req, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_hostname (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = g_strdup_printf ("udp://localhost:%u", f->port);
  g_autoptr(GbtAnnounceRequest) req = make_request (url);
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  /* the bind address picks the family of the resolved address */
  req->bind_address = g_inet_address_new_from_string ("127.0.0.1");
  resp = announce_full (GBT_TRACKER (f->tracker), req, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resp->peers->len, ==, 2);
}

static void
test_bad_url (Fixture *f, gconstpointer data)
{
  const char *urls[] = { "udp://127.0.0.1/announce", "udp://:80", "udp://127.0.0.1:99999" };

  for (gsize i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtAnnounceRequest) req = make_request (urls[i]);
      g_autoptr(GbtAnnounceResponse) resp = announce_full (GBT_TRACKER (f->tracker), req, NULL,
                                                           &error);

      g_assert_null (resp);
      g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED);
    }
}

/* ---- a real opentracker ----------------------------------------------- */

typedef struct {
  GbtTestOpentracker *ot;
  char *udp_url;
  char *http_url;
  GbtTrackerUdp *tracker;
} OtFixture;

static GbtAnnounceResponse *
ot_announce (OtFixture *f, const char *peer_id, guint16 port, guint64 left,
             GbtAnnounceEvent event, GError **error)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f->udp_url);

  memcpy (req->peer_id, peer_id, 20);
  req->port = port;
  req->left = left;
  req->event = event;
  req->timeout_ms = 3000;
  return announce_full (GBT_TRACKER (f->tracker), req, NULL, error);
}

static void
ot_setup (OtFixture *f, gconstpointer data)
{
  f->ot = gbt_test_opentracker_start ("0123456789abcdef0123456789abcdef01234567");
  if (f->ot == NULL)
    return;
  f->udp_url = g_strdup_printf ("udp://127.0.0.1:%u", f->ot->port);
  f->http_url = g_strdup_printf ("http://127.0.0.1:%u/announce", f->ot->port);
  f->tracker = gbt_tracker_udp_new ();
  gbt_tracker_udp_set_retransmit (f->tracker, 100, 4);
}

static void
ot_teardown (OtFixture *f, gconstpointer data)
{
  gbt_test_opentracker_stop (f->ot);
  g_clear_object (&f->tracker);
  g_free (f->udp_url);
  g_free (f->http_url);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
has_peer (GPtrArray *peers, const char *ip, guint16 port)
{
  for (guint i = 0; i < peers->len; i++)
    {
      GInetSocketAddress *sa = peers->pdata[i];
      g_autofree char *s = g_inet_address_to_string (g_inet_socket_address_get_address (sa));

      if (g_str_equal (s, ip) && g_inet_socket_address_get_port (sa) == port)
        return TRUE;
    }
  return FALSE;
}

#define SKIP_WITHOUT_OPENTRACKER(f)                                          \
  if ((f)->ot == NULL)                                                     \
    {                                                                        \
      g_test_skip ("opentracker is not installed (scripts/install-deps)");   \
      return;                                                                \
    }

static void
test_ot_swarm (OtFixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) last = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GbtScrapeResponse) scrape = NULL;
  g_autofree char *torrent_arg = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) cli = NULL;
  const char *gbt_cli = g_getenv ("GBT_CLI");
  const char *ids[] = { "-GB0001-aaaaaaaaaaaa", "-GB0001-bbbbbbbbbbbb", "-GB0001-cccccccccccc" };
  int status;

  SKIP_WITHOUT_OPENTRACKER (f);
  /* three leechers and a seeder over UDP */
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(GbtAnnounceResponse) resp
        = ot_announce (f, ids[i], 7001 + i, 1000, GBT_ANNOUNCE_EVENT_STARTED, &error);

      g_assert_no_error (error);
      g_assert_cmpint (resp->interval, >, 0);
      if (i > 0)
        g_assert_true (has_peer (resp->peers, "127.0.0.1", 7001));
    }
  last = ot_announce (f, "-GB0001-ssssssssssss", 7010, 0, GBT_ANNOUNCE_EVENT_STARTED, &error);
  g_assert_no_error (error);
  g_assert_true (has_peer (last->peers, "127.0.0.1", 7002));
  g_assert_cmpint (last->complete, ==, 1);
  g_assert_cmpint (last->incomplete, ==, 3);

  gbt_tracker_scrape_async (GBT_TRACKER (f->tracker), f->udp_url, hash, NULL, store_result_cb,
                            &result);
  gbt_test_wait_until (result != NULL, 10000);
  scrape = gbt_tracker_scrape_finish (GBT_TRACKER (f->tracker), result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (scrape->complete, ==, 1);
  g_assert_cmpint (scrape->incomplete, ==, 3);

  /* gbt scrape over both protocols, from a magnet link */
  g_assert_nonnull (gbt_cli);
  torrent_arg = g_strdup_printf ("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"
                                 "&tr=%s&tr=%s", f->udp_url, f->http_url);
  cli = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, gbt_cli, "scrape", "--json",
                          torrent_arg, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (cli, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  status = g_subprocess_get_exit_status (cli);
  g_test_message ("gbt scrape: %s", out);
  g_assert_cmpint (status, ==, 0);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *line
        = g_strdup_printf ("{\"url\":\"%s\",\"seeders\":1,\"leechers\":3,", i ? f->http_url
                                                                               : f->udp_url);
      g_assert_nonnull (strstr (out, line));
    }
}

static void
test_ot_not_whitelisted (OtFixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceRequest) req = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  SKIP_WITHOUT_OPENTRACKER (f);
  req = make_request (f->udp_url);
  memset (req->info_hash, 0x42, 20);
  req->timeout_ms = 3000;
  resp = announce_full (GBT_TRACKER (f->tracker), req, NULL, &error);
  g_assert_null (resp);
  /* opentracker refuses an unlisted hash over UDP with a bare 8-byte
   * announce header (no error action): a short reply, and a fast failure */
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY);
}

#define ADD(path, func, data) \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)
#define ADD_OT(path, func) g_test_add (path, OtFixture, NULL, ot_setup, func, ot_teardown)

int
main (int argc, char **argv)
{
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);
  ADD ("/tracker-udp/announce", test_announce, NULL);
  ADD ("/tracker-udp/announce-ipv6", test_announce, GINT_TO_POINTER (1));
  ADD ("/tracker-udp/connection-reuse", test_connection_reuse, NULL);
  ADD ("/tracker-udp/scrape", test_scrape, NULL);
  ADD ("/tracker-udp/error-action", test_error_action, NULL);
  ADD ("/tracker-udp/malformed", test_malformed, NULL);
  ADD ("/tracker-udp/stray-packet", test_stray, NULL);
  ADD ("/tracker-udp/retransmit", test_retransmit, NULL);
  ADD ("/tracker-udp/overall-timeout", test_overall_timeout, NULL);
  ADD ("/tracker-udp/cancel", test_cancel, NULL);
  ADD ("/tracker-udp/hostname", test_hostname, NULL);
  ADD ("/tracker-udp/bad-url", test_bad_url, NULL);
  ADD_OT ("/tracker-udp/opentracker/swarm", test_ot_swarm);
  ADD_OT ("/tracker-udp/opentracker/not-whitelisted", test_ot_not_whitelisted);
  return g_test_run ();
}
