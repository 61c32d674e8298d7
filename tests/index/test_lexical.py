"""Keyword indexes: Swedish stems, character n-grams, BM25 scores and idf, the older format."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from index.lexical import BM25Index, char_terms, word_terms
from tests.conftest import FakeEncoder
from tests.index.builds import make_engine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Samarbetet startade i Almedalen", ["samarbet", "start", "almedal"]),
        ("och det att i en", []),  # stopwords only
        ("Flyktingpolitik och integration", ["flyktingpolitik", "integration"]),
        ("What is the plan?", ["plan"]),  # English function words are stopwords too
    ],
)
def test_word_terms_are_swedish_stems_without_stopwords(text, expected):
    assert word_terms(text) == expected


def test_char_ngrams_let_a_compound_match_its_parts():
    compound = set(char_terms("flyktingpolitik", 3))
    assert set(char_terms("politik", 3)) - {"_po"} <= compound
    assert set(char_terms("flykting", 3)) - {"ng_"} <= compound


def test_an_index_in_the_older_npz_format_still_loads_with_the_same_scores(tmp_path, knowledge):
    engine = make_engine(knowledge, tmp_path / "index", FakeEncoder())
    folder = engine.index.folder
    query = char_terms("Sommarskolan i Borlänge", 3)
    before = engine.index.chars.scores(query)
    weights = engine.index.chars.weights
    vocabulary = engine.index.chars.vocabulary
    old = tmp_path / "old"
    old.mkdir()
    sparse.save_npz(old / "chars.npz", sparse.csc_matrix(weights), compressed=False)
    (old / "chars.vocab.json").write_text(json.dumps(vocabulary), encoding="utf-8")
    assert folder != old

    loaded = BM25Index.load(old, "chars")

    assert loaded.vocabulary == vocabulary
    assert np.array_equal(loaded.scores(query), before)
