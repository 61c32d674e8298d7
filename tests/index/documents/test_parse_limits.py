"""Bounded work for hostile documents: small files that unpack to a lot are refused in one line.

The hostile files are built here. Nothing is timed: each test asserts that a limit was
hit (the reason names it), never how many seconds something took.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

import docx
import pytest

from index.build import BuildSettings, build_index
from index.documents import (
    READERS,
    DocumentError,
    IsolatedReader,
    ParsedUploads,
    ParseLimits,
    read_document,
    read_document_isolated,
)
from tests.conftest import FakeEncoder
from tests.fakes.pdf import make_pdf


def small_docx(paragraphs: int = 3) -> bytes:
    document = docx.Document()
    document.add_heading("Mottagande", level=1)
    for n in range(paragraphs):
        document.add_paragraph(f"Stycke {n} om mottagandet i Nässjö.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


_CONTENT_TYPES = (
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType='
    b'"application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def minimal_docx(body: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """A Word file of three parts only (no styles, no thumbnail), deflated hard."""
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
        b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + body
        + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", xml)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def many_paragraphs_docx(count: int) -> bytes:
    """A Word file of ``count`` tiny paragraphs: a few kB that unpack to megabytes of XML."""
    return minimal_docx(b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * count)


def _inflated(data: bytes) -> int:
    return sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())


def _read(tmp_path, name: str, data: bytes, limits: ParseLimits | None = None):
    path = tmp_path / name
    path.write_bytes(data)
    return read_document(path, tmp_path, limits=limits)


def test_a_7_kb_word_file_of_100_000_paragraphs_is_refused(tmp_path):
    data = many_paragraphs_docx(100_000)
    assert len(data) < 12_000 and _inflated(data) > 3_000_000
    with pytest.raises(DocumentError) as caught:
        _read(tmp_path, "stycken.docx", data)
    assert str(caught.value) == (
        "the Word document has more than 20000 paragraphs (documents.max_paragraphs)"
    )


def test_a_word_file_that_unpacks_past_the_limit_is_refused_before_it_is_parsed(
    tmp_path, monkeypatch
):
    data = minimal_docx(b"<w:p/>", extra={"word/media/fyll.bin": bytes(60_000_000)})
    assert len(data) < 100_000
    parsed = []
    monkeypatch.setattr(docx, "Document", lambda *a: parsed.append(a) or pytest.fail("parsed"))
    with pytest.raises(DocumentError) as caught:
        _read(tmp_path, "bomb.docx", data)
    assert str(caught.value).startswith("the Word document unpacks to 60.0 MB, more than 50 MB")
    assert parsed == []


def test_a_small_pdf_with_a_3_mb_content_stream_is_refused(tmp_path):
    data = make_pdf([["Rad."] * 1, ["x"] * 300_000], deflate=True)
    assert len(data) < 20_000
    with pytest.raises(DocumentError) as caught:
        _read(tmp_path, "ström.pdf", data)
    assert str(caught.value).startswith("page 2 of the PDF unpacks to 3.")
    assert "more than 1 MB (documents.max_page_stream_mb)" in str(caught.value)


def test_pdf_pages_past_the_limit_are_refused(tmp_path):
    data = make_pdf([[f"Sida {n}."] for n in range(5)])
    assert len(_read(tmp_path, "fem.pdf", data, ParseLimits(max_pages=5)).sections) == 5
    with pytest.raises(DocumentError, match=r"has 5 pages, more than 4 \(documents.max_pages\)"):
        _read(tmp_path, "fem.pdf", data, ParseLimits(max_pages=4))


def test_reading_past_the_time_budget_kills_the_reader_and_refuses(tmp_path):
    path = tmp_path / "långsam.docx"
    path.write_bytes(many_paragraphs_docx(100_000))
    budget = ParseLimits(max_paragraphs=10**6, parse_seconds=0.01)
    with pytest.raises(DocumentError) as caught:
        read_document_isolated(path, tmp_path, limits=budget)
    assert str(caught.value) == "reading it takes longer than 0.01 s (documents.parse_seconds)"
    assert not _reader_children()


def _reader_children() -> list[str]:
    """Return the command lines of this process's document-reader children still alive."""
    import os
    from pathlib import Path

    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == os.getpid() and "_child_main" in cmdline and state != "Z":
            found.append(cmdline)
    return found


def test_a_checked_upload_is_parsed_once_in_a_child_and_not_again_by_the_reindex(
    tmp_path, monkeypatch
):
    here = []  # parses in this process
    real = READERS[".docx"]
    monkeypatch.setitem(READERS, ".docx", lambda data, limits: here.append(1) or real(data, limits))
    in_child = []  # parses sent to a reader's child process
    real_parse = IsolatedReader._parse
    monkeypatch.setattr(
        IsolatedReader,
        "_parse",
        lambda self, data, suffix: in_child.append(suffix) or real_parse(self, data, suffix),
    )
    upload = tmp_path / "upload"
    upload.mkdir()
    data = small_docx(5)
    (upload / "plan.docx").write_bytes(data)

    with IsolatedReader() as reader:
        checked, parsed = reader.check(upload / "plan.docx", upload)
    assert in_child == [".docx"]
    uploads = ParsedUploads()  # the engine's (Engine.uploads); the upload check adds to it
    uploads.add(parsed)

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "plan.docx").write_bytes(data)
    encoder = FakeEncoder()
    settings = BuildSettings(encoder.model_id, encoder.dimension, "internal")
    summary = build_index(knowledge, tmp_path / "index", encoder, settings, uploads=uploads)

    assert in_child == [".docx"]  # the reindex took the checked upload's parse
    assert summary.added == ["plan.docx"] and summary.chunks >= 1
    assert "Stycke 4 om mottagandet" in checked.text
    (knowledge / "annan.docx").write_bytes(small_docx(6))
    summary = build_index(knowledge, tmp_path / "index", encoder, settings, uploads=uploads)
    assert summary.added == ["annan.docx"]
    assert in_child == [".docx", ".docx"]  # a file nobody checked is parsed in a child too
    assert here == []  # never in this process
    assert not _reader_children()


def test_a_reindex_without_the_uploads_parses_the_checked_file_again(tmp_path, monkeypatch):
    in_child = []
    real_parse = IsolatedReader._parse
    monkeypatch.setattr(
        IsolatedReader,
        "_parse",
        lambda self, data, suffix: in_child.append(suffix) or real_parse(self, data, suffix),
    )
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "plan.docx").write_bytes(small_docx(2))
    read_document_isolated(knowledge / "plan.docx", knowledge)  # nothing kept anywhere
    encoder = FakeEncoder()
    settings = BuildSettings(encoder.model_id, encoder.dimension, "internal")
    build_index(knowledge, tmp_path / "index", encoder, settings)
    assert in_child == [".docx", ".docx"]


def test_the_kept_upload_parses_are_bounded_newest_first(tmp_path):
    uploads = ParsedUploads(size=2)
    with IsolatedReader() as reader:
        for n in range(3):
            (tmp_path / f"{n}.txt").write_text(f"Text nummer {n}.", encoding="utf-8")
            uploads.add(reader.check(tmp_path / f"{n}.txt", tmp_path)[1])
    digests = [hashlib.sha256(f"Text nummer {n}.".encode()).hexdigest() for n in range(3)]
    assert len(uploads) == 2
    assert uploads.get(".txt", digests[0]) is None
    assert uploads.get(".txt", digests[2]).sections[0].text == "Text nummer 2."
    assert uploads.get(".md", digests[2]) is None  # the same bytes as another format


def test_a_word_files_styles_are_looked_up_once_not_per_paragraph(tmp_path, monkeypatch):
    from docx.parts.document import DocumentPart

    lookups = []
    real = DocumentPart.get_style
    monkeypatch.setattr(
        DocumentPart, "get_style", lambda self, *a: lookups.append(a) or real(self, *a)
    )
    document = _read(tmp_path, "stycken.docx", small_docx(2_000))
    assert "Stycke 1999" in document.text
    assert len(lookups) <= 2


def test_a_reindex_skips_a_document_past_its_budget_and_indexes_the_rest(tmp_path):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "långsam.docx").write_bytes(many_paragraphs_docx(100_000))
    (knowledge / "snabb.md").write_text("# Snabb\n\nEn kort text om mötet.", encoding="utf-8")
    encoder = FakeEncoder()
    limits = ParseLimits(max_paragraphs=10**6, parse_seconds=0.5)
    settings = BuildSettings(encoder.model_id, encoder.dimension, "public", parse_limits=limits)

    summary = build_index(knowledge, tmp_path / "index", encoder, settings)

    assert summary.added == ["snabb.md"]
    assert [(s.path, s.reason) for s in summary.skipped] == [
        ("långsam.docx", "reading it takes longer than 0.5 s (documents.parse_seconds)")
    ]
    assert not _reader_children()
