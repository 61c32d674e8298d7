"""Speed work that must not change results: dense index kinds, memory-mapped keyword
indexes, the manifest-only no-op reindex, and array-based fusion."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import faiss
import numpy as np
import pytest
from scipy import sparse

from index import store
from index.engine import Engine, EngineSettings
from index.lexical import BM25Index, char_terms
from index.search import _fuse_weighted
from index.store import BuildSettings, current_build, load_index
from tests.conftest import FakeEncoder, fake_calibrated, write_doc
from tests.ranking import SCORE_TOLERANCE, assert_finds_what_exact_finds, assert_ranked_alike


def make_engine(knowledge, index_dir, encoder, **changes) -> Engine:
    settings = EngineSettings(knowledge_dir=knowledge, index_dir=index_dir)
    engine = Engine(replace(fake_calibrated(settings), **changes), encoder)
    engine.reindex()
    return engine


def many_documents(folder, count: int) -> None:
    for i in range(count):
        write_doc(
            folder,
            f"del-{i % 7}/dokument-{i:03d}.md",
            f"# Avsnitt {i}\n\nKommun {i % 13} beslutade år {1990 + i % 30} om skola och "
            f"integration för {i * 3} nyanlända. Ärende {i} gäller bygglov och mottagande.\n",
            title=f"Dokument {i}",
            visibility="public" if i % 3 else "internal",
        )


# -- choosing the dense index ----------------------------------------------------------


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
    settings = BuildSettings(
        "m", 8, 700, 1, "internal", dense_index=requested, approximate_above=above
    )
    assert settings.dense_kind(n) == expected


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
    settings = BuildSettings("m", 8, 700, 1, "internal", ivf_nlist=nlist, ivf_nprobe=nprobe)
    assert (settings.nlist(n), settings.nprobe(n)) == expected


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
    passages = exact.settings.passages
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


# -- memory-mapped loading -------------------------------------------------------------


def mapped(array: np.ndarray) -> bool:
    """Whether an array's memory is a file mapping (a view of an np.memmap)."""
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base if isinstance(array.base, np.ndarray) else None
    return False


def test_keyword_and_dense_indexes_are_memory_mapped_not_copied(tmp_path, knowledge):
    engine = make_engine(knowledge, tmp_path / "index", FakeEncoder())
    index = engine.index
    for bm25 in (index.words, index.chars, index.lead):
        for array in (bm25.weights.data, bm25.weights.indices, bm25.weights.indptr):
            assert mapped(array)
    assert not (index.folder / "words.npz").exists()


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


def test_dense_index_is_read_with_memory_mapping(tmp_path, knowledge, monkeypatch):
    flags = []
    real = faiss.read_index
    monkeypatch.setattr(
        store.faiss, "read_index", lambda path, f=0: flags.append(f) or real(path, f)
    )
    make_engine(knowledge, tmp_path / "index", FakeEncoder()).index  # noqa: B018
    assert flags and all(f & faiss.IO_FLAG_MMAP_IFC for f in flags)  # exact: flat vectors


# -- no-op reindex ---------------------------------------------------------------------


def test_reindex_with_nothing_changed_reads_only_the_manifest(tmp_path, knowledge, monkeypatch):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    build = current_build(tmp_path / "index")
    monkeypatch.setattr(store, "Index", lambda *a, **k: pytest.fail("loaded the old build"))
    monkeypatch.setattr(store, "_previous_chunks", lambda *a: pytest.fail("read old chunks"))

    summary = store.build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())

    assert summary.changed is False
    assert current_build(tmp_path / "index") == build


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_a_damaged_build_is_rebuilt_even_when_no_document_changed(tmp_path, knowledge, damage):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    victim = engine.index.folder / "chars.data.npy"
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-8])
    else:
        victim.unlink()

    summary = store.build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())

    assert summary.changed is True
    assert summary.embedded == 0  # vectors from the cache
    load_index(tmp_path / "index", encoder).close()


def test_an_older_build_without_file_sizes_is_checked_by_loading_it(tmp_path, knowledge):
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    manifest_path = engine.index.folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]
    manifest_path.write_text(json.dumps(manifest))

    summary = store.build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())
    assert summary.changed is False

    shutil.rmtree(engine.index.folder / "chunks.sqlite", ignore_errors=True)
    (engine.index.folder / "chunks.sqlite").unlink(missing_ok=True)
    summary = store.build_index(knowledge, tmp_path / "index", encoder, engine.build_settings())
    assert summary.changed is True


def test_changing_one_of_many_documents_reuses_the_others_chunks(tmp_path):
    knowledge = tmp_path / "knowledge"
    many_documents(knowledge, 50)
    encoder = FakeEncoder()
    engine = make_engine(knowledge, tmp_path / "index", encoder)
    before = {c.id: c for c in engine.index.all_chunks()}
    write_doc(knowledge, "del-3/dokument-003.md", "Helt ny text om fritidsgårdar.\n", title="Ny")

    summary = engine.reindex()

    assert (summary.changed, summary.updated, summary.added) == (
        True,
        ["del-3/dokument-003.md"],
        [],
    )
    after = list(engine.index.all_chunks())
    assert len(after) == len(before)
    assert (
        sum(1 for c in after if c.doc_id == "del-3/dokument-003.md" and "fritidsgårdar" in c.text)
        == 1
    )


# -- fusion ----------------------------------------------------------------------------


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
