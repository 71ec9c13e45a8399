# SPDX-License-Identifier: LGPL-2.1-or-later
"""opentracker on 127.0.0.1 (HTTP and UDP on one port), owned by a Swarm:
its whitelist, announces sent from any loopback address, and which peers
it lists for a torrent."""
import http.client
import os
import signal
import socket
import struct
import time
import urllib.parse

from .bencode import bdecode
from .net import free_port, wait_tcp


def announce(url, info_hash, peer_id, ip, port, left=0, event=None, numwant=50,
             uploaded=0, downloaded=0, timeout=5):
    """One HTTP announce sent from source address ip (the tracker takes
    the peer's address from the connection).  Returns the raw body or None."""
    u = urllib.parse.urlsplit(url)
    q = {"info_hash": info_hash, "peer_id": peer_id, "port": port, "uploaded": uploaded,
         "downloaded": downloaded, "left": left, "compact": 1, "numwant": numwant}
    if event:
        q["event"] = event
    # quote, not quote_plus: opentracker reads "+" as itself, not a space.
    path = u.path + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout, source_address=(ip, 0))
        c.request("GET", path)
        body = c.getresponse().read()
        c.close()
        return body
    except OSError:
        return None


def _probe_id():
    return b"-PROBE-" + os.urandom(7).hex()[:13].encode()


class Opentracker:
    """Started by Swarm.tracker on first use; its process belongs to the swarm."""

    def __init__(self, sw):
        self.sw = sw
        self.port = None
        self.proc = None
        self._hashes = []
        self._probe_addr = None
        root = sw.path("tracker")
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        self._whitelist = os.path.join(root, "whitelist")
        with open(self._whitelist, "w"):
            pass
        os.chmod(self._whitelist, 0o644)
        p = None
        for attempt in range(5):
            port = free_port("127.0.0.1")
            # -w is opened after the chroot: relative to -d.
            p = sw.spawn("opentracker", ["opentracker", "-i", "127.0.0.1", "-p", str(port),
                                         "-P", str(port), "-A", "127.0.0.1", "-d", root,
                                         "-u", "nobody", "-w", "whitelist"])
            if wait_tcp("127.0.0.1", port, 10, proc=p):
                self.port = port
                self.proc = p
                return
            sw.forget(p)
        raise RuntimeError("opentracker did not start:\n" + (p.log_tail() if p else ""))

    @property
    def announce_url(self):
        return "http://127.0.0.1:%d/announce" % self.port

    @property
    def udp_url(self):
        return "udp://127.0.0.1:%d" % self.port

    def add_torrent(self, info):
        """Whitelists the torrent's info-hash and waits until the tracker
        accepts announces for it."""
        url = self.announce_url
        if info.hex not in self._hashes:
            self._hashes.append(info.hex)
            with open(self._whitelist, "w") as f:
                f.write("".join(h + "\n" for h in self._hashes))
            self.proc.signal_main(signal.SIGHUP)
        # Only a "started" announce is checked against the whitelist
        # ("stopped" is answered whatever the hash), and a SIGHUP sent while
        # opentracker is still starting can be lost: probe with "started"
        # and send SIGHUP again until it takes.
        deadline = time.monotonic() + 20
        last_hup = time.monotonic()
        pid = _probe_id()
        while time.monotonic() < deadline:
            r = announce(url, info.info_hash, pid, "127.0.0.1", 1, left=0, event="started",
                         numwant=0)
            if r is not None and b"failure reason" not in r:
                announce(url, info.info_hash, pid, "127.0.0.1", 1, left=0, event="stopped",
                         numwant=0)
                return
            if time.monotonic() - last_hup > 1.0:
                self.proc.signal_main(signal.SIGHUP)
                last_hup = time.monotonic()
            time.sleep(0.1)
        raise RuntimeError("tracker did not accept %s" % info.hex)

    def peers(self, info):
        """(ip, port) pairs the tracker hands out for info now."""
        if self._probe_addr is None:
            self._probe_addr = self.sw.new_addr()
        addr = self._probe_addr
        pid = _probe_id()
        r = announce(self.announce_url, info.info_hash, pid, addr, 1, left=1, event="started",
                     numwant=200)
        announce(self.announce_url, info.info_hash, pid, addr, 1, left=1, event="stopped",
                 numwant=0)
        if r is None:
            return []
        d, _ = bdecode(r)
        peers = d.get(b"peers", b"")
        out = []
        if isinstance(peers, bytes):
            for i in range(0, len(peers) - 5, 6):
                ip = socket.inet_ntoa(peers[i:i + 4])
                out.append((ip, struct.unpack(">H", peers[i + 4:i + 6])[0]))
        return [p for p in out if p != (addr, 1)]

    def wait_announced(self, info, peer, timeout):
        """True once the tracker lists @peer (a peers.Peer) for @info; False
        at the deadline or when the peer's process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (peer.addr, peer.port) in self.peers(info):
                return True
            if not peer.proc.alive():
                return False
            time.sleep(0.25)
        return False
