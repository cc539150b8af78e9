#!/usr/bin/env python3
"""OCS IpDiscover against the real OCS server, from inside the lab of tests/netdiscovery/lab.py.

The agent runs in the lab's scanner namespace (10.77.0.1/24), whose name server is the lab's
own responder (reverse DNS hostN.nd.lab), and reaches the OCS server on the host's loopback
through a forwarder of this file (TCP in the namespace -> a unix socket -> 127.0.0.1:80), so
that nothing leaves the namespaces and loopback. First run: an inventory, so that the server
knows the machine. Then the server is told to elect it for 10.77.0.0 (§D.1's forced election,
IVALUE 2, with a 5 ms IPDISCOVER_LATENCY). Second run: the PROLOG carries IPDISCOVER, the
inventory carries IPDISCOVER/H and the NETWORKS entry of that subnet, and the server's
`netmap` table must then hold exactly the lab's live hosts with their MACs, mask and names.
Also: without CAP_NET_RAW the neighbour table is used with a warning; a subnet wider than a
/16 is refused.

Run under the OCS lock:
    flock /tmp/uagent-ocs.lock python3 tests/netdiscovery/check_ipdiscover_ocs.py --binary target/full/debug/uagent
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lab import Lab, NET, run  # noqa: E402
from lib import Checks, free_port, ocs_server_up, sql, wait_for  # noqa: E402

checks = Checks()
SUBNET = f"{NET}.0"
NO_NET_RAW = ["setpriv", "--inh-caps", "-net_raw", "--bounding-set", "-net_raw"]


def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def forward(listener, connect):
    while True:
        c, _ = listener.accept()
        try:
            up = connect()
        except OSError:
            c.close()
            continue
        threading.Thread(target=pump, args=(c, up), daemon=True).start()
        threading.Thread(target=pump, args=(up, c), daemon=True).start()


def forward_in(port, path):
    """In the namespace: 127.0.0.1:port -> the unix socket."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)

    def connect():
        u = socket.socket(socket.AF_UNIX)
        u.connect(path)
        return u
    forward(ls, connect)


def forward_out(path):
    """On the host: the unix socket -> the OCS server on 127.0.0.1:80 (a thread)."""
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    ls.listen(16)
    threading.Thread(target=forward, args=(ls, lambda: socket.create_connection(("127.0.0.1", 80))), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    ocs_server_up()
    work = tempfile.mkdtemp(prefix="nd-ocs-")
    os.chmod(work, 0o755)
    sock = os.path.join(work, "ocs.sock")
    forward_out(sock)
    lab = Lab(services=("nbstat",)).up()
    try:
        lab.resolver_for("scanner", lab.ip("nbstat"))
        port = free_port()
        lab.spawn("scanner", [sys.executable, os.path.abspath(__file__), "--forward-in", str(port), sock])
        wait_for(lambda: run(*lab.exec("scanner"), "bash", "-c", f"echo > /dev/tcp/127.0.0.1/{port}", check=False).returncode == 0, 20)
        vardir = os.path.join(work, "vardir")
        agent = [*lab.exec("scanner"), binary, "--server", f"http://127.0.0.1:{port}/ocsinventory",
                 "--vardir", vardir, "--tasks", "inventory", "--no-category", "software,process"]
        p = run(*agent, "--force", check=False)
        checks.equal("first run: exit code", 0, p.returncode)
        deviceid = open(os.path.join(vardir, "deviceid")).read().strip()
        hw = sql(f"SELECT ID FROM hardware WHERE DEVICEID='{deviceid}'")
        if not checks.true("first run: the server knows the machine", hw, p.stderr[-1500:]):
            return checks.done("ipdiscover")
        hid = hw[0][0]
        nets = sql(f"SELECT IPSUBNET, IPMASK, STATUS FROM networks WHERE HARDWARE_ID={hid} AND IPSUBNET='{SUBNET}'")
        checks.equal("first run: NETWORKS carries the subnet, its mask and state", [[SUBNET, "255.255.255.0", "Up"]], nets)
        sql(f"DELETE FROM netmap WHERE NETID='{SUBNET}'")
        sql(f"DELETE FROM devices WHERE HARDWARE_ID={hid} AND NAME IN ('IPDISCOVER','IPDISCOVER_LATENCY')")
        sql(f"INSERT INTO devices(HARDWARE_ID,NAME,IVALUE,TVALUE,COMMENTS) VALUES({hid},'IPDISCOVER',2,'{SUBNET}','')")
        sql(f"INSERT INTO devices(HARDWARE_ID,NAME,IVALUE,TVALUE,COMMENTS) VALUES({hid},'IPDISCOVER_LATENCY',5,NULL,'')")

        p = run(*agent, "--debug", check=False)
        checks.equal("elected run: exit code", 0, p.returncode)
        checks.true("elected run: the agent swept the subnet the server named, on the lab's interface",
                    f"ARP sweep of {SUBNET}/24 on eth0, 5 ms" in p.stderr, p.stderr[-2000:])
        rows = sql(f"SELECT IP, MAC, MASK, NAME FROM netmap WHERE NETID='{SUBNET}' ORDER BY IP")
        want = [[lab.ip(h), lab.macs[h], "255.255.255.0", f"host{lab.ip(h).rsplit('.', 1)[1]}.nd.lab"]
                for h in ("snmpsim", "snmpd", "icmp", "nbstat")]
        checks.equal("netmap: exactly the live hosts, with MAC, mask and reverse-DNS name", sorted(want), sorted(rows))
        checks.equal("elected: the agent is still elected after its report",
                     [["2", SUBNET]], sql(f"SELECT IVALUE, TVALUE FROM devices WHERE HARDWARE_ID={hid} AND NAME='IPDISCOVER'"))

        # Without CAP_NET_RAW: the neighbour table, with a warning.
        inv = [*lab.exec("scanner"), *NO_NET_RAW, binary, "inventory", "--vardir", vardir,
               "--no-category", "software,process", "--ipdiscover", SUBNET, "--ipdisc-lat", "5"]
        p = run(*inv, check=False)
        checks.true("no CAP_NET_RAW: a warning names the fallback",
                    "CAP_NET_RAW needed" in p.stderr and "neighbour table" in p.stderr, p.stderr[-1500:])
        hs = re.findall(r"<H>\s*<I>(.*?)</I>\s*<M>(.*?)</M>", p.stdout)
        checks.true("no CAP_NET_RAW: the hosts the scanner already knew, from the neighbour table",
                    hs and all(lab.macs[h] == m for h in lab.macs for ip, m in hs if ip == lab.ip(h)), hs)
        # Wider than a /16: refused.
        run(*lab.exec("scanner"), "ip", "addr", "add", "10.78.0.1/15", "dev", "eth0")
        p = run(*lab.exec("scanner"), binary, "inventory", "--vardir", vardir, "--no-category", "software,process",
                "--ipdiscover", "10.78.0.0", check=False)
        checks.true("a /15: refused", "wider than a /16" in p.stderr and "<IPDISCOVER>" not in p.stdout, p.stderr[-800:])
        sql(f"DELETE FROM netmap WHERE NETID='{SUBNET}'")
    finally:
        lab.down()
        subprocess.run(["rm", "-rf", work])
    return checks.done("ipdiscover")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--forward-in":
        forward_in(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
