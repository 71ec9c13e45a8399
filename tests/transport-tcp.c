/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TCP transport plugin's object, over loopback. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "../plugins/transport-tcp/gbt-transport-tcp.h"
#include "test-utils.h"

typedef struct {
  GbtTransport *transport;
  GPtrArray *accepted;       /* GIOStream */
  GPtrArray *remotes;        /* GSocketAddress */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->transport = GBT_TRANSPORT (gbt_transport_tcp_new ());
  f->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  f->remotes = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->accepted);
  g_ptr_array_unref (f->remotes);
  g_clear_object (&f->transport);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->accepted, g_object_ref (stream));
  g_ptr_array_add (f->remotes, g_object_ref (remote));
}

static void
store_result_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GIOStream *
do_connect (Fixture *f, GSocketAddress *remote, GSocketAddress *local, GCancellable *cancellable,
            GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  gbt_transport_connect_async (f->transport, remote, local, cancellable, store_result_cb, &result);
  gbt_test_wait_until (result != NULL, 15000);
  return gbt_transport_connect_finish (f->transport, result, error);
}

/* Writes @msg on @from and reads it back on @to, without blocking the loop. */
static void
check_flow (GIOStream *from, GIOStream *to, const char *msg)
{
  g_autoptr(GError) error = NULL;
  gsize len = strlen (msg);
  g_autoptr(GByteArray) got = g_byte_array_new ();

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (from), msg, len, NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  while (got->len < len)
    {
      g_autoptr(GAsyncResult) result = NULL;
      g_autoptr(GBytes) chunk = NULL;

      g_input_stream_read_bytes_async (g_io_stream_get_input_stream (to), len - got->len,
                                       G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
      gbt_test_wait_until (result != NULL, 5000);
      chunk = g_input_stream_read_bytes_finish (g_io_stream_get_input_stream (to), result, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_bytes_get_size (chunk), >, 0);
      g_byte_array_append (got, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
    }
  g_assert_cmpmem (got->data, got->len, msg, len);
}

static void
assert_nodelay (GIOStream *stream)
{
  g_autoptr(GError) error = NULL;
  int value = 0;

  g_assert_true (G_IS_SOCKET_CONNECTION (stream));
  g_assert_true (g_socket_get_option (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)),
                                      IPPROTO_TCP, TCP_NODELAY, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpint (value, !=, 0);
}

static GObject *
listen_on (Fixture *f, const char *ip, GSocketAddress **bound, GError **error)
{
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (ip);
  g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (addr, 0);

  return gbt_transport_listen (f->transport, sa, accept_cb, f, bound, error);
}

static void
run_roundtrip (Fixture *f, const char *ip)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GObject) handle = listen_on (f, ip, &bound, &error);
  g_autoptr(GIOStream) client = NULL;
  g_autofree char *bound_ip = NULL;

  if (handle == NULL && g_str_equal (ip, "::1"))
    {
      g_test_skip ("no IPv6 loopback here");
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (handle);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), !=, 0);
  bound_ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)));
  g_assert_cmpstr (bound_ip, ==, ip);

  client = do_connect (f, bound, NULL, NULL, &error);
  g_assert_no_error (error);
  gbt_test_wait_until (f->accepted->len == 1, 5000);
  assert_nodelay (client);
  assert_nodelay (f->accepted->pdata[0]);
  g_assert_cmpint (g_socket_get_timeout (g_socket_connection_get_socket (G_SOCKET_CONNECTION (client))), ==, 0);

  check_flow (client, f->accepted->pdata[0], "hello from the client");
  check_flow (f->accepted->pdata[0], client, "and hello back");
}

static void
test_ipv4 (Fixture *f, gconstpointer data)
{
  run_roundtrip (f, "127.0.0.1");
}

static void
test_ipv6 (Fixture *f, gconstpointer data)
{
  run_roundtrip (f, "::1");
}

static void
test_bind (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GObject) handle = listen_on (f, "127.0.0.1", &bound, &error);
  g_autoptr(GInetAddress) local_ip = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketAddress) local = g_inet_socket_address_new (local_ip, 0);
  g_autoptr(GIOStream) client = NULL;
  g_autofree char *seen = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (handle);
  client = do_connect (f, bound, local, NULL, &error);
  g_assert_no_error (error);
  gbt_test_wait_until (f->remotes->len == 1, 5000);
  seen = g_inet_address_to_string (g_inet_socket_address_get_address (f->remotes->pdata[0]));
  g_assert_cmpstr (seen, ==, "127.0.0.2");
}

static void
test_stop_listening (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  GObject *handle = listen_on (f, "127.0.0.1", &bound, &error);
  g_autoptr(GIOStream) client = NULL;

  g_assert_no_error (error);
  g_object_unref (handle);
  /* the port is closed at once: a connection is refused */
  client = do_connect (f, bound, NULL, NULL, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpuint (f->accepted->len, ==, 0);
}

static void
test_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GObject) handle = listen_on (f, "127.0.0.1", &bound, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GIOStream) client = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (handle);
  g_cancellable_cancel (cancellable);
  client = do_connect (f, bound, NULL, cancellable, &error);
  g_assert_null (client);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_listen_in_use (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GObject) handle = listen_on (f, "127.0.0.1", &bound, &error);
  g_autoptr(GObject) handle2 = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (handle);
  handle2 = gbt_transport_listen (f->transport, bound, accept_cb, f, NULL, &error);
  g_assert_null (handle2);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("/transport-tcp/roundtrip/ipv4", test_ipv4);
  ADD ("/transport-tcp/roundtrip/ipv6", test_ipv6);
  ADD ("/transport-tcp/bind-address", test_bind);
  ADD ("/transport-tcp/stop-listening", test_stop_listening);
  ADD ("/transport-tcp/cancelled", test_cancelled);
  ADD ("/transport-tcp/address-in-use", test_listen_in_use);
  return g_test_run ();
}
