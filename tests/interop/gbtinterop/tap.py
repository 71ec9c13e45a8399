# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP output, the case runner, and prerequisites.

A prerequisite is either a tool that may be absent (a skip that names it:
"aria2c is not installed") or gbt itself, which must work: a missing or
broken gbt program is a failure, never a skip, or a broken build would
pass every interop suite.

A skipped script prints the TAP plan "1..0 # SKIP why" and exits 0
(meson's TAP runner counts exit status 77 as an error, and reports that
plan as SKIP); a skipped case prints "ok N - what # SKIP why".
scripts/test-summary.py counts both.

GBT_INTEROP_SUBSET=1 (scripts/test sets it for the ASan/UBSan pass): each
script runs its SUBSET of cases, the left-out ones named in the TAP log.
A script's BACKGROUND cases (waiting mostly on another client's timers)
run in threads alongside its other cases; see run_cases()."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

from . import PYTHON
from .gbt import gbt_command_works, leecher_kind
from .procs import leftover_processes


class Tap:
    """Minimal TAP producer: plan first, one line per case."""

    def __init__(self, plan):
        self.plan = plan
        self.n = 0
        self.failed = 0
        print("1..%d" % plan, flush=True)

    def ok(self, cond, desc, diag=None, todo=None):
        """todo: a reason this check is expected to fail (TAP TODO: reported,
        not counted as a failure)."""
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, desc), flush=True)
        elif todo:
            print("not ok %d - %s # TODO %s" % (self.n, desc, todo), flush=True)
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, desc), flush=True)
            if diag:
                self.diag(diag)
        return cond

    def skip(self, desc, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc, why), flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def finish(self):
        while self.n < self.plan:
            self.ok(False, "case never ran")
        return 1 if self.failed else 0


_local = threading.local()


def log(msg):
    """A TAP comment; inside a case run_cases() runs in the background, kept
    with that case's results and printed with them."""
    rec = getattr(_local, "recorder", None)
    if rec is not None:
        rec.record(("log", msg))
    else:
        print("# " + msg, flush=True)


def skip_all(why):
    """Prints TAP's plan for a skipped script; returns the exit status 0."""
    print("1..0 # SKIP " + why, flush=True)
    return 0


class Unmet:
    """A prerequisite that does not hold: report() prints the TAP for it
    (a skip when @skip, else one failed case) and returns the exit status."""

    def __init__(self, why, skip):
        self.why = why
        self.skip = skip

    def __repr__(self):
        return "<%s: %s>" % ("skip" if self.skip else "fail", self.why)

    def report(self):
        if self.skip:
            return skip_all(self.why)
        tap = Tap(1)
        tap.ok(False, "prerequisites: " + self.why)
        return tap.finish()


def check_prerequisites(kind=None, tools=(), gbt_commands=None):
    """None when the tests can run, else an Unmet.  @kind: the downloader
    (default INTEROP_LEECHER, else gbt); @tools: programs on PATH the script
    needs beyond opentracker; @gbt_commands: the gbt commands it runs, each
    of which must answer --help (default: download, when @kind is gbt)."""
    kind = kind or leecher_kind()
    if kind not in ("gbt", "aria2", "libtorrent"):
        return Unmet("unknown INTEROP_LEECHER=%s" % kind, skip=False)
    if gbt_commands is None:
        gbt_commands = ("download",) if kind == "gbt" else ()
    for command in gbt_commands:
        broken = gbt_command_works(command)
        if broken:
            return Unmet(broken, skip=False)
    # gbt before the tools: a broken gbt fails even where a tool is missing
    for tool in ("opentracker", "timeout") + tuple(tools):
        if shutil.which(tool) is None:
            return Unmet("%s is not installed (scripts/install-deps)" % tool, skip=True)
    try:
        subprocess.run([PYTHON, "-c", "import libtorrent"], check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return Unmet("python3-libtorrent is not installed (scripts/install-deps)", skip=True)
    if kind == "aria2" and shutil.which("aria2c") is None:
        return Unmet("aria2c is not installed (scripts/install-deps)", skip=True)
    return None


class _Recorder:
    """The Tap of a case running in the background: its results and log
    lines, in order, replayed on the real Tap once it is done."""

    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def record(self, item):
        with self.lock:
            self.items.append(item)

    def ok(self, cond, desc, diag=None, todo=None):
        self.record(("ok", (cond, desc, diag, todo)))
        return cond

    def skip(self, desc, why):
        self.record(("skip", (desc, why)))

    def diag(self, text):
        self.record(("diag", text))

    def results(self):
        return sum(1 for kind, _ in self.items if kind in ("ok", "skip"))

    def replay(self, tap):
        for kind, what in self.items:
            if kind == "ok":
                tap.ok(*what)
            elif kind == "skip":
                tap.skip(*what)
            elif kind == "diag":
                tap.diag(what)
            else:
                print("# " + what, flush=True)


def _run_one(case, tap, args):
    t0 = time.monotonic()
    n = tap.n if isinstance(tap, Tap) else tap.results()
    try:
        case(tap, *args)
    except Exception:
        tap.ok(False, case.__name__, traceback.format_exc())
    if (tap.n if isinstance(tap, Tap) else tap.results()) == n:
        tap.ok(False, case.__name__ + " produced no result")
    log("%s took %.1f s" % (case.__name__, time.monotonic() - t0))


def subset_wanted():
    """True when GBT_INTEROP_SUBSET=1: run_cases() runs only each script's
    representative subset.  scripts/test sets it for the ASan/UBSan pass,
    which is there to catch memory errors in gbt's code paths: every client
    and every gbt path of a script's matrix stays in its subset, while the
    repeats of a path against the same client (single and multi-file with
    one client, say) run in the normal build only."""
    return os.environ.get("GBT_INTEROP_SUBSET", "") not in ("", "0")


def run_cases(cases, unmet=None, plan=None, args=(), subset=None, background=(),
              background_bound=900):
    """Runs each case (a function of a Tap, then @args, recording one
    result, or as many as @plan counts for all of them), then checks that
    no fixture process is left behind.  A case that raises or records
    nothing fails, the others still run; INTEROP_ONLY=a,b picks cases by
    name (only without @plan: it counts them all).  @unmet (from
    check_prerequisites): reported instead of running anything.

    @subset: the cases (functions or their names) that run when
    GBT_INTEROP_SUBSET=1 (see subset_wanted()); None: all of them (not with
    @plan, which counts all).
    @background: cases (functions or names) that spend most of their time
    waiting on another client's own timers (transmission-cli unchokes a new peer only at its
    10 s rechoke; a dead tracker costs gbt's 20 s announce timeout): each
    runs in a thread of its own, started before the others, in a Swarm of
    its own (own addresses, own tracker) like every case; its results and
    log lines are printed, in order, once the others are done.  Every wait
    inside a case is bounded; @background_bound bounds the join anyway (a
    case still running then fails).  Returns the exit status for
    sys.exit()."""
    if unmet:
        return unmet.report()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    only = None if plan else os.environ.get("INTEROP_ONLY")
    cases = [c for c in cases if not only or c.__name__ in only.split(",")]
    background = {c if isinstance(c, str) else c.__name__ for c in background}
    if subset is not None and subset_wanted():
        assert plan is None, "a subset with a plan"
        subset = {c if isinstance(c, str) else c.__name__ for c in subset}
        left_out = [c.__name__ for c in cases if c.__name__ not in subset]
        cases = [c for c in cases if c.__name__ in subset]
        if left_out:
            log("GBT_INTEROP_SUBSET: %d of %d cases (the normal build runs all); left out: %s"
                % (len(cases), len(cases) + len(left_out), ", ".join(left_out)))
    tap = Tap(plan or len(cases) + 1)
    threads = []
    for case in cases:
        if case.__name__ not in background:
            continue
        rec = _Recorder()

        def body(case=case, rec=rec):
            _local.recorder = rec
            _run_one(case, rec, args)

        t = threading.Thread(target=body, name=case.__name__, daemon=True)
        t.start()
        threads.append((case, rec, t))
    for case in cases:
        if case.__name__ not in background:
            _run_one(case, tap, args)
    deadline = time.monotonic() + background_bound
    for case, rec, t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            tap.ok(False, "%s still running after %d s" % (case.__name__, background_bound))
            continue
        rec.replay(tap)
    left = leftover_processes()
    tap.ok(not left, "no fixture process left behind", "\n".join(left))
    return tap.finish()
