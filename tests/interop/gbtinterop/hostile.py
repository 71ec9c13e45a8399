# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile swarms: the hostile peers of malicious_peer.py with their
options, a gbt download run under /usr/bin/time (so its CPU seconds are
known exactly, from its rusage), and what gbt's --json and the hostile
peers' own logs say about bans, drops and connections."""
import os
import signal
import time

from . import HERE, PYTHON
from .gbt import gbt_cli
from .net import free_port
from .peers import LeechRun, Peer
from .procs import json_events

TIME = "/usr/bin/time"


def hostile_peer(sw, info, mode, hold=60, extra=(), name=None):
    """A malicious_peer.py in @mode on its own address, announced to the
    swarm's tracker; @extra: more of its options (--data, --rate, ...)."""
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    p = sw.spawn(name or "liar-" + mode,
                 [PYTHON, os.path.join(HERE, "malicious_peer.py"), "--torrent", info.path,
                  "--addr", addr, "--port", str(port), "--mode", mode,
                  "--announce", sw.announce_url, "--hold", str(hold)] + list(extra))
    if p.wait_line(lambda l: '"listening"' in l, 30) is None:
        raise RuntimeError("malicious peer (%s) did not start:\n%s" % (mode, p.log_tail()))
    return Peer("liar-" + mode, addr, port, p)


def verbose_args():
    """["-v"] when INTEROP_GBT_VERBOSE is set: gbt's debug log (per-peer
    lines, to stderr, in the process's log file) costs CPU under a flood,
    so it is off unless asked for."""
    return ["-v"] if os.environ.get("INTEROP_GBT_VERBOSE") else []


def start_gbt_timed(sw, info, out, name="leecher", gbt_args=(), global_args=()):
    """`gbt download --json` of @info into @out on its own address, run
    under /usr/bin/time: gbt_cpu_seconds() then reads its user + system
    time.  @global_args go before "download" (-v).  A LeechRun (stop it
    with run.wait() or its proc.stop(): the process group goes, gbt with
    it)."""
    os.makedirs(out, exist_ok=True)
    addr = sw.new_addr()
    port = free_port(addr)
    rusage = sw.path("%s-rusage.txt" % name)
    argv = ([TIME, "-o", rusage, "-f", "rusage %U %S %M", gbt_cli()] + list(global_args)
            + ["download", info.path, "-o", out, "--json", "--bind", addr, "--port", str(port)]
            + list(gbt_args))
    t0 = time.monotonic()
    p = sw.spawn(name + "-gbt", argv)
    run = LeechRun("gbt", p, addr, port, t0)
    run.rusage_path = rusage
    run.wall_t0 = time.time()
    return run


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def gbt_pid(run):
    """The PID of gbt itself in a start_gbt_timed() run (under `timeout`
    and /usr/bin/time), or None once it is gone."""
    for t in _children(run.proc.pid):
        for g in _children(t):
            return g
    return None


def finish_gbt(run, timeout):
    """Waits up to @timeout seconds for a start_gbt_timed() run to exit.
    Past that, SIGTERM to gbt alone (it stops its torrent and exits, so
    /usr/bin/time still writes its rusage), then the process group.
    Returns run.rc: gbt's exit status, or "timeout"; run.elapsed counts
    up to the deadline."""
    rc = run.proc.wait(timeout)
    run.elapsed = time.monotonic() - run.t0
    if rc is None:
        pid = gbt_pid(run)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if run.proc.wait(15) is None:
            run.proc.stop()
        run.proc.wait_output()
        run.rc = "timeout"
    else:
        run.proc.wait_output()
        run.rc = rc
    return run.rc


def gbt_cpu_seconds(run):
    """(user + system CPU seconds, max RSS in KiB) of a start_gbt_timed()
    run that has exited, or (None, None) when /usr/bin/time wrote nothing."""
    try:
        with open(run.rusage_path) as f:
            lines = [l.split() for l in f if l.startswith("rusage ")]
    except OSError:
        return None, None
    if not lines:
        return None, None
    _, user, system, rss = lines[-1]
    return float(user) + float(system), int(rss)


def host_of(address):
    """"1.2.3.4:5" / "[::1]:5" / "1.2.3.4" -> the IP alone."""
    address = str(address)
    if address.startswith("["):
        return address[1:address.index("]")]
    if address.count(":") == 1:
        return address.rsplit(":", 1)[0]
    return address


ADDRESS_KEYS = ("address", "peer", "ip")


def event_hosts(events, name):
    """[(time, host, event)] of gbt's --json events called @name
    ("peer-banned", "peer-dropped") that carry an address (under
    "address"; "peer" or "ip" are read too)."""
    out = []
    for e in events:
        key = next((k for k in ADDRESS_KEYS if k in e), None)
        if e.get("event") == name and key:
            out.append((e.get("time"), host_of(e[key]), e))
    return out


def connections_from(peer, addr):
    """The connections a malicious_peer.py accepted from @addr (the
    downloader's address), each a dict: conn, accept_t, handshake (bool),
    flood_t (wall time its flood started, or None), closed (the "closed"
    event or None)."""
    conns = {}
    for e in json_events(peer.proc):
        ev, c = e.get("ev"), e.get("conn")
        if ev == "accept" and host_of(e["peer"]) == addr:
            conns[c] = {"conn": c, "accept_t": e["t"], "handshake": False, "flood_t": None,
                        "closed": None}
        elif c in conns:
            if ev == "handshake":
                conns[c]["handshake"] = True
            elif ev == "flood-start":
                conns[c]["flood_t"] = e["t"]
            elif ev == "closed":
                conns[c]["closed"] = e
    return [conns[c] for c in sorted(conns)]


def met(peer, addr):
    """True once @peer (a malicious_peer.py) has accepted a connection from
    @addr."""
    return bool(connections_from(peer, addr))


def describe_connections(conns, exit_t=None):
    """One line a connection, for TAP diagnostics (log() each)."""
    out = []
    for c in conns:
        cl = c["closed"]
        line = "conn %d: handshake %s" % (c["conn"], c["handshake"])
        if c["flood_t"]:
            line += ", flood from +%.2f s" % (c["flood_t"] - c["accept_t"])
        if cl:
            line += ", closed by %s at +%.2f s" % (cl["by"], cl["t"] - c["accept_t"])
            if exit_t:
                line += " (%.2f s before gbt exited)" % (exit_t - cl["t"])
            line += ", " + ", ".join("%s %s" % (k, v) for k, v in sorted(cl.items())
                                     if k not in ("ev", "conn", "by", "t"))
        else:
            line += ", still open"
        out.append(line)
    return "\n".join(out)


def flood_dropped(conns, exit_t, within, margin=0.5):
    """Judges a flood peer's connections from the downloader (from
    connections_from()): (ok, summary).  ok when at least one connection
    was flooded and every flooded one was closed by the downloader within
    @within seconds of its flood starting and at least @margin seconds
    before the downloader exited (a close in its exit path is no drop)."""
    flooded = [c for c in conns if c["flood_t"]]
    good = [c for c in flooded if c["closed"] and c["closed"]["by"] == "remote"
            and c["closed"]["t"] - c["flood_t"] <= within
            and c["closed"]["t"] < exit_t - margin]
    total = sum(c["closed"].get("flooded", 0) for c in conns if c["closed"])
    summary = ("%d connection(s) from gbt, %d flooded, %d closed by gbt within %g s of the flood "
               "starting; %.1f MiB flooded in all" % (len(conns), len(flooded), len(good), within,
                                                       total / 1048576))
    return bool(flooded) and len(good) == len(flooded), summary


def log_lines(head, text):
    """Logs @head, then each line of @text indented."""
    from .tap import log
    log(head)
    for line in text.splitlines():
        log("  " + line)


def check_flood_peer(tap, flood, run, events, exit_t, within):
    """The flood peer's connections are each closed by gbt within @within s
    of its flood starting, and a peer-dropped event names it."""
    fconns = connections_from(flood, run.addr)
    ok, summary = flood_dropped(fconns, exit_t, within)
    log_lines("flood peer, as it saw gbt:", describe_connections(fconns, exit_t))
    tap.ok(ok, "gbt closes the flood peer's connections within %g s: %s" % (within, summary))
    drops = event_hosts(events, "peer-dropped")
    fd = [e for _, h, e in drops if h == flood.addr]
    tap.ok(bool(fd), "a peer-dropped event names the flood peer%s"
           % (" (%s)" % fd[0].get("reason") if fd else ""),
           "peer-dropped for: %s" % (", ".join(h for _, h, _ in drops) or "nobody"))
