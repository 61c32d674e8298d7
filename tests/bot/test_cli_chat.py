"""`natverksbot chat` keeps a conversation like a Discord thread; piped output ends quietly."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from bot.cli import main
from bot.services.records import QuestionRecord, SQLiteRecordStore

ROOT = Path(__file__).parents[2]


def _config(tmp_path: Path, knowledge: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n")
    return path


def test_chat_asks_each_question_with_the_conversation_so_far(
    tmp_path, knowledge, fake_model, monkeypatch, capsys
):
    from index.engine import Engine

    seen = []
    ask = Engine.ask

    def spy(self, question, **kwargs):
        seen.append((question, kwargs.get("context")))
        return ask(self, question, **kwargs)

    monkeypatch.setattr(Engine, "ask", spy)
    lines = "När hålls sommarskolan?\nOch när startade den?\n/ny\nVem är presschef?\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code = main(["--config", str(_config(tmp_path, knowledge)), "chat"])
    out = capsys.readouterr().out

    assert code == 0
    assert seen[:2] == [
        ("När hålls sommarskolan?", None),
        ("Och när startade den?", "När hålls sommarskolan?"),  # a follow-up
    ]
    assert seen[2:] == [("Vem är presschef?", None)]  # /ny started a new conversation
    assert "juli" in out


def test_a_follow_up_that_fails_is_not_asked_again_without_its_context(
    tmp_path, knowledge, fake_model, monkeypatch, capsys
):
    """As in Discord: a follow-up is always asked with its conversation, never retried alone."""
    from index.engine import Engine

    seen = []
    ask = Engine.ask

    def declining_follow_ups(self, question, **kwargs):
        seen.append((question, kwargs.get("context")))
        answer = ask(self, question, **kwargs)
        if kwargs.get("context"):
            answer.answered = False
        return answer

    monkeypatch.setattr(Engine, "ask", declining_follow_ups)
    monkeypatch.setattr("sys.stdin", io.StringIO("När hålls sommarskolan?\nVem är presschef?\n"))
    assert main(["--config", str(_config(tmp_path, knowledge)), "chat"]) == 0

    assert seen == [
        ("När hålls sommarskolan?", None),
        ("Vem är presschef?", "När hålls sommarskolan?"),
    ]


def test_a_report_piped_into_head_ends_quietly(tmp_path, knowledge):
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    try:
        for i in range(3000):  # far more output than a pipe holds
            store.add_question(
                QuestionRecord(
                    guild_id=1,
                    channel_id=5,
                    user_id=i,
                    via="slash",
                    question=f"Fråga nummer {i} om ämne {i * 7919 % 104729}?",
                    answered=False,
                    sources=[],
                    visibility="public",
                    language="sv",
                )
            )
    finally:
        store.close()
    config = _config(tmp_path, knowledge)
    command = (
        f"{sys.executable} -m bot --config {config} report --since 3650d --top 3000 | head -n 1"
    )
    run = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NATVERKSBOT_USER_SALT": ""},
    )
    assert run.stdout.count("\n") == 1
    assert run.stderr == ""
    assert run.returncode == 0
