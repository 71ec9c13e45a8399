#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Local peer discovery (BEP 14, the default `lsd` plugin) with libtorrent's.

Multicast must never leave the machine: the script runs itself again
inside a network namespace of its own (`unshare --net`, or with
`--map-root-user` when not root) whose only interface is a loopback with
multicast on and a route for 239.0.0.0/8; it checks that no other
interface is there before anything multicasts.  Without the rights to make
one the whole script is a TAP skip, saying so.  GBT_LSD_DISABLE (set for
the suite) is cleared inside.

No tracker knows the peers and none is told of the other: each torrent's
announce URL is a loopback port where nothing listens, and the libtorrent
side runs with --no-tracker, so only LSD can bring them together.

- libtorrent hears gbt: a libtorrent leecher (enable_lsd) starts first, then
  `gbt seed`, whose first announce the leecher hears: it dials gbt (its
  peer list shows gbt's address and listen port with source "lsd") and
  gets every byte.
- gbt hears libtorrent: `gbt download` starts first, then a libtorrent
  seeder, whose announce gbt hears: gbt's --json peer_sources counts a peer
  from "lsd", and the download completes with identical bytes.

Exit: 0 pass, 1 fail; TAP on stdout, a missing tool a TAP skip naming it.
"""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time

NS_MARK = "GBT_LSD_IN_NETNS"


def enter_namespace():
    """exec ourselves in a new network namespace (same PID: meson's timeout
    still stops us); returns only when that cannot be done (the reason)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare (util-linux) is not installed"
    argv = [unshare, "--net"] + ([] if os.geteuid() == 0 else ["--map-root-user"])
    try:
        subprocess.run(argv + ["true"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.SubprocessError) as e:
        return "no network namespace for the multicast test (%s): %s" % (
            " ".join(argv), getattr(e, "stderr", b"") or e)
    os.environ[NS_MARK] = "1"
    os.execv(unshare, argv + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    return "exec failed"


def setup_namespace():
    """None when this namespace is isolated and multicast works on lo."""
    names = [n for _, n in socket.if_nameindex()]
    if names != ["lo"]:
        return "the new namespace has interfaces %s, not only lo" % names
    for cmd in (["ip", "link", "set", "lo", "up", "multicast", "on"],
                ["ip", "route", "add", "239.0.0.0/8", "dev", "lo"]):
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            return "%s failed: %s" % (" ".join(cmd), r.stderr.decode(errors="replace").strip())
    return None


if os.environ.get(NS_MARK) != "1":
    why = enter_namespace()
    print("1..0 # SKIP %s" % why)
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.peers import gbt_seeder, libtorrent_peer, start_leecher  # noqa: E402
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases, skip_all  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

TIMEOUT = 90
# no tracker: nothing listens there (opentracker, as the mapped root of a
# user namespace, could not drop its privileges)
NO_TRACKER = "http://127.0.0.1:9/announce"


def group_socket():
    """A socket on BEP 14's IPv4 group, as any other client's."""
    g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    g.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    g.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    g.bind(("0.0.0.0", 6771))
    g.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton("239.192.152.143") + socket.inet_aton("0.0.0.0"))
    return g


def wait_announce(g, info_hex, port, timeout):
    """The first BT-SEARCH naming @info_hex and @port, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([g], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        data = g.recv(2048).decode("ascii", "replace")
        if (data.startswith("BT-SEARCH * HTTP/1.1\r\n") and info_hex.lower() in data.lower()
                and ("\r\nPort: %d\r\n" % port) in data):
            return data
    return None


def case_libtorrent_hears_gbt(tap):
    with Swarm("lsd-lt-hears") as sw:
        src, parent, info = single_file(sw, 4 * MiB, 64 * KiB, 61, announce=NO_TRACKER)
        run = start_leecher(sw, info, sw.path("out"), kind="libtorrent", name="lt-lsd",
                            lt_args=["--no-tracker", "--lsd", "--peer-events",
                                     "--stats-interval", "0.25",
                                     "--download-limit", str(1 * MiB)])
        # libtorrent's first announces go out before gbt listens: unheard
        if run.proc.wait_line(lambda l: l == "READY", 30) is None:
            raise RuntimeError("libtorrent leecher never started:\n" + run.proc.log_tail())
        s = gbt_seeder(sw, info, parent, name="gbt-seed-lsd", tracker=False)
        found = []

        def lt_met_gbt():
            for line in list(run.proc.lines):
                if line.startswith("STATS "):
                    peers = json.loads(line[6:]).get("peers", [])
                elif line.startswith("PEER "):
                    peers = [json.loads(line[5:])]
                else:
                    continue
                for p in peers:
                    if p["ip"] == s.addr and p["port"] == s.port and "lsd" in p["sources"]:
                        found.append(p)
                        return True
            return False

        met = wait_for(lt_met_gbt, 30)
        rc = run.wait(TIMEOUT)
        diag = []
        if not met:
            diag.append("libtorrent never listed gbt (%s:%d) from lsd:\n%s"
                        % (s.addr, s.port, run.proc.log_tail(10)))
        if rc != 0:
            diag.append("libtorrent leecher exited %s:\n%s" % (rc, run.proc.log_tail(15)))
        else:
            diag += compare_tree(src, sw.path("out"))[:10]
        log("libtorrent's peer entry for gbt: %s" % (found[:1],))
        tap.ok(not diag, "libtorrent hears gbt's LSD announce, dials it and downloads",
               "\n".join(diag))


def case_gbt_hears_libtorrent(tap):
    with Swarm("lsd-gbt-hears") as sw:
        src, parent, info = single_file(sw, 4 * MiB, 64 * KiB, 62, announce=NO_TRACKER)
        with group_socket() as g:
            run = start_leecher(sw, info, sw.path("out"), kind="gbt", name="gbt-lsd")
            # gbt's first announce goes out before libtorrent listens:
            # unheard (the next is minutes away)
            msg = wait_announce(g, info.hex, run.port, 30)
        if msg is None:
            raise RuntimeError("gbt never announced on LSD:\n" + run.proc.log_tail())
        log("gbt's announce: %r" % msg)
        # slow enough that gbt's once-a-second --json lines see the peer
        libtorrent_peer(sw, info, parent, name="lt-seed-lsd", upload_limit=1 * MiB,
                        extra=["--no-tracker", "--lsd"])
        rc = run.wait(TIMEOUT)
        diag = []
        if rc != 0:
            diag.append("gbt exited %s:\n%s" % (rc, run.proc.log_tail(20)))
        else:
            diag += compare_tree(src, sw.path("out"))[:10]
        evs = run.events()
        n = max((e.get("peer_sources", {}).get("lsd", 0) for e in evs), default=0)
        log("gbt's most peers from lsd at once: %d" % n)
        if n < 1:
            diag.append("no peer from lsd in gbt's --json peer_sources: %s"
                        % [e for e in evs if "peer_sources" in e][-3:])
        tap.ok(not diag, "gbt hears libtorrent's LSD announce, dials it and downloads",
               "\n".join(diag))


CASES = [case_libtorrent_hears_gbt, case_gbt_hears_libtorrent]


def main():
    why = setup_namespace()
    if why:
        skip_all(why)
        return 0
    os.environ.pop("GBT_LSD_DISABLE", None)
    unmet = check_prerequisites("gbt")
    return run_cases(CASES, unmet)


if __name__ == "__main__":
    sys.exit(main())
