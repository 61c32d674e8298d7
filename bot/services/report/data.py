"""The report's figures: a :class:`Report` built from the question record for a period.

:func:`build_report` reads the questions through the records service
(:func:`bot.services.records.read_questions`, a read-only connection of its own, so the bot
keeps recording meanwhile) and counts questions per day, the share answered, the median
latency, the most frequent unanswered questions with near-duplicates grouped (the
knowledge gaps, :mod:`.grouping`), the most cited documents, 👍/👎 per document and
figures per guild.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from bot.services.records import AskedQuestion, read_questions
from bot.services.report.grouping import Gap, group_questions


@dataclass(frozen=True)
class DayCount:
    """Questions asked and answered on one day (local time)."""

    day: date
    asked: int
    answered: int


@dataclass(frozen=True)
class DocumentStat:
    """A document's citations and the 👍/👎 votes on answers that cited it."""

    document: str
    cited: int
    up: int
    down: int


@dataclass(frozen=True)
class GuildStat:
    """Questions asked in one guild (None: direct messages)."""

    guild_id: int | None
    asked: int
    answered: int
    median_latency_ms: float | None


@dataclass(frozen=True)
class Report:
    """What the question record says about a period."""

    since: datetime
    until: datetime
    asked: int
    answered: int
    median_latency_ms: float | None
    days: tuple[DayCount, ...]
    gaps: tuple[Gap, ...]
    cited: tuple[DocumentStat, ...]
    feedback: tuple[DocumentStat, ...]
    guilds: tuple[GuildStat, ...]
    unanswered: int = 0
    small_talk: int = 0  # greetings and thanks: not questions, so neither answered nor not
    seconds: float = field(default=0.0, compare=False)

    @property
    def answered_share(self) -> float | None:
        """Return answered / asked, or None when nothing was asked."""
        return self.answered / self.asked if self.asked else None


def build_report(
    database: Path,
    *,
    since: float,
    until: float | None = None,
    top: int = 10,
    tz: tzinfo | None = None,
    visibility: str | None = None,
    direct_questions: bool = True,
    show_document: Callable[[str], bool] | None = None,
) -> Report:
    """Return the report on questions asked from ``since`` until ``until`` (unix times).

    Days are counted in ``tz`` (default: the machine's local time). A database that does
    not exist gives an empty report. For a place that may not see everything:
    ``visibility="public"`` counts only questions asked where public documents are
    answered from; ``direct_questions=False`` keeps the words of direct-message questions
    out of the gaps (they are still counted); ``show_document`` says which cited
    documents may be named. The words of private questions (``/ask`` answered to the
    asker alone, :attr:`~bot.services.records.AskedQuestion.private`) never show in any
    report: they are counted only.
    """
    started = time.perf_counter()
    until = time.time() if until is None else until
    rows = read_questions(database, since=since, until=until, visibility=visibility)
    start = datetime.fromtimestamp(since, tz).astimezone(tz)
    end = datetime.fromtimestamp(until, tz).astimezone(tz)
    tally = _Tally(start.date(), end.date(), tz)
    for row in rows:
        words = (direct_questions or row.via != "dm") and not row.private
        tally.add(row, words=words, show_document=show_document)
    return replace(tally.report(start, end, top), seconds=time.perf_counter() - started)


@dataclass
class _GuildTally:
    asked: int = 0
    answered: int = 0
    latencies: list[float] = field(default_factory=list)


class _Tally:
    """The counts of a report, one question at a time (questions come oldest first)."""

    def __init__(self, first: date, last: date, tz: tzinfo | None) -> None:
        self.per_day: dict[date, list[int]] = {}
        day = first
        while day <= last:
            self.per_day[day] = [0, 0]
            day += timedelta(days=1)
        # Day boundaries as timestamps: one comparison per row instead of a datetime each.
        # (A naive datetime is local time, with its summer-time offset of that day.)
        self.boundaries = sorted(
            (datetime.combine(d, datetime.min.time(), tzinfo=tz).timestamp(), d)
            for d in self.per_day
        )
        self.cursor = 0
        self.asked = self.answered = 0
        self.cited: Counter[str] = Counter()
        self.up: Counter[str] = Counter()
        self.down: Counter[str] = Counter()
        self.latencies: list[float] = []
        self.guilds: dict[int | None, _GuildTally] = defaultdict(_GuildTally)
        self.unanswered: list[str] = []
        self.small_talk = 0

    def add(
        self, row: AskedQuestion, *, words: bool, show_document: Callable[[str], bool] | None
    ) -> None:
        """Count one question; ``words``: its text may show among the gaps."""
        if row.kind == "small_talk":  # counted apart: a greeting is neither answered nor a gap
            self.small_talk += 1
            return
        boundaries = self.boundaries
        while self.cursor + 1 < len(boundaries) and row.asked_at >= boundaries[self.cursor + 1][0]:
            self.cursor += 1
        counts = self.per_day[boundaries[self.cursor][1]]
        counts[0] += 1
        self.asked += 1
        guild = self.guilds[row.guild_id]
        guild.asked += 1
        if row.latency_ms is not None:
            self.latencies.append(row.latency_ms)
            guild.latencies.append(row.latency_ms)
        if row.answered:
            counts[1] += 1
            guild.answered += 1
            self.answered += 1
        elif words:
            self.unanswered.append(row.question)
        documents = row.sources
        if show_document is not None:
            documents = [d for d in documents if show_document(d)]
        for document in documents:
            self.cited[document] += 1
            if row.votes_up:
                self.up[document] += row.votes_up
            if row.votes_down:
                self.down[document] += row.votes_down

    def report(self, start: datetime, end: datetime, top: int) -> Report:
        """Return the report of what was counted, ``top`` rows in each list."""
        stats = [DocumentStat(d, n, self.up[d], self.down[d]) for d, n in self.cited.items()]
        feedback = sorted(
            (s for s in stats if s.up or s.down),
            key=lambda s: (-(s.up + s.down), -s.down, s.document),
        )
        guilds = sorted(
            self.guilds.items(), key=lambda item: (-item[1].asked, item[0] is None, item[0] or 0)
        )
        return Report(
            since=start,
            until=end,
            asked=self.asked,
            answered=self.answered,
            median_latency_ms=_median(self.latencies),
            days=tuple(DayCount(d, c[0], c[1]) for d, c in self.per_day.items()),
            gaps=tuple(group_questions(self.unanswered, top)),
            cited=tuple(sorted(stats, key=lambda s: (-s.cited, s.document))[:top]),
            feedback=tuple(feedback[:top]),
            guilds=tuple(
                GuildStat(g, v.asked, v.answered, _median(v.latencies)) for g, v in guilds
            ),
            unanswered=self.asked - self.answered,
            small_talk=self.small_talk,
        )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
