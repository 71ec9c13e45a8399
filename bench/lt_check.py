#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libtorrent's recheck of existing data, for bench/compare's `verify`
scenario: the measured child process is this script itself, so its rusage
covers libtorrent's hashing threads.

Adds the torrent with no resume data, forces a full recheck, waits until the
check is over and prints one line:
  CHECKED HAVE/TOTAL
Exit status 0 when every piece checked good, 1 otherwise.
"""
import argparse
import sys
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--save", required=True, help="directory that contains the torrent's name")
    ap.add_argument("--addr", required=True, help="loopback address to listen on")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()

    # Library defaults otherwise (hashing threads included): what users get.
    ses = lt.session({
        "listen_interfaces": "%s:0" % args.addr,
        "outgoing_interfaces": args.addr,
        "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save
    # Without resume data, libtorrent checks every piece of files it
    # finds when the torrent is added: that check is what we time.
    atp.flags &= ~(lt.torrent_flags.auto_managed | lt.torrent_flags.paused)
    h = ses.add_torrent(atp)

    deadline = time.monotonic() + args.timeout
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    started = False
    while time.monotonic() < deadline:
        time.sleep(0.01)  # not wait_for_alert(): its binding can crash (see tests/interop/lt_peer.py)
        for a in ses.pop_alerts():
            if isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                print("ERROR " + a.message(), flush=True)
                return 1
            if isinstance(a, lt.torrent_checked_alert):
                started = True
        st = h.status()
        if started and st.state not in checking:
            have = sum(1 for b in st.pieces if b)
            total = len(st.pieces)
            print("CHECKED %d/%d" % (have, total), flush=True)
            return 0 if have == total and total > 0 else 1
    print("ERROR timeout", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
