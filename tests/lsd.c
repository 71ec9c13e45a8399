/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Local peer discovery (the lsd plugin, BEP 14) through whole sessions.
 *
 * Multicast must never leave the machine: before anything else the test
 * moves itself into a network namespace of its own (unshare(CLONE_NEWNET),
 * as root or inside a new user namespace), where the only interface is a
 * loopback with multicast on and a route for 239.0.0.0/8, and for IPv6 a veth
 * pair whose two ends are both in it.
 * Without the rights to make one, or without ip(8), every case skips,
 * saying why.  GBT_LSD_DISABLE (set for the whole suite) is cleared here,
 * and one case checks that it keeps a session silent.
 *
 * Cases: the announce's format and rate, read by a plain socket on the
 * group; what a session hears (another client's announce makes it dial
 * that client; one with its own cookie does not); a private torrent is
 * never announced; two sessions that know nothing of each other find each
 * other by LSD and one downloads from the other, whichever starts first,
 * over IPv4 and over IPv6.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <gbt/gbt.h>
#include <gbt/gbt-bencode.h>

#include "gbt-hash.h"

#include "test-torrent.h"
#include "test-utils.h"

#define GROUP4 "239.192.152.143"

static char *skip_reason;
static char *skip_reason6; /* why IPv6 cannot be tested, NULL when it can */

/* ---- the namespace ---- */

static gboolean
write_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, strlen (text)) == (ssize_t) strlen (text);
  close (fd);
  return ok;
}

static gboolean
run_ip (const char *args, gboolean must)
{
  g_autofree char *cmd = g_strdup_printf ("ip %s", args);
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!g_spawn_command_line_sync (cmd, NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, NULL))
    {
      if (must)
        skip_reason = g_strdup_printf ("'%s' failed: %s", cmd,
                                       error ? error->message : err ? g_strstrip (err) : "?");
      return FALSE;
    }
  return TRUE;
}

/* Into a new network namespace, single-threaded (before g_test_init):
 * TRUE when the test may multicast */
static gboolean
enter_namespace (void)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  struct if_nameindex *ifs;

  if (unshare (CLONE_NEWNET) != 0)
    {
      int e = errno;
      char map[64];

      /* not root: a user namespace of our own, mapped to root in it */
      if (unshare (CLONE_NEWUSER | CLONE_NEWNET) != 0)
        {
          skip_reason = g_strdup_printf ("no network namespace (unshare: %s; as user: %s)",
                                         g_strerror (e), g_strerror (errno));
          return FALSE;
        }
      write_file ("/proc/self/setgroups", "deny");
      g_snprintf (map, sizeof map, "0 %u 1", (guint) uid);
      write_file ("/proc/self/uid_map", map);
      g_snprintf (map, sizeof map, "0 %u 1", (guint) gid);
      write_file ("/proc/self/gid_map", map);
    }
  /* isolated: nothing but lo, or no multicast at all (asked of the kernel
   * in this namespace: /sys/class/net shows the one sysfs was mounted in) */
  ifs = if_nameindex ();
  if (ifs == NULL)
    {
      skip_reason = g_strdup_printf ("if_nameindex: %s", g_strerror (errno));
      return FALSE;
    }
  for (struct if_nameindex *i = ifs; i->if_index != 0; i++)
    if (!g_str_equal (i->if_name, "lo"))
      {
        skip_reason = g_strdup_printf ("the new namespace has an interface '%s'", i->if_name);
        if_freenameindex (ifs);
        return FALSE;
      }
  if_freenameindex (ifs);
  if (!run_ip ("link set lo up multicast on", TRUE)
      || !run_ip ("route add 239.0.0.0/8 dev lo", TRUE))
    return FALSE;
  /* IPv6 multicast does not loop back on lo: a veth pair, both ends in
   * this namespace (what leaves one end arrives at the other, nowhere
   * else), an address on each */
  if (!run_ip ("link add lsd0 type veth peer name lsd1", FALSE)
      || !run_ip ("link set lsd0 up", FALSE) || !run_ip ("link set lsd1 up", FALSE)
      || !run_ip ("-6 addr add fd00:14::1/64 dev lsd0 nodad", FALSE)
      || !run_ip ("-6 addr add fd00:14::2/64 dev lsd1 nodad", FALSE))
    skip_reason6 = g_strdup ("no veth pair with IPv6 addresses in the namespace");
  return TRUE;
}

static gboolean
can_run (void)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return FALSE;
    }
  return TRUE;
}

/* ---- a plain socket on the group ---- */

typedef struct {
  GSocket *socket;
  GSource *source;
  GPtrArray *messages; /* char*, NUL-terminated */
} Listener;

static gboolean
listener_readable_cb (GSocket *socket, GIOCondition cond, gpointer data)
{
  Listener *l = data;
  char buf[2048];
  gssize got;

  while ((got = g_socket_receive (socket, buf, sizeof buf - 1, NULL, NULL)) > 0)
    g_ptr_array_add (l->messages, g_strndup (buf, got));
  return G_SOURCE_CONTINUE;
}

static Listener *
listener_new (void)
{
  Listener *l = g_new0 (Listener, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) any = g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string (GROUP4);
  g_autoptr(GSocketAddress) at = g_inet_socket_address_new (any, 6771);

  l->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                            G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (l->socket, FALSE);
  g_assert_true (g_socket_bind (l->socket, at, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_join_multicast_group (l->socket, group, FALSE, NULL, &error));
  g_assert_no_error (error);
  l->messages = g_ptr_array_new_with_free_func (g_free);
  l->source = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->source, G_SOURCE_FUNC (listener_readable_cb), l, NULL);
  g_source_attach (l->source, NULL);
  return l;
}

static void
listener_free (Listener *l)
{
  g_source_destroy (l->source);
  g_source_unref (l->source);
  g_socket_close (l->socket, NULL);
  g_object_unref (l->socket);
  g_ptr_array_unref (l->messages);
  g_free (l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Listener, listener_free)

static void
listener_send (Listener *l, const char *text)
{
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string (GROUP4);
  g_autoptr(GSocketAddress) to = g_inet_socket_address_new (group, 6771);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send_to (l->socket, to, text, strlen (text), NULL, &error), ==,
                   (gssize) strlen (text));
  g_assert_no_error (error);
}

static char *
hex_of (const guint8 *hash)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < 20; i++)
    g_string_append_printf (s, "%02x", hash[i]);
  return g_string_free (s, FALSE);
}

/* the messages that name @hex */
static guint
count_naming (Listener *l, const char *hex)
{
  guint n = 0;

  for (guint i = 0; i < l->messages->len; i++)
    if (strstr (l->messages->pdata[i], hex) != NULL)
      n++;
  return n;
}

/* a header's value in @msg (case-insensitive name), or NULL */
static char *
header (const char *msg, const char *name)
{
  g_auto(GStrv) lines = g_strsplit (msg, "\r\n", -1);

  for (guint i = 1; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');

      if (colon && (gsize) (colon - lines[i]) == strlen (name)
          && g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0)
        return g_strstrip (g_strdup (colon + 1));
    }
  return NULL;
}

/* ---- torrents ---- */

static GbtMetainfo *
small_torrent (gsize len, guint8 **stream_out, gsize *len_out)
{
  const TestFile one[] = { { "payload", len, FALSE } };
  guint8 *stream = test_torrent_make_stream (one, 1, len_out);
  GbtMetainfo *mi = test_torrent_new ("payload", NULL, 1, 32768, stream, *len_out);

  *stream_out = stream;
  return mi;
}

static GbtMetainfo *
private_torrent (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint8 data[1000], digest[20];
  GbtMetainfo *mi;

  memset (data, 7, sizeof data);
  gbt_sha1 (data, sizeof data, digest);
  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "info");
  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "length");
  gbt_bencode_write_int (out, sizeof data);
  gbt_bencode_write_str (out, "name");
  gbt_bencode_write_str (out, "private");
  gbt_bencode_write_str (out, "piece length");
  gbt_bencode_write_int (out, 16384);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, digest, 20);
  gbt_bencode_write_str (out, "private");
  gbt_bencode_write_int (out, 1);
  gbt_bencode_write_end (out);
  gbt_bencode_write_end (out);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_true (gbt_metainfo_is_private (mi));
  return mi;
}

static gboolean
has_lsd_peer (GbtTorrent *t)
{
  GListModel *peers = gbt_torrent_get_peers (t);

  for (guint i = 0; i < g_list_model_get_n_items (peers); i++)
    {
      g_autoptr(GbtPeerInfo) info = g_list_model_get_item (peers, i);

      if (g_strcmp0 (gbt_peer_info_get_source (info), "lsd") == 0)
        return TRUE;
    }
  return FALSE;
}

static void
finished_cb (GbtTorrent *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* ---- cases ---- */

/* One announce soon after the start, in BEP 14's format with our port and
 * the info-hash; no second one for a while (the BEP's once a minute). */
static void
test_announce_format (void)
{
  g_autoptr(Listener) l = NULL;
  g_autoptr(GbtSession) s = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *stream = NULL;
  g_autofree char *hex = NULL;
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autofree char *port = NULL, *host = NULL, *ih = NULL, *cookie = NULL;
  g_autofree char *want_port = NULL;
  const char *msg = NULL;
  gint64 first;
  gsize len;

  if (!can_run ())
    return;
  l = listener_new ();
  mi = small_torrent (100000, &stream, &len);
  hex = hex_of (gbt_metainfo_get_info_hash (mi));
  s = test_session_start ("127.0.0.1");
  t = gbt_session_add_torrent (s, mi, dir, &error);
  g_assert_no_error (error);
  gbt_torrent_start (t);
  gbt_test_wait_until (count_naming (l, hex) >= 1, 10000);
  first = g_get_monotonic_time ();
  for (guint i = 0; i < l->messages->len && msg == NULL; i++)
    if (strstr (l->messages->pdata[i], hex))
      msg = l->messages->pdata[i];
  g_test_message ("announce: %s", msg);
  g_assert_true (g_str_has_prefix (msg, "BT-SEARCH * HTTP/1.1\r\n"));
  g_assert_true (g_str_has_suffix (msg, "\r\n\r\n"));
  host = header (msg, "Host");
  port = header (msg, "Port");
  ih = header (msg, "Infohash");
  cookie = header (msg, "cookie");
  want_port = g_strdup_printf ("%u", gbt_session_get_listen_port (s));
  g_assert_cmpstr (host, ==, "239.192.152.143:6771");
  g_assert_cmpstr (port, ==, want_port);
  g_assert_cmpstr (ih, ==, hex);
  g_assert_nonnull (cookie);
  g_assert_cmpuint (strlen (cookie), >, 0);
  /* the rate: no second announce of the torrent within 3 s (the plugin's
   * tick is 1 s, so an unlimited one would have sent 3 more) */
  gbt_test_spin (3000);
  g_assert_cmpuint (count_naming (l, hex), ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - first, >=, 3 * G_USEC_PER_SEC);
  test_torrent_stop (t);
  gbt_test_rmtree (dir);
}

typedef struct {
  guint n;
} Accepts;

static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer data)
{
  ((Accepts *) data)->n++;
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static GSocketService *
service_new (Accepts *counter, guint16 *port)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) at = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (service), at,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &effective, &error));
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), counter);
  return service;
}

/* Another client's announce makes the session dial it (source "lsd");
 * the same with the session's own cookie does not; nor for a torrent it
 * does not have. */
static void
test_hears_announce (void)
{
  g_autoptr(Listener) l = NULL;
  g_autoptr(GbtSession) s = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketService) wrong = NULL, right = NULL;
  g_autofree guint8 *stream = NULL;
  g_autofree char *hex = NULL, *cookie = NULL, *text = NULL;
  g_autofree char *dir = gbt_test_mkdtemp ();
  Accepts wrong_n = { 0 }, right_n = { 0 };
  guint16 port, right_port;
  gsize len;

  if (!can_run ())
    return;
  /* the port of every message that must be ignored, and the stranger's */
  wrong = service_new (&wrong_n, &port);
  right = service_new (&right_n, &right_port);

  l = listener_new ();
  mi = small_torrent (100000, &stream, &len);
  hex = hex_of (gbt_metainfo_get_info_hash (mi));
  s = test_session_start ("127.0.0.1");
  t = gbt_session_add_torrent (s, mi, dir, &error); /* no data: a leecher, it dials */
  g_assert_no_error (error);
  gbt_torrent_start (t);
  gbt_test_wait_until (count_naming (l, hex) >= 1, 10000);
  for (guint i = 0; i < l->messages->len && cookie == NULL; i++)
    if (strstr (l->messages->pdata[i], hex))
      cookie = header (l->messages->pdata[i], "cookie");
  g_assert_nonnull (cookie);

  /* its own cookie (as its own announces come back): ignored */
  text = g_strdup_printf ("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: %u\r\n"
                          "Infohash: %s\r\ncookie: %s\r\n\r\n\r\n", port, hex, cookie);
  listener_send (l, text);
  g_clear_pointer (&text, g_free);
  /* another torrent's hash, and a malformed port: ignored */
  text = g_strdup_printf ("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: %u\r\n"
                          "Infohash: %s\r\ncookie: other\r\n\r\n\r\n", port,
                          "00112233445566778899aabbccddeeff00112233");
  listener_send (l, text);
  g_clear_pointer (&text, g_free);
  text = g_strdup_printf ("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: %u x\r\n"
                          "Infohash: %s\r\ncookie: other\r\n\r\n\r\n", port, hex);
  listener_send (l, text);
  g_clear_pointer (&text, g_free);
  /* then a real stranger's, upper-case hex as some clients send: dialled */
  {
    g_autofree char *upper = g_ascii_strup (hex, -1);

    text = g_strdup_printf ("BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n"
                            "Port: %u\r\nInfohash: %s\r\ncookie: stranger\r\n\r\n\r\n",
                            right_port, upper);
  }
  listener_send (l, text);
  gbt_test_wait_until (right_n.n >= 1, 10000);
  /* the session reads the group's messages in order, so the ignored ones
   * were handled before the stranger's: none of them was dialled */
  g_assert_cmpuint (wrong_n.n, ==, 0);
  g_socket_service_stop (wrong);
  g_socket_service_stop (right);
  test_torrent_stop (t);
  gbt_test_rmtree (dir);
}

/* A private torrent (BEP 27) is never announced; a public one started
 * after it is, so the node runs. */
static void
test_private_silent (void)
{
  g_autoptr(Listener) l = NULL;
  g_autoptr(GbtSession) s = NULL;
  g_autoptr(GbtMetainfo) priv = private_torrent ();
  g_autoptr(GbtMetainfo) pub = NULL;
  g_autoptr(GbtTorrent) tp = NULL, tq = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *stream = NULL;
  g_autofree char *hex_priv = hex_of (gbt_metainfo_get_info_hash (priv));
  g_autofree char *hex_pub = NULL;
  g_autofree char *d1 = gbt_test_mkdtemp (), *d2 = gbt_test_mkdtemp ();
  gsize len;

  if (!can_run ())
    return;
  l = listener_new ();
  pub = small_torrent (50000, &stream, &len);
  hex_pub = hex_of (gbt_metainfo_get_info_hash (pub));
  s = test_session_start ("127.0.0.1");
  tp = gbt_session_add_torrent (s, priv, d1, &error);
  g_assert_no_error (error);
  gbt_torrent_start (tp);
  /* a tick for the private one alone, then the public one */
  gbt_test_spin (1500);
  tq = gbt_session_add_torrent (s, pub, d2, &error);
  g_assert_no_error (error);
  gbt_torrent_start (tq);
  gbt_test_wait_until (count_naming (l, hex_pub) >= 1, 10000);
  gbt_test_spin (1200);
  g_assert_cmpuint (count_naming (l, hex_priv), ==, 0);
  test_torrent_stop (tq);
  test_torrent_stop (tp);
  gbt_test_rmtree (d1);
  gbt_test_rmtree (d2);
}

/* GBT_LSD_DISABLE=1 (the suite's setting): a session that starts a
 * torrent with it set sends nothing, while one started without it in the
 * same time does. */
static void
test_disable_env (void)
{
  g_autoptr(Listener) l = NULL;
  g_autoptr(GbtSession) quiet = NULL, loud = NULL;
  g_autoptr(GbtMetainfo) m1 = NULL, m2 = NULL;
  g_autoptr(GbtTorrent) t1 = NULL, t2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *s1 = NULL, *s2 = NULL;
  g_autofree char *h1 = NULL, *h2 = NULL;
  g_autofree char *d1 = gbt_test_mkdtemp (), *d2 = gbt_test_mkdtemp ();
  gsize len;

  if (!can_run ())
    return;
  l = listener_new ();
  m1 = small_torrent (40000, &s1, &len);
  m2 = small_torrent (40001, &s2, &len);
  h1 = hex_of (gbt_metainfo_get_info_hash (m1));
  h2 = hex_of (gbt_metainfo_get_info_hash (m2));
  g_setenv ("GBT_LSD_DISABLE", "1", TRUE);
  quiet = test_session_start ("127.0.0.1");
  t1 = gbt_session_add_torrent (quiet, m1, d1, &error);
  g_assert_no_error (error);
  gbt_torrent_start (t1);
  /* its peer sources start once it downloads; then two of the plugin's
   * ticks for it, then the loud one */
  gbt_test_wait_until (gbt_torrent_get_state (t1) == GBT_TORRENT_STATE_DOWNLOADING, 20000);
  gbt_test_spin (2200);
  g_unsetenv ("GBT_LSD_DISABLE");
  loud = test_session_start ("127.0.0.1");
  t2 = gbt_session_add_torrent (loud, m2, d2, &error);
  g_assert_no_error (error);
  gbt_torrent_start (t2);
  gbt_test_wait_until (count_naming (l, h2) >= 1, 10000);
  g_assert_cmpuint (count_naming (l, h1), ==, 0);
  test_torrent_stop (t2);
  test_torrent_stop (t1);
  gbt_test_rmtree (d1);
  gbt_test_rmtree (d2);
}

/* Two sessions on 127.0.0.1 and 127.0.0.2 that are told nothing of each
 * other: LSD alone brings them together and the leecher gets every byte.
 * @seed_first: the seeder starts first (it hears the leecher's announce
 * and dials), else the leecher does (it hears the seeder's). */
static void
run_pair_at (gboolean seed_first, const char *seed_addr, const char *leech_addr)
{
  g_autofree char *seed_dir = gbt_test_mkdtemp ();
  g_autofree char *leech_dir = gbt_test_mkdtemp ();
  g_autofree guint8 *stream = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtSession) seeder = NULL, leecher = NULL;
  g_autoptr(GbtTorrent) st = NULL, lt = NULL;
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE, lsd_seen = FALSE;
  gsize len;

  mi = small_torrent (3 * 1024 * 1024 + 77, &stream, &len);
  test_torrent_write_tree (seed_dir, mi, stream);
  seeder = test_session_start (seed_addr);
  leecher = test_session_start (leech_addr);
  st = gbt_session_add_torrent (seeder, mi, seed_dir, &error);
  g_assert_no_error (error);
  lt = gbt_session_add_torrent (leecher, mi, leech_dir, &error);
  g_assert_no_error (error);
  g_signal_connect (lt, "finished", G_CALLBACK (finished_cb), &done);
  if (seed_first)
    {
      gbt_torrent_start (st);
      gbt_test_wait_until (gbt_torrent_get_state (st) == GBT_TORRENT_STATE_SEEDING, 20000);
      /* its first announce is gone before the leecher listens */
      gbt_test_spin (1500);
      gbt_torrent_start (lt);
    }
  else
    {
      gbt_torrent_start (lt);
      gbt_test_spin (1500);
      gbt_torrent_start (st);
    }
  gbt_test_wait_until ((lsd_seen = lsd_seen || has_lsd_peer (seed_first ? st : lt)) || done,
                       30000);
  gbt_test_wait_until (done, 60000);
  g_assert_true (lsd_seen || has_lsd_peer (seed_first ? st : lt));
  test_torrent_stop (lt);
  test_torrent_stop (st);
  g_assert_true (test_torrent_tree_equal (leech_dir, mi, stream));
  gbt_test_rmtree (seed_dir);
  gbt_test_rmtree (leech_dir);
}

static void
run_pair (gboolean seed_first)
{
  run_pair_at (seed_first, "127.0.0.1", "127.0.0.2");
}

/* The same over IPv6 alone ([ff15::efc0:988f]:6771): sessions bound to an
 * IPv6 address multicast on IPv6 only, from the interface holding it */
static void
test_two_sessions_ipv6 (void)
{
  if (!can_run ())
    return;
  if (skip_reason6 != NULL)
    {
      g_test_skip (skip_reason6);
      return;
    }
  run_pair_at (FALSE, "fd00:14::1", "fd00:14::2");
  run_pair_at (TRUE, "fd00:14::2", "fd00:14::1");
}

static void
test_two_sessions_seeder_first (void)
{
  if (can_run ())
    run_pair (TRUE);
}

static void
test_two_sessions_leecher_first (void)
{
  if (can_run ())
    run_pair (FALSE);
}

int
main (int argc, char **argv)
{
  /* before any thread: unshare(CLONE_NEWUSER) wants a single thread, and
   * CLONE_NEWNET moves only the calling thread */
  enter_namespace ();
  g_unsetenv ("GBT_LSD_DISABLE");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lsd/announce-format", test_announce_format);
  g_test_add_func ("/lsd/hears-announce", test_hears_announce);
  g_test_add_func ("/lsd/private-silent", test_private_silent);
  g_test_add_func ("/lsd/disable-env", test_disable_env);
  g_test_add_func ("/lsd/two-sessions-seeder-first", test_two_sessions_seeder_first);
  g_test_add_func ("/lsd/two-sessions-leecher-first", test_two_sessions_leecher_first);
  g_test_add_func ("/lsd/two-sessions-ipv6", test_two_sessions_ipv6);
  return g_test_run ();
}
