"""Text helpers every reader shares: decoding, Unicode and line-ending tidying, heading paths."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from index.documents.types import HEADING_SEPARATOR, DocumentError

_BINARY_RATIO = 0.05
_BLANK_LINES = re.compile(r"\n{3,}")
_EMPHASIS_AROUND = re.compile(r"^(\*{1,3}|_{1,3})(.+)\1$")


def decode_text(data: bytes) -> str:
    """Return ``data`` decoded as UTF-8 (BOM stripped) or else Windows-1252, in NFC with LF.

    UTF-16 with a byte order mark is read too. Raises DocumentError for binary content
    (NUL bytes, or mostly unprintable characters).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Windows Notepad's "Unicode"; its NUL bytes would otherwise look binary.
        try:
            return normalise(data.decode("utf-16"))
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
    return normalise(text)


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


def normalise(text: str) -> str:
    """Return ``text`` in Unicode NFC with LF line endings and form feeds as blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return unicodedata.normalize("NFC", text)


def tidy_text(text: str) -> str:
    """Return section text without trailing spaces on lines or runs of blank lines."""
    text = normalise(text)
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def collapse(text: str) -> str:
    """Return ``text`` with whitespace runs made one space, stripped."""
    return " ".join(text.split())


def stem_title(path: Path) -> str:
    """Return a title made from the file name: "budget_2024-plan" -> "budget 2024-plan"."""
    return collapse(unicodedata.normalize("NFC", path.stem).replace("_", " ")) or path.name


def heading_text(raw: str) -> str:
    """Return a heading's text without surrounding emphasis markers."""
    text = collapse(raw)
    if match := _EMPHASIS_AROUND.match(text):
        text = match.group(2).strip()
    return text


class HeadingPath:
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
