#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`gbt download` in a poisoned swarm (issue 11).

A 48 MiB torrent of 256 KiB pieces on a loopback opentracker, with two
honest seeders of different clients (libtorrent and aria2, each capped at
SEED_RATE so the download lasts long enough for the liars to matter) and
three liars from malicious_peer.py, each on its own 127.x address:

  poison  serves the real data, capped at SEED_RATE too, except two random
          blocks in every third piece (so pieces that mix its blocks with
          the seeders' fail their hash);
  hoard   claims every piece, unchokes, takes requests and never answers
          or rejects them, keeping the connection alive with keep-alives;
  flood   claims every piece and, once gbt is interested, sends unrequested
          16 KiB piece messages at offset 0 of random pieces as fast as it
          can, answering no request.

gbt (under /usr/bin/time, for its rusage) must finish with identical
bytes; never ban the libtorrent or aria2 seeder's address; ban the
poisoner's; close the flood peer's connections within FLOOD_DROP_S of
their flood starting (seen from the flood peer, and in a `peer-dropped`
event when the CLI prints those); keep its "downloaded" counter under
DOWNLOADED_BOUND (unrequested data is no download) and, when its JSON
reports wasted bytes, those under WASTED_BOUND; and use under CPU_BOUND
CPU seconds.  TAP on stdout; exit 0 pass, 1 fail."""
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
                                hostile_peer, start_gbt_timed, verbose_args)
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import aria2_seeder, libtorrent_seeder  # noqa: E402
from gbtinterop.procs import leftover_processes, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, skip_all, Tap  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

SIZE = 48 * MiB
PIECE = 256 * KiB
SEED_RATE = 1 * MiB          # bytes/s each for libtorrent, aria2 and the poisoner
RUN_TIMEOUT = 75             # the whole download, seconds
FLOOD_DROP_S = 5.0           # a flooded connection is closed by gbt within this
DOWNLOADED_BOUND = 2 * SIZE  # "downloaded" in the done event (or the last one)
WASTED_BOUND = SIZE          # the done event's "wasted"
CPU_BOUND = 2.5              # gbt's user + system seconds for the whole run
PLAN = 9




def main():
    unmet = check_prerequisites(tools=("aria2c",))
    if unmet:
        return unmet.report()
    if shutil.which(TIME) is None:
        return skip_all("%s is not installed (package time; scripts/install-deps)" % TIME)
    tap = Tap(PLAN)
    try:
        with Swarm("poisoned") as sw:
            src, src_dir, info = single_file(sw, SIZE, PIECE, 23, "poisoned.bin")
            lt = libtorrent_seeder(sw, info, sw.copy_source(src, "lt"), upload_limit=SEED_RATE)
            aria = aria2_seeder(sw, info, sw.copy_source(src, "aria2"), upload_limit=SEED_RATE)
            poisoner = hostile_peer(sw, info, "poison", hold=120,
                                    extra=("--data", src, "--rate", str(SEED_RATE),
                                           "--poison-every", "3"))
            hoarder = hostile_peer(sw, info, "hoard", hold=120, extra=("--keepalive", "5"))
            flood = hostile_peer(sw, info, "flood", hold=120)
            honest = {lt.addr: "libtorrent seeder", aria.addr: "aria2 seeder"}
            log("honest: %s; poisoner %s, hoarder %s, flood %s" % (
                ", ".join("%s %s" % (v, k) for k, v in honest.items()), poisoner.addr,
                hoarder.addr, flood.addr))

            out = sw.path("out")
            run = start_gbt_timed(sw, info, out, global_args=verbose_args())
            rc = finish_gbt(run, RUN_TIMEOUT)
            exit_t = time.time()
            cpu, rss = gbt_cpu_seconds(run)
            events = run.events()
            # every connection gbt had is over once it exited: let the liars
            # log their side of the last closes
            liars = (poisoner, hoarder, flood)
            wait_for(lambda: all(c["closed"] for p in liars
                                 for c in connections_from(p, run.addr)), 15)

            # 1. the download
            diffs = compare_tree(src, out) if rc == 0 else []
            tap.ok(rc == 0 and not diffs,
                   "gbt completes with identical bytes in a poisoned swarm (%.1f s)" % run.elapsed,
                   "exit %s\n%s\n%s" % (rc, "\n".join(diffs), run.proc.log_tail(40)))

            # 2, 3. bans
            bans = event_hosts(events, "peer-banned")
            fails = [e for e in events if e.get("event") == "hash-failed"]
            log("%d hash failure(s); bans: %s" % (len(fails), ", ".join(
                "%s at %.1f s" % (h, t) for t, h, _ in bans) or "none"))
            wrong = ["%s (%s) at %.1f s" % (h, honest[h], t) for t, h, _ in bans if h in honest]
            tap.ok(not wrong, "no honest seeder is banned",
                   "banned: " + ", ".join(wrong))
            pbans = [t for t, h, _ in bans if h == poisoner.addr]
            pconns = connections_from(poisoner, run.addr)
            log_lines("poisoner, as it saw gbt:", describe_connections(pconns, exit_t))
            tap.ok(bool(pbans), "the poisoner %s is banned%s" % (
                poisoner.addr, " at %.1f s" % pbans[0] if pbans else ""),
                "no peer-banned event for %s" % poisoner.addr)

            # 4, 5. the flood peer
            check_flood_peer(tap, flood, run, events, exit_t, FLOOD_DROP_S)
            hconns = connections_from(hoarder, run.addr)
            log_lines("hoarder, as it saw gbt:", describe_connections(hconns, exit_t))

            # 6, 7. counters
            last = run.last_event("done") or next(
                (e for e in reversed(events) if "downloaded" in e), {})
            down = last.get("downloaded")
            tap.ok(down is not None and down < DOWNLOADED_BOUND,
                   "\"downloaded\" stays under %d MiB (%s, %s event)" % (
                       DOWNLOADED_BOUND // MiB,
                       "%.1f MiB" % (down / MiB) if down is not None else "none",
                       last.get("event")))
            wasted = last.get("wasted")
            tap.ok(wasted is not None and wasted < WASTED_BOUND,
                   "\"wasted\" stays under %d MiB (%s)" % (
                       WASTED_BOUND // MiB,
                       "%.1f MiB" % (wasted / MiB) if wasted is not None else "none"))

            # 8. CPU
            tap.ok(cpu is not None and cpu < CPU_BOUND,
                   "gbt's CPU time stays under %g s (%s, max RSS %s KiB)"
                   % (CPU_BOUND, "%.2f s" % cpu if cpu is not None else "unknown", rss))
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
