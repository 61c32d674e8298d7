"""The knowledge folder as admins change it: uploads, removals, listings, change detection.

Nothing here talks to Discord; every function blocks (file system, parsing) and is meant
to run off the event loop. The rules:

- An upload is parsed with the engine's own readers (:func:`index.documents.read_document`)
  on a temporary copy before anything is kept: a file the index could not read is refused
  with the reader's reason and nothing is written.
- The stored name is sanitised (:func:`sanitise_name`): the last path component only, no
  leading dot, no control or format characters, Unicode NFC, at most
  :data:`MAX_NAME_CHARS` characters; only the formats the engine reads.
- Files are written atomically (a hidden temporary file in the same folder, fsync,
  ``os.replace``), so the indexer never reads half a file written by the bot.
- The chosen visibility sticks for every format: Markdown gets it in its front matter,
  every other format in the folder's visibility list (``.visibility.yaml``, read by
  :func:`index.documents.read_document`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import yaml

from index.documents import (
    SUPPORTED_SUFFIXES,
    VISIBILITY_FILE,
    DocumentError,
    Visibility,
    decode_text,
    document_id,
    is_ignored_name,
    iter_document_paths,
    read_document,
    read_visibility_list,
    split_front_matter,
)

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 120
"""Longest stored file name, in characters (extension included)."""
_MAX_NAME_BYTES = 240  # file systems allow 255 bytes; room for the temporary suffix
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
WEB_FOLDER = "web"
"""Folder under the knowledge root where fetched web pages are stored."""
WEB_SOURCE_MARK = "sources.yaml"
"""Front matter ``source:`` of a fetched page: it belongs to the sources list."""
# Characters that some file systems or shells treat specially; replaced by "-".
_SPECIAL = frozenset('<>:"|?*')
_VISIBILITY_HEADER = (
    "# Visibility of the documents in this folder that are not Markdown, by file name.\n"
    "# Written by the bot (/kb add); public or internal. See docs/KNOWLEDGE.md.\n"
)

_lock = threading.Lock()  # one change to the folder at a time (uploads, removals, lists)


class KnowledgeError(Exception):
    """A refused change; ``key`` and ``values`` name the bot's message, str() is English."""

    def __init__(self, key: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class StoredFile:
    """A document the bot wrote into the knowledge folder."""

    id: str
    size: int
    sha256: str
    visibility: Visibility
    replaced: bool


@dataclass(frozen=True)
class FileInfo:
    """A document file in the knowledge folder: id, size in bytes, last change (unix time)."""

    id: str
    size: int
    modified: float


# --------------------------------------------------------------------------- names


def sanitise_name(filename: str) -> str:
    """Return the name an uploaded file is stored under; raise KnowledgeError if none fits.

    Only the last path component is kept (``../../a.md`` -> ``a.md``); control and format
    characters (bidi overrides included) are dropped, characters special to file systems
    become ``-``, runs of dots one dot, leading dots and spaces go; the result is NFC and
    at most MAX_NAME_CHARS characters, the extension kept. It must end in a format the
    engine reads and not be a name the indexer ignores.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "-" if char in _SPECIAL else char
        for char in name
        if not unicodedata.category(char).startswith("C")
    )
    name = " ".join(name.split())
    while ".." in name:
        name = name.replace("..", ".")
    name = name.lstrip(". ").rstrip(". ")
    stem, suffix = _split_suffix(name)
    if not stem:
        raise KnowledgeError("kb.name.empty", f"no usable file name in {filename!r}")
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    if not suffix:
        raise KnowledgeError(
            "kb.name.no_suffix", f"{name!r} has no file extension", supported=supported
        )
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise KnowledgeError(
            "kb.name.unsupported",
            f"file type {suffix!r} is not one the index reads",
            suffix=suffix,
            supported=supported,
        )
    room = MAX_NAME_CHARS - len(suffix)
    stem = stem[:room].rstrip(". ")
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1].rstrip(". ")
    name = stem + suffix
    if is_ignored_name(name, at_root=True):
        raise KnowledgeError("kb.name.reserved", f"{name!r} is a name the index ignores", name=name)
    return name


def _split_suffix(name: str) -> tuple[str, str]:
    """Return (stem, ".ext") of a name; the suffix is empty when there is none."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


# --------------------------------------------------------------------------- uploads


def prepare_upload(
    name: str, data: bytes, visibility: Visibility, *, max_bytes: int
) -> tuple[bytes, str]:
    """Return (the bytes to store, the document's title) once the engine has read them.

    Markdown gets ``visibility`` written into its front matter. Raises KnowledgeError
    for an empty file, one over ``max_bytes``, and one the engine cannot read (with the
    reader's reason, e.g. "not a valid PDF: it is a PNG image").
    """
    check_size(len(data), max_bytes)
    if Path(name).suffix.lower() in MARKDOWN_SUFFIXES:
        data = with_visibility(data, visibility)
    with tempfile.TemporaryDirectory(prefix="natverksbot-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            document = read_document(path, Path(folder), visibility)
        except DocumentError as exc:
            raise KnowledgeError("kb.add.unreadable", str(exc), reason=str(exc)) from exc
    return data, document.title


def check_size(size: int, max_bytes: int) -> None:
    """Raise KnowledgeError for an empty file or one larger than ``max_bytes``."""
    if size <= 0:
        raise KnowledgeError("kb.add.empty", "the file is empty")
    if size > max_bytes:
        raise KnowledgeError(
            "kb.add.too_large",
            f"the file has {size} bytes, more than the limit of {max_bytes}",
            size=format_size(size),
            limit=format_size(max_bytes),
        )


def with_visibility(data: bytes, visibility: Visibility) -> bytes:
    """Return a Markdown file (UTF-8) whose front matter says ``visibility``.

    Raises KnowledgeError when the file is not text or its front matter is broken.
    """
    try:
        text = decode_text(data)
        meta, body = split_front_matter(text)
    except DocumentError as exc:
        raise KnowledgeError("kb.add.unreadable", str(exc), reason=str(exc)) from exc
    meta = {**meta, "visibility": visibility}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{body}".encode()


def store_document(
    root: Path, name: str, data: bytes, visibility: Visibility, *, replace: bool
) -> StoredFile:
    """Write a prepared upload into the knowledge root atomically, with its visibility.

    Raises KnowledgeError when a document of that name exists and ``replace`` is false.
    """
    root = Path(root)
    target = root / name
    markdown = target.suffix.lower() in MARKDOWN_SUFFIXES
    with _lock:
        existing = _on_disk(root, name)
        if existing is not None and not existing.is_file():
            raise KnowledgeError(
                "kb.add.not_a_file", f"{name!r} exists and is not a file", name=name
            )
        if existing is not None and not replace:
            raise KnowledgeError("kb.add.exists", f"{name!r} already exists", name=name)
        if not markdown:
            # The visibility first: the file never exists without the one chosen for it.
            set_recorded_visibility(root, name, visibility)
        atomic_write(target, data)
        if markdown:
            set_recorded_visibility(root, name, None)
        if existing is not None and existing.name != name:
            existing.unlink()  # the same name in another Unicode form
    log.info("stored %s (%d bytes, %s)", name, len(data), visibility)
    return StoredFile(
        id=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        visibility=visibility,
        replaced=existing is not None,
    )


def remove_document(root: Path, doc_id: str) -> FileInfo:
    """Delete a document (and its recorded visibility); return what it was.

    Raises KnowledgeError for an id that is not a document in the folder, and for a
    fetched web page (remove it from sources.yaml instead).
    """
    root = Path(root)
    path = find_document(root, doc_id)
    if is_web_page(root, path):
        raise KnowledgeError(
            "kb.remove.web", f"{doc_id!r} is a fetched web page", name=document_id(path, root)
        )
    with _lock:
        info = _info(path, root)
        path.unlink()
        set_recorded_visibility(path.parent, path.name, None)
    log.info("removed %s", info.id)
    return info


def find_document(root: Path, doc_id: str) -> Path:
    """Return the file of the document ``doc_id``; raise KnowledgeError if there is none."""
    root = Path(root)
    doc_id = unicodedata.normalize("NFC", doc_id or "").strip()
    parts = PurePosixPath(doc_id).parts
    missing = KnowledgeError("kb.remove.missing", f"no document {doc_id!r}", name=doc_id)
    if (
        not parts
        or PurePosixPath(doc_id).is_absolute()
        or "\\" in doc_id
        or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
        or is_ignored_name(parts[-1], at_root=len(parts) == 1)
    ):
        raise missing
    folder = root
    for part in parts[:-1]:
        found = _on_disk(folder, part)
        if found is None or not found.is_dir():
            raise missing
        folder = found
    path = _on_disk(folder, parts[-1])
    if path is None or not path.is_file():
        raise missing
    real_root = root.resolve()
    if real_root not in path.resolve().parents:
        raise missing
    return path


def is_web_page(root: Path, path: Path) -> bool:
    """Return whether ``path`` is a web page stored by fetching the sources list."""
    relative = document_id(path, root)
    if not relative.startswith(f"{WEB_FOLDER}/") or path.suffix.lower() != ".md":
        return False
    try:
        meta, _ = split_front_matter(decode_text(path.read_bytes()[:65536]))
    except (OSError, DocumentError):
        return False
    return meta.get("source") == WEB_SOURCE_MARK


def list_documents(root: Path) -> list[FileInfo]:
    """Return the document files in the knowledge folder, sorted by id."""
    root = Path(root)
    files = []
    for path in iter_document_paths(root):
        with contextlib.suppress(OSError):
            files.append(_info(path, root))
    return files


def _info(path: Path, root: Path) -> FileInfo:
    stat = path.stat()
    return FileInfo(document_id(path, root), stat.st_size, stat.st_mtime)


def _on_disk(folder: Path, name: str) -> Path | None:
    """Return the entry of ``folder`` whose NFC name is ``name`` (any Unicode form), if any."""
    direct = folder / name
    if direct.exists() or direct.is_symlink():
        return direct
    wanted = unicodedata.normalize("NFC", name)
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in entries:
        if unicodedata.normalize("NFC", entry) == wanted:
            return folder / entry
    return None


# --------------------------------------------------------------------------- writing


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name[:80]}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def set_recorded_visibility(folder: Path, name: str, visibility: Visibility | None) -> None:
    """Record (or, with None, forget) the visibility of ``name`` in the folder's list."""
    folder = Path(folder)
    key = unicodedata.normalize("NFC", name)
    try:
        entries: dict[str, str] = dict(read_visibility_list(folder))
    except DocumentError:
        # A broken list is replaced by a good one rather than kept broken.
        log.warning("replacing the unreadable %s in %s", VISIBILITY_FILE, folder)
        entries = {}
    if entries.get(key) == visibility:
        return
    if visibility is None:
        entries.pop(key, None)
    else:
        entries[key] = visibility
    path = folder / VISIBILITY_FILE
    if not entries:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    body = yaml.safe_dump(dict(sorted(entries.items())), allow_unicode=True, sort_keys=False)
    atomic_write(path, (_VISIBILITY_HEADER + body).encode("utf-8"))


def format_size(size: float) -> str:
    """Return a size in bytes as "830 B", "12.4 kB" or "3.1 MB"."""
    if size < 1000:
        return f"{int(size)} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


# --------------------------------------------------------------------------- change detection

Snapshot = dict[str, tuple[int, int]]
"""Document id (or visibility list) -> (size, mtime in ns)."""


def folder_snapshot(root: Path) -> Snapshot:
    """Return the size and mtime of every document file and visibility list in the folder.

    Only ``stat`` is called: taking a snapshot of an unchanged folder reads no file.
    """
    root = Path(root)
    snapshot: Snapshot = {}
    folders = {root}
    for path in iter_document_paths(root):
        folders.add(path.parent)
        try:
            stat = path.stat()
        except OSError:
            continue
        snapshot[document_id(path, root)] = (stat.st_size, stat.st_mtime_ns)
    for folder in folders:
        listing = folder / VISIBILITY_FILE
        with contextlib.suppress(OSError):
            stat = listing.stat()
            snapshot[document_id(listing, root)] = (stat.st_size, stat.st_mtime_ns)
    return snapshot


WatchState = Literal["unchanged", "changing", "ready"]


class FolderWatch:
    """Decides, check after check, when the knowledge folder is ready to be reindexed.

    A change is acted on only once the folder looked the same at two checks in a row,
    so a file that is still being written (its size or mtime still moving) is never
    indexed half-written: it is picked up at the next check, complete.
    """

    def __init__(self) -> None:
        self.indexed: Snapshot | None = None
        self.seen: Snapshot | None = None

    def observe(self, snapshot: Snapshot) -> WatchState:
        """Return "unchanged", "changing" (wait for the next check) or "ready" (reindex)."""
        if snapshot == self.indexed:
            self.seen = snapshot
            return "unchanged"
        if snapshot != self.seen:
            self.seen = snapshot
            return "changing"
        return "ready"

    def indexed_as(self, snapshot: Snapshot) -> None:
        """Remember the snapshot a reindex started from (later changes differ from it)."""
        self.indexed = snapshot
        self.seen = snapshot

    def changed_files(self, snapshot: Snapshot) -> list[str]:
        """Return the ids that differ between the last indexed snapshot and ``snapshot``."""
        before = self.indexed or {}
        keys = set(before) | set(snapshot)
        return sorted(k for k in keys if before.get(k) != snapshot.get(k))
