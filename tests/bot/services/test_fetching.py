"""fetch_and_log: the configured fetch of the web sources, and its change-log entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SourcesConfig
from bot.services.fetching import fetch_and_log
from bot.services.records import ChangeRecord
from bot.services.web import SourcesError
from tests.bot.conftest import make_config
from tests.bot.services.web.test_sources import list_pages


class Collected:
    """Stands in for the records thread: keeps each batch of entries it is given."""

    def __init__(self) -> None:
        self.batches: list[list[ChangeRecord]] = []

    async def __call__(self, changes: list[ChangeRecord]) -> None:
        self.batches.append(changes)


@pytest.fixture
def knowledge(tmp_path, site) -> Path:
    """A knowledge folder whose sources.yaml lists two pages of the local site."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    list_pages(folder, site, ("/integration", "public"), ("/sommarskola", "internal"))
    return folder


async def test_a_fetch_writes_the_pages_and_logs_what_changed(knowledge, tmp_path):
    config = make_config(knowledge, tmp_path / "state")
    logged = Collected()

    report = await fetch_and_log(config, logged, via="discord", user_id=7)

    assert {r.outcome for r in report.results} == {"added"}
    assert all((knowledge / r.doc_id).is_file() for r in report.results)
    [batch] = logged.batches
    assert {(c.action, c.document, c.detail) for c in batch} == {
        ("fetch-added", r.doc_id, r.url) for r in report.results
    }
    assert {(c.via, c.user_id) for c in batch} == {("discord", 7)}

    again = await fetch_and_log(config, logged, via="sync")

    assert {r.outcome for r in again.results} == {"unchanged"}
    assert len(logged.batches) == 1  # nothing changed, nothing logged


async def test_only_the_named_pages_are_fetched(knowledge, tmp_path, site):
    config = make_config(knowledge, tmp_path / "state")
    logged = Collected()

    report = await fetch_and_log(
        config, logged, via="discord", only_urls={f"{site.url}/integration"}
    )

    assert [r.url for r in report.results] == [f"{site.url}/integration"]
    assert [c.detail for c in logged.batches[0]] == [f"{site.url}/integration"]


async def test_a_host_outside_the_allowed_ones_is_not_fetched(knowledge, tmp_path):
    config = make_config(knowledge, tmp_path / "state", sources=SourcesConfig())
    logged = Collected()

    report = await fetch_and_log(config, logged, via="cli")

    assert {r.outcome for r in report.results} == {"failed"}
    assert logged.batches == []
    assert list(knowledge.rglob("*.md")) == []


async def test_a_broken_list_raises_and_logs_nothing(knowledge, tmp_path):
    (knowledge / "sources.yaml").write_text("sources: [\n", encoding="utf-8")
    logged = Collected()

    with pytest.raises(SourcesError):
        await fetch_and_log(make_config(knowledge, tmp_path / "state"), logged, via="cli")

    assert logged.batches == []
