/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Feeds arbitrary bytes to the peer wire parser: the handshake, then the
 * message stream under limits taken from the first input bytes (so torrents
 * with and without metadata are both covered).  Every message parsed must
 * lie inside the input.
 */
#include <stdint.h>
#include <string.h>

#include "gbt-peer-wire.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_inside (const uint8_t *data, size_t size, const guint8 *p, gsize len)
{
  if (len > 0 && (p < data || p + len > data + size))
    g_error ("payload outside the input");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GbtHandshake hs;
  GbtWireLimits limits = { 0 };
  const uint8_t *p = data;
  size_t left = size;

  /* the stream starts with a handshake when it parses as one */
  if (gbt_wire_parse_handshake (data, size, &hs, NULL))
    {
      p += GBT_HANDSHAKE_LEN;
      left -= GBT_HANDSHAKE_LEN;
    }

  /* 4 bytes of limits: n_pieces (0 = no metadata), piece length, a short
   * last piece, the message size limit */
  if (left >= 4)
    {
      limits.n_pieces = p[0];
      limits.piece_length = 16384u << (p[1] % 4);
      if (limits.n_pieces > 0)
        limits.total_size = (guint64) limits.piece_length * (limits.n_pieces - 1) +
                            1 + (p[2] * 97u) % limits.piece_length;
      limits.max_message_len = p[3] % 2 ? 0 : 16384 + 13;
      p += 4;
      left -= 4;
    }

  while (left > 0)
    {
      GbtWireMsg msg;
      GError *error = NULL;
      gssize n = gbt_wire_parse (p, left, &limits, &msg, &error);

      if (n < 0)
        {
          g_assert (error != NULL);
          g_error_free (error);
          break;
        }
      g_assert (error == NULL);
      if (n == 0)
        break;
      g_assert ((size_t) n <= left);
      check_inside (data, size, msg.payload, msg.payload_len);
      if (msg.id == GBT_MSG_PIECE && limits.n_pieces > 0)
        g_assert (msg.index < limits.n_pieces && msg.length > 0);
      p += n;
      left -= n;
    }
  return 0;
}
