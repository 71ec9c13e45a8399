#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Web seeds (BEP 19) against a real web server: lighttpd on loopback.

webseeds_only: a multi-file torrent whose url-list names a folder that is
  not there (404 for every file) and the folder that is; no peer at all.
  `gbt download` must finish with a byte-identical tree, fetching by range
  requests (206 in lighttpd's access log), pieces coalesced (fewer
  requests than blocks), the broken seed tried and backed off, not
  hammered.
webseed_plus_libtorrent: a single-file torrent served by a web seed (the
  server slowed to 256 KiB/s per connection) and a libtorrent seeder
  (through opentracker, 2 MiB/s): both must have sent data, the result is
  byte-identical.

Exit: 0 pass, 1 fail; TAP on stdout, a missing tool (lighttpd, libtorrent,
opentracker) a TAP skip naming it.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.bencode import bdecode, bencode  # noqa: E402
from gbtinterop.net import free_port, wait_tcp  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_seeder, start_leecher  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import load_torrent, make_torrent  # noqa: E402

TIMEOUT = 90

TREE = [
    ("a.bin", 300_001),
    ("sub/b c.bin", MiB + 5),
    ("sub/deeper/c.txt", 70_000),
    ("z-last.bin", 123_457),
]


def lighttpd(sw, docroot, kbps=0):
    """lighttpd in the foreground on a fresh loopback address, serving
    @docroot; @kbps: per-connection rate limit (0: none).  Returns
    (base URL, access log path, process): stop the process before reading
    the log (lighttpd buffers it)."""
    addr = sw.new_addr()
    port = free_port(addr)
    access = sw.path("lighttpd-access-%d.log" % port)
    conf = sw.path("lighttpd-%d.conf" % port)
    with open(conf, "w") as f:
        f.write('server.document-root = "%s"\n' % docroot)
        f.write('server.bind = "%s"\n' % addr)
        f.write('server.port = %d\n' % port)
        f.write('server.errorlog = "%s"\n' % sw.path("lighttpd-error-%d.log" % port))
        f.write('server.modules = ("mod_accesslog")\n')
        f.write('accesslog.filename = "%s"\n' % access)
        f.write('mimetype.assign = ("" => "application/octet-stream")\n')
        if kbps:
            f.write('connection.kbytes-per-second = %d\n' % kbps)
    p = sw.spawn("lighttpd", ["lighttpd", "-D", "-f", conf])
    if not wait_tcp(addr, port, 20, p):
        raise RuntimeError("lighttpd did not listen:\n" + p.log_tail())
    return "http://%s:%d/" % (addr, port), access, p


def with_url_list(info, urls):
    """Rewrites @info's .torrent with a url-list; returns the new TorrentInfo."""
    with open(info.path, "rb") as f:
        meta = bdecode(f.read())[0]
    meta[b"url-list"] = [u.encode() for u in urls]
    with open(info.path, "wb") as f:
        f.write(bencode(meta))
    return load_torrent(info.path)


def access_lines(path):
    """(path, status, client address) of each request lighttpd logged."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.search(r'"GET (\S+) [^"]*" (\d{3})', line)
                if m:
                    out.append((m.group(1), int(m.group(2)), line.split(" ", 1)[0]))
    except OSError:
        pass
    return out


def run_gbt(sw, info, out):
    run = start_leecher(sw, info, out, kind="gbt")
    rc = run.wait(TIMEOUT)
    return rc, run


def webseeds_only(tap):
    with Swarm("webseed-only") as sw:
        www = sw.path("www")
        src = make_tree(os.path.join(www, "tree"), TREE, 7)
        info = make_torrent(src, sw.path("tree.torrent"), "http://127.0.0.1:1/announce", 32 * KiB)
        base, access, server = lighttpd(sw, www)
        info = with_url_list(info, [base + "missing/", base])
        out = sw.path("out")
        rc, run = run_gbt(sw, info, out)
        if rc != 0:
            tap.ok(False, "webseeds_only", "gbt exited %s\n%s" % (rc, run.proc.log_tail(30)))
            return
        diffs = compare_tree(src, out)
        sw.forget(server)
        reqs = access_lines(access)
        good = [r for r in reqs if r[0].startswith("/tree/")]
        missing = [r for r in reqs if r[0].startswith("/missing/")]
        blocks = sum((n + 16 * KiB - 1) // (16 * KiB) for _, n in TREE)
        log("%d requests to the good seed (%d blocks), %d to the missing one, %.1f s"
            % (len(good), blocks, len(missing), run.elapsed))
        problems = list(diffs[:10])
        if not good or any(r[1] != 206 for r in good):
            problems.append("the good seed's answers: %r" % sorted(set(r[1] for r in good)))
        if any(r[2] != run.addr for r in reqs):
            problems.append("requests not from gbt's --bind %s: %r"
                            % (run.addr, sorted(set(r[2] for r in reqs))))
        if len(good) >= blocks:
            problems.append("%d requests for %d blocks: not coalesced" % (len(good), blocks))
        if not missing or any(r[1] != 404 for r in missing) or len(missing) > 4 * len(TREE):
            problems.append("the missing seed: %d requests %r" % (len(missing), missing[:5]))
        tap.ok(not problems, "webseeds_only: a tree from web seeds only, one broken",
               "\n".join(problems))


def webseed_plus_libtorrent(tap):
    with Swarm("webseed-lt") as sw:
        www = sw.path("www")
        os.makedirs(www)
        src = write_random_file(os.path.join(www, "single.bin"), 12 * MiB + 1234, 11)
        info = make_torrent(src, sw.path("single.torrent"), sw.announce_url, 64 * KiB)
        base, access, server = lighttpd(sw, www, kbps=256)
        info = with_url_list(info, [base])
        lt_save = sw.copy_source(src, "lt")
        seeder = libtorrent_seeder(sw, info, lt_save, upload_limit=2 * MiB)
        out = sw.path("out")
        rc, run = run_gbt(sw, info, out)
        if rc != 0:
            tap.ok(False, "webseed_plus_libtorrent",
                   "gbt exited %s\n%s" % (rc, run.proc.log_tail(30)))
            return
        diffs = compare_tree(src, out)
        sw.forget(server)
        served = [r for r in access_lines(access) if r[1] == 206]
        uploaded = seeder.settled_stat("uploaded") or 0
        log("web seed: %d range requests; libtorrent uploaded %d bytes; %.1f s"
            % (len(served), uploaded, run.elapsed))
        problems = list(diffs[:10])
        if not served:
            problems.append("the web seed served nothing")
        if uploaded <= 0:
            problems.append("libtorrent sent nothing")
        tap.ok(not problems, "webseed_plus_libtorrent: a web seed and a libtorrent peer",
               "\n".join(problems))


if __name__ == "__main__":
    sys.exit(run_cases([webseeds_only, webseed_plus_libtorrent],
                       check_prerequisites(tools=("lighttpd",))))
