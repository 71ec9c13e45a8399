/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtFile: one file of a torrent for an application's files list.  The
 * torrent keeps the counters (gbt-torrent-files.c) and copies them here
 * from its tick, so a property changes (and is notified) at most once a
 * second, and only when its value did.
 */
#include "config.h"

#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-file.h>

#include "gbt-file-private.h"

struct _GbtFile {
  GObject parent_instance;

  GbtTorrent *torrent; /* not owned: the torrent detaches us when it goes */
  guint index;
  char *path;
  guint64 offset;
  guint64 size;
  guint64 bytes_have;
  GbtFilePriority priority;
};

enum {
  PROP_0,
  PROP_INDEX,
  PROP_PATH,
  PROP_SIZE,
  PROP_OFFSET,
  PROP_BYTES_HAVE,
  PROP_PROGRESS,
  PROP_PRIORITY,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (GbtFile, gbt_file, G_TYPE_OBJECT)

static void
gbt_file_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GbtFile *self = GBT_FILE (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_OFFSET:
      g_value_set_uint64 (value, self->offset);
      break;
    case PROP_BYTES_HAVE:
      g_value_set_uint64 (value, self->bytes_have);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, gbt_file_get_progress (self));
      break;
    case PROP_PRIORITY:
      g_value_set_enum (value, self->priority);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gbt_file_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GbtFile *self = GBT_FILE (object);

  switch (prop_id)
    {
    case PROP_PRIORITY:
      gbt_file_set_priority (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gbt_file_finalize (GObject *object)
{
  GbtFile *self = GBT_FILE (object);

  g_free (self->path);
  G_OBJECT_CLASS (gbt_file_parent_class)->finalize (object);
}

static void
gbt_file_class_init (GbtFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = gbt_file_get_property;
  object_class->set_property = gbt_file_set_property;
  object_class->finalize = gbt_file_finalize;

  /**
   * GbtFile:index:
   *
   * Its index among the metainfo's files.
   */
  props[PROP_INDEX] = g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0, ro);
  /**
   * GbtFile:path:
   *
   * Its path relative to the download directory, '/'-separated.  The
   * metainfo's until gbt_torrent_rename_path_async() renames it or a
   * directory above it (notified).
   */
  props[PROP_PATH] = g_param_spec_string ("path", NULL, NULL, NULL, ro);
  /**
   * GbtFile:size:
   *
   * Its length in bytes.
   */
  props[PROP_SIZE] = g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * GbtFile:offset:
   *
   * Where it starts in the torrent's byte stream.
   */
  props[PROP_OFFSET] = g_param_spec_uint64 ("offset", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * GbtFile:bytes-have:
   *
   * Its bytes in verified pieces; notified from the torrent's tick.
   */
  props[PROP_BYTES_HAVE] = g_param_spec_uint64 ("bytes-have", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  /**
   * GbtFile:progress:
   *
   * #GbtFile:bytes-have over #GbtFile:size, 0 to 1.
   */
  props[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  /**
   * GbtFile:priority: (type GbtFilePriority)
   *
   * How much it is wanted; settable at any time.
   */
  props[PROP_PRIORITY] = g_param_spec_enum ("priority", NULL, NULL, GBT_TYPE_FILE_PRIORITY,
                                            GBT_FILE_PRIORITY_NORMAL,
                                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY
                                                | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
gbt_file_init (GbtFile *self)
{
  self->priority = GBT_FILE_PRIORITY_NORMAL;
}

GbtFile *
gbt_file_new (GbtTorrent *torrent, guint index, const char *path, guint64 offset, guint64 size,
              GbtFilePriority priority)
{
  GbtFile *self = g_object_new (GBT_TYPE_FILE, NULL);

  self->torrent = torrent;
  self->index = index;
  self->path = g_strdup (path);
  self->offset = offset;
  self->size = size;
  self->priority = priority;
  return self;
}

void
gbt_file_detach (GbtFile *self)
{
  self->torrent = NULL;
}

void
gbt_file_update_have (GbtFile *self, guint64 bytes_have)
{
  double before;

  if (self->bytes_have == bytes_have)
    return;
  before = gbt_file_get_progress (self);
  self->bytes_have = bytes_have;
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BYTES_HAVE]);
  if (gbt_file_get_progress (self) != before)
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PROGRESS]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
gbt_file_update_path (GbtFile *self, const char *path)
{
  if (g_strcmp0 (self->path, path) == 0)
    return;
  g_free (self->path);
  self->path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PATH]);
}

void
gbt_file_update_priority (GbtFile *self, GbtFilePriority priority)
{
  if (self->priority == priority)
    return;
  self->priority = priority;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_PRIORITY]);
}

guint
gbt_file_get_index (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), 0);
  return self->index;
}

const char *
gbt_file_get_path (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), NULL);
  return self->path;
}

guint64
gbt_file_get_size (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), 0);
  return self->size;
}

guint64
gbt_file_get_offset (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), 0);
  return self->offset;
}

guint64
gbt_file_get_bytes_have (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), 0);
  return self->bytes_have;
}

double
gbt_file_get_progress (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), 0);
  if (self->size == 0)
    return 1.0;
  return MIN (1.0, (double) self->bytes_have / (double) self->size);
}

GbtFilePriority
gbt_file_get_priority (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), GBT_FILE_PRIORITY_NORMAL);
  return self->priority;
}

void
gbt_file_set_priority (GbtFile *self, GbtFilePriority priority)
{
  g_return_if_fail (GBT_IS_FILE (self));
  if (self->torrent)
    gbt_torrent_set_file_priority (self->torrent, self->index, priority);
}

GbtTorrent *
gbt_file_get_torrent (GbtFile *self)
{
  g_return_val_if_fail (GBT_IS_FILE (self), NULL);
  return self->torrent;
}
