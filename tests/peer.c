/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtPeer, the state machine of one connection, over an in-memory stream:
 * two non-blocking pipes (GUnixInputStream / GUnixOutputStream, both
 * pollable) joined by g_simple_io_stream_new() are the peer's side; the
 * test holds the other ends, writes raw wire bytes and parses what the peer
 * sends.  The owner is a recording events table.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include <gbt/gbt-peer.h>

#include "gbt-peer-private.h"
#include "gbt-peer-wire.h"
#include "gbt-swarm.h"
#include "test-utils.h"

/* the peer's flood budget counts beyond the reqq the swarm advertises */
G_STATIC_ASSERT (GBT_PEER_ADVERTISED_REQQ == GBT_SWARM_MAX_UPLOAD_QUEUE);

/* 10 pieces of 64 KiB, the last one 10000 bytes (as in peer-wire.c) */
#define N_PIECES 10
#define PIECE_LEN (64 * 1024)
#define TOTAL_SIZE ((guint64) 9 * PIECE_LEN + 10000)
#define MAX_MSG (16384 + 13)

#define WAIT_MS 3000
#define S(x) ((gint64) (x) * G_USEC_PER_SEC)

/* the remote's reserved bits */
#define R_LTEP (1u << 0)
#define R_FAST (1u << 1)
#define R_DHT (1u << 2)
#define R_ALL (R_LTEP | R_FAST | R_DHT)

#define OUR_EXT_HS "d1:md11:ut_metadatai1ee1:v7:gbt 0.1e"

typedef enum {
  HAVE_NONE,
  HAVE_SOME, /* pieces 0 and 3 */
  HAVE_ALL,
  HAVE_MAGNET, /* n_bits 0 */
} HaveMode;

typedef struct {
  const char *path;
  gboolean incoming; /* started without a config; the handshake event adopts */
  HaveMode have;
  guint16 dht_port;
  gboolean no_ext_handshake; /* config.ext_handshake NULL */
  guint remote; /* R_* bits the remote sets (the test's helpers use it) */
  gconstpointer extra; /* the test's own case */
} Setup;

typedef enum {
  EV_HANDSHAKE,
  EV_READY,
  EV_CLOSED,
  EV_BITFIELD,
  EV_HAVE,
  EV_CHOKE,
  EV_INTEREST,
  EV_BLOCK,
  EV_REQUEST,
  EV_CANCEL,
  EV_REJECT,
  EV_EXTENDED,
  EV_DHT_PORT,
  EV_NONE, /* never closes */
} EvType;

typedef struct {
  EvType type;
  guint piece;
  GbtBlock block;
  GBytes *bytes; /* block bytes; extended payload; bitfield: the new set's bits */
  GBytes *old_bits;
  guint old_n_bits, old_n_set, new_n_bits, new_n_set;
  guint8 ext_id;
  guint16 port;
  gboolean flag; /* choke / interest: the peer's flag at the time */
  gboolean has_reason;
  GQuark domain;
  int code;
} Event;

typedef struct {
  const Setup *setup;
  int to_peer[2]; /* the test writes [1] */
  int from_peer[2]; /* the test reads [0] */
  GbtPeer *peer;
  GbtBitfield have;
  GbtWireLimits limits;
  GbtPeerConfig config;
  int fake_torrent;

  GArray *events; /* Event; "drained" only counted */
  guint n_drained;
  guint n_closed;
  guint8 remote_id_at_handshake[20];

  /* what the owner does from inside its events */
  gboolean accept_without_owner;
  GError *refuse; /* the handshake event returns FALSE with a copy */
  gboolean refuse_without_error;
  EvType close_in; /* gbt_peer_close from inside this event */
  gboolean close_in_closed; /* and again from inside the closed event */
  gboolean unref_in_closed; /* the owner drops its (last) reference there */
  gboolean data_seen_in_closed;
  gboolean reject_requests; /* the request event answers with a reject */
  gboolean serve_requests; /* ... with a piece, as the swarm does */
  GArray *serve_queue; /* GbtBlock */
  GBytes *block_bytes;

  GByteArray *rx; /* read from the peer */
  gsize rx_pos;
  gboolean rx_eof;
  GByteArray *tx; /* to the peer, not written yet */
  gsize tx_pos;
  GBytes *last_payload; /* a copy of the payload remote_expect() parsed */
} Fixture;

static const guint8 info_hash[20] = "0123456789abcdefghij";
static const guint8 our_id[20] = "-GB0001-ourpeerid000";
static const guint8 remote_id[20] = "-XX0001-remotepeerid";

/* ---- the recording owner ---- */

static void
event_clear (gpointer p)
{
  Event *e = p;

  g_clear_pointer (&e->bytes, g_bytes_unref);
  g_clear_pointer (&e->old_bits, g_bytes_unref);
}

static Event *
record (Fixture *f, EvType type)
{
  Event e = { .type = type };

  g_array_append_val (f->events, e);
  return &g_array_index (f->events, Event, f->events->len - 1);
}

static void
maybe_close (Fixture *f, GbtPeer *peer, EvType type)
{
  if (f->close_in == type)
    gbt_peer_close (peer, NULL);
}

static gboolean
on_handshake (GbtPeer *peer, gpointer data, GError **error)
{
  Fixture *f = data;

  record (f, EV_HANDSHAKE);
  memcpy (f->remote_id_at_handshake, gbt_peer_get_remote_id (peer), 20);
  if (f->refuse)
    {
      g_propagate_error (error, g_error_copy (f->refuse));
      return FALSE;
    }
  if (f->refuse_without_error)
    return FALSE;
  maybe_close (f, peer, EV_HANDSHAKE);
  return TRUE;
}

static void on_ready (GbtPeer *peer, gpointer data);
static void on_closed (GbtPeer *peer, const GError *reason, gpointer data);
static void on_bitfield (GbtPeer *peer, const GbtBitfield *old, gpointer data);
static void on_have (GbtPeer *peer, guint piece, gpointer data);
static void on_choke_changed (GbtPeer *peer, gpointer data);
static void on_interest_changed (GbtPeer *peer, gpointer data);
static void on_block (GbtPeer *peer, const GbtBlock *block, const guint8 *bytes, gpointer data);
static void on_request (GbtPeer *peer, const GbtBlock *block, gpointer data);
static void on_cancel (GbtPeer *peer, const GbtBlock *block, gpointer data);
static void on_reject (GbtPeer *peer, const GbtBlock *block, gpointer data);
static void on_drained (GbtPeer *peer, gpointer data);
static void on_extended (GbtPeer *peer, guint8 ext_id, GBytes *payload, gpointer data);
static void on_dht_port (GbtPeer *peer, guint16 port, gpointer data);
static gboolean on_handshake_adopting (GbtPeer *peer, gpointer data, GError **error);

static const GbtPeerEvents recording_events = {
  .handshake = on_handshake,
  .ready = on_ready,
  .closed = on_closed,
  .bitfield = on_bitfield,
  .have = on_have,
  .choke_changed = on_choke_changed,
  .interest_changed = on_interest_changed,
  .block = on_block,
  .request = on_request,
  .cancel = on_cancel,
  .reject = on_reject,
  .drained = on_drained,
  .extended = on_extended,
  .dht_port = on_dht_port,
};

/* the listener's table: its handshake event finds "the torrent" and hands
 * the peer to it (recording_events) */
static const GbtPeerEvents listener_events = {
  .handshake = on_handshake_adopting,
  .closed = on_closed,
};

static gboolean
on_handshake_adopting (GbtPeer *peer, gpointer data, GError **error)
{
  Fixture *f = data;

  record (f, EV_HANDSHAKE);
  memcpy (f->remote_id_at_handshake, gbt_peer_get_remote_id (peer), 20);
  if (f->refuse)
    {
      g_propagate_error (error, g_error_copy (f->refuse));
      return FALSE;
    }
  if (f->refuse_without_error)
    return FALSE;
  if (f->accept_without_owner)
    return TRUE;
  gbt_peer_set_owner (peer, &recording_events, f, &f->config);
  maybe_close (f, peer, EV_HANDSHAKE);
  return TRUE;
}

static void
on_ready (GbtPeer *peer, gpointer data)
{
  Fixture *f = data;

  record (f, EV_READY);
  maybe_close (f, peer, EV_READY);
}

static void
on_closed (GbtPeer *peer, const GError *reason, gpointer data)
{
  Fixture *f = data;
  Event *e = record (f, EV_CLOSED);

  f->n_closed++;
  e->has_reason = reason != NULL;
  if (reason)
    {
      e->domain = reason->domain;
      e->code = reason->code;
    }
  g_assert_true (gbt_peer_is_closed (peer));
  f->data_seen_in_closed = gbt_peer_get_data (peer, "key") != NULL;
  if (f->close_in_closed)
    gbt_peer_close (peer, NULL);
  if (f->unref_in_closed)
    g_clear_pointer (&f->peer, gbt_peer_unref);
}

static GBytes *
bits_copy (const GbtBitfield *bf)
{
  return g_bytes_new (bf->bits, gbt_bitfield_byte_len (bf->n_bits));
}

static void
on_bitfield (GbtPeer *peer, const GbtBitfield *old, gpointer data)
{
  Fixture *f = data;
  const GbtBitfield *has = gbt_peer_get_has (peer);
  Event *e = record (f, EV_BITFIELD);

  e->old_bits = bits_copy (old);
  e->old_n_bits = old->n_bits;
  e->old_n_set = old->n_set;
  e->bytes = bits_copy (has);
  e->new_n_bits = has->n_bits;
  e->new_n_set = has->n_set;
  maybe_close (f, peer, EV_BITFIELD);
}

static void
on_have (GbtPeer *peer, guint piece, gpointer data)
{
  Fixture *f = data;

  record (f, EV_HAVE)->piece = piece;
  /* the peer's set is current when the event runs */
  g_assert_true (gbt_bitfield_get (gbt_peer_get_has (peer), piece));
  maybe_close (f, peer, EV_HAVE);
}

static void
on_choke_changed (GbtPeer *peer, gpointer data)
{
  Fixture *f = data;

  record (f, EV_CHOKE)->flag = gbt_peer_is_choking (peer);
  maybe_close (f, peer, EV_CHOKE);
}

static void
on_interest_changed (GbtPeer *peer, gpointer data)
{
  Fixture *f = data;

  record (f, EV_INTEREST)->flag = gbt_peer_is_interested (peer);
  maybe_close (f, peer, EV_INTEREST);
}

static void
on_block (GbtPeer *peer, const GbtBlock *block, const guint8 *bytes, gpointer data)
{
  Fixture *f = data;
  Event *e = record (f, EV_BLOCK);

  e->block = *block;
  e->bytes = g_bytes_new (bytes, block->length);
  maybe_close (f, peer, EV_BLOCK);
}

/* what the swarm does with requests: a block at a time while the send
 * backlog is under 1 MiB, more when it drains */
static void
serve (Fixture *f)
{
  while (f->serve_queue->len > 0 && gbt_peer_get_send_backlog (f->peer) < 1024 * 1024)
    {
      GbtBlock b = g_array_index (f->serve_queue, GbtBlock, 0);
      g_autoptr(GBytes) slice = g_bytes_new_from_bytes (f->block_bytes, 0, b.length);

      g_array_remove_index (f->serve_queue, 0);
      gbt_peer_send_piece (f->peer, b.piece, b.begin, slice);
    }
}

static void
on_request (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  Fixture *f = data;

  if (!f->serve_requests)
    record (f, EV_REQUEST)->block = *block;
  maybe_close (f, peer, EV_REQUEST);
  if (f->reject_requests)
    gbt_peer_send_reject (peer, block);
  if (f->serve_requests)
    {
      g_array_append_val (f->serve_queue, *block);
      serve (f);
    }
}

static void
on_cancel (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  Fixture *f = data;

  record (f, EV_CANCEL)->block = *block;
  maybe_close (f, peer, EV_CANCEL);
}

static void
on_reject (GbtPeer *peer, const GbtBlock *block, gpointer data)
{
  Fixture *f = data;

  record (f, EV_REJECT)->block = *block;
  maybe_close (f, peer, EV_REJECT);
}

static void
on_drained (GbtPeer *peer, gpointer data)
{
  Fixture *f = data;

  f->n_drained++;
  if (f->serve_requests)
    serve (f);
}

static void
on_extended (GbtPeer *peer, guint8 ext_id, GBytes *payload, gpointer data)
{
  Fixture *f = data;
  Event *e = record (f, EV_EXTENDED);

  e->ext_id = ext_id;
  e->bytes = g_bytes_ref (payload);
  maybe_close (f, peer, EV_EXTENDED);
}

static void
on_dht_port (GbtPeer *peer, guint16 port, gpointer data)
{
  Fixture *f = data;

  record (f, EV_DHT_PORT)->port = port;
  maybe_close (f, peer, EV_DHT_PORT);
}

static guint
count_events (Fixture *f, EvType type)
{
  guint n = 0;

  for (guint i = 0; i < f->events->len; i++)
    n += g_array_index (f->events, Event, i).type == type;
  return n;
}

static Event *
nth_event (Fixture *f, guint i)
{
  g_assert_cmpuint (i, <, f->events->len);
  return &g_array_index (f->events, Event, i);
}

/* the one event of @type since event @mark, and nothing else since */
static Event *
only_event_since (Fixture *f, guint mark, EvType type)
{
  g_assert_cmpuint (f->events->len, ==, mark + 1);
  g_assert_cmpint (nth_event (f, mark)->type, ==, type);
  return nth_event (f, mark);
}

static void
assert_closed_with (Fixture *f, GQuark domain, int code)
{
  Event *e;

  gbt_test_wait_until (f->n_closed > 0, WAIT_MS);
  g_assert_cmpuint (f->n_closed, ==, 1);
  e = nth_event (f, f->events->len - 1);
  g_assert_cmpint (e->type, ==, EV_CLOSED);
  g_assert_true (e->has_reason);
  g_assert_cmpstr (g_quark_to_string (e->domain), ==, g_quark_to_string (domain));
  g_assert_cmpint (e->code, ==, code);
  if (f->peer)
    {
      g_assert_true (gbt_peer_is_closed (f->peer));
      g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_CLOSED);
    }
}

/* ---- the remote end ---- */

/* runs what is ready now (reads, flushes), without waiting */
static void
settle (void)
{
  for (guint i = 0; i < 10000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

/* writes what the pipe takes; TRUE once all of it is written (or the peer
 * is gone) */
static gboolean
remote_try_flush (Fixture *f)
{
  while (f->tx_pos < f->tx->len && f->to_peer[1] >= 0)
    {
      gssize n = write (f->to_peer[1], f->tx->data + f->tx_pos, f->tx->len - f->tx_pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return FALSE;
      if (n < 0)
        {
          /* EPIPE: the peer closed its end; the rest is dropped */
          g_assert_cmpint (errno, ==, EPIPE);
          break;
        }
      f->tx_pos += n;
    }
  g_byte_array_set_size (f->tx, 0);
  f->tx_pos = 0;
  return TRUE;
}

/* hands @bytes to the peer and runs it until it has read them all */
static void
remote_send (Fixture *f, const guint8 *data, gsize len)
{
  g_byte_array_append (f->tx, data, len);
  gbt_test_wait_until (remote_try_flush (f), WAIT_MS * 3);
  settle ();
}

static void
remote_send_array (Fixture *f, GByteArray *out)
{
  remote_send (f, out->data, out->len);
  g_byte_array_set_size (out, 0);
}

static void
remote_send_simple (Fixture *f, GbtMsgId id)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  gbt_wire_write_simple (out, id);
  remote_send_array (f, out);
}

/* one framed message, raw: length prefix 1 + @len, @id, @payload */
static void
raw_msg (GByteArray *out, guint32 prefix, guint8 id, const guint8 *payload, gsize len)
{
  guint8 hdr[5];

  gbt_test_put_be32 (hdr, prefix);
  hdr[4] = id;
  g_byte_array_append (out, hdr, 5);
  if (len)
    g_byte_array_append (out, payload, len);
}

static void
remote_read (Fixture *f)
{
  guint8 buf[65536];

  for (;;)
    {
      gssize n = read (f->from_peer[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_assert_cmpint (errno, ==, EAGAIN);
          return;
        }
      if (n == 0)
        {
          f->rx_eof = TRUE;
          return;
        }
      g_byte_array_append (f->rx, buf, n);
    }
}

static gsize
rx_avail (Fixture *f)
{
  return f->rx->len - f->rx_pos;
}

/* a whole message waits in rx (or the peer hung up); reads, parses nothing
 * (gbt_test_wait_until evaluates its condition once more) */
static gboolean
remote_has_message (Fixture *f)
{
  GbtWireMsg msg;

  remote_read (f);
  return f->rx_eof || gbt_wire_parse (f->rx->data + f->rx_pos, rx_avail (f), NULL, &msg, NULL) != 0;
}

/* the next message the peer sends; its payload stays valid until the next */
static void
remote_expect (Fixture *f, GbtWireMsg *msg, int id)
{
  g_autoptr(GError) error = NULL;
  gssize n;

  gbt_test_wait_until (remote_has_message (f), WAIT_MS);
  n = gbt_wire_parse (f->rx->data + f->rx_pos, rx_avail (f), NULL, msg, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, >, 0);
  g_clear_pointer (&f->last_payload, g_bytes_unref);
  f->last_payload = g_bytes_new (msg->payload, msg->payload_len);
  msg->payload = g_bytes_get_data (f->last_payload, NULL);
  f->rx_pos += n;
  g_assert_cmpint (msg->id, ==, id);
}

/* the peer sent nothing more (after everything ready ran) */
static void
remote_expect_nothing (Fixture *f)
{
  settle ();
  remote_read (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

/* the peer sends exactly @bytes next */
static void
remote_expect_bytes (Fixture *f, GByteArray *want)
{
  gbt_test_wait_until ((remote_read (f), rx_avail (f) >= want->len || f->rx_eof), WAIT_MS);
  g_assert_cmpmem (f->rx->data + f->rx_pos, MIN (rx_avail (f), want->len), want->data, want->len);
  f->rx_pos += want->len;
}

static void
remote_expect_handshake (Fixture *f, GbtHandshake *hs)
{
  g_autoptr(GError) error = NULL;

  gbt_test_wait_until ((remote_read (f), rx_avail (f) >= GBT_HANDSHAKE_LEN || f->rx_eof),
                       WAIT_MS);
  g_assert_true (gbt_wire_parse_handshake (f->rx->data + f->rx_pos, rx_avail (f), hs, &error));
  g_assert_no_error (error);
  f->rx_pos += GBT_HANDSHAKE_LEN;
}

/* the peer closed its side: EOF after whatever was in the pipe */
static void
remote_expect_eof (Fixture *f)
{
  gbt_test_wait_until ((remote_read (f), f->rx_eof), WAIT_MS);
}

static void
write_remote_handshake (GByteArray *out, guint remote, const guint8 *hash)
{
  guint8 reserved[8] = { 0 }, hs[GBT_HANDSHAKE_LEN];

  if (remote & R_LTEP)
    reserved[GBT_RESERVED_EXTENSION_BYTE] |= GBT_RESERVED_EXTENSION_MASK;
  if (remote & R_FAST)
    reserved[GBT_RESERVED_FAST_BYTE] |= GBT_RESERVED_FAST_MASK;
  if (remote & R_DHT)
    reserved[GBT_RESERVED_DHT_BYTE] |= GBT_RESERVED_DHT_MASK;
  gbt_wire_write_handshake (hs, reserved, hash, remote_id);
  g_byte_array_append (out, hs, sizeof hs);
}

static void
remote_handshake (Fixture *f, guint remote)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  write_remote_handshake (out, remote, info_hash);
  remote_send_array (f, out);
}

/* The whole exchange: the remote's handshake (with the setup's bits), the
 * peer ready, and what it sent so far (handshake, piece set, extension
 * handshake, PORT) read and dropped.  Events are cleared. */
static void
remote_connect (Fixture *f)
{
  GbtHandshake hs;

  remote_handshake (f, f->setup->remote);
  gbt_test_wait_until (count_events (f, EV_READY) == 1 || f->n_closed, WAIT_MS);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_ACTIVE);
  remote_expect_handshake (f, &hs);
  settle ();
  remote_read (f);
  f->rx_pos = f->rx->len;
  g_array_set_size (f->events, 0);
  f->n_drained = 0;
}

/* ---- fixture ---- */

static void
make_pipe (int fds[2])
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_unix_open_pipe (fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_set_fd_nonblocking (fds[0], TRUE, NULL));
  g_assert_true (g_unix_set_fd_nonblocking (fds[1], TRUE, NULL));
}

static void
fill_have (Fixture *f, HaveMode mode)
{
  gbt_bitfield_clear (&f->have);
  f->limits = (GbtWireLimits) { 0 };
  if (mode == HAVE_MAGNET)
    {
      gbt_bitfield_init (&f->have, 0);
      return;
    }
  gbt_bitfield_init (&f->have, N_PIECES);
  f->limits.n_pieces = N_PIECES;
  f->limits.piece_length = PIECE_LEN;
  f->limits.total_size = TOTAL_SIZE;
  f->limits.max_message_len = MAX_MSG;
  if (mode == HAVE_ALL)
    gbt_bitfield_set_all (&f->have);
  else if (mode == HAVE_SOME)
    {
      gbt_bitfield_set (&f->have, 0, TRUE);
      gbt_bitfield_set (&f->have, 3, TRUE);
    }
}

/* the peer over the pipes, not started */
static void
fixture_setup_unstarted (Fixture *f, gconstpointer data)
{
  const Setup *s = data;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (ip, 6881);

  f->setup = s;
  f->events = g_array_new (FALSE, TRUE, sizeof (Event));
  g_array_set_clear_func (f->events, event_clear);
  f->rx = g_byte_array_new ();
  f->tx = g_byte_array_new ();
  f->close_in = EV_NONE;
  f->serve_queue = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  f->block_bytes = g_bytes_new_take (g_malloc0 (GBT_WIRE_MAX_BLOCK_LEN), GBT_WIRE_MAX_BLOCK_LEN);
  make_pipe (f->to_peer);
  make_pipe (f->from_peer);
  in = g_unix_input_stream_new (f->to_peer[0], TRUE);
  out = g_unix_output_stream_new (f->from_peer[1], TRUE);
  g_assert_true (G_IS_POLLABLE_INPUT_STREAM (in));
  g_assert_true (G_IS_POLLABLE_OUTPUT_STREAM (out));
  stream = g_simple_io_stream_new (in, out);

  fill_have (f, s->have);
  memcpy (f->config.info_hash, info_hash, 20);
  memcpy (f->config.peer_id, our_id, 20);
  f->config.have = &f->have;
  f->config.limits = &f->limits;
  f->config.dht_port = s->dht_port;
  if (!s->no_ext_handshake)
    f->config.ext_handshake = g_bytes_new_static (OUR_EXT_HS, strlen (OUR_EXT_HS));
  f->config.torrent = (GbtTorrent *) &f->fake_torrent;

  f->peer = gbt_peer_new (stream, G_INET_SOCKET_ADDRESS (addr), s->incoming);
}

static void
fixture_start (Fixture *f)
{
  if (f->setup->incoming)
    gbt_peer_start (f->peer, &listener_events, f, NULL);
  else
    gbt_peer_start (f->peer, &recording_events, f, &f->config);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  fixture_setup_unstarted (f, data);
  fixture_start (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->peer, gbt_peer_unref);
  /* whatever the peer left queued runs against a closed peer: nothing */
  settle ();
  if (f->to_peer[1] >= 0)
    close (f->to_peer[1]);
  close (f->from_peer[0]);
  g_clear_pointer (&f->config.ext_handshake, g_bytes_unref);
  gbt_bitfield_clear (&f->have);
  g_array_unref (f->events);
  g_byte_array_unref (f->rx);
  g_byte_array_unref (f->tx);
  g_clear_pointer (&f->last_payload, g_bytes_unref);
  g_clear_error (&f->refuse);
  g_array_unref (f->serve_queue);
  g_bytes_unref (f->block_bytes);
}

/* the setups */
static const Setup out_plain = { .have = HAVE_SOME, .remote = R_LTEP | R_FAST };
static const Setup out_dht = { .have = HAVE_SOME, .dht_port = 6881, .remote = R_ALL };
static const Setup out_nofast = { .have = HAVE_SOME, .remote = R_LTEP };
static const Setup out_noltep = { .have = HAVE_SOME, .remote = R_FAST };
static const Setup out_magnet = { .have = HAVE_MAGNET, .remote = R_LTEP | R_FAST };
static const Setup in_plain = { .incoming = TRUE, .have = HAVE_SOME, .remote = R_LTEP | R_FAST };

/* ---- handshake ---- */

static void
check_our_handshake (Fixture *f, const GbtHandshake *hs)
{
  g_assert_cmpmem (hs->info_hash, 20, info_hash, 20);
  g_assert_cmpmem (hs->peer_id, 20, our_id, 20);
  g_assert_cmphex (hs->reserved[GBT_RESERVED_EXTENSION_BYTE] & GBT_RESERVED_EXTENSION_MASK, ==,
                   GBT_RESERVED_EXTENSION_MASK);
  g_assert_cmphex (hs->reserved[GBT_RESERVED_FAST_BYTE] & GBT_RESERVED_FAST_MASK, ==,
                   GBT_RESERVED_FAST_MASK);
  g_assert_cmphex (hs->reserved[GBT_RESERVED_DHT_BYTE] & GBT_RESERVED_DHT_MASK, ==,
                   f->setup->dht_port ? GBT_RESERVED_DHT_MASK : 0);
  /* no other bit */
  for (int i = 0; i < 8; i++)
    {
      guint8 known = 0;
      if (i == GBT_RESERVED_EXTENSION_BYTE)
        known |= GBT_RESERVED_EXTENSION_MASK;
      if (i == GBT_RESERVED_FAST_BYTE)
        known |= GBT_RESERVED_FAST_MASK | GBT_RESERVED_DHT_MASK;
      g_assert_cmphex (hs->reserved[i] & ~known, ==, 0);
    }
}

/* an outgoing peer sends its handshake at once, before the remote's */
static void
test_handshake_outgoing (Fixture *f, gconstpointer data)
{
  GbtHandshake hs;

  remote_expect_handshake (f, &hs);
  check_our_handshake (f, &hs);
  remote_expect_nothing (f);
  g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_HANDSHAKE);
  g_assert_cmpuint (f->events->len, ==, 0);
  g_assert_false (gbt_peer_is_incoming (f->peer));
  g_assert_cmpstr (gbt_peer_get_name (f->peer), ==, "127.0.0.2:6881");
  g_assert_true (gbt_peer_get_torrent (f->peer) == (GbtTorrent *) &f->fake_torrent);

  /* then the remote's: handshake, ready; the remote's id and hash known */
  remote_handshake (f, f->setup->remote);
  gbt_test_wait_until (count_events (f, EV_READY) == 1, WAIT_MS);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_HANDSHAKE);
  g_assert_cmpmem (f->remote_id_at_handshake, 20, remote_id, 20);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_READY);
  g_assert_cmpmem (gbt_peer_get_remote_id (f->peer), 20, remote_id, 20);
  g_assert_cmpmem (gbt_peer_get_remote_info_hash (f->peer), 20, info_hash, 20);
  g_assert_true (gbt_peer_is_fast (f->peer));
  g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_ACTIVE);
  g_assert_true (gbt_peer_am_choking (f->peer));
  g_assert_false (gbt_peer_am_interested (f->peer));
  g_assert_true (gbt_peer_is_choking (f->peer));
  g_assert_false (gbt_peer_is_interested (f->peer));
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_bits, ==, N_PIECES);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_set, ==, 0);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* the remote's handshake arrives a byte at a time */
static void
test_handshake_split (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  write_remote_handshake (out, f->setup->remote, info_hash);
  for (guint i = 0; i < out->len; i++)
    {
      g_assert_cmpuint (count_events (f, EV_HANDSHAKE), ==, 0);
      remote_send (f, out->data + i, 1);
    }
  gbt_test_wait_until (count_events (f, EV_READY) == 1, WAIT_MS);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* the remote's handshake and its first messages in one write, as real
 * clients send them: all are read at once, after the handshake event */
static void
test_handshake_with_messages (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 bits[2] = { 0x40, 0x00 }; /* 1 */

  write_remote_handshake (out, f->setup->remote, info_hash);
  gbt_wire_write_extended (out, 0, (const guint8 *) "d1:v3:abce", 10);
  gbt_wire_write_bitfield (out, bits, 2);
  gbt_wire_write_simple (out, GBT_MSG_UNCHOKE);
  gbt_wire_write_port (out, 7000);
  remote_send_array (f, out);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpuint (f->events->len, ==, 6);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_HANDSHAKE);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_READY);
  g_assert_cmpint (nth_event (f, 2)->type, ==, EV_EXTENDED);
  g_assert_cmpint (nth_event (f, 3)->type, ==, EV_BITFIELD);
  g_assert_cmpint (nth_event (f, 4)->type, ==, EV_CHOKE);
  g_assert_cmpint (nth_event (f, 5)->type, ==, EV_DHT_PORT);
  g_assert_cmpuint (nth_event (f, 5)->port, ==, 7000);
  g_assert_cmpstr (gbt_peer_get_client (f->peer), ==, "abc");
  g_assert_true (gbt_bitfield_get (gbt_peer_get_has (f->peer), 1));
}

static void
test_handshake_wrong_hash (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  write_remote_handshake (out, R_ALL, (const guint8 *) "another info-hash!!!");
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH);
  /* the owner never heard of it as a handshake */
  g_assert_cmpuint (count_events (f, EV_HANDSHAKE), ==, 0);
  g_assert_cmpuint (count_events (f, EV_READY), ==, 0);
}

/* the first byte (pstrlen) is not 19: refused at once, without waiting
 * for 68 bytes */
static void
test_handshake_not_bittorrent (Fixture *f, gconstpointer data)
{
  remote_send (f, (const guint8 *) "GET / HTTP/1.1\r\n", 16);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE);
  g_assert_cmpuint (count_events (f, EV_HANDSHAKE), ==, 0);
}

/* pstrlen 19 but another protocol string */
static void
test_handshake_bad_pstr (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  write_remote_handshake (out, R_ALL, info_hash);
  out->data[1] = 'X';
  remote_send (f, out->data, GBT_HANDSHAKE_LEN - 1);
  g_assert_cmpuint (f->n_closed, ==, 0); /* waits for all 68 bytes */
  remote_send (f, out->data + GBT_HANDSHAKE_LEN - 1, 1);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE);
}

/* The outgoing owner's handshake event refuses with its own error. */
static void
test_handshake_refused_outgoing (Fixture *f, gconstpointer data)
{
  f->refuse = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "banned");
  remote_handshake (f, R_ALL);
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_HANDSHAKE);
  g_assert_cmpuint (f->events->len, ==, 2); /* no ready */
}

/* An incoming peer adopted from inside the handshake event: the exchange
 * continues in the order BEP 6 and libtorrent use.  The setup varies what
 * we have, the remote's bits and our DHT port. */
static void
test_handshake_incoming (Fixture *f, gconstpointer data)
{
  const Setup *s = f->setup;
  gboolean fast = (s->remote & R_FAST) != 0;
  GbtHandshake hs;
  GbtWireMsg msg;

  g_assert_true (gbt_peer_is_incoming (f->peer));
  /* nothing goes out before the remote's handshake */
  remote_expect_nothing (f);
  g_assert_cmpuint (f->events->len, ==, 0);

  remote_handshake (f, s->remote);
  gbt_test_wait_until (count_events (f, EV_READY) == 1 || f->n_closed, WAIT_MS);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpuint (f->events->len, ==, 2);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_HANDSHAKE);
  /* the remote id was known inside the handshake event */
  g_assert_cmpmem (f->remote_id_at_handshake, 20, remote_id, 20);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_READY);
  g_assert_cmpint (gbt_peer_is_fast (f->peer), ==, fast);
  g_assert_true (gbt_peer_get_torrent (f->peer) == (GbtTorrent *) &f->fake_torrent);

  remote_expect_handshake (f, &hs);
  check_our_handshake (f, &hs);

  /* our piece set */
  switch (s->have)
    {
    case HAVE_MAGNET:
    case HAVE_NONE:
      if (fast)
        remote_expect (f, &msg, GBT_MSG_HAVE_NONE);
      break;
    case HAVE_ALL:
      if (fast)
        {
          remote_expect (f, &msg, GBT_MSG_HAVE_ALL);
          break;
        }
      G_GNUC_FALLTHROUGH;
    case HAVE_SOME:
      remote_expect (f, &msg, GBT_MSG_BITFIELD);
      g_assert_cmpmem (msg.payload, msg.payload_len, f->have.bits,
                       gbt_bitfield_byte_len (N_PIECES));
      break;
    }
  /* our extension handshake when both speak BEP 10 */
  if ((s->remote & R_LTEP) && !s->no_ext_handshake)
    {
      remote_expect (f, &msg, GBT_MSG_EXTENDED);
      g_assert_cmpuint (msg.ext_id, ==, 0);
      g_assert_cmpmem (msg.payload, msg.payload_len, OUR_EXT_HS, strlen (OUR_EXT_HS));
    }
  /* PORT when both run a DHT node */
  if ((s->remote & R_DHT) && s->dht_port)
    {
      remote_expect (f, &msg, GBT_MSG_PORT);
      g_assert_cmpuint (msg.port, ==, s->dht_port);
    }
  remote_expect_nothing (f);
  g_assert_cmpuint (f->n_closed, ==, 0);
  /* the adopted peer reports to its owner now */
  remote_send_simple (f, GBT_MSG_INTERESTED);
  g_assert_cmpint (only_event_since (f, 2, EV_INTEREST)->flag, ==, TRUE);
}

static const Setup incoming_cases[] = {
  { "/peer/handshake/incoming/some-fast-ltep-dht", TRUE, HAVE_SOME, 6881, FALSE, R_ALL },
  { "/peer/handshake/incoming/some-plain", TRUE, HAVE_SOME, 6881, FALSE, 0 },
  { "/peer/handshake/incoming/all-fast", TRUE, HAVE_ALL, 0, FALSE, R_FAST | R_DHT },
  { "/peer/handshake/incoming/all-plain", TRUE, HAVE_ALL, 0, FALSE, R_LTEP },
  { "/peer/handshake/incoming/none-fast", TRUE, HAVE_NONE, 0, FALSE, R_FAST | R_LTEP },
  { "/peer/handshake/incoming/none-plain", TRUE, HAVE_NONE, 6881, FALSE, R_LTEP | R_DHT },
  { "/peer/handshake/incoming/magnet-fast", TRUE, HAVE_MAGNET, 6881, FALSE, R_FAST | R_DHT },
  { "/peer/handshake/incoming/magnet-plain", TRUE, HAVE_MAGNET, 0, FALSE, R_LTEP },
  { "/peer/handshake/incoming/no-ext-handshake", TRUE, HAVE_SOME, 0, TRUE, R_ALL },
};

/* the listener's handshake event refuses: that error, and nothing sent */
static void
test_handshake_incoming_refused (Fixture *f, gconstpointer data)
{
  f->refuse = g_error_new_literal (GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                                   "no such torrent");
  remote_handshake (f, R_ALL);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH);
  g_clear_error (&f->refuse);
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

static void
test_handshake_incoming_refused_custom (Fixture *f, gconstpointer data)
{
  f->refuse = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY, "too many peers");
  remote_handshake (f, R_ALL);
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_BUSY);
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

/* FALSE without an error: the torrent is not ours */
static void
test_handshake_incoming_refused_silently (Fixture *f, gconstpointer data)
{
  f->refuse_without_error = TRUE;
  remote_handshake (f, R_ALL);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH);
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

/* TRUE without calling gbt_peer_set_owner: nobody took it */
static void
test_handshake_incoming_unowned (Fixture *f, gconstpointer data)
{
  f->accept_without_owner = TRUE;
  remote_handshake (f, R_ALL);
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

/* no events table at all: an incoming peer is refused, without a crash */
static void
test_handshake_incoming_no_events (Fixture *f, gconstpointer data)
{
  gbt_peer_start (f->peer, NULL, NULL, NULL);
  remote_handshake (f, R_ALL);
  gbt_test_wait_until (gbt_peer_is_closed (f->peer), WAIT_MS);
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
  g_assert_cmpuint (f->events->len, ==, 0);
}

/* a remote that says nothing within 20 s */
static void
test_tick_handshake_timeout (Fixture *f, gconstpointer data)
{
  gint64 base = g_get_monotonic_time ();

  gbt_peer_tick (f->peer, base + S (19));
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 0);
  gbt_peer_tick (f->peer, base + S (21));
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  /* a closed peer's tick does nothing */
  gbt_peer_tick (f->peer, base + S (500));
  g_assert_cmpuint (f->n_closed, ==, 1);
}

/* ---- messages ---- */

static void
test_msg_choke (Fixture *f, gconstpointer data)
{
  guint mark;

  remote_connect (f);
  g_assert_true (gbt_peer_is_choking (f->peer));
  /* choked already: no change, no event */
  remote_send_simple (f, GBT_MSG_CHOKE);
  g_assert_cmpuint (f->events->len, ==, 0);
  remote_send_simple (f, GBT_MSG_UNCHOKE);
  g_assert_false (only_event_since (f, 0, EV_CHOKE)->flag);
  g_assert_false (gbt_peer_is_choking (f->peer));
  remote_send_simple (f, GBT_MSG_UNCHOKE);
  g_assert_cmpuint (f->events->len, ==, 1);
  mark = f->events->len;
  remote_send_simple (f, GBT_MSG_CHOKE);
  g_assert_true (only_event_since (f, mark, EV_CHOKE)->flag);
  g_assert_true (gbt_peer_is_choking (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_interested (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  remote_send_simple (f, GBT_MSG_NOT_INTERESTED);
  g_assert_cmpuint (f->events->len, ==, 0);
  remote_send_simple (f, GBT_MSG_INTERESTED);
  g_assert_true (only_event_since (f, 0, EV_INTEREST)->flag);
  g_assert_true (gbt_peer_is_interested (f->peer));
  remote_send_simple (f, GBT_MSG_INTERESTED);
  g_assert_cmpuint (f->events->len, ==, 1);
  remote_send_simple (f, GBT_MSG_NOT_INTERESTED);
  g_assert_false (only_event_since (f, 1, EV_INTEREST)->flag);
  g_assert_false (gbt_peer_is_interested (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_have (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const GbtBitfield *has;

  remote_connect (f);
  gbt_wire_write_have (out, 3);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 0, EV_HAVE)->piece, ==, 3);
  /* a repeat: no event */
  gbt_wire_write_have (out, 3);
  remote_send_array (f, out);
  g_assert_cmpuint (f->events->len, ==, 1);
  gbt_wire_write_have (out, N_PIECES - 1);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 1, EV_HAVE)->piece, ==, N_PIECES - 1);
  has = gbt_peer_get_has (f->peer);
  g_assert_cmpuint (has->n_set, ==, 2);
  g_assert_true (gbt_bitfield_get (has, 3));
  g_assert_true (gbt_bitfield_get (has, N_PIECES - 1));
  g_assert_false (gbt_peer_is_seed (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* a bitfield: the event has the old set (empty) and the new; a later one
 * (aria2 sends them) replaces the set, the old one in the event */
static void
test_msg_bitfield (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 first[2] = { 0xa0, 0x40 }; /* 0, 2, 9 */
  const guint8 second[2] = { 0x50, 0x00 }; /* 1, 3 */
  const guint8 after_have[2] = { 0xa8, 0x40 }; /* 0, 2, 4, 9 */
  Event *e;

  remote_connect (f);
  gbt_wire_write_bitfield (out, first, 2);
  remote_send_array (f, out);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->old_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->old_n_set, ==, 0);
  g_assert_cmpuint (e->new_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->new_n_set, ==, 3);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), g_bytes_get_size (e->bytes), first, 2);
  g_assert_cmpmem (gbt_peer_get_has (f->peer)->bits, 2, first, 2);

  gbt_wire_write_have (out, 4);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 1, EV_HAVE)->piece, ==, 4);

  gbt_wire_write_bitfield (out, second, 2);
  remote_send_array (f, out);
  e = only_event_since (f, 2, EV_BITFIELD);
  g_assert_cmpuint (e->old_n_set, ==, 4);
  g_assert_cmpmem (g_bytes_get_data (e->old_bits, NULL), g_bytes_get_size (e->old_bits),
                   after_have, 2);
  g_assert_cmpuint (e->new_n_set, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), g_bytes_get_size (e->bytes), second, 2);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_set, ==, 2);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_have_all (Fixture *f, gconstpointer data)
{
  Event *e;

  remote_connect (f);
  remote_send_simple (f, GBT_MSG_HAVE_ALL);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->old_n_set, ==, 0);
  g_assert_cmpuint (e->new_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->new_n_set, ==, N_PIECES);
  g_assert_true (gbt_peer_is_seed (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_have_none (Fixture *f, gconstpointer data)
{
  Event *e;

  remote_connect (f);
  remote_send_simple (f, GBT_MSG_HAVE_NONE);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->new_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->new_n_set, ==, 0);
  g_assert_false (gbt_peer_is_seed (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* extension messages and keep-alives do not count as the first message */
static void
test_msg_have_all_after_extended (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_keepalive (out);
  gbt_wire_write_extended (out, 0, (const guint8 *) "de", 2);
  gbt_wire_write_simple (out, GBT_MSG_HAVE_ALL);
  remote_send_array (f, out);
  g_assert_cmpuint (f->events->len, ==, 2);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_EXTENDED);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_BITFIELD);
  g_assert_true (gbt_peer_is_seed (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* have-all / have-none from a peer without the fast bit */
static void
check_not_fast (Fixture *f, GbtMsgId id)
{
  remote_connect (f);
  g_assert_false (gbt_peer_is_fast (f->peer));
  remote_send_simple (f, id);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 0);
}

static void
test_msg_have_all_not_fast (Fixture *f, gconstpointer data)
{
  check_not_fast (f, GBT_MSG_HAVE_ALL);
}

static void
test_msg_have_none_not_fast (Fixture *f, gconstpointer data)
{
  check_not_fast (f, GBT_MSG_HAVE_NONE);
}

static void assert_open (Fixture *f);

/* have-none after the first message */
static void
check_late (Fixture *f, GbtMsgId id)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_simple (out, GBT_MSG_INTERESTED);
  gbt_wire_write_simple (out, id);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_INTEREST), ==, 1);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 0);
}

/* aria2 sends HAVE_ALL when it completes: its new piece set */
static void
test_msg_have_all_late (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  Event *e;

  remote_connect (f);
  gbt_wire_write_simple (out, GBT_MSG_INTERESTED);
  gbt_wire_write_simple (out, GBT_MSG_HAVE_ALL);
  remote_send_array (f, out);
  e = nth_event (f, 1);
  g_assert_cmpint (e->type, ==, EV_BITFIELD);
  g_assert_cmpuint (e->new_n_set, ==, N_PIECES);
  g_assert_true (gbt_peer_is_seed (f->peer));
  assert_open (f);
}

static void
test_msg_have_none_late (Fixture *f, gconstpointer data)
{
  check_late (f, GBT_MSG_HAVE_NONE);
}

static void
test_msg_request_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  Event *e;

  remote_connect (f);
  gbt_wire_write_request (out, GBT_MSG_REQUEST, 2, 16384, 16384);
  remote_send_array (f, out);
  e = only_event_since (f, 0, EV_REQUEST);
  g_assert_cmpuint (e->block.piece, ==, 2);
  g_assert_cmpuint (e->block.begin, ==, 16384);
  g_assert_cmpuint (e->block.length, ==, 16384);
  /* the last piece's last bytes */
  gbt_wire_write_request (out, GBT_MSG_CANCEL, N_PIECES - 1, 10000 - 1000, 1000);
  remote_send_array (f, out);
  e = only_event_since (f, 1, EV_CANCEL);
  g_assert_cmpuint (e->block.piece, ==, N_PIECES - 1);
  g_assert_cmpuint (e->block.begin, ==, 9000);
  g_assert_cmpuint (e->block.length, ==, 1000);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_piece (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 block[16384];
  Event *e;
  gint64 base = g_get_monotonic_time ();

  for (gsize i = 0; i < sizeof block; i++)
    block[i] = (guint8) (i * 7 + 1);
  remote_connect (f);
  g_assert_cmpuint (gbt_peer_get_downloaded (f->peer), ==, 0);
  gbt_wire_write_piece_header (out, 5, 32768, sizeof block);
  g_byte_array_append (out, block, sizeof block);
  remote_send_array (f, out);
  e = only_event_since (f, 0, EV_BLOCK);
  g_assert_cmpuint (e->block.piece, ==, 5);
  g_assert_cmpuint (e->block.begin, ==, 32768);
  g_assert_cmpuint (e->block.length, ==, sizeof block);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), g_bytes_get_size (e->bytes), block,
                   sizeof block);
  g_assert_cmpuint (gbt_peer_get_downloaded (f->peer), ==, sizeof block);

  /* unrequested, small, at the end of the torrent: reported all the same */
  gbt_wire_write_piece_header (out, N_PIECES - 1, 9990, 10);
  g_byte_array_append (out, block, 10);
  remote_send_array (f, out);
  e = only_event_since (f, 1, EV_BLOCK);
  g_assert_cmpuint (e->block.length, ==, 10);
  g_assert_cmpuint (gbt_peer_get_downloaded (f->peer), ==, sizeof block + 10);
  g_assert_cmpuint (gbt_peer_get_uploaded (f->peer), ==, 0);

  /* the rate: an exponential average per tick */
  g_assert_cmpfloat (gbt_peer_get_rate_down (f->peer), ==, 0.0);
  gbt_peer_tick (f->peer, base + S (1));
  g_assert_cmpfloat_with_epsilon (gbt_peer_get_rate_down (f->peer), 0.4 * (sizeof block + 10),
                                  1e-6);
  gbt_peer_tick (f->peer, base + S (2));
  g_assert_cmpfloat_with_epsilon (gbt_peer_get_rate_down (f->peer),
                                  0.6 * 0.4 * (sizeof block + 10), 1e-6);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_reject (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  Event *e;

  remote_connect (f);
  gbt_wire_write_request (out, GBT_MSG_REJECT, 1, 0, 16384);
  remote_send_array (f, out);
  e = only_event_since (f, 0, EV_REJECT);
  g_assert_cmpuint (e->block.piece, ==, 1);
  g_assert_cmpuint (e->block.begin, ==, 0);
  g_assert_cmpuint (e->block.length, ==, 16384);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_reject_not_fast (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_request (out, GBT_MSG_REJECT, 1, 0, 16384);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_REJECT), ==, 0);
}

static void
test_msg_port (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_port (out, 51413);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 0, EV_DHT_PORT)->port, ==, 51413);
  /* port 0 is no node */
  gbt_wire_write_port (out, 0);
  remote_send_array (f, out);
  g_assert_cmpuint (f->events->len, ==, 1);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

#define REMOTE_EXT_HS "d1:md11:ut_metadatai3e6:ut_pexi2ee4:reqqi250e1:v12:Remote 1.2.3e"

static void
test_msg_extended (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) payload = g_bytes_new_static ("d8:msg_typei0e5:piecei0ee", 25);
  GbtWireMsg msg;
  Event *e;

  remote_connect (f);
  /* before their handshake we know no name */
  g_assert_null (gbt_peer_get_client (f->peer));
  g_assert_cmpuint (gbt_peer_get_remote_reqq (f->peer), ==, 0);
  g_assert_false (gbt_peer_send_extended (f->peer, "ut_metadata", payload));

  gbt_wire_write_extended (out, 0, (const guint8 *) REMOTE_EXT_HS, strlen (REMOTE_EXT_HS));
  remote_send_array (f, out);
  e = only_event_since (f, 0, EV_EXTENDED);
  g_assert_cmpuint (e->ext_id, ==, 0);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), g_bytes_get_size (e->bytes), REMOTE_EXT_HS,
                   strlen (REMOTE_EXT_HS));
  g_assert_cmpstr (gbt_peer_get_client (f->peer), ==, "Remote 1.2.3");
  g_assert_cmpuint (gbt_peer_get_remote_reqq (f->peer), ==, 250);

  /* their ids for the names in their "m" */
  remote_expect_nothing (f);
  g_assert_true (gbt_peer_send_extended (f->peer, "ut_metadata", payload));
  remote_expect (f, &msg, GBT_MSG_EXTENDED);
  g_assert_cmpuint (msg.ext_id, ==, 3);
  g_assert_cmpmem (msg.payload, msg.payload_len, g_bytes_get_data (payload, NULL), 25);
  g_assert_true (gbt_peer_send_extended (f->peer, "ut_pex", payload));
  remote_expect (f, &msg, GBT_MSG_EXTENDED);
  g_assert_cmpuint (msg.ext_id, ==, 2);
  /* a name they did not give: FALSE, nothing sent */
  g_assert_false (gbt_peer_send_extended (f->peer, "lt_donthave", payload));
  remote_expect_nothing (f);

  /* a message under our id for an extension: handed on as it is */
  gbt_wire_write_extended (out, 1, g_bytes_get_data (payload, NULL), 25);
  remote_send_array (f, out);
  e = only_event_since (f, 1, EV_EXTENDED);
  g_assert_cmpuint (e->ext_id, ==, 1);
  g_assert_true (g_bytes_equal (e->bytes, payload));

  /* a later handshake updates: ut_pex removed, the client name kept */
  gbt_wire_write_extended (out, 0, (const guint8 *) "d1:md6:ut_pexi0eee", 18);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 2, EV_EXTENDED)->ext_id, ==, 0);
  g_assert_false (gbt_peer_send_extended (f->peer, "ut_pex", payload));
  g_assert_true (gbt_peer_send_extended (f->peer, "ut_metadata", payload));
  g_assert_cmpstr (gbt_peer_get_client (f->peer), ==, "Remote 1.2.3");
  remote_expect (f, &msg, GBT_MSG_EXTENDED);
  g_assert_cmpuint (msg.ext_id, ==, 3);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

static void
test_msg_extended_not_ltep (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GBytes) payload = g_bytes_new_static ("de", 2);

  remote_connect (f);
  /* our extension handshake did not go out either: see remote_connect */
  g_assert_false (gbt_peer_send_extended (f->peer, "ut_metadata", payload));
  gbt_wire_write_extended (out, 0, (const guint8 *) REMOTE_EXT_HS, strlen (REMOTE_EXT_HS));
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), ==, 0);
  g_assert_null (gbt_peer_get_client (f->peer));
}

static void
test_msg_extended_malformed (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_extended (out, 0, (const guint8 *) "d1:md6:ut_pexi2e", 16); /* truncated */
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), ==, 0);
}

static void
test_msg_extended_not_dict (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_extended (out, 0, (const guint8 *) "li1ei2ee", 8);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), ==, 0);
}

/* unknown ids and the advisory BEP 6 hints are ignored */
static void
test_msg_unknown_ignored (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 junk[] = { 1, 2, 3, 4, 5, 6, 7 };

  remote_connect (f);
  raw_msg (out, 1 + sizeof junk, 42, junk, sizeof junk);
  raw_msg (out, 1, 200, NULL, 0);
  gbt_wire_write_suggest (out, 2);
  gbt_wire_write_allowed_fast (out, 3);
  remote_send_array (f, out);
  remote_send_simple (f, GBT_MSG_INTERESTED);
  only_event_since (f, 0, EV_INTEREST);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_ACTIVE);
}

static void
test_msg_keepalive (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (int i = 0; i < 3; i++)
    gbt_wire_write_keepalive (out);
  remote_send_array (f, out);
  g_assert_cmpuint (f->events->len, ==, 0);
  /* keep-alives are no first message: a bitfield still may come */
  remote_send_simple (f, GBT_MSG_HAVE_NONE);
  only_event_since (f, 0, EV_BITFIELD);
  remote_send_simple (f, GBT_MSG_UNCHOKE);
  only_event_since (f, 1, EV_CHOKE);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* several messages in one read, and one split over many */
static void
test_msg_batched (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 block[100] = { 0 };

  remote_connect (f);
  gbt_wire_write_simple (out, GBT_MSG_HAVE_NONE);
  gbt_wire_write_have (out, 1);
  gbt_wire_write_simple (out, GBT_MSG_UNCHOKE);
  gbt_wire_write_piece_header (out, 1, 0, sizeof block);
  g_byte_array_append (out, block, sizeof block);
  for (guint i = 0; i < out->len; i += 7)
    remote_send (f, out->data + i, MIN (7, out->len - i));
  g_assert_cmpuint (f->events->len, ==, 4);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_BITFIELD);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_HAVE);
  g_assert_cmpint (nth_event (f, 2)->type, ==, EV_CHOKE);
  g_assert_cmpint (nth_event (f, 3)->type, ==, EV_BLOCK);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* ---- malformed messages: closed with the parser's code ---- */

typedef struct {
  const char *name;
  int code;
  guint32 prefix; /* 0: 1 + payload length */
  guint8 id;
  guint8 payload[20];
  gsize len;
} Malformed;

static const Malformed malformed_cases[] = {
  { "too-long", GBT_PEER_WIRE_ERROR_TOO_LONG, MAX_MSG + 1, GBT_MSG_PIECE, { 0 }, 0 },
  { "too-long-huge", GBT_PEER_WIRE_ERROR_TOO_LONG, 0xffffffffu, GBT_MSG_BITFIELD, { 0 }, 0 },
  { "choke-with-payload", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_CHOKE, { 0 }, 1 },
  { "have-none-with-payload", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_HAVE_NONE, { 0 }, 2 },
  { "have-short", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_HAVE, { 0 }, 3 },
  { "request-short", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_REQUEST, { 0 }, 11 },
  { "cancel-long", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_CANCEL, { 0 }, 13 },
  { "piece-short", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_PIECE, { 0 }, 7 },
  { "port-long", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_PORT, { 0x1a, 0xe1, 0 }, 3 },
  { "extended-empty", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_EXTENDED, { 0 }, 0 },
  { "have-out-of-range", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_HAVE, { 0, 0, 0, 10 }, 4 },
  { "bitfield-short", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_BITFIELD, { 0xff }, 1 },
  { "bitfield-long", GBT_PEER_WIRE_ERROR_BAD_LENGTH, 0, GBT_MSG_BITFIELD, { 0xff, 0xc0, 0 }, 3 },
  { "bitfield-spare-bits", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_BITFIELD, { 0xff, 0xe0 }, 2 },
  /* piece 10 of 10 */
  { "request-piece-out-of-range", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_REQUEST,
    { 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0x40, 0 }, 12 },
  /* 16 KiB at 0 of the last piece, which has 10000 bytes */
  { "request-beyond-end", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_REQUEST,
    { 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0x40, 0 }, 12 },
  /* 16 KiB at 56 KiB of a 64 KiB piece */
  { "request-beyond-piece", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_REQUEST,
    { 0, 0, 0, 1, 0, 0, 0xe0, 0, 0, 0, 0x40, 0 }, 12 },
  { "request-zero-length", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_REQUEST,
    { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
  { "cancel-beyond-end", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_CANCEL,
    { 0, 0, 0, 9, 0, 0, 0x27, 0x10, 0, 0, 0, 1 }, 12 },
  { "reject-out-of-range", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_REJECT,
    { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x40, 0 }, 12 },
  { "piece-beyond-end", GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, 0, GBT_MSG_PIECE,
    { 0, 0, 0, 9, 0, 0, 0x27, 0x0f, 1, 2 }, 10 },
};

static Setup malformed_setups[G_N_ELEMENTS (malformed_cases)];

static void
test_malformed (Fixture *f, gconstpointer data)
{
  const Malformed *m = f->setup->extra;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  GbtWireMsg msg;

  raw_msg (out, m->prefix ? m->prefix : 1 + (guint32) m->len, m->id, m->payload, m->len);
  /* what the parser says of these bytes, with these limits */
  g_assert_cmpint (gbt_wire_parse (out->data, out->len, &f->limits, &msg, &error), ==, -1);
  g_assert_error (error, GBT_PEER_WIRE_ERROR, m->code);

  remote_connect (f);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, m->code);
  g_assert_cmpuint (f->events->len, ==, 1); /* the closed event alone */
  remote_expect_eof (f);
}

/* ---- closing ---- */

static void
test_close_remote_eof (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  close (f->to_peer[1]);
  f->to_peer[1] = -1;
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpuint (f->events->len, ==, 1);
  remote_expect_eof (f);
}

/* the remote hangs up half-way through its handshake */
static void
test_close_remote_eof_handshake (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  write_remote_handshake (out, R_ALL, info_hash);
  remote_send (f, out->data, 30);
  close (f->to_peer[1]);
  f->to_peer[1] = -1;
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpuint (f->events->len, ==, 1);
}

/* the owner closes from inside an event, with more messages in the same
 * read: nothing is reported after the close, which comes once */
static void
test_close_from_event (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  Event *e;

  remote_connect (f);
  f->close_in = EV_HAVE;
  f->close_in_closed = TRUE;
  gbt_wire_write_simple (out, GBT_MSG_UNCHOKE);
  gbt_wire_write_have (out, 2);
  gbt_wire_write_have (out, 3);
  gbt_wire_write_simple (out, GBT_MSG_INTERESTED);
  remote_send_array (f, out);
  gbt_test_wait_until (f->n_closed > 0, WAIT_MS);
  g_assert_cmpuint (f->events->len, ==, 3);
  g_assert_cmpint (nth_event (f, 0)->type, ==, EV_CHOKE);
  g_assert_cmpint (nth_event (f, 1)->type, ==, EV_HAVE);
  e = nth_event (f, 2);
  g_assert_cmpint (e->type, ==, EV_CLOSED);
  g_assert_false (e->has_reason); /* a plain close */
  g_assert_false (gbt_peer_is_interested (f->peer));
  /* again, from outside: nothing */
  gbt_peer_close (f->peer, NULL);
  remote_expect_eof (f);
  g_assert_cmpuint (f->n_closed, ==, 1);
  /* senders on a closed peer send nothing and do not crash */
  gbt_peer_send_have (f->peer, 1);
  gbt_peer_set_interested (f->peer, TRUE);
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 1);
}

/* closing from the handshake and ready events */
static void
test_close_from_handshake_event (Fixture *f, gconstpointer data)
{
  f->close_in = EV_HANDSHAKE;
  remote_handshake (f, R_ALL);
  gbt_test_wait_until (f->n_closed > 0, WAIT_MS);
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_cmpuint (count_events (f, EV_READY), ==, 0);
  g_assert_false (nth_event (f, f->events->len - 1)->has_reason);
}

static void
test_close_from_ready_event (Fixture *f, gconstpointer data)
{
  GbtHandshake hs;

  f->close_in = EV_READY;
  remote_expect_handshake (f, &hs);
  remote_handshake (f, R_ALL);
  gbt_test_wait_until (f->n_closed > 0, WAIT_MS);
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_cmpuint (f->events->len, ==, 3); /* handshake, ready, closed */
  /* what was queued after our handshake never goes out */
  remote_expect_eof (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
}

/* the owner drops its last reference inside the closed event, while the
 * peer is reading (ASan checks the rest) */
static void
test_close_unref_in_closed (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  f->unref_in_closed = TRUE;
  gbt_wire_write_have (out, 1);
  raw_msg (out, 1, GBT_MSG_HAVE, NULL, 0); /* bad length */
  gbt_wire_write_have (out, 2);
  remote_send_array (f, out);
  gbt_test_wait_until (f->n_closed > 0, WAIT_MS);
  g_assert_null (f->peer);
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_cmpuint (count_events (f, EV_HAVE), ==, 1);
  remote_expect_eof (f);
}

/* gbt_peer_disconnect (for plugins): a protocol error */
static void
test_close_disconnect (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  gbt_peer_disconnect (f->peer, "an extension did not like it");
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  remote_expect_eof (f);
}

static guint destroyed;

static void
count_destroy (gpointer data)
{
  g_assert_cmpstr (data, ==, "plugin state");
  destroyed++;
}

/* plugins' data goes with the connection: destroyed once the closed event
 * ran (it still sees it), and when replaced */
static void
test_close_data_destroyed (Fixture *f, gconstpointer data)
{
  destroyed = 0;
  remote_connect (f);
  gbt_peer_set_data (f->peer, "key", "plugin state", count_destroy);
  gbt_peer_set_data (f->peer, "key", "plugin state", count_destroy);
  g_assert_cmpuint (destroyed, ==, 1);
  g_assert_cmpstr (gbt_peer_get_data (f->peer, "key"), ==, "plugin state");
  gbt_peer_set_data (f->peer, "other", "plugin state", count_destroy);
  g_assert_cmpuint (destroyed, ==, 1);

  close (f->to_peer[1]);
  f->to_peer[1] = -1;
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_true (f->data_seen_in_closed);
  g_assert_cmpuint (destroyed, ==, 3);
  g_assert_null (gbt_peer_get_data (f->peer, "key"));
  /* the peer still exists (we hold it): its data is gone already */
  g_clear_pointer (&f->peer, gbt_peer_unref);
  g_assert_cmpuint (destroyed, ==, 3);
}

/* set on a peer that never closes: destroyed with its last reference */
static void
test_close_data_destroyed_on_unref (Fixture *f, gconstpointer data)
{
  destroyed = 0;
  gbt_peer_set_data (f->peer, "key", "plugin state", count_destroy);
  g_clear_pointer (&f->peer, gbt_peer_unref);
  g_assert_cmpuint (destroyed, ==, 1);
  /* an unreferenced peer reports nothing */
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* ---- senders ---- */

static void
test_send_messages (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) want = g_byte_array_new ();
  g_autoptr(GBytes) block = g_bytes_new_static ("0123456789abcdef", 16);
  GbtBlock b = { 7, 16384, 16384 };

  remote_connect (f);

  gbt_peer_send_have (f->peer, 4);
  gbt_wire_write_have (want, 4);
  gbt_peer_send_request (f->peer, &b);
  gbt_wire_write_request (want, GBT_MSG_REQUEST, 7, 16384, 16384);
  gbt_peer_send_cancel (f->peer, &b);
  gbt_wire_write_request (want, GBT_MSG_CANCEL, 7, 16384, 16384);
  gbt_peer_send_reject (f->peer, &b);
  gbt_wire_write_request (want, GBT_MSG_REJECT, 7, 16384, 16384);
  gbt_peer_send_piece (f->peer, 2, 32, block);
  gbt_wire_write_piece_header (want, 2, 32, 16);
  g_byte_array_append (want, (const guint8 *) "0123456789abcdef", 16);
  g_assert_cmpuint (gbt_peer_get_uploaded (f->peer), ==, 16);

  /* choking and interest: a message on a change only */
  gbt_peer_set_choking (f->peer, TRUE);
  gbt_peer_set_interested (f->peer, FALSE);
  gbt_peer_set_choking (f->peer, FALSE);
  gbt_wire_write_simple (want, GBT_MSG_UNCHOKE);
  gbt_peer_set_choking (f->peer, FALSE);
  g_assert_false (gbt_peer_am_choking (f->peer));
  gbt_peer_set_interested (f->peer, TRUE);
  gbt_wire_write_simple (want, GBT_MSG_INTERESTED);
  gbt_peer_set_interested (f->peer, TRUE);
  g_assert_true (gbt_peer_am_interested (f->peer));
  gbt_peer_set_interested (f->peer, FALSE);
  gbt_wire_write_simple (want, GBT_MSG_NOT_INTERESTED);
  gbt_peer_set_choking (f->peer, TRUE);
  gbt_wire_write_simple (want, GBT_MSG_CHOKE);
  g_assert_true (gbt_peer_am_choking (f->peer));
  g_assert_false (gbt_peer_am_interested (f->peer));

  /* buffered until the loop runs, then sent in one go */
  g_assert_cmpuint (gbt_peer_get_send_backlog (f->peer), ==, want->len);
  remote_read (f);
  g_assert_cmpuint (rx_avail (f), ==, 0);
  remote_expect_bytes (f, want);
  remote_expect_nothing (f);
  g_assert_cmpuint (gbt_peer_get_send_backlog (f->peer), ==, 0);
  /* the emptied buffer is reported */
  g_assert_cmpuint (f->n_drained, >=, 1);
  /* the upload rate */
  gbt_peer_tick (f->peer, g_get_monotonic_time ());
  g_assert_cmpfloat_with_epsilon (gbt_peer_get_rate_up (f->peer), 0.4 * 16, 1e-6);
  g_assert_cmpuint (f->events->len, ==, 0);
}

/* a piece bigger than a pipe holds: the rest goes out as the remote reads */
static void
test_send_backlog (Fixture *f, gconstpointer data)
{
  gsize len = GBT_WIRE_MAX_BLOCK_LEN; /* twice what a pipe holds */
  g_autofree guint8 *big = g_malloc (len);
  g_autoptr(GBytes) bytes = NULL;
  GbtWireMsg msg;

  for (gsize i = 0; i < len; i++)
    big[i] = (guint8) (i % 251);
  bytes = g_bytes_new_take (g_steal_pointer (&big), len);
  remote_connect (f);
  gbt_peer_send_piece (f->peer, 0, 0, bytes);
  settle ();
  /* the pipe took part of it */
  g_assert_cmpuint (gbt_peer_get_send_backlog (f->peer), >, 0);
  g_assert_cmpuint (f->n_drained, ==, 0);
  remote_expect (f, &msg, GBT_MSG_PIECE);
  g_assert_cmpuint (msg.payload_len, ==, len);
  g_assert_true (memcmp (msg.payload, g_bytes_get_data (bytes, NULL), len) == 0);
  gbt_test_wait_until (f->n_drained > 0, WAIT_MS);
  g_assert_cmpuint (gbt_peer_get_send_backlog (f->peer), ==, 0);
}

/* ---- magnet mode: the piece set waits for the metadata ---- */

static void
magnet_arrive (Fixture *f)
{
  fill_have (f, HAVE_SOME);
  gbt_peer_metadata_arrived (f->peer);
}

static void
test_magnet_early_bitfield (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 bits[2] = { 0x80, 0x40 }; /* 0, 9 */
  const guint8 union_bits[2] = { 0x94, 0x40 }; /* 0, 3, 5, 9 */
  Event *e;

  remote_connect (f);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_bits, ==, 0);
  gbt_wire_write_bitfield (out, bits, 2);
  gbt_wire_write_have (out, 3);
  gbt_wire_write_have (out, 5);
  gbt_wire_write_have (out, 3);
  remote_send_array (f, out);
  /* kept aside: no event, no set */
  g_assert_cmpuint (f->events->len, ==, 0);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_bits, ==, 0);
  g_assert_false (gbt_peer_is_seed (f->peer));

  magnet_arrive (f);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->old_n_set, ==, 0);
  g_assert_cmpuint (e->new_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->new_n_set, ==, 4);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), g_bytes_get_size (e->bytes), union_bits, 2);

  /* from now on HAVEs are reported (and checked against the count) */
  gbt_wire_write_have (out, 5);
  gbt_wire_write_have (out, 7);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 1, EV_HAVE)->piece, ==, 7);
  gbt_wire_write_have (out, N_PIECES);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
}

static void
test_magnet_early_have_all (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  Event *e;

  remote_connect (f);
  gbt_wire_write_simple (out, GBT_MSG_HAVE_ALL);
  gbt_wire_write_have (out, 2);
  remote_send_array (f, out);
  g_assert_cmpuint (f->events->len, ==, 0);
  magnet_arrive (f);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->new_n_set, ==, N_PIECES);
  g_assert_true (gbt_peer_is_seed (f->peer));
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* nothing announced: an empty set all the same */
static void
test_magnet_nothing_announced (Fixture *f, gconstpointer data)
{
  Event *e;

  remote_connect (f);
  magnet_arrive (f);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->new_n_bits, ==, N_PIECES);
  g_assert_cmpuint (e->new_n_set, ==, 0);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* a later bitfield replaces what was kept (HAVEs before it included) */
static void
test_magnet_bitfield_replaces (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 bits[2] = { 0x00, 0x40 }; /* 9 */
  Event *e;

  remote_connect (f);
  gbt_wire_write_have (out, 1);
  gbt_wire_write_bitfield (out, bits, 2);
  remote_send_array (f, out);
  magnet_arrive (f);
  e = only_event_since (f, 0, EV_BITFIELD);
  g_assert_cmpuint (e->new_n_set, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (e->bytes, NULL), 2, bits, 2);
}

static void
test_magnet_too_big_bitfield (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  gsize len = 128 * 1024 + 1;
  g_autofree guint8 *bits = g_malloc0 (len);

  remote_connect (f);
  /* the largest kept is fine */
  gbt_wire_write_bitfield (out, bits, len - 1);
  remote_send_array (f, out);
  g_assert_cmpuint (f->n_closed, ==, 0);
  gbt_wire_write_bitfield (out, bits, len);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 0);
}

static void
test_magnet_too_many_haves (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  /* 65536 are kept */
  for (guint32 i = 0; i < 65536; i++)
    gbt_wire_write_have (out, i);
  remote_send_array (f, out);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpuint (f->events->len, ==, 0);
  gbt_wire_write_have (out, 65536);
  remote_send_array (f, out);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
}

/* a HAVE beyond the piece count the metadata gives */
static void
test_magnet_have_beyond_count (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_have (out, 2);
  gbt_wire_write_have (out, N_PIECES);
  remote_send_array (f, out);
  g_assert_cmpuint (f->n_closed, ==, 0);
  magnet_arrive (f);
  /* closed inside gbt_peer_metadata_arrived */
  g_assert_cmpuint (f->n_closed, ==, 1);
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_PROTOCOL);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 0);
}

/* A kept bitfield that turns out to be of the wrong length, or with spare
 * bits set: the connection is dropped when the metadata arrives, with the
 * code the parser gives the same bytes once the piece count is known (as a
 * HAVE beyond the count is a GBT_PEER_WIRE_ERROR). */
static void
check_bad_early_bitfield (Fixture *f, gsize len)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) parsed = NULL;
  const guint8 bits[3] = { 0xff, 0xff, 0xff };
  GbtWireMsg msg;
  Event *e;

  remote_connect (f);
  gbt_wire_write_bitfield (out, bits, len);
  remote_send (f, out->data, out->len);
  g_assert_cmpuint (f->n_closed, ==, 0);
  magnet_arrive (f);
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 0);
  e = nth_event (f, f->events->len - 1);
  g_assert_cmpint (e->type, ==, EV_CLOSED);
  g_assert_true (e->has_reason);

  g_assert_cmpint (gbt_wire_parse (out->data, out->len, &f->limits, &msg, &parsed), ==, -1);
  g_assert_nonnull (parsed);
  g_assert_cmpstr (g_quark_to_string (e->domain), ==, g_quark_to_string (parsed->domain));
  g_assert_cmpint (e->code, ==, parsed->code);
}

static void
test_magnet_bad_early_bitfield_length (Fixture *f, gconstpointer data)
{
  check_bad_early_bitfield (f, 3);
}

static void
test_magnet_bad_early_bitfield_spare (Fixture *f, gconstpointer data)
{
  check_bad_early_bitfield (f, 2);
}

/* the metadata before the remote's handshake: nothing to apply yet, and
 * the handshake sizes the set */
static void
test_magnet_arrives_before_handshake (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  magnet_arrive (f);
  g_assert_cmpuint (f->events->len, ==, 0);
  remote_connect (f);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_bits, ==, N_PIECES);
  gbt_wire_write_have (out, 4);
  remote_send_array (f, out);
  g_assert_cmpuint (only_event_since (f, 0, EV_HAVE)->piece, ==, 4);
}

/* ---- gbt_peer_tick on a simulated clock ---- */

static void
test_tick_idle_timeout (Fixture *f, gconstpointer data)
{
  gint64 base;

  remote_connect (f);
  base = g_get_monotonic_time ();
  gbt_peer_tick (f->peer, base + S (149));
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 0);
  gbt_peer_tick (f->peer, base + S (151));
  assert_closed_with (f, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

static void
test_tick_keepalive (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) want = g_byte_array_new ();
  gint64 base;

  remote_connect (f);
  remote_expect_nothing (f);
  base = g_get_monotonic_time ();
  gbt_peer_tick (f->peer, base + S (89));
  remote_expect_nothing (f);
  gbt_peer_tick (f->peer, base + S (91));
  gbt_wire_write_keepalive (want);
  remote_expect_bytes (f, want);
  remote_expect_nothing (f);
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpuint (f->events->len, ==, 0);
}

/* no keep-alive while waiting for the handshake */
static void
test_tick_no_keepalive_in_handshake (Fixture *f, gconstpointer data)
{
  GbtHandshake hs;

  remote_expect_handshake (f, &hs);
  gbt_peer_tick (f->peer, g_get_monotonic_time () + S (19));
  remote_expect_nothing (f);
  g_assert_cmpuint (f->n_closed, ==, 0);
}

/* ---- flood budgets ----
 *
 * Each budget is a count per window on the peer's clock: a burst written
 * at once goes over it (the real clock barely moves meanwhile), and the
 * same kind of message at an honest rate stays under it.  The few tests
 * whose bursts take long to write, or that need hours of honest traffic,
 * run the peer on a clock the test moves (gbt_peer_set_clock). */

static gint64 fake_now_us;

static gint64
fake_clock (void)
{
  return fake_now_us;
}

static void
use_fake_clock (Fixture *f)
{
  fake_now_us = G_USEC_PER_SEC * 1000;
  gbt_peer_set_clock (f->peer, fake_clock);
}

static void
assert_flooded (Fixture *f)
{
  assert_closed_with (f, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_FLOOD);
}

static void
assert_open (Fixture *f)
{
  settle ();
  g_assert_cmpuint (f->n_closed, ==, 0);
  g_assert_cmpint (gbt_peer_get_state (f->peer), ==, GBT_PEER_STATE_ACTIVE);
}

/* @n copies of the message @one holds, sent at once */
static void
remote_send_repeated (Fixture *f, GByteArray *one, guint n)
{
  g_autoptr(GByteArray) out = g_byte_array_sized_new (one->len * n);

  for (guint i = 0; i < n; i++)
    g_byte_array_append (out, one->data, one->len);
  remote_send_array (f, out);
  g_byte_array_set_size (one, 0);
}

/* 5000 HAVEs of a piece it announced already */
static void
test_flood_dup_have (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_have (one, 3);
  remote_send_repeated (f, one, 5000);
  assert_flooded (f);
  /* the first was news, and the flood stopped at the budget */
  g_assert_cmpuint (count_events (f, EV_HAVE), ==, 1);
}

/* one HAVE per piece, a bitfield again (aria2), a few repeats after it */
static void
test_flood_honest_haves (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 bits[2] = { 0x80, 0x00 };

  remote_connect (f);
  gbt_wire_write_bitfield (out, bits, sizeof bits);
  remote_send_array (f, out);
  for (guint i = 1; i < N_PIECES; i++)
    gbt_wire_write_have (out, i);
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_HAVE), ==, N_PIECES - 1);
  bits[0] = 0xff;
  bits[1] = 0xc0;
  gbt_wire_write_bitfield (out, bits, sizeof bits);
  for (guint i = 0; i < N_PIECES; i++)
    gbt_wire_write_have (out, i);
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 2);
  assert_open (f);
}

static void
test_flood_bitfield (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();
  guint8 bits[2] = { 0xff, 0xc0 };

  remote_connect (f);
  gbt_wire_write_bitfield (one, bits, sizeof bits);
  remote_send_repeated (f, one, 50);
  assert_flooded (f);
  /* the first, then the budget of repeats */
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 1 + 10);
}

/* BEP 3 wants it first; aria2 sends a second one later: both are taken */
static void
test_flood_second_bitfield (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 bits[2] = { 0x80, 0x00 };

  remote_connect (f);
  gbt_wire_write_bitfield (out, bits, sizeof bits);
  remote_send_array (f, out);
  remote_send_simple (f, GBT_MSG_UNCHOKE);
  bits[0] = 0xc0;
  gbt_wire_write_bitfield (out, bits, sizeof bits);
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, 2);
  g_assert_cmpuint (gbt_peer_get_has (f->peer)->n_set, ==, 2);
  assert_open (f);
}

/* aria2: a bitfield instead of HAVEs for each few new pieces, then
 * HAVE_ALL: news, however many */
static void
test_flood_growing_bitfields (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 bits[2] = { 0, 0 };

  remote_connect (f);
  gbt_wire_write_simple (out, GBT_MSG_HAVE_NONE);
  for (guint i = 0; i < N_PIECES - 1; i++)
    {
      bits[i / 8] |= 0x80 >> (i % 8);
      gbt_wire_write_bitfield (out, bits, sizeof bits);
    }
  gbt_wire_write_simple (out, GBT_MSG_HAVE_ALL);
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_BITFIELD), ==, N_PIECES + 1);
  g_assert_true (gbt_peer_is_seed (f->peer));
  assert_open (f);
}

static void
test_flood_keepalive (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_keepalive (one);
  remote_send_repeated (f, one, 100000);
  assert_flooded (f);
}

/* a keep-alive every 90 s for two hours, and a burst of 30 at once */
static void
test_flood_honest_keepalives (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  use_fake_clock (f);
  for (guint i = 0; i < 80; i++)
    {
      gbt_wire_write_keepalive (one);
      remote_send_array (f, one);
      fake_now_us += S (90);
    }
  assert_open (f);
  gbt_wire_write_keepalive (one);
  remote_send_repeated (f, one, 30);
  assert_open (f);
}

/* many small extension messages */
static void
test_flood_extended_count (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_extended (one, 1, (const guint8 *) "de", 2);
  remote_send_repeated (f, one, 10000);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), <=, 4096);
}

/* fewer, bigger ones: the byte budget goes first */
static void
test_flood_extended_bytes (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();
  gsize len = MAX_MSG - 2; /* id and extension id */
  g_autofree guint8 *payload = g_malloc0 (len);

  remote_connect (f);
  use_fake_clock (f);
  gbt_wire_write_extended (one, 1, payload, len);
  remote_send_repeated (f, one, 4095);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), <, 4095);
}

/* the extension handshake, then a whole 16 MiB info dictionary in
 * ut_metadata pieces, at once */
static void
test_flood_honest_metadata (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const char *hs = "d1:md11:ut_metadatai3ee13:metadata_sizei16777216ee";
  const char *head = "d8:msg_typei1e5:piecei0e10:total_sizei16777216ee";
  gsize len = strlen (head) + 16384 - 64;
  g_autofree guint8 *payload = g_malloc0 (len);

  memcpy (payload, head, strlen (head));
  remote_connect (f);
  use_fake_clock (f);
  gbt_wire_write_extended (out, 0, (const guint8 *) hs, strlen (hs));
  remote_send_array (f, out);
  for (guint i = 0; i < 1024; i++)
    gbt_wire_write_extended (out, 3, payload, len);
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_EXTENDED), ==, 1025);
  assert_open (f);
}

/* 4 GiB asked for within a second, in 64 KiB requests the owner rejects */
static void
test_flood_request_bytes (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint n = 2 * 32768;

  f->reject_requests = TRUE;
  remote_connect (f);
  use_fake_clock (f);
  for (guint i = 0; i < n; i++)
    gbt_wire_write_request (out, GBT_MSG_REQUEST, i % (N_PIECES - 1), 0, PIECE_LEN);
  /* the rejects are read as they come, so the send queue stays small */
  g_byte_array_append (f->tx, out->data, out->len);
  gbt_test_wait_until ((remote_read (f), f->rx_pos = f->rx->len, remote_try_flush (f)) || f->n_closed,
                       WAIT_MS * 3);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_REQUEST), <=, 32768);
  g_assert_cmpuint (count_events (f, EV_REQUEST), >=, 32767);
}

/* tiny requests cost a block each: 200 000 of them in a burst */
static void
test_flood_request_tiny (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  f->reject_requests = TRUE;
  remote_connect (f);
  use_fake_clock (f);
  for (guint i = 0; i < 200000; i++)
    gbt_wire_write_request (out, GBT_MSG_REQUEST, 0, i % 1000, 1);
  g_byte_array_append (f->tx, out->data, out->len);
  gbt_test_wait_until ((remote_read (f), f->rx_pos = f->rx->len, remote_try_flush (f)) || f->n_closed,
                       WAIT_MS * 3);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_REQUEST), <=, 131072);
}

/* a 16 KiB block for the @i-th request, none the same as another in flight
 * (the test torrent has 36 whole blocks: these overlap, which the peer
 * does not check) */
static guint32
distinct_begin (guint i)
{
  return (i / (N_PIECES - 1)) % (PIECE_LEN - 16384);
}

/* a leecher that keeps 2000 requests (our reqq) outstanding while it reads
 * what we send, as libtorrent does on loopback */
static void
test_flood_honest_leecher (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint asked = 0, got = 0, total = 12000;

  f->serve_requests = TRUE;
  remote_connect (f);
  gbt_peer_set_choking (f->peer, FALSE);
  while (got < total)
    {
      GbtWireMsg msg;
      gssize n;

      /* top the queue up to reqq */
      for (; asked < total && asked - got < GBT_PEER_ADVERTISED_REQQ; asked++)
        gbt_wire_write_request (out, GBT_MSG_REQUEST, asked % (N_PIECES - 1),
                                distinct_begin (asked), 16384);
      if (out->len)
        {
          g_byte_array_append (f->tx, out->data, out->len);
          g_byte_array_set_size (out, 0);
        }
      remote_try_flush (f);
      g_main_context_iteration (NULL, TRUE);
      remote_read (f);
      while ((n = gbt_wire_parse (f->rx->data + f->rx_pos, rx_avail (f), NULL, &msg, NULL)) > 0)
        {
          f->rx_pos += n;
          got += msg.id == GBT_MSG_PIECE;
        }
      g_byte_array_remove_range (f->rx, 0, f->rx_pos);
      f->rx_pos = 0;
      g_assert_cmpuint (f->n_closed, ==, 0);
    }
  assert_open (f);
  g_assert_cmpuint (gbt_peer_get_uploaded (f->peer), ==, (guint64) total * 16384);
}

static void
send_requests (Fixture *f, guint n)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    gbt_wire_write_request (out, GBT_MSG_REQUEST, i % (N_PIECES - 1), distinct_begin (i), 16384);
  remote_send_array (f, out);
}

/* reqq outstanding, and a few more (the swarm rejects them): kept */
static void
test_flood_reqq_full (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  gbt_peer_set_choking (f->peer, FALSE);
  send_requests (f, GBT_PEER_ADVERTISED_REQQ + 100);
  assert_open (f);
}

/* and far beyond it, rejected or not */
static void
test_flood_over_reqq (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  gbt_peer_set_choking (f->peer, FALSE);
  f->reject_requests = FALSE;
  send_requests (f, GBT_PEER_ADVERTISED_REQQ + 1000);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_REQUEST), <=, GBT_PEER_ADVERTISED_REQQ + 256);
}

/* what we answer (or that it cancels) no longer counts as outstanding */
static void
test_flood_reqq_answered (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  gbt_peer_set_choking (f->peer, FALSE);
  for (guint round = 0; round < 5; round++)
    {
      for (guint i = 0; i < GBT_PEER_ADVERTISED_REQQ; i++)
        gbt_wire_write_request (out, GBT_MSG_REQUEST, round, i * 4, 4);
      remote_send_array (f, out);
      /* half rejected, half cancelled */
      for (guint i = 0; i < GBT_PEER_ADVERTISED_REQQ; i += 2)
        {
          GbtBlock b = { round, i * 4, 4 };
          gbt_peer_send_reject (f->peer, &b);
          gbt_wire_write_request (out, GBT_MSG_CANCEL, round, (i + 1) * 4, 4);
        }
      remote_send_array (f, out);
      remote_read (f);
      f->rx_pos = f->rx->len;
    }
  assert_open (f);
}

/* BEP 3: our choke drops a non-fast peer's requests; it may ask again */
static void
test_flood_reqq_choke_not_fast (Fixture *f, gconstpointer data)
{
  remote_connect (f);
  gbt_peer_set_choking (f->peer, FALSE);
  send_requests (f, GBT_PEER_ADVERTISED_REQQ);
  gbt_peer_set_choking (f->peer, TRUE);
  /* asked while choked: dropped, not outstanding */
  send_requests (f, GBT_PEER_ADVERTISED_REQQ);
  gbt_peer_set_choking (f->peer, FALSE);
  send_requests (f, GBT_PEER_ADVERTISED_REQQ);
  assert_open (f);
  send_requests (f, 1000);
  assert_flooded (f);
}

static void
test_flood_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_request (one, GBT_MSG_CANCEL, 1, 0, 16384);
  remote_send_repeated (f, one, 30000);
  assert_flooded (f);
  g_assert_cmpuint (count_events (f, EV_CANCEL), <=, 20000);
}

static void
test_flood_choke (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (guint i = 0; i < 1000; i++)
    gbt_wire_write_simple (out, i % 2 ? GBT_MSG_CHOKE : GBT_MSG_UNCHOKE);
  remote_send_array (f, out);
  assert_flooded (f);
}

/* a peer that answers each change of our interest with a choke change */
static void
test_flood_honest_chokes (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (guint i = 0; i < 200; i++)
    {
      gbt_peer_set_interested (f->peer, i % 2 == 0);
      gbt_wire_write_simple (out, i % 2 ? GBT_MSG_CHOKE : GBT_MSG_UNCHOKE);
    }
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_CHOKE), ==, 200);
  assert_open (f);
}

static void
test_flood_interest (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (guint i = 0; i < 1000; i++)
    gbt_wire_write_simple (out, i % 2 ? GBT_MSG_NOT_INTERESTED : GBT_MSG_INTERESTED);
  remote_send_array (f, out);
  assert_flooded (f);
}

/* a leecher that keeps up with us flips its interest at each of our HAVEs */
static void
test_flood_honest_interest (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (guint i = 0; i < 300; i++)
    {
      gbt_peer_send_have (f->peer, i % N_PIECES);
      gbt_wire_write_simple (out, GBT_MSG_INTERESTED);
      gbt_wire_write_simple (out, GBT_MSG_NOT_INTERESTED);
    }
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_INTEREST), ==, 600);
  assert_open (f);
}

static void
test_flood_reject (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_request (one, GBT_MSG_REJECT, 1, 0, 16384);
  remote_send_repeated (f, one, 5000);
  assert_flooded (f);
}

/* it rejects each of 3000 requests of ours (a choke with a full queue) */
static void
test_flood_honest_rejects (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  remote_connect (f);
  for (guint i = 0; i < 3000; i++)
    {
      GbtBlock b = { i % N_PIECES, (i / N_PIECES) * 16, 16 };
      gbt_peer_send_request (f->peer, &b);
      gbt_wire_write_request (out, GBT_MSG_REJECT, b.piece, b.begin, b.length);
    }
  remote_send_array (f, out);
  g_assert_cmpuint (count_events (f, EV_REJECT), ==, 3000);
  assert_open (f);
}

static void
test_flood_other (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) one = g_byte_array_new ();

  remote_connect (f);
  gbt_wire_write_allowed_fast (one, 1);
  remote_send_repeated (f, one, 5000);
  assert_flooded (f);
}

/* it stops reading while we queue 6 MiB for it */
static void
test_flood_send_queue (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) block = g_bytes_new_from_bytes (f->block_bytes, 0, GBT_WIRE_MAX_BLOCK_LEN);

  remote_connect (f);
  for (guint i = 0; i < 48; i++)
    gbt_peer_send_piece (f->peer, 0, 0, block);
  assert_flooded (f);
}

/* 4 MiB queued for a peer that reads is no flood */
static void
test_flood_send_queue_reading (Fixture *f, gconstpointer data)
{
  g_autoptr(GBytes) block = g_bytes_new_from_bytes (f->block_bytes, 0, GBT_WIRE_MAX_BLOCK_LEN);

  remote_connect (f);
  for (guint i = 0; i < 30; i++)
    gbt_peer_send_piece (f->peer, 0, 0, block);
  gbt_test_wait_until ((remote_read (f), f->rx_pos = f->rx->len,
                        gbt_peer_get_send_backlog (f->peer) == 0 || f->n_closed), WAIT_MS);
  assert_open (f);
}

/* 256 MB of valid messages of every kind, round robin, as fast as the pipe
 * takes them: dropped long before the end, within two seconds */
static void
test_flood_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr(GByteArray) cycle = g_byte_array_new ();
  gint64 start;
  guint64 written = 0;

  remote_connect (f);
  for (guint i = 0; i < 64; i++)
    {
      gbt_wire_write_have (cycle, 3);
      gbt_wire_write_keepalive (cycle);
      gbt_wire_write_simple (cycle, i % 2 ? GBT_MSG_CHOKE : GBT_MSG_UNCHOKE);
      gbt_wire_write_simple (cycle, i % 2 ? GBT_MSG_INTERESTED : GBT_MSG_NOT_INTERESTED);
      gbt_wire_write_request (cycle, GBT_MSG_CANCEL, 1, 0, 16384);
      gbt_wire_write_request (cycle, GBT_MSG_REJECT, 1, 0, 16384);
      gbt_wire_write_allowed_fast (cycle, 2);
      gbt_wire_write_suggest (cycle, 2);
      gbt_wire_write_extended (cycle, 7, (const guint8 *) "de", 2);
    }
  start = g_get_monotonic_time ();
  while (f->n_closed == 0 && written < 256 * 1000 * 1000)
    {
      gssize n = write (f->to_peer[1], cycle->data, cycle->len);
      if (n > 0)
        written += n;
      /* keep writing whole cycles: a partial write is finished first */
      if (n > 0 && (gsize) n < cycle->len)
        {
          g_byte_array_append (f->tx, cycle->data + n, cycle->len - n);
          while (!remote_try_flush (f) && f->n_closed == 0)
            g_main_context_iteration (NULL, TRUE);
          written += cycle->len - n;
        }
      g_main_context_iteration (NULL, FALSE);
    }
  assert_flooded (f);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (written, <, 64 * 1024 * 1024);
}

/* ---- misc ---- */

static void
test_name (void)
{
  struct {
    const char *ip;
    const char *name;
  } cases[] = {
    { "127.1.2.3", "127.1.2.3:6881" },
    { "::1", "[::1]:6881" },
    { NULL, "peer" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GInputStream) in = g_memory_input_stream_new ();
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr(GIOStream) stream = g_simple_io_stream_new (in, out);
      g_autoptr(GSocketAddress) addr = NULL;
      GbtPeer *peer;

      if (cases[i].ip)
        {
          g_autoptr(GInetAddress) ip = g_inet_address_new_from_string (cases[i].ip);
          addr = g_inet_socket_address_new (ip, 6881);
        }
      peer = gbt_peer_new (stream, addr ? G_INET_SOCKET_ADDRESS (addr) : NULL, FALSE);
      g_assert_cmpstr (gbt_peer_get_name (peer), ==, cases[i].name);
      g_assert_true (gbt_peer_get_address (peer) == (GInetSocketAddress *) addr);
      g_assert_cmpint (gbt_peer_get_state (peer), ==, GBT_PEER_STATE_HANDSHAKE);
      gbt_peer_unref (peer);
    }
}

#define ADD(path, setup, func) \
  g_test_add (path, Fixture, setup, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  /* the peer writes to pipes the test may have closed */
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);

  ADD ("/peer/handshake/outgoing", &out_plain, test_handshake_outgoing);
  ADD ("/peer/handshake/outgoing-dht", &out_dht, test_handshake_outgoing);
  ADD ("/peer/handshake/split", &out_plain, test_handshake_split);
  ADD ("/peer/handshake/with-messages", &out_plain, test_handshake_with_messages);
  ADD ("/peer/handshake/with-messages-incoming", &in_plain, test_handshake_with_messages);
  ADD ("/peer/handshake/wrong-info-hash", &out_plain, test_handshake_wrong_hash);
  ADD ("/peer/handshake/not-bittorrent", &out_plain, test_handshake_not_bittorrent);
  ADD ("/peer/handshake/bad-protocol-string", &out_plain, test_handshake_bad_pstr);
  ADD ("/peer/handshake/refused-outgoing", &out_plain, test_handshake_refused_outgoing);
  for (gsize i = 0; i < G_N_ELEMENTS (incoming_cases); i++)
    ADD (incoming_cases[i].path, &incoming_cases[i], test_handshake_incoming);
  ADD ("/peer/handshake/incoming-refused", &in_plain, test_handshake_incoming_refused);
  ADD ("/peer/handshake/incoming-refused-custom", &in_plain,
       test_handshake_incoming_refused_custom);
  ADD ("/peer/handshake/incoming-refused-silently", &in_plain,
       test_handshake_incoming_refused_silently);
  ADD ("/peer/handshake/incoming-unowned", &in_plain, test_handshake_incoming_unowned);
  g_test_add ("/peer/handshake/incoming-no-events", Fixture, &in_plain, fixture_setup_unstarted,
              test_handshake_incoming_no_events, fixture_teardown);
  ADD ("/peer/handshake/timeout", &out_plain, test_tick_handshake_timeout);

  ADD ("/peer/message/choke", &out_plain, test_msg_choke);
  ADD ("/peer/message/interested", &out_plain, test_msg_interested);
  ADD ("/peer/message/have", &out_plain, test_msg_have);
  ADD ("/peer/message/bitfield", &out_plain, test_msg_bitfield);
  ADD ("/peer/message/have-all", &out_plain, test_msg_have_all);
  ADD ("/peer/message/have-none", &out_plain, test_msg_have_none);
  ADD ("/peer/message/have-all-after-extended", &out_plain, test_msg_have_all_after_extended);
  ADD ("/peer/message/have-all-not-fast", &out_nofast, test_msg_have_all_not_fast);
  ADD ("/peer/message/have-none-not-fast", &out_nofast, test_msg_have_none_not_fast);
  ADD ("/peer/message/have-all-late", &out_plain, test_msg_have_all_late);
  ADD ("/peer/message/have-none-late", &out_plain, test_msg_have_none_late);
  ADD ("/peer/message/request-cancel", &out_plain, test_msg_request_cancel);
  ADD ("/peer/message/piece", &out_plain, test_msg_piece);
  ADD ("/peer/message/reject", &out_plain, test_msg_reject);
  ADD ("/peer/message/reject-not-fast", &out_nofast, test_msg_reject_not_fast);
  ADD ("/peer/message/port", &out_plain, test_msg_port);
  ADD ("/peer/message/extended", &out_plain, test_msg_extended);
  ADD ("/peer/message/extended-not-ltep", &out_noltep, test_msg_extended_not_ltep);
  ADD ("/peer/message/extended-malformed", &out_plain, test_msg_extended_malformed);
  ADD ("/peer/message/extended-not-dict", &out_plain, test_msg_extended_not_dict);
  ADD ("/peer/message/unknown-ignored", &out_plain, test_msg_unknown_ignored);
  ADD ("/peer/message/keepalive", &out_plain, test_msg_keepalive);
  ADD ("/peer/message/batched-and-split", &out_plain, test_msg_batched);
  for (gsize i = 0; i < G_N_ELEMENTS (malformed_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/peer/malformed/%s", malformed_cases[i].name);
      malformed_setups[i] = out_plain;
      malformed_setups[i].extra = &malformed_cases[i];
      ADD (path, &malformed_setups[i], test_malformed);
    }

  ADD ("/peer/close/remote-eof", &out_plain, test_close_remote_eof);
  ADD ("/peer/close/remote-eof-in-handshake", &out_plain, test_close_remote_eof_handshake);
  ADD ("/peer/close/from-event", &out_plain, test_close_from_event);
  ADD ("/peer/close/from-handshake-event", &in_plain, test_close_from_handshake_event);
  ADD ("/peer/close/from-ready-event", &out_plain, test_close_from_ready_event);
  ADD ("/peer/close/unref-in-closed", &out_plain, test_close_unref_in_closed);
  ADD ("/peer/close/disconnect", &out_plain, test_close_disconnect);
  ADD ("/peer/close/data-destroyed", &out_plain, test_close_data_destroyed);
  ADD ("/peer/close/data-destroyed-on-unref", &out_plain, test_close_data_destroyed_on_unref);

  ADD ("/peer/send/messages", &out_plain, test_send_messages);
  ADD ("/peer/send/backlog", &out_plain, test_send_backlog);

  ADD ("/peer/magnet/early-bitfield", &out_magnet, test_magnet_early_bitfield);
  ADD ("/peer/magnet/early-have-all", &out_magnet, test_magnet_early_have_all);
  ADD ("/peer/magnet/nothing-announced", &out_magnet, test_magnet_nothing_announced);
  ADD ("/peer/magnet/bitfield-replaces", &out_magnet, test_magnet_bitfield_replaces);
  ADD ("/peer/magnet/too-big-bitfield", &out_magnet, test_magnet_too_big_bitfield);
  ADD ("/peer/magnet/too-many-haves", &out_magnet, test_magnet_too_many_haves);
  ADD ("/peer/magnet/have-beyond-count", &out_magnet, test_magnet_have_beyond_count);
  ADD ("/peer/magnet/bad-early-bitfield/length", &out_magnet,
       test_magnet_bad_early_bitfield_length);
  ADD ("/peer/magnet/bad-early-bitfield/spare-bits", &out_magnet,
       test_magnet_bad_early_bitfield_spare);
  ADD ("/peer/magnet/arrives-before-handshake", &out_magnet, test_magnet_arrives_before_handshake);

  ADD ("/peer/tick/idle-timeout", &out_plain, test_tick_idle_timeout);
  ADD ("/peer/tick/keepalive", &out_plain, test_tick_keepalive);
  ADD ("/peer/tick/no-keepalive-in-handshake", &out_plain, test_tick_no_keepalive_in_handshake);

  ADD ("/peer/flood/dup-have", &out_plain, test_flood_dup_have);
  ADD ("/peer/flood/honest-haves", &out_plain, test_flood_honest_haves);
  ADD ("/peer/flood/bitfield", &out_plain, test_flood_bitfield);
  ADD ("/peer/flood/second-bitfield", &out_plain, test_flood_second_bitfield);
  ADD ("/peer/flood/growing-bitfields", &out_plain, test_flood_growing_bitfields);
  ADD ("/peer/flood/keepalive", &out_plain, test_flood_keepalive);
  ADD ("/peer/flood/honest-keepalives", &out_plain, test_flood_honest_keepalives);
  ADD ("/peer/flood/extended-count", &out_plain, test_flood_extended_count);
  ADD ("/peer/flood/extended-bytes", &out_plain, test_flood_extended_bytes);
  ADD ("/peer/flood/honest-metadata", &out_plain, test_flood_honest_metadata);
  ADD ("/peer/flood/request-bytes", &out_plain, test_flood_request_bytes);
  ADD ("/peer/flood/request-tiny", &out_plain, test_flood_request_tiny);
  ADD ("/peer/flood/honest-leecher", &out_plain, test_flood_honest_leecher);
  ADD ("/peer/flood/reqq-full", &out_plain, test_flood_reqq_full);
  ADD ("/peer/flood/over-reqq", &out_plain, test_flood_over_reqq);
  ADD ("/peer/flood/over-reqq-not-fast", &out_nofast, test_flood_over_reqq);
  ADD ("/peer/flood/reqq-answered", &out_plain, test_flood_reqq_answered);
  ADD ("/peer/flood/reqq-choke-not-fast", &out_nofast, test_flood_reqq_choke_not_fast);
  ADD ("/peer/flood/cancel", &out_plain, test_flood_cancel);
  ADD ("/peer/flood/choke", &out_plain, test_flood_choke);
  ADD ("/peer/flood/honest-chokes", &out_plain, test_flood_honest_chokes);
  ADD ("/peer/flood/interest", &out_plain, test_flood_interest);
  ADD ("/peer/flood/honest-interest", &out_plain, test_flood_honest_interest);
  ADD ("/peer/flood/reject", &out_plain, test_flood_reject);
  ADD ("/peer/flood/honest-rejects", &out_plain, test_flood_honest_rejects);
  ADD ("/peer/flood/other", &out_plain, test_flood_other);
  ADD ("/peer/flood/send-queue", &out_plain, test_flood_send_queue);
  ADD ("/peer/flood/send-queue-reading", &out_plain, test_flood_send_queue_reading);
  ADD ("/peer/flood/garbage", &out_plain, test_flood_garbage);

  g_test_add_func ("/peer/name", test_name);

  return g_test_run ();
}
