"""The command line waits for the knowledge folder's lock; past the wait it says so in one line."""

from __future__ import annotations

import contextlib
import io
import threading
from pathlib import Path

import pytest

import index.folder_lock
from bot.cli import main
from index.folder_lock import folder_lock
from tests.conftest import FakeEncoder, fill_knowledge


@pytest.fixture
def config(tmp_path, monkeypatch):
    knowledge = fill_knowledge(tmp_path / "knowledge")
    path = tmp_path / "config.yaml"
    path.write_text(
        f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n", encoding="utf-8"
    )
    from bot.services import indexing

    monkeypatch.setattr(indexing, "create_encoder", lambda config: FakeEncoder())
    monkeypatch.setattr(index.folder_lock, "WAIT_SECONDS", 0.2)
    return path


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def held_elsewhere(folder: Path):
    """Hold the folder's lock on another thread, as a change in another process would."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with folder_lock(folder):
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize(
    ("language", "args", "message"),
    [
        (
            "en",
            ("kb", "remove", "sommarskola.md", "--yes", "--no-index"),
            "natverksbot: error: The knowledge folder stayed busy for 0.2 s",
        ),
        (
            "sv",
            ("kb", "remove", "sommarskola.md", "--yes", "--no-index"),
            "natverksbot: fel: Kunskapsmappen var upptagen i 0.2 s",
        ),
        (
            "en",
            ("index",),
            "natverksbot: error: the knowledge folder is being changed: try again in a while",
        ),
        (
            "sv",
            ("--index-dir", "{tmp}/annat-index", "index"),
            "natverksbot: fel: kunskapsmappen håller på att ändras: försök igen om en stund",
        ),
    ],
)
def test_a_command_that_cannot_get_the_folder_in_time_says_so_in_one_line(
    config, tmp_path, monkeypatch, language, args, message
):
    monkeypatch.setenv("NATVERKSBOT_CLI_LANGUAGE", language)
    knowledge = tmp_path / "knowledge"
    before = sorted(knowledge.rglob("*"))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with held_elsewhere(knowledge):
        code, out, err = run("--config", config, *args)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert sorted(knowledge.rglob("*")) == before
    code, _, err = run("--config", config, *args)  # the lock free again: it runs
    assert code == 0, err
