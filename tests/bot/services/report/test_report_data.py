"""The report's figures, counted from the question record (report/data.py)."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from bot.services.report import build_report, format_tables, render_html, render_png
from tests.bot.services.report.sample import DAY, NOW


def test_the_report_counts_days_answers_latency_gaps_citations_votes_and_guilds(record):
    report = build_report(record.path, since=NOW - 7 * DAY + 1, until=NOW + 1, tz=UTC)
    assert (report.asked, report.answered, report.unanswered) == (5, 2, 3)
    assert report.answered_share == pytest.approx(0.4)
    assert report.median_latency_ms == 100
    assert [(d.day, d.asked, d.answered) for d in report.days[-3:]] == [
        (date(2025, 3, 12), 1, 0),
        (date(2025, 3, 13), 2, 0),
        (date(2025, 3, 14), 2, 2),
    ]
    assert len(report.days) == 8 and sum(d.asked for d in report.days) == 5
    assert [(g.question, g.count) for g in report.gaps] == [
        ("Vad kostar bygglov?", 2),
        ("Vem <script>alert(1)</script>?", 1),
    ]
    assert [(s.document, s.cited, s.up, s.down) for s in report.cited] == [
        ("almedalen.md", 2, 2, 1),
        ("plan.pdf", 1, 0, 1),
    ]
    assert [(s.document, s.up, s.down) for s in report.feedback] == [
        ("almedalen.md", 2, 1),
        ("plan.pdf", 0, 1),
    ]
    assert [(g.guild_id, g.asked, g.answered) for g in report.guilds] == [
        (1, 3, 2),
        (2, 1, 0),
        (None, 1, 0),  # direct messages
    ]


def test_an_empty_record_makes_an_empty_report(tmp_path):
    report = build_report(tmp_path / "saknas.sqlite", since=NOW - DAY, until=NOW, tz=UTC)
    assert report.asked == 0 and report.answered_share is None and report.gaps == ()
    assert "(none)" in format_tables(report)
    render_png(report)
    render_html(report)
