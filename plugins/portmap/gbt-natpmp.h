/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A NAT-PMP client (RFC 6886) on one GLib UDP socket: asks the gateway for
 * its external address and maps one TCP and one UDP port, renews the
 * leases at half their lifetime, and deletes the mappings when freed. */
typedef struct _GbtNatPmp GbtNatPmp;

typedef enum {
  GBT_NATPMP_TCP,
  GBT_NATPMP_UDP,
} GbtNatPmpProtocol;

/* Called on the main context the client was made on, whenever a mapping's
 * state changes: @external_port 0 with @error set when it failed. */
typedef void (*GbtNatPmpFunc) (GbtNatPmpProtocol protocol, guint16 internal_port,
                               guint16 external_port, guint32 lifetime,
                               const char *external_address, const char *error,
                               gpointer data);

/* @gateway: IPv4 address of the router, port 5351 unless given */
GbtNatPmp *gbt_natpmp_new (GInetSocketAddress *gateway, GInetAddress *bind /* nullable */,
                           GbtNatPmpFunc func, gpointer data, GError **error);
void gbt_natpmp_map (GbtNatPmp *self, GbtNatPmpProtocol protocol, guint16 internal_port);
/* sends a delete for each mapping (lifetime 0), then frees */
void gbt_natpmp_free (GbtNatPmp *self);

/* the IPv4 default gateway from /proc/net/route, NULL when none */
GInetAddress *gbt_natpmp_default_gateway (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtNatPmp, gbt_natpmp_free)

G_END_DECLS
