/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resume data: what a torrent needs to restart without re-hashing
 * everything.  One bencoded file per torrent, download_dir/.gbt/<hex>.resume:
 *
 *   d
 *     14:active-seconds i..e   seconds the torrent ran
 *     10:downloaded i..e       payload bytes, as the tracker counters
 *     5:files l d 6:exists i0|1e 5:mtime i<s>e 8:mtime-ns i<ns>e [5:parts i1e]
 *                  4:size i..e e ... e
 *                              one per metainfo file, pad files included (exists 0);
 *                              "parts": its share of the verified boundary
 *                              pieces is in the parts file, not in the file
 *     9:info-hash 20:...
 *     5:peers  <6n bytes>      compact IPv4 (BEP 23), at most GBT_RESUME_MAX_PEERS
 *     6:peers6 <18n bytes>     compact IPv6 (BEP 7), counted in the same bound
 *     6:pieces <bytes>         the verified pieces, wire-order bitfield
 *     8:uploaded i..e
 *     7:version i1e
 *   e
 *
 * The contract with the torrent (why the bitmap can be trusted):
 *  1. A piece's bit is set only after its data was written (the torrent
 *     writes a piece once its hash matches, and marks it had afterwards).
 *  2. To save: snapshot the have bitmap, flush the storage (fdatasync, so
 *     every piece the bitmap names is on disk before a file says so), then
 *     gbt_resume_stat_files() and gbt_resume_save(), all in a worker.
 *     A piece written between the snapshot and the stat() changes a
 *     file's mtime, but its bit is 0 in the snapshot: harmless, it is
 *     downloaded or verified again.  A piece written AFTER the stat()
 *     moves the mtime on disk past the saved one: on the next start every
 *     had piece of that file is re-verified.  Correct, only slower; saving
 *     again once the torrent is idle (stopped, or complete) keeps that
 *     rare.  Stat()ing before the snapshot would be as safe but slower:
 *     every piece finished in between would cost its file a re-verify.
 *  3. On start: gbt_resume_load(), then gbt_resume_trusted_pieces(): trust
 *     @trusted as had, hash @recheck (every piece of a changed file) before
 *     trusting any of them, and treat the rest as missing.
 *
 * Writes are atomic: a temporary file in the same directory, fsync, rename,
 * fsync of the directory.  A crash leaves either the old file or the new
 * one, plus perhaps a stray "<name>.XXXXXX.tmp" that loading never reads.
 * All the functions that touch files block: call them from worker threads.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-metainfo.h>

#include "gbt-bitfield.h"

G_BEGIN_DECLS

#define GBT_RESUME_ERROR (gbt_resume_error_quark ())
typedef enum {
  GBT_RESUME_ERROR_FAILED,
  GBT_RESUME_ERROR_NOT_FOUND, /* no resume file: a fresh start */
  GBT_RESUME_ERROR_IO,        /* could not read or write it */
  GBT_RESUME_ERROR_MALFORMED, /* not a resume file we understand */
  GBT_RESUME_ERROR_STALE,     /* for another torrent: info-hash, piece or file count differ */
} GbtResumeErrorEnum;
G_GNUC_INTERNAL GQuark gbt_resume_error_quark (void);

#define GBT_RESUME_MAX_PEERS 200
#define GBT_RESUME_MAX_SIZE (64 * 1024 * 1024)

typedef struct {
  guint64 size;
  gint64 mtime_s;
  gint32 mtime_ns;
  gboolean exists; /* FALSE: missing when stat()ed, or a pad file */
  gboolean in_parts; /* its bytes were kept in the parts file (an unwanted file) */
} GbtResumeFile;

typedef struct {
  guint8 info_hash[20];
  GbtBitfield have;  /* one bit per piece of the torrent */
  GArray *files;     /* GbtResumeFile, one per metainfo file */
  guint64 uploaded, downloaded, active_seconds;
  GPtrArray *peers;  /* GInetSocketAddress*, owned; only the first GBT_RESUME_MAX_PEERS are saved */
} GbtResumeData;

/* Empty data for @mi: its info-hash, no pieces, files not stat()ed yet. */
G_GNUC_INTERNAL GbtResumeData *gbt_resume_data_new (GbtMetainfo *mi);
G_GNUC_INTERNAL void gbt_resume_data_free (GbtResumeData *data);

/* The bencoded form (above). */
G_GNUC_INTERNAL GBytes *gbt_resume_encode (const GbtResumeData *data);
/* Parses and validates against @mi: info-hash equal, bitmap of the piece
 * count (spare bits clear), one entry per file.  Anything else is a GError,
 * never a crash: MALFORMED for a bad encoding, STALE for another torrent. */
G_GNUC_INTERNAL GbtResumeData *gbt_resume_decode (GBytes *bytes, GbtMetainfo *mi,
                                                  GError **error);

/* Blocking.  Writes @path atomically (creating its directory, mode 0700). */
G_GNUC_INTERNAL gboolean gbt_resume_save (const char *path, const GbtResumeData *data,
                                          GError **error);
/* Blocking.  Reads @path and decodes it; NOT_FOUND when there is none. */
G_GNUC_INTERNAL GbtResumeData *gbt_resume_load (const char *path, GbtMetainfo *mi,
                                                GError **error);

/* Blocking: snapshots the size and mtime of each file under @download_dir
 * into data->files (see the contract above for when). */
G_GNUC_INTERNAL void gbt_resume_stat_files (GbtResumeData *data, GbtMetainfo *mi,
                                            const char *download_dir);

/* Blocking: stat()s the files now.  A file is unchanged when it existed at
 * save time and still has the saved size and mtime (to the nanosecond).
 * @trusted gets the pieces of data->have whose every (non-pad) file is
 * unchanged; @recheck every piece touching a changed file (had or not: a
 * piece written after the last save is on disk but not in the bitmap).
 * Both are initialised here (free with gbt_bitfield_clear()). */
G_GNUC_INTERNAL void gbt_resume_trusted_pieces (GbtResumeData *data, GbtMetainfo *mi,
                                                const char *download_dir,
                                                GbtBitfield *trusted, GbtBitfield *recheck);

/* The same with the files at @paths (relative to @download_dir, one per
 * metainfo file) rather than the metainfo's paths: a renamed file's. */
G_GNUC_INTERNAL void gbt_resume_stat_files_at (GbtResumeData *data, GbtMetainfo *mi,
                                               const char *download_dir,
                                               const char *const *paths);
G_GNUC_INTERNAL void gbt_resume_trusted_pieces_at (GbtResumeData *data, GbtMetainfo *mi,
                                                   const char *download_dir,
                                                   const char *const *paths,
                                                   GbtBitfield *trusted, GbtBitfield *recheck);

/* download_dir/.gbt/<40 hex digits>.resume */
/* download_dir/.gbt/<40 hex digits><suffix>: the files gbt keeps beside a
 * torrent's data (".resume", ".parts", ".info"); a NULL download_dir gives
 * the path relative to it */
G_GNUC_INTERNAL char *gbt_resume_sidecar_path (const char *download_dir,
                                               const guint8 info_hash[20], const char *suffix);
G_GNUC_INTERNAL char *gbt_resume_path_for (const char *download_dir,
                                           const guint8 info_hash[20]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtResumeData, gbt_resume_data_free)

/* ---- saving while a torrent runs ----
 *
 * A saver writes a torrent's resume data on a worker (flush the storage,
 * stat the files, write atomically) and coalesces: a save asked for while
 * one runs is served by one more save when that one is done, so the save of
 * a stop is never lost to one that started on completion. */
typedef struct _GbtResumeSaver GbtResumeSaver;
typedef struct _GbtStorage GbtStorage;
/* On the main loop: the data to save now (transfer full), or NULL when
 * there is nothing to save (not live: during the check the bitmap is
 * incomplete and would make verified data look missing). */
typedef GbtResumeData *(*GbtResumeSnapshotFunc) (gpointer data);

/* @owner: the source object of the saves' tasks, kept alive while one runs */
G_GNUC_INTERNAL GbtResumeSaver *gbt_resume_saver_new (GObject *owner, const char *path,
                                                      const char *download_dir,
                                                      GbtResumeSnapshotFunc snapshot,
                                                      gpointer data);
G_GNUC_INTERNAL void gbt_resume_saver_free (GbtResumeSaver *saver);
/* the resume file moved (a torrent's data moved with its sidecars); only
 * while no save runs: the torrent is stopped */
G_GNUC_INTERNAL void gbt_resume_saver_set_path (GbtResumeSaver *saver, const char *path);
/* the files to stat and flush, once the metadata is known (borrowed) */
G_GNUC_INTERNAL void gbt_resume_saver_set_storage (GbtResumeSaver *saver, GbtMetainfo *mi,
                                                   GbtStorage *storage);
/* Saves; @callback (optional) runs with a boolean result (TRUE: a save was
 * made) once a save that started after this call is over. */
G_GNUC_INTERNAL void gbt_resume_saver_save (GbtResumeSaver *saver, GAsyncReadyCallback callback,
                                            gpointer user_data);

G_END_DECLS
