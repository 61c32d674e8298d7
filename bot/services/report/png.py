"""The chart of questions per day as a PNG image (drawn with Pillow), for Discord."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from bot.services.report.chart import COLOURS, Chart, Frame, chart_geometry, chart_texts
from bot.services.report.data import Report

# Fonts with Swedish letters, found by Pillow in the system's font folders (Debian:
# fonts-dejavu-core, fonts-liberation); Pillow's built-in font is the fallback.
_FONTS = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "Helvetica.ttc")
_FOLD = str.maketrans("åäöÅÄÖé", "aaoAAOe")
FRAME = Frame(960, 400, left=56, right=64, top=50, bottom=48, legend_width=400, legend_gap=28)
"""The chart's size, margins and legend room (``width`` and ``height`` may be given)."""


def _font(size: int) -> tuple[Any, bool]:
    """Return (a font of ``size`` px, whether it has å, ä and ö)."""
    from PIL import ImageFont

    for name in _FONTS:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def render_png(
    report: Report, language: str = "sv", width: int = FRAME.width, height: int = FRAME.height
) -> bytes:
    """Return the chart of :func:`~bot.services.report.svg.render_svg` as a PNG image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font, complete = _font(14)
    title_font, _ = _font(18)
    texts = chart_texts(language)
    if not complete:  # Pillow's own font has no å, ä, ö: write them plain rather than as boxes
        texts = {k: v.translate(_FOLD) for k, v in texts.items()}

    def measure(label: str) -> int:
        return int(draw.textlength(label, font=font))

    chart = chart_geometry(report, replace(FRAME, width=width, height=height), texts, measure)
    draw.text((chart.plot_left, 14), chart.title, fill=COLOURS.text, font=title_font)
    for entry in chart.legend:
        draw.rectangle((entry.x, 18, entry.x + 12, 30), fill=entry.colour)
        draw.text((entry.x + 16, 16), entry.label, fill=COLOURS.text, font=font)
    _draw_axes(draw, chart, font)
    _draw_bars(draw, chart, font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _draw_axes(draw: Any, chart: Chart, font: Any) -> None:
    """Draw the grid lines with the counts on the left and the shares on the right."""
    for tick in chart.ticks:
        draw.line((chart.plot_left, tick.y, chart.plot_right, tick.y), fill=COLOURS.grid)
        label = str(tick.value)
        x = chart.plot_left - 8 - draw.textlength(label, font=font)
        draw.text((x, tick.y - 8), label, fill=COLOURS.text, font=font)
    for tick in chart.share_ticks:
        draw.text(
            (chart.plot_right + 6, tick.y - 8), f"{tick.value} %", fill=COLOURS.share, font=font
        )


def _draw_bars(draw: Any, chart: Chart, font: Any) -> None:
    """Draw each day's bar and label, the share line, and the axis under the bars."""
    for bar in chart.bars:
        right = bar.x + bar.width
        if bar.answered_height:
            draw.rectangle((bar.x, bar.answered_y, right, chart.base), fill=COLOURS.answered)
        if bar.other_height:
            draw.rectangle((bar.x, bar.other_y, right, bar.answered_y), fill=COLOURS.abstained)
        if bar.label:
            w = draw.textlength(bar.label, font=font)
            draw.text((bar.middle - w / 2, chart.base + 8), bar.label, fill=COLOURS.text, font=font)
    if len(chart.points) > 1:
        draw.line(list(chart.points), fill=COLOURS.share, width=3)
    for x, y in chart.points:
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=COLOURS.share)
    draw.line((chart.plot_left, chart.base, chart.plot_right, chart.base), fill=COLOURS.text)
