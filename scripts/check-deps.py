#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the node's modules call each other without a loop.

Reads the symbols each object file of the chord_node library defines and
uses (nm), draws an edge from a file to every file whose functions it
calls, and fails when the graph has a cycle, printing it. Calls back
through function pointers are not edges, which is the point: a lower
module hands control back up only through a callback it was given.

    scripts/check-deps.py BUILD_DIR
"""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def find_cycle(graph):
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if w not in state:
                c = visit(w)
                if c:
                    return c
        stack.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            c = visit(v)
            if c:
                return c
    return None


# A front and its backends behind one private interface (store.c picks
# store_mem.c or store_dir.c through an ops table, and both use its
# helpers) are one module.
FAMILIES = {"store_mem": "store", "store_dir": "store"}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check-deps.py BUILD_DIR")
    objdir = os.path.join(sys.argv[1], "CMakeFiles", "chord_node.dir",
                          "src", "node")
    objs = sorted(f for f in os.listdir(objdir) if f.endswith(".o"))
    if not objs:
        sys.exit("check-deps: no object files in %s" % objdir)
    defs, uses = {}, {}
    for o in objs:
        name = o[:-len(".c.o")]
        name = FAMILIES.get(name, name)
        d, u = symbols(os.path.join(objdir, o))
        defs.setdefault(name, set()).update(d)
        uses.setdefault(name, set()).update(u)
    owner = {s: m for m, ds in defs.items() for s in ds}
    graph = {m: {owner[s] for s in uses[m] if s in owner and owner[s] != m}
             for m in defs}
    cycle = find_cycle(graph)
    for m in sorted(graph):
        print("  %-14s -> %s" % (m, " ".join(sorted(graph[m])) or "-"))
    if cycle:
        print("check-deps: the node's files call each other in a loop: " +
              " -> ".join(cycle), file=sys.stderr)
        sys.exit(1)
    print("check-deps: %d modules, no loop" % len(graph))


if __name__ == "__main__":
    main()
