/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gbt/gbt-bencode.h>

G_DEFINE_QUARK (gbt-bencode-error-quark, gbt_bencode_error)

typedef struct {
  const guint8 *key;
  gsize key_len;
  GbtBencode *value;
} Entry;

struct _GbtBencode {
  GbtBencodeType type;
  const guint8 *raw;
  gsize raw_len;
  union {
    gint64 i;
    struct {
      const guint8 *data;
      gsize len;
    } s;
    struct {
      GbtBencode **items;
      guint n;
    } l;
    struct {
      Entry *entries;
      guint n;
    } d;
  } u;
};

/* Values live in a bump arena owned by the doc: one free for the whole tree. */
typedef struct Block {
  struct Block *next;
  gsize used, size;
  guint8 data[];
} Block;

struct _GbtBencodeDoc {
  GBytes *bytes;
  const guint8 *base;
  gsize len;
  gsize pos;
  guint max_depth;
  GbtBencodeFlags flags;
  gboolean unsorted;
  Block *blocks;
  GbtBencode *root;
};

static gpointer
arena_alloc (GbtBencodeDoc *doc, gsize size)
{
  size = (size + 7) & ~(gsize) 7;
  if (doc->blocks == NULL || doc->blocks->size - doc->blocks->used < size)
    {
      gsize bsize = MAX (size, 16384 - sizeof (Block));
      Block *b = g_malloc (sizeof (Block) + bsize);
      b->size = bsize;
      b->used = 0;
      b->next = doc->blocks;
      doc->blocks = b;
    }
  gpointer p = doc->blocks->data + doc->blocks->used;
  doc->blocks->used += size;
  return p;
}

static GbtBencode *parse_value (GbtBencodeDoc *doc, guint depth, GError **error);

static gboolean
parse_digits (GbtBencodeDoc *doc, char terminator, gboolean allow_negative, gint64 *out,
              GError **error)
{
  gsize start = doc->pos;
  gboolean neg = FALSE;
  guint64 acc = 0;
  gsize ndigits = 0;

  if (allow_negative && doc->pos < doc->len && doc->base[doc->pos] == '-')
    {
      neg = TRUE;
      doc->pos++;
    }
  while (doc->pos < doc->len && g_ascii_isdigit (doc->base[doc->pos]))
    {
      guint d = doc->base[doc->pos] - '0';
      if (ndigits == 1 && acc == 0)
        {
          g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_BAD_INTEGER,
                       "number with a leading zero at byte %" G_GSIZE_FORMAT, start);
          return FALSE;
        }
      if (acc > (G_MAXUINT64 - d) / 10)
        {
          g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_BAD_INTEGER,
                       "number out of 64-bit range at byte %" G_GSIZE_FORMAT, start);
          return FALSE;
        }
      acc = acc * 10 + d;
      ndigits++;
      doc->pos++;
    }
  if (doc->pos >= doc->len)
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TRUNCATED,
                   "input ends inside a number at byte %" G_GSIZE_FORMAT, start);
      return FALSE;
    }
  if (ndigits == 0 || doc->base[doc->pos] != terminator)
    {
      g_set_error (error, GBT_BENCODE_ERROR,
                   terminator == ':' ? GBT_BENCODE_ERROR_BAD_LENGTH : GBT_BENCODE_ERROR_BAD_INTEGER,
                   "malformed %s at byte %" G_GSIZE_FORMAT,
                   terminator == ':' ? "string length" : "integer", doc->pos);
      return FALSE;
    }
  doc->pos++; /* terminator */
  if (neg)
    {
      if (acc == 0)
        {
          g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_BAD_INTEGER,
                       "negative zero at byte %" G_GSIZE_FORMAT, start);
          return FALSE;
        }
      if (acc > (guint64) G_MAXINT64 + 1)
        goto range;
      *out = acc == (guint64) G_MAXINT64 + 1 ? G_MININT64 : -(gint64) acc;
    }
  else
    {
      if (acc > (guint64) G_MAXINT64)
        goto range;
      *out = (gint64) acc;
    }
  return TRUE;

range:
  g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_BAD_INTEGER,
               "number out of 64-bit range at byte %" G_GSIZE_FORMAT, start);
  return FALSE;
}

static gboolean
parse_string_span (GbtBencodeDoc *doc, const guint8 **data, gsize *len, GError **error)
{
  gsize start = doc->pos;
  gint64 n;

  if (!parse_digits (doc, ':', FALSE, &n, error))
    return FALSE;
  if ((guint64) n > doc->len - doc->pos)
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_BAD_LENGTH,
                   "string at byte %" G_GSIZE_FORMAT " claims %" G_GINT64_FORMAT
                   " bytes but only %" G_GSIZE_FORMAT " remain",
                   start, n, doc->len - doc->pos);
      return FALSE;
    }
  *data = doc->base + doc->pos;
  *len = (gsize) n;
  doc->pos += (gsize) n;
  return TRUE;
}

static int
key_cmp (const guint8 *a, gsize alen, const guint8 *b, gsize blen)
{
  int c = memcmp (a, b, MIN (alen, blen));
  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int
entry_cmp (gconstpointer pa, gconstpointer pb)
{
  const Entry *a = pa, *b = pb;
  return key_cmp (a->key, a->key_len, b->key, b->key_len);
}

static GbtBencode *
parse_value (GbtBencodeDoc *doc, guint depth, GError **error)
{
  gsize start = doc->pos;
  GbtBencode *v;

  if (doc->pos >= doc->len)
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TRUNCATED,
                   "input ends where a value was expected at byte %" G_GSIZE_FORMAT, start);
      return NULL;
    }
  if (depth > doc->max_depth)
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TOO_DEEP,
                   "nesting deeper than %u at byte %" G_GSIZE_FORMAT, doc->max_depth, start);
      return NULL;
    }

  v = arena_alloc (doc, sizeof (GbtBencode));
  v->raw = doc->base + start;
  switch (doc->base[doc->pos])
    {
    case 'i':
      doc->pos++;
      v->type = GBT_BENCODE_TYPE_INT;
      if (!parse_digits (doc, 'e', TRUE, &v->u.i, error))
        return NULL;
      break;

    case 'l':
      {
        g_autoptr(GPtrArray) items = g_ptr_array_new ();
        doc->pos++;
        v->type = GBT_BENCODE_TYPE_LIST;
        for (;;)
          {
            if (doc->pos >= doc->len)
              {
                g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TRUNCATED,
                             "input ends inside the list that starts at byte %" G_GSIZE_FORMAT,
                             start);
                return NULL;
              }
            if (doc->base[doc->pos] == 'e')
              break;
            GbtBencode *item = parse_value (doc, depth + 1, error);
            if (item == NULL)
              return NULL;
            g_ptr_array_add (items, item);
          }
        doc->pos++;
        v->u.l.n = items->len;
        v->u.l.items = arena_alloc (doc, sizeof (GbtBencode *) * MAX (items->len, 1));
        if (items->len)
          memcpy (v->u.l.items, items->pdata, sizeof (GbtBencode *) * items->len);
        break;
      }

    case 'd':
      {
        g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
        gboolean unsorted = FALSE;
        doc->pos++;
        v->type = GBT_BENCODE_TYPE_DICT;
        for (;;)
          {
            Entry e;
            gsize key_at;
            if (doc->pos >= doc->len)
              {
                g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TRUNCATED,
                             "input ends inside the dictionary that starts at byte %" G_GSIZE_FORMAT,
                             start);
                return NULL;
              }
            if (doc->base[doc->pos] == 'e')
              break;
            key_at = doc->pos;
            if (!g_ascii_isdigit (doc->base[doc->pos]))
              {
                g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_SYNTAX,
                             "dictionary key is not a string at byte %" G_GSIZE_FORMAT, key_at);
                return NULL;
              }
            if (!parse_string_span (doc, &e.key, &e.key_len, error))
              return NULL;
            if (entries->len > 0)
              {
                Entry *prev = &g_array_index (entries, Entry, entries->len - 1);
                int c = key_cmp (prev->key, prev->key_len, e.key, e.key_len);
                if (c == 0)
                  {
                    g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_DUPLICATE_KEY,
                                 "duplicate dictionary key at byte %" G_GSIZE_FORMAT, key_at);
                    return NULL;
                  }
                if (c > 0)
                  {
                    if (doc->flags & GBT_BENCODE_STRICT)
                      {
                        g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_UNSORTED_KEY,
                                     "dictionary key out of order at byte %" G_GSIZE_FORMAT,
                                     key_at);
                        return NULL;
                      }
                    unsorted = TRUE;
                  }
              }
            e.value = parse_value (doc, depth + 1, error);
            if (e.value == NULL)
              return NULL;
            g_array_append_val (entries, e);
          }
        doc->pos++;
        if (unsorted)
          {
            /* keys out of order are tolerated, but a duplicate anywhere is not */
            g_autoptr(GArray) sorted = g_array_copy (entries);
            g_array_sort (sorted, entry_cmp);
            for (guint i = 1; i < sorted->len; i++)
              if (entry_cmp (&g_array_index (sorted, Entry, i - 1),
                             &g_array_index (sorted, Entry, i)) == 0)
                {
                  Entry *dup = &g_array_index (sorted, Entry, i);
                  g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_DUPLICATE_KEY,
                               "duplicate dictionary key at byte %" G_GSIZE_FORMAT,
                               (gsize) (dup->key - doc->base));
                  return NULL;
                }
            doc->unsorted = TRUE;
          }
        v->u.d.n = entries->len;
        v->u.d.entries = arena_alloc (doc, sizeof (Entry) * MAX (entries->len, 1));
        if (entries->len)
          memcpy (v->u.d.entries, entries->data, sizeof (Entry) * entries->len);
        break;
      }

    default:
      if (g_ascii_isdigit (doc->base[doc->pos]))
        {
          v->type = GBT_BENCODE_TYPE_STRING;
          if (!parse_string_span (doc, &v->u.s.data, &v->u.s.len, error))
            return NULL;
          break;
        }
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_SYNTAX,
                   "unexpected byte 0x%02x at byte %" G_GSIZE_FORMAT, doc->base[doc->pos], start);
      return NULL;
    }
  v->raw_len = doc->pos - start;
  return v;
}

void
gbt_bencode_doc_free (GbtBencodeDoc *doc)
{
  if (doc == NULL)
    return;
  while (doc->blocks)
    {
      Block *next = doc->blocks->next;
      g_free (doc->blocks);
      doc->blocks = next;
    }
  g_bytes_unref (doc->bytes);
  g_free (doc);
}

GbtBencodeDoc *
gbt_bencode_parse_full (GBytes *bytes, GbtBencodeFlags flags, guint max_depth, gsize max_size,
                        GError **error)
{
  g_autoptr(GbtBencodeDoc) doc = g_new0 (GbtBencodeDoc, 1);

  g_return_val_if_fail (bytes != NULL, NULL);

  doc->bytes = g_bytes_ref (bytes);
  doc->base = g_bytes_get_data (bytes, &doc->len);
  doc->flags = flags;
  doc->max_depth = max_depth ? max_depth : GBT_BENCODE_DEFAULT_MAX_DEPTH;
  if (max_size == 0)
    max_size = GBT_BENCODE_DEFAULT_MAX_SIZE;
  if (doc->len > max_size)
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TOO_LARGE,
                   "input of %" G_GSIZE_FORMAT " bytes exceeds the limit of %" G_GSIZE_FORMAT,
                   doc->len, max_size);
      return NULL;
    }
  if (doc->base == NULL)
    doc->base = (const guint8 *) "";
  doc->root = parse_value (doc, 0, error);
  if (doc->root == NULL)
    return NULL;
  if (doc->pos != doc->len && !(flags & GBT_BENCODE_ALLOW_TRAILING))
    {
      g_set_error (error, GBT_BENCODE_ERROR, GBT_BENCODE_ERROR_TRAILING_DATA,
                   "trailing data after the value at byte %" G_GSIZE_FORMAT, doc->pos);
      return NULL;
    }
  return g_steal_pointer (&doc);
}

GbtBencodeDoc *
gbt_bencode_parse (GBytes *bytes, GError **error)
{
  return gbt_bencode_parse_full (bytes, GBT_BENCODE_NONE, 0, 0, error);
}

GbtBencodeDoc *
gbt_bencode_parse_data (const void *data, gsize len, GError **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  return gbt_bencode_parse (bytes, error);
}

GbtBencode *
gbt_bencode_doc_get_root (GbtBencodeDoc *doc)
{
  return doc->root;
}

gboolean
gbt_bencode_doc_had_unsorted_keys (GbtBencodeDoc *doc)
{
  return doc->unsorted;
}

gsize
gbt_bencode_doc_get_consumed (GbtBencodeDoc *doc)
{
  return doc->pos;
}

GbtBencodeType
gbt_bencode_get_type (const GbtBencode *value)
{
  return value->type;
}

const guint8 *
gbt_bencode_get_raw (const GbtBencode *value, gsize *len)
{
  if (len)
    *len = value->raw_len;
  return value->raw;
}

gboolean
gbt_bencode_is_int (const GbtBencode *value)
{
  return value != NULL && value->type == GBT_BENCODE_TYPE_INT;
}

gboolean
gbt_bencode_is_string (const GbtBencode *value)
{
  return value != NULL && value->type == GBT_BENCODE_TYPE_STRING;
}

gboolean
gbt_bencode_is_list (const GbtBencode *value)
{
  return value != NULL && value->type == GBT_BENCODE_TYPE_LIST;
}

gboolean
gbt_bencode_is_dict (const GbtBencode *value)
{
  return value != NULL && value->type == GBT_BENCODE_TYPE_DICT;
}

gint64
gbt_bencode_get_int (const GbtBencode *value)
{
  g_return_val_if_fail (gbt_bencode_is_int (value), 0);
  return value->u.i;
}

const guint8 *
gbt_bencode_get_string (const GbtBencode *value, gsize *len)
{
  g_return_val_if_fail (gbt_bencode_is_string (value), NULL);
  if (len)
    *len = value->u.s.len;
  return value->u.s.data;
}

char *
gbt_bencode_dup_string (const GbtBencode *value)
{
  if (!gbt_bencode_is_string (value) || memchr (value->u.s.data, 0, value->u.s.len) != NULL)
    return NULL;
  return g_strndup ((const char *) value->u.s.data, value->u.s.len);
}

guint
gbt_bencode_get_length (const GbtBencode *value)
{
  if (gbt_bencode_is_list (value))
    return value->u.l.n;
  if (gbt_bencode_is_dict (value))
    return value->u.d.n;
  return 0;
}

GbtBencode *
gbt_bencode_list_nth (const GbtBencode *list, guint n)
{
  if (!gbt_bencode_is_list (list) || n >= list->u.l.n)
    return NULL;
  return list->u.l.items[n];
}

GbtBencode *
gbt_bencode_dict_nth (const GbtBencode *dict, guint n, const guint8 **key, gsize *key_len)
{
  if (!gbt_bencode_is_dict (dict) || n >= dict->u.d.n)
    return NULL;
  if (key)
    *key = dict->u.d.entries[n].key;
  if (key_len)
    *key_len = dict->u.d.entries[n].key_len;
  return dict->u.d.entries[n].value;
}

GbtBencode *
gbt_bencode_dict_lookup_len (const GbtBencode *dict, const guint8 *key, gsize key_len)
{
  if (!gbt_bencode_is_dict (dict))
    return NULL;
  for (guint i = 0; i < dict->u.d.n; i++)
    {
      const Entry *e = &dict->u.d.entries[i];
      if (e->key_len == key_len && memcmp (e->key, key, key_len) == 0)
        return e->value;
    }
  return NULL;
}

GbtBencode *
gbt_bencode_dict_lookup (const GbtBencode *dict, const char *key)
{
  return gbt_bencode_dict_lookup_len (dict, (const guint8 *) key, strlen (key));
}

gboolean
gbt_bencode_dict_get_int (const GbtBencode *dict, const char *key, gint64 *out)
{
  GbtBencode *v = gbt_bencode_dict_lookup (dict, key);
  if (!gbt_bencode_is_int (v))
    return FALSE;
  if (out)
    *out = v->u.i;
  return TRUE;
}

const guint8 *
gbt_bencode_dict_get_string (const GbtBencode *dict, const char *key, gsize *len)
{
  GbtBencode *v = gbt_bencode_dict_lookup (dict, key);
  if (!gbt_bencode_is_string (v))
    return NULL;
  if (len)
    *len = v->u.s.len;
  return v->u.s.data;
}

void
gbt_bencode_write_int (GByteArray *out, gint64 value)
{
  char buf[32];
  int n = g_snprintf (buf, sizeof buf, "i%" G_GINT64_FORMAT "e", value);
  g_byte_array_append (out, (const guint8 *) buf, n);
}

void
gbt_bencode_write_string (GByteArray *out, const void *data, gsize len)
{
  char buf[32];
  int n = g_snprintf (buf, sizeof buf, "%" G_GSIZE_FORMAT ":", len);
  g_byte_array_append (out, (const guint8 *) buf, n);
  if (len)
    g_byte_array_append (out, data, len);
}

void
gbt_bencode_write_str (GByteArray *out, const char *str)
{
  gbt_bencode_write_string (out, str, strlen (str));
}

void
gbt_bencode_write_list_start (GByteArray *out)
{
  g_byte_array_append (out, (const guint8 *) "l", 1);
}

void
gbt_bencode_write_dict_start (GByteArray *out)
{
  g_byte_array_append (out, (const guint8 *) "d", 1);
}

void
gbt_bencode_write_end (GByteArray *out)
{
  g_byte_array_append (out, (const guint8 *) "e", 1);
}

void
gbt_bencode_write_value (GByteArray *out, const GbtBencode *value)
{
  switch (value->type)
    {
    case GBT_BENCODE_TYPE_INT:
      gbt_bencode_write_int (out, value->u.i);
      break;
    case GBT_BENCODE_TYPE_STRING:
      gbt_bencode_write_string (out, value->u.s.data, value->u.s.len);
      break;
    case GBT_BENCODE_TYPE_LIST:
      gbt_bencode_write_list_start (out);
      for (guint i = 0; i < value->u.l.n; i++)
        gbt_bencode_write_value (out, value->u.l.items[i]);
      gbt_bencode_write_end (out);
      break;
    case GBT_BENCODE_TYPE_DICT:
      gbt_bencode_write_dict_start (out);
      for (guint i = 0; i < value->u.d.n; i++)
        {
          gbt_bencode_write_string (out, value->u.d.entries[i].key, value->u.d.entries[i].key_len);
          gbt_bencode_write_value (out, value->u.d.entries[i].value);
        }
      gbt_bencode_write_end (out);
      break;
    }
}
