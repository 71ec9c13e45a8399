#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`gbt download` when the disk fails under it: full, or gone read-only.

"The disk filling up mid-download (ENOSPC) stops the torrent with a clear
error, keeps every verified piece, and a run with space again finishes
without downloading them twice; the download directory becoming read-only
the same."

Everything runs in a private mount namespace (the script re-runs itself
under `unshare -m --propagation private`), so the file systems it mounts
vanish with it.  A libtorrent seeder with an upload limit makes a 24 MiB
download (256 KiB pieces) last a few seconds.

  tmpfs_too_small   a tmpfs smaller than the torrent: gbt reserves every
                    file's space before downloading (fallocate), so a disk
                    that is already too full is an error at once, naming the
                    file and "No space left on device".
  enospc_mid        an ext2 file system (no fallocate there: files are
                    sparse, as on many file systems, so space runs out
                    mid-download), filled by a ballast file until ~10 MiB
                    are left: exit 1, the file and "No space left on
                    device" on stderr and in the --json error.  The ballast
                    is removed and gbt runs again: it finishes, the bytes
                    are identical, and its "downloaded" counter is at most
                    the bytes the first run had not verified.
  readonly_mid      an ext4 file system mounted errors=remount-ro; once gbt
                    has a quarter of the pieces, the test syncs it and makes
                    the kernel remount it read-only (sysfs trigger_fs_error,
                    what a disk error does): exit 1 naming the file and
                    "Read-only file system".  After umount, e2fsck and a
                    fresh mount, gbt finishes without downloading again the
                    pieces it had at the sync.

Needs root, unshare(1), mount(8), loop devices (losetup), mkfs.ext2,
mkfs.ext4 and e2fsck; a missing one is a TAP skip that names it.

Exit: 0 pass, 1 fail (a missing or broken gbt too); TAP on stdout.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop import KiB, MiB  # noqa: E402
from gbtinterop.payload import compare_tree, write_random_file  # noqa: E402
from gbtinterop.peers import libtorrent_seeder, start_leecher  # noqa: E402
from gbtinterop.swarm import Swarm  # noqa: E402
from gbtinterop.tap import check_prerequisites, log, run_cases, skip_all  # noqa: E402
from gbtinterop.torrents import make_torrent  # noqa: E402

SIZE = 24 * MiB + 4321
PIECE = 256 * KiB
RATE = 6 * MiB             # the seeder's upload limit: a run lasts ~4 s
ROOM = 10 * MiB            # what the ballast leaves free on the full disk
RUN_TIMEOUT = 120
NS_ENV = "GBT_DISK_FAULTS_NS"


def sh(*argv, check=True):
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=120)


def missing_prerequisite():
    """None when the file systems can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (mounts and loop devices)"
    for tool in ("unshare", "mount", "umount", "losetup", "mkfs.ext2", "mkfs.ext4", "e2fsck",
                 "sync"):
        if shutil.which(tool) is None:
            return "%s is not installed (or not on PATH)" % tool
    if not os.path.exists("/dev/loop-control"):
        return "no /dev/loop-control: loop devices are not available"
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return "unshare -m fails: %s" % (r.stderr.strip() or "exit %d" % r.returncode)
    # mounting a tmpfs and a loop-mounted ext2 in a private namespace
    tmp = tempfile.mkdtemp(prefix="gbt-disk-faults-probe-")
    try:
        img = os.path.join(tmp, "probe.img")
        with open(img, "wb") as f:
            f.truncate(2 * MiB)
        r = subprocess.run(["mkfs.ext2", "-q", "-F", img], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            return "mkfs.ext2 fails: %s" % r.stderr.strip()
        for what, cmd in (("mount -t tmpfs", "mount -t tmpfs -o size=1m tmpfs '%s'" % tmp),
                          ("mount -o loop (loop devices)", "mount -o loop '%s' '%s'" % (img, tmp))):
            r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", cmd],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                return "%s fails in a private mount namespace: %s" % (
                    what, r.stderr.strip() or "exit %d" % r.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return None


class Mount:
    """A file system mounted on @point for the length of a with block."""

    def __init__(self, point, fstype, source, options):
        self.point = point
        self.fstype = fstype
        self.source = source
        self.options = options

    def __enter__(self):
        os.makedirs(self.point, exist_ok=True)
        sh("mount", "-t", self.fstype, "-o", self.options, self.source, self.point)
        return self

    def __exit__(self, *exc):
        self.umount()
        return False

    def umount(self):
        if os.path.ismount(self.point):
            r = sh("umount", self.point, check=False)
            if r.returncode != 0:
                log("umount %s: %s" % (self.point, r.stderr.strip()))

    def block_device(self):
        with open("/proc/self/mounts") as f:
            for line in f:
                dev, where = line.split()[:2]
                if where == self.point:
                    return dev
        return None


def new_torrent(sw):
    src_dir = sw.path("src")
    os.makedirs(src_dir, exist_ok=True)
    src = write_random_file(os.path.join(src_dir, "payload.bin"), SIZE, 7)
    info = make_torrent(src, sw.path("payload.torrent"), sw.announce_url, PIECE)
    return src, src_dir, info


def image(sw, name, size_mib, mkfs):
    path = sw.path(name)
    with open(path, "wb") as f:
        f.truncate(size_mib * MiB)
    sh(*mkfs, path)
    return path


def pieces_of(line):
    """The "pieces" counter of one of gbt's --json lines (-1: not one)."""
    try:
        return int(json.loads(line).get("pieces", -1))
    except (ValueError, TypeError, AttributeError):
        return -1


def error_event(run):
    return run.last_event("error")


def have_bytes(run):
    """"have" of gbt's last --json line (the error event: final counts)."""
    evs = [e for e in run.events() if isinstance(e.get("have"), int)]
    return evs[-1]["have"] if evs else 0


def check_failure(tap, run, rc, out_file, errno_text, what):
    err = error_event(run)
    reason = (err or {}).get("reason", "")
    stderr_tail = run.proc.log_tail()
    ok = (rc == 1 and err is not None and out_file in reason and errno_text in reason
          and out_file in stderr_tail and errno_text in stderr_tail)
    tap.ok(ok, "%s: exit 1, the file and \"%s\" in the error (stderr and --json)"
           % (what, errno_text), "exit %s, reason %r\n%s" % (rc, reason, stderr_tail))
    log("%s: %s" % (what, reason))


def log_resume(out, what):
    """Whether the failed run left resume data (it cannot on a disk with no
    room or gone read-only: then the next run hashes what is on disk)."""
    d = os.path.join(out, ".gbt")
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    log("%s: resume data after the failure: %s" % (what, ", ".join(names) or "none"))


def second_run(tap, sw, info, src, out, kept, what):
    """gbt again into @out: completes with identical bytes, downloading at
    most what the first run had not kept (@kept bytes)."""
    run = start_leecher(sw, info, out, name="again")
    rc = run.wait(RUN_TIMEOUT)
    done = run.last_event("done")
    diffs = compare_tree(src, out) if rc == 0 else ["not compared"]
    downloaded = done.get("downloaded") if done else None
    bound = info.total_size - kept
    log("%s, second run: downloaded %s bytes; the first run had kept %d of %d (bound %d)"
        % (what, downloaded, kept, info.total_size, bound))
    tap.ok(rc == 0 and not diffs and isinstance(downloaded, int) and 0 < kept
           and downloaded <= bound,
           "%s: a second run completes, identical bytes, downloading only what was missing "
           "(%s <= %d bytes)" % (what, downloaded, bound),
           "exit %s\n%s\n%s" % (rc, "\n".join(diffs[:5]), run.proc.log_tail()))


def tmpfs_too_small(tap):
    with Swarm("diskfull-tmpfs") as sw:
        src, src_dir, info = new_torrent(sw)
        sw.tracker.add_torrent(info)
        with Mount(sw.path("tmpfs"), "tmpfs", "tmpfs", "size=%dk" % (SIZE // KiB // 2)) as m:
            out = os.path.join(m.point, "dl")
            run = start_leecher(sw, info, out)
            rc = run.wait(RUN_TIMEOUT)
            check_failure(tap, run, rc, os.path.join(out, "payload.bin"),
                          "No space left on device", "tmpfs too small")


def enospc_mid(tap):
    with Swarm("diskfull-ext2") as sw:
        src, src_dir, info = new_torrent(sw)
        seeder = libtorrent_seeder(sw, info, src_dir, upload_limit=RATE)
        img = image(sw, "ext2.img", 48, ["mkfs.ext2", "-q", "-F", "-m", "0"])
        with Mount(sw.path("ext2"), "ext2", img, "loop") as m:
            ballast = os.path.join(m.point, "ballast")
            st = os.statvfs(m.point)
            free = st.f_bavail * st.f_frsize
            with open(ballast, "wb") as f:
                left = free - ROOM
                chunk = b"\0" * MiB
                while left > 0:
                    f.write(chunk[:min(left, MiB)])
                    left -= MiB
                f.flush()
                os.fsync(f.fileno())
            st = os.statvfs(m.point)
            log("ext2: %d bytes free for a %d-byte torrent" % (st.f_bavail * st.f_frsize,
                                                                 info.total_size))
            out = os.path.join(m.point, "dl")
            run = start_leecher(sw, info, out)
            rc = run.wait(RUN_TIMEOUT)
            check_failure(tap, run, rc, os.path.join(out, "payload.bin"),
                          "No space left on device", "disk full mid-download")
            kept = have_bytes(run)
            log_resume(out, "disk full mid-download")
            os.unlink(ballast)
            second_run(tap, sw, info, src, out, kept, "disk full mid-download")
        sw.forget(seeder.proc)


def readonly_mid(tap):
    with Swarm("readonly-ext4") as sw:
        src, src_dir, info = new_torrent(sw)
        seeder = libtorrent_seeder(sw, info, src_dir, upload_limit=RATE)
        img = image(sw, "ext4.img", 64, ["mkfs.ext4", "-q", "-F"])
        point = sw.path("ext4")
        out = os.path.join(point, "dl")
        with Mount(point, "ext4", img, "loop,errors=remount-ro") as m:
            dev = os.path.basename(m.block_device() or "")
            trigger = "/sys/fs/ext4/%s/trigger_fs_error" % dev
            if not dev or not os.path.exists(trigger):
                tap.skip("read-only mid-download", "no %s in this kernel" % trigger)
                tap.skip("read-only: second run", "no %s in this kernel" % trigger)
                return
            run = start_leecher(sw, info, out)
            quarter = info.num_pieces // 4
            line = run.proc.wait_line(lambda l: pieces_of(l) >= quarter, RUN_TIMEOUT)
            if line is None:
                run.wait(5)
                tap.ok(False, "read-only: gbt got a quarter of the pieces", run.proc.log_tail())
                tap.ok(False, "read-only: second run", "not run")
                return
            # what gbt reported had is written: make it durable, then let
            # the kernel take the file system read-only as on a disk error
            at_sync = json.loads(line)["have"]
            sh("sync", "-f", point)
            with open(trigger, "w") as f:
                f.write("1")
            rc = run.wait(RUN_TIMEOUT)
            check_failure(tap, run, rc, os.path.join(out, "payload.bin"),
                          "Read-only file system", "read-only mid-download")
            log_resume(out, "read-only mid-download")
        sh("e2fsck", "-f", "-y", img, check=False)
        with Mount(point, "ext4", img, "loop,errors=remount-ro"):
            second_run(tap, sw, info, src, out, at_sync, "read-only mid-download")
        sw.forget(seeder.proc)


def main():
    if os.environ.get(NS_ENV) != "1":
        why = missing_prerequisite()
        if why:
            return skip_all(why)
        unmet = check_prerequisites()
        if unmet:
            return unmet.report()
        env = dict(os.environ, **{NS_ENV: "1"})
        r = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable,
                            os.path.abspath(__file__)] + sys.argv[1:], env=env)
        return r.returncode
    return run_cases([tmpfs_too_small, enospc_mid, readonly_mid],
                     plan=1 + 1 + 2 + 2)


if __name__ == "__main__":
    sys.exit(main())
