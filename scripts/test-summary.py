#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Counts the test cases of meson test logs and prints, as its last line,
"N passed, N failed, N skipped".  Exits 1 if anything failed.

A test that speaks TAP counts per case: "ok" passed, "not ok" failed,
"ok ... # SKIP" skipped, "not ok ... # TODO" (a known failure, not a
failure of the test) skipped.  A whole test counts once: meson's SKIP (a
TAP plan "1..0 # SKIP why", or exit status 77 from a test that does not
speak TAP) is one skip; any other result is one pass or one failure."""
import json
import re
import sys

OK = re.compile(r"^ok\b", re.M)
NOT_OK = re.compile(r"^not ok\b", re.M)
SKIP = re.compile(r"^ok\b[^\n]*#\s*skip\b", re.M | re.I)
TODO = re.compile(r"^not ok\b[^\n]*#\s*todo\b", re.M | re.I)

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"missing test log {path}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        res = t.get("result")
        out = t.get("stdout") or ""
        skips = len(SKIP.findall(out))
        todos = len(TODO.findall(out))
        oks = len(OK.findall(out)) - skips
        nots = len(NOT_OK.findall(out)) - todos
        if res in ("OK", "EXPECTEDFAIL"):
            if oks + nots + skips + todos:
                passed += oks
                skipped += skips + todos
                failed += nots
            else:
                passed += 1
        elif res == "SKIP":
            skipped += max(1, skips + todos)
        else:
            failed += max(1, nots)
            passed += oks
            skipped += skips + todos
            print(f"FAILED: {t.get('name')} ({res})", file=sys.stderr)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
