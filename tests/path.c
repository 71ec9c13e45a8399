/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Path sanitising rules (core/gbt-path.c), one by one. */
#include <string.h>

#include "gbt-path.h"
#include "test-utils.h"

static char *
sanitize (const char *s, gsize len, guint *changes)
{
  *changes = 0;
  return gbt_path_sanitize_component (s, len, changes);
}

static void
test_component (void)
{
  struct {
    const char *in;
    gsize len; /* 0: strlen */
    const char *out; /* NULL: dropped */
    guint changes;
  } cases[] = {
    { "file.txt", 0, "file.txt", 0 },
    { "...", 0, "...", 0 },
    { ".hidden", 0, ".hidden", 0 },
    { "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", 0, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", 0 },
    { "", 0, NULL, GBT_PATH_CHANGE_DROPPED },
    { ".", 0, NULL, GBT_PATH_CHANGE_DROPPED },
    { "..", 0, NULL, GBT_PATH_CHANGE_DROPPED },
    { "/", 0, NULL, GBT_PATH_CHANGE_SEPARATOR | GBT_PATH_CHANGE_DROPPED },
    { "/..", 0, NULL, GBT_PATH_CHANGE_SEPARATOR | GBT_PATH_CHANGE_DROPPED },
    { "/etc", 0, "etc", GBT_PATH_CHANGE_SEPARATOR },
    { "\\\\server", 0, "server", GBT_PATH_CHANGE_SEPARATOR },
    { "a/b", 0, "a_b", GBT_PATH_CHANGE_SEPARATOR },
    { "../../x", 0, ".._.._x", GBT_PATH_CHANGE_SEPARATOR },
    { "a\\b", 0, "a_b", GBT_PATH_CHANGE_SEPARATOR },
    { "a\0b", 3, "a_b", GBT_PATH_CHANGE_CONTROL },
    { "a\nb\x7f", 0, "a_b_", GBT_PATH_CHANGE_CONTROL },
    { "\xff.txt", 0, "_.txt", GBT_PATH_CHANGE_INVALID_UTF8 },
    { "\xc0\xaf", 0, "__", GBT_PATH_CHANGE_INVALID_UTF8 },   /* overlong '/' */
    { "x\xe2\x82", 0, "x__", GBT_PATH_CHANGE_INVALID_UTF8 }, /* truncated */
    { "\xed\xa0\x80", 0, "___", GBT_PATH_CHANGE_INVALID_UTF8 }, /* surrogate */
    { "evil\xe2\x80\xaetxt.exe", 0, "eviltxt.exe", GBT_PATH_CHANGE_BIDI },
    { "\xe2\x80\xae", 0, NULL, GBT_PATH_CHANGE_BIDI | GBT_PATH_CHANGE_DROPPED },
    { "\xe2\x80\x8f..", 0, NULL, GBT_PATH_CHANGE_BIDI | GBT_PATH_CHANGE_DROPPED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint changes;
      gsize len = cases[i].len ? cases[i].len : strlen (cases[i].in);
      g_autofree char *out = sanitize (cases[i].in, len, &changes);

      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpstr (out, ==, cases[i].out);
      g_assert_cmphex (changes, ==, cases[i].changes);
    }
}

static void
test_long (void)
{
  g_autoptr(GString) in = g_string_new (NULL);
  g_autofree char *out = NULL;
  guint changes;

  /* ASCII with an extension */
  for (int i = 0; i < 300; i++)
    g_string_append_c (in, 'a');
  g_string_append (in, ".mkv");
  out = sanitize (in->str, in->len, &changes);
  g_assert_cmpuint (strlen (out), <=, 240);
  g_assert_true (g_str_has_suffix (out, ".mkv"));
  g_assert_cmphex (changes, ==, GBT_PATH_CHANGE_TOO_LONG);
  g_clear_pointer (&out, g_free);

  /* exactly 255 bytes is fine */
  g_string_set_size (in, 255);
  out = sanitize (in->str, in->len, &changes);
  g_assert_cmpuint (strlen (out), ==, 255);
  g_assert_cmphex (changes, ==, 0);
  g_clear_pointer (&out, g_free);

  /* multi-byte characters are never cut in half */
  g_string_truncate (in, 0);
  for (int i = 0; i < 200; i++)
    g_string_append (in, "\xc3\xa9");
  out = sanitize (in->str, in->len, &changes);
  g_assert_cmpuint (strlen (out), <=, 240);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  g_assert_cmphex (changes, ==, GBT_PATH_CHANGE_TOO_LONG);
}

static void
test_components (void)
{
  const guint8 *comps[] = { (const guint8 *) "..", (const guint8 *) "", (const guint8 *) "etc",
                            (const guint8 *) ".", (const guint8 *) "passwd" };
  gsize lens[] = { 2, 0, 3, 1, 6 };
  guint changes = 0;
  g_autofree char *out = gbt_path_sanitize_components (comps, lens, 5, &changes);
  g_autofree char *none = NULL;

  g_assert_cmpstr (out, ==, "etc/passwd");
  g_assert_cmphex (changes, ==, GBT_PATH_CHANGE_DROPPED);

  changes = 0;
  none = gbt_path_sanitize_components (comps, lens, 2, &changes);
  g_assert_null (none);
  g_assert_cmphex (changes, ==, GBT_PATH_CHANGE_DROPPED);
}

static void
test_suffix (void)
{
  struct {
    const char *in;
    guint n;
    const char *out;
  } cases[] = {
    { "t/a.txt", 1, "t/a.1.txt" },
    { "t/archive.tar.gz", 2, "t/archive.tar.2.gz" },
    { "t/noext", 1, "t/noext.1" },
    { "t/.bashrc", 1, "t/.bashrc.1" },
    { "t/dir.d/file", 3, "t/dir.d/file.3" },
    { "plain", 12, "plain.12" },
  };
  g_autoptr(GString) longname = g_string_new ("t/");
  g_autofree char *out = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *r = gbt_path_add_suffix (cases[i].in, cases[i].n);
      g_assert_cmpstr (r, ==, cases[i].out);
    }

  /* a 255-byte name stays within NAME_MAX with its suffix */
  for (int i = 0; i < 251; i++)
    g_string_append_c (longname, 'x');
  g_string_append (longname, ".iso");
  out = gbt_path_add_suffix (longname->str, 1234);
  g_assert_cmpuint (strlen (strrchr (out, '/') + 1), <=, GBT_PATH_MAX_COMPONENT);
  g_assert_true (g_str_has_suffix (out, ".1234.iso"));
}

static GPtrArray *
strv_array (const char *const *v)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  for (; *v; v++)
    g_ptr_array_add (a, g_strdup (*v));
  return a;
}

static void
test_collisions (void)
{
  const char *dups[] = { "t/a", "t/a", "t/a.1", "t/a", NULL };
  const char *dir[] = { "t/x", "t/x/y", "t/x/y/z", NULL };
  const char *padded[] = { "t/.pad/16", "t/.pad/16", "t/b", NULL };
  g_autoptr(GPtrArray) a = strv_array (dups);
  g_autoptr(GPtrArray) b = strv_array (dir);
  g_autoptr(GPtrArray) c = strv_array (padded);
  gboolean renamed[4];
  gboolean skip[3] = { TRUE, TRUE, FALSE };

  gbt_path_resolve_collisions (a, NULL, renamed);
  g_assert_cmpstr (a->pdata[0], ==, "t/a");
  g_assert_cmpstr (a->pdata[1], ==, "t/a.1");
  /* the original "t/a.1" is taken now: it moves on too */
  g_assert_cmpstr (a->pdata[2], ==, "t/a.1.1");
  g_assert_cmpstr (a->pdata[3], ==, "t/a.2");
  g_assert_false (renamed[0]);
  g_assert_true (renamed[1] && renamed[2] && renamed[3]);

  /* a file named like a directory of another file gives way */
  gbt_path_resolve_collisions (b, NULL, renamed);
  g_assert_cmpstr (b->pdata[0], ==, "t/x.1");
  g_assert_cmpstr (b->pdata[1], ==, "t/x/y.1");
  g_assert_cmpstr (b->pdata[2], ==, "t/x/y/z");

  /* pad files are never written: they collide with nothing */
  gbt_path_resolve_collisions (c, skip, renamed);
  g_assert_cmpstr (c->pdata[1], ==, "t/.pad/16");
  g_assert_false (renamed[0] || renamed[1] || renamed[2]);
}

static void
test_collisions_case (void)
{
  const char *v[] = { "t/Readme", "t/README", "t/readme", NULL };
  g_autoptr(GPtrArray) a = strv_array (v);

  gbt_path_resolve_collisions (a, NULL, NULL);
  g_assert_cmpstr (a->pdata[0], ==, "t/Readme");
  g_assert_cmpstr (a->pdata[1], ==, "t/README");
  g_assert_cmpstr (a->pdata[2], ==, "t/readme");
}

static void
test_many_duplicates (void)
{
  g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (int i = 0; i < 20000; i++)
    g_ptr_array_add (a, g_strdup ("t/same.bin"));
  gbt_path_resolve_collisions (a, NULL, NULL);
  for (guint i = 0; i < a->len; i++)
    g_assert_true (g_hash_table_add (seen, a->pdata[i]));
  g_assert_cmpstr (a->pdata[19999], ==, "t/same.19999.bin");
}

static void
test_describe_printable (void)
{
  g_autofree char *all = gbt_path_describe_changes (0xff);
  g_autofree char *none = gbt_path_describe_changes (0);
  g_autofree char *p = gbt_path_printable ("a\0b\n\xff", 5);

  g_assert_nonnull (strstr (all, "collision"));
  g_assert_nonnull (strstr (all, "UTF-8"));
  g_assert_cmpstr (none, ==, "");
  g_assert_cmpstr (p, ==, "a\\x00b\\x0a\xef\xbf\xbd");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/path/component", test_component);
  g_test_add_func ("/path/long", test_long);
  g_test_add_func ("/path/components", test_components);
  g_test_add_func ("/path/suffix", test_suffix);
  g_test_add_func ("/path/collisions", test_collisions);
  g_test_add_func ("/path/collisions-case", test_collisions_case);
  g_test_add_func ("/path/many-duplicates", test_many_duplicates);
  g_test_add_func ("/path/describe-printable", test_describe_printable);
  return g_test_run ();
}
