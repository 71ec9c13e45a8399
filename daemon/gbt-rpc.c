/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transmission's RPC: the request's dispatch, the "ids" argument, and the
 * session methods (session-get/-set/-stats, free-space, port-test, ...).
 * The protocol is Transmission 3.00's (RPC version 16): docs/daemon.md.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "gbt-daemon.h"

#define RPC_VERSION 16
#define RPC_VERSION_MINIMUM 1

char *
gbt_rpc_version_string (void)
{
  /* front ends parse "major.minor (revision)" */
  return g_strdup_printf ("%s (gbt)", gbt_get_version_string ());
}

void
gbt_rpc_call_free (GbtRpcCall *call)
{
  json_object_unref (call->args);
  if (call->tag)
    json_node_unref (call->tag);
  g_free (call);
}

typedef struct {
  GbtRpcReply reply;
  gpointer user_data;
  JsonNode *response;
} Persisting;

static void
persisted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Persisting *p = user_data;

  p->reply (p->response, p->user_data);
  json_node_unref (p->response);
  g_free (p);
}

void
gbt_rpc_call_return (GbtRpcCall *call, const char *result, JsonObject *args)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_string_member (o, "result", result ? result : "success");
  json_object_set_object_member (o, "arguments", args ? args : json_object_new ());
  if (call->tag)
    json_object_set_member (o, "tag", json_node_copy (call->tag)); /* owned: replies are written on a worker */
  json_node_take_object (node, o);
  if (call->persist && result == NULL && !call->daemon->closing)
    {
      /* the change is on disk when the client hears of it */
      Persisting *p = g_new0 (Persisting, 1);
      p->reply = call->reply;
      p->user_data = call->user_data;
      p->response = node;
      gbt_daemon_persist_async (call->daemon, persisted_cb, p);
      gbt_rpc_call_free (call);
      return;
    }
  call->reply (node, call->user_data);
  json_node_unref (node);
  gbt_rpc_call_free (call);
}

/* ---- "ids" ---- */

static GbtDaemonTorrent *
lookup_one (GbtDaemon *self, JsonNode *node, char **error)
{
  GbtDaemonTorrent *dt = NULL;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    {
      gint64 id = json_node_get_int (node);
      if (id > 0 && id <= G_MAXUINT)
        dt = g_hash_table_lookup (self->by_id, GUINT_TO_POINTER ((guint) id));
      return dt; /* Transmission skips ids it does not know */
    }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *s = json_node_get_string (node);
      char lower[41];
      guint i;

      for (i = 0; s[i] && i < 40; i++)
        lower[i] = g_ascii_tolower (s[i]);
      lower[i] = '\0';
      if (strlen (s) == 40)
        return g_hash_table_lookup (self->by_hash, lower);
      return NULL;
    }
  *error = g_strdup ("invalid torrent id: ids are numbers or info-hash strings");
  return NULL;
}

GPtrArray *
gbt_rpc_select (GbtDaemon *self, JsonObject *args, gboolean *recently, char **error)
{
  JsonNode *ids = json_object_get_member (args, "ids");
  GPtrArray *out = g_ptr_array_new ();

  if (recently)
    *recently = FALSE;
  if (ids == NULL || JSON_NODE_HOLDS_NULL (ids))
    {
      for (guint i = 0; i < self->torrents->len; i++)
        g_ptr_array_add (out, g_ptr_array_index (self->torrents, i));
      return out;
    }
  if (JSON_NODE_HOLDS_VALUE (ids) && json_node_get_value_type (ids) == G_TYPE_STRING
      && g_str_equal (json_node_get_string (ids), "recently-active"))
    {
      gint64 now = g_get_monotonic_time () / G_USEC_PER_SEC;
      if (recently)
        *recently = TRUE;
      for (guint i = 0; i < self->torrents->len; i++)
        {
          GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
          if (now - dt->changed <= 60)
            g_ptr_array_add (out, dt);
        }
      return out;
    }
  if (JSON_NODE_HOLDS_ARRAY (ids))
    {
      JsonArray *a = json_node_get_array (ids);
      g_autoptr(GHashTable) seen = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          GbtDaemonTorrent *dt = lookup_one (self, json_array_get_element (a, i), error);
          if (*error)
            {
              g_ptr_array_unref (out);
              return NULL;
            }
          if (dt && g_hash_table_add (seen, dt))
            g_ptr_array_add (out, dt);
        }
      return out;
    }
  {
    GbtDaemonTorrent *dt = lookup_one (self, ids, error);
    if (*error)
      {
        g_ptr_array_unref (out);
        return NULL;
      }
    if (dt)
      g_ptr_array_add (out, dt);
  }
  return out;
}

GPtrArray *
gbt_rpc_select_or_reply (GbtRpcCall *call, gboolean *recently)
{
  g_autofree char *error = NULL;
  GPtrArray *sel = gbt_rpc_select (call->daemon, call->args, recently, &error);

  if (sel == NULL)
    gbt_rpc_call_return (call, error, NULL);
  return sel;
}

/* ---- session-get / session-set ---- */

static const char *const session_fields[] = {
  "alt-speed-down", "alt-speed-enabled", "alt-speed-time-begin", "alt-speed-time-day",
  "alt-speed-time-enabled", "alt-speed-time-end", "alt-speed-up", "blocklist-enabled",
  "blocklist-size", "blocklist-url", "cache-size-mb", "config-dir", "dht-enabled",
  "download-dir", "download-dir-free-space", "download-queue-enabled", "download-queue-size",
  "encryption", "idle-seeding-limit", "idle-seeding-limit-enabled", "incomplete-dir",
  "incomplete-dir-enabled", "lpd-enabled", "peer-limit-global", "peer-limit-per-torrent",
  "peer-port", "peer-port-random-on-start", "pex-enabled", "port-forwarding-enabled",
  "queue-stalled-enabled", "queue-stalled-minutes", "rename-partial-files", "rpc-version",
  "rpc-version-minimum", "script-torrent-done-enabled", "script-torrent-done-filename",
  "seed-queue-enabled", "seed-queue-size", "seedRatioLimit", "seedRatioLimited", "session-id",
  "speed-limit-down", "speed-limit-down-enabled", "speed-limit-up", "speed-limit-up-enabled",
  "start-added-torrents", "trash-original-torrent-files", "units", "utp-enabled", "version",
  NULL
};

static JsonArray *
unit_names (const char *a, const char *b, const char *c, const char *d)
{
  JsonArray *arr = json_array_new ();
  json_array_add_string_element (arr, a);
  json_array_add_string_element (arr, b);
  json_array_add_string_element (arr, c);
  json_array_add_string_element (arr, d);
  return arr;
}

static gint64
free_space (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_filesystem_info (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE,
                                                           NULL, NULL);
  if (info == NULL)
    return -1;
  return (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
}

static void
session_field (GbtDaemon *self, JsonObject *o, const char *key)
{
  GbtDaemonSettings *s = &self->settings;

#define B(name, v) else if (g_str_equal (key, name)) json_object_set_boolean_member (o, key, v)
#define I(name, v) else if (g_str_equal (key, name)) json_object_set_int_member (o, key, v)
#define S(name, v) else if (g_str_equal (key, name)) json_object_set_string_member (o, key, v)
#define D(name, v) else if (g_str_equal (key, name)) json_object_set_double_member (o, key, v)
  if (FALSE)
    ;
  I ("alt-speed-down", s->alt_speed_down);
  B ("alt-speed-enabled", s->alt_speed_enabled);
  I ("alt-speed-time-begin", s->alt_speed_time_begin);
  I ("alt-speed-time-day", s->alt_speed_time_day);
  B ("alt-speed-time-enabled", s->alt_speed_time_enabled);
  I ("alt-speed-time-end", s->alt_speed_time_end);
  I ("alt-speed-up", s->alt_speed_up);
  B ("blocklist-enabled", FALSE);
  I ("blocklist-size", 0);
  S ("blocklist-url", "");
  I ("cache-size-mb", 4);
  S ("config-dir", self->options->state_dir);
  B ("dht-enabled", s->dht_enabled);
  S ("download-dir", s->download_dir);
  /* a statfs(): quick, and what every front end asks for each refresh */
  I ("download-dir-free-space", free_space (s->download_dir));
  B ("download-queue-enabled", s->download_queue_enabled);
  I ("download-queue-size", s->download_queue_size);
  S ("encryption", s->encryption);
  I ("idle-seeding-limit", s->idle_seeding_limit);
  B ("idle-seeding-limit-enabled", s->idle_seeding_limit_enabled);
  S ("incomplete-dir", s->download_dir);
  B ("incomplete-dir-enabled", FALSE);
  B ("lpd-enabled", s->lpd_enabled);
  I ("peer-limit-global", s->peer_limit_global);
  I ("peer-limit-per-torrent", s->peer_limit_per_torrent);
  I ("peer-port", gbt_session_get_listen_port (self->session));
  B ("peer-port-random-on-start", FALSE);
  B ("pex-enabled", s->pex_enabled);
  B ("port-forwarding-enabled", s->port_forwarding_enabled);
  B ("queue-stalled-enabled", s->queue_stalled_enabled);
  I ("queue-stalled-minutes", s->queue_stalled_minutes);
  B ("rename-partial-files", FALSE);
  I ("rpc-version", RPC_VERSION);
  I ("rpc-version-minimum", RPC_VERSION_MINIMUM);
  B ("script-torrent-done-enabled", FALSE);
  S ("script-torrent-done-filename", "");
  B ("seed-queue-enabled", s->seed_queue_enabled);
  I ("seed-queue-size", s->seed_queue_size);
  D ("seedRatioLimit", s->seed_ratio_limit);
  B ("seedRatioLimited", s->seed_ratio_limited);
  S ("session-id", self->session_id);
  I ("speed-limit-down", s->speed_limit_down);
  B ("speed-limit-down-enabled", s->speed_limit_down_enabled);
  I ("speed-limit-up", s->speed_limit_up);
  B ("speed-limit-up-enabled", s->speed_limit_up_enabled);
  B ("start-added-torrents", s->start_added_torrents);
  B ("trash-original-torrent-files", FALSE);
  B ("utp-enabled", s->utp_enabled);
  else if (g_str_equal (key, "version"))
  {
    g_autofree char *v = gbt_rpc_version_string ();
    json_object_set_string_member (o, key, v);
  }
  else if (g_str_equal (key, "units"))
  {
    JsonObject *u = json_object_new ();
    json_object_set_array_member (u, "speed-units", unit_names ("kB/s", "MB/s", "GB/s", "TB/s"));
    json_object_set_int_member (u, "speed-bytes", 1000);
    json_object_set_array_member (u, "size-units", unit_names ("kB", "MB", "GB", "TB"));
    json_object_set_int_member (u, "size-bytes", 1000);
    json_object_set_array_member (u, "memory-units", unit_names ("KiB", "MiB", "GiB", "TiB"));
    json_object_set_int_member (u, "memory-bytes", 1024);
    json_object_set_object_member (o, key, u);
  }
#undef B
#undef I
#undef S
#undef D
}

static void
session_get (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  JsonObject *out = json_object_new ();
  JsonNode *fields = json_object_get_member (call->args, "fields");

  if (fields && JSON_NODE_HOLDS_ARRAY (fields) && json_array_get_length (json_node_get_array (fields)) > 0)
    {
      JsonArray *a = json_node_get_array (fields);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *f = json_array_get_element (a, i);
          if (JSON_NODE_HOLDS_VALUE (f) && json_node_get_value_type (f) == G_TYPE_STRING
              && g_strv_contains (session_fields, json_node_get_string (f)))
            session_field (self, out, json_node_get_string (f));
        }
    }
  else
    for (guint i = 0; session_fields[i]; i++)
      session_field (self, out, session_fields[i]);
  gbt_rpc_call_return (call, NULL, out);
}

/* typed readers: FALSE with *error when the member is there but of the
 * wrong type */
static gboolean
get_bool (JsonObject *args, const char *key, gboolean *value, char **error)
{
  JsonNode *n = json_object_get_member (args, key);

  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    *value = json_node_get_boolean (n);
  else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
    *value = json_node_get_int (n) != 0; /* some front ends send 0/1 */
  else
    {
      if (*error == NULL)
        *error = g_strdup_printf ("argument \"%s\" must be a boolean", key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_number (JsonObject *args, const char *key, double min, double max, double *value, char **error)
{
  JsonNode *n = json_object_get_member (args, key);
  double v;

  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
    v = (double) json_node_get_int (n);
  else if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_DOUBLE)
    v = json_node_get_double (n);
  else
    {
      if (*error == NULL)
        *error = g_strdup_printf ("argument \"%s\" must be a number", key);
      return FALSE;
    }
  if (v < min || v > max)
    {
      if (*error == NULL)
        *error = g_strdup_printf ("argument \"%s\" is out of range (%g to %g)", key, min, max);
      return FALSE;
    }
  *value = v;
  return TRUE;
}

gboolean
gbt_rpc_get_bool (JsonObject *args, const char *key, gboolean *value, char **error)
{
  return get_bool (args, key, value, error);
}

gboolean
gbt_rpc_get_number (JsonObject *args, const char *key, double min, double max, double *value,
                    char **error)
{
  return get_number (args, key, min, max, value, error);
}

static void
session_set (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  GbtDaemonSettings s = self->settings; /* checked first, then applied */
  g_autofree char *error = NULL;
  JsonNode *n;
  double v;
  gboolean b;
  const double KBPS_MAX = 4294967.0;

  if (get_number (call->args, "alt-speed-down", 0, KBPS_MAX, &v, &error)) s.alt_speed_down = v;
  if (get_number (call->args, "alt-speed-up", 0, KBPS_MAX, &v, &error)) s.alt_speed_up = v;
  if (get_bool (call->args, "alt-speed-enabled", &b, &error)) s.alt_speed_enabled = b;
  if (get_bool (call->args, "alt-speed-time-enabled", &b, &error)) s.alt_speed_time_enabled = b;
  if (get_number (call->args, "alt-speed-time-begin", 0, 1439, &v, &error)) s.alt_speed_time_begin = v;
  if (get_number (call->args, "alt-speed-time-end", 0, 1439, &v, &error)) s.alt_speed_time_end = v;
  if (get_number (call->args, "alt-speed-time-day", 0, 127, &v, &error)) s.alt_speed_time_day = v;
  if (get_number (call->args, "speed-limit-down", 0, KBPS_MAX, &v, &error)) s.speed_limit_down = v;
  if (get_number (call->args, "speed-limit-up", 0, KBPS_MAX, &v, &error)) s.speed_limit_up = v;
  if (get_bool (call->args, "speed-limit-down-enabled", &b, &error)) s.speed_limit_down_enabled = b;
  if (get_bool (call->args, "speed-limit-up-enabled", &b, &error)) s.speed_limit_up_enabled = b;
  if (get_number (call->args, "peer-limit-global", 1, 65535, &v, &error)) s.peer_limit_global = v;
  if (get_number (call->args, "peer-limit-per-torrent", 1, 65535, &v, &error)) s.peer_limit_per_torrent = v;
  if (get_number (call->args, "peer-port", 0, 65535, &v, &error)) s.peer_port = v;
  if (get_bool (call->args, "seedRatioLimited", &b, &error)) s.seed_ratio_limited = b;
  if (get_number (call->args, "seedRatioLimit", 0, 1e9, &v, &error)) s.seed_ratio_limit = v;
  if (get_bool (call->args, "idle-seeding-limit-enabled", &b, &error)) s.idle_seeding_limit_enabled = b;
  if (get_number (call->args, "idle-seeding-limit", 1, 40000, &v, &error)) s.idle_seeding_limit = v;
  if (get_bool (call->args, "download-queue-enabled", &b, &error)) s.download_queue_enabled = b;
  if (get_number (call->args, "download-queue-size", 0, 100000, &v, &error)) s.download_queue_size = v;
  if (get_bool (call->args, "seed-queue-enabled", &b, &error)) s.seed_queue_enabled = b;
  if (get_number (call->args, "seed-queue-size", 0, 100000, &v, &error)) s.seed_queue_size = v;
  if (get_bool (call->args, "queue-stalled-enabled", &b, &error)) s.queue_stalled_enabled = b;
  if (get_number (call->args, "queue-stalled-minutes", 1, 40000, &v, &error)) s.queue_stalled_minutes = v;
  if (get_bool (call->args, "start-added-torrents", &b, &error)) s.start_added_torrents = b;
  if (get_bool (call->args, "utp-enabled", &b, &error)) s.utp_enabled = b;
  if (get_bool (call->args, "dht-enabled", &b, &error)) s.dht_enabled = b;
  if (get_bool (call->args, "pex-enabled", &b, &error)) s.pex_enabled = b;
  if (get_bool (call->args, "lpd-enabled", &b, &error)) s.lpd_enabled = b;
  if (get_bool (call->args, "port-forwarding-enabled", &b, &error)) s.port_forwarding_enabled = b;
  if ((n = json_object_get_member (call->args, "encryption")))
    {
      const char *e = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                        ? json_node_get_string (n) : NULL;
      if (e == NULL || !(g_str_equal (e, "required") || g_str_equal (e, "preferred")
                         || g_str_equal (e, "tolerated")))
        {
          if (error == NULL)
            error = g_strdup ("encryption must be \"required\", \"preferred\" or \"tolerated\"");
        }
      else
        s.encryption = (char *) e;
    }
  if ((n = json_object_get_member (call->args, "download-dir")))
    {
      const char *d = JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
                        ? json_node_get_string (n) : NULL;
      if (d == NULL || !g_path_is_absolute (d))
        {
          if (error == NULL)
            error = g_strdup ("download-dir must be an absolute path");
        }
      else
        s.download_dir = (char *) d;
    }
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  /* the strings are borrowed from the request until now */
  if (s.encryption != self->settings.encryption)
    {
      s.encryption = g_strdup (s.encryption);
      g_free (self->settings.encryption);
    }
  if (s.download_dir != self->settings.download_dir)
    {
      s.download_dir = g_strdup (s.download_dir);
      g_free (self->settings.download_dir);
    }
  if (s.alt_speed_enabled != self->settings.alt_speed_enabled)
    self->alt_by_schedule = FALSE;
  self->settings = s;
  gbt_daemon_apply_settings (self);
  gbt_rpc_call_return (call, NULL, NULL);
}

/* ---- session-stats ---- */

static JsonObject *
stats_object (guint64 up, guint64 down, guint64 files, guint64 sessions, guint64 seconds)
{
  JsonObject *o = json_object_new ();
  json_object_set_int_member (o, "uploadedBytes", up);
  json_object_set_int_member (o, "downloadedBytes", down);
  json_object_set_int_member (o, "filesAdded", files);
  json_object_set_int_member (o, "sessionCount", sessions);
  json_object_set_int_member (o, "secondsActive", seconds);
  return o;
}

static void
session_stats (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  JsonObject *out = json_object_new ();
  guint active = 0, paused = 0;
  guint64 up = gbt_session_get_uploaded (self->session);
  guint64 down = gbt_session_get_downloaded (self->session);
  guint64 secs = g_get_monotonic_time () / G_USEC_PER_SEC - self->started;

  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
      if (gbt_daemon_torrent_status (dt) == GBT_RPC_STATUS_STOPPED)
        paused++;
      else
        active++;
    }
  json_object_set_int_member (out, "activeTorrentCount", active);
  json_object_set_int_member (out, "pausedTorrentCount", paused);
  json_object_set_int_member (out, "torrentCount", self->torrents->len);
  json_object_set_int_member (out, "downloadSpeed", (gint64) gbt_session_get_download_rate (self->session));
  json_object_set_int_member (out, "uploadSpeed", (gint64) gbt_session_get_upload_rate (self->session));
  json_object_set_object_member (out, "current-stats",
                                 stats_object (up, down, self->current.files_added, 1, secs));
  json_object_set_object_member (out, "cumulative-stats",
                                 stats_object (self->cumulative.uploaded + up,
                                               self->cumulative.downloaded + down,
                                               self->cumulative.files_added + self->current.files_added,
                                               self->cumulative.session_count + 1,
                                               self->cumulative.seconds_active + secs));
  gbt_rpc_call_return (call, NULL, out);
}

/* ---- free-space: a statfs() on a worker (a hung NFS mount must not hang
 * the daemon) ---- */

static void
free_space_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtRpcCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFileInfo) info = g_file_query_filesystem_info_finish (G_FILE (source), result, &error);
  JsonObject *out;
  g_autofree char *path = g_file_get_path (G_FILE (source));

  if (info == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("%s: %s", path, error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  out = json_object_new ();
  json_object_set_string_member (out, "path", json_object_get_string_member (call->args, "path"));
  json_object_set_int_member (out, "size-bytes",
                              (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE));
  json_object_set_int_member (out, "total_size",
                              (gint64) g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_FILESYSTEM_SIZE));
  gbt_rpc_call_return (call, NULL, out);
}

static void
free_space_method (GbtRpcCall *call)
{
  JsonNode *n = json_object_get_member (call->args, "path");
  g_autoptr(GFile) file = NULL;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
      || !g_path_is_absolute (json_node_get_string (n)))
    {
      gbt_rpc_call_return (call, "directory path is not absolute", NULL);
      return;
    }
  file = g_file_new_for_path (json_node_get_string (n));
  g_file_query_filesystem_info_async (file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE ","
                                      G_FILE_ATTRIBUTE_FILESYSTEM_SIZE,
                                      G_PRIORITY_DEFAULT, NULL, free_space_cb, call);
}

/* ---- dispatch ---- */

static gboolean
close_idle (gpointer user_data)
{
  GbtDaemon *self = user_data;

  if (self->loop)
    g_main_loop_quit (self->loop);
  return G_SOURCE_REMOVE;
}

void
gbt_rpc_handle (GbtDaemon *self, JsonNode *request, GbtRpcReply reply, gpointer user_data)
{
  GbtRpcCall *call = g_new0 (GbtRpcCall, 1);
  JsonObject *req;
  JsonNode *method_node, *args;
  const char *method;

  call->daemon = self;
  call->reply = reply;
  call->user_data = user_data;
  if (request == NULL || !JSON_NODE_HOLDS_OBJECT (request))
    {
      call->args = json_object_new ();
      gbt_rpc_call_return (call, "the request is not a JSON object", NULL);
      return;
    }
  req = json_node_get_object (request);
  if ((call->tag = json_object_get_member (req, "tag")))
    call->tag = json_node_ref (call->tag);
  args = json_object_get_member (req, "arguments");
  if (args && JSON_NODE_HOLDS_OBJECT (args))
    call->args = json_object_ref (json_node_get_object (args));
  else
    call->args = json_object_new ();
  if (args && !JSON_NODE_HOLDS_OBJECT (args) && !JSON_NODE_HOLDS_NULL (args))
    {
      gbt_rpc_call_return (call, "\"arguments\" must be an object", NULL);
      return;
    }
  method_node = json_object_get_member (req, "method");
  if (method_node == NULL || !JSON_NODE_HOLDS_VALUE (method_node)
      || json_node_get_value_type (method_node) != G_TYPE_STRING)
    {
      gbt_rpc_call_return (call, "no method name", NULL);
      return;
    }
  method = json_node_get_string (method_node);
  /* a change is on disk before its reply, but for torrent-add: each save
   * writes the whole list, so saving per add made adding N torrents cost
   * N² (1,000: 3.3 s to 7.3 s); adds are saved within the second, as
   * other changes are between requests */
  call->persist = g_str_equal (method, "session-set") || g_str_has_prefix (method, "queue-move-")
                  || (g_str_has_prefix (method, "torrent-") && !g_str_equal (method, "torrent-get")
                      && !g_str_equal (method, "torrent-reannounce")
                      && !g_str_equal (method, "torrent-add"));
  if (g_str_equal (method, "session-get"))
    session_get (call);
  else if (g_str_equal (method, "session-set"))
    session_set (call);
  else if (g_str_equal (method, "session-stats"))
    session_stats (call);
  else if (g_str_equal (method, "torrent-get"))
    gbt_rpc_torrent_get (call);
  else if (g_str_equal (method, "torrent-set"))
    gbt_rpc_torrent_set (call);
  else if (g_str_equal (method, "torrent-add"))
    gbt_rpc_torrent_add (call);
  else if (g_str_equal (method, "torrent-remove"))
    gbt_rpc_torrent_remove (call);
  else if (g_str_equal (method, "torrent-start") || g_str_equal (method, "torrent-start-now")
           || g_str_equal (method, "torrent-stop") || g_str_equal (method, "torrent-verify")
           || g_str_equal (method, "torrent-reannounce"))
    gbt_rpc_torrent_action (call, method);
  else if (g_str_equal (method, "torrent-set-location"))
    gbt_rpc_torrent_set_location (call);
  else if (g_str_equal (method, "torrent-rename-path"))
    gbt_rpc_torrent_rename_path (call);
  else if (g_str_has_prefix (method, "queue-move-")
           && (g_str_equal (method, "queue-move-top") || g_str_equal (method, "queue-move-up")
               || g_str_equal (method, "queue-move-down")
               || g_str_equal (method, "queue-move-bottom")))
    gbt_rpc_queue_move (call, method);
  else if (g_str_equal (method, "free-space"))
    free_space_method (call);
  else if (g_str_equal (method, "port-test"))
    /* telling whether the port is open needs someone outside to try it;
     * gbt contacts no outside service, so it cannot know */
    gbt_rpc_call_return (call, "port-test needs an outside service to connect back; gbt "
                               "contacts none, so it cannot tell whether the port is open",
                         NULL);
  else if (g_str_equal (method, "blocklist-update"))
    gbt_rpc_call_return (call, "gbt has no blocklist support", NULL);
  else if (g_str_equal (method, "session-close"))
    {
      g_message ("session-close asked over RPC: stopping");
      g_idle_add (close_idle, self);
      gbt_rpc_call_return (call, NULL, NULL);
    }
  else
    {
      g_autofree char *msg = g_strdup_printf ("method name not recognized: %s", method);
      gbt_rpc_call_return (call, msg, NULL);
    }
}

void
gbt_rpc_handle_body (GbtDaemon *self, const char *body, gsize length, GbtRpcReply reply,
                     gpointer user_data)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;

  if (length > G_MAXSSIZE || !json_parser_load_from_data (parser, body, (gssize) length, &error))
    {
      JsonObject *o = json_object_new ();
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);
      g_autofree char *msg = g_strdup_printf ("malformed JSON: %s",
                                              error ? error->message : "too long");
      json_object_set_string_member (o, "result", msg);
      json_object_set_object_member (o, "arguments", json_object_new ());
      json_node_take_object (node, o);
      reply (node, user_data);
      json_node_unref (node);
      return;
    }
  gbt_rpc_handle (self, json_parser_get_root (parser), reply, user_data);
}
