/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt_metainfo_verify_async(): GbtDiskIo's verify (all workers) over a
 * storage rooted at the given directory, then each piece that did not match
 * is told bad or missing.  GbtDiskIo reports only the good pieces, so
 * "missing" comes from the files: a piece is missing when a non-pad file it
 * needs is absent or too short to hold its part of the piece.
 */
#include "config.h"

#include <sys/stat.h>

#include <gbt/gbt-verifier.h>

#include "gbt-bitfield.h"
#include "gbt-disk-io.h"
#include "gbt-storage.h"

struct _GbtVerifyResult
{
  gatomicrefcount ref;
  guint n_pieces;
  guint n_good;
  guint n_files;
  guint8 *pieces;         /* GbtVerifyPieceState each */
  GbtVerifyFileState *files;
  guint64 *disk_sizes;
  guint64 good_bytes;
  guint64 bytes_checked;
  double seconds;
};

G_DEFINE_BOXED_TYPE (GbtVerifyResult, gbt_verify_result, gbt_verify_result_ref,
                     gbt_verify_result_unref)

GbtVerifyResult *
gbt_verify_result_ref (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);
  g_atomic_ref_count_inc (&result->ref);
  return result;
}

void
gbt_verify_result_unref (GbtVerifyResult *result)
{
  g_return_if_fail (result != NULL);
  if (!g_atomic_ref_count_dec (&result->ref))
    return;
  g_free (result->pieces);
  g_free (result->files);
  g_free (result->disk_sizes);
  g_free (result);
}

guint
gbt_verify_result_get_n_pieces (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_pieces;
}

guint
gbt_verify_result_get_n_good (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->n_good;
}

GbtVerifyPieceState
gbt_verify_result_get_piece_state (GbtVerifyResult *result, guint piece)
{
  g_return_val_if_fail (result != NULL, GBT_VERIFY_PIECE_MISSING);
  g_return_val_if_fail (piece < result->n_pieces, GBT_VERIFY_PIECE_MISSING);
  return (GbtVerifyPieceState) result->pieces[piece];
}

GbtVerifyFileState
gbt_verify_result_get_file_state (GbtVerifyResult *result, guint file, guint64 *size_on_disk)
{
  g_return_val_if_fail (result != NULL, GBT_VERIFY_FILE_ABSENT);
  g_return_val_if_fail (file < result->n_files, GBT_VERIFY_FILE_ABSENT);
  if (size_on_disk != NULL)
    *size_on_disk = result->disk_sizes[file];
  return result->files[file];
}

guint64
gbt_verify_result_get_good_bytes (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->good_bytes;
}

guint64
gbt_verify_result_get_bytes_checked (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, 0);
  return result->bytes_checked;
}

double
gbt_verify_result_get_seconds (GbtVerifyResult *result)
{
  g_return_val_if_fail (result != NULL, 0.0);
  return result->seconds;
}

/* ---- the check ---- */

typedef struct
{
  GbtMetainfo *mi;
  char *dir;
  GbtStorage *storage;
  GbtDiskIo *io;
  GbtVerifyProgressCallback progress;
  gpointer progress_data;
  GDestroyNotify progress_notify;
  GSource *cancel_source;
  gint64 start;
  GbtVerifyResult *result; /* set by done_cb */
  GError *error;           /* set by done_cb */
  gboolean done;           /* the task was returned */
} VerifyData;

static void
verify_data_stop (VerifyData *data)
{
  /* shutdown waits for running jobs: no callback comes after this */
  g_clear_pointer (&data->io, gbt_disk_io_free);
  g_clear_pointer (&data->storage, gbt_storage_free);
  if (data->cancel_source != NULL)
    {
      g_source_destroy (data->cancel_source);
      g_clear_pointer (&data->cancel_source, g_source_unref);
    }
  if (data->progress_notify != NULL)
    data->progress_notify (data->progress_data);
  data->progress_notify = NULL;
  data->progress = NULL;
}

static void
verify_data_free (gpointer p)
{
  VerifyData *data = p;

  verify_data_stop (data);
  g_clear_pointer (&data->result, gbt_verify_result_unref);
  g_clear_error (&data->error);
  gbt_metainfo_unref (data->mi);
  g_free (data->dir);
  g_free (data);
}

static GbtVerifyFileState
file_state (const char *dir, const GbtFileInfo *f, guint64 *size_out)
{
  g_autofree char *path = g_build_filename (dir, f->path, NULL);
  struct stat st;

  *size_out = 0;
  if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return GBT_VERIFY_FILE_ABSENT;
  *size_out = (guint64) st.st_size;
  return (guint64) st.st_size < f->length ? GBT_VERIFY_FILE_SHORT : GBT_VERIFY_FILE_OK;
}

/* missing when a non-pad file the piece needs is absent or short */
static GbtVerifyResult *
classify (GbtMetainfo *mi, const char *dir, const GbtBitfield *have)
{
  GbtVerifyResult *r = g_new0 (GbtVerifyResult, 1);
  guint32 piece_length = gbt_metainfo_get_piece_length (mi);

  g_atomic_ref_count_init (&r->ref);
  r->n_pieces = gbt_metainfo_get_n_pieces (mi);
  r->n_files = gbt_metainfo_get_n_files (mi);
  r->pieces = g_new0 (guint8, MAX (r->n_pieces, 1));
  r->files = g_new0 (GbtVerifyFileState, MAX (r->n_files, 1));
  r->disk_sizes = g_new0 (guint64, MAX (r->n_files, 1));
  r->bytes_checked = gbt_metainfo_get_total_size (mi);

  for (guint i = 0; i < r->n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      r->files[i] = (f->attr & GBT_FILE_ATTR_PAD) || f->length == 0
                      ? GBT_VERIFY_FILE_OK
                      : file_state (dir, f, &r->disk_sizes[i]);
    }
  for (guint p = 0, fi = 0; p < r->n_pieces; p++)
    {
      guint64 start = (guint64) p * piece_length;
      guint64 end = start + gbt_metainfo_get_piece_size (mi, p);
      gboolean is_missing = FALSE;

      if (have != NULL && gbt_bitfield_get (have, p))
        {
          r->pieces[p] = GBT_VERIFY_PIECE_GOOD;
          r->n_good++;
          r->good_bytes += end - start;
          continue;
        }
      while (fi < r->n_files
             && gbt_metainfo_get_file (mi, fi)->offset + gbt_metainfo_get_file (mi, fi)->length
                  <= start)
        fi++;
      for (guint k = fi; k < r->n_files && gbt_metainfo_get_file (mi, k)->offset < end; k++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, k);
          /* the file must reach at least the end of this piece's part of it */
          guint64 need = MIN (end, f->offset + f->length) - f->offset;

          if (r->files[k] == GBT_VERIFY_FILE_ABSENT
              || (r->files[k] == GBT_VERIFY_FILE_SHORT && r->disk_sizes[k] < need))
            is_missing = TRUE;
        }
      r->pieces[p] = is_missing ? GBT_VERIFY_PIECE_MISSING : GBT_VERIFY_PIECE_BAD;
    }
  return r;
}

static void
progress_cb (guint checked, guint n_pieces, gpointer user_data)
{
  GTask *task = user_data;
  VerifyData *data = g_task_get_task_data (task);

  if (data->progress != NULL)
    data->progress (checked, n_pieces, data->progress_data);
}

/* after done_cb, out of GbtDiskIo's own dispatch: free it, then return */
static gboolean
finish_idle (gpointer user_data)
{
  GTask *task = user_data;
  VerifyData *data = g_task_get_task_data (task);

  if (data->done)
    return G_SOURCE_REMOVE;
  data->done = TRUE;
  verify_data_stop (data);
  if (data->error != NULL)
    g_task_return_error (task, g_steal_pointer (&data->error));
  else
    g_task_return_pointer (task, g_steal_pointer (&data->result),
                           (GDestroyNotify) gbt_verify_result_unref);
  g_object_unref (task); /* the reference the disk I/O held */
  return G_SOURCE_REMOVE;
}

static void
done_cb (const GbtBitfield *have, const GError *error, gpointer user_data)
{
  GTask *task = user_data;
  VerifyData *data = g_task_get_task_data (task);
  GSource *source;

  if (error != NULL)
    data->error = g_error_copy (error);
  else
    {
      data->result = classify (data->mi, data->dir, have);
      data->result->seconds = (double) (g_get_monotonic_time () - data->start) / G_USEC_PER_SEC;
    }
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, finish_idle, g_object_ref (task), g_object_unref);
  g_source_set_static_name (source, "[gbt] verify finish");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static gboolean
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  VerifyData *data = g_task_get_task_data (task);

  if (data->done)
    return G_SOURCE_REMOVE;
  data->done = TRUE;
  verify_data_stop (data);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Verification cancelled");
  g_object_unref (task); /* the reference the disk I/O held */
  return G_SOURCE_REMOVE;
}

void
gbt_metainfo_verify_async (GbtMetainfo *mi, const char *dir, guint n_threads,
                           GbtVerifyProgressCallback progress, gpointer progress_data,
                           GDestroyNotify progress_notify, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  VerifyData *data;

  g_return_if_fail (mi != NULL);
  g_return_if_fail (dir != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gbt_metainfo_verify_async);
  g_task_set_name (task, "[gbt] gbt_metainfo_verify_async");
  data = g_new0 (VerifyData, 1);
  data->mi = gbt_metainfo_ref (mi);
  data->dir = g_strdup (dir);
  data->progress = progress;
  data->progress_data = progress_data;
  data->progress_notify = progress_notify;
  g_task_set_task_data (task, data, verify_data_free);

  if (g_task_return_error_if_cancelled (task))
    {
      data->done = TRUE;
      g_object_unref (task);
      return;
    }
  if (cancellable != NULL)
    {
      /* on our context, whatever thread cancels: the disk I/O lives here */
      data->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (data->cancel_source, G_SOURCE_FUNC (cancelled_cb), task, NULL);
      g_source_attach (data->cancel_source, g_task_get_context (task));
    }

  data->storage = gbt_storage_new (mi, dir);
  data->io = gbt_disk_io_new (mi, data->storage, n_threads);
  data->start = g_get_monotonic_time ();
  /* @task's own reference is the disk I/O's, dropped once it is freed
   * (finish_idle() or cancelled_cb()) */
  gbt_disk_io_verify (data->io, NULL, progress_cb, done_cb, task);
}

GbtVerifyResult *
gbt_metainfo_verify_finish (GbtMetainfo *mi, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gbt_metainfo_verify_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
