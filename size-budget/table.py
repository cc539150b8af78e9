#!/usr/bin/env python3
"""The size table of size-budget/check: the stripped size of each built target x feature set
against its row in budgets.tsv. Also checks that each binary is what we ship: static (no
PT_INTERP) and stripped (no .symtab). Exit 1 on any breach, missing binary or missing row."""
import argparse
import os
import struct
import sys

KIB = 1024


def read_budgets(path):
    """{(target, set): (budget_kib, aim_kib or None)} from the tab-separated table."""
    budgets = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            cols = line.split()
            if len(cols) not in (3, 4):
                sys.exit(f"{path}:{n}: expected 'target set budget_kib [aim_kib]', got {line!r}")
            try:
                budget = int(cols[2])
                aim = int(cols[3]) if len(cols) == 4 and cols[3] != "-" else None
            except ValueError:
                sys.exit(f"{path}:{n}: sizes are whole KiB, got {line!r}")
            if (cols[0], cols[1]) in budgets:
                sys.exit(f"{path}:{n}: second row for {cols[0]} {cols[1]}")
            budgets[(cols[0], cols[1])] = (budget, aim)
    return budgets


def elf_facts(path):
    """(is_static, is_stripped) from the ELF headers, for 32/64-bit and either byte order."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        phoff, shoff = struct.unpack_from(end + "QQ", data, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(end + "HHHHH", data, 0x36)
    else:
        phoff, shoff = struct.unpack_from(end + "II", data, 0x1C)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(end + "HHHHH", data, 0x2A)
    PT_INTERP, SHT_SYMTAB = 3, 2
    static = all(struct.unpack_from(end + "I", data, phoff + i * phentsize)[0] != PT_INTERP for i in range(phnum))
    stripped = all(struct.unpack_from(end + "II", data, shoff + i * shentsize)[1] != SHT_SYMTAB for i in range(shnum))
    return static, stripped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", required=True)
    ap.add_argument("--out-root", required=True)
    ap.add_argument("--dir-suffix", default="")
    ap.add_argument("--timings", default="")
    ap.add_argument("--report", default="")
    ap.add_argument("--pairs", nargs="+", required=True, metavar="TRIPLE:SET")
    a = ap.parse_args()
    pairs = []
    for p in a.pairs:
        t, sep, s = p.rpartition(":")
        if not sep or not t or not s:
            sys.exit(f"table.py: --pairs wants TRIPLE:SET, got {p!r}")
        pairs.append((t, s))

    budgets = read_budgets(a.budgets)
    timings = {}
    if a.timings and os.path.exists(a.timings):
        for line in open(a.timings):
            t, s = line.split()
            timings[t] = int(s)

    rows, failures = [], 0
    for t, s in pairs:
        path = os.path.join(a.out_root, t + a.dir_suffix, "out", s, "uagent")
        budget, aim = budgets.get((t, s), (None, None))
        if not os.path.exists(path):
            rows.append((t, s, None, budget, aim, "FAIL: not built"))
            failures += 1
            continue
        size = os.path.getsize(path)
        facts = elf_facts(path)
        status = "ok"
        if facts is None:
            status = "FAIL: not an ELF file"
        elif not facts[0]:
            status = "FAIL: dynamically linked"
        elif not facts[1]:
            status = "FAIL: not stripped"
        elif budget is None:
            status = "FAIL: no row in budgets.tsv"
        elif size > budget * KIB:
            status = "FAIL: over budget"
        elif aim is not None and size > aim * KIB:
            status = "ok (over the aim)"
        if status.startswith("FAIL"):
            failures += 1
        rows.append((t, s, size, budget, aim, status))

    head = ["target", "set", "bytes", "KiB", "budget KiB", "headroom KiB", "aim KiB", "status"]
    table = []
    for t, s, size, budget, aim, status in rows:
        kib = f"{size / KIB:.1f}" if size is not None else "-"
        room = f"{budget - size / KIB:+.1f} ({(budget * KIB - size) * 100 / (budget * KIB):+.0f} %)" if size is not None and budget else "-"
        table.append([t, s, f"{size:,}" if size is not None else "-", kib, str(budget or "-"), room, str(aim or "-"), status])
    widths = [max(len(r[i]) for r in [head] + table) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in table]
    if timings:
        out.append("")
        out.append("build time per target (all its sets, s): " + ", ".join(f"{t} {n}" for t, n in timings.items()) + f"; total {sum(timings.values())}")
    text = "\n".join(out)
    print(text)
    if a.report:
        with open(a.report, "w") as f:
            f.write(text + "\n")
    print(f"size-budget: {len(rows) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
