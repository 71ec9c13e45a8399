/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A torrent's files: the GbtFile model, per-file priorities (settable at
 * any time) and per-file bytes had.
 *
 * Priorities: a piece's picker priority is the highest of the files it
 * touches (skip 0, low 1, normal 2, high 3).  While the torrent runs, a
 * skipped file stops counting at once; a file wanted again first has its
 * storage changed on a worker (created, its shares of shared pieces moved
 * out of the parts file), and counts once that is done, so no piece of it
 * is written before it has a place.  The storage changes run one batch at a
 * time; changes made meanwhile run in the next batch.
 *
 * Bytes had per file are counted as each piece is verified (the files it
 * overlaps, binary search), and copied to the GbtFile objects from the
 * torrent's tick for the files that changed only.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-file.h>

#include "gbt-file-private.h"
#include "gbt-torrent-internal.h"
#include "gbt-torrent-private.h"

static gboolean
file_has_data (const GbtFileInfo *f)
{
  return f->length > 0 && !(f->attr & (GBT_FILE_ATTR_PAD | GBT_FILE_ATTR_SYMLINK));
}

static GListStore *
files_store (GbtTorrent *self)
{
  if (self->files == NULL)
    self->files = g_list_store_new (GBT_TYPE_FILE);
  return self->files;
}

void
gbt_torrent_files_init (GbtTorrent *self)
{
  guint n = gbt_metainfo_get_n_files (self->metainfo);

  self->file_prio = g_new (guint8, n);
  self->file_live = g_new (guint8, n);
  self->file_stored = g_new (guint8, n);
  self->file_have = g_new0 (guint64, n);
  memset (self->file_prio, GBT_FILE_PRIORITY_NORMAL, n);
  memset (self->file_live, TRUE, n);
  memset (self->file_stored, TRUE, n);
  gbt_bitfield_init (&self->files_dirty_set, n);
  self->files_dirty = g_array_new (FALSE, FALSE, sizeof (guint));
  self->files_pending = g_array_new (FALSE, FALSE, sizeof (guint));
}

void
gbt_torrent_files_publish (GbtTorrent *self)
{
  GbtMetainfo *mi = self->metainfo;
  guint n = gbt_metainfo_get_n_files (mi);
  g_autoptr(GPtrArray) items = g_ptr_array_new_full (n, g_object_unref);
  GListStore *store = files_store (self);

  for (guint i = 0; i < n; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      g_ptr_array_add (items, gbt_file_new (self, i, f->path, f->offset, f->length,
                                            self->file_prio[i]));
    }
  g_list_store_splice (store, 0, g_list_model_get_n_items (G_LIST_MODEL (store)), items->pdata,
                       items->len);
}

void
gbt_torrent_files_dispose (GbtTorrent *self)
{
  if (self->files == NULL)
    return;
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->files)); i++)
    {
      g_autoptr(GbtFile) f = g_list_model_get_item (G_LIST_MODEL (self->files), i);
      gbt_file_detach (f);
    }
}

void
gbt_torrent_files_finalize (GbtTorrent *self)
{
  g_clear_object (&self->files);
  g_clear_pointer (&self->file_prio, g_free);
  g_clear_pointer (&self->file_live, g_free);
  g_clear_pointer (&self->file_stored, g_free);
  g_clear_pointer (&self->file_have, g_free);
  g_clear_pointer (&self->files_dirty, g_array_unref);
  g_clear_pointer (&self->files_pending, g_array_unref);
  gbt_bitfield_clear (&self->files_dirty_set);
}

/* ---- bytes had ---- */

static void
mark_dirty (GbtTorrent *self, guint i)
{
  if (gbt_bitfield_get (&self->files_dirty_set, i))
    return;
  gbt_bitfield_set (&self->files_dirty_set, i, TRUE);
  g_array_append_val (self->files_dirty, i);
}

/* the first file holding stream byte @offset */
static guint
find_file (GbtMetainfo *mi, guint64 offset)
{
  guint lo = 0, hi = gbt_metainfo_get_n_files (mi);

  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;
      if (gbt_metainfo_get_file (mi, mid)->offset <= offset)
        lo = mid;
      else
        hi = mid;
    }
  /* empty files share their offset with the next one: step back to them */
  while (lo > 0 && gbt_metainfo_get_file (mi, lo - 1)->offset == offset)
    lo--;
  return lo;
}

void
gbt_torrent_files_count_piece (GbtTorrent *self, guint piece)
{
  GbtMetainfo *mi = self->metainfo;
  guint n = gbt_metainfo_get_n_files (mi);
  guint64 start = (guint64) piece * gbt_metainfo_get_piece_length (mi);
  guint64 end = start + gbt_metainfo_get_piece_size (mi, piece);

  if (self->file_have == NULL)
    return;
  for (guint i = find_file (mi, start); i < n; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      guint64 from = MAX (start, f->offset), to = MIN (end, f->offset + f->length);

      if (f->offset >= end)
        break;
      if (to > from)
        {
          self->file_have[i] += to - from;
          mark_dirty (self, i);
        }
    }
}

void
gbt_torrent_files_reset_have (GbtTorrent *self)
{
  guint n;

  if (self->file_have == NULL)
    return;
  n = gbt_metainfo_get_n_files (self->metainfo);
  for (guint i = 0; i < n; i++)
    if (self->file_have[i] != 0)
      {
        self->file_have[i] = 0;
        mark_dirty (self, i);
      }
}

void
gbt_torrent_files_flush (GbtTorrent *self)
{
  /* a restart's check counts everything again from zero: the files show
   * the result once it is over, not a drop to nothing first */
  if (self->files_dirty == NULL || self->files_dirty->len == 0 || self->files == NULL
      || self->state == GBT_TORRENT_STATE_CHECKING)
    return;
  for (guint k = 0; k < self->files_dirty->len; k++)
    {
      guint i = g_array_index (self->files_dirty, guint, k);
      g_autoptr(GbtFile) f = g_list_model_get_item (G_LIST_MODEL (self->files), i);

      gbt_bitfield_set (&self->files_dirty_set, i, FALSE);
      if (f)
        gbt_file_update_have (f, self->file_have[i]);
    }
  g_array_set_size (self->files_dirty, 0);
}

/* ---- what is wanted ---- */

void
gbt_torrent_files_apply_want (GbtTorrent *self)
{
  GbtMetainfo *mi = self->metainfo;
  guint n_pieces = gbt_metainfo_get_n_pieces (mi);
  guint n_files = gbt_metainfo_get_n_files (mi);
  guint32 plen = gbt_metainfo_get_piece_length (mi);
  g_autofree guint8 *prio = g_new0 (guint8, n_pieces);

  for (guint i = 0; i < n_files; i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      guint8 p = self->file_live[i] ? self->file_prio[i] : GBT_FILE_PRIORITY_SKIP;

      if (p == GBT_FILE_PRIORITY_SKIP || !file_has_data (f))
        continue;
      for (guint64 k = f->offset / plen; k <= (f->offset + f->length - 1) / plen && k < n_pieces; k++)
        prio[k] = MAX (prio[k], p);
    }
  self->bytes_wanted = 0;
  self->bytes_have = 0;
  for (guint k = 0; k < n_pieces; k++)
    {
      gbt_bitfield_set (&self->want, k, prio[k] > 0);
      gbt_picker_set_priority (self->picker, k, prio[k]);
      if (prio[k] > 0)
        {
          guint32 size = gbt_metainfo_get_piece_size (mi, k);
          self->bytes_wanted += size;
          if (gbt_bitfield_get (&self->have, k))
            self->bytes_have += size;
        }
    }
}

/* The same for the pieces @first..@last only (those of one file): each
 * takes the highest priority of the files it touches; bytes wanted and had
 * move by the difference.  Bounded by the file's pieces, not the torrent's. */
static void
apply_want_pieces (GbtTorrent *self, guint first, guint last)
{
  GbtMetainfo *mi = self->metainfo;
  guint n_files = gbt_metainfo_get_n_files (mi);
  guint32 plen = gbt_metainfo_get_piece_length (mi);

  for (guint k = first; k <= last; k++)
    {
      guint64 start = (guint64) k * plen;
      guint32 size = gbt_metainfo_get_piece_size (mi, k);
      guint8 p = 0;
      gboolean was, now;

      for (guint i = find_file (mi, start); i < n_files; i++)
        {
          const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);

          if (f->offset >= start + size)
            break;
          if (file_has_data (f) && f->offset + f->length > start && self->file_live[i])
            p = MAX (p, self->file_prio[i]);
        }
      was = gbt_bitfield_get (&self->want, k);
      now = p > 0;
      gbt_bitfield_set (&self->want, k, now);
      gbt_picker_set_priority (self->picker, k, p);
      if (was == now)
        continue;
      if (now)
        self->bytes_wanted += size;
      else
        self->bytes_wanted -= size;
      if (gbt_bitfield_get (&self->have, k))
        {
          if (now)
            self->bytes_have += size;
          else
            self->bytes_have -= size;
        }
    }
}

static void
apply_want_file (GbtTorrent *self, guint i)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (self->metainfo, i);
  guint32 plen = gbt_metainfo_get_piece_length (self->metainfo);

  if (file_has_data (f))
    apply_want_pieces (self, (guint) (f->offset / plen),
                       (guint) ((f->offset + f->length - 1) / plen));
}

static void sync_storage (GbtTorrent *self);

/* the storage of a running torrent follows the priorities, one batch at a
 * time on a worker */
typedef struct {
  guint index;
  gboolean wanted;
} Change;

static void
sync_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GbtTorrent *self = source;
  GArray *changes = task_data;
  guint32 plen = gbt_metainfo_get_piece_length (self->metainfo);
  GError *error = NULL;

  for (guint k = 0; k < changes->len; k++)
    {
      const Change *c = &g_array_index (changes, Change, k);
      if (!gbt_storage_set_file_wanted_live (self->storage, c->index, c->wanted, plen, &error))
        {
          g_task_return_error (task, error);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

static void
sync_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtTorrent *self = GBT_TORRENT (source);
  GArray *changes = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean any = FALSE;

  self->files_sync_running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (gbt_torrent_is_active (self))
        {
          self->failed_live = TRUE;
          gbt_torrent_fail (self, g_error_new (GBT_TORRENT_ERROR, GBT_TORRENT_ERROR_STORAGE,
                                               "%s", error->message));
          gbt_swarm_close_all (self->swarm);
        }
      return;
    }
  for (guint k = 0; k < changes->len; k++)
    {
      const Change *c = &g_array_index (changes, Change, k);

      self->file_stored[c->index] = c->wanted;
      if (c->wanted && self->file_prio[c->index] != GBT_FILE_PRIORITY_SKIP
          && !self->file_live[c->index])
        {
          self->file_live[c->index] = TRUE;
          apply_want_file (self, c->index);
          any = TRUE;
        }
    }
  if (any)
    gbt_torrent_wanted_changed (self);
  if (self->files_sync_again || self->files_pending->len > 0)
    sync_storage (self);
}

static int
cmp_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

static void
sync_storage (GbtTorrent *self)
{
  guint n = gbt_metainfo_get_n_files (self->metainfo);
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_autoptr(GTask) task = NULL;

  self->files_sync_again = FALSE;
  /* the files changed since the last batch, each once */
  g_array_sort (self->files_pending, cmp_uint);
  for (guint k = 0; k < self->files_pending->len; k++)
    {
      guint i = g_array_index (self->files_pending, guint, k);
      Change c = { i, self->file_prio[i] != GBT_FILE_PRIORITY_SKIP };

      if (i < n && (k == 0 || g_array_index (self->files_pending, guint, k - 1) != i)
          && c.wanted != self->file_stored[i])
        g_array_append_val (changes, c);
    }
  g_array_set_size (self->files_pending, 0);
  if (changes->len == 0)
    return;
  self->files_sync_running = TRUE;
  task = g_task_new (self, NULL, sync_done_cb, NULL);
  g_task_set_task_data (task, g_steal_pointer (&changes), (GDestroyNotify) g_array_unref);
  g_task_run_in_thread (task, sync_thread);
}

/* the priorities of @indices (NULL: every file) changed: storage, picker,
 * state */
static void
priorities_changed (GbtTorrent *self, const guint *indices, guint n_indices)
{
  gboolean running = self->disk_io != NULL || self->files_sync_running;

  if (indices == NULL)
    n_indices = gbt_metainfo_get_n_files (self->metainfo);
  for (guint k = 0; k < n_indices; k++)
    {
      guint i = indices ? indices[k] : k;
      gboolean wanted = self->file_prio[i] != GBT_FILE_PRIORITY_SKIP;

      if (!running)
        {
          /* stopped: the storage is idle; the start places the files */
          self->file_live[i] = self->file_stored[i] = wanted;
          gbt_storage_set_file_wanted (self->storage, i, wanted);
        }
      else
        {
          /* a skipped file stops counting at once; a wanted one once its
           * storage is ready */
          if (!wanted)
            self->file_live[i] = FALSE;
          else if (self->file_stored[i])
            self->file_live[i] = TRUE;
          g_array_append_val (self->files_pending, i);
        }
      if (indices)
        apply_want_file (self, i);
    }
  if (running)
    {
      /* one batch at a time; during the check, after it
       * (gbt_torrent_files_went_live()) */
      if (self->files_sync_running || self->state == GBT_TORRENT_STATE_CHECKING)
        self->files_sync_again = TRUE;
      else
        sync_storage (self);
    }
  if (indices == NULL)
    gbt_torrent_files_apply_want (self);
  gbt_torrent_wanted_changed (self);
  /* the priorities are part of the session state */
  gbt_torrent_settings_changed (self);
}

void
gbt_torrent_files_went_live (GbtTorrent *self)
{
  if (self->files_pending && self->files_pending->len > 0 && !self->files_sync_running)
    sync_storage (self);
}

static void
set_priority (GbtTorrent *self, guint index, GbtFilePriority priority)
{
  g_autoptr(GbtFile) f = NULL;

  self->file_prio[index] = (guint8) priority;
  f = g_list_model_get_item (G_LIST_MODEL (files_store (self)), index);
  if (f)
    gbt_file_update_priority (f, priority);
}

/* ---- API ---- */

GListModel *
gbt_torrent_get_files (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  return G_LIST_MODEL (files_store (self));
}

void
gbt_torrent_set_file_priority (GbtTorrent *self, guint index, GbtFilePriority priority)
{
  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (self->metainfo != NULL);
  g_return_if_fail (index < gbt_metainfo_get_n_files (self->metainfo));
  g_return_if_fail (priority <= GBT_FILE_PRIORITY_HIGH);

  if (self->file_prio[index] == priority)
    return;
  set_priority (self, index, priority);
  priorities_changed (self, &index, 1);
}

GbtFilePriority
gbt_torrent_get_file_priority (GbtTorrent *self, guint index)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), GBT_FILE_PRIORITY_NORMAL);
  if (self->metainfo == NULL)
    return GBT_FILE_PRIORITY_NORMAL;
  g_return_val_if_fail (index < gbt_metainfo_get_n_files (self->metainfo),
                        GBT_FILE_PRIORITY_NORMAL);
  return self->file_prio[index];
}

void
gbt_torrent_set_files_wanted (GbtTorrent *self, const gboolean *wanted, guint n_files)
{
  gboolean changed = FALSE;

  g_return_if_fail (GBT_IS_TORRENT (self));
  g_return_if_fail (self->metainfo != NULL);
  g_return_if_fail (n_files == gbt_metainfo_get_n_files (self->metainfo));
  g_return_if_fail (wanted != NULL || n_files == 0);

  for (guint i = 0; i < n_files; i++)
    {
      GbtFilePriority p = wanted[i] ? GBT_FILE_PRIORITY_NORMAL : GBT_FILE_PRIORITY_SKIP;
      if (self->file_prio[i] != p)
        {
          set_priority (self, i, p);
          changed = TRUE;
        }
    }
  if (changed)
    priorities_changed (self, NULL, 0);
}

GBytes *
gbt_torrent_dup_have (GbtTorrent *self)
{
  g_return_val_if_fail (GBT_IS_TORRENT (self), NULL);
  if (self->metainfo == NULL)
    return NULL;
  return g_bytes_new (self->have.bits, gbt_bitfield_byte_len (self->have.n_bits));
}
