"""The visibility sidecar: a folder's ``.visibility.yaml``, visibility by file name.

The bot's ``/kb add`` writes it (bot/services/knowledge.py, under the knowledge folder's
lock, index/folder_lock.py); the readers and a reindex read it here.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from pathlib import Path

import yaml

from index.documents._yaml import clip, load_yaml, type_name, yaml_reason
from index.documents.types import VISIBILITIES, DocumentError
from index.types import Visibility

VISIBILITY_FILE = ".visibility.yaml"
"""Hidden file in a folder that records the visibility of its documents, by file name.

It lets a document of any format carry a visibility (only Markdown has front matter):
``rapport.pdf: internal``. Front matter, when it says, wins over the list; the list wins
over ``default_visibility``. The bot's ``/kb add`` writes it.
"""

# Parsed lists by path, with the (inode, size, mtime) they were parsed at.
_visibility_lists: dict[
    Path, tuple[tuple[int, int, int], dict[str, Visibility] | DocumentError]
] = {}
_visibility_lock = threading.Lock()


def read_visibility_list(folder: Path) -> dict[str, Visibility]:
    """Return the folder's visibility list (file name in NFC -> visibility); {} without one.

    Raises DocumentError when the list exists but is not a mapping of names to
    ``public`` / ``internal``. Parsed lists are cached by the file's size and mtime.
    """
    path = Path(folder) / VISIBILITY_FILE
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DocumentError(f"cannot read {VISIBILITY_FILE}: {exc.strerror or exc}") from exc
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _visibility_lock:
        cached = _visibility_lists.get(path)
    if cached is None or cached[0] != key:
        cached = (key, _parse_visibility_list(path))
        with _visibility_lock:
            _visibility_lists[path] = cached
    if isinstance(cached[1], DocumentError):
        raise cached[1]
    return dict(cached[1])


def _parse_visibility_list(path: Path) -> dict[str, Visibility] | DocumentError:
    """Return the parsed list at ``path``, or the DocumentError that describes the problem."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return DocumentError(f"{VISIBILITY_FILE} is not valid YAML: {yaml_reason(exc)}")
    except (OSError, UnicodeDecodeError) as exc:
        return DocumentError(f"{VISIBILITY_FILE} cannot be read: {' '.join(str(exc).split())}")
    if not isinstance(data, dict):
        return DocumentError(f"{VISIBILITY_FILE} must be 'file name: visibility' lines")
    result: dict[str, Visibility] = {}
    for name, value in data.items():
        if not isinstance(name, str):
            return DocumentError(
                f"{VISIBILITY_FILE}: each line must start with a file name, not a {type_name(name)}"
            )
        shown = clip(name)
        if not isinstance(value, str):
            return DocumentError(
                f"{VISIBILITY_FILE}: the visibility of '{shown}' must be 'public' or 'internal',"
                f" not a {type_name(value)}"
            )
        normalised = value.strip().lower()
        if normalised not in VISIBILITIES:
            return DocumentError(
                f"{VISIBILITY_FILE}: the visibility of '{shown}' must be 'public' or 'internal',"
                f" not '{clip(value)}'"
            )
        result[unicodedata.normalize("NFC", name)] = normalised
    return result


def recorded_visibility(path: Path) -> Visibility | None:
    """Return the visibility the folder's list records for the file at ``path``, or None.

    Raises DocumentError when the folder has a list that cannot be read: a document whose
    visibility may be in it is then skipped rather than shown to the wrong readers.
    """
    path = Path(path)
    entries = read_visibility_list(path.parent)
    return entries.get(unicodedata.normalize("NFC", path.name))


def with_recorded_visibility(digest: str, path: Path) -> str:
    """Return ``digest``, mixed with the visibility recorded for ``path`` if there is one.

    So changing only the recorded visibility of a file changes its content hash, and a
    reindex reads it again.
    """
    try:
        recorded: str | None = recorded_visibility(path)
    except DocumentError:
        recorded = "unreadable"
    if recorded is None:
        return digest
    return hashlib.sha256(f"{digest}\nvisibility: {recorded}".encode()).hexdigest()
