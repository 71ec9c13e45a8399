/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stands in for libFuzzer when there is none (gcc, or -Dfuzzing=false):
 * replays every file given, and every file in every directory given, through
 * LLVMFuzzerTestOneInput.  So the seed corpora run as ordinary tests, under
 * the sanitizers of the build, and any crash the fuzzer found and was saved
 * into a corpus stays fixed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
replay_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;
  guint8 *copy;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "cannot read %s: %s\n", path, error->message);
      return 1;
    }
  /* an exact-size copy, so ASan catches reads one past the input */
  copy = g_memdup2 (contents, len);
  g_free (contents);
  LLVMFuzzerTestOneInput (copy, len);
  g_free (copy);
  return 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char **argv)
{
  guint n = 0;
  int failed = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) names = NULL;
      const char *name;

      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          failed |= replay_file (argv[i]);
          n++;
          continue;
        }
      dir = g_dir_open (argv[i], 0, &error);
      if (dir == NULL)
        {
          fprintf (stderr, "%s\n", error->message);
          return 1;
        }
      names = g_ptr_array_new_with_free_func (g_free);
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
      g_ptr_array_sort (names, compare_names);
      for (guint k = 0; k < names->len; k++)
        {
          if (!g_file_test (names->pdata[k], G_FILE_TEST_IS_REGULAR))
            continue;
          failed |= replay_file (names->pdata[k]);
          n++;
        }
    }
  printf ("replayed %u inputs\n", n);
  if (n == 0)
    {
      fprintf (stderr, "no inputs: an empty corpus tests nothing\n");
      return 1;
    }
  return failed;
}
