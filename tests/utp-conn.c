/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One uTP connection's state machine (gbt-utp-conn): two connections wired
 * back to back through an in-memory channel that loses, duplicates, delays
 * and reorders datagrams, driven by a fake clock (no sockets, no sleeping).
 * Every step asserts that each side holds no more bytes than its buffers.
 */
#include <string.h>

#include <glib.h>

#include "../plugins/transport-utp/gbt-utp-conn.h"

#define MS 1000
#define S (1000 * MS)
#define MIB (1024 * 1024)

typedef struct {
  gint64 at;
  gsize len;
  guint8 data[];
} Dgram;

typedef struct Net Net;

typedef struct {
  Net *net;
  int dir;                      /* 0: sent by a (to b), 1: sent by b */
} Endpoint;

struct Net {
  GRand *rand;
  gint64 now;
  double loss, dup;             /* probabilities per datagram */
  gint64 delay, jitter;         /* one way; jitter reorders */
  gboolean blackhole[2];
  guint drop_next[2];           /* drop this many next datagrams */
  guint64 drop_nth[2];          /* drop the datagram with this count (1-based), 0 none */
  gsize path_mtu;               /* 0: none; else bigger datagrams are dropped
                                 * unless sent as fragmentable */
  gboolean fragmentable;        /* the datagram being sent may be fragmented */
  guint64 oversized;            /* datagrams dropped for it */
  guint64 fragmented;           /* oversized ones that went as fragments */
  guint16 last_ack[2];          /* ack_nr of the last datagram sent that way */
  guint64 types[2][5];          /* datagrams sent by type */
  guint64 resent[2];            /* DATA datagrams with a seq_nr already sent */
  guint16 top_seq[2];
  gboolean have_seq[2];
  GPtrArray *q[2];
  GbtUtpConnConfig config_a, config_b;
  GbtUtpConn *a, *b;
  Endpoint ep[2];
  guint64 sent[2];
  /* the application: a -> b and b -> a streams */
  const guint8 *src[2];
  gsize src_len[2], written[2];
  GByteArray *sink[2];
  gboolean reading[2];          /* sink[0] is what b read */
  gboolean close_when_done[2];
};

static void
net_send (gpointer user_data, const guint8 *data, gsize len)
{
  Endpoint *ep = user_data;
  Net *net = ep->net;
  int copies = 1;

  GbtUtpPacket p;

  net->sent[ep->dir]++;
  g_assert_true (gbt_utp_packet_parse (data, len, &p, NULL));
  g_assert_cmpuint (len, <=, ep->dir == 0 ? net->config_a.mtu + 2 + GBT_UTP_SACK_MAX_LEN
                                          : net->config_b.mtu + 2 + GBT_UTP_SACK_MAX_LEN);
  if (p.type == GBT_UTP_ST_DATA || p.type == GBT_UTP_ST_FIN)
    g_assert_cmpuint (len, <=, ep->dir == 0 ? net->config_a.mtu : net->config_b.mtu);
  net->types[ep->dir][p.type]++;
  if (p.type != GBT_UTP_ST_SYN)
    net->last_ack[ep->dir] = p.ack_nr;
  if (p.type == GBT_UTP_ST_DATA)
    {
      if (net->have_seq[ep->dir] && gbt_utp_seq_le (p.seq_nr, net->top_seq[ep->dir]))
        net->resent[ep->dir]++;
      else
        net->top_seq[ep->dir] = p.seq_nr;
      net->have_seq[ep->dir] = TRUE;
    }
  if (net->drop_nth[ep->dir] == net->sent[ep->dir])
    return;
  if (net->path_mtu > 0 && len > net->path_mtu)
    {
      if (!net->fragmentable)
        {
          net->oversized++;
          return;
        }
      net->fragmented++;
    }
  if (net->blackhole[ep->dir])
    return;
  if (net->drop_next[ep->dir] > 0)
    {
      net->drop_next[ep->dir]--;
      return;
    }
  if (net->loss > 0 && g_rand_double (net->rand) < net->loss)
    return;
  if (net->dup > 0 && g_rand_double (net->rand) < net->dup)
    copies = 2;
  for (int i = 0; i < copies; i++)
    {
      Dgram *d = g_malloc (sizeof (Dgram) + len);

      d->at = net->now + net->delay
              + (net->jitter > 0 ? g_rand_int_range (net->rand, 0, (gint32) net->jitter) : 0);
      d->len = len;
      memcpy (d->data, data, len);
      g_ptr_array_add (net->q[ep->dir], d);
    }
}

/* what the socket does for a datagram that may be fragmented (the resend
 * of a probe that was too big) */
static void
net_send_fragmentable (gpointer user_data, const guint8 *data, gsize len)
{
  Endpoint *ep = user_data;

  ep->net->fragmentable = TRUE;
  net_send (user_data, data, len);
  ep->net->fragmentable = FALSE;
}

static Net *
net_new (guint32 seed)
{
  Net *net = g_new0 (Net, 1);

  net->rand = g_rand_new_with_seed (seed);
  net->now = 1 * S;
  net->delay = 5 * MS;
  for (int i = 0; i < 2; i++)
    {
      net->q[i] = g_ptr_array_new_with_free_func (g_free);
      net->ep[i].net = net;
      net->ep[i].dir = i;
      net->sink[i] = g_byte_array_new ();
      net->reading[i] = TRUE;
    }
  gbt_utp_conn_config_init (&net->config_a);
  gbt_utp_conn_config_init (&net->config_b);
  return net;
}

static void
net_free (Net *net)
{
  gbt_utp_conn_free (net->a);
  gbt_utp_conn_free (net->b);
  for (int i = 0; i < 2; i++)
    {
      g_ptr_array_unref (net->q[i]);
      g_byte_array_unref (net->sink[i]);
    }
  g_rand_free (net->rand);
  g_free (net);
}

static void
net_connect (Net *net, guint16 id, guint16 seq)
{
  net->a = gbt_utp_conn_new_connect (&net->config_a, id, seq, net->now, net_send, &net->ep[0]);
  g_assert_nonnull (net->a);
  g_assert_cmpint (gbt_utp_conn_get_state (net->a), ==, GBT_UTP_CONN_SYN_SENT);
}

static void
assert_bounded (GbtUtpConn *c, const GbtUtpConnConfig *config)
{
  if (c == NULL)
    return;
  g_assert_cmpuint (gbt_utp_conn_get_buffered (c), <=,
                    (gsize) config->send_buffer + config->recv_buffer + config->mtu);
  g_assert_cmpuint (gbt_utp_conn_get_unacked (c), <=, config->send_buffer);
  g_assert_cmpuint (gbt_utp_conn_get_readable (c), <=, (gsize) config->recv_buffer + config->mtu);
}

static void
deliver (Net *net, int dir, Dgram *d)
{
  if (dir == 0)
    {
      if (net->b == NULL)
        /* a listener: the first SYN makes the connection */
        net->b = gbt_utp_conn_new_accept (&net->config_b, d->data, d->len, 40000, net->now,
                                          net_send, &net->ep[1]);
      else
        gbt_utp_conn_receive (net->b, d->data, d->len, net->now);
    }
  else
    gbt_utp_conn_receive (net->a, d->data, d->len, net->now);
}

/* the application on both sides: write what it can, read what there is */
static void
pump (Net *net)
{
  for (int i = 0; i < 2; i++)
    {
      GbtUtpConn *w = i == 0 ? net->a : net->b;
      GbtUtpConn *r = i == 0 ? net->b : net->a;

      if (w != NULL && net->src[i] != NULL && net->written[i] < net->src_len[i])
        net->written[i] += gbt_utp_conn_write (w, net->src[i] + net->written[i],
                                               net->src_len[i] - net->written[i], net->now);
      if (w != NULL && net->close_when_done[i] && net->written[i] == net->src_len[i])
        gbt_utp_conn_close (w, net->now);
      if (r != NULL && net->reading[i])
        {
          guint8 buf[16384];
          gsize n;

          while ((n = gbt_utp_conn_read (r, buf, sizeof buf, net->now)) > 0)
            g_byte_array_append (net->sink[i], buf, (guint) n);
          /* end of stream only after every byte the writer wrote */
          if (gbt_utp_conn_at_eof (r))
            g_assert_cmpuint (net->sink[i]->len, ==, net->src_len[i]);
        }
    }
}

typedef gboolean (*Cond) (Net *net);

/* Runs the fake clock until @cond holds or @limit_us of virtual time pass. */
static gboolean
run_until (Net *net, Cond cond, gint64 limit_us)
{
  gint64 end = net->now + limit_us;
  guint64 steps = 0;

  while (net->now < end)
    {
      gint64 next = G_MAXINT64;

      pump (net);
      assert_bounded (net->a, &net->config_a);
      assert_bounded (net->b, &net->config_b);
      if (cond != NULL && cond (net))
        return TRUE;
      g_assert_cmpuint (++steps, <, 50000000);
      for (int i = 0; i < 2; i++)
        for (guint j = 0; j < net->q[i]->len; j++)
          next = MIN (next, ((Dgram *) net->q[i]->pdata[j])->at);
      if (net->a != NULL)
        next = MIN (next, gbt_utp_conn_get_deadline (net->a));
      if (net->b != NULL)
        next = MIN (next, gbt_utp_conn_get_deadline (net->b));
      if (next == G_MAXINT64)
        break;
      net->now = MAX (net->now, next);
      if (net->now >= end)
        break;
      for (int i = 0; i < 2; i++)
        for (guint j = 0; j < net->q[i]->len;)
          {
            Dgram *d = net->q[i]->pdata[j];

            if (d->at <= net->now)
              {
                d = g_ptr_array_steal_index (net->q[i], j);
                deliver (net, i, d);
                g_free (d);
              }
            else
              j++;
          }
      if (net->a != NULL && gbt_utp_conn_get_deadline (net->a) <= net->now)
        gbt_utp_conn_tick (net->a, net->now);
      if (net->b != NULL && gbt_utp_conn_get_deadline (net->b) <= net->now)
        gbt_utp_conn_tick (net->b, net->now);
    }
  pump (net);
  return cond != NULL && cond (net);
}

static gboolean
both_connected (Net *net)
{
  return net->b != NULL && gbt_utp_conn_get_state (net->a) == GBT_UTP_CONN_CONNECTED
         && gbt_utp_conn_get_state (net->b) == GBT_UTP_CONN_CONNECTED;
}

static gboolean
transfers_done (Net *net)
{
  return net->sink[0]->len == net->src_len[0] && net->sink[1]->len == net->src_len[1]
         && net->a != NULL && net->b != NULL && gbt_utp_conn_get_unacked (net->a) == 0
         && gbt_utp_conn_get_unacked (net->b) == 0;
}

static guint8 *
random_bytes (gsize len, guint32 seed)
{
  GRand *r = g_rand_new_with_seed (seed);
  guint8 *p = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    p[i] = (guint8) g_rand_int (r);
  g_rand_free (r);
  return p;
}

static void
test_handshake (void)
{
  Net *net = net_new (1);

  net_connect (net, 0x1234, 1);
  g_assert_cmpuint (gbt_utp_conn_get_recv_id (net->a), ==, 0x1234);
  g_assert_cmpuint (gbt_utp_conn_get_send_id (net->a), ==, 0x1235);
  g_assert_true (run_until (net, both_connected, 1 * S));
  /* BEP 29: the acceptor's ids are the initiator's swapped */
  g_assert_cmpuint (gbt_utp_conn_get_recv_id (net->b), ==, 0x1235);
  g_assert_cmpuint (gbt_utp_conn_get_send_id (net->b), ==, 0x1234);
  /* one round trip: SYN out, STATE back */
  g_assert_cmpint (net->now, <=, 1 * S + 2 * net->delay);
  g_assert_cmpuint (net->sent[0], ==, 1);
  g_assert_cmpuint (net->sent[1], ==, 1);

  /* a few bytes each way, the acceptor first */
  net->src[1] = (const guint8 *) "hello from b";
  net->src_len[1] = 12;
  net->src[0] = (const guint8 *) "and from a";
  net->src_len[0] = 10;
  g_assert_true (run_until (net, transfers_done, 5 * S));
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, "and from a", 10);
  g_assert_cmpmem (net->sink[1]->data, net->sink[1]->len, "hello from b", 12);
  net_free (net);
}

static void
test_handshake_lost (void)
{
  /* the SYN is lost: resent after the initial RTO (1 s) */
  Net *net = net_new (2);

  net->drop_next[0] = 1;
  net_connect (net, 7, 100);
  g_assert_true (run_until (net, both_connected, 5 * S));
  g_assert_cmpint (net->now, >=, 2 * S);
  net_free (net);

  /* the SYN-ACK is lost while b already sends: a drops b's data until a
   * resent SYN brings the SYN-ACK again; the stream is intact */
  net = net_new (3);
  net->drop_next[1] = 1;
  net->src[1] = (const guint8 *) "early bytes";
  net->src_len[1] = 11;
  net_connect (net, 9, 65535);
  g_assert_true (run_until (net, transfers_done, 10 * S));
  g_assert_true (both_connected (net));
  g_assert_cmpmem (net->sink[1]->data, net->sink[1]->len, "early bytes", 11);
  net_free (net);
}

typedef struct {
  const char *name;
  double loss, dup;
  gint64 jitter;
  gsize len_a, len_b;
  guint16 seq;
} TransferCase;

static void
run_transfer (const TransferCase *tc, guint32 seed)
{
  Net *net = net_new (seed);
  g_autofree guint8 *src_a = random_bytes (tc->len_a, 11);
  g_autofree guint8 *src_b = random_bytes (tc->len_b, 12);

  net->loss = tc->loss;
  net->dup = tc->dup;
  net->jitter = tc->jitter;
  net->src[0] = src_a;
  net->src_len[0] = tc->len_a;
  net->src[1] = src_b;
  net->src_len[1] = tc->len_b;
  net_connect (net, 0xffff, tc->seq);
  if (!run_until (net, transfers_done, 600 * S))
    g_error ("%s seed %u: a %s (error %d, unacked %zu, rto %u, timeouts %u), b %s, read %u/%u",
             tc->name, seed, gbt_utp_conn_state_name (gbt_utp_conn_get_state (net->a)),
             gbt_utp_conn_get_error (net->a), gbt_utp_conn_get_unacked (net->a),
             gbt_utp_ledbat_get_rto_us (gbt_utp_conn_get_ledbat (net->a)),
             gbt_utp_ledbat_get_timeouts (gbt_utp_conn_get_ledbat (net->a)),
             net->b ? gbt_utp_conn_state_name (gbt_utp_conn_get_state (net->b)) : "none",
             net->sink[0]->len, net->sink[1]->len);
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src_a, tc->len_a);
  g_assert_cmpmem (net->sink[1]->data, net->sink[1]->len, src_b, tc->len_b);
  g_assert_true (both_connected (net));
  g_test_message ("%s: %.1f s virtual, %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " datagrams",
                  tc->name, (net->now - 1 * S) / 1e6, net->sent[0], net->sent[1]);
  net_free (net);
}

/* one seed; with -m slow (a soak, not run by default) 50 more */
static void
test_transfer (gconstpointer data)
{
  const TransferCase *tc = data;

  run_transfer (tc, g_str_hash (tc->name));
  if (g_test_slow ())
    for (guint32 seed = 1; seed <= 50; seed++)
      run_transfer (tc, g_str_hash (tc->name) + seed);
}

/* The MTU search: packets start at the floor and end near the path's
 * MTU (a probe too big is dropped), or the ceiling with no limit on the way;
 * the bytes arrive intact either way. */
static void
run_mtu (gsize path_mtu, guint32 expect_low, guint32 expect_high)
{
  Net *net = net_new (11);
  gsize len = 8 * MIB;
  g_autofree guint8 *data = random_bytes (len, 12);

  gbt_utp_conn_config_set_path (&net->config_a, FALSE, TRUE);
  gbt_utp_conn_config_set_path (&net->config_b, FALSE, TRUE);
  g_assert_cmpuint (net->config_a.mtu_floor, ==, 1200);
  net->path_mtu = path_mtu;
  net->src[0] = data;
  net->src_len[0] = len;
  net_connect (net, 500, 1);
  gbt_utp_conn_set_fragmentable_send_func (net->a, net_send_fragmentable);
  g_assert_cmpuint (gbt_utp_conn_get_mtu (net->a), ==, 1200);
  if (!run_until (net, transfers_done, 120 * S))
    g_error ("stalled: sink %u of %zu, a unacked %zu state %d, b state %d, mtu %u, t %.3f",
             net->sink[0]->len, len, gbt_utp_conn_get_unacked (net->a),
             gbt_utp_conn_get_state (net->a), net->b ? (int) gbt_utp_conn_get_state (net->b) : -1,
             gbt_utp_conn_get_mtu (net->a), (net->now - 1 * S) / 1e6);
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, data, len);
  g_test_message ("path MTU %zu: packets of %u bytes, %" G_GUINT64_FORMAT " probes dropped, %"
                  G_GUINT64_FORMAT " resent as fragments", path_mtu, gbt_utp_conn_get_mtu (net->a),
                  net->oversized, net->fragmented);
  g_assert_cmpuint (gbt_utp_conn_get_mtu (net->a), >=, expect_low);
  g_assert_cmpuint (gbt_utp_conn_get_mtu (net->a), <=, expect_high);
  if (path_mtu > 0)
    {
      g_assert_cmpuint (net->oversized, >, 0);
      /* only the resends of the probes that were too big */
      g_assert_cmpuint (net->fragmented, <=, net->oversized);
    }
  net_free (net);
}

static void
test_mtu_search (void)
{
  run_mtu (0, 1472 - 16, 1472);
  run_mtu (1400, 1400 - 16, 1400);
  run_mtu (1300, 1300 - 16, 1300);
}

/* the search's bounds: a datagram refused by the interface (EMSGSIZE)
 * lowers the ceiling; with no floor configured packets stay at mtu */
static void
test_mtu_fixed (void)
{
  Net *net = net_new (13);

  net_connect (net, 600, 1);
  g_assert_cmpuint (gbt_utp_conn_get_mtu (net->a), ==, 1400);
  gbt_utp_conn_mtu_too_big (net->a, 1000);
  g_assert_cmpuint (gbt_utp_conn_get_mtu (net->a), ==, 1400); /* never below the floor */
  net_free (net);
}

static gboolean
b_window_closed (Net *net)
{
  return net->b != NULL && gbt_utp_conn_get_recv_window (net->b) == 0;
}

static void
test_zero_window (void)
{
  Net *net = net_new (4);
  gsize len = 1 * MIB;
  g_autofree guint8 *src = random_bytes (len, 13);

  net->config_b.recv_buffer = 64 * 1024;
  net->config_a.max_retries = 3;
  net->src[0] = src;
  net->src_len[0] = len;
  net->reading[0] = FALSE;
  net_connect (net, 5, 1);
  g_assert_true (run_until (net, b_window_closed, 10 * S));
  /* a long stall: a probes, b answers, nobody gives up, nothing grows */
  g_assert_false (run_until (net, transfers_done, 300 * S));
  g_assert_true (both_connected (net));
  g_assert_cmpuint (gbt_utp_conn_get_readable (net->b), <=, 64 * 1024 + 1400);
  g_assert_cmpuint (gbt_utp_conn_get_recv_window (net->b), ==, 0);
  /* the probes were few: backed-off RTOs, not a flood */
  g_assert_cmpuint (net->sent[0], <, 200);
  /* reading reopens the window */
  net->reading[0] = TRUE;
  g_assert_true (run_until (net, transfers_done, 120 * S));
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src, len);
  net_free (net);
}

static gboolean
both_closed (Net *net)
{
  return net->b != NULL && gbt_utp_conn_get_state (net->a) == GBT_UTP_CONN_CLOSED
         && gbt_utp_conn_get_state (net->b) == GBT_UTP_CONN_CLOSED;
}

static void
run_fin (double loss, int first_closer)
{
  Net *net = net_new (5 + first_closer);
  gsize len = 200 * 1024;
  g_autofree guint8 *src = random_bytes (len, 14);

  net->loss = loss;
  net->src[0] = src;
  net->src_len[0] = len;
  net->src[1] = (const guint8 *) "bye";
  net->src_len[1] = 3;
  net->close_when_done[first_closer] = TRUE;
  net_connect (net, 77, 3);
  g_assert_true (run_until (net, transfers_done, 60 * S));
  run_until (net, NULL, 1 * S);
  {
    GbtUtpConn *closer = first_closer == 0 ? net->a : net->b;
    GbtUtpConn *other = first_closer == 0 ? net->b : net->a;

    g_assert_cmpint (gbt_utp_conn_get_state (closer), ==, GBT_UTP_CONN_FIN_SENT);
    g_assert_cmpint (gbt_utp_conn_get_state (other), ==, GBT_UTP_CONN_CONNECTED);
    g_assert_true (gbt_utp_conn_at_eof (other));
    g_assert_false (gbt_utp_conn_at_eof (closer));
    g_assert_cmpuint (gbt_utp_conn_get_writable (closer), ==, 0);
    g_assert_cmpuint (gbt_utp_conn_write (closer, (const guint8 *) "x", 1, net->now), ==, 0);
  }
  net->close_when_done[!first_closer] = TRUE;
  g_assert_true (run_until (net, both_closed, 60 * S));
  g_assert_true (gbt_utp_conn_at_eof (net->a));
  g_assert_true (gbt_utp_conn_at_eof (net->b));
  g_assert_cmpint (gbt_utp_conn_get_error (net->a), ==, GBT_UTP_CONN_ERROR_NONE);
  g_assert_cmpint (gbt_utp_conn_get_error (net->b), ==, GBT_UTP_CONN_ERROR_NONE);
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src, len);
  g_assert_cmpmem (net->sink[1]->data, net->sink[1]->len, "bye", 3);
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->a), ==, G_MAXINT64);
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->b), ==, G_MAXINT64);
  g_assert_cmpuint (gbt_utp_conn_get_buffered (net->a), ==, 0);
  g_assert_cmpuint (gbt_utp_conn_get_buffered (net->b), ==, 0);
  net_free (net);
}

static void
test_fin (void)
{
  run_fin (0, 0);
  run_fin (0, 1);
  run_fin (0.05, 0);
  run_fin (0.05, 1);
}

static gboolean
b_read_something (Net *net)
{
  return net->sink[0]->len > 0;
}

static void
test_delayed_ack (void)
{
  Net *net = net_new (13);
  g_autofree guint8 *src = random_bytes (3 * 1380, 17);
  gint64 t0;
  guint64 acks;

  net_connect (net, 40, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  /* one packet: b holds its ACK for delayed_ack_us */
  acks = net->types[1][GBT_UTP_ST_STATE];
  net->src[0] = src;
  net->src_len[0] = 100;
  g_assert_true (run_until (net, b_read_something, 1 * S));
  t0 = net->now;
  g_assert_cmpuint (net->types[1][GBT_UTP_ST_STATE], ==, acks);
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->b), ==, t0 + 20 * MS);
  g_assert_true (run_until (net, transfers_done, 1 * S));
  g_assert_cmpuint (net->types[1][GBT_UTP_ST_STATE], ==, acks + 1);
  g_assert_cmpint (net->now, >=, t0 + 20 * MS);

  /* two packets at once: one ACK for both, at once */
  acks = net->types[1][GBT_UTP_ST_STATE];
  net->src_len[0] = 100 + 2 * 1380;
  g_assert_true (run_until (net, transfers_done, 1 * S));
  g_assert_cmpuint (net->types[1][GBT_UTP_ST_STATE], ==, acks + 1);
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src, net->src_len[0]);
  net_free (net);
}

static void
test_fast_retransmit (void)
{
  /* one data packet lost early in a clean transfer: resent on duplicate
   * ACKs and SACKs well before the 500 ms minimum RTO */
  Net *net = net_new (14);
  gsize len = 256 * 1024;
  g_autofree guint8 *src = random_bytes (len, 18);

  net->src[0] = src;
  net->src_len[0] = len;
  net->drop_nth[0] = 4;         /* SYN, then data: the third data packet */
  net_connect (net, 50, 65534);
  g_assert_true (run_until (net, transfers_done, 10 * S));
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src, len);
  g_assert_cmpint (net->now - 1 * S, <, 300 * MS);
  /* exactly one resend */
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, (len + 1379) / 1380 + 1);
  g_assert_cmpuint (net->resent[0], ==, 1);
  net_free (net);
}

static void
test_dup_acks (void)
{
  /* a peer that never sends SACKs: three duplicate ACKs resend the oldest
   * unacked packet, once, without waiting for the RTO */
  Net *net = net_new (15);
  g_autofree guint8 *src = random_bytes (10 * 1380, 19);
  guint8 buf[64];
  guint64 data_sent;
  GbtUtpPacket p;
  gsize n;

  net_connect (net, 60, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  run_until (net, NULL, 50 * MS);
  net->blackhole[0] = TRUE;
  net->src[0] = src;
  net->src_len[0] = 10 * 1380;
  pump (net);
  data_sent = net->types[0][GBT_UTP_ST_DATA];
  g_assert_cmpuint (data_sent, >=, 2);
  net->now += 30 * MS;
  p = (GbtUtpPacket) { .type = GBT_UTP_ST_STATE, .connection_id = gbt_utp_conn_get_recv_id (net->a),
                       .seq_nr = 40000, .ack_nr = net->last_ack[1], .wnd_size = 1 << 20 };
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  for (int i = 0; i < 2; i++)
    g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, data_sent);
  g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, data_sent + 1);
  /* more duplicates within the same RTT resend nothing more */
  for (int i = 0; i < 3; i++)
    g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, data_sent + 1);
  net_free (net);
}

static void
test_sack_resend (void)
{
  /* one STATE whose SACK shows 3 packets past a hole: the hole is resent */
  Net *net = net_new (16);
  g_autofree guint8 *src = random_bytes (20 * 1380, 20);
  guint8 buf[64], sack[4] = { 0x07, 0, 0, 0 };
  guint64 data_sent;
  GbtUtpPacket p;
  gsize n;

  net->config_a.ledbat.initial_cwnd = 10 * 1400;
  net_connect (net, 70, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  net->blackhole[0] = TRUE;
  net->src[0] = src;
  net->src_len[0] = 20 * 1380;
  pump (net);
  data_sent = net->types[0][GBT_UTP_ST_DATA];
  g_assert_cmpuint (data_sent, >=, 5);
  net->now += 30 * MS;
  /* two SACKed packets are not enough */
  sack[0] = 0x03;
  p = (GbtUtpPacket) { .type = GBT_UTP_ST_DATA, .connection_id = gbt_utp_conn_get_recv_id (net->a),
                       .seq_nr = 40000, .ack_nr = net->last_ack[1], .wnd_size = 1 << 20,
                       .sack = sack, .sack_len = 4 };
  /* (a DATA packet never counts as a duplicate ACK; SACKs ride on STATE) */
  p.type = GBT_UTP_ST_STATE;
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->resent[0], ==, 0);
  sack[0] = 0x07;
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->resent[0], ==, 1);
  net_free (net);
}

static void
test_peer_window (void)
{
  /* a STATE advertising wnd_size 0 stops new data until it reopens */
  Net *net = net_new (17);
  g_autofree guint8 *src = random_bytes (20 * 1380, 21);
  guint8 buf[64];
  GbtUtpPacket p;
  gsize n;

  net_connect (net, 80, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  p = (GbtUtpPacket) { .type = GBT_UTP_ST_STATE, .connection_id = gbt_utp_conn_get_recv_id (net->a),
                       .seq_nr = 40000, .ack_nr = net->last_ack[1], .wnd_size = 0 };
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  net->src[0] = src;
  net->src_len[0] = 20 * 1380;
  pump (net);
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, 0);
  /* a probe is due after an RTO, not before */
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->a), >=, net->now + 500 * MS);
  /* a window of two packets: two packets */
  p.wnd_size = 2 * 1400;
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
  g_assert_cmpuint (net->types[0][GBT_UTP_ST_DATA], ==, 2);
  net_free (net);
}

static void
test_reset (void)
{
  Net *net = net_new (8);
  guint8 buf[64];
  GbtUtpPacket p = {
    .type = GBT_UTP_ST_RESET,
    .connection_id = 999,
  };
  gsize n;

  net_connect (net, 500, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  /* a RESET with a foreign id is ignored */
  n = gbt_utp_packet_build (&p, buf, sizeof buf);
  g_assert_false (gbt_utp_conn_receive (net->b, buf, n, net->now));
  g_assert_cmpint (gbt_utp_conn_get_state (net->b), ==, GBT_UTP_CONN_CONNECTED);

  net->src[1] = (const guint8 *) "pending";
  net->src_len[1] = 7;
  run_until (net, NULL, 2 * MS);
  gbt_utp_conn_reset (net->a, net->now);
  g_assert_cmpint (gbt_utp_conn_get_state (net->a), ==, GBT_UTP_CONN_RESET);
  g_assert_cmpint (gbt_utp_conn_get_error (net->a), ==, GBT_UTP_CONN_ERROR_RESET_LOCAL);
  run_until (net, NULL, 1 * S);
  g_assert_cmpint (gbt_utp_conn_get_state (net->b), ==, GBT_UTP_CONN_RESET);
  g_assert_cmpint (gbt_utp_conn_get_error (net->b), ==, GBT_UTP_CONN_ERROR_RESET_BY_PEER);
  g_assert_cmpuint (gbt_utp_conn_get_buffered (net->b), ==, 0);
  g_assert_cmpuint (gbt_utp_conn_get_writable (net->b), ==, 0);
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->b), ==, G_MAXINT64);
  /* nothing more goes out of a reset connection */
  {
    guint64 sent = net->sent[0] + net->sent[1];

    run_until (net, NULL, 100 * S);
    g_assert_cmpuint (net->sent[0] + net->sent[1], ==, sent);
  }
  net_free (net);
}

static gboolean
a_closed (Net *net)
{
  return gbt_utp_conn_get_state (net->a) == GBT_UTP_CONN_CLOSED;
}

static void
test_timeout (void)
{
  Net *net = net_new (9);
  g_autofree guint8 *src = random_bytes (100000, 15);

  /* a SYN into the void */
  net->config_a.max_retries = 4;
  net->blackhole[0] = TRUE;
  net_connect (net, 1, 1);
  g_assert_true (run_until (net, a_closed, 120 * S));
  g_assert_cmpint (gbt_utp_conn_get_error (net->a), ==, GBT_UTP_CONN_ERROR_TIMEOUT);
  /* 1 + 4 retries, backed off: 1 + 2 + 4 + 8 + 16 s */
  g_assert_cmpuint (net->sent[0], ==, 5);
  g_assert_cmpint (net->now, >=, 1 * S + 31 * S);
  g_assert_cmpint (gbt_utp_conn_get_deadline (net->a), ==, G_MAXINT64);
  net_free (net);

  /* a peer that vanishes mid-transfer */
  net = net_new (10);
  net->config_a.max_retries = 4;
  net->src[0] = src;
  net->src_len[0] = 100000;
  net_connect (net, 1, 1);
  g_assert_true (run_until (net, both_connected, 1 * S));
  run_until (net, NULL, 20 * MS);
  net->blackhole[1] = TRUE;
  g_assert_true (run_until (net, a_closed, 300 * S));
  g_assert_cmpint (gbt_utp_conn_get_error (net->a), ==, GBT_UTP_CONN_ERROR_TIMEOUT);
  g_assert_cmpuint (gbt_utp_conn_get_buffered (net->a), ==, 0);
  net_free (net);
}

static gsize
build (GbtUtpPacket *p, guint8 *buf, gsize size)
{
  gsize n = gbt_utp_packet_build (p, buf, size);

  g_assert_cmpuint (n, >, 0);
  return n;
}

static void
test_hostile (void)
{
  Net *net = net_new (11);
  gsize len = 4 * MIB;
  g_autofree guint8 *src = random_bytes (len, 16);
  guint8 buf[2048], payload[1380], sack[GBT_UTP_SACK_MAX_LEN];
  GbtUtpPacket p;
  guint16 b_recv, a_recv;
  gsize n, before;
  guint64 sent_before;

  memset (payload, 'X', sizeof payload);
  memset (sack, 0xff, sizeof sack);
  net->config_b.recv_buffer = 256 * 1024;
  net_connect (net, 300, 65000);
  g_assert_true (run_until (net, both_connected, 1 * S));
  b_recv = gbt_utp_conn_get_recv_id (net->b);
  a_recv = gbt_utp_conn_get_recv_id (net->a);

  /* malformed */
  g_assert_false (gbt_utp_conn_receive (net->b, (const guint8 *) "short", 5, net->now));
  memset (buf, 0, sizeof buf);
  buf[0] = 0x02;                /* version 2 */
  g_assert_false (gbt_utp_conn_receive (net->b, buf, 20, net->now));

  /* data with the wrong connection id */
  p = (GbtUtpPacket) { .type = GBT_UTP_ST_DATA, .connection_id = (guint16) (b_recv + 7),
                       .seq_nr = 65001, .ack_nr = 39999, .wnd_size = 1 << 20,
                       .payload = payload, .payload_len = sizeof payload };
  n = build (&p, buf, sizeof buf);
  g_assert_false (gbt_utp_conn_receive (net->b, buf, n, net->now));
  g_assert_cmpuint (gbt_utp_conn_get_readable (net->b), ==, 0);

  /* an ACK of data b never sent drops the whole packet, data and all */
  p.connection_id = b_recv;
  p.ack_nr = 40500;
  n = build (&p, buf, sizeof buf);
  g_assert_false (gbt_utp_conn_receive (net->b, buf, n, net->now));
  g_assert_cmpuint (gbt_utp_conn_get_readable (net->b), ==, 0);

  /* a flood of out-of-order data across the whole window: the reorder
   * buffer stays within recv_buffer */
  for (guint i = 2; i < 3 * GBT_UTP_CONN_MAX_PACKETS; i++)
    {
      p = (GbtUtpPacket) { .type = GBT_UTP_ST_DATA, .connection_id = b_recv,
                           .seq_nr = (guint16) (65000 + i), .ack_nr = 39999,
                           .wnd_size = 1 << 20, .payload = payload,
                           .payload_len = sizeof payload };
      n = build (&p, buf, sizeof buf);
      gbt_utp_conn_receive (net->b, buf, n, net->now);
      g_assert_cmpuint (gbt_utp_conn_get_buffered (net->b), <=, 256 * 1024);
    }
  g_assert_cmpuint (gbt_utp_conn_get_readable (net->b), ==, 0);
  g_assert_cmpint (gbt_utp_conn_get_state (net->b), ==, GBT_UTP_CONN_CONNECTED);

  /* that flood poisoned b's reorder buffer with X; reset the pair for a
   * clean stream and attack a sender mid-transfer instead */
  net_free (net);
  net = net_new (12);
  /* with loss, so that packets falsely SACKed are really missing */
  net->loss = 0.03;
  net->src[0] = src;
  net->src_len[0] = len;
  net_connect (net, 300, 65000);
  g_assert_true (run_until (net, both_connected, 1 * S));
  a_recv = gbt_utp_conn_get_recv_id (net->a);
  run_until (net, NULL, 30 * MS);
  before = gbt_utp_conn_get_unacked (net->a);
  g_assert_cmpuint (before, >, 0);

  /* absurd wnd_size, garbage SACK (all ones, longest), from a "b" whose
   * ack_nr is the last one a saw acked: a does not crash, sends no more
   * than cwnd, and the transfer still ends byte-identical */
  sent_before = net->sent[0];
  for (int round = 0; round < 20; round++)
    {
      const GbtUtpLedbat *l = gbt_utp_conn_get_ledbat (net->a);

      /* the ack_nr b last sent: the SACK is read against a's live window */
      p = (GbtUtpPacket) { .type = GBT_UTP_ST_STATE, .connection_id = a_recv,
                           .seq_nr = 40000, .ack_nr = net->last_ack[1],
                           .wnd_size = G_MAXUINT32, .sack = sack, .sack_len = sizeof sack };
      n = build (&p, buf, sizeof buf);
      g_assert_true (gbt_utp_conn_receive (net->a, buf, n, net->now));
      g_assert_cmpuint (gbt_utp_ledbat_get_cwnd (l), <=, l->config.max_cwnd);
      /* an ACK far beyond what a sent */
      p.ack_nr = (guint16) (65000 + 30000);
      p.sack = NULL;
      p.sack_len = 0;
      n = build (&p, buf, sizeof buf);
      g_assert_false (gbt_utp_conn_receive (net->a, buf, n, net->now));
      /* a SYN with a's ids is not for an initiator */
      p.type = GBT_UTP_ST_SYN;
      n = build (&p, buf, sizeof buf);
      g_assert_false (gbt_utp_conn_receive (net->a, buf, n, net->now));
      /* round 0's packets vanish, and round 1's garbage SACK claims them:
       * only the RTO (which forgets SACKs) can bring them back */
      net->blackhole[0] = round == 0;
      run_until (net, NULL, 10 * MS);
      if (round == 0)
        g_assert_cmpuint (net->sent[0], >, sent_before + 5);
    }
  g_assert_true (run_until (net, transfers_done, 600 * S));
  g_assert_cmpmem (net->sink[0]->data, net->sink[0]->len, src, len);
  g_assert_true (both_connected (net));
  net_free (net);
}

static void
no_send (gpointer user_data, const guint8 *data, gsize len)
{
  g_assert_not_reached ();
}

static void
test_accept_rejects (void)
{
  guint8 buf[64];
  GbtUtpPacket p = { .type = GBT_UTP_ST_DATA, .connection_id = 5 };
  gsize n = gbt_utp_packet_build (&p, buf, sizeof buf);

  g_assert_null (gbt_utp_conn_new_accept (NULL, buf, n, 1, 0, no_send, NULL));
  g_assert_null (gbt_utp_conn_new_accept (NULL, buf, 10, 1, 0, no_send, NULL));
}

static const TransferCase cases[] = {
  { "clean", 0, 0, 0, 4 * MIB, 0, 1 },
  { "clean-both-ways-wrap", 0, 0, 0, 2 * MIB, 2 * MIB, 65500 },
  { "loss-5", 0.05, 0, 0, 3 * MIB, 0, 1 },
  { "loss-5-both-ways", 0.05, 0, 0, 1 * MIB, 1 * MIB, 60000 },
  { "reorder", 0, 0, 20 * MS, 3 * MIB, 0, 1 },
  { "duplicate", 0, 0.1, 0, 3 * MIB, 0, 1 },
  { "all-at-once", 0.05, 0.05, 20 * MS, 2 * MIB, 256 * 1024, 65535 },
  { "loss-10-reorder", 0.10, 0.02, 10 * MS, 1 * MIB, 64 * 1024, 32768 },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utp-conn/handshake", test_handshake);
  g_test_add_func ("/utp-conn/handshake-lost", test_handshake_lost);
  g_test_add_func ("/utp-conn/accept-rejects", test_accept_rejects);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/utp-conn/transfer/%s", cases[i].name);

      g_test_add_data_func (path, &cases[i], test_transfer);
    }
  g_test_add_func ("/utp-conn/zero-window", test_zero_window);
  g_test_add_func ("/utp-conn/mtu-search", test_mtu_search);
  g_test_add_func ("/utp-conn/mtu-fixed", test_mtu_fixed);
  g_test_add_func ("/utp-conn/fin", test_fin);
  g_test_add_func ("/utp-conn/reset", test_reset);
  g_test_add_func ("/utp-conn/delayed-ack", test_delayed_ack);
  g_test_add_func ("/utp-conn/fast-retransmit", test_fast_retransmit);
  g_test_add_func ("/utp-conn/dup-acks", test_dup_acks);
  g_test_add_func ("/utp-conn/sack-resend", test_sack_resend);
  g_test_add_func ("/utp-conn/peer-window", test_peer_window);
  g_test_add_func ("/utp-conn/timeout", test_timeout);
  g_test_add_func ("/utp-conn/hostile", test_hostile);
  return g_test_run ();
}
