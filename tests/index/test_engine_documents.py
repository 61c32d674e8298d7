"""Engine.documents() and Engine.skipped_files(): what the index in use holds, per document."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.documents import SkippedFile
from index.engine import DocumentInfo, Engine, EngineSettings
from index.store import IndexMissingError
from tests.conftest import SEED, write_doc


def _engine(knowledge: Path, tmp_path: Path, encoder) -> Engine:
    return Engine(EngineSettings(knowledge_dir=knowledge, index_dir=tmp_path / "index"), encoder)


def test_documents_lists_each_indexed_document_with_its_chunks(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path, fake_encoder)
    summary = engine.reindex()

    documents = {d.doc_id: d for d in engine.documents()}

    assert set(documents) == {SEED.name, "intern/budget.md", "sommarskola.md"}
    assert documents["intern/budget.md"] == DocumentInfo(
        "intern/budget.md", "Intern budget", "internal", 1
    )
    assert documents["sommarskola.md"].title == "Sommarskolan i Borlänge"
    assert documents["sommarskola.md"].visibility == "public"
    # Every chunk of the index belongs to exactly one listed document.
    assert sum(d.chunks for d in documents.values()) == summary.chunks
    assert all(d.chunks >= 1 for d in documents.values())


def test_documents_carry_their_topics(tmp_path, fake_encoder):
    knowledge = tmp_path / "knowledge"
    write_doc(knowledge, "sfi.md", "# SFI\n\nSfi ges på dagtid.\n", topics=["sfi", "språk"])
    engine = _engine(knowledge, tmp_path, fake_encoder)
    engine.reindex()

    (document,) = engine.documents()

    assert document.topics == ("sfi", "språk")


def test_documents_follow_the_live_index_after_a_reindex(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path, fake_encoder)
    engine.reindex()
    (knowledge / "sommarskola.md").unlink()
    write_doc(knowledge, "ny.md", "# Nytt\n\nEn ny sida om mottagandet.\n", visibility="public")

    engine.reindex()

    assert {d.doc_id for d in engine.documents()} == {SEED.name, "intern/budget.md", "ny.md"}


def test_skipped_files_name_the_file_and_the_reason(knowledge, tmp_path, fake_encoder):
    (knowledge / "trasig.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (knowledge / "tom.md").write_text("", encoding="utf-8")
    engine = _engine(knowledge, tmp_path, fake_encoder)
    engine.reindex()

    skipped = {s.path: s for s in engine.skipped_files()}

    assert set(skipped) == {"trasig.pdf", "tom.md"}
    assert all(isinstance(s, SkippedFile) and s.reason for s in skipped.values())
    assert "trasig.pdf" not in {d.doc_id for d in engine.documents()}


def test_a_clean_build_skips_nothing(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path, fake_encoder)
    engine.reindex()

    assert engine.skipped_files() == []


def test_without_an_index_documents_raises_a_store_error(knowledge, tmp_path, fake_encoder):
    engine = _engine(knowledge, tmp_path, fake_encoder)

    with pytest.raises(IndexMissingError):
        engine.documents()
    with pytest.raises(IndexMissingError):
        engine.skipped_files()
