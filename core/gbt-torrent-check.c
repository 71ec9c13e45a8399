/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent's start-up check: resume data says which pieces need no
 * re-hashing (reading it and stat()ing the files blocks, so it runs on a
 * worker), the disk workers hash the rest, the files are created, and the
 * torrent goes live.  Each step's result is dropped when the torrent was
 * stopped (or restarted) meanwhile.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-torrent.h>

#include "gbt-torrent-internal.h"

static void
create_files_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (!gbt_storage_create_files (task_data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
create_files_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && !self->stopping
      && GPOINTER_TO_UINT (user_data) == self->run)
    {
      gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE, "%s",
                                       error->message));
      return;
    }
  if (error || self->stopping || GPOINTER_TO_UINT (user_data) != self->run)
    return;
  gbt_torrent_go_live (self);
}

/* the files are created, then the torrent goes live */
static void
check_go_on (GbtTorrent *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, create_files_cb, GUINT_TO_POINTER (self->run));

  g_task_set_task_data (task, self->storage, NULL);
  g_task_run_in_thread (task, create_files_thread);
}

/* ---- gbt_torrent_verify() of a stopped torrent ---- */

typedef struct {
  GbtResumeData *data;
  GbtStorage *storage;
  char *path;
} VerifySave;

static void
verify_save_free (gpointer p)
{
  VerifySave *job = p;

  gbt_resume_data_free (job->data);
  g_free (job->path);
  g_free (job);
}

/* as the saver does: every piece of the bitmap on disk before the stat() */
static void
verify_save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  VerifySave *job = task_data;
  GError *error = NULL;
  g_autofree char *dir = gbt_storage_dup_download_dir (job->storage);
  g_auto(GStrv) paths = gbt_storage_dup_paths (job->storage);

  if (!gbt_storage_flush (job->storage, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  gbt_resume_stat_files_at (job->data, gbt_torrent_get_metainfo (source), dir,
                            (const char *const *) paths);
  for (guint i = 0; i < job->data->files->len; i++)
    g_array_index (job->data->files, GbtResumeFile, i).in_parts
        = gbt_storage_file_in_parts (job->storage, i);
  if (!gbt_resume_save (job->path, job->data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
verify_saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("[%s] resume data not saved after the verify: %s", gbt_torrent_get_name (self),
               error->message);
  /* stopped meanwhile: nothing more to do */
  if (self->stopping || GPOINTER_TO_UINT (user_data) != self->run
      || self->state != GBT_TORRENT_STATE_CHECKING)
    return;
  /* gbt_torrent_start() meanwhile: it goes live */
  if (!self->verify_only)
    {
      check_go_on (self);
      return;
    }
  self->verify_only = FALSE;
  gbt_swarm_close_all (self->swarm);
  if (self->disk_io)
    {
      gbt_disk_io_shutdown (self->disk_io);
      g_clear_pointer (&self->disk_io, gbt_disk_io_free);
    }
  gbt_storage_close (self->storage);
  /* as after gbt_torrent_stop_async(): the next start begins afresh */
  self->stopping = TRUE;
  gbt_torrent_set_state (self, GBT_TORRENT_STATE_STOPPED);
}

static void
verify_only_save (GbtTorrent *self)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, verify_saved_cb, GUINT_TO_POINTER (self->run));
  VerifySave *job = g_new0 (VerifySave, 1);

  job->data = gbt_resume_data_new (self->metainfo);
  memcpy (job->data->have.bits, self->have.bits, gbt_bitfield_byte_len (self->have.n_bits));
  job->data->have.n_set = self->have.n_set;
  job->data->uploaded = gbt_torrent_get_uploaded (self);
  job->data->downloaded = gbt_torrent_get_downloaded (self);
  job->data->active_seconds = self->active_seconds;
  /* the peers known from last time are kept for the next start */
  for (guint i = 0; self->resume_peers && i < self->resume_peers->len; i++)
    g_ptr_array_add (job->data->peers, g_object_ref (g_ptr_array_index (self->resume_peers, i)));
  job->storage = self->storage;
  job->path = g_strdup (self->resume_path);
  self->resume_saved_have = self->have.n_set;
  g_task_set_task_data (task, job, verify_save_free);
  g_task_run_in_thread (task, verify_save_thread);
}

static void
verify_progress_cb (guint pieces_checked, guint n_pieces, gpointer user_data)
{
  GbtTorrent *self = user_data;

  self->check_done = pieces_checked;
  self->check_total = n_pieces;
}

static void
verify_done_cb (const GbtBitfield *have, const GError *error, gpointer user_data)
{
  GbtTorrent *self = user_data;
  gboolean emit;

  if (error)
    {
      gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE,
                                       "cannot check existing data: %s", error->message));
      return;
    }
  emit = gbt_torrent_piece_verified_wanted (self);
  for (guint i = 0; have->n_set > 0 && i < have->n_bits; i++)
    if (gbt_bitfield_get (have, i))
      {
        gbt_bitfield_set (&self->have, i, TRUE);
        gbt_picker_set_have (self->picker, i);
        gbt_torrent_count_have (self, i);
        /* so an app can build per-file progress after a restart */
        if (emit)
          gbt_torrent_emit_piece_verified (self, i);
      }
  g_debug ("[%s] %u of %u pieces already on disk", gbt_torrent_get_name (self), self->have.n_set,
           self->have.n_bits);
  self->check_done = self->check_total;
  /* gbt_torrent_verify() of a stopped torrent: its resume data saved, then
   * stopped again */
  if (self->verify_only)
    {
      verify_only_save (self);
      return;
    }
  check_go_on (self);
}

typedef struct {
  gboolean verify_all; /* gbt_torrent_verify(): trust nothing, hash every piece */
  GbtStorage *storage;
} LoadJob;

typedef struct {
  GbtResumeData *data;
  GbtBitfield trusted;
  GbtBitfield recheck;
} LoadResult;

static void
load_result_free (gpointer p)
{
  LoadResult *r = p;
  gbt_resume_data_free (r->data);
  gbt_bitfield_clear (&r->trusted);
  gbt_bitfield_clear (&r->recheck);
  g_free (r);
}

/* Blocking.  Files whose share of verified boundary pieces was kept in the
 * parts file, and which are wanted now: their bytes are copied into them.
 * The files change, so the pieces touching them are hashed again before
 * they count; a piece that cannot be moved is forgotten (downloaded again),
 * never trusted with its bytes in the wrong place. */
static void
adopt_parts (GbtTorrent *self, GbtResumeData *data)
{
  GbtMetainfo *mi = self->metainfo;
  guint n_files = gbt_metainfo_get_n_files (mi);
  guint32 plen = gbt_metainfo_get_piece_length (mi);
  GbtBitfield moved, touched;
  gboolean any = FALSE;

  gbt_bitfield_init (&moved, n_files);
  for (guint i = 0; i < n_files; i++)
    if (g_array_index (data->files, GbtResumeFile, i).in_parts
        && !gbt_storage_file_in_parts (self->storage, i))
      {
        gbt_bitfield_set (&moved, i, TRUE);
        any = TRUE;
      }
  /* the had pieces touching a moved file, each copied once (a piece can
   * span several moved files: one call moves all their shares) */
  gbt_bitfield_init (&touched, gbt_metainfo_get_n_pieces (mi));
  for (guint i = 0; any && i < n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);

      if (!gbt_bitfield_get (&moved, i) || f->length == 0)
        continue;
      for (guint64 p = f->offset / plen; p <= (f->offset + f->length - 1) / plen; p++)
        if (gbt_bitfield_get (&data->have, (guint) p))
          gbt_bitfield_set (&touched, (guint) p, TRUE);
    }
  for (guint p = 0; touched.n_set > 0 && p < touched.n_bits; p++)
    {
      g_autoptr(GError) error = NULL;

      if (!gbt_bitfield_get (&touched, p))
        continue;
      if (!gbt_storage_adopt_parts (self->storage, (guint64) p * plen,
                                    gbt_metainfo_get_piece_size (mi, p), &moved, &error))
        {
          g_debug ("[%s] piece %u not taken from the parts file: %s",
                   gbt_torrent_get_name (self), p, error->message);
          gbt_bitfield_set (&data->have, p, FALSE);
        }
    }
  gbt_bitfield_clear (&touched);
  gbt_bitfield_clear (&moved);
}

static void
load_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GbtTorrent *self = source;
  LoadJob *job = task_data;
  GError *error = NULL;
  LoadResult *r;
  GbtResumeData *data;
  g_autofree char *dir = NULL;
  g_auto(GStrv) paths = NULL;

  /* before any I/O: unwanted files already on disk keep their bytes */
  gbt_storage_place_files (self->storage);
  data = gbt_resume_load (self->resume_path, self->metainfo, &error);
  if (data == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  adopt_parts (self, data);
  r = g_new0 (LoadResult, 1);
  r->data = data;
  /* where the files are now: a rename or a move may have changed it */
  dir = gbt_storage_dup_download_dir (job->storage);
  paths = gbt_storage_dup_paths (job->storage);
  gbt_resume_trusted_pieces_at (data, self->metainfo, dir, (const char *const *) paths,
                                &r->trusted, &r->recheck);
  if (job->verify_all)
    {
      /* counters and peers are kept; the pieces are all hashed again */
      gbt_bitfield_clear (&r->trusted);
      gbt_bitfield_init (&r->trusted, gbt_metainfo_get_n_pieces (self->metainfo));
      gbt_bitfield_set_all (&r->recheck);
    }
  g_task_return_pointer (task, r, load_result_free);
}

static void
resume_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  g_autoptr(GError) error = NULL;
  LoadResult *r = g_task_propagate_pointer (G_TASK (result), &error);
  gboolean emit;

  if (self->stopping || self->disk_io == NULL || GPOINTER_TO_UINT (user_data) != self->run)
    {
      if (r)
        load_result_free (r);
      return;
    }
  if (r == NULL)
    {
      /* no resume data, or not for this torrent: check everything */
      if (!g_error_matches (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_NOT_FOUND))
        g_debug ("[%s] ignoring resume data: %s", gbt_torrent_get_name (self), error->message);
      self->n_checked = self->have.n_bits;
      self->check_total = self->have.n_bits;
      self->counters_loaded = TRUE;
      gbt_disk_io_verify (self->disk_io, NULL, verify_progress_cb, verify_done_cb, self);
      return;
    }
  emit = gbt_torrent_piece_verified_wanted (self);
  for (guint i = 0; i < r->trusted.n_bits; i++)
    if (gbt_bitfield_get (&r->trusted, i))
      {
        gbt_bitfield_set (&self->have, i, TRUE);
        gbt_picker_set_have (self->picker, i);
        gbt_torrent_count_have (self, i);
        if (emit)
          gbt_torrent_emit_piece_verified (self, i);
      }
  /* what the resume data says is on disk already: the tick need not save
   * it again (thousands of seeds would all rewrite theirs 30 s after a
   * restart) */
  self->resume_saved_have = self->have.n_set;
  self->active_seconds = r->data->active_seconds;
  /* lifetime counters: earlier processes' totals, read once per torrent
   * object (a restart in this process still counts in the swarm) */
  if (!self->counters_loaded)
    {
      self->downloaded_prev = r->data->downloaded;
      self->uploaded_prev = r->data->uploaded;
      self->counters_loaded = TRUE;
    }
  g_debug ("[%s] resume data: %u pieces trusted, %u to check", gbt_torrent_get_name (self),
           r->trusted.n_set, r->recheck.n_set);
  /* peers known from last time join the candidates once we are live */
  if (r->data->peers->len > 0)
    {
      /* a check stopped before going live left the last ones */
      g_clear_pointer (&self->resume_peers, g_ptr_array_unref);
      self->resume_peers = g_ptr_array_ref (r->data->peers);
    }
  self->n_checked = r->recheck.n_set;
  self->check_total = r->recheck.n_set;
  if (r->recheck.n_set > 0)
    gbt_disk_io_verify (self->disk_io, &r->recheck, verify_progress_cb, verify_done_cb, self);
  else
    {
      GbtBitfield none;
      gbt_bitfield_init (&none, self->have.n_bits);
      verify_done_cb (&none, NULL, self);
      gbt_bitfield_clear (&none);
    }
  load_result_free (r);
}

/* resume data tells which pieces need no re-hashing; reading it and
 * stat()ing the files blocks, so it runs on a worker */
void
gbt_torrent_start_check (GbtTorrent *self)
{
  g_autoptr(GTask) task = NULL;
  LoadJob *job = g_new0 (LoadJob, 1);

  job->verify_all = self->verify_all;
  job->storage = self->storage;
  self->verify_all = FALSE;
  self->check_done = self->check_total = 0;
  gbt_torrent_set_state (self, GBT_TORRENT_STATE_CHECKING);
  self->disk_io = gbt_disk_io_new (self->metainfo, self->storage, 0);
  task = g_task_new (self, NULL, resume_loaded_cb, GUINT_TO_POINTER (self->run));
  g_task_set_task_data (task, job, g_free);
  g_task_run_in_thread (task, load_thread);
}
