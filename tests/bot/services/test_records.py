"""The question record in SQLite: hashed ids, its schema and migrations, the salt, bytes on disk.

What every record store must do is in test_record_store_contract.py.
"""

from __future__ import annotations

import sqlite3
import stat
import time

import pytest

from bot.services.records import (
    DAY_SECONDS,
    SALT_ENV,
    SCHEMA_VERSION,
    QuestionRecord,
    RecordsError,
    SQLiteRecordStore,
    load_salt,
    read_questions,
)

USER = 123456789012345678


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


@pytest.fixture
def store(tmp_path):
    store = SQLiteRecordStore.open(tmp_path / "state", environ={}, create_salt=True)
    yield store
    store.close()


def test_a_question_is_stored_with_a_salted_hash_never_the_user_id(store, tmp_path):
    record_id = store.add_question(_record(context="Förra frågan", confidence=0.8))
    store.put_conversation(record_id, 999, latency_ms=42.5)
    [row] = store.rows()
    assert row["user_hash"] == store.hash_user(USER) and len(row["user_hash"]) == 64
    assert str(USER) not in row["user_hash"]
    assert row["sources"] == '["a.md", "b/ö.md"]'
    assert (row["latency_ms"], row["context"]) == (42.5, "Förra frågan")
    assert row["message_id"] == store.hash_id(999) != 999
    assert row["feedback"] is None and row["answered"] == 1
    raw = b"".join(p.read_bytes() for p in (tmp_path / "state").glob("bot.sqlite*"))
    assert str(USER).encode() not in raw


def test_the_database_uses_wal(store):
    assert store.rows("PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_the_salt_is_created_once_private_and_reused(tmp_path):
    state = tmp_path / "state"
    first = load_salt(state, environ={}, create=True)
    assert stat.S_IMODE((state / "user-salt").stat().st_mode) == 0o600
    assert load_salt(state, environ={}) == first and len(first) == 64


def test_a_salt_file_readable_by_others_is_made_private(tmp_path):
    load_salt(tmp_path, environ={}, create=True)
    (tmp_path / "user-salt").chmod(0o644)
    load_salt(tmp_path, environ={})
    assert stat.S_IMODE((tmp_path / "user-salt").stat().st_mode) == 0o600


def test_the_salt_can_come_from_the_environment(tmp_path):
    a = SQLiteRecordStore.open(tmp_path / "a", environ={SALT_ENV: "hemligt"})
    b = SQLiteRecordStore.open(tmp_path / "b", environ={SALT_ENV: "hemligt"})
    c = SQLiteRecordStore.open(tmp_path / "c", environ={}, create_salt=True)
    assert a.hash_user(USER) == b.hash_user(USER) != c.hash_user(USER)
    assert not (tmp_path / "a" / "user-salt").exists()
    for s in (a, b, c):
        s.close()


@pytest.mark.parametrize(
    ("votes", "outcomes", "up", "down", "feedback"),
    [
        ([(1, 1)], ["recorded"], 1, 0, 1),
        ([(1, -1)], ["recorded"], 0, 1, -1),
        ([(1, 1), (1, 1)], ["recorded", "same"], 1, 0, 1),
        ([(1, 1), (1, -1)], ["recorded", "changed"], 0, 1, -1),
        ([(1, 1), (2, -1)], ["recorded", "recorded"], 1, 1, 0),
        ([(1, 1), (2, 1), (3, -1)], ["recorded"] * 3, 2, 1, 1),
    ],
)
def test_one_vote_per_user_and_answer_changeable(store, votes, outcomes, up, down, feedback):
    record_id = store.add_question(_record())
    assert [store.vote(record_id, user, v).outcome for user, v in votes] == outcomes
    [row] = store.rows()
    assert (row["votes_up"], row["votes_down"], row["feedback"]) == (up, down, feedback)
    assert len(store.rows("SELECT * FROM votes")) == len({u for u, _ in votes})


def test_duplicate_votes_are_impossible_in_the_schema(store):
    record_id = store.add_question(_record())
    store.vote(record_id, USER, 1)
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute(
            "INSERT INTO votes VALUES (?, ?, 1, 0)", (record_id, store.hash_user(USER))
        )


def test_retention_deletes_old_questions_and_their_votes(store):
    now = time.time()
    old = store.add_question(_record(asked_at=now - 91 * DAY_SECONDS))
    edge = store.add_question(_record(asked_at=now - 89 * DAY_SECONDS))
    store.vote(old, USER, 1)
    store.vote(edge, USER, 1)
    assert store.purge(90, now=now) == 1
    assert [r["id"] for r in store.rows()] == [edge]
    assert [r["record_id"] for r in store.rows("SELECT * FROM votes")] == [edge]
    assert store.purge(90, now=now) == 0


def test_a_newer_schema_is_refused(tmp_path):
    store = SQLiteRecordStore.open(tmp_path, environ={}, create_salt=True)
    store._db.execute("PRAGMA user_version=99")
    store.close()
    with pytest.raises(RecordsError, match="newer version"):
        SQLiteRecordStore.open(tmp_path, environ={})


def test_forgetting_clears_their_words_from_others_follow_ups_and_the_change_log(store):
    from bot.services.conversation import next_context
    from bot.services.records import ChangeRecord

    theirs = "Hur länge får min familj stanna i kommunens boende?"
    store.add_question(_record(user_id=USER, question=theirs))
    whole = store.add_question(_record(user_id=7, question="Och sedan?", context=theirs))
    # A long conversation cuts its oldest words: only the end of their question is left.
    cut = next_context("Och sedan?", theirs, 30)
    assert cut.startswith("boende?") or theirs not in cut
    partly = store.add_question(_record(user_id=8, question="Var då?", context=cut))
    unrelated = store.add_question(
        _record(user_id=9, question="Vad kostar det?", context="Annan fråga")
    )
    store.log_change(ChangeRecord("add", "a.md", user_id=USER, detail="min-ansökan.pdf"))
    store.log_change(ChangeRecord("add", "b.md", user_id=7, detail="b.md"))
    generation = store.forget_generation()

    forgotten = store.forget_user(USER)

    assert (forgotten.questions, forgotten.contexts, forgotten.changes) == (1, 2, 1)
    contexts = {r["id"]: r["context"] for r in store.rows()}
    assert contexts == {whole: None, partly: None, unrelated: "Annan fråga"}
    changes = {c.document: c for c in store.changes()}
    assert (changes["a.md"].user_hash, changes["a.md"].detail) == (None, None)
    assert changes["b.md"].user_hash == store.hash_user(7)
    assert store.forget_generation() == generation + 1
    # Not even in freed pages or the write-ahead log.
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("bot.sqlite*"))
    assert b"min familj" not in raw and b"min-ans" not in raw


def test_forgetting_clears_a_context_cut_inside_a_long_word_of_theirs(store):
    from bot.services.conversation import next_context

    # One long token first: the context is cut inside it, not between words.
    theirs = "x" * 400 + " mitt personnummer är 19800101-1234"
    follow = "Vad gäller för mig då som är ny i kommunen och saknar ett eget konto? " * 2
    store.add_question(_record(user_id=USER, question=theirs))
    store.add_question(_record(user_id=7, question=follow, context=theirs))
    cut = next_context(follow, theirs, 500)
    assert cut.startswith("xxx") and not cut.startswith(theirs)  # starts mid-word
    later = store.add_question(_record(user_id=8, question="Och sedan?", context=cut))

    forgotten = store.forget_user(USER)

    assert forgotten.contexts == 2
    assert {r["id"]: r["context"] for r in store.rows()}[later] is None
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("bot.sqlite*"))
    assert b"19800101-1234" not in raw


def test_forgetting_while_another_connection_reads_says_the_log_is_not_emptied(store):
    store.add_question(_record(user_id=USER, question="Mitt personnummer är 19800101-1234"))
    store.add_question(_record(user_id=7, question="Någon annans fråga"))
    reader = sqlite3.connect(store.path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM questions").fetchone()  # holds its snapshot

        held = store.forget_user(USER)

        raw = b"".join(p.read_bytes() for p in store.path.parent.glob("bot.sqlite*"))
        assert b"19800101-1234" in raw  # the reader's snapshot keeps the old page
        reader.execute("COMMIT")
    finally:
        reader.close()
    assert (held.questions, held.checkpointed) == (1, False)
    again = store.forget_user(USER)  # running it again finishes the job
    assert (again.questions, again.checkpointed) == (0, True)
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("bot.sqlite*"))
    assert b"19800101-1234" not in raw


def test_a_direct_message_channel_is_stored_hashed_a_guild_channel_as_is(store):
    dm = store.add_question(_record(guild_id=None, channel_id=555_000_111))
    guild = store.add_question(_record(guild_id=1, channel_id=555_000_222))
    channels = {r["id"]: r["channel_id"] for r in store.rows()}
    assert channels == {dm: store.hash_id(555_000_111), guild: 555_000_222}


def test_a_store_without_salt_is_refused_and_makes_none(tmp_path):
    store = SQLiteRecordStore.open(tmp_path, environ={}, create_salt=True)
    store.close()
    (tmp_path / "user-salt").unlink()
    with pytest.raises(RecordsError, match="no user-hash salt: .*user-salt does not exist"):
        SQLiteRecordStore.open(tmp_path, environ={})
    assert not (tmp_path / "user-salt").exists()


def test_another_salt_than_the_databases_is_refused(tmp_path):
    SQLiteRecordStore.open(tmp_path, environ={SALT_ENV: "bottens"}).close()
    with pytest.raises(RecordsError, match="is not the one .*bot.sqlite was written with"):
        SQLiteRecordStore.open(tmp_path, environ={SALT_ENV: "en annan"})
    (tmp_path / "user-salt").write_text("ff" * 32)
    with pytest.raises(RecordsError, match="not the one"):
        SQLiteRecordStore.open(tmp_path, environ={})
    SQLiteRecordStore.open(tmp_path, environ={SALT_ENV: "bottens"}).close()


def test_a_database_deleted_while_open_is_noticed_and_made_again(store, caplog):
    store.add_question(_record())
    store.path.unlink()
    for suffix in ("-wal", "-shm"):
        store.path.with_name(store.path.name + suffix).unlink(missing_ok=True)
    record_id = store.add_question(_record(question="Efter raderingen"))
    assert store.path.is_file()
    assert "was deleted or replaced while open" in caplog.text
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT id, question FROM questions").fetchall() == [
            (record_id, "Efter raderingen")
        ]


def test_a_version_2_record_gets_its_ids_hashed(tmp_path):
    salt = {SALT_ENV: "bottens"}
    store = SQLiteRecordStore.open(tmp_path, environ=salt)
    dm = store.add_question(_record(guild_id=None, channel_id=777))
    store._db.execute("UPDATE questions SET channel_id = 777, message_id = 888, thread_id = 999")
    store._db.execute("DELETE FROM meta")
    store._db.execute("PRAGMA user_version=2")
    store.close()
    store = SQLiteRecordStore.open(tmp_path, environ=salt)
    [row] = store.rows()
    assert (row["id"], row["channel_id"], row["message_id"], row["thread_id"]) == (
        dm,
        store.hash_id(777),
        store.hash_id(888),
        store.hash_id(999),
    )
    assert store.get_conversation(888).record_id == dm
    store.close()


def test_the_answer_mode_is_stored_and_a_version_3_record_gets_it_unknown(tmp_path):
    salt = {SALT_ENV: "bottens"}
    store = SQLiteRecordStore.open(tmp_path, environ=salt)
    private = store.add_question(_record(answer_mode="private"))
    store.add_question(_record(via="mention"))
    assert [r["answer_mode"] for r in store.rows()] == ["private", "public"]
    store._db.execute("ALTER TABLE questions DROP COLUMN answer_mode")  # as version 3 had it
    store._db.execute("PRAGMA user_version=3")
    old = read_questions(store.path, since=0.0, until=time.time() + 10)
    store.close()
    assert [(q.via, q.answer_mode, q.private) for q in old] == [
        ("slash", None, True),  # a /ask of then may have been "only me": nobody can tell
        ("mention", None, False),
    ]

    store = SQLiteRecordStore.open(tmp_path, environ=salt)
    try:
        store.add_question(_record(answer_mode="thread"))
        assert [(r["id"], r["answer_mode"]) for r in store.rows()][0] == (private, None)
        assert [r["answer_mode"] for r in store.rows()][2] == "thread"
        (version,) = store._db.execute("PRAGMA user_version").fetchone()
        assert version == SCHEMA_VERSION
    finally:
        store.close()


# --------------------------------------------------------------------------- reading


def test_read_questions_gives_the_period_oldest_first_with_the_sources_as_a_list(tmp_path):
    store = SQLiteRecordStore.open(tmp_path, environ={SALT_ENV: "s"})
    try:
        for asked_at, visibility in ((300.0, "internal"), (100.0, "public"), (200.0, "public")):
            store.add_question(
                _record(asked_at=asked_at, visibility=visibility, answered=asked_at > 150)
            )
        store.add_question(_record(asked_at=400.0, sources=[]))  # after the period
        rows = read_questions(store.path, since=100.0, until=400.0)
        public = read_questions(store.path, since=0.0, until=1000.0, visibility="public")
    finally:
        store.close()
    assert [(r.asked_at, r.answered) for r in rows] == [
        (100.0, False),
        (200.0, True),
        (300.0, True),
    ]
    assert rows[0].sources == ["a.md", "b/ö.md"] and rows[0].question == "När startade samarbetet?"
    assert [r.asked_at for r in public] == [100.0, 200.0, 400.0] and public[-1].sources == []


def test_read_questions_of_no_record_is_none_and_creates_nothing(tmp_path):
    assert read_questions(tmp_path / "bot.sqlite", since=0.0, until=1.0) == []
    assert not (tmp_path / "bot.sqlite").exists()
    sqlite3.connect(tmp_path / "empty.sqlite").close()  # a database without the table yet
    assert read_questions(tmp_path / "empty.sqlite", since=0.0, until=1.0) == []


@pytest.mark.parametrize("folder", ["rapport #1", "vad?", "100 %"])
def test_read_questions_reads_a_folder_whose_name_looks_like_a_uri(tmp_path, folder):
    store = SQLiteRecordStore.open(tmp_path / folder, environ={SALT_ENV: "s"})
    try:
        store.add_question(_record(asked_at=5.0))
        assert [r.asked_at for r in read_questions(store.path, since=0.0, until=10.0)] == [5.0]
    finally:
        store.close()
