"""A document reader's English diagnostic is said in the admin's language; unknown ones kept."""

from __future__ import annotations

import pytest

from bot.locales.reasons import say_reason
from index.documents import DocumentError, ParseLimits, decode_text, split_front_matter
from index.documents.docx import read_docx
from index.documents.pdf import read_pdf

LIMITS = ParseLimits()


def _diagnostic(read, *args) -> str:
    with pytest.raises(DocumentError) as caught:
        read(*args)
    return str(caught.value)


# Each case makes the reader raise its real diagnostic, so a reworded one fails here.
CASES = {
    "png as pdf": (
        lambda: _diagnostic(read_pdf, b"\x89PNG\r\n\x1a\n" + b"\0" * 50, LIMITS),
        "det är ingen PDF utan en PNG-bild",
        "it is not a PDF but a PNG image",
    ),
    "zip as pdf": (
        lambda: _diagnostic(read_pdf, b"PK\x03\x04" + b"\0" * 50, LIMITS),
        "det är ingen PDF utan ett ZIP-arkiv (en Word- eller Excel-fil?)",
        "it is not a PDF but a ZIP archive (a Word or Excel file?)",
    ),
    "text as pdf": (
        lambda: _diagnostic(read_pdf, b"hello", LIMITS),
        "det är ingen PDF: filen börjar inte som en PDF",
        "it is not a PDF: the file does not start like one",
    ),
    "damaged pdf": (
        lambda: _diagnostic(read_pdf, b"%PDF-1.4\n garbage", LIMITS),
        "PDF-filen är skadad (",
        "the PDF is damaged (",
    ),
    "text as docx": (
        lambda: _diagnostic(read_docx, b"not a zip", LIMITS),
        "Word-dokumentet är skadat (",
        "the Word document is damaged (",
    ),
    "binary text": (
        lambda: _diagnostic(decode_text, b"\x00\x01\x02\x03" * 100),
        "innehållet är binärt, inte text",
        "the content is binary, not text",
    ),
    "open front matter": (
        lambda: _diagnostic(split_front_matter, "---\ntitle: x\n"),
        "front matter börjar med '---' men saknar en avslutande '---'-rad",
        "the front matter starts with '---' but has no closing '---' line",
    ),
    "bad yaml": (
        lambda: _diagnostic(split_front_matter, "---\ntitle: [x\n---\ntext"),
        "front matter är inte giltig YAML",
        "the front matter is not valid YAML",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_known_diagnostic_is_said_in_each_language(case):
    make, swedish, english = CASES[case]
    reason = make()
    assert say_reason(reason, "sv").startswith(swedish)
    assert say_reason(reason, "en").startswith(english)


@pytest.mark.parametrize(
    ("reason", "swedish"),
    [
        (
            "the PDF has 900 pages, more than 500 (documents.max_pages)",
            "PDF-filen har 900 sidor, fler än 500 (documents.max_pages)",
        ),
        (
            "the Word document unpacks to 120.5 MB, more than 100 MB (documents.max_inflated_mb)",
            "Word-dokumentet packas upp till 120.5 MB, mer än 100 MB (documents.max_inflated_mb)",
        ),
        ("empty document", "dokumentet är tomt"),
    ],
)
def test_numbers_and_settings_are_kept(reason, swedish):
    assert say_reason(reason, "sv") == swedish


def test_an_unknown_diagnostic_keeps_its_english_detail():
    assert say_reason("something new went wrong", "sv") == "something new went wrong"
