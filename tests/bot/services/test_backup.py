"""`natverksbot backup`: a consistent copy while questions are recorded, and a restore from it."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.services.records import QuestionRecord, SQLiteRecordStore
from tests.conftest import fill_knowledge


def _run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _rows(database: Path, table: str = "questions") -> list[tuple]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


@pytest.fixture
def setup(tmp_path):
    knowledge = fill_knowledge(tmp_path / "knowledge")
    (knowledge / "sources.yaml").write_text(
        "# Kommunernas sidor\nsources:\n  - url: https://www.nassjo.se/\n", encoding="utf-8"
    )
    (knowledge / ".visibility.yaml").write_text("plan.pdf: public\n", encoding="utf-8")
    state = tmp_path / "state"
    config = tmp_path / "config.yaml"
    config.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {state}\n", encoding="utf-8")
    return knowledge, state, config


class Recorder:
    """Records questions one by one on its own thread, as the running bot does."""

    def __init__(self, state: Path) -> None:
        self.store = SQLiteRecordStore.open(state, create_salt=True)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.store.add_question(
                QuestionRecord(
                    guild_id=1,
                    channel_id=2,
                    user_id=1000 + self.count % 7,
                    via="slash",
                    question=f"Fråga nummer {self.count}",
                    answered=self.count % 2 == 0,
                    sources=["allt-startade-i-almedalen.md"],
                    visibility="internal",
                    language="sv",
                )
            )
            self.count += 1

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self.store.close()


def test_a_backup_taken_while_questions_are_recorded_loses_no_row(setup, tmp_path):
    knowledge, state, config = setup
    target = tmp_path / "backups"
    taken = []
    with Recorder(state) as recorder:
        for _ in range(3):
            while recorder.count < 50 * (len(taken) + 1):
                threading.Event().wait(0.01)
            recorded_before = recorder.count
            code, out, err = _run("--config", config, "backup", target)
            assert code == 0, err
            assert out.startswith("Backup written to ")
            taken.append((recorded_before, Path(out.split("Backup written to ")[1].split(":")[0])))
    live = _rows(state / "bot.sqlite")

    assert len({folder for _, folder in taken}) == 3
    for recorded_before, folder in taken:
        copy = folder / "bot.sqlite"
        with contextlib.closing(sqlite3.connect(copy)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = _rows(copy)
        # Every question recorded before the backup began is in it, and what it holds is
        # exactly the live record up to its last row: a snapshot, no gap, no torn row.
        assert len(rows) >= recorded_before
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
        assert rows == live[: len(rows)]
        assert _files(folder / "knowledge") == _files(knowledge)
        assert (folder / "user-salt").read_bytes() == (state / "user-salt").read_bytes()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert len(live) == recorder.count  # and the live record lost nothing either


def test_a_restored_backup_gives_back_the_record_the_salt_and_the_documents(setup, tmp_path):
    knowledge, state, config = setup
    store = SQLiteRecordStore.open(state, create_salt=True)
    try:
        for i in range(5):
            store.add_question(
                QuestionRecord(
                    guild_id=None,
                    channel_id=9,
                    user_id=42 + i,
                    via="dm",
                    question=f"Fråga {i}",
                    answered=True,
                    sources=[],
                    visibility="public",
                    language="sv",
                )
            )
        hashed = store.hash_user(42)
    finally:
        store.close()
    code, out, _ = _run("--config", config, "backup", tmp_path / "backups")
    assert code == 0
    assert "5 questions and 0 changes" in out
    [folder] = (tmp_path / "backups").iterdir()

    # The restore of docs/DEPLOY.md: the bot stopped, the folders replaced by the backup's.
    shutil.rmtree(knowledge)
    shutil.rmtree(state)
    shutil.copytree(folder / "knowledge", knowledge)
    state.mkdir()
    for name in ("bot.sqlite", "user-salt"):
        shutil.copy2(folder / name, state / name)

    restored = SQLiteRecordStore.open(state)
    try:
        assert [r["question"] for r in restored.rows()] == [f"Fråga {i}" for i in range(5)]
        assert restored.hash_user(42) == hashed  # forget-user still finds the person
        assert restored.forget_user(42).questions == 1
    finally:
        restored.close()
    assert (knowledge / "sources.yaml").read_text(encoding="utf-8").startswith("# Kommunernas")
    assert (knowledge / ".visibility.yaml").is_file()


def test_a_backup_without_a_question_record_still_copies_the_documents(setup, tmp_path):
    knowledge, _, config = setup
    code, out, _ = _run("--config", config, "backup", tmp_path / "b")
    assert code == 0 and "no question record" in out
    [folder] = (tmp_path / "b").iterdir()
    assert _files(folder / "knowledge") == _files(knowledge)


def test_a_backup_into_a_file_is_one_clear_error(setup, tmp_path):
    _, _, config = setup
    blocker = tmp_path / "fil"
    blocker.write_text("x", encoding="utf-8")
    code, out, err = _run("--config", config, "backup", blocker)
    assert code == 1 and out == ""
    assert err.startswith("natverksbot: error: cannot write a backup in ")
    assert len(err.splitlines()) == 1 and blocker.read_text() == "x"


def _wal_database(state: Path) -> None:
    """A question record in WAL mode, as the running bot keeps it."""
    state.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(state / "bot.sqlite")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE questions (id INTEGER PRIMARY KEY)")
        db.commit()


@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_database_sqlite_cannot_open_is_one_line_and_leaves_nothing_behind(
    setup, tmp_path, monkeypatch, language
):
    """SQLite cannot open its write-ahead log: what a read-only state folder does to it.

    Root may write anywhere, so the log is made a folder instead; SQLite fails the same way.
    """
    _, state, config = setup
    _wal_database(state)
    (state / "bot.sqlite-wal").mkdir()
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", language)
    target = tmp_path / "kopior" / "ny"
    code, out, err = _run("--config", config, "backup", target)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    expected = {
        "en": f"natverksbot: error: cannot copy the database {state / 'bot.sqlite'}: ",
        "sv": f"natverksbot: fel: databasen {state / 'bot.sqlite'} går inte att kopiera: ",
    }[language]
    assert err.startswith(expected)
    assert "unable to open database file" in err
    assert not (tmp_path / "kopior").exists()  # nothing half-written, not even the folder


def test_a_damaged_database_is_one_line_and_leaves_nothing_behind(setup, tmp_path):
    _, state, config = setup
    state.mkdir(parents=True, exist_ok=True)
    (state / "bot.sqlite").write_bytes(b"inte en databas " * 200)
    target = tmp_path / "kopior"
    target.mkdir()
    code, out, err = _run("--config", config, "backup", target)
    assert code == 1 and out == ""
    assert err == (
        f"natverksbot: error: cannot copy the database {state / 'bot.sqlite'}:"
        " file is not a database\n"
    )
    assert list(target.iterdir()) == []


def _can_mount_read_only() -> bool:
    """Return whether this process may make a folder read-only in a mount namespace of its own."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                _READ_ONLY.format(folder=folder) + f" && ! touch {folder}/x",
            ],
            capture_output=True,
            check=False,
        )
    return probe.returncode == 0


_READ_ONLY = "mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"


@pytest.mark.skipif(
    not _can_mount_read_only(),
    reason="needs root and mount namespaces to make a folder truly read-only",
)
@pytest.mark.parametrize("read_only", ["state", "destination"])
def test_a_truly_read_only_state_folder_or_destination_is_one_line(setup, tmp_path, read_only):
    _, state, config = setup
    _wal_database(state)
    destination = tmp_path / "kopior"
    destination.mkdir()
    folder = state if read_only == "state" else destination
    command = _READ_ONLY.format(folder=folder) + (
        f" && exec {sys.executable} -m bot --config {config} backup {destination}"
    )
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[3],
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("natverksbot: error: "), done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert list(destination.iterdir()) == []
