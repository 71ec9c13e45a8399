/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checking data on disk against a torrent: every piece hashed on worker
 * threads, each piece then called good, bad (its data is all there but
 * hashes differently) or missing (a file it needs is absent or too short).
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtVerifyPieceState:
 * @GBT_VERIFY_PIECE_GOOD: the data matches the piece's hash
 * @GBT_VERIFY_PIECE_BAD: the data is all there but hashes differently
 * @GBT_VERIFY_PIECE_MISSING: a file the piece needs is absent or too short
 *
 * What gbt_metainfo_verify_async() found for one piece.
 */
typedef enum {
  GBT_VERIFY_PIECE_GOOD,
  GBT_VERIFY_PIECE_BAD,
  GBT_VERIFY_PIECE_MISSING,
} GbtVerifyPieceState;

/**
 * GbtVerifyFileState:
 * @GBT_VERIFY_FILE_OK: present with at least its full length (or a pad
 *   file, or empty)
 * @GBT_VERIFY_FILE_ABSENT: not there, or not a regular file
 * @GBT_VERIFY_FILE_SHORT: shorter than the torrent says
 *
 * What gbt_metainfo_verify_async() found for one file.
 */
typedef enum {
  GBT_VERIFY_FILE_OK,
  GBT_VERIFY_FILE_ABSENT,
  GBT_VERIFY_FILE_SHORT,
} GbtVerifyFileState;

/**
 * GbtVerifyResult:
 *
 * The outcome of gbt_metainfo_verify_async(): a state per piece and per
 * file.  Immutable.
 */
typedef struct _GbtVerifyResult GbtVerifyResult;

#define GBT_TYPE_VERIFY_RESULT (gbt_verify_result_get_type ())
GBT_AVAILABLE_IN_ALL
GType gbt_verify_result_get_type (void) G_GNUC_CONST;

/**
 * gbt_verify_result_ref:
 * @result: a #GbtVerifyResult
 *
 * Takes a reference on @result.
 *
 * Returns: (transfer full): @result
 */
GBT_AVAILABLE_IN_ALL
GbtVerifyResult *gbt_verify_result_ref (GbtVerifyResult *result);
/**
 * gbt_verify_result_unref:
 * @result: (transfer full): a #GbtVerifyResult
 *
 * Drops a reference on @result, freeing it with the last.
 */
GBT_AVAILABLE_IN_ALL
void gbt_verify_result_unref (GbtVerifyResult *result);

/**
 * gbt_verify_result_get_n_pieces:
 * @result: a #GbtVerifyResult
 *
 * Gets the number of pieces in the torrent.
 *
 * Returns: the number of pieces in the torrent
 */
GBT_AVAILABLE_IN_ALL
guint gbt_verify_result_get_n_pieces (GbtVerifyResult *result);
/**
 * gbt_verify_result_get_n_good:
 * @result: a #GbtVerifyResult
 *
 * Gets the number of pieces whose data matched.
 *
 * Returns: the number of pieces whose data matched
 */
GBT_AVAILABLE_IN_ALL
guint gbt_verify_result_get_n_good (GbtVerifyResult *result);
/**
 * gbt_verify_result_get_piece_state:
 * @result: a #GbtVerifyResult
 * @piece: a piece index, below gbt_verify_result_get_n_pieces()
 *
 * Gets the piece's state.
 *
 * Returns: the piece's state
 */
GBT_AVAILABLE_IN_ALL
GbtVerifyPieceState gbt_verify_result_get_piece_state (GbtVerifyResult *result, guint piece);
/**
 * gbt_verify_result_get_file_state:
 * @result: a #GbtVerifyResult
 * @file: a file index, below gbt_metainfo_get_n_files()
 * @size_on_disk: (out) (optional): the file's size on disk (0 when absent)
 *
 * Gets the file's state.
 *
 * Returns: the file's state
 */
GBT_AVAILABLE_IN_ALL
GbtVerifyFileState gbt_verify_result_get_file_state (GbtVerifyResult *result, guint file,
                                                     guint64 *size_on_disk);
/**
 * gbt_verify_result_get_good_bytes:
 * @result: a #GbtVerifyResult
 *
 * Gets the bytes in good pieces.
 *
 * Returns: the bytes in good pieces
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_verify_result_get_good_bytes (GbtVerifyResult *result);
/**
 * gbt_verify_result_get_bytes_checked:
 * @result: a #GbtVerifyResult
 *
 * Gets the bytes the check covered (the torrent's total size).
 *
 * Returns: the bytes the check covered (the torrent's total size)
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_verify_result_get_bytes_checked (GbtVerifyResult *result);
/**
 * gbt_verify_result_get_seconds:
 * @result: a #GbtVerifyResult
 *
 * Gets how long the hashing took, in seconds.
 *
 * Returns: how long the hashing took, in seconds
 */
GBT_AVAILABLE_IN_ALL
double gbt_verify_result_get_seconds (GbtVerifyResult *result);

/**
 * GbtVerifyProgressCallback:
 * @pieces_checked: pieces hashed so far
 * @n_pieces: the number of pieces
 * @user_data: the data given with the callback
 *
 * Called on the caller's main context while gbt_metainfo_verify_async()
 * runs.
 */
typedef void (*GbtVerifyProgressCallback) (guint pieces_checked, guint n_pieces,
                                           gpointer user_data);

/**
 * gbt_metainfo_verify_async:
 * @mi: a #GbtMetainfo
 * @dir: (type filename): the directory holding the data (the torrent's
 *   name is a file or directory inside it)
 * @n_threads: hashing threads; 0 for one per core
 * @progress: (nullable) (scope notified) (closure progress_data)
 *   (destroy progress_notify): called now and then with the pieces checked
 * @progress_data: data for @progress
 * @progress_notify: (nullable): frees @progress_data when no more progress
 *   will be reported
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when every piece has been checked
 * @user_data: data for @callback
 *
 * Hashes every piece of the data found in @dir on worker threads; the
 * caller's thread-default main context only collects the results.
 */
GBT_AVAILABLE_IN_ALL
void gbt_metainfo_verify_async (GbtMetainfo *mi, const char *dir, guint n_threads,
                                GbtVerifyProgressCallback progress, gpointer progress_data,
                                GDestroyNotify progress_notify, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_metainfo_verify_finish:
 * @mi: a #GbtMetainfo
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes the operation started with gbt_metainfo_verify_async().
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtVerifyResult *gbt_metainfo_verify_finish (GbtMetainfo *mi, GAsyncResult *result,
                                             GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtVerifyResult, gbt_verify_result_unref)

G_END_DECLS
