/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strict, zero-copy bencode.  A GbtBencodeDoc holds a reference on its input;
 * every value points into that input and exposes its raw byte span (so the
 * info-hash is taken over the exact bytes of the file).
 */
#pragma once

#include <glib.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

#define GBT_BENCODE_ERROR (gbt_bencode_error_quark ())

typedef enum {
  GBT_BENCODE_ERROR_FAILED,
  GBT_BENCODE_ERROR_SYNTAX,        /* unexpected byte */
  GBT_BENCODE_ERROR_TRUNCATED,     /* input ends inside a value */
  GBT_BENCODE_ERROR_BAD_INTEGER,   /* leading zero, -0, empty, or beyond 64 bits */
  GBT_BENCODE_ERROR_BAD_LENGTH,    /* string length malformed or past the input */
  GBT_BENCODE_ERROR_DUPLICATE_KEY,
  GBT_BENCODE_ERROR_UNSORTED_KEY,  /* only in GBT_BENCODE_STRICT */
  GBT_BENCODE_ERROR_TOO_DEEP,
  GBT_BENCODE_ERROR_TOO_LARGE,
  GBT_BENCODE_ERROR_TRAILING_DATA,
} GbtBencodeError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtBencodeError, as GLib's GFooError). */
typedef GbtBencodeError GbtBencodeErrorEnum;
#endif

typedef enum {
  GBT_BENCODE_NONE = 0,
  GBT_BENCODE_STRICT = 1 << 0,          /* dictionary keys must be sorted */
  GBT_BENCODE_ALLOW_TRAILING = 1 << 1,  /* stop after the first value */
} GbtBencodeFlags;

typedef enum {
  GBT_BENCODE_TYPE_INT,
  GBT_BENCODE_TYPE_STRING,
  GBT_BENCODE_TYPE_LIST,
  GBT_BENCODE_TYPE_DICT,
} GbtBencodeType;

#define GBT_BENCODE_DEFAULT_MAX_DEPTH 256
#define GBT_BENCODE_DEFAULT_MAX_SIZE (64 * 1024 * 1024)

typedef struct _GbtBencodeDoc GbtBencodeDoc;
typedef struct _GbtBencode GbtBencode; /* a value inside a doc; lives as long as the doc */

GBT_AVAILABLE_IN_ALL
GQuark gbt_bencode_error_quark (void);

/* Parses @bytes (referenced, not copied).  max_depth/max_size 0: defaults. */
GBT_AVAILABLE_IN_ALL
GbtBencodeDoc *gbt_bencode_parse_full (GBytes *bytes, GbtBencodeFlags flags, guint max_depth,
                                       gsize max_size, GError **error);
GBT_AVAILABLE_IN_ALL
GbtBencodeDoc *gbt_bencode_parse (GBytes *bytes, GError **error);
/* Copies @data first. */
GBT_AVAILABLE_IN_ALL
GbtBencodeDoc *gbt_bencode_parse_data (const void *data, gsize len, GError **error);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_doc_free (GbtBencodeDoc *doc);
GBT_AVAILABLE_IN_ALL
GbtBencode *gbt_bencode_doc_get_root (GbtBencodeDoc *doc);
/* TRUE when some dictionary had keys out of order (tolerated unless STRICT) */
GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_doc_had_unsorted_keys (GbtBencodeDoc *doc);
/* Bytes consumed (useful with GBT_BENCODE_ALLOW_TRAILING) */
GBT_AVAILABLE_IN_ALL
gsize gbt_bencode_doc_get_consumed (GbtBencodeDoc *doc);

GBT_AVAILABLE_IN_ALL
GbtBencodeType gbt_bencode_get_type (const GbtBencode *value);
/* the exact bytes of this value in the input */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_bencode_get_raw (const GbtBencode *value, gsize *len);

GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_is_int (const GbtBencode *value);
GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_is_string (const GbtBencode *value);
GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_is_list (const GbtBencode *value);
GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_is_dict (const GbtBencode *value);

GBT_AVAILABLE_IN_ALL
gint64 gbt_bencode_get_int (const GbtBencode *value);
/* not NUL-terminated */
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_bencode_get_string (const GbtBencode *value, gsize *len);
/* newly allocated NUL-terminated copy; NULL if not a string or it holds NUL */
GBT_AVAILABLE_IN_ALL
char *gbt_bencode_dup_string (const GbtBencode *value);

/* lists and dicts: number of items / entries */
GBT_AVAILABLE_IN_ALL
guint gbt_bencode_get_length (const GbtBencode *value);
GBT_AVAILABLE_IN_ALL
GbtBencode *gbt_bencode_list_nth (const GbtBencode *list, guint n);
GBT_AVAILABLE_IN_ALL
GbtBencode *gbt_bencode_dict_nth (const GbtBencode *dict, guint n, const guint8 **key,
                                  gsize *key_len);
/* NULL if absent or @dict is not a dict */
GBT_AVAILABLE_IN_ALL
GbtBencode *gbt_bencode_dict_lookup (const GbtBencode *dict, const char *key);
GBT_AVAILABLE_IN_ALL
GbtBencode *gbt_bencode_dict_lookup_len (const GbtBencode *dict, const guint8 *key,
                                         gsize key_len);
/* typed lookups: NULL / FALSE when absent or of another type */
GBT_AVAILABLE_IN_ALL
gboolean gbt_bencode_dict_get_int (const GbtBencode *dict, const char *key, gint64 *out);
GBT_AVAILABLE_IN_ALL
const guint8 *gbt_bencode_dict_get_string (const GbtBencode *dict, const char *key, gsize *len);

/* Encoder: appends to @out */
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_int (GByteArray *out, gint64 value);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_string (GByteArray *out, const void *data, gsize len);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_str (GByteArray *out, const char *str);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_list_start (GByteArray *out);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_dict_start (GByteArray *out);
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_end (GByteArray *out);
/* re-encodes a parsed value (keys in their input order): byte-for-byte equal
 * to the input span for any valid input */
GBT_AVAILABLE_IN_ALL
void gbt_bencode_write_value (GByteArray *out, const GbtBencode *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtBencodeDoc, gbt_bencode_doc_free)

G_END_DECLS
