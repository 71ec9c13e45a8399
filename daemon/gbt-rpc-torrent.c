/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Transmission's torrent methods: torrent-get (every field of RPC version
 * 16), torrent-set, torrent-add, torrent-remove, the actions and the queue
 * moves.  Requests are checked whole before anything changes: a request
 * with one bad argument changes nothing.
 */
#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "gbt-daemon.h"

gboolean gbt_rpc_get_bool (JsonObject *args, const char *key, gboolean *value, char **error);
gboolean gbt_rpc_get_number (JsonObject *args, const char *key, double min, double max,
                             double *value, char **error);

#define MAX_TORRENT_FILE (16 * 1024 * 1024)

/* ---- torrent-get ---- */

typedef enum {
  F_activityDate, F_addedDate, F_bandwidthPriority, F_comment, F_corruptEver, F_creator,
  F_dateCreated, F_desiredAvailable, F_doneDate, F_downloadDir, F_downloadedEver,
  F_downloadLimit, F_downloadLimited, F_editDate, F_error, F_errorString, F_eta, F_etaIdle,
  F_files, F_fileStats, F_hashString, F_haveUnchecked, F_haveValid, F_honorsSessionLimits, F_id,
  F_isFinished, F_isPrivate, F_isStalled, F_labels, F_leftUntilDone, F_magnetLink,
  F_manualAnnounceTime, F_maxConnectedPeers, F_metadataPercentComplete, F_name, F_peer_limit,
  F_peers, F_peersConnected, F_peersFrom, F_peersGettingFromUs, F_peersSendingToUs,
  F_percentDone, F_pieces, F_pieceCount, F_pieceSize, F_priorities, F_queuePosition,
  F_rateDownload, F_rateUpload, F_recheckProgress, F_secondsDownloading, F_secondsSeeding,
  F_seedIdleLimit, F_seedIdleMode, F_seedRatioLimit, F_seedRatioMode, F_sizeWhenDone,
  F_startDate, F_status, F_trackers, F_trackerStats, F_totalSize, F_torrentFile,
  F_uploadedEver, F_uploadLimit, F_uploadLimited, F_uploadRatio, F_wanted, F_webseeds,
  F_webseedsSendingToUs, F_sequentialDownload, N_FIELDS
} Field;

static const char *const field_names[N_FIELDS] = {
  "activityDate", "addedDate", "bandwidthPriority", "comment", "corruptEver", "creator",
  "dateCreated", "desiredAvailable", "doneDate", "downloadDir", "downloadedEver",
  "downloadLimit", "downloadLimited", "editDate", "error", "errorString", "eta", "etaIdle",
  "files", "fileStats", "hashString", "haveUnchecked", "haveValid", "honorsSessionLimits", "id",
  "isFinished", "isPrivate", "isStalled", "labels", "leftUntilDone", "magnetLink",
  "manualAnnounceTime", "maxConnectedPeers", "metadataPercentComplete", "name", "peer-limit",
  "peers", "peersConnected", "peersFrom", "peersGettingFromUs", "peersSendingToUs",
  "percentDone", "pieces", "pieceCount", "pieceSize", "priorities", "queuePosition",
  "rateDownload", "rateUpload", "recheckProgress", "secondsDownloading", "secondsSeeding",
  "seedIdleLimit", "seedIdleMode", "seedRatioLimit", "seedRatioMode", "sizeWhenDone",
  "startDate", "status", "trackers", "trackerStats", "totalSize", "torrentFile",
  "uploadedEver", "uploadLimit", "uploadLimited", "uploadRatio", "wanted", "webseeds",
  "webseedsSendingToUs", "sequentialDownload",
};

static int
field_lookup (const char *name)
{
  static GHashTable *table;

  if (g_once_init_enter (&table))
    {
      GHashTable *t = g_hash_table_new (g_str_hash, g_str_equal);
      for (int i = 0; i < N_FIELDS; i++)
        g_hash_table_insert (t, (gpointer) field_names[i], GINT_TO_POINTER (i + 1));
      g_once_init_leave (&table, t);
    }
  return GPOINTER_TO_INT (g_hash_table_lookup (table, name)) - 1;
}

static guint64
left_until_done (GbtTorrent *t)
{
  guint64 wanted = gbt_torrent_get_bytes_wanted (t);
  double p = gbt_torrent_get_progress (t);

  if (!gbt_torrent_has_metadata (t))
    return 0;
  if (p >= 1.0)
    return 0;
  return wanted - (guint64) (wanted * p);
}

/* Transmission's haveValid: every verified piece, wanted or not (the core's
 * bytes-have counts the wanted ones only, as progress does) */
static guint64
have_valid (GbtTorrent *t)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
  guint n = gbt_torrent_get_n_pieces_have (t);
  guint total;
  guint64 bytes;

  if (mi == NULL || n == 0)
    return 0;
  total = gbt_metainfo_get_n_pieces (mi);
  if (n >= total)
    return gbt_metainfo_get_total_size (mi);
  bytes = (guint64) n * gbt_metainfo_get_piece_length (mi);
  {
    /* the last piece may be short */
    g_autoptr(GBytes) have = gbt_torrent_dup_have (t);
    gsize len;
    const guint8 *bits = have ? g_bytes_get_data (have, &len) : NULL;
    guint last = total - 1;

    if (bits && last / 8 < len && (bits[last / 8] & (0x80u >> (last % 8))))
      bytes -= gbt_metainfo_get_piece_length (mi) - gbt_metainfo_get_piece_size (mi, last);
  }
  return bytes;
}

static void
split_address (const char *addr, char **host, guint *port)
{
  const char *colon = strrchr (addr, ':');

  *port = 0;
  if (colon == NULL)
    {
      *host = g_strdup (addr);
      return;
    }
  *port = (guint) g_ascii_strtoull (colon + 1, NULL, 10);
  if (addr[0] == '[' && colon > addr && colon[-1] == ']')
    *host = g_strndup (addr + 1, colon - addr - 2);
  else
    *host = g_strndup (addr, colon - addr);
}

/* Transmission's flag letters */
static char *
peer_flag_string (GbtPeerFlags f, const char *source, gboolean downloading, gboolean uploading)
{
  GString *s = g_string_new (NULL);

  if (f & GBT_PEER_FLAGS_OPTIMISTIC)
    g_string_append_c (s, 'O');
  if (downloading)
    g_string_append_c (s, 'D');
  else if ((f & GBT_PEER_FLAGS_INTERESTING) && (f & GBT_PEER_FLAGS_CHOKED))
    g_string_append_c (s, 'd');
  if (uploading)
    g_string_append_c (s, 'U');
  else if ((f & GBT_PEER_FLAGS_INTERESTED) && (f & GBT_PEER_FLAGS_CHOKING))
    g_string_append_c (s, 'u');
  if (!(f & GBT_PEER_FLAGS_CHOKED) && !(f & GBT_PEER_FLAGS_INTERESTING))
    g_string_append_c (s, 'K');
  if (!(f & GBT_PEER_FLAGS_CHOKING) && !(f & GBT_PEER_FLAGS_INTERESTED))
    g_string_append_c (s, '?');
  if (f & GBT_PEER_FLAGS_ENCRYPTED)
    g_string_append_c (s, 'E');
  if (g_strcmp0 (source, "dht") == 0)
    g_string_append_c (s, 'H');
  else if (g_strcmp0 (source, "pex") == 0)
    g_string_append_c (s, 'X');
  if (f & GBT_PEER_FLAGS_INCOMING)
    g_string_append_c (s, 'I');
  if (f & GBT_PEER_FLAGS_UTP)
    g_string_append_c (s, 'T');
  return g_string_free (s, FALSE);
}

static JsonArray *
peers_array (GbtTorrent *t)
{
  GListModel *peers = gbt_torrent_get_peers (t);
  JsonArray *a = json_array_new ();
  guint n = g_list_model_get_n_items (peers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtPeerInfo) p = g_list_model_get_item (peers, i);
      JsonObject *o = json_object_new ();
      GbtPeerFlags f = gbt_peer_info_get_flags (p);
      double down = gbt_peer_info_get_download_rate (p), up = gbt_peer_info_get_upload_rate (p);
      g_autofree char *host = NULL, *flags = NULL;
      guint port;

      split_address (gbt_peer_info_get_address (p), &host, &port);
      flags = peer_flag_string (f, gbt_peer_info_get_source (p), down > 0, up > 0);
      json_object_set_string_member (o, "address", host);
      json_object_set_int_member (o, "port", port);
      json_object_set_string_member (o, "clientName", gbt_peer_info_get_client (p) ? gbt_peer_info_get_client (p) : "");
      json_object_set_boolean_member (o, "clientIsChoked", (f & GBT_PEER_FLAGS_CHOKED) != 0);
      json_object_set_boolean_member (o, "clientIsInterested", (f & GBT_PEER_FLAGS_INTERESTING) != 0);
      json_object_set_boolean_member (o, "peerIsChoked", (f & GBT_PEER_FLAGS_CHOKING) != 0);
      json_object_set_boolean_member (o, "peerIsInterested", (f & GBT_PEER_FLAGS_INTERESTED) != 0);
      json_object_set_string_member (o, "flagStr", flags);
      json_object_set_boolean_member (o, "isDownloadingFrom", down > 0);
      json_object_set_boolean_member (o, "isUploadingTo", up > 0);
      json_object_set_boolean_member (o, "isEncrypted", (f & GBT_PEER_FLAGS_ENCRYPTED) != 0);
      json_object_set_boolean_member (o, "isIncoming", (f & GBT_PEER_FLAGS_INCOMING) != 0);
      json_object_set_boolean_member (o, "isUTP", g_strcmp0 (gbt_peer_info_get_transport (p), "utp") == 0);
      json_object_set_double_member (o, "progress", gbt_peer_info_get_progress (p));
      json_object_set_int_member (o, "rateToClient", (gint64) down);
      json_object_set_int_member (o, "rateToPeer", (gint64) up);
      json_array_add_object_element (a, o);
    }
  return a;
}

static void
peer_counts (GbtTorrent *t, guint *getting, guint *sending)
{
  GListModel *peers = gbt_torrent_get_peers (t);
  guint n = g_list_model_get_n_items (peers);

  *getting = *sending = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtPeerInfo) p = g_list_model_get_item (peers, i);
      if (gbt_peer_info_get_upload_rate (p) > 0)
        (*getting)++;
      if (gbt_peer_info_get_download_rate (p) > 0)
        (*sending)++;
    }
}

static JsonObject *
peers_from (GbtTorrent *t)
{
  JsonObject *o = json_object_new ();
  g_auto(GStrv) sources = gbt_torrent_dup_peer_sources (t);
  gint64 cache = 0, dht = 0, incoming = 0, lpd = 0, ltep = 0, pex = 0, tracker = 0;

  for (char **s = sources; s && *s; s++)
    {
      if (g_str_equal (*s, "incoming"))
        incoming++;
      else if (g_str_equal (*s, "dht"))
        dht++;
      else if (g_str_equal (*s, "pex"))
        pex++;
      else if (g_str_equal (*s, "lsd"))
        lpd++;
      else if (g_str_equal (*s, "resume"))
        cache++;
      else if (strstr (*s, "://"))
        tracker++;
      else
        ltep++;
    }
  json_object_set_int_member (o, "fromCache", cache);
  json_object_set_int_member (o, "fromDht", dht);
  json_object_set_int_member (o, "fromIncoming", incoming);
  json_object_set_int_member (o, "fromLpd", lpd);
  json_object_set_int_member (o, "fromLtep", ltep);
  json_object_set_int_member (o, "fromPex", pex);
  json_object_set_int_member (o, "fromTracker", tracker);
  return o;
}

static char *
scrape_url (const char *announce)
{
  const char *slash = strrchr (announce, '/');

  /* BEP 48: only an announce URL whose last part starts with "announce" */
  if (slash && g_str_has_prefix (slash + 1, "announce"))
    return g_strdup_printf ("%.*sscrape%s", (int) (slash + 1 - announce), announce,
                            slash + 1 + strlen ("announce"));
  return g_strdup ("");
}

static char *
tracker_host (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url);
  return g_strdup_printf ("%s://%s:%d", g_uri_get_scheme (uri), g_uri_get_host (uri),
                          g_uri_get_port (uri));
}

static JsonArray *
trackers_array (GbtTorrent *t, gboolean stats)
{
  GListModel *trackers = gbt_torrent_get_trackers (t);
  JsonArray *a = json_array_new ();
  guint n = g_list_model_get_n_items (trackers);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, i);
      JsonObject *o = json_object_new ();
      const char *url = gbt_tracker_entry_get_url (e);
      g_autofree char *scrape = scrape_url (url);
      GbtTrackerStatus st = gbt_tracker_entry_get_status (e);

      json_object_set_string_member (o, "announce", url);
      json_object_set_int_member (o, "id", i);
      json_object_set_string_member (o, "scrape", scrape);
      json_object_set_int_member (o, "tier", gbt_tracker_entry_get_tier (e));
      if (stats)
        {
          g_autofree char *host = tracker_host (url);
          gint64 last = gbt_tracker_entry_get_last_announce (e);
          gint64 next = gbt_tracker_entry_get_next_announce (e);
          const char *err = gbt_tracker_entry_get_last_error (e);
          gboolean announced = st == GBT_TRACKER_STATUS_WORKING || st == GBT_TRACKER_STATUS_ERROR
                               || last > 0;

          json_object_set_int_member (o, "announceState",
                                      st == GBT_TRACKER_STATUS_ANNOUNCING ? 3
                                      : st == GBT_TRACKER_STATUS_DISABLED
                                          || gbt_torrent_get_state (t) == GBT_TORRENT_STATE_STOPPED
                                        ? 0
                                        : 1);
          json_object_set_int_member (o, "downloadCount", -1);
          json_object_set_boolean_member (o, "hasAnnounced", announced);
          json_object_set_boolean_member (o, "hasScraped", FALSE);
          json_object_set_string_member (o, "host", host);
          json_object_set_boolean_member (o, "isBackup", FALSE);
          json_object_set_int_member (o, "lastAnnouncePeerCount", 0);
          json_object_set_string_member (o, "lastAnnounceResult",
                                         st == GBT_TRACKER_STATUS_ERROR && err ? err
                                         : announced ? "Success" : "");
          json_object_set_int_member (o, "lastAnnounceStartTime", MAX (last, 0));
          json_object_set_boolean_member (o, "lastAnnounceSucceeded", st == GBT_TRACKER_STATUS_WORKING);
          json_object_set_int_member (o, "lastAnnounceTime", MAX (last, 0));
          json_object_set_boolean_member (o, "lastAnnounceTimedOut",
                                          err && strstr (err, "timed out") != NULL);
          json_object_set_string_member (o, "lastScrapeResult", "");
          json_object_set_int_member (o, "lastScrapeStartTime", 0);
          json_object_set_boolean_member (o, "lastScrapeSucceeded", FALSE);
          json_object_set_int_member (o, "lastScrapeTime", 0);
          json_object_set_boolean_member (o, "lastScrapeTimedOut", FALSE);
          json_object_set_int_member (o, "leecherCount", gbt_tracker_entry_get_leechers (e));
          json_object_set_int_member (o, "nextAnnounceTime", MAX (next, 0));
          json_object_set_int_member (o, "nextScrapeTime", 0);
          json_object_set_int_member (o, "scrapeState", 0);
          json_object_set_int_member (o, "seederCount", gbt_tracker_entry_get_seeders (e));
        }
      json_array_add_object_element (a, o);
    }
  return a;
}

static char *
magnet_link (GbtDaemonTorrent *dt)
{
  GString *s = g_string_new ("magnet:?xt=urn:btih:");
  GListModel *trackers = gbt_torrent_get_trackers (dt->torrent);
  guint n = g_list_model_get_n_items (trackers);

  g_string_append (s, dt->hash);
  g_string_append (s, "&dn=");
  g_string_append_uri_escaped (s, gbt_torrent_get_name (dt->torrent), NULL, TRUE);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, i);
      g_string_append (s, "&tr=");
      g_string_append_uri_escaped (s, gbt_tracker_entry_get_url (e), NULL, TRUE);
    }
  return g_string_free (s, FALSE);
}

/* Transmission's file name: the path under the download directory */
static const char *
file_name (GbtFile *f)
{
  return gbt_file_get_path (f);
}

static JsonNode *
field_value (GbtDaemon *self, GbtDaemonTorrent *dt, Field f)
{
  GbtTorrent *t = dt->torrent;
  GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
  JsonNode *n = json_node_alloc ();

#define INT(v) json_node_init_int (n, (gint64) (v))
#define BOOL(v) json_node_init_boolean (n, (v))
#define STR(v) json_node_init_string (n, (v))
#define DBL(v) json_node_init_double (n, (v))
  switch (f)
    {
    case F_activityDate: INT (dt->activity_date); break;
    case F_addedDate: INT (gbt_torrent_get_added_time (t)); break;
    case F_bandwidthPriority: INT (dt->bandwidth_priority); break;
    case F_comment: STR (mi && gbt_metainfo_get_comment (mi) ? gbt_metainfo_get_comment (mi) : ""); break;
    case F_corruptEver: INT (dt->corrupt_ever); break;
    case F_creator: STR (mi && gbt_metainfo_get_created_by (mi) ? gbt_metainfo_get_created_by (mi) : ""); break;
    case F_dateCreated: INT (mi ? MAX (gbt_metainfo_get_creation_date (mi), 0) : 0); break;
    case F_desiredAvailable: INT (gbt_torrent_get_n_peers (t) > 0 ? left_until_done (t) : 0); break;
    case F_doneDate: INT (dt->done_date); break;
    case F_downloadDir: STR (gbt_torrent_get_download_dir (t)); break;
    case F_downloadedEver: INT (gbt_torrent_get_downloaded (t)); break;
    case F_downloadLimit: INT (dt->down_limit_kbps); break;
    case F_downloadLimited: BOOL (dt->down_limited); break;
    case F_editDate: INT (0); break;
    case F_error: INT (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_ERROR ? 3 : 0); break;
    case F_errorString:
      {
        const GError *e = gbt_torrent_get_error (t);
        STR (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_ERROR && e ? e->message : "");
        break;
      }
    case F_eta:
      {
        GbtTorrentState st = gbt_torrent_get_state (t);
        gint64 eta = gbt_torrent_get_eta (t);
        /* -1: not available, -2: unknown */
        INT (st == GBT_TORRENT_STATE_DOWNLOADING ? (eta < 0 ? -2 : eta) : -1);
        break;
      }
    case F_etaIdle: INT (-1); break;
    case F_files:
      {
        GListModel *files = gbt_torrent_get_files (t);
        JsonArray *a = json_array_new ();
        guint nf = g_list_model_get_n_items (files);
        for (guint i = 0; i < nf; i++)
          {
            g_autoptr(GbtFile) file = g_list_model_get_item (files, i);
            JsonObject *o = json_object_new ();
            json_object_set_int_member (o, "bytesCompleted", gbt_file_get_bytes_have (file));
            json_object_set_int_member (o, "length", gbt_file_get_size (file));
            json_object_set_string_member (o, "name", file_name (file));
            json_array_add_object_element (a, o);
          }
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_fileStats:
    case F_priorities:
    case F_wanted:
      {
        GListModel *files = gbt_torrent_get_files (t);
        JsonArray *a = json_array_new ();
        guint nf = g_list_model_get_n_items (files);
        for (guint i = 0; i < nf; i++)
          {
            g_autoptr(GbtFile) file = g_list_model_get_item (files, i);
            GbtFilePriority p = gbt_file_get_priority (file);
            int prio = p == GBT_FILE_PRIORITY_HIGH ? 1 : p == GBT_FILE_PRIORITY_LOW ? -1 : 0;
            if (f == F_fileStats)
              {
                JsonObject *o = json_object_new ();
                json_object_set_int_member (o, "bytesCompleted", gbt_file_get_bytes_have (file));
                json_object_set_boolean_member (o, "wanted", p != GBT_FILE_PRIORITY_SKIP);
                json_object_set_int_member (o, "priority", prio);
                json_array_add_object_element (a, o);
              }
            else if (f == F_priorities)
              json_array_add_int_element (a, prio);
            else
              /* Transmission 3 sends 0/1 here, and transmission-remote reads ints */
              json_array_add_int_element (a, p != GBT_FILE_PRIORITY_SKIP);
          }
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_hashString: STR (dt->hash); break;
    case F_haveUnchecked: INT (0); break;
    case F_haveValid: INT (have_valid (t)); break;
    case F_honorsSessionLimits: BOOL (dt->honors_session_limits); break;
    case F_id: INT (dt->id); break;
    case F_isFinished:
      /* reached its seed limit and stopped */
      BOOL (gbt_torrent_get_state (t) == GBT_TORRENT_STATE_STOPPED && gbt_torrent_has_metadata (t)
            && gbt_torrent_get_progress (t) >= 1.0 && gbt_torrent_get_seed_ratio_limit (t) > 0
            && gbt_torrent_get_ratio (t) >= gbt_torrent_get_seed_ratio_limit (t));
      break;
    case F_isPrivate: BOOL (mi && gbt_metainfo_is_private (mi)); break;
    case F_isStalled:
      BOOL (gbt_daemon_torrent_status (dt) >= GBT_RPC_STATUS_DOWNLOAD
            && g_get_monotonic_time () / G_USEC_PER_SEC - dt->changed
                 > (gint64) self->settings.queue_stalled_minutes * 60);
      break;
    case F_labels:
      {
        JsonArray *a = json_array_new ();
        for (char **l = dt->labels; l && *l; l++)
          json_array_add_string_element (a, *l);
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_leftUntilDone: INT (left_until_done (t)); break;
    case F_magnetLink:
      {
        g_autofree char *m = magnet_link (dt);
        STR (m);
        break;
      }
    case F_manualAnnounceTime: INT (-1); break;
    case F_maxConnectedPeers:
    case F_peer_limit: INT (gbt_torrent_get_max_peers (t)); break;
    case F_metadataPercentComplete: DBL (gbt_torrent_has_metadata (t) ? 1.0 : 0.0); break;
    case F_name: STR (gbt_torrent_get_name (t)); break;
    case F_peers:
      {
        JsonArray *a = peers_array (t);
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_peersConnected: INT (gbt_torrent_get_n_peers (t)); break;
    case F_peersFrom:
      {
        JsonObject *o = peers_from (t);
        json_node_init_object (n, o);
        json_object_unref (o);
        break;
      }
    case F_peersGettingFromUs:
    case F_peersSendingToUs:
      {
        guint getting = 0, sending = 0;
        if (gbt_torrent_get_n_peers (t) > 0)
          peer_counts (t, &getting, &sending);
        INT (f == F_peersGettingFromUs ? getting : sending);
        break;
      }
    case F_percentDone: DBL (gbt_torrent_get_progress (t)); break;
    case F_pieces:
      {
        g_autoptr(GBytes) have = gbt_torrent_dup_have (t);
        g_autofree char *b64 = have ? g_base64_encode (g_bytes_get_data (have, NULL),
                                                       g_bytes_get_size (have))
                                    : g_strdup ("");
        STR (b64);
        break;
      }
    case F_pieceCount: INT (mi ? gbt_metainfo_get_n_pieces (mi) : 0); break;
    case F_pieceSize: INT (mi ? gbt_metainfo_get_piece_length (mi) : 0); break;
    case F_queuePosition: INT (dt->queue_position); break;
    case F_rateDownload: INT (gbt_torrent_get_download_rate (t)); break;
    case F_rateUpload: INT (gbt_torrent_get_upload_rate (t)); break;
    case F_recheckProgress:
      DBL (gbt_torrent_get_check_progress (t));
      break;
    case F_secondsDownloading: INT (dt->seconds_downloading); break;
    case F_secondsSeeding: INT (dt->seconds_seeding); break;
    case F_seedIdleLimit: INT (dt->seed_idle_limit); break;
    case F_seedIdleMode: INT (dt->seed_idle_mode); break;
    case F_seedRatioLimit: DBL (dt->seed_ratio_limit); break;
    case F_seedRatioMode: INT (dt->seed_ratio_mode); break;
    case F_sizeWhenDone: INT (gbt_torrent_has_metadata (t) ? gbt_torrent_get_bytes_wanted (t) : 0); break;
    case F_startDate: INT (dt->start_date); break;
    case F_status: INT (gbt_daemon_torrent_status (dt)); break;
    case F_trackers:
    case F_trackerStats:
      {
        JsonArray *a = trackers_array (t, f == F_trackerStats);
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_totalSize: INT (mi ? gbt_metainfo_get_total_size (mi) : 0); break;
    case F_torrentFile:
      {
        g_autofree char *name = g_strconcat (dt->hash, ".torrent", NULL);
        g_autofree char *path = g_build_filename (self->options->state_dir, "torrents", name, NULL);
        STR (path);
        break;
      }
    case F_uploadedEver: INT (gbt_torrent_get_uploaded (t)); break;
    case F_uploadLimit: INT (dt->up_limit_kbps); break;
    case F_uploadLimited: BOOL (dt->up_limited); break;
    case F_uploadRatio:
      {
        /* -1: none (nothing downloaded or had) */
        gboolean none = gbt_torrent_get_downloaded (t) == 0 && gbt_torrent_get_bytes_have (t) == 0;
        DBL (none ? -1.0 : gbt_torrent_get_ratio (t));
        break;
      }
    case F_webseeds:
      {
        JsonArray *a = json_array_new ();
        if (mi)
          {
            for (const char *const *u = gbt_metainfo_get_url_list (mi); *u; u++)
              json_array_add_string_element (a, *u);
            for (const char *const *u = gbt_metainfo_get_http_seeds (mi); *u; u++)
              json_array_add_string_element (a, *u);
          }
        json_node_init_array (n, a);
        json_array_unref (a);
        break;
      }
    case F_webseedsSendingToUs: INT (0); break;
    case F_sequentialDownload: BOOL (gbt_torrent_get_sequential (t)); break;
    case N_FIELDS:
    default:
      json_node_init_null (n);
    }
#undef INT
#undef BOOL
#undef STR
#undef DBL
  return n;
}

void
gbt_rpc_torrent_get (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  gboolean recently;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, &recently, &error);
  JsonNode *fields = json_object_get_member (call->args, "fields");
  JsonNode *format = json_object_get_member (call->args, "format");
  gboolean table = FALSE;
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (int));
  JsonArray *torrents;
  JsonObject *out;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  if (fields == NULL || !JSON_NODE_HOLDS_ARRAY (fields))
    {
      gbt_rpc_call_return (call, "no fields specified", NULL);
      return;
    }
  if (format && JSON_NODE_HOLDS_VALUE (format) && json_node_get_value_type (format) == G_TYPE_STRING)
    table = g_str_equal (json_node_get_string (format), "table");
  {
    JsonArray *a = json_node_get_array (fields);
    for (guint i = 0; i < json_array_get_length (a); i++)
      {
        JsonNode *e = json_array_get_element (a, i);
        int f;
        /* unknown fields are skipped, as Transmission does */
        if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
          continue;
        if ((f = field_lookup (json_node_get_string (e))) >= 0)
          g_array_append_val (want, f);
      }
  }
  torrents = json_array_new ();
  if (table)
    {
      JsonArray *keys = json_array_new ();
      for (guint k = 0; k < want->len; k++)
        json_array_add_string_element (keys, field_names[g_array_index (want, int, k)]);
      json_array_add_array_element (torrents, keys);
    }
  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      if (table)
        {
          JsonArray *row = json_array_new ();
          for (guint k = 0; k < want->len; k++)
            json_array_add_element (row, field_value (self, dt, g_array_index (want, int, k)));
          json_array_add_array_element (torrents, row);
        }
      else
        {
          JsonObject *o = json_object_new ();
          for (guint k = 0; k < want->len; k++)
            {
              int f = g_array_index (want, int, k);
              json_object_set_member (o, field_names[f], field_value (self, dt, f));
            }
          json_array_add_object_element (torrents, o);
        }
    }
  out = json_object_new ();
  json_object_set_array_member (out, "torrents", torrents);
  if (recently)
    {
      JsonArray *removed = json_array_new ();
      for (guint i = 0; i < self->removed->len; i++)
        json_array_add_int_element (removed,
                                    g_array_index (self->removed, struct { guint id; gint64 when; }, i).id);
      json_object_set_array_member (out, "removed", removed);
    }
  gbt_rpc_call_return (call, NULL, out);
}

/* ---- file lists: "files-wanted": [0, 2], [] for every file ---- */

static gboolean
file_indices (JsonObject *args, const char *key, guint n_files, GArray **out, char **error)
{
  JsonNode *node = json_object_get_member (args, key);
  JsonArray *a;

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      *error = g_strdup_printf ("\"%s\" must be an array of file indices", key);
      return FALSE;
    }
  a = json_node_get_array (node);
  *out = g_array_new (FALSE, FALSE, sizeof (guint));
  if (json_array_get_length (a) == 0)
    for (guint i = 0; i < n_files; i++)
      g_array_append_val (*out, i);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      gint64 v;
      guint u;
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_INT64
          || (v = json_node_get_int (e)) < 0 || v >= n_files)
        {
          *error = g_strdup_printf ("\"%s\": file index out of range (the torrent has %u files)",
                                    key, n_files);
          g_clear_pointer (out, g_array_unref);
          return FALSE;
        }
      u = (guint) v;
      g_array_append_val (*out, u);
    }
  return TRUE;
}

typedef struct {
  GArray *wanted, *unwanted, *high, *low, *normal;
} FileChanges;

static void
file_changes_clear (FileChanges *fc)
{
  g_clear_pointer (&fc->wanted, g_array_unref);
  g_clear_pointer (&fc->unwanted, g_array_unref);
  g_clear_pointer (&fc->high, g_array_unref);
  g_clear_pointer (&fc->low, g_array_unref);
  g_clear_pointer (&fc->normal, g_array_unref);
}

static gboolean
file_changes_parse (JsonObject *args, guint n_files, FileChanges *fc, char **error)
{
  return file_indices (args, "files-wanted", n_files, &fc->wanted, error)
         && file_indices (args, "files-unwanted", n_files, &fc->unwanted, error)
         && file_indices (args, "priority-high", n_files, &fc->high, error)
         && file_indices (args, "priority-low", n_files, &fc->low, error)
         && file_indices (args, "priority-normal", n_files, &fc->normal, error);
}

static gboolean
file_changes_any (const FileChanges *fc)
{
  return fc->wanted || fc->unwanted || fc->high || fc->low || fc->normal;
}

/* gbt has one priority per file, "skip" included: a priority given to an
 * unwanted file waits until it is wanted again (kept by the daemon) */
static void
file_changes_apply (GbtTorrent *t, const FileChanges *fc)
{
  guint n = gbt_metainfo_get_n_files (gbt_torrent_get_metainfo (t));
  g_autofree GbtFilePriority *prio = g_new (GbtFilePriority, n);
  g_autofree gboolean *wanted = g_new (gboolean, n);

  for (guint i = 0; i < n; i++)
    {
      prio[i] = gbt_torrent_get_file_priority (t, i);
      wanted[i] = prio[i] != GBT_FILE_PRIORITY_SKIP;
      if (!wanted[i])
        prio[i] = GBT_FILE_PRIORITY_NORMAL;
    }
#define EACH(arr, stmt)                                                                      \
  if (arr)                                                                                   \
    for (guint k = 0; k < (arr)->len; k++)                                                   \
      {                                                                                      \
        guint i = g_array_index (arr, guint, k);                                             \
        stmt;                                                                                \
      }
  EACH (fc->high, prio[i] = GBT_FILE_PRIORITY_HIGH);
  EACH (fc->low, prio[i] = GBT_FILE_PRIORITY_LOW);
  EACH (fc->normal, prio[i] = GBT_FILE_PRIORITY_NORMAL);
  EACH (fc->wanted, wanted[i] = TRUE);
  EACH (fc->unwanted, wanted[i] = FALSE);
#undef EACH
  for (guint i = 0; i < n; i++)
    {
      GbtFilePriority p = wanted[i] ? prio[i] : GBT_FILE_PRIORITY_SKIP;
      if (p != gbt_torrent_get_file_priority (t, i))
        gbt_torrent_set_file_priority (t, i, p);
    }
}

static guint
n_files_of (GbtTorrent *t)
{
  GbtMetainfo *mi = gbt_torrent_get_metainfo (t);
  return mi ? gbt_metainfo_get_n_files (mi) : 0;
}

/* ---- torrent-set ---- */

static gboolean
string_array (JsonObject *args, const char *key, GPtrArray **out, char **error)
{
  JsonNode *node = json_object_get_member (args, key);
  JsonArray *a;

  *out = NULL;
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto bad;
  a = json_node_get_array (node);
  *out = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        {
          g_clear_pointer (out, g_ptr_array_unref);
          goto bad;
        }
      g_ptr_array_add (*out, (gpointer) json_node_get_string (e));
    }
  return TRUE;
bad:
  *error = g_strdup_printf ("\"%s\" must be an array of strings", key);
  return FALSE;
}

static char *
tracker_url_at (GbtTorrent *t, gint64 id, guint *tier)
{
  GListModel *trackers = gbt_torrent_get_trackers (t);
  g_autoptr(GbtTrackerEntry) e = NULL;

  if (id < 0 || id >= g_list_model_get_n_items (trackers))
    return NULL;
  e = g_list_model_get_item (trackers, (guint) id);
  if (tier)
    *tier = gbt_tracker_entry_get_tier (e);
  return g_strdup (gbt_tracker_entry_get_url (e));
}

static guint
next_tier (GbtTorrent *t)
{
  GListModel *trackers = gbt_torrent_get_trackers (t);
  guint n = g_list_model_get_n_items (trackers), tier = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GbtTrackerEntry) e = g_list_model_get_item (trackers, i);
      tier = MAX (tier, gbt_tracker_entry_get_tier (e) + 1);
    }
  return tier;
}

void
gbt_rpc_torrent_set (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  JsonObject *args = call->args;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, args, NULL, &error);
  double prio = 0, dl = 0, ul = 0, peer_limit = 0, qpos = 0, idle_limit = 0, idle_mode = 0,
         ratio = 0, ratio_mode = 0;
  gboolean has_prio, has_dl, has_ul, has_pl, has_q, has_il, has_im, has_r, has_rm;
  gboolean dl_on = FALSE, ul_on = FALSE, honors = FALSE, seq = FALSE;
  gboolean has_dl_on, has_ul_on, has_honors, has_seq;
  g_autoptr(GPtrArray) labels = NULL, tracker_add = NULL;
  JsonNode *tracker_remove, *tracker_replace;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  has_prio = gbt_rpc_get_number (args, "bandwidthPriority", -1, 1, &prio, &error);
  has_dl = gbt_rpc_get_number (args, "downloadLimit", 0, 4294967, &dl, &error);
  has_ul = gbt_rpc_get_number (args, "uploadLimit", 0, 4294967, &ul, &error);
  has_dl_on = gbt_rpc_get_bool (args, "downloadLimited", &dl_on, &error);
  has_ul_on = gbt_rpc_get_bool (args, "uploadLimited", &ul_on, &error);
  has_honors = gbt_rpc_get_bool (args, "honorsSessionLimits", &honors, &error);
  has_seq = gbt_rpc_get_bool (args, "sequentialDownload", &seq, &error);
  has_pl = gbt_rpc_get_number (args, "peer-limit", 1, 65535, &peer_limit, &error);
  has_q = gbt_rpc_get_number (args, "queuePosition", 0, G_MAXINT, &qpos, &error);
  has_il = gbt_rpc_get_number (args, "seedIdleLimit", 0, 40000, &idle_limit, &error);
  has_im = gbt_rpc_get_number (args, "seedIdleMode", 0, 2, &idle_mode, &error);
  has_r = gbt_rpc_get_number (args, "seedRatioLimit", 0, 1e9, &ratio, &error);
  has_rm = gbt_rpc_get_number (args, "seedRatioMode", 0, 2, &ratio_mode, &error);
  if (error == NULL)
    string_array (args, "labels", &labels, &error);
  if (error == NULL)
    string_array (args, "trackerAdd", &tracker_add, &error);
  tracker_remove = json_object_get_member (args, "trackerRemove");
  tracker_replace = json_object_get_member (args, "trackerReplace");
  if (error == NULL && tracker_remove && !JSON_NODE_HOLDS_ARRAY (tracker_remove))
    error = g_strdup ("\"trackerRemove\" must be an array of tracker ids");
  if (error == NULL && tracker_replace && !JSON_NODE_HOLDS_ARRAY (tracker_replace))
    error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
  if (error == NULL && json_object_has_member (args, "location"))
    error = g_strdup ("torrent-set \"location\": use torrent-set-location");
  /* every torrent's file indices and tracker changes checked before any change */
  for (guint i = 0; error == NULL && i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      FileChanges fc = { 0 };
      if (!file_changes_parse (args, n_files_of (dt->torrent), &fc, &error))
        break;
      if (file_changes_any (&fc) && !gbt_torrent_has_metadata (dt->torrent))
        error = g_strdup ("the torrent has no metadata yet: its files are not known");
      file_changes_clear (&fc);
      for (guint k = 0; error == NULL && tracker_add && k < tracker_add->len; k++)
        {
          const char *url = g_ptr_array_index (tracker_add, k);
          if (!g_uri_is_valid (url, G_URI_FLAGS_NONE, NULL))
            error = g_strdup_printf ("invalid tracker announce URL: %s", url);
        }
      if (error == NULL && tracker_replace)
        {
          JsonArray *a = json_node_get_array (tracker_replace);
          if (json_array_get_length (a) % 2 != 0)
            error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
          for (guint k = 0; error == NULL && k + 1 < json_array_get_length (a); k += 2)
            {
              JsonNode *id = json_array_get_element (a, k), *url = json_array_get_element (a, k + 1);
              g_autofree char *old = NULL;
              if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
                  || !JSON_NODE_HOLDS_VALUE (url) || json_node_get_value_type (url) != G_TYPE_STRING
                  || !g_uri_is_valid (json_node_get_string (url), G_URI_FLAGS_NONE, NULL))
                error = g_strdup ("\"trackerReplace\" must be an array of id, URL pairs");
              else if ((old = tracker_url_at (dt->torrent, json_node_get_int (id), NULL)) == NULL)
                error = g_strdup_printf ("no tracker with id %" G_GINT64_FORMAT, json_node_get_int (id));
            }
        }
      if (error == NULL && tracker_remove)
        {
          JsonArray *a = json_node_get_array (tracker_remove);
          for (guint k = 0; error == NULL && k < json_array_get_length (a); k++)
            {
              JsonNode *id = json_array_get_element (a, k);
              g_autofree char *old = NULL;
              if (!JSON_NODE_HOLDS_VALUE (id) || json_node_get_value_type (id) != G_TYPE_INT64
                  || (old = tracker_url_at (dt->torrent, json_node_get_int (id), NULL)) == NULL)
                error = g_strdup ("\"trackerRemove\": no such tracker id");
            }
        }
    }
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }

  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      GbtTorrent *t = dt->torrent;
      FileChanges fc = { 0 };

      if (has_prio) dt->bandwidth_priority = (int) prio;
      if (has_dl) dt->down_limit_kbps = (guint64) dl;
      if (has_ul) dt->up_limit_kbps = (guint64) ul;
      if (has_dl_on) dt->down_limited = dl_on;
      if (has_ul_on) dt->up_limited = ul_on;
      if (has_honors) dt->honors_session_limits = honors;
      if (has_il) dt->seed_idle_limit = (guint) idle_limit;
      if (has_im) dt->seed_idle_mode = (int) idle_mode;
      if (has_r) dt->seed_ratio_limit = ratio;
      if (has_rm) dt->seed_ratio_mode = (int) ratio_mode;
      if (has_seq) gbt_torrent_set_sequential (t, seq);
      if (has_pl) gbt_torrent_set_max_peers (t, (guint) peer_limit);
      if (has_q) gbt_daemon_queue_move (self, dt, (int) qpos);
      if (labels)
        {
          g_strfreev (dt->labels);
          g_ptr_array_add (labels, NULL);
          dt->labels = g_strdupv ((char **) labels->pdata);
          g_ptr_array_remove_index (labels, labels->len - 1);
        }
      file_changes_parse (args, n_files_of (t), &fc, &error);
      if (file_changes_any (&fc))
        file_changes_apply (t, &fc);
      file_changes_clear (&fc);
      /* trackers: ids refer to the list as it was before this call */
      {
        g_autoptr(GPtrArray) remove = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GPtrArray) add = g_ptr_array_new_with_free_func (g_free);
        g_autoptr(GArray) add_tiers = g_array_new (FALSE, FALSE, sizeof (guint));
        if (tracker_remove)
          {
            JsonArray *a = json_node_get_array (tracker_remove);
            for (guint k = 0; k < json_array_get_length (a); k++)
              g_ptr_array_add (remove, tracker_url_at (t, json_array_get_int_element (a, k), NULL));
          }
        if (tracker_replace)
          {
            JsonArray *a = json_node_get_array (tracker_replace);
            for (guint k = 0; k + 1 < json_array_get_length (a); k += 2)
              {
                guint tier = 0;
                g_ptr_array_add (remove, tracker_url_at (t, json_array_get_int_element (a, k), &tier));
                g_ptr_array_add (add, g_strdup (json_array_get_string_element (a, k + 1)));
                g_array_append_val (add_tiers, tier);
              }
          }
        for (guint k = 0; tracker_add && k < tracker_add->len; k++)
          {
            guint tier = next_tier (t) + k;
            g_ptr_array_add (add, g_strdup (g_ptr_array_index (tracker_add, k)));
            g_array_append_val (add_tiers, tier);
          }
        for (guint k = 0; k < remove->len; k++)
          gbt_torrent_remove_tracker (t, g_ptr_array_index (remove, k));
        for (guint k = 0; k < add->len; k++)
          {
            g_autoptr(GError) e = NULL;
            if (!gbt_torrent_add_tracker (t, g_ptr_array_index (add, k),
                                          g_array_index (add_tiers, guint, k), &e))
              g_debug ("trackerAdd: %s", e->message);
          }
      }
      gbt_daemon_apply_torrent_limits (self, dt);
      dt->changed = g_get_monotonic_time () / G_USEC_PER_SEC;
    }
  gbt_daemon_changed (self);
  gbt_rpc_call_return (call, NULL, NULL);
}

/* ---- torrent-add ---- */

typedef struct {
  GbtRpcCall *call;
} AddJob;

static gboolean
valid_base64 (const char *s)
{
  for (; *s; s++)
    if (!g_ascii_isalnum (*s) && *s != '+' && *s != '/' && *s != '=' && !g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

static const char *
arg_string (JsonObject *args, const char *key)
{
  JsonNode *n = json_object_get_member (args, key);

  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return json_node_get_string (n);
  return NULL;
}

static void
add_reply (GbtRpcCall *call, GbtDaemonTorrent *dt, gboolean duplicate)
{
  JsonObject *out = json_object_new ();
  JsonObject *t = json_object_new ();

  json_object_set_int_member (t, "id", dt->id);
  json_object_set_string_member (t, "name", gbt_torrent_get_name (dt->torrent));
  json_object_set_string_member (t, "hashString", dt->hash);
  json_object_set_object_member (out, duplicate ? "torrent-duplicate" : "torrent-added", t);
  gbt_rpc_call_return (call, NULL, out);
}

static void
add_finish (GbtRpcCall *call, GbtMetainfo *mi, GbtMagnet *magnet)
{
  GbtDaemon *self = call->daemon;
  JsonObject *args = call->args;
  const char *dir = arg_string (args, "download-dir");
  const guint8 *hash = mi ? gbt_metainfo_get_info_hash (mi) : magnet->info_hash;
  char hex[41];
  GbtDaemonTorrent *dt;
  g_autoptr(GbtTorrent) t = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *msg = NULL;
  FileChanges fc = { 0 };
  gboolean paused = !self->settings.start_added_torrents;
  double peer_limit = 0, prio = 0;
  gboolean has_pl, has_prio;

  for (int i = 0; i < 20; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", hash[i]);
  if ((dt = g_hash_table_lookup (self->by_hash, hex)))
    {
      add_reply (call, dt, TRUE);
      return;
    }
  if (dir == NULL)
    dir = self->settings.download_dir;
  gbt_rpc_get_bool (args, "paused", &paused, &msg);
  has_pl = gbt_rpc_get_number (args, "peer-limit", 1, 65535, &peer_limit, &msg);
  has_prio = gbt_rpc_get_number (args, "bandwidthPriority", -1, 1, &prio, &msg);
  if (msg == NULL && !g_path_is_absolute (dir))
    msg = g_strdup_printf ("download-dir must be an absolute path: %s", dir);
  if (msg == NULL && mi)
    file_changes_parse (args, gbt_metainfo_get_n_files (mi), &fc, &msg);
  if (msg)
    {
      file_changes_clear (&fc);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  t = mi ? gbt_session_add_torrent (self->session, mi, dir, &error)
         : gbt_session_add_magnet (self->session, magnet, dir, &error);
  if (t == NULL)
    {
      file_changes_clear (&fc);
      msg = g_strdup_printf ("cannot add the torrent: %s", error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  dt = gbt_daemon_adopt (self, t);
  if (file_changes_any (&fc))
    file_changes_apply (t, &fc);
  file_changes_clear (&fc);
  if (has_pl)
    gbt_torrent_set_max_peers (t, (guint) peer_limit);
  if (has_prio)
    dt->bandwidth_priority = (int) prio;
  self->current.files_added += mi ? gbt_metainfo_get_n_files (mi) : 0;
  g_message ("added %s (%s) in %s", gbt_torrent_get_name (t), dt->hash, dir);
  gbt_daemon_apply_torrent_limits (self, dt);
  if (!paused)
    gbt_daemon_start_torrent (self, dt, FALSE);
  gbt_daemon_changed (self);
  add_reply (call, dt, FALSE);
}

static void
add_bytes (GbtRpcCall *call, GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GbtMetainfo) mi = gbt_metainfo_new_from_bytes (bytes, &error);

  if (mi == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("invalid or corrupt torrent file: %s", error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  add_finish (call, mi, NULL);
}

static void
file_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtRpcCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_file_load_bytes_finish (G_FILE (source), result, NULL, &error);

  if (bytes == NULL)
    {
      g_autofree char *path = g_file_get_path (G_FILE (source));
      g_autofree char *msg = g_strdup_printf ("cannot read %s: %s", path, error->message);
      gbt_rpc_call_return (call, msg, NULL);
      return;
    }
  if (g_bytes_get_size (bytes) > MAX_TORRENT_FILE)
    {
      gbt_rpc_call_return (call, "invalid or corrupt torrent file: larger than 16 MiB", NULL);
      return;
    }
  add_bytes (call, bytes);
}

static SoupSession *
http_session (void)
{
  static SoupSession *session;

  if (session == NULL)
    session = soup_session_new_with_options ("timeout", 30, "max-conns", 4, NULL);
  return session;
}

static void
url_loaded_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GbtRpcCall *call = user_data;
  g_autoptr(GError) error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);

  if (bytes == NULL || !SOUP_STATUS_IS_SUCCESSFUL (soup_message_get_status (msg)))
    {
      g_autofree char *text = g_strdup_printf ("cannot fetch the torrent file: %s",
                                               error ? error->message
                                                     : soup_message_get_reason_phrase (msg));
      gbt_rpc_call_return (call, text, NULL);
      return;
    }
  if (g_bytes_get_size (bytes) > MAX_TORRENT_FILE)
    {
      gbt_rpc_call_return (call, "invalid or corrupt torrent file: larger than 16 MiB", NULL);
      return;
    }
  add_bytes (call, bytes);
}

void
gbt_rpc_torrent_add (GbtRpcCall *call)
{
  const char *filename = arg_string (call->args, "filename");
  const char *metainfo = arg_string (call->args, "metainfo");

  if (metainfo)
    {
      g_autoptr(GBytes) bytes = NULL;
      guchar *raw;
      gsize len;

      if (!valid_base64 (metainfo))
        {
          gbt_rpc_call_return (call, "invalid or corrupt torrent file: metainfo is not base64", NULL);
          return;
        }
      raw = g_base64_decode (metainfo, &len);
      bytes = g_bytes_new_take (raw, len);
      add_bytes (call, bytes);
      return;
    }
  if (filename == NULL)
    {
      gbt_rpc_call_return (call, "no filename or metainfo specified", NULL);
      return;
    }
  if (g_ascii_strncasecmp (filename, "magnet:", 7) == 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GbtMagnet) magnet = gbt_magnet_parse (filename, &error);
      if (magnet == NULL)
        {
          g_autofree char *msg = g_strdup_printf ("invalid magnet link: %s", error->message);
          gbt_rpc_call_return (call, msg, NULL);
          return;
        }
      add_finish (call, NULL, magnet);
      return;
    }
  if (g_ascii_strncasecmp (filename, "http://", 7) == 0
      || g_ascii_strncasecmp (filename, "https://", 8) == 0)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", filename);
      const char *cookies = arg_string (call->args, "cookies");
      if (msg == NULL)
        {
          gbt_rpc_call_return (call, "invalid torrent URL", NULL);
          return;
        }
      if (cookies)
        soup_message_headers_append (soup_message_get_request_headers (msg), "Cookie", cookies);
      soup_session_send_and_read_async (http_session (), msg, G_PRIORITY_DEFAULT, NULL,
                                        url_loaded_cb, call);
      return;
    }
  {
    g_autoptr(GFile) file = g_file_new_for_path (filename);
    if (!g_path_is_absolute (filename))
      {
        gbt_rpc_call_return (call, "filename must be an absolute path, a magnet link or a URL", NULL);
        return;
      }
    g_file_load_bytes_async (file, NULL, file_loaded_cb, call);
  }
}

/* ---- torrent-remove ---- */

/* one reply for many asynchronous operations: the errors joined */
typedef struct {
  GbtRpcCall *call;
  guint pending; /* one more while they are being started */
  GString *errors;
} Batch;

static Batch *
batch_new (GbtRpcCall *call)
{
  Batch *b = g_new0 (Batch, 1);

  b->call = call;
  b->pending = 1;
  b->errors = g_string_new (NULL);
  return b;
}

static void
batch_done (Batch *b, const GError *error)
{
  if (error)
    g_string_append_printf (b->errors, "%s%s", b->errors->len ? "; " : "", error->message);
  if (--b->pending > 0)
    return;
  gbt_rpc_call_return (b->call, b->errors->len > 0 ? b->errors->str : NULL, NULL);
  g_string_free (b->errors, TRUE);
  g_free (b);
}

static void
removed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  gbt_session_remove_torrent_finish (GBT_SESSION (source), result, &error);
  batch_done (user_data, error);
}

void
gbt_rpc_torrent_remove (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, NULL, &error);
  gboolean delete_data = FALSE;
  Batch *job;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  gbt_rpc_get_bool (call->args, "delete-local-data", &delete_data, &error);
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  job = batch_new (call);
  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      g_autoptr(GbtTorrent) t = g_object_ref (dt->torrent);
      GbtRemoveFlags flags = GBT_REMOVE_FLAGS_DELETE_RESUME;

      if (delete_data)
        flags |= GBT_REMOVE_FLAGS_DELETE_DATA;
      g_message ("removing %s%s", gbt_torrent_get_name (t), delete_data ? " and its data" : "");
      gbt_daemon_forget (self, dt);
      job->pending++;
      gbt_session_remove_torrent_async (self->session, t, flags, NULL, removed_cb, job);
    }
  batch_done (job, NULL);
}

/* ---- actions, queue ---- */

void
gbt_rpc_torrent_action (GbtRpcCall *call, const char *method)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, NULL, &error);

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  if (g_str_equal (method, "torrent-start") || g_str_equal (method, "torrent-start-now"))
    {
      gboolean now = g_str_equal (method, "torrent-start-now");
      /* queued in queue order, so the first asked does not lose its turn */
      for (guint i = 0; i < sel->len; i++)
        gbt_daemon_start_torrent (self, g_ptr_array_index (sel, i), now);
    }
  else if (g_str_equal (method, "torrent-stop"))
    for (guint i = 0; i < sel->len; i++)
      gbt_daemon_stop_torrent (self, g_ptr_array_index (sel, i));
  else if (g_str_equal (method, "torrent-reannounce"))
    for (guint i = 0; i < sel->len; i++)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        if (gbt_torrent_get_state (dt->torrent) != GBT_TORRENT_STATE_STOPPED)
          gbt_torrent_announce_now (dt->torrent);
      }
  else if (g_str_equal (method, "torrent-verify"))
    {
      for (guint i = 0; i < sel->len; i++)
        {
          GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
          if (gbt_torrent_has_metadata (dt->torrent))
            {
#ifdef HAVE_GBT_TORRENT_VERIFY
              gbt_torrent_verify (dt->torrent);
#else
              gbt_rpc_call_return (call, "torrent-verify is not available in this build", NULL);
              return;
#endif
            }
        }
    }
  gbt_rpc_call_return (call, NULL, NULL);
}

static gint
by_position (gconstpointer a, gconstpointer b)
{
  const GbtDaemonTorrent *x = *(GbtDaemonTorrent *const *) a;
  const GbtDaemonTorrent *y = *(GbtDaemonTorrent *const *) b;

  return x->queue_position < y->queue_position ? -1 : x->queue_position > y->queue_position;
}

void
gbt_rpc_queue_move (GbtRpcCall *call, const char *method)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, NULL, &error);
  int n;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  g_ptr_array_sort (sel, by_position);
  n = (int) self->torrents->len;
  if (g_str_equal (method, "queue-move-top"))
    for (int i = (int) sel->len - 1; i >= 0; i--) /* the first stays first */
      gbt_daemon_queue_move (self, g_ptr_array_index (sel, i), 0);
  else if (g_str_equal (method, "queue-move-bottom"))
    for (guint i = 0; i < sel->len; i++)
      gbt_daemon_queue_move (self, g_ptr_array_index (sel, i), n - 1);
  else if (g_str_equal (method, "queue-move-up"))
    for (guint i = 0; i < sel->len; i++)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        gbt_daemon_queue_move (self, dt, (int) dt->queue_position - 1);
      }
  else
    for (int i = (int) sel->len - 1; i >= 0; i--)
      {
        GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
        gbt_daemon_queue_move (self, dt, (int) dt->queue_position + 1);
      }
  gbt_rpc_call_return (call, NULL, NULL);
}

/* ---- set-location, rename-path ---- */

#ifdef HAVE_GBT_TORRENT_MOVE

static void
moved_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  gbt_torrent_move_data_finish (GBT_TORRENT (source), result, &error);
  batch_done (user_data, error);
}

void
gbt_rpc_torrent_set_location (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, NULL, &error);
  const char *location = arg_string (call->args, "location");
  gboolean move = FALSE;
  Batch *job;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  gbt_rpc_get_bool (call->args, "move", &move, &error);
  if (error == NULL && (location == NULL || !g_path_is_absolute (location)))
    error = g_strdup ("\"location\" must be an absolute path");
  if (error)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  job = batch_new (call);
  for (guint i = 0; i < sel->len; i++)
    {
      GbtDaemonTorrent *dt = g_ptr_array_index (sel, i);
      job->pending++;
      gbt_torrent_move_data_async (dt->torrent, location, move, NULL, moved_cb, job);
    }
  batch_done (job, NULL);
}

typedef struct {
  GbtRpcCall *call;
  guint id;
  char *path, *name;
} RenameJob;

static void
renamed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RenameJob *job = user_data;
  g_autoptr(GError) error = NULL;
  GbtRpcCall *call = job->call;

  if (!gbt_torrent_rename_path_finish (GBT_TORRENT (source), result, &error))
    gbt_rpc_call_return (call, error->message, NULL);
  else
    {
      JsonObject *out = json_object_new ();
      json_object_set_string_member (out, "path", job->path);
      json_object_set_string_member (out, "name", job->name);
      json_object_set_int_member (out, "id", job->id);
      gbt_rpc_call_return (call, NULL, out);
    }
  g_free (job->path);
  g_free (job->name);
  g_free (job);
}

void
gbt_rpc_torrent_rename_path (GbtRpcCall *call)
{
  GbtDaemon *self = call->daemon;
  g_autofree char *error = NULL;
  g_autoptr(GPtrArray) sel = gbt_rpc_select (self, call->args, NULL, &error);
  const char *path = arg_string (call->args, "path");
  const char *name = arg_string (call->args, "name");
  RenameJob *job;
  GbtDaemonTorrent *dt;

  if (sel == NULL)
    {
      gbt_rpc_call_return (call, error, NULL);
      return;
    }
  if (sel->len != 1)
    {
      gbt_rpc_call_return (call, "torrent-rename-path requires 1 torrent", NULL);
      return;
    }
  if (path == NULL || name == NULL)
    {
      gbt_rpc_call_return (call, "torrent-rename-path needs \"path\" and \"name\"", NULL);
      return;
    }
  dt = g_ptr_array_index (sel, 0);
  job = g_new0 (RenameJob, 1);
  job->call = call;
  job->id = dt->id;
  job->path = g_strdup (path);
  job->name = g_strdup (name);
  gbt_torrent_rename_path_async (dt->torrent, path, name, NULL, renamed_cb, job);
}
#else
void
gbt_rpc_torrent_set_location (GbtRpcCall *call)
{
  gbt_rpc_call_return (call, "torrent-set-location is not available in this build", NULL);
}

void
gbt_rpc_torrent_rename_path (GbtRpcCall *call)
{
  gbt_rpc_call_return (call, "torrent-rename-path is not available in this build", NULL);
}
#endif
