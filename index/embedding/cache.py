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
