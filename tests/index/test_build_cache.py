"""The reindex and its embedding cache: wrong vectors are never reused, `force` reuses none."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.chunking import passage_text
from index.store import StoreError, current_build, load_index
from tests.conftest import FakeEncoder, write_doc
from tests.index.builds import build

NEW_DOCUMENT = (
    "studiebesok.md",
    "# Studiebesök\n\nNätverket gjorde ett studiebesök i Ludvika om samhällsorientering.\n",
)


def cache_path(index_dir: Path) -> Path:
    return index_dir / "embeddings.sqlite"


def rotate_cached_vectors(index_dir: Path) -> int:
    """Give every row of the cache the vector of the next row: same size, unit length."""
    db = sqlite3.connect(cache_path(index_dir))
    try:
        rows = db.execute("SELECT model_id, text_hash, vector FROM vectors").fetchall()
        with db:
            db.executemany(
                "UPDATE vectors SET vector = ? WHERE model_id = ? AND text_hash = ?",
                [(rows[i - 1][2], m, h) for i, (m, h, _) in enumerate(rows)],
            )
    finally:
        db.close()
    return len(rows)


def assert_the_build_holds_the_encoders_vectors(index_dir: Path, encoder: FakeEncoder) -> None:
    """Each passage's stored vector has cosine 1 with its own text, each sentence's too."""
    index = load_index(index_dir, encoder)
    try:
        for chunk in index.all_chunks():
            record = index.documents[chunk.doc_id]
            text = passage_text(record.title or "", record.id, chunk.as_chunk())
            scores, ids = index.search_dense(
                encoder.encode_documents([text])[0], index.size, "internal"
            )
            own = dict(zip(ids.tolist(), scores.tolist(), strict=True))
            assert own[chunk.id] == pytest.approx(1.0, abs=1e-5), chunk.doc_id
            np.testing.assert_allclose(
                index.sentence_vectors(chunk.id),
                encoder.encode_documents(list(chunk.sentences)),
                atol=1e-3,  # stored as float16
            )
    finally:
        index.close()


def test_force_embeds_every_passage_again_and_refreshes_the_cache(
    knowledge, index_dir, fake_encoder, built
):
    rotate_cached_vectors(index_dir)

    forced = build(knowledge, index_dir, fake_encoder, force=True)
    write_doc(knowledge, *NEW_DOCUMENT)
    after = build(knowledge, index_dir, fake_encoder)

    assert (forced.embedded, forced.reused) == (built.chunks, 0)
    assert forced.changed is True
    # The cache holds the right vectors again: only the new document is embedded next.
    assert (after.embedded, after.reused) == (1, built.chunks)
    assert_the_build_holds_the_encoders_vectors(index_dir, fake_encoder)


def test_same_size_wrong_vectors_in_the_cache_are_embedded_again(
    knowledge, index_dir, fake_encoder, built, caplog
):
    rows = rotate_cached_vectors(index_dir)
    write_doc(knowledge, *NEW_DOCUMENT)

    with caplog.at_level(logging.WARNING, logger="index.embedding.cache"):
        summary = build(knowledge, index_dir, fake_encoder)

    # The new document's passage and every passage whose cached vector was wrong.
    assert (summary.embedded, summary.reused) == (built.chunks + 1, 0)
    assert f"{rows} stored vector(s)" in caplog.text  # passages' and sentences' rows
    assert_the_build_holds_the_encoders_vectors(index_dir, fake_encoder)


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(11).bytes(path.stat().st_size))


def pages_overwritten(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:4096] + np.random.default_rng(13).bytes(len(data) - 4096))


@pytest.mark.parametrize("force", [True, False], ids=["--force", "a new document"])
@pytest.mark.parametrize("damage", [garbage, pages_overwritten])
def test_a_damaged_cache_file_is_moved_aside_and_the_reindex_succeeds(
    knowledge, index_dir, fake_encoder, built, damage, force, caplog
):
    damage(cache_path(index_dir))
    damaged = cache_path(index_dir).read_bytes()
    if not force:
        write_doc(knowledge, *NEW_DOCUMENT)

    with caplog.at_level(logging.WARNING, logger="index.embedding.cache"):
        summary = build(knowledge, index_dir, fake_encoder, force=force)

    assert summary.changed is True
    assert summary.embedded == summary.chunks == built.chunks + (0 if force else 1)
    [aside] = index_dir.glob("embeddings.sqlite.damaged-*")
    assert aside.read_bytes() == damaged
    assert "is damaged" in caplog.text and aside.name in caplog.text
    assert_the_build_holds_the_encoders_vectors(index_dir, fake_encoder)
    again = build(knowledge, index_dir, fake_encoder, force=False)
    assert again.changed is False


def test_a_cache_that_cannot_be_opened_fails_the_reindex_and_keeps_the_live_build(
    knowledge, index_dir, fake_encoder, built
):
    cache_path(index_dir).unlink()
    cache_path(index_dir).mkdir()
    write_doc(knowledge, *NEW_DOCUMENT)

    with pytest.raises(StoreError, match=r"embedding cache .*embeddings\.sqlite cannot be used"):
        build(knowledge, index_dir, fake_encoder)

    assert current_build(index_dir).name == built.build
    assert cache_path(index_dir).is_dir()
