# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real-peer fixtures for gbt's interop tests: a loopback swarm.

A Swarm is a context manager owning a temp dir, an opentracker, and any
number of seeders (libtorrent, aria2c, transmission-cli), each on its own
127.x.y.z address.  Every process it starts runs in its own process group
under `timeout` (a last guard should the test itself be SIGKILLed) with
PR_SET_PDEATHSIG, and is stopped by PID with bounded waits when the Swarm
exits, whether by return, exception, SIGTERM or SIGINT.

Also here: deterministic payload generators, a small bencoder (any piece
size, down to 16 KiB, and empty files, which mktorrent and
transmission-create cannot both do), and a byte-for-byte tree compare.

Loopback only: nothing here talks to anything outside 127.0.0.0/8.
"""
import ctypes
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
KiB = 1024
MiB = 1024 * 1024

# ---------------------------------------------------------------- TAP


class Tap:
    """Minimal TAP producer: plan first, one line per case."""

    def __init__(self, plan):
        self.plan = plan
        self.n = 0
        self.failed = 0
        print("1..%d" % plan, flush=True)

    def ok(self, cond, desc, diag=None, todo=None):
        """todo: a reason this check is expected to fail (TAP TODO: reported,
        not counted as a failure)."""
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, desc), flush=True)
        elif todo:
            print("not ok %d - %s # TODO %s" % (self.n, desc, todo), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc), flush=True)
            if diag:
                self.diag(diag)
        return cond

    def skip(self, desc, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, why), flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def finish(self):
        while self.n < self.plan:
            self.ok(False, "case never ran")
        return 1 if self.failed else 0


def log(msg):
    print("# " + msg, flush=True)


# ---------------------------------------------------------------- bencode


def bencode(obj):
    out = []

    def enc(o):
        if isinstance(o, bool):
            raise TypeError("bool in bencode")
        if isinstance(o, int):
            out.append(b"i%de" % o)
        elif isinstance(o, (bytes, bytearray)):
            out.append(b"%d:" % len(o))
            out.append(bytes(o))
        elif isinstance(o, str):
            enc(o.encode("utf-8"))
        elif isinstance(o, (list, tuple)):
            out.append(b"l")
            for x in o:
                enc(x)
            out.append(b"e")
        elif isinstance(o, dict):
            out.append(b"d")
            items = [(k.encode("utf-8") if isinstance(k, str) else k, v) for k, v in o.items()]
            for k, v in sorted(items):
                enc(k)
                enc(v)
            out.append(b"e")
        else:
            raise TypeError("cannot bencode %r" % type(o))

    enc(obj)
    return b"".join(out)


def bdecode(data):
    """Decodes bencode; returns (value, raw_info_span or None)."""
    info_span = [None]

    def dec(i, depth):
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            i += 1
            lst = []
            while data[i:i + 1] != b"e":
                v, i = dec(i, depth + 1)
                lst.append(v)
            return lst, i + 1
        if c == b"d":
            i += 1
            d = {}
            while data[i:i + 1] != b"e":
                k, i = dec(i, depth + 1)
                start = i
                v, i = dec(i, depth + 1)
                if depth == 0 and k == b"info":
                    info_span[0] = data[start:i]
                d[k] = v
            return d, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            return data[j + 1:j + 1 + n], j + 1 + n
        raise ValueError("bad bencode at %d" % i)

    v, end = dec(0, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return v, info_span[0]


# ---------------------------------------------------------------- payloads


def write_random_file(path, size, seed):
    """Deterministic pseudo-random content; ~1 GB/s."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 4 * MiB)
            f.write(rng.randbytes(n))
            left -= n
    return path


def make_tree(root, files, seed=1):
    """files: list of (relative path, size).  Returns root."""
    os.makedirs(root, exist_ok=True)
    for k, (rel, size) in enumerate(files):
        write_random_file(os.path.join(root, rel), size, seed * 1000 + k)
    return root


def list_files(root):
    """Relative paths (str) of every regular file under root, sorted."""
    result = []
    for dirpath, dirnames, filenames in os.walk(root):
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            result.append(os.path.relpath(full, root))
    return sorted(result)


class TorrentInfo:
    def __init__(self, path, meta, info_raw):
        self.path = path
        self.meta = meta
        self.info_raw = info_raw
        self.info_hash = hashlib.sha1(info_raw).digest()
        self.hex = self.info_hash.hex()
        info = meta[b"info"]
        self.name = info[b"name"].decode("utf-8")
        self.piece_length = info[b"piece length"]
        self.hashes = [info[b"pieces"][i:i + 20] for i in range(0, len(info[b"pieces"]), 20)]
        self.num_pieces = len(self.hashes)
        if b"files" in info:
            self.total_size = sum(f[b"length"] for f in info[b"files"])
        else:
            self.total_size = info[b"length"]

    def piece_size(self, index):
        if index == self.num_pieces - 1:
            return self.total_size - index * self.piece_length
        return self.piece_length


def load_torrent(path):
    with open(path, "rb") as f:
        meta, info_raw = bdecode(f.read())
    return TorrentInfo(path, meta, info_raw)


def make_torrent(src, out_path, announce, piece_length):
    """Builds a BEP 3 torrent for the file or directory src, any power-of-two
    piece length (16 KiB included), empty files kept.  Multi-file order is
    the sorted path order."""
    name = os.path.basename(os.path.normpath(src))
    if os.path.isdir(src):
        rels = list_files(src)
        rels.sort(key=lambda r: [p.encode("utf-8") for p in r.split(os.sep)])
        paths = [os.path.join(src, r) for r in rels]
        files = [{"length": os.path.getsize(p), "path": r.split(os.sep)} for p, r in zip(paths, rels)]
    else:
        paths = [src]
        files = None
    pieces = []
    buf = bytearray()
    for p in paths:
        with open(p, "rb") as f:
            while True:
                chunk = f.read(4 * MiB)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= piece_length:
                    pieces.append(hashlib.sha1(buf[:piece_length]).digest())
                    del buf[:piece_length]
    if buf:
        pieces.append(hashlib.sha1(buf).digest())
    info = {"name": name, "piece length": piece_length, "pieces": b"".join(pieces)}
    if files is None:
        info["length"] = os.path.getsize(src)
    else:
        info["files"] = files
    meta = {"announce": announce, "info": info}
    with open(out_path, "wb") as f:
        f.write(bencode(meta))
    return load_torrent(out_path)


def single_file(sw, size, piece_length, seed, name="single.bin", maker=None, announce=None):
    """A random file of @size under sw's "src" folder and its torrent
    (@announce: default the swarm's opentracker, started on first use).
    Returns (file path, folder a seeder serves from, TorrentInfo)."""
    src_dir = sw.path("src")
    os.makedirs(src_dir, exist_ok=True)
    src = write_random_file(os.path.join(src_dir, name), size, seed)
    info = (maker or make_torrent)(src, sw.path(name + ".torrent"), announce or sw.announce_url,
                                   piece_length)
    return src, src_dir, info


def mktorrent(src, out_path, announce, piece_length):
    """The same with mktorrent (32 KiB minimum, no creation date)."""
    exp = piece_length.bit_length() - 1
    subprocess.run(["mktorrent", "-l", str(exp), "-d", "-a", announce, "-o", out_path, src],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return load_torrent(out_path)


def compare_tree(src, out_dir, name=None):
    """Checks out_dir/<name> against src byte for byte: same files, same
    contents, nothing extra inside the torrent's own tree.  Hidden entries
    next to it at the top of out_dir (resume data) are allowed.  Returns a
    list of human-readable differences (empty when identical)."""
    name = name or os.path.basename(os.path.normpath(src))
    got = os.path.join(out_dir, name)
    diffs = []
    if not os.path.exists(got):
        return ["missing %s" % got]
    if os.path.isdir(out_dir):
        for entry in os.listdir(out_dir):
            if entry != name and not entry.startswith("."):
                diffs.append("extra top-level entry %r" % entry)
    if os.path.isfile(src):
        pairs = [(src, got, name)]
    else:
        if not os.path.isdir(got):
            return ["%s is not a directory" % got]
        a, b = set(list_files(src)), set(list_files(got))
        for r in sorted(a - b):
            diffs.append("missing file %r" % r)
        for r in sorted(b - a):
            diffs.append("extra file %r" % r)
        pairs = [(os.path.join(src, r), os.path.join(got, r), r) for r in sorted(a & b)]
    for s, g, r in pairs:
        if os.path.getsize(s) != os.path.getsize(g):
            diffs.append("%r: size %d, expected %d" % (r, os.path.getsize(g), os.path.getsize(s)))
            continue
        with open(s, "rb") as fs, open(g, "rb") as fg:
            off = 0
            while True:
                x, y = fs.read(MiB), fg.read(MiB)
                if x != y:
                    diffs.append("%r: contents differ near offset %d" % (r, off))
                    break
                if not x:
                    break
                off += len(x)
    return diffs


# ---------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup():
    # Dies with us if the test is killed; the session makes PID == PGID.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Proc:
    """A child process in its own process group, output in a log file,
    stdout lines also kept in memory for wait_line()."""

    def __init__(self, name, argv, log_path, cwd=None, env=None, lifetime=900, capture=True):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.lines = []
        self.cond = threading.Condition()
        self._log = open(log_path, "ab")
        env = dict(os.environ if env is None else env)
        env["GBT_INTEROP_OWNER"] = str(os.getpid())
        # a gbt with the dht plugin joins through loopback nodes a test names,
        # never the public routers
        env.setdefault("GBT_DHT_BOOTSTRAP", "")
        full = ["timeout", "-k", "5", str(int(lifetime))] + list(argv)
        self.popen = subprocess.Popen(
            full, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=(subprocess.PIPE if capture is True else
                    None if capture == "inherit" else self._log),
            stderr=None if capture == "inherit" else self._log,
            start_new_session=True, preexec_fn=_child_setup)
        self.pid = self.popen.pid
        self._reader = None
        if capture is True:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()

    def _read(self):
        for raw in self.popen.stdout:
            try:
                self._log.write(raw)
                self._log.flush()
            except ValueError:
                pass
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def alive(self):
        return self.popen.poll() is None

    def wait_line(self, pred, timeout):
        """Waits for a stdout line satisfying pred (str -> bool); returns it
        or None on timeout or exit."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.cond:
            while True:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    if pred(line):
                        return line
                if not self.alive() and (self._reader is None or not self._reader.is_alive()):
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def last_line(self, prefix):
        with self.cond:
            for line in reversed(self.lines):
                if line.startswith(prefix):
                    return line
        return None

    def signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def signal_main(self, sig):
        """Signals the program itself, not the `timeout` wrapping it (which
        takes any signal as its cue to kill the group 5 s later)."""
        try:
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        for k in kids:
            try:
                os.kill(k, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace=5.0):
        """SIGTERM to the group, bounded wait, then SIGKILL; always reaps."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self.signal(signal.SIGKILL)
                self.wait(5)
        # Children of the group that outlived the leader.
        self.signal(signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(2)
        try:
            self._log.close()
        except Exception:
            pass
        return self.popen.returncode

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace")
            return "\n".join(data.splitlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- swarm


class Peer:
    def __init__(self, kind, addr, port, proc):
        self.kind = kind
        self.addr = addr
        self.port = port
        self.proc = proc

    def __repr__(self):
        return "<%s %s:%d>" % (self.kind, self.addr, self.port)

    def stats(self):
        """Last STATS of a libtorrent peer (dict) or None."""
        line = self.proc.last_line("STATS ")
        return json.loads(line[6:]) if line else None


_swarm_counter = [0]


class Swarm:
    def __init__(self, name="swarm", keep=None):
        self.name = name
        self.keep = keep if keep is not None else bool(os.environ.get("INTEROP_KEEP"))
        self.procs = []
        self.dir = None
        self.tracker_port = None
        self._tracker = None
        self._hashes = []
        # 127.A.B.C: A from our PID so parallel test scripts don't meet.
        _swarm_counter[0] += 1
        self._net = (20 + os.getpid() % 200, _swarm_counter[0] % 250)
        self._next_host = 2
        self._old_handlers = {}

    # --- lifetime
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="gbt-interop-%s-" % self.name)
        os.chmod(self.dir, 0o755)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers = {}
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            log("kept %s" % self.dir)

    # --- resources
    def path(self, *parts):
        p = os.path.join(self.dir, *parts)
        return p

    def new_addr(self):
        a, b = self._net
        host = self._next_host
        self._next_host += 1
        if host > 254:
            raise RuntimeError("out of addresses")
        return "127.%d.%d.%d" % (a, b, host)

    @staticmethod
    def free_port(addr="127.0.0.1"):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((addr, 0))
            port = s.getsockname()[1]
        # opentracker also wants the UDP port of the same number.
        with socket.socket(family, socket.SOCK_DGRAM) as u:
            u.bind((addr, port))
        return port

    def spawn(self, name, argv, lifetime=900, capture=True, **kw):
        log_path = self.path("%s-%d.log" % (name, len(self.procs)))
        p = Proc(name, argv, log_path, lifetime=lifetime, capture=capture, **kw)
        self.procs.append(p)
        return p

    def forget(self, proc):
        """Stops proc now and drops it from the list."""
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    # --- tracker
    @property
    def announce_url(self):
        if self.tracker_port is None:
            self.start_tracker()
        return "http://127.0.0.1:%d/announce" % self.tracker_port

    def start_tracker(self):
        root = self.path("tracker")
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o755)
        self._whitelist = os.path.join(root, "whitelist")
        with open(self._whitelist, "w"):
            pass
        os.chmod(self._whitelist, 0o644)
        for attempt in range(5):
            port = self.free_port("127.0.0.1")
            # -w is opened after the chroot: relative to -d.
            p = self.spawn("opentracker", ["opentracker", "-i", "127.0.0.1", "-p", str(port),
                                           "-P", str(port), "-A", "127.0.0.1", "-d", root,
                                           "-u", "nobody", "-w", "whitelist"])
            if wait_tcp("127.0.0.1", port, 5, proc=p):
                self.tracker_port = port
                self._tracker = p
                return p
            self.forget(p)
        raise RuntimeError("opentracker did not start:\n" + p.log_tail())

    def add_torrent(self, info):
        """Whitelists the torrent's info-hash and waits until the tracker
        accepts announces for it."""
        url = self.announce_url
        if info.hex not in self._hashes:
            self._hashes.append(info.hex)
            with open(self._whitelist, "w") as f:
                f.write("".join(h + "\n" for h in self._hashes))
            self._tracker.signal_main(signal.SIGHUP)
        # Only a "started" announce is checked against the whitelist
        # ("stopped" is answered whatever the hash), and a SIGHUP sent while
        # opentracker is still starting can be lost: probe with "started"
        # and send SIGHUP again until it takes.
        deadline = time.monotonic() + 10
        last_hup = time.monotonic()
        pid = b"-PROBE-" + os.urandom(7).hex()[:13].encode()
        while time.monotonic() < deadline:
            r = announce(url, info.info_hash, pid, "127.0.0.1", 1, left=0, event="started",
                         numwant=0)
            if r is not None and b"failure reason" not in r:
                announce(url, info.info_hash, pid, "127.0.0.1", 1, left=0, event="stopped",
                         numwant=0)
                return
            if time.monotonic() - last_hup > 1.0:
                self._tracker.signal_main(signal.SIGHUP)
                last_hup = time.monotonic()
            time.sleep(0.1)
        raise RuntimeError("tracker did not accept %s" % info.hex)

    def tracker_peers(self, info):
        """(ip, port) pairs the tracker hands out for info now."""
        addr = self.new_addr() if not hasattr(self, "_probe_addr") else self._probe_addr
        self._probe_addr = addr
        pid = b"-PROBE-" + os.urandom(7).hex()[:13].encode()
        r = announce(self.announce_url, info.info_hash, pid, addr, 1, left=1, event="started",
                     numwant=200)
        announce(self.announce_url, info.info_hash, pid, addr, 1, left=1, event="stopped", numwant=0)
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (peer.addr, peer.port) in self.tracker_peers(info):
                return True
            if not peer.proc.alive():
                return False
            time.sleep(0.25)
        return False

    # --- seeders
    def libtorrent_peer(self, info, save, leech=False, upload_limit=0, keep_seeding=False,
                        ready_timeout=60, name="libtorrent", reannounce=0, addr=None, extra=()):
        addr = addr or self.new_addr()
        port = self.free_port(addr)
        argv = [PYTHON, os.path.join(HERE, "lt_peer.py"), "--save", save,
                "--addr", addr, "--port", str(port)] + list(extra)
        if info is not None:  # None: a bare DHT node (--dht-only in extra)
            argv += ["--torrent", info.path]
        if leech:
            argv.append("--leech")
        if keep_seeding:
            argv.append("--keep-seeding")
        if upload_limit:
            argv += ["--upload-limit", str(upload_limit)]
        if reannounce:
            argv += ["--reannounce", str(reannounce)]
        p = self.spawn(name, argv)
        peer = Peer("libtorrent", addr, port, p)
        if p.wait_line(lambda l: l == "READY", ready_timeout) is None:
            raise RuntimeError("libtorrent peer not ready:\n" + p.log_tail())
        return peer

    def libtorrent_seeder(self, info, save, upload_limit=0, timeout=60, reannounce=0):
        self.add_torrent(info)
        peer = self.libtorrent_peer(info, save, upload_limit=upload_limit, ready_timeout=timeout,
                                    name="lt-seed", reannounce=reannounce)
        if not self.wait_announced(info, peer, timeout):
            raise RuntimeError("libtorrent seeder never announced:\n" + peer.proc.log_tail())
        return peer

    def aria2_args(self, addr, port):
        return ["aria2c", "--no-conf=true", "--enable-dht=false", "--enable-dht6=false",
                "--bt-enable-lpd=false", "--disable-ipv6=true", "--enable-peer-exchange=false",
                "--interface=" + addr, "--listen-port=%d" % port, "--file-allocation=none",
                "--console-log-level=warn", "--summary-interval=0", "--bt-stop-timeout=0",
                "--allow-overwrite=true", "--auto-file-renaming=false"]

    def aria2_seeder(self, info, save, timeout=60, upload_limit=0):
        self.add_torrent(info)
        addr = self.new_addr()
        port = self.free_port(addr)
        argv = self.aria2_args(addr, port) + ["--max-upload-limit=%d" % upload_limit] + [
            "--seed-ratio=0.0", "--check-integrity=true", "--bt-seed-unverified=false",
            "--dir=" + save, "--torrent-file=" + info.path]
        p = self.spawn("aria2-seed", argv, capture=False)
        peer = Peer("aria2", addr, port, p)
        if not self.wait_announced(info, peer, timeout):
            raise RuntimeError("aria2 seeder never announced:\n" + p.log_tail())
        return peer

    def transmission_seeder(self, info, save, timeout=120, upload_limit=0):
        self.add_torrent(info)
        addr = self.new_addr()
        port = self.free_port(addr)
        conf = self.path("transmission-%d" % port)
        os.makedirs(conf)
        settings = {
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False,
            "port-forwarding-enabled": False, "utp-enabled": False,
            "bind-address-ipv4": addr, "bind-address-ipv6": "::1",
            "peer-port": port, "peer-port-random-on-start": False,
            "rpc-enabled": False, "encryption": 0,
            "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False,
            "speed-limit-up-enabled": bool(upload_limit),
            "speed-limit-up": max(1, upload_limit // 1024), "speed-limit-down-enabled": False,
            "download-dir": save, "incomplete-dir-enabled": False,
            "start-added-torrents": True, "message-level": 2,
        }
        with open(os.path.join(conf, "settings.json"), "w") as f:
            json.dump(settings, f)
        p = self.spawn("transmission-seed", ["transmission-cli", "-g", conf, "-w", save,
                                             "-ep", info.path], capture=False)
        peer = Peer("transmission", addr, port, p)
        if not self.wait_announced(info, peer, timeout):
            raise RuntimeError("transmission seeder never announced:\n" + p.log_tail())
        return peer

    # --- leechers of other kinds, and gbt as a seeder
    def transmission_leecher(self, info, save, timeout=120):
        """transmission-cli downloading info into save.  It never exits and
        never dials loopback peers itself: peer.done_marker appears (written
        by its -f script) once every piece is verified.  Returns once it has
        announced, so that a seeder starting after this learns about it."""
        self.add_torrent(info)
        os.makedirs(save, exist_ok=True)
        addr = self.new_addr()
        port = self.free_port(addr)
        conf = self.path("transmission-%d" % port)
        os.makedirs(conf)
        settings = {
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False,
            "port-forwarding-enabled": False, "utp-enabled": False,
            "bind-address-ipv4": addr, "bind-address-ipv6": "::1",
            "peer-port": port, "peer-port-random-on-start": False,
            "rpc-enabled": False, "encryption": 0, "rename-partial-files": False,
            "ratio-limit-enabled": False, "idle-seeding-limit-enabled": False,
            "speed-limit-up-enabled": False, "speed-limit-down-enabled": False,
            "download-dir": save, "incomplete-dir-enabled": False,
            "start-added-torrents": True, "message-level": 2,
        }
        with open(os.path.join(conf, "settings.json"), "w") as f:
            json.dump(settings, f)
        marker = os.path.join(conf, "DONE")
        script = os.path.join(conf, "done.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\ntouch '%s'\n" % marker)
        os.chmod(script, 0o755)
        p = self.spawn("transmission-leech", ["transmission-cli", "-g", conf, "-w", save,
                                              "-et", "-f", script, info.path], capture=False)
        peer = Peer("transmission", addr, port, p)
        peer.done_marker = marker
        if not self.wait_announced(info, peer, timeout):
            raise RuntimeError("transmission leecher never announced:\n" + p.log_tail())
        return peer

    def gbt_seeder(self, info, data_dir, timeout=60, extra=(), name="gbt-seed", plugins=(),
                   env=None, tracker=True):
        """`gbt seed --json` on its own address; returns once it printed
        its "seeding" event (data verified).  peer.events() reads its JSON.
        @plugins: for --plugins=; @tracker: False when the torrent's tracker
        is not the swarm's opentracker."""
        if tracker:
            self.add_torrent(info)
        addr = self.new_addr()
        port = self.free_port(addr)
        argv = [gbt_cli()] + (["--plugins=" + ",".join(plugins)] if plugins else []) + [
            "seed", info.path, "-d", data_dir, "--json", "--bind", addr,
            "--port", str(port)] + list(extra)
        p = self.spawn(name, argv, env=env)
        peer = Peer("gbt", addr, port, p)
        if p.wait_line(lambda l: '"event":"seeding"' in l.replace(" ", ""), timeout) is None:
            raise RuntimeError("gbt seed never reported seeding (exit %s):\n%s"
                               % (p.popen.poll(), p.log_tail()))
        return peer


    def liar(self, info, mode, hold=60):
        """A malicious_peer.py on its own address, announced to the tracker."""
        self.add_torrent(info)
        addr = self.new_addr()
        port = self.free_port(addr)
        p = self.spawn("liar-" + mode, [PYTHON, os.path.join(HERE, "malicious_peer.py"),
                                         "--torrent", info.path, "--addr", addr,
                                         "--port", str(port), "--mode", mode,
                                         "--announce", self.announce_url, "--hold", str(hold)])
        if p.wait_line(lambda l: '"listening"' in l, 20) is None:
            raise RuntimeError("malicious peer did not start:\n" + p.log_tail())
        return Peer("liar-" + mode, addr, port, p)

    def copy_source(self, src, tag):
        """A private copy of a payload for one seeder (clients may touch files)."""
        dst_parent = self.path("copy-" + tag)
        os.makedirs(dst_parent)
        dst = os.path.join(dst_parent, os.path.basename(os.path.normpath(src)))
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
        return dst_parent


def liar_events(peer):
    """The malicious peer's JSON lines, parsed."""
    evs = []
    with peer.proc.cond:
        lines = list(peer.proc.lines)
    for line in lines:
        try:
            evs.append(json.loads(line))
        except ValueError:
            pass
    return evs


# ---------------------------------------------------------------- helpers


def wait_tcp(addr, port, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=1):
                return True
        except OSError:
            if proc is not None and not proc.alive():
                return False
            time.sleep(0.05)
    return False


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


def leftover_processes(names=("opentracker", "aria2c", "transmission-cli", "lt_peer.py",
                              "malicious_peer.py")):
    """Processes whose command line mentions our fixtures and whose parent
    chain includes us: should be empty after a Swarm closed."""
    out = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if any(n in cmd for n in names) and b"GBT_INTEROP_OWNER=%d" % me in env:
            out.append("%s %s" % (pid, cmd))
    return out


def recv_exact(sock, n):
    """Exactly @n bytes from @sock; EOFError if it closes first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def wait_for(pred, timeout, step=0.2):
    """Polls pred() until it returns something true (returned) or timeout
    seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def json_events(proc):
    """The JSON objects a process printed on stdout, one a line."""
    out = []
    with proc.cond:
        lines = list(proc.lines)
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_file(path, timeout, proc=None):
    """Waits for path to exist (bounded); False on timeout or proc exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if proc is not None and not proc.alive():
            return os.path.exists(path)
        time.sleep(0.2)
    return False


def piece_status(info, out_dir):
    """For each piece of info: True when the data under out_dir/<name>
    hashes right (missing or short files count as bad)."""
    info_d = info.meta[b"info"]
    root = os.path.join(out_dir, info.name)
    if b"files" in info_d:
        files = [(os.path.join(root, *[c.decode("utf-8") for c in f[b"path"]]), f[b"length"])
                 for f in info_d[b"files"]]
    else:
        files = [(root, info.total_size)]
    result = []
    buf = bytearray()
    for path, length in files:
        try:
            f = open(path, "rb")
        except OSError:
            f = None
        left = length
        while left > 0:
            chunk = f.read(min(left, 4 * MiB)) if f else b""
            if len(chunk) < min(left, 4 * MiB):
                # Short or missing: pad with a byte no piece hash will match
                # by chance (the piece then counts as bad).
                chunk += b"\xa5" * (min(left, 4 * MiB) - len(chunk))
                f and f.close()
                f = None
            buf += chunk
            left -= len(chunk)
            while len(buf) >= info.piece_length:
                result.append(hashlib.sha1(buf[:info.piece_length]).digest()
                              == info.hashes[len(result)])
                del buf[:info.piece_length]
        if f:
            f.close()
    if buf:
        result.append(hashlib.sha1(buf).digest() == info.hashes[len(result)])
    return result


def gbt_can(command):
    """True when `gbt COMMAND --help` works in this build."""
    try:
        r = subprocess.run([gbt_cli(), command, "--help"], timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def create_torrent(src, out_path, announce, piece_length):
    """A torrent made by `gbt create` when this build has it (else by
    make_torrent).  Returns (TorrentInfo, maker name)."""
    if gbt_can("create"):
        subprocess.run([gbt_cli(), "create", src, "-t", announce, "--piece-size",
                        str(piece_length), "--no-date", "-o", out_path],
                       check=True, stdout=subprocess.DEVNULL, timeout=120)
        return load_torrent(out_path), "gbt create"
    return make_torrent(src, out_path, announce, piece_length), "make_torrent"


# ---------------------------------------------------------------- leechers
#
# The tests run the same cases with gbt (the default) or, to validate the
# fixtures themselves, with aria2c or libtorrent as the downloader:
# INTEROP_LEECHER=gbt|aria2|libtorrent.


def leecher_kind():
    return os.environ.get("INTEROP_LEECHER", "gbt")


def gbt_cli():
    return os.environ.get("GBT_CLI") or os.path.join(HERE, "..", "..", "build", "cli", "gbt")


def check_prerequisites(kind=None):
    """Returns None when the tests can run, else the reason to skip."""
    kind = kind or leecher_kind()
    for tool in ("opentracker", "timeout"):
        if shutil.which(tool) is None:
            return "%s is not installed (scripts/install-deps)" % tool
    try:
        subprocess.run([PYTHON, "-c", "import libtorrent"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return "python3-libtorrent is not installed"
    if kind == "gbt":
        cli = gbt_cli()
        if not os.access(cli, os.X_OK):
            return "no gbt program at %s (set GBT_CLI)" % cli
        try:
            r = subprocess.run([cli, "download", "--help"], timeout=30,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, subprocess.SubprocessError) as e:
            return "gbt download --help failed: %s" % e
        if r.returncode != 0:
            return "'gbt download' is not available yet (gbt download --help exits %d)" % r.returncode
    elif kind == "aria2":
        if shutil.which("aria2c") is None:
            return "aria2c is not installed"
    elif kind != "libtorrent":
        return "unknown INTEROP_LEECHER=%s" % kind
    return None


class LeechRun:
    """One downloader process started by start_leecher()."""

    def __init__(self, kind, proc, addr, port, t0):
        self.kind = kind
        self.proc = proc
        self.addr = addr
        self.port = port
        self.t0 = t0
        self.rc = None
        self.elapsed = None

    def events(self):
        """gbt's --json objects (one a line); other lines ignored."""
        out = []
        with self.proc.cond:
            lines = list(self.proc.lines)
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def last_event(self, name):
        for e in reversed(self.events()):
            if e.get("event") == name:
                return e
        return None

    def wait(self, timeout):
        rc = self.proc.wait(timeout)
        self.elapsed = time.monotonic() - self.t0
        if rc is None:
            self.proc.stop()
            self.rc = "timeout"
        else:
            if self.proc._reader is not None:
                self.proc._reader.join(5)
            self.rc = rc
        return self.rc

    def kill(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(10)
        self.rc = "killed"


def start_leecher(sw, info, out, kind=None, name="leecher", gbt_args=(), link=None, plugins=(),
                  env=None):
    """A downloader of @info into @out.  For gbt: @link (a magnet link)
    instead of the .torrent, @plugins for --plugins=, @env for its
    environment."""
    kind = kind or leecher_kind()
    os.makedirs(out, exist_ok=True)
    addr = sw.new_addr()
    port = sw.free_port(addr)
    t0 = time.monotonic()
    if kind == "gbt":
        argv = [gbt_cli()] + (["--plugins=" + ",".join(plugins)] if plugins else []) + [
            "download", link or info.path, "-o", out, "--json",
            "--bind", addr, "--port", str(port)] + list(gbt_args)
        p = sw.spawn(name + "-gbt", argv, env=env)
    elif kind == "aria2":
        argv = sw.aria2_args(addr, port) + [
            "--seed-time=0", "--check-integrity=true", "--auto-save-interval=1",
            "--dir=" + out, "--torrent-file=" + info.path]
        p = sw.spawn(name + "-aria2", argv)
    elif kind == "libtorrent":
        argv = [PYTHON, os.path.join(HERE, "lt_peer.py"), "--torrent", info.path, "--save", out,
                "--addr", addr, "--port", str(port), "--leech"]
        p = sw.spawn(name + "-lt", argv)
    else:
        raise ValueError(kind)
    return LeechRun(kind, p, addr, port, t0)


def skip_all(why):
    """Prints TAP's plan for a skipped script.  The exit status stays 0:
    meson's TAP runner counts 77 as an error."""
    print("1..0 # SKIP " + why, flush=True)
    return 0


def run_cases(cases, why=None, plan=None, args=()):
    """Runs each case (a function of a Tap, then @args, recording one
    result, or as many as @plan counts for all of them), then checks that
    no fixture process is left behind.  A case that raises or records
    nothing fails, the others still run; INTEROP_ONLY=a,b picks cases by
    name (only without @plan: it counts them all).  Returns the exit status
    for sys.exit()."""
    if why:
        return skip_all(why)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    only = None if plan else os.environ.get("INTEROP_ONLY")
    cases = [c for c in cases if not only or c.__name__ in only.split(",")]
    tap = Tap(plan or len(cases) + 1)
    for case in cases:
        t0 = time.monotonic()
        n = tap.n
        try:
            case(tap, *args)
        except Exception:
            tap.ok(False, case.__name__, traceback.format_exc())
        if tap.n == n:
            tap.ok(False, case.__name__ + " produced no result")
        log("%s took %.1f s" % (case.__name__, time.monotonic() - t0))
    left = leftover_processes()
    tap.ok(not left, "no fixture process left behind", "\n".join(left))
    return tap.finish()
