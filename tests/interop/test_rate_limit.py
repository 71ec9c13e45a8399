#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gbt's --max-down and --max-up against real peers, measured over a
window with a wide tolerance: a check that the limiter limits and does not
starve, not a timing test.  Loopback only; TAP on stdout; exit 0/1 (a missing
or broken gbt is a failure, a missing tool a TAP skip)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_peer, libtorrent_seeder  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, Tap  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.torrents import load_torrent, make_torrent  # noqa: E402

GBT = gbt_cli()
SIZE = 12 * MiB
LIMIT = 3 * MiB
LOW, HIGH = 0.5, 1.3          # accepted rate, as a fraction of the limit


def main():
    unmet = check_prerequisites("gbt", gbt_commands=("download", "seed"))
    if unmet:
        return unmet.report()
    tap = Tap(4)
    with Swarm("rate") as sw:
        src = sw.path("src")
        os.makedirs(src)
        write_random_file(os.path.join(src, "payload.bin"), SIZE, 11)
        sw.tracker
        t = sw.path("t.torrent")
        make_torrent(os.path.join(src, "payload.bin"), t, sw.announce_url, 256 * KiB)
        info = load_torrent(t)
        sw.tracker.add_torrent(info)

        # download limit: gbt leeches from an unlimited libtorrent seeder
        lt_seeder = libtorrent_seeder(sw, info, src)
        out = sw.path("out")
        addr = sw.new_addr()
        start = time.monotonic()
        r = subprocess.run([GBT, "download", t, "-o", out, "--bind", addr, "--json",
                            "--max-down", str(LIMIT), "--idle-timeout", "30"],
                           capture_output=True, text=True, timeout=120)
        events = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        done = [e for e in events if e.get("event") == "done"]
        secs = done[0]["seconds"] if done else time.monotonic() - start
        rate = SIZE / secs
        tap.ok(r.returncode == 0 and not compare_tree(os.path.join(src, "payload.bin"), out, "payload.bin"),
               "download under --max-down completes with identical bytes", r.stderr[-2000:])
        tap.ok(LOW * LIMIT <= rate <= HIGH * LIMIT,
               "download rate %.2f MiB/s within [%.1f, %.1f] x the %.0f MiB/s limit"
               % (rate / MiB, LOW, HIGH, LIMIT / MiB))

        # upload limit: gbt, alone, seeds to a libtorrent leecher
        lt_seeder.proc.stop()
        seed_addr = sw.new_addr()
        g = sw.spawn("gbt-seed", [GBT, "seed", t, "-d", src, "--bind", seed_addr, "--json",
                                  "--max-up", str(LIMIT)])
        if g.wait_line(lambda l: '"seeding"' in l, 30) is None:
            tap.ok(False, "gbt seed starts", g.log_tail())
            tap.ok(False, "upload rate", "no seeder")
        else:
            lout = sw.path("lt-out")
            os.makedirs(lout)
            start = time.monotonic()
            peer = libtorrent_peer(sw, info, lout, leech=True, name="lt-leech")
            line = peer.proc.wait_line(lambda l: l == "DONE", 120)
            secs = time.monotonic() - start
            rate = SIZE / secs
            tap.ok(line is not None and not compare_tree(os.path.join(src, "payload.bin"), lout, "payload.bin"),
                   "libtorrent downloads from gbt seeding under --max-up", peer.proc.log_tail())
            # the leecher's own start-up counts against us: only the upper
            # bound is tight, the lower one is wide
            tap.ok(0.4 * LIMIT <= rate <= HIGH * LIMIT,
                   "upload rate %.2f MiB/s within [0.4, %.1f] x the %.0f MiB/s limit"
                   % (rate / MiB, HIGH, LIMIT / MiB))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
