/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * .torrent metainfo (BEP 3, 12, 27, 47, 19).  Immutable and reference
 * counted.  File paths are sanitised: nothing a GbtMetainfo names can lead
 * outside the download directory; each change made is listed as a warning.
 * Bytes after a .torrent file's top-level dictionary are ignored, as
 * libtorrent does, and listed as a warning too; anything else that is not
 * valid bencode is an error.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_METAINFO_ERROR (gbt_metainfo_error_quark ())

/**
 * GbtMetainfoError:
 * @GBT_METAINFO_ERROR_FAILED: any other failure
 * @GBT_METAINFO_ERROR_BENCODE: not valid bencode (the message has the byte offset)
 * @GBT_METAINFO_ERROR_MISSING_FIELD: a required field is absent
 * @GBT_METAINFO_ERROR_BAD_FIELD: a field of the wrong type or value
 * @GBT_METAINFO_ERROR_BAD_PIECES: piece length, pieces and total size disagree
 * @GBT_METAINFO_ERROR_UNSAFE_PATH: a path that cannot be made safe
 * @GBT_METAINFO_ERROR_INFO_HASH: the info dictionary does not match the
 *   expected hash
 *
 * Error codes in the %GBT_METAINFO_ERROR domain (`Gbt.MetainfoError` in
 * bindings).
 */
typedef enum {
  GBT_METAINFO_ERROR_FAILED,
  GBT_METAINFO_ERROR_BENCODE,        /* not valid bencode (message has the byte offset) */
  GBT_METAINFO_ERROR_MISSING_FIELD,
  GBT_METAINFO_ERROR_BAD_FIELD,      /* a field of the wrong type or value */
  GBT_METAINFO_ERROR_BAD_PIECES,     /* piece length / pieces / total size inconsistent */
  GBT_METAINFO_ERROR_UNSAFE_PATH,    /* a path that cannot be made safe */
  GBT_METAINFO_ERROR_INFO_HASH,      /* info dictionary does not match the expected hash */
} GbtMetainfoError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtMetainfoError, as GLib's GFooError). */
typedef GbtMetainfoError GbtMetainfoErrorEnum;
#endif

/**
 * GbtFileAttr:
 * @GBT_FILE_ATTR_NONE: a plain file
 * @GBT_FILE_ATTR_PAD: BEP 47 padding ('p'), never written
 * @GBT_FILE_ATTR_EXECUTABLE: 'x'
 * @GBT_FILE_ATTR_HIDDEN: 'h'
 * @GBT_FILE_ATTR_SYMLINK: 'l'
 *
 * File attributes from the metainfo (BEP 47).
 */
typedef enum {
  GBT_FILE_ATTR_NONE = 0,
  GBT_FILE_ATTR_PAD = 1 << 0,        /* BEP 47 'p': never written */
  GBT_FILE_ATTR_EXECUTABLE = 1 << 1, /* 'x' */
  GBT_FILE_ATTR_HIDDEN = 1 << 2,     /* 'h' */
  GBT_FILE_ATTR_SYMLINK = 1 << 3,    /* 'l' */
} GbtFileAttr;

/**
 * GbtFileInfo:
 * @path: relative to the download directory, components joined by '/'; for
 *   a multi-file torrent it starts with the (sanitised) torrent name
 * @length: the file's size in bytes
 * @offset: where the file starts within the torrent's byte stream
 * @attr: #GbtFileAttr flags
 * @symlink_target: (nullable): the target of a symlink
 *
 * One file of a #GbtMetainfo, owned by it.
 */
typedef struct {
  /* relative to the download directory, components joined by '/'; for a
   * multi-file torrent it starts with the (sanitised) torrent name */
  const char *path;
  guint64 length;
  guint64 offset; /* within the torrent's byte stream */
  guint32 attr; /* GbtFileAttr */
  const char *symlink_target; /* nullable */
} GbtFileInfo;

/**
 * GbtMetainfo:
 *
 * A parsed .torrent file: immutable, reference counted (a boxed type).
 */
typedef struct _GbtMetainfo GbtMetainfo;

#define GBT_TYPE_METAINFO (gbt_metainfo_get_type ())
GBT_AVAILABLE_IN_ALL
GType gbt_metainfo_get_type (void);

/**
 * gbt_metainfo_error_quark:
 *
 * Gets the #GQuark of the %GBT_METAINFO_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_metainfo_error_quark (void);

/**
 * gbt_metainfo_new_from_bytes:
 * @bytes: the contents of a .torrent file
 * @error: return location for a #GError
 *
 * Parses the contents of a .torrent file (BitTorrent v1 and hybrid).
 *
 * Returns: (transfer full): the metainfo, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_bytes (GBytes *bytes, GError **error);
/**
 * gbt_metainfo_new_from_file:
 * @path: (type filename): a .torrent file
 * @error: return location for a #GError
 *
 * Reads and parses a .torrent file.
 *
 * Returns: (transfer full): the metainfo, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_file (const char *path, GError **error);
/**
 * gbt_metainfo_new_from_info:
 * @info: a bare bencoded info dictionary (from ut_metadata)
 * @info_hash: (array fixed-size=20): the info-hash it must match
 * @error: return location for a #GError
 *
 * Makes a metainfo from a bare info dictionary, as a magnet link's
 * metadata arrives (BEP 9); it must hash to @info_hash.
 *
 * Returns: (transfer full): the metainfo, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_new_from_info (GBytes *info, const guint8 info_hash[20],
                                         GError **error);
/**
 * gbt_metainfo_ref:
 * @mi: a #GbtMetainfo
 *
 * Takes a reference on @mi.
 *
 * Returns: (transfer full): @mi
 */
GBT_AVAILABLE_IN_ALL
GbtMetainfo *gbt_metainfo_ref (GbtMetainfo *mi);
/**
 * gbt_metainfo_unref:
 * @mi: (transfer full): a #GbtMetainfo
 *
 * Drops a reference on @mi, freeing it with the last.
 */
GBT_AVAILABLE_IN_ALL
void gbt_metainfo_unref (GbtMetainfo *mi);

/**
 * gbt_metainfo_get_info_hash:
 * @mi: a #GbtMetainfo
 *
 * Gets the 20-byte info-hash.
 *
 * Returns: (array fixed-size=20) (transfer none): the 20-byte info-hash
 */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_metainfo_get_info_hash (GbtMetainfo *mi); /* 20 bytes */
/**
 * gbt_metainfo_dup_info_hash_hex:
 * @mi: a #GbtMetainfo
 *
 * Gets the info-hash as 40 lower-case hex digits.
 *
 * Returns: (transfer full): the info-hash as 40 lower-case hex digits
 */
GBT_AVAILABLE_IN_ALL
char *gbt_metainfo_dup_info_hash_hex (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_info_bytes:
 * @mi: a #GbtMetainfo
 *
 * Gets the exact bytes of the info dictionary.
 *
 * Returns: (transfer none): the exact bytes of the info dictionary
 */
GBT_AVAILABLE_IN_ALL
GBytes *gbt_metainfo_get_info_bytes (GbtMetainfo *mi); /* (transfer none) exact info span */
/**
 * gbt_metainfo_get_name:
 * @mi: a #GbtMetainfo
 *
 * Gets the sanitised torrent name.
 *
 * Returns: the sanitised torrent name
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_name (GbtMetainfo *mi); /* sanitised */
/**
 * gbt_metainfo_is_multi_file:
 * @mi: a #GbtMetainfo
 *
 * Checks whether the info dictionary has a file list.
 *
 * Returns: whether the torrent has a file list
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_metainfo_is_multi_file (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_total_size:
 * @mi: a #GbtMetainfo
 *
 * Gets the size of all files.
 *
 * Returns: the size in bytes
 */
GBT_AVAILABLE_IN_ALL
guint64 gbt_metainfo_get_total_size (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_piece_length:
 * @mi: a #GbtMetainfo
 *
 * Gets the piece length.
 *
 * Returns: the piece length in bytes
 */
GBT_AVAILABLE_IN_ALL
guint32 gbt_metainfo_get_piece_length (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_n_pieces:
 * @mi: a #GbtMetainfo
 *
 * Gets the number of pieces.
 *
 * Returns: the number of pieces
 */
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_pieces (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_piece_size:
 * @mi: a #GbtMetainfo
 * @piece: a piece index
 *
 * Gets a piece's size: the piece length, but the last piece may be
 * shorter.
 *
 * Returns: the piece's size in bytes
 */
GBT_AVAILABLE_IN_ALL
guint32 gbt_metainfo_get_piece_size (GbtMetainfo *mi, guint piece);
/**
 * gbt_metainfo_get_piece_hash:
 * @mi: a #GbtMetainfo
 * @piece: a piece index
 *
 * Gets the piece's SHA-1.
 *
 * Returns: (array fixed-size=20) (transfer none): the piece's SHA-1
 */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_metainfo_get_piece_hash (GbtMetainfo *mi, guint piece); /* 20 bytes */
/**
 * gbt_metainfo_get_n_files:
 * @mi: a #GbtMetainfo
 *
 * Gets the number of files (1 for a single-file torrent).
 *
 * Returns: the number of files
 */
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_files (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_file:
 * @mi: a #GbtMetainfo
 * @index: a file index, below gbt_metainfo_get_n_files()
 *
 * Gets the file, owned by @mi.
 *
 * Returns: (transfer none): the file, owned by @mi
 */
GBT_AVAILABLE_IN_ALL
const GbtFileInfo *gbt_metainfo_get_file (GbtMetainfo *mi, guint index);
/**
 * gbt_metainfo_is_private:
 * @mi: a #GbtMetainfo
 *
 * Checks the private flag (BEP 27: peers come only from the trackers).
 *
 * Returns: whether the torrent is private
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_metainfo_is_private (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_n_tiers:
 * @mi: a #GbtMetainfo
 *
 * Gets the number of announce-list tiers (the single announce URL counts as
 * one tier).
 *
 * Returns: the number of announce-list tiers (the single announce URL counts
 *   as one tier)
 */
GBT_AVAILABLE_IN_ALL
guint gbt_metainfo_get_n_tiers (GbtMetainfo *mi);
/**
 * gbt_metainfo_get_tier:
 * @mi: a #GbtMetainfo
 * @tier: a tier index, below gbt_metainfo_get_n_tiers()
 *
 * Gets the tier's tracker URLs.
 *
 * Returns: (array zero-terminated=1) (transfer none): the tier's tracker URLs
 */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_tier (GbtMetainfo *mi, guint tier);
/**
 * gbt_metainfo_get_announce:
 * @mi: a #GbtMetainfo
 *
 * Gets the "announce" URL.
 *
 * Returns: (nullable): the "announce" URL
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_announce (GbtMetainfo *mi); /* nullable */
/**
 * gbt_metainfo_get_url_list:
 * @mi: a #GbtMetainfo
 *
 * Gets the BEP 19 web seeds, never %NULL.
 *
 * Returns: (array zero-terminated=1) (transfer none): the BEP 19 web seeds,
 *   never %NULL
 */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_url_list (GbtMetainfo *mi); /* BEP 19, never NULL */
/**
 * gbt_metainfo_get_http_seeds:
 * @mi: a #GbtMetainfo
 *
 * Gets the BEP 17 HTTP seeds ("httpseeds"), never %NULL.
 *
 * Since: ABI 1.4
 *
 * Returns: (array zero-terminated=1) (transfer none): the BEP 17 HTTP
 *   seeds, never %NULL
 */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_http_seeds (GbtMetainfo *mi); /* BEP 17, never NULL */
/**
 * gbt_metainfo_get_comment:
 * @mi: a #GbtMetainfo
 *
 * Gets the comment.
 *
 * Returns: (nullable): the comment
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_comment (GbtMetainfo *mi); /* nullable */
/**
 * gbt_metainfo_get_created_by:
 * @mi: a #GbtMetainfo
 *
 * Gets the program that made the torrent.
 *
 * Returns: (nullable): the program that made the torrent
 */
GBT_AVAILABLE_IN_ALL
const char *gbt_metainfo_get_created_by (GbtMetainfo *mi); /* nullable */
/**
 * gbt_metainfo_get_creation_date:
 * @mi: a #GbtMetainfo
 *
 * Gets seconds since the Unix epoch, -1 when absent.
 *
 * Returns: seconds since the Unix epoch, -1 when absent
 */
GBT_AVAILABLE_IN_ALL
gint64 gbt_metainfo_get_creation_date (GbtMetainfo *mi); /* -1 when absent */
/**
 * gbt_metainfo_get_warnings:
 * @mi: a #GbtMetainfo
 *
 * What was odd about the file but did not stop it from loading: bytes
 * after the top-level dictionary (ignored), and each name sanitising
 * changed.  Parsing succeeded, so these are not errors; a program shows
 * them to the user (`gbt` prints them on stderr as "gbt: warning: ...").
 *
 * Returns: (array zero-terminated=1) (transfer none): one sentence each;
 *   never %NULL (an empty array when there is nothing to say)
 */
GBT_AVAILABLE_IN_ALL
const char *const *gbt_metainfo_get_warnings (GbtMetainfo *mi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtMetainfo, gbt_metainfo_unref)

G_END_DECLS
