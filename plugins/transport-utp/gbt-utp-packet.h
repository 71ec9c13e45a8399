/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * uTP packets (BEP 29): a pure parser and builder, no sockets, so that the
 * parser can be fuzzed (tests/fuzzing/fuzz-utp-packet.c).
 *
 * The 20-byte header, all integers big-endian:
 *   type:4 ver:4 | extension:8 | connection_id:16
 *   timestamp_microseconds:32
 *   timestamp_difference_microseconds:32
 *   wnd_size:32
 *   seq_nr:16 | ack_nr:16
 * then a chain of extensions (next:8 len:8 body[len]), then the payload.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GBT_UTP_ERROR (gbt_utp_error_quark ())
GQuark gbt_utp_error_quark (void);

typedef enum {
  GBT_UTP_ERROR_FAILED,
  GBT_UTP_ERROR_SHORT_PACKET,    /* fewer than 20 bytes */
  GBT_UTP_ERROR_BAD_VERSION,     /* version != 1 */
  GBT_UTP_ERROR_BAD_TYPE,        /* type > ST_SYN */
  GBT_UTP_ERROR_BAD_EXTENSION,   /* the extension chain runs past the packet */
  GBT_UTP_ERROR_BAD_SACK,        /* a selective ACK of zero length */
} GbtUtpError;

typedef enum {
  GBT_UTP_ST_DATA = 0,
  GBT_UTP_ST_FIN = 1,
  GBT_UTP_ST_STATE = 2,
  GBT_UTP_ST_RESET = 3,
  GBT_UTP_ST_SYN = 4,
} GbtUtpType;

#define GBT_UTP_VERSION 1
#define GBT_UTP_HEADER_LEN 20
#define GBT_UTP_EXT_NONE 0
#define GBT_UTP_EXT_SACK 1
/* An extension's length is one byte, so a SACK covers at most 252 bytes
 * (a multiple of 4), that is 2016 packets past ack_nr + 1. */
#define GBT_UTP_SACK_MAX_LEN 252

typedef struct {
  GbtUtpType type;
  guint16 connection_id;
  guint32 timestamp_us;       /* the sender's clock when it sent this, wrapping */
  guint32 timestamp_diff_us;  /* the sender's clock minus our last timestamp it saw */
  guint32 wnd_size;           /* bytes the sender can still receive */
  guint16 seq_nr;
  guint16 ack_nr;
  /* Selective ACK (extension 1), NULL when absent.  Bit i (byte i / 8,
   * bit i % 8, least significant first) acknowledges ack_nr + 2 + i.
   * Parsed: points into the packet; the first SACK wins, later ones are
   * skipped like unknown extensions. */
  const guint8 *sack;
  gsize sack_len;
  /* what follows the extensions; parsed: points into the packet */
  const guint8 *payload;
  gsize payload_len;
} GbtUtpPacket;

/* Parses @data (never reading outside it) into @out, whose pointers then
 * point into @data.  Unknown extensions are skipped by their length.  No
 * protocol state is checked here: a wrong connection id or an ACK of data
 * never sent is the connection's business. */
gboolean gbt_utp_packet_parse (const guint8 *data, gsize len, GbtUtpPacket *out, GError **error);

/* Bytes gbt_utp_packet_build() writes for @packet: header, SACK, payload. */
gsize gbt_utp_packet_size (const GbtUtpPacket *packet);

/* Writes @packet (with its SACK if sack_len > 0, at most 255 bytes: a
 * connection sends multiples of 4 up to GBT_UTP_SACK_MAX_LEN, a parsed
 * packet may hold any length) and its payload into @out.  Returns the bytes written, or 0 when @out_len is too small. */
gsize gbt_utp_packet_build (const GbtUtpPacket *packet, guint8 *out, gsize out_len);

/* Whether a SACK mask received with @ack_nr acknowledges @seq_nr. */
gboolean gbt_utp_sack_get (const guint8 *sack, gsize sack_len, guint16 ack_nr, guint16 seq_nr);
/* Marks @seq_nr in a SACK mask to be sent with @ack_nr; FALSE (mask
 * unchanged) when @seq_nr is not in ack_nr + 2 .. ack_nr + 1 + 8 * sack_len. */
gboolean gbt_utp_sack_set (guint8 *sack, gsize sack_len, guint16 ack_nr, guint16 seq_nr);

const char *gbt_utp_type_name (GbtUtpType type);

/* Sequence numbers are 16 bits and wrap (BEP 29): @a - @b as a signed
 * distance, so that 0 follows 65535. */
static inline gint16
gbt_utp_seq_diff (guint16 a, guint16 b)
{
  return (gint16) (guint16) (a - b);
}

/* @a comes before @b, across the wrap */
static inline gboolean
gbt_utp_seq_lt (guint16 a, guint16 b)
{
  return gbt_utp_seq_diff (a, b) < 0;
}

static inline gboolean
gbt_utp_seq_le (guint16 a, guint16 b)
{
  return gbt_utp_seq_diff (a, b) <= 0;
}

/* The same for the 32-bit microsecond timestamps, which wrap every 71 min. */
static inline gboolean
gbt_utp_ts_lt (guint32 a, guint32 b)
{
  return (gint32) (guint32) (a - b) < 0;
}

G_END_DECLS
