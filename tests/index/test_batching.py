"""The micro-batching question encoder: shared batches, same vectors, errors to their caller."""

from __future__ import annotations

import functools
import gc
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.batching import BatchingEncoder, EncoderClosedError
from tests.conftest import FakeEncoder, fake_calibrated


class RecordingEncoder(FakeEncoder):
    """Records the batch sizes of question encodes; slow enough for questions to queue."""

    def __init__(self, delay: float = 0.02, fail_on: str | None = None) -> None:
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on
        self.query_calls: list[list[str]] = []
        self.started = threading.Event()

    def encode_queries(self, texts):
        self.query_calls.append(list(texts))
        self.started.set()
        time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in texts:
            raise ValueError(f"cannot encode {self.fail_on!r}")
        return super().encode_queries(texts)


QUESTIONS = [
    f"Fråga {i} om kommunernas samarbete kring mottagande år {2000 + i}" for i in range(40)
]


def ask_all(batcher: BatchingEncoder, questions: list[str], workers: int) -> list[np.ndarray]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda q: batcher.encode_queries([q])[0], questions))


def test_concurrent_questions_are_encoded_in_shared_batches():
    inner = RecordingEncoder()
    batcher = BatchingEncoder(inner, max_batch=32)

    ask_all(batcher, QUESTIONS[:32], workers=32)

    assert sum(len(c) for c in inner.query_calls) == 32
    assert len(inner.query_calls) < 32 / 2, inner.query_calls  # mostly shared
    assert max(len(c) for c in inner.query_calls) > 1
    batcher.close()


@pytest.mark.parametrize("workers", [1, 4, 32])
def test_batched_vectors_are_exactly_the_single_encodes(workers):
    inner = RecordingEncoder(delay=0.005)
    batcher = BatchingEncoder(inner, max_batch=8)

    got = ask_all(batcher, QUESTIONS, workers=workers)

    single = FakeEncoder()
    for question, vector in zip(QUESTIONS, got, strict=True):
        assert np.array_equal(vector, single.encode_queries([question])[0])
    batcher.close()


@pytest.mark.parametrize(("max_batch", "window_s"), [(1, 0.0), (4, 0.0), (4, 0.05), (32, 0.0)])
def test_no_batch_is_larger_than_the_cap(max_batch, window_s):
    inner = RecordingEncoder(delay=0.005)
    batcher = BatchingEncoder(inner, max_batch=max_batch, window_s=window_s)

    ask_all(batcher, QUESTIONS, workers=16)

    assert max(len(c) for c in inner.query_calls) <= max_batch
    assert sorted(t for c in inner.query_calls for t in c) == sorted(QUESTIONS)
    batcher.close()


def test_a_call_with_several_texts_gets_them_back_in_order():
    batcher = BatchingEncoder(RecordingEncoder(delay=0.0), max_batch=32)

    vectors = batcher.encode_queries(QUESTIONS[:5])

    assert np.array_equal(vectors, FakeEncoder().encode_queries(QUESTIONS[:5]))
    batcher.close()


def test_window_lets_a_lone_question_wait_for_company():
    inner = RecordingEncoder(delay=0.0)
    batcher = BatchingEncoder(inner, max_batch=32, window_s=0.2)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(batcher.encode_queries, [QUESTIONS[0]])
        time.sleep(0.05)  # well inside the window
        second = pool.submit(batcher.encode_queries, [QUESTIONS[1]])
        first.result(), second.result()

    assert inner.query_calls == [[QUESTIONS[0], QUESTIONS[1]]]
    batcher.close()


def test_an_encoding_error_reaches_only_the_caller_whose_text_failed():
    inner = RecordingEncoder(delay=0.02, fail_on=QUESTIONS[3])
    batcher = BatchingEncoder(inner, max_batch=32)

    def ask(question):
        try:
            return batcher.encode_queries([question])[0]
        except ValueError as exc:
            return exc

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(ask, QUESTIONS[:16]))

    assert isinstance(results[3], ValueError)
    assert QUESTIONS[3] in str(results[3])
    single = FakeEncoder()
    for i, result in enumerate(results):
        if i != 3:
            assert np.array_equal(result, single.encode_queries([QUESTIONS[i]])[0])
    batcher.close()


def test_close_answers_what_is_queued_then_refuses_new_questions():
    inner = RecordingEncoder(delay=0.05)
    batcher = BatchingEncoder(inner, max_batch=2)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(batcher.encode_queries, [q]) for q in QUESTIONS[:6]]
        inner.started.wait(5)
        time.sleep(0.01)
        batcher.close()
        results = [f.result(timeout=10) for f in futures]

    assert all(r.shape == (1, inner.dimension) for r in results)
    assert not batcher._worker.is_alive()
    with pytest.raises(EncoderClosedError):
        batcher.encode_queries(["Ännu en fråga?"])
    batcher.close()  # closing twice is harmless


def test_documents_bypass_the_queue():
    inner = RecordingEncoder()
    batcher = BatchingEncoder(inner)

    batcher.encode_documents(["ett stycke", "ett till"])

    assert inner.calls == [2]
    assert inner.query_calls == []
    assert batcher._worker is None  # no thread until the first question
    assert (batcher.model_id, batcher.dimension) == (inner.model_id, inner.dimension)


@pytest.mark.parametrize(("max_batch", "window_s"), [(0, 0.0), (4, -1.0)])
def test_bad_settings_are_refused(max_batch, window_s):
    with pytest.raises(ValueError):
        BatchingEncoder(FakeEncoder(), max_batch=max_batch, window_s=window_s)


def test_engine_answers_through_the_batcher_and_stops_it_when_dropped(knowledge, tmp_path):
    from index.engine import Engine, EngineSettings

    encoder = RecordingEncoder(delay=0.0)
    engine = Engine(fake_calibrated(EngineSettings(knowledge, tmp_path / "index")), encoder)
    engine.reindex()

    ask = functools.partial(engine.ask, visibility="public")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, ["När startade samarbetet mellan kommunerna?"] * 8))

    assert all(a.answered and "2012" in a.text for a in answers)
    assert sum(len(c) for c in encoder.query_calls) == 8
    worker = engine._queries._worker
    del engine, answers, ask
    gc.collect()
    worker.join(5)
    assert not worker.is_alive()
