/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The portmap plugin's NAT-PMP client (RFC 6886) against a gateway played
 * by this test on 127.0.0.1: the requests' bytes, the mappings and the
 * external address it learns, a refusal reported as an error, answers
 * from elsewhere ignored, and the deletes sent when it is freed.  The
 * real-router test is tests/interop/test_portmap.py (miniupnpd in network
 * namespaces, root only).
 */
#include <string.h>

#include <gio/gio.h>

#include "../plugins/portmap/gbt-natpmp.h"
#include "test-utils.h"

#define WAIT_MS 5000

typedef struct {
  GSocket *gw;      /* the gateway */
  GSocket *other;   /* someone else on loopback */
  GInetSocketAddress *gw_addr;
  GMainContext *ctx;
  /* what the client reported */
  guint n_reports;
  guint16 ext[2];
  guint32 lifetime[2];
  char *address;
  char *error[2];
} Fixture;

static GSocket *
udp_socket (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, 0);
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                             G_SOCKET_PROTOCOL_UDP, NULL);

  g_assert_nonnull (s);
  g_assert_true (g_socket_bind (s, a, FALSE, NULL));
  g_socket_set_timeout (s, WAIT_MS / 1000);
  return s;
}

static void
setup (Fixture *f, gconstpointer data)
{
  f->gw = udp_socket ();
  f->other = udp_socket ();
  f->gw_addr = G_INET_SOCKET_ADDRESS (g_socket_get_local_address (f->gw, NULL));
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_object_unref (f->gw);
  g_object_unref (f->other);
  g_object_unref (f->gw_addr);
  g_free (f->address);
  g_free (f->error[0]);
  g_free (f->error[1]);
}

static void
report_cb (GbtNatPmpProtocol protocol, guint16 internal_port, guint16 external_port,
           guint32 lifetime, const char *external_address, const char *error, gpointer data)
{
  Fixture *f = data;

  f->n_reports++;
  f->ext[protocol] = external_port;
  f->lifetime[protocol] = lifetime;
  g_free (f->address);
  f->address = g_strdup (external_address);
  g_free (f->error[protocol]);
  f->error[protocol] = g_strdup (error);
}

/* one request as the gateway: blocking with the socket's timeout (the
 * client sends from the main context, which is not needed to send) */
static gssize
gw_receive (Fixture *f, guint8 *buf, gsize size, GSocketAddress **from)
{
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive_from (f->gw, from, (char *) buf, size, NULL, &error);

  g_assert_no_error (error);
  return n;
}

static void
reply (GSocket *from, GSocketAddress *to, const guint8 *buf, gsize len)
{
  g_assert_cmpint (g_socket_send_to (from, to, (const char *) buf, len, NULL, NULL), ==, len);
}

static gboolean
wait_reports (Fixture *f, guint n)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * 1000;

  while (f->n_reports < n && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return f->n_reports >= n;
}

/* reads requests until one with @op arrives; returns its length */
static gssize
expect (Fixture *f, guint8 op, guint8 *buf, GSocketAddress **from)
{
  for (;;)
    {
      gssize n;

      g_clear_object (from);
      n = gw_receive (f, buf, 64, from);
      if (n >= 2 && buf[0] == 0 && buf[1] == op)
        return n;
    }
}

static void
map_reply (const guint8 *req, guint16 result, guint16 ext, guint32 lifetime, guint8 out[16])
{
  memset (out, 0, 16);
  out[1] = 0x80 | req[1];
  out[2] = result >> 8;
  out[3] = result & 0xff;
  gbt_test_put_be32 (out + 4, 1234); /* epoch */
  out[8] = req[4];
  out[9] = req[5];
  out[10] = ext >> 8;
  out[11] = ext & 0xff;
  gbt_test_put_be32 (out + 12, lifetime);
}

static void
test_map (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GbtNatPmp *c = gbt_natpmp_new (f->gw_addr, NULL, report_cb, f, &error);
  g_autoptr(GSocketAddress) from = NULL;
  guint8 req[64], tcp_req[12], out[16];
  static const guint8 addr_reply[12] = { 0, 0x80, 0, 0, 0, 0, 0x04, 0xd2, 203, 0, 113, 7 };

  g_assert_no_error (error);
  g_assert_nonnull (c);
  gbt_natpmp_map (c, GBT_NATPMP_TCP, 6881);
  gbt_natpmp_map (c, GBT_NATPMP_UDP, 6882);

  /* the external address request: version 0, opcode 0, nothing else */
  g_assert_cmpint (expect (f, 0, req, &from), ==, 2);
  reply (f->gw, from, addr_reply, sizeof addr_reply);

  /* TCP: opcode 2, internal 6881, suggested 6881, lifetime 7200 */
  g_assert_cmpint (expect (f, 2, req, &from), ==, 12);
  g_assert_cmpuint ((req[4] << 8) | req[5], ==, 6881);
  g_assert_cmpuint ((req[6] << 8) | req[7], ==, 6881);
  g_assert_cmpuint (gbt_test_get_be32 (req + 8), ==, 7200);
  memcpy (tcp_req, req, 12);
  /* an answer from another port than the gateway's is not taken */
  map_reply (tcp_req, 0, 9999, 60, out);
  reply (f->other, from, out, sizeof out);
  map_reply (tcp_req, 0, 40001, 60, out);
  reply (f->gw, from, out, sizeof out);
  g_assert_true (wait_reports (f, 1));
  g_assert_cmpuint (f->ext[GBT_NATPMP_TCP], ==, 40001);
  g_assert_cmpuint (f->lifetime[GBT_NATPMP_TCP], ==, 60);
  g_assert_null (f->error[GBT_NATPMP_TCP]);
  g_assert_cmpstr (f->address, ==, "203.0.113.7");

  /* UDP: opcode 1, refused (2: not authorized) -> an error */
  g_assert_cmpint (expect (f, 1, req, &from), ==, 12);
  g_assert_cmpuint ((req[4] << 8) | req[5], ==, 6882);
  map_reply (req, 2, 0, 0, out);
  reply (f->gw, from, out, sizeof out);
  g_assert_true (wait_reports (f, 2));
  g_assert_cmpuint (f->ext[GBT_NATPMP_UDP], ==, 0);
  g_assert_nonnull (f->error[GBT_NATPMP_UDP]);
  g_assert_nonnull (strstr (f->error[GBT_NATPMP_UDP], "not authorized"));

  /* freed: the TCP mapping's delete (lifetime 0, suggested port 0); none
   * for the refused UDP one */
  gbt_natpmp_free (c);
  do
    g_assert_cmpint (expect (f, 2, req, &from), ==, 12);
  while (gbt_test_get_be32 (req + 8) != 0); /* (skips retransmissions) */
  g_assert_cmpuint ((req[4] << 8) | req[5], ==, 6881);
  g_assert_cmpuint ((req[6] << 8) | req[7], ==, 0);
  g_socket_set_blocking (f->gw, FALSE);
  for (;;)
    {
      gssize n = g_socket_receive (f->gw, (char *) req, sizeof req, NULL, NULL);

      if (n < 0)
        break;
      g_assert_false (n == 12 && req[1] == 1 && gbt_test_get_be32 (req + 8) == 0);
    }
}

/* a lost request is sent again (250 ms later) */
static void
test_retransmit (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  GbtNatPmp *c = gbt_natpmp_new (f->gw_addr, NULL, report_cb, f, &error);
  g_autoptr(GSocketAddress) from = NULL;
  guint8 req[64], out[16];
  gint64 first, end;

  g_assert_nonnull (c);
  gbt_natpmp_map (c, GBT_NATPMP_TCP, 7000);
  expect (f, 2, req, &from);
  first = g_get_monotonic_time ();
  /* the retransmission needs the main context: spin it until it comes */
  g_socket_set_blocking (f->gw, FALSE);
  end = first + WAIT_MS * 1000;
  for (;;)
    {
      gssize n;

      g_clear_object (&from);
      n = g_socket_receive_from (f->gw, &from, (char *) req, sizeof req, NULL, NULL);
      if (n == 12 && req[1] == 2)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
    }
  g_assert_cmpint (g_get_monotonic_time () - first, >=, 200 * 1000);
  map_reply (req, 0, 7000, 7200, out);
  reply (f->gw, from, out, sizeof out);
  g_assert_true (wait_reports (f, 1));
  g_assert_cmpuint (f->ext[GBT_NATPMP_TCP], ==, 7000);
  gbt_natpmp_free (c);
}

/* spins the main context until the gateway gets a request with @op
 * (non-blocking gateway socket), within @ms */
static gboolean
wait_request (Fixture *f, guint8 op, guint8 *buf, GSocketAddress **from, guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_GINT64_CONSTANT (1000);

  g_socket_set_blocking (f->gw, FALSE);
  while (g_get_monotonic_time () < end)
    {
      gssize n;

      g_clear_object (from);
      n = g_socket_receive_from (f->gw, from, (char *) buf, 64, NULL, NULL);
      if (n == 12 && buf[0] == 0 && buf[1] == op)
        return TRUE;
      if (n < 0 && !g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return FALSE;
}

/* a lease is renewed at half its lifetime (8 s granted: 4 s later), with
 * the port it got as the suggestion */
static void
test_renew (Fixture *f, gconstpointer data)
{
  GbtNatPmp *c = gbt_natpmp_new (f->gw_addr, NULL, report_cb, f, NULL);
  g_autoptr(GSocketAddress) from = NULL;
  guint8 req[64], out[16];
  gint64 granted;

  g_assert_nonnull (c);
  gbt_natpmp_map (c, GBT_NATPMP_TCP, 7100);
  g_assert_true (wait_request (f, 2, req, &from, WAIT_MS));
  map_reply (req, 0, 7177, 8, out);
  reply (f->gw, from, out, sizeof out);
  g_assert_true (wait_reports (f, 1));
  granted = g_get_monotonic_time ();
  g_assert_cmpuint (f->ext[GBT_NATPMP_TCP], ==, 7177);
  /* retransmissions of the first request may still be queued: skip them */
  do
    g_assert_true (wait_request (f, 2, req, &from, 8000));
  while (g_get_monotonic_time () - granted < 3 * G_USEC_PER_SEC);
  g_assert_cmpuint ((req[4] << 8) | req[5], ==, 7100);
  g_assert_cmpuint ((req[6] << 8) | req[7], ==, 7177);
  g_assert_cmpuint (gbt_test_get_be32 (req + 8), ==, 7200);
  gbt_natpmp_free (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/natpmp/map", Fixture, NULL, setup, test_map, teardown);
  g_test_add ("/natpmp/retransmit", Fixture, NULL, setup, test_retransmit, teardown);
  g_test_add ("/natpmp/renew", Fixture, NULL, setup, test_renew, teardown);
  return g_test_run ();
}
