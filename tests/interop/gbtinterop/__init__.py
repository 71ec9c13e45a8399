# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real-peer fixtures for gbt's interop tests: a loopback swarm.

One job per module:
  tap       TAP output, the case runner, prerequisites (fail or skip)
  bencode   bencode / bdecode
  payload   deterministic payloads, tree compare, piece status on disk
  torrents  TorrentInfo, our bencoder's torrents, mktorrent, `gbt create`
  procs     child processes (own group, timeout, PDEATHSIG), waiting helpers
  net       loopback ports, waiting for a port, exact reads
  tracker   opentracker (whitelist, announce, who is listed)
  swarm     Swarm: temp dir, addresses, the processes it owns, its tracker
  peers     libtorrent, aria2c, transmission-cli, gbt and hostile peers
  gbt       where the gbt program is, which leecher the tests drive
  hostile   hostile peers with options, gbt under /usr/bin/time (CPU),
            bans, drops and connections as gbt and the liars report them

Loopback only: nothing here talks to anything outside 127.0.0.0/8 (or ::1).
"""
import os

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/interop
PYTHON = "/usr/bin/python3"
KiB = 1024
MiB = 1024 * 1024
