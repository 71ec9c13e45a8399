#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gbt-gtk: a small BitTorrent app on libgbt, GTK 4 and libadwaita, in
Python through GObject-Introspection.

What it shows an app author:
- the torrent list is a Gtk.ColumnView over the session's own
  Gio.ListModel (Gbt.Session.get_torrents()), rows bound to torrent
  properties with GObject.Object.bind_property();
- a details page with the torrent's files (priorities), peers and trackers
  as list models;
- adding from a .torrent file or a magnet link, pause/resume, remove with
  or without the data, a download folder;
- the torrents come back at the next start.

Run from a build tree (meson devenv, or by hand):
  GI_TYPELIB_PATH=build/core LD_LIBRARY_PATH=build/core \\
  GBT_PLUGIN_PATH=build/plugins examples/gbt-gtk/gbt-gtk.py

Options for scripts and tests: --state-dir, --download-dir, --add FILE,
--magnet URI, --listen-address, --screenshot PNG, --quit-when-done,
--timeout.  Lines on stdout ("gbt-gtk: restored HEX NAME", "gbt-gtk:
finished HEX", ...) tell a script what happened.

Written against the API of the issue 12 plan; parts of it that an older
libgbt lacks are probed at run time (Engine.has_*): torrent properties
(else the getters are polled once a second), the files/peers/trackers
models (else the details page says "not available"),
Session.remove_torrent_async (else stop, remove, delete the files here),
the session's state directory (else gbtgtk_state.TorrentStore keeps the
torrents)."""
import argparse
import os
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

APP_ID = "org.gbt.Example.Gtk"
PRIORITY_NAMES = ["Skip", "Low", "Normal", "High"]
SHUTDOWN_TIMEOUT = 10  # seconds for the torrents to stop (resume data saved)


def say(msg):
    """A line for scripts and tests on stdout."""
    print("gbt-gtk: " + msg, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="gbt-gtk", description=__doc__.split("\n\n")[0])
    p.add_argument("--state-dir", help="where the app keeps its state "
                   "(default $XDG_STATE_HOME/gbt-gtk)")
    p.add_argument("--download-dir", help="the download folder for new torrents "
                   "(default: the one chosen last, else ~/Downloads)")
    p.add_argument("--add", action="append", default=[], metavar="FILE",
                   help="add this .torrent file at start (repeatable)")
    p.add_argument("--magnet", action="append", default=[], metavar="URI",
                   help="add this magnet link at start (repeatable)")
    p.add_argument("--listen-address", metavar="ADDR",
                   help="listen on and connect from this address only")
    p.add_argument("--details", action="store_true",
                   help="open the details page of the first torrent")
    p.add_argument("--screenshot", metavar="PNG",
                   help="write a PNG of the window (when every torrent is seeding "
                   "with --quit-when-done, else once it is first drawn)")
    p.add_argument("--quit-when-done", action="store_true",
                   help="exit 0 once every torrent is seeding, 1 on a torrent error "
                   "or after --timeout")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before --quit-when-done gives up (default 600)")
    opts = p.parse_args(argv)
    if opts.timeout is None:
        opts.timeout = 600.0 if opts.quit_when_done else 0.0
    return opts


try:
    import gi
    gi.require_version("GLib", "2.0")
    gi.require_version("Gio", "2.0")
    gi.require_version("Gtk", "4.0")
    gi.require_version("Adw", "1")
    gi.require_version("Gbt", "1")
    from gi.repository import Adw, Gbt, Gio, GLib, GObject, Gtk, Pango
except (ImportError, ValueError) as _e:
    print("gbt-gtk: cannot load GTK 4, libadwaita or the Gbt typelib: %s" % _e, file=sys.stderr)
    sys.exit(2)


# ------------------------------------------------------------- formatting

def fmt_size(n):
    return GLib.format_size(int(n))


def fmt_rate(r):
    return "" if r < 1 else GLib.format_size(int(r)) + "/s"


def fmt_eta(s):
    if s is None or s <= 0:  # -1 unknown, 0 nothing left
        return ""
    s = int(s)
    if s >= 86400:
        return "%dd %dh" % (s // 86400, s % 86400 // 3600)
    return "%d:%02d:%02d" % (s // 3600, s % 3600 // 60, s % 60) if s >= 3600 \
        else "%d:%02d" % (s // 60, s % 60)


def fmt_time_from_now(t):
    if not t:
        return ""
    d = int(t - time.time())
    return ("in " + fmt_eta(d)) if d >= 0 else (fmt_eta(-d) + " ago")


def state_text(state):
    S = Gbt.TorrentState
    return {S.STOPPED: "Paused", S.CHECKING: "Checking", S.DOWNLOADING: "Downloading",
            S.SEEDING: "Seeding", S.ERROR: "Error",
            S.FETCHING_METADATA: "Fetching metadata"}.get(state, str(state))


def torrent_hex(torrent):
    if torrent.find_property("info-hash") is not None:
        return torrent.props.info_hash
    return bytes(torrent.get_info_hash()).hex()


def magnet_trackers(uri):
    q = urllib.parse.urlsplit(uri).query
    return [v for k, v in urllib.parse.parse_qsl(q) if k == "tr"]


# ------------------------------------------------------------- the engine

def make_stats_class():
    class TorrentStats(GObject.Object):
        """What a row shows of a torrent, as properties.  With a libgbt whose
        Gbt.Torrent has the properties (progress, download-rate, upload-rate,
        n-peers, eta) they are bound one to one; with an older one, poll()
        reads the getters (Engine calls it once a second)."""
        progress = GObject.Property(type=float, default=0.0)
        download_rate = GObject.Property(type=float, default=0.0)
        upload_rate = GObject.Property(type=float, default=0.0)
        n_peers = GObject.Property(type=int, default=0)
        eta = GObject.Property(type=GObject.TYPE_INT64, default=-1)
        state_text = GObject.Property(type=str, default="")

        LIVE = ("progress", "download-rate", "upload-rate", "n-peers", "eta")

        def __init__(self, torrent):
            super().__init__()
            self.torrent = torrent
            self.live = torrent.find_property("progress") is not None
            self.bindings = []
            if self.live:
                flags = GObject.BindingFlags.SYNC_CREATE
                for name in self.LIVE:
                    if torrent.find_property(name) is not None:
                        self.bindings.append(torrent.bind_property(name, self, name, flags))
            self.state_handler = torrent.connect("notify::state", lambda t, p: self.poll())
            self.poll()

        def _set(self, name, value):
            if self.get_property(name) != value:
                self.set_property(name, value)

        def poll(self):
            t = self.torrent
            state = t.get_state()
            text = state_text(state)
            if state == Gbt.TorrentState.ERROR and t.get_error() is not None:
                text = "Error: " + t.get_error().message
            self._set("state-text", text)
            if self.live:
                return
            have, wanted = t.get_bytes_have(), t.get_bytes_wanted()
            if wanted > 0:
                progress = min(1.0, have / wanted)
            else:
                progress = 1.0 if state == Gbt.TorrentState.SEEDING else 0.0
            down = t.get_download_rate()
            self._set("progress", progress)
            self._set("download-rate", down)
            self._set("upload-rate", t.get_upload_rate())
            self._set("n-peers", t.get_n_peers())
            eta = -1
            if state == Gbt.TorrentState.DOWNLOADING and down >= 1 and wanted > have:
                eta = int((wanted - have) / down)
            self._set("eta", eta)

        def dispose_stats(self):
            for b in self.bindings:
                b.unbind()
            self.bindings = []
            self.torrent.disconnect(self.state_handler)

    return TorrentStats


class Engine:
    """The session, what the app keeps across restarts, and the actions on
    torrents, without any widget."""

    def __init__(self, opts, state_dir, on_state_changed):
        from gbtgtk_state import Settings, TorrentStore
        self.opts = opts
        self.state_dir = state_dir
        self.on_state_changed = on_state_changed  # (torrent) for the window
        default_dl = (GLib.get_user_special_dir(GLib.UserDirectory.DIRECTORY_DOWNLOAD)
                      or os.path.join(GLib.get_home_dir(), "Downloads"))
        self.settings = Settings(state_dir, default_dl)
        if opts.download_dir:
            self.settings.download_dir = os.path.abspath(opts.download_dir)
        self.session = Gbt.Session.new()
        if opts.listen_address:
            self.session.set_listen_address(opts.listen_address, 0)
            self.session.set_bind_address(opts.listen_address)
        self.session_persists = (self.session.find_property("state-directory") is not None
                                 and hasattr(self.session, "save_state")
                                 and hasattr(self.session, "load_state"))
        if self.session_persists:
            # before anything is added: the session keeps its torrents and
            # their resume data there
            engine_dir = os.path.join(state_dir, "engine")
            os.makedirs(engine_dir, exist_ok=True)
            self.session.set_property("state-directory", engine_dir)
        self.store = None if self.session_persists else TorrentStore(state_dir)
        self.dirs = {}        # hex -> download dir (until Gbt.Torrent:download-dir)
        self.magnets = {}     # hex -> magnet URI (for the trackers in a saved .torrent)
        self.stats = {}       # torrent -> TorrentStats
        self.handlers = {}    # torrent -> [handler ids]
        self.TorrentStats = make_stats_class()
        self.model = self.session.get_torrents()
        self.model.connect("items-changed", self._on_items_changed)

    # --- capabilities of this libgbt
    def has_remove_async(self):
        return hasattr(self.session, "remove_torrent_async")

    @staticmethod
    def has(torrent, method):
        return hasattr(torrent, method)

    # --- lifetime
    def start(self):
        self.session.start()

    def torrents(self):
        return [self.model.get_item(i) for i in range(self.model.get_n_items())]

    def stats_for(self, torrent):
        s = self.stats.get(torrent)
        if s is None:
            s = self.stats[torrent] = self.TorrentStats(torrent)
        return s

    def poll(self):
        for s in self.stats.values():
            s.poll()

    def _on_items_changed(self, model, pos, removed, added):
        alive = set(self.torrents())
        for t in [t for t in self.stats if t not in alive]:
            self.stats.pop(t).dispose_stats()
        for t in [t for t in self.handlers if t not in alive]:
            for h in self.handlers.pop(t):
                t.disconnect(h)
        for t in alive:
            if t not in self.handlers:
                self._watch(t)

    def _watch(self, torrent):
        hexh = torrent_hex(torrent)
        hs = [torrent.connect("notify::state", lambda t, p: self.on_state_changed(t)),
              torrent.connect("finished", lambda t: say("finished %s %s" % (hexh, t.get_name()))),
              torrent.connect("metadata-received", self._on_metadata)]
        self.handlers[torrent] = hs

    def _on_metadata(self, torrent):
        hexh = torrent_hex(torrent)
        say("metadata %s %s" % (hexh, torrent.get_name()))
        if self.store is not None:
            from gbtgtk_state import bencode_torrent
            info = torrent.get_metainfo().get_info_bytes().get_data()
            trackers = magnet_trackers(self.magnets.get(hexh, ""))
            self.store.metadata_received(hexh, bencode_torrent(bytes(info), trackers))
        self.save()

    def download_dir_of(self, torrent):
        if torrent.find_property("download-dir") is not None:
            return torrent.props.download_dir
        return self.dirs.get(torrent_hex(torrent))

    def save(self):
        if self.session_persists:
            try:
                self.session.save_state()
            except GLib.Error as e:
                say("cannot save the session state: %s" % e.message)

    # --- restore
    def restore(self):
        """Brings back the torrents of the last run; returns them."""
        out = []
        if self.session_persists:
            try:
                self.session.load_state()
            except GLib.Error as e:
                say("cannot load the session state: %s" % e.message)
            out = self.torrents()
        else:
            for hexh, path, magnet, ddir in self.store.list():
                try:
                    if path is not None:
                        mi = Gbt.Metainfo.new_from_file(path)
                        t = self.session.add_torrent(mi, ddir)
                    else:
                        t = self.session.add_magnet(Gbt.Magnet.parse(magnet), ddir)
                except GLib.Error as e:
                    say("cannot restore %s: %s" % (hexh, e.message))
                    continue
                self.dirs[hexh] = ddir
                if magnet:
                    self.magnets[hexh] = magnet
                out.append(t)
        for t in out:
            hexh = torrent_hex(t)
            say("restored %s %s" % (hexh, t.get_name()))
            if hexh not in self.settings.paused and t.get_state() == Gbt.TorrentState.STOPPED:
                t.start()
        return out

    # --- actions
    def add_file(self, path, download_dir=None):
        """Adds a .torrent file and starts it; raises GLib.Error."""
        download_dir = download_dir or self.settings.download_dir
        with open(path, "rb") as f:
            data = f.read()
        mi = Gbt.Metainfo.new_from_bytes(GLib.Bytes.new(data))
        os.makedirs(download_dir, exist_ok=True)
        t = self.session.add_torrent(mi, download_dir)
        hexh = mi.dup_info_hash_hex()
        self.dirs[hexh] = download_dir
        if self.store is not None:
            self.store.add_torrent(hexh, data, download_dir)
        self.settings.set_paused(hexh, False)
        say("added %s %s" % (hexh, t.get_name()))
        t.start()
        self.save()
        return t

    def add_magnet(self, uri, download_dir=None):
        download_dir = download_dir or self.settings.download_dir
        magnet = Gbt.Magnet.parse(uri)
        os.makedirs(download_dir, exist_ok=True)
        t = self.session.add_magnet(magnet, download_dir)
        hexh = torrent_hex(t)
        self.dirs[hexh] = download_dir
        self.magnets[hexh] = uri
        if self.store is not None:
            self.store.add_magnet(hexh, uri, download_dir)
        self.settings.set_paused(hexh, False)
        say("added %s %s" % (hexh, t.get_name()))
        t.start()
        self.save()
        return t

    def pause(self, torrent):
        self.settings.set_paused(torrent_hex(torrent), True)
        torrent.stop_async(None, self._stopped)

    def _stopped(self, torrent, result):
        try:
            torrent.stop_finish(result)
        except GLib.Error as e:
            say("stop %s: %s" % (torrent.get_name(), e.message))
        self.save()

    def resume(self, torrent):
        self.settings.set_paused(torrent_hex(torrent), False)
        torrent.start()
        self.save()

    def remove(self, torrent, delete_data, done):
        """Removes @torrent (and its data when @delete_data); done(error
        message or None) on the main loop once it is gone."""
        hexh = torrent_hex(torrent)
        ddir = self.download_dir_of(torrent)
        mi = torrent.get_metainfo()
        paths = []
        if mi is not None and ddir:
            paths = [mi.get_file(i).path for i in range(mi.get_n_files())]

        def forget():
            if self.store is not None:
                self.store.remove(hexh)
            self.settings.paused.discard(hexh)
            self.settings.save()
            self.dirs.pop(hexh, None)
            self.magnets.pop(hexh, None)
            self.save()
            say("removed %s%s" % (hexh, " with its data" if delete_data else ""))

        if self.has_remove_async():
            flags = Gbt.RemoveFlags.DELETE_RESUME
            if delete_data:
                flags |= Gbt.RemoveFlags.DELETE_DATA

            def removed(session, result):
                try:
                    session.remove_torrent_finish(result)
                except GLib.Error as e:
                    done(e.message)
                    return
                forget()
                done(None)

            self.session.remove_torrent_async(torrent, flags, None, removed)
            return

        # Older libgbt: stop, take it off the list, delete the files here
        # (on a thread: unlinking big files can take a while).
        def after_stop(t, result=None):
            if result is not None:
                try:
                    t.stop_finish(result)
                except GLib.Error:
                    pass
            self.session.remove_torrent(t)
            forget()
            if not delete_data:
                done(None)
                return
            threading.Thread(target=delete_files, args=(ddir, paths, hexh, done),
                             daemon=True).start()

        if torrent.get_state() in (Gbt.TorrentState.STOPPED, Gbt.TorrentState.ERROR):
            after_stop(torrent)
        else:
            torrent.stop_async(None, after_stop)

    def shutdown(self, done):
        """Stops every torrent (resume data saved), bounded; then saves the
        state and calls done()."""
        running = [t for t in self.torrents()
                   if t.get_state() not in (Gbt.TorrentState.STOPPED, Gbt.TorrentState.ERROR)]
        left = [len(running)]
        finished = [False]

        def finish():
            if not finished[0]:
                finished[0] = True
                self.save()
                done()
            return GLib.SOURCE_REMOVE

        def one_stopped(t, result):
            try:
                t.stop_finish(result)
            except GLib.Error:
                pass
            left[0] -= 1
            if left[0] == 0:
                finish()

        if not running:
            finish()
            return
        GLib.timeout_add_seconds(SHUTDOWN_TIMEOUT, finish)
        for t in running:
            t.stop_async(None, one_stopped)


def delete_files(ddir, paths, hexh, done):
    """On a worker thread: the torrent's files, its resume sidecars, then
    the directories that became empty.  done() back on the main loop."""
    errors = []
    ddir = os.path.abspath(ddir)
    dirs = set()
    for rel in paths:
        full = os.path.abspath(os.path.join(ddir, *rel.split("/")))
        if not full.startswith(ddir + os.sep):
            continue
        try:
            os.unlink(full)
        except FileNotFoundError:
            pass
        except OSError as e:
            errors.append(str(e))
        d = os.path.dirname(full)
        while d.startswith(ddir + os.sep):
            dirs.add(d)
            d = os.path.dirname(d)
    for suffix in (".resume", ".parts", ".info"):
        try:
            os.unlink(os.path.join(ddir, ".gbt", hexh + suffix))
        except OSError:
            pass
    dirs.add(os.path.join(ddir, ".gbt"))  # removed when no other torrent uses it
    for d in sorted(dirs, key=len, reverse=True):
        try:
            os.rmdir(d)
        except OSError:
            pass
    msg = "; ".join(errors) or None
    GLib.idle_add(lambda: (done(msg), GLib.SOURCE_REMOVE)[1])


# ------------------------------------------------------------- list views

class Columns:
    """Gtk.ColumnView columns whose cells bind item properties to widgets;
    bindings are undone when a cell is recycled."""

    def __init__(self):
        self.bound = {}  # list item -> [GObject.Binding or (obj, handler)]

    def column(self, title, setup, bind, expand=False, fixed=None):
        f = Gtk.SignalListItemFactory()
        f.connect("setup", lambda f, li: li.set_child(setup()))
        f.connect("bind", lambda f, li: self.bound.__setitem__(
            li, bind(li.get_child(), li.get_item()) or []))
        f.connect("unbind", self._unbind)
        c = Gtk.ColumnViewColumn(title=title, factory=f, expand=expand, resizable=True)
        if fixed:
            c.set_fixed_width(fixed)
        return c

    def _unbind(self, f, li):
        for b in self.bound.pop(li, []):
            if isinstance(b, tuple):
                b[0].disconnect(b[1])
            else:
                b.unbind()

    def label(self, title, prop, fmt=str, expand=False, xalign=0.0, source=None, fixed=None):
        """A label showing fmt(item.prop) (or source(item).prop)."""
        def setup():
            return Gtk.Label(xalign=xalign, ellipsize=Pango.EllipsizeMode.END)

        def bind(label, item):
            obj = source(item) if source else item
            return [obj.bind_property(prop, label, "label", GObject.BindingFlags.SYNC_CREATE,
                                      lambda b, v: fmt(v))]
        return self.column(title, setup, bind, expand, fixed)

    def progress(self, title, prop="progress", source=None, fixed=140):
        def setup():
            return Gtk.ProgressBar(show_text=True, valign=Gtk.Align.CENTER)

        def bind(bar, item):
            obj = source(item) if source else item
            flags = GObject.BindingFlags.SYNC_CREATE
            return [obj.bind_property(prop, bar, "fraction", flags),
                    obj.bind_property(prop, bar, "text", flags,
                                      lambda b, v: "%.1f %%" % (100.0 * v))]
        return self.column(title, setup, bind, fixed=fixed)


def scrolled(child):
    return Gtk.ScrolledWindow(child=child, vexpand=True, hexpand=True)


def not_available(what):
    return Adw.StatusPage(icon_name="dialog-information-symbolic", title="Not available",
                          description="This libgbt has no %s" % what, vexpand=True)


class DetailsPage(Gtk.Box):
    """One torrent: a summary, then its files, peers and trackers."""

    def __init__(self, window, engine, torrent):
        super().__init__(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        self.window = window
        self.engine = engine
        self.torrent = torrent
        self.cols = Columns()
        self.summary = Gtk.Label(xalign=0.0, wrap=True, selectable=True, hexpand=True)
        top = Gtk.Box(spacing=12, margin_start=12, margin_end=12, margin_top=6)
        top.append(self.summary)
        if torrent.find_property("sequential") is not None:
            # a per-torrent setting, bound both ways
            seq = Gtk.Switch(valign=Gtk.Align.CENTER)
            self.seq_binding = torrent.bind_property(
                "sequential", seq, "active",
                GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.BIDIRECTIONAL)
            top.append(Gtk.Label(label="Download in order"))
            top.append(seq)
        self.append(top)
        stack = Gtk.Stack(vexpand=True)
        stack.add_titled(self._files(), "files", "Files")
        stack.add_titled(self._peers(), "peers", "Peers")
        stack.add_titled(self._trackers(), "trackers", "Trackers")
        self.append(Gtk.StackSwitcher(stack=stack, halign=Gtk.Align.CENTER))
        self.append(stack)
        self.refresh()

    def refresh(self):
        t = self.torrent
        s = self.engine.stats_for(t)
        mi = t.get_metainfo()
        lines = ["<b>%s</b>" % GLib.markup_escape_text(t.get_name() or ""),
                 "%s · %.1f %% · %s of %s" % (GLib.markup_escape_text(s.props.state_text),
                                              100.0 * s.props.progress,
                                              fmt_size(t.get_bytes_have()),
                                              fmt_size(t.get_bytes_wanted())),
                 "↓ %s ↑ %s · %d peer%s · downloaded %s, uploaded %s"
                 % (fmt_rate(s.props.download_rate) or "0", fmt_rate(s.props.upload_rate) or "0",
                    s.props.n_peers, "" if s.props.n_peers == 1 else "s",
                    fmt_size(t.get_downloaded()), fmt_size(t.get_uploaded())),
                 "Info-hash %s · %s" % (torrent_hex(t),
                                        GLib.markup_escape_text(
                                            self.engine.download_dir_of(t) or ""))]
        if mi is not None:
            lines[0] += " (%d files, %s)" % (mi.get_n_files(), fmt_size(mi.get_total_size()))
        if t.find_property("ratio") is not None:
            lines[2] += " · ratio %.2f" % t.props.ratio
        self.summary.set_markup("\n".join(lines))

    # --- files: path, size, progress, priority
    def _files(self):
        t = self.torrent
        if not Engine.has(t, "get_files"):
            return not_available("Gbt.Torrent.get_files()")
        view = Gtk.ColumnView(model=Gtk.NoSelection(model=t.get_files()), reorderable=False)
        view.append_column(self.cols.label("File", "path", expand=True))
        view.append_column(self.cols.label("Size", "size", fmt_size, xalign=1.0))
        view.append_column(self.cols.progress("Progress"))
        view.append_column(self.cols.column("Priority", self._priority_setup,
                                            self._priority_bind))
        return scrolled(view)

    @staticmethod
    def _priority_setup():
        return Gtk.DropDown.new_from_strings(PRIORITY_NAMES)

    @staticmethod
    def _priority_bind(dropdown, gfile):
        flags = GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.BIDIRECTIONAL
        return [gfile.bind_property("priority", dropdown, "selected", flags,
                                    lambda b, v: int(v),
                                    lambda b, v: Gbt.FilePriority(min(int(v), 3)))]

    # --- peers
    def _peers(self):
        t = self.torrent
        if not Engine.has(t, "get_peers"):
            return not_available("Gbt.Torrent.get_peers()")
        view = Gtk.ColumnView(model=Gtk.NoSelection(model=t.get_peers()))
        c = self.cols
        view.append_column(c.label("Address", "address", expand=True))
        view.append_column(c.label("Client", "client", expand=True))
        view.append_column(c.label("Source", "source", fixed=80))
        view.append_column(c.label("Flags", "flags", peer_flags_text, fixed=70))
        view.append_column(c.label("Down", "download-rate", fmt_rate, xalign=1.0, fixed=90))
        view.append_column(c.label("Up", "upload-rate", fmt_rate, xalign=1.0, fixed=90))
        view.append_column(c.progress("Has", fixed=100))
        return scrolled(view)

    # --- trackers, with add / remove / announce now
    def _trackers(self):
        t = self.torrent
        if not Engine.has(t, "get_trackers"):
            return not_available("Gbt.Torrent.get_trackers()")
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        view = Gtk.ColumnView(model=Gtk.NoSelection(model=t.get_trackers()))
        c = self.cols
        view.append_column(c.label("URL", "url", expand=True))
        view.append_column(c.label("Tier", "tier", xalign=1.0))
        view.append_column(c.label("Status", "status", enum_text))
        view.append_column(c.label("Seeders", "seeders", count_text, xalign=1.0))
        view.append_column(c.label("Leechers", "leechers", count_text, xalign=1.0))
        view.append_column(c.label("Next announce", "next-announce", fmt_time_from_now))
        view.append_column(c.label("Last error", "last-error", lambda v: v or "", expand=True))
        if Engine.has(t, "remove_tracker"):
            view.append_column(c.column("", self._remove_tracker_setup,
                                        self._remove_tracker_bind))
        box.append(scrolled(view))
        bar = Gtk.Box(spacing=6, margin_start=12, margin_end=12, margin_bottom=12)
        if Engine.has(t, "add_tracker"):
            entry = Gtk.Entry(placeholder_text="https://tracker.example/announce", hexpand=True)
            add = Gtk.Button(label="Add Tracker")
            add.connect("clicked", lambda b: self._add_tracker(entry))
            entry.connect("activate", lambda e: self._add_tracker(entry))
            bar.append(entry)
            bar.append(add)
        if Engine.has(t, "announce_now"):
            now = Gtk.Button(label="Announce Now")
            now.connect("clicked", lambda b: t.announce_now())
            bar.append(now)
        box.append(bar)
        return box

    def _add_tracker(self, entry):
        url = entry.get_text().strip()
        if not url:
            return
        try:
            self.torrent.add_tracker(url, self.torrent.get_trackers().get_n_items())
            entry.set_text("")
            self.engine.save()
        except GLib.Error as e:
            self.window.toast("Cannot add the tracker: %s" % e.message)

    @staticmethod
    def _remove_tracker_setup():
        return Gtk.Button(icon_name="list-remove-symbolic", tooltip_text="Remove Tracker",
                          has_frame=False)

    def _remove_tracker_bind(self, button, entry):
        h = button.connect("clicked", lambda b: (self.torrent.remove_tracker(entry.props.url),
                                                 self.engine.save()))
        return [(button, h)]


def peer_flags_text(flags):
    """Letters as in other clients' peer lists: E encrypted, I incoming,
    U uTP, S seed, c it chokes us, C we choke it, i it is interested, d we
    are interested (we download), s snubbed, O optimistic."""
    F = getattr(Gbt, "PeerFlags", None)
    if F is None:
        return ""
    out = ""
    for name, letter in (("ENCRYPTED", "E"), ("INCOMING", "I"), ("UTP", "U"), ("SEED", "S"),
                         ("CHOKED", "c"), ("CHOKING", "C"), ("INTERESTED", "i"),
                         ("INTERESTING", "d"), ("SNUBBED", "s"), ("OPTIMISTIC", "O")):
        bit = getattr(F, name, None)
        if bit is not None and int(flags) & int(bit):
            out += letter
    return out


def enum_text(v):
    nick = getattr(v, "value_nick", None)
    return (nick or str(v)).replace("-", " ").capitalize()


def count_text(n):
    return "" if n is None or n < 0 else str(n)


# ------------------------------------------------------------- the window

class Window:
    def __init__(self, app, engine, opts):
        self.app = app
        self.engine = engine
        self.opts = opts
        self.details = None
        w = self.win = Adw.ApplicationWindow(application=app, default_width=960,
                                             default_height=600, title="gbt")
        self.toasts = Adw.ToastOverlay()
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL)
        header = Adw.HeaderBar()
        self.title = Adw.WindowTitle(title="gbt", subtitle="")
        header.set_title_widget(self.title)
        self.back = Gtk.Button(icon_name="go-previous-symbolic", tooltip_text="Back",
                               action_name="win.back", visible=False)
        header.pack_start(self.back)

        add_menu = Gio.Menu()
        add_menu.append("Open Torrent File…", "win.add-file")
        add_menu.append("Add Magnet Link…", "win.add-magnet")
        header.pack_start(Gtk.MenuButton(icon_name="list-add-symbolic", menu_model=add_menu,
                                         tooltip_text="Add"))
        main_menu = Gio.Menu()
        main_menu.append("Download Folder…", "win.download-folder")
        header.pack_end(Gtk.MenuButton(icon_name="open-menu-symbolic", menu_model=main_menu,
                                       tooltip_text="Main Menu"))
        for icon, action, tip in (("user-trash-symbolic", "win.remove", "Remove"),
                                  ("document-properties-symbolic", "win.details", "Details"),
                                  ("media-playback-start-symbolic", "win.resume", "Resume"),
                                  ("media-playback-pause-symbolic", "win.pause", "Pause")):
            header.pack_end(Gtk.Button(icon_name=icon, action_name=action, tooltip_text=tip))
        box.append(header)

        self.pages = Gtk.Stack(vexpand=True)
        self.pages.add_named(self._list_page(), "list")
        box.append(self.pages)
        self.toasts.set_child(box)
        w.set_content(self.toasts)

        for name, cb in (("add-file", self.on_add_file), ("add-magnet", self.on_add_magnet),
                         ("download-folder", self.on_download_folder),
                         ("pause", lambda: self.engine.pause(self.selected())),
                         ("resume", lambda: self.engine.resume(self.selected())),
                         ("remove", self.on_remove), ("details", self.on_details),
                         ("back", self.show_list)):
            a = Gio.SimpleAction.new(name, None)
            a.connect("activate", lambda a, p, cb=cb: cb())
            w.add_action(a)
        self.update()

    def _list_page(self):
        model = self.engine.model
        self.selection = Gtk.SingleSelection(model=model)
        self.selection.connect("notify::selected", lambda *a: self.update_actions())
        c = self.cols = Columns()
        stats = self.engine.stats_for
        view = self.view = Gtk.ColumnView(model=self.selection, show_row_separators=True)
        view.append_column(c.label("Name", "name", lambda v: v or "", expand=True))
        view.append_column(c.label("State", "state-text", source=stats, fixed=150))
        view.append_column(c.progress("Progress", source=stats))
        view.append_column(c.label("Down", "download-rate", fmt_rate, xalign=1.0,
                                   source=stats, fixed=100))
        view.append_column(c.label("Up", "upload-rate", fmt_rate, xalign=1.0,
                                   source=stats, fixed=100))
        view.append_column(c.label("Peers", "n-peers", xalign=1.0, source=stats))
        view.append_column(c.label("ETA", "eta", fmt_eta, xalign=1.0, source=stats, fixed=80))
        view.connect("activate", lambda v, pos: (self.selection.set_selected(pos),
                                                 self.on_details()))
        empty = Adw.StatusPage(icon_name="folder-download-symbolic", title="No Torrents",
                               description="Add a .torrent file or a magnet link with +")
        self.list_stack = Gtk.Stack()
        self.list_stack.add_named(empty, "empty")
        self.list_stack.add_named(scrolled(view), "list")
        model.connect("items-changed", lambda *a: self.update())
        return self.list_stack

    # --- state
    def selected(self):
        return self.selection.get_selected_item()

    def update(self):
        """Once a second and on changes: the header, the actions, the page."""
        ts = self.engine.torrents()
        self.list_stack.set_visible_child_name("list" if ts else "empty")
        session = self.engine.session
        if session.find_property("download-rate") is not None:  # session totals
            down, up = session.props.download_rate, session.props.upload_rate
        else:
            down = sum(self.engine.stats_for(t).props.download_rate for t in ts)
            up = sum(self.engine.stats_for(t).props.upload_rate for t in ts)
        sub = "%d torrent%s" % (len(ts), "" if len(ts) == 1 else "s")
        if down >= 1 or up >= 1:
            sub += " · ↓ %s ↑ %s" % (fmt_rate(down) or "0", fmt_rate(up) or "0")
        self.title.set_subtitle(sub)
        if self.details is not None:
            if self.details.torrent in ts:
                self.details.refresh()
            else:
                self.show_list()
        self.update_actions()

    def update_actions(self):
        t = self.selected()
        S = Gbt.TorrentState
        running = t is not None and t.get_state() not in (S.STOPPED, S.ERROR)
        for name, on in (("pause", running), ("resume", t is not None and not running),
                         ("remove", t is not None), ("details", t is not None)):
            self.win.lookup_action(name).set_enabled(on)

    def toast(self, text):
        say(text)
        self.toasts.add_toast(Adw.Toast(title=GLib.markup_escape_text(text), timeout=5))

    # --- pages
    def on_details(self):
        t = self.selected()
        if t is None:
            return
        self.show_list()
        self.details = DetailsPage(self, self.engine, t)
        self.pages.add_named(self.details, "details")
        self.pages.set_visible_child_name("details")
        self.back.set_visible(True)

    def show_list(self):
        self.pages.set_visible_child_name("list")
        self.back.set_visible(False)
        if self.details is not None:
            self.pages.remove(self.details)
            self.details = None

    # --- adding
    def on_add_file(self):
        chooser = Gtk.FileChooserNative.new("Open Torrent File", self.win,
                                            Gtk.FileChooserAction.OPEN, "_Open", "_Cancel")
        flt = Gtk.FileFilter()
        flt.set_name("Torrent files")
        flt.add_pattern("*.torrent")
        flt.add_mime_type("application/x-bittorrent")
        chooser.add_filter(flt)

        def response(dialog, rid):
            if rid == Gtk.ResponseType.ACCEPT:
                self.add_file(dialog.get_file().get_path())
            self.chooser = None
        chooser.connect("response", response)
        self.chooser = chooser  # a native dialog needs a reference while shown
        chooser.show()

    def add_file(self, path):
        try:
            self.engine.add_file(path)
        except (GLib.Error, OSError) as e:
            self.toast("Cannot add %s: %s" % (os.path.basename(path),
                                              getattr(e, "message", None) or str(e)))

    def on_add_magnet(self):
        d = Adw.MessageDialog(transient_for=self.win, modal=True, heading="Add Magnet Link",
                              body="Saving to %s" % self.engine.settings.download_dir)
        entry = Gtk.Entry(placeholder_text="magnet:?xt=urn:btih:…", activates_default=True)
        d.set_extra_child(entry)
        d.add_response("cancel", "_Cancel")
        d.add_response("add", "_Add")
        d.set_response_appearance("add", Adw.ResponseAppearance.SUGGESTED)
        d.set_default_response("add")
        d.set_close_response("cancel")

        def response(dialog, rid):
            if rid == "add" and entry.get_text().strip():
                self.add_magnet(entry.get_text().strip())
        d.connect("response", response)
        d.present()

    def add_magnet(self, uri):
        try:
            self.engine.add_magnet(uri)
        except GLib.Error as e:
            self.toast("Cannot add the magnet link: %s" % e.message)

    def on_download_folder(self):
        chooser = Gtk.FileChooserNative.new("Download Folder", self.win,
                                            Gtk.FileChooserAction.SELECT_FOLDER,
                                            "_Select", "_Cancel")
        try:
            chooser.set_current_folder(Gio.File.new_for_path(self.engine.settings.download_dir))
        except GLib.Error:
            pass

        def response(dialog, rid):
            if rid == Gtk.ResponseType.ACCEPT:
                self.engine.settings.download_dir = dialog.get_file().get_path()
                self.engine.settings.save()
                self.toast("New torrents go to %s" % self.engine.settings.download_dir)
            self.chooser = None
        chooser.connect("response", response)
        self.chooser = chooser
        chooser.show()

    # --- removing
    def on_remove(self):
        t = self.selected()
        if t is None:
            return
        d = Adw.MessageDialog(transient_for=self.win, modal=True,
                              heading="Remove “%s”?" % (t.get_name() or torrent_hex(t)),
                              body="The downloaded files can be kept or deleted.")
        d.add_response("cancel", "_Cancel")
        d.add_response("remove", "_Remove")
        d.add_response("delete", "Remove and _Delete Files")
        d.set_response_appearance("delete", Adw.ResponseAppearance.DESTRUCTIVE)
        d.set_close_response("cancel")

        def response(dialog, rid):
            if rid in ("remove", "delete"):
                self.engine.remove(t, rid == "delete",
                                   lambda err: err and self.toast("Remove: %s" % err))
        d.connect("response", response)
        d.present()


# ------------------------------------------------------------- the app

def make_app_class():
    class App(Adw.Application):
        def __init__(self, opts, state_dir):
            super().__init__(application_id=APP_ID, flags=Gio.ApplicationFlags.NON_UNIQUE)
            self.opts = opts
            self.state_dir = state_dir
            self.exit_code = 0
            self.window = None
            self.engine = None
            self.quitting = False
            self.shot_done = False
            self.t0 = time.monotonic()
            GLib.set_application_name("gbt")

        def do_activate(self):
            if self.window is not None:
                self.window.win.present()
                return
            self.engine = Engine(self.opts, self.state_dir, self.on_state_changed)
            self.window = Window(self, self.engine, self.opts)
            self.window.win.connect("close-request", self.on_close_request)
            for action, accels in (("win.add-file", ["<Control>o"]),
                                   ("win.add-magnet", ["<Control>u"]),
                                   ("win.remove", ["<Control>Delete"]),
                                   ("win.details", ["<Alt>Return"]),
                                   ("win.back", ["<Alt>Left"]),
                                   ("window.close", ["<Control>q", "<Control>w"])):
                self.set_accels_for_action(action, accels)
            self.engine.start()
            self.engine.restore()
            for path in self.opts.add:
                self.add_at_start(self.engine.add_file, os.path.abspath(path))
            for uri in self.opts.magnet:
                self.add_at_start(self.engine.add_magnet, uri)
            self.window.update()
            if self.opts.details and self.engine.model.get_n_items() > 0:
                self.window.selection.set_selected(0)
                self.window.on_details()
            self.window.win.present()
            GLib.timeout_add_seconds(1, self.tick)
            if self.opts.screenshot and not self.opts.quit_when_done:
                self.after_frames(2, self.take_screenshot)
            self.check_done()

        def add_at_start(self, add, what):
            try:
                add(what)
            except GLib.Error as e:
                if e.matches(Gbt.Session.error_quark(), Gbt.SessionError.DUPLICATE_TORRENT):
                    say("already have %s" % what)
                else:
                    say("cannot add %s: %s" % (what, e.message))
                    self.exit_code = 1
            except OSError as e:
                say("cannot add %s: %s" % (what, e))
                self.exit_code = 1

        def tick(self):
            if self.quitting:
                return GLib.SOURCE_REMOVE
            self.engine.poll()
            self.window.update()
            self.check_done()
            return GLib.SOURCE_CONTINUE

        def on_state_changed(self, torrent):
            say("state %s %s" % (torrent_hex(torrent), state_text(torrent.get_state())))
            if self.window is not None:
                self.window.update_actions()
            self.check_done()

        # --- --quit-when-done
        def check_done(self):
            if not self.opts.quit_when_done or self.quitting or self.engine is None:
                return
            ts = self.engine.torrents()
            for t in ts:
                if t.get_state() == Gbt.TorrentState.ERROR:
                    err = t.get_error()
                    say("error %s: %s" % (torrent_hex(t), err.message if err else "?"))
                    self.finish(1)
                    return
            if ts and all(t.get_state() == Gbt.TorrentState.SEEDING for t in ts):
                say("all %d torrents seeding" % len(ts))
                self.finish(0)
                return
            if self.opts.timeout and time.monotonic() - self.t0 > self.opts.timeout:
                say("timed out after %.0f s" % self.opts.timeout)
                self.finish(1)

        def finish(self, code):
            self.exit_code = self.exit_code or code
            self.quitting = True
            self.engine.poll()
            self.window.update()
            if self.opts.screenshot:
                self.after_frames(2, lambda: (self.take_screenshot(), self.shutdown()))
            else:
                self.shutdown()

        def after_frames(self, n, cb):
            """cb() once the window painted @n more frames (bounded: 5 s)."""
            win = self.window.win
            state = {"left": n, "done": False, "id": None}

            def fire():
                if not state["done"]:
                    state["done"] = True
                    cb()

            def on_tick(widget, clock):
                state["left"] -= 1
                if state["left"] <= 0:
                    fire()
                    return GLib.SOURCE_REMOVE
                widget.queue_draw()
                return GLib.SOURCE_CONTINUE

            win.queue_draw()
            win.add_tick_callback(on_tick)
            GLib.timeout_add_seconds(5, lambda: (fire(), GLib.SOURCE_REMOVE)[1])

        def take_screenshot(self):
            if self.shot_done:
                return
            self.shot_done = True
            from gbtgtk_shot import save_png
            path = os.path.abspath(self.opts.screenshot)
            why = save_png(Gtk, self.window.win, path)
            if why is None:
                say("screenshot %s" % path)
            else:
                say("screenshot failed: %s" % why)
                self.exit_code = self.exit_code or 1

        # --- leaving
        def on_close_request(self, win):
            if not self.quitting:
                self.quitting = True
                self.shutdown()
            return True  # the window goes when the torrents have stopped

        def shutdown(self):
            self.hold()

            def done():
                say("bye")
                self.release()
                self.quit()
            self.engine.shutdown(done)

    return App


def main(argv):
    opts = parse_args(argv[1:])
    if not Gtk.init_check():
        print("gbt-gtk: cannot open a display", file=sys.stderr)
        return 2
    state_dir = os.path.abspath(opts.state_dir or os.path.join(GLib.get_user_state_dir(),
                                                                "gbt-gtk"))
    os.makedirs(state_dir, exist_ok=True)
    app = make_app_class()(opts, state_dir)
    rc = app.run([argv[0]])
    return app.exit_code or rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
