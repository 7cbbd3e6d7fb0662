#!/usr/bin/env python3
"""ci/check-layers.py — the shape rules of src/ that a compiler does not see.

1. The include graph of src/ (every .c and .h, "..." includes) has no
   circle.
2. The modules of the common layer call each other without circles: a
   file uses another when it names an internal function (mproc__*) that
   the other defines (the backend contract, mproc__os_*, is a boundary:
   calling it uses no common file). Files that are one module split for size are
   grouped below (MODULES), each with its reason; a circle between
   modules fails, as child.c / init.c / process.c once made one, and so
   does a new file that joins a group's circle without being in it.
3. The common layer (src/*.c, src/*.h) has no platform conditional: no
   #if/#ifdef on _WIN32, __APPLE__, __linux__ and the like (backends live
   in src/posix and src/win32, chosen by CMake).
4. No file of src/ is over MAX_LINES lines (split it by duty instead).

Usage: python3 ci/check-layers.py [SRC_DIR]   (default: src next to ci/)
Exits 1 with one line per problem, 0 with a summary line.
"""
import fnmatch
import os
import re
import sys

# Files that are one module, split only to keep each under ~1000 lines
# (fnmatch patterns: a module's later files join it by their names).
MODULES = {
    # The kind table (object.h) makes and adopts every shareable kind;
    # each kind's file uses the common object code in pass.c back.
    "objects": ["array.c", "pass.c", "queue.c", "sync-*.c"],
    # Futures and the executors (thread, process, MPI) that complete them.
    "futures": ["executor*.c", "future*.c", "wset*.c"],
    # Named shared memory, the registry of its holders, the arenas that
    # pack small objects into shared segments, and the tracker that sweeps
    # all of them once the program has ended.
    "shm": ["registry.c", "shm.c", "shm-plain.c", "arena.c", "tracker.c"],
    # The Manager: its server, its data kinds and its proxies.
    "manager": ["manager*.c", "mgr-*.c"],
}

MAX_LINES = 1000

PLATFORM_MACROS = (r"_WIN32|_WIN64|__WIN32__|__MINGW32__|__MINGW64__|"
                   r"__CYGWIN__|_MSC_VER|__APPLE__|__MACH__|__linux__|"
                   r"__linux|__unix__|__unix|__FreeBSD__|__NetBSD__|"
                   r"__OpenBSD__|__DragonFly__|__sun|__GLIBC__|_POSIX_VERSION|"
                   r"__ANDROID__|__EMSCRIPTEN__")
PLATFORM_IF = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif)\b.*\b(" +
                         PLATFORM_MACROS + r")\b")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
# A function definition: a name at the start of a declaration that opens
# a body on this line or the next (the project's style: one line or two).
DEFINE = re.compile(r"^(?!\s)(?:[A-Za-z_][\w\s\*]*?\s\**)?(mproc__\w+)\s*\(")
USE = re.compile(r"\b(mproc__\w+)\b")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def read(path):
    with open(path, encoding="utf-8") as f:
        return strip_comments(f.read())


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def include_graph(src):
    graph = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            edges = graph.setdefault(rel, set())
            for line in read(path).splitlines():
                m = INCLUDE.match(line)
                if not m:
                    continue
                here = os.path.normpath(os.path.join(os.path.dirname(rel),
                                                     m.group(1)))
                if os.path.exists(os.path.join(src, here)):
                    edges.add(here)
                elif os.path.exists(os.path.join(src, m.group(1))):
                    edges.add(os.path.normpath(m.group(1)))
    return graph


def definitions(text):
    found, lines = set(), text.splitlines()
    for i, line in enumerate(lines):
        m = DEFINE.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        rest = line[m.end():] + " " + " ".join(lines[i + 1:i + 4])
        body = rest.find("{")
        semi = rest.find(";")
        if body >= 0 and (semi < 0 or body < semi):
            found.add(m.group(1))
    return found


def module_graph(src):
    files = sorted(f for f in os.listdir(src) if f.endswith(".c"))
    texts = {f: read(os.path.join(src, f)) for f in files}
    owner = {}
    for f in files:
        for name in definitions(texts[f]):
            owner.setdefault(name, f)
    group = {f: g for f in files for g, pats in MODULES.items()
             if any(fnmatch.fnmatch(f, p) for p in pats)}
    graph = {}
    for f in files:
        me = group.get(f, f)
        edges = graph.setdefault(me, set())
        for name in set(USE.findall(texts[f])):
            # The backend contract (mproc__os_*) is a boundary, not a use
            # of whichever file implements it (src/park-sem.c does, for
            # the backends that park on named semaphores).
            other = None if name.startswith("mproc__os_") else owner.get(name)
            if other and group.get(other, other) != me:
                edges.add(group.get(other, other))
    return graph, files


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    src = os.path.normpath(src)
    problems = []

    inc = include_graph(src)
    for comp in cycles(inc):
        problems.append("include circle: " + " -> ".join(comp))

    mods, _ = module_graph(src)
    for comp in cycles(mods):
        problems.append("module circle in the common layer: " +
                        " <-> ".join(comp) + " (break it with a hook, a "
                        "callback or a plain struct; or, if the files are "
                        "one module, group them in MODULES with a reason)")
    for name in sorted(os.listdir(src)):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if PLATFORM_IF.match(line):
                    problems.append("platform conditional in the common "
                                    "layer: src/%s:%d: %s" %
                                    (name, n, line.strip()))

    for root, _, names in os.walk(src):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                n = sum(1 for _ in f)
            if n > MAX_LINES:
                problems.append("%s is %d lines; split it by duty (limit %d)"
                                % (os.path.relpath(path, src), n, MAX_LINES))

    for p in problems:
        print("check-layers: " + p)
    if problems:
        return 1
    print("check-layers: %d files, %d include edges, %d common modules: no "
          "include circle, no module circle, no platform #if in src/*, no file over %d lines" %
          (len(inc), sum(len(e) for e in inc.values()), len(mods),
           MAX_LINES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
