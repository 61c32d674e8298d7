"""👍 / 👎 under every answer: one vote per user and answer, changeable, kept in SQLite.

The buttons are ``DynamicItem``s whose custom id carries the answer's record id
(``fb:up:<record_id>``), so a click on an answer sent before a restart still reaches
the bot and lands on the right record.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord.ext import commands

from bot.client import NO_MENTIONS, NatverksBot
from bot.i18n import t

log = logging.getLogger(__name__)

VOTES = {"up": (1, "👍"), "down": (-1, "👎")}


def feedback_custom_id(vote: str, record_id: int) -> str:
    """Return the custom id of a feedback button (at most 100 characters)."""
    return f"fb:{vote}:{record_id}"


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"fb:(?P<vote>up|down):(?P<record>[0-9]{1,19})",
):
    """A 👍 or 👎 button of one answer."""

    def __init__(self, vote: str, record_id: int, language: str = "sv") -> None:
        value, emoji = VOTES[vote]
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji=emoji,
                custom_id=feedback_custom_id(vote, record_id),
                # An accessible name for screen readers: the label is the emoji's meaning.
                label=t(f"feedback.{vote}", language),
            )
        )
        self.vote = vote
        self.record_id = record_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Button,
        match: re.Match[str],
        /,
    ) -> FeedbackButton:
        """Return the button a click's custom id stands for."""
        return cls(match["vote"], int(match["record"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Record the vote and tell the voter, privately."""
        bot: NatverksBot = interaction.client
        try:
            value, emoji = VOTES[self.vote]
            result = await bot.record("vote", self.record_id, interaction.user.id, value)
            text = t(f"feedback.{result.outcome}", result.language, emoji=emoji)
            log.info("feedback %s on record %d: %s", self.vote, self.record_id, result.outcome)
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
        except Exception as exc:
            bot.report_error(interaction, exc)


def feedback_view(record_id: int, language: str = "sv") -> discord.ui.View:
    """Return the 👍 / 👎 buttons for the answer stored as ``record_id``."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", record_id, language))
    view.add_item(FeedbackButton("down", record_id, language))
    return view


class FeedbackCog(commands.Cog):
    """Registers the feedback buttons so clicks are handled, also after a restart."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Make the bot route every ``fb:...`` click to ``FeedbackButton``."""
        self.bot.add_dynamic_items(FeedbackButton)

    async def cog_unload(self) -> None:
        """Stop routing feedback clicks."""
        self.bot.remove_dynamic_items(FeedbackButton)


async def setup(bot: NatverksBot) -> None:
    """Load the feedback feature."""
    await bot.add_cog(FeedbackCog(bot))
