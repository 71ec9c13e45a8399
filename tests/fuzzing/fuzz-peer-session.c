/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Feeds bytes, as the remote side, into a live GbtPeer owned by a real
 * GbtSwarm: the peer connects in, the swarm takes it from the handshake
 * event (as the session's listener does), and everything after the
 * handshake reaches the swarm's request, upload, choking and piece-set
 * code through the peer's events.  The remote end is a pair of pipes
 * (as in tests/peer.c); the main context runs until the input is consumed,
 * the swarm ticks a few times with the peer still connected, then the
 * remote hangs up.
 *
 * The first input byte chooses the setup:
 *   bit 0: the target writes a valid handshake for our torrent first, with
 *          the reserved bits of byte 1 (fast, LTEP, DHT), so the fuzzer
 *          need not keep 68 bytes intact; else the input holds its own
 *   bit 1: we are a seed; else we have the first half of the pieces
 *   bit 2: a magnet: no metadata until the input is consumed (the peer
 *          keeps its piece announcements until then)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "gbt-peer-private.h"
#include "gbt-peer-wire.h"
#include "gbt-picker.h"
#include "gbt-swarm.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* 8 pieces of two blocks, the last one short */
#define N_PIECES 8
#define PIECE_LEN (2 * GBT_BLOCK_SIZE)
#define TOTAL_SIZE ((guint64) (N_PIECES - 1) * PIECE_LEN + 5000)

#define OPT_HANDSHAKE 1
#define OPT_SEED 2
#define OPT_MAGNET 4

static const guint8 info_hash[20] = "fuzz-peer-session-ih";
static const guint8 our_id[20] = "-GB0001-fuzzpeerid00";
static const guint8 remote_id[20] = "-XX0001-fuzzremoteid";

typedef struct {
  GbtSwarm *swarm;
  GbtPicker *picker;
  GbtBitfield have, want;
  GbtWireLimits limits;
  GbtSwarmConfig config;
  guint8 zeros[PIECE_LEN];
} Session;

static void
fake_block (gpointer data, const GbtBlock *block, const guint8 *bytes, const char *from,
            gboolean complete)
{
  /* the swarm checked it against its requests: touch every byte */
  volatile guint8 sum = 0;

  for (guint32 i = 0; i < block->length; i++)
    sum ^= bytes[i];
  (void) sum;
}

static gboolean
fake_over_buffer_limit (gpointer data)
{
  return FALSE;
}

static void
fake_read_piece (gpointer data, guint piece)
{
  Session *s = data;
  guint64 len = piece + 1 < N_PIECES ? PIECE_LEN : TOTAL_SIZE - (guint64) piece * PIECE_LEN;
  g_autoptr(GBytes) bytes = g_bytes_new (s->zeros, len);

  gbt_swarm_piece_read (s->swarm, piece, bytes, NULL);
}

static void
fake_connect_async (gpointer data, GInetSocketAddress *address, const char *preferred,
                    const char *avoid, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data)
{
  (void) preferred;
  (void) avoid;
  /* never dials (can_dial is FALSE); were it to, the dial fails */
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "no dialling");
  g_object_unref (task);
}

static GIOStream *
fake_connect_finish (GObject *source, GAsyncResult *result, const char **transport,
                     GError **error)
{
  (void) transport;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static const GbtSwarmOps fake_ops = {
  .block = fake_block,
  .over_buffer_limit = fake_over_buffer_limit,
  .read_piece = fake_read_piece,
  .connect_async = fake_connect_async,
  .connect_finish = fake_connect_finish,
};

/* the session's listener: hands the peer to the swarm of its info-hash */
static gboolean
listener_handshake_cb (GbtPeer *peer, gpointer data, GError **error)
{
  Session *s = data;

  if (memcmp (gbt_peer_get_remote_info_hash (peer), info_hash, 20) != 0)
    {
      g_set_error_literal (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                           "no such torrent");
      return FALSE;
    }
  return gbt_swarm_accept (s->swarm, peer, error);
}

static const GbtPeerEvents listener_events = {
  .handshake = listener_handshake_cb,
};

static void
session_init (Session *s, guint opts)
{
  gboolean magnet = (opts & OPT_MAGNET) != 0;

  memset (s, 0, sizeof *s);
  s->swarm = gbt_swarm_new (&fake_ops, s);
  if (magnet)
    gbt_bitfield_init (&s->have, 0);
  else
    {
      gbt_bitfield_init (&s->have, N_PIECES);
      s->limits = (GbtWireLimits) { N_PIECES, PIECE_LEN, TOTAL_SIZE, 0 };
    }
  gbt_bitfield_init (&s->want, magnet ? 0 : N_PIECES);
  gbt_bitfield_set_all (&s->want);
  s->config.max_peers = 8;
  s->config.listen_port = 6881;
  memcpy (s->config.peer_id, our_id, 20);
  memcpy (s->config.info_hash, info_hash, 20);
  s->config.have = &s->have;
  s->config.want = &s->want;
  s->config.limits = &s->limits;
  gbt_swarm_configure (s->swarm, &s->config);
  if (magnet)
    {
      gbt_swarm_set_state (s->swarm, GBT_TORRENT_STATE_FETCHING_METADATA);
      return;
    }
  s->picker = gbt_picker_new (N_PIECES, PIECE_LEN, TOTAL_SIZE);
  for (guint i = 0; i < N_PIECES; i++)
    if ((opts & OPT_SEED) || i < N_PIECES / 2)
      {
        gbt_bitfield_set (&s->have, i, TRUE);
        gbt_picker_set_have (s->picker, i);
      }
  gbt_swarm_set_picker (s->swarm, s->picker);
  gbt_swarm_set_state (s->swarm, (opts & OPT_SEED) ? GBT_TORRENT_STATE_SEEDING
                                                    : GBT_TORRENT_STATE_DOWNLOADING);
}

/* a magnet's metadata arrives: the torrent sizes its piece set and picker */
static void
session_metadata (Session *s)
{
  gbt_bitfield_clear (&s->have);
  gbt_bitfield_init (&s->have, N_PIECES);
  gbt_bitfield_clear (&s->want);
  gbt_bitfield_init (&s->want, N_PIECES);
  gbt_bitfield_set_all (&s->want);
  s->limits = (GbtWireLimits) { N_PIECES, PIECE_LEN, TOTAL_SIZE, 0 };
  s->picker = gbt_picker_new (N_PIECES, PIECE_LEN, TOTAL_SIZE);
  gbt_swarm_set_picker (s->swarm, s->picker);
  gbt_swarm_metadata_arrived (s->swarm);
  gbt_swarm_set_state (s->swarm, GBT_TORRENT_STATE_DOWNLOADING);
  gbt_swarm_went_live (s->swarm);
}

static void
session_clear (Session *s)
{
  gbt_swarm_free (s->swarm);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&s->picker, gbt_picker_free);
  gbt_bitfield_clear (&s->have);
  gbt_bitfield_clear (&s->want);
}

static void
open_pipe (int fds[2])
{
  if (!g_unix_open_pipe (fds, FD_CLOEXEC, NULL) || !g_unix_set_fd_nonblocking (fds[0], TRUE, NULL)
      || !g_unix_set_fd_nonblocking (fds[1], TRUE, NULL))
    g_error ("cannot make a pipe");
}

/* what the peer sends is read and dropped, so it never waits for room */
static void
drain (int fd)
{
  guint8 buf[65536];

  while (read (fd, buf, sizeof buf) > 0)
    ;
}

/* writes what the pipe takes; the new position */
static gsize
feed (int fd, const guint8 *data, gsize len, gsize pos)
{
  while (pos < len)
    {
      gssize n = write (fd, data + pos, len - pos);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
        return len; /* EPIPE: the peer is gone, the rest is dropped */
      pos += n;
    }
  return pos;
}

/* the peer has read everything written to it and nothing is ready to run */
static gboolean
settled (int read_end)
{
  int queued = 0;

  if (g_main_context_pending (NULL))
    return FALSE;
  return ioctl (read_end, FIONREAD, &queued) < 0 || queued == 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean once;
  Session s;
  guint opts;
  int to_peer[2], from_peer[2];
  g_autoptr(GByteArray) input = g_byte_array_new ();
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (ip, 51413);
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GOutputStream) out = NULL;
  g_autoptr(GIOStream) stream = NULL;
  GbtPeer *peer;
  gsize pos = 0;

  if (!once)
    {
      /* the peer may hang up while we still write to it */
      signal (SIGPIPE, SIG_IGN);
      once = TRUE;
    }
  if (size < 1)
    return 0;
  opts = data[0];
  data++, size--;
  if (opts & OPT_HANDSHAKE)
    {
      guint8 reserved[8] = { 0 }, hs[GBT_HANDSHAKE_LEN];
      guint bits = size > 0 ? data[0] : 0;

      if (size > 0)
        data++, size--;
      if (bits & 1)
        reserved[GBT_RESERVED_FAST_BYTE] |= GBT_RESERVED_FAST_MASK;
      if (bits & 2)
        reserved[GBT_RESERVED_EXTENSION_BYTE] |= GBT_RESERVED_EXTENSION_MASK;
      if (bits & 4)
        reserved[GBT_RESERVED_DHT_BYTE] |= GBT_RESERVED_DHT_MASK;
      gbt_wire_write_handshake (hs, reserved, info_hash, remote_id);
      g_byte_array_append (input, hs, sizeof hs);
    }
  g_byte_array_append (input, data, size);

  session_init (&s, opts);
  open_pipe (to_peer);
  open_pipe (from_peer);
  in = g_unix_input_stream_new (to_peer[0], TRUE);
  out = g_unix_output_stream_new (from_peer[1], TRUE);
  stream = g_simple_io_stream_new (in, out);
  peer = gbt_peer_new (stream, G_INET_SOCKET_ADDRESS (addr), TRUE);
  gbt_peer_start (peer, &listener_events, &s, NULL);

  /* the input, as fast as the peer reads it */
  while (!gbt_peer_is_closed (peer) && (pos < input->len || !settled (to_peer[0])))
    {
      pos = feed (to_peer[1], input->data, input->len, pos);
      g_main_context_iteration (NULL, FALSE);
      drain (from_peer[0]);
    }
  /* the peer still connected: the torrent's news and the swarm's ticks */
  if (!gbt_peer_is_closed (peer))
    {
      if (opts & OPT_MAGNET)
        session_metadata (&s);
      for (int i = 0; i < 3; i++)
        {
          gbt_swarm_tick (s.swarm);
          while (g_main_context_iteration (NULL, FALSE))
            drain (from_peer[0]);
        }
    }
  /* the remote hangs up */
  close (to_peer[1]);
  while (!gbt_peer_is_closed (peer) && g_main_context_iteration (NULL, FALSE))
    drain (from_peer[0]);
  session_clear (&s);
  gbt_peer_unref (peer);
  close (from_peer[0]);
  return 0;
}
