"""The report, forget-user and fetch-sources commands (the report itself: report/)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import stat
import threading

import pytest

from bot.cli import main
from bot.services.records import SALT_ENV, SQLiteRecordStore
from tests.bot.municipal_site import serve_site
from tests.bot.services.report.sample import add_question as _question
from tests.bot.services.web.test_sources import list_pages

# --------------------------------------------------------------------------- commands


def _config(tmp_path, knowledge=None):
    knowledge = knowledge or tmp_path / "knowledge"
    knowledge.mkdir(exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(
        f"knowledge_dir: {knowledge}\nstate_dir: {tmp_path / 'state'}\n"
        "sources:\n  allowed_hosts: ['127.0.0.1']\n"  # the local test site
    )
    return path


def test_the_report_command_prints_tables_and_writes_the_page(tmp_path, record, capsys):
    out = tmp_path / "rapport.html"
    code = main(
        ["--config", str(_config(tmp_path)), "report", "--since", "3650d", "--html", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "Most cited documents" in captured.out and "almedalen.md" in captured.out
    # All six sample questions fall within 3650 days, the 40-day-old one too: 3 answered.
    assert _summary(captured.out)[:2] == ["6", "3"]
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in captured.err


def test_the_page_is_written_for_its_owner_alone(tmp_path, record, capsys):
    out = tmp_path / "rapport.html"
    out.write_text("en äldre sida")
    out.chmod(0o644)
    old_umask = os.umask(0)  # nothing masks the mode it is created with
    try:
        code = main(
            ["--config", str(_config(tmp_path)), "report", "--since", "3650d", "--html", str(out)]
        )
    finally:
        os.umask(old_umask)
    assert code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "vad kostar ett bygglov" in out.read_text(encoding="utf-8")  # a direct message
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_private_questions_are_counted_but_their_words_never_shown(tmp_path, record, capsys):
    _question(record, 20, "Mitt personnummer 19800101-1234, vad gäller?", False, private=True)
    out = tmp_path / "rapport.html"
    code = main(
        ["--config", str(_config(tmp_path)), "report", "--since", "3650d", "--html", str(out)]
    )
    text, page = capsys.readouterr().out, out.read_text(encoding="utf-8")
    assert code == 0
    for shown in (text, page):
        assert "19800101" not in shown and "personnummer" not in shown
        assert "vad kostar ett bygglov" in shown  # the other unanswered questions are there
    # Counted: 7 asked (the sample's six and it), 3 answered, 4 unanswered.
    assert re.search(r"^  asked .* unanswered\n.*\n +7 +3 .* +4$", text, re.MULTILINE)


def _summary(out: str) -> list[str]:
    """Return the figures of the report's summary table (the row under its first rule)."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.strip().startswith("---"))
    return lines[rule + 1].split()


def test_the_report_command_without_a_record_is_one_line(tmp_path, capsys):
    code = main(["--config", str(_config(tmp_path)), "report"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("natverksbot: error: no question record at ")
    assert err.count("\n") == 1


def test_forget_user_deletes_their_questions_and_votes_and_says_how_many(tmp_path, capsys):
    store = SQLiteRecordStore.open(tmp_path / "state", create_salt=True)
    try:
        mine = _question(store, 42, "Min fråga", True)
        _question(store, 42, "Min andra fråga", False)
        theirs = _question(store, 7, "Någon annans fråga", True)
        store.vote(theirs, 42, 1)  # their vote on someone else's answer
        store.vote(mine, 7, -1)  # someone else's vote on their answer
        store.vote(theirs, 8, 1)
    finally:
        store.close()
    code = main(["--config", str(_config(tmp_path)), "forget-user", "42"])
    out = capsys.readouterr().out
    assert code == 0
    assert out == (
        "Deleted 4 rows: 2 questions and 1 vote by that user, and 1 vote by others on their"
        " answers.\n"
    )
    store = SQLiteRecordStore.open(tmp_path / "state")
    try:
        [left] = store.rows()
        assert left["question"] == "Någon annans fråga" and left["votes_up"] == 1
        assert [v["user_hash"] for v in store.rows("SELECT * FROM votes")] == [store.hash_user(8)]
    finally:
        store.close()


@pytest.mark.parametrize("user_id", ["@someone", "12ab", "1" * 25])
def test_forget_user_refuses_what_is_not_a_user_id(tmp_path, capsys, user_id):
    assert main(["--config", str(_config(tmp_path)), "forget-user", user_id]) == 1
    assert "is not a Discord user id" in capsys.readouterr().err


def test_fetch_sources_stores_pages_reports_failures_and_exits_1(tmp_path, capsys):
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder = {}

    async def serve():
        async for site in serve_site():
            holder["site"] = site
            started.set()
            while not holder.get("stop"):
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(5)
    try:
        knowledge = tmp_path / "knowledge"
        knowledge.mkdir()
        list_pages(knowledge, holder["site"], ("/integration", "public"), ("/trasig", "public"))
        code = main(["--config", str(_config(tmp_path, knowledge)), "fetch-sources", "--no-index"])
    finally:
        holder["stop"] = True
        thread.join(5)
        loop.close()
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"^added +http://127\.0\.0\.1:\d+/integration  ->  web/", out, re.M)
    assert (
        "failed  " in out and "(HTTP 500 Internal Server Error; the last good copy is kept)" in out
    )
    assert out.rstrip().endswith("1 added, 0 updated, 0 unchanged, 0 removed, 1 failed")
    store = SQLiteRecordStore.open(tmp_path / "state", need_salt=False)
    try:
        [change] = store.changes()
        assert (change.action, change.via, change.user_hash) == (
            "fetch-added",
            "cli",
            None,
        )
    finally:
        store.close()


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.startswith("natverksbot: error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err


def test_forget_user_without_the_bots_salt_fails_and_deletes_nothing(tmp_path, capsys):
    store = SQLiteRecordStore.open(tmp_path / "state", environ={SALT_ENV: "bottens"})
    _question(store, 42, "Min fråga", True)
    store.close()
    config = str(_config(tmp_path))
    # No salt at all: it is not made here (only the bot's first start makes it).
    assert main(["--config", config, "forget-user", "42"]) == 1
    assert "no user-hash salt" in _one_line_error(capsys)
    assert not (tmp_path / "state" / "user-salt").exists()
    # Another salt than the database's.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SALT_ENV, "en annan")
        assert main(["--config", config, "forget-user", "42"]) == 1
    assert "is not the one" in _one_line_error(capsys)
    store = SQLiteRecordStore.open(tmp_path / "state", environ={SALT_ENV: "bottens"})
    assert len(store.rows()) == 1
    store.close()


def test_forget_user_says_so_when_a_reader_keeps_old_copies_on_disk(tmp_path, capsys):
    store = SQLiteRecordStore.open(tmp_path / "state", create_salt=True)
    _question(store, 42, "Min fråga om 19800101-1234", True)
    store.close()
    reader = sqlite3.connect(tmp_path / "state" / "bot.sqlite", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM questions").fetchone()
        code = main(["--config", str(_config(tmp_path)), "forget-user", "42"])
    finally:
        reader.close()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.startswith("Deleted 1 row: 1 question")
    assert captured.err == (
        f"natverksbot: error: another program is reading {tmp_path / 'state' / 'bot.sqlite'},"
        " so old copies of their words are still on disk: run forget-user again when it has"
        " finished\n"
    )
    assert main(["--config", str(_config(tmp_path)), "forget-user", "42"]) == 0
    raw = b"".join(p.read_bytes() for p in (tmp_path / "state").glob("bot.sqlite*"))
    assert b"19800101-1234" not in raw


def test_forget_user_without_a_record_fails_rather_than_say_zero(tmp_path, capsys):
    assert main(["--config", str(_config(tmp_path)), "forget-user", "42"]) == 1
    assert "no question record at " in _one_line_error(capsys)


@pytest.mark.parametrize("since", ["99999999d", "1e300d", "99999999999m", "0001-01-01"])
def test_a_period_beyond_the_calendar_is_one_line(tmp_path, record, capsys, since):
    assert main(["--config", str(_config(tmp_path)), "report", "--since", since]) == 1
    assert f"--since {since!r}" in _one_line_error(capsys)
