/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Web seeds (BEP 19) through the whole engine: a session with the webseed
 * plugin (from GBT_PLUGIN_PATH) downloads torrents whose only sources are
 * HTTP servers, libsoup's own SoupServer on 127.0.0.1 in this process,
 * serving byte ranges.  Single- and multi-file mapping (a URL ending in '/'
 * gets the name and paths appended), pieces spanning files, pad files
 * never fetched, ranges coalesced, broken seeds (404, 503) backing off
 * while a good one serves, and a seed serving bad data banned by its URL.
 */
#include <string.h>

#include <libsoup/soup.h>

#include <gbt/gbt.h>

#include "test-torrent.h"
#include "test-utils.h"

/* what one URL prefix does */
typedef enum {
  SERVE_GOOD,
  SERVE_MISSING, /* 404 */
  SERVE_ERROR,   /* 503 */
  SERVE_CORRUPT, /* 206 with flipped bytes */
  SERVE_REDIRECT, /* 302 to the same path under /good/ */
  SERVE_HANG,     /* never answers (until the server goes) */
  SERVE_NORANGE,  /* ignores Range: 200 with the whole file */
} ServeMode;

typedef struct {
  SoupServer *server;
  GSocketService *service;
  guint16 port;
  GHashTable *files; /* "payload/a.bin" -> GBytes */
  guint requests[7]; /* per mode */
  guint ranged[7]; /* of which had a Range header */
  GPtrArray *paused; /* SERVE_HANG's messages */
  /* BEP 17 (/bep17, and /bep17-busy: 503 "1" to the first request) */
  GBytes *stream;
  guint32 piece_length;
  guint8 info_hash[20];
  guint bep17_requests, bep17_busy;
  guint pad_requests; /* requests for a pad file: never */
} Server;

static const char *const prefixes[] = { "/good/", "/missing/", "/error/", "/corrupt/",
                                        "/redirect/", "/hang/", "/norange/" };

/* BEP 17: ?info_hash=...&piece=N&ranges=A-B (B inclusive) */
static void
bep17_handler (Server *s, SoupServerMessage *msg, gboolean busy)
{
  const char *raw = g_uri_get_query (soup_server_message_get_uri (msg));
  g_auto(GStrv) params = g_strsplit (raw ? raw : "", "&", -1);
  g_autoptr(GBytes) hash = NULL;
  gint64 piece = -1, from = -1, to = -1;
  gsize total;
  const guint8 *bytes = g_bytes_get_data (s->stream, &total);
  guint64 off;

  s->bep17_requests++;
  if (busy && s->bep17_busy++ == 0)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "1", 1);
      return;
    }
  for (guint i = 0; params[i]; i++)
    if (g_str_has_prefix (params[i], "info_hash="))
      hash = g_uri_unescape_bytes (params[i] + 10, -1, NULL, NULL);
    else if (g_str_has_prefix (params[i], "piece="))
      piece = g_ascii_strtoll (params[i] + 6, NULL, 10);
    else if (g_str_has_prefix (params[i], "ranges="))
      {
        char *end = NULL;
        from = g_ascii_strtoll (params[i] + 7, &end, 10);
        if (end && *end == '-')
          to = g_ascii_strtoll (end + 1, NULL, 10);
      }
  if (hash == NULL || g_bytes_get_size (hash) != 20
      || memcmp (g_bytes_get_data (hash, NULL), s->info_hash, 20) != 0 || piece < 0 || from < 0
      || to < from)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  off = (guint64) piece * s->piece_length + (guint64) from;
  if (off + (guint64) (to - from + 1) > total || (guint64) to >= s->piece_length)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_BAD_REQUEST, NULL);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    (const char *) bytes + off, (gsize) (to - from + 1));
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer data)
{
  Server *s = data;
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers (msg);
  g_autofree char *unescaped = g_uri_unescape_string (path, NULL);
  ServeMode mode;
  const char *rest = NULL;
  GBytes *file;
  gsize total;
  const guint8 *bytes;
  SoupRange *ranges = NULL;
  int n_ranges = 0;

  if (g_str_equal (unescaped, "/bep17") || g_str_equal (unescaped, "/bep17-busy"))
    {
      bep17_handler (s, msg, g_str_equal (unescaped, "/bep17-busy"));
      return;
    }
  for (mode = SERVE_GOOD; mode <= SERVE_NORANGE; mode++)
    if (g_str_has_prefix (unescaped, prefixes[mode]))
      {
        rest = unescaped + strlen (prefixes[mode]);
        break;
      }
  if (rest == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  s->requests[mode]++;
  if (soup_message_headers_get_one (req, "Range"))
    s->ranged[mode]++;
  if (strstr (rest, ".pad"))
    s->pad_requests++;
  if (mode == SERVE_MISSING)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  if (mode == SERVE_HANG)
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (s->paused, g_object_ref (msg));
      return;
    }
  if (mode == SERVE_REDIRECT)
    {
      g_autofree char *to = g_strdup_printf ("http://127.0.0.1:%u/good/%s", s->port, path
                                             + strlen (prefixes[SERVE_REDIRECT]));
      soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, to);
      return;
    }
  if (mode == SERVE_ERROR)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      return;
    }
  file = g_hash_table_lookup (s->files, rest);
  if (file == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  bytes = g_bytes_get_data (file, &total);
  /* SoupServer would answer a 200 to a Range request with the range */
  if (mode == SERVE_NORANGE)
    soup_message_headers_remove (req, "Range");
  if (mode != SERVE_NORANGE
      && soup_message_headers_get_ranges (req, (goffset) total, &ranges, &n_ranges) && n_ranges == 1)
    {
      gsize start = (gsize) ranges[0].start, len = (gsize) (ranges[0].end - ranges[0].start + 1);
      g_autofree guint8 *body = g_memdup2 (bytes + start, len);

      if (mode == SERVE_CORRUPT)
        for (gsize i = 0; i < len; i += 1000)
          body[i] ^= 0x5a;
      soup_server_message_set_status (msg, SOUP_STATUS_PARTIAL_CONTENT, NULL);
      soup_message_headers_set_content_range (resp, ranges[0].start, ranges[0].end,
                                              (goffset) total);
      soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                        (const char *) body, len);
      soup_message_headers_free_ranges (req, ranges);
      return;
    }
  if (ranges)
    soup_message_headers_free_ranges (req, ranges);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    (const char *) bytes, total);
}

/* Connections are accepted here and handed to the server, rather than with
 * soup_server_listen(): libsoup 3.2's own listener leaks each accepted
 * GSocket (as in tests/tracker-http.c). */
static gboolean
incoming_cb (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  Server *s = user_data;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;

  if (local == NULL || remote == NULL)
    return TRUE;
  if (!soup_server_accept_iostream (s->server, G_IO_STREAM (connection), local, remote, &error))
    g_test_message ("accept: %s", error->message);
  return TRUE;
}

static Server *
server_new (GbtMetainfo *mi, const guint8 *stream)
{
  Server *s = g_new0 (Server, 1);

  s->stream = g_bytes_new (stream, gbt_metainfo_get_total_size (mi));
  s->piece_length = gbt_metainfo_get_piece_length (mi);
  memcpy (s->info_hash, gbt_metainfo_get_info_hash (mi), 20);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) at = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  s->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      if (!(f->attr & GBT_FILE_ATTR_PAD))
        g_hash_table_insert (s->files, g_strdup (f->path), g_bytes_new (stream + f->offset, f->length));
    }
  s->paused = g_ptr_array_new_with_free_func (g_object_unref);
  s->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (s->server, NULL, handler, s, NULL);
  s->service = g_socket_service_new ();
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (s->service), at,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &bound, &error));
  g_assert_no_error (error);
  g_signal_connect (s->service, "incoming", G_CALLBACK (incoming_cb), s);
  g_socket_service_start (s->service);
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return s;
}

static void
server_free (Server *s)
{
  for (guint i = 0; i < s->paused->len; i++)
    {
      soup_server_message_set_status (s->paused->pdata[i], SOUP_STATUS_SERVICE_UNAVAILABLE, NULL);
      soup_server_message_unpause (s->paused->pdata[i]);
    }
  g_ptr_array_unref (s->paused);
  g_bytes_unref (s->stream);
  g_socket_service_stop (s->service);
  g_socket_listener_close (G_SOCKET_LISTENER (s->service));
  g_clear_object (&s->service);
  soup_server_disconnect (s->server);
  g_object_unref (s->server);
  g_hash_table_unref (s->files);
  g_free (s);
}

static void
finished_cb (GbtTorrent *t, gpointer data)
{
  *(gboolean *) data = TRUE;
}

static void
banned_cb (GbtTorrent *t, const char *address, gpointer data)
{
  GPtrArray *banned = data;
  g_ptr_array_add (banned, g_strdup (address));
}

typedef struct {
  const char *name;
  const TestFile *files; /* NULL: one file of @size */
  guint n_files;
  guint64 size;
  guint32 piece_length;
  /* the url-list: mode and whether the URL ends in '/' (else it names the
   * file of a single-file torrent, or is the folder without its slash) */
  ServeMode modes[3];
  gboolean slash[3];
  guint n_urls;
  gboolean expect_ban; /* of the first URL */
  guint max_seconds; /* the download's bound when not 60 */
  const char *http_seeds[3]; /* BEP 17 paths ("/bep17"), NULL-terminated */
} Case;

static void
run_case (const Case *c)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  gsize len;
  TestFile single = { "x", c->size, FALSE };
  g_autofree guint8 *stream = test_torrent_make_stream (c->files ? c->files : &single,
                                                        c->files ? c->n_files : 1, &len);
  /* the server needs the file paths: a metainfo without URLs first */
  g_autoptr(GbtMetainfo) plain = test_torrent_new (c->name, c->files, c->n_files, c->piece_length,
                                                   stream, len);
  Server *srv = server_new (plain, stream);
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) http_seeds = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtSession) session = test_session_start ("127.0.0.1");
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) banned = g_ptr_array_new_with_free_func (g_free);
  gboolean done = FALSE;
  guint n_blocks = (guint) ((len + 16383) / 16384);

  for (guint i = 0; i < c->n_urls; i++)
    g_ptr_array_add (urls, g_strdup_printf ("http://127.0.0.1:%u%s%s", srv->port,
                                            prefixes[c->modes[i]],
                                            c->slash[i] ? "" : c->name));
  /* a URL without the slash names the file (single-file) or the folder
   * that holds the torrent's folder (multi-file: we add the slash) */
  for (guint i = 0; i < c->n_urls; i++)
    if (!c->slash[i] && c->files)
      {
        char *u = g_ptr_array_index (urls, i);
        u[strlen (u) - strlen (c->name) - 1] = '\0'; /* ".../good" */
      }
  g_ptr_array_add (urls, NULL);
  for (guint i = 0; c->http_seeds[i] != NULL; i++)
    g_ptr_array_add (http_seeds, g_strdup_printf ("http://127.0.0.1:%u%s", srv->port,
                                                  c->http_seeds[i]));
  g_ptr_array_add (http_seeds, NULL);
  mi = test_torrent_new_with_urls (c->name, c->files, c->n_files, c->piece_length, stream, len,
                                   (const char *const *) urls->pdata,
                                   (const char *const *) http_seeds->pdata);
  g_assert_cmpuint (g_strv_length ((GStrv) gbt_metainfo_get_url_list (mi)), ==, c->n_urls);
  g_assert_cmpuint (g_strv_length ((GStrv) gbt_metainfo_get_http_seeds (mi)), ==,
                    http_seeds->len - 1);

  t = gbt_session_add_torrent (session, mi, dir, &error);
  g_assert_no_error (error);
  g_signal_connect (t, "finished", G_CALLBACK (finished_cb), &done);
  g_signal_connect (t, "peer-banned", G_CALLBACK (banned_cb), banned);
  gbt_torrent_start (t);
  gbt_test_wait_until (done, (c->max_seconds ? c->max_seconds : 60) * 1000);
  if (c->expect_ban)
    gbt_test_wait_until (banned->len > 0, 10000);
  test_torrent_stop (t);
  g_assert_true (test_torrent_tree_equal (dir, mi, stream));

  g_test_message ("requests: good %u (%u blocks), missing %u, error %u, corrupt %u, "
                  "redirect %u, hang %u", srv->requests[SERVE_GOOD], n_blocks,
                  srv->requests[SERVE_MISSING], srv->requests[SERVE_ERROR],
                  srv->requests[SERVE_CORRUPT], srv->requests[SERVE_REDIRECT],
                  srv->requests[SERVE_HANG]);
  g_test_message ("BEP 17 requests %u (busy %u)", srv->bep17_requests, srv->bep17_busy);
  g_assert_cmpuint (srv->requests[SERVE_GOOD] + srv->bep17_requests, >, 0);
  g_assert_cmpuint (srv->ranged[SERVE_GOOD], ==, srv->requests[SERVE_GOOD]);
  /* blocks are fetched together: far fewer requests than blocks */
  g_assert_cmpuint (srv->requests[SERVE_GOOD], <, n_blocks);
  g_assert_cmpuint (srv->bep17_requests, <, n_blocks);
  if (c->http_seeds[0] && g_str_equal (c->http_seeds[0], "/bep17-busy"))
    g_assert_cmpuint (srv->bep17_busy, >=, 2); /* came back after its 503 */
  g_assert_cmpuint (srv->pad_requests, ==, 0);
  /* a redirected seed's requests land on the good path, Range kept */
  g_assert_cmpuint (srv->requests[SERVE_REDIRECT], <=, srv->requests[SERVE_GOOD]);
  for (guint i = 0; i < c->n_urls; i++)
    if (c->modes[i] == SERVE_MISSING || c->modes[i] == SERVE_ERROR
        || c->modes[i] == SERVE_NORANGE)
      {
        /* tried, then backing off: not hammered */
        g_assert_cmpuint (srv->requests[c->modes[i]], >=, 1);
        g_assert_cmpuint (srv->requests[c->modes[i]], <=, 4);
      }
  for (guint i = 0; i < c->n_urls; i++)
    if (c->modes[i] == SERVE_HANG)
      g_assert_cmpuint (srv->requests[SERVE_HANG], >=, 1); /* it held blocks */
  if (c->expect_ban)
    {
      g_assert_cmpuint (banned->len, ==, 1);
      g_assert_cmpstr (g_ptr_array_index (banned, 0), ==, g_ptr_array_index (urls, 0));
    }
  else
    g_assert_cmpuint (banned->len, ==, 0);
  server_free (srv);
  gbt_test_rmtree (dir);
}

/* single-file: a URL naming the file, beside a 404 and a 503 seed */
static void
test_single_file (void)
{
  const Case c = {
    .name = "payload.bin", .size = 1000003, .piece_length = 65536,
    .modes = { SERVE_MISSING, SERVE_GOOD, SERVE_ERROR }, .slash = { TRUE, FALSE, TRUE },
    .n_urls = 3,
  };
  run_case (&c);
}

/* single-file: a URL ending in '/' gets the name appended */
static void
test_single_file_slash (void)
{
  const Case c = {
    .name = "payload.bin", .size = 300000, .piece_length = 32768,
    .modes = { SERVE_GOOD }, .slash = { TRUE }, .n_urls = 1,
  };
  run_case (&c);
}

/* multi-file: name and escaped paths appended, pieces spanning files, a
 * pad file (never fetched) */
static const TestFile multi_files[] = {
  { "a.bin", 50000, FALSE },
  { ".pad/15536", 15536, TRUE },
  { "dir/b c.bin", 70001, FALSE },
  { "d.bin", 3, FALSE },
  { "e f/g.bin", 40000, FALSE },
};

static void
test_multi_file (void)
{
  const Case c = {
    .name = "pay load", .files = multi_files, .n_files = G_N_ELEMENTS (multi_files),
    .piece_length = 32768,
    .modes = { SERVE_GOOD, SERVE_MISSING }, .slash = { TRUE, FALSE }, .n_urls = 2,
  };
  run_case (&c);
}

/* multi-file, the folder URL without its slash */
static void
test_multi_file_no_slash (void)
{
  const Case c = {
    .name = "payload", .files = multi_files, .n_files = G_N_ELEMENTS (multi_files),
    .piece_length = 16384,
    .modes = { SERVE_GOOD }, .slash = { FALSE }, .n_urls = 1,
  };
  run_case (&c);
}

/* a seed that redirects (302) to where the data is */
static void
test_redirect (void)
{
  const Case c = {
    .name = "pay load", .files = multi_files, .n_files = G_N_ELEMENTS (multi_files),
    .piece_length = 32768,
    .modes = { SERVE_REDIRECT }, .slash = { TRUE }, .n_urls = 1,
  };
  run_case (&c);
}

/* a server that ignores Range (200, the whole 8 MB file) is dropped at its
 * answer's head, before its body is read */
static void
test_no_range (void)
{
  const Case c = {
    .name = "payload.bin", .size = 8000000, .piece_length = 262144,
    .modes = { SERVE_NORANGE, SERVE_GOOD }, .slash = { TRUE, TRUE }, .n_urls = 2,
  };
  run_case (&c);
}

/* a seed that takes requests and never answers holds its blocks; the
 * good seed gets them too at the end (endgame): the download finishes
 * long before any time-out */
static void
test_hanging_seed (void)
{
  const Case c = {
    .name = "payload.bin", .size = 1500000, .piece_length = 32768,
    .modes = { SERVE_HANG, SERVE_GOOD }, .slash = { TRUE, TRUE }, .n_urls = 2,
    .max_seconds = 15,
  };
  run_case (&c);
}

/* BEP 17 httpseeds: one busy at first (503 "come back in 1 s"), one
 * good; requests per piece, several blocks each */
static void
test_http_seeds (void)
{
  const Case c = {
    .name = "pay load", .files = multi_files, .n_files = G_N_ELEMENTS (multi_files),
    .piece_length = 65536, .http_seeds = { "/bep17-busy", NULL },
  };
  const Case c2 = {
    .name = "payload.bin", .size = 1000000, .piece_length = 65536,
    .http_seeds = { "/bep17", NULL },
  };
  run_case (&c);
  run_case (&c2);
}

/* a seed whose data fails the hash check is banned by its URL; the good
 * one finishes the download */
static void
test_corrupt_banned (void)
{
  const Case c = {
    .name = "payload.bin", .size = 2000000, .piece_length = 32768,
    .modes = { SERVE_CORRUPT, SERVE_GOOD }, .slash = { TRUE, TRUE }, .n_urls = 2,
    .expect_ban = TRUE,
  };
  run_case (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/webseed/single-file", test_single_file);
  g_test_add_func ("/webseed/single-file-slash", test_single_file_slash);
  g_test_add_func ("/webseed/multi-file", test_multi_file);
  g_test_add_func ("/webseed/multi-file-no-slash", test_multi_file_no_slash);
  g_test_add_func ("/webseed/redirect", test_redirect);
  g_test_add_func ("/webseed/no-range", test_no_range);
  g_test_add_func ("/webseed/hanging-seed", test_hanging_seed);
  g_test_add_func ("/webseed/http-seeds", test_http_seeds);
  g_test_add_func ("/webseed/corrupt-banned", test_corrupt_banned);
  return g_test_run ();
}
