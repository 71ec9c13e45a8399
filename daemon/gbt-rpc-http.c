/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RPC's HTTP side, on libsoup's server, checked in this order (as
 * Transmission does):
 *
 *   1. the client's address against the whitelist          403
 *   2. HTTP basic auth, when --rpc-auth is given            401
 *   3. the Host header: an IP literal, localhost or a name
 *      on the host whitelist (DNS rebinding)                421
 *   4. the body: a Content-Length, at most MAX_BODY bytes   411, 413
 *   5. X-Transmission-Session-Id (CSRF)                     409 with the id
 *
 * 1 to 4 in the early handler, before the body is read.  Every answer
 * closes its connection (see request_started_cb).
 *
 * then the body is one JSON request, answered with 200 and a JSON reply
 * whatever the method's result.
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "gbt-daemon.h"

#define RPC_PATH "/transmission/rpc"
#define MAX_BODY (24 * 1024 * 1024) /* a 16 MiB .torrent in base64, and then some */
#define SESSION_HEADER "X-Transmission-Session-Id"

typedef struct {
  GbtDaemon *daemon;
  SoupServer *server;
  GSocketService *service; /* accepts; libsoup's own listener leaks each socket */
  guint16 port;
  char *user, *password;
  char **whitelist;
  char **host_whitelist;
} Http;

static gboolean
address_allowed (Http *http, const char *host)
{
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (host ? host : "");
  g_autofree char *plain = NULL;

  if (addr == NULL)
    return FALSE;
  /* an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d */
  if (g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6
      && g_str_has_prefix (host, "::ffff:") && strchr (host, '.'))
    plain = g_strdup (host + 7);
  for (char **p = http->whitelist; p && *p; p++)
    if (g_pattern_match_simple (*p, host) || (plain && g_pattern_match_simple (*p, plain)))
      return TRUE;
  return FALSE;
}

static void
request_started_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  /* one request a connection: libsoup 3.2 (Debian 12) leaks the socket of
   * every idle connection the client closes (fixed in 3.3: commit d20c6601,
   * "Don't leak idle connections closed by the client"); closing it
   * ourselves after each answer leaves nothing idle.  Front ends poll a few
   * times a second at most, and a loopback connect costs microseconds. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");
}

static void
refuse_address (SoupServerMessage *msg, const char *host)
{
  const char *body = "<h1>403: Forbidden</h1><p>Unauthorized IP Address.</p><p>Either disable "
                     "the IP address whitelist or add your address to it.</p>";

  g_message ("RPC: refused a request from %s (not on the whitelist)", host ? host : "?");
  soup_server_message_set_status (msg, SOUP_STATUS_FORBIDDEN, NULL);
  soup_server_message_set_response (msg, "text/html; charset=UTF-8", SOUP_MEMORY_STATIC, body,
                                    strlen (body));
}

/* HTTP basic auth (RFC 7617): "Authorization: Basic base64(user:password)";
 * checked here, in the early handler, with the other refusals: libsoup
 * 3.2's SoupAuthDomain leaks the socket object of each connection it
 * refuses */
static gboolean
auth_ok (Http *http, SoupMessageHeaders *h)
{
  const char *value = soup_message_headers_get_one (h, "Authorization");
  g_autofree guchar *decoded = NULL;
  g_autofree char *expected = NULL;
  gsize len, want;
  guint diff;

  if (value == NULL || g_ascii_strncasecmp (value, "Basic ", 6) != 0)
    return FALSE;
  decoded = g_base64_decode (value + 6, &len);
  expected = g_strdup_printf ("%s:%s", http->user, http->password);
  want = strlen (expected);
  /* the whole secret compared whatever its first wrong byte */
  diff = len != want;
  for (gsize i = 0; i < want; i++)
    diff |= (guint) ((i < len ? decoded[i] : 0) ^ (guchar) expected[i]);
  return diff == 0;
}

static gboolean
host_allowed (Http *http, const char *host_header)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) addr = NULL;

  if (host_header == NULL)
    return TRUE; /* HTTP/1.0 */
  if (host_header[0] == '[')
    {
      const char *end = strchr (host_header, ']');
      host = end ? g_strndup (host_header + 1, end - host_header - 1) : g_strdup (host_header);
    }
  else
    {
      const char *colon = strrchr (host_header, ':');
      host = colon ? g_strndup (host_header, colon - host_header) : g_strdup (host_header);
    }
  if ((addr = g_inet_address_new_from_string (host)))
    return TRUE;
  if (g_ascii_strcasecmp (host, "localhost") == 0 || g_ascii_strcasecmp (host, "localhost.") == 0)
    return TRUE;
  for (char **p = http->host_whitelist; p && *p; p++)
    if (g_pattern_match_simple (*p, host))
      return TRUE;
  return FALSE;
}

static void
early_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
          gpointer user_data)
{
  Http *http = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *remote = soup_server_message_get_remote_host (msg);
  goffset length;

  if (!address_allowed (http, remote))
    {
      refuse_address (msg, remote);
      return;
    }
  if (http->user && !auth_ok (http, h))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"Transmission\"");
      return;
    }
  if (!host_allowed (http, soup_message_headers_get_one (h, "Host")))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_MISDIRECTED_REQUEST,
                                      "Host not on the RPC host whitelist");
      return;
    }
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CHUNKED)
    {
      /* its chunks are read all the same: not kept (see below) */
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      soup_server_message_set_status (msg, SOUP_STATUS_LENGTH_REQUIRED, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "close");
      return;
    }
  length = soup_message_headers_get_content_length (h);
  if (length > MAX_BODY)
    {
      /* answered once the body is read, which libsoup (3.2) does whatever
       * the status: not kept, or a 64 MiB body costs 64 MiB of memory; the
       * connection then closes */
      soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
      soup_server_message_set_status (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                    "close");
    }
}

typedef struct {
  SoupServerMessage *msg;
  gboolean gone;
  gulong disconnected;
} Pending;

static void
disconnected_cb (SoupServerMessage *msg, gpointer user_data)
{
  ((Pending *) user_data)->gone = TRUE;
}

static void
pending_free (Pending *p)
{
  g_signal_handler_disconnect (p->msg, p->disconnected);
  g_object_unref (p->msg);
  g_free (p);
}

/* the reply's text is made on a worker: a torrent-get of 10,000 torrents
 * is megabytes of JSON the main loop need not wait for (the tree is ours
 * alone once handed over: json-glib counts references atomically) */
static void
generate_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  gsize len;
  char *text;

  json_generator_set_root (gen, data);
  text = json_generator_to_data (gen, &len);
  g_task_return_pointer (task, g_bytes_new_take (text, len), (GDestroyNotify) g_bytes_unref);
}

static void
generated_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pending *p = user_data;
  g_autoptr(GBytes) text = g_task_propagate_pointer (G_TASK (result), NULL);

  if (!p->gone && text)
    {
      gsize len;
      gconstpointer data = g_bytes_get_data (text, &len);
      soup_server_message_set_status (p->msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (p->msg, "application/json; charset=UTF-8",
                                        SOUP_MEMORY_COPY, data, len);
      soup_server_message_unpause (p->msg);
    }
  pending_free (p);
}

static void
reply_cb (JsonNode *response, gpointer user_data)
{
  Pending *p = user_data;
  g_autoptr(GTask) task = NULL;

  if (p->gone)
    {
      pending_free (p);
      return;
    }
  task = g_task_new (NULL, NULL, generated_cb, p);
  g_task_set_task_data (task, json_node_ref (response), (GDestroyNotify) json_node_unref);
  g_task_run_in_thread (task, generate_thread);
}

static void
rpc_cb (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  Http *http = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *sid = soup_message_headers_get_one (h, SESSION_HEADER);
  SoupMessageBody *body;
  g_autoptr(GBytes) bytes = NULL;
  Pending *p;

  soup_message_headers_replace (soup_server_message_get_response_headers (msg), SESSION_HEADER,
                                http->daemon->session_id);
  if (g_strcmp0 (sid, http->daemon->session_id) != 0)
    {
      g_autofree char *text = g_strdup_printf ("<h1>409: Conflict</h1><p>Your request had an "
                                               "invalid session-id header.</p><p><code>%s: "
                                               "%s</code></p>",
                                               SESSION_HEADER, http->daemon->session_id);
      gsize len = strlen (text);
      soup_server_message_set_status (msg, SOUP_STATUS_CONFLICT, NULL);
      soup_server_message_set_response (msg, "text/html; charset=UTF-8", SOUP_MEMORY_TAKE,
                                        g_steal_pointer (&text), len);
      return;
    }
  if (g_strcmp0 (soup_server_message_get_method (msg), SOUP_METHOD_POST) != 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "POST");
      return;
    }
  body = soup_server_message_get_request_body (msg);
  bytes = soup_message_body_flatten (body);
  p = g_new0 (Pending, 1);
  p->msg = g_object_ref (msg);
  p->disconnected = g_signal_connect (msg, "disconnected", G_CALLBACK (disconnected_cb), p);
  soup_server_message_pause (msg);
  gbt_rpc_handle_body (http->daemon, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                       reply_cb, p);
}

gboolean
gbt_rpc_parse_bind (const char *bind, char **host, guint16 *port, GError **error)
{
  const char *colon;
  guint64 v;

  if (bind[0] == '[')
    {
      const char *end = strchr (bind, ']');
      if (end == NULL || end[1] != ':')
        goto bad;
      *host = g_strndup (bind + 1, end - bind - 1);
      colon = end + 1;
    }
  else
    {
      colon = strrchr (bind, ':');
      if (colon == NULL)
        goto bad;
      *host = g_strndup (bind, colon - bind);
    }
  if (!g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &v, NULL)
      || !g_hostname_is_ip_address (*host))
    {
      g_clear_pointer (host, g_free);
      goto bad;
    }
  *port = (guint16) v;
  return TRUE;
bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "--rpc-bind: “%s” is not ADDRESS:PORT with a literal IP address "
               "(127.0.0.1:9091, [::1]:9091)",
               bind);
  return FALSE;
}

/* connections are accepted here and handed to libsoup: its own listener
 * (soup_server_listen) in 3.2 leaks the GSocket of every connection */
static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  Http *http = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  if (local == NULL || remote == NULL
      || !soup_server_accept_iostream (http->server, G_IO_STREAM (connection), local, remote,
                                       &error))
    g_debug ("RPC: dropped a connection: %s", error ? error->message : "no address");
  return TRUE;
}

static gboolean
listen_on (Http *http, GSocketAddress *addr, GError **error)
{
  g_autoptr(GSocketAddress) effective = NULL;

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (http->service), addr,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, error))
    return FALSE;
  http->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_socket_service_start (http->service);
  return TRUE;
}

gpointer
gbt_rpc_http_new (GbtDaemon *daemon, GError **error)
{
  Http *http = g_new0 (Http, 1);
  GbtDaemonOptions *o = daemon->options;
  g_autofree char *host = NULL;
  g_autoptr(GSocketAddress) addr = NULL;
  guint16 port;
  const char *default_whitelist[] = { "127.0.0.1", "::1", NULL };

  http->daemon = daemon;
  http->whitelist = g_strdupv (o->rpc_whitelist ? o->rpc_whitelist : (char **) default_whitelist);
  http->host_whitelist = g_strdupv (o->host_whitelist);
  if (!gbt_rpc_parse_bind (o->rpc_bind, &host, &port, error))
    {
      gbt_rpc_http_free (http);
      return NULL;
    }
  http->server = soup_server_new ("server-header", "gbt", NULL);
  g_signal_connect (http->server, "request-started", G_CALLBACK (request_started_cb), http);
  if (o->rpc_auth)
    {
      const char *colon = strchr (o->rpc_auth, ':');
      if (colon == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "--rpc-auth takes USER:PASSWORD");
          gbt_rpc_http_free (http);
          return NULL;
        }
      http->user = g_strndup (o->rpc_auth, colon - o->rpc_auth);
      http->password = g_strdup (colon + 1);
    }
  soup_server_add_early_handler (http->server, RPC_PATH, early_cb, http, NULL);
  soup_server_add_handler (http->server, RPC_PATH, rpc_cb, http, NULL);
  addr = g_inet_socket_address_new_from_string (host, port);
  http->service = g_socket_service_new ();
  g_signal_connect (http->service, "incoming", G_CALLBACK (incoming_cb), http);
  if (addr == NULL || !listen_on (http, addr, error))
    {
      if (addr == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad RPC address %s", host);
      else
        g_prefix_error (error, "RPC on %s: ", o->rpc_bind);
      gbt_rpc_http_free (http);
      return NULL;
    }
  return http;
}

guint16
gbt_rpc_http_get_port (gpointer data)
{
  return ((Http *) data)->port;
}

char *
gbt_rpc_http_dup_url (gpointer data)
{
  Http *http = data;
  g_autofree char *host = NULL;
  guint16 port = 0;
  gboolean v6;

  gbt_rpc_parse_bind (http->daemon->options->rpc_bind, &host, &port, NULL);
  port = gbt_rpc_http_get_port (http);
  v6 = host && strchr (host, ':');
  if (host && (g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::")))
    {
      g_free (host);
      host = g_strdup (v6 ? "::1" : "127.0.0.1");
    }
  return g_strdup_printf (v6 ? "http://[%s]:%u%s" : "http://%s:%u%s", host, port, RPC_PATH);
}

void
gbt_rpc_http_free (gpointer data)
{
  Http *http = data;

  if (http->service)
    {
      g_socket_service_stop (http->service);
      g_socket_listener_close (G_SOCKET_LISTENER (http->service));
      g_signal_handlers_disconnect_by_data (http->service, http);
      g_object_unref (http->service);
    }
  if (http->server)
    {
      soup_server_disconnect (http->server);
      g_object_unref (http->server);
    }
  g_free (http->user);
  g_free (http->password);
  g_strfreev (http->whitelist);
  g_strfreev (http->host_whitelist);
  g_free (http);
}
