#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gbt command line: exit codes (0 ok, 1 failure, 2 usage), one-sentence
errors on stderr, clear errors when a plugin is missing, --json output.
No network beyond a closed loopback port."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

GBT = os.environ.get("GBT_CLI", "build/cli/gbt")
n = 0
failed = 0
PLAN = 32
print("1..%d" % PLAN)


def ok(cond, desc, diag=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, desc))
    if not cond:
        failed += 1
        for line in str(diag).splitlines()[-15:]:
            print("# " + line)
    sys.stdout.flush()


def run(*args, timeout=60):
    return subprocess.run([GBT] + list(args), capture_output=True, text=True, timeout=timeout)


tmp = tempfile.mkdtemp(prefix="gbt-cli-")
try:
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    with open(os.path.join(data, "file.bin"), "wb") as f:
        f.write(os.urandom(300000))
    torrent = os.path.join(tmp, "file.torrent")
    subprocess.run(["mktorrent", "-l", "15", "-a", "http://127.0.0.1:9/announce", "-o", torrent,
                    os.path.join(data, "file.bin")], check=True, capture_output=True)
    junk = os.path.join(tmp, "junk.torrent")
    with open(junk, "wb") as f:
        f.write(b"d4:infoi3ee")

    r = run("--version")
    ok(r.returncode == 0 and r.stdout.startswith("gbt "), "--version", r)
    r = run("--help")
    ok(r.returncode == 0 and "Example" in r.stdout, "--help shows an example", r)
    r = run()
    ok(r.returncode == 2, "no command is a usage error", r)
    r = run("frobnicate")
    ok(r.returncode == 2 and r.stderr.startswith("gbt: "), "unknown command is a usage error", r)
    r = run("download")
    ok(r.returncode == 2, "download without a file is a usage error", r)
    r = run("download", "--no-such-option", torrent)
    ok(r.returncode == 2, "unknown option is a usage error", r)
    r = run("download", "--help")
    ok(r.returncode == 0 and "Example" in r.stdout, "download --help shows an example", r)
    r = run("download", os.path.join(tmp, "missing.torrent"))
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and "cannot read" in r.stderr,
       "missing file: exit 1, one line", r)
    r = run("download", junk, "-o", os.path.join(tmp, "o1"))
    ok(r.returncode == 1 and "cannot read" in r.stderr, "malformed torrent: exit 1", r)
    r = run("--plugins=-tracker-http", "download", torrent, "-o", os.path.join(tmp, "o2"))
    ok(r.returncode == 1 and "no tracker plugin for scheme http" in r.stderr,
       "without the HTTP tracker plugin: a clear error", r)
    r = run("--plugins=-transport-tcp,-transport-utp", "download", torrent, "-o", os.path.join(tmp, "o3"))
    ok(r.returncode == 1 and "no transport plugin" in r.stderr,
       "without the transport plugins (TCP, uTP): a clear error", r)
    r = run("--plugins=no-such-plugin", "download", torrent)
    ok(r.returncode == 2 and "available" in r.stderr, "unknown plugin: usage error naming the available ones", r)
    r = run("download", "magnet:?xt=urn:btih:123", "-o", os.path.join(tmp, "o4"))
    ok(r.returncode == 2 and "magnet" in r.stderr and r.stderr.count("\n") == 1,
       "malformed magnet link: usage error, one line", r)
    r = run("seed", "magnet:?xt=urn:btih:" + "ab" * 20)
    ok(r.returncode == 2 and ".torrent" in r.stderr, "seed from a magnet link: usage error", r)
    link = "magnet:?xt=urn:btih:" + "cd" * 20
    r = run("--plugins=-metadata", "download", link, "-o", os.path.join(tmp, "o5"))
    ok(r.returncode == 1 and "metadata plugin" in r.stderr,
       "magnet without the metadata plugin: a clear error", r)
    r = run("download", link, "-o", os.path.join(tmp, "o6"), "--bind", "127.0.0.1",
            "--idle-timeout", "2", "--json", timeout=30)
    ok(r.returncode == 1 and "no peer sent the metadata" in r.stderr
       and '"event":"error"' in r.stdout.replace(" ", ""),
       "magnet nobody serves: exit 1 after --idle-timeout, with the reason", r)
    r = run("download", torrent, "-o", os.path.join(tmp, "o7"), "--skip", "0")
    ok(r.returncode == 2 and "no file left" in r.stderr, "--skip of the only file: usage error", r)
    r = run("download", torrent, "-o", os.path.join(tmp, "o8"), "--select", "3")
    ok(r.returncode == 2 and "out of range" in r.stderr, "--select past the last file: usage error", r)
    r = run("plugins", "--json")
    try:
        names = [p["name"] for p in json.loads(r.stdout)["plugins"]]
    except Exception as e:  # noqa: BLE001 - reported as a failure
        names = [repr(e)]
    ok(r.returncode == 0 and "tracker-http" in names and "transport-tcp" in names,
       "plugins --json lists the in-tree plugins", r.stdout + r.stderr)

    # data already complete: verified, done at once, exit 0 with JSON events
    r = run("download", torrent, "-o", data, "--json", timeout=60)
    events = []
    for line in r.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"event": "unparsable", "line": line})
    kinds = [e.get("event") for e in events]
    ok(r.returncode == 0 and "done" in kinds and "unparsable" not in kinds,
       "complete data: exit 0, JSON lines with a done event", r)
    ok(all(isinstance(e.get("have"), int) for e in events), "every JSON event carries counters", r.stdout)
    ok(r.stderr == "", "--json keeps stderr quiet", r.stderr)

    # seeding refuses incomplete data
    partial = os.path.join(tmp, "partial")
    os.makedirs(partial)
    shutil.copy(os.path.join(data, "file.bin"), partial)
    with open(os.path.join(partial, "file.bin"), "r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 100)
    r = run("seed", torrent, "-d", partial)
    ok(r.returncode == 1 and "incomplete" in r.stderr, "seed with incomplete data: exit 1", r)
    r = run("seed", torrent, "-d", os.path.join(tmp, "nowhere"))
    ok(r.returncode == 1 and "does not exist" in r.stderr, "seed with a missing directory: exit 1", r)
    # nothing printed when stdout/stderr are not terminals, apart from errors
    r = run("download", torrent, "-o", data)
    ok(r.returncode == 0 and r.stderr == "", "not a terminal: quiet", r)

    # bytes after the top-level dictionary: accepted with a warning (as
    # libtorrent does), on stderr, or in the JSON with --json
    trailing = os.path.join(tmp, "trailing.torrent")
    with open(torrent, "rb") as f, open(trailing, "wb") as g:
        g.write(f.read() + b"\r\n")

    def warned(r):
        return [l for l in r.stderr.splitlines() if l.startswith("gbt: warning: ")
                and "after the end of its top-level dictionary" in l]

    def json_lines(text):
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"unparsable": line})
        return out

    r = run("info", trailing)
    ok(r.returncode == 0 and len(warned(r)) == 1 and "file.bin" in r.stdout,
       "info: trailing bytes are a warning on stderr, not an error", r)
    r = run("info", "--json", trailing)
    try:
        w = json.loads(r.stdout)["warnings"]
    except (ValueError, KeyError) as e:
        w = [repr(e)]
    ok(r.returncode == 0 and len(w) == 1 and "2 bytes after" in w[0] and r.stderr == "",
       "info --json: the warning is in \"warnings\", stderr quiet", r)
    r = run("verify", trailing, "-o", data)
    ok(r.returncode == 0 and len(warned(r)) == 1, "verify: the warning on stderr", r)
    r = run("verify", "--json", trailing, "-o", data)
    try:
        w = json.loads(r.stdout)["warnings"]
    except (ValueError, KeyError) as e:
        w = [repr(e)]
    ok(r.returncode == 0 and len(w) == 1 and r.stderr == "", "verify --json: \"warnings\"", r)
    r = run("download", trailing, "-o", data)
    ok(r.returncode == 0 and len(warned(r)) == 1, "download: the warning on stderr", r)
    r = run("download", trailing, "-o", data, "--json")
    evs = json_lines(r.stdout)
    w = [e for e in evs if e.get("event") == "warning"]
    ok(r.returncode == 0 and len(w) == 1 and "after the end" in w[0].get("message", "")
       and r.stderr == "" and not any("unparsable" in e for e in evs),
       "download --json: a warning event with the message", r)
    # seeding for 0.01 minutes, then it stops by itself
    r = run("seed", trailing, "-d", data, "--time", "0.01", "--bind", "127.0.0.1")
    ok(r.returncode == 0 and len(warned(r)) == 1, "seed: the warning on stderr", r)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(1 if failed else 0)
