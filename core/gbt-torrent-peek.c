/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stopped torrent's progress, as its resume data tells it: loaded with
 * the session state, a torrent that is not to run shows the pieces it has
 * (and its lifetime counters) without being started, as Transmission shows
 * a paused torrent's.  Reading the resume data and stat()ing the files
 * blocks, so it runs on a worker; nothing is hashed and nothing written.
 * A start forgets what was peeked: the start-up check decides again.
 */
#include "config.h"

#include <gbt/gbt-torrent.h>

#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"

typedef struct {
  char *resume_path;
  char *download_dir;
  GStrv paths; /* where the files are (renamed ones too) */
  GbtMetainfo *metainfo;
  guint run;
} PeekJob;

typedef struct {
  GbtBitfield trusted;
  guint64 downloaded, uploaded;
} PeekResult;

static void
peek_job_free (PeekJob *job)
{
  g_free (job->resume_path);
  g_free (job->download_dir);
  g_strfreev (job->paths);
  gbt_metainfo_unref (job->metainfo);
  g_free (job);
}

static void
peek_result_free (PeekResult *r)
{
  gbt_bitfield_clear (&r->trusted);
  g_free (r);
}

static void
peek_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PeekJob *job = task_data;
  GError *error = NULL;
  g_autoptr(GbtResumeData) data = gbt_resume_load (job->resume_path, job->metainfo, &error);
  PeekResult *r;
  GbtBitfield recheck;

  if (data == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  r = g_new0 (PeekResult, 1);
  gbt_resume_trusted_pieces_at (data, job->metainfo, job->download_dir,
                                (const char *const *) job->paths, &r->trusted, &recheck);
  gbt_bitfield_clear (&recheck);
  r->downloaded = data->downloaded;
  r->uploaded = data->uploaded;
  g_task_return_pointer (task, r, (GDestroyNotify) peek_result_free);
}

static void
peek_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  PeekJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  PeekResult *r = g_task_propagate_pointer (G_TASK (result), &error);

  if (r == NULL)
    return; /* no resume data: nothing is known to be had */
  /* started meanwhile, or already known */
  if (self->state != GBT_TORRENT_STATE_STOPPED || self->run != job->run || self->stopping
      || self->peeked || self->have.n_set > 0 || r->trusted.n_bits != self->have.n_bits)
    {
      peek_result_free (r);
      return;
    }
  for (guint i = 0; r->trusted.n_set > 0 && i < r->trusted.n_bits; i++)
    if (gbt_bitfield_get (&r->trusted, i))
      {
        gbt_bitfield_set (&self->have, i, TRUE);
        gbt_picker_set_have (self->picker, i);
        gbt_torrent_count_have (self, i);
      }
  if (!self->counters_loaded)
    {
      self->downloaded_prev = r->downloaded;
      self->uploaded_prev = r->uploaded;
      self->counters_loaded = TRUE;
    }
  self->peeked = TRUE;
  self->resume_saved_have = self->have.n_set;
  gbt_torrent_files_flush (self);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_BYTES_HAVE);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_PROGRESS);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_DOWNLOADED);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_UPLOADED);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_RATIO);
  peek_result_free (r);
}

void
gbt_torrent_peek_resume (GbtTorrent *self)
{
  g_autoptr(GTask) task = NULL;
  PeekJob *job;

  if (self->metainfo == NULL || self->state != GBT_TORRENT_STATE_STOPPED || self->resume_path == NULL)
    return;
  job = g_new0 (PeekJob, 1);
  job->resume_path = g_strdup (self->resume_path);
  job->download_dir = gbt_storage_dup_download_dir (self->storage);
  job->paths = gbt_storage_dup_paths (self->storage);
  job->metainfo = gbt_metainfo_ref (self->metainfo);
  job->run = self->run;
  task = g_task_new (self, NULL, peek_cb, NULL);
  g_task_set_task_data (task, job, (GDestroyNotify) peek_job_free);
  g_task_run_in_thread (task, peek_thread);
}
