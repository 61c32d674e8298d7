"""Reports from the question record, and the report / forget-user / fetch-sources commands."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from datetime import UTC, date, datetime

import pytest
from PIL import Image

from bot.cli import main
from bot.services.records import SALT_ENV, QuestionRecord, RecordStore
from bot.services.report import (
    build_report,
    format_tables,
    group_questions,
    parse_since,
    question_key,
    render_html,
    render_png,
)
from tests.bot.municipal_site import serve_site
from tests.bot.services.test_sources import list_pages

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600
DAY = 86_400


def test_the_two_phrasings_of_when_the_collaboration_started_count_together():
    [gap] = group_questions(["när började samarbetet", "När startade samarbetet?"])
    assert gap.count == 2
    assert {gap.question, *gap.variants} == {"när började samarbetet", "När startade samarbetet?"}
    assert question_key("när började samarbetet") == question_key("När startade samarbetet?")


@pytest.mark.parametrize(
    ("a", "b", "together"),
    [
        ("Vad kostar bygglov?", "vad kostar ett bygglov", True),
        ("Vad kostar bygglov?", "Vad är priset för bygglov?", True),  # synonym
        ("Vad kostar bygglov?", "Vad kostar byglov?", True),  # a typo: trigrams
        ("När startade samarbetet?", "När slutade samarbetet?", False),
        ("När startade samarbetet?", "Vad kostar bygglov?", False),
        ("Vem är ordförande i nätverket?", "Vem leder sommarskolan?", False),
    ],
)
def test_near_duplicates_are_grouped_and_different_questions_are_not(a, b, together):
    gaps = group_questions([a, b])
    assert (len(gaps) == 1) == together


def test_groups_are_ordered_by_frequency_with_the_commonest_phrasing_shown():
    questions = ["Vem är ordförande?"] + ["Vad kostar bygglov?"] * 2 + ["vad kostar ett bygglov"]
    gaps = group_questions(questions, top=1)
    assert [(g.question, g.count, g.variants) for g in gaps] == [
        ("Vad kostar bygglov?", 3, ("vad kostar ett bygglov",))
    ]


@pytest.mark.parametrize(
    ("text", "seconds_back"),
    [("30d", 30 * DAY), ("12h", 12 * HOUR), ("2w", 14 * DAY), ("3m", 90 * DAY), ("7", 7 * DAY)],
)
def test_periods(text, seconds_back):
    assert parse_since(text, now=NOW) == NOW - seconds_back


def test_a_period_can_be_a_date_and_nonsense_is_refused():
    assert parse_since("2025-03-01", now=NOW) == datetime(2025, 3, 1).timestamp()
    with pytest.raises(ValueError, match="expected a duration"):
        parse_since("förra veckan", now=NOW)


def _question(store, user, question, answered, *, days_ago=0.0, guild=1, sources=(), latency=100):
    return store.add(
        QuestionRecord(
            guild_id=guild,
            channel_id=5,
            user_id=user,
            via="slash",
            question=question,
            answered=answered,
            sources=list(sources),
            visibility="public",
            language="sv",
            latency_ms=latency,
            asked_at=NOW - days_ago * DAY,
        )
    )


@pytest.fixture
def record(tmp_path):
    store = RecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    a = _question(store, 1, "När startade samarbetet?", True, sources=["almedalen.md"], latency=80)
    b = _question(store, 2, "När började samarbetet", True, sources=["almedalen.md", "plan.pdf"])
    _question(store, 3, "Vad kostar bygglov?", False, days_ago=1, latency=300)
    _question(store, 4, "vad kostar ett bygglov", False, days_ago=1, guild=None)
    _question(store, 5, "Vem <script>alert(1)</script>?", False, days_ago=2, guild=2)
    _question(store, 6, "Gammal fråga", True, days_ago=40)
    store.vote(a, 10, 1)
    store.vote(a, 11, 1)
    store.vote(b, 10, -1)
    yield store
    store.close()


def test_the_report_counts_days_answers_latency_gaps_citations_votes_and_guilds(record):
    report = build_report(record.path, since=NOW - 7 * DAY + 1, until=NOW + 1, tz=UTC)
    assert (report.asked, report.answered, report.unanswered) == (5, 2, 3)
    assert report.answered_share == pytest.approx(0.4)
    assert report.median_latency_ms == 100
    assert [(d.day, d.asked, d.answered) for d in report.days[-3:]] == [
        (date(2025, 3, 12), 1, 0),
        (date(2025, 3, 13), 2, 0),
        (date(2025, 3, 14), 2, 2),
    ]
    assert len(report.days) == 8 and sum(d.asked for d in report.days) == 5
    assert [(g.question, g.count) for g in report.gaps] == [
        ("Vad kostar bygglov?", 2),
        ("Vem <script>alert(1)</script>?", 1),
    ]
    assert [(s.document, s.cited, s.up, s.down) for s in report.cited] == [
        ("almedalen.md", 2, 2, 1),
        ("plan.pdf", 1, 0, 1),
    ]
    assert [(s.document, s.up, s.down) for s in report.feedback] == [
        ("almedalen.md", 2, 1),
        ("plan.pdf", 0, 1),
    ]
    assert [(g.guild_id, g.asked, g.answered) for g in report.guilds] == [
        (1, 3, 2),
        (2, 1, 0),
        (None, 1, 0),  # direct messages
    ]


def test_the_terminal_report_has_a_table_for_each_part(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    text = format_tables(report)
    for heading in (
        "Questions per day",
        "Most frequent unanswered questions (knowledge gaps)",
        "Most cited documents",
        "Feedback per document",
        "Per server",
    ):
        assert heading in text
    assert re.search(r"^ +2 +Vad kostar bygglov\? +vad kostar ett bygglov$", text, re.M)
    assert re.search(r"^  direct messages +1 +0 +0 %", text, re.M)


@pytest.mark.parametrize("language", ["sv", "en"])
def test_the_terminal_report_and_the_web_page_use_the_same_words(record, language):
    import html as html_module

    from bot.locales import t

    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    text = format_tables(report, language)
    page = html_module.unescape(render_html(report, language))
    for key in ("report.per_day", "report.gaps", "report.cited", "report.feedback"):
        assert t(key, language) in text and t(key, language) in page
    for key in ("report.asked", "report.answered", "report.direct", "report.document"):
        assert t(key, language) in text and t(key, language) in page
    other = "en" if language == "sv" else "sv"
    for key in ("report.gaps", "report.feedback", "report.direct"):
        assert t(key, other) not in text and t(key, other) not in page
    assert f'<html lang="{language}">' in render_html(report, language)


def test_the_html_page_is_self_contained_and_escapes_what_people_wrote(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=|url\(|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert "default-src 'none'" in page


def test_the_png_chart_is_an_image_of_the_expected_size(record):
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    image = Image.open(io.BytesIO(render_png(report, "en")))
    assert image.format == "PNG" and image.size == (960, 400)
    colours = {colour for _, colour in image.getcolors(maxcolors=100_000)}
    assert (0x2B, 0x6C, 0xB0) in colours and (0xF6, 0xAD, 0x55) in colours  # both bar kinds


def test_without_a_system_font_the_chart_falls_back_to_plain_letters(record, monkeypatch):
    import bot.services.report

    monkeypatch.setattr(bot.services.report, "_FONTS", ())
    report = build_report(record.path, since=NOW - 7 * DAY, until=NOW + 1, tz=UTC)
    assert Image.open(io.BytesIO(render_png(report, "sv"))).size == (960, 400)


def test_an_empty_record_makes_an_empty_report(tmp_path):
    report = build_report(tmp_path / "saknas.sqlite", since=NOW - DAY, until=NOW, tz=UTC)
    assert report.asked == 0 and report.answered_share is None and report.gaps == ()
    assert "(none)" in format_tables(report)
    render_png(report)
    render_html(report)


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
    assert "Gammal fråga" not in captured.out or "3650" in captured.err  # within the period
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"wrote {out}" in captured.err


def test_the_report_command_without_a_record_is_one_line(tmp_path, capsys):
    code = main(["--config", str(_config(tmp_path)), "report"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("natverksbot: error: no question record at ")
    assert err.count("\n") == 1


def test_forget_user_deletes_their_questions_and_votes_and_says_how_many(tmp_path, capsys):
    store = RecordStore.open(tmp_path / "state", create_salt=True)
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
    store = RecordStore.open(tmp_path / "state")
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
    store = RecordStore.open(tmp_path / "state", need_salt=False)
    try:
        [change] = store.changes()
        assert (change["action"], change["via"], change["user_hash"]) == (
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
    store = RecordStore.open(tmp_path / "state", environ={SALT_ENV: "bottens"})
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
    store = RecordStore.open(tmp_path / "state", environ={SALT_ENV: "bottens"})
    assert len(store.rows()) == 1
    store.close()


def test_forget_user_without_a_record_fails_rather_than_say_zero(tmp_path, capsys):
    assert main(["--config", str(_config(tmp_path)), "forget-user", "42"]) == 1
    assert "no question record at " in _one_line_error(capsys)


@pytest.mark.parametrize("since", ["99999999d", "1e300d", "99999999999m", "0001-01-01"])
def test_a_period_beyond_the_calendar_is_one_line(tmp_path, record, capsys, since):
    assert main(["--config", str(_config(tmp_path)), "report", "--since", since]) == 1
    assert f"--since {since!r}" in _one_line_error(capsys)
