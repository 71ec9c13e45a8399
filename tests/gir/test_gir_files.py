#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A torrent's files from Python through GObject-Introspection, as an app's
files page would use them.

A libtorrent seeder on a loopback swarm (tests/interop/gbtinterop) serves
a four-file torrent at a limited rate.  Through Gbt.Torrent.get_files()
(a Gio.ListModel of Gbt.File): one file is skipped before the start (it
must never be created), another is skipped mid-download (it must not be
completed: its pieces stop being requested), the others must match the
source bytes with progress 1.0, notified.  Then the skipped-mid-download
file is wanted again and completes ("finished" a second time), and
dup_have() is a full BEP 3 bitfield of the pieces had.

Needs GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the built core/ and
GBT_PLUGIN_PATH at the built plugins/ (tests/meson.build sets them).
TAP on stdout; a skip is the plan "1..0 # SKIP why" with exit status 0.
"""
import filecmp
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from gbtinterop.gi import load_gbt, run_loop  # noqa: E402
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import make_tree  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases, skip_all  # noqa: E402
from gbtinterop.torrents import make_torrent  # noqa: E402

DOWNLOAD_TIMEOUT = 90
STOP_TIMEOUT = 30
PIECE = 32 * KiB
# (name, size): sorted, as the torrent lists them
FILES = [("a.bin", 600 * KiB + 11), ("b.bin", 3 * MiB + 5), ("c.bin", 200 * KiB + 3),
         ("d.bin", 1 * MiB + 7)]
SKIP_AT_START = 2   # c.bin
SKIP_MID = 1        # b.bin
SEED_RATE = 1 * MiB  # bytes/s: about 5 s for the lot, time to act mid-download


def wait_for(GLib, cond, seconds):
    """Iterates the default context until cond() or seconds pass."""
    ctx = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + int(seconds * 1e6)
    while not cond() and GLib.get_monotonic_time() < deadline:
        ctx.iteration(True)
    return cond()


def pieces_of(offset, size):
    """The pieces touching [offset, offset + size)."""
    if size == 0:
        return set()
    return set(range(offset // PIECE, (offset + size - 1) // PIECE + 1))


def case_files(tap, Gbt, GLib, Gio):
    with Swarm("gir-files") as sw:
        src = make_tree(sw.path("src", "payload"), FILES, seed=12)
        info = make_torrent(src, sw.path("files.torrent"), sw.announce_url, PIECE)
        libtorrent_seeder(sw, info, sw.path("src"), upload_limit=SEED_RATE)

        out = sw.path("out")
        os.makedirs(out)
        addr = sw.new_addr()
        session = Gbt.Session.new()
        session.set_listen_address(addr, 0)
        session.set_bind_address(addr)
        session.start()
        torrent = session.add_torrent(Gbt.Metainfo.new_from_file(info.path), out)

        model = torrent.get_files()
        files = [model.get_item(i) for i in range(model.get_n_items())]
        offsets, off = [], 0
        for _, size in FILES:
            offsets.append(off)
            off += size
        got = [(f.get_index(), f.props.path, f.props.size, f.props.offset, f.props.bytes_have,
                f.props.priority) for f in files]
        want = [(i, "payload/" + n, s, offsets[i], 0, Gbt.FilePriority.NORMAL)
                for i, (n, s) in enumerate(FILES)]
        tap.ok(isinstance(model, Gio.ListModel) and model.get_item_type() == Gbt.File.__gtype__
               and got == want and all(f.get_torrent() == torrent for f in files),
               "get_files() is a Gio.ListModel of Gbt.File with index, path, size, offset",
               "got  %r\nwant %r" % (got, want))

        # c.bin skipped before the start: never created
        files[SKIP_AT_START].props.priority = Gbt.FilePriority.SKIP
        loop = GLib.MainLoop()
        finished = []
        progress_notes = {i: [] for i in range(len(FILES))}
        skipped = {}
        verified = []
        inside_b = pieces_of(offsets[SKIP_MID], FILES[SKIP_MID][1]) \
            - pieces_of(offsets[SKIP_MID - 1], FILES[SKIP_MID - 1][1]) \
            - pieces_of(offsets[SKIP_MID + 1], FILES[SKIP_MID + 1][1])

        def on_verified(t, piece):
            verified.append(piece)
            # b.bin skipped once a tenth of the torrent is in
            if "at" not in skipped and t.get_n_pieces_have() >= info.num_pieces // 10:
                files[SKIP_MID].set_priority(Gbt.FilePriority.SKIP)
                skipped["at"] = len(verified)
                skipped["wanted"] = t.get_bytes_wanted()
                log("b.bin skipped after %d pieces" % len(verified))

        def on_finished(t):
            finished.append(t.get_state())
            loop.quit()

        def on_state(t, pspec):
            if t.get_state() == Gbt.TorrentState.ERROR:
                loop.quit()

        for i, f in enumerate(files):
            f.connect("notify::progress",
                      lambda obj, pspec, i=i: progress_notes[i].append(obj.props.progress))
        torrent.connect("piece-verified", on_verified)
        torrent.connect("finished", on_finished)
        torrent.connect("notify::state", on_state)
        torrent.start()
        in_time = run_loop(GLib, loop, DOWNLOAD_TIMEOUT)
        err = torrent.get_error()
        b = files[SKIP_MID]
        late = [p for p in verified[skipped.get("at", 0):] if p in inside_b]
        diag = ("in time %r, finished %r, error %r, skipped %r, b %d of %d bytes, "
                "%d of b's own pieces verified after the skip"
                % (in_time, finished, err and err.message, skipped, b.props.bytes_have,
                   b.props.size, len(late)))
        tap.ok(in_time and finished == [Gbt.TorrentState.SEEDING] and "at" in skipped
               and skipped["wanted"] < info.total_size - FILES[SKIP_MID][1] + PIECE,
               "finished without the skipped files; bytes-wanted drops at once", diag)
        # a piece already complete in memory or on its way to disk may
        # still land; nothing requested after the skip does
        tap.ok(b.props.progress < 1.0 and b.props.bytes_have < b.props.size
               and len(late) <= 8
               and not filecmp.cmp(os.path.join(src, "b.bin"), os.path.join(out, "payload", "b.bin"),
                                   shallow=False),
               "b.bin skipped mid-download is not completed", diag)
        c_path = os.path.join(out, "payload", "c.bin")
        tap.ok(not os.path.exists(c_path) and files[SKIP_AT_START].props.progress < 1.0,
               "c.bin skipped before the start is never created",
               "exists %r, progress %r" % (os.path.exists(c_path),
                                           files[SKIP_AT_START].props.progress))
        same = {n: filecmp.cmp(os.path.join(src, n), os.path.join(out, "payload", n), shallow=False)
                for n in ("a.bin", "d.bin")}
        wait_for(GLib, lambda: files[0].props.progress == 1.0 and files[3].props.progress == 1.0, 5)
        tap.ok(all(same.values()) and files[0].props.progress == 1.0
               and files[3].props.progress == 1.0
               and progress_notes[0] and progress_notes[0][-1] == 1.0
               and progress_notes[3] and progress_notes[3][-1] == 1.0
               and progress_notes[0] == sorted(progress_notes[0]),
               "the wanted files match the source; their progress is notified up to 1.0",
               "same %r, notes a %r, d %r" % (same, progress_notes[0][-5:], progress_notes[3][-5:]))

        # b.bin wanted again while seeding: downloading, finished again
        files[SKIP_MID].props.priority = Gbt.FilePriority.HIGH
        in_time = run_loop(GLib, loop, DOWNLOAD_TIMEOUT)
        wait_for(GLib, lambda: b.props.progress == 1.0, 5)
        b_same = filecmp.cmp(os.path.join(src, "b.bin"), os.path.join(out, "payload", "b.bin"),
                             shallow=False)
        tap.ok(in_time and len(finished) == 2 and b_same and b.props.progress == 1.0
               and b.props.priority == Gbt.FilePriority.HIGH,
               "b.bin wanted again completes; finished is emitted again",
               "in time %r, finished %r, same %r, progress %r"
               % (in_time, finished, b_same, b.props.progress))

        have = torrent.dup_have().get_data()
        had = {p for p in range(info.num_pieces) if have[p // 8] & (0x80 >> (p % 8))}
        want_had = set(range(info.num_pieces)) - (
            pieces_of(offsets[SKIP_AT_START], FILES[SKIP_AT_START][1])
            - pieces_of(offsets[SKIP_AT_START - 1], FILES[SKIP_AT_START - 1][1])
            - pieces_of(offsets[SKIP_AT_START + 1], FILES[SKIP_AT_START + 1][1]))
        tap.ok(len(have) == (info.num_pieces + 7) // 8 and had == want_had
               and torrent.get_n_pieces_have() == len(had),
               "dup_have() is the BEP 3 bitfield of the pieces had",
               "%d bytes, %d pieces had, %d expected" % (len(have), len(had), len(want_had)))

        stopped = []
        torrent.stop_async(None, lambda t, r: (stopped.append(t.stop_finish(r)), loop.quit()))
        run_loop(GLib, loop, STOP_TIMEOUT)
        tap.ok(stopped == [True] and not os.path.exists(c_path),
               "stopped; c.bin still absent", "stopped %r" % (stopped,))
        del torrent, session


CASES = [case_files]
PLAN = 8 + 1  # the case's results, then no fixture process left


def main():
    try:
        Gbt, GLib, Gio = load_gbt()
    except (ImportError, ValueError) as e:
        return skip_all("no Gbt typelib (built without introspection?): %s" % e)
    return run_cases(CASES, check_prerequisites("libtorrent"), plan=PLAN, args=(Gbt, GLib, Gio))


if __name__ == "__main__":
    sys.exit(main())
