/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transmission's torrent methods but torrent-get (gbt-rpc-get.c):
 * torrent-set, torrent-add, torrent-remove, the actions, the queue moves,
 * set-location and rename-path.  Requests are checked whole before anything changes: a request
 * with one bad argument changes nothing.
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "gbt-daemon.h"

#define MAX_TORRENT_FILE (16 * 1024 * 1024)

/* ---- file lists: "files-wanted": [0, 2], [] for every file ---- */

static gboolean
file_indices (JsonObject *args, const char *key, guint n_files, GArray **out, char **error)
{
  JsonNode *node = json_object_get_member (args, key);
  JsonArray *a;

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      *error = g_strdup_printf ("\"%s\" must be an array of file indices", key);
      return FALSE;
    }
  a = json_node_get_array (node);
  *out = g_array_new (FALSE, FALSE, sizeof (guint));
  if (json_array_get_length (a) == 0)
    for (guint i = 0; i < n_files; i++)
      g_array_append_val (*out, i);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      gint64 v;
      guint u;
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
          || (v = json_node_get_int (e)) < 0 || v >= n_files)
        {
          *error = g_strdup_printf ("\"%s\": file index out of range (the torrent has %u files)",
                                    key, n_files);
          g_clear_pointer (out, g_array_unref);
          return FALSE;
        }
      u = (guint) v;
      g_array_append_val (*out, u);
    }
  return TRUE;
}

typedef struct {
  GArray *wanted, *unwanted, *high, *low, *normal;
} FileChanges;

static void
file_changes_clear (FileChanges *fc)
{
  g_clear_pointer (&fc->wanted, g_array_unref);
  g_clear_pointer (&fc->unwanted, g_array_unref);
  g_clear_pointer (&fc->high, g_array_unref);
  g_clear_pointer (&fc->low, g_array_unref);
  g_clear_pointer (&fc->normal, g_array_unref);
}

static gboolean
file_changes_parse (JsonObject *args, guint n_files, FileChanges *fc, char **error)
{
  return file_indices (args, "files-wanted", n_files, &fc->wanted, error)
         && file_indices (args, "files-unwanted", n_files, &fc->unwanted, error)
         && file_indices (args, "priority-high", n_files, &fc->high, error)
         && file_indices (args, "priority-low", n_files, &fc->low, error)
         && file_indices (args, "priority-normal", n_files, &fc->normal, error);
}

static gboolean
file_changes_any (const FileChanges *fc)
{
  return fc->wanted || fc->unwanted || fc->high || fc->low || fc->normal;
}

/* gbt has one priority per file, "skip" included: a priority given to an
 * unwanted file waits until it is wanted again (kept by the daemon) */
static void
file_changes_apply (GbtTorrent *t, const FileChanges *fc)
{
  guint n = gbt_metainfo_get_n_files (gbt_torrent_get_metainfo (t));
  g_autofree GbtFilePriority *prio = g_new (GbtFilePriority, n);
  g_autofree gboolean *wanted = g_new (gboolean, n);

  for (guint i = 0; i < n; i++)
    {
      prio[i] = gbt_torrent_get_file_priority (t, i);
      wanted[i] = prio[i] != GBT_FILE_PRIORITY_SKIP;
      if (!wanted[i])
        prio[i] = GBT_FILE_PRIORITY_NORMAL;
    }
#define EACH(arr, stmt)                                                                      \
  if (arr)                                                                                   \
    for (guint k = 0; k < (arr)->len; k++)                                                   \
      {                                                                                      \
        guint i = g_array_index (arr, guint, k);                                             \
        stmt;                                                                                \
      }
  EACH (fc->high, prio[i] = GBT_FILE_PRIORITY_HIGH);
  EACH (fc->low, prio[i] = GBT_FILE_PRIORITY_LOW);
  EACH (fc->normal, prio[i] = GBT_FILE_PRIORITY_NORMAL);
  EACH (fc->wanted, wanted[i] = TRUE);
  EACH (fc->unwanted, wanted[i] = FALSE);
#undef EACH
  for (guint i = 0; i < n; i++)
    {
      GbtFilePriority p = wanted[i] ? prio[i] : GBT_FILE_PRIORITY_SKIP;
      if (p != gbt_torrent_get_file_priority (t, i))
        gbt_torrent_set_file_priority (t, i, p);
    }
}

static guint
n_files_of (GbtTorrent *t)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
  return mi ? gbt_metainfo_get_n_files (mi) : 0;
}

/* ---- torrent-set ---- */

static gboolean
string_array (JsonObject *args, const char *key, GPtrArray **out, char **error)
{
  JsonNode *node = json_object_get_member (args, key);
  JsonArray *a;

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto bad;
  a = json_node_get_array (node);
  *out = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_clear_pointer (out, g_ptr_array_unref);
          goto bad;
        }
      g_ptr_array_add (*out, (gpointer) json_node_get_string (e));
    }
  return TRUE;
bad:
  *error = g_strdup_printf ("\"%s\" must be an array of strings", key);
  return FALSE;
}

static char *
tracker_url_at (GbtTorrent *t, gint64 id, guint *tier)
{
  GListModel *trackers = gbt_torrent_get_trackers (t);
  g_autoptr(GbtTrackerEntry) e = NULL;

  if (id < 0 || id >= g_list_model_get_n_items (trackers))
    return NULL;
  e = g_list_model_get_item (trackers, (guint) id);
  if (tier)
    *tier = gbt_tracker_entry_get_tier (e);
  return g_strdup (gbt_tracker_entry_get_url (e));
}

static guint
next_tier (GbtTorrent *t)
{
  GListModel *trackers = gbt_torrent_get_trackers (t);
  guint n = g_list_model_get_n_items (trackers), tier = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, i);
      tier = MAX (tier, gbt_tracker_entry_get_tier (e) + 1);
    }
  return tier;
}

void
gbt_rpc_torrent_set (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  JsonObject *args = call->args;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, args, NULL, &error);
  double prio = 0, dl = 0, ul = 0, peer_limit = 0, qpos = 0, idle_limit = 0, idle_mode = 0,
         ratio = 0, ratio_mode = 0;
  gboolean has_prio, has_dl, has_ul, has_pl, has_q, has_il, has_im, has_r, has_rm;
  gboolean dl_on = FALSE, ul_on = FALSE, honors = FALSE, seq = FALSE;
  gboolean has_dl_on, has_ul_on, has_honors, has_seq;
  g_autoptr(GPtrArray) labels = NULL, tracker_add = NULL;
  JsonNode *tracker_remove, *tracker_replace;

  if (sel == NULL)
    return;
  has_prio = gbt_rpc_get_number (args, "bandwidthPriority", -1, 1, &prio, &error);
  has_dl = gbt_rpc_get_number (args, "downloadLimit", 0, 4294967, &dl, &error);
  has_ul = gbt_rpc_get_number (args, "uploadLimit", 0, 4294967, &ul, &error);
  has_dl_on = gbt_rpc_get_bool (args, "downloadLimited", &dl_on, &error);
  has_ul_on = gbt_rpc_get_bool (args, "uploadLimited", &ul_on, &error);
  has_honors = gbt_rpc_get_bool (args, "honorsSessionLimits", &honors, &error);
  has_seq = gbt_rpc_get_bool (args, "sequentialDownload", &seq, &error);
  has_pl = gbt_rpc_get_number (args, "peer-limit", 1, 65535, &peer_limit, &error);
  has_q = gbt_rpc_get_number (args, "queuePosition", 0, G_MAXINT, &qpos, &error);
  has_il = gbt_rpc_get_number (args, "seedIdleLimit", 0, 40000, &idle_limit, &error);
  has_im = gbt_rpc_get_number (args, "seedIdleMode", 0, 2, &idle_mode, &error);
  has_r = gbt_rpc_get_number (args, "seedRatioLimit", 0, 1e9, &ratio, &error);
  has_rm = gbt_rpc_get_number (args, "seedRatioMode", 0, 2, &ratio_mode, &error);
  if (error == NULL)
    string_array (args, "labels", &labels, &error);
  if (error == NULL)
    string_array (args, "trackerAdd", &tracker_add, &error);
  tracker_remove = json_object_get_member (args, "trackerRemove");
  tracker_replace = json_object_get_member (args, "trackerReplace");
  if (error == NULL && tracker_remove && !JSON_NODE_HOLDS_ARRAY (tracker_remove))
    error = g_strdup ("\"trackerRemove\" must be an array of tracker ids");
  if (error == NULL && tracker_replace && !JSON_NODE_HOLDS_ARRAY (tracker_replace))
    error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
  if (error == NULL && json_object_has_member (args, "location"))
    error = g_strdup ("torrent-set \"location\": use torrent-set-location");
  /* every torrent's file indices and tracker changes checked before any change */
  for (guint i = 0; error == NULL && i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      FileChanges fc = { 0 };
      if (!file_changes_parse (args, n_files_of (dt->torrent), &fc, &error))
        break;
      if (file_changes_any (&fc) && !gbt_torrent_has_metadata (dt->torrent))
        error = g_strdup ("the torrent has no metadata yet: its files are not known");
      file_changes_clear (&fc);
      for (guint k = 0; error == NULL && tracker_add && k < tracker_add->len; k++)
        {
          const char *url = g_ptr_array_index (tracker_add, k);
          if (!g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
            error = g_strdup_printf ("invalid tracker announce URL: %s", url);
        }
      if (error == NULL && tracker_replace)
        {
          JsonArray *a = json_node_get_array (tracker_replace);
          if (json_array_get_length (a) % 2 != 0)
            error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
          for (guint k = 0; error == NULL && k + 1 < json_array_get_length (a); k += 2)
            {
              JsonNode *id = json_array_get_element (a, k), *url = json_array_get_element (a, k + 1);
              g_autofree char *old = NULL;
              if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
                  || !JSON_NODE_HOLDS_VALUE (url) || json_node_get_value_type (url) != G_TYPE_STRING
                  || !g_uri_is_valid (json_node_get_string (url), G_URI_FLAGS_NONE, NULL))
                error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
              else if ((old = tracker_url_at (dt->torrent, json_node_get_int (id), NULL)) == NULL)
                error = g_strdup_printf ("no tracker with id %" G_GINT64_FORMAT, json_node_get_int (id));
            }
        }
      if (error == NULL && tracker_remove)
        {
          JsonArray *a = json_node_get_array (tracker_remove);
          for (guint k = 0; error == NULL && k < json_array_get_length (a); k++)
            {
              JsonNode *id = json_array_get_element (a, k);
              g_autofree char *old = NULL;
              if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
                  || (old = tracker_url_at (dt->torrent, json_node_get_int (id), NULL)) == NULL)
                error = g_strdup ("\"trackerRemove\": no such tracker id");
            }
        }
    }
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }

  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      GbtTorrent *t = dt->torrent;
      FileChanges fc = { 0 };

      if (has_prio) dt->bandwidth_priority = (int) prio;
      if (has_dl) dt->down_limit_kbps = (guint64) dl;
      if (has_ul) dt->up_limit_kbps = (guint64) ul;
      if (has_dl_on) dt->down_limited = dl_on;
      if (has_ul_on) dt->up_limited = ul_on;
      if (has_honors) dt->honors_session_limits = honors;
      if (has_il) dt->seed_idle_limit = (guint) idle_limit;
      if (has_im) dt->seed_idle_mode = (int) idle_mode;
      if (has_r) dt->seed_ratio_limit = ratio;
      if (has_rm) dt->seed_ratio_mode = (int) ratio_mode;
      if (has_seq) gbt_torrent_set_sequential (t, seq);
      if (has_pl) gbt_torrent_set_max_peers (t, (guint) peer_limit);
      if (has_q) gbt_daemon_queue_move (self, dt, (int) qpos);
      if (labels)
        {
          g_strfreev (dt->labels);
          g_ptr_array_add (labels, NULL);
          dt->labels = g_strdupv ((char **) labels->pdata);
          g_ptr_array_remove_index (labels, labels->len - 1);
        }
      file_changes_parse (args, n_files_of (t), &fc, &error);
      if (file_changes_any (&fc))
        file_changes_apply (t, &fc);
      file_changes_clear (&fc);
      /* trackers: ids refer to the list as it was before this call */
      {
        g_autoptr(GPtrArray) remove = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) add = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GArray) add_tiers = g_array_new (FALSE, FALSE, sizeof (guint));
        if (tracker_remove)
          {
            JsonArray *a = json_node_get_array (tracker_remove);
            for (guint k = 0; k < json_array_get_length (a); k++)
              g_ptr_array_add (remove, tracker_url_at (t, json_array_get_int_element (a, k), NULL));
          }
        if (tracker_replace)
          {
            JsonArray *a = json_node_get_array (tracker_replace);
            for (guint k = 0; k + 1 < json_array_get_length (a); k += 2)
              {
                guint tier = 0;
                g_ptr_array_add (remove, tracker_url_at (t, json_array_get_int_element (a, k), &tier));
                g_ptr_array_add (add, g_strdup (json_array_get_string_element (a, k + 1)));
                g_array_append_val (add_tiers, tier);
              }
          }
        for (guint k = 0; tracker_add && k < tracker_add->len; k++)
          {
            guint tier = next_tier (t) + k;
            g_ptr_array_add (add, g_strdup (g_ptr_array_index (tracker_add, k)));
            g_array_append_val (add_tiers, tier);
          }
        for (guint k = 0; k < remove->len; k++)
          gbt_torrent_remove_tracker (t, g_ptr_array_index (remove, k));
        for (guint k = 0; k < add->len; k++)
          {
            g_autoptr(GError) e = NULL;
            if (!gbt_torrent_add_tracker (t, g_ptr_array_index (add, k),
                                          g_array_index (add_tiers, guint, k), &e))
              g_debug ("trackerAdd: %s", e->message);
          }
      }
      gbt_daemon_apply_torrent_limits (self, dt);
      dt->changed = g_get_monotonic_time () / G_USEC_PER_SEC;
    }
  gbt_daemon_changed (self);
  gbt_rpc_call_return (call, NULL, NULL);
}

/* ---- torrent-add ---- */

static gboolean
valid_base64 (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '/' && *s != '=' && !g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

static const char *
arg_string (JsonObject *args, const char *key)
{
  JsonNode *n = json_object_get_member (args, key);

  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return NULL;
}

static void
add_reply (GbtRpcCall *call, GbtDaemonTorrent *dt, gboolean duplicate)
{
  JsonObject *out = json_object_new ();
  JsonObject *t = json_object_new ();

  json_object_set_int_member (t, "id", dt->id);
  json_object_set_string_member (t, "name", gbt_torrent_get_name (dt->torrent));
  json_object_set_string_member (t, "hashString", dt->hash);
  json_object_set_object_member (out, duplicate ? "torrent-duplicate" : "torrent-added", t);
  gbt_rpc_call_return (call, NULL, out);
}

static void
add_finish (GbtRpcCall *call, GbtMetainfo *mi, GbtMagnet *magnet)
{
  GbtDaemon *self = call->daemon;
  JsonObject *args = call->args;
  const char *dir = arg_string (args, "download-dir");
  const guint8 *hash = mi ? gbt_metainfo_get_info_hash (mi) : magnet->info_hash;
  char hex[41];
  GbtDaemonTorrent *dt;
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *msg = NULL;
  FileChanges fc = { 0 };
  gboolean paused = !self->settings.start_added_torrents;
  double peer_limit = 0, prio = 0;
  gboolean has_pl, has_prio;

  for (int i = 0; i < 20; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", hash[i]);
  if ((dt = g_hash_table_lookup (self->by_hash, hex)))
    {
      add_reply (call, dt, TRUE);
      return;
    }
  if (dir == NULL)
    dir = self->settings.download_dir;
  gbt_rpc_get_bool (args, "paused", &paused, &msg);
  has_pl = gbt_rpc_get_number (args, "peer-limit", 1, 65535, &peer_limit, &msg);
  has_prio = gbt_rpc_get_number (args, "bandwidthPriority", -1, 1, &prio, &msg);
  if (msg == NULL && !g_path_is_absolute (dir))
    msg = g_strdup_printf ("download-dir must be an absolute path: %s", dir);
  if (msg == NULL && mi)
    file_changes_parse (args, gbt_metainfo_get_n_files (mi), &fc, &msg);
  if (msg)
    {
      file_changes_clear (&fc);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  t = mi ? gbt_session_add_torrent (self->session, mi, dir, &error)
         : gbt_session_add_magnet (self->session, magnet, dir, &error);
  if (t == NULL)
    {
      file_changes_clear (&fc);
      msg = g_strdup_printf ("cannot add the torrent: %s", error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  dt = gbt_daemon_adopt (self, t);
  if (file_changes_any (&fc))
    file_changes_apply (t, &fc);
  file_changes_clear (&fc);
  if (has_pl)
    gbt_torrent_set_max_peers (t, (guint) peer_limit);
  if (has_prio)
    dt->bandwidth_priority = (int) prio;
  self->current.files_added += mi ? gbt_metainfo_get_n_files (mi) : 0;
  g_message ("added %s (%s) in %s", gbt_torrent_get_name (t), dt->hash, dir);
  gbt_daemon_apply_torrent_limits (self, dt);
  if (!paused)
    gbt_daemon_start_torrent (self, dt, FALSE);
  gbt_daemon_changed (self);
  add_reply (call, dt, FALSE);
}

static void
add_bytes (GbtRpcCall *call, GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_bytes (bytes, &error);

  if (mi == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("invalid or corrupt torrent file: %s", error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  add_finish (call, mi, NULL);
}

static void
file_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtRpcCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_file_load_bytes_finish (G_FILE (source), result, NULL, &error);

  if (bytes == NULL)
    {
      g_autofree char *path = g_file_get_path (G_FILE (source));
      g_autofree char *msg = g_strdup_printf ("cannot read %s: %s", path, error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  if (g_bytes_get_size (bytes) > MAX_TORRENT_FILE)
    {
      gbt_rpc_call_return (call, "invalid or corrupt torrent file: larger than 16 MiB", NULL);
      return;
    }
  add_bytes (call, bytes);
}

static SoupSession *
http_session (void)
{
  static SoupSession *session;

  if (session == NULL)
    session = soup_session_new_with_options ("timeout", 30, "max-conns", 4, NULL);
  return session;
}

static void
url_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtRpcCall *call = user_data;
  g_autoptr(GError) error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (bytes == NULL || !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    {
      g_autofree char *text = g_strdup_printf ("cannot fetch the torrent file: %s",
                                               error ? error->message
                                                     : soup_message_get_reason_phrase (msg));
      gbt_rpc_call_return (call, text, NULL);
      return;
    }
  if (g_bytes_get_size (bytes) > MAX_TORRENT_FILE)
    {
      gbt_rpc_call_return (call, "invalid or corrupt torrent file: larger than 16 MiB", NULL);
      return;
    }
  add_bytes (call, bytes);
}

void
gbt_rpc_torrent_add (GbtRpcCall *call)
{
  const char *filename = arg_string (call->args, "filename");
  const char *metainfo = arg_string (call->args, "metainfo");

  if (metainfo)
    {
      g_autoptr(GBytes) bytes = NULL;
      guchar *raw;
      gsize len;

      if (!valid_base64 (metainfo))
        {
          gbt_rpc_call_return (call, "invalid or corrupt torrent file: metainfo is not base64", NULL);
          return;
        }
      raw = g_base64_decode (metainfo, &len);
      bytes = g_bytes_new_take (raw, len);
      add_bytes (call, bytes);
      return;
    }
  if (filename == NULL)
    {
      gbt_rpc_call_return (call, "no filename or metainfo specified", NULL);
      return;
    }
  if (g_ascii_strncasecmp (filename, "magnet:", 7) == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtMagnet) magnet = gbt_magnet_parse (filename, &error);
      if (magnet == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("invalid magnet link: %s", error->message);
          gbt_rpc_call_return (call, msg, NULL);
          return;
        }
      add_finish (call, NULL, magnet);
      return;
    }
  if (g_ascii_strncasecmp (filename, "http://", 7) == 0
      || g_ascii_strncasecmp (filename, "https://", 8) == 0)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", filename);
      const char *cookies = arg_string (call->args, "cookies");
      if (msg == NULL)
        {
          gbt_rpc_call_return (call, "invalid torrent URL", NULL);
          return;
        }
      if (cookies)
        soup_message_headers_append (soup_message_get_request_headers (msg), "Cookie", cookies);
      soup_session_send_and_read_async (http_session (), msg, G_PRIORITY_DEFAULT, NULL,
                                        url_loaded_cb, call);
      return;
    }
  {
    g_autoptr(GFile) file = g_file_new_for_path (filename);
    if (!g_path_is_absolute (filename))
      {
        gbt_rpc_call_return (call, "filename must be an absolute path, a magnet link or a URL", NULL);
        return;
      }
    g_file_load_bytes_async (file, NULL, file_loaded_cb, call);
  }
}

/* ---- torrent-remove ---- */

/* one reply for many asynchronous operations: the errors joined */
typedef struct {
  GbtRpcCall *call;
  guint pending; /* one more while they are being started */
  GString *errors;
} Batch;

static Batch *
batch_new (GbtRpcCall *call)
{
  Batch *b = g_new0 (Batch, 1);

  b->call = call;
  b->pending = 1;
  b->errors = g_string_new (NULL);
  return b;
}

static void
batch_done (Batch *b, const GError *error)
{
  if (error)
    g_string_append_printf (b->errors, "%s%s", b->errors->len ? "; " : "", error->message);
  if (--b->pending > 0)
    return;
  gbt_rpc_call_return (b->call, b->errors->len > 0 ? b->errors->str : NULL, NULL);
  g_string_free (b->errors, TRUE);
  g_free (b);
}

static void
removed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  gbt_session_remove_torrent_finish (GBT_SESSION (source), result, &error);
  batch_done (user_data, error);
}

void
gbt_rpc_torrent_remove (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, NULL);
  gboolean delete_data = FALSE;
  Batch *job;

  if (sel == NULL)
    return;
  gbt_rpc_get_bool (call->args, "delete-local-data", &delete_data, &error);
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  job = batch_new (call);
  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      g_autoptr(GbtTorrent) t = g_object_ref (dt->torrent);
      GbtRemoveFlags flags = GBT_REMOVE_FLAGS_DELETE_RESUME;

      if (delete_data)
        flags |= GBT_REMOVE_FLAGS_DELETE_DATA;
      g_message ("removing %s%s", gbt_torrent_get_name (t), delete_data ? " and its data" : "");
      gbt_daemon_forget (self, dt);
      job->pending++;
      gbt_session_remove_torrent_async (self->session, t, flags, NULL, removed_cb, job);
    }
  batch_done (job, NULL);
}

/* ---- actions, queue ---- */

void
gbt_rpc_torrent_action (GbtRpcCall *call, const char *method)
{
  GbtDaemon *self = call->daemon;
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, NULL);

  if (sel == NULL)
    return;
  if (g_str_equal (method, "torrent-start") || g_str_equal (method, "torrent-start-now"))
    {
      gboolean now = g_str_equal (method, "torrent-start-now");
      /* queued in queue order, so the first asked does not lose its turn */
      for (guint i = 0; i < sel->len; i++)
        gbt_daemon_start_torrent (self, g_ptr_array_index (sel, i), now);
    }
  else if (g_str_equal (method, "torrent-stop"))
    for (guint i = 0; i < sel->len; i++)
      gbt_daemon_stop_torrent (self, g_ptr_array_index (sel, i));
  else if (g_str_equal (method, "torrent-reannounce"))
    for (guint i = 0; i < sel->len; i++)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        if (gbt_torrent_get_state (dt->torrent) != GBT_TORRENT_STATE_STOPPED)
          gbt_torrent_announce_now (dt->torrent);
      }
  else if (g_str_equal (method, "torrent-verify"))
    {
      for (guint i = 0; i < sel->len; i++)
        {
          GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
          if (gbt_torrent_has_metadata (dt->torrent))
            {
#ifdef HAVE_GBT_TORRENT_VERIFY
              gbt_torrent_verify (dt->torrent);
#else
              gbt_rpc_call_return (call, "torrent-verify is not available in this build", NULL);
              return;
#endif
            }
        }
    }
  gbt_rpc_call_return (call, NULL, NULL);
}

static gint
by_position (gconstpointer a, gconstpointer b)
{
  const GbtDaemonTorrent *x = *(GbtDaemonTorrent *const *) a;
  const GbtDaemonTorrent *y = *(GbtDaemonTorrent *const *) b;

  return x->queue_position < y->queue_position ? -1 : x->queue_position > y->queue_position;
}

void
gbt_rpc_queue_move (GbtRpcCall *call, const char *method)
{
  GbtDaemon *self = call->daemon;
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, NULL);
  int n;

  if (sel == NULL)
    return;
  g_ptr_array_sort (sel, by_position);
  n = (int) self->torrents->len;
  if (g_str_equal (method, "queue-move-top"))
    for (int i = (int) sel->len - 1; i >= 0; i--) /* the first stays first */
      gbt_daemon_queue_move (self, g_ptr_array_index (sel, i), 0);
  else if (g_str_equal (method, "queue-move-bottom"))
    for (guint i = 0; i < sel->len; i++)
      gbt_daemon_queue_move (self, g_ptr_array_index (sel, i), n - 1);
  else if (g_str_equal (method, "queue-move-up"))
    for (guint i = 0; i < sel->len; i++)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        gbt_daemon_queue_move (self, dt, (int) dt->queue_position - 1);
      }
  else
    for (int i = (int) sel->len - 1; i >= 0; i--)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        gbt_daemon_queue_move (self, dt, (int) dt->queue_position + 1);
      }
  gbt_rpc_call_return (call, NULL, NULL);
}

/* ---- set-location, rename-path ---- */

#ifdef HAVE_GBT_TORRENT_MOVE

static void
moved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  gbt_torrent_move_data_finish (GBT_TORRENT (source), result, &error);
  batch_done (user_data, error);
}

void
gbt_rpc_torrent_set_location (GbtRpcCall *call)
{
  g_autofree char *error = NULL;
  const char *location = arg_string (call->args, "location");
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, NULL);
  gboolean move = FALSE;
  Batch *job;

  if (sel == NULL)
    return;
  gbt_rpc_get_bool (call->args, "move", &move, &error);
  if (error == NULL && (location == NULL || !g_path_is_absolute (location)))
    error = g_strdup ("\"location\" must be an absolute path");
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  job = batch_new (call);
  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      job->pending++;
      gbt_torrent_move_data_async (dt->torrent, location, move, NULL, moved_cb, job);
    }
  batch_done (job, NULL);
}

typedef struct {
  GbtRpcCall *call;
  guint id;
  char *path, *name;
} RenameJob;

static void
renamed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RenameJob *job = user_data;
  g_autoptr(GError) error = NULL;
  GbtRpcCall *call = job->call;

  if (!gbt_torrent_rename_path_finish (GBT_TORRENT (source), result, &error))
    gbt_rpc_call_return (call, error->message, NULL);
  else
    {
      JsonObject *out = json_object_new ();
      json_object_set_string_member (out, "path", job->path);
      json_object_set_string_member (out, "name", job->name);
      json_object_set_int_member (out, "id", job->id);
      gbt_rpc_call_return (call, NULL, out);
    }
  g_free (job->path);
  g_free (job->name);
  g_free (job);
}

void
gbt_rpc_torrent_rename_path (GbtRpcCall *call)
{
  const char *path = arg_string (call->args, "path");
  const char *name = arg_string (call->args, "name");
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, NULL);
  RenameJob *job;
  GbtDaemonTorrent *dt;

  if (sel == NULL)
    return;
  if (sel->len != 1)
    {
      gbt_rpc_call_return (call, "torrent-rename-path requires 1 torrent", NULL);
      return;
    }
  if (path == NULL || name == NULL)
    {
      gbt_rpc_call_return (call, "torrent-rename-path needs \"path\" and \"name\"", NULL);
      return;
    }
  dt = g_ptr_array_index (sel, 0);
  job = g_new0 (RenameJob, 1);
  job->call = call;
  job->id = dt->id;
  job->path = g_strdup (path);
  job->name = g_strdup (name);
  gbt_torrent_rename_path_async (dt->torrent, path, name, NULL, renamed_cb, job);
}
#else
void
gbt_rpc_torrent_set_location (GbtRpcCall *call)
{
  gbt_rpc_call_return (call, "torrent-set-location is not available in this build", NULL);
}

void
gbt_rpc_torrent_rename_path (GbtRpcCall *call)
{
  gbt_rpc_call_return (call, "torrent-rename-path is not available in this build", NULL);
}
#endif
