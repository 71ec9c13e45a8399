#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The hostile swarm of issue 11: seven liars first, an honest seeder later.

A 64 MiB + 100 KiB torrent (257 pieces of 256 KiB: the bitfield has spare
bits) on a loopback opentracker.  gbt starts among seven hostile peers
from malicious_peer.py, each on its own 127.x address: corrupt data,
out-of-range piece indices, a 4 GiB length prefix, a bitfield with its
spare bits set, a wrong info-hash, a flood of unrequested 16 KiB pieces at
offset 0 of random pieces (claiming every piece), and a slowloris sending
its handshake a byte every 3 s.  Once gbt has met every one of them, and
no earlier than EXPOSURE seconds after it started (the issue's scenario:
the damage is done in that time), an honest libtorrent seeder joins.

Asserted: gbt finishes with identical bytes within FINISH_BOUND seconds
of the seeder being up; the seeder is never banned; gbt closes every
flooded connection within FLOOD_DROP_S of its flood starting (seen from
the flood peer; and a peer-dropped event names it when the CLI prints
those); "downloaded" stays under DOWNLOADED_BOUND; gbt's CPU seconds
(/usr/bin/time) stay under CPU_BOUND.  What each liar saw is logged.
TAP; exit 0/1."""
import os
import shutil
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.hostile import (TIME, check_flood_peer, connections_from,  # noqa: E402
                                describe_connections, log_lines,
                                event_hosts, finish_gbt, gbt_cpu_seconds,
                                hostile_peer, met, start_gbt_timed, verbose_args)
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.procs import leftover_processes, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, skip_all, Tap  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

SIZE = 64 * MiB + 100 * KiB
PIECE = 256 * KiB
MODES = ["corrupt", "bad-index", "huge-prefix", "spare-bits", "wrong-hash", "flood", "slowloris"]
MEET_TIMEOUT = 30      # gbt dials every liar the tracker lists within this
EXPOSURE = 10.0        # the seeder joins no earlier than this after gbt started
FINISH_BOUND = 30.0    # gbt is done within this after the seeder is up
FLOOD_DROP_S = 5.0     # a flooded connection is closed by gbt within this
DOWNLOADED_BOUND = 2 * SIZE
CPU_BOUND = 4.0        # gbt's user + system seconds for the whole run
PLAN = 7




def main():
    unmet = check_prerequisites()
    if unmet:
        return unmet.report()
    if shutil.which(TIME) is None:
        return skip_all("%s is not installed (package time; scripts/install-deps)" % TIME)
    tap = Tap(PLAN)
    try:
        with Swarm("hostile-swarm") as sw:
            src, src_dir, info = single_file(sw, SIZE, PIECE, 31, "hostile.bin")
            assert info.num_pieces == 257
            liars = {m: hostile_peer(sw, info, m, hold=120) for m in MODES}
            log("liars: " + ", ".join("%s %s" % (m, p.addr) for m, p in liars.items()))
            out = sw.path("out")
            run = start_gbt_timed(sw, info, out, global_args=verbose_args())

            # gbt has met them all (each liar logs its connection from gbt)...
            wait_for(lambda: all(met(p, run.addr) for p in liars.values())
                     or not run.proc.alive(), MEET_TIMEOUT)
            unmet_liars = [m for m, p in liars.items() if not met(p, run.addr)]
            log("%.1f s after gbt started, it had met %s" % (
                time.monotonic() - run.t0, "every liar" if not unmet_liars
                else "all but " + ", ".join(unmet_liars)))
            # ...and the liars had the scenario's time to do their damage
            wait_for(lambda: time.monotonic() - run.t0 >= EXPOSURE or not run.proc.alive(),
                     EXPOSURE + 1)
            before = run.last_event("progress") or {}
            log("before the seeder: %s of %d pieces, downloaded %s, %d peer(s), %d hash failure(s)"
                % (before.get("pieces"), info.num_pieces, before.get("downloaded"),
                   before.get("peers", 0),
                   sum(1 for e in run.events() if e.get("event") == "hash-failed")))

            seeder = libtorrent_seeder(sw, info, sw.copy_source(src, "lt"))
            seeder_t = time.monotonic()
            log("the libtorrent seeder %s is up %.1f s after gbt started"
                % (seeder.addr, seeder_t - run.t0))
            rc = finish_gbt(run, max(0.0, FINISH_BOUND - (time.monotonic() - seeder_t)))
            exit_t = time.time()
            after = run.elapsed - (seeder_t - run.t0)  # to its exit or the deadline
            if rc == "timeout":
                log("gbt took %.1f s to exit after SIGTERM at the deadline"
                    % (time.monotonic() - run.t0 - run.elapsed))
            cpu, rss = gbt_cpu_seconds(run)
            events = run.events()
            wait_for(lambda: all(c["closed"] for p in liars.values()
                                 for c in connections_from(p, run.addr)), 10)

            # 1. the download
            done = run.last_event("done")
            diffs = compare_tree(src, out) if rc == 0 else []
            tap.ok(rc == 0 and not diffs and done is not None,
                   "gbt finishes with identical bytes within %g s of the seeder joining (%s)"
                   % (FINISH_BOUND, "%.1f s" % (done["time"] - (seeder_t - run.t0))
                      if done else "not done %.1f s after" % after),
                   "exit %s\n%s\n%s" % (rc, "\n".join(diffs), run.proc.log_tail(20)))

            # 2. the seeder
            bans = event_hosts(events, "peer-banned")
            log("bans: " + (", ".join("%s at %.1f s" % (h, t) for t, h, _ in bans) or "none"))
            sb = [t for t, h, _ in bans if h == seeder.addr]
            tap.ok(not sb, "the honest seeder is never banned",
                   "banned at %.1f s (gbt's clock; it joined at %.1f s)"
                   % (sb[0], seeder_t - run.t0) if sb else None)

            # 3, 4. the flood peer
            flood = liars["flood"]
            check_flood_peer(tap, flood, run, events, exit_t, FLOOD_DROP_S)

            # 5. the counter
            last = done or next((e for e in reversed(events) if "downloaded" in e), {})
            down = last.get("downloaded")
            tap.ok(down is not None and down < DOWNLOADED_BOUND,
                   "\"downloaded\" stays under %d MiB (%s, %s event)" % (
                       DOWNLOADED_BOUND // MiB,
                       "%.1f MiB" % (down / MiB) if down is not None else "none",
                       last.get("event")))

            # what else happened, for the record
            fails = sum(1 for e in events if e.get("event") == "hash-failed")
            log("%d hash failure(s); gbt's max RSS %s KiB; %.1f s in all" % (
                fails, rss, time.monotonic() - run.t0))
            for m in MODES:
                if m != "flood":
                    log_lines("%s liar, as it saw gbt:" % m,
                              describe_connections(connections_from(liars[m], run.addr), exit_t)
                              or "(no connection)")
            # 6. CPU
            tap.ok(cpu is not None and cpu < CPU_BOUND,
                   "gbt's CPU time stays under %g s (%s)"
                   % (CPU_BOUND, "%.2f s" % cpu if cpu is not None else "unknown"))
    except Exception:
        tap.diag(traceback.format_exc())
    left = leftover_processes()
    while tap.n < PLAN - 1:
        tap.ok(False, "case did not run")
    tap.ok(not left, "no fixture process left behind", "\n".join(left))
    return tap.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    sys.exit(main())
