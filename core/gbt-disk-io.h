/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtDiskIo: a worker pool that hashes and writes complete pieces, reads
 * blocks for upload and verifies existing data, and reports back on the
 * GMainContext it was created on.  The main loop never blocks on it, except
 * in gbt_disk_io_shutdown(), which waits for jobs already running.
 */
#pragma once

#include <gbt/gbt-metainfo.h>

#include "gbt-bitfield.h"
#include "gbt-storage.h"

G_BEGIN_DECLS

typedef struct _GbtDiskIo GbtDiskIo;

typedef enum {
  GBT_PIECE_RESULT_OK,        /* hash matched and data written */
  GBT_PIECE_RESULT_HASH_FAIL, /* nothing written */
  GBT_PIECE_RESULT_IO_ERROR,  /* hash matched, write failed: error set */
} GbtPieceResult;

typedef void (*GbtPieceWrittenFunc) (guint piece, GbtPieceResult result, const GError *error,
                                     gpointer user_data);
/* As GbtPieceWrittenFunc, with the SHA-1 of each 16 KiB block of the data
 * (20 bytes a block, in order) when asked for: always on HASH_FAIL, and on
 * OK when the write asked for them (smart ban compares them). */
typedef void (*GbtPieceCheckedFunc) (guint piece, GbtPieceResult result, GBytes *block_hashes,
                                     const GError *error, gpointer user_data);
/* @data is NULL on error */
typedef void (*GbtBlockReadFunc) (guint32 piece, guint32 begin, GBytes *data, const GError *error,
                                  gpointer user_data);
typedef void (*GbtVerifyProgressFunc) (guint pieces_checked, guint n_pieces, gpointer user_data);
/* @have: the pieces whose data matched; valid only during the call */
typedef void (*GbtVerifyDoneFunc) (const GbtBitfield *have, const GError *error,
                                   gpointer user_data);

/* @n_threads 0: one per core.  Callbacks run on the thread-default main
 * context of the caller of gbt_disk_io_new(). */
G_GNUC_INTERNAL GbtDiskIo *gbt_disk_io_new (GbtMetainfo *mi, GbtStorage *storage,
                                            guint n_threads);
/* Waits for running jobs, drops queued ones; no callback runs afterwards. */
G_GNUC_INTERNAL void gbt_disk_io_shutdown (GbtDiskIo *io);
G_GNUC_INTERNAL void gbt_disk_io_free (GbtDiskIo *io);

/* Hash @data (the whole piece) against the metainfo, write it if it
 * matches. @data is referenced until the job ends. */
G_GNUC_INTERNAL void gbt_disk_io_write_piece (GbtDiskIo *io, guint piece, GBytes *data,
                                              GbtPieceWrittenFunc func, gpointer user_data);
/* the same, with block hashes on failure, and on success when
 * @hashes_on_pass (a piece that failed before) */
G_GNUC_INTERNAL void gbt_disk_io_write_piece_checked (GbtDiskIo *io, guint piece, GBytes *data,
                                                      gboolean hashes_on_pass,
                                                      GbtPieceCheckedFunc func,
                                                      gpointer user_data);
G_GNUC_INTERNAL void gbt_disk_io_read_block (GbtDiskIo *io, guint32 piece, guint32 begin,
                                             guint32 length, GbtBlockReadFunc func,
                                             gpointer user_data);
/* Check every piece with data on disk (missing files count as missing
 * pieces), using all workers.  @only_pieces: NULL = all, else the pieces to
 * check. */
G_GNUC_INTERNAL void gbt_disk_io_verify (GbtDiskIo *io, const GbtBitfield *only_pieces,
                                         GbtVerifyProgressFunc progress, GbtVerifyDoneFunc done,
                                         gpointer user_data);
/* bytes handed to write_piece whose jobs have not finished: for back-pressure */
G_GNUC_INTERNAL guint64 gbt_disk_io_get_pending_bytes (GbtDiskIo *io);

G_END_DECLS
