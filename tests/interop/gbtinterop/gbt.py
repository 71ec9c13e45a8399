# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gbt program under test, and which downloader the tests drive.

The tests run their cases with gbt (the default) or, to validate the
fixtures themselves, with aria2c or libtorrent as the downloader:
INTEROP_LEECHER=gbt|aria2|libtorrent."""
import os
import subprocess

from . import HERE


def gbt_cli():
    return os.environ.get("GBT_CLI") or os.path.join(HERE, "..", "..", "build", "cli", "gbt")


def leecher_kind():
    return os.environ.get("INTEROP_LEECHER", "gbt")


def gbt_command_works(command):
    """None when `gbt COMMAND --help` exits 0, else what went wrong."""
    cli = gbt_cli()
    if not os.access(cli, os.X_OK):
        return "no gbt program at %s (set GBT_CLI)" % cli
    try:
        r = subprocess.run([cli, command, "--help"], timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.SubprocessError) as e:
        return "gbt %s --help failed: %s" % (command, e)
    if r.returncode != 0:
        return "gbt %s --help exits %d: %s" % (
            command, r.returncode, r.stderr.decode("utf-8", "replace").strip()[-300:])
    return None
