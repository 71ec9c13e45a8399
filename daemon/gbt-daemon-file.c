/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon.ini: the daemon's settings, statistics and what it keeps per
 * torrent (queue position, modes, dates, labels), beside the core's
 * session state.  Read once at start; written atomically on a worker a
 * second after a change, or at once when a reply waits for it
 * (gbt_daemon_persist_async), and synchronously at shutdown.
 */
#include "config.h"

#include <string.h>

#include "gbt-daemon.h"

#define SAVE_DELAY_MS 1000 /* a second after a change */

#define KF_BOOL(kf, g, k, field)                                                              \
  do                                                                                          \
    if (g_key_file_has_key (kf, g, k, NULL))                                                  \
      field = g_key_file_get_boolean (kf, g, k, NULL);                                        \
  while (0)
#define KF_UINT(kf, g, k, field)                                                              \
  do                                                                                          \
    if (g_key_file_has_key (kf, g, k, NULL))                                                  \
      field = g_key_file_get_uint64 (kf, g, k, NULL);                                         \
  while (0)
#define KF_INT(kf, g, k, field)                                                               \
  do                                                                                          \
    if (g_key_file_has_key (kf, g, k, NULL))                                                  \
      field = g_key_file_get_int64 (kf, g, k, NULL);                                          \
  while (0)
#define KF_DOUBLE(kf, g, k, field)                                                            \
  do                                                                                          \
    if (g_key_file_has_key (kf, g, k, NULL))                                                  \
      field = g_key_file_get_double (kf, g, k, NULL);                                         \
  while (0)

void
gbt_daemon_settings_load (GbtDaemonSettings *s, GKeyFile *kf)
{
  const char *g = "settings";
  char *str;

  if ((str = g_key_file_get_string (kf, g, "download-dir", NULL)))
    {
      g_free (s->download_dir);
      s->download_dir = str;
    }
  if ((str = g_key_file_get_string (kf, g, "encryption", NULL)))
    {
      g_free (s->encryption);
      s->encryption = str;
    }
  KF_BOOL (kf, g, "speed-limit-down-enabled", s->speed_limit_down_enabled);
  KF_BOOL (kf, g, "speed-limit-up-enabled", s->speed_limit_up_enabled);
  KF_UINT (kf, g, "speed-limit-down", s->speed_limit_down);
  KF_UINT (kf, g, "speed-limit-up", s->speed_limit_up);
  KF_BOOL (kf, g, "alt-speed-enabled", s->alt_speed_enabled);
  KF_UINT (kf, g, "alt-speed-down", s->alt_speed_down);
  KF_UINT (kf, g, "alt-speed-up", s->alt_speed_up);
  KF_BOOL (kf, g, "alt-speed-time-enabled", s->alt_speed_time_enabled);
  KF_INT (kf, g, "alt-speed-time-begin", s->alt_speed_time_begin);
  KF_INT (kf, g, "alt-speed-time-end", s->alt_speed_time_end);
  KF_INT (kf, g, "alt-speed-time-day", s->alt_speed_time_day);
  KF_UINT (kf, g, "peer-limit-global", s->peer_limit_global);
  KF_UINT (kf, g, "peer-limit-per-torrent", s->peer_limit_per_torrent);
  KF_UINT (kf, g, "peer-port", s->peer_port);
  KF_BOOL (kf, g, "seedRatioLimited", s->seed_ratio_limited);
  KF_DOUBLE (kf, g, "seedRatioLimit", s->seed_ratio_limit);
  KF_BOOL (kf, g, "idle-seeding-limit-enabled", s->idle_seeding_limit_enabled);
  KF_UINT (kf, g, "idle-seeding-limit", s->idle_seeding_limit);
  KF_BOOL (kf, g, "download-queue-enabled", s->download_queue_enabled);
  KF_UINT (kf, g, "download-queue-size", s->download_queue_size);
  KF_BOOL (kf, g, "seed-queue-enabled", s->seed_queue_enabled);
  KF_UINT (kf, g, "seed-queue-size", s->seed_queue_size);
  KF_BOOL (kf, g, "start-added-torrents", s->start_added_torrents);
  KF_BOOL (kf, g, "utp-enabled", s->utp_enabled);
  KF_BOOL (kf, g, "dht-enabled", s->dht_enabled);
  KF_BOOL (kf, g, "pex-enabled", s->pex_enabled);
  KF_BOOL (kf, g, "lpd-enabled", s->lpd_enabled);
  KF_BOOL (kf, g, "port-forwarding-enabled", s->port_forwarding_enabled);
  KF_BOOL (kf, g, "rename-partial-files", s->rename_partial_files);
  KF_BOOL (kf, g, "trash-original-torrent-files", s->trash_original_torrent_files);
  KF_BOOL (kf, g, "queue-stalled-enabled", s->queue_stalled_enabled);
  KF_UINT (kf, g, "queue-stalled-minutes", s->queue_stalled_minutes);
}

static void
settings_save (const GbtDaemonSettings *s, GKeyFile *kf)
{
  const char *g = "settings";

  g_key_file_set_string (kf, g, "download-dir", s->download_dir);
  g_key_file_set_string (kf, g, "encryption", s->encryption);
  g_key_file_set_boolean (kf, g, "speed-limit-down-enabled", s->speed_limit_down_enabled);
  g_key_file_set_boolean (kf, g, "speed-limit-up-enabled", s->speed_limit_up_enabled);
  g_key_file_set_uint64 (kf, g, "speed-limit-down", s->speed_limit_down);
  g_key_file_set_uint64 (kf, g, "speed-limit-up", s->speed_limit_up);
  g_key_file_set_boolean (kf, g, "alt-speed-enabled", s->alt_speed_enabled);
  g_key_file_set_uint64 (kf, g, "alt-speed-down", s->alt_speed_down);
  g_key_file_set_uint64 (kf, g, "alt-speed-up", s->alt_speed_up);
  g_key_file_set_boolean (kf, g, "alt-speed-time-enabled", s->alt_speed_time_enabled);
  g_key_file_set_int64 (kf, g, "alt-speed-time-begin", s->alt_speed_time_begin);
  g_key_file_set_int64 (kf, g, "alt-speed-time-end", s->alt_speed_time_end);
  g_key_file_set_int64 (kf, g, "alt-speed-time-day", s->alt_speed_time_day);
  g_key_file_set_uint64 (kf, g, "peer-limit-global", s->peer_limit_global);
  g_key_file_set_uint64 (kf, g, "peer-limit-per-torrent", s->peer_limit_per_torrent);
  g_key_file_set_uint64 (kf, g, "peer-port", s->peer_port);
  g_key_file_set_boolean (kf, g, "seedRatioLimited", s->seed_ratio_limited);
  g_key_file_set_double (kf, g, "seedRatioLimit", s->seed_ratio_limit);
  g_key_file_set_boolean (kf, g, "idle-seeding-limit-enabled", s->idle_seeding_limit_enabled);
  g_key_file_set_uint64 (kf, g, "idle-seeding-limit", s->idle_seeding_limit);
  g_key_file_set_boolean (kf, g, "download-queue-enabled", s->download_queue_enabled);
  g_key_file_set_uint64 (kf, g, "download-queue-size", s->download_queue_size);
  g_key_file_set_boolean (kf, g, "seed-queue-enabled", s->seed_queue_enabled);
  g_key_file_set_uint64 (kf, g, "seed-queue-size", s->seed_queue_size);
  g_key_file_set_boolean (kf, g, "start-added-torrents", s->start_added_torrents);
  g_key_file_set_boolean (kf, g, "utp-enabled", s->utp_enabled);
  g_key_file_set_boolean (kf, g, "dht-enabled", s->dht_enabled);
  g_key_file_set_boolean (kf, g, "pex-enabled", s->pex_enabled);
  g_key_file_set_boolean (kf, g, "lpd-enabled", s->lpd_enabled);
  g_key_file_set_boolean (kf, g, "port-forwarding-enabled", s->port_forwarding_enabled);
  g_key_file_set_boolean (kf, g, "rename-partial-files", s->rename_partial_files);
  g_key_file_set_boolean (kf, g, "trash-original-torrent-files", s->trash_original_torrent_files);
  g_key_file_set_boolean (kf, g, "queue-stalled-enabled", s->queue_stalled_enabled);
  g_key_file_set_uint64 (kf, g, "queue-stalled-minutes", s->queue_stalled_minutes);
}

void
gbt_daemon_torrent_extras_load (GbtDaemonTorrent *dt, GKeyFile *kf)
{
  g_autofree char *g = g_strconcat ("torrent ", dt->hash, NULL);

  if (!g_key_file_has_group (kf, g))
    return;
  KF_BOOL (kf, g, "queued", dt->queued);
  KF_UINT (kf, g, "queue-position", dt->queue_position);
  KF_INT (kf, g, "bandwidth-priority", dt->bandwidth_priority);
  KF_BOOL (kf, g, "honors-session-limits", dt->honors_session_limits);
  KF_BOOL (kf, g, "download-limited", dt->down_limited);
  KF_BOOL (kf, g, "upload-limited", dt->up_limited);
  KF_UINT (kf, g, "download-limit", dt->down_limit_kbps);
  KF_UINT (kf, g, "upload-limit", dt->up_limit_kbps);
  KF_INT (kf, g, "seed-ratio-mode", dt->seed_ratio_mode);
  KF_DOUBLE (kf, g, "seed-ratio-limit", dt->seed_ratio_limit);
  KF_INT (kf, g, "seed-idle-mode", dt->seed_idle_mode);
  KF_UINT (kf, g, "seed-idle-limit", dt->seed_idle_limit);
  KF_INT (kf, g, "done-date", dt->done_date);
  KF_INT (kf, g, "start-date", dt->start_date);
  KF_INT (kf, g, "activity-date", dt->activity_date);
  KF_INT (kf, g, "seconds-downloading", dt->seconds_downloading);
  KF_INT (kf, g, "seconds-seeding", dt->seconds_seeding);
  KF_UINT (kf, g, "corrupt-ever", dt->corrupt_ever);
  if (g_key_file_has_key (kf, g, "labels", NULL))
    {
      g_strfreev (dt->labels);
      dt->labels = g_key_file_get_string_list (kf, g, "labels", NULL, NULL);
    }
}

/* written by hand, not through GKeyFile (a few microseconds a key: 10,000
 * torrents' twenty keys were half a second on the main thread); only
 * numbers and booleans, and the labels escaped by a one-key GKeyFile */
static void
torrent_extras_save (const GbtDaemonTorrent *dt, GString *out)
{
  char ratio[G_ASCII_DTOSTR_BUF_SIZE];

#define BOOL_STR(v) ((v) ? "true" : "false")
  g_string_append_printf (out,
                          "\n[torrent %s]\n"
                          "queued=%s\nqueue-position=%u\nbandwidth-priority=%d\n"
                          "honors-session-limits=%s\ndownload-limited=%s\nupload-limited=%s\n"
                          "download-limit=%" G_GUINT64_FORMAT "\nupload-limit=%" G_GUINT64_FORMAT "\n"
                          "seed-ratio-mode=%d\nseed-ratio-limit=%s\nseed-idle-mode=%d\n"
                          "seed-idle-limit=%u\ndone-date=%" G_GINT64_FORMAT "\n"
                          "start-date=%" G_GINT64_FORMAT "\nactivity-date=%" G_GINT64_FORMAT "\n"
                          "seconds-downloading=%" G_GINT64_FORMAT "\n"
                          "seconds-seeding=%" G_GINT64_FORMAT "\ncorrupt-ever=%" G_GUINT64_FORMAT "\n",
                          dt->hash, BOOL_STR (dt->queued), dt->queue_position,
                          dt->bandwidth_priority, BOOL_STR (dt->honors_session_limits),
                          BOOL_STR (dt->down_limited), BOOL_STR (dt->up_limited),
                          dt->down_limit_kbps, dt->up_limit_kbps, dt->seed_ratio_mode,
                          g_ascii_dtostr (ratio, sizeof ratio, dt->seed_ratio_limit),
                          dt->seed_idle_mode, dt->seed_idle_limit, dt->done_date, dt->start_date,
                          dt->activity_date, dt->seconds_downloading, dt->seconds_seeding,
                          dt->corrupt_ever);
#undef BOOL_STR
  if (dt->labels && dt->labels[0])
    {
      g_autoptr(GKeyFile) one = g_key_file_new ();
      g_autofree char *text = NULL;
      const char *line;

      g_key_file_set_string_list (one, "l", "labels", (const char *const *) dt->labels,
                                  g_strv_length (dt->labels));
      text = g_key_file_to_data (one, NULL, NULL);
      /* "[l]\nlabels=...\n": the line after the group's header */
      if ((line = strchr (text, '\n')))
        g_string_append (out, line + 1);
    }
}

void
gbt_daemon_stats_load (GbtDaemonStats *st, GKeyFile *kf)
{
  KF_UINT (kf, "stats", "uploaded-bytes", st->uploaded);
  KF_UINT (kf, "stats", "downloaded-bytes", st->downloaded);
  KF_UINT (kf, "stats", "files-added", st->files_added);
  KF_UINT (kf, "stats", "session-count", st->session_count);
  KF_UINT (kf, "stats", "seconds-active", st->seconds_active);
}

static void
current_stats_update (GbtDaemon *self)
{
  self->current.uploaded = gbt_session_get_uploaded (self->session);
  self->current.downloaded = gbt_session_get_downloaded (self->session);
  self->current.seconds_active = g_get_monotonic_time () / G_USEC_PER_SEC - self->started;
  self->current.session_count = 1;
}

static char *
daemon_file_contents (GbtDaemon *self, gsize *length)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *head = NULL;
  GString *out;

  current_stats_update (self);
  g_key_file_set_integer (kf, "daemon", "version", 1);
  settings_save (&self->settings, kf);
  g_key_file_set_uint64 (kf, "stats", "uploaded-bytes",
                         self->cumulative.uploaded + self->current.uploaded);
  g_key_file_set_uint64 (kf, "stats", "downloaded-bytes",
                         self->cumulative.downloaded + self->current.downloaded);
  g_key_file_set_uint64 (kf, "stats", "files-added",
                         self->cumulative.files_added + self->current.files_added);
  g_key_file_set_uint64 (kf, "stats", "session-count", self->cumulative.session_count + 1);
  g_key_file_set_uint64 (kf, "stats", "seconds-active",
                         self->cumulative.seconds_active + self->current.seconds_active);
  head = g_key_file_to_data (kf, NULL, NULL);
  out = g_string_new (head);
  for (guint i = 0; i < self->torrents->len; i++)
    torrent_extras_save (g_ptr_array_index (self->torrents, i), out);
  *length = out->len;
  return g_string_free (out, FALSE);
}

char *
gbt_daemon_file_path (GbtDaemon *self)
{
  return g_build_filename (self->options->state_dir, GBT_DAEMON_FILE, NULL);
}

/* saves are numbered: a slow worker never writes over a newer save */
static GMutex save_lock;
static guint64 save_written;

typedef struct {
  char *path;
  char *contents;
  gsize length;
  guint64 generation;
} SaveJob;

static void
save_job_free (SaveJob *job)
{
  g_free (job->path);
  g_free (job->contents);
  g_free (job);
}

static gboolean
save_job_run (SaveJob *job, GError **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&save_lock);
  if (job->generation > save_written)
    {
      ok = g_file_set_contents (job->path, job->contents, job->length, error);
      if (ok)
        save_written = job->generation;
    }
  g_mutex_unlock (&save_lock);
  return ok;
}

static void
save_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;

  if (save_job_run (data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("cannot save %s: %s", GBT_DAEMON_FILE, error->message);
}

static guint64 save_generation;

static SaveJob *
save_job_new (GbtDaemon *self)
{
  SaveJob *job = g_new0 (SaveJob, 1);

  job->path = gbt_daemon_file_path (self);
  job->contents = daemon_file_contents (self, &job->length);
  job->generation = ++save_generation;
  return job;
}

static gboolean
save_cb (gpointer user_data)
{
  GbtDaemon *self = user_data;
  g_autoptr(GTask) task = g_task_new (NULL, NULL, save_done_cb, NULL);

  self->save_id = 0;
  g_task_set_task_data (task, save_job_new (self), (GDestroyNotify) save_job_free);
  g_task_run_in_thread (task, save_thread);
  return G_SOURCE_REMOVE;
}

void
gbt_daemon_changed (GbtDaemon *self)
{
  if (self->save_id == 0 && !self->closing)
    self->save_id = g_timeout_add (SAVE_DELAY_MS, save_cb, self);
}

typedef struct {
  guint pending;
} Persist;

static void
persist_part_done (GTask *task)
{
  Persist *p = g_task_get_task_data (task);

  if (--p->pending == 0)
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
persist_daemon_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_warning ("cannot save %s: %s", GBT_DAEMON_FILE, error->message);
  persist_part_done (user_data);
}

static void
persist_session_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!gbt_session_save_state_finish (GBT_SESSION (source), result, &error))
    g_warning ("cannot save the session state: %s", error->message);
  persist_part_done (user_data);
}

void
gbt_daemon_persist_async (GbtDaemon *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Persist *p = g_new0 (Persist, 1);
  g_autoptr(GTask) write = NULL;

  p->pending = 2;
  g_task_set_task_data (task, p, g_free);
  g_clear_handle_id (&self->save_id, g_source_remove);
  write = g_task_new (NULL, NULL, persist_daemon_cb, g_object_ref (task));
  g_task_set_task_data (write, save_job_new (self), (GDestroyNotify) save_job_free);
  g_task_run_in_thread (write, save_thread);
  gbt_session_save_state_async (self->session, NULL, persist_session_cb, task);
}

gboolean
gbt_daemon_save (GbtDaemon *self, GError **error)
{
  SaveJob *job;
  gboolean ok;

  g_clear_handle_id (&self->save_id, g_source_remove);
  job = save_job_new (self);
  ok = save_job_run (job, error);
  save_job_free (job);
  return ok;
}

