"""The sentence-transformers (PyTorch) backend."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.embedding.base import (
    DOCUMENT_PROMPT_NAMES,
    QUERY_PROMPT_NAMES,
    fingerprint,
    first_prompt,
    resolve_model_path,
)
from index.embedding.e5_package import E5_MODEL, normalizer_for

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


class SentenceTransformerEncoder:
    """Encoder backed by a local sentence-transformers model, loaded on first use."""

    def __init__(
        self,
        name: str = E5_MODEL,
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
                        self._query_prompt = first_prompt(prompts, QUERY_PROMPT_NAMES)
                    if self._document_prompt is None:
                        self._document_prompt = first_prompt(prompts, DOCUMENT_PROMPT_NAMES)
                    self._model = model
        return self._model

    @property
    def model_id(self) -> str:
        """Return name plus a fingerprint of the weights' files, prompts and length limit."""
        if self._model_id is None:
            model = self._load()
            extra = json.dumps([self._query_prompt, self._document_prompt, model.max_seq_length])
            self._model_id = f"{self.name}@{fingerprint(self._path, extra)}"
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
        # sentence-transformers types it int | None (None: no module states a dimension);
        # int(None) then raises, as it always did: arg-type.
        return int(getter())  # type: ignore[arg-type]

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
