#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Router port mapping (the `portmap` plugin: NAT-PMP, UPnP IGD) against miniupnpd.

Three network namespaces of our own, joined by two veth pairs: "lan"
(10.0.0.2, gbt), "gw" (10.0.0.1 on the LAN side, 11.0.0.1 on the WAN side:
miniupnpd with its nftables backend, and a small HTTP tracker on the LAN
side that records the port= of each announce) and "wan" (11.0.0.2, a dead
end).  Nothing has a route out of the namespaces: no SSDP or NAT-PMP can
leave the machine.  Needs root (namespaces), ip, nft, miniupnpd, upnpc;
without them the script skips, saying why.

Cases, with NAT-PMP only, UPnP only (GBT_PORTMAP_METHODS), both (the
default: NAT-PMP answers and UPnP stays unused), and both with no NAT-PMP
where gbt asks (UPnP after the fallback delay):
  - while `gbt seed` runs, miniupnpd lists TCP and UDP mappings of gbt's
    listen port to 10.0.0.2 (`upnpc -l` over UPnP, and the DNAT rule in
    the router's nftables); gbt's --json reports them "mapped";
  - the external TCP port is taken by another host's mapping beforehand,
    so the router gives gbt another one: the tracker must see that port;
  - after SIGTERM the mappings and the DNAT rules are gone;
  - with --no-port-mapping, and with GBT_PORTMAP_DISABLE=1 (the test
    suite's setting), nothing is mapped.

The suite's environment sets GBT_PORTMAP_DISABLE=1; this script clears it
for the gbt it runs in the namespace.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbtinterop.gbt import gbt_cli  # noqa: E402
from gbtinterop.procs import wait_for  # noqa: E402
from gbtinterop.tap import Tap, log, skip_all  # noqa: E402

TIMEOUT = 60  # a loaded CI machine: UPnP discovery and mapping have taken over 20 s
LAN_IP, GW_IP = "10.0.0.2", "10.0.0.1"
LISTEN = 7000
TRACKER_PORT = 8000
UPNP_PORT = 5000

TRACKER = r'''
import http.server, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        print(q.get("port", ["?"])[0], q.get("event", [""])[0], flush=True)
        body = b"d8:intervali30e5:peers0:e"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
'''

NFT = '''table inet filter {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
}
'''


def run(*argv, check=True, input=None):
    return subprocess.run(argv, check=check, input=input, capture_output=True, text=True,
                          timeout=30)


class NoNamespaces(Exception):
    pass


class Net:
    """The namespaces, the router and the tracker; close() stops each by PID
    and deletes the namespaces."""

    def __init__(self, tmp):
        self.tmp = tmp
        tag = "gbtpm%d" % os.getpid()
        self.lan, self.gw, self.wan = tag + "l", tag + "g", tag + "w"
        self.procs = []
        self.made = []
        self.miniupnpd_log = None
        try:
            self.setup()
        except BaseException:
            self.close()
            raise

    def setup(self):
        tmp = self.tmp
        # interface names: at most 15 characters
        a, b, c, d = ("pm%da" % os.getpid(), "pm%db" % os.getpid(), "pm%dc" % os.getpid(),
                      "pm%dd" % os.getpid())
        for ns in (self.lan, self.gw, self.wan):
            try:
                run("ip", "netns", "add", ns)
            except subprocess.CalledProcessError as e:
                if not self.made:  # no rights to make one here
                    raise NoNamespaces(e.stderr.strip())
                raise
            self.made.append(ns)
        run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        run("ip", "link", "set", a, "netns", self.lan)
        run("ip", "link", "set", b, "netns", self.gw)
        run("ip", "link", "add", c, "type", "veth", "peer", "name", d)
        run("ip", "link", "set", c, "netns", self.gw)
        run("ip", "link", "set", d, "netns", self.wan)
        for ns, dev, addr in ((self.lan, a, LAN_IP + "/24"), (self.gw, b, GW_IP + "/24"),
                              (self.gw, c, "11.0.0.1/24"), (self.wan, d, "11.0.0.2/24")):
            run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
        for ns in (self.lan, self.gw, self.wan):
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.lan, "route", "add", "default", "via", GW_IP)
        run("ip", "netns", "exec", self.gw, "nft", "-f", "-", input=NFT)
        conf = os.path.join(tmp, "miniupnpd.conf")
        with open(conf, "w") as f:
            f.write("ext_ifname=%s\nlistening_ip=%s\nhttp_port=%d\nenable_natpmp=yes\n"
                    "enable_upnp=yes\nsecure_mode=no\nsystem_uptime=yes\n"
                    "uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n"
                    "allow 1024-65535 10.0.0.0/24 1024-65535\n"
                    "deny 0-65535 0.0.0.0/0 0-65535\n" % (c, b, UPNP_PORT))
        self.miniupnpd_log = open(os.path.join(tmp, "miniupnpd.log"), "w")
        self.spawn(["ip", "netns", "exec", self.gw, "miniupnpd", "-d", "-f", conf,
                    "-P", os.path.join(tmp, "miniupnpd.pid")], stdout=self.miniupnpd_log)
        self.tracker_log = os.path.join(tmp, "tracker.log")
        tl = open(self.tracker_log, "w")
        self.spawn(["ip", "netns", "exec", self.gw, "/usr/bin/python3", "-c", TRACKER, GW_IP,
                    str(TRACKER_PORT)], stdout=tl)
        tl.close()
        if not wait_for(lambda: self.upnp_list() is not None, TIMEOUT):
            raise RuntimeError("miniupnpd does not answer UPnP on %s:%d" % (GW_IP, UPNP_PORT))

    def spawn(self, argv, stdout=subprocess.DEVNULL, env=None):
        p = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def upnpc(self, *args):
        return run("ip", "netns", "exec", self.lan, "upnpc", "-u",
                   "http://%s:%d/rootDesc.xml" % (GW_IP, UPNP_PORT), *args, check=False)

    def upnp_list(self):
        """[(proto, external port, internal ip, internal port)], None when
        the router does not answer"""
        r = self.upnpc("-l")
        if "exPort->inAddr:inPort" not in r.stdout:
            return None
        return [(m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
                for m in re.finditer(r"^\s*\d+\s+(TCP|UDP)\s+(\d+)->([\d.]+):(\d+)", r.stdout, re.M)]

    def dnat_rules(self):
        r = run("ip", "netns", "exec", self.gw, "nft", "list", "ruleset", check=False)
        return re.findall(r"dnat ip to ([\d.]+:\d+)", r.stdout)

    def announces(self):
        with open(self.tracker_log) as f:
            return [tuple(line.split()) + ("",) * (2 - len(line.split()))
                    for line in f if line.strip()]

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        if self.miniupnpd_log:
            self.miniupnpd_log.close()
        for ns in self.made:
            run("ip", "netns", "del", ns, check=False)


def gbt_env(disable=False):
    env = dict(os.environ)
    env.pop("GBT_PORTMAP_DISABLE", None)
    if disable:
        env["GBT_PORTMAP_DISABLE"] = "1"
    return env


def mine(entries):
    return sorted((proto, ext) for proto, ext, ip, _ in entries if ip == LAN_IP)


def sanitizer_reports(text):
    """(ours, foreign): AddressSanitizer reports of gbt's own code, and leak
    reports whose every frame is in other libraries.  GUPnP, GSSDP and
    libsoup's server leak a few objects at exit in ASan builds (their
    GENA event server); a leak with a frame in gbt's code (a gbt_
    function, libgbt, a plugin) between the allocation and the main loop's
    dispatch, or any memory error, is ours."""
    ours, foreign = [], []
    if "ERROR: AddressSanitizer" in text:
        ours.append("AddressSanitizer error")
    for block in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text)[1:]:
        # the frames from the allocation up to the main loop's dispatch
        # (below it every callback has gbt's main loop in its stack)
        inner = block.split(" in g_main_context_dispatch ")[0]
        if re.search(r" in gbt_|libgbt-|/plugins/", inner):
            ours.append(block)
        else:
            foreign.append(block)
    return ours, foreign


SCENARIOS = [
    # (what, environment, the method that must map)
    ("NAT-PMP", {"GBT_PORTMAP_METHODS": "natpmp"}, "natpmp"),
    ("UPnP", {"GBT_PORTMAP_METHODS": "upnp"}, "upnp"),
    # both on (the default): NAT-PMP answers, UPnP is never asked
    ("default", {}, "natpmp"),
    # no NAT-PMP where gbt asks: UPnP after the 2 s fallback
    ("fallback", {"GBT_PORTMAP_GATEWAY": GW_IP + ":5999"}, "upnp"),
]
CASES = 8


def scenario(tap, net, tmp, torrent, what, extra_env, method, listen, procs):
    """gbt with @extra_env, listening on @listen, whose external TCP port
    another host holds; @method must map: CASES cases"""
    net.upnpc("-a", "10.0.0.3", str(listen), str(listen), "TCP", "600")
    out = open(os.path.join(tmp, "gbt-%s.json" % what), "w")
    env = dict(gbt_env(), **extra_env)
    # whole stacks in leak reports (ASan builds), to tell ours from GUPnP's
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":fast_unwind_on_malloc=0"
    gbt = net.spawn(["ip", "netns", "exec", net.lan, gbt_cli(), "seed", torrent, "-d", tmp,
                     "--json", "-p", str(listen)], stdout=out, env=env)
    procs.append(gbt)
    def settled(m):
        # both mappings, TCP moved off the port the other host holds; an
        # earlier listing may catch the router mid-way (a retransmitted
        # request under load)
        tcp = [e for e in m if e[0] == "TCP"]
        ok = len(m) == 2 and ("UDP", listen) in m and len(tcp) == 1 and tcp[0][1] != listen
        return m if ok else None

    entries = wait_for(lambda: settled(mine(net.upnp_list() or [])), TIMEOUT)
    tcp = [e for e in (entries or []) if e[0] == "TCP"]
    tap.ok(entries is not None,
           "%s: miniupnpd lists gbt's TCP and UDP mappings (TCP on another external port)" % what,
           "upnpc -l: %r" % (net.upnp_list(),))
    ext = tcp[0][1] if tcp else None
    rules = net.dnat_rules()
    tap.ok("%s:%d" % (LAN_IP, listen) in rules, "%s: the router's nftables forward to gbt" % what,
           "dnat rules: %r" % rules)
    seen = wait_for(lambda: ext and any(a[0] == str(ext) for a in net.announces()), TIMEOUT)
    tap.ok(seen, "%s: the tracker sees the external port %s" % (what, ext),
           "announces: %r" % net.announces())

    def reported():
        with open(out.name) as f:
            for line in reversed(f.readlines()):
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                maps = ev.get("port_mappings") or []
                # (past the fallback's 2 s: UPnP would show by then)
                if (len(maps) == 2 and all(m.get("state") == "mapped" for m in maps)
                        and ev.get("time", 0) > 3):
                    return ev
        return None
    ev = wait_for(reported, TIMEOUT)
    tap.ok(ev and ev.get("announce_port") == ext
           and {(m["method"], m["protocol"], m["external_port"]) for m in ev["port_mappings"]}
           == {(method, "tcp", ext), (method, "udp", listen)}
           and all(m.get("external_address") == "11.0.0.1" for m in ev["port_mappings"]),
           "%s: --json reports both mappings, the external address and port" % what, repr(ev))

    os.killpg(gbt.pid, signal.SIGTERM)
    rc = gbt.wait(timeout=TIMEOUT)
    out.close()
    with open(out.name) as f:
        text = f.read()
    ours, foreign = sanitizer_reports(text)
    tap.ok((rc in (0, 1) or (foreign and not ours)) and not ours and "CRITICAL" not in text,
           "%s: gbt exits after SIGTERM (status %s), no sanitizer report of gbt's, no critical"
           % (what, rc),
           "\n".join(l for l in text.splitlines() if not l.startswith("{"))[-4000:])
    if foreign:
        log("%s: %d leak(s) inside GUPnP/GSSDP/libsoup, no gbt frame in them (not ours)"
            % (what, len(foreign)))
    gone = wait_for(lambda: (lambda l: l is not None and not mine(l))(net.upnp_list()), TIMEOUT)
    tap.ok(gone, "%s: after SIGTERM miniupnpd lists no mapping of gbt's" % what,
           "upnpc -l: %r" % (net.upnp_list(),))
    tap.ok(not any(r.startswith(LAN_IP + ":") for r in net.dnat_rules()),
           "%s: after SIGTERM no DNAT rule to gbt is left" % what, repr(net.dnat_rules()))
    tap.ok(("TCP", listen, "10.0.0.3", listen) in (net.upnp_list() or []),
           "%s: the other host's mapping is left alone" % what, repr(net.upnp_list()))


def main():
    if os.geteuid() != 0:
        return skip_all("needs root for network namespaces (never run against a real router)")
    for tool in ("ip", "nft", "miniupnpd", "upnpc"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            return skip_all("%s is not installed (scripts/install-deps)" % tool)
    tmp = tempfile.mkdtemp(prefix="gbt-portmap-")
    try:
        net = Net(tmp)
    except NoNamespaces as e:
        shutil.rmtree(tmp, ignore_errors=True)
        return skip_all("cannot make a network namespace here (%s)" % e)
    except (subprocess.CalledProcessError, RuntimeError) as e:
        out = getattr(e, "stderr", "") or ""
        shutil.rmtree(tmp, ignore_errors=True)
        tap = Tap(1)
        tap.ok(False, "router in a namespace", "%s %s" % (e, out))
        return tap.finish()
    tap = Tap(len(SCENARIOS) * CASES + 2)
    procs = []
    try:
        data = os.path.join(tmp, "data.bin")
        with open(data, "wb") as f:
            f.write(os.urandom(64 * 1024))
        torrent = os.path.join(tmp, "d.torrent")
        run(gbt_cli(), "create", data, "-o", torrent,
            "-t", "http://%s:%d/announce" % (GW_IP, TRACKER_PORT))
        for n, (what, extra_env, method) in enumerate(SCENARIOS):
            scenario(tap, net, tmp, torrent, what, extra_env, method, LISTEN + 100 * n, procs)

        # off: --no-port-mapping, and the test suite's GBT_PORTMAP_DISABLE
        for case, extra, disable in (("--no-port-mapping", ["--no-port-mapping"], False),
                                     ("GBT_PORTMAP_DISABLE=1", [], True)):
            before = len(net.announces())
            g = net.spawn(["ip", "netns", "exec", net.lan, gbt_cli(), "seed", torrent, "-d", tmp,
                           "-p", str(LISTEN + 10)] + extra, env=gbt_env(disable))
            procs.append(g)
            announced = wait_for(lambda: any(a[0] == str(LISTEN + 10)
                                             for a in net.announces()[before:]), TIMEOUT)
            # (a mapping takes one round trip on the veth: enabled, it is
            # there by the time the tracker's reply has come back)
            tap.ok(announced and not mine(net.upnp_list() or []),
                   "%s: nothing is mapped (the tracker got the listen port)" % case,
                   "announces %r, upnpc -l %r" % (net.announces()[before:], net.upnp_list()))
            os.killpg(g.pid, signal.SIGTERM)
            g.wait(timeout=TIMEOUT)
    except Exception as e:  # noqa: BLE001
        import traceback
        tap.diag(traceback.format_exc())
        tap.ok(False, "unexpected error: %s" % e)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        net.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
