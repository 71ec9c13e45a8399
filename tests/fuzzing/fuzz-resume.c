/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes as a resume file for a fixed torrent (3 files, a pad
 * file, 4 pieces).  Loading either fails with a GBT_RESUME_ERROR or gives
 * data that fits the torrent, and that data encodes to bytes that load
 * again to the same encoding.  The seeds (corpus/resume/) are resume files
 * for this torrent: its info-hash is fixed by the bytes built here.
 */
#include <stdint.h>
#include <string.h>

#include <gbt/gbt-bencode.h>

#include "gbt-resume.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
write_file (GByteArray *out, const char *name, gint64 length, gboolean pad)
{
  gbt_bencode_write_dict_start (out);
  if (pad)
    {
      gbt_bencode_write_str (out, "attr");
      gbt_bencode_write_str (out, "p");
    }
  gbt_bencode_write_str (out, "length");
  gbt_bencode_write_int (out, length);
  gbt_bencode_write_str (out, "path");
  gbt_bencode_write_list_start (out);
  gbt_bencode_write_str (out, name);
  gbt_bencode_write_end (out);
  gbt_bencode_write_end (out);
}

/* d4:infod5:filesl...e4:name1:t12:piece lengthi16384e6:pieces80:<0x61...>ee */
static GbtMetainfo *
fixed_torrent (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  guint8 pieces[4 * 20];
  GbtMetainfo *mi;

  memset (pieces, 'a', sizeof pieces);
  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "info");
  gbt_bencode_write_dict_start (out);
  gbt_bencode_write_str (out, "files");
  gbt_bencode_write_list_start (out);
  write_file (out, "a", 20000, FALSE);
  write_file (out, "b", 30000, FALSE);
  write_file (out, "pad", 536, TRUE);
  write_file (out, "c", 1000, FALSE);
  gbt_bencode_write_end (out);
  gbt_bencode_write_str (out, "name");
  gbt_bencode_write_str (out, "t");
  gbt_bencode_write_str (out, "piece length");
  gbt_bencode_write_int (out, 16384);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, pieces, sizeof pieces);
  gbt_bencode_write_end (out);
  gbt_bencode_write_end (out);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  mi = gbt_metainfo_new_from_bytes (bytes, &error);
  if (mi == NULL)
    g_error ("fixed torrent: %s", error->message);
  return mi;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static GbtMetainfo *mi;
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtResumeData) rd = NULL;
  g_autoptr(GbtResumeData) again = NULL;
  g_autoptr(GBytes) enc = NULL;
  g_autoptr(GBytes) enc2 = NULL;

  if (mi == NULL)
    mi = fixed_torrent ();
  rd = gbt_resume_decode (bytes, mi, &error);
  if (rd == NULL)
    {
      if (error == NULL || error->domain != GBT_RESUME_ERROR)
        g_error ("failure without a resume error");
      return 0;
    }
  if (rd->have.n_bits != gbt_metainfo_get_n_pieces (mi)
      || rd->files->len != gbt_metainfo_get_n_files (mi)
      || rd->peers->len > GBT_RESUME_MAX_PEERS
      || memcmp (rd->info_hash, gbt_metainfo_get_info_hash (mi), 20) != 0)
    g_error ("loaded data does not fit the torrent");
  for (guint i = 0; i < rd->files->len; i++)
    {
      const GbtResumeFile *f = &g_array_index (rd->files, GbtResumeFile, i);
      if (f->mtime_ns < 0 || f->mtime_ns > 999999999)
        g_error ("nanoseconds out of range");
    }

  enc = gbt_resume_encode (rd);
  again = gbt_resume_decode (enc, mi, &error);
  if (again == NULL)
    g_error ("re-encoded data does not load: %s", error->message);
  enc2 = gbt_resume_encode (again);
  if (!g_bytes_equal (enc, enc2))
    g_error ("encoding is not stable");
  return 0;
}
