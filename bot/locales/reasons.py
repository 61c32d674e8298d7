"""Why a document could not be read, in the reader's language.

The document readers (index/documents/) raise English diagnostics, which the command
line and the logs show as they are. Where a person reads them in their own language (a
refused upload, ``/kb list``), the known ones are said from the catalogues here, with
their numbers and names kept; an unknown one keeps its English detail.
"""

from __future__ import annotations

import re

from bot.locales import t

# (a diagnostic of the readers, as a whole-string pattern) -> the catalogue's text.
_KNOWN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.DOTALL), key)
    for pattern, key in (
        (r"not a valid PDF: it is an? (?P<kind>PNG|JPEG|GIF) image", "reason.pdf_image"),
        (r"not a valid PDF: it is a ZIP archive \(a Word or Excel file\?\)", "reason.pdf_zip"),
        (r"not a valid PDF: it is an old Microsoft Office file", "reason.pdf_old_office"),
        (r"not a valid PDF: the file does not start with a PDF header", "reason.pdf_header"),
        (r"not a valid PDF: it is encrypted \(password protected\)", "reason.pdf_encrypted"),
        (r"not a valid PDF: it has no pages", "reason.pdf_no_pages"),
        (
            r"the PDF has (?P<pages>\d+) pages, more than (?P<limit>\d+) \(documents\.max_pages\)",
            "reason.pdf_pages",
        ),
        (
            r"page (?P<page>\d+) of the PDF unpacks to (?P<size>[\d.]+) MB of drawing"
            r" instructions, more than (?P<limit>[\d.]+) MB \(documents\.max_page_stream_mb\)",
            "reason.pdf_stream",
        ),
        (r"not a valid PDF: (?P<detail>.+)", "reason.pdf_damaged"),
        (r"no text could be extracted \(scanned PDF\?\)", "reason.no_text"),
        (
            r"the Word document unpacks to (?P<size>[\d.]+) MB, more than (?P<limit>[\d.]+) MB"
            r" \(documents\.max_inflated_mb\)",
            "reason.docx_inflated",
        ),
        (
            r"the Word document has more than (?P<limit>\d+) paragraphs"
            r" \(documents\.max_paragraphs\)",
            "reason.docx_paragraphs",
        ),
        (r"not a valid Word document: (?P<detail>.+)", "reason.docx_damaged"),
        (r"binary content, not text", "reason.binary"),
        (r"empty document", "reason.empty"),
        (
            r"front matter starts with '---' but has no closing '---' line",
            "reason.front_matter_open",
        ),
        (r"invalid YAML in front matter(?P<detail>.*)", "reason.front_matter_yaml"),
        (r"the document reader stopped \(out of memory\?\)", "reason.reader_stopped"),
        (r"the document is nested too deeply to read", "reason.too_deep"),
    )
)


def say_reason(reason: str, language: str) -> str:
    """Return a document reader's diagnostic in ``language``; an unknown one as it is."""
    for pattern, key in _KNOWN:
        match = pattern.fullmatch(reason.strip())
        if match is not None:
            return t(key, language, **match.groupdict())
    return reason
