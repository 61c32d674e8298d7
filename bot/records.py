"""The record of questions: SQLite in the state folder, read later by the admin reports.

Each question the engine answered (or abstained on) is a row: time, guild and channel
ids, a salted hash of the asker's id (never the raw id), the question and the earlier
question it followed up, answered or not, the cited source ids, latency, visibility,
language, the bot's answer message (so follow-ups and feedback work after a restart),
and its feedback. Votes live in their own table, one per user and answer. Changes to the
knowledge base (documents added, replaced, removed, web pages fetched) are logged in
``changes``: who (the same salted hash; NULL for the command line and the scheduled
sync), what, when.

The store is blocking and meant to be used from one worker thread (the bot runs every
call on its single records executor); it opens the database in WAL mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

DATABASE_NAME = "bot.sqlite"
SALT_NAME = "user-salt"
SALT_ENV = "NATVERKSBOT_USER_SALT"
SCHEMA_VERSION = 2
DAY_SECONDS = 86_400

VoteOutcome = Literal["recorded", "changed", "same", "missing"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id          INTEGER PRIMARY KEY,
    asked_at    REAL    NOT NULL,              -- unix time, seconds
    guild_id    INTEGER,                       -- NULL in direct messages
    channel_id  INTEGER NOT NULL,
    user_hash   TEXT    NOT NULL,              -- HMAC-SHA256(salt, user id), hex
    via         TEXT    NOT NULL,              -- slash | mention | dm
    question    TEXT    NOT NULL,
    context     TEXT,                          -- the earlier question of a follow-up
    answered    INTEGER NOT NULL,              -- 1 answered, 0 abstained
    sources     TEXT    NOT NULL,              -- JSON list of cited document ids
    confidence  REAL,
    latency_ms  REAL,                          -- question received -> answer sent
    visibility  TEXT    NOT NULL,              -- public | internal
    language    TEXT    NOT NULL,              -- sv | en
    message_id  INTEGER,                       -- the bot's answer message
    thread_id   INTEGER,                       -- the thread the answer was posted in
    votes_up    INTEGER NOT NULL DEFAULT 0,
    votes_down  INTEGER NOT NULL DEFAULT 0,
    feedback    INTEGER                        -- NULL no votes, else sign(up - down)
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions (asked_at);
CREATE INDEX IF NOT EXISTS questions_message ON questions (message_id);
CREATE INDEX IF NOT EXISTS questions_thread ON questions (thread_id);
CREATE TABLE IF NOT EXISTS votes (
    record_id   INTEGER NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    user_hash   TEXT    NOT NULL,
    vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    voted_at    REAL    NOT NULL,
    PRIMARY KEY (record_id, user_hash)
);
CREATE INDEX IF NOT EXISTS votes_user ON votes (user_hash);
CREATE INDEX IF NOT EXISTS questions_user ON questions (user_hash);
CREATE TABLE IF NOT EXISTS changes (
    id          INTEGER PRIMARY KEY,
    changed_at  REAL    NOT NULL,              -- unix time, seconds
    user_hash   TEXT,                          -- HMAC-SHA256(salt, user id); NULL: cli, sync
    via         TEXT    NOT NULL,              -- discord | cli | sync
    action      TEXT    NOT NULL,              -- add | replace | remove | fetch-add | ...
    document    TEXT    NOT NULL,              -- document id (path under knowledge/)
    visibility  TEXT,                          -- public | internal, where it applies
    size        INTEGER,                       -- bytes written
    sha256      TEXT,                          -- of the bytes written
    detail      TEXT                           -- e.g. the url of a web page
);
CREATE INDEX IF NOT EXISTS changes_at ON changes (changed_at);
"""


@dataclass(frozen=True)
class QuestionRecord:
    """One question as it is stored (user id is hashed on the way in)."""

    guild_id: int | None
    channel_id: int
    user_id: int
    via: str
    question: str
    answered: bool
    sources: Sequence[str]
    visibility: str
    language: str
    context: str | None = None
    confidence: float | None = None
    latency_ms: float | None = None
    asked_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ChangeRecord:
    """One change to the knowledge base, as logged (the user id is hashed on the way in)."""

    action: str
    document: str
    via: str = "discord"
    user_id: int | None = None
    visibility: str | None = None
    size: int | None = None
    sha256: str | None = None
    detail: str | None = None
    changed_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Forgotten:
    """What ``forget_user`` deleted: the person's questions and votes."""

    questions: int
    votes: int
    votes_on_their_answers: int

    @property
    def rows(self) -> int:
        """Return the number of rows deleted in all."""
        return self.questions + self.votes + self.votes_on_their_answers


@dataclass(frozen=True)
class Conversation:
    """What a follow-up needs from an earlier answer: its question and that one's context."""

    record_id: int
    question: str
    context: str | None


@dataclass(frozen=True)
class VoteResult:
    """The outcome of a vote and the answer's language (for the reply)."""

    outcome: VoteOutcome
    language: str = "sv"


def load_salt(state_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """Return the salt of user hashes: from the environment, else a 0600 file made once."""
    env = dict(os.environ if environ is None else environ)
    if env.get(SALT_ENV):
        return env[SALT_ENV].encode("utf-8")
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / SALT_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; making it private (0600)", path)
            path.chmod(0o600)
        salt = path.read_text(encoding="ascii").strip()
        if not salt:
            raise ValueError(f"{path} is empty: delete it to make a new salt") from None
        return salt.encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
    log.info("created a new user-hash salt in %s", path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


class RecordStore:
    """SQLite store of questions and votes (blocking; use it from one thread)."""

    def __init__(self, path: Path, salt: bytes) -> None:
        self.path = Path(path)
        self._salt = salt
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    @classmethod
    def open(cls, state_dir: Path, environ: Mapping[str, str] | None = None) -> RecordStore:
        """Return the store in ``state_dir`` (``bot.sqlite``), creating it and its salt."""
        return cls(Path(state_dir) / DATABASE_NAME, load_salt(Path(state_dir), environ))

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer version of the bot")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def hash_user(self, user_id: int) -> str:
        """Return the salted hash that stands for a user id in the record."""
        return hmac.new(self._salt, str(int(user_id)).encode(), hashlib.sha256).hexdigest()

    def add(self, record: QuestionRecord) -> int:
        """Store a question; return its record id."""
        cursor = self._db.execute(
            "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, via, question,"
            " context, answered, sources, confidence, latency_ms, visibility, language)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.asked_at,
                record.guild_id,
                record.channel_id,
                self.hash_user(record.user_id),
                record.via,
                record.question,
                record.context,
                int(record.answered),
                json.dumps(list(record.sources), ensure_ascii=False),
                record.confidence,
                record.latency_ms,
                record.visibility,
                record.language,
            ),
        )
        return int(cursor.lastrowid or 0)

    def set_message(
        self,
        record_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Remember which message (and thread) answered a record, and the latency."""
        self._db.execute(
            "UPDATE questions SET message_id = ?, thread_id = ?,"
            " latency_ms = COALESCE(?, latency_ms) WHERE id = ?",
            (message_id, thread_id, latency_ms, record_id),
        )

    def conversation(self, message_or_thread_id: int) -> Conversation | None:
        """Return the latest question answered by that message or in that thread, if any."""
        row = self._db.execute(
            "SELECT id, question, context FROM questions WHERE message_id = ? OR thread_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (message_or_thread_id, message_or_thread_id),
        ).fetchone()
        return Conversation(int(row[0]), row[1], row[2]) if row else None

    def vote(
        self, record_id: int, user_id: int, vote: int, *, now: float | None = None
    ) -> VoteResult:
        """Record a user's 👍 (+1) or 👎 (-1); one vote per user and answer, changeable."""
        if vote not in (-1, 1):
            raise ValueError(f"a vote is +1 or -1, not {vote!r}")
        user_hash = self.hash_user(user_id)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT language FROM questions WHERE id = ?", (record_id,)
            ).fetchone()
            if row is None:
                return VoteResult("missing")
            language = row[0]
            old = self._db.execute(
                "SELECT vote FROM votes WHERE record_id = ? AND user_hash = ?",
                (record_id, user_hash),
            ).fetchone()
            if old is not None and old[0] == vote:
                return VoteResult("same", language)
            self._db.execute(
                "INSERT INTO votes (record_id, user_hash, vote, voted_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (record_id, user_hash)"
                " DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
                (record_id, user_hash, vote, time.time() if now is None else now),
            )
            self._recount(record_id)
        return VoteResult("recorded" if old is None else "changed", language)

    def purge(self, retention_days: int, *, now: float | None = None) -> int:
        """Delete questions (and their votes) older than ``retention_days``; return how many."""
        cutoff = (time.time() if now is None else now) - retention_days * DAY_SECONDS
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            cursor = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        deleted = cursor.rowcount
        if deleted:
            log.info("deleted %d question records older than %d days", deleted, retention_days)
        return deleted

    def log_change(self, change: ChangeRecord) -> int:
        """Log a change to the knowledge base; return its id."""
        user_hash = self.hash_user(change.user_id) if change.user_id is not None else None
        cursor = self._db.execute(
            "INSERT INTO changes (changed_at, user_hash, via, action, document, visibility,"
            " size, sha256, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                change.changed_at,
                user_hash,
                change.via,
                change.action,
                change.document,
                change.visibility,
                change.size,
                change.sha256,
                change.detail,
            ),
        )
        return int(cursor.lastrowid or 0)

    def changes(self, limit: int = 100) -> list[dict]:
        """Return the latest logged changes, newest first."""
        return self.rows("SELECT * FROM changes ORDER BY id DESC LIMIT ?", limit)

    def forget_user(self, user_id: int) -> Forgotten:
        """Delete a person's questions and votes, found through the salted hash of their id.

        Their questions go with every vote on them (also other people's), and their votes
        on other answers go too; those answers' vote counts are recomputed.
        """
        user_hash = self.hash_user(user_id)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            (on_theirs,) = self._db.execute(
                "SELECT COUNT(*) FROM votes WHERE user_hash != ?1 AND record_id IN"
                " (SELECT id FROM questions WHERE user_hash = ?1)",
                (user_hash,),
            ).fetchone()
            touched = [
                row[0]
                for row in self._db.execute(
                    "SELECT record_id FROM votes WHERE user_hash = ?", (user_hash,)
                )
            ]
            votes = self._db.execute("DELETE FROM votes WHERE user_hash = ?", (user_hash,))
            questions = self._db.execute("DELETE FROM questions WHERE user_hash = ?", (user_hash,))
            for record_id in touched:
                self._recount(record_id)
        forgotten = Forgotten(questions.rowcount, votes.rowcount, int(on_theirs))
        log.info(
            "forgot a user: %d questions, %d votes, %d votes on their answers",
            forgotten.questions,
            forgotten.votes,
            forgotten.votes_on_their_answers,
        )
        return forgotten

    def _recount(self, record_id: int) -> None:
        """Recompute an answer's vote counts and feedback from the votes table."""
        self._db.execute(
            "UPDATE questions SET"
            " votes_up = (SELECT COUNT(*) FROM votes WHERE record_id = ?1 AND vote = 1),"
            " votes_down = (SELECT COUNT(*) FROM votes WHERE record_id = ?1 AND vote = -1)"
            " WHERE id = ?1",
            (record_id,),
        )
        self._db.execute(
            "UPDATE questions SET feedback = CASE WHEN votes_up + votes_down = 0 THEN NULL"
            " WHEN votes_up > votes_down THEN 1 WHEN votes_up < votes_down THEN -1"
            " ELSE 0 END WHERE id = ?",
            (record_id,),
        )

    def rows(self, sql: str = "SELECT * FROM questions ORDER BY id", *args: object) -> list[dict]:
        """Return query results as dicts (for reports and tests)."""
        cursor = self._db.execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
