/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The swarm with fake peers and a fake clock: no sockets.  Each fake peer
 * is a GbtPeer over two pipes (pollable GUnix streams joined by
 * g_simple_io_stream_new); the test drives the far ends, writing wire
 * messages and parsing what the swarm sends.  Outgoing peers come through
 * the swarm's dial path (ops->connect_async answers with a GTask the test
 * completes), incoming ones through gbt_swarm_accept() from a handshake
 * event, as gbt-session.c does.  Time-based policy runs on ops->now_us,
 * a variable the test advances, and gbt_swarm_tick().
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include <gbt/gbt-peer.h>

#include "gbt-peer-wire.h"
#include "gbt-swarm.h"
#include "test-utils.h"

#define S(x) ((gint64) (x) * G_USEC_PER_SEC)
#define START S (1000)
#define WAIT_MS 5000
#define OUR_ID_CHAR 'M'
#define LISTEN_PORT 6881

static const guint8 info_hash[20] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                                      0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05 };

typedef struct _Fixture Fixture;

/* one message the swarm sent to a fake peer */
typedef struct {
  int id;
  guint32 index, begin, length;
  GBytes *payload; /* PIECE */
} Msg;

/* the far end of a fake peer, driven by the test */
typedef struct {
  Fixture *f;
  guint8 id[20];
  gboolean fast, ltep;
  int wfd; /* the test writes: the GbtPeer reads */
  int rfd; /* the test reads what the GbtPeer writes */
  GIOStream *stream; /* the GbtPeer's end */
  GInetSocketAddress *address;
  GbtPeer *peer; /* incoming: our reference */
  GError *accept_error; /* incoming: why gbt_swarm_accept refused */
  GByteArray *rbuf;
  gboolean got_handshake;
  GbtHandshake handshake;
  GArray *msgs; /* Msg */
  gboolean eof; /* the GbtPeer closed its end */
  guint watch;
} Remote;

typedef struct {
  GTask *task;
  GInetSocketAddress *address;
} PendingDial;

struct _Fixture {
  GbtSwarm *swarm;
  GbtSwarmConfig config;
  GbtWireLimits limits;
  GbtBitfield have, want;
  GbtPicker *picker;
  guint n_pieces;
  guint32 piece_len;
  GInetAddress *bind_address;
  gint64 now;
  gboolean over_limit;
  gboolean read_at_once;
  GPtrArray *remotes; /* Remote* */
  GPtrArray *dials; /* PendingDial*: asked, not answered */
  guint n_dials; /* every dial asked */
  GArray *reads; /* guint: ops->read_piece */
  GPtrArray *banned; /* char*: ops->banned */
  GPtrArray *dropped; /* char*: ops->dropped's reasons */
  GArray *blocks; /* GbtBlock: ops->block */
  guint n_complete;
  GPtrArray *ready; /* char*: ops->peer_ready's "name source" */
  GPtrArray *closed; /* char*: ops->peer_closed's peer names */
};

/* ---- the data of our fake torrent ---- */

static guint8
piece_byte (guint piece, guint32 offset)
{
  return (guint8) (piece * 131u + offset * 7u + (offset >> 8));
}

static GBytes *
piece_data (Fixture *f, guint piece, guint32 begin, guint32 len)
{
  guint8 *p = g_malloc (len);

  for (guint32 i = 0; i < len; i++)
    p[i] = piece_byte (piece, begin + i);
  return g_bytes_new_take (p, len);
}

static void
make_id (guint8 id[20], char c)
{
  memset (id, c, 20);
}

static gboolean
block_equal (const GbtBlock *a, const GbtBlock *b)
{
  return a->piece == b->piece && a->begin == b->begin && a->length == b->length;
}

static gboolean
blocks_contain (GArray *blocks, const GbtBlock *b)
{
  for (guint i = 0; blocks && i < blocks->len; i++)
    if (block_equal (&g_array_index (blocks, GbtBlock, i), b))
      return TRUE;
  return FALSE;
}

/* ---- the ops ---- */

static void
fake_block (gpointer data, const GbtBlock *block, const guint8 *bytes, const char *from,
            gboolean complete)
{
  Fixture *f = data;
  g_autoptr(GBytes) expected = piece_data (f, block->piece, block->begin, block->length);

  g_assert_cmpmem (bytes, block->length, g_bytes_get_data (expected, NULL), block->length);
  g_array_append_val (f->blocks, *block);
  f->n_complete += complete ? 1 : 0;
}

static gboolean
fake_over_buffer_limit (gpointer data)
{
  Fixture *f = data;
  return f->over_limit;
}

static void
fake_read_piece (gpointer data, guint piece)
{
  Fixture *f = data;

  g_array_append_val (f->reads, piece);
  if (f->read_at_once)
    {
      g_autoptr(GBytes) bytes = piece_data (f, piece, 0, f->piece_len);
      gbt_swarm_piece_read (f->swarm, piece, bytes, NULL);
    }
}

static void
fake_connect_async (gpointer data, GInetSocketAddress *address, const char *preferred,
                    const char *avoid, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  (void) preferred;
  (void) avoid;
  Fixture *f = data;
  PendingDial *d = g_new0 (PendingDial, 1);

  d->task = g_task_new (NULL, cancellable, callback, user_data);
  d->address = g_object_ref (address);
  g_ptr_array_add (f->dials, d);
  f->n_dials++;
}

static GIOStream *
fake_connect_finish (GObject *source, GAsyncResult *result, const char **transport,
                     GError **error)
{
  (void) transport;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
fake_banned (gpointer data, const char *ip)
{
  Fixture *f = data;
  g_ptr_array_add (f->banned, g_strdup (ip));
}

static void
fake_dropped (gpointer data, GbtPeer *peer, const GError *reason)
{
  Fixture *f = data;
  g_assert_true (reason->domain == GBT_PEER_WIRE_ERROR);
  g_ptr_array_add (f->dropped, g_strdup (reason->message));
}

static void
fake_peer_ready (gpointer data, GbtPeer *peer, const char *source)
{
  Fixture *f = data;
  g_ptr_array_add (f->ready, g_strdup_printf ("%s %s", gbt_peer_get_name (peer), source));
}

static void
fake_peer_closed (gpointer data, GbtPeer *peer)
{
  Fixture *f = data;
  g_ptr_array_add (f->closed, g_strdup (gbt_peer_get_name (peer)));
}

static gint64
fake_now (gpointer data)
{
  Fixture *f = data;
  return f->now;
}

static const GbtSwarmOps fake_ops = {
  .block = fake_block,
  .over_buffer_limit = fake_over_buffer_limit,
  .read_piece = fake_read_piece,
  .connect_async = fake_connect_async,
  .connect_finish = fake_connect_finish,
  .banned = fake_banned,
  .dropped = fake_dropped,
  .now_us = fake_now,
  .peer_ready = fake_peer_ready,
  .peer_closed = fake_peer_closed,
};

/* ---- fake peers ---- */

static void
msg_clear (gpointer p)
{
  Msg *m = p;
  g_clear_pointer (&m->payload, g_bytes_unref);
}

static void
remote_parse (Remote *r)
{
  if (!r->got_handshake)
    {
      g_autoptr(GError) error = NULL;
      if (r->rbuf->len < GBT_HANDSHAKE_LEN)
        return;
      g_assert_true (gbt_wire_parse_handshake (r->rbuf->data, r->rbuf->len, &r->handshake, &error));
      g_assert_no_error (error);
      g_byte_array_remove_range (r->rbuf, 0, GBT_HANDSHAKE_LEN);
      r->got_handshake = TRUE;
    }
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      GbtWireMsg wm;
      Msg m = { 0 };
      gssize n = gbt_wire_parse (r->rbuf->data, r->rbuf->len, NULL, &wm, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        return;
      m.id = wm.id;
      m.index = wm.index;
      m.begin = wm.begin;
      m.length = wm.length;
      if (wm.id == GBT_MSG_PIECE)
        {
          m.length = (guint32) wm.payload_len;
          m.payload = g_bytes_new (wm.payload, wm.payload_len);
        }
      g_array_append_val (r->msgs, m);
      g_byte_array_remove_range (r->rbuf, 0, (guint) n);
    }
}

static gboolean
remote_readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Remote *r = user_data;
  guint8 buf[64 * 1024];

  for (;;)
    {
      gssize n = read (fd, buf, sizeof buf);
      if (n > 0)
        {
          g_byte_array_append (r->rbuf, buf, (guint) n);
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      /* 0 (or an error): the GbtPeer closed its end */
      remote_parse (r);
      r->eof = TRUE;
      r->watch = 0;
      return G_SOURCE_REMOVE;
    }
  remote_parse (r);
  return G_SOURCE_CONTINUE;
}

static void
remote_free (gpointer p)
{
  Remote *r = p;

  g_clear_handle_id (&r->watch, g_source_remove);
  if (r->wfd >= 0)
    close (r->wfd);
  close (r->rfd);
  g_clear_pointer (&r->peer, gbt_peer_unref);
  g_object_unref (r->stream);
  g_object_unref (r->address);
  g_clear_error (&r->accept_error);
  g_byte_array_unref (r->rbuf);
  g_array_unref (r->msgs);
  g_free (r);
}

static Remote *
remote_new (Fixture *f, const char *ip, guint16 port, const guint8 id[20], gboolean fast,
            gboolean ltep)
{
  Remote *r = g_new0 (Remote, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (ip);
  int to_peer[2], from_peer[2];

  g_assert_true (g_unix_open_pipe (to_peer, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_open_pipe (from_peer, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (g_unix_set_fd_nonblocking (to_peer[i], TRUE, &error));
      g_assert_true (g_unix_set_fd_nonblocking (from_peer[i], TRUE, &error));
    }
  r->f = f;
  memcpy (r->id, id, 20);
  r->fast = fast;
  r->ltep = ltep;
  r->wfd = to_peer[1];
  r->rfd = from_peer[0];
  in = g_unix_input_stream_new (to_peer[0], TRUE);
  out = g_unix_output_stream_new (from_peer[1], TRUE);
  g_assert_true (G_IS_POLLABLE_INPUT_STREAM (in));
  g_assert_true (g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in)));
  r->stream = g_simple_io_stream_new (in, out);
  r->address = G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (addr, port));
  r->rbuf = g_byte_array_new ();
  r->msgs = g_array_new (FALSE, FALSE, sizeof (Msg));
  g_array_set_clear_func (r->msgs, msg_clear);
  r->watch = g_unix_fd_add (r->rfd, G_IO_IN | G_IO_HUP | G_IO_ERR, remote_readable_cb, r);
  g_ptr_array_add (f->remotes, r);
  return r;
}

/* a fake peer with its own id, made of @c */
static Remote *
remote_new_c (Fixture *f, const char *ip, guint16 port, char c, gboolean fast, gboolean ltep)
{
  guint8 id[20];

  make_id (id, c);
  return remote_new (f, ip, port, id, fast, ltep);
}

static void
remote_send (Remote *r, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (r->wfd, data, len);
      if (n > 0)
        {
          data += n;
          len -= (gsize) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          /* the pipe is full: let the GbtPeer read */
          g_main_context_iteration (NULL, TRUE);
          continue;
        }
      g_assert_cmpint (errno, ==, EPIPE); /* the GbtPeer is gone */
      return;
    }
}

static void
remote_send_array (Remote *r, GByteArray *b)
{
  remote_send (r, b->data, b->len);
}

static void
remote_send_handshake (Remote *r)
{
  guint8 hs[GBT_HANDSHAKE_LEN];
  guint8 reserved[8] = { 0 };

  if (r->fast)
    reserved[GBT_RESERVED_FAST_BYTE] |= GBT_RESERVED_FAST_MASK;
  if (r->ltep)
    reserved[GBT_RESERVED_EXTENSION_BYTE] |= GBT_RESERVED_EXTENSION_MASK;
  gbt_wire_write_handshake (hs, reserved, info_hash, r->id);
  remote_send (r, hs, sizeof hs);
}

static void
remote_send_simple (Remote *r, GbtMsgId id)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();

  gbt_wire_write_simple (b, id);
  remote_send_array (r, b);
}

/* a bitfield of every piece */
static void
remote_send_all (Remote *r)
{
  Fixture *f = r->f;
  g_autoptr(GByteArray) b = g_byte_array_new ();
  gsize len = gbt_bitfield_byte_len (f->n_pieces);
  g_autofree guint8 *bits = g_malloc0 (len);

  for (guint i = 0; i < f->n_pieces; i++)
    bits[i / 8] |= (guint8) (0x80 >> (i % 8));
  gbt_wire_write_bitfield (b, bits, len);
  remote_send_array (r, b);
}

static void
remote_send_request (Remote *r, GbtMsgId id, guint32 piece, guint32 begin, guint32 len)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();

  gbt_wire_write_request (b, id, piece, begin, len);
  remote_send_array (r, b);
}

static void
remote_send_piece (Remote *r, const GbtBlock *block)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autoptr(GBytes) data = piece_data (r->f, block->piece, block->begin, block->length);

  gbt_wire_write_piece_header (b, block->piece, block->begin, block->length);
  g_byte_array_append (b, g_bytes_get_data (data, NULL), block->length);
  remote_send_array (r, b);
}

static void
remote_send_ext_handshake (Remote *r, const char *dict)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();

  gbt_wire_write_extended (b, 0, (const guint8 *) dict, strlen (dict));
  remote_send_array (r, b);
}

/* the peer closes: the GbtPeer reads end of file */
static void
remote_hang_up (Remote *r)
{
  close (r->wfd);
  r->wfd = -1;
}

static guint
remote_count (Remote *r, int id)
{
  guint n = 0;

  for (guint i = 0; i < r->msgs->len; i++)
    n += g_array_index (r->msgs, Msg, i).id == id ? 1 : 0;
  return n;
}

static const Msg *
remote_find (Remote *r, int id, guint32 index, guint32 begin)
{
  for (guint i = 0; i < r->msgs->len; i++)
    {
      const Msg *m = &g_array_index (r->msgs, Msg, i);
      if (m->id == id && m->index == index && m->begin == begin)
        return m;
    }
  return NULL;
}

/* the blocks the swarm asked of @r, in order */
static GArray *
remote_requests (Remote *r)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (GbtBlock));

  for (guint i = 0; i < r->msgs->len; i++)
    {
      const Msg *m = &g_array_index (r->msgs, Msg, i);
      GbtBlock b = { m->index, m->begin, m->length };
      if (m->id == GBT_MSG_REQUEST)
        g_array_append_val (out, b);
    }
  return out;
}

/* A round trip through a fast peer: everything @r sent before has been
 * handled once the swarm rejects a request for a piece we lack (the last
 * piece, never ours in these tests). */
static guint
remote_count_pings (Remote *r)
{
  guint n = 0;

  for (guint i = 0; i < r->msgs->len; i++)
    {
      const Msg *m = &g_array_index (r->msgs, Msg, i);
      n += m->id == GBT_MSG_REJECT && m->index == r->f->n_pieces - 1
               && m->begin == r->f->piece_len - 1
             ? 1
             : 0;
    }
  return n;
}

static void
remote_sync (Remote *r)
{
  guint before = remote_count_pings (r);

  g_assert_true (r->fast);
  g_assert_false (gbt_bitfield_get (&r->f->have, r->f->n_pieces - 1));
  remote_send_request (r, GBT_MSG_REQUEST, r->f->n_pieces - 1, r->f->piece_len - 1, 1);
  gbt_test_wait_until (remote_count_pings (r) > before || r->eof, WAIT_MS);
  g_assert_false (r->eof);
}

/* the swarm's live peer for @r (by address), or NULL */
static GbtPeer *
peer_of (Fixture *f, Remote *r)
{
  g_autoptr(GPtrArray) peers = gbt_swarm_dup_peers (f->swarm);
  GbtPeer *found = NULL;

  for (guint i = 0; i < peers->len; i++)
    {
      GbtPeer *p = g_ptr_array_index (peers, i);
      GInetSocketAddress *a = gbt_peer_get_address (p);
      if (a && g_inet_socket_address_get_port (a) == g_inet_socket_address_get_port (r->address)
          && g_inet_address_equal (g_inet_socket_address_get_address (a),
                                   g_inet_socket_address_get_address (r->address)))
        found = p; /* the swarm holds it */
    }
  return found;
}

static gboolean
remote_active (Fixture *f, Remote *r)
{
  GbtPeer *p = peer_of (f, r);
  return p && gbt_peer_get_state (p) == GBT_PEER_STATE_ACTIVE;
}

/* ---- dialling ---- */

static PendingDial *
dial_find (Fixture *f, GInetSocketAddress *address)
{
  for (guint i = 0; i < f->dials->len; i++)
    {
      PendingDial *d = g_ptr_array_index (f->dials, i);
      if (g_inet_socket_address_get_port (d->address) == g_inet_socket_address_get_port (address)
          && g_inet_address_equal (g_inet_socket_address_get_address (d->address),
                                   g_inet_socket_address_get_address (address)))
        return d;
    }
  return NULL;
}

static void
dial_free (Fixture *f, PendingDial *d)
{
  g_ptr_array_remove (f->dials, d);
  g_object_unref (d->task);
  g_object_unref (d->address);
  g_free (d);
}

/* the dial to @r's address connects */
static void
dial_succeed (Fixture *f, Remote *r)
{
  PendingDial *d = dial_find (f, r->address);

  g_assert_nonnull (d);
  g_task_return_pointer (d->task, g_object_ref (r->stream), g_object_unref);
  dial_free (f, d);
}

static void
dial_fail (Fixture *f, GInetSocketAddress *address)
{
  PendingDial *d = dial_find (f, address);

  g_assert_nonnull (d);
  g_task_return_new_error (d->task, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "refused");
  dial_free (f, d);
}

static void
add_candidate (Fixture *f, GInetSocketAddress *address)
{
  g_autoptr(GPtrArray) a = g_ptr_array_new ();

  g_ptr_array_add (a, address);
  gbt_swarm_add_peers (f->swarm, a, "test");
}

static void
add_candidate_at (Fixture *f, const char *ip, guint16 port)
{
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new_from_string (ip, port);
  add_candidate (f, G_INET_SOCKET_ADDRESS (a));
}

/* the swarm dials @r, which answers with its handshake */
static void
remote_dial (Fixture *f, Remote *r)
{
  add_candidate (f, r->address);
  dial_succeed (f, r);
  remote_send_handshake (r);
}

static GbtPeer *
connect_out (Fixture *f, Remote *r)
{
  remote_dial (f, r);
  gbt_test_wait_until (remote_active (f, r) || r->eof, WAIT_MS);
  g_assert_false (r->eof);
  gbt_test_wait_until (r->got_handshake, WAIT_MS);
  g_assert_cmpmem (r->handshake.info_hash, 20, info_hash, 20);
  return peer_of (f, r);
}

/* incoming: as the session's listener, which hands the peer to the
 * torrent's swarm from the handshake event */
static gboolean
incoming_handshake_cb (GbtPeer *peer, gpointer data, GError **error)
{
  Remote *r = data;

  g_clear_error (&r->accept_error);
  if (gbt_swarm_accept (r->f->swarm, peer, &r->accept_error))
    return TRUE;
  g_assert_nonnull (r->accept_error);
  g_propagate_error (error, g_error_copy (r->accept_error));
  return FALSE;
}

static const GbtPeerEvents incoming_events = {
  .handshake = incoming_handshake_cb,
};

static void
remote_incoming (Fixture *f, Remote *r)
{
  r->peer = gbt_peer_new (r->stream, r->address, TRUE);
  gbt_peer_start (r->peer, &incoming_events, r, NULL);
  remote_send_handshake (r);
}

static GbtPeer *
connect_in (Fixture *f, Remote *r)
{
  remote_incoming (f, r);
  gbt_test_wait_until (remote_active (f, r) || r->eof, WAIT_MS);
  g_assert_false (r->eof);
  g_assert_no_error (r->accept_error);
  g_assert_true (peer_of (f, r) == r->peer);
  gbt_test_wait_until (r->got_handshake, WAIT_MS);
  return r->peer;
}

/* ---- the fixture ---- */

/* (re)sets the torrent: @n pieces of @plen bytes, the first @n_have ours */
static void
torrent_setup (Fixture *f, guint n, guint32 plen, guint n_have)
{
  gbt_bitfield_clear (&f->have);
  gbt_bitfield_clear (&f->want);
  g_clear_pointer (&f->picker, gbt_picker_free);
  f->n_pieces = n;
  f->piece_len = plen;
  f->limits = (GbtWireLimits) { n, plen, (guint64) n * plen, 0 };
  gbt_bitfield_init (&f->have, n);
  gbt_bitfield_init (&f->want, n);
  gbt_bitfield_set_all (&f->want);
  f->picker = gbt_picker_new (n, plen, (guint64) n * plen);
  for (guint i = 0; i < n_have; i++)
    {
      gbt_bitfield_set (&f->have, i, TRUE);
      gbt_picker_set_have (f->picker, i);
    }
  memset (&f->config, 0, sizeof f->config);
  f->config.max_peers = 50;
  f->config.listen_port = LISTEN_PORT;
  f->config.bind_address = f->bind_address;
  make_id (f->config.peer_id, OUR_ID_CHAR);
  memcpy (f->config.info_hash, info_hash, 20);
  f->config.have = &f->have;
  f->config.want = &f->want;
  f->config.limits = &f->limits;
  f->config.can_dial = TRUE;
  gbt_swarm_configure (f->swarm, &f->config);
  gbt_swarm_set_picker (f->swarm, f->picker);
  gbt_swarm_set_state (f->swarm, n_have == n ? GBT_TORRENT_STATE_SEEDING
                                             : GBT_TORRENT_STATE_DOWNLOADING);
}

static void
set_max_peers (Fixture *f, guint max)
{
  f->config.max_peers = max;
  gbt_swarm_configure (f->swarm, &f->config);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->now = START;
  f->bind_address = g_inet_address_new_from_string ("127.0.0.1");
  f->remotes = g_ptr_array_new_with_free_func (remote_free);
  f->dials = g_ptr_array_new ();
  f->reads = g_array_new (FALSE, FALSE, sizeof (guint));
  f->banned = g_ptr_array_new_with_free_func (g_free);
  f->dropped = g_ptr_array_new_with_free_func (g_free);
  f->blocks = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  f->ready = g_ptr_array_new_with_free_func (g_free);
  f->closed = g_ptr_array_new_with_free_func (g_free);
  f->swarm = gbt_swarm_new (&fake_ops, f);
  /* 64 pieces of 4 blocks, none ours */
  torrent_setup (f, 64, 4 * GBT_BLOCK_SIZE, 0);
}

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  gbt_swarm_free (f->swarm);
  /* dials still in flight end now (the swarm cancelled them) */
  while (f->dials->len > 0)
    {
      PendingDial *d = g_ptr_array_index (f->dials, 0);
      g_task_return_new_error (d->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "teardown");
      dial_free (f, d);
    }
  drain_main_context ();
  g_ptr_array_unref (f->remotes);
  drain_main_context ();
  g_ptr_array_unref (f->dials);
  g_array_unref (f->reads);
  g_ptr_array_unref (f->banned);
  g_ptr_array_unref (f->dropped);
  g_array_unref (f->blocks);
  g_ptr_array_unref (f->ready);
  g_ptr_array_unref (f->closed);
  gbt_picker_free (f->picker);
  gbt_bitfield_clear (&f->have);
  gbt_bitfield_clear (&f->want);
  g_object_unref (f->bind_address);
}

/* ---- the duplicate rule ---- */

/* one peer at two addresses, both dialled: the newer goes */
static void
test_duplicate_outgoing_twice (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7002, 'a', TRUE, FALSE);

  connect_out (f, a);
  remote_dial (f, b);
  gbt_test_wait_until (b->eof, WAIT_MS);
  g_assert_null (peer_of (f, b));
  g_assert_true (remote_active (f, a));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 1);
  remote_sync (a); /* still served */
  g_assert_false (a->eof);
}

/* the same peer calls twice: the newer is refused */
static void
test_duplicate_incoming_twice (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 50001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.2", 50002, 'a', TRUE, FALSE);

  connect_in (f, a);
  remote_incoming (f, b);
  gbt_test_wait_until (b->eof, WAIT_MS);
  g_assert_error (b->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_true (remote_active (f, a));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 1);
}

typedef struct {
  gboolean remote_greater; /* the remote's peer id is greater than ours */
  gboolean incoming_first;
} DuplicateCase;

/* both sides dialled each other: the connection opened by the side with
 * the greater peer id survives, whichever came first */
static void
test_duplicate_both_ways (Fixture *f, gconstpointer data)
{
  const DuplicateCase *c = data;
  char id = c->remote_greater ? 'Z' : 'A';
  Remote *in = remote_new_c (f, "127.0.0.2", 50001, id, TRUE, FALSE);
  Remote *out = remote_new_c (f, "127.0.0.2", 7001, id, TRUE, FALSE);
  Remote *first = c->incoming_first ? in : out;
  Remote *second = c->incoming_first ? out : in;
  Remote *survivor = c->remote_greater ? in : out;
  Remote *loser = c->remote_greater ? out : in;

  g_assert_cmpint (id > OUR_ID_CHAR, ==, c->remote_greater);
  if (c->incoming_first)
    connect_in (f, first);
  else
    connect_out (f, first);
  if (c->incoming_first)
    remote_dial (f, second);
  else
    remote_incoming (f, second);

  gbt_test_wait_until (loser->eof && remote_active (f, survivor), WAIT_MS);
  g_assert_null (peer_of (f, loser));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 1);
  /* a refused newcomer is told why; an older one is closed */
  if (loser == in && loser == second)
    g_assert_error (in->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  else
    g_assert_no_error (in->accept_error);
  remote_sync (survivor);
  g_assert_false (survivor->eof);
}

/* peers-trackers: the torrent's peers model hears of each peer once it
 * is handshaken, and once when it closes; a peer refused at its
 * handshake is never reported */
static void
test_report_ready_closed (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7002, 'a', TRUE, FALSE);
  Remote *c = remote_new_c (f, "127.0.0.4", 50001, 'c', TRUE, FALSE);
  g_autoptr(GArray) states = NULL;

  connect_out (f, a);
  g_assert_cmpuint (f->ready->len, ==, 1);
  g_assert_cmpstr (f->ready->pdata[0], ==, "127.0.0.2:7001 test");
  remote_dial (f, b); /* the same peer id: refused */
  gbt_test_wait_until (b->eof, WAIT_MS);
  connect_in (f, c);
  g_assert_cmpuint (f->ready->len, ==, 2);
  g_assert_cmpstr (f->ready->pdata[1], ==, "127.0.0.4:50001 incoming");
  g_assert_cmpuint (f->closed->len, ==, 0);
  states = gbt_swarm_dup_peer_states (f->swarm);
  g_assert_cmpuint (states->len, ==, 2);
  g_assert_false (g_array_index (states, GbtSwarmPeerState, 0).snubbed);

  remote_hang_up (a);
  gbt_test_wait_until (f->closed->len == 1, WAIT_MS);
  g_assert_cmpstr (f->closed->pdata[0], ==, "127.0.0.2:7001");
  gbt_swarm_close_all (f->swarm);
  g_assert_cmpuint (f->closed->len, ==, 2);
  g_assert_cmpstr (f->closed->pdata[1], ==, "127.0.0.4:50001");
  g_assert_cmpuint (f->ready->len, ==, 2);
}

/* ---- ourselves ---- */

static void
test_self_outgoing (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.77", 6881, OUR_ID_CHAR, TRUE, FALSE);

  remote_dial (f, r);
  gbt_test_wait_until (r->eof, WAIT_MS);
  g_assert_null (peer_of (f, r));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 0);
}

static void
test_self_incoming (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.77", 50001, OUR_ID_CHAR, TRUE, FALSE);

  remote_incoming (f, r);
  gbt_test_wait_until (r->eof, WAIT_MS);
  g_assert_error (r->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 0);
}

/* a tracker reporting us back: our bind address and port are not dialled */
static void
test_self_own_address (Fixture *f, gconstpointer data)
{
  add_candidate_at (f, "127.0.0.1", LISTEN_PORT);
  g_assert_cmpuint (f->n_dials, ==, 0);
  add_candidate_at (f, "127.0.0.1", LISTEN_PORT + 1);
  g_assert_cmpuint (f->n_dials, ==, 1);
  add_candidate_at (f, "127.0.0.2", LISTEN_PORT);
  g_assert_cmpuint (f->n_dials, ==, 2);
}

/* ---- making room ---- */

/* full: the oldest peer idle for 30 s makes room for a newcomer */
static void
test_room_idle_replaced (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  Remote *c = remote_new_c (f, "127.0.0.4", 50001, 'c', TRUE, FALSE);

  set_max_peers (f, 2);
  connect_out (f, a);
  f->now += S (1);
  connect_in (f, b);
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 2);

  f->now = START + S (31); /* both idle for 30 s: the older goes */
  connect_in (f, c);
  gbt_test_wait_until (a->eof, WAIT_MS);
  g_assert_null (peer_of (f, a));
  g_assert_true (remote_active (f, b));
  g_assert_true (remote_active (f, c));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 2);
}

/* full and nobody idle long enough, or everyone busy: refused */
static void
test_room_none (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  Remote *c = remote_new_c (f, "127.0.0.4", 50001, 'c', TRUE, FALSE);
  Remote *d = remote_new_c (f, "127.0.0.5", 50001, 'd', TRUE, FALSE);
  GbtPeer *pa, *pb;

  set_max_peers (f, 2);
  pa = connect_out (f, a);
  pb = connect_out (f, b);

  /* idle, but only for 29 s */
  f->now = START + S (29);
  remote_incoming (f, c);
  gbt_test_wait_until (c->eof, WAIT_MS);
  g_assert_error (c->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

  /* old, but a wants our pieces... */
  remote_send_simple (a, GBT_MSG_INTERESTED);
  gbt_test_wait_until (gbt_peer_is_interested (pa), WAIT_MS);
  /* ...and we want b's */
  remote_send_all (b);
  gbt_test_wait_until (gbt_peer_am_interested (pb), WAIT_MS);
  f->now = START + S (600);
  remote_incoming (f, d);
  gbt_test_wait_until (d->eof, WAIT_MS);
  g_assert_error (d->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_true (remote_active (f, a));
  g_assert_true (remote_active (f, b));
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 2);
}

/* ---- trust and bans ---- */

static GPtrArray *
ips (const char *first, ...)
{
  GPtrArray *out = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *ip = first; ip; ip = va_arg (ap, const char *))
    g_ptr_array_add (out, (gpointer) ip);
  va_end (ap);
  return out;
}

/* a sole contributor of two bad pieces is banned */
static void
test_ban_sole (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.9", 7001, 'a', TRUE, FALSE);
  Remote *again = remote_new_c (f, "127.0.0.9", 50001, 'z', TRUE, FALSE);
  g_autoptr(GPtrArray) who = ips ("127.0.0.9", NULL);
  guint dials;

  connect_out (f, a);
  gbt_swarm_piece_failed (f->swarm, 3, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.9"), ==, -4);
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.9"));
  g_assert_cmpuint (f->banned->len, ==, 0);
  g_assert_true (remote_active (f, a));

  gbt_swarm_piece_failed (f->swarm, 4, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.9"), ==, -8);
  g_assert_true (gbt_swarm_is_banned (f->swarm, "127.0.0.9"));
  g_assert_cmpuint (f->banned->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->banned, 0), ==, "127.0.0.9");
  g_assert_null (peer_of (f, a));
  gbt_test_wait_until (a->eof, WAIT_MS);
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 0);

  /* its addresses are ignored from now on, and it may not call */
  dials = f->n_dials;
  add_candidate_at (f, "127.0.0.9", 7002);
  g_assert_cmpuint (f->n_dials, ==, dials);
  remote_incoming (f, again);
  gbt_test_wait_until (again->eof, WAIT_MS);
  g_assert_error (again->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_assert_cmpuint (f->banned->len, ==, 1); /* told once */
}

/* the address it was dialled at is not dialled again after the ban */
static void
test_ban_not_redialled (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.9", 7001, 'a', TRUE, FALSE);
  g_autoptr(GPtrArray) who = ips ("127.0.0.9", NULL);
  guint dials;

  connect_out (f, a);
  dials = f->n_dials;
  gbt_swarm_piece_failed (f->swarm, 3, who, NULL);
  gbt_swarm_piece_failed (f->swarm, 4, who, NULL);
  g_assert_true (gbt_swarm_is_banned (f->swarm, "127.0.0.9"));
  gbt_test_wait_until (a->eof, WAIT_MS);
  for (guint i = 0; i < 4; i++)
    {
      f->now += S (3600);
      gbt_swarm_tick (f->swarm);
    }
  /* the ban took its address out of the candidates: never dialled again */
  g_assert_cmpuint (f->n_dials, ==, dials);
}

/* sharing failed pieces is never by itself a reason to ban: no trust is
 * charged, however often */
static void
test_ban_shared (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  g_autoptr(GPtrArray) who = ips ("127.0.0.2", "127.0.0.3", NULL);

  connect_out (f, a);
  connect_out (f, b);
  for (guint piece = 3; piece < 13; piece++)
    gbt_swarm_piece_failed (f->swarm, piece, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.2"), ==, 0);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.3"), ==, 0);
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.2"));
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.3"));
  g_assert_cmpuint (f->banned->len, ==, 0);
  g_assert_true (remote_active (f, a));
  g_assert_true (remote_active (f, b));
}

/* 20-byte "hashes" of each block, one letter each: 'g' good, 'x' bad */
static GBytes *
block_hashes (const char *letters)
{
  gsize n = strlen (letters);
  guint8 *out = g_malloc0 (n * 20);

  for (gsize i = 0; i < n; i++)
    memset (out + i * 20, letters[i], 20);
  return g_bytes_new_take (out, n * 20);
}

/* Smart ban: a piece fails with blocks from an honest peer and a liar; when
 * it passes later, the liar (whose block differs from the good one) is
 * banned and the honest peer is not; blocks that were the same are no one's
 * fault. */
static void
test_smart_ban (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  Remote *c = remote_new_c (f, "127.0.0.4", 7001, 'c', TRUE, FALSE);
  g_autoptr(GPtrArray) first = ips ("127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3", NULL);
  g_autoptr(GPtrArray) second = ips ("127.0.0.4", "127.0.0.4", "127.0.0.3", "127.0.0.4", NULL);
  g_autoptr(GPtrArray) good = ips ("127.0.0.4", "127.0.0.4", "127.0.0.4", "127.0.0.4", NULL);
  g_autoptr(GBytes) h1 = block_hashes ("gxgg");
  g_autoptr(GBytes) h2 = block_hashes ("ggxg");
  g_autoptr(GBytes) hok = block_hashes ("gggg");

  connect_out (f, a);
  connect_out (f, b);
  connect_out (f, c);
  g_assert_false (gbt_swarm_wants_block_hashes (f->swarm, 3));
  gbt_swarm_piece_failed (f->swarm, 3, first, h1);
  g_assert_true (gbt_swarm_wants_block_hashes (f->swarm, 3));
  /* again, with b's bad block elsewhere: still nobody is charged */
  gbt_swarm_piece_failed (f->swarm, 3, second, h2);
  g_assert_cmpuint (f->banned->len, ==, 0);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.2"), ==, 0);

  gbt_swarm_piece_passed (f->swarm, 3, good, hok);
  g_assert_true (gbt_swarm_is_banned (f->swarm, "127.0.0.3"));
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.2"));
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.4"));
  g_assert_cmpuint (f->banned->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->banned, 0), ==, "127.0.0.3");
  gbt_test_wait_until (b->eof, WAIT_MS);
  g_assert_true (remote_active (f, a));
  g_assert_true (remote_active (f, c));
  g_assert_false (gbt_swarm_wants_block_hashes (f->swarm, 3));
}

/* a good piece raises its contributors' trust (to 8 at most) and is
 * announced to every peer */
static void
test_trust_passed (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *b = remote_new_c (f, "127.0.0.3", 50001, 'b', TRUE, FALSE);
  g_autoptr(GPtrArray) who = ips ("127.0.0.2", NULL);
  g_autoptr(GPtrArray) who_b = ips ("127.0.0.3", NULL);

  connect_out (f, a);
  connect_in (f, b);
  gbt_swarm_piece_passed (f->swarm, 5, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.2"), ==, 1);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.3"), ==, 0);
  gbt_test_wait_until (remote_find (a, GBT_MSG_HAVE, 5, 0) && remote_find (b, GBT_MSG_HAVE, 5, 0),
                       WAIT_MS);
  for (guint i = 0; i < 10; i++)
    gbt_swarm_piece_passed (f->swarm, 6, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.2"), ==, 8);

  /* trust earned buys forgiveness: two sole failures leave it at 0 */
  gbt_swarm_piece_failed (f->swarm, 7, who, NULL);
  gbt_swarm_piece_failed (f->swarm, 8, who, NULL);
  g_assert_cmpint (gbt_swarm_get_trust (f->swarm, "127.0.0.2"), ==, 0);
  g_assert_false (gbt_swarm_is_banned (f->swarm, "127.0.0.2"));
  /* without it, the same two failures ban */
  gbt_swarm_piece_failed (f->swarm, 7, who_b, NULL);
  gbt_swarm_piece_failed (f->swarm, 8, who_b, NULL);
  g_assert_true (gbt_swarm_is_banned (f->swarm, "127.0.0.3"));
  gbt_test_wait_until (b->eof, WAIT_MS);
  g_assert_true (remote_active (f, a));
}

/* ---- requests ---- */

/* a seed that unchokes us, fast or not, and says its reqq (0: not) */
static GbtPeer *
connect_seed (Fixture *f, Remote *r, guint reqq)
{
  GbtPeer *p = connect_out (f, r);

  if (reqq)
    {
      g_autofree char *dict = g_strdup_printf ("d4:reqqi%uee", reqq);
      g_assert_true (r->ltep);
      remote_send_ext_handshake (r, dict);
    }
  remote_send_all (r);
  gbt_test_wait_until (remote_count (r, GBT_MSG_INTERESTED) == 1, WAIT_MS);
  g_assert_true (gbt_peer_am_interested (p));
  remote_send_simple (r, GBT_MSG_UNCHOKE);
  return p;
}

static void
assert_requests_match (Fixture *f, Remote *r, GbtPeer *p)
{
  g_autoptr(GArray) sent = remote_requests (r);
  GArray *awaited = gbt_swarm_get_requests (f->swarm, p);

  g_assert_nonnull (awaited);
  g_assert_cmpuint (awaited->len, ==, sent->len);
  for (guint i = 0; i < sent->len; i++)
    {
      const GbtBlock *b = &g_array_index (sent, GbtBlock, i);
      g_assert_true (blocks_contain (awaited, b));
      g_assert_cmpuint (b->piece, <, f->n_pieces);
      g_assert_cmpuint (b->begin % GBT_BLOCK_SIZE, ==, 0);
      g_assert_cmpuint (b->length, ==, GBT_BLOCK_SIZE);
      for (guint k = 0; k < i; k++)
        g_assert_false (block_equal (&g_array_index (sent, GbtBlock, k), b));
    }
}

/* the picker holds exactly @requested as requested: a fresh pick over
 * everything hands out every other missing block and none of these */
static void
assert_picker_holds (Fixture *f, GArray *requested)
{
  g_autoptr(GArray) rest = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  GbtBitfield all;
  guint total = f->n_pieces * (f->piece_len / GBT_BLOCK_SIZE);

  gbt_bitfield_init (&all, f->n_pieces);
  gbt_bitfield_set_all (&all);
  g_assert_cmpuint (gbt_picker_pick (f->picker, &all, total, NULL, NULL, rest), ==,
                    total - requested->len);
  for (guint i = 0; i < rest->len; i++)
    g_assert_false (blocks_contain (requested, &g_array_index (rest, GbtBlock, i)));
  gbt_bitfield_clear (&all);
}

/* Parole: after a piece failed with several senders, it is handed out
 * whole to one peer (endgame included); if that peer goes, the next one
 * gets it whole */
static void
test_parole (Fixture *f, gconstpointer data)
{
  Remote *a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, TRUE);
  Remote *b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, TRUE);
  g_autoptr(GPtrArray) who = ips ("127.0.0.2", "127.0.0.3", NULL);
  g_autoptr(GArray) got_a = NULL;
  g_autoptr(GArray) got_b = NULL;
  const guint P = f->n_pieces - 1; /* remote_sync asks for the last piece */
  guint from_a = 0, from_b = 0;

  /* every piece but P is had: P is all there is to ask for */
  for (guint i = 0; i < f->n_pieces; i++)
    if (i != P)
      {
        gbt_bitfield_set (&f->have, i, TRUE);
        gbt_picker_set_have (f->picker, i);
      }
  gbt_swarm_piece_failed (f->swarm, P, who, NULL);
  g_assert_true (gbt_picker_on_parole (f->picker, P));

  connect_seed (f, a, 0);
  gbt_test_wait_until (remote_count (a, GBT_MSG_REQUEST) >= 4, WAIT_MS);
  connect_seed (f, b, 0);
  remote_sync (b);
  remote_sync (a);
  got_a = remote_requests (a);
  got_b = remote_requests (b);
  for (guint i = 0; i < got_a->len; i++)
    from_a += g_array_index (got_a, GbtBlock, i).piece == P;
  for (guint i = 0; i < got_b->len; i++)
    from_b += g_array_index (got_b, GbtBlock, i).piece == P;
  /* all four blocks from a, none from b, even though all are requested
   * (endgame would otherwise ask b too) */
  g_assert_cmpuint (from_a, ==, 4);
  g_assert_cmpuint (from_b, ==, 0);

  /* a goes: the piece is b's now, whole */
  remote_hang_up (a);
  gbt_test_wait_until (remote_count (b, GBT_MSG_REQUEST) >= 4, WAIT_MS);
  g_clear_pointer (&got_b, g_array_unref);
  got_b = remote_requests (b);
  from_b = 0;
  for (guint i = 0; i < got_b->len; i++)
    from_b += g_array_index (got_b, GbtBlock, i).piece == P;
  g_assert_cmpuint (from_b, ==, 4);
}

/* an unchoking seed gets our queue target's worth of requests (64 at
 * first), all from the picker */
static void
test_request_queue_target (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);
  g_autoptr(GArray) sent = NULL;

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  remote_sync (r);
  g_assert_cmpuint (remote_count (r, GBT_MSG_REQUEST), ==, 64);
  assert_requests_match (f, r, p);
  /* whole pieces: 16 of 4 blocks in flight */
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 16);
  sent = remote_requests (r);
  assert_picker_holds (f, sent);
}

/* a peer that says it queues 8 requests gets 8 */
static void
test_request_reqq (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, TRUE);
  GbtPeer *p = connect_seed (f, r, 8);

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 8, WAIT_MS);
  remote_sync (r);
  g_assert_cmpuint (gbt_peer_get_remote_reqq (p), ==, 8);
  g_assert_cmpuint (remote_count (r, GBT_MSG_REQUEST), ==, 8);
  assert_requests_match (f, r, p);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 2);
}

/* rejected blocks go back to the picker and are asked again */
static void
test_request_reject (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, TRUE);
  GbtPeer *p = connect_seed (f, r, 8);
  g_autoptr(GArray) sent = NULL;
  g_autoptr(GArray) rejected = g_array_new (FALSE, FALSE, sizeof (GbtBlock));
  g_autoptr(GArray) again = NULL;
  guint per_piece[2] = { 0, 0 };
  guint32 pieces[2];

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 8, WAIT_MS);
  sent = remote_requests (r);
  /* two blocks of each of the two pieces in flight: both stay partial */
  pieces[0] = g_array_index (sent, GbtBlock, 0).piece;
  pieces[1] = pieces[0];
  for (guint i = 0; i < sent->len; i++)
    {
      const GbtBlock *b = &g_array_index (sent, GbtBlock, i);
      guint k;
      if (b->piece != pieces[0])
        pieces[1] = b->piece;
      k = b->piece == pieces[0] ? 0 : 1;
      if (per_piece[k] < 2)
        {
          per_piece[k]++;
          g_array_append_val (rejected, *b);
        }
    }
  g_assert_cmpuint (pieces[0], !=, pieces[1]);
  g_assert_cmpuint (rejected->len, ==, 4);

  /* one alone: out of its requests, and too few to top up */
  {
    const GbtBlock *b = &g_array_index (rejected, GbtBlock, 0);
    remote_send_request (r, GBT_MSG_REJECT, b->piece, b->begin, b->length);
    remote_sync (r);
    g_assert_false (blocks_contain (gbt_swarm_get_requests (f->swarm, p), b));
    g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 7);
  }
  /* a reject of something never asked changes nothing */
  for (guint32 never = 0; never < f->n_pieces; never++)
    if (never != pieces[0] && never != pieces[1])
      {
        remote_send_request (r, GBT_MSG_REJECT, never, 0, GBT_BLOCK_SIZE);
        break;
      }
  remote_sync (r);
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 7);

  for (guint i = 1; i < rejected->len; i++)
    {
      const GbtBlock *b = &g_array_index (rejected, GbtBlock, i);
      remote_send_request (r, GBT_MSG_REJECT, b->piece, b->begin, b->length);
    }
  /* the picker hands the very same blocks out again (partial pieces first) */
  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 12, WAIT_MS);
  remote_sync (r);
  g_assert_cmpuint (remote_count (r, GBT_MSG_REQUEST), ==, 12);
  again = remote_requests (r);
  for (guint i = 8; i < 12; i++)
    g_assert_true (blocks_contain (rejected, &g_array_index (again, GbtBlock, i)));
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 8);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 2);
}

/* BEP 3: a choke drops what we asked; the blocks go back to the picker */
static void
test_request_choke_not_fast (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', FALSE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);
  g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (GbtBlock));

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 16);
  remote_send_simple (r, GBT_MSG_CHOKE);
  gbt_test_wait_until (gbt_peer_is_choking (p), WAIT_MS);
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 0);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 0);
  assert_picker_holds (f, none);
}

/* BEP 6: after a choke the requests stand until rejected */
static void
test_request_choke_fast (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  remote_send_simple (r, GBT_MSG_CHOKE);
  remote_sync (r);
  g_assert_true (gbt_peer_is_choking (p));
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 64);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 16);
}

/* over the buffer limit nothing is asked; a kick asks once it is not */
static void
test_request_buffer_limit (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p;

  f->over_limit = TRUE;
  p = connect_seed (f, r, 0);
  remote_sync (r);
  g_assert_false (gbt_peer_is_choking (p));
  g_assert_cmpuint (remote_count (r, GBT_MSG_REQUEST), ==, 0);
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 0);
  f->over_limit = FALSE;
  gbt_swarm_kick (f->swarm);
  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  assert_requests_match (f, r, p);
}

/* ---- endgame ---- */

/* two peers asked for the same block: when one delivers it, the other is
 * told to cancel; its copy, if it still comes, is waste */
static void
test_endgame_cancel (Fixture *f, gconstpointer data)
{
  Remote *a, *b;
  GbtPeer *pa, *pb;
  g_autoptr(GArray) from_a = NULL;
  g_autoptr(GArray) from_b = NULL;
  GbtBlock x;

  torrent_setup (f, 2, 2 * GBT_BLOCK_SIZE, 0); /* 4 blocks */
  a = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  b = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  pa = connect_seed (f, a, 0);
  gbt_test_wait_until (remote_count (a, GBT_MSG_REQUEST) >= 4, WAIT_MS);
  g_assert_true (gbt_picker_in_endgame (f->picker));
  pb = connect_seed (f, b, 0);
  gbt_test_wait_until (remote_count (b, GBT_MSG_REQUEST) >= 4, WAIT_MS);
  from_a = remote_requests (a);
  from_b = remote_requests (b);
  g_assert_cmpuint (from_a->len, ==, 4);
  g_assert_cmpuint (from_b->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_true (blocks_contain (from_a, &g_array_index (from_b, GbtBlock, i)));

  x = g_array_index (from_a, GbtBlock, 0);
  remote_send_piece (a, &x);
  gbt_test_wait_until (remote_find (b, GBT_MSG_CANCEL, x.piece, x.begin) != NULL, WAIT_MS);
  g_assert_cmpuint (remote_find (b, GBT_MSG_CANCEL, x.piece, x.begin)->length, ==, x.length);
  g_assert_cmpuint (remote_count (b, GBT_MSG_CANCEL), ==, 1);
  g_assert_cmpuint (remote_count (a, GBT_MSG_CANCEL), ==, 0);
  g_assert_cmpuint (f->blocks->len, ==, 1);
  g_assert_true (block_equal (&g_array_index (f->blocks, GbtBlock, 0), &x));
  g_assert_false (blocks_contain (gbt_swarm_get_requests (f->swarm, pb), &x));
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, pb)->len, ==, 3);
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, pa)->len, ==, 3);
  g_assert_cmpuint (gbt_swarm_get_downloaded (f->swarm), ==, GBT_BLOCK_SIZE);
  g_assert_cmpuint (gbt_swarm_get_wasted (f->swarm), ==, 0);

  /* b sends it all the same */
  remote_send_piece (b, &x);
  gbt_test_wait_until (gbt_swarm_get_wasted (f->swarm) == GBT_BLOCK_SIZE, WAIT_MS);
  g_assert_cmpuint (gbt_swarm_get_downloaded (f->swarm), ==, GBT_BLOCK_SIZE);
  g_assert_cmpuint (f->blocks->len, ==, 1);
}

/* ---- waste ---- */

static void
test_wasted_unrequested (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtBlock x = { 3, GBT_BLOCK_SIZE, GBT_BLOCK_SIZE };
  GbtPeer *p = connect_out (f, r);

  remote_send_piece (r, &x);
  gbt_test_wait_until (gbt_swarm_get_wasted (f->swarm) == GBT_BLOCK_SIZE, WAIT_MS);
  g_assert_cmpuint (gbt_peer_get_downloaded (p), ==, GBT_BLOCK_SIZE);
  g_assert_cmpuint (gbt_swarm_get_downloaded (f->swarm), ==, 0);
  g_assert_cmpuint (f->blocks->len, ==, 0);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 0);
}

/* blocks nobody asked for: a little slack, then the peer is dropped with a
 * reason; what it sent is wasted, never downloaded */
static void
test_unrequested_flood (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_out (f, r);
  guint sent = 0;

  gbt_peer_ref (p);
  while (!gbt_peer_is_closed (p) && sent < 64)
    {
      GbtBlock x = { sent % f->n_pieces, 0, GBT_BLOCK_SIZE };
      remote_send_piece (r, &x);
      sent++;
      gbt_test_wait_until (gbt_swarm_get_wasted (f->swarm) == (guint64) sent * GBT_BLOCK_SIZE,
                           WAIT_MS);
    }
  gbt_test_wait_until (r->eof, WAIT_MS);
  /* dropped once past 256 KiB: the 17th block */
  g_assert_cmpuint (sent, ==, 17);
  g_assert_cmpuint (gbt_swarm_get_downloaded (f->swarm), ==, 0);
  g_assert_cmpuint (f->blocks->len, ==, 0);
  g_assert_cmpuint (f->dropped->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (f->dropped, 0), "never asked for"));
  g_assert_true (gbt_peer_is_closed (p));
  gbt_peer_unref (p);
}

/* blocks we gave up on (a choke without the fast extension returns them)
 * may still arrive: they are wasted, but the peer is not dropped for them */
static void
test_unrequested_late (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', FALSE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);
  g_autoptr(GArray) asked = NULL;

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  asked = remote_requests (r);
  remote_send_simple (r, GBT_MSG_CHOKE);
  gbt_test_wait_until (gbt_swarm_get_requests (f->swarm, p)->len == 0, WAIT_MS);
  for (guint i = 0; i < asked->len; i++)
    remote_send_piece (r, &g_array_index (asked, GbtBlock, i));
  gbt_test_wait_until (gbt_swarm_get_wasted (f->swarm) == asked->len * (guint64) GBT_BLOCK_SIZE,
                       WAIT_MS);
  g_assert_false (r->eof);
  g_assert_true (remote_active (f, r));
  g_assert_cmpuint (f->dropped->len, ==, 0);
}

/* ---- snubbing ---- */

static void
test_snubbed (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);
  GArray *awaited;
  GbtBlock x;

  gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) >= 64, WAIT_MS);
  f->now += S (19);
  gbt_swarm_tick (f->swarm);
  g_assert_false (gbt_swarm_is_snubbed (f->swarm, p));
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 64);

  f->now += S (2); /* 21 s without a block */
  gbt_swarm_tick (f->swarm);
  g_assert_true (gbt_swarm_is_snubbed (f->swarm, p));
  g_assert_cmpuint (gbt_swarm_get_requests (f->swarm, p)->len, ==, 0);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 0);

  /* asked again later; one block answered clears it */
  gbt_test_wait_until (gbt_swarm_get_requests (f->swarm, p)->len > 0, WAIT_MS);
  awaited = gbt_swarm_get_requests (f->swarm, p);
  x = g_array_index (awaited, GbtBlock, 0);
  gbt_test_wait_until (remote_find (r, GBT_MSG_REQUEST, x.piece, x.begin) != NULL, WAIT_MS);
  remote_send_piece (r, &x);
  gbt_test_wait_until (!gbt_swarm_is_snubbed (f->swarm, p), WAIT_MS);
  g_assert_cmpuint (f->blocks->len, ==, 1);
  g_assert_true (block_equal (&g_array_index (f->blocks, GbtBlock, 0), &x));
}

/* snubbed three times without a block in between: dropped */
static void
test_snubbed_repeatedly (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);

  gbt_peer_ref (p);
  for (guint round = 1; round <= 3; round++)
    {
      gbt_test_wait_until (gbt_swarm_get_requests (f->swarm, p)
                               && gbt_swarm_get_requests (f->swarm, p)->len > 0,
                           WAIT_MS);
      f->now += S (21);
      gbt_swarm_tick (f->swarm);
      if (round < 3)
        {
          g_assert_true (gbt_swarm_is_snubbed (f->swarm, p));
          g_assert_false (gbt_peer_is_closed (p));
        }
    }
  g_assert_true (gbt_peer_is_closed (p));
  g_assert_cmpuint (f->dropped->len, ==, 1);
  g_assert_cmpuint (gbt_picker_n_partial (f->picker), ==, 0);
  gbt_peer_unref (p);
}

/* a peer that unchokes us and rejects whatever we ask: dropped after more
 * rejects than a full queue's worth, without a block */
static void
test_rejects_everything (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  GbtPeer *p = connect_seed (f, r, 0);
  guint answered = 0;

  gbt_peer_ref (p);
  for (guint round = 0; round < 100 && !gbt_peer_is_closed (p); round++)
    {
      g_autoptr(GArray) asked = NULL;

      gbt_test_wait_until (remote_count (r, GBT_MSG_REQUEST) > answered || gbt_peer_is_closed (p),
                           WAIT_MS);
      asked = remote_requests (r);
      for (; answered < asked->len; answered++)
        {
          const GbtBlock *b = &g_array_index (asked, GbtBlock, answered);
          remote_send_request (r, GBT_MSG_REJECT, b->piece, b->begin, b->length);
        }
      gbt_test_wait_until (gbt_swarm_get_requests (f->swarm, p) == NULL
                               || gbt_swarm_get_requests (f->swarm, p)->len == 0
                               || remote_count (r, GBT_MSG_REQUEST) > answered,
                           WAIT_MS);
    }
  gbt_test_wait_until (gbt_peer_is_closed (p), WAIT_MS);
  g_assert_cmpuint (answered, >, 1000);
  g_assert_cmpuint (f->dropped->len, ==, 1);
  g_assert_nonnull (strstr (g_ptr_array_index (f->dropped, 0), "rejected"));
  gbt_peer_unref (p);
}

/* ---- uploads ---- */

/* a leecher (fast) that we have unchoked; we hold the first half */
static GbtPeer *
connect_leecher (Fixture *f, Remote *r)
{
  GbtPeer *p;

  torrent_setup (f, 64, 4 * GBT_BLOCK_SIZE, 32);
  p = connect_out (f, r);
  gbt_test_wait_until (remote_count (r, GBT_MSG_BITFIELD) == 1, WAIT_MS);
  remote_send_simple (r, GBT_MSG_INTERESTED);
  gbt_test_wait_until (remote_count (r, GBT_MSG_UNCHOKE) == 1, WAIT_MS);
  g_assert_false (gbt_peer_am_choking (p));
  return p;
}

static void
assert_piece_msg (Fixture *f, Remote *r, guint32 piece, guint32 begin)
{
  const Msg *m = remote_find (r, GBT_MSG_PIECE, piece, begin);
  g_autoptr(GBytes) expected = piece_data (f, piece, begin, GBT_BLOCK_SIZE);

  g_assert_nonnull (m);
  g_assert_true (g_bytes_equal (m->payload, expected));
}

static void
test_upload_serve (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  g_autoptr(GBytes) piece0 = NULL;
  GbtPeer *p;

  torrent_setup (f, 64, 4 * GBT_BLOCK_SIZE, 32);
  p = connect_out (f, r);
  /* choked: refused out loud (BEP 6) */
  remote_send_request (r, GBT_MSG_REQUEST, 0, 0, GBT_BLOCK_SIZE);
  gbt_test_wait_until (remote_find (r, GBT_MSG_REJECT, 0, 0) != NULL, WAIT_MS);
  g_assert_true (gbt_peer_am_choking (p));
  g_assert_cmpuint (f->reads->len, ==, 0);

  remote_send_simple (r, GBT_MSG_INTERESTED);
  gbt_test_wait_until (remote_count (r, GBT_MSG_UNCHOKE) == 1, WAIT_MS);
  /* a piece we lack */
  remote_send_request (r, GBT_MSG_REQUEST, 40, 0, GBT_BLOCK_SIZE);
  gbt_test_wait_until (remote_find (r, GBT_MSG_REJECT, 40, 0) != NULL, WAIT_MS);

  /* two blocks of piece 0: one read of the whole piece */
  remote_send_request (r, GBT_MSG_REQUEST, 0, 0, GBT_BLOCK_SIZE);
  remote_send_request (r, GBT_MSG_REQUEST, 0, GBT_BLOCK_SIZE, GBT_BLOCK_SIZE);
  remote_sync (r);
  g_assert_cmpuint (f->reads->len, ==, 1);
  g_assert_cmpuint (g_array_index (f->reads, guint, 0), ==, 0);
  g_assert_cmpuint (remote_count (r, GBT_MSG_PIECE), ==, 0);
  g_assert_cmpuint (gbt_swarm_get_uploaded (f->swarm), ==, 0);

  piece0 = piece_data (f, 0, 0, f->piece_len);
  gbt_swarm_piece_read (f->swarm, 0, piece0, NULL);
  gbt_test_wait_until (remote_count (r, GBT_MSG_PIECE) == 2, WAIT_MS);
  assert_piece_msg (f, r, 0, 0);
  assert_piece_msg (f, r, 0, GBT_BLOCK_SIZE);
  g_assert_cmpuint (gbt_swarm_get_uploaded (f->swarm), ==, 2 * GBT_BLOCK_SIZE);

  /* the next block comes from the cache */
  remote_send_request (r, GBT_MSG_REQUEST, 0, 3 * GBT_BLOCK_SIZE, GBT_BLOCK_SIZE);
  gbt_test_wait_until (remote_count (r, GBT_MSG_PIECE) == 3, WAIT_MS);
  assert_piece_msg (f, r, 0, 3 * GBT_BLOCK_SIZE);
  g_assert_cmpuint (f->reads->len, ==, 1);
  g_assert_cmpuint (gbt_swarm_get_uploaded (f->swarm), ==, 3 * GBT_BLOCK_SIZE);
  g_assert_cmpuint (remote_count (r, GBT_MSG_REJECT), ==, 3); /* choked, 40, the sync */
}

/* ops->read_piece may answer at once */
static void
test_upload_read_at_once (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);

  f->read_at_once = TRUE;
  connect_leecher (f, r);
  remote_send_request (r, GBT_MSG_REQUEST, 5, GBT_BLOCK_SIZE, GBT_BLOCK_SIZE);
  gbt_test_wait_until (remote_count (r, GBT_MSG_PIECE) == 1, WAIT_MS);
  assert_piece_msg (f, r, 5, GBT_BLOCK_SIZE);
  g_assert_cmpuint (f->reads->len, ==, 1);
}

/* a cancel takes a queued request out */
static void
test_upload_cancel (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  g_autoptr(GBytes) piece1 = NULL;

  connect_leecher (f, r);
  remote_send_request (r, GBT_MSG_REQUEST, 1, 0, GBT_BLOCK_SIZE);
  remote_send_request (r, GBT_MSG_REQUEST, 1, GBT_BLOCK_SIZE, GBT_BLOCK_SIZE);
  remote_send_request (r, GBT_MSG_CANCEL, 1, 0, GBT_BLOCK_SIZE);
  remote_sync (r);
  g_assert_cmpuint (f->reads->len, ==, 1);
  piece1 = piece_data (f, 1, 0, f->piece_len);
  gbt_swarm_piece_read (f->swarm, 1, piece1, NULL);
  /* served in order: had the first stayed, it would come before this */
  gbt_test_wait_until (remote_count (r, GBT_MSG_PIECE) == 1, WAIT_MS);
  assert_piece_msg (f, r, 1, GBT_BLOCK_SIZE);
  g_assert_null (remote_find (r, GBT_MSG_PIECE, 1, 0));
  remote_sync (r);
  g_assert_cmpuint (remote_count (r, GBT_MSG_PIECE), ==, 1);
  g_assert_cmpuint (gbt_swarm_get_uploaded (f->swarm), ==, GBT_BLOCK_SIZE);
}

/* a piece that cannot be read: what waited for it is rejected */
static void
test_upload_read_failure (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "disk gone");

  connect_leecher (f, r);
  remote_send_request (r, GBT_MSG_REQUEST, 2, 0, GBT_BLOCK_SIZE);
  remote_send_request (r, GBT_MSG_REQUEST, 2, 2 * GBT_BLOCK_SIZE, GBT_BLOCK_SIZE);
  remote_sync (r);
  g_assert_cmpuint (f->reads->len, ==, 1);
  gbt_swarm_piece_read (f->swarm, 2, NULL, error);
  gbt_test_wait_until (remote_find (r, GBT_MSG_REJECT, 2, 0)
                           && remote_find (r, GBT_MSG_REJECT, 2, 2 * GBT_BLOCK_SIZE),
                       WAIT_MS);
  g_assert_cmpuint (remote_count (r, GBT_MSG_PIECE), ==, 0);
  g_assert_cmpuint (gbt_swarm_get_uploaded (f->swarm), ==, 0);
  /* not cached as a failure: the next request reads again */
  remote_send_request (r, GBT_MSG_REQUEST, 2, 0, GBT_BLOCK_SIZE);
  remote_sync (r);
  g_assert_cmpuint (f->reads->len, ==, 2);
  g_assert_cmpuint (g_array_index (f->reads, guint, 1), ==, 2);
}

/* ---- choking ---- */

/* interested peers wait for the rechoke every 10 ticks; then 4 regular
 * slots and one optimistic are unchoked */
static void
test_choke_rechoke (Fixture *f, gconstpointer data)
{
  Remote *r[6];
  GbtPeer *p[6];
  guint unchoked = 0;

  torrent_setup (f, 64, 4 * GBT_BLOCK_SIZE, 32);
  /* no picker (as before the metadata): nobody is unchoked on interest */
  gbt_swarm_set_picker (f->swarm, NULL);
  for (guint i = 0; i < 6; i++)
    {
      g_autofree char *ip = g_strdup_printf ("127.0.0.%u", 10 + i);
      r[i] = remote_new_c (f, ip, 7001, (char) ('a' + i), TRUE, FALSE);
      p[i] = connect_out (f, r[i]);
      remote_send_simple (r[i], GBT_MSG_INTERESTED);
    }
  for (guint i = 0; i < 6; i++)
    {
      gbt_test_wait_until (gbt_peer_is_interested (p[i]), WAIT_MS);
      remote_sync (r[i]);
    }
  gbt_swarm_set_picker (f->swarm, f->picker);
  for (guint t = 0; t < 9; t++)
    {
      f->now += S (1);
      gbt_swarm_tick (f->swarm);
    }
  for (guint i = 0; i < 6; i++)
    g_assert_true (gbt_peer_am_choking (p[i]));
  f->now += S (1);
  gbt_swarm_tick (f->swarm);
  for (guint i = 0; i < 6; i++)
    unchoked += gbt_peer_am_choking (p[i]) ? 0 : 1;
  g_assert_cmpuint (unchoked, ==, 5);
  for (guint i = 0; i < 6; i++)
    {
      if (!gbt_peer_am_choking (p[i]))
        gbt_test_wait_until (remote_count (r[i], GBT_MSG_UNCHOKE) == 1, WAIT_MS);
      remote_sync (r[i]);
      g_assert_cmpuint (remote_count (r[i], GBT_MSG_UNCHOKE), ==, gbt_peer_am_choking (p[i]) ? 0 : 1);
    }
}

/* ---- dialling ---- */

/* a failed dial waits 30 s, then 60 s */
static void
test_dial_backoff (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new_from_string ("127.0.0.2", 7001);
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (a);

  add_candidate (f, ia);
  g_assert_cmpuint (f->n_dials, ==, 1);
  dial_fail (f, ia);
  drain_main_context ();
  g_assert_cmpuint (f->n_dials, ==, 1);
  /* the same address again is no news */
  add_candidate (f, ia);
  g_assert_cmpuint (f->n_dials, ==, 1);

  f->now += S (29);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 1);
  f->now += S (1);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 2);
  g_assert_nonnull (dial_find (f, ia));

  dial_fail (f, ia);
  drain_main_context ();
  f->now += S (59);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 2);
  f->now += S (1);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 3);
}

/* a peer that gave us data and left is called again sooner than one that
 * gave nothing */
static void
test_dial_retry_after_data (Fixture *f, gconstpointer data)
{
  Remote *giver = remote_new_c (f, "127.0.0.2", 7001, 'a', TRUE, FALSE);
  Remote *idler = remote_new_c (f, "127.0.0.3", 7001, 'b', TRUE, FALSE);
  GbtBlock x = { 3, 0, GBT_BLOCK_SIZE };
  GbtPeer *pg = connect_out (f, giver);

  connect_out (f, idler);
  remote_send_piece (giver, &x);
  gbt_test_wait_until (gbt_peer_get_downloaded (pg) == GBT_BLOCK_SIZE, WAIT_MS);
  remote_hang_up (giver);
  remote_hang_up (idler);
  gbt_test_wait_until (giver->eof && idler->eof, WAIT_MS);
  g_assert_cmpuint (gbt_swarm_get_n_peers (f->swarm), ==, 0);
  g_assert_cmpuint (f->n_dials, ==, 2);

  f->now += S (29);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 2);
  f->now += S (1);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 3);
  g_assert_nonnull (dial_find (f, giver->address));
  g_assert_null (dial_find (f, idler->address));
  f->now += S (30);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 4);
  g_assert_nonnull (dial_find (f, idler->address));
}

/* a stopped torrent dials nobody and takes nobody */
static void
test_dial_stopped (Fixture *f, gconstpointer data)
{
  Remote *r = remote_new_c (f, "127.0.0.2", 50001, 'a', TRUE, FALSE);

  gbt_swarm_set_state (f->swarm, GBT_TORRENT_STATE_STOPPED);
  add_candidate_at (f, "127.0.0.2", 7001);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 0);
  remote_incoming (f, r);
  gbt_test_wait_until (r->eof, WAIT_MS);
  g_assert_error (r->accept_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  gbt_swarm_set_state (f->swarm, GBT_TORRENT_STATE_DOWNLOADING);
  gbt_swarm_tick (f->swarm);
  g_assert_cmpuint (f->n_dials, ==, 1);
}

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_DATA(path, data, func)                                                             \
  g_test_add (path, Fixture, data, fixture_setup, func, fixture_teardown)

int
main (int argc, char **argv)
{
  static const DuplicateCase greater_in = { TRUE, TRUE }, greater_out = { TRUE, FALSE },
                             lesser_in = { FALSE, TRUE }, lesser_out = { FALSE, FALSE };

  /* a write to a fake peer that closed must fail, not kill us */
  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  ADD ("/swarm/duplicate/outgoing-twice", test_duplicate_outgoing_twice);
  ADD ("/swarm/duplicate/incoming-twice", test_duplicate_incoming_twice);
  ADD ("/swarm/report/ready-closed", test_report_ready_closed);
  ADD_DATA ("/swarm/duplicate/both-ways/they-greater/incoming-first", &greater_in,
            test_duplicate_both_ways);
  ADD_DATA ("/swarm/duplicate/both-ways/they-greater/outgoing-first", &greater_out,
            test_duplicate_both_ways);
  ADD_DATA ("/swarm/duplicate/both-ways/we-greater/incoming-first", &lesser_in,
            test_duplicate_both_ways);
  ADD_DATA ("/swarm/duplicate/both-ways/we-greater/outgoing-first", &lesser_out,
            test_duplicate_both_ways);
  ADD ("/swarm/self/outgoing", test_self_outgoing);
  ADD ("/swarm/self/incoming", test_self_incoming);
  ADD ("/swarm/self/own-address", test_self_own_address);
  ADD ("/swarm/room/idle-replaced", test_room_idle_replaced);
  ADD ("/swarm/room/none", test_room_none);
  ADD ("/swarm/ban/sole-contributor", test_ban_sole);
  ADD ("/swarm/ban/not-redialled", test_ban_not_redialled);
  ADD ("/swarm/ban/shared", test_ban_shared);
  ADD ("/swarm/ban/smart", test_smart_ban);
  ADD ("/swarm/ban/parole", test_parole);
  ADD ("/swarm/unrequested/flood", test_unrequested_flood);
  ADD ("/swarm/unrequested/late", test_unrequested_late);
  ADD ("/swarm/snub/repeatedly", test_snubbed_repeatedly);
  ADD ("/swarm/reject/everything", test_rejects_everything);
  ADD ("/swarm/trust/passed", test_trust_passed);
  ADD ("/swarm/request/queue-target", test_request_queue_target);
  ADD ("/swarm/request/reqq", test_request_reqq);
  ADD ("/swarm/request/reject", test_request_reject);
  ADD ("/swarm/request/choke/not-fast", test_request_choke_not_fast);
  ADD ("/swarm/request/choke/fast", test_request_choke_fast);
  ADD ("/swarm/request/buffer-limit", test_request_buffer_limit);
  ADD ("/swarm/endgame/cancel", test_endgame_cancel);
  ADD ("/swarm/wasted/unrequested", test_wasted_unrequested);
  ADD ("/swarm/snub/timeout", test_snubbed);
  ADD ("/swarm/upload/serve", test_upload_serve);
  ADD ("/swarm/upload/read-at-once", test_upload_read_at_once);
  ADD ("/swarm/upload/cancel", test_upload_cancel);
  ADD ("/swarm/upload/read-failure", test_upload_read_failure);
  ADD ("/swarm/choke/rechoke", test_choke_rechoke);
  ADD ("/swarm/dial/backoff", test_dial_backoff);
  ADD ("/swarm/dial/retry-after-data", test_dial_retry_after_data);
  ADD ("/swarm/dial/stopped", test_dial_stopped);
  return g_test_run ();
}
