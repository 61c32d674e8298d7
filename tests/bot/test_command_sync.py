"""The slash commands' fingerprint: stable, moved by any change Discord would see."""

from __future__ import annotations

import asyncio
import logging

import discord
import pytest

from bot import i18n
from bot.client import code_fingerprint, create_bot
from bot.command_sync import RECORD, commands_state, read_sync, record_sync
from bot.version import version
from tests.bot.conftest import make_config


@pytest.fixture
def config(knowledge, tmp_path):
    return make_config(knowledge, tmp_path / "state", staff_guild_ids=[111])


async def fingerprint_after(config, change=None) -> str:
    """The fingerprint of a bot with the code's commands, after ``change(bot)``."""
    bot = create_bot(config, load_engine=False)
    await bot.load_features()
    try:
        if change is not None:
            change(bot)
        return await bot.commands_fingerprint()
    finally:
        for name in reversed(list(bot.extensions)):
            await bot.unload_extension(name)
        await bot.close()


def test_the_fingerprint_is_the_same_for_the_same_code_and_config(config):
    first = code_fingerprint(config)

    assert first == code_fingerprint(config)
    assert first == asyncio.run(fingerprint_after(config))
    assert len(first) == 64 and int(first, 16) >= 0


def _describe_help(bot):
    bot.tree.get_command("help").description = "Something else"


def _drop_an_option(bot):
    ask = bot.tree.get_command("ask")
    ask._params.pop(list(ask._params)[-1])


def _drop_a_command(bot):
    bot.tree.remove_command("help")


def _rename_a_guild_command(bot):
    bot.tree.get_command("reindex", guild=discord.Object(111)).name = "reindexa"


@pytest.mark.parametrize(
    "change",
    [_describe_help, _drop_an_option, _drop_a_command, _rename_a_guild_command],
    ids=["description", "option", "command", "staff-guild-command"],
)
async def test_a_change_to_the_commands_changes_the_fingerprint(config, change):
    assert await fingerprint_after(config, change) != await fingerprint_after(config)


async def test_a_changed_swedish_text_changes_the_fingerprint(config, monkeypatch):
    before = await fingerprint_after(config)
    texts = {**i18n.COMMAND_TEXTS, "help.description": {"en": "x", "sv": "Något annat"}}
    monkeypatch.setattr(i18n, "COMMAND_TEXTS", texts)

    assert await fingerprint_after(config) != before


def test_another_staff_guild_changes_the_fingerprint(config):
    # Its admin commands are not registered there yet: a sync is needed.
    other = config.model_copy(
        update={"discord": config.discord.model_copy(update={"staff_guild_ids": [111, 222]})}
    )

    assert code_fingerprint(other) != code_fingerprint(config)


def test_the_codes_fingerprint_touches_no_state_and_runs_no_background_task(config, caplog):
    caplog.set_level(logging.DEBUG)

    code_fingerprint(config)

    assert not config.state_dir.exists()  # no record store, no salt, no trash purge
    assert "retention" not in caplog.text and "could not" not in caplog.text


def test_a_sync_is_recorded_and_read_back(config):
    assert read_sync(config.state_dir) is None
    assert not commands_state(config.state_dir, "abc").in_sync

    written = record_sync(config.state_dir, "abc", [None, 111])

    assert read_sync(config.state_dir) == written
    assert written.targets == ("global", "111") and written.version == version()
    assert (config.state_dir / RECORD).stat().st_mode & 0o777 == 0o600
    assert commands_state(config.state_dir, "abc").in_sync
    assert not commands_state(config.state_dir, "abd").in_sync


@pytest.mark.parametrize("text", ["", "{", "[]", '{"fingerprint": "abc"}', "\xff"])
def test_a_damaged_record_counts_as_no_sync(config, text, caplog):
    config.state_dir.mkdir()
    (config.state_dir / RECORD).write_bytes(text.encode("latin-1"))

    assert read_sync(config.state_dir) is None
    assert "ignoring the unreadable" in caplog.text


async def test_the_start_line_asks_for_a_sync_when_none_was_recorded(world, caplog):
    caplog.set_level(logging.INFO)
    async with world.running():
        pass

    [line] = [r for r in caplog.records if "starting" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert f"natverksboten {version()} starting" in line.getMessage()
    assert "no sync of the slash commands recorded" in line.getMessage()
    assert "run `natverksbot sync-commands`" in line.getMessage()


async def test_the_start_line_says_when_the_commands_changed_since_the_sync(world, caplog):
    caplog.set_level(logging.INFO)
    record_sync(world.state, "an-older-fingerprint", [None])
    async with world.running():
        pass

    [line] = [r for r in caplog.records if "starting" in r.getMessage()]
    assert line.levelno == logging.WARNING
    assert "the slash commands differ from those synced at" in line.getMessage()
    assert "run `natverksbot sync-commands`" in line.getMessage()


async def test_the_start_line_is_quiet_about_commands_as_synced(world, caplog):
    caplog.set_level(logging.INFO)
    fingerprint = await fingerprint_after(world.config())
    record_sync(world.state, fingerprint, [None, world.staff.id])
    async with world.running():
        pass

    [line] = [r for r in caplog.records if "starting" in r.getMessage()]
    assert line.levelno == logging.INFO
    assert line.getMessage() == f"natverksboten {version()} starting; slash commands as synced"
