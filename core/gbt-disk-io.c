/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtDiskIo: hashing and disk I/O off the main loop.
 *
 * Jobs run on a GThreadPool; each finished job becomes an idle GSource
 * attached to the context that was thread-default in gbt_disk_io_new(), so
 * callbacks always run there.  Sources not yet dispatched are kept in a set:
 * gbt_disk_io_shutdown() destroys them after the pool has stopped, which is
 * how "no callback after shutdown" holds without a flag check racing a
 * dispatch.  shutdown and dispatch both run on the owning context's thread.
 *
 * A verify is cut into chunks of consecutive pieces (CHUNK_BYTES worth); at
 * most n_threads chunk jobs are queued at a time and each pulls the next
 * chunk when done, so writes and reads queued meanwhile are not stuck behind
 * a whole torrent's worth of hashing, and memory stays at one piece buffer
 * per running job.
 */
#include "config.h"

#include <string.h>
#ifdef __linux__
#include <sched.h>
#endif

#include <gio/gio.h>

#include "gbt-disk-io.h"
#include "gbt-hash.h"

#define GBT_DISK_IO_BLOCK 16384 /* the block grid of smart ban's hashes */
#define CHUNK_BYTES (32 * 1024 * 1024)
#define PROGRESS_INTERVAL_US (100 * 1000)

typedef struct
{
  gint refs;
  GbtDiskIo *io;
  guint8 *only;         /* NULL = all pieces; else a copy of the wanted bits */
  guint n_to_check;
  guint pieces_per_chunk;
  guint n_chunks;
  gint next_chunk;      /* atomic */
  gint chunks_finished; /* atomic */
  gint n_checked;       /* atomic */
  gint64 last_progress; /* under lock, monotonic µs */
  gint failed;          /* atomic */
  GMutex lock;          /* for have, error and last_progress */
  GbtBitfield have;
  GError *error;
  GbtVerifyProgressFunc progress;
  GbtVerifyDoneFunc done;
  gpointer user_data;
} VerifyOp;

typedef enum {
  JOB_WRITE,
  JOB_READ,
  JOB_VERIFY_CHUNK,
  /* deliveries only */
  JOB_VERIFY_PROGRESS,
  JOB_VERIFY_DONE,
} JobKind;

typedef struct
{
  JobKind kind;
  GbtDiskIo *io;
  guint piece;
  guint32 begin;
  guint32 length;
  GBytes *data; /* write: the piece; read: the result */
  gboolean pending_counted;
  GbtPieceWrittenFunc written;
  GbtPieceCheckedFunc checked;
  gboolean hashes_on_pass;
  GBytes *block_hashes;
  GbtBlockReadFunc read;
  gpointer user_data;
  VerifyOp *verify;
  guint progress_checked;
  GbtPieceResult result;
  GError *error;
  GSource *source;
} Job;

struct _GbtDiskIo
{
  GbtMetainfo *mi;
  GbtStorage *storage;
  GMainContext *context;
  GThreadPool *pool;
  guint n_threads;
  gsize pending_bytes;   /* atomic */
  GMutex lock;           /* for pool pushes after shutdown, and sources */
  gboolean shut_down;    /* under lock; read atomically by workers */
  GHashTable *sources;   /* GSource* not dispatched yet (owns a reference) */
};

/* ---- verify operation ---- */

static VerifyOp *
verify_op_ref (VerifyOp *op)
{
  g_atomic_int_inc (&op->refs);
  return op;
}

static void
verify_op_unref (VerifyOp *op)
{
  if (!g_atomic_int_dec_and_test (&op->refs))
    return;
  g_free (op->only);
  gbt_bitfield_clear (&op->have);
  g_clear_error (&op->error);
  g_mutex_clear (&op->lock);
  g_free (op);
}

/* ---- jobs and delivery ---- */

static Job *
job_new (GbtDiskIo *io, JobKind kind)
{
  Job *job = g_new0 (Job, 1);

  job->io = io;
  job->kind = kind;
  return job;
}

static void
job_uncount_pending (Job *job)
{
  if (job->pending_counted)
    {
      job->pending_counted = FALSE;
      g_atomic_pointer_add (&job->io->pending_bytes, -(gssize) g_bytes_get_size (job->data));
    }
}

static void
job_free (gpointer data)
{
  Job *job = data;

  job_uncount_pending (job);
  g_clear_pointer (&job->data, g_bytes_unref);
  g_clear_pointer (&job->block_hashes, g_bytes_unref);
  g_clear_error (&job->error);
  g_clear_pointer (&job->verify, verify_op_unref);
  g_free (job);
}

static gboolean
deliver_cb (gpointer data)
{
  Job *job = data;
  GbtDiskIo *io = job->io;
  VerifyOp *op = job->verify;

  g_mutex_lock (&io->lock);
  g_hash_table_remove (io->sources, job->source);
  g_mutex_unlock (&io->lock);

  switch (job->kind)
    {
    case JOB_WRITE:
      if (job->written != NULL)
        job->written (job->piece, job->result, job->error, job->user_data);
      else if (job->checked != NULL)
        job->checked (job->piece, job->result, job->block_hashes, job->error, job->user_data);
      break;
    case JOB_READ:
      if (job->read != NULL)
        job->read (job->piece, job->begin, job->error != NULL ? NULL : job->data, job->error,
                   job->user_data);
      break;
    case JOB_VERIFY_PROGRESS:
      if (op->progress != NULL)
        op->progress (job->progress_checked, op->n_to_check, op->user_data);
      break;
    case JOB_VERIFY_DONE:
      if (op->done != NULL)
        op->done (op->error != NULL ? NULL : &op->have, op->error, op->user_data);
      break;
    case JOB_VERIFY_CHUNK:
    default:
      g_assert_not_reached ();
    }
  return G_SOURCE_REMOVE;
}

/* Hands @job (owned) to the main context.  From any thread. */
static void
deliver (Job *job)
{
  GbtDiskIo *io = job->io;
  GSource *source = g_idle_source_new ();

  /* results matter more than idle work, and the loop is mostly sockets */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[gbt] disk-io result");
  g_source_set_callback (source, deliver_cb, job, job_free);
  job->source = source;
  g_mutex_lock (&io->lock);
  if (io->shut_down)
    {
      g_mutex_unlock (&io->lock);
      g_source_unref (source); /* frees the job */
      return;
    }
  /* in the set before attaching, so a quick dispatch finds it there */
  g_hash_table_add (io->sources, source);
  g_mutex_unlock (&io->lock);
  /* Attached outside the lock (latency part: deliver_cb on the main thread
   * takes it; a worker preempted inside g_source_attach, which also wakes
   * the context, kept the main thread asleep on it).  Still safe against
   * shutdown, which runs on the owning thread: a deliver() there (an empty
   * verify) is not concurrent with it, and one on a worker is over before
   * gbt_disk_io_shutdown() destroys the sources (it waits for every worker
   * first). */
  g_source_attach (source, io->context);
}

static gboolean
push_job (GbtDiskIo *io, Job *job)
{
  gboolean ok;

  g_mutex_lock (&io->lock);
  ok = !io->shut_down;
  if (ok)
    g_thread_pool_push (io->pool, job, NULL);
  g_mutex_unlock (&io->lock);
  if (!ok)
    job_free (job);
  return ok;
}

/* ---- work ---- */

/* the SHA-1 of each 16 KiB block, for smart ban (worker thread) */
static GBytes *
hash_blocks (const guint8 *data, gsize len)
{
  gsize n = (len + GBT_DISK_IO_BLOCK - 1) / GBT_DISK_IO_BLOCK;
  guint8 *out = g_malloc (MAX (n, 1) * 20);

  for (gsize i = 0; i < n; i++)
    gbt_sha1 (data + i * GBT_DISK_IO_BLOCK, MIN (GBT_DISK_IO_BLOCK, len - i * GBT_DISK_IO_BLOCK),
              out + i * 20);
  return g_bytes_new_take (out, n * 20);
}

static void
do_write (GbtDiskIo *io, Job *job)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (job->data, &len);
  guint8 digest[20];

  if (job->piece >= gbt_metainfo_get_n_pieces (io->mi)
      || len != gbt_metainfo_get_piece_size (io->mi, job->piece))
    {
      g_warning ("write_piece: piece %u with %" G_GSIZE_FORMAT " bytes does not fit the torrent",
                 job->piece, len);
      job->result = GBT_PIECE_RESULT_HASH_FAIL;
      return;
    }
  gbt_sha1 (data, len, digest);
  if (memcmp (digest, gbt_metainfo_get_piece_hash (io->mi, job->piece), 20) != 0)
    {
      job->result = GBT_PIECE_RESULT_HASH_FAIL;
      if (job->checked != NULL)
        job->block_hashes = hash_blocks (data, len);
      return;
    }
  if (job->checked != NULL && job->hashes_on_pass)
    job->block_hashes = hash_blocks (data, len);
  if (!gbt_storage_write (io->storage,
                          (guint64) job->piece * gbt_metainfo_get_piece_length (io->mi), data, len,
                          &job->error))
    {
      g_prefix_error (&job->error, "Piece %u: ", job->piece);
      job->result = GBT_PIECE_RESULT_IO_ERROR;
      return;
    }
  job->result = GBT_PIECE_RESULT_OK;
}

static void
do_read (GbtDiskIo *io, Job *job)
{
  guint8 *buf;

  if (job->piece >= gbt_metainfo_get_n_pieces (io->mi)
      || job->begin > gbt_metainfo_get_piece_size (io->mi, job->piece)
      || job->length > gbt_metainfo_get_piece_size (io->mi, job->piece) - job->begin)
    {
      g_set_error (&job->error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Block of %u bytes at %u is outside piece %u", job->length, job->begin,
                   job->piece);
      return;
    }
  buf = g_malloc (MAX (job->length, 1));
  if (!gbt_storage_read (io->storage,
                         (guint64) job->piece * gbt_metainfo_get_piece_length (io->mi) + job->begin,
                         buf, job->length, &job->error))
    {
      g_free (buf);
      return;
    }
  job->data = g_bytes_new_take (buf, job->length);
}

/* Data that is simply not there yet: the piece is missing, not an error. */
static gboolean
is_missing_data_error (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE)
         || g_error_matches (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_TRUNCATED)
         || g_error_matches (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
}

static void
verify_report_progress (VerifyOp *op, guint checked, gboolean final)
{
  gint64 now = g_get_monotonic_time ();
  Job *job;

  if (op->progress == NULL)
    return;
  if (!final)
    {
      gboolean due;

      g_mutex_lock (&op->lock);
      due = now - op->last_progress >= PROGRESS_INTERVAL_US;
      if (due)
        op->last_progress = now;
      g_mutex_unlock (&op->lock);
      if (!due)
        return;
    }
  job = job_new (op->io, JOB_VERIFY_PROGRESS);
  job->verify = verify_op_ref (op);
  job->progress_checked = checked;
  deliver (job);
}

static void
verify_chunk (GbtDiskIo *io, VerifyOp *op, guint chunk, guint8 *buf)
{
  guint n_pieces = gbt_metainfo_get_n_pieces (io->mi);
  guint32 piece_length = gbt_metainfo_get_piece_length (io->mi);
  guint first = chunk * op->pieces_per_chunk;
  guint last = MIN (first + op->pieces_per_chunk, n_pieces);

  for (guint p = first; p < last && !g_atomic_int_get (&op->failed); p++)
    {
      guint32 size = gbt_metainfo_get_piece_size (io->mi, p);
      g_autoptr(GError) error = NULL;
      guint8 digest[20];
      guint checked;

      if (op->only != NULL && !(op->only[p >> 3] & (0x80u >> (p & 7))))
        continue;
      if (g_atomic_int_get (&io->shut_down))
        return;
      if (gbt_storage_read (io->storage, (guint64) p * piece_length, buf, size, &error))
        {
          gbt_sha1 (buf, size, digest);
          if (memcmp (digest, gbt_metainfo_get_piece_hash (io->mi, p), 20) == 0)
            {
              g_mutex_lock (&op->lock);
              gbt_bitfield_set (&op->have, p, TRUE);
              g_mutex_unlock (&op->lock);
            }
        }
      else if (!is_missing_data_error (error))
        {
          g_mutex_lock (&op->lock);
          if (op->error == NULL)
            {
              op->error = g_steal_pointer (&error);
              g_prefix_error (&op->error, "Cannot verify piece %u: ", p);
            }
          g_mutex_unlock (&op->lock);
          g_atomic_int_set (&op->failed, TRUE);
          return;
        }
      checked = (guint) g_atomic_int_add (&op->n_checked, 1) + 1;
      if (checked < op->n_to_check)
        verify_report_progress (op, checked, FALSE);
    }
}

static void
verify_finish (GbtDiskIo *io, VerifyOp *op)
{
  Job *job;

  if (op->error == NULL)
    verify_report_progress (op, op->n_to_check, TRUE);
  job = job_new (io, JOB_VERIFY_DONE);
  job->verify = verify_op_ref (op);
  deliver (job);
}

/* Returns TRUE when @job was handed on (pushed again). */
static gboolean
do_verify_chunk (GbtDiskIo *io, Job *job)
{
  VerifyOp *op = job->verify;
  guint chunk = (guint) g_atomic_int_add (&op->next_chunk, 1);
  guint8 *buf;

  if (chunk >= op->n_chunks)
    return FALSE;
  /* one piece buffer per running job: at most n_threads × piece length */
  buf = g_malloc (gbt_metainfo_get_piece_length (io->mi));
  verify_chunk (io, op, chunk, buf);
  g_free (buf);

  if ((guint) g_atomic_int_add (&op->chunks_finished, 1) + 1 == op->n_chunks)
    {
      verify_finish (io, op);
      return FALSE;
    }
  if ((guint) g_atomic_int_get (&op->next_chunk) < op->n_chunks)
    {
      push_job (io, job); /* frees it if shut down meanwhile */
      return TRUE;
    }
  return FALSE;
}

/* latency part (issue 12): hashing and disk jobs are throughput work, the
 * app's main loop is latency work.  A thread that runs our jobs becomes
 * SCHED_BATCH (when it was SCHED_OTHER: an app's own choice is left
 * alone): the same CPU share, but its wake-ups never preempt the thread
 * that runs the app's UI.  That matters most when the main loop pushes a
 * piece: the idle worker it wakes took the CPU from the main thread at
 * once (perf sched: ~400 preemptions per GiB right in g_thread_pool_push).
 * So the policy stays after the job, while the thread waits for the next
 * one.  The pool's threads are GLib's shared ones: one that later runs
 * other pools' work (GTask's) does so as SCHED_BATCH too, which changes no
 * CPU share, only wake-up preemption of background work. */
static void
worker_enter_batch (void)
{
#if defined(__linux__) && defined(SCHED_BATCH)
  struct sched_param param = { 0 };

  if (sched_getscheduler (0) == SCHED_OTHER)
    sched_setscheduler (0, SCHED_BATCH, &param);
#endif
}

static void worker_run (Job *job, GbtDiskIo *io);

static void
worker_cb (gpointer data, gpointer pool_data)
{
  worker_enter_batch ();
  worker_run (data, pool_data);
}

static void
worker_run (Job *job, GbtDiskIo *io)
{
  if (g_atomic_int_get (&io->shut_down))
    {
      job_free (job);
      return;
    }
  switch (job->kind)
    {
    case JOB_WRITE:
      do_write (io, job);
      job_uncount_pending (job);
      deliver (job);
      break;
    case JOB_READ:
      do_read (io, job);
      deliver (job);
      break;
    case JOB_VERIFY_CHUNK:
      if (!do_verify_chunk (io, job))
        job_free (job);
      break;
    case JOB_VERIFY_PROGRESS:
    case JOB_VERIFY_DONE:
    default:
      g_assert_not_reached ();
    }
}

/* ---- public ---- */

GbtDiskIo *
gbt_disk_io_new (GbtMetainfo *mi, GbtStorage *storage, guint n_threads)
{
  GbtDiskIo *io;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (storage != NULL, NULL);

  io = g_new0 (GbtDiskIo, 1);
  io->mi = gbt_metainfo_ref (mi);
  io->storage = storage;
  io->context = g_main_context_ref_thread_default ();
  io->n_threads = n_threads != 0 ? n_threads : MAX (g_get_num_processors (), 1);
  g_mutex_init (&io->lock);
  io->sources = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) g_source_unref, NULL);
  /* Shared (non-exclusive) threads: many torrents do not mean many idle
   * threads; max_threads still bounds this torrent's share. */
  io->pool = g_thread_pool_new_full (worker_cb, io, job_free, (int) io->n_threads, FALSE, &error);
  if (io->pool == NULL)
    g_error ("Cannot start disk threads: %s", error->message);
  return io;
}

void
gbt_disk_io_shutdown (GbtDiskIo *io)
{
  GHashTable *sources;
  GHashTableIter iter;
  GSource *source;
  GThreadPool *pool;

  g_return_if_fail (io != NULL);

  g_mutex_lock (&io->lock);
  if (io->shut_down)
    {
      g_mutex_unlock (&io->lock);
      return;
    }
  g_atomic_int_set (&io->shut_down, TRUE);
  pool = g_steal_pointer (&io->pool);
  g_mutex_unlock (&io->lock);

  /* Not immediate: every queued job still passes through worker_cb(), which
   * sees shut_down and frees it without doing the work; relying on the
   * pool to free what it drops instead leaked jobs under ASan now and then.
   * wait: running jobs finish first.  None can push or deliver any more. */
  g_thread_pool_free (pool, FALSE, TRUE);

  g_mutex_lock (&io->lock);
  sources = g_steal_pointer (&io->sources);
  io->sources = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) g_source_unref, NULL);
  g_mutex_unlock (&io->lock);
  g_hash_table_iter_init (&iter, sources);
  while (g_hash_table_iter_next (&iter, (gpointer *) &source, NULL))
    g_source_destroy (source);
  g_hash_table_unref (sources);
}

void
gbt_disk_io_free (GbtDiskIo *io)
{
  if (io == NULL)
    return;
  gbt_disk_io_shutdown (io);
  g_hash_table_unref (io->sources);
  g_main_context_unref (io->context);
  gbt_metainfo_unref (io->mi);
  g_mutex_clear (&io->lock);
  g_free (io);
}

void
gbt_disk_io_write_piece (GbtDiskIo *io, guint piece, GBytes *data, GbtPieceWrittenFunc func,
                         gpointer user_data)
{
  Job *job;

  g_return_if_fail (io != NULL);
  g_return_if_fail (data != NULL);

  job = job_new (io, JOB_WRITE);
  job->piece = piece;
  job->data = g_bytes_ref (data);
  job->written = func;
  job->user_data = user_data;
  job->pending_counted = TRUE;
  g_atomic_pointer_add (&io->pending_bytes, (gssize) g_bytes_get_size (data));
  push_job (io, job);
}

void
gbt_disk_io_write_piece_checked (GbtDiskIo *io, guint piece, GBytes *data, gboolean hashes_on_pass,
                                 GbtPieceCheckedFunc func, gpointer user_data)
{
  Job *job;

  g_return_if_fail (io != NULL);
  g_return_if_fail (data != NULL);

  job = job_new (io, JOB_WRITE);
  job->piece = piece;
  job->data = g_bytes_ref (data);
  job->checked = func;
  job->hashes_on_pass = hashes_on_pass;
  job->user_data = user_data;
  job->pending_counted = TRUE;
  g_atomic_pointer_add (&io->pending_bytes, (gssize) g_bytes_get_size (data));
  push_job (io, job);
}

void
gbt_disk_io_read_block (GbtDiskIo *io, guint32 piece, guint32 begin, guint32 length,
                        GbtBlockReadFunc func, gpointer user_data)
{
  Job *job;

  g_return_if_fail (io != NULL);

  job = job_new (io, JOB_READ);
  job->piece = piece;
  job->begin = begin;
  job->length = length;
  job->read = func;
  job->user_data = user_data;
  push_job (io, job);
}

void
gbt_disk_io_verify (GbtDiskIo *io, const GbtBitfield *only_pieces,
                    GbtVerifyProgressFunc progress, GbtVerifyDoneFunc done, gpointer user_data)
{
  guint n_pieces;
  guint32 piece_length;
  VerifyOp *op;
  guint n_jobs;

  g_return_if_fail (io != NULL);

  n_pieces = gbt_metainfo_get_n_pieces (io->mi);
  piece_length = gbt_metainfo_get_piece_length (io->mi);
  g_return_if_fail (only_pieces == NULL || only_pieces->n_bits == n_pieces);

  op = g_new0 (VerifyOp, 1);
  op->refs = 1;
  op->io = io;
  g_mutex_init (&op->lock);
  gbt_bitfield_init (&op->have, n_pieces);
  if (only_pieces != NULL)
    {
      op->only = g_memdup2 (only_pieces->bits, MAX (gbt_bitfield_byte_len (n_pieces), 1));
      op->n_to_check = only_pieces->n_set;
    }
  else
    op->n_to_check = n_pieces;
  op->progress = progress;
  op->done = done;
  op->user_data = user_data;
  /* big enough to keep each job busy a while, small enough that every
   * worker gets several even on a small torrent */
  op->pieces_per_chunk = MIN (MAX (CHUNK_BYTES / MAX (piece_length, 1), 1),
                              MAX ((n_pieces + io->n_threads * 4 - 1) / (io->n_threads * 4), 1));
  op->n_chunks = (n_pieces + op->pieces_per_chunk - 1) / op->pieces_per_chunk;

  if (op->n_chunks == 0)
    {
      /* never call back synchronously */
      verify_finish (io, op);
      verify_op_unref (op);
      return;
    }

  n_jobs = MIN (io->n_threads, op->n_chunks);
  for (guint i = 0; i < n_jobs; i++)
    {
      Job *job = job_new (io, JOB_VERIFY_CHUNK);
      job->verify = verify_op_ref (op);
      push_job (io, job);
    }
  verify_op_unref (op);
}

guint64
gbt_disk_io_get_pending_bytes (GbtDiskIo *io)
{
  g_return_val_if_fail (io != NULL, 0);

  return (guint64) g_atomic_pointer_get (&io->pending_bytes);
}
