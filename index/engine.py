"""The engine facade: one object that indexes, searches and answers, safe to share between threads.

The live index is swapped as a whole after a reindex, so questions in flight finish on
the index they started with and the next one sees the new build.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.answer import Answer, Phrases, QuestionError, build_answer, clean_question
from index.batching import BatchingEncoder
from index.build import BuildSettings, BuildSummary, Progress, build_index
from index.documents import ParsedUploads, SkippedFile
from index.embedding import Encoder
from index.search import Hit, Retriever, SearchResult, hybrid_search
from index.selection import question_shape
from index.settings import EngineSettings
from index.smalltalk import small_talk
from index.store import Index, current_build, index_status, load_index
from index.summary import build_summary
from index.types import Language, Visibility

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retrieved:
    """A question made ready for the answer step: cleaned, encoded and searched."""

    text: str  # the question without mentions
    language: Language
    context: str | None  # the cleaned earlier question of a follow-up
    vector: np.ndarray
    hits: list[Hit]
    timings_ms: dict[str, float]


class Engine:
    """Indexes the knowledge folder and answers questions from the live index."""

    def __init__(
        self,
        settings: EngineSettings,
        encoder: Encoder,
        phrases: dict[Language, Phrases] | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        # The words around the quotes, by language: the bot's catalogues (bot/locales).
        self.phrases = phrases or {}
        # Questions asked at the same time share one encoder call (index/batching.py).
        self._queries: Encoder = encoder
        if settings.model.query_batch_max > 1:
            self._queries = BatchingEncoder(
                encoder,
                window_s=settings.model.query_batch_window_ms / 1000,
                max_batch=settings.model.query_batch_max,
            )
            # An engine that is dropped without close() still stops its worker thread.
            weakref.finalize(self, self._queries.close, 0.0)
        self._index: Index | None = None
        self._index_build: Path | None = None
        self._load_lock = threading.Lock()
        # Parses of checked uploads (/kb add): the next reindex takes them, not the files.
        self.uploads = ParsedUploads()

    # -- index lifecycle -------------------------------------------------------------

    def build_settings(self) -> BuildSettings:
        """Return the settings a build is made with (loads the model for its id)."""
        s = self.settings
        return BuildSettings(
            model_id=self.encoder.model_id,
            model_source=str(getattr(self.encoder, "source", "") or self.encoder.model_id),
            dimension=self.encoder.dimension,
            default_visibility=s.default_visibility,
            chunking=s.chunking,
            lexical=s.lexical,
            dense=s.dense,
            parse_limits=s.documents,
        )

    def reindex(self, progress: Progress | None = None, *, force: bool = False) -> BuildSummary:
        """Build or update the index, then answer from the new build; raise if one is running."""
        summary = build_index(
            self.settings.knowledge_dir,
            self.settings.index_dir,
            self.encoder,
            self.build_settings(),
            progress=progress,
            force=force,
            uploads=self.uploads,
        )
        self.reload()
        return summary

    def has_index(self) -> bool:
        """Return whether a built index exists."""
        return current_build(self.settings.index_dir) is not None

    def reload(self) -> Index:
        """Load the live build if it is not the one in memory; return the index in use."""
        with self._load_lock:
            folder = current_build(self.settings.index_dir)
            if self._index is not None and folder == self._index_build:
                return self._index
            index = load_index(self.settings.index_dir, self.encoder)
            old, self._index, self._index_build = self._index, index, index.folder
            if old is not None:
                log.info("now answering from build %s", index.folder.name)
            # The old index may still serve a question in flight; let GC close it.
            return index

    @property
    def index(self) -> Index:
        """Return the index in use, loading it on first use."""
        current = self._index
        return current if current is not None else self.reload()

    def close(self) -> None:
        """Stop the question encoder's worker; questions asked afterwards raise."""
        if isinstance(self._queries, BatchingEncoder):
            self._queries.close()

    def status(self) -> dict[str, Any]:
        """Return what is indexed, with which model, when and how big."""
        return index_status(self.settings.index_dir)

    # -- questions -------------------------------------------------------------------

    def search(
        self,
        question: str,
        *,
        visibility: Visibility,
        retriever: Retriever = "hybrid",
        top_k: int | None = None,
    ) -> SearchResult:
        """Return ranked passages for a question (no answer extraction)."""
        index = self.index
        vector = None
        t = time.perf_counter()
        if retriever in ("hybrid", "dense"):
            vector = self._queries.encode_queries([question])[0]
        encode_ms = (time.perf_counter() - t) * 1000
        result = hybrid_search(
            index,
            question,
            vector,
            visibility=visibility,
            top_k=top_k or self.settings.search.top_k,
            fusion=self.settings.search.fusion,
            retriever=retriever,
        )
        result.timings_ms["encode"] = encode_ms
        return result

    def retrieve(
        self,
        question: str,
        *,
        visibility: Visibility,
        context: str | None = None,
        language_hint: Language | None = None,
    ) -> Retrieved:
        """Return what an answer is built from: the cleaned question, its vector, the hits.

        ``context`` is an earlier question of the same conversation: it widens the search
        for a follow-up such as "Och när startade det?". Raise QuestionError if unfit.
        """
        limit = self.settings.answer.max_question_chars
        text, language = clean_question(question, limit, language_hint)
        query, context_text = text, None
        if context:
            context_text, _ = clean_question(context[:limit], 10**6)
            query = f"{context_text} {text}"
        t = time.perf_counter()
        vector = self._queries.encode_queries([query])[0]
        encode_ms = (time.perf_counter() - t) * 1000
        result = hybrid_search(
            self.index,
            query,
            vector,
            visibility=visibility,
            top_k=self.settings.search.top_k,
            fusion=self.settings.search.fusion,
        )
        timings = {"encode": encode_ms, "search": sum(result.timings_ms.values())}
        return Retrieved(text, language, context_text, vector, result.hits, timings)

    def ask(
        self,
        question: str,
        *,
        visibility: Visibility,
        context: str | None = None,
        language: Language | None = None,
        language_hint: Language | None = None,
    ) -> Answer:
        """Return a cited extractive answer, or an abstention; raise QuestionError if unfit.

        ``context`` is an earlier question of the same conversation: it widens the search
        for a follow-up such as "Och när startade det?". A request for a summary
        ("Sammanfatta …", "Vad handlar … om?") gets the best-matching document's lead and
        its most central sentences.
        """
        started = time.perf_counter()
        text, _ = clean_question(question, self.settings.answer.max_question_chars, language_hint)
        if (talk := small_talk(text)) is not None:
            said = self.phrases.get(language or talk.language) or Phrases()
            reply = getattr(said, f"small_talk_{talk.kind}")
            return Answer(
                text, False, reply, [], [], language or talk.language, 0.0, kind="small_talk"
            )
        found = self.retrieve(
            question, visibility=visibility, context=context, language_hint=language_hint
        )
        language = language or found.language
        settings = self.settings.answer
        index = self.index
        t = time.perf_counter()
        phrases = self.phrases.get(language)
        if question_shape(found.text).summary and not context:
            answer = build_summary(
                index, found.text, language, found.hits, visibility=visibility, phrases=phrases
            )
        else:
            answer = build_answer(
                index,
                found.text,
                language,
                found.hits,
                settings=settings,
                context=found.context,
                query_vector=found.vector,
                visibility=visibility,
                phrases=phrases,
            )
        answer.timings_ms = {
            **found.timings_ms,
            "answer": (time.perf_counter() - t) * 1000,
            "total": (time.perf_counter() - started) * 1000,
        }
        return answer

    # -- what is indexed -------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Return the documents of the index in use, each with its chunk count.

        Raises StoreError (IndexMissingError, IndexIncompatibleError) when there is no
        index to load.
        """
        index = self.index
        chunks = Counter(index.chunk_doc_ids)
        return [
            DocumentInfo(d.id, d.title, d.visibility, chunks[d.id], d.topics)
            for d in index.documents.values()
        ]

    def skipped_files(self) -> list[SkippedFile]:
        """Return the files the index in use was built without, each with the reason."""
        return [
            SkippedFile(str(s.get("path")), str(s.get("reason")))
            for s in self.index.manifest.get("skipped", [])
            if isinstance(s, dict)
        ]


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document: its id (path under the knowledge folder) and what it holds."""

    doc_id: str
    title: str
    visibility: Visibility
    chunks: int
    topics: tuple[str, ...] = ()


__all__ = [
    "Answer",
    "DocumentInfo",
    "Engine",
    "EngineSettings",
    "Phrases",
    "QuestionError",
    "SkippedFile",
]
