/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtUtpStream: one uTP connection as a GIOStream whose input and output
 * streams are pollable (GPollableInputStream, GPollableOutputStream): the
 * core uses only the *_nonblocking calls and pollable sources.
 *
 * Reads return the bytes in order, 0 after the peer's FIN once everything
 * before it was read, and an error after a RESET (CONNECTION_CLOSED) or
 * when the peer stopped answering (TIMED_OUT).  Writes take what the send
 * buffer holds, else fail with WOULD_BLOCK.  Closing the output stream
 * sends a FIN; closing the GIOStream (or dropping it) leaves the connection
 * to the socket, which keeps it until the FIN is acked, for a bounded time.
 * When the socket goes first, every operation fails with CLOSED.
 *
 * The blocking read and write vfuncs do not block: they behave like the
 * non-blocking ones (nothing in gbt blocks on a peer).  close_async is
 * synchronous.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define GBT_TYPE_UTP_STREAM (gbt_utp_stream_get_type ())
G_DECLARE_FINAL_TYPE (GbtUtpStream, gbt_utp_stream, GBT, UTP_STREAM, GIOStream)

/* The peer's address. (transfer none) */
GSocketAddress *gbt_utp_stream_get_remote_address (GbtUtpStream *self);

G_END_DECLS
