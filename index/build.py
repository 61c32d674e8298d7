"""The reindex pipeline: documents -> chunks -> vectors and keyword indexes -> a live build.

One document's way through :func:`build_index`, in the order of the functions below:

1. :func:`_read_folder` lists the folder; a file whose hash matches the live build is
   kept by its id, any other is read and chunked (:func:`_read_new`).
2. :func:`_nothing_changed`: same files, same settings, a whole live build: keep it.
3. :func:`_gather`: a kept document's record and chunks come from the live build.
4. :func:`_passages`: each chunk's indexed text and lead (index/chunking.py).
5. :func:`_embed`: vectors for the passages and their sentences, cached by text.
6. :func:`_write_build`: the dense index, keyword indexes, tables and manifest, in
   ``tmp-<name>``.
7. :func:`_swap`: the build becomes live (index/store.py), old builds are removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import PASSAGE_TEXT_VERSION, Chunk, chunk_document, lead_text, passage_text
from index.dense import dense_kind, nlist, nprobe, write_dense
from index.documents import (
    DocumentError,
    IsolatedReader,
    ParsedUploads,
    ParseLimits,
    SkippedFile,
    document_id,
    file_hash,
    iter_document_paths,
)
from index.embedding import (
    EmbeddingCache,
    EmbeddingCacheError,
    Encoder,
    embed_with_cache,
)
from index.folder_lock import folder_lock
from index.lexical import BM25Index, char_terms, word_terms
from index.settings import ChunkingSettings, DenseSettings, LexicalSettings
from index.store import (
    FORMAT_VERSION,
    ChunkRecord,
    DocumentRecord,
    StoreError,
    collect_garbage,
    current_build,
    live_manifest,
    move_into_builds,
    point_current,
    previous_chunks,
    reindex_lock,
    seal_build,
    write_sentence_vectors,
    write_tables,
)
from index.types import Visibility

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stages: scan, read, embed, write, swap, done."""


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
    default_visibility: Visibility = "internal"
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    lexical: LexicalSettings = field(default_factory=LexicalSettings)
    dense: DenseSettings = field(default_factory=DenseSettings)
    model_source: str = ""  # what the model is and where its weights came from, for people
    # How much work reading one document may take; not part of what a build contains.
    parse_limits: ParseLimits = field(default_factory=ParseLimits, compare=False)

    def lexical_key(self) -> dict[str, Any]:
        """Return the settings that decide the keyword indexes."""
        return {
            "char_ngram": self.lexical.char_ngram,
            "fields": ["words", "chars", "lead"],
            "chars_bm25": [1.5, 0.5],
        }

    def chunk_key(self) -> dict[str, Any]:
        """Return the settings that decide how documents are read and chunked."""
        return {
            "max_chars": self.chunking.max_chars,
            "overlap_sentences": self.chunking.overlap_sentences,
            "default_visibility": self.default_visibility,
            "passage_text": PASSAGE_TEXT_VERSION,
        }


@dataclass(frozen=True)
class Kept:
    """A document whose file is unchanged since the live build: its id and path."""

    doc_id: str
    path: Path


@dataclass(frozen=True)
class Fresh:
    """A document read now: its record and chunks."""

    record: DocumentRecord
    chunks: list[Chunk]


@dataclass(frozen=True)
class Passage:
    """One chunk on its way into the build: its id, document, text to index and lead."""

    id: int
    record: DocumentRecord
    chunk: Chunk | ChunkRecord
    text: str
    lead: str


@dataclass
class _Run:
    """One reindex in progress: its inputs and what it has found so far."""

    knowledge_dir: Path
    index_dir: Path
    settings: BuildSettings
    report: Progress
    started: float
    reader: IsolatedReader
    summary: BuildSummary = field(default_factory=BuildSummary)
    manifest: dict[str, Any] | None = None
    # Each document's content hash in the live build, when its chunks can be reused.
    previous: dict[str, str] = field(default_factory=dict)


def build_index(
    knowledge_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    settings: BuildSettings,
    *,
    progress: Progress | None = None,
    force: bool = False,
    uploads: ParsedUploads | None = None,
) -> BuildSummary:
    """Build or update the index from the knowledge folder and swap it in atomically.

    Only chunks whose text changed are embedded (the rest come from the cache); documents
    whose file hash is unchanged are not even parsed again. With nothing changed, the live
    build stays and the summary says so. ``force`` builds anew even then, embedding every
    passage and sentence again (no cached vector is used; the cache is refreshed). Raises
    IndexLockedError when a reindex is running, StoreError when the embedding cache cannot
    be used (a damaged one is moved aside and remade instead). A file is read under
    ``settings.parse_limits`` in a child process, unless ``uploads`` holds the parse of
    a checked upload with the same bytes (the engine's, :attr:`index.engine.Engine.uploads`).
    """
    index_dir = Path(index_dir)
    with (
        reindex_lock(index_dir),
        IsolatedReader(settings.parse_limits, uploads=uploads) as reader,
    ):
        run = _Run(
            Path(knowledge_dir),
            index_dir,
            settings,
            progress or (lambda stage, done, total: None),
            time.perf_counter(),
            reader,
        )
        return _build_locked(run, encoder, force)


def _build_locked(run: _Run, encoder: Encoder, force: bool) -> BuildSummary:
    """Run the phases of one reindex while holding the lock."""
    collect_garbage(run.index_dir)
    _look_at_live_build(run)
    # Shared with other readers; a change to the folder waits, and is seen whole or not at all.
    with folder_lock(run.knowledge_dir, shared=True):
        entries = _read_folder(run)
    if not force and _nothing_changed(run):
        return _keep_live_build(run)
    records, chunks = _gather(run, entries)
    passages = _passages(records, chunks)
    run.summary.chunks = len(passages)
    vectors, sentence_vectors = _embed(run, encoder, passages, force=force)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    run.summary.build = name
    tmp = run.index_dir / f"tmp-{name}"
    tmp.mkdir(parents=True)
    _write_build(run, tmp, records, passages, vectors, sentence_vectors)
    _swap(run, tmp, name)
    return run.summary


def _look_at_live_build(run: _Run) -> None:
    """Note the live build's manifest and which documents' chunks it can give back.

    Only the manifest is read: with nothing changed, that and the files' hashes are all a
    reindex needs, and the previous chunks are loaded only to rebuild.
    """
    run.manifest = live_manifest(run.index_dir)
    if run.manifest is not None and run.manifest.get("chunking") == run.settings.chunk_key():
        run.previous = {
            doc_id: str(info.get("content_hash"))
            for doc_id, info in run.manifest.get("documents", {}).items()
        }


def _read_folder(run: _Run) -> list[Kept | Fresh]:
    """Return the folder's documents in reading order: unchanged ones by id, others read."""
    summary = run.summary
    paths = iter_document_paths(run.knowledge_dir)
    run.report("scan", 0, len(paths))
    entries: list[Kept | Fresh] = []
    seen_ids: set[str] = set()
    for n, path in enumerate(paths, 1):
        doc_id = _usable_id(run, path, seen_ids)
        if doc_id is None:
            continue
        try:
            digest = file_hash(path)
        except OSError as exc:
            summary.skipped.append(SkippedFile(doc_id, f"cannot read file: {exc.strerror}"))
            continue
        if run.previous.get(doc_id) == digest:
            entries.append(Kept(doc_id, path))
        else:
            fresh = _read_new(run, path, doc_id)
            if fresh is not None:
                entries.append(fresh)
        run.report("read", n, len(paths))
    present = {e.doc_id if isinstance(e, Kept) else e.record.id for e in entries}
    summary.removed = sorted(set(run.previous) - present)
    summary.documents = len(entries)
    return entries


def _usable_id(run: _Run, path: Path, seen_ids: set[str]) -> str | None:
    """Return a file's document id, or None (the file skipped, with why) if it cannot be one.

    Ids go into SQLite and JSON, which need valid UTF-8 and unique ids; two files may
    differ only in how å, ä, ö are encoded (NFC/NFD), which gives both the same id.
    """
    doc_id = document_id(path, run.knowledge_dir)
    try:
        doc_id.encode("utf-8")
    except UnicodeEncodeError:
        shown = doc_id.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        run.summary.skipped.append(SkippedFile(shown, "file name is not valid UTF-8: rename it"))
        return None
    if doc_id in seen_ids:
        reason = "another file has the same name (differently encoded): rename one"
        run.summary.skipped.append(SkippedFile(doc_id, reason))
        return None
    seen_ids.add(doc_id)
    return doc_id


def _read_new(run: _Run, path: Path, doc_id: str) -> Fresh | None:
    """Return a document read and chunked, or None (skipped, with the reason) if it cannot be.

    Every file of the folder may come from an upload, a fetched page or a synced share:
    it is parsed and cut into sentences in the reader's child process, within the time
    budget (``documents.parse_seconds`` per document), never in this one.
    """
    settings, summary = run.settings, run.summary
    try:
        doc = run.reader.read(path, run.knowledge_dir, settings.default_visibility)
    except DocumentError as exc:
        log.info("skipped %s: %s", doc_id, exc)  # the summary reports it, once
        summary.skipped.append(SkippedFile(doc_id, str(exc)))
        return None
    chunks = chunk_document(doc, settings.chunking.max_chars, settings.chunking.overlap_sentences)
    if not chunks:
        summary.skipped.append(SkippedFile(doc_id, "no text to index"))
        return None
    (summary.updated if doc_id in run.previous else summary.added).append(doc_id)
    return Fresh(DocumentRecord.from_document(doc), chunks)


def _nothing_changed(run: _Run) -> bool:
    """Return whether the live build already holds exactly these documents, made alike."""
    manifest, settings, summary = run.manifest, run.settings, run.summary
    return (
        manifest is not None
        and manifest.get("model_id") == settings.model_id
        and manifest.get("dimension") == settings.dimension
        and not summary.added
        and not summary.updated
        and not summary.removed
        and manifest.get("chunking") == settings.chunk_key()
        and manifest.get("dense_kind_request") == settings.dense.dense_index
        and manifest.get("lexical") == settings.lexical_key()
        and current_build(run.index_dir) is not None
    )


def _keep_live_build(run: _Run) -> BuildSummary:
    """Return the summary of a reindex that found nothing to do."""
    assert run.manifest is not None
    summary = run.summary
    summary.changed = False
    summary.chunks = int(run.manifest.get("chunks", 0))
    summary.reused = summary.chunks
    summary.build = str(run.manifest.get("build", ""))
    summary.seconds = time.perf_counter() - run.started
    run.report("done", 1, 1)
    return summary


def _gather(
    run: _Run, entries: list[Kept | Fresh]
) -> tuple[list[DocumentRecord], list[list[Chunk | ChunkRecord]]]:
    """Return every document's record and chunks: kept ones from the live build, if it can."""
    kept = {e.doc_id for e in entries if isinstance(e, Kept)}
    old = previous_chunks(run.index_dir, kept) if kept else {}
    records: list[DocumentRecord] = []
    chunks: list[list[Chunk | ChunkRecord]] = []
    for entry in entries:
        if isinstance(entry, Fresh):
            records.append(entry.record)
            chunks.append(list(entry.chunks))
            continue
        doc_id, path = entry.doc_id, entry.path
        reused = old.get(doc_id) if old is not None else None
        if reused is not None:
            records.append(reused[0])
            chunks.append(list(reused[1]))
            continue
        # The live build could not give this document back: read it again.
        run.previous.pop(doc_id, None)
        read = _read_new(run, path, doc_id)
        if read is not None:
            records.append(read.record)
            chunks.append(list(read.chunks))
    run.summary.documents = len(records)
    return records, chunks


def _passages(
    records: list[DocumentRecord], chunks: list[list[Chunk | ChunkRecord]]
) -> list[Passage]:
    """Return every chunk numbered in order, with the text that is indexed and its lead."""
    passages: list[Passage] = []
    for record, items in zip(records, chunks, strict=True):
        title = record.title or ""
        for chunk in items:
            view = chunk if isinstance(chunk, Chunk) else chunk.as_chunk()
            passages.append(
                Passage(
                    len(passages),
                    record,
                    chunk,
                    passage_text(title, record.id, view),
                    lead_text(title, record.id, view),
                )
            )
    return passages


def _embed(
    run: _Run, encoder: Encoder, passages: list[Passage], *, force: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return the passages' vectors and their sentences' vectors; the cache saves the rest.

    Every sentence gets a vector too: the answer step picks the sentence that answers, in
    either language (index/answer.py). ``force`` embeds everything again and refreshes the
    cache. A damaged cache is moved aside and remade (index/embedding/cache.py); a cache
    that cannot be used at all is a StoreError.
    """
    texts = [p.text for p in passages]
    sentences = [s for p in passages for s in p.chunk.sentences]
    # The encoder counts texts (a passage and each of its sentences); progress speaks in
    # passages, the unit of the summary, each weighed by its share of the texts.
    work = len(texts) + len(sentences)
    done = 0

    def on_embedded(count: int) -> None:
        nonlocal done
        done += count
        run.report("embed", done * len(texts) // max(work, 1), len(texts))

    run.report("embed", 0, len(texts))
    # Passages and sentences in one pool, longest first: each model call then holds texts
    # of about one length, so it pads less than passages and sentences apart (8 % fewer
    # padded tokens on the FAQ knowledge base, docs/PERFORMANCE.md). A text that is both
    # (a one-sentence chunk without context) is encoded once.
    pool = texts + sentences
    order = np.argsort([-len(t) for t in pool], kind="stable")
    counting = _CountingEncoder(encoder, set(texts))
    try:
        cache = EmbeddingCache(run.index_dir / "embeddings.sqlite")
        try:
            pooled, _ = embed_with_cache(
                counting,
                [pool[i] for i in order],
                cache,
                progress=on_embedded,
                reuse=not force,
            )
        finally:
            cache.close()
    except EmbeddingCacheError as exc:
        raise StoreError(str(exc)) from exc
    every = np.empty_like(pooled)
    every[order] = pooled
    run.summary.embedded = counting.passages
    run.summary.reused = len(texts) - run.summary.embedded
    return every[: len(texts)], every[len(texts) :]


class _CountingEncoder:
    """An encoder that counts the distinct passages (among any texts) it is asked to encode."""

    def __init__(self, inner: Encoder, passages: set[str]) -> None:
        self.inner = inner
        self._passages = passages
        self.passages = 0

    @property
    def model_id(self) -> str:
        """Return the inner encoder's model id."""
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        """Return the inner encoder's dimension."""
        return self.inner.dimension

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return the inner encoder's passage vectors, counting the passages among texts."""
        self.passages += sum(1 for t in set(texts) if t in self._passages)
        return self.inner.encode_documents(texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return the inner encoder's question vectors."""
        return self.inner.encode_queries(texts)


def _write_build(
    run: _Run,
    tmp: Path,
    records: list[DocumentRecord],
    passages: list[Passage],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray,
) -> None:
    """Write every file of the new build into tmp, then its manifest, all fsynced."""
    settings = run.settings
    run.report("write", 0, 4)
    kind = dense_kind(settings.dense, len(passages))
    write_dense(tmp / "dense.faiss", vectors, kind, settings.dimension, settings.dense)
    run.report("write", 1, 4)
    _write_keyword_indexes(tmp, passages, settings.lexical.char_ngram)
    run.report("write", 2, 4)
    write_tables(tmp / "chunks.sqlite", records, [(p.id, p.record.id, p.chunk) for p in passages])
    write_sentence_vectors(tmp, sentence_vectors, [len(p.chunk.sentences) for p in passages])
    run.report("write", 3, 4)
    seal_build(tmp, _manifest(run, records, len(passages), kind))
    run.report("write", 4, 4)


def _write_keyword_indexes(tmp: Path, passages: list[Passage], char_ngram: int) -> None:
    """Write the words, chars and lead fields, for every reader and for the public alone."""
    texts = [p.text for p in passages]
    leads = [p.lead for p in passages]
    BM25Index.build([word_terms(t) for t in texts]).save(tmp, "words")
    n = char_ngram
    # k1/b of the n-gram field measured on the FAQ dev set (benchmarks/tune_fusion.py).
    BM25Index.build([char_terms(t, n) for t in texts], k1=1.5, b=0.5).save(tmp, "chars")
    BM25Index.build([char_terms(t, 4) for t in leads]).save(tmp, "lead")
    # A public question is scored with statistics of public passages only (idf, average
    # length), so an internal document cannot change what the public sees or is told.
    public = [i for i, p in enumerate(passages) if p.record.visibility == "public"]
    BM25Index.build([word_terms(texts[i]) for i in public]).save(tmp, "words.public")
    BM25Index.build([char_terms(texts[i], n) for i in public], k1=1.5, b=0.5).save(
        tmp, "chars.public"
    )
    BM25Index.build([char_terms(leads[i], 4) for i in public]).save(tmp, "lead.public")


def _manifest(run: _Run, records: list[DocumentRecord], chunks: int, kind: str) -> dict[str, Any]:
    """Return what the new build is and how it was made (its files are added when sealed)."""
    settings, dense = run.settings, run.settings.dense
    return {
        "format_version": FORMAT_VERSION,
        "build": run.summary.build,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_id": settings.model_id,
        "model_source": settings.model_source or settings.model_id,
        "dimension": settings.dimension,
        "chunking": settings.chunk_key(),
        "dense_index": kind,
        "dense_kind_request": dense.dense_index,
        "lexical": settings.lexical_key(),
        "hnsw": {
            "m": dense.hnsw_m,
            "ef_construction": dense.hnsw_ef_construction,
            "ef_search": dense.hnsw_ef_search,
        },
        "ivf": {"nlist": nlist(dense, chunks), "nprobe": nprobe(dense, chunks)},
        "documents": {
            r.id: {"content_hash": r.content_hash, "visibility": r.visibility} for r in records
        },
        "chunks": chunks,
        "skipped": [{"path": s.path, "reason": s.reason} for s in run.summary.skipped],
    }


def _swap(run: _Run, tmp: Path, name: str) -> None:
    """Make the new build live, remove old ones, and report what the reindex did."""
    move_into_builds(run.index_dir, tmp, name)
    run.report("swap", 0, 1)
    point_current(run.index_dir, name)
    run.report("swap", 1, 1)
    collect_garbage(run.index_dir)
    summary = run.summary
    summary.seconds = time.perf_counter() - run.started
    run.report("done", 1, 1)
    log.info(
        "index %s: %d documents, %d chunks, %d embedded, %d skipped",
        name,
        summary.documents,
        summary.chunks,
        summary.embedded,
        len(summary.skipped),
    )
