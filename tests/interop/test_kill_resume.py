#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""SIGKILL `gbt download` at random moments, restart it, let it finish.

"SIGKILL at any moment, then restart: the download finishes with correct
data and re-downloads at most the pieces that were in flight."

A libtorrent seeder with an upload limit makes a 64 MiB download (256 KiB
pieces) last several seconds.  `gbt download --json` is started and killed
with SIGKILL several times, at random moments (a few right after the start,
during start-up and the initial check; the others 0.2 to 2 s in; more are
added, up to 9 kills, until 3 hit while data was flowing), then run to
completion.  Checked:

  - the bytes are identical at the end;
  - after each kill, every piece gbt last reported as had (--json "pieces")
    is really good on disk: the data on disk is hashed here, piece by piece,
    so at least that many pieces must be good;
  - re-downloaded bytes: for each run, what the seeder sent (its own upload
    counter) minus the good data it added on disk.  Their sum (everything
    sent minus the torrent's size) must be at most kills x the in-flight
    bound: gbt buffers at most 24 MiB or 4 pieces, whichever is larger
    (+1 MiB slack for the network).  Each kill's figure goes to the TAP log.

Passes with or without resume data (.gbt/ in the output directory): either
way the restart must not trust anything that is not on disk.

INTEROP_SEED=N replays a run's kill times (printed at the start).

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import os
import signal
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.net import free_port  # noqa: E402
from gbtinterop.payload import compare_tree, piece_status, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.procs import json_events  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import create_torrent  # noqa: E402

SIZE = 64 * MiB + 12345
PIECE = 256 * KiB
RATE = 10 * MiB            # the seeder's upload limit, bytes/s
KILLS_LATE = 4             # kills 0.2 to 2 s after a start
KILLS_EARLY = 2            # kills 10 to 100 ms after a start (start-up, check)
MIN_KILLS = 4              # fewer kills before the end: the test proved nothing
MIN_MID_KILLS = 3          # kills while data flows; more are added until there are
MAX_KILLS = 9
BUFFER_CAP = 24 * MiB      # gbt's cap on downloaded-but-unwritten data
SLACK = MiB
RUN_TIMEOUT = 90


def good_bytes(info, status):
    return sum(info.piece_size(i) for i, ok in enumerate(status) if ok)


def seeder_sent(seeder):
    """The seeder's upload counter once it stopped moving (it counts what it
    wrote to the socket, and nobody else downloads from it)."""
    sent = seeder.settled_stat("uploaded")
    if sent is None:
        raise RuntimeError("the seeder's upload counter never settled:\n" + seeder.proc.log_tail())
    return sent


def case_kill_resume(tap):
    seed = int(os.environ.get("INTEROP_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    delays = [rng.uniform(0.2, 2.0) for _ in range(KILLS_LATE)]
    for _ in range(KILLS_EARLY):
        delays.insert(rng.randrange(len(delays) + 1), rng.uniform(0.01, 0.1))
    log("INTEROP_SEED=%d: kills at %s s after each start"
        % (seed, ", ".join("%.2f" % d for d in delays)))
    what = "SIGKILL at random moments, restarts: correct data, only in-flight pieces again"
    with Swarm("killresume") as sw:
        src_dir = sw.path("src")
        src = write_random_file(os.path.join(src_dir, "big.bin"), SIZE, 31)
        info, maker = create_torrent(src, sw.path("big.torrent"), sw.announce_url, PIECE)
        bound = max(BUFFER_CAP, 4 * info.piece_length) + SLACK
        log("torrent by %s: %d pieces of %d; bound per kill %d bytes"
            % (maker, info.num_pieces, info.piece_length, bound))
        seeder = libtorrent_seeder(sw, info, src_dir, upload_limit=RATE)
        out = sw.path("out")
        os.makedirs(out)
        addr = sw.new_addr()
        port = free_port(addr)
        argv = [gbt_cli(), "download", info.path, "-o", out, "--json", "--bind", addr,
                "--port", str(port)]

        diag = []
        status = piece_status(info, out)
        sent_before = (seeder.stats() or {}).get("uploaded", 0)
        kills = 0
        waste = []
        json_downloaded = 0
        finished_early = False
        mid_transfer = 0
        k = -1
        while True:
            k += 1
            if k < len(delays):
                delay = delays[k]
            elif mid_transfer < MIN_MID_KILLS and k < MAX_KILLS:
                # Too many kills landed before any data flowed: more late ones.
                delay = rng.uniform(0.6, 2.0)
                log("extra kill %.2f s after the start (%d so far during a transfer)"
                    % (delay, mid_transfer))
            else:
                break
            p = sw.spawn("gbt-run%d" % k, argv)
            # the kill's moment (random on purpose); an exit before it ends the wait
            rc = p.wait(delay)
            if rc is not None:
                if rc == 0:
                    log("run %d finished before its kill at %.2f s" % (k, delay))
                    finished_early = True
                    break
                diag.append("run %d exited %s by itself:\n%s" % (k, rc, p.log_tail()))
                break
            p.signal_main(signal.SIGKILL)
            if p.wait(10) is None:
                diag.append("run %d did not die on SIGKILL" % k)
                break
            sent = seeder_sent(seeder)
            sw.forget(p)
            kills += 1
            evs = [e for e in json_events(p) if isinstance(e.get("pieces"), int)]
            reported = evs[-1]["pieces"] if evs else 0
            json_downloaded += evs[-1].get("downloaded", 0) if evs else 0
            new_status = piece_status(info, out)
            lost = [i for i, ok in enumerate(status) if ok and not new_status[i]]
            if lost:
                diag.append("run %d: pieces good before it are bad after its kill: %s"
                            % (k, lost[:10]))
            if reported > sum(new_status):
                diag.append("run %d reported %d pieces had, only %d are good on disk"
                            % (k, reported, sum(new_status)))
            added = good_bytes(info, new_status) - good_bytes(info, status)
            w = (sent - sent_before) - added
            waste.append(w)
            if sent > sent_before:
                mid_transfer += 1
            log("kill %d at %.2f s: seeder sent %d, good data on disk +%d, re-download %d "
                "(%d pieces reported, %d good on disk)"
                % (kills, delay, sent - sent_before, added, w, reported, sum(new_status)))
            status, sent_before = new_status, sent
        if diag:
            tap.ok(False, what, "\n".join(diag))
            return
        # The last run completes.
        t0 = time.monotonic()
        p = sw.spawn("gbt-final", argv) if not finished_early else p
        rc = p.wait(RUN_TIMEOUT)
        if rc is None:
            diag.append("final run did not finish in %d s:\n%s" % (RUN_TIMEOUT, p.log_tail()))
        elif rc != 0:
            diag.append("final run exited %s:\n%s" % (rc, p.log_tail()))
        if p.popen.poll() is None:
            sw.forget(p)
        p.wait_output()
        sent = seeder_sent(seeder)
        done = [e for e in json_events(p) if e.get("event") == "done"]
        if rc == 0 and not done:
            diag.append("final run printed no \"done\" event")
        if done:
            json_downloaded += done[-1].get("downloaded", 0)
        log("final run: %.1f s, seeder sent %d (%d still missing before it)"
            % (time.monotonic() - t0, sent - sent_before, info.total_size - good_bytes(info, status)))
        diag += compare_tree(src, out)
        total_sent = sent
        extra = total_sent - info.total_size
        log("%d kills; seeder sent %d bytes in all for %d: %d re-downloaded (bound %d = %d x %d);"
            " gbt's own --json \"downloaded\" sums to %d (its last line before each kill lags "
            "up to 1 s)" % (kills, total_sent, info.total_size, extra, kills * bound, kills, bound,
                            json_downloaded))
        log("%d of the kills hit while data was flowing" % mid_transfer)
        if kills < MIN_KILLS or mid_transfer < MIN_MID_KILLS:
            diag.append("only %d kills (%d while data flowed) landed before the download "
                        "finished: it is too fast for this test (raise SIZE or lower RATE)"
                        % (kills, mid_transfer))
        if extra > kills * bound:
            diag.append("re-downloaded %d bytes over %d kills: more than %d per kill"
                        % (extra, kills, bound))
        for i, w in enumerate(waste):
            if w > bound:
                diag.append("kill %d cost %d bytes of re-download (bound %d)" % (i + 1, w, bound))
        tap.ok(not diag, what, "\n".join(diag))


CASES = [case_kill_resume]


def main():
    unmet = check_prerequisites("gbt", gbt_commands=("download", "create"))
    return run_cases(CASES, unmet)


if __name__ == "__main__":
    sys.exit(main())
