"""The record store's contract: what every backend of RecordStore must do, through it alone.

Each test runs once per backend in BACKENDS (SQLite, and PostgreSQL in a fresh schema of
the server in NATVERKSBOT_PG_DSN: skipped without one, failing in CI) and uses only the
interface's methods, so a backend passes by behaving, not by its schema. What only SQLite
does (its schema, migrations, salt file, bytes on disk) is in test_records.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.services.conversation import next_context
from bot.services.record_store import AsyncRecordStore, RecordStore
from bot.services.records import DAY_SECONDS, ChangeRecord, QuestionRecord, SQLiteRecordStore
from tests.pg_server import dsn_or_skip, fresh_schema

USER = 123456789012345678


@contextlib.contextmanager
def _sqlite(tmp_path) -> Iterator[RecordStore]:
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def _postgres(tmp_path) -> Iterator[RecordStore]:
    from bot.services.records_pg import PostgresRecordStore

    dsn = dsn_or_skip()
    with fresh_schema(dsn) as schema:
        store = PostgresRecordStore.open(
            dsn, tmp_path / "state", environ={}, create_salt=True, schema=schema
        )
        try:
            yield store
        finally:
            store.close()


BACKENDS = {"sqlite": _sqlite, "postgres": _postgres}
MARKS = {"postgres": [pytest.mark.postgres]}


@pytest.fixture(params=[pytest.param(name, marks=MARKS.get(name, ())) for name in sorted(BACKENDS)])
def store(request, tmp_path):
    with BACKENDS[request.param](tmp_path) as store:
        yield store


def _record(**kw) -> QuestionRecord:
    values = dict(
        guild_id=1,
        channel_id=2,
        user_id=USER,
        via="slash",
        question="När startade samarbetet?",
        answered=True,
        sources=["a.md", "b/ö.md"],
        visibility="public",
        language="sv",
    )
    values.update(kw)
    return QuestionRecord(**values)


def _everything(store: RecordStore) -> list:
    return store.asked_questions(since=0.0, until=time.time() + DAY_SECONDS)


def _context(store: RecordStore, record_id: int, message_id: int) -> str | None:
    """Return a stored record's context, read back the way a follow-up reads it."""
    store.put_conversation(record_id, message_id)
    found = store.get_conversation(message_id)
    assert found is not None and found.record_id == record_id
    return found.context


def test_the_backend_implements_the_interface(store):
    assert isinstance(store, RecordStore)


def test_questions_come_back_for_their_period_oldest_first(store):
    for asked_at, visibility in ((300.0, "internal"), (100.0, "public"), (200.0, "public")):
        store.add_question(
            _record(asked_at=asked_at, visibility=visibility, answered=asked_at > 150)
        )
    store.add_question(_record(asked_at=400.0, sources=[], via="dm", guild_id=None))

    rows = store.asked_questions(since=100.0, until=400.0)
    public = store.asked_questions(since=0.0, until=1000.0, visibility="public")

    assert [(r.asked_at, r.answered) for r in rows] == [
        (100.0, False),
        (200.0, True),
        (300.0, True),
    ]
    assert rows[0].sources == ["a.md", "b/ö.md"] and rows[0].question == "När startade samarbetet?"
    assert (rows[0].guild_id, rows[0].via, rows[0].answer_mode) == (1, "slash", "public")
    assert [r.asked_at for r in public] == [100.0, 200.0, 400.0]
    assert (public[-1].sources, public[-1].guild_id) == ([], None)


def test_each_question_gets_an_id_of_its_own(store):
    ids = [store.add_question(_record()) for _ in range(3)]
    assert len(set(ids)) == 3


def test_the_latest_question_of_a_message_or_thread_is_found(store):
    first = store.add_question(_record(question="Första"))
    store.put_conversation(first, 10, thread_id=20)
    second = store.add_question(_record(question="Andra", context="Första"))
    store.put_conversation(second, 11, thread_id=20, latency_ms=12.5)

    assert store.get_conversation(10).question == "Första"
    found = store.get_conversation(20)
    assert (found.record_id, found.question, found.context) == (second, "Andra", "Första")
    assert store.get_conversation(99) is None


@pytest.mark.parametrize(
    ("votes", "outcomes", "up", "down"),
    [
        ([(1, 1)], ["recorded"], 1, 0),
        ([(1, -1)], ["recorded"], 0, 1),
        ([(1, 1), (1, 1)], ["recorded", "same"], 1, 0),
        ([(1, 1), (1, -1)], ["recorded", "changed"], 0, 1),
        ([(1, 1), (2, -1)], ["recorded", "recorded"], 1, 1),
        ([(1, 1), (2, 1), (3, -1)], ["recorded"] * 3, 2, 1),
    ],
)
def test_one_vote_per_user_and_answer_changeable(store, votes, outcomes, up, down):
    record_id = store.add_question(_record())
    assert [store.vote(record_id, user, v).outcome for user, v in votes] == outcomes
    [row] = _everything(store)
    assert (row.votes_up, row.votes_down) == (up, down)


def test_a_vote_on_a_missing_answer_is_said_and_a_vote_is_plus_or_minus_one(store):
    assert store.vote(404, USER, 1).outcome == "missing"
    with pytest.raises(ValueError):
        store.vote(store.add_question(_record()), USER, 2)


def test_a_vote_returns_the_answers_language(store):
    record_id = store.add_question(_record(language="en"))
    assert store.vote(record_id, USER, -1).language == "en"


def test_retention_deletes_the_questions_older_than_it(store):
    now = time.time()
    store.add_question(_record(asked_at=now - 91 * DAY_SECONDS))
    edge = store.add_question(_record(asked_at=now - 89 * DAY_SECONDS, question="Kvar"))
    store.vote(edge, USER, 1)

    assert store.purge(90, now=now) == 1
    assert [(r.question, r.votes_up) for r in _everything(store)] == [("Kvar", 1)]
    assert store.purge(90, now=now) == 0


def test_changes_are_logged_newest_first_with_the_user_hashed(store):
    store.log_change(ChangeRecord("add", "a.md", user_id=USER, visibility="public", size=3))
    store.log_change(ChangeRecord("fetch-added", "web/b.md", via="cli", detail="https://x"))

    newest, oldest = store.changes()

    assert (newest.action, newest.document, newest.via, newest.user_hash) == (
        "fetch-added",
        "web/b.md",
        "cli",
        None,
    )
    assert newest.detail == "https://x" and newest.id != oldest.id
    assert (oldest.user_hash, oldest.visibility, oldest.size) == (
        store.hash_user(USER),
        "public",
        3,
    )
    assert [c.document for c in store.changes(limit=1)] == ["web/b.md"]


def test_a_user_is_known_by_a_salted_hash_never_the_id(store):
    assert store.hash_user(USER) == store.hash_user(USER) != store.hash_user(USER + 1)
    assert str(USER) not in store.hash_user(USER)


def test_forgetting_deletes_them_and_their_words_in_others_follow_ups(store):
    theirs = "Hur länge får min familj stanna i kommunens boende?"
    asked = store.add_question(_record(user_id=USER, question=theirs))
    store.put_conversation(asked, 1)
    whole = store.add_question(_record(user_id=7, question="Och sedan?", context=theirs))
    cut = next_context("Och sedan?", theirs, 30)  # only the end of their question is left
    partly = store.add_question(_record(user_id=8, question="Var då?", context=cut))
    unrelated = store.add_question(_record(user_id=9, question="Vad?", context="Annan fråga"))
    store.vote(whole, USER, 1)
    store.log_change(ChangeRecord("add", "a.md", user_id=USER, detail="min-ansökan.pdf"))
    generation = store.forget_generation()

    forgotten = store.forget_user(USER)

    assert (forgotten.questions, forgotten.votes, forgotten.contexts, forgotten.changes) == (
        1,
        1,
        2,
        1,
    )
    assert store.get_conversation(1) is None
    assert [r.question for r in _everything(store)] == ["Och sedan?", "Var då?", "Vad?"]
    assert [r.votes_up for r in _everything(store)] == [0, 0, 0]
    assert [_context(store, r, 100 + r) for r in (whole, partly, unrelated)] == [
        None,
        None,
        "Annan fråga",
    ]
    [change] = store.changes()
    assert (change.user_hash, change.detail) == (None, None)
    assert store.forget_generation() == generation + 1


def test_a_context_read_before_someone_was_forgotten_is_not_stored(store):
    generation = store.forget_generation()
    store.add_question(_record(user_id=USER, question="Deras fråga"))
    store.forget_user(USER)
    late = store.add_question(
        _record(user_id=7, question="Följd", context="Deras fråga", context_generation=generation)
    )
    fresh = store.add_question(
        _record(user_id=7, question="Ny", context="Annat", context_generation=generation + 1)
    )
    assert (_context(store, late, 1), _context(store, fresh, 2)) == (None, "Annat")


def test_the_bot_awaits_the_same_calls_on_its_one_records_thread(store):
    threads: set[str] = set()
    real_add = store.add_question

    def add_question(record):
        threads.add(threading.current_thread().name)
        return real_add(record)

    store.add_question = add_question
    executor = ThreadPoolExecutor(1, thread_name_prefix="records")
    records = AsyncRecordStore(store, executor)

    async def use() -> tuple:
        record_id = await records.add_question(_record(language="en"))
        await records.put_conversation(record_id, 5, thread_id=6, latency_ms=1.0)
        return (
            record_id,
            await records.get_conversation(6),
            await records.vote(record_id, USER, 1),
            await records.forget_generation(),
            await records.log_change(ChangeRecord("add", "a.md")),
            await records.purge(1),
        )

    try:
        record_id, found, vote, generation, change_id, purged = asyncio.run(use())
    finally:
        executor.shutdown()
    assert found.record_id == record_id and (vote.outcome, vote.language) == ("recorded", "en")
    assert (generation, purged) == (0, 0) and change_id == store.changes()[0].id
    assert records.hash_user(USER) == store.hash_user(USER)
    assert len(threads) == 1 and threads.pop().startswith("records")
