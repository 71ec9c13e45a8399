/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt.h>

G_BEGIN_DECLS

enum {
  GBT_EXIT_OK = 0,
  GBT_EXIT_FAILURE = 1,
  GBT_EXIT_USAGE = 2,
};

/* Options given before the subcommand. */
typedef struct {
  char **plugins;     /* --plugins=a,b (split) */
  char **plugin_dirs; /* --plugin-path=DIR (repeatable) */
  gboolean verbose;
} GbtCliGlobals;

typedef int (*GbtCliCommandFunc) (int argc, char **argv, GbtCliGlobals *globals);

/* Prints "gbt: <message>" on stderr. */
void gbt_cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Prints what gbt_metainfo_get_warnings() lists, "gbt: warning: <sentence>"
 * a line on stderr (commands with --json put them in their output instead). */
void gbt_cli_print_warnings (GbtMetainfo *mi);
/* Parses @context over argc/argv; on a usage error prints it and returns FALSE. */
gboolean gbt_cli_parse (GOptionContext *context, int *argc, char ***argv);
/* Loads plugins as asked by the global options; a usage error returns 2, a
 * failure 1, success 0. */
int gbt_cli_load_plugins (GbtCliGlobals *globals);
/* JSON helpers: a string escaped and quoted */
void gbt_cli_json_string (GString *out, const char *str);
char *gbt_cli_format_size (guint64 bytes);

int gbt_cmd_info (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_plugins (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_download (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_create (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_verify (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_seed (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_scrape (int argc, char **argv, GbtCliGlobals *globals);
int gbt_cmd_daemon (int argc, char **argv, GbtCliGlobals *globals);

G_END_DECLS
