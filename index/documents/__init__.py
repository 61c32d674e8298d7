"""Files in the knowledge folder -> Document, with one reader per file format.

A document is a list of sections. Markdown, HTML and Word documents are split at their
headings (the section keeps the heading path, "Rubrik › Underrubrik"); a PDF has one
section per page; a plain text file is one section. Section text keeps paragraphs apart
with a blank line and puts each list item on its own line, which is what the chunker
(:mod:`index.chunking`) relies on.

The package, by job:

- ``types``: Document, Section, DocumentError, ParseLimits, what a reader returns;
- ``_files``: finding the document files, the ignore rules, ids and content hashes;
- ``_visibility``: a folder's ``.visibility.yaml`` (visibility by file name);
- ``_yaml``: bounded YAML (no anchors or aliases) for front matter and the lists;
- ``markdown``, ``text``, ``html``, ``pdf``, ``docx``: one reader per format, each
  ``read_x(data, limits) -> Parsed``;
- ``_reading``: a file -> Document (:func:`read_document`, :func:`load_documents`);
- ``_isolated``: the same in a child process with a time budget (:class:`IsolatedReader`),
  and the parses of checked uploads handed to the next reindex (:class:`ParsedUploads`).

Every problem with a single file is raised as :class:`DocumentError` with a one-line
reason; :func:`load_documents` turns those into :class:`SkippedFile` records so that one
bad file never stops indexing.
"""

from index.documents._files import (
    document_id,
    file_hash,
    is_ignored_name,
    iter_document_paths,
)
from index.documents._isolated import (
    IsolatedReader,
    ParsedFile,
    ParsedUploads,
    read_document_isolated,
)
from index.documents._reading import (
    READERS,
    SUPPORTED_SUFFIXES,
    load_documents,
    read_document,
)
from index.documents._text import decode_text
from index.documents._visibility import (
    VISIBILITY_FILE,
    read_visibility_list,
    recorded_visibility,
)
from index.documents._yaml import MAX_YAML_DEPTH, load_yaml, yaml_reason
from index.documents.html import MAIN_TEXT_OPTIONS
from index.documents.markdown import (
    FRONT_MATTER_KEYS,
    markdown_sections,
    parse_front_matter,
    split_front_matter,
)
from index.documents.types import (
    HEADING_SEPARATOR,
    Document,
    DocumentError,
    LoadResult,
    Parsed,
    ParseLimits,
    Section,
    SkippedFile,
)
from index.types import Visibility

__all__ = [
    "FRONT_MATTER_KEYS",
    "HEADING_SEPARATOR",
    "MAIN_TEXT_OPTIONS",
    "MAX_YAML_DEPTH",
    "READERS",
    "SUPPORTED_SUFFIXES",
    "VISIBILITY_FILE",
    "Document",
    "DocumentError",
    "IsolatedReader",
    "LoadResult",
    "ParseLimits",
    "Parsed",
    "ParsedFile",
    "ParsedUploads",
    "Section",
    "SkippedFile",
    "Visibility",
    "decode_text",
    "document_id",
    "file_hash",
    "is_ignored_name",
    "iter_document_paths",
    "load_documents",
    "load_yaml",
    "markdown_sections",
    "parse_front_matter",
    "read_document",
    "read_document_isolated",
    "read_visibility_list",
    "recorded_visibility",
    "split_front_matter",
    "yaml_reason",
]
