/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gbt/gbt-bencode.h>

#include "gbt-hash.h"
#include "test-torrent.h"
#include "test-utils.h"

guint8 *
test_torrent_make_stream (const TestFile *files, guint n_files, gsize *len)
{
  gsize total = 0, pos = 0;
  guint8 *stream;
  guint32 x = 0x12345678;

  for (guint i = 0; i < n_files; i++)
    total += files[i].length;
  stream = g_malloc (MAX (total, 1));
  for (guint i = 0; i < n_files; i++)
    for (guint64 j = 0; j < files[i].length; j++)
      {
        /* xorshift: no pattern that would let a misplaced block still match */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        stream[pos++] = files[i].pad ? 0 : (guint8) x;
      }
  *len = total;
  return stream;
}

GbtMetainfo *
test_torrent_new (const char *name, const TestFile *files, guint n_files, guint32 piece_length,
                  const guint8 *stream, gsize stream_len)
{
  return test_torrent_new_with_urls (name, files, n_files, piece_length, stream, stream_len, NULL,
                                     NULL);
}

GbtMetainfo *
test_torrent_new_with_urls (const char *name, const TestFile *files, guint n_files,
                            guint32 piece_length, const guint8 *stream, gsize stream_len,
                            const char *const *url_list, const char *const *http_seeds)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) pieces = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GbtMetainfo *mi;

  for (gsize off = 0; off < stream_len; off += piece_length)
    {
      guint8 d[20];
      gbt_sha1 (stream + off, MIN (piece_length, stream_len - off), d);
      g_byte_array_append (pieces, d, 20);
    }

  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "announce");
  gbt_bencode_write_str (out, "http://127.0.0.1:1/announce");
  if (http_seeds)
    {
      gbt_bencode_write_str (out, "httpseeds");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; http_seeds[i] != NULL; i++)
        gbt_bencode_write_str (out, http_seeds[i]);
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_str (out, "info");
  gbt_bencode_write_dict_start (out);
  if (files != NULL)
    {
      gbt_bencode_write_str (out, "files");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; i < n_files; i++)
        {
          g_auto(GStrv) parts = g_strsplit (files[i].path, "/", -1);

          gbt_bencode_write_dict_start (out);
          if (files[i].pad)
            {
              gbt_bencode_write_str (out, "attr");
              gbt_bencode_write_str (out, "p");
            }
          gbt_bencode_write_str (out, "length");
          gbt_bencode_write_int (out, (gint64) files[i].length);
          gbt_bencode_write_str (out, "path");
          gbt_bencode_write_list_start (out);
          for (guint k = 0; parts[k] != NULL; k++)
            gbt_bencode_write_str (out, parts[k]);
          gbt_bencode_write_end (out);
          gbt_bencode_write_end (out);
        }
      gbt_bencode_write_end (out);
    }
  else
    {
      gbt_bencode_write_str (out, "length");
      gbt_bencode_write_int (out, (gint64) stream_len);
    }
  gbt_bencode_write_str (out, "name");
  gbt_bencode_write_str (out, name);
  gbt_bencode_write_str (out, "piece length");
  gbt_bencode_write_int (out, piece_length);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, pieces->data, pieces->len);
  gbt_bencode_write_end (out);
  if (url_list)
    {
      gbt_bencode_write_str (out, "url-list");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; url_list[i] != NULL; i++)
        gbt_bencode_write_str (out, url_list[i]);
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_end (out);

  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mi);
  g_assert_cmpuint (gbt_metainfo_get_total_size (mi), ==, stream_len);
  return mi;
}

GBytes *
test_torrent_read_file (const char *dir, const char *relpath)
{
  g_autofree char *path = g_build_filename (dir, relpath, NULL);
  char *contents;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  return g_bytes_new_take (contents, len);
}

void
test_torrent_write_tree (const char *dir, GbtMetainfo *mi, const guint8 *stream)
{
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autofree char *path = g_build_filename (dir, f->path, NULL);
      g_autofree char *parent = g_path_get_dirname (path);
      g_autoptr(GError) error = NULL;

      if (f->attr & GBT_FILE_ATTR_PAD)
        continue;
      g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
      g_file_set_contents (path, (const char *) stream + f->offset, f->length, &error);
      g_assert_no_error (error);
    }
}

gboolean
test_torrent_tree_equal (const char *dir, GbtMetainfo *mi, const guint8 *stream)
{
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_autoptr(GBytes) got = NULL;

      if (f->attr & GBT_FILE_ATTR_PAD)
        continue;
      got = test_torrent_read_file (dir, f->path);
      if (got == NULL || g_bytes_get_size (got) != f->length
          || memcmp (g_bytes_get_data (got, NULL), stream + f->offset, f->length) != 0)
        return FALSE;
    }
  return TRUE;
}

GbtSession *
test_session_start (const char *address)
{
  g_autoptr(GError) error = NULL;
  GbtSession *s = gbt_session_new ();

  gbt_session_set_listen_address (s, address, 0);
  gbt_session_set_bind_address (s, address);
  g_assert_true (gbt_session_start (s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gbt_session_get_listen_port (s), >, 0);
  return s;
}

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  g_assert_true (gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL));
  *(gboolean *) data = TRUE;
}

void
test_torrent_stop (GbtTorrent *t)
{
  gboolean done = FALSE;

  gbt_torrent_stop_async (t, NULL, stopped_cb, &done);
  gbt_test_wait_until (done, 15000);
  g_assert_true (done);
}
