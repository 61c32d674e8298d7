"""One chart geometry, drawn by both the SVG and the PNG renderer (report/chart.py)."""

from __future__ import annotations

import io
import re
from datetime import UTC

import pytest
from PIL import Image

from bot.services.report import build_report, png, render_png, render_svg, svg
from bot.services.report.chart import COLOURS, chart_geometry, chart_texts
from tests.bot.services.report.sample import DAY, NOW


@pytest.fixture
def week(record):
    return build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("frame", [svg.FRAME, png.FRAME], ids=["svg", "png"])
def test_the_bars_stand_for_the_days_within_the_plot(week, frame):
    chart = chart_geometry(week, frame, chart_texts("en"), len)
    plot_height = frame.height - frame.top - frame.bottom
    top = max(tick.value for tick in chart.ticks)
    assert top >= max(d.asked for d in week.days)
    assert [(b.day, b.asked, b.answered) for b in chart.bars] == [
        (d.day, d.asked, d.answered) for d in week.days
    ]
    for bar in chart.bars:
        assert bar.answered_height == pytest.approx(plot_height * bar.answered / top)
        assert bar.other_height == pytest.approx(plot_height * (bar.asked - bar.answered) / top)
        assert bar.answered_y + bar.answered_height == pytest.approx(chart.base)
        assert bar.other_y + bar.other_height == pytest.approx(bar.answered_y)
        assert chart.plot_left <= bar.x < bar.x + bar.width <= chart.plot_right
    assert len(chart.points) == sum(1 for d in week.days if d.asked)
    assert [entry.label for entry in chart.legend] == ["answered", "unanswered", "share answered"]


def test_the_svg_draws_the_geometry(week):
    chart = chart_geometry(week, svg.FRAME, chart_texts("sv"), len)
    drawn = re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="(#\w+)"><title>',
        render_svg(week, "sv"),
    )
    expected = []
    for bar in chart.bars:
        for y, height, colour in (
            (bar.answered_y, bar.answered_height, COLOURS.answered),
            (bar.other_y, bar.other_height, COLOURS.abstained),
        ):
            expected.append(
                (f"{bar.x:.1f}", f"{y:.1f}", f"{bar.width:.1f}", f"{height:.1f}", colour)
            )
    assert drawn == expected


def test_the_png_draws_the_same_geometry(week):
    chart = chart_geometry(week, png.FRAME, chart_texts("en"), len)
    image = Image.open(io.BytesIO(render_png(week, "en"))).convert("RGB")
    for bar in chart.bars:
        column = round(bar.x + 2)  # away from the share line's points at the middle
        for colour, top, bottom in (
            (COLOURS.answered, bar.answered_y, chart.base),
            (COLOURS.abstained, bar.other_y, bar.answered_y),
        ):
            rows = [  # within the plot (the legend has boxes of these colours too)
                y
                for y in range(png.FRAME.top, round(chart.base) + 2)
                if image.getpixel((column, y)) == _rgb(colour)
            ]
            if bottom - top < 1:
                assert not rows
                continue
            # The axis and a share line at 0 % or 100 % (3 px wide) may cover an end.
            assert min(rows) == pytest.approx(top, abs=3)
            assert max(rows) == pytest.approx(bottom, abs=3)
