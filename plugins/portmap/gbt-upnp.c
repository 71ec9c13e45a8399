/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UPnP IGD through GUPnP-IGD (built on libsoup 3: meson refuses a GUPnP
 * built on libsoup 2, which cannot share a process with tracker-http).
 * External port 0 asks GUPnP-IGD for the internal port's number first and
 * a random one when the router says it is taken (error 718).
 */
#include <libgupnp-igd/gupnp-simple-igd.h>

#include "gbt-upnp.h"

#define DESCRIPTION "gbt"

struct _GbtUpnp {
  GUPnPSimpleIgd *igd;
  char *local_ip;
  GbtUpnpFunc func;
  gpointer data;
};

typedef struct {
  GDestroyNotify done;
  gpointer data;
} Done;

static void
mapped_cb (GUPnPSimpleIgd *igd, const char *proto, const char *external_ip,
           const char *replaces, guint external_port, const char *local_ip, guint local_port,
           const char *description, gpointer user_data)
{
  GbtUpnp *self = user_data;
  g_autofree char *p = g_ascii_strdown (proto, -1);

  if (g_strcmp0 (description, DESCRIPTION) != 0)
    return;
  self->func (p, local_port, external_port, external_ip, NULL, self->data);
}

static void
error_cb (GUPnPSimpleIgd *igd, GError *error, const char *proto, guint external_port,
          const char *local_ip, guint local_port, const char *description, gpointer user_data)
{
  GbtUpnp *self = user_data;
  g_autofree char *p = g_ascii_strdown (proto, -1);

  if (g_strcmp0 (description, DESCRIPTION) != 0)
    return;
  self->func (p, local_port, 0, NULL, error ? error->message : "UPnP mapping failed", self->data);
}

GbtUpnp *
gbt_upnp_new (const char *local_ip, GbtUpnpFunc func, gpointer data)
{
  GbtUpnp *self = g_new0 (GbtUpnp, 1);

  self->igd = gupnp_simple_igd_new ();
  self->local_ip = g_strdup (local_ip);
  self->func = func;
  self->data = data;
  g_signal_connect (self->igd, "mapped-external-port", G_CALLBACK (mapped_cb), self);
  g_signal_connect (self->igd, "error-mapping-port", G_CALLBACK (error_cb), self);
  return self;
}

void
gbt_upnp_map (GbtUpnp *self, const char *protocol, guint16 internal_port)
{
  g_autofree char *p = g_ascii_strup (protocol, -1);

  gupnp_simple_igd_add_port (self->igd, p, 0, self->local_ip, internal_port, GBT_UPNP_LEASE_S,
                             DESCRIPTION);
}

static void
igd_gone_cb (gpointer user_data, GObject *where)
{
  Done *d = user_data;

  if (d->done)
    d->done (d->data);
  g_free (d);
}

void
gbt_upnp_free (GbtUpnp *self, GDestroyNotify done, gpointer done_data)
{
  Done *d;

  if (self == NULL)
    return;
  d = g_new0 (Done, 1);
  d->done = done;
  d->data = done_data;
  g_signal_handlers_disconnect_by_data (self->igd, self);
  /* GUPnP holds the object while its DeletePortMapping actions are out */
  g_object_weak_ref (G_OBJECT (self->igd), igd_gone_cb, d);
  g_object_unref (self->igd);
  g_free (self->local_ip);
  g_free (self);
}
