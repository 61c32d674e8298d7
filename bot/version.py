"""The version of the code that runs: the package's metadata, or pyproject.toml in a checkout.

An installed copy (``pip install .``) carries its version in its metadata. Code run from
a checkout reads the checkout's ``pyproject.toml`` instead, whether or not it is also
installed there in editable mode: an editable install's metadata keeps the version it
was installed at, so after a ``git pull`` that bumps it the metadata would be stale.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "natverksboten"
CHECKOUT = Path(__file__).resolve().parent.parent
"""The folder above ``bot/``: a checkout when it holds our pyproject.toml."""
UNKNOWN = "0+unknown"


def version(checkout: Path = CHECKOUT) -> str:
    """Return the running code's version: the checkout's pyproject, else the installed one."""
    found = _checkout_version(checkout)
    if found is not None:
        return found
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _checkout_version(checkout: Path) -> str | None:
    """Return the version in ``checkout/pyproject.toml`` if it is this project's, else None."""
    try:
        project = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    section = project.get("project")
    if not isinstance(section, dict) or section.get("name") != DISTRIBUTION:
        return None
    found = section.get("version")
    return found if isinstance(found, str) else None
