#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Peer exchange (BEP 11, the optional `pex` plugin) with libtorrent.

Learning: a libtorrent seeder A and a second downloader B connected to it
(a gbt without the pex plugin, so that it cannot hear of the gbt under
test and dial it first).  `gbt --plugins=pex download` gets a magnet link that
names only A (x.pe, no tracker); B's address can reach gbt only in A's
ut_pex message.  gbt must connect to B (its --json "peer_sources" counts a
peer from "pex") and complete the download.

Telling: `gbt --plugins=pex seed`, a libtorrent leecher D that knows only
gbt and has no ut_pex (so it tells nobody of anybody), and a libtorrent
leecher C that knows only gbt (no tracker).  C can learn D only from gbt's
ut_pex message: C's peer list must show D with source "pex".

A peer whose ut_pex message is malformed is dropped.

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import (gbt_seeder, liar_peer, liar_events, libtorrent_peer,  # noqa: E402
                              libtorrent_seeder, start_leecher)
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

TIMEOUT = 90


def magnet(info, peer):
    return "magnet:?xt=urn:btih:%s&x.pe=%s:%d" % (info.hex, peer.addr, peer.port)


def case_learn(tap):
    with Swarm("pex-learn") as sw:
        src, parent, info = single_file(sw, 4 * MiB, 64 * KiB, 51)
        a = libtorrent_seeder(sw, info, parent, upload_limit=768 * KiB)
        # B: another downloader, a gbt without the pex plugin (so it cannot
        # hear of the gbt under test from A and dial it first), slow enough
        # to stay a leecher (finished, A would drop it: seeds do not keep
        # seeds).  It tells A where it listens ("p"), so A's ut_pex lists it.
        start_leecher(sw, info, sw.path("b"), kind="gbt", name="b", link=magnet(info, a),
                      gbt_args=["--max-down", "192K"])
        # Connected is not enough: A lists B in ut_pex only once B's extension
        # handshake told A where B listens, and A sends its first (full)
        # list to gbt at once, then only changes, once a minute.  B sends
        # that handshake before asking for data: A's upload counter moving
        # means A has read it.
        if not wait_for(lambda: (a.stats() or {}).get("uploaded", 0) > 0, 30):
            raise RuntimeError("the second downloader never got data from the seeder")
        run = start_leecher(sw, info, sw.path("out"), kind="gbt", name="pex",
                            link=magnet(info, a), plugins=["pex"])
        rc = run.wait(TIMEOUT)
        diag = []
        if rc != 0:
            diag.append("gbt exited %s:\n%s" % (rc, run.proc.log_tail(20)))
        else:
            diag += compare_tree(src, sw.path("out"))[:10]
        evs = run.events()
        n = max((e.get("peer_sources", {}).get("pex", 0) for e in evs), default=0)
        log("gbt's most peers from pex at once: %d; peer sources seen: %s"
            % (n, sorted({json.dumps(e.get("peer_sources"), sort_keys=True) for e in evs})))
        if n < 1:
            diag.append("no peer from pex in gbt's --json peer_sources")
        tap.ok(not diag, "gbt learns a libtorrent peer from libtorrent's ut_pex", "\n".join(diag))


def case_tell(tap):
    with Swarm("pex-tell") as sw:
        src, parent, info = single_file(sw, 8 * MiB, 64 * KiB, 52)
        s = gbt_seeder(sw, info, parent, name="gbt-seed-pex", plugins=["pex"],
                          extra=["--max-up", "1MiB"])
        peer = "%s:%d" % (s.addr, s.port)
        d = libtorrent_peer(sw, info, sw.path("d"), leech=True, keep_seeding=True, name="lt-d",
                               extra=["--no-tracker", "--no-pex", "--peer", peer])
        c = libtorrent_peer(sw, info, sw.path("c"), leech=True, keep_seeding=True, name="lt-c",
                               extra=["--no-tracker", "--peer", peer])

        def c_met_d():
            for e in (c.stats() or {}).get("peers", []):
                if e["ip"] == d.addr and "pex" in e["sources"]:
                    return e
            return None

        met = wait_for(c_met_d, 30)
        st = c.stats() or {}
        tap.ok(met is not None, "libtorrent learns a peer from gbt's ut_pex",
               "C's peers: %s" % json.dumps(st.get("peers")))


def case_malformed(tap):
    """A peer whose ut_pex message is not whole 6-byte entries is dropped."""
    with Swarm("pex-bad") as sw:
        src, parent, info = single_file(sw, 2 * MiB, 64 * KiB, 53)
        liar = liar_peer(sw, info, "bad-pex")
        libtorrent_seeder(sw, info, parent)
        run = start_leecher(sw, info, sw.path("out"), kind="gbt", name="pex-bad", plugins=["pex"])
        rc = run.wait(TIMEOUT)
        evs = liar_events(liar)
        # libtorrent (announced by the same tracker) meets the liar too
        ours = {e["conn"] for e in evs if e.get("ev") == "handshake"
                and e.get("peer_id", "").startswith("-GB")}
        lied = [e["conn"] for e in evs if e.get("ev") == "lie" and e["conn"] in ours]
        dropped = [e for e in evs if e.get("ev") == "closed" and e.get("conn") in lied
                   and e.get("by") == "remote"]
        diag = []
        if rc != 0:
            diag.append("gbt exited %s:\n%s" % (rc, run.proc.log_tail(15)))
        if not lied:
            diag.append("the bad peer never got to send its message: %s" % evs)
        elif len(dropped) < len(lied):
            diag.append("gbt kept a peer that sent a malformed ut_pex message: %s" % evs)
        tap.ok(not diag, "a malformed ut_pex message drops the peer; the download completes",
               "\n".join(diag))


CASES = [case_learn, case_tell, case_malformed]


def main():
    unmet = check_prerequisites("gbt")
    return run_cases(CASES, unmet)


if __name__ == "__main__":
    sys.exit(main())
