/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What an app sees of a torrent and sets on it: its GObject properties,
 * the per-torrent settings (rate limits, peer limit, seed limits,
 * sequential order), the lifetime counters, and the coalesced notify that
 * keeps a UI current without flooding it: live values are compared with
 * what was last notified once per tick (1 s) and on state changes, and
 * only what changed is notified.
 */
#include "config.h"

#include <math.h>

#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-file.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>

#include "gbt-hash.h"
#include "gbt-rate-limit.h"
#include "gbt-session-private.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"

static GParamSpec *props[GBT_TORRENT_N_PROPS];

void
gbt_torrent_notify (GbtTorrent *self, GbtTorrentProp prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

/* ---- settings ---- */

static void
torrent_limits_init (GbtTorrent *self)
{
  if (self->limit_up)
    return;
  self->limit_up = gbt_rate_limit_new (0);
  self->limit_down = gbt_rate_limit_new (0);
}

void
gbt_torrent_props_init (GbtTorrent *self)
{
  torrent_limits_init (self);
  self->added_time = g_get_real_time () / G_USEC_PER_SEC;
  self->shown.eta = -1;
}

void
gbt_torrent_props_finalize (GbtTorrent *self)
{
  g_clear_pointer (&self->limit_up, gbt_rate_limit_free);
  g_clear_pointer (&self->limit_down, gbt_rate_limit_free);
}

void
gbt_torrent_set_rate_limits (GbtTorrent *self, guint64 up_bytes_per_second,
                             guint64 down_bytes_per_second)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  g_object_freeze_notify (G_OBJECT (self));
  if (gbt_rate_limit_get_rate (self->limit_up) != up_bytes_per_second)
    {
      gbt_rate_limit_set_rate (self->limit_up, up_bytes_per_second);
      gbt_torrent_notify (self, GBT_TORRENT_PROP_UPLOAD_LIMIT);
    }
  if (gbt_rate_limit_get_rate (self->limit_down) != down_bytes_per_second)
    {
      gbt_rate_limit_set_rate (self->limit_down, down_bytes_per_second);
      gbt_torrent_notify (self, GBT_TORRENT_PROP_DOWNLOAD_LIMIT);
    }
  g_object_thaw_notify (G_OBJECT (self));
  gbt_torrent_settings_changed (self);
}

guint64
gbt_torrent_get_download_limit (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_rate_limit_get_rate (self->limit_down);
}

guint64
gbt_torrent_get_upload_limit (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_rate_limit_get_rate (self->limit_up);
}

guint
gbt_torrent_get_effective_max_peers (GbtTorrent *self)
{
  if (self->max_peers)
    return self->max_peers;
  return self->session ? gbt_session_get_max_peers_per_torrent (self->session) : 1;
}

void
gbt_torrent_set_max_peers (GbtTorrent *self, guint max_peers)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  if (self->max_peers == max_peers)
    return;
  self->max_peers = max_peers;
  gbt_swarm_set_max_peers (self->swarm, gbt_torrent_get_effective_max_peers (self));
  gbt_torrent_notify (self, GBT_TORRENT_PROP_MAX_PEERS);
  gbt_torrent_settings_changed (self);
}

guint
gbt_torrent_get_max_peers (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->max_peers;
}

void
gbt_torrent_set_seed_limits (GbtTorrent *self, double ratio, guint seconds)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (ratio >= 0 && isfinite (ratio));
  g_object_freeze_notify (G_OBJECT (self));
  if (self->seed_ratio_limit != ratio)
    {
      self->seed_ratio_limit = ratio;
      gbt_torrent_notify (self, GBT_TORRENT_PROP_SEED_RATIO_LIMIT);
    }
  if (self->seed_time_limit != seconds)
    {
      self->seed_time_limit = seconds;
      gbt_torrent_notify (self, GBT_TORRENT_PROP_SEED_TIME_LIMIT);
    }
  g_object_thaw_notify (G_OBJECT (self));
  gbt_torrent_settings_changed (self);
}

double
gbt_torrent_get_seed_ratio_limit (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->seed_ratio_limit;
}

guint
gbt_torrent_get_seed_time_limit (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->seed_time_limit;
}

void
gbt_torrent_set_sequential (GbtTorrent *self, gboolean sequential)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  sequential = !!sequential;
  if (self->sequential == sequential)
    return;
  self->sequential = sequential;
  if (self->picker)
    gbt_picker_set_sequential (self->picker, sequential);
  gbt_torrent_notify (self, GBT_TORRENT_PROP_SEQUENTIAL);
  gbt_torrent_settings_changed (self);
}

gboolean
gbt_torrent_get_sequential (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), FALSE);
  return self->sequential;
}

void
gbt_torrent_settings_changed (GbtTorrent *self)
{
  if (self->session)
    gbt_session_torrent_changed (self->session, self);
}

/* ---- derived figures ---- */

double
gbt_torrent_get_progress (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  if (self->metainfo == NULL)
    return 0;
  if (self->bytes_wanted == 0)
    return 1;
  return (double) self->bytes_have / (double) self->bytes_wanted;
}

double
gbt_torrent_get_ratio (GbtTorrent *self)
{
  guint64 size;

  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  /* uploaded over what was downloaded, or over the size for a torrent
   * that was seeded from the start (as Transmission and libtorrent) */
  size = MAX (gbt_torrent_get_downloaded (self), self->bytes_have);
  if (size == 0)
    return 0;
  return (double) gbt_torrent_get_uploaded (self) / (double) size;
}

gint64
gbt_torrent_get_eta (GbtTorrent *self)
{
  double rate;
  guint64 left;

  g_return_val_if_fail (GBT_IS_TORRENT (self), -1);
  if (self->state == GBT_TORRENT_STATE_SEEDING)
    return 0;
  if (self->state != GBT_TORRENT_STATE_DOWNLOADING)
    return -1;
  rate = gbt_torrent_get_download_rate (self);
  left = self->bytes_wanted > self->bytes_have ? self->bytes_wanted - self->bytes_have : 0;
  if (rate < 1.0)
    return -1;
  return (gint64) ceil ((double) left / rate);
}

guint
gbt_torrent_get_n_seeders (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return gbt_swarm_get_n_seeds (self->swarm);
}

const char *
gbt_torrent_get_download_dir (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return self->download_dir;
}

char *
gbt_torrent_dup_info_hash_hex (GbtTorrent *self)
{
  char *hex;

  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  hex = g_malloc (41);
  gbt_sha1_to_hex (self->info_hash, hex);
  return hex;
}

gint64
gbt_torrent_get_added_time (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), 0);
  return self->added_time;
}

/* ---- the coalesced notify ---- */

/* rates are notified when they move by more than a byte per second or a
 * percent, so a steady transfer does not notify every tick for noise */
static gboolean
rate_moved (double shown, double now)
{
  double d = fabs (shown - now);
  return d >= 1.0 && (now == 0 || shown == 0 || d > 0.01 * MAX (shown, now));
}

void
gbt_torrent_update_stats (GbtTorrent *self)
{
  GbtTorrentShown *s = &self->shown;
  GObject *object = G_OBJECT (self);
  double progress = gbt_torrent_get_progress (self);
  double down = gbt_torrent_get_download_rate (self), up = gbt_torrent_get_upload_rate (self);
  guint64 downloaded = gbt_torrent_get_downloaded (self);
  guint64 uploaded = gbt_torrent_get_uploaded (self);
  guint n_peers = gbt_torrent_get_n_peers (self), n_seeders = gbt_torrent_get_n_seeders (self);
  double ratio = gbt_torrent_get_ratio (self);
  gint64 eta = gbt_torrent_get_eta (self);

  g_object_freeze_notify (object);
#define SHOW(field, value, prop)                                                                   \
  if (s->field != (value))                                                                         \
    {                                                                                              \
      s->field = (value);                                                                          \
      gbt_torrent_notify (self, prop);                                                             \
    }
  SHOW (bytes_have, self->bytes_have, GBT_TORRENT_PROP_BYTES_HAVE);
  SHOW (bytes_wanted, self->bytes_wanted, GBT_TORRENT_PROP_BYTES_WANTED);
  SHOW (progress, progress, GBT_TORRENT_PROP_PROGRESS);
  SHOW (downloaded, downloaded, GBT_TORRENT_PROP_DOWNLOADED);
  SHOW (uploaded, uploaded, GBT_TORRENT_PROP_UPLOADED);
  SHOW (n_peers, n_peers, GBT_TORRENT_PROP_N_PEERS);
  SHOW (n_seeders, n_seeders, GBT_TORRENT_PROP_N_SEEDERS);
  SHOW (ratio, ratio, GBT_TORRENT_PROP_RATIO);
  SHOW (eta, eta, GBT_TORRENT_PROP_ETA);
#undef SHOW
  if (rate_moved (s->download_rate, down))
    {
      s->download_rate = down;
      gbt_torrent_notify (self, GBT_TORRENT_PROP_DOWNLOAD_RATE);
    }
  if (rate_moved (s->upload_rate, up))
    {
      s->upload_rate = up;
      gbt_torrent_notify (self, GBT_TORRENT_PROP_UPLOAD_RATE);
    }
  g_object_thaw_notify (object);
}

/* Once a second while seeding: a reached ratio or time limit stops the
 * torrent, as Transmission does, after ::seed-limit-reached. */
static void
seed_limit_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gbt_torrent_stop_finish (GBT_TORRENT (source), result, NULL);
}

void
gbt_torrent_check_seed_limits (GbtTorrent *self)
{
  gboolean reached;

  if (self->state != GBT_TORRENT_STATE_SEEDING || self->stopping)
    return;
  self->seeding_seconds++;
  reached = (self->seed_ratio_limit > 0 && gbt_torrent_get_ratio (self) >= self->seed_ratio_limit)
            || (self->seed_time_limit > 0 && self->seeding_seconds >= self->seed_time_limit);
  if (!reached)
    return;
  g_debug ("[%s] seed limit reached (ratio %.2f, %" G_GUINT64_FORMAT " s seeding)",
           gbt_torrent_get_name (self), gbt_torrent_get_ratio (self), self->seeding_seconds);
  gbt_torrent_emit_seed_limit_reached (self);
  if (self->state == GBT_TORRENT_STATE_SEEDING && !self->stopping)
    gbt_torrent_stop_async (self, NULL, seed_limit_stopped_cb, NULL);
}

/* ---- GObject properties ---- */

void
gbt_torrent_get_property_impl (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GbtTorrent *self = GBT_TORRENT (object);

  switch ((GbtTorrentProp) prop_id)
    {
    case GBT_TORRENT_PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case GBT_TORRENT_PROP_NAME:
      g_value_set_string (value, gbt_torrent_get_name (self));
      break;
    case GBT_TORRENT_PROP_INFO_HASH:
      g_value_take_string (value, gbt_torrent_dup_info_hash_hex (self));
      break;
    case GBT_TORRENT_PROP_DOWNLOAD_DIR:
      g_value_set_string (value, self->download_dir);
      break;
    case GBT_TORRENT_PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case GBT_TORRENT_PROP_PROGRESS:
      g_value_set_double (value, gbt_torrent_get_progress (self));
      break;
    case GBT_TORRENT_PROP_BYTES_HAVE:
      g_value_set_uint64 (value, self->bytes_have);
      break;
    case GBT_TORRENT_PROP_BYTES_WANTED:
      g_value_set_uint64 (value, self->bytes_wanted);
      break;
    case GBT_TORRENT_PROP_DOWNLOADED:
      g_value_set_uint64 (value, gbt_torrent_get_downloaded (self));
      break;
    case GBT_TORRENT_PROP_UPLOADED:
      g_value_set_uint64 (value, gbt_torrent_get_uploaded (self));
      break;
    case GBT_TORRENT_PROP_DOWNLOAD_RATE:
      g_value_set_double (value, gbt_torrent_get_download_rate (self));
      break;
    case GBT_TORRENT_PROP_UPLOAD_RATE:
      g_value_set_double (value, gbt_torrent_get_upload_rate (self));
      break;
    case GBT_TORRENT_PROP_N_PEERS:
      g_value_set_uint (value, gbt_torrent_get_n_peers (self));
      break;
    case GBT_TORRENT_PROP_N_SEEDERS:
      g_value_set_uint (value, gbt_torrent_get_n_seeders (self));
      break;
    case GBT_TORRENT_PROP_RATIO:
      g_value_set_double (value, gbt_torrent_get_ratio (self));
      break;
    case GBT_TORRENT_PROP_ETA:
      g_value_set_int64 (value, gbt_torrent_get_eta (self));
      break;
    case GBT_TORRENT_PROP_DOWNLOAD_LIMIT:
      g_value_set_uint64 (value, gbt_torrent_get_download_limit (self));
      break;
    case GBT_TORRENT_PROP_UPLOAD_LIMIT:
      g_value_set_uint64 (value, gbt_torrent_get_upload_limit (self));
      break;
    case GBT_TORRENT_PROP_MAX_PEERS:
      g_value_set_uint (value, self->max_peers);
      break;
    case GBT_TORRENT_PROP_SEED_RATIO_LIMIT:
      g_value_set_double (value, self->seed_ratio_limit);
      break;
    case GBT_TORRENT_PROP_SEED_TIME_LIMIT:
      g_value_set_uint (value, self->seed_time_limit);
      break;
    case GBT_TORRENT_PROP_SEQUENTIAL:
      g_value_set_boolean (value, self->sequential);
      break;
    case GBT_TORRENT_PROP_ADDED_TIME:
      g_value_set_int64 (value, self->added_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

void
gbt_torrent_set_property_impl (GObject *object, guint prop_id, const GValue *value,
                               GParamSpec *pspec)
{
  GbtTorrent *self = GBT_TORRENT (object);

  switch ((GbtTorrentProp) prop_id)
    {
    case GBT_TORRENT_PROP_DOWNLOAD_LIMIT:
      gbt_torrent_set_rate_limits (self, gbt_torrent_get_upload_limit (self),
                                   g_value_get_uint64 (value));
      break;
    case GBT_TORRENT_PROP_UPLOAD_LIMIT:
      gbt_torrent_set_rate_limits (self, g_value_get_uint64 (value),
                                   gbt_torrent_get_download_limit (self));
      break;
    case GBT_TORRENT_PROP_MAX_PEERS:
      gbt_torrent_set_max_peers (self, g_value_get_uint (value));
      break;
    case GBT_TORRENT_PROP_SEED_RATIO_LIMIT:
      gbt_torrent_set_seed_limits (self, g_value_get_double (value), self->seed_time_limit);
      break;
    case GBT_TORRENT_PROP_SEED_TIME_LIMIT:
      gbt_torrent_set_seed_limits (self, self->seed_ratio_limit, g_value_get_uint (value));
      break;
    case GBT_TORRENT_PROP_SEQUENTIAL:
      gbt_torrent_set_sequential (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RO (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)
#define RW (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

void
gbt_torrent_install_properties (GObjectClass *object_class)
{
  /**
   * GbtTorrent:state: (type GbtTorrentState)
   *
   * Where the torrent is in its life; notified on change.
   */
  props[GBT_TORRENT_PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, GBT_TYPE_TORRENT_STATE,
                                                     GBT_TORRENT_STATE_STOPPED, RO);
  /**
   * GbtTorrent:name:
   *
   * The torrent's name: the metainfo's, or a magnet link's display name (or
   * its info-hash) until the metadata arrives; notified then.
   */
  props[GBT_TORRENT_PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, RO);
  /**
   * GbtTorrent:info-hash:
   *
   * The info-hash as 40 lowercase hexadecimal digits.
   */
  props[GBT_TORRENT_PROP_INFO_HASH] = g_param_spec_string ("info-hash", NULL, NULL, NULL, RO);
  /**
   * GbtTorrent:download-dir:
   *
   * The directory the torrent's files are stored under.
   */
  props[GBT_TORRENT_PROP_DOWNLOAD_DIR] = g_param_spec_string ("download-dir", NULL, NULL, NULL, RO);
  /**
   * GbtTorrent:error: (type GLib.Error)
   *
   * Why the torrent is in %GBT_TORRENT_STATE_ERROR, %NULL otherwise.
   */
  props[GBT_TORRENT_PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, RO);
  /**
   * GbtTorrent:progress:
   *
   * The share of the wanted bytes that is verified on disk, from 0 to 1.
   * Like the other live figures, notified at most once a second.
   */
  props[GBT_TORRENT_PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, RO);
  /**
   * GbtTorrent:bytes-have:
   *
   * Bytes of wanted pieces verified on disk.
   */
  props[GBT_TORRENT_PROP_BYTES_HAVE] = g_param_spec_uint64 ("bytes-have", NULL, NULL, 0,
                                                            G_MAXUINT64, 0, RO);
  /**
   * GbtTorrent:bytes-wanted:
   *
   * Bytes of the pieces that touch a file not skipped.
   */
  props[GBT_TORRENT_PROP_BYTES_WANTED] = g_param_spec_uint64 ("bytes-wanted", NULL, NULL, 0,
                                                              G_MAXUINT64, 0, RO);
  /**
   * GbtTorrent:downloaded:
   *
   * Payload bytes downloaded over the torrent's life, across restarts
   * (kept in its resume data).
   */
  props[GBT_TORRENT_PROP_DOWNLOADED] = g_param_spec_uint64 ("downloaded", NULL, NULL, 0,
                                                            G_MAXUINT64, 0, RO);
  /**
   * GbtTorrent:uploaded:
   *
   * Payload bytes uploaded over the torrent's life, across restarts.
   */
  props[GBT_TORRENT_PROP_UPLOADED] = g_param_spec_uint64 ("uploaded", NULL, NULL, 0, G_MAXUINT64,
                                                          0, RO);
  /**
   * GbtTorrent:download-rate:
   *
   * Payload bytes per second received, smoothed; 0 once stopped.
   */
  props[GBT_TORRENT_PROP_DOWNLOAD_RATE] = g_param_spec_double ("download-rate", NULL, NULL, 0,
                                                               G_MAXDOUBLE, 0, RO);
  /**
   * GbtTorrent:upload-rate:
   *
   * Payload bytes per second sent, smoothed; 0 once stopped.
   */
  props[GBT_TORRENT_PROP_UPLOAD_RATE] = g_param_spec_double ("upload-rate", NULL, NULL, 0,
                                                             G_MAXDOUBLE, 0, RO);
  /**
   * GbtTorrent:n-peers:
   *
   * Connected peers.
   */
  props[GBT_TORRENT_PROP_N_PEERS] = g_param_spec_uint ("n-peers", NULL, NULL, 0, G_MAXUINT, 0, RO);
  /**
   * GbtTorrent:n-seeders:
   *
   * Connected peers that have every piece.
   */
  props[GBT_TORRENT_PROP_N_SEEDERS] = g_param_spec_uint ("n-seeders", NULL, NULL, 0, G_MAXUINT, 0,
                                                         RO);
  /**
   * GbtTorrent:ratio:
   *
   * Uploaded bytes over downloaded ones (or over the size had, for a
   * torrent seeded from the start).
   */
  props[GBT_TORRENT_PROP_RATIO] = g_param_spec_double ("ratio", NULL, NULL, 0, G_MAXDOUBLE, 0, RO);
  /**
   * GbtTorrent:eta:
   *
   * Seconds until the wanted bytes are had at the current rate; 0 when
   * seeding, -1 when unknown (stopped, or no data coming).
   */
  props[GBT_TORRENT_PROP_ETA] = g_param_spec_int64 ("eta", NULL, NULL, -1, G_MAXINT64, -1, RO);
  /**
   * GbtTorrent:download-limit:
   *
   * This torrent's download limit in bytes per second, 0 for none; the
   * session's limit applies too.  May be changed at any time.
   */
  props[GBT_TORRENT_PROP_DOWNLOAD_LIMIT] = g_param_spec_uint64 ("download-limit", NULL, NULL, 0,
                                                                G_MAXUINT64, 0, RW);
  /**
   * GbtTorrent:upload-limit:
   *
   * This torrent's upload limit in bytes per second, 0 for none.
   */
  props[GBT_TORRENT_PROP_UPLOAD_LIMIT] = g_param_spec_uint64 ("upload-limit", NULL, NULL, 0,
                                                              G_MAXUINT64, 0, RW);
  /**
   * GbtTorrent:max-peers:
   *
   * The most connections this torrent keeps open, 0 for the session's
   * #GbtSession:max-peers-per-torrent.
   */
  props[GBT_TORRENT_PROP_MAX_PEERS] = g_param_spec_uint ("max-peers", NULL, NULL, 0, G_MAXUINT, 0,
                                                         RW);
  /**
   * GbtTorrent:seed-ratio-limit:
   *
   * Once seeding, the torrent stops itself when #GbtTorrent:ratio reaches
   * this (0: no limit), after emitting #GbtTorrent::seed-limit-reached.
   */
  props[GBT_TORRENT_PROP_SEED_RATIO_LIMIT] = g_param_spec_double ("seed-ratio-limit", NULL, NULL,
                                                                  0, G_MAXDOUBLE, 0, RW);
  /**
   * GbtTorrent:seed-time-limit:
   *
   * Once seeding, the torrent stops itself after seeding this many
   * seconds in this run (0: no limit).
   */
  props[GBT_TORRENT_PROP_SEED_TIME_LIMIT] = g_param_spec_uint ("seed-time-limit", NULL, NULL, 0,
                                                               G_MAXUINT, 0, RW);
  /**
   * GbtTorrent:sequential:
   *
   * Download new pieces in order rather than rarest first (for playing a
   * file while it downloads; worse for the swarm).
   */
  props[GBT_TORRENT_PROP_SEQUENTIAL] = g_param_spec_boolean ("sequential", NULL, NULL, FALSE, RW);
  /**
   * GbtTorrent:added-time:
   *
   * When the torrent was first added to a session, in seconds since the
   * Unix epoch (kept by the session's state).
   */
  props[GBT_TORRENT_PROP_ADDED_TIME] = g_param_spec_int64 ("added-time", NULL, NULL, 0, G_MAXINT64,
                                                           0, RO);
  g_object_class_install_properties (object_class, GBT_TORRENT_N_PROPS, props);
}

/* ---- the session's state file (gbt-session-state.c) ---- */

void
gbt_torrent_save_extra_state (GbtTorrent *self, GKeyFile *kf, const char *group)
{
  guint n = self->metainfo ? gbt_metainfo_get_n_files (self->metainfo) : 0;
  g_autofree int *prio = NULL;
  gboolean all_normal = TRUE;

  /* the tracker list as it is now (added and removed ones included) */
  {
    g_autoptr(GPtrArray) tiers = gbt_torrent_dup_tiers (self);
    g_key_file_set_integer (kf, group, "tiers", (int) tiers->len);
    for (guint t = 0; t < tiers->len; t++)
      {
        g_autofree char *key = g_strdup_printf ("tier-%u", t);
        GStrv urls = g_ptr_array_index (tiers, t);
        g_key_file_set_string_list (kf, group, key, (const char *const *) urls,
                                    g_strv_length (urls));
      }
  }
  if (n == 0)
    return;
  gbt_torrent_save_rename_state (self, kf, group);
  prio = g_new (int, n);
  for (guint i = 0; i < n; i++)
    {
      prio[i] = (int) gbt_torrent_get_file_priority (self, i);
      all_normal = all_normal && prio[i] == GBT_FILE_PRIORITY_NORMAL;
    }
  /* the usual case says nothing: a 10,000-file torrent costs no line */
  if (!all_normal)
    g_key_file_set_integer_list (kf, group, "file-priorities", prio, n);
}

void
gbt_torrent_save_magnet_state (GbtTorrent *self, GKeyFile *kf, const char *group)
{
  if (self->magnet == NULL)
    return;
  g_key_file_set_string_list (kf, group, "magnet-trackers",
                              (const char *const *) self->magnet->trackers,
                              g_strv_length (self->magnet->trackers));
  g_key_file_set_string_list (kf, group, "magnet-peers", (const char *const *) self->magnet->peers,
                              g_strv_length (self->magnet->peers));
}

void
gbt_torrent_load_state (GbtTorrent *self, GKeyFile *kf, const char *group)
{
  gint64 added = g_key_file_get_int64 (kf, group, "added-time", NULL);
  double ratio = g_key_file_get_double (kf, group, "seed-ratio-limit", NULL);
  int max_peers = g_key_file_get_integer (kf, group, "max-peers", NULL);

  if (added > 0)
    self->added_time = added;
  gbt_torrent_set_rate_limits (self, g_key_file_get_uint64 (kf, group, "upload-limit", NULL),
                               g_key_file_get_uint64 (kf, group, "download-limit", NULL));
  gbt_torrent_set_max_peers (self, (guint) MAX (max_peers, 0));
  gbt_torrent_set_seed_limits (self, isfinite (ratio) && ratio > 0 ? ratio : 0,
                               (guint) MIN (g_key_file_get_uint64 (kf, group, "seed-time-limit", NULL),
                                            G_MAXUINT));
  gbt_torrent_set_sequential (self, g_key_file_get_boolean (kf, group, "sequential", NULL));
  if (g_key_file_has_key (kf, group, "tiers", NULL))
    {
      int n_tiers = g_key_file_get_integer (kf, group, "tiers", NULL);
      g_autoptr(GPtrArray) tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

      for (int t = 0; t >= 0 && t < MIN (n_tiers, 1000); t++)
        {
          g_autofree char *key = g_strdup_printf ("tier-%d", t);
          GStrv urls = g_key_file_get_string_list (kf, group, key, NULL, NULL);
          if (urls && urls[0])
            g_ptr_array_add (tiers, urls);
          else
            g_strfreev (urls);
        }
      gbt_torrent_set_tiers (self, tiers);
    }
  gbt_torrent_load_rename_state (self, kf, group);
  if (self->metainfo)
    {
      gsize n = 0;
      g_autofree int *prio = g_key_file_get_integer_list (kf, group, "file-priorities", &n, NULL);

      /* a list for another file count is not this torrent's: ignored */
      if (prio && n == gbt_metainfo_get_n_files (self->metainfo))
        for (guint i = 0; i < n; i++)
          if (prio[i] >= GBT_FILE_PRIORITY_SKIP && prio[i] <= GBT_FILE_PRIORITY_HIGH
              && prio[i] != GBT_FILE_PRIORITY_NORMAL)
            gbt_torrent_set_file_priority (self, i, (GbtFilePriority) prio[i]);
    }
}
