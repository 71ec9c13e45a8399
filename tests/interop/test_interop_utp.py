#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""uTP (BEP 29) against real clients on a loopback swarm.

  - a libtorrent seeder with TCP off (uTP only) to `gbt download
    --transports=utp`, one file and a tree;
  - `gbt seed --transports=utp` to a libtorrent leecher with TCP off, one
    file and a tree;
  - a transmission-cli seeder with utp-enabled to `gbt download
    --transports=utp`;
  - a mixed swarm: one libtorrent seeder TCP only, one uTP only, each
    capped so that neither can serve it all; gbt with its default
    transports gets data from both.

Each case checks the bytes, gbt's --json "peer_list" (the "transport" of
the peer at the other client's address) and, for libtorrent, its own
view of the connection (lt_peer.py STATS: "transport", from the
utp_socket flag), so a connection quietly carried over the wrong
transport fails.  The seeders are capped to take a couple of seconds, so
that gbt's --json progress lines (one a second) see the peer.  A libtorrent with TCP off still accepts TCP and resets
it at once: the uTP-only seeders also check that gbt falls back from
that to uTP.

INTEROP_LEECHER=libtorrent runs the same cases with libtorrent (uTP only,
or both transports in the mixed swarm) in gbt's place, seeder and
leecher, to check the fixtures themselves.

Exit: 0 pass, 1 fail (a missing or broken gbt, or a gbt without the
utp transport, too); TAP on stdout, a missing tool a TAP skip naming it.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.gbt import gbt_cli, leecher_kind  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree  # noqa: E402
from gbtinterop.peers import (gbt_seeder, gbt_uploaded, libtorrent_seeder,  # noqa: E402
                              start_leecher, stop_gbt, transmission_seeder)
from gbtinterop.procs import json_events, json_events_prefixed, peers_gone, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import Unmet, check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import make_torrent, single_file  # noqa: E402

KIND = leecher_kind()
TIMEOUT = 60           # one download, seconds
# Seeders are capped to move a torrent in about this many seconds, so
# that gbt's --json progress lines (one a second) see the peer connected.
SPREAD = 2.5
TRANSMISSION_TIMEOUT = 180

TREE = [
    ("a.bin", 300_001),
    ("sub/b.bin", MiB + 5),
    ("sub/deeper/c.txt", 70_000),
    ("empty.dat", 0),
    ("données/ファイル.bin", 2 * MiB + 777),
    ("z-last.bin", 123_457),
]


def tree(sw, piece_length, seed, name="tree"):
    src = make_tree(sw.path("src", name), TREE, seed)
    info = make_torrent(src, sw.path(name + ".torrent"), sw.announce_url, piece_length)
    return src, sw.path("src"), info


# ---------------------------------------------------------------- who used what


def gbt_transports(events, addr):
    """The transports gbt's --json "peer_list" ever named for a peer at IP
    @addr (any port: an outgoing TCP connection has a port of its own)."""
    seen = set()
    for e in events:
        for p in e.get("peer_list") or ():
            a = p.get("address") or ""
            if a.rsplit(":", 1)[0].strip("[]") == addr:
                seen.add(p.get("transport"))
    return seen


def lt_transports(peer, addr):
    """The transports over which a libtorrent peer (lt_peer.py
    --peer-events) got past the handshake with a peer at IP @addr."""
    return set(e.get("transport") for e in json_events_prefixed(peer.proc, "PEER ")
               if e.get("ip") == addr and e.get("connected"))


def expect_only(what, seen, want):
    """None when @seen is exactly {@want}, else what is wrong."""
    if seen == {want}:
        return None
    if not seen:
        return "%s never listed the peer" % what
    return "%s says transport(s) %s, expected only %s" % (what, sorted(map(str, seen)), want)


# ---------------------------------------------------------------- cases


def leecher_transports(run, addr):
    """What the downloader under test says it used to reach IP @addr."""
    if run.kind == "gbt":
        return "gbt's --json peer_list", gbt_transports(run.events(), addr)
    return "the libtorrent leecher", lt_transports(run, addr)


def start_utp_leecher(sw, info, out, transports):
    if KIND == "libtorrent":
        return start_leecher(sw, info, out, kind="libtorrent",
                             lt_args=["--transports", transports or "tcp,utp", "--peer-events"])
    return start_leecher(sw, info, out, kind="gbt",
                         gbt_args=["--transports=" + transports] if transports else [])


def gbt_downloads(sw, info, src, seeder, timeout=TIMEOUT, lt=True):
    """`gbt download --transports=utp` from @seeder; returns the list of
    problems (empty: passed)."""
    out = sw.path("out")
    run = start_utp_leecher(sw, info, out, "utp")
    rc = run.wait(timeout)
    if rc != 0:
        diag = ["%s exited %s after %.1f s" % (run.kind, rc, run.elapsed), run.proc.log_tail(10)]
        if lt:
            diag += ["the libtorrent seeder's dropped peers:", peers_gone(seeder)]
        return diag
    diag = compare_tree(src, out)[:20]
    if run.kind == "gbt" and run.last_event("done") is None:
        diag.append("no {\"event\": \"done\"} line in --json output")
    log("%s: %.1f MiB in %.2f s over uTP" % (run.kind, info.total_size / MiB, run.elapsed))
    problem = expect_only(*leecher_transports(run, seeder.addr), "utp")
    if problem:
        diag.append(problem)
    if lt:
        problem = expect_only("the libtorrent seeder", lt_transports(seeder, run.addr), "utp")
        if problem:
            diag.append(problem)
    return diag


def lt_downloads_from_gbt(sw, info, src, data_dir, timeout=TIMEOUT):
    """`gbt seed --transports=utp`, then a libtorrent leecher with TCP off;
    returns the list of problems."""
    cap = int(info.total_size / SPREAD)
    if KIND == "libtorrent":
        seeder = libtorrent_seeder(sw, info, data_dir, transports="utp", peer_events=True,
                                   upload_limit=cap)
    else:
        seeder = gbt_seeder(sw, info, data_dir,
                            extra=["--transports=utp", "--max-up", "%dK" % (cap // 1024)])
    out = sw.path("out")
    run = start_leecher(sw, info, out, kind="libtorrent",
                        lt_args=["--transports", "utp", "--peer-events"])
    rc = run.wait(timeout)
    if rc != 0:
        return ["libtorrent leecher exited %s after %.1f s" % (rc, run.elapsed),
                run.proc.log_tail(5), "its dropped peers:", peers_gone(run),
                "%s seed:" % seeder.kind, seeder.proc.log_tail(5)]
    diag = compare_tree(src, out)[:20]
    log("libtorrent: %.1f MiB in %.2f s from gbt over uTP" % (info.total_size / MiB, run.elapsed))
    problem = expect_only("the libtorrent leecher", lt_transports(run, seeder.addr), "utp")
    if problem:
        diag.append(problem)
    if seeder.kind != "gbt":
        return diag
    # gbt's own view: a progress line comes each second, so wait for one
    # naming the leecher (it may have gone since: then the lines before)
    wait_for(lambda: gbt_transports(json_events(seeder.proc), run.addr), 5, step=0.1)
    rc = stop_gbt(seeder)
    # the count of its last line, "stopped" (a progress line, once a
    # second, may predate the last blocks)
    sent = gbt_uploaded(seeder.proc)
    if rc != 0:
        diag.append("gbt seed exited %s on SIGTERM" % rc)
    problem = expect_only("gbt seed's --json peer_list",
                          gbt_transports(json_events(seeder.proc), run.addr), "utp")
    if problem:
        diag.append(problem)
    if sent < info.total_size:
        diag.append("gbt seed says it uploaded %d bytes of %d" % (sent, info.total_size))
    return diag


def case_lt_seeds_single(tap):
    with Swarm("utp-lt-single") as sw:
        src, parent, info = single_file(sw, 8 * MiB + 4321, 256 * KiB, 1)
        seeder = libtorrent_seeder(sw, info, parent, transports="utp", peer_events=True,
                                   upload_limit=int(info.total_size / SPREAD))
        diag = gbt_downloads(sw, info, src, seeder)
        tap.ok(not diag, "gbt --transports=utp downloads one file from a uTP-only libtorrent",
               "\n".join(diag))


def case_lt_seeds_tree(tap):
    with Swarm("utp-lt-tree") as sw:
        src, parent, info = tree(sw, 64 * KiB, 2)
        seeder = libtorrent_seeder(sw, info, parent, transports="utp", peer_events=True,
                                   upload_limit=int(info.total_size / SPREAD))
        diag = gbt_downloads(sw, info, src, seeder)
        tap.ok(not diag, "gbt --transports=utp downloads a tree from a uTP-only libtorrent",
               "\n".join(diag))


def case_gbt_seeds_single(tap):
    with Swarm("utp-gbt-single") as sw:
        src, parent, info = single_file(sw, 8 * MiB + 999, 256 * KiB, 3)
        diag = lt_downloads_from_gbt(sw, info, src, parent)
        tap.ok(not diag, "a uTP-only libtorrent downloads one file from gbt seed --transports=utp",
               "\n".join(diag))


def case_gbt_seeds_tree(tap):
    with Swarm("utp-gbt-tree") as sw:
        src, parent, info = tree(sw, 32 * KiB, 4)
        diag = lt_downloads_from_gbt(sw, info, src, parent)
        tap.ok(not diag, "a uTP-only libtorrent downloads a tree from gbt seed --transports=utp",
               "\n".join(diag))


def case_transmission_seeds(tap):
    desc = "gbt --transports=utp downloads from transmission-cli (utp-enabled)"
    if shutil.which("transmission-cli") is None:
        tap.skip(desc, "transmission-cli is not installed (scripts/install-deps)")
        return
    with Swarm("utp-tr") as sw:
        src, parent, info = single_file(sw, 6 * MiB + 17, 256 * KiB, 5)
        seeder = transmission_seeder(sw, info, parent, timeout=TRANSMISSION_TIMEOUT, utp=True)
        diag = gbt_downloads(sw, info, src, seeder, timeout=TRANSMISSION_TIMEOUT, lt=False)
        tap.ok(not diag, desc, "\n".join(diag))


def case_mixed_swarm(tap):
    """A TCP-only and a uTP-only libtorrent seeder, each capped: gbt with
    its default transports reaches both, each over the one it speaks."""
    with Swarm("utp-mixed") as sw:
        src, parent, info = single_file(sw, 12 * MiB + 77, 256 * KiB, 6)
        limit = 2 * MiB
        tcp_seed = libtorrent_seeder(sw, info, sw.copy_source(src, "tcp"), upload_limit=limit,
                                     transports="tcp", name="lt-seed-tcp", peer_events=True)
        utp_seed = libtorrent_seeder(sw, info, sw.copy_source(src, "utp"), upload_limit=limit,
                                     transports="utp", name="lt-seed-utp", peer_events=True)
        out = sw.path("out")
        run = start_utp_leecher(sw, info, out, None)
        rc = run.wait(TIMEOUT)
        diag = []
        if rc != 0:
            diag += ["%s exited %s after %.1f s" % (run.kind, rc, run.elapsed),
                     run.proc.log_tail(20)]
        else:
            diag += compare_tree(src, out)[:20]
            log("%s: %.1f MiB in %.2f s from both" % (run.kind, info.total_size / MiB,
                                                      run.elapsed))
            for seeder, want in ((tcp_seed, "tcp"), (utp_seed, "utp")):
                for what, seen in (leecher_transports(run, seeder.addr),
                                   ("the %s-only seeder" % want, lt_transports(seeder, run.addr))):
                    problem = expect_only(what + " (%s-only seeder)" % want, seen, want)
                    if problem:
                        diag.append(problem)
                sent = seeder.settled_stat("uploaded")
                log("the %s-only seeder sent %s bytes" % (want, sent))
                if not sent:
                    diag.append("the %s-only seeder sent nothing" % want)
        tap.ok(not diag, "mixed swarm: gbt (default transports) gets data from a TCP-only and "
               "a uTP-only libtorrent", "\n".join(diag))


CASES = [case_lt_seeds_single, case_lt_seeds_tree, case_gbt_seeds_single, case_gbt_seeds_tree,
         case_transmission_seeds, case_mixed_swarm]
# GBT_INTEROP_SUBSET=1 (the ASan pass): the multi-file torrents both ways
# (the single-file ones take the same uTP paths), transmission, the mixed swarm.
SUBSET = [case_lt_seeds_tree, case_gbt_seeds_tree, case_transmission_seeds, case_mixed_swarm]
# transmission-cli waits on its own timers (10 s rechoke): alongside the
# others, and the mixed swarm alongside it
BACKGROUND = [case_transmission_seeds, case_mixed_swarm]


def utp_transport_missing():
    """None when `gbt plugins` lists transport:utp, else why not."""
    try:
        r = subprocess.run([gbt_cli(), "plugins"], timeout=30, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    except (OSError, subprocess.SubprocessError) as e:
        return "gbt plugins: %s" % e
    text = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or "transport:utp" not in text:
        return "gbt has no utp transport (gbt plugins exits %d):\n%s" % (r.returncode, text)
    return None


def main():
    if KIND == "aria2":
        return Unmet("aria2c speaks no uTP: INTEROP_LEECHER=gbt or libtorrent", skip=True).report()
    unmet = check_prerequisites(gbt_commands=("download", "seed") if KIND == "gbt" else ())
    if unmet is None and KIND == "gbt":
        missing = utp_transport_missing()
        if missing:
            unmet = Unmet(missing, skip=False)
    return run_cases(CASES, unmet, subset=SUBSET, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
