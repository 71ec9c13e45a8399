/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tracker manager: BEP 12 tiers, intervals, retries and events for one
 * torrent.  Tracker plugins only carry a request; every decision about when
 * and to whom to announce is made here.
 *
 * A round walks the tiers in order, and each tier in its (once shuffled)
 * order, until one tracker answers; that tracker moves to the front of its
 * tier (BEP 12), so the next round starts with it.  A round in which every
 * tracker failed is retried after an exponential backoff with jitter, so
 * that many clients restarted together do not hammer a tracker in step.
 *
 * Rounds are paced process-wide: a daemon that starts a thousand torrents
 * would otherwise open a thousand connections to their (often one) tracker
 * in the same second.  A burst of PACE_BURST rounds goes at once, then one
 * every PACE_GAP_US (a GCRA: each round reserves the next slot, and a
 * manager whose slot is later waits for it on its own timer).
 */
#include "config.h"

#include <string.h>

#include "gbt-tracker-manager-private.h"

#define DEFAULT_INTERVAL_MS (1800 * 1000)
#define DEFAULT_MIN_INTERVAL_MS (60 * 1000)
/* Trackers asking for less are misconfigured or hostile: clamp. */
#define MIN_INTERVAL_FLOOR_MS (30 * 1000)
#define RETRY_BASE_MS (15 * 1000)
#define RETRY_MAX_MS (30 * 60 * 1000)
/* stopped is a courtesy: never hold up shutdown for long */
#define STOP_TIMEOUT_MS 5000
/* A tracker that hangs must not hold up the round: after this the next one
 * is tried.  Long enough for a UDP tracker's first retransmission (BEP 15:
 * 15 s) and a slow HTTP tracker. */
#define ANNOUNCE_TIMEOUT_MS (20 * 1000)
#define PACE_BURST 40
#define PACE_GAP_US (G_USEC_PER_SEC / 40)

static GMutex pace_lock;
/* under pace_lock: the theoretical time of the next round, PACE_BURST gaps
 * ahead of the slot it may have */
static gint64 pace_tat_us;


static void announce_round (GbtTrackerManager *mgr);
static void arm_watchdog (GbtTrackerManager *mgr, AnnounceOp *op);
static void try_current (GbtTrackerManager *mgr);

/* a tracker's state or the schedule changed: the owner may look again */
static void
notify_changed (GbtTrackerManager *mgr)
{
  if (mgr->ops.changed != NULL)
    mgr->ops.changed (mgr->data);
}

static void
tracker_free (Tracker *t)
{
  g_free (t->url);
  g_free (t->scheme);
  g_free (t->last_error);
  g_free (t->warning);
  g_free (t->tracker_id);
  g_free (t);
}

static Tracker *
tracker_new (const char *url, guint tier)
{
  Tracker *t = g_new0 (Tracker, 1);
  g_autofree char *scheme = g_uri_parse_scheme (url);

  t->url = g_strdup (url);
  t->tier = tier;
  t->scheme = scheme ? g_ascii_strdown (scheme, -1) : NULL;
  t->seeders = -1;
  t->leechers = -1;
  return t;
}

static void
shuffle (GPtrArray *array)
{
  /* Fisher-Yates: BEP 12 shuffles each tier once, when the torrent loads. */
  for (guint i = array->len; i > 1; i--)
    {
      guint j = g_random_int_range (0, i);
      gpointer tmp = array->pdata[i - 1];

      array->pdata[i - 1] = array->pdata[j];
      array->pdata[j] = tmp;
    }
}

GbtTrackerManager *
gbt_tracker_manager_new (GbtPluginRegistry *registry, const guint8 info_hash[20],
                         const guint8 peer_id[20], guint16 port, GPtrArray *tiers,
                         const GbtTrackerManagerOps *ops, gpointer data)
{
  GbtTrackerManager *mgr;

  g_return_val_if_fail (registry == NULL || GBT_IS_PLUGIN_REGISTRY (registry), NULL);
  g_return_val_if_fail (info_hash != NULL && peer_id != NULL, NULL);
  g_return_val_if_fail (ops != NULL, NULL);

  mgr = g_new0 (GbtTrackerManager, 1);
  mgr->registry = registry ? g_object_ref (registry) : NULL;
  memcpy (mgr->info_hash, info_hash, 20);
  memcpy (mgr->peer_id, peer_id, 20);
  mgr->port = port;
  mgr->ops = *ops;
  mgr->data = data;
  mgr->context = g_main_context_ref_thread_default ();
  mgr->numwant = -1;
  mgr->key = g_random_int ();
  mgr->min_interval_floor_ms = MIN_INTERVAL_FLOOR_MS;
  mgr->retry_base_ms = RETRY_BASE_MS;
  mgr->announce_timeout_ms = ANNOUNCE_TIMEOUT_MS;
  mgr->interval_ms = DEFAULT_INTERVAL_MS;
  mgr->min_interval_ms = DEFAULT_MIN_INTERVAL_MS;
  mgr->cancellable = g_cancellable_new ();
  mgr->inflight = g_ptr_array_new ();
  mgr->tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; tiers != NULL && i < tiers->len; i++)
    {
      GStrv urls = g_ptr_array_index (tiers, i);
      GPtrArray *tier = g_ptr_array_new_with_free_func ((GDestroyNotify) tracker_free);

      for (guint j = 0; urls != NULL && urls[j] != NULL; j++)
        {
          gboolean seen = FALSE;

          /* the same URL twice would only be announced to twice */
          for (guint k = 0; k < mgr->tiers->len && !seen; k++)
            {
              GPtrArray *other = g_ptr_array_index (mgr->tiers, k);
              for (guint l = 0; l < other->len && !seen; l++)
                seen = g_str_equal (((Tracker *) other->pdata[l])->url, urls[j]);
            }
          for (guint l = 0; l < tier->len && !seen; l++)
            seen = g_str_equal (((Tracker *) tier->pdata[l])->url, urls[j]);
          if (!seen && *urls[j] != '\0')
            g_ptr_array_add (tier, tracker_new (urls[j], i));
        }
      if (tier->len == 0)
        {
          g_ptr_array_unref (tier);
          continue;
        }
      shuffle (tier);
      g_ptr_array_add (mgr->tiers, tier);
    }
  return mgr;
}

GbtTracker *
gbt_tracker_manager_lookup (GbtTrackerManager *mgr, const char *scheme)
{
  if (scheme == NULL)
    return NULL;
  if (mgr->lookup_func != NULL)
    return mgr->lookup_func (scheme, mgr->lookup_data);
  if (mgr->registry == NULL)
    return NULL;
  return gbt_plugin_registry_get_tracker (mgr->registry, scheme);
}

static const char *
plugin_hint (const char *scheme)
{
  if (g_str_equal (scheme, "http") || g_str_equal (scheme, "https"))
    return "tracker-http";
  if (g_str_equal (scheme, "udp"))
    return "tracker-udp";
  return NULL;
}

gboolean
gbt_tracker_manager_check (GbtTrackerManager *mgr, GError **error)
{
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autoptr(GString) schemes = g_string_new (NULL);
  g_autoptr(GString) plugins = g_string_new (NULL);
  gboolean any_url = FALSE;

  g_return_val_if_fail (mgr != NULL, FALSE);

  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          const char *scheme = t->scheme ? t->scheme : "(none)";

          any_url = TRUE;
          if (gbt_tracker_manager_lookup (mgr, t->scheme) != NULL)
            return TRUE;
          if (!g_ptr_array_find_with_equal_func (missing, scheme, g_str_equal, NULL))
            g_ptr_array_add (missing, (gpointer) scheme);
        }
    }

  if (!any_url)
    {
      g_set_error_literal (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                           "the torrent lists no trackers");
      return FALSE;
    }
  for (guint i = 0; i < missing->len; i++)
    {
      const char *hint = plugin_hint (missing->pdata[i]);

      g_string_append_printf (schemes, "%s%s", i ? ", " : "", (char *) missing->pdata[i]);
      if (hint != NULL && strstr (plugins->str, hint) == NULL)
        g_string_append_printf (plugins, "%s%s", plugins->len ? ", " : "", hint);
    }
  if (plugins->len == 0)
    g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                 "no tracker plugin for scheme %s", schemes->str);
  else
    g_set_error (error, GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                 "no tracker plugin for scheme %s (%s the %s plugin%s installed?)",
                 schemes->str, strchr (plugins->str, ',') ? "are" : "is", plugins->str,
                 strchr (plugins->str, ',') ? "s" : "");
  return FALSE;
}

/* ---- timers ---------------------------------------------------------- */

static void
cancel_timer (GbtTrackerManager *mgr)
{
  if (mgr->timer != NULL)
    {
      g_source_destroy (mgr->timer);
      g_clear_pointer (&mgr->timer, g_source_unref);
    }
  mgr->next_announce_us = 0;
}

static gboolean
timer_cb (gpointer user_data)
{
  GbtTrackerManager *mgr = user_data;

  g_clear_pointer (&mgr->timer, g_source_unref);
  mgr->next_announce_us = 0;
  announce_round (mgr);
  return G_SOURCE_REMOVE;
}

static void
schedule (GbtTrackerManager *mgr, gint64 delay_ms)
{
  cancel_timer (mgr);
  delay_ms = MAX (delay_ms, 0);
  mgr->next_announce_us = g_get_monotonic_time () + delay_ms * 1000;
  mgr->timer = g_timeout_source_new ((guint) MIN (delay_ms, G_MAXUINT));
  g_source_set_callback (mgr->timer, timer_cb, mgr, NULL);
  g_source_attach (mgr->timer, mgr->context);
  notify_changed (mgr);
}

void
gbt_tracker_manager_set_port (GbtTrackerManager *mgr, guint16 port)
{
  if (port == mgr->port)
    return;
  mgr->port = port;
  /* an announce out now carries the old port: another follows it */
  mgr->port_pending = mgr->current != NULL;
}

/* ---- announcing ------------------------------------------------------ */

static GbtAnnounceRequest *
build_request (GbtTrackerManager *mgr, Tracker *t, GbtAnnounceEvent event)
{
  GbtAnnounceRequest *req = gbt_announce_request_new ();

  req->url = g_strdup (t->url);
  memcpy (req->info_hash, mgr->info_hash, 20);
  memcpy (req->peer_id, mgr->peer_id, 20);
  req->port = mgr->port;
  req->event = event;
  if (mgr->ops.get_stats != NULL)
    mgr->ops.get_stats (mgr->data, &req->uploaded, &req->downloaded, &req->left);
  /* stopped wants no peers: numwant 0 spares the tracker the work */
  req->numwant = event == GBT_ANNOUNCE_EVENT_STOPPED ? 0 : mgr->numwant;
  req->key = mgr->key;
  req->tracker_id = g_strdup (t->tracker_id);
  req->bind_address = mgr->bind_address ? g_object_ref (mgr->bind_address) : NULL;
  req->timeout_ms = event == GBT_ANNOUNCE_EVENT_STOPPED ? STOP_TIMEOUT_MS
                                                       : mgr->announce_timeout_ms;
  return req;
}

static void
op_free (AnnounceOp *op)
{
  if (op->watchdog != NULL)
    {
      g_source_destroy (op->watchdog);
      g_source_unref (op->watchdog);
    }
  if (op->mgr != NULL)
    g_ptr_array_remove (op->mgr->inflight, op);
  g_clear_object (&op->impl);
  g_free (op);
}

static void
op_detach (AnnounceOp *op)
{
  if (op->watchdog != NULL)
    {
      g_source_destroy (op->watchdog);
      g_clear_pointer (&op->watchdog, g_source_unref);
    }
  g_ptr_array_remove (op->mgr->inflight, op);
  op->mgr = NULL;
}

static void
move_to_front (GbtTrackerManager *mgr, Tracker *t)
{
  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);
      guint index;

      if (g_ptr_array_find (tier, t, &index))
        {
          /* BEP 12: a tracker that answers goes to the front of its tier */
          memmove (tier->pdata + 1, tier->pdata, index * sizeof (gpointer));
          tier->pdata[0] = t;
          return;
        }
    }
}

/* What one answer teaches: the tracker's state, events acknowledged, the
 * intervals.  Returns the interval to wait. */
static gint64
tracker_succeeded (GbtTrackerManager *mgr, AnnounceOp *op, GbtAnnounceResponse *resp)
{
  Tracker *t = op->tracker;
  gint64 interval_ms, min_interval_ms;

  t->state = TRACKER_OK;
  t->announced = TRUE;
  t->last_announce = g_get_real_time () / G_USEC_PER_SEC;
  g_clear_pointer (&t->last_error, g_free);
  g_free (t->warning);
  t->warning = g_strdup (resp->warning_message);
  if (resp->warning_message != NULL)
    g_debug ("tracker %s warns: %s", t->url, resp->warning_message);
  if (resp->tracker_id != NULL)
    {
      g_free (t->tracker_id);
      t->tracker_id = g_strdup (resp->tracker_id);
    }
  t->seeders = resp->complete;
  t->leechers = resp->incomplete;
  move_to_front (mgr, t);

  if (op->event == GBT_ANNOUNCE_EVENT_STARTED)
    mgr->started_acked = TRUE;
  if (op->event == GBT_ANNOUNCE_EVENT_COMPLETED)
    mgr->completed_pending = FALSE;

  interval_ms = resp->interval >= 0 ? MIN (resp->interval, G_MAXINT32) * 1000
                                    : DEFAULT_INTERVAL_MS;
  interval_ms = MAX (interval_ms, (gint64) mgr->min_interval_floor_ms);
  min_interval_ms = resp->min_interval >= 0 ? MIN (resp->min_interval, G_MAXINT32) * 1000
                                            : MIN (interval_ms, DEFAULT_MIN_INTERVAL_MS);
  min_interval_ms = CLAMP (min_interval_ms, (gint64) mgr->min_interval_floor_ms, interval_ms);
  mgr->interval_ms = interval_ms;
  mgr->min_interval_ms = min_interval_ms;
  mgr->last_success_us = g_get_monotonic_time ();
  mgr->fail_streak = 0;
  mgr->retry_until_us = 0;

  g_debug ("tracker %s: %u peers, next announce in %" G_GINT64_FORMAT " ms", t->url,
           resp->peers->len, interval_ms);
  return interval_ms;
}

static void
schedule_next (GbtTrackerManager *mgr)
{
  /* completed came in while started was in flight, or the port changed
   * (a router mapping): send it now */
  if ((mgr->completed_pending && mgr->started_acked) || mgr->port_pending)
    {
      mgr->port_pending = FALSE;
      schedule (mgr, 0);
    }
  else
    schedule (mgr, mgr->interval_ms);
}

static void
round_succeeded (GbtTrackerManager *mgr, AnnounceOp *op, GbtAnnounceResponse *resp)
{
  tracker_succeeded (mgr, op, resp);
  schedule_next (mgr);

  /* last: the callback may call back into us (announce_now, even stop) */
  if (resp->peers->len > 0 && mgr->ops.peers_found != NULL)
    mgr->ops.peers_found (mgr->data, resp->peers, op->tracker->url);
}

static void
round_failed (GbtTrackerManager *mgr)
{
  gint64 delay_ms = mgr->retry_base_ms;

  mgr->fail_streak++;
  for (guint i = 1; i < mgr->fail_streak && delay_ms < RETRY_MAX_MS; i++)
    delay_ms *= 2;
  delay_ms = MIN (delay_ms, RETRY_MAX_MS);
  delay_ms = (gint64) (delay_ms * g_random_double_range (0.75, 1.25));
  mgr->retry_until_us = g_get_monotonic_time () + delay_ms * 1000;
  g_debug ("every tracker failed (%u in a row): retrying in %" G_GINT64_FORMAT " ms",
           mgr->fail_streak, delay_ms);
  schedule (mgr, delay_ms);
}

static void
record_failure (Tracker *t, const GError *error)
{
  t->state = TRACKER_ERROR;
  t->last_announce = g_get_real_time () / G_USEC_PER_SEC;
  g_free (t->last_error);
  t->last_error = g_strdup (error->message);
  g_debug ("tracker %s failed: %s", t->url, error->message);
}

/* On to the next tracker of the round: the rest of this tier, then the
 * next tier (BEP 12). */
static void
advance (GbtTrackerManager *mgr)
{
  GPtrArray *tier = g_ptr_array_index (mgr->tiers, mgr->round_tier);

  if (++mgr->round_index >= tier->len)
    {
      mgr->round_tier++;
      mgr->round_index = 0;
    }
  try_current (mgr);
}

static void
announce_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AnnounceOp *op = user_data;
  GbtTrackerManager *mgr = op->mgr;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GError) error = NULL;

  resp = gbt_tracker_announce_finish (GBT_TRACKER (source), result, &error);
  if (mgr == NULL)
    {
      /* detached: cancelled by stop or free */
      op_free (op);
      return;
    }
  g_assert (mgr->current == op);
  mgr->current = NULL;
  if (resp != NULL)
    round_succeeded (mgr, op, resp);
  else
    {
      record_failure (op->tracker, error);
      advance (mgr);
    }
  op_free (op);
}

/* Announce-to-all: every tracker of every tier gets the announce; the round
 * ends when all have answered or failed, and fails only if all failed. */
static void
announce_all_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AnnounceOp *op = user_data;
  GbtTrackerManager *mgr = op->mgr;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GError) error = NULL;

  resp = gbt_tracker_announce_finish (GBT_TRACKER (source), result, &error);
  if (mgr == NULL)
    {
      op_free (op);
      return;
    }
  if (resp != NULL)
    {
      tracker_succeeded (mgr, op, resp);
      mgr->all_succeeded = TRUE;
    }
  else
    record_failure (op->tracker, error);
  op_detach (op);
  if (--mgr->all_pending == 0)
    {
      mgr->current = NULL;
      if (mgr->all_succeeded)
        schedule_next (mgr);
      else
        round_failed (mgr);
    }
  /* last: the callback may call back into us (announce_now, even stop or
   * free), and the op is detached already */
  if (resp != NULL && resp->peers->len > 0 && mgr->ops.peers_found != NULL)
    mgr->ops.peers_found (mgr->data, resp->peers, op->tracker->url);
  op_free (op);
}

static void
announce_all (GbtTrackerManager *mgr)
{
  GbtAnnounceEvent event = !mgr->started_acked ? GBT_ANNOUNCE_EVENT_STARTED
                           : mgr->completed_pending ? GBT_ANNOUNCE_EVENT_COMPLETED
                           : GBT_ANNOUNCE_EVENT_NONE;
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();

  mgr->all_succeeded = FALSE;
  mgr->all_pending = 0;
  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          GbtTracker *impl = gbt_tracker_manager_lookup (mgr, t->scheme);
          AnnounceOp *op;

          if (impl == NULL)
            {
              g_autoptr(GError) error
                = g_error_new (GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                               "no tracker plugin for scheme %s",
                               t->scheme ? t->scheme : "(none)");
              record_failure (t, error);
              continue;
            }
          op = g_new0 (AnnounceOp, 1);
          op->mgr = mgr;
          op->impl = g_object_ref (impl);
          op->tracker = t;
          op->event = event;
          g_ptr_array_add (mgr->inflight, op);
          g_ptr_array_add (ops, op);
          t->state = TRACKER_ANNOUNCING;
        }
    }
  if (ops->len == 0)
    {
      round_failed (mgr);
      return;
    }
  /* all counted before the first request goes out: none may end the
   * round early, even one that fails at once */
  mgr->all_pending = ops->len;
  mgr->current = ops->pdata[0];
  for (guint i = 0; i < ops->len; i++)
    {
      AnnounceOp *op = ops->pdata[i];
      g_autoptr(GbtAnnounceRequest) req = build_request (mgr, op->tracker, event);

      arm_watchdog (mgr, op);
      gbt_tracker_announce_async (op->impl, req, mgr->cancellable, announce_all_cb, op);
    }
  notify_changed (mgr);
}

/* The tracker did not answer in time (and its plugin did not say so): the
 * round moves on; the request's late answer is dropped. */
static gboolean
watchdog_cb (gpointer user_data)
{
  AnnounceOp *op = user_data;
  GbtTrackerManager *mgr = op->mgr;
  g_autoptr(GError) error = g_error_new (GBT_TRACKER_ERROR, GBT_TRACKER_ERROR_TIMEOUT,
                                         "no answer within %u ms", mgr->announce_timeout_ms);

  g_clear_pointer (&op->watchdog, g_source_unref);
  record_failure (op->tracker, error);
  op_detach (op);
  if (op->solo)
    {
      notify_changed (mgr);
      return G_SOURCE_REMOVE;
    }
  if (mgr->announce_to_all)
    {
      if (--mgr->all_pending == 0)
        {
          mgr->current = NULL;
          if (mgr->all_succeeded)
            schedule_next (mgr);
          else
            round_failed (mgr);
        }
      return G_SOURCE_REMOVE;
    }
  mgr->current = NULL;
  advance (mgr);
  return G_SOURCE_REMOVE;
}

static void
arm_watchdog (GbtTrackerManager *mgr, AnnounceOp *op)
{
  if (mgr->announce_timeout_ms == 0)
    return;
  /* a little after the plugin's own bound, which should come first */
  op->watchdog = g_timeout_source_new (mgr->announce_timeout_ms + 1000);
  g_source_set_callback (op->watchdog, watchdog_cb, op, NULL);
  g_source_attach (op->watchdog, mgr->context);
}

static void
try_current (GbtTrackerManager *mgr)
{
  while (mgr->round_tier < mgr->tiers->len)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, mgr->round_tier);
      Tracker *t = g_ptr_array_index (tier, mgr->round_index);
      GbtTracker *impl = gbt_tracker_manager_lookup (mgr, t->scheme);
      g_autoptr(GbtAnnounceRequest) req = NULL;
      AnnounceOp *op;

      if (impl == NULL)
        {
          g_autoptr(GError) error
            = g_error_new (GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                           "no tracker plugin for scheme %s", t->scheme ? t->scheme : "(none)");
          record_failure (t, error);
          if (++mgr->round_index >= tier->len)
            {
              mgr->round_tier++;
              mgr->round_index = 0;
            }
          continue;
        }

      op = g_new0 (AnnounceOp, 1);
      op->mgr = mgr;
      op->impl = g_object_ref (impl);
      op->tracker = t;
      op->event = !mgr->started_acked ? GBT_ANNOUNCE_EVENT_STARTED
                  : mgr->completed_pending ? GBT_ANNOUNCE_EVENT_COMPLETED
                  : GBT_ANNOUNCE_EVENT_NONE;
      g_ptr_array_add (mgr->inflight, op);
      mgr->current = op;
      t->state = TRACKER_ANNOUNCING;
      req = build_request (mgr, t, op->event);
      arm_watchdog (mgr, op);
      gbt_tracker_announce_async (impl, req, mgr->cancellable, announce_cb, op);
      notify_changed (mgr);
      return;
    }
  round_failed (mgr);
}

/* the time reserved for a round asked for @now: at or before @now while
 * the burst lasts */
static gint64
pace_reserve (gint64 now)
{
  gint64 at;

  g_mutex_lock (&pace_lock);
  pace_tat_us = MAX (pace_tat_us, now);
  at = pace_tat_us - (gint64) (PACE_BURST - 1) * PACE_GAP_US;
  pace_tat_us += PACE_GAP_US;
  g_mutex_unlock (&pace_lock);
  return MAX (at, 1);
}

/* TRUE when a round may start now; otherwise it is scheduled for its slot */
static gboolean
pace_round (GbtTrackerManager *mgr)
{
  gint64 now = g_get_monotonic_time ();

  if (mgr->paced_at_us == 0)
    mgr->paced_at_us = pace_reserve (now);
  if (mgr->paced_at_us <= now)
    {
      mgr->paced_at_us = 0;
      return TRUE;
    }
  schedule (mgr, (mgr->paced_at_us - now + 999) / 1000);
  return FALSE;
}

static void
announce_round (GbtTrackerManager *mgr)
{
  if (!mgr->running || mgr->current != NULL || mgr->tiers->len == 0)
    return;
  if (!pace_round (mgr))
    return;
  cancel_timer (mgr);
  if (mgr->announce_to_all)
    {
      announce_all (mgr);
      return;
    }
  mgr->round_tier = 0;
  mgr->round_index = 0;
  try_current (mgr);
}

void
gbt_tracker_manager_start (GbtTrackerManager *mgr)
{
  g_return_if_fail (mgr != NULL);
  g_return_if_fail (mgr->stop_task == NULL);

  if (mgr->running)
    return;
  mgr->running = TRUE;
  mgr->started_acked = FALSE;
  mgr->fail_streak = 0;
  mgr->retry_until_us = 0;
  announce_round (mgr);
}

void
gbt_tracker_manager_completed (GbtTrackerManager *mgr)
{
  g_return_if_fail (mgr != NULL);

  mgr->completed_pending = TRUE;
  /* BEP 3: completed is sent when the download finishes, whatever the
   * interval; if started is still unanswered it follows right after. */
  if (mgr->running && mgr->current == NULL && mgr->started_acked)
    announce_round (mgr);
}

void
gbt_tracker_manager_announce_now (GbtTrackerManager *mgr)
{
  gint64 now, earliest;

  g_return_if_fail (mgr != NULL);

  if (!mgr->running || mgr->current != NULL)
    return;
  now = g_get_monotonic_time ();
  earliest = MAX (mgr->retry_until_us,
                  mgr->last_success_us ? mgr->last_success_us + mgr->min_interval_ms * 1000 : 0);
  if (earliest <= now)
    announce_round (mgr);
  else if (mgr->next_announce_us == 0 || mgr->next_announce_us > earliest)
    schedule (mgr, (earliest - now + 999) / 1000);
}

/* ---- stopping -------------------------------------------------------- */

static void
stop_done (GbtTrackerManager *mgr)
{
  g_autoptr(GTask) task = g_steal_pointer (&mgr->stop_task);

  if (mgr->stop_timer != NULL)
    {
      g_source_destroy (mgr->stop_timer);
      g_clear_pointer (&mgr->stop_timer, g_source_unref);
    }
  /* any straggler is detached (first): its answer no longer matters */
  for (guint i = mgr->inflight->len; i > 0; i--)
    op_detach (g_ptr_array_index (mgr->inflight, i - 1));
  g_cancellable_cancel (mgr->stop_cancellable);
  g_clear_object (&mgr->stop_cancellable);
  mgr->stop_pending = 0;
  notify_changed (mgr);
  g_task_return_boolean (task, TRUE);
}

static void
stop_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AnnounceOp *op = user_data;
  GbtTrackerManager *mgr = op->mgr;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GError) error = NULL;

  resp = gbt_tracker_announce_finish (GBT_TRACKER (source), result, &error);
  if (mgr == NULL)
    {
      op_free (op);
      return;
    }
  if (resp == NULL)
    record_failure (op->tracker, error);
  else
    op->tracker->state = TRACKER_IDLE;
  op_free (op);
  if (--mgr->stop_pending == 0)
    stop_done (mgr);
}

static gboolean
stop_timeout_cb (gpointer user_data)
{
  GbtTrackerManager *mgr = user_data;

  g_debug ("stopped announces unanswered after %d ms: giving up", STOP_TIMEOUT_MS);
  g_clear_pointer (&mgr->stop_timer, g_source_unref);
  stop_done (mgr);
  return G_SOURCE_REMOVE;
}

void
gbt_tracker_manager_stop_async (GbtTrackerManager *mgr, GAsyncReadyCallback callback,
                                gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (mgr != NULL);
  g_return_if_fail (mgr->stop_task == NULL);

  task = g_task_new (NULL, NULL, callback, user_data);
  g_task_set_source_tag (task, gbt_tracker_manager_stop_async);

  mgr->running = FALSE;
  cancel_timer (mgr);
  /* The round in flight is abandoned: its answer must not restart timers.
   * Detach before cancelling, as a plugin may answer from inside cancel. */
  for (guint i = mgr->inflight->len; i > 0; i--)
    {
      AnnounceOp *op = g_ptr_array_index (mgr->inflight, i - 1);
      if (op->tracker->state == TRACKER_ANNOUNCING)
        op->tracker->state = TRACKER_IDLE;
      op_detach (op);
    }
  mgr->current = NULL;
  g_cancellable_cancel (mgr->cancellable);
  g_clear_object (&mgr->cancellable);
  mgr->cancellable = g_cancellable_new ();

  mgr->stop_task = g_steal_pointer (&task);
  mgr->stop_cancellable = g_cancellable_new ();
  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          GbtTracker *impl;
          g_autoptr(GbtAnnounceRequest) req = NULL;
          AnnounceOp *op;

          if (!t->announced)
            continue;
          t->announced = FALSE;
          impl = gbt_tracker_manager_lookup (mgr, t->scheme);
          if (impl == NULL)
            continue;
          op = g_new0 (AnnounceOp, 1);
          op->mgr = mgr;
          op->impl = g_object_ref (impl);
          op->tracker = t;
          op->event = GBT_ANNOUNCE_EVENT_STOPPED;
          g_ptr_array_add (mgr->inflight, op);
          mgr->stop_pending++;
          req = build_request (mgr, t, GBT_ANNOUNCE_EVENT_STOPPED);
          gbt_tracker_announce_async (impl, req, mgr->stop_cancellable, stop_cb, op);
        }
    }
  mgr->started_acked = FALSE;
  mgr->completed_pending = FALSE;

  if (mgr->stop_pending == 0)
    {
      stop_done (mgr);
      return;
    }
  /* a plugin that ignores timeout_ms must not hold up shutdown */
  mgr->stop_timer = g_timeout_source_new (STOP_TIMEOUT_MS + 500);
  g_source_set_callback (mgr->stop_timer, stop_timeout_cb, mgr, NULL);
  g_source_attach (mgr->stop_timer, mgr->context);
}

gboolean
gbt_tracker_manager_stop_finish (GbtTrackerManager *mgr, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gbt_tracker_manager_stop_async,
                        FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
gbt_tracker_manager_free (GbtTrackerManager *mgr)
{
  if (mgr == NULL)
    return;

  cancel_timer (mgr);
  if (mgr->stop_timer != NULL)
    {
      g_source_destroy (mgr->stop_timer);
      g_clear_pointer (&mgr->stop_timer, g_source_unref);
    }
  for (guint i = mgr->inflight->len; i > 0; i--)
    op_detach (g_ptr_array_index (mgr->inflight, i - 1));
  g_cancellable_cancel (mgr->cancellable);
  g_clear_object (&mgr->cancellable);
  if (mgr->stop_cancellable != NULL)
    g_cancellable_cancel (mgr->stop_cancellable);
  g_clear_object (&mgr->stop_cancellable);
  if (mgr->stop_task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&mgr->stop_task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "tracker manager freed while stopping");
    }
  g_ptr_array_unref (mgr->inflight);
  g_ptr_array_unref (mgr->tiers);
  g_clear_object (&mgr->bind_address);
  g_clear_object (&mgr->registry);
  g_main_context_unref (mgr->context);
  g_free (mgr);
}

/* ---- trackers added and removed while the torrent runs -------------- */

static Tracker *
find_tracker (GbtTrackerManager *mgr, const char *url, guint *tier_index, guint *index)
{
  for (guint i = 0; i < mgr->tiers->len; i++)
    {
      GPtrArray *tier = g_ptr_array_index (mgr->tiers, i);

      for (guint j = 0; j < tier->len; j++)
        {
          Tracker *t = g_ptr_array_index (tier, j);
          if (g_str_equal (t->url, url))
            {
              if (tier_index)
                *tier_index = i;
              if (index)
                *index = j;
              return t;
            }
        }
    }
  return NULL;
}

static void
solo_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  AnnounceOp *op = user_data;
  GbtTrackerManager *mgr = op->mgr;
  g_autoptr(GbtAnnounceResponse) resp = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  Tracker *t = op->tracker;

  resp = gbt_tracker_announce_finish (GBT_TRACKER (source), result, &error);
  if (mgr == NULL)
    {
      op_free (op);
      return;
    }
  url = g_strdup (t->url);
  op_detach (op);
  if (resp != NULL && mgr->current == NULL)
    {
      /* no round in flight: its answer is the manager's news (a started
       * acknowledged, the interval), and the next round comes after it */
      tracker_succeeded (mgr, op, resp);
      schedule_next (mgr);
    }
  else if (resp != NULL)
    {
      t->state = TRACKER_OK;
      t->announced = TRUE;
      t->last_announce = g_get_real_time () / G_USEC_PER_SEC;
      g_clear_pointer (&t->last_error, g_free);
      if (resp->tracker_id != NULL)
        {
          g_free (t->tracker_id);
          t->tracker_id = g_strdup (resp->tracker_id);
        }
      t->seeders = resp->complete;
      t->leechers = resp->incomplete;
    }
  else
    {
      record_failure (t, error);
      /* a manager that had no tracker has no round to retry it in */
      if (mgr->current == NULL && mgr->timer == NULL)
        round_failed (mgr);
    }
  notify_changed (mgr);
  /* last: the callback may call back into us */
  if (resp != NULL && resp->peers->len > 0 && mgr->ops.peers_found != NULL)
    mgr->ops.peers_found (mgr->data, resp->peers, url);
  op_free (op);
}

/* A tracker added while we run has never heard of us: it gets a started
 * of its own at once, outside the rounds (which reach it in turn later). */
static void
solo_announce (GbtTrackerManager *mgr, Tracker *t)
{
  GbtTracker *impl = gbt_tracker_manager_lookup (mgr, t->scheme);
  g_autoptr(GbtAnnounceRequest) req = NULL;
  AnnounceOp *op;

  if (impl == NULL)
    {
      g_autoptr(GError) error = g_error_new (GBT_PLUGIN_ERROR, GBT_PLUGIN_ERROR_MISSING,
                                             "no tracker plugin for scheme %s",
                                             t->scheme ? t->scheme : "(none)");
      record_failure (t, error);
      return;
    }
  op = g_new0 (AnnounceOp, 1);
  op->mgr = mgr;
  op->impl = g_object_ref (impl);
  op->tracker = t;
  op->event = GBT_ANNOUNCE_EVENT_STARTED;
  op->solo = TRUE;
  g_ptr_array_add (mgr->inflight, op);
  t->state = TRACKER_ANNOUNCING;
  req = build_request (mgr, t, op->event);
  arm_watchdog (mgr, op);
  gbt_tracker_announce_async (impl, req, mgr->cancellable, solo_cb, op);
}

gboolean
gbt_tracker_manager_add_tracker (GbtTrackerManager *mgr, const char *url, guint tier_number)
{
  Tracker *t;
  GPtrArray *tier = NULL;
  guint pos;

  g_return_val_if_fail (mgr != NULL && url != NULL, FALSE);

  if (*url == '\0' || find_tracker (mgr, url, NULL, NULL) != NULL)
    return FALSE;
  t = tracker_new (url, tier_number);
  for (pos = 0; pos < mgr->tiers->len; pos++)
    {
      GPtrArray *other = g_ptr_array_index (mgr->tiers, pos);
      guint n = ((Tracker *) other->pdata[0])->tier;

      if (n == tier_number)
        tier = other;
      if (n >= tier_number)
        break;
    }
  if (tier != NULL)
    g_ptr_array_add (tier, t);
  else
    {
      tier = g_ptr_array_new_with_free_func ((GDestroyNotify) tracker_free);
      g_ptr_array_add (tier, t);
      g_ptr_array_insert (mgr->tiers, (gint) pos, tier);
      /* a round in flight keeps its place */
      if (mgr->current != NULL && !mgr->announce_to_all && pos <= mgr->round_tier)
        mgr->round_tier++;
    }
  if (mgr->running && mgr->stop_task == NULL)
    solo_announce (mgr, t);
  notify_changed (mgr);
  return TRUE;
}

gboolean
gbt_tracker_manager_remove_tracker (GbtTrackerManager *mgr, const char *url)
{
  guint ti = 0, ri = 0;
  Tracker *t;
  GPtrArray *tier;
  gboolean was_current = FALSE, tier_gone, end_all = FALSE, stop_over = FALSE;

  g_return_val_if_fail (mgr != NULL && url != NULL, FALSE);

  t = find_tracker (mgr, url, &ti, &ri);
  if (t == NULL)
    return FALSE;
  /* its requests in flight are dropped: their answers only free them */
  for (guint i = mgr->inflight->len; i > 0; i--)
    {
      AnnounceOp *op = g_ptr_array_index (mgr->inflight, i - 1);

      if (op->tracker != t)
        continue;
      if (mgr->stop_task != NULL)
        stop_over = mgr->stop_pending > 0 && --mgr->stop_pending == 0;
      else if (op->solo)
        ;
      else if (mgr->announce_to_all)
        end_all = mgr->all_pending > 0 && --mgr->all_pending == 0;
      else if (mgr->current == op)
        {
          mgr->current = NULL;
          was_current = TRUE;
        }
      op_detach (op);
    }

  tier = g_ptr_array_index (mgr->tiers, ti);
  g_ptr_array_remove_index (tier, ri);
  tier_gone = tier->len == 0;
  if (tier_gone)
    g_ptr_array_remove_index (mgr->tiers, ti);
  /* the round in flight keeps its place among those left */
  if (!mgr->announce_to_all && (mgr->current != NULL || was_current))
    {
      if (ti < mgr->round_tier && tier_gone)
        mgr->round_tier--;
      else if (ti == mgr->round_tier)
        {
          if (tier_gone)
            mgr->round_index = 0;
          else
            {
              if (ri < mgr->round_index)
                mgr->round_index--;
              if (mgr->round_index >= tier->len)
                {
                  mgr->round_tier++;
                  mgr->round_index = 0;
                }
            }
        }
    }
  if (was_current)
    try_current (mgr); /* the next tracker of the round */
  else if (end_all)
    {
      mgr->current = NULL;
      if (mgr->all_succeeded)
        schedule_next (mgr);
      else
        round_failed (mgr);
    }
  else if (stop_over)
    stop_done (mgr);
  notify_changed (mgr);
  return TRUE;
}

void
gbt_tracker_manager_force_announce (GbtTrackerManager *mgr)
{
  g_return_if_fail (mgr != NULL);

  if (!mgr->running || mgr->current != NULL)
    return;
  mgr->retry_until_us = 0;
  announce_round (mgr);
}
