#!/usr/bin/env python3
"""Checks the architecture of src/: the layers import only downward, and no two modules import
each other round a circle.

Layers, from the bottom: core, sys, state, config, http, protocol, snmp, tasks, httpd, agent, inject,
cli. A module may use its own layer and the ones below. Within the code, a "module" is a path of
two levels (`agent::daemon`, `tasks::inventory`, `core::tz`); imports between a module and its
own parent or children are not counted (a folder's mod.rs and its files are one part), and
neither is test code (`#[cfg(test)]` blocks, `tests.rs`, `test_data.rs`).

Also checks that README.md's layout table names every folder of src/ and nothing else.

    tests/layout/check_layers.py [--repo DIR]
"""
import argparse
import os
import re
import sys

LAYERS = ["core", "sys", "state", "config", "http", "protocol", "snmp", "tasks", "httpd", "agent",
          "inject", "cli"]
ROOT_FILES = {"lib", "main"}


def module_of(path, src):
    """`src/agent/daemon.rs` -> ['agent', 'daemon']; `src/core/tz/mod.rs` -> ['core', 'tz']."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    return rel


def code_without_tests(text):
    """The text up to the first `#[cfg(test)]` that opens a block or a `mod tests;` line."""
    m = re.search(r"^\s*#\[cfg\(test\)\]\s*\n\s*(pub(\(crate\))?\s+)?mod\s+\w+", text, re.M)
    return text[: m.start()] if m else text


def references(text, here):
    """Absolute module paths this file refers to: `crate::a::b…` and `super::…` forms."""
    out = set()
    for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", text):
        out.add(tuple(m.group(1).split("::")))
    # use-groups: `use crate::{a, b::c}`
    for m in re.finditer(r"\buse\s+crate::\{([^;]*)\};", text, re.S):
        for part in re.split(r"[,{}\s]+", m.group(1)):
            if part and part not in ("self", "*"):
                out.add(tuple(part.split("::")))
    for m in re.finditer(r"\b((?:super::)+)((?:\w+::)*\w+)", text):
        ups = m.group(1).count("super::")
        base = here[: len(here) - ups] if ups <= len(here) else []
        out.add(tuple(base) + tuple(m.group(2).split("::")))
    return out


def node(path):
    return tuple(path[:2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = ap.parse_args()
    src = os.path.join(args.repo, "src")
    modules = set()
    files = []
    for d, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(d, n)
                files.append(p)
                modules.add(tuple(module_of(p, src)))
    failures = []
    edges = {}
    for p in sorted(files):
        here = module_of(p, src)
        if here[-1] in ("tests", "test_data", "test_support") or here[0] in ROOT_FILES:
            continue
        text = code_without_tests(open(p, encoding="utf-8").read())
        # Comments name other modules to explain; only code imports.
        text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
        top = here[0]
        for ref in references(text, here):
            if not ref or ref[0] not in LAYERS:
                continue
            target_top = ref[0]
            if LAYERS.index(target_top) > LAYERS.index(top):
                failures.append(f"{os.path.relpath(p, args.repo)}: layer {top} imports {'::'.join(ref)} "
                                f"from the higher layer {target_top}")
            # The longest known module prefix of the reference.
            target = next((ref[:k] for k in range(len(ref), 0, -1) if ref[:k] in modules), ref[:1])
            a, b = node(tuple(here)), node(target)
            if a == b or a[: len(b)] == b or b[: len(a)] == a:
                continue
            edges.setdefault(a, set()).add(b)
    # Circles between modules.
    seen, stack, on_stack = set(), [], set()
    cycles = []

    def visit(n):
        seen.add(n)
        stack.append(n)
        on_stack.add(n)
        for m in sorted(edges.get(n, ())):
            if m in on_stack:
                cycles.append(stack[stack.index(m):] + [m])
            elif m not in seen:
                visit(m)
        stack.pop()
        on_stack.discard(n)

    for n in sorted(edges):
        if n not in seen:
            visit(n)
    for c in cycles:
        failures.append("import circle: " + " -> ".join("::".join(n) for n in c))
    # README's layout table against the tree.
    readme = open(os.path.join(args.repo, "README.md"), encoding="utf-8").read()
    table = readme.split("## Layout", 1)[-1].split("\n## ", 1)[0]
    named = set(re.findall(r"`src/([\w/]+?)/?`", table))
    dirs = set()
    for d, subdirs, _ in os.walk(src):
        rel = os.path.relpath(d, src)
        if rel != "." and rel.count(os.sep) < 2:
            dirs.add(rel.replace(os.sep, "/"))
    top_dirs = {d for d in dirs if "/" not in d}
    for d in sorted(top_dirs - {n.split("/")[0] for n in named}):
        failures.append(f"README.md's layout table does not name src/{d}/")
    for n in sorted(named):
        if n not in dirs and not os.path.exists(os.path.join(src, n + ".rs")) \
                and not os.path.exists(os.path.join(src, n)):
            failures.append(f"README.md's layout table names src/{n}, which does not exist")
    print(f"layers: {len(files)} files, {sum(len(v) for v in edges.values())} imports between modules, "
          f"{len(cycles)} circles")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
