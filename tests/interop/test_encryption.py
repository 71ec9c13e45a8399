#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Protocol encryption (MSE/PE, the mse plugin) against libtorrent on a
loopback swarm, both directions:

  - a libtorrent seeder with in_enc_policy/out_enc_policy forced and
    allowed_enc_level rc4 to `gbt download --encryption=require`;
  - the same seeder to `gbt download` (prefer, the default);
  - a libtorrent seeder with encryption disabled to `gbt download`
    (prefer): gbt's encrypted dial is refused and it retries in plaintext;
  - `gbt seed --encryption=require` to a forced-RC4 libtorrent leecher;
  - `gbt seed` (prefer) to a forced-RC4 libtorrent leecher;
  - `gbt seed` (prefer) to a libtorrent leecher with encryption disabled;
  - a transmission-cli seeder with "encryption": 2 (required) to `gbt
    download`;
  - an aria2c seeder with --bt-require-crypto=true to `gbt download`, and
    an aria2c leecher with it from `gbt seed`.

Each case checks the bytes, gbt's --json "peer_list" ("encrypted" of the
peer at libtorrent's address) and libtorrent's own view (lt_peer.py PEER
lines: "encrypted", its rc4_encrypted flag).

Exit: 0 pass, 1 fail; TAP on stdout, a missing tool a TAP skip naming it.
"""
import os
import shutil
import subprocess
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.payload import compare_tree  # noqa: E402
from gbtinterop.net import free_port  # noqa: E402
from gbtinterop.peers import (LeechRun, Peer, _transmission_conf, aria2_args,  # noqa: E402
                              gbt_seeder, libtorrent_peer, start_leecher, stop_gbt)
from gbtinterop.procs import json_events, json_events_prefixed, peers_gone, wait_for  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import Unmet, check_prerequisites, log, run_cases  # noqa: E402
from gbtinterop.torrents import single_file  # noqa: E402

TIMEOUT = 60
SPREAD = 2.5  # seeders capped to take about this long: --json lines see the peer



def gbt_encrypted(events, addr):
    """The "encrypted" values gbt's --json peer_list ever gave a peer at IP @addr."""
    seen = set()
    for e in events:
        for p in e.get("peer_list") or ():
            a = p.get("address") or ""
            if a.rsplit(":", 1)[0].strip("[]") == addr:
                seen.add(p.get("encrypted"))
    return seen


def lt_encrypted(peer, addr):
    """What a libtorrent peer (--peer-events) said of its connections to @addr."""
    return set(e.get("encrypted") for e in json_events_prefixed(peer.proc, "PEER ")
               if e.get("ip") == addr and e.get("connected"))


def expect(what, seen, want):
    if seen == {want}:
        return None
    if not seen:
        return "%s never listed the peer" % what
    return "%s says encrypted %s, expected only %s" % (what, sorted(map(str, seen)), want)


def lt_seeder(sw, info, save, policy):
    sw.tracker.add_torrent(info)
    peer = libtorrent_peer(sw, info, save, upload_limit=int(info.total_size / SPREAD),
                           name="lt-seed-" + policy, peer_events=True,
                           extra=["--encryption", policy])
    if not sw.tracker.wait_announced(info, peer, 60):
        raise RuntimeError("libtorrent seeder never announced:\n" + peer.proc.log_tail())
    return peer


def gbt_downloads(name, lt_policy, gbt_mode, want_encrypted, seed):
    with Swarm("enc-" + name) as sw:
        src, parent, info = single_file(sw, 6 * MiB + 4321, 256 * KiB, seed)
        seeder = lt_seeder(sw, info, parent, lt_policy)
        out = sw.path("out")
        args = ["--encryption=" + gbt_mode] if gbt_mode else []
        run = start_leecher(sw, info, out, kind="gbt", gbt_args=args)
        rc = run.wait(TIMEOUT)
        if rc != 0:
            return ["gbt exited %s after %.1f s" % (rc, run.elapsed), run.proc.log_tail(10),
                    "the libtorrent seeder's dropped peers:", peers_gone(seeder)]
        diag = compare_tree(src, out)[:20]
        log("gbt: %.1f MiB in %.2f s (libtorrent %s, gbt %s)" % (
            info.total_size / MiB, run.elapsed, lt_policy, gbt_mode or "prefer"))
        for problem in (expect("gbt's --json peer_list", gbt_encrypted(run.events(), seeder.addr),
                               want_encrypted),
                        expect("the libtorrent seeder", lt_encrypted(seeder, run.addr),
                               want_encrypted)):
            if problem:
                diag.append(problem)
        return diag


def lt_downloads(name, lt_policy, gbt_mode, want_encrypted, seed):
    with Swarm("enc-" + name) as sw:
        src, parent, info = single_file(sw, 6 * MiB + 99, 256 * KiB, seed)
        cap = int(info.total_size / SPREAD)
        extra = ["--max-up", "%dK" % (cap // 1024)]
        if gbt_mode:
            extra.append("--encryption=" + gbt_mode)
        seeder = gbt_seeder(sw, info, parent, extra=extra)
        out = sw.path("out")
        run = start_leecher(sw, info, out, kind="libtorrent",
                            lt_args=["--peer-events", "--encryption", lt_policy])
        rc = run.wait(TIMEOUT)
        if rc != 0:
            return ["libtorrent leecher exited %s after %.1f s" % (rc, run.elapsed),
                    run.proc.log_tail(5), "its dropped peers:", peers_gone(run),
                    "gbt seed:", seeder.proc.log_tail(5)]
        diag = compare_tree(src, out)[:20]
        log("libtorrent (%s): %.1f MiB in %.2f s from gbt seed %s" % (
            lt_policy, info.total_size / MiB, run.elapsed, gbt_mode or "prefer"))
        problem = expect("the libtorrent leecher", lt_encrypted(run, seeder.addr), want_encrypted)
        if problem:
            diag.append(problem)
        wait_for(lambda: gbt_encrypted(json_events(seeder.proc), run.addr), 5, step=0.1)
        rc = stop_gbt(seeder)
        if rc != 0:
            diag.append("gbt seed exited %s on SIGTERM" % rc)
        problem = expect("gbt seed's --json peer_list",
                         gbt_encrypted(json_events(seeder.proc), run.addr), want_encrypted)
        if problem:
            diag.append(problem)
        return diag


def gbt_downloads_from(name, start_seeder, seed, timeout=TIMEOUT):
    """`gbt download` (prefer) from the seeder @start_seeder(sw, info,
    parent) starts; the connection must be encrypted (gbt's view)."""
    with Swarm("enc-" + name) as sw:
        src, parent, info = single_file(sw, 4 * MiB + 7, 256 * KiB, seed)
        seeder = start_seeder(sw, info, parent)
        out = sw.path("out")
        run = start_leecher(sw, info, out, kind="gbt")
        rc = run.wait(timeout)
        if rc != 0:
            return ["gbt exited %s after %.1f s" % (rc, run.elapsed), run.proc.log_tail(10)]
        diag = compare_tree(src, out)[:20]
        log("gbt: %.1f MiB in %.2f s from %s" % (info.total_size / MiB, run.elapsed, name))
        problem = expect("gbt's --json peer_list", gbt_encrypted(run.events(), seeder.addr), True)
        if problem:
            diag.append(problem)
        return diag


TRANSMISSION_TIMEOUT = 180


def transmission_required_seeder(sw, info, save):
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    conf = _transmission_conf(sw, addr, port, save, int(info.total_size / SPREAD),
                              encryption=2)
    p = sw.spawn("transmission-seed", ["transmission-cli", "-g", conf, "-w", save,
                                       "-ep", info.path], capture=False)
    peer = Peer("transmission", addr, port, p)
    if not sw.tracker.wait_announced(info, peer, TRANSMISSION_TIMEOUT):
        raise RuntimeError("transmission seeder never announced:\n" + p.log_tail())
    return peer


ARIA2_CRYPTO = ["--bt-require-crypto=true", "--bt-min-crypto-level=arc4"]


def aria2_required_seeder(sw, info, save):
    sw.tracker.add_torrent(info)
    addr = sw.new_addr()
    port = free_port(addr)
    argv = aria2_args(addr, port) + ARIA2_CRYPTO + [
        "--max-upload-limit=%d" % int(info.total_size / SPREAD),
        "--seed-ratio=0.0", "--check-integrity=true", "--bt-seed-unverified=false",
        "--dir=" + save, "--torrent-file=" + info.path]
    p = sw.spawn("aria2-seed", argv, capture=False)
    peer = Peer("aria2", addr, port, p)
    if not sw.tracker.wait_announced(info, peer, 60):
        raise RuntimeError("aria2 seeder never announced:\n" + p.log_tail())
    return peer


def aria2_downloads_required(name, seed):
    """An aria2c leecher with --bt-require-crypto from `gbt seed` (prefer):
    gbt's view of it must say encrypted."""
    with Swarm("enc-" + name) as sw:
        src, parent, info = single_file(sw, 4 * MiB + 3, 256 * KiB, seed)
        cap = int(info.total_size / SPREAD)
        seeder = gbt_seeder(sw, info, parent, extra=["--max-up", "%dK" % (cap // 1024)])
        out = sw.path("out")
        os.makedirs(out, exist_ok=True)
        addr = sw.new_addr()
        port = free_port(addr)
        argv = aria2_args(addr, port) + ARIA2_CRYPTO + [
            "--seed-time=0", "--check-integrity=true", "--dir=" + out,
            "--torrent-file=" + info.path]
        run = LeechRun("aria2", sw.spawn("leecher-aria2", argv), addr, port, time.monotonic())
        rc = run.wait(TIMEOUT)
        if rc != 0:
            return ["aria2c exited %s after %.1f s" % (rc, run.elapsed), run.proc.log_tail(10),
                    "gbt seed:", seeder.proc.log_tail(5)]
        diag = compare_tree(src, out)[:20]
        log("aria2c (require crypto): %.1f MiB in %.2f s from gbt seed" % (
            info.total_size / MiB, run.elapsed))
        wait_for(lambda: gbt_encrypted(json_events(seeder.proc), run.addr), 5, step=0.1)
        rc = stop_gbt(seeder)
        if rc != 0:
            diag.append("gbt seed exited %s on SIGTERM" % rc)
        problem = expect("gbt seed's --json peer_list",
                         gbt_encrypted(json_events(seeder.proc), run.addr), True)
        if problem:
            diag.append(problem)
        return diag


def needs(tool, fn):
    """@fn, a case, or a TAP skip when @tool is not installed."""
    def run(tap):
        if shutil.which(tool) is None:
            tap.skip(fn.__name__, "%s is not installed (scripts/install-deps)" % tool)
            return
        fn(tap)
    run.__name__ = fn.__name__
    return run


def case(fn, desc, *args):
    def run(tap):
        diag = fn(*args)
        tap.ok(not diag, desc, "\n".join(diag))
    run.__name__ = "case_" + args[0].replace("-", "_")
    return run


CASES = [
    case(gbt_downloads, "gbt --encryption=require downloads from a forced-RC4 libtorrent",
         "lt-forced-require", "forced", "require", True, 1),
    case(gbt_downloads, "gbt (prefer) downloads encrypted from a forced-RC4 libtorrent",
         "lt-forced-prefer", "forced", None, True, 2),
    case(gbt_downloads, "gbt (prefer) falls back to plaintext with an encryption-disabled "
         "libtorrent seeder", "lt-disabled-prefer", "disabled", None, False, 3),
    case(lt_downloads, "a forced-RC4 libtorrent downloads from gbt seed --encryption=require",
         "gbt-require-lt-forced", "forced", "require", True, 4),
    case(lt_downloads, "a forced-RC4 libtorrent downloads from gbt seed (prefer)",
         "gbt-prefer-lt-forced", "forced", None, True, 5),
    case(lt_downloads, "an encryption-disabled libtorrent downloads from gbt seed (prefer)",
         "gbt-prefer-lt-disabled", "disabled", None, False, 6),
    needs("transmission-cli", case(gbt_downloads_from, "gbt (prefer) downloads encrypted from "
                                   "transmission-cli with encryption required",
                                   "transmission-required", transmission_required_seeder, 7,
                                   TRANSMISSION_TIMEOUT)),
    needs("aria2c", case(gbt_downloads_from, "gbt (prefer) downloads encrypted from aria2c "
                         "--bt-require-crypto", "aria2-seed-required", aria2_required_seeder, 8)),
    needs("aria2c", case(aria2_downloads_required, "aria2c --bt-require-crypto downloads from "
                         "gbt seed (prefer)", "aria2-leech-required", 9)),
]


# GBT_INTEROP_SUBSET=1 (the ASan pass): gbt requiring and falling back to
# plaintext as the dialling leecher, requiring and taking plaintext as the
# seeder, and each other client once; the "prefer" twins of the forced
# cases and aria2's seeder run in the normal build.
SUBSET = ["case_lt_forced_require", "case_lt_disabled_prefer", "case_gbt_require_lt_forced",
          "case_gbt_prefer_lt_disabled", "case_transmission_required",
          "case_aria2_leech_required"]
# transmission-cli waits on its own timers (10 s rechoke), aria2c on its
# start-up (~2.5 s): alongside the others
BACKGROUND = ["case_transmission_required", "case_aria2_seed_required",
              "case_aria2_leech_required"]


def mse_missing():
    """None when `gbt plugins` lists the mse stream filter, else why not."""
    try:
        r = subprocess.run([gbt_cli(), "plugins"], timeout=30, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    except (OSError, subprocess.SubprocessError) as e:
        return "gbt plugins: %s" % e
    text = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or "stream-filter:mse" not in text:
        return "gbt has no mse plugin (gbt plugins exits %d):\n%s" % (r.returncode, text)
    return None


def main():
    unmet = check_prerequisites(gbt_commands=("download", "seed"))
    if unmet is None:
        missing = mse_missing()
        if missing:
            unmet = Unmet(missing, skip=True)
    return run_cases(CASES, unmet, subset=SUBSET, background=BACKGROUND)


if __name__ == "__main__":
    sys.exit(main())
