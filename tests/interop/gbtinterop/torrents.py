# SPDX-License-Identifier: LGPL-2.1-or-later
"""Torrents: what a .torrent says (TorrentInfo), and three makers: our
bencoder (any power-of-two piece length down to 16 KiB, empty files kept),
mktorrent, and `gbt create`."""
import hashlib
import os
import subprocess

from . import MiB
from .bencode import bdecode, bencode
from .gbt import gbt_cli
from .payload import list_files, write_random_file

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
    """A random file of @size under the swarm @sw's "src" folder and its
    torrent (@announce: default the swarm's opentracker, started on first use).
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



def create_torrent(src, out_path, announce, piece_length):
    """A torrent made by `gbt create` (a failure, not a fallback, when the
    command does not work).  Returns (TorrentInfo, maker name)."""
    subprocess.run([gbt_cli(), "create", src, "-t", announce, "--piece-size",
                    str(piece_length), "--no-date", "-o", out_path],
                   check=True, stdout=subprocess.DEVNULL, timeout=120)
    return load_torrent(out_path), "gbt create"
