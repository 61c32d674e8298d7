"""Files in the knowledge folder -> Document, with one reader per file format.

A document is a list of sections. Markdown, HTML and Word documents are split at their
headings (the section keeps the heading path, "Rubrik › Underrubrik"); a PDF has one
section per page; a plain text file is one section. Section text keeps paragraphs apart
with a blank line and puts each list item on its own line, which is what the chunker
(:mod:`index.chunking`) relies on.

Every problem with a single file is raised as :class:`DocumentError` with a one-line
reason; :func:`load_documents` turns those into :class:`SkippedFile` records so that one
bad file never stops indexing.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import hashlib
import importlib
import io
import json
import logging
import os
import re
import select
import subprocess
import sys
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated, Any, get_args

import yaml
from pydantic import ConfigDict, Field

from index.bounded import BoundedMap
from index.types import Visibility

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}
)

HEADING_SEPARATOR = " › "
"""Joins a heading to its ancestors in :attr:`Section.heading`."""

FRONT_MATTER_KEYS: frozenset[str] = frozenset(
    {"title", "author", "date", "url", "visibility", "municipalities", "topics"}
)

_VISIBILITIES: tuple[str, ...] = get_args(Visibility)
_TITLE_LINE_MAX_CHARS = 100
_BINARY_RATIO = 0.05
_HASH_BLOCK = 1 << 16

# Names that are never documents, wherever they are (compared in lower case).
_DROPPING_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
# Names ignored only directly in the knowledge root (compared in lower case).
_ROOT_ONLY_NAMES = frozenset({"readme.md", "readme.txt", "sources.yaml"})

VISIBILITY_FILE = ".visibility.yaml"
"""Hidden file in a folder that records the visibility of its documents, by file name.

It lets a document of any format carry a visibility (only Markdown has front matter):
``rapport.pdf: internal``. Front matter, when it says, wins over the list; the list wins
over ``default_visibility``. The bot's ``/kb add`` writes it.
"""


@dataclass(frozen=True)
class ParseLimits:
    """How much work reading one document may take (config section ``documents``).

    Small hostile files can unpack to a lot: a 7 kB Word file to megabytes of XML, a
    9 kB PDF to a 3 MB page. Past a limit the document is refused with a reason.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")  # checked as config.yaml's section

    # a Word file's parts, unpacked, together
    max_inflated_mb: Annotated[float, Field(gt=0, le=10_000)] = 50.0
    max_paragraphs: Annotated[int, Field(ge=1)] = 20_000  # paragraphs and tables of a Word file
    max_pages: Annotated[int, Field(ge=1)] = 2_000  # pages of a PDF
    # one PDF page's content stream, unpacked
    max_page_stream_mb: Annotated[float, Field(gt=0, le=1_000)] = 1.0
    # /kb add: the check of an upload is stopped past this
    parse_seconds: Annotated[float, Field(gt=0, le=3_600)] = 30.0


_DEFAULT_LIMITS = ParseLimits()
_LIMITS: contextvars.ContextVar[ParseLimits | None] = contextvars.ContextVar(
    "parse_limits", default=None
)


def _limits() -> ParseLimits:
    """Return the limits in force (set by :func:`parse_limits`), else the defaults."""
    return _LIMITS.get() or _DEFAULT_LIMITS


@contextlib.contextmanager
def parse_limits(limits: ParseLimits | None) -> Iterator[None]:
    """Read documents under ``limits`` (None: the defaults) in this thread's with-block."""
    token = _LIMITS.set(limits or ParseLimits())
    try:
        yield
    finally:
        _LIMITS.reset(token)


MAX_YAML_DEPTH = 50
"""Deepest nesting of lists and mappings accepted in front matter and visibility lists."""
_NO_ALIASES = "anchors and aliases (&name, *name) are not allowed"


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors, aliases and nesting past :data:`MAX_YAML_DEPTH`.

    PyYAML composes nested nodes recursively: 5,000 ``[`` would end in a RecursionError
    (which aborted a whole reindex); here they are invalid YAML like any other. An alias
    repeats what its anchor names, so a few hundred bytes of nested aliases stand for
    billions of values, which anything walking them (``str()``, a dump) then expands;
    nothing the bot reads needs them, so the first anchor or alias is refused.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, _NO_ALIASES, event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """Return ``yaml.safe_load(text)``; anchors, aliases and deep nesting are a YAMLError.

    So is a value YAML recognises but Python cannot hold (a 5,000-digit number, the
    date 2024-13-45). Use it for every YAML file in a folder others can write.
    """
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:  # a backstop; the depth limit is reached long before
        raise yaml.YAMLError("nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # from a constructor: int(), date()
        raise yaml.YAMLError(f"a value cannot be read: {exc}") from None


def yaml_reason(exc: yaml.YAMLError, first_line: int = 1) -> str:
    """Return a YAML error as one line: the problem and its line (the first is ``first_line``)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" (line {mark.line + first_line})" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


class DocumentError(Exception):
    """A file that cannot be read as a document; str(exc) is a one-line reason (no path needed)."""

    def __init__(self, reason: object) -> None:
        super().__init__(" ".join(str(reason).split()))


@dataclass(frozen=True)
class Section:
    """A part of a document: the text under one heading, or one page of a PDF."""

    text: str
    heading: str | None = None
    page: int | None = None
    # The text's sentence units when they were cut in the reader's child process
    # (IsolatedReader); None: index.chunking cuts them.
    sentences: tuple[str, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Document:
    """A document read from the knowledge folder, with its metadata."""

    id: str
    title: str
    sections: tuple[Section, ...]
    visibility: Visibility
    content_hash: str
    author: str | None = None
    date: str | None = None
    url: str | None = None
    municipalities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Return the whole text: the sections' texts separated by a blank line."""
        return "\n\n".join(section.text for section in self.sections)


@dataclass(frozen=True)
class SkippedFile:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class LoadResult:
    """The documents read from a knowledge folder and the files skipped on the way."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


@dataclass
class _Parsed:
    """What a format reader found: sections, and the metadata the file itself carries."""

    sections: list[Section]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- discovery


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
    return _with_recorded_visibility(digest.hexdigest(), Path(path))


def _with_recorded_visibility(digest: str, path: Path) -> str:
    """Return ``digest``, mixed with the visibility recorded for ``path`` if there is one."""
    try:
        recorded: str | None = recorded_visibility(path)
    except DocumentError:
        recorded = "unreadable"
    if recorded is None:
        return digest
    return hashlib.sha256(f"{digest}\nvisibility: {recorded}".encode()).hexdigest()


_visibility_lists: dict[Path, tuple[tuple[int, int, int], dict[str, str] | DocumentError]] = {}
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
    return dict(cached[1])  # type: ignore[arg-type]


def _parse_visibility_list(path: Path) -> dict[str, str] | DocumentError:
    """Return the parsed list at ``path``, or the DocumentError that describes the problem."""
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        return DocumentError(f"{VISIBILITY_FILE} is not valid YAML: {yaml_reason(exc)}")
    except (OSError, UnicodeDecodeError) as exc:
        return DocumentError(f"{VISIBILITY_FILE} cannot be read: {' '.join(str(exc).split())}")
    if not isinstance(data, dict):
        return DocumentError(f"{VISIBILITY_FILE} must be 'file name: visibility' lines")
    result: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str):
            return DocumentError(
                f"{VISIBILITY_FILE}: each line must start with a file name,"
                f" not a {_type_name(name)}"
            )
        shown = _clip(name)
        if not isinstance(value, str):
            return DocumentError(
                f"{VISIBILITY_FILE}: the visibility of '{shown}' must be 'public' or 'internal',"
                f" not a {_type_name(value)}"
            )
        normalised = value.strip().lower()
        if normalised not in _VISIBILITIES:
            return DocumentError(
                f"{VISIBILITY_FILE}: the visibility of '{shown}' must be 'public' or 'internal',"
                f" not '{_clip(value)}'"
            )
        result[unicodedata.normalize("NFC", name)] = normalised
    return result


def _clip(text: str, limit: int = 80) -> str:
    """Return ``text`` on one line, at most ``limit`` characters (cut with an ellipsis)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def recorded_visibility(path: Path) -> Visibility | None:
    """Return the visibility the folder's list records for the file at ``path``, or None.

    Raises DocumentError when the folder has a list that cannot be read: a document whose
    visibility may be in it is then skipped rather than shown to the wrong readers.
    """
    path = Path(path)
    entries = read_visibility_list(path.parent)
    return entries.get(unicodedata.normalize("NFC", path.name))  # type: ignore[return-value]


# --------------------------------------------------------------------------- loading


def read_document(path: Path, root: Path, default_visibility: Visibility = "internal") -> Document:
    """Return the document in the file at ``path``; its id is relative to ``root``.

    The visibility is the front matter's (Markdown), else the one recorded in the
    folder's visibility list (:data:`VISIBILITY_FILE`, any format), else
    ``default_visibility``. Raises DocumentError with a one-line reason if the file
    cannot be read.
    """
    path, doc_id, suffix, data = _file_to_read(path, root, default_visibility)
    digest = hashlib.sha256(data).hexdigest()
    parsed = _remembered(suffix, digest)
    if parsed is None:
        parsed = _parse(data, suffix, doc_id)
    return _document(path, doc_id, digest, parsed, default_visibility)


def _file_to_read(
    path: Path, root: Path, default_visibility: Visibility
) -> tuple[Path, str, str, bytes]:
    """Return (path, document id, suffix, bytes) of a file to read; raise DocumentError."""
    if default_visibility not in _VISIBILITIES:
        raise ValueError(
            f"default_visibility must be public or internal, not {default_visibility!r}"
        )
    path = Path(path)
    doc_id = document_id(path, root)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        if suffix:
            raise DocumentError(f"unsupported file type '{suffix}'")
        raise DocumentError("unsupported file type (no file extension)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise DocumentError("empty document")
    return path, doc_id, suffix, data


def _document(
    path: Path, doc_id: str, digest: str, parsed: _Parsed, default_visibility: Visibility
) -> Document:
    """Return the document of a file (``digest``: its bytes' sha256) from its parse."""
    sections = tuple(
        # Sentences cut in the reader's child were cut from this very text (it is tidy).
        Section(text, section.heading, section.page, section.sentences)
        if text == section.text
        else Section(text, section.heading, section.page)
        for section in parsed.sections
        if (text := _tidy_text(section.text))
    )
    if not sections:
        raise DocumentError("empty document")
    meta = parsed.meta
    title = meta.get("title") or parsed.title or _stem_title(path)
    visibility = meta.get("visibility") or recorded_visibility(path) or default_visibility
    return Document(
        id=doc_id,
        title=title,
        sections=sections,
        visibility=visibility,
        content_hash=_with_recorded_visibility(digest, path),
        author=meta.get("author"),
        date=meta.get("date"),
        url=meta.get("url"),
        municipalities=meta.get("municipalities", ()),
        topics=meta.get("topics", ()),
    )


def _parse(data: bytes, suffix: str, doc_id: str = "") -> _Parsed:
    """Return what the reader of ``suffix`` finds in ``data``; raise DocumentError."""
    reader = _READERS[suffix]
    try:
        return reader(data)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError("the document is nested too deeply to read") from exc
    except Exception as exc:  # a reader bug or an odd file must not stop the whole index
        log.warning("Unexpected error reading %s", doc_id, exc_info=True)
        raise DocumentError(f"unexpected error: {type(exc).__name__}: {exc}") from exc


# Parses done by read_document_isolated, by (suffix, sha256 of the bytes): the reindex that
# follows a checked upload takes its text from here instead of parsing the file again.
_PARSED_KEPT = 8
_parsed: BoundedMap[tuple[str, str], _Parsed] = BoundedMap(_PARSED_KEPT)


def _remember(suffix: str, digest: str, parsed: _Parsed) -> None:
    """Keep a parse for the next reader of the same bytes (a checked upload's reindex)."""
    _parsed.put((suffix, digest), parsed)


def _remembered(suffix: str, digest: str) -> _Parsed | None:
    """Return a parse kept by :func:`_remember`, or None."""
    return _parsed.get((suffix, digest))


# What the parser child may see of the environment: enough to find Python and its
# packages, speak the locale and size its thread pools; nothing else (no token, no salt).
_CHILD_ENVIRONMENT = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "SYSTEMROOT",  # Windows cannot start Python without it
        "PYTHONHOME",
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        "PYTHONUSERBASE",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONPYCACHEPREFIX",
        "PYTHONUTF8",
        "PYTHONIOENCODING",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "BLIS_NUM_THREADS",
    }
)


def _child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the parser child's environment: the allowed part of ``environ``, nothing else.

    The child reads hostile bytes, so it gets no secret of the bot's (``DISCORD_TOKEN``,
    the user-hash salt, a config override): only ``_CHILD_ENVIRONMENT`` and the locale
    (``LC_*``), with this package's root first on ``PYTHONPATH``.
    """
    env = {
        key: value
        for key, value in environ.items()
        if key in _CHILD_ENVIRONMENT or key.startswith("LC_")
    }
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def read_document_isolated(
    path: Path,
    root: Path,
    default_visibility: Visibility = "internal",
    *,
    limits: ParseLimits | None = None,
) -> Document:
    """Return :func:`read_document`'s document, read in a child process with a time limit.

    See :class:`IsolatedReader`. The parse (with its sentences) is remembered, so the
    reindex that indexes the same bytes next does not parse them again.
    """
    with IsolatedReader(limits) as reader:
        return reader.read(path, root, default_visibility, remember=True)


_CHILD_START_SECONDS = 120.0
_CHILD_CODE = "from index.documents import _child_main; _child_main()"
# The libraries a reader needs, imported in the child before its time budget starts.
_READER_LIBRARIES = {".docx": "docx", ".pdf": "pypdf"}
_FRAME = 4  # bytes of the big-endian length before each message between the processes


class IsolatedReader:
    """Reads documents in a child process, each within the time budget; a context manager.

    Untrusted text never reaches this process's parsers or its sentence splitter: a regex
    holds the interpreter lock for its whole match, so a hostile document read here would
    stop every other thread (the bot's event loop with them). The child is a fresh
    interpreter (``python -c``), not a fork of this threaded process, and does not import
    the caller's main module; it is started at the first document that needs it and then
    reads one document after another. It gets the bytes and the limits on stdin and
    answers in JSON (never pickle: it has read hostile bytes): the sections and each
    section's sentence units (:func:`index.chunking.split_sentences`), which
    :func:`index.chunking.chunk_document` then uses.

    A document that takes longer than ``limits.parse_seconds`` (counted once the child
    has its bytes and its reader's libraries: start-up is not counted) is refused with
    that reason and the child killed; one that kills the child (out of memory, say) is
    refused too. The next document gets a new child.
    """

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()
        self._child: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(
        self,
        path: Path,
        root: Path,
        default_visibility: Visibility = "internal",
        *,
        remember: bool = False,
    ) -> Document:
        """Return the document at ``path`` (as :func:`read_document`), parsed in the child.

        A parse remembered from a checked upload is used as it is. ``remember`` keeps
        this parse for the next reader of the same bytes. Raises DocumentError.
        """
        path, doc_id, suffix, data = _file_to_read(path, root, default_visibility)
        digest = hashlib.sha256(data).hexdigest()
        parsed = _remembered(suffix, digest)
        if parsed is None:
            parsed = self._parse(data, suffix)
            if remember:
                _remember(suffix, digest, parsed)
        return _document(path, doc_id, digest, parsed, default_visibility)

    def close(self) -> None:
        """Stop the child, if one is running (it ends when its input does)."""
        child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError):
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(5)
        if child.stdout is not None:
            child.stdout.close()

    def _kill(self) -> None:
        """Kill the child at once (it overran its budget or stopped answering)."""
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
        self.close()

    def _parse(self, data: bytes, suffix: str) -> _Parsed:
        """Return the child's parse of ``data``, killing it past the time budget."""
        header = json.dumps(
            {"suffix": suffix, "size": len(data), "limits": dataclasses.asdict(self.limits)}
        ).encode()
        child = self._started()
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(len(header).to_bytes(_FRAME, "big") + header)
            child.stdin.write(data)
            child.stdin.flush()
        except BrokenPipeError:
            pass  # it stopped; reading says so
        # "G": it has the bytes and the reader's libraries; the budget starts now.
        if _read_until(child.stdout, 1, time.monotonic() + _CHILD_START_SECONDS) != b"G":
            self._kill()
            raise DocumentError("the document reader stopped (out of memory?)")
        deadline = time.monotonic() + self.limits.parse_seconds
        size = _read_until(child.stdout, _FRAME, deadline)
        answer = None if size is None else _read_until(child.stdout, _length(size), deadline)
        if answer is None:
            overran = time.monotonic() >= deadline
            self._kill()
            if overran:
                raise DocumentError(
                    f"reading it takes longer than {self.limits.parse_seconds:g} s"
                    " (documents.parse_seconds)"
                )
            raise DocumentError("the document reader stopped (out of memory?)")
        return _parsed_from(answer)

    def _started(self) -> subprocess.Popen[bytes]:
        """Return the running child, starting one if needed."""
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        env = _child_environment(os.environ)
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._child = child
        return child


def _length(frame: bytes) -> int:
    return int.from_bytes(frame, "big")


def _parsed_from(answer: bytes) -> _Parsed:
    """Return the parse in the child's JSON answer; raise its DocumentError."""
    try:
        outcome = json.loads(answer)
    except ValueError:
        raise DocumentError("the document reader stopped (out of memory?)") from None
    if outcome.get("error") is not None:
        raise DocumentError(outcome["error"])
    return _Parsed(
        [
            Section(s["text"], s["heading"], s["page"], tuple(s["sentences"]))
            for s in outcome["sections"]
        ],
        title=outcome["title"],
        meta={k: tuple(v) if isinstance(v, list) else v for k, v in outcome["meta"].items()},
    )


def _read_until(stream: Any, size: int, deadline: float) -> bytes | None:
    """Return ``size`` bytes read by ``deadline`` (time.monotonic), else None (late or EOF)."""
    chunks: list[bytes] = []
    got = 0
    fd = stream.fileno()
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, min(size - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _child_main() -> None:
    """Run in the child process: read (header, bytes) requests on stdin, answer each in JSON.

    Each answer holds the tidy sections with their sentence units, or the one-line error.
    """
    from index.chunking import split_sentences  # here: index.chunking imports this module

    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    while len(frame := stdin.read(_FRAME)) == _FRAME:
        header = json.loads(stdin.read(_length(frame)))
        data = stdin.read(header["size"])
        if library := _READER_LIBRARIES.get(header["suffix"]):
            with contextlib.suppress(ImportError):  # the reader says what is missing
                importlib.import_module(library)
        out.write(b"G")  # go: the budget starts
        out.flush()
        try:
            with parse_limits(ParseLimits(**header["limits"])):
                parsed = _parse(data, header["suffix"])
            sections = [
                {"text": text, "heading": s.heading, "page": s.page}
                for s in parsed.sections
                if (text := _tidy_text(s.text))
            ]
            for section in sections:
                section["sentences"] = split_sentences(section["text"])
            answer: dict[str, Any] = {
                "sections": sections,
                "title": parsed.title,
                "meta": parsed.meta,
            }
        except DocumentError as exc:
            answer = {"error": str(exc)}
        except Exception as exc:  # a bug must refuse this document, not end the child
            answer = {"error": f"unexpected error: {type(exc).__name__}: {exc}"}
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        out.write(len(payload).to_bytes(_FRAME, "big") + payload)
        out.flush()


def load_documents(root: Path, default_visibility: Visibility = "internal") -> LoadResult:
    """Return every readable document under ``root`` and the files that were skipped.

    A file that cannot be read becomes a SkippedFile and a warning naming the file and
    the reason; a single bad file never raises.
    """
    result = LoadResult()
    for path in iter_document_paths(root):
        doc_id = document_id(path, root)
        try:
            result.documents.append(read_document(path, root, default_visibility))
        except DocumentError as exc:
            log.warning("Skipping %s: %s", doc_id, exc)
            result.skipped.append(SkippedFile(doc_id, str(exc)))
    log.info(
        "Read %d documents from %s (%d skipped)",
        len(result.documents),
        root,
        len(result.skipped),
    )
    return result


# --------------------------------------------------------------------------- text helpers


def decode_text(data: bytes) -> str:
    """Return ``data`` decoded as UTF-8 (BOM stripped) or else Windows-1252, in NFC with LF.

    UTF-16 with a byte order mark is read too. Raises DocumentError for binary content
    (NUL bytes, or mostly unprintable characters).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows Notepad's "Unicode"; its NUL bytes would otherwise look binary.
        try:
            return _normalise(data.decode("utf-16"))
        except UnicodeDecodeError as exc:
            raise DocumentError("binary content, not text") from exc
    if b"\x00" in data:
        raise DocumentError("binary content, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Old Windows tools save Swedish text as Windows-1252; a few bytes are undefined there.
        text = data.decode("cp1252", errors="replace")
    if _looks_binary(text):
        raise DocumentError("binary content, not text")
    return _normalise(text)


def _looks_binary(text: str) -> bool:
    """Return True if too many characters are control characters or undecodable."""
    if not text:
        return False
    bad = sum(
        1
        for char in text
        if char == "\ufffd" or (unicodedata.category(char) == "Cc" and char not in "\t\n\r\f\v")
    )
    return bad / len(text) > _BINARY_RATIO


def _normalise(text: str) -> str:
    """Return ``text`` in Unicode NFC with LF line endings and form feeds as blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return unicodedata.normalize("NFC", text)


_BLANK_LINES = re.compile(r"\n{3,}")


def _tidy_text(text: str) -> str:
    """Return section text without trailing spaces on lines or runs of blank lines."""
    text = _normalise(text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _collapse(text: str) -> str:
    """Return ``text`` with whitespace runs made one space, stripped."""
    return " ".join(text.split())


def _stem_title(path: Path) -> str:
    """Return a title made from the file name: "budget_2024-plan" -> "budget 2024-plan"."""
    return _collapse(unicodedata.normalize("NFC", path.stem).replace("_", " ")) or path.name


class _HeadingPath:
    """The open headings at a point in a document, by level."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []
        self.first: str | None = None

    def enter(self, level: int, text: str) -> str | None:
        """Open a heading at ``level`` and return the path to it (None if ``text`` is empty)."""
        while self._open and self._open[-1][0] >= level:
            self._open.pop()
        if text:
            self._open.append((level, text))
            if self.first is None:
                self.first = text
        return self.path

    @property
    def path(self) -> str | None:
        """Return the joined heading path, or None before the first heading."""
        return HEADING_SEPARATOR.join(text for _, text in self._open) or None


# --------------------------------------------------------------------------- markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# The opening of an ATX heading: up to 3 spaces, 1-6 "#", then a space, a tab or nothing.
# The rest of the line is cut in Python: one pattern for the text and the closing "#"s
# (r"(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$") took 16 s on "# a", 20,000 spaces, "#b".
_ATX_OPENING = re.compile(r" {0,3}(#{1,6})(?=[ \t]|$)")
_EMPHASIS_AROUND = re.compile(r"^(\*{1,3}|_{1,3})(.+)\1$")


def _atx_heading(line: str) -> tuple[int, str] | None:
    """Return the level and raw text of an ATX heading line ("## Rubrik ##"), else None.

    The text is the line after the opening "#"s without the spaces and tabs around it
    and without a closing run of "#" that follows a space or tab.
    """
    opening = _ATX_OPENING.match(line)
    if opening is None:
        return None
    text = line[opening.end() :].strip(" \t")
    if text.endswith("#"):
        before_closing = text.rstrip("#")
        if before_closing.endswith((" ", "\t")):
            text = before_closing.rstrip(" \t")
    return len(opening.group(1)), text


def _heading_text(raw: str) -> str:
    """Return a heading's text without surrounding emphasis markers."""
    text = _collapse(raw)
    if match := _EMPHASIS_AROUND.match(text):
        text = match.group(2).strip()
    return text


def markdown_sections(body: str) -> list[Section]:
    """Return the sections of a Markdown body, split at its ATX headings (# .. ######).

    Heading lines become the section's heading path and are not part of its text;
    lines inside fenced code blocks are never headings.
    """
    headings = _HeadingPath()
    sections: list[Section] = []
    lines: list[str] = []
    heading: str | None = None
    fence: str | None = None
    for line in _normalise(body).split("\n"):
        if fence is None and (atx := _atx_heading(line)):
            sections.append(Section("\n".join(lines), heading))
            lines = []
            heading = headings.enter(atx[0], _heading_text(atx[1]))
            continue
        if match := _FENCE.match(line):
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        lines.append(line)
    sections.append(Section("\n".join(lines), heading))
    return [section for section in sections if section.text.strip()]


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return the YAML front matter of a Markdown text as a mapping, and the body after it.

    A text without front matter gives ({}, text). Raises DocumentError for invalid YAML,
    front matter that is not a mapping, or an opening '---' that is never closed.
    """
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        return {}, text
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip() in ("---", "..."):
            raw = "\n".join(lines[:index])
            body = "\n".join(lines[index + 1 :])
            break
    else:
        raise DocumentError("front matter starts with '---' but has no closing '---' line")
    try:
        data = load_yaml(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"invalid YAML in front matter{where}: {problem}") from exc
    if data is None:
        return {}, body
    if not isinstance(data, dict):
        raise DocumentError(f"front matter must be 'key: value' lines, not a {_type_name(data)}")
    return data, body


def _type_name(value: object) -> str:
    """Return a plain-words name for the YAML type of ``value``."""
    names = {
        list: "list",
        dict: "mapping",
        str: "text",
        bool: "true/false",
        int: "number",
        float: "number",
        type(None): "empty value",
    }
    return names.get(type(value), type(value).__name__)


def _meta_text(key: str, value: object) -> str | None:
    """Return a front matter value that should be a short text (numbers are accepted)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DocumentError(f"front matter '{key}' must be text, not a {_type_name(value)}")
    if isinstance(value, int) and abs(value) >= _LONGEST_NUMBER:
        raise DocumentError(f"front matter '{key}' must be text, not a number this long")
    return _collapse(unicodedata.normalize("NFC", str(value))) or None


_LONGEST_NUMBER = 10**30  # a number given as a title, author or date is shorter than this


def _meta_list(key: str, value: object) -> tuple[str, ...]:
    """Return a front matter value that should be a list of texts."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DocumentError(
            f"front matter '{key}' must be a list of texts, e.g. {key}: [Borlänge, Nässjö], "
            f"not a {_type_name(value)}"
        )
    items = (_collapse(unicodedata.normalize("NFC", item)) for item in value)
    return tuple(dict.fromkeys(item for item in items if item))


def parse_front_matter(data: dict[str, Any]) -> dict[str, Any]:
    """Return the checked metadata from a front matter mapping (only the known keys).

    Raises DocumentError naming the key and what is wrong with it.
    """
    for key in data:
        if key not in FRONT_MATTER_KEYS:
            log.debug("Ignoring unknown front matter key %r", key)
    meta: dict[str, Any] = {}
    for key in ("title", "author", "url"):
        if (value := _meta_text(key, data.get(key))) is not None:
            meta[key] = value
    date = data.get("date")
    if isinstance(date, dt.date):  # also dt.datetime
        meta["date"] = date.isoformat()
    elif (text := _meta_text("date", date)) is not None:
        meta["date"] = text
    visibility = data.get("visibility")
    if visibility is not None:
        if not isinstance(visibility, str):
            raise DocumentError(
                "front matter 'visibility' must be 'public' or 'internal',"
                f" not a {_type_name(visibility)}"
            )
        normalised = visibility.strip().lower()
        if normalised not in _VISIBILITIES:
            raise DocumentError(
                "front matter 'visibility' must be 'public' or 'internal',"
                f" not '{_clip(visibility)}'"
            )
        meta["visibility"] = normalised
    for key in ("municipalities", "topics"):
        if items := _meta_list(key, data.get(key)):
            meta[key] = items
    return meta


def _read_markdown(data: bytes) -> _Parsed:
    """Read a Markdown file with optional YAML front matter."""
    text = decode_text(data)
    raw_meta, body = split_front_matter(text)
    meta = parse_front_matter(raw_meta)
    headings = _first_heading(body)
    return _Parsed(markdown_sections(body), title=headings, meta=meta)


def _first_heading(body: str) -> str | None:
    """Return the text of the first ATX heading outside code blocks, if any."""
    fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            fence = not fence
        elif not fence and (atx := _atx_heading(line)):
            if text := _heading_text(atx[1]):
                return text
    return None


# --------------------------------------------------------------------------- plain text


def _read_text(data: bytes) -> _Parsed:
    """Read a plain text file: one section; a short first line is the title."""
    text = decode_text(data)
    title = None
    for line in text.split("\n"):
        if line.strip():
            candidate = _collapse(line)
            if len(candidate) <= _TITLE_LINE_MAX_CHARS:
                title = candidate
            break
    return _Parsed([Section(text)], title=title)


# --------------------------------------------------------------------------- HTML

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg"})
_PARAGRAPH_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote",
        "ul", "ol", "dl", "table", "figure", "figcaption", "form", "fieldset", "address",
        "pre", "hr", "details", "summary",
    }
)  # fmt: skip
_LINE_TAGS = frozenset({"br", "tr", "dt", "dd", "caption"})
_CELL_TAGS = frozenset({"td", "th"})
_HEADING_TAGS = {f"h{level}": level for level in range(1, 7)}
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip


class _HTMLText(HTMLParser):
    """Collects the visible text of an HTML page as sections split at h1-h6."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.sections: list[Section] = []
        self.headings = _HeadingPath()
        self._buffer: list[str] = []
        self._heading: str | None = None
        self._heading_level: int | None = None
        self._heading_parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._pre_depth = 0
        self._lists: list[list[int]] = []  # per open list: [counter, is_ordered]

    # Line breaks are written as "\n" (line) and "\n\n" (paragraph) and tidied in _flush.
    def _out(self, text: str) -> None:
        if self._heading_level is not None:
            self._heading_parts.append(text)
        else:
            self._buffer.append(text)

    def _paragraph_break(self, nested: str = " ") -> str:
        """Return a paragraph break, or ``nested`` inside a list (items stay one per line)."""
        return nested if self._lists else "\n\n"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            if tag != "head" or not self._skip_depth:
                self._skip_depth += 1
            return
        if tag == "title":
            self._in_title = True
            return
        if self._skip_depth:
            return
        if tag in _HEADING_TAGS:
            self._flush()
            self._heading_level = _HEADING_TAGS[tag]
            self._heading_parts = []
        elif tag == "li":
            self._out("\n")
            if self._lists and self._lists[-1][1]:
                self._lists[-1][0] += 1
                self._out(f"{self._lists[-1][0]}. ")
            else:
                self._out("• ")
        elif tag in ("ul", "ol"):
            self._out(self._paragraph_break(nested=""))
            self._lists.append([0, int(tag == "ol")])
        elif tag in _PARAGRAPH_TAGS:
            self._out(self._paragraph_break())
            if tag == "pre":
                self._pre_depth += 1
        elif tag in _LINE_TAGS:
            self._out("\n")
        elif tag in _CELL_TAGS:
            self._out(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if tag == "title":
            self._in_title = False
            return
        if self._skip_depth:
            return
        if tag in _HEADING_TAGS and self._heading_level is not None:
            text = _heading_text("".join(self._heading_parts))
            self._heading = self.headings.enter(self._heading_level, text)
            self._heading_level = None
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._out(self._paragraph_break(nested=""))
        elif tag in _PARAGRAPH_TAGS:
            self._out(self._paragraph_break())
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in ("tr", "dt", "dd"):
            self._out("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif self._skip_depth:
            return
        elif self._pre_depth:
            self._out(data)
        else:
            self._out(re.sub(r"[ \t\r\n\f]+", " ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        """End the current section."""
        text = _html_breaks("".join(self._buffer))
        if text.strip():
            self.sections.append(Section(text, self._heading))
        self._buffer = []


def _html_breaks(raw: str) -> str:
    """Return text with line-break markers turned into lines and blank lines."""

    def breaks(match: re.Match[str]) -> str:
        return "\n\n" if match.group(0).count("\n") >= 2 else "\n"

    # Tried only from the first of a run of spaces: tried from each of them, 40,000
    # spaces after a word in a <pre> took 5 s (tests/index/test_linear_text.py).
    text = re.sub(r"(?<![ \t])[ \t]*\n(?:[ \t]*\n)*[ \t]*", breaks, raw)
    lines = (re.sub(r"[ \t]+", " ", line).strip(" ") for line in text.split("\n"))
    return "\n".join(lines).strip("\n")


MAIN_TEXT_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_links": False,
    "include_images": False,
    "favor_precision": True,
}
"""How trafilatura extracts a page's main text, here and in fetch-sources (bot/services/)."""
_MAIN_CONTAINER = re.compile(r"<(?:main|article)\b|\brole\s*=\s*[\"']?main\b", re.IGNORECASE)


def _read_html(data: bytes) -> _Parsed:
    """Read an HTML page: visible text only, sections at h1-h6, title from <title>.

    A web page (one with a ``<main>`` or ``<article>``, as saved from a site) is read like
    fetch-sources reads one: only its main text, as trafilatura finds it, so the menu,
    cookie banner and footer stay out. Any other HTML document is read whole, because
    trafilatura drops the headings and lists of pages without a main container.
    """
    text = decode_text(data)
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    title = _collapse("".join(parser.title_parts)) or parser.headings.first
    if _MAIN_CONTAINER.search(text) and (main := _main_html(text)) is not None:
        main_parser = _HTMLText()
        main_parser.feed(main)
        main_parser.close()
        if main_parser.sections:
            return _Parsed(main_parser.sections, title=title or main_parser.headings.first)
    return _Parsed(parser.sections, title=title)


def _main_html(text: str) -> str | None:
    """Return the main content of a web page as simple HTML, or None if none is found."""
    import trafilatura  # imported here: only HTML files need it

    try:
        return trafilatura.extract(text, output_format="html", **MAIN_TEXT_OPTIONS)
    except Exception:  # trafilatura raises assorted lxml errors on broken pages
        log.info("no main text found by trafilatura; reading the whole page", exc_info=True)
        return None


# --------------------------------------------------------------------------- PDF


def _read_pdf(data: bytes) -> _Parsed:
    """Read a PDF: one section per page with text, numbered from 1."""
    # Imported here: pypdf is only needed when there are PDFs.
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise DocumentError(f"not a valid PDF: {_what_it_looks_like(data)}")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError("not a valid PDF: it is encrypted (password protected)")
        pages = list(reader.pages)
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"not a valid PDF: {exc or type(exc).__name__}") from exc
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise DocumentError(f"not a valid PDF: {type(exc).__name__}: {exc}") from exc
    if not pages:
        raise DocumentError("not a valid PDF: it has no pages")
    limits = _limits()
    if len(pages) > limits.max_pages:
        raise DocumentError(
            f"the PDF has {len(pages)} pages, more than {limits.max_pages} (documents.max_pages)"
        )
    stream_limit = int(limits.max_page_stream_mb * 1_000_000)
    sections = []
    for number, page in enumerate(pages, start=1):
        size = _pdf_page_stream_size(page)
        if size > stream_limit:
            raise DocumentError(
                f"page {number} of the PDF unpacks to {size / 1e6:.1f} MB of drawing"
                f" instructions, more than {limits.max_page_stream_mb:g} MB"
                " (documents.max_page_stream_mb)"
            )
        try:
            text = page.extract_text() or ""
        except Exception as exc:  # one damaged page should not lose the others
            log.warning("Could not extract text from PDF page %d: %s", number, exc)
            continue
        if text.strip():
            sections.append(Section(text, page=number))
    if not sections:
        raise DocumentError("no text could be extracted (scanned PDF?)")
    title = reader.metadata.title if reader.metadata else None
    title = _collapse(title) if isinstance(title, str) else None
    return _Parsed(sections, title=title or None)


def _pdf_page_stream_size(page: Any) -> int:
    """Return the unpacked size of a PDF page's content stream(s), 0 when it has none.

    The raw streams are unpacked (zlib, fast), never parsed: ``page.get_contents()``
    would parse every drawing instruction, which is the slow part itself.
    """
    try:
        contents = page.get("/Contents")
        if contents is None:
            return 0
        contents = contents.get_object()
        streams = contents if isinstance(contents, list) else [contents]
        return sum(len(stream.get_object().get_data()) for stream in streams)
    except Exception as exc:  # a damaged stream: extract_text says what it can
        log.debug("no content stream size: %s", exc)
        return 0


def _what_it_looks_like(data: bytes) -> str:
    """Return a short guess at what a file that is not a PDF actually is."""
    signatures = {
        b"\x89PNG": "it is a PNG image",
        b"\xff\xd8\xff": "it is a JPEG image",
        b"GIF8": "it is a GIF image",
        b"PK\x03\x04": "it is a ZIP archive (a Word or Excel file?)",
        b"\xd0\xcf\x11\xe0": "it is an old Microsoft Office file",
    }
    for signature, description in signatures.items():
        if data.startswith(signature):
            return description
    return "the file does not start with a PDF header"


# --------------------------------------------------------------------------- DOCX

_DOCX_LEVEL = re.compile(r"(?<!\d)(\d+)\s*$")  # from a run's first digit only: linear


def _docx_heading_level(style_name: str) -> int | None:
    """Return the heading level of a paragraph style ("Heading 2", "Rubrik 1"), or None."""
    lowered = style_name.lower()
    if lowered.startswith(("heading", "rubrik")):
        match = _DOCX_LEVEL.search(lowered)
        return int(match.group(1)) if match else 1
    return None


def _docx_is_list(paragraph: Any, style: str) -> bool:
    """Return True if a Word paragraph is a list item (a list style or numbering)."""
    if style.lower().startswith(("list", "liststycke", "punktlista", "numrerad lista")):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _docx_check_size(data: bytes) -> None:
    """Refuse a Word file whose parts unpack to more than ``documents.max_inflated_mb``."""
    limit = _limits().max_inflated_mb
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DocumentError(f"not a valid Word document: {exc}") from exc
    # zipfile reads a member no further than its recorded size, so the sum bounds the work.
    if inflated > limit * 1_000_000:
        raise DocumentError(
            f"the Word document unpacks to {inflated / 1e6:.1f} MB, more than {limit:g} MB"
            " (documents.max_inflated_mb)"
        )


def _docx_style_names(document: Any) -> tuple[dict[str, str], str]:
    """Return paragraph style id -> name, and the default paragraph style's name.

    python-docx looks a paragraph's style up among all styles on every ``.style`` (an
    XPath query each), which made a 7 kB file of many short paragraphs take seconds;
    once per document is enough.
    """
    names: dict[str, str] = {}
    default = ""
    for style in document.styles:
        if style.type == 1:  # WD_STYLE_TYPE.PARAGRAPH
            names[style.style_id] = style.name or ""
            if style._element.default:
                default = style.name or ""
    return names, default


def _read_docx(data: bytes) -> _Parsed:
    """Read a Word document: paragraphs and tables, sections at Heading/Rubrik styles."""
    import docx
    from docx.table import Table

    _docx_check_size(data)
    try:
        document = docx.Document(io.BytesIO(data))
        style_names, default_style = _docx_style_names(document)
    except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
        raise DocumentError(f"not a valid Word document: {type(exc).__name__}: {exc}") from exc
    max_paragraphs = _limits().max_paragraphs
    # Paragraphs and tables are the body's children: counted at once, before any is read.
    if len(document.element.body) > max_paragraphs + 1:  # + the section properties
        raise DocumentError(
            f"the Word document has more than {max_paragraphs} paragraphs"
            " (documents.max_paragraphs)"
        )
    headings = _HeadingPath()
    sections: list[Section] = []
    blocks: list[str] = []
    heading: str | None = None
    title_style: str | None = None

    def flush() -> None:
        if blocks:
            sections.append(Section("\n\n".join(blocks), heading))
            blocks.clear()

    previous_was_item = False
    for count, block in enumerate(document.iter_inner_content(), start=1):
        if count > max_paragraphs:
            raise DocumentError(
                f"the Word document has more than {max_paragraphs} paragraphs"
                " (documents.max_paragraphs)"
            )
        if isinstance(block, Table):
            rows = _docx_table_rows(block)
            if rows:
                blocks.append("\n".join(rows))
            previous_was_item = False
            continue
        text = _collapse(block.text)
        if not text:
            continue
        style_id = block._p.style
        style = style_names.get(style_id, default_style) if style_id else default_style
        level = _docx_heading_level(style)
        if level is not None:
            flush()
            heading = headings.enter(level, text)
            previous_was_item = False
        elif style.lower() in ("title", "titel"):
            title_style = title_style or text
            previous_was_item = False
        elif _docx_is_list(block, style):
            item = text if text[:1] in "•-–*·" else f"• {text}"
            if previous_was_item:
                blocks[-1] += "\n" + item
            else:
                blocks.append(item)
            previous_was_item = True
        else:
            blocks.append(text)
            previous_was_item = False
    flush()
    core_title = _collapse(document.core_properties.title or "")
    return _Parsed(sections, title=core_title or title_style or headings.first)


def _docx_table_rows(table: Any) -> list[str]:
    """Return a Word table as lines, one per row, cells separated by " | "."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _collapse(cell.text)
            if text and (not cells or cells[-1] != text):  # merged cells repeat
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


_READERS: dict[str, Callable[[bytes], _Parsed]] = {
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".txt": _read_text,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
