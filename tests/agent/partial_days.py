#!/usr/bin/env python3
"""Bytes a router sends its GLPI server, day by day, with and without partial inventories.

Thirty simulated days of the OpenWrt router of ../shared/corpus (a copy of its files), one
agent run a day against the project's GLPI stand-in, twice over: with the default
`full-inventory-postpone 14` (partial inventories of what changed, a full one every 15th
run) and with `full-inventory-postpone 0` (a full inventory every day). The package list
changes as a router's does: a package upgraded now and then, one installed, one removed, and
a firmware upgrade (sysupgrade: new release, every package rebuilt) on day 20. The agent is
the real one (UAGENT_INVENTORY_ROOT points its inventories at the router's files).

Prints the bytes of each day (request bodies as sent, zlib, plus the HTTP request heads), the
totals, and what they mean for a server taking 100,000 such routers; fails when the partial
runs do not send less than the full ones, or when an inventory does not validate.

    tests/agent/partial_days.py --binary target/release/uagent
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import SCHEMA, SHARED, Checks, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "peers", "fake_server.py")
ROUTER = os.path.join(SHARED, "corpus", "openwrt-ramips-mt7621", "root")
DAYS = 30
FLEET = 100_000
NEW_PACKAGES = ["kmod-wireguard", "wireguard-tools", "luci-app-sqm", "sqm-scripts", "tcpdump-mini",
                "iperf3", "luci-app-statistics", "collectd", "adblock", "ddns-scripts"]


def read_packages(path):
    text = open(path).read()
    return [b for b in text.split("\n\n") if b.strip()]


def write_packages(path, blocks):
    os.chmod(path, 0o644)
    with open(path, "w") as f:
        f.write("\n\n".join(blocks) + "\n")


def bump(block, tag):
    return re.sub(r"^Version: (.*)$", lambda m: f"Version: {m.group(1)}.{tag}", block, count=1, flags=re.M)


def change(day, root, rng):
    """What happens to the router on `day`; returns a word for the table."""
    status = os.path.join(root, "usr", "lib", "opkg", "status")
    blocks = read_packages(status)
    what = []
    if day == 20:
        # sysupgrade: a new release, every package rebuilt.
        for name in ("os-release", "openwrt_release"):
            p = os.path.join(root, "etc", name)
            os.chmod(p, 0o644)
            text = open(p).read().replace("23.05.5", "23.05.6")
            open(p, "w").write(text)
        blocks = [bump(b, "r2") for b in blocks]
        what.append("firmware upgrade")
    else:
        if rng.random() < 0.2:
            i = rng.randrange(len(blocks))
            blocks[i] = bump(blocks[i], f"d{day}")
            what.append("1 upgrade")
        if rng.random() < 0.07 and NEW_PACKAGES:
            name = NEW_PACKAGES.pop(0)
            blocks.append(f"Package: {name}\nVersion: 1.0-1\nDepends: libc\nStatus: install user installed\n"
                          f"Architecture: mipsel_24kc\nInstalled-Time: {1727094886 + day * 86400}")
            what.append("1 install")
        if rng.random() < 0.04:
            blocks.pop(rng.randrange(len(blocks)))
            what.append("1 removal")
    write_packages(status, blocks)
    return ", ".join(what) or "-"


def wire_bytes(r):
    """Bytes of a request on the wire: its head (request line, fields) and its body."""
    head = len(f"{r['method']} {r['path']} {r['version']}\r\n") + 2
    head += sum(len(k) + len(v) + 4 for k, v in r["raw_headers"])
    return head + r["body_bytes"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    checks = Checks()
    work = tempfile.mkdtemp(prefix="uagent-days-")
    root = os.path.join(work, "router")
    shutil.copytree(ROUTER, root, symlinks=True)
    log = os.path.join(work, "glpi.jsonl")
    fake = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--mode", "glpi", "--schema", SCHEMA, "--log", log],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = fake.stdout.readline().strip()
    modes = {"partial": ("14", base + "partial/front/inventory.php"), "full": ("0", base + "full/front/inventory.php")}
    env = dict(os.environ, UAGENT_INVENTORY_ROOT=root)
    rng = random.Random(20260101)
    rows = []
    seen = 0

    def new_requests():
        nonlocal seen
        lines = open(log).read().splitlines() if os.path.exists(log) else []
        out = [json.loads(l) for l in lines[seen:]]
        seen = len(lines)
        return [e for e in out if e.get("event") == "request"]

    try:
        for day in range(1, DAYS + 1):
            what = change(day, root, rng) if day > 1 else "first contact"
            row = {"day": day, "what": what}
            for mode, (postpone, url) in modes.items():
                p = subprocess.run([args.binary, "--server", url, "--vardir", os.path.join(work, "var-" + mode),
                                    "--full-inventory-postpone", postpone, "--itemtype", "NetworkEquipment"],
                                   capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
                reqs = new_requests()
                if p.returncode != 0:
                    checks.true(f"day {day} {mode}: exit 0", False, p.stderr[-400:])
                invs = [r for r in reqs if r["kind"] == "inventory"]
                bad = [r.get("validation_error") for r in invs if r.get("status") != 200]
                if bad:
                    checks.true(f"day {day} {mode}: valid inventory", False, str(bad)[:300])
                doc = json.loads(invs[-1]["body"]) if invs else {}
                row[mode] = sum(wire_bytes(r) for r in reqs)
                row[mode + "_inv"] = sum(r["body_bytes"] for r in invs)
                row[mode + "_json"] = sum(len(r.get("body") or "") for r in invs)
                row[mode + "_soft"] = len(doc.get("content", {}).get("softwares", []))
                row[mode + "_sent"] = ("partial: " + ",".join(k for k in sorted(doc.get("content", {}))
                                                          if k not in ("versionclient",))
                                       if doc.get("partial") else "full")
            rows.append(row)
    finally:
        stop(fake)
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'':>3}  {'':<18} {'all requests':>17} {'inventory bodies':>17}")
    print(f"{'day':>3}  {'change':<18} {'partial':>8} {'full':>8} {'partial':>8} {'full':>8}  sent with partials")
    for r in rows:
        print(f"{r['day']:>3}  {r['what']:<18} {r['partial']:>8} {r['full']:>8} {r['partial_inv']:>8} {r['full_inv']:>8}"
              f"  {r['partial_sent']}")
    tp, tf = sum(r["partial"] for r in rows), sum(r["full"] for r in rows)
    ip, if_ = sum(r["partial_inv"] for r in rows), sum(r["full_inv"] for r in rows)
    # The first day is the same for both: the steady state is what a fleet sees every day.
    sp = sum(r["partial"] for r in rows[1:]) / (DAYS - 1)
    sf = sum(r["full"] for r in rows[1:]) / (DAYS - 1)
    print(f"\n{DAYS} days, all requests (CONTACT and inventory, heads and zlib bodies, no TLS): {tp:,} bytes with "
          f"partial inventories, {tf:,} with a full one every day ({tp / tf:.0%}); from day 2 on {sp:,.0f} vs "
          f"{sf:,.0f} bytes a day ({sf / sp:.1f}x less)")
    print(f"{DAYS} days, inventory bodies alone: {ip:,} vs {if_:,} bytes ({if_ / ip:.1f}x less)")
    jp = sum(r["partial_json"] for r in rows[1:]) / (DAYS - 1)
    jf = sum(r["full_json"] for r in rows[1:]) / (DAYS - 1)
    wp = sum(r["partial_soft"] for r in rows[1:]) / (DAYS - 1)
    wf = sum(r["full_soft"] for r in rows[1:]) / (DAYS - 1)
    print(f"JSON the server parses and files, from day 2 on: {jp:,.0f} vs {jf:,.0f} bytes a day; software entries "
          f"{wp:.1f} vs {wf:.1f} a day; for {FLEET:,} routers {jp * FLEET / 1e9:.2f} vs {jf * FLEET / 1e9:.2f} GB "
          f"and {wp * FLEET / 1e6:.1f} vs {wf * FLEET / 1e6:.1f} million software entries a day")
    for label, per_day in (("partial", sp), ("full", sf)):
        fleet = per_day * FLEET
        print(f"  {FLEET:,} routers, {label:<7}: {fleet / 1e6:,.1f} MB a day, {fleet * 30 / 1e9:,.2f} GB a month, "
              f"{fleet * 8 / 86400 / 1e3:,.1f} kbit/s on average, {2 * FLEET / 86400:.1f} requests/s")
    fulls = sum(1 for r in rows if r["partial_sent"] == "full")
    checks.true(f"the partial runs send less ({tp:,} < {tf:,} bytes)", tp < tf)
    checks.true(f"a full inventory on the first day and after 14 partial ones ({fulls} full in {DAYS} days)",
                rows[0]["partial_sent"] == "full" and rows[15]["partial_sent"] == "full" and 2 <= fulls <= 3,
                [r["partial_sent"] for r in rows][:17])
    checks.true("the package changes are sent as partials with the software",
                any("softwares" in r["partial_sent"] for r in rows[1:15]))
    checks.true("every day of the full mode sends a full inventory", all(r["full_sent"] == "full" for r in rows))
    return checks.done("partial-days")


if __name__ == "__main__":
    sys.exit(main())
