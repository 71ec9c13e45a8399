/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BEP 29 packet layout.  Packets come from anyone on the network: each field
 * is read only after the bytes it needs have been checked to exist.
 */
#include <string.h>

#include "gbt-utp-packet.h"

G_DEFINE_QUARK (gbt-utp-error-quark, gbt_utp_error)

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static guint16
get16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

gboolean
gbt_utp_packet_parse (const guint8 *data, gsize len, GbtUtpPacket *out, GError **error)
{
  guint type, version, ext;
  gsize pos;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (len < GBT_UTP_HEADER_LEN)
    {
      g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_SHORT_PACKET,
                   "uTP packet of %" G_GSIZE_FORMAT " bytes, the header needs %d", len,
                   GBT_UTP_HEADER_LEN);
      return FALSE;
    }
  type = data[0] >> 4;
  version = data[0] & 0x0f;
  if (version != GBT_UTP_VERSION)
    {
      g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_BAD_VERSION, "uTP version %u, not 1",
                   version);
      return FALSE;
    }
  if (type > GBT_UTP_ST_SYN)
    {
      g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_BAD_TYPE, "uTP packet type %u", type);
      return FALSE;
    }

  memset (out, 0, sizeof *out);
  out->type = (GbtUtpType) type;
  out->connection_id = get16 (data + 2);
  out->timestamp_us = get32 (data + 4);
  out->timestamp_diff_us = get32 (data + 8);
  out->wnd_size = get32 (data + 12);
  out->seq_nr = get16 (data + 16);
  out->ack_nr = get16 (data + 18);

  /* Each link takes at least 2 bytes, so the chain ends within len / 2 steps. */
  ext = data[1];
  pos = GBT_UTP_HEADER_LEN;
  while (ext != GBT_UTP_EXT_NONE)
    {
      guint next, ext_len;

      if (len - pos < 2)
        {
          g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_BAD_EXTENSION,
                       "uTP extension %u header past the end of the packet", ext);
          return FALSE;
        }
      next = data[pos];
      ext_len = data[pos + 1];
      pos += 2;
      if (len - pos < ext_len)
        {
          g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_BAD_EXTENSION,
                       "uTP extension %u of %u bytes runs past the end of the packet", ext,
                       ext_len);
          return FALSE;
        }
      if (ext == GBT_UTP_EXT_SACK)
        {
          /* BEP 29 asks for multiples of 32 bits, but libtorrent sends as
           * many bytes as its reorder buffer spans (1 to 32: 9 and 10 seen):
           * take any non-zero length, as libtorrent and libutp do.  We send
           * multiples of 4. */
          if (ext_len == 0)
            {
              g_set_error (error, GBT_UTP_ERROR, GBT_UTP_ERROR_BAD_SACK,
                           "uTP selective ACK of 0 bytes");
              return FALSE;
            }
          if (out->sack == NULL)
            {
              out->sack = data + pos;
              out->sack_len = ext_len;
            }
        }
      pos += ext_len;
      ext = next;
    }
  out->payload = data + pos;
  out->payload_len = len - pos;
  return TRUE;
}

gsize
gbt_utp_packet_size (const GbtUtpPacket *packet)
{
  return GBT_UTP_HEADER_LEN + (packet->sack_len > 0 ? 2 + packet->sack_len : 0)
         + packet->payload_len;
}

gsize
gbt_utp_packet_build (const GbtUtpPacket *packet, guint8 *out, gsize out_len)
{
  gsize size, pos = GBT_UTP_HEADER_LEN;

  g_return_val_if_fail (packet != NULL, 0);
  g_return_val_if_fail (packet->type <= GBT_UTP_ST_SYN, 0);
  g_return_val_if_fail (packet->sack_len == 0
                        || (packet->sack != NULL && packet->sack_len <= G_MAXUINT8), 0);
  g_return_val_if_fail (packet->payload_len == 0 || packet->payload != NULL, 0);

  size = gbt_utp_packet_size (packet);
  if (out == NULL || out_len < size)
    return 0;
  out[0] = (guint8) ((packet->type << 4) | GBT_UTP_VERSION);
  out[1] = packet->sack_len > 0 ? GBT_UTP_EXT_SACK : GBT_UTP_EXT_NONE;
  put16 (out + 2, packet->connection_id);
  put32 (out + 4, packet->timestamp_us);
  put32 (out + 8, packet->timestamp_diff_us);
  put32 (out + 12, packet->wnd_size);
  put16 (out + 16, packet->seq_nr);
  put16 (out + 18, packet->ack_nr);
  if (packet->sack_len > 0)
    {
      out[pos] = GBT_UTP_EXT_NONE;
      out[pos + 1] = (guint8) packet->sack_len;
      memcpy (out + pos + 2, packet->sack, packet->sack_len);
      pos += 2 + packet->sack_len;
    }
  if (packet->payload_len > 0)
    memcpy (out + pos, packet->payload, packet->payload_len);
  return size;
}

/* The bit for @seq_nr in a mask sent with @ack_nr: ack_nr + 1 is what the
 * receiver lacks (else ack_nr would be higher), so bit 0 is ack_nr + 2. */
static gboolean
sack_index (gsize sack_len, guint16 ack_nr, guint16 seq_nr, guint *index)
{
  guint16 i = (guint16) (seq_nr - ack_nr - 2);

  if (i >= sack_len * 8)
    return FALSE;
  *index = i;
  return TRUE;
}

gboolean
gbt_utp_sack_get (const guint8 *sack, gsize sack_len, guint16 ack_nr, guint16 seq_nr)
{
  guint i;

  if (sack == NULL || !sack_index (sack_len, ack_nr, seq_nr, &i))
    return FALSE;
  return (sack[i >> 3] >> (i & 7)) & 1;
}

gboolean
gbt_utp_sack_set (guint8 *sack, gsize sack_len, guint16 ack_nr, guint16 seq_nr)
{
  guint i;

  g_return_val_if_fail (sack != NULL, FALSE);
  if (!sack_index (sack_len, ack_nr, seq_nr, &i))
    return FALSE;
  sack[i >> 3] |= (guint8) (1u << (i & 7));
  return TRUE;
}

const char *
gbt_utp_type_name (GbtUtpType type)
{
  switch (type)
    {
    case GBT_UTP_ST_DATA: return "ST_DATA";
    case GBT_UTP_ST_FIN: return "ST_FIN";
    case GBT_UTP_ST_STATE: return "ST_STATE";
    case GBT_UTP_ST_RESET: return "ST_RESET";
    case GBT_UTP_ST_SYN: return "ST_SYN";
    default: return "unknown";
    }
}
