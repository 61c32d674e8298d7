"""The embedding cache: a stored vector is used only when it is the one that was stored."""

from __future__ import annotations

import logging
import sqlite3
import struct
from pathlib import Path

import numpy as np
import pytest

from index.embedding import EmbeddingCache, EmbeddingCacheError, embed_with_cache, text_hash
from tests.conftest import FakeEncoder

TEXTS = [
    "Borlänge och Falun samarbetar om mottagandet av nyanlända.",
    "Sommarskolan hålls varje år i augusti.",
    "Nätverkets gemensamma budget är 1 200 000 kronor.",
    "Studiebesöket i Ludvika gällde samhällsorientering.",
]


def stored(path: Path, text: str, model_id: str = "fake-trigram-64") -> bytes:
    db = sqlite3.connect(path)
    try:
        [(blob,)] = db.execute(
            "SELECT vector FROM vectors WHERE model_id = ? AND text_hash = ?",
            (model_id, text_hash(text)),
        )
    finally:
        db.close()
    return blob


def overwrite(path: Path, text: str, blob: bytes, model_id: str = "fake-trigram-64") -> None:
    db = sqlite3.connect(path)
    try:
        with db:
            db.execute(
                "UPDATE vectors SET vector = ? WHERE model_id = ? AND text_hash = ?",
                (blob, model_id, text_hash(text)),
            )
    finally:
        db.close()


def flip_one_bit(blob: bytes) -> bytes:
    # The lowest mantissa bit of the first value: the norm stays 1 within any tolerance.
    return bytes([blob[0] ^ 1]) + blob[1:]


def scale(blob: bytes) -> bytes:
    return (np.frombuffer(blob, dtype=np.float32) * 2).tobytes()


def not_a_number(blob: bytes) -> bytes:
    return struct.pack("<f", float("nan")) + blob[4:]


DAMAGE = {
    "garbage": lambda blob, other: np.random.default_rng(7).bytes(len(blob)),
    "another text's vector": lambda blob, other: other,
    "one bit flipped": lambda blob, other: flip_one_bit(blob),
    "scaled by 2": lambda blob, other: scale(blob),
    "a NaN": lambda blob, other: not_a_number(blob),
}


@pytest.fixture
def cached(tmp_path) -> tuple[Path, FakeEncoder]:
    """A cache holding the vectors of TEXTS, written by the fake encoder."""
    path = tmp_path / "embeddings.sqlite"
    encoder = FakeEncoder()
    cache = EmbeddingCache(path)
    embed_with_cache(encoder, TEXTS, cache)
    cache.close()
    return path, encoder


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_same_size_vector_that_is_not_the_one_stored_is_embedded_again(cached, damage, caplog):
    path, encoder = cached
    blob = stored(path, TEXTS[0])
    overwrite(path, TEXTS[0], damage(blob, stored(path, TEXTS[1])))
    assert len(stored(path, TEXTS[0])) == len(blob)

    cache = EmbeddingCache(path)
    with caplog.at_level(logging.WARNING):
        vectors, embedded = embed_with_cache(encoder, TEXTS, cache)
    cache.close()

    assert embedded == 1
    np.testing.assert_array_equal(vectors, encoder.encode_documents(TEXTS))
    assert "1 stored vector" in caplog.text
    assert stored(path, TEXTS[0]) == blob  # and the cache holds the right one again


def test_without_reuse_every_text_is_embedded_and_the_cache_refreshed(cached):
    path, encoder = cached
    overwrite(path, TEXTS[2], flip_one_bit(stored(path, TEXTS[2])))
    cache = EmbeddingCache(path)

    _, embedded = embed_with_cache(encoder, TEXTS, cache, reuse=False)
    _, again = embed_with_cache(encoder, TEXTS, cache)
    cache.close()

    assert (embedded, again) == (len(TEXTS), 0)


def garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(3).bytes(20_000))


def header_only(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def pages_overwritten(path: Path) -> None:
    # Every page after the first: SQLite's own structures, not only vector bytes.
    data = path.read_bytes()
    path.write_bytes(data[:4096] + np.random.default_rng(5).bytes(len(data) - 4096))


def a_directory_of_that_name(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "x").write_text("x")


@pytest.mark.parametrize("damage", [garbage, header_only, pages_overwritten])
def test_a_damaged_cache_file_is_moved_aside_and_a_new_one_made(cached, damage, caplog):
    path, encoder = cached
    damage(path)
    damaged = path.read_bytes()

    with caplog.at_level(logging.WARNING):
        cache = EmbeddingCache(path)
        vectors, embedded = embed_with_cache(encoder, TEXTS, cache)
        _, again = embed_with_cache(encoder, TEXTS, cache)
        cache.close()

    assert (embedded, again) == (len(TEXTS), 0)
    np.testing.assert_array_equal(vectors, encoder.encode_documents(TEXTS))
    [aside] = path.parent.glob("embeddings.sqlite.damaged-*")
    assert aside.read_bytes() == damaged
    assert "damaged" in caplog.text and aside.name in caplog.text


def test_a_cache_that_cannot_be_opened_is_an_error_not_damage(cached):
    path, _ = cached
    a_directory_of_that_name(path)

    with pytest.raises(EmbeddingCacheError, match=r"embeddings\.sqlite"):
        EmbeddingCache(path)
    assert path.is_dir()  # nothing was moved
    assert not list(path.parent.glob("*.damaged-*"))


def test_rows_of_the_cache_before_checksums_are_embedded_again_once(tmp_path):
    path = tmp_path / "embeddings.sqlite"
    encoder = FakeEncoder()
    db = sqlite3.connect(path)
    with db:  # the cache as version 1 wrote it
        db.execute(
            "CREATE TABLE vectors (model_id TEXT NOT NULL, text_hash TEXT NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO vectors VALUES (?, ?, ?)",
            [
                (encoder.model_id, text_hash(t), v.tobytes())
                for t, v in zip(TEXTS, encoder.encode_documents(TEXTS), strict=True)
            ],
        )
    db.close()

    cache = EmbeddingCache(path)
    _, first = embed_with_cache(encoder, TEXTS, cache)
    _, second = embed_with_cache(encoder, TEXTS, cache)
    cache.close()

    assert (first, second) == (len(TEXTS), 0)


def test_a_vector_the_encoder_got_wrong_is_not_stored(tmp_path):
    class Broken(FakeEncoder):
        def encode_documents(self, texts):
            vectors = super().encode_documents(texts)
            vectors[0] = np.nan
            return vectors

    cache = EmbeddingCache(tmp_path / "embeddings.sqlite")
    embed_with_cache(Broken(), TEXTS, cache)
    _, embedded = embed_with_cache(FakeEncoder(), TEXTS, cache)
    cache.close()

    assert embedded == 1
