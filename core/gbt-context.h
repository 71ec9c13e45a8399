/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Main-context sources for the engine and its plugins.
 *
 * A session lives on the thread-default main context current when it was
 * created (docs/app-guide.md, "Threading"): it, its torrents, peers and
 * plugins are called on that context's thread with that context pushed as
 * the thread-default, and every source they add must go there, not to the
 * global default context (which an app running the engine on a thread of
 * its own never iterates for it: tests/context-thread.c).  So: no
 * g_idle_add()/g_timeout_add() and no g_source_attach (source, NULL) in the
 * engine; these attach to the thread-default context instead.
 *
 * Their IDs belong to that context: gbt_source_remove() finds them there
 * (g_source_remove() looks only in the global default context), on the
 * same thread.  Header-only so the plugins, which see no internal core
 * symbol, use the same functions.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline guint
gbt_source_attach_here (GSource *source, GSourceFunc func, gpointer data)
{
  guint id;

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "gbt");
  id = g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
  return id;
}

/* g_idle_add() on the thread-default main context */
static inline guint
gbt_idle_add (GSourceFunc func, gpointer data)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  return gbt_source_attach_here (source, func, data);
}

/* g_timeout_add() on the thread-default main context */
static inline guint
gbt_timeout_add (guint interval_ms, GSourceFunc func, gpointer data)
{
  return gbt_source_attach_here (g_timeout_source_new (interval_ms), func, data);
}

/* g_timeout_add_seconds() on the thread-default main context */
static inline guint
gbt_timeout_add_seconds (guint interval_s, GSourceFunc func, gpointer data)
{
  return gbt_source_attach_here (g_timeout_source_new_seconds (interval_s), func, data);
}

/* g_source_remove() of an ID from the functions above, on the thread that
 * added it; for g_clear_handle_id (&id, gbt_source_remove) */
static inline GSource *
gbt_source_find (GMainContext *context, guint id)
{
  GSource *source = g_main_context_find_source_by_id (context, id);

  /* IDs are per context: only one of ours */
  return source != NULL && g_strcmp0 (g_source_get_name (source), "gbt") == 0 ? source : NULL;
}

/* g_source_remove() of an ID from the functions above, on the thread that
 * added it; for g_clear_handle_id (&id, gbt_source_remove) */
static inline void
gbt_source_remove (guint id)
{
  GSource *source = gbt_source_find (g_main_context_get_thread_default (), id);

  /* an app that lets its session live on the global default context may
   * drop the last reference to an object from another thread */
  if (source == NULL)
    source = gbt_source_find (NULL, id);
  if (source == NULL)
    {
      g_critical ("gbt: source %u is not on this thread's main context", id);
      return;
    }
  g_source_destroy (source);
}

G_END_DECLS
