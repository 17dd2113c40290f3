"""Layout gate: no production source file over 400 lines, and no cycle of `use` between the
Rust files of a module tree (a file and the files it names with `super::x`, `crate::a::x` or
`self::x`). Test files (`*_tests.rs`, `tests.rs`) may be longer. Exit 1 with the offenders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAX_LINES = 400
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PYTHON = ROOT / "python"

PATH_RE = re.compile(r"\b(crate|super|self)((?:::[a-z_][a-z0-9_]*)+)")


def is_test(path: Path) -> bool:
    return path.name == "tests.rs" or path.stem.endswith("_tests")


def module_of(path: Path) -> tuple[str, ...]:
    """`src/core/client.rs` -> ("core", "client"); `src/fake/mod.rs` -> ("fake",)."""
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def without_test_modules(text: str) -> str:
    """The text before a trailing `#[cfg(test)] mod tests { ... }` (tests may use anything)."""
    match = re.search(r"#\[cfg\((?:all\()?test[^\]]*\]\s*mod tests\s*\{", text)
    return text[: match.start()] if match else text


def targets(path: Path, modules: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    own = module_of(path)
    # A mod.rs is its module; another file's `super` is the module it sits in.
    base = own if path.name == "mod.rs" else own[:-1]
    found = set()
    for match in PATH_RE.finditer(without_test_modules(path.read_text(encoding="utf-8"))):
        kind, rest = match.group(1), tuple(match.group(2).strip(":").split("::"))
        if kind == "crate":
            start: tuple[str, ...] = ()
        elif kind == "super":
            start = base
        else:
            start = own
        candidate = start + rest
        # The longest prefix that is a file of ours is what this names.
        while candidate and candidate not in modules:
            candidate = candidate[:-1]
        if candidate and candidate != own and candidate != own[: len(candidate)]:
            found.add(candidate)
    return found


def cycles(graph: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    found, state = [], {}

    def visit(node: tuple[str, ...], stack: list[tuple[str, ...]]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def main() -> int:
    problems = []
    rust = [p for p in SRC.rglob("*.rs")]
    python = [p for p in PYTHON.rglob("*.py")]
    for path in rust + python:
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES and not is_test(path):
            problems.append(f"{path.relative_to(ROOT)}: {lines} lines (at most {MAX_LINES})")
    production = [p for p in rust if not is_test(p)]
    modules = {module_of(p) for p in production}
    graph = {module_of(p): targets(p, modules) for p in production}
    for cycle in cycles(graph):
        problems.append("import cycle: " + " -> ".join("::".join(m) for m in cycle))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"layout: {len(rust) + len(python)} files, none over {MAX_LINES} lines, no import cycle")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
