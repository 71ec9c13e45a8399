# SPDX-License-Identifier: LGPL-2.1-or-later
"""A torrent daemon driven over Transmission's RPC protocol: `gbt daemon`
(the default) or, with GBT_DAEMON_TEST_REFERENCE=transmission, Debian's
transmission-daemon 3.00 run the same way, so that a test can prove it
checks Transmission's semantics rather than ours.

Daemon owns a state dir and a download dir in a Swarm, a peer address and
port of its own (kept over restarts), and the RPC port it answers on.
start() returns once the RPC server answers; stop() signals the daemon by
PID (SIGTERM, bounded wait); kill() sends SIGKILL.  rpc() does the
X-Transmission-Session-Id handshake (409, then the same request again with
the id it got); http() sends raw bytes for the bad-input cases; remote()
runs transmission-remote against it with a timeout."""
import base64
import http.client
import json
import os
import signal
import subprocess
import time

from .gbt import gbt_cli
from .net import free_port, wait_tcp
from .peers import Peer

REFERENCE_ENV = "GBT_DAEMON_TEST_REFERENCE"
RPC_PATH = "/transmission/rpc"
SESSION_HEADER = "X-Transmission-Session-Id"


def daemon_kind():
    """"gbt", or "transmission" when the reference daemon is asked for."""
    ref = os.environ.get(REFERENCE_ENV, "")
    return "transmission" if ref == "transmission" else "gbt"


def daemon_unmet():
    """None when the daemon under test and transmission-remote can run, else
    what is missing (a string) and whether that is a skip (tool absent) or
    a failure (gbt without a working `daemon` command)."""
    import shutil
    from .gbt import gbt_command_works
    if os.environ.get(REFERENCE_ENV, "") not in ("", "transmission"):
        return "unknown %s=%s" % (REFERENCE_ENV, os.environ[REFERENCE_ENV]), False
    if daemon_kind() == "gbt":
        broken = gbt_command_works("daemon")
        if broken:
            return broken, False
    elif shutil.which("transmission-daemon") is None:
        return "transmission-daemon is not installed (the reference run)", True
    if shutil.which("transmission-remote") is None:
        return "transmission-remote is not installed (scripts/install-deps)", True
    return None


class RpcError(Exception):
    """An HTTP status other than 200 (after the 409 handshake)."""

    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body[:300]))
        self.status = status
        self.body = body


class Daemon:
    def __init__(self, sw, name="daemon", auth=None, kind=None):
        """@auth: "user:pass" for HTTP basic auth (gbt's --rpc-auth)."""
        self.sw = sw
        self.name = name
        self.kind = kind or daemon_kind()
        self.auth = auth
        self.state_dir = sw.path(name + "-state")
        self.download_dir = sw.path(name + "-downloads")
        os.makedirs(self.state_dir, exist_ok=True)
        os.makedirs(self.download_dir, exist_ok=True)
        self.addr = sw.new_addr()
        self.peer_port = free_port(self.addr)
        self.rpc_port = None
        self.proc = None
        self.listening = None  # gbt's "listening" event
        self.session_id = None
        self.starts = 0

    # ------------------------------------------------------------ lifetime
    @property
    def host(self):
        return "127.0.0.1:%d" % self.rpc_port

    @property
    def peer(self):
        """The daemon as a peers.Peer (for Opentracker.wait_announced)."""
        return Peer("daemon-" + self.kind, self.addr, self.peer_port, self.proc)

    def start(self, timeout=30):
        self.session_id = None
        self.starts += 1
        if self.kind == "gbt":
            self._start_gbt(timeout)
        else:
            self._start_transmission(timeout)
        return self

    def _start_gbt(self, timeout):
        argv = [gbt_cli(), "daemon", "--state-dir", self.state_dir,
                "--download-dir", self.download_dir, "--rpc-bind", "127.0.0.1:0",
                "--bind", self.addr, "--port", str(self.peer_port), "--no-port-mapping",
                "--json"]
        if self.auth:
            argv += ["--rpc-auth", self.auth]
        env = dict(os.environ, GBT_PORTMAP_DISABLE="1", GBT_LSD_DISABLE="1")
        p = self.sw.spawn("%s-gbt%d" % (self.name, self.starts), argv, env=env)
        self.proc = p
        line = p.wait_line(lambda l: '"listening"' in l, timeout)
        if line is None:
            raise RuntimeError("gbt daemon printed no \"listening\" event in %d s (exit %s):\n%s"
                               % (timeout, p.popen.poll(), p.log_tail()))
        ev = json.loads(line)
        self.listening = ev
        self.rpc_port = int(ev["rpc_port"])

    def _transmission_settings(self):
        user, _, password = (self.auth or "").partition(":")
        return {
            "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False,
            "utp-enabled": False, "port-forwarding-enabled": False,
            "bind-address-ipv4": self.addr, "bind-address-ipv6": "::1",
            "peer-port": self.peer_port, "peer-port-random-on-start": False,
            "rpc-enabled": True, "rpc-bind-address": "127.0.0.1", "rpc-port": self.rpc_port,
            "rpc-whitelist-enabled": True, "rpc-whitelist": "127.0.0.1",
            "rpc-host-whitelist-enabled": False,
            "rpc-authentication-required": bool(self.auth),
            "rpc-username": user, "rpc-password": password,
            "encryption": 1, "ratio-limit-enabled": False,
            "idle-seeding-limit-enabled": False,
            "speed-limit-up-enabled": False, "speed-limit-down-enabled": False,
            "alt-speed-enabled": False,
            "download-dir": self.download_dir, "incomplete-dir-enabled": False,
            "rename-partial-files": False, "start-added-torrents": True,
            "watch-dir-enabled": False, "blocklist-enabled": False,
            "message-level": 2, "umask": 18,
        }

    def _start_transmission(self, timeout):
        # no port 0 for its RPC: a free one, kept over restarts
        if self.rpc_port is None:
            self.rpc_port = free_port("127.0.0.1")
        conf = os.path.join(self.state_dir, "settings.json")
        settings = {}
        if os.path.exists(conf):  # what it saved (speed limits set over RPC)
            with open(conf) as f:
                settings = json.load(f)
        fixed = self._transmission_settings()
        for k, v in fixed.items():
            if k not in settings or k.startswith("rpc-") or k in (
                    "bind-address-ipv4", "peer-port", "download-dir"):
                settings[k] = v
        with open(conf, "w") as f:
            json.dump(settings, f)
        p = self.sw.spawn("%s-transmission%d" % (self.name, self.starts),
                          ["transmission-daemon", "-f", "-g", self.state_dir], capture=False)
        self.proc = p
        if not wait_tcp("127.0.0.1", self.rpc_port, timeout, proc=p):
            raise RuntimeError("transmission-daemon did not answer on %d:\n%s"
                               % (self.rpc_port, p.log_tail()))
        self.listening = None
        # its RPC answers before it loaded its torrents: wait for as many as
        # it keeps .torrent files of (gbt prints "listening" once loaded)
        tdir = os.path.join(self.state_dir, "torrents")
        n = len(os.listdir(tdir)) if os.path.isdir(tdir) else 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if len(self.torrents(["id"])) >= n:
                    return
            except (OSError, ValueError, RpcError, RuntimeError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError("transmission-daemon did not load its %d torrents in %d s"
                           % (n, timeout))

    def main_pid(self):
        """The daemon's own PID (its process runs under `timeout`)."""
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        return kids[0] if kids else None

    def memory_kib(self, key="VmHWM"):
        """A /proc/PID/status figure of the daemon in KiB (VmHWM: peak
        RSS, VmRSS: now), or None."""
        pid = self.main_pid()
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except (OSError, TypeError):
            pass
        return None

    def sanitized(self):
        """True when the daemon under test is built with AddressSanitizer
        (its freed memory sits in a quarantine: RSS says little)."""
        if self.kind != "gbt":
            return False
        try:
            with open(gbt_cli(), "rb") as f:
                return b"__asan_init" in f.read()
        except OSError:
            return False

    def send_signal(self, sig):
        """@sig to the daemon itself (not the `timeout` around it)."""
        self.proc.signal_main(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the daemon and waits for it to exit: its exit status
        (None when it did not exit in @timeout s; it is then killed)."""
        if self.proc is None:
            return None
        self.send_signal(sig)
        rc = self.proc.wait(timeout)
        if rc is not None:
            self.proc.wait_output()
        self.sw.forget(self.proc)
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL, 10)

    def restart(self, sig=signal.SIGTERM, timeout=30):
        """Stops with @sig, starts again on the same dirs and ports; the
        exit status of the old process."""
        rc = self.stop(sig)
        self.start(timeout)
        return rc

    # ------------------------------------------------------------ RPC
    def _auth_header(self, auth=None):
        a = auth if auth is not None else self.auth
        if not a:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(a.encode()).decode()}

    def http(self, body, headers=None, method="POST", path=RPC_PATH, timeout=30):
        """One raw HTTP request: (status, headers (lower-case names), body
        bytes).  @headers replace the defaults (no auth, no session id).
        @body: bytes, or an iterable of bytes sent chunked."""
        c = http.client.HTTPConnection("127.0.0.1", self.rpc_port, timeout=timeout)
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h,
                      encode_chunked=not isinstance(body, (bytes, bytearray)))
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def post(self, body, auth=None, session_id=None, timeout=30):
        """Raw body with auth and the session id (handshake done first when
        we have none): (status, headers, body)."""
        for _ in range(3):
            sid = session_id if session_id is not None else self.session_id
            h = self._auth_header(auth)
            if sid:
                h[SESSION_HEADER] = sid
            status, headers, data = self.http(body, h, timeout=timeout)
            if status == 409 and session_id is None:
                self.session_id = headers.get(SESSION_HEADER.lower())
                continue
            return status, headers, data
        return status, headers, data

    def rpc(self, method, arguments=None, tag=None, timeout=30):
        """The reply object of one request; RpcError on an HTTP error."""
        req = {"method": method}
        if arguments is not None:
            req["arguments"] = arguments
        if tag is not None:
            req["tag"] = tag
        status, _, data = self.post(json.dumps(req).encode(), timeout=timeout)
        if status != 200:
            raise RpcError(status, data.decode("utf-8", "replace"))
        return json.loads(data)

    def call(self, method, arguments=None):
        """rpc()'s arguments when the result is "success", else RuntimeError."""
        r = self.rpc(method, arguments)
        if r.get("result") != "success":
            raise RuntimeError("%s %s: %s" % (method, json.dumps(arguments), r.get("result")))
        return r.get("arguments", {})

    def torrents(self, fields, ids=None):
        args = {"fields": list(fields)}
        if ids is not None:
            args["ids"] = ids
        return self.call("torrent-get", args)["torrents"]

    def torrent(self, tid, fields):
        """One torrent's fields (a dict) or None when it is not there."""
        got = self.torrents(fields, [tid])
        return got[0] if got else None

    def answers(self):
        """True when session-get succeeds."""
        try:
            return self.rpc("session-get", timeout=10).get("result") == "success"
        except (OSError, ValueError, RpcError, http.client.HTTPException):
            return False

    # ------------------------------------------------------------ transmission-remote
    def remote(self, *args, timeout=30, check=True):
        """transmission-remote HOST:PORT ARGS...: its stdout (str).  With
        @check, a non-zero exit or "Error:" raises RuntimeError."""
        argv = ["transmission-remote", self.host]
        if self.auth:
            argv += ["--auth", self.auth]
        argv += [str(a) for a in args]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=dict(os.environ, LC_ALL="C.UTF-8"))
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        if check and (r.returncode != 0 or "Error:" in err):
            raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(argv[2:]), r.returncode,
                                                        out[-2000:], err[-2000:]))
        self.last_remote = (r.returncode, out, err)
        return out

    def log_tail(self, n=30):
        return self.proc.log_tail(n) if self.proc else ""


# ---------------------------------------------------------------- transmission-remote output

LIST_STATUSES = ("Up & Down", "Will Verify", "Verifying", "Downloading", "Seeding", "Idle",
                 "Stopped", "Finished", "Queued", "Unknown")


def parse_list(text):
    """`transmission-remote -l` rows: dicts with id, error (the "*" mark),
    done ("n/a" or a percentage as int), status and name."""
    import re
    rows = []
    status_re = "|".join(re.escape(s) for s in LIST_STATUSES)
    row = re.compile(r"^\s*(\d+)(\*?)\s+(n/a|\d+%)\s+.*?\s(-?[\d.]+|None|Inf)\s+("
                     + status_re + r")\s+(.*)$")
    for line in text.splitlines():
        m = row.match(line)
        if not m:
            continue
        done = m.group(3)
        rows.append({"id": int(m.group(1)), "error": m.group(2) == "*",
                     "done": None if done == "n/a" else int(done[:-1]),
                     "ratio": m.group(4), "status": m.group(5), "name": m.group(6).strip()})
    return rows


def parse_files(text):
    """`transmission-remote -t N -f` rows: dicts with index, done (int %),
    priority, get (bool), name."""
    import re
    rows = []
    row = re.compile(r"^\s*(\d+):\s+(-?\d+)%\s+(Low|Normal|High)\s+(Yes|No)\s+.*?\s{2}(\S.*)$")
    for line in text.splitlines():
        m = row.match(line)
        if m:
            rows.append({"index": int(m.group(1)), "done": int(m.group(2)),
                         "priority": m.group(3), "get": m.group(4) == "Yes",
                         "name": m.group(5)})
    return rows


def parse_sections(text):
    """`-si`, `-st`, `-t N -i`: {"Key": "value"} of every "  Key: value" line
    (a key seen twice, as in -st's two sections, keeps both under
    "SECTION/Key" and the first under "Key")."""
    out = {}
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" ") and not line.startswith("\t"):
            section = line.strip().rstrip(":")
            continue
        if ":" not in line:
            continue
        k, _, v = line.strip().partition(":")
        k, v = k.strip(), v.strip()
        out.setdefault(k, v)
        out[section + "/" + k] = v
    return out


def wait_until(pred, timeout, step=0.2, proc=None):
    """Polls pred() until it returns something true (returned), @timeout
    seconds pass or @proc exits (None).  Exceptions in pred count as false
    (a daemon restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except (OSError, RuntimeError, ValueError, RpcError, http.client.HTTPException):
            v = None
        if v:
            return v
        if time.monotonic() >= deadline or (proc is not None and not proc.alive()):
            return None
        time.sleep(step)
