#!/usr/bin/env python3
"""The network discovery in a lab of network namespaces (tests/netdiscovery/lab.py): a /28
with an SNMP recording served by snmpsim, Debian's snmpd, a host that answers only ICMP, a
NetBIOS node, a silent host and empty addresses.

1. `uagent netdiscovery` over the /28 finds exactly the live hosts, with the right MAC, name
   and type (values read from the recording, the namespaces' interfaces, sysobject.ids), and
   writes START, NBIP, the DEVICEs and END twice.
2. ICMP from an unprivileged process through an ICMP datagram socket (ping_group_range).
3. `--file WALK` beside the Perl agent's reading of the same walk (`fusioninventory-netinventory
   --file`: Fusion 2.6's netdiscovery has no --file).
4. The agent against a GLPI-plugin-style stand-in of this file (`--serve`): a PROLOG with a
   NETDISCOVERY job; the messages arrive as the scan goes, in order, with PROCESSNUMBER = PID;
   the job's community is on no command line; malformed jobs get a clear error and no scan;
   a task that does not finish is followed by an EXIT; the launcher's messages written one file
   each (`--output DIR`) are sent by the injector in their order.

    python3 tests/netdiscovery/check_netdiscovery.py --binary target/full/debug/uagent
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lab import Lab, NET, NB_NAME, NB_GROUP, NB_USER, SYSOBJECT_IDS, record, snmprec_to_walk, sysobject_entry, run  # noqa: E402
from lib import Checks, free_port, wait_for  # noqa: E402

checks = Checks()
DEVICEID = "nd-lab-2026-01-01-00-00-00"


def documents(text):
    """The XML documents of a launcher's output, one after another."""
    return [d for d in re.split(r"(?=<\?xml )", text) if d.strip()]


def fields(doc):
    """DEVICE's fields (IPS joined), or the AGENT element's."""
    m = re.search(r"<DEVICE>(.*)</DEVICE>", doc, re.S)
    if m:
        inner = re.sub(r"<IPS>(.*?)</IPS>", lambda x: "<IPS>" + ",".join(re.findall(r"<IP>(.*?)</IP>", x.group(1))) + "</IPS>", m.group(1))
        return dict(re.findall(r"<(\w+)>(.*?)</\1>", inner))
    m = re.search(r"<AGENT>(.*)</AGENT>", doc, re.S)
    return {"AGENT": dict(re.findall(r"<(\w+)>(.*?)</\1>", m.group(1)))} if m else {}


def kind(doc):
    f = fields(doc)
    if "AGENT" in f:
        return next(k for k in ("START", "NBIP", "END", "EXIT") if k in f["AGENT"])
    return "DEVICE" if f else "?"


def expected(lab):
    """What each live host must show, from the lab itself."""
    rec = lab.recording
    oid = record(rec, "1.3.6.1.2.1.1.2.0").decode()
    maker, typ, model = sysobject_entry(oid)
    bridge = record(rec, "1.3.6.1.2.1.17.1.1.0").hex()
    mac = ":".join(bridge[i:i + 2] for i in range(0, 12, 2))
    snmpd_maker, snmpd_type, _ = sysobject_entry("1.3.6.1.4.1.8072.3.2.10")
    return {
        lab.ip("scanner"): {"DNSHOSTNAME": lab.ip("scanner")},
        lab.ip("snmpsim"): {"SNMPHOSTNAME": record(rec, "1.3.6.1.2.1.1.5.0").decode(), "MAC": mac,
                            "TYPE": typ, "MANUFACTURER": maker, "MODEL": model, "AUTHSNMP": "2"},
        lab.ip("snmpd"): {"SNMPHOSTNAME": "nd-snmpd", "MAC": lab.macs["snmpd"], "TYPE": snmpd_type,
                          "MANUFACTURER": snmpd_maker, "LOCATION": "nd lab rack 3", "AUTHSNMP": "3"},
        lab.ip("icmp"): {"DNSHOSTNAME": lab.ip("icmp"), "MAC": lab.macs["icmp"]},
        lab.ip("nbstat"): {"NETBIOSNAME": NB_NAME, "WORKGROUP": NB_GROUP, "USERSESSION": NB_USER,
                           "MAC": lab.macs["nbstat"]},
    }


def check_devices(what, docs, want):
    devices = {fields(d)["IP"]: fields(d) for d in docs if kind(d) == "DEVICE"}
    checks.equal(f"{what}: the addresses found", sorted(want), sorted(devices))
    for ip, w in want.items():
        got = devices.get(ip, {})
        checks.equal(f"{what}: {ip}", w, {k: got.get(k) for k in w})


CREDENTIALS = ["version:2c,community:wrong", "version:2c,community:c3750", "version:2c,community:lab"]


def launcher(lab, binary, work):
    out = os.path.join(work, "launcher.xml")
    t0 = time.monotonic()
    p = run(*lab.exec("scanner"), binary, "netdiscovery", "--first", f"{NET}.1", "--last", f"{NET}.14",
            *sum((["--credentials", c] for c in CREDENTIALS), []), "--timeout", "1", "--threads", "16",
            "--control", "--sysobject-ids", SYSOBJECT_IDS, "--deviceid", DEVICEID, "--pid", "77",
            "--output", out, check=False)
    took = time.monotonic() - t0
    checks.equal("launcher: exit code", 0, p.returncode)
    docs = documents(open(out).read()) if os.path.exists(out) else []
    seq = [kind(d) for d in docs]
    checks.equal("launcher: START, NBIP, the devices, END twice",
                 ["START", "NBIP"] + ["DEVICE"] * 5 + ["END", "END"], seq)
    checks.equal("launcher: NBIP is the number of addresses", "14",
                 fields(docs[1])["AGENT"].get("NBIP") if len(docs) > 1 else None)
    checks.true("launcher: PROCESSNUMBER and DEVICEID in every message",
                docs and all("<PROCESSNUMBER>77</PROCESSNUMBER>" in d and f"<DEVICEID>{DEVICEID}</DEVICEID>" in d for d in docs))
    check_devices("launcher", docs, expected(lab))
    # 14 addresses, 16 at a time, 1 s timeout: one round of timeouts, not one per address.
    checks.true("launcher: the /28 takes one round of timeouts (< 4 s)", took < 4, f"{took:.2f} s")
    print(f"  /28 discovery: {took:.2f} s", flush=True)


def unprivileged_ping(lab, binary):
    """ICMP echo from `nobody` through an ICMP datagram socket, when ping_group_range allows."""
    run(*lab.exec("scanner"), "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
    run(*lab.exec("scanner"), "ip", "neigh", "flush", "all")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    p = run(*lab.exec("scanner"), *nobody, binary, "netdiscovery", "--host", lab.ip("icmp"),
            "--deviceid", DEVICEID, "--debug", "--timeout", "1", check=False)
    devs = [fields(d) for d in documents(p.stdout) if kind(d) == "DEVICE"]
    checks.equal("unprivileged: the ICMP-only host answers the datagram socket's echo",
                 lab.ip("icmp"), devs[0].get("DNSHOSTNAME") if devs else p.stderr[-800:])
    checks.true("unprivileged: no raw socket was needed", "trying a raw one" not in p.stderr, p.stderr[-800:])
    run(*lab.exec("scanner"), "sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0")
    p = run(*lab.exec("scanner"), *nobody, binary, "netdiscovery", "--host", lab.ip("silent"),
            "--deviceid", DEVICEID, "--timeout", "1", check=False)
    checks.true("unprivileged without ping_group_range: a warning says ICMP is not possible",
                "ICMP echo is not possible here" in p.stderr, p.stderr[-800:])


def walk_file(lab, binary, work):
    walk = os.path.join(work, "c3750.walk")
    with open(walk, "w", encoding="latin-1") as f:
        f.write("\n".join(snmprec_to_walk(lab.recording)) + "\n")
    p = run(binary, "netdiscovery", "--file", walk, "--sysobject-ids", SYSOBJECT_IDS,
            "--deviceid", DEVICEID, check=False)
    ours = [fields(d) for d in documents(p.stdout) if kind(d) == "DEVICE"]
    checks.equal("--file: one device, at 1.1.1.1", ["1.1.1.1"], [d.get("IP") for d in ours])
    # Fusion 2.6's netdiscovery has no --file; its netinventory reads walks and types the
    # device by the same rules (its INFO section).
    ref = run("fusioninventory-netinventory", "--host", "1.1.1.1", "--file", walk, check=False)
    m = re.search(r"<INFO>(.*?)</INFO>", ref.stdout, re.S)
    if not checks.true("--file: fusioninventory-netinventory read the same walk", m, ref.stderr[-800:]):
        return
    info = m.group(1)
    theirs = dict(re.findall(r"<(\w+)>([^<]*)</\1>", re.sub(r"<IPS>.*?</IPS>", "", info, flags=re.S)))
    theirs["IPS"] = ",".join(re.findall(r"<IP>(.*?)</IP>", info))
    mine = ours[0] if ours else {}
    for k, ref_key in (("SNMPHOSTNAME", "NAME"), ("DESCRIPTION", "COMMENTS"), ("MAC", "MAC"), ("TYPE", "TYPE"),
                       ("MANUFACTURER", "MANUFACTURER"), ("MODEL", "MODEL"), ("SERIAL", "SERIAL"),
                       ("FIRMWARE", "FIRMWARE"), ("IPS", "IPS")):
        checks.equal(f"--file: {k} as the Perl agent reads it", theirs.get(ref_key), mine.get(k))


# --- the GLPI-plugin-style stand-in -------------------------------------------------------------

def prolog_reply(job):
    return f"<?xml version='1.0' encoding='UTF-8'?><REPLY><RESPONSE>STOP</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ>{job}</REPLY>"


def serve(port, job_file, log_file):
    """PROLOG answers with the job in `job_file` (read at each PROLOG); every other POST is
    logged (decompressed) to `log_file` as a JSON line with its arrival time."""
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = zlib.decompress(body)
            except zlib.error:
                pass
            text = body.decode("utf-8", "replace")
            if "<QUERY>PROLOG</QUERY>" in text:
                with open(job_file) as f:
                    reply = prolog_reply(f.read())
            else:
                with lock, open(log_file, "a") as f:
                    f.write(json.dumps({"t": time.time(), "body": text}) + "\n")
                reply = "<?xml version='1.0' encoding='UTF-8'?><REPLY><RESPONSE>SEND</RESPONSE></REPLY>" if "<END>" in text else ""
            data = zlib.compress(reply.encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/x-compress-zlib")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def job_xml(pid="4242", ranges=None, auths=None, param=None):
    ranges = ranges if ranges is not None else [f'<RANGEIP ID="1" IPSTART="{NET}.1" IPEND="{NET}.14" ENTITY="0"/>']
    auths = auths if auths is not None else [
        '<AUTHENTICATION ID="1" VERSION="2c" COMMUNITY="wrong"/>',
        '<AUTHENTICATION ID="2" VERSION="2c" COMMUNITY="c3750"/>',
        '<AUTHENTICATION ID="3" VERSION="2c" COMMUNITY="lab"/>']
    param = param if param is not None else f'<PARAM THREADS_DISCOVERY="16" TIMEOUT="1" PID="{pid}"/>'
    return "<OPTION><NAME>NETDISCOVERY</NAME>" + param + "".join(ranges) + "".join(auths) + "</OPTION>"


def with_server(lab, binary, work):
    port = free_port()
    job_file, log_file = os.path.join(work, "job.xml"), os.path.join(work, "posted.jsonl")
    open(log_file, "w").close()
    server = lab.spawn("scanner", [sys.executable, os.path.abspath(__file__), "--serve", str(port), job_file, log_file])
    vardir = os.path.join(work, "vardir")

    def agent(job, env=None, wait=True):
        with open(job_file, "w") as f:
            f.write(job)
        open(log_file, "w").close()
        argv = [*lab.exec("scanner"), binary, "--server", f"http://127.0.0.1:{port}/plugins/glpiinventory/",
                "--vardir", vardir, "--tasks", "netdiscovery", "--sysobject-ids", SYSOBJECT_IDS, "--debug"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, **(env or {})))
        if not wait:
            return p
        out, err = p.communicate(timeout=120)
        return p.returncode, err

    def posted():
        with open(log_file) as f:
            return [json.loads(line) for line in f if line.strip()]

    ok = wait_for(lambda: run(*lab.exec("scanner"), "bash", "-c", f"echo > /dev/tcp/127.0.0.1/{port}", check=False).returncode == 0, 20)
    checks.true("stand-in: listening", ok, lab.log("scanner"))

    # A good job.
    code, err = agent(job_xml())
    msgs = posted()
    docs = [m["body"] for m in msgs]
    checks.equal("agent: exit code", 0, code)
    checks.equal("agent: START, NBIP, the devices, END twice, each its own POST",
                 ["START", "NBIP"] + ["DEVICE"] * 5 + ["END", "END"], [kind(d) for d in docs])
    checks.true("agent: PROCESSNUMBER is the job's PID in every message",
                docs and all("<PROCESSNUMBER>4242</PROCESSNUMBER>" in d and "<QUERY>NETDISCOVERY</QUERY>" in d for d in docs))
    check_devices("agent", docs, expected(lab))
    times = [m["t"] for m in msgs]
    checks.true("agent: START reached the server before the scan ended (streamed, not batched)",
                len(times) > 2 and times[-1] - times[0] > 0.5, f"{[round(t - times[0], 2) for t in times]}")

    # The launcher's messages, one file each, sent by the injector in their order.
    outdir = os.path.join(work, "messages")
    os.makedirs(outdir)
    p = run(*lab.exec("scanner"), binary, "netdiscovery", "--host", lab.ip("snmpd"), "--community", "lab", "--v2c",
            "--control", "--deviceid", DEVICEID, "--output", outdir, check=False)
    files = sorted(os.listdir(outdir))
    checks.equal("launcher --output DIR: one file per message, in order",
                 ["0001-start.xml", "0002-nbip.xml", f"0003-device-{lab.ip('snmpd')}.xml", "0004-end.xml", "0005-end.xml"], files)
    open(log_file, "w").close()
    p = run(*lab.exec("scanner"), binary, "inject", "--url", f"http://127.0.0.1:{port}/plugins/glpiinventory/",
            "--directory", outdir, check=False)
    checks.equal("injector: the launcher's files reach the server in their order",
                 ["START", "NBIP", "DEVICE", "END", "END"], [kind(m["body"]) for m in posted()])

    # The job's community on no command line, and EXIT when the task does not finish.
    p = agent(job_xml(pid="4343"), env={"UAGENT_TASK_DELAY": "30"}, wait=False)
    child = None

    def find_child():
        nonlocal child
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cmd = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            # The agent starts a task as `uagent task`: its name and arguments, the job among
            # them, go on its standard input.
            if ppid == p.pid and [a for a in cmd if a][1:] == [b"task"]:
                child = (int(d), cmd)
                return True
        return False

    found = wait_for(find_child, 20)
    checks.true("agent: the task process started", found)
    if found:
        cmd = b" ".join(child[1]).decode("utf-8", "replace")
        checks.true("agent: no community on the task's command line", "c3750" not in cmd and "lab" not in cmd.replace("glpi", ""), cmd)
        checks.true("agent: nothing but `uagent task` on the command line (the job goes on stdin)",
                    cmd.split()[1:] == ["task"], cmd)
        os.kill(child[0], 9)
    out, err = p.communicate(timeout=60)
    docs = [m["body"] for m in posted()]
    checks.equal("agent: a task that did not finish is followed by EXIT", ["EXIT"], [kind(d) for d in docs])
    checks.true("agent: the EXIT carries the job's PID", docs and "<PROCESSNUMBER>4343</PROCESSNUMBER>" in docs[0])
    checks.equal("agent: exit code after a failed task", 5, p.returncode)

    # Malformed jobs: a clear error, nothing scanned, nothing sent.
    bad = {
        "no RANGEIP": (job_xml(ranges=[]), "no range to scan"),
        "a reversed range": (job_xml(ranges=[f'<RANGEIP ID="5" IPSTART="{NET}.9" IPEND="{NET}.1"/>']), "goes backwards"),
        "a huge range": (job_xml(ranges=['<RANGEIP ID="6" IPSTART="10.0.0.0" IPEND="10.3.255.255"/>']), "more than the 65536"),
        "a /8": (job_xml(ranges=['<RANGEIP ID="7" IPSTART="10.0.0.0" IPEND="10.255.255.255"/>']), "16777216 addresses"),
        "a credential without community": (job_xml(auths=['<AUTHENTICATION ID="8" VERSION="2c"/>']), "without COMMUNITY"),
        "a credential of an unknown version": (job_xml(auths=['<AUTHENTICATION ID="9" VERSION="9" COMMUNITY="x"/>']), "unknown SNMP version"),
        "no PID": (job_xml(param='<PARAM THREADS_DISCOVERY="1" TIMEOUT="1"/>'), "no PID"),
    }
    for what, (job, reason) in bad.items():
        t0 = time.monotonic()
        code, err = agent(job)
        took = time.monotonic() - t0
        line = next((l for l in err.splitlines() if "NETDISCOVERY:" in l), "")
        checks.true(f"malformed job ({what}): a clear error", reason in line and "nothing scanned" in line, err[-600:])
        checks.equal(f"malformed job ({what}): nothing sent", [], [kind(m["body"]) for m in posted()])
        checks.true(f"malformed job ({what}): no scan ran", "scanning" not in err and took < 5, f"{took:.1f} s")
    server.terminate()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--serve", nargs=3)
    a, _ = ap.parse_known_args()
    binary = os.path.abspath(a.binary)
    lab = Lab().up()
    work = tempfile.mkdtemp(prefix="nd-check-")
    try:
        for step in (lambda: launcher(lab, binary, work), lambda: unprivileged_ping(lab, binary),
                     lambda: walk_file(lab, binary, work), lambda: with_server(lab, binary, work)):
            step()
    finally:
        lab.down()
        subprocess.run(["rm", "-rf", work])
    return checks.done("netdiscovery")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
