/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Router port mapping, as a peer source that finds no peers: when a
 * session's first torrent starts, it asks the gateway (NAT-PMP, RFC 6886)
 * and any UPnP Internet Gateway Device (GUPnP-IGD, when built with it) to
 * forward the session's TCP listen port and its shared UDP port
 * (uTP, DHT), learns the external address and port, records each mapping
 * with gbt_session_update_port_mapping() and makes the session announce
 * the external TCP port to trackers (gbt_session_set_announce_port()).
 * When the session's last torrent stops (gbt's SIGINT/SIGTERM path stops
 * its torrents) or the session goes, the mappings are deleted; the UPnP
 * deletions (HTTP requests) hold the session (gbt_session_hold()) until
 * answered, so that gbt waits for them before it exits.  The announced
 * port is the NAT-PMP TCP mapping's, else the UPnP one's.
 *
 * Off when gbt_session_get_port_mapping() is FALSE (gbt
 * --no-port-mapping) or GBT_PORTMAP_DISABLE is set to anything but "0" in
 * the environment: the test suite sets it, so that no test but the
 * portmap ones (in network namespaces) sends to a router.
 * GBT_PORTMAP_GATEWAY=IP[:PORT] names the gateway instead of the default
 * route's; GBT_PORTMAP_METHODS=natpmp,upnp (the default: both) chooses.
 *
 * The state is the session's (GObject data), gone with it.
 */
#include <gbt/gbt-session.h>
#include <gbt/gbt-torrent.h>
#include <gbt/gbt-udp-port.h>

#include "gbt-natpmp.h"
#ifdef GBT_PORTMAP_UPNP
#include "gbt-upnp.h"
#endif
#include "gbt-portmap.h"

#define SESSION_KEY "gbt-portmap"
#define TORRENT_KEY "gbt-portmap-started"

struct _GbtPortmapSource {
  GObject parent_instance;
};

typedef struct {
  GbtSession *session; /* not referenced: this is its data */
  guint n_started;
  GbtNatPmp *natpmp;
  guint16 natpmp_tcp; /* the external TCP ports mapped, 0: none */
  guint16 upnp_tcp;
  guint16 port, udp_port; /* what is mapped */
#ifdef GBT_PORTMAP_UPNP
  GbtUpnp *upnp;
  char *local_ip;   /* ours, as the router sees it */
  guint fallback_id;
#endif
} Client;

#ifdef GBT_PORTMAP_UPNP
#define FALLBACK_S 2 /* UPnP when NAT-PMP has not mapped TCP by then */

static void start_upnp (Client *c);
#endif

static void gbt_portmap_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtPortmapSource, gbt_portmap_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      gbt_portmap_source_iface_init))

static gboolean
disabled_by_env (void)
{
  const char *v = g_getenv ("GBT_PORTMAP_DISABLE");
  return v != NULL && *v != '\0' && g_strcmp0 (v, "0") != 0;
}

static gboolean
method_on (const char *method)
{
  const char *env = g_getenv ("GBT_PORTMAP_METHODS");
  g_auto(GStrv) list = NULL;

  if (env == NULL || *env == '\0')
    return TRUE;
  list = g_strsplit (env, ",", -1);
  return g_strv_contains ((const char *const *) list, method);
}

static void
record (Client *c, const char *method, const char *proto, guint16 internal_port,
        guint16 external_port, guint32 lifetime, const char *external_address, const char *error)
{
  g_autofree char *key = g_strdup_printf ("%s/%s", method, proto);
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "method", "s", method);
  g_variant_dict_insert (&d, "protocol", "s", proto);
  g_variant_dict_insert (&d, "internal_port", "q", internal_port);
  g_variant_dict_insert (&d, "external_port", "q", external_port);
  g_variant_dict_insert (&d, "lifetime", "u", lifetime);
  if (external_address)
    g_variant_dict_insert (&d, "external_address", "s", external_address);
  g_variant_dict_insert (&d, "state", "s", error ? "error" : "mapped");
  if (error)
    g_variant_dict_insert (&d, "error", "s", error);
  gbt_session_update_port_mapping (c->session, key, g_variant_dict_end (&d));
  if (error)
    g_message ("%s %s port %u: %s", method, proto, internal_port, error);
  else
    g_debug ("%s %s port %u mapped to %s:%u", method, proto, internal_port,
             external_address ? external_address : "?", external_port);
#ifdef GBT_PORTMAP_UPNP
  if (error && g_str_equal (method, "natpmp") && g_str_equal (proto, "tcp"))
    start_upnp (c);
#endif
  if (g_str_equal (proto, "tcp"))
    {
      if (g_str_equal (method, "natpmp"))
        c->natpmp_tcp = error ? 0 : external_port;
      else
        c->upnp_tcp = error ? 0 : external_port;
      gbt_session_set_announce_port (c->session, c->natpmp_tcp ? c->natpmp_tcp : c->upnp_tcp);
    }
}

static void
mapped_cb (GbtNatPmpProtocol protocol, guint16 internal_port, guint16 external_port,
           guint32 lifetime, const char *external_address, const char *error, gpointer data)
{
  record (data, "natpmp", protocol == GBT_NATPMP_TCP ? "tcp" : "udp", internal_port,
          external_port, lifetime, external_address, error);
}

#ifdef GBT_PORTMAP_UPNP
static void
upnp_cb (const char *protocol, guint16 internal_port, guint16 external_port,
         const char *external_address, const char *error, gpointer data)
{
  record (data, "upnp", protocol, internal_port, external_port, error ? 0 : GBT_UPNP_LEASE_S,
          external_address, error);
}

static void
upnp_deleted_cb (gpointer data)
{
  GWeakRef *ref = data;
  g_autoptr(GbtSession) session = g_weak_ref_get (ref);

  if (session)
    gbt_session_release (session);
  g_weak_ref_clear (ref);
  g_free (ref);
}
#endif

static void
report_error (Client *c, const char *message)
{
  GVariantDict d;

  g_variant_dict_init (&d, NULL);
  g_variant_dict_insert (&d, "method", "s", "natpmp");
  g_variant_dict_insert (&d, "state", "s", "error");
  g_variant_dict_insert (&d, "error", "s", message);
  gbt_session_update_port_mapping (c->session, "natpmp", g_variant_dict_end (&d));
  g_message ("NAT-PMP: %s", message);
}

static GInetSocketAddress *
find_gateway (Client *c)
{
  const char *env = g_getenv ("GBT_PORTMAP_GATEWAY");
  g_autoptr(GInetAddress) ip = NULL;

  if (env && *env)
    {
      g_autoptr(GSocketConnectable) addr = g_network_address_parse (env, 5351, NULL);
      g_autoptr(GInetAddress) parsed = NULL;

      if (addr)
        parsed = g_inet_address_new_from_string (
            g_network_address_get_hostname (G_NETWORK_ADDRESS (addr)));
      if (parsed == NULL || g_inet_address_get_family (parsed) != G_SOCKET_FAMILY_IPV4)
        {
          report_error (c, "GBT_PORTMAP_GATEWAY is not IPV4[:PORT]");
          return NULL;
        }
      return G_INET_SOCKET_ADDRESS (
          g_inet_socket_address_new (parsed, g_network_address_get_port (G_NETWORK_ADDRESS (addr))));
    }
  ip = gbt_natpmp_default_gateway ();
  if (ip == NULL)
    {
      report_error (c, "no IPv4 default gateway");
      return NULL;
    }
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (ip, 5351));
}

static void
client_unmap (Client *c)
{
  g_clear_pointer (&c->natpmp, gbt_natpmp_free);
#ifdef GBT_PORTMAP_UPNP
  g_clear_handle_id (&c->fallback_id, g_source_remove);
  g_clear_pointer (&c->local_ip, g_free);
  if (c->upnp)
    {
      GWeakRef *ref = g_new0 (GWeakRef, 1);

      g_weak_ref_init (ref, c->session);
      gbt_session_hold (c->session);
      gbt_upnp_free (g_steal_pointer (&c->upnp), upnp_deleted_cb, ref);
    }
#endif
  c->natpmp_tcp = c->upnp_tcp = 0;
}

#ifdef GBT_PORTMAP_UPNP
/* the address the router sees us from: a UDP socket "connected" to it
 * (nothing is sent) */
static char *
local_address_towards (GInetSocketAddress *gateway)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                       G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GSocketAddress) local = NULL;

  if (s == NULL || !g_socket_connect (s, G_SOCKET_ADDRESS (gateway), NULL, NULL))
    return NULL;
  local = g_socket_get_local_address (s, NULL);
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    return NULL;
  return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

static void
start_upnp (Client *c)
{
  if (c->upnp != NULL || c->local_ip == NULL || c->port == 0 || !method_on ("upnp"))
    return;
  g_clear_handle_id (&c->fallback_id, g_source_remove);
  c->upnp = gbt_upnp_new (c->local_ip, upnp_cb, c);
  gbt_upnp_map (c->upnp, "tcp", c->port);
  if (c->udp_port)
    gbt_upnp_map (c->upnp, "udp", c->udp_port);
}

static gboolean
fallback_cb (gpointer data)
{
  Client *c = data;

  c->fallback_id = 0;
  if (c->natpmp_tcp == 0)
    start_upnp (c);
  return G_SOURCE_REMOVE;
}
#endif

/* NAT-PMP first (one datagram, and most routers that have UPnP have it);
 * UPnP IGD when NAT-PMP is off, refused, or silent for FALLBACK_S (the
 * two at once would map the same port twice on routers with both) */
static void
client_map (Client *c)
{
  g_autoptr(GInetSocketAddress) gateway = find_gateway (c);
  g_autoptr(GError) error = NULL;
  GbtUdpPort *udp = gbt_session_get_udp_port (c->session);
  GInetSocketAddress *udp_local = udp ? gbt_udp_port_get_local_address (udp) : NULL;

  c->port = gbt_session_get_listen_port (c->session);
  c->udp_port = udp_local ? g_inet_socket_address_get_port (udp_local) : 0;
  if (gateway == NULL || c->port == 0)
    return;
#ifdef GBT_PORTMAP_UPNP
  c->local_ip = local_address_towards (gateway);
#endif
  if (method_on ("natpmp"))
    {
      c->natpmp = gbt_natpmp_new (gateway, gbt_session_get_bind_inet_address (c->session),
                                  mapped_cb, c, &error);
      if (c->natpmp == NULL)
        report_error (c, error->message);
      else
        {
          gbt_natpmp_map (c->natpmp, GBT_NATPMP_TCP, c->port);
          if (c->udp_port)
            gbt_natpmp_map (c->natpmp, GBT_NATPMP_UDP, c->udp_port);
        }
    }
#ifdef GBT_PORTMAP_UPNP
  if (c->natpmp == NULL)
    start_upnp (c);
  else if (method_on ("upnp"))
    c->fallback_id = g_timeout_add_seconds (FALLBACK_S, fallback_cb, c);
#endif
}

static void
client_free (gpointer data)
{
  Client *c = data;

  client_unmap (c);
  g_free (c);
}

static void
portmap_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtSession *session = gbt_torrent_get_session (torrent);
  Client *c;

  if (session == NULL || disabled_by_env () || !gbt_session_get_port_mapping (session)
      || g_object_get_data (G_OBJECT (torrent), TORRENT_KEY))
    return;
  c = g_object_get_data (G_OBJECT (session), SESSION_KEY);
  if (c == NULL)
    {
      c = g_new0 (Client, 1);
      c->session = session;
      g_object_set_data_full (G_OBJECT (session), SESSION_KEY, c, client_free);
    }
  g_object_set_data (G_OBJECT (torrent), TORRENT_KEY, c);
  if (c->n_started++ == 0)
    client_map (c);
}

static void
portmap_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtSession *session = gbt_torrent_get_session (torrent);
  Client *c = g_object_get_data (G_OBJECT (torrent), TORRENT_KEY);

  if (c == NULL)
    return;
  g_object_set_data (G_OBJECT (torrent), TORRENT_KEY, NULL);
  /* the session's own data: gone (and unmapped) when the session is */
  if (session == NULL || g_object_get_data (G_OBJECT (session), SESSION_KEY) != c)
    return;
  if (--c->n_started == 0)
    client_unmap (c);
}

static void
gbt_portmap_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = portmap_start;
  iface->stop = portmap_stop;
}

static void
gbt_portmap_source_class_init (GbtPortmapSourceClass *klass)
{
}

static void
gbt_portmap_source_init (GbtPortmapSource *self)
{
}

GbtPortmapSource *
gbt_portmap_source_new (void)
{
  return g_object_new (GBT_TYPE_PORTMAP_SOURCE, NULL);
}
