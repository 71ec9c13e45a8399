/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gbt-storage.h"
#include "test-torrent.h"
#include "test-utils.h"

typedef struct
{
  char *dir;   /* download directory */
  char *tmp;   /* its parent: room for "outside" things */
  guint8 *stream;
  gsize len;
  GbtMetainfo *mi;
  GbtStorage *storage;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  fx->tmp = gbt_test_mkdtemp ();
  fx->dir = g_build_filename (fx->tmp, "downloads", NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_pointer (&fx->storage, gbt_storage_free);
  g_clear_pointer (&fx->mi, gbt_metainfo_unref);
  g_free (fx->stream);
  gbt_test_rmtree (fx->tmp);
  g_free (fx->dir);
  g_free (fx->tmp);
}

static void
load (Fixture *fx, const TestFile *files, guint n_files, guint32 piece_length)
{
  fx->stream = test_torrent_make_stream (files, n_files, &fx->len);
  fx->mi = test_torrent_new ("t", n_files > 1 || files[0].path != NULL ? files : NULL, n_files,
                             piece_length, fx->stream, fx->len);
  fx->storage = gbt_storage_new (fx->mi, fx->dir);
}

static void
assert_file (Fixture *fx, const char *relpath, const guint8 *data, gsize len)
{
  g_autoptr(GBytes) b = test_torrent_read_file (fx->dir, relpath);

  g_assert_nonnull (b);
  g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), data, len);
}

static void
assert_missing (Fixture *fx, const char *relpath)
{
  g_autofree char *path = g_build_filename (fx->dir, relpath, NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
}

static guint64
file_size (Fixture *fx, const char *relpath)
{
  g_autofree char *path = g_build_filename (fx->dir, relpath, NULL);
  struct stat st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (guint64) st.st_size;
}

/* writes the stream piece by piece, as the torrent would */
static void
write_all (Fixture *fx, guint32 piece_length)
{
  for (gsize off = 0; off < fx->len; off += piece_length)
    {
      g_autoptr(GError) error = NULL;
      g_assert_true (gbt_storage_write (fx->storage, off, fx->stream + off,
                                        MIN (piece_length, fx->len - off), &error));
      g_assert_no_error (error);
    }
}

static void
assert_read_all (Fixture *fx)
{
  g_autofree guint8 *buf = g_malloc (MAX (fx->len, 1));
  g_autoptr(GError) error = NULL;

  g_assert_true (gbt_storage_read (fx->storage, 0, buf, fx->len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, fx->len, fx->stream, fx->len);
}

static void
test_single_file (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = { { NULL, 100000, FALSE } };
  g_autoptr(GError) error = NULL;
  guint8 buf[300];

  load (fx, files, 1, 16384);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_size (fx, "t"), ==, 100000);

  write_all (fx, 16384);
  assert_file (fx, "t", fx->stream, fx->len);
  assert_read_all (fx);

  /* an unaligned read in the middle */
  g_assert_true (gbt_storage_read (fx->storage, 16000, buf, sizeof buf, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, sizeof buf, fx->stream + 16000, sizeof buf);

  /* past the end is refused, not truncated */
  g_assert_false (gbt_storage_read (fx->storage, fx->len - 10, buf, 20, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (gbt_storage_flush (fx->storage, &error));
  g_assert_no_error (error);
  /* the cache was emptied: reading reopens */
  assert_read_all (fx);
}

static gboolean direct_io_works (const char *dir);

/* Page-aligned buffers at page-aligned offsets go to the disk with
 * O_DIRECT; a file starting mid-page and a short tail go through the page
 * cache.  Whatever way each byte took, reads see it, also after rewriting
 * ranges the page cache already held. */
static void
test_direct_writes (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 8192, FALSE },
    { "b", 12388, FALSE },
    { "c", 70000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  guint8 *aligned;

  load (fx, files, G_N_ELEMENTS (files), 16384);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  aligned = g_aligned_alloc (1, fx->len, GBT_STORAGE_DIRECT_ALIGN);
  for (int round = 0; round < 2; round++)
    {
      if (round == 1)
        {
          /* the page cache holds round 0's bytes now; write others */
          assert_read_all (fx);
          for (gsize i = 0; i < fx->len; i++)
            fx->stream[i] ^= 0x5a;
        }
      memcpy (aligned, fx->stream, fx->len);
      for (gsize off = 0; off < fx->len; off += 16384)
        {
          g_assert_true (gbt_storage_write (fx->storage, off, aligned + off,
                                            MIN (16384, fx->len - off), &error));
          g_assert_no_error (error);
        }
      assert_read_all (fx);
      assert_file (fx, "t/a", fx->stream, 8192);
      assert_file (fx, "t/b", fx->stream + 8192, 12388);
      assert_file (fx, "t/c", fx->stream + 8192 + 12388, 70000);
    }
  g_assert_true (gbt_storage_flush (fx->storage, &error));
  g_assert_no_error (error);
  /* where the file system takes O_DIRECT at all, most bytes went around
   * the page cache (73 728 of 90 580 a round: the pages each write covers
   * whole) */
  if (direct_io_works (fx->dir))
    g_assert_cmpuint (gbt_storage_get_direct_bytes (fx->storage), ==, 2 * 73728);
  else
    g_test_message ("no O_DIRECT in %s: only correctness checked", fx->dir);
  g_aligned_free (aligned);
}

/* whether @dir's file system takes an aligned O_DIRECT write */
static gboolean
direct_io_works (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, ".probe", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  gboolean ok = FALSE;

  if (fd >= 0)
    {
      guint8 *page = g_aligned_alloc0 (1, GBT_STORAGE_DIRECT_ALIGN, GBT_STORAGE_DIRECT_ALIGN);
      ok = pwrite (fd, page, GBT_STORAGE_DIRECT_ALIGN, 0) == GBT_STORAGE_DIRECT_ALIGN;
      g_aligned_free (page);
      close (fd);
    }
  g_unlink (path);
  return ok;
}

static void
test_spanning (Fixture *fx, gconstpointer data)
{
  /* piece 0 (16384 bytes) covers a, b/c and the start of d */
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { "b/c", 5000, FALSE },
    { "d", 20000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  guint8 buf[16384];

  load (fx, files, G_N_ELEMENTS (files), 16384);
  /* without create_files: writes create what they need */
  g_assert_true (gbt_storage_write (fx->storage, 0, fx->stream, 16384, &error));
  g_assert_no_error (error);
  assert_file (fx, "t/a", fx->stream, 10000);
  assert_file (fx, "t/b/c", fx->stream + 10000, 5000);
  g_assert_cmpuint (file_size (fx, "t/d"), ==, 16384 - 15000);

  g_assert_true (gbt_storage_read (fx->storage, 0, buf, sizeof buf, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, sizeof buf, fx->stream, sizeof buf);

  write_all (fx, 16384);
  assert_file (fx, "t/d", fx->stream + 15000, 20000);
  assert_read_all (fx);
}

static void
test_pad_files (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { ".pad/6384", 6384, TRUE },
    { "b", 20000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *dirty = NULL;
  guint8 buf[6384];
  guint8 zeros[6384] = { 0 };

  load (fx, files, G_N_ELEMENTS (files), 16384);
  g_assert_true (gbt_metainfo_get_file (fx->mi, 1)->attr & GBT_FILE_ATTR_PAD);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  assert_missing (fx, "t/.pad");

  /* whatever the pad range holds in the buffer, nothing is written there */
  dirty = g_memdup2 (fx->stream, fx->len);
  memset (dirty + 10000, 0xee, 6384);
  g_assert_true (gbt_storage_write (fx->storage, 0, dirty, fx->len, &error));
  g_assert_no_error (error);
  assert_missing (fx, "t/.pad");
  assert_file (fx, "t/a", fx->stream, 10000);
  assert_file (fx, "t/b", fx->stream + 16384, 20000);

  g_assert_true (gbt_storage_read (fx->storage, 10000, buf, sizeof buf, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, sizeof buf, zeros, sizeof zeros);
  assert_read_all (fx);
}

static void
test_unwanted (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { "b", 10000, FALSE },
    { "c", 10000, FALSE },
  };
  const gboolean wanted[] = { TRUE, FALSE, TRUE };
  g_autoptr(GError) error = NULL;
  guint8 buf[100];

  load (fx, files, G_N_ELEMENTS (files), 16384);
  gbt_storage_set_wanted (fx->storage, wanted);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  assert_missing (fx, "t/b");
  g_assert_cmpuint (file_size (fx, "t/a"), ==, 10000);

  write_all (fx, 16384);
  assert_missing (fx, "t/b");
  assert_file (fx, "t/a", fx->stream, 10000);
  assert_file (fx, "t/c", fx->stream + 20000, 10000);

  g_assert_false (gbt_storage_read (fx->storage, 15000, buf, sizeof buf, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* wanted again: now it is written */
  gbt_storage_set_wanted (fx->storage, NULL);
  write_all (fx, 16384);
  assert_file (fx, "t/b", fx->stream + 10000, 10000);
}

static void
test_zero_length (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "empty1", 0, FALSE },
    { "a", 1000, FALSE },
    { "dir/empty2", 0, FALSE },
    { "empty3", 0, FALSE },
    { "b", 1000, FALSE },
    { "empty4", 0, FALSE },
  };
  g_autoptr(GError) error = NULL;

  load (fx, files, G_N_ELEMENTS (files), 16384);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_size (fx, "t/empty1"), ==, 0);
  g_assert_cmpuint (file_size (fx, "t/dir/empty2"), ==, 0);
  g_assert_cmpuint (file_size (fx, "t/empty3"), ==, 0);
  g_assert_cmpuint (file_size (fx, "t/empty4"), ==, 0);
  write_all (fx, 16384);
  assert_file (fx, "t/a", fx->stream, 1000);
  assert_file (fx, "t/b", fx->stream + 1000, 1000);
  g_assert_cmpuint (file_size (fx, "t/empty3"), ==, 0);
  assert_read_all (fx);
}

static void
test_existing_data (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { "b", 10000, FALSE },
    { "c", 10000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *pa = NULL, *pb = NULL, *pc = NULL;
  g_autofree guint8 *longer = g_malloc0 (15000);
  g_autofree guint8 *expect_c = g_malloc0 (10000);

  load (fx, files, G_N_ELEMENTS (files), 16384);
  sub = g_build_filename (fx->dir, "t", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  pa = g_build_filename (sub, "a", NULL);
  pb = g_build_filename (sub, "b", NULL);
  pc = g_build_filename (sub, "c", NULL);
  /* a: complete; b: longer than it should be; c: a short prefix */
  g_assert_true (g_file_set_contents (pa, (const char *) fx->stream, 10000, NULL));
  memcpy (longer, fx->stream + 10000, 10000);
  g_assert_true (g_file_set_contents (pb, (const char *) longer, 15000, NULL));
  g_assert_true (g_file_set_contents (pc, (const char *) fx->stream + 20000, 100, NULL));

  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  assert_file (fx, "t/a", fx->stream, 10000);
  assert_file (fx, "t/b", fx->stream + 10000, 10000); /* cut to length */
  memcpy (expect_c, fx->stream + 20000, 100);         /* kept, then zeros */
  assert_file (fx, "t/c", expect_c, 10000);
}

static void
test_symlink_dir (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "sub/f", 10000, FALSE },
    { "g", 10000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *outside = g_build_filename (fx->tmp, "outside", NULL);
  g_autofree char *t = NULL, *link = NULL, *escaped = NULL;
  guint8 buf[10];

  load (fx, files, G_N_ELEMENTS (files), 16384);
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  t = g_build_filename (fx->dir, "t", NULL);
  g_assert_cmpint (g_mkdir_with_parents (t, 0700), ==, 0);
  link = g_build_filename (t, "sub", NULL);
  g_assert_cmpint (symlink (outside, link), ==, 0);

  g_assert_false (gbt_storage_create_files (fx->storage, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
  g_clear_error (&error);
  g_assert_false (gbt_storage_write (fx->storage, 0, fx->stream, 16384, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
  g_clear_error (&error);
  g_assert_false (gbt_storage_read (fx->storage, 0, buf, sizeof buf, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
  g_clear_error (&error);

  escaped = g_build_filename (outside, "f", NULL);
  g_assert_false (g_file_test (escaped, G_FILE_TEST_EXISTS));
}

static void
test_symlink_file (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { "b", 10000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *victim = g_build_filename (fx->tmp, "victim", NULL);
  g_autofree char *t = NULL, *link = NULL, *contents = NULL;

  load (fx, files, G_N_ELEMENTS (files), 16384);
  g_assert_true (g_file_set_contents (victim, "precious", -1, NULL));
  t = g_build_filename (fx->dir, "t", NULL);
  g_assert_cmpint (g_mkdir_with_parents (t, 0700), ==, 0);
  link = g_build_filename (t, "b", NULL);
  g_assert_cmpint (symlink (victim, link), ==, 0);

  g_assert_false (gbt_storage_create_files (fx->storage, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
  g_clear_error (&error);
  g_assert_false (gbt_storage_write (fx->storage, 0, fx->stream, fx->len, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH);
  g_clear_error (&error);

  g_assert_true (g_file_get_contents (victim, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious");
}

static void
test_missing (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 10000, FALSE },
    { "b", 10000, FALSE },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *pb = NULL;
  guint8 buf[100];

  load (fx, files, G_N_ELEMENTS (files), 16384);
  /* nothing at all yet, not even the download directory */
  g_assert_false (gbt_storage_read (fx->storage, 0, buf, sizeof buf, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (g_file_test (fx->dir, G_FILE_TEST_EXISTS));

  /* a read never creates the file */
  g_assert_true (gbt_storage_write (fx->storage, 0, fx->stream, 10000, &error));
  g_assert_no_error (error);
  g_assert_false (gbt_storage_read (fx->storage, 10000, buf, sizeof buf, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  assert_missing (fx, "t/b");

  /* a short file */
  pb = g_build_filename (fx->dir, "t", "b", NULL);
  g_assert_true (g_file_set_contents (pb, "short", -1, NULL));
  g_assert_false (gbt_storage_read (fx->storage, 10000, buf, sizeof buf, &error));
  g_assert_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_TRUNCATED);
  g_clear_error (&error);

  /* a FIFO where a file should be: refused at once, never waited on */
  gbt_storage_close (fx->storage);
  g_assert_cmpint (g_unlink (pb), ==, 0);
  g_assert_cmpint (mkfifo (pb, 0600), ==, 0);
  g_assert_false (gbt_storage_read (fx->storage, 10000, buf, sizeof buf, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
  g_assert_false (gbt_storage_write (fx->storage, 10000, fx->stream + 10000, 100, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE);
  g_clear_error (&error);
}

static void
test_many_files (Fixture *fx, gconstpointer data)
{
  /* more files than the descriptor cache holds, pieces spanning many */
  TestFile files[150];
  char *names[G_N_ELEMENTS (files)];

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      names[i] = g_strdup_printf ("d%u/f%u", i % 7, i);
      files[i].path = names[i];
      files[i].length = 1000 + i * 37;
      files[i].pad = FALSE;
    }
  load (fx, files, G_N_ELEMENTS (files), 16384);
  write_all (fx, 16384);
  assert_read_all (fx);
  for (gsize i = 0, off = 0; i < G_N_ELEMENTS (files); off += files[i].length, i++)
    {
      g_autofree char *rel = g_strdup_printf ("t/%s", names[i]);
      assert_file (fx, rel, fx->stream + off, files[i].length);
    }
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_free (names[i]);
}

/* files part: wanted or not while running.  b (boundary shares in the
 * parts file) wanted: created at full length with its shares copied;
 * skipped again: it exists, so it keeps its bytes and takes writes. */
static void
test_wanted_live (Fixture *fx, gconstpointer data)
{
  const TestFile files[] = {
    { "a", 20000, FALSE },
    { "b", 50000, FALSE },
    { "c", 20000, FALSE },
  };
  const gboolean wanted[] = { TRUE, FALSE, TRUE };
  const guint32 plen = 16384;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) b = NULL;
  const guint8 *got;

  load (fx, files, G_N_ELEMENTS (files), plen);
  gbt_storage_set_parts_path (fx->storage, ".gbt/t.parts");
  gbt_storage_set_wanted (fx->storage, wanted);
  g_assert_true (gbt_storage_create_files (fx->storage, &error));
  g_assert_no_error (error);
  /* the pieces shared with a and c: 1 (16384..32768) and 4 (65536..81920) */
  for (guint p = 0; p < 6; p++)
    if (p <= 1 || p >= 4)
      {
        gsize n = MIN ((gsize) plen, fx->len - p * plen);
        g_assert_true (gbt_storage_write (fx->storage, (guint64) p * plen, fx->stream + p * plen,
                                          n, &error));
        g_assert_no_error (error);
      }
  assert_missing (fx, "t/b");
  g_assert_true (gbt_storage_file_in_parts (fx->storage, 1));

  g_assert_true (gbt_storage_set_file_wanted_live (fx->storage, 1, TRUE, plen, &error));
  g_assert_no_error (error);
  g_assert_false (gbt_storage_file_in_parts (fx->storage, 1));
  g_assert_cmpuint (file_size (fx, "t/b"), ==, 50000);
  b = test_torrent_read_file (fx->dir, "t/b");
  got = g_bytes_get_data (b, NULL);
  /* b's share of piece 1: its bytes 0..12768; of piece 4: 45536..50000 */
  g_assert_cmpmem (got, 12768, fx->stream + 20000, 12768);
  g_assert_cmpmem (got + 45536, 50000 - 45536, fx->stream + 65536, 50000 - 45536);

  /* the rest of b is written into the file itself now */
  g_assert_true (gbt_storage_write (fx->storage, 2 * plen, fx->stream + 2 * plen, 2 * plen, &error));
  g_assert_no_error (error);
  assert_file (fx, "t/b", fx->stream + 20000, 50000);

  /* skipped again: on disk already, so it stays and keeps its bytes */
  g_assert_true (gbt_storage_set_file_wanted_live (fx->storage, 1, FALSE, plen, &error));
  g_assert_no_error (error);
  g_assert_false (gbt_storage_file_in_parts (fx->storage, 1));
  assert_file (fx, "t/b", fx->stream + 20000, 50000);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) d = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d))
    n++;
  return n;
}

typedef struct
{
  GbtStorage **storages;
  guint8 **streams;
  gsize *lens;
  guint n;
  guint seed;
} BudgetWork;

static gpointer
budget_reader (gpointer data)
{
  BudgetWork *w = data;
  GRand *rand = g_rand_new_with_seed (w->seed);

  for (guint k = 0; k < 400; k++)
    {
      guint i = g_rand_int_range (rand, 0, (gint32) w->n);
      g_autofree guint8 *buf = g_malloc (w->lens[i]);
      g_autoptr(GError) error = NULL;

      g_assert_true (gbt_storage_read (w->storages[i], 0, buf, w->lens[i], &error));
      g_assert_no_error (error);
      g_assert_cmpmem (buf, w->lens[i], w->streams[i], w->lens[i]);
    }
  g_rand_free (rand);
  return NULL;
}

/* The process-wide descriptor budget: many storages each with a file open
 * keep at most the budget's descriptors (plus a directory each) whatever
 * their number, and an evicted file is opened again when next read, from
 * several threads at once. */
static void
test_fd_budget (Fixture *fx, gconstpointer data)
{
  enum { N = 40, BUDGET = 6 };
  GbtStorage *storages[N];
  GbtMetainfo *mis[N];
  guint8 *streams[N];
  gsize lens[N];
  BudgetWork work[3];
  GThread *threads[G_N_ELEMENTS (work)];
  guint fds0 = count_fds ();

  gbt_storage_set_fd_budget (BUDGET);
  for (guint i = 0; i < N; i++)
    {
      TestFile file = { NULL, 3000 + i * 11, FALSE };
      g_autofree char *dir = g_strdup_printf ("%s/s%u", fx->tmp, i);
      g_autoptr(GError) error = NULL;

      streams[i] = test_torrent_make_stream (&file, 1, &lens[i]);
      mis[i] = test_torrent_new ("t", NULL, 1, 16384, streams[i], lens[i]);
      storages[i] = gbt_storage_new (mis[i], dir);
      g_assert_true (gbt_storage_write (storages[i], 0, streams[i], lens[i], &error));
      g_assert_no_error (error);
      g_assert_cmpuint (gbt_storage_get_n_cached_fds (), <=, BUDGET);
      /* each cached file, its O_DIRECT twin and its storage's directory */
      g_assert_cmpuint (count_fds (), <=, fds0 + 3 * BUDGET);
    }
  for (guint i = 0; i < G_N_ELEMENTS (work); i++)
    {
      work[i] = (BudgetWork) { storages, streams, lens, N, i + 1 };
      threads[i] = g_thread_new ("reader", budget_reader, &work[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (work); i++)
    g_thread_join (threads[i]);
  g_assert_cmpuint (gbt_storage_get_n_cached_fds (), <=, BUDGET);
  g_assert_cmpuint (count_fds (), <=, fds0 + 3 * BUDGET);
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *rel = g_strdup_printf ("s%u/t", i);
      g_autoptr(GBytes) b = NULL;

      gbt_storage_free (storages[i]);
      gbt_metainfo_unref (mis[i]);
      b = test_torrent_read_file (fx->tmp, rel);
      g_assert_cmpmem (g_bytes_get_data (b, NULL), g_bytes_get_size (b), streams[i], lens[i]);
      g_free (streams[i]);
    }
  g_assert_cmpuint (gbt_storage_get_n_cached_fds (), ==, 0);
  g_assert_cmpuint (count_fds (), ==, fds0);
  gbt_storage_set_fd_budget (256);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/storage/single-file", test_single_file);
  ADD ("/storage/direct-writes", test_direct_writes);
  ADD ("/storage/spanning", test_spanning);
  ADD ("/storage/pad-files", test_pad_files);
  ADD ("/storage/unwanted", test_unwanted);
  ADD ("/storage/zero-length", test_zero_length);
  ADD ("/storage/existing-data", test_existing_data);
  ADD ("/storage/symlink-dir", test_symlink_dir);
  ADD ("/storage/symlink-file", test_symlink_file);
  ADD ("/storage/missing", test_missing);
  ADD ("/storage/many-files", test_many_files);
  ADD ("/storage/wanted-live", test_wanted_live);
  ADD ("/storage/fd-budget", test_fd_budget);
#undef ADD
  return g_test_run ();
}
