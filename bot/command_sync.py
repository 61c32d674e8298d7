"""Are the slash commands Discord has the ones in the code? A fingerprint of the tree.

Discord keeps the commands ``natverksbot sync-commands`` last registered; an upgrade that
changes a command (a name, a description, an option, a Swedish text) needs another sync.
The fingerprint is the SHA-256 of a stable JSON of what a sync sends: every command's
translated payload (names, descriptions, options, localisations), the global ones and
those of each staff guild. ``sync-commands`` keeps the fingerprint it registered in the
state folder (:data:`RECORD`); ``status`` and the bot's start line compare it with the
code's (:func:`bot.client.code_fingerprint`), without connecting to Discord.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.services.knowledge import atomic_write

log = logging.getLogger(__name__)

RECORD = "sync-commands"
"""The file in the state folder that records the last sync."""


@dataclass(frozen=True)
class SyncRecord:
    """What the last ``sync-commands`` registered: fingerprint, when, where, which version."""

    fingerprint: str
    synced_at: str
    targets: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class CommandsState:
    """The code's fingerprint against the last sync's (None when no sync was recorded)."""

    fingerprint: str
    synced: SyncRecord | None

    @property
    def in_sync(self) -> bool:
        """Return whether Discord has the code's commands, as far as the record knows."""
        return self.synced is not None and self.synced.fingerprint == self.fingerprint

    def as_dict(self) -> dict[str, Any]:
        """Return the state for ``status --json``."""
        synced = None
        if self.synced is not None:
            synced = {
                "fingerprint": self.synced.fingerprint,
                "synced_at": self.synced.synced_at,
                "targets": list(self.synced.targets),
                "version": self.synced.version,
            }
        return {"fingerprint": self.fingerprint, "in_sync": self.in_sync, "synced": synced}


async def tree_fingerprint(tree: app_commands.CommandTree, staff_guild_ids: Iterable[int]) -> str:
    """Return the SHA-256 of what a full sync of ``tree`` registers (globally, in each guild)."""
    translator = tree.translator

    async def payload(guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        commands = tree.get_commands(guild=guild)
        if translator is None:
            dicts = [command.to_dict(tree) for command in commands]
        else:
            dicts = [await command.get_translated_payload(tree, translator) for command in commands]
        return sorted(dicts, key=lambda d: (d.get("type", 1), d["name"]))

    tree_as_synced = {
        "global": await payload(None),
        "guilds": {
            str(guild_id): await payload(discord.Object(guild_id))
            for guild_id in sorted(staff_guild_ids)
        },
    }
    text = json.dumps(tree_as_synced, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_sync(state_dir: Path) -> SyncRecord | None:
    """Return the last sync's record in ``state_dir``; None when there is none or unreadable."""
    path = Path(state_dir) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SyncRecord(
            fingerprint=str(data["fingerprint"]),
            synced_at=str(data["synced_at"]),
            targets=tuple(str(t) for t in data["targets"]),
            version=str(data["version"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the unreadable %s: %s", path, exc)
        return None


def record_sync(state_dir: Path, fingerprint: str, targets: list[int | None]) -> SyncRecord:
    """Write what a successful sync registered into ``state_dir``; return the record."""
    from bot.version import version

    record = SyncRecord(
        fingerprint=fingerprint,
        synced_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        targets=tuple("global" if t is None else str(t) for t in targets),
        version=version(),
    )
    data = {
        "fingerprint": record.fingerprint,
        "synced_at": record.synced_at,
        "targets": list(record.targets),
        "version": record.version,
    }
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    atomic_write(Path(state_dir) / RECORD, text.encode("utf-8"), mode=0o600)
    return record


def commands_state(state_dir: Path, fingerprint: str) -> CommandsState:
    """Return the code's ``fingerprint`` against the last sync recorded in ``state_dir``."""
    return CommandsState(fingerprint, read_sync(state_dir))
