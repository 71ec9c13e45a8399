#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# `gi-docgen check` on the built Gbt-1.gir: every public symbol, property
# and signal has a doc comment.  On failure, names each undocumented symbol
# and where it is declared, so a new public API without docs fails the suite
# with the list of what to document (gi-docgen syntax, in the header; a
# property's or signal's in the .c's class_init).
# Usage: gi-docgen-check.sh GI-DOCGEN GIR
set -u
gidocgen=$1
gir=$2
if [ ! -f "$gir" ]; then
  echo "no $gir: the GIR was not built" >&2
  exit 1
fi
out=$("$gidocgen" check "$gir" 2>&1)
rc=$?
# gi-docgen colours its log lines even into a pipe
list=$(printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep 'WARNING' | sed 's/^WARNING: //')
if [ "$rc" -ne 0 ] || [ -n "$list" ]; then
  n=$(printf '%s\n' "$list" | grep -c .)
  echo "gi-docgen check: $n undocumented item(s) in $(basename "$gir"):"
  printf '%s\n' "$list" | sed 's/^/  /'
  [ -z "$list" ] && printf '%s\n' "$out"
  exit 1
fi
echo "gi-docgen check: $(basename "$gir") is fully documented"
exit 0
