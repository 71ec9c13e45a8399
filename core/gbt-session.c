/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtSession: plugins, the listening socket, the peer id and the torrents.
 * Incoming connections are handshaken here until their info-hash names a
 * torrent, then handed over.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <gbt/gbt-plugin-registry.h>
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-transport.h>

#include "gbt-peer-private.h"
#include "gbt-plugin-registry-private.h"
#include "gbt-rate-limit.h"
#include "gbt-session-private.h"
#include "gbt-torrent-private.h"
#include "gbt-session-state.h"
#include "gbt-context.h"
#include "gbt-udp-port-private.h"

#define DEFAULT_MAX_PEERS 50
#define DEFAULT_BUFFER_LIMIT (24 * 1024 * 1024)
/* incoming connections that have not yet named a torrent */
#define MAX_HANDSHAKING 200

G_DEFINE_QUARK (gbt-session-error-quark, gbt_session_error)

enum {
  PROP_0,
  PROP_DOWNLOAD_RATE,
  PROP_UPLOAD_RATE,
  PROP_DOWNLOADED,
  PROP_UPLOADED,
  PROP_N_TORRENTS,
  PROP_DOWNLOAD_LIMIT,
  PROP_UPLOAD_LIMIT,
  PROP_MAX_PEERS_PER_TORRENT,
  PROP_STATE_DIRECTORY,
  PROP_LISTEN_PORT,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

struct _GbtSession {
  GObject parent_instance;

  guint8 peer_id[20];
  char *listen_address;
  guint16 listen_port;
  char *bind_address;
  GSocketAddress *bind_socket_address;
  GInetAddress *bind_inet_address;
  GStrv enable_plugins;
  GStrv plugin_dirs;
  guint max_peers;
  gboolean announce_to_all;
  gboolean no_port_mapping;
  guint16 announce_port;     /* 0: the listen port */
  GHashTable *port_mappings; /* key -> a{sv} GVariant */
  guint n_holds;

  gboolean started;
  /* this session's view of the process-wide registry: the plugins it
   * uses (empty until gbt_session_start() loads them) */
  GbtPluginRegistry *registry;
  GbtTransport *transport;
  GObject *listener;
  GStrv transports;     /* names in order of preference; NULL: all */
  GbtUdpPort *udp_port; /* shared by uTP and the DHT; NULL when not bound */
  GPtrArray *dialers;   /* GbtSessionTransport*, in order of preference */
  guint16 bound_port;
  GListStore *torrents;
  /* info-hash (the torrent's own 20 bytes) -> GbtTorrent* of torrents: an
   * add, an incoming handshake look up one among thousands */
  GHashTable *by_info_hash;
  GPtrArray *ticking; /* GbtTorrent* (not owned) with a tick_slot */
  GPtrArray *tick_now; /* tick_cb's copy of it (reused: no allocation each second) */
  guint tick_id;
  GPtrArray *handshaking; /* incoming GbtPeer* not yet attached */
  guint sweep_id;
  GbtRateLimit *limit_up;
  GbtRateLimit *limit_down;

  GPtrArray *removing; /* GbtTorrent*: being removed, info-hash still taken */
  GSource *stats_source;
  double shown_down, shown_up;
  guint64 shown_downloaded, shown_uploaded;
  guint64 removed_downloaded, removed_uploaded; /* by torrents no longer here */
  GbtSessionState *state; /* the state directory, NULL without */

  GbtEncryption encryption;
  GHashTable *plaintext_peers; /* "ip|port": refused MSE (prefer) */
  GCancellable *filtering;     /* cancels incoming filter handshakes at dispose */
  guint n_filtering;           /* incoming connections in the filter's handshake */
};

G_DEFINE_FINAL_TYPE (GbtSession, gbt_session, G_TYPE_OBJECT)

static guint
info_hash_hash (gconstpointer key)
{
  guint h;

  memcpy (&h, key, sizeof h); /* a SHA-1: any 4 bytes are uniform */
  return h;
}

static gboolean
info_hash_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, 20) == 0;
}

/* self->torrents and self->by_info_hash together */
static void
torrents_append (GbtSession *self, GbtTorrent *torrent)
{
  g_hash_table_insert (self->by_info_hash, (gpointer) gbt_torrent_get_info_hash (torrent),
                       torrent);
  g_list_store_append (self->torrents, torrent);
}

static void
torrents_remove (GbtSession *self, GbtTorrent *torrent, guint pos)
{
  g_hash_table_remove (self->by_info_hash, gbt_torrent_get_info_hash (torrent));
  g_list_store_remove (self->torrents, pos);
}

static void close_listeners (GbtSession *self);

static void
gbt_session_dispose (GObject *object)
{
  GbtSession *self = GBT_SESSION (object);

  g_clear_handle_id (&self->sweep_id, gbt_source_remove);
  if (self->filtering)
    g_cancellable_cancel (self->filtering);
  if (self->stats_source)
    {
      g_source_destroy (self->stats_source);
      g_clear_pointer (&self->stats_source, g_source_unref);
    }
  /* the last word of the state: then no torrent may still point at us */
  if (self->state)
    gbt_session_state_flush (self->state);
  close_listeners (self);
  g_clear_pointer (&self->dialers, g_ptr_array_unref);
  if (self->handshaking)
    {
      while (self->handshaking->len)
        {
          GbtPeer *p = g_ptr_array_steal_index (self->handshaking, self->handshaking->len - 1);
          gbt_peer_close (p, NULL);
          gbt_peer_unref (p);
        }
    }
  if (self->torrents)
    {
      /* an app may hold a torrent longer than its session: the torrent is
       * stopped now, its resume data saved, and it forgets us */
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->torrents));
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(GbtTorrent) t = g_list_model_get_item (G_LIST_MODEL (self->torrents), i);
          gbt_torrent_detach (t);
        }
      g_hash_table_remove_all (self->by_info_hash);
      g_list_store_remove_all (self->torrents);
    }
  if (self->removing)
    for (guint i = 0; i < self->removing->len; i++)
      gbt_torrent_detach (g_ptr_array_index (self->removing, i));
  g_clear_pointer (&self->state, gbt_session_state_free);
  /* the torrents above stopped ticking as they were detached */
  g_clear_handle_id (&self->tick_id, gbt_source_remove);
  G_OBJECT_CLASS (gbt_session_parent_class)->dispose (object);
}

static void
gbt_session_finalize (GObject *object)
{
  GbtSession *self = GBT_SESSION (object);

  g_clear_pointer (&self->port_mappings, g_hash_table_unref);
  g_free (self->listen_address);
  g_free (self->bind_address);
  g_clear_object (&self->bind_socket_address);
  g_clear_object (&self->bind_inet_address);
  g_strfreev (self->enable_plugins);
  g_strfreev (self->plugin_dirs);
  g_strfreev (self->transports);
  g_clear_object (&self->registry);
  g_clear_object (&self->torrents);
  g_clear_pointer (&self->by_info_hash, g_hash_table_unref);
  g_clear_pointer (&self->ticking, g_ptr_array_unref);
  g_clear_pointer (&self->tick_now, g_ptr_array_unref);
  g_clear_pointer (&self->handshaking, g_ptr_array_unref);
  g_clear_pointer (&self->plaintext_peers, g_hash_table_unref);
  g_clear_object (&self->filtering);
  g_clear_pointer (&self->removing, g_ptr_array_unref);
  gbt_rate_limit_free (self->limit_up);
  gbt_rate_limit_free (self->limit_down);
  G_OBJECT_CLASS (gbt_session_parent_class)->finalize (object);
}

static void
gbt_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GbtSession *self = GBT_SESSION (object);

  switch (prop_id)
    {
    case PROP_DOWNLOAD_RATE:
      g_value_set_double (value, gbt_session_get_download_rate (self));
      break;
    case PROP_UPLOAD_RATE:
      g_value_set_double (value, gbt_session_get_upload_rate (self));
      break;
    case PROP_DOWNLOADED:
      g_value_set_uint64 (value, gbt_session_get_downloaded (self));
      break;
    case PROP_UPLOADED:
      g_value_set_uint64 (value, gbt_session_get_uploaded (self));
      break;
    case PROP_N_TORRENTS:
      g_value_set_uint (value, g_list_model_get_n_items (G_LIST_MODEL (self->torrents)));
      break;
    case PROP_DOWNLOAD_LIMIT:
      g_value_set_uint64 (value, gbt_session_get_download_limit (self));
      break;
    case PROP_UPLOAD_LIMIT:
      g_value_set_uint64 (value, gbt_session_get_upload_limit (self));
      break;
    case PROP_MAX_PEERS_PER_TORRENT:
      g_value_set_uint (value, self->max_peers);
      break;
    case PROP_STATE_DIRECTORY:
      g_value_set_string (value, gbt_session_get_state_directory (self));
      break;
    case PROP_LISTEN_PORT:
      g_value_set_uint (value, self->bound_port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gbt_session_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GbtSession *self = GBT_SESSION (object);

  switch (prop_id)
    {
    case PROP_DOWNLOAD_LIMIT:
      gbt_session_set_rate_limits (self, gbt_session_get_upload_limit (self),
                                   g_value_get_uint64 (value));
      break;
    case PROP_UPLOAD_LIMIT:
      gbt_session_set_rate_limits (self, g_value_get_uint64 (value),
                                   gbt_session_get_download_limit (self));
      break;
    case PROP_MAX_PEERS_PER_TORRENT:
      gbt_session_set_max_peers_per_torrent (self, g_value_get_uint (value));
      break;
    case PROP_STATE_DIRECTORY:
      gbt_session_set_state_directory (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
torrents_changed_cb (GListModel *model, guint position, guint removed, guint added,
                     gpointer user_data)
{
  GbtSession *self = user_data;

  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_N_TORRENTS]);
  gbt_session_torrent_changed (self, NULL);
}

#define RO (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)
#define RW (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS)

static void
gbt_session_class_init (GbtSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = gbt_session_get_property;
  object_class->set_property = gbt_session_set_property;
  object_class->dispose = gbt_session_dispose;
  object_class->finalize = gbt_session_finalize;

  /**
   * GbtSession:download-rate:
   *
   * Payload bytes per second received by all torrents; like the other
   * totals, notified at most once a second, when it changed.
   */
  props[PROP_DOWNLOAD_RATE] = g_param_spec_double ("download-rate", NULL, NULL, 0, G_MAXDOUBLE, 0,
                                                   RO);
  /**
   * GbtSession:upload-rate:
   *
   * Payload bytes per second sent by all torrents.
   */
  props[PROP_UPLOAD_RATE] = g_param_spec_double ("upload-rate", NULL, NULL, 0, G_MAXDOUBLE, 0, RO);
  /**
   * GbtSession:downloaded:
   *
   * Payload bytes received since the session was created.
   */
  props[PROP_DOWNLOADED] = g_param_spec_uint64 ("downloaded", NULL, NULL, 0, G_MAXUINT64, 0, RO);
  /**
   * GbtSession:uploaded:
   *
   * Payload bytes sent since the session was created.
   */
  props[PROP_UPLOADED] = g_param_spec_uint64 ("uploaded", NULL, NULL, 0, G_MAXUINT64, 0, RO);
  /**
   * GbtSession:n-torrents:
   *
   * The number of torrents in gbt_session_get_torrents().
   */
  props[PROP_N_TORRENTS] = g_param_spec_uint ("n-torrents", NULL, NULL, 0, G_MAXUINT, 0, RO);
  /**
   * GbtSession:download-limit:
   *
   * The global download limit in bytes per second, 0 for none; may be
   * changed at any time.
   */
  props[PROP_DOWNLOAD_LIMIT] = g_param_spec_uint64 ("download-limit", NULL, NULL, 0, G_MAXUINT64, 0,
                                                    RW);
  /**
   * GbtSession:upload-limit:
   *
   * The global upload limit in bytes per second, 0 for none.
   */
  props[PROP_UPLOAD_LIMIT] = g_param_spec_uint64 ("upload-limit", NULL, NULL, 0, G_MAXUINT64, 0,
                                                  RW);
  /**
   * GbtSession:max-peers-per-torrent:
   *
   * The most connections a torrent keeps open unless its own
   * #GbtTorrent:max-peers says otherwise; changes apply to running torrents.
   */
  props[PROP_MAX_PEERS_PER_TORRENT] = g_param_spec_uint ("max-peers-per-torrent", NULL, NULL, 1,
                                                         G_MAXUINT, DEFAULT_MAX_PEERS, RW);
  /**
   * GbtSession:state-directory: (type filename)
   *
   * See gbt_session_set_state_directory().
   */
  props[PROP_STATE_DIRECTORY] = g_param_spec_string ("state-directory", NULL, NULL, NULL, RW);
  /**
   * GbtSession:listen-port:
   *
   * The port peers connect to, once started (0 before).
   */
  props[PROP_LISTEN_PORT] = g_param_spec_uint ("listen-port", NULL, NULL, 0, G_MAXUINT16, 0, RO);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
gbt_session_init (GbtSession *self)
{
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

  /* BEP 20 style: client code and version, then random */
  memcpy (self->peer_id, "-GB0001-", 8);
  for (int i = 8; i < 20; i++)
    self->peer_id[i] = alphabet[g_random_int_range (0, sizeof alphabet - 1)];
  self->max_peers = DEFAULT_MAX_PEERS;
  self->torrents = g_list_store_new (GBT_TYPE_TORRENT);
  self->by_info_hash = g_hash_table_new (info_hash_hash, info_hash_equal);
  self->ticking = g_ptr_array_new ();
  self->tick_now = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (self->torrents, "items-changed", G_CALLBACK (torrents_changed_cb), self);
  self->handshaking = g_ptr_array_new ();
  self->port_mappings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_variant_unref);
  self->removing = g_ptr_array_new_with_free_func (g_object_unref);
  self->limit_up = gbt_rate_limit_new (0);
  self->limit_down = gbt_rate_limit_new (0);
  self->registry = gbt_plugin_registry_new_view (gbt_plugin_registry_get_default ());
  self->plaintext_peers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->filtering = g_cancellable_new ();
}

void
gbt_session_set_rate_limits (GbtSession *self, guint64 up_bytes_per_second,
                             guint64 down_bytes_per_second)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_object_freeze_notify (G_OBJECT (self));
  if (gbt_rate_limit_get_rate (self->limit_up) != up_bytes_per_second)
    {
      gbt_rate_limit_set_rate (self->limit_up, up_bytes_per_second);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UPLOAD_LIMIT]);
    }
  if (gbt_rate_limit_get_rate (self->limit_down) != down_bytes_per_second)
    {
      gbt_rate_limit_set_rate (self->limit_down, down_bytes_per_second);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DOWNLOAD_LIMIT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

guint64
gbt_session_get_download_limit (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  return gbt_rate_limit_get_rate (self->limit_down);
}

guint64
gbt_session_get_upload_limit (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  return gbt_rate_limit_get_rate (self->limit_up);
}

guint
gbt_session_get_max_peers_per_torrent (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  return self->max_peers;
}

/* ---- totals ---- */

static void
session_totals (GbtSession *self, double *down, double *up, guint64 *downloaded,
                guint64 *uploaded)
{
  GHashTableIter iter;
  GbtTorrent *t;

  *down = *up = 0;
  *downloaded = self->removed_downloaded;
  *uploaded = self->removed_uploaded;
  /* every second: the table, not the list model (a GSequence walk) */
  g_hash_table_iter_init (&iter, self->by_info_hash);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    {
      *down += gbt_torrent_get_download_rate (t);
      *up += gbt_torrent_get_upload_rate (t);
      *downloaded += gbt_torrent_get_session_downloaded (t);
      *uploaded += gbt_torrent_get_session_uploaded (t);
    }
}

double
gbt_session_get_download_rate (GbtSession *self)
{
  double down, up;
  guint64 d, u;

  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  session_totals (self, &down, &up, &d, &u);
  return down;
}

double
gbt_session_get_upload_rate (GbtSession *self)
{
  double down, up;
  guint64 d, u;

  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  session_totals (self, &down, &up, &d, &u);
  return up;
}

guint64
gbt_session_get_downloaded (GbtSession *self)
{
  double down, up;
  guint64 d, u;

  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  session_totals (self, &down, &up, &d, &u);
  return d;
}

guint64
gbt_session_get_uploaded (GbtSession *self)
{
  double down, up;
  guint64 d, u;

  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  session_totals (self, &down, &up, &d, &u);
  return u;
}

static gboolean
stats_cb (gpointer user_data)
{
  GbtSession *self = user_data;
  double down, up;
  guint64 downloaded, uploaded;

  session_totals (self, &down, &up, &downloaded, &uploaded);
  g_object_freeze_notify (G_OBJECT (self));
  if (fabs (down - self->shown_down) >= 1.0)
    {
      self->shown_down = down;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DOWNLOAD_RATE]);
    }
  if (fabs (up - self->shown_up) >= 1.0)
    {
      self->shown_up = up;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UPLOAD_RATE]);
    }
  if (downloaded != self->shown_downloaded)
    {
      self->shown_downloaded = downloaded;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DOWNLOADED]);
    }
  if (uploaded != self->shown_uploaded)
    {
      self->shown_uploaded = uploaded;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_UPLOADED]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  return G_SOURCE_CONTINUE;
}

GbtRateLimit *
gbt_session_get_rate_limit (GbtSession *self, gboolean up)
{
  return up ? self->limit_up : self->limit_down;
}

GbtSession *
gbt_session_new (void)
{
  return g_object_new (GBT_TYPE_SESSION, NULL);
}

void
gbt_session_set_listen_address (GbtSession *self, const char *address, guint16 port)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_free (self->listen_address);
  self->listen_address = g_strdup (address); /* NULL: dual-stack, else IPv4 */
  self->listen_port = port;
}

void
gbt_session_set_bind_address (GbtSession *self, const char *address)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_free (self->bind_address);
  self->bind_address = g_strdup (address);
}

void
gbt_session_set_plugins (GbtSession *self, const char *const *enable, const char *const *extra_dirs)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_strfreev (self->enable_plugins);
  g_strfreev (self->plugin_dirs);
  self->enable_plugins = g_strdupv ((char **) enable);
  self->plugin_dirs = g_strdupv ((char **) extra_dirs);
}

void
gbt_session_set_max_peers_per_torrent (GbtSession *self, guint max)
{
  guint n;

  g_return_if_fail (GBT_IS_SESSION (self));
  max = MAX (max, 1);
  if (self->max_peers == max)
    return;
  self->max_peers = max;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->torrents));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (G_LIST_MODEL (self->torrents), i);
      gbt_torrent_max_peers_changed (t);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MAX_PEERS_PER_TORRENT]);
}

void
gbt_session_set_port_mapping (GbtSession *self, gboolean enabled)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  self->no_port_mapping = !enabled;
}

gboolean
gbt_session_get_port_mapping (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), FALSE);
  return !self->no_port_mapping;
}

void
gbt_session_set_announce_port (GbtSession *self, guint16 port)
{
  guint n;

  g_return_if_fail (GBT_IS_SESSION (self));
  if (port == self->announce_port)
    return;
  self->announce_port = port;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->torrents));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTorrent) t = g_list_model_get_item (G_LIST_MODEL (self->torrents), i);
      gbt_torrent_set_announce_port (t, gbt_session_get_announce_port (self));
    }
}

guint16
gbt_session_get_announce_port (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  return self->announce_port ? self->announce_port : gbt_session_get_listen_port (self);
}

void
gbt_session_hold (GbtSession *self)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  self->n_holds++;
}

void
gbt_session_release (GbtSession *self)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (self->n_holds > 0);
  self->n_holds--;
}

guint
gbt_session_get_n_holds (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), 0);
  return self->n_holds;
}

static int
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
gbt_session_update_port_mapping (GbtSession *self, const char *key, GVariant *mapping)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (key != NULL);
  g_return_if_fail (mapping == NULL || g_variant_is_of_type (mapping, G_VARIANT_TYPE_VARDICT));

  if (mapping == NULL)
    g_hash_table_remove (self->port_mappings, key);
  else
    g_hash_table_replace (self->port_mappings, g_strdup (key), g_variant_ref_sink (mapping));
}

GVariant *
gbt_session_dup_port_mappings (GbtSession *self)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  GVariantBuilder b;

  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  g_hash_table_iter_init (&it, self->port_mappings);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < keys->len; i++)
    g_variant_builder_add_value (&b, g_hash_table_lookup (self->port_mappings,
                                                          g_ptr_array_index (keys, i)));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

void
gbt_session_set_announce_to_all (GbtSession *self, gboolean all)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  self->announce_to_all = !!all;
}

void
gbt_session_set_encryption (GbtSession *self, GbtEncryption mode)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (mode <= GBT_ENCRYPTION_OFF);
  self->encryption = mode;
}

GbtEncryption
gbt_session_get_encryption (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), GBT_ENCRYPTION_PREFER);
  return self->encryption;
}

GbtStreamFilter *
gbt_session_get_stream_filter (GbtSession *self)
{
  if (self->encryption == GBT_ENCRYPTION_OFF)
    return NULL;
  return gbt_plugin_registry_get_stream_filter (self->registry, "mse");
}

#define MAX_PLAINTEXT_PEERS 4096

static char *
peer_key (GInetSocketAddress *address)
{
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (address));
  return g_strdup_printf ("%s|%u", ip, g_inet_socket_address_get_port (address));
}

void
gbt_session_note_plaintext_peer (GbtSession *self, GInetSocketAddress *address)
{
  /* bounded: when full it starts over (a forgotten peer costs one more
   * encrypted attempt) */
  if (g_hash_table_size (self->plaintext_peers) >= MAX_PLAINTEXT_PEERS)
    g_hash_table_remove_all (self->plaintext_peers);
  g_hash_table_add (self->plaintext_peers, peer_key (address));
}

gboolean
gbt_session_is_plaintext_peer (GbtSession *self, GInetSocketAddress *address)
{
  g_autofree char *key = peer_key (address);
  return g_hash_table_contains (self->plaintext_peers, key);
}

gboolean
gbt_session_is_dual_stack (GbtSession *self)
{
  return self->bind_inet_address == NULL && g_strcmp0 (self->listen_address, "::") == 0;
}

gboolean
gbt_session_get_announce_to_all (GbtSession *self)
{
  return self->announce_to_all;
}

const guint8 *
gbt_session_get_peer_id (GbtSession *self)
{
  return self->peer_id;
}

guint16
gbt_session_get_listen_port (GbtSession *self)
{
  return self->bound_port;
}

GbtPluginRegistry *
gbt_session_get_registry (GbtSession *self)
{
  return self->registry;
}

GPtrArray *
gbt_session_get_dialers (GbtSession *self)
{
  return self->dialers;
}

GbtUdpPort *
gbt_session_get_udp_port (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  return self->udp_port;
}

void
gbt_session_set_transports (GbtSession *self, const char *const *transports)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (!self->started);
  g_strfreev (self->transports);
  self->transports = g_strdupv ((char **) transports);
}

GbtTransport *
gbt_session_get_transport (GbtSession *self)
{
  return self->transport;
}

GSocketAddress *
gbt_session_get_bind_socket_address (GbtSession *self)
{
  return self->bind_socket_address;
}

GInetAddress *
gbt_session_get_bind_inet_address (GbtSession *self)
{
  return self->bind_inet_address;
}

guint64
gbt_session_get_buffer_limit (GbtSession *self)
{
  return DEFAULT_BUFFER_LIMIT;
}

GListModel *
gbt_session_get_torrents (GbtSession *self)
{
  return G_LIST_MODEL (self->torrents);
}

/* An incoming peer's handshake named an info-hash: the torrent's swarm
 * takes it, or it is refused. */
static gboolean
incoming_handshake_cb (GbtPeer *peer, gpointer user_data, GError **error)
{
  GbtSession *self = user_data;
  const guint8 *info_hash = gbt_peer_get_remote_info_hash (peer);
  GbtTorrent *t;

  /* its handshake is done: it leaves the list now, not at the next sweep, so
   * a burst of short connections cannot fill the list and lock peers out
   * (the reader holds a reference for this call; the swarm takes its own) */
  if (g_ptr_array_remove_fast (self->handshaking, peer))
    gbt_peer_unref (peer);

  t = g_hash_table_lookup (self->by_info_hash, info_hash);
  if (t != NULL && gbt_torrent_is_active (t))
    {
      g_autoptr(GbtTorrent) held = g_object_ref (t);
      return gbt_torrent_accept_peer (held, peer, error);
    }
  g_set_error_literal (error, GBT_PEER_WIRE_ERROR, GBT_PEER_WIRE_ERROR_WRONG_INFO_HASH,
                       "handshake for a torrent we do not have");
  return FALSE;
}

static const GbtPeerEvents incoming_events = {
  .handshake = incoming_handshake_cb,
};

/* incoming peers leave the handshaking list once attached or closed */
static gboolean
sweep_cb (gpointer user_data)
{
  GbtSession *self = user_data;
  gint64 now = g_get_monotonic_time ();

  for (guint i = self->handshaking->len; i > 0; i--)
    {
      GbtPeer *p = g_ptr_array_index (self->handshaking, i - 1);
      if (gbt_peer_get_state (p) == GBT_PEER_STATE_HANDSHAKE)
        {
          gbt_peer_tick (p, now); /* handshake timeout */
          if (!gbt_peer_is_closed (p))
            continue;
        }
      g_ptr_array_remove_index_fast (self->handshaking, i - 1);
      gbt_peer_unref (p);
    }
  return G_SOURCE_CONTINUE;
}

static void
start_incoming_peer (GbtSession *self, GIOStream *stream, GSocketAddress *remote,
                     const char *transport)
{
  GbtPeer *peer;

  if (self->handshaking->len >= MAX_HANDSHAKING)
    sweep_cb (self);
  if (self->handshaking->len >= MAX_HANDSHAKING)
    return;
  peer = gbt_peer_new (stream, G_IS_INET_SOCKET_ADDRESS (remote) ? G_INET_SOCKET_ADDRESS (remote) : NULL,
                       TRUE);
  gbt_peer_set_transport (peer, transport);
  gbt_peer_set_encryption (peer, g_object_get_data (G_OBJECT (stream), "gbt-encryption"));
  g_ptr_array_add (self->handshaking, peer);
  gbt_peer_start (peer, &incoming_events, self, NULL);
}

/* an incoming connection in the stream filter's handshake (MSE) */
typedef struct {
  GbtSession *session; /* valid unless @cancellable was cancelled */
  GCancellable *cancellable;
  GSocketAddress *remote;
  const char *transport; /* interned */
} Filtering;

static void
filtered_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Filtering *f = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream =
    gbt_stream_filter_wrap_incoming_finish (GBT_STREAM_FILTER (source), result, &error);

  if (!g_cancellable_is_cancelled (f->cancellable))
    {
      f->session->n_filtering--;
      if (stream != NULL)
        start_incoming_peer (f->session, stream, f->remote, f->transport);
      else
        g_debug ("incoming connection refused by the stream filter: %s", error->message);
    }
  g_object_unref (f->cancellable);
  g_clear_object (&f->remote);
  g_free (f);
}

static void
accept_stream (GbtSession *self, GIOStream *stream, GSocketAddress *remote, const char *transport)
{
  GbtPeer *peer;
  GbtStreamFilter *filter;

  if (!G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream))
      || !G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream)))
    return;
  filter = gbt_session_get_stream_filter (self);
  if (filter != NULL)
    {
      Filtering *f;

      /* handshakes in the filter count against the same bound */
      if (self->handshaking->len + self->n_filtering >= MAX_HANDSHAKING)
        sweep_cb (self);
      if (self->handshaking->len + self->n_filtering >= MAX_HANDSHAKING)
        {
          g_debug ("dropping an incoming connection: %u handshakes in progress",
                   self->handshaking->len + self->n_filtering);
          return;
        }
      f = g_new0 (Filtering, 1);
      f->session = self;
      f->cancellable = g_object_ref (self->filtering);
      f->remote = remote ? g_object_ref (remote) : NULL;
      f->transport = g_intern_string (transport);
      self->n_filtering++;
      gbt_stream_filter_wrap_incoming_async (filter, stream, self,
                                             self->encryption == GBT_ENCRYPTION_REQUIRE
                                               ? GBT_STREAM_FILTER_REQUIRE
                                               : GBT_STREAM_FILTER_NONE,
                                             self->filtering, filtered_cb, f);
      return;
    }
  if (self->handshaking->len >= MAX_HANDSHAKING)
    sweep_cb (self); /* closed ones count for nothing */
  if (self->handshaking->len >= MAX_HANDSHAKING)
    {
      g_debug ("dropping an incoming connection: %u handshakes in progress",
               self->handshaking->len);
      return;
    }
  peer = gbt_peer_new (stream, G_IS_INET_SOCKET_ADDRESS (remote) ? G_INET_SOCKET_ADDRESS (remote) : NULL,
                       TRUE);
  gbt_peer_set_transport (peer, transport);
  g_ptr_array_add (self->handshaking, peer);
  gbt_peer_start (peer, &incoming_events, self, NULL);
}

static void
accept_cb (GIOStream *stream, GSocketAddress *remote, gpointer user_data)
{
  GbtSessionTransport *st = user_data;

  accept_stream (st->session, stream, remote, st->name);
}

static void
session_transport_free (gpointer data)
{
  GbtSessionTransport *st = data;

  g_clear_object (&st->handle);
  g_free (st->name);
  g_free (st);
}

/* The transports this session uses, in its order of preference: those
 * named by gbt_session_set_transports(), or every one loaded (TCP, then
 * uTP). */
static gboolean
choose_transports (GbtSession *self, GError **error)
{
  static const char *const defaults[] = { "tcp", "utp", NULL };
  const char *const *names = self->transports ? (const char *const *) self->transports : defaults;

  self->dialers = g_ptr_array_new_with_free_func (session_transport_free);
  for (guint i = 0; names[i]; i++)
    {
      GbtTransport *t = gbt_plugin_registry_get_transport (self->registry, names[i]);
      GbtSessionTransport *st;
      gboolean seen = FALSE;

      for (guint j = 0; j < self->dialers->len; j++)
        seen |= g_str_equal (((GbtSessionTransport *) g_ptr_array_index (self->dialers, j))->name,
                             names[i]);
      if (seen)
        continue;
      if (t == NULL)
        {
          if (self->transports == NULL)
            continue; /* a default that is not installed */
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_NO_TRANSPORT,
                       "no transport plugin named '%s' is loaded", names[i]);
          return FALSE;
        }
      st = g_new0 (GbtSessionTransport, 1);
      st->session = self;
      st->name = g_strdup (names[i]);
      st->transport = t;
      st->udp = gbt_transport_is_udp (t);
      g_ptr_array_add (self->dialers, st);
      if (!st->udp && self->transport == NULL)
        self->transport = t;
    }
  /* without a list, any transport at all (a plugin's own, say) */
  if (self->dialers->len == 0 && self->transports == NULL)
    {
      GbtTransport *t = gbt_plugin_registry_get_transport (self->registry, NULL);
      if (t != NULL && !gbt_transport_is_udp (t))
        {
          GbtSessionTransport *st = g_new0 (GbtSessionTransport, 1);
          st->session = self;
          st->name = g_strdup ("tcp");
          st->transport = self->transport = t;
          g_ptr_array_add (self->dialers, st);
        }
    }
  if (self->dialers->len == 0)
    {
      g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_NO_TRANSPORT,
                   "no transport plugin loaded (is the transport-tcp plugin installed?)");
      return FALSE;
    }
  return TRUE;
}

static GbtSessionTransport *
stream_transport (GbtSession *self)
{
  for (guint i = 0; i < self->dialers->len; i++)
    {
      GbtSessionTransport *st = g_ptr_array_index (self->dialers, i);
      if (!st->udp)
        return st;
    }
  return NULL;
}

static gboolean
has_udp_transport (GbtSession *self)
{
  for (guint i = 0; i < self->dialers->len; i++)
    if (((GbtSessionTransport *) g_ptr_array_index (self->dialers, i))->udp)
      return TRUE;
  return FALSE;
}

static void
close_listeners (GbtSession *self)
{
  for (guint i = 0; self->dialers && i < self->dialers->len; i++)
    g_clear_object (&((GbtSessionTransport *) g_ptr_array_index (self->dialers, i))->handle);
  g_clear_object (&self->listener);
  g_clear_object (&self->udp_port);
}

/* Listens on @ip port @port: the stream transport (TCP) first, then the
 * shared UDP port on the same number for the UDP transports (uTP) and the
 * DHT.  Port 0 takes TCP's choice; FALSE with @udp_taken set when only the
 * UDP side of that number was in use, so the caller may pick again. */
static gboolean
open_listeners (GbtSession *self, GInetAddress *ip, guint16 port, gboolean *udp_taken,
                GError **error)
{
  GbtSessionTransport *stream = stream_transport (self);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) udp_error = NULL;
  guint16 number = port;

  *udp_taken = FALSE;
  if (stream != NULL)
    {
      g_autoptr(GSocketAddress) at = g_inet_socket_address_new (ip, port);
      stream->handle = gbt_transport_listen (stream->transport, at, accept_cb, stream, &bound, error);
      if (stream->handle == NULL)
        return FALSE;
      self->listener = g_object_ref (stream->handle);
      if (bound)
        number = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  /* always: the DHT uses it too, whatever carries the peers */
    {
      g_autoptr(GSocketAddress) at = g_inet_socket_address_new (ip, number);
      self->udp_port = gbt_udp_port_new (G_INET_SOCKET_ADDRESS (at), &udp_error);
      if (self->udp_port == NULL)
        {
          if (stream == NULL)
            {
              g_propagate_error (error, g_steal_pointer (&udp_error));
              return FALSE;
            }
          if (port == 0 && g_error_matches (udp_error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
            {
              *udp_taken = TRUE;
              close_listeners (self);
              g_propagate_error (error, g_steal_pointer (&udp_error));
              return FALSE;
            }
          /* TCP alone, then: uTP is off and the DHT opens its own socket */
          if (has_udp_transport (self))
            g_message ("no UDP port %u, so no uTP: %s", number, udp_error->message);
        }
      else
        number = g_inet_socket_address_get_port (gbt_udp_port_get_local_address (self->udp_port));
    }
  for (guint i = 0; self->udp_port && i < self->dialers->len; i++)
    {
      GbtSessionTransport *st = g_ptr_array_index (self->dialers, i);
      if (!st->udp)
        continue;
      st->handle = gbt_transport_listen_udp (st->transport, self->udp_port, accept_cb, st, error);
      if (st->handle == NULL)
        {
          g_prefix_error (error, "%s: ", st->name);
          close_listeners (self);
          return FALSE;
        }
    }
  self->bound_port = number;
  return TRUE;
}

static gboolean
open_listeners_retrying (GbtSession *self, GInetAddress *ip, GError **error)
{
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      gboolean udp_taken = FALSE;

      if (open_listeners (self, ip, self->listen_port, &udp_taken, &local_error))
        return TRUE;
      /* port 0: TCP's free port may be a busy UDP one; try another */
      if (!udp_taken || attempt >= 8)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
}

gboolean
gbt_session_start (GbtSession *self, GError **error)
{
  g_autoptr(GInetAddress) listen_ip = NULL;
  gboolean listening = FALSE;

  g_return_val_if_fail (GBT_IS_SESSION (self), FALSE);
  if (self->started)
    return TRUE;

  /* modules are scanned once per process; which of them this session uses
   * is its own (a session without "dht" never starts the DHT) */
  if (!gbt_plugin_registry_load (self->registry, (const char *const *) self->plugin_dirs,
                                 (const char *const *) self->enable_plugins, error))
    return FALSE;
  if (!choose_transports (self, error))
    return FALSE;

  if (self->bind_address)
    {
      self->bind_inet_address = g_inet_address_new_from_string (self->bind_address);
      if (self->bind_inet_address == NULL)
        {
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                       "'%s' is not an IP address", self->bind_address);
          return FALSE;
        }
      self->bind_socket_address = g_inet_socket_address_new (self->bind_inet_address, 0);
    }

  if (self->listen_address == NULL)
    {
      /* by default one dual-stack socket takes IPv6 and IPv4 peers (BEP 7);
       * where IPv6 is off, IPv4 alone */
      g_autoptr(GInetAddress) any6 = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
      listening = open_listeners_retrying (self, any6, NULL);
      g_free (self->listen_address);
      self->listen_address = g_strdup (listening ? "::" : "0.0.0.0");
    }
  if (!listening)
    {
      listen_ip = g_inet_address_new_from_string (self->listen_address);
      if (listen_ip == NULL)
        {
          g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                       "'%s' is not an IP address to listen on", self->listen_address);
          return FALSE;
        }
      if (!open_listeners_retrying (self, listen_ip, error))
        {
          g_prefix_error (error, "cannot listen on %s port %u: ", self->listen_address,
                          self->listen_port);
          return FALSE;
        }
    }
  self->sweep_id = gbt_timeout_add_seconds (2, sweep_cb, self);
  self->stats_source = g_timeout_source_new_seconds (1);
  g_source_set_callback (self->stats_source, stats_cb, self, NULL);
  g_source_attach (self->stats_source, g_main_context_get_thread_default ());
  self->started = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LISTEN_PORT]);
  return TRUE;
}

/* FALSE with @error set when a torrent of that info-hash is in already */
static gboolean
check_not_added (GbtSession *self, const guint8 *info_hash, const char *name, GError **error)
{
  if (g_hash_table_contains (self->by_info_hash, info_hash))
    {
      g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT,
                   "torrent %s is already in the session", name);
      return FALSE;
    }
  /* one being removed still owns its files until that is over */
  for (guint i = 0; i < self->removing->len; i++)
    if (memcmp (gbt_torrent_get_info_hash (g_ptr_array_index (self->removing, i)), info_hash, 20)
        == 0)
      {
        g_set_error (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_DUPLICATE_TORRENT,
                     "torrent %s is being removed from the session", name);
        return FALSE;
      }
  return TRUE;
}

GbtTorrent *
gbt_session_add_torrent (GbtSession *self, GbtMetainfo *metainfo, const char *download_dir,
                         GError **error)
{
  GbtTorrent *torrent;

  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  g_return_val_if_fail (metainfo != NULL, NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  if (!check_not_added (self, gbt_metainfo_get_info_hash (metainfo),
                        gbt_metainfo_get_name (metainfo), error))
    return NULL;
  torrent = gbt_torrent_new (self, metainfo, download_dir);
  torrents_append (self, torrent);
  return torrent;
}

GbtTorrent *
gbt_session_add_magnet (GbtSession *self, const GbtMagnet *magnet, const char *download_dir,
                        GError **error)
{
  GbtTorrent *torrent;

  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  g_return_val_if_fail (magnet != NULL, NULL);
  g_return_val_if_fail (download_dir != NULL, NULL);

  torrent = gbt_torrent_new_from_magnet (self, magnet, download_dir);
  if (!check_not_added (self, magnet->info_hash, gbt_torrent_get_name (torrent), error))
    {
      g_object_unref (torrent);
      return NULL;
    }
  torrents_append (self, torrent);
  return torrent;
}

/* the torrent leaves: what it moved this session stays in the totals */
static void
session_forget (GbtSession *self, GbtTorrent *torrent)
{
  self->removed_downloaded += gbt_torrent_get_session_downloaded (torrent);
  self->removed_uploaded += gbt_torrent_get_session_uploaded (torrent);
  gbt_torrent_detach (torrent);
}

void
gbt_session_remove_torrent (GbtSession *self, GbtTorrent *torrent)
{
  guint pos;

  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (GBT_IS_TORRENT (torrent));
  if (!g_list_store_find (self->torrents, torrent, &pos))
    return;
  g_object_ref (torrent);
  session_forget (self, torrent);
  torrents_remove (self, torrent, pos);
  g_object_unref (torrent);
}

typedef struct {
  GbtTorrent *torrent;
  GbtRemoveFlags flags;
} RemoveData;

static void
remove_data_free (RemoveData *rd)
{
  g_object_unref (rd->torrent);
  g_free (rd);
}

static void
remove_done (GTask *task, GError *error)
{
  GbtSession *self = g_task_get_source_object (task);
  RemoveData *rd = g_task_get_task_data (task);

  g_ptr_array_remove (self->removing, rd->torrent);
  if (error)
    g_task_return_error (task, error);
  else if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
remove_deleted_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;

  gbt_torrent_delete_files_finish (GBT_TORRENT (source), result, &error);
  remove_done (user_data, error);
}

static void
remove_stopped_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GbtSession *self = g_task_get_source_object (task);
  RemoveData *rd = g_task_get_task_data (task);

  gbt_torrent_stop_finish (rd->torrent, result, NULL);
  session_forget (self, rd->torrent);
  if (rd->flags & (GBT_REMOVE_FLAGS_DELETE_DATA | GBT_REMOVE_FLAGS_DELETE_RESUME))
    gbt_torrent_delete_files_async (rd->torrent, (rd->flags & GBT_REMOVE_FLAGS_DELETE_DATA) != 0,
                                    (rd->flags & GBT_REMOVE_FLAGS_DELETE_RESUME) != 0,
                                    remove_deleted_cb, task);
  else
    remove_done (task, NULL);
}

void
gbt_session_remove_torrent_async (GbtSession *self, GbtTorrent *torrent, GbtRemoveFlags flags,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  GTask *task;
  RemoveData *rd;
  guint pos;

  g_return_if_fail (GBT_IS_SESSION (self));
  g_return_if_fail (GBT_IS_TORRENT (torrent));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gbt_session_remove_torrent_async);
  if (!g_list_store_find (self->torrents, torrent, &pos))
    {
      g_task_return_new_error (task, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                               "torrent %s is not in this session", gbt_torrent_get_name (torrent));
      g_object_unref (task);
      return;
    }
  rd = g_new0 (RemoveData, 1);
  rd->torrent = g_object_ref (torrent);
  rd->flags = flags;
  g_task_set_task_data (task, rd, (GDestroyNotify) remove_data_free);
  g_ptr_array_add (self->removing, g_object_ref (torrent));
  torrents_remove (self, torrent, pos);
  gbt_torrent_stop_async (torrent, NULL, remove_stopped_cb, task);
}

gboolean
gbt_session_remove_torrent_finish (GbtSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- the state directory (gbt-session-state.c does the files) ---- */

void
gbt_session_set_state_directory (GbtSession *self, const char *path)
{
  g_return_if_fail (GBT_IS_SESSION (self));
  if (g_strcmp0 (path, gbt_session_get_state_directory (self)) == 0)
    return;
  g_clear_pointer (&self->state, gbt_session_state_free);
  if (path)
    self->state = gbt_session_state_new (self, path);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE_DIRECTORY]);
}

const char *
gbt_session_get_state_directory (GbtSession *self)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), NULL);
  return self->state ? gbt_session_state_get_directory (self->state) : NULL;
}

char *
gbt_session_dup_resume_dir (GbtSession *self)
{
  return self->state ? g_build_filename (gbt_session_state_get_directory (self->state), "resume", NULL)
                     : NULL;
}

void
gbt_session_torrent_changed (GbtSession *self, GbtTorrent *torrent)
{
  if (self->state)
    gbt_session_state_torrent_changed (self->state, torrent);
}

static void
state_saved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* ---- the once-a-second tick of every live torrent ---- */

static gboolean
tick_cb (gpointer user_data)
{
  GbtSession *self = user_data;
  /* a tick may stop a torrent (a seed limit) or its handlers any other:
   * the list changes under us, so walk a copy, each one kept alive */
  GPtrArray *now = self->tick_now;

  for (guint i = 0; i < self->ticking->len; i++)
    g_ptr_array_add (now, g_object_ref (g_ptr_array_index (self->ticking, i)));
  for (guint i = 0; i < now->len; i++)
    {
      GbtTorrent *t = g_ptr_array_index (now, i);
      if (gbt_torrent_is_ticking (t))
        gbt_torrent_tick (t);
    }
  g_ptr_array_set_size (now, 0);
  if (self->ticking->len == 0)
    {
      self->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
gbt_session_tick_add (GbtSession *self, GbtTorrent *torrent, guint *slot)
{
  g_return_if_fail (*slot == 0);
  g_ptr_array_add (self->ticking, torrent);
  *slot = self->ticking->len;
  if (self->tick_id == 0)
    self->tick_id = gbt_timeout_add_seconds (1, tick_cb, self);
}

void
gbt_session_tick_remove (GbtSession *self, GbtTorrent *torrent, guint *slot)
{
  guint i = *slot - 1;

  g_return_if_fail (*slot != 0 && i < self->ticking->len);
  g_return_if_fail (g_ptr_array_index (self->ticking, i) == torrent);
  /* the last one takes its place */
  g_ptr_array_remove_index_fast (self->ticking, i);
  if (i < self->ticking->len)
    gbt_torrent_set_tick_slot (g_ptr_array_index (self->ticking, i), i + 1);
  *slot = 0;
}

gboolean
gbt_session_save_state (GbtSession *self, GError **error)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), FALSE);
  if (self->state == NULL)
    {
      g_set_error_literal (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                           "the session has no state directory");
      return FALSE;
    }
  return gbt_session_state_save (self->state, error);
}

void
gbt_session_save_state_async (GbtSession *self, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (GBT_IS_SESSION (self));
  g_task_set_source_tag (task, gbt_session_save_state_async);
  if (self->state == NULL)
    {
      g_task_return_new_error (task, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                               "the session has no state directory");
      return;
    }
  gbt_session_state_save_async (self->state, state_saved_cb, g_steal_pointer (&task));
}

gboolean
gbt_session_save_state_finish (GbtSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
gbt_session_load_state (GbtSession *self, GError **error)
{
  g_return_val_if_fail (GBT_IS_SESSION (self), FALSE);
  if (self->state == NULL)
    {
      g_set_error_literal (error, GBT_SESSION_ERROR, GBT_SESSION_ERROR_FAILED,
                           "the session has no state directory");
      return FALSE;
    }
  return gbt_session_state_load (self->state, error);
}
