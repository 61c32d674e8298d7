"""A reindex summary as rows of text, the same on the command line and in Discord."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.locales import t
from index.build import BuildSummary


def build_time(build: str) -> str:
    """Return a build id ("20260101T120000123456Z") as a readable UTC time."""
    try:
        when = datetime.strptime(build[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return build
    return f"{when:%Y-%m-%d %H:%M} UTC"


def summary_heading(summary: BuildSummary, language: str) -> str:
    """Return the first line: a new index built (when), or the index already up to date."""
    if not summary.changed:
        return t("reindex.unchanged", language)
    return t("reindex.built", language, when=build_time(summary.build))


def summary_rows(summary: BuildSummary, language: str) -> list[tuple[str, str]]:
    """Return (label, value) rows: documents, chunks, reused, changes, skipped, seconds."""
    return [
        (t("summary.documents", language), str(summary.documents)),
        (t("summary.chunks", language), str(summary.chunks)),
        (t("summary.embedded", language), str(summary.embedded)),
        (t("summary.reused", language), str(summary.reused)),
        (
            t("summary.changes", language),
            f"{len(summary.added)} / {len(summary.updated)} / {len(summary.removed)}",
        ),
        (t("summary.skipped", language), str(len(summary.skipped))),
        (t("summary.seconds", language), f"{summary.seconds:.2f}"),
    ]
