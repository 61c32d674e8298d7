"""FAISS: the index kind, IVF lists, approximate search against exact, memory-mapped reading."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from index import dense
from index.dense import dense_kind
from index.settings import DenseSettings
from tests.conftest import FakeEncoder
from tests.index.builds import make_engine, many_documents
from tests.ranking import SCORE_TOLERANCE, assert_finds_what_exact_finds, assert_ranked_alike


@pytest.mark.parametrize(
    ("requested", "above", "n", "expected"),
    [
        ("auto", 200_000, 50_000, "exact"),
        ("auto", 200_000, 200_000, "exact"),
        ("auto", 200_000, 200_001, "hnsw"),
        ("auto", 3, 7, "hnsw"),
        ("exact", 3, 10**6, "exact"),
        ("hnsw", 10**9, 5, "hnsw"),
        ("ivf", 10**9, 5, "ivf"),
    ],
)
def test_dense_index_kind_follows_the_request_and_the_size(requested, above, n, expected):
    settings = DenseSettings(dense_index=requested, approximate_above=above)
    assert dense_kind(settings, n) == expected


@pytest.mark.parametrize(
    ("n", "nlist", "nprobe", "expected"),
    [
        (10**6, 0, 0, (4000, 1000)),
        (100, 0, 0, (2, 1)),
        (10**6, 512, 0, (512, 128)),
        (50, 512, 0, (1, 1)),
        (10**6, 0, 64, (4000, 64)),
    ],
)
def test_ivf_lists_scale_with_the_square_root_and_a_quarter_are_searched(
    n, nlist, nprobe, expected
):
    settings = DenseSettings(ivf_nlist=nlist, ivf_nprobe=nprobe)
    assert (dense.nlist(settings, n), dense.nprobe(settings, n)) == expected


def ranking(result) -> tuple[list[int], list[float]]:
    """A search result's (chunk ids, fused scores), best first."""
    return [h.chunk_id for h in result.hits], [h.score for h in result.hits]


def quoted_documents(answer) -> list[str]:
    """The documents an answer quotes, in the order it quotes them."""
    return list(dict.fromkeys(answer.sources[quote.source].id for quote in answer.quotes))


@pytest.mark.parametrize(
    ("kind", "min_recall"),
    [
        # nprobe covers every list of this small index, so IVF search is exhaustive here.
        ("ivf", 1.0),
        # HNSW promises near neighbours, not all of them. efSearch (1024) is above the 120
        # chunks, so the search walks all of the graph it can reach; but the graph is built
        # on as many threads as the machine has, so its links differ between machines and a
        # chunk may be out of reach. One miss in ten is allowed; a broken index (ids mixed
        # up, the visibility filter ignored) finds far fewer.
        ("hnsw", 0.9),
    ],
)
def test_approximate_indexes_find_what_exact_search_finds_and_respect_visibility(
    tmp_path, kind, min_recall
):
    knowledge = tmp_path / "knowledge"
    many_documents(knowledge, 120)
    encoder = FakeEncoder()
    exact = make_engine(knowledge, tmp_path / "exact", encoder, dense_index="exact")
    other = make_engine(knowledge, tmp_path / kind, encoder, dense_index=kind, ivf_nprobe=64)
    assert other.index.manifest["ivf"]["nprobe"] == 64
    assert other.index.manifest["dense_index"] == kind
    passages = exact.settings.answer.passages
    for question in ("bygglov för kommun 3", "skola år 1995", "nyanlända integration"):
        vector = encoder.encode_queries([question])[0]
        for visibility in ("public", "internal"):
            assert_finds_what_exact_finds(
                exact.index, other.index, vector, 10, visibility, min_recall
            )
        public_ids = other.index.search_dense(vector, 50, "public")[1]
        assert len(public_ids) and all(other.index.public_mask[i] for i in public_ids)

        # The answer is built from the best passages of the hybrid ranking; with this few
        # chunks every one is a dense candidate, so that ranking is the exact one up to ties.
        expected = ranking(exact.search(question, top_k=30, visibility="internal"))
        assert_ranked_alike(
            expected, ranking(other.search(question, top_k=10, visibility="internal"))
        )
        gaps = -np.diff(expected[1][: passages + 1])
        assert gaps.min() > SCORE_TOLERANCE, "a tie among the passages: pick another question"
        assert quoted_documents(exact.ask(question, visibility="internal")) == quoted_documents(
            other.ask(question, visibility="internal")
        )


def test_many_questions_in_one_dense_call_equal_one_at_a_time(tmp_path):
    knowledge = tmp_path / "knowledge"
    many_documents(knowledge, 60)
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    questions = ["bygglov", "skola år 1995", "kommun 7 integration"]
    vectors = encoder.encode_queries(questions)
    scores, ids = engine.index.search_dense_many(vectors, 20, "public")
    for i, vector in enumerate(vectors):
        one = engine.index.search_dense(vector, 20, "public")
        assert list(one[1]) == list(ids[i])
        assert np.array_equal(one[0], scores[i])


def test_dense_index_is_read_with_memory_mapping(tmp_path, knowledge, monkeypatch):
    flags = []
    real = faiss.read_index
    monkeypatch.setattr(
        dense.faiss, "read_index", lambda path, f=0: flags.append(f) or real(path, f)
    )
    make_engine(knowledge, tmp_path / "index", FakeEncoder()).index  # noqa: B018
    assert flags and all(f & faiss.IO_FLAG_MMAP_IFC for f in flags)  # exact: flat vectors


def test_hnsw_index_answers_and_filters_visibility_like_the_exact_one(
    knowledge, tmp_path, fake_encoder
):
    exact = make_engine(knowledge, tmp_path / "exact", fake_encoder)
    hnsw = make_engine(knowledge, tmp_path / "hnsw", fake_encoder, dense_index="hnsw")
    assert hnsw.index.manifest["dense_index"] == "hnsw"
    assert exact.index.manifest["dense_index"] == "exact"
    vector = fake_encoder.encode_queries(["Blåklocka budget"])[0]
    for visibility in ("public", "internal"):
        # Tiny index: fewer chunks than the 2*M links a node has in the bottom layer, so
        # every chunk links to every other and HNSW finds all of them. Ties in any order.
        assert_finds_what_exact_finds(exact.index, hnsw.index, vector, 10, visibility, 1.0)
    public_ids = hnsw.index.search_dense(vector, 10, "public")[1]
    assert all(hnsw.index.public_mask[i] for i in public_ids)


def test_approximate_index_is_chosen_above_the_configured_size(knowledge, tmp_path, fake_encoder):
    engine = make_engine(
        knowledge, tmp_path / "index", fake_encoder, dense_index="auto", approximate_above=3
    )
    assert engine.index.size > 3
    assert engine.index.manifest["dense_index"] == "hnsw"


@pytest.fixture(scope="module")
def clustered_hnsw(tmp_path_factory):
    """20,000 vectors in 100 topics, in an HNSW index built with small graph settings."""
    rng = np.random.default_rng(0)
    topics = rng.integers(0, 100, 20_000)
    centres = rng.standard_normal((100, 32)).astype(np.float32)
    vectors = centres[topics] + rng.standard_normal((20_000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = tmp_path_factory.mktemp("hnsw") / "dense.faiss"
    settings = DenseSettings(
        dense_index="hnsw", hnsw_m=16, hnsw_ef_construction=40, hnsw_ef_search=64
    )
    dense.write_dense(path, vectors, "hnsw", 32, settings)
    return vectors, topics, dense.read_dense(path, "hnsw")


@pytest.mark.parametrize("marked", ["whole topics", "at random"])
def test_a_reader_who_sees_two_percent_of_an_hnsw_index_finds_the_true_nearest(
    clustered_hnsw, marked
):
    vectors, topics, index = clustered_hnsw
    rng = np.random.default_rng(1)
    public = topics < 2 if marked == "whole topics" else rng.random(len(vectors)) < 0.02
    allowed = dense.AllowedChunks(public)
    queries = rng.standard_normal((50, 32)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = faiss.IndexFlatIP(32)
    exact.add(vectors)
    _, truth = exact.search(queries, 10, params=faiss.SearchParameters(sel=allowed.selector))
    scores, ids = dense.search_dense(
        index, queries, 10, kind="hnsw", ef_search=64, nprobe=1, allowed=allowed
    )
    recall = np.mean([len(set(t) & set(i)) / 10 for t, i in zip(truth, ids, strict=True)])
    assert recall >= 0.95
    assert all(public[i].all() for i in ids)
    assert all(np.all(np.diff(s) <= 0) for s in scores)
