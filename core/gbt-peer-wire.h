/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 3 (and BEP 6, 10) message framing: pure functions over byte buffers,
 * fuzzed in tests/fuzzing/fuzz-peer-wire.c.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GBT_PEER_WIRE_ERROR (gbt_peer_wire_error_quark ())
typedef enum {
  GBT_PEER_WIRE_ERROR_FAILED,
  GBT_PEER_WIRE_ERROR_BAD_HANDSHAKE,
  GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
  GBT_PEER_WIRE_ERROR_TOO_LONG,     /* length prefix over the limit */
  GBT_PEER_WIRE_ERROR_BAD_LENGTH,   /* wrong payload size for the message id */
  GBT_PEER_WIRE_ERROR_OUT_OF_RANGE, /* index / begin / length outside the torrent */
  GBT_PEER_WIRE_ERROR_UNKNOWN_ID,
  GBT_PEER_WIRE_ERROR_PROTOCOL,     /* a message not allowed now */
  GBT_PEER_WIRE_ERROR_FLOOD,        /* over a per-peer budget (gbt-peer.c) */
} GbtPeerWireErrorEnum;

G_GNUC_INTERNAL GQuark gbt_peer_wire_error_quark (void);

#define GBT_HANDSHAKE_LEN 68
#define GBT_PROTOCOL_STRING "BitTorrent protocol"

typedef enum {
  GBT_MSG_KEEPALIVE = -1,
  GBT_MSG_CHOKE = 0,
  GBT_MSG_UNCHOKE = 1,
  GBT_MSG_INTERESTED = 2,
  GBT_MSG_NOT_INTERESTED = 3,
  GBT_MSG_HAVE = 4,
  GBT_MSG_BITFIELD = 5,
  GBT_MSG_REQUEST = 6,
  GBT_MSG_PIECE = 7,
  GBT_MSG_CANCEL = 8,
  GBT_MSG_PORT = 9,
  GBT_MSG_SUGGEST = 13, /* BEP 6 */
  GBT_MSG_HAVE_ALL = 14,
  GBT_MSG_HAVE_NONE = 15,
  GBT_MSG_REJECT = 16,
  GBT_MSG_ALLOWED_FAST = 17,
  GBT_MSG_EXTENDED = 20, /* BEP 10 */
} GbtMsgId;

/* reserved bits (BEP 4 numbering: byte, mask) */
#define GBT_RESERVED_EXTENSION_BYTE 5
#define GBT_RESERVED_EXTENSION_MASK 0x10
#define GBT_RESERVED_FAST_BYTE 7
#define GBT_RESERVED_FAST_MASK 0x04
#define GBT_RESERVED_DHT_BYTE 7
#define GBT_RESERVED_DHT_MASK 0x01

typedef struct {
  guint8 reserved[8];
  guint8 info_hash[20];
  guint8 peer_id[20];
} GbtHandshake;

typedef struct {
  int id; /* GbtMsgId */
  guint32 index;
  guint32 begin;
  guint32 length; /* request/cancel/reject length; for piece: block length */
  guint16 port;
  guint8 ext_id;
  const guint8 *payload; /* bitfield bytes, piece block, extended payload: points into input */
  gsize payload_len;
} GbtWireMsg;

/* Largest block a request, reject, cancel or piece may carry: 16 KiB is
 * what everyone sends, 128 KiB is what some old clients ask for. */
#define GBT_WIRE_MAX_BLOCK_LEN (128 * 1024)
/* Length prefix limit used when GbtWireLimits.max_message_len is 0 (or no
 * limits are given): a largest block plus headroom for extended messages and
 * bitfields of torrents up to 2 million pieces. */
#define GBT_WIRE_DEFAULT_MAX_MESSAGE_LEN (256 * 1024 + 13)

/* n_pieces 0: metadata not known yet (magnet); then only sizes that do not
 * depend on the torrent are checked. */
typedef struct {
  guint n_pieces;
  guint32 piece_length;
  guint64 total_size;
  guint32 max_message_len; /* length prefix limit, e.g. 16 KiB + 13 or bigger for bitfields */
} GbtWireLimits;

G_GNUC_INTERNAL void gbt_wire_write_handshake (guint8 out[GBT_HANDSHAKE_LEN],
                                               const guint8 reserved[8],
                                               const guint8 info_hash[20],
                                               const guint8 peer_id[20]);
/* @len must be >= GBT_HANDSHAKE_LEN */
G_GNUC_INTERNAL gboolean gbt_wire_parse_handshake (const guint8 *data, gsize len,
                                                   GbtHandshake *out, GError **error);

/* Parses one message at @data.  Returns bytes consumed, 0 if more input is
 * needed (nothing set), or -1 with @error for a message that breaks the
 * protocol (length prefix over the limit, size wrong for its id, index,
 * begin or length outside the torrent per @limits).  Unknown ids are
 * returned (id set, payload = body) for the caller to decide.  @limits may
 * be NULL (no metadata, default length limit).  A bitfield with spare bits
 * set is OUT_OF_RANGE. */
G_GNUC_INTERNAL gssize gbt_wire_parse (const guint8 *data, gsize len, const GbtWireLimits *limits,
                                       GbtWireMsg *msg, GError **error);

/* Builders append one framed message to @out. */
G_GNUC_INTERNAL void gbt_wire_write_simple (GByteArray *out, GbtMsgId id); /* choke..not interested, have_all/none */
G_GNUC_INTERNAL void gbt_wire_write_keepalive (GByteArray *out);
G_GNUC_INTERNAL void gbt_wire_write_have (GByteArray *out, guint32 index);
G_GNUC_INTERNAL void gbt_wire_write_bitfield (GByteArray *out, const guint8 *bits, gsize len);
/* request, cancel, reject (same layout) */
G_GNUC_INTERNAL void gbt_wire_write_request (GByteArray *out, GbtMsgId id, guint32 index,
                                             guint32 begin, guint32 length);
/* header only (13 bytes: length, id, index, begin): the block follows */
G_GNUC_INTERNAL void gbt_wire_write_piece_header (GByteArray *out, guint32 index, guint32 begin,
                                                  guint32 block_len);
/* BEP 6 */
G_GNUC_INTERNAL void gbt_wire_write_suggest (GByteArray *out, guint32 index);
G_GNUC_INTERNAL void gbt_wire_write_allowed_fast (GByteArray *out, guint32 index);
G_GNUC_INTERNAL void gbt_wire_write_port (GByteArray *out, guint16 port);
G_GNUC_INTERNAL void gbt_wire_write_extended (GByteArray *out, guint8 ext_id,
                                              const guint8 *payload, gsize len);

G_END_DECLS
