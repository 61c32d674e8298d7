"""The report as terminal tables (report/text.py)."""

from __future__ import annotations

import re
from datetime import UTC

from bot.services.report import build_report, format_tables
from tests.bot.services.report.sample import DAY, NOW


def test_the_terminal_report_has_a_table_for_each_part(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    text = format_tables(report)
    for heading in (
        "Questions per day",
        "Most frequent unanswered questions (knowledge gaps)",
        "Most cited documents",
        "Feedback per document",
        "Per server",
    ):
        assert heading in text
    assert re.search(r"^ +2 +Vad kostar bygglov\? +vad kostar ett bygglov$", text, re.M)
    assert re.search(r"^  direct messages +1 +0 +0 %", text, re.M)
