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
from index.settings import FusionSettings
from index.store import Index
from index.types import Visibility

Retriever = Literal["hybrid", "dense", "words", "chars", "lead", "keyword"]


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


Signal = tuple[np.ndarray, np.ndarray]
"""One retriever's candidates: (chunk ids, raw scores), best first, ids unique."""

_EMPTY: Signal = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


def _fuse_weighted(
    signals: dict[str, Signal], weights: dict[str, float], minmax: frozenset[str] = frozenset()
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Return (ids, fused scores, raw score per signal) over the union of all candidates.

    Each signal's scores are scaled by its best one (negative scores count as 0), or for
    the signals in ``minmax`` between its lowest and best candidate, and summed with its
    weight, in the order of ``signals``, in float64.
    """
    names = list(signals)
    ids, inverse = np.unique(
        np.concatenate([signals[name][0] for name in names]), return_inverse=True
    )
    fused = np.zeros(len(ids), dtype=np.float64)
    raw: dict[str, np.ndarray] = {}
    start = 0
    for name in names:
        values = signals[name][1].astype(np.float64)
        where = inverse[start : start + len(values)]
        start += len(values)
        raw[name] = np.zeros(len(ids), dtype=np.float64)
        raw[name][where] = values
        if not len(values):
            continue
        top = values.max()
        if name in minmax:
            low = values.min()
            spread = top - low
            scaled = (values - low) / spread if spread > 0 else np.ones_like(values)
        else:
            scaled = np.zeros_like(values) if top <= 0 else np.maximum(values, 0.0) / top
        fused[where] += weights[name] * scaled
    return ids, fused, raw


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
    dense = words = chars = lead = _EMPTY

    if retriever in ("hybrid", "dense") and query_vector is not None:
        t = time.perf_counter()
        scores, ids = index.search_dense(query_vector, n, visibility)
        dense = (ids.astype(np.int64), scores)
        timings["dense"] = (time.perf_counter() - t) * 1000

    t = time.perf_counter()
    # A field with no weight in the hybrid costs nothing (words: 0 by default, measured).
    if retriever in ("words", "keyword") or (retriever == "hybrid" and fusion.words > 0):
        scores = index.keyword_scores("words", word_terms(query), visibility)
        words = _keyword(scores, mask, n)
    if retriever in ("chars", "keyword") or (retriever == "hybrid" and fusion.chars > 0):
        scores = index.keyword_scores("chars", char_terms(query, index.char_ngram), visibility)
        chars = _keyword(scores, mask, n)
    if retriever in ("lead", "keyword") or (retriever == "hybrid" and fusion.lead > 0):
        lead = _keyword(index.keyword_scores("lead", char_terms(query, 4), visibility), mask, n)
    timings["keyword"] = (time.perf_counter() - t) * 1000

    weights = {
        "dense": fusion.dense,
        "words": fusion.words,
        "chars": fusion.chars,
        "lead": fusion.lead,
    }
    if retriever == "keyword":
        weights = {"dense": 0.0, "words": 1.0, "chars": 1.0, "lead": 1.0}
    elif retriever != "hybrid":
        weights = {name: float(name == retriever) for name in weights}
    signals = {"dense": dense, "words": words, "chars": chars, "lead": lead}
    if fusion.method == "rrf":
        return SearchResult(
            hits=_fuse_rrf(index, signals, weights, fusion, top_k), timings_ms=timings
        )
    minmax = frozenset({"dense"}) if fusion.dense_norm == "minmax" else frozenset()
    ids, fused, raw = _fuse_weighted(signals, weights, minmax)
    order = np.lexsort((ids, -fused))[:top_k]
    order = order[fused[order] > 0]
    hits = [
        Hit(
            chunk_id=int(ids[i]),
            doc_id=index.chunk_doc_ids[int(ids[i])],
            score=float(fused[i]),
            dense=float(raw["dense"][i]),
            words=float(raw["words"][i]),
            chars=float(raw["chars"][i]),
            lead=float(raw["lead"][i]),
        )
        for i in order
    ]
    return SearchResult(hits=hits, timings_ms=timings)


def _keyword(scores: np.ndarray, mask: np.ndarray | None, n: int) -> Signal:
    """Return a keyword retriever's n best allowed candidates."""
    if mask is not None:
        scores = np.where(mask, scores, 0.0)
    best = _top(scores, n)
    return best.astype(np.int64), scores[best]


def _fuse_rrf(
    index: Index,
    signals: dict[str, Signal],
    weights: dict[str, float],
    fusion: FusionSettings,
    top_k: int,
) -> list[Hit]:
    """Return hits ranked by weighted reciprocal rank fusion."""
    as_dicts = {
        name: {int(i): float(s) for i, s in zip(ids, scores, strict=True)}
        for name, (ids, scores) in signals.items()
    }
    fused: dict[int, float] = {}
    for name, values in as_dicts.items():
        ranked = sorted(values, key=values.__getitem__, reverse=True)
        for rank, cid in enumerate(ranked):
            fused[cid] = fused.get(cid, 0.0) + weights[name] / (fusion.rrf_k + rank + 1)
    ranked_ids = sorted(fused, key=lambda cid: (-fused[cid], cid))[:top_k]
    return [
        Hit(
            chunk_id=cid,
            doc_id=index.chunk_doc_ids[cid],
            score=fused[cid],
            dense=as_dicts["dense"].get(cid, 0.0),
            words=as_dicts["words"].get(cid, 0.0),
            chars=as_dicts["chars"].get(cid, 0.0),
            lead=as_dicts["lead"].get(cid, 0.0),
        )
        for cid in ranked_ids
        if fused[cid] > 0
    ]


def rank_documents(hits: list[Hit]) -> list[tuple[str, float]]:
    """Return documents in order of their best passage, with that passage's score."""
    best: dict[str, float] = {}
    for hit in hits:
        if hit.doc_id not in best:
            best[hit.doc_id] = hit.score
    return list(best.items())
