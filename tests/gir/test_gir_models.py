#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A torrent's peers and trackers models from Python, as an app's details
page would bind them (Gbt.Torrent.get_peers(), Gbt.Torrent.get_trackers()).

A real download from a libtorrent seeder (rate-limited, so it lasts a few
seconds) listed by an opentracker on loopback: the peers model shows the
libtorrent peer (its client names libtorrent, its download rate rises
above 0 and is notified in place on the same object), and is empty after
the stop; the trackers model shows the opentracker's URL before the
start, then WORKING with at least one seeder.

Needs GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the built core/ and
GBT_PLUGIN_PATH at the built plugins/ (tests/meson.build sets them).
TAP on stdout; a skip is the plan "1..0 # SKIP why" with exit status 0.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from gbtinterop.gi import load_gbt, run_loop  # noqa: E402
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases, skip_all  # noqa: E402
from gbtinterop.torrents import make_torrent  # noqa: E402

DOWNLOAD_TIMEOUT = 90  # seconds for the whole download
STOP_TIMEOUT = 30


def items(model):
    return [model.get_item(i) for i in range(model.get_n_items())]


def case_models(tap, Gbt, GLib, Gio):
    with Swarm("gir-models") as sw:
        src_dir = sw.path("src")
        os.makedirs(src_dir)
        src = write_random_file(os.path.join(src_dir, "models.bin"), 6 * MiB + 1234, 43)
        info = make_torrent(src, sw.path("models.torrent"), sw.announce_url, 64 * KiB)
        # 6 MiB at 1.5 MiB/s: several of the torrent's ticks to watch
        seeder = libtorrent_seeder(sw, info, src_dir, upload_limit=1536 * KiB)

        out = sw.path("out")
        os.makedirs(out)
        addr = sw.new_addr()
        session = Gbt.Session.new()
        session.set_listen_address(addr, 0)
        session.set_bind_address(addr)
        session.start()
        torrent = session.add_torrent(Gbt.Metainfo.new_from_file(info.path), out)

        peers = torrent.get_peers()
        trackers = torrent.get_trackers()
        before = [(e.props.url, e.props.tier, e.props.status) for e in items(trackers)]
        tap.ok(isinstance(peers, Gio.ListModel) and peers.get_item_type() == Gbt.PeerInfo.__gtype__
               and peers.get_n_items() == 0
               and trackers.get_item_type() == Gbt.TrackerEntry.__gtype__
               and before == [(sw.announce_url, 0, Gbt.TrackerStatus.NOT_CONTACTED)],
               "before the start: no peer; the trackers model lists the metainfo's tracker",
               "peers %d, trackers %r" % (peers.get_n_items(), before))

        loop = GLib.MainLoop()
        seen = {}  # address -> {"obj", "clients", "max_down", "notifies", "flags"}
        tracker_seen = {"status": set(), "max_seeders": -1, "errors": set()}
        finished = []

        def watch_peer(p):
            rec = seen.setdefault(p.props.address, {"obj": p, "clients": set(), "max_down": 0.0,
                                                   "notifies": 0, "same": True, "flags": 0})
            if rec["obj"] is not p:
                rec["same"] = False

            def on_rate(obj, pspec):
                rec["notifies"] += 1
            if rec.get("handler") is None:
                rec["handler"] = p.connect("notify::download-rate", on_rate)

        def on_items_changed(model, pos, removed, added):
            for i in range(pos, pos + added):
                watch_peer(model.get_item(i))

        def sample():
            for p in items(peers):
                watch_peer(p)
                rec = seen[p.props.address]
                rec["clients"].add(p.props.client)
                rec["max_down"] = max(rec["max_down"], p.props.download_rate)
                rec["flags"] |= int(p.props.flags)
            for e in items(trackers):
                tracker_seen["status"].add(int(e.props.status))
                tracker_seen["max_seeders"] = max(tracker_seen["max_seeders"], e.props.seeders)
                if e.props.last_error:
                    tracker_seen["errors"].add(e.props.last_error)
            return GLib.SOURCE_CONTINUE

        def on_finished(obj):
            finished.append(True)
            sample()
            loop.quit()

        peers.connect("items-changed", on_items_changed)
        torrent.connect("finished", on_finished)
        torrent.connect("notify::state",
                        lambda obj, ps: obj.get_state() == Gbt.TorrentState.ERROR and loop.quit())
        sampler = GLib.timeout_add(200, sample)
        torrent.start()
        in_time = run_loop(GLib, loop, DOWNLOAD_TIMEOUT)
        sample()
        GLib.source_remove(sampler)
        diag = "in time %r, finished %r, peers seen %r, tracker %r, error %r" % (
            in_time, finished, {a: {k: v for k, v in r.items() if k not in ("obj", "handler")}
                                for a, r in seen.items()},
            tracker_seen, torrent.get_error() and torrent.get_error().message)
        log(diag)
        lt = [r for a, r in seen.items() if a == "%s:%d" % (seeder.addr, seeder.port)]
        tap.ok(in_time and finished and len(lt) == 1
               and any("libtorrent" in c.lower() for c in lt[0]["clients"])
               and lt[0]["flags"] & int(Gbt.PeerFlags.SEED)
               and not lt[0]["flags"] & int(Gbt.PeerFlags.INCOMING),
               "the peers model shows the libtorrent seeder: its address, a client naming "
               "libtorrent, the SEED flag", diag)
        tap.ok(len(lt) == 1 and lt[0]["max_down"] > 0 and lt[0]["notifies"] > 0 and lt[0]["same"],
               "its download rate rises above 0, notified in place on the same Gbt.PeerInfo", diag)
        tap.ok(int(Gbt.TrackerStatus.WORKING) in tracker_seen["status"]
               and tracker_seen["max_seeders"] >= 1 and not tracker_seen["errors"],
               "the trackers model shows the opentracker WORKING with at least one seeder", diag)

        stopped = []

        def on_stopped(obj, result):
            stopped.append(obj.stop_finish(result))
            loop.quit()

        torrent.stop_async(None, on_stopped)
        in_time = run_loop(GLib, loop, STOP_TIMEOUT)
        after = [(e.props.url, e.props.status, e.props.next_announce) for e in items(trackers)]
        tap.ok(in_time and stopped == [True] and peers.get_n_items() == 0
               and after == [(sw.announce_url, Gbt.TrackerStatus.NOT_CONTACTED, 0)],
               "after the stop: the peers model is empty; the tracker stays listed, idle",
               "stopped %r, %d peers, trackers %r" % (stopped, peers.get_n_items(), after))
        diffs = compare_tree(src, out)
        tap.ok(not diffs, "downloaded bytes are identical to the source", "\n".join(diffs[:20]))
        session.remove_torrent(torrent)
        del torrent, session


CASES = [case_models]
PLAN = 6 + 1


def main():
    try:
        Gbt, GLib, Gio = load_gbt()
    except (ImportError, ValueError) as e:
        return skip_all("no Gbt typelib (built without introspection?): %s" % e)
    return run_cases(CASES, check_prerequisites("libtorrent"), plan=PLAN, args=(Gbt, GLib, Gio))


if __name__ == "__main__":
    sys.exit(main())
