"""Hybrid search: dense FAISS + BM25 on stems + BM25 on character n-grams, fused.

Visibility is applied inside each retriever (a FAISS ID selector, masked keyword scores),
so a chunk the reader may not see never takes part in ranking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from index.lexical import char_terms, word_terms
from index.store import Index

Visibility = Literal["public", "internal"]
Retriever = Literal["hybrid", "dense", "words", "chars", "lead", "keyword"]


@dataclass(frozen=True)
class FusionSettings:
    """How retriever scores are combined (see config ``search``)."""

    method: Literal["weighted", "rrf"] = "weighted"
    dense: float = 0.3
    words: float = 0.1
    chars: float = 0.2
    lead: float = 0.2
    rrf_k: int = 60
    candidates: int = 300


@dataclass(frozen=True)
class Hit:
    """One ranked passage with the scores that placed it."""

    chunk_id: int
    doc_id: str
    score: float
    dense: float = 0.0
    words: float = 0.0
    chars: float = 0.0
    lead: float = 0.0


@dataclass
class SearchResult:
    """Ranked hits plus the raw evidence the answer step calibrates on."""

    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Return indices of the k largest positive scores, best first."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        part = np.argpartition(-scores[positive], k - 1)[:k]
        positive = positive[part]
    return positive[np.argsort(-scores[positive], kind="stable")]


def _normalise(values: dict[int, float]) -> dict[int, float]:
    """Scale scores by the best one so each retriever contributes on [0, 1]."""
    if not values:
        return {}
    top = max(values.values())
    if top <= 0:
        return {k: 0.0 for k in values}
    return {k: max(v, 0.0) / top for k, v in values.items()}


def hybrid_search(
    index: Index,
    query: str,
    query_vector: np.ndarray | None,
    *,
    visibility: Visibility,
    top_k: int = 10,
    fusion: FusionSettings | None = None,
    retriever: Retriever = "hybrid",
) -> SearchResult:
    """Return the top passages for a question, restricted to what the reader may see.

    ``query_vector`` is the normalised question embedding (needed unless the retriever is
    keyword-only). ``retriever`` picks one signal alone, for evaluation.
    """
    fusion = fusion or FusionSettings()
    timings: dict[str, float] = {}
    n = fusion.candidates
    mask = index.allowed_mask(visibility)
    dense: dict[int, float] = {}
    words: dict[int, float] = {}
    chars: dict[int, float] = {}
    lead: dict[int, float] = {}

    if retriever in ("hybrid", "dense") and query_vector is not None:
        t = time.perf_counter()
        scores, ids = index.search_dense(query_vector, n, visibility)
        dense = {int(i): float(s) for i, s in zip(ids, scores, strict=True)}
        timings["dense"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    if retriever in ("hybrid", "words", "keyword"):
        w = index.words.scores(word_terms(query))
        if mask is not None:
            w = np.where(mask, w, 0.0)
        words = {int(i): float(w[i]) for i in _top(w, n)}
    if retriever in ("hybrid", "chars", "keyword"):
        c = index.chars.scores(char_terms(query, index.char_ngram))
        if mask is not None:
            c = np.where(mask, c, 0.0)
        chars = {int(i): float(c[i]) for i in _top(c, n)}
    if retriever in ("hybrid", "lead", "keyword"):
        g = index.lead.scores(char_terms(query, 4))
        if mask is not None:
            g = np.where(mask, g, 0.0)
        lead = {int(i): float(g[i]) for i in _top(g, n)}
    timings["keyword"] = (time.perf_counter() - t) * 1000

    weights = {
        "dense": fusion.dense,
        "words": fusion.words,
        "chars": fusion.chars,
        "lead": fusion.lead,
    }
    if retriever == "keyword":
        weights["dense"] = 0.0
    elif retriever != "hybrid":
        weights = {name: float(name == retriever) for name in weights}
    signals = {"dense": dense, "words": words, "chars": chars, "lead": lead}
    fused: dict[int, float] = {}
    if fusion.method == "rrf":
        for name, values in signals.items():
            ranked = sorted(values, key=values.__getitem__, reverse=True)
            for rank, cid in enumerate(ranked):
                fused[cid] = fused.get(cid, 0.0) + weights[name] / (fusion.rrf_k + rank + 1)
    else:
        for name, values in signals.items():
            for cid, value in _normalise(values).items():
                fused[cid] = fused.get(cid, 0.0) + weights[name] * value
    ranked_ids = sorted(fused, key=lambda cid: (-fused[cid], cid))[:top_k]
    hits = [
        Hit(
            chunk_id=cid,
            doc_id=index.chunk_doc_ids[cid],
            score=fused[cid],
            dense=dense.get(cid, 0.0),
            words=words.get(cid, 0.0),
            chars=chars.get(cid, 0.0),
            lead=lead.get(cid, 0.0),
        )
        for cid in ranked_ids
        if fused[cid] > 0
    ]
    return SearchResult(hits=hits, timings_ms=timings)


def rank_documents(hits: list[Hit]) -> list[tuple[str, float]]:
    """Return documents in order of their best passage, with that passage's score."""
    best: dict[str, float] = {}
    for hit in hits:
        if hit.doc_id not in best:
            best[hit.doc_id] = hit.score
    return list(best.items())
