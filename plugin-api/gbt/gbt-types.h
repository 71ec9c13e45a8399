/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Forward declarations of the core objects plugins are handed. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _GbtSession GbtSession;
typedef struct _GbtTorrent GbtTorrent;
typedef struct _GbtPeer GbtPeer;

G_END_DECLS
