/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's shared UDP port (ABI 1.3): datagrams go to the first
 * handler that claims them, handlers may go at any time, IPv4 senders on a
 * dual-stack socket are seen as IPv4, and a session's UDP port has its TCP
 * listener's number.
 */
#include <string.h>

#include <gbt/gbt.h>

#include "gbt-udp-port-private.h"
#include "test-utils.h"

typedef struct {
  const char *name;
  char first;       /* claims datagrams starting with this byte */
  guint seen;       /* offered */
  guint claimed;
  GString *log;     /* names of the claimers, in order */
  GInetSocketAddress *last_from;
  gboolean remove_self;
  GbtUdpPort *port;
  guint id;
  gboolean *freed;
} Handler;

static gboolean
handler_cb (GbtUdpPort *port, const guint8 *data, gsize len, GInetSocketAddress *from,
            gpointer user_data)
{
  Handler *h = user_data;

  h->seen++;
  if (len == 0 || data[0] != h->first)
    return FALSE;
  h->claimed++;
  g_string_append (h->log, h->name);
  g_set_object (&h->last_from, from);
  if (h->remove_self)
    gbt_udp_port_remove_handler (port, h->id);
  return TRUE;
}

static void
handler_destroy (gpointer data)
{
  Handler *h = data;
  if (h->freed)
    *h->freed = TRUE;
}

static GbtUdpPort *
port_at (const char *ip, guint16 port)
{
  g_autoptr(GInetAddress) a = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) at = g_inet_socket_address_new (a, port);
  g_autoptr(GError) error = NULL;
  GbtUdpPort *p = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (at), &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

static void
send_to (GbtUdpPort *from, GbtUdpPort *to, const char *ip, const char *text)
{
  g_autoptr(GInetAddress) a = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) dest = g_inet_socket_address_new (
      a, g_inet_socket_address_get_port (gbt_udp_port_get_local_address (to)));
  g_autoptr(GError) error = NULL;

  g_assert_true (gbt_udp_port_send (from, dest, (const guint8 *) text, strlen (text), &error));
  g_assert_no_error (error);
}

static void
test_dispatch (void)
{
  g_autoptr(GbtUdpPort) a = port_at ("127.0.0.1", 0);
  g_autoptr(GbtUdpPort) b = port_at ("127.0.0.1", 0);
  g_autoptr(GString) log = g_string_new (NULL);
  gboolean x_freed = FALSE;
  Handler x = { .name = "x", .first = 'd', .log = log, .freed = &x_freed };
  Handler y = { .name = "y", .first = 'd', .log = log };
  Handler z = { .name = "z", .first = 'A', .log = log };

  x.id = gbt_udp_port_add_handler (b, handler_cb, &x, handler_destroy);
  y.id = gbt_udp_port_add_handler (b, handler_cb, &y, NULL);
  z.id = gbt_udp_port_add_handler (b, handler_cb, &z, NULL);
  g_assert_cmpuint (x.id, !=, 0);
  g_assert_cmpuint (x.id, !=, y.id);

  /* 'd' goes to x (first), 'A' passes x and y on to z, '?' nobody takes */
  send_to (a, b, "127.0.0.1", "d1:ad");
  send_to (a, b, "127.0.0.1", "A-utp");
  send_to (a, b, "127.0.0.1", "?");
  send_to (a, b, "127.0.0.1", "d2:bd");
  gbt_test_wait_until (log->len >= 3, 10000);
  g_assert_cmpstr (log->str, ==, "xzx");
  g_assert_cmpuint (y.seen, ==, 2); /* 'A' and '?', never a 'd' x took */
  g_assert_cmpuint (y.claimed, ==, 0);
  /* the sender, with the port it sent from */
  g_assert_cmpuint (g_inet_socket_address_get_port (x.last_from), ==,
                    g_inet_socket_address_get_port (gbt_udp_port_get_local_address (a)));

  /* x removed: y gets the 'd's; x's data is freed at once */
  gbt_udp_port_remove_handler (b, x.id);
  g_assert_true (x_freed);
  g_string_truncate (log, 0);
  send_to (a, b, "127.0.0.1", "d3:ccc");
  send_to (a, b, "127.0.0.1", "A");
  send_to (a, b, "127.0.0.1", "d4:dddd");
  gbt_test_wait_until (log->len >= 3, 10000);
  g_assert_cmpstr (log->str, ==, "yzy");
  g_clear_object (&x.last_from);
  g_clear_object (&y.last_from);
  g_clear_object (&z.last_from);
}

static void
test_remove_during_dispatch (void)
{
  g_autoptr(GbtUdpPort) a = port_at ("127.0.0.1", 0);
  g_autoptr(GbtUdpPort) b = port_at ("127.0.0.1", 0);
  g_autoptr(GString) log = g_string_new (NULL);
  Handler x = { .name = "x", .first = 'd', .log = log, .remove_self = TRUE };
  Handler y = { .name = "y", .first = 'd', .log = log };

  x.id = gbt_udp_port_add_handler (b, handler_cb, &x, NULL);
  y.id = gbt_udp_port_add_handler (b, handler_cb, &y, NULL);
  /* the first 'd' is x's last: it removes itself from inside its call */
  send_to (a, b, "127.0.0.1", "d1");
  send_to (a, b, "127.0.0.1", "d2");
  send_to (a, b, "127.0.0.1", "d3");
  gbt_test_wait_until (log->len >= 3, 10000);
  g_assert_cmpstr (log->str, ==, "xyy");
  g_clear_object (&x.last_from);
  g_clear_object (&y.last_from);
}

/* an IPv4 sender reaching a dual-stack socket is handed over as IPv4, and
 * the dual-stack socket answers IPv4 destinations */
static void
test_dual_stack (void)
{
  g_autoptr(GbtUdpPort) v4 = port_at ("127.0.0.1", 0);
  g_autoptr(GbtUdpPort) any = NULL;
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(GString) log4 = g_string_new (NULL);
  g_autoptr(GInetAddress) any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) at = g_inet_socket_address_new (any6, 0);
  g_autoptr(GError) error = NULL;
  Handler h = { .name = "h", .first = 'd', .log = log };
  Handler back = { .name = "b", .first = 'r', .log = log4 };
  g_autofree char *ip = NULL;

  any = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (at), &error);
  if (any == NULL)
    {
      g_test_skip ("no IPv6 here");
      return;
    }
  gbt_udp_port_add_handler (any, handler_cb, &h, NULL);
  gbt_udp_port_add_handler (v4, handler_cb, &back, NULL);
  send_to (v4, any, "127.0.0.1", "d1");
  send_to (v4, any, "127.0.0.1", "d2");
  send_to (v4, any, "127.0.0.1", "d3");
  gbt_test_wait_until (log->len >= 3, 10000);
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (h.last_from));
  g_assert_cmpstr (ip, ==, "127.0.0.1");
  g_assert_cmpint (g_inet_address_get_family (g_inet_socket_address_get_address (h.last_from)), ==,
                   G_SOCKET_FAMILY_IPV4);
  /* and back, to that IPv4 address */
  g_assert_true (gbt_udp_port_send (any, G_SOCKET_ADDRESS (h.last_from), (const guint8 *) "r1", 2,
                                    &error));
  g_assert_true (gbt_udp_port_send (any, G_SOCKET_ADDRESS (h.last_from), (const guint8 *) "r2", 2,
                                    &error));
  g_assert_true (gbt_udp_port_send (any, G_SOCKET_ADDRESS (h.last_from), (const guint8 *) "r3", 2,
                                    &error));
  g_assert_no_error (error);
  gbt_test_wait_until (log4->len >= 3, 10000);
  g_clear_object (&h.last_from);
  g_clear_object (&back.last_from);
}

/* a 16 KiB datagram (uTP's largest on loopback) arrives whole, with or
 * without DF; one past what a slot holds is dropped, never cut short */
static void
test_sizes (void)
{
  g_autoptr(GbtUdpPort) a = port_at ("127.0.0.1", 0);
  g_autoptr(GbtUdpPort) b = port_at ("127.0.0.1", 0);
  g_autoptr(GString) log = g_string_new (NULL);
  Handler h = { .name = "h", .first = 'd', .log = log };
  g_autofree guint8 *big = g_malloc (40000);
  g_autoptr(GError) error = NULL;
  GSocketAddress *to = G_SOCKET_ADDRESS (gbt_udp_port_get_local_address (b));

  memset (big, 'd', 40000);
  gbt_udp_port_add_handler (b, handler_cb, &h, NULL);
  g_assert_true (gbt_udp_port_send_full (a, to, big, 40000, GBT_UDP_SEND_NONE, &error));
  g_assert_true (gbt_udp_port_send_full (a, to, big, 16384, GBT_UDP_SEND_NONE, &error));
  g_assert_true (gbt_udp_port_send_full (a, to, big, 16000, GBT_UDP_SEND_MAY_FRAGMENT, &error));
  g_assert_true (gbt_udp_port_send (a, to, big, 10, &error));
  g_assert_no_error (error);
  gbt_test_wait_until (h.seen >= 3, 10000);
  g_assert_cmpuint (h.seen, ==, 3); /* the 40000-byte one never reached it */
  g_clear_object (&h.last_from);
}

static void
unreachable_cb (GbtUdpPort *port, GInetSocketAddress *destination, const GError *error,
                gpointer user_data)
{
  GInetSocketAddress **out = user_data;

  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_set_object (out, destination);
}

/* a datagram to a closed port: the ICMP error names that destination */
static void
test_unreachable (void)
{
  g_autoptr(GbtUdpPort) a = port_at ("127.0.0.1", 0);
  g_autoptr(GInetSocketAddress) told = NULL;
  g_autoptr(GSocketAddress) to = NULL;
  g_autoptr(GError) error = NULL;
  guint16 closed;

  {
    g_autoptr(GbtUdpPort) gone = port_at ("127.0.0.1", 0);
    closed = g_inet_socket_address_get_port (gbt_udp_port_get_local_address (gone));
  }
  {
    g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
    to = g_inet_socket_address_new (lo, closed);
  }
  gbt_udp_port_add_unreachable_handler (a, unreachable_cb, &told, NULL);
  g_assert_true (gbt_udp_port_send (a, to, (const guint8 *) "x", 1, &error));
  gbt_test_wait_until (told != NULL, 10000);
  g_assert_cmpuint (g_inet_socket_address_get_port (told), ==, closed);
}

/* an IPv6 destination on an IPv4 port is an error, not a crash */
static void
test_wrong_family (void)
{
  g_autoptr(GbtUdpPort) v4 = port_at ("127.0.0.1", 0);
  g_autoptr(GInetAddress) a = g_inet_address_new_from_string ("::1");
  g_autoptr(GSocketAddress) dest = g_inet_socket_address_new (a, 9);
  g_autoptr(GError) error = NULL;

  g_assert_false (gbt_udp_port_send (v4, dest, (const guint8 *) "x", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}

/* a started session has a UDP port on its TCP port's number, and a DHT
 * node on it answers there */
static void
test_session_port (void)
{
  g_autoptr(GbtSession) s = gbt_session_new ();
  g_autoptr(GError) error = NULL;
  const char *plugins[] = { "dht", NULL };
  GbtUdpPort *port;

  g_assert_null (gbt_session_get_udp_port (s));
  gbt_session_set_plugins (s, plugins, NULL);
  gbt_session_set_listen_address (s, "127.0.0.1", 0);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  port = gbt_session_get_udp_port (s);
  g_assert_nonnull (port);
  g_assert_cmpuint (g_inet_socket_address_get_port (gbt_udp_port_get_local_address (port)), ==,
                    gbt_session_get_listen_port (s));
}

/* TCP alone: the UDP port is there all the same (the DHT's); a transport
 * that does not exist is an error that names it */
static void
test_session_transports (void)
{
  const char *tcp[] = { "tcp", NULL };
  const char *nope[] = { "tcp", "carrier-pigeon", NULL };
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(GbtSession) s = gbt_session_new ();
    gbt_session_set_listen_address (s, "127.0.0.1", 0);
    gbt_session_set_transports (s, tcp);
    g_assert_true (gbt_session_start (s, &error));
    g_assert_no_error (error);
    g_assert_nonnull (gbt_session_get_udp_port (s));
  }
  {
    g_autoptr(GbtSession) s = gbt_session_new ();
    gbt_session_set_listen_address (s, "127.0.0.1", 0);
    gbt_session_set_transports (s, nope);
    g_assert_false (gbt_session_start (s, &error));
    g_assert_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_NO_TRANSPORT);
    g_assert_nonnull (strstr (error->message, "carrier-pigeon"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/udp-port/dispatch", test_dispatch);
  g_test_add_func ("/udp-port/remove-during-dispatch", test_remove_during_dispatch);
  g_test_add_func ("/udp-port/dual-stack", test_dual_stack);
  g_test_add_func ("/udp-port/wrong-family", test_wrong_family);
  g_test_add_func ("/udp-port/sizes", test_sizes);
  g_test_add_func ("/udp-port/unreachable", test_unreachable);
  g_test_add_func ("/udp-port/session", test_session_port);
  g_test_add_func ("/udp-port/session-transports", test_session_transports);
  return g_test_run ();
}
