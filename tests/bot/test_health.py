"""`natverksbot health`: one line per check, exit 0 or 1; the heartbeat; systemd's notify socket."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from bot.cli import main
from bot.config import Config, HealthConfig, load_config
from bot.locales import engine_phrases
from bot.services import indexing
from bot.services.health import (
    SystemdNotifier,
    check_heartbeat,
    heartbeat_path,
    make_heartbeat,
    read_heartbeat,
    write_heartbeat,
)
from bot.services.records import DATABASE_NAME, SQLiteRecordStore
from index.engine import Engine
from index.store import current_build
from tests.bot.conftest import make_config
from tests.bot.test_runner import TOKEN, fake_in_thread  # noqa: F401 - the fixture
from tests.conftest import FakeEncoder, fake_calibrated


@pytest.fixture
def healthy(tmp_path, knowledge, fake_encoder):
    """A config file whose state folder has an index, a record and a fresh heartbeat."""
    state = tmp_path / "state"
    path = tmp_path / "config.yaml"
    path.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {state}\n", encoding="utf-8")
    config = load_config(path, environ={})
    Engine(fake_calibrated(config.engine), fake_encoder, engine_phrases()).reindex()
    SQLiteRecordStore.open(state, environ={}, create_salt=True).close()
    write_heartbeat(heartbeat_path(state), make_heartbeat(True, 0.042, 0.0))
    return path, config


def run_health(path, capsys, *options):
    status = main(["--config", str(path), "health", *options])
    out, err = capsys.readouterr()
    assert err == ""
    return status, out.splitlines()


def test_a_healthy_bot_passes_every_check_one_line_each(healthy, capsys):
    path, config = healthy
    status, lines = run_health(path, capsys)
    assert status == 0
    assert len(lines) == 3
    build = current_build(config.index_path).name
    assert lines[0].startswith(f"ok index: loads (build {build}, ")
    assert lines[1] == f"ok record: {config.state_dir / DATABASE_NAME} takes writes"
    assert lines[2] == "ok heartbeat: 0 s old, connected to Discord, latency 42 ms"


def _stale(config):
    beat = make_heartbeat(True, 0.05, 0.0)
    write_heartbeat(
        heartbeat_path(config.state_dir),
        beat.__class__(**{**beat.__dict__, "time": time.time() - 125}),
    )


def _disconnected(config):
    write_heartbeat(heartbeat_path(config.state_dir), make_heartbeat(False, float("nan"), 0.0))


def _no_heartbeat(config):
    heartbeat_path(config.state_dir).unlink()


def _garbled_heartbeat(config):
    heartbeat_path(config.state_dir).write_text("{", encoding="utf-8")


def _garbled_manifest(config):
    (current_build(config.index_path) / "manifest.json").write_text("{", encoding="utf-8")


def _no_index(config):
    (config.index_path / "CURRENT").unlink()


def _garbled_record(config):
    database = config.state_dir / DATABASE_NAME
    for extra in ("-wal", "-shm"):
        database.with_name(database.name + extra).unlink(missing_ok=True)
    database.write_bytes(b"not a database" * 100)


def _record_is_a_folder(config):
    database = config.state_dir / DATABASE_NAME
    database.unlink()
    database.mkdir()


def _no_record(config):
    (config.state_dir / DATABASE_NAME).unlink()


@pytest.mark.parametrize(
    ("damage", "failing", "says"),
    [
        (_stale, "heartbeat", "the last heartbeat is 125 s old (more than 60 s)"),
        (_disconnected, "heartbeat", "but is not connected to Discord"),
        (_no_heartbeat, "heartbeat", "no heartbeat at"),
        (_garbled_heartbeat, "heartbeat", "cannot be read"),
        (_garbled_manifest, "index", "unreadable"),
        (_no_index, "index", "no index in"),
        (_garbled_record, "record", "cannot be written: file is not a database"),
        (_record_is_a_folder, "record", "cannot be written"),
        (_no_record, "record", "no question record at"),
    ],
)
def test_a_failing_check_fails_its_own_line_and_the_exit_status(
    healthy, capsys, damage, failing, says
):
    path, config = healthy
    damage(config)
    status, lines = run_health(path, capsys)
    assert status == 1
    assert len(lines) == 3
    [bad] = [line for line in lines if line.startswith("FAIL ")]
    assert bad.startswith(f"FAIL {failing}: ") and says in bad
    assert sum(line.startswith("ok ") for line in lines) == 2


def test_max_age_comes_from_the_config_or_the_option(healthy, capsys):
    path, config = healthy
    _stale(config)
    assert run_health(path, capsys, "--max-age", "600")[0] == 0
    path.write_text(path.read_text() + "health:\n  max_age_seconds: 300\n", encoding="utf-8")
    assert run_health(path, capsys)[0] == 0


def test_health_speaks_the_cli_language(healthy, capsys, monkeypatch):
    path, config = healthy
    _disconnected(config)
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", "sv")
    status, lines = run_health(path, capsys)
    assert status == 1
    assert lines[2].startswith("FEL hjärtslag: boten kör")
    assert lines[0].startswith("ok index: går att läsa in")


def _receiver(tmp_path):
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / "notify"))
    receiver.settimeout(5)
    return receiver


def test_sd_notify_sends_datagrams_to_the_notify_socket(tmp_path):
    with _receiver(tmp_path) as receiver:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
        assert notifier.notify("READY=1", "STATUS=klar")
        assert receiver.recv(4096) == b"READY=1\nSTATUS=klar"


def test_sd_notify_reaches_an_abstract_socket_and_is_a_no_op_without_one():
    name = f"natverksbot-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind("\0" + name)
        receiver.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify("WATCHDOG=1")
        assert receiver.recv(4096) == b"WATCHDOG=1"
    assert SystemdNotifier({}).notify("READY=1") is False


@pytest.mark.parametrize(
    ("environ", "seconds"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}, 60.0),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),  # meant for another
        ({"WATCHDOG_USEC": "0"}, None),
        ({}, None),
    ],
)
def test_the_watchdog_period_is_read_for_this_process_only(environ, seconds):
    assert SystemdNotifier(environ).watchdog_seconds() == seconds


def test_the_running_bot_is_ready_and_pings_the_watchdog_while_discord_is_away(
    fake_in_thread,  # noqa: F811 - the fixture imported above
    monkeypatch,
    knowledge,
    tmp_path,
):
    fake = fake_in_thread.fake
    fake.add_guild()
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 0.2 s
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    calibrated = Config.engine
    monkeypatch.setattr(Config, "engine", property(lambda c: fake_calibrated(calibrated.fget(c))))
    config = make_config(knowledge, tmp_path / "state")
    beat_file = heartbeat_path(config.state_dir)
    received: list[tuple[float, str]] = []
    marks: dict[str, float] = {}
    seen: dict[str, object] = {}
    done = threading.Event()
    receiver = _receiver(tmp_path)
    receiver.settimeout(0.05)

    def collect() -> None:
        while not done.is_set():
            try:
                received.append((time.monotonic(), receiver.recv(4096).decode()))
            except TimeoutError:
                continue

    def wait_for(check, what: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def beat():
        try:
            return read_heartbeat(beat_file)
        except (OSError, ValueError, KeyError):
            return None

    def drive() -> None:
        try:
            wait_for(lambda: any("READY=1" in m for _t, m in received), "READY=1")
            wait_for(lambda: (b := beat()) is not None and b.connected, "a connected beat")
            seen["connected"] = check_heartbeat(config.state_dir, 60, "en")
            fake_in_thread.call(fake.stop())  # Discord goes away and stays away
            marks["gone"] = time.monotonic()
            wait_for(lambda: (b := beat()) is not None and not b.connected, "a disconnected beat")
            seen["disconnected"] = check_heartbeat(config.state_dir, 60, "en")
            marks["seen"] = time.monotonic()
            time.sleep(1.5)
            marks["end"] = time.monotonic()
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    collector = threading.Thread(target=collect)
    driver = threading.Thread(target=drive)
    collector.start()
    driver.start()
    try:
        status = run_bot_with(config)
    finally:
        driver.join(30)
        done.set()
        collector.join(5)
        receiver.close()

    assert status == 0
    messages = [m for _t, m in received]
    ready = next(i for i, m in enumerate(messages) if "READY=1" in m)
    assert "WATCHDOG=1" in messages[ready + 1 :]
    assert seen["connected"].ok
    assert not seen["disconnected"].ok and "not connected to Discord" in seen["disconnected"].detail
    # The loop kept pinging while Discord was away: one ping per 0.2 s, so about 7 in
    # the 1.5 s watched (at least 3 on a busy machine); none would come from a stuck loop.
    pings = [t for t, m in received if m == "WATCHDOG=1" and marks["seen"] <= t <= marks["end"]]
    assert len(pings) >= 3
    assert messages[-1] == "STOPPING=1"


def run_bot_with(config: Config) -> int:
    from bot.cli.runner import run_bot

    return run_bot(config)


def test_the_heartbeat_follows_health_heartbeat_seconds(knowledge, tmp_path):
    config = make_config(knowledge, tmp_path / "state").model_copy(
        update={"health": HealthConfig(heartbeat_seconds=0.5)}
    )
    from bot.client import create_bot
    from bot.exts.heartbeat import HeartbeatCog

    bot = create_bot(config, load_engine=False)
    assert HeartbeatCog(bot, SystemdNotifier({})).interval == 0.5
    watched = SystemdNotifier({"WATCHDOG_USEC": "600000"})
    assert HeartbeatCog(bot, watched).interval == 0.3  # twice per watchdog period
