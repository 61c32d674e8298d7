"""The on-disk embedding cache: vectors in SQLite, keyed by model id and text hash."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from index.embedding.base import Encoder, text_hash


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by model id and chunk text hash."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model_id TEXT NOT NULL, text_hash TEXT NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID"
        )
        self._db.commit()

    def get_many(
        self, model_id: str, hashes: Sequence[str], dimension: int
    ) -> dict[str, np.ndarray]:
        """Return the cached vectors among ``hashes``, by hash."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 900):
            part = unique[start : start + 900]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                "SELECT text_hash, vector FROM vectors WHERE model_id = ?"
                f" AND text_hash IN ({marks})",
                [model_id, *part],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == dimension:
                    found[key] = vector
        return found

    def put_many(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors by text hash."""
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (model_id, text_hash, vector) VALUES (?, ?, ?)",
            [
                (model_id, key, np.asarray(v, dtype=np.float32).tobytes())
                for key, v in items.items()
            ],
        )
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def embed_with_cache(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 512,
) -> tuple[np.ndarray, int]:
    """Return (vectors for texts, how many were newly encoded), reusing cached vectors."""
    dimension = encoder.dimension
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    cached = cache.get_many(encoder.model_id, hashes, dimension) if cache else {}
    todo: dict[str, list[int]] = {}
    for i, key in enumerate(hashes):
        if key in cached:
            out[i] = cached[key]
        else:
            todo.setdefault(key, []).append(i)
    if progress and len(texts) - sum(len(v) for v in todo.values()):
        progress(len(texts) - sum(len(v) for v in todo.values()))
    keys = list(todo)
    for start in range(0, len(keys), batch):
        part = keys[start : start + batch]
        vectors = encoder.encode_documents([texts[todo[k][0]] for k in part])
        for key, vector in zip(part, vectors, strict=True):
            for i in todo[key]:
                out[i] = vector
        if cache:
            cache.put_many(encoder.model_id, dict(zip(part, vectors, strict=True)))
        if progress:
            progress(sum(len(todo[k]) for k in part))
    return out, len(keys)


IN_PASSAGE = "+in-passage"
"""Suffix of the model id under which span vectors pooled inside their passage are cached."""


def embed_passages_with_cache(
    encoder: Encoder,
    texts: Sequence[str],
    spans: Sequence[Sequence[str]],
    cache: EmbeddingCache | None,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 512,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return (passage vectors, all spans' vectors in order, passages newly encoded).

    ``spans[i]`` are the sentences of ``texts[i]``. An encoder whose
    ``sentences_in_passage`` is true (the ONNX backend, on request) gives each passage and
    its sentences from one model call (``encode_passages``), the sentences pooled from the
    passage's token states; otherwise every sentence is encoded again on its own.
    Progress counts a passage and each of its sentences as one each.
    """
    if not getattr(encoder, "sentences_in_passage", False):
        vectors, embedded = embed_with_cache(encoder, texts, cache, progress=progress)
        flat = [s for group in spans for s in group]
        span_vectors, _ = embed_with_cache(encoder, flat, cache, progress=progress)
        return vectors, span_vectors, embedded
    dimension, model_id = encoder.dimension, encoder.model_id
    # A sentence's vector depends on its passage: keyed by both, under an id of its own.
    span_model = f"{model_id}{IN_PASSAGE}"
    passage_keys = [text_hash(t) for t in texts]
    span_keys = [
        [text_hash(f"{text}\x00{j}\x00{span}") for j, span in enumerate(group)]
        for text, group in zip(texts, spans, strict=True)
    ]
    starts = np.concatenate([[0], np.cumsum([len(g) for g in spans], dtype=np.int64)])
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    span_out = np.zeros((int(starts[-1]), dimension), dtype=np.float32)
    cached = cache.get_many(model_id, passage_keys, dimension) if cache else {}
    cached_spans = (
        cache.get_many(span_model, [k for g in span_keys for k in g], dimension) if cache else {}
    )
    todo: dict[tuple[str, ...], list[int]] = {}
    reused = 0
    for i, key in enumerate(passage_keys):
        if key in cached and all(k in cached_spans for k in span_keys[i]):
            out[i] = cached[key]
            for j, k in enumerate(span_keys[i]):
                span_out[starts[i] + j] = cached_spans[k]
            reused += 1 + len(span_keys[i])
        else:
            todo.setdefault((key, *span_keys[i]), []).append(i)
    if progress and reused:
        progress(reused)
    groups = list(todo.values())
    for start in range(0, len(groups), batch):
        part = groups[start : start + batch]
        vectors, span_vectors = encoder.encode_passages(  # type: ignore[attr-defined]
            [texts[g[0]] for g in part], [spans[g[0]] for g in part]
        )
        for g, vector, group_vectors in zip(part, vectors, span_vectors, strict=True):
            for i in g:
                out[i] = vector
                span_out[starts[i] : starts[i + 1]] = group_vectors
        if cache:
            fresh = {passage_keys[g[0]]: v for g, v in zip(part, vectors, strict=True)}
            cache.put_many(model_id, fresh)
            cache.put_many(
                span_model,
                {
                    k: v
                    for g, group_vectors in zip(part, span_vectors, strict=True)
                    for k, v in zip(span_keys[g[0]], group_vectors, strict=True)
                },
            )
        if progress:
            progress(sum(len(g) * (1 + len(spans[g[0]])) for g in part))
    return out, span_out, len(groups)
