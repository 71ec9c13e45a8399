/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resume data (see gbt-resume.h for the format and the contract with the
 * torrent).  Loading treats the file as untrusted input: someone may have
 * edited it, or it may belong to another version of the torrent; it is
 * checked field by field, and fuzzed (tests/fuzzing/fuzz-resume.c).
 */
#include "gbt-resume.h"
#include "gbt-hash.h"
#include "gbt-storage.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <gbt/gbt-bencode.h>

G_DEFINE_QUARK (gbt-resume-error-quark, gbt_resume_error)

#define FORMAT_VERSION 1
/* d files l d ... e e e: nothing deeper is legitimate */
#define MAX_DEPTH 8

/* ---- the data ---- */

GbtResumeData *
gbt_resume_data_new (GbtMetainfo *mi)
{
  GbtResumeData *data = g_new0 (GbtResumeData, 1);

  g_return_val_if_fail (mi != NULL, NULL);
  memcpy (data->info_hash, gbt_metainfo_get_info_hash (mi), 20);
  gbt_bitfield_init (&data->have, gbt_metainfo_get_n_pieces (mi));
  data->files = g_array_new (FALSE, TRUE, sizeof (GbtResumeFile));
  g_array_set_size (data->files, gbt_metainfo_get_n_files (mi));
  data->peers = g_ptr_array_new_with_free_func (g_object_unref);
  return data;
}

void
gbt_resume_data_free (GbtResumeData *data)
{
  if (data == NULL)
    return;
  gbt_bitfield_clear (&data->have);
  g_clear_pointer (&data->files, g_array_unref);
  g_clear_pointer (&data->peers, g_ptr_array_unref);
  g_free (data);
}

char *
gbt_resume_sidecar_path (const char *download_dir, const guint8 info_hash[20], const char *suffix)
{
  char hex[41];
  g_autofree char *name = NULL;

  gbt_sha1_to_hex (info_hash, hex);
  name = g_strconcat (hex, suffix, NULL);
  return g_build_filename (download_dir ? download_dir : "", ".gbt", name, NULL);
}

char *
gbt_resume_path_for (const char *download_dir, const guint8 info_hash[20])
{
  return gbt_resume_sidecar_path (download_dir, info_hash, ".resume");
}

/* ---- encoding ---- */

static void
write_key_int (GByteArray *out, const char *key, guint64 value)
{
  gbt_bencode_write_str (out, key);
  gbt_bencode_write_int (out, (gint64) MIN (value, (guint64) G_MAXINT64));
}

GBytes *
gbt_resume_encode (const GbtResumeData *data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GByteArray) v4 = g_byte_array_new ();
  g_autoptr(GByteArray) v6 = g_byte_array_new ();
  guint n_peers = 0;

  g_return_val_if_fail (data != NULL, NULL);

  for (guint i = 0; data->peers && i < data->peers->len && n_peers < GBT_RESUME_MAX_PEERS; i++)
    {
      GInetSocketAddress *sa = g_ptr_array_index (data->peers, i);
      GInetAddress *addr = g_inet_socket_address_get_address (sa);
      guint16 port = GUINT16_TO_BE (g_inet_socket_address_get_port (sa));
      GByteArray *dst = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV4 ? v4 : v6;

      g_byte_array_append (dst, g_inet_address_to_bytes (addr),
                           g_inet_address_get_native_size (addr));
      g_byte_array_append (dst, (const guint8 *) &port, 2);
      n_peers++;
    }

  /* keys in sorted order, as BEP 3 asks of every dictionary */
  gbt_bencode_write_dict_start (out);
  write_key_int (out, "active-seconds", data->active_seconds);
  write_key_int (out, "downloaded", data->downloaded);
  gbt_bencode_write_str (out, "files");
  gbt_bencode_write_list_start (out);
  for (guint i = 0; data->files && i < data->files->len; i++)
    {
      const GbtResumeFile *f = &g_array_index (data->files, GbtResumeFile, i);
      gbt_bencode_write_dict_start (out);
      write_key_int (out, "exists", f->exists ? 1 : 0);
      gbt_bencode_write_str (out, "mtime");
      gbt_bencode_write_int (out, f->exists ? f->mtime_s : 0);
      write_key_int (out, "mtime-ns", f->exists ? (guint64) CLAMP (f->mtime_ns, 0, 999999999) : 0);
      if (f->in_parts)
        write_key_int (out, "parts", 1);
      write_key_int (out, "size", f->exists ? f->size : 0);
      gbt_bencode_write_end (out);
    }
  gbt_bencode_write_end (out);
  gbt_bencode_write_str (out, "info-hash");
  gbt_bencode_write_string (out, data->info_hash, 20);
  gbt_bencode_write_str (out, "peers");
  gbt_bencode_write_string (out, v4->data, v4->len);
  gbt_bencode_write_str (out, "peers6");
  gbt_bencode_write_string (out, v6->data, v6->len);
  gbt_bencode_write_str (out, "pieces");
  gbt_bencode_write_string (out, data->have.bits, gbt_bitfield_byte_len (data->have.n_bits));
  write_key_int (out, "uploaded", data->uploaded);
  write_key_int (out, "version", FORMAT_VERSION);
  gbt_bencode_write_end (out);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* ---- decoding ---- */

static gboolean G_GNUC_PRINTF (2, 3)
malformed (GError **error, const char *format, ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_MALFORMED, "Bad resume data: %s", msg);
  return FALSE;
}

static gboolean
get_count (const GbtBencode *dict, const char *key, guint64 *out, GError **error)
{
  gint64 v;

  if (!gbt_bencode_dict_get_int (dict, key, &v) || v < 0)
    return malformed (error, "“%s” is missing or negative", key);
  *out = (guint64) v;
  return TRUE;
}

static gboolean
decode_file (const GbtBencode *value, GbtResumeFile *f, GError **error)
{
  gint64 exists = 0, mtime = 0, mtime_ns = 0, in_parts = 0;
  guint64 size = 0;

  if (!gbt_bencode_is_dict (value)
      || !gbt_bencode_dict_get_int (value, "exists", &exists)
      || !gbt_bencode_dict_get_int (value, "mtime", &mtime)
      || !gbt_bencode_dict_get_int (value, "mtime-ns", &mtime_ns)
      || !get_count (value, "size", &size, NULL))
    return malformed (error, "a file entry lacks exists, mtime, mtime-ns or size");
  /* optional: absent in files written before it existed */
  if (gbt_bencode_dict_lookup (value, "parts") != NULL
      && !gbt_bencode_dict_get_int (value, "parts", &in_parts))
    return malformed (error, "a file entry's “parts” is not an integer");
  if ((exists != 0 && exists != 1) || (in_parts != 0 && in_parts != 1) || mtime_ns < 0
      || mtime_ns > 999999999)
    return malformed (error, "a file entry is out of range");
  f->exists = exists == 1;
  f->in_parts = in_parts == 1;
  f->mtime_s = mtime;
  f->mtime_ns = (gint32) mtime_ns;
  f->size = size;
  return TRUE;
}

/* compact peers (BEP 23 / BEP 7): @stride 6 or 18 */
static gboolean
decode_peers (const GbtBencode *root, const char *key, gsize stride, GPtrArray *peers,
              GError **error)
{
  gsize len = 0;
  const guint8 *p = gbt_bencode_dict_get_string (root, key, &len);
  GSocketFamily family = stride == 6 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6;

  if (p == NULL)
    {
      if (gbt_bencode_dict_lookup (root, key) != NULL)
        return malformed (error, "“%s” is not a string", key);
      return TRUE; /* optional */
    }
  if (len % stride != 0)
    return malformed (error, "“%s” is not a whole number of %" G_GSIZE_FORMAT "-byte entries",
                      key, stride);
  for (gsize off = 0; off < len && peers->len < GBT_RESUME_MAX_PEERS; off += stride)
    {
      g_autoptr(GInetAddress) addr = g_inet_address_new_from_bytes (p + off, family);
      guint16 port = (guint16) (p[off + stride - 2] << 8 | p[off + stride - 1]);
      if (port == 0)
        continue; /* nobody to call */
      g_ptr_array_add (peers, g_inet_socket_address_new (addr, port));
    }
  return TRUE;
}

GbtResumeData *
gbt_resume_decode (GBytes *bytes, GbtMetainfo *mi, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GbtBencodeDoc) doc = NULL;
  g_autoptr(GbtResumeData) data = NULL;
  GbtBencode *root, *files;
  const guint8 *hash, *pieces;
  gsize hash_len = 0, pieces_len = 0;
  guint n_pieces;
  gint64 version;

  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (mi != NULL, NULL);

  doc = gbt_bencode_parse_full (bytes, GBT_BENCODE_NONE, MAX_DEPTH, GBT_RESUME_MAX_SIZE,
                                &local_error);
  if (doc == NULL)
    {
      malformed (error, "%s", local_error->message);
      return NULL;
    }
  root = gbt_bencode_doc_get_root (doc);
  if (!gbt_bencode_is_dict (root))
    {
      malformed (error, "not a dictionary");
      return NULL;
    }
  if (!gbt_bencode_dict_get_int (root, "version", &version))
    {
      malformed (error, "no version");
      return NULL;
    }
  if (version != FORMAT_VERSION)
    {
      malformed (error, "version %" G_GINT64_FORMAT " is not supported", version);
      return NULL;
    }

  /* another torrent's file (or a changed .torrent) is STALE, not broken */
  hash = gbt_bencode_dict_get_string (root, "info-hash", &hash_len);
  if (hash == NULL || hash_len != 20)
    {
      malformed (error, "no 20-byte info-hash");
      return NULL;
    }
  if (memcmp (hash, gbt_metainfo_get_info_hash (mi), 20) != 0)
    {
      g_set_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_STALE,
                   "Resume data is for another torrent (info-hash differs)");
      return NULL;
    }
  data = gbt_resume_data_new (mi);

  n_pieces = gbt_metainfo_get_n_pieces (mi);
  pieces = gbt_bencode_dict_get_string (root, "pieces", &pieces_len);
  if (pieces == NULL)
    {
      malformed (error, "no pieces bitmap");
      return NULL;
    }
  if (pieces_len != gbt_bitfield_byte_len (n_pieces))
    {
      g_set_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_STALE,
                   "Resume data has a %" G_GSIZE_FORMAT "-byte bitmap, the torrent %u pieces",
                   pieces_len, n_pieces);
      return NULL;
    }
  if (!gbt_bitfield_load (&data->have, pieces, pieces_len, &local_error))
    {
      malformed (error, "%s", local_error->message);
      return NULL;
    }

  files = gbt_bencode_dict_lookup (root, "files");
  if (files == NULL || !gbt_bencode_is_list (files))
    {
      malformed (error, "no file list");
      return NULL;
    }
  if (gbt_bencode_get_length (files) != gbt_metainfo_get_n_files (mi))
    {
      g_set_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_STALE,
                   "Resume data lists %u files, the torrent %u",
                   gbt_bencode_get_length (files), gbt_metainfo_get_n_files (mi));
      return NULL;
    }
  for (guint i = 0; i < data->files->len; i++)
    if (!decode_file (gbt_bencode_list_nth (files, i),
                      &g_array_index (data->files, GbtResumeFile, i), error))
      return NULL;

  if (!get_count (root, "uploaded", &data->uploaded, error)
      || !get_count (root, "downloaded", &data->downloaded, error)
      || !get_count (root, "active-seconds", &data->active_seconds, error)
      || !decode_peers (root, "peers", 6, data->peers, error)
      || !decode_peers (root, "peers6", 18, data->peers, error))
    return NULL;
  return g_steal_pointer (&data);
}

/* ---- files ---- */

static gboolean
set_io_error (GError **error, int saved_errno, const char *what, const char *path)
{
  g_set_error (error, GBT_RESUME_ERROR,
               saved_errno == ENOENT ? GBT_RESUME_ERROR_NOT_FOUND : GBT_RESUME_ERROR_IO,
               "Cannot %s resume file %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_all (int fd, const guint8 *buf, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
gbt_resume_save (const char *path, const GbtResumeData *data, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *tmp = NULL;
  const guint8 *buf;
  gsize len;
  int fd, dfd, saved_errno;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (data != NULL, FALSE);

  bytes = gbt_resume_encode (data);
  buf = g_bytes_get_data (bytes, &len);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return set_io_error (error, errno, "create the directory of", path);

  /* same directory, so the rename is atomic (same file system) */
  tmp = g_strconcat (path, ".XXXXXX.tmp", NULL);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_io_error (error, errno, "create a temporary", path);
  /* fsync before rename: otherwise a crash can leave the new name on an
   * empty file (delayed allocation) */
  if (!write_all (fd, buf, len) || fsync (fd) != 0)
    {
      saved_errno = errno;
      close (fd);
      g_unlink (tmp);
      return set_io_error (error, saved_errno, "write", path);
    }
  if (close (fd) != 0 || g_rename (tmp, path) != 0)
    {
      saved_errno = errno;
      g_unlink (tmp);
      return set_io_error (error, saved_errno, "replace", path);
    }
  /* and fsync the directory, so the rename itself survives a crash */
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return set_io_error (error, errno, "open the directory of", path);
  if (fsync (dfd) != 0)
    {
      saved_errno = errno;
      close (dfd);
      return set_io_error (error, saved_errno, "sync the directory of", path);
    }
  close (dfd);
  return TRUE;
}

GbtResumeData *
gbt_resume_load (const char *path, GbtMetainfo *mi, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  struct stat st;
  guint8 *buf;
  gsize got = 0;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (mi != NULL, NULL);

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      set_io_error (error, errno, "open", path);
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, GBT_RESUME_ERROR, GBT_RESUME_ERROR_IO,
                   "Resume file %s is not a regular file", path);
      return NULL;
    }
  /* checked before reading: a huge file is not loaded into memory */
  if (st.st_size > GBT_RESUME_MAX_SIZE)
    {
      close (fd);
      malformed (error, "%s is larger than %d bytes", path, GBT_RESUME_MAX_SIZE);
      return NULL;
    }
  buf = g_malloc (MAX (st.st_size, 1));
  while (got < (gsize) st.st_size)
    {
      gssize n = read (fd, buf + got, (gsize) st.st_size - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;
          close (fd);
          g_free (buf);
          set_io_error (error, saved_errno, "read", path);
          return NULL;
        }
      if (n == 0)
        break; /* shrank meanwhile: decoding what we have will tell */
      got += (gsize) n;
    }
  close (fd);
  bytes = g_bytes_new_take (buf, got);
  return gbt_resume_decode (bytes, mi, error);
}

static void
stat_file (GbtMetainfo *mi, guint i, const char *download_dir, const char *const *paths,
           GbtResumeFile *out)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
  g_autofree char *full = NULL;
  struct stat st;

  memset (out, 0, sizeof *out);
  if (f->attr & GBT_FILE_ATTR_PAD)
    return; /* BEP 47: never on disk */
  full = g_build_filename (download_dir, paths ? paths[i] : f->path, NULL);
  if (stat (full, &st) != 0 || !S_ISREG (st.st_mode))
    return;
  out->exists = TRUE;
  out->size = (guint64) st.st_size;
  out->mtime_s = (gint64) st.st_mtim.tv_sec;
  out->mtime_ns = (gint32) st.st_mtim.tv_nsec;
}

void
gbt_resume_stat_files_at (GbtResumeData *data, GbtMetainfo *mi, const char *download_dir,
                          const char *const *paths)
{
  guint n = gbt_metainfo_get_n_files (mi);

  g_return_if_fail (data != NULL && mi != NULL && download_dir != NULL);
  g_return_if_fail (paths == NULL || g_strv_length ((GStrv) paths) == n);
  g_array_set_size (data->files, n);
  for (guint i = 0; i < n; i++)
    stat_file (mi, i, download_dir, paths, &g_array_index (data->files, GbtResumeFile, i));
}

void
gbt_resume_stat_files (GbtResumeData *data, GbtMetainfo *mi, const char *download_dir)
{
  gbt_resume_stat_files_at (data, mi, download_dir, NULL);
}

void
gbt_resume_trusted_pieces (GbtResumeData *data, GbtMetainfo *mi, const char *download_dir,
                           GbtBitfield *trusted, GbtBitfield *recheck)
{
  gbt_resume_trusted_pieces_at (data, mi, download_dir, NULL, trusted, recheck);
}

void
gbt_resume_trusted_pieces_at (GbtResumeData *data, GbtMetainfo *mi, const char *download_dir,
                              const char *const *paths, GbtBitfield *trusted,
                              GbtBitfield *recheck)
{
  guint n_pieces = gbt_metainfo_get_n_pieces (mi);
  guint32 piece_length = gbt_metainfo_get_piece_length (mi);
  GbtBitfield tainted;

  g_return_if_fail (data != NULL && mi != NULL && download_dir != NULL);
  g_return_if_fail (trusted != NULL && recheck != NULL);
  g_return_if_fail (data->have.n_bits == n_pieces);

  gbt_bitfield_init (trusted, n_pieces);
  gbt_bitfield_init (recheck, n_pieces);
  gbt_bitfield_init (&tainted, n_pieces);
  for (guint i = 0; i < gbt_metainfo_get_n_files (mi); i++)
    {
      const GbtFileInfo *f = gbt_metainfo_get_file (mi, i);
      const GbtResumeFile *saved = i < data->files->len
                                       ? &g_array_index (data->files, GbtResumeFile, i)
                                       : NULL;
      GbtResumeFile now;
      gboolean unchanged;

      /* pad files are never written; empty files hold no piece */
      if ((f->attr & GBT_FILE_ATTR_PAD) || f->length == 0)
        continue;
      stat_file (mi, i, download_dir, paths, &now);
      unchanged = saved != NULL && saved->exists && now.exists && saved->size == now.size
                  && saved->mtime_s == now.mtime_s && saved->mtime_ns == now.mtime_ns;
      if (unchanged)
        continue;
      for (guint64 p = f->offset / piece_length;
           p <= (f->offset + f->length - 1) / piece_length && p < n_pieces; p++)
        gbt_bitfield_set (&tainted, (guint) p, TRUE);
    }
  /* Every piece of a changed file is checked, not only the ones the bitmap
   * names: after a kill, the pieces written since the last save are on disk
   * but not in the bitmap, and finding them beats downloading them again. */
  for (guint p = 0; p < n_pieces; p++)
    if (gbt_bitfield_get (&tainted, p))
      gbt_bitfield_set (recheck, p, TRUE);
    else if (gbt_bitfield_get (&data->have, p))
      gbt_bitfield_set (trusted, p, TRUE);
  gbt_bitfield_clear (&tainted);
}

/* ---- the saver ---- */

struct _GbtResumeSaver {
  GObject *owner;
  char *path;
  char *dir;
  GbtMetainfo *mi;
  GbtStorage *storage;
  GbtResumeSnapshotFunc snapshot;
  gpointer data;
  gboolean saving;
  gboolean again; /* asked for while one ran */
  GPtrArray *waiters; /* GTask*: their callers wait for the next save */
};

typedef struct {
  GbtResumeSaver *saver;
  GbtResumeData *data;
  GPtrArray *waiters; /* completed when this save is over */
} SaveJob;

static void
save_job_free (gpointer p)
{
  SaveJob *job = p;
  gbt_resume_data_free (job->data);
  g_free (job);
}

GbtResumeSaver *
gbt_resume_saver_new (GObject *owner, const char *path, const char *download_dir,
                      GbtResumeSnapshotFunc snapshot, gpointer data)
{
  GbtResumeSaver *saver = g_new0 (GbtResumeSaver, 1);

  saver->owner = owner;
  saver->path = g_strdup (path);
  saver->dir = g_strdup (download_dir);
  saver->snapshot = snapshot;
  saver->data = data;
  return saver;
}

void
gbt_resume_saver_free (GbtResumeSaver *saver)
{
  if (saver == NULL)
    return;
  /* always empty here: a waiting save's task holds a reference to the owner */
  g_clear_pointer (&saver->waiters, g_ptr_array_unref);
  g_clear_pointer (&saver->mi, gbt_metainfo_unref);
  g_free (saver->path);
  g_free (saver->dir);
  g_free (saver);
}

void
gbt_resume_saver_set_path (GbtResumeSaver *saver, const char *path)
{
  g_warn_if_fail (!saver->saving);
  g_free (saver->path);
  saver->path = g_strdup (path);
}

void
gbt_resume_saver_set_storage (GbtResumeSaver *saver, GbtMetainfo *mi, GbtStorage *storage)
{
  g_clear_pointer (&saver->mi, gbt_metainfo_unref);
  saver->mi = gbt_metainfo_ref (mi);
  saver->storage = storage;
}

static void
save_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SaveJob *job = task_data;
  GbtResumeSaver *saver = job->saver;
  GError *error = NULL;

  /* the contract above: every piece in the bitmap is on disk before the
   * files' sizes and mtimes are taken */
  if (!gbt_storage_flush (saver->storage, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  {
    /* where the files are now (a move or a rename changes it while stopped) */
    g_autofree char *dir = gbt_storage_dup_download_dir (saver->storage);
    g_auto(GStrv) paths = gbt_storage_dup_paths (saver->storage);
    gbt_resume_stat_files_at (job->data, saver->mi, dir, (const char *const *) paths);
  }
  for (guint i = 0; i < job->data->files->len; i++)
    g_array_index (job->data->files, GbtResumeFile, i).in_parts
        = gbt_storage_file_in_parts (saver->storage, i);
  if (!gbt_resume_save (saver->path, job->data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
finish_waiters (GPtrArray *waiters, gboolean saved)
{
  for (guint i = 0; waiters && i < waiters->len; i++)
    g_task_return_boolean (g_ptr_array_index (waiters, i), saved);
  if (waiters)
    g_ptr_array_unref (waiters);
}

static void saver_start (GbtResumeSaver *saver, GPtrArray *waiters);

static void
save_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SaveJob *job = g_task_get_task_data (G_TASK (result));
  GbtResumeSaver *saver = job->saver;
  GPtrArray *waiters = g_steal_pointer (&job->waiters);
  g_autoptr(GError) error = NULL;

  saver->saving = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error) && error)
    g_debug ("resume data not saved to %s: %s", saver->path, error->message);
  finish_waiters (waiters, TRUE);
  if (saver->again)
    {
      saver->again = FALSE;
      saver_start (saver, g_steal_pointer (&saver->waiters));
    }
}

static void
saver_start (GbtResumeSaver *saver, GPtrArray *waiters)
{
  g_autoptr(GTask) task = NULL;
  GbtResumeData *data = saver->storage ? saver->snapshot (saver->data) : NULL;
  SaveJob *job;

  if (data == NULL)
    {
      finish_waiters (waiters, FALSE);
      return;
    }
  job = g_new0 (SaveJob, 1);
  job->saver = saver;
  job->data = data;
  job->waiters = waiters;
  saver->saving = TRUE;
  task = g_task_new (saver->owner, NULL, save_done_cb, NULL);
  g_task_set_task_data (task, job, save_job_free);
  g_task_run_in_thread (task, save_thread);
}

void
gbt_resume_saver_save (GbtResumeSaver *saver, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *chained = callback ? g_task_new (saver->owner, NULL, callback, user_data) : NULL;

  if (!saver->saving)
    {
      GPtrArray *waiters = NULL;
      if (chained)
        {
          waiters = g_ptr_array_new_with_free_func (g_object_unref);
          g_ptr_array_add (waiters, chained);
        }
      saver_start (saver, waiters);
      return;
    }
  saver->again = TRUE;
  if (chained)
    {
      if (saver->waiters == NULL)
        saver->waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (saver->waiters, chained);
    }
}
