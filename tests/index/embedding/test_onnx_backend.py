"""The ONNX Runtime backend: the packaged MiniLM exported locally gives the torch vectors."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from bot.config import load_config
from index.embedding import (
    MINILM_MODEL,
    EmbeddingCache,
    ModelNotFoundError,
    SentenceTransformerEncoder,
    create_encoder,
    embed_passages_with_cache,
)
from index.embedding.e5_package import E5_MODEL
from index.embedding.onnx_backend import (
    EMBEDS_INPUT,
    MAX_BATCH_TOKENS,
    TABLE_FILE,
    EmbeddingTable,
    OnnxEncoder,
)
from tests.conftest import MODELS

pytest.importorskip("onnxruntime")

TEXTS = [
    "Samarbetet kommunerna emellan startade i Almedalen 2012.",
    "Borlänges sommarskola hålls varje år i juli för nyanlända elever.",
    "Kort.",
    "Nätverket arbetar med flyktingpolitik, mottagande och integration i fyra kommuner " * 8,
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory) -> OnnxEncoder:
    return OnnxEncoder(MINILM_MODEL, export_dir=tmp_path_factory.mktemp("models"))


@pytest.mark.integration
def test_onnx_vectors_equal_the_torch_vectors_and_share_the_model_id(onnx_encoder, minilm_encoder):
    for encode in ("encode_documents", "encode_queries"):
        ours = getattr(onnx_encoder, encode)(TEXTS)
        theirs = getattr(minilm_encoder, encode)(TEXTS)
        assert ours.dtype == np.float32 and ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=2e-5)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Same vectors, so the same id: indexes and caches built with torch stay valid.
    assert onnx_encoder.model_id == minilm_encoder.model_id
    assert onnx_encoder.dimension == minilm_encoder.dimension == 384


@pytest.mark.integration
def test_export_happens_once_and_leaves_no_temporary_file(onnx_encoder):
    onnx_encoder.encode_queries(["Hej"])
    model_file = onnx_encoder.model_file()
    stamp = model_file.stat().st_mtime_ns

    again = OnnxEncoder(MINILM_MODEL, export_dir=onnx_encoder.export_dir)
    again.encode_queries(["Hej igen"])

    assert again.model_file() == model_file
    assert model_file.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in model_file.parent.iterdir()) == ["model.onnx", TABLE_FILE]


@pytest.mark.integration
def test_the_word_embedding_table_lives_beside_the_graph_not_in_it(onnx_encoder):
    import onnx

    onnx_encoder.encode_queries(["Hej"])
    graph = onnx.load(str(onnx_encoder.model_file()), load_external_data=False).graph
    table = np.load(onnx_encoder.model_file().parent / TABLE_FILE, mmap_mode="r")

    assert table.shape == (30522, 384) and table.dtype == np.float32
    assert EMBEDS_INPUT in [i.name for i in graph.input]
    assert not [t.name for t in graph.initializer if tuple(t.dims) == table.shape]


@pytest.mark.integration
def test_each_layer_runs_as_fused_kernels(onnx_encoder):
    import onnx

    onnx_encoder.encode_queries(["Hej"])
    graph = onnx.load(str(onnx_encoder.model_file()), load_external_data=False).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("Attention") == 6  # MiniLM-L6: one per layer
    assert ops.count("SkipLayerNormalization") == 12


@pytest.mark.integration
def test_vectors_do_not_depend_on_how_texts_are_batched(onnx_encoder):
    long = "Samarbetet mellan kommunerna startade i Almedalen. " * 60  # past 256 tokens
    texts = [*TEXTS, long, long[:900]]
    together = onnx_encoder.encode_documents(texts)
    alone = np.concatenate([onnx_encoder.encode_documents([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-6)


@pytest.mark.integration
def test_a_model_call_holds_at_most_the_token_budget(onnx_encoder):
    texts = ["ord " * n for n in (3, 40, 130, 250, 500, 700)] * 8
    onnx_encoder.encode_queries(["Hej"])
    batches = list(onnx_encoder._batches(onnx_encoder._inputs(texts, None)))
    assert sorted(i for part, _, _ in batches for i in part.tolist()) == list(range(len(texts)))
    for part, _, hidden in batches:
        assert len(part) == 1 or hidden.shape[0] * hidden.shape[1] <= MAX_BATCH_TOKENS


def test_the_embedding_table_reads_the_rows_asked_for(tmp_path):
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    np.save(tmp_path / "t.npy", table)
    rows = EmbeddingTable(tmp_path / "t.npy")
    ids = np.array([[3, 0, 3], [9, 1, 1]])

    np.testing.assert_array_equal(rows.lookup(ids), table[ids])
    assert rows.lookup(np.zeros((0, 0), dtype=np.int64)).shape == (0, 0, 4)
    with pytest.raises(IndexError, match="outside the embedding table"):
        rows.lookup(np.array([[10]]))
    rows.close()


@pytest.mark.parametrize(
    "array", [np.zeros((3, 4), dtype=np.float64), np.zeros(5, dtype=np.float32)]
)
def test_an_embedding_table_of_another_shape_or_type_is_refused(tmp_path, array):
    np.save(tmp_path / "t.npy", array)
    with pytest.raises(ValueError, match="float32 row-major matrix"):
        EmbeddingTable(tmp_path / "t.npy")


def test_int8_vectors_get_a_model_id_of_their_own(tmp_path):
    fp32 = OnnxEncoder(MINILM_MODEL, export_dir=tmp_path)
    int8 = OnnxEncoder(MINILM_MODEL, export_dir=tmp_path, quantize=True)
    assert int8.model_id == f"{fp32.model_id}+onnx-int8"
    assert int8.model_file().name == "model-int8.onnx"


@pytest.mark.integration  # exports and loads the real MiniLM (25 s), its name notwithstanding
def test_empty_input_gives_an_empty_matrix_without_loading(tmp_path):
    encoder = OnnxEncoder(MINILM_MODEL, export_dir=tmp_path)
    assert encoder.encode_documents([]).shape == (0, 384)


@pytest.mark.integration  # writes the real e5 model folder into tmp_path, each time
@pytest.mark.parametrize(
    ("backend", "kind"),
    [("torch", SentenceTransformerEncoder), ("onnx", OnnxEncoder), ("onnx-int8", OnnxEncoder)],
)
def test_config_backend_picks_the_encoder(tmp_path, backend, kind):
    (tmp_path / "knowledge").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(f"model:\n  backend: {backend}\n", encoding="utf-8")
    config = load_config(path, environ={})

    encoder = create_encoder(config.engine.model)

    assert isinstance(encoder, kind)
    assert config.model.export_dir == tmp_path / ".state" / "models"
    if kind is OnnxEncoder:
        assert encoder.export_dir == config.model.export_dir
        assert encoder.quantize is (backend == "onnx-int8")


@pytest.mark.parametrize("encoder", [OnnxEncoder, SentenceTransformerEncoder])
def test_both_encoders_default_to_the_configs_default_model(encoder):
    from index.embedding import E5_MODEL
    from index.settings import ModelSettings

    default = inspect.signature(encoder).parameters["name"].default
    assert default == E5_MODEL == ModelSettings.name


def test_export_dir_is_resolved_against_the_config_file(tmp_path):
    (tmp_path / "knowledge").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  export_dir: modeller\n", encoding="utf-8")
    assert load_config(path, environ={}).model.export_dir == tmp_path / "modeller"


def test_onnx_backend_needs_a_local_model_folder(tmp_path):
    with pytest.raises(ModelNotFoundError):
        OnnxEncoder("nobody/no-such-model", export_dir=tmp_path)


def test_onnx_backend_refuses_a_model_it_cannot_run(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}')
    (folder / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "1_Dense", "type": "sentence_transformers.models.Dense"}]'
    )
    with pytest.raises(ModelNotFoundError, match="backend: torch"):
        OnnxEncoder(str(folder), export_dir=Path(tmp_path / "out"))


@pytest.mark.integration
def test_passage_and_sentence_vectors_are_cached(onnx_encoder, tmp_path):
    texts = [f"{TEXTS[0]} {TEXTS[1]}", TEXTS[2], TEXTS[2]]
    spans = [[TEXTS[0], TEXTS[1]], [TEXTS[2]], [TEXTS[2]]]
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = embed_passages_with_cache(onnx_encoder, texts, spans, cache)
    again = embed_passages_with_cache(onnx_encoder, texts, spans, cache)
    cache.close()

    assert first[2] == 2 and again[2] == 0  # the repeated passage is encoded once
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[1].shape == (4, 384)
    np.testing.assert_allclose(first[0], onnx_encoder.encode_documents(texts), atol=2e-6)
    alone = onnx_encoder.encode_documents([s for group in spans for s in group])
    np.testing.assert_allclose(first[1], alone, atol=2e-6)


@pytest.mark.integration
def test_the_int8_model_is_made_from_the_fused_graph_and_stays_close(onnx_encoder):
    int8 = OnnxEncoder(MINILM_MODEL, export_dir=onnx_encoder.export_dir, quantize=True)
    ours, theirs = int8.encode_documents(TEXTS), onnx_encoder.encode_documents(TEXTS)
    assert int8.model_file().name == "model-int8.onnx" and int8.model_file().is_file()
    cosines = (ours * theirs).sum(axis=1)
    # int8 weights move MiniLM's vectors by a few degrees (e5: nDCG within 0.03, measured
    # in docs/PERFORMANCE.md), never to another direction; and they do move: quantised.
    assert np.all(cosines > 0.85) and np.all(cosines < 0.9999)


def test_a_question_is_encoded_without_scanning_the_vocabulary(e5_encoder):
    """Scanning e5's 250,000 pieces for the longest took most of a cold `ask`'s CPU time."""
    fresh = OnnxEncoder(E5_MODEL, export_dir=MODELS)
    question = "Behöver jag bygglov för en altan? " * 16  # 544 characters, under 512 + 64
    assert np.allclose(fresh.encode_queries([question]), e5_encoder.encode_queries([question]))
    assert fresh._piece_chars is None
    long = "Samarbetet startade i Almedalen. " * 3_000  # cut before it is tokenized
    assert np.allclose(fresh.encode_documents([long]), e5_encoder.encode_documents([long]))
    assert fresh._piece_chars is not None
