"""Keeping in sync: every ``sync.interval_minutes`` the bot checks the knowledge folder.

A check takes a snapshot of the folder (size and mtime of each document file and
visibility list: ``stat`` only, no file is read) and hands it to a
:class:`bot.services.knowledge.FolderWatch`:

- the same as at the last reindex: nothing to do;
- different from the previous check: a file may still be being written, so wait;
- different from the last reindex but the same as at the previous check: the files are
  complete, so the engine's incremental reindex runs (it hashes the files and reads only
  the changed ones). Its summary goes to ``discord.admin_channel_id`` when it changed
  anything.

Editing a file while the bot runs therefore never has it answer from a half-written
document: a change is picked up one check after it stopped changing. When
``sync.sources_interval_minutes`` is set, a check also fetches the web sources that
often (and at once when sources.yaml changed); pages the fetch rewrote are complete
(written atomically), so they are indexed in the same check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Literal

import discord
from discord.ext import commands, tasks

from bot.client import NO_MENTIONS, NatverksBot
from bot.formatting import (
    EMBED_COLOUR,
    clip,
    escape_inline,
    format_build_summary,
    format_fetch_report,
    format_notice,
)
from bot.i18n import t
from bot.services.changes import detected_changes
from bot.services.fetching import fetch_and_log
from bot.services.indexing import reindex_unless_locked
from bot.services.knowledge import FolderWatch, Snapshot, folder_snapshot
from bot.services.web import SOURCES_FILE, FetchReport, SourcesError
from index.build import BuildSummary

log = logging.getLogger(__name__)

CheckOutcome = Literal["unchanged", "changing", "reindexed", "locked"]
LANGUAGE = "sv"  # the admin channel is the network's own: Swedish
SHOWN_FILES = 10


class SyncCog(commands.Cog):
    """Checks the knowledge folder (and web sources) periodically; reindexes on change."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self.watch = FolderWatch()
        self._lock = asyncio.Lock()
        self._last_fetch: float | None = None
        self._sources_stat: tuple[int, int] | None = None
        self._last_sources_error: str | None = None

    async def cog_load(self) -> None:
        """Start the periodic check when ``sync.interval_minutes`` is set."""
        minutes = self.bot.config.sync.interval_minutes
        if minutes > 0:
            self.periodic_check.change_interval(minutes=minutes)
            self.periodic_check.start()
            log.info("checking the knowledge folder every %g minutes", minutes)

    async def cog_unload(self) -> None:
        """Stop the periodic check."""
        self.periodic_check.cancel()

    @tasks.loop(minutes=5)
    async def periodic_check(self) -> None:
        """Run one check; a failure is logged and the next check runs as planned."""
        try:
            await self.check()
        except Exception:
            log.exception("the knowledge folder check failed")

    @periodic_check.before_loop
    async def _before_first_check(self) -> None:
        await self.bot.wait_until_ready()

    async def check(self) -> CheckOutcome:
        """Check the folder once (fetching sources when due); reindex when it is ready."""
        async with self._lock:
            root = self.bot.config.knowledge_dir
            fetched = await self._fetch_if_due(root)
            snapshot = await asyncio.to_thread(folder_snapshot, root)
            if fetched is not None and fetched.changed:
                self._accept_own_writes(fetched, snapshot)
            state = self.watch.observe(snapshot)
            if state != "ready":
                return state
            changed = self.watch.changed_files(snapshot)
            engine = self.bot.require_engine()
            summary = await self.bot.run_reindex(reindex_unless_locked, engine)
            if summary is None:
                return "locked"
            # Files changed since the snapshot differ from it and are picked up next time.
            self.watch.indexed_as(snapshot)
            if summary.changed:
                await self.bot.log_changes(detected_changes(summary, via="sync"))
                await self._post_summary(summary, changed)
            return "reindexed"

    def _accept_own_writes(self, fetched: FetchReport, snapshot: Snapshot) -> None:
        """Count the pages the fetch just wrote as settled: they were written atomically."""
        seen = dict(self.watch.seen or self.watch.indexed or {})
        for result in fetched.results:
            if result.doc_id in snapshot:
                seen[result.doc_id] = snapshot[result.doc_id]
            else:
                seen.pop(result.doc_id, None)
        self.watch.seen = seen

    async def _fetch_if_due(self, root: Path) -> FetchReport | None:
        """Fetch the web sources when configured and due (or sources.yaml changed)."""
        minutes = self.bot.config.sync.sources_interval_minutes
        if minutes <= 0:
            return None
        path = root / SOURCES_FILE
        try:
            stat = path.stat()
            listed = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            return None
        now = time.monotonic()
        due = self._last_fetch is None or now - self._last_fetch >= minutes * 60
        if not due and listed == self._sources_stat:
            return None
        self._last_fetch, self._sources_stat = now, listed
        try:
            report = await fetch_and_log(self.bot.config, self.bot.log_changes, via="sync")
        except SourcesError as exc:
            message = exc.say(LANGUAGE)
            log.warning("sync: %s", exc)
            if message != self._last_sources_error:  # said once, not at every check
                self._last_sources_error = message
                await self._post(t("kb.fetch.bad_list", LANGUAGE, reason=message))
            return None
        self._last_sources_error = None
        if report.failed or report.changed:
            await self._post(format_fetch_report(report, LANGUAGE))
        return report

    async def _post_summary(self, summary: BuildSummary, changed: list[str]) -> None:
        names = ", ".join(escape_inline(name) for name in changed[:SHOWN_FILES])
        if len(changed) > SHOWN_FILES:
            names += " " + t("summary.more_skipped", LANGUAGE, count=len(changed) - SHOWN_FILES)
        embed = discord.Embed(
            description=format_build_summary(summary, LANGUAGE), colour=EMBED_COLOUR
        )
        await self._post(t("sync.reindexed", LANGUAGE, files=clip(names, 1500)), embed)

    async def _post(self, text: str, embed: discord.Embed | None = None) -> None:
        """Send ``text`` to the admin channel, if one is configured (else it is only logged)."""
        channel_id = self.bot.config.discord.admin_channel_id
        log.info("sync: %s", text.replace("\n", " "))
        if channel_id is None:
            return
        channel = self.bot.get_channel(channel_id)
        try:
            if channel is None:
                channel = await self.bot.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                log.warning("admin_channel_id %s is not a text channel", channel_id)
                return
            await channel.send(
                format_notice(text),
                embed=embed if embed is not None else discord.utils.MISSING,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            log.warning("could not post to the admin channel %s: %s", channel_id, exc)


async def setup(bot: NatverksBot) -> None:
    """Load the knowledge folder sync."""
    await bot.add_cog(SyncCog(bot))
