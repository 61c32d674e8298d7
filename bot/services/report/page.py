"""The report as one self-contained web page, from the template ``templates/report.html``.

The page is rendered by jinja2 with auto-escaping on, so what people wrote (questions,
document names) always shows as text; only the chart, SVG made here from numbers and
catalogue words, goes in as markup. Its Content-Security-Policy lets nothing load.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path

import jinja2

from bot.locales import t
from bot.services.knowledge import atomic_write
from bot.services.report.chart import COLOURS
from bot.services.report.data import Report
from bot.services.report.svg import render_svg
from bot.services.report.tables import report_view

PAGE_MODE = 0o600
"""The page holds what people asked (direct messages too): for its owner only."""
TEMPLATE = "report.html"
"""The page's template, package data of :mod:`bot.services.report` (``templates/``)."""


@functools.cache
def _templates() -> jinja2.Environment:
    """Return the template environment (made once): auto-escaping, strict about names."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.services.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(report: Report, language: str = "sv") -> str:
    """Return the report as one self-contained HTML page (no network: inline CSS and SVG).

    Its headings, labels and figures are the terminal report's (``format_tables``), in
    ``language``.
    """

    def _(key: str, **values: object) -> str:
        return t(key, language, **values)

    view = report_view(report, language)
    period = f"{report.since:%Y-%m-%d} – {report.until:%Y-%m-%d}"
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    template = _templates().get_template(TEMPLATE)
    return template.render(
        language=language,
        page_title=_("report.page_title", period=period),
        title=_("report.title"),
        period=period,
        summary=view.summary,
        chart_heading=_("report.per_day"),
        chart=render_svg(report, language),
        sections=[
            (_("report.gaps"), view.gaps),
            (_("report.cited"), view.cited),
            (_("report.feedback"), view.feedback),
            (_("report.guilds"), view.guilds),
            (_("report.days"), view.days),
        ],
        nothing=_("report.none"),
        generated=_("report.generated", when=generated),
        colours=COLOURS,
    )


def write_html(path: Path, report: Report, language: str = "sv") -> None:
    """Write the report's page to ``path``, readable by its owner only (``PAGE_MODE``).

    The page is made under a temporary name with that mode and then put in place, so
    there is no moment when others may read it, and an older page there is replaced.
    """
    atomic_write(path, render_html(report, language).encode("utf-8"), mode=PAGE_MODE)
