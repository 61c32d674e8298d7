"""bot/'s modules import one another without a circle, counting imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.index.test_imports import ROOT, cycle, module_name

MODULES = {module_name(p): p for p in sorted((ROOT / "bot").rglob("*.py"))}


def with_parents(name: str) -> set[str]:
    """A bot module and every package above it (importing it runs their ``__init__`` first)."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(MODULES)


def _for_typing_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def imported(path: Path) -> set[str]:
    """The bot modules a module imports anywhere in it (a function's import counts too).

    A lazy import inside a function still makes two modules lean on each other (cli.py
    and runner.py once did); only imports for type checkers are left out, and the
    module's own packages, which are already loading when it is imported.
    """
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if _for_typing_only(node):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found |= with_parents(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= with_parents(node.module)
            for alias in node.names:  # ``from bot.services import errors`` imports a module
                found |= with_parents(f"{node.module}.{alias.name}")
        pending.extend(ast.iter_child_nodes(node))
    return found - with_parents(module_name(path))


def test_the_graph_covers_bot():
    graph = {name: imported(path) for name, path in MODULES.items()}
    assert {"bot.cli", "bot.cli.runner", "bot.services.errors", "bot.config"} <= set(graph)
    assert "bot.services.errors" in graph["bot.cli.runner"]


def test_no_module_of_bot_imports_another_in_a_circle():
    graph = {name: imported(path) for name, path in MODULES.items()}

    assert cycle(graph) is None


def test_a_circle_is_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
