/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NAT-PMP (RFC 6886).  Requests go to the gateway's port 5351 and are
 * retransmitted after 250 ms, doubling, up to MAX_TRIES times; a gateway
 * that never answers is reported as an error and asked again after
 * RETRY_US.  A granted mapping is renewed at half its lifetime.  Answers
 * are taken only from the gateway's address and port, only when their
 * length and opcode fit.  Freeing the client sends each mapping's delete
 * (lifetime 0) once: it cannot wait for the answer, the process may be
 * exiting; a lost delete expires with its lease.
 */
#include <string.h>

#include "gbt-natpmp.h"

#define NATPMP_PORT 5351
#define LIFETIME 7200 /* seconds asked for; the RFC's recommendation */
#define FIRST_TIMEOUT_MS 250
#define MAX_TRIES 6 /* 250 ms .. 8 s: about 16 s in all */
#define RETRY_S 300 /* after an error */

enum { OP_ADDRESS = 0, OP_MAP_UDP = 1, OP_MAP_TCP = 2 };

typedef struct {
  GbtNatPmp *client;
  GbtNatPmpProtocol protocol;
  guint16 internal_port; /* 0: unused */
  guint16 external_port; /* 0: not mapped */
  guint32 lifetime;
  guint tries;
  guint timer;
  gboolean waiting; /* a request is out */
} Mapping;

struct _GbtNatPmp {
  GSocket *socket;
  GSource *source;
  GSocketAddress *gateway;
  GInetAddress *gateway_ip;
  GbtNatPmpFunc func;
  gpointer data;
  char *external_address;
  guint address_tries;
  guint address_timer;
  Mapping maps[2];
};

static void map_send (Mapping *m);

static guint8
map_opcode (GbtNatPmpProtocol protocol)
{
  return protocol == GBT_NATPMP_TCP ? OP_MAP_TCP : OP_MAP_UDP;
}

static void
send_bytes (GbtNatPmp *self, const guint8 *buf, gsize len)
{
  g_autoptr(GError) error = NULL;

  if (g_socket_send_to (self->socket, self->gateway, (const char *) buf, len, NULL, &error) < 0)
    g_debug ("natpmp: send: %s", error->message);
}

static void
report (Mapping *m, const char *error)
{
  GbtNatPmp *self = m->client;

  self->func (m->protocol, m->internal_port, m->external_port, m->lifetime,
              self->external_address, error, self->data);
}

static gboolean
map_timeout_cb (gpointer user_data)
{
  Mapping *m = user_data;

  m->timer = 0;
  if (m->waiting && m->tries >= MAX_TRIES)
    {
      m->waiting = FALSE;
      m->tries = 0;
      m->external_port = 0;
      report (m, "no answer from the gateway (NAT-PMP)");
      m->timer = g_timeout_add_seconds (RETRY_S, map_timeout_cb, m);
      return G_SOURCE_REMOVE;
    }
  map_send (m);
  return G_SOURCE_REMOVE;
}

static void
map_send (Mapping *m)
{
  guint8 req[12] = { 0, map_opcode (m->protocol), 0, 0 };

  req[4] = m->internal_port >> 8;
  req[5] = m->internal_port & 0xff;
  /* suggest the port we had, else the internal one */
  req[6] = (m->external_port ? m->external_port : m->internal_port) >> 8;
  req[7] = (m->external_port ? m->external_port : m->internal_port) & 0xff;
  req[8] = (LIFETIME >> 24) & 0xff;
  req[9] = (LIFETIME >> 16) & 0xff;
  req[10] = (LIFETIME >> 8) & 0xff;
  req[11] = LIFETIME & 0xff;
  send_bytes (m->client, req, sizeof req);
  m->waiting = TRUE;
  m->timer = g_timeout_add (FIRST_TIMEOUT_MS << m->tries, map_timeout_cb, m);
  m->tries++;
}

static gboolean
address_timeout_cb (gpointer user_data)
{
  GbtNatPmp *self = user_data;
  static const guint8 req[2] = { 0, OP_ADDRESS };

  self->address_timer = 0;
  if (self->address_tries >= MAX_TRIES)
    return G_SOURCE_REMOVE; /* the mappings report the silence */
  send_bytes (self, req, sizeof req);
  self->address_timer = g_timeout_add (FIRST_TIMEOUT_MS << self->address_tries,
                                       address_timeout_cb, self);
  self->address_tries++;
  return G_SOURCE_REMOVE;
}

static const char *
result_text (guint16 code)
{
  switch (code)
    {
    case 1: return "unsupported NAT-PMP version";
    case 2: return "not authorized (mapping refused by the gateway)";
    case 3: return "gateway network failure";
    case 4: return "gateway out of resources";
    case 5: return "unsupported opcode";
    default: return "gateway error";
    }
}

static void
handle_reply (GbtNatPmp *self, const guint8 *buf, gssize len)
{
  guint16 result;

  if (len < 8 || buf[0] != 0 || (buf[1] & 0x80) == 0)
    return;
  result = (buf[2] << 8) | buf[3];
  if (buf[1] == (0x80 | OP_ADDRESS))
    {
      if (len < 12 || !self->address_timer)
        return;
      g_clear_handle_id (&self->address_timer, g_source_remove);
      if (result == 0)
        {
          g_autoptr(GInetAddress) a = g_inet_address_new_from_bytes (buf + 8, G_SOCKET_FAMILY_IPV4);
          g_free (self->external_address);
          self->external_address = g_inet_address_to_string (a);
          for (guint i = 0; i < G_N_ELEMENTS (self->maps); i++)
            if (self->maps[i].external_port)
              report (&self->maps[i], NULL);
        }
      return;
    }
  if (len < 16)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->maps); i++)
    {
      Mapping *m = &self->maps[i];
      guint16 internal = (buf[8] << 8) | buf[9];

      if (!m->waiting || buf[1] != (0x80 | map_opcode (m->protocol)) || internal != m->internal_port)
        continue;
      m->waiting = FALSE;
      m->tries = 0;
      g_clear_handle_id (&m->timer, g_source_remove);
      if (result != 0)
        {
          m->external_port = 0;
          m->lifetime = 0;
          report (m, result_text (result));
          m->timer = g_timeout_add_seconds (RETRY_S, map_timeout_cb, m);
          return;
        }
      m->external_port = (buf[10] << 8) | buf[11];
      m->lifetime = ((guint32) buf[12] << 24) | (buf[13] << 16) | (buf[14] << 8) | buf[15];
      report (m, NULL);
      /* renew at half the lease (at least a few seconds apart) */
      m->timer = g_timeout_add_seconds (MAX (m->lifetime / 2, 4), map_timeout_cb, m);
      return;
    }
}

static gboolean
readable_cb (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  GbtNatPmp *self = user_data;

  for (;;)
    {
      guint8 buf[64];
      g_autoptr(GSocketAddress) from = NULL;
      gssize n = g_socket_receive_from (socket, &from, (char *) buf, sizeof buf, NULL, NULL);

      if (n < 0)
        break;
      if (!G_IS_INET_SOCKET_ADDRESS (from)
          || g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from))
                 != g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (self->gateway))
          || !g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (from)),
                                    self->gateway_ip))
        continue;
      handle_reply (self, buf, n);
    }
  return G_SOURCE_CONTINUE;
}

GbtNatPmp *
gbt_natpmp_new (GInetSocketAddress *gateway, GInetAddress *bind, GbtNatPmpFunc func,
                gpointer data, GError **error)
{
  g_autoptr(GSocket) sock = NULL;
  g_autoptr(GInetAddress) any = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  GbtNatPmp *self;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (gateway), NULL);
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (sock == NULL)
    return NULL;
  if (bind == NULL || g_inet_address_get_family (bind) != G_SOCKET_FAMILY_IPV4)
    bind = any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  local = g_inet_socket_address_new (bind, 0);
  if (!g_socket_bind (sock, local, FALSE, error))
    return NULL;
  g_socket_set_blocking (sock, FALSE);

  self = g_new0 (GbtNatPmp, 1);
  self->socket = g_steal_pointer (&sock);
  self->gateway_ip = g_object_ref (g_inet_socket_address_get_address (gateway));
  self->gateway = g_inet_socket_address_new (self->gateway_ip,
                                             g_inet_socket_address_get_port (gateway)
                                                 ? g_inet_socket_address_get_port (gateway)
                                                 : NATPMP_PORT);
  self->func = func;
  self->data = data;
  for (guint i = 0; i < G_N_ELEMENTS (self->maps); i++)
    self->maps[i].client = self;
  self->source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_attach (self->source, g_main_context_get_thread_default ());
  address_timeout_cb (self);
  return self;
}

void
gbt_natpmp_map (GbtNatPmp *self, GbtNatPmpProtocol protocol, guint16 internal_port)
{
  Mapping *m = &self->maps[protocol];

  g_return_if_fail (internal_port != 0);
  g_clear_handle_id (&m->timer, g_source_remove);
  m->protocol = protocol;
  m->internal_port = internal_port;
  m->external_port = 0;
  m->tries = 0;
  map_send (m);
}

void
gbt_natpmp_free (GbtNatPmp *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->maps); i++)
    {
      Mapping *m = &self->maps[i];
      guint8 req[12] = { 0, map_opcode (m->protocol), 0, 0 };

      g_clear_handle_id (&m->timer, g_source_remove);
      if (m->internal_port == 0 || (m->external_port == 0 && !m->waiting))
        continue;
      /* RFC 6886 3.4: delete = lifetime 0 and suggested external port 0 */
      req[4] = m->internal_port >> 8;
      req[5] = m->internal_port & 0xff;
      send_bytes (self, req, sizeof req);
    }
  g_clear_handle_id (&self->address_timer, g_source_remove);
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_socket_close (self->socket, NULL);
  g_object_unref (self->socket);
  g_object_unref (self->gateway);
  g_object_unref (self->gateway_ip);
  g_free (self->external_address);
  g_free (self);
}

GInetAddress *
gbt_natpmp_default_gateway (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/route", &text, NULL, NULL))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (lines[i], " \t", -1);
      g_autoptr(GPtrArray) cols = g_ptr_array_new ();
      guint32 dest, gw;
      char *end;

      for (guint j = 0; f[j]; j++)
        if (*f[j])
          g_ptr_array_add (cols, f[j]);
      if (cols->len < 4)
        continue;
      dest = (guint32) g_ascii_strtoull (g_ptr_array_index (cols, 1), &end, 16);
      gw = (guint32) g_ascii_strtoull (g_ptr_array_index (cols, 2), &end, 16);
      /* flags: RTF_UP 0x1, RTF_GATEWAY 0x2; the kernel prints host order */
      if (dest == 0 && gw != 0
          && (g_ascii_strtoull (g_ptr_array_index (cols, 3), NULL, 16) & 0x3) == 0x3)
        return g_inet_address_new_from_bytes ((const guint8 *) &gw, G_SOCKET_FAMILY_IPV4);
    }
  return NULL;
}
