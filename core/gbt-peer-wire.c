/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Peer wire framing (BEP 3, with the BEP 6 fast extension ids and the BEP 10
 * extended message).  Pure functions over byte buffers: the parser never
 * copies (payloads point into the caller's buffer) and never allocates
 * unless it reports an error, because it runs once for every 16 KiB block.
 *
 * Every message is <length:u32be><id:u8><payload>; a length of 0 is a
 * keep-alive.  The length prefix is checked against the limit before the
 * body has arrived, so a peer cannot make us buffer a huge message.
 */
#include "config.h"

#include <string.h>

#include "gbt-peer-wire.h"

G_DEFINE_QUARK (gbt-peer-wire-error-quark, gbt_peer_wire_error)

static inline guint32
read_u32 (const guint8 *p)
{
  guint32 v;

  memcpy (&v, p, 4);
  return GUINT32_FROM_BE (v);
}

static inline void
append_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

/* Appends <length><id> for a message whose payload is @payload_len bytes. */
static inline void
append_header (GByteArray *out, guint8 id, gsize payload_len)
{
  guint8 b[5];
  guint32 len = (guint32) payload_len + 1;

  b[0] = len >> 24;
  b[1] = len >> 16;
  b[2] = len >> 8;
  b[3] = len;
  b[4] = id;
  g_byte_array_append (out, b, 5);
}

void
gbt_wire_write_handshake (guint8 out[GBT_HANDSHAKE_LEN],
                          const guint8 reserved[8],
                          const guint8 info_hash[20],
                          const guint8 peer_id[20])
{
  out[0] = 19;
  memcpy (out + 1, GBT_PROTOCOL_STRING, 19);
  memcpy (out + 20, reserved, 8);
  memcpy (out + 28, info_hash, 20);
  memcpy (out + 48, peer_id, 20);
}

gboolean
gbt_wire_parse_handshake (const guint8 *data, gsize len, GbtHandshake *out, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (len < GBT_HANDSHAKE_LEN)
    {
      g_set_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE,
                   "Handshake truncated: %" G_GSIZE_FORMAT " of %d bytes", len,
                   GBT_HANDSHAKE_LEN);
      return FALSE;
    }
  if (data[0] != 19 || memcmp (data + 1, GBT_PROTOCOL_STRING, 19) != 0)
    {
      g_set_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE,
                   "Not a BitTorrent handshake (protocol string length %u)", data[0]);
      return FALSE;
    }
  memcpy (out->reserved, data + 20, 8);
  memcpy (out->info_hash, data + 28, 20);
  memcpy (out->peer_id, data + 48, 20);
  return TRUE;
}

static gssize
fail (GError **error, int code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gssize
fail (GError **error, int code, const char *format, ...)
{
  va_list args;

  if (error == NULL)
    return -1;
  va_start (args, format);
  *error = g_error_new_valist (GBT_PEER_WIRE_ERROR, code, format, args);
  va_end (args);
  return -1;
}

static const char *
msg_name (int id)
{
  switch (id)
    {
    case GBT_MSG_CHOKE: return "choke";
    case GBT_MSG_UNCHOKE: return "unchoke";
    case GBT_MSG_INTERESTED: return "interested";
    case GBT_MSG_NOT_INTERESTED: return "not interested";
    case GBT_MSG_HAVE: return "have";
    case GBT_MSG_BITFIELD: return "bitfield";
    case GBT_MSG_REQUEST: return "request";
    case GBT_MSG_PIECE: return "piece";
    case GBT_MSG_CANCEL: return "cancel";
    case GBT_MSG_PORT: return "port";
    case GBT_MSG_SUGGEST: return "suggest";
    case GBT_MSG_HAVE_ALL: return "have all";
    case GBT_MSG_HAVE_NONE: return "have none";
    case GBT_MSG_REJECT: return "reject";
    case GBT_MSG_ALLOWED_FAST: return "allowed fast";
    case GBT_MSG_EXTENDED: return "extended";
    default: return "unknown";
    }
}

static inline guint64
piece_size (const GbtWireLimits *limits, guint32 index)
{
  if (index + 1 == limits->n_pieces)
    return limits->total_size - (guint64) index * limits->piece_length;
  return limits->piece_length;
}

/* Checks a (index, begin, length) triple of request, cancel, reject and
 * piece.  Without metadata (n_pieces 0) only the block length can be
 * checked; the caller refuses such messages if they are not allowed yet. */
static inline gboolean
check_block (const GbtWireLimits *limits, int id, guint32 index, guint32 begin,
             guint32 length, GError **error)
{
  if (G_UNLIKELY (length == 0 || length > GBT_WIRE_MAX_BLOCK_LEN))
    {
      fail (error, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE,
            "Peer sent a %s for a block of %u bytes (allowed 1 to %u)", msg_name (id), length,
            GBT_WIRE_MAX_BLOCK_LEN);
      return FALSE;
    }
  if (limits->n_pieces == 0)
    return TRUE;
  if (G_UNLIKELY (index >= limits->n_pieces))
    {
      fail (error, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE,
            "Peer sent a %s for piece %u of %u", msg_name (id), index, limits->n_pieces);
      return FALSE;
    }
  if (G_UNLIKELY ((guint64) begin + length > piece_size (limits, index)))
    {
      fail (error, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE,
            "Peer sent a %s for bytes %u+%u of piece %u, which has %" G_GUINT64_FORMAT,
            msg_name (id), begin, length, index, piece_size (limits, index));
      return FALSE;
    }
  return TRUE;
}

static inline gboolean
check_index (const GbtWireLimits *limits, int id, guint32 index, GError **error)
{
  if (G_UNLIKELY (limits->n_pieces != 0 && index >= limits->n_pieces))
    {
      fail (error, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, "Peer sent a %s for piece %u of %u",
            msg_name (id), index, limits->n_pieces);
      return FALSE;
    }
  return TRUE;
}

gssize
gbt_wire_parse (const guint8 *data, gsize len, const GbtWireLimits *limits, GbtWireMsg *msg,
                GError **error)
{
  static const GbtWireLimits no_limits = { 0 };
  const guint8 *body;
  guint32 msg_len, max_len;
  gsize plen;
  int id;

  g_return_val_if_fail (data != NULL || len == 0, -1);
  g_return_val_if_fail (msg != NULL, -1);

  if (len < 4)
    return 0;
  if (limits == NULL)
    limits = &no_limits;

  msg_len = read_u32 (data);
  if (msg_len == 0)
    {
      memset (msg, 0, sizeof *msg);
      msg->id = GBT_MSG_KEEPALIVE;
      return 4;
    }

  /* Checked before waiting for the body: the caller buffers it whole. */
  max_len = limits->max_message_len ? limits->max_message_len : GBT_WIRE_DEFAULT_MAX_MESSAGE_LEN;
  if (G_UNLIKELY (msg_len > max_len))
    return fail (error, GBT_PEER_WIRE_ERROR_TOO_LONG,
                 "Peer sent a message of %u bytes (limit %u)", msg_len, max_len);
  if (len - 4 < msg_len)
    return 0;

  id = data[4];
  body = data + 5;
  plen = msg_len - 1;

  memset (msg, 0, sizeof *msg);
  msg->id = id;

  switch (id)
    {
    case GBT_MSG_PIECE:
      /* the hot path: most bytes arrive here */
      if (G_UNLIKELY (plen < 8))
        goto bad_length;
      msg->index = read_u32 (body);
      msg->begin = read_u32 (body + 4);
      msg->length = (guint32) (plen - 8);
      msg->payload = body + 8;
      msg->payload_len = plen - 8;
      if (!check_block (limits, id, msg->index, msg->begin, msg->length, error))
        return -1;
      break;

    case GBT_MSG_REQUEST:
    case GBT_MSG_CANCEL:
    case GBT_MSG_REJECT:
      if (G_UNLIKELY (plen != 12))
        goto bad_length;
      msg->index = read_u32 (body);
      msg->begin = read_u32 (body + 4);
      msg->length = read_u32 (body + 8);
      if (!check_block (limits, id, msg->index, msg->begin, msg->length, error))
        return -1;
      break;

    case GBT_MSG_CHOKE:
    case GBT_MSG_UNCHOKE:
    case GBT_MSG_INTERESTED:
    case GBT_MSG_NOT_INTERESTED:
    case GBT_MSG_HAVE_ALL:
    case GBT_MSG_HAVE_NONE:
      if (G_UNLIKELY (plen != 0))
        goto bad_length;
      break;

    case GBT_MSG_HAVE:
    case GBT_MSG_SUGGEST:
    case GBT_MSG_ALLOWED_FAST:
      if (G_UNLIKELY (plen != 4))
        goto bad_length;
      msg->index = read_u32 (body);
      if (!check_index (limits, id, msg->index, error))
        return -1;
      break;

    case GBT_MSG_BITFIELD:
      /* Without metadata (magnet) the size is unknown: the caller keeps the
       * bytes until the piece count is known. */
      if (limits->n_pieces != 0)
        {
          guint spare;

          if (G_UNLIKELY (plen != ((gsize) limits->n_pieces + 7) / 8))
            goto bad_length;
          spare = (guint) (plen * 8 - limits->n_pieces);
          /* BEP 3: spare bits at the end are zero; a set one claims a
           * piece past the end of the torrent. */
          if (G_UNLIKELY (spare != 0 && (body[plen - 1] & ((1u << spare) - 1)) != 0))
            return fail (error, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE,
                         "Peer sent a bitfield with spare bits set past piece %u",
                         limits->n_pieces);
        }
      msg->payload = body;
      msg->payload_len = plen;
      break;

    case GBT_MSG_PORT:
      if (G_UNLIKELY (plen != 2))
        goto bad_length;
      msg->port = (guint16) ((body[0] << 8) | body[1]);
      break;

    case GBT_MSG_EXTENDED:
      if (G_UNLIKELY (plen < 1))
        goto bad_length;
      msg->ext_id = body[0];
      msg->payload = body + 1;
      msg->payload_len = plen - 1;
      break;

    default:
      /* BEP 3: unknown ids are ignored; the caller decides. */
      msg->payload = body;
      msg->payload_len = plen;
      break;
    }

  return (gssize) msg_len + 4;

bad_length:
  return fail (error, GBT_PEER_WIRE_ERROR_BAD_LENGTH,
               "Peer sent a %s message (id %d) with a payload of %" G_GSIZE_FORMAT " bytes",
               msg_name (id), id, plen);
}

void
gbt_wire_write_simple (GByteArray *out, GbtMsgId id)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail ((id >= GBT_MSG_CHOKE && id <= GBT_MSG_NOT_INTERESTED) ||
                    id == GBT_MSG_HAVE_ALL || id == GBT_MSG_HAVE_NONE);

  append_header (out, id, 0);
}

void
gbt_wire_write_keepalive (GByteArray *out)
{
  g_return_if_fail (out != NULL);

  append_u32 (out, 0);
}

/* have, suggest, allowed fast: one index */
static void
write_index_msg (GByteArray *out, guint8 id, guint32 index)
{
  append_header (out, id, 4);
  append_u32 (out, index);
}

void
gbt_wire_write_have (GByteArray *out, guint32 index)
{
  g_return_if_fail (out != NULL);

  write_index_msg (out, GBT_MSG_HAVE, index);
}

void
gbt_wire_write_suggest (GByteArray *out, guint32 index)
{
  g_return_if_fail (out != NULL);

  write_index_msg (out, GBT_MSG_SUGGEST, index);
}

void
gbt_wire_write_allowed_fast (GByteArray *out, guint32 index)
{
  g_return_if_fail (out != NULL);

  write_index_msg (out, GBT_MSG_ALLOWED_FAST, index);
}

void
gbt_wire_write_bitfield (GByteArray *out, const guint8 *bits, gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (bits != NULL || len == 0);
  g_return_if_fail (len < G_MAXUINT32);

  append_header (out, GBT_MSG_BITFIELD, len);
  if (len > 0)
    g_byte_array_append (out, bits, (guint) len);
}

void
gbt_wire_write_request (GByteArray *out, GbtMsgId id, guint32 index, guint32 begin,
                        guint32 length)
{
  guint8 b[12];

  g_return_if_fail (out != NULL);
  g_return_if_fail (id == GBT_MSG_REQUEST || id == GBT_MSG_CANCEL || id == GBT_MSG_REJECT);

  append_header (out, id, 12);
  b[0] = index >> 24, b[1] = index >> 16, b[2] = index >> 8, b[3] = index;
  b[4] = begin >> 24, b[5] = begin >> 16, b[6] = begin >> 8, b[7] = begin;
  b[8] = length >> 24, b[9] = length >> 16, b[10] = length >> 8, b[11] = length;
  g_byte_array_append (out, b, 12);
}

void
gbt_wire_write_piece_header (GByteArray *out, guint32 index, guint32 begin, guint32 block_len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (block_len <= G_MAXUINT32 - 9);

  append_header (out, GBT_MSG_PIECE, (gsize) block_len + 8);
  append_u32 (out, index);
  append_u32 (out, begin);
}

void
gbt_wire_write_port (GByteArray *out, guint16 port)
{
  guint8 b[2] = { port >> 8, port };

  g_return_if_fail (out != NULL);

  append_header (out, GBT_MSG_PORT, 2);
  g_byte_array_append (out, b, 2);
}

void
gbt_wire_write_extended (GByteArray *out, guint8 ext_id, const guint8 *payload, gsize len)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (payload != NULL || len == 0);
  g_return_if_fail (len < G_MAXUINT32 - 1);

  append_header (out, GBT_MSG_EXTENDED, len + 1);
  g_byte_array_append (out, &ext_id, 1);
  if (len > 0)
    g_byte_array_append (out, payload, (guint) len);
}
