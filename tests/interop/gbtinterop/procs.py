# SPDX-License-Identifier: LGPL-2.1-or-later
"""Child processes and waiting.

Every process runs in its own process group (PID == PGID) under `timeout`
(a last guard should the test itself be SIGKILLed) with PR_SET_PDEATHSIG,
and is stopped by PID with bounded waits.  Waiting is always for a
condition with a deadline: a stdout line, a file, a predicate."""
import ctypes
import json
import os
import signal
import subprocess
import threading
import time

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def child_setup():
    # Dies with us if the test is killed; the session makes PID == PGID.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Proc:
    """A child process in its own process group, output in a log file,
    stdout lines also kept in memory for wait_line()."""

    def __init__(self, name, argv, log_path, cwd=None, env=None, lifetime=900, capture=True):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.lines = []
        self.times = []  # monotonic receipt time of each line
        self.cond = threading.Condition()
        self._log = open(log_path, "ab")
        env = dict(os.environ if env is None else env)
        env["GBT_INTEROP_OWNER"] = str(os.getpid())
        # a gbt with the dht plugin joins through loopback nodes a test names,
        # never the public routers
        env.setdefault("GBT_DHT_BOOTSTRAP", "")
        full = ["timeout", "-k", "5", str(int(lifetime))] + list(argv)
        self.popen = subprocess.Popen(
            full, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=(subprocess.PIPE if capture is True else
                    None if capture == "inherit" else self._log),
            stderr=None if capture == "inherit" else self._log,
            start_new_session=True, preexec_fn=child_setup)
        self.pid = self.popen.pid
        self._reader = None
        if capture is True:
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()

    def _read(self):
        for raw in self.popen.stdout:
            try:
                self._log.write(raw)
                self._log.flush()
            except ValueError:
                pass
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.times.append(time.monotonic())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def alive(self):
        return self.popen.poll() is None

    def mark(self):
        """How many stdout lines have arrived: wait_line(since=mark) then
        looks only at later ones."""
        with self.cond:
            return len(self.lines)

    def wait_line(self, pred, timeout, since=0):
        """Waits for a stdout line (from line @since on) satisfying pred
        (str -> bool); returns it or None on timeout or exit."""
        deadline = time.monotonic() + timeout
        seen = since
        with self.cond:
            while True:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    if pred(line):
                        return line
                if not self.alive() and (self._reader is None or not self._reader.is_alive()):
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def last_line(self, prefix):
        with self.cond:
            for line in reversed(self.lines):
                if line.startswith(prefix):
                    return line
        return None

    def signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def signal_main(self, sig):
        """Signals the program itself, not the `timeout` wrapping it (which
        takes any signal as its cue to kill the group 5 s later)."""
        # Right after the spawn `timeout` may not have forked the program
        # yet: await the child (a kill 0.01 s after the start found none,
        # signalled nobody, and the "killed" run downloaded everything).
        deadline = time.monotonic() + 5
        while True:
            try:
                with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            if kids or self.popen.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        for k in kids:
            try:
                os.kill(k, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_output(self, timeout=5):
        """After the process exited: waits until its stdout was read to the
        end (every line it printed is in self.lines)."""
        if self._reader is not None:
            self._reader.join(timeout)

    def stop(self, grace=5.0):
        """SIGTERM to the group, bounded wait, then SIGKILL; always reaps."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self.signal(signal.SIGKILL)
                self.wait(5)
        # Children of the group that outlived the leader.
        self.signal(signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(2)
        try:
            self._log.close()
        except Exception:
            pass
        return self.popen.returncode

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace")
            return "\n".join(data.splitlines()[-n:])
        except OSError:
            return ""



def json_events(proc):
    """The JSON objects a process printed on stdout, one a line."""
    out = []
    with proc.cond:
        lines = list(proc.lines)
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def json_events_prefixed(proc, prefix):
    """The JSON after @prefix of each stdout line of @proc that has it."""
    with proc.cond:
        lines = [ln[len(prefix):] for ln in proc.lines if ln.startswith(prefix)]
    out = []
    for ln in lines:
        try:
            out.append(json.loads(ln))
        except ValueError:
            pass
    return out


def peers_gone(peer, n=10):
    """The last PEER_GONE lines of a libtorrent peer (why it dropped them)."""
    with peer.proc.cond:
        gone = [ln for ln in peer.proc.lines if ln.startswith("PEER_GONE ")]
    return "\n".join(gone[-n:]) or "(none)"


def wait_for(pred, timeout, step=0.2):
    """Polls pred() until it returns something true (returned) or timeout
    seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def wait_file(path, timeout, proc=None):
    """Waits for path to exist (bounded); False on timeout or proc exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if proc is not None and not proc.alive():
            return os.path.exists(path)
        time.sleep(0.2)
    return os.path.exists(path)


def leftover_processes(names=("opentracker", "aria2c", "transmission-cli", "lt_peer.py",
                              "transmission-daemon", "daemon --state-dir",
                              "malicious_peer.py", "lighttpd")):
    """Processes whose command line mentions our fixtures and whose parent
    chain includes us: should be empty after a Swarm closed."""
    out = []
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if any(n in cmd for n in names) and b"GBT_INTEROP_OWNER=%d" % me in env:
            out.append("%s %s" % (pid, cmd))
    return out

