/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Arbitrary text as a magnet URI, raw and behind a valid prefix (so the
 * parameter parsers get most of the input).
 */
#include <stdint.h>
#include <string.h>

#include <gbt/gbt-magnet.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
parse (const char *uri)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMagnet) m = gbt_magnet_parse (uri, &error);

  if (m == NULL)
    {
      if (error == NULL || error->domain != GBT_MAGNET_ERROR)
        g_error ("failure without a magnet error");
      return;
    }
  if (m->trackers == NULL || m->peers == NULL)
    g_error ("NULL list");
  if (m->display_name && !g_utf8_validate (m->display_name, -1, NULL))
    g_error ("display name not UTF-8");
  for (char **t = m->trackers; *t; t++)
    if (!g_utf8_validate (*t, -1, NULL) || **t == '\0')
      g_error ("bad tracker");
  if (m->select_only)
    for (guint i = 1; i < m->select_only->len; i++)
      if (g_array_index (m->select_only, guint, i - 1) >= g_array_index (m->select_only, guint, i))
        g_error ("so= not sorted and unique");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *prefixed =
    g_strconcat ("magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&", text, NULL);

  parse (text);
  parse (prefixed);
  return 0;
}
