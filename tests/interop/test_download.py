#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Downloads with `gbt download` from real seeders on a loopback swarm.

Each case starts an opentracker and seeders (libtorrent, aria2c,
transmission-cli), runs `$GBT_CLI download T -o OUT --json` with a bound,
and checks exit status 0 and a byte-identical tree.  The last case kills
gbt halfway and checks that a second run completes without fetching
everything again.

INTEROP_LEECHER=aria2 or =libtorrent runs the same cases with that client
as the downloader, to check the fixtures themselves.

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.bencode import bdecode  # noqa: E402
from gbtinterop.gbt import leecher_kind  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree, write_random_file  # noqa: E402
from gbtinterop.peers import (aria2_seeder, libtorrent_seeder, start_leecher,  # noqa: E402
                              transmission_seeder)
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import make_torrent, mktorrent, single_file  # noqa: E402

KIND = leecher_kind()
TIMEOUT = 90           # one download, seconds
TRANSMISSION_TIMEOUT = 180

TREE = [
    ("a.bin", 300_001),
    ("sub/b.bin", MiB + 5),
    ("sub/deeper/c.txt", 70_000),
    ("empty.dat", 0),
    ("données/ファイル.bin", 2 * MiB + 777),
    ("z-last.bin", 123_457),
]


def download(sw, info, src, timeout=TIMEOUT, out_name="out"):
    """Runs the leecher; returns (ok, diagnostics)."""
    out = sw.path(out_name)
    run = start_leecher(sw, info, out)
    rc = run.wait(timeout)
    diag = []
    if rc != 0:
        diag.append("%s exited %s after %.1f s" % (KIND, rc, run.elapsed))
        diag.append(run.proc.log_tail(20))
        return False, "\n".join(diag), run
    diffs = compare_tree(src, out)
    if diffs:
        return False, "\n".join(diffs[:20]), run
    if KIND == "gbt":
        done = run.last_event("done")
        if done is None:
            return False, "no {\"event\": \"done\"} line in --json output", run
        # the resume data on exit names every piece (a restart hashes nothing)
        resume = os.path.join(out, ".gbt", info.hex + ".resume")
        try:
            with open(resume, "rb") as f:
                pieces = bdecode(f.read())[0][b"pieces"]
        except (OSError, KeyError, ValueError) as e:
            return False, "no usable resume data at exit: %s" % e, run
        had = sum(bin(b).count("1") for b in pieces)
        if had != info.num_pieces:
            return False, "resume data at exit names %d of %d pieces" % (had, info.num_pieces), run
    log("%s: %.1f MiB in %.2f s" % (KIND, info.total_size / MiB, run.elapsed))
    return True, None, run


def tree(sw, piece_length, seed, name="tree"):
    src = make_tree(sw.path("src", name), TREE, seed)
    info = make_torrent(src, sw.path(name + ".torrent"), sw.announce_url, piece_length)
    return src, sw.path("src"), info


# ---------------------------------------------------------------- cases


def case_single(tap):
    with Swarm("single") as sw:
        src, parent, info = single_file(sw, 8 * MiB + 4321, 256 * KiB, 1)
        libtorrent_seeder(sw, info, parent)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "single file, 256 KiB pieces, short last piece, libtorrent seeder", diag)


def case_tree(tap):
    with Swarm("tree") as sw:
        src, parent, info = tree(sw, 64 * KiB, 2)
        assert info.total_size % info.piece_length != 0
        libtorrent_seeder(sw, info, parent)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "multi-file: nested dirs, empty file, UTF-8 name, libtorrent seeder", diag)


def case_16k(tap):
    with Swarm("p16k") as sw:
        src, parent, info = single_file(sw, 4 * MiB + 1000, 16 * KiB, 3)
        libtorrent_seeder(sw, info, parent)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "16 KiB pieces (%d pieces)" % info.num_pieces, diag)


def case_4m(tap):
    with Swarm("p4m") as sw:
        src, parent, info = single_file(sw, 20 * MiB + 12345, 4 * MiB, 4)
        libtorrent_seeder(sw, info, parent)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "4 MiB pieces (%d pieces, last %d bytes)"
               % (info.num_pieces, info.piece_size(info.num_pieces - 1)), diag)


def case_mktorrent(tap):
    with Swarm("mktorrent") as sw:
        src_dir = sw.path("src")
        os.makedirs(src_dir)
        src = write_random_file(os.path.join(src_dir, "mk.bin"), 3 * MiB + 99, 5)
        info = mktorrent(src, sw.path("mk.torrent"), sw.announce_url, 32 * KiB)
        ours = make_torrent(src, sw.path("ours.torrent"), sw.announce_url, 32 * KiB)
        if info.hex != ours.hex:
            tap.ok(False, "torrent made by mktorrent (32 KiB pieces)",
                   "fixture bug: built-in bencoder info-hash %s != mktorrent's %s"
                   % (ours.hex, info.hex))
            return
        libtorrent_seeder(sw, info, src_dir)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "torrent made by mktorrent (32 KiB pieces)", diag)


def case_aria2_seeder(tap):
    with Swarm("aria2seed") as sw:
        src, parent, info = tree(sw, 128 * KiB, 6)
        aria2_seeder(sw, info, parent)
        ok, diag, _ = download(sw, info, src)
        tap.ok(ok, "multi-file from an aria2c seeder alone", diag)


def case_transmission_seeder(tap):
    with Swarm("trseed") as sw:
        src, parent, info = single_file(sw, 6 * MiB + 17, 256 * KiB, 7)
        transmission_seeder(sw, info, parent, timeout=TRANSMISSION_TIMEOUT)
        ok, diag, _ = download(sw, info, src, timeout=TRANSMISSION_TIMEOUT)
        tap.ok(ok, "single file from a transmission-cli seeder alone", diag)


def case_all_three(tap):
    with Swarm("three") as sw:
        src, parent, info = single_file(sw, 24 * MiB + 5555, 256 * KiB, 8)
        # Each seeder capped, so no single one can serve it all at once.
        limit = 4 * MiB
        lt_seed = libtorrent_seeder(sw, info, sw.copy_source(src, "lt"), upload_limit=limit)
        aria2_seeder(sw, info, sw.copy_source(src, "aria2"), upload_limit=limit)
        transmission_seeder(sw, info, sw.copy_source(src, "tr"), timeout=TRANSMISSION_TIMEOUT,
                               upload_limit=limit)
        ok, diag, _ = download(sw, info, src, timeout=TRANSMISSION_TIMEOUT)
        if ok:
            sent = lt_seed.settled_stat("uploaded")
            if sent is None:
                raise RuntimeError("the libtorrent seeder's upload counter never settled")
            log("the libtorrent seeder sent %d of %d bytes" % (sent, info.total_size))
            if sent >= info.total_size:
                ok, diag = False, "only the libtorrent seeder served data"
        tap.ok(ok, "from libtorrent + aria2c + transmission-cli seeders at once", diag)


def progress_bytes(run, seeder):
    """How far the first run got: gbt's --json progress if it says, else the
    seeder's upload counter."""
    if run.kind == "gbt":
        e = run.last_event("progress")
        if e is not None:
            for key in ("verified", "have", "completed", "downloaded"):
                if isinstance(e.get(key), int):
                    return e[key]
    st = seeder.stats()
    return st["uploaded"] if st else 0


def case_resume(tap):
    """Kill the downloader at about a third, start it again: it completes
    and fetches less than the whole torrent the second time."""
    with Swarm("resume") as sw:
        total = 12 * MiB + 333
        src, parent, info = single_file(sw, total, 256 * KiB, 9)
        # Slow enough to be caught halfway: 12 MiB at 3 MiB/s.
        seeder = libtorrent_seeder(sw, info, parent, upload_limit=3 * MiB)
        out = sw.path("out")
        run1 = start_leecher(sw, info, out, name="first")
        wait_for(lambda: progress_bytes(run1, seeder) >= total // 3 or not run1.proc.alive(),
                 TIMEOUT, step=0.1)
        got = progress_bytes(run1, seeder)
        if not run1.proc.alive() or got < total // 3:
            tap.ok(False, "resume after SIGKILL",
                   "first run did not reach a third (got %d, exit %s):\n%s"
                   % (got, run1.proc.popen.returncode, run1.proc.log_tail()))
            return
        run1.kill()
        up1 = seeder.settled_stat("uploaded")
        log("killed first run at %d bytes (seeder had sent %d)" % (got, up1))
        run2 = start_leecher(sw, info, out, name="second")
        rc = run2.wait(TIMEOUT)
        up2 = seeder.settled_stat("uploaded")
        if up1 is None or up2 is None:
            raise RuntimeError("the seeder's upload counter never settled")
        up2 -= up1
        diag = []
        if rc != 0:
            diag.append("second run exited %s:\n%s" % (rc, run2.proc.log_tail()))
        else:
            diag += compare_tree(src, out)
            second = up2
            if run2.kind == "gbt":
                done = run2.last_event("done")
                if done is None:
                    diag.append("no done event")
                elif isinstance(done.get("downloaded"), int):
                    second = done["downloaded"]
                    log("gbt's done event: downloaded %d" % second)
            log("second run fetched %d of %d bytes (seeder sent %d)" % (second, total, up2))
            if run2.kind == "gbt" and second != up2:
                # gbt's own count: it had `got` bytes verified when killed, so
                # it may fetch again only the rest plus the pieces in flight.
                slack = 8 * info.piece_length
                if second > total - got + slack:
                    diag.append("second run fetched %d bytes; %d were verified before the kill"
                                % (second, got))
            if not second < total:
                diag.append("second run fetched %d bytes, the torrent is %d" % (second, total))
            if not up2 < total:
                diag.append("the seeder sent %d bytes in the second run, the torrent is %d"
                            % (up2, total))
        tap.ok(not diag, "resume after SIGKILL completes without fetching everything again",
               "\n".join(diag))


CASES = [case_single, case_tree, case_16k, case_4m, case_mktorrent, case_aria2_seeder,
         case_transmission_seeder, case_all_three, case_resume]
# GBT_INTEROP_SUBSET=1 (the ASan pass): transmission-cli as a seeder only in
# all_three; everything else (each a different gbt path) stays.
SUBSET = [case_single, case_tree, case_16k, case_4m, case_mktorrent, case_aria2_seeder,
          case_all_three, case_resume]
# the cases with a transmission-cli seeder wait mostly on its own timers
# (first unchoke at its 10 s rechoke): they run alongside the others, and
# resume (a rate-capped seeder) alongside them
BACKGROUND = [case_transmission_seeder, case_all_three, case_resume]


def main():
    unmet = check_prerequisites()
    log("leecher: %s" % KIND)
    return run_cases(CASES, unmet, subset=SUBSET, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
