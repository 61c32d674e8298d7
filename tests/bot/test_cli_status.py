"""`natverksbot status`: the version, and whether the slash commands need a sync."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest

from bot.cli import main
from bot.version import version
from tests.conftest import FakeEncoder, fill_knowledge


@pytest.fixture
def config(tmp_path, monkeypatch):
    """A config whose index is built with the fake encoder."""
    from bot.services import indexing

    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "en")
    knowledge = fill_knowledge(tmp_path / "knowledge")
    path = tmp_path / "config.yaml"
    path.write_text(
        f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n", encoding="utf-8"
    )
    code, _out, err = run(path, "index")
    assert code == 0, err
    return path


def run(config, *args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), *[str(a) for a in args]])
    return code, out.getvalue(), err.getvalue()


def test_status_says_the_version_first(config):
    code, out, err = run(config, "status")

    assert code == 0, err
    assert out.splitlines()[0] == f"version:   {version()}"


def test_status_json_has_the_version(config):
    code, out, err = run(config, "status", "--json")

    assert code == 0, err
    assert json.loads(out)["version"] == version() != ""
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", json.loads(out)["version"])
