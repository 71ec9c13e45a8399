/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt daemon: every torrent in one process, driven over Transmission's RPC
 * (daemon/), in the foreground until SIGTERM or SIGINT.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "gbt-cli.h"
#include "../daemon/gbt-daemon.h"

static gboolean
signal_cb (gpointer user_data)
{
  GbtDaemon *d = user_data;

  g_message ("stopping: saving the state, telling the trackers");
  g_main_loop_quit (d->loop);
  return G_SOURCE_CONTINUE;
}

static char **
split_list (const char *text)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (char **p = parts; *p; p++)
    {
      char *s = g_strstrip (*p);
      if (*s)
        g_strv_builder_add (b, s);
    }
  return g_strv_builder_end (b);
}

#define DAEMON_SUMMARY                                                                         \
  "Runs every torrent in one process, driven over Transmission's RPC protocol\n"             \
  "(transmission-remote, Fragments, Transmission Remote GUI and web front ends\n"            \
  "work unchanged).  The torrents, their progress and the settings are kept in\n"            \
  "the state directory and come back after a restart.\n"                                       \
  "\n"                                                                                         \
  "Example:\n"                                                                                 \
  "  gbt daemon --download-dir ~/Downloads &\n"                                                \
  "  transmission-remote -a file.torrent     # add\n"                                          \
  "  transmission-remote -l                  # list\n"                                         \
  "  transmission-remote -t 1 -S             # stop torrent 1"

int
gbt_cmd_daemon (int argc, char **argv, GbtCliGlobals *globals)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- run torrents in the background");
  g_autoptr(GError) error = NULL;
  g_autofree char *state_dir = NULL, *download_dir = NULL, *rpc_bind = NULL, *rpc_auth = NULL;
  g_autofree char *rpc_whitelist = NULL, *host_whitelist = NULL, *bind = NULL, *listen = NULL;
  g_autofree char *transports = NULL, *encryption = NULL;
  g_auto(GStrv) whitelist = NULL, hosts = NULL, transport_list = NULL;
  int port = -1;
  gboolean no_port_mapping = FALSE, json = FALSE, verbose = FALSE;
  GOptionEntry entries[] = {
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Where the torrents and settings are kept (default: $XDG_STATE_HOME/gbt)", "DIR" },
    { "download-dir", 0, 0, G_OPTION_ARG_FILENAME, &download_dir, "Default directory for new torrents (default: the saved one, else the XDG download directory)", "DIR" },
    { "rpc-bind", 0, 0, G_OPTION_ARG_STRING, &rpc_bind, "Address and port of the RPC server (default 127.0.0.1:9091; port 0: any free)", "ADDR:PORT" },
    { "rpc-auth", 0, 0, G_OPTION_ARG_STRING, &rpc_auth, "Require HTTP basic auth with this user and password", "USER:PASS" },
    { "rpc-whitelist", 0, 0, G_OPTION_ARG_STRING, &rpc_whitelist, "Client addresses allowed, with * and ? (default 127.0.0.1,::1)", "LIST" },
    { "rpc-host-whitelist", 0, 0, G_OPTION_ARG_STRING, &host_whitelist, "Host names the RPC answers to besides IP addresses and localhost", "LIST" },
    { "port", 'p', 0, G_OPTION_ARG_INT, &port, "Peer port (default: the saved one, 51413; 0: any free)", "N" },
    { "bind", 0, 0, G_OPTION_ARG_STRING, &bind, "Local address for peer connections and listening", "ADDR" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Address to accept peers on (default: the --bind address, else all)", "ADDR" },
    { "transports", 0, 0, G_OPTION_ARG_STRING, &transports, "Peer transports (default tcp,utp; the utp-enabled setting)", "LIST" },
    { "encryption", 0, 0, G_OPTION_ARG_STRING, &encryption, "prefer, require or off (default: the encryption setting)", "MODE" },
    { "no-port-mapping", 0, 0, G_OPTION_ARG_NONE, &no_port_mapping, "Do not ask the router to forward the peer port", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print a JSON line on stdout once the RPC answers", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages too (every domain)", NULL },
    { NULL }
  };
  GbtDaemonOptions o = { 0 };
  GbtDaemon *d;
  g_autoptr(GMainLoop) loop = NULL;
  guint sigint_id, sigterm_id;
  g_autofree char *url = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_summary (ctx, DAEMON_SUMMARY);
  if (!gbt_cli_parse (ctx, &argc, &argv))
    return GBT_EXIT_USAGE;
  if (argc != 1)
    {
      gbt_cli_error ("daemon takes no arguments (try 'gbt daemon --help')");
      return GBT_EXIT_USAGE;
    }
  if (port > 65535)
    {
      gbt_cli_error ("--port takes 0 to 65535");
      return GBT_EXIT_USAGE;
    }
  o.encryption = -1;
  if (encryption)
    {
      if (g_str_equal (encryption, "prefer"))
        o.encryption = GBT_ENCRYPTION_PREFER;
      else if (g_str_equal (encryption, "require"))
        o.encryption = GBT_ENCRYPTION_REQUIRE;
      else if (g_str_equal (encryption, "off"))
        o.encryption = GBT_ENCRYPTION_OFF;
      else
        {
          gbt_cli_error ("--encryption: '%s' is not prefer, require or off", encryption);
          return GBT_EXIT_USAGE;
        }
    }
  if (transports)
    {
      transport_list = split_list (transports);
      for (char **t = transport_list; *t; t++)
        if (!g_str_equal (*t, "tcp") && !g_str_equal (*t, "utp"))
          {
            gbt_cli_error ("--transports: '%s' is not a transport (tcp, utp)", *t);
            return GBT_EXIT_USAGE;
          }
      if (transport_list[0] == NULL)
        {
          gbt_cli_error ("--transports needs at least one of tcp, utp");
          return GBT_EXIT_USAGE;
        }
    }
  if (rpc_bind)
    {
      g_autofree char *host = NULL;
      guint16 p;
      if (!gbt_rpc_parse_bind (rpc_bind, &host, &p, &error))
        {
          gbt_cli_error ("%s", error->message);
          return GBT_EXIT_USAGE;
        }
    }
  if (rpc_auth && strchr (rpc_auth, ':') == NULL)
    {
      gbt_cli_error ("--rpc-auth takes USER:PASSWORD");
      return GBT_EXIT_USAGE;
    }
  if (state_dir == NULL)
    state_dir = g_build_filename (g_get_user_state_dir (), "gbt", NULL);
  if (download_dir && !g_path_is_absolute (download_dir))
    {
      g_autofree char *cwd = g_get_current_dir ();
      char *abs = g_build_filename (cwd, download_dir, NULL);
      g_free (download_dir);
      download_dir = abs;
    }
  if (!g_path_is_absolute (state_dir))
    {
      g_autofree char *cwd = g_get_current_dir ();
      char *abs = g_build_filename (cwd, state_dir, NULL);
      g_free (state_dir);
      state_dir = abs;
    }
  if (rpc_whitelist)
    whitelist = split_list (rpc_whitelist);
  if (host_whitelist)
    hosts = split_list (host_whitelist);

  o.state_dir = state_dir;
  o.download_dir = download_dir;
  o.rpc_bind = rpc_bind ? rpc_bind : (char *) "127.0.0.1:9091";
  o.rpc_auth = rpc_auth;
  o.rpc_whitelist = whitelist;
  o.host_whitelist = hosts;
  o.bind = bind;
  o.listen = listen;
  o.port = port;
  o.transports = transport_list;
  o.no_port_mapping = no_port_mapping;
  o.plugins = globals->plugins;
  o.plugin_dirs = globals->plugin_dirs;
  if (verbose || globals->verbose)
    g_log_set_debug_enabled (TRUE);

  loop = g_main_loop_new (NULL, FALSE);
  d = gbt_daemon_new (&o, &error);
  if (d == NULL)
    {
      gbt_cli_error ("%s", error->message);
      return GBT_EXIT_FAILURE;
    }
  d->loop = loop;
  d->http = gbt_rpc_http_new (d, &error);
  if (d->http == NULL)
    {
      gbt_cli_error ("%s", error->message);
      gbt_daemon_shutdown (d, loop);
      gbt_daemon_free (d);
      return GBT_EXIT_FAILURE;
    }
  url = gbt_rpc_http_dup_url (d->http);
  if (json)
    {
      g_autoptr(GString) s = g_string_new ("{\"event\":\"listening\",\"rpc_url\":");
      gbt_cli_json_string (s, url);
      g_string_append_printf (s, ",\"rpc_port\":%u,\"peer_port\":%u,\"torrents\":%u,\"state_dir\":",
                              gbt_rpc_http_get_port (d->http),
                              gbt_session_get_listen_port (d->session), d->torrents->len);
      gbt_cli_json_string (s, state_dir);
      g_string_append (s, "}\n");
      fputs (s->str, stdout);
      fflush (stdout);
    }
  g_message ("RPC on %s, peers on port %u, %u torrents, state in %s", url,
             gbt_session_get_listen_port (d->session), d->torrents->len, state_dir);

  sigint_id = g_unix_signal_add (SIGINT, signal_cb, d);
  sigterm_id = g_unix_signal_add (SIGTERM, signal_cb, d);
  g_main_loop_run (loop);
  gbt_daemon_shutdown (d, loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  gbt_cli_wait_for_holds (d->session);
  gbt_daemon_free (d);
  if (json)
    {
      fputs ("{\"event\":\"stopped\"}\n", stdout);
      fflush (stdout);
    }
  return GBT_EXIT_OK;
}
