/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A peer connection over any pollable GIOStream (TCP from the transport-tcp
 * plugin, later uTP): non-blocking reads into a buffer, zero-copy framing by
 * gbt-peer-wire.c, buffered writes flushed when the socket is writable.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-peer.h>

#include "gbt-ltep.h"
#include "gbt-peer-flood.h"
#include "gbt-peer-internal.h"
#include "gbt-rate-limit.h"
#include "gbt-context.h"

#define READ_CHUNK (256 * 1024)
#define MAX_READ_PER_DISPATCH (4 * 1024 * 1024)
/* The main loop stays responsive (issue 12: an app's 1 ms timer must not
 * wait): a readable peer reads and handles chunks until this much time has
 * gone since the main loop's iteration began, then returns to the loop
 * with the rest still in the socket (the source stays ready).  Each
 * dispatch reads at least one chunk, so a busy iteration (many peers)
 * still moves every peer forward; a peer whose turn comes after the
 * budget is spent reads one small chunk, so fifty ready peers cost an
 * iteration about 1.6 MiB of reading, not 12 MiB. */
#define READ_BUDGET_US 500
#define READ_CHUNK_LATE (32 * 1024)
#define HANDSHAKE_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define IDLE_TIMEOUT_US (150 * G_USEC_PER_SEC)
#define KEEPALIVE_US (90 * G_USEC_PER_SEC)
/* bytes queued for a peer that does not read them: the swarm stops serving
 * past 1 MiB (UPLOAD_BACKLOG), so more than 4 MiB is a peer that asks (or
 * makes us reject) and does not read */
#define MAX_SEND_BACKLOG ((gsize) 4 * 1024 * 1024)


#define peer_debug(p, fmt, ...) g_debug ("[%s] " fmt, (p)->name, ##__VA_ARGS__)


/* an event to the owner, if it listens for it */
#define EMIT(peer, event, ...)                                                                 \
  G_STMT_START                                                                                 \
  {                                                                                            \
    if ((peer)->events && (peer)->events->event)                                               \
      (peer)->events->event ((peer), ##__VA_ARGS__, (peer)->events_data);                      \
  }                                                                                            \
  G_STMT_END

static void peer_flush (GbtPeer *peer);

/* the global bucket, or NULL when unlimited or before the peer is owned */
static GbtRateLimit *
peer_limit (GbtPeer *peer, gboolean up)
{
  if (!peer->configured)
    return NULL;
  return up ? peer->config.limit_up : peer->config.limit_down;
}

/* a timeout that calls @func once, after at least @wait_us */
static GSource *
peer_timer_new (gint64 wait_us, GSourceFunc func, GbtPeer *peer)
{
  GSource *src = g_timeout_source_new ((guint) MAX ((wait_us + 999) / 1000, 1));
  g_source_set_callback (src, func, peer, NULL);
  g_source_attach (src, g_main_context_get_thread_default ());
  return src;
}
static gboolean peer_readable_cb (GObject *stream, gpointer user_data);

GbtPeer *
gbt_peer_new (GIOStream *stream, GInetSocketAddress *address, gboolean incoming)
{
  GbtPeer *peer = g_new0 (GbtPeer, 1);
  g_autofree char *ip = NULL;

  peer->ref_count = 1;
  peer->state = GBT_PEER_STATE_HANDSHAKE;
  peer->transport = g_intern_static_string ("tcp");
  peer->stream = g_object_ref (stream);
  peer->in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream));
  peer->out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream));
  peer->address = address ? g_object_ref (address) : NULL;
  if (address)
    {
      ip = g_inet_address_to_string (g_inet_socket_address_get_address (address));
      peer->name = g_inet_address_get_family (g_inet_socket_address_get_address (address))
                           == G_SOCKET_FAMILY_IPV6
                     ? g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (address))
                     : g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (address));
    }
  else
    peer->name = g_strdup ("peer");
  peer->incoming = incoming;
  peer->rbuf = g_byte_array_sized_new (READ_CHUNK);
  peer->wbuf = g_byte_array_new ();
  peer->ext.ext_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  peer->asked = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  peer->am_choking = TRUE;
  peer->peer_choking = TRUE;
  peer->connected_us = peer->last_recv_us = peer->last_send_us = g_get_monotonic_time ();
  return peer;
}

GbtPeer *
gbt_peer_ref (GbtPeer *peer)
{
  g_atomic_int_inc (&peer->ref_count);
  return peer;
}

static void
peer_detach_sources (GbtPeer *peer)
{
  if (peer->throttle_source)
    {
      g_source_destroy (peer->throttle_source);
      g_clear_pointer (&peer->throttle_source, g_source_unref);
    }
  if (peer->in_source)
    {
      g_source_destroy (peer->in_source);
      g_clear_pointer (&peer->in_source, g_source_unref);
    }
  if (peer->out_source)
    {
      g_source_destroy (peer->out_source);
      g_clear_pointer (&peer->out_source, g_source_unref);
    }
}

void
gbt_peer_unref (GbtPeer *peer)
{
  if (!g_atomic_int_dec_and_test (&peer->ref_count))
    return;
  peer_detach_sources (peer);
  if (peer->stream)
    {
      g_io_stream_close (peer->stream, NULL, NULL);
      g_object_unref (peer->stream);
    }
  g_clear_object (&peer->address);
  g_free (peer->name);
  g_byte_array_unref (peer->rbuf);
  g_byte_array_unref (peer->wbuf);
  g_hash_table_unref (peer->ext.ext_ids);
  g_hash_table_unref (peer->asked);
  g_free (peer->ext.client);
  g_clear_pointer (&peer->config.ext_handshake, g_bytes_unref);
  gbt_bitfield_clear (&peer->has);
  g_clear_pointer (&peer->early_bitfield, g_bytes_unref);
  g_clear_pointer (&peer->early_haves, g_array_unref);
  g_datalist_clear (&peer->data);
  g_free (peer);
}

gboolean
gbt_peer_is_closed (GbtPeer *peer)
{
  return peer->state == GBT_PEER_STATE_CLOSED;
}

void
gbt_peer_close (GbtPeer *peer, const GError *reason)
{
  if (peer->state == GBT_PEER_STATE_CLOSED)
    return;
  peer_debug (peer, "closing: %s", reason ? reason->message : "done");
  gbt_peer_ref (peer);
  peer->state = GBT_PEER_STATE_CLOSED;
  peer_detach_sources (peer);
  g_io_stream_close (peer->stream, NULL, NULL);
  EMIT (peer, closed, reason);
  /* plugins' state goes with the connection */
  g_datalist_clear (&peer->data);
  gbt_peer_unref (peer);
}

static void
peer_fail (GbtPeer *peer, GQuark domain, int code, const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
peer_fail (GbtPeer *peer, GQuark domain, int code, const char *format, ...)
{
  va_list ap;
  g_autoptr(GError) error = NULL;

  va_start (ap, format);
  error = g_error_new_valist (domain, code, format, ap);
  va_end (ap);
  gbt_peer_close (peer, error);
}

/* ---- flood budgets ---- */

static gint64
peer_now (GbtPeer *peer)
{
  return peer->clock ? peer->clock () : g_get_monotonic_time ();
}

void
gbt_peer_set_clock (GbtPeer *peer, GbtPeerClock clock)
{
  peer->clock = clock;
  memset (&peer->flood, 0, sizeof peer->flood);
}

/* counts @n against the budget of @kind: FALSE (and the peer closed) when
 * that puts it over */
static gboolean
peer_flood_charge (GbtPeer *peer, GbtFloodKind kind, guint64 n)
{
  g_autoptr(GError) error = NULL;

  if (gbt_flood_charge (&peer->flood, kind, n, peer_now (peer), &error))
    return TRUE;
  gbt_peer_close (peer, error);
  return FALSE;
}

/* something we sent that earns the peer room for its answers */
static void
peer_flood_credit (GbtPeer *peer, GbtFloodKind kind)
{
  gbt_flood_credit (&peer->flood, kind, peer_now (peer));
}

static gint64 *
asked_key (guint32 piece, guint32 begin)
{
  gint64 *key = g_new (gint64, 1);

  *key = (gint64) (((guint64) piece << 32) | begin);
  return key;
}

/* the peer's request for (@piece, @begin) is answered (or withdrawn) */
static void
peer_asked_done (GbtPeer *peer, guint32 piece, guint32 begin)
{
  gint64 key = (gint64) (((guint64) piece << 32) | begin);

  g_hash_table_remove (peer->asked, &key);
}

/* ---- output ---- */

static gboolean
flush_idle_cb (gpointer user_data)
{
  GbtPeer *peer = user_data;

  g_clear_pointer (&peer->out_source, g_source_unref);
  peer_flush (peer);
  return G_SOURCE_REMOVE;
}

static gboolean
peer_writable_cb (GObject *stream, gpointer user_data)
{
  GbtPeer *peer = user_data;

  g_clear_pointer (&peer->out_source, g_source_unref);
  peer_flush (peer);
  return G_SOURCE_REMOVE;
}

static void
peer_flush (GbtPeer *peer)
{
  GbtRateLimit *rl = peer_limit (peer, TRUE);

  if (peer->state == GBT_PEER_STATE_CLOSED)
    return;
  while (peer->wpos < peer->wbuf->len)
    {
      g_autoptr(GError) error = NULL;
      gsize want = peer->wbuf->len - peer->wpos;
      gssize n;

      if (rl)
        {
          gint64 now = g_get_monotonic_time ();
          gsize grant = gbt_rate_limit_take (rl, want, now);
          if (grant == 0)
            {
              /* the upload limit: come back when a block's worth is there */
              if (peer->out_source == NULL)
                peer->out_source = peer_timer_new (
                    gbt_rate_limit_wait_us (rl, MIN (want, GBT_BLOCK_SIZE + 13), now),
                    (GSourceFunc) flush_idle_cb, peer);
              break;
            }
          want = grant;
        }
      n = g_pollable_output_stream_write_nonblocking (peer->out, peer->wbuf->data + peer->wpos,
                                                      want, NULL, &error);
      if (rl)
        gbt_rate_limit_give_back (rl, n > 0 ? want - (gsize) n : want);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              if (peer->out_source == NULL)
                {
                  peer->out_source = g_pollable_output_stream_create_source (peer->out, NULL);
                  g_source_set_callback (peer->out_source, G_SOURCE_FUNC (peer_writable_cb), peer,
                                         NULL);
                  g_source_attach (peer->out_source, g_main_context_get_thread_default ());
                }
              break;
            }
          g_prefix_error (&error, "send failed: ");
          gbt_peer_close (peer, error);
          return;
        }
      peer->wpos += n;
      peer->last_send_us = g_get_monotonic_time ();
    }
  if (peer->wpos == peer->wbuf->len)
    {
      g_byte_array_set_size (peer->wbuf, 0);
      peer->wpos = 0;
      /* uploads wait for room in the send buffer */
      if (peer->state == GBT_PEER_STATE_ACTIVE)
        EMIT (peer, drained);
    }
  else if (gbt_peer_get_send_backlog (peer) > MAX_SEND_BACKLOG)
    {
      /* the socket took what it could: the peer is not reading */
      peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_FLOOD,
                 "flood: %" G_GSIZE_FORMAT " bytes queued to send and not read (budget %"
                 G_GSIZE_FORMAT ")", gbt_peer_get_send_backlog (peer), MAX_SEND_BACKLOG);
    }
  else if (peer->wpos > 1024 * 1024 && peer->wpos > peer->wbuf->len / 2)
    {
      g_byte_array_remove_range (peer->wbuf, 0, peer->wpos);
      peer->wpos = 0;
    }
}


/* Messages are batched: the flush runs once the current dispatch is over. */
static void
peer_queue_flush (GbtPeer *peer)
{
  if (peer->out_source == NULL && peer->state != GBT_PEER_STATE_CLOSED)
    {
      peer->out_source = g_idle_source_new ();
      g_source_set_priority (peer->out_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (peer->out_source, flush_idle_cb, peer, NULL);
      g_source_attach (peer->out_source, g_main_context_get_thread_default ());
    }
}

gsize
gbt_peer_get_send_backlog (GbtPeer *peer)
{
  return peer->wbuf->len - peer->wpos;
}

static void
peer_send_simple (GbtPeer *peer, GbtMsgId id)
{
  gbt_wire_write_simple (peer->wbuf, id);
  peer_queue_flush (peer);
}

void
gbt_peer_send_have (GbtPeer *peer, guint32 piece)
{
  peer_flood_credit (peer, FLOOD_SENT_HAVE);
  gbt_wire_write_have (peer->wbuf, piece);
  peer_queue_flush (peer);
}

void
gbt_peer_send_request (GbtPeer *peer, const GbtBlock *block)
{
  peer_flood_credit (peer, FLOOD_SENT_REQUEST);
  gbt_wire_write_request (peer->wbuf, GBT_MSG_REQUEST, block->piece, block->begin, block->length);
  peer_queue_flush (peer);
}

void
gbt_peer_send_cancel (GbtPeer *peer, const GbtBlock *block)
{
  gbt_wire_write_request (peer->wbuf, GBT_MSG_CANCEL, block->piece, block->begin, block->length);
  peer_queue_flush (peer);
}

void
gbt_peer_send_reject (GbtPeer *peer, const GbtBlock *block)
{
  peer_asked_done (peer, block->piece, block->begin);
  gbt_wire_write_request (peer->wbuf, GBT_MSG_REJECT, block->piece, block->begin, block->length);
  peer_queue_flush (peer);
}

void
gbt_peer_send_piece (GbtPeer *peer, guint32 piece, guint32 begin, GBytes *data)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);

  peer_asked_done (peer, piece, begin);
  gbt_wire_write_piece_header (peer->wbuf, piece, begin, len);
  g_byte_array_append (peer->wbuf, p, len);
  peer->uploaded += len;
  peer->rate_window_up += len;
  peer_queue_flush (peer);
}

void
gbt_peer_set_choking (GbtPeer *peer, gboolean choking)
{
  if (peer->am_choking == choking)
    return;
  peer->am_choking = choking;
  /* BEP 3: a choke drops what it asked; a BEP 6 peer is told so with
   * rejects, one by one */
  if (choking && !peer->fast)
    g_hash_table_remove_all (peer->asked);
  peer_send_simple (peer, choking ? GBT_MSG_CHOKE : GBT_MSG_UNCHOKE);
}

void
gbt_peer_set_interested (GbtPeer *peer, gboolean interested)
{
  if (peer->am_interested == interested)
    return;
  peer->am_interested = interested;
  peer_flood_credit (peer, FLOOD_SENT_INTEREST);
  peer_send_simple (peer, interested ? GBT_MSG_INTERESTED : GBT_MSG_NOT_INTERESTED);
}

/* HAVEs kept before the metadata (a peer announces a piece as it gets one:
 * a few while we fetch the metadata) */
#define MAX_EARLY_HAVES 65536u
/* and their bitfield: 16 MiB of metadata (the most the metadata plugin
 * takes) lists under 840 000 pieces, 105 000 bytes of bitfield */
#define MAX_EARLY_BITFIELD (128u * 1024)

/* ---- handshake ---- */

static void
peer_send_handshake (GbtPeer *peer)
{
  guint8 hs[GBT_HANDSHAKE_LEN];
  guint8 reserved[8] = { 0 };

  reserved[GBT_RESERVED_EXTENSION_BYTE] |= GBT_RESERVED_EXTENSION_MASK;
  reserved[GBT_RESERVED_FAST_BYTE] |= GBT_RESERVED_FAST_MASK;
  if (peer->config.dht_port)
    reserved[GBT_RESERVED_DHT_BYTE] |= GBT_RESERVED_DHT_MASK;
  gbt_wire_write_handshake (hs, reserved, peer->config.info_hash, peer->config.peer_id);
  g_byte_array_append (peer->wbuf, hs, sizeof hs);
  peer->sent_handshake = TRUE;
  peer_queue_flush (peer);
}

static void
peer_send_have_state (GbtPeer *peer)
{
  const GbtBitfield *have = peer->config.have;

  if (have == NULL || have->n_bits == 0)
    {
      /* no metadata yet (magnet): we have nothing */
      if (peer->fast)
        peer_send_simple (peer, GBT_MSG_HAVE_NONE);
      return;
    }
  if (peer->fast && have->n_set == 0)
    peer_send_simple (peer, GBT_MSG_HAVE_NONE);
  else if (peer->fast && have->n_set == have->n_bits)
    peer_send_simple (peer, GBT_MSG_HAVE_ALL);
  else if (have->n_set > 0)
    {
      gbt_wire_write_bitfield (peer->wbuf, have->bits, gbt_bitfield_byte_len (have->n_bits));
      peer_queue_flush (peer);
    }
  peer_flood_credit (peer, FLOOD_SENT_HAVE);
}

static gboolean
peer_handle_handshake (GbtPeer *peer)
{
  g_autoptr(GError) error = NULL;
  const guint8 *data = peer->rbuf->data + peer->rpos;
  gsize avail = peer->rbuf->len - peer->rpos;

  if (avail < GBT_HANDSHAKE_LEN)
    {
      /* refuse early what is plainly not BitTorrent */
      if (avail >= 1 && data[0] != 19)
        {
          peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE,
                     "not a BitTorrent handshake");
          return FALSE;
        }
      return FALSE;
    }
  if (!gbt_wire_parse_handshake (data, avail, &peer->remote, &error))
    {
      gbt_peer_close (peer, error);
      return FALSE;
    }
  peer->rpos += GBT_HANDSHAKE_LEN;

  if (!peer->configured)
    {
      /* incoming: the listener finds the torrent and hands us to it */
      if (peer->events == NULL || peer->events->handshake == NULL
          || !peer->events->handshake (peer, peer->events_data, &error))
        {
          if (error == NULL)
            error = g_error_new_literal (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                                         "handshake for a torrent we do not have");
          gbt_peer_close (peer, error);
          return FALSE;
        }
      if (peer->state == GBT_PEER_STATE_CLOSED)
        return FALSE;
      if (!peer->configured)
        {
          peer_fail (peer, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "no torrent took the connection");
          return FALSE;
        }
    }
  else
    {
      if (memcmp (peer->remote.info_hash, peer->config.info_hash, 20) != 0)
        {
          peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                     "handshake names another info-hash");
          return FALSE;
        }
      if (peer->events && peer->events->handshake
          && !peer->events->handshake (peer, peer->events_data, &error))
        {
          gbt_peer_close (peer, error);
          return FALSE;
        }
      if (peer->state == GBT_PEER_STATE_CLOSED)
        return FALSE;
    }

  peer->fast = (peer->remote.reserved[GBT_RESERVED_FAST_BYTE] & GBT_RESERVED_FAST_MASK) != 0;
  peer->ltep = (peer->remote.reserved[GBT_RESERVED_EXTENSION_BYTE] & GBT_RESERVED_EXTENSION_MASK) != 0;
  if (!peer->sent_handshake)
    peer_send_handshake (peer);
  peer->state = GBT_PEER_STATE_ACTIVE;
  {
    const GbtBitfield *have = peer->config.have;
    if (have && have->n_bits && peer->has.n_bits == 0)
      gbt_bitfield_init (&peer->has, have->n_bits);
  }
  /* BEP 6 wants have-all/have-none (or the bitfield) first; the extension
   * handshake follows, as libtorrent orders them */
  peer_send_have_state (peer);
  if (peer->ltep && peer->config.ext_handshake)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (peer->config.ext_handshake, &len);
      gbt_wire_write_extended (peer->wbuf, 0, p, len);
      peer_queue_flush (peer);
    }
  /* BEP 5: both run a DHT node: ours is at this UDP port */
  if (peer->remote.reserved[GBT_RESERVED_DHT_BYTE] & GBT_RESERVED_DHT_MASK)
    {
      guint16 dht_port = peer->config.dht_port;
      if (dht_port)
        {
          gbt_wire_write_port (peer->wbuf, dht_port);
          peer_queue_flush (peer);
        }
    }
  peer_debug (peer, "handshake done (fast %d, ltep %d)", peer->fast, peer->ltep);
  EMIT (peer, ready);
  return peer->state == GBT_PEER_STATE_ACTIVE;
}

/* ---- messages ---- */

static gboolean
peer_has_metadata (GbtPeer *peer)
{
  return peer->config.have != NULL && peer->config.have->n_bits > 0;
}

/* @fresh holds every bit of @old and more: a peer announcing progress */
static gboolean
bits_grow (const guint8 *old, gsize old_len, const guint8 *fresh, gsize fresh_len)
{
  gboolean more = FALSE;

  if (old_len != fresh_len)
    return FALSE;
  for (gsize i = 0; i < old_len; i++)
    {
      if (old[i] & ~fresh[i])
        return FALSE;
      more |= (fresh[i] & ~old[i]) != 0;
    }
  return more;
}

/* installs @fresh (taken) as the peer's piece set and tells the owner */
static void
peer_set_has (GbtPeer *peer, GbtBitfield *fresh)
{
  GbtBitfield old = peer->has;

  peer->has = *fresh;
  EMIT (peer, bitfield, &old);
  gbt_bitfield_clear (&old);
}

static gboolean
peer_handle_message (GbtPeer *peer, const GbtWireMsg *msg)
{
  gboolean first = !peer->got_first_message;
  GbtBlock block = { msg->index, msg->begin, msg->length };

  /* extension messages may come before the piece set: they don't count */
  if (msg->id != GBT_MSG_KEEPALIVE && msg->id != GBT_MSG_EXTENDED)
    peer->got_first_message = TRUE;

  switch (msg->id)
    {
    case GBT_MSG_KEEPALIVE:
      if (!peer_flood_charge (peer, FLOOD_KIND_KEEPALIVE, 1))
        return FALSE;
      break;
    case GBT_MSG_CHOKE:
    case GBT_MSG_UNCHOKE:
      if (!peer_flood_charge (peer, FLOOD_KIND_CHOKE, 1))
        return FALSE;
      if (peer->peer_choking != (msg->id == GBT_MSG_CHOKE))
        {
          /* on a choke the owner takes back the requests (BEP 3) or, with
           * BEP 6, waits for the peer's rejects */
          peer->peer_choking = msg->id == GBT_MSG_CHOKE;
          EMIT (peer, choke_changed);
        }
      break;
    case GBT_MSG_INTERESTED:
    case GBT_MSG_NOT_INTERESTED:
      if (!peer_flood_charge (peer, FLOOD_KIND_INTEREST, 1))
        return FALSE;
      if (peer->peer_interested != (msg->id == GBT_MSG_INTERESTED))
        {
          peer->peer_interested = msg->id == GBT_MSG_INTERESTED;
          EMIT (peer, interest_changed);
        }
      break;
    case GBT_MSG_HAVE:
      if (!peer_has_metadata (peer))
        {
          /* kept for when the piece count is known; a peer cannot have
           * more pieces than a bitfield of the largest message holds */
          if (peer->early_haves == NULL)
            peer->early_haves = g_array_new (FALSE, FALSE, sizeof (guint32));
          if (peer->early_haves->len >= MAX_EARLY_HAVES)
            {
              peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                         "too many HAVE messages before the metadata");
              return FALSE;
            }
          g_array_append_val (peer->early_haves, msg->index);
          break;
        }
      if (gbt_bitfield_get (&peer->has, msg->index))
        {
          if (!peer_flood_charge (peer, FLOOD_KIND_DUP_HAVE, 1))
            return FALSE;
          break;
        }
      gbt_bitfield_set (&peer->has, msg->index, TRUE);
      EMIT (peer, have, msg->index);
      break;
    case GBT_MSG_BITFIELD:
    case GBT_MSG_HAVE_ALL:
    case GBT_MSG_HAVE_NONE:
      {
        g_autoptr(GError) error = NULL;
        GbtBitfield fresh;
        if ((msg->id != GBT_MSG_BITFIELD) && !peer->fast)
          {
            peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                       "fast-extension message from a peer that did not offer it");
            return FALSE;
          }
        /* aria2 sends HAVE_ALL mid-connection when it completes (see
         * below); a late HAVE_NONE takes back what it announced */
        if (!first && msg->id == GBT_MSG_HAVE_NONE)
          {
            peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                       "have-none after the first message");
            return FALSE;
          }
        if (!peer_has_metadata (peer))
          {
            gboolean grows = msg->id == GBT_MSG_HAVE_ALL
                             || (msg->id == GBT_MSG_BITFIELD && peer->early_bitfield
                                 && bits_grow (g_bytes_get_data (peer->early_bitfield, NULL),
                                               g_bytes_get_size (peer->early_bitfield),
                                               msg->payload, msg->payload_len));
            if (!first && !grows && !peer_flood_charge (peer, FLOOD_KIND_BITFIELD, 1))
              return FALSE;
            /* its length is checked once the piece count is known */
            g_clear_pointer (&peer->early_bitfield, g_bytes_unref);
            if (peer->early_haves)
              g_array_set_size (peer->early_haves, 0);
            peer->early_have_all = msg->id == GBT_MSG_HAVE_ALL;
            if (msg->id == GBT_MSG_BITFIELD && msg->payload_len > MAX_EARLY_BITFIELD)
              {
                peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                           "a bitfield of %" G_GSIZE_FORMAT " bytes: more pieces than any "
                           "metadata we would take lists", (gsize) msg->payload_len);
                return FALSE;
              }
            if (msg->id == GBT_MSG_BITFIELD)
              peer->early_bitfield = g_bytes_new (msg->payload, msg->payload_len);
            break;
          }
        /* A bitfield later than the first message breaks BEP 3, but aria2
         * sends them: instead of HAVEs once the bitfield is the shorter
         * message (a few new pieces of a small torrent), and HAVE_ALL when
         * it completes.  Take it as the peer's new piece set. */
        gbt_bitfield_init (&fresh, peer->has.n_bits);
        if (msg->id == GBT_MSG_BITFIELD
            && !gbt_bitfield_load (&fresh, msg->payload, msg->payload_len, &error))
          {
            gbt_bitfield_clear (&fresh);
            g_prefix_error (&error, "bad bitfield: ");
            gbt_peer_close (peer, error);
            return FALSE;
          }
        if (msg->id == GBT_MSG_HAVE_ALL)
          gbt_bitfield_set_all (&fresh);
        /* news (the set grows, as aria2's do) is bounded by the piece
         * count; the same set again, or one that shrinks, is budgeted */
        if (!first
            && !bits_grow (peer->has.bits, gbt_bitfield_byte_len (peer->has.n_bits), fresh.bits,
                           gbt_bitfield_byte_len (fresh.n_bits))
            && !peer_flood_charge (peer, FLOOD_KIND_BITFIELD, 1))
          {
            gbt_bitfield_clear (&fresh);
            return FALSE;
          }
        peer_set_has (peer, &fresh);
        break;
      }
    case GBT_MSG_REQUEST:
      if (!peer_flood_charge (peer, FLOOD_KIND_REQUEST_BYTES, MAX (block.length, GBT_BLOCK_SIZE)))
        return FALSE;
      if (g_hash_table_size (peer->asked) >= GBT_PEER_ADVERTISED_REQQ
          && !peer_flood_charge (peer, FLOOD_KIND_OVER_REQQ, 1))
        return FALSE;
      /* BEP 3: a choked peer's requests are dropped (a BEP 6 peer's are
       * rejected, which ends them) */
      if (!(peer->am_choking && !peer->fast)
          && g_hash_table_size (peer->asked) < GBT_PEER_ADVERTISED_REQQ + FLOOD_OVER_REQQ)
        g_hash_table_insert (peer->asked, asked_key (block.piece, block.begin),
                             GUINT_TO_POINTER (block.length));
      EMIT (peer, request, &block);
      break;
    case GBT_MSG_CANCEL:
      if (!peer_flood_charge (peer, FLOOD_KIND_CANCEL, 1))
        return FALSE;
      peer_asked_done (peer, block.piece, block.begin);
      EMIT (peer, cancel, &block);
      break;
    case GBT_MSG_PIECE:
      block.length = (guint32) msg->payload_len;
      peer->downloaded += msg->payload_len;
      peer->rate_window_down += msg->payload_len;
      EMIT (peer, block, &block, msg->payload);
      break;
    case GBT_MSG_REJECT:
      if (!peer_flood_charge (peer, FLOOD_KIND_REJECT, 1))
        return FALSE;
      if (!peer->fast)
        {
          peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                     "reject from a peer that did not offer the fast extension");
          return FALSE;
        }
      EMIT (peer, reject, &block);
      break;
    case GBT_MSG_PORT:
      if (!peer_flood_charge (peer, FLOOD_KIND_OTHER, 1))
        return FALSE;
      if (msg->port != 0)
        EMIT (peer, dht_port, msg->port);
      break;
    case GBT_MSG_SUGGEST:
    case GBT_MSG_ALLOWED_FAST:
      /* advisory fast-extension hints: nothing to do yet */
      if (!peer_flood_charge (peer, FLOOD_KIND_OTHER, 1))
        return FALSE;
      break;
    case GBT_MSG_EXTENDED:
      {
        g_autoptr(GBytes) payload = NULL;
        g_autoptr(GError) error = NULL;

        if (!peer->ltep)
          {
            peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                       "extended message from a peer that did not offer BEP 10");
            return FALSE;
          }
        if (!peer_flood_charge (peer, FLOOD_KIND_EXTENDED, 1)
            || !peer_flood_charge (peer, FLOOD_KIND_EXTENDED_BYTES, msg->payload_len))
          return FALSE;
        payload = g_bytes_new (msg->payload, msg->payload_len);
        if (msg->ext_id == 0 && !gbt_ltep_parse_handshake (payload, &peer->ext, &error))
          {
            gbt_peer_close (peer, error);
            return FALSE;
          }
        EMIT (peer, extended, msg->ext_id, payload);
        break;
      }
    default:
      /* BEP 3: unknown messages are ignored */
      if (!peer_flood_charge (peer, FLOOD_KIND_OTHER, 1))
        return FALSE;
      peer_debug (peer, "ignoring message id %d", msg->id);
      break;
    }
  return peer->state == GBT_PEER_STATE_ACTIVE;
}

void
gbt_peer_metadata_arrived (GbtPeer *peer)
{
  const GbtBitfield *have = peer->config.have;
  g_autoptr(GError) error = NULL;
  GbtBitfield fresh;

  if (peer->state != GBT_PEER_STATE_ACTIVE || !peer_has_metadata (peer))
    return;
  gbt_bitfield_clear (&peer->has);
  gbt_bitfield_init (&peer->has, have->n_bits);
  gbt_bitfield_init (&fresh, have->n_bits);
  if (peer->early_have_all)
    gbt_bitfield_set_all (&fresh);
  else if (peer->early_bitfield)
    {
      /* the errors the wire parser gives for the same bytes, had it known
       * the piece count then */
      gsize len = g_bytes_get_size (peer->early_bitfield);

      if (len != gbt_bitfield_byte_len (have->n_bits))
        error = g_error_new (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_LENGTH,
                             "bad bitfield: %" G_GSIZE_FORMAT " bytes for %u pieces", len,
                             have->n_bits);
      else if (!gbt_bitfield_load (&fresh, g_bytes_get_data (peer->early_bitfield, NULL), len, NULL))
        error = g_error_new_literal (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE,
                                     "bad bitfield: bits set past the last piece");
    }
  for (guint i = 0; error == NULL && peer->early_haves && i < peer->early_haves->len; i++)
    {
      guint32 piece = g_array_index (peer->early_haves, guint32, i);
      if (piece >= have->n_bits)
        error = g_error_new (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL,
                             "Peer sent a HAVE for piece %u of %u", piece, have->n_bits);
      else
        gbt_bitfield_set (&fresh, piece, TRUE);
    }
  g_clear_pointer (&peer->early_bitfield, g_bytes_unref);
  g_clear_pointer (&peer->early_haves, g_array_unref);
  peer->early_have_all = FALSE;
  if (error)
    {
      gbt_bitfield_clear (&fresh);
      gbt_peer_close (peer, error);
      return;
    }
  peer_set_has (peer, &fresh);
}

static void
peer_process_input (GbtPeer *peer)
{
  while (peer->state != GBT_PEER_STATE_CLOSED)
    {
      if (peer->state == GBT_PEER_STATE_HANDSHAKE)
        {
          if (!peer_handle_handshake (peer))
            return;
          continue;
        }
      {
        g_autoptr(GError) error = NULL;
        GbtWireMsg msg;
        gssize n = gbt_wire_parse (peer->rbuf->data + peer->rpos, peer->rbuf->len - peer->rpos,
                                   peer->config.limits, &msg, &error);
        if (n < 0)
          {
            gbt_peer_close (peer, error);
            return;
          }
        if (n == 0)
          return;
        peer->rpos += n;
        if (!peer_handle_message (peer, &msg))
          return;
      }
    }
}

static void
peer_attach_reader (GbtPeer *peer)
{
  peer->in_source = g_pollable_input_stream_create_source (peer->in, NULL);
  g_source_set_callback (peer->in_source, G_SOURCE_FUNC (peer_readable_cb), peer, NULL);
  g_source_attach (peer->in_source, g_main_context_get_thread_default ());
}

static gboolean
resume_reading_cb (gpointer user_data)
{
  GbtPeer *peer = user_data;

  g_clear_pointer (&peer->throttle_source, g_source_unref);
  if (peer->state != GBT_PEER_STATE_CLOSED && peer->in_source == NULL)
    peer_attach_reader (peer);
  return G_SOURCE_REMOVE;
}

static void
peer_pause_reading (GbtPeer *peer, gint64 wait_us)
{
  if (peer->in_source)
    {
      g_source_destroy (peer->in_source);
      g_clear_pointer (&peer->in_source, g_source_unref);
    }
  if (peer->throttle_source == NULL)
    peer->throttle_source = peer_timer_new (wait_us, resume_reading_cb, peer);
}

static gboolean
peer_readable_cb (GObject *stream, gpointer user_data)
{
  GbtPeer *peer = user_data;
  gsize total = 0;
  GbtRateLimit *rl = peer_limit (peer, FALSE);
  /* the iteration's start, as the main loop cached it */
  GSource *current = g_main_current_source ();
  gint64 iteration_us = current ? g_source_get_time (current) : g_get_monotonic_time ();
  gboolean late = g_get_monotonic_time () - iteration_us >= READ_BUDGET_US;

  gbt_peer_ref (peer);
  while (peer->state != GBT_PEER_STATE_CLOSED && total < MAX_READ_PER_DISPATCH)
    {
      g_autoptr(GError) error = NULL;
      gssize n;
      gsize old_len, want;

      /* keep the unread tail at the front so the buffer stays small */
      if (peer->rpos > 0)
        {
          g_byte_array_remove_range (peer->rbuf, 0, peer->rpos);
          peer->rpos = 0;
        }
      want = late ? READ_CHUNK_LATE : READ_CHUNK;
      if (rl)
        {
          gint64 now = g_get_monotonic_time ();
          gsize grant = gbt_rate_limit_take (rl, want, now);
          if (grant == 0)
            {
              /* the download limit: stop reading (TCP pushes back on the
               * sender) until a block's worth of tokens is there */
              peer_pause_reading (peer, gbt_rate_limit_wait_us (rl, GBT_BLOCK_SIZE + 13, now));
              break;
            }
          want = grant;
        }
      old_len = peer->rbuf->len;
      g_byte_array_set_size (peer->rbuf, old_len + want);
      n = g_pollable_input_stream_read_nonblocking (peer->in, peer->rbuf->data + old_len, want,
                                                    NULL, &error);
      g_byte_array_set_size (peer->rbuf, old_len + MAX (n, 0));
      if (rl)
        gbt_rate_limit_give_back (rl, n > 0 ? want - (gsize) n : want);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_prefix_error (&error, "receive failed: ");
              gbt_peer_close (peer, error);
            }
          break;
        }
      if (n == 0)
        {
          peer_fail (peer, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "connection closed by peer");
          break;
        }
      total += n;
      peer->last_recv_us = g_get_monotonic_time ();
      peer_process_input (peer);
      if ((gsize) n < want || late || g_get_monotonic_time () - iteration_us >= READ_BUDGET_US)
        break;
    }
  gbt_peer_unref (peer);
  return G_SOURCE_CONTINUE;
}

void
gbt_peer_set_owner (GbtPeer *peer, const GbtPeerEvents *events, gpointer data,
                    const GbtPeerConfig *config)
{
  peer->events = events;
  peer->events_data = data;
  if (config == NULL)
    return;
  g_clear_pointer (&peer->config.ext_handshake, g_bytes_unref);
  peer->config = *config;
  if (config->ext_handshake)
    g_bytes_ref (config->ext_handshake);
  peer->configured = TRUE;
}

void
gbt_peer_start (GbtPeer *peer, const GbtPeerEvents *events, gpointer data,
                const GbtPeerConfig *config)
{
  gbt_peer_set_owner (peer, events, data, config);
  if (config != NULL)
    peer_send_handshake (peer);
  peer_attach_reader (peer);
}

void
gbt_peer_tick (GbtPeer *peer, gint64 now_us)
{
  if (peer->state == GBT_PEER_STATE_CLOSED)
    return;
  /* exponential average over roughly the last few seconds */
  peer->rate_down = peer->rate_down * 0.6 + peer->rate_window_down * 0.4;
  peer->rate_up = peer->rate_up * 0.6 + peer->rate_window_up * 0.4;
  peer->rate_window_down = peer->rate_window_up = 0;

  if (peer->state == GBT_PEER_STATE_HANDSHAKE && now_us - peer->connected_us > HANDSHAKE_TIMEOUT_US)
    {
      peer_fail (peer, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no handshake within 20 s");
      return;
    }
  if (now_us - peer->last_recv_us > IDLE_TIMEOUT_US)
    {
      peer_fail (peer, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "nothing received for 150 s");
      return;
    }
  if (peer->state == GBT_PEER_STATE_ACTIVE && now_us - peer->last_send_us > KEEPALIVE_US
      && gbt_peer_get_send_backlog (peer) == 0)
    {
      gbt_wire_write_keepalive (peer->wbuf);
      peer_queue_flush (peer);
    }
}

gboolean
gbt_peer_send_extended (GbtPeer *peer, const char *name, GBytes *payload)
{
  gpointer id;
  gsize len;
  const guint8 *p;

  g_return_val_if_fail (peer != NULL && name != NULL && payload != NULL, FALSE);
  if (peer->state != GBT_PEER_STATE_ACTIVE || !peer->ltep
      || !g_hash_table_lookup_extended (peer->ext.ext_ids, name, NULL, &id))
    return FALSE;
  p = g_bytes_get_data (payload, &len);
  gbt_wire_write_extended (peer->wbuf, (guint8) GPOINTER_TO_UINT (id), p, len);
  peer_queue_flush (peer);
  return TRUE;
}

void
gbt_peer_disconnect (GbtPeer *peer, const char *reason)
{
  peer_fail (peer, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL, "%s",
             reason ? reason : "dropped by an extension");
}
