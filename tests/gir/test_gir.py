#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives libgbt through GObject-Introspection (PyGObject), as an app would.

A real download: an opentracker and a libtorrent seeder on a loopback
swarm (tests/interop/gbtinterop), then Gbt.Session, Gbt.Metainfo and
Gbt.Torrent from Python: signals, notify::state, stop_async/finish on a
GLib.MainLoop with a bound, the torrent list as a Gio.ListModel, and the
bytes compared with the source.  Also: GErrors arrive as GLib.Error with
the right domain and code, and the plugin registry lists the in-tree
plugins (PyGObject loads libgbt-1.so; the plugins resolve core symbols
from the process).

Needs GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the built core/ and
GBT_PLUGIN_PATH at the built plugins/ (tests/meson.build sets them).
TAP on stdout.  A skip is the TAP plan "1..0 # SKIP why" with exit status 0:
meson's TAP runner takes any other status, 77 included, as an error.
"""
import os
import sys
import time

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


# ---------------------------------------------------------------- cases


def case_version(tap, Gbt, GLib, Gio):
    v = Gbt.get_version_string()
    want = "%d.%d.%d" % (Gbt.MAJOR_VERSION, Gbt.MINOR_VERSION, Gbt.MICRO_VERSION)
    tap.ok(v == want, "Gbt.get_version_string() matches the version constants",
           "got %r, constants say %r" % (v, want))


def case_download(tap, Gbt, GLib, Gio):
    with Swarm("gir") as sw:
        src_dir = sw.path("src")
        os.makedirs(src_dir)
        src = write_random_file(os.path.join(src_dir, "gir.bin"), 4 * MiB + 4321, 41)
        info = make_torrent(src, sw.path("gir.torrent"), sw.announce_url, 64 * KiB)
        libtorrent_seeder(sw, info, src_dir)

        # Metainfo getters against what the swarm's own bencoder made.
        mi = Gbt.Metainfo.new_from_file(info.path)
        got = (mi.get_name(), mi.get_total_size(), mi.get_n_pieces(), mi.get_piece_length(),
               mi.dup_info_hash_hex(), bytes(mi.get_info_hash()), mi.get_n_files(),
               mi.is_multi_file(), mi.get_announce())
        want = (info.name, info.total_size, info.num_pieces, info.piece_length, info.hex,
                info.info_hash, 1, False, sw.announce_url)
        tap.ok(got == want, "Gbt.Metainfo getters match the torrent",
               "got  %r\nwant %r" % (got, want))
        f = mi.get_file(0)
        tap.ok(f.path == info.name and f.length == info.total_size and f.offset == 0,
               "Gbt.Metainfo.get_file() gives a Gbt.FileInfo struct",
               "path %r length %d offset %d" % (f.path, f.length, f.offset))

        out = sw.path("out")
        os.makedirs(out)
        addr = sw.new_addr()
        session = Gbt.Session.new()
        session.set_listen_address(addr, 0)
        session.set_bind_address(addr)
        session.start()
        log("session on %s:%d" % (addr, session.get_listen_port()))

        torrent = session.add_torrent(mi, out)
        model = session.get_torrents()
        tap.ok(isinstance(model, Gio.ListModel) and model.get_n_items() == 1
               and model.get_item(0) == torrent and model.get_item_type() == Gbt.Torrent.__gtype__,
               "session.get_torrents() is a Gio.ListModel holding the torrent",
               "model %r, %d items" % (model, model.get_n_items()))

        try:
            session.add_torrent(mi, out)
            dup = None
        except GLib.Error as e:
            dup = e
        tap.ok(dup is not None and dup.matches(Gbt.session_error_quark(),
                                               Gbt.SessionError.DUPLICATE_TORRENT),
               "adding it twice raises GLib.Error SessionError.DUPLICATE_TORRENT",
               "raised %r" % (dup,))

        torrent.set_files_wanted([True])
        tap.ok(torrent.get_bytes_wanted() == info.total_size and torrent.get_name() == info.name
               and torrent.get_session() == session
               and bytes(torrent.get_info_hash()) == info.info_hash,
               "set_files_wanted() takes a Python list; torrent getters",
               "wanted %d, name %r" % (torrent.get_bytes_wanted(), torrent.get_name()))

        loop = GLib.MainLoop()
        states = []
        verified = set()
        finished = []

        def on_state(obj, pspec):
            states.append(obj.get_state())
            if obj.get_state() == Gbt.TorrentState.ERROR:
                loop.quit()

        def on_finished(obj):
            finished.append(time.monotonic())
            loop.quit()

        torrent.connect("notify::state", on_state)
        torrent.connect("piece-verified", lambda obj, piece: verified.add(piece))
        torrent.connect("finished", on_finished)
        t0 = time.monotonic()
        torrent.start()
        in_time = run_loop(GLib, loop, DOWNLOAD_TIMEOUT)
        elapsed = time.monotonic() - t0
        diag = ["states seen: %s" % [int(s) for s in states],
                "%d of %d pieces verified, %d have" % (len(verified), info.num_pieces,
                                                       torrent.get_n_pieces_have())]
        err = torrent.get_error()
        if err is not None:
            diag.append("torrent error: %s (%s %d)" % (err.message, err.domain, err.code))
        tap.ok(in_time and finished and torrent.get_state() == Gbt.TorrentState.SEEDING,
               "\"finished\" is emitted and the state becomes SEEDING within %d s"
               % DOWNLOAD_TIMEOUT, "\n".join(diag))
        if finished:
            log("downloaded %.1f MiB in %.2f s (%d payload bytes received)"
                % (info.total_size / MiB, elapsed, torrent.get_downloaded()))
        tap.ok(verified == set(range(info.num_pieces))
               and torrent.get_n_pieces_have() == info.num_pieces
               and torrent.get_bytes_have() == info.total_size
               and torrent.get_downloaded() >= info.total_size,
               "\"piece-verified\" once for every piece; counters agree", "\n".join(diag))
        tap.ok(Gbt.TorrentState.DOWNLOADING in states and Gbt.TorrentState.SEEDING in states
               and torrent.props.state == int(Gbt.TorrentState.SEEDING),
               "notify::state reports DOWNLOADING then SEEDING; the state property reads",
               "\n".join(diag))

        stopped = []

        def on_stopped(obj, result):
            try:
                stopped.append(obj.stop_finish(result))
            except GLib.Error as e:
                stopped.append(e)
            loop.quit()

        torrent.stop_async(None, on_stopped)
        in_time = run_loop(GLib, loop, STOP_TIMEOUT)
        tap.ok(in_time and stopped == [True]
               and torrent.get_state() == Gbt.TorrentState.STOPPED,
               "stop_async() completes; stop_finish() returns True; state STOPPED",
               "in time %s, results %r, state %r" % (in_time, stopped, torrent.get_state()))

        diffs = compare_tree(src, out)
        tap.ok(not diffs, "downloaded bytes are identical to the source", "\n".join(diffs[:20]))

        changes = []
        model.connect("items-changed", lambda m, pos, removed, added:
                      changes.append((pos, removed, added)))
        session.remove_torrent(torrent)
        tap.ok(model.get_n_items() == 0 and changes == [(0, 1, 0)],
               "remove_torrent() empties the list model with one items-changed",
               "%d items, changes %r" % (model.get_n_items(), changes))
        del torrent, session


def case_magnet(tap, Gbt, GLib, Gio):
    """Gbt.Magnet.parse() and session.add_magnet(): the metadata arrives
    from a libtorrent seeder (metadata-received), then the data."""
    with Swarm("gir-magnet") as sw:
        src_dir = sw.path("src")
        os.makedirs(src_dir)
        src = write_random_file(os.path.join(src_dir, "m.bin"), 2 * MiB + 77, 43)
        info = make_torrent(src, sw.path("m.torrent"), sw.announce_url, 32 * KiB)
        seeder = libtorrent_seeder(sw, info, src_dir)
        magnet = Gbt.Magnet.parse("magnet:?xt=urn:btih:%s&x.pe=%s:%d"
                                  % (info.hex, seeder.addr, seeder.port))
        out = sw.path("out")
        addr = sw.new_addr()
        session = Gbt.Session.new()
        session.set_listen_address(addr, 0)
        session.set_bind_address(addr)
        session.start()
        torrent = session.add_magnet(magnet, out)
        loop = GLib.MainLoop()
        seen = []
        torrent.connect("metadata-received",
                        lambda t: seen.append((t.has_metadata(), t.get_metainfo().get_n_pieces())))
        torrent.connect("finished", lambda t: loop.quit())
        torrent.connect("notify::state", lambda t, p: t.get_state() == Gbt.TorrentState.ERROR
                        and loop.quit())
        before = (torrent.has_metadata(), torrent.get_metainfo())
        torrent.start()
        fetching = torrent.get_state() == Gbt.TorrentState.FETCHING_METADATA
        in_time = run_loop(GLib, loop, DOWNLOAD_TIMEOUT)
        err = torrent.get_error()
        diffs = compare_tree(src, out)
        tap.ok(before == (False, None) and fetching and in_time and seen == [(True, info.num_pieces)]
               and torrent.get_name() == info.name and not diffs,
               "add_magnet(): FETCHING_METADATA, metadata-received, then the bytes",
               "before %r, fetching %r, in time %r, seen %r, name %r, error %r\n%s"
               % (before, fetching, in_time, seen, torrent.get_name(), err and err.message,
                  "\n".join(diffs[:10])))
        stopped = []
        torrent.stop_async(None, lambda t, r: (stopped.append(t.stop_finish(r)), loop.quit()))
        run_loop(GLib, loop, STOP_TIMEOUT)
        del torrent, session


def case_errors(tap, Gbt, GLib, Gio):
    try:
        Gbt.Metainfo.new_from_bytes(GLib.Bytes.new(b"d4:infoi1e"))
        err = None
    except GLib.Error as e:
        err = e
    tap.ok(err is not None and err.matches(Gbt.Metainfo.error_quark(),
                                           Gbt.MetainfoError.BENCODE),
           "truncated bencode raises GLib.Error MetainfoError.BENCODE", "raised %r" % (err,))

    ok, rate = Gbt.rate_parse("1.5MiB")
    try:
        Gbt.rate_parse("fast")
        bad = None
    except GLib.Error as e:
        bad = e
    tap.ok(ok and rate == 1572864 and bad is not None,
           "Gbt.rate_parse() returns its out value and raises on nonsense",
           "rate %r, error %r" % (rate, bad))


def case_plugins(tap, Gbt, GLib, Gio):
    registry = Gbt.PluginRegistry.get_default()
    registry.load(None, None)
    plugins = {p.name: p for p in registry.list()}
    diag = "\n".join("%s loaded=%s interfaces=%s error=%s"
                     % (p.name, p.loaded, p.interfaces, p.error and p.error.message)
                     for p in plugins.values())
    want = {"tracker-http": "tracker:http", "transport-tcp": "transport:tcp"}
    tap.ok(all(n in plugins and plugins[n].loaded and iface in plugins[n].interfaces
               for n, iface in want.items()),
           "PluginRegistry.list() has tracker-http and transport-tcp, loaded", diag)
    tap.ok(registry.get_transport(None) is not None
           and isinstance(registry.get_tracker("http"), Gbt.Tracker),
           "the registry hands out a Gbt.Transport and a Gbt.Tracker", diag)


def case_create_verify(tap, Gbt, GLib, Gio):
    """Gbt.Creator makes a torrent off the main thread, Metainfo.verify_async checks it."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="gbt-gir-create-") as tmp:
        data = os.path.join(tmp, "data.bin")
        write_random_file(data, 300 * KiB + 17, 7)
        loop = GLib.MainLoop()
        creator = Gbt.Creator.new(data)
        creator.set_piece_length(64 * KiB)
        creator.set_creation_date(-1)
        creator.add_tier(["http://127.0.0.1:1/announce"])
        progress, out = [], {}

        def on_progress(c, done, total):
            progress.append((done, total))

        def on_created(c, result):
            try:
                out["torrent"] = c.create_finish(result)
            except GLib.Error as e:
                out["error"] = e
            loop.quit()

        creator.connect("progress", on_progress)
        creator.create_async(None, on_created)
        in_time = run_loop(GLib, loop, 30)
        torrent = out.get("torrent")
        mi = Gbt.Metainfo.new_from_bytes(torrent) if torrent is not None else None
        tap.ok(in_time and mi is not None and mi.get_n_pieces() == 5
               and progress and progress[-1] == (300 * KiB + 17, 300 * KiB + 17),
               "Gbt.Creator.create_async makes a torrent and reports progress",
               "in time %r, out %r, progress %r" % (in_time, out, progress[-3:]))
        if mi is None:
            return

        # one flipped byte in piece 2: bad; the rest good
        with open(data, "r+b") as f:
            f.seek(2 * 64 * KiB + 5)
            b = f.read(1)
            f.seek(2 * 64 * KiB + 5)
            f.write(bytes([b[0] ^ 0xFF]))

        def on_verified(m, result):
            try:
                out["result"] = mi.verify_finish(result)
            except GLib.Error as e:
                out["error"] = e
            loop.quit()

        mi.verify_async(tmp, 0, None, None, None, on_verified)
        in_time = run_loop(GLib, loop, 30)
        res = out.get("result")
        states = [res.get_piece_state(i) for i in range(res.get_n_pieces())] if res else None
        P = Gbt.VerifyPieceState
        tap.ok(in_time and res is not None and res.get_n_good() == 4
               and states == [P.GOOD, P.GOOD, P.BAD, P.GOOD, P.GOOD],
               "Gbt.Metainfo.verify_async tells the bad piece",
               "in time %r, out %r, states %r" % (in_time, out, states))


CASES = [case_version, case_download, case_magnet, case_errors, case_plugins, case_create_verify]
PLAN = 1 + 11 + 1 + 2 + 2 + 2 + 1


def main():
    try:
        Gbt, GLib, Gio = load_gbt()
    except (ImportError, ValueError) as e:
        return skip_all("no Gbt typelib (built without introspection?): %s" % e)
    return run_cases(CASES, check_prerequisites("libtorrent"), plan=PLAN, args=(Gbt, GLib, Gio))


if __name__ == "__main__":
    sys.exit(main())
