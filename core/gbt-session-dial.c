/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dialling a peer over the session's transports (docs/transports.md).
 *
 * The transports are tried in the session's order (TCP, then uTP, by
 * default), the one that worked for this address last time first.  The
 * next one starts when the one before fails, or when it has not connected
 * after FALLBACK_DELAY_MS ("happy eyeballs", RFC 8305): a firewalled peer
 * that drops our SYN then costs a second, not TCP's whole connect timeout.
 * The first to connect wins; the others are cancelled, and a stream that
 * connects after the winner is closed.
 *
 * With an info-hash and the session's stream filter (MSE, unless the
 * encryption policy is off), the winner then runs the filter's handshake.
 * Under "prefer" a peer that fails it (closes on us: it does not speak MSE)
 * is dialled again at once in plaintext over the same transport, and the
 * session remembers to dial it in plaintext from then on.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-stream-filter.h>
#include <gbt/gbt-transport.h>

#include "gbt-context.h"
#include "gbt-session-private.h"

#define FALLBACK_DELAY_MS 1000

typedef struct {
  GTask *task;               /* owned by the attempts and the timer */
  GInetSocketAddress *address;
  GPtrArray *order;          /* GbtSessionTransport*, borrowed from the session */
  guint next;                /* the next in @order to start */
  guint running;
  GPtrArray *cancellables;   /* one per attempt started */
  GError *first_error;
  guint timer_id;
  gulong cancel_id;
  gboolean done;
  guint8 info_hash[20];
  GbtStreamFilter *filter; /* NULL: plaintext */
  GbtStreamFilterFlags filter_flags;
} Dial;

typedef struct {
  Dial *dial;
  GbtSessionTransport *st;
} Attempt;

static void start_next (Dial *dial);

static void
dial_free (Dial *dial)
{
  g_clear_handle_id (&dial->timer_id, gbt_source_remove);
  g_object_unref (dial->address);
  g_ptr_array_unref (dial->order);
  g_ptr_array_unref (dial->cancellables);
  g_clear_error (&dial->first_error);
  g_clear_object (&dial->filter);
  g_free (dial);
}

static void
dial_unref_task (Dial *dial)
{
  /* the task is held once per running attempt and once by the dial itself
   * until it is done; the dial's memory goes with the task's data */
  g_object_unref (dial->task);
}

static void filtered_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void cancelled_cb (GCancellable *cancellable, gpointer user_data);

static void
finish (Dial *dial, GIOStream *stream, GbtSessionTransport *st)
{
  GCancellable *cancellable = g_task_get_cancellable (dial->task);
  const char *transport = st ? st->name : NULL;

  dial->done = TRUE;
  g_clear_handle_id (&dial->timer_id, gbt_source_remove);
  if (dial->cancel_id)
    {
      g_cancellable_disconnect (cancellable, dial->cancel_id);
      dial->cancel_id = 0;
    }
  for (guint i = 0; i < dial->cancellables->len; i++)
    g_cancellable_cancel (g_ptr_array_index (dial->cancellables, i));
  if (stream != NULL)
    {
      g_object_set_data (G_OBJECT (dial->task), "transport", (gpointer) g_intern_string (transport));
      if (dial->filter != NULL)
        {
          /* the filter's handshake holds the task; the order keeps only this
           * transport, for a plaintext retry */
          g_ptr_array_set_size (dial->order, 0);
          g_ptr_array_add (dial->order, st);
          gbt_stream_filter_wrap_outgoing_async (dial->filter, stream, dial->info_hash,
                                                 dial->filter_flags, cancellable, filtered_cb,
                                                 g_object_ref (dial->task));
          g_object_unref (stream);
          return;
        }
      g_task_return_pointer (dial->task, stream, g_object_unref);
    }
  else if (g_cancellable_is_cancelled (cancellable))
    g_task_return_new_error (dial->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else
    g_task_return_error (dial->task, g_steal_pointer (&dial->first_error));
}

static void
attempt_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Attempt *attempt = user_data;
  Dial *dial = attempt->dial;
  GbtSessionTransport *st = attempt->st;
  g_autoptr(GError) error = NULL;
  GIOStream *stream = gbt_transport_connect_finish (GBT_TRANSPORT (source), result, &error);
  GTask *task = dial->task;

  g_free (attempt);
  dial->running--;
  if (dial->done)
    {
      /* lost the race: this connection is not wanted */
      if (stream)
        {
          g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
          g_object_unref (stream);
        }
    }
  else if (stream != NULL)
    finish (dial, stream, st);
  else
    {
      g_debug ("%s connect failed: %s", st->name, error->message);
      if (dial->first_error == NULL)
        dial->first_error = g_steal_pointer (&error);
      if (dial->next < dial->order->len)
        start_next (dial);
      else if (dial->running == 0)
        finish (dial, NULL, NULL);
    }
  g_object_unref (task);
}

static void
filtered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Dial *dial = g_task_get_task_data (task);
  GbtSession *session = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  GIOStream *stream = gbt_stream_filter_wrap_outgoing_finish (GBT_STREAM_FILTER (source), result,
                                                              &error);

  if (stream != NULL)
    g_task_return_pointer (task, stream, g_object_unref);
  else if (g_cancellable_is_cancelled (cancellable)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
  else if ((dial->filter_flags & GBT_STREAM_FILTER_REQUIRE) == 0
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      /* prefer: the peer refused the encrypted handshake; plaintext now */
      g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (dial->address));
      g_debug ("%s refused encryption (%s): retrying in plaintext", ip, error->message);
      gbt_session_note_plaintext_peer (session, dial->address);
      g_clear_object (&dial->filter);
      dial->done = FALSE;
      dial->next = 0;
      if (cancellable)
        dial->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), dial, NULL);
      g_object_ref (task); /* the dial's own, as in gbt_session_connect_async() */
      start_next (dial);
      dial_unref_task (dial);
    }
  else
    g_task_return_error (task, g_steal_pointer (&error));
  g_object_unref (task);
}

static gboolean
fallback_cb (gpointer user_data)
{
  Dial *dial = user_data;

  dial->timer_id = 0;
  if (!dial->done && dial->next < dial->order->len)
    start_next (dial);
  return G_SOURCE_REMOVE;
}

static void
start_next (Dial *dial)
{
  GbtSessionTransport *st = g_ptr_array_index (dial->order, dial->next++);
  GbtSession *session = g_task_get_source_object (dial->task);
  GCancellable *cancellable = g_cancellable_new ();
  Attempt *attempt = g_new0 (Attempt, 1);

  attempt->dial = dial;
  attempt->st = st;
  g_ptr_array_add (dial->cancellables, cancellable);
  dial->running++;
  g_object_ref (dial->task);
  if (st->udp)
    gbt_transport_connect_udp_async (st->transport, gbt_session_get_udp_port (session),
                                     G_SOCKET_ADDRESS (dial->address), cancellable, attempt_cb,
                                     attempt);
  else
    gbt_transport_connect_async (st->transport, G_SOCKET_ADDRESS (dial->address),
                                 gbt_session_get_bind_socket_address (session), cancellable,
                                 attempt_cb, attempt);
  g_clear_handle_id (&dial->timer_id, gbt_source_remove);
  if (dial->next < dial->order->len)
    dial->timer_id = gbt_timeout_add (FALLBACK_DELAY_MS, fallback_cb, dial);
}

static void
cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Dial *dial = user_data;

  (void) cancellable;
  /* runs in the thread that cancelled; the attempts' own cancellables
   * finish them on the main context */
  for (guint i = 0; i < dial->cancellables->len; i++)
    g_cancellable_cancel (g_ptr_array_index (dial->cancellables, i));
}

void
gbt_session_connect_async (GbtSession *self, GInetSocketAddress *address,
                           const guint8 *info_hash, const char *preferred, const char *avoid, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GPtrArray *dialers = gbt_session_get_dialers (self);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  gboolean ipv6 = g_inet_address_get_family (g_inet_socket_address_get_address (address))
                  == G_SOCKET_FAMILY_IPV6;
  Dial *dial;

  g_task_set_source_tag (task, gbt_session_connect_async);
  dial = g_new0 (Dial, 1);
  dial->task = task;
  dial->address = g_object_ref (address);
  dial->order = g_ptr_array_new ();
  dial->cancellables = g_ptr_array_new_with_free_func (g_object_unref);
  g_task_set_task_data (task, dial, (GDestroyNotify) dial_free);
  if (info_hash != NULL && gbt_session_get_stream_filter (self) != NULL
      && (gbt_session_get_encryption (self) == GBT_ENCRYPTION_REQUIRE
          || !gbt_session_is_plaintext_peer (self, address)))
    {
      memcpy (dial->info_hash, info_hash, 20);
      dial->filter = g_object_ref (gbt_session_get_stream_filter (self));
      dial->filter_flags = gbt_session_get_encryption (self) == GBT_ENCRYPTION_REQUIRE
                             ? GBT_STREAM_FILTER_REQUIRE
                             : GBT_STREAM_FILTER_NONE;
    }

  /* the transport that worked last time first, then the session's order,
   * and last the one that connected but was then closed on us */
  for (guint pass = 0; pass < 3 && dialers; pass++)
    for (guint i = 0; i < dialers->len; i++)
      {
        GbtSessionTransport *st = g_ptr_array_index (dialers, i);
        guint rank = preferred != NULL && g_str_equal (st->name, preferred) ? 0
                     : avoid != NULL && g_str_equal (st->name, avoid)    ? 2
                                                                          : 1;

        if (rank != pass)
          continue;
        /* a UDP transport needs the shared port, of the peer's family */
        if (st->udp)
          {
            GbtUdpPort *port = gbt_session_get_udp_port (self);
            GInetSocketAddress *local = port ? gbt_udp_port_get_local_address (port) : NULL;

            if (local == NULL
                || (ipv6 && g_inet_address_get_family (g_inet_socket_address_get_address (local))
                                != G_SOCKET_FAMILY_IPV6))
              continue;
          }
        g_ptr_array_add (dial->order, st);
      }
  if (dial->order->len == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "no transport of this session reaches that address");
      return;
    }
  if (cancellable)
    dial->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), dial, NULL);
  /* the dial's own reference, dropped once it is done */
  g_object_ref (task);
  start_next (dial);
  /* every attempt holds the task; this one goes now */
  dial_unref_task (dial);
}

GIOStream *
gbt_session_connect_finish (GbtSession *self, GAsyncResult *result, const char **transport,
                            GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  if (transport)
    *transport = g_object_get_data (G_OBJECT (result), "transport");
  return g_task_propagate_pointer (G_TASK (result), error);
}
