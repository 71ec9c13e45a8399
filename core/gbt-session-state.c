/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state directory of a session:
 *
 *   DIR/session.ini          the torrents: one group per info-hash with its
 *                            download directory, settings, whether it ran,
 *                            when it was added, file priorities, trackers
 *   DIR/torrents/HEX.torrent its metadata (a .torrent any client reads)
 *   DIR/resume/HEX.resume    its resume data (written by the torrent)
 *
 * Every file is written atomically (g_file_set_contents: a temporary file
 * renamed over the old one), so a kill at any moment leaves the old state
 * or the new one.  Saves are coalesced (one a second at most) and made on
 * a worker; a generation number under a lock keeps a slow worker from
 * writing over a newer state.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-torrent.h>

#include "gbt-hash.h"
#include "gbt-session-private.h"
#include "gbt-session-state.h"
#include "gbt-torrent-private.h"

#define STATE_FILE "session.ini"
#define STATE_VERSION 1
#define SAVE_DELAY_MS 1000

/* shared with the workers, which may outlive the session */
typedef struct {
  gatomicrefcount ref;
  GMutex lock;
  guint64 written; /* generation on disk */
  GHashTable *meta_on_disk; /* "HEX.torrent" names known written */
} Writer;

struct _GbtSessionState {
  GbtSession *session; /* not owned: it owns us */
  char *directory;
  Writer *writer;
  guint64 generation;
  GSource *pending;
  gboolean loading; /* adding the saved torrents: their changes are no news */
  /* each torrent's group of session.ini as last written, by info-hash: a
   * save encodes only the torrents that changed (GKeyFile takes a few
   * microseconds a key: 10,000 torrents were 0.6 s on the main thread) */
  GHashTable *groups;
};

typedef struct {
  Writer *writer;
  guint64 generation;
  char *path;
  char *contents;
  gsize length;
  GPtrArray *metadata; /* pairs: path, GBytes (written when missing) */
  char *metadata_dir;
  GHashTable *keep; /* base names in metadata_dir of the torrents saved */
} SaveJob;

static Writer *
writer_ref (Writer *w)
{
  g_atomic_ref_count_inc (&w->ref);
  return w;
}

static void
writer_unref (Writer *w)
{
  if (g_atomic_ref_count_dec (&w->ref))
    {
      g_mutex_clear (&w->lock);
      g_hash_table_unref (w->meta_on_disk);
      g_free (w);
    }
}

static void
save_job_free (SaveJob *job)
{
  writer_unref (job->writer);
  g_free (job->path);
  g_free (job->contents);
  g_ptr_array_unref (job->metadata);
  g_free (job->metadata_dir);
  g_hash_table_unref (job->keep);
  g_free (job);
}

static gboolean
save_job_run (SaveJob *job, GError **error)
{
  gboolean ok = TRUE;

  for (guint i = 0; i + 1 < job->metadata->len; i += 2)
    {
      const char *path = g_ptr_array_index (job->metadata, i);
      GBytes *bytes = g_ptr_array_index (job->metadata, i + 1);
      g_autofree char *dir = g_path_get_dirname (path);

      if (!g_file_test (path, G_FILE_TEST_EXISTS)
          && (g_mkdir_with_parents (dir, 0700) != 0
              || !g_file_set_contents (path, g_bytes_get_data (bytes, NULL),
                                       g_bytes_get_size (bytes), error)))
        {
          if (error && *error == NULL)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
          return FALSE;
        }
      /* later saves need not encode it again */
      g_mutex_lock (&job->writer->lock);
      g_hash_table_add (job->writer->meta_on_disk, g_path_get_basename (path));
      g_mutex_unlock (&job->writer->lock);
    }
  g_mutex_lock (&job->writer->lock);
  if (job->generation > job->writer->written)
    {
      g_autofree char *dir = g_path_get_dirname (job->path);
      ok = g_mkdir_with_parents (dir, 0700) == 0
           && g_file_set_contents (job->path, job->contents, job->length, error);
      if (ok)
        {
          g_autoptr(GDir) listing = g_dir_open (job->metadata_dir, 0, NULL);
          const char *name;

          job->writer->written = job->generation;
          /* the metadata of torrents no longer in the state goes too (a
           * removed torrent; a save that failed halfway left nothing
           * else) */
          while (listing && (name = g_dir_read_name (listing)))
            if (g_str_has_suffix (name, ".torrent") && !g_hash_table_contains (job->keep, name))
              {
                g_autofree char *path = g_build_filename (job->metadata_dir, name, NULL);
                g_unlink (path);
                g_hash_table_remove (job->writer->meta_on_disk, name);
              }
        }
      else if (error && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
    }
  g_mutex_unlock (&job->writer->lock);
  return ok;
}

static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (save_job_run (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("cannot save the session state: %s", error->message);
}

/* a .torrent of the metainfo's info dictionary and trackers */
static GBytes *
torrent_file_bytes (GbtMetainfo *mi)
{
  GByteArray *out = g_byte_array_new ();
  GBytes *info = gbt_metainfo_get_info_bytes (mi);
  guint n_tiers = gbt_metainfo_get_n_tiers (mi);

  gbt_bencode_write_dict_start (out);
  if (n_tiers > 0 && gbt_metainfo_get_tier (mi, 0)[0])
    {
      gbt_bencode_write_str (out, "announce");
      gbt_bencode_write_str (out, gbt_metainfo_get_tier (mi, 0)[0]);
      gbt_bencode_write_str (out, "announce-list");
      gbt_bencode_write_list_start (out);
      for (guint t = 0; t < n_tiers; t++)
        {
          const char *const *tier = gbt_metainfo_get_tier (mi, t);
          gbt_bencode_write_list_start (out);
          for (guint i = 0; tier[i]; i++)
            gbt_bencode_write_str (out, tier[i]);
          gbt_bencode_write_end (out);
        }
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_str (out, "info");
  g_byte_array_append (out, g_bytes_get_data (info, NULL), g_bytes_get_size (info));
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (out);
}

static char *
metadata_path (GbtSessionState *state, const char *hex)
{
  g_autofree char *name = g_strconcat (hex, ".torrent", NULL);
  return g_build_filename (state->directory, "torrents", name, NULL);
}

static SaveJob *
save_job_new (GbtSessionState *state)
{
  GListModel *torrents = gbt_session_get_torrents (state->session);
  guint n = g_list_model_get_n_items (torrents);
  GString *contents = g_string_new ("[session]\n");
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  SaveJob *job = g_new0 (SaveJob, 1);

  job->writer = writer_ref (state->writer);
  job->generation = ++state->generation;
  job->path = g_build_filename (state->directory, STATE_FILE, NULL);
  job->metadata = g_ptr_array_new ();
  g_ptr_array_set_free_func (job->metadata, NULL);
  job->metadata_dir = g_build_filename (state->directory, "torrents", NULL);
  job->keep = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_string_append_printf (contents, "version=%d\n", STATE_VERSION);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (torrents, i);
      g_autofree char *hex = gbt_torrent_dup_info_hash_hex (t);
      g_autofree char *group = g_strconcat ("torrent ", hex, NULL);
      GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
      g_autoptr(GKeyFile) kf = NULL;
      gpointer key = NULL, text = NULL;

      if (g_hash_table_steal_extended (state->groups, hex, &key, &text))
        {
          g_free (key);
          g_string_append_c (contents, '\n');
          g_string_append (contents, text);
          g_hash_table_insert (groups, g_strdup (hex), text);
          goto metadata;
        }
      kf = g_key_file_new ();

      g_key_file_set_string (kf, group, "name", gbt_torrent_get_name (t));
      g_key_file_set_string (kf, group, "download-dir", gbt_torrent_get_download_dir (t));
      g_key_file_set_int64 (kf, group, "added-time", gbt_torrent_get_added_time (t));
      g_key_file_set_boolean (kf, group, "running", gbt_torrent_get_runs (t));
      g_key_file_set_uint64 (kf, group, "download-limit", gbt_torrent_get_download_limit (t));
      g_key_file_set_uint64 (kf, group, "upload-limit", gbt_torrent_get_upload_limit (t));
      g_key_file_set_integer (kf, group, "max-peers", (int) gbt_torrent_get_max_peers (t));
      g_key_file_set_double (kf, group, "seed-ratio-limit", gbt_torrent_get_seed_ratio_limit (t));
      g_key_file_set_uint64 (kf, group, "seed-time-limit", gbt_torrent_get_seed_time_limit (t));
      g_key_file_set_boolean (kf, group, "sequential", gbt_torrent_get_sequential (t));
      gbt_torrent_save_extra_state (t, kf, group);
      if (mi == NULL)
        gbt_torrent_save_magnet_state (t, kf, group);
      text = g_key_file_to_data (kf, NULL, NULL);
      g_string_append_c (contents, '\n');
      g_string_append (contents, text);
      g_hash_table_insert (groups, g_strdup (hex), text);
    metadata:;
      g_autofree char *meta_name = g_strconcat (hex, ".torrent", NULL);
      gboolean on_disk;

      g_hash_table_add (job->keep, g_strdup (meta_name));
      /* the info dictionary is encoded once, not at every save: a thousand
       * torrents' metadata is megabytes of copying on the main thread */
      g_mutex_lock (&state->writer->lock);
      on_disk = g_hash_table_contains (state->writer->meta_on_disk, meta_name);
      g_mutex_unlock (&state->writer->lock);
      if (mi && !on_disk)
        {
          g_ptr_array_add (job->metadata, metadata_path (state, hex));
          g_ptr_array_add (job->metadata, torrent_file_bytes (mi));
        }
    }
  /* the torrents gone leave their groups behind */
  g_hash_table_unref (state->groups);
  state->groups = groups;
  job->length = contents->len;
  job->contents = g_string_free (contents, FALSE);
  return job;
}

static void
save_job_free_full (SaveJob *job)
{
  for (guint i = 0; i + 1 < job->metadata->len; i += 2)
    {
      g_free (g_ptr_array_index (job->metadata, i));
      g_bytes_unref (g_ptr_array_index (job->metadata, i + 1));
    }
  save_job_free (job);
}

static gboolean
pending_cb (gpointer user_data)
{
  GbtSessionState *state = user_data;
  g_autoptr(GTask) task = g_task_new (NULL, NULL, save_done_cb, NULL);

  g_clear_pointer (&state->pending, g_source_unref);
  g_task_set_task_data (task, save_job_new (state), (GDestroyNotify) save_job_free_full);
  g_task_run_in_thread (task, save_thread);
  return G_SOURCE_REMOVE;
}

GbtSessionState *
gbt_session_state_new (GbtSession *session, const char *directory)
{
  GbtSessionState *state = g_new0 (GbtSessionState, 1);

  state->session = session;
  state->directory = g_strdup (directory);
  state->writer = g_new0 (Writer, 1);
  g_atomic_ref_count_init (&state->writer->ref);
  state->writer->meta_on_disk = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  state->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&state->writer->lock);
  return state;
}

void
gbt_session_state_free (GbtSessionState *state)
{
  if (state->pending)
    {
      g_source_destroy (state->pending);
      g_clear_pointer (&state->pending, g_source_unref);
    }
  writer_unref (state->writer);
  g_hash_table_unref (state->groups);
  g_free (state->directory);
  g_free (state);
}

const char *
gbt_session_state_get_directory (GbtSessionState *state)
{
  return state->directory;
}

void
gbt_session_state_torrent_changed (GbtSessionState *state, GbtTorrent *torrent)
{
  if (torrent)
    {
      g_autofree char *hex = gbt_torrent_dup_info_hash_hex (torrent);
      g_hash_table_remove (state->groups, hex);
    }
  gbt_session_state_schedule_save (state);
}

void
gbt_session_state_schedule_save (GbtSessionState *state)
{
  if (state->pending || state->loading)
    return;
  state->pending = g_timeout_source_new (SAVE_DELAY_MS);
  g_source_set_callback (state->pending, pending_cb, state, NULL);
  g_source_attach (state->pending, g_main_context_get_thread_default ());
}

gboolean
gbt_session_state_save (GbtSessionState *state, GError **error)
{
  SaveJob *job;
  gboolean ok;

  if (state->pending)
    {
      g_source_destroy (state->pending);
      g_clear_pointer (&state->pending, g_source_unref);
    }
  job = save_job_new (state);
  ok = save_job_run (job, error);
  save_job_free_full (job);
  return ok;
}

/* now, on a worker: what a caller that must know the state is on disk
 * waits for (the daemon's reply to a stop) */
void
gbt_session_state_save_async (GbtSessionState *state, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, callback, user_data);

  if (state->pending)
    {
      g_source_destroy (state->pending);
      g_clear_pointer (&state->pending, g_source_unref);
    }
  g_task_set_source_tag (task, gbt_session_state_save_async);
  g_task_set_task_data (task, save_job_new (state), (GDestroyNotify) save_job_free_full);
  g_task_run_in_thread (task, save_thread);
}

void
gbt_session_state_flush (GbtSessionState *state)
{
  g_autoptr(GError) error = NULL;

  if (state->pending && !gbt_session_state_save (state, &error))
    g_warning ("cannot save the session state: %s", error->message);
}

/* ---- loading ---- */

static GbtTorrent *
load_one (GbtSessionState *state, GKeyFile *kf, const char *group, GError **error)
{
  const char *hex = group + strlen ("torrent ");
  g_autofree char *dir = g_key_file_get_string (kf, group, "download-dir", error);
  g_autofree char *meta = NULL;
  GbtTorrent *t = NULL;
  guint8 info_hash[20];

  if (dir == NULL)
    return NULL;
  if (!gbt_sha1_from_hex (hex, info_hash))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "“%s” is not an info-hash", hex);
      return NULL;
    }
  meta = metadata_path (state, hex);
  if (g_file_test (meta, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_file (meta, error);
      if (mi == NULL)
        return NULL;
      if (memcmp (gbt_metainfo_get_info_hash (mi), info_hash, 20) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s is not the metadata of %s", meta, hex);
          return NULL;
        }
      t = gbt_session_add_torrent (state->session, mi, dir, error);
    }
  else
    {
      GbtMagnet magnet = { 0 };
      g_autofree char *name = g_key_file_get_string (kf, group, "name", NULL);
      g_auto(GStrv) trackers = g_key_file_get_string_list (kf, group, "magnet-trackers", NULL, NULL);
      g_auto(GStrv) peers = g_key_file_get_string_list (kf, group, "magnet-peers", NULL, NULL);
      char *empty[] = { NULL };

      memcpy (magnet.info_hash, info_hash, 20);
      magnet.display_name = name;
      magnet.trackers = trackers ? trackers : empty;
      magnet.peers = peers ? peers : empty;
      t = gbt_session_add_magnet (state->session, &magnet, dir, error);
    }
  if (t == NULL)
    return NULL;
  gbt_torrent_load_state (t, kf, group);
  return t;
}

gboolean
gbt_session_state_load (GbtSessionState *state, GError **error)
{
  g_autofree char *path = g_build_filename (state->directory, STATE_FILE, NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) groups = NULL;
  g_autoptr(GPtrArray) to_start = g_ptr_array_new_with_free_func (g_object_unref);

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                   "cannot read the session state %s: %s", path, local->message);
      return FALSE;
    }
  if (g_key_file_get_integer (kf, "session", "version", NULL) != STATE_VERSION)
    {
      g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                   "%s is not a gbt session state of version %d", path, STATE_VERSION);
      return FALSE;
    }
  state->loading = TRUE;
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      g_autoptr(GError) e = NULL;
      GbtTorrent *t;

      if (!g_str_has_prefix (groups[i], "torrent "))
        continue;
      t = load_one (state, kf, groups[i], &e);
      if (t == NULL && g_error_matches (e, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT))
        continue; /* loaded already */
      if (t == NULL)
        {
          g_message ("session state: skipping %s: %s", groups[i] + strlen ("torrent "),
                     e ? e->message : "unknown error");
          continue;
        }
      if (g_key_file_get_boolean (kf, groups[i], "running", NULL))
        g_ptr_array_add (to_start, t);
      else
        {
          /* shows what it has without running */
          gbt_torrent_peek_resume (t);
          g_object_unref (t);
        }
    }
  state->loading = FALSE;
  for (guint i = 0; i < to_start->len; i++)
    gbt_torrent_start (g_ptr_array_index (to_start, i));
  return TRUE;
}
