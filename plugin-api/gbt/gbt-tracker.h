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

/**
 * GbtAnnounceEvent:
 * @GBT_ANNOUNCE_EVENT_NONE: a regular announce
 * @GBT_ANNOUNCE_EVENT_COMPLETED: the download just completed
 * @GBT_ANNOUNCE_EVENT_STARTED: the first announce of a started torrent
 * @GBT_ANNOUNCE_EVENT_STOPPED: the torrent stops
 *
 * The "event" of an announce, numbered as in BEP 15.
 */
typedef enum {
  GBT_ANNOUNCE_EVENT_NONE = 0,
  GBT_ANNOUNCE_EVENT_COMPLETED = 1, /* numbered as in BEP 15 */
  GBT_ANNOUNCE_EVENT_STARTED = 2,
  GBT_ANNOUNCE_EVENT_STOPPED = 3,
} GbtAnnounceEvent;

/**
 * GbtAnnounceRequest:
 * @url: the tracker's announce URL
 * @info_hash: the torrent's info-hash
 * @peer_id: our peer id
 * @port: the port we accept peers on
 * @event: the #GbtAnnounceEvent
 * @uploaded: payload bytes uploaded
 * @downloaded: payload bytes downloaded
 * @left: bytes still wanted
 * @numwant: how many peers we ask for, -1 for the tracker's default
 * @key: the session's announce key
 * @tracker_id: (nullable): the tracker id of an earlier response
 * @bind_address: (nullable): the local address to send from
 * @timeout_ms: the timeout, 0 for the plugin's default
 * @reserved: zero
 *
 * One announce, built by the core and carried by a [iface@Gbt.Tracker]
 * plugin.  A plain struct with reserved space.
 */
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

/**
 * GbtAnnounceResponse:
 * @interval: seconds until the next announce, -1 when absent
 * @min_interval: the least seconds between announces, -1 when absent
 * @peers: (element-type GInetSocketAddress): the peers, IPv4 and IPv6
 * @complete: seeders, -1 when absent
 * @incomplete: leechers, -1 when absent
 * @downloaded: completed downloads, -1 when absent
 * @warning_message: (nullable): the tracker's warning
 * @tracker_id: (nullable): the tracker id to send next time
 * @reserved: zero
 *
 * A tracker's reply to an announce, made by a [iface@Gbt.Tracker] plugin.
 */
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

/**
 * GbtScrapeResponse:
 * @complete: seeders
 * @downloaded: completed downloads
 * @incomplete: leechers
 * @reserved: zero
 *
 * A tracker's scrape counts for one torrent.
 */
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

/**
 * gbt_tracker_error_quark:
 *
 * Gets the #GQuark of the %GBT_TRACKER_ERROR error domain.
 *
 * Returns: the error domain
 */
GBT_AVAILABLE_IN_ALL
GQuark gbt_tracker_error_quark (void);

/* The request and response structs are plain C for plugins (no boxed
 * GType), so bindings skip what creates, copies or frees them. */
/**
 * gbt_announce_request_new: (skip)
 *
 * Creates an empty request.
 *
 * Returns: (transfer full): a new request, to free with
 *   gbt_announce_request_free()
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceRequest *gbt_announce_request_new (void);
/**
 * gbt_announce_request_copy: (skip)
 * @request: a request
 *
 * Copies a request.
 *
 * Returns: (transfer full): a deep copy of @request
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceRequest *gbt_announce_request_copy (const GbtAnnounceRequest *request);
/**
 * gbt_announce_request_free: (skip)
 * @request: a request
 *
 * Frees a request and its strings.
 */
GBT_AVAILABLE_IN_ALL
void gbt_announce_request_free (GbtAnnounceRequest *request);
/**
 * gbt_announce_response_new: (skip)
 *
 * Creates an empty response: the counts -1, no peers.
 *
 * Returns: (transfer full): a new response, to free with
 *   gbt_announce_response_free()
 */
GBT_AVAILABLE_IN_ALL
GbtAnnounceResponse *gbt_announce_response_new (void);
/**
 * gbt_announce_response_free: (skip)
 * @response: a response
 *
 * Frees a response and its peers.
 */
GBT_AVAILABLE_IN_ALL
void gbt_announce_response_free (GbtAnnounceResponse *response);
/**
 * gbt_scrape_response_new: (skip)
 *
 * Creates an empty scrape response.
 *
 * Returns: (transfer full): a new response, to free with
 *   gbt_scrape_response_free()
 */
GBT_AVAILABLE_IN_ALL
GbtScrapeResponse *gbt_scrape_response_new (void);
/**
 * gbt_scrape_response_free: (skip)
 * @response: a response
 *
 * Frees a scrape response.
 */
GBT_AVAILABLE_IN_ALL
void gbt_scrape_response_free (GbtScrapeResponse *response);

/* Pure parsers shared by tracker plugins (fuzzed in tests/fuzzing). */
/**
 * gbt_announce_response_parse_bencoded: (skip)
 * @data: a bencoded announce reply
 * @len: its length
 * @error: return location for a #GError
 *
 * Parses a BEP 3 announce reply (compact or dictionary peers, BEP 7
 * IPv6 peers).  A "failure reason" is %GBT_TRACKER_ERROR_FAILURE_REASON.
 *
 * Returns: (transfer full) (nullable): the response, or %NULL with @error set
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
 *
 * Parses a BEP 48 scrape reply and reads @info_hash's entry from it.
 *
 * Returns: (transfer full) (nullable): the counts, or %NULL with @error set
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

/**
 * GbtTracker:
 *
 * The interface of tracker plugins: carries one announce or scrape to one
 * tracker URL.  Scheduling, tiers, intervals and backoff belong to the core.
 */
#define GBT_TYPE_TRACKER (gbt_tracker_get_type ())
GBT_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (GbtTracker, gbt_tracker, GBT, TRACKER, GObject)

/**
 * GbtTrackerInterface:
 * @g_iface: the parent interface
 * @announce_async: sends a #GbtAnnounceRequest
 * @announce_finish: gives its #GbtAnnounceResponse
 * @scrape_async: optional (%NULL: no scrape): asks for a torrent's counts
 * @scrape_finish: gives the #GbtScrapeResponse
 *
 * The virtual methods of [iface@Gbt.Tracker].
 */
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
 *
 * Sends @request to its URL.
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
 *
 * Finishes gbt_tracker_announce_async().
 *
 * Returns: (transfer full) (nullable): the reply, or %NULL with @error set
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
 *
 * Asks the tracker behind @announce_url for @info_hash's counts
 * (%GBT_TRACKER_ERROR_UNSUPPORTED when the plugin has no scrape).
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
 *
 * Finishes gbt_tracker_scrape_async().
 *
 * Returns: (transfer full) (nullable): the counts, or %NULL with @error set
 */
GBT_AVAILABLE_IN_ALL
GbtScrapeResponse *gbt_tracker_scrape_finish (GbtTracker *self, GAsyncResult *result,
                                              GError **error);

G_END_DECLS
