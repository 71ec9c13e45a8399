/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream after an MSE handshake: RC4 both ways over the base stream
 * (or plaintext), pollable like the base, replaying first the bytes the
 * handshake read past its end.
 *
 * A non-blocking write the base takes only partly must leave the cipher
 * where the bytes written end: the state is saved before encrypting and,
 * on a short write, restored and advanced over what was written.
 */
#include "config.h"

#include <string.h>

#include "gbt-mse.h"

#define GBT_TYPE_MSE_INPUT (gbt_mse_input_get_type ())
G_DECLARE_FINAL_TYPE (GbtMseInput, gbt_mse_input, GBT, MSE_INPUT, GInputStream)
#define GBT_TYPE_MSE_OUTPUT (gbt_mse_output_get_type ())
G_DECLARE_FINAL_TYPE (GbtMseOutput, gbt_mse_output, GBT, MSE_OUTPUT, GOutputStream)

struct _GbtMseInput {
  GInputStream parent_instance;
  GInputStream *base; /* pollable */
  gboolean rc4;
  struct arcfour_ctx dec;
  GByteArray *prefix; /* plaintext still to hand out */
  gsize prefix_pos;
};

struct _GbtMseOutput {
  GOutputStream parent_instance;
  GOutputStream *base; /* pollable */
  gboolean rc4;
  struct arcfour_ctx enc;
  guint8 *scratch;
  gsize scratch_len;
};

struct _GbtMseStream {
  GIOStream parent_instance;
  GIOStream *base;
  GbtMseInput *in;
  GbtMseOutput *out;
};

static void input_pollable_init (GPollableInputStreamInterface *iface);
static void output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtMseInput, gbt_mse_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      input_pollable_init))
G_DEFINE_FINAL_TYPE_WITH_CODE (GbtMseOutput, gbt_mse_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      output_pollable_init))
G_DEFINE_FINAL_TYPE (GbtMseStream, gbt_mse_stream, G_TYPE_IO_STREAM)

/* ---- input ---- */

static gsize
take_prefix (GbtMseInput *self, void *buffer, gsize count)
{
  gsize n;

  if (self->prefix == NULL)
    return 0;
  n = MIN (count, self->prefix->len - self->prefix_pos);
  memcpy (buffer, self->prefix->data + self->prefix_pos, n);
  self->prefix_pos += n;
  if (self->prefix_pos == self->prefix->len)
    g_clear_pointer (&self->prefix, g_byte_array_unref);
  return n;
}

static gssize
input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
            GError **error)
{
  GbtMseInput *self = GBT_MSE_INPUT (stream);
  gssize n;

  if (self->prefix != NULL)
    return take_prefix (self, buffer, count);
  n = g_input_stream_read (self->base, buffer, count, cancellable, error);
  if (n > 0 && self->rc4)
    arcfour_crypt (&self->dec, n, buffer, buffer);
  return n;
}

static gboolean
input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the GbtMseStream closes the base */
}

static gboolean
input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static gboolean
input_is_readable (GPollableInputStream *stream)
{
  GbtMseInput *self = GBT_MSE_INPUT (stream);
  return self->prefix != NULL || g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

/* ready once, then never again: a source lives as long as its reader keeps
 * it (the core keeps one for the whole connection), so a timeout of 0
 * would fire on every main-loop iteration long after the prefix is read */
static gboolean
once_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs once_funcs = { .dispatch = once_dispatch };

static GSource *
input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  GbtMseInput *self = GBT_MSE_INPUT (stream);
  GSource *child, *source;

  child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base), NULL);
  source = g_pollable_source_new_full (stream, child, cancellable);
  g_source_unref (child);
  /* bytes waiting in the prefix make it ready at once, that one time */
  if (self->prefix != NULL)
    {
      GSource *now = g_source_new (&once_funcs, sizeof (GSource));

      g_source_set_name (now, "gbt-mse prefix");
      g_source_set_ready_time (now, 0);
      g_source_add_child_source (source, now);
      g_source_unref (now);
    }
  return source;
}

static gssize
input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  GbtMseInput *self = GBT_MSE_INPUT (stream);
  gssize n;

  if (self->prefix != NULL)
    return take_prefix (self, buffer, count);
  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base), buffer,
                                                count, NULL, error);
  if (n > 0 && self->rc4)
    arcfour_crypt (&self->dec, n, buffer, buffer);
  return n;
}

static void
input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = input_can_poll;
  iface->is_readable = input_is_readable;
  iface->create_source = input_create_source;
  iface->read_nonblocking = input_read_nonblocking;
}

static void
gbt_mse_input_finalize (GObject *object)
{
  GbtMseInput *self = GBT_MSE_INPUT (object);

  g_clear_pointer (&self->prefix, g_byte_array_unref);
  g_clear_object (&self->base);
  memset (&self->dec, 0, sizeof self->dec);
  G_OBJECT_CLASS (gbt_mse_input_parent_class)->finalize (object);
}

static void
gbt_mse_input_class_init (GbtMseInputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_mse_input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = input_close;
}

static void
gbt_mse_input_init (GbtMseInput *self)
{
}

/* ---- output ---- */

static guint8 *
scratch (GbtMseOutput *self, gsize count)
{
  if (self->scratch_len < count)
    {
      g_free (self->scratch);
      self->scratch_len = MAX (count, 16384);
      self->scratch = g_malloc (self->scratch_len);
    }
  return self->scratch;
}

static gssize
output_write (GOutputStream *stream, const void *buffer, gsize count, GCancellable *cancellable,
              GError **error)
{
  GbtMseOutput *self = GBT_MSE_OUTPUT (stream);
  gsize written = 0;
  guint8 *buf;

  if (!self->rc4)
    return g_output_stream_write (self->base, buffer, count, cancellable, error);
  count = MIN (count, 65536);
  buf = scratch (self, count);
  arcfour_crypt (&self->enc, count, buf, buffer);
  /* all of it: the cipher moved over every byte */
  if (!g_output_stream_write_all (self->base, buf, count, &written, cancellable, error))
    return -1;
  return count;
}

static gboolean
output_flush (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  return g_output_stream_flush (GBT_MSE_OUTPUT (stream)->base, cancellable, error);
}

static gboolean
output_close (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static gboolean
output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static gboolean
output_is_writable (GPollableOutputStream *stream)
{
  GbtMseOutput *self = GBT_MSE_OUTPUT (stream);
  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (self->base));
}

static GSource *
output_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  GbtMseOutput *self = GBT_MSE_OUTPUT (stream);
  GSource *child, *source;

  child = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->base), NULL);
  source = g_pollable_source_new_full (stream, child, cancellable);
  g_source_unref (child);
  return source;
}

static gssize
output_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count,
                          GError **error)
{
  GbtMseOutput *self = GBT_MSE_OUTPUT (stream);
  struct arcfour_ctx saved;
  guint8 *buf;
  gssize n;

  if (!self->rc4)
    return g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                       buffer, count, NULL, error);
  count = MIN (count, 256 * 1024);
  buf = scratch (self, count);
  saved = self->enc;
  arcfour_crypt (&self->enc, count, buf, buffer);
  n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base), buf,
                                                  count, NULL, error);
  if (n < 0 || (gsize) n < count)
    {
      /* the cipher stands where the bytes sent end */
      self->enc = saved;
      if (n > 0)
        arcfour_crypt (&self->enc, n, buf, buffer);
    }
  memset (&saved, 0, sizeof saved);
  return n;
}

static void
output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = output_can_poll;
  iface->is_writable = output_is_writable;
  iface->create_source = output_create_source;
  iface->write_nonblocking = output_write_nonblocking;
}

static void
gbt_mse_output_finalize (GObject *object)
{
  GbtMseOutput *self = GBT_MSE_OUTPUT (object);

  g_clear_object (&self->base);
  g_free (self->scratch);
  memset (&self->enc, 0, sizeof self->enc);
  G_OBJECT_CLASS (gbt_mse_output_parent_class)->finalize (object);
}

static void
gbt_mse_output_class_init (GbtMseOutputClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_mse_output_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = output_write;
  G_OUTPUT_STREAM_CLASS (klass)->flush = output_flush;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn = output_close;
}

static void
gbt_mse_output_init (GbtMseOutput *self)
{
}

/* ---- the GIOStream ---- */

static GInputStream *
stream_get_input (GIOStream *stream)
{
  return G_INPUT_STREAM (GBT_MSE_STREAM (stream)->in);
}

static GOutputStream *
stream_get_output (GIOStream *stream)
{
  return G_OUTPUT_STREAM (GBT_MSE_STREAM (stream)->out);
}

static gboolean
stream_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  GbtMseStream *self = GBT_MSE_STREAM (stream);

  return self->base == NULL || g_io_stream_close (self->base, cancellable, error);
}

/* closing the base does not block (sockets, uTP): no thread */
static void
stream_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_input_stream_close (G_INPUT_STREAM (GBT_MSE_STREAM (stream)->in), NULL, NULL);
  g_output_stream_close (G_OUTPUT_STREAM (GBT_MSE_STREAM (stream)->out), NULL, NULL);
  if (stream_close (stream, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
stream_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
gbt_mse_stream_dispose (GObject *object)
{
  GbtMseStream *self = GBT_MSE_STREAM (object);

  /* first: GIOStream's dispose closes the stream, which needs all three */
  G_OBJECT_CLASS (gbt_mse_stream_parent_class)->dispose (object);
  g_clear_object (&self->in);
  g_clear_object (&self->out);
  g_clear_object (&self->base);
}

static void
gbt_mse_stream_class_init (GbtMseStreamClass *klass)
{
  GIOStreamClass *io_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = gbt_mse_stream_dispose;
  io_class->get_input_stream = stream_get_input;
  io_class->get_output_stream = stream_get_output;
  io_class->close_fn = stream_close;
  io_class->close_async = stream_close_async;
  io_class->close_finish = stream_close_finish;
}

static void
gbt_mse_stream_init (GbtMseStream *self)
{
}

GIOStream *
gbt_mse_stream_new (GIOStream *base, const struct arcfour_ctx *enc, const struct arcfour_ctx *dec,
                    const guint8 *prefix, gsize prefix_len)
{
  GbtMseStream *self = g_object_new (GBT_TYPE_MSE_STREAM, NULL);

  self->base = g_object_ref (base);
  self->in = g_object_new (GBT_TYPE_MSE_INPUT, NULL);
  self->in->base = g_object_ref (g_io_stream_get_input_stream (base));
  self->out = g_object_new (GBT_TYPE_MSE_OUTPUT, NULL);
  self->out->base = g_object_ref (g_io_stream_get_output_stream (base));
  if (enc != NULL && dec != NULL)
    {
      self->in->rc4 = self->out->rc4 = TRUE;
      self->in->dec = *dec;
      self->out->enc = *enc;
    }
  if (prefix_len > 0)
    {
      self->in->prefix = g_byte_array_sized_new (prefix_len);
      g_byte_array_append (self->in->prefix, prefix, prefix_len);
    }
  g_object_set_data (G_OBJECT (self), "gbt-encryption",
                     (gpointer) (self->in->rc4 ? "rc4" : "plaintext"));
  return G_IO_STREAM (self);
}
