"""The network discovery lab: network namespaces on a bridge that live only as long as the
test. Names carry the prefix `nd-` and this process's id; everything is removed by `down()`,
also after a failure. Nothing is routed out of the namespaces.

    10.77.0.1   scanner   where uagent (and the Perl agent) run
    10.77.0.2   snmpsim   a recording from PyPI's snmpsim-data (Cisco Catalyst 3750), community c3750
    10.77.0.3   snmpd     Debian's net-snmp agent, community lab
    10.77.0.4   icmp      answers ICMP echo and ARP only
    10.77.0.5   nbstat    this file's NetBIOS node status and reverse DNS responder
    10.77.0.6   silent    answers nothing, not even ARP
    .7 – .254   nobody

`python3 lab.py --responder` is the NBSTAT/DNS responder (it runs inside the nbstat namespace).
"""
import bz2
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import SHARED, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = "/var/lib/uagent-tests/snmpsim-venv"
DATA = os.path.join(VENV, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}",
                    "site-packages", "snmpsim_data", "data")
RECORDING = "network/switch/cisco-c3750.snmprec.bz2"
SYSOBJECT_IDS = os.path.join(SHARED, "data", "sysobject.ids", "sysobject.ids")
NET = "10.77.0"
NB_NAME, NB_GROUP, NB_USER = "NDWS05", "NDLAB", "NDUSER"
# What the recording is trimmed to: what a discovery asks (system group, interfaces, addresses,
# bridge address, entities); the rest would only slow snmpsim's start.
KEEP = ("1.3.6.1.2.1.1.", "1.3.6.1.2.1.2.", "1.3.6.1.2.1.4.20.", "1.3.6.1.2.1.17.1.",
        "1.3.6.1.2.1.47.1.1.1.1.", "1.3.6.1.2.1.31.1.1.1.1.")
HOSTS = {"scanner": 1, "snmpsim": 2, "snmpd": 3, "icmp": 4, "nbstat": 5, "silent": 6}


def run(*argv, check=True, **kw):
    p = subprocess.run(list(argv), check=False, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr[-1000:]}")
    return p


def snmprec_to_walk(lines):
    """snmprec records as `snmpwalk -On` text (the converter of network-tasks.md, Appendix 1)."""
    out = []
    for line in lines:
        if line.count("|") < 2:
            continue
        oid, tag, val = line.rstrip("\n").split("|", 2)
        if ":" in tag or oid.startswith("#"):
            continue
        o = "." + oid
        hexed = tag.endswith("x")
        base = tag[:-1] if hexed else tag
        try:
            raw = bytes.fromhex(val) if hexed else val.encode("latin-1")
        except ValueError:
            hexed, raw = False, val.encode("latin-1")
        if base == "4":
            if not raw:
                out.append(f'{o} = ""')
            elif all(32 <= c < 127 or c in (9, 10, 13) for c in raw):
                t = raw.decode("ascii").replace("\\", "\\\\").replace('"', '\\"')
                out.append(f'{o} = STRING: "{t}"')
            else:
                out.append(f"{o} = Hex-STRING: {' '.join('%02X' % c for c in raw)} ")
        elif base == "64":
            out.append(f"{o} = IpAddress: {'.'.join(str(c) for c in raw) if hexed else val}")
        elif base in ("2", "65", "66", "70"):
            kind = {"2": "INTEGER", "65": "Counter32", "66": "Gauge32", "70": "Counter64"}[base]
            out.append(f"{o} = {kind}: {int(raw.hex(), 16) if hexed else val}")
        elif base == "6":
            out.append(f"{o} = OID: .{raw.decode() if hexed else val}")
        elif base == "67":
            t = int(val)
            d, r = divmod(t, 8640000)
            h, r = divmod(r, 360000)
            m, r = divmod(r, 6000)
            s, cs = divmod(r, 100)
            out.append(f"{o} = Timeticks: ({t}) {d} days, {h}:{m:02d}:{s:02d}.{cs:02d}")
    return out


def recording_lines():
    path = os.path.join(DATA, RECORDING)
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: tests/run.sh installs snmpsim-data in {VENV}")
    with bz2.open(path, "rt", encoding="latin-1") as f:
        return [line for line in f if line.startswith(KEEP)]


def record(lines, oid):
    """The value of one snmprec record, decoded."""
    for line in lines:
        o, tag, val = line.rstrip("\n").split("|", 2)
        if o == oid:
            return bytes.fromhex(val) if tag.endswith("x") else val.encode("latin-1")
    return None


def sysobject_entry(oid):
    """sysobject.ids' longest entry for an OID under .1.3.6.1.4.1: (maker, type, model)."""
    rel = oid.split("1.3.6.1.4.1.", 1)[1].split(".")
    best = None
    with open(SYSOBJECT_IDS, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line[:1].isdigit():
                continue
            cols = line.rstrip("\n").split("\t")
            key = cols[0].split(".")
            if rel[: len(key)] == key and (best is None or len(key) > len(best[0])):
                best = (key, cols[1:])
    cols = best[1] + [None, None, None]
    return cols[0], cols[1], cols[2]


class Lab:
    def __init__(self, with_services=True, services=("snmpsim", "snmpd", "nbstat")):
        self.pid = os.getpid()
        self.short = self.pid % 100000
        self.ns = {name: f"nd-{name}-{self.pid}" for name in HOSTS}
        self.bridge_ns = f"nd-br-{self.pid}"
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="nd-lab-")
        os.chmod(self.tmp, 0o755)
        self.with_services = with_services
        self.services = services
        self.macs = {}
        self.netns_etc = []

    def ip(self, name):
        return f"{NET}.{HOSTS[name]}"

    def exec(self, name):
        return ["ip", "netns", "exec", self.ns[name]]

    def up(self):
        try:
            self._up()
        except BaseException:
            self.down()
            raise
        return self

    def _up(self):
        br = self.bridge_ns
        run("ip", "netns", "add", br)
        run("ip", "-n", br, "link", "add", "ndbr", "type", "bridge")
        run("ip", "-n", br, "link", "set", "ndbr", "up")
        for name, n in HOSTS.items():
            ns = self.ns[name]
            a, b = f"nd{self.short}a{n}", f"nd{self.short}b{n}"
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "link", "add", a, "type", "veth", "peer", "name", b)
            run("ip", "link", "set", a, "netns", ns)
            run("ip", "link", "set", b, "netns", br)
            run("ip", "-n", ns, "link", "set", a, "name", "eth0")
            run("ip", "-n", ns, "addr", "add", f"{NET}.{n}/24", "dev", "eth0")
            run("ip", "-n", br, "link", "set", b, "master", "ndbr")
            run("ip", "-n", br, "link", "set", b, "up")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            self.macs[name] = run(*self.exec(name), "cat", "/sys/class/net/eth0/address").stdout.strip()
        # The silent host: no ICMP echo, no ARP answer.
        for key in ("net.ipv4.icmp_echo_ignore_all=1", "net.ipv4.conf.all.arp_ignore=8",
                    "net.ipv4.conf.eth0.arp_ignore=8"):
            run(*self.exec("silent"), "sysctl", "-q", "-w", key)
        if self.with_services:
            self._services()

    def spawn(self, name, argv, **kw):
        p = subprocess.Popen(self.exec(name) + argv, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(self.tmp, f"{name}.log"), "a"), **kw)
        self.procs.append(p)
        return p

    def _services(self):
        if "nbstat" in self.services:
            self.spawn("nbstat", [sys.executable, os.path.abspath(__file__), "--responder",
                                  self.ip("nbstat"), self.macs["nbstat"]])
        if "snmpsim" not in self.services:
            return
        # snmpsim with the trimmed recording; the community is the file's name.
        data = os.path.join(self.tmp, "snmpsim-data")
        cache = os.path.join(self.tmp, "snmpsim-cache")
        os.makedirs(data)
        os.makedirs(cache)
        os.chmod(cache, 0o777)
        self.recording = recording_lines()
        with open(os.path.join(data, "c3750.snmprec"), "w", encoding="latin-1") as f:
            f.writelines(self.recording)
        os.chmod(data, 0o755)
        self.spawn("snmpsim", [os.path.join(VENV, "bin", "snmpsim-command-responder"),
                               f"--data-dir={data}", f"--cache-dir={cache}",
                               f"--agent-udpv4-endpoint={self.ip('snmpsim')}:161",
                               # As root, in its own namespace: snmpsim binds its port after
                               # dropping privileges, and port 161 then fails without a word.
                               "--process-user=root", "--process-group=root"])
        # Debian's snmpd.
        conf = os.path.join(self.tmp, "snmpd.conf")
        with open(conf, "w") as f:
            f.write("rocommunity lab\nsysName nd-snmpd\nsysLocation nd lab rack 3\nsysContact lab@nd.example\n")
        persist = os.path.join(self.tmp, "snmpd-state")
        os.makedirs(persist)
        self.spawn("snmpd", ["snmpd", "-f", "-Lo", "-C", "-c", conf, f"udp:{self.ip('snmpd')}:161"],
                   env=dict(os.environ, SNMP_PERSISTENT_DIR=persist))
        for name, community in (("snmpsim", "c3750"), ("snmpd", "lab")):
            ok = wait_for(lambda: run(*self.exec("scanner"), "snmpget", "-v2c", "-c", community,
                                      "-t", "1", "-r", "0", "-On", self.ip(name),
                                      ".1.3.6.1.2.1.1.5.0", check=False).returncode == 0, 60, 0.5)
            if not ok:
                raise RuntimeError(f"{name} does not answer SNMP: {self.log(name)[-2000:]}")

    def log(self, name):
        try:
            with open(os.path.join(self.tmp, f"{name}.log")) as f:
                return f.read()
        except OSError:
            return ""

    def resolver_for(self, name, server_ip):
        """Makes `ip netns exec` give namespace `name` a resolv.conf naming `server_ip`."""
        d = f"/etc/netns/{self.ns[name]}"
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write(f"nameserver {server_ip}\n")
        self.netns_etc.append(d)

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for ns in list(self.ns.values()) + [self.bridge_ns]:
            run("ip", "netns", "del", ns, check=False)
        for d in self.netns_etc:
            shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- the NetBIOS node status and reverse DNS responder --------------------------------------

def nbstat_answer(query, mac):
    txid = query[:2]
    names = [(NB_NAME, 0x00, 0x04), (NB_GROUP, 0x00, 0x84), (NB_USER, 0x03, 0x04)]
    body = bytes([len(names)])
    for n, suffix, flags in names:
        body += n.ljust(15).encode() + bytes([suffix, flags, 0])
    body += bytes.fromhex(mac.replace(":", "")) + bytes(40)
    return (txid + b"\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00" + query[12:46]
            + b"\x00\x21\x00\x01\x00\x00\x00\x00" + struct.pack(">H", len(body)) + body)


def dns_answer(query):
    """A PTR answer for 10.77.0.N: hostN.nd.lab; NXDOMAIN for anything else."""
    labels, i = [], 12
    while i < len(query) and query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode("ascii", "replace"))
        i += 1 + query[i]
    question = query[12:i + 5]
    head = query[:2] + b"\x81\x80" + query[4:6]
    if len(labels) == 6 and labels[1:4] == ["0", "77", "10"] and labels[4:] == ["in-addr", "arpa"]:
        name = b"".join(bytes([len(p)]) + p.encode() for p in (f"host{labels[0]}", "nd", "lab")) + b"\x00"
        return (head + b"\x00\x01\x00\x00\x00\x00" + question
                + b"\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\x3c" + struct.pack(">H", len(name)) + name)
    return query[:2] + b"\x81\x83" + query[4:6] + b"\x00\x00\x00\x00\x00\x00" + question


def responder(ip, mac):
    nb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nb.bind((ip, 137))
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind((ip, 53))
    import select
    while True:
        ready, _, _ = select.select([nb, dns], [], [], 600)
        if not ready:
            return
        for s in ready:
            data, peer = s.recvfrom(2048)
            if s is nb and len(data) >= 50 and data[12:14] == b"\x20C":
                s.sendto(nbstat_answer(data, mac), peer)
            elif s is dns and len(data) > 12:
                s.sendto(dns_answer(data), peer)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--responder":
    responder(sys.argv[2], sys.argv[3])
