"""Admin command ``/reindex``, for staff-guild admins only (``/kb`` is in :mod:`bot.exts.kb`).

It is registered only in the staff guilds (a guild command there, never global), and
hidden by default permissions (Manage Server); the check also
lets the configured admin roles in, and refuses everyone outside the staff guilds.
``/reindex`` runs the engine's incremental reindex on its own thread, so questions keep
being answered from the old index until the new one is swapped in; its private reply
shows progress every few seconds and ends with the same summary as the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.access import admin_only
from bot.client import NO_MENTIONS, NatverksBot, add_staff_cog
from bot.formatting import format_build_summary, format_notice, format_progress
from bot.i18n import command_text, language_of_locale, t

log = logging.getLogger(__name__)


class _Progress:
    """The latest progress report of a reindex, written by its thread, read by the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: tuple[str, int, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            self._latest = (stage, done, total)

    def latest(self) -> tuple[str, int, int] | None:
        with self._lock:
            return self._latest


class AdminCog(commands.Cog):
    """Reindexing on request."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot
        self.reindex_started: float | None = None

    @app_commands.command(
        name=command_text("reindex.name"), description=command_text("reindex.description")
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Update the index while answering from the old one; show progress, then a summary."""
        language = language_of_locale(interaction.locale)
        if self.reindex_started is not None:
            seconds = int(time.monotonic() - self.reindex_started)
            await interaction.response.send_message(
                t("reindex.running", language, seconds=seconds),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        engine = self.bot.require_engine()
        self.reindex_started = started = time.monotonic()
        try:
            await interaction.response.send_message(
                t("reindex.started", language), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            log.info("reindex requested by an admin in guild %s", interaction.guild_id)
            progress = _Progress()
            task = asyncio.ensure_future(self.bot.run_reindex(engine.reindex, progress))
            shown: str | None = None
            interval = self.bot.config.discord.reindex_progress_seconds
            while not task.done():
                await asyncio.wait({task}, timeout=interval)
                latest = progress.latest()
                if task.done() or latest is None:
                    continue
                text = format_progress(*latest, time.monotonic() - started, language)
                if text != shown:
                    shown = text
                    await self._edit(interaction, text)
            summary = task.result()
        finally:
            self.reindex_started = None
        await self._edit(interaction, format_build_summary(summary, language))

    async def _edit(self, interaction: discord.Interaction, text: str) -> None:
        """Edit the private reply; an expired interaction (15 min) only loses the update."""
        try:
            await interaction.edit_original_response(
                content=format_notice(text), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            log.warning("could not update the /reindex reply: %s", exc)


async def setup(bot: NatverksBot) -> None:
    """Load the admin commands, as guild commands of the staff guilds only."""
    await add_staff_cog(bot, AdminCog(bot))
