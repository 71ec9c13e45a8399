/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTrackerEntry: one tracker URL of a torrent for apps (a row of a
 * trackers list), updated in place by its torrent from what its tracker
 * managers know (gbt-torrent-models.c).
 */
#include "config.h"

#include <gbt/gbt-enum-types.h>

#include "gbt-tracker-entry-private.h"

struct _GbtTrackerEntry {
  GObject parent_instance;

  char *url;
  guint tier;
  GbtTrackerStatus status;
  int seeders;
  int leechers;
  gint64 next_announce;
  gint64 last_announce;
  char *last_error;
};

enum {
  PROP_0,
  PROP_URL,
  PROP_TIER,
  PROP_STATUS,
  PROP_SEEDERS,
  PROP_LEECHERS,
  PROP_NEXT_ANNOUNCE,
  PROP_LAST_ANNOUNCE,
  PROP_LAST_ERROR,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (GbtTrackerEntry, gbt_tracker_entry, G_TYPE_OBJECT)

static void
gbt_tracker_entry_get_property (GObject *object, guint prop_id, GValue *value,
                                GParamSpec *pspec)
{
  GbtTrackerEntry *self = GBT_TRACKER_ENTRY (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_TIER:
      g_value_set_uint (value, self->tier);
      break;
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_SEEDERS:
      g_value_set_int (value, self->seeders);
      break;
    case PROP_LEECHERS:
      g_value_set_int (value, self->leechers);
      break;
    case PROP_NEXT_ANNOUNCE:
      g_value_set_int64 (value, self->next_announce);
      break;
    case PROP_LAST_ANNOUNCE:
      g_value_set_int64 (value, self->last_announce);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gbt_tracker_entry_finalize (GObject *object)
{
  GbtTrackerEntry *self = GBT_TRACKER_ENTRY (object);

  g_free (self->url);
  g_free (self->last_error);
  G_OBJECT_CLASS (gbt_tracker_entry_parent_class)->finalize (object);
}

static void
gbt_tracker_entry_class_init (GbtTrackerEntryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = gbt_tracker_entry_get_property;
  object_class->finalize = gbt_tracker_entry_finalize;

  /**
   * GbtTrackerEntry:url:
   *
   * The tracker's announce URL.
   */
  props[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL, ro);
  /**
   * GbtTrackerEntry:tier:
   *
   * Its tier (BEP 12), from 0.
   */
  props[PROP_TIER] = g_param_spec_uint ("tier", NULL, NULL, 0, G_MAXUINT, 0, ro);
  /**
   * GbtTrackerEntry:status: (type GbtTrackerStatus)
   *
   * How its announces go.
   */
  props[PROP_STATUS] = g_param_spec_enum ("status", NULL, NULL, GBT_TYPE_TRACKER_STATUS,
                                          GBT_TRACKER_STATUS_NOT_CONTACTED, ro);
  /**
   * GbtTrackerEntry:seeders:
   *
   * The seeders its last answer counted, -1 when unknown.
   */
  props[PROP_SEEDERS] = g_param_spec_int ("seeders", NULL, NULL, -1, G_MAXINT, -1, ro);
  /**
   * GbtTrackerEntry:leechers:
   *
   * The leechers its last answer counted, -1 when unknown.
   */
  props[PROP_LEECHERS] = g_param_spec_int ("leechers", NULL, NULL, -1, G_MAXINT, -1, ro);
  /**
   * GbtTrackerEntry:next-announce:
   *
   * When the next announce is due (Unix time in seconds), 0 when none is.
   */
  props[PROP_NEXT_ANNOUNCE] = g_param_spec_int64 ("next-announce", NULL, NULL, 0, G_MAXINT64, 0,
                                                  ro);
  /**
   * GbtTrackerEntry:last-announce:
   *
   * When its last announce ended (Unix time in seconds), 0 when never.
   */
  props[PROP_LAST_ANNOUNCE] = g_param_spec_int64 ("last-announce", NULL, NULL, 0, G_MAXINT64, 0,
                                                  ro);
  /**
   * GbtTrackerEntry:last-error:
   *
   * Why its last announce failed; %NULL when it worked or was never tried
   * (the property is nullable).
   */
  props[PROP_LAST_ERROR] = g_param_spec_string ("last-error", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
gbt_tracker_entry_init (GbtTrackerEntry *self)
{
  self->seeders = -1;
  self->leechers = -1;
}

GbtTrackerEntry *
gbt_tracker_entry_new (const char *url, guint tier)
{
  GbtTrackerEntry *self = g_object_new (GBT_TYPE_TRACKER_ENTRY, NULL);

  self->url = g_strdup (url);
  self->tier = tier;
  return self;
}

static void
set_int (GbtTrackerEntry *self, int *field, int value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
set_int64 (GbtTrackerEntry *self, gint64 *field, gint64 value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
gbt_tracker_entry_update (GbtTrackerEntry *self, GbtTrackerStatus status, int seeders,
                          int leechers, gint64 next_announce, gint64 last_announce,
                          const char *last_error)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->status != status)
    {
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS]);
    }
  set_int (self, &self->seeders, seeders, PROP_SEEDERS);
  set_int (self, &self->leechers, leechers, PROP_LEECHERS);
  set_int64 (self, &self->next_announce, next_announce, PROP_NEXT_ANNOUNCE);
  set_int64 (self, &self->last_announce, last_announce, PROP_LAST_ANNOUNCE);
  if (g_strcmp0 (self->last_error, last_error) != 0)
    {
      g_free (self->last_error);
      self->last_error = g_strdup (last_error);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_ERROR]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
gbt_tracker_entry_get_url (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), NULL);
  return self->url;
}

guint
gbt_tracker_entry_get_tier (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), 0);
  return self->tier;
}

GbtTrackerStatus
gbt_tracker_entry_get_status (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), GBT_TRACKER_STATUS_NOT_CONTACTED);
  return self->status;
}

int
gbt_tracker_entry_get_seeders (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), -1);
  return self->seeders;
}

int
gbt_tracker_entry_get_leechers (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), -1);
  return self->leechers;
}

gint64
gbt_tracker_entry_get_next_announce (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), 0);
  return self->next_announce;
}

gint64
gbt_tracker_entry_get_last_announce (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), 0);
  return self->last_announce;
}

const char *
gbt_tracker_entry_get_last_error (GbtTrackerEntry *self)
{
  g_return_val_if_fail (GBT_IS_TRACKER_ENTRY (self), NULL);
  return self->last_error;
}
