/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Message Stream Encryption (MSE/PE, as Azureus/Vuze specified it and
 * libtorrent, Transmission and others speak it): a 768-bit Diffie-Hellman
 * exchange, the torrent's info-hash as the shared secret SKEY (the
 * responder finds it by its obfuscated hash), then RC4 both ways with the
 * first 1024 bytes of each key stream discarded; crypto_provide/select
 * choose RC4 or plaintext for what follows.  Random padding after the
 * public keys.  The crypto is nettle's (SHA-1, ARC4) and GMP's (modular
 * exponentiation).
 *
 *   A->B: Ya, PadA
 *   B->A: Yb, PadB
 *   A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   B->A: ENCRYPT(VC, crypto_select, len(padD), padD), ENCRYPT2(payload)
 *
 * Everything runs on the caller's main context with asynchronous reads and
 * writes; a handshake not done in HANDSHAKE_TIMEOUT_S fails.
 */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include <gmp.h>
#include <nettle/sha1.h>

#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>

#include "gbt-mse.h"

#define HANDSHAKE_TIMEOUT_S 20
#define KEY_LEN 96
#define MAX_PAD 512
#define CRYPTO_PLAINTEXT 0x01
#define CRYPTO_RC4 0x02

static const char prime_hex[] =
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
  "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
  "4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563";

struct _GbtMse {
  GObject parent_instance;
};

static void filter_init (GbtStreamFilterInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtMse, gbt_mse, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_STREAM_FILTER, filter_init))

typedef struct _Handshake Handshake;
typedef void (*Step) (Handshake *hs);

struct _Handshake {
  GTask *task; /* owns this */
  GIOStream *base;
  gboolean initiator;
  GbtStreamFilterFlags flags;
  GbtSession *session; /* responder: where to look the info-hash up */
  guint8 skey[20];
  GCancellable *cancellable; /* ours: cancelled by the task's and the timer */
  GCancellable *outer; /* the caller's, or NULL */
  GByteArray *ia; /* responder: the initial payload, decrypted */
  gulong cancel_id;
  GSource *timer;
  gboolean timed_out;

  GByteArray *rbuf; /* read, not yet consumed */
  guint8 chunk[4096];
  gsize need;
  Step next;
  GBytes *wbuf;
  Step after_write;

  mpz_t x; /* our private key */
  guint8 y[KEY_LEN]; /* our public key */
  guint8 s[KEY_LEN]; /* the shared secret */
  gsize scanned; /* bytes consumed looking for the sync pattern */
  guint8 sync[20];
  gsize sync_len;
  struct arcfour_ctx enc, dec;
  guint32 provide;
  guint16 pad_len;
  guint16 ia_len;
};

static void
handshake_free (Handshake *hs)
{
  if (hs->timer)
    {
      g_source_destroy (hs->timer);
      g_source_unref (hs->timer);
    }
  if (hs->cancel_id)
    g_cancellable_disconnect (hs->outer, hs->cancel_id);
  g_clear_object (&hs->outer);
  g_clear_pointer (&hs->ia, g_byte_array_unref);
  g_clear_object (&hs->cancellable);
  g_clear_object (&hs->base);
  g_clear_pointer (&hs->rbuf, g_byte_array_unref);
  g_clear_pointer (&hs->wbuf, g_bytes_unref);
  mpz_clear (hs->x);
  memset (&hs->enc, 0, sizeof hs->enc);
  memset (&hs->dec, 0, sizeof hs->dec);
  memset (hs->s, 0, sizeof hs->s);
  g_free (hs);
}

static void
fail (Handshake *hs, GError *error)
{
  GTask *task = hs->task;

  if (hs->timed_out)
    {
      g_clear_error (&error);
      error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                   "the encryption handshake timed out");
    }
  g_task_return_error (task, error);
  g_object_unref (task); /* frees @hs */
}

static void
fail_literal (Handshake *hs, gint code, const char *message)
{
  fail (hs, g_error_new_literal (G_IO_ERROR, code, message));
}

static void
succeed (Handshake *hs, gboolean rc4)
{
  GTask *task = hs->task;
  GIOStream *stream;

  /* what was read past the handshake belongs to the stream after it */
  if (rc4 && hs->rbuf->len > 0)
    arcfour_crypt (&hs->dec, hs->rbuf->len, hs->rbuf->data, hs->rbuf->data);
  /* after the responder's initial payload, which came first */
  if (hs->ia != NULL && hs->ia->len > 0)
    g_byte_array_prepend (hs->rbuf, hs->ia->data, hs->ia->len);
  stream = gbt_mse_stream_new (hs->base, rc4 ? &hs->enc : NULL, rc4 ? &hs->dec : NULL,
                               hs->rbuf->data, hs->rbuf->len);
  g_task_return_pointer (task, stream, g_object_unref);
  g_object_unref (task);
}

/* ---- reading and writing ---- */

static void read_more (Handshake *hs);

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *hs = user_data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (n < 0)
    {
      fail (hs, error);
      return;
    }
  if (n == 0)
    {
      fail_literal (hs, G_IO_ERROR_CONNECTION_CLOSED,
                    "the peer closed the connection during the encryption handshake");
      return;
    }
  g_byte_array_append (hs->rbuf, hs->chunk, n);
  read_more (hs);
}

/* calls hs->next once hs->need bytes are buffered */
static void
read_more (Handshake *hs)
{
  if (hs->rbuf->len >= hs->need)
    {
      hs->next (hs);
      return;
    }
  g_input_stream_read_async (g_io_stream_get_input_stream (hs->base), hs->chunk,
                             sizeof hs->chunk, G_PRIORITY_DEFAULT, hs->cancellable, read_cb, hs);
}

static void
need (Handshake *hs, gsize n, Step next)
{
  hs->need = n;
  hs->next = next;
  read_more (hs);
}

static void
consume (Handshake *hs, gsize n)
{
  g_byte_array_remove_range (hs->rbuf, 0, n);
}

/* decrypts @n buffered bytes in place (the caller consumes them) */
static guint8 *
decrypt_head (Handshake *hs, gsize n)
{
  arcfour_crypt (&hs->dec, n, hs->rbuf->data, hs->rbuf->data);
  return hs->rbuf->data;
}

static void
write_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *hs = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      fail (hs, error);
      return;
    }
  g_clear_pointer (&hs->wbuf, g_bytes_unref);
  hs->after_write (hs);
}

static void
send_msg (Handshake *hs, GByteArray *data, Step after)
{
  gsize len = data->len;

  hs->wbuf = g_byte_array_free_to_bytes (data);
  hs->after_write = after;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (hs->base),
                                   g_bytes_get_data (hs->wbuf, NULL), len, G_PRIORITY_DEFAULT,
                                   hs->cancellable, write_cb, hs);
}

/* ---- crypto ---- */

static void
random_bytes (guint8 *buf, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      gssize n = getrandom (buf + done, len - done, 0);
      if (n > 0)
        done += n;
    }
}

static void
export_key (mpz_t v, guint8 out[KEY_LEN])
{
  size_t count = 0;
  guint8 tmp[KEY_LEN];

  mpz_export (tmp, &count, 1, 1, 1, 0, v);
  memset (out, 0, KEY_LEN);
  memcpy (out + KEY_LEN - count, tmp, count);
  memset (tmp, 0, sizeof tmp);
}

static void
make_keys (Handshake *hs)
{
  mpz_t p, g, y;
  guint8 priv[20];

  mpz_inits (p, g, y, NULL);
  mpz_set_str (p, prime_hex, 16);
  mpz_set_ui (g, 2);
  random_bytes (priv, sizeof priv);
  mpz_import (hs->x, sizeof priv, 1, 1, 1, 0, priv);
  memset (priv, 0, sizeof priv);
  mpz_powm (y, g, hs->x, p);
  export_key (y, hs->y);
  mpz_clears (p, g, y, NULL);
}

/* S from the peer's public key; FALSE when it is out of range */
static gboolean
make_secret (Handshake *hs, const guint8 *their)
{
  mpz_t p, y, s;
  gboolean ok;

  mpz_inits (p, y, s, NULL);
  mpz_set_str (p, prime_hex, 16);
  mpz_import (y, KEY_LEN, 1, 1, 1, 0, their);
  ok = mpz_cmp_ui (y, 1) > 0 && mpz_cmp (y, p) < 0;
  if (ok)
    {
      mpz_powm (s, y, hs->x, p);
      export_key (s, hs->s);
    }
  mpz_clears (p, y, s, NULL);
  return ok;
}

static void
hash3 (guint8 out[20], const char *tag, const guint8 *a, gsize a_len, const guint8 *b, gsize b_len)
{
  struct sha1_ctx ctx;

  sha1_init (&ctx);
  sha1_update (&ctx, strlen (tag), (const guint8 *) tag);
  if (a)
    sha1_update (&ctx, a_len, a);
  if (b)
    sha1_update (&ctx, b_len, b);
  sha1_digest (&ctx, 20, out);
}

static void
rc4_init (struct arcfour_ctx *ctx, const char *tag, const guint8 *s, const guint8 *skey)
{
  guint8 key[20];
  guint8 discard[1024];

  hash3 (key, tag, s, KEY_LEN, skey, 20);
  arcfour_set_key (ctx, sizeof key, key);
  memset (discard, 0, sizeof discard);
  arcfour_crypt (ctx, sizeof discard, discard, discard);
  memset (key, 0, sizeof key);
}

/* our public key and random padding */
static GByteArray *
public_key_message (Handshake *hs)
{
  GByteArray *msg = g_byte_array_new ();
  guint8 pad[MAX_PAD];
  guint16 r;

  random_bytes ((guint8 *) &r, sizeof r);
  g_byte_array_append (msg, hs->y, KEY_LEN);
  r %= MAX_PAD + 1;
  random_bytes (pad, r);
  g_byte_array_append (msg, pad, r);
  return msg;
}

/* the offset of hs->sync in the buffer, or -1 */
static gssize
find_sync (Handshake *hs)
{
  if (hs->rbuf->len < hs->sync_len)
    return -1;
  for (gsize i = 0; i + hs->sync_len <= hs->rbuf->len; i++)
    if (memcmp (hs->rbuf->data + i, hs->sync, hs->sync_len) == 0)
      return i;
  return -1;
}

/* ---- the initiator (A) ---- */

static void a_got_select (Handshake *hs);
static void a_got_pad_d (Handshake *hs);

static void
a_scan_vc (Handshake *hs)
{
  gssize at = find_sync (hs);

  if (at < 0)
    {
      /* VC comes within MAX_PAD bytes of padding after Yb */
      if (hs->rbuf->len >= MAX_PAD + hs->sync_len)
        {
          fail_literal (hs, G_IO_ERROR_INVALID_DATA, "no MSE verification constant from the peer");
          return;
        }
      need (hs, hs->rbuf->len + 1, a_scan_vc);
      return;
    }
  consume (hs, at);
  decrypt_head (hs, 8); /* the VC: moves the cipher past it */
  consume (hs, 8);
  need (hs, 6, a_got_select);
}

static void
a_got_select (Handshake *hs)
{
  const guint8 *p = decrypt_head (hs, 6);
  guint32 select = (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];

  hs->pad_len = (guint16) (p[4] << 8 | p[5]);
  consume (hs, 6);
  hs->provide = select;
  if (hs->pad_len > MAX_PAD)
    {
      fail_literal (hs, G_IO_ERROR_INVALID_DATA, "MSE padding too long");
      return;
    }
  need (hs, hs->pad_len, a_got_pad_d);
}

static void
a_got_pad_d (Handshake *hs)
{
  decrypt_head (hs, hs->pad_len);
  consume (hs, hs->pad_len);
  if (hs->provide == CRYPTO_RC4)
    succeed (hs, TRUE);
  else if (hs->provide == CRYPTO_PLAINTEXT && !(hs->flags & GBT_STREAM_FILTER_REQUIRE))
    succeed (hs, FALSE);
  else
    fail_literal (hs, G_IO_ERROR_PERMISSION_DENIED,
                  "the peer selected a method we did not offer");
}

static void
a_sent_request (Handshake *hs)
{
  struct arcfour_ctx probe;
  guint8 vc[8] = { 0 };

  /* B's VC, as it will appear encrypted */
  probe = hs->dec;
  arcfour_crypt (&probe, 8, hs->sync, vc);
  memset (&probe, 0, sizeof probe);
  hs->sync_len = 8;
  need (hs, 8, a_scan_vc);
}

static void
a_got_yb (Handshake *hs)
{
  GByteArray *msg;
  guint8 h[20], h3[20];
  guint8 tail[8 + 4 + 2 + 2] = { 0 };

  if (!make_secret (hs, hs->rbuf->data))
    {
      fail_literal (hs, G_IO_ERROR_INVALID_DATA, "bad MSE public key from the peer");
      return;
    }
  consume (hs, KEY_LEN);
  rc4_init (&hs->enc, "keyA", hs->s, hs->skey);
  rc4_init (&hs->dec, "keyB", hs->s, hs->skey);

  msg = g_byte_array_new ();
  hash3 (h, "req1", hs->s, KEY_LEN, NULL, 0);
  g_byte_array_append (msg, h, 20);
  hash3 (h, "req2", hs->skey, 20, NULL, 0);
  hash3 (h3, "req3", hs->s, KEY_LEN, NULL, 0);
  for (int i = 0; i < 20; i++)
    h[i] ^= h3[i];
  g_byte_array_append (msg, h, 20);
  /* VC (zeros), crypto_provide, len(PadC) = 0, len(IA) = 0: our BitTorrent
   * handshake goes out after, through the filtered stream */
  tail[11] = CRYPTO_RC4 | ((hs->flags & GBT_STREAM_FILTER_REQUIRE) ? 0 : CRYPTO_PLAINTEXT);
  arcfour_crypt (&hs->enc, sizeof tail, tail, tail);
  g_byte_array_append (msg, tail, sizeof tail);
  send_msg (hs, msg, a_sent_request);
}

static void
a_sent_ya (Handshake *hs)
{
  need (hs, KEY_LEN, a_got_yb);
}

/* ---- the responder (B) ---- */

static void b_got_ya (Handshake *hs);
static void b_scan_req1 (Handshake *hs);
static void b_got_skey (Handshake *hs);
static void b_got_vc (Handshake *hs);
static void b_got_pad_c (Handshake *hs);
static void b_got_ia (Handshake *hs);

static const char bt_header[] = "\x13" "BitTorrent protocol";

static void
b_first_bytes (Handshake *hs)
{
  if (memcmp (hs->rbuf->data, bt_header, 20) == 0)
    {
      if (hs->flags & GBT_STREAM_FILTER_REQUIRE)
        fail_literal (hs, G_IO_ERROR_PERMISSION_DENIED,
                      "a plaintext peer, and encryption is required");
      else
        succeed (hs, FALSE); /* replays what was read */
      return;
    }
  need (hs, KEY_LEN, b_got_ya);
}

static void
b_sent_yb (Handshake *hs)
{
  hash3 (hs->sync, "req1", hs->s, KEY_LEN, NULL, 0);
  hs->sync_len = 20;
  need (hs, 20, b_scan_req1);
}

static void
b_got_ya (Handshake *hs)
{
  if (!make_secret (hs, hs->rbuf->data))
    {
      fail_literal (hs, G_IO_ERROR_INVALID_DATA, "bad MSE public key from the peer");
      return;
    }
  consume (hs, KEY_LEN);
  send_msg (hs, public_key_message (hs), b_sent_yb);
}

static void
b_scan_req1 (Handshake *hs)
{
  gssize at = find_sync (hs);

  if (at < 0)
    {
      if (hs->rbuf->len >= MAX_PAD + hs->sync_len)
        {
          fail_literal (hs, G_IO_ERROR_INVALID_DATA, "no MSE synchronisation hash from the peer");
          return;
        }
      need (hs, hs->rbuf->len + 1, b_scan_req1);
      return;
    }
  consume (hs, at + 20);
  need (hs, 20, b_got_skey);
}

static void
b_got_skey (Handshake *hs)
{
  guint8 h3[20], want[20];
  GListModel *torrents = gbt_session_get_torrents (hs->session);
  guint n = g_list_model_get_n_items (torrents);
  gboolean found = FALSE;

  hash3 (h3, "req3", hs->s, KEY_LEN, NULL, 0);
  for (int i = 0; i < 20; i++)
    want[i] = hs->rbuf->data[i] ^ h3[i];
  consume (hs, 20);
  for (guint i = 0; i < n && !found; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (torrents, i);
      const guint8 *ih = gbt_torrent_get_info_hash (t);
      guint8 h[20];

      hash3 (h, "req2", ih, 20, NULL, 0);
      if (memcmp (h, want, 20) == 0)
        {
          memcpy (hs->skey, ih, 20);
          found = TRUE;
        }
    }
  if (!found)
    {
      fail_literal (hs, G_IO_ERROR_NOT_FOUND, "MSE handshake for a torrent we do not have");
      return;
    }
  rc4_init (&hs->dec, "keyA", hs->s, hs->skey);
  rc4_init (&hs->enc, "keyB", hs->s, hs->skey);
  need (hs, 8 + 4 + 2, b_got_vc);
}

static void
b_got_vc (Handshake *hs)
{
  static const guint8 zeros[8] = { 0 };
  const guint8 *p = decrypt_head (hs, 14);

  if (memcmp (p, zeros, 8) != 0)
    {
      fail_literal (hs, G_IO_ERROR_INVALID_DATA, "bad MSE verification constant");
      return;
    }
  hs->provide = (guint32) p[8] << 24 | (guint32) p[9] << 16 | (guint32) p[10] << 8 | p[11];
  hs->pad_len = (guint16) (p[12] << 8 | p[13]);
  consume (hs, 14);
  if (hs->pad_len > MAX_PAD)
    {
      fail_literal (hs, G_IO_ERROR_INVALID_DATA, "MSE padding too long");
      return;
    }
  need (hs, hs->pad_len + 2, b_got_pad_c);
}

static void
b_got_pad_c (Handshake *hs)
{
  const guint8 *p = decrypt_head (hs, hs->pad_len + 2);

  hs->ia_len = (guint16) (p[hs->pad_len] << 8 | p[hs->pad_len + 1]);
  consume (hs, hs->pad_len + 2);
  need (hs, hs->ia_len, b_got_ia);
}

static void
b_sent_select (Handshake *hs)
{
  succeed (hs, (hs->provide & CRYPTO_RC4) != 0);
}

static void
b_got_ia (Handshake *hs)
{
  guint8 reply[8 + 4 + 2] = { 0 };
  guint32 select;
  GByteArray *msg;

  /* the initial payload, the first of what the stream hands out */
  decrypt_head (hs, hs->ia_len);
  hs->ia = g_byte_array_sized_new (hs->ia_len);
  g_byte_array_append (hs->ia, hs->rbuf->data, hs->ia_len);
  consume (hs, hs->ia_len);
  if (hs->provide & CRYPTO_RC4)
    select = CRYPTO_RC4;
  else if ((hs->provide & CRYPTO_PLAINTEXT) && !(hs->flags & GBT_STREAM_FILTER_REQUIRE))
    select = CRYPTO_PLAINTEXT;
  else
    {
      fail_literal (hs, G_IO_ERROR_PERMISSION_DENIED, "no MSE method in common with the peer");
      return;
    }
  hs->provide = select;
  reply[11] = select;
  arcfour_crypt (&hs->enc, sizeof reply, reply, reply);
  msg = g_byte_array_new ();
  g_byte_array_append (msg, reply, sizeof reply);
  send_msg (hs, msg, b_sent_select);
}

/* ---- GbtStreamFilter ---- */

static gboolean
timeout_cb (gpointer user_data)
{
  Handshake *hs = user_data;

  hs->timed_out = TRUE;
  g_cancellable_cancel (hs->cancellable);
  return G_SOURCE_REMOVE;
}

static void
outer_cancelled_cb (GCancellable *outer, gpointer user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static Handshake *
handshake_new (GbtMse *self, GIOStream *base, GbtStreamFilterFlags flags, GCancellable *cancellable,
               GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
  Handshake *hs = g_new0 (Handshake, 1);

  hs->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (hs->task, tag);
  g_task_set_task_data (hs->task, hs, (GDestroyNotify) handshake_free);
  hs->base = g_object_ref (base);
  hs->flags = flags;
  hs->cancellable = g_cancellable_new ();
  mpz_init (hs->x);
  hs->outer = cancellable ? g_object_ref (cancellable) : NULL;
  if (cancellable)
    hs->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (outer_cancelled_cb),
                                           g_object_ref (hs->cancellable), g_object_unref);
  hs->rbuf = g_byte_array_new ();
  hs->timer = g_timeout_source_new_seconds (HANDSHAKE_TIMEOUT_S);
  g_source_set_callback (hs->timer, timeout_cb, hs, NULL);
  g_source_attach (hs->timer, g_main_context_get_thread_default ());
  return hs;
}

static void
wrap_outgoing_async (GbtStreamFilter *filter, GIOStream *base, const guint8 *info_hash,
                     GbtStreamFilterFlags flags, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  Handshake *hs = handshake_new (GBT_MSE (filter), base, flags, cancellable, callback, user_data,
                                 wrap_outgoing_async);

  hs->initiator = TRUE;
  memcpy (hs->skey, info_hash, 20);
  make_keys (hs);
  send_msg (hs, public_key_message (hs), a_sent_ya);
}

static GIOStream *
wrap_finish (GbtStreamFilter *filter, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, filter), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
wrap_incoming_async (GbtStreamFilter *filter, GIOStream *base, GbtSession *session,
                     GbtStreamFilterFlags flags, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
  Handshake *hs = handshake_new (GBT_MSE (filter), base, flags, cancellable, callback, user_data,
                                 wrap_incoming_async);

  hs->session = session;
  make_keys (hs);
  need (hs, 20, b_first_bytes);
}

static void
filter_init (GbtStreamFilterInterface *iface)
{
  iface->wrap_outgoing_async = wrap_outgoing_async;
  iface->wrap_outgoing_finish = wrap_finish;
  iface->wrap_incoming_async = wrap_incoming_async;
  iface->wrap_incoming_finish = wrap_finish;
}

static void
gbt_mse_class_init (GbtMseClass *klass)
{
}

static void
gbt_mse_init (GbtMse *self)
{
}

GbtMse *
gbt_mse_new (void)
{
  return g_object_new (GBT_TYPE_MSE, NULL);
}
