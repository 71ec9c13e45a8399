/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GbtCreator: scanning, hashing on threads, bencoding, and reading it back. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gbt/gbt.h>

#include "gbt-creator.h"
#include "gbt-hash.h"
#include "test-utils.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->dir = gbt_test_mkdtemp ();
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  gbt_test_rmtree (fx->dir);
  g_free (fx->dir);
}

/* deterministic content: a different byte pattern per @seed */
static guint8 *
make_content (gsize len, guint32 seed)
{
  guint8 *buf = g_malloc (MAX (len, 1));
  guint32 x = seed * 2654435761u + 1;

  for (gsize i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[i] = (guint8) x;
    }
  return buf;
}

/* writes @len bytes under @dir/@rel (creating directories); appends them to @stream */
static void
write_file (const char *dir, const char *rel, gsize len, guint32 seed, GByteArray *stream)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname (path);
  g_autofree guint8 *data = make_content (len, seed);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_file_set_contents (path, (const char *) data, (gssize) len, &error);
  g_assert_no_error (error);
  if (stream != NULL)
    g_byte_array_append (stream, data, (guint) len);
}

static GbtMetainfo *
hash_and_parse (GbtCreator *creator, guint n_threads, GBytes **bytes_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GbtBencodeDoc) doc = NULL;
  GbtMetainfo *mi;
  guint8 info_hash[20];

  bytes = gbt_creator_hash (creator, n_threads, NULL, NULL, NULL, info_hash, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  /* keys sorted everywhere: the strict parser accepts it */
  doc = gbt_bencode_parse_full (bytes, GBT_BENCODE_STRICT, 0, 0, &error);
  g_assert_no_error (error);
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (gbt_metainfo_get_info_hash (mi), 20, info_hash, 20);
  if (bytes_out != NULL)
    *bytes_out = g_steal_pointer (&bytes);
  return mi;
}

static void
assert_pieces (GbtMetainfo *mi, const guint8 *stream, gsize len)
{
  guint32 piece_length = gbt_metainfo_get_piece_length (mi);

  g_assert_cmpuint (gbt_metainfo_get_total_size (mi), ==, len);
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (mi), ==, (len + piece_length - 1) / piece_length);
  for (guint p = 0; p < gbt_metainfo_get_n_pieces (mi); p++)
    {
      gsize off = (gsize) p * piece_length;
      gsize size = MIN (piece_length, len - off);
      guint8 digest[20];

      g_assert_cmpuint (gbt_metainfo_get_piece_size (mi, p), ==, size);
      gbt_sha1 (stream + off, size, digest);
      g_assert_cmpmem (gbt_metainfo_get_piece_hash (mi, p), 20, digest, 20);
    }
}

static void
test_single (Fixture *fx, gconstpointer data)
{
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autofree char *path = g_build_filename (fx->dir, "movie.bin", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GError) error = NULL;
  const char *tier1[] = { "http://127.0.0.1:6969/announce", NULL };
  const char *tier2[] = { "udp://127.0.0.1:6969", "http://[::1]:80/a", NULL };
  g_autofree char *created_by = NULL;

  write_file (fx->dir, "movie.bin", 100000, 1, stream);
  creator = gbt_creator_new (path, &error);
  g_assert_no_error (error);
  g_assert_false (gbt_creator_is_multi_file (creator));
  g_assert_cmpuint (gbt_creator_get_n_files (creator), ==, 1);
  g_assert_cmpstr (gbt_creator_get_file_path (creator, 0), ==, "movie.bin");
  g_assert_cmpuint (gbt_creator_get_total_size (creator), ==, 100000);

  g_assert_true (gbt_creator_set_piece_length (creator, 16384, &error));
  g_assert_true (gbt_creator_add_tier (creator, tier1, &error));
  g_assert_true (gbt_creator_add_tier (creator, tier2, &error));
  g_assert_true (gbt_creator_add_web_seed (creator, "http://127.0.0.1/files/", &error));
  gbt_creator_set_comment (creator, "a comment");
  gbt_creator_set_private (creator, TRUE);
  gbt_creator_set_creation_date (creator, 1700000000);
  g_assert_no_error (error);

  mi = hash_and_parse (creator, 3, NULL);
  g_assert_false (gbt_metainfo_is_multi_file (mi));
  g_assert_cmpstr (gbt_metainfo_get_name (mi), ==, "movie.bin");
  g_assert_cmpuint (gbt_metainfo_get_piece_length (mi), ==, 16384);
  assert_pieces (mi, stream->data, stream->len);
  g_assert_true (gbt_metainfo_is_private (mi));
  g_assert_cmpstr (gbt_metainfo_get_announce (mi), ==, tier1[0]);
  g_assert_cmpuint (gbt_metainfo_get_n_tiers (mi), ==, 2);
  g_assert_cmpstrv (gbt_metainfo_get_tier (mi, 0), tier1);
  g_assert_cmpstrv (gbt_metainfo_get_tier (mi, 1), tier2);
  g_assert_cmpstr (gbt_metainfo_get_url_list (mi)[0], ==, "http://127.0.0.1/files/");
  g_assert_cmpstr (gbt_metainfo_get_comment (mi), ==, "a comment");
  created_by = g_strconcat ("gbt ", gbt_get_version_string (), NULL);
  g_assert_cmpstr (gbt_metainfo_get_created_by (mi), ==, created_by);
  g_assert_cmpint (gbt_metainfo_get_creation_date (mi), ==, 1700000000);
}

static void
test_multi (Fixture *fx, gconstpointer data)
{
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autofree char *root = g_build_filename (fx->dir, "album", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GError) error = NULL;
  /* in the order expected: the whole relative path compared bytewise, so
   * "a.txt" comes before "a/y" ('.' < '/'), as mktorrent orders them */
  static const struct { const char *rel; gsize len; } files[] = {
    { ".hidden", 3 },
    { "B/upper", 16384 },
    { "a.txt", 20000 },
    { "a/y", 40000 },
    { "a/z/deep", 1 },
    { "empty", 0 },
    { "z", 70001 },
  };

  /* written in another order than the expected one */
  for (int i = G_N_ELEMENTS (files) - 1; i >= 0; i--)
    write_file (root, files[i].rel, files[i].len, (guint32) i + 10, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree guint8 *d = make_content (files[i].len, i + 10);
      g_byte_array_append (stream, d, (guint) files[i].len);
    }

  creator = gbt_creator_new (root, &error);
  g_assert_no_error (error);
  g_assert_true (gbt_creator_is_multi_file (creator));
  g_assert_cmpstr (gbt_creator_get_name (creator), ==, "album");
  g_assert_cmpuint (gbt_creator_get_n_files (creator), ==, G_N_ELEMENTS (files));
  g_assert_true (gbt_creator_set_piece_length (creator, 32768, &error));

  mi = hash_and_parse (creator, 2, NULL);
  g_assert_true (gbt_metainfo_is_multi_file (mi));
  g_assert_null (gbt_metainfo_get_announce (mi));
  g_assert_cmpint (gbt_metainfo_get_creation_date (mi), ==, -1);
  g_assert_false (gbt_metainfo_is_private (mi));
  g_assert_cmpuint (gbt_metainfo_get_n_files (mi), ==, G_N_ELEMENTS (files));
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autofree char *expect = g_strconcat ("album/", files[i].rel, NULL);

      g_assert_cmpstr (f->path, ==, expect);
      g_assert_cmpuint (f->length, ==, files[i].len);
    }
  assert_pieces (mi, stream->data, stream->len);
}

static void
test_deterministic (Fixture *fx, gconstpointer data)
{
  g_autofree char *root = g_build_filename (fx->dir, "d", NULL);
  g_autoptr(GBytes) first = NULL;
  const char *tier[] = { "http://127.0.0.1/announce", NULL };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *rel = g_strdup_printf ("sub%u/file%02u", i % 3, i);
      write_file (root, rel, 1000 * i + 17, i, NULL);
    }
  /* same content, any number of threads, twice: the same bytes */
  for (guint n_threads = 1; n_threads <= 8; n_threads *= 2)
    {
      g_autoptr(GbtCreator) creator = gbt_creator_new (root, &error);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GbtMetainfo) mi = NULL;

      g_assert_no_error (error);
      g_assert_true (gbt_creator_add_tier (creator, tier, &error));
      g_assert_true (gbt_creator_set_piece_length (creator, 16384, &error));
      mi = hash_and_parse (creator, n_threads, &bytes);
      if (first == NULL)
        first = g_bytes_ref (bytes);
      else
        g_assert_true (g_bytes_equal (first, bytes));
    }
  /* a single URL: 'announce' only, no 'announce-list' */
  g_assert_null (memmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first),
                         "announce-list", 13));
  g_assert_null (memmem (g_bytes_get_data (first, NULL), g_bytes_get_size (first),
                         "creation date", 13));
}

static void
test_auto_piece_length (void)
{
  static const struct { guint64 size; guint32 expect; } cases[] = {
    { 1, 16384 },
    { 1000000, 16384 },
    { 32 * 1024 * 1024, 16384 },             /* exactly 2048 pieces */
    { 32 * 1024 * 1024 + 1, 32768 },
    { G_GUINT64_CONSTANT (1) << 30, 512 * 1024 },   /* 1 GiB: 2048 × 512 KiB */
    { (G_GUINT64_CONSTANT (4) << 30) + 5, 4 * 1024 * 1024 },
    { G_GUINT64_CONSTANT (32) << 30, 16 * 1024 * 1024 },
    { G_GUINT64_CONSTANT (1) << 40, 16 * 1024 * 1024 }, /* capped */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint32 got = gbt_creator_auto_piece_length (cases[i].size);
      g_test_message ("size %" G_GUINT64_FORMAT ": %u", cases[i].size, got);
      g_assert_cmpuint (got, ==, cases[i].expect);
    }
}

static void
test_auto_piece_length_used (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "f", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GbtMetainfo) mi = NULL;
  g_autoptr(GError) error = NULL;
  int fd;

  /* a sparse 40 MiB file: auto gives 32 KiB pieces (1280 of them) */
  fd = g_open (path, O_CREAT | O_WRONLY, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 40 * 1024 * 1024), ==, 0);
  close (fd);
  creator = gbt_creator_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gbt_creator_get_piece_length (creator), ==, 32768);
  mi = hash_and_parse (creator, 0, NULL);
  g_assert_cmpuint (gbt_metainfo_get_piece_length (mi), ==, 32768);
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (mi), ==, 1280);
}

static void
test_parse_size (void)
{
  static const struct { const char *text; guint64 value; } good[] = {
    { "262144", 262144 }, { "256K", 262144 }, { "256k", 262144 }, { "256KiB", 262144 },
    { "256kb", 262144 }, { "1M", 1048576 }, { "4MiB", 4194304 }, { "1G", 1073741824 },
    { "0", 0 },
  };
  static const char *bad[] = { "", "K", "12X", "1.5M", "1MiBs", "-1", " 1M",
                               "99999999999999999999", "17179869184G" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 v = 1;

      g_assert_true (gbt_creator_parse_size (good[i].text, &v, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (v, ==, good[i].value);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 v;

      g_assert_false (gbt_creator_parse_size (bad[i], &v, &error));
      g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
    }
}

static void
expect_new_error (const char *path, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtCreator) creator = gbt_creator_new (path, &error);

  g_assert_null (creator);
  g_assert_error (error, GBT_CREATOR_ERROR, code);
}

static void
test_errors (Fixture *fx, gconstpointer data)
{
  g_autofree char *missing = g_build_filename (fx->dir, "nope", NULL);
  g_autofree char *empty_dir = g_build_filename (fx->dir, "emptydir", NULL);
  g_autofree char *only_empty = g_build_filename (fx->dir, "onlyempty", NULL);
  g_autofree char *empty_file = g_build_filename (fx->dir, "onlyempty", "e", NULL);
  g_autofree char *fifo = g_build_filename (fx->dir, "fifo", NULL);
  g_autofree char *good = g_build_filename (fx->dir, "good", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad_tier[] = { "not a url", NULL };
  const char *no_urls[] = { NULL };
  static const guint32 bad_lengths[] = { 3000, 8192, 16385, 32 * 1024 * 1024 };

  expect_new_error (missing, GBT_CREATOR_ERROR_NOT_FOUND);
  g_assert_cmpint (g_mkdir (empty_dir, 0755), ==, 0);
  expect_new_error (empty_dir, GBT_CREATOR_ERROR_EMPTY);
  write_file (fx->dir, "onlyempty/e", 0, 0, NULL);
  expect_new_error (only_empty, GBT_CREATOR_ERROR_EMPTY);
  expect_new_error (empty_file, GBT_CREATOR_ERROR_EMPTY);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  expect_new_error (fifo, GBT_CREATOR_ERROR_UNSUPPORTED);

  write_file (fx->dir, "good", 100, 0, NULL);
  creator = gbt_creator_new (good, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (bad_lengths); i++)
    {
      g_clear_error (&error);
      g_assert_false (gbt_creator_set_piece_length (creator, bad_lengths[i], &error));
      g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
    }
  g_clear_error (&error);
  g_assert_false (gbt_creator_add_tier (creator, bad_tier, &error));
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
  g_clear_error (&error);
  g_assert_false (gbt_creator_add_tier (creator, no_urls, &error));
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
  g_clear_error (&error);
  g_assert_false (gbt_creator_add_web_seed (creator, "", &error));
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
  g_clear_error (&error);
  g_assert_false (gbt_creator_set_name (creator, "a/b", &error));
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
  g_clear_error (&error);
  g_assert_false (gbt_creator_set_name (creator, "..", &error));
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION);
  g_clear_error (&error);
  g_assert_true (gbt_creator_set_name (creator, "renamed", &error));
  g_assert_cmpstr (gbt_creator_get_file_path (creator, 0), ==, "renamed");
}

static void
test_changed (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "shrinks", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  write_file (fx->dir, "shrinks", 50000, 0, NULL);
  creator = gbt_creator_new (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (truncate (path, 20000), ==, 0);
  bytes = gbt_creator_hash (creator, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_CHANGED);

  /* gone altogether */
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  bytes = gbt_creator_hash (creator, 2, NULL, NULL, NULL, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_NOT_FOUND);
}

static void
test_cancel (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fx->dir, "f", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  write_file (fx->dir, "f", 300000, 0, NULL);
  creator = gbt_creator_new (path, &error);
  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  bytes = gbt_creator_hash (creator, 2, NULL, NULL, cancellable, NULL, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
progress_cb (guint64 done, guint64 total, gpointer user_data)
{
  guint64 *last = user_data;

  g_assert_cmpuint (done, <=, total);
  g_assert_cmpuint (done, >=, *last);
  *last = done;
}

static void
test_progress_and_symlinks (Fixture *fx, gconstpointer data)
{
  g_autofree char *root = g_build_filename (fx->dir, "tree", NULL);
  g_autofree char *loop = g_build_filename (root, "sub", "up", NULL);
  g_autofree char *link = g_build_filename (root, "link", NULL);
  g_autoptr(GbtCreator) creator = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint64 last = 0;

  write_file (root, "sub/data", 70000, 3, NULL);
  /* a loop back to the root is skipped; a link to a file is followed */
  g_assert_cmpint (symlink ("..", loop), ==, 0);
  g_assert_cmpint (symlink ("sub/data", link), ==, 0);
  creator = gbt_creator_new (root, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gbt_creator_get_n_files (creator), ==, 2);
  g_assert_cmpstr (gbt_creator_get_file_path (creator, 0), ==, "link");
  g_assert_cmpstr (gbt_creator_get_file_path (creator, 1), ==, "sub/data");
  bytes = gbt_creator_hash (creator, 2, progress_cb, &last, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  g_assert_cmpuint (last, ==, 140000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/creator/single", Fixture, NULL, fixture_setup, test_single, fixture_teardown);
  g_test_add ("/creator/multi", Fixture, NULL, fixture_setup, test_multi, fixture_teardown);
  g_test_add ("/creator/deterministic", Fixture, NULL, fixture_setup, test_deterministic,
              fixture_teardown);
  g_test_add_func ("/creator/piece-length/auto", test_auto_piece_length);
  g_test_add ("/creator/piece-length/auto-used", Fixture, NULL, fixture_setup,
              test_auto_piece_length_used, fixture_teardown);
  g_test_add_func ("/creator/parse-size", test_parse_size);
  g_test_add ("/creator/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
  g_test_add ("/creator/changed", Fixture, NULL, fixture_setup, test_changed, fixture_teardown);
  g_test_add ("/creator/cancel", Fixture, NULL, fixture_setup, test_cancel, fixture_teardown);
  g_test_add ("/creator/progress-symlinks", Fixture, NULL, fixture_setup,
              test_progress_and_symlinks, fixture_teardown);
  return g_test_run ();
}
