#!/usr/bin/env python3
"""Wake-on-LAN between two network namespaces of the test's own: nothing reaches the machine's
real networks.

A veth pair joins a sender namespace (10.203.7.1/24, where uagent runs) and a receiver
namespace (10.203.7.2/24). In the receiver, this script in `--capture` mode listens on UDP ports
9 and 7 and reads every frame of its veth end with an AF_PACKET socket; the checks look at the
bytes that arrived (Ethernet header, IPv4 and UDP headers, the 102-byte magic packet), not at
what the agent says it did. The end-to-end part runs the agent against a stand-in OCS server (this
script in `--serve` mode, on 127.0.0.1 in the sender namespace) whose PROLOG reply carries an
OPTION WAKEONLAN.

Needs root (in a container: CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip` (iproute2, installed if
missing) and `setpriv` (util-linux, always in Debian), and a binary built with the wakeonlan
feature:

    cargo build --features full
    python3 tests/wakeonlan/check_wakeonlan.py --binary target/debug/uagent
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks  # noqa: E402

PID = os.getpid()
SENDER_NS, RECEIVER_NS = f"uwol-s-{PID}", f"uwol-r-{PID}"
SENDER_IF, RECEIVER_IF = f"uws{PID}", f"uwr{PID}"
SENDER_IP, RECEIVER_IP = "10.203.7.1", "10.203.7.2"
SUBNET_BROADCAST = "10.203.7.255"
# A network only reachable through the receiver: the "IP on no local subnet" case.
ROUTED_NET, ROUTED_IP = "10.203.8.0/24", "10.203.8.5"
# Drops CAP_NET_RAW for the command it runs (root keeps every other capability).
NO_NET_RAW = ["setpriv", "--inh-caps", "-net_raw", "--bounding-set", "-net_raw"]
ETH_P_ALL = 0x0003
BAD_MAC_MESSAGE = 'invalid MAC address "{}": expected six hex bytes like 00:11:22:33:44:55'
checks = Checks()
check = checks.equal


def mac_bytes(text):
    return bytes.fromhex(re.sub(r"[:-]", "", text))


def magic(mac):
    return b"\xff" * 6 + mac_bytes(mac) * 16


def describe(data):
    """`magic(aa:bb:…)` when `data` is exactly the magic packet for that MAC, else its hex: the
    comparisons stay exact and the output stays readable."""
    mac = data[6:12]
    if len(data) == 102 and data[:6] == b"\xff" * 6 and data[6:] == mac * 16:
        return f"magic({mac.hex(':')})"
    return data.hex()


def want(mac):
    return describe(magic(mac))


# --- capture mode: runs in the receiver namespace --------------------------------------------

def capture_mode(iface):
    """Prints `ready`, records until a line arrives on stdin (and 0.3 s more), prints JSON."""
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    raw.bind((iface, 0))
    udp = {}
    for port in (7, 9):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        udp[s] = port
    print("ready", flush=True)
    frames, datagrams = [], []
    stop_at = None
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        waits = [raw, *udp]
        timeout = 1.0
        if stop_at is None:
            waits.append(sys.stdin)
        else:
            timeout = stop_at - time.monotonic()
            if timeout <= 0:
                break
        ready, _, _ = select.select(waits, [], [], timeout)
        for s in ready:
            if s is sys.stdin:
                sys.stdin.readline()
                stop_at = time.monotonic() + 0.3
            elif s is raw:
                data, addr = raw.recvfrom(65535)
                if addr[2] != socket.PACKET_OUTGOING:
                    frames.append(data.hex())
            else:
                data, _ = s.recvfrom(65535)
                datagrams.append({"port": udp[s], "data": data.hex()})
    print(json.dumps({"frames": frames, "datagrams": datagrams}), flush=True)


# --- serve mode: a stand-in OCS server in the sender namespace -------------------------------

def serve_mode(wakeonlan, response, log_file):
    """Answers zlib XML PROLOGs with an OPTION WAKEONLAN (one PARAM per `MAC[,IP]`) and takes
    INVENTORY posts; writes each QUERY it got as a line of `log_file`."""
    params = []
    for spec in wakeonlan:
        mac, _, ip = spec.partition(",")
        params.append(f'<PARAM MAC="{mac}"' + (f' IP="{ip}"' if ip else "") + "/>")
    prolog = ('<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>' + response +
              "</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ>" +
              (f"<OPTION><NAME>WAKEONLAN</NAME>{''.join(params)}</OPTION>" if params else "") + "</REPLY>")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                text = zlib.decompress(body).decode("utf-8", "replace")
            except zlib.error:
                text = body.decode("utf-8", "replace")
            m = re.search(r"<QUERY>\s*([A-Z_]+)\s*</QUERY>", text)
            query = m.group(1) if m else "?"
            with open(log_file, "a") as f:
                f.write(query + "\n")
            reply = prolog if query == "PROLOG" else "<REPLY><RESPONSE>no_account_update</RESPONSE></REPLY>"
            out = zlib.compress(reply.encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/x-compress")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    print(f"ready {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


# --- the checks --------------------------------------------------------------------------------

def sh(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def ensure_tools():
    """`ip` comes from iproute2, missing from minimal Debian images; setpriv is in util-linux,
    which Debian always has."""
    if not shutil.which("ip"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "iproute2"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    for tool, package in (("ip", "iproute2"), ("setpriv", "util-linux")):
        if not shutil.which(tool):
            sys.exit(f"check_wakeonlan.py: {tool} not found (Debian package {package})")


def setup():
    for ns in (SENDER_NS, RECEIVER_NS):
        p = sh("ip", "netns", "add", ns, check=False)
        if p.returncode != 0:
            sys.exit(f"check_wakeonlan.py: cannot create a network namespace ({p.stderr.strip()}); "
                     "a container needs CAP_SYS_ADMIN and CAP_NET_ADMIN (docker run --privileged)")
        # Less IPv6 chatter (router solicitations, MLD) on the link; the checks filter anyway.
        for knob in ("all", "default"):
            sh("ip", "netns", "exec", ns, "sh", "-c", f"echo 1 > /proc/sys/net/ipv6/conf/{knob}/disable_ipv6", check=False)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", SENDER_IF, "netns", SENDER_NS, "type", "veth", "peer", "name", RECEIVER_IF, "netns", RECEIVER_NS)
    # The sender's address without `brd +`: glibc then reports the address itself as the
    # broadcast one, which the agent must not use.
    sh("ip", "-n", SENDER_NS, "addr", "add", f"{SENDER_IP}/24", "dev", SENDER_IF)
    sh("ip", "-n", RECEIVER_NS, "addr", "add", f"{RECEIVER_IP}/24", "brd", "+", "dev", RECEIVER_IF)
    sh("ip", "-n", SENDER_NS, "link", "set", SENDER_IF, "up")
    sh("ip", "-n", RECEIVER_NS, "link", "set", RECEIVER_IF, "up")
    sh("ip", "-n", SENDER_NS, "route", "add", ROUTED_NET, "via", RECEIVER_IP)


def teardown():
    for ns in (SENDER_NS, RECEIVER_NS):
        sh("ip", "netns", "del", ns, check=False)


def link_mac(ns, iface):
    return json.loads(sh("ip", "-n", ns, "-j", "link", "show", "dev", iface).stdout)[0]["address"]


class Capture:
    """What the receiver namespace gets while it runs."""

    def __init__(self):
        self.p = subprocess.Popen(["ip", "netns", "exec", RECEIVER_NS, sys.executable, os.path.abspath(__file__), "--capture", RECEIVER_IF],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the capture helper did not start: {line!r}")

    def finish(self):
        out, _ = self.p.communicate("stop\n", timeout=30)
        got = json.loads(out)
        return [parse_frame(bytes.fromhex(h)) for h in got["frames"]], [(d["port"], describe(bytes.fromhex(d["data"]))) for d in got["datagrams"]]


def parse_frame(f):
    """Ethernet, and for IPv4/UDP the addresses, port and payload."""
    p = {"dst": f[0:6], "src": f[6:12], "type": int.from_bytes(f[12:14], "big"), "payload": f[14:], "len": len(f)}
    if p["type"] == 0x0800 and len(f) >= 34 and f[23] == 17:
        ihl = (f[14] & 0x0F) * 4
        udp = f[14 + ihl:]
        length = int.from_bytes(udp[4:6], "big")
        p.update(ip_dst=socket.inet_ntoa(f[30:34]), port=int.from_bytes(udp[2:4], "big"), payload=udp[8:length])
    return p


def wol_frames(frames):
    return [f for f in frames if f["type"] == 0x0842]


def wol_udp(frames):
    return [f for f in frames if f.get("port") in (7, 9)]


def run_agent(binary, *args, caps=True, timeout=180):
    cmd = ["ip", "netns", "exec", SENDER_NS, *([] if caps else NO_NET_RAW), binary, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def captured(binary, *args, caps=True):
    """Runs uagent in the sender namespace; (exit code, stderr, frames, datagrams)."""
    cap = Capture()
    try:
        rc, err = run_agent(binary, *args, caps=caps)
    finally:
        frames, datagrams = cap.finish()
    return rc, err, frames, datagrams


def show(err):
    for line in err.strip().splitlines():
        print(f"       | {line}")


def check_udp(binary):
    mac = "00:11:22:aa:bb:cc"
    print("UDP to the broadcast address of the subnet holding --ip, port 9")
    rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, "--ip", RECEIVER_IP, "--methods", "udp")
    show(err)
    check("exit code", 0, rc)
    udp = wol_udp(frames)
    check("UDP magic packets on the wire", 1, len(udp))
    if udp:
        f = udp[0]
        check("destination MAC", "ff:ff:ff:ff:ff:ff", f["dst"].hex(":"))
        check("destination IP", SUBNET_BROADCAST, f["ip_dst"])
        check("destination port", 9, f["port"])
        check("payload length", 102, len(f["payload"]))
        check("payload is 6 x ff then the MAC 16 times", want(mac), describe(f["payload"]))
    check("datagrams received by a UDP socket on port 9", [(9, want(mac))], datagrams)
    check("no Ethernet WOL frame", 0, len(wol_frames(frames)))
    check("[wakeonlan][info] line on stderr", True, f"[wakeonlan][info] magic packet for {mac} sent" in err)

    print("--port 7, and --port 9,7")
    rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, "--ip", RECEIVER_IP, "--methods", "udp", "--port", "7")
    check("exit code", 0, rc)
    check("ports on the wire", [7], [f["port"] for f in wol_udp(frames)])
    check("datagram on port 7", [(7, want(mac))], datagrams)
    rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, "--methods", "udp", "--port", "9,7")
    check("exit code", 0, rc)
    check("ports on the wire", [7, 9], sorted(f["port"] for f in wol_udp(frames)))

    print("several MACs in the three accepted forms, no --ip: every LAN's broadcast")
    macs = ["00-11-22-AA-BB-01", "0011223344FF", "02:00:00:00:00:03"]
    rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", ",".join(macs), "--methods", "udp")
    show(err)
    check("exit code", 0, rc)
    udp = wol_udp(frames)
    check("destinations", [SUBNET_BROADCAST] * 3, [f["ip_dst"] for f in udp])
    check("payloads, in order", [want(m) for m in macs], [describe(f["payload"]) for f in udp])

    print("--ip on no local subnet: sent to that address (routed through the receiver)")
    rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, "--ip", ROUTED_IP, "--methods", "udp")
    show(err)
    check("exit code", 0, rc)
    udp = wol_udp(frames)
    check("UDP magic packets on the wire", 1, len(udp))
    if udp:
        check("destination MAC is the receiver's (unicast to the gateway)", link_mac(RECEIVER_NS, RECEIVER_IF), udp[0]["dst"].hex(":"))
        check("destination IP", ROUTED_IP, udp[0]["ip_dst"])
        check("payload", want(mac), describe(udp[0]["payload"]))


def check_ethernet(binary):
    mac = "00:11:22:aa:bb:dd"
    sender_mac = link_mac(SENDER_NS, SENDER_IF)
    for label, args in [("--methods ethernet", ["--methods", "ethernet", "--ip", RECEIVER_IP]),
                        ("default methods as root", []),
                        ("--interface", ["--methods", "ethernet", "--interface", SENDER_IF])]:
        print(f"raw Ethernet frame: {label}")
        rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, *args)
        show(err)
        check("exit code", 0, rc)
        eth = wol_frames(frames)
        check("Ethernet WOL frames", 1, len(eth))
        if eth:
            f = eth[0]
            check("destination MAC", "ff:ff:ff:ff:ff:ff", f["dst"].hex(":"))
            check("source MAC is the sender interface's", sender_mac, f["src"].hex(":"))
            check("ethertype", 0x0842, f["type"])
            check("frame length (14 + 102)", 116, f["len"])
            check("payload is 6 x ff then the MAC 16 times", want(mac), describe(f["payload"]))
        check("no UDP magic packet", 0, len(wol_udp(frames)) + len(datagrams))

    print("--interface that does not exist")
    rc, err, frames, _ = captured(binary, "wakeonlan", "--mac", mac, "--interface", "nosuch0")
    check("exit code (usage)", 1, rc)
    check("message", True, 'no network interface named "nosuch0"' in err)
    check("nothing sent", 0, len(wol_frames(frames)) + len(wol_udp(frames)))


def check_without_net_raw(binary):
    mac = "00:11:22:aa:bb:ee"
    status = sh("ip", "netns", "exec", SENDER_NS, *NO_NET_RAW, "grep", "CapEff", "/proc/self/status").stdout
    cap_eff = int(status.split()[1], 16)
    check("setpriv really drops CAP_NET_RAW (bit 13)", 0, cap_eff >> 13 & 1)
    for label, args, note in [("default methods", [], None),
                              ("--methods ethernet", ["--methods", "ethernet"], "not asked for by --methods")]:
        print(f"without CAP_NET_RAW, {label}: falls back to UDP")
        rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", mac, "--ip", RECEIVER_IP, *args, caps=False)
        show(err)
        check("exit code", 0, rc)
        check("no Ethernet WOL frame", 0, len(wol_frames(frames)))
        check("datagram received on port 9", [(9, want(mac))], datagrams)
        check("the reason is logged at info level", True,
              re.search(r"^\[wakeonlan\]\[info\] .*CAP_NET_RAW", err, re.M) is not None)
        check("a warning or error line for it", False, "[wakeonlan][warning]" in err or "[wakeonlan][error]" in err)
        if note:
            check("says UDP was not asked for", True, note in err)


def check_bad_macs(binary):
    for macs, bad in [("00:11:22:33:44", "00:11:22:33:44"), ("00:11:22:33:44:55,zz:11:22:33:44:55", "zz:11:22:33:44:55"),
                      ("00:11-22:33:44:55", "00:11-22:33:44:55")]:
        print(f"malformed MAC --mac {macs}")
        rc, err, frames, datagrams = captured(binary, "wakeonlan", "--mac", macs)
        check("exit code (usage)", 1, rc)
        check("message", True, BAD_MAC_MESSAGE.format(bad) in err)
        check("nothing sent, not even for the good MAC", 0, len(wol_frames(frames)) + len(wol_udp(frames)) + len(datagrams))


class StandIn:
    """The stand-in OCS server, on 127.0.0.1 in the sender namespace."""

    def __init__(self, work, specs, response="STOP"):
        self.log = os.path.join(work, f"queries-{len(os.listdir(work))}")
        self.p = subprocess.Popen(["ip", "netns", "exec", SENDER_NS, sys.executable, os.path.abspath(__file__), "--serve", "--response", response, "--log", self.log,
                                   *sum((["--wakeonlan", s] for s in specs), [])], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError("the stand-in server did not start")
        self.url = f"http://127.0.0.1:{line[1]}/ocsinventory"

    def queries(self):
        return open(self.log).read().split() if os.path.exists(self.log) else []

    def stop(self):
        self.p.kill()
        self.p.wait()


def check_end_to_end(binary, work):
    mac1, mac2 = "00:11:22:aa:bb:01", "00:11:22:aa:bb:02"
    specs = [f"{mac1},{RECEIVER_IP}", mac2, "not-a-mac,10.203.7.9"]
    for label, response, extra, caps in [
        ("--no-task inventory", "STOP", ["--no-task", "inventory"], True),
        ("with the inventory (RESPONSE SEND)", "SEND", [], True),
        ("without CAP_NET_RAW", "STOP", ["--no-task", "inventory"], False),
    ]:
        print(f"end to end: PROLOG reply with OPTION WAKEONLAN, {label}")
        server = StandIn(work, specs, response)
        vardir = tempfile.mkdtemp(dir=work)
        try:
            rc, err, frames, datagrams = captured(binary, "--server", server.url, "--vardir", vardir, *extra, caps=caps)
        finally:
            server.stop()
        show(err)
        check("exit code", 0, rc)
        want_queries = ["PROLOG", "INVENTORY"] if response == "SEND" else ["PROLOG"]
        check("queries the server got", want_queries, server.queries())
        if caps:
            got = sorted(describe(f["payload"]) for f in wol_frames(frames))
            check("Ethernet WOL frames, one per valid MAC", [want(mac1), want(mac2)], got)
        else:
            got = sorted(d for _, d in datagrams)
            check("UDP datagrams received, one per valid MAC", [want(mac1), want(mac2)], got)
        for m in (mac1, mac2):
            check(f"[wakeonlan][info] line for {m}", True, f"[wakeonlan][info] magic packet for {m} sent" in err)
        check("the bad MAC from the server is reported", True, 'invalid MAC address "not-a-mac"' in err)

    print("end to end: --no-task wakeonlan")
    server = StandIn(work, specs)
    vardir = tempfile.mkdtemp(dir=work)
    try:
        rc, err, frames, datagrams = captured(binary, "--server", server.url, "--vardir", vardir, "--no-task", "inventory,wakeonlan")
    finally:
        server.stop()
    show(err)
    check("exit code", 0, rc)
    check("nothing sent", 0, len(wol_frames(frames)) + len(wol_udp(frames)) + len(datagrams))
    check("no [wakeonlan] line", False, "[wakeonlan]" in err)
    check("says the task is not enabled", True, "not enabled here" in err)


def check_build_without(binary):
    """A build without the feature: no task, and a clear word for its subcommand."""
    print(f"a build without the wakeonlan feature ({binary})")
    for args, message in [(["wakeonlan", "--mac", "00:11:22:33:44:55"], "built without the wakeonlan feature"),
                          (["task", "wakeonlan", "--mac", "00:11:22:33:44:55"], "built without the wakeonlan feature")]:
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
        check(f"{' '.join(args[:2])}: exit code (usage)", 1, p.returncode)
        check(f"{' '.join(args[:2])}: message", True, message in p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", help="uagent built with the wakeonlan feature")
    ap.add_argument("--without", metavar="BINARY", help="also check a uagent built without it")
    ap.add_argument("--capture", metavar="IFACE")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--wakeonlan", action="append", default=[], metavar="MAC[,IP]")
    ap.add_argument("--response", default="STOP")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.capture:
        return capture_mode(args.capture)
    if args.serve:
        return serve_mode(args.wakeonlan, args.response, args.log)
    if not args.binary:
        ap.error("--binary is required")
    binary = os.path.abspath(args.binary)
    if os.geteuid() != 0:
        sys.exit("check_wakeonlan.py: needs root (network namespaces, raw sockets)")
    ensure_tools()
    if subprocess.run([binary, "wakeonlan", "--help"], capture_output=True).returncode != 0:
        sys.exit(f"check_wakeonlan.py: {binary} has no wakeonlan subcommand (build with --features full)")

    # Clean up on Ctrl-C and on kill too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix="uagent-wol-")
    try:
        setup()
        check_udp(binary)
        check_ethernet(binary)
        check_without_net_raw(binary)
        check_bad_macs(binary)
        check_end_to_end(binary, work)
        if args.without:
            check_build_without(os.path.abspath(args.without))
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)
    leftover = [n for n in sh("ip", "netns", "list").stdout.split() if n in (SENDER_NS, RECEIVER_NS)]
    check("namespaces removed", [], leftover)
    print()
    sys.exit(checks.done("wakeonlan"))


if __name__ == "__main__":
    main()
