#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Torrents made by mktorrent and transmission-create, read by `gbt info
--json`, must give what python3-libtorrent and transmission-show give: the
same info-hash, name, sizes, pieces, files and trackers.  Magnet links are
compared with libtorrent's parser.  Also checks the command's exit codes.

Needs GBT_CLI (set by meson).  Exit 77 (meson's skip: this test
does not speak TAP) when a tool is missing, naming it."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

GBT = os.environ.get("GBT_CLI")
SRCDIR = os.environ.get("GBT_TEST_SRCDIR", os.path.dirname(os.path.dirname(__file__)))
TIMEOUT = 60

try:
    import libtorrent as lt
except ImportError:
    print("SKIP: python3-libtorrent is not installed")
    sys.exit(77)

for tool in ("mktorrent", "transmission-create", "transmission-show"):
    if shutil.which(tool) is None:
        print(f"SKIP: {tool} is not installed")
        sys.exit(77)
if not GBT:
    print("GBT_CLI is not set")
    sys.exit(1)

failures = []
checked = 0


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def gbt_json(path):
    r = run([GBT, "info", "--json", path])
    if r.returncode != 0:
        fail(f"gbt info --json {path}: exit {r.returncode}: {r.stderr.strip()}")
        return None
    return json.loads(r.stdout)


def transmission_hash(path):
    r = run(["transmission-show", path])
    m = re.search(r"^\s*Hash:\s*([0-9a-f]{40})", r.stdout, re.M)
    return m.group(1) if m else None


def compare(path, label):
    global checked
    checked += 1
    g = gbt_json(path)
    if g is None:
        return
    ti = lt.torrent_info(path)
    want_hash = str(ti.info_hashes().v1)
    if g["info_hash"] != want_hash:
        fail(f"{label}: info-hash {g['info_hash']} != libtorrent {want_hash}")
    th = transmission_hash(path)
    if th != g["info_hash"]:
        fail(f"{label}: info-hash {g['info_hash']} != transmission-show {th}")
    for key, want in (("name", ti.name()), ("total_size", ti.total_size()),
                      ("piece_length", ti.piece_length()), ("piece_count", ti.num_pieces()),
                      ("private", bool(ti.priv()))):
        if g[key] != want:
            fail(f"{label}: {key} {g[key]!r} != libtorrent {want!r}")
    fs = ti.files()
    if len(g["files"]) != fs.num_files():
        fail(f"{label}: {len(g['files'])} files != libtorrent {fs.num_files()}")
    else:
        for i, f in enumerate(g["files"]):
            lpath = fs.file_path(i).replace(os.sep, "/")
            if f["path"] != lpath or f["length"] != fs.file_size(i) or f["offset"] != fs.file_offset(i):
                fail(f"{label}: file {i} {f['path']} {f['length']}@{f['offset']} != libtorrent "
                     f"{lpath} {fs.file_size(i)}@{fs.file_offset(i)}")
    tiers = {}
    for t in ti.trackers():
        tiers.setdefault(t.tier, []).append(t.url)
    # libtorrent shuffles each tier as BEP 12 asks: compare tiers as sets
    want_tiers = [sorted(tiers[k]) for k in sorted(tiers)]
    if [sorted(t) for t in g["trackers"]] != want_tiers:
        fail(f"{label}: trackers {g['trackers']} != libtorrent {want_tiers}")
    seeds = [w["url"] for w in ti.web_seeds()]
    if g["web_seeds"] != seeds:
        fail(f"{label}: web seeds {g['web_seeds']} != libtorrent {seeds}")
    if g["warnings"]:
        fail(f"{label}: unexpected warnings {g['warnings']}")


def make_content(root):
    rnd = random.Random(1234)
    single = os.path.join(root, "single.bin")
    with open(single, "wb") as f:
        f.write(rnd.randbytes(300_001))
    multi = os.path.join(root, "Multi Dir é")
    os.makedirs(os.path.join(multi, "sub", "deeper"))
    os.makedirs(os.path.join(multi, "other"))
    sizes = {
        "a.txt": 1, "sub/b.bin": 65_536, "sub/deeper/c.dat": 123_457,
        "other/empty": 0, "other/d.bin": 16_383, "z-last": 700_000,
    }
    for rel, size in sizes.items():
        with open(os.path.join(multi, rel), "wb") as f:
            f.write(rnd.randbytes(size))
    return single, multi


def main():
    work = tempfile.mkdtemp(prefix="gbt-metainfo-tools-")
    try:
        single, multi = make_content(work)
        out = os.path.join(work, "out")
        os.mkdir(out)

        # mktorrent: every piece length from 32 KiB to 4 MiB, single and multi
        for exp in range(15, 23):
            for src, kind in ((single, "single"), (multi, "multi")):
                t = os.path.join(out, f"mk-{kind}-{exp}.torrent")
                args = ["mktorrent", "-l", str(exp), "-o", t,
                        "-a", "http://127.0.0.1:6969/announce",
                        "-a", "udp://127.0.0.1:6969,http://127.0.0.2:6969/announce"]
                if exp == 16:
                    args += ["-p", "-c", "a comment", "-w", "http://127.0.0.1:8000/files/"]
                r = run(args + [src])
                if r.returncode != 0:
                    fail(f"mktorrent {args}: {r.stderr}")
                    continue
                compare(t, f"mktorrent -l {exp} {kind}")

        # transmission-create (it leaves zero-length files out)
        for extra, label in (([], "default"), (["-s", "16"], "-s 16"), (["-s", "64", "-p"], "-s 64 -p"),
                             (["-s", "1024", "-c", "comment é"], "-s 1024")):
            for src, kind in ((single, "single"), (multi, "multi")):
                t = os.path.join(out, f"tr-{kind}-{label.replace(' ', '_')}.torrent")
                r = run(["transmission-create", "-o", t, "-t", "http://127.0.0.1:6969/announce"]
                        + extra + [src])
                if r.returncode != 0 or not os.path.exists(t):
                    fail(f"transmission-create {extra}: {r.stdout}{r.stderr}")
                    continue
                compare(t, f"transmission-create {label} {kind}")

        # the committed corpus
        data = os.path.join(SRCDIR, "data", "metainfo")
        for name in sorted(os.listdir(data)):
            if name.endswith(".torrent"):
                compare(os.path.join(data, name), f"tests/data/metainfo/{name}")

        # text output works too
        t = os.path.join(out, "mk-multi-16.torrent")
        r = run([GBT, "info", t])
        if r.returncode != 0 or "Info-hash:" not in r.stdout or "Files (6):" not in r.stdout:
            fail(f"gbt info (text): exit {r.returncode}: {r.stdout}{r.stderr}")

        # magnet links against libtorrent's parser
        magnets = [
            "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=Some+Name"
            "&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr=udp://127.0.0.1:6969",
            "magnet:?xt=urn:btih:ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW&dn=b32",
            "magnet:?dn=x&xt=urn:btih:C9E15763F722F23E98A29DECDFAE341B98D53056",
        ]
        for uri in magnets:
            r = run([GBT, "info", "--json", uri])
            if r.returncode != 0:
                fail(f"gbt info {uri}: exit {r.returncode}: {r.stderr}")
                continue
            g = json.loads(r.stdout)
            p = lt.parse_magnet_uri(uri)
            if g["info_hash"] != str(p.info_hashes.v1):
                fail(f"magnet {uri}: hash {g['info_hash']} != libtorrent {p.info_hashes.v1}")
            if (g["name"] or "") != p.name:
                fail(f"magnet {uri}: name {g['name']!r} != libtorrent {p.name!r}")
            if [u for tier in g["trackers"] for u in tier] != list(p.trackers):
                fail(f"magnet {uri}: trackers {g['trackers']} != libtorrent {p.trackers}")

        # exit codes and messages
        missing = os.path.join(work, "missing.torrent")
        r = run([GBT, "info", missing])
        if r.returncode != 1 or not r.stderr.startswith(f"gbt: cannot read {missing}: "):
            fail(f"missing file: exit {r.returncode}, stderr {r.stderr!r}")
        bad = os.path.join(work, "bad.torrent")
        with open(bad, "wb") as f:
            f.write(b"d4:infod4:name1:xee")
        r = run([GBT, "info", bad])
        if r.returncode != 1 or "cannot read" not in r.stderr:
            fail(f"invalid torrent: exit {r.returncode}, stderr {r.stderr!r}")
        r = run([GBT, "info", "magnet:?xt=urn:btih:123"])
        if r.returncode != 1 or not r.stderr.startswith("gbt: "):
            fail(f"bad magnet: exit {r.returncode}, stderr {r.stderr!r}")
        for args in ([], [single, single], ["--no-such-option", single]):
            r = run([GBT, "info"] + args)
            if r.returncode != 2:
                fail(f"gbt info {args}: exit {r.returncode}, want 2 (usage)")
        r = run([GBT, "info", "--help"])
        if r.returncode != 0 or "Example" not in r.stdout:
            fail(f"gbt info --help: exit {r.returncode}: {r.stdout}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{checked} torrents compared, {len(failures)} failures")
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
