/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Web seeds (BEP 19): see gbt-webseed.h. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libsoup/soup.h>

#include <gbt/gbt-metainfo.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>

#include "gbt-webseed.h"

/* bytes of one range request at most: contiguous blocks the core asked for
 * are fetched together up to this */
#define MAX_BATCH (4 * 1024 * 1024)
/* requests the core may queue with one web seed */
#define MAX_QUEUED 4096
/* stop fetching while this much waits to reach the core */
#define MAX_WBUF (8 * 1024 * 1024)
#define MAX_MESSAGE (4 * 1024 * 1024)
#define HANDSHAKE_LEN 68
/* a seed that failed waits 5 s, 10 s, ... up to 10 minutes; one that served
 * data before failing starts over */
#define RETRY_MIN_S 5
#define RETRY_MAX_S 600
#define HTTP_TIMEOUT_S 30

typedef struct _Seed Seed;
typedef struct _TorrentSeeds TorrentSeeds;

typedef struct {
  guint32 piece, begin, length;
  guint64 offset; /* within the torrent's byte stream */
  gboolean cancelled;
} Req;

/* one "peer": our end of the socket pair */
typedef struct {
  Seed *seed;
  GSocket *socket;
  GSource *in_source, *out_source;
  GByteArray *rbuf, *wbuf;
  gsize wpos;
  gboolean handshaken;
  GArray *queue; /* Req: asked, not yet fetched */
  GArray *batch; /* Req: being fetched */
  guint64 batch_start, batch_end, batch_pos; /* the range, and how far it came */
  GByteArray *batch_data;
  GCancellable *cancellable;
  GInputStream *body; /* the answer being read */
  gsize body_len;
  gboolean retry_read; /* reading a BEP 17 503's body */
  char retry_buf[16];
  guint64 served;
} Conn;

struct _Seed {
  TorrentSeeds *ts;
  char *url;
  char *name; /* the core's name for it: the URL */
  Conn *conn;
  gboolean bep17; /* an "httpseeds" URL: ?info_hash=&piece=&ranges= */
  guint retry_after_s; /* a BEP 17 seed's 503 said when to come back */
  guint failures;
  gint64 next_try_us;
  gboolean banned;
};

struct _TorrentSeeds {
  GbtWebseedSource *owner;
  GbtTorrent *torrent; /* between start and stop */
  SoupSession *soup; /* a reference to the one of its bind address and context */
  GPtrArray *seeds; /* Seed*, NULL until the metadata */
  GSource *tick;
  gulong banned_id;
};

struct _GbtWebseedSource {
  GObject parent_instance;
  /* "bind address|main context" -> SoupSession: requests leave from the
   * session's bind address (as tracker-http's), and a SoupSession is used
   * from one thread's context */
  GHashTable *soups;
  GHashTable *torrents; /* GbtTorrent* -> TorrentSeeds* */
};

static void gbt_webseed_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtWebseedSource, gbt_webseed_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      gbt_webseed_source_iface_init))

static void conn_fetch_more (Conn *conn);
static void conn_flush (Conn *conn);

/* ---- URLs ---- */

static void
append_escaped_path (GString *s, const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_autofree char *e = g_uri_escape_string (parts[i], NULL, FALSE);
      if (i > 0)
        g_string_append_c (s, '/');
      g_string_append (s, e);
    }
}

char *
gbt_webseed_file_url (const char *base, GbtMetainfo *mi, guint file)
{
  const GbtFileInfo *f = gbt_metainfo_get_file (mi, file);
  GString *s = g_string_new (base);

  if (gbt_metainfo_is_multi_file (mi))
    {
      /* the path starts with the torrent's name */
      if (!g_str_has_suffix (base, "/"))
        g_string_append_c (s, '/');
      append_escaped_path (s, f->path);
    }
  else if (g_str_has_suffix (base, "/"))
    append_escaped_path (s, f->path);
  return g_string_free (s, FALSE);
}

/* ---- the connection's wire ---- */

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static void seed_conn_gone (Seed *seed, gboolean failed);

static void
conn_free (Conn *conn)
{
  if (conn->cancellable)
    {
      g_cancellable_cancel (conn->cancellable);
      g_object_unref (conn->cancellable);
    }
  if (conn->in_source)
    {
      g_source_destroy (conn->in_source);
      g_source_unref (conn->in_source);
    }
  if (conn->out_source)
    {
      g_source_destroy (conn->out_source);
      g_source_unref (conn->out_source);
    }
  g_socket_close (conn->socket, NULL);
  g_object_unref (conn->socket);
  g_byte_array_unref (conn->rbuf);
  g_byte_array_unref (conn->wbuf);
  g_array_unref (conn->queue);
  g_array_unref (conn->batch);
  g_clear_pointer (&conn->batch_data, g_byte_array_unref);
  g_clear_object (&conn->body);
  g_free (conn);
}

/* ends the connection (the core sees it close); the seed retries later */
static void
conn_end (Conn *conn, gboolean failed, const char *why)
{
  Seed *seed = conn->seed;

  g_debug ("[%s] closing: %s", seed->url, why);
  seed->conn = NULL;
  if (conn->served > 0)
    seed->failures = 0;
  conn_free (conn);
  seed_conn_gone (seed, failed);
}

static void
wbuf_append_msg (Conn *conn, guint8 id, const void *payload, gsize len)
{
  guint8 hdr[5];

  put_be32 (hdr, (guint32) (len + 1));
  hdr[4] = id;
  g_byte_array_append (conn->wbuf, hdr, 5);
  if (len)
    g_byte_array_append (conn->wbuf, payload, (guint) len);
}

static gboolean
conn_writable_cb (GSocket *socket, GIOCondition cond, gpointer data)
{
  Conn *conn = data;

  (void) socket;
  (void) cond;
  g_source_destroy (conn->out_source);
  g_clear_pointer (&conn->out_source, g_source_unref);
  conn_flush (conn);
  return G_SOURCE_REMOVE;
}

/* writes what it can, then fetches more; may end @conn */
static void
conn_flush (Conn *conn)
{
  while (conn->wpos < conn->wbuf->len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (conn->socket, (const char *) conn->wbuf->data + conn->wpos,
                                conn->wbuf->len - conn->wpos, NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              if (conn->out_source == NULL)
                {
                  conn->out_source = g_socket_create_source (conn->socket, G_IO_OUT, NULL);
                  g_source_set_callback (conn->out_source, G_SOURCE_FUNC (conn_writable_cb),
                                         conn, NULL);
                  g_source_attach (conn->out_source, g_main_context_get_thread_default ());
                }
              break;
            }
          conn_end (conn, FALSE, error->message);
          return;
        }
      conn->wpos += (gsize) n;
    }
  if (conn->wpos == conn->wbuf->len)
    {
      g_byte_array_set_size (conn->wbuf, 0);
      conn->wpos = 0;
    }
  /* last: fetch what waits while there is room (may end @conn) */
  conn_fetch_more (conn);
}

static GbtMetainfo *
conn_metainfo (Conn *conn)
{
  return gbt_torrent_get_metainfo (conn->seed->ts->torrent);
}

static void
send_handshake (Conn *conn)
{
  GbtMetainfo *mi = conn_metainfo (conn);
  guint n = gbt_metainfo_get_n_pieces (mi);
  gsize bf_len = (n + 7) / 8;
  g_autofree guint8 *bf = g_malloc0 (MAX (bf_len, 1));
  guint8 hs[HANDSHAKE_LEN];

  hs[0] = 19;
  memcpy (hs + 1, "BitTorrent protocol", 19);
  memset (hs + 20, 0, 8);
  memcpy (hs + 28, gbt_metainfo_get_info_hash (mi), 20);
  memcpy (hs + 48, "-GW0001-", 8);
  for (guint i = 56; i < HANDSHAKE_LEN; i++)
    hs[i] = (guint8) g_random_int_range ('a', 'z' + 1);
  g_byte_array_append (conn->wbuf, hs, HANDSHAKE_LEN);
  for (guint i = 0; i < n; i++)
    bf[i / 8] |= (guint8) (0x80 >> (i % 8));
  wbuf_append_msg (conn, 5, bf, bf_len); /* BITFIELD: every piece */
  wbuf_append_msg (conn, 1, NULL, 0); /* UNCHOKE */
}

/* one message from the core; FALSE ends the connection */
static gboolean
conn_handle (Conn *conn, const guint8 *msg, guint32 len)
{
  GbtMetainfo *mi = conn_metainfo (conn);
  Req r = { 0 };

  if (len == 0)
    return TRUE; /* keep-alive */
  switch (msg[0])
    {
    case 6: /* REQUEST */
    case 8: /* CANCEL */
      if (len != 13)
        return FALSE;
      r.piece = get_be32 (msg + 1);
      r.begin = get_be32 (msg + 5);
      r.length = get_be32 (msg + 9);
      if (r.piece >= gbt_metainfo_get_n_pieces (mi) || r.length == 0 || r.length > 128 * 1024
          || (guint64) r.begin + r.length > gbt_metainfo_get_piece_size (mi, r.piece))
        return FALSE;
      r.offset = (guint64) r.piece * gbt_metainfo_get_piece_length (mi) + r.begin;
      if (msg[0] == 6)
        {
          if (conn->queue->len >= MAX_QUEUED)
            return FALSE;
          g_array_append_val (conn->queue, r);
          return TRUE;
        }
      for (guint i = 0; i < conn->queue->len; i++)
        {
          Req *q = &g_array_index (conn->queue, Req, i);
          if (q->piece == r.piece && q->begin == r.begin && q->length == r.length)
            {
              g_array_remove_index (conn->queue, i);
              return TRUE;
            }
        }
      for (guint i = 0; i < conn->batch->len; i++)
        {
          Req *q = &g_array_index (conn->batch, Req, i);
          if (q->piece == r.piece && q->begin == r.begin && q->length == r.length)
            q->cancelled = TRUE;
        }
      return TRUE;
    default: /* the rest needs no answer from a seed that has everything */
      return TRUE;
    }
}

static gboolean
conn_readable_cb (GSocket *socket, GIOCondition cond, gpointer data)
{
  Conn *conn = data;
  gsize pos = 0;

  (void) cond;
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint old = conn->rbuf->len;
      gssize n;

      g_byte_array_set_size (conn->rbuf, old + 64 * 1024);
      n = g_socket_receive (socket, (char *) conn->rbuf->data + old, 64 * 1024, NULL, &error);
      g_byte_array_set_size (conn->rbuf, old + (n > 0 ? (guint) n : 0));
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n <= 0)
        {
          /* the core closed the peer: a plain end, unless it was before the
           * handshake (refused) */
          conn_end (conn, !conn->handshaken, n < 0 ? error->message : "closed by the core");
          return G_SOURCE_REMOVE;
        }
      if (n < 64 * 1024)
        break;
    }

  if (!conn->handshaken)
    {
      if (conn->rbuf->len < HANDSHAKE_LEN)
        return G_SOURCE_CONTINUE;
      if (conn->rbuf->data[0] != 19 || memcmp (conn->rbuf->data + 1, "BitTorrent protocol", 19) != 0
          || memcmp (conn->rbuf->data + 28, gbt_metainfo_get_info_hash (conn_metainfo (conn)), 20)
               != 0)
        goto bad;
      conn->handshaken = TRUE;
      pos = HANDSHAKE_LEN;
      send_handshake (conn);
    }
  while (conn->rbuf->len - pos >= 4)
    {
      guint32 len = get_be32 (conn->rbuf->data + pos);
      if (len > MAX_MESSAGE)
        goto bad;
      if (conn->rbuf->len - pos - 4 < len)
        break;
      if (!conn_handle (conn, conn->rbuf->data + pos + 4, len))
        goto bad;
      pos += 4 + len;
    }
  g_byte_array_remove_range (conn->rbuf, 0, (guint) pos);
  /* last: writes, fetches, and may end the connection */
  conn_flush (conn);
  return G_SOURCE_CONTINUE;

bad:
  conn_end (conn, FALSE, "the core broke the protocol");
  return G_SOURCE_REMOVE;
}

/* ---- fetching ---- */

static void fetch_segment (Conn *conn);

static void
batch_done (Conn *conn)
{
  for (guint i = 0; i < conn->batch->len; i++)
    {
      Req *r = &g_array_index (conn->batch, Req, i);
      guint8 hdr[13];

      if (r->cancelled)
        continue;
      put_be32 (hdr, 9 + r->length);
      hdr[4] = 7; /* PIECE */
      put_be32 (hdr + 5, r->piece);
      put_be32 (hdr + 9, r->begin);
      g_byte_array_append (conn->wbuf, hdr, 13);
      g_byte_array_append (conn->wbuf, conn->batch_data->data + (r->offset - conn->batch_start),
                           r->length);
      conn->served += r->length;
    }
  g_array_set_size (conn->batch, 0);
  g_clear_pointer (&conn->batch_data, g_byte_array_unref);
  g_clear_object (&conn->cancellable);
  conn_flush (conn); /* fetches more once written, or at once */
}

/* the body, read into the batch: never more than the range asked */
static void
body_read_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Conn *conn = data;
  g_autoptr(GError) error = NULL;
  gsize got = 0;
  gboolean ok = g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &got, &error);
  g_autofree char *why = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the connection is gone */
  g_clear_object (&conn->body);
  if (conn->retry_read)
    {
      /* a BEP 17 503: its body is the seconds to wait */
      g_autofree char *text = g_strndup (conn->retry_buf, got);
      guint64 wait_s = g_ascii_strtoull (text, NULL, 10);

      conn->seed->retry_after_s = (guint) CLAMP (wait_s, 1, RETRY_MAX_S);
      why = g_strdup_printf ("HTTP 503: back in %u s", conn->seed->retry_after_s);
      conn_end (conn, TRUE, why);
      return;
    }
  if (!ok || got != conn->body_len)
    {
      why = ok ? g_strdup_printf ("HTTP: %" G_GSIZE_FORMAT " bytes for a range of %" G_GSIZE_FORMAT,
                                  got, conn->body_len)
               : g_strdup_printf ("HTTP: %s", error->message);
      conn_end (conn, TRUE, why);
      return;
    }
  conn->batch_pos += got;
  fetch_segment (conn);
}

/* the answer's head: the status and range are checked before any of the
 * body is read, and the body is read only as far as asked (a server that
 * ignores Range and sends a whole big file costs no memory) */
static void
segment_cb (GObject *source, GAsyncResult *result, gpointer data)
{
  Conn *conn = data;
  g_autoptr(GError) error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GInputStream) in = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  SoupMessageHeaders *h;
  guint status;
  goffset start = 0, end = 0, total = 0, length;
  g_autofree char *why = NULL;
  gsize want;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* the connection is gone */
  if (in == NULL)
    {
      why = g_strdup_printf ("HTTP: %s", error->message);
      goto fail;
    }
  status = soup_message_get_status (msg);
  h = soup_message_get_response_headers (msg);
  want = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "range-len"));
  if (conn->seed->bep17)
    {
      /* BEP 17: 200 with the bytes; 503 with the seconds to wait */
      if (status == SOUP_STATUS_SERVICE_UNAVAILABLE)
        {
          conn->retry_read = TRUE;
          conn->body = g_steal_pointer (&in);
          g_input_stream_read_all_async (conn->body, conn->retry_buf, sizeof conn->retry_buf - 1,
                                         G_PRIORITY_DEFAULT, conn->cancellable, body_read_cb, conn);
          return;
        }
      if (status != SOUP_STATUS_OK)
        {
          why = g_strdup_printf ("HTTP %u %s", status, soup_message_get_reason_phrase (msg));
          goto fail;
        }
    }
  else if (status == SOUP_STATUS_PARTIAL_CONTENT)
    {
      if (!soup_message_headers_get_content_range (h, &start, &end, &total)
          || (guint64) start != GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "range-start"))
          || (guint64) (end - start + 1) != want)
        {
          why = g_strdup ("HTTP 206 for another range");
          goto fail;
        }
    }
  else if (status == SOUP_STATUS_OK)
    {
      /* a server ignoring Range: good only when the range is the file */
      if (GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "range-start")) != 0)
        {
          why = g_strdup ("HTTP 200 without the range");
          goto fail;
        }
    }
  else
    {
      why = g_strdup_printf ("HTTP %u %s", status, soup_message_get_reason_phrase (msg));
      goto fail;
    }
  length = soup_message_headers_get_content_length (h);
  if (soup_message_headers_get_encoding (h) == SOUP_ENCODING_CONTENT_LENGTH
      && (guint64) length != want)
    {
      why = g_strdup_printf ("HTTP: a body of %" G_GINT64_FORMAT " bytes for a range of %"
                             G_GSIZE_FORMAT, (gint64) length, want);
      goto fail;
    }
  conn->retry_read = FALSE;
  conn->body = g_steal_pointer (&in);
  conn->body_len = want;
  g_input_stream_read_all_async (conn->body,
                                 conn->batch_data->data + (conn->batch_pos - conn->batch_start),
                                 want, G_PRIORITY_DEFAULT, conn->cancellable, body_read_cb, conn);
  return;

fail:
  g_debug ("[%s] %s", conn->seed->url, why);
  conn_end (conn, TRUE, why);
}

/* BEP 17: the batch (within one piece) in one request */
static void
fetch_bep17 (Conn *conn)
{
  Seed *seed = conn->seed;
  GbtMetainfo *mi = conn_metainfo (conn);
  guint32 piece = g_array_index (conn->batch, Req, 0).piece;
  guint64 begin = conn->batch_start - (guint64) piece * gbt_metainfo_get_piece_length (mi);
  g_autofree char *hash = g_uri_escape_bytes (gbt_metainfo_get_info_hash (mi), 20, NULL);
  g_autofree char *url = g_strdup_printf ("%s%cinfo_hash=%s&piece=%u&ranges=%" G_GUINT64_FORMAT
                                          "-%" G_GUINT64_FORMAT,
                                          seed->url, strchr (seed->url, '?') ? '&' : '?', hash,
                                          piece, begin,
                                          begin + (conn->batch_end - conn->batch_start) - 1);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

  if (msg == NULL)
    {
      conn_end (conn, TRUE, "a bad URL");
      return;
    }
  g_object_set_data (G_OBJECT (msg), "range-len",
                     GSIZE_TO_POINTER ((gsize) (conn->batch_end - conn->batch_start)));
  soup_session_send_async (seed->ts->soup, msg, G_PRIORITY_DEFAULT,
                                    conn->cancellable, segment_cb, conn);
}

/* fetches the batch from batch_pos on: pad files are zeros, each file's
 * part one range request (BEP 19); or all of it in one BEP 17 request */
static void
fetch_segment (Conn *conn)
{
  Seed *seed = conn->seed;
  GbtMetainfo *mi = conn_metainfo (conn);
  guint n_files = gbt_metainfo_get_n_files (mi);

  if (seed->bep17 && conn->batch_pos < conn->batch_end)
    {
      fetch_bep17 (conn);
      return;
    }
  while (conn->batch_pos < conn->batch_end)
    {
      const GbtFileInfo *f = NULL;
      guint i;
      guint64 from, to;

      for (i = 0; i < n_files; i++)
        {
          f = gbt_metainfo_get_file (mi, i);
          if (conn->batch_pos >= f->offset && conn->batch_pos < f->offset + f->length)
            break;
        }
      if (i == n_files)
        {
          conn_end (conn, FALSE, "a range outside the files");
          return;
        }
      from = conn->batch_pos - f->offset;
      to = MIN (conn->batch_end, f->offset + f->length) - f->offset; /* exclusive */
      if (f->attr & GBT_FILE_ATTR_PAD)
        {
          memset (conn->batch_data->data + (conn->batch_pos - conn->batch_start), 0, to - from);
          conn->batch_pos += to - from;
          continue;
        }
      {
        g_autofree char *url = gbt_webseed_file_url (seed->url, mi, i);
        g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);

        if (msg == NULL)
          {
            conn_end (conn, TRUE, "a bad URL");
            return;
          }
        soup_message_headers_set_range (soup_message_get_request_headers (msg), (goffset) from,
                                        (goffset) to - 1);
        g_object_set_data (G_OBJECT (msg), "range-start", GSIZE_TO_POINTER ((gsize) from));
        g_object_set_data (G_OBJECT (msg), "range-len", GSIZE_TO_POINTER ((gsize) (to - from)));
        soup_session_send_async (seed->ts->soup, msg, G_PRIORITY_DEFAULT,
                                          conn->cancellable, segment_cb, conn);
        return;
      }
    }
  batch_done (conn);
}

/* starts the next range when none is in flight and the core reads */
static void
conn_fetch_more (Conn *conn)
{
  Req first;
  guint64 end;

  if (conn->batch->len > 0 || conn->queue->len == 0 || conn->wbuf->len - conn->wpos >= MAX_WBUF)
    return;
  first = g_array_index (conn->queue, Req, 0);
  g_array_remove_index (conn->queue, 0);
  g_array_append_val (conn->batch, first);
  end = first.offset + first.length;
  /* the blocks that continue it, in whatever order they were asked */
  for (gboolean found = TRUE; found && end - first.offset < MAX_BATCH;)
    {
      found = FALSE;
      for (guint i = 0; i < conn->queue->len; i++)
        {
          Req r = g_array_index (conn->queue, Req, i);
          /* a BEP 17 request names one piece */
          if (conn->seed->bep17 && r.piece != first.piece)
            continue;
          if (r.offset == end && end + r.length - first.offset <= MAX_BATCH)
            {
              g_array_remove_index (conn->queue, i);
              g_array_append_val (conn->batch, r);
              end += r.length;
              found = TRUE;
              break;
            }
        }
    }
  conn->batch_start = conn->batch_pos = first.offset;
  conn->batch_end = end;
  conn->batch_data = g_byte_array_sized_new ((guint) (end - first.offset));
  g_byte_array_set_size (conn->batch_data, (guint) (end - first.offset));
  conn->cancellable = g_cancellable_new ();
  fetch_segment (conn);
}

/* ---- seeds ---- */

static void
seed_free (gpointer p)
{
  Seed *seed = p;

  if (seed->conn)
    conn_free (seed->conn);
  g_free (seed->url);
  g_free (seed->name);
  g_free (seed);
}

static void
seed_conn_gone (Seed *seed, gboolean failed)
{
  guint wait_s;

  if (failed)
    seed->failures++;
  wait_s = seed->failures == 0 ? 1 : MIN (RETRY_MIN_S << MIN (seed->failures - 1, 8), RETRY_MAX_S);
  if (seed->retry_after_s)
    {
      /* its own word (a BEP 17 503), not held against it */
      wait_s = seed->retry_after_s;
      seed->retry_after_s = 0;
      if (failed && seed->failures > 0)
        seed->failures--;
    }
  seed->next_try_us = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;
}

static void
seed_connect (Seed *seed)
{
  int fds[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) theirs = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  Conn *conn;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      g_debug ("[%s] socketpair: %s", seed->url, g_strerror (errno));
      seed_conn_gone (seed, TRUE);
      return;
    }
  theirs = g_socket_new_from_fd (fds[1], &error);
  if (theirs == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      seed_conn_gone (seed, TRUE);
      return;
    }
  conn = g_new0 (Conn, 1);
  conn->seed = seed;
  conn->socket = g_socket_new_from_fd (fds[0], &error);
  if (conn->socket == NULL)
    {
      close (fds[0]);
      g_free (conn);
      seed_conn_gone (seed, TRUE);
      return;
    }
  g_socket_set_blocking (conn->socket, FALSE);
  conn->rbuf = g_byte_array_new ();
  conn->wbuf = g_byte_array_new ();
  conn->queue = g_array_new (FALSE, FALSE, sizeof (Req));
  conn->batch = g_array_new (FALSE, FALSE, sizeof (Req));
  stream = g_socket_connection_factory_create_connection (theirs);
  if (!gbt_torrent_add_peer_stream (seed->ts->torrent, G_IO_STREAM (stream), "webseed", seed->name,
                                    &error))
    {
      g_debug ("[%s] refused: %s", seed->url, error->message);
      conn_free (conn);
      seed_conn_gone (seed, TRUE);
      return;
    }
  seed->conn = conn;
  conn->in_source = g_socket_create_source (conn->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (conn->in_source, G_SOURCE_FUNC (conn_readable_cb), conn, NULL);
  g_source_attach (conn->in_source, g_main_context_get_thread_default ());
}

static void
torrent_seeds_free (gpointer p)
{
  TorrentSeeds *ts = p;

  if (ts->tick)
    {
      g_source_destroy (ts->tick);
      g_source_unref (ts->tick);
    }
  if (ts->banned_id)
    g_signal_handler_disconnect (ts->torrent, ts->banned_id);
  g_clear_pointer (&ts->seeds, g_ptr_array_unref);
  g_object_unref (ts->soup);
  g_object_unref (ts->torrent);
  g_free (ts);
}

static gboolean
torrent_tick_cb (gpointer data)
{
  TorrentSeeds *ts = data;
  GbtMetainfo *mi = gbt_torrent_get_metainfo (ts->torrent);
  gint64 now = g_get_monotonic_time ();

  if (mi == NULL)
    return G_SOURCE_CONTINUE; /* a magnet: its metadata comes */
  if (ts->seeds == NULL)
    {
      ts->seeds = g_ptr_array_new_with_free_func (seed_free);
      for (guint k = 0; k < 2; k++)
        {
          const char *const *urls = k == 0 ? gbt_metainfo_get_url_list (mi)
                                           : gbt_metainfo_get_http_seeds (mi);

          for (guint i = 0; urls[i] != NULL; i++)
            {
              Seed *seed;

              if (!g_str_has_prefix (urls[i], "http://") && !g_str_has_prefix (urls[i], "https://"))
                continue;
              seed = g_new0 (Seed, 1);
              seed->ts = ts;
              seed->bep17 = k == 1;
              seed->url = g_strdup (urls[i]);
              seed->name = g_strdup (urls[i]);
              g_ptr_array_add (ts->seeds, seed);
            }
        }
      if (ts->seeds->len == 0)
        return G_SOURCE_REMOVE; /* no web seed (ts->tick stays, destroyed) */
    }
  /* a seed serves a download; a finished torrent closes it */
  if (gbt_torrent_get_state (ts->torrent) != GBT_TORRENT_STATE_DOWNLOADING)
    return G_SOURCE_CONTINUE;
  for (guint i = 0; i < ts->seeds->len; i++)
    {
      Seed *seed = g_ptr_array_index (ts->seeds, i);
      if (seed->conn == NULL && !seed->banned && seed->next_try_us <= now)
        seed_connect (seed);
    }
  return G_SOURCE_CONTINUE;
}

static void
peer_banned_cb (GbtTorrent *torrent, const char *address, gpointer data)
{
  TorrentSeeds *ts = data;

  (void) torrent;
  for (guint i = 0; ts->seeds && i < ts->seeds->len; i++)
    {
      Seed *seed = g_ptr_array_index (ts->seeds, i);
      if (g_str_equal (seed->name, address))
        {
          g_debug ("[%s] banned for bad data", seed->url);
          seed->banned = TRUE;
        }
    }
}

static void
soup_session_drop (gpointer p)
{
  soup_session_abort (p);
  g_object_unref (p);
}

static SoupSession *
get_soup (GbtWebseedSource *self, GbtTorrent *torrent)
{
  GInetAddress *bind = gbt_session_get_bind_inet_address (gbt_torrent_get_session (torrent));
  g_autofree char *ip = bind ? g_inet_address_to_string (bind) : g_strdup ("");
  char *key = g_strdup_printf ("%s|%p", ip, (void *) g_main_context_get_thread_default ());
  SoupSession *soup = g_hash_table_lookup (self->soups, key);
  g_autoptr(GSocketAddress) local = bind ? g_inet_socket_address_new (bind, 0) : NULL;

  if (soup)
    {
      g_free (key);
      return soup;
    }
  soup = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_S, "idle-timeout", 60,
                                        "max-conns-per-host", 4, "user-agent", "gbt/0.1",
                                        "local-address", local, NULL);
  /* ranges of bytes, as they are: no gzip */
  soup_session_remove_feature_by_type (soup, SOUP_TYPE_CONTENT_DECODER);
  g_hash_table_insert (self->soups, key, soup);
  return soup;
}

static void
webseed_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtWebseedSource *self = GBT_WEBSEED_SOURCE (source);
  TorrentSeeds *ts;

  if (g_hash_table_contains (self->torrents, torrent))
    return;
  ts = g_new0 (TorrentSeeds, 1);
  ts->owner = self;
  ts->soup = g_object_ref (get_soup (self, torrent));
  ts->torrent = g_object_ref (torrent);
  ts->banned_id = g_signal_connect (torrent, "peer-banned", G_CALLBACK (peer_banned_cb), ts);
  g_hash_table_insert (self->torrents, torrent, ts);
  {
    GSource *src = g_timeout_source_new_seconds (1);
    g_source_set_callback (src, torrent_tick_cb, ts, NULL);
    g_source_attach (src, g_main_context_get_thread_default ());
    ts->tick = src;
  }
}

static void
webseed_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtWebseedSource *self = GBT_WEBSEED_SOURCE (source);

  g_hash_table_remove (self->torrents, torrent);
  /* no torrent left: the sessions and their kept-alive connections go too
   * (a session's context may go with the last torrent's) */
  if (g_hash_table_size (self->torrents) == 0)
    g_hash_table_remove_all (self->soups);
}

static void
gbt_webseed_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = webseed_start;
  iface->stop = webseed_stop;
}

static void
gbt_webseed_source_finalize (GObject *object)
{
  GbtWebseedSource *self = GBT_WEBSEED_SOURCE (object);

  g_hash_table_unref (self->torrents);
  g_hash_table_unref (self->soups);
  G_OBJECT_CLASS (gbt_webseed_source_parent_class)->finalize (object);
}

static void
gbt_webseed_source_class_init (GbtWebseedSourceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_webseed_source_finalize;
}

static void
gbt_webseed_source_init (GbtWebseedSource *self)
{
  self->torrents = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, torrent_seeds_free);
  self->soups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, soup_session_drop);
}

GbtWebseedSource *
gbt_webseed_source_new (void)
{
  return g_object_new (GBT_TYPE_WEBSEED_SOURCE, NULL);
}
