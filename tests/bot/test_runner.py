"""`natverksbot run` and `sync-commands`: the token, a full run until SIGTERM, syncing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from bot.cli import runner
from bot.cli.runner import TokenError, read_token, run_bot, sync_commands
from bot.client import code_fingerprint
from bot.command_sync import read_sync
from bot.config import Config
from bot.services import indexing
from tests.bot.conftest import ANSWERABLE, make_config
from tests.conftest import FakeEncoder, fake_calibrated
from tests.fakes.discord import FakeDiscord

TOKEN = (
    base64.urlsafe_b64encode(b"123456789012345678").decode().rstrip("=")
    + ".GhXkQe."
    + "s3cr3t-Part_of-the-token-0123456789"
)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("   ", "is not set"),
        ("abc", "is not a bot token"),
        ("a.b", "is not a bot token"),
        ("a.b.c.d", "is not a bot token"),
        ("Bot " + TOKEN, "is not a bot token"),
        ("0123456789abcdef0123456789abcdef", "is not a bot token"),  # a client secret
        ("bm90LWFuLWlk.GhXkQe.abc", "is not a bot token"),  # first part is not an id
        (TOKEN.replace("-", "+"), "is not a bot token"),
    ],
)
def test_missing_or_malformed_tokens_are_refused_without_quoting_them(value, problem):
    environ = {} if value is None else {"DISCORD_TOKEN": value}
    with pytest.raises(TokenError, match=problem) as info:
        read_token(environ)
    if value and value.strip():
        assert value.strip() not in str(info.value)


@pytest.mark.parametrize("value", [TOKEN, f"  {TOKEN}\n"])
def test_a_well_formed_token_is_read(value):
    assert read_token({"DISCORD_TOKEN": value}) == TOKEN


@pytest.mark.parametrize("command", [run_bot, sync_commands])
@pytest.mark.parametrize("value", [None, "not.a-token", "x" * 70])
def test_run_and_sync_exit_2_with_one_line_and_never_echo_the_token(
    command, value, monkeypatch, capsys, knowledge, tmp_path, caplog
):
    if value is None:
        monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    else:
        monkeypatch.setenv("DISCORD_TOKEN", value)

    def no_model(config):
        raise AssertionError("the model must not be loaded without a token")

    monkeypatch.setattr(indexing, "create_encoder", no_model)
    status = command(make_config(knowledge, tmp_path / "state"))
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("natverksbot: error: DISCORD_TOKEN")
    if value:
        assert value not in err and value not in caplog.text


class FakeInThread:
    """A FakeDiscord on its own event loop and thread, so the bot can own the main thread."""

    def __init__(self, **kwargs) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.fake = FakeDiscord(token=TOKEN, **kwargs)
        self.call(self.fake.start())

    def call(self, coro, timeout: float = 15.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def fake_in_thread() -> Iterator[FakeInThread]:
    world = FakeInThread()
    try:
        with world.fake.patched():
            yield world
    finally:
        world.close()
    world.fake.assert_no_unknown_requests()


def test_run_bot_builds_the_index_answers_and_stops_cleanly_on_sigterm(
    fake_in_thread, monkeypatch, knowledge, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    fake = fake_in_thread.fake
    fake.add_guild()
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    calibrated = Config.engine
    monkeypatch.setattr(Config, "engine", property(lambda c: fake_calibrated(calibrated.fget(c))))
    config = make_config(knowledge, tmp_path / "state")
    running = threading.Event()
    replies = []

    def drive() -> None:
        try:
            fake_in_thread.call(fake.wait_ready(timeout=20), timeout=25)
            fake_in_thread.call(fake.send_dm(None, ANSWERABLE))
            replies.append(fake_in_thread.call(fake.wait_for_bot_message(timeout=10)))
        finally:
            if running.is_set():
                os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive)
    driver.start()
    running.set()
    try:
        status = run_bot(config)
    finally:
        running.clear()
        driver.join(30)

    assert status == 0
    assert (config.index_path / "CURRENT").is_file()  # built on first run
    [reply] = replies
    assert "2012" in reply.embeds[0]["description"]
    assert reply.allowed_mentions == {"parse": []}
    assert [r for r in fake.requests if r.method == "PUT"] == []  # no command sync
    [conn] = fake.connections
    fake_in_thread.call(asyncio.wait_for(conn.closed.wait(), 5))
    assert conn.close_code in (1000, 4000)
    assert TOKEN not in caplog.text  # not even in discord.py's debug logs
    assert "SIGTERM received: closing" in caplog.text
    assert "closed cleanly" in caplog.text


def test_sync_commands_registers_global_commands_and_admin_commands_in_staff_guilds_only(
    fake_in_thread, monkeypatch, knowledge, tmp_path, capsys
):
    fake = fake_in_thread.fake
    staff, public = fake.add_guild("Personalen"), fake.add_guild("Allmänheten")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: pytest.fail("no model"))
    config = make_config(knowledge, tmp_path / "state", staff_guild_ids=[staff.id])
    status = sync_commands(config)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert sorted(c["name"] for c in fake.synced_commands[None]) == ["ask", "forget-me", "help"]
    assert sorted(c["name"] for c in fake.synced_commands[staff.id]) == ["kb", "reindex"]
    assert public.id not in fake.synced_commands  # the public server never sees /kb
    assert out.splitlines() == [
        "Synced 3 commands globally (may take a while): ask, forget-me, help",
        f"Synced 2 commands to guild {staff.id}: kb, reindex",
    ]
    assert fake.connections == []  # REST only, no gateway
    # What was registered is recorded: status and the start compare the code's with it.
    record = read_sync(config.state_dir)
    assert record.fingerprint == code_fingerprint(config)
    assert record.targets == ("global", str(staff.id))


@pytest.mark.parametrize("staff", [False, True])
def test_sync_commands_to_one_guild_gives_it_all_it_should_have_at_once(
    fake_in_thread, monkeypatch, knowledge, tmp_path, capsys, staff
):
    fake = fake_in_thread.fake
    target = fake.add_guild()
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: pytest.fail("no model"))
    config = make_config(
        knowledge, tmp_path / "state", staff_guild_ids=[target.id] if staff else []
    )
    status = sync_commands(config, guild_id=target.id)
    out, err = capsys.readouterr()
    assert status == 0, err
    names = sorted(c["name"] for c in fake.synced_commands[target.id])
    everyone = ["ask", "forget-me", "help"]
    assert names == (sorted([*everyone, "kb", "reindex"]) if staff else everyone)
    assert None not in fake.synced_commands
    assert out.startswith(f"Synced {len(names)} commands to guild {target.id}")
    # The code's commands, not the tree with the global ones copied to the guild.
    record = read_sync(config.state_dir)
    assert (record.fingerprint, record.targets) == (code_fingerprint(config), (str(target.id),))


@pytest.mark.parametrize("command", [run_bot, sync_commands])
def test_no_network_is_one_line_and_exit_1(command, monkeypatch, knowledge, tmp_path, capsys):
    import discord

    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    # Nothing listens on port 9 of this machine: the connection is refused.
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    status = command(make_config(knowledge, tmp_path / "state"))
    out, err = capsys.readouterr()
    assert status == 1
    [line] = [line for line in err.splitlines() if "error" in line]
    assert line == err.splitlines()[-1]  # only "building the index" may come before it
    assert line.startswith("natverksbot: error: cannot reach Discord (")
    assert "Traceback" not in out + err and TOKEN not in out + err


def test_run_logs_who_it_is_connected_as_and_no_voice_warnings(
    fake_in_thread, monkeypatch, knowledge, tmp_path, caplog
):
    import discord

    caplog.set_level(logging.INFO)
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True, raising=False)
    fake = fake_in_thread.fake
    fake.add_guild("Ett")
    fake.add_guild("Två")
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())

    def stop_when_ready() -> None:
        fake_in_thread.call(fake.wait_ready(timeout=20), timeout=25)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "connected as" not in caplog.text:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=stop_when_ready)
    driver.start()
    try:
        status = run_bot(make_config(knowledge, tmp_path / "state"))
    finally:
        driver.join(30)

    assert status == 0
    connected = [r for r in caplog.records if r.getMessage().startswith("connected as")]
    assert [r.getMessage() for r in connected] == ["connected as Nätverksboten to 2 servers"]
    assert connected[0].levelno == logging.INFO
    assert "voice" not in caplog.text


def test_a_token_discord_refuses_is_one_line_without_the_token(
    fake_in_thread, monkeypatch, knowledge, tmp_path, capsys
):
    wrong = TOKEN[:-4] + "abcd"
    monkeypatch.setenv("DISCORD_TOKEN", wrong)
    status = sync_commands(make_config(knowledge, tmp_path / "state"))
    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith("natverksbot: error: Discord refused the token in DISCORD_TOKEN")
    assert err.count("\n") == 1
    assert wrong not in out + err
    assert read_sync(tmp_path / "state") is None  # nothing registered, nothing recorded


def test_the_cli_dispatches_run_to_the_runner(monkeypatch, tmp_path, knowledge):
    from bot import cli

    seen = []
    monkeypatch.setattr(runner, "run_bot", lambda config: seen.append(config) or 0)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n")
    with contextlib.suppress(SystemExit):
        assert cli.main(["--config", str(config_file), "run"]) == 0
    assert seen and seen[0].knowledge_dir == knowledge


def test_run_reports_its_connection_at_the_default_log_level(monkeypatch, tmp_path, knowledge):
    from bot import cli

    levels = {}

    def fake_run(config):
        levels["bot"] = logging.getLogger("bot.client").isEnabledFor(logging.INFO)
        levels["discord"] = logging.getLogger("discord.gateway").isEnabledFor(logging.INFO)
        return 0

    monkeypatch.setattr(runner, "run_bot", fake_run)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n")
    try:
        assert cli.main(["--config", str(config_file), "run"]) == 0
    finally:
        logging.getLogger("bot").setLevel(logging.NOTSET)
        logging.getLogger("discord").setLevel(logging.NOTSET)
    assert levels == {"bot": True, "discord": False}  # "connected as …" shows; chatter not
