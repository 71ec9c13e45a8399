/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary bytes as a .torrent.  Whatever parses must hold together: files
 * cover the total size end to end, pieces cover it too, every path stays
 * below the download directory, and the info bytes parse again on their own
 * (as they would arriving over ut_metadata) to the same torrent.
 */
#include <stdint.h>
#include <string.h>

#include <gbt/gbt-metainfo.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_path (const char *path)
{
  g_auto(GStrv) comps = g_strsplit (path, "/", -1);

  if (!g_utf8_validate (path, -1, NULL) || strchr (path, '\\') != NULL)
    g_error ("bad path %s", path);
  for (char **c = comps; *c; c++)
    if (**c == '\0' || g_str_equal (*c, ".") || g_str_equal (*c, "..") || strlen (*c) > 255)
      g_error ("unsafe component in %s", path);
  for (const char *p = path; *p; p++)
    if ((guchar) *p < 0x20)
      g_error ("control character in %s", path);
}

static void
check (GbtMetainfo *mi)
{
  guint64 offset = 0;
  guint64 pieces = 0;
  const char *name = gbt_metainfo_get_name (mi);

  check_path (name);
  if (strchr (name, '/') != NULL)
    g_error ("name holds a separator");
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      if (f->offset != offset)
        g_error ("file %u does not start where the previous ended", i);
      offset += f->length;
      check_path (f->path);
      if (gbt_metainfo_is_multi_file (mi)
          && (!g_str_has_prefix (f->path, name) || f->path[strlen (name)] != '/'))
        g_error ("file %u outside the torrent directory", i);
      if (f->symlink_target)
        check_path (f->symlink_target);
    }
  if (offset != gbt_metainfo_get_total_size (mi))
    g_error ("files do not add up to the total");
  for (guint p = 0; p < gbt_metainfo_get_n_pieces (mi); p++)
    {
      guint32 s = gbt_metainfo_get_piece_size (mi, p);
      if (s == 0 || s > gbt_metainfo_get_piece_length (mi))
        g_error ("piece %u has size %u", p, s);
      pieces += s;
      (void) gbt_metainfo_get_piece_hash (mi, p);
    }
  if (pieces != gbt_metainfo_get_total_size (mi))
    g_error ("pieces do not add up to the total");
  for (guint t = 0; t < gbt_metainfo_get_n_tiers (mi); t++)
    if (gbt_metainfo_get_tier (mi, t)[0] == NULL)
      g_error ("empty tier");
  for (const char *const *w = gbt_metainfo_get_warnings (mi); *w; w++)
    if (!g_utf8_validate (*w, -1, NULL))
      g_error ("warning not UTF-8");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_bytes (bytes, &error);
  g_autoptr(GbtMetainfo) again = NULL;

  if (mi == NULL)
    {
      if (error == NULL || error->domain != GBT_METAINFO_ERROR)
        g_error ("failure without a metainfo error");
      return 0;
    }
  check (mi);

  again = gbt_metainfo_new_from_info (gbt_metainfo_get_info_bytes (mi),
                                      gbt_metainfo_get_info_hash (mi), &error);
  if (again == NULL)
    g_error ("info bytes do not parse alone: %s", error->message);
  if (gbt_metainfo_get_n_files (again) != gbt_metainfo_get_n_files (mi)
      || gbt_metainfo_get_total_size (again) != gbt_metainfo_get_total_size (mi)
      || strcmp (gbt_metainfo_get_name (again), gbt_metainfo_get_name (mi)) != 0)
    g_error ("info bytes parse to another torrent");
  return 0;
}
