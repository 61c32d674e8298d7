"""The report's words and figures in one language: what the terminal and the web page show.

:func:`report_view` turns a :class:`~bot.services.report.data.Report` into the key
figures and the tables, with the catalogue's labels (``report.*`` in
:mod:`bot.locales`), so both forms show the same figures under the same labels.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.locales import t
from bot.services.report.data import Report


@dataclass(frozen=True)
class Table:
    """Column headings, rows of shown text, and which columns are figures."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int]
    free_text: frozenset[int] = frozenset()
    """Columns of what people wrote (the terminal shortens them)."""


@dataclass(frozen=True)
class ReportView:
    """A report as its forms show it: the key figures (label, figure) and the tables."""

    summary: tuple[tuple[str, str], ...]
    days: Table
    gaps: Table
    cited: Table
    feedback: Table
    guilds: Table


def percent(share: float | None) -> str:
    """Return a share as "40 %", or "–" when there is none."""
    return "–" if share is None else f"{share * 100:.0f} %"


def milliseconds(value: float | None) -> str:
    """Return a duration as "82 ms", or "–" when there is none."""
    return "–" if value is None else f"{value:.0f} ms"


def thousands(n: int) -> str:
    """Return 100000 as "100 000" (Swedish digit grouping, a narrow no-break space)."""
    return f"{n:,}".replace(",", "\u202f")


def report_view(report: Report, language: str, variants_separator: str = " · ") -> ReportView:
    """Return the report's key figures and tables in ``language``."""

    def _(key: str) -> str:
        return t(key, language)

    def share(answered: int, asked: int) -> str:
        return percent(answered / asked if asked else None)

    summary = (
        (_("report.asked"), thousands(report.asked)),
        (_("report.answered"), thousands(report.answered)),
        (_("report.share"), percent(report.answered_share)),
        (_("report.latency"), milliseconds(report.median_latency_ms)),
        (_("report.unanswered"), thousands(report.unanswered)),
    ) + (
        # Greetings and thanks, counted apart from questions: shown once there are any.
        ((_("report.small_talk"), thousands(report.small_talk)),) if report.small_talk else ()
    )
    return ReportView(
        summary=summary,
        days=_table(
            (_("report.day"), _("report.asked"), _("report.answered"), _("report.share_short")),
            [
                (d.day.isoformat(), d.asked, d.answered, share(d.answered, d.asked))
                for d in report.days
            ],
            numeric={1, 2, 3},
        ),
        gaps=_table(
            (_("report.times"), _("report.question"), _("report.variants")),
            [(g.count, g.question, variants_separator.join(g.variants)) for g in report.gaps],
            numeric={0},
            free_text={1, 2},
        ),
        cited=_table(
            (_("report.cited_count"), _("report.document")),
            [(s.cited, s.document) for s in report.cited],
            numeric={0},
        ),
        feedback=_table(
            (_("report.up"), _("report.down"), _("report.document")),
            [(s.up, s.down, s.document) for s in report.feedback],
            numeric={0, 1},
        ),
        guilds=_table(
            (
                _("report.guild"),
                _("report.asked"),
                _("report.answered"),
                _("report.share_short"),
                _("report.latency_short"),
            ),
            [
                (
                    _("report.direct") if g.guild_id is None else str(g.guild_id),
                    g.asked,
                    g.answered,
                    share(g.answered, g.asked),
                    milliseconds(g.median_latency_ms),
                )
                for g in report.guilds
            ],
            numeric={1, 2, 3, 4},
        ),
    )


def _table(
    headers: tuple[str, ...],
    rows: list[tuple[object, ...]],
    *,
    numeric: Collection[int],
    free_text: Collection[int] = (),
) -> Table:
    return Table(
        headers,
        tuple(tuple(str(cell) for cell in row) for row in rows),
        frozenset(numeric),
        frozenset(free_text),
    )
