#!/usr/bin/env python3
"""Keeps the crate's imports one-way (docs/architecture.md).

Reads every file under src/ (main.rs aside: it is the binary and uses the library by name),
finds each module path it names (`use crate::…`, `super::…`, `self::…`, a child module's name,
and paths in expressions such as `crate::x::f()`), resolves it to the file that defines it
(through `pub use` re-exports) and draws an arrow from file to file. Test code is left out:
`#[cfg(test)]` modules and the files they pull in (`*_tests.rs`, `tests.rs`, `testutil.rs`).

Fails (exit 1) on
- a cycle: a file that imports a file that imports it back, through any path;
- an upward arrow: a module importing a top-level module drawn above its own in LAYERS
  (the picture in docs/architecture.md).
A parent's `pub use child::X` is a facade for the parent's users, not an arrow.
Needs nothing but python3; runs in well under a second.
"""

import os
import re
import sys

# Top to bottom, as drawn in docs/architecture.md. A module may import its own layer's
# modules (no cycle allowed) and anything below; never above. `lib` (the crate root) wires.
LAYERS = [
    ["lib"],
    ["cli"],
    ["tools"],
    ["presence"],
    ["ingress"],
    ["metrics"],
    ["health"],
    ["pipeline"],
    ["decode"],
    ["auth"],
    ["deliver"],
    ["publish"],
    ["dlq"],
    ["route"],
    ["callbacks"],
    ["event"],
    ["config", "kafka_args"],
    ["query"],
    ["spool"],
    ["refusal", "record", "clock", "watch"],
]

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
TEST_FILES = re.compile(r"(^|/)(tests|testutil|[a-z_]+_tests)\.rs$")
KEYWORDS = {"crate", "super", "self"}


def module_of(rel):
    """src-relative file path -> module path tuple (lib.rs -> ())."""
    if rel == "lib.rs":
        return ()
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip(text):
    """Drops comments, string literals and `#[cfg(test)]` modules."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"(?m)^\s*//.*$", "", text)
    text = re.sub(r'r#+".*?"#+', '""', text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*(;|\{)", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        if m.group(1) == ";":
            i = m.end()
            continue
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand(tree, prefix=()):
    """A `use` tree (`a::{b, c::d as e}`) -> [(path tuple, bound name)]."""
    tree = tree.strip()
    m = re.match(r"^((?:\w+\s*::\s*)*)\{(.*)\}$", tree, re.S)
    if m:
        head = tuple(s.strip() for s in m.group(1).split("::") if s.strip())
        items, depth, cur = [], 0, ""
        for ch in m.group(2):
            if ch == "," and depth == 0:
                items.append(cur)
                cur = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            cur += ch
        items.append(cur)
        return [r for it in items if it.strip() for r in expand(it, prefix + head)]
    alias = None
    if " as " in tree:
        tree, alias = [s.strip() for s in tree.split(" as ")]
    path = prefix + tuple(s.strip() for s in tree.split("::") if s.strip())
    if path and path[-1] == "self":
        path = path[:-1]
    return [(path, alias or (path[-1] if path else ""))]


class Crate:
    def __init__(self, root):
        self.files = {}  # module -> stripped text
        self.rel = {}  # module -> file
        self.test = set()
        for dirpath, _, names in os.walk(root):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
                if rel == "main.rs" or TEST_FILES.search(rel):
                    continue
                self.rel[module_of(rel)] = rel
        # `#[path = "x.rs"] mod y;` (a test file named apart from its module)
        for mod, rel in list(self.rel.items()):
            text = open(os.path.join(root, rel), encoding="utf-8").read()
            for m in re.finditer(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)', text):
                target = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
                if target in self.rel.values() and not TEST_FILES.search(target):
                    del self.rel[module_of(target)]
                    self.rel[mod + (m.group(2),)] = target
        for mod, rel in self.rel.items():
            self.files[mod] = strip(open(os.path.join(root, rel), encoding="utf-8").read())
        self.reexports = {}  # (module, name) -> absolute path
        for mod, text in self.files.items():
            for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
                for path, name in expand(m.group(1)):
                    absolute = self.absolute(mod, path)
                    if absolute is not None:
                        self.reexports[(mod, name)] = absolute

    def parent_of(self, mod):
        return mod[:-1]

    def absolute(self, mod, path):
        """A path as written in `mod` -> absolute segments, or None (another crate)."""
        if not path:
            return None
        if path[0] == "crate":
            return path[1:]
        cur, rest = mod, list(path)
        if rest[0] not in KEYWORDS:
            return mod + tuple(rest) if mod + (rest[0],) in self.rel else None
        while rest and rest[0] in KEYWORDS:
            if rest[0] == "super":
                cur = self.parent_of(cur)
            rest.pop(0)
        return cur + tuple(rest)

    def resolve(self, path, depth=0):
        """Absolute segments -> the module (file) that defines what they name."""
        cur = ()
        for seg in path:
            if cur + (seg,) in self.rel:
                cur = cur + (seg,)
            elif (cur, seg) in self.reexports and depth < 10:
                return self.resolve(self.reexports[(cur, seg)], depth + 1)
            else:
                break
        return cur

    def edges(self):
        out = {m: set() for m in self.rel}
        for mod, text in self.files.items():
            paths = []
            for m in re.finditer(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
                for p, _ in expand(m.group(2)):
                    absolute = self.absolute(mod, p)
                    # A parent naming its child's item for its users (`pub use child::X`) is
                    # a facade, not a use: it does not make the parent depend on the child.
                    if m.group(1) and absolute and self.resolve(absolute)[: len(mod)] == mod:
                        continue
                    paths.append(p)
            body = re.sub(r"\buse\s+[^;]+;", "", text)
            for m in re.finditer(r"(?<![\w:])((?:\w+::)+\w+)", body):
                paths.append(tuple(m.group(1).split("::")))
            for path in paths:
                absolute = self.absolute(mod, path)
                if absolute is None:
                    continue
                target = self.resolve(absolute)
                if target != mod and target in self.rel and target != ():
                    out[mod].add(target)
        return out


def layer_of(mod):
    top = mod[0] if mod else "lib"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    return None


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def name(mod):
    return "::".join(mod) or "lib"


def main():
    crate = Crate(ROOT)
    edges = crate.edges()
    problems = []
    for mod in sorted(edges):
        if layer_of(mod) is None:
            problems.append(f"{crate.rel[mod]}: module `{name(mod)}` is not in LAYERS (scripts/check-imports.py)")
    for mod in sorted(edges):
        for target in sorted(edges[mod]):
            here, there = layer_of(mod), layer_of(target)
            if here is not None and there is not None and there < here:
                problems.append(f"{crate.rel[mod]}: imports `{name(target)}`, drawn above `{name(mod)}`")
    for comp in cycles(edges):
        problems.append("import cycle: " + " ⇄ ".join(name(m) for m in comp))
    if "-v" in sys.argv:
        for mod in sorted(edges):
            print(f"{name(mod)} -> {', '.join(name(t) for t in sorted(edges[mod]))}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"check-imports: {len(problems)} problem(s); arrows must point down (docs/architecture.md)", file=sys.stderr)
        return 1
    print(f"check-imports: {len(edges)} files, imports one-way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
