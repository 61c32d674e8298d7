"""A minimal PDF writer for tests and benchmarks: real PDFs with a text layer, no dependency.

``make_pdf([["line", ...], ...], title=...)`` returns the bytes of a PDF with one page per
list of lines, set in Helvetica with WinAnsi encoding (so å, ä, ö come out right), that
pypdf (and any viewer) reads.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

_PAGE_WIDTH, _PAGE_HEIGHT = 595, 842  # A4 in points
_FONT_SIZE = 11
_LEADING = 14


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(
    pages: Sequence[Sequence[str]], title: str | None = None, *, deflate: bool = False
) -> bytes:
    """Return a PDF with one page per sequence of text lines (``deflate``: packed streams)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the page tree's number is known
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    info = add(b"<< /Title " + _pdf_string(title) + b" >>") if title else None
    kids = []
    for lines in pages:
        stream = b"BT /F1 %d Tf %d TL 56 %d Td\n" % (_FONT_SIZE, _LEADING, _PAGE_HEIGHT - 60)
        stream += b"".join(_pdf_string(line) + b" Tj T*\n" for line in lines) + b"ET"
        header = b"<< /Length %d >>"
        if deflate:
            stream, header = zlib.compress(stream, 9), b"<< /Length %d /Filter /FlateDecode >>"
        content = add(header % len(stream) + b"\nstream\n" + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] "
                b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, _PAGE_WIDTH, _PAGE_HEIGHT, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
