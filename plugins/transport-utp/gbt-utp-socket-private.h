/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Between the socket and its streams (gbt-utp-socket.c, gbt-utp-stream.c). */
#pragma once

#include "gbt-utp-conn.h"
#include "gbt-utp-socket.h"
#include "gbt-utp-stream.h"

G_BEGIN_DECLS

typedef struct _GbtUtpEntry GbtUtpEntry;

/* socket -> stream */
GbtUtpStream *gbt_utp_stream_new (GbtUtpEntry *entry, GSocketAddress *remote);
/* The connection changed: wake the sources whose condition now holds. */
void gbt_utp_stream_wake (GbtUtpStream *self);
/* The socket is going: forget the entry, fail from now on. */
void gbt_utp_stream_orphan (GbtUtpStream *self);

/* stream -> socket */
GbtUtpConn *gbt_utp_entry_get_conn (GbtUtpEntry *entry);
/* After a write or a read: the connection's deadline may have moved. */
void gbt_utp_entry_changed (GbtUtpEntry *entry);
/* The stream is closed or gone: the connection lingers, then goes. */
void gbt_utp_entry_release (GbtUtpEntry *entry);

G_END_DECLS
