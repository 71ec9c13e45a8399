/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session's shared UDP socket (ABI 1.3).  One socket per listen
 * address, on the TCP listener's port number, so that the port a peer
 * learns from our handshake or PORT message reaches uTP and the DHT alike.
 * Each readable wake-up drains the socket in batches (recvmmsg through
 * g_socket_receive_messages), up to a budget, and offers every datagram to
 * the handlers in order until one claims it.  What the handlers send while
 * a batch is being dispatched (uTP's ACKs, the data they let out) is queued
 * and goes in one sendmmsg at the end of the batch; a send at any other
 * time goes at once.
 */
#include "config.h"

#include <errno.h>
#include <time.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "gbt-context.h"
#include "gbt-udp-port-private.h"

#define BATCH 32
/* larger datagrams are truncated, and dropped: uTP searches up to 16 KiB
 * on loopback, and to the path MTU (1500 on Ethernet) elsewhere */
#define SLOT_SIZE (16 * 1024 + 512)
#define BUDGET_DATAGRAMS 512 /* per wake-up: then the other sources run */
#define SOCKET_BUFFER (4 * 1024 * 1024)
#define OUT_BATCH 64
#define OUT_SLOT 1500 /* larger datagrams are never queued */

typedef struct {
  guint id;
  GbtUdpHandlerFunc func;              /* one of the two */
  GbtUdpUnreachableFunc unreachable;
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean alive;
} Handler;

struct _GbtUdpPort {
  GObject parent_instance;

  GSocket *socket;
  GInetSocketAddress *local;
  gboolean ipv6; /* an IPv6 socket: IPv4 destinations go as v4-mapped */
  GMainContext *context;
  GSource *source;
  GArray *handlers; /* Handler */
  guint next_id;
  guint dispatching;
  gboolean removed_during_dispatch;
  guint8 *slots; /* BATCH * SLOT_SIZE */
  /* sends queued during a dispatch */
  guint8 *out_slots; /* OUT_BATCH * OUT_SLOT */
  GSocketAddress *out_to[OUT_BATCH];
  gsize out_len[OUT_BATCH];
  guint n_out;
  guint64 received, dropped, unreachable;
};

G_DEFINE_FINAL_TYPE (GbtUdpPort, gbt_udp_port, G_TYPE_OBJECT)

static void flush_out (GbtUdpPort *self);

static void
clear_handler (Handler *h)
{
  GDestroyNotify destroy = h->destroy;
  gpointer data = h->user_data;

  h->alive = FALSE;
  h->func = NULL;
  h->unreachable = NULL;
  h->destroy = NULL;
  h->user_data = NULL;
  if (destroy)
    destroy (data);
}

static void
gbt_udp_port_dispose (GObject *object)
{
  GbtUdpPort *self = GBT_UDP_PORT (object);

  if (self->source)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  if (self->handlers)
    {
      for (guint i = 0; i < self->handlers->len; i++)
        clear_handler (&g_array_index (self->handlers, Handler, i));
      g_array_set_size (self->handlers, 0);
    }
  if (self->socket && self->n_out > 0)
    flush_out (self);
  if (self->socket)
    g_socket_close (self->socket, NULL);
  G_OBJECT_CLASS (gbt_udp_port_parent_class)->dispose (object);
}

static void
gbt_udp_port_finalize (GObject *object)
{
  GbtUdpPort *self = GBT_UDP_PORT (object);

  g_clear_object (&self->socket);
  g_clear_object (&self->local);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->handlers, g_array_unref);
  g_free (self->slots);
  g_free (self->out_slots);
  G_OBJECT_CLASS (gbt_udp_port_parent_class)->finalize (object);
}

static void
gbt_udp_port_class_init (GbtUdpPortClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gbt_udp_port_dispose;
  object_class->finalize = gbt_udp_port_finalize;
}

static void
gbt_udp_port_init (GbtUdpPort *self)
{
  self->handlers = g_array_new (FALSE, TRUE, sizeof (Handler));
  self->next_id = 1;
}

/* ::ffff:a.b.c.d as a.b.c.d; anything else as it is (a new reference) */
GInetSocketAddress *
gbt_udp_port_unmap (GInetSocketAddress *address)
{
  GInetAddress *ip = g_inet_socket_address_get_address (address);

  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ip);
      static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, prefix, 12) == 0)
        {
          g_autoptr(GInetAddress) v4 = g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
          return G_INET_SOCKET_ADDRESS (
              g_inet_socket_address_new (v4, g_inet_socket_address_get_port (address)));
        }
    }
  return g_object_ref (address);
}

static void
flush_out (GbtUdpPort *self)
{
  GOutputVector vectors[OUT_BATCH];
  GOutputMessage messages[OUT_BATCH];
  guint done = 0;

  for (guint i = 0; i < self->n_out; i++)
    {
      vectors[i] = (GOutputVector){ self->out_slots + (gsize) i * OUT_SLOT, self->out_len[i] };
      messages[i] = (GOutputMessage){ .address = self->out_to[i], .vectors = &vectors[i],
                                      .num_vectors = 1 };
    }
  while (done < self->n_out && self->socket != NULL && !g_socket_is_closed (self->socket))
    {
      g_autoptr(GError) error = NULL;
      int n = g_socket_send_messages (self->socket, messages + done, self->n_out - done, 0, NULL,
                                      &error);

      if (n <= 0)
        {
          /* the one that failed is lost (UDP: its sender resends); a full
           * buffer loses the rest of the batch too */
          if (error && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            break;
          done++;
          continue;
        }
      done += (guint) n;
    }
  for (guint i = 0; i < self->n_out; i++)
    g_clear_object (&self->out_to[i]);
  self->n_out = 0;
}

static void
compact_handlers (GbtUdpPort *self)
{
  for (guint i = self->handlers->len; i > 0; i--)
    if (!g_array_index (self->handlers, Handler, i - 1).alive)
      g_array_remove_index (self->handlers, i - 1);
  self->removed_during_dispatch = FALSE;
}

static void
dispatch (GbtUdpPort *self, const guint8 *data, gsize len, GSocketAddress *from)
{
  g_autoptr(GInetSocketAddress) sender = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (from) || len == 0)
    return;
  sender = gbt_udp_port_unmap (G_INET_SOCKET_ADDRESS (from));
  self->received++;
  /* handlers added meanwhile are not offered this datagram */
  for (guint i = 0, n = self->handlers->len; i < n; i++)
    {
      Handler *h = &g_array_index (self->handlers, Handler, i);

      if (h->alive && h->func != NULL && h->func (self, data, len, sender, h->user_data))
        return;
    }
  self->dropped++;
}

/* IP_RECVERR: the ICMP errors our datagrams met (port unreachable: no
 * one listens there), each with the destination it was sent to */
static void
drain_errors (GbtUdpPort *self)
{
  int fd = g_socket_get_fd (self->socket);

  for (guint n = 0; n < 64; n++)
    {
      struct sockaddr_storage to;
      char control[512];
      char dummy[64];
      struct iovec iov = { dummy, sizeof dummy };
      struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = control,
                            .msg_controllen = sizeof control };
      struct sock_extended_err *ee = NULL;
      g_autoptr(GSocketAddress) native = NULL;
      g_autoptr(GInetSocketAddress) dest = NULL;
      g_autoptr(GError) error = NULL;

      if (recvmsg (fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
        return;
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR)
            || (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
          ee = (struct sock_extended_err *) CMSG_DATA (c);
      if (ee == NULL || (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6)
          || msg.msg_namelen == 0)
        continue;
      native = g_socket_address_new_from_native (&to, msg.msg_namelen);
      if (!G_IS_INET_SOCKET_ADDRESS (native))
        continue;
      dest = gbt_udp_port_unmap (G_INET_SOCKET_ADDRESS (native));
      error = g_error_new_literal (G_IO_ERROR, g_io_error_from_errno ((int) ee->ee_errno),
                                   g_strerror ((int) ee->ee_errno));
      self->unreachable++;
      for (guint i = 0, len = self->handlers->len; i < len; i++)
        {
          Handler *h = &g_array_index (self->handlers, Handler, i);

          if (h->alive && h->unreachable != NULL)
            h->unreachable (self, dest, error, h->user_data);
        }
    }
}

static gboolean
readable_cb (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  GbtUdpPort *self = user_data;
  GInputVector vectors[BATCH];
  GInputMessage messages[BATCH];
  GSocketAddress *addresses[BATCH];
  guint total = 0;

  g_object_ref (self);
  self->dispatching++;
  if (cond & G_IO_ERR)
    drain_errors (self);
  while (total < BUDGET_DATAGRAMS && self->socket != NULL && !g_socket_is_closed (socket))
    {
      g_autoptr(GError) error = NULL;
      int got;

      for (guint i = 0; i < BATCH; i++)
        {
          vectors[i].buffer = self->slots + (gsize) i * SLOT_SIZE;
          vectors[i].size = SLOT_SIZE;
          addresses[i] = NULL;
          messages[i] = (GInputMessage){ .address = &addresses[i], .vectors = &vectors[i],
                                         .num_vectors = 1 };
        }
      got = g_socket_receive_messages (socket, messages, BATCH, 0, NULL, &error);
      if (got <= 0)
        {
          /* WOULD_BLOCK: drained.  Anything else (an ICMP error queued on
           * the socket, ECONNREFUSED) belongs to one datagram we sent: go on */
          if (got < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              drain_errors (self);
              total++;
              continue;
            }
          break;
        }
      for (int i = 0; i < got; i++)
        {
          if ((messages[i].flags & MSG_TRUNC) == 0 && addresses[i] != NULL)
            dispatch (self, vectors[i].buffer, messages[i].bytes_received, addresses[i]);
          g_clear_object (&addresses[i]);
        }
      total += got;
      if (got < BATCH)
        break;
    }
  self->dispatching--;
  if (self->dispatching == 0 && self->n_out > 0)
    flush_out (self);
  if (self->dispatching == 0 && self->removed_during_dispatch)
    compact_handlers (self);
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

static void
set_buffer (GSocket *socket, int force_option, int option, int size)
{
  g_autoptr(GError) error = NULL;

  /* past net.core.[rw]mem_max only with CAP_NET_ADMIN; else the kernel
   * caps it there: a hint, not a demand */
  if (g_socket_set_option (socket, SOL_SOCKET, force_option, size, NULL))
    return;
  if (!g_socket_set_option (socket, SOL_SOCKET, option, size, &error))
    g_debug ("udp port: buffer size: %s", error->message);
}

/* DF on everything, whatever the kernel's path-MTU cache says (PROBE), or
 * fragments allowed (DONT) */
static void
set_fragmenting (GbtUdpPort *self, gboolean may_fragment)
{
  int v4 = may_fragment ? IP_PMTUDISC_DONT : IP_PMTUDISC_PROBE;

  /* a dual-stack socket sends IPv4 under the IPv4 option */
  g_socket_set_option (self->socket, IPPROTO_IP, IP_MTU_DISCOVER, v4, NULL);
  if (self->ipv6)
    g_socket_set_option (self->socket, IPPROTO_IPV6, IPV6_MTU_DISCOVER,
                         may_fragment ? IPV6_PMTUDISC_DONT : IPV6_PMTUDISC_PROBE, NULL);
}

GbtUdpPort *
gbt_udp_port_new (GInetSocketAddress *address, GError **error)
{
  g_autoptr(GbtUdpPort) self = g_object_new (GBT_TYPE_UDP_PORT, NULL);
  GSocketFamily family = g_inet_address_get_family (g_inet_socket_address_get_address (address));
  g_autoptr(GSocketAddress) bound = NULL;

  self->socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (self->socket == NULL)
    return NULL;
  g_socket_set_blocking (self->socket, FALSE);
  self->ipv6 = family == G_SOCKET_FAMILY_IPV6;
  if (!g_socket_bind (self->socket, G_SOCKET_ADDRESS (address), FALSE, error))
    return NULL;
  bound = g_socket_get_local_address (self->socket, error);
  if (bound == NULL)
    return NULL;
  self->local = G_INET_SOCKET_ADDRESS (g_steal_pointer (&bound));
  set_buffer (self->socket, SO_RCVBUFFORCE, SO_RCVBUF, SOCKET_BUFFER);
  set_buffer (self->socket, SO_SNDBUFFORCE, SO_SNDBUF, SOCKET_BUFFER);
  set_fragmenting (self, FALSE);
  /* ICMP errors (port unreachable) into the error queue, with whom they
   * are about */
  g_socket_set_option (self->socket, IPPROTO_IP, IP_RECVERR, 1, NULL);
  if (self->ipv6)
    g_socket_set_option (self->socket, IPPROTO_IPV6, IPV6_RECVERR, 1, NULL);
  self->slots = g_malloc ((gsize) BATCH * SLOT_SIZE);
  self->out_slots = g_malloc ((gsize) OUT_BATCH * OUT_SLOT);
  self->context = g_main_context_ref_thread_default ();
  self->source = g_socket_create_source (self->socket, G_IO_IN | G_IO_ERR, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (readable_cb), self, NULL);
  g_source_attach (self->source, self->context);
  return g_steal_pointer (&self);
}

guint
gbt_udp_port_add_handler (GbtUdpPort *self, GbtUdpHandlerFunc func, gpointer user_data,
                          GDestroyNotify destroy)
{
  Handler h = { 0 };

  g_return_val_if_fail (GBT_IS_UDP_PORT (self), 0);
  g_return_val_if_fail (func != NULL, 0);
  h.id = self->next_id++;
  h.func = func;
  h.user_data = user_data;
  h.destroy = destroy;
  h.alive = TRUE;
  g_array_append_val (self->handlers, h);
  return h.id;
}

guint
gbt_udp_port_add_unreachable_handler (GbtUdpPort *self, GbtUdpUnreachableFunc func,
                                      gpointer user_data, GDestroyNotify destroy)
{
  Handler h = { 0 };

  g_return_val_if_fail (GBT_IS_UDP_PORT (self), 0);
  g_return_val_if_fail (func != NULL, 0);
  h.id = self->next_id++;
  h.unreachable = func;
  h.user_data = user_data;
  h.destroy = destroy;
  h.alive = TRUE;
  g_array_append_val (self->handlers, h);
  return h.id;
}

void
gbt_udp_port_remove_handler (GbtUdpPort *self, guint id)
{
  g_return_if_fail (GBT_IS_UDP_PORT (self));
  for (guint i = 0; i < self->handlers->len; i++)
    {
      Handler *h = &g_array_index (self->handlers, Handler, i);

      if (h->id != id || !h->alive)
        continue;
      if (self->dispatching)
        {
          /* the array is being walked: blank it, compact later */
          clear_handler (h);
          self->removed_during_dispatch = TRUE;
        }
      else
        {
          Handler copy = *h;
          g_array_remove_index (self->handlers, i);
          clear_handler (&copy);
        }
      return;
    }
}

gboolean
gbt_udp_port_send (GbtUdpPort *self, GSocketAddress *to, const guint8 *data, gsize len,
                   GError **error)
{
  return gbt_udp_port_send_full (self, to, data, len, GBT_UDP_SEND_NONE, error);
}

gboolean
gbt_udp_port_send_full (GbtUdpPort *self, GSocketAddress *to, const guint8 *data, gsize len,
                        GbtUdpSendFlags flags, GError **error)
{
  g_autoptr(GSocketAddress) mapped = NULL;
  gssize sent;

  g_return_val_if_fail (GBT_IS_UDP_PORT (self), FALSE);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (to), FALSE);
  if (self->socket == NULL || g_socket_is_closed (self->socket))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the UDP port is closed");
      return FALSE;
    }
  if (self->ipv6)
    {
      GInetAddress *ip = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (to));

      if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
        {
          guint8 b[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
          g_autoptr(GInetAddress) v6 = NULL;

          memcpy (b + 12, g_inet_address_to_bytes (ip), 4);
          v6 = g_inet_address_new_from_bytes (b, G_SOCKET_FAMILY_IPV6);
          mapped = g_inet_socket_address_new (
              v6, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (to)));
          to = mapped;
        }
    }
  else if (g_inet_address_get_family (
               g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (to)))
           == G_SOCKET_FAMILY_IPV6)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "an IPv6 destination on an IPv4 UDP port");
      return FALSE;
    }
  /* inside a dispatch: queue it for the batch's one sendmmsg */
  if (self->dispatching > 0 && len <= OUT_SLOT && !(flags & GBT_UDP_SEND_MAY_FRAGMENT))
    {
      if (self->n_out == OUT_BATCH)
        flush_out (self);
      memcpy (self->out_slots + (gsize) self->n_out * OUT_SLOT, data, len);
      self->out_len[self->n_out] = len;
      self->out_to[self->n_out] = g_object_ref (to);
      self->n_out++;
      return TRUE;
    }
  if (flags & GBT_UDP_SEND_MAY_FRAGMENT)
    set_fragmenting (self, TRUE);
  sent = g_socket_send_to (self->socket, to, (const char *) data, len, NULL, error);
  if (flags & GBT_UDP_SEND_MAY_FRAGMENT)
    set_fragmenting (self, FALSE);
  return sent >= 0;
}

GInetSocketAddress *
gbt_udp_port_get_local_address (GbtUdpPort *self)
{
  g_return_val_if_fail (GBT_IS_UDP_PORT (self), NULL);
  return self->local;
}

GMainContext *
gbt_udp_port_get_context (GbtUdpPort *self)
{
  g_return_val_if_fail (GBT_IS_UDP_PORT (self), NULL);
  return self->context;
}

void
gbt_udp_port_get_counts (GbtUdpPort *self, guint64 *received, guint64 *dropped)
{
  g_return_if_fail (GBT_IS_UDP_PORT (self));
  if (received)
    *received = self->received;
  if (dropped)
    *dropped = self->dropped;
}
