# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Swarm is a context manager owning a temp dir, the processes started in
it (stopped by PID, in reverse order, when it exits, whether by return,
exception, SIGTERM or SIGINT), its loopback addresses (127.A.B.x, from our
PID so parallel scripts do not meet) and, once asked for, an opentracker."""
import os
import shutil
import signal
import tempfile
import threading

from .procs import Proc
from .tap import log
from .tracker import Opentracker

_swarm_counter = [0]
_swarm_counter_lock = threading.Lock()  # cases may run in threads (tap.run_cases)


class Swarm:
    def __init__(self, name="swarm", keep=None):
        self.name = name
        self.keep = keep if keep is not None else bool(os.environ.get("INTEROP_KEEP"))
        self.procs = []
        self.dir = None
        self._tracker = None
        # 127.A.B.x: A and B from our PID and this swarm's number (up to 64
        # per script), so that scripts running side by side, even from two
        # test runs at once, rarely share a /24 (PIDs 3125 apart would)
        with _swarm_counter_lock:
            _swarm_counter[0] += 1
            n = _swarm_counter[0]
        x = (os.getpid() * 64 + n % 64) % (200 * 250)
        self._net = (20 + x // 250, x % 250)
        self._next_host = 2
        self._old_handlers = {}

    # --- lifetime
    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="gbt-interop-%s-" % self.name)
        os.chmod(self.dir, 0o755)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        raise SystemExit(128 + signum)

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers = {}
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            log("kept %s" % self.dir)

    # --- resources
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def new_addr(self):
        a, b = self._net
        host = self._next_host
        self._next_host += 1
        if host > 254:
            raise RuntimeError("out of addresses")
        return "127.%d.%d.%d" % (a, b, host)

    def spawn(self, name, argv, lifetime=900, capture=True, **kw):
        log_path = self.path("%s-%d.log" % (name, len(self.procs)))
        p = Proc(name, argv, log_path, lifetime=lifetime, capture=capture, **kw)
        self.procs.append(p)
        return p

    def forget(self, proc):
        """Stops proc now and drops it from the list."""
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def copy_source(self, src, tag):
        """A private copy of a payload for one seeder (clients may touch files)."""
        dst_parent = self.path("copy-" + tag)
        os.makedirs(dst_parent)
        dst = os.path.join(dst_parent, os.path.basename(os.path.normpath(src)))
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
        return dst_parent

    # --- tracker
    @property
    def tracker(self):
        """The swarm's opentracker, started on first use."""
        if self._tracker is None:
            self._tracker = Opentracker(self)
        return self._tracker

    @property
    def announce_url(self):
        return self.tracker.announce_url
