"""The report as terminal tables (report/text.py)."""

from __future__ import annotations

import re
from datetime import UTC

from bot.services.records import SQLiteRecordStore
from bot.services.report import build_report, format_tables, render_html
from bot.services.report.text import CELL_LIMIT
from tests.bot.services.report.sample import DAY, NOW, add_question


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


def test_a_long_question_is_cut_in_the_terminal_and_whole_on_the_page(tmp_path):
    question = "Hur " + "mycket " * 20 + "kostar det?"
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    try:
        add_question(store, 1, question, False)
    finally:
        store.close()
    report = build_report(store.path, since=NOW - DAY, until=NOW + 1, tz=UTC)
    [row] = [line for line in format_tables(report).splitlines() if line.startswith("      1  Hur")]
    assert row.endswith(question[: CELL_LIMIT - 1] + "…")
    assert question in render_html(report)
