#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gbt as a seeder, and as a good citizen of a swarm, against real peers.

Each "served" case makes a torrent with `gbt create` (the Python bencoder
while this build has no `gbt create`), seeds it with `gbt seed --json`, and
has one other client download it alone from gbt: transmission-cli, aria2c,
python3-libtorrent; single-file and multi-file (nested directories, an
empty file, a UTF-8 name).  The bytes must come out identical.

transmission-cli never dials loopback peers: it is started first, and gbt
seed starts once the tracker lists it, so gbt's first announce returns it
and gbt dials it.

The swarm case: one gbt seeder and three leechers (gbt with --seed,
libtorrent, aria2c).  The gbt leecher first fetches only some files
(--select) and the seeder goes away; the other two leechers then join and
can only get those pieces from the gbt leecher, which must upload them;
the seeder comes back and everybody completes.  Nothing is timed, so the
"gbt leecher uploaded" check cannot flake.

Exit: 0 pass, 1 fail, 77 skip; TAP on stdout.
"""
import ast
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import HERE, KiB, MiB, PYTHON  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.net import free_port  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree, write_random_file  # noqa: E402
from gbtinterop.peers import (aria2_args, gbt_seeder, gbt_uploaded, Peer, start_leecher,  # noqa: E402
                              stop_gbt, transmission_leecher)  # noqa: E402
from gbtinterop.procs import json_events, wait_file, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import create_torrent  # noqa: E402

TIMEOUT = 60               # one aria2/libtorrent download, seconds
TRANSMISSION_TIMEOUT = 120

TREE = [
    ("a.bin", 300_001),
    ("sub/b.bin", MiB + 5),
    ("sub/deeper/c.txt", 70_000),
    ("empty.dat", 0),
    ("données/ファイル.bin", 2 * MiB + 777),
    ("z-last.bin", 123_457),
]


def payload(sw, multi, seed):
    """(source path, parent dir the seeder uses, TorrentInfo)."""
    if multi:
        src = make_tree(sw.path("src", "tree"), TREE, seed)
        piece = 64 * KiB
    else:
        src = write_random_file(sw.path("src", "single.bin"), 6 * MiB + 4321, seed)
        piece = 256 * KiB
    info, maker = create_torrent(src, sw.path("t.torrent"), sw.announce_url, piece)
    log("torrent by %s: %s, %d pieces of %d" % (maker, info.hex, info.num_pieces,
                                                 info.piece_length))
    return src, sw.path("src"), info



# ---------------------------------------------------------------- served cases


def serve(tap, kind, multi):
    what = "%s downloads a %s torrent from gbt seed" % (kind, "multi-file" if multi else
                                                         "single-file")
    with Swarm("seed-%s" % kind) as sw:
        src, parent, info = payload(sw, multi, 11 if multi else 12)
        out = sw.path("out")
        t0 = time.monotonic()
        diag = []
        if kind == "transmission":
            leech = transmission_leecher(sw, info, out, timeout=30)
            seeder = gbt_seeder(sw, info, parent)
            if not wait_file(leech.done_marker, TRANSMISSION_TIMEOUT, leech.proc):
                diag.append("transmission did not finish in %d s:\n%s"
                            % (TRANSMISSION_TIMEOUT, leech.proc.log_tail()))
            sw.forget(leech.proc)
        else:
            seeder = gbt_seeder(sw, info, parent)
            run = start_leecher(sw, info, out, kind=kind)
            rc = run.wait(TIMEOUT)
            if rc != 0:
                diag.append("%s exited %s after %.1f s:\n%s"
                            % (kind, rc, run.elapsed, run.proc.log_tail()))
        elapsed = time.monotonic() - t0
        if not diag:
            for d in compare_tree(src, out):
                # transmission-cli 3.00 creates no zero-length files as a
                # leecher (its own behaviour, whoever the seeder is).
                if (kind == "transmission" and d.startswith("missing file ")
                        and os.path.getsize(os.path.join(src, ast.literal_eval(d[13:]))) == 0):
                    log("transmission left out the empty file %s" % d[13:])
                    continue
                diag.append(d)
        rc = stop_gbt(seeder)
        # its last line (the "stopped" event) carries the final count
        up = gbt_uploaded(seeder.proc)
        if rc != 0:
            diag.append("gbt seed exited %s on SIGTERM (expected 0):\n%s"
                        % (rc, seeder.proc.log_tail()))
        elif not any(e.get("event") == "stopped" for e in json_events(seeder.proc)):
            diag.append("gbt seed printed no \"stopped\" event")
        if not diag and up < info.total_size:
            diag.append("gbt seed reports uploaded %d < %d" % (up, info.total_size))
        log("%s: %.2f MiB in %.1f s; gbt uploaded %d" % (kind, info.total_size / MiB, elapsed, up))
        tap.ok(not diag, what, "\n".join(diag))


def magnet(tap, kind, multi):
    """A client that has only a magnet link gets the info dictionary from
    gbt seed (BEP 9, the metadata plugin), then the data."""
    what = "%s joins by magnet link and downloads a %s torrent from gbt seed" % (
        kind, "multi-file" if multi else "single-file")
    with Swarm("magnet-%s" % kind) as sw:
        src, parent, info = payload(sw, multi, 13 if multi else 14)
        seeder = gbt_seeder(sw, info, parent)
        out = sw.path("out")
        os.makedirs(out)
        addr = sw.new_addr()
        port = free_port(addr)
        if kind == "libtorrent":
            # no tracker in the link: gbt is dialled directly, and is all there is
            link = "magnet:?xt=urn:btih:%s&dn=x" % info.hex
            argv = [PYTHON, os.path.join(HERE, "lt_peer.py"), "--magnet", link, "--save", out,
                    "--addr", addr, "--port", str(port), "--leech",
                    "--peer", "%s:%d" % (seeder.addr, seeder.port)]
        else:
            link = "magnet:?xt=urn:btih:%s&tr=%s" % (info.hex, sw.announce_url)
            argv = aria2_args(addr, port) + ["--seed-time=0", "--dir=" + out, link]
        proc = sw.spawn("magnet-" + kind, argv)
        rc = proc.wait(TIMEOUT)
        diag = []
        if rc != 0:
            diag.append("%s exited %s:\n%s" % (kind, rc, proc.log_tail()))
        else:
            diag += compare_tree(src, out)
        if kind == "libtorrent" and proc.wait_line(lambda l: l == "METADATA", 0) is None:
            diag.append("libtorrent never reported the metadata")
        stop_gbt(seeder)
        tap.ok(not diag, what, "\n".join(diag))


def case_libtorrent_magnet(tap):
    magnet(tap, "libtorrent", True)


def case_aria2_magnet(tap):
    magnet(tap, "aria2", False)


def case_transmission_single(tap):
    serve(tap, "transmission", False)


def case_transmission_multi(tap):
    serve(tap, "transmission", True)


def case_aria2_single(tap):
    serve(tap, "aria2", False)


def case_aria2_multi(tap):
    serve(tap, "aria2", True)


def case_libtorrent_single(tap):
    serve(tap, "libtorrent", False)


def case_libtorrent_multi(tap):
    serve(tap, "libtorrent", True)


# ---------------------------------------------------------------- swarm case

SWARM_TREE = [
    ("part1/a.bin", 3 * MiB + 1234),        # file 0: what the gbt leecher gets first
    ("part1/b.bin", MiB + 77),              # file 1
    ("part2/c.bin", 4 * MiB + 4321),        # file 2
    ("part2/empty", 0),                     # file 3
    ("part2/d.bin", 2 * MiB + 5),           # file 4
]


def case_swarm(tap):
    """gbt seeder + gbt/libtorrent/aria2 leechers; the gbt leecher serves."""
    what = "swarm: gbt seeder, gbt + libtorrent + aria2c leechers; the gbt leecher uploads"
    with Swarm("swarm") as sw:
        src = make_tree(sw.path("src", "swarm"), SWARM_TREE, 21)
        info, _ = create_torrent(src, sw.path("s.torrent"), sw.announce_url, 256 * KiB)
        seeder = gbt_seeder(sw, info, sw.path("src"))
        g_out = sw.path("out-gbt")
        # Phase 1: the gbt leecher fetches files 0 and 1 only, then exits.
        g_addr = sw.new_addr()
        g_port = free_port(g_addr)
        part = sw.spawn("gbt-select", [gbt_cli(), "download", info.path, "-o", g_out, "--json",
                                       "--select", "0,1", "--bind", g_addr,
                                       "--port", str(g_port)])
        rc = part.wait(TIMEOUT)
        if rc != 0:
            tap.ok(False, what, "gbt download --select 0,1 exited %s:\n%s"
                   % (rc, part.log_tail()))
            return
        # The seeder goes away: from here only the gbt leecher has data.
        rc = stop_gbt(seeder)
        if rc != 0:
            tap.ok(False, what, "gbt seed exited %s on SIGTERM:\n%s" % (rc, seeder.proc.log_tail()))
            return
        sw.forget(seeder.proc)

        t0 = time.monotonic()
        gl = sw.spawn("gbt-leech", [gbt_cli(), "download", info.path, "-o", g_out, "--json",
                                    "--seed", "--bind", g_addr, "--port", str(g_port)])
        gpeer = Peer("gbt", g_addr, g_port, gl)
        if not sw.tracker.wait_announced(info, gpeer, 30):
            tap.ok(False, what, "the gbt leecher never announced:\n" + gl.log_tail())
            return
        lt_out, a_out = sw.path("out-lt"), sw.path("out-aria2")
        lt = start_leecher(sw, info, lt_out, kind="libtorrent", name="lt")
        ar = start_leecher(sw, info, a_out, kind="aria2", name="aria2")

        def gbt_up():
            return gbt_uploaded(gl)

        def lt_done():
            st = Peer("libtorrent", lt.addr, lt.port, lt.proc).stats()
            return st["total_done"] if st else 0

        # Wait until the others fetched from the gbt leecher (nobody else has
        # anything): its upload counter moves and libtorrent has bytes.
        wait_for(lambda: (gbt_up() > 0 and lt_done() > 0) or not gl.alive(), 30)
        up_alone = gbt_up()
        log("gbt leecher uploaded %d bytes before the seeder came back (libtorrent has %d)"
            % (up_alone, lt_done()))
        diag = []
        if up_alone <= 0:
            diag.append("the gbt leecher uploaded nothing in 30 s while it was the only "
                        "source:\n" + gl.log_tail())
        # The seeder returns; its first announce lists the three leechers.
        seeder = gbt_seeder(sw, info, sw.path("src"), name="gbt-seed-again")
        for run in (lt, ar):
            rc = run.wait(TIMEOUT)
            if rc != 0:
                diag.append("%s exited %s:\n%s" % (run.kind, rc, run.proc.log_tail()))
        done = gl.wait_line(lambda l: '"event":"done"' in l.replace(" ", ""), TIMEOUT)
        if done is None:
            diag.append("the gbt leecher never printed done:\n" + gl.log_tail())
        elapsed = time.monotonic() - t0
        rc = stop_gbt(gpeer)
        if rc != 0:
            diag.append("gbt download --seed exited %s on SIGTERM after completing" % rc)
        elif not any(e.get("event") == "stopped" for e in json_events(gl)):
            diag.append("gbt download --seed printed no \"stopped\" event")
        up = gbt_up()  # from its last line, the "stopped" event
        for out in (g_out, lt_out, a_out):
            d = compare_tree(src, out)
            if d:
                diag.append("%s: %s" % (out, "; ".join(d[:5])))
        if up <= 0:
            diag.append("the gbt leecher's uploaded counter is %d" % up)
        log("swarm: all done in %.1f s; gbt leecher uploaded %d bytes, the seeder %d"
            % (elapsed, up, gbt_uploaded(seeder.proc)))
        stop_gbt(seeder)
        tap.ok(not diag, what, "\n".join(diag))


CASES = [case_libtorrent_single, case_libtorrent_multi, case_aria2_single, case_aria2_multi,
         case_transmission_single, case_transmission_multi, case_swarm, case_libtorrent_magnet,
         case_aria2_magnet]
# GBT_INTEROP_SUBSET=1 (the ASan pass): each client once, the multi-file
# torrent (gbt's file-boundary paths), the swarm and the metadata served to
# libtorrent; the single-file repeats and aria2's magnet run in the normal build.
SUBSET = [case_libtorrent_single, case_libtorrent_multi, case_aria2_multi,
          case_transmission_multi, case_swarm, case_libtorrent_magnet]
# transmission-cli's cases wait mostly on its own timers (first unchoke at
# its 10 s rechoke), aria2c's on its start-up (~2.5 s): they run alongside
# the others (tap.run_cases)
BACKGROUND = [case_transmission_single, case_transmission_multi, case_aria2_single,
              case_aria2_multi, case_aria2_magnet]


def main():
    unmet = check_prerequisites("gbt", tools=("aria2c", "transmission-cli"),
                                gbt_commands=("download", "seed", "create"))
    return run_cases(CASES, unmet, subset=SUBSET, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
