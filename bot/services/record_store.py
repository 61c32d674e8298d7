"""The question record's interface: what the bot and the command line ask of a record store.

:class:`RecordStore` is the contract every backend implements (today SQLite,
:class:`bot.services.records.SQLiteRecordStore`; PostgreSQL next, issue 20), held by one
contract suite (tests/bot/services/test_record_store_contract.py). Its methods block and
take and return plain dataclasses (:mod:`bot.services.records`), never a connection, a
cursor or SQL, so a backend can be swapped without its callers knowing. Ids that lead
back to a person go in raw and are hashed by the store with its salt.

The bot never blocks its event loop on the store: it awaits :class:`AsyncRecordStore`,
the same methods run one at a time on the bot's single records thread.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from bot.services.records import (
    AskedQuestion,
    ChangeRecord,
    Conversation,
    Forgotten,
    LoggedChange,
    QuestionRecord,
    SQLiteRecordStore,
    VoteResult,
)

T = TypeVar("T")


@runtime_checkable
class RecordStore(Protocol):
    """Questions, votes, conversations and the knowledge-base change log (blocking calls)."""

    def add_question(self, record: QuestionRecord) -> int:
        """Store a question; return its record id."""
        ...

    def put_conversation(
        self,
        record_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Remember the message (and thread) that answered a record, and the latency."""
        ...

    def get_conversation(self, message_or_thread_id: int) -> Conversation | None:
        """Return the latest question answered by that message or in that thread, if any."""
        ...

    def vote(
        self, record_id: int, user_id: int, vote: int, *, now: float | None = None
    ) -> VoteResult:
        """Record a user's 👍 (+1) or 👎 (-1): one per user and answer, changeable."""
        ...

    def forget_generation(self) -> int:
        """Return how many times someone was forgotten (a running bot compares it)."""
        ...

    def forget_user(self, user_id: int) -> Forgotten:
        """Delete a person's questions and votes, and their words wherever they are quoted."""
        ...

    def purge(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete questions (and their votes) older than ``retention_days``; return how many."""
        ...

    def log_change(self, change: ChangeRecord) -> int:
        """Log a change to the knowledge base; return its id."""
        ...

    def changes(self, limit: int = 100) -> list[LoggedChange]:
        """Return the latest logged changes, newest first."""
        ...

    def asked_questions(
        self, *, since: float, until: float, visibility: str | None = None
    ) -> list[AskedQuestion]:
        """Return the questions asked from ``since`` until ``until``, oldest first (reports)."""
        ...

    def hash_user(self, user_id: int) -> str:
        """Return the salted hash that stands for a user id in the record."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...


def open_record_store(
    state_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    create_salt: bool = False,
    need_salt: bool = True,
) -> RecordStore:
    """Return the record store of ``state_dir`` (SQLite: its ``bot.sqlite``).

    The salt is made only with ``create_salt`` (the bot's start); without it a missing salt
    raises RecordsError, unless ``need_salt`` is False (a command that hashes nobody).
    """
    return SQLiteRecordStore.open(state_dir, environ, create_salt=create_salt, need_salt=need_salt)


class AsyncRecordStore:
    """A record store whose calls the bot awaits, each run on one records thread.

    The executor must have a single worker: the store is used from one thread.
    """

    def __init__(self, store: RecordStore, executor: Executor) -> None:
        self.store = store
        self._executor = executor

    async def _run(self, func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    async def add_question(self, record: QuestionRecord) -> int:
        """Store a question; return its record id."""
        return await self._run(self.store.add_question, record)

    async def put_conversation(
        self,
        record_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Remember the message (and thread) that answered a record, and the latency."""
        await self._run(
            self.store.put_conversation,
            record_id,
            message_id,
            thread_id=thread_id,
            latency_ms=latency_ms,
        )

    async def get_conversation(self, message_or_thread_id: int) -> Conversation | None:
        """Return the latest question answered by that message or in that thread, if any."""
        return await self._run(self.store.get_conversation, message_or_thread_id)

    async def vote(self, record_id: int, user_id: int, vote: int) -> VoteResult:
        """Record a user's 👍 (+1) or 👎 (-1): one per user and answer, changeable."""
        return await self._run(self.store.vote, record_id, user_id, vote)

    async def forget_generation(self) -> int:
        """Return how many times someone was forgotten."""
        return await self._run(self.store.forget_generation)

    async def forget_user(self, user_id: int) -> Forgotten:
        """Delete a person's questions and votes, and their words wherever they are quoted."""
        return await self._run(self.store.forget_user, user_id)

    async def purge(self, retention_days: int) -> int:
        """Delete questions older than ``retention_days``; return how many."""
        return await self._run(self.store.purge, retention_days)

    async def log_change(self, change: ChangeRecord) -> int:
        """Log a change to the knowledge base; return its id."""
        return await self._run(self.store.log_change, change)

    def hash_user(self, user_id: int) -> str:
        """Return the salted hash of a user id (computed here: no database is read)."""
        return self.store.hash_user(user_id)

    async def close(self) -> None:
        """Close the store on its thread, after the calls queued before."""
        await self._run(self.store.close)
