/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Magnet URIs (BEP 9): magnet:?xt=urn:btih:<hash>&dn=<name>&tr=<url>...
 * with x.pe peers (BEP 9) and so= file selection (BEP 53).  Parameters we do
 * not know are ignored, like other clients do; what we know must be well
 * formed, since a half-read magnet would silently download something else.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gbt/gbt-magnet.h>

#include "gbt-hash.h"

/* BEP 53 ranges expand to indices: bound what "so=0-4000000000" costs */
#define MAX_SELECT_ONLY (1u << 20)

G_DEFINE_QUARK (gbt-magnet-error-quark, gbt_magnet_error)

void
gbt_magnet_free (GbtMagnet *magnet)
{
  if (magnet == NULL)
    return;
  g_free (magnet->display_name);
  g_strfreev (magnet->trackers);
  g_strfreev (magnet->peers);
  if (magnet->select_only)
    g_array_unref (magnet->select_only);
  g_free (magnet);
}

GbtMagnet *
gbt_magnet_copy (const GbtMagnet *magnet)
{
  GbtMagnet *copy;

  g_return_val_if_fail (magnet != NULL, NULL);
  copy = g_new0 (GbtMagnet, 1);
  memcpy (copy->info_hash, magnet->info_hash, 20);
  copy->display_name = g_strdup (magnet->display_name);
  copy->trackers = g_strdupv (magnet->trackers);
  copy->peers = g_strdupv (magnet->peers);
  if (magnet->select_only)
    copy->select_only = g_array_copy (magnet->select_only);
  return copy;
}

G_DEFINE_BOXED_TYPE (GbtMagnet, gbt_magnet, gbt_magnet_copy, gbt_magnet_free)

/* percent-decodes @len bytes of @s; '+' is a space only in text parameters
 * (a tracker URL may hold a real '+') */
static char *
percent_decode (const char *key, const char *s, gsize len, gboolean plus_is_space,
                GError **error)
{
  g_autoptr(GString) out = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '%')
        {
          int hi = i + 2 < len ? g_ascii_xdigit_value (s[i + 1]) : -1;
          int lo = i + 2 < len ? g_ascii_xdigit_value (s[i + 2]) : -1;

          if (hi < 0 || lo < 0)
            {
              g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_PARAMETER,
                           "bad percent-escape in parameter “%s”", key);
              return NULL;
            }
          if (hi == 0 && lo == 0)
            {
              g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_PARAMETER,
                           "parameter “%s” holds a NUL byte", key);
              return NULL;
            }
          g_string_append_c (out, (char) (hi << 4 | lo));
          i += 2;
        }
      else if (s[i] == '+' && plus_is_space)
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, s[i]);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static int
base32_value (char c)
{
  c = g_ascii_toupper (c);
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

/* 40 hex digits or 32 base32 characters (RFC 4648, as BEP 9 allows) */
static gboolean
parse_info_hash (const char *s, guint8 out[20], GError **error)
{
  gsize len = strlen (s);

  if (len == 40)
    {
      if (!gbt_sha1_from_hex (s, out))
        goto bad;
      return TRUE;
    }
  if (len == 32)
    {
      guint64 acc = 0;
      guint bits = 0;
      guint n = 0;

      for (guint i = 0; i < 32; i++)
        {
          int v = base32_value (s[i]);
          if (v < 0)
            goto bad;
          acc = acc << 5 | (guint) v;
          bits += 5;
          if (bits >= 8)
            {
              bits -= 8;
              out[n++] = (guint8) (acc >> bits);
            }
        }
      return TRUE;
    }

bad:
  g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_INFO_HASH,
               "the info-hash “%s” is neither 40 hex digits nor 32 base32 characters", s);
  return FALSE;
}

static gboolean
parse_port (const char *s, guint *port)
{
  guint64 v;
  char *end;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  v = g_ascii_strtoull (s, &end, 10);
  if (*end != '\0' || v == 0 || v > 65535)
    return FALSE;
  *port = (guint) v;
  return TRUE;
}

/* "host:port" or "[v6]:port", normalised */
static char *
parse_peer (const char *s, GError **error)
{
  const char *colon;
  g_autofree char *host = NULL;
  guint port;

  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL || close[1] != ':')
        goto bad;
      host = g_strndup (s + 1, (gsize) (close - s - 1));
      if (!g_hostname_is_ip_address (host) || strchr (host, ':') == NULL)
        goto bad;
      colon = close + 1;
    }
  else
    {
      colon = strrchr (s, ':');
      if (colon == NULL || colon == s)
        goto bad;
      host = g_strndup (s, (gsize) (colon - s));
      /* an IPv6 address must be bracketed, or the port is ambiguous */
      if (strchr (host, ':') != NULL || strchr (host, '/') != NULL)
        goto bad;
    }
  if (!parse_port (colon + 1, &port))
    goto bad;
  if (s[0] == '[')
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);

bad:
  g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_PARAMETER,
               "x.pe “%s” is not host:port (IPv6 as [address]:port)", s);
  return NULL;
}

static gboolean
parse_index (const char *s, const char **end, guint *out)
{
  guint64 v;
  char *e;

  if (!g_ascii_isdigit (*s))
    return FALSE;
  v = g_ascii_strtoull (s, &e, 10);
  if (v > G_MAXUINT)
    return FALSE;
  *out = (guint) v;
  *end = e;
  return TRUE;
}

static int
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

/* BEP 53: "0,2,4-6" */
static gboolean
parse_select_only (GbtMagnet *magnet, const char *s, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (s, ",", -1);
  guint64 count = magnet->select_only ? magnet->select_only->len : 0;

  if (*s == '\0')
    goto bad;
  if (magnet->select_only == NULL)
    magnet->select_only = g_array_new (FALSE, FALSE, sizeof (guint));
  for (char **p = parts; *p; p++)
    {
      const char *end;
      guint first, last;

      if (!parse_index (*p, &end, &first))
        goto bad;
      last = first;
      if (*end == '-' && !parse_index (end + 1, &end, &last))
        goto bad;
      if (*end != '\0' || last < first)
        goto bad;
      count += (guint64) last - first + 1;
      if (count > MAX_SELECT_ONLY)
        {
          g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_PARAMETER,
                       "so= selects more than %u files", MAX_SELECT_ONLY);
          return FALSE;
        }
      for (guint64 i = first; i <= last; i++)
        {
          guint v = (guint) i;
          g_array_append_val (magnet->select_only, v);
        }
    }

  /* sorted, without duplicates: the order of so= means nothing */
  g_array_sort (magnet->select_only, cmp_uint);
  {
    guint n = 0;
    for (guint i = 0; i < magnet->select_only->len; i++)
      if (n == 0 || g_array_index (magnet->select_only, guint, n - 1)
                      != g_array_index (magnet->select_only, guint, i))
        g_array_index (magnet->select_only, guint, n++) = g_array_index (magnet->select_only, guint, i);
    g_array_set_size (magnet->select_only, n);
  }
  return TRUE;

bad:
  g_set_error (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_BAD_PARAMETER,
               "so= “%s” is not a list of indices and ranges like 0,2,4-6", s);
  return FALSE;
}

/* "xt", or "xt.1", "xt.2"... as the magnet draft numbers repeated keys */
static gboolean
key_is (const char *key, gsize key_len, const char *name)
{
  gsize n = strlen (name);

  if (key_len < n || g_ascii_strncasecmp (key, name, n) != 0)
    return FALSE;
  if (key_len == n)
    return TRUE;
  if (key[n] != '.' || key_len == n + 1)
    return FALSE;
  for (gsize i = n + 1; i < key_len; i++)
    if (!g_ascii_isdigit (key[i]))
      return FALSE;
  return TRUE;
}

static void
add_unique (GPtrArray *array, char *s)
{
  for (guint i = 0; i < array->len; i++)
    if (g_str_equal (array->pdata[i], s))
      {
        g_free (s);
        return;
      }
  g_ptr_array_add (array, s);
}

GbtMagnet *
gbt_magnet_parse (const char *uri, GError **error)
{
  g_autoptr(GbtMagnet) magnet = NULL;
  g_autoptr(GPtrArray) trackers = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) peers = g_ptr_array_new_with_free_func (g_free);
  gboolean have_hash = FALSE;
  gboolean other_xt = FALSE;
  const char *p;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_ascii_strncasecmp (uri, "magnet:", 7) != 0)
    {
      g_set_error_literal (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_NOT_MAGNET,
                           "not a magnet: URI");
      return NULL;
    }
  magnet = g_new0 (GbtMagnet, 1);
  p = strchr (uri + 7, '?');
  p = p ? p + 1 : uri + strlen (uri);

  while (*p != '\0' && *p != '#')
    {
      gsize plen = strcspn (p, "&#");
      const char *eq = memchr (p, '=', plen);
      const char *next = p + plen + (p[plen] == '&');
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;

      if (eq == NULL)
        {
          p = next; /* "&&" or a bare flag: nothing to use */
          continue;
        }
      key = g_strndup (p, (gsize) (eq - p));

      if (key_is (key, strlen (key), "xt"))
        {
          value = percent_decode (key, eq + 1, plen - (gsize) (eq + 1 - p), FALSE, error);
          if (value == NULL)
            return NULL;
          if (g_ascii_strncasecmp (value, "urn:btih:", 9) == 0)
            {
              guint8 hash[20];
              if (!parse_info_hash (value + 9, hash, error))
                return NULL;
              if (!have_hash)
                memcpy (magnet->info_hash, hash, 20);
              have_hash = TRUE;
            }
          else
            other_xt = TRUE;
        }
      else if (key_is (key, strlen (key), "dn"))
        {
          value = percent_decode (key, eq + 1, plen - (gsize) (eq + 1 - p), TRUE, error);
          if (value == NULL)
            return NULL;
          if (magnet->display_name == NULL && *value)
            magnet->display_name = g_utf8_make_valid (value, -1);
        }
      else if (key_is (key, strlen (key), "tr"))
        {
          value = percent_decode (key, eq + 1, plen - (gsize) (eq + 1 - p), FALSE, error);
          if (value == NULL)
            return NULL;
          g_strstrip (value);
          if (*value)
            add_unique (trackers, g_utf8_make_valid (value, -1));
        }
      else if (key_is (key, strlen (key), "x.pe"))
        {
          char *peer;
          value = percent_decode (key, eq + 1, plen - (gsize) (eq + 1 - p), FALSE, error);
          if (value == NULL)
            return NULL;
          peer = parse_peer (value, error);
          if (peer == NULL)
            return NULL;
          add_unique (peers, peer);
        }
      else if (g_ascii_strcasecmp (key, "so") == 0)
        {
          value = percent_decode (key, eq + 1, plen - (gsize) (eq + 1 - p), FALSE, error);
          if (value == NULL || !parse_select_only (magnet, value, error))
            return NULL;
        }
      p = next;
    }

  if (!have_hash)
    {
      g_set_error_literal (error, GBT_MAGNET_ERROR, GBT_MAGNET_ERROR_NO_INFO_HASH,
                           other_xt ? "no xt=urn:btih: parameter (only other hash kinds, "
                                      "such as BitTorrent v2 btmh, which are not supported)"
                                    : "no xt=urn:btih: parameter");
      return NULL;
    }
  g_ptr_array_add (trackers, NULL);
  g_ptr_array_add (peers, NULL);
  magnet->trackers = (GStrv) g_ptr_array_steal (trackers, NULL);
  magnet->peers = (GStrv) g_ptr_array_steal (peers, NULL);
  return g_steal_pointer (&magnet);
}
