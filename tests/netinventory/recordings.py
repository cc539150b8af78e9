"""The snmpsim-data recordings the SNMP inventory tests replay: the smaller ones of every
category (switches, routers, firewalls, Wi-Fi, UPS, Linux and Windows hosts, appliances,
storage, cameras), converted to `snmpwalk -On` text by tests/netdiscovery/lab.py's converter."""
import bz2
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "netdiscovery"))
from lab import DATA, VENV, snmprec_to_walk  # noqa: E402,F401

# Category (folder under snmpsim_data/data) -> how many of its smallest recordings.
PICK = {
    "network/switch": 10, "network/router": 4, "network/firewall": 6, "network/wifi": 4,
    "network/appliance": 4, "UPS": 6, "os/linux": 6, "os/windows": 1, "storage": 2,
    "camera": 1, "cloud": 1,
}
MAX_LINES = 30000
# Larger recordings taken whatever their size: the makers with rules of their own (HP ProCurve's
# HP-HTTP-MG serial and ROM version).
EXTRA = ["network/switch/hpe-procurve-516733-b21"]


def read(path):
    opener = bz2.open if path.endswith(".bz2") else open
    with opener(path, "rt", encoding="latin-1") as f:
        return f.readlines()


def pick():
    """[(name, category, snmprec lines)], at least 40 of them."""
    if not os.path.isdir(DATA):
        raise RuntimeError(f"{DATA} is missing: tests/run.sh installs snmpsim-data in {VENV}")
    out = []
    for cat, n in PICK.items():
        d = os.path.join(DATA, cat)
        files = []
        for root, _, names in os.walk(d):
            for name in names:
                if ".snmprec" in name:
                    p = os.path.join(root, name)
                    lines = read(p)
                    if len(lines) <= MAX_LINES:
                        files.append((len(lines), p, lines))
        files.sort(key=lambda t: (t[0], t[1]))
        for _, p, lines in files[:n]:
            name = os.path.basename(p).split(".snmprec")[0].replace(" ", "_")
            out.append((name, cat, lines))
    for extra in EXTRA:
        cat, base = extra.rsplit("/", 1)
        d = os.path.join(DATA, cat)
        found = [n for n in os.listdir(d) if n.split(".snmprec")[0] == base] if os.path.isdir(d) else []
        if not found:
            raise RuntimeError(f"{extra} is not in {DATA}")
        name = base.replace(" ", "_")
        if name not in [n for n, _, _ in out]:
            out.append((name, cat, read(os.path.join(d, found[0]))))
    return out


def write_walks(dest):
    """Writes NAME.walk and NAME.snmprec for each recording into dest; their list."""
    os.makedirs(dest, exist_ok=True)
    picked = pick()
    for name, _, lines in picked:
        with open(os.path.join(dest, name + ".walk"), "w", encoding="latin-1") as f:
            f.write("\n".join(snmprec_to_walk(lines)) + "\n")
        with open(os.path.join(dest, name + ".snmprec"), "w", encoding="latin-1") as f:
            # snmpsim's variation records (`tag:module`) are left out, as the walk leaves them.
            f.writelines(l for l in lines if l.count("|") >= 2 and ":" not in l.split("|")[1])
    return [(n, c) for n, c, _ in picked]
