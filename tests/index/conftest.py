"""Fixtures of the index tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.engine import Engine
from tests.conftest import FakeEncoder
from tests.index.builds import build, make_engine


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def built(knowledge: Path, index_dir: Path, fake_encoder: FakeEncoder):
    """The knowledge fixture built once; the encoder's call log starts empty afterwards."""
    summary = build(knowledge, index_dir, fake_encoder)
    fake_encoder.calls.clear()
    return summary


@pytest.fixture
def engine(knowledge, tmp_path, fake_encoder) -> Engine:
    return make_engine(knowledge, tmp_path / "index", fake_encoder)
