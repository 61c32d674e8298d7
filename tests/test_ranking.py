"""The ranking assertions accept ties in any order and nothing else."""

from __future__ import annotations

import pytest

from tests.ranking import assert_ranked_alike, recall_at_k

# Chunk 2 and 3 tie (a float32 rounding apart); so do 5 and 6, across place 4.
EXACT = ([1, 2, 3, 4, 5, 6, 7], [0.9, 0.8000001, 0.8, 0.7, 0.6, 0.6000001, 0.5])


@pytest.mark.parametrize(
    "found",
    [
        ([1, 2, 3, 4, 5], [0.9, 0.8000001, 0.8, 0.7, 0.6]),
        ([1, 3, 2, 4, 5], [0.9, 0.8000001, 0.8, 0.7, 0.6]),  # a tie in the other order
        ([1, 2, 3, 4, 6], [0.9, 0.8, 0.8, 0.7, 0.6000001]),  # the other one of a tie at the end
        ([1, 2, 3], [0.9, 0.8000002, 0.7999999]),  # scores within the tolerance
    ],
)
def test_a_ranking_equal_up_to_ties_is_alike(found):
    assert_ranked_alike(EXACT, found)


@pytest.mark.parametrize(
    "found",
    [
        ([2, 1, 3], [0.9, 0.8, 0.8]),  # a swap of two that are no tie
        ([1, 2, 4], [0.9, 0.8, 0.7]),  # a place left out
        ([1, 2, 9], [0.9, 0.8, 0.8]),  # a chunk exact search does not rank
        ([1, 2, 2], [0.9, 0.8, 0.8]),  # one chunk twice
        ([1, 2, 3], [0.9, 0.8, 0.79]),  # a score off by more than the tolerance
    ],
)
def test_a_ranking_that_differs_beyond_ties_is_not_alike(found):
    with pytest.raises(AssertionError):
        assert_ranked_alike(EXACT, found)


@pytest.mark.parametrize(
    ("found", "k", "recall"),
    [
        ([1, 2, 3, 4, 5], 5, 1.0),
        ([5, 4, 3, 2, 1], 5, 1.0),  # recall is about the set, not the order
        ([1, 2, 3, 4, 6], 5, 1.0),  # 6 ties with the fifth best
        ([1, 2, 3, 4, 7], 5, 0.8),
        ([1, 2, 3], 5, 0.6),
        ([7], 1, 0.0),
        ([1, 2, 3, 4, 5, 6, 7], 10, 1.0),  # k beyond what there is to find
    ],
)
def test_recall_counts_the_exact_best_found_with_ties(found, k, recall):
    assert recall_at_k(EXACT, found, k) == pytest.approx(recall)
