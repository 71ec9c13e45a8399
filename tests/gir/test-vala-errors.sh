#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Vala against the built Gbt-1.gir (docs part): vapigen makes gbt-1.vapi,
# valac compiles test_vala_errors.vala (which only compiles when the error
# enums are errordomains), the C compiler links it with the built libgbt-1,
# and it runs.  A TAP skip when valac/vapigen are not installed (optional:
# Debian's valac), or when the GIR was not built (sanitizer builds).
# Usage: test-vala-errors.sh BUILD_ROOT SOURCE_ROOT
set -eu
build=$1
src=$2
gir=$build/core/Gbt-1.gir
if ! command -v valac >/dev/null 2>&1 || ! command -v vapigen >/dev/null 2>&1; then
  echo "1..0 # SKIP valac/vapigen are not installed (Debian: valac); the Vala check did not run"
  exit 0
fi
if [ ! -f "$gir" ]; then
  echo "1..0 # SKIP $gir was not built (introspection disabled)"
  exit 0
fi
work=$build/tests/vala-errors
rm -rf "$work"
mkdir -p "$work"
if ! vapigen --library gbt-1 --pkg gio-2.0 --directory "$work" "$gir" >"$work/vapigen.log" 2>&1; then
  echo "1..1"
  echo "not ok 1 - vapigen reads Gbt-1.gir"
  sed 's/^/# /' "$work/vapigen.log"
  exit 1
fi
if ! valac -q --vapidir="$work" --pkg gbt-1 --pkg gio-2.0 -d "$work" -o test-vala-errors \
     -X -I"$src/plugin-api" -X -I"$build/plugin-api" -X -L"$build/core" -X -lgbt-1 \
     -X -Wno-deprecated-declarations -X -w \
     "$src/tests/gir/test_vala_errors.vala" >"$work/valac.log" 2>&1; then
  echo "1..1"
  echo "not ok 1 - valac compiles catch (Gbt.SessionError.DUPLICATE_TORRENT) against Gbt-1.gir"
  sed 's/^/# /' "$work/valac.log"
  exit 1
fi
LD_LIBRARY_PATH=$build/core${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec "$work/test-vala-errors"
