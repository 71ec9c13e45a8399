/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UDP tracker (BEP 15 announce and scrape).  This file only carries
 * requests: the tracker manager in the core decides when and where to
 * announce, and gbt-udp-tracker-packet.c builds and checks the packets.
 *
 * One non-blocking socket per (address family, bind address), read from a
 * GSource on the main context of the plugin's creation; replies are matched
 * to requests by transaction id, and by the address they came from.  A
 * packet for no request of ours is stray and ignored; a malformed reply to
 * one of ours fails that request with the reason.
 *
 * Retransmission (BEP 15): after the nth send, wait 15 × 2^n s (n up to 8)
 * before sending again; request->timeout_ms (or 60 s when 0) bounds the
 * whole request, so a silent tracker never holds a round for an hour.  The
 * environment variable GBT_UDP_TRACKER_TIMEOUT_MS, read when the plugin is
 * created, replaces the 15 s base (tests use a few tens of ms).
 *
 * Connection ids are cached per (bind address, tracker address) for one
 * minute, as BEP 15 allows, and dropped when the tracker reports an error
 * or stops answering.
 */
#include <string.h>

#include "gbt-tracker-udp.h"
#include "gbt-udp-tracker-packet.h"

#define DEFAULT_RETRANSMIT_BASE_MS (15 * 1000)
#define DEFAULT_MAX_RETRIES 8
#define DEFAULT_TIMEOUT_MS (60 * 1000)
#define CONNECTION_LIFETIME_MS (60 * 1000)
/* the largest UDP payload, plus one to tell "exactly full" from "more" */
#define RECV_BUFFER_SIZE 65536

typedef struct _UdpSocket UdpSocket;

struct _GbtTrackerUdp {
  GObject parent_instance;
  GMainContext *context;
  GHashTable *sockets; /* "family|bind address" -> UdpSocket */
  GHashTable *connections; /* "bind address|tracker address" -> Connection */
  guint retransmit_base_ms;
  guint max_retries;
  guint connection_lifetime_ms;
};

typedef struct {
  guint64 id;
  gint64 expires_us; /* monotonic */
} Connection;

struct _UdpSocket {
  GSocket *socket;
  GSource *source;
  GHashTable *pending; /* transaction id -> Op */
  guint8 *buffer;
};

typedef enum {
  OP_ANNOUNCE,
  OP_SCRAPE,
} OpKind;

typedef struct {
  GbtTrackerUdp *self; /* the task holds a reference */
  GTask *task;
  OpKind kind;
  GbtAnnounceRequest *request; /* announce only */
  guint8 info_hash[20];
  char *url;
  char *host;
  guint16 port;
  GInetAddress *bind_address;
  GInetSocketAddress *address;
  gboolean ipv6;
  UdpSocket *sock;
  char *conn_key;
  guint32 tid;
  gboolean registered; /* in sock->pending under tid */
  gboolean connecting;
  guint64 connection_id;
  guint sends; /* packets of the current step sent */
  guint timeout_ms;
  GSource *retransmit_timer;
  GSource *deadline_timer;
  GSource *cancel_source;
  GCancellable *internal; /* cancels the resolver on completion */
  gboolean done;
} Op;

static void gbt_tracker_udp_iface_init (GbtTrackerInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtTrackerUdp, gbt_tracker_udp, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_TRACKER,
                                                      gbt_tracker_udp_iface_init))

static void op_send (Op *op);

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
op_free (Op *op)
{
  g_clear_pointer (&op->request, gbt_announce_request_free);
  g_free (op->url);
  g_free (op->host);
  g_clear_object (&op->bind_address);
  g_clear_object (&op->address);
  g_free (op->conn_key);
  destroy_source (&op->retransmit_timer);
  destroy_source (&op->deadline_timer);
  destroy_source (&op->cancel_source);
  g_clear_object (&op->internal);
  g_free (op);
}

static void
op_unregister (Op *op)
{
  if (op->registered)
    {
      g_hash_table_remove (op->sock->pending, GUINT_TO_POINTER (op->tid));
      op->registered = FALSE;
    }
}

/* Completes @op once: @result (announce or scrape response) or @error. */
static void
op_finish (Op *op, gpointer result, GError *error)
{
  GTask *task = op->task;

  g_assert (!op->done);
  op->done = TRUE;
  op_unregister (op);
  destroy_source (&op->retransmit_timer);
  destroy_source (&op->deadline_timer);
  destroy_source (&op->cancel_source);
  g_cancellable_cancel (op->internal);

  if (error != NULL)
    {
      /* a tracker that refuses or goes silent may have forgotten us */
      if (op->conn_key != NULL
          && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_hash_table_remove (op->self->connections, op->conn_key);
      if (error->domain != GBT_TRACKER_ERROR
          || (error->code != GBT_TRACKER_ERROR_FAILURE_REASON
              && strstr (error->message, op->url) == NULL))
        g_prefix_error (&error, "tracker %s: ", op->url);
      g_task_return_error (task, error);
    }
  else if (op->kind == OP_ANNOUNCE)
    g_task_return_pointer (task, result, (GDestroyNotify) gbt_announce_response_free);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) gbt_scrape_response_free);
  g_object_unref (task);
}

static void
op_fail (Op *op, GQuark domain, int code, const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
op_fail (Op *op, GQuark domain, int code, const char *format, ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (domain, code, format, args);
  va_end (args);
  op_finish (op, NULL, error);
}

/* ---- sockets ----------------------------------------------------------- */

static void
udp_socket_free (UdpSocket *sock)
{
  destroy_source (&sock->source);
  g_clear_object (&sock->socket);
  g_hash_table_unref (sock->pending);
  g_free (sock->buffer);
  g_free (sock);
}

static gboolean
same_address (GSocketAddress *from, GInetSocketAddress *expected)
{
  GInetAddress *a;

  if (!G_IS_INET_SOCKET_ADDRESS (from))
    return FALSE;
  if (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from))
      != g_inet_socket_address_get_port (expected))
    return FALSE;
  a = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from));
  return g_inet_address_equal (a, g_inet_socket_address_get_address (expected));
}

static void
op_handle_reply (Op *op, const guint8 *data, gsize len)
{
  GError *error = NULL;

  if (op->connecting)
    {
      Connection *conn;

      if (!gbt_udp_tracker_parse_connect (data, len, op->tid, &op->connection_id, &error))
        {
          op_finish (op, NULL, error);
          return;
        }
      conn = g_new (Connection, 1);
      conn->id = op->connection_id;
      conn->expires_us = g_get_monotonic_time ()
                         + (gint64) op->self->connection_lifetime_ms * 1000;
      g_hash_table_replace (op->self->connections, g_strdup (op->conn_key), conn);
      op->connecting = FALSE;
      op->sends = 0;
      op_send (op);
      return;
    }

  if (op->kind == OP_ANNOUNCE)
    {
      GbtAnnounceResponse *resp
        = gbt_udp_tracker_parse_announce (data, len, op->tid, op->ipv6, &error);

      op_finish (op, resp, error);
    }
  else
    {
      GbtScrapeResponse *resp = gbt_udp_tracker_parse_scrape (data, len, op->tid, &error);

      op_finish (op, resp, error);
    }
}

static gboolean
socket_readable_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  UdpSocket *sock = user_data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocketAddress) from = NULL;
      gssize n;
      guint32 tid;
      Op *op;

      n = g_socket_receive_from (socket, &from, (char *) sock->buffer, RECV_BUFFER_SIZE, NULL,
                                 &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("UDP tracker socket: %s", error->message);
          break;
        }

      if (!gbt_udp_tracker_reply_transaction_id (sock->buffer, n, &tid))
        {
          GHashTableIter iter;
          gpointer value;

          /* Too short to say whom it is for: if it comes from a tracker we
           * are waiting on, that tracker is broken. */
          op = NULL;
          g_hash_table_iter_init (&iter, sock->pending);
          while (op == NULL && g_hash_table_iter_next (&iter, NULL, &value))
            if (same_address (from, ((Op *) value)->address))
              op = value;
          if (op != NULL)
            op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_BAD_REPLY,
                     "tracker %s sent a %" G_GSSIZE_FORMAT "-byte packet, too short for a "
                     "UDP tracker reply", op->url, n);
          else
            g_debug ("ignoring a stray %" G_GSSIZE_FORMAT "-byte packet", n);
          continue;
        }
      op = g_hash_table_lookup (sock->pending, GUINT_TO_POINTER (tid));
      if (op == NULL || !same_address (from, op->address))
        {
          /* a late answer to a retransmission, or someone else's: not an
           * error, the real reply may still come */
          g_debug ("ignoring a packet with unknown transaction id %08x", tid);
          continue;
        }
      op_handle_reply (op, sock->buffer, n);
    }
  return G_SOURCE_CONTINUE;
}

static UdpSocket *
get_socket (GbtTrackerUdp *self, GSocketFamily family, GInetAddress *bind_address,
            GError **error)
{
  g_autofree char *bind_str = bind_address ? g_inet_address_to_string (bind_address) : NULL;
  g_autofree char *key = g_strdup_printf ("%d|%s", family, bind_str ? bind_str : "");
  UdpSocket *sock = g_hash_table_lookup (self->sockets, key);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  if (sock != NULL)
    return sock;

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  if (bind_address == NULL)
    any = g_inet_address_new_any (family);
  local = g_inet_socket_address_new (bind_address ? bind_address : any, 0);
  if (!g_socket_bind (socket, local, FALSE, error))
    return NULL;

  sock = g_new0 (UdpSocket, 1);
  sock->socket = g_steal_pointer (&socket);
  sock->pending = g_hash_table_new (NULL, NULL);
  sock->buffer = g_malloc (RECV_BUFFER_SIZE);
  sock->source = g_socket_create_source (sock->socket, G_IO_IN, NULL);
  g_source_set_callback (sock->source, (GSourceFunc) (void (*) (void)) socket_readable_cb, sock,
                         NULL);
  g_source_attach (sock->source, self->context);
  g_hash_table_insert (self->sockets, g_steal_pointer (&key), sock);
  return sock;
}

/* ---- one request --------------------------------------------------------- */

static gboolean
retransmit_cb (gpointer user_data)
{
  Op *op = user_data;

  g_clear_pointer (&op->retransmit_timer, g_source_unref);
  if (op->sends > op->self->max_retries)
    {
      op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT,
               "tracker %s did not answer %u %s", op->url, op->sends,
               op->sends == 1 ? "request" : "requests");
      return G_SOURCE_REMOVE;
    }
  op_send (op);
  return G_SOURCE_REMOVE;
}

static guint32
new_transaction_id (UdpSocket *sock)
{
  guint32 tid;

  do
    tid = g_random_int ();
  while (g_hash_table_contains (sock->pending, GUINT_TO_POINTER (tid)));
  return tid;
}

/* Sends the packet of the current step (connect, or the request itself
 * with a connection id) and arms the retransmission timer. */
static void
op_send (Op *op)
{
  GbtTrackerUdp *self = op->self;
  guint8 packet[MAX (GBT_UDP_TRACKER_ANNOUNCE_LEN, GBT_UDP_TRACKER_SCRAPE_LEN)];
  gsize len;
  g_autoptr(GError) error = NULL;
  guint64 delay_ms;

  if (!op->connecting)
    {
      Connection *conn = g_hash_table_lookup (self->connections, op->conn_key);

      /* BEP 15: an expired connection id must be asked for again */
      if (conn == NULL || conn->expires_us <= g_get_monotonic_time ())
        {
          g_hash_table_remove (self->connections, op->conn_key);
          op->connecting = TRUE;
          op->sends = 0;
        }
      else
        op->connection_id = conn->id;
    }

  /* a fresh id for every new step; retransmissions keep theirs, so a late
   * answer to the first copy still counts */
  if (op->sends == 0)
    {
      op_unregister (op);
      op->tid = new_transaction_id (op->sock);
      g_hash_table_insert (op->sock->pending, GUINT_TO_POINTER (op->tid), op);
      op->registered = TRUE;
    }

  if (op->connecting)
    {
      gbt_udp_tracker_build_connect (packet, op->tid);
      len = GBT_UDP_TRACKER_CONNECT_LEN;
    }
  else if (op->kind == OP_ANNOUNCE)
    {
      gbt_udp_tracker_build_announce (packet, op->connection_id, op->tid, op->request);
      len = GBT_UDP_TRACKER_ANNOUNCE_LEN;
    }
  else
    {
      gbt_udp_tracker_build_scrape (packet, op->connection_id, op->tid, op->info_hash);
      len = GBT_UDP_TRACKER_SCRAPE_LEN;
    }

  if (g_socket_send_to (op->sock->socket, G_SOCKET_ADDRESS (op->address), (const char *) packet,
                        len, NULL, &error) < 0
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* a full send buffer is retried with the next retransmission; any
       * other error (no route, refused) will not go away by waiting */
      op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED, "cannot send to tracker %s: %s",
               op->url, error->message);
      return;
    }

  delay_ms = (guint64) self->retransmit_base_ms << MIN (op->sends, 8u);
  op->sends++;
  destroy_source (&op->retransmit_timer);
  op->retransmit_timer = g_timeout_source_new ((guint) MIN (delay_ms, G_MAXUINT));
  g_source_set_callback (op->retransmit_timer, retransmit_cb, op, NULL);
  g_source_attach (op->retransmit_timer, self->context);
}

static void
op_start_with_address (Op *op, GInetAddress *address)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *bind_str = NULL;
  g_autofree char *addr_str = NULL;
  GSocketFamily family = g_inet_address_get_family (address);

  op->address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, op->port));
  op->ipv6 = family == G_SOCKET_FAMILY_IPV6;
  op->sock = get_socket (op->self, family, op->bind_address, &error);
  if (op->sock == NULL)
    {
      op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED,
               "cannot open a UDP socket for tracker %s: %s", op->url, error->message);
      return;
    }
  bind_str = op->bind_address ? g_inet_address_to_string (op->bind_address) : g_strdup ("");
  addr_str = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (op->address));
  op->conn_key = g_strdup_printf ("%s|%s", bind_str, addr_str);
  op_send (op);
}

static void
resolve_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Op *op = user_data;
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);
  GInetAddress *chosen = NULL;

  if (op->done)
    {
      g_resolver_free_addresses (addresses);
      g_object_unref (op->task);
      return;
    }
  for (GList *l = addresses; l != NULL && chosen == NULL; l = l->next)
    if (op->bind_address == NULL
        || g_inet_address_get_family (l->data) == g_inet_address_get_family (op->bind_address))
      chosen = l->data;

  if (addresses == NULL)
    op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED, "cannot resolve tracker %s: %s",
             op->url, error->message);
  else if (chosen == NULL)
    op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED,
             "tracker %s has no address of the bind address's family", op->url);
  else
    op_start_with_address (op, chosen);
  g_resolver_free_addresses (addresses);
  g_object_unref (op->task);
}

static gboolean
deadline_cb (gpointer user_data)
{
  Op *op = user_data;

  g_clear_pointer (&op->deadline_timer, g_source_unref);
  op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT,
           "tracker %s did not answer within %u ms", op->url, op->timeout_ms);
  return G_SOURCE_REMOVE;
}

static gboolean
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Op *op = user_data;

  g_clear_pointer (&op->cancel_source, g_source_unref);
  op_fail (op, G_IO_ERROR, G_IO_ERROR_CANCELLED, "tracker request cancelled");
  return G_SOURCE_REMOVE;
}

static void
op_start (GbtTrackerUdp *self, GTask *task, Op *op, GInetAddress *bind_address,
          guint timeout_ms, GCancellable *cancellable)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) literal = NULL;
  const char *host;
  int port;

  op->self = self;
  op->task = g_object_ref (task);
  op->bind_address = bind_address ? g_object_ref (bind_address) : NULL;
  op->internal = g_cancellable_new ();
  op->timeout_ms = timeout_ms ? timeout_ms : DEFAULT_TIMEOUT_MS;
  g_task_set_task_data (task, op, (GDestroyNotify) op_free);

  uri = g_uri_parse (op->url, G_URI_FLAGS_NON_DNS, &error);
  host = uri ? g_uri_get_host (uri) : NULL;
  port = uri ? g_uri_get_port (uri) : -1;
  if (uri == NULL || host == NULL || *host == '\0' || port <= 0 || port > 65535)
    {
      op_fail (op, GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_FAILED,
               "invalid UDP tracker URL %s: %s", op->url,
               uri == NULL ? error->message : "it needs a host and a port");
      return;
    }
  op->host = g_strdup (host);
  op->port = port;

  if (cancellable != NULL)
    {
      op->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (op->cancel_source, (GSourceFunc) (void (*) (void)) cancelled_cb, op,
                             NULL);
      g_source_attach (op->cancel_source, self->context);
    }
  op->deadline_timer = g_timeout_source_new (op->timeout_ms);
  g_source_set_callback (op->deadline_timer, deadline_cb, op, NULL);
  g_source_attach (op->deadline_timer, self->context);

  literal = g_inet_address_new_from_string (op->host);
  if (literal != NULL)
    op_start_with_address (op, literal);
  else
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();

      g_object_ref (op->task); /* held by resolve_cb */
      g_resolver_lookup_by_name_async (resolver, op->host, op->internal, resolve_cb, op);
    }
}

static void
gbt_tracker_udp_announce_async (GbtTracker *tracker, const GbtAnnounceRequest *request,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  GbtTrackerUdp *self = GBT_TRACKER_UDP (tracker);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  g_task_set_source_tag (task, gbt_tracker_udp_announce_async);
  op->kind = OP_ANNOUNCE;
  op->url = g_strdup (request->url);
  op->request = gbt_announce_request_copy (request);
  memcpy (op->info_hash, request->info_hash, 20);
  op_start (self, task, op, request->bind_address, request->timeout_ms, cancellable);
}

static GbtAnnounceResponse *
gbt_tracker_udp_announce_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, tracker), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
gbt_tracker_udp_scrape_async (GbtTracker *tracker, const char *announce_url,
                              const guint8 info_hash[20], GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  GbtTrackerUdp *self = GBT_TRACKER_UDP (tracker);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  g_task_set_source_tag (task, gbt_tracker_udp_scrape_async);
  op->kind = OP_SCRAPE;
  op->url = g_strdup (announce_url);
  memcpy (op->info_hash, info_hash, 20);
  op_start (self, task, op, NULL, 0, cancellable);
}

static GbtScrapeResponse *
gbt_tracker_udp_scrape_finish (GbtTracker *tracker, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, tracker), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
gbt_tracker_udp_iface_init (GbtTrackerInterface *iface)
{
  iface->announce_async = gbt_tracker_udp_announce_async;
  iface->announce_finish = gbt_tracker_udp_announce_finish;
  iface->scrape_async = gbt_tracker_udp_scrape_async;
  iface->scrape_finish = gbt_tracker_udp_scrape_finish;
}

static void
gbt_tracker_udp_finalize (GObject *object)
{
  GbtTrackerUdp *self = GBT_TRACKER_UDP (object);

  /* every request holds a reference on us through its task: none is left */
  g_hash_table_unref (self->sockets);
  g_hash_table_unref (self->connections);
  g_main_context_unref (self->context);
  G_OBJECT_CLASS (gbt_tracker_udp_parent_class)->finalize (object);
}

static void
gbt_tracker_udp_class_init (GbtTrackerUdpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_tracker_udp_finalize;
}

static void
gbt_tracker_udp_init (GbtTrackerUdp *self)
{
  const char *env = g_getenv ("GBT_UDP_TRACKER_TIMEOUT_MS");
  guint64 base = 0;

  self->context = g_main_context_ref_thread_default ();
  self->sockets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) udp_socket_free);
  self->connections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->retransmit_base_ms = DEFAULT_RETRANSMIT_BASE_MS;
  self->max_retries = DEFAULT_MAX_RETRIES;
  self->connection_lifetime_ms = CONNECTION_LIFETIME_MS;
  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 3600 * 1000, &base, NULL))
    self->retransmit_base_ms = base;
}

GbtTrackerUdp *
gbt_tracker_udp_new (void)
{
  return g_object_new (GBT_TYPE_TRACKER_UDP, NULL);
}

void
gbt_tracker_udp_set_retransmit (GbtTrackerUdp *self, guint base_ms, guint max_retries)
{
  g_return_if_fail (GBT_IS_TRACKER_UDP (self));
  g_return_if_fail (base_ms > 0);
  self->retransmit_base_ms = base_ms;
  self->max_retries = max_retries;
}

void
gbt_tracker_udp_set_connection_lifetime (GbtTrackerUdp *self, guint ms)
{
  g_return_if_fail (GBT_IS_TRACKER_UDP (self));
  self->connection_lifetime_ms = ms;
}
