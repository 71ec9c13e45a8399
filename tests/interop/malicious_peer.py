#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile BitTorrent peer for the interop tests.

It listens on one loopback address, announces itself to the torrent's
tracker as a seeder, completes the BEP 3 handshake, claims every piece,
unchokes, and then lies according to --mode:

  corrupt     answers every request with random bytes (pieces fail their hash)
  bad-index   answers requests with piece messages for an index past the end
  oversized   sends a length prefix of ~2 GiB, then a trickle of bytes
  wrong-hash  answers the handshake with another info-hash
  spare-bits  sends a bitfield with the spare bits of the last byte set,
              then stays choked and silent
  bad-metadata  offers ut_metadata (BEP 9) and serves an info dictionary of
              the right size with flipped bytes; claims no piece
  bad-pex     offers ut_pex (BEP 11) and sends a message whose "added" is
              not a list of 6-byte entries; claims no piece
  stall       takes every request and answers none
  hoard       the same, but sends a keep-alive every --keepalive seconds and
              never rejects: a peer that claims everything, stays connected
              and sends nothing
  poison      serves the real data of --data (a single-file payload) for most
              blocks and random bytes for a few blocks of some pieces
              (--poison-every), at most --rate bytes a second per connection
  flood       once the peer is interested, sends unrequested 16 KiB piece
              messages at offset 0 of random pieces, random bytes, as fast as
              it can (--flood-rate to cap it); answers no request
  huge-prefix answers a request with a 4 GiB (0xffffffff) length prefix, then
              a trickle of bytes
  slowloris   sends its handshake one byte every --drip seconds and nothing
              else

What happened is printed to stdout as JSON lines, with wall-clock times, so
a test can tell who closed each connection and when:
  {"ev": "listening"} {"ev": "accept", "conn": n, "peer": "ip:port"}
  {"ev": "handshake", "conn": n, "peer_id": "..."} {"ev": "lie", "conn": n, ...}
  {"ev": "closed", "conn": n, "by": "remote"|"local", "lies": k, "t": ...}
The newer modes add: {"ev": "flood-start", "conn": n} and "flooded" (bytes)
in "closed" (flood); "served" and "poisoned" block counts in "closed"
(poison); "dripped" bytes in "closed" (slowloris); "keepalives" (hoard).
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop.bencode import bdecode, bencode  # noqa: E402
from gbtinterop.net import recv_exact  # noqa: E402
from gbtinterop.torrents import load_torrent  # noqa: E402
from gbtinterop.tracker import announce  # noqa: E402

PSTR = b"\x13BitTorrent protocol"
_out_lock = threading.Lock()


def emit(**kw):
    kw["t"] = time.time()
    with _out_lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


def msg(mid, payload=b""):
    return struct.pack(">IB", 1 + len(payload), mid) + payload


BLOCK = 16384


class Liar:
    def __init__(self, info, mode, hold, data=None, rate=0, poison_every=3, keepalive=5.0,
                 flood_rate=0, drip=3.0):
        self.info = info
        self.mode = mode
        self.hold = hold
        self.data = data
        self.rate = rate
        self.poison_every = poison_every
        self.keepalive = keepalive
        self.flood_rate = flood_rate
        self.drip = drip
        self.peer_id = b"-ML0001-" + os.urandom(6).hex().encode()
        self.n = 0

    def bitfield(self):
        nbytes = (self.info.num_pieces + 7) // 8
        bf = bytearray(b"\xff" * nbytes)
        spare = nbytes * 8 - self.info.num_pieces
        if spare and self.mode != "spare-bits":
            bf[-1] = (0xff << spare) & 0xff
        return bytes(bf)

    def serve(self, sock, conn):
        if self.mode in NEW_MODES:
            return getattr(self, "serve_" + self.mode.replace("-", "_"))(sock, conn)
        lies = 0
        by = "local"
        sock.settimeout(self.hold)
        try:
            hs = recv_exact(sock, 68)
            if hs[:20] != PSTR or hs[28:48] != self.info.info_hash:
                emit(ev="bad-handshake", conn=conn)
                return
            emit(ev="handshake", conn=conn, peer_id=hs[48:68].decode("latin-1"))
            ih = self.info.info_hash
            if self.mode == "wrong-hash":
                ih = bytes(b ^ 0x5a for b in ih)
                lies += 1
                emit(ev="lie", conn=conn, what="wrong info-hash")
            reserved = bytearray(8)
            if self.mode in ("bad-metadata", "bad-pex"):
                reserved[5] |= 0x10  # BEP 10
            sock.sendall(PSTR + bytes(reserved) + ih + self.peer_id)
            if self.mode == "bad-metadata":
                hs = bencode({"m": {"ut_metadata": 3},
                                    "metadata_size": len(self.info.info_raw)})
                sock.sendall(msg(20, b"\x00" + hs))
            elif self.mode == "bad-pex":
                sock.sendall(msg(20, b"\x00" + bencode({"m": {"ut_pex": 1}})))
            else:
                sock.sendall(msg(5, self.bitfield()))
            if self.mode == "spare-bits":
                lies += 1
                emit(ev="lie", conn=conn, what="spare bits set")
            elif self.mode not in ("wrong-hash", "bad-metadata", "bad-pex"):
                sock.sendall(msg(1))  # unchoke
            their_ut_metadata = None
            while True:
                (length,) = struct.unpack(">I", recv_exact(sock, 4))
                if length == 0:
                    continue
                if length > 1 << 20:
                    emit(ev="peer-sent-oversized", conn=conn, length=length)
                    return
                body = recv_exact(sock, length)
                if body[0] == 20 and body[1] == 0 and self.mode == "bad-pex":
                    d, _ = bdecode(body[2:])
                    their = d.get(b"m", {}).get(b"ut_pex")
                    if their:
                        bad = bencode({"added": b"\x7f\x00\x00\x01\x1a\xe1\x00",
                                             "added.f": b"\x00"})
                        sock.sendall(msg(20, bytes([their]) + bad))
                        lies += 1
                        emit(ev="lie", conn=conn, mode=self.mode)
                    continue
                if body[0] == 20 and self.mode == "bad-metadata":
                    if body[1] == 0:
                        d, _ = bdecode(body[2:])
                        their_ut_metadata = d.get(b"m", {}).get(b"ut_metadata")
                        continue
                    req, _ = bdecode(body[2:])
                    if their_ut_metadata and req.get(b"msg_type") == 0:
                        raw = self.info.info_raw
                        piece = req[b"piece"]
                        block = bytearray(raw[piece * 16384:(piece + 1) * 16384])
                        for i in range(0, len(block), 97):
                            block[i] ^= 0xff
                        reply = bencode({"msg_type": 1, "piece": piece,
                                               "total_size": len(raw)}) + bytes(block)
                        sock.sendall(msg(20, bytes([their_ut_metadata]) + reply))
                        lies += 1
                        emit(ev="lie", conn=conn, mode=self.mode, piece=piece)
                    continue
                if body[0] != 6 or len(body) != 13 or self.mode in ("wrong-hash", "spare-bits"):
                    continue
                index, begin, blen = struct.unpack(">III", body[1:13])
                if self.mode == "stall":
                    # takes every request, answers none: only a timeout helps
                    lies += 1
                    emit(ev="lie", conn=conn, mode=self.mode, index=index, begin=begin)
                    continue
                if self.mode == "corrupt":
                    payload = os.urandom(blen)
                    sock.sendall(msg(7, struct.pack(">II", index, begin) + payload))
                elif self.mode == "bad-index":
                    bad = self.info.num_pieces + 7 + lies
                    sock.sendall(msg(7, struct.pack(">II", bad, begin) + os.urandom(blen)))
                elif self.mode == "oversized":
                    sock.sendall(struct.pack(">I", 0x7ffffff0) + b"\x07" + bytes(4096))
                lies += 1
                emit(ev="lie", conn=conn, mode=self.mode, index=index, begin=begin, length=blen)
        except (EOFError, ConnectionResetError, BrokenPipeError):
            by = "remote"
        except socket.timeout:
            by = "local"
        except OSError as e:
            emit(ev="oserror", conn=conn, error=str(e))
            by = "remote"
        finally:
            emit(ev="closed", conn=conn, by=by, lies=lies)
            try:
                sock.close()
            except OSError:
                pass


    # ---- the newer modes: one method each, sharing the opening

    def _open(self, sock, conn):
        """Our side of the handshake after theirs, a full bitfield and an
        unchoke.  False (after an event) when their handshake is wrong."""
        hs = recv_exact(sock, 68)
        if hs[:20] != PSTR or hs[28:48] != self.info.info_hash:
            emit(ev="bad-handshake", conn=conn)
            return False
        emit(ev="handshake", conn=conn, peer_id=hs[48:68].decode("latin-1"))
        sock.sendall(PSTR + bytes(8) + self.info.info_hash + self.peer_id
                     + msg(5, self.bitfield()) + msg(1))
        return True

    def _run(self, sock, conn, body_cb, extra):
        """Reads messages until the remote closes (or --hold seconds of
        silence), handing each to body_cb(body); emits "closed" with @extra
        (a dict, read when closing)."""
        by = "local"
        sock.settimeout(self.hold)
        try:
            if not self._open(sock, conn):
                return
            while True:
                (length,) = struct.unpack(">I", recv_exact(sock, 4))
                if length == 0:
                    continue
                if length > 1 << 20:
                    emit(ev="peer-sent-oversized", conn=conn, length=length)
                    return
                body_cb(recv_exact(sock, length))
        except (EOFError, ConnectionResetError, BrokenPipeError):
            by = "remote"
        except socket.timeout:
            by = "local"
        except OSError as e:
            emit(ev="oserror", conn=conn, error=str(e))
            by = "remote"
        finally:
            extra.setdefault("lies", 0)
            extra["stop"] = True
            emit(ev="closed", conn=conn, by=by, **{k: v for k, v in extra.items() if k != "stop"})
            try:
                sock.close()
            except OSError:
                pass

    def serve_hoard(self, sock, conn):
        st = {"lies": 0, "keepalives": 0}
        lock = threading.Lock()

        def keepalives():
            while not st.get("stop"):
                time.sleep(self.keepalive)
                if st.get("stop"):
                    return
                try:
                    with lock:
                        sock.sendall(struct.pack(">I", 0))
                    st["keepalives"] += 1
                except OSError:
                    return

        def on_body(body):
            if body[0] == 6 and len(body) == 13:
                st["lies"] += 1
                if st["lies"] == 1:
                    emit(ev="lie", conn=conn, mode=self.mode, what="first request left unanswered")

        threading.Thread(target=keepalives, daemon=True).start()
        self._run(sock, conn, on_body, st)

    def _poisoned(self, index, begin):
        """A few blocks of every --poison-every'th piece: two blocks a piece,
        at places that move with the index."""
        if index % self.poison_every != 0:
            return False
        nblocks = (self.info.piece_size(index) + BLOCK - 1) // BLOCK
        return begin // BLOCK in (index % nblocks, (index + 5) % nblocks)

    def serve_poison(self, sock, conn):
        st = {"lies": 0, "served": 0, "poisoned": 0}
        f = open(self.data, "rb")
        sent_bytes = [0]
        t0 = time.monotonic()

        def on_body(body):
            if body[0] != 6 or len(body) != 13:
                return
            index, begin, blen = struct.unpack(">III", body[1:13])
            if index >= self.info.num_pieces or blen > 128 * 1024:
                return
            if self._poisoned(index, begin):
                payload = os.urandom(blen)
                st["poisoned"] += 1
                st["lies"] += 1
                emit(ev="lie", conn=conn, mode=self.mode, index=index, begin=begin, length=blen)
            else:
                f.seek(index * self.info.piece_length + begin)
                payload = f.read(blen)
            st["served"] += 1
            sock.sendall(msg(7, struct.pack(">II", index, begin) + payload))
            sent_bytes[0] += blen
            if self.rate:
                ahead = sent_bytes[0] / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)

        try:
            self._run(sock, conn, on_body, st)
        finally:
            f.close()

    def serve_flood(self, sock, conn):
        st = {"lies": 0, "flooded": 0}
        started = threading.Event()
        rnd = random.Random()
        pool = [os.urandom(BLOCK) for _ in range(32)]
        head = struct.pack(">IB", 9 + BLOCK, 7)

        def flood():
            t0 = time.monotonic()
            try:
                while not st.get("stop"):
                    n = self.info.num_pieces
                    batch = b"".join(head + struct.pack(">II", rnd.randrange(n), 0)
                                     + pool[rnd.randrange(len(pool))] for _ in range(16))
                    sock.sendall(batch)
                    st["flooded"] += len(batch)
                    st["lies"] += 16
                    if self.flood_rate:
                        ahead = st["flooded"] / self.flood_rate - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
            except OSError:
                pass

        def on_body(body):
            if body[0] == 2 and not started.is_set():  # interested: the flood starts
                started.set()
                emit(ev="flood-start", conn=conn)
                threading.Thread(target=flood, daemon=True).start()

        self._run(sock, conn, on_body, st)

    def serve_huge_prefix(self, sock, conn):
        st = {"lies": 0}

        def on_body(body):
            if body[0] == 6 and len(body) == 13:
                sock.sendall(struct.pack(">I", 0xffffffff) + b"\x07" + bytes(4096))
                st["lies"] += 1
                emit(ev="lie", conn=conn, mode=self.mode, what="4 GiB length prefix")

        self._run(sock, conn, on_body, st)

    def serve_slowloris(self, sock, conn):
        """Our handshake, one byte every --drip seconds; whatever the
        remote sends is read and dropped, so its close is seen at once."""
        hs = PSTR + bytes(8) + self.info.info_hash + self.peer_id
        dripped = 0
        by = "local"
        deadline = time.monotonic() + self.hold
        try:
            while dripped < len(hs) and time.monotonic() < deadline:
                sock.sendall(hs[dripped:dripped + 1])
                dripped += 1
                if dripped == 1:
                    emit(ev="lie", conn=conn, mode=self.mode, what="first handshake byte")
                next_t = time.monotonic() + self.drip
                while time.monotonic() < next_t:
                    sock.settimeout(max(0.01, next_t - time.monotonic()))
                    try:
                        if not sock.recv(65536):
                            raise EOFError
                    except socket.timeout:
                        pass
        except (EOFError, ConnectionResetError, BrokenPipeError):
            by = "remote"
        except OSError as e:
            emit(ev="oserror", conn=conn, error=str(e))
            by = "remote"
        finally:
            emit(ev="closed", conn=conn, by=by, lies=1 if dripped else 0, dripped=dripped)
            try:
                sock.close()
            except OSError:
                pass


NEW_MODES = ("hoard", "poison", "flood", "huge-prefix", "slowloris")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=("corrupt", "bad-index", "oversized", "wrong-hash", "spare-bits",
                             "stall", "bad-metadata", "bad-pex") + NEW_MODES)
    ap.add_argument("--announce", help="tracker URL to announce to (default: the torrent's)")
    ap.add_argument("--hold", type=float, default=60,
                    help="seconds of silence from the peer before we give up on it")
    ap.add_argument("--data", help="poison: the payload file (a single-file torrent's)")
    ap.add_argument("--rate", type=int, default=0, help="poison: bytes a second, 0 = no cap")
    ap.add_argument("--poison-every", type=int, default=3,
                    help="poison: every Nth piece (index %% N == 0) gets a few bad blocks")
    ap.add_argument("--keepalive", type=float, default=5.0,
                    help="hoard: seconds between keep-alives")
    ap.add_argument("--flood-rate", type=int, default=0, help="flood: bytes a second, 0 = no cap")
    ap.add_argument("--drip", type=float, default=3.0, help="slowloris: seconds between bytes")
    args = ap.parse_args()
    if args.mode == "poison" and not args.data:
        ap.error("--mode poison needs --data")

    info = load_torrent(args.torrent)
    liar = Liar(info, args.mode, args.hold, data=args.data, rate=args.rate,
                poison_every=args.poison_every, keepalive=args.keepalive,
                flood_rate=args.flood_rate, drip=args.drip)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(16)
    url = args.announce or info.meta[b"announce"].decode()
    body = announce(url, info.info_hash, liar.peer_id, args.addr, args.port, left=0,
                          event="started")
    if body is None or b"failure reason" in body:
        emit(ev="announce-failed", body=(body or b"").decode("latin-1"))
        return 1
    emit(ev="listening")
    while True:
        sock, peer = ls.accept()
        liar.n += 1
        conn = liar.n
        emit(ev="accept", conn=conn, peer="%s:%d" % peer)
        threading.Thread(target=liar.serve, args=(sock, conn), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
