#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The out-of-tree plugin story, end to end: install gbt into a temporary
# destdir, build data/example-plugin against the installed gbt-1.pc, install
# it into the pluginsdir that gbt-1.pc publishes, then ask the installed gbt
# what it found: the example must load, and each broken fixture plugin of
# tests/plugins must be listed with its reason.
#
# usage: example-plugin.sh BUILD_ROOT SOURCE_ROOT CORPUS_DIR
set -eu

build=$1
src=$2
corpus=$3
python=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gbt-example-plugin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "install gbt into $dest"
meson install -C "$build" --no-rebuild --destdir "$dest" --quiet >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "meson install"; }

pc=$(find "$dest" -name gbt-1.pc | head -n 1)
[ -n "$pc" ] || fail "gbt-1.pc was not installed"
grep -q '^pluginsdir=' "$pc" || fail "gbt-1.pc has no pluginsdir variable"
prefix=$(sed -n 's/^prefix=//p' "$pc")
[ -n "$prefix" ] || fail "gbt-1.pc has no prefix"

# The .pc names the real prefix; relocate a copy into the destdir (the other
# variables, pluginsdir included, are relative to ${prefix}).
mkdir -p "$tmp/pkgconfig"
sed "s|^prefix=.*|prefix=$dest$prefix|" "$pc" >"$tmp/pkgconfig/gbt-1.pc"
PKG_CONFIG_PATH=$tmp/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
pluginsdir=$(pkg-config --variable=pluginsdir gbt-1)
libdir=$(pkg-config --variable=libdir gbt-1)
case $pluginsdir in
  "$dest$prefix"/*/gbt-1/plugins) ;;
  *) fail "unexpected pluginsdir '$pluginsdir'" ;;
esac

step "build data/example-plugin against the installed gbt-1.pc"
(
  unset CC CFLAGS LDFLAGS # a plain build, as a plugin author's would be
  meson setup "$tmp/example-build" "$src/data/example-plugin" --prefix "$dest$prefix" \
    >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; exit 1; }
  meson compile -C "$tmp/example-build" >"$tmp/compile.log" 2>&1 \
    || { cat "$tmp/compile.log" >&2; exit 1; }
  meson install -C "$tmp/example-build" --quiet >"$tmp/install-example.log" 2>&1 \
    || { cat "$tmp/install-example.log" >&2; exit 1; }
) || fail "building the example plugin"
[ -f "$tmp/example-build/libgbt-example.so" ] || fail "no libgbt-example.so in the example build"
[ -f "$pluginsdir/libgbt-example.so" ] || fail "the example was not installed into $pluginsdir"

gbt=$dest$prefix/bin/gbt
[ -x "$gbt" ] || fail "gbt was not installed at $gbt"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
unset GBT_EXAMPLE_PEERS

step "the installed gbt lists the example (from the build dir) and the broken corpus"
status=0
GBT_PLUGIN_PATH=$tmp/example-build:$corpus \
  "$gbt" --plugins=example,duplicate plugins --json >"$tmp/plugins.json" 2>"$tmp/stderr" || status=$?
[ "$status" -eq 0 ] || { cat "$tmp/stderr" >&2; fail "gbt plugins --json exited $status"; }

"$python" - "$tmp/plugins.json" "$tmp/example-build" <<'PY' || fail "gbt plugins --json"
import json, os, sys

plugins = json.load(open(sys.argv[1]))["plugins"]
first = {}
for p in plugins:
    first.setdefault(p["name"], p)

def check(cond, what):
    if not cond:
        sys.exit("not as expected: " + what)

ex = first.get("example")
check(ex is not None, "example listed")
check(ex["status"] == "loaded" and ex["loaded"] and ex["error"] is None, "example loaded: %r" % ex)
check(ex["interfaces"] == ["peer-source:example"], "example interfaces %r" % ex["interfaces"])
check(os.path.dirname(ex["path"]) == sys.argv[2], "example path %s" % ex["path"])
check(ex["default"] is False and ex["version"] == "0.1.0", "example descriptor")
check(first["good"]["status"] == "loaded", "the good fixture loaded")
check(first["optional"]["status"] == "off", "the optional fixture is off")

broken = {
    "abi-too-new": "abi-mismatch",
    "abi-wrong-major": "abi-mismatch",
    "abi-short": "abi-mismatch",
    "name-mismatch": "name-mismatch",
    "invalid": "invalid",
    "missing-symbol": "not-a-plugin",
    "register-fails": "register-failed",
    "wrong-interface": "wrong-interface",
    "duplicate": "duplicate",
    "junk": "module",
    "missing-on-message": "register-failed",
    "missing-announce-finish": "register-failed",
    "missing-connect": "register-failed",
    "missing-stop": "register-failed",
}
for name, code in broken.items():
    p = first.get(name)
    check(p is not None, name + " listed")
    check(p["status"] == "failed" and not p["loaded"], name + " failed")
    check(p["error"]["code"] == code, "%s: code %s, expected %s" % (name, p["error"]["code"], code))
    check(len(p["error"]["message"]) > 10, name + " has a reason")
    print("ok %-16s %s: %s" % (name, code, p["error"]["message"]))
PY

step "the table shows each broken plugin's reason"
GBT_PLUGIN_PATH=$tmp/example-build:$corpus "$gbt" --plugins=example plugins >"$tmp/plugins.txt"
grep -q '^example .* loaded ' "$tmp/plugins.txt" || { cat "$tmp/plugins.txt"; fail "table: example"; }
n=$(grep -c '^  ! ' "$tmp/plugins.txt")
[ "$n" -eq 13 ] || { cat "$tmp/plugins.txt"; fail "table: $n reasons, expected 13"; }

step "the installed copy loads from pluginsdir"
GBT_PLUGIN_PATH=$pluginsdir "$gbt" --plugins=example plugins --json >"$tmp/installed.json"
"$python" - "$tmp/installed.json" "$pluginsdir" <<'PY' || fail "installed example"
import json, os, sys
ex = [p for p in json.load(open(sys.argv[1]))["plugins"] if p["name"] == "example"][0]
if ex["status"] != "loaded" or os.path.dirname(ex["path"]) != sys.argv[2]:
    sys.exit("installed example: %r" % ex)
PY

step "a bad setting makes the example fail to register, with its reason"
GBT_EXAMPLE_PEERS=not-a-peer GBT_PLUGIN_PATH=$pluginsdir \
  "$gbt" --plugins=example plugins --json >"$tmp/bad.json"
"$python" - "$tmp/bad.json" <<'PY' || fail "example with a bad GBT_EXAMPLE_PEERS"
import json, sys
ex = [p for p in json.load(open(sys.argv[1]))["plugins"] if p["name"] == "example"][0]
if ex["status"] != "failed" or ex["error"]["code"] != "register-failed" \
        or "not-a-peer" not in ex["error"]["message"]:
    sys.exit("bad GBT_EXAMPLE_PEERS: %r" % ex)
PY

step "the example's peers reach a download: the core starts peer sources"
# A gbt seeder on 127.0.0.1; a torrent whose only tracker refuses
# connections (port 9): the downloader can hear of the seeder from the
# example plugin alone.
mkdir -p "$tmp/seed"
head -c 1500000 /dev/urandom >"$tmp/seed/payload.bin"
"$gbt" create "$tmp/seed/payload.bin" -t http://127.0.0.1:9/announce -o "$tmp/p.torrent" \
  >/dev/null 2>&1 || fail "gbt create"
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
seedpid=
trap 'test -n "$seedpid" && kill "$seedpid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
GBT_PLUGIN_PATH=$pluginsdir "$gbt" seed "$tmp/p.torrent" -d "$tmp/seed" --bind 127.0.0.1 \
  --port "$port" --json >"$tmp/seed.log" 2>&1 &
seedpid=$!
"$python" - "$port" <<'PY' || { cat "$tmp/seed.log" >&2; fail "the seeder did not listen"; }
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
status=0
GBT_EXAMPLE_PEERS=127.0.0.1:$port GBT_PLUGIN_PATH=$pluginsdir timeout 60 \
  "$gbt" --plugins=example download "$tmp/p.torrent" -o "$tmp/out" --bind 127.0.0.2 \
  --idle-timeout 20 >"$tmp/dl.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || { cat "$tmp/dl.log" >&2; fail "download with the example's peers: exit $status"; }
cmp -s "$tmp/seed/payload.bin" "$tmp/out/payload.bin" || fail "downloaded bytes differ"
status=0
GBT_EXAMPLE_PEERS=127.0.0.1:$port GBT_PLUGIN_PATH=$pluginsdir timeout 60 \
  "$gbt" download "$tmp/p.torrent" -o "$tmp/out2" --bind 127.0.0.3 --idle-timeout 3 \
  >"$tmp/dl2.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat "$tmp/dl2.log" >&2; fail "without the example plugin: exit $status, expected 1"; }
kill "$seedpid"
wait "$seedpid" 2>/dev/null || true
seedpid=

step "an unknown plugin name is a usage error listing the available ones"
status=0
GBT_PLUGIN_PATH=$pluginsdir "$gbt" --plugins=no-such-plugin plugins >/dev/null 2>"$tmp/stderr" \
  || status=$?
[ "$status" -eq 2 ] || fail "unknown plugin: exit $status, expected 2"
grep -q 'example' "$tmp/stderr" || { cat "$tmp/stderr"; fail "unknown plugin: no list"; }

echo "PASS"
