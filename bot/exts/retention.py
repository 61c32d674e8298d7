"""Retention: old question records are deleted on start and then once a day.

Records older than ``discord.retention_days`` (config, default 90) go, with their votes;
trash entries (removed documents, replaced versions) older than ``knowledge.trash_days``
(default 30) go too.
"""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands, tasks

from bot.client import NatverksBot
from bot.services.knowledge import purge_trash

log = logging.getLogger(__name__)


class RetentionCog(commands.Cog):
    """Deletes old question records at start and every 24 hours."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Start the daily purge; its first run is now."""
        self.purge.start()

    async def cog_unload(self) -> None:
        """Stop the daily purge."""
        self.purge.cancel()

    @tasks.loop(hours=24)
    async def purge(self) -> None:
        """Delete the records older than the retention period (on the records thread)."""
        config = self.bot.config
        trash_days = config.knowledge.trash_days
        try:
            purged = await asyncio.to_thread(purge_trash, config.trash_dir, trash_days)
        except Exception:
            log.exception("could not empty the trash")
        else:
            log.info("retention: %d trash entries older than %d days deleted", purged, trash_days)
        days = config.discord.retention_days
        try:
            deleted = await self.bot.require_records().purge(days)
        except Exception:
            log.exception("could not delete old question records")
            return
        log.info("retention: %d question records older than %d days deleted", deleted, days)


async def setup(bot: NatverksBot) -> None:
    """Load the retention task."""
    await bot.add_cog(RetentionCog(bot))
