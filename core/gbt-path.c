/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Making torrent-supplied names safe to create under a download directory.
 * The rules follow what libtorrent does (torrent_info.cpp,
 * sanitize_append_path_element), so a torrent lands on disk under the same
 * names in gbt as in libtorrent-based clients:
 *  - "", "." and ".." components are left out, leading separators stripped;
 *  - '/', '\\' and control characters (NUL included) inside a component
 *    become '_', as does each byte of an invalid UTF-8 sequence;
 *  - Unicode writing-direction overrides are removed: "exe.\u202Etxt" shows
 *    up as "...txt.exe" and has been used to disguise executables;
 *  - a component longer than NAME_MAX is cut (at a character boundary) to
 *    240 bytes, keeping a short extension, which leaves room for ".N";
 *  - duplicate paths, and files named like a directory of another file, get
 *    "name.N.ext".
 */
#include "config.h"

#include <string.h>

#include "gbt-path.h"

/* libtorrent cuts long names at 240 bytes too: room for a ".N" suffix */
#define SHORTENED_COMPONENT 240
/* longest tail after the last dot still treated as an extension */
#define MAX_EXTENSION 16

static gboolean
is_bidi_control (gunichar c)
{
  return c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e)
         || (c >= 0x2066 && c <= 0x2069);
}

/* start of the extension of @name (its last dot), or NULL when none worth
 * keeping: no dot, a leading dot (".bashrc" is a name), or a long tail */
static const char *
find_extension (const char *name)
{
  const char *dot = strrchr (name, '.');

  if (dot == NULL || dot == name || dot[1] == '\0' || strlen (dot) > MAX_EXTENSION)
    return NULL;
  return dot;
}

/* the longest prefix of @s (valid UTF-8) of at most @max bytes that ends at a
 * character boundary */
static gsize
utf8_prefix_len (const char *s, gsize len, gsize max)
{
  gsize cut;

  if (len <= max)
    return len;
  cut = max;
  while (cut > 0 && ((guchar) s[cut] & 0xc0) == 0x80)
    cut--;
  return cut;
}

/* @s cut to at most @limit bytes, keeping its extension */
static char *
shorten (const char *s, gsize limit)
{
  const char *ext = find_extension (s);
  gsize ext_len = ext ? strlen (ext) : 0;
  gsize base_len = ext ? (gsize) (ext - s) : strlen (s);
  gsize keep = utf8_prefix_len (s, base_len, limit - ext_len);
  GString *out = g_string_new_len (s, keep);

  if (ext)
    g_string_append (out, ext);
  return g_string_free (out, FALSE);
}

char *
gbt_path_sanitize_component (const void *data, gsize len, guint *changes)
{
  const char *p = data;
  g_autoptr(GString) out = g_string_sized_new (len + 1);
  guint ch = 0;
  gsize i = 0;

  /* "/etc" must not become "_etc" next to its parent: it is "etc" */
  while (i < len && (p[i] == '/' || p[i] == '\\'))
    {
      i++;
      ch |= GBT_PATH_CHANGE_SEPARATOR;
    }

  while (i < len)
    {
      guchar c = (guchar) p[i];

      if (c < 0x80)
        {
          if (c == '/' || c == '\\')
            {
              g_string_append_c (out, '_');
              ch |= GBT_PATH_CHANGE_SEPARATOR;
            }
          else if (c < 0x20 || c == 0x7f)
            {
              g_string_append_c (out, '_');
              ch |= GBT_PATH_CHANGE_CONTROL;
            }
          else
            g_string_append_c (out, (char) c);
          i++;
        }
      else
        {
          gunichar u = g_utf8_get_char_validated (p + i, (gssize) (len - i));

          if (u == (gunichar) -1 || u == (gunichar) -2)
            {
              /* one '_' per bad byte, as libtorrent does */
              g_string_append_c (out, '_');
              ch |= GBT_PATH_CHANGE_INVALID_UTF8;
              i++;
              continue;
            }
          gsize n = (gsize) g_utf8_skip[c];
          if (is_bidi_control (u))
            ch |= GBT_PATH_CHANGE_BIDI;
          else
            g_string_append_len (out, p + i, (gssize) n);
          i += n;
        }
    }

  if (out->len == 0 || g_str_equal (out->str, ".") || g_str_equal (out->str, ".."))
    {
      if (changes)
        *changes |= ch | GBT_PATH_CHANGE_DROPPED;
      return NULL;
    }

  if (out->len > GBT_PATH_MAX_COMPONENT)
    {
      char *shortened = shorten (out->str, SHORTENED_COMPONENT);
      if (changes)
        *changes |= ch | GBT_PATH_CHANGE_TOO_LONG;
      return shortened;
    }

  if (changes)
    *changes |= ch;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
gbt_path_sanitize_components (const guint8 *const *components, const gsize *lens, guint n,
                              guint *changes)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *c = gbt_path_sanitize_component (components[i], lens[i], changes);
      if (c == NULL)
        continue;
      if (out->len)
        g_string_append_c (out, '/');
      g_string_append (out, c);
    }
  if (out->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
gbt_path_add_suffix (const char *path, guint n)
{
  const char *slash = strrchr (path, '/');
  const char *name = slash ? slash + 1 : path;
  const char *ext = find_extension (name);
  gsize ext_len = ext ? strlen (ext) : 0;
  gsize base_len = ext ? (gsize) (ext - name) : strlen (name);
  char suffix[16];
  gsize suffix_len;
  gsize keep;
  GString *out;

  suffix_len = (gsize) g_snprintf (suffix, sizeof suffix, ".%u", n);
  keep = utf8_prefix_len (name, base_len, GBT_PATH_MAX_COMPONENT - suffix_len - ext_len);

  out = g_string_new_len (path, (gssize) (name - path));
  g_string_append_len (out, name, (gssize) keep);
  g_string_append (out, suffix);
  if (ext)
    g_string_append (out, ext);
  return g_string_free (out, FALSE);
}

void
gbt_path_resolve_collisions (GPtrArray *paths, const gboolean *skip, gboolean *renamed)
{
  g_autoptr(GHashTable) dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* next suffix to try per original path: many copies of one name stay linear */
  g_autoptr(GHashTable) next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);

      if (skip && skip[i])
        continue;
      for (const char *s = strchr (path, '/'); s; s = strchr (s + 1, '/'))
        g_hash_table_add (dirs, g_strndup (path, (gsize) (s - path)));
    }

  for (guint i = 0; i < paths->len; i++)
    {
      char *path = g_ptr_array_index (paths, i);
      guint n;

      if (renamed)
        renamed[i] = FALSE;
      if (skip && skip[i])
        continue;
      if (!g_hash_table_contains (taken, path) && !g_hash_table_contains (dirs, path))
        {
          g_hash_table_add (taken, g_strdup (path));
          continue;
        }

      n = GPOINTER_TO_UINT (g_hash_table_lookup (next, path));
      for (n = MAX (n, 1);; n++)
        {
          g_autofree char *candidate = gbt_path_add_suffix (path, n);
          if (g_hash_table_contains (taken, candidate) || g_hash_table_contains (dirs, candidate))
            continue;
          g_hash_table_replace (next, g_strdup (path), GUINT_TO_POINTER (n + 1));
          g_hash_table_add (taken, g_strdup (candidate));
          g_free (path);
          g_ptr_array_index (paths, i) = g_steal_pointer (&candidate);
          if (renamed)
            renamed[i] = TRUE;
          break;
        }
    }
}

char *
gbt_path_describe_changes (guint changes)
{
  static const struct {
    guint bit;
    const char *phrase;
  } phrases[] = {
    { GBT_PATH_CHANGE_DROPPED, "left out \".\", \"..\" or empty components" },
    { GBT_PATH_CHANGE_SEPARATOR, "replaced path separators" },
    { GBT_PATH_CHANGE_CONTROL, "replaced control characters" },
    { GBT_PATH_CHANGE_INVALID_UTF8, "replaced invalid UTF-8" },
    { GBT_PATH_CHANGE_BIDI, "removed writing-direction characters" },
    { GBT_PATH_CHANGE_TOO_LONG, "shortened names over 255 bytes" },
    { GBT_PATH_CHANGE_PLACEHOLDER, "used a placeholder for an unusable name" },
    { GBT_PATH_CHANGE_RENAMED, "renamed it to avoid a collision" },
  };
  g_autoptr(GString) out = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (phrases); i++)
    if (changes & phrases[i].bit)
      {
        if (out->len)
          g_string_append (out, ", ");
        g_string_append (out, phrases[i].phrase);
      }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

char *
gbt_path_printable (const void *data, gsize len)
{
  const char *p = data;
  GString *out = g_string_sized_new (len);
  gsize i = 0;

  /* g_utf8_make_valid stops at NUL: go segment by segment */
  while (i < len)
    {
      const char *nul = memchr (p + i, 0, len - i);
      gsize seg = nul ? (gsize) (nul - (p + i)) : len - i;
      g_autofree char *part = g_utf8_make_valid (p + i, (gssize) seg);

      for (const guchar *c = (const guchar *) part; *c; c++)
        {
          if (*c < 0x20 || *c == 0x7f)
            g_string_append_printf (out, "\\x%02x", *c);
          else
            g_string_append_c (out, (char) *c);
        }
      i += seg;
      if (nul)
        {
          g_string_append (out, "\\x00");
          i++;
        }
    }
  return g_string_free (out, FALSE);
}
