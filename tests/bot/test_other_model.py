"""Another model, as docs/MODELS.md describes it: a local folder, model.name, index, ask, status.

The test writes a tiny random BERT sentence-transformers folder itself (transformers config,
WordPiece vocabulary, weights, pooling, e5-style prompts), so nothing comes from the hub.
Its vectors mean nothing; what is tested is the path: the folder loads in both backends,
its prompts are used and shown, the index is built with it, and an index built with
another model is refused until `natverksbot index` rebuilds it.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import MODELS, fill_knowledge

QUESTION = "När startade samarbetet mellan kommunerna?"
PROMPTS = {"query": "query: ", "passage": "passage: "}
ST = "sentence_transformers.models"


def write_tiny_model(folder: Path, words: set[str]) -> Path:
    """Write a random 32-dimensional BERT sentence-transformers model into ``folder``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = sorted({c for w in words for c in w})
    vocab = specials + sorted(words) + letters + [f"##{c}" for c in letters]
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
    )
    torch.manual_seed(7)
    BertModel(config).save_pretrained(folder)
    modules = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    (folder / "modules.json").write_text(
        json.dumps(
            [
                {"idx": i, "name": str(i), "path": path, "type": f"{ST}.{kind}"}
                for i, (path, kind) in enumerate(modules)
            ]
        ),
        encoding="utf-8",
    )
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 128, "do_lower_case": False}), encoding="utf-8"
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}),
        encoding="utf-8",
    )
    (folder / "2_Normalize").mkdir()
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": PROMPTS, "default_prompt_name": None}), encoding="utf-8"
    )
    return folder


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    knowledge = fill_knowledge(folder / "text")
    words = {
        w.strip(".,:;()”“!?").lower()
        for p in knowledge.rglob("*.md")
        for w in p.read_text(encoding="utf-8").split()
    }
    words |= {w.strip("?").lower() for w in QUESTION.split()} | {"query", "passage", ":"}
    return write_tiny_model(folder / "tiny-swedish-bert", {w for w in words if w})


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_local_model_folder_is_used_from_model_name_through_index_and_ask(
    tmp_path, tiny_model, backend
):
    knowledge = fill_knowledge(tmp_path / "knowledge")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n"
        f"model:\n  name: {tiny_model}\n  backend: {backend}\n",
        encoding="utf-8",
    )
    code, out, err = run("--config", config, "index", "--json")
    assert code == 0, err
    assert json.loads(out)["documents"] == 3

    code, out, err = run("--config", config, "ask", QUESTION, "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer) >= {"answered", "answer", "sources"}

    code, out, err = run("--config", config, "status", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["model_id"].startswith(f"{tiny_model}@")
    assert status["dimension"] == 32
    assert status["model"] == {
        "name": str(tiny_model),
        "backend": backend,
        "model_id": status["model_id"],
        "dimension": 32,
        "prompts": {"query": "query: ", "document": "passage: "},
        "matches_index": True,
    }
    code, out, _ = run("--config", config, "status")
    assert "prompts: query 'query: ', document 'passage: '" in out
    assert f"backend:   {backend};" in out


@pytest.mark.integration  # rebuilds the index with the real default model
def test_an_index_of_another_model_is_refused_until_it_is_rebuilt(tmp_path, tiny_model):
    knowledge = fill_knowledge(tmp_path / "knowledge")
    config = tmp_path / "config.yaml"
    base = f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n"
    config.write_text(base + f"model:\n  name: {tiny_model}\n", encoding="utf-8")
    assert run("--config", config, "index")[0] == 0

    # Back to the packaged default model (its folder shared with the other tests).
    config.write_text(base + f"model:\n  export_dir: {MODELS}\n", encoding="utf-8")
    code, out, _ = run("--config", config, "status")
    assert code == 0
    assert "not the index's: run `natverksbot index` to rebuild it" in out
    # `ask` on an index of another model (an upgrade) rebuilds it first, and says so.
    code, out, err = run("--config", config, "ask", QUESTION)
    assert code == 0, err
    assert "rebuilding the index" in err  # the CLI's language (cli_language: en)
    code, out, _ = run("--config", config, "status", "--json")
    assert json.loads(out)["model"]["matches_index"] is True
    assert json.loads(out)["dimension"] == 384
