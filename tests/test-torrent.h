/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Builds small torrents in memory for the storage and disk-io tests. */
#pragma once

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>

G_BEGIN_DECLS

typedef struct {
  const char *path; /* '/'-separated, below the torrent name */
  guint64 length;
  gboolean pad;     /* BEP 47 attr "p" */
} TestFile;

/* Random-looking content for @n_files of @files, zeros in pad files. */
guint8 *test_torrent_make_stream (const TestFile *files, guint n_files, gsize *len);

/* A metainfo over @stream: single-file named @name when @files is NULL
 * (@n_files ignored), else multi-file.  Asserts on failure. */
GbtMetainfo *test_torrent_new (const char *name, const TestFile *files, guint n_files,
                               guint32 piece_length, const guint8 *stream, gsize stream_len);

/* The same with a BEP 19 url-list and BEP 17 httpseeds (NULL: none). */
GbtMetainfo *test_torrent_new_with_urls (const char *name, const TestFile *files, guint n_files,
                                         guint32 piece_length, const guint8 *stream,
                                         gsize stream_len, const char *const *url_list,
                                         const char *const *http_seeds);

/* Contents of @dir/@relpath, or NULL if missing. */
GBytes *test_torrent_read_file (const char *dir, const char *relpath);

/* Writes the files of @mi under @dir from @stream (pad files skipped). */
void test_torrent_write_tree (const char *dir, GbtMetainfo *mi, const guint8 *stream);
/* Every (non-pad) file of @mi under @dir holds its bytes of @stream. */
gboolean test_torrent_tree_equal (const char *dir, GbtMetainfo *mi, const guint8 *stream);
/* A started session listening on and binding to @address, any port. */
GbtSession *test_session_start (const char *address);
/* Stops @t and asserts the stop finished within 15 s. */
void test_torrent_stop (GbtTorrent *t);

G_END_DECLS
