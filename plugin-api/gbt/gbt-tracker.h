/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GbtTracker: carries one announce or scrape to one tracker URL.  Scheduling,
 * tiers, intervals and backoff belong to the core's tracker manager; a
 * tracker plugin only moves a GbtAnnounceRequest and returns a
 * GbtAnnounceResponse.
 */
#pragma once

#include <gio/gio.h>

#include <gbt/gbt-version.h>

G_BEGIN_DECLS

typedef enum {
  GBT_ANNOUNCE_EVENT_NONE = 0,
  GBT_ANNOUNCE_EVENT_COMPLETED = 1, /* numbered as in BEP 15 */
  GBT_ANNOUNCE_EVENT_STARTED = 2,
  GBT_ANNOUNCE_EVENT_STOPPED = 3,
} GbtAnnounceEvent;

/* Built by the core; plugins read it.  Plain struct with reserved space. */
typedef struct {
  char *url;
  guint8 info_hash[20];
  guint8 peer_id[20];
  guint16 port;
  GbtAnnounceEvent event;
  guint64 uploaded;
  guint64 downloaded;
  guint64 left;
  gint32 numwant; /* -1: tracker default */
  guint32 key;
  char *tracker_id; /* nullable: from an earlier response */
  GInetAddress *bind_address; /* nullable: local address to send from */
  guint timeout_ms; /* 0: plugin default */
  gpointer reserved[8];
} GbtAnnounceRequest;

typedef struct {
  gint64 interval; /* seconds, -1 when absent */
  gint64 min_interval; /* seconds, -1 when absent */
  GPtrArray *peers; /* (element-type GInetSocketAddress): IPv4 and IPv6 */
  gint64 complete; /* seeders, -1 when absent */
  gint64 incomplete; /* leechers, -1 when absent */
  gint64 downloaded; /* -1 when absent */
  char *warning_message; /* nullable */
  char *tracker_id; /* nullable */
  gpointer reserved[8];
} GbtAnnounceResponse;

typedef struct {
  gint64 complete;
  gint64 downloaded;
  gint64 incomplete;
  gpointer reserved[4];
} GbtScrapeResponse;

#define GBT_TRACKER_ERROR (gbt_tracker_error_quark ())

/**
 * GbtTrackerError:
 * @GBT_TRACKER_ERROR_FAILED: any other failure
 * @GBT_TRACKER_ERROR_FAILURE_REASON: the tracker refused; the message is its
 *   "failure reason"
 * @GBT_TRACKER_ERROR_BAD_REPLY: a malformed reply
 * @GBT_TRACKER_ERROR_TIMEOUT: no reply in time
 * @GBT_TRACKER_ERROR_UNSUPPORTED: e.g. no scrape for this URL
 *
 * Error codes in the %GBT_TRACKER_ERROR domain (`Gbt.TrackerError` in
 * bindings).
 */
typedef enum {
  GBT_TRACKER_ERROR_FAILED,
  GBT_TRACKER_ERROR_FAILURE_REASON, /* the tracker refused: message is its "failure reason" */
  GBT_TRACKER_ERROR_BAD_REPLY,      /* malformed reply */
  GBT_TRACKER_ERROR_TIMEOUT,
  GBT_TRACKER_ERROR_UNSUPPORTED,    /* e.g. no scrape for this URL */
} GbtTrackerError;

#ifndef __GI_SCANNER__
/* The name before 0.2 (the type is GbtTrackerError, as GLib's GFooError). */
typedef GbtTrackerError GbtTrackerErrorEnum;
#endif

GBT_AVAILABLE_IN_ALL
GQuark gbt_tracker_error_quark (void);

/* The request and response structs are plain C for plugins (no boxed
 * GType), so bindings skip what creates, copies or frees them. */
/**
 * gbt_announce_request_new: (skip)
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceRequest *gbt_announce_request_new (void);
/**
 * gbt_announce_request_copy: (skip)
 * @request: a request
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceRequest *gbt_announce_request_copy (const GbtAnnounceRequest *request);
/**
 * gbt_announce_request_free: (skip)
 * @request: a request
 */
GBT_AVAILABLE_IN_ALL
void gbt_announce_request_free (GbtAnnounceRequest *request);
/**
 * gbt_announce_response_new: (skip)
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceResponse *gbt_announce_response_new (void);
/**
 * gbt_announce_response_free: (skip)
 * @response: a response
 */
GBT_AVAILABLE_IN_ALL
void gbt_announce_response_free (GbtAnnounceResponse *response);
/**
 * gbt_scrape_response_new: (skip)
 */
GBT_AVAILABLE_IN_ALL
GbtScrapeResponse *gbt_scrape_response_new (void);
/**
 * gbt_scrape_response_free: (skip)
 * @response: a response
 */
GBT_AVAILABLE_IN_ALL
void gbt_scrape_response_free (GbtScrapeResponse *response);

/* Pure parsers shared by tracker plugins (fuzzed in tests/fuzzing). */
/**
 * gbt_announce_response_parse_bencoded: (skip)
 * @data: a bencoded announce reply
 * @len: its length
 * @error: return location for a #GError
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceResponse *gbt_announce_response_parse_bencoded (const guint8 *data, gsize len,
                                                           GError **error);
/**
 * gbt_scrape_response_parse_bencoded: (skip)
 * @data: a bencoded scrape reply
 * @len: its length
 * @info_hash: the torrent to read from it
 * @error: return location for a #GError
 */
GBT_AVAILABLE_IN_ALL
GbtScrapeResponse *gbt_scrape_response_parse_bencoded (const guint8 *data, gsize len,
                                                       const guint8 info_hash[20],
                                                       GError **error);
/**
 * gbt_compact_peers_parse:
 * @data: (array length=len): compact peers
 * @len: the length of @data
 * @ipv6: whether @data holds 18-byte IPv6 entries
 * @peers: (element-type GInetSocketAddress): the array to append to
 * @error: return location for a #GError
 *
 * Appends compact peers (BEP 23: 6 bytes each; BEP 7: 18 bytes each for
 * IPv6) to @peers.
 *
 * Returns: %TRUE on success
 */
GBT_AVAILABLE_IN_ALL
gboolean gbt_compact_peers_parse (const guint8 *data, gsize len, gboolean ipv6, GPtrArray *peers,
                                  GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtAnnounceRequest, gbt_announce_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtAnnounceResponse, gbt_announce_response_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GbtScrapeResponse, gbt_scrape_response_free)

#define GBT_TYPE_TRACKER (gbt_tracker_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtTracker, gbt_tracker, GBT, TRACKER, GObject)

struct _GbtTrackerInterface {
  GTypeInterface g_iface;

  void (*announce_async) (GbtTracker *self, const GbtAnnounceRequest *request,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data);
  GbtAnnounceResponse *(*announce_finish) (GbtTracker *self, GAsyncResult *result, GError **error);

  /* optional (NULL: scrape unsupported) */
  void (*scrape_async) (GbtTracker *self, const char *announce_url, const guint8 info_hash[20],
                        GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data);
  GbtScrapeResponse *(*scrape_finish) (GbtTracker *self, GAsyncResult *result, GError **error);

  gpointer padding[8];
};

/**
 * gbt_tracker_announce_async: (skip)
 * @self: a #GbtTracker
 * @request: the announce
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 */
GBT_AVAILABLE_IN_ALL
void gbt_tracker_announce_async (GbtTracker *self, const GbtAnnounceRequest *request,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
/**
 * gbt_tracker_announce_finish: (skip)
 * @self: a #GbtTracker
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceResponse *gbt_tracker_announce_finish (GbtTracker *self, GAsyncResult *result,
                                                  GError **error);
/**
 * gbt_tracker_scrape_async: (skip)
 * @self: a #GbtTracker
 * @announce_url: the tracker's announce URL
 * @info_hash: the torrent
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the reply
 * @user_data: data for @callback
 */
GBT_AVAILABLE_IN_ALL
void gbt_tracker_scrape_async (GbtTracker *self, const char *announce_url,
                               const guint8 info_hash[20], GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
/**
 * gbt_tracker_scrape_finish: (skip)
 * @self: a #GbtTracker
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 */
GBT_AVAILABLE_IN_ALL
GbtScrapeResponse *gbt_tracker_scrape_finish (GbtTracker *self, GAsyncResult *result,
                                              GError **error);

G_END_DECLS
