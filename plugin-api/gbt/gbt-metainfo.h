/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * .torrent metainfo (BEP 3, 12, 27, 47, 19).  Immutable and reference
 * counted.  File paths are sanitised: nothing a GbtMetainfo names can lead
 * outside the download directory; each change made is listed as a warning.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_METAINFO_ERROR (gbt_metainfo_error_quark ())

typedef enum {
  GBT_METAINFO_ERROR_FAILED,
  GBT_METAINFO_ERROR_BENCODE,        /* not valid bencode (message has the byte offset) */
  GBT_METAINFO_ERROR_MISSING_FIELD,
  GBT_METAINFO_ERROR_BAD_FIELD,      /* a field of the wrong type or value */
  GBT_METAINFO_ERROR_BAD_PIECES,     /* piece length / pieces / total size inconsistent */
  GBT_METAINFO_ERROR_UNSAFE_PATH,    /* a path that cannot be made safe */
  GBT_METAINFO_ERROR_INFO_HASH,      /* info dictionary does not match the expected hash */
} GbtMetainfoErrorEnum;

typedef enum {
  GBT_FILE_ATTR_NONE = 0,
  GBT_FILE_ATTR_PAD = 1 << 0,        /* BEP 47 'p': never written */
  GBT_FILE_ATTR_EXECUTABLE = 1 << 1, /* 'x' */
  GBT_FILE_ATTR_HIDDEN = 1 << 2,     /* 'h' */
  GBT_FILE_ATTR_SYMLINK = 1 << 3,    /* 'l' */
} GbtFileAttr;

typedef struct {
  /* relative to the download directory, components joined by '/'; for a
   * multi-file torrent it starts with the (sanitised) torrent name */
  const char *path;
  guint64 length;
  guint64 offset; /* within the torrent's byte stream */
  guint32 attr; /* GbtFileAttr */
  const char *symlink_target; /* nullable */
} GbtFileInfo;

typedef struct _GbtMetainfo GbtMetainfo;

#define GBT_TYPE_METAINFO (gbt_metainfo_get_type ())
GBT_AVAILABLE_IN_ALL
GType gbt_metainfo_get_type (void);

GBT_AVAILABLE_IN_ALL
GQuark gbt_metainfo_error_quark (void);

GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_bytes (GBytes *bytes, GError **error);
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_file (const char *path, GError **error);
/* from a bare info dictionary (ut_metadata); checked against @info_hash */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_info (GBytes *info, const guint8 info_hash[20],
                                         GError **error);
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_ref (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
void gbt_metainfo_unref (GbtMetainfo *mi);

GBT_AVAILABLE_IN_ALL
const guint8 *gbt_metainfo_get_info_hash (GbtMetainfo *mi); /* 20 bytes */
GBT_AVAILABLE_IN_ALL
char *gbt_metainfo_dup_info_hash_hex (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
GBytes *gbt_metainfo_get_info_bytes (GbtMetainfo *mi); /* (transfer none) exact info span */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_name (GbtMetainfo *mi); /* sanitised */
GBT_AVAILABLE_IN_ALL
gboolean gbt_metainfo_is_multi_file (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
guint64 gbt_metainfo_get_total_size (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
guint32 gbt_metainfo_get_piece_length (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_pieces (GbtMetainfo *mi);
/* the last piece may be shorter */
GBT_AVAILABLE_IN_ALL
guint32 gbt_metainfo_get_piece_size (GbtMetainfo *mi, guint piece);
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_metainfo_get_piece_hash (GbtMetainfo *mi, guint piece); /* 20 bytes */
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_files (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
const GbtFileInfo *gbt_metainfo_get_file (GbtMetainfo *mi, guint index);
GBT_AVAILABLE_IN_ALL
gboolean gbt_metainfo_is_private (GbtMetainfo *mi);
/* announce-list tiers (or the single announce URL as one tier) */
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_tiers (GbtMetainfo *mi);
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_tier (GbtMetainfo *mi, guint tier);
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_announce (GbtMetainfo *mi); /* nullable */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_url_list (GbtMetainfo *mi); /* BEP 19, never NULL */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_comment (GbtMetainfo *mi); /* nullable */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_created_by (GbtMetainfo *mi); /* nullable */
GBT_AVAILABLE_IN_ALL
gint64 gbt_metainfo_get_creation_date (GbtMetainfo *mi); /* -1 when absent */
/* what sanitising changed, one sentence each; never NULL */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_warnings (GbtMetainfo *mi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtMetainfo, gbt_metainfo_unref)

G_END_DECLS
