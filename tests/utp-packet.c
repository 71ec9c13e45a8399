/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The uTP packet codec (BEP 29): round trips, every malformed case by its
 * error code, sequence number wraparound, selective ACK bitmasks.  Malformed
 * inputs are exact-size heap copies, so ASan sees any read past them.
 */
#include <string.h>

#include <glib.h>

#include "../plugins/transport-utp/gbt-utp-packet.h"

/* parses an exact-size copy of @data */
static gboolean
parse_copy (const guint8 *data, gsize len, GbtUtpPacket *out, GError **error)
{
  g_autofree guint8 *copy = g_memdup2 (data, len);

  /* @out points into the copy: callers here only read its scalars */
  return gbt_utp_packet_parse (copy, len, out, error);
}

static void
assert_parse_fails (const guint8 *data, gsize len, int code)
{
  g_autoptr(GError) error = NULL;
  GbtUtpPacket p;

  g_assert_false (parse_copy (data, len, &p, &error));
  g_assert_error (error, GBT_UTP_ERROR, code);
}

static void
test_round_trip (void)
{
  static const guint8 payload[] = "piece data";
  guint8 sack[8] = { 0x05, 0x00, 0x00, 0x80, 0, 0, 0, 1 };
  guint8 buf[256];

  for (int type = GBT_UTP_ST_DATA; type <= GBT_UTP_ST_SYN; type++)
    for (int with_sack = 0; with_sack <= 1; with_sack++)
      for (int with_payload = 0; with_payload <= 1; with_payload++)
        {
          g_autoptr(GError) error = NULL;
          GbtUtpPacket in = {
            .type = type,
            .connection_id = 0xbeef,
            .timestamp_us = 0xfedcba98,
            .timestamp_diff_us = 0x01234567,
            .wnd_size = 1048576,
            .seq_nr = 65535,
            .ack_nr = 7,
            .sack = with_sack ? sack : NULL,
            .sack_len = with_sack ? sizeof sack : 0,
            .payload = with_payload ? payload : NULL,
            .payload_len = with_payload ? sizeof payload : 0,
          };
          GbtUtpPacket out;
          gsize n = gbt_utp_packet_build (&in, buf, sizeof buf);

          g_assert_cmpuint (n, ==, gbt_utp_packet_size (&in));
          g_assert_cmpuint (n, ==, 20 + (with_sack ? 10 : 0) + (with_payload ? sizeof payload : 0));
          /* the type nibble and version */
          g_assert_cmpuint (buf[0], ==, (type << 4) | 1);
          g_assert_true (gbt_utp_packet_parse (buf, n, &out, &error));
          g_assert_no_error (error);
          g_assert_cmpint (out.type, ==, type);
          g_assert_cmpuint (out.connection_id, ==, 0xbeef);
          g_assert_cmpuint (out.timestamp_us, ==, 0xfedcba98);
          g_assert_cmpuint (out.timestamp_diff_us, ==, 0x01234567);
          g_assert_cmpuint (out.wnd_size, ==, 1048576);
          g_assert_cmpuint (out.seq_nr, ==, 65535);
          g_assert_cmpuint (out.ack_nr, ==, 7);
          if (with_sack)
            g_assert_cmpmem (out.sack, out.sack_len, sack, sizeof sack);
          else
            g_assert_null (out.sack);
          g_assert_cmpmem (out.payload, out.payload_len, payload,
                           with_payload ? sizeof payload : 0);
          g_assert_true (out.payload == buf + n - out.payload_len);
        }
}

static void
test_wire_layout (void)
{
  /* a hand-written ST_STATE with a 4-byte SACK, big-endian fields */
  static const guint8 wire[] = {
    0x21, 0x01, 0x12, 0x34,  /* ST_STATE v1, ext SACK, conn 0x1234 */
    0x00, 0x00, 0x01, 0x00,  /* timestamp 256 */
    0x00, 0x00, 0x00, 0x10,  /* diff 16 */
    0x00, 0x10, 0x00, 0x00,  /* wnd 1 MiB */
    0xab, 0xcd, 0x00, 0x02,  /* seq 0xabcd, ack 2 */
    0x00, 0x04, 0x01, 0x00, 0x00, 0x00,
  };
  g_autoptr(GError) error = NULL;
  GbtUtpPacket p;
  guint8 buf[64];

  g_assert_true (gbt_utp_packet_parse (wire, sizeof wire, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpint (p.type, ==, GBT_UTP_ST_STATE);
  g_assert_cmpuint (p.connection_id, ==, 0x1234);
  g_assert_cmpuint (p.timestamp_us, ==, 256);
  g_assert_cmpuint (p.timestamp_diff_us, ==, 16);
  g_assert_cmpuint (p.wnd_size, ==, 0x100000);
  g_assert_cmpuint (p.seq_nr, ==, 0xabcd);
  g_assert_cmpuint (p.ack_nr, ==, 2);
  g_assert_cmpuint (p.sack_len, ==, 4);
  g_assert_cmpuint (p.payload_len, ==, 0);
  /* bit 0 of byte 0: ack_nr + 2 */
  g_assert_true (gbt_utp_sack_get (p.sack, p.sack_len, p.ack_nr, 4));
  g_assert_false (gbt_utp_sack_get (p.sack, p.sack_len, p.ack_nr, 5));
  /* and back, byte for byte */
  g_assert_cmpuint (gbt_utp_packet_build (&p, buf, sizeof buf), ==, sizeof wire);
  g_assert_cmpmem (buf, sizeof wire, wire, sizeof wire);
  g_assert_cmpstr (gbt_utp_type_name (p.type), ==, "ST_STATE");
}

static void
test_build_short_buffer (void)
{
  guint8 sack[4] = { 0 };
  GbtUtpPacket p = { .type = GBT_UTP_ST_STATE, .sack = sack, .sack_len = 4 };
  guint8 buf[26];

  g_assert_cmpuint (gbt_utp_packet_size (&p), ==, 26);
  g_assert_cmpuint (gbt_utp_packet_build (&p, buf, 25), ==, 0);
  g_assert_cmpuint (gbt_utp_packet_build (&p, buf, 26), ==, 26);
}

static void
test_unknown_extensions (void)
{
  /* ext 2 (len 3) -> ext 1 SACK (len 4) -> ext 77 (len 0) -> ext 9 (len 2) -> payload "xy" */
  static const guint8 wire[] = {
    0x01, 0x02, 0, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 5, 0, 3,
    0x01, 3, 0xaa, 0xbb, 0xcc,
    77, 4, 0xff, 0, 0, 0,
    9, 0,
    0, 2, 0x11, 0x22,
    'x', 'y',
  };
  g_autoptr(GError) error = NULL;
  GbtUtpPacket p;

  g_assert_true (parse_copy (wire, sizeof wire, &p, &error));
  g_assert_no_error (error);
  g_assert_cmpint (p.type, ==, GBT_UTP_ST_DATA);
  g_assert_cmpuint (p.sack_len, ==, 4);
  g_assert_cmpuint (p.payload_len, ==, 2);
  g_assert_cmpuint (p.seq_nr, ==, 5);
  g_assert_cmpuint (p.ack_nr, ==, 3);
}

static void
test_second_sack_skipped (void)
{
  static const guint8 wire[] = {
    0x21, 0x01, 0, 1,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,  0, 5, 0, 3,
    0x01, 4, 0x01, 0, 0, 0,
    0x00, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  };
  g_autoptr(GError) error = NULL;
  GbtUtpPacket p;
  guint8 buf[64];

  g_assert_true (gbt_utp_packet_parse (wire, sizeof wire, &p, &error));
  g_assert_cmpuint (p.sack_len, ==, 4);
  g_assert_cmpuint (p.sack[0], ==, 0x01);
  g_assert_cmpuint (p.payload_len, ==, 0);
  g_assert_cmpuint (gbt_utp_packet_build (&p, buf, sizeof buf), ==, 26);
}

static void
test_malformed (void)
{
  guint8 base[20] = { 0x41, 0, 0, 1 };
  guint8 buf[64];

  /* short: every length below the header, the empty packet too */
  for (gsize len = 0; len < 20; len++)
    assert_parse_fails (base, len, GBT_UTP_ERROR_SHORT_PACKET);
  g_assert_true (parse_copy (base, 20, &(GbtUtpPacket){ 0 }, NULL));

  /* versions other than 1 */
  for (int v = 0; v < 16; v++)
    {
      memcpy (buf, base, 20);
      buf[0] = (GBT_UTP_ST_DATA << 4) | v;
      if (v == 1)
        g_assert_true (parse_copy (buf, 20, &(GbtUtpPacket){ 0 }, NULL));
      else
        assert_parse_fails (buf, 20, GBT_UTP_ERROR_BAD_VERSION);
    }
  /* types past ST_SYN */
  for (int t = 5; t < 16; t++)
    {
      memcpy (buf, base, 20);
      buf[0] = (t << 4) | 1;
      assert_parse_fails (buf, 20, GBT_UTP_ERROR_BAD_TYPE);
    }

  /* an extension named but no room for its two-byte header */
  memcpy (buf, base, 20);
  buf[1] = 1;
  assert_parse_fails (buf, 20, GBT_UTP_ERROR_BAD_EXTENSION);
  buf[20] = 0;
  assert_parse_fails (buf, 21, GBT_UTP_ERROR_BAD_EXTENSION);
  /* a length past the end, SACK and unknown alike */
  for (int ext = 1; ext <= 2; ext++)
    {
      buf[1] = ext;
      buf[20] = 0;
      buf[21] = 8;
      memset (buf + 22, 0, 8);
      assert_parse_fails (buf, 29, GBT_UTP_ERROR_BAD_EXTENSION);
      g_assert_true (parse_copy (buf, 30, &(GbtUtpPacket){ 0 }, NULL));
      buf[21] = 255;
      assert_parse_fails (buf, 30, GBT_UTP_ERROR_BAD_EXTENSION);
    }
  /* a chain whose second link runs out */
  buf[1] = 2;
  buf[20] = 3;  /* next: 3 */
  buf[21] = 0;
  assert_parse_fails (buf, 22, GBT_UTP_ERROR_BAD_EXTENSION);
  buf[22] = 0;
  buf[23] = 1;
  assert_parse_fails (buf, 24, GBT_UTP_ERROR_BAD_EXTENSION);
  buf[24] = 0;
  g_assert_true (parse_copy (buf, 25, &(GbtUtpPacket){ 0 }, NULL));

  /* SACK lengths: any but zero (libtorrent sends 1 to 32 bytes, not only
   * BEP 29's multiples of 4) */
  buf[1] = 1;
  buf[20] = 0;
  memset (buf + 22, 0, 40);
  for (int n = 0; n <= 40; n++)
    {
      buf[21] = n;
      if (n > 0)
        g_assert_true (parse_copy (buf, 22 + n, &(GbtUtpPacket){ 0 }, NULL));
      else
        assert_parse_fails (buf, 22 + n, GBT_UTP_ERROR_BAD_SACK);
    }
}

/* a chain of 0-length unknown extensions filling a whole packet ends */
static void
test_long_chain (void)
{
  guint8 buf[1400];
  GbtUtpPacket p;

  memset (buf, 0, sizeof buf);
  buf[0] = 0x01;
  buf[1] = 2;
  for (gsize i = 20; i + 1 < sizeof buf; i += 2)
    {
      buf[i] = 2;
      buf[i + 1] = 0;
    }
  /* the last link still names a next one: runs out */
  assert_parse_fails (buf, sizeof buf, GBT_UTP_ERROR_BAD_EXTENSION);
  buf[sizeof buf - 2] = 0;
  g_assert_true (parse_copy (buf, sizeof buf, &p, NULL));
  g_assert_cmpuint (p.payload_len, ==, 0);
}

static void
test_seq_wrap (void)
{
  g_assert_true (gbt_utp_seq_lt (65535, 0));
  g_assert_true (gbt_utp_seq_lt (65000, 100));
  g_assert_false (gbt_utp_seq_lt (0, 65535));
  g_assert_false (gbt_utp_seq_lt (5, 5));
  g_assert_true (gbt_utp_seq_le (5, 5));
  g_assert_true (gbt_utp_seq_lt (1, 2));
  g_assert_cmpint (gbt_utp_seq_diff (0, 65535), ==, 1);
  g_assert_cmpint (gbt_utp_seq_diff (65535, 0), ==, -1);
  g_assert_cmpint (gbt_utp_seq_diff (10, 65530), ==, 16);
  g_assert_cmpint (gbt_utp_seq_diff (32767, 0), ==, 32767);
  g_assert_cmpint (gbt_utp_seq_diff (32768, 0), ==, -32768);
  /* every neighbour pair across the whole space */
  for (guint32 i = 0; i < 65536; i++)
    {
      guint16 a = i, b = (guint16) (i + 1);

      g_assert_true (gbt_utp_seq_lt (a, b));
      g_assert_false (gbt_utp_seq_lt (b, a));
    }
  /* timestamps wrap the same way */
  g_assert_true (gbt_utp_ts_lt (0xffffff00u, 0x10));
  g_assert_false (gbt_utp_ts_lt (0x10, 0xffffff00u));
}

static void
test_sack_bits (void)
{
  guint8 mask[4] = { 0 };
  guint8 wide[GBT_UTP_SACK_MAX_LEN] = { 0 };

  /* bit i is ack_nr + 2 + i, least significant bit of each byte first */
  g_assert_true (gbt_utp_sack_set (mask, 4, 100, 102));
  g_assert_cmphex (mask[0], ==, 0x01);
  g_assert_true (gbt_utp_sack_set (mask, 4, 100, 109));
  g_assert_cmphex (mask[0], ==, 0x81);
  g_assert_true (gbt_utp_sack_set (mask, 4, 100, 110));
  g_assert_cmphex (mask[1], ==, 0x01);
  g_assert_true (gbt_utp_sack_set (mask, 4, 100, 133));
  g_assert_cmphex (mask[3], ==, 0x80);
  /* out of range: ack_nr + 1 (what is missing), at or before ack_nr, past the mask */
  g_assert_false (gbt_utp_sack_set (mask, 4, 100, 101));
  g_assert_false (gbt_utp_sack_set (mask, 4, 100, 100));
  g_assert_false (gbt_utp_sack_set (mask, 4, 100, 50));
  g_assert_false (gbt_utp_sack_set (mask, 4, 100, 134));
  g_assert_false (gbt_utp_sack_get (mask, 4, 100, 101));
  g_assert_false (gbt_utp_sack_get (mask, 4, 100, 134));
  g_assert_false (gbt_utp_sack_get (NULL, 0, 100, 102));
  for (guint16 s = 102; s <= 133; s++)
    g_assert_cmpint (gbt_utp_sack_get (mask, 4, 100, s), ==,
                     s == 102 || s == 109 || s == 110 || s == 133);

  /* across the sequence wrap */
  memset (mask, 0, sizeof mask);
  g_assert_true (gbt_utp_sack_set (mask, 4, 65534, 0));
  g_assert_cmphex (mask[0], ==, 0x01);
  g_assert_true (gbt_utp_sack_set (mask, 4, 65534, 3));
  g_assert_true (gbt_utp_sack_get (mask, 4, 65534, 0));
  g_assert_true (gbt_utp_sack_get (mask, 4, 65534, 3));
  g_assert_false (gbt_utp_sack_get (mask, 4, 65534, 65535));
  g_assert_false (gbt_utp_sack_get (mask, 4, 65534, 1));

  /* the widest mask, through a packet and back */
  for (guint i = 0; i < 8 * sizeof wide; i += 3)
    g_assert_true (gbt_utp_sack_set (wide, sizeof wide, 65000, (guint16) (65002 + i)));
  {
    GbtUtpPacket in = { .type = GBT_UTP_ST_STATE, .ack_nr = 65000,
                        .sack = wide, .sack_len = sizeof wide };
    GbtUtpPacket out;
    guint8 buf[300];
    gsize n = gbt_utp_packet_build (&in, buf, sizeof buf);

    g_assert_cmpuint (n, ==, 20 + 2 + 252);
    g_assert_true (gbt_utp_packet_parse (buf, n, &out, NULL));
    for (guint i = 0; i < 8 * sizeof wide; i++)
      g_assert_cmpint (gbt_utp_sack_get (out.sack, out.sack_len, out.ack_nr,
                                         (guint16) (65002 + i)), ==, i % 3 == 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/utp-packet/round-trip", test_round_trip);
  g_test_add_func ("/utp-packet/wire-layout", test_wire_layout);
  g_test_add_func ("/utp-packet/build-short-buffer", test_build_short_buffer);
  g_test_add_func ("/utp-packet/unknown-extensions", test_unknown_extensions);
  g_test_add_func ("/utp-packet/second-sack-skipped", test_second_sack_skipped);
  g_test_add_func ("/utp-packet/malformed", test_malformed);
  g_test_add_func ("/utp-packet/long-chain", test_long_chain);
  g_test_add_func ("/utp-packet/seq-wrap", test_seq_wrap);
  g_test_add_func ("/utp-packet/sack-bits", test_sack_bits);
  return g_test_run ();
}
