/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gbt-peer-wire.h"
#include "test-utils.h"

/* 10 pieces of 64 KiB, the last one 10000 bytes */
#define N_PIECES 10
#define PIECE_LEN (64 * 1024)
#define TOTAL_SIZE ((guint64) 9 * PIECE_LEN + 10000)

static const GbtWireLimits limits = {
  .n_pieces = N_PIECES,
  .piece_length = PIECE_LEN,
  .total_size = TOTAL_SIZE,
  .max_message_len = 16384 + 13,
};

/* Parses exactly one message that fills @data. */
static void
parse_one (const guint8 *data, gsize len, const GbtWireLimits *lim, GbtWireMsg *msg)
{
  g_autoptr(GError) error = NULL;
  gssize n = gbt_wire_parse (data, len, lim, msg, &error);

  g_assert_no_error (error);
  g_assert_cmpint (n, ==, (gssize) len);
  /* every proper prefix needs more input and sets nothing */
  for (gsize i = 0; i < len; i++)
    {
      GbtWireMsg m;

      g_assert_cmpint (gbt_wire_parse (data, i, lim, &m, &error), ==, 0);
      g_assert_no_error (error);
    }
}

static void
test_handshake (void)
{
  guint8 reserved[8] = { 0, 0, 0, 0, 0, GBT_RESERVED_EXTENSION_MASK, 0,
                         GBT_RESERVED_FAST_MASK | GBT_RESERVED_DHT_MASK };
  guint8 info_hash[20], peer_id[20], buf[GBT_HANDSHAKE_LEN];
  GbtHandshake hs;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 20; i++)
    info_hash[i] = i, peer_id[i] = 100 + i;
  gbt_wire_write_handshake (buf, reserved, info_hash, peer_id);
  g_assert_cmpint (buf[0], ==, 19);
  g_assert_cmpmem (buf + 1, 19, "BitTorrent protocol", 19);

  g_assert_true (gbt_wire_parse_handshake (buf, sizeof buf, &hs, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (hs.reserved, 8, reserved, 8);
  g_assert_cmpmem (hs.info_hash, 20, info_hash, 20);
  g_assert_cmpmem (hs.peer_id, 20, peer_id, 20);

  /* wrong pstrlen */
  buf[0] = 18;
  g_assert_false (gbt_wire_parse_handshake (buf, sizeof buf, &hs, &error));
  g_assert_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE);
  g_clear_error (&error);
  buf[0] = 19;

  /* wrong protocol string */
  buf[5] = 'X';
  g_assert_false (gbt_wire_parse_handshake (buf, sizeof buf, &hs, &error));
  g_assert_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE);
  g_clear_error (&error);
  buf[5] = 'o';

  /* too short */
  g_assert_false (gbt_wire_parse_handshake (buf, GBT_HANDSHAKE_LEN - 1, &hs, &error));
  g_assert_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE);
}

static void
test_roundtrip_simple (void)
{
  GbtMsgId ids[] = { GBT_MSG_CHOKE, GBT_MSG_UNCHOKE, GBT_MSG_INTERESTED,
                     GBT_MSG_NOT_INTERESTED, GBT_MSG_HAVE_ALL, GBT_MSG_HAVE_NONE };

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(GByteArray) out = g_byte_array_new ();
      GbtWireMsg msg;

      gbt_wire_write_simple (out, ids[i]);
      g_assert_cmpuint (out->len, ==, 5);
      parse_one (out->data, out->len, &limits, &msg);
      g_assert_cmpint (msg.id, ==, ids[i]);
      g_assert_cmpuint (msg.payload_len, ==, 0);
    }

  {
    g_autoptr(GByteArray) out = g_byte_array_new ();
    GbtWireMsg msg;

    gbt_wire_write_keepalive (out);
    g_assert_cmpuint (out->len, ==, 4);
    parse_one (out->data, out->len, &limits, &msg);
    g_assert_cmpint (msg.id, ==, GBT_MSG_KEEPALIVE);
  }
}

static void
test_roundtrip_index (void)
{
  struct {
    void (*write) (GByteArray *, guint32);
    int id;
  } cases[] = {
    { gbt_wire_write_have, GBT_MSG_HAVE },
    { gbt_wire_write_suggest, GBT_MSG_SUGGEST },
    { gbt_wire_write_allowed_fast, GBT_MSG_ALLOWED_FAST },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      GbtWireMsg msg;

      cases[i].write (out, N_PIECES - 1);
      g_assert_cmpuint (out->len, ==, 9);
      parse_one (out->data, out->len, &limits, &msg);
      g_assert_cmpint (msg.id, ==, cases[i].id);
      g_assert_cmpuint (msg.index, ==, N_PIECES - 1);

      /* one past the last piece */
      g_byte_array_set_size (out, 0);
      cases[i].write (out, N_PIECES);
      g_assert_cmpint (gbt_wire_parse (out->data, out->len, &limits, &msg, &error), ==, -1);
      g_assert_error (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      g_clear_error (&error);

      /* without metadata any index passes */
      g_assert_cmpint (gbt_wire_parse (out->data, out->len, NULL, &msg, &error), ==, 9);
      g_assert_no_error (error);
      g_assert_cmpuint (msg.index, ==, N_PIECES);
    }
}

static void
test_roundtrip_bitfield (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 bits[2] = { 0xa5, 0x80 }; /* 10 pieces: pieces 0, 2, 5, 7, 8 */
  GbtWireMsg msg;

  gbt_wire_write_bitfield (out, bits, sizeof bits);
  g_assert_cmpuint (out->len, ==, 7);
  parse_one (out->data, out->len, &limits, &msg);
  g_assert_cmpint (msg.id, ==, GBT_MSG_BITFIELD);
  g_assert_cmpmem (msg.payload, msg.payload_len, bits, sizeof bits);
  /* zero-copy: the payload points into the input */
  g_assert_true (msg.payload == out->data + 5);
}

static void
test_roundtrip_request (void)
{
  GbtMsgId ids[] = { GBT_MSG_REQUEST, GBT_MSG_CANCEL, GBT_MSG_REJECT };

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(GByteArray) out = g_byte_array_new ();
      GbtWireMsg msg;

      gbt_wire_write_request (out, ids[i], 3, 16384, 16384);
      g_assert_cmpuint (out->len, ==, 17);
      parse_one (out->data, out->len, &limits, &msg);
      g_assert_cmpint (msg.id, ==, ids[i]);
      g_assert_cmpuint (msg.index, ==, 3);
      g_assert_cmpuint (msg.begin, ==, 16384);
      g_assert_cmpuint (msg.length, ==, 16384);
    }
}

static void
test_roundtrip_piece (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 block[16384];
  GbtWireMsg msg;

  for (gsize i = 0; i < sizeof block; i++)
    block[i] = i * 7;
  gbt_wire_write_piece_header (out, 2, 49152, sizeof block);
  g_assert_cmpuint (out->len, ==, 13);
  g_byte_array_append (out, block, sizeof block);
  parse_one (out->data, out->len, &limits, &msg);
  g_assert_cmpint (msg.id, ==, GBT_MSG_PIECE);
  g_assert_cmpuint (msg.index, ==, 2);
  g_assert_cmpuint (msg.begin, ==, 49152);
  g_assert_cmpuint (msg.length, ==, sizeof block);
  g_assert_true (msg.payload == out->data + 13);
  g_assert_cmpmem (msg.payload, msg.payload_len, block, sizeof block);
}

static void
test_roundtrip_port_extended (void)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const char *payload = "d1:md6:ut_pexi1eee";
  GbtWireMsg msg;

  gbt_wire_write_port (out, 6881);
  g_assert_cmpuint (out->len, ==, 7);
  parse_one (out->data, out->len, &limits, &msg);
  g_assert_cmpint (msg.id, ==, GBT_MSG_PORT);
  g_assert_cmpuint (msg.port, ==, 6881);

  g_byte_array_set_size (out, 0);
  gbt_wire_write_extended (out, 0, (const guint8 *) payload, strlen (payload));
  parse_one (out->data, out->len, &limits, &msg);
  g_assert_cmpint (msg.id, ==, GBT_MSG_EXTENDED);
  g_assert_cmpuint (msg.ext_id, ==, 0);
  g_assert_cmpmem (msg.payload, msg.payload_len, payload, strlen (payload));
  g_assert_true (msg.payload == out->data + 6);

  /* an extended message with an empty payload is fine */
  g_byte_array_set_size (out, 0);
  gbt_wire_write_extended (out, 3, NULL, 0);
  parse_one (out->data, out->len, &limits, &msg);
  g_assert_cmpuint (msg.ext_id, ==, 3);
  g_assert_cmpuint (msg.payload_len, ==, 0);
}

static void
test_unknown_id (void)
{
  const guint8 data[] = { 0, 0, 0, 4, 99, 'a', 'b', 'c' };
  GbtWireMsg msg;

  parse_one (data, sizeof data, &limits, &msg);
  g_assert_cmpint (msg.id, ==, 99);
  g_assert_cmpmem (msg.payload, msg.payload_len, "abc", 3);
}

/* builds <len><id><payload> by hand */
static GByteArray *
frame (guint32 len, guint8 id, const guint8 *payload, gsize payload_len)
{
  GByteArray *out = g_byte_array_new ();
  guint8 hdr[5] = { len >> 24, len >> 16, len >> 8, len, id };

  g_byte_array_append (out, hdr, 5);
  if (payload_len > 0)
    g_byte_array_append (out, payload, payload_len);
  return out;
}

static GByteArray *
frame_payload (guint8 id, const guint8 *payload, gsize payload_len)
{
  return frame (payload_len + 1, id, payload, payload_len);
}

static void
expect_error (GByteArray *data, const GbtWireLimits *lim, int code)
{
  g_autoptr(GError) error = NULL;
  GbtWireMsg msg;

  g_assert_cmpint (gbt_wire_parse (data->data, data->len, lim, &msg, &error), ==, -1);
  g_assert_error (error, GBT_PEER_WIRE_ERROR, code);
  /* NULL error works too */
  g_assert_cmpint (gbt_wire_parse (data->data, data->len, lim, &msg, NULL), ==, -1);
}

static void
test_bad_length (void)
{
  static const guint8 zeros[32];
  struct {
    guint8 id;
    gsize len;
  } cases[] = {
    { GBT_MSG_CHOKE, 1 }, { GBT_MSG_UNCHOKE, 2 }, { GBT_MSG_INTERESTED, 4 },
    { GBT_MSG_NOT_INTERESTED, 1 }, { GBT_MSG_HAVE_ALL, 1 }, { GBT_MSG_HAVE_NONE, 3 },
    { GBT_MSG_HAVE, 0 }, { GBT_MSG_HAVE, 3 }, { GBT_MSG_HAVE, 5 },
    { GBT_MSG_BITFIELD, 0 }, { GBT_MSG_BITFIELD, 1 }, { GBT_MSG_BITFIELD, 3 },
    { GBT_MSG_REQUEST, 11 }, { GBT_MSG_REQUEST, 13 }, { GBT_MSG_CANCEL, 0 },
    { GBT_MSG_REJECT, 16 }, { GBT_MSG_PIECE, 0 }, { GBT_MSG_PIECE, 7 },
    { GBT_MSG_PORT, 1 }, { GBT_MSG_PORT, 3 }, { GBT_MSG_SUGGEST, 2 },
    { GBT_MSG_ALLOWED_FAST, 8 }, { GBT_MSG_EXTENDED, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) data = frame_payload (cases[i].id, zeros, cases[i].len);

      g_test_message ("id %u, payload %" G_GSIZE_FORMAT, cases[i].id, cases[i].len);
      expect_error (data, &limits, GBT_PEER_WIRE_ERROR_BAD_LENGTH);
    }
}

static void
test_too_long (void)
{
  g_autoptr(GByteArray) data = frame (limits.max_message_len + 1, GBT_MSG_PIECE, NULL, 0);
  g_autoptr(GByteArray) huge = frame (G_MAXUINT32, GBT_MSG_EXTENDED, NULL, 0);
  g_autoptr(GByteArray) at_limit = NULL;
  g_autoptr(GError) error = NULL;
  GbtWireMsg msg;

  /* reported from the length prefix alone, before the body arrives */
  g_byte_array_set_size (data, 4);
  expect_error (data, &limits, GBT_PEER_WIRE_ERROR_TOO_LONG);
  expect_error (huge, NULL, GBT_PEER_WIRE_ERROR_TOO_LONG);

  /* exactly at the limit: needs more */
  at_limit = frame (limits.max_message_len, GBT_MSG_PIECE, NULL, 0);
  g_assert_cmpint (gbt_wire_parse (at_limit->data, at_limit->len, &limits, &msg, &error), ==, 0);
  g_assert_no_error (error);
}

static void
request_case (int id, guint32 index, guint32 begin, guint32 length, int code)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  GbtWireMsg msg;
  gssize n;

  gbt_wire_write_request (out, id, index, begin, length);
  n = gbt_wire_parse (out->data, out->len, &limits, &msg, &error);
  g_test_message ("id %d %u %u %u", id, index, begin, length);
  if (code < 0)
    {
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, out->len);
    }
  else
    {
      g_assert_cmpint (n, ==, -1);
      g_assert_error (error, GBT_PEER_WIRE_ERROR, code);
    }
}

static void
piece_case (guint32 index, guint32 begin, guint32 length, const GbtWireLimits *lim, int code)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  GbtWireMsg msg;
  gssize n;

  gbt_wire_write_piece_header (out, index, begin, length);
  g_byte_array_set_size (out, out->len + length);
  memset (out->data + 13, 0x5a, length);
  n = gbt_wire_parse (out->data, out->len, lim, &msg, &error);
  g_test_message ("piece %u %u %u", index, begin, length);
  if (code < 0)
    {
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, out->len);
      g_assert_cmpuint (msg.length, ==, length);
    }
  else
    {
      g_assert_cmpint (n, ==, -1);
      g_assert_error (error, GBT_PEER_WIRE_ERROR, code);
    }
}

static void
test_out_of_range (void)
{
  GbtMsgId ids[] = { GBT_MSG_REQUEST, GBT_MSG_CANCEL, GBT_MSG_REJECT };
  const guint32 last_len = TOTAL_SIZE - 9 * PIECE_LEN; /* 10000 */
  GbtWireLimits big = limits;

  big.max_message_len = 128 * 1024 + 13 + 1;

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      int id = ids[i];

      request_case (id, 0, 0, 16384, -1);
      request_case (id, 0, PIECE_LEN - 16384, 16384, -1);
      request_case (id, 0, PIECE_LEN - 1, 1, -1);
      request_case (id, 0, 0, 128 * 1024, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE); /* > piece */
      request_case (id, 0, PIECE_LEN - 16383, 16384, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, 0, G_MAXUINT32, 16384, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE); /* wraps */
      request_case (id, 0, 0, 0, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, 0, 0, 128 * 1024 + 1, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, N_PIECES, 0, 16384, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, G_MAXUINT32, 0, 16384, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      /* the last piece is shorter */
      request_case (id, N_PIECES - 1, 0, last_len, -1);
      request_case (id, N_PIECES - 1, 0, last_len + 1, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, N_PIECES - 1, last_len - 1, 1, -1);
      request_case (id, N_PIECES - 1, last_len, 1, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
      request_case (id, N_PIECES - 2, 16384, 16384, -1);
    }

  piece_case (0, 0, 16384, &limits, -1);
  piece_case (0, PIECE_LEN - 16384, 16384, &limits, -1);
  piece_case (0, PIECE_LEN - 16383, 16384, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  piece_case (0, 0, 0, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  piece_case (N_PIECES, 0, 16384, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  piece_case (N_PIECES - 1, 0, last_len, &limits, -1);
  piece_case (N_PIECES - 1, 16384, 1, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  piece_case (N_PIECES - 1, 1, last_len, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  piece_case (0, 0, 128 * 1024 + 1, &big, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  /* without metadata only the block size is checked */
  piece_case (G_MAXUINT32, 0, 16384, NULL, -1);
  piece_case (0, 0, 0, NULL, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
}

static void
test_bitfield_sizes (void)
{
  const guint8 ok[2] = { 0xff, 0xc0 };
  const guint8 spare[2] = { 0xff, 0xe0 }; /* bit for piece 10 set */
  const guint8 three[3] = { 0xff, 0xff, 0xff };
  g_autoptr(GByteArray) a = frame_payload (GBT_MSG_BITFIELD, ok, 2);
  g_autoptr(GByteArray) b = frame_payload (GBT_MSG_BITFIELD, spare, 2);
  g_autoptr(GByteArray) c = frame_payload (GBT_MSG_BITFIELD, three, 3);
  GbtWireLimits eight = limits;
  GbtWireMsg msg;

  parse_one (a->data, a->len, &limits, &msg);
  expect_error (b, &limits, GBT_PEER_WIRE_ERROR_OUT_OF_RANGE);
  expect_error (c, &limits, GBT_PEER_WIRE_ERROR_BAD_LENGTH);

  /* metadata unknown: any size up to the limit */
  parse_one (b->data, b->len, NULL, &msg);
  parse_one (c->data, c->len, NULL, &msg);
  g_assert_cmpuint (msg.payload_len, ==, 3);

  /* a multiple of 8 has no spare bits */
  eight.n_pieces = 16;
  eight.total_size = (guint64) 16 * PIECE_LEN;
  parse_one (b->data, b->len, &eight, &msg);
}

typedef struct {
  int id;
  guint32 a, b, c;
} Expected;

/* A long stream of mixed messages, fed in random chunks the way a socket
 * delivers them: each message must come out whole and in order. */
static void
test_random_split_stream (void)
{
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (Expected));
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  GbtWireLimits lim = limits;
  guint8 block[16384];
  gsize fed = 0, seen = 0;

  lim.max_message_len = 16384 + 13;
  for (gsize i = 0; i < sizeof block; i++)
    block[i] = g_test_rand_int ();

  for (int i = 0; i < 3000; i++)
    {
      Expected e = { 0 };

      switch (g_test_rand_int_range (0, 7))
        {
        case 0:
          gbt_wire_write_keepalive (stream);
          e.id = GBT_MSG_KEEPALIVE;
          break;
        case 1:
          e.id = g_test_rand_bit () ? GBT_MSG_UNCHOKE : GBT_MSG_HAVE_ALL;
          gbt_wire_write_simple (stream, e.id);
          break;
        case 2:
          e.id = GBT_MSG_HAVE;
          e.a = g_test_rand_int_range (0, N_PIECES);
          gbt_wire_write_have (stream, e.a);
          break;
        case 3:
          e.id = GBT_MSG_REQUEST;
          e.a = g_test_rand_int_range (0, N_PIECES - 1);
          e.b = 16384 * g_test_rand_int_range (0, 4);
          e.c = 16384;
          gbt_wire_write_request (stream, e.id, e.a, e.b, e.c);
          break;
        case 4:
        case 5:
          e.id = GBT_MSG_PIECE;
          e.a = g_test_rand_int_range (0, N_PIECES - 1);
          e.b = 16384 * g_test_rand_int_range (0, 4);
          e.c = g_test_rand_int_range (1, 16385);
          gbt_wire_write_piece_header (stream, e.a, e.b, e.c);
          g_byte_array_append (stream, block, e.c);
          break;
        default:
          e.id = GBT_MSG_EXTENDED;
          e.a = g_test_rand_int_range (0, 256);
          e.c = g_test_rand_int_range (0, 300);
          gbt_wire_write_extended (stream, e.a, block, e.c);
          break;
        }
      g_array_append_val (expected, e);
    }

  while (fed < stream->len)
    {
      gsize want = g_test_rand_int_range (1, 40000); /* not inside MIN (): evaluated twice */
      gsize chunk = MIN (stream->len - fed, want);
      gsize off = 0;

      g_byte_array_append (buf, stream->data + fed, chunk);
      fed += chunk;
      for (;;)
        {
          g_autoptr(GError) error = NULL;
          GbtWireMsg msg;
          gssize n = gbt_wire_parse (buf->data + off, buf->len - off, &lim, &msg, &error);
          const Expected *e;

          g_assert_no_error (error);
          g_assert_cmpint (n, >=, 0);
          if (n == 0)
            break;
          g_assert_cmpuint (seen, <, expected->len);
          e = &g_array_index (expected, Expected, seen++);
          g_assert_cmpint (msg.id, ==, e->id);
          switch (e->id)
            {
            case GBT_MSG_HAVE:
              g_assert_cmpuint (msg.index, ==, e->a);
              break;
            case GBT_MSG_REQUEST:
              g_assert_cmpuint (msg.index, ==, e->a);
              g_assert_cmpuint (msg.begin, ==, e->b);
              g_assert_cmpuint (msg.length, ==, e->c);
              break;
            case GBT_MSG_PIECE:
              g_assert_cmpuint (msg.index, ==, e->a);
              g_assert_cmpuint (msg.begin, ==, e->b);
              g_assert_cmpmem (msg.payload, msg.payload_len, block, e->c);
              break;
            case GBT_MSG_EXTENDED:
              g_assert_cmpuint (msg.ext_id, ==, e->a);
              g_assert_cmpmem (msg.payload, msg.payload_len, block, e->c);
              break;
            default:
              break;
            }
          off += n;
        }
      g_byte_array_remove_range (buf, 0, off);
    }
  g_assert_cmpuint (seen, ==, expected->len);
  g_assert_cmpuint (buf->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/peer-wire/handshake", test_handshake);
  g_test_add_func ("/peer-wire/roundtrip/simple", test_roundtrip_simple);
  g_test_add_func ("/peer-wire/roundtrip/index", test_roundtrip_index);
  g_test_add_func ("/peer-wire/roundtrip/bitfield", test_roundtrip_bitfield);
  g_test_add_func ("/peer-wire/roundtrip/request", test_roundtrip_request);
  g_test_add_func ("/peer-wire/roundtrip/piece", test_roundtrip_piece);
  g_test_add_func ("/peer-wire/roundtrip/port-extended", test_roundtrip_port_extended);
  g_test_add_func ("/peer-wire/unknown-id", test_unknown_id);
  g_test_add_func ("/peer-wire/error/bad-length", test_bad_length);
  g_test_add_func ("/peer-wire/error/too-long", test_too_long);
  g_test_add_func ("/peer-wire/error/out-of-range", test_out_of_range);
  g_test_add_func ("/peer-wire/bitfield-sizes", test_bitfield_sizes);
  g_test_add_func ("/peer-wire/random-split-stream", test_random_split_stream);

  return g_test_run ();
}
