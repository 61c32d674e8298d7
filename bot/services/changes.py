"""The knowledge base's change log: the entries a fetch or a reindex makes, and writing them.

The bot writes entries on its records thread (``NatverksBot.log_changes``); the command
line, which runs without the bot, writes them with :func:`log_changes`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.record_store import open_record_store
from bot.services.records import ChangeRecord
from bot.services.web import FetchReport
from index.build import BuildSummary

if TYPE_CHECKING:
    from bot.services.knowledge import TrashEntry

FETCH_CHANGES = ("added", "updated", "removed")
"""The fetch outcomes that change the knowledge folder (and so are logged)."""


def fetch_changes(report: FetchReport, via: str, user_id: int | None = None) -> list[ChangeRecord]:
    """Return the change-log entries for the pages a fetch added, updated or removed."""
    return [
        ChangeRecord(
            action=f"fetch-{result.outcome}",
            document=result.doc_id,
            via=via,
            user_id=user_id,
            detail=result.url,
        )
        for result in report.results
        if result.outcome in FETCH_CHANGES
    ]


def trash_change(
    action: str, entry: TrashEntry, via: str, user_id: int | None = None
) -> ChangeRecord:
    """Return the change-log entry for a document moved to (``remove``) or from the trash.

    ``/kb remove|restore`` and ``natverksbot kb remove|restore`` log the same entry; each
    then reindexes with :func:`bot.services.indexing.reindex_unless_locked`.
    """
    return ChangeRecord(
        action=action,
        document=entry.id,
        via=via,
        user_id=user_id,
        visibility=entry.visibility,
        size=entry.size,
        detail=f"trash {entry.key}",
    )


def detected_changes(summary: BuildSummary, via: str) -> list[ChangeRecord]:
    """Return the change-log entries for the documents a reindex found changed on disk."""
    return [
        ChangeRecord(action=action, document=doc_id, via=via)
        for action, ids in (
            ("detected-add", summary.added),
            ("detected-update", summary.updated),
            ("detected-remove", summary.removed),
        )
        for doc_id in ids
    ]


def log_changes(state_dir: Path, changes: Iterable[ChangeRecord]) -> None:
    """Write change-log entries to the state database from outside the bot (blocking).

    The command line hashes nobody: it logs without a salt if the bot has not made one.
    Nothing is opened when there is nothing to log.
    """
    changes = list(changes)
    if not changes:
        return
    store = open_record_store(state_dir, need_salt=False)
    try:
        for change in changes:
            store.log_change(change)
    finally:
        store.close()
