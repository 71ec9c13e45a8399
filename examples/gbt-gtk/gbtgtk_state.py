# SPDX-License-Identifier: LGPL-2.1-or-later
"""The app's own small state, in its state directory (by default
$XDG_STATE_HOME/gbt-gtk/):

  settings.json        the default download folder, the paused info-hashes
  torrents.json        one entry per torrent the engine does not keep itself:
                       info-hash, .torrent copy or magnet URI, download dir
  torrents/HEX.torrent the copies

Two classes, so the second can go once libgbt keeps its torrents itself
(Gbt.Session's state-directory with save_state()/load_state()):

- Settings: always used.
- TorrentStore: used only when the session cannot persist its torrents.

Writes are small (a few hundred bytes per torrent) and atomic (a temp file
renamed over the old one)."""
import json
import os


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _read_json(path, default):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return default


class Settings:
    def __init__(self, state_dir, default_download_dir):
        self.path = os.path.join(state_dir, "settings.json")
        data = _read_json(self.path, {})
        self.download_dir = data.get("download-dir") or default_download_dir
        self.paused = set(data.get("paused", []))

    def save(self):
        data = {"download-dir": self.download_dir, "paused": sorted(self.paused)}
        _write_atomic(self.path, json.dumps(data, indent=1).encode("utf-8"))

    def set_paused(self, info_hash, paused):
        if paused == (info_hash in self.paused):
            return
        if paused:
            self.paused.add(info_hash)
        else:
            self.paused.discard(info_hash)
        self.save()


def bencode_torrent(info_bytes, trackers):
    """A .torrent file's bytes around a raw info dictionary (as a magnet's
    metadata exchange got it), with the magnet's tr= URLs, one per tier."""
    def s(b):
        b = b if isinstance(b, bytes) else b.encode("utf-8")
        return b"%d:%s" % (len(b), b)

    out = b"d"
    if trackers:
        out += s("announce") + s(trackers[0])
        out += s("announce-list") + b"l" + b"".join(b"l" + s(t) + b"e" for t in trackers) + b"e"
    out += s("info") + info_bytes + b"e"
    return out


class TorrentStore:
    def __init__(self, state_dir):
        self.dir = state_dir
        self.files_dir = os.path.join(state_dir, "torrents")
        os.makedirs(self.files_dir, exist_ok=True)
        self.path = os.path.join(state_dir, "torrents.json")
        self.entries = {e["info-hash"]: e for e in _read_json(self.path, [])
                        if isinstance(e, dict) and "info-hash" in e}

    def _save(self):
        _write_atomic(self.path, json.dumps(list(self.entries.values()), indent=1).encode("utf-8"))

    def torrent_path(self, info_hash):
        return os.path.join(self.files_dir, info_hash + ".torrent")

    def add_torrent(self, info_hash, torrent_bytes, download_dir):
        _write_atomic(self.torrent_path(info_hash), torrent_bytes)
        self.entries[info_hash] = {"info-hash": info_hash, "torrent": info_hash + ".torrent",
                                   "download-dir": download_dir}
        self._save()

    def add_magnet(self, info_hash, uri, download_dir):
        self.entries[info_hash] = {"info-hash": info_hash, "magnet": uri,
                                   "download-dir": download_dir}
        self._save()

    def metadata_received(self, info_hash, torrent_bytes):
        """A magnet's metadata arrived: keep it, so a restart needs no peers
        to start."""
        e = self.entries.get(info_hash)
        if e is None:
            return
        _write_atomic(self.torrent_path(info_hash), torrent_bytes)
        e["torrent"] = info_hash + ".torrent"
        self._save()

    def remove(self, info_hash):
        if self.entries.pop(info_hash, None) is None:
            return
        try:
            os.unlink(self.torrent_path(info_hash))
        except OSError:
            pass
        self._save()

    def list(self):
        """(info_hash, torrent file path or None, magnet URI or None,
        download dir) for each torrent kept."""
        for e in list(self.entries.values()):
            path = os.path.join(self.files_dir, e["torrent"]) if e.get("torrent") else None
            yield e["info-hash"], path, e.get("magnet"), e.get("download-dir")
