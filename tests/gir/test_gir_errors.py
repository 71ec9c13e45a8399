#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Gbt's error enums are GLib error domains in the typelib (docs part).

The GIR marks Gbt.SessionError, Gbt.TorrentError, Gbt.CreatorError,
Gbt.MetainfoError, ... with glib:error-domain, so a binding raises a
GLib.Error that matches the enum itself (GJS e.matches(Gbt.SessionError,
...), Vala's errordomain) as well as the quark.  Real errors from the
library: a duplicate torrent, a tracker scheme no plugin handles, a missing
path for the creator, truncated bencode.

Needs GI_TYPELIB_PATH/LD_LIBRARY_PATH at the built core/ and GBT_PLUGIN_PATH
at the built plugins/ (tests/meson.build sets them; GBT_GIR the built
Gbt-1.gir).  TAP; a skip is the plan "1..0 # SKIP why" with exit 0.
"""
import hashlib
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

STATE_TIMEOUT = 20  # seconds for a torrent to reach the error state


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


def small_torrent(announce):
    """A one-piece single-file torrent (16 KiB of zeros)."""
    piece = 16384
    info = {"name": "zeros.bin", "length": piece, "piece length": piece,
            "pieces": hashlib.sha1(bytes(piece)).digest()}
    return bencode({"announce": announce, "info": info})


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if not cond:
            self.failed += 1
            for line in str(diag or "").splitlines():
                print("# " + line, flush=True)
        return cond


def main():
    gir = os.environ.get("GBT_GIR")
    try:
        import gi
        gi.require_version("GLib", "2.0")
        gi.require_version("Gbt", "1")
        from gi.repository import Gbt, GLib
    except (ImportError, ValueError) as e:
        print("1..0 # SKIP the Gbt typelib or PyGObject is not available: %s" % e)
        return 0

    print("1..9", flush=True)
    tap = Tap()

    # 1. the GIR itself
    domains = {}
    if gir and os.path.exists(gir):
        ns = {"c": "http://www.gtk.org/introspection/core/1.0",
              "glib": "http://www.gtk.org/introspection/glib/1.0"}
        root = ET.parse(gir).getroot()
        for e in root.iter("{%s}enumeration" % ns["c"]):
            d = e.get("{%s}error-domain" % ns["glib"])
            if d:
                domains[e.get("name")] = d
    want = {"SessionError": "gbt-session-error-quark",
            "TorrentError": "gbt-torrent-error-quark",
            "CreatorError": "gbt-creator-error-quark",
            "MetainfoError": "gbt-metainfo-error-quark",
            "MagnetError": "gbt-magnet-error-quark",
            "TrackerError": "gbt-tracker-error-quark",
            "PluginError": "gbt-plugin-error-quark"}
    tap.ok(all(domains.get(k) == v for k, v in want.items()),
           "Gbt-1.gir marks every public error enum glib:error-domain",
           "GIR %s: %r" % (gir, domains))

    # 2. the quarks are the domains' names; the typelib knows the enums as domains
    tap.ok(all(GLib.quark_to_string(getattr(Gbt, n.lower().replace("error", "_error_quark"))())
               == want[n] for n in ("SessionError", "TorrentError", "CreatorError"))
           and Gbt.SessionError.quark() == Gbt.session_error_quark(),
           "Gbt.session_error_quark() etc. name their domains; SessionError.quark() agrees",
           "%r" % [GLib.quark_to_string(Gbt.session_error_quark())])

    loop = GLib.MainLoop()
    with tempfile.TemporaryDirectory(prefix="gbt-gir-errors-") as tmp:
        session = Gbt.Session.new()
        session.set_listen_address("127.0.0.1", 0)
        session.start()
        mi = Gbt.Metainfo.new_from_bytes(GLib.Bytes.new(small_torrent("foo://127.0.0.1:1/announce")))
        torrent = session.add_torrent(mi, tmp)

        # 3-4. DUPLICATE_TORRENT
        try:
            session.add_torrent(mi, tmp)
            dup = None
        except GLib.Error as e:
            dup = e
        tap.ok(dup is not None and dup.matches(Gbt.session_error_quark(),
                                               Gbt.SessionError.DUPLICATE_TORRENT),
               "a duplicate add raises GLib.Error matching (session_error_quark, DUPLICATE_TORRENT)",
               "raised %r" % (dup,))
        tap.ok(dup is not None and dup.domain == "gbt-session-error-quark"
               and dup.code == int(Gbt.SessionError.DUPLICATE_TORRENT)
               and GLib.Error.matches(dup, Gbt.SessionError.quark(), Gbt.SessionError.DUPLICATE_TORRENT),
               "its domain is gbt-session-error-quark, its code SessionError.DUPLICATE_TORRENT",
               "domain %r code %r" % (dup and dup.domain, dup and dup.code))

        # 5. TorrentError: no plugin for the tracker's scheme
        def on_state(t, pspec):
            if t.get_state() == Gbt.TorrentState.ERROR:
                loop.quit()

        torrent.connect("notify::state", on_state)
        torrent.start()
        timed_out = []
        tid = GLib.timeout_add(STATE_TIMEOUT * 1000, lambda: (timed_out.append(1), loop.quit()))
        loop.run()
        if not timed_out:
            GLib.source_remove(tid)
        err = torrent.get_error()
        tap.ok(err is not None and err.matches(Gbt.torrent_error_quark(),
                                               Gbt.TorrentError.NO_TRACKER_PLUGIN)
               and err.domain == "gbt-torrent-error-quark",
               "a foo:// tracker fails the torrent with TorrentError.NO_TRACKER_PLUGIN",
               "state %r error %r" % (torrent.get_state(), err))
        del torrent, session

        # 6. CreatorError.NOT_FOUND
        try:
            Gbt.Creator.new(os.path.join(tmp, "missing"))
            cerr = None
        except GLib.Error as e:
            cerr = e
        tap.ok(cerr is not None and cerr.matches(Gbt.creator_error_quark(), Gbt.CreatorError.NOT_FOUND),
               "Gbt.Creator.new on a missing path raises CreatorError.NOT_FOUND", "raised %r" % (cerr,))

    # 7. MetainfoError
    try:
        Gbt.Metainfo.new_from_bytes(GLib.Bytes.new(b"d4:infoi1e"))
        merr = None
    except GLib.Error as e:
        merr = e
    tap.ok(merr is not None and merr.matches(Gbt.metainfo_error_quark(), Gbt.MetainfoError.BENCODE),
           "truncated bencode raises MetainfoError.BENCODE", "raised %r" % (merr,))

    # 8. MagnetError
    try:
        Gbt.Magnet.parse("magnet:?dn=nohash")
        gerr = None
    except (GLib.Error, AttributeError, TypeError) as e:
        gerr = e
    tap.ok(isinstance(gerr, GLib.Error) and gerr.domain == "gbt-magnet-error-quark",
           "a magnet link without xt raises a gbt-magnet-error-quark GLib.Error", "raised %r" % (gerr,))

    # 9. the enums are GTypes where registered: GBT_TYPE_SESSION_ERROR
    tap.ok(Gbt.SessionError.__gtype__.name == "GbtSessionError"
           and Gbt.TorrentError.__gtype__.name == "GbtTorrentError"
           and Gbt.CreatorError.__gtype__.name == "GbtCreatorError",
           "SessionError/TorrentError/CreatorError are the GTypes GbtSessionError...",
           "%r" % (Gbt.SessionError.__gtype__,))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
