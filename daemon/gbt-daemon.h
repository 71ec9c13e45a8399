/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gbt daemon: one GbtSession with every torrent it was given, driven over
 * Transmission's RPC protocol.  A client of libgbt's public API only.
 *
 *   gbt-daemon.c         the daemon: session, ids, queue, settings, stats,
 *                        its own state file (daemon.ini)
 *   gbt-rpc.c            the RPC methods' dispatch and the session methods
 *   gbt-rpc-torrent.c    the torrent methods
 *   gbt-rpc-http.c       the HTTP side: libsoup's server, CSRF id, auth,
 *                        address and Host checks, body limit
 */
#pragma once

#include <gbt/gbt.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Transmission's torrent status numbers (tr_torrent_activity) */
typedef enum {
  GBT_RPC_STATUS_STOPPED = 0,
  GBT_RPC_STATUS_CHECK_WAIT = 1,
  GBT_RPC_STATUS_CHECK = 2,
  GBT_RPC_STATUS_DOWNLOAD_WAIT = 3,
  GBT_RPC_STATUS_DOWNLOAD = 4,
  GBT_RPC_STATUS_SEED_WAIT = 5,
  GBT_RPC_STATUS_SEED = 6,
} GbtRpcStatus;

/* what a torrent has beside the core's own state: kept in daemon.ini */
typedef struct {
  guint id;                 /* Transmission's id: 1, 2, ... in order of adding */
  GbtTorrent *torrent;      /* owned */
  char hash[41];
  gboolean wanted;          /* the user wants it running (it may be queued) */
  gboolean queued;          /* wanted, waiting for a queue slot */
  guint queue_position;     /* 0..n-1 across all torrents */
  int bandwidth_priority;   /* -1, 0, 1 (kept and reported) */
  gboolean honors_session_limits;
  gboolean down_limited, up_limited;
  guint64 down_limit_kbps, up_limit_kbps;
  int seed_ratio_mode;      /* 0 global, 1 this torrent's, 2 unlimited */
  double seed_ratio_limit;
  int seed_idle_mode;       /* 0 global, 1 this torrent's, 2 unlimited */
  guint seed_idle_limit;    /* minutes */
  gint64 done_date, start_date, activity_date;
  gint64 idle_since;        /* monotonic s: seeding with nobody downloading */
  gint64 seconds_downloading, seconds_seeding;
  guint64 corrupt_ever;
  char **labels;
  gint64 changed;           /* monotonic s of the last activity (recently-active) */
  gulong state_handler;
  gulong hash_failed_handler;
  gulong finished_handler;
} GbtDaemonTorrent;

typedef struct {
  char *download_dir;
  gboolean speed_limit_down_enabled, speed_limit_up_enabled;
  guint64 speed_limit_down, speed_limit_up;  /* KB/s (1000 bytes) */
  gboolean alt_speed_enabled;
  guint64 alt_speed_down, alt_speed_up;      /* KB/s */
  gboolean alt_speed_time_enabled;
  int alt_speed_time_begin, alt_speed_time_end; /* minutes after midnight */
  int alt_speed_time_day;                    /* tr_sched_day bits: Sun=1 .. Sat=64 */
  guint peer_limit_global, peer_limit_per_torrent;
  guint peer_port;
  char *encryption;                          /* required, preferred, tolerated */
  gboolean seed_ratio_limited;
  double seed_ratio_limit;
  gboolean idle_seeding_limit_enabled;
  guint idle_seeding_limit;                  /* minutes */
  gboolean download_queue_enabled, seed_queue_enabled;
  guint download_queue_size, seed_queue_size;
  gboolean start_added_torrents;
  gboolean utp_enabled, dht_enabled, pex_enabled, lpd_enabled;
  gboolean port_forwarding_enabled;
  gboolean rename_partial_files;
  gboolean trash_original_torrent_files;
  gboolean queue_stalled_enabled;
  guint queue_stalled_minutes;
} GbtDaemonSettings;

typedef struct {
  guint64 uploaded, downloaded, files_added, session_count, seconds_active;
} GbtDaemonStats;

typedef struct _GbtDaemon GbtDaemon;

typedef struct {
  char *state_dir;
  char *download_dir;
  char *rpc_bind;          /* ADDR:PORT */
  char *rpc_auth;          /* USER:PASS or NULL */
  char **rpc_whitelist;    /* patterns; NULL: 127.0.0.1, ::1 */
  char **host_whitelist;   /* extra Host: names allowed (IPs and localhost always are) */
  char *bind, *listen;
  int port;                /* -1: from the settings */
  char **transports;
  int encryption;          /* -1: from the settings, else GbtEncryption */
  gboolean no_port_mapping;
  char **plugins, **plugin_dirs;
} GbtDaemonOptions;

struct _GbtDaemon {
  GbtSession *session;
  GbtDaemonOptions *options; /* not owned */
  GbtDaemonSettings settings;
  GbtDaemonStats cumulative; /* earlier runs' totals */
  GbtDaemonStats current;    /* this run's */
  GPtrArray *torrents;       /* of GbtDaemonTorrent*, in id order */
  GHashTable *by_id;         /* guint -> GbtDaemonTorrent* */
  GHashTable *by_hash;       /* hex -> GbtDaemonTorrent* */
  GHashTable *by_torrent;    /* GbtTorrent* -> GbtDaemonTorrent* */
  GArray *removed;           /* of {guint id; gint64 when} */
  guint next_id;
  gint64 started;            /* monotonic s */
  guint tick_id;
  guint save_id;
  gboolean alt_by_schedule;  /* alt speeds on because the schedule said so */
  gboolean closing;
  GMainLoop *loop;
  gpointer http;             /* GbtRpcHttp */
  char *session_id;          /* X-Transmission-Session-Id */
};

/* gbt-daemon-file.c */
#define GBT_DAEMON_FILE "daemon.ini"
char *gbt_daemon_file_path (GbtDaemon *self);
void gbt_daemon_settings_load (GbtDaemonSettings *s, GKeyFile *kf);
void gbt_daemon_stats_load (GbtDaemonStats *st, GKeyFile *kf);
void gbt_daemon_torrent_extras_load (GbtDaemonTorrent *dt, GKeyFile *kf);

/* gbt-daemon.c */
GbtDaemon *gbt_daemon_new (GbtDaemonOptions *options, GError **error);
void gbt_daemon_free (GbtDaemon *self);
void gbt_daemon_shutdown (GbtDaemon *self, GMainLoop *loop);
GbtDaemonTorrent *gbt_daemon_adopt (GbtDaemon *self, GbtTorrent *torrent);
void gbt_daemon_forget (GbtDaemon *self, GbtDaemonTorrent *dt);
void gbt_daemon_start_torrent (GbtDaemon *self, GbtDaemonTorrent *dt, gboolean now);
void gbt_daemon_stop_torrent (GbtDaemon *self, GbtDaemonTorrent *dt);
void gbt_daemon_queue_move (GbtDaemon *self, GbtDaemonTorrent *dt, int to);
void gbt_daemon_apply_limits (GbtDaemon *self);
void gbt_daemon_apply_torrent_limits (GbtDaemon *self, GbtDaemonTorrent *dt);
void gbt_daemon_apply_settings (GbtDaemon *self);
void gbt_daemon_changed (GbtDaemon *self);
void gbt_daemon_run_queue (GbtDaemon *self);
GbtRpcStatus gbt_daemon_torrent_status (GbtDaemonTorrent *dt);
gboolean gbt_daemon_save (GbtDaemon *self, GError **error);
/* the daemon's file and the session state, now, on workers; @callback
 * once both are on disk (errors are logged) */
void gbt_daemon_persist_async (GbtDaemon *self, GAsyncReadyCallback callback, gpointer user_data);

/* gbt-rpc.c: one request object in, one response object out (async: some
 * methods wait for the disk or the network) */
typedef void (*GbtRpcReply) (JsonNode *response, gpointer user_data);
void gbt_rpc_handle (GbtDaemon *self, JsonNode *request, GbtRpcReply reply, gpointer user_data);
/* parses a request body and answers it; parse errors answer too */
void gbt_rpc_handle_body (GbtDaemon *self, const char *body, gsize length, GbtRpcReply reply,
                          gpointer user_data);
char *gbt_rpc_version_string (void);

/* what each method gets; gbt-rpc-torrent.c and gbt-rpc.c fill them */
typedef struct {
  GbtDaemon *daemon;
  JsonObject *args;        /* never NULL */
  JsonNode *tag;           /* nullable */
  GbtRpcReply reply;
  gpointer user_data;
  gboolean persist;        /* a change: on disk before the reply (a kill right after loses nothing) */
} GbtRpcCall;

/* answers and frees @call: @result NULL for "success", @args nullable (taken) */
void gbt_rpc_call_return (GbtRpcCall *call, const char *result, JsonObject *args);
void gbt_rpc_call_free (GbtRpcCall *call);
/* typed arguments: FALSE when absent, or with *error set (the first error
 * kept) when of the wrong type or out of range */
gboolean gbt_rpc_get_bool (JsonObject *args, const char *key, gboolean *value, char **error);
gboolean gbt_rpc_get_number (JsonObject *args, const char *key, double min, double max,
                             double *value, char **error);
/* the "ids" argument: a GPtrArray of GbtDaemonTorrent* (none owned); NULL
 * with *error set when malformed */
GPtrArray *gbt_rpc_select (GbtDaemon *self, JsonObject *args, gboolean *recently, char **error);
/* the same, answering @call with the error (and freeing it) when malformed */
GPtrArray *gbt_rpc_select_or_reply (GbtRpcCall *call, gboolean *recently);

void gbt_rpc_torrent_get (GbtRpcCall *call);
void gbt_rpc_torrent_set (GbtRpcCall *call);
void gbt_rpc_torrent_add (GbtRpcCall *call);
void gbt_rpc_torrent_remove (GbtRpcCall *call);
void gbt_rpc_torrent_action (GbtRpcCall *call, const char *method);
void gbt_rpc_torrent_set_location (GbtRpcCall *call);
void gbt_rpc_torrent_rename_path (GbtRpcCall *call);
void gbt_rpc_queue_move (GbtRpcCall *call, const char *method);

/* gbt-rpc-http.c */
gboolean gbt_rpc_parse_bind (const char *bind, char **host, guint16 *port, GError **error);
gpointer gbt_rpc_http_new (GbtDaemon *daemon, GError **error);
guint16 gbt_rpc_http_get_port (gpointer http);
char *gbt_rpc_http_dup_url (gpointer http);
void gbt_rpc_http_free (gpointer http);

G_END_DECLS
