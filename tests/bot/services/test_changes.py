"""The change log's entries for a fetch and a reindex, and writing them from the command line."""

from __future__ import annotations

import contextlib
import sqlite3

from bot.services.changes import detected_changes, fetch_changes, log_changes
from bot.services.records import DATABASE_NAME, SALT_NAME, ChangeRecord
from bot.services.web import FetchReport, FetchResult
from index.build import BuildSummary


def _result(url: str, outcome: str, doc_id: str) -> FetchResult:
    return FetchResult(url=url, outcome=outcome, doc_id=doc_id)


def test_a_fetch_logs_the_pages_it_added_updated_or_removed_only():
    report = FetchReport(
        results=[
            _result("https://a.se/1", "added", "web/a-1.md"),
            _result("https://a.se/2", "updated", "web/a-2.md"),
            _result("https://a.se/3", "unchanged", "web/a-3.md"),
            _result("https://a.se/4", "removed", "web/a-4.md"),
            _result("https://a.se/5", "failed", "web/a-5.md"),
        ]
    )

    changes = fetch_changes(report, "discord", user_id=42)

    assert [(c.action, c.document, c.detail) for c in changes] == [
        ("fetch-added", "web/a-1.md", "https://a.se/1"),
        ("fetch-updated", "web/a-2.md", "https://a.se/2"),
        ("fetch-removed", "web/a-4.md", "https://a.se/4"),
    ]
    assert {(c.via, c.user_id) for c in changes} == {("discord", 42)}


def test_a_fetch_that_changed_nothing_logs_nothing():
    report = FetchReport(results=[_result("https://a.se/1", "unchanged", "web/a-1.md")])

    assert fetch_changes(report, "cli") == []


def test_a_reindex_logs_what_it_found_changed_on_disk():
    summary = BuildSummary(added=["ny.md"], updated=["a.md", "b.md"], removed=["gammal.md"])

    changes = detected_changes(summary, via="sync")

    assert {(c.action, c.document) for c in changes} == {
        ("detected-add", "ny.md"),
        ("detected-update", "a.md"),
        ("detected-update", "b.md"),
        ("detected-remove", "gammal.md"),
    }
    assert {(c.via, c.user_id) for c in changes} == {("sync", None)}


def _logged(state) -> list[dict]:
    with contextlib.closing(sqlite3.connect(state / DATABASE_NAME)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM changes ORDER BY id")]


def test_the_command_line_logs_changes_without_a_salt(tmp_path):
    state = tmp_path / "state"
    changes = [
        ChangeRecord(action="remove", document="a.md", via="cli", detail="trash 1"),
        ChangeRecord(action="fetch-added", document="web/b.md", via="cli", detail="https://b.se"),
    ]

    log_changes(state, changes)

    rows = _logged(state)
    assert [(r["action"], r["document"], r["via"]) for r in rows] == [
        ("remove", "a.md", "cli"),
        ("fetch-added", "web/b.md", "cli"),
    ]
    assert {r["user_hash"] for r in rows} == {None}
    assert not (state / SALT_NAME).exists()  # the command line makes no salt


def test_nothing_to_log_opens_no_database(tmp_path):
    state = tmp_path / "state"

    log_changes(state, [])

    assert not (state / DATABASE_NAME).exists()
