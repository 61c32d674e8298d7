"""Finding the document files in a knowledge folder: ignore rules, ids and content hashes."""

from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
from pathlib import Path

from index.documents._visibility import with_recorded_visibility

log = logging.getLogger(__name__)

_HASH_BLOCK = 1 << 16
# Names that are never documents, wherever they are (compared in lower case).
_DROPPING_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
# Names ignored only directly in the knowledge root (compared in lower case).
_ROOT_ONLY_NAMES = frozenset({"readme.md", "readme.txt", "sources.yaml"})


def _is_dropping(name: str) -> bool:
    """Return True for hidden files and the lock and backup files editors leave behind."""
    lowered = name.lower()
    return (
        name.startswith(".")  # hidden, ".~lock.x.docx#", ".DS_Store"
        or name.startswith("~$")  # Word/Excel owner files
        or name.endswith("~")  # editor backups
        or lowered in _DROPPING_NAMES
    )


def is_ignored_name(name: str, *, at_root: bool = False) -> bool:
    """Return True if a file of that name is never a document (``at_root``: in the root)."""
    return _is_dropping(name) or (at_root and name.lower() in _ROOT_ONLY_NAMES)


def _is_within(path: Path, root: Path) -> bool:
    """Return True if ``path`` (already resolved) lies in ``root`` (already resolved)."""
    return path == root or root in path.parents


def iter_document_paths(root: Path) -> list[Path]:
    """Return every candidate document file under ``root``, sorted by document id.

    Folders nest. Hidden files and folders, editor droppings, a README.md/README.txt
    and sources.yaml directly in ``root``, and symlinks that resolve outside ``root``
    are left out. Files of unsupported types are included so that they are reported as
    skipped. Raises FileNotFoundError if ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"knowledge folder not found: {root}")
    real_root = root.resolve()
    found: list[Path] = []
    seen_dirs: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        real_here = here.resolve()
        if real_here in seen_dirs or not _is_within(real_here, real_root):
            # A symlinked folder that points outside the root or back into it (a loop).
            dirnames[:] = []
            continue
        seen_dirs.add(real_here)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        at_root = here == root
        for name in filenames:
            if is_ignored_name(name, at_root=at_root):
                continue
            path = here / name
            if path.is_symlink() and not _is_within(path.resolve(), real_root):
                log.debug("Ignoring %s: symlink to a file outside the knowledge folder", path)
                continue
            found.append(path)
    return sorted(found, key=lambda path: document_id(path, root))


def document_id(path: Path, root: Path) -> str:
    """Return the id of the file at ``path``: its POSIX path relative to ``root``, in NFC.

    Raises ValueError if ``path`` is not inside ``root``.
    """
    relative = Path(os.path.relpath(Path(path).absolute(), Path(root).absolute()))
    if relative.parts[:1] == ("..",) or relative.is_absolute():
        raise ValueError(f"{path} is not inside {root}")
    return unicodedata.normalize("NFC", relative.as_posix())


def file_hash(path: Path) -> str:
    """Return the content hash of a document file: the sha256 of its bytes, read in blocks.

    When the folder's visibility list records a visibility for the file, the hash covers
    that too, so that changing only the recorded visibility makes a reindex read it again.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(_HASH_BLOCK):
            digest.update(block)
    return with_recorded_visibility(digest.hexdigest(), Path(path))
