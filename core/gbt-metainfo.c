/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * .torrent metainfo: BEP 3 (single and multi-file), BEP 12 (announce-list),
 * BEP 19 (url-list), BEP 27 (private), BEP 47 (pad files and attributes).
 *
 * Inside `info` we are strict (a wrong type there is an error: it decides
 * what is downloaded and the info-hash), outside it we are lenient like
 * libtorrent and Transmission: an odd `announce-list` or `comment` is skipped,
 * not fatal.  The info-hash is taken over the exact bytes of the `info` value
 * as they appear in the file, never over a re-encoding, so torrents with
 * unsorted keys keep the hash everybody else computes.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include <gbt/gbt-bencode.h>
#include <gbt/gbt-metainfo.h>

#include "gbt-hash.h"
#include "gbt-path.h"

/* BEP 52 and every client in use pick powers of two between these; anything
 * outside is a broken or hostile file (a 1-byte piece length makes millions
 * of pieces, a huge one cannot be buffered) */
#define MIN_PIECE_LENGTH (16 * 1024)
#define MAX_PIECE_LENGTH (256 * 1024 * 1024)
/* a .torrent larger than the bencode limit is refused before reading it */
#define MAX_TORRENT_FILE GBT_BENCODE_DEFAULT_MAX_SIZE
/* BitComet marks padding this way instead of BEP 47's attr "p" */
#define BITCOMET_PAD_PREFIX "_____padding_file_"
/* Linux PATH_MAX less its NUL: a longer relative path can never be opened,
 * whatever the download directory */
#define MAX_RELATIVE_PATH 4095

struct _GbtMetainfo {
  gatomicrefcount ref;
  guint8 info_hash[20];
  GBytes *info;
  char *name;
  gboolean multi_file;
  guint64 total_size;
  guint32 piece_length;
  guint n_pieces;
  guint8 *pieces;
  GArray *files; /* GbtFileInfo; path and symlink_target owned */
  gboolean is_private;
  GPtrArray *tiers; /* GStrv */
  char *announce;
  GStrv url_list;
  GStrv http_seeds; /* BEP 17 */
  char *comment;
  char *created_by;
  gint64 creation_date;
  GPtrArray *warnings; /* NULL-terminated */
};

G_DEFINE_QUARK (gbt-metainfo-error-quark, gbt_metainfo_error)
G_DEFINE_BOXED_TYPE (GbtMetainfo, gbt_metainfo, gbt_metainfo_ref, gbt_metainfo_unref)

static void
file_info_clear (gpointer data)
{
  GbtFileInfo *f = data;

  g_free ((char *) f->path);
  g_free ((char *) f->symlink_target);
}

static GbtMetainfo *
metainfo_alloc (void)
{
  GbtMetainfo *mi = g_new0 (GbtMetainfo, 1);

  g_atomic_ref_count_init (&mi->ref);
  mi->files = g_array_new (FALSE, TRUE, sizeof (GbtFileInfo));
  g_array_set_clear_func (mi->files, file_info_clear);
  mi->tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  mi->warnings = g_ptr_array_new_with_free_func (g_free);
  mi->creation_date = -1;
  return mi;
}

GbtMetainfo *
gbt_metainfo_ref (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  g_atomic_ref_count_inc (&mi->ref);
  return mi;
}

void
gbt_metainfo_unref (GbtMetainfo *mi)
{
  g_return_if_fail (mi != NULL);
  if (!g_atomic_ref_count_dec (&mi->ref))
    return;
  g_clear_pointer (&mi->info, g_bytes_unref);
  g_free (mi->name);
  g_free (mi->pieces);
  g_array_unref (mi->files);
  g_ptr_array_unref (mi->tiers);
  g_free (mi->announce);
  g_strfreev (mi->url_list);
  g_strfreev (mi->http_seeds);
  g_free (mi->comment);
  g_free (mi->created_by);
  g_ptr_array_unref (mi->warnings);
  g_free (mi);
}

/* ---- field access with errors that name the field ---- */

static const char *
type_name (GbtBencodeType type)
{
  switch (type)
    {
    case GBT_BENCODE_TYPE_INT: return "an integer";
    case GBT_BENCODE_TYPE_STRING: return "a string";
    case GBT_BENCODE_TYPE_LIST: return "a list";
    case GBT_BENCODE_TYPE_DICT: return "a dictionary";
    default: return "a value";
    }
}

/* @dict[@key] of @type.  Absent: NULL, and an error only when @required.
 * Present with another type: NULL and BAD_FIELD. */
static GbtBencode *
lookup (const GbtBencode *dict, const char *where, const char *key, GbtBencodeType type,
        gboolean required, GError **error)
{
  GbtBencode *v = gbt_bencode_dict_lookup (dict, key);

  if (v == NULL)
    {
      if (required)
        g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_MISSING_FIELD,
                     "missing field “%s%s%s”", where, *where ? "." : "", key);
      return NULL;
    }
  if (gbt_bencode_get_type (v) != type)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                   "field “%s%s%s” is not %s", where, *where ? "." : "", key, type_name (type));
      return NULL;
    }
  return v;
}

/* a text field as valid UTF-8, NULs and all */
static char *
dup_text (const GbtBencode *v)
{
  gsize len;
  const guint8 *s = gbt_bencode_get_string (v, &len);
  /* NUL and bad sequences become U+FFFD: nothing shown may hide a tail */
  return g_utf8_make_valid ((const char *) s, (gssize) len);
}

/* optional top-level text, preferring the BEP-less but common "<key>.utf-8" */
static char *
dup_optional_text (const GbtBencode *dict, const char *key)
{
  g_autofree char *utf8_key = g_strconcat (key, ".utf-8", NULL);
  GbtBencode *v = gbt_bencode_dict_lookup (dict, utf8_key);

  if (!gbt_bencode_is_string (v))
    v = gbt_bencode_dict_lookup (dict, key);
  if (!gbt_bencode_is_string (v))
    return NULL;
  return dup_text (v);
}

static char *
dup_url (const GbtBencode *v)
{
  char *url;

  if (!gbt_bencode_is_string (v))
    return NULL;
  url = g_strstrip (dup_text (v));
  if (*url == '\0')
    g_clear_pointer (&url, g_free);
  return url;
}

/* ---- info dictionary ---- */

static guint32
parse_attr (const GbtBencode *dict)
{
  gsize len;
  const guint8 *s = gbt_bencode_dict_get_string (dict, "attr", &len);
  guint32 attr = GBT_FILE_ATTR_NONE;

  for (gsize i = 0; s && i < len; i++)
    switch (s[i])
      {
      case 'p': attr |= GBT_FILE_ATTR_PAD; break;
      case 'x': attr |= GBT_FILE_ATTR_EXECUTABLE; break;
      case 'h': attr |= GBT_FILE_ATTR_HIDDEN; break;
      case 'l': attr |= GBT_FILE_ATTR_SYMLINK; break;
      default: break; /* BEP 47: unknown attributes are ignored */
      }
  return attr;
}

/* a path list (of strings) as component arrays; FALSE with BAD_FIELD when
 * it holds something else */
static gboolean
path_components (const GbtBencode *list, const char *field, GPtrArray *comps, GArray *lens,
                 GError **error)
{
  guint n = gbt_bencode_get_length (list);

  for (guint i = 0; i < n; i++)
    {
      GbtBencode *e = gbt_bencode_list_nth (list, i);
      const guint8 *s;
      gsize len;

      if (!gbt_bencode_is_string (e))
        {
          g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                       "field “%s” holds something other than strings", field);
          return FALSE;
        }
      s = gbt_bencode_get_string (e, &len);
      g_ptr_array_add (comps, (gpointer) s);
      g_array_append_val (lens, len);
    }
  return TRUE;
}

static char *
printable_components (GPtrArray *comps, GArray *lens)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < comps->len; i++)
    {
      g_autofree char *p = gbt_path_printable (comps->pdata[i], g_array_index (lens, gsize, i));
      if (i)
        g_string_append_c (out, '/');
      g_string_append (out, p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* a list field, preferring "<key>.utf-8" when it is a list of strings (as
 * libtorrent does: it is the more likely to be correctly encoded) */
static GbtBencode *
lookup_path_list (const GbtBencode *dict, const char *key)
{
  g_autofree char *utf8_key = g_strconcat (key, ".utf-8", NULL);
  GbtBencode *v = gbt_bencode_dict_lookup (dict, utf8_key);

  if (gbt_bencode_is_list (v))
    {
      guint n = gbt_bencode_get_length (v);
      guint i;
      for (i = 0; i < n; i++)
        if (!gbt_bencode_is_string (gbt_bencode_list_nth (v, i)))
          break;
      if (i == n && n > 0)
        return v;
    }
  return gbt_bencode_dict_lookup (dict, key);
}

typedef struct {
  char *original; /* printable, for the warning */
  guint changes;
} FileNote;

static gboolean
parse_name (GbtMetainfo *mi, const GbtBencode *info, GError **error)
{
  GbtBencode *v = gbt_bencode_dict_lookup (info, "name.utf-8");
  const guint8 *s;
  gsize len;
  guint changes = 0;

  if (!gbt_bencode_is_string (v))
    v = lookup (info, "info", "name", GBT_BENCODE_TYPE_STRING, TRUE, error);
  if (v == NULL)
    return FALSE;
  s = gbt_bencode_get_string (v, &len);
  mi->name = gbt_path_sanitize_component (s, len, &changes);
  if (mi->name == NULL)
    {
      /* libtorrent names such a torrent after its info-hash, too */
      mi->name = gbt_metainfo_dup_info_hash_hex (mi);
      changes |= GBT_PATH_CHANGE_PLACEHOLDER;
    }
  if (changes)
    {
      g_autofree char *orig = gbt_path_printable (s, len);
      g_autofree char *why = gbt_path_describe_changes (changes);
      g_ptr_array_add (mi->warnings, g_strdup_printf ("The torrent name “%s” was changed to “%s”: %s.",
                                                      orig, mi->name, why));
    }
  return TRUE;
}

static gboolean
add_length (GbtMetainfo *mi, gint64 length, const char *field, GError **error)
{
  if (length < 0)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                   "field “%s” is negative (%" G_GINT64_FORMAT ")", field, length);
      return FALSE;
    }
  if ((guint64) length > (guint64) G_MAXINT64 - mi->total_size)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_PIECES,
                   "the total size overflows 64 bits at field “%s”", field);
      return FALSE;
    }
  mi->total_size += (guint64) length;
  return TRUE;
}

static gboolean
parse_single_file (GbtMetainfo *mi, const GbtBencode *info, GError **error)
{
  GbtBencode *len_v = lookup (info, "info", "length", GBT_BENCODE_TYPE_INT, TRUE, error);
  GbtFileInfo f = { 0 };

  if (len_v == NULL)
    return FALSE;
  if (!add_length (mi, gbt_bencode_get_int (len_v), "info.length", error))
    return FALSE;
  f.path = g_strdup (mi->name);
  f.length = mi->total_size;
  /* padding and links make no sense for the only file */
  f.attr = parse_attr (info) & (GBT_FILE_ATTR_EXECUTABLE | GBT_FILE_ATTR_HIDDEN);
  g_array_append_val (mi->files, f);
  return TRUE;
}

static gboolean
parse_one_file (GbtMetainfo *mi, const GbtBencode *entry, guint index, FileNote *note,
                GError **error)
{
  g_autofree char *where = g_strdup_printf ("info.files[%u]", index);
  g_autofree char *path_field = NULL;
  g_autoptr(GPtrArray) comps = g_ptr_array_new ();
  g_autoptr(GArray) lens = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autofree char *rel = NULL;
  GbtBencode *path_v;
  GbtFileInfo f = { 0 };
  gint64 length = 0;

  if (!gbt_bencode_is_dict (entry))
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                   "field “%s” is not a dictionary", where);
      return FALSE;
    }
  f.attr = parse_attr (entry);

  /* BEP 47: a symlink takes no room in the torrent's data */
  if (!(f.attr & GBT_FILE_ATTR_SYMLINK))
    {
      GbtBencode *len_v = lookup (entry, where, "length", GBT_BENCODE_TYPE_INT, TRUE, error);
      g_autofree char *len_field = g_strconcat (where, ".length", NULL);
      if (len_v == NULL)
        return FALSE;
      length = gbt_bencode_get_int (len_v);
      if (!add_length (mi, length, len_field, error))
        return FALSE;
    }

  path_v = lookup_path_list (entry, "path");
  path_field = g_strconcat (where, ".path", NULL);
  if (path_v != NULL && !gbt_bencode_is_list (path_v))
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                   "field “%s” is not a list", path_field);
      return FALSE;
    }
  if (path_v != NULL && !path_components (path_v, path_field, comps, lens, error))
    return FALSE;

  if (comps->len == 0)
    {
      if (!(f.attr & GBT_FILE_ATTR_PAD))
        {
          g_set_error (error, GBT_METAINFO_ERROR,
                       path_v ? GBT_METAINFO_ERROR_BAD_FIELD : GBT_METAINFO_ERROR_MISSING_FIELD,
                       path_v ? "field “%s” is empty" : "missing field “%s”", path_field);
          return FALSE;
        }
      /* BEP 47 pad files may omit the path: never written, any name does */
      rel = g_strdup_printf (".pad/%" G_GINT64_FORMAT, length);
    }
  else
    {
      rel = gbt_path_sanitize_components ((const guint8 *const *) comps->pdata,
                                          (const gsize *) (gpointer) lens->data, comps->len,
                                          &note->changes);
      if (rel == NULL)
        {
          rel = g_strdup ("_");
          note->changes |= GBT_PATH_CHANGE_PLACEHOLDER;
        }
      if (note->changes)
        note->original = printable_components (comps, lens);
      {
        const char *base = strrchr (rel, '/');
        if (g_str_has_prefix (base ? base + 1 : rel, BITCOMET_PAD_PREFIX))
          f.attr |= GBT_FILE_ATTR_PAD;
      }
    }

  if (f.attr & GBT_FILE_ATTR_SYMLINK)
    {
      GbtBencode *target_v = lookup_path_list (entry, "symlink path");
      g_autoptr(GPtrArray) tcomps = g_ptr_array_new ();
      g_autoptr(GArray) tlens = g_array_new (FALSE, FALSE, sizeof (gsize));
      g_autofree char *target_field = g_strconcat (where, ".symlink path", NULL);
      g_autofree char *target = NULL;

      if (gbt_bencode_is_list (target_v)
          && !path_components (target_v, target_field, tcomps, tlens, error))
        return FALSE;
      /* relative to the torrent's root (BEP 47); sanitised like any path,
       * so it cannot point out of the download */
      if (tcomps->len)
        target = gbt_path_sanitize_components ((const guint8 *const *) tcomps->pdata,
                                               (const gsize *) (gpointer) tlens->data,
                                               tcomps->len, NULL);
      if (target == NULL)
        f.attr &= ~(guint32) GBT_FILE_ATTR_SYMLINK; /* as libtorrent: an invalid link is a file */
      else
        f.symlink_target = g_strconcat (mi->name, "/", target, NULL);
    }

  f.path = g_strconcat (mi->name, "/", rel, NULL);
  if (strlen (f.path) > MAX_RELATIVE_PATH)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_UNSAFE_PATH,
                   "field “%s” makes a path of %" G_GSIZE_FORMAT " bytes, longer than any "
                   "file system allows (%d)", path_field, strlen (f.path), MAX_RELATIVE_PATH);
      g_free ((char *) f.path);
      g_free ((char *) f.symlink_target);
      return FALSE;
    }
  f.length = (guint64) length;
  g_array_append_val (mi->files, f);
  return TRUE;
}

static gboolean
parse_multi_file (GbtMetainfo *mi, const GbtBencode *files, GError **error)
{
  guint n = gbt_bencode_get_length (files);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autofree gboolean *skip = NULL;
  g_autofree gboolean *renamed = NULL;
  g_autofree FileNote *notes = NULL;
  gboolean ok = TRUE;

  if (n == 0)
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                           "field “info.files” is an empty list");
      return FALSE;
    }

  notes = g_new0 (FileNote, n);
  for (guint i = 0; i < n && ok; i++)
    ok = parse_one_file (mi, gbt_bencode_list_nth (files, i), i, &notes[i], error);

  if (ok)
    {
      skip = g_new0 (gboolean, n);
      renamed = g_new0 (gboolean, n);
      for (guint i = 0; i < n; i++)
        {
          GbtFileInfo *f = &g_array_index (mi->files, GbtFileInfo, i);
          g_ptr_array_add (paths, g_strdup (f->path));
          skip[i] = (f->attr & GBT_FILE_ATTR_PAD) != 0;
        }
      gbt_path_resolve_collisions (paths, skip, renamed);

      for (guint i = 0; i < n; i++)
        {
          GbtFileInfo *f = &g_array_index (mi->files, GbtFileInfo, i);
          g_autofree char *why = NULL;

          if (renamed[i])
            {
              if (notes[i].original == NULL)
                notes[i].original = g_strdup (f->path + strlen (mi->name) + 1);
              notes[i].changes |= GBT_PATH_CHANGE_RENAMED;
              g_free ((char *) f->path);
              f->path = g_strdup (paths->pdata[i]);
            }
          if (notes[i].changes == 0 || skip[i])
            continue;
          why = gbt_path_describe_changes (notes[i].changes);
          g_ptr_array_add (mi->warnings,
                           g_strdup_printf ("The path “%s” of file %u was changed to “%s”: %s.",
                                            notes[i].original, i, f->path, why));
        }
    }

  for (guint i = 0; i < n; i++)
    g_free (notes[i].original);
  return ok;
}

static gboolean
parse_pieces (GbtMetainfo *mi, const GbtBencode *info, GError **error)
{
  GbtBencode *pl_v = lookup (info, "info", "piece length", GBT_BENCODE_TYPE_INT, TRUE, error);
  GbtBencode *pieces_v;
  const guint8 *pieces;
  gsize pieces_len;
  gint64 pl;
  guint64 expected;

  if (pl_v == NULL)
    return FALSE;
  pl = gbt_bencode_get_int (pl_v);
  if (pl < MIN_PIECE_LENGTH || pl > MAX_PIECE_LENGTH)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_PIECES,
                   "field “info.piece length” is %" G_GINT64_FORMAT
                   ", outside %u to %u bytes", pl, MIN_PIECE_LENGTH, MAX_PIECE_LENGTH);
      return FALSE;
    }
  mi->piece_length = (guint32) pl;

  pieces_v = gbt_bencode_dict_lookup (info, "pieces");
  if (pieces_v == NULL && gbt_bencode_dict_lookup (info, "file tree") != NULL)
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                           "BitTorrent v2-only torrents (BEP 52, no “info.pieces”) are not supported");
      return FALSE;
    }
  pieces_v = lookup (info, "info", "pieces", GBT_BENCODE_TYPE_STRING, TRUE, error);
  if (pieces_v == NULL)
    return FALSE;
  pieces = gbt_bencode_get_string (pieces_v, &pieces_len);
  if (pieces_len % 20 != 0)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_PIECES,
                   "field “info.pieces” is %" G_GSIZE_FORMAT " bytes, not a multiple of 20",
                   pieces_len);
      return FALSE;
    }

  if (mi->total_size == 0)
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_PIECES,
                           "the torrent holds no data (every file is empty)");
      return FALSE;
    }
  expected = mi->total_size / (guint64) pl + (mi->total_size % (guint64) pl != 0);
  if (expected != pieces_len / 20)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_PIECES,
                   "field “info.pieces” holds %" G_GSIZE_FORMAT " hashes but %" G_GUINT64_FORMAT
                   " bytes in pieces of %" G_GINT64_FORMAT " need %" G_GUINT64_FORMAT,
                   pieces_len / 20, mi->total_size, pl, expected);
      return FALSE;
    }
  mi->n_pieces = (guint) expected; /* < 2^32: the bencode size limit bounds pieces_len */
  mi->pieces = g_memdup2 (pieces, pieces_len);
  return TRUE;
}

static GbtMetainfo *
parse_info (GBytes *info_bytes, const GbtBencode *info, GError **error)
{
  g_autoptr(GbtMetainfo) mi = metainfo_alloc ();
  GbtBencode *files;
  gsize len;
  const guint8 *data = g_bytes_get_data (info_bytes, &len);
  gint64 priv;

  if (!gbt_bencode_is_dict (info))
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                           "field “info” is not a dictionary");
      return NULL;
    }
  mi->info = g_bytes_ref (info_bytes);
  gbt_sha1 (data, len, mi->info_hash);

  if (!parse_name (mi, info, error))
    return NULL;

  /* libtorrent and Transmission look at "files" first */
  files = gbt_bencode_dict_lookup (info, "files");
  if (files != NULL)
    {
      if (!gbt_bencode_is_list (files))
        {
          g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                               "field “info.files” is not a list");
          return NULL;
        }
      mi->multi_file = TRUE;
      if (!parse_multi_file (mi, files, error))
        return NULL;
    }
  else if (gbt_bencode_dict_lookup (info, "length") == NULL
           && gbt_bencode_dict_lookup (info, "file tree") != NULL)
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                           "BitTorrent v2-only torrents (BEP 52, no “info.files” or "
                           "“info.length”) are not supported");
      return NULL;
    }
  else if (!parse_single_file (mi, info, error))
    return NULL;

  {
    guint64 offset = 0;
    for (guint i = 0; i < mi->files->len; i++)
      {
        GbtFileInfo *f = &g_array_index (mi->files, GbtFileInfo, i);
        f->offset = offset;
        offset += f->length;
      }
  }

  if (!parse_pieces (mi, info, error))
    return NULL;

  /* BEP 27 says "private=1"; libtorrent and Transmission take any non-zero
   * value, and erring towards private never leaks a private swarm to DHT */
  mi->is_private = gbt_bencode_dict_get_int (info, "private", &priv) && priv != 0;
  return g_steal_pointer (&mi);
}

/* ---- the outer dictionary ---- */

static void
add_tier (GbtMetainfo *mi, GHashTable *seen, const GbtBencode *tier)
{
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  guint n = gbt_bencode_get_length (tier);

  for (guint i = 0; i < n; i++)
    {
      char *url = dup_url (gbt_bencode_list_nth (tier, i));
      if (url == NULL)
        continue;
      if (!g_hash_table_add (seen, url))
        continue; /* already listed: announcing twice only doubles load */
      g_ptr_array_add (urls, g_strdup (url));
    }
  if (urls->len == 0)
    return;
  g_ptr_array_add (urls, NULL);
  g_ptr_array_add (mi->tiers, g_ptr_array_steal (urls, NULL));
}

/* BEP 19's url-list, BEP 17's httpseeds: a single URL or a list of them,
 * duplicates dropped */
static GStrv
parse_seed_urls (GbtBencode *urls)
{
  g_autoptr(GPtrArray) seeds = g_ptr_array_new_with_free_func (g_free);

  if (gbt_bencode_is_string (urls))
    {
      char *url = dup_url (urls);
      if (url)
        g_ptr_array_add (seeds, url);
    }
  else if (gbt_bencode_is_list (urls))
    {
      g_autoptr(GHashTable) seen_seeds = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < gbt_bencode_get_length (urls); i++)
        {
          char *url = dup_url (gbt_bencode_list_nth (urls, i));
          if (url == NULL)
            continue;
          if (g_hash_table_contains (seen_seeds, url))
            {
              g_free (url);
              continue;
            }
          g_hash_table_add (seen_seeds, url);
          g_ptr_array_add (seeds, url);
        }
    }
  g_ptr_array_add (seeds, NULL);
  return (GStrv) g_ptr_array_steal (seeds, NULL);
}

static void
parse_outer (GbtMetainfo *mi, const GbtBencode *root)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GbtBencode *list = gbt_bencode_dict_lookup (root, "announce-list");
  gint64 date;

  mi->announce = dup_url (gbt_bencode_dict_lookup (root, "announce"));

  /* BEP 12: with an announce-list, announce is ignored */
  if (gbt_bencode_is_list (list))
    for (guint i = 0; i < gbt_bencode_get_length (list); i++)
      {
        GbtBencode *tier = gbt_bencode_list_nth (list, i);
        if (gbt_bencode_is_list (tier))
          add_tier (mi, seen, tier);
      }
  if (mi->tiers->len == 0 && mi->announce != NULL)
    {
      char *tier[] = { g_strdup (mi->announce), NULL };
      g_ptr_array_add (mi->tiers, g_strdupv (tier));
      g_free (tier[0]);
    }

  mi->url_list = parse_seed_urls (gbt_bencode_dict_lookup (root, "url-list"));
  mi->http_seeds = parse_seed_urls (gbt_bencode_dict_lookup (root, "httpseeds"));

  mi->comment = dup_optional_text (root, "comment");
  mi->created_by = dup_optional_text (root, "created by");
  if (gbt_bencode_dict_get_int (root, "creation date", &date) && date >= 0)
    mi->creation_date = date;
}

/* @trailing: where bytes after the top-level dictionary are allowed (a
 * .torrent file), set to how many there are; NULL: none allowed (an info
 * dictionary from a peer must be exactly that) */
static GbtBencodeDoc *
parse_doc (GBytes *bytes, gsize *trailing, GError **error)
{
  g_autoptr(GError) local = NULL;
  GbtBencodeDoc *doc = gbt_bencode_parse_full (bytes, trailing ? GBT_BENCODE_ALLOW_TRAILING : 0,
                                               0, 0, &local);

  if (doc == NULL)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BENCODE,
                   "not valid bencode: %s", local->message);
      return NULL;
    }
  if (!gbt_bencode_is_dict (gbt_bencode_doc_get_root (doc)))
    {
      gbt_bencode_doc_free (doc);
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_BAD_FIELD,
                           "the top level is not a dictionary");
      return NULL;
    }
  if (trailing)
    *trailing = g_bytes_get_size (bytes) - gbt_bencode_doc_get_consumed (doc);
  return doc;
}

GbtMetainfo *
gbt_metainfo_new_from_bytes (GBytes *bytes, GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GBytes) info_bytes = NULL;
  GbtMetainfo *mi;
  GbtBencode *root;
  GbtBencode *info;
  const guint8 *base;
  const guint8 *raw;
  gsize raw_len;
  gsize trailing = 0;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* libtorrent accepts bytes after the top-level dictionary (two of its own
   * test torrents have them) and so do we, with a warning: the dictionary
   * itself is still parsed strictly, and the info-hash covers only "info". */
  doc = parse_doc (bytes, &trailing, error);
  if (doc == NULL)
    return NULL;
  root = gbt_bencode_doc_get_root (doc);
  info = lookup (root, "", "info", GBT_BENCODE_TYPE_DICT, TRUE, error);
  if (info == NULL)
    return NULL;

  /* a slice of the input: the exact bytes the info-hash is taken over */
  base = g_bytes_get_data (bytes, NULL);
  raw = gbt_bencode_get_raw (info, &raw_len);
  info_bytes = g_bytes_new_from_bytes (bytes, (gsize) (raw - base), raw_len);

  mi = parse_info (info_bytes, info, error);
  if (mi == NULL)
    return NULL;
  parse_outer (mi, root);
  if (trailing > 0)
    g_ptr_array_add (mi->warnings,
                     g_strdup_printf ("The file has %" G_GSIZE_FORMAT " byte%s after the end of "
                                      "its top-level dictionary (at byte %" G_GSIZE_FORMAT
                                      "), ignored.",
                                      trailing, trailing == 1 ? "" : "s",
                                      g_bytes_get_size (bytes) - trailing));
  g_ptr_array_add (mi->warnings, NULL);
  return mi;
}

GbtMetainfo *
gbt_metainfo_new_from_info (GBytes *info, const guint8 info_hash[20], GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = NULL;
  GbtMetainfo *mi;
  guint8 hash[20];
  gsize len;
  const guint8 *data;

  g_return_val_if_fail (info != NULL, NULL);
  g_return_val_if_fail (info_hash != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* check the hash first: bytes from a peer are trusted for nothing else */
  data = g_bytes_get_data (info, &len);
  gbt_sha1 (data, len, hash);
  if (memcmp (hash, info_hash, 20) != 0)
    {
      g_set_error_literal (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_INFO_HASH,
                           "the info dictionary does not match the expected info-hash");
      return NULL;
    }
  doc = parse_doc (info, NULL, error);
  if (doc == NULL)
    return NULL;
  mi = parse_info (info, gbt_bencode_doc_get_root (doc), error);
  if (mi == NULL)
    return NULL;
  mi->url_list = g_new0 (char *, 1);
  mi->http_seeds = g_new0 (char *, 1);
  g_ptr_array_add (mi->warnings, NULL);
  return mi;
}

GbtMetainfo *
gbt_metainfo_new_from_file (const char *path, GError **error)
{
  GStatBuf st;
  char *contents = NULL;
  gsize len;
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* a .torrent is small: do not read a multi-gigabyte file given by mistake */
  if (g_stat (path, &st) == 0 && S_ISREG (st.st_mode) && st.st_size > MAX_TORRENT_FILE)
    {
      g_set_error (error, GBT_METAINFO_ERROR, GBT_METAINFO_ERROR_FAILED,
                   "%s is %" G_GINT64_FORMAT " bytes, too large for a torrent file (limit %d)",
                   path, (gint64) st.st_size, MAX_TORRENT_FILE);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  bytes = g_bytes_new_take (contents, len);
  return gbt_metainfo_new_from_bytes (bytes, error);
}

/* ---- getters ---- */

const guint8 *
gbt_metainfo_get_info_hash (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->info_hash;
}

char *
gbt_metainfo_dup_info_hash_hex (GbtMetainfo *mi)
{
  char *out;

  g_return_val_if_fail (mi != NULL, NULL);
  out = g_malloc (41);
  gbt_sha1_to_hex (mi->info_hash, out);
  return out;
}

GBytes *
gbt_metainfo_get_info_bytes (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->info;
}

const char *
gbt_metainfo_get_name (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->name;
}

gboolean
gbt_metainfo_is_multi_file (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, FALSE);
  return mi->multi_file;
}

guint64
gbt_metainfo_get_total_size (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, 0);
  return mi->total_size;
}

guint32
gbt_metainfo_get_piece_length (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, 0);
  return mi->piece_length;
}

guint
gbt_metainfo_get_n_pieces (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, 0);
  return mi->n_pieces;
}

guint32
gbt_metainfo_get_piece_size (GbtMetainfo *mi, guint piece)
{
  g_return_val_if_fail (mi != NULL, 0);
  g_return_val_if_fail (piece < mi->n_pieces, 0);
  if (piece + 1 < mi->n_pieces)
    return mi->piece_length;
  return (guint32) (mi->total_size - (guint64) mi->piece_length * piece);
}

const guint8 *
gbt_metainfo_get_piece_hash (GbtMetainfo *mi, guint piece)
{
  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (piece < mi->n_pieces, NULL);
  return mi->pieces + (gsize) piece * 20;
}

guint
gbt_metainfo_get_n_files (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, 0);
  return mi->files->len;
}

const GbtFileInfo *
gbt_metainfo_get_file (GbtMetainfo *mi, guint index)
{
  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (index < mi->files->len, NULL);
  return &g_array_index (mi->files, GbtFileInfo, index);
}

gboolean
gbt_metainfo_is_private (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, FALSE);
  return mi->is_private;
}

guint
gbt_metainfo_get_n_tiers (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, 0);
  return mi->tiers->len;
}

const char *const *
gbt_metainfo_get_tier (GbtMetainfo *mi, guint tier)
{
  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (tier < mi->tiers->len, NULL);
  return g_ptr_array_index (mi->tiers, tier);
}

const char *
gbt_metainfo_get_announce (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->announce;
}

const char *const *
gbt_metainfo_get_url_list (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return (const char *const *) mi->url_list;
}

const char *const *
gbt_metainfo_get_http_seeds (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return (const char *const *) mi->http_seeds;
}

const char *
gbt_metainfo_get_comment (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->comment;
}

const char *
gbt_metainfo_get_created_by (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return mi->created_by;
}

gint64
gbt_metainfo_get_creation_date (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, -1);
  return mi->creation_date;
}

const char *const *
gbt_metainfo_get_warnings (GbtMetainfo *mi)
{
  g_return_val_if_fail (mi != NULL, NULL);
  return (const char *const *) mi->warnings->pdata;
}
