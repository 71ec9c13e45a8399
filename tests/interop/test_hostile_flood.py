#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A flood of hostile peers against `gbt seed`, then a real leecher.

Hundreds of connections in a few seconds, each with a valid handshake and
then random, malformed or out-of-range messages (bad lengths, unknown ids,
huge length prefixes, bogus extension handshakes, requests past the end).
gbt must stay up, keep accepting (a burst of short connections once filled
the list of incoming handshakes and locked real peers out), and still serve
a libtorrent leecher byte for byte afterwards.  Loopback only; TAP; 0/1."""
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.net import recv_exact  # noqa: E402
from gbtinterop.payload import compare_tree, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_peer  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, Tap  # noqa: E402
from gbtinterop.torrents import load_torrent, make_torrent  # noqa: E402

CONNECTIONS = 300


def hostile_messages(rnd):
    out = b""
    for _ in range(rnd.randint(1, 30)):
        mid = rnd.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20, 20, 99])
        r = rnd.random()
        if r < 0.5:
            body = os.urandom(rnd.choice([0, 1, 4, 8, 12, 13, 17, 100, 16384]))
        elif mid == 20:
            # our extension id 1 is ut_metadata (BEP 9): requests for blocks
            # that do not exist, unknown types, a request flood
            meta = b"d8:msg_typei%de5:piecei%dee" % (rnd.choice([0, 0, 1, 2, 7, -1]),
                                                     rnd.choice([0, 1, -1, 2**31, 2**63 - 1]))
            body = bytes([rnd.choice([0, 1, 1, 2, 255])]) + rnd.choice([
                b"d1:md6:ut_pexi1ee4:reqqi-5ee", b"d1:mi3ee", b"d", b"le",
                b"d1:md" + b"1:ai1e" * 50 + b"ee", os.urandom(50), meta, meta * 40,
                b"d8:msg_typei0e5:piecei0ee" * 200])
        elif mid in (6, 8, 16):
            body = struct.pack(">III", rnd.choice([0, 1, 47, 48, 2**31]),
                               rnd.choice([0, 16384, 65535, 2**32 - 1]),
                               rnd.choice([0, 1, 16384, 131072, 2**32 - 1]))
        elif mid == 5:
            body = os.urandom(rnd.choice([0, 6, 7, 100]))
        else:
            body = struct.pack(">I", rnd.choice([0, 5, 48, 2**32 - 1]))
        length = len(body) + 1
        if rnd.random() < 0.05:
            length = rnd.choice([0xffffffff, 2**24, 0])
        out += struct.pack(">I", length) + bytes([mid]) + body
    return out


def main():
    unmet = check_prerequisites("gbt", gbt_commands=("seed",))
    if unmet:
        return unmet.report()
    tap = Tap(6)
    rnd = random.Random(int(os.environ.get("INTEROP_SEED", "7")))
    with Swarm("flood") as sw:
        src = sw.path("src")
        os.makedirs(src)
        write_random_file(os.path.join(src, "p.bin"), 3 * MiB + 1234, 5)
        sw.tracker
        t = sw.path("t.torrent")
        make_torrent(os.path.join(src, "p.bin"), t, sw.announce_url, 64 * KiB)
        info = load_torrent(t)
        sw.tracker.add_torrent(info)
        addr = sw.new_addr()
        g = sw.spawn("gbt-seed", [gbt_cli(), "seed", t, "-d", src, "--bind", addr, "--json"])
        line = g.wait_line(lambda l: '"start"' in l, 30)
        if line is None or g.wait_line(lambda l: '"seeding"' in l, 30) is None:
            tap.ok(False, "gbt seed starts", g.log_tail())
            return tap.finish()
        port = json.loads(line)["listen_port"]
        info_hash = bytes.fromhex(info.hex)

        handled = 0
        for _ in range(CONNECTIONS):
            try:
                s = socket.create_connection((addr, port), timeout=2)
                reserved = bytes(rnd.choice([0, 0x10, 0x04, 0xff]) for _ in range(8))
                s.sendall(b"\x13BitTorrent protocol" + reserved + info_hash + os.urandom(20))
                reply = b""
                s.sendall(hostile_messages(rnd))
                s.settimeout(0.3)
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        reply += chunk
                except (socket.timeout, OSError):
                    pass
                s.close()
                if len(reply) >= 68:
                    handled += 1     # gbt answered the handshake
            except OSError:
                pass
            if not g.alive():
                break
        tap.ok(g.alive(), "gbt survives %d hostile connections" % CONNECTIONS, g.log_tail())
        # right after the burst an honest handshake must be answered: the
        # burst once filled the list of incoming handshakes and locked peers out
        answered = 0
        for _ in range(3):
            try:
                s = socket.create_connection((addr, port), timeout=3)
                s.sendall(b"\x13BitTorrent protocol" + bytes(8) + info_hash + b"-PR0001-" + os.urandom(12))
                s.settimeout(3)
                reply = b""
                while len(reply) < 68:
                    chunk = s.recv(68 - len(reply))
                    if not chunk:
                        break
                    reply += chunk
                s.close()
                answered += len(reply) == 68 and reply[28:48] == info_hash
            except OSError:
                pass
        tap.ok(answered == 3, "honest handshakes right after the burst are answered (%d of 3; %d of "
               "the hostile ones were)" % (answered, handled))

        out = sw.path("out")
        os.makedirs(out)
        peer = libtorrent_peer(sw, info, out, leech=True, name="lt-leech")
        done = peer.proc.wait_line(lambda l: l == "DONE", 60) is not None
        tap.ok(done and not compare_tree(os.path.join(src, "p.bin"), out, "p.bin"),
               "a libtorrent leecher then downloads everything from gbt", peer.proc.log_tail())
        tap.ok(g.alive(), "gbt still running at the end", g.log_tail())
        sw.forget(g)

        # idle intruders hold every peer slot: a real peer still gets in
        # once they have been useless for a while (30 s)
        addr2 = sw.new_addr()
        g2 = sw.spawn("gbt-seed-2", [gbt_cli(), "seed", t, "-d", src, "--bind", addr2, "--json",
                                     "--max-peers", "2"])
        line = g2.wait_line(lambda l: '"start"' in l, 30)
        g2.wait_line(lambda l: '"seeding"' in l, 30)
        port2 = json.loads(line)["listen_port"] if line else 0
        idle = []
        for _ in range(2):
            s = socket.create_connection((addr2, port2), timeout=3)
            s.sendall(b"\x13BitTorrent protocol" + bytes(8) + info_hash + b"-ID0001-" + os.urandom(12))
            idle.append(s)
            # gbt's handshake back: the slot is ours before the idle time counts
            s.settimeout(15)
            recv_exact(s, 68)
        # The idle period itself is what is tested (gbt may close a useless
        # peer after 30 s), not a wait for something to happen: hold both
        # slots for 34 s, keep-alives keeping them connected.
        deadline = time.monotonic() + 34
        while time.monotonic() < deadline:
            for s in idle:
                try:
                    s.sendall(struct.pack(">I", 0))
                except OSError:
                    pass
            time.sleep(2)
        out2 = sw.path("out2")
        os.makedirs(out2)
        peer2 = libtorrent_peer(sw, info, out2, leech=True, name="lt-leech-2")
        done = peer2.proc.wait_line(lambda l: l == "DONE", 60) is not None
        tap.ok(done and not compare_tree(os.path.join(src, "p.bin"), out2, "p.bin"),
               "with every slot held by idle peers, a leecher still gets in and downloads",
               peer2.proc.log_tail() + "\n" + g2.log_tail())
        closed = 0
        for s in idle:
            try:
                s.settimeout(1)
                while s.recv(65536):
                    pass
                closed += 1
            except OSError:
                closed += 1 if s.fileno() < 0 else 0
            s.close()
        tap.ok(closed >= 1, "gbt closed an idle peer to make room (%d of 2)" % closed)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
