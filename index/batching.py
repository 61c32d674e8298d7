"""Micro-batched question encoding: concurrent questions share one encoder call.

A transformer encodes a batch of 32 short questions in a fraction of 32 separate calls'
time, and on 2 cores separate calls from many threads only fight over the same cores.
``BatchingEncoder`` wraps any ``Encoder``: each ``encode_queries`` call waits in a queue,
and one worker thread encodes whatever is queued as one batch (up to ``max_batch``
texts). While that batch runs, the next questions queue up, so batches grow with the
load by themselves; ``window_s`` additionally lets the worker wait that long for company
after the first question of a batch (0: never wait, so a lone question pays nothing).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from index.embedding import Encoder

log = logging.getLogger(__name__)


class EncoderClosedError(RuntimeError):
    """A question was sent to a batching encoder after it was closed."""


@dataclass
class _Request:
    texts: list[str]
    future: Future[np.ndarray] = field(default_factory=Future)


_STOP = object()


class BatchingEncoder:
    """An Encoder whose question encoding is shared between concurrent callers.

    Documents are encoded directly (indexing already sends big batches). The worker
    thread starts on the first question and stops on ``close()``.
    """

    def __init__(self, encoder: Encoder, *, window_s: float = 0.0, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if window_s < 0:
            raise ValueError(f"window_s must not be negative, not {window_s}")
        self.encoder = encoder
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self.batches: list[int] = []  # sizes of the last batches, for measurements
        self._keep_sizes = 10_000

    @property
    def model_id(self) -> str:
        """Return the wrapped encoder's model id."""
        return self.encoder.model_id

    @property
    def dimension(self) -> int:
        """Return the wrapped encoder's dimension."""
        return self.encoder.dimension

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Return passage vectors from the wrapped encoder (not batched with questions)."""
        return self.encoder.encode_documents(texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Return question vectors, encoded together with other callers' questions.

        Blocks until this call's vectors are ready; an error while encoding these texts is
        raised here, in the caller that sent them.
        """
        if not texts:
            return self.encoder.encode_queries(texts)
        request = _Request(list(texts))
        with self._start_lock:
            if self._closed:
                raise EncoderClosedError("the question encoder has been closed")
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="query-encoder", daemon=True)
                self._worker.start()
            self._queue.put(request)
        return request.future.result()

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the worker after the questions already queued; later calls raise."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
            self._queue.put(_STOP)
        if worker is not None:
            worker.join(timeout)

    # -- the worker ------------------------------------------------------------------

    def _run(self) -> None:
        pending: _Request | None = None
        while True:
            first = pending if pending is not None else self._queue.get()
            pending = None
            if first is _STOP:
                return
            assert isinstance(first, _Request)
            batch = [first]
            size = len(first.texts)
            deadline = time.monotonic() + self.window_s
            stop = False
            while size < self.max_batch:
                wait = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, _Request)
                if size + len(item.texts) > self.max_batch:
                    pending = item  # starts the next batch
                    break
                batch.append(item)
                size += len(item.texts)
            self._encode(batch)
            if stop:
                self._drain()
                return

    def _drain(self) -> None:
        """Answer what was queued before close() with single encodes."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request):
                self._encode([item])

    def _encode(self, batch: list[_Request]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batches.append(sum(len(r.texts) for r in live))
        if len(self.batches) > self._keep_sizes:
            del self.batches[: self._keep_sizes // 2]
        texts = [t for r in live for t in r.texts]
        try:
            vectors = self.encoder.encode_queries(texts)
        except BaseException as exc:  # noqa: BLE001 - each caller gets its own outcome
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            # One request's text may be what failed: encode each alone, so the error goes
            # to the caller that sent it and the others still get their vectors.
            log.debug("batch of %d failed (%s); encoding one by one", len(live), exc)
            for request in live:
                self._encode_alone(request)
            return
        start = 0
        for request in live:
            end = start + len(request.texts)
            request.future.set_result(vectors[start:end])
            start = end

    def _encode_alone(self, request: _Request) -> None:
        try:
            request.future.set_result(self.encoder.encode_queries(request.texts))
        except BaseException as exc:  # noqa: BLE001 - delivered to the caller
            request.future.set_exception(exc)
