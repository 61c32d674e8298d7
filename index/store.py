"""The index on disk: FAISS vectors, keyword indexes, chunk table and manifest, swapped atomically.

Layout of the index folder::

    CURRENT               name of the live build (replaced with os.replace)
    builds/<name>/        manifest.json, dense.faiss, words.*, chars.*, chunks.sqlite
    embeddings.sqlite     vector cache keyed by model id + chunk text hash
    .lock                 held (flock) by the one reindex that may run

A reindex writes a new build in ``tmp-<name>``, renames it into ``builds/`` and only then
points CURRENT at it, so a crash at any moment leaves the previous build live and whole.

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
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.chunking import Chunk, chunk_document
from index.documents import (
    Document,
    DocumentError,
    ParseLimits,
    SkippedFile,
    document_id,
    file_hash,
    iter_document_paths,
    parse_limits,
    read_document,
)
from index.embedding import EmbeddingCache, Encoder, embed_with_cache
from index.lexical import BM25Index, char_terms, word_terms

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: sentence vectors; 3: public keyword fields
_KEEP_BUILDS = 2
IVF_POINTS_PER_LIST = 39
"""Training vectors per IVF list (FAISS warns below 39)."""
IVF_TRAIN_PER_LIST = 64
"""At most this many training vectors per list are drawn for k-means."""
_DENSE_FILES = ("dense.faiss", "chunks.sqlite", "manifest.json")
CHECKSUM_FULL_BYTES = 64 * 1024 * 1024
"""Files up to this size are hashed whole on load; larger ones by spread samples."""
_SAMPLE_BLOCKS = 64
_SAMPLE_BYTES = 64 * 1024
_READ_BYTES = 1024 * 1024

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stages: scan, read, embed, write, swap, done."""


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
    visibility: str
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


@dataclass
class BuildSummary:
    """What a reindex did."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: bool = True
    seconds: float = 0.0
    build: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-able data."""
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "build": self.build,
        }


@dataclass(frozen=True)
class BuildSettings:
    """Everything besides the documents that decides what a build contains."""

    model_id: str
    dimension: int
    max_chars: int
    overlap_sentences: int
    default_visibility: str
    dense_index: str = "exact"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 1024
    approximate_above: int = 200_000
    char_ngram: int = 3
    ivf_nlist: int = 0
    ivf_nprobe: int = 0
    model_source: str = ""  # what the model is and where its weights came from, for people
    # How much work reading one document may take; not part of what a build contains.
    parse_limits: ParseLimits = field(default_factory=ParseLimits, compare=False)

    def lexical_key(self) -> dict[str, Any]:
        """Return the settings that decide the keyword indexes."""
        return {
            "char_ngram": self.char_ngram,
            "fields": ["words", "chars", "lead"],
            "chars_bm25": [1.5, 0.5],
        }

    def chunk_key(self) -> dict[str, Any]:
        """Return the settings that decide how documents are read and chunked."""
        return {
            "max_chars": self.max_chars,
            "overlap_sentences": self.overlap_sentences,
            "default_visibility": self.default_visibility,
            # What passage_text() makes of a chunk; a change re-reads every document.
            "passage_text": 2,
        }

    def dense_kind(self, n: int) -> str:
        """Return "exact", "hnsw" or "ivf" for an index of n vectors.

        ``auto`` keeps exact search up to ``approximate_above`` vectors, then HNSW: at a
        million vectors on 2 cores it kept recall@10 >= 0.95 at 4 ms a question, where IVF
        needed over 16 ms for the same recall (docs/PERFORMANCE.md). IVF is on request:
        it builds 4x faster.
        """
        if self.dense_index == "auto":
            return "hnsw" if n > self.approximate_above else "exact"
        return self.dense_index

    def nlist(self, n: int) -> int:
        """Return the number of IVF lists for n vectors (``ivf_nlist``, or about 4·√n)."""
        if self.ivf_nlist:
            return max(1, min(self.ivf_nlist, n // IVF_POINTS_PER_LIST))
        return max(1, min(int(4 * n**0.5), n // IVF_POINTS_PER_LIST))

    def nprobe(self, n: int) -> int:
        """Return the IVF lists searched per question (``ivf_nprobe``, or a quarter of them)."""
        return self.ivf_nprobe or max(1, self.nlist(n) // 4)


def lead_text(title: str, doc_id: str, chunk: Chunk) -> str:
    """Return a chunk's lead: its title, heading and first sentence (a BM25F-style field).

    Passages usually name their topic first; measured on the FAQ dev set this field adds
    about 0.02 nDCG@10 for Swedish and 0.07 for English questions (docs/RETRIEVAL.md).
    """
    parts = []
    if title and title != Path(doc_id).stem:
        parts.append(title)
    if chunk.heading:
        parts.append(chunk.heading)
    if chunk.sentences:
        parts.append(chunk.sentences[0])
    return "\n".join(parts)


def folder_context(doc_id: str) -> str:
    """Return a document's folders as words ("Fasad renovering › Puts"), or "" at the top.

    Admins file documents by topic or municipality; that is context the passage itself
    often leaves out. On the FAQ dev set it lifts multilingual-e5 nDCG@10 from 0.703 to
    0.77 (Swedish) and 0.581 to 0.61 (English) (docs/RETRIEVAL.md).
    """
    folders = Path(doc_id).parent.parts
    return " › ".join(
        " ".join(part.replace("-", " ").replace("_", " ").split()).capitalize()
        for part in folders
        if part not in ("", ".")
    )


def passage_text(title: str, doc_id: str, chunk: Chunk) -> str:
    """Return the text that is embedded and keyword-indexed for a chunk.

    The folder, the heading and a real title (not just the file name) are context that
    belongs to the passage; each is added when the passage does not already contain it.
    """
    parts = []
    folder = folder_context(doc_id)
    if folder:
        parts.append(folder)
    if title and title != Path(doc_id).stem and title not in chunk.text:
        parts.append(title)
    if chunk.heading and chunk.heading not in chunk.text:
        parts.append(chunk.heading)
    parts.append(chunk.text)
    return "\n".join(parts)


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
        self._selectors: dict[str, Any] = {}
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
            self.documents[row[0]] = DocumentRecord(
                *row[:7], tuple(json.loads(row[7])), tuple(json.loads(row[8]))
            )
        doc_ids = [r[0] for r in self._db.execute("SELECT doc_id FROM chunks ORDER BY id")]
        self.chunk_doc_ids: list[str] = doc_ids
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

    def _field(self, name: str, visibility: str) -> BM25Index:
        return getattr(self, name) if visibility == "internal" else self._public_fields[name]

    def keyword_scores(self, name: str, terms: list[str], visibility: str) -> np.ndarray:
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

    def idf(self, terms: set[str], visibility: str) -> dict[str, float]:
        """Return the BM25 idf of each stem among the chunks a reader may see (unknown: max)."""
        field = self._field("words", visibility)
        n = max(field.size, 1)
        indptr = field.weights.indptr
        out = {}
        for term in terms:
            col = field.vocabulary.get(term)
            df = 0 if col is None else int(indptr[col + 1] - indptr[col])
            out[term] = math.log1p((n - df + 0.5) / (df + 0.5))
        return out

    def municipalities_for(self, visibility: str) -> frozenset[str]:
        """Return the municipalities named by the documents a reader may see."""
        return self.municipalities if visibility == "internal" else self.public_municipalities

    def allowed_mask(self, visibility: str) -> np.ndarray | None:
        """Return a boolean mask of chunks a reader of that visibility may see (None: all)."""
        return None if visibility == "internal" else self.public_mask

    def search_dense(
        self, query: np.ndarray, k: int, visibility: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids) of the k nearest allowed chunks; ids are -1 past the end."""
        scores, ids = self.search_dense_many(query.reshape(1, -1), k, visibility)
        return scores[0], ids[0]

    def search_dense_many(
        self, queries: np.ndarray, k: int, visibility: str
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return per query (scores, ids) of the k nearest allowed chunks, in one FAISS call.

        One call for several questions lets FAISS scan the vectors once for all of them.
        """
        k = max(1, min(k, self.size))
        sel = None
        if visibility != "internal":
            if not len(self._public_ids):
                empty = [np.zeros(0, dtype=np.float32)] * len(queries)
                return empty, [np.zeros(0, dtype=np.int64)] * len(queries)
            sel = self._selector()
        kind = self.manifest.get("dense_index")
        if kind == "hnsw":
            params: Any = faiss.SearchParametersHNSW(efSearch=max(k, self._ef_search))
        elif kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self._nprobe)
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
        _one_search_thread()
        scores, ids = self.dense.search(
            np.ascontiguousarray(queries, dtype=np.float32), k, params=params
        )
        keep = ids >= 0
        return [s[m] for s, m in zip(scores, keep, strict=True)], [
            i[m] for i, m in zip(ids, keep, strict=True)
        ]

    def _selector(self) -> Any:
        with self._selector_lock:
            sel = self._selectors.get("public")
            if sel is None:
                # A bitmap answers "may this reader see chunk i" in O(1), cheaper per
                # candidate than a hashed id set; the bits must outlive the selector.
                bits = np.packbits(self.public_mask, bitorder="little")
                sel = faiss.IDSelectorBitmap(len(self.public_mask), faiss.swig_ptr(bits))
                self._selectors["public"] = sel
                self._selectors["public-bits"] = bits
            return sel

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


def read_dense(path: Path, kind: str) -> Any:
    """Return a FAISS index file memory-mapped, not read: pages load on demand, shared.

    IVF lists map with IO_FLAG_MMAP alone (as on-disk lists, whose prefetch threads are
    turned off: they cost 2 ms per search, measured); flat vectors (exact, HNSW) need IFC.
    """
    if kind == "ivf":
        dense = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)
        lists = faiss.downcast_InvertedLists(faiss.downcast_index(dense.index).invlists)
        if hasattr(lists, "prefetch_nthread"):
            lists.prefetch_nthread = 0
        return dense
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_MMAP_IFC)


_search_threads = threading.local()


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


def _one_search_thread() -> None:
    """Let FAISS search with one OpenMP thread in the calling thread (once per thread).

    Questions already run in parallel threads; an OpenMP team per single-question search
    only adds hand-offs, which cost milliseconds on 2 busy cores (measured 7.3 -> 1.4 ms
    per search, docs/PERFORMANCE.md). OpenMP keeps this setting per thread, so index
    builds elsewhere still use every core.
    """
    if not getattr(_search_threads, "single", False):
        faiss.omp_set_num_threads(1)
        _search_threads.single = True


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


# ---------------------------------------------------------------------------- building


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


def _live_manifest(index_dir: Path) -> dict[str, Any] | None:
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


def _previous_chunks(
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


def build_index(
    knowledge_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    settings: BuildSettings,
    *,
    progress: Progress | None = None,
    force: bool = False,
) -> BuildSummary:
    """Build or update the index from the knowledge folder and swap it in atomically.

    Only chunks whose text changed are embedded (the rest come from the cache); documents
    whose file hash is unchanged are not even parsed again. With nothing changed, the live
    build stays and the summary says so. Raises IndexLockedError when a reindex is running.
    """
    index_dir = Path(index_dir)
    guard = _thread_lock(index_dir)
    if not guard.acquire(blocking=False):
        raise IndexLockedError("a reindex is already running in this process; wait for it")
    try:
        with index_lock(index_dir), parse_limits(settings.parse_limits):
            return _build_locked(Path(knowledge_dir), index_dir, encoder, settings, progress, force)
    finally:
        guard.release()


def _build_locked(
    knowledge_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    settings: BuildSettings,
    progress: Progress | None,
    force: bool,
) -> BuildSummary:
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)
    summary = BuildSummary()
    _collect_garbage(index_dir)
    # Only the manifest is read first: with nothing changed, that and the files' hashes
    # are all a reindex needs, and the previous chunks are loaded only to rebuild.
    manifest = _live_manifest(index_dir)
    compatible = manifest is not None and (
        manifest.get("model_id") == settings.model_id
        and manifest.get("dimension") == settings.dimension
    )
    previous: dict[str, str] = {}
    if manifest is not None and manifest.get("chunking") == settings.chunk_key():
        previous = {
            doc_id: str(info.get("content_hash"))
            for doc_id, info in manifest.get("documents", {}).items()
        }

    def read_new(path: Path, doc_id: str) -> tuple[DocumentRecord, list[Chunk]] | None:
        try:
            doc = read_document(path, knowledge_dir, settings.default_visibility)  # type: ignore[arg-type]
        except DocumentError as exc:
            log.warning("skipped %s: %s", doc_id, exc)
            summary.skipped.append(SkippedFile(doc_id, str(exc)))
            return None
        chunks = chunk_document(doc, settings.max_chars, settings.overlap_sentences)
        if not chunks:
            summary.skipped.append(SkippedFile(doc_id, "no text to index"))
            return None
        (summary.updated if doc_id in previous else summary.added).append(doc_id)
        return DocumentRecord.from_document(doc), chunks

    paths = iter_document_paths(knowledge_dir)
    report("scan", 0, len(paths))
    # In reading order: a document id whose file is unchanged (its chunks come from the
    # live build), or a freshly read record with its chunks.
    entries: list[tuple[str, Path] | tuple[DocumentRecord, list[Chunk]]] = []
    seen_ids: set[str] = set()
    for n, path in enumerate(paths, 1):
        doc_id = document_id(path, knowledge_dir)
        # Ids go into SQLite and JSON, which need valid UTF-8 and unique ids; two files may
        # differ only in how å, ä, ö are encoded (NFC/NFD), which gives both the same id.
        try:
            doc_id.encode("utf-8")
        except UnicodeEncodeError:
            shown = doc_id.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            summary.skipped.append(SkippedFile(shown, "file name is not valid UTF-8: rename it"))
            continue
        if doc_id in seen_ids:
            reason = "another file has the same name (differently encoded): rename one"
            summary.skipped.append(SkippedFile(doc_id, reason))
            continue
        seen_ids.add(doc_id)
        try:
            digest = file_hash(path)
        except OSError as exc:
            summary.skipped.append(SkippedFile(doc_id, f"cannot read file: {exc.strerror}"))
            continue
        if previous.get(doc_id) == digest:
            entries.append((doc_id, path))
        else:
            fresh = read_new(path, doc_id)
            if fresh is not None:
                entries.append(fresh)
        report("read", n, len(paths))
    present = {e[0] if isinstance(e[0], str) else e[0].id for e in entries}
    summary.removed = sorted(set(previous) - present)
    summary.documents = len(entries)

    unchanged = (
        compatible
        and not force
        and not summary.added
        and not summary.updated
        and not summary.removed
        and manifest is not None
        and manifest.get("chunking") == settings.chunk_key()
        and manifest.get("dense_kind_request") == settings.dense_index
        and manifest.get("lexical") == settings.lexical_key()
        and current_build(index_dir) is not None
    )
    if unchanged:
        assert manifest is not None
        summary.changed = False
        summary.chunks = int(manifest.get("chunks", 0))
        summary.reused = summary.chunks
        summary.build = str(manifest.get("build", ""))
        summary.seconds = time.perf_counter() - started
        report("done", 1, 1)
        return summary

    kept = {e[0] for e in entries if isinstance(e[0], str)}
    old = _previous_chunks(index_dir, kept) if kept else {}
    records: list[DocumentRecord] = []
    doc_chunks: list[list[tuple[str | None, Chunk | ChunkRecord]]] = []
    for entry in entries:
        if isinstance(entry[0], DocumentRecord):
            record, chunks = entry  # type: ignore[misc]
            records.append(record)
            doc_chunks.append([(record.title, c) for c in chunks])
            continue
        doc_id, path = entry  # type: ignore[misc]
        reused = old.get(doc_id) if old is not None else None
        if reused is not None:
            records.append(reused[0])
            doc_chunks.append([(reused[0].title, c) for c in reused[1]])
            continue
        # The live build could not give this document back: read it again.
        previous.pop(doc_id, None)
        fresh = read_new(path, doc_id)
        if fresh is not None:
            records.append(fresh[0])
            doc_chunks.append([(fresh[0].title, c) for c in fresh[1]])
    summary.documents = len(records)

    flat: list[tuple[int, DocumentRecord, Chunk | ChunkRecord, str]] = []
    leads: list[str] = []
    for record, items in zip(records, doc_chunks, strict=True):
        for title, chunk in items:
            chunk_view = chunk if isinstance(chunk, Chunk) else _as_chunk(chunk)
            flat.append(
                (len(flat), record, chunk, passage_text(title or "", record.id, chunk_view))
            )
            leads.append(lead_text(title or "", record.id, chunk_view))
    summary.chunks = len(flat)
    texts = [item[3] for item in flat]
    # Every sentence gets a vector too: the answer step picks the sentence that answers,
    # in either language (index/answer.py). Cached by text like the passages.
    sentences = [s for item in flat for s in item[2].sentences]
    total = len(texts) + len(sentences)

    done = 0

    def on_embedded(count: int) -> None:
        nonlocal done
        done += count
        report("embed", done, total)

    report("embed", 0, total)
    cache = EmbeddingCache(index_dir / "embeddings.sqlite")
    try:
        vectors, summary.embedded = embed_with_cache(encoder, texts, cache, progress=on_embedded)
        sentence_vectors, _ = embed_with_cache(encoder, sentences, cache, progress=on_embedded)
    finally:
        cache.close()
    summary.reused = len(texts) - summary.embedded

    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    summary.build = name
    tmp = index_dir / f"tmp-{name}"
    tmp.mkdir(parents=True)
    report("write", 0, 4)
    dense_kind = settings.dense_kind(len(flat))
    _write_dense(tmp / "dense.faiss", vectors, dense_kind, settings)
    report("write", 1, 4)
    BM25Index.build([word_terms(t) for t in texts]).save(tmp, "words")
    n = settings.char_ngram
    # k1/b of the n-gram field measured on the FAQ dev set (benchmarks/tune_fusion.py).
    BM25Index.build([char_terms(t, n) for t in texts], k1=1.5, b=0.5).save(tmp, "chars")
    BM25Index.build([char_terms(t, 4) for t in leads]).save(tmp, "lead")
    # A public question is scored with statistics of public passages only (idf, average
    # length), so an internal document cannot change what the public sees or is told.
    public = [i for i, item in enumerate(flat) if item[1].visibility == "public"]
    BM25Index.build([word_terms(texts[i]) for i in public]).save(tmp, "words.public")
    BM25Index.build([char_terms(texts[i], n) for i in public], k1=1.5, b=0.5).save(
        tmp, "chars.public"
    )
    BM25Index.build([char_terms(leads[i], 4) for i in public]).save(tmp, "lead.public")
    report("write", 2, 4)
    _write_tables(tmp / "chunks.sqlite", records, flat)
    _write_sentence_vectors(tmp, sentence_vectors, [len(item[2].sentences) for item in flat])
    report("write", 3, 4)
    written = [item for item in sorted(tmp.iterdir()) if item.is_file()]
    files = {item.name: item.stat().st_size for item in written}
    checksums = {item.name: file_checksum(item) for item in written}
    new_manifest = {
        "format_version": FORMAT_VERSION,
        "build": name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_id": settings.model_id,
        "model_source": settings.model_source or settings.model_id,
        "dimension": settings.dimension,
        "chunking": settings.chunk_key(),
        "dense_index": dense_kind,
        "dense_kind_request": settings.dense_index,
        "lexical": settings.lexical_key(),
        "hnsw": {
            "m": settings.hnsw_m,
            "ef_construction": settings.hnsw_ef_construction,
            "ef_search": settings.hnsw_ef_search,
        },
        "ivf": {"nlist": settings.nlist(len(flat)), "nprobe": settings.nprobe(len(flat))},
        "documents": {
            r.id: {"content_hash": r.content_hash, "visibility": r.visibility} for r in records
        },
        "chunks": len(flat),
        "skipped": [{"path": s.path, "reason": s.reason} for s in summary.skipped],
        "files": files,
        "checksums": checksums,
    }
    (tmp / "manifest.json").write_text(json.dumps(new_manifest, ensure_ascii=False, indent=1))
    for item in tmp.iterdir():
        _fsync_file(item)
    _fsync_dir(tmp)
    report("write", 4, 4)

    builds = index_dir / "builds"
    builds.mkdir(exist_ok=True)
    final = builds / name
    os.replace(tmp, final)
    _fsync_dir(builds)
    report("swap", 0, 1)
    pointer_tmp = index_dir / "CURRENT.tmp"
    pointer_tmp.write_text(name, encoding="utf-8")
    _fsync_file(pointer_tmp)
    os.replace(pointer_tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)
    report("swap", 1, 1)
    _collect_garbage(index_dir)
    summary.seconds = time.perf_counter() - started
    report("done", 1, 1)
    log.info(
        "index %s: %d documents, %d chunks, %d embedded, %d skipped",
        name,
        summary.documents,
        summary.chunks,
        summary.embedded,
        len(summary.skipped),
    )
    return summary


def _as_chunk(record: ChunkRecord) -> Chunk:
    return Chunk(
        doc_id=record.doc_id,
        ordinal=record.ordinal,
        text=record.text,
        sentences=record.sentences,
        heading=record.heading,
        page=record.page,
    )


def _write_dense(path: Path, vectors: np.ndarray, kind: str, settings: BuildSettings) -> None:
    dimension = settings.dimension
    # This thread may have searched before (one OpenMP thread); training uses every core.
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _search_threads.single = False
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = settings.hnsw_ef_construction
        inner.hnsw.efSearch = settings.hnsw_ef_search
    elif kind == "ivf":
        nlist = settings.nlist(len(vectors))
        quantizer = faiss.IndexFlatIP(dimension)
        inner = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        inner.own_fields = True
        quantizer.this.disown()
        inner.nprobe = settings.nprobe(len(vectors))
        # k-means on an evenly spread sample: enough per list, and a fixed seed so the
        # same vectors always give the same lists.
        sample = vectors
        limit = nlist * IVF_TRAIN_PER_LIST
        if len(vectors) > limit:
            picks = np.random.default_rng(0).choice(len(vectors), limit, replace=False)
            sample = vectors[np.sort(picks)]
        inner.cp.seed = 1234
        inner.cp.niter = 10  # measured: more iterations cost build time, not recall
        inner.train(np.ascontiguousarray(sample, dtype=np.float32))
    else:
        inner = faiss.IndexFlatIP(dimension)
    dense = faiss.IndexIDMap2(inner)
    if len(vectors):
        dense.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
    faiss.write_index(dense, str(path))


def _write_sentence_vectors(folder: Path, vectors: np.ndarray, counts: list[int]) -> None:
    """Write every chunk's sentence vectors (float16) and where each chunk's rows start."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts, dtype=np.int64)
    np.save(folder / "sentences.vectors.npy", np.asarray(vectors, dtype=np.float16))
    np.save(folder / "sentences.offsets.npy", offsets)


def _write_tables(
    path: Path,
    records: list[DocumentRecord],
    flat: list[tuple[int, DocumentRecord, Chunk | ChunkRecord, str]],
) -> None:
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
                    record.id,
                    chunk.ordinal,
                    chunk.text,
                    json.dumps(list(chunk.sentences), ensure_ascii=False),
                    chunk.heading,
                    chunk.page,
                )
                for cid, record, chunk, _ in flat
            ],
        )
        db.execute("CREATE INDEX chunks_doc ON chunks (doc_id)")
        db.commit()
    finally:
        db.close()


def _collect_garbage(index_dir: Path) -> None:
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
