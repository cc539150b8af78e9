#!/usr/bin/env python3
"""The SNMP inventory against agents that misbehave as no real one does (issue 13, §4 "Bad
input"): SNMP v2c agents of our own on 127.0.0.1 (a UDP port the kernel picks), each serving
one fault, and walk files that are malformed.

- values of the wrong type (ifSpeed as OCTET STRING, ifDescr as INTEGER, sysObjectID as text…);
- walks that loop back to an earlier OID, or stand still on the same one;
- a table of 100,000 ports, and one that never ends;
- oversized strings (a 65,000-byte sysDescr, 8 KiB names) and long OIDs (127 arcs: kept; 200
  arcs: the answer is refused);
- malformed BER (truncated, a length past the end, the indefinite form, a 5-byte length,
  2,000 nested SEQUENCEs, a wrong PDU tag) and seeded random fuzz of every answer;
- `--file` with malformed walk files (binary noise, broken lines, a 2 MiB line, huge numbers).

For each: the run ends within a bound (wall time under TIME_LIMIT with a 1 s timeout), the peak
RSS (GNU time) stays under RSS_LIMIT_KIB, the output is one DEVICE (an ERROR saying why, or a
valid, possibly truncated inventory), the exit is clean and nothing panicked. The bounds the code
applies (tests/netinventory/../../src/tasks/netinventory/collect.rs): 16,384 values per table,
262,144 values per device, 4 KiB per text value, 128 arcs per OID, 65,535 bytes per BER length.

    python3 tests/netinventory/check_hostile.py --binary target/full/debug/uagent
"""
import argparse
import bisect
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lib import Checks, SHARED  # noqa: E402

SYSOBJECT_IDS = os.path.join(SHARED, "data", "sysobject.ids", "sysobject.ids")
TIME_LIMIT = 60.0
# Every run of these agents, the 100,000-port table included: the walk stops at 16,385 values.
RSS_LIMIT_KIB = 16 * 1024
MAX_DATAGRAM = 65000

# --- BER, the little SNMP needs ---------------------------------------------------------------

INTEGER, OCTETS, NULL, OID, SEQ = 0x02, 0x04, 0x05, 0x06, 0x30
IPADDR, COUNTER32, GAUGE32, TICKS, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x46
END_OF_MIB = 0x82
GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5


def length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + length(len(content)) + content


def integer(v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(INTEGER, v.to_bytes(n, "big", signed=True))


def unsigned(tag, v):
    return tlv(tag, v.to_bytes((v.bit_length() + 8) // 8 or 1, "big"))


def oid_bytes(arcs):
    out = bytearray()
    for i, a in enumerate([arcs[0] * 40 + arcs[1]] + list(arcs[2:])):
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def oid(arcs):
    return tlv(OID, oid_bytes(arcs))


def parse_oid(b):
    arcs, v = [], 0
    for x in b:
        v = (v << 7) | (x & 0x7F)
        if not x & 0x80:
            if not arcs:
                arcs += [min(v // 40, 2), v - 40 * min(v // 40, 2)]
            else:
                arcs.append(v)
            v = 0
    return tuple(arcs)


def read(data, pos):
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first & 0x80:
        n = first & 0x7F
        ln = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    else:
        ln = first
    return tag, data[pos:pos + ln], pos + ln


def request(data):
    """(community, pdu tag, request id, non-repeaters, max-repetitions, [oid])."""
    _, msg, _ = read(data, 0)
    _, _, p = read(msg, 0)
    _, community, p = read(msg, p)
    kind, pdu, _ = read(msg, p)
    _, rid, p = read(pdu, 0)
    _, a, p = read(pdu, p)
    _, b, p = read(pdu, p)
    _, vbs, _ = read(pdu, p)
    oids, p = [], 0
    while p < len(vbs):
        _, vb, p = read(vbs, p)
        _, o, _ = read(vb, 0)
        oids.append(parse_oid(o))
    return (community, kind, int.from_bytes(rid, "big", signed=True), int.from_bytes(a, "big"),
            int.from_bytes(b, "big"), oids)


def response(community, rid, varbinds, kind=RESPONSE):
    vbs = b"".join(tlv(SEQ, oid(o) + v) for o, v in varbinds)
    pdu = tlv(kind, integer(rid) + integer(0) + integer(0) + tlv(SEQ, vbs))
    return tlv(SEQ, integer(1) + tlv(OCTETS, community) + pdu)


def s(text):
    return tlv(OCTETS, text.encode() if isinstance(text, str) else text)


def o(text):
    return tuple(int(x) for x in text.strip(".").split("."))


SYSTEM = [
    (o("1.3.6.1.2.1.1.1.0"), s("Hostile test agent")),
    (o("1.3.6.1.2.1.1.2.0"), oid(o("1.3.6.1.4.1.8072.3.2.10"))),
    (o("1.3.6.1.2.1.1.3.0"), unsigned(TICKS, 123456)),
    (o("1.3.6.1.2.1.1.5.0"), s("hostile")),
]


def if_table(n, descr=lambda i: s(f"port{i}")):
    rows = []
    for i in range(1, n + 1):
        rows.append((o(f"1.3.6.1.2.1.2.2.1.1.{i}"), integer(i)))
        rows.append((o(f"1.3.6.1.2.1.2.2.1.2.{i}"), descr(i)))
        rows.append((o(f"1.3.6.1.2.1.2.2.1.3.{i}"), integer(6)))
    return rows


# --- the agents -------------------------------------------------------------------------------

class Agent:
    """A v2c agent on 127.0.0.1 answering GET, GETNEXT and GETBULK from a sorted table;
    subclasses change what `answer` returns. Serves until stopped."""

    def __init__(self, rows=()):
        self.rows = sorted(rows)
        self.keys = [k for k, _ in self.rows]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def get(self, k):
        i = bisect.bisect_left(self.keys, k)
        if i < len(self.keys) and self.keys[i] == k:
            return self.rows[i][1]
        return tlv(0x80, b"")

    def next(self, k):
        i = bisect.bisect_right(self.keys, k)
        return self.rows[i] if i < len(self.rows) else (k, tlv(END_OF_MIB, b""))

    def varbinds(self, kind, nonrep, maxrep, oids):
        if kind == GET:
            return [(k, self.get(k)) for k in oids]
        reps = max(1, min(maxrep, 200)) if kind == GETBULK else 1
        out, at, size = [], oids[0], 0
        for _ in range(reps):
            k, v = self.next(at)
            size += len(v) + 4 * len(k) + 8
            if out and size > MAX_DATAGRAM - 200:
                break
            out.append((k, v))
            if v[0] == END_OF_MIB:
                break
            at = k
        return out

    def answer(self, community, kind, rid, nonrep, maxrep, oids):
        """The datagrams to send back."""
        return [response(community, rid, self.varbinds(kind, nonrep, maxrep, oids))]

    def serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.requests += 1
            try:
                for d in self.answer(*request(data)):
                    self.sock.sendto(d, peer)
            except Exception as e:  # a bug of the test agent must not look like a silent device
                print(f"    test agent: {e!r}", file=sys.stderr)

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


class LoopBack(Agent):
    """In ifTable, the answer after ifDescr.3 is ifDescr.1 again."""

    def next(self, k):
        if k[:10] == o("1.3.6.1.2.1.2.2.1.2") and len(k) == 11 and k[10] >= 3:
            return (o("1.3.6.1.2.1.2.2.1.2.1"), s("port1"))
        return super().next(k)


class StandStill(Agent):
    """In ifTable, GETNEXT answers the OID it was asked (once inside a column)."""

    def next(self, k):
        if k[:9] == o("1.3.6.1.2.1.2.2.1") and len(k) == 11:
            return (k, integer(1))
        return super().next(k)


class Endless(Agent):
    """ifDescr never ends: after ifDescr.N comes ifDescr.N+1, for ever."""

    def next(self, k):
        col = o("1.3.6.1.2.1.2.2.1.2")
        if k[:10] == col:
            n = k[10] if len(k) > 10 else 0
            return (col + (n + 1,), s(f"port{n + 1}"))
        return super().next(k)


class Raw(Agent):
    """Answers every request with what `make(valid response)` returns."""

    def __init__(self, rows, make):
        self.make = make
        super().__init__(rows)

    def answer(self, *req):
        return [self.make(d) for d in super().answer(*req)]


class Fuzz(Agent):
    """Each answer mutated by a seeded generator (bytes flipped, cut, inserted, replaced by
    noise), then, most of the time, the valid one too so that the walk goes on."""

    def __init__(self, rows, seed):
        self.rng = random.Random(seed)
        super().__init__(rows)

    def answer(self, *req):
        good = super().answer(*req)[0]
        r = self.rng
        bad = bytearray(good)
        how = r.randrange(5)
        if how == 0:
            for _ in range(r.randint(1, 6)):
                bad[r.randrange(len(bad))] = r.randrange(256)
        elif how == 1:
            del bad[r.randrange(1, len(bad)):]
        elif how == 2:
            at = r.randrange(len(bad))
            bad[at:at] = bytes(r.randrange(256) for _ in range(r.randint(1, 32)))
        elif how == 3:
            bad = bytearray(r.randrange(256) for _ in range(r.randint(1, 600)))
        else:
            # A length byte in the body made large.
            at = r.randrange(2, len(bad))
            bad[at] = r.choice([0x80, 0x81, 0x84, 0xFF, 0x7F])
        out = [bytes(bad)]
        if r.random() < 0.95:
            out.append(good)
        return out


def deep(n):
    inner = integer(1)
    for _ in range(n):
        inner = tlv(SEQ, inner)
    return inner


def past_end(d):
    # The outer SEQUENCE says 100 bytes more than the datagram holds.
    _, content, _ = read(d, 0)
    return bytes([SEQ, 0x82]) + (len(content) + 100).to_bytes(2, "big") + content


MALFORMED = [
    ("a truncated answer", lambda d: d[: len(d) // 2]),
    ("a length past the end", past_end),
    ("the indefinite length form", lambda d: bytes([SEQ, 0x80]) + d[2:] + b"\0\0"),
    ("a length of 5 bytes", lambda d: bytes([SEQ, 0x85, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) + d[2:]),
    ("2,000 nested SEQUENCEs", lambda d: deep(2000)),
    ("a wrong PDU tag", lambda d: d.replace(bytes([RESPONSE]), bytes([0xA3]), 1)),
    ("an empty datagram", lambda d: b""),
]


# --- running uagent ---------------------------------------------------------------------------

def run(binary, args, tmp):
    """(wall seconds, peak RSS KiB, exit code, stdout, stderr)."""
    rss_file = os.path.join(tmp, "rss")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file, binary, "netinventory", "--sysobject-ids",
           SYSOBJECT_IDS, "--deviceid", "hostile-2026-01-01-00-00-00", "--pid", "1"] + args
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=TIME_LIMIT * 3)
    except subprocess.TimeoutExpired:
        return TIME_LIMIT * 3, 0, -1, "", "killed after the time limit"
    wall = time.monotonic() - t0
    with open(rss_file) as f:
        rss = int(f.read().split()[-1])
    return wall, rss, p.returncode, p.stdout, p.stderr


def judge(checks, what, result, expect):
    """The common checks, then `expect(device element, stderr)` -> (ok, detail)."""
    wall, rss, rc, out, err = result
    problems = []
    if wall >= TIME_LIMIT:
        problems.append(f"took {wall:.1f} s")
    if rss > RSS_LIMIT_KIB:
        problems.append(f"peak RSS {rss} KiB")
    if rc != 0:
        problems.append(f"exit {rc}")
    if "panicked" in err:
        problems.append("panicked")
    device = None
    try:
        devices = ET.fromstring(out.strip()).findall("./CONTENT/DEVICE")
        if len(devices) != 1:
            problems.append(f"{len(devices)} DEVICE elements")
        else:
            device = devices[0]
    except ET.ParseError as e:
        problems.append(f"output is not XML: {e}")
    if device is not None and device.find("ERROR") is None and device.find("INFO") is None:
        problems.append("a DEVICE with neither INFO nor ERROR")
    if device is not None and not problems:
        ok, detail = expect(device, err)
        if not ok:
            problems.append(detail)
    message = device.findtext("ERROR/MESSAGE") if device is not None else None
    outcome = f"ERROR: {message}" if message else "an inventory"
    checks.true(f"{what}: {outcome} ({wall:.2f} s, {rss} KiB)", not problems,
                "; ".join(problems) + "\n    " + err[-600:])


def error_says(*words):
    def expect(dev, err):
        m = dev.findtext("ERROR/MESSAGE") or ""
        return all(w in m for w in words), f"want an ERROR naming {words}, got {m!r}"
    return expect


def inventory(pred=lambda dev, err: True, detail=""):
    def expect(dev, err):
        if dev.find("ERROR") is not None:
            return False, f"an ERROR where an inventory was expected: {dev.findtext('ERROR/MESSAGE')}"
        return pred(dev, err), detail
    return expect


def live(checks, binary, tmp, what, agent, expect):
    try:
        r = run(binary, ["--host", "127.0.0.1", "--port", str(agent.port), "--community", "public",
                         "--timeout", "1", "--retries", "0"], tmp)
    finally:
        agent.stop()
    judge(checks, what, r, expect)
    return r


def agents(checks, binary, tmp):
    # Values of the wrong type.
    wrong = [
        (o("1.3.6.1.2.1.1.1.0"), integer(12345)),
        (o("1.3.6.1.2.1.1.2.0"), s("not an OID")),
        (o("1.3.6.1.2.1.1.3.0"), s("yesterday")),
        (o("1.3.6.1.2.1.1.5.0"), unsigned(COUNTER64, 7)),
        (o("1.3.6.1.2.1.17.1.1.0"), tlv(IPADDR, bytes([10, 0, 0, 1]))),
        (o("1.3.6.1.2.1.4.20.1.1.10.0.0.1"), s("ten")),
        (o("1.3.6.1.2.1.4.20.1.2.10.0.0.1"), s("one")),
    ]
    for i in (1, 2, 3):
        wrong += [
            (o(f"1.3.6.1.2.1.2.2.1.1.{i}"), s("one")),
            (o(f"1.3.6.1.2.1.2.2.1.2.{i}"), integer(40 + i)),
            (o(f"1.3.6.1.2.1.2.2.1.3.{i}"), oid(o("1.3.6.1.4.1.9"))),
            (o(f"1.3.6.1.2.1.2.2.1.5.{i}"), s("fast")),
            (o(f"1.3.6.1.2.1.2.2.1.6.{i}"), integer(-1)),
            (o(f"1.3.6.1.2.1.2.2.1.8.{i}"), s("up")),
            (o(f"1.3.6.1.2.1.31.1.1.1.15.{i}"), s("10G")),
            (o(f"1.3.6.1.2.1.17.4.3.1.2.0.17.34.51.68.{i}"), s("port")),
            (o(f"1.3.6.1.2.1.17.1.4.1.2.{i}"), tlv(NULL, b"")),
        ]
    live(checks, binary, tmp, "values of the wrong type (ifSpeed as OCTET STRING, ifDescr as INTEGER, …)",
         Agent(wrong), inventory(lambda d, e: len(d.findall("PORTS/PORT")) == 3
                                 and d.findtext("INFO/COMMENTS") == "12345", "3 ports, COMMENTS 12345"))
    live(checks, binary, tmp, "a walk that loops back (after ifDescr.3 comes ifDescr.1)",
         LoopBack(SYSTEM + if_table(5)),
         inventory(lambda d, e: "do not increase" in e, "a warning that the OIDs do not increase"))
    live(checks, binary, tmp, "a walk whose OIDs do not increase (GETNEXT answers what it was asked)",
         StandStill(SYSTEM + if_table(5)),
         inventory(lambda d, e: "do not increase" in e, "a warning that the OIDs do not increase"))
    t0 = time.monotonic()
    huge = Agent(SYSTEM + if_table(100_000))
    print(f"    (the 100,000-port agent's table built in {time.monotonic() - t0:.1f} s)")
    live(checks, binary, tmp, "a table of 100,000 ports (the walk stops at 16,385 values)", huge,
         error_says("ifTable", "more than 16384 values"))
    live(checks, binary, tmp, "a table that never ends", Endless(SYSTEM),
         error_says("ifTable", "more than 16384 values"))
    big = [
        (o("1.3.6.1.2.1.1.1.0"), s("D" * 65000)),
        (o("1.3.6.1.2.1.1.2.0"), oid(o("1.3.6.1.4.1.8072.3.2.10"))),
        (o("1.3.6.1.2.1.1.5.0"), s("big")),
        (o("1.3.6.1.2.1.2.2.1.2." + ".".join(["7"] * 117)), s("127 arcs")),
    ] + if_table(20, lambda i: s("N" * 8192)) + [
        (o(f"1.3.6.1.2.1.31.1.1.1.18.{i}"), s("A" * 60000)) for i in (1, 2)]
    live(checks, binary, tmp, "oversized strings (65,000-byte sysDescr, 8 KiB ifDescr, 60,000-byte ifAlias) "
         "and a 127-arc OID", Agent(big),
         inventory(lambda d, e: len(d.findtext("INFO/COMMENTS") or "") == 4096
                   and all(len(p.findtext("IFDESCR") or "") <= 4096 for p in d.findall("PORTS/PORT"))
                   and len(d.findall("PORTS/PORT")) == 20,
                   "COMMENTS cut at 4,096 bytes, 20 ports, names cut"))
    long_oid = SYSTEM[:1] + [(o("1.3.6.1.2.1.1.2.0"), oid(tuple([1, 3] + [6] * 198)))] + SYSTEM[2:]
    live(checks, binary, tmp, "a 200-arc OID in the first answer (refused: 128 arcs at most)",
         Agent(long_oid), error_says("no response"))
    for what, make in MALFORMED:
        live(checks, binary, tmp, f"malformed BER: {what}", Raw(SYSTEM + if_table(4), make),
             error_says("no response"))
    seeds = int(os.environ.get("UAGENT_FUZZ_SEEDS", "12"))
    t0 = time.monotonic()
    worst = 0.0
    for seed in range(1, seeds + 1):
        r = live(checks, binary, tmp, f"fuzzed answers, seed {seed}", Fuzz(SYSTEM + if_table(24), seed),
                 lambda d, e: (True, ""))
        worst = max(worst, r[0])
    print(f"    {seeds} fuzz seeds in {time.monotonic() - t0:.1f} s (slowest {worst:.2f} s)")


def walk_files(checks, binary, tmp):
    rng = random.Random(13)
    header = '.1.3.6.1.2.1.1.1.0 = STRING: "broken walk"\n.1.3.6.1.2.1.1.5.0 = STRING: "w"\n'
    files = {
        "binary noise": bytes(rng.randrange(256) for _ in range(256 * 1024)),
        "broken lines": (header + "\n".join([
            ".1.3.6.1.2.1.2.2.1.1.1 = INTEGER:",
            ".1.3.6.1.2.1.2.2.1.2.1 = STRING: \"unterminated",
            "not an oid = STRING: x",
            ".1.3.6.1.2.1.2.2.1.5.1 = Gauge32: 99999999999999999999999",
            ".1.3.6.1.2.1.2.2.1.1.2 = INTEGER: -99999999999999999999999",
            ".1.3.6.1.2.1.2.2.1.6.1 = Hex-STRING: ZZ YY",
            ".1.3.6.1.2.1.2.2.1.3.1 = OID: ." + ".".join(["1"] * 300),
            "." + ".".join(["1"] * 300) + " = INTEGER: 1",
            ".1.3.6.1.2.1.2.2.1.9.1 = Timeticks: (abc) 0:00:00.00",
            ".1.3.6.1.2.1.2.2.1.1.4294967296 = INTEGER: 1",
            "= = = =",
            ".1.3.6.1.2.1.2.2.1.1.3 = INTEGER: 3",
        ]) + "\n").encode(),
        "a 2 MiB line": (header + '.1.3.6.1.2.1.2.2.1.2.1 = STRING: "' + "x" * (2 * 1024 * 1024) + '"\n').encode(),
        "an empty file": b"",
        "out of order and repeated": (header + "".join(
            f".1.3.6.1.2.1.2.2.1.1.{i} = INTEGER: {i}\n" for i in (5, 1, 5, 3, 1))).encode(),
    }
    for what, data in files.items():
        path = os.path.join(tmp, what.replace(" ", "-") + ".walk")
        with open(path, "wb") as f:
            f.write(data)
        r = run(binary, ["--file", path], tmp)
        judge(checks, f"--file with {what}", r, lambda d, e: (True, ""))
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    if not os.path.exists("/usr/bin/time"):
        print("FAIL: /usr/bin/time (Debian's `time`) is needed to measure the peak RSS")
        return 1
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ni-hostile-")
    try:
        agents(checks, binary, tmp)
        walk_files(checks, binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.done("netinventory hostile agents")


if __name__ == "__main__":
    sys.exit(main())
