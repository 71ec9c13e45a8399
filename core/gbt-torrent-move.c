/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What Transmission's torrent-verify, torrent-set-location and
 * torrent-rename-path ask of a torrent.
 *
 * Verify: the check of gbt-torrent-check.c with no piece trusted from the
 * resume data.  A running torrent is stopped and started again for it (as
 * Transmission does); a stopped one is checked and stopped again, its
 * resume data saved with what was found.
 *
 * Move and rename pause the torrent (stop, change, start again if it ran),
 * so no disk worker, upload or resume save touches a file while it moves.
 * The disk work runs on a worker; the torrent's paths change on the main
 * loop only once it succeeded, and the session's state is saved after
 * (about a second later).  A move that fails half way puts back what it
 * had moved: nothing is lost.  Killed in between, the state names the old
 * place and the check at the next start finds what is there.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gbt/gbt-file.h>
#include <gbt/gbt-torrent.h>

#include "gbt-file-private.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"

#define WAIT_POLL_MS 20

/* ---- paths ---- */

char *
gbt_torrent_dup_file_path (GbtTorrent *self, guint index)
{
  return self->storage ? gbt_storage_dup_path (self->storage, index) : NULL;
}

void
gbt_torrent_move_finalize (GbtTorrent *self)
{
  g_free (self->renamed_name);
}

/* @path relative, no empty, "." or ".." component */
static gboolean
relative_path_ok (const char *path)
{
  g_auto(GStrv) parts = NULL;

  if (path == NULL || *path == '\0' || *path == '/')
    return FALSE;
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i]; i++)
    if (*parts[i] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
      return FALSE;
  return TRUE;
}

/* the files' paths and the name, after a rename or restored from the state */
static void
apply_paths (GbtTorrent *self, const char *const *paths, const char *name)
{
  guint n = gbt_metainfo_get_n_files (self->metainfo);
  gboolean name_changed = g_strcmp0 (name, gbt_torrent_get_name (self)) != 0;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *now = gbt_storage_dup_path (self->storage, i);

      if (strcmp (now, paths[i]) == 0)
        continue;
      gbt_storage_set_path (self->storage, i, paths[i]);
      if (self->files && i < g_list_model_get_n_items (G_LIST_MODEL (self->files)))
        {
          g_autoptr(GbtFile) f = g_list_model_get_item (G_LIST_MODEL (self->files), i);
          gbt_file_update_path (f, paths[i]);
        }
    }
  if (name_changed)
    {
      g_free (self->renamed_name);
      self->renamed_name = strcmp (name, gbt_metainfo_get_name (self->metainfo)) == 0
                               ? NULL
                               : g_strdup (name);
      gbt_torrent_notify (self, GBT_TORRENT_PROP_NAME);
    }
}

void
gbt_torrent_save_rename_state (GbtTorrent *self, GKeyFile *kf, const char *group)
{
  guint n = gbt_metainfo_get_n_files (self->metainfo);
  g_auto(GStrv) paths = gbt_storage_dup_paths (self->storage);
  gboolean renamed = self->renamed_name != NULL;

  for (guint i = 0; !renamed && i < n; i++)
    renamed = strcmp (paths[i], gbt_metainfo_get_file (self->metainfo, i)->path) != 0;
  /* the usual case says nothing */
  if (!renamed)
    return;
  g_key_file_set_string (kf, group, "renamed-name", gbt_torrent_get_name (self));
  g_key_file_set_string_list (kf, group, "file-paths", (const char *const *) paths, n);
}

void
gbt_torrent_load_rename_state (GbtTorrent *self, GKeyFile *kf, const char *group)
{
  g_autofree char *name = NULL;
  g_auto(GStrv) paths = NULL;
  gsize n = 0;

  if (self->metainfo == NULL || !g_key_file_has_key (kf, group, "file-paths", NULL))
    return;
  name = g_key_file_get_string (kf, group, "renamed-name", NULL);
  paths = g_key_file_get_string_list (kf, group, "file-paths", &n, NULL);
  /* a list for another torrent, or a path that would leave the directory:
   * the metainfo's names */
  if (paths == NULL || n != gbt_metainfo_get_n_files (self->metainfo) || name == NULL
      || *name == '\0' || strchr (name, '/') || strcmp (name, ".") == 0
      || strcmp (name, "..") == 0)
    return;
  for (gsize i = 0; i < n; i++)
    if (!relative_path_ok (paths[i]))
      return;
  apply_paths (self, (const char *const *) paths, name);
}

/* ---- pausing the torrent ---- */

typedef void (*PausedFunc) (GbtTorrent *self, gpointer data);

typedef struct {
  GbtTorrent *self; /* a reference */
  PausedFunc func;
  gpointer data;
} Pause;

static gboolean
is_paused (GbtTorrent *self)
{
  return !self->stop_running && !self->files_sync_running
         && (self->state == GBT_TORRENT_STATE_STOPPED
             || (self->state == GBT_TORRENT_STATE_ERROR && self->stopping));
}

/* our own stop, told apart from the caller's */
static void
pause_stop (GbtTorrent *self, GAsyncReadyCallback callback, gpointer data)
{
  self->pausing = TRUE;
  gbt_torrent_stop_async (self, NULL, callback, data);
  self->pausing = FALSE;
}

static gboolean
pause_poll_cb (gpointer user_data)
{
  Pause *p = user_data;

  if (!is_paused (p->self))
    {
      /* a stop of the caller's under way: ours follows once it is over */
      if (p->self->stop_running || p->self->files_sync_running)
        return G_SOURCE_CONTINUE;
      pause_stop (p->self, NULL, NULL);
      return G_SOURCE_CONTINUE;
    }
  p->func (p->self, p->data);
  g_object_unref (p->self);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void
paused_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Pause *p = user_data;

  gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL);
  if (!is_paused (p->self))
    {
      g_timeout_add (WAIT_POLL_MS, pause_poll_cb, p);
      return;
    }
  pause_poll_cb (p);
}

/* @func once the torrent is stopped, its disk workers and resume saves
 * over; stops it when it runs */
static void
when_paused (GbtTorrent *self, PausedFunc func, gpointer data)
{
  Pause *p = g_new0 (Pause, 1);

  p->self = g_object_ref (self);
  p->func = func;
  p->data = data;
  if (is_paused (self))
    pause_poll_cb (p);
  else if (self->stop_running || self->files_sync_running)
    g_timeout_add (WAIT_POLL_MS, pause_poll_cb, p);
  else
    pause_stop (self, paused_cb, p);
}

static gboolean
is_running (GbtTorrent *self)
{
  return !self->stop_running && !self->verify_only && self->state != GBT_TORRENT_STATE_STOPPED
         && self->state != GBT_TORRENT_STATE_ERROR;
}

/* ---- verify ---- */

/* stopped: checked, then stopped again (gbt-torrent-check.c) */
static void
verify_stopped (GbtTorrent *self)
{
  self->verify_all = TRUE;
  gbt_torrent_start (self);
  if (self->state == GBT_TORRENT_STATE_CHECKING)
    self->verify_only = TRUE;
  else
    self->verify_all = FALSE;
}

static void
verify_paused (GbtTorrent *self, gpointer data)
{
  gboolean was_running = GPOINTER_TO_INT (data);

  self->verify_restart = FALSE;
  /* stopped by the caller meanwhile: stays so, unchecked */
  if (was_running && self->stop_asked && !self->relocating)
    {
      self->stop_asked = FALSE;
      g_object_thaw_notify (G_OBJECT (self));
      return;
    }
  if (self->relocating)
    {
      /* a move or rename began meanwhile: its end verifies, and starts the
       * torrent again */
      self->verify_all = TRUE;
      if (was_running && !self->stop_asked)
        self->start_after_relocate = TRUE;
    }
  else if (was_running)
    {
      self->verify_all = TRUE;
      gbt_torrent_start (self);
    }
  else
    verify_stopped (self);
  /* a running torrent is seen going from its state to CHECKING */
  if (was_running)
    g_object_thaw_notify (G_OBJECT (self));
}

void
gbt_torrent_verify (GbtTorrent *self)
{
  g_return_if_fail (GBT_IS_TORRENT (self));

  /* nothing to check before the metadata; a stopped torrent's verify is
   * already checking everything */
  if (self->metainfo == NULL || self->session == NULL || self->verify_restart
      || (self->state == GBT_TORRENT_STATE_CHECKING && self->verify_only))
    return;
  if (self->relocating)
    {
      self->verify_all = TRUE;
      return;
    }
  if (is_running (self))
    {
      /* the stop before the check is no news: one notify::state, CHECKING,
       * once it starts again (and the session state says it runs) */
      self->verify_restart = TRUE;
      g_object_freeze_notify (G_OBJECT (self));
      when_paused (self, verify_paused, GINT_TO_POINTER (TRUE));
    }
  else
    when_paused (self, verify_paused, GINT_TO_POINTER (FALSE));
}

double
gbt_torrent_get_check_progress (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  if (self->state != GBT_TORRENT_STATE_CHECKING || self->check_total == 0)
    return 0;
  return MIN (1.0, (double) self->check_done / self->check_total);
}

/* ---- moving and renaming on a worker ---- */

typedef struct {
  char *src, *dst;
} Pair;

static void
pair_free (gpointer p)
{
  Pair *pair = p;
  g_free (pair->src);
  g_free (pair->dst);
  g_free (pair);
}

typedef enum { OP_MOVE, OP_RENAME } OpKind;

typedef struct {
  OpKind kind;
  gboolean was_running;
  gboolean copy; /* GBT_MOVE_COPY=1: copy and delete even on one file system (tests) */
  /* move */
  char *old_dir, *new_dir;
  gboolean move;
  GPtrArray *pairs;    /* Pair: the files to move, full paths */
  GPtrArray *old_dirs; /* char*: left behind, removed when empty, deepest first */
  char *new_resume;    /* the resume file's path once moved (NULL: it stays) */
  /* rename */
  char *src, *dst;     /* full paths on disk */
  GStrv new_paths;     /* every file's path after it */
  char *new_name;      /* the torrent's name after it */
} Op;

static void
op_free (gpointer p)
{
  Op *op = p;

  g_free (op->old_dir);
  g_free (op->new_dir);
  g_clear_pointer (&op->pairs, g_ptr_array_unref);
  g_clear_pointer (&op->old_dirs, g_ptr_array_unref);
  g_free (op->new_resume);
  g_free (op->src);
  g_free (op->dst);
  g_strfreev (op->new_paths);
  g_free (op->new_name);
  g_free (op);
}

gboolean
gbt_torrent_get_runs (GbtTorrent *self)
{
  if (self->verify_restart)
    return !self->stop_asked;
  /* paused for a move or rename: it runs again after */
  if (self->relocating)
    {
      Op *op = g_task_get_task_data (self->relocating);
      return self->start_after_relocate || (op->was_running && !self->stop_asked);
    }
  return is_running (self);
}

static void
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "cannot %s %s: %s", what, path,
               g_strerror (errsv));
}

/* @dst must not exist: renameat2's RENAME_NOREPLACE, or a check before
 * rename(2) where the file system lacks it */
static int
rename_noreplace (const char *src, const char *dst)
{
  struct stat st;

  if (renameat2 (AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS)
    return -1;
  if (lstat (dst, &st) == 0)
    {
      errno = EEXIST;
      return -1;
    }
  return rename (src, dst);
}

/* the directories between @path's and @top (excluded), deepest first */
static void
add_dirs_below (GPtrArray *dirs, GHashTable *seen, const char *path, const char *top)
{
  g_autofree char *dir = g_path_get_dirname (path);
  gsize top_len = strlen (top);

  while (strlen (dir) > top_len && g_str_has_prefix (dir, top) && dir[top_len] == '/')
    {
      char *up;

      if (!g_hash_table_contains (seen, dir))
        {
          g_hash_table_add (seen, g_strdup (dir));
          g_ptr_array_add (dirs, g_strdup (dir));
        }
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

static void
remove_empty_dirs (GPtrArray *dirs)
{
  g_ptr_array_sort (dirs, deepest_first);
  for (guint i = 0; i < dirs->len; i++)
    g_rmdir (g_ptr_array_index (dirs, i));
}

static gboolean
copy_file (const char *src, const char *dst, GCancellable *cancellable, GError **error)
{
  g_autoptr(GFile) from = g_file_new_for_path (src);
  g_autoptr(GFile) to = g_file_new_for_path (dst);
  g_autoptr(GError) local = NULL;

  /* the modification time goes along: the resume data still vouches for
   * the file if the file system keeps it to the nanosecond, else its
   * pieces are hashed again at the start */
  if (g_file_copy (from, to, G_FILE_COPY_NOFOLLOW_SYMLINKS, cancellable, NULL, NULL, &local))
    return TRUE;
  g_unlink (dst);
  g_set_error (error, local->domain, local->code, "cannot copy %s to %s: %s", src, dst,
               local->message);
  return FALSE;
}

typedef struct {
  Pair *pair;
  gboolean copied; /* else renamed */
} Done;

static void
move_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Op *op = task_data;
  g_autoptr(GArray) done = g_array_new (FALSE, FALSE, sizeof (Done));
  g_autoptr(GPtrArray) new_dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GError *error = NULL;
  struct stat a, b;

  /* the same directory under another name: nothing moves */
  if (stat (op->old_dir, &a) == 0 && stat (op->new_dir, &b) == 0 && a.st_dev == b.st_dev
      && a.st_ino == b.st_ino)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  /* a file in the way is found before anything moves (and again as each
   * one moves, should one appear meanwhile) */
  for (guint i = 0; i < op->pairs->len; i++)
    {
      Pair *pair = g_ptr_array_index (op->pairs, i);
      struct stat st;

      if (lstat (pair->src, &st) == 0 && lstat (pair->dst, &st) == 0)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_EXISTS,
                                   "cannot move %s to %s: %s", pair->src, pair->dst,
                                   g_strerror (EEXIST));
          return;
        }
    }
  if (g_mkdir_with_parents (op->new_dir, 0777) < 0)
    {
      set_errno_error (&error, errno, "create directory", op->new_dir);
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < op->pairs->len && error == NULL; i++)
    {
      Pair *pair = g_ptr_array_index (op->pairs, i);
      g_autofree char *parent = g_path_get_dirname (pair->dst);
      Done d = { pair, FALSE };
      struct stat st;

      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        break;
      /* not on disk (never downloaded, or skipped): nothing to move */
      if (lstat (pair->src, &st) != 0)
        {
          if (errno == ENOENT)
            continue;
          set_errno_error (&error, errno, "move", pair->src);
          break;
        }
      if (!S_ISREG (st.st_mode))
        continue;
      if (lstat (pair->dst, &st) == 0)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS, "cannot move %s to %s: %s",
                       pair->src, pair->dst, g_strerror (EEXIST));
          break;
        }
      add_dirs_below (new_dirs, seen, pair->dst, op->new_dir);
      if (g_mkdir_with_parents (parent, 0777) < 0)
        {
          set_errno_error (&error, errno, "create directory", parent);
          break;
        }
      if (!op->copy && rename_noreplace (pair->src, pair->dst) == 0)
        {
          g_array_append_val (done, d);
          continue;
        }
      if (!op->copy && errno != EXDEV)
        {
          int e = errno;
          g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (e), "cannot move %s to %s: %s",
                       pair->src, pair->dst, g_strerror (e));
          break;
        }
      /* another file system: copied now, the original deleted once all are */
      if (!copy_file (pair->src, pair->dst, cancellable, &error))
        break;
      d.copied = TRUE;
      g_array_append_val (done, d);
    }
  if (error)
    {
      /* everything back where it was */
      for (guint i = done->len; i-- > 0;)
        {
          Done *d = &g_array_index (done, Done, i);

          if (d->copied)
            g_unlink (d->pair->dst);
          else if (g_rename (d->pair->dst, d->pair->src) != 0)
            g_warning ("cannot move %s back to %s: %s", d->pair->dst, d->pair->src,
                       g_strerror (errno));
        }
      remove_empty_dirs (new_dirs);
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < done->len; i++)
    {
      Done *d = &g_array_index (done, Done, i);
      if (d->copied && g_unlink (d->pair->src) != 0 && errno != ENOENT)
        g_warning ("cannot delete %s after copying it: %s", d->pair->src, g_strerror (errno));
    }
  remove_empty_dirs (op->old_dirs);
  g_task_return_boolean (task, TRUE);
}

static void
rename_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  Op *op = task_data;
  GError *error = NULL;
  struct stat st;

  /* not on disk (never downloaded): the names change all the same */
  if (lstat (op->src, &st) != 0 && errno == ENOENT)
    {
      if (lstat (op->dst, &st) == 0)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS, "cannot rename %s to %s: %s",
                       op->src, op->dst, g_strerror (EEXIST));
          g_task_return_error (task, error);
        }
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (rename_noreplace (op->src, op->dst) != 0)
    {
      int e = errno;
      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (e), "cannot rename %s to %s: %s",
                   op->src, op->dst, g_strerror (e));
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* after the move or the rename: the torrent as it was, or checked */
static void
op_restart (GbtTorrent *self, Op *op)
{
  gboolean start = (op->was_running && !self->stop_asked) || self->start_after_relocate;

  self->relocating = NULL;
  self->start_after_relocate = FALSE;
  self->stop_asked = FALSE;
  if (start)
    gbt_torrent_start (self);
  else if (self->verify_all && self->metainfo)
    verify_stopped (self);
}

static void
op_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  GTask *outer = user_data; /* owned */
  Op *op = g_task_get_task_data (outer);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      op_restart (self, op);
      g_task_return_error (outer, error);
      g_object_unref (outer);
      return;
    }
  if (op->kind == OP_MOVE)
    {
      g_free (self->download_dir);
      self->download_dir = g_strdup (op->new_dir);
      if (self->storage)
        gbt_storage_set_download_dir (self->storage, op->new_dir);
      if (op->new_resume)
        {
          g_free (self->resume_path);
          self->resume_path = g_strdup (op->new_resume);
          gbt_resume_saver_set_path (self->saver, op->new_resume);
        }
      /* set-location without moving: the data there is checked */
      if (!op->move && self->metainfo)
        self->verify_all = TRUE;
      gbt_torrent_notify (self, GBT_TORRENT_PROP_DOWNLOAD_DIR);
    }
  else
    apply_paths (self, (const char *const *) op->new_paths, op->new_name);
  /* the session's state names the new place */
  gbt_torrent_settings_changed (self);
  op_restart (self, op);
  g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
}

static void
op_paused (GbtTorrent *self, gpointer data)
{
  GTask *outer = data;
  Op *op = g_task_get_task_data (outer);
  GTask *inner;

  /* the resume file of a torrent whose session keeps none moves with the data */
  if (op->kind == OP_MOVE && op->move)
    {
      g_autofree char *prefix = g_strconcat (op->old_dir, "/", NULL);
      const char *sidecars[] = { ".resume", ".parts", ".info" };

      for (guint i = 0; i < G_N_ELEMENTS (sidecars); i++)
        {
          g_autofree char *src = gbt_resume_sidecar_path (op->old_dir, self->info_hash,
                                                          sidecars[i]);
          Pair *pair;

          /* a session's state directory keeps its resume files: they stay */
          if (i == 0)
            {
              g_autofree char *resume = g_canonicalize_filename (self->resume_path, NULL);
              if (!g_str_has_prefix (resume, prefix) || strcmp (resume, src) != 0)
                continue;
            }
          pair = g_new0 (Pair, 1);
          pair->src = g_steal_pointer (&src);
          pair->dst = gbt_resume_sidecar_path (op->new_dir, self->info_hash, sidecars[i]);
          if (i == 0)
            op->new_resume = g_strdup (pair->dst);
          g_ptr_array_add (op->pairs, pair);
        }
      g_ptr_array_add (op->old_dirs, g_build_filename (op->old_dir, ".gbt", NULL));
    }
  inner = g_task_new (self, g_task_get_cancellable (outer), op_done_cb, outer);
  g_task_set_task_data (inner, op, NULL);
  if (op->kind == OP_RENAME)
    g_task_run_in_thread (inner, rename_thread);
  else if (op->move)
    g_task_run_in_thread (inner, move_thread);
  else
    g_task_return_boolean (inner, TRUE);
  g_object_unref (inner);
}

/* starts @op once the torrent is paused; the outer task completes when it
 * is over */
static void
op_start (GbtTorrent *self, GTask *outer, Op *op)
{
  g_task_set_task_data (outer, op, op_free);
  op->was_running = is_running (self);
  op->copy = g_strcmp0 (g_getenv ("GBT_MOVE_COPY"), "1") == 0;
  self->relocating = outer;
  self->start_after_relocate = FALSE;
  self->stop_asked = FALSE;
  when_paused (self, op_paused, outer);
}

void
gbt_torrent_move_data_async (GbtTorrent *self, const char *new_dir, gboolean move,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *outer;
  Op *op;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (new_dir != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, gbt_torrent_move_data_async);
  if (!g_path_is_absolute (new_dir))
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "“%s” is not an absolute path", new_dir);
      g_object_unref (outer);
      return;
    }
  if (self->relocating)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_BUSY,
                               "the torrent's data is being moved or renamed");
      g_object_unref (outer);
      return;
    }
  op = g_new0 (Op, 1);
  op->kind = OP_MOVE;
  op->move = move;
  op->old_dir = g_canonicalize_filename (self->download_dir, NULL);
  op->new_dir = g_canonicalize_filename (new_dir, NULL);
  op->pairs = g_ptr_array_new_with_free_func (pair_free);
  op->old_dirs = g_ptr_array_new_with_free_func (g_free);
  if (move && self->metainfo)
    {
      g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      guint n = gbt_metainfo_get_n_files (self->metainfo);

      for (guint i = 0; i < n; i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (self->metainfo, i);
          g_autofree char *rel = NULL;
          Pair *pair;

          if (f->attr & (GBT_FILE_ATTR_PAD | GBT_FILE_ATTR_SYMLINK))
            continue;
          rel = gbt_torrent_dup_file_path (self, i);
          pair = g_new0 (Pair, 1);
          pair->src = g_build_filename (op->old_dir, rel, NULL);
          pair->dst = g_build_filename (op->new_dir, rel, NULL);
          /* the torrent's own directories, not the download directory */
          add_dirs_below (op->old_dirs, seen, pair->src, op->old_dir);
          g_ptr_array_add (op->pairs, pair);
        }
    }
  op_start (self, outer, op);
}

gboolean
gbt_torrent_move_data_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
gbt_torrent_rename_path_async (GbtTorrent *self, const char *path, const char *new_name,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *outer;
  Op *op;
  g_autofree char *old = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *renamed = NULL;
  g_auto(GStrv) paths = NULL;
  gboolean found = FALSE;
  guint n;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (path != NULL && new_name != NULL);

  outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (outer, gbt_torrent_rename_path_async);
  if (*new_name == '\0' || strchr (new_name, '/') || strcmp (new_name, ".") == 0
      || strcmp (new_name, "..") == 0)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "“%s” is not a file name", new_name);
      g_object_unref (outer);
      return;
    }
  if (self->relocating)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_BUSY,
                               "the torrent's data is being moved or renamed");
      g_object_unref (outer);
      return;
    }
  if (self->metainfo == NULL)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "“%s” is not in the torrent: its metadata is not known yet", path);
      g_object_unref (outer);
      return;
    }
  /* "a/b/" is "a/b" */
  old = g_strdup (path);
  while (strlen (old) > 1 && g_str_has_suffix (old, "/"))
    old[strlen (old) - 1] = '\0';
  parent = strrchr (old, '/') ? g_path_get_dirname (old) : NULL;
  renamed = parent ? g_build_filename (parent, new_name, NULL) : g_strdup (new_name);
  n = gbt_metainfo_get_n_files (self->metainfo);
  paths = gbt_storage_dup_paths (self->storage);
  /* the file, or every file under the directory */
  for (guint i = 0; i < n; i++)
    {
      gsize len = strlen (old);
      char *p = paths[i];

      if (strcmp (p, old) == 0 || (strncmp (p, old, len) == 0 && p[len] == '/'))
        {
          paths[i] = g_strconcat (renamed, p + len, NULL);
          g_free (p);
          found = TRUE;
        }
      else if (strcmp (p, renamed) == 0
               || (g_str_has_prefix (p, renamed) && p[strlen (renamed)] == '/'))
        {
          g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_EXISTS,
                                   "cannot rename “%s” to “%s”: the torrent has “%s”", old,
                                   new_name, p);
          g_object_unref (outer);
          return;
        }
    }
  if (!found)
    {
      g_task_return_new_error (outer, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "“%s” is not in the torrent", path);
      g_object_unref (outer);
      return;
    }
  op = g_new0 (Op, 1);
  op->kind = OP_RENAME;
  op->src = g_build_filename (self->download_dir, old, NULL);
  op->dst = g_build_filename (self->download_dir, renamed, NULL);
  op->new_paths = g_steal_pointer (&paths);
  /* the top (no '/'): the torrent's directory, or its one file, is its name */
  op->new_name = g_strdup (parent ? gbt_torrent_get_name (self) : new_name);
  if (strcmp (old, renamed) == 0)
    {
      op_free (op);
      g_task_return_boolean (outer, TRUE);
      g_object_unref (outer);
      return;
    }
  op_start (self, outer, op);
}

gboolean
gbt_torrent_rename_path_finish (GbtTorrent *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
