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
  :func:`index.documents.read_document`). While the bytes of such a file change, the
  list says ``internal``: a crash between the two writes leaves the file internal,
  never the old bytes under the new visibility.
- Every change holds the knowledge folder's lock (:func:`index.folder_lock.folder_lock`),
  which waits: one change at a time across processes (the bot, the command line), and a
  reindex, which holds it while reading the folder, sees each change whole or not at all.
- Nothing is lost at once: a removed document, and the previous version of a replaced
  one, go to a trash folder in the state folder (never indexed), one entry per document
  with its visibility and when; :func:`restore_document` brings one back and
  :func:`purge_trash` deletes entries older than ``knowledge.trash_days``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

import yaml

from bot.services.errors import ExplainedError
from index.documents import (
    SUPPORTED_SUFFIXES,
    VISIBILITY_FILE,
    DocumentError,
    IsolatedReader,
    ParsedFile,
    ParseLimits,
    Visibility,
    decode_text,
    document_id,
    is_ignored_name,
    iter_document_paths,
    read_visibility_list,
    split_front_matter,
)
from index.folder_lock import FolderBusyError, folder_lock

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
# Device names Windows reserves whatever the extension ("CON.md", "nul.tar.md", "COM¹.txt"):
# such a file cannot be opened, copied or synced on Windows.
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{n}" for port in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")]
)
_VISIBILITY_HEADER = (
    "# Visibility of the documents in this folder that are not Markdown, by file name.\n"
    "# Written by the bot (/kb add); public or internal. See docs/KNOWLEDGE.md.\n"
)


class KnowledgeError(ExplainedError):
    """A refused change: ``key`` and ``values`` name the catalogue's text (str() is English)."""


@dataclass(frozen=True)
class PreparedUpload:
    """An upload the engine has read: the bytes to store, its title, and the parse."""

    data: bytes
    title: str
    parsed: ParsedFile
    """For the reindex that follows (``Engine.uploads``): it then does not read the file again."""


@dataclass(frozen=True)
class StoredFile:
    """A document the bot wrote into the knowledge folder."""

    id: str
    size: int
    sha256: str
    visibility: Visibility
    replaced: bool
    previous: str | None = None
    """The trash entry that keeps the replaced version, if any."""


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
        raise KnowledgeError("kb.name.empty")
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    if not suffix:
        raise KnowledgeError("kb.name.no_suffix", supported=supported)
    if suffix.lower() not in SUPPORTED_SUFFIXES:
        raise KnowledgeError(
            "kb.name.unsupported",
            suffix=suffix,
            supported=supported,
        )
    room = MAX_NAME_CHARS - len(suffix)
    stem = stem[:room].rstrip(". ")
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1].rstrip(". ")
    name = stem + suffix
    if is_windows_reserved(name):
        raise KnowledgeError("kb.name.windows", name=name)
    if is_ignored_name(name, at_root=True):
        raise KnowledgeError("kb.name.reserved", name=name)
    return name


def is_windows_reserved(name: str) -> bool:
    """Return whether Windows reserves ``name``: a device name before the first dot.

    Windows ignores trailing dots and spaces there too, so "con .md" and "NUL..txt" count.
    """
    device = name.split(".", 1)[0].rstrip(". ")
    return device.upper() in _WINDOWS_DEVICES


def _split_suffix(name: str) -> tuple[str, str]:
    """Return (stem, ".ext") of a name; the suffix is empty when there is none."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


# --------------------------------------------------------------------------- uploads


def prepare_upload(
    name: str,
    data: bytes,
    visibility: Visibility,
    *,
    max_bytes: int,
    limits: ParseLimits | None = None,
) -> PreparedUpload:
    """Return the upload to store (its bytes, title and parse) once the engine has read it.

    Markdown gets ``visibility`` written into its front matter. Raises KnowledgeError
    for an empty file, one over ``max_bytes``, and one the engine cannot read (with the
    reader's reason, e.g. "not a valid PDF: it is a PNG image"). The reader runs in a
    child process under ``limits`` (its time budget included); the caller hands the
    parse to the engine (``engine.uploads.add(prepared.parsed)``) so that the reindex
    that follows does not read the file again.
    """
    check_size(len(data), max_bytes)
    if Path(name).suffix.lower() in MARKDOWN_SUFFIXES:
        data = with_visibility(data, visibility)
    with tempfile.TemporaryDirectory(prefix="natverksbot-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            with IsolatedReader(limits) as reader:
                document, parsed = reader.check(path, Path(folder), visibility)
        except DocumentError as exc:
            raise KnowledgeError("kb.add.unreadable", reason=str(exc)) from exc
    return PreparedUpload(data, document.title, parsed)


def check_size(size: int, max_bytes: int) -> None:
    """Raise KnowledgeError for an empty file or one larger than ``max_bytes``."""
    if size <= 0:
        raise KnowledgeError("kb.add.empty")
    if size > max_bytes:
        raise KnowledgeError(
            "kb.add.too_large",
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
        raise KnowledgeError("kb.add.unreadable", reason=str(exc)) from exc
    meta = {**meta, "visibility": visibility}
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n{body}".encode()


def store_document(
    root: Path,
    name: str,
    data: bytes,
    visibility: Visibility,
    *,
    replace: bool,
    trash_dir: Path | None = None,
) -> StoredFile:
    """Write a prepared upload into the knowledge root atomically, with its visibility.

    A replaced version is kept in ``trash_dir`` first (when given). Raises KnowledgeError
    when a document of that name exists and ``replace`` is false.
    """
    root = Path(root)
    target = root / name
    markdown = target.suffix.lower() in MARKDOWN_SUFFIXES
    with changing(root):
        existing = _on_disk(root, name)
        if existing is not None and not existing.is_file():
            raise KnowledgeError("kb.add.not_a_file", name=name)
        if existing is not None and not replace:
            raise KnowledgeError("kb.add.exists", name=name)
        previous = None
        if existing is not None and trash_dir is not None:
            previous = _to_trash(root, Path(trash_dir), existing, "replace", keep=True).key
        _write_with_visibility(target, data, None if markdown else visibility)
        if existing is not None and existing.name != name:
            existing.unlink()  # the same name in another Unicode form
    log.info("stored %s (%d bytes, %s)", name, len(data), visibility)
    return StoredFile(
        id=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        visibility=visibility,
        replaced=existing is not None,
        previous=previous,
    )


def removable_document(root: Path, doc_id: str) -> FileInfo:
    """Return the document ``doc_id`` if an admin may remove it; raise KnowledgeError if not.

    Refused: an id that is not a document in the folder, and a fetched web page (it is
    removed from sources.yaml instead).
    """
    root = Path(root)
    path = find_document(root, doc_id)
    if is_web_page(root, path):
        raise KnowledgeError("kb.remove.web", name=document_id(path, root))
    return _info(path, root)


def trash_document(root: Path, trash_dir: Path, doc_id: str) -> TrashEntry:
    """Move a document (and its recorded visibility) to the trash; return its entry.

    Raises KnowledgeError as :func:`removable_document` does.
    """
    root = Path(root)
    with changing(root):
        info = removable_document(root, doc_id)
        entry = _to_trash(root, Path(trash_dir), root / info.id, "remove", keep=False)
    log.info("moved %s to the trash (%s)", entry.id, entry.key)
    return entry


def find_document(root: Path, doc_id: str) -> Path:
    """Return the file of the document ``doc_id``; raise KnowledgeError if there is none."""
    root = Path(root)
    doc_id = unicodedata.normalize("NFC", doc_id or "").strip()
    parts = PurePosixPath(doc_id).parts
    missing = KnowledgeError("kb.remove.missing", name=doc_id)
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


# --------------------------------------------------------------------------- the trash

TRASH_ENTRY = "entry.json"
"""The file of a trash entry that says what it is; the document lies beside it."""

TrashReason = Literal["remove", "replace"]


@dataclass(frozen=True)
class TrashEntry:
    """A document kept in the trash: where it was, why, when, and its visibility."""

    key: str
    id: str
    reason: TrashReason
    trashed_at: float
    size: int
    visibility: Visibility | None


@dataclass(frozen=True)
class Restored:
    """What a restore did: the entry brought back, and the version it displaced, if any."""

    entry: TrashEntry
    displaced: TrashEntry | None


def _to_trash(
    root: Path, trash_dir: Path, path: Path, reason: TrashReason, *, keep: bool
) -> TrashEntry:
    """Copy ``path`` into a new trash entry; unless ``keep``, remove it from the folder.

    Called with the folder lock held. The entry is complete (document, then its
    description) before it gets its final name, and before the document is removed.
    """
    doc_id = document_id(path, root)
    data = path.read_bytes()
    visibility = read_visibility_list(path.parent).get(unicodedata.normalize("NFC", path.name))
    now = time.time()
    key = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}-{secrets.token_hex(3)}"
    trash_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    building = trash_dir / f".{key}.tmp"
    building.mkdir(mode=0o700)
    try:
        atomic_write(building / PurePosixPath(doc_id).name, data)
        entry = TrashEntry(key, doc_id, reason, now, len(data), visibility)
        description = {
            "id": doc_id,
            "reason": reason,
            "trashed_at": now,
            "size": len(data),
            "visibility": visibility,
        }
        atomic_write(building / TRASH_ENTRY, json.dumps(description, ensure_ascii=False).encode())
        os.replace(building, trash_dir / key)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _fsync_dir(trash_dir)
    if not keep:
        path.unlink()
        set_recorded_visibility(path.parent, path.name, None)
    return entry


def list_trash(trash_dir: Path) -> list[TrashEntry]:
    """Return the entries of the trash, newest first (unreadable entries are left out)."""
    entries = []
    with contextlib.suppress(OSError):
        for folder in Path(trash_dir).iterdir():
            entry = _read_entry(folder)
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=lambda e: (e.trashed_at, e.key), reverse=True)


def find_trash_entry(trash_dir: Path, wanted: str) -> TrashEntry:
    """Return the trash entry ``wanted`` (its key, or a document id: its newest entry).

    Raises KnowledgeError when there is none.
    """
    wanted = unicodedata.normalize("NFC", wanted or "").strip()
    for entry in list_trash(trash_dir):
        if wanted in (entry.key, entry.id):
            return entry
    raise KnowledgeError("kb.restore.missing", name=wanted)


def _read_entry(folder: Path) -> TrashEntry | None:
    if folder.name.startswith(".") or not folder.is_dir():
        return None
    try:
        data = json.loads((folder / TRASH_ENTRY).read_text(encoding="utf-8"))
        entry = TrashEntry(
            key=folder.name,
            id=str(data["id"]),
            reason="replace" if data.get("reason") == "replace" else "remove",
            trashed_at=float(data["trashed_at"]),
            size=int(data.get("size") or 0),
            visibility=data.get("visibility")
            if data.get("visibility") in ("public", "internal")
            else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    parts = PurePosixPath(entry.id).parts
    if (
        not parts
        or PurePosixPath(entry.id).is_absolute()
        or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
        or not (folder / parts[-1]).is_file()
    ):
        log.warning("ignoring the damaged trash entry %s", folder)
        return None
    return entry


def restore_document(root: Path, trash_dir: Path, wanted: str) -> Restored:
    """Put a trashed document back where it was, with its visibility; return what it did.

    A document now at that place goes to the trash first (so a restore can be undone
    too). Raises KnowledgeError when the trash has no such entry.
    """
    root = Path(root)
    trash_dir = Path(trash_dir)
    with changing(root):
        entry = find_trash_entry(trash_dir, wanted)
        folder = trash_dir / entry.key
        data = (folder / PurePosixPath(entry.id).name).read_bytes()
        target = root.joinpath(*PurePosixPath(entry.id).parts)
        real_root, real_parent = root.resolve(), target.parent.resolve()
        if real_parent != real_root and real_root not in real_parent.parents:
            raise KnowledgeError("kb.restore.missing", name=entry.id)
        existing = _on_disk(target.parent, target.name) if target.parent.is_dir() else None
        displaced = None
        if existing is not None and existing.is_file():
            displaced = _to_trash(root, trash_dir, existing, "replace", keep=True)
        markdown = target.suffix.lower() in MARKDOWN_SUFFIXES
        _write_with_visibility(target, data, None if markdown else entry.visibility)
        shutil.rmtree(folder)
        _fsync_dir(trash_dir)
    log.info("restored %s from the trash (%s)", entry.id, entry.key)
    return Restored(entry, displaced)


def purge_trash(trash_dir: Path, days: float, now: float | None = None) -> int:
    """Delete trash entries older than ``days``; return how many went."""
    cutoff = (time.time() if now is None else now) - days * 86_400
    purged = 0
    for entry in list_trash(trash_dir):
        if entry.trashed_at < cutoff:
            shutil.rmtree(Path(trash_dir) / entry.key, ignore_errors=True)
            purged += 1
    if purged:
        log.info("purged %d trash entries older than %g days", purged, days)
    return purged


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def changing(root: Path) -> Iterator[None]:
    """Hold the knowledge folder's lock for one change; raise KnowledgeError if it stays busy.

    It waits for another change, or a reindex reading the folder, to finish (at most
    :data:`index.folder_lock.WAIT_SECONDS`).
    """
    try:
        with folder_lock(root):
            yield
    except FolderBusyError as exc:
        raise KnowledgeError("kb.busy", seconds=f"{exc.seconds:g}") from exc


def _write_with_visibility(target: Path, data: bytes, visibility: Visibility | None) -> None:
    """Write a document and record ``visibility`` for it (None: none recorded).

    Called with the folder lock held. Unless the file is Markdown (whose bytes carry
    their visibility), the list says ``internal`` while the bytes change, so that a crash
    between the writes never leaves the old bytes under the new visibility.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() not in MARKDOWN_SUFFIXES:
        set_recorded_visibility(target.parent, target.name, "internal")
    atomic_write(target, data)
    set_recorded_visibility(target.parent, target.name, visibility)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file and ``os.replace``.

    The file is created with ``mode`` (less the umask), so a private one (0o600) is
    never readable by others, not even for a moment.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name[:80]}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
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
    """Record (or, with None, forget) the visibility of ``name`` in the folder's list.

    Call it with the knowledge folder's lock held (:func:`changing`): the list is read,
    changed and written back whole, and two changes at once would lose one of them.
    """
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
