#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drives the example app's window in its own process, as a user would
click: add a magnet link, open the details page (files, peers, trackers),
change a file's priority through its dropdown, pause, resume, remove with
the data.  Run by test_gtk_app.py on its headless display; one line per
step on stdout ("actions: ok STEP ..." or "actions: FAIL STEP why"), exit
status 0 when every step passed, 1 otherwise or after --timeout.

usage: gtk_app_actions.py APP SRC -- APP-OPTIONS...  (SRC: the payload the
magnet's data must match, checked before the removal)"""
import importlib.util
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from gbtinterop.payload import compare_tree  # noqa: E402

STEP_TIMEOUT = 60


def main(argv):
    app_path, src = argv[1], argv[2]
    app_args = argv[argv.index("--") + 1:]
    spec = importlib.util.spec_from_file_location("gbt_gtk", app_path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    GLib, Gbt, Gtk = m.GLib, m.Gbt, m.Gtk
    opts = m.parse_args(app_args)
    magnet = opts.magnet.pop()
    shot_dir = os.path.dirname(os.path.abspath(opts.screenshot))
    opts.screenshot = None
    app = m.make_app_class()(opts, os.path.abspath(opts.state_dir))
    failed = []
    steps = []

    def ok(name, detail=""):
        print("actions: ok %s %s" % (name, detail), flush=True)

    def fail(name, why):
        failed.append(name)
        print("actions: FAIL %s %s" % (name, why), flush=True)

    def torrents():
        return app.engine.torrents() if app.engine else []

    def state():
        ts = torrents()
        return ts[0].get_state() if ts else None

    def step(name, cond, action=None):
        steps.append([name, cond, action, None])

    def pump():
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass

    def find(widget, cls, out):
        if isinstance(widget, cls):
            out.append(widget)
        child = widget.get_first_child()
        while child is not None:
            find(child, cls, out)
            child = child.get_next_sibling()
        return out

    def details_stack():
        return [c for c in app.window.details if isinstance(c, Gtk.Stack)][0]

    # --- the steps
    def add():
        app.window.add_magnet(magnet)
        ok("add-magnet", m.torrent_hex(torrents()[0]) if torrents() else "")

    def open_details():
        app.window.selection.set_selected(0)
        app.window.win.lookup_action("details").activate(None)
        if app.window.details is None:
            fail("details", "no details page")

    def pages():
        from gbtgtk_shot import save_png
        t = torrents()[0]
        stack = details_stack()
        for name, method in (("files", "get_files"), ("peers", "get_peers"),
                             ("trackers", "get_trackers")):
            stack.set_visible_child_name(name)
            pump()
            page = stack.get_visible_child()
            if hasattr(t, method):
                n = getattr(t, method)().get_n_items()
                views = find(page, Gtk.ColumnView, [])
                if views:
                    ok("page-" + name, "%d items" % n)
                else:
                    fail("page-" + name, "no list for %s()" % method)
            elif isinstance(page, m.Adw.StatusPage) and page.get_title() == "Not available":
                ok("page-" + name, "not available in this libgbt")
            else:
                fail("page-" + name, "neither a list nor 'not available'")
            why = save_png(Gtk, app.window.win, os.path.join(shot_dir,
                                                             "gbt-gtk-details-%s.png" % name))
            if why:
                fail("shot-" + name, why)

    def priority():
        t = torrents()[0]
        if not hasattr(t, "get_files"):
            ok("priority", "not available in this libgbt")
            return
        stack = details_stack()
        stack.set_visible_child_name("files")
        pump()
        dropdowns = find(stack.get_visible_child(), Gtk.DropDown, [])
        files = t.get_files()
        if not dropdowns or files.get_n_items() == 0:
            fail("priority", "%d dropdowns, %d files" % (len(dropdowns), files.get_n_items()))
            return
        f = files.get_item(0)
        dropdowns[0].set_selected(0)  # Skip
        got_skip = f.props.priority
        f.set_priority(Gbt.FilePriority.HIGH)
        got_high = dropdowns[0].get_selected()
        dropdowns[0].set_selected(2)  # back to Normal
        if (got_skip == Gbt.FilePriority.SKIP and got_high == 3
                and f.props.priority == Gbt.FilePriority.NORMAL):
            ok("priority", "dropdown <-> file priority")
        else:
            fail("priority", "skip -> %r, high -> %r, normal -> %r"
                 % (got_skip, got_high, f.props.priority))

    def seeding():
        diffs = compare_tree(src, opts.download_dir)
        if diffs:
            fail("data", "\n".join(diffs[:5]))
        else:
            ok("data", "identical to the source")

    def pause():
        app.window.win.lookup_action("pause").activate(None)

    def paused():
        with open(os.path.join(opts.state_dir, "settings.json")) as f:
            saved = json.load(f).get("paused", [])
        if m.torrent_hex(torrents()[0]) in saved:
            ok("pause", "stopped, kept as paused")
        else:
            fail("pause", "not in settings.json's paused: %r" % saved)
        app.window.win.lookup_action("resume").activate(None)

    def resumed():
        ok("resume", "seeding again")
        app.engine.remove(torrents()[0], True, lambda err: err and fail("remove", err))

    def removed():
        store = os.path.join(opts.state_dir, "torrents.json")
        kept = json.load(open(store)) if os.path.exists(store) else []
        if kept:
            fail("remove", "still in torrents.json: %r" % kept)
        else:
            ok("remove", "gone with its data")
        app.window.win.close()

    name = os.path.basename(os.path.normpath(src))
    data = os.path.join(opts.download_dir, name)
    S = Gbt.TorrentState
    step("start", lambda: app.window is not None, add)
    step("downloading", lambda: state() in (S.DOWNLOADING, S.SEEDING), open_details)
    step("details", lambda: app.window.details is not None, pages)
    step("seeding", lambda: state() == S.SEEDING, lambda: (seeding(), priority()))
    step("settle", lambda: state() == S.SEEDING, pause)
    step("paused", lambda: state() == S.STOPPED, paused)
    step("resumed", lambda: state() == S.SEEDING, resumed)
    step("removed", lambda: not torrents() and not os.path.exists(data), removed)

    def run():
        if not steps:
            return GLib.SOURCE_REMOVE
        s = steps[0]
        if s[3] is None:
            s[3] = time.monotonic() + STEP_TIMEOUT
        try:
            ready = s[1]()
        except Exception as e:  # noqa: BLE001 - reported, then the run ends
            fail(s[0], "raised %r" % e)
            ready = None
        if ready:
            steps.pop(0)
            if s[2] is not None:
                try:
                    s[2]()
                except Exception as e:  # noqa: BLE001
                    fail(s[0], "raised %r" % e)
                    steps.clear()
                    app.quit()
        elif ready is None or time.monotonic() > s[3]:
            if ready is not None:
                fail(s[0], "not reached in %d s (state %r)" % (STEP_TIMEOUT, state()))
            steps.clear()
            app.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    GLib.timeout_add(100, run)
    rc = app.run([app_path])
    if steps:
        fail("finish", "steps left: %s" % [s[0] for s in steps])
    return 1 if failed or rc else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
