import hashlib
import io
import logging
import unicodedata
import zlib
from pathlib import Path

import docx
import pytest
import yaml
from pypdf import PdfWriter

from index.documents import (
    SUPPORTED_SUFFIXES,
    Document,
    DocumentError,
    Section,
    SkippedFile,
    document_id,
    file_hash,
    iter_document_paths,
    load_documents,
    markdown_sections,
    read_document,
)

SEED = Path(__file__).parents[3].parent / "shared/seed-documents/allt-startade-i-almedalen.txt"
KNOWLEDGE = Path(__file__).parents[3] / "knowledge"
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256))


# --------------------------------------------------------------------------- helpers


def make_pdf(pages: list[str]) -> bytes:
    """A real, minimal PDF whose pages hold the given lines of text (Helvetica, WinAnsi)."""

    def escape(line: str) -> bytes:
        raw = line.encode("cp1252")
        return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, text in enumerate(pages):
        shows = b" ".join(b"(" + escape(line) + b") Tj T*" for line in text.split("\n") if line)
        ops = b"BT /F1 12 Tf 72 720 Td 14 TL " + shows + b" ET" if shows else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("hemligt")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(title: str | None = "Integrationsplan") -> bytes:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_paragraph("Inledande text före första rubriken.")
    document.add_heading("Bakgrund", level=1)
    document.add_paragraph("Samarbetet startade i Almedalen 2012.")
    document.add_heading("Nätverk", level=2)
    document.add_paragraph("Några exempel på det är:")
    document.add_paragraph("Nordic safe cities", style="List Bullet")
    document.add_paragraph("Strong cities", style="List Bullet")
    document.add_heading("Resultat", level=1)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Kommun"
    table.cell(0, 1).text = "Län"
    table.cell(1, 0).text = "Borlänge"
    table.cell(1, 1).text = "Dalarna"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write(root: Path, relative: str, content: bytes | str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read(root: Path, relative: str, content: bytes | str, **kwargs) -> Document:
    return read_document(write(root, relative, content), root, **kwargs)


def split_seed_md(raw: bytes) -> tuple[dict, bytes]:
    assert raw.startswith(b"---\n")
    front, separator, body = raw[4:].partition(b"\n---\n")
    assert separator
    return yaml.safe_load(front.decode("utf-8")), body


# --------------------------------------------------------------------------- formats


MARKDOWN = """---
title: Allt startade i Almedalen
author: Ann-Cathrin Brovall
date: 2019-07-05
url: https://example.se/almedalen
visibility: public
municipalities: [Borlänge, Nässjö]
topics: [integration]
extra: ignored
---
Inledning före rubrikerna.

# Bakgrund

Samarbetet startade 2012.

## Nätverk

- Nordic safe cities
- Strong cities

```
# inte en rubrik
```

# Resultat #

Borlänge är en aktör.
"""


def test_markdown_front_matter_and_sections(tmp_path):
    document = read(tmp_path, "almedalen.md", MARKDOWN)

    assert document.id == "almedalen.md"
    assert document.title == "Allt startade i Almedalen"
    assert document.author == "Ann-Cathrin Brovall"
    assert document.date == "2019-07-05"
    assert document.url == "https://example.se/almedalen"
    assert document.visibility == "public"
    assert document.municipalities == ("Borlänge", "Nässjö")
    assert document.topics == ("integration",)
    assert [(s.heading, s.page) for s in document.sections] == [
        (None, None),
        ("Bakgrund", None),
        ("Bakgrund › Nätverk", None),
        ("Resultat", None),
    ]
    assert document.sections[2].text == (
        "- Nordic safe cities\n- Strong cities\n\n```\n# inte en rubrik\n```"
    )
    assert "# Bakgrund" not in document.text
    assert document.text == "\n\n".join(section.text for section in document.sections)


@pytest.mark.parametrize(
    ("text", "expected_title"),
    [
        ("# Rubrik ett\n\nText.\n", "Rubrik ett"),
        ("Bara text utan rubrik.\n", "budget plan 2024"),
        ("---\n---\n## **Fet rubrik**\nText.\n", "Fet rubrik"),
    ],
)
def test_markdown_title_fallbacks(tmp_path, text, expected_title):
    assert read(tmp_path, "budget_plan 2024.md", text).title == expected_title


@pytest.mark.parametrize(
    ("default", "front_matter", "expected"),
    [
        ("internal", "", "internal"),
        ("public", "", "public"),
        ("public", "visibility: internal\n", "internal"),
        ("internal", "visibility: Public\n", "public"),
    ],
)
def test_visibility_defaults_and_front_matter(tmp_path, default, front_matter, expected):
    text = f"---\n{front_matter}---\nText.\n"
    document = read(tmp_path, "a.md", text, default_visibility=default)
    assert document.visibility == expected


@pytest.mark.parametrize(
    ("front_matter", "reason_part"),
    [
        ("title: [oavslutad\n", "invalid YAML in front matter"),
        ("- en\n- lista\n", "must be 'key: value' lines, not a list"),
        ("just text\n", "not a text"),
        ("visibility: secret\n", "'visibility' must be 'public' or 'internal', not 'secret'"),
        ("municipalities: Borlänge\n", "'municipalities' must be a list of texts"),
        ("topics: [a, [b]]\n", "'topics' must be a list of texts"),
        ("title: {a: b}\n", "'title' must be text, not a mapping"),
    ],
)
def test_invalid_front_matter_is_a_document_error(tmp_path, front_matter, reason_part):
    with pytest.raises(DocumentError) as caught:
        read(tmp_path, "a.md", f"---\n{front_matter}---\nText.\n")
    assert reason_part in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unclosed_front_matter_is_a_document_error(tmp_path):
    with pytest.raises(DocumentError, match="no closing '---'"):
        read(tmp_path, "a.md", "---\ntitle: x\nText.\n")


def test_plain_text_is_one_section_titled_by_its_first_line(tmp_path):
    document = read(tmp_path, "notis.txt", "Allt startade i Almedalen\r\n\r\nBorlänge är med.\r\n")
    assert document.title == "Allt startade i Almedalen"
    assert document.sections == (
        Section("Allt startade i Almedalen\n\nBorlänge är med.", None, None),
    )
    assert document.visibility == "internal"


def test_plain_text_with_a_long_first_line_is_titled_by_its_file_name(tmp_path):
    document = read(tmp_path, "lång_rad.txt", "Ord " * 40)
    assert document.title == "lång rad"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("cp1252.txt", "Räksmörgås på Åland, Östergötland".encode("cp1252")),
        ("bom.txt", "\ufeffRäksmörgås på Åland, Östergötland".encode()),
        ("utf8.md", "Räksmörgås på Åland, Östergötland".encode()),
        ("nfd.txt", unicodedata.normalize("NFD", "Räksmörgås på Åland, Östergötland").encode()),
        ("utf16.txt", "Räksmörgås på Åland, Östergötland".encode("utf-16")),
        ("cp1252.html", "<p>Räksmörgås på Åland, Östergötland</p>".encode("cp1252")),
    ],
)
def test_text_encodings_give_clean_swedish_letters(tmp_path, name, raw):
    document = read(tmp_path, name, raw)
    assert document.text == "Räksmörgås på Åland, Östergötland"


HTML = """<!DOCTYPE html>
<html><head><title>Integration i Borlänge</title>
<style>p { color: red }</style><script>var hemligt = "syns inte";</script></head>
<body>
<nav>Meny</nav>
<p>Inledning med <b>fet</b>
text &amp; mer.</p>
<h1>Bakgrund</h1>
<p>Samarbetet startade 2012.<br>Ny rad.</p>
<h2>Nätverk</h2>
<p>Några exempel:</p>
<ul><li>Nordic safe cities</li><li>Strong   cities</li></ul>
<ol><li>Första</li><li>Andra</li></ol>
<noscript>Aktivera javascript</noscript>
<table><tr><td>Kommun</td><td>Borlänge</td></tr></table>
</body></html>
"""


def test_html_visible_text_title_and_sections(tmp_path):
    document = read(tmp_path, "sida.html", HTML)

    assert document.title == "Integration i Borlänge"
    assert [s.heading for s in document.sections] == [None, "Bakgrund", "Bakgrund › Nätverk"]
    assert document.sections[0].text == "Meny\n\nInledning med fet text & mer."
    assert document.sections[1].text == "Samarbetet startade 2012.\nNy rad."
    assert document.sections[2].text == (
        "Några exempel:\n\n• Nordic safe cities\n• Strong cities\n\n1. Första\n2. Andra"
        "\n\nKommun Borlänge"
    )
    for hidden in ("color: red", "syns inte", "javascript"):
        assert hidden not in document.text


def test_pdf_has_one_section_per_page(tmp_path):
    pdf = make_pdf(["Borlänge är en kommun.\nAndra raden.", "", "Sida tre (sist)."])
    document = read(tmp_path, "rapport.pdf", pdf)

    assert [s.page for s in document.sections] == [1, 3]
    assert all(s.heading is None for s in document.sections)
    assert document.sections[0].text == "Borlänge är en kommun.\nAndra raden."
    assert document.sections[1].text == "Sida tre (sist)."
    assert document.title == "rapport"
    assert document.content_hash == hashlib.sha256(pdf).hexdigest()


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        (make_pdf([""]), "no text could be extracted (scanned PDF?)"),
        (PNG_BYTES, "not a valid PDF: it is a PNG image"),
        (b"%PDF-1.4\n" + zlib.compress(b"x" * 500), "not a valid PDF"),
        (make_pdf(["Text"])[:60], "not a valid PDF"),
        (encrypted_pdf(), "not a valid PDF: it is encrypted"),
    ],
    ids=["no-text", "png", "garbage", "truncated", "encrypted"],
)
def test_unreadable_pdfs(tmp_path, raw, reason_part):
    with pytest.raises(DocumentError) as caught:
        read(tmp_path, "trasig.pdf", raw)
    assert reason_part in str(caught.value)


def test_docx_headings_lists_tables_and_title(tmp_path):
    document = read(tmp_path, "plan.docx", make_docx())

    assert document.title == "Integrationsplan"
    assert [(s.heading, s.text) for s in document.sections] == [
        (None, "Inledande text före första rubriken."),
        ("Bakgrund", "Samarbetet startade i Almedalen 2012."),
        (
            "Bakgrund › Nätverk",
            "Några exempel på det är:\n\n• Nordic safe cities\n• Strong cities",
        ),
        ("Resultat", "Kommun | Län\nBorlänge | Dalarna"),
    ]


def test_docx_without_core_title_is_titled_by_its_first_heading(tmp_path):
    assert read(tmp_path, "plan.docx", make_docx(title=None)).title == "Bakgrund"


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("tom.txt", b"", "empty document"),
        ("blank.md", b"  \n\n\t\n", "empty document"),
        ("bara-front-matter.md", b"---\ntitle: x\n---\n\n", "empty document"),
        ("tom.html", b"<html><head><title>T</title></head><body> </body></html>", "empty document"),
        ("tom.pdf", b"", "empty document"),
        ("skräp.txt", b"\x00\x01\x02binary\x00junk" * 20, "binary content, not text"),
        ("kontroll.txt", bytes(range(1, 32)) * 10, "binary content, not text"),
        ("bild.png", PNG_BYTES, "unsupported file type '.png'"),
        ("gammal.DOC", b"whatever", "unsupported file type '.doc'"),
        ("utan-ändelse", b"text", "unsupported file type (no file extension)"),
        ("trasig.docx", b"PK\x03\x04 not really a zip", "not a valid Word document"),
        ("text.docx", "Räksmörgås".encode(), "not a valid Word document"),
    ],
)
def test_unreadable_files_raise_one_line_reasons(tmp_path, name, raw, reason):
    with pytest.raises(DocumentError) as caught:
        read(tmp_path, name, raw)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_supported_suffix_has_a_reader(tmp_path):
    assert {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"} == SUPPORTED_SUFFIXES
    for suffix in SUPPORTED_SUFFIXES:
        with pytest.raises(DocumentError, match="empty document"):
            read(tmp_path, f"tom{suffix}", b"")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Text", [(None, "Text")]),
        ("# A\n## B\n### C\ntext\n## D\nmer", [("A › B › C", "text"), ("A › D", "mer")]),
        ("## B först\nx\n# A\ny", [("B först", "x"), ("A", "y")]),
        ("#inte rubrik\n####### inte heller", [(None, "#inte rubrik\n####### inte heller")]),
        ("~~~\n# kod\n~~~\n# Rubrik\ntext", [(None, "~~~\n# kod\n~~~"), ("Rubrik", "text")]),
    ],
)
def test_markdown_sections(body, expected):
    assert [(s.heading, s.text) for s in markdown_sections(body)] == expected


# --------------------------------------------------------------------------- folders


def test_iter_document_paths_skips_hidden_files_and_droppings(tmp_path):
    kept = [
        "a.md",
        "policy/plan.pdf",
        "policy/äldre/rapport.docx",
        "policy/README.md",
        "bilder/foto.png",
    ]
    ignored = [
        ".hidden.md",
        ".git/config.md",
        "policy/.utkast/plan.md",
        "policy/.~lock.rapport.docx#",
        "policy/~$rapport.docx",
        "policy/plan.md~",
        "policy/.DS_Store",
        "Thumbs.db",
        "policy/desktop.ini",
        "README.md",
        "readme.TXT",
        "sources.yaml",
    ]
    for relative in kept + ignored:
        write(tmp_path, relative, "x")

    found = [document_id(path, tmp_path) for path in iter_document_paths(tmp_path)]

    assert found == sorted(kept)


def test_iter_document_paths_ignores_symlinks_leading_outside(tmp_path):
    root = tmp_path / "knowledge"
    write(root, "inne.md", "x")
    outside = write(tmp_path, "utanför.md", "x")
    outside_dir = tmp_path / "utanför"
    write(outside_dir, "hemlig.md", "x")
    (root / "länk.md").symlink_to(outside)
    (root / "länkmapp").symlink_to(outside_dir)
    (root / "inre-länk.md").symlink_to(root / "inne.md")
    (root / "loop").symlink_to(root)

    found = [document_id(path, root) for path in iter_document_paths(root)]

    assert found == ["inne.md", "inre-länk.md"]


def test_iter_document_paths_requires_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="knowledge folder not found"):
        iter_document_paths(tmp_path / "saknas")


def test_document_id_and_file_hash(tmp_path):
    path = write(tmp_path, "a/b/c.md", b"hej")
    assert document_id(path, tmp_path) == "a/b/c.md"
    assert file_hash(path) == hashlib.sha256(b"hej").hexdigest()
    with pytest.raises(ValueError, match="not inside"):
        document_id(tmp_path / "a", tmp_path / "a/b")


def test_load_documents_keeps_good_files_and_reports_bad_ones(tmp_path, caplog):
    write(tmp_path, "README.md", "# Om mappen\n")
    write(tmp_path, "a.md", "# A\nText.\n")
    write(tmp_path, "nivå1/nivå2/b.txt", "Text b.\n")
    write(tmp_path, "nivå1/c.pdf", make_pdf(["Sida ett."]))
    write(tmp_path, "nivå1/d.docx", make_docx())
    write(tmp_path, "e.html", "<title>E</title><p>Text e.</p>")
    write(tmp_path, "trasig.pdf", PNG_BYTES)
    write(tmp_path, "tom.txt", b"")
    write(tmp_path, "fel.md", "---\nvisibility: hemlig\n---\nText.\n")
    write(tmp_path, "bild.jpg", b"\xff\xd8\xff")
    write(tmp_path, ".dold.md", "Text.\n")

    with caplog.at_level(logging.WARNING, logger="index.documents"):
        result = load_documents(tmp_path, default_visibility="public")

    assert [d.id for d in result.documents] == [
        "a.md",
        "e.html",
        "nivå1/c.pdf",
        "nivå1/d.docx",
        "nivå1/nivå2/b.txt",
    ]
    assert all(d.visibility == "public" for d in result.documents)
    assert result.skipped == [
        SkippedFile("bild.jpg", "unsupported file type '.jpg'"),
        SkippedFile(
            "fel.md", "front matter 'visibility' must be 'public' or 'internal', not 'hemlig'"
        ),
        SkippedFile("tom.txt", "empty document"),
        SkippedFile("trasig.pdf", "not a valid PDF: it is a PNG image"),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for skipped in result.skipped:
        assert any(skipped.path in line and skipped.reason in line for line in warnings)


def test_load_documents_survives_unexpected_reader_errors(tmp_path, monkeypatch):
    from index.documents import READERS

    def broken(data, limits):
        raise KeyError("bug")

    monkeypatch.setitem(READERS, ".txt", broken)
    write(tmp_path, "a.txt", "Text.")
    write(tmp_path, "b.md", "Text.")

    result = load_documents(tmp_path)

    assert [d.id for d in result.documents] == ["b.md"]
    assert result.skipped == [SkippedFile("a.txt", "unexpected error: KeyError: 'bug'")]


# --------------------------------------------------------------------------- knowledge


def test_seed_document_body_is_the_shared_seed_text_byte_for_byte():
    if not SEED.exists():
        pytest.skip(f"shared seed document not found at {SEED}")
    raw = (KNOWLEDGE / "allt-startade-i-almedalen.md").read_bytes()

    front, body = split_seed_md(raw)

    assert body == SEED.read_bytes()
    assert front["title"] == "Allt startade i Almedalen"


def test_seed_document_front_matter_is_read():
    document = read_document(KNOWLEDGE / "allt-startade-i-almedalen.md", KNOWLEDGE)

    assert document.id == "allt-startade-i-almedalen.md"
    assert document.title == "Allt startade i Almedalen"
    assert document.author == "Ann-Cathrin Brovall, presschef"
    assert document.visibility == "public"
    assert document.municipalities == ("Borlänge", "Falköping", "Lindesberg", "Nässjö")
    assert {"flyktingpolitik", "integration", "Almedalen"} <= set(document.topics)
    assert len(document.sections) == 1
    assert document.sections[0].heading is None
    assert document.text.startswith("Allt startade i Almedalen\n\nBorlänge är, tillsammans")
    assert document.text.endswith(
        "Ann-Cathrin Brovall, presschef\n\nFoto av en trycksak med texten"
    )


def test_knowledge_readme_is_not_indexed():
    assert "README.md" not in [path.name for path in iter_document_paths(KNOWLEDGE)]
    result = load_documents(KNOWLEDGE)
    assert result.skipped == []
    assert "allt-startade-i-almedalen.md" in [d.id for d in result.documents]
