/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storage: the torrent's byte stream laid over its files.
 *
 * Every file is opened relative to a descriptor of the download directory,
 * one path component at a time with O_NOFOLLOW, so a symlink planted inside
 * the directory (by another program, or by an earlier torrent) can never
 * redirect a write outside it; g_mkdir_with_parents() would follow such a
 * link, hence the mkdirat() walk.  The download directory itself is the
 * user's choice and may be a symlink.
 *
 * Descriptors are cached (at most FD_CACHE_SIZE, least recently used
 * closed first).  A descriptor is reference counted: the cache holds one
 * reference and each pread/pwrite in flight another, so eviction by one
 * thread never closes (and lets the kernel reuse) a number another thread
 * is writing through.  The mutex covers the cache and opening; the I/O
 * itself runs unlocked and in parallel.
 *
 * Descriptors are also bounded process-wide: a session seeds thousands of
 * torrents, and 64 per torrent (plus the directory's) would run out of
 * RLIMIT_NOFILE.  Every cached descriptor is in one process-wide LRU
 * (budget_lru, at most fd_budget entries); opening one more closes the
 * least recently used, whichever storage holds it, and a storage left with
 * none closes its directory too.  The lock order is budget_lock, then a
 * storage's lock: a thread holding a storage's lock never takes
 * budget_lock, so a file uncached by its own storage stays in budget_lru
 * (stale, skipped when evicted) until touched again or forgotten.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "gbt-storage.h"

#define FD_CACHE_SIZE 64
#define FD_BUDGET_DEFAULT 256
#define BOUNCE_SIZE (1024 * 1024)

G_DEFINE_QUARK (gbt-storage-error-quark, gbt_storage_error)

static GMutex budget_lock;
static GQueue budget_lru = G_QUEUE_INIT; /* StorageFile*, head = most recently used */
static guint fd_budget = FD_BUDGET_DEFAULT;

typedef struct
{
  int fd;
  gboolean writable;
  int refs; /* under GbtStorage.lock */
  /* The same file opened again with O_DIRECT, for aligned writes (under
   * GbtStorage.write_lock): -1 not tried yet, -2 not possible here. */
  int direct_fd;
} FdRef;

/* Where a file's bytes live.  A wanted file's are in the file.  An unwanted
 * file's share of boundary pieces goes to the parts file, unless the file
 * already exists on disk (gbt_storage_place_files()): then it stays put, as
 * in libtorrent, and nothing needs moving. */
typedef enum {
  PLACE_FILE,
  PLACE_PARTS,
  PLACE_NOWHERE, /* unwanted, no parts file: writes are dropped */
} Place;

typedef struct
{
  char *path;      /* relative, '/'-separated */
  guint64 offset;  /* in the torrent stream */
  guint64 length;
  gboolean skip;   /* pad file or BEP 47 symlink: no data on disk */
  gint wanted;     /* atomic */
  gint place;      /* atomic: Place, where its bytes live */
  FdRef *cached;   /* under lock; the cache's reference */
  GList lru_link;  /* in GbtStorage.lru when cached */
  GbtStorage *owner;
  GList budget_link;  /* in budget_lru when in_budget (under budget_lock) */
  gboolean in_budget; /* under budget_lock */
} StorageFile;

struct _GbtStorage
{
  char *download_dir;
  StorageFile *files;
  guint n_files;
  guint64 total_size;

  GMutex lock;
  /* Buffered writes to one ext4 file take its inode lock, which the kernel
   * spins on: two workers writing at once burned a quarter of the CPU of a
   * download.  They are serialised here instead, where a waiter sleeps;
   * hashing, the costly part, still runs on every worker. */
  GMutex write_lock;
  int root_fd; /* -1 until first needed */
  gboolean direct_io; /* O_DIRECT for aligned writes; GBT_DIRECT_IO=0 turns it off */
  guint8 *bounce;     /* under write_lock: BOUNCE_SIZE bytes, page-aligned */
  guint64 direct_bytes; /* under write_lock: written with O_DIRECT so far */
  GQueue lru;  /* head = most recently used */

  /* Bytes of boundary pieces that fall in unwanted files go here, at their
   * stream offset (a sparse file), so those pieces can still be verified
   * and served without creating the files the user skipped. */
  StorageFile *parts;

  GPtrArray *retired; /* paths and directories replaced (gbt_storage_set_path) */
};

GbtStorage *
gbt_storage_new (GbtMetainfo *mi, const char *download_dir)
{
  GbtStorage *self;
  guint64 offset = 0;

  g_return_val_if_fail (mi != NULL, NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  self = g_new0 (GbtStorage, 1);
  self->download_dir = g_strdup (download_dir);
  self->n_files = gbt_metainfo_get_n_files (mi);
  self->files = g_new0 (StorageFile, self->n_files);
  for (guint i = 0; i < self->n_files; i++)
    {
      const GbtFileInfo *fi = gbt_metainfo_get_file (mi, i);
      StorageFile *f = &self->files[i];

      f->path = g_strdup (fi->path);
      /* The offsets are recomputed so the binary search can rely on them
       * being contiguous whatever the metainfo says. */
      g_warn_if_fail (fi->offset == offset);
      f->offset = offset;
      f->length = fi->length;
      /* BEP 47 symlinks are never created: a link chosen by a torrent is a
       * way out of the download directory. */
      f->skip = (fi->attr & (GBT_FILE_ATTR_PAD | GBT_FILE_ATTR_SYMLINK)) != 0;
      f->wanted = TRUE;
      f->place = PLACE_FILE;
      f->lru_link.data = f;
      f->owner = self;
      f->budget_link.data = f;
      offset += fi->length;
    }
  self->total_size = offset;
  g_warn_if_fail (offset == gbt_metainfo_get_total_size (mi));
  g_mutex_init (&self->lock);
  g_mutex_init (&self->write_lock);
  self->root_fd = -1;
  self->direct_io = g_strcmp0 (g_getenv ("GBT_DIRECT_IO"), "0") != 0;
  g_queue_init (&self->lru);
  return self;
}

void
gbt_storage_free (GbtStorage *self)
{
  if (self == NULL)
    return;
  gbt_storage_close (self);
  for (guint i = 0; i < self->n_files; i++)
    g_free (self->files[i].path);
  if (self->parts)
    {
      g_free (self->parts->path);
      g_free (self->parts);
    }
  g_free (self->files);
  g_free (self->download_dir);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_aligned_free (self->bounce);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->write_lock);
  g_free (self);
}

static void
update_place (GbtStorage *self, StorageFile *f)
{
  Place place = g_atomic_int_get (&f->wanted) ? PLACE_FILE
                : self->parts != NULL         ? PLACE_PARTS
                                              : PLACE_NOWHERE;
  g_atomic_int_set (&f->place, place);
}

static void
update_places (GbtStorage *self)
{
  for (guint i = 0; i < self->n_files; i++)
    update_place (self, &self->files[i]);
}

void
gbt_storage_set_file_wanted (GbtStorage *self, guint index, gboolean wanted)
{
  g_return_if_fail (self != NULL && index < self->n_files);

  g_atomic_int_set (&self->files[index].wanted, wanted);
  update_place (self, &self->files[index]);
}

void
gbt_storage_set_wanted (GbtStorage *self, const gboolean *file_wanted)
{
  g_return_if_fail (self != NULL);

  for (guint i = 0; i < self->n_files; i++)
    g_atomic_int_set (&self->files[i].wanted, file_wanted == NULL || file_wanted[i]);
  update_places (self);
}

void
gbt_storage_set_parts_path (GbtStorage *self, const char *relpath)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (self->parts == NULL);

  self->parts = g_new0 (StorageFile, 1);
  self->parts->path = g_strdup (relpath);
  self->parts->length = self->total_size;
  self->parts->wanted = TRUE;
  self->parts->place = PLACE_FILE;
  self->parts->lru_link.data = self->parts;
  self->parts->owner = self;
  self->parts->budget_link.data = self->parts;
  update_places (self);
}

void
gbt_storage_place_files (GbtStorage *self)
{
  g_return_if_fail (self != NULL);

  update_places (self);
  for (guint i = 0; i < self->n_files; i++)
    {
      StorageFile *f = &self->files[i];
      g_autofree char *full = NULL;

      if (f->skip || g_atomic_int_get (&f->place) == PLACE_FILE)
        continue;
      full = g_build_filename (self->download_dir, f->path, NULL);
      if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
        g_atomic_int_set (&f->place, PLACE_FILE);
    }
}

gboolean
gbt_storage_file_in_parts (GbtStorage *self, guint index)
{
  g_return_val_if_fail (self != NULL && index < self->n_files, FALSE);
  return g_atomic_int_get (&self->files[index].place) == PLACE_PARTS;
}

/* ---- errors ---- */

static void
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "Cannot %s “%s”: %s", what,
               path, g_strerror (errsv));
}

static gboolean
check_relative_path (const char *path, GError **error)
{
  g_auto(GStrv) parts = NULL;

  /* GbtMetainfo sanitises paths already; this is the last line of defence
   * should a bug there ever let one through. */
  if (path == NULL || path[0] == '\0' || path[0] == '/')
    goto unsafe;
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
      goto unsafe;
  return TRUE;

unsafe:
  g_set_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH,
               "Refusing unsafe file path “%s”", path != NULL ? path : "(null)");
  return FALSE;
}

/* ---- opening beneath the download directory ---- */

/* Under lock.  @create: make the download directory if missing. */
static int
get_root_fd (GbtStorage *self, gboolean create, GError **error)
{
  int fd;

  if (self->root_fd >= 0)
    return self->root_fd;
  if (create && g_mkdir_with_parents (self->download_dir, 0777) < 0)
    {
      set_errno_error (error, errno, "create directory", self->download_dir);
      return -1;
    }
  do
    fd = open (self->download_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open directory", self->download_dir);
      return -1;
    }
  self->root_fd = fd;
  return fd;
}

/* @errsv from openat (@dir_fd, @name, ...O_NOFOLLOW...) */
static void
set_open_error (GbtStorage *self, GError **error, int errsv, int dir_fd, const char *name,
                const char *path)
{
  struct stat st;

  /* O_NOFOLLOW fails with ELOOP on a symlink, but with O_DIRECTORY Linux
   * says ENOTDIR: look at what is there. */
  if (errsv == ELOOP
      || (errsv == ENOTDIR && fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISLNK (st.st_mode)))
    g_set_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_UNSAFE_PATH,
                 "Refusing to follow the symbolic link “%s” in “%s” under “%s”", name, path,
                 self->download_dir);
  else
    {
      g_autofree char *full = g_build_filename (self->download_dir, path, NULL);
      set_errno_error (error, errsv, "open", full);
    }
}

/* Under lock.  Opens @path (already checked relative) beneath the download
 * directory without following any symlink.  @writable: O_RDWR, creating the
 * file and missing directories. */
static int
open_beneath (GbtStorage *self, const char *path, gboolean writable, GError **error)
{
  g_auto(GStrv) parts = NULL;
  int dir_fd;
  int fd = -1;
  guint i;

  if (!check_relative_path (path, error))
    return -1;
  dir_fd = get_root_fd (self, writable, error);
  if (dir_fd < 0)
    return -1;

  parts = g_strsplit (path, "/", -1);
  for (i = 0; parts[i + 1] != NULL; i++)
    {
      int next;

      do
        next = openat (dir_fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      while (next < 0 && errno == EINTR);
      if (next < 0 && errno == ENOENT && writable)
        {
          if (mkdirat (dir_fd, parts[i], 0777) < 0 && errno != EEXIST)
            {
              int errsv = errno;
              g_autofree char *full = g_build_filename (self->download_dir, path, NULL);
              if (dir_fd != self->root_fd)
                close (dir_fd);
              set_errno_error (error, errsv, "create directory for", full);
              return -1;
            }
          do
            next = openat (dir_fd, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          while (next < 0 && errno == EINTR);
        }
      if (next < 0)
        {
          set_open_error (self, error, errno, dir_fd, parts[i], path);
          if (dir_fd != self->root_fd)
            close (dir_fd);
          return -1;
        }
      if (dir_fd != self->root_fd)
        close (dir_fd);
      dir_fd = next;
    }

  /* O_NONBLOCK: a FIFO planted where a file should be would otherwise block
   * the open forever; it changes nothing for regular files. */
  do
    fd = openat (dir_fd, parts[i],
                 (writable ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                 0666);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    set_open_error (self, error, errno, dir_fd, parts[i], path);
  else
    {
      struct stat st;

      if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                       "“%s” under “%s” is not a regular file", path, self->download_dir);
          close (fd);
          fd = -1;
        }
    }
  if (dir_fd != self->root_fd)
    close (dir_fd);
  return fd;
}

/* ---- the descriptor cache ---- */

/* Under lock. */
static void
fd_ref_release_locked (FdRef *ref)
{
  if (--ref->refs == 0)
    {
      if (ref->direct_fd >= 0)
        close (ref->direct_fd);
      close (ref->fd);
      g_free (ref);
    }
}

/* Under lock: drops the cache's reference of @f. */
static void
uncache_locked (GbtStorage *self, StorageFile *f)
{
  if (f->cached == NULL)
    return;
  g_queue_unlink (&self->lru, &f->lru_link);
  fd_ref_release_locked (g_steal_pointer (&f->cached));
}

/* ---- the process-wide budget ---- */

/* Under budget_lock, no storage lock held: closes the least recently used
 * descriptors until at most fd_budget are cached. */
static void
budget_trim_locked (void)
{
  while (budget_lru.length > fd_budget)
    {
      StorageFile *victim = g_queue_peek_tail (&budget_lru);
      GbtStorage *owner = victim->owner;

      g_queue_unlink (&budget_lru, &victim->budget_link);
      victim->in_budget = FALSE;
      /* the owner cannot be freed meanwhile: gbt_storage_free() takes
       * budget_lock first (budget_forget()) */
      g_mutex_lock (&owner->lock);
      uncache_locked (owner, victim);
      if (owner->lru.length == 0 && owner->root_fd >= 0)
        {
          close (owner->root_fd);
          owner->root_fd = -1;
        }
      g_mutex_unlock (&owner->lock);
    }
}

/* No storage lock held: @f was just used (most recently). */
static void
budget_touch (StorageFile *f)
{
  g_mutex_lock (&budget_lock);
  if (f->in_budget)
    g_queue_unlink (&budget_lru, &f->budget_link);
  g_queue_push_head_link (&budget_lru, &f->budget_link);
  f->in_budget = TRUE;
  budget_trim_locked ();
  g_mutex_unlock (&budget_lock);
}

static void
budget_forget_file_locked (StorageFile *f)
{
  if (f != NULL && f->in_budget)
    {
      g_queue_unlink (&budget_lru, &f->budget_link);
      f->in_budget = FALSE;
    }
}

/* No storage lock held: takes every file of @self out of budget_lru (before
 * it uncaches them all, or is freed). */
static void
budget_forget (GbtStorage *self)
{
  g_mutex_lock (&budget_lock);
  for (guint i = 0; i < self->n_files; i++)
    budget_forget_file_locked (&self->files[i]);
  budget_forget_file_locked (self->parts);
  g_mutex_unlock (&budget_lock);
}

void
gbt_storage_set_fd_budget (guint n)
{
  g_return_if_fail (n > 0);
  g_mutex_lock (&budget_lock);
  fd_budget = n;
  budget_trim_locked ();
  g_mutex_unlock (&budget_lock);
}

guint
gbt_storage_get_n_cached_fds (void)
{
  guint n;

  g_mutex_lock (&budget_lock);
  n = budget_lru.length;
  g_mutex_unlock (&budget_lock);
  return n;
}

static FdRef *
acquire_fd (GbtStorage *self, StorageFile *f, gboolean writable, GError **error)
{
  FdRef *ref;
  int fd;

  g_mutex_lock (&self->lock);
  if (f->cached != NULL && (f->cached->writable || !writable))
    {
      g_queue_unlink (&self->lru, &f->lru_link);
      g_queue_push_head_link (&self->lru, &f->lru_link);
      f->cached->refs++;
      ref = f->cached;
      g_mutex_unlock (&self->lock);
      budget_touch (f);
      return ref;
    }

  fd = open_beneath (self, f->path, writable, error);
  if (fd < 0)
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  /* a read-only descriptor is replaced by the writable one; readers still
   * using it keep it open through their reference */
  uncache_locked (self, f);
  while (self->lru.length >= FD_CACHE_SIZE)
    uncache_locked (self, g_queue_peek_tail (&self->lru));

  ref = g_new0 (FdRef, 1);
  ref->fd = fd;
  ref->direct_fd = -1;
  ref->writable = writable;
  ref->refs = 2; /* the cache's and the caller's */
  f->cached = ref;
  g_queue_push_head_link (&self->lru, &f->lru_link);
  g_mutex_unlock (&self->lock);
  budget_touch (f);
  return ref;
}

static void
release_fd (GbtStorage *self, FdRef *ref)
{
  g_mutex_lock (&self->lock);
  fd_ref_release_locked (ref);
  g_mutex_unlock (&self->lock);
}

/* ---- creating files ---- */

static gboolean create_file (GbtStorage *self, StorageFile *f, GError **error);

gboolean
gbt_storage_create_files (GbtStorage *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < self->n_files; i++)
    {
      StorageFile *f = &self->files[i];

      if (f->skip || !g_atomic_int_get (&f->wanted))
        continue;
      if (!create_file (self, f, error))
        return FALSE;
    }
  return TRUE;
}

/* one wanted file at its full length */
static gboolean
create_file (GbtStorage *self, StorageFile *f, GError **error)
{
    {
      FdRef *ref;
      struct stat st;

      ref = acquire_fd (self, f, TRUE, error);
      if (ref == NULL)
        return FALSE;
      if (fstat (ref->fd, &st) < 0)
        {
          set_errno_error (error, errno, "stat", f->path);
          release_fd (self, ref);
          return FALSE;
        }
      /* Smaller than its length: allocated up front with fallocate(), which
       * reserves the blocks (a full disk is an error now, not mid-download)
       * and makes the out-of-order writes of a download about half as costly
       * as filling the holes of a sparse file (measured on ext4).  Where the
       * file system cannot, ftruncate() makes it sparse instead.  A file
       * longer than the torrent says is cut to length, as libtorrent does:
       * the bytes past the end belong to no piece, and a finished download
       * must be exactly the published file. */
      if ((guint64) st.st_size < f->length && f->length > 0)
        {
          int r;
          do
            r = fallocate (ref->fd, 0, st.st_size, (off_t) (f->length - (guint64) st.st_size));
          while (r < 0 && errno == EINTR);
          if (r < 0 && errno == ENOSPC)
            {
              g_autofree char *full = g_build_filename (self->download_dir, f->path, NULL);
              set_errno_error (error, errno, "allocate space for", full);
              release_fd (self, ref);
              return FALSE;
            }
          if (r == 0 && fstat (ref->fd, &st) < 0)
            st.st_size = -1;
        }
      if ((guint64) st.st_size != f->length)
        {
          int r;
          do
            r = ftruncate (ref->fd, (off_t) f->length);
          while (r < 0 && errno == EINTR);
          if (r < 0)
            {
              g_autofree char *full = g_build_filename (self->download_dir, f->path, NULL);
              set_errno_error (error, errno, "set the size of", full);
              release_fd (self, ref);
              return FALSE;
            }
        }
      release_fd (self, ref);
    }
  return TRUE;
}

/* ---- files wanted or not while the torrent runs ---- */

static gboolean adopt_range (GbtStorage *self, guint64 offset, gsize len,
                             const GbtBitfield *was_in_parts, gboolean any_place, GError **error);

/* Blocking.  A wanted file whose bytes were in the parts file: the shares
 * of its first and last pieces (the only ones that can be there: its other
 * pieces touch no other file, so were never wanted while it was not) are
 * copied into it, then its reads and writes go there.  Under write_lock,
 * so no write lands in the parts file meanwhile (gbt_storage_write looks
 * again at the place once it holds the lock); readers see the parts file
 * until the copy is done. */
static gboolean
move_out_of_parts (GbtStorage *self, StorageFile *f, guint index, guint32 piece_length,
                   GError **error)
{
  GbtBitfield was;
  guint64 first_end, last_start, end = f->offset + f->length;
  gboolean ok = TRUE;

  gbt_bitfield_init (&was, self->n_files);
  gbt_bitfield_set (&was, index, TRUE);
  first_end = MIN (end, (f->offset / piece_length + 1) * (guint64) piece_length);
  last_start = MAX (f->offset, ((end - 1) / piece_length) * (guint64) piece_length);
  if (last_start < first_end)
    last_start = first_end;
  g_mutex_lock (&self->write_lock);
  /* a share never written is a hole of the parts file, or past its end:
   * nothing to copy (its piece is not had) */
  for (guint r = 0; ok && r < 2; r++)
    {
      guint64 from = r == 0 ? f->offset : last_start;
      guint64 to = r == 0 ? first_end : end;
      g_autoptr(GError) local = NULL;

      if (to <= from)
        continue;
      if (!adopt_range (self, from, (gsize) (to - from), &was, TRUE, &local)
          && !g_error_matches (local, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_TRUNCATED)
          && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          ok = FALSE;
        }
    }
  if (ok)
    g_atomic_int_set (&f->place, PLACE_FILE);
  g_mutex_unlock (&self->write_lock);
  gbt_bitfield_clear (&was);
  return ok;
}

gboolean
gbt_storage_set_file_wanted_live (GbtStorage *self, guint index, gboolean wanted,
                                  guint32 piece_length, GError **error)
{
  StorageFile *f;

  g_return_val_if_fail (self != NULL && index < self->n_files, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  f = &self->files[index];
  g_atomic_int_set (&f->wanted, wanted);
  if (f->skip)
    return TRUE;
  if (!wanted)
    {
      g_autofree char *full = NULL;

      if (g_atomic_int_get (&f->place) != PLACE_FILE)
        return TRUE;
      /* already on disk: it keeps its bytes, as at a start */
      full = g_build_filename (self->download_dir, f->path, NULL);
      if (g_file_test (full, G_FILE_TEST_IS_REGULAR))
        return TRUE;
      g_mutex_lock (&self->write_lock);
      g_atomic_int_set (&f->place, self->parts ? PLACE_PARTS : PLACE_NOWHERE);
      g_mutex_unlock (&self->write_lock);
      return TRUE;
    }
  if (g_atomic_int_get (&f->place) == PLACE_PARTS
      && !move_out_of_parts (self, f, index, piece_length, error))
    return FALSE;
  if (g_atomic_int_get (&f->place) == PLACE_NOWHERE)
    {
      g_mutex_lock (&self->write_lock);
      g_atomic_int_set (&f->place, PLACE_FILE);
      g_mutex_unlock (&self->write_lock);
    }
  return create_file (self, f, error);
}

/* ---- I/O ---- */

/* index of the file holding stream byte @offset (< total_size): the last
 * file starting at or before it, which cannot be empty */
static guint
find_file (GbtStorage *self, guint64 offset)
{
  guint lo = 0, hi = self->n_files;

  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;
      if (self->files[mid].offset <= offset)
        lo = mid;
      else
        hi = mid;
    }
  while (lo + 1 < self->n_files && self->files[lo].offset + self->files[lo].length <= offset)
    lo++;
  return lo;
}

static gboolean
pread_all (GbtStorage *self, StorageFile *f, int fd, guint8 *buf, gsize len, guint64 pos,
           GError **error)
{
  while (len > 0)
    {
      ssize_t n = pread (fd, buf, MIN (len, (gsize) G_MAXSSIZE), (off_t) pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_autofree char *full = g_build_filename (self->download_dir, f->path, NULL);
          set_errno_error (error, errno, "read", full);
          return FALSE;
        }
      if (n == 0)
        {
          g_autofree char *full = g_build_filename (self->download_dir, f->path, NULL);
          g_set_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_TRUNCATED,
                       "“%s” ends at byte %" G_GUINT64_FORMAT ", before its length of %"
                       G_GUINT64_FORMAT, full, pos, f->length);
          return FALSE;
        }
      buf += n;
      len -= (gsize) n;
      pos += (guint64) n;
    }
  return TRUE;
}

static gboolean
pwrite_all (GbtStorage *self, StorageFile *f, int fd, const guint8 *buf, gsize len, guint64 pos,
            GError **error)
{
  while (len > 0)
    {
      ssize_t n = pwrite (fd, buf, MIN (len, (gsize) G_MAXSSIZE), (off_t) pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_autofree char *full = g_build_filename (self->download_dir, f->path, NULL);
          if (n == 0)
            g_set_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_IO,
                         "Cannot write “%s”: no progress", full);
          else
            set_errno_error (error, errno, "write", full);
          return FALSE;
        }
      buf += n;
      len -= (gsize) n;
      pos += (guint64) n;
    }
  return TRUE;
}

/* Under write_lock.  The descriptor of @ref reopened with O_DIRECT (through
 * /proc/self/fd, so it is the same file whatever happened to its path), or
 * -1 where the file system refuses it (tmpfs, some FUSE). */
static int
direct_fd_locked (FdRef *ref)
{
  if (ref->direct_fd == -1)
    {
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", ref->fd);
      int fd;

      do
        fd = open (proc, O_RDWR | O_DIRECT | O_CLOEXEC);
      while (fd < 0 && errno == EINTR);
      ref->direct_fd = fd >= 0 ? fd : -2;
    }
  return ref->direct_fd >= 0 ? ref->direct_fd : -1;
}

/* Under write_lock.  The whole pages of a write go with O_DIRECT: a
 * downloaded piece is not read again soon, and copying it into the page
 * cache was most of a download's CPU (see bench/).  The part before the
 * first page boundary of the file, and after the last, go through the page
 * cache.  When the bytes of whole pages do not start page-aligned in memory
 * (a file that begins mid-piece), they are copied to an aligned bounce
 * buffer first: far cheaper than the kernel's copy into fresh page-cache
 * pages.  A file system that takes the descriptor but not the write
 * (EINVAL) is not asked again. */
static gboolean
write_segment_locked (GbtStorage *self, StorageFile *f, FdRef *ref, const guint8 *buf, gsize len,
                      guint64 pos, GError **error)
{
  const gsize align = GBT_STORAGE_DIRECT_ALIGN;
  gsize head = (gsize) ((align - pos % align) % align);
  gsize whole = len > head ? (len - head) & ~(align - 1) : 0;
  int fd = self->direct_io && whole > 0 ? direct_fd_locked (ref) : -1;

  if (fd < 0)
    return pwrite_all (self, f, ref->fd, buf, len, pos, error);
  if (head > 0 && !pwrite_all (self, f, ref->fd, buf, head, pos, error))
    return FALSE;
  buf += head;
  pos += head;
  len -= head;
  while (whole > 0)
    {
      const guint8 *src = buf;
      gsize n = whole;
      ssize_t w;

      if ((guintptr) buf % align != 0)
        {
          if (self->bounce == NULL)
            self->bounce = g_aligned_alloc (1, BOUNCE_SIZE, align);
          n = MIN (whole, (gsize) BOUNCE_SIZE);
          memcpy (self->bounce, buf, n);
          src = self->bounce;
        }
      do
        w = pwrite (fd, src, n, (off_t) pos);
      while (w < 0 && errno == EINTR);
      if (w < 0 && errno == EINVAL)
        {
          close (ref->direct_fd);
          ref->direct_fd = -2;
          break; /* the rest through the page cache */
        }
      if (w <= 0)
        break; /* the page cache path reports the error, if it is one */
      self->direct_bytes += (guint64) w;
      buf += w;
      pos += (guint64) w;
      len -= (gsize) w;
      whole -= MIN (whole, (gsize) w);
      if ((gsize) w % align != 0)
        break; /* a short write left the file offset unaligned */
    }
  return pwrite_all (self, f, ref->fd, buf, len, pos, error);
}

guint64
gbt_storage_get_direct_bytes (GbtStorage *self)
{
  guint64 n;

  g_mutex_lock (&self->write_lock);
  n = self->direct_bytes;
  g_mutex_unlock (&self->write_lock);
  return n;
}

static gboolean
check_range (GbtStorage *self, guint64 offset, gsize len, GError **error)
{
  if (offset > self->total_size || len > self->total_size - offset)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Range of %" G_GSIZE_FORMAT " bytes at %" G_GUINT64_FORMAT
                   " is past the end of the torrent (%" G_GUINT64_FORMAT " bytes)",
                   len, offset, self->total_size);
      return FALSE;
    }
  return TRUE;
}

/* Where the bytes of @f at stream @offset (@pos within the file) live: in
 * the file, or in the parts file at their stream offset; NULL for an
 * unwanted file with neither (the caller drops writes, and reads the file). */
static StorageFile *
locate (GbtStorage *self, StorageFile *f, guint64 offset, guint64 pos, guint64 *at)
{
  switch ((Place) g_atomic_int_get (&f->place))
    {
    case PLACE_PARTS:
      *at = offset;
      return self->parts;
    case PLACE_NOWHERE:
      *at = pos;
      return NULL;
    case PLACE_FILE:
    default:
      *at = pos;
      return f;
    }
}

gboolean
gbt_storage_write (GbtStorage *self, guint64 offset, const guint8 *data, gsize len,
                   GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_range (self, offset, len, error))
    return FALSE;
  if (len == 0)
    return TRUE;

  for (guint i = find_file (self, offset); len > 0; i++)
    {
      StorageFile *f = &self->files[i];
      guint64 pos = offset - f->offset;
      gsize n = (gsize) MIN ((guint64) len, f->length - pos);

      /* pad files are never written; unwanted files are never created: their
       * share of a boundary piece goes to the parts file, if there is one */
      if (n > 0 && !f->skip)
        {
          guint64 at;
          StorageFile *target;
          FdRef *ref;
          gboolean ok;
          gint place;

        again:
          place = g_atomic_int_get (&f->place);
          target = locate (self, f, offset, pos, &at);
          if (target == NULL)
            goto next; /* unwanted, and no parts file to hold its share */
          ref = acquire_fd (self, target, TRUE, error);
          if (ref == NULL)
            return FALSE;
          g_mutex_lock (&self->write_lock);
          /* the file was wanted or skipped meanwhile (its bytes moved) */
          if (g_atomic_int_get (&f->place) != place)
            {
              g_mutex_unlock (&self->write_lock);
              release_fd (self, ref);
              goto again;
            }
          ok = write_segment_locked (self, target, ref, data, n, at, error);
          g_mutex_unlock (&self->write_lock);
          release_fd (self, ref);
          if (!ok)
            return FALSE;
        }
    next:
      data += n;
      offset += n;
      len -= n;
    }
  return TRUE;
}

gboolean
gbt_storage_read (GbtStorage *self, guint64 offset, guint8 *buf, gsize len, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_range (self, offset, len, error))
    return FALSE;
  if (len == 0)
    return TRUE;

  for (guint i = find_file (self, offset); len > 0; i++)
    {
      StorageFile *f = &self->files[i];
      guint64 pos = offset - f->offset;
      gsize n = (gsize) MIN ((guint64) len, f->length - pos);

      if (n > 0 && f->skip)
        memset (buf, 0, n);
      else if (n > 0)
        {
          guint64 at;
          StorageFile *target = locate (self, f, offset, pos, &at);
          FdRef *ref;
          gboolean ok;

          if (target == NULL)
            target = f;
          ref = acquire_fd (self, target, FALSE, error);
          if (ref == NULL)
            return FALSE;
          ok = pread_all (self, target, ref->fd, buf, n, at, error);
          release_fd (self, ref);
          if (!ok)
            return FALSE;
        }
      buf += n;
      offset += n;
      len -= n;
    }
  return TRUE;
}

gboolean
gbt_storage_adopt_parts (GbtStorage *self, guint64 offset, gsize len,
                         const GbtBitfield *was_in_parts, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (was_in_parts != NULL && was_in_parts->n_bits == self->n_files, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return adopt_range (self, offset, len, was_in_parts, FALSE, error);
}

/* @any_place: copy even while the file's bytes are still placed in the
 * parts file (a file wanted while running is switched after the copy, so
 * readers never see it half filled) */
static gboolean
adopt_range (GbtStorage *self, guint64 offset, gsize len, const GbtBitfield *was_in_parts,
             gboolean any_place, GError **error)
{
  g_autofree guint8 *buf = NULL;

  if (!check_range (self, offset, len, error))
    return FALSE;
  for (guint i = find_file (self, offset); len > 0; i++)
    {
      StorageFile *f = &self->files[i];
      guint64 pos = offset - f->offset;
      gsize n = (gsize) MIN ((guint64) len, f->length - pos);

      if (n > 0 && !f->skip && gbt_bitfield_get (was_in_parts, i)
          && (any_place || g_atomic_int_get (&f->place) != PLACE_PARTS))
        {
          FdRef *from, *to;
          gboolean ok = TRUE;

          if (self->parts == NULL)
            {
              g_set_error (error, GBT_STORAGE_ERROR, GBT_STORAGE_ERROR_IO,
                           "no parts file to take “%s” from", f->path);
              return FALSE;
            }
          from = acquire_fd (self, self->parts, FALSE, error);
          if (from == NULL)
            return FALSE;
          to = acquire_fd (self, f, TRUE, error);
          if (to == NULL)
            {
              release_fd (self, from);
              return FALSE;
            }
          if (buf == NULL)
            buf = g_malloc (256 * 1024);
          for (gsize done = 0; ok && done < n;)
            {
              gsize chunk = MIN (n - done, (gsize) 256 * 1024);

              ok = pread_all (self, self->parts, from->fd, buf, chunk, offset + done, error)
                   && pwrite_all (self, f, to->fd, buf, chunk, pos + done, error);
              done += chunk;
            }
          release_fd (self, to);
          release_fd (self, from);
          if (!ok)
            return FALSE;
        }
      offset += n;
      len -= n;
    }
  return TRUE;
}

gboolean
gbt_storage_flush (GbtStorage *self, GError **error)
{
  g_autoptr(GPtrArray) refs = g_ptr_array_new ();
  gboolean ok = TRUE;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Take references and sync unlocked: fdatasync can take seconds and other
   * threads must keep reading and writing meanwhile. */
  budget_forget (self);
  g_mutex_lock (&self->lock);
  for (GList *l = self->lru.head; l != NULL; l = l->next)
    {
      StorageFile *f = l->data;
      if (f->cached->writable)
        {
          f->cached->refs++;
          g_ptr_array_add (refs, f->cached);
        }
    }
  while (self->lru.head != NULL)
    uncache_locked (self, self->lru.head->data);
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < refs->len; i++)
    {
      FdRef *ref = refs->pdata[i];
      int r;

      do
        r = fdatasync (ref->fd);
      while (r < 0 && errno == EINTR);
      if (r < 0 && ok)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "Cannot flush a file under “%s”: %s", self->download_dir,
                       g_strerror (errno));
          ok = FALSE;
        }
      release_fd (self, ref);
    }
  return ok;
}

void
gbt_storage_close (GbtStorage *self)
{
  g_return_if_fail (self != NULL);

  budget_forget (self);
  g_mutex_lock (&self->lock);
  while (self->lru.head != NULL)
    uncache_locked (self, self->lru.head->data);
  if (self->root_fd >= 0)
    {
      close (self->root_fd);
      self->root_fd = -1;
    }
  g_mutex_unlock (&self->lock);
}

/* ---- where the files are ---- */

char *
gbt_storage_dup_download_dir (GbtStorage *self)
{
  char *dir;

  g_mutex_lock (&self->lock);
  dir = g_strdup (self->download_dir);
  g_mutex_unlock (&self->lock);
  return dir;
}

char *
gbt_storage_dup_path (GbtStorage *self, guint index)
{
  char *path;

  g_return_val_if_fail (index < self->n_files, NULL);
  g_mutex_lock (&self->lock);
  path = g_strdup (self->files[index].path);
  g_mutex_unlock (&self->lock);
  return path;
}

GStrv
gbt_storage_dup_paths (GbtStorage *self)
{
  GStrv paths = g_new0 (char *, self->n_files + 1);

  g_mutex_lock (&self->lock);
  for (guint i = 0; i < self->n_files; i++)
    paths[i] = g_strdup (self->files[i].path);
  g_mutex_unlock (&self->lock);
  return paths;
}

static void
retire_locked (GbtStorage *self, char *old)
{
  if (self->retired == NULL)
    self->retired = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->retired, old);
}

void
gbt_storage_set_download_dir (GbtStorage *self, const char *download_dir)
{
  g_return_if_fail (download_dir != NULL);
  g_mutex_lock (&self->lock);
  while (self->lru.head != NULL)
    uncache_locked (self, self->lru.head->data);
  if (self->root_fd >= 0)
    {
      close (self->root_fd);
      self->root_fd = -1;
    }
  retire_locked (self, self->download_dir);
  self->download_dir = g_strdup (download_dir);
  g_mutex_unlock (&self->lock);
}

void
gbt_storage_set_path (GbtStorage *self, guint index, const char *path)
{
  StorageFile *f;

  g_return_if_fail (index < self->n_files && path != NULL);
  g_mutex_lock (&self->lock);
  f = &self->files[index];
  uncache_locked (self, f);
  retire_locked (self, f->path);
  f->path = g_strdup (path);
  g_mutex_unlock (&self->lock);
}
