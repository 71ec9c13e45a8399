/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * torrent-get: every field of RPC version 16, as objects or as a table.
 * Field names are looked up once per request; each torrent's values are
 * read from the public API.  The reply's text is made on a worker
 * (gbt-rpc-http.c).
 */
#include "config.h"

#include <string.h>

#include "gbt-daemon.h"

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
  gboolean recently;
  JsonNode *fields = json_object_get_member (call->args, "fields");
  JsonNode *format = json_object_get_member (call->args, "format");
  g_autoptr(GPtrArray) sel = gbt_rpc_select_or_reply (call, &recently);
  gboolean table = FALSE;
  g_autoptr(GArray) want = g_array_new (FALSE, FALSE, sizeof (int));
  JsonArray *torrents;
  JsonObject *out;

  if (sel == NULL)
    return;
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

