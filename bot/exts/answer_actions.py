"""Routes clicks on the 🗑️, "More sources" and "Ask a person" buttons under answers.

The buttons and what a click does are in :mod:`bot.buttons` (the ask extension puts them
under its answers); this extension makes the bot route their clicks, also after a restart.
"""

from __future__ import annotations

from discord.ext import commands

from bot.buttons import AskPersonButton, DeleteButton, MoreSourcesButton
from bot.client import NatverksBot


class AnswerActionsCog(commands.Cog):
    """Routes clicks on the answer buttons, also after a restart."""

    def __init__(self, bot: NatverksBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        """Make the bot route every ``ans:...`` click to its button."""
        self.bot.add_dynamic_items(DeleteButton, MoreSourcesButton, AskPersonButton)

    async def cog_unload(self) -> None:
        """Stop routing answer-button clicks."""
        self.bot.remove_dynamic_items(DeleteButton, MoreSourcesButton, AskPersonButton)


async def setup(bot: NatverksBot) -> None:
    """Load the answer buttons."""
    await bot.add_cog(AnswerActionsCog(bot))
