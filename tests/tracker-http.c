/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP tracker plugin against an in-process SoupServer on 127.0.0.1. */
#include <string.h>

#include <libsoup/soup.h>

#include "../plugins/tracker-http/gbt-tracker-http.h"
#include "test-utils.h"

typedef enum {
  REPLY_COMPACT,
  REPLY_DICT,
  REPLY_FAILURE,
  REPLY_500,
  REPLY_HANG,
  REPLY_HUGE,
} ReplyMode;

typedef struct {
  SoupServer *server;
  GSocketService *service;
  char *base; /* http://127.0.0.1:PORT */
  ReplyMode mode;
  GPtrArray *queries; /* raw query strings received */
  GPtrArray *remotes; /* remote host of each request */
  GPtrArray *paused;  /* hanging messages */
  GbtTrackerHttp *tracker;
  GTlsCertificate *tls_cert; /* HTTPS fixture: the server's certificate */
  char *tls_dir;             /* holding cert.pem and key.pem */
} Fixture;

/* Test data with bytes that must be escaped and some that must not. */
static const guint8 test_hash[20] = { 0x00, 0xff, ' ', '~', '%', '&', '=', '+', 'a', 'Z',
                                      '0', '-', '.', '_', 0x80, 0x7f, '/', '?', '#', 0x01 };
static const guint8 test_peer_id[20] = "-GB0001-abcdefghijkl";

static void
server_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
           gpointer user_data)
{
  Fixture *f = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  const char *q = g_uri_get_query (uri);

  g_ptr_array_add (f->queries, g_strdup (q ? q : ""));
  g_ptr_array_add (f->remotes, g_strdup (soup_server_message_get_remote_host (msg)));

  if (g_str_has_prefix (path, "/scrape"))
    {
      GString *body = g_string_new ("d5:filesd20:");
      g_string_append_len (body, (const char *) test_hash, 20);
      g_string_append (body, "d8:completei3e10:downloadedi5e10:incompletei7eeee");
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, body->str,
                                        body->len);
      g_string_free (body, TRUE);
      return;
    }

  switch (f->mode)
    {
    case REPLY_COMPACT:
      {
        static const char reply[] = "d8:intervali900e12:min intervali30e8:completei2e"
                                    "10:incompletei1e10:tracker id4:t-id"
                                    "5:peers12:\x7f\x00\x00\x05\x1a\xe1\x7f\x00\x00\x06\x1a\xe2"
                                    "e";
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, reply,
                                          sizeof reply - 1);
      }
      break;
    case REPLY_DICT:
      {
        static const char reply[] = "d8:intervali60e5:peersld2:ip3:::14:porti7000eeee";
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, reply,
                                          sizeof reply - 1);
      }
      break;
    case REPLY_FAILURE:
      {
        static const char reply[] = "d14:failure reason9:forbiddene";
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, reply,
                                          sizeof reply - 1);
      }
      break;
    case REPLY_500:
      soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
      break;
    case REPLY_HANG:
      soup_server_message_pause (msg);
      g_ptr_array_add (f->paused, g_object_ref (msg));
      break;
    case REPLY_HUGE:
      {
        gsize len = 5 * 1024 * 1024;
        char *body = g_malloc (len);
        memset (body, 'x', len);
        soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
        soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_TAKE, body, len);
      }
      break;
    }
}

/* Connections are accepted here and handed to the server, rather than with
 * soup_server_listen(): libsoup 3.2's own listener leaks each accepted
 * GSocket, which LeakSanitizer would (rightly) report. */
static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  Fixture *f = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  g_autoptr(GIOStream) tls = NULL;

  if (local == NULL || remote == NULL)
    return TRUE;
  if (f->tls_cert != NULL)
    {
      /* HTTPS: the handshake happens on the first read */
      tls = g_tls_server_connection_new (G_IO_STREAM (connection), f->tls_cert, &error);
      if (tls == NULL)
        {
          g_test_message ("TLS: %s", error->message);
          return TRUE;
        }
    }
  if (!soup_server_accept_iostream (f->server, tls ? tls : G_IO_STREAM (connection), local, remote,
                                    &error))
    g_test_message ("accept: %s", error->message);
  return TRUE;
}

/* A self-signed certificate for 127.0.0.1 (openssl, as a test tool; the
 * case skips without it). */
static void
make_certificate (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  int status = 0;

  if (openssl == NULL)
    return;
  f->tls_dir = gbt_test_mkdtemp ();
  cert = g_build_filename (f->tls_dir, "cert.pem", NULL);
  key = g_build_filename (f->tls_dir, "key.pem", NULL);
  {
    const char *argv[] = { openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                           "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                           "subjectAltName=IP:127.0.0.1", NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error);
  }
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  f->tls_cert = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  f->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (f->server, NULL, server_cb, f, NULL);
  f->service = g_socket_service_new ();
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (f->service), addr,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &bound, &error));
  g_assert_no_error (error);
  g_signal_connect (f->service, "incoming", G_CALLBACK (incoming_cb), f);
  g_socket_service_start (f->service);
  f->base = g_strdup_printf ("%s://127.0.0.1:%u", data ? "https" : "http",
                             g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  if (data != NULL)
    make_certificate (f);
  f->queries = g_ptr_array_new_with_free_func (g_free);
  f->remotes = g_ptr_array_new_with_free_func (g_free);
  f->paused = g_ptr_array_new_with_free_func (g_object_unref);
  f->tracker = gbt_tracker_http_new ();
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < f->paused->len; i++)
    {
      soup_server_message_set_status (f->paused->pdata[i], SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      soup_server_message_unpause (f->paused->pdata[i]);
    }
  g_clear_object (&f->tracker);
  /* let both ends see their keep-alive connections close before the
   * server goes, or its connection objects are left behind */
  {
    gboolean expired = FALSE;
    g_timeout_add (200, gbt_test_set_flag_cb, &expired);

    while (!expired)
      g_main_context_iteration (NULL, TRUE);
  }
  g_socket_service_stop (f->service);
  g_socket_listener_close (G_SOCKET_LISTENER (f->service));
  g_clear_object (&f->service);
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  g_ptr_array_unref (f->paused);
  g_ptr_array_unref (f->queries);
  g_ptr_array_unref (f->remotes);
  g_free (f->base);
  g_clear_object (&f->tls_cert);
  if (f->tls_dir)
    gbt_test_rmtree (f->tls_dir);
  g_free (f->tls_dir);
  /* let libsoup drop its idle connections */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GbtAnnounceRequest *
make_request (Fixture *f, const char *path)
{
  GbtAnnounceRequest *req = gbt_announce_request_new ();

  req->url = g_strconcat (f->base, path, NULL);
  memcpy (req->info_hash, test_hash, 20);
  memcpy (req->peer_id, test_peer_id, 20);
  req->port = 6881;
  req->uploaded = 1;
  req->downloaded = 2;
  req->left = 12345678901ULL;
  req->numwant = 50;
  req->key = 0xDEADBEEF;
  return req;
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GbtAnnounceResponse *
announce (Fixture *f, const GbtAnnounceRequest *req, GCancellable *cancellable, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  gbt_tracker_announce_async (GBT_TRACKER (f->tracker), req, cancellable, store_result_cb,
                              &result);
  gbt_test_wait_until (result != NULL, 10000);
  return gbt_tracker_announce_finish (GBT_TRACKER (f->tracker), result, error);
}

/* Decodes the raw (still percent-encoded) value of @key in @query. */
static GBytes *
query_get (const char *query, const char *key)
{
  g_auto (GStrv) parts = g_strsplit (query, "&", -1);

  for (guint i = 0; parts[i]; i++)
    {
      const char *eq = strchr (parts[i], '=');
      if (eq && (gsize) (eq - parts[i]) == strlen (key) && strncmp (parts[i], key, eq - parts[i]) == 0)
        return g_uri_unescape_bytes (eq + 1, -1, NULL, NULL);
    }
  return NULL;
}

static char *
query_get_str (const char *query, const char *key)
{
  g_autoptr(GBytes) b = query_get (query, key);
  if (b == NULL)
    return NULL;
  return g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static void
test_url (void)
{
  g_autoptr(GbtAnnounceRequest) req = gbt_announce_request_new ();
  g_autofree char *url = NULL;
  g_autofree char *url2 = NULL;

  req->url = g_strdup ("http://t.example/announce.php?passkey=abc#frag");
  memcpy (req->info_hash, test_hash, 20);
  memcpy (req->peer_id, test_peer_id, 20);
  req->port = 1;
  req->key = 0x0a0b0c0d;
  url = gbt_tracker_http_build_announce_url (req);
  g_assert_cmpstr (url, ==,
                   "http://t.example/announce.php?passkey=abc&info_hash="
                   "%00%FF%20~%25%26%3D%2Ba"
                   "Z0-._%80%7F%2F%3F%23%01&peer_id=-GB0001-abcdefghijkl&port=1&uploaded=0"
                   "&downloaded=0&left=0&compact=1&key=0A0B0C0D");

  g_free (req->url);
  req->url = g_strdup ("http://t.example/a");
  req->event = GBT_ANNOUNCE_EVENT_STOPPED;
  req->numwant = 0;
  req->tracker_id = g_strdup ("x y");
  url2 = gbt_tracker_http_build_announce_url (req);
  g_assert_true (g_str_has_prefix (url2, "http://t.example/a?info_hash="));
  g_assert_true (g_str_has_suffix (url2, "&numwant=0&key=0A0B0C0D&event=stopped&trackerid=x%20y"));
}

static void
test_scrape_url (void)
{
  struct {
    const char *in, *out;
  } cases[] = {
    { "http://t.example/announce", "http://t.example/scrape?info_hash=" },
    { "http://t.example/x/announce.php", "http://t.example/x/scrape.php?info_hash=" },
    { "http://t.example/announce?k=1", "http://t.example/scrape?k=1&info_hash=" },
    { "http://t.example/a", NULL },
    { "http://t.example/announce/x", NULL },
    { "http://t.example/x%064announce", NULL },
    { "http://t.example", NULL },
  };
  static const guint8 zero[20] = { 0 };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *url = gbt_tracker_http_build_scrape_url (cases[i].in, zero, &error);

      if (cases[i].out == NULL)
        {
          g_assert_null (url);
          g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_UNSUPPORTED);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_true (g_str_has_prefix (url, cases[i].out));
        }
    }
}

static void
test_announce_compact (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  const GbtAnnounceEvent events[] = { GBT_ANNOUNCE_EVENT_STARTED, GBT_ANNOUNCE_EVENT_NONE,
                                      GBT_ANNOUNCE_EVENT_COMPLETED, GBT_ANNOUNCE_EVENT_STOPPED };
  const char *expected[] = { "started", NULL, "completed", "stopped" };

  f->mode = REPLY_COMPACT;
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtAnnounceResponse) resp = NULL;
      g_autofree char *event = NULL;

      req->event = events[i];
      resp = announce (f, req, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (resp->interval, ==, 900);
      g_assert_cmpint (resp->min_interval, ==, 30);
      g_assert_cmpint (resp->complete, ==, 2);
      g_assert_cmpint (resp->incomplete, ==, 1);
      g_assert_cmpstr (resp->tracker_id, ==, "t-id");
      g_assert_cmpuint (resp->peers->len, ==, 2);
      g_assert_cmpuint (g_inet_socket_address_get_port (resp->peers->pdata[1]), ==, 6882);
      g_assert_cmpuint (f->queries->len, ==, i + 1);
      event = query_get_str (f->queries->pdata[i], "event");
      g_assert_cmpstr (event, ==, expected[i]);
    }

  {
    const char *q = f->queries->pdata[0];
    g_autoptr(GBytes) hash = query_get (q, "info_hash");
    g_autoptr(GBytes) peer_id = query_get (q, "peer_id");
    g_autofree char *port = query_get_str (q, "port");
    g_autofree char *left = query_get_str (q, "left");
    g_autofree char *compact = query_get_str (q, "compact");
    g_autofree char *numwant = query_get_str (q, "numwant");
    g_autofree char *key = query_get_str (q, "key");
    g_autofree char *uploaded = query_get_str (q, "uploaded");
    g_autofree char *downloaded = query_get_str (q, "downloaded");

    g_assert_nonnull (hash);
    g_assert_cmpmem (g_bytes_get_data (hash, NULL), g_bytes_get_size (hash), test_hash, 20);
    g_assert_cmpmem (g_bytes_get_data (peer_id, NULL), g_bytes_get_size (peer_id), test_peer_id,
                     20);
    g_assert_cmpstr (port, ==, "6881");
    g_assert_cmpstr (left, ==, "12345678901");
    g_assert_cmpstr (uploaded, ==, "1");
    g_assert_cmpstr (downloaded, ==, "2");
    g_assert_cmpstr (compact, ==, "1");
    g_assert_cmpstr (numwant, ==, "50");
    g_assert_cmpstr (key, ==, "DEADBEEF");
  }
}

static void
test_announce_dict (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce?passkey=p");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autofree char *passkey = NULL;
  g_autofree char *trackerid = NULL;
  g_autofree char *ip = NULL;

  f->mode = REPLY_DICT;
  req->tracker_id = g_strdup ("tid 1");
  resp = announce (f, req, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resp->peers->len, ==, 1);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (resp->peers->pdata[0]));
  g_assert_cmpstr (ip, ==, "::1");
  passkey = query_get_str (f->queries->pdata[0], "passkey");
  g_assert_cmpstr (passkey, ==, "p");
  trackerid = query_get_str (f->queries->pdata[0], "trackerid");
  g_assert_cmpstr (trackerid, ==, "tid 1");
}

static void
test_announce_failure (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = REPLY_FAILURE;
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILURE_REASON);
  g_assert_nonnull (strstr (error->message, "forbidden"));
}

static void
test_announce_500 (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = REPLY_500;
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "500"));
}

static void
test_announce_huge (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = REPLY_HUGE;
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY);
}

static void
test_announce_timeout (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  gint64 start = g_get_monotonic_time ();

  f->mode = REPLY_HANG;
  req->timeout_ms = 300;
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpuint (f->paused->len, ==, 1);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_announce_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  f->mode = REPLY_HANG;
  g_timeout_add (100, cancel_cb, cancellable);
  resp = announce (f, req, cancellable, &error);
  g_assert_null (resp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* already cancelled: fails without a request */
  g_clear_error (&error);
  resp = announce (f, req, cancellable, &error);
  g_assert_null (resp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_announce_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  /* nothing listens on port 1 */
  g_free (req->url);
  req->url = g_strdup ("http://127.0.0.1:1/announce");
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

static void
test_bind_address (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;

  f->mode = REPLY_COMPACT;
  req->bind_address = g_inet_address_new_from_string ("127.0.0.2");
  resp = announce (f, req, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (f->remotes->pdata[0], ==, "127.0.0.2");
}

static void
test_scrape (Fixture *f, gconstpointer data)
{
  g_autofree char *url = g_strconcat (f->base, "/announce", NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtScrapeResponse) resp = NULL;
  g_autoptr(GBytes) hash = NULL;

  gbt_tracker_scrape_async (GBT_TRACKER (f->tracker), url, test_hash, NULL, store_result_cb,
                            &result);
  gbt_test_wait_until (result != NULL, 10000);
  resp = gbt_tracker_scrape_finish (GBT_TRACKER (f->tracker), result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (resp->complete, ==, 3);
  g_assert_cmpint (resp->downloaded, ==, 5);
  g_assert_cmpint (resp->incomplete, ==, 7);
  hash = query_get (f->queries->pdata[0], "info_hash");
  g_assert_cmpmem (g_bytes_get_data (hash, NULL), g_bytes_get_size (hash), test_hash, 20);
}

static void
test_scrape_unsupported (Fixture *f, gconstpointer data)
{
  g_autofree char *url = g_strconcat (f->base, "/tracker", NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtScrapeResponse) resp = NULL;

  gbt_tracker_scrape_async (GBT_TRACKER (f->tracker), url, test_hash, NULL, store_result_cb,
                            &result);
  gbt_test_wait_until (result != NULL, 10000);
  resp = gbt_tracker_scrape_finish (GBT_TRACKER (f->tracker), result, &error);
  g_assert_null (resp);
  g_assert_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_UNSUPPORTED);
  g_assert_cmpuint (f->queries->len, ==, 0);
}

/* HTTPS: trusted through the plugin's TLS database, the announce works; the
 * same server with the system's trust store is refused, naming the
 * certificate. */
static void
test_https (Fixture *f, gconstpointer data)
{
  g_autoptr(GbtAnnounceRequest) req = make_request (f, "/announce");
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GTlsDatabase) db = NULL;
  g_autofree char *cert = NULL;

  if (f->tls_cert == NULL)
    {
      g_test_skip ("openssl is not installed");
      return;
    }
  f->mode = REPLY_COMPACT;
  req->timeout_ms = 5000;
  resp = announce (f, req, NULL, &error);
  g_assert_null (resp);
  g_assert_error (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE);
  g_test_message ("untrusted: %s", error->message);
  g_assert_nonnull (strstr (error->message, "certificate"));
  g_assert_cmpuint (f->queries->len, ==, 0);
  g_clear_error (&error);

  cert = g_build_filename (f->tls_dir, "cert.pem", NULL);
  db = g_tls_file_database_new (cert, &error);
  g_assert_no_error (error);
  gbt_tracker_http_set_tls_database (f->tracker, db);
  resp = announce (f, req, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (resp->peers->len, ==, 2);
  g_assert_cmpuint (f->queries->len, ==, 1);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  /* loopback only: never through a proxy from the environment */
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("all_proxy");
  g_setenv ("no_proxy", "*", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tracker-http/url/announce", test_url);
  g_test_add_func ("/tracker-http/url/scrape", test_scrape_url);
  ADD ("/tracker-http/announce/compact-events", test_announce_compact);
  ADD ("/tracker-http/announce/dict", test_announce_dict);
  ADD ("/tracker-http/announce/failure-reason", test_announce_failure);
  ADD ("/tracker-http/announce/http-500", test_announce_500);
  ADD ("/tracker-http/announce/too-large", test_announce_huge);
  ADD ("/tracker-http/announce/timeout", test_announce_timeout);
  ADD ("/tracker-http/announce/cancel", test_announce_cancel);
  ADD ("/tracker-http/announce/refused", test_announce_refused);
  ADD ("/tracker-http/announce/bind-address", test_bind_address);
  ADD ("/tracker-http/scrape/ok", test_scrape);
  ADD ("/tracker-http/scrape/unsupported", test_scrape_unsupported);
  g_test_add ("/tracker-http/announce/https", Fixture, "https", fixture_setup, test_https,
              fixture_teardown);
  return g_test_run ();
}
