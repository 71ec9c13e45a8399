/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gbt/gbt-transport.h>

G_BEGIN_DECLS

#define GBT_TYPE_TRANSPORT_UTP (gbt_transport_utp_get_type ())
G_DECLARE_FINAL_TYPE (GbtTransportUtp, gbt_transport_utp, GBT, TRANSPORT_UTP, GObject)

GbtTransportUtp *gbt_transport_utp_new (void);

G_END_DECLS
