# SPDX-License-Identifier: LGPL-2.1-or-later
"""libgbt through GObject-Introspection, for the tests that drive it as an
app does: loading the typelib and running the main loop with a bound."""
import time


def load_gbt():
    """Returns (Gbt, GLib, Gio) or raises ImportError/ValueError."""
    import gi
    gi.require_version("GLib", "2.0")
    gi.require_version("Gio", "2.0")
    gi.require_version("Gbt", "1")
    from gi.repository import Gbt, Gio, GLib
    return Gbt, GLib, Gio


def run_loop(GLib, loop, seconds):
    """Runs loop until quit or seconds pass; True if it was quit in time."""
    timed_out = [False]

    def on_timeout():
        timed_out[0] = True
        loop.quit()
        return GLib.SOURCE_REMOVE

    tid = GLib.timeout_add(int(seconds * 1000), on_timeout)
    loop.run()
    if not timed_out[0]:
        GLib.source_remove(tid)
    return not timed_out[0]


def run_until(GLib, cond, seconds):
    """Iterates the default main context until cond() or the bound."""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + seconds
    # a wake-up every 50 ms: with no session left the context may have no
    # source at all, and a blocking iteration would never return
    tick = GLib.timeout_add(50, lambda: True)
    try:
        while not cond() and time.monotonic() < end:
            ctx.iteration(True)
    finally:
        GLib.source_remove(tick)
    return cond()
