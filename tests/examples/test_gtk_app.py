#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the example app (examples/gbt-gtk) headless, as a user would.

A nested weston with its headless backend on a private socket in a
temporary XDG_RUNTIME_DIR (no X server, no network, no session bus), an
opentracker and a libtorrent seeder on loopback (tests/interop/gbtinterop);
then:
1. gbt-gtk --add T --quit-when-done --screenshot PNG downloads the torrent
   (exit status 0 once it is seeding); the bytes are compared with the
   source; the PNG (in the build tree) is a real picture of the window;
2. a driver clicks through the window (tests/examples/gtk_app_actions.py):
   a magnet link, the details page, a file's priority, pause, resume,
   remove with the data;
3. with the seeder gone, gbt-gtk on the same state directory brings the
   torrent back by itself ("restored" line) and finds it complete on disk
   (--quit-when-done exits 0 at once, nothing added, nothing downloaded).

Everything started here is stopped by PID.  A skip ("1..0 # SKIP why",
exit 0) when GTK 4, libadwaita, the Gbt typelib (sanitizer builds have
none) or weston are missing, or the display does not come up.

Needs GI_TYPELIB_PATH and LD_LIBRARY_PATH pointing at the built core/ and
GBT_PLUGIN_PATH at the built plugins/ (tests/meson.build sets them), and
GBT_GTK_SCREENSHOT_DIR for where the screenshot goes (default: the
current directory)."""
import os
import shutil
import struct
import subprocess
import sys
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree, make_tree  # noqa: E402
from gbtinterop.peers import libtorrent_seeder  # noqa: E402
from gbtinterop.procs import leftover_processes, wait_file  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import Tap, check_prerequisites, log, skip_all  # noqa: E402
from gbtinterop.torrents import make_torrent  # noqa: E402

APP = os.path.join(HERE, "..", "..", "examples", "gbt-gtk", "gbt-gtk.py")
ACTIONS = os.path.join(HERE, "gtk_app_actions.py")
PYTHON = "/usr/bin/python3"
DOWNLOAD_TIMEOUT = 90  # the app's own --timeout for the download run
RESTORE_TIMEOUT = 45
ACTIONS_TIMEOUT = 120
DISPLAY_TIMEOUT = 15


def gi_missing():
    """Why the app cannot run here (a skip), or None."""
    code = ("import gi\n"
            "gi.require_version('Gtk', '4.0'); gi.require_version('Adw', '1')\n"
            "gi.require_version('Gbt', '1')\n"
            "from gi.repository import Gtk, Adw, Gbt\n")
    try:
        r = subprocess.run([PYTHON, "-c", code], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return "cannot run %s: %s" % (PYTHON, e)
    if r.returncode != 0:
        last = r.stdout.decode("utf-8", "replace").strip().splitlines()[-1:]
        return "no GTK 4 / libadwaita / Gbt typelib for PyGObject (%s)" % " ".join(last)
    if shutil.which("weston") is None:
        return "weston is not installed (scripts/install-deps)"
    return None


class Display:
    """A headless weston on a private Wayland socket, owned by the swarm."""

    def __init__(self, sw):
        self.runtime = sw.path("xdg-runtime")
        os.makedirs(self.runtime, mode=0o700)
        os.chmod(self.runtime, 0o700)
        self.socket = "gbt-gtk-%d" % os.getpid()
        env = dict(os.environ, XDG_RUNTIME_DIR=self.runtime)
        for k in ("WAYLAND_DISPLAY", "DISPLAY"):
            env.pop(k, None)
        self.proc = sw.spawn("weston", ["weston", "--backend=headless-backend.so",
                                        "--socket=" + self.socket, "--shell=desktop-shell.so",
                                        "--width=1024", "--height=640", "--idle-time=0",
                                        "--no-config"],
                             capture=False, env=env, lifetime=600)
        self.up = wait_file(os.path.join(self.runtime, self.socket), DISPLAY_TIMEOUT, self.proc)

    def env(self, home):
        """The environment of an app on this display, isolated from the user's."""
        env = dict(os.environ)
        for k in ("DISPLAY", "WAYLAND_SOCKET", "BROADWAY_DISPLAY"):
            env.pop(k, None)
        for k, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                       ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
            env[k] = os.path.join(home, sub)
        env.update(XDG_RUNTIME_DIR=self.runtime, WAYLAND_DISPLAY=self.socket,
                   GDK_BACKEND="wayland", GSK_RENDERER="cairo", GTK_A11Y="none",
                   NO_AT_BRIDGE="1", GSETTINGS_BACKEND="memory", HOME=home,
                   DBUS_SESSION_BUS_ADDRESS="unix:path=" + os.path.join(home, "no-bus"),
                   GIO_USE_VFS="local", GIO_USE_PROXY_RESOLVER="dummy", LC_ALL="C.UTF-8")
        return env


def gtk_cannot_start(display, home):
    """Why GTK cannot open the display, or None."""
    code = ("import sys, gi\n"
            "gi.require_version('Gtk', '4.0')\n"
            "from gi.repository import Gtk\n"
            "sys.exit(0 if Gtk.init_check() else 3)\n")
    try:
        r = subprocess.run([PYTHON, "-c", code], env=display.env(home), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    if r.returncode != 0:
        out = r.stdout.decode("utf-8", "replace").strip().replace("\n", " | ")
        return "exit status %d %s" % (r.returncode, out[-300:])
    return None


def png_info(path):
    """(width, height, distinct byte values in the pixel data) of a PNG, or
    a string saying what is wrong with it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return str(e)
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return "not a PNG (%d bytes)" % len(data)
    width, height = struct.unpack(">II", data[16:24])
    idat = b""
    pos = 8
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    try:
        pixels = zlib.decompress(idat)
    except zlib.error as e:
        return "bad pixel data: %s" % e
    return width, height, len(set(pixels))


def run_app(sw, display, name, args, timeout, argv=None):
    """Runs the app (or @argv) to its end (bounded); returns (exit status
    or None, proc)."""
    p = sw.spawn(name, argv or [PYTHON, APP] + args, env=display.env(sw.path("home")),
                 lifetime=timeout + 30)
    rc = p.wait(timeout + 20)
    p.wait_output()
    if rc is None:
        p.stop()
    return rc, p


def case_app(tap, sw, display):
        src = make_tree(sw.path("src", "album"), [("one.bin", 1 * MiB + 17),
                                                  ("two/two.bin", 2 * MiB + 3),
                                                  ("three.txt", 1234)], seed=12)
        info = make_torrent(src, sw.path("album.torrent"), sw.announce_url, 64 * KiB)
        seeder = libtorrent_seeder(sw, info, sw.path("src"))
        addr = sw.new_addr()
        state = sw.path("state")
        out = sw.path("out")
        shot_dir = os.environ.get("GBT_GTK_SCREENSHOT_DIR") or os.getcwd()
        os.makedirs(shot_dir, exist_ok=True)
        shot = os.path.join(shot_dir, "gbt-gtk-screenshot.png")
        if os.path.exists(shot):
            os.unlink(shot)
        common = ["--state-dir", state, "--download-dir", out, "--listen-address", addr]

        # 1. the download
        rc, app = run_app(sw, display, "app-download",
                          common + ["--add", info.path, "--screenshot", shot,
                                    "--quit-when-done", "--timeout", str(DOWNLOAD_TIMEOUT)],
                          DOWNLOAD_TIMEOUT)
        lines = list(app.lines)
        diag = "exit status %r\nstdout:\n%s\nlog:\n%s" % (rc, "\n".join(lines[-30:]),
                                                          app.log_tail(30))
        tap.ok(rc == 0 and "gbt-gtk: added %s %s" % (info.hex, info.name) in lines
               and "gbt-gtk: all 1 torrents seeding" in lines,
               "gbt-gtk --add --quit-when-done downloads the torrent and exits 0", diag)
        tap.ok(any(line.startswith("gbt-gtk: state %s Downloading" % info.hex) for line in lines)
               and "gbt-gtk: finished %s %s" % (info.hex, info.name) in lines,
               "it went through DOWNLOADING and \"finished\"", diag)
        diffs = compare_tree(src, out)
        tap.ok(not diffs, "the downloaded files are identical to the source",
               "\n".join(diffs[:20]))
        got = png_info(shot)
        tap.ok(isinstance(got, tuple) and got[0] >= 400 and got[1] >= 300 and got[2] >= 16
               and os.path.getsize(shot) > 8 * KiB
               and "gbt-gtk: screenshot %s" % shot in lines,
               "the screenshot is a PNG of the window in the build tree (%s)" % shot,
               "png: %r\n%s" % (got, diag))
        if isinstance(got, tuple):
            log("screenshot %dx%d, %d bytes" % (got[0], got[1], os.path.getsize(shot)))

        # 2. the window's actions, in a process of their own (another state
        # and download dir): magnet, details pages, file priority, pause,
        # resume, remove with data
        magnet = "magnet:?xt=urn:btih:%s&dn=%s&x.pe=%s:%d" % (info.hex, info.name,
                                                             seeder.addr, seeder.port)
        rc, act = run_app(sw, display, "app-actions", None, ACTIONS_TIMEOUT,
                          argv=[PYTHON, ACTIONS, APP, src, "--",
                                "--state-dir", sw.path("state-actions"),
                                "--download-dir", sw.path("out-actions"),
                                "--listen-address", sw.new_addr(), "--magnet", magnet,
                                "--screenshot", shot])
        lines = list(act.lines)
        diag = "exit status %r\nstdout:\n%s\nlog:\n%s" % (rc, "\n".join(lines[-30:]),
                                                          act.log_tail(30))
        for line in lines:
            if line.startswith("actions: "):
                log(line)
        done = {line.split()[2] for line in lines if line.startswith("actions: ok ")}
        tap.ok({"add-magnet", "page-files", "page-peers", "page-trackers", "data"} <= done,
               "actions: a magnet link downloads; the details page shows files, peers, "
               "trackers (or says they are not available)", diag)
        tap.ok(rc == 0 and {"priority", "pause", "resume", "remove"} <= done
               and not os.path.exists(sw.path("out-actions", info.name)),
               "actions: file priority dropdown, pause, resume, remove with the data", diag)

        # 3. the restart: no --add, no seeder; it must come back complete
        sw.forget(seeder.proc)
        rc, app = run_app(sw, display, "app-restore",
                          common + ["--quit-when-done", "--timeout", str(RESTORE_TIMEOUT),
                                    "--details", "--screenshot",
                                    os.path.join(shot_dir, "gbt-gtk-restored-details.png")],
                          RESTORE_TIMEOUT)
        lines = list(app.lines)
        diag = "exit status %r\nstdout:\n%s\nlog:\n%s" % (rc, "\n".join(lines[-30:]),
                                                          app.log_tail(30))
        tap.ok("gbt-gtk: restored %s %s" % (info.hex, info.name) in lines
               and not any(line.startswith("gbt-gtk: added") for line in lines),
               "a second start on the same state directory restores the torrent", diag)
        tap.ok(rc == 0 and "gbt-gtk: all 1 torrents seeding" in lines
               and not any(line.startswith("gbt-gtk: state %s Downloading" % info.hex)
                           for line in lines),
               "the restored torrent is complete from disk: seeding, no download", diag)
        tap.ok(not compare_tree(src, out), "the files are untouched by the restart")
        tracebacks = [p.name for p in sw.procs if p.name.startswith("app-")
                      and "Traceback" in p.log_tail(100000)]
        tap.ok(not tracebacks, "no Python exception in any run of the app",
               "\n\n".join("%s:\n%s" % (p.name, p.log_tail(40)) for p in sw.procs
                           if p.name in tracebacks))


PLAN = 10 + 1  # case_app, then the check for processes left behind
FIXTURES = ("opentracker", "lt_peer.py", "weston", "gbt-gtk.py")


def main():
    why = gi_missing()
    if why:
        return skip_all(why)
    unmet = check_prerequisites("libtorrent")
    if unmet:
        return unmet.report()
    with Swarm("gtk") as sw:
        display = Display(sw)
        if not display.up:
            tail = display.proc.log_tail(3).replace("\n", " | ")
            return skip_all("weston's headless display did not come up: %s" % tail)
        why = gtk_cannot_start(display, sw.path("home"))
        if why:
            return skip_all("GTK does not start on weston's headless display: %s" % why)
        log("weston headless on %s" % display.socket)
        tap = Tap(PLAN)
        t0 = time.monotonic()
        try:
            case_app(tap, sw, display)
        except Exception:
            tap.ok(False, "case_app", traceback.format_exc())
        log("case_app took %.1f s" % (time.monotonic() - t0))
    left = leftover_processes(names=FIXTURES)
    tap.ok(not left, "no fixture process left behind (tracker, seeder, weston, app)",
           "\n".join(left))
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
