/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage: maps the torrent's byte stream onto its files under the download
 * directory.  All functions here block (open, pread, pwrite): call them only
 * from worker threads (GbtDiskIo), never from the main loop.  Safe to call
 * from several threads at once.
 */
#pragma once

#include <gbt/gbt-metainfo.h>

#include "gbt-bitfield.h"

G_BEGIN_DECLS

#define GBT_STORAGE_ERROR (gbt_storage_error_quark ())

/* Writes whose buffer, file offset and length are multiples of this go to
 * the disk with O_DIRECT where the file system takes it (no copy into the
 * page cache); the rest, and every read, through the page cache. */
#define GBT_STORAGE_DIRECT_ALIGN 4096
typedef enum {
  GBT_STORAGE_ERROR_FAILED,
  GBT_STORAGE_ERROR_IO,
  GBT_STORAGE_ERROR_UNSAFE_PATH,
  GBT_STORAGE_ERROR_TRUNCATED, /* a file on disk is shorter than the torrent says */
} GbtStorageErrorEnum;
G_GNUC_INTERNAL GQuark gbt_storage_error_quark (void);

typedef struct _GbtStorage GbtStorage;

/* Nothing touches the disk yet. */
G_GNUC_INTERNAL GbtStorage *gbt_storage_new (GbtMetainfo *mi, const char *download_dir);
G_GNUC_INTERNAL void gbt_storage_free (GbtStorage *storage);
/* file_wanted[i] FALSE: file i is never created nor written; NULL = all */
G_GNUC_INTERNAL void gbt_storage_set_wanted (GbtStorage *storage, const gboolean *file_wanted);
/* the same for one file */
G_GNUC_INTERNAL void gbt_storage_set_file_wanted (GbtStorage *storage, guint index,
                                                  gboolean wanted);
/* Where the bytes of boundary pieces that fall in unwanted files are kept
 * (relative to the download directory), so such pieces can be verified and
 * served without creating the skipped files.  Without one they are dropped. */
G_GNUC_INTERNAL void gbt_storage_set_parts_path (GbtStorage *storage, const char *relpath);
/* Blocking, before any I/O: an unwanted file that already exists on disk
 * keeps its bytes (nothing is moved into the parts file for it). */
G_GNUC_INTERNAL void gbt_storage_place_files (GbtStorage *storage);
/* Whether file @index's bytes live in the parts file now. */
G_GNUC_INTERNAL gboolean gbt_storage_file_in_parts (GbtStorage *storage, guint index);
/* Blocking.  For the files of stream range [@offset, @offset + @len) whose
 * bytes were in the parts file (@was_in_parts, one bit per file) and now
 * belong in the file itself: copies them from the parts file into the file
 * (creating it).  How a file selected after a --select run gets its share of
 * the boundary pieces already verified, without downloading them again. */
G_GNUC_INTERNAL gboolean gbt_storage_adopt_parts (GbtStorage *storage, guint64 offset, gsize len,
                                                  const GbtBitfield *was_in_parts,
                                                  GError **error);
/* Creates directories and (sparse) files of their full length where missing;
 * pad files and unwanted files are skipped; zero-length files are created.
 * Refuses symlinks in the way that would lead outside the directory. */
G_GNUC_INTERNAL gboolean gbt_storage_create_files (GbtStorage *storage, GError **error);
/* Blocking.  While the torrent runs: file @index becomes wanted (its
 * shares of boundary pieces kept in the parts file are moved into it, and it
 * is created at its full length) or unwanted (a file already on disk keeps
 * its bytes; else its share of boundary pieces goes to the parts file). */
G_GNUC_INTERNAL gboolean gbt_storage_set_file_wanted_live (GbtStorage *storage, guint index,
                                                           gboolean wanted, guint32 piece_length,
                                                           GError **error);
/* Write/read @len bytes at @offset in the torrent stream, across files; pad
 * ranges are skipped on write and read as zeros.  Reads of missing files fail
 * with G_IO_ERROR_NOT_FOUND. */
G_GNUC_INTERNAL gboolean gbt_storage_write (GbtStorage *storage, guint64 offset,
                                            const guint8 *data, gsize len, GError **error);
G_GNUC_INTERNAL gboolean gbt_storage_read (GbtStorage *storage, guint64 offset, guint8 *buf,
                                           gsize len, GError **error);
/* fdatasync every open file; close cached descriptors */
G_GNUC_INTERNAL gboolean gbt_storage_flush (GbtStorage *storage, GError **error);
G_GNUC_INTERNAL void gbt_storage_close (GbtStorage *storage);
/* bytes written with O_DIRECT (0 where the file system refuses it, or with
 * GBT_DIRECT_IO=0) */
G_GNUC_INTERNAL guint64 gbt_storage_get_direct_bytes (GbtStorage *storage);
/* Process-wide: at most @n file descriptors cached by all storages together
 * (least recently used closed first; 256 by default). */
G_GNUC_INTERNAL void gbt_storage_set_fd_budget (guint n);
/* Process-wide: file descriptors cached now (a storage's directory aside) */
G_GNUC_INTERNAL guint gbt_storage_get_n_cached_fds (void);

/* Where the files are: the download directory and each file's path below
 * it ('/'-separated; the metainfo's until a rename).  Safe from any thread.
 * (transfer full) */
G_GNUC_INTERNAL char *gbt_storage_dup_download_dir (GbtStorage *storage);
G_GNUC_INTERNAL char *gbt_storage_dup_path (GbtStorage *storage, guint index);
G_GNUC_INTERNAL GStrv gbt_storage_dup_paths (GbtStorage *storage);
/* Only while no I/O runs (the torrent is stopped and its disk workers
 * shut down): the files are at @download_dir from now on (cached
 * descriptors closed), or file @index at @path (relative, checked before
 * any open).  The old strings are kept until the storage is freed, so a
 * reader that raced anyway reads a valid path. */
G_GNUC_INTERNAL void gbt_storage_set_download_dir (GbtStorage *storage, const char *download_dir);
G_GNUC_INTERNAL void gbt_storage_set_path (GbtStorage *storage, guint index, const char *path);

G_END_DECLS
