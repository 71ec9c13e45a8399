#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mainline DHT (BEP 5, the optional `dht` plugin), on loopback only.

Every DHT node here is started by the test on 127.x addresses, with
bootstrap nodes it names (GBT_DHT_BOOTSTRAP for gbt, --dht-bootstrap for
libtorrent): nothing is sent off the machine.

  - KRPC, both roles, against a node written here: gbt joins through it
    (find_node), looks its torrent up (get_peers) and announces itself with
    the token it was given; it answers ping, find_node, get_peers and
    announce_peer (a bad token is refused with 203, a good one stores the
    peer, get_peers then returns it, implied_port uses the source port),
    unknown methods with 204, and survives garbage.
  - gbt finds a libtorrent seeder: libtorrent announced it to a libtorrent
    DHT node; gbt gets a bare magnet link (no tracker, no peer) and the
    download must complete, its peers counted as from "dht".
  - libtorrent finds a gbt seeder: gbt announces itself to a libtorrent
    node; a libtorrent leecher with no tracker completes the download.
  - gbt as the DHT node others use: a libtorrent seeder announces to gbt's
    node, a libtorrent leecher looks the torrent up there, and downloads.

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout, a
missing tool a TAP skip naming it.
"""
import hashlib
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.bencode import bdecode, bencode  # noqa: E402
from gbtinterop.net import recv_exact  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import gbt_seeder, libtorrent_peer, start_leecher  # noqa: E402
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, run_cases  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

TIMEOUT = 90


def lines_with(proc, prefix):
    with proc.cond:
        return [l[len(prefix):] for l in proc.lines if l.startswith(prefix)]


def dht_announces(proc):
    return [json.loads(x) for x in lines_with(proc, "DHT_ANNOUNCE ")]


class MiniNode:
    """A DHT node in a few lines: answers find_node and get_peers (token
    b"tok1", no nodes), records announce_peer; sends queries of its own."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 0))
        self.sock.settimeout(0.2)
        self.addr = self.sock.getsockname()
        self.id = os.urandom(20)
        self.seen_queries = []
        self.announces = []
        self.tid = 0

    def close(self):
        self.sock.close()

    def serve_one(self, data, src):
        try:
            m, _ = bdecode(data)
        except Exception:  # noqa: BLE001 - not for us
            return None
        if not isinstance(m, dict) or m.get(b"y") != b"q":
            return m
        q, a = m.get(b"q"), m.get(b"a", {})
        self.seen_queries.append(q)
        r = {"id": self.id}
        if q == b"get_peers":
            r.update({"token": b"tok1", "nodes": b""})
        elif q == b"find_node":
            r["nodes"] = b""
        elif q == b"announce_peer":
            self.announces.append((a.get(b"info_hash"), a.get(b"port"), a.get(b"token"),
                                   a.get(b"implied_port"), src))
        self.sock.sendto(bencode({"t": m[b"t"], "y": "r", "r": r}), src)
        return None

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data, src = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            self.serve_one(data, src)

    def query(self, to, q, args, timeout=3.0):
        """Sends a query; serves whatever else comes meanwhile; returns the
        reply (a dict) or None."""
        self.tid += 1
        t = self.tid.to_bytes(2, "big")
        a = {"id": self.id}
        a.update(args)
        self.sock.sendto(bencode({"t": t, "y": "q", "q": q, "a": a}), to)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                data, src = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            m = self.serve_one(data, src)
            if isinstance(m, dict) and m.get(b"t") == t and src == to:
                return m
        return None

    def raw(self, to, data):
        self.sock.sendto(data, to)


def gbt_seed(sw, info, data_dir, bootstrap, name="gbt-dht-seed"):
    """`gbt --plugins=dht seed`, joining through @bootstrap; (process,
    address, port), its DHT node on UDP at the same address and port."""
    s = gbt_seeder(sw, info, data_dir, timeout=30, name=name, plugins=["dht"], tracker=False,
                      env=dict(os.environ, GBT_DHT_BOOTSTRAP=bootstrap))
    return s.proc, s.addr, s.port


def router(sw, name="lt-router"):
    """A libtorrent DHT node with no torrent and no bootstrap node."""
    addr = sw.new_addr()
    return libtorrent_peer(sw, None, ".", addr=addr, name=name, extra=["--dht-only"])


def offline_torrent(sw, size, piece, seed, name):
    """A payload and a torrent whose only tracker refuses connections."""
    return single_file(sw, size, piece, seed, name=name, announce="http://127.0.0.1:9/announce")


# ---------------------------------------------------------------- cases


def case_krpc(tap):
    with Swarm("dht-krpc") as sw:
        probe = MiniNode(sw.new_addr())
        try:
            src, src_dir, info = offline_torrent(sw, 300 * KiB, 16 * KiB, 61, "k.bin")
            p, addr, port = gbt_seed(sw, info, src_dir, "%s:%d" % probe.addr)
            gbt = (addr, port)
            diag = []
            # gbt joins through the probe and looks its torrent up, then announces
            wait_for(lambda: probe.pump(0.5) or (info.info_hash, port, b"tok1", 0)
                     in [a[:4] for a in probe.announces], 15)
            if b"find_node" not in probe.seen_queries:
                diag.append("gbt never sent find_node to its bootstrap node")
            if b"get_peers" not in probe.seen_queries:
                diag.append("gbt never looked its torrent up (get_peers)")
            if not any(a[:4] == (info.info_hash, port, b"tok1", 0) for a in probe.announces):
                diag.append("gbt did not announce its torrent with our token: %r"
                            % probe.announces)

            # garbage first: gbt must still answer afterwards
            for junk in (b"", b"garbage", b"le", bencode([1, 2]), bencode({"y": "q"}),
                         bencode({"t": "aa", "y": "q", "q": "ping"}), os.urandom(1400),
                         b"d1:t" + b"9" * 30):
                probe.raw(gbt, junk)
            r = probe.query(gbt, "ping", {})
            if not r or r.get(b"y") != b"r" or len(r.get(b"r", {}).get(b"id", b"")) != 20:
                diag.append("ping after garbage: %r" % (r,))
            r = probe.query(gbt, "find_node", {"target": os.urandom(20)})
            nodes = (r or {}).get(b"r", {}).get(b"nodes")
            if nodes is None or len(nodes) % 26 != 0:
                diag.append("find_node: %r" % (r,))
            h = hashlib.sha1(os.urandom(8)).digest()
            r = probe.query(gbt, "get_peers", {"info_hash": h})
            token = (r or {}).get(b"r", {}).get(b"token")
            if not token:
                diag.append("get_peers gave no token: %r" % (r,))
            r = probe.query(gbt, "announce_peer", {"info_hash": h, "port": 4242, "token": b"nope"})
            if not r or r.get(b"y") != b"e" or r[b"e"][0] != 203:
                diag.append("a bad token was not refused with 203: %r" % (r,))
            r = probe.query(gbt, "announce_peer", {"info_hash": h, "port": 4242, "token": token})
            if not r or r.get(b"y") != b"r":
                diag.append("announce_peer with the token: %r" % (r,))
            r = probe.query(gbt, "announce_peer", {"info_hash": h, "port": 1, "implied_port": 1,
                                                   "token": token})
            if not r or r.get(b"y") != b"r":
                diag.append("announce_peer with implied_port: %r" % (r,))
            r = probe.query(gbt, "get_peers", {"info_hash": h})
            values = (r or {}).get(b"r", {}).get(b"values", [])
            want = {socket.inet_aton(probe.addr[0]) + (4242).to_bytes(2, "big"),
                    socket.inet_aton(probe.addr[0]) + probe.addr[1].to_bytes(2, "big")}
            if set(values) != want:
                diag.append("get_peers values %r, expected %r" % (values, want))
            r = probe.query(gbt, "frobnicate", {})
            if not r or r.get(b"y") != b"e" or r[b"e"][0] != 204:
                diag.append("unknown method not answered with 204: %r" % (r,))
            r = probe.query(gbt, "ping", {"id": b"short"})
            if not r or r.get(b"y") != b"e" or r[b"e"][0] != 203:
                diag.append("a 5-byte id not refused with 203: %r" % (r,))
            if not p.alive():
                diag.append("gbt died:\n" + p.log_tail())
            tap.ok(not diag, "KRPC: gbt joins, looks up, announces with the token, answers "
                   "every query as BEP 5 says, and survives garbage", "\n".join(diag))
        finally:
            probe.close()


def case_gbt_finds_libtorrent(tap):
    with Swarm("dht-find") as sw:
        r = router(sw)
        boot = "%s:%d" % (r.addr, r.port)
        src, src_dir, info = offline_torrent(sw, 3 * MiB, 64 * KiB, 62, "f.bin")
        seeder = libtorrent_peer(sw, info, src_dir, name="lt-seed", extra=[
            "--no-tracker", "--dht", "--dht-bootstrap", boot, "--dht-announce-every", "1"])
        if not wait_for(lambda: any(a["port"] == seeder.port for a in dht_announces(r.proc)), 30):
            raise RuntimeError("the libtorrent seeder never announced to the router:\n"
                               + seeder.proc.log_tail())
        out = sw.path("out")
        run = start_leecher(sw, info, out, kind="gbt", name="dht", plugins=["dht"],
                            link="magnet:?xt=urn:btih:" + info.hex,
                            env=dict(os.environ, GBT_DHT_BOOTSTRAP=boot))
        rc = run.wait(TIMEOUT)
        diag = []
        if rc != 0:
            diag.append("gbt exited %s:\n%s" % (rc, run.proc.log_tail(20)))
        else:
            diag += compare_tree(src, out)[:10]
            evs = run.events()
            if not any(e.get("peer_sources", {}).get("dht") for e in evs):
                diag.append("no peer from dht in --json peer_sources")
        tap.ok(not diag, "gbt finds a libtorrent seeder through the DHT from a bare magnet link",
               "\n".join(diag))


def case_libtorrent_finds_gbt(tap):
    with Swarm("dht-found") as sw:
        r = router(sw)
        boot = "%s:%d" % (r.addr, r.port)
        src, src_dir, info = offline_torrent(sw, 3 * MiB, 64 * KiB, 63, "g.bin")
        p, addr, port = gbt_seed(sw, info, src_dir, boot)
        if not wait_for(lambda: any(a["port"] == port for a in dht_announces(r.proc)), 30):
            tap.ok(False, "libtorrent finds a gbt seeder through the DHT",
                   "gbt never announced to the libtorrent node:\n" + p.log_tail())
            return
        leech = libtorrent_peer(sw, info, sw.path("out"), leech=True, name="lt-leech", extra=[
            "--no-tracker", "--dht", "--dht-bootstrap", boot, "--dht-announce-every", "2"])
        done = leech.proc.wait_line(lambda l: l == "DONE", TIMEOUT)
        tap.ok(done is not None and not compare_tree(src, sw.path("out")),
               "libtorrent finds a gbt seeder through the DHT (gbt announced to a libtorrent node)",
               leech.proc.log_tail(10))


def case_gbt_as_node(tap):
    with Swarm("dht-node") as sw:
        # gbt's node: up while it seeds some other torrent
        _, other_dir, other = offline_torrent(sw, 64 * KiB, 16 * KiB, 64, "other.bin")
        p, addr, port = gbt_seed(sw, other, other_dir, "", name="gbt-node")
        boot = "%s:%d" % (addr, port)
        src, src_dir, info = offline_torrent(sw, 3 * MiB, 64 * KiB, 65, "n.bin")
        libtorrent_peer(sw, info, src_dir, name="lt-seed", extra=[
            "--no-tracker", "--dht", "--dht-bootstrap", boot, "--dht-announce-every", "1"])
        leech = libtorrent_peer(sw, info, sw.path("out"), leech=True, name="lt-leech", extra=[
            "--no-tracker", "--dht", "--dht-bootstrap", boot, "--dht-announce-every", "2"])
        done = leech.proc.wait_line(lambda l: l == "DONE", TIMEOUT)
        tap.ok(done is not None and not compare_tree(src, sw.path("out")) and p.alive(),
               "gbt's DHT node serves two libtorrent peers: one announces, the other finds it",
               leech.proc.log_tail(10) + "\n" + p.log_tail(5))


def case_bootstrap_by_name(tap):
    """GBT_DHT_BOOTSTRAP may name a host: "localhost" here."""
    with Swarm("dht-name") as sw:
        probe = MiniNode("127.0.0.1")
        try:
            src, src_dir, info = offline_torrent(sw, 64 * KiB, 16 * KiB, 66, "h.bin")
            p, addr, port = gbt_seed(sw, info, src_dir, "localhost:%d" % probe.addr[1])
            wait_for(lambda: probe.pump(0.5) or b"get_peers" in probe.seen_queries, 10)
            tap.ok(b"find_node" in probe.seen_queries and b"get_peers" in probe.seen_queries,
                   "a bootstrap node given by name is looked up and joined at once",
                   "queries seen: %r\n%s" % (probe.seen_queries, p.log_tail(5)))
        finally:
            probe.close()


def case_port_message(tap):
    """BEP 5 on the wire: gbt's handshake sets the DHT bit, a peer that sets
    it too gets a PORT message with gbt's node's UDP port, and a PORT
    message from the peer gets that node pinged."""
    with Swarm("dht-port") as sw:
        probe = MiniNode(sw.new_addr())
        conn = None
        try:
            src, src_dir, info = offline_torrent(sw, 64 * KiB, 16 * KiB, 67, "p.bin")
            p, addr, port = gbt_seed(sw, info, src_dir, "")
            diag = []
            # from the probe's address: a PORT message names a port at the peer's IP
            conn = socket.create_connection((addr, port), 5, source_address=(probe.addr[0], 0))
            conn.settimeout(5)
            reserved = bytearray(8)
            reserved[7] |= 0x01
            conn.sendall(b"\x13BitTorrent protocol" + bytes(reserved) + info.info_hash
                         + b"-PY0001-" + os.urandom(6).hex().encode())
            hs = recv_exact(conn, 68)
            if not hs[27] & 0x01:
                diag.append("gbt's handshake does not set the DHT bit: %r" % hs[20:28])
            got_port = None
            end = time.monotonic() + 5
            while got_port is None and time.monotonic() < end:
                (length,) = struct.unpack(">I", recv_exact(conn, 4))
                body = recv_exact(conn, length) if length else b""
                if body[:1] == b"\x09" and len(body) == 3:
                    got_port = int.from_bytes(body[1:3], "big")
            if got_port != port:
                diag.append("PORT message: %r, expected %d" % (got_port, port))
            conn.sendall((3).to_bytes(4, "big") + b"\x09" + probe.addr[1].to_bytes(2, "big"))
            wait_for(lambda: probe.pump(0.3) or b"ping" in probe.seen_queries, 5)
            if b"ping" not in probe.seen_queries:
                diag.append("gbt did not ping the node of our PORT message: %r"
                            % probe.seen_queries)
            tap.ok(not diag, "BEP 5 wire: DHT bit, PORT with gbt's UDP port, and a ping for "
                   "ours", "\n".join(diag))
        finally:
            if conn:
                conn.close()
            probe.close()


CASES = [case_krpc, case_bootstrap_by_name, case_port_message, case_gbt_finds_libtorrent, case_libtorrent_finds_gbt, case_gbt_as_node]


def main():
    unmet = check_prerequisites("gbt")
    return run_cases(CASES, unmet)


if __name__ == "__main__":
    sys.exit(main())
