/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtFile: one file of a torrent, as a live object for a files list
 * (gbt_torrent_get_files()).
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-torrent.h>
#include <gbt/gbt-version.h>

G_BEGIN_DECLS

/**
 * GbtFilePriority:
 * @GBT_FILE_PRIORITY_SKIP: not downloaded; the file is never created (the
 *   bytes of pieces it shares with wanted files are kept aside)
 * @GBT_FILE_PRIORITY_LOW: downloaded after normal and high files' pieces
 * @GBT_FILE_PRIORITY_NORMAL: the default
 * @GBT_FILE_PRIORITY_HIGH: its pieces are requested first
 *
 * How much a file is wanted; the value of #GbtFile:priority.  A piece
 * shared by several files takes the highest priority among them.
 */
typedef enum {
  GBT_FILE_PRIORITY_SKIP = 0,
  GBT_FILE_PRIORITY_LOW = 1,
  GBT_FILE_PRIORITY_NORMAL = 2,
  GBT_FILE_PRIORITY_HIGH = 3,
} GbtFilePriority;

/**
 * GbtFile:
 *
 * One file of a torrent, for a files list: its path and size, the bytes of
 * it in verified pieces and its progress (notified from the torrent's
 * once-a-second tick and its state changes, only when they change), and its
 * priority, which may be set at any time.  Get them from
 * gbt_torrent_get_files().
 */
#define GBT_TYPE_FILE (gbt_file_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (GbtFile, gbt_file, GBT, FILE, GObject)

/**
 * gbt_file_get_index:
 * @self: a #GbtFile
 *
 * The file's position in the metainfo, as #GbtFile:index.
 *
 * Returns: its index among the metainfo's files (pad files included)
 */
GBT_AVAILABLE_IN_ALL
guint gbt_file_get_index (GbtFile *self);

/**
 * gbt_file_get_path:
 * @self: a #GbtFile
 *
 * Where the file lives, as #GbtFile:path.
 *
 * Returns: (transfer none): its path relative to the download directory,
 *   '/'-separated, the torrent's name first for a multi-file torrent (as
 *   renamed by gbt_torrent_rename_path_async(); the string is valid until
 *   the next rename, see #GbtFile:path)
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_file_get_path (GbtFile *self);

/**
 * gbt_file_get_size:
 * @self: a #GbtFile
 *
 * The file's length, as #GbtFile:size.
 *
 * Returns: its length in bytes
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_file_get_size (GbtFile *self);

/**
 * gbt_file_get_offset:
 * @self: a #GbtFile
 *
 * The file's place in the torrent, as #GbtFile:offset.
 *
 * Returns: where its bytes start in the torrent's byte stream
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_file_get_offset (GbtFile *self);

/**
 * gbt_file_get_bytes_have:
 * @self: a #GbtFile
 *
 * The bytes of this file that lie in verified pieces (a piece shared with
 * other files counts for its part inside this one), as of the torrent's
 * last tick (once a second) or state change.
 *
 * Returns: the bytes had
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_file_get_bytes_have (GbtFile *self);

/**
 * gbt_file_get_progress:
 * @self: a #GbtFile
 *
 * How much of the file is had, as #GbtFile:progress.
 *
 * Returns: #GbtFile:bytes-have over #GbtFile:size, 0 to 1 (1 for an
 *   empty file)
 */
GBT_AVAILABLE_IN_ALL
double gbt_file_get_progress (GbtFile *self);

/**
 * gbt_file_get_priority:
 * @self: a #GbtFile
 *
 * How much the file is wanted, as #GbtFile:priority.
 *
 * Returns: how much the file is wanted
 */
GBT_AVAILABLE_IN_ALL
GbtFilePriority gbt_file_get_priority (GbtFile *self);

/**
 * gbt_file_set_priority:
 * @self: a #GbtFile
 * @priority: the new priority
 *
 * The same as gbt_torrent_set_file_priority() on its torrent; does nothing
 * once the torrent is gone.
 */
GBT_AVAILABLE_IN_ALL
void gbt_file_set_priority (GbtFile *self, GbtFilePriority priority);

/**
 * gbt_file_get_torrent:
 * @self: a #GbtFile
 *
 * The torrent the file belongs to.
 *
 * Returns: (transfer none) (nullable): the torrent it belongs to, %NULL
 *   once that torrent is disposed
 */
GBT_AVAILABLE_IN_ALL
GbtTorrent *gbt_file_get_torrent (GbtFile *self);

/**
 * gbt_torrent_get_files:
 * @self: a #GbtTorrent
 *
 * The torrent's files, one #GbtFile per file of the metainfo, in order.
 * Empty until a magnet link's metadata arrives; then every file is added
 * at once (#GListModel::items-changed).  The items are updated in place.
 *
 * Returns: (transfer none): a #GListModel of #GbtFile
 */
GBT_AVAILABLE_IN_ALL
GListModel *gbt_torrent_get_files (GbtTorrent *self);

/**
 * gbt_torrent_set_file_priority:
 * @self: a #GbtTorrent
 * @index: the file's index in the metainfo
 * @priority: its new priority
 *
 * At any time, running or not.  The piece picker follows at once: a
 * skipped file's pieces are no longer requested and requests already sent
 * for pieces no longer wanted are cancelled.  A file wanted again is
 * created first (with the bytes of its shared pieces already verified),
 * then downloaded.  A seeding torrent that wants more goes back to
 * downloading and emits #GbtTorrent::finished again once complete; a
 * downloading one whose remaining pieces are all skipped starts seeding.
 * A skipped file that already exists on disk is left as it is.
 */
GBT_AVAILABLE_IN_ALL
void gbt_torrent_set_file_priority (GbtTorrent *self, guint index, GbtFilePriority priority);

/**
 * gbt_torrent_get_file_priority:
 * @self: a #GbtTorrent
 * @index: the file's index in the metainfo
 *
 * How much one file of the torrent is wanted.
 *
 * Returns: the file's priority (%GBT_FILE_PRIORITY_NORMAL before the
 *   metadata)
 */
GBT_AVAILABLE_IN_ALL
GbtFilePriority gbt_torrent_get_file_priority (GbtTorrent *self, guint index);

/**
 * gbt_torrent_dup_have:
 * @self: a #GbtTorrent
 *
 * The verified pieces as a BitTorrent bitfield (BEP 3): one bit per piece,
 * the high bit of the first byte for piece 0, spare bits zero.
 *
 * Returns: (transfer full) (nullable): the bitfield, %NULL before a magnet
 *   link's metadata
 */
GBT_AVAILABLE_IN_ALL
GBytes *gbt_torrent_dup_have (GbtTorrent *self);

G_END_DECLS
