/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-transport.h>

G_BEGIN_DECLS

#define GBT_TYPE_TRANSPORT_TCP (gbt_transport_tcp_get_type ())
G_DECLARE_FINAL_TYPE (GbtTransportTcp, gbt_transport_tcp, GBT, TRANSPORT_TCP, GObject)

GbtTransportTcp *gbt_transport_tcp_new (void);

G_END_DECLS
