#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`gbt download MAGNET`: the metadata from real peers (BEP 9), then the data.

Each case starts seeders that have the .torrent (libtorrent, aria2c,
transmission-cli, gbt itself, a hostile peer), hands gbt only a magnet link
(trackers with tr=, peers with x.pe=) and checks exit status 0, a
"metadata" --json event and a byte-identical tree.  Info dictionaries
over 16 KiB (two ut_metadata blocks) come from two seeders at once; a
peer serving a corrupt dictionary must not stop the download, and alone
it is dropped and the download fails with a clear reason.

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import base64
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree  # noqa: E402
from gbtinterop.peers import (aria2_seeder, gbt_seeder, liar_peer, liar_events,  # noqa: E402
                              libtorrent_seeder, start_leecher, transmission_seeder)
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import make_torrent, single_file  # noqa: E402

TIMEOUT = 90
TREE = [("a.bin", 3 * MiB + 11), ("b/c.bin", 5 * MiB + 3), ("d.txt", 70_000)]


def magnet(info, trackers=(), peers=(), base32=False, extra=""):
    xt = base64.b32encode(info.info_hash).decode() if base32 else info.hex
    parts = ["xt=urn:btih:" + xt, "dn=" + urllib.parse.quote(info.name)]
    parts += ["tr=" + urllib.parse.quote(t, safe="") for t in trackers]
    parts += ["x.pe=%s:%d" % (p.addr, p.port) for p in peers]
    return "magnet:?" + "&".join(parts) + extra


def fetch(sw, link, out, args=(), timeout=TIMEOUT, name="magnet"):
    """Runs gbt download LINK; returns (exit status, JSON events, process)."""
    run = start_leecher(sw, None, out, kind="gbt", name=name, gbt_args=args, link=link)
    rc = run.wait(timeout)
    return rc, run.events(), run.proc


def check(tap, what, rc, evs, p, src, out, name=None):
    diag = []
    if rc != 0:
        diag.append("gbt exited %s:\n%s" % (rc, p.log_tail(25)))
    else:
        meta = [e for e in evs if e.get("event") == "metadata"]
        if not meta:
            diag.append("no \"metadata\" event")
        if not any(e.get("event") == "done" for e in evs):
            diag.append("no \"done\" event")
        diag += compare_tree(src, out, name)[:10]
    tap.ok(not diag, what, "\n".join(diag))


def case_libtorrent_tracker(tap):
    """The common case: a tracker in the link, a libtorrent seeder."""
    with Swarm("magnet-lt") as sw:
        src, parent, info = single_file(sw, 6 * MiB + 99, 64 * KiB, 41)
        libtorrent_seeder(sw, info, parent)
        out = sw.path("out")
        rc, evs, p = fetch(sw, magnet(info, [sw.announce_url], base32=True), out)
        check(tap, "magnet (base32, tr=) from a libtorrent seeder found by the tracker",
              rc, evs, p, src, out)
        # again, with no tracker and no peer: the dictionary kept by the
        # first run and the verified data are all it needs
        rc, evs, p = fetch(sw, magnet(info), out, timeout=30, name="magnet-again")
        check(tap, "the same magnet again, with no peer at all: the kept metadata and data",
              rc, evs, p, src, out)


def case_two_blocks_two_seeders(tap):
    """A 25 KiB info dictionary (two blocks) from libtorrent and gbt, by x.pe."""
    with Swarm("magnet-two") as sw:
        src, parent, info = single_file(sw, 20 * MiB, 16 * KiB, 42)
        log("info dictionary: %d bytes" % len(info.info_raw))
        lt = libtorrent_seeder(sw, info, parent)
        mine = gbt_seeder(sw, info, sw.copy_source(src, "gbt"))
        out = sw.path("out")
        rc, evs, p = fetch(sw, magnet(info, peers=[lt, mine]), out)
        check(tap, "two-block metadata from a libtorrent and a gbt seeder given by x.pe",
              rc, evs, p, src, out)


def case_aria2_select(tap):
    """A multi-file magnet with so= (BEP 53): only the chosen files."""
    with Swarm("magnet-aria2") as sw:
        src = make_tree(sw.path("src", "tree"), TREE, 43)
        info = make_torrent(src, sw.path("tree.torrent"), sw.announce_url, 64 * KiB)
        seeder = aria2_seeder(sw, info, sw.path("src"))
        out = sw.path("out")
        rc, evs, p = fetch(sw, magnet(info, peers=[seeder], extra="&so=0,2"), out)
        diag = []
        if rc != 0:
            diag.append("gbt exited %s:\n%s" % (rc, p.log_tail(25)))
        else:
            for rel, want in (("a.bin", True), ("d.txt", True), ("b/c.bin", False)):
                got = os.path.join(out, "tree", rel)
                same = (os.path.exists(got) and os.path.getsize(got) == os.path.getsize(
                    os.path.join(src, rel)) and open(got, "rb").read() == open(
                    os.path.join(src, rel), "rb").read())
                if want and not same:
                    diag.append("%s: not downloaded correctly" % rel)
                if not want and same:
                    diag.append("%s: downloaded though so= left it out" % rel)
        tap.ok(not diag, "multi-file magnet with so=0,2 from an aria2 seeder", "\n".join(diag))


def case_transmission(tap):
    with Swarm("magnet-tr") as sw:
        src = make_tree(sw.path("src", "tree"), TREE, 44)
        info = make_torrent(src, sw.path("tree.torrent"), sw.announce_url, 128 * KiB)
        transmission_seeder(sw, info, sw.path("src"))
        out = sw.path("out")
        rc, evs, p = fetch(sw, magnet(info, [sw.announce_url]), out, timeout=150)
        check(tap, "magnet from a transmission seeder found by the tracker", rc, evs, p,
              src, out, "tree")


def case_bad_metadata_and_good_seeder(tap):
    """A liar's corrupt dictionary fails the hash; the real one wins."""
    with Swarm("magnet-liar") as sw:
        src, parent, info = single_file(sw, 20 * MiB, 16 * KiB, 45)
        liar = liar_peer(sw, info, "bad-metadata")
        libtorrent_seeder(sw, info, parent)
        out = sw.path("out")
        # the liar by x.pe is dialled at once; libtorrent, from the tracker,
        # comes a moment later: the liar is usually asked first
        rc, evs, p = fetch(sw, magnet(info, [sw.announce_url], peers=[liar]), out)
        lies = [e for e in liar_events(liar) if e.get("ev") == "lie"]
        log("the liar served %d corrupt blocks" % len(lies))
        check(tap, "a peer serving corrupt metadata does not stop the download", rc, evs, p,
              src, out)


def case_bad_metadata_alone(tap):
    """With only the liar: it is dropped, and gbt gives up with a reason."""
    with Swarm("magnet-liar-only") as sw:
        _, _, info = single_file(sw, 2 * MiB, 16 * KiB, 46)
        liar = liar_peer(sw, info, "bad-metadata")
        out = sw.path("out")
        rc, evs, p = fetch(sw, magnet(info, peers=[liar]), out, args=["--idle-timeout", "8"],
                           timeout=60)
        diag = []
        evs_l = liar_events(liar)
        dropped = [e for e in evs_l if e.get("ev") == "closed" and e.get("by") == "remote"
                   and e.get("lies", 0) > 0]
        if rc != 1:
            diag.append("gbt exited %s, not 1:\n%s" % (rc, p.log_tail(15)))
        if "no peer sent the metadata" not in p.log_tail(40):
            diag.append("no clear reason printed:\n" + p.log_tail(15))
        if not dropped:
            diag.append("gbt never dropped the peer that served corrupt metadata: %s" % evs_l)
        if any(e.get("event") == "metadata" for e in evs):
            diag.append("gbt took the corrupt metadata")
        tap.ok(not diag, "a peer alone serving corrupt metadata is dropped; exit 1 with a reason",
               "\n".join(diag))


CASES = [case_libtorrent_tracker, case_two_blocks_two_seeders, case_aria2_select,
         case_transmission, case_bad_metadata_and_good_seeder, case_bad_metadata_alone]
# transmission-cli waits on its own timers (10 s rechoke): alongside the others
BACKGROUND = [case_transmission]


def main():
    unmet = check_prerequisites("gbt")
    return run_cases(CASES, unmet, plan=len(CASES) + 2, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
