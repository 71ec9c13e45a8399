/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A GbtPeerSource that offers a fixed list of peers to every torrent:
 * useful to point gbt at a local seeder, and small enough to read as an
 * example of the plugin API. */
#include <string.h>

#include <gbt/gbt-torrent.h>

#include "gbt-example-source.h"

#define DEFAULT_PEERS "127.0.0.1:6881"

struct _GbtExampleSource {
  GObject parent_instance;
  GPtrArray *peers; /* (element-type GInetSocketAddress) */
};

static void gbt_example_source_iface_init (GbtPeerSourceInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GbtExampleSource, gbt_example_source, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (GBT_TYPE_PEER_SOURCE,
                                                      gbt_example_source_iface_init))

/* The core calls start when a torrent starts; we hand it our peers at once.
 * A real source (DHT, LSD) would keep looking until stop. */
static void
gbt_example_source_start (GbtPeerSource *source, GbtTorrent *torrent)
{
  GbtExampleSource *self = GBT_EXAMPLE_SOURCE (source);

  g_debug ("offering %u static peers", self->peers->len);
  gbt_torrent_add_peers (torrent, self->peers, "example");
}

static void
gbt_example_source_stop (GbtPeerSource *source, GbtTorrent *torrent)
{
  /* nothing in flight: the peers were handed over in start */
}

static void
gbt_example_source_iface_init (GbtPeerSourceInterface *iface)
{
  iface->start = gbt_example_source_start;
  iface->stop = gbt_example_source_stop;
}

static void
gbt_example_source_finalize (GObject *object)
{
  g_ptr_array_unref (GBT_EXAMPLE_SOURCE (object)->peers);
  G_OBJECT_CLASS (gbt_example_source_parent_class)->finalize (object);
}

static void
gbt_example_source_class_init (GbtExampleSourceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gbt_example_source_finalize;
}

static void
gbt_example_source_init (GbtExampleSource *self)
{
  self->peers = g_ptr_array_new_with_free_func (g_object_unref);
}

/* "1.2.3.4:6881" or "[::1]:6881"; numeric addresses only, so that nothing
 * here blocks on a name lookup. */
static GSocketAddress *
parse_peer (const char *text, GError **error)
{
  g_autofree char *host = NULL;
  const char *colon = strrchr (text, ':');
  const char *port_text;
  guint64 port = 0;
  g_autoptr(GInetAddress) address = NULL;

  if (colon == NULL)
    goto bad;
  port_text = colon + 1;
  if (text[0] == '[' && colon > text + 1 && colon[-1] == ']')
    host = g_strndup (text + 1, colon - text - 2);
  else
    host = g_strndup (text, colon - text);
  address = g_inet_address_new_from_string (host);
  if (address == NULL ||
      !g_ascii_string_to_unsigned (port_text, 10, 1, G_MAXUINT16, &port, NULL))
    goto bad;
  return g_inet_socket_address_new (address, (guint16) port);

bad:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "GBT_EXAMPLE_PEERS: '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:6881 or [::1]:6881)",
               text);
  return NULL;
}

GbtExampleSource *
gbt_example_source_new (const char *peers, GError **error)
{
  g_autoptr(GbtExampleSource) self = g_object_new (GBT_TYPE_EXAMPLE_SOURCE, NULL);
  g_auto(GStrv) parts = g_strsplit (peers != NULL ? peers : DEFAULT_PEERS, ",", -1);

  for (char **p = parts; *p != NULL; p++)
    {
      GSocketAddress *address;

      g_strstrip (*p);
      if (**p == '\0')
        continue;
      address = parse_peer (*p, error);
      if (address == NULL)
        return NULL;
      g_ptr_array_add (self->peers, address);
    }
  if (self->peers->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "GBT_EXAMPLE_PEERS names no peer");
      return NULL;
    }
  return g_steal_pointer (&self);
}
