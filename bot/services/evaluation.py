"""An eval report's sentence-level metrics as text lines, in the CLI's language.

``index.evaluate.evaluate`` measures; this renders its ``sentences``, ``followups`` and
``summaries`` sections (issue 17) as a compact table. Discord-free.
"""

from __future__ import annotations

from typing import Any

from bot.locales import t

# The sentence metrics shown in the table, in column order: (report key, column label key).
_COLUMNS = (
    ("n", None),
    ("n_answerable", "cli.eval.col.answerable"),
    ("quote@1", None),
    ("supported", "cli.eval.col.supported"),
    ("wrong", "cli.eval.col.wrong"),
    ("wrong_share", "cli.eval.col.wrong_share"),
    ("declined_wrongly", "cli.eval.col.declined_wrongly"),
    ("quotes_per_answer", "cli.eval.col.quotes_per_answer"),
    ("answered", "cli.eval.col.answered"),
)


def sentence_report_lines(report: dict[str, Any], language: str) -> list[str]:
    """Return the gold-set part of an eval report as lines (none for other question sets).

    One table row per language and question kind, then each language's ``all`` and the
    overall one; the follow-ups in a table of their own; a line per language on how many
    unanswerable questions were declined, and one on the summaries. The JSON report also
    has every kind over all languages. With one language, its rows are the overall ones.
    """
    sentences = _languages(report.get("sentences") or {})
    followups = _languages(report.get("followups") or {})
    summaries = _languages(report.get("summaries") or {})
    lines: list[str] = []
    if sentences:
        lines.append(t("cli.eval.sentences", language))
        rows = [
            (lang, kind, metrics)
            for lang, kinds in sentences.items()
            for kind, metrics in kinds.items()
            if lang != "all" or kind == "all"
        ]
        lines += _table(rows, language)
    if followups:
        lines.append(t("cli.eval.followups", language))
        lines += _table([(lang, "followup", m) for lang, m in followups.items()], language)
    for lang, kinds in sentences.items():
        m = kinds["all"]
        if m["n_near_miss"] or m["n_off_topic"]:
            lines.append(
                t(
                    "cli.eval.declines",
                    language,
                    language=lang,
                    near=_number(m["declined_near_miss"]),
                    n_near=m["n_near_miss"],
                    off=_number(m["declined_off_topic"]),
                    n_off=m["n_off_topic"],
                )
            )
    for lang, m in summaries.items():
        lines.append(
            t(
                "cli.eval.summaries",
                language,
                language=lang,
                source=_number(m["right_source"]),
                lead=_number(m["lead"]),
                quotes=_number(m["quotes_per_summary"], 2),
                n=m["n"],
            )
        )
    return lines


def _languages(section: dict[str, Any]) -> dict[str, Any]:
    """Return a section by language, without ``all`` when there is only one language."""
    if len(section) == 2 and "all" in section:
        return {lang: m for lang, m in section.items() if lang != "all"}
    return section


def _table(rows: list[tuple[str, str, dict[str, Any]]], language: str) -> list[str]:
    """Return a header and one line per (language, kind, metrics) row, columns aligned."""
    header = [
        t("cli.eval.language", language),
        t("cli.eval.col.kind", language),
        *(t(label, language) if label else key for key, label in _COLUMNS),
    ]
    cells = [
        [
            lang,
            kind,
            *(_number(m[key], 2 if key == "quotes_per_answer" else 3) for key, _ in _COLUMNS),
        ]
        for lang, kind, m in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [header, *cells]
    ]


def _number(value: float | None, decimals: int = 3) -> str:
    """Return a metric as text: counts as they are, shares with ``decimals``, none as "–"."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{decimals}f}"
