"""The report as one self-contained web page from an auto-escaping template (report/page.py)."""

from __future__ import annotations

import re
from datetime import UTC

from bot.services.report import build_report, render_html
from tests.bot.services.report.sample import DAY, NOW


def test_the_html_page_is_self_contained_and_escapes_what_people_wrote(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert "default-src 'none'" in page
