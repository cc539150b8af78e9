#!/usr/bin/env python3
"""Runs `uagent inventory --root TREE/root` on every fixture tree of the shared corpus, in XML,
JSON and HTML, and checks each fact of the tree's expected.json in the output field that carries
it. The JSON documents are validated against GLPI's inventory schema.

    tests/check_corpus.py --binary target/release/uagent [--runner "qemu-mipsel-static -cpu 24Kc"]

Exit status 0 when every fact holds; the report names each fact, the field checked and the value.
"""
import argparse
import html.parser
import json
import os
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))
from lib import SCHEMA, SHARED, Checks  # noqa: E402


class Report(Checks):
    """One line per fact: the tree, the format, the fact and the field that carries it."""

    def check(self, tree, fmt, fact, field, want, got):
        return self.equal(f"{tree} [{fmt}] {fact}: {field}", want, got)


def run(cmd, runner):
    full = (shlex.split(runner) if runner else []) + cmd
    p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def xml_entries(root, section):
    """Entries of a section as dicts (repeated children become lists)."""
    out = []
    for el in root.find("CONTENT").findall(section):
        d = {}
        for child in el:
            if len(child):
                d[child.tag] = {g.tag: (g.text or "") for g in child}
            elif child.tag in d:
                prev = d[child.tag]
                d[child.tag] = (prev if isinstance(prev, list) else [prev]) + [child.text or ""]
            else:
                d[child.tag] = child.text or ""
        out.append(d)
    return out


def logical_count(cpus, core_key, thread_key):
    total = 0
    for c in cpus:
        if c.get(core_key) is not None and c.get(thread_key) is not None:
            total += int(c[core_key]) * int(c[thread_key])
        else:
            total += 1
    return total


def check_tree(name, tree_dir, args, schema_validator, rep):
    exp = json.load(open(os.path.join(tree_dir, "expected.json")))
    root = os.path.join(tree_dir, "root")
    vardir = tempfile.mkdtemp(prefix="uagent-corpus-")
    outputs = {}
    for fmt in ("xml", "json", "html"):
        code, out, err = run([args.binary, "inventory", "--root", root, "--vardir", vardir, "--format", fmt], args.runner)
        rep.check(name, fmt, "exit status", "exit code", 0, code)
        rep.check(name, fmt, "no error logged", "[error] lines on stderr", [], [l for l in err.splitlines() if "][error]" in l])
        outputs[fmt] = out

    # --- XML ---
    x = ET.fromstring(outputs["xml"])
    hw = xml_entries(x, "HARDWARE")[0]
    os_ = xml_entries(x, "OPERATINGSYSTEM")[0]
    bios = xml_entries(x, "BIOS")[0]
    cpus = xml_entries(x, "CPUS")
    nets = xml_entries(x, "NETWORKS")
    softs = xml_entries(x, "SOFTWARES")
    users = xml_entries(x, "LOCAL_USERS")
    stor = xml_entries(x, "STORAGES")
    c = lambda fact, field, want, got: rep.check(name, "xml", fact, field, want, got)
    c("hostname", "HARDWARE/NAME", exp["hostname"], hw.get("NAME"))
    c("memory_mib", "HARDWARE/MEMORY", exp["memory_mib"], int(hw["MEMORY"]) if "MEMORY" in hw else None)
    c("swap_mib", "HARDWARE/SWAP", exp["swap_mib"], int(hw["SWAP"]) if "SWAP" in hw else None)
    c("os.name", "OPERATINGSYSTEM/NAME", exp["os"]["name"], os_.get("NAME"))
    c("os.version", "OPERATINGSYSTEM/VERSION", exp["os"]["version"], os_.get("VERSION"))
    c("os.full_name", "OPERATINGSYSTEM/FULL_NAME", exp["os"]["full_name"], os_.get("FULL_NAME"))
    c("os.kernel_version", "OPERATINGSYSTEM/KERNEL_VERSION", exp["os"]["kernel_version"], os_.get("KERNEL_VERSION"))
    c("cpu.logical_count", "sum of CPUS/CORE*THREAD (1 per entry without them)", exp["cpu"]["logical_count"], logical_count(cpus, "CORE", "THREAD"))
    c("cpu.logical_count", "sum of CPUS/LOGICAL_CPUS", exp["cpu"]["logical_count"], sum(int(e.get("LOGICAL_CPUS", 1)) for e in cpus))
    c("cpu.name_contains", "every CPUS/NAME contains it", True, bool(cpus) and all(exp["cpu"]["name_contains"] in e.get("NAME", "") for e in cpus))
    c("cpu.arch", "CPUS/ARCH (all entries)", {exp["cpu"]["arch"]}, {e.get("ARCH") for e in cpus})
    c("board.model", "BIOS/SMODEL", exp["board"]["model"], bios.get("SMODEL"))
    c("board.serial", "BIOS/SSN", exp["board"]["serial"], bios.get("SSN"))
    c("board.manufacturer", "BIOS/SMANUFACTURER", exp["board"]["manufacturer"], bios.get("SMANUFACTURER"))
    for n in exp["networks"]:
        entries = [e for e in nets if e.get("DESCRIPTION") == n["name"]]
        got = {(e.get("MACADDR"), int(e["MTU"]) if "MTU" in e else None, e.get("STATUS")) for e in entries}
        c(f"networks[{n['name']}]", "NETWORKS/{MACADDR,MTU,STATUS} of every entry", {(n["mac"], n["mtu"], n["status"])}, got)
    c("software.count", "number of SOFTWARES", exp["software"]["count"], len(softs))
    have = {(e.get("NAME"), e.get("VERSION")) for e in softs}
    for s in exp["software"]["samples"]:
        c(f"software[{s['name']}]", "SOFTWARES/{NAME,VERSION} present", True, (s["name"], s["version"]) in have)
    c("local_users", "number of LOCAL_USERS", exp["local_users"], len(users))
    disks = {e["NAME"]: int(e["DISKSIZE"]) for e in stor if e.get("TYPE") != "flash"}
    c("storages", "STORAGES {NAME: DISKSIZE} (disks, not flash)", {d["name"]: d["size_mib"] for d in exp["storages"]}, disks)

    # --- JSON ---
    j = json.loads(outputs["json"])
    errors = sorted(schema_validator.iter_errors(j), key=lambda e: list(e.path))
    rep.check(name, "json", "schema", "inventory.schema.json errors", [], [f"{list(e.path)}: {e.message}" for e in errors[:5]])
    ct = j["content"]
    c = lambda fact, field, want, got: rep.check(name, "json", fact, field, want, got)
    c("hostname", "hardware.name", exp["hostname"], ct["hardware"].get("name"))
    c("memory_mib", "hardware.memory", exp["memory_mib"], ct["hardware"].get("memory"))
    c("swap_mib", "hardware.swap", exp["swap_mib"], ct["hardware"].get("swap"))
    o = ct.get("operatingsystem", {})
    c("os.name", "operatingsystem.name", exp["os"]["name"], o.get("name"))
    c("os.version", "operatingsystem.version", exp["os"]["version"], o.get("version"))
    c("os.full_name", "operatingsystem.full_name", exp["os"]["full_name"], o.get("full_name"))
    c("os.kernel_version", "operatingsystem.kernel_version", exp["os"]["kernel_version"], o.get("kernel_version"))
    jc = ct.get("cpus", [])
    c("cpu.logical_count", "sum of cpus[].core*thread (1 per entry without them)", exp["cpu"]["logical_count"], logical_count(jc, "core", "thread"))
    c("cpu.name_contains", "every cpus[].name contains it", True, bool(jc) and all(exp["cpu"]["name_contains"] in e.get("name", "") for e in jc))
    c("cpu.arch", "cpus[].arch (all entries)", {exp["cpu"]["arch"]}, {e.get("arch") for e in jc})
    b = ct.get("bios", {})
    c("board.model", "bios.smodel", exp["board"]["model"], b.get("smodel"))
    c("board.serial", "bios.ssn", exp["board"]["serial"], b.get("ssn"))
    c("board.manufacturer", "bios.smanufacturer", exp["board"]["manufacturer"], b.get("smanufacturer"))
    jn = ct.get("networks", [])
    for n in exp["networks"]:
        got = {(e.get("mac"), e.get("mtu"), e.get("status")) for e in jn if e.get("description") == n["name"]}
        c(f"networks[{n['name']}]", "networks[].{mac,mtu,status}", {(n["mac"], n["mtu"], n["status"].lower())}, got)
    js = ct.get("softwares", [])
    c("software.count", "len(softwares)", exp["software"]["count"], len(js))
    have = {(e.get("name"), e.get("version")) for e in js}
    for s in exp["software"]["samples"]:
        c(f"software[{s['name']}]", "softwares[].{name,version} present", True, (s["name"], s["version"]) in have)
    c("local_users", "len(local_users)", exp["local_users"], len(ct.get("local_users", [])))
    disks = {e["name"]: e["disksize"] for e in ct.get("storages", []) if e.get("type") != "flash"}
    c("storages", "storages {name: disksize}", {d["name"]: d["size_mib"] for d in exp["storages"]}, disks)

    # --- HTML: parses, and names the host ---
    class P(html.parser.HTMLParser):
        text = ""
        def handle_data(self, data):
            self.text += data
    p = P()
    p.feed(outputs["html"].decode("utf-8"))
    rep.check(name, "html", "hostname", "page text contains it", True, exp["hostname"] in p.text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runner", default="", help="command prefix, e.g. 'qemu-mipsel-static -cpu 24Kc'")
    ap.add_argument("--corpus", default=os.path.join(SHARED, "corpus"))
    ap.add_argument("--schema", default=SCHEMA)
    args = ap.parse_args()
    import jsonschema
    schema = json.load(open(args.schema))
    validator = jsonschema.validators.validator_for(schema)(schema)
    rep = Report()
    trees = sorted(d for d in os.listdir(args.corpus) if os.path.isfile(os.path.join(args.corpus, d, "expected.json")))
    if not trees:
        print(f"no trees in {args.corpus}")
        return 1
    for t in trees:
        print(f"== {t}")
        check_tree(t, os.path.join(args.corpus, t), args, validator, rep)
    if not args.runner:
        # This machine too: its JSON must validate like the trees'.
        print("== this machine (live)")
        vardir = tempfile.mkdtemp(prefix="uagent-live-")
        code, out, err = run([args.binary, "inventory", "--vardir", vardir, "--format", "json"], "")
        rep.check("live", "json", "exit status", "exit code", 0, code)
        errors = sorted(validator.iter_errors(json.loads(out)), key=lambda e: list(e.path)) if code == 0 else []
        rep.check("live", "json", "schema", "inventory.schema.json errors", [], [f"{list(e.path)}: {e.message}" for e in errors[:5]])
    print(f"{len(trees)} trees, binary {args.binary}" + (f", runner {args.runner}" if args.runner else ""))
    return rep.done("corpus")


if __name__ == "__main__":
    sys.exit(main())
