"""Assertions for rankings made of float scores, written to hold on any machine.

A FAISS score is a float32 inner product: a sum over the vector's dimensions. Another CPU,
FAISS build or index kind (flat, IVF, HNSW) may add it up in another order and get a value a
few units in the last place apart (about 1e-7 here), so two chunks that close may come out in
either order. These helpers treat such near-equal scores as ties and compare what is promised:
the same chunks, the same scores within a tolerance, best first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.store import Index

SCORE_TOLERANCE = 1e-5
"""Scores closer than this are a tie: 100 times the difference measured between exact and
HNSW scores of the same chunk (1e-7), and 30 times below the smallest score gap that a test's
expected order relies on (3e-4, between passages in test_dense.py)."""

Ranking = tuple[Sequence[int], Sequence[float]]
"""(ids, scores), best first."""


def assert_ranked_alike(
    expected: Ranking, found: Ranking, tolerance: float = SCORE_TOLERANCE
) -> None:
    """Assert that ``found`` ranks what ``expected`` ranks, in its order up to ties.

    ``expected`` may go on past ``found``'s length, so that a chunk tied with the last
    place can be told from a wrong one. At every place, the score found is the one expected
    there (within ``tolerance``), and so is the expected score of the id found there: it is
    the expected id or one tied with it. Ids are unique, so a tie group that ends within
    ``found`` holds the same ids in both.
    """
    expected_ids, expected_scores = _as_lists(expected)
    found_ids, found_scores = _as_lists(found)
    assert len(found_ids) <= len(expected_ids), "found more than expected"
    assert len(set(found_ids)) == len(found_ids), f"an id found twice: {found_ids}"
    np.testing.assert_allclose(
        found_scores, expected_scores[: len(found_ids)], rtol=0, atol=tolerance
    )
    score_of = dict(zip(expected_ids, expected_scores, strict=True))
    for place, chunk in enumerate(found_ids):
        assert chunk in score_of, f"place {place}: {chunk} is not ranked at all"
        assert abs(score_of[chunk] - expected_scores[place]) <= tolerance, (
            f"place {place}: found {chunk} (expected score {score_of[chunk]:.7f}) where "
            f"{expected_ids[place]} ({expected_scores[place]:.7f}) belongs, and they are no tie"
        )


def recall_at_k(
    exact: Ranking, found_ids: Sequence[int], k: int, tolerance: float = SCORE_TOLERANCE
) -> float:
    """Return the share of exact search's k best that ``found_ids`` holds, ties counted.

    ``exact`` ranks every candidate (or at least all tied with its k-th). An id tied with the
    exact k-th score counts as one of the k best, since either may be returned.
    """
    exact_ids, exact_scores = _as_lists(exact)
    want = min(k, len(exact_ids))
    if want == 0:
        return 1.0
    kth = exact_scores[want - 1]
    best = {i for i, s in zip(exact_ids, exact_scores, strict=True) if s >= kth - tolerance}
    return len(best & set(found_ids[:k])) / want


def assert_finds_what_exact_finds(
    exact: Index,
    approximate: Index,
    query: np.ndarray,
    k: int,
    visibility: str,
    min_recall: float,
    tolerance: float = SCORE_TOLERANCE,
) -> None:
    """Assert what an approximate dense index promises for one query, against exact search.

    Every chunk it finds is one the reader may see, with its exact score (within
    ``tolerance``), best first; and at least ``min_recall`` of exact search's k best, ties
    counted, are among them. The order of tied chunks is free.
    """
    every_score, every_id = exact.search_dense(query, exact.size, visibility)  # all allowed
    score_of = dict(zip(every_id.tolist(), every_score.tolist(), strict=True))
    scores, ids = approximate.search_dense(query, k, visibility)
    ids = ids.tolist()
    assert len(set(ids)) == len(ids), f"an id found twice: {ids}"
    hidden = [i for i in ids if i not in score_of]
    assert not hidden, f"found chunks a {visibility} reader may not see: {hidden}"
    np.testing.assert_allclose(scores, [score_of[i] for i in ids], rtol=0, atol=tolerance)
    assert np.all(np.diff(scores) <= tolerance), f"not best first: {scores}"
    recall = recall_at_k((every_id, every_score), ids, k, tolerance)
    assert recall >= min_recall, f"recall@{k} {recall:.2f} < {min_recall} for {visibility}"


def _as_lists(ranking: Ranking) -> tuple[list[int], list[float]]:
    ids, scores = ranking
    ids, scores = [int(i) for i in ids], [float(s) for s in scores]
    assert len(ids) == len(scores)
    return ids, scores
