#!/usr/bin/env python3
"""The SNMP inventory against real agents and the Perl agent:

1. 45 snmpsim-data recordings of every category through `uagent netinventory --file` and
   Debian's `fusioninventory-netinventory --file`: INFO fields, port count and per-port
   IFNUMBER/IFNAME/IFTYPE/IFSPEED/MAC agree, but for the differences listed (with the reason
   ours is right) in differences.tsv.
2. The same recordings live from snmpsim on 127.0.0.1 (a free port, community = recording):
   the output equals the --file one, modulo uptimes.
3. A printer walk of our own making (Printer-MIB: cartridges, page counters).
4. SNMPv3 against Debian's snmpd (createUser SHA-256/AES, SHA-512/AES-256 Cisco, MD5/DES) on
   loopback: inventoried; net-snmp's `snmpget -v3` reads the same user; a wrong privacy
   password is a DEVICE/ERROR within 3 s naming it; a silent address is a DEVICE/ERROR.

    python3 tests/netinventory/check_netinventory.py --binary target/full/debug/uagent
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)
from lib import Checks, free_port, wait_for, stop, SHARED  # noqa: E402
from recordings import VENV, write_walks  # noqa: E402
from compare import devices, facts, differences, normalise  # noqa: E402

SYSOBJECT_IDS = os.path.join(SHARED, "data", "sysobject.ids", "sysobject.ids")
DEVICEID = "ni-test-2026-01-01-00-00-00"

PRINTER_WALK = """\
.1.3.6.1.2.1.1.1.0 = STRING: "ACME LaserWriter 9000 color"
.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.99999.1
.1.3.6.1.2.1.1.5.0 = STRING: "printer-3rd-floor"
.1.3.6.1.2.1.2.2.1.1.1 = INTEGER: 1
.1.3.6.1.2.1.2.2.1.2.1 = STRING: "eth0"
.1.3.6.1.2.1.2.2.1.3.1 = INTEGER: 6
.1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 100000000
.1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: 00 80 77 11 22 33
.1.3.6.1.2.1.25.3.2.1.3.1 = STRING: "ACME LaserWriter 9000"
.1.3.6.1.2.1.43.5.1.1.17.1 = STRING: "ACM123456"
.1.3.6.1.2.1.43.10.2.1.4.1.1 = Counter32: 123456
.1.3.6.1.2.1.43.11.1.1.3.1.1 = INTEGER: 1
.1.3.6.1.2.1.43.11.1.1.3.1.2 = INTEGER: 2
.1.3.6.1.2.1.43.11.1.1.3.1.3 = INTEGER: 0
.1.3.6.1.2.1.43.11.1.1.3.1.4 = INTEGER: 0
.1.3.6.1.2.1.43.11.1.1.5.1.1 = INTEGER: 3
.1.3.6.1.2.1.43.11.1.1.5.1.2 = INTEGER: 3
.1.3.6.1.2.1.43.11.1.1.5.1.3 = INTEGER: 4
.1.3.6.1.2.1.43.11.1.1.5.1.4 = INTEGER: 15
.1.3.6.1.2.1.43.11.1.1.6.1.1 = STRING: "Black Toner"
.1.3.6.1.2.1.43.11.1.1.6.1.2 = STRING: "Cyan Toner"
.1.3.6.1.2.1.43.11.1.1.6.1.3 = STRING: "Waste Toner Box"
.1.3.6.1.2.1.43.11.1.1.6.1.4 = STRING: "Fuser Unit"
.1.3.6.1.2.1.43.11.1.1.7.1.1 = INTEGER: 19
.1.3.6.1.2.1.43.11.1.1.7.1.2 = INTEGER: 19
.1.3.6.1.2.1.43.11.1.1.7.1.3 = INTEGER: 19
.1.3.6.1.2.1.43.11.1.1.7.1.4 = INTEGER: 7
.1.3.6.1.2.1.43.11.1.1.8.1.1 = INTEGER: 8000
.1.3.6.1.2.1.43.11.1.1.8.1.2 = INTEGER: 6000
.1.3.6.1.2.1.43.11.1.1.8.1.3 = INTEGER: -2
.1.3.6.1.2.1.43.11.1.1.8.1.4 = INTEGER: -2
.1.3.6.1.2.1.43.11.1.1.9.1.1 = INTEGER: 2000
.1.3.6.1.2.1.43.11.1.1.9.1.2 = INTEGER: 3000
.1.3.6.1.2.1.43.11.1.1.9.1.3 = INTEGER: -3
.1.3.6.1.2.1.43.11.1.1.9.1.4 = INTEGER: 5000
.1.3.6.1.2.1.43.12.1.1.4.1.1 = STRING: "black"
.1.3.6.1.2.1.43.12.1.1.4.1.2 = STRING: "cyan"
"""


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          encoding="utf-8", errors="replace", **kw)


def ours(binary, *args, timeout=300):
    return run([binary, "netinventory", "--sysobject-ids", SYSOBJECT_IDS, "--deviceid", DEVICEID,
                "--pid", "1"] + list(args), timeout=timeout)


def listed_differences():
    out = set()
    with open(os.path.join(HERE, "differences.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, field, reason = line.rstrip("\n").split("\t", 2)
            assert reason.strip(), line
            out.add((name, field))
    return out


def file_mode(checks, binary, walks, recs):
    listed = listed_differences()
    seen = set()
    unexplained = []
    for name, cat in recs:
        w = os.path.join(walks, name + ".walk")
        o = ours(binary, "--file", w)
        t = run(["fusioninventory-netinventory", "--host", "127.0.0.1", "--file", w], timeout=180)
        if o.returncode != 0 or t.returncode != 0:
            unexplained.append(f"{name}: exit {o.returncode} / {t.returncode}: {o.stderr[-300:]}")
            continue
        od, td = devices(o.stdout), devices(t.stdout)
        if len(od) != 1 or len(td) != 1:
            unexplained.append(f"{name}: {len(od)} DEVICE vs {len(td)}")
            continue
        with open(os.path.join(walks, name + ".file.xml"), "w", encoding="utf-8") as f:
            f.write(o.stdout)
        for field, a, b in differences(facts(od[0]), facts(td[0])):
            key = (name, field)
            if key in listed:
                seen.add(key)
            else:
                unexplained.append(f"{name} ({cat}) {field}: ours {a!r}, Fusion {b!r}")
    checks.true(f"{len(recs)} recordings: INFO, port counts and ports agree with fusioninventory-netinventory "
                f"but for the {len(listed)} listed differences", not unexplained, "\n    ".join(unexplained[:40]))
    stale = sorted(listed - seen)
    checks.true("every listed difference still occurs (differences.tsv is up to date)", not stale, stale)
    cats = {c.split("/")[-1] for _, c in recs}
    checks.true(f"the recordings cover every category ({', '.join(sorted(cats))})",
                {"switch", "router", "firewall", "wifi", "UPS", "linux"} <= cats, cats)


def live_mode(checks, binary, walks, recs, tmp):
    data = os.path.join(tmp, "data")
    cache = os.path.join(tmp, "cache")
    os.makedirs(data)
    os.makedirs(cache)
    os.chmod(cache, 0o777)
    for name, _ in recs:
        shutil.copy(os.path.join(walks, name + ".snmprec"), os.path.join(data, name + ".snmprec"))
    for d in (tmp, data):
        os.chmod(d, 0o755)
    port = free_port()
    log = open(os.path.join(tmp, "snmpsim.log"), "w")
    sim = subprocess.Popen([os.path.join(VENV, "bin", "snmpsim-command-responder"), f"--data-dir={data}",
                            f"--cache-dir={cache}", f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                            "--process-user=nobody", "--process-group=nogroup"],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        first = recs[0][0]
        up = wait_for(lambda: run(["snmpget", "-v2c", "-c", first, "-t", "1", "-r", "0", f"127.0.0.1:{port}",
                                   ".1.3.6.1.2.1.1.1.0"], timeout=10).returncode == 0, 120, 0.5)
        checks.true("snmpsim serves the recordings on 127.0.0.1", up)
        if not up:
            return
        unequal = []
        t0 = time.monotonic()
        for name, _ in recs:
            o = ours(binary, "--host", "127.0.0.1", "--port", str(port), "--community", name, "--timeout", "5")
            with open(os.path.join(walks, name + ".file.xml"), encoding="utf-8") as f:
                from_file = f.read()
            if o.returncode != 0 or normalise(o.stdout) != normalise(from_file):
                unequal.append(f"{name}: exit {o.returncode} {o.stderr[-200:]}")
        checks.true(f"live from snmpsim, the {len(recs)} outputs equal the --file ones modulo uptimes "
                    f"({time.monotonic() - t0:.1f} s)", not unequal, "\n    ".join(unequal[:10]))
    finally:
        stop(sim)


def printer(checks, binary, tmp):
    w = os.path.join(tmp, "printer.walk")
    with open(w, "w") as f:
        f.write(PRINTER_WALK)
    o = ours(binary, "--file", w)
    x = o.stdout
    checks.true("a printer: TYPE PRINTER from the Printer-MIB, its model from hrDeviceDescr",
                "<TYPE>PRINTER</TYPE>" in x and "<MODEL>ACME LaserWriter 9000</MODEL>" in x, x[:400])
    for want in ("<TONERBLACK>25</TONERBLACK>", "<TONERCYAN>50</TONERCYAN>", "<WASTETONER>OK</WASTETONER>",
                 "<FUSERKIT>5000impressions</FUSERKIT>", "<PAGECOUNTERS><TOTAL>123456</TOTAL></PAGECOUNTERS>",
                 "<SERIAL>ACM123456</SERIAL>"):
        checks.true(f"printer: {want}", want in x, x[-600:])


SNMPD_USERS = [
    ("sha256aes", "SHA-256", "auth-pass-1", "AES", "priv-pass-1", "sha256", "aes"),
    ("sha512aes256c", "SHA-512", "auth-pass-3", "AES256C", "priv-pass-3", "sha512", "aes256c"),
    ("md5des", "MD5", "auth-pass-2", "DES", "priv-pass-2", "md5", "des"),
    ("sha1aes192", "SHA", "auth-pass-4", "AES192", "priv-pass-4", "sha", "aes192"),
]


def v3(checks, binary, tmp):
    conf = os.path.join(tmp, "snmpd.conf")
    with open(conf, "w") as f:
        for u, a, ap, p, pp, _, _ in SNMPD_USERS:
            f.write(f'createUser {u} {a} "{ap}" {p} "{pp}"\nrouser {u} priv\n')
        f.write("sysName ni-snmpd\nsysLocation ni lab\n")
    port = free_port()
    state = os.path.join(tmp, "snmpd-state")
    os.makedirs(state)
    snmpd = subprocess.Popen(["snmpd", "-f", "-Lo", "-C", "-c", conf, f"udp:127.0.0.1:{port}"],
                             env=dict(os.environ, SNMP_PERSISTENT_DIR=state),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        u, a, ap, p, pp, _, _ = SNMPD_USERS[0]
        up = wait_for(lambda: run(["snmpget", "-v3", "-l", "authPriv", "-u", u, "-a", a, "-A", ap, "-x", p, "-X", pp,
                                   "-t", "1", "-r", "0", "-On", f"127.0.0.1:{port}", ".1.3.6.1.2.1.1.5.0"],
                                  timeout=10).stdout.find("ni-snmpd") >= 0, 30, 0.5)
        checks.true("snmpget -v3 (SHA-256/AES) reads Debian's snmpd", up)
        for u, a, ap, p, pp, ours_a, ours_p in SNMPD_USERS:
            cred = f"version:3,username:{u},authprotocol:{ours_a},authpassword:{ap},privprotocol:{ours_p},privpassword:{pp}"
            t0 = time.monotonic()
            o = ours(binary, "--host", "127.0.0.1", "--port", str(port), "--credentials", cred, "--timeout", "5")
            took = time.monotonic() - t0
            ok = "<NAME>ni-snmpd</NAME>" in o.stdout and "<PORTS>" in o.stdout and "<ERROR>" not in o.stdout
            checks.true(f"SNMPv3 {ours_a}/{ours_p}: the snmpd host inventoried with its ports ({took:.2f} s)", ok,
                        o.stdout[:300] + o.stderr[-300:])
        u, a, ap, p, pp, ours_a, ours_p = SNMPD_USERS[0]
        t0 = time.monotonic()
        o = ours(binary, "--host", "127.0.0.1", "--port", str(port), "--timeout", "10", "--credentials",
                 f"version:3,username:{u},authprotocol:{ours_a},authpassword:{ap},privprotocol:{ours_p},privpassword:not-the-password")
        took = time.monotonic() - t0
        checks.true(f"a wrong privacy password is a DEVICE/ERROR naming it within 3 s, timeout 10 s ({took:.2f} s)",
                    "<ERROR>" in o.stdout and "privacy password" in o.stdout and took < 3, o.stdout[-400:])
        o = ours(binary, "--host", "127.0.0.1", "--port", str(port), "--timeout", "5", "--credentials",
                 f"version:3,username:{u},authprotocol:{ours_a},authpassword:not-the-password,privprotocol:{ours_p},privpassword:{pp}")
        checks.true("a wrong authentication password is a DEVICE/ERROR naming it",
                    "<ERROR>" in o.stdout and "authentication password" in o.stdout, o.stdout[-400:])
    finally:
        stop(snmpd)
    silent = free_port()
    o = ours(binary, "--host", "127.0.0.1", "--port", str(silent), "--community", "public", "--timeout", "1", "--control")
    checks.true("a device that does not answer is a DEVICE/ERROR between START and END, exit 0",
                o.returncode == 0 and re.search(r"<START>1</START>.*<ERROR><ID>0</ID><MESSAGE>SNMP communication error: no response</MESSAGE>.*<END>1</END>", o.stdout, re.S) is not None,
                o.stdout[-500:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ni-test-")
    os.chmod(tmp, 0o755)
    try:
        walks = os.path.join(tmp, "walks")
        recs = write_walks(walks)
        checks.true(f"{len(recs)} recordings (at least 40)", len(recs) >= 40)
        file_mode(checks, binary, walks, recs)
        live_mode(checks, binary, walks, recs, os.path.join(tmp, "live"))
        printer(checks, binary, tmp)
        v3(checks, binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.done("netinventory")


if __name__ == "__main__":
    sys.exit(main())
