"""A file -> Document: the format readers by suffix, and the Document made from a parse."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from index.documents._files import document_id, iter_document_paths
from index.documents._text import stem_title, tidy_text
from index.documents._visibility import recorded_visibility, with_recorded_visibility
from index.documents.docx import read_docx
from index.documents.html import read_html
from index.documents.markdown import read_markdown
from index.documents.pdf import read_pdf
from index.documents.text import read_text
from index.documents.types import (
    VISIBILITIES,
    Document,
    DocumentError,
    LoadResult,
    Parsed,
    ParseLimits,
    Section,
    SkippedFile,
)
from index.types import Visibility

log = logging.getLogger(__name__)

Reader = Callable[[bytes, ParseLimits], Parsed]
"""A format reader: a file's bytes and the limits in force -> what it found; DocumentError."""

READERS: dict[str, Reader] = {
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(READERS)


def read_document(
    path: Path,
    root: Path,
    default_visibility: Visibility = "internal",
    *,
    limits: ParseLimits | None = None,
) -> Document:
    """Return the document in the file at ``path``; its id is relative to ``root``.

    The visibility is the front matter's (Markdown), else the one recorded in the
    folder's visibility list (``.visibility.yaml``, any format), else
    ``default_visibility``. ``limits`` None: the defaults. Raises DocumentError with a
    one-line reason if the file cannot be read. The file is parsed in this process: a
    file from anyone is read with :class:`index.documents.IsolatedReader` instead.
    """
    path, doc_id, suffix, data = file_to_read(path, root, default_visibility)
    parsed = parse(data, suffix, limits or ParseLimits(), doc_id)
    return document_from(path, doc_id, hashlib.sha256(data).hexdigest(), parsed, default_visibility)


def load_documents(
    root: Path,
    default_visibility: Visibility = "internal",
    *,
    limits: ParseLimits | None = None,
) -> LoadResult:
    """Return every readable document under ``root`` and the files that were skipped.

    A file that cannot be read becomes a SkippedFile and a warning naming the file and
    the reason; a single bad file never raises.
    """
    result = LoadResult()
    for path in iter_document_paths(root):
        doc_id = document_id(path, root)
        try:
            result.documents.append(read_document(path, root, default_visibility, limits=limits))
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


def file_to_read(
    path: Path, root: Path, default_visibility: Visibility
) -> tuple[Path, str, str, bytes]:
    """Return (path, document id, suffix, bytes) of a file to read; raise DocumentError."""
    if default_visibility not in VISIBILITIES:
        raise ValueError(
            f"default_visibility must be public or internal, not {default_visibility!r}"
        )
    path = Path(path)
    doc_id = document_id(path, root)
    suffix = path.suffix.lower()
    if suffix not in READERS:
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


def parse(data: bytes, suffix: str, limits: ParseLimits, doc_id: str = "") -> Parsed:
    """Return what the reader of ``suffix`` finds in ``data`` (under ``limits``).

    Raises DocumentError: the reader's own, or one for a reader that failed otherwise.
    """
    reader = READERS[suffix]
    try:
        return reader(data, limits)
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError("the document is nested too deeply to read") from exc
    except Exception as exc:  # a reader bug or an odd file must not stop the whole index
        log.warning("Unexpected error reading %s", doc_id, exc_info=True)
        raise DocumentError(f"unexpected error: {type(exc).__name__}: {exc}") from exc


def document_from(
    path: Path, doc_id: str, digest: str, parsed: Parsed, default_visibility: Visibility
) -> Document:
    """Return the document of a file (``digest``: its bytes' sha256) from its parse."""
    sections = tuple(
        # Sentences cut in the reader's child were cut from this very text (it is tidy).
        Section(text, section.heading, section.page, section.sentences)
        if text == section.text
        else Section(text, section.heading, section.page)
        for section in parsed.sections
        if (text := tidy_text(section.text))
    )
    if not sections:
        raise DocumentError("empty document")
    meta = parsed.meta
    title = meta.get("title") or parsed.title or stem_title(path)
    visibility = meta.get("visibility") or recorded_visibility(path) or default_visibility
    return Document(
        id=doc_id,
        title=title,
        sections=sections,
        visibility=visibility,
        content_hash=with_recorded_visibility(digest, path),
        author=meta.get("author"),
        date=meta.get("date"),
        url=meta.get("url"),
        municipalities=meta.get("municipalities", ()),
        topics=meta.get("topics", ()),
    )
