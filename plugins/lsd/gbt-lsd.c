/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 14 local peer discovery.  Each session that starts a torrent gets one
 * LSD node: a UDP socket per family on port 6771 (SO_REUSEADDR, so several
 * clients on one machine share it) that joined 239.192.152.143 and
 * ff15::efc0:988f, on the interface of the session's bind address when it
 * has one.  The node announces every non-private torrent it serves:
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: 239.192.152.143:6771\r\n
 *   Port: <our TCP listen port>\r\n
 *   Infohash: <40 hex digits>\r\n      (up to MAX_HASHES_OUT of these)
 *   cookie: <ours>\r\n
 *   \r\n\r\n
 *
 * at the BEP's rate: a torrent soon after it starts, then every
 * ANNOUNCE_INTERVAL, never twice within MIN_GAP; at most one message per
 * family a second (a burst of many torrents spreads out).  Multicast leaves
 * with TTL 1 (the link only) and loops back, so that other clients on this
 * machine hear us; our own messages come back with our cookie and are
 * ignored.
 *
 * What it hears: the sender's address with the message's Port becomes a
 * candidate of each named torrent that this session serves (and that is
 * not private, BEP 27), source "lsd", at most once per MIN_HEARD_GAP per
 * address and torrent.  A message that is not a BT-SEARCH, lacks a valid
 * Port or names more than MAX_HASHES_IN hashes is ignored.
 *
 * GBT_LSD_DISABLE=1 in the environment when a node would start keeps it off
 * (no socket, nothing sent): the test suite sets it so that no test but
 * LSD's own, which run in a network namespace, multicasts.
 *
 * State lives with what it describes: the node on the session, a torrent's
 * on the torrent (GObject data, freed with them), as in the dht plugin.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include <gio/gnetworking.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-udp-port.h>

#include "gbt-lsd.h"
#include "gbt-context.h"

#define ANNOUNCE_INTERVAL_US (5 * 60 * G_USEC_PER_SEC) /* libtorrent's and Transmission's */
#define MIN_GAP_US (60 * G_USEC_PER_SEC)               /* BEP 14: at most once a minute */
#define MIN_HEARD_GAP_US (60 * G_USEC_PER_SEC)
#define MAX_HASHES_OUT 8 /* per message: 8 * 50 bytes, well below one datagram */
#define MAX_HASHES_IN 32
#define MAX_MESSAGE 1400
#define MAX_HEARD 1024 /* remembered (address, torrent) pairs, then forgotten at once */
#define TICK_MS 1000

#define NODE_KEY "gbt-lsd-node"
#define TORRENT_KEY "gbt-lsd-torrent"
#define LAST_KEY "gbt-lsd-last" /* a torrent's last announce, kept across stop and start */

typedef struct _Lsd Lsd;

typedef struct {
  GbtTorrent *torrent; /* not referenced: this state is the torrent's own */
  Lsd *lsd;            /* NULL once the node is gone */
  gint64 next_us;      /* when it is announced next */
} LsdTorrent;

typedef struct {
  GSocket *socket;
  GSource *read_source;
  GInetSocketAddress *group; /* where announces go */
  const char *host;          /* the Host header */
} Family;

struct _Lsd {
  GbtSession *session; /* not referenced: the node is the session's own */
  char cookie[17];
  Family fam[2]; /* IPv4, IPv6; a family whose socket failed has none */
  GPtrArray *torrents; /* LsdTorrent*, not owned */
  GHashTable *heard;   /* "ip|port|hash" -> gint64* time */
  guint timer_id;
};

struct _GbtLsdSource {
  GObject parent_instance;
};

static void gbt_lsd_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtLsdSource, gbt_lsd_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      gbt_lsd_source_iface_init))

static gboolean
allowed (GbtTorrent *torrent)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (torrent);

  return mi == NULL || !gbt_metainfo_is_private (mi);
}

/* ---- sending ---- */

static guint16
announced_port (Lsd *lsd)
{
  guint16 port = gbt_session_get_listen_port (lsd->session);
  GbtUdpPort *udp;

  /* a uTP-only session listens on no TCP port, but takes uTP on its UDP one */
  if (port == 0 && (udp = gbt_session_get_udp_port (lsd->session)) != NULL)
    port = g_inet_socket_address_get_port (gbt_udp_port_get_local_address (udp));
  return port;
}

static void
send_message (Lsd *lsd, GPtrArray *due)
{
  guint16 port = announced_port (lsd);

  if (port == 0)
    return;
  for (guint f = 0; f < G_N_ELEMENTS (lsd->fam); f++)
    {
      Family *fam = &lsd->fam[f];
      g_autoptr(GString) msg = NULL;
      g_autoptr(GError) error = NULL;

      if (fam->socket == NULL)
        continue;
      msg = g_string_new ("BT-SEARCH * HTTP/1.1\r\n");
      g_string_append_printf (msg, "Host: %s\r\nPort: %u\r\n", fam->host, port);
      for (guint i = 0; i < due->len; i++)
        {
          const guint8 *h = gbt_torrent_get_info_hash (((LsdTorrent *) due->pdata[i])->torrent);

          g_string_append (msg, "Infohash: ");
          for (guint b = 0; b < 20; b++)
            g_string_append_printf (msg, "%02x", h[b]);
          g_string_append (msg, "\r\n");
        }
      g_string_append_printf (msg, "cookie: %s\r\n\r\n\r\n", lsd->cookie);
      if (g_socket_send_to (fam->socket, G_SOCKET_ADDRESS (fam->group), msg->str, msg->len,
                            NULL, &error)
          < 0)
        g_debug ("LSD: announce to %s failed: %s", fam->host, error->message);
      else
        g_debug ("LSD: announced %u torrent%s to %s, port %u", due->len,
                 due->len == 1 ? "" : "s", fam->host, port);
    }
}

static gboolean
tick_cb (gpointer data)
{
  Lsd *lsd = data;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GPtrArray) due = g_ptr_array_new ();

  for (guint i = 0; i < lsd->torrents->len && due->len < MAX_HASHES_OUT; i++)
    {
      LsdTorrent *lt = g_ptr_array_index (lsd->torrents, i);

      if (lt->next_us > now || !allowed (lt->torrent))
        continue;
      g_ptr_array_add (due, lt);
    }
  if (due->len == 0)
    return G_SOURCE_CONTINUE;
  for (guint i = 0; i < due->len; i++)
    {
      LsdTorrent *lt = due->pdata[i];

      gint64 *last = g_new (gint64, 1);

      *last = now;
      g_object_set_data_full (G_OBJECT (lt->torrent), LAST_KEY, last, g_free);
      /* a little jitter, so that clients started together spread out */
      lt->next_us = now + ANNOUNCE_INTERVAL_US + g_random_int_range (0, 10) * G_USEC_PER_SEC;
    }
  send_message (lsd, due);
  /* a due torrent that did not fit waits for the next tick: one message a
   * second per family at most */
  return G_SOURCE_CONTINUE;
}

/* ---- receiving ---- */

static int
hex_value (char c)
{
  return g_ascii_xdigit_value (c);
}

static LsdTorrent *
find_torrent (Lsd *lsd, const guint8 hash[20])
{
  for (guint i = 0; i < lsd->torrents->len; i++)
    {
      LsdTorrent *lt = g_ptr_array_index (lsd->torrents, i);

      if (memcmp (gbt_torrent_get_info_hash (lt->torrent), hash, 20) == 0)
        return lt;
    }
  return NULL;
}

/* once per MIN_HEARD_GAP per (address, torrent); TRUE when it is news */
static gboolean
first_heard (Lsd *lsd, GInetAddress *ip, guint16 port, const guint8 hash[20], gint64 now)
{
  g_autofree char *addr = g_inet_address_to_string (ip);
  char *key = g_strdup_printf ("%s|%u|%02x%02x%02x%02x%02x%02x%02x%02x", addr, port, hash[0],
                               hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]);
  gint64 *last = g_hash_table_lookup (lsd->heard, key);

  if (last != NULL && now - *last < MIN_HEARD_GAP_US)
    {
      g_free (key);
      return FALSE;
    }
  if (g_hash_table_size (lsd->heard) >= MAX_HEARD)
    g_hash_table_remove_all (lsd->heard);
  last = g_new (gint64, 1);
  *last = now;
  g_hash_table_replace (lsd->heard, key, last);
  return TRUE;
}

/* IPv4 for an IPv4-mapped IPv6 address */
static GInetAddress *
plain_address (GInetAddress *ip)
{
  if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6)
    {
      const guint8 *b = g_inet_address_to_bytes (ip);
      static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (b, mapped, 12) == 0)
        return g_inet_address_new_from_bytes (b + 12, G_SOCKET_FAMILY_IPV4);
    }
  return g_object_ref (ip);
}

static void
handle_message (Lsd *lsd, const char *data, gsize len, GInetSocketAddress *from)
{
  g_autofree char *text = g_strndup (data, len);
  g_auto(GStrv) lines = NULL;
  guint8 hashes[MAX_HASHES_IN][20];
  guint n_hashes = 0;
  guint64 port = 0;
  gboolean ours = FALSE;
  g_autoptr(GInetAddress) ip = NULL;
  gint64 now = g_get_monotonic_time ();

  if (strlen (text) != len || !g_str_has_prefix (text, "BT-SEARCH * HTTP/1.1\r\n"))
    return;
  lines = g_strsplit (text, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      char *colon = strchr (lines[i], ':');
      char *value;

      if (colon == NULL)
        continue;
      *colon = '\0';
      value = g_strstrip (colon + 1);
      if (g_ascii_strcasecmp (g_strstrip (lines[i]), "Port") == 0)
        {
          if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT16, &port, NULL))
            return;
        }
      else if (g_ascii_strcasecmp (lines[i], "cookie") == 0)
        ours = g_str_equal (value, lsd->cookie);
      else if (g_ascii_strcasecmp (lines[i], "Infohash") == 0)
        {
          if (n_hashes == MAX_HASHES_IN)
            return;
          /* BEP 14: 40 hex digits; a longer (v2) hash is not ours to serve */
          if (strlen (value) != 40)
            continue;
          for (guint b = 0; b < 20; b++)
            {
              int hi = hex_value (value[2 * b]), lo = hex_value (value[2 * b + 1]);

              if (hi < 0 || lo < 0)
                goto next_line;
              hashes[n_hashes][b] = (guint8) (hi << 4 | lo);
            }
          n_hashes++;
        }
    next_line:;
    }
  if (ours || port == 0 || n_hashes == 0)
    return;
  ip = plain_address (g_inet_socket_address_get_address (from));
  for (guint h = 0; h < n_hashes; h++)
    {
      LsdTorrent *lt = find_torrent (lsd, hashes[h]);
      g_autoptr(GPtrArray) peers = NULL;

      if (lt == NULL || !allowed (lt->torrent)
          || !first_heard (lsd, ip, (guint16) port, hashes[h], now))
        continue;
      peers = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (peers, g_inet_socket_address_new (ip, (guint16) port));
      g_debug ("LSD: a peer of a torrent of ours at port %u", (guint) port);
      gbt_torrent_add_peers (lt->torrent, peers, "lsd");
    }
}

static gboolean
readable_cb (GSocket *socket, GIOCondition cond, gpointer data)
{
  Lsd *lsd = data;

  /* a bounded batch, then back to the loop */
  for (guint n = 0; n < 64; n++)
    {
      char buf[MAX_MESSAGE + 1];
      g_autoptr(GSocketAddress) from = NULL;
      g_autoptr(GError) error = NULL;
      gssize got = g_socket_receive_from (socket, &from, buf, sizeof buf, NULL, &error);

      if (got < 0)
        break;
      if (got > MAX_MESSAGE || !G_IS_INET_SOCKET_ADDRESS (from))
        continue;
      handle_message (lsd, buf, (gsize) got, G_INET_SOCKET_ADDRESS (from));
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the node ---- */

static gboolean
set_int (GSocket *socket, int level, int name, int value, const char *what)
{
  g_autoptr(GError) error = NULL;

  if (!g_socket_set_option (socket, level, name, value, &error))
    {
      g_debug ("LSD: %s: %s", what, error->message);
      return FALSE;
    }
  return TRUE;
}

/* the name of the interface holding @ip, or NULL */
static char *
interface_of (GInetAddress *ip)
{
  struct ifaddrs *all = NULL;
  char *name = NULL;
  gsize size = g_inet_address_get_native_size (ip);

  if (getifaddrs (&all) != 0)
    return NULL;
  for (struct ifaddrs *i = all; i != NULL && name == NULL; i = i->ifa_next)
    {
      const void *bytes = NULL;

      if (i->ifa_addr == NULL)
        continue;
      if (i->ifa_addr->sa_family == AF_INET6 && size == 16)
        bytes = &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr;
      else if (i->ifa_addr->sa_family == AF_INET && size == 4)
        bytes = &((struct sockaddr_in *) i->ifa_addr)->sin_addr;
      if (bytes != NULL && memcmp (bytes, g_inet_address_to_bytes (ip), size) == 0)
        name = g_strdup (i->ifa_name);
    }
  freeifaddrs (all);
  return name;
}

/* @bind: the session's bind address when of this family, else NULL */
static gboolean
open_family (Lsd *lsd, Family *fam, GSocketFamily family, GInetAddress *bind, GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) any = g_inet_address_new_any (family);
  g_autoptr(GInetAddress) group = NULL;
  g_autoptr(GSocketAddress) at = NULL;
  gboolean v4 = family == G_SOCKET_FAMILY_IPV4;

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (!v4)
    set_int (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
  /* the group's port on every address: a socket bound to a unicast
   * address would not receive the group's datagrams; allow_reuse sets
   * SO_REUSEADDR (and SO_REUSEPORT), so that other clients share it */
  at = g_inet_socket_address_new (any, GBT_LSD_PORT);
  if (!g_socket_bind (socket, at, TRUE, error))
    return FALSE;
  group = g_inet_address_new_from_string (v4 ? GBT_LSD_GROUP4 : GBT_LSD_GROUP6);
  if (v4)
    {
      /* joined, and sent from, the interface of the bind address */
      struct ip_mreq mreq;
      struct in_addr iface = { .s_addr = htonl (INADDR_ANY) };
      int fd = g_socket_get_fd (socket);

      if (bind != NULL && !g_inet_address_get_is_any (bind))
        memcpy (&iface, g_inet_address_to_bytes (bind), 4);
      memcpy (&mreq.imr_multiaddr, g_inet_address_to_bytes (group), 4);
      mreq.imr_interface = iface;
      if (setsockopt (fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
        {
          int e = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e),
                       "joining %s: %s", GBT_LSD_GROUP4, g_strerror (e));
          return FALSE;
        }
      if (iface.s_addr != htonl (INADDR_ANY)
          && setsockopt (fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0)
        g_debug ("LSD: IP_MULTICAST_IF: %s", g_strerror (errno));
      set_int (socket, IPPROTO_IP, IP_MULTICAST_TTL, 1, "IP_MULTICAST_TTL");
      set_int (socket, IPPROTO_IP, IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP");
      fam->host = GBT_LSD_GROUP4 ":6771";
    }
  else
    {
      /* joined on, and sent from, the interface holding the bind address,
       * so that the source address is one we listen on */
      g_autofree char *iface = bind && !g_inet_address_get_is_any (bind) ? interface_of (bind)
                                                                          : NULL;

      if (!g_socket_join_multicast_group (socket, group, FALSE, iface, error))
        return FALSE;
      if (iface != NULL)
        set_int (socket, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int) if_nametoindex (iface),
                 "IPV6_MULTICAST_IF");
      set_int (socket, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1, "IPV6_MULTICAST_HOPS");
      set_int (socket, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1, "IPV6_MULTICAST_LOOP");
      fam->host = "[" GBT_LSD_GROUP6 "]:6771";
    }
  fam->group = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (group, GBT_LSD_PORT));
  fam->read_source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (fam->read_source, G_SOURCE_FUNC (readable_cb), lsd, NULL);
  g_source_set_static_name (fam->read_source, "gbt-lsd");
  g_source_attach (fam->read_source, g_main_context_get_thread_default ());
  fam->socket = g_steal_pointer (&socket);
  return TRUE;
}

static void
lsd_free (gpointer p)
{
  Lsd *lsd = p;

  for (guint i = 0; i < lsd->torrents->len; i++)
    ((LsdTorrent *) g_ptr_array_index (lsd->torrents, i))->lsd = NULL;
  g_ptr_array_unref (lsd->torrents);
  g_hash_table_unref (lsd->heard);
  g_clear_handle_id (&lsd->timer_id, gbt_source_remove);
  for (guint f = 0; f < G_N_ELEMENTS (lsd->fam); f++)
    {
      Family *fam = &lsd->fam[f];

      if (fam->read_source)
        {
          g_source_destroy (fam->read_source);
          g_source_unref (fam->read_source);
        }
      if (fam->socket)
        g_socket_close (fam->socket, NULL);
      g_clear_object (&fam->socket);
      g_clear_object (&fam->group);
    }
  g_free (lsd);
}

static Lsd *
lsd_new (GbtSession *session)
{
  Lsd *lsd = g_new0 (Lsd, 1);
  GInetAddress *bind = gbt_session_get_bind_inet_address (session);
  static const GSocketFamily families[2] = { G_SOCKET_FAMILY_IPV4, G_SOCKET_FAMILY_IPV6 };
  guint n_open = 0;

  lsd->session = session;
  g_snprintf (lsd->cookie, sizeof lsd->cookie, "%08x%08x", g_random_int (), g_random_int ());
  lsd->torrents = g_ptr_array_new ();
  lsd->heard = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint f = 0; f < G_N_ELEMENTS (families); f++)
    {
      g_autoptr(GError) error = NULL;
      GInetAddress *b = bind && g_inet_address_get_family (bind) == families[f] ? bind : NULL;

      /* a session bound to one family multicasts on that family only */
      if (bind != NULL && b == NULL && !g_inet_address_get_is_any (bind))
        continue;
      if (open_family (lsd, &lsd->fam[f], families[f], b, &error))
        n_open++;
      else
        g_debug ("LSD: no %s socket: %s", f == 0 ? "IPv4" : "IPv6", error->message);
    }
  if (n_open == 0)
    g_message ("LSD: no multicast socket; local peer discovery is off");
  else
    lsd->timer_id = gbt_timeout_add (TICK_MS, tick_cb, lsd);
  return lsd;
}

static void
lsd_torrent_free (gpointer p)
{
  LsdTorrent *lt = p;

  if (lt->lsd != NULL)
    g_ptr_array_remove_fast (lt->lsd->torrents, lt);
  g_free (lt);
}

static gboolean
disabled (void)
{
  const char *v = g_getenv ("GBT_LSD_DISABLE");

  return v != NULL && *v != '\0' && !g_str_equal (v, "0");
}

/* ---- GbtPeerSource ---- */

static void
lsd_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtSession *session = gbt_torrent_get_session (torrent);
  Lsd *lsd;
  LsdTorrent *lt;
  gint64 *last;

  (void) source;
  if (session == NULL || g_object_get_data (G_OBJECT (torrent), TORRENT_KEY) != NULL)
    return;
  lsd = g_object_get_data (G_OBJECT (session), NODE_KEY);
  if (lsd == NULL)
    {
      if (disabled ())
        {
          g_debug ("LSD: off (GBT_LSD_DISABLE)");
          return;
        }
      lsd = lsd_new (session);
      g_object_set_data_full (G_OBJECT (session), NODE_KEY, lsd, lsd_free);
    }
  lt = g_new0 (LsdTorrent, 1);
  lt->torrent = torrent;
  lt->lsd = lsd;
  /* the first announce at the next tick, unless it was announced less than
   * a minute ago (stopped and started again) */
  lt->next_us = g_get_monotonic_time ();
  if ((last = g_object_get_data (G_OBJECT (torrent), LAST_KEY)) != NULL)
    lt->next_us = MAX (lt->next_us, *last + MIN_GAP_US);
  g_ptr_array_add (lsd->torrents, lt);
  g_object_set_data_full (G_OBJECT (torrent), TORRENT_KEY, lt, lsd_torrent_free);
}

static void
lsd_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  (void) source;
  g_object_set_data (G_OBJECT (torrent), TORRENT_KEY, NULL);
}

static void
gbt_lsd_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = lsd_start;
  iface->stop = lsd_stop;
}

static void
gbt_lsd_source_class_init (GbtLsdSourceClass *klass)
{
  (void) klass;
}

static void
gbt_lsd_source_init (GbtLsdSource *self)
{
  (void) self;
}

GbtLsdSource *
gbt_lsd_source_new (void)
{
  return g_object_new (GBT_TYPE_LSD_SOURCE, NULL);
}
