"""Reports from the question record: what people ask, what the bot could not answer.

The data and its forms live apart:

- :mod:`.periods`: the period a report covers (``--since 30d``);
- :mod:`.data`: :func:`build_report` reads the record through the records service and
  returns a :class:`Report` (questions per day, share answered, median latency, gaps,
  citations, votes, guilds);
- :mod:`.grouping`: near-duplicate unanswered questions grouped into knowledge gaps;
- :mod:`.tables`: the report's figures and labels in one language, shared by the forms;
- :mod:`.text`: terminal tables (:func:`format_tables`);
- :mod:`.page`: one self-contained HTML page from a jinja2 template (:func:`render_html`);
- :mod:`.chart`: the chart's geometry, drawn as SVG (:mod:`.svg`, :func:`render_svg`)
  and as PNG (:mod:`.png`, :func:`render_png`).
"""

from __future__ import annotations

from bot.services.report.data import DayCount, DocumentStat, GuildStat, Report, build_report
from bot.services.report.grouping import Gap, group_questions, question_key
from bot.services.report.page import render_html, write_html
from bot.services.report.periods import parse_since
from bot.services.report.png import render_png
from bot.services.report.svg import render_svg
from bot.services.report.text import format_tables

__all__ = [
    "DayCount",
    "DocumentStat",
    "Gap",
    "GuildStat",
    "Report",
    "build_report",
    "format_tables",
    "group_questions",
    "parse_since",
    "question_key",
    "render_html",
    "render_png",
    "render_svg",
    "write_html",
]
