/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The gbt program: global options, then one subcommand. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "gbt-cli.h"

typedef struct {
  const char *name;
  GbtCliCommandFunc func;
  const char *summary;
} Command;

static const Command commands[] = {
  { "create", gbt_cmd_create, "make a .torrent from a file or a directory" },
  { "download", gbt_cmd_download, "download a torrent file or magnet link" },
  { "info", gbt_cmd_info, "show what a torrent file or magnet link holds" },
  { "plugins", gbt_cmd_plugins, "list plugins and why any failed to load" },
  { "verify", gbt_cmd_verify, "check downloaded data against a .torrent" },
  { "scrape", gbt_cmd_scrape, "ask a torrent's trackers for seeders and leechers" },
  { "seed", gbt_cmd_seed, "verify local data, then seed it" },
  { "daemon", gbt_cmd_daemon, "run many torrents, driven over Transmission's RPC" },
};

void
gbt_cli_error (const char *format, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, format);
  msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  fprintf (stderr, "gbt: %s\n", msg);
}

void
gbt_cli_print_warnings (GbtMetainfo *mi)
{
  for (const char *const *w = gbt_metainfo_get_warnings (mi); *w; w++)
    fprintf (stderr, "gbt: warning: %s\n", *w);
}

gboolean
gbt_cli_parse (GOptionContext *context, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      gbt_cli_error ("%s (try --help)", error->message);
      return FALSE;
    }
  return TRUE;
}

int
gbt_cli_load_plugins (GbtCliGlobals *globals)
{
  g_autoptr(GError) error = NULL;
  GbtPluginRegistry *registry = gbt_plugin_registry_get_default ();

  if (!gbt_plugin_registry_load (registry, (const char *const *) globals->plugin_dirs,
                                 (const char *const *) globals->plugins, &error))
    {
      gbt_cli_error ("%s", error->message);
      return g_error_matches (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_UNKNOWN)
               ? GBT_EXIT_USAGE
               : GBT_EXIT_FAILURE;
    }
  return GBT_EXIT_OK;
}

void
gbt_cli_json_string (GString *out, const char *str)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) (str ? str : ""); *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, *p);
        }
    }
  g_string_append_c (out, '"');
}

char *
gbt_cli_format_size (guint64 bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static void
print_help (FILE *out)
{
  fprintf (out,
           "Usage: gbt [--plugins=NAME,...] [--plugin-path=DIR] COMMAND [ARGS...]\n"
           "\n"
           "A BitTorrent client on GLib.\n"
           "\n"
           "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\n"
           "Global options:\n"
           "  --plugins=NAME,...  also load these optional plugins (see 'gbt plugins');\n"
           "                      -NAME leaves out a default one\n"
           "  --plugin-path=DIR   look for plugins in DIR first\n"
           "  -v, --verbose       log more (G_MESSAGES_DEBUG=gbt for everything)\n"
           "  --version           print the version\n"
           "  -h, --help          this help; 'gbt COMMAND --help' for a command\n"
           "\n"
           "Examples:\n"
           "  gbt info ubuntu.torrent\n"
           "  gbt download ubuntu.torrent -o ~/Downloads\n"
           "  gbt seed ubuntu.torrent -d ~/Downloads\n"
           "  gbt --plugins=pex,dht download 'magnet:?xt=urn:btih:...'\n"
           "\n"
           "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int
main (int argc, char **argv)
{
  GbtCliGlobals globals = { 0 };
  g_autoptr(GPtrArray) plugin_dirs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) plugins = g_ptr_array_new_with_free_func (g_free);
  int i;
  int ret;

  setlocale (LC_ALL, "");
  /* global options stop at the first word that is not an option */
  for (i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (a[0] != '-')
        break;
      if (g_str_equal (a, "--help") || g_str_equal (a, "-h"))
        {
          print_help (stdout);
          return GBT_EXIT_OK;
        }
      else if (g_str_equal (a, "--version"))
        {
          printf ("gbt %s\n", gbt_get_version_string ());
          return GBT_EXIT_OK;
        }
      else if (g_str_equal (a, "-v") || g_str_equal (a, "--verbose"))
        globals.verbose = TRUE;
      else if (g_str_has_prefix (a, "--plugins=") || g_str_equal (a, "--plugins"))
        {
          const char *v = strchr (a, '=') ? strchr (a, '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
          g_auto(GStrv) names = NULL;
          if (v == NULL)
            {
              gbt_cli_error ("--plugins needs a comma-separated list of names");
              return GBT_EXIT_USAGE;
            }
          names = g_strsplit (v, ",", -1);
          for (char **n = names; *n; n++)
            if (**n)
              g_ptr_array_add (plugins, g_strdup (g_strstrip (*n)));
        }
      else if (g_str_has_prefix (a, "--plugin-path=") || g_str_equal (a, "--plugin-path"))
        {
          const char *v = strchr (a, '=') ? strchr (a, '=') + 1 : (i + 1 < argc ? argv[++i] : NULL);
          if (v == NULL)
            {
              gbt_cli_error ("--plugin-path needs a directory");
              return GBT_EXIT_USAGE;
            }
          g_ptr_array_add (plugin_dirs, g_strdup (v));
        }
      else
        {
          gbt_cli_error ("unknown option '%s' (try --help)", a);
          return GBT_EXIT_USAGE;
        }
    }
  if (i >= argc)
    {
      print_help (stderr);
      return GBT_EXIT_USAGE;
    }

  g_ptr_array_add (plugins, NULL);
  g_ptr_array_add (plugin_dirs, NULL);
  globals.plugins = (char **) plugins->pdata;
  globals.plugin_dirs = (char **) plugin_dirs->pdata;
  if (globals.verbose && g_getenv ("G_MESSAGES_DEBUG") == NULL)
    g_setenv ("G_MESSAGES_DEBUG", "gbt gbt-cli", TRUE);

  for (gsize c = 0; c < G_N_ELEMENTS (commands); c++)
    if (g_str_equal (argv[i], commands[c].name))
      {
        /* "Usage: gbt seed [OPTION…]": GOption names the program after argv[0] */
        g_autofree char *name = g_strdup_printf ("gbt %s", commands[c].name);
        argv[i] = name;
        ret = commands[c].func (argc - i, argv + i, &globals);
        return ret;
      }

  gbt_cli_error ("unknown command '%s' (try 'gbt --help')", argv[i]);
  return GBT_EXIT_USAGE;
}
