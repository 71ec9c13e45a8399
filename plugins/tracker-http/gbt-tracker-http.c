/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * HTTP(S) tracker (BEP 3 announce, BEP 23 compact peers, BEP 7 IPv6, BEP 48
 * scrape) over libsoup 3.  This file only carries requests: scheduling lives
 * in the core's tracker manager, and the reply is parsed by the core's pure
 * gbt_announce_response_parse_bencoded().
 */
#include <string.h>

#include <libsoup/soup.h>

#include "gbt-tracker-http.h"

#define DEFAULT_TIMEOUT_MS (30 * 1000)
/* A real reply is a few KiB (200 compact peers are 1.2 KiB): anything far
 * beyond is a broken or hostile server, not worth the memory. */
#define MAX_BODY_SIZE (4 * 1024 * 1024)
#define READ_CHUNK (64 * 1024)

struct _GbtTrackerHttp {
  GObject parent_instance;
  /* SoupSession's local address is construct-only: one session per bind
   * address (key: address string, "" for none), each with its pool. */
  GHashTable *sessions;
  GTlsDatabase *tls_database; /* NULL: the system's trust store */
};

static void gbt_tracker_http_iface_init (GbtTrackerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtTrackerHttp, gbt_tracker_http, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER,
                                                      gbt_tracker_http_iface_init))

/* BEP 3: binary values are URL-encoded byte by byte; RFC 3986 unreserved
 * characters may stay as they are (and most trackers expect them to). */
static void
append_escaped_bytes (GString *out, const guint8 *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = data[i];

      if (g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_' || c == '~')
        g_string_append_c (out, (char) c);
      else
        g_string_append_printf (out, "%%%02X", c);
    }
}

static const char *
event_name (GbtAnnounceEvent event)
{
  switch (event)
    {
    case GBT_ANNOUNCE_EVENT_STARTED:
      return "started";
    case GBT_ANNOUNCE_EVENT_COMPLETED:
      return "completed";
    case GBT_ANNOUNCE_EVENT_STOPPED:
      return "stopped";
    case GBT_ANNOUNCE_EVENT_NONE:
    default:
      return NULL;
    }
}

/* The URL without its fragment (which is never sent), ready for a query
 * parameter to be appended after '?' or '&'. */
static GString *
url_for_query (const char *url)
{
  const char *hash = strchr (url, '#');
  GString *out = g_string_new_len (url, hash ? hash - url : (gssize) strlen (url));

  if (strchr (out->str, '?') == NULL)
    g_string_append_c (out, '?');
  else if (out->str[out->len - 1] != '?' && out->str[out->len - 1] != '&')
    g_string_append_c (out, '&');
  return out;
}

char *
gbt_tracker_http_build_announce_url (const GbtAnnounceRequest *request)
{
  GString *out;
  const char *event;

  g_return_val_if_fail (request != NULL && request->url != NULL, NULL);

  out = url_for_query (request->url);
  g_string_append (out, "info_hash=");
  append_escaped_bytes (out, request->info_hash, 20);
  g_string_append (out, "&peer_id=");
  append_escaped_bytes (out, request->peer_id, 20);
  g_string_append_printf (out, "&port=%u&uploaded=%" G_GUINT64_FORMAT "&downloaded=%"
                          G_GUINT64_FORMAT "&left=%" G_GUINT64_FORMAT "&compact=1",
                          request->port, request->uploaded, request->downloaded,
                          request->left);
  if (request->numwant >= 0)
    g_string_append_printf (out, "&numwant=%d", request->numwant);
  /* The key lets a tracker recognise us when our address changes. */
  g_string_append_printf (out, "&key=%08X", request->key);
  event = event_name (request->event);
  if (event != NULL)
    g_string_append_printf (out, "&event=%s", event);
  if (request->tracker_id != NULL)
    {
      g_string_append (out, "&trackerid=");
      append_escaped_bytes (out, (const guint8 *) request->tracker_id,
                            strlen (request->tracker_id));
    }
  return g_string_free (out, FALSE);
}

char *
gbt_tracker_http_build_scrape_url (const char *announce_url, const guint8 info_hash[20],
                                   GError **error)
{
  gsize path_end = strcspn (announce_url, "?#");
  const char *slash = NULL;
  g_autoptr(GString) out = NULL;

  for (gsize i = 0; i < path_end; i++)
    if (announce_url[i] == '/')
      slash = announce_url + i;

  /* BEP 48: only when the last path component starts with "announce" is
   * there a scrape convention: that word becomes "scrape". */
  if (slash == NULL || strncmp (slash + 1, "announce", strlen ("announce")) != 0
      || slash + 1 + strlen ("announce") > announce_url + path_end)
    {
      g_set_error (error, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_UNSUPPORTED,
                   "tracker %s has no scrape URL (its path does not end in /announce)",
                   announce_url);
      return NULL;
    }

  out = g_string_new_len (announce_url, slash + 1 - announce_url);
  g_string_append (out, "scrape");
  g_string_append_len (out, slash + 1 + strlen ("announce"),
                       announce_url + path_end - (slash + 1 + strlen ("announce")));
  /* keep the tracker's own query (some carry a passkey there) */
  if (announce_url[path_end] == '?')
    {
      gsize query_len = strcspn (announce_url + path_end, "#");
      g_string_append_len (out, announce_url + path_end, query_len);
    }
  {
    g_autoptr(GString) with_query = url_for_query (out->str);

    g_string_append (with_query, "info_hash=");
    append_escaped_bytes (with_query, info_hash, 20);
    return g_string_free (g_steal_pointer (&with_query), FALSE);
  }
}

static SoupSession *
get_session (GbtTrackerHttp *self, GInetAddress *bind_address)
{
  g_autofree char *key = bind_address ? g_inet_address_to_string (bind_address) : g_strdup ("");
  SoupSession *session = g_hash_table_lookup (self->sessions, key);

  if (session == NULL)
    {
      g_autoptr(GInetSocketAddress) local = NULL;

      if (bind_address != NULL)
        local = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (bind_address, 0));
      /* Timeouts are per request (below), so the session has none. */
      session = g_object_new (SOUP_TYPE_SESSION, "user-agent", "gbt/0.1",
                              "local-address", local, "timeout", 0, NULL);
      if (self->tls_database != NULL)
        soup_session_set_tls_database (session, self->tls_database);
      g_hash_table_insert (self->sessions, g_steal_pointer (&key), session);
    }
  return session;
}

typedef enum {
  REQUEST_ANNOUNCE,
  REQUEST_SCRAPE,
} RequestKind;

typedef struct {
  RequestKind kind;
  guint8 info_hash[20];
  char *url; /* for messages: what the user configured, without our query */
  SoupMessage *message;
  GCancellable *op_cancellable; /* cancelled by the caller or the timeout */
  GCancellable *caller_cancellable;
  gulong cancelled_id;
  GSource *timeout_source;
  gboolean timed_out;
  guint timeout_ms;
  GInputStream *body_stream;
  GByteArray *body;
} RequestData;

static void
request_data_free (RequestData *data)
{
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->caller_cancellable, data->cancelled_id);
  g_clear_object (&data->caller_cancellable);
  if (data->timeout_source != NULL)
    {
      g_source_destroy (data->timeout_source);
      g_source_unref (data->timeout_source);
    }
  g_clear_object (&data->op_cancellable);
  g_clear_object (&data->message);
  g_clear_object (&data->body_stream);
  g_clear_pointer (&data->body, g_byte_array_unref);
  g_free (data->url);
  g_free (data);
}

static void
caller_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  GCancellable *op_cancellable = user_data;

  g_cancellable_cancel (op_cancellable);
}

static gboolean
timeout_cb (gpointer user_data)
{
  RequestData *data = user_data;

  data->timed_out = TRUE;
  g_cancellable_cancel (data->op_cancellable);
  return G_SOURCE_REMOVE;
}

static void
return_error (GTask *task, GError *error)
{
  RequestData *data = g_task_get_task_data (task);

  /* The operation was cancelled by our own timer, not by the caller. */
  if (data->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_error_free (error);
      g_task_return_new_error (task, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT,
                               "tracker %s did not answer within %u s", data->url,
                               (data->timeout_ms + 999) / 1000);
      return;
    }
  if (error->domain != GBT_TRACKER_ERROR)
    g_prefix_error (&error, "tracker %s: ", data->url);
  g_task_return_error (task, error);
}

static void
body_complete (GTask *task)
{
  RequestData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (data->kind == REQUEST_ANNOUNCE)
    {
      GbtAnnounceResponse *response
        = gbt_announce_response_parse_bencoded (data->body->data, data->body->len, &error);

      if (response == NULL)
        return_error (task, error);
      else
        g_task_return_pointer (task, response, (GDestroyNotify) gbt_announce_response_free);
    }
  else
    {
      GbtScrapeResponse *response
        = gbt_scrape_response_parse_bencoded (data->body->data, data->body->len,
                                              data->info_hash, &error);

      if (response == NULL)
        return_error (task, error);
      else
        g_task_return_pointer (task, response, (GDestroyNotify) gbt_scrape_response_free);
    }
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  RequestData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) chunk = NULL;
  GError *error = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (chunk == NULL)
    {
      return_error (task, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      body_complete (task);
      return;
    }
  if (data->body->len + g_bytes_get_size (chunk) > MAX_BODY_SIZE)
    {
      g_task_return_new_error (task, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                               "tracker %s sent a reply larger than %d MiB", data->url,
                               MAX_BODY_SIZE / (1024 * 1024));
      return;
    }
  g_byte_array_append (data->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  g_input_stream_read_bytes_async (data->body_stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   data->op_cancellable, read_cb, g_steal_pointer (&task));
}

static void
send_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  RequestData *data = g_task_get_task_data (task);
  GError *error = NULL;
  guint status;

  data->body_stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (data->body_stream == NULL)
    {
      return_error (task, error);
      return;
    }
  status = soup_message_get_status (data->message);
  if (status != SOUP_STATUS_OK)
    {
      const char *phrase = soup_message_get_reason_phrase (data->message);

      g_task_return_new_error (task, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED,
                               "tracker %s answered HTTP %u %s", data->url, status,
                               phrase ? phrase : "");
      return;
    }
  data->body = g_byte_array_new ();
  g_input_stream_read_bytes_async (data->body_stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   data->op_cancellable, read_cb, g_steal_pointer (&task));
}

static void
start_request (GbtTrackerHttp *self, GTask *task, RequestData *data, const char *full_url,
               GInetAddress *bind_address, guint timeout_ms, GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = g_uri_parse (full_url, SOUP_HTTP_URI_FLAGS, &error);

  g_task_set_task_data (task, data, (GDestroyNotify) request_data_free);
  if (uri == NULL)
    {
      g_task_return_new_error (task, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED,
                               "invalid tracker URL %s: %s", data->url, error->message);
      return;
    }
  data->message = soup_message_new_from_uri (SOUP_METHOD_GET, uri);
  data->op_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      data->caller_cancellable = g_object_ref (cancellable);
      /* runs at once if already cancelled */
      data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                  g_object_ref (data->op_cancellable),
                                                  g_object_unref);
    }
  data->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
  data->timeout_source = g_timeout_source_new (data->timeout_ms);
  g_source_set_callback (data->timeout_source, timeout_cb, data, NULL);
  g_source_attach (data->timeout_source, g_task_get_context (task));

  soup_session_send_async (get_session (self, bind_address), data->message, G_PRIORITY_DEFAULT,
                           data->op_cancellable, send_cb, g_object_ref (task));
}

static void
gbt_tracker_http_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  GbtTrackerHttp *self = GBT_TRACKER_HTTP (tracker);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *full_url = gbt_tracker_http_build_announce_url (request);
  RequestData *data = g_new0 (RequestData, 1);

  g_task_set_source_tag (task, gbt_tracker_http_announce_async);
  data->kind = REQUEST_ANNOUNCE;
  data->url = g_strdup (request->url);
  memcpy (data->info_hash, request->info_hash, 20);
  start_request (self, task, data, full_url, request->bind_address, request->timeout_ms,
                 cancellable);
}

static GbtAnnounceResponse *
gbt_tracker_http_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, tracker), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
gbt_tracker_http_scrape_async (GbtTracker *tracker, const char *announce_url,
                               const guint8 info_hash[20], GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  GbtTrackerHttp *self = GBT_TRACKER_HTTP (tracker);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *full_url = NULL;
  GError *error = NULL;
  RequestData *data;

  g_task_set_source_tag (task, gbt_tracker_http_scrape_async);
  full_url = gbt_tracker_http_build_scrape_url (announce_url, info_hash, &error);
  if (full_url == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  data = g_new0 (RequestData, 1);
  data->kind = REQUEST_SCRAPE;
  data->url = g_strdup (announce_url);
  memcpy (data->info_hash, info_hash, 20);
  start_request (self, task, data, full_url, NULL, 0, cancellable);
}

static GbtScrapeResponse *
gbt_tracker_http_scrape_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, tracker), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
gbt_tracker_http_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = gbt_tracker_http_announce_async;
  iface->announce_finish = gbt_tracker_http_announce_finish;
  iface->scrape_async = gbt_tracker_http_scrape_async;
  iface->scrape_finish = gbt_tracker_http_scrape_finish;
}

static void
gbt_tracker_http_finalize (GObject *object)
{
  GbtTrackerHttp *self = GBT_TRACKER_HTTP (object);

  g_hash_table_unref (self->sessions);
  g_clear_object (&self->tls_database);
  G_OBJECT_CLASS (gbt_tracker_http_parent_class)->finalize (object);
}

static void
gbt_tracker_http_class_init (GbtTrackerHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_tracker_http_finalize;
}

static void
gbt_tracker_http_init (GbtTrackerHttp *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

void
gbt_tracker_http_set_tls_database (GbtTrackerHttp *self, GTlsDatabase *database)
{
  g_return_if_fail (GBT_IS_TRACKER_HTTP (self));
  g_set_object (&self->tls_database, database);
  /* sessions made before keep the old one: start afresh */
  g_hash_table_remove_all (self->sessions);
}

GbtTrackerHttp *
gbt_tracker_http_new (void)
{
  return g_object_new (GBT_TYPE_TRACKER_HTTP, NULL);
}
