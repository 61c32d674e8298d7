"""Answers: asking (/ask, mentions, direct messages, follow-ups) and the buttons under answers.

``_cog.py`` asks the engine and sends the answer, ``_buttons.py`` holds the 👍 / 👎, 🗑️,
"More sources" and "Ask a person" buttons and what a click on each does,
``_conversations.py`` the follow-up contexts kept in memory.
"""

from __future__ import annotations

from bot.client import NatverksBot
from bot.exts.answers._cog import AskCog


async def setup(bot: NatverksBot) -> None:
    """Load the answers feature."""
    await bot.add_cog(AskCog(bot))
