"""Word (.docx): paragraphs, lists and tables, sections at Heading/Rubrik styles; size bounded."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from index.documents._text import HeadingPath, collapse
from index.documents.types import DocumentError, Parsed, ParseLimits, Section

_LEVEL = re.compile(r"(?<!\d)(\d+)\s*$")  # from a run's first digit only: linear


def _heading_level(style_name: str) -> int | None:
    """Return the heading level of a paragraph style ("Heading 2", "Rubrik 1"), or None."""
    lowered = style_name.lower()
    if lowered.startswith(("heading", "rubrik")):
        match = _LEVEL.search(lowered)
        return int(match.group(1)) if match else 1
    return None


def _is_list(paragraph: Any, style: str) -> bool:
    """Return True if a Word paragraph is a list item (a list style or numbering)."""
    if style.lower().startswith(("list", "liststycke", "punktlista", "numrerad lista")):
        return True
    properties = paragraph._p.pPr
    return properties is not None and properties.numPr is not None


def _check_size(data: bytes, limit: float) -> None:
    """Refuse a Word file whose parts unpack to more than ``limit`` MB together."""
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


def _style_names(document: Any) -> tuple[dict[str, str], str]:
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


def read_docx(data: bytes, limits: ParseLimits) -> Parsed:
    """Read a Word document: paragraphs and tables, sections at Heading/Rubrik styles.

    Refused when its parts unpack to more than ``limits.max_inflated_mb`` (checked before
    it is parsed) and past ``limits.max_paragraphs`` paragraphs and tables.
    """
    import docx
    from docx.table import Table

    _check_size(data, limits.max_inflated_mb)
    try:
        document = docx.Document(io.BytesIO(data))
        style_names, default_style = _style_names(document)
    except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
        raise DocumentError(f"not a valid Word document: {type(exc).__name__}: {exc}") from exc
    max_paragraphs = limits.max_paragraphs
    # Paragraphs and tables are the body's children: counted at once, before any is read.
    if len(document.element.body) > max_paragraphs + 1:  # + the section properties
        raise DocumentError(
            f"the Word document has more than {max_paragraphs} paragraphs"
            " (documents.max_paragraphs)"
        )
    headings = HeadingPath()
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
            rows = _table_rows(block)
            if rows:
                blocks.append("\n".join(rows))
            previous_was_item = False
            continue
        text = collapse(block.text)
        if not text:
            continue
        style_id = block._p.style
        style = style_names.get(style_id, default_style) if style_id else default_style
        level = _heading_level(style)
        if level is not None:
            flush()
            heading = headings.enter(level, text)
            previous_was_item = False
        elif style.lower() in ("title", "titel"):
            title_style = title_style or text
            previous_was_item = False
        elif _is_list(block, style):
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
    core_title = collapse(document.core_properties.title or "")
    return Parsed(sections, title=core_title or title_style or headings.first)


def _table_rows(table: Any) -> list[str]:
    """Return a Word table as lines, one per row, cells separated by " | "."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = collapse(cell.text)
            if text and (not cells or cells[-1] != text):  # merged cells repeat
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows
