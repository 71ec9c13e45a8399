#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`gbt create` against mktorrent and python3-libtorrent, and `gbt verify`.

The same content made into a torrent by `gbt create --no-date` and
`mktorrent -d` (same piece size, same trackers) must decode to the same
dictionary apart from 'created by', hence the same info-hash; libtorrent
must read gbt's torrents and agree on the info-hash with `gbt info --json`.
Then `gbt verify` on the data: exit 0 when whole, 1 with the bad piece
after a byte is flipped, and the file's pieces missing when it is deleted.

TAP output.  Needs GBT_CLI (set by meson); a TAP skip (plan "1..0 # SKIP")
when mktorrent or python3-libtorrent is missing."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

GBT = os.environ.get("GBT_CLI")
TIMEOUT = 120

try:
    import libtorrent as lt
except ImportError:
    print("1..0 # SKIP python3-libtorrent is not installed")
    sys.exit(0)
if shutil.which("mktorrent") is None:
    print("1..0 # SKIP mktorrent is not installed")
    sys.exit(0)
if not GBT:
    print("Bail out! GBT_CLI is not set")
    sys.exit(1)

n_tests = 0
n_failed = 0


def ok(cond, desc, diag=None):
    global n_tests, n_failed
    n_tests += 1
    print(f"{'ok' if cond else 'not ok'} {n_tests} - {desc}")
    if not cond:
        n_failed += 1
        if diag:
            for line in str(diag).splitlines():
                print(f"# {line}")
    sys.stdout.flush()
    return cond


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def decode(path):
    with open(path, "rb") as f:
        return lt.bdecode(f.read())


def info_hash(path):
    return str(lt.torrent_info(path).info_hashes().v1)


def gbt_create(src, out, *opts, cwd=None):
    r = run([GBT, "create", "--no-date", "--json", "-o", out, *opts, src], cwd=cwd)
    ok(r.returncode == 0, f"gbt create {os.path.basename(src)} {' '.join(opts)}",
       r.stderr)
    return json.loads(r.stdout) if r.returncode == 0 else None


def mktorrent(src, out, *opts):
    if os.path.exists(out):
        os.unlink(out)  # mktorrent refuses to overwrite
    r = run(["mktorrent", "-d", "-o", out, *opts, src])
    ok(r.returncode == 0, f"mktorrent {os.path.basename(src)} {' '.join(opts)}", r.stderr)


def same_as_mktorrent(label, src, gbt_opts, mk_opts, tmp):
    g_path = os.path.join(tmp, "gbt.torrent")
    m_path = os.path.join(tmp, "mk.torrent")
    made = gbt_create(src, g_path, *gbt_opts)
    mktorrent(src, m_path, *mk_opts)
    if made is None or not os.path.exists(m_path):
        return
    g = decode(g_path)
    m = decode(m_path)
    g.pop(b"created by", None)
    m.pop(b"created by", None)
    ok(g[b"info"] == m[b"info"], f"{label}: info dictionaries equal",
       f"gbt: {g[b'info'].keys()}\nmktorrent: {m[b'info'].keys()}")
    ok(g == m, f"{label}: whole torrents equal but for 'created by'",
       f"gbt: {g}\nmktorrent: {m}")
    ok(info_hash(g_path) == info_hash(m_path) == made["info_hash"],
       f"{label}: same info-hash {made['info_hash']}",
       f"libtorrent: {info_hash(g_path)} vs {info_hash(m_path)}")


def verify(torrent, directory):
    r = run([GBT, "verify", "--json", "-o", directory, torrent])
    try:
        return r.returncode, json.loads(r.stdout), r
    except ValueError:
        return r.returncode, None, r


def main():
    rng = random.Random(1234)
    tmp = tempfile.mkdtemp(prefix="gbt-create-")
    try:
        data = os.path.join(tmp, "data")
        # single file: 300 KiB and a bit, 32 KiB pieces (mktorrent -l 15)
        single = os.path.join(data, "single.bin")
        write(single, rng.randbytes(300 * 1024 + 77))
        same_as_mktorrent("single file", single,
                          ["-t", "http://127.0.0.1:6969/announce", "-p", "32K"],
                          ["-a", "http://127.0.0.1:6969/announce", "-l", "15"], tmp)

        # a tree: hidden files, nesting, an empty file, 'a.txt' vs 'a/...' order
        tree = os.path.join(data, "tree")
        files = {".hidden": 5, "a.txt": 40000, "a/b/c.bin": 70000, "a/d": 1,
                 "B/upper": 16384, "empty": 0, "zz": 123457}
        for rel, size in files.items():
            write(os.path.join(tree, rel), rng.randbytes(size))
        same_as_mktorrent("multi-file", tree,
                          ["-t", "http://127.0.0.1:6969/announce", "-p", "32768"],
                          ["-a", "http://127.0.0.1:6969/announce", "-l", "15"], tmp)
        # tiers, private, comment, web seed
        same_as_mktorrent("tiers, private, comment, web seed", tree,
                          ["-t", "http://127.0.0.1:1/a", "-t", "udp://127.0.0.1:2,http://127.0.0.1:3/b",
                           "--private", "-c", "hello", "-w", "http://127.0.0.1/seed/",
                           "-p", "64K"],
                          ["-a", "http://127.0.0.1:1/a", "-a", "udp://127.0.0.1:2,http://127.0.0.1:3/b",
                           "-p", "-c", "hello", "-w", "http://127.0.0.1/seed/", "-l", "16"], tmp)

        # libtorrent reads ours; gbt info agrees on the info-hash
        t1 = os.path.join(tmp, "t1.torrent")
        made = gbt_create(tree, t1, "-t", "http://127.0.0.1:6969/announce")
        ti = lt.torrent_info(t1)
        ok(ti.num_files() == len(files) and ti.total_size() == sum(files.values()),
           "libtorrent reads the files of a gbt torrent", f"{ti.num_files()} {ti.total_size()}")
        r = run([GBT, "info", "--json", t1])
        info = json.loads(r.stdout) if r.returncode == 0 else {}
        ok(info.get("info_hash") == str(ti.info_hashes().v1) == made["info_hash"],
           "gbt info, gbt create and libtorrent agree on the info-hash", f"{info} {made}")

        # deterministic: same bytes twice
        t2 = os.path.join(tmp, "t2.torrent")
        gbt_create(tree, t2, "-t", "http://127.0.0.1:6969/announce")
        with open(t1, "rb") as a, open(t2, "rb") as b:
            ok(a.read() == b.read(), "--no-date output is byte-identical")
        # default output name, and a creation date without --no-date
        r = run([GBT, "create", "-t", "http://127.0.0.1/a", tree], cwd=tmp)
        default_out = os.path.join(tmp, "tree.torrent")
        ok(r.returncode == 0 and os.path.exists(default_out)
           and b"creation date" in decode(default_out),
           "default output NAME.torrent here, with a creation date", r.stderr)

        # usage errors exit 2, failures exit 1
        ok(run([GBT, "create"]).returncode == 2, "create without PATH: exit 2")
        ok(run([GBT, "create", "-p", "3000", tree]).returncode == 2, "bad piece size: exit 2")
        ok(run([GBT, "create", "-t", "not a url", tree]).returncode == 2, "bad tracker: exit 2")
        ok(run([GBT, "create", os.path.join(tmp, "nope")]).returncode == 1,
           "missing path: exit 1")
        os.makedirs(os.path.join(tmp, "emptydir"))
        r = run([GBT, "create", os.path.join(tmp, "emptydir")])
        ok(r.returncode == 1 and "no files" in r.stderr, "empty directory: exit 1", r.stderr)
        ok(run([GBT, "verify"]).returncode == 2, "verify without a torrent: exit 2")

        # verify: whole, then a flipped byte, then a deleted file
        rc, res, r = verify(t1, data)
        ok(rc == 0 and res and res["complete"] and res["good"] == res["pieces"],
           "verify on intact data: exit 0, every piece good", r.stdout + r.stderr)
        plen = lt.torrent_info(t1).piece_length()
        offset = 0
        order = sorted(files)  # bytewise, as in the torrent
        for rel in order:
            if rel == "zz":
                break
            offset += files[rel]
        victim = os.path.join(tree, "zz")
        flip_at = 50000
        with open(victim, "r+b") as f:
            f.seek(flip_at)
            byte = f.read(1)
            f.seek(flip_at)
            f.write(bytes([byte[0] ^ 0xFF]))
        bad_piece = (offset + flip_at) // plen
        rc, res, r = verify(t1, data)
        ok(rc == 1 and res and res["bad"] == str(bad_piece) and res["missing"] == ""
           and res["good"] == res["pieces"] - 1,
           f"one flipped byte: exit 1, piece {bad_piece} bad", r.stdout + r.stderr)
        ok(res is not None and [f["path"] for f in res["files"]] == ["tree/zz"]
           and res["files"][0]["state"] == "bad",
           "the bad piece is reported against its file", r.stdout)
        r = run([GBT, "verify", "-o", data, t1])
        ok(r.returncode == 1 and f"Bad pieces (1): {bad_piece}" in r.stdout,
           "text summary names the bad piece", r.stdout)

        os.unlink(os.path.join(tree, "a/b/c.bin"))
        start = files[".hidden"] + files["B/upper"] + files["a.txt"]
        first = start // plen
        last = (start + files["a/b/c.bin"] - 1) // plen
        rc, res, r = verify(t1, data)
        want = f"{first}-{last}" if last > first else str(first)
        ok(rc == 1 and res and res["missing"] == want,
           f"deleted file: its pieces {want} missing", r.stdout + r.stderr)
        states = {f["path"]: f["state"] for f in (res or {}).get("files", [])}
        ok(states.get("tree/a/b/c.bin") == "absent", "deleted file reported absent", states)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"1..{n_tests}")
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
