#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The body of scripts/demo: a real download on a loopback swarm.

Makes a payload, a torrent for it, starts opentracker and a libtorrent
seeder (both on loopback), runs `gbt download` with its progress line on
the terminal, checks the result with cmp and prints the throughput.  Every
process is stopped by PID and the temp dir removed, also on Ctrl-C.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import MiB  # noqa: E402
from gbtinterop.payload import write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.torrents import make_torrent  # noqa: E402


def say(msg):
    print("demo: " + msg, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gbt", required=True, help="the gbt program")
    ap.add_argument("--size", type=int, default=256, help="payload size in MiB")
    ap.add_argument("--piece-kib", type=int, default=1024)
    args = ap.parse_args()
    size = args.size * MiB

    with Swarm("demo") as sw:
        src_dir = sw.path("seed")
        os.makedirs(src_dir)
        src = os.path.join(src_dir, "demo-%dMiB.bin" % args.size)
        say("writing %d MiB of pseudo-random data in %s" % (args.size, sw.dir))
        write_random_file(src, size, 2026)
        torrent = sw.path("demo.torrent")
        info = make_torrent(src, torrent, sw.announce_url, args.piece_kib * 1024)
        say("torrent %s: %d pieces of %d KiB, tracker %s"
            % (info.hex, info.num_pieces, args.piece_kib, sw.announce_url))
        print(flush=True)
        subprocess.run([args.gbt, "info", torrent], timeout=60)
        print(flush=True)

        has_download = subprocess.run([args.gbt, "download", "--help"], timeout=60,
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL).returncode == 0
        if not has_download:
            say("'gbt download' is not available in this build yet; showing the plugins instead")
            subprocess.run([args.gbt, "plugins"], timeout=60)
            return 1

        seeder = libtorrent_seeder(sw, info, src_dir)
        say("opentracker on 127.0.0.1:%d, libtorrent seeder on %s:%d"
            % (sw.tracker.port, seeder.addr, seeder.port))
        out = sw.path("download")
        os.makedirs(out)
        addr = sw.new_addr()
        argv = [args.gbt, "download", torrent, "-o", out, "--bind", addr]
        say("$ gbt download demo.torrent -o %s --bind %s" % (out, addr))
        t0 = time.monotonic()
        proc = sw.spawn("gbt", argv, capture="inherit")
        rc = proc.wait(600)
        elapsed = time.monotonic() - t0
        if rc is None:
            say("gbt download did not finish in 600 s")
            return 1
        if rc != 0:
            say("gbt download failed (exit %d)" % rc)
            return 1
        got = os.path.join(out, os.path.basename(src))
        if subprocess.run(["cmp", src, got], timeout=300).returncode != 0:
            say("FAILED: the downloaded file differs from the seeded one")
            return 1
        say("cmp: identical.  %d MiB in %.2f s = %.0f MiB/s (process start to exit)"
            % (args.size, elapsed, args.size / elapsed))
        return 0


if __name__ == "__main__":
    sys.exit(main())
