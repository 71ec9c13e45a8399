/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtCreator: makes a .torrent (BEP 3, 12 announce-list, 19 url-list, 27
 * private) from a file or a directory.
 */
#pragma once

#include <gio/gio.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_CREATOR_ERROR (gbt_creator_error_quark ())

/**
 * GbtCreatorError:
 * @GBT_CREATOR_ERROR_FAILED: any other failure
 * @GBT_CREATOR_ERROR_NOT_FOUND: the path does not exist
 * @GBT_CREATOR_ERROR_UNSUPPORTED: neither a regular file nor a directory
 * @GBT_CREATOR_ERROR_EMPTY: a directory without any regular file, or no data
 * @GBT_CREATOR_ERROR_IO: cannot read or list something
 * @GBT_CREATOR_ERROR_CHANGED: a file changed size while being hashed
 * @GBT_CREATOR_ERROR_BAD_OPTION: piece size, URL or name not acceptable
 *
 * Error codes in the %GBT_CREATOR_ERROR domain (`Gbt.CreatorError` in
 * bindings).
 */
typedef enum {
  GBT_CREATOR_ERROR_FAILED,
  GBT_CREATOR_ERROR_NOT_FOUND,
  GBT_CREATOR_ERROR_UNSUPPORTED,
  GBT_CREATOR_ERROR_EMPTY,
  GBT_CREATOR_ERROR_IO,
  GBT_CREATOR_ERROR_CHANGED,
  GBT_CREATOR_ERROR_BAD_OPTION,
} GbtCreatorError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtCreatorError, as GLib's GFooError). */
typedef GbtCreatorError GbtCreatorErrorEnum;
#define GBT_TYPE_CREATOR_ERROR_ENUM (gbt_creator_error_get_type ())
#endif

/**
 * gbt_creator_error_quark:
 *
 * Gets the #GQuark of the %GBT_CREATOR_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_creator_error_quark (void);

/**
 * GBT_CREATOR_MIN_PIECE_LENGTH:
 *
 * The smallest piece length gbt_creator_set_piece_length() accepts.
 */
#define GBT_CREATOR_MIN_PIECE_LENGTH (16 * 1024)
/**
 * GBT_CREATOR_MAX_PIECE_LENGTH:
 *
 * The largest piece length gbt_creator_set_piece_length() accepts.
 */
#define GBT_CREATOR_MAX_PIECE_LENGTH (16 * 1024 * 1024)

/**
 * GbtCreator:
 *
 * Makes a .torrent file (BitTorrent v1) from a file or a directory:
 * [ctor@Gbt.Creator.new] scans the path, the setters choose trackers, web
 * seeds, name, piece length and flags, and
 * [method@Gbt.Creator.create_async] hashes the data on worker threads,
 * emitting [signal@Gbt.Creator::progress] on the caller's main context.
 */
#define GBT_TYPE_CREATOR (gbt_creator_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtCreator, gbt_creator, GBT, CREATOR, GObject)

/**
 * gbt_creator_new:
 * @path: (type filename): a regular file or a directory
 * @error: return location for a #GError
 *
 * Scans @path: a regular file (single-file torrent) or a directory
 * (multi-file: every regular file below it, hidden ones included, symlinks
 * followed, directory loops skipped, sorted by relative path bytewise).
 * The name defaults to the base name of @path.
 *
 * With no creation date set, the same input gives byte-identical torrents.
 *
 * Returns: (transfer full): a new creator, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtCreator *gbt_creator_new (const char *path, GError **error);

/**
 * gbt_creator_is_multi_file:
 * @self: a #GbtCreator
 *
 * Checks whether the torrent has a file list (@path was a directory).
 *
 * Returns: whether the torrent has a file list (@path was a directory)
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_is_multi_file (GbtCreator *self);
/**
 * gbt_creator_get_n_files:
 * @self: a #GbtCreator
 *
 * Gets the number of files found.
 *
 * Returns: the number of files found
 */
GBT_AVAILABLE_IN_ALL
guint gbt_creator_get_n_files (GbtCreator *self);
/**
 * gbt_creator_get_file_path:
 * @self: a #GbtCreator
 * @index: a file index, below gbt_creator_get_n_files()
 *
 * Gets the file's path relative to the torrent root, '/'-separated (the base
 * name for a single file).
 *
 * Returns: the file's path relative to the torrent root, '/'-separated (the
 *   base name for a single file)
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_creator_get_file_path (GbtCreator *self, guint index);
/**
 * gbt_creator_get_file_length:
 * @self: a #GbtCreator
 * @index: a file index, below gbt_creator_get_n_files()
 *
 * Gets the file's size in bytes, as scanned.
 *
 * Returns: the file's size in bytes, as scanned
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_creator_get_file_length (GbtCreator *self, guint index);
/**
 * gbt_creator_get_total_size:
 * @self: a #GbtCreator
 *
 * Gets the size of all files, in bytes.
 *
 * Returns: the size of all files, in bytes
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_creator_get_total_size (GbtCreator *self);
/**
 * gbt_creator_get_name:
 * @self: a #GbtCreator
 *
 * Gets the torrent's name.
 *
 * Returns: the torrent's name
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_creator_get_name (GbtCreator *self);

/**
 * gbt_creator_add_tier:
 * @self: a #GbtCreator
 * @urls: (array zero-terminated=1): the tier's announce URLs
 * @error: return location for a #GError
 *
 * Adds one tier of trackers (BEP 12).  The first URL of the first tier is
 * also 'announce'; 'announce-list' is written only when there is more than
 * one URL in all.
 *
 * Returns: %TRUE, or %FALSE with %GBT_CREATOR_ERROR_BAD_OPTION
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_add_tier (GbtCreator *self, const char *const *urls, GError **error);
/**
 * gbt_creator_add_web_seed:
 * @self: a #GbtCreator
 * @url: an HTTP(S) URL (BEP 19)
 * @error: return location for a #GError
 *
 * Adds a BEP 19 web seed ("url-list").
 *
 * Returns: %TRUE, or %FALSE with %GBT_CREATOR_ERROR_BAD_OPTION
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_add_web_seed (GbtCreator *self, const char *url, GError **error);
/**
 * gbt_creator_set_name:
 * @self: a #GbtCreator
 * @name: the torrent's name: not empty, no '/', not "." or ".."
 * @error: return location for a #GError
 *
 * Sets the torrent's name (by default the base name of the path).
 *
 * Returns: %TRUE, or %FALSE with %GBT_CREATOR_ERROR_BAD_OPTION
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_set_name (GbtCreator *self, const char *name, GError **error);
/**
 * gbt_creator_set_comment:
 * @self: a #GbtCreator
 * @comment: (nullable): a comment, or %NULL for none
 *
 * Sets the torrent's comment.
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_set_comment (GbtCreator *self, const char *comment);
/**
 * gbt_creator_set_private:
 * @self: a #GbtCreator
 * @is_private: whether to set the private flag (BEP 27)
 *
 * Sets or clears the private flag (BEP 27: peers only from trackers).
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_set_private (GbtCreator *self, gboolean is_private);
/**
 * gbt_creator_set_created_by:
 * @self: a #GbtCreator
 * @created_by: (nullable): the 'created by' field; %NULL leaves it out
 *
 * The default is "gbt VERSION".
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_set_created_by (GbtCreator *self, const char *created_by);
/**
 * gbt_creator_set_creation_date:
 * @self: a #GbtCreator
 * @date: seconds since the epoch; negative (the default) leaves it out
 *
 * Sets the creation date.  Left out, the same input gives
 * byte-identical torrents.
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_set_creation_date (GbtCreator *self, gint64 date);
/**
 * gbt_creator_set_piece_length:
 * @self: a #GbtCreator
 * @length: 0 for automatic (the default), else a power of two from
 *   %GBT_CREATOR_MIN_PIECE_LENGTH to %GBT_CREATOR_MAX_PIECE_LENGTH
 * @error: return location for a #GError
 *
 * Sets the piece length.
 *
 * Returns: %TRUE, or %FALSE with %GBT_CREATOR_ERROR_BAD_OPTION
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_set_piece_length (GbtCreator *self, guint32 length, GError **error);
/**
 * gbt_creator_get_piece_length:
 * @self: a #GbtCreator
 *
 * Gets the piece length that will be used (the automatic one if unset).
 *
 * Returns: the piece length that will be used (the automatic one if unset)
 */
GBT_AVAILABLE_IN_ALL
guint32 gbt_creator_get_piece_length (GbtCreator *self);
/**
 * gbt_creator_set_n_threads:
 * @self: a #GbtCreator
 * @n_threads: hashing threads; 0 (the default) for one per core
 *
 * Sets how many threads hash the data.
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_set_n_threads (GbtCreator *self, guint n_threads);

/**
 * gbt_creator_auto_piece_length:
 * @total_size: the size of the data
 *
 * The automatic choice: the smallest power of two, at least 16 KiB and at
 * most 16 MiB, that gives no more than 2048 pieces.
 *
 * Returns: a piece length
 */
GBT_AVAILABLE_IN_ALL
guint32 gbt_creator_auto_piece_length (guint64 total_size);

/**
 * gbt_creator_parse_size:
 * @text: "262144", "256K", "256k", "256KiB", "1M", "4MiB", "1G"
 * @out: (out): the size in bytes
 * @error: return location for a #GError
 *
 * Parses a size as a user writes it.  Does not check for a power of two.
 *
 * Returns: %TRUE, or %FALSE with %GBT_CREATOR_ERROR_BAD_OPTION
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_creator_parse_size (const char *text, guint64 *out, GError **error);

/**
 * gbt_creator_create_async:
 * @self: a #GbtCreator
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called on the thread-default main context of
 *   the caller when the torrent is made
 * @user_data: data for @callback
 *
 * Hashes every piece on worker threads (see gbt_creator_set_n_threads()),
 * never on the caller's thread, emitting #GbtCreator::progress on the
 * caller's main context a few times a second.  Options must not change
 * until it finishes.
 */
GBT_AVAILABLE_IN_ALL
void gbt_creator_create_async (GbtCreator *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_creator_create_finish:
 * @self: a #GbtCreator
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes the operation started with gbt_creator_create_async().
 *
 * Returns: (transfer full): the bencoded torrent (keys sorted), or %NULL
 *   with @error set
 */
GBT_AVAILABLE_IN_ALL
GBytes *gbt_creator_create_finish (GbtCreator *self, GAsyncResult *result, GError **error);

G_END_DECLS
