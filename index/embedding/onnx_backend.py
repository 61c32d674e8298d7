"""The sentence-transformers model run by ONNX Runtime: same vectors, faster on CPU, no torch.

The model is exported once, locally, from the configured sentence-transformers folder
(the packaged multilingual-e5 by default) into ``export_dir``; nothing is downloaded. The
export runs in a child process (:func:`prepare_in_child`), so no process that serves or
indexes ever holds torch; e5's float32 weights, which only the export reads, are deleted
after it (e5_package.drop_weights). A process loads only ONNX Runtime and the tokenizer.
The word-embedding table is kept out of the graph, on disk, and read row by row
(:class:`EmbeddingTable`); model calls are capped in padded tokens.
``quantize=True`` adds dynamic int8 weights (faster, but the vectors move:
docs/PERFORMANCE.md has the measured speed and retrieval quality of both).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.base import (
    DOCUMENT_PROMPT_NAMES,
    QUERY_PROMPT_NAMES,
    ModelNotFoundError,
    fingerprint,
    first_prompt,
    resolve_model_path,
)
from index.embedding.e5_package import (
    E5_MODEL,
    PackageModelError,
    drop_weights,
    encodable,
    materialized,
    normalizer_for,
    source_of,
)

log = logging.getLogger(__name__)

# 2: the word-embedding table moved out of the graph into a .npy file beside it;
# 3: eager attention exported and fused (Attention, SkipLayerNormalization, BiasGelu).
_EXPORT_VERSION = "onnx-export-3"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EMBEDS_INPUT = "inputs_embeds"
"""The graph input that takes the looked-up word embeddings (batch, tokens, hidden)."""
MAX_BATCH_TOKENS = 4096
"""Padded tokens per model call at most (16 passages of 256 tokens)."""
TABLE_FILE = "word_embeddings.npy"
"""The word-embedding table beside the ONNX file (float32), read row by row (EmbeddingTable)."""


class EmbeddingTable:
    """The rows of a 2-D float32 ``.npy`` file, read from disk when asked for.

    Nothing of the table stays in this process: each lookup reads the rows of the distinct
    ids it needs with ``pread`` (the OS file cache keeps them warm). A memory map was
    measured too and is no better here: the kernel maps the cached pages around every
    touched row, so 5,000 random e5 rows put 340 of the table's 384 MB into the process's
    RSS (docs/PERFORMANCE.md).
    """

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            self._offset = handle.tell()
        if len(shape) != 2 or fortran or dtype != np.dtype("<f4"):
            raise ValueError(f"{path} is not a float32 row-major matrix")
        self.rows, self.width = int(shape[0]), int(shape[1])
        self._row_bytes = self.width * 4
        self._fd = os.open(path, os.O_RDONLY)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Return ``ids.shape + (width,)`` float32 rows; an id outside the table raises."""
        unique, inverse = np.unique(ids, return_inverse=True)
        if len(unique) and (unique[0] < 0 or unique[-1] >= self.rows):
            raise IndexError(f"token id outside the embedding table of {self.rows} rows")
        size, start = self._row_bytes, self._offset
        data = b"".join(os.pread(self._fd, size, start + i * size) for i in unique.tolist())
        if len(data) != len(unique) * size:
            raise OSError("the embedding table file is shorter than its header says")
        rows = np.frombuffer(data, dtype=np.float32).reshape(len(unique), self.width)
        return rows[inverse.reshape(ids.shape)]

    def close(self) -> None:
        """Close the file (the table cannot be read after this)."""
        os.close(self._fd)


class OnnxEncoder:
    """Encoder running a sentence-transformers model (Transformer + mean/CLS pooling) in ORT."""

    def __init__(
        self,
        name: str = E5_MODEL,
        *,
        export_dir: Path,
        quantize: bool = False,
        batch_size: int = 64,
        max_seq_length: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.name = name
        self.export_dir = Path(export_dir)
        self.quantize = quantize
        self.batch_size = batch_size
        self.threads = threads or os.cpu_count() or 1
        if name == E5_MODEL and _e5_missing(self.export_dir):
            # Written by a child too: dequantising the package's weights peaks at 1 GB.
            prepare_in_child(name, self.export_dir, export=False)
        self._path, _ = resolve_model_path(name, self.export_dir, weights=False)
        folder = Path(self._path)
        if not folder.is_dir():
            raise ModelNotFoundError(
                f"the onnx backend needs a local model folder, not '{name}': "
                "set model.name to its path or use model.backend: torch"
            )
        self._folder = folder
        # Packaged multilingual-e5: its tokenizer's per-code-point map (e5_package.py).
        self._normalize = normalizer_for(folder)
        self.source = source_of(folder) or name
        self._pooling = _pooling_mode(folder)
        prompts = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
        self._query_prompt = (
            query_prompt if query_prompt is not None else first_prompt(prompts, QUERY_PROMPT_NAMES)
        )
        self._document_prompt = (
            document_prompt
            if document_prompt is not None
            else first_prompt(prompts, DOCUMENT_PROMPT_NAMES)
        )
        self.max_seq_length = max_seq_length or _max_seq_length(folder)
        self._dimension = int(_read_json(folder / "config.json")["hidden_size"])
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._table: EmbeddingTable | None = None
        self._piece_chars: int | None = None

    def prepare(self) -> None:
        """Export the model to ONNX now if it is not yet (in a child; a minute for e5).

        Otherwise the first encoding does it; the command line and the bot call this
        first, so the export is announced and not mistaken for a stalled build.
        """
        if not (export_folder(self.export_dir, self._folder) / "model.onnx").is_file():
            prepare_in_child(self.name, self.export_dir)

    # -- identity ----------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """Return the model's id: the torch encoder's for fp32 (same vectors), marked for int8."""
        extra = json.dumps([self._query_prompt, self._document_prompt, self.max_seq_length])
        model_id = f"{self.name}@{fingerprint(self._path, extra)}"
        return f"{model_id}+onnx-int8" if self.quantize else model_id

    @property
    def dimension(self) -> int:
        """Return the model's output dimension."""
        return self._dimension

    @property
    def prompts(self) -> dict[str, str | None]:
        """Return the prompts put before questions ("query") and passages ("document")."""
        return {"query": self._query_prompt, "document": self._document_prompt}

    # -- export and load ---------------------------------------------------------------

    def model_file(self) -> Path:
        """Return where this model's ONNX file lives (exported when the encoder is made)."""
        folder = export_folder(self.export_dir, Path(self._path))
        return folder / ("model-int8.onnx" if self.quantize else "model.onnx")

    def _load(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    path = self.model_file()
                    if not path.is_file():
                        if not (path.parent / "model.onnx").is_file():
                            prepare_in_child(self.name, self.export_dir)
                        if self.quantize:
                            quantize_onnx(path.parent / "model.onnx", path)
                    import onnxruntime as ort
                    from tokenizers import Tokenizer

                    options = self._session_options(ort)
                    log.info("loading onnx model %s", path)
                    # ONNX Runtime lets go of the GIL while it loads the graph; the
                    # tokenizer (1 s of CPU for e5's 250,000 pieces) does not: loaded side
                    # by side, a cold start waits for the longer of the two only.
                    with ThreadPoolExecutor(1) as pool:
                        loading = pool.submit(
                            ort.InferenceSession,
                            str(path),
                            options,
                            providers=["CPUExecutionProvider"],
                        )
                        tokenizer = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
                        session = loading.result()
                    tokenizer.enable_truncation(self.max_seq_length)
                    tokenizer.no_padding()
                    self._tokenizer = tokenizer
                    # The table stays on disk: e5's is 384 MB in float32, which the graph
                    # held in memory (with ORT's copy) for the few thousand rows in use.
                    if EMBEDS_INPUT in {i.name for i in session.get_inputs()}:
                        self._table = EmbeddingTable(path.parent / TABLE_FILE)
                    self._session = session
        return self._session

    def _session_options(self, ort: Any) -> Any:
        """Return ONNX Runtime's session options for this encoder."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: on 2 cores shared with the
        # bot's other work, spinning doubled a question's encode time (measured
        # 11.8 -> 6.3 ms median under load, docs/PERFORMANCE.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    # -- encoding ----------------------------------------------------------------------

    def _inputs(self, texts: Sequence[str], prompt: str | None) -> list[str]:
        """Return the strings the tokenizer gets: prompt + text, cut and normalised."""
        # A token covers at most the longest piece in the vocabulary, so the tokens past the
        # length limit come from text past this many characters: cutting there first keeps
        # the same tokens and spares tokenizing the rest (a 100,000-character text). A text
        # no longer than the limit in tokens (+ 64) cannot reach past it, whatever the
        # longest piece: the vocabulary is scanned only for a longer one (0.4 s of CPU for
        # e5's 250,000 pieces, most of a question's cold start: docs/PERFORMANCE.md).
        if any(len(t) > self.max_seq_length + 64 for t in texts):
            limit = self.max_seq_length * self._longest_piece() + 64
            texts = [t[:limit] for t in texts]
        inputs = [(prompt or "") + t for t in texts]
        if self._normalize is not None:
            return [self._normalize(t) for t in inputs]
        # A lone surrogate cannot be encoded: it becomes U+FFFD.
        return [encodable(t) for t in inputs]

    def _batches(self, inputs: list[str]) -> Iterator[tuple[np.ndarray, Any, np.ndarray]]:
        """Yield (positions in inputs, their encodings, token states) per model call.

        Longest first, as sentence-transformers does, so each batch pads little; a batch
        holds at most ``batch_size`` texts and ``MAX_BATCH_TOKENS`` padded tokens, which
        bounds the memory ONNX Runtime keeps for activations (docs/PERFORMANCE.md).
        """
        session = self._session
        encodings = self._tokenizer.encode_batch(inputs)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            width = max(1, int(lengths[order[start]]))
            count = max(1, min(self.batch_size, MAX_BATCH_TOKENS // width))
            part = order[start : start + count]
            start += count
            feeds = {k: np.zeros((len(part), width), dtype=np.int64) for k in _INPUTS}
            for row, i in enumerate(part):
                e = encodings[i]
                n = len(e.ids)
                feeds["input_ids"][row, :n] = e.ids
                feeds["attention_mask"][row, :n] = e.attention_mask
                feeds["token_type_ids"][row, :n] = e.type_ids
            if self._table is not None:
                feeds[EMBEDS_INPUT] = self._table.lookup(feeds["input_ids"])
            hidden = session.run(None, feeds)[0]
            yield part, [encodings[i] for i in part], hidden

    def _pool(self, hidden: np.ndarray, encodings: Sequence[Any]) -> np.ndarray:
        """Return the normalised pooled vector of each row of token states."""
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = np.zeros(hidden.shape[:2], dtype=np.float32)
            for row, e in enumerate(encodings):
                mask[row, : len(e.ids)] = e.attention_mask
            mask = mask[..., None]
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        self._load()
        out = np.empty((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        for part, encodings, hidden in self._batches(self._inputs(texts, prompt)):
            out[part] = self._pool(hidden, encodings)
        return out

    def _longest_piece(self) -> int:
        """Return the most characters one token of this tokenizer can cover (cached)."""
        if self._piece_chars is None:
            vocab = self._tokenizer.get_vocab()
            self._piece_chars = max((len(p.lstrip("#▁Ġ")) for p in vocab), default=64) + 1
        return self._piece_chars

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised vectors for passages, with the model's document prompt if any."""
        return self._encode(texts, self._document_prompt)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised vectors for questions, with the model's query prompt if any."""
        return self._encode(texts, self._query_prompt)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pooling_mode(folder: Path) -> str:
    """Return "mean" or "cls" from the model's pooling config; refuse anything else."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(
        k not in ("Transformer", "Pooling", "Normalize") for k in kinds
    ):
        raise ModelNotFoundError(
            f"the onnx backend runs Transformer + Pooling models only, not {kinds}: "
            "use model.backend: torch"
        )
    pooling_path = next(m["path"] for m in modules if m.get("type", "").endswith("Pooling"))
    config = _read_json(folder / pooling_path / "config.json")
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ModelNotFoundError("the onnx backend supports mean or CLS pooling only")


def _max_seq_length(folder: Path) -> int:
    """Return the length limit sentence-transformers would use for this folder."""
    configured = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if configured:
        return int(configured)
    limits = [
        _read_json(folder / "config.json").get("max_position_embeddings"),
        _read_json(folder / "tokenizer_config.json").get("model_max_length"),
    ]
    return int(min(v for v in limits if isinstance(v, int) and v > 0) or 512)


def export_folder(export_dir: Path, folder: Path) -> Path:
    """Return the folder of a model folder's ONNX export (named by its fingerprint)."""
    return Path(export_dir) / f"{folder.name}-{fingerprint(str(folder), _EXPORT_VERSION)}"


def export_needed(name: str, export_dir: Path) -> bool:
    """Return whether making an encoder for ``name`` first prepares the model (a minute).

    That is writing e5's folder from its package and exporting the model to ONNX, once.
    A model that cannot be found needs nothing here: making the encoder says why.
    """
    if name == E5_MODEL and _e5_missing(export_dir):
        return True
    try:
        path, _tried = resolve_model_path(name, export_dir, weights=False)
    except ModelNotFoundError:
        return False
    folder = Path(path)
    return folder.is_dir() and not (export_folder(export_dir, folder) / "model.onnx").is_file()


_BEFORE_PREPARE: ContextVar[Callable[[], None] | None] = ContextVar("before_prepare", default=None)


@contextlib.contextmanager
def announcing_preparation(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, call ``callback`` before a model is prepared (exported) in a child.

    The command line says "preparing the model once (about a minute)" with it; nothing is
    called when the model is ready already.
    """
    token = _BEFORE_PREPARE.set(callback)
    try:
        yield
    finally:
        _BEFORE_PREPARE.reset(token)


def _e5_missing(export_dir: Path) -> bool:
    """Return whether e5's folder is still to be written (False: written, or no package)."""
    try:
        return materialized(export_dir) is None
    except PackageModelError:  # making the encoder says so
        return False


class ModelExportError(ModelNotFoundError):
    """Exporting the model to ONNX failed (the child process said why)."""


def prepare_in_child(name: str, export_dir: Path, *, export: bool = True) -> None:
    """Export ``name`` to ONNX under ``export_dir`` in a child process; raise on failure.

    The export loads torch and the float32 model (e5: 2.6 GB at its peak, measured in
    docs/DEPLOY.md); in a child, all of it goes back to the system when the child ends, and
    the bot or the index build that asked never holds any of it. ``export=False`` only
    writes e5's model folder (:func:`prepare`).
    """
    announce = _BEFORE_PREPARE.get()
    if announce is not None:
        announce()
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds index/
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "index.embedding.onnx_backend", name, str(export_dir)]
    if not export:
        command.append("--folder-only")
    log.info("preparing %s in a child process (once)", name)
    result = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        log.debug("the export's output:\n%s", result.stderr)
        raise ModelExportError(f"exporting the model '{name}' to ONNX failed: {reason}")


def prepare(name: str, export_dir: Path, *, export: bool = True) -> Path:
    """Write the model folder and its ONNX export if missing (what the child runs).

    Idempotent and safe to run twice at once (a lock in ``export_dir``): the export's key
    is the folder's fingerprint, which dropping e5's weights after it does not change.
    Returns the ONNX file; with ``export=False`` only e5's folder is written.
    """
    import fcntl

    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    with open(export_dir / ".prepare.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if name == E5_MODEL and materialized(export_dir) is not None:
            path, _tried = resolve_model_path(name, export_dir, weights=False)
            target = export_folder(export_dir, Path(path)) / "model.onnx"
            if target.is_file() or not export:
                return target
        path, _tried = resolve_model_path(name, export_dir, weights=export)
        folder = Path(path)
        target = export_folder(export_dir, folder) / "model.onnx"
        if not export:
            return target
        if not target.is_file():
            export_onnx(folder, target)
        if name == E5_MODEL:  # never a folder of someone else's: only the one written here
            drop_weights(folder)
    return target


def export_onnx(folder: Path, target: Path) -> None:
    """Export a sentence-transformers folder's transformer to ONNX at target (atomically).

    The word-embedding table is written beside it as ``TABLE_FILE`` straight from the
    model, and the graph is traced with a one-row stand-in that split_word_embeddings
    then cuts out: the exporter's copies of a 250,002-row table (384 MB each for e5) were
    most of the export's memory. The graph written is the same either way.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # A sentence-transformers folder has no pooler weights; the report of them is noise.
    hf_logging.set_verbosity_error()
    log.info("exporting %s to onnx (once)", folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Eager attention exports the plain pattern ONNX Runtime's BERT fusions recognise;
    # the scaled-dot-product export did not fuse (fuse_transformer).
    model = AutoModel.from_pretrained(
        str(folder), local_files_only=True, attn_implementation="eager"
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    table = model.get_input_embeddings().weight.detach().numpy()
    _save_table(table, target.parent / TABLE_FILE)
    width = table.shape[1]
    del table
    model.set_input_embeddings(torch.nn.Embedding(1, width))

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    # Two texts of different lengths, so the traced graph takes the padded path; their ids
    # become 0, the stand-in table's one row (the traced graph does not depend on them).
    example = tokenizer(
        ["Ett exempel.", "Ett längre exempel med flera ord i."], padding=True, return_tensors="pt"
    )
    example["input_ids"] = torch.zeros_like(example["input_ids"])
    if "token_type_ids" not in example:
        example["token_type_ids"] = torch.zeros_like(example["input_ids"])
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    axes = {"0": "batch", "1": "tokens"}
    # The exporter warns about tracing details that do not apply to this graph.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(model),
            tuple(example[k] for k in _INPUTS),
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={k: {0: axes["0"], 1: axes["1"]} for k in (*_INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )
    del model
    split = target.with_name(f".{target.name}.{os.getpid()}.split.onnx")
    try:
        split_word_embeddings(tmp, split, write_table=False)
        config = _read_json(folder / "config.json")
        fuse_transformer(
            split, target, int(config["num_attention_heads"]), int(config["hidden_size"])
        )
    finally:
        tmp.unlink(missing_ok=True)
        split.unlink(missing_ok=True)


def _save_table(table: np.ndarray, path: Path) -> None:
    """Write the word-embedding table (float32) as ``path``, atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, np.ascontiguousarray(table, dtype=np.float32))
    os.replace(tmp, path)


def fuse_transformer(source: Path, target: Path, heads: int, hidden: int) -> None:
    """Write source's BERT graph to target with its layers fused into ORT's own kernels.

    ONNX Runtime's transformer optimizer replaces each layer's attention subgraph with one
    ``Attention`` op and the residual adds + layer norms with ``SkipLayerNormalization``:
    the same arithmetic in fewer, faster kernels (measured 1.4-1.9x passages/s and
    1.3-1.5x per question, vectors within cosine 0.999999; docs/PERFORMANCE.md). A graph
    the optimizer does not recognise is written unchanged.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    tmp = target.with_name(f".{target.name}.{os.getpid()}.fused.tmp")
    try:
        fused = optimize_model(
            str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
        )
        counts = fused.get_fused_operator_statistics()
        log.info(
            "fused %s attention and %s layer-norm ops",
            counts.get("Attention"),
            counts.get("SkipLayerNormalization"),
        )
        fused.save_model_to_file(str(tmp))
    except Exception:  # noqa: BLE001 - an unfused graph still gives the same vectors
        log.warning("could not fuse %s; keeping it unfused", source, exc_info=True)
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def split_word_embeddings(source: Path, target: Path, *, write_table: bool = True) -> None:
    """Write source's graph to target with its word-embedding lookup taken out of it.

    The Gather of ``input_ids`` from the word-embedding table becomes a graph input
    (``EMBEDS_INPUT``) and the table is saved beside target as ``TABLE_FILE``, which the
    encoder memory-maps and indexes itself: the same arithmetic, so the same vectors, but
    the process holds only the rows of the tokens it has seen, not the whole table (with
    ORT's own copy, it was most of the serving process's memory: docs/PERFORMANCE.md).
    The table is written first and the graph last, so target existing means both do;
    ``write_table=False`` leaves the table to the caller (export_onnx writes it first).
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    lookups = [
        n
        for n in graph.node
        if n.op_type == "Gather" and n.input[1] == "input_ids" and n.input[0] in initializers
    ]
    if len(lookups) != 1:
        raise ValueError(f"expected one word-embedding lookup in {source}, found {len(lookups)}")
    lookup = lookups[0]
    weight = initializers[lookup.input[0]]
    if any(weight.name in n.input for n in graph.node if n is not lookup):
        raise ValueError(f"the word-embedding table of {source} is used twice")
    table = numpy_helper.to_array(weight).astype(np.float32, copy=False)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == lookup.output[0]:
                node.input[i] = EMBEDS_INPUT
    graph.node.remove(lookup)
    graph.initializer.remove(weight)
    graph.input.append(
        onnx.helper.make_tensor_value_info(
            EMBEDS_INPUT, onnx.TensorProto.FLOAT, ["batch", "tokens", table.shape[1]]
        )
    )
    if write_table:
        _save_table(table, target.parent / TABLE_FILE)
    graph_tmp = target.with_name(f".{target.name}.{os.getpid()}.split.tmp")
    onnx.save(model, str(graph_tmp))
    os.replace(graph_tmp, target)


def quantize_onnx(source: Path, target: Path) -> None:
    """Write a dynamically int8-quantised copy of an ONNX model (atomically)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.onnx")
    # The MatMuls only (the fused Attention keeps its float weights): on e5 nDCG@10
    # 0.740 / 0.575, as the unfused graph's int8 (0.737 / 0.577). Shape inference does not
    # type the fused ops' outputs: they are float32.
    quantize_dynamic(
        str(source),
        str(tmp),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    os.replace(tmp, target)


def main(argv: Sequence[str] | None = None) -> int:
    """Run :func:`prepare` for ``NAME EXPORT_DIR [--folder-only]`` (prepare_in_child's child)."""
    args = list(sys.argv[1:] if argv is None else argv)
    export = "--folder-only" not in args
    args = [a for a in args if a != "--folder-only"]
    if len(args) != 2:
        print(
            "usage: python -m index.embedding.onnx_backend NAME EXPORT_DIR [--folder-only]",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        prepare(args[0], Path(args[1]), export=export)
    except Exception as exc:  # noqa: BLE001 - the parent shows this last line
        log.debug("export failed", exc_info=True)
        print(f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
