"""A read-only state folder: the bot's start, `index` and `forget-user` say so in one line.

The folder is made read-only for real: a tmpfs mounted over it, filled, then remounted
read-only (EROFS, as on a read-only disk). Where mounting is not allowed (not root, or
no CAP_SYS_ADMIN) the tests are skipped; nothing is simulated.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.runner import run_bot
from bot.services import indexing
from bot.services.records import QuestionRecord, SQLiteRecordStore
from index.engine import Engine
from tests.bot.conftest import make_config
from tests.bot.test_runner import TOKEN, fake_in_thread  # noqa: F401 - the fixture
from tests.conftest import FakeEncoder


def _mount(*args: str) -> bool:
    try:
        done = subprocess.run(["mount", *args], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Make ``folder`` (with what it holds) a read-only file system for the with-block."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as saved:
        copy = Path(saved) / "copy"
        shutil.copytree(folder, copy, symlinks=True)
        if not _mount("-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(folder)):
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        try:
            shutil.copytree(copy, folder, symlinks=True, dirs_exist_ok=True)
            assert _mount("-o", "remount,ro", str(folder)), "remount read-only failed"
            with pytest.raises(OSError, match="Read-only file system"):
                (folder / "probe").write_text("x")
            yield folder
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False, timeout=10)


def _one_line(capsys) -> str:
    """Return the error line (a first start may print "Bygger index ..." before it)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("natverksbot: error: ")]
    assert len(errors) == 1 and err.endswith(errors[0] + "\n"), err
    return errors[0]


def _config_file(tmp_path: Path, knowledge: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n")
    return str(path)


def test_index_on_a_read_only_state_folder_is_one_line(tmp_path, knowledge, capsys, monkeypatch):
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    config = _config_file(tmp_path, knowledge)
    with read_only(tmp_path / "state") as state:
        assert main(["--config", config, "index"]) == 1
    err = _one_line(capsys)
    assert str(state) in err and "Read-only file system" in err


def test_forget_user_on_a_read_only_state_folder_is_one_line(tmp_path, knowledge, capsys):
    store = SQLiteRecordStore.open(tmp_path / "state", create_salt=True)
    store.add_question(
        QuestionRecord(
            guild_id=1, channel_id=2, user_id=42, via="slash", question="Min fråga",
            answered=True, sources=[], visibility="public", language="sv",
        )
    )  # fmt: skip
    store.close()
    config = _config_file(tmp_path, knowledge)
    with read_only(tmp_path / "state") as state:
        assert main(["--config", config, "forget-user", "42"]) == 1
    err = _one_line(capsys)
    assert str(state / "bot.sqlite") in err and "Read-only file system" in err


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "empty"])
def test_the_bot_on_a_read_only_state_folder_does_not_start_and_says_why(
    fake_in_thread,  # noqa: F811 - the fixture imported above
    monkeypatch,
    knowledge,
    tmp_path,
    capsys,
    indexed,
):
    fake_in_thread.fake.add_guild()
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    monkeypatch.setattr(indexing, "create_encoder", lambda model: FakeEncoder())
    config = make_config(knowledge, tmp_path / "state")
    if indexed:
        Engine(config.engine, FakeEncoder()).reindex()
        SQLiteRecordStore.open(config.state_dir, create_salt=True).close()
    with read_only(config.state_dir) as state:
        status = run_bot(config)
    assert status == 1
    err = _one_line(capsys)
    assert str(state) in err and "Read-only file system" in err
