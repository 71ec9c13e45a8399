/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtPeerInfo: a snapshot of one connected peer for apps (a row of a
 * peers list), updated in place by its torrent from the once-a-second tick.
 * The client name is the peer's own word (BEP 10 "v") when it gave one,
 * else read from its peer id, in the styles the common clients use.
 */
#include "config.h"

#include <string.h>

#include <gbt/gbt-enum-types.h>
#include <gbt/gbt-peer.h>

#include "gbt-peer-info-private.h"
#include "gbt-peer-private.h"

struct _GbtPeerInfo {
  GObject parent_instance;

  char *address;
  char *client;
  char *source;
  char *transport;
  GbtPeerFlags flags;
  double download_rate;
  double upload_rate;
  double progress;
};

enum {
  PROP_0,
  PROP_ADDRESS,
  PROP_CLIENT,
  PROP_SOURCE,
  PROP_FLAGS,
  PROP_DOWNLOAD_RATE,
  PROP_UPLOAD_RATE,
  PROP_PROGRESS,
  PROP_TRANSPORT,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (GbtPeerInfo, gbt_peer_info, G_TYPE_OBJECT)

/* ---- the client a peer id names ---- */

typedef struct {
  const char code[3];
  const char *name;
  guint n_digits; /* version digits after the code */
} AzureusClient;

/* Azureus style, "-XXnnnn-": two letters for the client, four characters
 * of version, each a digit or a letter standing for 10 and up */
static const AzureusClient azureus_clients[] = {
  { "AZ", "Vuze", 4 },
  { "BI", "BiglyBT", 4 },
  { "BT", "BitTorrent", 3 },
  { "DE", "Deluge", 3 },
  { "GB", "gbt", 4 },
  { "KT", "KTorrent", 3 },
  { "LT", "libtorrent (Rasterbar)", 3 },
  { "lt", "libtorrent", 3 },
  { "qB", "qBittorrent", 3 },
  { "TR", "Transmission", 0 }, /* its own scheme: below */
  { "UT", "\xc2\xb5Torrent", 3 },
};

/* Shadow style, "X012--...": one letter for the client */
static const struct {
  char code;
  const char *name;
} shadow_clients[] = {
  { 'A', "ABC" },        { 'O', "Osprey Permaseed" }, { 'Q', "BTQueue" },
  { 'R', "Tribler" },    { 'S', "Shad0w" },           { 'T', "BitTornado" },
  { 'U', "UPnP NAT Bit Torrent" },
};

/* a version character: 0-9, then A-Z for 10-35, then a-z for 36-61 */
static int
version_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 36;
  return -1;
}

static char *
decode_transmission (const char *id)
{
  int major = version_digit (id[3]);
  int a = version_digit (id[4]), b = version_digit (id[5]);
  const char *plus = id[6] == 'Z' || id[6] == 'X' ? "+" : "";

  if (major < 0 || a < 0 || b < 0)
    return g_strdup ("Transmission");
  /* 4.0 on: -TR4050- is 4.0.5 */
  if (major >= 4)
    return g_strdup_printf ("Transmission %d.%d.%d%s", major, a, b, plus);
  /* -TR0006- is 0.6 */
  if (major == 0 && a == 0 && b == 0)
    return g_strdup_printf ("Transmission 0.%d", MAX (version_digit (id[6]), 0));
  /* -TR0072- is 0.72 */
  if (major == 0 && a == 0)
    return g_strdup_printf ("Transmission 0.%d%d", b, MAX (version_digit (id[6]), 0));
  /* -TR3000- is 3.00, -TR111Z- 1.11+ */
  return g_strdup_printf ("Transmission %d.%d%d%s", major, a, b, plus);
}

static char *
decode_azureus (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (azureus_clients); i++)
    {
      const AzureusClient *c = &azureus_clients[i];
      GString *out;

      if (id[1] != c->code[0] || id[2] != c->code[1])
        continue;
      if (c->n_digits == 0)
        return decode_transmission (id);
      out = g_string_new (c->name);
      for (guint d = 0; d < c->n_digits; d++)
        {
          int v = version_digit (id[3 + d]);
          if (v < 0)
            return g_string_free (out, FALSE); /* the name alone */
          g_string_append_printf (out, "%c%d", d == 0 ? ' ' : '.', v);
        }
      return g_string_free (out, FALSE);
    }
  return NULL;
}

static char *
decode_shadow (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (shadow_clients); i++)
    {
      int a, b, c;

      if (id[0] != shadow_clients[i].code)
        continue;
      a = version_digit (id[1]);
      b = version_digit (id[2]);
      c = version_digit (id[3]);
      if (a < 0 || b < 0 || c < 0)
        return NULL;
      return g_strdup_printf ("%s %d.%d.%d", shadow_clients[i].name, a, b, c);
    }
  return NULL;
}

/* Mainline: "M4-3-6--" is 4.3.6, "M4-20-8-" 4.20.8 */
static char *
decode_mainline (const char *id)
{
  guint parts[3] = { 0 };
  guint pos = 1;

  for (guint p = 0; p < 3; p++)
    {
      guint start = pos;
      while (pos < 8 && g_ascii_isdigit (id[pos]))
        parts[p] = parts[p] * 10 + (guint) (id[pos++] - '0');
      if (pos == start || pos >= 8 || id[pos] != '-')
        return NULL;
      pos++;
    }
  return g_strdup_printf ("Mainline %u.%u.%u", parts[0], parts[1], parts[2]);
}

char *
gbt_peer_info_decode_client (const guint8 peer_id[20])
{
  char id[21];
  char *name = NULL;

  memcpy (id, peer_id, 20);
  id[20] = '\0';
  if (id[0] == '-' && id[7] == '-')
    name = decode_azureus (id);
  else if (id[0] == 'M')
    name = decode_mainline (id);
  else if (id[4] == '-' && id[5] == '-')
    name = decode_shadow (id);
  return name ? name : g_strdup ("");
}

/* ---- life ---- */

static void
gbt_peer_info_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GbtPeerInfo *self = GBT_PEER_INFO (object);

  switch (prop_id)
    {
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_CLIENT:
      g_value_set_string (value, self->client);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_FLAGS:
      g_value_set_flags (value, self->flags);
      break;
    case PROP_DOWNLOAD_RATE:
      g_value_set_double (value, self->download_rate);
      break;
    case PROP_UPLOAD_RATE:
      g_value_set_double (value, self->upload_rate);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_TRANSPORT:
      g_value_set_string (value, self->transport);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gbt_peer_info_finalize (GObject *object)
{
  GbtPeerInfo *self = GBT_PEER_INFO (object);

  g_free (self->address);
  g_free (self->client);
  g_free (self->source);
  g_free (self->transport);
  G_OBJECT_CLASS (gbt_peer_info_parent_class)->finalize (object);
}

static void
gbt_peer_info_class_init (GbtPeerInfoClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = gbt_peer_info_get_property;
  object_class->finalize = gbt_peer_info_finalize;

  /**
   * GbtPeerInfo:address:
   *
   * The peer's address, "IP:port" or "[IPv6]:port".
   */
  props[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, ro);
  /**
   * GbtPeerInfo:client:
   *
   * The client the peer runs, or "" when unknown: see
   * gbt_peer_info_get_client().
   */
  props[PROP_CLIENT] = g_param_spec_string ("client", NULL, NULL, "", ro);
  /**
   * GbtPeerInfo:source:
   *
   * Where its address came from: see gbt_peer_info_get_source().
   */
  props[PROP_SOURCE] = g_param_spec_string ("source", NULL, NULL, NULL, ro);
  /**
   * GbtPeerInfo:flags: (type GbtPeerFlags)
   *
   * The state of the connection.
   */
  props[PROP_FLAGS] = g_param_spec_flags ("flags", NULL, NULL, GBT_TYPE_PEER_FLAGS,
                                          GBT_PEER_FLAGS_NONE, ro);
  /**
   * GbtPeerInfo:download-rate:
   *
   * Payload bytes per second received from the peer (smoothed).
   */
  props[PROP_DOWNLOAD_RATE] = g_param_spec_double ("download-rate", NULL, NULL, 0, G_MAXDOUBLE,
                                                   0, ro);
  /**
   * GbtPeerInfo:upload-rate:
   *
   * Payload bytes per second sent to the peer (smoothed).
   */
  props[PROP_UPLOAD_RATE] = g_param_spec_double ("upload-rate", NULL, NULL, 0, G_MAXDOUBLE, 0,
                                                 ro);
  /**
   * GbtPeerInfo:progress:
   *
   * The share of the pieces the peer has, 0 to 1.
   */
  props[PROP_PROGRESS] = g_param_spec_double ("progress", NULL, NULL, 0, 1, 0, ro);
  /**
   * GbtPeerInfo:transport:
   *
   * The transport carrying the connection ("tcp").
   */
  props[PROP_TRANSPORT] = g_param_spec_string ("transport", NULL, NULL, "tcp", ro);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
gbt_peer_info_init (GbtPeerInfo *self)
{
  self->client = g_strdup ("");
}

/* a tracker's URL is "tracker" to users */
static const char *
source_name (const char *source)
{
  if (source == NULL)
    return "unknown";
  if (strstr (source, "://") != NULL)
    return "tracker";
  return source;
}

GbtPeerInfo *
gbt_peer_info_new (GbtPeer *peer, const char *source, const char *transport)
{
  GbtPeerInfo *self = g_object_new (GBT_TYPE_PEER_INFO, NULL);

  self->address = g_strdup (gbt_peer_get_name (peer));
  self->source = g_strdup (source_name (source));
  self->transport = g_strdup (transport ? transport : "tcp");
  g_object_freeze_notify (G_OBJECT (self));
  gbt_peer_info_refresh (self, peer, FALSE, FALSE);
  /* nobody listens yet: the notifies queued go to no handler */
  g_object_thaw_notify (G_OBJECT (self));
  return self;
}

static void
set_double (GbtPeerInfo *self, double *field, double value, guint prop)
{
  if (*field == value)
    return;
  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
gbt_peer_info_refresh (GbtPeerInfo *self, GbtPeer *peer, gboolean snubbed, gboolean optimistic)
{
  const GbtBitfield *has = gbt_peer_get_has (peer);
  const char *client = gbt_peer_get_client (peer);
  g_autofree char *decoded = NULL;
  GbtPeerFlags flags = GBT_PEER_FLAGS_NONE;

  g_object_freeze_notify (G_OBJECT (self));
  if (client == NULL || *client == '\0')
    client = decoded = gbt_peer_info_decode_client (gbt_peer_get_remote_id (peer));
  if (g_strcmp0 (self->client, client) != 0)
    {
      g_free (self->client);
      self->client = g_strdup (client);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CLIENT]);
    }

  if (gbt_peer_is_incoming (peer))
    flags |= GBT_PEER_FLAGS_INCOMING;
  if (gbt_peer_is_choking (peer))
    flags |= GBT_PEER_FLAGS_CHOKED;
  if (gbt_peer_am_choking (peer))
    flags |= GBT_PEER_FLAGS_CHOKING;
  if (gbt_peer_is_interested (peer))
    flags |= GBT_PEER_FLAGS_INTERESTED;
  if (gbt_peer_am_interested (peer))
    flags |= GBT_PEER_FLAGS_INTERESTING;
  if (snubbed)
    flags |= GBT_PEER_FLAGS_SNUBBED;
  if (gbt_peer_is_seed (peer))
    flags |= GBT_PEER_FLAGS_SEED;
  if (optimistic)
    flags |= GBT_PEER_FLAGS_OPTIMISTIC;
  if (gbt_peer_get_encryption (peer) != NULL)
    flags |= GBT_PEER_FLAGS_ENCRYPTED;
  if (self->flags != flags)
    {
      self->flags = flags;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_FLAGS]);
    }

  set_double (self, &self->download_rate, gbt_peer_get_rate_down (peer), PROP_DOWNLOAD_RATE);
  set_double (self, &self->upload_rate, gbt_peer_get_rate_up (peer), PROP_UPLOAD_RATE);
  set_double (self, &self->progress,
              has->n_bits > 0 ? (double) has->n_set / has->n_bits : 0.0, PROP_PROGRESS);
  g_object_thaw_notify (G_OBJECT (self));
}

void
gbt_peer_info_closed (GbtPeerInfo *self)
{
  g_object_freeze_notify (G_OBJECT (self));
  set_double (self, &self->download_rate, 0, PROP_DOWNLOAD_RATE);
  set_double (self, &self->upload_rate, 0, PROP_UPLOAD_RATE);
  g_object_thaw_notify (G_OBJECT (self));
}

/* ---- getters ---- */

const char *
gbt_peer_info_get_address (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), NULL);
  return self->address;
}

const char *
gbt_peer_info_get_client (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), NULL);
  return self->client;
}

const char *
gbt_peer_info_get_source (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), NULL);
  return self->source;
}

GbtPeerFlags
gbt_peer_info_get_flags (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), GBT_PEER_FLAGS_NONE);
  return self->flags;
}

double
gbt_peer_info_get_download_rate (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), 0);
  return self->download_rate;
}

double
gbt_peer_info_get_upload_rate (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), 0);
  return self->upload_rate;
}

double
gbt_peer_info_get_progress (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), 0);
  return self->progress;
}

const char *
gbt_peer_info_get_transport (GbtPeerInfo *self)
{
  g_return_val_if_fail (GBT_IS_PEER_INFO (self), NULL);
  return self->transport;
}
