"""The report as terminal tables (``natverksbot report``), in the web page's words."""

from __future__ import annotations

from collections.abc import Sequence

from bot.locales import t
from bot.services.report.data import Report
from bot.services.report.tables import Table, report_view

CELL_LIMIT = 70
"""Characters of a question (or its other phrasings) shown in a terminal table."""


def format_tables(report: Report, language: str = "en") -> str:
    """Return the report as terminal tables, with the same words as its web page."""
    view = report_view(report, language, variants_separator=" | ")
    period = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M}"
    labels, figures = zip(*view.summary, strict=True)
    summary = Table(labels, (figures,), frozenset(range(len(labels))))
    lines = [t("report.questions", language, period=period), ""]
    lines += _lines(summary, language)
    for heading, table in (
        ("report.per_day", view.days),
        ("report.gaps", view.gaps),
        ("report.cited", view.cited),
        ("report.feedback", view.feedback),
        ("report.guilds", view.guilds),
    ):
        lines += ["", t(heading, language), *_lines(table, language)]
    return "\n".join(lines)


def _lines(table: Table, language: str) -> list[str]:
    """Return a plain text table: text left-aligned, figures right-aligned."""
    cells = [
        [_cut(c, CELL_LIMIT) if i in table.free_text else c for i, c in enumerate(row)]
        for row in table.rows
    ]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(table.headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if i in table.numeric else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  " + "  ".join(parts).rstrip()

    out = [line(table.headers), "  " + "  ".join("-" * w for w in widths)]
    return out + ([line(r) for r in cells] or ["  " + t("report.none", language)])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
