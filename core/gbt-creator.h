/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtCreator: makes a .torrent (BEP 3, 12 announce-list, 19 url-list, 27
 * private) from a file or a directory.  Internal API: `gbt create`, the
 * tests and the benchmarks drive it.
 *
 * gbt_creator_new() scans the tree once; gbt_creator_hash() then hashes the
 * pieces on worker threads and returns the bencoded torrent.  The output is
 * a pure function of the content, the names and the options: with no
 * creation date set, the same input gives byte-identical torrents.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GBT_CREATOR_ERROR (gbt_creator_error_quark ())
typedef enum {
  GBT_CREATOR_ERROR_FAILED,
  GBT_CREATOR_ERROR_NOT_FOUND,   /* the path does not exist */
  GBT_CREATOR_ERROR_UNSUPPORTED, /* neither a regular file nor a directory */
  GBT_CREATOR_ERROR_EMPTY,       /* a directory without any regular file */
  GBT_CREATOR_ERROR_IO,          /* cannot read or list something */
  GBT_CREATOR_ERROR_CHANGED,     /* a file changed size while being hashed */
  GBT_CREATOR_ERROR_BAD_OPTION,  /* piece size, URL or name not acceptable */
} GbtCreatorErrorEnum;
G_GNUC_INTERNAL GQuark gbt_creator_error_quark (void);

#define GBT_CREATOR_MIN_PIECE_LENGTH (16 * 1024)
#define GBT_CREATOR_MAX_PIECE_LENGTH (16 * 1024 * 1024)

typedef struct _GbtCreator GbtCreator;

/* Called on the thread that runs gbt_creator_hash(), a few times a second
 * and once at the end. */
typedef void (*GbtCreatorProgressFunc) (guint64 bytes_done, guint64 total_bytes,
                                        gpointer user_data);

/* Scans @path: a regular file (single-file torrent) or a directory
 * (multi-file: every regular file below it, hidden ones included, symlinks
 * followed as mktorrent and libtorrent do, directory loops skipped, sorted
 * by relative path bytewise).  Zero-length files are kept (BEP 3 allows
 * them).  The name defaults to the base name of @path. */
G_GNUC_INTERNAL GbtCreator *gbt_creator_new (const char *path, GError **error);
G_GNUC_INTERNAL void gbt_creator_free (GbtCreator *creator);

G_GNUC_INTERNAL gboolean gbt_creator_is_multi_file (GbtCreator *creator);
G_GNUC_INTERNAL guint gbt_creator_get_n_files (GbtCreator *creator);
/* relative to the torrent root, '/'-separated (the base name when single) */
G_GNUC_INTERNAL const char *gbt_creator_get_file_path (GbtCreator *creator, guint index);
G_GNUC_INTERNAL guint64 gbt_creator_get_file_length (GbtCreator *creator, guint index);
G_GNUC_INTERNAL guint64 gbt_creator_get_total_size (GbtCreator *creator);
G_GNUC_INTERNAL const char *gbt_creator_get_name (GbtCreator *creator);

/* One tier of trackers (BEP 12); the first URL of the first tier is also
 * 'announce'.  'announce-list' is written only when there is more than one
 * URL in all. */
G_GNUC_INTERNAL gboolean gbt_creator_add_tier (GbtCreator *creator, const char *const *urls,
                                               GError **error);
G_GNUC_INTERNAL gboolean gbt_creator_add_web_seed (GbtCreator *creator, const char *url,
                                                   GError **error);
G_GNUC_INTERNAL gboolean gbt_creator_set_name (GbtCreator *creator, const char *name,
                                               GError **error);
G_GNUC_INTERNAL void gbt_creator_set_comment (GbtCreator *creator, const char *comment);
G_GNUC_INTERNAL void gbt_creator_set_private (GbtCreator *creator, gboolean is_private);
/* default "gbt <version>"; NULL leaves it out */
G_GNUC_INTERNAL void gbt_creator_set_created_by (GbtCreator *creator, const char *created_by);
/* seconds since the epoch; negative (the default) leaves it out */
G_GNUC_INTERNAL void gbt_creator_set_creation_date (GbtCreator *creator, gint64 date);
/* 0: automatic (the default); else a power of two within the limits above */
G_GNUC_INTERNAL gboolean gbt_creator_set_piece_length (GbtCreator *creator, guint32 length,
                                                       GError **error);
/* the length that will be used */
G_GNUC_INTERNAL guint32 gbt_creator_get_piece_length (GbtCreator *creator);

/* The automatic choice: the smallest power of two, at least 16 KiB and at
 * most 16 MiB, that gives no more than 2048 pieces (so between 1025 and 2048
 * pieces for anything from 32 MiB to 32 GiB). */
G_GNUC_INTERNAL guint32 gbt_creator_auto_piece_length (guint64 total_size);

/* Parses "262144", "256K", "256k", "256KiB", "1M", "4MiB", "1G".  Does not
 * check the power of two. */
G_GNUC_INTERNAL gboolean gbt_creator_parse_size (const char *text, guint64 *out,
                                                 GError **error);

/* Hashes every piece, @n_threads workers (0: one per core), each reading
 * its own pieces with pread and holding one piece buffer.  Blocks; may run
 * on any thread.  Returns the bencoded torrent, keys sorted.
 * @info_hash_out (nullable) receives the SHA-1 of the info dictionary. */
G_GNUC_INTERNAL GBytes *gbt_creator_hash (GbtCreator *creator, guint n_threads,
                                          GbtCreatorProgressFunc progress, gpointer user_data,
                                          GCancellable *cancellable, guint8 info_hash_out[20],
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtCreator, gbt_creator_free)

G_END_DECLS
