"""Fixtures of the service tests: a question record with a small sample in it."""

from __future__ import annotations

import pytest

from bot.services.records import SQLiteRecordStore
from tests.bot.services.report.sample import fill


@pytest.fixture
def record(tmp_path):
    """Return the record store of the sample (tests/bot/services/report/sample.py)."""
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    fill(store)
    yield store
    store.close()
