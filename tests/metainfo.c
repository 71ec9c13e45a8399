/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* .torrent parsing: fields, every error code, and hostile paths. */
#include <string.h>

#include <glib/gstdio.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>

#include "test-utils.h"

/* ---- a tiny torrent builder ---- */

static void
kv_str (GByteArray *b, const char *k, const char *v)
{
  gbt_bencode_write_str (b, k);
  gbt_bencode_write_str (b, v);
}

static void
kv_int (GByteArray *b, const char *k, gint64 v)
{
  gbt_bencode_write_str (b, k);
  gbt_bencode_write_int (b, v);
}

static void
kv_pieces (GByteArray *b, guint n)
{
  g_autofree guint8 *p = g_malloc (n * 20 + 1);

  for (guint i = 0; i < n * 20; i++)
    p[i] = (guint8) (i * 7 + 3);
  gbt_bencode_write_str (b, "pieces");
  gbt_bencode_write_string (b, p, n * 20);
}

/* components separated by '|', so a component may hold '/' */
static void
write_path (GByteArray *b, const char *key, const char *path)
{
  g_auto(GStrv) comps = g_strsplit (path, "|", -1);

  gbt_bencode_write_str (b, key);
  gbt_bencode_write_list_start (b);
  for (char **c = comps; *c; c++)
    gbt_bencode_write_str (b, *c);
  gbt_bencode_write_end (b);
}

static guint
pieces_for (guint64 total, gint64 piece_length)
{
  return (guint) ((total + (guint64) piece_length - 1) / (guint64) piece_length);
}

static GByteArray *
single_info (const char *name, gint64 length, gint64 piece_length)
{
  GByteArray *b = g_byte_array_new ();

  gbt_bencode_write_dict_start (b);
  kv_int (b, "length", length);
  kv_str (b, "name", name);
  kv_int (b, "piece length", piece_length);
  kv_pieces (b, pieces_for ((guint64) length, piece_length));
  gbt_bencode_write_end (b);
  return b;
}

typedef struct {
  const char *path; /* '|'-separated; NULL: no path key */
  gint64 length;
  const char *attr;
} F;

static GByteArray *
multi_info (const char *name, const F *files, guint n, gint64 piece_length)
{
  GByteArray *b = g_byte_array_new ();
  guint64 total = 0;

  gbt_bencode_write_dict_start (b);
  gbt_bencode_write_str (b, "files");
  gbt_bencode_write_list_start (b);
  for (guint i = 0; i < n; i++)
    {
      gbt_bencode_write_dict_start (b);
      if (files[i].attr)
        kv_str (b, "attr", files[i].attr);
      kv_int (b, "length", files[i].length);
      if (files[i].path)
        write_path (b, "path", files[i].path);
      gbt_bencode_write_end (b);
      total += (guint64) files[i].length;
    }
  gbt_bencode_write_end (b);
  kv_str (b, "name", name);
  kv_int (b, "piece length", piece_length);
  kv_pieces (b, pieces_for (total, piece_length));
  gbt_bencode_write_end (b);
  return b;
}

/* "d" [outer] "4:info" info "e" */
static GBytes *
torrent (GByteArray *outer, GByteArray *info)
{
  GByteArray *b = g_byte_array_new ();

  gbt_bencode_write_dict_start (b);
  if (outer)
    g_byte_array_append (b, outer->data, outer->len);
  gbt_bencode_write_str (b, "info");
  g_byte_array_append (b, info->data, info->len);
  gbt_bencode_write_end (b);
  return g_byte_array_free_to_bytes (b);
}

static void
assert_sha1 (const guint8 *hash, const guint8 *data, gsize len)
{
  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 expected[20];
  gsize n = sizeof expected;

  g_checksum_update (c, data, (gssize) len);
  g_checksum_get_digest (c, expected, &n);
  g_assert_cmpmem (hash, 20, expected, 20);
}

static GbtMetainfo *
parse_ok (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  GbtMetainfo *mi = gbt_metainfo_new_from_bytes (bytes, &error);

  g_assert_no_error (error);
  g_assert_nonnull (mi);
  return mi;
}

/* ---- tests ---- */

static void
test_single (void)
{
  g_autoptr(GByteArray) info = single_info ("a.txt", 100000, 16384);
  g_autoptr(GBytes) bytes = torrent (NULL, info);
  g_autoptr(GbtMetainfo) mi = parse_ok (bytes);
  g_autofree char *hex = gbt_metainfo_dup_info_hash_hex (mi);
  const GbtFileInfo *f;
  GBytes *info_bytes;

  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "a.txt");
  g_assert_false (gbt_metainfo_is_multi_file (mi));
  g_assert_cmpuint (gbt_metainfo_get_total_size (mi), ==, 100000);
  g_assert_cmpuint (gbt_metainfo_get_piece_length (mi), ==, 16384);
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (mi), ==, 7);
  g_assert_cmpuint (gbt_metainfo_get_piece_size (mi, 0), ==, 16384);
  g_assert_cmpuint (gbt_metainfo_get_piece_size (mi, 6), ==, 100000 - 6 * 16384);
  g_assert_cmpuint (gbt_metainfo_get_piece_hash (mi, 1)[0], ==, (guint8) (20 * 7 + 3));
  g_assert_cmpuint (gbt_metainfo_get_n_files (mi), ==, 1);
  f = gbt_metainfo_get_file (mi, 0);
  g_assert_cmpstr (f->path, ==, "a.txt");
  g_assert_cmpuint (f->length, ==, 100000);
  g_assert_cmpuint (f->offset, ==, 0);
  g_assert_false (gbt_metainfo_is_private (mi));
  g_assert_cmpuint (gbt_metainfo_get_n_tiers (mi), ==, 0);
  g_assert_null (gbt_metainfo_get_announce (mi));
  g_assert_null (gbt_metainfo_get_url_list (mi)[0]);
  g_assert_null (gbt_metainfo_get_warnings (mi)[0]);
  g_assert_null (gbt_metainfo_get_comment (mi));
  g_assert_null (gbt_metainfo_get_created_by (mi));
  g_assert_cmpint (gbt_metainfo_get_creation_date (mi), ==, -1);

  info_bytes = gbt_metainfo_get_info_bytes (mi);
  g_assert_cmpmem (g_bytes_get_data (info_bytes, NULL), g_bytes_get_size (info_bytes),
                   info->data, info->len);
  assert_sha1 (gbt_metainfo_get_info_hash (mi), info->data, info->len);
  g_assert_cmpuint (strlen (hex), ==, 40);
}

static void
test_multi (void)
{
  F files[] = {
    { "dir|one.bin", 20000, NULL },
    { NULL, 12768, "p" },                 /* BEP 47 pad without a path */
    { "run.sh", 10, "xh" },
    { "link", 0, "l" },
    { "empty", 0, NULL },
  };
  g_autoptr(GByteArray) info = multi_info ("Multi", files, G_N_ELEMENTS (files), 32768);
  g_autoptr(GByteArray) outer = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  const char *const *tier;
  const char *const *seeds;
  const GbtFileInfo *f;

  /* symlink path of the link file: patch it in by rebuilding that entry */
  {
    g_autoptr(GByteArray) b = g_byte_array_new ();
    gbt_bencode_write_dict_start (b);
    gbt_bencode_write_str (b, "files");
    gbt_bencode_write_list_start (b);
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        gbt_bencode_write_dict_start (b);
        if (files[i].attr)
          kv_str (b, "attr", files[i].attr);
        kv_int (b, "length", files[i].length);
        if (files[i].path)
          write_path (b, "path", files[i].path);
        if (i == 3)
          write_path (b, "symlink path", "..|..|dir|one.bin");
        gbt_bencode_write_end (b);
      }
    gbt_bencode_write_end (b);
    kv_str (b, "name", "Multi");
    kv_str (b, "name.utf-8", "Multi \xc3\xa9");
    kv_int (b, "piece length", 32768);
    kv_pieces (b, 2);
    kv_int (b, "private", 1);
    gbt_bencode_write_end (b);
    g_byte_array_set_size (info, 0);
    g_byte_array_append (info, b->data, b->len);
  }

  kv_str (outer, "announce", "http://ignored.example/announce");
  gbt_bencode_write_str (outer, "announce-list");
  gbt_bencode_write_list_start (outer);
  gbt_bencode_write_list_start (outer);
  gbt_bencode_write_str (outer, "http://a.example/announce");
  gbt_bencode_write_str (outer, " udp://b.example:80 ");
  gbt_bencode_write_end (outer);
  gbt_bencode_write_list_start (outer); /* empty tier: skipped */
  gbt_bencode_write_end (outer);
  gbt_bencode_write_list_start (outer);
  gbt_bencode_write_str (outer, "http://a.example/announce"); /* duplicate: skipped */
  gbt_bencode_write_str (outer, "http://c.example/announce");
  gbt_bencode_write_int (outer, 5); /* not a string: skipped */
  gbt_bencode_write_end (outer);
  gbt_bencode_write_end (outer);
  kv_str (outer, "comment", "plain");
  kv_str (outer, "comment.utf-8", "r\xc3\xa9sum\xc3\xa9");
  kv_str (outer, "created by", "test \xff");
  kv_int (outer, "creation date", 1700000000);
  gbt_bencode_write_str (outer, "url-list");
  gbt_bencode_write_list_start (outer);
  gbt_bencode_write_str (outer, "http://seed.example/");
  gbt_bencode_write_str (outer, "");
  gbt_bencode_write_str (outer, "http://seed.example/");
  gbt_bencode_write_end (outer);

  bytes = torrent (outer, info);
  mi = parse_ok (bytes);

  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "Multi \xc3\xa9");
  g_assert_true (gbt_metainfo_is_multi_file (mi));
  g_assert_true (gbt_metainfo_is_private (mi));
  g_assert_cmpuint (gbt_metainfo_get_total_size (mi), ==, 32778);
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (mi), ==, 2);
  g_assert_cmpuint (gbt_metainfo_get_piece_size (mi, 1), ==, 10);
  g_assert_cmpuint (gbt_metainfo_get_n_files (mi), ==, 5);

  f = gbt_metainfo_get_file (mi, 0);
  g_assert_cmpstr (f->path, ==, "Multi \xc3\xa9/dir/one.bin");
  g_assert_cmpuint (f->offset, ==, 0);
  f = gbt_metainfo_get_file (mi, 1);
  g_assert_cmpuint (f->attr, ==, GBT_FILE_ATTR_PAD);
  g_assert_cmpstr (f->path, ==, "Multi \xc3\xa9/.pad/12768");
  g_assert_cmpuint (f->offset, ==, 20000);
  f = gbt_metainfo_get_file (mi, 2);
  g_assert_cmpuint (f->attr, ==, GBT_FILE_ATTR_EXECUTABLE | GBT_FILE_ATTR_HIDDEN);
  g_assert_cmpuint (f->offset, ==, 32768);
  g_assert_null (f->symlink_target);
  f = gbt_metainfo_get_file (mi, 3);
  g_assert_cmpuint (f->attr, ==, GBT_FILE_ATTR_SYMLINK);
  /* "../.." cannot climb out of the torrent */
  g_assert_cmpstr (f->symlink_target, ==, "Multi \xc3\xa9/dir/one.bin");
  g_assert_cmpuint (f->length, ==, 0);
  f = gbt_metainfo_get_file (mi, 4);
  g_assert_cmpuint (f->length, ==, 0);
  g_assert_cmpuint (f->offset, ==, 32778);

  g_assert_cmpstr (gbt_metainfo_get_announce (mi), ==, "http://ignored.example/announce");
  g_assert_cmpuint (gbt_metainfo_get_n_tiers (mi), ==, 2);
  tier = gbt_metainfo_get_tier (mi, 0);
  g_assert_cmpuint (g_strv_length ((GStrv) tier), ==, 2);
  g_assert_cmpstr (tier[1], ==, "udp://b.example:80");
  tier = gbt_metainfo_get_tier (mi, 1);
  g_assert_cmpuint (g_strv_length ((GStrv) tier), ==, 1);
  g_assert_cmpstr (tier[0], ==, "http://c.example/announce");
  seeds = gbt_metainfo_get_url_list (mi);
  g_assert_cmpuint (g_strv_length ((GStrv) seeds), ==, 1);
  g_assert_cmpstr (gbt_metainfo_get_comment (mi), ==, "r\xc3\xa9sum\xc3\xa9");
  g_assert_true (g_utf8_validate (gbt_metainfo_get_created_by (mi), -1, NULL));
  g_assert_cmpint (gbt_metainfo_get_creation_date (mi), ==, 1700000000);
  assert_sha1 (gbt_metainfo_get_info_hash (mi), info->data, info->len);
}

static void
test_announce_fallback (void)
{
  g_autoptr(GByteArray) info = single_info ("x", 16384, 16384);
  g_autoptr(GByteArray) outer = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;

  kv_str (outer, "announce", "http://t.example/announce");
  gbt_bencode_write_str (outer, "announce-list");
  gbt_bencode_write_str (outer, "not a list"); /* ignored, as libtorrent does */
  kv_str (outer, "url-list", "http://seed.example/x");
  bytes = torrent (outer, info);
  mi = parse_ok (bytes);
  g_assert_cmpuint (gbt_metainfo_get_n_tiers (mi), ==, 1);
  g_assert_cmpstr (gbt_metainfo_get_tier (mi, 0)[0], ==, "http://t.example/announce");
  g_assert_null (gbt_metainfo_get_tier (mi, 0)[1]);
  g_assert_cmpstr (gbt_metainfo_get_url_list (mi)[0], ==, "http://seed.example/x");
  g_assert_null (gbt_metainfo_get_url_list (mi)[1]);
}

static void
test_unsorted_keys (void)
{
  /* keys out of order: the hash is over these bytes, not a sorted copy */
  g_autoptr(GByteArray) info = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;

  gbt_bencode_write_dict_start (info);
  kv_str (info, "name", "u");
  kv_pieces (info, 1);
  kv_int (info, "piece length", 16384);
  kv_int (info, "length", 5);
  kv_str (info, "zzz unknown", "kept in the hash");
  kv_int (info, "private", 2); /* non-zero is private, as in libtorrent */
  gbt_bencode_write_end (info);
  bytes = torrent (NULL, info);
  mi = parse_ok (bytes);
  g_assert_true (gbt_metainfo_is_private (mi));
  assert_sha1 (gbt_metainfo_get_info_hash (mi), info->data, info->len);
}

static void
test_non_power_of_two (void)
{
  g_autoptr(GByteArray) info = single_info ("odd", 100000, 20000);
  g_autoptr(GBytes) bytes = torrent (NULL, info);
  g_autoptr(GbtMetainfo) mi = parse_ok (bytes);

  g_assert_cmpuint (gbt_metainfo_get_n_pieces (mi), ==, 5);
  g_assert_cmpuint (gbt_metainfo_get_piece_size (mi, 4), ==, 20000);
}

typedef GBytes *(*MakeFunc) (void);

static GBytes *
raw (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

#define PIECE20 "01234567890123456789"

static GBytes *m_garbage (void) { return raw ("d4:infod"); }
static GBytes *m_root_list (void) { return raw ("le"); }
static GBytes *m_no_info (void) { return raw ("d8:announce3:urle"); }
static GBytes *m_info_string (void) { return raw ("d4:info3:abce"); }
static GBytes *m_no_name (void) { return raw ("d4:infod6:lengthi5e12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_name_int (void) { return raw ("d4:infod6:lengthi5e4:namei1e12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_no_length (void) { return raw ("d4:infod4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_length_str (void) { return raw ("d4:infod6:length1:54:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_neg_length (void) { return raw ("d4:infod6:lengthi-5e4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_no_piece_length (void) { return raw ("d4:infod6:lengthi5e4:name1:a6:pieces20:" PIECE20 "ee"); }
static GBytes *m_piece_length_zero (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi0e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_piece_length_neg (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi-16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_piece_length_small (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi8192e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_piece_length_huge (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi536870912e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_no_pieces (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384eee"); }
static GBytes *m_pieces_int (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:piecesi1eee"); }
static GBytes *m_pieces_21 (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces21:" PIECE20 "xee"); }
static GBytes *m_pieces_too_many (void) { return raw ("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces40:" PIECE20 PIECE20 "ee"); }
static GBytes *m_pieces_too_few (void) { return raw ("d4:infod6:lengthi16385e4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_empty (void) { return raw ("d4:infod6:lengthi0e4:name1:a12:piece lengthi16384e6:pieces0:ee"); }
static GBytes *m_files_dict (void) { return raw ("d4:infod5:filesde4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_files_empty (void) { return raw ("d4:infod5:filesle4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_not_dict (void) { return raw ("d4:infod5:filesli1ee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_no_path (void) { return raw ("d4:infod5:filesld6:lengthi5eee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_path_str (void) { return raw ("d4:infod5:filesld6:lengthi5e4:path1:xee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_path_empty (void) { return raw ("d4:infod5:filesld6:lengthi5e4:pathleee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_path_int (void) { return raw ("d4:infod5:filesld6:lengthi5e4:pathli1eeee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_no_length (void) { return raw ("d4:infod5:filesld4:pathl1:xeee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_file_neg_length (void) { return raw ("d4:infod5:filesld6:lengthi-1e4:pathl1:xeee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_overflow (void) { return raw ("d4:infod5:filesld6:lengthi9223372036854775807e4:pathl1:xeed6:lengthi9223372036854775807e4:pathl1:yeee4:name1:a12:piece lengthi16384e6:pieces20:" PIECE20 "ee"); }
static GBytes *m_v2_only (void) { return raw ("d4:infod9:file treede12:meta versioni2e4:name1:a12:piece lengthi16384eee"); }

static GBytes *
m_path_too_long (void)
{
  g_autoptr(GString) path = g_string_new (NULL);
  F f = { NULL, 5, NULL };
  g_autoptr(GByteArray) info = NULL;

  for (int i = 0; i < 40; i++)
    g_string_append_printf (path, "%s%0200d", i ? "|" : "", i);
  f.path = path->str;
  info = multi_info ("t", &f, 1, 16384);
  return torrent (NULL, info);
}

static void
test_errors (void)
{
  struct {
    const char *what;
    MakeFunc make;
    int code;
    const char *field; /* the message names it */
  } cases[] = {
    { "garbage", m_garbage, GBT_METAINFO_ERROR_BENCODE, "byte" },
    { "root list", m_root_list, GBT_METAINFO_ERROR_BAD_FIELD, "top level" },
    { "no info", m_no_info, GBT_METAINFO_ERROR_MISSING_FIELD, "info" },
    { "info string", m_info_string, GBT_METAINFO_ERROR_BAD_FIELD, "info" },
    { "no name", m_no_name, GBT_METAINFO_ERROR_MISSING_FIELD, "info.name" },
    { "name int", m_name_int, GBT_METAINFO_ERROR_BAD_FIELD, "info.name" },
    { "no length", m_no_length, GBT_METAINFO_ERROR_MISSING_FIELD, "info.length" },
    { "length string", m_length_str, GBT_METAINFO_ERROR_BAD_FIELD, "info.length" },
    { "negative length", m_neg_length, GBT_METAINFO_ERROR_BAD_FIELD, "info.length" },
    { "no piece length", m_no_piece_length, GBT_METAINFO_ERROR_MISSING_FIELD, "piece length" },
    { "piece length 0", m_piece_length_zero, GBT_METAINFO_ERROR_BAD_PIECES, "piece length" },
    { "piece length < 0", m_piece_length_neg, GBT_METAINFO_ERROR_BAD_PIECES, "piece length" },
    { "piece length 8 KiB", m_piece_length_small, GBT_METAINFO_ERROR_BAD_PIECES, "piece length" },
    { "piece length 512 MiB", m_piece_length_huge, GBT_METAINFO_ERROR_BAD_PIECES, "piece length" },
    { "no pieces", m_no_pieces, GBT_METAINFO_ERROR_MISSING_FIELD, "info.pieces" },
    { "pieces int", m_pieces_int, GBT_METAINFO_ERROR_BAD_FIELD, "info.pieces" },
    { "pieces 21 bytes", m_pieces_21, GBT_METAINFO_ERROR_BAD_PIECES, "info.pieces" },
    { "too many pieces", m_pieces_too_many, GBT_METAINFO_ERROR_BAD_PIECES, "info.pieces" },
    { "too few pieces", m_pieces_too_few, GBT_METAINFO_ERROR_BAD_PIECES, "info.pieces" },
    { "no data", m_empty, GBT_METAINFO_ERROR_BAD_PIECES, "empty" },
    { "files dict", m_files_dict, GBT_METAINFO_ERROR_BAD_FIELD, "info.files" },
    { "files empty", m_files_empty, GBT_METAINFO_ERROR_BAD_FIELD, "info.files" },
    { "file not dict", m_file_not_dict, GBT_METAINFO_ERROR_BAD_FIELD, "info.files[0]" },
    { "file no path", m_file_no_path, GBT_METAINFO_ERROR_MISSING_FIELD, "info.files[0].path" },
    { "file path string", m_file_path_str, GBT_METAINFO_ERROR_BAD_FIELD, "info.files[0].path" },
    { "file path empty", m_file_path_empty, GBT_METAINFO_ERROR_BAD_FIELD, "info.files[0].path" },
    { "file path int", m_file_path_int, GBT_METAINFO_ERROR_BAD_FIELD, "info.files[0].path" },
    { "file no length", m_file_no_length, GBT_METAINFO_ERROR_MISSING_FIELD, "info.files[0].length" },
    { "file negative", m_file_neg_length, GBT_METAINFO_ERROR_BAD_FIELD, "info.files[0].length" },
    { "total overflow", m_overflow, GBT_METAINFO_ERROR_BAD_PIECES, "64 bits" },
    { "v2 only", m_v2_only, GBT_METAINFO_ERROR_BAD_FIELD, "v2" },
    { "path too long", m_path_too_long, GBT_METAINFO_ERROR_UNSAFE_PATH, "info.files[0].path" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = cases[i].make ();
      g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_bytes (bytes, &error);

      g_test_message ("case: %s", cases[i].what);
      g_assert_null (mi);
      g_assert_error (error, GBT_METAINFO_ERROR, cases[i].code);
      g_test_message ("message: %s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].field));
    }
}

/* every path a hostile torrent can produce stays below the download dir */
static void
assert_safe (GbtMetainfo *mi)
{
  g_autoptr(GHashTable) paths = g_hash_table_new (g_str_hash, g_str_equal);
  const char *name = gbt_metainfo_get_name (mi);

  g_assert_null (strchr (name, '/'));
  g_assert_cmpstr (name, !=, "..");
  g_assert_cmpstr (name, !=, ".");
  g_assert_cmpstr (name, !=, "");
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_auto(GStrv) comps = g_strsplit (f->path, "/", -1);

      g_assert_true (g_utf8_validate (f->path, -1, NULL));
      g_assert_true (g_str_has_prefix (f->path, name));
      g_assert_cmpint (f->path[strlen (name)], ==, gbt_metainfo_is_multi_file (mi) ? '/' : '\0');
      g_assert_null (strchr (f->path, '\\'));
      for (const char *c = f->path; *c; c++)
        g_assert_cmpint ((guchar) *c, >=, 0x20);
      for (char **c = comps; *c; c++)
        {
          g_assert_cmpstr (*c, !=, "");
          g_assert_cmpstr (*c, !=, ".");
          g_assert_cmpstr (*c, !=, "..");
          g_assert_cmpuint (strlen (*c), <=, 255);
        }
      if (!(f->attr & GBT_FILE_ATTR_PAD))
        g_assert_true (g_hash_table_add (paths, (gpointer) f->path));
    }
  /* no file is a directory of another */
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autofree char *dir = g_path_get_dirname (f->path);
      while (strchr (dir, '/'))
        {
          char *up = g_path_get_dirname (dir);
          g_assert_false (g_hash_table_contains (paths, dir));
          g_free (dir);
          dir = up;
        }
    }
}

static guint
n_warnings (GbtMetainfo *mi)
{
  return g_strv_length ((GStrv) gbt_metainfo_get_warnings (mi));
}

static void
test_attack_paths (void)
{
  g_autoptr(GString) huge = g_string_new (NULL);
  F files[] = {
    { "..|..|..|etc|passwd", 1, NULL },     /* 0 */
    { "/etc/passwd", 1, NULL },             /* 1: separators inside */
    { "a\\..\\..\\b", 1, NULL },            /* 2 */
    { "..", 1, NULL },                      /* 3: nothing left -> "_" */
    { NULL, 1, NULL },                      /* 4: huge name, set below */
    { "dup.txt", 1, NULL },                 /* 5 */
    { "dup.txt", 1, NULL },                 /* 6: renamed */
    { "d", 1, NULL },                       /* 7: is a directory of 8 */
    { "d|f", 1, NULL },                     /* 8 */
    { "bad\xff\xfeutf8", 1, NULL },         /* 9 */
    { "evil\xe2\x80\xaetxt.exe", 1, NULL }, /* 10 */
    { "|||x", 1, NULL },                    /* 11: empty components */
    { ".|.|y", 1, NULL },                   /* 12 */
    { "ok|fine.txt", 16384 - 12, NULL },    /* 13 */
  };
  g_autoptr(GByteArray) info = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;

  for (int i = 0; i < 1000; i++)
    g_string_append_c (huge, 'h');
  g_string_append (huge, ".avi");
  files[4].path = huge->str;

  info = multi_info ("../../escape", files, G_N_ELEMENTS (files), 16384);
  bytes = torrent (NULL, info);
  mi = parse_ok (bytes);
  assert_safe (mi);

  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, ".._.._escape");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 0)->path, ==, ".._.._escape/etc/passwd");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 1)->path, ==, ".._.._escape/etc_passwd");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 2)->path, ==, ".._.._escape/a_.._.._b");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 3)->path, ==, ".._.._escape/_");
  g_assert_true (g_str_has_suffix (gbt_metainfo_get_file (mi, 4)->path, ".avi"));
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 5)->path, ==, ".._.._escape/dup.txt");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 6)->path, ==, ".._.._escape/dup.1.txt");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 7)->path, ==, ".._.._escape/d.1");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 8)->path, ==, ".._.._escape/d/f");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 9)->path, ==, ".._.._escape/bad__utf8");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 10)->path, ==, ".._.._escape/eviltxt.exe");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 11)->path, ==, ".._.._escape/x");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 12)->path, ==, ".._.._escape/y");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 13)->path, ==, ".._.._escape/ok/fine.txt");
  /* the name, and every file but the three left alone */
  g_assert_cmpuint (n_warnings (mi), ==, 1 + 11);
  for (const char *const *w = gbt_metainfo_get_warnings (mi); *w; w++)
    g_assert_true (g_utf8_validate (*w, -1, NULL));
}

static void
test_nul_in_path (void)
{
  /* a NUL inside a component, and a name that is all dots */
  static const char t[] = "d4:infod5:filesld6:lengthi5e4:pathl3:a\0bee"
                          "d6:lengthi5e4:pathl3:a_beee4:name2:..12:piece lengthi16384e6:pieces20:" PIECE20 "ee";
  g_autoptr(GBytes) bytes = g_bytes_new (t, sizeof t - 1);
  g_autoptr(GbtMetainfo) mi = parse_ok (bytes);
  g_autofree char *hex = gbt_metainfo_dup_info_hash_hex (mi);
  g_autofree char *first = NULL;

  assert_safe (mi);
  /* no usable name: called after its info-hash, as libtorrent does */
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, hex);
  first = g_strconcat (hex, "/a_b", NULL);
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 0)->path, ==, first);
  /* the second file really is called a_b: it gives way */
  g_assert_true (g_str_has_suffix (gbt_metainfo_get_file (mi, 1)->path, "/a_b.1"));
  g_assert_cmpuint (n_warnings (mi), ==, 3);
}

static void
test_utf8_variants (void)
{
  /* name.utf-8 and path.utf-8 win over the legacy-encoded fields */
  static const char t[] = "d4:infod5:filesld6:lengthi5e4:pathl3:\xe9t\xe9" "e"
                          "10:path.utf-8l5:\xc3\xa9t\xc3\xa9" "eee"
                          "4:name3:\xe9t\xe9" "10:name.utf-8l1:xe"
                          "12:piece lengthi16384e6:pieces20:" PIECE20 "ee";
  g_autoptr(GBytes) bytes = g_bytes_new (t, sizeof t - 1);
  g_autoptr(GbtMetainfo) mi = parse_ok (bytes);

  assert_safe (mi);
  /* name.utf-8 is a list here, not a string: the plain name is used, repaired */
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "_t_");
  g_assert_cmpstr (gbt_metainfo_get_file (mi, 0)->path, ==, "_t_/\xc3\xa9t\xc3\xa9");
  g_assert_cmpuint (n_warnings (mi), ==, 1);
}

static void
test_bitcomet_pad (void)
{
  F files[] = {
    { "a", 10000, NULL },
    { "_____padding_file_0_if you see this file, please update to BitComet 0.85 or above____", 6384, NULL },
    { "b", 100, NULL },
  };
  g_autoptr(GByteArray) info = multi_info ("bc", files, 3, 16384);
  g_autoptr(GBytes) bytes = torrent (NULL, info);
  g_autoptr(GbtMetainfo) mi = parse_ok (bytes);

  g_assert_cmpuint (gbt_metainfo_get_file (mi, 1)->attr, ==, GBT_FILE_ATTR_PAD);
  g_assert_cmpuint (gbt_metainfo_get_file (mi, 2)->offset, ==, 16384);
}

static void
test_from_info (void)
{
  g_autoptr(GByteArray) info = single_info ("m.iso", 40000, 16384);
  g_autoptr(GBytes) info_bytes = g_bytes_new (info->data, info->len);
  g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 hash[20];
  gsize n = sizeof hash;
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtMetainfo) bad = NULL;
  g_autoptr(GBytes) garbage = raw ("d4:name");

  g_checksum_update (c, info->data, (gssize) info->len);
  g_checksum_get_digest (c, hash, &n);
  mi = gbt_metainfo_new_from_info (info_bytes, hash, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "m.iso");
  g_assert_cmpmem (gbt_metainfo_get_info_hash (mi), 20, hash, 20);
  g_assert_null (gbt_metainfo_get_url_list (mi)[0]);
  g_assert_cmpuint (gbt_metainfo_get_n_tiers (mi), ==, 0);

  hash[0] ^= 1;
  bad = gbt_metainfo_new_from_info (info_bytes, hash, &error);
  g_assert_null (bad);
  g_assert_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_INFO_HASH);
  g_clear_error (&error);

  /* bytes that match their hash but are not an info dictionary */
  {
    g_autoptr(GChecksum) c2 = g_checksum_new (G_CHECKSUM_SHA1);
    n = sizeof hash;
    g_checksum_update (c2, (const guint8 *) "d4:name", 7);
    g_checksum_get_digest (c2, hash, &n);
    bad = gbt_metainfo_new_from_info (garbage, hash, &error);
    g_assert_null (bad);
    g_assert_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BENCODE);
  }
}

static void
test_from_file (void)
{
  g_autofree char *dir = gbt_test_mkdtemp ();
  g_autofree char *path = g_build_filename (dir, "t.torrent", NULL);
  g_autofree char *big = g_build_filename (dir, "big.iso", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.torrent", NULL);
  g_autoptr(GByteArray) info = single_info ("f", 16384, 16384);
  g_autoptr(GBytes) bytes = torrent (NULL, info);
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  GbtMetainfo *none;
  GbtMetainfo *copy;
  FILE *fp;

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL),
                                      (gssize) g_bytes_get_size (bytes), NULL));
  mi = gbt_metainfo_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "f");

  /* boxed copy is a reference */
  copy = g_boxed_copy (GBT_TYPE_METAINFO, mi);
  g_assert_true (copy == mi);
  g_boxed_free (GBT_TYPE_METAINFO, copy);

  none = gbt_metainfo_new_from_file (missing, &error);
  g_assert_null (none);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  /* a sparse 100 MiB file: refused before it is read */
  fp = fopen (big, "w");
  g_assert_nonnull (fp);
  g_assert_cmpint (fseek (fp, 100 * 1024 * 1024, SEEK_SET), ==, 0);
  fputc ('x', fp);
  fclose (fp);
  none = gbt_metainfo_new_from_file (big, &error);
  g_assert_null (none);
  g_assert_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_FAILED);

  gbt_test_rmtree (dir);
}

/* Bytes after the top-level dictionary: accepted with a warning, as
 * libtorrent does (two of its own test torrents end so); the dictionary
 * itself stays strict, and a bare info dictionary from a peer gets no such
 * leeway. */
static void
test_trailing_data (void)
{
  g_autoptr(GByteArray) info = single_info ("t.bin", 40000, 16384);
  g_autoptr(GBytes) clean = torrent (NULL, info);
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GbtMetainfo) ref = parse_ok (clean);
  g_autoptr(GError) error = NULL;
  const char *const *warnings;
  struct {
    const char *what;
    const char *text;
  } strict[] = {
    { "a truncated dictionary", "d4:infod4:name1:a" },
    { "a bad integer inside", "d4:infod6:lengthi05eee\n" },
    { "a list at the top", "le\n" },
    { "nothing but junk", "\n" },
  };

  g_byte_array_append (b, g_bytes_get_data (clean, NULL), (guint) g_bytes_get_size (clean));
  g_byte_array_append (b, (const guint8 *) "\r\nhello", 7);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&b));
  mi = parse_ok (bytes);
  g_assert_cmpmem (gbt_metainfo_get_info_hash (mi), 20, gbt_metainfo_get_info_hash (ref), 20);
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "t.bin");
  warnings = gbt_metainfo_get_warnings (mi);
  g_assert_nonnull (warnings[0]);
  g_test_message ("warning: %s", warnings[0]);
  g_assert_nonnull (strstr (warnings[0], "7 bytes after"));
  g_assert_null (warnings[1]);

  for (gsize i = 0; i < G_N_ELEMENTS (strict); i++)
    {
      g_autoptr(GBytes) bad = raw (strict[i].text);
      g_autoptr(GbtMetainfo) none = gbt_metainfo_new_from_bytes (bad, &error);

      g_test_message ("case: %s", strict[i].what);
      g_assert_null (none);
      g_assert_nonnull (error);
      g_assert_true (error->domain == GBT_METAINFO_ERROR);
      g_clear_error (&error);
    }

  /* ut_metadata: the info dictionary and nothing else */
  {
    g_autoptr(GByteArray) padded = g_byte_array_new ();
    g_autoptr(GBytes) padded_bytes = NULL;
    g_autoptr(GChecksum) c = g_checksum_new (G_CHECKSUM_SHA1);
    g_autoptr(GbtMetainfo) none = NULL;
    guint8 hash[20];
    gsize n = sizeof hash;

    g_byte_array_append (padded, info->data, info->len);
    g_byte_array_append (padded, (const guint8 *) "x", 1);
    g_checksum_update (c, padded->data, (gssize) padded->len);
    g_checksum_get_digest (c, hash, &n);
    padded_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&padded));
    none = gbt_metainfo_new_from_info (padded_bytes, hash, &error);
    g_assert_null (none);
    g_assert_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BENCODE);
  }
}

static void
test_data_corpus (void)
{
  /* made by mktorrent / transmission-create / by hand; hashes as libtorrent
   * computes them (tests/data/metainfo/README) */
  struct {
    const char *file;
    const char *hash;
    guint n_files;
  } cases[] = {
    { "metainfo/mktorrent-multi.torrent", "8b96163306281728c456baf94d47d64a87320748", 3 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = gbt_test_data_path (cases[i].file);
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_file (path, &error);
      g_autofree char *hex = NULL;

      g_assert_no_error (error);
      hex = gbt_metainfo_dup_info_hash_hex (mi);
      g_assert_cmpstr (hex, ==, cases[i].hash);
      g_assert_cmpuint (gbt_metainfo_get_n_files (mi), ==, cases[i].n_files);
      assert_safe (mi);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metainfo/single", test_single);
  g_test_add_func ("/metainfo/multi", test_multi);
  g_test_add_func ("/metainfo/announce-fallback", test_announce_fallback);
  g_test_add_func ("/metainfo/unsorted-keys", test_unsorted_keys);
  g_test_add_func ("/metainfo/non-power-of-two", test_non_power_of_two);
  g_test_add_func ("/metainfo/errors", test_errors);
  g_test_add_func ("/metainfo/attack/paths", test_attack_paths);
  g_test_add_func ("/metainfo/attack/nul", test_nul_in_path);
  g_test_add_func ("/metainfo/utf8-variants", test_utf8_variants);
  g_test_add_func ("/metainfo/bitcomet-pad", test_bitcomet_pad);
  g_test_add_func ("/metainfo/from-info", test_from_info);
  g_test_add_func ("/metainfo/from-file", test_from_file);
  g_test_add_func ("/metainfo/data-corpus", test_data_corpus);
  g_test_add_func ("/metainfo/trailing-data", test_trailing_data);
  return g_test_run ();
}
