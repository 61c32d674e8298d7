"""Plain text: one section; a short first line is the title."""

from __future__ import annotations

from index.documents._text import collapse, decode_text
from index.documents.types import Parsed, ParseLimits, Section

_TITLE_LINE_MAX_CHARS = 100


def read_text(data: bytes, limits: ParseLimits) -> Parsed:
    """Read a plain text file: one section; a short first line is the title."""
    text = decode_text(data)
    title = None
    for line in text.split("\n"):
        if line.strip():
            candidate = collapse(line)
            if len(candidate) <= _TITLE_LINE_MAX_CHARS:
                title = candidate
            break
    return Parsed([Section(text)], title=title)
