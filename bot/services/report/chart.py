"""The chart of questions per day, as geometry: what the SVG and PNG renderers both draw.

Bars per day (answered at the bottom, unanswered above), a count axis on the left, the
answered share as a line against a 0-100 % scale on the right, a day label under every
bar (or every few, to keep them apart) and a legend to the right of the title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.locales import t
from bot.services.report.data import Report


@dataclass(frozen=True)
class Palette:
    """The chart's colours (the web page's text and lines too)."""

    answered: str = "#2b6cb0"
    abstained: str = "#f6ad55"
    share: str = "#276749"
    grid: str = "#e2e8f0"
    text: str = "#1a202c"


COLOURS = Palette()


@dataclass(frozen=True)
class Frame:
    """An image's size and margins, and the room its legend takes."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    legend_width: int
    """Room for the legend, from the right margin leftwards."""
    legend_gap: int
    """Space from a legend label's start to the next entry's box, beyond the label."""


@dataclass(frozen=True)
class LegendEntry:
    """A colour box at ``x`` and its label."""

    x: int
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    """A value on an axis and its height in the image."""

    y: float
    value: int


@dataclass(frozen=True)
class Bar:
    """One day's bar: x and width, the two stacked parts (top y and height), its label."""

    day: date
    asked: int
    answered: int
    x: float
    width: float
    answered_y: float
    answered_height: float
    other_y: float
    other_height: float
    label: str | None
    """The day under the bar (None: left out, to keep the labels apart)."""

    @property
    def middle(self) -> float:
        """Return the x of the bar's middle."""
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    """Everything a renderer draws, placed: it only chooses fonts and strokes."""

    frame: Frame
    title: str
    legend: tuple[LegendEntry, ...]
    base: float
    """The y of the count axis's zero (the plot's bottom)."""
    ticks: tuple[Tick, ...]
    share_ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    points: tuple[tuple[float, float], ...]
    """The answered share of each day with questions (x, y)."""

    @property
    def plot_left(self) -> int:
        """Return the x where the plot starts."""
        return self.frame.left

    @property
    def plot_right(self) -> int:
        """Return the x where the plot ends."""
        return self.frame.width - self.frame.right


def chart_texts(language: str) -> dict[str, str]:
    """Return the chart's title and legend in ``language`` (the report's own words)."""
    return {
        "title": t("report.per_day", language),
        "answered": t("report.answered", language),
        "unanswered": t("report.unanswered", language),
        "share": t("report.share", language),
    }


def chart_geometry(
    report: Report, frame: Frame, texts: dict[str, str], measure: Callable[[str], int]
) -> Chart:
    """Return the chart of ``report`` placed in ``frame``; ``measure`` gives a label's width."""
    plot_w = frame.width - frame.left - frame.right
    plot_h = frame.height - frame.top - frame.bottom
    base = frame.top + plot_h
    top, steps = _axis(max((d.asked for d in report.days), default=0))
    n = max(1, len(report.days))
    slot = plot_w / n
    width = max(1.0, slot * 0.7)
    bars = []
    for i, d in enumerate(report.days):
        h_answered = plot_h * d.answered / top
        h_other = plot_h * (d.asked - d.answered) / top
        bars.append(
            Bar(
                day=d.day,
                asked=d.asked,
                answered=d.answered,
                x=frame.left + i * slot + (slot - width) / 2,
                width=width,
                answered_y=base - h_answered,
                answered_height=h_answered,
                other_y=base - h_answered - h_other,
                other_height=h_other,
                label=_day_label(d.day, n),
            )
        )
    return Chart(
        frame=frame,
        title=texts["title"],
        legend=_legend(frame, texts, measure),
        base=base,
        ticks=tuple(Tick(base - plot_h * tick / top, tick) for tick in steps),
        share_ticks=tuple(Tick(base - plot_h * pct / 100, pct) for pct in (0, 50, 100)),
        bars=tuple(bars),
        points=tuple((b.middle, base - plot_h * b.answered / b.asked) for b in bars if b.asked),
    )


def _legend(
    frame: Frame, texts: dict[str, str], measure: Callable[[str], int]
) -> tuple[LegendEntry, ...]:
    entries = []
    x = frame.width - frame.right - frame.legend_width
    for colour, key in (
        (COLOURS.answered, "answered"),
        (COLOURS.abstained, "unanswered"),
        (COLOURS.share, "share"),
    ):
        entries.append(LegendEntry(x, colour, texts[key]))
        x += frame.legend_gap + measure(texts[key])
    return tuple(entries)


def _axis(maximum: int) -> tuple[int, range]:
    """Return a 0..top axis (top, its ticks) with 4-6 round ticks covering ``maximum``."""
    maximum = max(1, maximum)
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if maximum / step <= 5:
            break
    else:
        step = 10 ** len(str(maximum // 5))
    top = -(-maximum // step) * step
    return top, range(0, top + 1, step)


def _day_label(day: date, count: int) -> str | None:
    """Return the label under a day's bar, or None to leave it out (keeps labels apart)."""
    every = max(1, -(-count // 12))
    return f"{day.day}/{day.month}" if count <= 12 or day.toordinal() % every == 0 else None
