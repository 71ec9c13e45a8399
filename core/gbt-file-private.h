/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the torrent calls on its GbtFile objects (gbt-torrent-files.c). */
#pragma once

#include <gbt/gbt-file.h>

G_BEGIN_DECLS

/* @torrent is not owned: gbt_file_detach() before it goes */
G_GNUC_INTERNAL GbtFile *gbt_file_new (GbtTorrent *torrent, guint index, const char *path,
                                       guint64 offset, guint64 size, GbtFilePriority priority);
G_GNUC_INTERNAL void gbt_file_detach (GbtFile *self);
/* notify only what changed */
G_GNUC_INTERNAL void gbt_file_update_have (GbtFile *self, guint64 bytes_have);
/* renamed (gbt_torrent_rename_path_async()) */
G_GNUC_INTERNAL void gbt_file_update_path (GbtFile *self, const char *path);
G_GNUC_INTERNAL void gbt_file_update_priority (GbtFile *self, GbtFilePriority priority);

G_END_DECLS
