"""The terminal tables and the web page show the same words and figures (report/tables.py)."""

from __future__ import annotations

import html
import re
from datetime import UTC

import pytest

from bot.locales import t
from bot.services.report import build_report, format_tables, render_html
from tests.bot.services.report.sample import DAY, NOW


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_terminal_report_and_the_web_page_use_the_same_words(record, language):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    text = format_tables(report, language)
    page = html.unescape(render_html(report, language))
    for key in ("report.per_day", "report.gaps", "report.cited", "report.feedback"):
        assert t(key, language) in text and t(key, language) in page
    for key in ("report.asked", "report.answered", "report.direct", "report.document"):
        assert t(key, language) in text and t(key, language) in page
    other = "en" if language == "sv" else "sv"
    for key in ("report.gaps", "report.feedback", "report.direct"):
        assert t(key, other) not in text and t(key, other) not in page
    assert f'<html lang="{language}">' in render_html(report, language)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_terminal_report_and_the_web_page_show_the_same_figures(record, language):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    text = format_tables(report, language)
    page = html.unescape(render_html(report, language))
    # 5 asked, 2 answered, 40 %, a median of 100 ms, 3 unanswered: in that order in both.
    assert re.search(r"^ +5 +2 +40 % +100 ms +3$", text, re.M)
    cards = re.findall(r'<div class="value">([^<]*)</div><div class="label">([^<]*)</div>', page)
    assert cards == [
        ("5", t("report.asked", language)),
        ("2", t("report.answered", language)),
        ("40 %", t("report.share", language)),
        ("100 ms", t("report.latency", language)),
        ("3", t("report.unanswered", language)),
    ]
    header = next(line for line in text.splitlines() if t("report.latency", language) in line)
    assert header.split() == " ".join(label for _, label in cards).split()
