/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resume data: round trip, atomic writes, stale and malformed files, and
 * which pieces survive a changed file. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "gbt-resume.h"
#include "gbt-storage.h"
#include "test-torrent.h"
#include "test-utils.h"

#define PIECE 16384

/* pieces: a 0-1, b 1-3, pad 3, c 4-5 (6 pieces); the pad file shares piece
 * 3 with b's tail, and e is empty */
static const TestFile layout[] = {
  { "a", 20000, FALSE },
  { "b", 30000, FALSE },
  { ".pad/15536", 15536, TRUE },
  { "c", 20000, FALSE },
  { "e", 0, FALSE },
};

typedef struct {
  char *dir;
  GbtMetainfo *mi;
  char *path;
} Fixture;

static void
write_files (Fixture *fx)
{
  for (gsize i = 0; i < G_N_ELEMENTS (layout); i++)
    {
      g_autofree char *full = NULL;
      g_autofree char *parent = NULL;
      g_autofree guint8 *zeros = NULL;
      g_autoptr(GError) error = NULL;

      if (layout[i].pad)
        continue;
      full = g_build_filename (fx->dir, "t", layout[i].path, NULL);
      parent = g_path_get_dirname (full);
      g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
      zeros = g_malloc0 (layout[i].length + 1);
      g_file_set_contents (full, (char *) zeros, (gssize) layout[i].length, &error);
      g_assert_no_error (error);
    }
}

static void
fixture_set_up (Fixture *fx, gconstpointer user_data)
{
  g_autofree guint8 *stream = NULL;
  gsize len;

  fx->dir = gbt_test_mkdtemp ();
  stream = test_torrent_make_stream (layout, G_N_ELEMENTS (layout), &len);
  fx->mi = test_torrent_new ("t", layout, G_N_ELEMENTS (layout), PIECE, stream, len);
  g_assert_cmpuint (gbt_metainfo_get_n_pieces (fx->mi), ==, 6);
  fx->path = gbt_resume_path_for (fx->dir, gbt_metainfo_get_info_hash (fx->mi));
  write_files (fx);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer user_data)
{
  gbt_test_rmtree (fx->dir);
  g_free (fx->dir);
  g_free (fx->path);
  gbt_metainfo_unref (fx->mi);
}

static void
add_peer (GbtResumeData *data, const char *ip, guint16 port)
{
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (ip);

  g_ptr_array_add (data->peers, g_inet_socket_address_new (addr, port));
}

static GbtResumeData *
sample_data (Fixture *fx)
{
  GbtResumeData *data = gbt_resume_data_new (fx->mi);

  gbt_bitfield_set (&data->have, 0, TRUE);
  gbt_bitfield_set (&data->have, 2, TRUE);
  gbt_bitfield_set (&data->have, 5, TRUE);
  data->uploaded = G_GUINT64_CONSTANT (5000000000);
  data->downloaded = 123456;
  data->active_seconds = 3600;
  add_peer (data, "127.0.0.1", 6881);
  add_peer (data, "::1", 51413);
  add_peer (data, "127.4.5.6", 65535);
  gbt_resume_stat_files (data, fx->mi, fx->dir);
  g_array_index (data->files, GbtResumeFile, 1).in_parts = TRUE;
  return data;
}

static char *
peer_string (GbtResumeData *data, guint i)
{
  GInetSocketAddress *sa = g_ptr_array_index (data->peers, i);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (sa));

  return g_strdup_printf ("%s/%u", ip, g_inet_socket_address_get_port (sa));
}

static void
assert_same (GbtResumeData *a, GbtResumeData *b)
{
  g_assert_cmpmem (a->info_hash, 20, b->info_hash, 20);
  g_assert_cmpuint (a->have.n_bits, ==, b->have.n_bits);
  g_assert_cmpuint (a->have.n_set, ==, b->have.n_set);
  g_assert_cmpmem (a->have.bits, gbt_bitfield_byte_len (a->have.n_bits), b->have.bits,
                   gbt_bitfield_byte_len (b->have.n_bits));
  g_assert_cmpuint (a->files->len, ==, b->files->len);
  for (guint i = 0; i < a->files->len; i++)
    {
      GbtResumeFile *x = &g_array_index (a->files, GbtResumeFile, i);
      GbtResumeFile *y = &g_array_index (b->files, GbtResumeFile, i);
      g_assert_cmpint (x->exists, ==, y->exists);
      g_assert_cmpint (x->in_parts, ==, y->in_parts);
      g_assert_cmpuint (x->size, ==, y->size);
      g_assert_cmpint (x->mtime_s, ==, y->mtime_s);
      g_assert_cmpint (x->mtime_ns, ==, y->mtime_ns);
    }
  g_assert_cmpuint (a->uploaded, ==, b->uploaded);
  g_assert_cmpuint (a->downloaded, ==, b->downloaded);
  g_assert_cmpuint (a->active_seconds, ==, b->active_seconds);
}

static void
test_round_trip (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = sample_data (fx);
  g_autoptr(GbtResumeData) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hex = gbt_metainfo_dup_info_hash_hex (fx->mi);
  g_autofree char *name = g_strconcat (hex, ".resume", NULL);
  g_autofree char *expect = g_build_filename (fx->dir, ".gbt", name, NULL);
  g_autoptr(GDir) d = NULL;
  g_autofree char *gbt_dir = g_path_get_dirname (fx->path);
  const char *entry;
  GbtResumeFile *f;

  g_assert_cmpstr (fx->path, ==, expect);
  g_assert_true (gbt_resume_save (fx->path, data, &error));
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  assert_same (data, back);

  /* what stat_files saw: the files' sizes, the pad file as absent */
  f = &g_array_index (back->files, GbtResumeFile, 1);
  g_assert_true (f->exists);
  g_assert_cmpuint (f->size, ==, 30000);
  g_assert_cmpint (f->mtime_s, >, 0);
  g_assert_false (g_array_index (back->files, GbtResumeFile, 2).exists);
  g_assert_true (g_array_index (back->files, GbtResumeFile, 4).exists);

  /* IPv4 and IPv6 are stored apart (peers, peers6): v4 ones come first */
  g_assert_cmpuint (back->peers->len, ==, 3);
  {
    g_autofree char *p0 = peer_string (back, 0);
    g_autofree char *p1 = peer_string (back, 1);
    g_autofree char *p2 = peer_string (back, 2);
    g_assert_cmpstr (p0, ==, "127.0.0.1/6881");
    g_assert_cmpstr (p1, ==, "127.4.5.6/65535");
    g_assert_cmpstr (p2, ==, "::1/51413");
  }

  /* nothing but the resume file is left in the directory */
  d = g_dir_open (gbt_dir, 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (d)) != NULL)
    g_assert_cmpstr (entry, ==, name);
}

static void
test_peers_bounded (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = gbt_resume_data_new (fx->mi);
  g_autoptr(GbtResumeData) back = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *ip = g_strdup_printf (i % 2 ? "127.0.%u.%u" : "fd00::%x:%x", i / 250, i % 250 + 1);
      add_peer (data, ip, (guint16) (1000 + i));
    }
  bytes = gbt_resume_encode (data);
  back = gbt_resume_decode (bytes, fx->mi, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->peers->len, ==, GBT_RESUME_MAX_PEERS);
}

static void
test_atomic (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = sample_data (fx);
  g_autoptr(GbtResumeData) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stray = g_strconcat (fx->path, ".Ab12Cd.tmp", NULL);
  g_autofree char *gbt_dir = g_path_get_dirname (fx->path);

  /* a crash before the first rename: only a temporary file, half written */
  g_assert_cmpint (g_mkdir_with_parents (gbt_dir, 0700), ==, 0);
  g_file_set_contents (stray, "d14:active-secondsi3", -1, &error);
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_NOT_FOUND);
  g_assert_null (back);
  g_clear_error (&error);

  /* a good save, then a crash while writing the next one */
  g_assert_true (gbt_resume_save (fx->path, data, &error));
  g_assert_no_error (error);
  data->uploaded = 1;
  g_file_set_contents (stray, "garbage", -1, &error);
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->uploaded, ==, G_GUINT64_CONSTANT (5000000000));
  g_clear_pointer (&back, gbt_resume_data_free);

  /* the next save replaces the file whole */
  g_assert_true (gbt_resume_save (fx->path, data, &error));
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_no_error (error);
  assert_same (data, back);

  /* a path that cannot be written is an IO error */
  {
    g_autofree char *blocker = g_build_filename (fx->dir, "file", NULL);
    g_autofree char *bad = g_build_filename (blocker, "x.resume", NULL);
    g_file_set_contents (blocker, "", 0, &error);
    g_assert_no_error (error);
    g_assert_false (gbt_resume_save (bad, data, &error));
    g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_IO);
  }
}

static void
expect_load_error (Fixture *fx, GBytes *bytes, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtResumeData) back = NULL;

  g_file_set_contents (fx->path, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes),
                       &error);
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_error (error, GBT_RESUME_ERROR, code);
  g_assert_null (back);
}

static void
test_stale (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = sample_data (fx);
  g_autofree char *gbt_dir = g_path_get_dirname (fx->path);

  g_assert_cmpint (g_mkdir_with_parents (gbt_dir, 0700), ==, 0);

  /* another torrent */
  {
    g_autoptr(GBytes) bytes = NULL;
    data->info_hash[7] ^= 1;
    bytes = gbt_resume_encode (data);
    expect_load_error (fx, bytes, GBT_RESUME_ERROR_STALE);
    data->info_hash[7] ^= 1;
  }
  /* same hash, other piece counts (fewer and more) */
  for (guint k = 0; k < 5; k++)
    {
      /* 6 pieces take one byte: 1..8 pieces cannot be told apart */
      const guint n = (guint[]) { 0, 9, 16, 17, 100 }[k];
      g_autoptr(GBytes) bytes = NULL;
      GbtBitfield saved = data->have;
      gbt_bitfield_init (&data->have, n);
      bytes = gbt_resume_encode (data);
      gbt_bitfield_clear (&data->have);
      data->have = saved;
      expect_load_error (fx, bytes, GBT_RESUME_ERROR_STALE);
    }
  /* same hash, another file count */
  {
    g_autoptr(GBytes) bytes = NULL;
    g_array_set_size (data->files, 4);
    bytes = gbt_resume_encode (data);
    expect_load_error (fx, bytes, GBT_RESUME_ERROR_STALE);
  }
}

typedef struct {
  const char *from, *to;
  gsize from_len, to_len;
} Edit;
#define EDIT(a, b) { a, b, sizeof (a) - 1, sizeof (b) - 1 }

/* byte strings (the encoding holds NULs): the first @e->from becomes @e->to */
static GBytes *
replace (GBytes *bytes, const Edit *e)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  const guint8 *at = memmem (p, len, e->from, e->from_len);
  g_autoptr(GByteArray) out = g_byte_array_new ();

  g_assert_nonnull (at);
  g_byte_array_append (out, p, (guint) (at - p));
  g_byte_array_append (out, (const guint8 *) e->to, (guint) e->to_len);
  g_byte_array_append (out, at + e->from_len, (guint) (len - (gsize) (at - p) - e->from_len));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
test_malformed (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = gbt_resume_data_new (fx->mi);
  g_autoptr(GBytes) good = NULL;
  g_autoptr(GError) error = NULL;
  const char *const junk[] = { "", "garbage", "le", "i5e", "de", "d7:versioni2ee",
                               "d7:versioni1ee", "d7:versioni1e9:info-hash3:abce" };
  const guint8 *p;
  gsize len;

  data->uploaded = 7;
  add_peer (data, "127.0.0.1", 1);
  good = gbt_resume_encode (data);
  p = g_bytes_get_data (good, &len);

  for (gsize i = 0; i < G_N_ELEMENTS (junk); i++)
    {
      g_autoptr(GBytes) b = g_bytes_new_static (junk[i], strlen (junk[i]));
      g_autoptr(GbtResumeData) back = gbt_resume_decode (b, fx->mi, &error);
      g_assert_null (back);
      g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_MALFORMED);
      g_clear_error (&error);
    }
  /* every truncation of a good file */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GBytes) b = g_bytes_new (p, cut);
      g_autoptr(GbtResumeData) back = gbt_resume_decode (b, fx->mi, &error);
      g_assert_null (back);
      g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_MALFORMED);
      g_clear_error (&error);
    }
  /* fields of the wrong value */
  {
    static const Edit edits[] = {
      EDIT ("8:uploadedi7e", "8:uploadedi-7e"),
      EDIT ("8:mtime-nsi0e", "8:mtime-nsi1000000000e"),
      EDIT ("6:existsi0e", "6:existsi2e"),
      EDIT ("5:peers6:", "5:peers7:\x01"),
      EDIT ("7:versioni1e", "7:versioni9e"),
      EDIT ("6:pieces1:\x00", "6:pieces1:\x01"), /* a spare bit set */
      EDIT ("5:files", "5:filez"),
      EDIT ("4:sizei0e", "4:size1:0"),
    };
    for (gsize i = 0; i < G_N_ELEMENTS (edits); i++)
      {
        g_autoptr(GBytes) b = replace (good, &edits[i]);
        g_autoptr(GbtResumeData) back = NULL;
        back = gbt_resume_decode (b, fx->mi, &error);
        g_assert_null (back);
        g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_MALFORMED);
        g_clear_error (&error);
      }
  }
  /* every single-byte corruption: loads or fails cleanly, never crashes */
  for (gsize i = 0; i < len; i++)
    for (guint v = 0; v < 256; v += 51)
      {
        g_autoptr(GByteArray) a = g_byte_array_new ();
        g_autoptr(GBytes) b = NULL;
        g_autoptr(GbtResumeData) back = NULL;
        g_byte_array_append (a, p, len);
        a->data[i] ^= (guint8) (v | 1);
        b = g_byte_array_free_to_bytes (g_steal_pointer (&a));
        back = gbt_resume_decode (b, fx->mi, &error);
        if (back == NULL)
          g_assert_true (error != NULL && error->domain == GBT_RESUME_ERROR);
        g_clear_error (&error);
      }

  /* the file variant: a missing file, and a directory in its place */
  {
    g_autoptr(GbtResumeData) back = gbt_resume_load (fx->path, fx->mi, &error);
    g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_cmpint (g_mkdir_with_parents (fx->path, 0700), ==, 0);
    back = gbt_resume_load (fx->path, fx->mi, &error);
    g_assert_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_IO);
  }
}

static void
set_mtime (Fixture *fx, const char *rel, gint64 delta_s, long delta_ns)
{
  g_autofree char *full = g_build_filename (fx->dir, "t", rel, NULL);
  struct stat st;
  struct timespec ts[2];

  g_assert_cmpint (stat (full, &st), ==, 0);
  ts[0] = st.st_atim;
  ts[1] = st.st_mtim;
  ts[1].tv_sec += delta_s;
  ts[1].tv_nsec = (ts[1].tv_nsec + delta_ns) % 1000000000;
  g_assert_cmpint (utimensat (AT_FDCWD, full, ts, 0), ==, 0);
}

static void
check_trusted (Fixture *fx, GbtResumeData *data, const char *want_trusted,
               const char *want_recheck)
{
  GbtBitfield trusted, recheck;
  char got_t[7] = { 0 }, got_r[7] = { 0 };

  gbt_resume_trusted_pieces (data, fx->mi, fx->dir, &trusted, &recheck);
  for (guint p = 0; p < 6; p++)
    {
      got_t[p] = gbt_bitfield_get (&trusted, p) ? '1' : '0';
      got_r[p] = gbt_bitfield_get (&recheck, p) ? '1' : '0';
    }
  g_assert_cmpstr (got_t, ==, want_trusted);
  g_assert_cmpstr (got_r, ==, want_recheck);
  /* trusted pieces are had pieces; a had piece is trusted or rechecked */
  for (guint p = 0; p < 6; p++)
    {
      if (gbt_bitfield_get (&trusted, p))
        g_assert_true (gbt_bitfield_get (&data->have, p) && !gbt_bitfield_get (&recheck, p));
      if (gbt_bitfield_get (&data->have, p))
        g_assert_true (gbt_bitfield_get (&trusted, p) || gbt_bitfield_get (&recheck, p));
    }
  gbt_bitfield_clear (&trusted);
  gbt_bitfield_clear (&recheck);
}

static void
test_trusted_pieces (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GbtResumeData) data = gbt_resume_data_new (fx->mi);
  g_autoptr(GbtResumeData) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *c_path = g_build_filename (fx->dir, "t", "c", NULL);

  gbt_bitfield_set_all (&data->have);
  gbt_resume_stat_files (data, fx->mi, fx->dir);
  g_assert_true (gbt_resume_save (fx->path, data, &error));
  g_assert_no_error (error);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_no_error (error);

  /* nothing changed: everything trusted (the pad file, never on disk, and
   * the empty file taint nothing) */
  check_trusted (fx, back, "111111", "000000");

  /* b's mtime moves by a nanosecond: b's pieces 1-3 must be re-verified,
   * including those it shares with a (1) and with the pad file (3) */
  set_mtime (fx, "b", 0, 1);
  check_trusted (fx, back, "100011", "011100");
  /* pieces of a changed file are rechecked even when the bitmap lacks
   * them: they may have been written after the save */
  gbt_bitfield_set (&back->have, 2, FALSE);
  gbt_bitfield_set (&back->have, 4, FALSE);
  check_trusted (fx, back, "100001", "011100");
  gbt_bitfield_set_all (&back->have);

  /* c disappears: its pieces 4-5 too */
  g_assert_cmpint (g_unlink (c_path), ==, 0);
  check_trusted (fx, back, "100000", "011111");

  /* a file with another size (same mtime) is changed as well */
  g_clear_pointer (&back, gbt_resume_data_free);
  gbt_resume_data_free (g_steal_pointer (&data));
  write_files (fx);
  data = gbt_resume_data_new (fx->mi);
  gbt_bitfield_set_all (&data->have);
  gbt_resume_stat_files (data, fx->mi, fx->dir);
  g_array_index (data->files, GbtResumeFile, 0).size++;
  check_trusted (fx, data, "001111", "110000");
  /* a file missing at save time is never trusted */
  g_array_index (data->files, GbtResumeFile, 0).size--;
  g_array_index (data->files, GbtResumeFile, 3).exists = FALSE;
  check_trusted (fx, data, "111100", "000011");
}

/* ---- the saver: saves on a worker, coalesced ---- */

typedef struct {
  Fixture *fx;
  guint snapshots;
  gboolean live; /* FALSE: the snapshot says there is nothing to save */
  guint have_bits; /* pieces the next snapshot claims */
  guint done[4];
  gboolean result[4];
} SaverTest;

static GbtResumeData *
saver_snapshot_cb (gpointer data)
{
  SaverTest *t = data;
  GbtResumeData *rd;

  t->snapshots++;
  if (!t->live)
    return NULL;
  rd = gbt_resume_data_new (t->fx->mi);
  for (guint i = 0; i < t->have_bits; i++)
    gbt_bitfield_set (&rd->have, i, TRUE);
  rd->uploaded = t->snapshots; /* which snapshot reached the disk */
  return rd;
}

static void
saver_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  guint *slot = user_data;
  SaverTest *t = g_object_get_data (source, "saver-test");
  guint k = (guint) (slot - t->done);

  t->result[k] = g_task_propagate_boolean (G_TASK (result), NULL);
  (*slot)++;
}

/* Three saves asked for while the first runs make two saves in all (one
 * more after the first, serving both waiters); every caller hears back,
 * and what is on disk is the last snapshot. */
static void
test_saver_coalesces (Fixture *fx, gconstpointer user_data)
{
  g_autoptr(GObject) owner = g_object_new (G_TYPE_OBJECT, NULL);
  GbtStorage *storage = gbt_storage_new (fx->mi, fx->dir);
  SaverTest t = { fx, 0, TRUE, 2, { 0 }, { 0 } };
  GbtResumeSaver *saver;
  g_autoptr(GbtResumeData) back = NULL;
  g_autoptr(GError) error = NULL;

  g_object_set_data (owner, "saver-test", &t);
  saver = gbt_resume_saver_new (owner, fx->path, fx->dir, saver_snapshot_cb, &t);
  /* no storage yet (a magnet before its metadata): nothing is saved */
  gbt_resume_saver_save (saver, saver_done_cb, &t.done[3]);
  gbt_test_wait_until (t.done[3] == 1, 5000);
  g_assert_false (t.result[3]);
  g_assert_cmpuint (t.snapshots, ==, 0);

  gbt_resume_saver_set_storage (saver, fx->mi, storage);
  gbt_resume_saver_save (saver, saver_done_cb, &t.done[0]);
  t.have_bits = 4;
  gbt_resume_saver_save (saver, saver_done_cb, &t.done[1]);
  gbt_resume_saver_save (saver, saver_done_cb, &t.done[2]);
  gbt_test_wait_until (t.done[0] == 1 && t.done[1] == 1 && t.done[2] == 1, 10000);
  for (guint i = 0; i < 3; i++)
    g_assert_true (t.result[i]);
  g_assert_cmpuint (t.snapshots, ==, 2);
  back = gbt_resume_load (fx->path, fx->mi, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->have.n_set, ==, 4);
  g_assert_cmpuint (back->uploaded, ==, 2);

  /* not live: the caller hears FALSE, and nothing is written */
  t.live = FALSE;
  gbt_resume_saver_save (saver, saver_done_cb, &t.done[0]);
  gbt_test_wait_until (t.done[0] == 2, 5000);
  g_assert_false (t.result[0]);
  gbt_resume_saver_free (saver);
  gbt_storage_free (storage);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/resume/round-trip", test_round_trip);
  ADD ("/resume/peers-bounded", test_peers_bounded);
  ADD ("/resume/atomic", test_atomic);
  ADD ("/resume/stale", test_stale);
  ADD ("/resume/malformed", test_malformed);
  ADD ("/resume/trusted-pieces", test_trusted_pieces);
  ADD ("/resume/saver/coalesces", test_saver_coalesces);
  return g_test_run ();
}
