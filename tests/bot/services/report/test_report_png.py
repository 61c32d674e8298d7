"""The chart as a PNG image for Discord (report/png.py)."""

from __future__ import annotations

import io
from datetime import UTC

from PIL import Image

from bot.services.report import build_report, png, render_png
from tests.bot.services.report.sample import DAY, NOW


def test_the_png_chart_is_an_image_of_the_expected_size(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    image = Image.open(io.BytesIO(render_png(report, "en")))
    assert image.format == "PNG" and image.size == (960, 400)
    colours = {colour for _, colour in image.getcolors(maxcolors=100_000)}
    assert (0x2B, 0x6C, 0xB0) in colours and (0xF6, 0xAD, 0x55) in colours  # both bar kinds


def test_without_a_system_font_the_chart_falls_back_to_plain_letters(record, monkeypatch):
    monkeypatch.setattr(png, "_FONTS", ())
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    assert Image.open(io.BytesIO(render_png(report, "sv"))).size == (960, 400)
