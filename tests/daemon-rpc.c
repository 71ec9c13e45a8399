/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt daemon's RPC in-process (daemon/): requests straight into the
 * dispatcher, and the HTTP side over loopback with libsoup's client.  The
 * interop test (tests/interop/test_daemon.py) drives the real binary with
 * transmission-remote; this one reaches every error path quickly.
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "../daemon/gbt-daemon.h"
#include "test-torrent.h"
#include "test-utils.h"

typedef struct {
  char *dir;       /* holds state/, data/, dl/ */
  char *state;
  char *data;      /* complete payloads (seeded in place) */
  char *dl;        /* the default download directory */
  GbtDaemonOptions opts;
  GbtDaemon *d;
  GMainLoop *loop;
} Fixture;

static void
fixture_start (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->d = gbt_daemon_new (&f->opts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->d);
  f->d->loop = f->loop;
}

static void
fixture_stop (Fixture *f)
{
  gbt_daemon_shutdown (f->d, f->loop);
  gbt_daemon_free (f->d);
  f->d = NULL;
}

static void
fixture_init (Fixture *f)
{
  f->dir = gbt_test_mkdtemp ();
  f->state = g_build_filename (f->dir, "state", NULL);
  f->data = g_build_filename (f->dir, "data", NULL);
  f->dl = g_build_filename (f->dir, "dl", NULL);
  g_mkdir_with_parents (f->data, 0700);
  g_mkdir_with_parents (f->dl, 0700);
  f->opts.state_dir = f->state;
  f->opts.download_dir = f->dl;
  f->opts.rpc_bind = (char *) "127.0.0.1:0";
  f->opts.bind = (char *) "127.0.0.1";
  f->opts.listen = (char *) "127.0.0.1";
  f->opts.port = 0;
  f->opts.encryption = -1;
  f->opts.no_port_mapping = TRUE;
  f->loop = g_main_loop_new (NULL, FALSE);
  fixture_start (f);
}

static void
fixture_clear (Fixture *f)
{
  if (f->d)
    fixture_stop (f);
  g_main_loop_unref (f->loop);
  gbt_test_rmtree (f->dir);
  g_free (f->dir);
  g_free (f->state);
  g_free (f->data);
  g_free (f->dl);
}

static void
store_reply (JsonNode *response, gpointer user_data)
{
  *(JsonNode **) user_data = json_node_copy (response);
}

/* one request, its reply object (free with json_object_unref) */
static JsonObject *
rpc_raw (Fixture *f, const char *body)
{
  JsonNode *reply = NULL;
  JsonObject *o;

  gbt_rpc_handle_body (f->d, body, strlen (body), store_reply, &reply);
  gbt_test_wait_until (reply != NULL, 15000);
  g_assert_nonnull (reply);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply));
  o = json_object_ref (json_node_get_object (reply));
  json_node_unref (reply);
  return o;
}

static JsonObject *
rpc (Fixture *f, const char *format, ...) G_GNUC_PRINTF (2, 3);

static JsonObject *
rpc (Fixture *f, const char *format, ...)
{
  va_list ap;
  g_autofree char *body = NULL;

  va_start (ap, format);
  body = g_strdup_vprintf (format, ap);
  va_end (ap);
  return rpc_raw (f, body);
}

static void
assert_success (JsonObject *reply)
{
  g_assert_cmpstr (json_object_get_string_member (reply, "result"), ==, "success");
}

static void
assert_error (JsonObject *reply, const char *contains)
{
  const char *result = json_object_get_string_member (reply, "result");
  g_assert_cmpstr (result, !=, "success");
  if (contains && strstr (result, contains) == NULL)
    g_error ("result “%s” does not say “%s”", result, contains);
}

/* a .torrent (base64) of a single file of @size bytes named @name; with
 * @complete its data is written under f->data */
static char *
make_torrent (Fixture *f, const char *name, gsize size, gboolean complete, char **hash)
{
  g_autofree guint8 *stream = NULL;
  gsize len = size;
  g_autoptr(GbtMetainfo) mi = NULL;
  GBytes *info;
  GString *raw;
  char *b64;
  TestFile one = { name, size, FALSE };

  stream = test_torrent_make_stream (&one, 1, &len);
  mi = test_torrent_new (name, NULL, 0, 16384, stream, len);
  if (complete)
    test_torrent_write_tree (f->data, mi, stream);
  info = gbt_metainfo_get_info_bytes (mi);
  raw = g_string_new ("d4:info");
  g_string_append_len (raw, g_bytes_get_data (info, NULL), g_bytes_get_size (info));
  g_string_append_c (raw, 'e');
  b64 = g_base64_encode ((const guchar *) raw->str, raw->len);
  g_string_free (raw, TRUE);
  if (hash)
    *hash = gbt_metainfo_dup_info_hash_hex (mi);
  return b64;
}

static gint64
add_torrent (Fixture *f, const char *b64, const char *dir, gboolean paused)
{
  g_autoptr(JsonObject) r = rpc (f,
    "{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\",\"download-dir\":\"%s\","
    "\"paused\":%s}}", b64, dir, paused ? "true" : "false");
  JsonObject *added;

  assert_success (r);
  added = json_object_get_object_member (json_object_get_object_member (r, "arguments"),
                                         "torrent-added");
  g_assert_nonnull (added);
  return json_object_get_int_member (added, "id");
}

/* one torrent's field, as a fresh torrent-get returns it */
static JsonNode *
get_field (Fixture *f, gint64 id, const char *field)
{
  g_autoptr(JsonObject) r = rpc (f,
    "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "],"
    "\"fields\":[\"%s\"]}}", id, field);
  JsonArray *ts;

  assert_success (r);
  ts = json_object_get_array_member (json_object_get_object_member (r, "arguments"), "torrents");
  if (json_array_get_length (ts) != 1)
    return NULL;
  return json_node_copy (json_object_get_member (json_array_get_object_element (ts, 0), field));
}

static gint64
get_int (Fixture *f, gint64 id, const char *field)
{
  g_autoptr(JsonNode) n = get_field (f, id, field);
  g_assert_nonnull (n);
  return json_node_get_int (n);
}

static double
get_double (Fixture *f, gint64 id, const char *field)
{
  g_autoptr(JsonNode) n = get_field (f, id, field);
  g_assert_nonnull (n);
  return json_node_get_double (n);
}

static gint64
status_of (Fixture *f, gint64 id)
{
  return get_int (f, id, "status");
}

/* ---- errors: each an error reply, nothing changed ---- */

static void
test_errors (void)
{
  Fixture f = { 0 };
  g_autofree char *b64 = NULL;
  gint64 id;
  JsonObject *r;

  fixture_init (&f);
  b64 = make_torrent (&f, "e.bin", 100000, TRUE, NULL);
  id = add_torrent (&f, b64, f.data, TRUE);

  r = rpc_raw (&f, "{\"method\": \"session-get\"");
  assert_error (r, "malformed JSON");
  json_object_unref (r);
  r = rpc_raw (&f, "[1, 2]");
  assert_error (r, "not a JSON object");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"arguments\": {}}");
  assert_error (r, "no method name");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-frobnicate\", \"tag\": 7}");
  assert_error (r, "method name not recognized");
  g_assert_cmpint (json_object_get_int_member (r, "tag"), ==, 7);
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-get\", \"arguments\": {\"ids\": [{}], \"fields\": [\"id\"]}}");
  assert_error (r, "invalid torrent id");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-get\", \"arguments\": {\"ids\": [1]}}");
  assert_error (r, "no fields");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-add\", \"arguments\": {\"metainfo\": \"!!!\"}}");
  assert_error (r, "not base64");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-add\", \"arguments\": {\"metainfo\": \"ZDQ6aW5mb2Rl\"}}");
  assert_error (r, "invalid or corrupt torrent file");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-add\", \"arguments\": {\"filename\": \"magnet:?xt=urn:btih:zz\"}}");
  assert_error (r, "invalid magnet link");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-add\", \"arguments\": {\"filename\": \"/nonexistent/x.torrent\"}}");
  assert_error (r, "cannot read");
  json_object_unref (r);
  r = rpc (&f, "{\"method\": \"torrent-add\", \"arguments\": {\"metainfo\": \"%s\", \"download-dir\": \"relative\"}}", b64);
  /* a duplicate is found before the directory is looked at */
  assert_success (r);
  g_assert_true (json_object_has_member (json_object_get_object_member (r, "arguments"), "torrent-duplicate"));
  json_object_unref (r);

  /* one bad argument: the good ones beside it are not applied either */
  r = rpc (&f, "{\"method\": \"torrent-set\", \"arguments\": {\"ids\": [%" G_GINT64_FORMAT "], "
               "\"downloadLimit\": 77, \"downloadLimited\": true, \"files-wanted\": [5]}}", id);
  assert_error (r, "file index out of range");
  json_object_unref (r);
  g_assert_cmpint (get_int (&f, id, "downloadLimit"), ==, 0);
  r = rpc_raw (&f, "{\"method\": \"session-set\", \"arguments\": {\"speed-limit-down\": 5, "
                   "\"encryption\": \"sometimes\"}}");
  assert_error (r, "encryption");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"session-get\", \"arguments\": {\"fields\": [\"speed-limit-down\"]}}");
  assert_success (r);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (r, "arguments"),
                                               "speed-limit-down"), ==, 100);
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"session-set\", \"arguments\": {\"peer-limit-global\": -3}}");
  assert_error (r, "out of range");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"session-set\", \"arguments\": {\"speed-limit-up-enabled\": \"yes\"}}");
  assert_error (r, "boolean");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"torrent-rename-path\", \"arguments\": {\"path\": \"a\", \"name\": \"b\"}}");
  assert_error (r, NULL);
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"free-space\", \"arguments\": {\"path\": \"relative\"}}");
  assert_error (r, "absolute");
  json_object_unref (r);
  r = rpc_raw (&f, "{\"method\": \"port-test\"}");
  assert_error (r, "cannot tell");
  json_object_unref (r);
  /* unknown ids are skipped, as Transmission does */
  r = rpc_raw (&f, "{\"method\": \"torrent-get\", \"arguments\": {\"ids\": [999, \"0000000000000000000000000000000000000000\"], \"fields\": [\"id\"]}}");
  assert_success (r);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (r, "arguments"), "torrents")), ==, 0);
  json_object_unref (r);
  /* still one torrent, still answering */
  r = rpc_raw (&f, "{\"method\": \"session-stats\"}");
  assert_success (r);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (r, "arguments"),
                                               "torrentCount"), ==, 1);
  json_object_unref (r);
  fixture_clear (&f);
}

/* ---- adding, getting, removing ---- */

static void
test_add_get_remove (void)
{
  Fixture f = { 0 };
  g_autofree char *b64 = NULL, *hash = NULL, *path = NULL;
  gint64 id, id2;
  JsonObject *r, *args;
  JsonArray *ts, *row;
  g_autofree char *b64b = NULL;

  fixture_init (&f);
  b64 = make_torrent (&f, "a.bin", 300000, TRUE, &hash);
  id = add_torrent (&f, b64, f.data, FALSE);
  g_assert_cmpint (id, ==, 1);
  gbt_test_wait_until (status_of (&f, id) == GBT_RPC_STATUS_SEED, 20000);
  g_assert_cmpint (status_of (&f, id), ==, GBT_RPC_STATUS_SEED);

  /* a hash string works as an id; table format */
  r = rpc (&f, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":[\"%s\"],\"format\":\"table\","
               "\"fields\":[\"id\",\"name\",\"percentDone\",\"sizeWhenDone\",\"leftUntilDone\","
               "\"hashString\",\"totalSize\",\"files\",\"fileStats\",\"wanted\",\"priorities\","
               "\"pieceCount\",\"isFinished\",\"downloadDir\",\"bogusField\"]}}", hash);
  assert_success (r);
  ts = json_object_get_array_member (json_object_get_object_member (r, "arguments"), "torrents");
  g_assert_cmpuint (json_array_get_length (ts), ==, 2);
  row = json_array_get_array_element (ts, 0);
  g_assert_cmpuint (json_array_get_length (row), ==, 14); /* the unknown field skipped */
  row = json_array_get_array_element (ts, 1);
  g_assert_cmpint (json_array_get_int_element (row, 0), ==, id);
  g_assert_cmpstr (json_array_get_string_element (row, 1), ==, "a.bin");
  g_assert_cmpfloat (json_array_get_double_element (row, 2), ==, 1.0);
  g_assert_cmpint (json_array_get_int_element (row, 3), ==, 300000);
  g_assert_cmpint (json_array_get_int_element (row, 4), ==, 0);
  g_assert_cmpstr (json_array_get_string_element (row, 5), ==, hash);
  g_assert_cmpint (json_array_get_int_element (row, 6), ==, 300000);
  {
    JsonObject *file = json_array_get_object_element (json_array_get_array_element (row, 7), 0);
    g_assert_cmpstr (json_object_get_string_member (file, "name"), ==, "a.bin");
    g_assert_cmpint (json_object_get_int_member (file, "length"), ==, 300000);
    g_assert_cmpint (json_object_get_int_member (file, "bytesCompleted"), ==, 300000);
  }
  g_assert_cmpint (json_array_get_int_element (json_array_get_array_element (row, 9), 0), ==, 1);
  g_assert_cmpint (json_array_get_int_element (row, 11), ==, (300000 + 16383) / 16384);
  g_assert_cmpstr (json_array_get_string_element (row, 13), ==, f.data);
  json_object_unref (r);

  /* a second, paused, downloading into the default directory */
  b64b = make_torrent (&f, "b.bin", 50000, FALSE, NULL);
  r = rpc (&f, "{\"method\":\"torrent-add\",\"arguments\":{\"metainfo\":\"%s\",\"paused\":true}}", b64b);
  assert_success (r);
  id2 = json_object_get_int_member (json_object_get_object_member (
          json_object_get_object_member (r, "arguments"), "torrent-added"), "id");
  json_object_unref (r);
  g_assert_cmpint (id2, ==, 2);
  g_assert_cmpint (status_of (&f, id2), ==, GBT_RPC_STATUS_STOPPED);
  {
    g_autoptr(JsonNode) dir = get_field (&f, id2, "downloadDir");
    g_assert_cmpstr (json_node_get_string (dir), ==, f.dl);
  }

  /* session-get: all fields, or just those asked */
  r = rpc_raw (&f, "{\"method\":\"session-get\"}");
  assert_success (r);
  args = json_object_get_object_member (r, "arguments");
  g_assert_cmpint (json_object_get_int_member (args, "rpc-version"), >=, 15);
  g_assert_cmpstr (json_object_get_string_member (args, "download-dir"), ==, f.dl);
  g_assert_cmpint (json_object_get_int_member (args, "peer-port"), ==,
                   gbt_session_get_listen_port (f.d->session));
  g_assert_true (json_object_has_member (args, "units"));
  json_object_unref (r);

  /* removing: gone from the list, kept on disk, reported as removed */
  r = rpc (&f, "{\"method\":\"torrent-remove\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", id);
  assert_success (r);
  json_object_unref (r);
  g_assert_null (get_field (&f, id, "id"));
  path = g_build_filename (f.data, "a.bin", NULL);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  r = rpc_raw (&f, "{\"method\":\"torrent-get\",\"arguments\":{\"ids\":\"recently-active\",\"fields\":[\"id\"]}}");
  assert_success (r);
  {
    JsonArray *removed = json_object_get_array_member (json_object_get_object_member (r, "arguments"), "removed");
    g_assert_nonnull (removed);
    g_assert_cmpuint (json_array_get_length (removed), ==, 1);
    g_assert_cmpint (json_array_get_int_element (removed, 0), ==, id);
  }
  json_object_unref (r);
  /* added again: a new id, and delete-local-data removes the file */
  id = add_torrent (&f, b64, f.data, TRUE);
  g_assert_cmpint (id, ==, 3);
  r = rpc (&f, "{\"method\":\"torrent-remove\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "],"
               "\"delete-local-data\":true}}", id);
  assert_success (r);
  json_object_unref (r);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  fixture_clear (&f);
}

/* ---- the download queue ---- */

static void
test_queue (void)
{
  Fixture f = { 0 };
  gint64 ids[3];
  JsonObject *r;

  fixture_init (&f);
  r = rpc_raw (&f, "{\"method\":\"session-set\",\"arguments\":{\"download-queue-size\":1,"
                   "\"download-queue-enabled\":true,\"queue-stalled-enabled\":false}}");
  assert_success (r);
  json_object_unref (r);
  /* nobody has them: they stay downloading (or waiting) */
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("q%d.bin", i);
      g_autofree char *b64 = make_torrent (&f, name, 40000, FALSE, NULL);
      ids[i] = add_torrent (&f, b64, f.dl, FALSE);
    }
  gbt_test_wait_until (status_of (&f, ids[0]) == GBT_RPC_STATUS_DOWNLOAD, 10000);
  g_assert_cmpint (status_of (&f, ids[0]), ==, GBT_RPC_STATUS_DOWNLOAD);
  g_assert_cmpint (status_of (&f, ids[1]), ==, GBT_RPC_STATUS_DOWNLOAD_WAIT);
  g_assert_cmpint (status_of (&f, ids[2]), ==, GBT_RPC_STATUS_DOWNLOAD_WAIT);
  g_assert_cmpint (get_int (&f, ids[2], "queuePosition"), ==, 2);

  /* the last to the top: it is next */
  r = rpc (&f, "{\"method\":\"queue-move-top\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", ids[2]);
  assert_success (r);
  json_object_unref (r);
  g_assert_cmpint (get_int (&f, ids[2], "queuePosition"), ==, 0);
  g_assert_cmpint (get_int (&f, ids[0], "queuePosition"), ==, 1);
  g_assert_cmpint (get_int (&f, ids[1], "queuePosition"), ==, 2);
  r = rpc (&f, "{\"method\":\"torrent-stop\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", ids[0]);
  assert_success (r);
  json_object_unref (r);
  gbt_test_wait_until (status_of (&f, ids[2]) == GBT_RPC_STATUS_DOWNLOAD, 10000);
  g_assert_cmpint (status_of (&f, ids[2]), ==, GBT_RPC_STATUS_DOWNLOAD);
  g_assert_cmpint (status_of (&f, ids[1]), ==, GBT_RPC_STATUS_DOWNLOAD_WAIT);
  gbt_test_wait_until (status_of (&f, ids[0]) == GBT_RPC_STATUS_STOPPED, 10000);
  g_assert_cmpint (status_of (&f, ids[0]), ==, GBT_RPC_STATUS_STOPPED);

  /* start-now passes the queue */
  r = rpc (&f, "{\"method\":\"torrent-start-now\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", ids[1]);
  assert_success (r);
  json_object_unref (r);
  gbt_test_wait_until (status_of (&f, ids[1]) == GBT_RPC_STATUS_DOWNLOAD, 10000);
  g_assert_cmpint (status_of (&f, ids[1]), ==, GBT_RPC_STATUS_DOWNLOAD);

  /* a bigger queue lets the stopped one run once started */
  r = rpc_raw (&f, "{\"method\":\"session-set\",\"arguments\":{\"download-queue-size\":3}}");
  assert_success (r);
  json_object_unref (r);
  r = rpc (&f, "{\"method\":\"torrent-start\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", ids[0]);
  assert_success (r);
  json_object_unref (r);
  gbt_test_wait_until (status_of (&f, ids[0]) == GBT_RPC_STATUS_DOWNLOAD, 10000);
  g_assert_cmpint (status_of (&f, ids[0]), ==, GBT_RPC_STATUS_DOWNLOAD);
  fixture_clear (&f);
}

/* ---- restart: settings, torrents, ids, queue and stops come back ---- */

static void
test_restart (void)
{
  Fixture f = { 0 };
  g_autofree char *b64a = NULL, *b64b = NULL;
  gint64 a, b;
  JsonObject *r, *args;

  fixture_init (&f);
  b64a = make_torrent (&f, "r1.bin", 100000, TRUE, NULL);
  b64b = make_torrent (&f, "r2.bin", 100000, TRUE, NULL);
  a = add_torrent (&f, b64a, f.data, FALSE);
  b = add_torrent (&f, b64b, f.data, FALSE);
  gbt_test_wait_until (status_of (&f, a) == GBT_RPC_STATUS_SEED
                         && status_of (&f, b) == GBT_RPC_STATUS_SEED, 20000);
  r = rpc_raw (&f, "{\"method\":\"session-set\",\"arguments\":{\"speed-limit-down\":321,"
                   "\"speed-limit-down-enabled\":true,\"seed-queue-size\":7,"
                   "\"encryption\":\"required\",\"alt-speed-up\":12}}");
  assert_success (r);
  json_object_unref (r);
  r = rpc (&f, "{\"method\":\"torrent-stop\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "]}}", b);
  assert_success (r);
  json_object_unref (r);
  r = rpc (&f, "{\"method\":\"torrent-set\",\"arguments\":{\"ids\":[%" G_GINT64_FORMAT "],"
               "\"uploadLimit\":42,\"uploadLimited\":true,\"labels\":[\"x\",\"y\"],"
               "\"bandwidthPriority\":1,\"queuePosition\":0}}", b);
  assert_success (r);
  json_object_unref (r);
  gbt_test_wait_until (status_of (&f, b) == GBT_RPC_STATUS_STOPPED, 10000);

  fixture_stop (&f);
  fixture_start (&f);

  r = rpc_raw (&f, "{\"method\":\"session-get\"}");
  args = json_object_get_object_member (r, "arguments");
  g_assert_cmpint (json_object_get_int_member (args, "speed-limit-down"), ==, 321);
  g_assert_true (json_object_get_boolean_member (args, "speed-limit-down-enabled"));
  g_assert_cmpint (json_object_get_int_member (args, "seed-queue-size"), ==, 7);
  g_assert_cmpint (json_object_get_int_member (args, "alt-speed-up"), ==, 12);
  g_assert_cmpstr (json_object_get_string_member (args, "encryption"), ==, "required");
  json_object_unref (r);
  g_assert_cmpint (gbt_session_get_download_limit (f.d->session), ==, 321000);
  /* same ids, the running one runs, the stopped one shows its progress */
  gbt_test_wait_until (status_of (&f, a) == GBT_RPC_STATUS_SEED, 20000);
  g_assert_cmpint (status_of (&f, a), ==, GBT_RPC_STATUS_SEED);
  g_assert_cmpint (status_of (&f, b), ==, GBT_RPC_STATUS_STOPPED);
  gbt_test_wait_until (get_double (&f, b, "percentDone") == 1.0, 10000);
  g_assert_cmpint (get_int (&f, b, "uploadLimit"), ==, 42);
  g_assert_cmpint (get_int (&f, b, "bandwidthPriority"), ==, 1);
  g_assert_cmpint (get_int (&f, b, "queuePosition"), ==, 0);
  g_assert_cmpint (get_int (&f, a, "queuePosition"), ==, 1);
  {
    g_autoptr(JsonNode) labels = get_field (&f, b, "labels");
    g_assert_cmpuint (json_array_get_length (json_node_get_array (labels)), ==, 2);
  }
  r = rpc_raw (&f, "{\"method\":\"session-stats\"}");
  args = json_object_get_object_member (json_object_get_object_member (r, "arguments"),
                                        "cumulative-stats");
  g_assert_cmpint (json_object_get_int_member (args, "sessionCount"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (args, "filesAdded"), ==, 2);
  json_object_unref (r);
  fixture_clear (&f);
}

/* ---- HTTP: CSRF id, auth, limits, whitelists ---- */

typedef struct {
  guint status;
  char *session_id;
  char *body;
} Response;

static void
response_clear (Response *r)
{
  g_free (r->session_id);
  g_free (r->body);
}

static void
sent_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GBytes **out = user_data;
  GError *error = NULL;

  *out = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (*out == NULL)
    {
      *out = g_bytes_new ("", 0);
      g_clear_error (&error);
    }
}

static Response
http_post (SoupSession *session, const char *url, const char *sid, const char *host,
           const char *auth, GBytes *body)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  SoupMessageHeaders *h = soup_message_get_request_headers (msg);
  g_autoptr(GBytes) reply = NULL;
  Response r = { 0 };

  if (sid)
    soup_message_headers_replace (h, "X-Transmission-Session-Id", sid);
  if (host)
    soup_message_headers_replace (h, "Host", host);
  if (auth)
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) auth, strlen (auth));
      g_autofree char *value = g_strconcat ("Basic ", b64, NULL);
      soup_message_headers_replace (h, "Authorization", value);
    }
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, sent_cb, &reply);
  gbt_test_wait_until (reply != NULL, 30000);
  g_assert_nonnull (reply);
  r.status = soup_message_get_status (msg);
  r.session_id = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                         "X-Transmission-Session-Id"));
  r.body = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  return r;
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

static void
test_http (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GBytes) get = g_bytes_new_static ("{\"method\":\"session-get\",\"arguments\":{\"fields\":[\"version\"]}}", 59);
  g_autofree char *url = NULL;
  g_autofree char *sid = NULL;
  Response r;

  fixture_init (&f);
  f.d->http = gbt_rpc_http_new (f.d, &error);
  g_assert_no_error (error);
  url = gbt_rpc_http_dup_url (f.d->http);

  /* the CSRF handshake: 409 with the id, then the answer */
  r = http_post (session, url, NULL, NULL, NULL, get);
  g_assert_cmpuint (r.status, ==, 409);
  g_assert_nonnull (r.session_id);
  sid = g_strdup (r.session_id);
  response_clear (&r);
  r = http_post (session, url, "wrong", NULL, NULL, get);
  g_assert_cmpuint (r.status, ==, 409);
  response_clear (&r);
  r = http_post (session, url, sid, NULL, NULL, get);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_nonnull (strstr (r.body, "\"result\":\"success\""));
  response_clear (&r);
  {
    /* malformed JSON: an error reply, served on */
    g_autoptr(GBytes) bad = g_bytes_new_static ("{\"method\":", 10);
    r = http_post (session, url, sid, NULL, NULL, bad);
    g_assert_cmpuint (r.status, ==, 200);
    g_assert_nonnull (strstr (r.body, "malformed JSON"));
    response_clear (&r);
  }
  {
    /* too big: refused before the body is read */
    gsize n = 32 * 1024 * 1024;
    g_autoptr(GBytes) huge = g_bytes_new_take (g_malloc0 (n), n);
    r = http_post (session, url, sid, NULL, NULL, huge);
    g_assert_cmpuint (r.status, ==, 413);
    response_clear (&r);
  }
  /* DNS rebinding: a name that is not ours */
  {
    g_autoptr(SoupSession) s2 = soup_session_new ();
    r = http_post (s2, url, sid, "evil.example:9091", NULL, get);
    g_assert_cmpuint (r.status, ==, 421);
    response_clear (&r);
  }
  r = http_post (session, url, sid, NULL, NULL, get);
  g_assert_cmpuint (r.status, ==, 200);
  response_clear (&r);
  {
    /* connections the clients close leave no socket behind (libsoup 3.2
     * leaks idle ones: the daemon closes each after its answer) */
    guint before = count_fds (), after;
    for (int i = 0; i < 40; i++)
      {
        g_autoptr(SoupSession) s5 = soup_session_new ();
        r = http_post (s5, url, i % 2 ? sid : NULL, NULL, NULL, get);
        g_assert_cmpuint (r.status, ==, i % 2 ? 200 : 409);
        response_clear (&r);
      }
    gbt_test_wait_until ((after = count_fds ()) <= before + 2, 10000);
    g_assert_cmpuint (after, <=, before + 2);
  }
  g_clear_pointer (&f.d->http, gbt_rpc_http_free);

  /* basic auth */
  f.opts.rpc_auth = (char *) "alice:s3cret";
  f.d->http = gbt_rpc_http_new (f.d, &error);
  g_assert_no_error (error);
  g_free (url);
  url = gbt_rpc_http_dup_url (f.d->http);
  {
    g_autoptr(SoupSession) s3 = soup_session_new ();
    r = http_post (s3, url, sid, NULL, NULL, get);
    g_assert_cmpuint (r.status, ==, 401);
    response_clear (&r);
    r = http_post (s3, url, sid, NULL, "alice:wrong", get);
    g_assert_cmpuint (r.status, ==, 401);
    response_clear (&r);
    r = http_post (s3, url, sid, NULL, "alice:s3cret", get);
    g_assert_cmpuint (r.status, ==, 200);
    response_clear (&r);
  }
  g_clear_pointer (&f.d->http, gbt_rpc_http_free);

  /* a whitelist without us */
  {
    char *only[] = { (char *) "10.*", NULL };
    g_autoptr(SoupSession) s4 = soup_session_new ();
    f.opts.rpc_auth = NULL;
    f.opts.rpc_whitelist = only;
    f.d->http = gbt_rpc_http_new (f.d, &error);
    g_assert_no_error (error);
    g_free (url);
    url = gbt_rpc_http_dup_url (f.d->http);
    r = http_post (s4, url, sid, NULL, NULL, get);
    g_assert_cmpuint (r.status, ==, 403);
    response_clear (&r);
    f.opts.rpc_whitelist = NULL;
  }
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("GBT_PORTMAP_DISABLE", "1", TRUE);
  g_setenv ("GBT_LSD_DISABLE", "1", TRUE);
  g_test_add_func ("/daemon-rpc/errors", test_errors);
  g_test_add_func ("/daemon-rpc/add-get-remove", test_add_get_remove);
  g_test_add_func ("/daemon-rpc/queue", test_queue);
  g_test_add_func ("/daemon-rpc/restart", test_restart);
  g_test_add_func ("/daemon-rpc/http", test_http);
  return g_test_run ();
}
