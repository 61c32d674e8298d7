"""`natverksbot kb list|remove|restore`: the /kb verbs on the server, with the real model."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3

import pytest

from bot.cli import main
from tests.conftest import fill_knowledge

SUMMER = "När hålls Borlänges sommarskola?"


@pytest.fixture
def shared_model(real_encoder, monkeypatch):
    """The packaged model, loaded once per session, whatever the backend."""
    from bot.config import DEFAULT_MODEL
    from bot.services import indexing

    create = indexing.create_encoder
    monkeypatch.setattr(
        indexing,
        "create_encoder",
        lambda config: real_encoder if config.name == DEFAULT_MODEL else create(config),
    )


@pytest.fixture
def config(tmp_path, shared_model):
    knowledge = fill_knowledge(tmp_path / "knowledge")
    path = tmp_path / "config.yaml"
    path.write_text(
        f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n",
        encoding="utf-8",
    )
    return path


def run(config, *args, stdin: str = ""):
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--config", str(config), *[str(a) for a in args]])
    return code, out.getvalue(), err.getvalue()


def ask(config) -> dict:
    code, out, err = run(config, "ask", SUMMER, "--json", "--visibility", "public")
    assert code == 0, err
    answer = json.loads(out)
    answer.pop("timings_ms")
    return answer


def test_remove_and_restore_from_the_command_line_give_back_the_same_answers(config, tmp_path):
    before = ask(config)
    code, listed, _ = run(config, "kb", "list")
    assert code == 0 and "sommarskola.md  (" in listed and "intern/budget.md  (" in listed

    code, out, _ = run(config, "kb", "remove", "sommarskola.md", "--yes")
    assert code == 0 and out.startswith("Moved sommarskola.md to the trash (")
    gone = ask(config)
    code, trash, _ = run(config, "kb", "list", "--trash")
    [line] = trash.splitlines()
    key = line.split()[0]
    assert line.startswith(f"{key}  sommarskola.md  (removed 20")

    code, out, _ = run(config, "kb", "restore", key)
    assert code == 0 and out.startswith("Restored sommarskola.md.")
    after = ask(config)

    assert before["answered"] and "juli" in before["answer"]
    assert "juli" not in gone["answer"]
    assert after == before
    assert run(config, "kb", "list", "--trash")[1] == ""
    with contextlib.closing(sqlite3.connect(tmp_path / "state" / "bot.sqlite")) as db:
        changes = db.execute("SELECT action, document, via, user_hash FROM changes").fetchall()
    assert changes == [
        ("remove", "sommarskola.md", "cli", None),
        ("restore", "sommarskola.md", "cli", None),
    ]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("kb", "remove", "sommarskola.md"),
            "",
            "remove sommarskola.md: add --yes to remove without being asked",
        ),
        (("kb", "remove", "../config.yaml", "--yes"), "", "no document called ../config.yaml."),
        (("kb", "restore", "sommarskola.md"), "", "nothing called sommarskola.md in the trash."),
    ],
)
def test_a_refused_change_is_one_line_and_changes_nothing(config, tmp_path, args, stdin, message):
    knowledge = tmp_path / "knowledge"
    before = sorted(p.as_posix() for p in knowledge.rglob("*"))
    code, out, err = run(config, *args, stdin=stdin)
    assert code == 1 and out == ""
    assert err.startswith("natverksbot: error: ") and err.endswith(f"{message}\n")
    assert err.count("\n") == 1
    assert sorted(p.as_posix() for p in knowledge.rglob("*")) == before
    assert not (tmp_path / "state" / "trash").exists()
