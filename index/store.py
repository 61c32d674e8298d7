"""One build on disk: its records, manifest and files, loading it, the lock, and the atomic swap.

Layout of the index folder::

    CURRENT               name of the live build (replaced with os.replace)
    builds/<name>/        manifest.json, dense.faiss, words.*, chars.*, chunks.sqlite
    embeddings.sqlite     vector cache keyed by model id + chunk text hash
    .lock                 held (flock) by the one reindex that may run

A reindex (index/build.py) writes a new build in ``tmp-<name>`` and seals it
(:func:`seal_build`); :func:`move_into_builds` renames it into ``builds/`` and only then
:func:`point_current` points CURRENT at it, so a crash at any moment leaves the previous
build live and whole.

The manifest records every file's size and checksum (:func:`file_checksum`: BLAKE2b of
the whole file, or of spread samples of a file past :data:`CHECKSUM_FULL_BYTES`, so a
cold start never reads gigabytes). Loading a build checks them; a damaged build is
refused, and a reindex then rebuilds from the documents instead of trusting it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import Chunk
from index.dense import AllowedChunks, read_dense, search_dense
from index.documents import Document
from index.embedding import Encoder
from index.lexical import BM25Index
from index.types import Visibility

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: sentence vectors; 3: public keyword fields
_KEEP_BUILDS = 2
CHECKSUM_FULL_BYTES = 64 * 1024 * 1024
"""Files up to this size are hashed whole on load; larger ones by spread samples."""
_SAMPLE_BLOCKS = 64
_SAMPLE_BYTES = 64 * 1024
_READ_BYTES = 1024 * 1024


class StoreError(Exception):
    """Base class of index storage errors; the message is meant for users."""


class IndexMissingError(StoreError):
    """There is no built index yet."""


class IndexIncompatibleError(StoreError):
    """The index on disk was built with another model, dimension or format."""


class IndexLockedError(StoreError):
    """Another reindex holds the lock."""


@dataclass(frozen=True)
class DocumentRecord:
    """What the index keeps of a document."""

    id: str
    title: str
    visibility: Visibility
    content_hash: str
    author: str | None = None
    date: str | None = None
    url: str | None = None
    municipalities: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    @classmethod
    def from_document(cls, doc: Document) -> DocumentRecord:
        """Return the record of a parsed document."""
        return cls(
            id=doc.id,
            title=doc.title,
            visibility=doc.visibility,
            content_hash=doc.content_hash,
            author=doc.author,
            date=doc.date,
            url=doc.url,
            municipalities=tuple(doc.municipalities),
            topics=tuple(doc.topics),
        )


@dataclass(frozen=True)
class ChunkRecord:
    """One passage as stored: its id is its FAISS id and its keyword-index row."""

    id: int
    doc_id: str
    ordinal: int
    text: str
    sentences: tuple[str, ...]
    heading: str | None
    page: int | None

    def as_chunk(self) -> Chunk:
        """Return this stored passage as a Chunk, as the chunker made it."""
        return Chunk(
            doc_id=self.doc_id,
            ordinal=self.ordinal,
            text=self.text,
            sentences=self.sentences,
            heading=self.heading,
            page=self.page,
        )


# ---------------------------------------------------------------------------- loading


class Index:
    """A loaded, read-only build: dense + keyword indexes, document table, chunk table."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        manifest_path = folder / "manifest.json"
        try:
            self.manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexIncompatibleError(
                f"the index at {folder} is unreadable ({exc}): run `natverksbot index` to rebuild"
            ) from exc
        version = self.manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexIncompatibleError(
                f"the index at {folder} has format version {version}, this version reads "
                f"{FORMAT_VERSION}: run `natverksbot index` to rebuild it"
            )
        damaged = damaged_file(folder, self.manifest)
        if damaged is not None:
            raise IndexIncompatibleError(
                f"the index at {folder} is damaged ({damaged}): run `natverksbot index`"
                " or /reindex, which rebuild it"
            )
        try:
            self._load_files(folder)
        except (OSError, RuntimeError, ValueError, KeyError, sqlite3.Error) as exc:
            raise IndexIncompatibleError(
                f"the index at {folder} is incomplete or damaged ({exc}): "
                "run `natverksbot index` to rebuild it"
            ) from exc
        self._public_ids = np.flatnonzero(self.public_mask).astype(np.int64)
        self._public_selector: AllowedChunks | None = None
        self._selector_lock = threading.Lock()
        n = len(self.chunk_doc_ids)
        public = len(self._public_ids)
        if (
            self.dense.ntotal != n
            or self.words.size != n
            or self.lead.size != n
            or any(f.size != public for f in self._public_fields.values())
        ):
            raise IndexIncompatibleError(
                f"the index at {folder} is inconsistent: run `natverksbot index` to rebuild"
            )

    def _load_files(self, folder: Path) -> None:
        self._db = sqlite3.connect(
            f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False
        )
        self._db_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self.documents: dict[str, DocumentRecord] = {}
        for row in self._db.execute(
            "SELECT id, title, visibility, content_hash, author, date, url, municipalities,"
            " topics FROM documents"
        ):
            # mypy takes the unpacked row for every field: call-arg.
            self.documents[row[0]] = DocumentRecord(  # type: ignore[call-arg]
                *row[:7], tuple(json.loads(row[7])), tuple(json.loads(row[8]))
            )
        doc_ids = [r[0] for r in self._db.execute("SELECT doc_id FROM chunks ORDER BY id")]
        self.chunk_doc_ids: list[str] = doc_ids
        self._chunks_of: dict[str, list[int]] | None = None
        self.public_mask = np.fromiter(
            (self.documents[d].visibility == "public" for d in doc_ids),
            dtype=bool,
            count=len(doc_ids),
        )
        # Memory-mapped, not read: flat vectors (IFC) and IVF lists are paged in on demand
        # and shared by every process that opens the same build.
        self.dense = read_dense(folder / "dense.faiss", str(self.manifest.get("dense_index")))
        self.words = BM25Index.load(folder, "words")
        self.chars = BM25Index.load(folder, "chars")
        self.lead = BM25Index.load(folder, "lead")
        self._public_fields = {
            name: BM25Index.load(folder, f"{name}.public") for name in ("words", "chars", "lead")
        }
        self.char_ngram = int(self.manifest.get("lexical", {}).get("char_ngram", 3))
        self.municipalities = frozenset(
            m for doc in self.documents.values() for m in doc.municipalities
        )
        self.public_municipalities = frozenset(
            m
            for doc in self.documents.values()
            if doc.visibility == "public"
            for m in doc.municipalities
        )
        self._sentence_vectors = np.load(folder / "sentences.vectors.npy", mmap_mode="r")
        self._sentence_offsets = np.load(folder / "sentences.offsets.npy")
        if len(self._sentence_offsets) != len(doc_ids) + 1:
            raise ValueError("sentence offsets do not match the chunks")

    @property
    def model_id(self) -> str:
        """Return the id of the model the vectors were made with."""
        return str(self.manifest["model_id"])

    @property
    def dimension(self) -> int:
        """Return the vector dimension."""
        return int(self.manifest["dimension"])

    @property
    def size(self) -> int:
        """Return the number of chunks."""
        return len(self.chunk_doc_ids)

    def check_encoder(self, encoder: Encoder) -> None:
        """Raise IndexIncompatibleError unless the index was built with this encoder."""
        if encoder.model_id != self.model_id or encoder.dimension != self.dimension:
            raise IndexIncompatibleError(
                f"the index was built with model {self.model_id} ({self.dimension} dimensions) "
                f"but the configured model is {encoder.model_id} ({encoder.dimension} dimensions):"
                " run `natverksbot index` to rebuild it"
            )

    def _field(self, name: str, visibility: Visibility) -> BM25Index:
        return getattr(self, name) if visibility == "internal" else self._public_fields[name]

    def keyword_scores(self, name: str, terms: list[str], visibility: Visibility) -> np.ndarray:
        """Return one keyword field's BM25 score of every chunk, with that reader's statistics.

        A public reader's scores come from the public passages' own index (their idf and
        length); internal chunks score 0 for them.
        """
        if visibility == "internal":
            return getattr(self, name).scores(terms)
        out = np.zeros(len(self.chunk_doc_ids), dtype=np.float32)
        if len(self._public_ids):
            out[self._public_ids] = self._public_fields[name].scores(terms)
        return out

    def idf(self, terms: set[str], visibility: Visibility) -> dict[str, float]:
        """Return the BM25 idf of each stem among the chunks a reader may see (unknown: max)."""
        return self._field("words", visibility).idf(terms)

    def municipalities_for(self, visibility: Visibility) -> frozenset[str]:
        """Return the municipalities named by the documents a reader may see."""
        return self.municipalities if visibility == "internal" else self.public_municipalities

    def allowed_mask(self, visibility: Visibility) -> np.ndarray | None:
        """Return a boolean mask of chunks a reader of that visibility may see (None: all)."""
        return None if visibility == "internal" else self.public_mask

    def search_dense(
        self, query: np.ndarray, k: int, visibility: Visibility
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids) of the k nearest allowed chunks; ids are -1 past the end."""
        scores, ids = self.search_dense_many(query.reshape(1, -1), k, visibility)
        return scores[0], ids[0]

    def search_dense_many(
        self, queries: np.ndarray, k: int, visibility: Visibility
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return per query (scores, ids) of the k nearest allowed chunks, in one FAISS call.

        One call for several questions lets FAISS scan the vectors once for all of them.
        """
        k = max(1, min(k, self.size))
        allowed = None
        if visibility != "internal":
            if not len(self._public_ids):
                empty = [np.zeros(0, dtype=np.float32)] * len(queries)
                return empty, [np.zeros(0, dtype=np.int64)] * len(queries)
            allowed = self._public_only()
        return search_dense(
            self.dense,
            queries,
            k,
            kind=str(self.manifest.get("dense_index")),
            ef_search=self._ef_search,
            nprobe=self._nprobe,
            allowed=allowed,
        )

    def _public_only(self) -> AllowedChunks:
        with self._selector_lock:
            if self._public_selector is None:
                self._public_selector = AllowedChunks(self.public_mask)
            return self._public_selector

    @property
    def _ef_search(self) -> int:
        return int(self.manifest.get("hnsw", {}).get("ef_search", 1024))

    @property
    def _nprobe(self) -> int:
        return int(self.manifest.get("ivf", {}).get("nprobe", 1))

    def sentence_vectors(self, chunk_id: int) -> np.ndarray:
        """Return a chunk's sentence vectors (float32, one row per sentence, in order)."""
        start, end = self._sentence_offsets[chunk_id], self._sentence_offsets[chunk_id + 1]
        return np.asarray(self._sentence_vectors[start:end], dtype=np.float32)

    def chunk_ids_of(self, doc_id: str) -> list[int]:
        """Return the ids of a document's chunks, in id order."""
        if self._chunks_of is None:
            grouped: dict[str, list[int]] = {}
            for chunk_id, owner in enumerate(self.chunk_doc_ids):
                grouped.setdefault(owner, []).append(chunk_id)
            self._chunks_of = grouped
        return list(self._chunks_of.get(doc_id, ()))

    def chunks(self, ids: list[int]) -> dict[int, ChunkRecord]:
        """Return the chunk records for ids, by id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = (
            self._reader()
            .execute(
                "SELECT id, doc_id, ordinal, text, sentences, heading, page FROM chunks"
                f" WHERE id IN ({marks})",
                [int(i) for i in ids],
            )
            .fetchall()
        )
        return {
            r[0]: ChunkRecord(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6])
            for r in rows
        }

    def _reader(self) -> sqlite3.Connection:
        """Return this thread's own connection to the chunk table.

        Concurrent questions each fetch their passages: one shared connection behind a
        lock made them queue (6 % of samples at 32 askers, docs/PERFORMANCE.md). A build
        never changes once written, so its table is opened immutable (no file locking).
        """
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                f"file:{self.folder / 'chunks.sqlite'}?mode=ro&immutable=1",
                uri=True,
                check_same_thread=False,
            )
            with self._db_lock:
                self._readers.append(db)
            self._local.db = db
        return db

    def all_chunks(self) -> Iterator[ChunkRecord]:
        """Yield every chunk in id order."""
        with self._db_lock:
            rows = self._db.execute(
                "SELECT id, doc_id, ordinal, text, sentences, heading, page FROM chunks ORDER BY id"
            ).fetchall()
        for r in rows:
            yield ChunkRecord(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6])

    def disk_bytes(self) -> int:
        """Return the size of this build on disk."""
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    def close(self) -> None:
        """Close the chunk table."""
        with contextlib.suppress(Exception):
            self._db.close()
        with self._db_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            with contextlib.suppress(Exception):
                db.close()


def file_checksum(path: Path) -> str:
    """Return ``b2:<hex>``, the BLAKE2b of a file, or ``b2s:<hex>`` of samples of a big one.

    A file larger than :data:`CHECKSUM_FULL_BYTES` is hashed by its size and
    :data:`_SAMPLE_BLOCKS` blocks spread evenly over it (4 MiB read): garbage in a
    sampled block is found at once, garbage elsewhere only by the consistency checks of
    the readers. Up to that size every byte counts.
    """
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= CHECKSUM_FULL_BYTES:
            while block := handle.read(_READ_BYTES):
                digest.update(block)
            return f"b2:{digest.hexdigest()}"
        digest.update(size.to_bytes(8, "little"))
        step = (size - _SAMPLE_BYTES) // (_SAMPLE_BLOCKS - 1)
        for n in range(_SAMPLE_BLOCKS):
            handle.seek(n * step)
            digest.update(handle.read(_SAMPLE_BYTES))
    return f"b2s:{digest.hexdigest()}"


def damaged_file(folder: Path, manifest: dict[str, Any]) -> str | None:
    """Return what is wrong with a build's files (a file and why), or None when whole.

    Sizes are compared first (free), then checksums. A build written before checksums
    were recorded is checked by size alone.
    """
    sizes = manifest.get("files")
    sums = manifest.get("checksums")
    if not isinstance(sizes, dict):
        return None
    for name, size in sizes.items():
        try:
            actual = (folder / name).stat().st_size
        except OSError:
            return f"{name} is missing"
        if actual != size:
            return f"{name} changed size"
    if not isinstance(sums, dict):
        return None
    for name, expected in sums.items():
        try:
            if file_checksum(folder / name) != expected:
                return f"{name} does not match its checksum"
        except OSError as exc:
            return f"{name} cannot be read: {exc.strerror or exc}"
    return None


def current_build(index_dir: Path) -> Path | None:
    """Return the folder of the live build, or None when there is none."""
    pointer = Path(index_dir) / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    folder = Path(index_dir) / "builds" / name
    return folder if name and folder.is_dir() else None


def load_index(index_dir: Path, encoder: Encoder | None = None) -> Index:
    """Return the live index; raise IndexMissingError or IndexIncompatibleError."""
    folder = current_build(index_dir)
    if folder is None:
        raise IndexMissingError(f"no index in {index_dir} yet: run `natverksbot index` to build it")
    index = Index(folder)
    if encoder is not None:
        index.check_encoder(encoder)
    return index


@contextlib.contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """Hold the reindex lock; raise IndexLockedError when another process or thread has it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the with-block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise IndexLockedError(
                f"a reindex is already running ({holder}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


# flock is per open file description, so threads of one process need their own guard.
_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(index_dir: Path) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(str(index_dir.resolve()), threading.Lock())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def reindex_lock(index_dir: Path) -> Iterator[None]:
    """Hold the process guard and the folder lock; raise IndexLockedError if either is taken."""
    guard = _thread_lock(index_dir)
    if not guard.acquire(blocking=False):
        raise IndexLockedError("a reindex is already running in this process; wait for it")
    try:
        with index_lock(index_dir):
            yield
    finally:
        guard.release()


# ---------------------------------------------------------------------------- the live build


def live_manifest(index_dir: Path) -> dict[str, Any] | None:
    """Return the live build's manifest if the build is whole, without loading it.

    A build records its files' sizes and checksums in its manifest; when they still
    match, the build is taken as whole (else it is rebuilt from the documents, never
    reused). An older build without that record is checked by loading it.
    """
    folder = current_build(index_dir)
    if folder is None:
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("previous index not reusable: %s", exc)
        return None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        log.warning("previous index not reusable: format %s", manifest.get("format_version"))
        return None
    files = manifest.get("files")
    if isinstance(files, dict) and files:
        damaged = damaged_file(folder, manifest)
        if damaged is not None:
            log.warning("previous index not reusable, rebuilding it: %s", damaged)
            return None
        return manifest
    try:
        Index(folder).close()
    except StoreError as exc:
        log.warning("previous index not reusable: %s", exc)
        return None
    return manifest


def previous_chunks(
    index_dir: Path, doc_ids: set[str]
) -> dict[str, tuple[DocumentRecord, list[ChunkRecord]]] | None:
    """Return the live build's records and chunks of doc_ids, or None if it cannot be read."""
    folder = current_build(index_dir)
    if folder is None or not doc_ids:
        return {} if folder is not None else None
    try:
        index = Index(folder)
    except StoreError as exc:
        log.warning("previous index not reusable: %s", exc)
        return None
    try:
        by_doc: dict[str, list[ChunkRecord]] = {}
        for chunk in index.all_chunks():
            if chunk.doc_id in doc_ids:
                by_doc.setdefault(chunk.doc_id, []).append(chunk)
        return {
            doc_id: (index.documents[doc_id], by_doc.get(doc_id, []))
            for doc_id in doc_ids
            if doc_id in index.documents
        }
    finally:
        index.close()


# ---------------------------------------------------------------------------- writing a build


def write_tables(
    path: Path,
    records: Sequence[DocumentRecord],
    chunks: Sequence[tuple[int, str, Chunk | ChunkRecord]],
) -> None:
    """Write the document and chunk tables; ``chunks`` holds (chunk id, document id, chunk)."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute(
            "CREATE TABLE documents (id TEXT PRIMARY KEY, title TEXT, visibility TEXT,"
            " content_hash TEXT, author TEXT, date TEXT, url TEXT, municipalities TEXT,"
            " topics TEXT)"
        )
        db.execute(
            "CREATE TABLE chunks (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER,"
            " text TEXT NOT NULL, sentences TEXT NOT NULL, heading TEXT, page INTEGER)"
        )
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.id,
                    r.title,
                    r.visibility,
                    r.content_hash,
                    r.author,
                    r.date,
                    r.url,
                    json.dumps(list(r.municipalities), ensure_ascii=False),
                    json.dumps(list(r.topics), ensure_ascii=False),
                )
                for r in records
            ],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    cid,
                    doc_id,
                    chunk.ordinal,
                    chunk.text,
                    json.dumps(list(chunk.sentences), ensure_ascii=False),
                    chunk.heading,
                    chunk.page,
                )
                for cid, doc_id, chunk in chunks
            ],
        )
        db.execute("CREATE INDEX chunks_doc ON chunks (doc_id)")
        db.commit()
    finally:
        db.close()


def write_sentence_vectors(folder: Path, vectors: np.ndarray, counts: list[int]) -> None:
    """Write every chunk's sentence vectors (float16) and where each chunk's rows start."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts, dtype=np.int64)
    np.save(folder / "sentences.vectors.npy", np.asarray(vectors, dtype=np.float16))
    np.save(folder / "sentences.offsets.npy", offsets)


def seal_build(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest with every file's size and checksum, then fsync the whole build."""
    written = [item for item in sorted(folder.iterdir()) if item.is_file()]
    manifest = {
        **manifest,
        "files": {item.name: item.stat().st_size for item in written},
        "checksums": {item.name: file_checksum(item) for item in written},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    for item in folder.iterdir():
        _fsync_file(item)
    _fsync_dir(folder)


def move_into_builds(index_dir: Path, folder: Path, name: str) -> None:
    """Rename a sealed build into ``builds/<name>``; it is not live until :func:`point_current`."""
    builds = index_dir / "builds"
    builds.mkdir(exist_ok=True)
    os.replace(folder, builds / name)
    _fsync_dir(builds)


def point_current(index_dir: Path, name: str) -> None:
    """Make ``builds/<name>`` the live build: CURRENT is replaced in one step, then fsynced.

    Every step before this one is fsynced too, so a crash leaves either build live and whole.
    """
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(name, encoding="utf-8")
    _fsync_file(pointer_tmp)
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def collect_garbage(index_dir: Path) -> None:
    """Remove half-written builds and all but the newest finished builds."""
    for tmp in index_dir.glob("tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    builds = index_dir / "builds"
    if not builds.is_dir():
        return
    live = current_build(index_dir)
    finished = sorted(p for p in builds.iterdir() if p.is_dir())
    keep = {p for p in finished[-_KEEP_BUILDS:]}
    if live is not None:
        keep.add(live)
    for old in finished:
        if old not in keep:
            shutil.rmtree(old, ignore_errors=True)


def index_status(index_dir: Path) -> dict[str, Any]:
    """Return what the live index holds: build, model, counts, sizes, time (no model load)."""
    folder = current_build(index_dir)
    if folder is None:
        raise IndexMissingError(f"no index in {index_dir} yet: run `natverksbot index` to build it")
    index = Index(folder)
    try:
        public = sum(1 for d in index.documents.values() if d.visibility == "public")
        return {
            "index_dir": str(index_dir),
            "build": index.manifest.get("build"),
            "built_at": index.manifest.get("built_at"),
            "model_id": index.model_id,
            "dimension": index.dimension,
            "dense_index": index.manifest.get("dense_index"),
            "documents": len(index.documents),
            "public_documents": public,
            "internal_documents": len(index.documents) - public,
            "chunks": index.size,
            "skipped": index.manifest.get("skipped", []),
            "disk_bytes": index.disk_bytes(),
        }
    finally:
        index.close()
