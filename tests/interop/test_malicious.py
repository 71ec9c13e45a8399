#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`gbt download` against hostile peers.

One honest libtorrent seeder (rate-limited, so the download lasts a few
seconds) and five liars from malicious_peer.py share a tracker: corrupt
blocks, out-of-range piece indices, a ~2 GiB length prefix, a wrong
info-hash in the handshake, and a bitfield with spare bits set.  gbt must
finish with the right bytes and drop every liar while it runs, as seen from
the liar's side; after corrupt data it must not keep coming back.  A sixth
peer claims every piece and unchokes, then answers no request: the blocks
it holds must be fetched elsewhere, within the time bound.

INTEROP_LEECHER=aria2|libtorrent runs the same swarm with that client; the
checks it does not pass are reported as TODO (they describe gbt's contract,
not theirs).

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.gbt import leecher_kind  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import liar_peer, liar_events, libtorrent_seeder, start_leecher  # noqa: E402
from gbtinterop.procs import leftover_processes, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, Tap  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

KIND = leecher_kind()
MODES = ["corrupt", "bad-index", "oversized", "wrong-hash", "spare-bits"]
# the liars whose lie is a malformed message: gbt must report dropping them
MALFORMED = ["bad-index", "oversized"]
# How many connections to a liar of bad data are tolerated before the ban
# must hold (a reconnect or two while the ban is decided is fine).
MAX_CORRUPT_CONNECTIONS = 3
DROP_MARGIN = 0.5


def downloader_conns_closed(liar, others):
    """True when every connection the liar accepted from the downloader
    (not from the other peers) has its "closed" line."""
    evs = liar_events(liar)
    opened = {e["conn"] for e in evs if e["ev"] == "accept"
              and e["peer"].rsplit(":", 1)[0] not in others}
    closed = {e["conn"] for e in evs if e["ev"] == "closed"}
    return opened <= closed


def judge(tap, mode, evs, exit_time, others, todo):
    """others: addresses of peers that are not the downloader (the seeder
    dials the liars too, seeder to seeder, and hangs up by itself)."""
    conns = {}
    for e in evs:
        if e["ev"] == "accept" and e["peer"].rsplit(":", 1)[0] not in others:
            conns[e["conn"]] = {"peer": e["peer"], "handshake": False, "closed": None, "lies": 0}
        elif e["ev"] == "handshake" and e["conn"] in conns:
            conns[e["conn"]]["handshake"] = True
        elif e["ev"] == "closed" and e["conn"] in conns:
            conns[e["conn"]]["closed"] = e
    talked = [c for c in conns.values() if c["handshake"]]
    lied = [c for c in talked if c["closed"] and c["closed"]["lies"] > 0]
    # Dropped by the downloader while it still had work to do, not in its
    # exit path.
    dropped = [c for c in lied
               if c["closed"]["by"] == "remote" and c["closed"]["t"] < exit_time - DROP_MARGIN]
    for c in conns.values():
        cl = c["closed"]
        log("  %s: from %s, handshake %s, %s" % (
            mode, c["peer"], c["handshake"],
            "closed by %s %.2f s before exit after %d lies" % (cl["by"], exit_time - cl["t"], cl["lies"])
            if cl else "still open"))
    summary = "%d connection(s), %d handshaken, %d lied to, %d dropped by %s while running" % (
        len(conns), len(talked), len(lied), len(dropped), KIND)
    log("%s liar: %s" % (mode, summary))
    if not talked:
        tap.ok(False, "%s: %s met the liar" % (mode, KIND), summary)
        return
    if mode == "corrupt":
        ok = bool(dropped) and len(conns) <= MAX_CORRUPT_CONNECTIONS
        tap.ok(ok, "corrupt data: %s disconnects the liar and stops coming back" % KIND,
               summary, todo)
    else:
        # Every connection where the liar lied must end from the other side.
        ok = bool(lied) and len(dropped) == len(lied)
        tap.ok(ok, "%s: %s drops the connection" % (mode, KIND), summary, todo)


def main():
    unmet = check_prerequisites()
    if unmet:
        return unmet.report()
    tap = Tap(3 + len(MODES) + 1)
    todo = None if KIND == "gbt" else "checked for gbt; informative for %s" % KIND
    try:
        with Swarm("liars") as sw:
            # 98 pieces of 64 KiB: the bitfield's last byte has 6 spare bits.
            src, src_dir, info = single_file(sw, 6 * MiB + 100 * KiB, 64 * KiB, 11, "bait.bin")
            assert info.num_pieces % 8 != 0
            liars = {m: liar_peer(sw, info, m) for m in MODES}
            staller = liar_peer(sw, info, "stall", hold=120)
            seeder = libtorrent_seeder(sw, info, src_dir, upload_limit=2 * MiB)
            others = {seeder.addr, staller.addr} | {p.addr for p in liars.values()}
            # -v: dropped and banned peers also said in words on stderr
            run = start_leecher(sw, info, sw.path("out"),
                                gbt_args=("-v",) if KIND == "gbt" else ())
            rc = run.wait(120)
            exit_time = time.time()
            # the liars log their side of the last closes: every connection
            # the downloader opened is over once it exited
            if not wait_for(lambda: all(downloader_conns_closed(liars[m], others) for m in MODES),
                            15):
                log("some liar still holds a connection from the downloader 15 s after it exited")
            diffs = compare_tree(src, sw.path("out")) if rc == 0 else []
            tap.ok(rc == 0 and not diffs,
                   "%s completes with correct bytes among liars" % KIND,
                   "exit %s\n%s\n%s" % (rc, "\n".join(diffs), run.proc.log_tail()))
            for m in MODES:
                judge(tap, m, liar_events(liars[m]), exit_time, others, todo)
            stalled = [e for e in liar_events(staller) if e.get("ev") == "lie"]
            log("the staller took %d requests and answered none" % len(stalled))
            if KIND == "gbt":
                bans = [e for e in run.events() if e.get("event") == "peer-banned"]
                log("gbt reported %d peer-banned event(s)" % len(bans))
                for b in bans:
                    log("  peer-banned %s (%s): %s" % (b.get("address"), b.get("client"),
                                                      b.get("reason")))
            # A malformed message (a piece index past the end, a 2 GiB length
            # prefix) gets the sender dropped, and --json says who and why.
            drops = [e for e in run.events() if e.get("event") == "peer-dropped"]
            for e in drops:
                log("  peer-dropped %s (%s): %s" % (e.get("address"), e.get("client"),
                                                   e.get("reason")))
            missing = []
            for m in MALFORMED:
                want = "%s:%d" % (liars[m].addr, liars[m].port)
                got = [e for e in drops if e.get("address") == want
                       and isinstance(e.get("reason"), str) and e["reason"].strip()
                       and "client" in e]
                if not got:
                    missing.append("%s liar (%s)" % (m, want))
            if KIND == "gbt":
                with open(run.proc.log_path, errors="replace") as f:
                    said = f.read()
                for m in MALFORMED:
                    want = "peer %s:%d dropped: " % (liars[m].addr, liars[m].port)
                    if want not in said:
                        missing.append("%s liar on stderr (-v): no line with %r" % (m, want))
            tap.ok(KIND == "gbt" and rc == 0 and not missing,
                   "--json has a peer-dropped event with address and reason for each "
                   "malformed-message liar, -v says it on stderr, and the download completes",
                   "no peer-dropped event for: %s" % ", ".join(missing), todo)
            # The honest seeder must not have been punished for the liars.
            tap.ok(rc == 0 and run.elapsed < 100,
                   "download time stays bounded (%.1f s)" % (run.elapsed or -1))
    except Exception:
        tap.diag(traceback.format_exc())
    left = leftover_processes()
    while tap.n < tap.plan - 1:
        tap.ok(False, "case did not run")
    tap.ok(not left, "no fixture process left behind", "\n".join(left))
    return tap.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    sys.exit(main())
