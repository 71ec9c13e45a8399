# SPDX-License-Identifier: LGPL-2.1-or-later
"""The peers of a swarm, each a process of the Swarm on its own 127.x
address: libtorrent (lt_peer.py), aria2c, transmission-cli, `gbt seed`,
hostile peers (malicious_peer.py), and the downloader a test drives
(start_leecher: gbt, or aria2c/libtorrent to check the fixtures)."""
import json
import os
import signal
import time

from . import HERE, PYTHON
from .gbt import gbt_cli, leecher_kind
from .net import free_port
from .procs import json_events


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

    def settled_stat(self, key, quiet=1.5, timeout=20):
        """A libtorrent peer's STATS counter @key once it stopped moving: the
        same value in every STATS line for @quiet seconds (libtorrent adds
        to its counters once a second), all lines printed after this call.
        None if it is still moving at the deadline or the peer is gone."""
        since = self.proc.mark()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.proc.cond:
                got = [(t, json.loads(l[6:]).get(key))
                       for t, l in zip(self.proc.times[since:], self.proc.lines[since:])
                       if l.startswith("STATS ")]
            if got:
                last_t, last_v = got[-1]
                first_same = last_t
                for t, v in reversed(got):
                    if v != last_v:
                        break
                    first_same = t
                if last_t - first_same >= quiet:
                    return last_v
            if not self.proc.alive():
                return None
            self.proc.wait_line(lambda l: l.startswith("STATS "), 2, since=self.proc.mark())
        return None


def aria2_args(addr, port):
    return ["aria2c", "--no-conf=true", "--enable-dht=false", "--enable-dht6=false",
            "--bt-enable-lpd=false", "--disable-ipv6=true", "--enable-peer-exchange=false",
            "--interface=" + addr, "--listen-port=%d" % port, "--file-allocation=none",
            "--console-log-level=warn", "--summary-interval=0", "--bt-stop-timeout=0",
            "--allow-overwrite=true", "--auto-file-renaming=false"]


def libtorrent_peer(sw, info, save, leech=False, upload_limit=0, keep_seeding=False,
                    ready_timeout=60, name="libtorrent", reannounce=0, addr=None, extra=(),
                    transports="tcp", peer_events=False):
    """lt_peer.py; returns once it printed READY (seeding, or started leeching).
    @transports: what it dials and accepts ("tcp", "utp" or "tcp,utp");
    @peer_events: with PEER lines (lt_peer.py --peer-events)."""
    addr = addr or sw.new_addr()
    port = free_port(addr)
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
    if transports != "tcp":
        argv += ["--transports", transports]
    if peer_events:
        argv.append("--peer-events")
    p = sw.spawn(name, argv)
    peer = Peer("libtorrent", addr, port, p)
    if p.wait_line(lambda l: l == "READY", ready_timeout) is None:
        raise RuntimeError("libtorrent peer not ready:\n" + p.log_tail())
    return peer


def libtorrent_seeder(sw, info, save, upload_limit=0, timeout=60, reannounce=0,
                      transports="tcp", name="lt-seed", peer_events=False, extra=()):
    """A libtorrent seeder the swarm's tracker lists (@transports,
    @peer_events, @extra: as for libtorrent_peer)."""
    sw.tracker.add_torrent(info)
    peer = libtorrent_peer(sw, info, save, upload_limit=upload_limit, ready_timeout=timeout,
                           name=name, reannounce=reannounce, transports=transports,
                           peer_events=peer_events, extra=extra)
    if not sw.tracker.wait_announced(info, peer, timeout):
        raise RuntimeError("libtorrent seeder never announced:\n" + peer.proc.log_tail())
    return peer


def aria2_seeder(sw, info, save, timeout=60, upload_limit=0, extra=()):
    """@extra: more aria2c options (e.g. --bt-require-crypto=true)."""
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    argv = aria2_args(addr, port) + ["--max-upload-limit=%d" % upload_limit] + [
        "--seed-ratio=0.0", "--check-integrity=true", "--bt-seed-unverified=false",
        "--dir=" + save] + list(extra) + ["--torrent-file=" + info.path]
    p = sw.spawn("aria2-seed", argv, capture=False)
    peer = Peer("aria2", addr, port, p)
    if not sw.tracker.wait_announced(info, peer, timeout):
        raise RuntimeError("aria2 seeder never announced:\n" + p.log_tail())
    return peer


def _transmission_conf(sw, addr, port, save, upload_limit=0, **more):
    conf = sw.path("transmission-%d" % port)
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
    settings.update(more)
    with open(os.path.join(conf, "settings.json"), "w") as f:
        json.dump(settings, f)
    return conf


def transmission_seeder(sw, info, save, timeout=120, upload_limit=0, utp=False, encryption=0):
    """@utp: with "utp-enabled" (it then still speaks TCP too: transmission 3
    has no switch for TCP); @encryption: its "encryption" setting (2:
    required)."""
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    conf = _transmission_conf(sw, addr, port, save, upload_limit, **{"utp-enabled": utp,
                                                                   "encryption": encryption})
    p = sw.spawn("transmission-seed", ["transmission-cli", "-g", conf, "-w", save,
                                       "-ep", info.path], capture=False)
    peer = Peer("transmission", addr, port, p)
    if not sw.tracker.wait_announced(info, peer, timeout):
        raise RuntimeError("transmission seeder never announced:\n" + p.log_tail())
    return peer


def transmission_leecher(sw, info, save, timeout=120):
    """transmission-cli downloading info into save.  It never exits and
    never dials loopback peers itself: peer.done_marker appears (written
    by its -f script) once every piece is verified.  Returns once it has
    announced, so that a seeder starting after this learns about it."""
    sw.tracker.add_torrent(info)
    os.makedirs(save, exist_ok=True)
    addr = sw.new_addr()
    port = free_port(addr)
    conf = _transmission_conf(sw, addr, port, save, **{"rename-partial-files": False})
    marker = os.path.join(conf, "DONE")
    script = os.path.join(conf, "done.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\ntouch '%s'\n" % marker)
    os.chmod(script, 0o755)
    p = sw.spawn("transmission-leech", ["transmission-cli", "-g", conf, "-w", save,
                                        "-et", "-f", script, info.path], capture=False)
    peer = Peer("transmission", addr, port, p)
    peer.done_marker = marker
    if not sw.tracker.wait_announced(info, peer, timeout):
        raise RuntimeError("transmission leecher never announced:\n" + p.log_tail())
    return peer


def gbt_seeder(sw, info, data_dir, timeout=60, extra=(), name="gbt-seed", plugins=(),
               env=None, tracker=True):
    """`gbt seed --json` on its own address; returns once it printed
    its "seeding" event (data verified).  @plugins: for --plugins=;
    @tracker: False when the torrent's tracker is not the swarm's
    opentracker."""
    if tracker:
        sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    argv = [gbt_cli()] + (["--plugins=" + ",".join(plugins)] if plugins else []) + [
        "seed", info.path, "-d", data_dir, "--json", "--bind", addr,
        "--port", str(port)] + list(extra)
    p = sw.spawn(name, argv, env=env)
    peer = Peer("gbt", addr, port, p)
    if p.wait_line(lambda l: '"event":"seeding"' in l.replace(" ", ""), timeout) is None:
        raise RuntimeError("gbt seed never reported seeding (exit %s):\n%s"
                           % (p.popen.poll(), p.log_tail()))
    return peer


def stop_gbt(peer, timeout=15):
    """SIGTERM to gbt itself (not the `timeout` around it); returns its exit
    status (None if it hung), its output read to the end."""
    peer.proc.signal_main(signal.SIGTERM)
    rc = peer.proc.wait(timeout)
    peer.proc.wait_output()
    return rc


def gbt_uploaded(proc):
    """The "uploaded" counter of gbt's last --json line (0 before any)."""
    evs = [e for e in json_events(proc) if isinstance(e.get("uploaded"), int)]
    return evs[-1]["uploaded"] if evs else 0


def liar_peer(sw, info, mode, hold=60):
    """A malicious_peer.py on its own address, announced to the tracker."""
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    p = sw.spawn("liar-" + mode, [PYTHON, os.path.join(HERE, "malicious_peer.py"),
                                   "--torrent", info.path, "--addr", addr,
                                   "--port", str(port), "--mode", mode,
                                   "--announce", sw.announce_url, "--hold", str(hold)])
    if p.wait_line(lambda l: '"listening"' in l, 30) is None:
        raise RuntimeError("malicious peer did not start:\n" + p.log_tail())
    return Peer("liar-" + mode, addr, port, p)


def liar_events(peer):
    """The malicious peer's JSON lines, parsed."""
    return json_events(peer.proc)


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
        return json_events(self.proc)

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
            self.proc.wait_output()
            self.rc = rc
        return self.rc

    def kill(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(10)
        self.rc = "killed"


def start_leecher(sw, info, out, kind=None, name="leecher", gbt_args=(), link=None, plugins=(),
                  env=None, lt_args=()):
    """A downloader of @info into @out.  For gbt: @link (a magnet link)
    instead of the .torrent, @plugins for --plugins=, @env for its
    environment; for libtorrent: @lt_args, more lt_peer.py arguments."""
    kind = kind or leecher_kind()
    os.makedirs(out, exist_ok=True)
    addr = sw.new_addr()
    port = free_port(addr)
    t0 = time.monotonic()
    if kind == "gbt":
        argv = [gbt_cli()] + (["--plugins=" + ",".join(plugins)] if plugins else []) + [
            "download", link or info.path, "-o", out, "--json",
            "--bind", addr, "--port", str(port)] + list(gbt_args)
        p = sw.spawn(name + "-gbt", argv, env=env)
    elif kind == "aria2":
        argv = aria2_args(addr, port) + [
            "--seed-time=0", "--check-integrity=true", "--auto-save-interval=1",
            "--dir=" + out, "--torrent-file=" + info.path]
        p = sw.spawn(name + "-aria2", argv)
    elif kind == "libtorrent":
        argv = [PYTHON, os.path.join(HERE, "lt_peer.py"), "--torrent", info.path, "--save", out,
                "--addr", addr, "--port", str(port), "--leech"] + list(lt_args)
        p = sw.spawn(name + "-lt", argv)
    else:
        raise ValueError(kind)
    return LeechRun(kind, p, addr, port, t0)
