"""Backups: a consistent copy of the state database and the knowledge folder, while the bot runs.

What a running bot cannot lose is small: the knowledge folder (documents, their
visibility lists, ``sources.yaml``), the record of questions and changes (``bot.sqlite``),
the salt of the user hashes (without it, ``forget-user`` cannot find anyone's rows) and the
trash. The index is not backed up: ``natverksbot index`` rebuilds it from the documents.

The database is copied with SQLite's online backup API, which reads one consistent
snapshot even while the bot writes (WAL mode: the bot is never blocked). Every file of the
knowledge folder is written atomically by the bot, so each copied file is whole.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.services.errors import ExplainedError
from bot.services.records import DATABASE_NAME, SALT_NAME
from index.folder_lock import FolderBusyError, folder_lock

log = logging.getLogger(__name__)

MANIFEST = "backup.json"
TRASH = "trash"


class BackupError(ExplainedError):
    """A backup could not be written; str() is one line naming the path."""


@dataclass(frozen=True)
class Backup:
    """A written backup: its folder and what it holds."""

    folder: Path
    questions: int | None
    changes: int | None
    documents: int
    bytes: int


def write_backup(
    target: Path, *, knowledge_dir: Path, state_dir: Path, config_file: Path | None = None
) -> Backup:
    """Write a backup into a new folder ``target/natverksboten-<UTC time>``; return it.

    The folder is private (0700) because the database holds people's questions and the
    salt. It gets its final name only when complete, so a half-written backup never
    looks like a good one; after a failure nothing is left, not even the folders made
    for it. The knowledge folder is copied under its lock, so that no document is copied
    with a visibility list from before or after its change. Raises BackupError when the
    target cannot be written or a source cannot be read (a read-only state folder, where
    SQLite cannot open the database's log, or a damaged database).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = Path(target)
    made = _missing_folders(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        final = target / f"natverksboten-{stamp}"
        number = 1
        while final.exists() or final.with_name(f".{final.name}.partial").exists():
            number += 1
            final = target / f"natverksboten-{stamp}-{number}"
        building = final.with_name(f".{final.name}.partial")
        building.mkdir(mode=0o700)
    except OSError as exc:
        _remove_empty(made)
        raise BackupError("backup.err.target", path=target, reason=exc.strerror or exc) from exc
    database = Path(state_dir) / DATABASE_NAME
    try:
        questions = changes = None
        if database.is_file():
            questions, changes = copy_database(database, building / DATABASE_NAME)
        salt = Path(state_dir) / SALT_NAME
        if salt.is_file():
            shutil.copy2(salt, building / SALT_NAME)
        trash = Path(state_dir) / TRASH
        if trash.is_dir():
            shutil.copytree(trash, building / TRASH, symlinks=True)
        with folder_lock(knowledge_dir, shared=True):
            shutil.copytree(knowledge_dir, building / "knowledge", symlinks=True)
        if config_file is not None and Path(config_file).is_file():
            shutil.copy2(config_file, building / "config.yaml")
        documents = sum(1 for p in (building / "knowledge").rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in building.rglob("*") if p.is_file())
        manifest = {
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "knowledge_dir": str(knowledge_dir),
            "state_dir": str(state_dir),
            "questions": questions,
            "changes": changes,
            "files": documents,
            "bytes": size,
        }
        (building / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(building, final)
    except BaseException as exc:
        shutil.rmtree(building, ignore_errors=True)
        _remove_empty(made)
        if isinstance(exc, sqlite3.Error):
            reason = " ".join(str(exc).split())
            raise BackupError("backup.err.database", path=database, reason=reason) from exc
        if isinstance(exc, FolderBusyError):
            raise BackupError(
                "backup.err.busy", path=knowledge_dir, seconds=f"{exc.seconds:g}"
            ) from exc
        if isinstance(exc, OSError):
            where = exc.filename or target
            raise BackupError("backup.err.failed", path=where, reason=exc.strerror or exc) from exc
        raise
    log.info("backup written to %s", final)
    return Backup(final, questions, changes, documents, size)


def _missing_folders(path: Path) -> list[Path]:
    """Return the folders ``path.mkdir(parents=True)`` would make, deepest first."""
    missing = []
    while not path.exists() and not path.is_symlink() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed backup made (deepest first), if they are still empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def copy_database(source: Path, target: Path) -> tuple[int, int]:
    """Copy a SQLite database with the online backup API; return (questions, changes) copied.

    Safe while another process writes to ``source``: the copy is one consistent snapshot.
    """
    # A normal connection (only read from): a read-only one cannot open a WAL database
    # whose shared-memory file is missing.
    with contextlib.closing(sqlite3.connect(source)) as live:
        live.execute("PRAGMA busy_timeout=10000")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        with contextlib.closing(sqlite3.connect(target)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            (check,) = copy.execute("PRAGMA integrity_check").fetchone()
            if check != "ok":
                raise BackupError("backup.err.integrity", path=source, reason=check)
            return _count(copy, "questions"), _count(copy, "changes")


def _count(db: sqlite3.Connection, table: str) -> int:
    try:
        (n,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    except sqlite3.OperationalError:
        return 0
    return int(n)
