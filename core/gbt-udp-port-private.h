/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-udp-port.h>

G_BEGIN_DECLS

/* Binds a UDP socket at @address (port 0: any) and delivers on the
 * thread-default main context. */
G_GNUC_INTERNAL GbtUdpPort *gbt_udp_port_new (GInetSocketAddress *address, GError **error);
/* ::ffff:a.b.c.d as a.b.c.d, anything else unchanged (transfer full) */
G_GNUC_INTERNAL GInetSocketAddress *gbt_udp_port_unmap (GInetSocketAddress *address);
/* datagrams received, and those no handler claimed */
G_GNUC_INTERNAL void gbt_udp_port_get_counts (GbtUdpPort *self, guint64 *received,
                                              guint64 *dropped);

G_END_DECLS
