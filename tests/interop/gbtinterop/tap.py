# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP output, the case runner, and prerequisites.

A prerequisite is either a tool that may be absent (a skip that names it:
"aria2c is not installed") or gbt itself, which must work: a missing or
broken gbt program is a failure, never a skip, or a broken build would
pass every interop suite.

A skipped script prints the TAP plan "1..0 # SKIP why" and exits 0
(meson's TAP runner counts exit status 77 as an error, and reports that
plan as SKIP); a skipped case prints "ok N - what # SKIP why".
scripts/test-summary.py counts both."""
import os
import shutil
import signal
import subprocess
import sys
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


def log(msg):
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


def run_cases(cases, unmet=None, plan=None, args=()):
    """Runs each case (a function of a Tap, then @args, recording one
    result, or as many as @plan counts for all of them), then checks that
    no fixture process is left behind.  A case that raises or records
    nothing fails, the others still run; INTEROP_ONLY=a,b picks cases by
    name (only without @plan: it counts them all).  @unmet (from
    check_prerequisites): reported instead of running anything.  Returns
    the exit status for sys.exit()."""
    if unmet:
        return unmet.report()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    only = None if plan else os.environ.get("INTEROP_ONLY")
    cases = [c for c in cases if not only or c.__name__ in only.split(",")]
    tap = Tap(plan or len(cases) + 1)
    for case in cases:
        t0 = time.monotonic()
        n = tap.n
        try:
            case(tap, *args)
        except Exception:
            tap.ok(False, case.__name__, traceback.format_exc())
        if tap.n == n:
            tap.ok(False, case.__name__ + " produced no result")
        log("%s took %.1f s" % (case.__name__, time.monotonic() - t0))
    left = leftover_processes()
    tap.ok(not left, "no fixture process left behind", "\n".join(left))
    return tap.finish()
