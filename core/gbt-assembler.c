/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "gbt-assembler.h"
#include "gbt-storage.h"

/* Piece buffers are recycled: a fresh multi-megabyte malloc is an mmap whose
 * pages fault in one by one and are unmapped on free, which costs more system
 * time than the download itself.  The disk workers give buffers back.
 *
 * The pool keeps as many as can be in flight at once (the session's buffer
 * limit, 24 MiB, is below POOL_BYTES): with fewer, a full-speed download
 * frees and faults in fresh buffers all the time, on the main thread, in
 * the memcpy of gbt_assembler_add() (issue 12: several ms per dispatch).
 * gbt_assembler_trim() gives them all back once a tick has gone by without
 * a new piece being started. */
#define POOL_BYTES (32 * 1024 * 1024)
#define POOL_MIN_BUFFERS 8

typedef struct {
  gint ref_count;
  GMutex lock;
  GSList *free; /* buffers of @size bytes */
  guint n_free;
  guint max_free;
  gsize size;
  guint64 gets; /* buffers handed out so far */
} BufferPool;

typedef struct {
  BufferPool *pool;
  guint8 *data;
} PooledBuffer;

typedef struct {
  guint8 *data;
  guint32 size;
  GPtrArray *senders; /* char* IP per block */
} PieceBuf;

struct _GbtAssembler {
  BufferPool *pool; /* buffers of piece_length bytes */
  guint64 gets_at_trim; /* pool->gets at the last gbt_assembler_trim() */
  GHashTable *pieces; /* piece -> PieceBuf* */
  guint64 buffered;
  guint32 (*piece_size) (gpointer data, guint piece);
  gpointer data;
};

static BufferPool *
buffer_pool_new (gsize size, guint max_free)
{
  BufferPool *pool = g_new0 (BufferPool, 1);
  pool->ref_count = 1;
  g_mutex_init (&pool->lock);
  pool->size = size;
  pool->max_free = max_free;
  return pool;
}

static void
buffer_pool_unref (BufferPool *pool)
{
  if (!g_atomic_int_dec_and_test (&pool->ref_count))
    return;
  g_slist_free_full (pool->free, g_aligned_free);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

/* Piece buffers are page-aligned so that storage can write them with
 * O_DIRECT (gbt-storage.c); free with g_aligned_free(). */
static guint8 *
piece_alloc (gsize size)
{
  return g_aligned_alloc (1, MAX (size, 1), GBT_STORAGE_DIRECT_ALIGN);
}

static guint8 *
buffer_pool_get (BufferPool *pool)
{
  guint8 *data = NULL;

  g_mutex_lock (&pool->lock);
  pool->gets++;
  if (pool->free)
    {
      data = pool->free->data;
      pool->free = g_slist_delete_link (pool->free, pool->free);
      pool->n_free--;
    }
  g_mutex_unlock (&pool->lock);
  return data ? data : piece_alloc (pool->size);
}

static void
buffer_pool_put (BufferPool *pool, guint8 *data)
{
  g_mutex_lock (&pool->lock);
  if (pool->n_free < pool->max_free)
    {
      pool->free = g_slist_prepend (pool->free, data);
      pool->n_free++;
      data = NULL;
    }
  g_mutex_unlock (&pool->lock);
  g_aligned_free (data);
}

/* GBytes free func, run on whichever thread drops the last reference */
static void
pooled_buffer_release (gpointer user_data)
{
  PooledBuffer *pb = user_data;
  buffer_pool_put (pb->pool, pb->data);
  buffer_pool_unref (pb->pool);
  g_free (pb);
}

static void
piece_buf_free (gpointer data)
{
  PieceBuf *pb = data;
  g_aligned_free (pb->data); /* NULL once handed off */
  g_ptr_array_unref (pb->senders);
  g_free (pb);
}

GbtAssembler *
gbt_assembler_new (guint32 piece_length, guint32 (*piece_size) (gpointer data, guint piece),
                   gpointer data)
{
  GbtAssembler *self = g_new0 (GbtAssembler, 1);

  self->pool = buffer_pool_new (piece_length,
                                MAX (POOL_MIN_BUFFERS, POOL_BYTES / MAX (piece_length, 1)));
  self->pieces = g_hash_table_new_full (NULL, NULL, NULL, piece_buf_free);
  self->piece_size = piece_size;
  self->data = data;
  return self;
}

void
gbt_assembler_free (GbtAssembler *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->pieces);
  buffer_pool_unref (self->pool);
  g_free (self);
}

void
gbt_assembler_clear (GbtAssembler *self)
{
  g_hash_table_remove_all (self->pieces);
  self->buffered = 0;
}

void
gbt_assembler_trim (GbtAssembler *self)
{
  GSList *drop = NULL;
  guint64 gets;

  g_mutex_lock (&self->pool->lock);
  gets = self->pool->gets;
  if (gets == self->gets_at_trim)
    {
      drop = g_steal_pointer (&self->pool->free);
      self->pool->n_free = 0;
    }
  g_mutex_unlock (&self->pool->lock);
  self->gets_at_trim = gets;
  g_slist_free_full (drop, g_aligned_free);
}

guint
gbt_assembler_get_n_spare (GbtAssembler *self)
{
  guint n;

  g_mutex_lock (&self->pool->lock);
  n = self->pool->n_free;
  g_mutex_unlock (&self->pool->lock);
  return n;
}

GArray *
gbt_assembler_dup_pieces (GbtAssembler *self)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->pieces);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      guint piece = GPOINTER_TO_UINT (key);
      g_array_append_val (out, piece);
    }
  return out;
}

void
gbt_assembler_drop (GbtAssembler *self, guint piece)
{
  PieceBuf *pb = g_hash_table_lookup (self->pieces, GUINT_TO_POINTER (piece));

  if (pb == NULL)
    return;
  self->buffered -= pb->size;
  g_hash_table_remove (self->pieces, GUINT_TO_POINTER (piece));
}

guint64
gbt_assembler_get_buffered (GbtAssembler *self)
{
  return self->buffered;
}

GBytes *
gbt_assembler_add (GbtAssembler *self, const GbtBlock *block, const guint8 *bytes,
                   const char *from, gboolean complete, GPtrArray **senders)
{
  guint index = block->begin / GBT_BLOCK_SIZE;
  PieceBuf *pb = g_hash_table_lookup (self->pieces, GUINT_TO_POINTER (block->piece));
  GBytes *out;

  if (pb == NULL)
    {
      pb = g_new0 (PieceBuf, 1);
      pb->size = self->piece_size (self->data, block->piece);
      pb->data = pb->size == self->pool->size ? buffer_pool_get (self->pool) : piece_alloc (pb->size);
      pb->senders = g_ptr_array_new_with_free_func (g_free);
      g_ptr_array_set_size (pb->senders, (pb->size + GBT_BLOCK_SIZE - 1) / GBT_BLOCK_SIZE);
      g_hash_table_insert (self->pieces, GUINT_TO_POINTER (block->piece), pb);
      self->buffered += pb->size;
    }
  if ((guint64) block->begin + block->length <= pb->size)
    memcpy (pb->data + block->begin, bytes, block->length);
  if (index < pb->senders->len)
    {
      g_free (pb->senders->pdata[index]);
      pb->senders->pdata[index] = g_strdup (from);
    }
  if (!complete)
    return NULL;

  if (pb->size == self->pool->size)
    {
      PooledBuffer *buf = g_new (PooledBuffer, 1);
      buf->pool = self->pool;
      g_atomic_int_inc (&self->pool->ref_count);
      buf->data = g_steal_pointer (&pb->data);
      out = g_bytes_new_with_free_func (buf->data, pb->size, pooled_buffer_release, buf);
    }
  else
    {
      guint8 *buf = g_steal_pointer (&pb->data);
      out = g_bytes_new_with_free_func (buf, pb->size, g_aligned_free, buf);
    }
  *senders = g_ptr_array_ref (pb->senders);
  self->buffered -= pb->size;
  g_hash_table_remove (self->pieces, GUINT_TO_POINTER (block->piece));
  return out;
}
