"""What reading a file gives: Document and Section, the errors and limits of reading one.

Every problem with a single file is raised as :class:`DocumentError` with a one-line
reason; :func:`index.documents.load_documents` and a reindex turn it into a
:class:`SkippedFile` so that one bad file never stops indexing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, get_args

from pydantic import ConfigDict, Field

from index.types import Visibility

HEADING_SEPARATOR = " › "
"""Joins a heading to its ancestors in :attr:`Section.heading`."""

VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
"""The visibilities a document may have, as written in front matter and visibility lists."""


@dataclass(frozen=True)
class ParseLimits:
    """How much work reading one document may take (config section ``documents``).

    Small hostile files can unpack to a lot: a 7 kB Word file to megabytes of XML, a
    9 kB PDF to a 3 MB page. Past a limit the document is refused with a reason. The
    limits are passed to every reader (:func:`index.documents.read_document`,
    :class:`index.documents.IsolatedReader`); the defaults apply where none are given.
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
class Parsed:
    """What a format reader found in a file's bytes: sections, and the metadata they carry.

    It does not depend on where the file lies: :func:`index.documents.read_document`
    makes the Document from it, with the file's id, visibility and content hash.
    """

    sections: list[Section]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
