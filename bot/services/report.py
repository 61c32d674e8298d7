"""Reports from the question record: what people ask, what the bot could not answer.

:func:`build_report` reads ``bot.sqlite`` (read-only, its own connection, so the bot keeps
recording meanwhile) and returns a :class:`Report`: questions per day, the share answered,
the median latency, the most frequent unanswered questions with near-duplicates grouped
(the knowledge gaps), the most cited documents, 👍/👎 per document and figures per guild.
It renders as terminal tables (:func:`format_tables`), as one self-contained HTML page
with inline SVG charts (:func:`render_html`) and as a PNG chart (:func:`render_png`).

Near-duplicates: a question becomes the set of its content words' Swedish stems
(stopwords dropped, :mod:`index.lexical`), with a few synonyms mapped to one stem
("började" and "startade" both become ``start``) and misspellings to the commoner stem
they resemble (character trigrams); two questions are grouped when those sets overlap
enough (Jaccard).
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import math
import re
import sqlite3
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bot.locales import t
from index.lexical import stem, word_terms, words

DAY_SECONDS = 86_400
GROUP_THRESHOLD = 0.6
"""Stem-set Jaccard at or above which two questions count as the same question."""
TRIGRAM_THRESHOLD = 0.75
"""Character-trigram Dice at or above which a rare stem is taken for a misspelt common one."""
_MAX_CANDIDATES = 64

# Words that ask the same thing, each group mapped to one stem (Swedish, some English).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("start", "starta", "startade", "börja", "började", "början", "påbörja", "påbörjades",
     "inleda", "inleddes", "grunda", "grundades", "etablera", "etablerades", "begin", "began",
     "begun", "started"),
    ("slut", "sluta", "slutade", "avsluta", "avslutades", "upphöra", "upphörde", "end",
     "ended", "stop", "stopped"),
    ("kosta", "kostar", "kostnad", "kostnaden", "pris", "priset", "avgift", "avgiften", "taxa",
     "cost", "costs", "price", "fee"),
    ("ansöka", "ansökan", "söka", "söker", "anmäla", "anmälan", "apply", "application",
     "register"),
    ("delta", "deltar", "deltog", "medverka", "medverkar", "ingå", "ingår", "participate",
     "members", "member"),
    ("syfte", "syftet", "mål", "målet", "ändamål", "purpose", "goal", "aim"),
    ("ansvara", "ansvarar", "ansvarig", "ansvariga", "ansvaret", "responsible"),
)  # fmt: skip
_CANONICAL: dict[str, str] = {
    stem(w.casefold()): stem(group[0].casefold()) for group in SYNONYMS for w in group
}


@dataclass(frozen=True)
class DayCount:
    """Questions asked and answered on one day (local time)."""

    day: date
    asked: int
    answered: int


@dataclass(frozen=True)
class Gap:
    """An unanswered question: its commonest phrasing, how often, and other phrasings."""

    question: str
    count: int
    variants: tuple[str, ...] = ()


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
    seconds: float = field(default=0.0, compare=False)

    @property
    def answered_share(self) -> float | None:
        """Return answered / asked, or None when nothing was asked."""
        return self.answered / self.asked if self.asked else None


# --------------------------------------------------------------------------- periods


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdwm]?)\s*$", re.IGNORECASE)
EARLIEST_SINCE = 946_684_800.0  # 2000-01-01 UTC
_UNITS = {"h": 3600, "d": DAY_SECONDS, "w": 7 * DAY_SECONDS, "m": 30 * DAY_SECONDS, "": DAY_SECONDS}


def parse_since(text: str, now: float | None = None) -> float:
    """Return the start of a period as unix time: "30d", "12h", "2w", "3m" or "2025-01-31".

    Raises ValueError with a plain message for anything else.
    """
    now = time.time() if now is None else now
    match = _DURATION.match(text or "")
    try:
        if match:
            since = now - float(match.group(1)) * _UNITS[match.group(2).lower()]
        else:
            since = datetime.fromisoformat(text.strip()).timestamp()
    except (ValueError, OverflowError, OSError):
        raise ValueError(
            f"--since {text!r}: expected a duration such as 30d, 12h, 2w or a date (2025-01-31)"
        ) from None
    # The record began in this century: an earlier start is a typo, and days before the
    # epoch (or beyond the calendar) cannot be counted.
    if not EARLIEST_SINCE <= since <= now:
        raise ValueError(f"--since {text!r}: the period must start between 2000-01-01 and now")
    return since


# --------------------------------------------------------------------------- grouping


def question_key(text: str) -> frozenset[str]:
    """Return the set of a question's content stems, synonyms mapped to one stem."""
    terms = frozenset(_CANONICAL.get(t, t) for t in word_terms(text))
    # A question of stopwords only ("vad är det?") keeps its words, to group it at all.
    return terms or frozenset(words(text))


def _trigrams(term: str) -> frozenset[str]:
    padded = f"_{term}_"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _typo_map(frequency: Counter[str]) -> dict[str, str]:
    """Return misspelt stem -> the commoner stem it is taken for ("byglov" -> "bygglov").

    Stems of five letters or more that start alike (three letters) and differ by at most
    two in length are compared by character trigrams; the rarer is mapped to the commoner.
    """
    buckets: dict[str, list[str]] = defaultdict(list)
    for term in frequency:
        if len(term) >= 5 and not term.isdigit():
            buckets[term[:3]].append(term)
    mapping: dict[str, str] = {}
    for bucket in buckets.values():
        if len(bucket) < 2:
            continue
        ranked = sorted(bucket, key=lambda term: (-frequency[term], term))
        grams = {term: _trigrams(term) for term in ranked}
        for i, term in enumerate(ranked):
            for better in ranked[:i]:
                if (
                    abs(len(better) - len(term)) <= 2
                    and _dice(grams[term], grams[better]) >= TRIGRAM_THRESHOLD
                ):
                    mapping[term] = mapping.get(better, better)
                    break
    return mapping


@dataclass
class _Group:
    key: frozenset[str]
    count: int = 0
    phrasings: Counter[str] = field(default_factory=Counter)


def group_questions(questions: Iterable[str], top: int | None = None) -> list[Gap]:
    """Return questions grouped by near-duplicates, most frequent group first.

    Each question becomes its key (:func:`question_key`); misspelt stems are mapped to
    the commoner stem they resemble; identical keys count together. Then, from the most
    frequent key down, each key joins the most similar group made so far (Jaccard of the
    stem sets against the group's first key) when that reaches :data:`GROUP_THRESHOLD`,
    else starts a group. At 0.6, "när öppnar X" and "när öppnar X på helgen" group, but
    "när öppnar X på helgen" and "när öppnar Y på helgen" do not, nor "vad kostar X Y"
    and "hur söker man X Y". A key is compared only with groups sharing one of its
    rarest stems (enough of them that no group at the threshold is missed), at most
    :data:`_MAX_CANDIDATES` per stem, the largest groups first.
    """
    by_key: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
    for question in questions:
        shown = " ".join(question.split())
        if shown:
            by_key[question_key(shown)][shown] += 1
    frequency: Counter[str] = Counter()
    for key, phrasings in by_key.items():
        n = sum(phrasings.values())
        for term in key:
            frequency[term] += n
    if typos := _typo_map(frequency):
        merged: dict[frozenset[str], Counter[str]] = defaultdict(Counter)
        for key, phrasings in by_key.items():
            merged[frozenset(typos.get(t, t) for t in key)].update(phrasings)
        by_key = merged
        for wrong, right in typos.items():
            frequency[right] += frequency.pop(wrong)
    ordered = sorted(by_key.items(), key=lambda item: (-sum(item[1].values()), sorted(item[0])))
    groups: list[_Group] = []
    by_term: dict[str, list[int]] = defaultdict(list)
    for key, phrasings in ordered:
        # A group at the threshold shares at least ceil(t * |key|) stems with the key, so
        # it shares one of any |key| - that + 1 of them: the rarest are looked up.
        needed = math.ceil(GROUP_THRESHOLD * len(key) - 1e-9)
        rarest = sorted(key, key=lambda t: (frequency[t], t))[: len(key) - needed + 1]
        candidates = dict.fromkeys(
            index for term in rarest for index in by_term.get(term, ())[:_MAX_CANDIDATES]
        )
        best, best_score = None, 0.0
        for index in candidates:
            other = groups[index].key
            score = len(key & other) / len(key | other)
            if score > best_score:
                best, best_score = index, score
        if best is None or best_score < GROUP_THRESHOLD:
            best = len(groups)
            groups.append(_Group(key))
            for term in key:
                by_term[term].append(best)
        group = groups[best]
        group.count += sum(phrasings.values())
        group.phrasings.update(phrasings)
    groups.sort(key=lambda g: -g.count)
    gaps = []
    for group in groups[:top] if top else groups:
        # The commonest phrasing shows; among equally common ones the shortest.
        ranked = sorted(group.phrasings, key=lambda text: (-group.phrasings[text], len(text), text))
        gaps.append(Gap(ranked[0], group.count, tuple(ranked[1:4])))
    return gaps


# --------------------------------------------------------------------------- building


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
    documents may be named.
    """
    started = time.perf_counter()
    until = time.time() if until is None else until
    rows: list[tuple] = []
    if Path(database).is_file():
        uri = f"file:{Path(database).resolve()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            db.execute("PRAGMA busy_timeout=5000")
            with contextlib.suppress(sqlite3.OperationalError):  # no table yet
                sql = (
                    "SELECT asked_at, guild_id, answered, latency_ms, sources, votes_up,"
                    " votes_down, question, via FROM questions WHERE asked_at >= ? AND asked_at < ?"
                )
                args: tuple[object, ...] = (since, until)
                if visibility is not None:
                    sql += " AND visibility = ?"
                    args += (visibility,)
                rows = db.execute(sql, args).fetchall()
    start = datetime.fromtimestamp(since, tz).astimezone(tz)
    end = datetime.fromtimestamp(until, tz).astimezone(tz)
    per_day: dict[date, list[int]] = {}
    day = start.date()
    while day <= end.date():
        per_day[day] = [0, 0]
        day += timedelta(days=1)
    # Day boundaries as timestamps: one comparison per row instead of a datetime each.
    # (A naive datetime is local time, with its summer-time offset of that day.)
    boundaries = sorted(
        (datetime.combine(d, datetime.min.time(), tzinfo=tz).timestamp(), d) for d in per_day
    )
    cited: Counter[str] = Counter()
    up: Counter[str] = Counter()
    down: Counter[str] = Counter()
    latencies: list[float] = []
    guild_rows: dict[int | None, list] = defaultdict(lambda: [0, 0, []])
    unanswered: list[str] = []
    answered_total = 0
    cursor = 0
    for row in sorted(rows, key=lambda r: r[0]):
        asked_at, guild_id, answered, latency, sources, votes_up, votes_down, question, via = row
        while cursor + 1 < len(boundaries) and asked_at >= boundaries[cursor + 1][0]:
            cursor += 1
        counts = per_day[boundaries[cursor][1]]
        counts[0] += 1
        guild = guild_rows[guild_id]
        guild[0] += 1
        if latency is not None:
            latencies.append(latency)
            guild[2].append(latency)
        if answered:
            counts[1] += 1
            guild[1] += 1
            answered_total += 1
        elif direct_questions or via != "dm":
            unanswered.append(question)
        documents = json.loads(sources) if sources and sources != "[]" else []
        if show_document is not None:
            documents = [d for d in documents if show_document(d)]
        for document in documents:
            cited[document] += 1
            if votes_up:
                up[document] += votes_up
            if votes_down:
                down[document] += votes_down
    documents = set(cited)
    stats = {d: DocumentStat(d, cited[d], up[d], down[d]) for d in documents}
    feedback = sorted(
        (s for s in stats.values() if s.up or s.down),
        key=lambda s: (-(s.up + s.down), -s.down, s.document),
    )
    return Report(
        since=start,
        until=end,
        asked=len(rows),
        answered=answered_total,
        median_latency_ms=statistics.median(latencies) if latencies else None,
        days=tuple(DayCount(d, c[0], c[1]) for d, c in per_day.items()),
        gaps=tuple(group_questions(unanswered, top)),
        cited=tuple(sorted(stats.values(), key=lambda s: (-s.cited, s.document))[:top]),
        feedback=tuple(feedback[:top]),
        guilds=tuple(
            GuildStat(g, v[0], v[1], statistics.median(v[2]) if v[2] else None)
            for g, v in sorted(
                guild_rows.items(),
                key=lambda item: (-item[1][0], item[0] is None, item[0] or 0),
            )
        ),
        unanswered=len(rows) - answered_total,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- terminal


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _guild_name(guild_id: int | None, language: str = "en") -> str:
    return t("report.direct", language) if guild_id is None else str(guild_id)


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], language: str = "en"
) -> list[str]:
    """Return a plain text table: left-aligned text, right-aligned numbers."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(_is_number(r[i]) for r in cells) and bool(cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  " + "  ".join(parts).rstrip()

    out = [line(headers), "  " + "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells] or ["  " + t("report.none", language)]
    return out


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-–]|[\d.,]+( %| ms)?", text))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_tables(report: Report, language: str = "en") -> str:
    """Return the report as terminal tables, with the same words as its web page."""

    def _(key: str, **values: object) -> str:
        return t(key, language, **values)

    def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
        return _table(headers, rows, language)

    period = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M}"
    lines = [_("report.questions", period=period), ""]
    lines += table(
        [_("report.asked"), _("report.answered"), _("report.share"), _("report.latency")],
        [
            [
                report.asked,
                report.answered,
                _percent(report.answered_share),
                _ms(report.median_latency_ms),
            ]
        ],
    )
    lines += ["", _("report.per_day")]
    lines += table(
        [_("report.day"), _("report.asked"), _("report.answered"), _("report.share_short")],
        [
            [
                d.day.isoformat(),
                d.asked,
                d.answered,
                _percent(d.answered / d.asked if d.asked else None),
            ]
            for d in report.days
        ],
    )
    lines += ["", _("report.gaps")]
    lines += table(
        [_("report.times"), _("report.question"), _("report.variants")],
        [[g.count, _cut(g.question, 70), _cut(" | ".join(g.variants), 70)] for g in report.gaps],
    )
    lines += ["", _("report.cited")]
    lines += table(
        [_("report.cited_count"), _("report.document")],
        [[s.cited, s.document] for s in report.cited],
    )
    lines += ["", _("report.feedback")]
    lines += table(
        [_("report.up"), _("report.down"), _("report.document")],
        [[s.up, s.down, s.document] for s in report.feedback],
    )
    lines += ["", _("report.guilds")]
    lines += table(
        [
            _("report.guild"),
            _("report.asked"),
            _("report.answered"),
            _("report.share_short"),
            _("report.latency_short"),
        ],
        [
            [
                _guild_name(g.guild_id, language),
                g.asked,
                g.answered,
                _percent(g.answered / g.asked if g.asked else None),
                _ms(g.median_latency_ms),
            ]
            for g in report.guilds
        ],
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- charts

_ANSWERED = "#2b6cb0"
_ABSTAINED = "#f6ad55"
_SHARE = "#276749"
_GRID = "#e2e8f0"
_TEXT = "#1a202c"


@dataclass(frozen=True)
class _Axis:
    """A value axis from 0 to a round maximum, with its tick values."""

    top: int
    ticks: tuple[int, ...]


def _axis(maximum: int) -> _Axis:
    """Return a 0..top axis with 4-6 round ticks covering ``maximum``."""
    maximum = max(1, maximum)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if maximum / step <= 5:
            break
    else:
        step = 10 ** len(str(maximum // 5))
    top = -(-maximum // step) * step
    return _Axis(top, tuple(range(0, top + 1, step)))


def _day_label(day: date, count: int) -> str | None:
    """Return the label under a day's bar, or None to leave it out (keeps labels apart)."""
    every = max(1, -(-count // 12))
    return f"{day.day}/{day.month}" if count <= 12 or day.toordinal() % every == 0 else None


def render_svg(report: Report, language: str = "sv", width: int = 900, height: int = 320) -> str:
    """Return an SVG chart: questions per day (answered / not) and the answered share."""
    texts = _chart_text(language)
    left, right, top_margin, bottom = 48, 52, 40, 44
    plot_w, plot_h = width - left - right, height - top_margin - bottom
    axis = _axis(max((d.asked for d in report.days), default=0))
    n = max(1, len(report.days))
    slot = plot_w / n
    bar = max(1.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{html.escape(texts["title"])}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f'<text x="{left}" y="20" font-size="15" font-weight="600" fill="{_TEXT}">'
        f"{html.escape(texts['title'])}</text>",
    ]
    legend = [
        (_ANSWERED, texts["answered"]),
        (_ABSTAINED, texts["unanswered"]),
        (_SHARE, texts["share"]),
    ]
    x = width - right - 330
    for colour, label in legend:
        parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="20" fill="{_TEXT}">{html.escape(label)}</text>')
        x += 20 + 7 * len(label)
    for tick in axis.ticks:
        y = top_margin + plot_h - plot_h * tick / axis.top
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_TEXT}">{tick}</text>'
        )
    for pct in (0, 50, 100):
        y = top_margin + plot_h - plot_h * pct / 100
        parts.append(
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="{_SHARE}">{pct} %</text>'
        )
    points = []
    for i, d in enumerate(report.days):
        x0 = left + i * slot + (slot - bar) / 2
        h_answered = plot_h * d.answered / axis.top
        h_other = plot_h * (d.asked - d.answered) / axis.top
        base = top_margin + plot_h
        title = f"{d.day.isoformat()}: {d.asked} / {d.answered}"
        parts.append(
            f'<rect x="{x0:.1f}" y="{base - h_answered:.1f}" width="{bar:.1f}" '
            f'height="{h_answered:.1f}" fill="{_ANSWERED}"><title>{title}</title></rect>'
        )
        parts.append(
            f'<rect x="{x0:.1f}" y="{base - h_answered - h_other:.1f}" width="{bar:.1f}" '
            f'height="{h_other:.1f}" fill="{_ABSTAINED}"><title>{title}</title></rect>'
        )
        if d.asked:
            share_y = top_margin + plot_h - plot_h * d.answered / d.asked
            points.append(f"{x0 + bar / 2:.1f},{share_y:.1f}")
        label = _day_label(d.day, n)
        if label:
            parts.append(
                f'<text x="{x0 + bar / 2:.1f}" y="{top_margin + plot_h + 16}" '
                f'text-anchor="middle" fill="{_TEXT}">{label}</text>'
            )
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{_SHARE}" '
            'stroke-width="2.5"/>'
        )
        for point in points:
            px, py = point.split(",")
            parts.append(f'<circle cx="{px}" cy="{py}" r="3" fill="{_SHARE}"/>')
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top_margin + plot_h}" '
        f'y2="{top_margin + plot_h}" stroke="{_TEXT}"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _chart_text(language: str) -> dict[str, str]:
    """Return the chart's title and legend in ``language`` (the report's own words)."""
    return {
        "title": t("report.per_day", language),
        "answered": t("report.answered", language),
        "unanswered": t("report.unanswered", language),
        "share": t("report.share", language),
    }


# Fonts with Swedish letters, found by Pillow in the system's font folders (Debian:
# fonts-dejavu-core, fonts-liberation); Pillow's built-in font is the fallback.
_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "Helvetica.ttc")
_FOLD = str.maketrans("åäöÅÄÖé", "aaoAAOe")


def _font(size: int) -> tuple[Any, bool]:
    """Return (a font of ``size`` px, whether it has å, ä and ö)."""
    from PIL import ImageFont

    for name in _FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def render_png(report: Report, language: str = "sv", width: int = 960, height: int = 400) -> bytes:
    """Return the chart of :func:`render_svg` as a PNG image (drawn with Pillow)."""
    from PIL import Image, ImageDraw

    texts = _chart_text(language)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, complete = _font(14)
    title_font, _ = _font(18)
    if not complete:  # Pillow's own font has no å, ä, ö: write them plain rather than as boxes
        texts = {k: v.translate(_FOLD) for k, v in texts.items()}
    left, right, top_margin, bottom = 56, 64, 50, 48
    plot_w, plot_h = width - left - right, height - top_margin - bottom
    axis = _axis(max((d.asked for d in report.days), default=0))
    n = max(1, len(report.days))
    slot = plot_w / n
    bar = max(1.0, slot * 0.7)
    base = top_margin + plot_h
    draw.text((left, 14), texts["title"], fill=_TEXT, font=title_font)
    x = width - right - 400
    for colour, label in (
        (_ANSWERED, texts["answered"]),
        (_ABSTAINED, texts["unanswered"]),
        (_SHARE, texts["share"]),
    ):
        draw.rectangle((x, 18, x + 12, 30), fill=colour)
        draw.text((x + 16, 16), label, fill=_TEXT, font=font)
        x += 28 + int(draw.textlength(label, font=font))
    for tick in axis.ticks:
        y = base - plot_h * tick / axis.top
        draw.line((left, y, left + plot_w, y), fill=_GRID)
        label = str(tick)
        draw.text(
            (left - 8 - draw.textlength(label, font=font), y - 8), label, fill=_TEXT, font=font
        )
    for pct in (0, 50, 100):
        y = base - plot_h * pct / 100
        draw.text((left + plot_w + 6, y - 8), f"{pct} %", fill=_SHARE, font=font)
    points = []
    for i, d in enumerate(report.days):
        x0 = left + i * slot + (slot - bar) / 2
        h_answered = plot_h * d.answered / axis.top
        h_other = plot_h * (d.asked - d.answered) / axis.top
        if h_answered:
            draw.rectangle((x0, base - h_answered, x0 + bar, base), fill=_ANSWERED)
        if h_other:
            draw.rectangle(
                (x0, base - h_answered - h_other, x0 + bar, base - h_answered), fill=_ABSTAINED
            )
        if d.asked:
            points.append((x0 + bar / 2, top_margin + plot_h - plot_h * d.answered / d.asked))
        label = _day_label(d.day, n)
        if label:
            w = draw.textlength(label, font=font)
            draw.text((x0 + bar / 2 - w / 2, base + 8), label, fill=_TEXT, font=font)
    if len(points) > 1:
        draw.line(points, fill=_SHARE, width=3)
    for px, py in points:
        draw.ellipse((px - 4, py - 4, px + 4, py + 4), fill=_SHARE)
    draw.line((left, base, left + plot_w, base), fill=_TEXT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------- HTML


def _thousands(n: int) -> str:
    """Return 100000 as "100 000" (Swedish digit grouping, a narrow no-break space)."""
    return f"{n:,}".replace(",", "\u202f")


def render_html(report: Report, language: str = "sv") -> str:
    """Return the report as one self-contained HTML page (no network: inline CSS and SVG).

    Its headings and labels are the terminal report's (``format_tables``), in ``language``.
    """
    e = html.escape

    def _(key: str, **values: object) -> str:
        return t(key, language, **values)

    share = _percent(report.answered_share)

    def table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: set[int]) -> str:
        head = "".join(
            f'<th class="num">{e(h)}</th>' if i in numeric else f"<th>{e(h)}</th>"
            for i, h in enumerate(headers)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="num">{e(str(c))}</td>' if i in numeric else f"<td>{e(str(c))}</td>"
                for i, c in enumerate(row)
            )
            + "</tr>"
            for row in rows
        )
        if not rows:
            body = f'<tr><td colspan="{len(headers)}" class="empty">{e(_("report.none"))}</td></tr>'
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    period = f"{report.since:%Y-%m-%d} – {report.until:%Y-%m-%d}"
    cards = "".join(
        f'<div class="card"><div class="value">{e(value)}</div>'
        f'<div class="label">{e(label)}</div></div>'
        for value, label in (
            (_thousands(report.asked), _("report.asked")),
            (_thousands(report.answered), _("report.answered")),
            (share, _("report.share")),
            (_ms(report.median_latency_ms), _("report.latency")),
            (_thousands(report.unanswered), _("report.unanswered")),
        )
    )
    gaps = table(
        [_("report.times"), _("report.question"), _("report.variants")],
        [[g.count, g.question, " · ".join(g.variants)] for g in report.gaps],
        {0},
    )
    cited = table(
        [_("report.cited_count"), _("report.document")],
        [[s.cited, s.document] for s in report.cited],
        {0},
    )
    feedback = table(
        [_("report.up"), _("report.down"), _("report.document")],
        [[s.up, s.down, s.document] for s in report.feedback],
        {0, 1},
    )
    guilds = table(
        [
            _("report.guild"),
            _("report.asked"),
            _("report.answered"),
            _("report.share_short"),
            _("report.latency_short"),
        ],
        [
            [
                _guild_name(g.guild_id, language),
                g.asked,
                g.answered,
                _percent(g.answered / g.asked if g.asked else None),
                _ms(g.median_latency_ms),
            ]
            for g in report.guilds
        ],
        {1, 2, 3, 4},
    )
    days = table(
        [_("report.day"), _("report.asked"), _("report.answered"), _("report.share_short")],
        [
            [
                d.day.isoformat(),
                d.asked,
                d.answered,
                _percent(d.answered / d.asked if d.asked else None),
            ]
            for d in report.days
        ],
        {1, 2, 3},
    )
    chart = render_svg(report, language)
    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="{e(language)}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(_("report.page_title", period=period))}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: {_TEXT};
       margin: 2rem auto; max-width: 980px; padding: 0 1rem; line-height: 1.4; }}
h1 {{ font-size: 1.6rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid {_GRID};
      padding-bottom: .2rem; }}
.period {{ color: #4a5568; margin-top: 0; }}
.cards {{ display: flex; gap: .8rem; flex-wrap: wrap; margin: 1rem 0; }}
.card {{ border: 1px solid {_GRID}; border-radius: 8px; padding: .6rem 1rem; min-width: 130px; }}
.card .value {{ font-size: 1.5rem; font-weight: 600; }}
.card .label {{ color: #4a5568; font-size: .85rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: .92rem; }}
th, td {{ text-align: left; padding: .3rem .5rem; border-bottom: 1px solid {_GRID};
          vertical-align: top; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;
                  width: 1%; }}
td.empty {{ color: #718096; font-style: italic; }}
svg {{ max-width: 100%; height: auto; }}
footer {{ margin-top: 2rem; color: #718096; font-size: .8rem; }}
</style>
</head>
<body>
<h1>{e(_("report.title"))}</h1>
<p class="period">{e(period)}</p>
<div class="cards">{cards}</div>
<h2>{e(_("report.per_day"))}</h2>
{chart}
<h2>{e(_("report.gaps"))}</h2>
{gaps}
<h2>{e(_("report.cited"))}</h2>
{cited}
<h2>{e(_("report.feedback"))}</h2>
{feedback}
<h2>{e(_("report.guilds"))}</h2>
{guilds}
<h2>{e(_("report.days"))}</h2>
{days}
<footer>{e(_("report.generated", when=generated))}</footer>
</body>
</html>
"""
