"""sources.yaml is YAML anyone with the knowledge folder can write: no aliases, no blind str()."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.services.web import SourcesError, load_sources
from tests.index.documents.test_yaml_limits import NO_ALIASES, laughs


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("key", ["url", "visibility", "title"])
def test_a_billion_laughs_in_sources_yaml_is_one_line_from_the_command_line(folder, tmp_path, key):
    entry = "https://www.borlange.se/" if key != "url" else "*l5"
    text = "\n".join([*laughs(), "sources:", f"  - url: {entry}"])
    if key != "url":
        text += f"\n    {key}: *l5"
    (folder / "sources.yaml").write_text(text + "\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge_dir: {folder}\nstate_dir: {tmp_path / 'state'}\n")
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), "fetch-sources", "--no-index"])
    assert time.perf_counter() - started < 5  # the expansion alone took seconds and gigabytes
    assert code == 1 and out.getvalue() == ""
    assert err.getvalue() == (
        f"natverksbot: error: {folder / 'sources.yaml'}: not valid YAML ({NO_ALIASES} (line 1))\n"
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{url: {https: x}}", "entry 1: url must be text"),
        ("{url: [https://a.se/]}", "entry 1: url must be text"),
        ("{url: 'https://a.se/', visibility: [public]}", "entry 1: visibility must be text"),
        ("{url: 'https://a.se/', 1: a, b: c}", "entry 1: unknown key 1"),
        ("{url: 'https://a.se/', title: {a: b}}", "entry 1: title must be text"),
    ],
)
def test_a_value_of_the_wrong_kind_in_sources_yaml_is_one_clear_error(folder, entry, message):
    (folder / "sources.yaml").write_text(f"sources:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(SourcesError) as refused:
        load_sources(folder)
    assert str(refused.value) == f"{folder / 'sources.yaml'}: {message}"
