"""PDF: one section per page with text, numbered from 1 (pypdf); pages and streams bounded."""

from __future__ import annotations

import io
import logging
from typing import Any

from index.documents._text import collapse
from index.documents.types import DocumentError, Parsed, ParseLimits, Section

log = logging.getLogger(__name__)


def read_pdf(data: bytes, limits: ParseLimits) -> Parsed:
    """Read a PDF: one section per page with text, numbered from 1.

    Refused past ``limits.max_pages`` pages, and when one page's content stream unpacks
    to more than ``limits.max_page_stream_mb``.
    """
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
    if len(pages) > limits.max_pages:
        raise DocumentError(
            f"the PDF has {len(pages)} pages, more than {limits.max_pages} (documents.max_pages)"
        )
    stream_limit = int(limits.max_page_stream_mb * 1_000_000)
    sections = []
    for number, page in enumerate(pages, start=1):
        size = _page_stream_size(page)
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
    title = collapse(title) if isinstance(title, str) else None
    return Parsed(sections, title=title or None)


def _page_stream_size(page: Any) -> int:
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
