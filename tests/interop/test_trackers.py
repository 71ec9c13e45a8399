#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every way to a tracker: `gbt download` of a torrent whose first tier holds
only dead trackers (a closed TCP port, an HTTP server that accepts and never
answers, a UDP port that never answers, a UDP tracker that answers garbage)
and whose later tiers are a real opentracker over UDP and HTTP.  The
download must start, and finish, within a bound: a dead tracker costs at
most the tracker manager's per-announce timeout (20 s), never a hang.

The libtorrent seeder gets the same info dictionary with only the HTTP
tracker, so the dead tier is gbt's problem alone.  TAP on stdout; a
missing or broken gbt is a failure, a missing opentracker or
python3-libtorrent a TAP skip.
"""
import http.server
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.bencode import bdecode, bencode  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.net import ipv6_loopback  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.peers import libtorrent_peer, libtorrent_seeder, start_leecher  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import load_torrent, single_file  # noqa: E402

# three dead trackers at 20 s each at worst, then the download itself
BOUND = 120


class DeadTrackers:
    """Loopback servers that never help: each bound before the test starts,
    all closed at the end."""

    def __init__(self):
        self.sockets = []
        self.stop = threading.Event()
        # a closed port: bound then closed again
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.closed_port = s.getsockname()[1]
        s.close()
        # accepts, reads, never answers
        self.hang = self._sock(socket.SOCK_STREAM)
        self.hang.listen(16)
        self.hang.settimeout(0.2)
        # UDP that never answers
        self.silent = self._sock(socket.SOCK_DGRAM)
        # UDP that answers with garbage: a short packet, then a reply with our
        # transaction id but an impossible length
        self.garbage = self._sock(socket.SOCK_DGRAM)
        self.garbage.settimeout(0.2)
        self.held = []
        self.threads = [threading.Thread(target=self._hang_loop, daemon=True),
                        threading.Thread(target=self._garbage_loop, daemon=True)]
        for t in self.threads:
            t.start()

    def _sock(self, kind):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", 0))
        self.sockets.append(s)
        return s

    def _hang_loop(self):
        while not self.stop.is_set():
            try:
                c, _ = self.hang.accept()
                self.held.append(c)
            except OSError:
                pass

    def _garbage_loop(self):
        while not self.stop.is_set():
            try:
                data, addr = self.garbage.recvfrom(2048)
            except OSError:
                continue
            if len(data) >= 16:
                tid = data[12:16]
                self.garbage.sendto(b"\x00\x01\x02", addr)
                self.garbage.sendto(struct.pack(">I", 1) + tid + b"\xde\xad\xbe", addr)

    def urls(self):
        return ["http://127.0.0.1:%d/announce" % self.closed_port,
                "http://127.0.0.1:%d/announce" % self.hang.getsockname()[1],
                "udp://127.0.0.1:%d" % self.silent.getsockname()[1],
                "udp://127.0.0.1:%d" % self.garbage.getsockname()[1]]

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(2)
        for s in self.sockets + self.held:
            s.close()


def retiered(sw, info, tiers):
    """The torrent of @info (same info dictionary, so the same info-hash)
    with @tiers as its announce-list."""
    with open(info.path, "rb") as f:
        meta, _ = bdecode(f.read())
    meta = {k.decode(): v for k, v in meta.items()}
    meta["announce"] = tiers[0][0]
    meta["announce-list"] = tiers
    path = sw.path("leech.torrent")
    with open(path, "wb") as f:
        f.write(bencode(meta))
    return load_torrent(path)


def case_dead_first_tier(tap):
    with Swarm("trackers") as sw:
        dead = DeadTrackers()
        try:
            src, src_dir, info = single_file(sw, 2 * MiB + 99, 256 * KiB, 7, "file.bin")
            libtorrent_seeder(sw, info, src_dir)

            # the same info dictionary, with the hostile announce-list
            udp_url = "udp://127.0.0.1:%d" % sw.tracker.port
            leech_info = retiered(sw, info, [dead.urls(), [udp_url], [sw.announce_url]])
            if leech_info.hex != info.hex:
                tap.ok(False, "same info-hash for both torrents")
                return

            out = sw.path("out")
            run = start_leecher(sw, leech_info, out)
            rc = run.wait(BOUND)
            elapsed = time.monotonic() - run.t0
            log("gbt finished in %.1f s (rc %s)" % (elapsed, rc))
            diffs = compare_tree(src, out) if rc == 0 else ["gbt exited %s" % rc]
            tap.ok(rc == 0 and not diffs,
                   "download through dead trackers finishes within %d s" % BOUND,
                   "\n".join(diffs[:10]) + "\n" + run.proc.log_tail(30))
        finally:
            dead.close()


def case_scrape(tap):
    with Swarm("scrape") as sw:
        src, src_dir, info = single_file(sw, 300 * KiB, 64 * KiB, 3, "s.bin")
        libtorrent_seeder(sw, info, src_dir)
        magnet = "magnet:?xt=urn:btih:%s&tr=udp://127.0.0.1:%d&tr=%s" % (
            info.hex, sw.tracker.port, sw.announce_url)
        r = subprocess.run([gbt_cli(), "scrape", magnet], capture_output=True, text=True,
                           timeout=60)
        lines = r.stdout.strip().splitlines()
        ok = r.returncode == 0 and len(lines) == 2 and all("seeders 1," in l for l in lines)
        tap.ok(ok, "gbt scrape counts the seeder over UDP and HTTP",
               "rc %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr))


class FakeTracker:
    """An HTTP tracker in a thread, on 127.0.0.1 or [::1]: answer(query,
    client_host) gives the reply dictionary for each announce (query values
    decoded as latin-1); replied(query) runs once the reply is sent."""

    def __init__(self, host="127.0.0.1"):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                          encoding="latin-1")
                body = bencode(outer.answer({k: v[0] for k, v in q.items()},
                                            self.client_address[0]))
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
                outer.replied({k: v[0] for k, v in q.items()})

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self.server = Server((host, 0), Handler)
        self.url = "http://%s:%d/announce" % ("[%s]" % host if ":" in host else host,
                                              self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def replied(self, q):
        pass

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class RecordingTracker(FakeTracker):
    """Answers every announce with @peers (none by default) and records the
    (info_hash, event) of each, and of each reply sent, notifying @cond
    (trackers may share one).  With @gate (a function that blocks until it
    opens or gives up), an announce is answered only once the gate opened."""

    def __init__(self, peers=b"", gate=None, cond=None):
        self.seen = []
        self.sent = []
        self.peers = peers
        self.gate = gate
        self.cond = cond or threading.Condition()
        super().__init__()

    def answer(self, q, host):
        with self.cond:
            self.seen.append((q.get("info_hash", "").encode("latin-1"), q.get("event", "")))
            self.cond.notify_all()
        if self.gate is not None and not self.gate():
            log("%s answers before its gate opened" % self.url)
        return {"interval": 1800, "peers": self.peers}

    def replied(self, q):
        with self.cond:
            self.sent.append((q.get("info_hash", "").encode("latin-1"), q.get("event", "")))
            self.cond.notify_all()

    def events(self, info_hash):
        with self.cond:
            return [e for ih, e in self.seen if ih == info_hash]

    def replied_to(self, info_hash, event):
        with self.cond:
            return (info_hash, event) in self.sent

    def wait_event(self, info_hash, event, timeout):
        """True once an announce with @event arrived (it may come after gbt
        exited: gbt waits 5 s at most for the answer to "stopped")."""
        with self.cond:
            return self.cond.wait_for(lambda: (info_hash, event) in self.seen, timeout)


def case_announce_all(tap):
    """Tiers [[A], [B], [C]]: A and B answer with no peers, C with the
    seeder, so only announcing to every tier (--announce-all) finds it.

    gbt sends "stopped" only to trackers that answered it, and announces to
    all tiers at once: had C answered first, the 1 MiB download could be
    over (and A's and B's answers dropped) before A and B answered, most
    often on a loaded machine.  So C answers only once A and B have sent
    their answers to "started"."""
    with Swarm("announce-all") as sw:
        news = threading.Condition()
        a, b = RecordingTracker(cond=news), RecordingTracker(cond=news)
        c = None
        try:
            src, src_dir, info = single_file(sw, 1 * MiB + 5, 64 * KiB, 11, "all.bin",
                                             announce="http://127.0.0.1:9/announce")
            seeder = libtorrent_peer(sw, info, src_dir, name="lt-seed", extra=["--no-tracker"])
            ih = info.info_hash

            def gate():
                with news:
                    return news.wait_for(lambda: a.replied_to(ih, "started")
                                         and b.replied_to(ih, "started"), 30)

            c = RecordingTracker(peers=socket.inet_aton(seeder.addr) + struct.pack(">H", seeder.port),
                                 gate=gate)
            leech_info = retiered(sw, info, [[a.url], [b.url], [c.url]])

            out = sw.path("out")
            run = start_leecher(sw, leech_info, out, kind="gbt", gbt_args=["--announce-all"])
            rc = run.wait(60)
            diffs = compare_tree(src, out) if rc == 0 else ["gbt exited %s" % rc]
            if rc == 0:
                for t in (a, b, c):
                    t.wait_event(ih, "stopped", 10)
            ev = [t.events(ih) for t in (a, b, c)]
            log("tier 1 saw %s, tier 2 saw %s, tier 3 saw %s" % tuple(ev))
            ok = (rc == 0 and not diffs and all("started" in e and "stopped" in e for e in ev))
            tap.ok(ok, "--announce-all announces to every tier and finds the seeder in the last",
                   "tiers saw %s\n%s\n%s" % (ev, "\n".join(diffs[:10]), run.proc.log_tail(30)))
        finally:
            for t in (a, b, c):
                if t is not None:
                    t.close()


class Ipv6Tracker(FakeTracker):
    """On [::1] (Debian's opentracker is IPv4-only): records each announcer's
    source address and port, and hands the others back as BEP 7 compact
    peers6."""

    def __init__(self):
        self.peers = {}  # peer_id -> 18-byte compact peer
        self.families = []
        super().__init__("::1")

    def answer(self, q, host):
        pid = q.get("peer_id", "")
        port = int(q.get("port", "0"))
        self.families.append("v6" if ":" in host else "v4")
        if q.get("event", "") == "stopped":
            self.peers.pop(pid, None)
        elif ":" in host and port:
            self.peers[pid] = socket.inet_pton(socket.AF_INET6, host) + struct.pack(">H", port)
        others = b"".join(v for k, v in list(self.peers.items()) if k != pid)
        return {"interval": 1800, "peers": b"", "peers6": others}


def case_ipv6(tap):
    """BEP 7 end to end: a tracker reached over IPv6 hands out a libtorrent
    seeder on [::1] in peers6; gbt, listening dual-stack, downloads from it."""
    if not ipv6_loopback():
        tap.skip("IPv6 swarm", "no IPv6 loopback here")
        return
    with Swarm("ipv6") as sw:
        tracker = Ipv6Tracker()
        try:
            src, src_dir, info = single_file(sw, 3 * MiB + 66, 128 * KiB, 6, "six.bin",
                                             announce=tracker.url)
            libtorrent_peer(sw, info, src_dir, addr="::1", name="libtorrent6")
            if not wait_for(lambda: tracker.peers, 30, step=0.1):
                raise RuntimeError("the libtorrent seeder never announced to the IPv6 tracker")
            out = sw.path("out")
            t0 = time.monotonic()
            r = subprocess.run([gbt_cli(), "download", info.path, "-o", out, "--json",
                                "--idle-timeout", "30"],
                               capture_output=True, text=True, timeout=90)
            log("gbt over IPv6: rc %d in %.1f s; tracker saw %s" % (
                r.returncode, time.monotonic() - t0, tracker.families))
            diffs = compare_tree(src, out) if r.returncode == 0 else ["rc %d" % r.returncode]
            tap.ok(r.returncode == 0 and not diffs,
                   "download from a seeder on [::1] found through an IPv6 tracker (peers6)",
                   "\n".join(diffs[:5]) + "\n" + r.stderr[-2000:])
        finally:
            tracker.close()


CASES = [case_dead_first_tier, case_scrape, case_announce_all, case_ipv6]
# the dead tier is 40 s of gbt's announce timeouts: it runs alongside the others
BACKGROUND = [case_dead_first_tier]


def main():
    unmet = check_prerequisites(gbt_commands=("download", "scrape"))
    return run_cases(CASES, unmet, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
