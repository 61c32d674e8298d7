"""The report as one self-contained web page from an auto-escaping template (report/page.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC
from html.parser import HTMLParser
from importlib import resources

import pytest

from bot.services.records import SQLiteRecordStore
from bot.services.report import build_report, render_html
from bot.services.report.page import TEMPLATE
from tests.bot.services.report.sample import DAY, NOW, add_question
from tests.conftest import ROOT


def test_the_html_page_is_self_contained_and_escapes_what_people_wrote(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert "default-src 'none'" in page


HOSTILE = (
    '</td></table><img src=x onerror="alert(1)"> & {{ 7*7 }} {% raw %}',
    "'><svg onload=alert(2)>.md",
)


def test_the_template_escapes_hostile_text_from_the_record(tmp_path):
    question, document = HOSTILE
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    try:
        add_question(store, 1, question, False, guild=None)  # a gap, in direct messages
        add_question(store, 2, "Vad gäller?", True, sources=[document])  # a cited document
    finally:
        store.close()
    report = build_report(store.path, since=NOW - DAY, until=NOW + 1, tz=UTC)
    parts = _Parts()
    parts.feed(render_html(report, "en"))
    text = "".join(parts.text)
    for hostile in HOSTILE:  # shown as text, once, whole (not run as a template either)
        assert text.count(hostile) == 1
    assert "img" not in {tag for tag, _ in parts.tags}
    assert [tag for tag, _ in parts.tags].count("svg") == 1  # the chart only
    assert not [name for _, attrs in parts.tags for name in attrs if name.startswith("on")]


class _Parts(HTMLParser):
    """The tags (with attributes) and the text of a page, as a browser would read them."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_the_template_is_package_data():
    template = resources.files("bot.services.report").joinpath("templates", TEMPLATE)
    assert template.is_file() and "<!DOCTYPE html>" in template.read_text(encoding="utf-8")


@pytest.mark.integration  # builds the project's wheel with pip: a real install step
def test_a_built_wheel_ships_the_template(tmp_path):
    """A non-editable install (``pip install .``) gets what pyproject.toml declares."""
    project = tmp_path / "project"
    for name in ("bot", "index"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-w", str(tmp_path / "dist"), str(project)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("natverksboten-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert f"bot/services/report/templates/{TEMPLATE}" in archive.namelist()
