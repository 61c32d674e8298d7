"""bot/'s two rooms: services import no Discord, and no extension imports another's modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
SERVICES = sorted(
    p.stem
    for p in (BOT / "services").iterdir()
    if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
)
EXTENSION_MODULES = sorted((BOT / "exts").rglob("*.py"))


def _extension_of(path: Path) -> str:
    """Return the extension a module of bot/exts belongs to: its package or its own name."""
    parts = path.relative_to(BOT / "exts").with_suffix("").parts
    return parts[0]


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_layout_lists_the_services_and_extensions():
    assert {"indexing", "fetching", "changes", "knowledge", "web", "records", "report"} <= set(
        SERVICES
    )
    assert BOT / "exts" / "kb" / "__init__.py" in EXTENSION_MODULES
    assert BOT / "exts" / "answers" / "__init__.py" in EXTENSION_MODULES


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_without_discord(service):
    code = (
        f"import sys, bot.services.{service}; "
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith(('discord.', "
        "'bot.exts', 'bot.client'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", EXTENSION_MODULES, ids=lambda p: p.relative_to(BOT).as_posix())
def test_an_extension_imports_no_other_extension(module):
    own = _extension_of(module)
    others = {
        name
        for name in _imported_modules(module)
        if name.startswith("bot.exts.") and name.split(".")[2] != own
    }
    assert others == set()


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in (BOT / "exts").glob("*/__init__.py"))
)
def test_an_extension_package_holds_only_setup_in_its_init(package):
    tree = ast.parse((BOT / "exts" / package / "__init__.py").read_text(encoding="utf-8"))
    defined = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert defined == ["setup"]
