/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon: one GbtSession holding every torrent, the Transmission ids
 * and queue around it, the settings Transmission's session-get/-set speak
 * of, the statistics, and the daemon's own state file.
 *
 * What is kept where, under the state directory:
 *
 *   session.ini, torrents/, resume/   the core's session state (the list of
 *                                     torrents, their directories, limits,
 *                                     file priorities, metadata and resume
 *                                     data): gbt_session_set_state_directory
 *   daemon.ini                        the settings, the statistics, and per
 *                                     torrent what only the daemon knows
 *                                     (queue position, whether a stopped one
 *                                     is queued, Transmission's modes)
 *
 * Both are written atomically (a temporary file renamed over the old one),
 * daemon.ini on a worker a second after a change; a SIGKILL at any moment
 * leaves one consistent version of each.  Ids are not stored: they follow
 * the order of session.ini, which is the order torrents were added in.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "gbt-daemon.h"

#define COUNTER_SAVE_SECONDS 60
#define RECENT_SECONDS 60


static gint64
now_s (void)
{
  return g_get_monotonic_time () / G_USEC_PER_SEC;
}

static gint64
wall_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static void
settings_defaults (GbtDaemonSettings *s, const char *download_dir)
{
  memset (s, 0, sizeof *s);
  s->download_dir = g_strdup (download_dir);
  s->speed_limit_down = 100;
  s->speed_limit_up = 100;
  s->alt_speed_down = 50;
  s->alt_speed_up = 50;
  s->alt_speed_time_begin = 540;
  s->alt_speed_time_end = 1020;
  s->alt_speed_time_day = 127;
  s->peer_limit_global = 200;
  s->peer_limit_per_torrent = 50;
  s->peer_port = 51413;
  s->encryption = g_strdup ("preferred");
  s->seed_ratio_limit = 2.0;
  s->idle_seeding_limit = 30;
  s->download_queue_enabled = TRUE;
  s->download_queue_size = 5;
  s->seed_queue_size = 10;
  s->start_added_torrents = TRUE;
  s->utp_enabled = TRUE;
  s->dht_enabled = TRUE;
  s->pex_enabled = TRUE;
  s->lpd_enabled = TRUE;
  s->port_forwarding_enabled = TRUE;
  s->queue_stalled_enabled = TRUE;
  s->queue_stalled_minutes = 30;
}

static void
settings_clear (GbtDaemonSettings *s)
{
  g_free (s->download_dir);
  g_free (s->encryption);
}

/* ---- torrents ---- */

static gboolean
torrent_complete (GbtTorrent *t)
{
  return gbt_torrent_has_metadata (t) && gbt_torrent_get_progress (t) >= 1.0;
}

static gboolean
state_running (GbtTorrentState s)
{
  return s != GBT_TORRENT_STATE_STOPPED && s != GBT_TORRENT_STATE_ERROR;
}

GbtRpcStatus
gbt_daemon_torrent_status (GbtDaemonTorrent *dt)
{
  switch (gbt_torrent_get_state (dt->torrent))
    {
    case GBT_TORRENT_STATE_CHECKING:
      return GBT_RPC_STATUS_CHECK;
    case GBT_TORRENT_STATE_DOWNLOADING:
    case GBT_TORRENT_STATE_FETCHING_METADATA:
      return GBT_RPC_STATUS_DOWNLOAD;
    case GBT_TORRENT_STATE_SEEDING:
      return GBT_RPC_STATUS_SEED;
    case GBT_TORRENT_STATE_STOPPED:
    case GBT_TORRENT_STATE_ERROR:
    default:
      if (dt->queued)
        return torrent_complete (dt->torrent) ? GBT_RPC_STATUS_SEED_WAIT
                                              : GBT_RPC_STATUS_DOWNLOAD_WAIT;
      return GBT_RPC_STATUS_STOPPED;
    }
}

static gboolean run_queue_idle (gpointer user_data);
static guint queue_idle_id;

static void
schedule_queue (GbtDaemon *self)
{
  if (queue_idle_id == 0 && !self->closing)
    queue_idle_id = g_idle_add (run_queue_idle, self);
}

static void
state_cb (GbtTorrent *t, GParamSpec *pspec, gpointer user_data)
{
  GbtDaemon *self = user_data;
  GbtDaemonTorrent *dt = g_hash_table_lookup (self->by_torrent, t);
  GbtTorrentState s = gbt_torrent_get_state (t);

  if (dt == NULL || self->closing)
    return;
  dt->changed = now_s ();
  dt->activity_date = wall_s ();
  /* the core stops a torrent on its own (a seed limit, an error) and starts
   * one again after a move: what the user wants follows it */
  if (state_running (s))
    {
      dt->wanted = TRUE;
      dt->queued = FALSE;
    }
  else if (!dt->queued)
    dt->wanted = FALSE;
  if (s == GBT_TORRENT_STATE_SEEDING && dt->done_date == 0)
    dt->done_date = wall_s ();
  gbt_daemon_changed (self);
  schedule_queue (self);
}

static void
hash_failed_cb (GbtTorrent *t, guint piece, gpointer user_data)
{
  GbtDaemon *self = user_data;
  GbtDaemonTorrent *dt = g_hash_table_lookup (self->by_torrent, t);

  if (dt && gbt_torrent_get_metainfo (t))
    dt->corrupt_ever += gbt_metainfo_get_piece_size (gbt_torrent_get_metainfo (t), piece);
}

static void
finished_cb (GbtTorrent *t, gpointer user_data)
{
  GbtDaemon *self = user_data;
  GbtDaemonTorrent *dt = g_hash_table_lookup (self->by_torrent, t);

  /* also emitted when a complete torrent is checked at start */
  if (dt && dt->done_date == 0)
    {
      dt->done_date = wall_s ();
      g_message ("%s: download complete", gbt_torrent_get_name (t));
      gbt_daemon_changed (self);
      schedule_queue (self);
    }
}

static void
daemon_torrent_free (GbtDaemonTorrent *dt)
{
  g_clear_signal_handler (&dt->state_handler, dt->torrent);
  g_clear_signal_handler (&dt->hash_failed_handler, dt->torrent);
  g_clear_signal_handler (&dt->finished_handler, dt->torrent);
  g_object_unref (dt->torrent);
  g_strfreev (dt->labels);
  g_free (dt);
}

GbtDaemonTorrent *
gbt_daemon_adopt (GbtDaemon *self, GbtTorrent *torrent)
{
  GbtDaemonTorrent *dt = g_new0 (GbtDaemonTorrent, 1);
  g_autofree char *hex = gbt_torrent_dup_info_hash_hex (torrent);

  dt->id = self->next_id++;
  dt->torrent = g_object_ref (torrent);
  g_strlcpy (dt->hash, hex, sizeof dt->hash);
  dt->wanted = state_running (gbt_torrent_get_state (torrent));
  dt->queue_position = self->torrents->len;
  dt->honors_session_limits = TRUE;
  dt->seed_idle_limit = 30;
  dt->seed_ratio_limit = 2.0;
  dt->activity_date = 0;
  dt->changed = now_s ();
  dt->state_handler = g_signal_connect (torrent, "notify::state", G_CALLBACK (state_cb), self);
  dt->hash_failed_handler = g_signal_connect (torrent, "hash-failed",
                                              G_CALLBACK (hash_failed_cb), self);
  dt->finished_handler = g_signal_connect (torrent, "finished", G_CALLBACK (finished_cb), self);
  g_ptr_array_add (self->torrents, dt);
  g_hash_table_insert (self->by_id, GUINT_TO_POINTER (dt->id), dt);
  g_hash_table_insert (self->by_hash, dt->hash, dt);
  g_hash_table_insert (self->by_torrent, torrent, dt);
  return dt;
}

void
gbt_daemon_forget (GbtDaemon *self, GbtDaemonTorrent *dt)
{
  struct {
    guint id;
    gint64 when;
  } gone = { dt->id, now_s () };
  guint pos = dt->queue_position;

  g_array_append_val (self->removed, gone);
  g_hash_table_remove (self->by_id, GUINT_TO_POINTER (dt->id));
  g_hash_table_remove (self->by_hash, dt->hash);
  g_hash_table_remove (self->by_torrent, dt->torrent);
  g_ptr_array_remove (self->torrents, dt); /* frees it */
  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *o = g_ptr_array_index (self->torrents, i);
      if (o->queue_position > pos)
        o->queue_position--;
    }
  gbt_daemon_changed (self);
  schedule_queue (self);
}

/* ---- limits ---- */

void
gbt_daemon_apply_limits (GbtDaemon *self)
{
  GbtDaemonSettings *s = &self->settings;
  guint64 up = 0, down = 0;

  if (s->alt_speed_enabled)
    {
      up = s->alt_speed_up * 1000;
      down = s->alt_speed_down * 1000;
    }
  else
    {
      if (s->speed_limit_up_enabled)
        up = s->speed_limit_up * 1000;
      if (s->speed_limit_down_enabled)
        down = s->speed_limit_down * 1000;
    }
  /* 0 is "no limit" to the core: a limit of 0 KB/s is the smallest rate */
  if ((s->alt_speed_enabled || s->speed_limit_up_enabled) && up == 0)
    up = 1;
  if ((s->alt_speed_enabled || s->speed_limit_down_enabled) && down == 0)
    down = 1;
  gbt_session_set_rate_limits (self->session, up, down);
  for (guint i = 0; i < self->torrents->len; i++)
    gbt_daemon_apply_torrent_limits (self, g_ptr_array_index (self->torrents, i));
}

void
gbt_daemon_apply_torrent_limits (GbtDaemon *self, GbtDaemonTorrent *dt)
{
  GbtDaemonSettings *s = &self->settings;
  guint64 up = dt->up_limited ? MAX (dt->up_limit_kbps * 1000, 1) : 0;
  guint64 down = dt->down_limited ? MAX (dt->down_limit_kbps * 1000, 1) : 0;
  double ratio = 0;

  gbt_torrent_set_rate_limits (dt->torrent, up, down);
  switch (dt->seed_ratio_mode)
    {
    case 0:
      ratio = s->seed_ratio_limited ? s->seed_ratio_limit : 0;
      break;
    case 1:
      ratio = dt->seed_ratio_limit;
      break;
    default:
      ratio = 0;
    }
  /* a ratio limit of 0 would be none to the core; Transmission stops at once */
  if ((dt->seed_ratio_mode == 1 || (dt->seed_ratio_mode == 0 && s->seed_ratio_limited))
      && ratio <= 0)
    ratio = 1e-9;
  if (gbt_torrent_get_seed_ratio_limit (dt->torrent) != ratio)
    gbt_torrent_set_seed_limits (dt->torrent, ratio, gbt_torrent_get_seed_time_limit (dt->torrent));
  if (s->peer_limit_per_torrent > 0 && gbt_torrent_get_max_peers (dt->torrent) == 0)
    gbt_torrent_set_max_peers (dt->torrent, s->peer_limit_per_torrent);
}

static GbtEncryption
encryption_mode (const char *name)
{
  if (g_strcmp0 (name, "required") == 0)
    return GBT_ENCRYPTION_REQUIRE;
  if (g_strcmp0 (name, "tolerated") == 0)
    return GBT_ENCRYPTION_OFF;
  return GBT_ENCRYPTION_PREFER;
}

void
gbt_daemon_apply_settings (GbtDaemon *self)
{
  gbt_daemon_apply_limits (self);
  if (self->options->encryption < 0)
    gbt_session_set_encryption (self->session, encryption_mode (self->settings.encryption));
  gbt_session_set_max_peers_per_torrent (self->session, self->settings.peer_limit_per_torrent);
  schedule_queue (self);
  gbt_daemon_changed (self);
}

/* ---- queue ---- */

static gint
by_queue_position (gconstpointer a, gconstpointer b)
{
  const GbtDaemonTorrent *x = *(GbtDaemonTorrent *const *) a;
  const GbtDaemonTorrent *y = *(GbtDaemonTorrent *const *) b;

  return x->queue_position < y->queue_position ? -1 : x->queue_position > y->queue_position;
}

static void
really_start (GbtDaemon *self, GbtDaemonTorrent *dt)
{
  dt->queued = FALSE;
  dt->wanted = TRUE;
  dt->start_date = wall_s ();
  dt->changed = now_s ();
  gbt_daemon_apply_torrent_limits (self, dt);
  gbt_torrent_start (dt->torrent);
}

/* a running torrent that counts against its queue: not stalled */
static gboolean
counts_in_queue (GbtDaemon *self, GbtDaemonTorrent *dt, gint64 now)
{
  if (!state_running (gbt_torrent_get_state (dt->torrent)))
    return FALSE;
  if (self->settings.queue_stalled_enabled
      && now - dt->changed > (gint64) self->settings.queue_stalled_minutes * 60)
    return FALSE;
  return TRUE;
}

void
gbt_daemon_run_queue (GbtDaemon *self)
{
  GbtDaemonSettings *s = &self->settings;
  guint downloading = 0, seeding = 0;
  gint64 now = now_s ();
  g_autoptr(GPtrArray) waiting = g_ptr_array_new ();

  if (self->closing)
    return;
  /* each second: nothing to count when nothing waits */
  for (guint i = 0; i < self->torrents->len; i++)
    if (((GbtDaemonTorrent *) g_ptr_array_index (self->torrents, i))->queued)
      g_ptr_array_add (waiting, g_ptr_array_index (self->torrents, i));
  if (waiting->len == 0)
    return;
  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
      if (dt->queued)
        continue;
      if (counts_in_queue (self, dt, now))
        {
          if (torrent_complete (dt->torrent))
            seeding++;
          else
            downloading++;
        }
    }
  g_ptr_array_sort (waiting, by_queue_position);
  for (guint i = 0; i < waiting->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (waiting, i);
      gboolean complete = torrent_complete (dt->torrent);
      if (complete)
        {
          if (s->seed_queue_enabled && seeding >= s->seed_queue_size)
            continue;
          seeding++;
        }
      else
        {
          if (s->download_queue_enabled && downloading >= s->download_queue_size)
            continue;
          downloading++;
        }
      really_start (self, dt);
    }
}

static gboolean
run_queue_idle (gpointer user_data)
{
  queue_idle_id = 0;
  gbt_daemon_run_queue (user_data);
  return G_SOURCE_REMOVE;
}

void
gbt_daemon_start_torrent (GbtDaemon *self, GbtDaemonTorrent *dt, gboolean now)
{
  if (state_running (gbt_torrent_get_state (dt->torrent)))
    return;
  if (now)
    {
      really_start (self, dt);
      gbt_daemon_changed (self);
      return;
    }
  dt->wanted = TRUE;
  dt->queued = TRUE;
  dt->changed = now_s ();
  gbt_daemon_run_queue (self);
  gbt_daemon_changed (self);
}

static void
stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!gbt_torrent_stop_finish (GBT_TORRENT (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_debug ("stop: %s", error->message);
}

void
gbt_daemon_stop_torrent (GbtDaemon *self, GbtDaemonTorrent *dt)
{
  dt->wanted = FALSE;
  dt->queued = FALSE;
  dt->changed = now_s ();
  if (state_running (gbt_torrent_get_state (dt->torrent)))
    gbt_torrent_stop_async (dt->torrent, NULL, stopped_cb, NULL);
  gbt_daemon_changed (self);
  schedule_queue (self);
}

/* moves @dt to position @to (clamped), shifting the others */
void
gbt_daemon_queue_move (GbtDaemon *self, GbtDaemonTorrent *dt, int to)
{
  guint from = dt->queue_position;
  guint n = self->torrents->len;
  guint dest = to < 0 ? 0 : MIN ((guint) to, n - 1);

  if (dest == from)
    return;
  for (guint i = 0; i < n; i++)
    {
      GbtDaemonTorrent *o = g_ptr_array_index (self->torrents, i);
      if (o == dt)
        continue;
      if (dest < from && o->queue_position >= dest && o->queue_position < from)
        o->queue_position++;
      else if (dest > from && o->queue_position > from && o->queue_position <= dest)
        o->queue_position--;
    }
  dt->queue_position = dest;
  gbt_daemon_changed (self);
  schedule_queue (self);
}

/* queue positions 0..n-1 whatever a hand-edited or old file held */
static void
normalise_queue (GbtDaemon *self)
{
  g_autoptr(GPtrArray) order = g_ptr_array_copy (self->torrents, NULL, NULL);

  g_ptr_array_set_free_func (order, NULL); /* the copy took the free function */
  g_ptr_array_sort (order, by_queue_position);
  for (guint i = 0; i < order->len; i++)
    ((GbtDaemonTorrent *) g_ptr_array_index (order, i))->queue_position = i;
}

/* ---- the tick ---- */

static gboolean
alt_schedule_on (const GbtDaemonSettings *s)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  int minute = g_date_time_get_hour (now) * 60 + g_date_time_get_minute (now);
  int dow = g_date_time_get_day_of_week (now) % 7; /* Sunday 0 */
  gboolean in_time;

  if (s->alt_speed_time_begin <= s->alt_speed_time_end)
    in_time = minute >= s->alt_speed_time_begin && minute < s->alt_speed_time_end;
  else /* over midnight */
    in_time = minute >= s->alt_speed_time_begin || minute < s->alt_speed_time_end;
  return in_time && (s->alt_speed_time_day & (1 << dow)) != 0;
}

static gboolean
tick_cb (gpointer user_data)
{
  GbtDaemon *self = user_data;
  GbtDaemonSettings *s = &self->settings;
  gint64 now = now_s ();
  static gint64 last_counter_save;

  if (s->alt_speed_time_enabled)
    {
      gboolean on = alt_schedule_on (s);
      if (on != s->alt_speed_enabled && (on || self->alt_by_schedule))
        {
          s->alt_speed_enabled = on;
          self->alt_by_schedule = on;
          gbt_daemon_apply_limits (self);
          gbt_daemon_changed (self);
        }
    }
  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
      GbtTorrentState st = gbt_torrent_get_state (dt->torrent);
      gboolean active;

      if (!state_running (st))
        continue;
      active = gbt_torrent_get_download_rate (dt->torrent) > 0
               || gbt_torrent_get_upload_rate (dt->torrent) > 0;
      if (st == GBT_TORRENT_STATE_SEEDING)
        dt->seconds_seeding++;
      else if (st == GBT_TORRENT_STATE_DOWNLOADING)
        dt->seconds_downloading++;
      if (active)
        {
          dt->changed = now;
          dt->activity_date = wall_s ();
        }
      if (st == GBT_TORRENT_STATE_SEEDING)
        {
          guint limit = dt->seed_idle_mode == 1 ? dt->seed_idle_limit
                        : dt->seed_idle_mode == 0 && s->idle_seeding_limit_enabled
                          ? s->idle_seeding_limit
                          : 0;
          if (gbt_torrent_get_upload_rate (dt->torrent) > 0 || dt->idle_since == 0)
            dt->idle_since = now;
          else if (limit > 0 && now - dt->idle_since >= (gint64) limit * 60)
            {
              g_message ("%s: idle for %u minutes while seeding, stopping",
                         gbt_torrent_get_name (dt->torrent), limit);
              gbt_daemon_stop_torrent (self, dt);
            }
        }
      else
        dt->idle_since = 0;
    }
  /* a stalled download frees its slot */
  gbt_daemon_run_queue (self);
  if (now - last_counter_save >= COUNTER_SAVE_SECONDS)
    {
      last_counter_save = now;
      gbt_daemon_changed (self);
    }
  /* forget removals nobody asked about for a while */
  while (self->removed->len > 0
         && now - g_array_index (self->removed, struct { guint id; gint64 when; }, 0).when
              > RECENT_SECONDS)
    g_array_remove_index (self->removed, 0);
  return G_SOURCE_CONTINUE;
}

/* ---- life ---- */

static GbtSession *
make_session (GbtDaemon *self, GError **error)
{
  GbtDaemonOptions *o = self->options;
  GbtDaemonSettings *s = &self->settings;
  GbtSession *session = gbt_session_new ();
  g_autoptr(GStrvBuilder) plugins = g_strv_builder_new ();
  g_auto(GStrv) plugin_list = NULL;
  const char *utp_off[] = { "tcp", NULL };
  int port = o->port >= 0 ? o->port : (int) s->peer_port;

  if (o->plugins)
    g_strv_builder_addv (plugins, (const char **) o->plugins);
  if (!s->dht_enabled)
    g_strv_builder_add (plugins, "-dht");
  if (!s->pex_enabled)
    g_strv_builder_add (plugins, "-pex");
  if (!s->lpd_enabled)
    g_strv_builder_add (plugins, "-lsd");
  plugin_list = g_strv_builder_end (plugins);
  gbt_session_set_plugins (session, (const char *const *) plugin_list,
                           (const char *const *) o->plugin_dirs);
  if (o->bind)
    gbt_session_set_bind_address (session, o->bind);
  gbt_session_set_listen_address (session, o->listen ? o->listen : o->bind, (guint16) port);
  if (o->transports)
    gbt_session_set_transports (session, (const char *const *) o->transports);
  else if (!s->utp_enabled)
    gbt_session_set_transports (session, utp_off);
  gbt_session_set_encryption (session, o->encryption >= 0 ? (GbtEncryption) o->encryption
                                                          : encryption_mode (s->encryption));
  gbt_session_set_port_mapping (session, !o->no_port_mapping && s->port_forwarding_enabled);
  gbt_session_set_max_peers_per_torrent (session, s->peer_limit_per_torrent);
  gbt_session_set_state_directory (session, o->state_dir);
  if (!gbt_session_start (session, error))
    {
      g_object_unref (session);
      return NULL;
    }
  return session;
}

GbtDaemon *
gbt_daemon_new (GbtDaemonOptions *options, GError **error)
{
  GbtDaemon *self = g_new0 (GbtDaemon, 1);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *path = NULL;
  g_autoptr(GError) local = NULL;
  GListModel *list;
  guint n;

  self->options = options;
  self->torrents = g_ptr_array_new_with_free_func ((GDestroyNotify) daemon_torrent_free);
  self->by_id = g_hash_table_new (NULL, NULL);
  self->by_hash = g_hash_table_new (g_str_hash, g_str_equal);
  self->by_torrent = g_hash_table_new (NULL, NULL);
  self->removed = g_array_new (FALSE, FALSE, sizeof (struct { guint id; gint64 when; }));
  self->next_id = 1;
  self->started = now_s ();
  settings_defaults (&self->settings, options->download_dir);

  if (g_mkdir_with_parents (options->state_dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s: %s",
                   options->state_dir, g_strerror (errno));
      gbt_daemon_free (self);
      return NULL;
    }
  path = gbt_daemon_file_path (self);
  if (g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      gbt_daemon_settings_load (&self->settings, kf);
      gbt_daemon_stats_load (&self->cumulative, kf);
      /* the command line's directory wins over the saved one */
      if (options->download_dir)
        {
          g_free (self->settings.download_dir);
          self->settings.download_dir = g_strdup (options->download_dir);
        }
    }
  else if (!g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", path);
      gbt_daemon_free (self);
      return NULL;
    }
  if (self->settings.download_dir == NULL)
    {
      const char *dl = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);
      self->settings.download_dir = dl ? g_strdup (dl)
                                       : g_build_filename (g_get_home_dir (), "Downloads", NULL);
    }

  self->session = make_session (self, error);
  if (self->session == NULL)
    {
      gbt_daemon_free (self);
      return NULL;
    }
  if (!gbt_session_load_state (self->session, &local))
    {
      /* the torrents that did load are there; the rest is said */
      g_warning ("%s", local->message);
      g_clear_error (&local);
    }
  list = gbt_session_get_torrents (self->session);
  n = g_list_model_get_n_items (list);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (list, i);
      GbtDaemonTorrent *dt = gbt_daemon_adopt (self, t);
      gbt_daemon_torrent_extras_load (dt, kf);
      if (state_running (gbt_torrent_get_state (t)))
        dt->queued = FALSE;
      dt->wanted = dt->queued || state_running (gbt_torrent_get_state (t));
    }
  normalise_queue (self);
  gbt_daemon_apply_limits (self);
  self->tick_id = g_timeout_add_seconds (1, tick_cb, self);
  self->session_id = g_uuid_string_random ();
  schedule_queue (self);
  return self;
}

/* ---- shutdown: state saved, trackers told, at most a few seconds ---- */

typedef struct {
  GMainLoop *loop;
  guint pending;
  gboolean abandoned; /* the daemon stopped waiting: the last stop frees us */
} Shutdown;

static void
shutdown_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Shutdown *sd = user_data;

  gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL);
  if (--sd->pending > 0)
    return;
  if (sd->abandoned)
    {
      g_main_loop_unref (sd->loop);
      g_free (sd);
    }
  else
    g_main_loop_quit (sd->loop);
}

static gboolean
shutdown_timeout_cb (gpointer user_data)
{
  Shutdown *sd = user_data;

  g_message ("stopping: %u torrents still finishing, not waiting longer", sd->pending);
  g_main_loop_quit (sd->loop);
  return G_SOURCE_REMOVE;
}

void
gbt_daemon_shutdown (GbtDaemon *self, GMainLoop *loop)
{
  g_autoptr(GError) error = NULL;
  Shutdown *sd;
  guint timeout_id;

  if (self->closing)
    return;
  g_clear_pointer (&self->http, gbt_rpc_http_free);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&queue_idle_id, g_source_remove);
  /* the state as it runs: what runs now runs again after the restart */
  if (!gbt_session_save_state (self->session, &error))
    g_warning ("cannot save the session state: %s", error->message);
  g_clear_error (&error);
  if (!gbt_daemon_save (self, &error))
    g_warning ("cannot save %s: %s", GBT_DAEMON_FILE, error->message);
  self->closing = TRUE;
  /* the stops below must not be saved as the user's wish */
  gbt_session_set_state_directory (self->session, NULL);
  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
      g_clear_signal_handler (&dt->state_handler, dt->torrent);
      g_clear_signal_handler (&dt->hash_failed_handler, dt->torrent);
      g_clear_signal_handler (&dt->finished_handler, dt->torrent);
    }
  sd = g_new0 (Shutdown, 1);
  sd->loop = g_main_loop_ref (loop);
  sd->pending = 1;
  for (guint i = 0; i < self->torrents->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (self->torrents, i);
      if (state_running (gbt_torrent_get_state (dt->torrent)))
        {
          sd->pending++;
          gbt_torrent_stop_async (dt->torrent, NULL, shutdown_stopped_cb, sd);
        }
    }
  if (--sd->pending > 0)
    {
      /* trackers are told "stopped": a few seconds at most */
      timeout_id = g_timeout_add_seconds (10, shutdown_timeout_cb, sd);
      g_main_loop_run (loop);
      if (sd->pending > 0)
        sd->abandoned = TRUE;
      else
        g_source_remove (timeout_id);
    }
  if (!sd->abandoned)
    {
      g_main_loop_unref (sd->loop);
      g_free (sd);
    }
}

void
gbt_daemon_free (GbtDaemon *self)
{
  g_clear_pointer (&self->http, gbt_rpc_http_free);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->save_id, g_source_remove);
  g_clear_handle_id (&queue_idle_id, g_source_remove);
  g_clear_pointer (&self->torrents, g_ptr_array_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->by_hash, g_hash_table_unref);
  g_clear_pointer (&self->by_torrent, g_hash_table_unref);
  g_clear_pointer (&self->removed, g_array_unref);
  g_clear_object (&self->session);
  settings_clear (&self->settings);
  g_free (self->session_id);
  g_free (self);
}
