/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deleting a removed torrent's files, on a worker: its downloaded files
 * and the directories of a multi-file torrent left empty, and the files
 * gbt keeps for it (resume data, parts of skipped files, a magnet's
 * metadata).  Paths come from the metainfo, which sanitised them, so
 * nothing outside the download directory is touched.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "gbt-resume.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"

typedef struct {
  GPtrArray *files; /* char*: unlinked; a missing one is no error */
  GPtrArray *dirs;  /* char*: removed when empty, deepest first */
} DeleteJob;

static void
delete_job_free (DeleteJob *job)
{
  g_ptr_array_unref (job->files);
  g_ptr_array_unref (job->dirs);
  g_free (job);
}

static void
delete_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  DeleteJob *job = task_data;
  GError *error = NULL;

  for (guint i = 0; i < job->files->len; i++)
    {
      const char *path = g_ptr_array_index (job->files, i);
      if (g_unlink (path) != 0 && errno != ENOENT && error == NULL)
        {
          int e = errno;
          error = g_error_new (G_IO_ERROR, g_io_error_from_errno (e), "cannot delete %s: %s", path,
                               g_strerror (e));
        }
    }
  /* directories only when empty: a user's own files in them stay */
  for (guint i = 0; i < job->dirs->len; i++)
    g_rmdir (g_ptr_array_index (job->dirs, i));
  if (error)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* the directories between @path's and @top (included), deepest first */
static void
add_parent_dirs (GHashTable *dirs, const char *path, const char *top)
{
  g_autofree char *dir = g_path_get_dirname (path);

  while (g_str_has_prefix (dir, top) && strlen (dir) >= strlen (top))
    {
      char *up;
      g_hash_table_add (dirs, g_strdup (dir));
      if (strcmp (dir, top) == 0)
        break;
      up = g_path_get_dirname (dir);
      g_free (dir);
      dir = up;
    }
}

static int
deepest_first (gconstpointer a, gconstpointer b)
{
  gsize la = strlen (*(const char *const *) a), lb = strlen (*(const char *const *) b);
  return la < lb ? 1 : la > lb ? -1 : 0;
}

void
gbt_torrent_delete_files_async (GbtTorrent *self, gboolean data, gboolean resume,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  DeleteJob *job = g_new0 (DeleteJob, 1);
  g_autoptr(GHashTable) dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;

  job->files = g_ptr_array_new_with_free_func (g_free);
  job->dirs = g_ptr_array_new_with_free_func (g_free);
  if (data && self->metainfo)
    {
      GbtMetainfo *mi = self->metainfo;
      g_autofree char *top = NULL;

      /* the names as renamed (gbt_torrent_rename_path_async()) */
      if (gbt_metainfo_is_multi_file (mi))
        top = g_build_filename (self->download_dir, gbt_torrent_get_name (self), NULL);
      for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
          g_autofree char *rel = NULL;
          char *path;

          if (f->attr & GBT_FILE_ATTR_PAD)
            continue;
          rel = gbt_torrent_dup_file_path (self, i);
          path = g_build_filename (self->download_dir, rel, NULL);
          if (top)
            add_parent_dirs (dirs, path, top);
          g_ptr_array_add (job->files, path);
        }
    }
  if (resume)
    {
      g_autofree char *sidecars = g_build_filename (self->download_dir, ".gbt", NULL);
      g_ptr_array_add (job->files, g_strdup (self->resume_path));
      g_ptr_array_add (job->files, gbt_resume_sidecar_path (self->download_dir, self->info_hash,
                                                            ".parts"));
      g_ptr_array_add (job->files, gbt_resume_sidecar_path (self->download_dir, self->info_hash,
                                                            ".info"));
      g_hash_table_add (dirs, g_steal_pointer (&sidecars));
    }
  g_hash_table_iter_init (&iter, dirs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (job->dirs, key);
    }
  g_ptr_array_sort (job->dirs, deepest_first);
  g_task_set_source_tag (task, gbt_torrent_delete_files_async);
  g_task_set_task_data (task, job, (GDestroyNotify) delete_job_free);
  g_task_run_in_thread (task, delete_thread);
}

gboolean
gbt_torrent_delete_files_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
