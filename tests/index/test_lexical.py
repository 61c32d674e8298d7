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


def test_idf_is_highest_for_an_unknown_term_and_lowest_for_one_in_every_passage():
    index = BM25Index.build([["skola", "bygglov"], ["skola"], ["skola", "hund"], ["katt"]])
    idf = index.idf({"skola", "bygglov", "okänd"})
    n = 4
    assert idf["okänd"] == pytest.approx(np.log1p((n + 0.5) / 0.5))
    assert idf["bygglov"] == pytest.approx(np.log1p((n - 1 + 0.5) / 1.5))
    assert idf["skola"] == pytest.approx(np.log1p((n - 3 + 0.5) / 3.5))
    assert idf["okänd"] > idf["bygglov"] > idf["skola"]


def test_a_public_readers_idf_counts_only_public_passages(engine):
    # "blåklocka" is the code word of the one internal document: unknown to public readers.
    stem = word_terms("Blåklocka")[0]
    internal = engine.index.idf({stem}, "internal")[stem]
    public = engine.index.idf({stem}, "public")[stem]
    assert public > internal
    assert public == engine.index.idf({"zzzokänd"}, "public")["zzzokänd"]  # as if unknown
