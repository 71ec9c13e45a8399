/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* UPnP IGD port mappings through GUPnP-IGD's GUPnPSimpleIgd: it finds the
 * routers by SSDP, maps, renews at half the lease, follows the external
 * address.  Freeing the client deletes its mappings: GUPnP sends the
 * DeletePortMapping actions and keeps its object alive until they are
 * answered; @done (at free) runs then. */
typedef struct _GbtUpnp GbtUpnp;

#define GBT_UPNP_LEASE_S 3600 /* asked for; renewed at half */

typedef void (*GbtUpnpFunc) (const char *protocol /* "tcp", "udp" */, guint16 internal_port,
                             guint16 external_port, const char *external_address,
                             const char *error, gpointer data);

GbtUpnp *gbt_upnp_new (const char *local_ip, GbtUpnpFunc func, gpointer data);
void gbt_upnp_map (GbtUpnp *self, const char *protocol, guint16 internal_port);
/* @done: called (once) when the deletions are answered or given up */
void gbt_upnp_free (GbtUpnp *self, GDestroyNotify done, gpointer done_data);

G_END_DECLS
