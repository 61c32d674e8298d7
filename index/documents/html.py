"""HTML: the visible text, sections at h1-h6; a web page's main text only (as fetch-sources)."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from typing import Any

from index.documents._text import HeadingPath, collapse, decode_text, heading_text
from index.documents.types import Parsed, ParseLimits, Section

log = logging.getLogger(__name__)

MAIN_TEXT_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_links": False,
    "include_images": False,
    "favor_precision": True,
}
"""How trafilatura extracts a page's main text, here and in fetch-sources (bot/services/web/)."""
_MAIN_CONTAINER = re.compile(r"<(?:main|article)\b|\brole\s*=\s*[\"']?main\b", re.IGNORECASE)


def read_html(data: bytes, limits: ParseLimits) -> Parsed:
    """Read an HTML page: visible text only, sections at h1-h6, title from <title>.

    A web page (one with a ``<main>`` or ``<article>``, as saved from a site) is read like
    fetch-sources reads one: only its main text, as trafilatura finds it, so the menu,
    cookie banner and footer stay out. Any other HTML document is read whole, because
    trafilatura drops the headings and lists of pages without a main container. No limit
    applies but the time budget.
    """
    text = decode_text(data)
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    title = collapse("".join(parser.title_parts)) or parser.headings.first
    if _MAIN_CONTAINER.search(text) and (main := _main_html(text)) is not None:
        main_parser = _HTMLText()
        main_parser.feed(main)
        main_parser.close()
        if main_parser.sections:
            return Parsed(main_parser.sections, title=title or main_parser.headings.first)
    return Parsed(parser.sections, title=title)


def _main_html(text: str) -> str | None:
    """Return the main content of a web page as simple HTML, or None if none is found."""
    import trafilatura  # imported here: only HTML files need it

    try:
        return trafilatura.extract(text, output_format="html", **MAIN_TEXT_OPTIONS)
    except Exception:  # trafilatura raises assorted lxml errors on broken pages
        log.info("no main text found by trafilatura; reading the whole page", exc_info=True)
        return None


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
        self.headings = HeadingPath()
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
            text = heading_text("".join(self._heading_parts))
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
