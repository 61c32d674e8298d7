"""What only the PostgreSQL record store does (the shared contract is test_record_store_contract).

Its salt fingerprint, no raw id on the server, votes from two processes at once, and the
errors it says in one line. The tests that need a server run against the one in
NATVERKSBOT_PG_DSN (skipped without one, failing in CI); nothing stands in for it.
"""

from __future__ import annotations

import threading

import pytest

from bot.services.records import QuestionRecord, RecordsError
from tests.pg_server import DSN_ENV, client_or_skip, dsn_or_skip, fresh_schema

psycopg = client_or_skip()

from bot.services.records_pg import PostgresRecordStore  # noqa: E402 - needs psycopg

USER = 123456789012345678
MESSAGE = 987654321098765432


@pytest.fixture
def server():
    dsn = dsn_or_skip()
    with fresh_schema(dsn) as schema:
        yield dsn, schema


def _open(server, tmp_path, salt: str = "salt-a") -> PostgresRecordStore:
    dsn, schema = server
    return PostgresRecordStore.open(
        dsn, tmp_path, environ={"NATVERKSBOT_USER_SALT": salt}, schema=schema
    )


def _record(**kw) -> QuestionRecord:
    values = dict(
        guild_id=None,
        channel_id=555555555555555555,
        user_id=USER,
        via="dm",
        question="Hej?",
        answered=True,
        sources=["a.md"],
        visibility="public",
        language="sv",
    )
    values.update(kw)
    return QuestionRecord(**values)


@pytest.mark.postgres
def test_a_record_written_with_one_salt_refuses_another(server, tmp_path):
    _open(server, tmp_path, "salt-a").close()

    with pytest.raises(RecordsError, match="salt") as caught:
        _open(server, tmp_path, "salt-b")

    assert "\n" not in str(caught.value)
    _open(server, tmp_path, "salt-a").close()


@pytest.mark.postgres
def test_no_id_that_leads_to_a_person_reaches_the_server(server, tmp_path):
    store = _open(server, tmp_path)
    record_id = store.add_question(_record())
    store.put_conversation(record_id, MESSAGE, thread_id=MESSAGE + 1)
    store.vote(record_id, USER, 1)
    store.close()
    dsn, schema = server

    with psycopg.connect(dsn, options=f"-c search_path={schema}") as db:
        dumped = " ".join(
            str(row)
            for table in ("questions", "votes", "changes", "meta")
            for row in db.execute(f"SELECT * FROM {table}").fetchall()
        )

    assert "Hej?" in dumped
    for raw in (USER, MESSAGE, MESSAGE + 1, 555555555555555555):
        assert str(raw) not in dumped


@pytest.mark.postgres
def test_votes_from_two_connections_at_once_are_all_counted(server, tmp_path):
    first = _open(server, tmp_path)
    record_id = first.add_question(_record())
    stores = [first, _open(server, tmp_path)]
    barrier = threading.Barrier(2)

    def vote(store, users):
        barrier.wait()
        for user in users:
            store.vote(record_id, user, 1 if user % 3 else -1)

    threads = [
        threading.Thread(target=vote, args=(store, range(i, 60, 2)))
        for i, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    [row] = first.asked_questions(since=0.0, until=1e12)
    assert (row.votes_up, row.votes_down) == (40, 20)
    for store in stores:
        store.close()


def test_a_server_that_cannot_be_reached_is_one_line_without_the_password(tmp_path):
    with pytest.raises(RecordsError) as caught:
        PostgresRecordStore.open(
            "postgresql://bot:hemligt@127.0.0.1:1/natverksbot",
            tmp_path,
            environ={"NATVERKSBOT_USER_SALT": "s"},
        )

    message = str(caught.value)
    assert "127.0.0.1:1/natverksbot" in message and "hemligt" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("environ", "outcome"),
    [
        ({}, pytest.skip.Exception),
        ({"CI": "1"}, pytest.fail.Exception),
    ],
)
def test_without_a_server_the_tests_skip_but_fail_in_ci(monkeypatch, environ, outcome):
    monkeypatch.delenv(DSN_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)

    with pytest.raises(outcome):
        dsn_or_skip()
