#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Counts the test cases of meson test logs (TAP subtests where a test
speaks TAP, else the test itself) and prints "N passed, N failed[, N skipped]".
Exits 1 if anything failed."""
import json
import re
import sys

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
        oks = len(re.findall(r"^ok \d+", out, re.M))
        skips = len(re.findall(r"^ok \d+.*# SKIP", out, re.M))
        nots = len(re.findall(r"^not ok \d+", out, re.M))
        if res in ("OK", "EXPECTEDFAIL"):
            if oks + nots:
                passed += oks - skips
                skipped += skips
                failed += nots
            else:
                passed += 1
        elif res == "SKIP":
            skipped += 1
        else:
            failed += max(1, nots)
            passed += oks - skips
            print(f"FAILED: {t.get('name')} ({res})", file=sys.stderr)
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
