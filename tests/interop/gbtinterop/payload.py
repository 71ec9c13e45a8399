# SPDX-License-Identifier: LGPL-2.1-or-later
"""Payloads: deterministic pseudo-random files and trees, a byte-for-byte
tree compare, and which pieces of a torrent are good on disk."""
import hashlib
import os
import random

from . import MiB

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

