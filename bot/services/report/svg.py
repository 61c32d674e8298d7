"""The chart of questions per day as SVG (inline in the report's web page)."""

from __future__ import annotations

from dataclasses import replace
from html import escape

from bot.services.report.chart import COLOURS, Chart, Frame, chart_geometry, chart_texts
from bot.services.report.data import Report

FRAME = Frame(900, 320, left=48, right=52, top=40, bottom=44, legend_width=330, legend_gap=20)
"""The chart's size, margins and legend room (``width`` and ``height`` may be given)."""


def _measure(label: str) -> int:
    """Return a label's width estimated without a font: about 7 px a letter at 12 px."""
    return 7 * len(label)


def render_svg(
    report: Report, language: str = "sv", width: int = FRAME.width, height: int = FRAME.height
) -> str:
    """Return an SVG chart: questions per day (answered / not) and the answered share."""
    frame = replace(FRAME, width=width, height=height)
    chart = chart_geometry(report, frame, chart_texts(language), _measure)
    title = escape(chart.title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        f'<text x="{frame.left}" y="20" font-size="15" font-weight="600" fill="{COLOURS.text}">'
        f"{title}</text>",
    ]
    for entry in chart.legend:
        parts.append(f'<rect x="{entry.x}" y="10" width="12" height="12" fill="{entry.colour}"/>')
        parts.append(
            f'<text x="{entry.x + 16}" y="20" fill="{COLOURS.text}">{escape(entry.label)}</text>'
        )
    parts += _axes(chart)
    parts += _bars(chart)
    parts.append(
        f'<line x1="{chart.plot_left}" x2="{chart.plot_right}" y1="{chart.base}" '
        f'y2="{chart.base}" stroke="{COLOURS.text}"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def _axes(chart: Chart) -> list[str]:
    """Return the grid lines with the counts on the left and the shares on the right."""
    parts = []
    for tick in chart.ticks:
        parts.append(
            f'<line x1="{chart.plot_left}" x2="{chart.plot_right}" y1="{tick.y:.1f}" '
            f'y2="{tick.y:.1f}" stroke="{COLOURS.grid}"/>'
        )
        parts.append(
            f'<text x="{chart.plot_left - 6}" y="{tick.y + 4:.1f}" text-anchor="end" '
            f'fill="{COLOURS.text}">{tick.value}</text>'
        )
    for tick in chart.share_ticks:
        parts.append(
            f'<text x="{chart.plot_right + 6}" y="{tick.y + 4:.1f}" fill="{COLOURS.share}">'
            f"{tick.value} %</text>"
        )
    return parts


def _bars(chart: Chart) -> list[str]:
    """Return each day's bar (with its figures as a tooltip) and label, then the share line."""
    parts = []
    for bar in chart.bars:
        tooltip = f"<title>{bar.day.isoformat()}: {bar.asked} / {bar.answered}</title>"
        for y, height, colour in (
            (bar.answered_y, bar.answered_height, COLOURS.answered),
            (bar.other_y, bar.other_height, COLOURS.abstained),
        ):
            parts.append(
                f'<rect x="{bar.x:.1f}" y="{y:.1f}" width="{bar.width:.1f}" '
                f'height="{height:.1f}" fill="{colour}">{tooltip}</rect>'
            )
        if bar.label:
            parts.append(
                f'<text x="{bar.middle:.1f}" y="{chart.base + 16}" '
                f'text-anchor="middle" fill="{COLOURS.text}">{bar.label}</text>'
            )
    points = [f"{x:.1f},{y:.1f}" for x, y in chart.points]
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS.share}" '
            'stroke-width="2.5"/>'
        )
        for point in points:
            cx, cy = point.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{COLOURS.share}"/>')
    return parts
