"""What the CLI's commands share: its language, its one-line errors, the engine and progress."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.locales import Language, t
from bot.services.errors import EXIT_ERROR, EXIT_USAGE

if TYPE_CHECKING:
    from index.build import BuildSummary
    from index.engine import Engine

__all__ = ["EXIT_ERROR", "EXIT_USAGE"]

# The language this run of the CLI speaks (set by main from cli_language).
_speaking: list[Language] = ["en"]


def language() -> Language:
    """Return the language this run of the CLI speaks."""
    return _speaking[0]


def set_language(spoken: Language) -> None:
    """Make the CLI speak ``spoken`` from now on (main does, before parsing)."""
    _speaking[0] = spoken


def _(key: str, /, **values: object) -> str:
    """Return the CLI's text ``key`` in its language."""
    return t(key, language(), **values)


class CliError(Exception):
    """An error to show the user as one line."""


def _engine(config: Config) -> Engine:
    from bot.services.indexing import open_engine

    def before_prepare() -> None:
        print(_("cli.preparing_model"), file=sys.stderr, flush=True)

    return open_engine(config, before_prepare=before_prepare)


def _progress_bar() -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    labels = {stage: _(f"cli.progress.{stage}") for stage in ("read", "embed", "write")}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in labels or total <= 0:
            return
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(
                total=total,
                desc=labels[stage],
                unit="",
                file=sys.stderr,
                leave=False,
                disable=not sys.stderr.isatty() and os.environ.get("NATVERKSBOT_PROGRESS") != "1",
            )
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def _summary_table(summary: BuildSummary) -> str:
    from bot.services.summary import summary_heading, summary_rows

    rows = summary_rows(summary, language())
    width = max(len(k) for k, _v in rows)
    lines = [summary_heading(summary, language())]
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    skipped = _("summary.skipped_file")
    for item in summary.skipped:
        lines.append(f"  {skipped} {item.path}: {item.reason}")
    return "\n".join(lines)


def _reindex(engine: Engine, *, force: bool = False) -> BuildSummary:
    progress, close = _progress_bar()
    try:
        return engine.reindex(progress, force=force)
    finally:
        close()


def _ensure_index(engine: Engine) -> None:
    from bot.services.indexing import ensure_index

    def before_build(incompatible: Exception | None) -> None:
        if incompatible is None:
            print(_("cli.first_index"), file=sys.stderr)
        else:
            # An index from another model (e.g. before an upgrade): rebuild, as the bot does.
            print(_("cli.rebuild", reason=incompatible), file=sys.stderr)

    progress, close = _progress_bar()
    try:
        summary = ensure_index(engine, progress, before_build=before_build)
    finally:
        close()
    if summary is not None:
        print(_summary_table(summary), file=sys.stderr)


def _print_answer(answer: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
    else:
        print(answer.text)


def _count(n: int, noun: str) -> str:
    """Return "1 row" / "2 rows" in the CLI's language (the counted text ``count.<noun>``)."""
    return _(f"count.{noun}", n=n)


def _reindex_after_change(engine: Engine) -> None:
    """Reindex after a change to the knowledge folder, or say the next reindex picks it up."""
    from bot.services.indexing import reindex_unless_locked

    progress, close = _progress_bar()
    try:
        summary = reindex_unless_locked(engine, progress)
    finally:
        close()
    print(_summary_table(summary) if summary is not None else _("kb.index_later"))
