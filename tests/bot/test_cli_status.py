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


def _config_of(path):
    from bot.config import load_config

    return load_config(path, environ={})


def commands_row(out: str) -> str:
    [row] = [line for line in out.splitlines() if line.startswith("commands:")]
    return row


def test_status_says_to_sync_the_commands_when_no_sync_was_recorded(config):
    code, out, err = run(config, "status")

    assert code == 0, err
    state = _config_of(config).state_dir
    assert commands_row(out) == (
        f"commands:  no sync recorded in {state}: run `natverksbot sync-commands`"
    )


def test_status_says_the_commands_are_as_synced_when_the_fingerprints_match(config):
    from bot.client import code_fingerprint
    from bot.command_sync import record_sync

    loaded = _config_of(config)
    record = record_sync(loaded.state_dir, code_fingerprint(loaded), [None, 123])

    code, out, err = run(config, "status")

    assert code == 0, err
    assert commands_row(out) == f"commands:  as last synced ({record.synced_at}, global, 123)"
    assert "sync-commands" not in out


def test_status_says_to_sync_again_when_the_code_changed_since(config):
    from bot.command_sync import record_sync

    record = record_sync(_config_of(config).state_dir, "0" * 64, [None])

    code, out, err = run(config, "status")

    assert code == 0, err
    assert commands_row(out) == (
        f"commands:  changed since the last sync ({record.synced_at}, global, version "
        f"{version()}): run `natverksbot sync-commands`"
    )


def test_status_says_to_sync_again_when_a_staff_guild_was_added(config):
    from bot.client import code_fingerprint
    from bot.command_sync import record_sync

    loaded = _config_of(config)
    record_sync(loaded.state_dir, code_fingerprint(loaded), [None])
    with config.open("a", encoding="utf-8") as handle:
        handle.write("discord:\n  staff_guild_ids: [123]\n")

    code, out, _err = run(config, "status")

    assert "run `natverksbot sync-commands`" in commands_row(out)


def test_status_json_says_whether_the_commands_are_in_sync(config):
    from bot.client import code_fingerprint
    from bot.command_sync import record_sync

    loaded = _config_of(config)
    never = json.loads(run(config, "status", "--json")[1])["commands"]
    record_sync(loaded.state_dir, code_fingerprint(loaded), [None])
    synced = json.loads(run(config, "status", "--json")[1])["commands"]

    assert never == {"fingerprint": code_fingerprint(loaded), "in_sync": False, "synced": None}
    assert synced["in_sync"] is True
    assert synced["synced"]["fingerprint"] == synced["fingerprint"]
    assert synced["synced"]["targets"] == ["global"]


def test_status_speaks_swedish_about_the_commands(config, monkeypatch):
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")

    code, out, _err = run(config, "status")

    assert code == 0
    assert "kommandon: ingen registrering noterad i " in out
    assert out.splitlines()[0].startswith("version:")
