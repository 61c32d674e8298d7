"""Hybrid search: visibility inside each retriever, and the fusion of their scores."""

from __future__ import annotations

import numpy as np
import pytest

from index.search import _fuse_weighted, hybrid_search


def test_public_search_never_ranks_an_internal_chunk_even_when_it_is_the_only_match(engine):
    index = engine.index
    query = "Blåklocka kodordet budget"
    vector = engine.encoder.encode_queries([query])[0]
    internal = hybrid_search(index, query, vector, visibility="internal", top_k=10)
    assert internal.hits[0].doc_id == "intern/budget.md"
    public = hybrid_search(index, query, vector, visibility="public", top_k=50)
    assert all(index.documents[h.doc_id].visibility == "public" for h in public.hits)
    for retriever in ("dense", "words", "chars", "lead", "keyword"):
        hits = hybrid_search(index, query, vector, visibility="public", retriever=retriever).hits
        assert "intern/budget.md" not in {h.doc_id for h in hits}, retriever


def reference_fusion(signals, weights):
    """The fusion as it was written before: one candidate at a time, in Python floats."""
    fused: dict[int, float] = {}
    for name, (ids, scores) in signals.items():
        values = {int(i): float(s) for i, s in zip(ids, scores, strict=True)}
        if not values:
            continue
        top = max(values.values())
        normalised = (
            {k: 0.0 for k in values}
            if top <= 0
            else {k: max(v, 0.0) / top for k, v in values.items()}
        )
        for cid, value in normalised.items():
            fused[cid] = fused.get(cid, 0.0) + weights[name] * value
    return fused


@pytest.mark.parametrize("seed", range(12))
def test_array_fusion_gives_exactly_the_scores_of_the_one_by_one_fusion(seed):
    rng = np.random.default_rng(seed)
    pool = rng.choice(5000, size=900, replace=False)
    signals = {}
    for name in ("dense", "words", "chars", "lead"):
        size = int(rng.integers(0, 300))
        ids = rng.choice(pool, size=size, replace=False).astype(np.int64)
        scores = rng.normal(0.3, 0.4, size).astype(np.float32)
        if seed % 4 == 0 and name == "words":
            scores = -np.abs(scores)  # a signal with nothing positive
        signals[name] = (ids, scores)
    weights = {"dense": 0.3, "words": 0.1, "chars": 0.2, "lead": 0.2}

    ids, fused, raw = _fuse_weighted(signals, weights)

    expected = reference_fusion(signals, weights)
    assert sorted(expected) == ids.tolist()
    assert {int(i): float(f) for i, f in zip(ids, fused, strict=True)} == expected
    dense = dict(zip(signals["dense"][0].tolist(), signals["dense"][1].tolist(), strict=True))
    assert [float(v) for v in raw["dense"]] == [dense.get(int(i), 0.0) for i in ids]
