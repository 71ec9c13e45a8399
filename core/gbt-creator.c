/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtCreator: scan a tree, hash its pieces in parallel, bencode a torrent.
 *
 * The files form one byte stream (in sorted order) cut into pieces.  Pieces
 * are handed out in chunks of consecutive pieces: each worker takes the next
 * chunk, reads its pieces with pread() into its one piece buffer and hashes
 * them into the shared 'pieces' array (each piece's 20 bytes have exactly
 * one writer, so no lock).  Each worker keeps one file open, the one it read
 * last; a piece that spans files simply reads from several.  Memory is one
 * piece per worker whatever the size of the data.
 *
 * Choices, for interoperability (checked against mktorrent in
 * tests/interop/test_create.py): every regular file is included, hidden
 * ones too; symlinks are followed; files are ordered by their relative path
 * compared bytewise ("a.txt" before "a/b", as strcmp on the full path); file
 * names are written as the bytes the file system gives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gbt/gbt-bencode.h>

#include "gbt-creator.h"
#include "gbt-hash.h"

G_DEFINE_QUARK (gbt-creator-error-quark, gbt_creator_error)

/* a chunk aims at this many bytes: long sequential reads per worker */
#define CHUNK_BYTES (8 * 1024 * 1024)
#define PROGRESS_INTERVAL_US (200 * 1000)
/* the torrent must stay readable by our own parser (and everyone's) */
#define MAX_PIECES_BYTES (48 * 1024 * 1024)
#define AUTO_MAX_PIECES 2048

typedef struct
{
  char *rel_path;  /* '/'-separated, relative to the root; the name when single */
  char *abs_path;
  guint64 length;
  guint64 offset;  /* in the stream */
} CreatorFile;

struct _GbtCreator
{
  GObject parent_instance;
  char *root;           /* canonical path given */
  char *name;
  gboolean multi_file;
  GArray *files;        /* CreatorFile, sorted */
  guint64 total_size;
  GPtrArray *tiers;     /* GStrv each */
  GPtrArray *web_seeds; /* char* */
  char *comment;
  char *created_by;
  gint64 creation_date;
  gboolean is_private;
  guint32 piece_length; /* 0: auto */
  guint n_threads;      /* 0: one per core */
};

G_DEFINE_FINAL_TYPE (GbtCreator, gbt_creator, G_TYPE_OBJECT)

enum {
  SIGNAL_PROGRESS,
  N_SIGNALS,
};
static guint signals[N_SIGNALS];

static void
creator_file_clear (gpointer data)
{
  CreatorFile *f = data;

  g_free (f->rel_path);
  g_free (f->abs_path);
}

/* ---- scanning ---- */

typedef struct
{
  dev_t dev;
  ino_t ino;
} DirId;

static int
compare_files (gconstpointer a, gconstpointer b)
{
  const CreatorFile *fa = a;
  const CreatorFile *fb = b;

  return strcmp (fa->rel_path, fb->rel_path);
}

static gboolean
set_errno_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, GBT_CREATOR_ERROR,
               saved_errno == ENOENT ? GBT_CREATOR_ERROR_NOT_FOUND : GBT_CREATOR_ERROR_IO,
               "Cannot %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/* @ancestors: the directories from the root down to @dir, to refuse to walk
 * into a symlink that loops back up. */
static gboolean
scan_dir (GbtCreator *self, const char *dir, const char *rel, GArray *ancestors, GError **error)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) local = NULL;
  const char *entry;

  d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_IO, "Cannot list %s: %s", dir,
                   local->message);
      return FALSE;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *abs = g_build_filename (dir, entry, NULL);
      g_autofree char *child_rel = rel[0] ? g_strconcat (rel, "/", entry, NULL) : g_strdup (entry);
      struct stat st;

      /* stat, not lstat: symlinks are followed, as mktorrent and libtorrent
       * do; a dangling one is an error rather than a silently missing file */
      if (stat (abs, &st) != 0)
        return set_errno_error (error, errno, "read", abs);
      if (S_ISREG (st.st_mode))
        {
          CreatorFile f = { 0 };

          f.rel_path = g_steal_pointer (&child_rel);
          f.abs_path = g_steal_pointer (&abs);
          f.length = (guint64) st.st_size;
          g_array_append_val (self->files, f);
        }
      else if (S_ISDIR (st.st_mode))
        {
          DirId id = { st.st_dev, st.st_ino };
          gboolean loops = FALSE;

          for (guint i = 0; i < ancestors->len; i++)
            {
              DirId *a = &g_array_index (ancestors, DirId, i);
              if (a->dev == id.dev && a->ino == id.ino)
                loops = TRUE;
            }
          if (loops)
            {
              g_debug ("Skipping %s: it leads back to a directory above it", abs);
              continue;
            }
          g_array_append_val (ancestors, id);
          if (!scan_dir (self, abs, child_rel, ancestors, error))
            return FALSE;
          g_array_set_size (ancestors, ancestors->len - 1);
        }
      else
        g_debug ("Skipping %s: not a regular file", abs);
    }
  return TRUE;
}

static gboolean
name_is_valid (const char *name)
{
  return name != NULL && name[0] != '\0' && strchr (name, '/') == NULL
         && strcmp (name, ".") != 0 && strcmp (name, "..") != 0;
}

GbtCreator *
gbt_creator_new (const char *path, GError **error)
{
  g_autoptr(GbtCreator) self = NULL;
  struct stat st;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (GBT_TYPE_CREATOR, NULL);
  self->root = g_canonicalize_filename (path, NULL);
  self->name = g_path_get_basename (self->root);

  if (stat (self->root, &st) != 0)
    {
      set_errno_error (error, errno, "read", path);
      return NULL;
    }
  if (!name_is_valid (self->name))
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "Cannot take a torrent name from %s: give one", path);
      return NULL;
    }

  if (S_ISREG (st.st_mode))
    {
      CreatorFile f = { 0 };

      f.rel_path = g_strdup (self->name);
      f.abs_path = g_strdup (self->root);
      f.length = (guint64) st.st_size;
      g_array_append_val (self->files, f);
    }
  else if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GArray) ancestors = g_array_new (FALSE, FALSE, sizeof (DirId));
      DirId id = { st.st_dev, st.st_ino };

      self->multi_file = TRUE;
      g_array_append_val (ancestors, id);
      if (!scan_dir (self, self->root, "", ancestors, error))
        return NULL;
      if (self->files->len == 0)
        {
          g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_EMPTY,
                       "%s holds no files", path);
          return NULL;
        }
      g_array_sort (self->files, compare_files);
    }
  else
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_UNSUPPORTED,
                   "%s is neither a regular file nor a directory", path);
      return NULL;
    }

  for (guint i = 0; i < self->files->len; i++)
    {
      CreatorFile *f = &g_array_index (self->files, CreatorFile, i);
      f->offset = self->total_size;
      self->total_size += f->length;
    }
  if (self->total_size == 0)
    {
      /* no pieces at all: most clients refuse such a torrent */
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_EMPTY,
                   self->multi_file ? "%s holds only empty files" : "%s is empty", path);
      return NULL;
    }
  return g_steal_pointer (&self);
}

static void
gbt_creator_init (GbtCreator *self)
{
  self->files = g_array_new (FALSE, TRUE, sizeof (CreatorFile));
  g_array_set_clear_func (self->files, creator_file_clear);
  self->tiers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  self->web_seeds = g_ptr_array_new_with_free_func (g_free);
  self->created_by = g_strdup ("gbt " GBT_VERSION_STRING);
  self->creation_date = -1;
}

static void
gbt_creator_finalize (GObject *object)
{
  GbtCreator *self = GBT_CREATOR (object);

  g_free (self->root);
  g_free (self->name);
  g_array_unref (self->files);
  g_ptr_array_unref (self->tiers);
  g_ptr_array_unref (self->web_seeds);
  g_free (self->comment);
  g_free (self->created_by);
  G_OBJECT_CLASS (gbt_creator_parent_class)->finalize (object);
}

static void
gbt_creator_class_init (GbtCreatorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_creator_finalize;

  /**
   * GbtCreator::progress:
   * @self: the creator
   * @bytes_done: bytes hashed so far
   * @total_bytes: the size of all files
   *
   * Emitted on the main context of the caller of gbt_creator_create_async()
   * a few times a second while hashing, and once with @bytes_done equal to
   * @total_bytes when hashing succeeded.
   */
  signals[SIGNAL_PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

/* ---- accessors and options ---- */

gboolean
gbt_creator_is_multi_file (GbtCreator *self)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), FALSE);
  return self->multi_file;
}

guint
gbt_creator_get_n_files (GbtCreator *self)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), 0);
  return self->files->len;
}

const char *
gbt_creator_get_file_path (GbtCreator *self, guint index)
{
  g_return_val_if_fail (self != NULL && index < self->files->len, NULL);
  return g_array_index (self->files, CreatorFile, index).rel_path;
}

guint64
gbt_creator_get_file_length (GbtCreator *self, guint index)
{
  g_return_val_if_fail (self != NULL && index < self->files->len, 0);
  return g_array_index (self->files, CreatorFile, index).length;
}

guint64
gbt_creator_get_total_size (GbtCreator *self)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), 0);
  return self->total_size;
}

const char *
gbt_creator_get_name (GbtCreator *self)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), NULL);
  return self->name;
}

static gboolean
check_url (const char *url, const char *what, GError **error)
{
  g_autofree char *scheme = NULL;

  if (url != NULL)
    scheme = g_uri_parse_scheme (url);
  if (scheme == NULL || strpbrk (url, " \t\r\n") != NULL
      || !g_uri_is_valid (url, G_URI_FLAGS_ENCODED, NULL))
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "Not a valid %s URL: '%s'", what, url ? url : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
gbt_creator_add_tier (GbtCreator *self, const char *const *urls, GError **error)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), FALSE);

  if (urls == NULL || urls[0] == NULL)
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "A tracker tier needs at least one URL");
      return FALSE;
    }
  for (guint i = 0; urls[i]; i++)
    if (!check_url (urls[i], "tracker", error))
      return FALSE;
  g_ptr_array_add (self->tiers, g_strdupv ((char **) urls));
  return TRUE;
}

gboolean
gbt_creator_add_web_seed (GbtCreator *self, const char *url, GError **error)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), FALSE);

  if (!check_url (url, "web seed", error))
    return FALSE;
  g_ptr_array_add (self->web_seeds, g_strdup (url));
  return TRUE;
}

gboolean
gbt_creator_set_name (GbtCreator *self, const char *name, GError **error)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), FALSE);

  if (!name_is_valid (name))
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "Not a valid torrent name: '%s' (no '/', not empty, '.' or '..')",
                   name ? name : "");
      return FALSE;
    }
  g_free (self->name);
  self->name = g_strdup (name);
  if (!self->multi_file)
    {
      CreatorFile *f = &g_array_index (self->files, CreatorFile, 0);
      g_free (f->rel_path);
      f->rel_path = g_strdup (name);
    }
  return TRUE;
}

void
gbt_creator_set_comment (GbtCreator *self, const char *comment)
{
  g_return_if_fail (GBT_IS_CREATOR (self));
  g_free (self->comment);
  self->comment = g_strdup (comment);
}

void
gbt_creator_set_private (GbtCreator *self, gboolean is_private)
{
  g_return_if_fail (GBT_IS_CREATOR (self));
  self->is_private = is_private;
}

void
gbt_creator_set_created_by (GbtCreator *self, const char *created_by)
{
  g_return_if_fail (GBT_IS_CREATOR (self));
  g_free (self->created_by);
  self->created_by = g_strdup (created_by);
}

void
gbt_creator_set_creation_date (GbtCreator *self, gint64 date)
{
  g_return_if_fail (GBT_IS_CREATOR (self));
  self->creation_date = date < 0 ? -1 : date;
}

gboolean
gbt_creator_set_piece_length (GbtCreator *self, guint32 length, GError **error)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), FALSE);

  if (length != 0
      && (length < GBT_CREATOR_MIN_PIECE_LENGTH || length > GBT_CREATOR_MAX_PIECE_LENGTH
          || (length & (length - 1)) != 0))
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "Piece size %u is not a power of two between 16 KiB and 16 MiB", length);
      return FALSE;
    }
  self->piece_length = length;
  return TRUE;
}

guint32
gbt_creator_auto_piece_length (guint64 total_size)
{
  guint32 length = GBT_CREATOR_MIN_PIECE_LENGTH;

  while (length < GBT_CREATOR_MAX_PIECE_LENGTH
         && (total_size + length - 1) / length > AUTO_MAX_PIECES)
    length *= 2;
  return length;
}

guint32
gbt_creator_get_piece_length (GbtCreator *self)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), 0);
  return self->piece_length != 0 ? self->piece_length
                                 : gbt_creator_auto_piece_length (self->total_size);
}

gboolean
gbt_creator_parse_size (const char *text, guint64 *out, GError **error)
{
  const char *p = text;
  guint64 value = 0;
  guint shift = 0;

  g_return_val_if_fail (out != NULL, FALSE);

  if (text == NULL || !g_ascii_isdigit (*p))
    goto bad;
  while (g_ascii_isdigit (*p))
    {
      if (value > (G_MAXUINT64 - 9) / 10)
        goto bad;
      value = value * 10 + (guint64) (*p++ - '0');
    }
  switch (g_ascii_toupper (*p))
    {
    case '\0': break;
    case 'K': shift = 10; p++; break;
    case 'M': shift = 20; p++; break;
    case 'G': shift = 30; p++; break;
    default: goto bad;
    }
  if (shift != 0 && (g_ascii_strcasecmp (p, "iB") == 0 || g_ascii_strcasecmp (p, "B") == 0))
    p += strlen (p);
  if (*p != '\0' || value > (G_MAXUINT64 >> shift))
    goto bad;
  *out = value << shift;
  return TRUE;

bad:
  g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
               "Not a size: '%s' (try 262144, 256K, 1M or 4MiB)", text ? text : "");
  return FALSE;
}

/* ---- hashing ---- */

typedef struct
{
  GbtCreator *creator;
  guint32 piece_length;
  guint n_pieces;
  guint pieces_per_chunk;
  guint n_chunks;
  guint8 *pieces;        /* n_pieces × 20 */
  GCancellable *cancellable;
  gint next_chunk;       /* atomic */
  gint failed;           /* atomic */
  guint64 bytes_done;    /* under lock */
  GMutex lock;
  GCond cond;
  guint workers_running; /* under lock */
  GError *error;         /* under lock: the first one */
} HashJob;

typedef struct
{
  HashJob *job;
  int fd;
  guint fd_index;
  guint8 *buf;
} Worker;

static void
job_fail (HashJob *job, GError *error)
{
  g_mutex_lock (&job->lock);
  if (job->error == NULL)
    job->error = error;
  else
    g_error_free (error);
  g_mutex_unlock (&job->lock);
  g_atomic_int_set (&job->failed, TRUE);
}

static void
add_done (HashJob *job, guint64 n)
{
  g_mutex_lock (&job->lock);
  job->bytes_done += n;
  g_mutex_unlock (&job->lock);
}

/* the file holding stream offset @offset (the last file starting at or
 * before it; zero-length files are passed over by the read loop) */
static guint
find_file (GArray *files, guint64 offset)
{
  guint lo = 0;
  guint hi = files->len;

  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;
      if (g_array_index (files, CreatorFile, mid).offset <= offset)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

static gboolean
worker_open (Worker *w, guint index, GError **error)
{
  CreatorFile *f = &g_array_index (w->job->creator->files, CreatorFile, index);
  struct stat st;
  int fd;

  if (w->fd >= 0 && w->fd_index == index)
    return TRUE;
  if (w->fd >= 0)
    close (w->fd);
  w->fd = -1;

  fd = open (f->abs_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return set_errno_error (error, errno, "open", f->abs_path);
  if (fstat (fd, &st) != 0 || (guint64) st.st_size != f->length)
    {
      close (fd);
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_CHANGED,
                   "%s changed size while the torrent was being made", f->abs_path);
      return FALSE;
    }
  /* the kernel reads further ahead for a file read front to back */
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  w->fd = fd;
  w->fd_index = index;
  return TRUE;
}

static gboolean
read_stream (Worker *w, guint64 offset, guint8 *buf, gsize len, GError **error)
{
  GArray *files = w->job->creator->files;
  guint index = find_file (files, offset);

  while (len > 0)
    {
      CreatorFile *f;
      guint64 in_file;
      gsize n;

      g_assert (index < files->len);
      f = &g_array_index (files, CreatorFile, index);
      if (offset >= f->offset + f->length)
        {
          index++; /* past this one (or it is empty) */
          continue;
        }
      in_file = offset - f->offset;
      n = (gsize) MIN ((guint64) len, f->length - in_file);
      if (!worker_open (w, index, error))
        return FALSE;
      for (gsize got = 0; got < n;)
        {
          ssize_t r = pread (w->fd, buf + got, n - got, (off_t) (in_file + got));
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            return set_errno_error (error, errno, "read", f->abs_path);
          if (r == 0)
            {
              g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_CHANGED,
                           "%s became shorter while the torrent was being made",
                           f->abs_path);
              return FALSE;
            }
          got += (gsize) r;
        }
      buf += n;
      len -= n;
      offset += n;
      index++;
    }
  return TRUE;
}

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  HashJob *job = w->job;
  guint64 total = job->creator->total_size;

  for (;;)
    {
      guint chunk = (guint) g_atomic_int_add (&job->next_chunk, 1);
      guint first = chunk * job->pieces_per_chunk;
      guint last;
      guint64 done = 0;

      if (chunk >= job->n_chunks)
        break;
      last = MIN (first + job->pieces_per_chunk, job->n_pieces);
      for (guint p = first; p < last; p++)
        {
          guint64 offset = (guint64) p * job->piece_length;
          gsize size = (gsize) MIN ((guint64) job->piece_length, total - offset);
          GError *error = NULL;

          if (g_atomic_int_get (&job->failed))
            goto out;
          if (g_cancellable_set_error_if_cancelled (job->cancellable, &error)
              || !read_stream (w, offset, w->buf, size, &error))
            {
              job_fail (job, error);
              goto out;
            }
          gbt_sha1 (w->buf, size, job->pieces + (gsize) p * 20);
          done += size;
          if (done >= 4 * 1024 * 1024)
            {
              add_done (job, done);
              done = 0;
            }
        }
      add_done (job, done);
    }

out:
  if (w->fd >= 0)
    close (w->fd);
  w->fd = -1;
  g_mutex_lock (&job->lock);
  job->workers_running--;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
  return NULL;
}

/* ---- bencoding ---- */

static void
write_info (GbtCreator *self, GByteArray *out, guint32 piece_length, const guint8 *pieces,
            gsize pieces_len)
{
  /* keys in byte order (BEP 3 wants sorted keys; the info-hash depends on it) */
  gbt_bencode_write_dict_start (out);
  if (self->multi_file)
    {
      gbt_bencode_write_str (out, "files");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; i < self->files->len; i++)
        {
          CreatorFile *f = &g_array_index (self->files, CreatorFile, i);
          g_auto(GStrv) parts = g_strsplit (f->rel_path, "/", -1);

          gbt_bencode_write_dict_start (out);
          gbt_bencode_write_str (out, "length");
          gbt_bencode_write_int (out, (gint64) f->length);
          gbt_bencode_write_str (out, "path");
          gbt_bencode_write_list_start (out);
          for (guint k = 0; parts[k]; k++)
            gbt_bencode_write_str (out, parts[k]);
          gbt_bencode_write_end (out);
          gbt_bencode_write_end (out);
        }
      gbt_bencode_write_end (out);
    }
  else
    {
      gbt_bencode_write_str (out, "length");
      gbt_bencode_write_int (out, (gint64) self->total_size);
    }
  gbt_bencode_write_str (out, "name");
  gbt_bencode_write_str (out, self->name);
  gbt_bencode_write_str (out, "piece length");
  gbt_bencode_write_int (out, piece_length);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, pieces, pieces_len);
  if (self->is_private)
    {
      gbt_bencode_write_str (out, "private");
      gbt_bencode_write_int (out, 1);
    }
  gbt_bencode_write_end (out);
}

static GBytes *
write_torrent (GbtCreator *self, const guint8 *info, gsize info_len)
{
  GByteArray *out = g_byte_array_new ();
  guint n_urls = 0;

  for (guint t = 0; t < self->tiers->len; t++)
    n_urls += g_strv_length (g_ptr_array_index (self->tiers, t));

  gbt_bencode_write_dict_start (out);
  if (n_urls > 0)
    {
      gbt_bencode_write_str (out, "announce");
      gbt_bencode_write_str (out, ((char **) g_ptr_array_index (self->tiers, 0))[0]);
    }
  if (n_urls > 1)
    {
      /* BEP 12: clients that know announce-list ignore announce */
      gbt_bencode_write_str (out, "announce-list");
      gbt_bencode_write_list_start (out);
      for (guint t = 0; t < self->tiers->len; t++)
        {
          char **tier = g_ptr_array_index (self->tiers, t);
          gbt_bencode_write_list_start (out);
          for (guint i = 0; tier[i]; i++)
            gbt_bencode_write_str (out, tier[i]);
          gbt_bencode_write_end (out);
        }
      gbt_bencode_write_end (out);
    }
  if (self->comment != NULL && self->comment[0] != '\0')
    {
      gbt_bencode_write_str (out, "comment");
      gbt_bencode_write_str (out, self->comment);
    }
  if (self->created_by != NULL)
    {
      gbt_bencode_write_str (out, "created by");
      gbt_bencode_write_str (out, self->created_by);
    }
  if (self->creation_date >= 0)
    {
      gbt_bencode_write_str (out, "creation date");
      gbt_bencode_write_int (out, self->creation_date);
    }
  gbt_bencode_write_str (out, "info");
  g_byte_array_append (out, info, (guint) info_len);
  if (self->web_seeds->len == 1)
    {
      /* BEP 19 allows a single string; it is what mktorrent writes */
      gbt_bencode_write_str (out, "url-list");
      gbt_bencode_write_str (out, g_ptr_array_index (self->web_seeds, 0));
    }
  else if (self->web_seeds->len > 1)
    {
      gbt_bencode_write_str (out, "url-list");
      gbt_bencode_write_list_start (out);
      for (guint i = 0; i < self->web_seeds->len; i++)
        gbt_bencode_write_str (out, g_ptr_array_index (self->web_seeds, i));
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
gbt_creator_hash (GbtCreator *self, guint n_threads, GbtCreatorProgressFunc progress,
                  gpointer user_data, GCancellable *cancellable, guint8 info_hash_out[20],
                  GError **error)
{
  HashJob job = { 0 };
  g_autofree Worker *workers = NULL;
  g_autofree GThread **threads = NULL;
  g_autoptr(GByteArray) info = NULL;
  guint n_workers;
  guint n_started = 0;
  GBytes *torrent = NULL;

  g_return_val_if_fail (GBT_IS_CREATOR (self), NULL);

  job.creator = self;
  job.piece_length = gbt_creator_get_piece_length (self);
  job.n_pieces = (guint) ((self->total_size + job.piece_length - 1) / job.piece_length);
  if ((guint64) job.n_pieces * 20 > MAX_PIECES_BYTES)
    {
      g_set_error (error, GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_BAD_OPTION,
                   "Piece size %u makes %u pieces, too many: choose a larger one",
                   job.piece_length, job.n_pieces);
      return NULL;
    }
  job.cancellable = cancellable;
  job.pieces = g_malloc ((gsize) job.n_pieces * 20);
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);

  if (n_threads == 0)
    n_threads = MAX (g_get_num_processors (), 1);
  /* long sequential runs per worker, yet several chunks per worker so that
   * none idles at the end while another still has a long chunk */
  job.pieces_per_chunk = MAX (CHUNK_BYTES / job.piece_length, 1);
  job.pieces_per_chunk = MIN (job.pieces_per_chunk,
                              MAX (job.n_pieces / (n_threads * 4), 1));
  job.n_chunks = (job.n_pieces + job.pieces_per_chunk - 1) / job.pieces_per_chunk;
  n_workers = MIN (n_threads, job.n_chunks);

  workers = g_new0 (Worker, n_workers);
  threads = g_new0 (GThread *, n_workers);
  for (guint i = 0; i < n_workers; i++)
    {
      g_autoptr(GError) thread_error = NULL;

      workers[i].job = &job;
      workers[i].fd = -1;
      workers[i].buf = g_malloc (job.piece_length);
      g_mutex_lock (&job.lock);
      job.workers_running++;
      g_mutex_unlock (&job.lock);
      threads[i] = g_thread_try_new ("gbt-create", worker_thread, &workers[i], &thread_error);
      if (threads[i] == NULL)
        {
          g_mutex_lock (&job.lock);
          job.workers_running--;
          g_mutex_unlock (&job.lock);
          if (i == 0)
            {
              job_fail (&job, g_error_new (GBT_CREATOR_ERROR, GBT_CREATOR_ERROR_FAILED,
                                           "Cannot start a hashing thread: %s",
                                           thread_error->message));
            }
          break; /* fewer workers do the same work */
        }
      n_started++;
    }

  /* wait, reporting progress from this thread */
  g_mutex_lock (&job.lock);
  while (job.workers_running > 0)
    {
      gint64 deadline = g_get_monotonic_time () + PROGRESS_INTERVAL_US;
      guint64 done;

      while (job.workers_running > 0 && g_cond_wait_until (&job.cond, &job.lock, deadline))
        ;
      done = job.bytes_done;
      if (progress != NULL && job.workers_running > 0)
        {
          g_mutex_unlock (&job.lock);
          progress (done, self->total_size, user_data);
          g_mutex_lock (&job.lock);
        }
    }
  g_mutex_unlock (&job.lock);

  for (guint i = 0; i < n_started; i++)
    g_thread_join (threads[i]);
  for (guint i = 0; i < n_workers; i++)
    g_free (workers[i].buf);

  if (job.error != NULL)
    {
      g_propagate_error (error, job.error);
      goto out;
    }
  if (progress != NULL)
    progress (self->total_size, self->total_size, user_data);

  info = g_byte_array_new ();
  write_info (self, info, job.piece_length, job.pieces, (gsize) job.n_pieces * 20);
  if (info_hash_out != NULL)
    gbt_sha1 (info->data, info->len, info_hash_out);
  torrent = write_torrent (self, info->data, info->len);

out:
  g_free (job.pieces);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
  return torrent;
}

/* ---- the async API ---- */

void
gbt_creator_set_n_threads (GbtCreator *self, guint n_threads)
{
  g_return_if_fail (GBT_IS_CREATOR (self));
  self->n_threads = n_threads;
}

typedef struct
{
  GbtCreator *self; /* a reference */
  guint64 done, total;
} ProgressReport;

static gboolean
emit_progress (gpointer data)
{
  ProgressReport *report = data;

  g_signal_emit (report->self, signals[SIGNAL_PROGRESS], 0, report->done, report->total);
  return G_SOURCE_REMOVE;
}

static void
progress_report_free (gpointer data)
{
  ProgressReport *report = data;

  g_object_unref (report->self);
  g_free (report);
}

/* on the hashing thread, already throttled by gbt_creator_hash(): hand it
 * to the caller's context */
static void
post_progress (guint64 done, guint64 total, gpointer user_data)
{
  GTask *task = user_data;
  ProgressReport *report = g_new0 (ProgressReport, 1);
  GSource *source = g_idle_source_new ();

  report->self = g_object_ref (g_task_get_source_object (task));
  report->done = done;
  report->total = total;
  /* same priority as the task's completion, attached earlier: runs first */
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, emit_progress, report, progress_report_free);
  g_source_set_static_name (source, "[gbt] creator progress");
  g_source_attach (source, g_task_get_context (task));
  g_source_unref (source);
}

static void
create_thread (GTask *task, gpointer source_object, gpointer task_data,
               GCancellable *cancellable)
{
  GbtCreator *self = source_object;
  GError *error = NULL;
  GBytes *torrent;

  torrent = gbt_creator_hash (self, self->n_threads, post_progress, task, cancellable, NULL,
                              &error);
  if (torrent == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, torrent, (GDestroyNotify) g_bytes_unref);
}

void
gbt_creator_create_async (GbtCreator *self, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (GBT_IS_CREATOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gbt_creator_create_async);
  g_task_set_name (task, "[gbt] gbt_creator_create_async");
  /* gbt_creator_hash() reports cancellation itself, with its own message */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, create_thread);
}

GBytes *
gbt_creator_create_finish (GbtCreator *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GBT_IS_CREATOR (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gbt_creator_create_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
