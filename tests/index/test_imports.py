"""The engine's modules: no import cycle, and nothing of Discord or the bot inside them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
INDEX = ROOT / "index"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(INDEX.rglob("*.py"))}


def with_parents(name: str) -> set[str]:
    """A module and every package above it: importing it runs their ``__init__`` first."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(MODULES)


def imported_at_load(path: Path) -> set[str]:
    """The index modules a module imports when it loads (not in functions, not for typing).

    Its own packages are left out: they are already loading when it is imported.
    """
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= with_parents(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= with_parents(node.module)
            for alias in node.names:  # ``from index import store`` imports a module
                found |= with_parents(f"{node.module}.{alias.name}")
    return found - with_parents(module_name(path))


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of the graph as a path, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_index_module_imports_another_that_imports_it_back():
    graph = {name: imported_at_load(path) for name, path in MODULES.items()}
    assert "index.store" in graph["index.build"]  # the graph is really read
    assert cycle(graph) is None


def test_every_index_module_loads_without_discord_or_the_bot():
    script = (
        "import importlib, sys\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'discord')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
