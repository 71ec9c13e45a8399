#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man page and the bash completion against the gbt program (docs part).

1. Every command 'gbt --help' lists, and every long option that
   'gbt --help' and each 'gbt COMMAND --help' print, appears in
   data/gbt.1.scd (in the built gbt.1 too when scdoc made it) and in
   data/completions/gbt's list for that command: they cannot drift.
2. The completion script loads in bash ('complete -p gbt' names _gbt) and
   completes: 'gbt dow<TAB>' -> download, 'gbt seed --ra<TAB>' -> --ratio
   (and 'gbt download --ra' when download has --ratio), a command's
   options, .torrent files for a file argument, directories for -o.

Needs GBT_CLI (the built gbt), GBT_TEST_SRCDIR; GBT_MAN_PAGE optionally
(the built gbt.1).  TAP on stdout.
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ.get("GBT_SOURCE_ROOT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCD = os.path.join(SRC, "data", "gbt.1.scd")
COMPLETION = os.path.join(SRC, "data", "completions", "gbt")
OPT_LINE = re.compile(r"^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)")


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        if not cond:
            self.failed += 1
            for line in str(diag or "").splitlines():
                print("# " + line, flush=True)
        return cond


def run(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=30, env=dict(os.environ, LC_ALL="C.UTF-8"))
    return p.returncode, p.stdout


def commands(help_text):
    out, on = [], False
    for line in help_text.splitlines():
        if line.startswith("Commands:"):
            on = True
            continue
        if on:
            m = re.match(r"^  ([a-z]+)\s", line)
            if not m:
                break
            out.append(m.group(1))
    return out


def long_options(help_text):
    """Long options of the option lists of a --help (not the prose)."""
    return sorted({m.group(1) for line in help_text.splitlines() for m in [OPT_LINE.match(line)] if m})


def completion_lists():
    text = open(COMPLETION).read()
    lists = {}
    for m in re.finditer(r'^_gbt_(opts_[a-z]+|commands|global_opts)="([^"]*)"', text, re.M):
        lists[m.group(1)] = [w.rstrip("=") for w in m.group(2).split()]
    return lists


def bash_complete(words, cwd=None):
    """COMPREPLY of _gbt for COMP_WORDS=words (the last word being completed)."""
    script = ('source %s || exit 3\n'
              'complete -p gbt || exit 4\n'
              'COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}\n'
              '_gbt gbt "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
              'printf "%%s\\n" "${COMPREPLY[@]}"\n'
              % (COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30, cwd=cwd)
    lines = p.stdout.splitlines()
    spec = lines[0] if lines else ""
    return p.returncode, spec, [l for l in lines[1:] if l], p.stderr


def main():
    gbt = os.environ.get("GBT_CLI")
    if not gbt or not os.access(gbt, os.X_OK):
        print("1..1\nnot ok 1 - GBT_CLI names the built gbt\n# GBT_CLI=%r" % gbt)
        return 1
    tap = Tap()
    print("1..9", flush=True)

    man = open(SCD).read()
    built_man = os.environ.get("GBT_MAN_PAGE")
    built = open(built_man).read() if built_man and os.path.exists(built_man) else None
    lists = completion_lists()

    rc, top = run([gbt, "--help"])
    cmds = commands(top)
    tap.ok(rc == 0 and len(cmds) >= 7, "gbt --help lists the commands", top)

    # man page: each command has a section, each option is named
    missing_man, missing_built, missing_comp, per_cmd = [], [], [], {}
    glob = long_options(top)
    for o in glob:
        if o not in man:
            missing_man.append("gbt %s" % o)
        if o not in lists.get("global_opts", []):
            missing_comp.append("global %s" % o)
    for c in cmds:
        rc, h = run([gbt, c, "--help"])
        opts = long_options(h)
        per_cmd[c] = opts
        section = re.search(r"^## gbt %s\b(.*?)(?=^## |^# )" % c, man, re.M | re.S)
        if section is None:
            missing_man.append("section '## gbt %s'" % c)
        for o in opts:
            # in the command's own section
            if section is None or (o not in section.group(1) and o != "--help"):
                missing_man.append("gbt %s %s" % (c, o))
            if built is not None and o.replace("-", "\\-") not in built and o not in built:
                missing_built.append("gbt %s %s" % (c, o))
            if o not in lists.get("opts_" + c, []):
                missing_comp.append("gbt %s %s" % (c, o))
    tap.ok(all(per_cmd.get(c) for c in cmds), "every command's --help lists long options",
           repr(per_cmd))
    tap.ok(not missing_man, "every command and long option is in data/gbt.1.scd",
           "missing: " + ", ".join(missing_man))
    if built is None:
        tap.ok(True, "every long option is in the built gbt.1 # SKIP scdoc did not build it")
    else:
        tap.ok(not missing_built, "every long option is in the built gbt.1",
               "missing: " + ", ".join(missing_built))
    tap.ok(not missing_comp and sorted(lists.get("commands", [])) == sorted(cmds),
           "every command and long option is in data/completions/gbt",
           "missing: %s; commands %r vs %r" % (", ".join(missing_comp), lists.get("commands"), cmds))

    # the completion in bash
    rc, spec, reply, err = bash_complete(["gbt", "dow"])
    tap.ok(rc == 0 and "-F _gbt" in spec and reply == ["download"],
           "the completion loads ('complete -p gbt': %s) and completes 'gbt dow' -> download" % spec,
           "rc %d reply %r stderr %s" % (rc, reply, err))

    ratio_cmds = [c for c in cmds if "--ratio" in per_cmd.get(c, [])]
    results = {}
    for c in ratio_cmds:
        rc, spec, reply, err = bash_complete(["gbt", c, "--ra"])
        results[c] = [r.rstrip("=") for r in reply]
    tap.ok("seed" in ratio_cmds and all(v == ["--ratio"] for v in results.values()),
           "'gbt %s --ra' completes to --ratio" % "/".join(ratio_cmds), repr(results))

    rc, spec, reply, err = bash_complete(["gbt", "--plugins", "=", "pex", "create", "--pr"])
    rc2, spec2, reply2, err2 = bash_complete(["gbt", "verify", "--"])
    tap.ok(reply == ["--private"]
           and sorted(r.rstrip("=") for r in reply2) == sorted(lists["opts_verify"]),
           "options per command, after global options ('gbt --plugins=pex create --pr')",
           "%r %r %s %s" % (reply, reply2, err, err2))

    with tempfile.TemporaryDirectory(prefix="gbt-completion-") as tmp:
        for name in ("a.torrent", "b.txt"):
            open(os.path.join(tmp, name), "w").close()
        os.mkdir(os.path.join(tmp, "dir"))
        rc, spec, files, err = bash_complete(["gbt", "download", ""], cwd=tmp)
        rc, spec, dirs, err2 = bash_complete(["gbt", "download", "-o", ""], cwd=tmp)
    tap.ok(sorted(files) == ["a.torrent", "dir"] and dirs == ["dir"],
           "a file argument completes .torrent files (and directories); -o directories",
           "files %r dirs %r %s %s" % (files, dirs, err, err2))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
