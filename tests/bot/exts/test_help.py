"""/hjälp's summary of what the bot knows: a line per top folder, a root without a heading."""

from __future__ import annotations

from bot.exts.help import knowledge_summary
from index.engine import DocumentInfo


def _doc(doc_id: str, title: str, visibility: str = "public") -> DocumentInfo:
    return DocumentInfo(doc_id, title, visibility, chunks=3)


def test_documents_only_in_the_root_get_no_other_documents_heading():
    docs = [_doc("a.md", "Almedalen"), _doc("b.md", "Budget")]
    assert knowledge_summary(docs, "public", "sv") == ["2 dokument: Almedalen, Budget"]


def test_the_root_is_other_documents_beside_folders():
    docs = [_doc("a.md", "Almedalen"), _doc("skola/s.md", "Sommarskolan")]
    assert knowledge_summary(docs, "public", "sv") == [
        "**skola/** – 1 dokument: Sommarskolan",
        "**Övriga dokument** – 1 dokument: Almedalen",
    ]


def test_a_public_asker_counts_public_documents_only():
    docs = [_doc("a.md", "Almedalen"), _doc("b.md", "Budget", "internal")]
    assert knowledge_summary(docs, "public", "en") == ["1 document: Almedalen"]
