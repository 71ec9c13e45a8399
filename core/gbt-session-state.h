/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A session's state directory: the torrent list kept across restarts. */
#pragma once

#include <gbt/gbt-session.h>

G_BEGIN_DECLS

typedef struct _GbtSessionState GbtSessionState;

G_GNUC_INTERNAL GbtSessionState *gbt_session_state_new (GbtSession *session, const char *directory);
G_GNUC_INTERNAL void gbt_session_state_free (GbtSessionState *state);
G_GNUC_INTERNAL const char *gbt_session_state_get_directory (GbtSessionState *state);
/* saves on a worker about a second from now (many changes, one save) */
G_GNUC_INTERNAL void gbt_session_state_schedule_save (GbtSessionState *state);
G_GNUC_INTERNAL void gbt_session_state_save_async (GbtSessionState *state,
                                                   GAsyncReadyCallback callback,
                                                   gpointer user_data);
/* @torrent changed (NULL: the list did): its group is encoded again */
G_GNUC_INTERNAL void gbt_session_state_torrent_changed (GbtSessionState *state,
                                                       GbtTorrent *torrent);
/* @torrent changed (NULL: the list did): its group is encoded again */
G_GNUC_INTERNAL void gbt_session_state_torrent_changed (GbtSessionState *state, GbtTorrent *torrent);
/* a save scheduled and not yet made is made now, blocking */
G_GNUC_INTERNAL void gbt_session_state_flush (GbtSessionState *state);
G_GNUC_INTERNAL gboolean gbt_session_state_save (GbtSessionState *state, GError **error);
G_GNUC_INTERNAL gboolean gbt_session_state_load (GbtSessionState *state, GError **error);

G_END_DECLS
