/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mainline DHT (BEP 5), IPv4, as a GbtPeerSource.
 *
 * One node per session, on the session's shared UDP port (ABI 1.3: the
 * TCP port's number, as clients expect, shared with uTP; the node takes
 * the datagrams that start with 'd').  A session without one (its UDP
 * port could not be bound) gets a socket of the node's own, at that port
 * number if free, else any.  It joins through the bootstrap nodes (GBT_DHT_BOOTSTRAP) with a
 * find_node for its own id, keeps a routing table of at most K nodes for
 * each length of the prefix shared with its id, and answers ping,
 * find_node, get_peers and announce_peer (tokens: SHA-1 of a secret that
 * changes every 5 minutes and the asker's IP; the last two secrets count).
 * Announced peers are kept 30 minutes, bounded per info-hash and in all.
 *
 * For each started torrent: an iterative get_peers lookup (ALPHA queries in
 * flight, ending when the K closest nodes heard have all answered or
 * failed); the peers found go to gbt_torrent_add_peers() as "dht", and the
 * K closest nodes that gave a token get an announce_peer for our TCP port.
 * Again every 15 minutes, or every 30 s while the torrent has no peer.
 *
 * Input is untrusted: packets over 1.5 KiB, bencode that is not a
 * dictionary with a string "t" and "y", ids that are not 20 bytes, replies
 * from another address than the one asked, and replies to nothing we asked
 * are dropped; a query we cannot parse gets a 203 error.  Peers hear of
 * our node through the handshake's DHT bit and a PORT message, and a
 * peer's PORT message gets its node a ping.  Not done yet: IPv6 (BEP 32),
 * BEP 42 node ids, a routing table kept between runs.
 *
 * Where state lives (plugin ABI 1.2), never in tables keyed by pointers
 * that a later session or torrent could reuse: the node is GObject data on
 * its GbtSession, so its routing table lasts as long as the session (a
 * torrent stopped and started again finds the node still joined, with the
 * same id); a torrent's lookup state is data on the torrent while it is
 * started.  The node lists its torrents' states and the source its nodes,
 * each entry leaving the list when what owns it goes.
 */
#include <string.h>
#include <sys/random.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-peer.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>

#include "gbt-dht.h"
#include "gbt-context.h"

#define K 8
#define ALPHA 3
#define N_BUCKETS 160
#define QUERY_TIMEOUT_US (3 * G_USEC_PER_SEC)
#define LOOKUP_INTERVAL_US (15 * 60 * G_USEC_PER_SEC)
#define LOOKUP_RETRY_US (30 * G_USEC_PER_SEC)
#define BOOTSTRAP_RETRY_US (30 * G_USEC_PER_SEC)
#define SECRET_INTERVAL_US (5 * 60 * G_USEC_PER_SEC)
#define PEER_TTL_US (30 * 60 * G_USEC_PER_SEC)
#define MAX_PACKET 1500
#define MAX_PENDING 512
#define MAX_LOOKUP_NODES 256
#define MAX_STORED_HASHES 2000
#define MAX_PEERS_PER_HASH 100
#define MAX_VALUES 50 /* peers in one get_peers reply: stays under a UDP packet */
#define NODE_KEY "gbt-dht-node" /* on the GbtSession */
#define TORRENT_KEY "gbt-dht-torrent" /* on a started GbtTorrent */
#define DEFAULT_BOOTSTRAP "router.bittorrent.com:6881,dht.transmissionbt.com:6881,router.utorrent.com:6881"

/* Node and StoredPeer start with their address: one free function */
typedef struct {
  GInetSocketAddress *addr;
  guint8 id[20];
  gint64 last_seen_us;
  guint fails;
} Node;

typedef enum { LN_NEW, LN_ASKED, LN_ANSWERED, LN_FAILED } LookupNodeState;

typedef struct {
  guint8 id[20];
  gboolean has_id; /* bootstrap addresses have none: they sort last */
  GInetSocketAddress *addr;
  LookupNodeState state;
  GBytes *token;
} LookupNode;

typedef struct _Dht Dht;
typedef struct _DhtTorrent DhtTorrent;

typedef struct {
  Dht *dht;
  DhtTorrent *owner; /* NULL for the bootstrap lookup */
  guint8 target[20];
  GPtrArray *nodes; /* LookupNode*, closest first */
  GHashTable *seen; /* address key */
  guint in_flight;
  guint found; /* peers handed to the torrent */
} Lookup;

struct _DhtTorrent {
  GbtTorrent *torrent; /* not referenced: this state is the torrent's own data */
  Dht *dht; /* NULL once the node is gone */
  Lookup *lookup;
  gint64 next_lookup_us;
};

typedef struct {
  guint16 tid;
  GInetSocketAddress *to;
  gint64 sent_us;
  Lookup *lookup; /* for get_peers and find_node of a lookup */
  LookupNode *ln;
} Pending;

typedef struct {
  GInetSocketAddress *addr;
  gint64 expires_us;
} StoredPeer;

static void
with_addr_free (gpointer p)
{
  g_object_unref (*(GInetSocketAddress **) p);
  g_free (p);
}

struct _Dht {
  GbtDhtSource *source; /* a reference (NULL in the fuzz target's node) */
  GbtSession *session; /* not referenced: the node is the session's own data */
  GbtUdpPort *port;   /* the session's shared UDP port (ABI 1.3), or */
  guint handler_id;
  GSocket *socket;    /* a socket of our own where the session has none */
  GSource *read_source;
  guint timer_id;
  guint8 id[20];
  GPtrArray *buckets[N_BUCKETS]; /* Node* */
  GHashTable *pending; /* tid -> Pending* */
  guint16 next_tid;
  guint8 secret[2][20];
  gint64 secret_changed_us;
  GHashTable *store; /* 20-byte info-hash (GBytes) -> GPtrArray of StoredPeer* */
  GPtrArray *torrents; /* DhtTorrent*, not owned: each leaves when its torrent stops */
  Lookup *bootstrap_lookup;
  gint64 last_bootstrap_us;
};

struct _GbtDhtSource {
  GObject parent_instance;
  GPtrArray *bootstrap; /* GInetSocketAddress*, resolved */
  GPtrArray *names; /* GNetworkAddress*: bootstrap names, resolved on first use */
  GPtrArray *nodes; /* Dht*, not owned: each leaves when its session goes */
};

static void gbt_dht_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtDhtSource, gbt_dht_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      gbt_dht_source_iface_init))

static void lookup_pump (Lookup *l);
static void lookup_free (Lookup *l);

/* ---- small helpers ---- */

static char *
addr_key (GInetSocketAddress *a)
{
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (a));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (a));
}

static gboolean
addr_equal (GInetSocketAddress *a, GInetSocketAddress *b)
{
  return g_inet_socket_address_get_port (a) == g_inet_socket_address_get_port (b)
         && g_inet_address_equal (g_inet_socket_address_get_address (a),
                                  g_inet_socket_address_get_address (b));
}

/* IPv4 for an IPv4-mapped IPv6 address; NULL if neither */
static GInetAddress *
ipv4_of (GInetAddress *ip)
{
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
    return g_object_ref (ip);
  {
    const guint8 *b = g_inet_address_to_bytes (ip);
    static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp (b, mapped, 12) == 0)
      return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
  }
  return NULL;
}

/* compact IPv4 peer/node address: 4 bytes of address, 2 of port */
static void
write_compact (GByteArray *out, GInetSocketAddress *a)
{
  g_autoptr(GInetAddress) ip = ipv4_of (g_inet_socket_address_get_address (a));
  guint16 port = GUINT16_TO_BE (g_inet_socket_address_get_port (a));

  if (ip == NULL)
    return;
  g_byte_array_append (out, g_inet_address_to_bytes (ip), 4);
  g_byte_array_append (out, (const guint8 *) &port, 2);
}

static GInetSocketAddress *
read_compact (const guint8 *p)
{
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_bytes (p, G_SOCKET_FAMILY_IPV4);
  guint16 port = (guint16) (p[4] << 8 | p[5]);

  if (port == 0 || g_inet_address_get_is_any (ip) || g_inet_address_get_is_multicast (ip))
    return NULL;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, port));
}

/* which of @a, @b is closer to @target: <0 @a */
static int
xor_cmp (const guint8 *target, const guint8 *a, const guint8 *b)
{
  for (guint i = 0; i < 20; i++)
    {
      guint8 x = a[i] ^ target[i], y = b[i] ^ target[i];
      if (x != y)
        return x < y ? -1 : 1;
    }
  return 0;
}

/* bits shared at the front of @a and @b (160: equal) */
static guint
common_prefix (const guint8 *a, const guint8 *b)
{
  for (guint i = 0; i < 20; i++)
    {
      guint8 x = a[i] ^ b[i];
      if (x)
        return i * 8 + (guint) __builtin_clz ((unsigned) x) - 24;
    }
  return 160;
}

static void
random_bytes (guint8 *out, gsize len)
{
  gsize got = 0;

  while (got < len)
    {
      gssize n = getrandom (out + got, len - got, 0);
      if (n <= 0)
        break;
      got += (gsize) n;
    }
  for (; got < len; got++) /* getrandom failed: still unpredictable enough to differ */
    out[got] = (guint8) g_random_int ();
}

/* ---- routing table ---- */

/* a node that answered or asked us: into its bucket if there is room (or a
 * failing node to replace) */
static void
table_seen (Dht *dht, const guint8 *id, GInetSocketAddress *addr)
{
  guint b = common_prefix (dht->id, id);
  GPtrArray *bucket;
  Node *n;

  if (b >= N_BUCKETS)
    return; /* our own id */
  bucket = dht->buckets[b];
  for (guint i = 0; i < bucket->len; i++)
    {
      n = g_ptr_array_index (bucket, i);
      if (memcmp (n->id, id, 20) == 0 || addr_equal (n->addr, addr))
        {
          memcpy (n->id, id, 20);
          g_object_unref (n->addr);
          n->addr = g_object_ref (addr);
          n->last_seen_us = g_get_monotonic_time ();
          n->fails = 0;
          return;
        }
    }
  if (bucket->len >= K)
    {
      guint worst = 0;
      for (guint i = 1; i < bucket->len; i++)
        if (((Node *) bucket->pdata[i])->fails > ((Node *) bucket->pdata[worst])->fails)
          worst = i;
      if (((Node *) bucket->pdata[worst])->fails == 0)
        return; /* full of good nodes: they stay (BEP 5) */
      g_ptr_array_remove_index_fast (bucket, worst);
    }
  n = g_new0 (Node, 1);
  memcpy (n->id, id, 20);
  n->addr = g_object_ref (addr);
  n->last_seen_us = g_get_monotonic_time ();
  g_ptr_array_add (bucket, n);
}

static void
table_failed (Dht *dht, GInetSocketAddress *addr)
{
  for (guint b = 0; b < N_BUCKETS; b++)
    for (guint i = 0; i < dht->buckets[b]->len; i++)
      {
        Node *n = g_ptr_array_index (dht->buckets[b], i);
        if (addr_equal (n->addr, addr))
          {
            if (++n->fails >= 3)
              g_ptr_array_remove_index_fast (dht->buckets[b], i);
            return;
          }
      }
}

static guint
table_size (Dht *dht)
{
  guint n = 0;
  for (guint b = 0; b < N_BUCKETS; b++)
    n += dht->buckets[b]->len;
  return n;
}

static int
node_cmp_target (gconstpointer a, gconstpointer b, gpointer target)
{
  return xor_cmp (target, (*(Node *const *) a)->id, (*(Node *const *) b)->id);
}

/* the (at most) K nodes closest to @target, not referenced */
static GPtrArray *
table_closest (Dht *dht, const guint8 *target)
{
  GPtrArray *all = g_ptr_array_new ();

  for (guint b = 0; b < N_BUCKETS; b++)
    for (guint i = 0; i < dht->buckets[b]->len; i++)
      {
        Node *n = g_ptr_array_index (dht->buckets[b], i);
        if (n->fails < 2)
          g_ptr_array_add (all, n);
      }
  g_ptr_array_sort_with_data (all, node_cmp_target, (gpointer) target);
  if (all->len > K)
    g_ptr_array_set_size (all, K);
  return all;
}

static void
write_nodes (GByteArray *out, Dht *dht, const guint8 *target)
{
  g_autoptr(GPtrArray) close = table_closest (dht, target);
  g_autoptr(GByteArray) compact = g_byte_array_new ();

  for (guint i = 0; i < close->len; i++)
    {
      Node *n = g_ptr_array_index (close, i);
      g_autoptr(GInetAddress) ip = ipv4_of (g_inet_socket_address_get_address (n->addr));
      if (ip == NULL)
        continue;
      g_byte_array_append (compact, n->id, 20);
      write_compact (compact, n->addr);
    }
  gbt_bencode_write_str (out, "nodes");
  gbt_bencode_write_string (out, compact->data, compact->len);
}

/* ---- sending ---- */

static void
send_packet (Dht *dht, GInetSocketAddress *to, GByteArray *msg)
{
  g_autoptr(GError) error = NULL;

  if (dht->port != NULL)
    {
      if (!gbt_udp_port_send (dht->port, G_SOCKET_ADDRESS (to), msg->data, msg->len, &error))
        g_debug ("send to a DHT node: %s", error->message);
      return;
    }
  if (dht->socket == NULL)
    return;
  if (g_socket_send_to (dht->socket, G_SOCKET_ADDRESS (to), (const char *) msg->data, msg->len,
                        NULL, &error) < 0)
    g_debug ("send to a DHT node: %s", error->message);
}

static void
pending_free (gpointer p)
{
  Pending *q = p;
  g_object_unref (q->to);
  g_free (q);
}

/* {"id": ours, then the keys of @rest}: a query's "a", a reply's "r" (keys
 * in @rest sort after "id") */
static void
write_id_dict (GByteArray *msg, Dht *dht, GByteArray *rest)
{
  gbt_bencode_write_dict_start (msg);
  gbt_bencode_write_str (msg, "id");
  gbt_bencode_write_string (msg, dht->id, 20);
  if (rest)
    g_byte_array_append (msg, rest->data, rest->len);
  gbt_bencode_write_end (msg);
}

/* @msg holds "d" and the keys before "t"; the rest of a KRPC message is
 * written here (t, v, y) and it goes to @to */
static void
send_message (Dht *dht, GInetSocketAddress *to, GByteArray *msg, const guint8 *t, gsize t_len,
              const char *y)
{
  gbt_bencode_write_str (msg, "t");
  gbt_bencode_write_string (msg, t, t_len);
  gbt_bencode_write_str (msg, "v");
  gbt_bencode_write_string (msg, "GB01", 4);
  gbt_bencode_write_str (msg, "y");
  gbt_bencode_write_str (msg, y);
  gbt_bencode_write_end (msg);
  send_packet (dht, to, msg);
}

/* Sends query @method with the arguments in @args (a bencoded dict body
 * without its "d" and "e", our id added here); remembers it.  FALSE when
 * too many are in flight. */
static gboolean
send_query (Dht *dht, GInetSocketAddress *to, const char *method, GByteArray *args,
            Lookup *lookup, LookupNode *ln)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  Pending *q;
  guint16 tid;
  guint8 t[2];

  if (g_hash_table_size (dht->pending) >= MAX_PENDING)
    return FALSE;
  do
    tid = dht->next_tid++;
  while (g_hash_table_contains (dht->pending, GUINT_TO_POINTER (tid)));
  t[0] = tid >> 8;
  t[1] = tid & 0xff;
  q = g_new0 (Pending, 1);
  q->tid = tid;
  q->to = g_object_ref (to);
  q->sent_us = g_get_monotonic_time ();
  q->lookup = lookup;
  q->ln = ln;
  g_hash_table_insert (dht->pending, GUINT_TO_POINTER (tid), q);
  /* keys in order: a, q, t, v, y */
  gbt_bencode_write_dict_start (msg);
  gbt_bencode_write_str (msg, "a");
  write_id_dict (msg, dht, args);
  gbt_bencode_write_str (msg, "q");
  gbt_bencode_write_str (msg, method);
  send_message (dht, to, msg, t, 2, "q");
  return TRUE;
}

static void
send_reply (Dht *dht, GInetSocketAddress *to, const guint8 *t, gsize t_len, GByteArray *body)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  gbt_bencode_write_dict_start (msg);
  gbt_bencode_write_str (msg, "r");
  write_id_dict (msg, dht, body);
  send_message (dht, to, msg, t, t_len, "r");
}

static void
send_error (Dht *dht, GInetSocketAddress *to, const guint8 *t, gsize t_len, int code,
            const char *text)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  gbt_bencode_write_dict_start (msg);
  gbt_bencode_write_str (msg, "e");
  gbt_bencode_write_list_start (msg);
  gbt_bencode_write_int (msg, code);
  gbt_bencode_write_str (msg, text);
  gbt_bencode_write_end (msg);
  send_message (dht, to, msg, t, t_len, "e");
}

/* ---- tokens and the peer store ---- */

static void
make_token (Dht *dht, guint which, GInetAddress *ip, guint8 out[8])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sum, dht->secret[which], 20);
  g_checksum_update (sum, g_inet_address_to_bytes (ip), g_inet_address_get_native_size (ip));
  g_checksum_get_digest (sum, digest, &len);
  memcpy (out, digest, 8);
}

static void
rotate_secret (Dht *dht, gint64 now)
{
  if (dht->secret_changed_us && now - dht->secret_changed_us < SECRET_INTERVAL_US)
    return;
  memcpy (dht->secret[1], dht->secret[0], 20);
  random_bytes (dht->secret[0], 20);
  dht->secret_changed_us = now;
}

static gboolean
token_ok (Dht *dht, GInetAddress *ip, const guint8 *token, gsize len)
{
  guint8 mine[8];

  if (len != 8)
    return FALSE;
  for (guint which = 0; which < 2; which++)
    {
      make_token (dht, which, ip, mine);
      if (memcmp (mine, token, 8) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
store_peer (Dht *dht, const guint8 *info_hash, GInetSocketAddress *addr)
{
  g_autoptr(GBytes) key = g_bytes_new (info_hash, 20);
  GPtrArray *peers = g_hash_table_lookup (dht->store, key);
  gint64 now = g_get_monotonic_time ();
  StoredPeer *sp;

  if (peers == NULL)
    {
      if (g_hash_table_size (dht->store) >= MAX_STORED_HASHES)
        return;
      peers = g_ptr_array_new_with_free_func (with_addr_free);
      g_hash_table_insert (dht->store, g_bytes_ref (key), peers);
    }
  for (guint i = 0; i < peers->len; i++)
    {
      sp = g_ptr_array_index (peers, i);
      if (addr_equal (sp->addr, addr))
        {
          sp->expires_us = now + PEER_TTL_US;
          return;
        }
    }
  if (peers->len >= MAX_PEERS_PER_HASH)
    g_ptr_array_remove_index (peers, 0); /* the oldest */
  sp = g_new0 (StoredPeer, 1);
  sp->addr = g_object_ref (addr);
  sp->expires_us = now + PEER_TTL_US;
  g_ptr_array_add (peers, sp);
}

static void
store_expire (Dht *dht, gint64 now)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, dht->store);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GPtrArray *peers = value;
      for (guint i = peers->len; i > 0; i--)
        if (((StoredPeer *) peers->pdata[i - 1])->expires_us <= now)
          g_ptr_array_remove_index (peers, i - 1);
      if (peers->len == 0)
        g_hash_table_iter_remove (&iter);
    }
}

/* ---- answering queries ---- */

static void
handle_query (Dht *dht, GInetSocketAddress *from, GbtBencode *root, const guint8 *t, gsize t_len)
{
  GbtBencode *a = gbt_bencode_dict_lookup (root, "a");
  gsize qlen = 0, id_len = 0;
  const guint8 *q = gbt_bencode_dict_get_string (root, "q", &qlen);
  const guint8 *id = a ? gbt_bencode_dict_get_string (a, "id", &id_len) : NULL;
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(GInetAddress) ip = ipv4_of (g_inet_socket_address_get_address (from));
  g_autofree char *method = NULL;

  if (q == NULL || a == NULL || !gbt_bencode_is_dict (a) || id == NULL || id_len != 20
      || ip == NULL)
    {
      send_error (dht, from, t, t_len, 203, "Protocol Error: query without q, a or a 20-byte id");
      return;
    }
  method = g_strndup ((const char *) q, qlen);
  table_seen (dht, id, from);

  if (g_str_equal (method, "ping"))
    send_reply (dht, from, t, t_len, NULL);
  else if (g_str_equal (method, "find_node"))
    {
      gsize len = 0;
      const guint8 *target = gbt_bencode_dict_get_string (a, "target", &len);
      if (target == NULL || len != 20)
        {
          send_error (dht, from, t, t_len, 203, "Protocol Error: target is not 20 bytes");
          return;
        }
      write_nodes (body, dht, target);
      send_reply (dht, from, t, t_len, body);
    }
  else if (g_str_equal (method, "get_peers"))
    {
      gsize len = 0;
      const guint8 *hash = gbt_bencode_dict_get_string (a, "info_hash", &len);
      g_autoptr(GBytes) key = NULL;
      GPtrArray *peers;
      guint8 token[8];

      if (hash == NULL || len != 20)
        {
          send_error (dht, from, t, t_len, 203, "Protocol Error: info_hash is not 20 bytes");
          return;
        }
      key = g_bytes_new (hash, 20);
      peers = g_hash_table_lookup (dht->store, key);
      /* keys in order: (id), nodes, token, values */
      write_nodes (body, dht, hash);
      make_token (dht, 0, ip, token);
      gbt_bencode_write_str (body, "token");
      gbt_bencode_write_string (body, token, sizeof token);
      if (peers && peers->len > 0)
        {
          gbt_bencode_write_str (body, "values");
          gbt_bencode_write_list_start (body);
          for (guint i = 0; i < peers->len && i < MAX_VALUES; i++)
            {
              g_autoptr(GByteArray) one = g_byte_array_new ();
              write_compact (one, ((StoredPeer *) peers->pdata[i])->addr);
              gbt_bencode_write_string (body, one->data, one->len);
            }
          gbt_bencode_write_end (body);
        }
      send_reply (dht, from, t, t_len, body);
    }
  else if (g_str_equal (method, "announce_peer"))
    {
      gsize len = 0, token_len = 0;
      const guint8 *hash = gbt_bencode_dict_get_string (a, "info_hash", &len);
      const guint8 *token = gbt_bencode_dict_get_string (a, "token", &token_len);
      gint64 port = 0, implied = 0;
      g_autoptr(GSocketAddress) peer = NULL;

      gbt_bencode_dict_get_int (a, "implied_port", &implied);
      if (hash == NULL || len != 20 || token == NULL
          || (implied == 0 && (!gbt_bencode_dict_get_int (a, "port", &port) || port <= 0
                               || port > 65535)))
        {
          send_error (dht, from, t, t_len, 203,
                      "Protocol Error: announce_peer without info_hash, token or port");
          return;
        }
      if (!token_ok (dht, ip, token, token_len))
        {
          send_error (dht, from, t, t_len, 203, "Protocol Error: bad token");
          return;
        }
      peer = g_inet_socket_address_new (ip, implied ? g_inet_socket_address_get_port (from)
                                                    : (guint16) port);
      store_peer (dht, hash, G_INET_SOCKET_ADDRESS (peer));
      send_reply (dht, from, t, t_len, NULL);
    }
  else
    send_error (dht, from, t, t_len, 204, "Method Unknown");
}

/* ---- lookups ---- */

static void
lookup_node_free (gpointer p)
{
  LookupNode *ln = p;
  g_object_unref (ln->addr);
  g_clear_pointer (&ln->token, g_bytes_unref);
  g_free (ln);
}

static int
lookup_node_cmp (gconstpointer a, gconstpointer b, gpointer target)
{
  const LookupNode *x = *(LookupNode *const *) a, *y = *(LookupNode *const *) b;

  if (x->has_id != y->has_id)
    return x->has_id ? -1 : 1;
  if (!x->has_id)
    return 0;
  return xor_cmp (target, x->id, y->id);
}

static void
lookup_add (Lookup *l, const guint8 *id, GInetSocketAddress *addr)
{
  g_autofree char *key = addr_key (addr);
  LookupNode *ln;

  if (l->nodes->len >= MAX_LOOKUP_NODES || g_hash_table_contains (l->seen, key))
    return;
  if (id && memcmp (id, l->dht->id, 20) == 0)
    return;
  g_hash_table_add (l->seen, g_steal_pointer (&key));
  ln = g_new0 (LookupNode, 1);
  if (id)
    {
      memcpy (ln->id, id, 20);
      ln->has_id = TRUE;
    }
  ln->addr = g_object_ref (addr);
  g_ptr_array_add (l->nodes, ln);
  g_ptr_array_sort_with_data (l->nodes, lookup_node_cmp, l->target);
}

static Lookup *
lookup_new (Dht *dht, DhtTorrent *owner, const guint8 *target)
{
  Lookup *l = g_new0 (Lookup, 1);
  g_autoptr(GPtrArray) close = table_closest (dht, target);

  l->dht = dht;
  l->owner = owner;
  memcpy (l->target, target, 20);
  l->nodes = g_ptr_array_new_with_free_func (lookup_node_free);
  l->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < close->len; i++)
    lookup_add (l, ((Node *) close->pdata[i])->id, ((Node *) close->pdata[i])->addr);
  /* a table too small to start from: ask the bootstrap nodes too */
  if (close->len < K && dht->source)
    for (guint i = 0; i < dht->source->bootstrap->len; i++)
      lookup_add (l, NULL, g_ptr_array_index (dht->source->bootstrap, i));
  return l;
}

/* the queries of @l still in flight no longer report to it */
static void
lookup_detach (Lookup *l)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, l->dht->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Pending *q = value;
      if (q->lookup == l)
        {
          q->lookup = NULL;
          q->ln = NULL;
        }
    }
}

static void
lookup_free (Lookup *l)
{
  lookup_detach (l);
  g_ptr_array_unref (l->nodes);
  g_hash_table_unref (l->seen);
  g_free (l);
}

/* The lookup is over: announce to the closest nodes that gave a token,
 * and plan the next one. */
static void
lookup_finish (Lookup *l)
{
  Dht *dht = l->dht;
  DhtTorrent *dt = l->owner;
  guint announced = 0;

  if (dt)
    {
      GbtTorrent *torrent = dt->torrent;
      guint16 port = gbt_session_get_listen_port (dht->session);

      for (guint i = 0; i < l->nodes->len && announced < K; i++)
        {
          LookupNode *ln = g_ptr_array_index (l->nodes, i);
          g_autoptr(GByteArray) args = g_byte_array_new ();
          gsize tlen;
          const guint8 *tok;

          if (ln->state != LN_ANSWERED || ln->token == NULL || port == 0)
            continue;
          tok = g_bytes_get_data (ln->token, &tlen);
          /* keys in order: (id), implied_port, info_hash, port, token */
          gbt_bencode_write_str (args, "implied_port");
          gbt_bencode_write_int (args, 0);
          gbt_bencode_write_str (args, "info_hash");
          gbt_bencode_write_string (args, gbt_torrent_get_info_hash (torrent), 20);
          gbt_bencode_write_str (args, "port");
          gbt_bencode_write_int (args, port);
          gbt_bencode_write_str (args, "token");
          gbt_bencode_write_string (args, tok, tlen);
          if (send_query (dht, ln->addr, "announce_peer", args, NULL, NULL))
            announced++;
        }
      g_debug ("[%s] DHT lookup done: %u peers, announced to %u nodes",
               gbt_torrent_get_name (torrent), l->found, announced);
      dt->next_lookup_us = g_get_monotonic_time ()
                           + (l->found == 0 || gbt_torrent_get_n_peers (torrent) == 0
                                  ? LOOKUP_RETRY_US
                                  : LOOKUP_INTERVAL_US);
      dt->lookup = NULL;
    }
  else
    {
      g_debug ("DHT bootstrap done: %u nodes in the table", table_size (dht));
      dht->bootstrap_lookup = NULL;
    }
  lookup_free (l);
}

static void
lookup_pump (Lookup *l)
{
  guint answered = 0;

  for (guint i = 0; i < l->nodes->len && answered < K; i++)
    {
      LookupNode *ln = g_ptr_array_index (l->nodes, i);
      g_autoptr(GByteArray) args = NULL;

      if (ln->state == LN_ANSWERED)
        {
          answered++;
          continue;
        }
      if (ln->state != LN_NEW || l->in_flight >= ALPHA)
        continue;
      args = g_byte_array_new ();
      if (l->owner)
        {
          gbt_bencode_write_str (args, "info_hash");
          gbt_bencode_write_string (args, l->target, 20);
        }
      else
        {
          gbt_bencode_write_str (args, "target");
          gbt_bencode_write_string (args, l->target, 20);
        }
      if (!send_query (l->dht, ln->addr, l->owner ? "get_peers" : "find_node", args, l, ln))
        break;
      ln->state = LN_ASKED;
      l->in_flight++;
    }
  if (l->in_flight == 0)
    lookup_finish (l);
}

/* a reply (or a timeout: @r NULL) for one query of @l */
static void
lookup_reply (Lookup *l, LookupNode *ln, GbtBencode *r)
{
  l->in_flight--;
  if (r == NULL)
    {
      ln->state = LN_FAILED;
      lookup_pump (l);
      return;
    }
  ln->state = LN_ANSWERED;
  {
    gsize len = 0;
    const guint8 *id = gbt_bencode_dict_get_string (r, "id", &len);
    const guint8 *nodes = gbt_bencode_dict_get_string (r, "nodes", &len);
    const guint8 *token;
    GbtBencode *values = gbt_bencode_dict_lookup (r, "values");

    if (id && !ln->has_id)
      {
        memcpy (ln->id, id, 20);
        ln->has_id = TRUE;
        g_ptr_array_sort_with_data (l->nodes, lookup_node_cmp, l->target);
      }
    for (gsize off = 0; nodes && off + 26 <= len; off += 26)
      {
        g_autoptr(GInetSocketAddress) a = read_compact (nodes + off + 20);
        if (a)
          lookup_add (l, nodes + off, a);
      }
    token = gbt_bencode_dict_get_string (r, "token", &len);
    if (token && len > 0 && len <= 64)
      {
        g_clear_pointer (&ln->token, g_bytes_unref);
        ln->token = g_bytes_new (token, len);
      }
    if (l->owner && values && gbt_bencode_is_list (values))
      {
        g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_object_unref);
        for (guint i = 0; i < gbt_bencode_get_length (values) && i < 200; i++)
          {
            gsize vlen = 0;
            const guint8 *v = gbt_bencode_get_string (gbt_bencode_list_nth (values, i), &vlen);
            GInetSocketAddress *a = v && vlen == 6 ? read_compact (v) : NULL;
            if (a)
              g_ptr_array_add (found, a);
          }
        if (found->len > 0)
          {
            l->found += found->len;
            gbt_torrent_add_peers (l->owner->torrent, found, "dht");
          }
      }
  }
  lookup_pump (l);
}

/* ---- input ---- */

static void
handle_reply (Dht *dht, GInetSocketAddress *from, GbtBencode *root, const guint8 *t, gsize t_len,
              gboolean is_error)
{
  guint16 tid;
  Pending *q;
  GbtBencode *r = is_error ? NULL : gbt_bencode_dict_lookup (root, "r");
  gsize id_len = 0;
  const guint8 *id = r ? gbt_bencode_dict_get_string (r, "id", &id_len) : NULL;
  Lookup *l;
  LookupNode *ln;

  if (t_len != 2)
    return;
  tid = (guint16) (t[0] << 8 | t[1]);
  q = g_hash_table_lookup (dht->pending, GUINT_TO_POINTER (tid));
  if (q == NULL || !addr_equal (q->to, from))
    return; /* not ours, or not from whom we asked */
  if (!is_error && (r == NULL || !gbt_bencode_is_dict (r) || id == NULL || id_len != 20))
    return; /* a malformed reply: the query times out */
  l = q->lookup;
  ln = q->ln;
  g_hash_table_remove (dht->pending, GUINT_TO_POINTER (tid));
  if (!is_error)
    table_seen (dht, id, from);
  if (l)
    lookup_reply (l, ln, is_error ? NULL : r);
}

static void
handle_packet (Dht *dht, GInetSocketAddress *from, const guint8 *data, gsize len)
{
  g_autoptr(GbtBencodeDoc) doc = gbt_bencode_parse_data (data, len, NULL);
  GbtBencode *root = doc ? gbt_bencode_doc_get_root (doc) : NULL;
  gsize t_len = 0, y_len = 0;
  const guint8 *t, *y;

  if (root == NULL || !gbt_bencode_is_dict (root))
    return;
  t = gbt_bencode_dict_get_string (root, "t", &t_len);
  y = gbt_bencode_dict_get_string (root, "y", &y_len);
  if (t == NULL || t_len == 0 || t_len > 32 || y == NULL || y_len != 1)
    return;
  switch (y[0])
    {
    case 'q':
      handle_query (dht, from, root, t, t_len);
      break;
    case 'r':
      handle_reply (dht, from, root, t, t_len, FALSE);
      break;
    case 'e':
      handle_reply (dht, from, root, t, t_len, TRUE);
      break;
    default:
      break;
    }
}

static gboolean
readable_cb (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  Dht *dht = user_data;

  for (guint n = 0; n < 64; n++)
    {
      guint8 buf[MAX_PACKET + 1];
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      gssize got = g_socket_receive_from (socket, &from, (char *) buf, sizeof buf, NULL, &error);

      if (got < 0)
        break; /* would block, or an ICMP error surfaced: nothing to read */
      if (got > MAX_PACKET || !G_IS_INET_SOCKET_ADDRESS (from))
        continue;
      handle_packet (dht, G_INET_SOCKET_ADDRESS (from), buf, (gsize) got);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the node's clock ---- */

static void start_lookup (Dht *dht, DhtTorrent *dt);

static void
bootstrap (Dht *dht)
{
  if (dht->bootstrap_lookup)
    return;
  dht->last_bootstrap_us = g_get_monotonic_time ();
  dht->bootstrap_lookup = lookup_new (dht, NULL, dht->id);
  lookup_pump (dht->bootstrap_lookup);
}

static gboolean
tick_cb (gpointer user_data)
{
  Dht *dht = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) late = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, dht->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (now - ((Pending *) value)->sent_us > QUERY_TIMEOUT_US)
      g_ptr_array_add (late, GUINT_TO_POINTER (((Pending *) value)->tid));
  for (guint i = 0; i < late->len; i++)
    {
      Pending *q = g_hash_table_lookup (dht->pending, late->pdata[i]);
      Lookup *l;
      LookupNode *ln;

      if (q == NULL)
        continue;
      l = q->lookup;
      ln = q->ln;
      table_failed (dht, q->to);
      g_hash_table_remove (dht->pending, late->pdata[i]);
      if (l)
        lookup_reply (l, ln, NULL);
    }
  rotate_secret (dht, now);
  store_expire (dht, now);
  if (table_size (dht) < K && now - dht->last_bootstrap_us > BOOTSTRAP_RETRY_US)
    bootstrap (dht);
  for (guint i = 0; i < dht->torrents->len; i++)
    {
      DhtTorrent *dt = g_ptr_array_index (dht->torrents, i);
      if (dt->lookup == NULL && now >= dt->next_lookup_us)
        start_lookup (dht, dt);
    }
  return G_SOURCE_CONTINUE;
}

static void
start_lookup (Dht *dht, DhtTorrent *dt)
{
  dt->lookup = lookup_new (dht, dt, gbt_torrent_get_info_hash (dt->torrent));
  lookup_pump (dt->lookup);
}

/* ---- one node per session ---- */

/* The torrent's data: freed when it stops (or, had it not, is finalized). */
static void
dht_torrent_free (gpointer p)
{
  DhtTorrent *dt = p;

  if (dt->lookup)
    lookup_free (dt->lookup);
  if (dt->dht)
    g_ptr_array_remove_fast (dt->dht->torrents, dt);
  g_free (dt);
}

/* The session's data: freed when the session is finalized, so nothing of
 * the session may be touched here. */
static void
dht_free (Dht *dht)
{
  for (guint i = 0; i < dht->torrents->len; i++)
    {
      DhtTorrent *dt = g_ptr_array_index (dht->torrents, i);

      /* a torrent outliving its session keeps its state, unlinked */
      if (dt->lookup)
        lookup_free (dt->lookup);
      dt->lookup = NULL;
      dt->dht = NULL;
    }
  g_ptr_array_unref (dht->torrents);
  if (dht->bootstrap_lookup)
    lookup_free (dht->bootstrap_lookup);
  g_hash_table_unref (dht->pending);
  g_hash_table_unref (dht->store);
  for (guint b = 0; b < N_BUCKETS; b++)
    g_ptr_array_unref (dht->buckets[b]);
  g_clear_handle_id (&dht->timer_id, gbt_source_remove);
  if (dht->read_source)
    {
      g_source_destroy (dht->read_source);
      g_source_unref (dht->read_source);
    }
  if (dht->port)
    {
      gbt_udp_port_remove_handler (dht->port, dht->handler_id);
      g_object_unref (dht->port);
    }
  if (dht->socket)
    {
      g_socket_close (dht->socket, NULL);
      g_object_unref (dht->socket);
    }
  if (dht->source)
    {
      g_ptr_array_remove_fast (dht->source->nodes, dht);
      g_object_unref (dht->source);
    }
  g_free (dht);
}

/* UDP on the session's bind address, at the TCP listen port if free */
static GSocket *
open_socket (GbtSession *session, GError **error)
{
  GInetAddress *bind = gbt_session_get_bind_inet_address (session);
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  GInetAddress *local = bind && g_inet_address_get_family (bind) == G_SOCKET_FAMILY_IPV4 ? bind : any;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, error);
  guint16 port = gbt_session_get_listen_port (session);
  g_autoptr(GSocketAddress) at = NULL;

  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  at = g_inet_socket_address_new (local, port);
  if (!g_socket_bind (socket, at, FALSE, NULL))
    {
      g_clear_object (&at);
      at = g_inet_socket_address_new (local, 0);
      if (!g_socket_bind (socket, at, FALSE, error))
        return NULL;
    }
  return g_steal_pointer (&socket);
}

static void resolve_names (GbtDhtSource *self);

/* on the shared port: a KRPC message is a bencoded dictionary, so it starts
 * with 'd' (uTP's first byte never does); this node speaks IPv4 (BEP 5) */
static gboolean
port_handler (GbtUdpPort *port, const guint8 *data, gsize len, GInetSocketAddress *from,
              gpointer user_data)
{
  Dht *dht = user_data;

  (void) port;
  if (len == 0 || data[0] != 'd')
    return FALSE;
  if (len <= MAX_PACKET
      && g_inet_address_get_family (g_inet_socket_address_get_address (from))
             == G_SOCKET_FAMILY_IPV4)
    handle_packet (dht, from, data, len);
  return TRUE;
}

/* a node's state, with no socket, timer or session yet */
static Dht *
dht_alloc (void)
{
  Dht *dht = g_new0 (Dht, 1);

  random_bytes (dht->id, 20);
  dht->next_tid = (guint16) g_random_int ();
  for (guint b = 0; b < N_BUCKETS; b++)
    dht->buckets[b] = g_ptr_array_new_with_free_func (with_addr_free);
  dht->pending = g_hash_table_new_full (NULL, NULL, NULL, pending_free);
  dht->store = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref,
                                      (GDestroyNotify) g_ptr_array_unref);
  dht->torrents = g_ptr_array_new ();
  rotate_secret (dht, g_get_monotonic_time ());
  return dht;
}

static Dht *
dht_new (GbtDhtSource *source, GbtSession *session)
{
  g_autoptr(GError) error = NULL;
  Dht *dht = dht_alloc ();

  dht->source = g_object_ref (source);
  dht->session = session;
  dht->port = gbt_session_get_udp_port (session);
  if (dht->port != NULL)
    {
      g_object_ref (dht->port);
      dht->handler_id = gbt_udp_port_add_handler (dht->port, port_handler, dht, NULL);
      g_debug ("DHT node on the session's UDP port %u",
               g_inet_socket_address_get_port (gbt_udp_port_get_local_address (dht->port)));
    }
  else if ((dht->socket = open_socket (session, &error)) == NULL)
    g_warning ("DHT: no UDP socket: %s", error->message);
  else
    {
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (dht->socket, NULL);
      dht->read_source = g_socket_create_source (dht->socket, G_IO_IN, NULL);
      g_source_set_callback (dht->read_source, G_SOURCE_FUNC (readable_cb), dht, NULL);
      g_source_attach (dht->read_source, g_main_context_get_thread_default ());
      if (local)
        g_debug ("DHT node on UDP port %u",
                 g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)));
    }
  dht->timer_id = gbt_timeout_add (250, tick_cb, dht);
  resolve_names (source);
  bootstrap (dht);
  return dht;
}

/* For the fuzz target (tests/fuzzing/fuzz-dht.c): one packet, from a fixed
 * address, through the parser and the query and reply handlers of a node
 * that has no socket, timer or session (it answers into the void). */
void
gbt_dht_fuzz_packet (const guint8 *data, gsize len)
{
  static Dht *node;
  static GInetSocketAddress *from;

  if (node == NULL)
    {
      g_autoptr(GInetAddress) ip = g_inet_address_new_from_string ("127.0.0.2");

      node = dht_alloc ();
      from = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, 6881));
    }
  if (len <= MAX_PACKET)
    handle_packet (node, from, data, len);
}

/* ---- GbtPeerSource ---- */

static void
dht_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtDhtSource *self = GBT_DHT_SOURCE (source);
  GbtSession *session = gbt_torrent_get_session (torrent);
  Dht *dht = g_object_get_data (G_OBJECT (session), NODE_KEY);
  DhtTorrent *dt;

  if (dht == NULL)
    {
      /* the session's node from now on: it outlives the torrents, so one
       * started again later finds the routing table it helped fill */
      dht = dht_new (self, session);
      g_ptr_array_add (self->nodes, dht);
      g_object_set_data_full (G_OBJECT (session), NODE_KEY, dht, (GDestroyNotify) dht_free);
    }
  if (g_object_get_data (G_OBJECT (torrent), TORRENT_KEY) != NULL)
    return;
  dt = g_new0 (DhtTorrent, 1);
  dt->torrent = torrent;
  dt->dht = dht;
  g_ptr_array_add (dht->torrents, dt);
  g_object_set_data_full (G_OBJECT (torrent), TORRENT_KEY, dt, dht_torrent_free);
  /* at once if the table has nodes; else the bootstrap's end, or the tick,
   * starts it */
  if (table_size (dht) > 0 || self->bootstrap->len > 0)
    start_lookup (dht, dt);
}

/* The torrent's lookups end; the node stays, with the session. */
static void
dht_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  g_object_set_data (G_OBJECT (torrent), TORRENT_KEY, NULL);
}

/* BEP 5: our node's UDP port, for the handshake's DHT bit and PORT */
static guint16
dht_get_dht_port (GbtPeerSource *source, GbtTorrent *torrent)
{
  Dht *dht = g_object_get_data (G_OBJECT (gbt_torrent_get_session (torrent)), NODE_KEY);
  g_autoptr(GSocketAddress) local = NULL;

  if (dht == NULL || (dht->socket == NULL && dht->port == NULL)
      || g_object_get_data (G_OBJECT (torrent), TORRENT_KEY) == NULL)
    return 0;
  if (dht->port)
    return g_inet_socket_address_get_port (gbt_udp_port_get_local_address (dht->port));
  local = g_socket_get_local_address (dht->socket, NULL);
  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

/* a peer's PORT message: its node is pinged, and joins the table when it
 * answers (handle_reply) */
static void
dht_on_dht_port (GbtPeerSource *source, GbtPeer *peer, guint16 port)
{
  GbtTorrent *torrent = gbt_peer_get_torrent (peer);
  Dht *dht = torrent ? g_object_get_data (G_OBJECT (gbt_torrent_get_session (torrent)), NODE_KEY)
                     : NULL;
  GInetSocketAddress *remote = gbt_peer_get_address (peer);
  g_autoptr(GInetAddress) ip = NULL;
  g_autoptr(GSocketAddress) node = NULL;

  if (dht == NULL || remote == NULL || port == 0
      || (ip = ipv4_of (g_inet_socket_address_get_address (remote))) == NULL)
    return;
  node = g_inet_socket_address_new (ip, port);
  send_query (dht, G_INET_SOCKET_ADDRESS (node), "ping", NULL, NULL, NULL);
}

static void
gbt_dht_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = dht_start;
  iface->stop = dht_stop;
  iface->get_dht_port = dht_get_dht_port;
  iface->on_dht_port = dht_on_dht_port;
}

static void
gbt_dht_source_finalize (GObject *object)
{
  GbtDhtSource *self = GBT_DHT_SOURCE (object);

  /* every node holds a reference on its source: none is left here */
  g_ptr_array_unref (self->nodes);
  g_ptr_array_unref (self->bootstrap);
  g_ptr_array_unref (self->names);
  G_OBJECT_CLASS (gbt_dht_source_parent_class)->finalize (object);
}

static void
gbt_dht_source_class_init (GbtDhtSourceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_dht_source_finalize;
}

static void
gbt_dht_source_init (GbtDhtSource *self)
{
  self->nodes = g_ptr_array_new ();
  self->bootstrap = g_ptr_array_new_with_free_func (g_object_unref);
  self->names = g_ptr_array_new_with_free_func (g_object_unref);
}

typedef struct {
  GbtDhtSource *self; /* a reference */
  guint16 port;
} Resolving;

static void
resolved_cb (GObject *object, GAsyncResult *result, gpointer user_data)
{
  Resolving *r = user_data;
  g_autoptr(GError) error = NULL;
  GList *ips = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &error);

  guint before = r->self->bootstrap->len;

  for (GList *l = ips; l; l = l->next)
    if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
      g_ptr_array_add (r->self->bootstrap, g_inet_socket_address_new (l->data, r->port));
  if (error)
    g_debug ("DHT bootstrap name not resolved: %s", error->message);
  /* new ways in: join now, and look up again at once, not in 30 s */
  for (guint i = 0; r->self->bootstrap->len > before && i < r->self->nodes->len; i++)
    {
      Dht *dht = g_ptr_array_index (r->self->nodes, i);

      if (table_size (dht) >= K)
        continue;
      bootstrap (dht);
      for (guint j = 0; j < dht->torrents->len; j++)
        ((DhtTorrent *) g_ptr_array_index (dht->torrents, j))->next_lookup_us = 0;
    }
  g_resolver_free_addresses (ips);
  g_object_unref (r->self);
  g_free (r);
}

/* bootstrap names: looked up in the background when a node first starts
 * (the tick retries the bootstrap once they are known) */
static void
resolve_names (GbtDhtSource *self)
{
  g_autoptr(GResolver) resolver = NULL;

  if (self->names->len == 0)
    return;
  resolver = g_resolver_get_default ();
  for (guint i = 0; i < self->names->len; i++)
    {
      GNetworkAddress *where = g_ptr_array_index (self->names, i);
      Resolving *r = g_new0 (Resolving, 1);

      r->self = g_object_ref (self);
      r->port = g_network_address_get_port (where);
      g_resolver_lookup_by_name_async (resolver, g_network_address_get_hostname (where), NULL,
                                       resolved_cb, r);
    }
  g_ptr_array_set_size (self->names, 0);
}

GbtDhtSource *
gbt_dht_source_new (const char *bootstrap, GError **error)
{
  g_autoptr(GbtDhtSource) self = g_object_new (GBT_TYPE_DHT_SOURCE, NULL);
  g_auto(GStrv) parts = g_strsplit (bootstrap ? bootstrap : DEFAULT_BOOTSTRAP, ",", -1);

  for (char **p = parts; *p; p++)
    {
      g_autoptr(GSocketConnectable) where = NULL;
      const char *host;
      guint16 port;
      g_autoptr(GInetAddress) ip = NULL;

      g_strstrip (*p);
      if (**p == '\0')
        continue;
      where = g_network_address_parse (*p, 0, NULL);
      if (where == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (where)) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "GBT_DHT_BOOTSTRAP: '%s' is not HOST:PORT", *p);
          return NULL;
        }
      host = g_network_address_get_hostname (G_NETWORK_ADDRESS (where));
      port = g_network_address_get_port (G_NETWORK_ADDRESS (where));
      ip = g_inet_address_new_from_string (host);
      if (ip && g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV4)
        g_ptr_array_add (self->bootstrap, g_inet_socket_address_new (ip, port));
      else if (ip == NULL)
        g_ptr_array_add (self->names, g_steal_pointer (&where));
    }
  return g_steal_pointer (&self);
}
