"""The on-disk embedding cache: vectors in SQLite, keyed by model id and text hash.

A cached vector is used only when it is provably the one stored for that text: each row
carries a BLAKE2b checksum of its model id, text hash and vector bytes, and the vector must
be finite and of unit length (encoders return normalised vectors). Any other row is a miss:
the text is embedded again and the row replaced. Rows of the first version of the cache
(no checksum) are dropped when it is opened, once: a checksum computed now would vouch for
bytes nobody checked. A cache file SQLite finds damaged is moved aside
(``embeddings.sqlite.damaged-<time>``) with a warning and a new one is made; any other
SQLite failure (unreadable, read-only, full disk) is an :class:`EmbeddingCacheError`.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.embedding.base import Encoder, text_hash

log = logging.getLogger(__name__)

CACHE_VERSION = 2
"""PRAGMA user_version of the cache; version 1 had no checksums."""

NORM_TOLERANCE = 1e-3
"""How far a cached vector's length may be from 1 (float32 rounding is near 1e-7)."""

_DAMAGE = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class EmbeddingCacheError(Exception):
    """The embedding cache cannot be used (not damage: unreadable, read-only, full disk)."""


def vector_checksum(model_id: str, key: str, blob: bytes) -> bytes:
    """Return the checksum stored with a vector: BLAKE2b of its row's key and its bytes.

    The key is part of it so that a valid vector moved to another text's row is refused.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{model_id}\x00{key}\x00".encode())
    digest.update(blob)
    return digest.digest()


def _is_damage(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "") in _DAMAGE


def _usable(vectors: np.ndarray) -> np.ndarray:
    """Return which rows are finite vectors of unit length."""
    finite = np.isfinite(vectors).all(axis=1)
    norms = np.linalg.norm(np.where(finite[:, None], vectors, 0), axis=1)
    return finite & (np.abs(norms - 1.0) <= NORM_TOLERANCE)


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by model id and chunk text hash, each checksummed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self._errors("open"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if not _is_damage(exc):
                    raise
                self._move_aside(exc, None)
                self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            [(version,)] = db.execute("PRAGMA user_version")
            if version != CACHE_VERSION:
                db.execute("DROP TABLE IF EXISTS vectors")
                db.execute(
                    "CREATE TABLE vectors (model_id TEXT NOT NULL, text_hash TEXT NOT NULL,"
                    " vector BLOB NOT NULL, checksum BLOB NOT NULL,"
                    " PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID"
                )
                db.execute(f"PRAGMA user_version = {CACHE_VERSION}")
                db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, exc: sqlite3.Error, db: sqlite3.Connection | None) -> None:
        """Rename the damaged file (and its journal files) out of the way, with a warning."""
        if db is not None:
            with suppress(sqlite3.Error):
                db.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for suffix in _SIDE_FILES:
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        log.warning(
            "the embedding cache %s is damaged (%s): moved aside to %s, its vectors are"
            " embedded again (delete that file when it is no longer needed)",
            self.path,
            exc,
            aside.name,
        )

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn SQLite's and the file system's failures into one EmbeddingCacheError."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise EmbeddingCacheError(
                f"the embedding cache {self.path} cannot be used ({doing}: {reason})"
            ) from exc

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """Move a damaged cache aside and open a new one; re-raise any other failure."""
        if not _is_damage(exc):
            raise exc
        self._move_aside(exc, self._db)
        self._db = self._open()

    def get_many(
        self, model_id: str, hashes: Sequence[str], dimension: int
    ) -> dict[str, np.ndarray]:
        """Return the cached vectors among ``hashes`` that pass their checks, by hash.

        A damaged cache file is moved aside and nothing is returned from it.
        """
        with self._errors("read"):
            try:
                return self._get_many(model_id, hashes, dimension)
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                return {}

    def _get_many(
        self, model_id: str, hashes: Sequence[str], dimension: int
    ) -> dict[str, np.ndarray]:
        keys: list[str] = []
        blobs: list[bytes] = []
        refused = 0
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 900):
            part = unique[start : start + 900]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                "SELECT text_hash, vector, checksum FROM vectors WHERE model_id = ?"
                f" AND text_hash IN ({marks})",
                [model_id, *part],
            )
            for key, blob, checksum in rows:
                if (
                    isinstance(blob, bytes)
                    and len(blob) == 4 * dimension
                    and checksum == vector_checksum(model_id, key, blob)
                ):
                    keys.append(key)
                    blobs.append(blob)
                else:
                    refused += 1
        found: dict[str, np.ndarray] = {}
        if blobs:
            vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, dimension)
            usable = _usable(vectors)
            refused += int((~usable).sum())
            found = {k: vectors[i] for i, k in enumerate(keys) if usable[i]}
        if refused:
            log.warning(
                "%d stored vector(s) in %s failed their check (checksum, size, finite, unit"
                " length): their texts are embedded again",
                refused,
                self.path,
            )
        return found

    def put_many(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors by text hash, each with its checksum; unusable vectors are left out."""
        if not items:
            return
        keys = list(items)
        vectors = np.asarray([items[k] for k in keys], dtype=np.float32).reshape(len(keys), -1)
        usable = _usable(vectors)
        if not usable.all():
            log.warning(
                "%d vector(s) from the encoder are not finite unit vectors: not cached",
                int((~usable).sum()),
            )
        rows = []
        for key, vector, ok in zip(keys, vectors, usable, strict=True):
            if ok:
                blob = vector.tobytes()
                rows.append((model_id, key, blob, vector_checksum(model_id, key, blob)))
        with self._errors("write"):
            try:
                self._put(rows)
            except sqlite3.DatabaseError as exc:
                self._recover(exc)
                self._put(rows)

    def _put(self, rows: list[tuple[str, str, bytes, bytes]]) -> None:
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (model_id, text_hash, vector, checksum)"
                " VALUES (?, ?, ?, ?)",
                rows,
            )
            self._db.commit()
        except sqlite3.Error:
            with suppress(sqlite3.Error):
                self._db.rollback()
            raise

    def close(self) -> None:
        """Close the database."""
        try:
            self._db.close()
        except sqlite3.Error as exc:  # closing a damaged file: nothing left to lose
            log.warning("closing the embedding cache %s: %s", self.path, exc)


def embed_with_cache(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 512,
    reuse: bool = True,
) -> tuple[np.ndarray, int]:
    """Return (vectors for texts, how many were newly encoded), reusing cached vectors.

    With ``reuse`` false every text is encoded and the cache only written.
    """
    dimension = encoder.dimension
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    cached = cache.get_many(encoder.model_id, hashes, dimension) if cache and reuse else {}
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


def embed_passages_with_cache(
    encoder: Encoder,
    texts: Sequence[str],
    spans: Sequence[Sequence[str]],
    cache: EmbeddingCache | None,
    *,
    progress: Callable[[int], None] | None = None,
    reuse: bool = True,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return (passage vectors, all spans' vectors in order, passages newly encoded).

    ``spans[i]`` are the sentences of ``texts[i]``; each is encoded on its own, as a
    passage, and cached by its text like the passages. Progress counts a passage and each
    of its sentences as one each. With ``reuse`` false everything is encoded and the cache
    only written.
    """
    vectors, embedded = embed_with_cache(encoder, texts, cache, progress=progress, reuse=reuse)
    flat = [s for group in spans for s in group]
    span_vectors, _ = embed_with_cache(encoder, flat, cache, progress=progress, reuse=reuse)
    return vectors, span_vectors, embedded
