"""👍 / 👎 under every answer: one vote per user and answer, changeable, kept in SQLite.

The buttons (:class:`bot.buttons.FeedbackButton`) carry the answer's record id in their
custom id (``fb:up:<record_id>``); this extension makes the bot route their clicks, so a
click on an answer sent before a restart still reaches the bot and the right record.
"""

from __future__ import annotations

from discord.ext import commands

from bot.buttons import FeedbackButton
from bot.client import NatverksBot


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
