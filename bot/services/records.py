"""The record of questions in SQLite: the state folder's ``bot.sqlite``, read by the reports.

:class:`SQLiteRecordStore` implements the record's interface,
:class:`bot.services.record_store.RecordStore`; the dataclasses it takes and returns are
defined here.

Each question is a row: time, guild and channel, a salted hash of the asker's id (never
the id), the question and the one it followed up, answered or not (or small talk), the
cited sources, latency, visibility, language, where the answer went (``answer_mode``: no
report shows a private one's words), the answer message (so follow-ups and feedback work
after a restart) and its feedback. The answer message and thread and a direct message's
channel are stored as keyed hashes too.

The salt is made by the bot's first start only (:func:`load_salt`); ``meta.salt_check``
keeps a keyed fingerprint of it, so another salt fails in one line. ``meta.forget_generation``
counts people forgotten (a running bot then drops follow-up contexts it holds). Votes:
one per user and answer. ``changes`` logs knowledge-base changes: who (the salted hash;
NULL for the command line and the sync), what, when.

Blocking, for one worker thread (the bot's records executor); the database is in WAL mode.
"""

from __future__ import annotations

import contextlib
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
from typing import TYPE_CHECKING, Literal

from bot.services.errors import ExplainedError

if TYPE_CHECKING:
    from bot.config import AnswerMode

log = logging.getLogger(__name__)

DATABASE_NAME = "bot.sqlite"
SALT_NAME = "user-salt"
SALT_ENV = "NATVERKSBOT_USER_SALT"
SCHEMA_VERSION = 5
DAY_SECONDS = 86_400
SALT_CHECK = b"natverksbot salt check v1"
"""The constant whose HMAC with the salt is stored in the database as its fingerprint."""

VoteOutcome = Literal["recorded", "changed", "same", "missing"]
CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_WAIT_SECONDS = 0.2
"""How often, and how long each time, forgetting waits for readers to fold the log in."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id          INTEGER PRIMARY KEY,
    asked_at    REAL    NOT NULL,              -- unix time, seconds
    guild_id    INTEGER,                       -- NULL in direct messages
    channel_id  INTEGER NOT NULL,              -- a keyed hash in direct messages
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
    message_id  INTEGER,                       -- keyed hash of the bot's answer message id
    thread_id   INTEGER,                       -- keyed hash of the answer's thread id
    answer_mode TEXT,                          -- public | private | thread; NULL before v4
    kind        TEXT,                          -- answer | summary | small_talk; NULL before v5
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
CREATE INDEX IF NOT EXISTS changes_user ON changes (user_hash);
CREATE TABLE IF NOT EXISTS meta (
    key         TEXT PRIMARY KEY,              -- salt_check | forget_generation
    value       TEXT NOT NULL
);
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
    # forget_generation() when the context was read: a context read before someone was
    # forgotten may hold their words, so it is not stored.
    context_generation: int | None = None
    # Where the answer went: "private" is an ephemeral /ask answer (only the asker saw it).
    answer_mode: AnswerMode = "public"
    kind: str = "answer"  # or "summary", or "small_talk" (counted, neither answered nor not)


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
    """What ``forget_user`` did: the rows deleted, and the rows cleared of the person's words."""

    questions: int
    votes: int
    votes_on_their_answers: int
    contexts: int = 0  # other people's follow-ups whose context quoted them, cleared
    changes: int = 0  # knowledge-base changes they made, kept without who (and file name)
    # False when a reader kept the write-ahead log from being folded in and emptied: the
    # old copies of their words are still on disk until the next checkpoint.
    checkpointed: bool = True

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


@dataclass(frozen=True)
class LoggedChange:
    """One logged change to the knowledge base, as read back (the user as a salted hash)."""

    id: int
    changed_at: float
    user_hash: str | None
    via: str
    action: str
    document: str
    visibility: str | None = None
    size: int | None = None
    sha256: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class AskedQuestion:
    """One recorded question as the reports read it (no ids that lead to a person)."""

    asked_at: float
    guild_id: int | None
    answered: bool
    latency_ms: float | None
    sources: list[str]
    votes_up: int
    votes_down: int
    question: str
    via: str
    answer_mode: str | None = None
    kind: str | None = None  # None: recorded before schema 5 (an answer or a decline)

    @property
    def private(self) -> bool:
        """Return whether only the asker saw it (a ``/ask`` from before schema 4 may have)."""
        return self.answer_mode == "private" or (self.answer_mode is None and self.via == "slash")


class RecordsError(ExplainedError):
    """The question record cannot be used as asked: one line saying why (and the path)."""


def load_salt(
    state_dir: Path, environ: Mapping[str, str] | None = None, *, create: bool = False
) -> bytes:
    """Return the salt of the hashes: from the environment, else the 0600 file in the state folder.

    Only the bot's start passes ``create=True`` (the file is made once); any other
    command raises RecordsError when there is no salt, so it never hashes with a new one.
    """
    env = dict(os.environ if environ is None else environ)
    if env.get(SALT_ENV):
        return env[SALT_ENV].encode("utf-8")
    path = state_dir / SALT_NAME
    if not create:
        if not path.is_file():
            raise RecordsError("records.err.no_salt_file", path=path, env=SALT_ENV)
    else:
        make_private_dir(state_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("%s was readable by others; making it private (0600)", path)
            path.chmod(0o600)
        salt = path.read_text(encoding="ascii").strip()
        if not salt:
            raise RecordsError("records.err.empty_salt", path=path) from None
        return salt.encode("ascii")
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32))
    log.info("created a new user-hash salt in %s", path)
    return path.read_text(encoding="ascii").strip().encode("ascii")


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and its parents) as 0700; make an existing one private too."""
    folder = Path(folder)
    if not folder.is_dir():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        log.warning("%s was open to others; making it private (0700)", folder)
        folder.chmod(0o700)


def salt_fingerprint(salt: bytes) -> str:
    """Return the keyed fingerprint of a salt stored in the database (not the salt)."""
    return hmac.new(salt, SALT_CHECK, hashlib.sha256).hexdigest()


def user_hash(salt: bytes | None, user_id: int, where: object) -> str:
    """Return the salted hash that stands for a user id, the same in every backend."""
    if salt is None:
        raise RecordsError("records.err.no_salt", path=where)
    return hmac.new(salt, str(int(user_id)).encode(), hashlib.sha256).hexdigest()


def id_hash(salt: bytes | None, discord_id: int | None, where: object) -> int | None:
    """Return the keyed hash (a positive 63-bit integer) of a Discord id, in every backend."""
    if discord_id is None:
        return None
    if salt is None:
        raise RecordsError("records.err.no_salt", path=where)
    digest = hmac.new(salt, b"id:%d" % int(discord_id), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class SQLiteRecordStore:
    """The record store in SQLite (blocking; use it from one thread)."""

    def __init__(self, path: Path, salt: bytes | None) -> None:
        self.path = Path(path)
        self._salt = salt
        self._inode: tuple[int, int] | None = None
        self._db = self._connect()

    @classmethod
    def open(
        cls,
        state_dir: Path,
        environ: Mapping[str, str] | None = None,
        *,
        create_salt: bool = False,
        need_salt: bool = True,
    ) -> SQLiteRecordStore:
        """Return the store in ``state_dir`` (``bot.sqlite``), creating the database.

        The salt is made only with ``create_salt`` (the bot's start); without it a
        missing salt raises RecordsError, unless ``need_salt`` is False (a command that
        hashes nobody, such as logging the command line's fetches). A salt that is not
        the one the database was written with raises RecordsError.
        """
        state_dir = Path(state_dir)
        try:
            salt = load_salt(state_dir, environ, create=create_salt)
        except RecordsError:
            if need_salt:
                raise
            salt = None
        except OSError as exc:
            raise RecordsError(
                "records.err.state_dir", path=state_dir, reason=_reason(exc)
            ) from None
        return cls(state_dir / DATABASE_NAME, salt)

    def _connect(self) -> sqlite3.Connection:
        """Open (creating it 0600 in a 0700 folder) and check the database; return it."""
        try:
            make_private_dir(self.path.parent)
            # Create the file private before SQLite does (its -wal and -shm follow its mode).
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            if self.path.stat().st_mode & 0o077:
                log.warning("%s was readable by others; making it private (0600)", self.path)
                self.path.chmod(0o600)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA foreign_keys=ON")
                db.execute("PRAGMA busy_timeout=5000")
                # Deleted rows are overwritten, so forgotten words do not linger in free pages.
                db.execute("PRAGMA secure_delete=ON")
                self._migrate(db)
                self._check_salt(db)
            except BaseException:
                db.close()
                raise
            stat = self.path.stat()
        except OSError as exc:
            raise RecordsError("records.err.open", path=self.path, reason=_reason(exc)) from None
        except sqlite3.DatabaseError as exc:
            raise RecordsError("records.err.use", path=self.path, reason=exc) from None
        self._inode = (stat.st_dev, stat.st_ino)
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise RecordsError("records.err.newer", path=self.path)
        db.executescript(_SCHEMA)
        if 0 < version < 3:
            self._migrate_to_3(db)
        if 0 < version < 5:
            self._add_columns(db)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _migrate_to_3(self, db: sqlite3.Connection) -> None:
        """Hash the answer message, thread and direct-message channel ids stored raw before."""
        if self._salt is None:
            raise RecordsError("records.err.upgrade", path=self.path)
        with db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                "SELECT id, guild_id, channel_id, message_id, thread_id FROM questions"
            ).fetchall()
            for record_id, guild_id, channel_id, message_id, thread_id in rows:
                db.execute(
                    "UPDATE questions SET channel_id = ?, message_id = ?, thread_id = ?"
                    " WHERE id = ?",
                    (
                        channel_id if guild_id is not None else self.hash_id(channel_id),
                        self.hash_id(message_id),
                        self.hash_id(thread_id),
                        record_id,
                    ),
                )
        log.info("hashed the message, thread and DM channel ids of %d records", len(rows))

    def _add_columns(self, db: sqlite3.Connection) -> None:
        """Add the columns of schema 4 (answer mode) and 5 (kind); old rows keep NULL."""
        columns = {row[1] for row in db.execute("PRAGMA table_info(questions)")}
        for column in ("answer_mode", "kind"):
            if column not in columns:
                db.execute(f"ALTER TABLE questions ADD COLUMN {column} TEXT")

    def _check_salt(self, db: sqlite3.Connection) -> None:
        """Store the salt's fingerprint in a new database; refuse a salt that is not its own."""
        if self._salt is None:
            return
        fingerprint = salt_fingerprint(self._salt)
        row = db.execute("SELECT value FROM meta WHERE key = 'salt_check'").fetchone()
        if row is None:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('salt_check', ?)", (fingerprint,)
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'salt_check'").fetchone()
        if not hmac.compare_digest(row[0], fingerprint):
            raise RecordsError(
                "records.err.wrong_salt",
                env=SALT_ENV,
                salt=self.path.parent / SALT_NAME,
                path=self.path,
            )

    def _database(self) -> sqlite3.Connection:
        """Return the connection, reopened when the file was deleted or replaced meanwhile.

        Records written to a deleted file would vanish with it; the file is checked
        (device and inode) before every call, which costs one stat.
        """
        try:
            stat = self.path.stat()
            same = (stat.st_dev, stat.st_ino) == self._inode
        except FileNotFoundError:
            same = False
        if not same:
            log.warning("%s was deleted or replaced while open: opening it again", self.path)
            self._db.close()
            self._db = self._connect()
        return self._db

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def hash_user(self, user_id: int) -> str:
        """Return the salted hash that stands for a user id in the record."""
        return user_hash(self._salt, user_id, self.path)

    def hash_id(self, discord_id: int | None) -> int | None:
        """Return the keyed hash (a positive 63-bit integer) stored for a Discord id."""
        return id_hash(self._salt, discord_id, self.path)

    def forget_generation(self) -> int:
        """Return how many times someone was forgotten (a running bot compares it)."""
        row = (
            self._database()
            .execute("SELECT value FROM meta WHERE key = 'forget_generation'")
            .fetchone()
        )
        return int(row[0]) if row else 0

    def add_question(self, record: QuestionRecord) -> int:
        """Store a question; return its record id."""
        db = self._database()
        context = record.context
        if context and record.context_generation is not None:
            if record.context_generation != self.forget_generation():
                log.info("someone was forgotten meanwhile: the follow-up's context is not kept")
                context = None
        channel_id = record.channel_id
        if record.guild_id is None:  # a direct message's channel stands for the person
            channel_id = self.hash_id(channel_id) or 0
        cursor = db.execute(
            "INSERT INTO questions (asked_at, guild_id, channel_id, user_hash, via, question,"
            " context, answered, sources, confidence, latency_ms, visibility, language,"
            " answer_mode, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.asked_at,
                record.guild_id,
                channel_id,
                self.hash_user(record.user_id),
                record.via,
                record.question,
                context,
                int(record.answered),
                json.dumps(list(record.sources), ensure_ascii=False),
                record.confidence,
                record.latency_ms,
                record.visibility,
                record.language,
                record.answer_mode,
                record.kind,
            ),
        )
        return int(cursor.lastrowid or 0)

    def put_conversation(
        self,
        record_id: int,
        message_id: int,
        *,
        thread_id: int | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Remember which message (and thread) answered a record, as keyed hashes; the latency."""
        self._database().execute(
            "UPDATE questions SET message_id = ?, thread_id = ?,"
            " latency_ms = COALESCE(?, latency_ms) WHERE id = ?",
            (self.hash_id(message_id), self.hash_id(thread_id), latency_ms, record_id),
        )

    def get_conversation(self, message_or_thread_id: int) -> Conversation | None:
        """Return the latest question answered by that message or in that thread, if any."""
        key = self.hash_id(message_or_thread_id)
        row = (
            self._database()
            .execute(
                "SELECT id, question, context FROM questions WHERE message_id = ? OR thread_id = ?"
                " ORDER BY id DESC LIMIT 1",
                (key, key),
            )
            .fetchone()
        )
        return Conversation(int(row[0]), row[1], row[2]) if row else None

    def vote(
        self, record_id: int, user_id: int, vote: int, *, now: float | None = None
    ) -> VoteResult:
        """Record a user's 👍 (+1) or 👎 (-1); one vote per user and answer, changeable."""
        if vote not in (-1, 1):
            raise ValueError(f"a vote is +1 or -1, not {vote!r}")
        user_hash = self.hash_user(user_id)
        with self._database():
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
        with self._database():
            self._db.execute("BEGIN IMMEDIATE")
            cursor = self._db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
        deleted = cursor.rowcount
        if deleted:
            log.info("deleted %d question records older than %d days", deleted, retention_days)
        return deleted

    def log_change(self, change: ChangeRecord) -> int:
        """Log a change to the knowledge base; return its id."""
        user_hash = self.hash_user(change.user_id) if change.user_id is not None else None
        cursor = self._database().execute(
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

    def changes(self, limit: int = 100) -> list[LoggedChange]:
        """Return the latest logged changes, newest first."""
        rows = self.rows("SELECT * FROM changes ORDER BY id DESC LIMIT ?", limit)
        return [LoggedChange(**row) for row in rows]

    def asked_questions(
        self, *, since: float, until: float, visibility: str | None = None
    ) -> list[AskedQuestion]:
        """Return the questions asked from ``since`` until ``until``, oldest first (reports)."""
        return read_questions(self.path, since=since, until=until, visibility=visibility)

    def forget_user(self, user_id: int) -> Forgotten:
        """Delete a person's questions and votes and their words wherever they are quoted.

        Their questions go with every vote on them (also other people's), and their votes
        on other answers go too; those answers' vote counts are recomputed. Follow-ups by
        others whose context quotes one of their questions (whole, or its end where the
        context was cut) lose that context; their knowledge-base changes are kept without
        who made them and the uploaded file's name. The forget generation goes up, so a
        running bot drops the follow-up contexts it holds in memory.
        """
        user_hash = self.hash_user(user_id)
        with self._database():
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
            theirs = self._db.execute(
                "SELECT question, asked_at FROM questions WHERE user_hash = ?", (user_hash,)
            ).fetchall()
            votes = self._db.execute("DELETE FROM votes WHERE user_hash = ?", (user_hash,))
            questions = self._db.execute("DELETE FROM questions WHERE user_hash = ?", (user_hash,))
            for record_id in touched:
                self._recount(record_id)
            contexts = self._clear_quoting(theirs)
            changes = self._db.execute(
                "UPDATE changes SET user_hash = NULL, detail = NULL WHERE user_hash = ?",
                (user_hash,),
            )
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('forget_generation', '1')"
                " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )
        forgotten = Forgotten(
            questions.rowcount,
            votes.rowcount,
            int(on_theirs),
            contexts,
            changes.rowcount,
            checkpointed=self._checkpoint(),
        )
        log.info(
            "forgot a user: %d questions, %d votes, %d votes on their answers,"
            " %d contexts cleared, %d changes made anonymous",
            forgotten.questions,
            forgotten.votes,
            forgotten.votes_on_their_answers,
            forgotten.contexts,
            forgotten.changes,
        )
        if not forgotten.checkpointed:
            log.warning("a reader kept the write-ahead log of %s from being emptied", self.path)
        return forgotten

    def _checkpoint(
        self, attempts: int = CHECKPOINT_ATTEMPTS, wait: float = CHECKPOINT_WAIT_SECONDS
    ) -> bool:
        """Fold the write-ahead log into the database and empty it; return whether it could.

        The log holds the old copies of changed pages, and the database file keeps the
        old pages until they are folded in; a reader still reading an older state (a
        report running now) blocks that. It is tried ``attempts`` times, ``wait``
        seconds apart (SQLite's busy handler also waits up to ``wait`` each time).
        """
        db = self._db
        (timeout,) = db.execute("PRAGMA busy_timeout").fetchone()
        db.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        try:
            for attempt in range(attempts):
                if attempt:
                    time.sleep(wait)
                (busy, _, _) = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    return True
            return False
        finally:
            db.execute(f"PRAGMA busy_timeout={int(timeout)}")

    def _clear_quoting(self, questions: Sequence[tuple[str, float]]) -> int:
        """Clear the context of every later follow-up that quotes one of ``questions``.

        A context is the conversation's earlier questions joined on one line, its oldest
        words cut first when too long (``bot.services.conversation.next_context``): a question shows
        in it whole, or as a word-boundary end of it at its very start.
        """
        if not questions:
            return 0
        earliest = min(asked_at for _, asked_at in questions)
        texts = [" ".join(q.split()) for q, _ in questions]
        cleared = []
        for record_id, context in self._db.execute(
            "SELECT id, context FROM questions WHERE context IS NOT NULL AND asked_at >= ?",
            (earliest,),
        ):
            flat = " ".join(context.split())
            if any(_quotes(flat, text) for text in texts if text):
                cleared.append((record_id,))
        self._db.executemany("UPDATE questions SET context = NULL WHERE id = ?", cleared)
        return len(cleared)

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
        """Return query results as dicts (SQLite's own: for tests, not the interface)."""
        cursor = self._database().execute(sql, args)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_questions(
    database: Path, *, since: float, until: float, visibility: str | None = None
) -> list[AskedQuestion]:
    """Return the questions asked from ``since`` until ``until`` (unix times), oldest first.

    The database is read through its own read-only connection, so a running bot keeps
    recording meanwhile; one that does not exist, or has no table yet, holds none.
    ``visibility`` keeps only the questions asked where that visibility is answered from.
    """
    if not Path(database).is_file():
        return []
    sql = (
        "SELECT asked_at, guild_id, answered, latency_ms, sources, votes_up, votes_down,"
        " question, via, answer_mode, kind FROM questions WHERE asked_at >= ? AND asked_at < ?"
    )
    args: tuple[object, ...] = (since, until)
    if visibility is not None:
        sql += " AND visibility = ?"
        args += (visibility,)
    rows: list[tuple] = []
    with contextlib.closing(_connect_read_only(Path(database))) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(questions)")}
        if "answer_mode" not in columns:  # a record the bot has not upgraded yet
            sql = sql.replace("via, answer_mode", "via, NULL")
        if "kind" not in columns:
            sql = sql.replace(", kind FROM", ", NULL FROM")
        with contextlib.suppress(sqlite3.OperationalError):  # no table yet
            rows = db.execute(sql + " ORDER BY asked_at", args).fetchall()
    return [
        AskedQuestion(
            at,
            guild,
            bool(answered),
            latency,
            json.loads(sources) if sources and sources != "[]" else [],
            up,
            down,
            question,
            via,
            mode,
            kind,
        )
        for at, guild, answered, latency, sources, up, down, question, via, mode, kind in rows
    ]


def _connect_read_only(database: Path) -> sqlite3.Connection:
    """Return a read-only connection to ``database`` (which must exist)."""
    # as_uri() percent-encodes the path, so a folder named with ? or # is read too.
    db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _quotes(context: str, question: str) -> bool:
    """Return whether ``context`` holds ``question``, or starts with a cut-off end of it.

    The cut falls between words, or inside a word when the conversation's oldest words
    are one long token (``next_context``): the end may start in the middle of a word.
    """
    if question in context:
        return True
    # The cut-off end is the context up to one of its spaces (or all of it).
    ends = [i for i, c in enumerate(context) if c == " "] + [len(context)]
    return any(0 < end < len(question) and question.endswith(context[:end]) for end in ends)


def _reason(exc: OSError) -> str:
    """Return an OS error's reason without repeating the path."""
    return exc.strerror or str(exc)
