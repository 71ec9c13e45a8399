/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 7: a session listening dual-stack announces to a tracker once over
 * IPv4 and once over IPv6, with one key.  The tracker's hostname,
 * "dual.gbt.test", resolves to 127.0.0.1 and ::1 through a resolver
 * installed by this test (nothing leaves loopback); fake HTTP and UDP
 * trackers listen on both addresses, each in a thread, and record the
 * family, event and key of every announce.  The tracker plugins come from
 * GBT_PLUGIN_PATH, as in `gbt download`.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "test-utils.h"

#define TEST_HOST "dual.gbt.test"

/* ---- a resolver that knows TEST_HOST and nothing else */

typedef struct {
  GResolver parent_instance;
} TestResolver;
typedef GResolverClass TestResolverClass;

static GType test_resolver_get_type (void);
G_DEFINE_TYPE (TestResolver, test_resolver, G_TYPE_RESOLVER)

static GList *
lookup (const char *hostname, GResolverNameLookupFlags flags, GError **error)
{
  GList *out = NULL;

  if (g_strcmp0 (hostname, TEST_HOST) != 0)
    {
      GInetAddress *literal = g_inet_address_new_from_string (hostname);

      if (literal != NULL)
        return g_list_append (NULL, literal);
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no such test host %s",
                   hostname);
      return NULL;
    }
  if (!(flags & G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY))
    out = g_list_append (out, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
  if (!(flags & G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY))
    out = g_list_append (out, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6));
  return out;
}

static GList *
lookup_by_name (GResolver *resolver, const char *hostname, GCancellable *cancellable,
                GError **error)
{
  return lookup (hostname, G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT, error);
}

static GList *
lookup_by_name_with_flags (GResolver *resolver, const char *hostname,
                           GResolverNameLookupFlags flags, GCancellable *cancellable,
                           GError **error)
{
  return lookup (hostname, flags, error);
}

static void
free_address_list (gpointer list)
{
  g_resolver_free_addresses (list);
}

static void
lookup_by_name_with_flags_async (GResolver *resolver, const char *hostname,
                                 GResolverNameLookupFlags flags, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);
  GError *error = NULL;
  GList *list = lookup (hostname, flags, &error);

  if (list == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, list, free_address_list);
}

static void
lookup_by_name_async (GResolver *resolver, const char *hostname, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data)
{
  lookup_by_name_with_flags_async (resolver, hostname, G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT,
                                   cancellable, callback, user_data);
}

static GList *
lookup_by_name_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_class_init (TestResolverClass *klass)
{
  klass->lookup_by_name = lookup_by_name;
  klass->lookup_by_name_async = lookup_by_name_async;
  klass->lookup_by_name_finish = lookup_by_name_finish;
  klass->lookup_by_name_with_flags = lookup_by_name_with_flags;
  klass->lookup_by_name_with_flags_async = lookup_by_name_with_flags_async;
  klass->lookup_by_name_with_flags_finish = lookup_by_name_finish;
}

static void
test_resolver_init (TestResolver *self)
{
}

/* ---- what the fake trackers saw */

typedef struct {
  GSocketFamily family;
  char *event; /* "started", "stopped", "" */
  guint32 key;
} Seen;

static GMutex seen_lock;
static GArray *seen; /* Seen */

static void
record (GSocketFamily family, const char *event, guint32 key)
{
  Seen s = { family, g_strdup (event), key };

  g_mutex_lock (&seen_lock);
  g_array_append_val (seen, s);
  g_mutex_unlock (&seen_lock);
}

static gboolean
saw (GSocketFamily family, const char *event, guint32 *key)
{
  gboolean found = FALSE;

  g_mutex_lock (&seen_lock);
  for (guint i = 0; i < seen->len && !found; i++)
    {
      Seen *s = &g_array_index (seen, Seen, i);
      if (s->family == family && g_str_equal (s->event, event))
        {
          found = TRUE;
          if (key)
            *key = s->key;
        }
    }
  g_mutex_unlock (&seen_lock);
  return found;
}

static void
seen_clear (gpointer data)
{
  g_free (((Seen *) data)->event);
}

/* ---- the HTTP tracker: a threaded service on 127.0.0.1:P and [::1]:P */

static char *
query_value (const char *query, const char *name)
{
  g_auto(GStrv) parts = g_strsplit_set (query, "?& ", -1);
  gsize n = strlen (name);

  for (guint i = 0; parts[i]; i++)
    if (strncmp (parts[i], name, n) == 0 && parts[i][n] == '=')
      return g_uri_unescape_string (parts[i] + n + 1, NULL);
  return NULL;
}

static gboolean
http_run_cb (GThreadedSocketService *service, GSocketConnection *conn, GObject *source,
             gpointer user_data)
{
  static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 31\r\n\r\n"
                              "d8:intervali1800e5:peers0:e";
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  char buf[4096];
  gsize len = 0;
  gssize n;

  while (len < sizeof buf - 1
         && (n = g_input_stream_read (in, buf + len, sizeof buf - 1 - len, NULL, NULL)) > 0)
    {
      len += n;
      buf[len] = '\0';
      if (strstr (buf, "\r\n\r\n"))
        break;
    }
  buf[len] = '\0';
  if (remote != NULL && g_str_has_prefix (buf, "GET "))
    {
      g_autofree char *event = query_value (buf, "event");
      g_autofree char *key = query_value (buf, "key");

      record (g_socket_address_get_family (remote), event ? event : "",
              key ? (guint32) g_ascii_strtoull (key, NULL, 16) : 0);
    }
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

/* ---- the UDP tracker (BEP 15): one thread per address */

typedef struct {
  GSocket *socket;
  gboolean stop;
  GThread *thread;
} UdpServer;

static gpointer
udp_thread (gpointer data)
{
  static const char *const events[] = { "", "completed", "started", "stopped" };
  UdpServer *srv = data;

  while (!g_atomic_int_get (&srv->stop))
    {
      g_autoptr(GSocketAddress) from = NULL;
      guint8 buf[256], reply[20];
      gssize n;

      if (!g_socket_condition_timed_wait (srv->socket, G_IO_IN, 100 * 1000, NULL, NULL))
        continue;
      n = g_socket_receive_from (srv->socket, &from, (char *) buf, sizeof buf, NULL, NULL);
      if (n < 16)
        continue;
      memcpy (reply + 4, buf + 12, 4); /* transaction id */
      if (gbt_test_get_be32 (buf + 8) == 0)
        {
          gbt_test_put_be32 (reply, 0);
          memcpy (reply + 8, "conn-id!", 8);
          g_socket_send_to (srv->socket, from, (char *) reply, 16, NULL, NULL);
        }
      else if (gbt_test_get_be32 (buf + 8) == 1 && n >= 98)
        {
          guint32 event = gbt_test_get_be32 (buf + 80);

          record (g_socket_address_get_family (from), event < 4 ? events[event] : "?",
                  gbt_test_get_be32 (buf + 88));
          gbt_test_put_be32 (reply, 1);
          gbt_test_put_be32 (reply + 8, 1800);
          gbt_test_put_be32 (reply + 12, 0);
          gbt_test_put_be32 (reply + 16, 0);
          g_socket_send_to (srv->socket, from, (char *) reply, 20, NULL, NULL);
        }
    }
  return NULL;
}

static gboolean
udp_server_start (UdpServer *srv, GSocketFamily family, guint16 port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (family);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, port);

  srv->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  if (srv->socket == NULL || !g_socket_bind (srv->socket, addr, FALSE, NULL))
    {
      g_clear_object (&srv->socket);
      return FALSE;
    }
  srv->thread = g_thread_new ("udp-tracker", udp_thread, srv);
  return TRUE;
}

static void
udp_server_stop (UdpServer *srv)
{
  if (srv->thread)
    {
      g_atomic_int_set (&srv->stop, TRUE);
      g_thread_join (srv->thread);
    }
  g_clear_object (&srv->socket);
}

/* ---- the torrent and session */

static GbtMetainfo *
torrent_for (const char *announce)
{
  g_autoptr(GString) t = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GbtMetainfo *mi;

  g_string_append_printf (t, "d8:announce%zu:%s4:infod6:lengthi16384e4:name4:data"
                             "12:piece lengthi16384e6:pieces20:",
                          strlen (announce), announce);
  g_string_append_len (t, "aaaaaaaaaaaaaaaaaaaa", 20);
  g_string_append (t, "ee");
  bytes = g_bytes_new (t->str, t->len);
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  return mi;
}

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_assert_true (gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL));
  *(gboolean *) data = TRUE;
}

static gboolean
ipv6_available (void)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_DATAGRAM,
                                       G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, 0);

  return s != NULL && g_socket_bind (s, addr, FALSE, NULL);
}

/* Announces through a dual-stack session to @url; both families must
 * announce "started" with one key, then "stopped". */
/* every tracker line says it answered: only then is a stopped owed (the
 * manager sends one to trackers that answered our started) */
static gboolean
all_answered (GbtTorrent *torrent)
{
  g_auto(GStrv) status = gbt_torrent_dup_tracker_status (torrent);

  for (guint i = 0; status[i]; i++)
    if (strstr (status[i], ": ok") == NULL)
      return FALSE;
  return status[0] != NULL;
}

static void
check_both_families (const char *url)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autoptr(GbtMetainfo) mi = torrent_for (url);
  g_autoptr(GbtSession) session = gbt_session_new ();
  g_autoptr(GbtTorrent) torrent = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) status = NULL;
  guint32 key4 = 0, key6 = 0;
  gboolean stopped = FALSE, v4_line = FALSE, v6_line = FALSE;
  gint64 deadline;

  gbt_session_set_listen_address (session, NULL, 0);
  g_assert_true (gbt_session_start (session, &error));
  g_assert_no_error (error);
  torrent = gbt_session_add_torrent (session, mi, dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (torrent);

  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!(saw (G_SOCKET_FAMILY_IPV4, "started", NULL)
           && saw (G_SOCKET_FAMILY_IPV6, "started", NULL))
         && g_get_monotonic_time () < deadline)
    gbt_test_spin (20);
  g_test_message ("torrent state %d, error %s", gbt_torrent_get_state (torrent),
                  gbt_torrent_get_error (torrent) ? gbt_torrent_get_error (torrent)->message : "-");
  status = gbt_torrent_dup_tracker_status (torrent);
  for (guint i = 0; status[i]; i++)
    {
      g_test_message ("%s", status[i]);
      v4_line |= g_str_has_prefix (status[i], "IPv4 ");
      v6_line |= g_str_has_prefix (status[i], "IPv6 ");
    }
  g_assert_true (v4_line && v6_line);
  g_assert_true (saw (G_SOCKET_FAMILY_IPV4, "started", &key4));
  g_assert_true (saw (G_SOCKET_FAMILY_IPV6, "started", &key6));
  g_assert_cmphex (key4, ==, key6);

  gbt_test_wait_until (all_answered (torrent), 10000);
  gbt_torrent_stop_async (torrent, NULL, stopped_cb, &stopped);
  gbt_test_wait_until (stopped, 10000);
  g_assert_true (saw (G_SOCKET_FAMILY_IPV4, "stopped", NULL));
  g_assert_true (saw (G_SOCKET_FAMILY_IPV6, "stopped", NULL));
  gbt_test_rmtree (dir);
}

static void
test_http (void)
{
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GInetAddress) lo4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) lo6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) addr4 = g_inet_socket_address_new (lo4, 0);
  g_autoptr(GSocketAddress) addr6 = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  guint16 port;

  if (!ipv6_available ())
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  service = g_threaded_socket_service_new (4);
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr4,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &bound, &error));
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  addr6 = g_inet_socket_address_new (lo6, port);
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr6,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                NULL, &error));
  g_assert_no_error (error);
  g_signal_connect (service, "run", G_CALLBACK (http_run_cb), NULL);
  g_socket_service_start (service);

  url = g_strdup_printf ("http://%s:%u/announce", TEST_HOST, port);
  check_both_families (url);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
}

static void
test_udp (void)
{
  UdpServer v4 = { 0 }, v6 = { 0 };
  g_autofree char *url = NULL;
  guint16 port;

  if (!ipv6_available ())
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  port = gbt_test_free_port ();
  g_assert_true (udp_server_start (&v4, G_SOCKET_FAMILY_IPV4, port));
  if (!udp_server_start (&v6, G_SOCKET_FAMILY_IPV6, port))
    {
      udp_server_stop (&v4);
      g_test_skip ("port taken on ::1");
      return;
    }
  url = g_strdup_printf ("udp://%s:%u", TEST_HOST, port);
  check_both_families (url);
  udp_server_stop (&v4);
  udp_server_stop (&v6);
}

/* A tracker named by an IPv4 literal is announced to over IPv4 only: no
 * IPv6 manager failing against it, and nothing in the status but it. */
static void
test_ip_literal (void)
{
  g_autoptr(GSocketService) service = g_threaded_socket_service_new (2);
  g_autoptr(GInetAddress) lo4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr4 = g_inet_socket_address_new (lo4, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtSession) session = gbt_session_new ();
  g_autoptr(GbtTorrent) torrent = NULL;
  g_auto(GStrv) status = NULL;
  gboolean stopped = FALSE;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), addr4,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &bound, &error));
  g_assert_no_error (error);
  g_signal_connect (service, "run", G_CALLBACK (http_run_cb), NULL);
  g_socket_service_start (service);
  url = g_strdup_printf ("http://127.0.0.1:%u/announce",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  mi = torrent_for (url);
  g_assert_true (gbt_session_start (session, &error));
  g_assert_no_error (error);
  torrent = gbt_session_add_torrent (session, mi, dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (torrent);
  gbt_test_wait_until (saw (G_SOCKET_FAMILY_IPV4, "started", NULL), 10000);
  status = gbt_torrent_dup_tracker_status (torrent);
  g_assert_cmpuint (g_strv_length (status), ==, 1);
  g_test_message ("%s", status[0]);
  g_assert_null (strstr (status[0], "error"));
  g_assert_false (g_str_has_prefix (status[0], "IPv6"));
  gbt_test_wait_until (all_answered (torrent), 10000);
  gbt_torrent_stop_async (torrent, NULL, stopped_cb, &stopped);
  gbt_test_wait_until (stopped, 10000);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  gbt_test_rmtree (dir);
}

static void
reset (void)
{
  g_array_set_size (seen, 0);
}

static void
run_reset (gconstpointer func)
{
  reset ();
  ((GTestFunc) func) ();
}

int
main (int argc, char **argv)
{
  g_autoptr(GResolver) resolver = NULL;

  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, NULL);
  resolver = g_object_new (test_resolver_get_type (), NULL);
  g_resolver_set_default (resolver);
  seen = g_array_new (FALSE, TRUE, sizeof (Seen));
  g_array_set_clear_func (seen, seen_clear);
  g_test_add_data_func ("/announce-family/http", test_http, run_reset);
  g_test_add_data_func ("/announce-family/udp", test_udp, run_reset);
  g_test_add_data_func ("/announce-family/ip-literal", test_ip_literal, run_reset);
  return g_test_run ();
}
