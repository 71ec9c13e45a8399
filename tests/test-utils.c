/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "test-utils.h"

gboolean
gbt_test_set_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

char *
gbt_test_mkdtemp (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("gbt-test-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

void
gbt_test_rmtree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            gbt_test_rmtree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

char *
gbt_test_data_path (const char *name)
{
  return g_build_filename (GBT_TEST_SRCDIR, "data", name, NULL);
}

void
gbt_test_spin (guint ms)
{
  gboolean expired = FALSE;

  g_timeout_add (ms, gbt_test_set_flag_cb, &expired);
  while (!expired)
    g_main_context_iteration (NULL, TRUE);
}

guint16
gbt_test_free_port (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, &error);
      g_autoptr(GSocket) udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_UDP, &error);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr(GSocketAddress) bound = NULL;
      g_autoptr(GSocketAddress) same = NULL;
      guint16 port;

      g_assert_no_error (error);
      g_assert_true (g_socket_bind (tcp, any, FALSE, &error));
      bound = g_socket_get_local_address (tcp, &error);
      g_assert_no_error (error);
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      same = g_inet_socket_address_new (lo, port);
      if (g_socket_bind (udp, same, FALSE, NULL))
        return port;
    }
}

/* One blocking HTTP announce; TRUE when opentracker answered without a
 * "failure reason". */
static gboolean
opentracker_announce (guint16 port, const char *info_hash_hex, const char *event)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) query = g_string_new ("GET /announce?info_hash=");
  g_autoptr(GByteArray) reply = g_byte_array_new ();
  GOutputStream *out;
  GInputStream *in;
  guint8 buf[4096];
  gssize n;

  for (guint i = 0; i + 1 < strlen (info_hash_hex); i += 2)
    g_string_append_printf (query, "%%%c%c", info_hash_hex[i], info_hash_hex[i + 1]);
  g_string_append_printf (query,
                          "&peer_id=-GBTEST-readyprobe12&port=1&uploaded=0&downloaded=0&left=0"
                          "&compact=1&numwant=0&event=%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                          event);
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_timeout (client, 2);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  if (conn == NULL)
    return FALSE;
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (out, query->str, query->len, NULL, NULL, NULL))
    return FALSE;
  while ((n = g_input_stream_read (in, buf, sizeof buf, NULL, NULL)) > 0 && reply->len < 65536)
    g_byte_array_append (reply, buf, n);
  if (n < 0 || reply->len == 0)
    return FALSE;
  g_byte_array_append (reply, (const guint8 *) "", 1);
  return strstr ((const char *) reply->data, "failure reason") == NULL
         && strstr ((const char *) reply->data, " 200 ") != NULL;
}

/* opentracker accepts connections before its access-list thread has read the
 * whitelist, and a "stopped" announce is answered whatever the hash: only a
 * "started" one proves the hash is in.  (No SIGHUP to hurry it: timeout(1)
 * would turn that into SIGTERM.) */
static gboolean
opentracker_wait_ready (GbtTestOpentracker *ot, const char *info_hash_hex)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      if (opentracker_announce (ot->port, info_hash_hex, "started"))
        {
          opentracker_announce (ot->port, info_hash_hex, "stopped");
          return TRUE;
        }
      g_usleep (50 * 1000);
    }
  return FALSE;
}

GbtTestOpentracker *
gbt_test_opentracker_start (const char *info_hash_hex)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *program = g_find_program_in_path ("opentracker");
  g_autofree char *wl = NULL;
  g_autofree char *line = NULL;
  g_autofree char *port = NULL;
  GbtTestOpentracker *ot;

  if (program == NULL)
    return NULL;
  ot = g_new0 (GbtTestOpentracker, 1);
  ot->dir = gbt_test_mkdtemp ();
  g_assert_cmpint (g_chmod (ot->dir, 0755), ==, 0);
  wl = g_build_filename (ot->dir, "whitelist", NULL);
  line = g_strdup_printf ("%s\n", info_hash_hex);
  g_assert_true (g_file_set_contents (wl, line, -1, &error));
  g_assert_cmpint (g_chmod (wl, 0644), ==, 0);
  ot->port = gbt_test_free_port ();
  port = g_strdup_printf ("%u", ot->port);
  /* timeout(1) bounds its life should the test die before stopping it; it
   * passes our SIGTERM on to opentracker */
  ot->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                   | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                               &error, "timeout", "-k", "5", "60", program, "-i", "127.0.0.1",
                               "-p", port, "-P", port, "-d", ot->dir, "-u", "nobody", "-w",
                               "/whitelist", NULL);
  g_assert_no_error (error);
  if (!opentracker_wait_ready (ot, info_hash_hex))
    g_error ("opentracker on port %u never accepted an announce for %s", ot->port,
             info_hash_hex);
  return ot;
}

static void
wait_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

void
gbt_test_opentracker_stop (GbtTestOpentracker *ot)
{
  gboolean done = FALSE;

  if (ot == NULL)
    return;
  g_subprocess_send_signal (ot->proc, SIGTERM);
  g_subprocess_wait_async (ot->proc, NULL, wait_cb, &done);
  gbt_test_wait_until (done, 5000);
  g_object_unref (ot->proc);
  gbt_test_rmtree (ot->dir);
  g_free (ot->dir);
  g_free (ot);
}
