/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtUtpStream and its pollable input and output streams: see
 * gbt-utp-stream.h.  Pollable sources are GPollableSources with a child
 * "waker" whose ready time the socket sets when the connection changes (a
 * packet arrived, a timer fired), so nothing polls.
 */
#include "gbt-utp-socket-private.h"

struct _GbtUtpStream {
  GIOStream parent_instance;

  GbtUtpEntry *entry;          /* NULL once closed or orphaned */
  gboolean orphaned;           /* the socket went first */
  GSocketAddress *remote;
  GInputStream *input;
  GOutputStream *output;
  GPtrArray *waiters[2];       /* Waker, [0] input, [1] output */
};

G_DEFINE_FINAL_TYPE (GbtUtpStream, gbt_utp_stream, G_TYPE_IO_STREAM)

typedef struct {
  GSource source;
  GbtUtpStream *stream;        /* NULL once the stream is gone */
  guint dir;
} Waker;

static gboolean
waker_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  /* the parent (the GPollableSource) runs the caller's callback */
  g_source_set_ready_time (source, -1);
  return G_SOURCE_CONTINUE;
}

static void
waker_finalize (GSource *source)
{
  Waker *w = (Waker *) source;

  if (w->stream != NULL)
    g_ptr_array_remove_fast (w->stream->waiters[w->dir], w);
}

static GSourceFuncs waker_funcs = { .dispatch = waker_dispatch, .finalize = waker_finalize };

static gboolean
stream_ready (GbtUtpStream *self, guint dir)
{
  GbtUtpConn *conn;
  GbtUtpConnState state;

  if (self->entry == NULL)
    return TRUE;
  conn = gbt_utp_entry_get_conn (self->entry);
  state = gbt_utp_conn_get_state (conn);
  if (dir == 0)
    return gbt_utp_conn_get_readable (conn) > 0 || gbt_utp_conn_at_eof (conn)
           || state == GBT_UTP_CONN_RESET
           || (state == GBT_UTP_CONN_CLOSED
               && gbt_utp_conn_get_error (conn) != GBT_UTP_CONN_ERROR_NONE);
  return state != GBT_UTP_CONN_CONNECTED || gbt_utp_conn_get_writable (conn) > 0;
}

void
gbt_utp_stream_wake (GbtUtpStream *self)
{
  for (guint dir = 0; dir < 2; dir++)
    {
      GPtrArray *waiters = self->waiters[dir];

      if (waiters->len == 0 || !stream_ready (self, dir))
        continue;
      for (guint i = 0; i < waiters->len; i++)
        {
          GSource *s = g_ptr_array_index (waiters, i);

          if (!g_source_is_destroyed (s))
            g_source_set_ready_time (s, 0);
        }
    }
}

static gboolean
set_conn_error (GbtUtpStream *self, GError **error)
{
  GbtUtpConn *conn;

  if (self->entry == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           self->orphaned ? "the uTP socket was closed" : "the stream is closed");
      return TRUE;
    }
  conn = gbt_utp_entry_get_conn (self->entry);
  switch (gbt_utp_conn_get_error (conn))
    {
    case GBT_UTP_CONN_ERROR_RESET_BY_PEER:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           "connection reset by peer");
      return TRUE;
    case GBT_UTP_CONN_ERROR_TIMEOUT:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "uTP connection timed out");
      return TRUE;
    case GBT_UTP_CONN_ERROR_RESET_LOCAL:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                           "uTP connection reset");
      return TRUE;
    case GBT_UTP_CONN_ERROR_NONE:
    default:
      return FALSE;
    }
}

static GSource *
stream_create_source (GbtUtpStream *self, GObject *pollable, guint dir, GCancellable *cancellable)
{
  GSource *child = g_source_new (&waker_funcs, sizeof (Waker));
  Waker *w = (Waker *) child;
  GSource *source;

  g_source_set_name (child, "gbt-utp-stream waker");
  w->dir = dir;
  if (self != NULL)
    {
      w->stream = self;
      g_ptr_array_add (self->waiters[dir], w);
    }
  if (self == NULL || stream_ready (self, dir))
    g_source_set_ready_time (child, 0);
  /* not through g_pollable_source_new_full: it gives the child a dummy
   * closure, which a GSource without closure_callback refuses */
  source = g_pollable_source_new_full (pollable, NULL, cancellable);
  g_source_add_child_source (source, child);
  g_source_unref (child);
  return source;
}

/* ---- input */

#define GBT_TYPE_UTP_INPUT_STREAM (gbt_utp_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (GbtUtpInputStream, gbt_utp_input_stream, GBT, UTP_INPUT_STREAM,
                      GInputStream)

struct _GbtUtpInputStream {
  GInputStream parent_instance;
  GbtUtpStream *owner;         /* NULL once it is gone */
};

static void gbt_utp_input_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtUtpInputStream, gbt_utp_input_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      gbt_utp_input_pollable_init))

static gssize
input_read_nonblocking (GPollableInputStream *pollable, void *buffer, gsize count,
                        GError **error)
{
  GbtUtpStream *s = GBT_UTP_INPUT_STREAM (pollable)->owner;
  GbtUtpConn *conn;
  gsize n;

  if (s == NULL || s->entry == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           s != NULL && s->orphaned ? "the uTP socket was closed"
                                                    : "the stream is closed");
      return -1;
    }
  conn = gbt_utp_entry_get_conn (s->entry);
  n = gbt_utp_conn_read (conn, buffer, count, g_get_monotonic_time ());
  if (n > 0)
    {
      gbt_utp_entry_changed (s->entry);
      return (gssize) n;
    }
  if (count == 0 || gbt_utp_conn_at_eof (conn))
    return 0;
  if (set_conn_error (s, error))
    return -1;
  if (gbt_utp_conn_get_state (conn) == GBT_UTP_CONN_CLOSED)
    return 0;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "nothing to read yet");
  return -1;
}

static gboolean
input_is_readable (GPollableInputStream *pollable)
{
  GbtUtpStream *s = GBT_UTP_INPUT_STREAM (pollable)->owner;

  return s == NULL || stream_ready (s, 0);
}

static GSource *
input_create_source (GPollableInputStream *pollable, GCancellable *cancellable)
{
  return stream_create_source (GBT_UTP_INPUT_STREAM (pollable)->owner, G_OBJECT (pollable), 0,
                               cancellable);
}

static gboolean
input_can_poll (GPollableInputStream *pollable)
{
  return TRUE;
}

static void
gbt_utp_input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = input_can_poll;
  iface->is_readable = input_is_readable;
  iface->create_source = input_create_source;
  iface->read_nonblocking = input_read_nonblocking;
}

/* Never blocks: gbt reads only when the source says so. */
static gssize
input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
            GError **error)
{
  return input_read_nonblocking (G_POLLABLE_INPUT_STREAM (stream), buffer, count, error);
}

static gboolean
input_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE;
}

static void
gbt_utp_input_stream_class_init (GbtUtpInputStreamClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  input_class->read_fn = input_read;
  input_class->close_fn = input_close;
}

static void
gbt_utp_input_stream_init (GbtUtpInputStream *self)
{
}

/* ---- output */

#define GBT_TYPE_UTP_OUTPUT_STREAM (gbt_utp_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (GbtUtpOutputStream, gbt_utp_output_stream, GBT, UTP_OUTPUT_STREAM,
                      GOutputStream)

struct _GbtUtpOutputStream {
  GOutputStream parent_instance;
  GbtUtpStream *owner;
};

static void gbt_utp_output_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtUtpOutputStream, gbt_utp_output_stream, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      gbt_utp_output_pollable_init))

static gssize
output_write_nonblocking (GPollableOutputStream *pollable, const void *buffer, gsize count,
                          GError **error)
{
  GbtUtpStream *s = GBT_UTP_OUTPUT_STREAM (pollable)->owner;
  GbtUtpConn *conn;
  gsize n;

  if (s == NULL || s->entry == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                           s != NULL && s->orphaned ? "the uTP socket was closed"
                                                    : "the stream is closed");
      return -1;
    }
  conn = gbt_utp_entry_get_conn (s->entry);
  switch (gbt_utp_conn_get_state (conn))
    {
    case GBT_UTP_CONN_CONNECTED:
      if (count == 0)
        return 0;
      n = gbt_utp_conn_write (conn, buffer, count, g_get_monotonic_time ());
      if (n > 0)
        {
          gbt_utp_entry_changed (s->entry);
          return (gssize) n;
        }
      if (gbt_utp_conn_get_writable (conn) == 0 && gbt_utp_conn_get_unacked (conn) > 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "send buffer full");
          return -1;
        }
      break;
    case GBT_UTP_CONN_SYN_SENT:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "not connected yet");
      return -1;
    default:
      break;
    }
  if (!set_conn_error (s, error))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                         "the connection is closing");
  return -1;
}

static gboolean
output_is_writable (GPollableOutputStream *pollable)
{
  GbtUtpStream *s = GBT_UTP_OUTPUT_STREAM (pollable)->owner;

  return s == NULL || stream_ready (s, 1);
}

static GSource *
output_create_source (GPollableOutputStream *pollable, GCancellable *cancellable)
{
  return stream_create_source (GBT_UTP_OUTPUT_STREAM (pollable)->owner, G_OBJECT (pollable), 1,
                               cancellable);
}

static gboolean
output_can_poll (GPollableOutputStream *pollable)
{
  return TRUE;
}

static void
gbt_utp_output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = output_can_poll;
  iface->is_writable = output_is_writable;
  iface->create_source = output_create_source;
  iface->write_nonblocking = output_write_nonblocking;
}

static gssize
output_write (GOutputStream *stream, const void *buffer, gsize count, GCancellable *cancellable,
              GError **error)
{
  return output_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (stream), buffer, count, error);
}

/* A FIN once everything written has gone; reading goes on. */
static gboolean
output_close (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  GbtUtpStream *s = GBT_UTP_OUTPUT_STREAM (stream)->owner;

  if (s != NULL && s->entry != NULL)
    {
      gbt_utp_conn_close (gbt_utp_entry_get_conn (s->entry), g_get_monotonic_time ());
      gbt_utp_entry_changed (s->entry);
    }
  return TRUE;
}

static void
gbt_utp_output_stream_class_init (GbtUtpOutputStreamClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  output_class->write_fn = output_write;
  output_class->close_fn = output_close;
}

static void
gbt_utp_output_stream_init (GbtUtpOutputStream *self)
{
}

/* ---- the GIOStream */

static void
release (GbtUtpStream *self)
{
  GbtUtpEntry *entry = g_steal_pointer (&self->entry);

  if (entry != NULL)
    gbt_utp_entry_release (entry);
}

void
gbt_utp_stream_orphan (GbtUtpStream *self)
{
  self->entry = NULL;
  self->orphaned = TRUE;
  gbt_utp_stream_wake (self);
}

static gboolean
stream_close (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  GbtUtpStream *self = GBT_UTP_STREAM (stream);
  gboolean ok;

  /* closes both halves: the output sends the FIN */
  ok = G_IO_STREAM_CLASS (gbt_utp_stream_parent_class)->close_fn (stream, cancellable, error);
  release (self);
  gbt_utp_stream_wake (self);
  return ok;
}

static void
stream_close_async (GIOStream *stream, int io_priority, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, stream_close_async);
  /* nothing here blocks: no thread */
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

static GInputStream *
stream_get_input (GIOStream *stream)
{
  return GBT_UTP_STREAM (stream)->input;
}

static GOutputStream *
stream_get_output (GIOStream *stream)
{
  return GBT_UTP_STREAM (stream)->output;
}

static void
gbt_utp_stream_dispose (GObject *object)
{
  GbtUtpStream *self = GBT_UTP_STREAM (object);

  /* GIOStream's dispose would close too, after the halves are gone */
  if (self->input != NULL && !g_io_stream_is_closed (G_IO_STREAM (self)))
    g_io_stream_close (G_IO_STREAM (self), NULL, NULL);
  release (self);
  for (guint dir = 0; dir < 2; dir++)
    if (self->waiters[dir] != NULL)
      {
        for (guint i = 0; i < self->waiters[dir]->len; i++)
          ((Waker *) g_ptr_array_index (self->waiters[dir], i))->stream = NULL;
        g_ptr_array_set_size (self->waiters[dir], 0);
      }
  if (self->input != NULL)
    GBT_UTP_INPUT_STREAM (self->input)->owner = NULL;
  if (self->output != NULL)
    GBT_UTP_OUTPUT_STREAM (self->output)->owner = NULL;
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  G_OBJECT_CLASS (gbt_utp_stream_parent_class)->dispose (object);
}

static void
gbt_utp_stream_finalize (GObject *object)
{
  GbtUtpStream *self = GBT_UTP_STREAM (object);

  g_clear_object (&self->remote);
  for (guint dir = 0; dir < 2; dir++)
    g_clear_pointer (&self->waiters[dir], g_ptr_array_unref);
  G_OBJECT_CLASS (gbt_utp_stream_parent_class)->finalize (object);
}

static void
gbt_utp_stream_class_init (GbtUtpStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = gbt_utp_stream_dispose;
  object_class->finalize = gbt_utp_stream_finalize;
  stream_class->get_input_stream = stream_get_input;
  stream_class->get_output_stream = stream_get_output;
  stream_class->close_fn = stream_close;
  stream_class->close_async = stream_close_async;
  stream_class->close_finish = stream_close_finish;
}

static void
gbt_utp_stream_init (GbtUtpStream *self)
{
  self->waiters[0] = g_ptr_array_new ();
  self->waiters[1] = g_ptr_array_new ();
}

GbtUtpStream *
gbt_utp_stream_new (GbtUtpEntry *entry, GSocketAddress *remote)
{
  GbtUtpStream *self = g_object_new (GBT_TYPE_UTP_STREAM, NULL);
  GbtUtpInputStream *input = g_object_new (GBT_TYPE_UTP_INPUT_STREAM, NULL);
  GbtUtpOutputStream *output = g_object_new (GBT_TYPE_UTP_OUTPUT_STREAM, NULL);

  self->entry = entry;
  self->remote = g_object_ref (remote);
  input->owner = self;
  output->owner = self;
  self->input = G_INPUT_STREAM (input);
  self->output = G_OUTPUT_STREAM (output);
  return self;
}

GSocketAddress *
gbt_utp_stream_get_remote_address (GbtUtpStream *self)
{
  g_return_val_if_fail (GBT_IS_UTP_STREAM (self), NULL);
  return self->remote;
}
