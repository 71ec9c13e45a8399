/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtCreator, internal part: the blocking hash that
 * gbt_creator_create_async() runs on a worker thread, for the tests and the
 * benchmarks.  The public API is <gbt/gbt-creator.h>.
 */
#pragma once

#include <gbt/gbt-creator.h>

G_BEGIN_DECLS

/* Called on the thread that runs gbt_creator_hash(), a few times a second
 * and once at the end. */
typedef void (*GbtCreatorProgressFunc) (guint64 bytes_done, guint64 total_bytes,
                                        gpointer user_data);

/* Hashes every piece, @n_threads workers (0: one per core), each reading
 * its own pieces with pread and holding one piece buffer.  Blocks; may run
 * on any thread.  Returns the bencoded torrent, keys sorted.
 * @info_hash_out (nullable) receives the SHA-1 of the info dictionary. */
G_GNUC_INTERNAL GBytes *gbt_creator_hash (GbtCreator *creator, guint n_threads,
                                          GbtCreatorProgressFunc progress, gpointer user_data,
                                          GCancellable *cancellable, guint8 info_hash_out[20],
                                          GError **error);

G_END_DECLS
