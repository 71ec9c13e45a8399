/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uTP connections on one GbtUdpPort: see gbt-utp-socket.h for the rules.
 *
 * Entries are freed only by the packet handler and the timer, for the one
 * entry they are working on; callbacks into the core (accept, a connect's
 * GTask) may add entries or release streams, never free one.  The timer
 * walks a snapshot of the table for that reason.
 */
#include <string.h>

#include "gbt-utp-socket-private.h"

#define PORT_DATA_KEY "gbt-utp-socket"
#define SWEEP_US G_USEC_PER_SEC
#define MIN_SCAN_US 250
/* a SYN cookie is good for this long, or twice as long at most */
#define COOKIE_SLOT_US (30 * G_USEC_PER_SEC)

typedef struct {
  guint8 addr[16];
  guint16 port;
  guint16 id;   /* our recv_id */
  guint8 family;
  guint8 pad;
} Key;

struct _GbtUtpEntry {
  GbtUtpSocket *sock;
  GbtUtpConn *conn;
  GSocketAddress *remote;
  Key key;
  GbtUtpStream *stream;        /* weak: the stream tells us when it goes */
  GTask *task;                 /* an outgoing connect, until CONNECTED */
  GSource *cancel_source;
  GList half_link;             /* in sock->half_open while half_open */
  gint64 created_us, last_rx_us, connect_until, linger_until;
  gboolean half_open;          /* accepted, only the SYN seen so far */
  gboolean got_valid;          /* a valid non-SYN packet arrived */
  gboolean released;           /* the stream is closed or gone */
  gboolean unreachable;        /* an ICMP error came back for our SYN */
};

struct _GbtUtpSocket {
  GObject parent_instance;

  GbtUdpPort *port;
  GMainContext *context;
  guint handler_id;
  guint unreachable_id;
  GbtUtpSocketConfig config;
  GbtTransportAcceptFunc func;
  gpointer user_data;
  GHashTable *table;           /* Key -> GbtUtpEntry */
  GQueue half_open;            /* GbtUtpEntry, oldest first */
  GSource *timer;
  gint64 timer_at;             /* the timer's ready time, G_MAXINT64: none */
  gint64 next_sweep;
  GPtrArray *snapshot;
  gboolean ipv4_only;
  gboolean disposed;
  double reset_tokens;
  gint64 reset_refill_us;
  guint64 secret[2];            /* SYN cookies */
  guint64 resets_sent, syns_dropped, ignored;
};

G_DEFINE_FINAL_TYPE (GbtUtpSocket, gbt_utp_socket, G_TYPE_OBJECT)

void
gbt_utp_socket_config_init (GbtUtpSocketConfig *config)
{
  g_return_if_fail (config != NULL);
  config->max_connections = 2048;
  config->max_half_open = 64;
  config->half_open_timeout_us = 10 * G_USEC_PER_SEC;
  config->connect_timeout_us = 3 * G_USEC_PER_SEC;
  config->idle_timeout_us = 5 * 60 * G_USEC_PER_SEC;
  config->linger_timeout_us = 20 * G_USEC_PER_SEC;
  config->resets_per_second = 50;
  config->mtu_search = TRUE;
  gbt_utp_conn_config_init (&config->conn);
}

/* one connection's settings: the datagram sizes searched depend on the
 * path (loopback, IPv4, IPv6) */
static void
conn_config_for (GbtUtpSocket *self, GInetSocketAddress *remote, GbtUtpConnConfig *out)
{
  GInetAddress *ip = g_inet_socket_address_get_address (remote);

  *out = self->config.conn;
  if (self->config.mtu_search)
    gbt_utp_conn_config_set_path (out, g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6,
                                  g_inet_address_get_is_loopback (ip));
}

static guint
key_hash (gconstpointer p)
{
  const Key *k = p;
  const guint8 *b = p;
  guint32 h = 2166136261u;

  /* FNV-1a over the bytes that matter */
  for (gsize i = 0; i < (k->family == 4 ? 4 : 16); i++)
    h = (h ^ b[i]) * 16777619u;
  h = (h ^ k->port) * 16777619u;
  h = (h ^ k->id) * 16777619u;
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (Key)) == 0;
}

static void
key_fill (Key *k, GInetSocketAddress *address, guint16 id)
{
  GInetAddress *ip = g_inet_socket_address_get_address (address);
  gsize n = g_inet_address_get_native_size (ip);

  memset (k, 0, sizeof *k);
  memcpy (k->addr, g_inet_address_to_bytes (ip), MIN (n, sizeof k->addr));
  k->family = n == 4 ? 4 : 6;
  k->port = g_inet_socket_address_get_port (address);
  k->id = id;
}

static GbtUtpEntry *
lookup (GbtUtpSocket *self, Key *k, guint16 id)
{
  k->id = id;
  return g_hash_table_lookup (self->table, k);
}

/* ---- timers */

static void
schedule (GbtUtpSocket *self, gint64 at)
{
  if (self->timer == NULL || at >= self->timer_at)
    return;
  self->timer_at = at;
  g_source_set_ready_time (self->timer, at);
}

static gint64
entry_deadline (GbtUtpEntry *e)
{
  gint64 d = gbt_utp_conn_get_deadline (e->conn);

  if (e->task != NULL)
    d = MIN (d, e->connect_until);
  return d;
}

static gboolean
conn_is_over (GbtUtpConn *conn)
{
  GbtUtpConnState state = gbt_utp_conn_get_state (conn);

  return state == GBT_UTP_CONN_CLOSED || state == GBT_UTP_CONN_RESET;
}

/* ---- entries */

static void
send_cb (gpointer user_data, const guint8 *data, gsize len)
{
  GbtUtpEntry *e = user_data;

  g_autoptr(GError) error = NULL;

  /* a full socket buffer drops the datagram: uTP resends */
  if (!gbt_udp_port_send (e->sock->port, e->remote, data, len, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE) && e->conn != NULL)
    gbt_utp_conn_mtu_too_big (e->conn, len); /* past the interface's MTU */
}

/* the resend of an MTU probe that was too big: it may go as fragments */
static void
send_fragmentable_cb (gpointer user_data, const guint8 *data, gsize len)
{
  GbtUtpEntry *e = user_data;

  gbt_udp_port_send_full (e->sock->port, e->remote, data, len, GBT_UDP_SEND_MAY_FRAGMENT, NULL);
}

static GbtUtpEntry *
entry_new (GbtUtpSocket *self, GInetSocketAddress *remote, const Key *key, gint64 now)
{
  GbtUtpEntry *e = g_new0 (GbtUtpEntry, 1);

  e->sock = self;
  e->remote = G_SOCKET_ADDRESS (g_object_ref (remote));
  e->key = *key;
  e->half_link.data = e;
  e->created_us = e->last_rx_us = now;
  return e;
}

static void
fail_task (GbtUtpEntry *e, gint code, const char *message)
{
  GTask *task = g_steal_pointer (&e->task);

  if (e->cancel_source != NULL)
    {
      g_source_destroy (e->cancel_source);
      g_clear_pointer (&e->cancel_source, g_source_unref);
    }
  if (task == NULL)
    return;
  g_task_return_new_error (task, G_IO_ERROR, code, "%s", message);
  g_object_unref (task);
}

static void
entry_free (gpointer data)
{
  GbtUtpEntry *e = data;

  if (e->half_open)
    g_queue_unlink (&e->sock->half_open, &e->half_link);
  if (e->stream != NULL)
    gbt_utp_stream_orphan (g_steal_pointer (&e->stream));
  fail_task (e, G_IO_ERROR_CLOSED, "the uTP socket was closed");
  gbt_utp_conn_free (e->conn);
  g_object_unref (e->remote);
  g_free (e);
}

static void
remove_entry (GbtUtpSocket *self, GbtUtpEntry *e)
{
  g_hash_table_remove (self->table, &e->key);
}

static void
accept_entry (GbtUtpSocket *self, GbtUtpEntry *e)
{
  g_autoptr(GbtUtpStream) stream = NULL;

  if (e->half_open)
    g_queue_unlink (&self->half_open, &e->half_link);
  e->half_open = FALSE;
  stream = gbt_utp_stream_new (e, e->remote);
  e->stream = stream;
  /* the core takes its own reference if it keeps the stream; if not, the
   * unref below releases the entry */
  self->func (G_IO_STREAM (stream), e->remote, self->user_data);
}

/* Acts on what changed in @e's connection.  Returns FALSE when @e was freed. */
static gboolean
process (GbtUtpSocket *self, GbtUtpEntry *e)
{
  GbtUtpConnState state = gbt_utp_conn_get_state (e->conn);

  if (e->task != NULL)
    {
      if (state == GBT_UTP_CONN_CONNECTED)
        {
          GTask *task = g_steal_pointer (&e->task);
          GbtUtpStream *stream = gbt_utp_stream_new (e, e->remote);

          if (e->cancel_source != NULL)
            {
              g_source_destroy (e->cancel_source);
              g_clear_pointer (&e->cancel_source, g_source_unref);
            }
          e->stream = stream;
          g_task_return_pointer (task, stream, g_object_unref);
          g_object_unref (task);
          return TRUE;
        }
      if (state == GBT_UTP_CONN_SYN_SENT)
        return TRUE;
      if (gbt_utp_conn_get_error (e->conn) == GBT_UTP_CONN_ERROR_RESET_BY_PEER)
        fail_task (e, G_IO_ERROR_CONNECTION_REFUSED, "uTP connection refused (RESET)");
      else if (e->unreachable)
        fail_task (e, G_IO_ERROR_CONNECTION_REFUSED, "uTP connection refused (port unreachable)");
      else
        fail_task (e, G_IO_ERROR_TIMED_OUT, "uTP connection timed out");
      remove_entry (self, e);
      return FALSE;
    }
  if (e->half_open)
    {
      if (state == GBT_UTP_CONN_CLOSED || state == GBT_UTP_CONN_RESET)
        {
          remove_entry (self, e);
          return FALSE;
        }
      if (!e->got_valid || self->func == NULL)
        return TRUE;
      accept_entry (self, e);
      /* the stream may already be gone again */
    }
  if (e->stream != NULL)
    {
      gbt_utp_stream_wake (e->stream);
      return TRUE;
    }
  if (e->released)
    {
      guint8 sink[4096];
      gint64 now = g_get_monotonic_time ();

      /* nobody reads any more: let the peer's data (and FIN) through */
      while (gbt_utp_conn_read (e->conn, sink, sizeof sink, now) > 0)
        ;
      if (conn_is_over (e->conn) || gbt_utp_conn_get_fin_acked (e->conn))
        {
          remove_entry (self, e);
          return FALSE;
        }
    }
  return TRUE;
}

/* The one-second sweep: half-open, idle and lingering connections. */
static void
sweep_entry (GbtUtpSocket *self, GbtUtpEntry *e, gint64 now)
{
  const GbtUtpSocketConfig *c = &self->config;

  if (e->half_open && now - e->created_us >= c->half_open_timeout_us)
    gbt_utp_conn_reset (e->conn, now);
  else if (e->released && now >= e->linger_until)
    gbt_utp_conn_reset (e->conn, now);
  else if (e->task == NULL && now - e->last_rx_us >= c->idle_timeout_us)
    gbt_utp_conn_reset (e->conn, now);
}

static gboolean
timer_cb (gpointer user_data)
{
  GbtUtpSocket *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;
  gboolean sweep = now >= self->next_sweep;
  GHashTableIter iter;
  gpointer value;

  g_object_ref (self);
  self->timer_at = G_MAXINT64;
  g_source_set_ready_time (self->timer, -1);
  g_ptr_array_set_size (self->snapshot, 0);
  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (self->snapshot, value);
  for (guint i = 0; i < self->snapshot->len && !self->disposed; i++)
    {
      GbtUtpEntry *e = g_ptr_array_index (self->snapshot, i);

      if (gbt_utp_conn_get_deadline (e->conn) <= now)
        gbt_utp_conn_tick (e->conn, now);
      if (e->task != NULL && now >= e->connect_until)
        gbt_utp_conn_reset (e->conn, now);
      if (sweep)
        sweep_entry (self, e, now);
      if (process (self, e))
        next = MIN (next, entry_deadline (e));
    }
  g_ptr_array_set_size (self->snapshot, 0);
  if (!self->disposed)
    {
      if (sweep)
        self->next_sweep = now + SWEEP_US;
      if (g_hash_table_size (self->table) > 0)
        next = MIN (next, self->next_sweep);
      /* at most one scan per MIN_SCAN_US, whatever a deadline says */
      schedule (self, MAX (next, now + MIN_SCAN_US));
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

/* ---- incoming datagrams */

static void
maybe_send_reset (GbtUtpSocket *self, GInetSocketAddress *to, guint16 id, guint16 ack_nr,
                  gint64 now)
{
  guint8 buf[GBT_UTP_HEADER_LEN];
  GbtUtpPacket p = {
    .type = GBT_UTP_ST_RESET,
    .connection_id = id,
    .timestamp_us = (guint32) now,
    .seq_nr = (guint16) g_random_int (),
    .ack_nr = ack_nr,
  };
  double rate = self->config.resets_per_second;

  self->reset_tokens = MIN (rate, self->reset_tokens + (now - self->reset_refill_us) * rate / 1e6);
  self->reset_refill_us = now;
  if (self->reset_tokens < 1)
    return;
  self->reset_tokens -= 1;
  if (gbt_utp_packet_build (&p, buf, sizeof buf) == sizeof buf
      && gbt_udp_port_send (self->port, G_SOCKET_ADDRESS (to), buf, sizeof buf, NULL))
    self->resets_sent++;
}

static inline guint64
mix64 (guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

/* Our initial seq_nr for a SYN answered without state: a keyed hash of the
 * peer's address, its SYN's id and seq_nr, and the time slot. */
static guint16
syn_cookie (GbtUtpSocket *self, const Key *k, guint16 syn_id, guint16 syn_seq, gint64 slot)
{
  guint64 w[3];
  guint64 h = self->secret[0];

  memcpy (w, k->addr, 16);
  w[2] = ((guint64) k->port << 48) | ((guint64) syn_id << 32) | ((guint64) syn_seq << 16)
         | k->family;
  for (guint i = 0; i < G_N_ELEMENTS (w); i++)
    h = mix64 (h ^ w[i]) + self->secret[1];
  return (guint16) mix64 (h ^ (guint64) slot);
}

/* The half-open table is full: answer the SYN as a connection would (a
 * STATE whose seq_nr is the cookie) and keep nothing.  A peer that really
 * connects acks it; try_cookie() then makes the connection. */
static void
send_cookie (GbtUtpSocket *self, const guint8 *data, gsize len, GInetSocketAddress *from,
             const Key *key, gint64 now)
{
  guint8 buf[GBT_UTP_HEADER_LEN];
  GbtUtpPacket syn;
  GbtUtpPacket reply = { .type = GBT_UTP_ST_STATE };

  if (!gbt_utp_packet_parse (data, len, &syn, NULL))
    {
      self->ignored++;
      return;
    }
  reply.connection_id = syn.connection_id;
  reply.timestamp_us = (guint32) now;
  reply.timestamp_diff_us = (guint32) now - syn.timestamp_us;
  reply.wnd_size = self->config.conn.recv_buffer;
  reply.seq_nr = syn_cookie (self, key, syn.connection_id, syn.seq_nr, now / COOKIE_SLOT_US);
  reply.ack_nr = syn.seq_nr;
  self->syns_dropped++;
  if (gbt_utp_packet_build (&reply, buf, sizeof buf) == sizeof buf)
    gbt_udp_port_send (self->port, G_SOCKET_ADDRESS (from), buf, sizeof buf, NULL);
}

/* A DATA or STATE for no connection: the first packet of a peer whose SYN
 * got a cookie?  Its ack_nr is then cookie - 1, its seq_nr the SYN's + 1.
 * Returns the new connection, accepted, or NULL. */
static GbtUtpEntry *
try_cookie (GbtUtpSocket *self, const guint8 *data, gsize len, GInetSocketAddress *from,
            const Key *key, gint64 now)
{
  guint8 buf[GBT_UTP_HEADER_LEN];
  GbtUtpPacket p;
  GbtUtpPacket syn = { .type = GBT_UTP_ST_SYN };
  guint16 cookie;
  gint64 slot = now / COOKIE_SLOT_US;
  GbtUtpEntry *e;

  if (self->func == NULL || g_hash_table_size (self->table) >= self->config.max_connections
      || !gbt_utp_packet_parse (data, len, &p, NULL)
      || (p.type != GBT_UTP_ST_DATA && p.type != GBT_UTP_ST_STATE))
    return NULL;
  syn.connection_id = (guint16) (p.connection_id - 1);
  syn.seq_nr = (guint16) (p.seq_nr - 1);
  syn.timestamp_us = p.timestamp_us;
  syn.wnd_size = p.wnd_size;
  cookie = (guint16) (p.ack_nr + 1);
  if (cookie != syn_cookie (self, key, syn.connection_id, syn.seq_nr, slot)
      && cookie != syn_cookie (self, key, syn.connection_id, syn.seq_nr, slot - 1))
    return NULL;
  if (gbt_utp_packet_build (&syn, buf, sizeof buf) != sizeof buf)
    return NULL;
  e = entry_new (self, from, key, now);
  e->conn = gbt_utp_conn_new_accept (&self->config.conn, buf, sizeof buf, cookie, now, send_cb, e);
  g_hash_table_insert (self->table, &e->key, e);
  if (!gbt_utp_conn_receive (e->conn, data, len, now))
    {
      remove_entry (self, e);
      return NULL;
    }
  e->got_valid = TRUE;
  accept_entry (self, e);
  return e;
}

static void
accept_syn (GbtUtpSocket *self, const guint8 *data, gsize len, GInetSocketAddress *from,
            const Key *key, gint64 now)
{
  GbtUtpConnConfig config;
  GbtUtpEntry *e;

  if (self->func == NULL || g_hash_table_size (self->table) >= self->config.max_connections)
    {
      /* refused: the peer may fall back to TCP at once */
      self->syns_dropped++;
      maybe_send_reset (self, from, (guint16) (((guint) data[2] << 8) | data[3]),
                        (guint16) (((guint) data[16] << 8) | data[17]), now);
      return;
    }
  if (self->half_open.length >= self->config.max_half_open)
    {
      send_cookie (self, data, len, from, key, now);
      return;
    }
  e = entry_new (self, from, key, now);
  conn_config_for (self, from, &config);
  e->conn = gbt_utp_conn_new_accept (&config, data, len, (guint16) g_random_int (), now, send_cb, e);
  if (e->conn == NULL)
    {
      self->ignored++;
      g_object_unref (e->remote);
      g_free (e);
      return;
    }
  gbt_utp_conn_set_fragmentable_send_func (e->conn, send_fragmentable_cb);
  e->half_open = TRUE;
  g_queue_push_tail_link (&self->half_open, &e->half_link);
  g_hash_table_insert (self->table, &e->key, e);
  schedule (self, MIN (entry_deadline (e), self->next_sweep));
}

static gboolean
handle_datagram (GbtUdpPort *port, const guint8 *data, gsize len, GInetSocketAddress *from,
                 gpointer user_data)
{
  GbtUtpSocket *self = user_data;
  guint type, id;
  gint64 now;
  GbtUtpEntry *e;
  Key k;

  if (len < GBT_UTP_HEADER_LEN || (data[0] & 0x0f) != GBT_UTP_VERSION
      || (data[0] >> 4) > GBT_UTP_ST_SYN)
    return FALSE;
  if (self->disposed)
    return TRUE;
  type = data[0] >> 4;
  id = ((guint) data[2] << 8) | data[3];
  now = g_get_monotonic_time ();
  key_fill (&k, from, 0);
  /* the accept func or a task's callback may drop the last reference to
   * us: dispose then waits for this */
  g_object_ref (self);
  if (type == GBT_UTP_ST_SYN)
    {
      e = lookup (self, &k, (guint16) (id + 1));
      if (e == NULL)
        {
          accept_syn (self, data, len, from, &k, now);
          goto out;
        }
      /* a duplicate: our answer was lost */
      if (!gbt_utp_conn_receive (e->conn, data, len, now))
        self->ignored++;
    }
  else
    {
      e = lookup (self, &k, (guint16) id);
      /* a RESET may carry either of the connection's ids */
      if (e == NULL && type == GBT_UTP_ST_RESET)
        e = lookup (self, &k, (guint16) (id + 1));
      if (e == NULL && type == GBT_UTP_ST_RESET)
        e = lookup (self, &k, (guint16) (id - 1));
      if (e == NULL && type != GBT_UTP_ST_RESET)
        {
          /* try_cookie() feeds the packet to the connection it makes */
          k.id = (guint16) id;
          e = try_cookie (self, data, len, from, &k, now);
          if (e == NULL)
            maybe_send_reset (self, from, (guint16) id,
                              (guint16) (((guint) data[16] << 8) | data[17]), now);
        }
      else if (e != NULL)
        {
          if (gbt_utp_conn_receive (e->conn, data, len, now))
            {
              e->last_rx_us = now;
              e->got_valid = TRUE;
            }
          else
            self->ignored++;
        }
      if (e == NULL)
        {
          self->ignored++;
          goto out;
        }
    }
  if (process (self, e) && !self->disposed)
    schedule (self, entry_deadline (e));
out:
  g_object_unref (self);
  return TRUE;
}

void
gbt_utp_socket_receive (GbtUtpSocket *self, const guint8 *data, gsize len,
                        GInetSocketAddress *from)
{
  g_return_if_fail (GBT_IS_UTP_SOCKET (self));
  handle_datagram (self->port, data, len, from, self);
}

/* ---- the stream's side */

GbtUtpConn *
gbt_utp_entry_get_conn (GbtUtpEntry *entry)
{
  return entry->conn;
}

void
gbt_utp_entry_changed (GbtUtpEntry *entry)
{
  schedule (entry->sock, entry_deadline (entry));
}

void
gbt_utp_entry_release (GbtUtpEntry *entry)
{
  gint64 now = g_get_monotonic_time ();

  entry->stream = NULL;
  entry->released = TRUE;
  entry->linger_until = now + entry->sock->config.linger_timeout_us;
  gbt_utp_conn_close (entry->conn, now);
  /* the timer frees it, from the main loop */
  schedule (entry->sock, now);
}

/* ---- the object */

static void
gbt_utp_socket_dispose (GObject *object)
{
  GbtUtpSocket *self = GBT_UTP_SOCKET (object);

  self->disposed = TRUE;
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  if (self->port != NULL)
    {
      if (g_object_get_data (G_OBJECT (self->port), PORT_DATA_KEY) == self)
        g_object_set_data (G_OBJECT (self->port), PORT_DATA_KEY, NULL);
      gbt_udp_port_remove_handler (self->port, self->handler_id);
      gbt_udp_port_remove_handler (self->port, self->unreachable_id);
    }
  if (self->table != NULL)
    {
      g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (entry_free);
      GHashTableIter iter;
      gpointer value;
      gint64 now = g_get_monotonic_time ();

      /* steal first: a task's callback may call back into us */
      g_hash_table_iter_init (&iter, self->table);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          gbt_utp_conn_reset (((GbtUtpEntry *) value)->conn, now);
          g_ptr_array_add (all, value);
          g_hash_table_iter_steal (&iter);
        }
    }
  g_clear_object (&self->port);
  G_OBJECT_CLASS (gbt_utp_socket_parent_class)->dispose (object);
}

static void
gbt_utp_socket_finalize (GObject *object)
{
  GbtUtpSocket *self = GBT_UTP_SOCKET (object);

  g_clear_pointer (&self->table, g_hash_table_unref);
  g_clear_pointer (&self->snapshot, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (gbt_utp_socket_parent_class)->finalize (object);
}

static void
gbt_utp_socket_class_init (GbtUtpSocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gbt_utp_socket_dispose;
  object_class->finalize = gbt_utp_socket_finalize;
}

static void
gbt_utp_socket_init (GbtUtpSocket *self)
{
  self->table = g_hash_table_new_full (key_hash, key_equal, NULL, entry_free);
  self->snapshot = g_ptr_array_new ();
  g_queue_init (&self->half_open);
  self->timer_at = G_MAXINT64;
}

/* An ICMP error for a datagram we sent (nobody listens on that UDP port):
 * a connect still waiting for its SYN's answer there fails now, not after
 * connect_timeout_us, so the dial policy falls back at once.  An
 * established connection takes no notice: ICMP is easily forged. */
static void
unreachable_cb (GbtUdpPort *port, GInetSocketAddress *destination, const GError *error,
                gpointer user_data)
{
  GbtUtpSocket *self = user_data;
  GHashTableIter iter;
  gpointer value;
  gint64 now = g_get_monotonic_time ();
  gboolean any = FALSE;

  (void) port;
  (void) error;
  g_hash_table_iter_init (&iter, self->table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GbtUtpEntry *e = value;
      GInetSocketAddress *r = G_INET_SOCKET_ADDRESS (e->remote);

      if (e->task == NULL || e->unreachable
          || g_inet_socket_address_get_port (r) != g_inet_socket_address_get_port (destination)
          || !g_inet_address_equal (g_inet_socket_address_get_address (r),
                                    g_inet_socket_address_get_address (destination)))
        continue;
      /* the timer fails it: a task's callback may call back into us */
      e->unreachable = TRUE;
      e->connect_until = now;
      any = TRUE;
    }
  if (any)
    schedule (self, now);
}

GbtUtpSocket *
gbt_utp_socket_new (GbtUdpPort *port, const GbtUtpSocketConfig *config,
                    GbtTransportAcceptFunc func, gpointer user_data)
{
  GbtUtpSocket *self;
  GInetSocketAddress *local;

  g_return_val_if_fail (GBT_IS_UDP_PORT (port), NULL);
  self = g_object_new (GBT_TYPE_UTP_SOCKET, NULL);
  if (config != NULL)
    self->config = *config;
  else
    gbt_utp_socket_config_init (&self->config);
  self->config.max_half_open = MAX (self->config.max_half_open, 1);
  self->port = g_object_ref (port);
  self->context = g_main_context_ref (gbt_udp_port_get_context (port));
  self->func = func;
  self->user_data = user_data;
  local = gbt_udp_port_get_local_address (port);
  self->ipv4_only = g_inet_address_get_family (g_inet_socket_address_get_address (local))
                    == G_SOCKET_FAMILY_IPV4;
  for (guint i = 0; i < G_N_ELEMENTS (self->secret); i++)
    self->secret[i] = ((guint64) g_random_int () << 32) | g_random_int ();
  self->reset_tokens = self->config.resets_per_second;
  self->reset_refill_us = g_get_monotonic_time ();
  self->next_sweep = g_get_monotonic_time () + SWEEP_US;
  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_name (self->timer, "gbt-utp-socket timer");
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_ready_time (self->timer, -1);
  g_source_attach (self->timer, self->context);
  self->handler_id = gbt_udp_port_add_handler (port, handle_datagram, self, NULL);
  self->unreachable_id = gbt_udp_port_add_unreachable_handler (port, unreachable_cb, self, NULL);
  g_object_set_data (G_OBJECT (port), PORT_DATA_KEY, self);
  return self;
}

GbtUtpSocket *
gbt_utp_socket_get_for_port (GbtUdpPort *port)
{
  g_return_val_if_fail (GBT_IS_UDP_PORT (port), NULL);
  return g_object_get_data (G_OBJECT (port), PORT_DATA_KEY);
}

static gboolean
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  GbtUtpEntry *e = user_data;
  GbtUtpSocket *self = e->sock;

  gbt_utp_conn_reset (e->conn, g_get_monotonic_time ());
  fail_task (e, G_IO_ERROR_CANCELLED, "operation was cancelled");
  remove_entry (self, e);
  return G_SOURCE_REMOVE;
}

void
gbt_utp_socket_connect (GbtUtpSocket *self, GSocketAddress *remote, GTask *task)
{
  GCancellable *cancellable;
  GInetSocketAddress *inet;
  GbtUtpConnConfig config;
  GbtUtpEntry *e = NULL;
  gint64 now = g_get_monotonic_time ();
  Key k;

  g_return_if_fail (GBT_IS_UTP_SOCKET (self));
  g_return_if_fail (G_IS_TASK (task));
  if (self->disposed)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CLOSED, "the uTP socket was closed");
      g_object_unref (task);
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "uTP needs an IP address");
      g_object_unref (task);
      return;
    }
  inet = G_INET_SOCKET_ADDRESS (remote);
  if (self->ipv4_only
      && g_inet_address_get_family (g_inet_socket_address_get_address (inet))
           != G_SOCKET_FAMILY_IPV4)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "an IPv6 peer on an IPv4 UDP port");
      g_object_unref (task);
      return;
    }
  if (g_hash_table_size (self->table) >= self->config.max_connections)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
                               "too many uTP connections");
      g_object_unref (task);
      return;
    }
  key_fill (&k, inet, 0);
  for (guint tries = 0; tries < 64; tries++)
    {
      guint16 id = (guint16) g_random_int ();

      /* the neighbours too: a RESET that carries the other id of a
       * connection is looked up at id - 1 and id + 1 */
      if (lookup (self, &k, (guint16) (id - 1)) == NULL
          && lookup (self, &k, (guint16) (id + 1)) == NULL && lookup (self, &k, id) == NULL)
        {
          e = entry_new (self, inet, &k, now);
          break;
        }
    }
  if (e == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                               "no free uTP connection id for this peer");
      g_object_unref (task);
      return;
    }
  e->task = task;
  e->connect_until = now + self->config.connect_timeout_us;
  g_hash_table_insert (self->table, &e->key, e);
  conn_config_for (self, G_INET_SOCKET_ADDRESS (e->remote), &config);
  e->conn = gbt_utp_conn_new_connect (&config, k.id, (guint16) g_random_int (), now, send_cb, e);
  gbt_utp_conn_set_fragmentable_send_func (e->conn, send_fragmentable_cb);
  cancellable = g_task_get_cancellable (task);
  if (cancellable != NULL)
    {
      e->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (e->cancel_source, G_SOURCE_FUNC (cancelled_cb), e, NULL);
      g_source_attach (e->cancel_source, self->context);
    }
  schedule (self, MIN (entry_deadline (e), self->next_sweep));
}

GbtUdpPort *
gbt_utp_socket_get_port (GbtUtpSocket *self)
{
  g_return_val_if_fail (GBT_IS_UTP_SOCKET (self), NULL);
  return self->port;
}

guint
gbt_utp_socket_get_n_connections (GbtUtpSocket *self)
{
  g_return_val_if_fail (GBT_IS_UTP_SOCKET (self), 0);
  return g_hash_table_size (self->table);
}

guint
gbt_utp_socket_get_n_half_open (GbtUtpSocket *self)
{
  g_return_val_if_fail (GBT_IS_UTP_SOCKET (self), 0);
  return self->half_open.length;
}

void
gbt_utp_socket_get_counts (GbtUtpSocket *self, guint64 *resets_sent, guint64 *syns_dropped,
                           guint64 *ignored)
{
  g_return_if_fail (GBT_IS_UTP_SOCKET (self));
  if (resets_sent)
    *resets_sent = self->resets_sent;
  if (syns_dropped)
    *syns_dropped = self->syns_dropped;
  if (ignored)
    *ignored = self->ignored;
}
