/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gbt plugins: every plugin module found, whether it loaded, what it
 * provides, and why each broken one did not load; as a table or JSON. */
#include <stdio.h>
#include <string.h>

#include "gbt-cli.h"

/* Stable names for scripts (the JSON "code"); the messages may change. */
static const char *
error_code_name (const GError *error)
{
  static const char *const names[] = {
    [GBT_PLUGIN_ERROR_FAILED] = "failed",
    [GBT_PLUGIN_ERROR_MODULE] = "module",
    [GBT_PLUGIN_ERROR_NOT_A_PLUGIN] = "not-a-plugin",
    [GBT_PLUGIN_ERROR_ABI_MISMATCH] = "abi-mismatch",
    [GBT_PLUGIN_ERROR_NAME_MISMATCH] = "name-mismatch",
    [GBT_PLUGIN_ERROR_INVALID] = "invalid",
    [GBT_PLUGIN_ERROR_DUPLICATE] = "duplicate",
    [GBT_PLUGIN_ERROR_REGISTER_FAILED] = "register-failed",
    [GBT_PLUGIN_ERROR_WRONG_INTERFACE] = "wrong-interface",
    [GBT_PLUGIN_ERROR_UNKNOWN] = "unknown",
    [GBT_PLUGIN_ERROR_MISSING] = "missing",
  };

  if (error->domain == GBT_PLUGIN_ERROR && error->code >= 0 &&
      (gsize) error->code < G_N_ELEMENTS (names) && names[error->code] != NULL)
    return names[error->code];
  return "failed";
}

static const char *
status_name (const GbtPluginInfo *info)
{
  if (info->loaded)
    return "loaded";
  if (info->error != NULL)
    return "failed";
  return "off"; /* a good optional plugin nobody asked for */
}

static void
json_member (GString *out, const char *indent, const char *key, const char *value,
             gboolean last)
{
  g_string_append_printf (out, "%s\"%s\": ", indent, key);
  if (value != NULL)
    gbt_cli_json_string (out, value);
  else
    g_string_append (out, "null");
  g_string_append (out, last ? "\n" : ",\n");
}

static void
print_json (GPtrArray *list)
{
  g_autoptr(GString) out = g_string_new ("{\n  \"plugins\": [");

  for (guint i = 0; i < list->len; i++)
    {
      const GbtPluginInfo *info = g_ptr_array_index (list, i);
      const char *in = "      ";

      g_string_append (out, i == 0 ? "\n    {\n" : ",\n    {\n");
      json_member (out, in, "name", info->name, FALSE);
      json_member (out, in, "status", status_name (info), FALSE);
      json_member (out, in, "version", info->version, FALSE);
      json_member (out, in, "license", info->license, FALSE);
      json_member (out, in, "description", info->description, FALSE);
      json_member (out, in, "path", info->path, FALSE);
      g_string_append_printf (out, "%s\"default\": %s,\n", in,
                              info->version != NULL && (info->flags & GBT_PLUGIN_FLAG_DEFAULT)
                                ? "true"
                                : "false");
      g_string_append_printf (out, "%s\"loaded\": %s,\n", in, info->loaded ? "true" : "false");
      g_string_append_printf (out, "%s\"interfaces\": [", in);
      for (guint j = 0; info->interfaces != NULL && info->interfaces[j] != NULL; j++)
        {
          if (j > 0)
            g_string_append (out, ", ");
          gbt_cli_json_string (out, info->interfaces[j]);
        }
      g_string_append (out, "],\n");
      if (info->error != NULL)
        {
          g_string_append_printf (out, "%s\"error\": {\n", in);
          json_member (out, "        ", "code", error_code_name (info->error), FALSE);
          json_member (out, "        ", "message", info->error->message, TRUE);
          g_string_append_printf (out, "%s}\n", in);
        }
      else
        g_string_append_printf (out, "%s\"error\": null\n", in);
      g_string_append (out, "    }");
    }
  g_string_append (out, list->len > 0 ? "\n  ]\n}\n" : "]\n}\n");
  fputs (out->str, stdout);
}

static char *
interfaces_text (const GbtPluginInfo *info)
{
  if (info->interfaces == NULL || info->interfaces[0] == NULL)
    return g_strdup ("-");
  return g_strjoinv (",", info->interfaces);
}

/* One row per module; a failed one gets its reason on the next line, so
 * `grep failed` or `awk '$3 == "loaded"'` work on the table as well. */
static void
print_table (GPtrArray *list)
{
  const char *headers[] = { "NAME", "VERSION", "STATUS", "KIND", "INTERFACES" };
  g_autoptr(GPtrArray) ifaces = g_ptr_array_new_with_free_func (g_free);
  int w[G_N_ELEMENTS (headers)];
  guint n_off = 0;

  for (gsize c = 0; c < G_N_ELEMENTS (headers); c++)
    w[c] = (int) strlen (headers[c]);
  w[2] = MAX (w[2], (int) strlen ("loaded"));
  w[3] = MAX (w[3], (int) strlen ("optional"));
  for (guint i = 0; i < list->len; i++)
    {
      const GbtPluginInfo *info = g_ptr_array_index (list, i);
      char *ifs = interfaces_text (info);

      w[0] = MAX (w[0], (int) g_utf8_strlen (info->name, -1));
      w[1] = MAX (w[1], info->version != NULL ? (int) g_utf8_strlen (info->version, -1) : 1);
      w[4] = MAX (w[4], (int) strlen (ifs));
      g_ptr_array_add (ifaces, ifs);
    }

  printf ("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], headers[0], w[1], headers[1], w[2],
          headers[2], w[3], headers[3], w[4], headers[4], "DESCRIPTION");
  for (guint i = 0; i < list->len; i++)
    {
      const GbtPluginInfo *info = g_ptr_array_index (list, i);
      const char *kind = info->version == NULL                     ? "-"
                         : (info->flags & GBT_PLUGIN_FLAG_DEFAULT) ? "default"
                                                                   : "optional";

      printf ("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], info->name, w[1],
              info->version != NULL ? info->version : "-", w[2], status_name (info), w[3], kind,
              w[4], (const char *) g_ptr_array_index (ifaces, i),
              info->description != NULL ? info->description : "-");
      if (info->error != NULL)
        printf ("  ! %s: %s\n", info->path, info->error->message);
      if (!info->loaded && info->error == NULL)
        n_off++;
    }

  if (list->len == 0)
    fprintf (stderr, "gbt: no plugins found (see --plugin-path and GBT_PLUGIN_PATH)\n");
  else if (n_off > 0)
    printf ("\nTurn optional plugins on with: gbt --plugins=NAME,... COMMAND\n");
}

int
gbt_cmd_plugins (int argc, char **argv, GbtCliGlobals *globals)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "print JSON for scripts", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- list plugins");
  g_autoptr(GPtrArray) list = NULL;
  int ret;

  g_option_context_set_summary (context,
                                "Lists every plugin module found, whether it loaded, what it\n"
                                "provides (tracker:SCHEME, transport:NAME, peer-source:NAME,\n"
                                "wire:EXTENSION) and why each broken one did not load.\n"
                                "Exit status: 0 (even if some plugins are broken), 1 if plugins\n"
                                "could not be loaded at all, 2 for a usage error.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!gbt_cli_parse (context, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc > 1)
    {
      gbt_cli_error ("'plugins' takes no arguments (try 'gbt plugins --help')");
      return GBT_EXIT_USAGE;
    }

  ret = gbt_cli_load_plugins (globals);
  if (ret != GBT_EXIT_OK)
    return ret;

  list = gbt_plugin_registry_list (gbt_plugin_registry_get_default ());
  if (json)
    print_json (list);
  else
    print_table (list);
  return GBT_EXIT_OK;
}
