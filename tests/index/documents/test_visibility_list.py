"""The folder's visibility list (.visibility.yaml) gives documents of any format a visibility."""

from __future__ import annotations

import hashlib

import pytest

from index.build import BuildSettings, build_index
from index.documents import (
    VISIBILITY_FILE,
    DocumentError,
    file_hash,
    iter_document_paths,
    read_document,
    recorded_visibility,
)
from index.store import load_index
from tests.conftest import FakeEncoder, write_doc


def _settings(encoder: FakeEncoder) -> BuildSettings:
    return BuildSettings(
        model_id=encoder.model_id, dimension=encoder.dimension, default_visibility="internal"
    )


@pytest.mark.parametrize(
    ("listed", "front", "expected"),
    [
        (None, None, "internal"),  # the default
        ("public", None, "public"),  # the list, for a format without front matter
        ("internal", "public", "public"),  # front matter wins where there is one
    ],
)
def test_visibility_comes_from_front_matter_then_the_list_then_the_default(
    tmp_path, listed, front, expected
):
    text = tmp_path / "anteckning.txt"
    text.write_text("Nätverket träffas varje vår.\n", encoding="utf-8")
    front_matter = {"visibility": front} if front else {}
    write_doc(tmp_path, "plan.md", "Planen gäller 2025.\n", **front_matter)
    if listed:
        (tmp_path / VISIBILITY_FILE).write_text(
            f"anteckning.txt: {listed}\nplan.md: {listed}\n", encoding="utf-8"
        )
    assert read_document(text, tmp_path).visibility == (listed or "internal")
    assert read_document(tmp_path / "plan.md", tmp_path).visibility == expected


def test_the_list_is_hidden_and_never_a_document(tmp_path):
    (tmp_path / "a.txt").write_text("Text.\n", encoding="utf-8")
    (tmp_path / VISIBILITY_FILE).write_text("a.txt: public\n", encoding="utf-8")
    assert [p.name for p in iter_document_paths(tmp_path)] == ["a.txt"]


def test_the_hash_covers_the_recorded_visibility_but_is_plain_without_one(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"Text.\n")
    plain = hashlib.sha256(b"Text.\n").hexdigest()
    assert file_hash(path) == plain == read_document(path, tmp_path).content_hash
    (tmp_path / VISIBILITY_FILE).write_text("a.txt: public\n", encoding="utf-8")
    public = file_hash(path)
    assert public != plain and read_document(path, tmp_path).content_hash == public
    (tmp_path / VISIBILITY_FILE).write_text("a.txt: internal\n", encoding="utf-8")
    assert file_hash(path) not in (plain, public)


@pytest.mark.parametrize(
    "listing", ["a.txt: [public\n", "- a.txt\n", "a.txt: secret\n"], ids=["yaml", "list", "value"]
)
def test_a_broken_list_makes_its_documents_skipped_not_shown_to_the_wrong_readers(
    tmp_path, listing
):
    path = tmp_path / "a.txt"
    path.write_text("Text.\n", encoding="utf-8")
    (tmp_path / VISIBILITY_FILE).write_text(listing, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"\.visibility\.yaml"):
        recorded_visibility(path)
    with pytest.raises(DocumentError, match=r"\.visibility\.yaml"):
        read_document(path, tmp_path, "public")
    write_doc(tmp_path, "b.md", "Text.\n", visibility="public")
    assert read_document(tmp_path / "b.md", tmp_path).visibility == "public"


def test_changing_only_the_recorded_visibility_reaches_the_index(tmp_path):
    knowledge, index_dir = tmp_path / "knowledge", tmp_path / "index"
    knowledge.mkdir()
    (knowledge / "rapport.txt").write_text(
        "Rapporten beskriver mottagandet i Nässjö.\n", encoding="utf-8"
    )
    encoder = FakeEncoder()
    build_index(knowledge, index_dir, encoder, _settings(encoder))
    assert load_index(index_dir).documents["rapport.txt"].visibility == "internal"

    (knowledge / VISIBILITY_FILE).write_text("rapport.txt: public\n", encoding="utf-8")
    summary = build_index(knowledge, index_dir, encoder, _settings(encoder))

    assert summary.changed and summary.updated == ["rapport.txt"]
    assert load_index(index_dir).documents["rapport.txt"].visibility == "public"


@pytest.mark.parametrize("brackets", [60, 3_000, 5_000])
def test_deeply_nested_yaml_is_invalid_and_the_build_goes_on(tmp_path, brackets):
    knowledge, index_dir = tmp_path / "knowledge", tmp_path / "index"
    write_doc(knowledge, "bra.md", "Borlänge tar emot nyanlända.\n", visibility="public")
    (knowledge / "djup.md").write_text(
        "---\ntitle: " + "[" * brackets + "\n---\nText.\n", encoding="utf-8"
    )
    listed = knowledge / "mapp"
    listed.mkdir()
    (listed / "rapport.txt").write_text("Rapporten om Nässjö.\n", encoding="utf-8")
    (listed / VISIBILITY_FILE).write_text("rapport.txt: " + "[" * brackets, encoding="utf-8")
    encoder = FakeEncoder()

    summary = build_index(knowledge, index_dir, encoder, _settings(encoder))

    reasons = {s.path: s.reason for s in summary.skipped}
    assert reasons.keys() == {"djup.md", "mapp/rapport.txt"}
    assert reasons["djup.md"].startswith("invalid YAML in front matter (line 2): nested more")
    assert "nested more than 50 levels deep" in reasons["mapp/rapport.txt"]
    assert all("\n" not in r for r in reasons.values())
    assert set(load_index(index_dir).documents) == {"bra.md"}
