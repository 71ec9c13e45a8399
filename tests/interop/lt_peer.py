#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A libtorrent (python3-libtorrent) peer for the interop tests.

Run in its own process by gbtinterop.peers (the libtorrent session owns threads we
want to be able to kill as a whole).  Seeds or leeches one torrent over TCP
(or uTP, or both: --transports) on one loopback address, with every way of
finding peers other than the tracker turned off, so a test controls exactly
who meets whom.

Prints to stdout, one line each:
  READY                     seeding (seed mode) or started (leech mode)
  METADATA                  --magnet: the info dictionary arrived from a peer
  STATS {json}              every --stats-interval seconds; "peers" lists the
                            connected peers: ip, port, how we learned of them
                            ("sources": tracker, pex, incoming, ...),
                            whether we dialled them, and over which
                            "transport" (tcp or utp)
  PEER {json}               --peer-events: a peer (as in STATS) past the
                            handshake, once per ip, port and transport,
                            looked for every 50 ms
  PEER_GONE message         --peer-events: libtorrent dropped a peer, or a
                            peer connection failed (its alert's message)
  DONE                      leech mode: every piece downloaded and checked
  DHT_ANNOUNCE {json}       --dht: a node announced a peer to us (ip, port, info_hash)

--dht runs libtorrent's DHT node on the same address and port (UDP), with
the settings loopback needs (no IP restrictions, no "dark internet"
filter) and no bootstrap node but those of --dht-bootstrap: it never
contacts anything off this machine.  --dht-only runs just that node, with
no torrent (a router for the others).
"""
import argparse
import faulthandler
import json
import sys
import time

import libtorrent as lt


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


SOURCES = (("tracker", lt.peer_info.tracker), ("dht", lt.peer_info.dht),
           ("pex", lt.peer_info.pex), ("lsd", lt.peer_info.lsd),
           ("resume", lt.peer_info.resume_data), ("incoming", 0x20))  # not bound by name


# peer_info::utp_socket (1 << 17 in libtorrent 2.0: between holepunched,
# 1 << 15, and rc4_encrypted, 1 << 19), which the 2.0.8 binding leaves out
UTP_SOCKET = getattr(lt.peer_info, "utp_socket", 1 << 17)


def peer_entry(p):
    return {"ip": p.ip[0], "port": p.ip[1],
            "sources": [n for n, bit in SOURCES if p.source & bit],
            "outgoing": bool(p.flags & lt.peer_info.outgoing_connection),
            "transport": "utp" if p.flags & UTP_SOCKET else "tcp",
            # past the BitTorrent handshake (not still dialling or handshaking)
            "connected": not p.flags & (lt.peer_info.connecting | lt.peer_info.handshake),
            "client": p.client if isinstance(p.client, str) else repr(p.client)}


def nap():
    """Waits a moment for alerts.  Not session.wait_for_alert(): its Python
    binding turns the alert pointer it gets into an object, and that pointer
    can already be stale (python3-libtorrent 2.0.8 dies with SIGSEGV there
    now and then: seen about once in 80 starts with the DHT on)."""
    time.sleep(0.05)


def flush_to_disk(ses, h, timeout=10.0):
    """Seeding means every piece passed its hash check, which libtorrent 2
    may do from its write buffer: wait until the bytes are in the files, so
    that a test reading them next sees them all."""
    h.flush_cache()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nap()
        for a in ses.pop_alerts():
            if isinstance(a, lt.cache_flushed_alert):
                return True
    return False


def emit_dht_announce(a):
    emit("DHT_ANNOUNCE " + json.dumps({"ip": str(a.ip), "port": a.port,
                                       "info_hash": str(a.info_hash)}))


def dht_only(ses, args):
    """A DHT node alone: READY at once, STATS says it runs."""
    emit("READY")
    deadline = time.monotonic() + args.timeout
    last_stats = 0.0
    while time.monotonic() < deadline:
        nap()
        for a in ses.pop_alerts():
            if isinstance(a, lt.dht_announce_alert):
                emit_dht_announce(a)
        now = time.monotonic()
        if now - last_stats >= args.stats_interval:
            last_stats = now
            emit("STATS " + json.dumps({"dht_running": ses.is_dht_running()}))
    return 0


def main():
    faulthandler.enable()  # a crash in libtorrent leaves a trace in the log
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", help="the .torrent (or --magnet)")
    ap.add_argument("--magnet", help="leech from a magnet link: metadata from peers (BEP 9)")
    ap.add_argument("--peer", action="append", default=[],
                    help="ADDR:PORT to dial once added (repeatable)")
    ap.add_argument("--save", default=".",
                    help="directory that contains (or will contain) the torrent's name")
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--leech", action="store_true", help="download, then exit (or keep seeding)")
    ap.add_argument("--keep-seeding", action="store_true")
    ap.add_argument("--upload-limit", type=int, default=0, help="bytes per second, 0 = none")
    ap.add_argument("--download-limit", type=int, default=0, help="bytes per second, 0 = none")
    ap.add_argument("--stats-interval", type=float, default=0.5)
    ap.add_argument("--dht", action="store_true", help="run a DHT node (loopback settings)")
    ap.add_argument("--dht-only", action="store_true", help="a DHT node and no torrent")
    ap.add_argument("--dht-bootstrap", default="", help="HOST:PORT,... to join the DHT through")
    ap.add_argument("--dht-announce-every", type=float, default=0,
                    help="once ready, announce the torrent to the DHT every N seconds")
    ap.add_argument("--lsd", action="store_true",
                    help="local peer discovery (BEP 14) on: only inside a network namespace "
                         "(tests/interop/test_lsd.py), never on a real network")
    ap.add_argument("--no-pex", action="store_true",
                    help="without ut_pex: neither tells nor learns peers by PEX")
    ap.add_argument("--no-tracker", action="store_true",
                    help="ignore the torrent's trackers: peers come from --peer (and PEX)")
    ap.add_argument("--transports", default="tcp",
                    help="comma list of tcp, utp: what it dials and accepts (default tcp)")
    ap.add_argument("--peer-events", action="store_true",
                    help="a PEER line for each connected peer (ip, port, transport) when first seen")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--reannounce", type=float, default=0,
                    help="seconds between forced announces once ready (0: the tracker's "
                         "interval); lets a seeder find leechers that never dial loopback "
                         "peers themselves (transmission)")
    args = ap.parse_args()
    transports = set(t.strip() for t in args.transports.split(",") if t.strip())
    if not transports or transports - {"tcp", "utp"}:
        ap.error("--transports: a comma list of tcp, utp")

    settings = {
        # an IPv6 address is bracketed, or libtorrent reads its last group as the port
        "listen_interfaces": ("[%s]:%d" if ":" in args.addr else "%s:%d") % (args.addr, args.port),
        "outgoing_interfaces": args.addr,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": "utp" in transports,
        "enable_incoming_utp": "utp" in transports,
        "enable_outgoing_tcp": "tcp" in transports,
        "enable_incoming_tcp": "tcp" in transports,
        "allow_multiple_connections_per_ip": True,
        # Loopback counts as "local network": without this the limit is ignored.
        "ignore_limits_on_local_network": False,
        "upload_rate_limit": args.upload_limit,
        "download_rate_limit": args.download_limit,
        "alert_mask": (lt.alert.category_t.status_notification
                       | lt.alert.category_t.error_notification
                       | lt.alert.category_t.storage_notification),
    }
    if args.dht or args.dht_only:
        settings.update({
            "enable_dht": True,
            "dht_bootstrap_nodes": args.dht_bootstrap,
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_ignore_dark_internet": False,
            "dht_prefer_verified_node_ids": False,
            "dht_enforce_node_id": False,
            "alert_mask": settings["alert_mask"] | lt.alert.category_t.dht_notification,
        })
    if args.peer_events:
        settings["alert_mask"] |= lt.alert.category_t.peer_notification
    if args.lsd:
        settings["enable_lsd"] = True
    if args.no_pex:
        ses = lt.session(settings, 0)  # no default plugins: put back all but ut_pex
        ses.add_extension(lt.create_ut_metadata_plugin)
        ses.add_extension(lt.create_smart_ban_plugin)
    else:
        ses = lt.session(settings)
    if args.dht_only:
        return dht_only(ses, args)
    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        if args.no_tracker:
            # the same info dictionary (and info-hash) without announce URLs
            with open(args.torrent, "rb") as f:
                meta = lt.bdecode(f.read())
            meta.pop(b"announce", None)
            meta.pop(b"announce-list", None)
            atp.ti = lt.torrent_info(meta)
        else:
            atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save
    h = ses.add_torrent(atp)
    for p in args.peer:
        host, port = p.rsplit(":", 1)
        h.connect_peer((host.strip("[]"), int(port)))
    had_metadata = h.status().has_metadata

    deadline = time.monotonic() + args.timeout
    ready = False
    last_stats = 0.0
    peers_seen = set()
    last_announce = time.monotonic()
    last_dht = 0.0
    while time.monotonic() < deadline:
        nap()
        for a in ses.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                emit("ERROR " + a.message())
            elif isinstance(a, lt.dht_announce_alert):
                emit_dht_announce(a)
            elif args.peer_events and isinstance(a, (lt.peer_error_alert,
                                                     lt.peer_disconnected_alert)):
                emit("PEER_GONE " + a.message())
        st = h.status()
        if st.has_metadata and not had_metadata:
            had_metadata = True
            emit("METADATA")
        if not ready:
            if args.leech and st.state not in (lt.torrent_status.checking_files,
                                               lt.torrent_status.checking_resume_data):
                ready = True
                emit("READY")
            elif not args.leech and st.state == lt.torrent_status.seeding:
                ready = True
                emit("READY")
        now = time.monotonic()
        if args.dht_announce_every > 0 and ready and now - last_dht >= args.dht_announce_every:
            last_dht = now
            h.force_dht_announce()
        if args.reannounce > 0 and ready and now - last_announce >= args.reannounce:
            last_announce = now
            h.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)
        if args.peer_events:
            for p in h.get_peer_info():
                e = peer_entry(p)
                key = (e["ip"], e["port"], e["transport"])
                if e["connected"] and key not in peers_seen:
                    peers_seen.add(key)
                    emit("PEER " + json.dumps(e))
        if now - last_stats >= args.stats_interval:
            last_stats = now
            emit("STATS " + json.dumps({
                "state": str(st.state),
                "uploaded": st.all_time_upload,
                "downloaded": st.all_time_download,
                "total_done": st.total_done,
                "num_peers": st.num_peers,
                "peers": [peer_entry(p) for p in h.get_peer_info()],
            }))
        if args.leech and ready and st.has_metadata and st.is_seeding:
            flush_to_disk(ses, h)
            emit("DONE")
            if not args.keep_seeding:
                return 0
            args.leech = False
    emit("ERROR timeout")
    return 1


if __name__ == "__main__":
    sys.exit(main())
